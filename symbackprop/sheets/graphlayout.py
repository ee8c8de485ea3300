"""A layered drawing of a small DAG, left to right, in centimetres (pure geometry, no SymPy).

The steps of Sugiyama's method: each node in a layer (its longest path from the inputs; a given
leaf sits just left of the first node it feeds), bend points where an edge spans several layers,
barycentric sweeps and swaps of neighbours against crossings, vertical positions by least squares
under minimum separations (pool adjacent violators), and each edge label put in the gap after its
tail where it overlaps no other label and crosses the fewest edges (the gap widens until it can).
A drawing wider than a page is folded into bands of consecutive layers, one below the other; an
edge into a later band starts from a ghost, a copy of its tail at the start of that band.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from types import MappingProxyType
from itertools import accumulate, combinations
from collections.abc import Mapping, Sequence

GAP_X = 1.1  # the least horizontal room between two layers
LABEL_GAP_X = 1.9  # the same where edges carry labels
GAP_Y = 0.3  # the least vertical room between two things in one layer
LABEL_GAP_Y = 0.6  # the same where edges carry labels
STEEP = 0.3  # a gap widens by this much per centimetre that an edge across it falls or rises
MAX_GAP_X = 2.6
LABEL_PAD = 0.08  # room kept around an edge label
LABEL_CLEAR = 0.2  # room kept between an edge label and the nodes at the ends of its gap
SWEEPS = 16
ROUNDS = 40
WIDEN = 0.6  # a gap whose labels cannot all be placed apart grows by this much, up to
WIDENINGS = 8  # this many times
MAX_WIDTH = 16.0  # the width a page gives a figure (LaTeX shrinks a wider one to the line)
SHRINK = 1.2  # a drawing up to this many times MAX_WIDTH is shrunk; a wider one is folded into bands
GHOST_ROOM = 2.0  # the room a band's ghosts take, estimated when choosing where to fold
BAND_GAP = 0.9  # between two bands

Point = tuple[float, float]


@dataclass(frozen=True)
class Box:
    """What a node occupies around its centre: half its width, its reach above and below."""

    half: float
    up: float
    down: float


BEND = Box(0.0, 0.18, 0.18)  # the room kept for an edge passing through a layer


@dataclass(frozen=True)
class Drawing:
    """The centres of the nodes and ghosts; the ghosts as (ghost id, the node it copies); per edge
    the node or ghost it starts from, its bend points and its label's centre (None: no label).
    x grows to the right, y upward."""

    at: Mapping[str, Point]
    ghosts: tuple[tuple[str, str], ...]
    sources: tuple[str, ...]
    bends: tuple[tuple[Point, ...], ...]
    labels: tuple[Point | None, ...]


def draw(names: Sequence[str], edges: Sequence[tuple[str, str]], boxes: Mapping[str, Box],
         labels: Sequence[tuple[float, float] | None]) -> Drawing:
    """Lay out ``names`` (in a topological order) joined by ``edges`` (tail, head); ``labels``
    gives, per edge, the (width, height) of its label or None. A ghost's id is its node's id,
    ``g`` and the number of its band. The same inputs give the same (shared) drawing: a class's
    variants draw one graph many times."""
    return _draw(tuple(names), tuple(edges), tuple((n, boxes[n]) for n in names), tuple(labels))


@functools.lru_cache(maxsize=64)
def _draw(names: tuple[str, ...], edges: tuple[tuple[str, str], ...], box_items: tuple[tuple[str, Box], ...],
          labels: tuple[tuple[float, float] | None, ...]) -> Drawing:
    boxes = dict(box_items)
    count = 1
    while True:
        drawing = _fold(names, edges, boxes, labels, count)
        copied = dict(drawing.ghosts)
        width = max((p[0] + boxes[copied.get(n, n)].half for n, p in drawing.at.items()), default=0.0)
        if width <= MAX_WIDTH * SHRINK or count >= len(names):
            return drawing
        count = max(count + 1, math.ceil(width / MAX_WIDTH))


def _fold(names: Sequence[str], edges: Sequence[tuple[str, str]], boxes: Mapping[str, Box],
          labels: Sequence[tuple[float, float] | None], count: int) -> Drawing:
    """``draw`` folded into ``count`` bands at most, of about equal estimated widths."""
    band = _bands(names, edges, boxes, labels, count)
    at: dict[str, Point] = {}
    ghosts: list[tuple[str, str]] = []
    sources, bends, placed = [t for t, _ in edges], [()] * len(edges), [None] * len(edges)
    top = 0.0
    for b in range(max(band.values(), default=-1) + 1):
        copies: dict[str, str] = {}
        part_edges, which = [], []
        for i, (tail, head) in enumerate(edges):
            if band[head] == b:
                if band[tail] != b:
                    tail = sources[i] = copies.setdefault(tail, f"{tail}g{b}")
                part_edges.append((tail, head))
                which.append(i)
        part_names = list(copies.values()) + [n for n in names if band[n] == b]
        if not part_names:  # its layers held only leaves, which went on with the nodes they feed
            continue
        part_boxes = {**boxes, **{g: boxes[t] for t, g in copies.items()}}
        ghosts += [(g, t) for t, g in copies.items()]
        part_at, part_bends, part_labels = _draw_band(part_names, part_edges, part_boxes, [labels[i] for i in which])
        shift = -top - max(part_at[n][1] + part_boxes[n].up for n in part_names)
        at.update({n: _round(p, shift) for n, p in part_at.items()})
        for i, bent, label in zip(which, part_bends, part_labels):
            bends[i] = tuple(_round(p, shift) for p in bent)
            placed[i] = _round(label, shift) if label else None
        top = -min(at[n][1] - part_boxes[n].down for n in part_names) + BAND_GAP
    return Drawing(MappingProxyType(at), tuple(ghosts), tuple(sources), tuple(bends), tuple(placed))


def _bands(names: Sequence[str], edges: Sequence[tuple[str, str]], boxes: Mapping[str, Box],
           labels: Sequence[tuple[float, float] | None], count: int) -> dict[str, int]:
    """Each name's band: ``count`` runs of consecutive layers at most, the widest as narrow as it
    can be (widths estimated with the least gaps); a leaf goes with the first node it feeds."""
    layer = _layers(names, edges)
    if not edges:
        return {n: 0 for n in names}
    depth = max(layer.values()) + 1
    width = [0.0] * depth
    for n in names:
        width[layer[n]] = max(width[layer[n]], 2 * boxes[n].half)
    labelled = {layer[tail] for (tail, _), label in zip(edges, labels) if label}
    need = [width[k] + (LABEL_GAP_X if k - 1 in labelled else GAP_X) for k in range(depth)]

    def pack(limit: float) -> list[int]:
        of_layer, used = [0] * depth, width[0]
        for k in range(1, depth):
            if used + need[k] > limit:
                of_layer[k], used = of_layer[k - 1] + 1, GHOST_ROOM + width[k]
            else:
                of_layer[k], used = of_layer[k - 1], used + need[k]
        return of_layer

    low, high = max(width) + GHOST_ROOM, sum(need) + 1.0
    for _ in range(30):  # the least limit that packs into ``count`` bands
        middle = (low + high) / 2
        low, high = (low, middle) if pack(middle)[-1] < count else (middle, high)
    of_layer = pack(high)
    band = {n: of_layer[layer[n]] for n in names}
    for leaf in {tail for tail, _ in edges} - {head for _, head in edges}:
        band[leaf] = min(band[head] for tail, head in edges if tail == leaf)
    return band


def _draw_band(names: Sequence[str], edges: Sequence[tuple[str, str]], boxes: Mapping[str, Box],
               labels: Sequence[tuple[float, float] | None]
               ) -> tuple[dict[str, Point], list[tuple[Point, ...]], list[Point | None]]:
    """One band, as ``draw`` (no folding): centres, bends and label centres."""
    layer = _layers(names, edges)
    item_layer = [layer[n] for n in names]
    extent = [boxes[n] for n in names]
    chains: list[list[int]] = []
    index = {n: i for i, n in enumerate(names)}
    for tail, head in edges:
        chain = [index[tail]]
        for k in range(layer[tail] + 1, layer[head]):
            item_layer.append(k)
            extent.append(BEND)
            chain.append(len(item_layer) - 1)
        chains.append(chain + [index[head]])
    up: list[list[int]] = [[] for _ in item_layer]
    down: list[list[int]] = [[] for _ in item_layer]
    for chain in chains:
        for a, b in zip(chain, chain[1:]):
            down[a].append(b)
            up[b].append(a)
    rows: list[list[int]] = [[] for _ in range(max(item_layer, default=-1) + 1)]
    for item, k in enumerate(item_layer):
        rows[k].append(item)
    rows = _order(rows, up, down)
    y = _vertical(rows, up, down, extent, LABEL_GAP_Y if any(labels) else GAP_Y)
    extra = [0.0] * len(rows)
    for _ in range(WIDENINGS):
        x = _horizontal(rows, chains, y, extent, labels, item_layer, extra)
        point = {i: (x[item_layer[i]], -y[i]) for i in range(len(item_layer))}
        placed, crowded = _place_labels(chains, labels, point, rows, extent, x, item_layer)
        if not crowded:
            break
        for k in crowded:
            extra[k] += WIDEN
    return ({n: point[i] for i, n in enumerate(names)},
            [tuple(point[i] for i in chain[1:-1]) for chain in chains], placed)


def _round(p: Point, shift: float) -> Point:
    """A point moved up by ``shift`` (down when negative), to hundredths of a centimetre, never -0.0."""
    return (round(p[0], 2) + 0.0, round(p[1] + shift, 2) + 0.0)


def _layers(names: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    """The longest path from a leaf; then each leaf moves to just before its first child."""
    parents: dict[str, list[str]] = {n: [] for n in names}
    children: dict[str, list[str]] = {n: [] for n in names}
    for tail, head in edges:
        parents[head].append(tail)
        children[tail].append(head)
    layer: dict[str, int] = {}
    for n in names:
        layer[n] = 1 + max((layer[p] for p in parents[n]), default=-1)
    for n in names:
        if not parents[n] and children[n]:
            layer[n] = min(layer[c] for c in children[n]) - 1
    return layer


def _order(rows: list[list[int]], up: list[list[int]], down: list[list[int]]) -> list[list[int]]:
    """Barycentric sweeps down and up the layers, each followed by swaps of neighbours that
    remove crossings; the order with the fewest crossings wins."""
    best, fewest = [r[:] for r in rows], _crossings(rows, down)
    for _ in range(SWEEPS):
        for k in range(1, len(rows)):
            _sort(rows[k], rows[k - 1], up)
        for k in range(len(rows) - 2, -1, -1):
            _sort(rows[k], rows[k + 1], down)
        _transpose(rows, up, down)
        count = _crossings(rows, down)
        if count < fewest:
            best, fewest = [r[:] for r in rows], count
        if fewest == 0:
            break
    return best


def _sort(row: list[int], ref: list[int], links: list[list[int]]) -> None:
    """Order ``row`` by the mean position of each item's neighbours in ``ref`` (stable)."""
    scale = len(ref) / max(len(row), 1)
    pos = {item: k for k, item in enumerate(ref)}
    key = {}
    for k, item in enumerate(row):
        seen = [pos[j] for j in links[item]]
        key[item] = (sum(seen) / len(seen) if seen else k * scale, k)
    row.sort(key=key.__getitem__)


def _transpose(rows: list[list[int]], up: list[list[int]], down: list[list[int]]) -> None:
    """Swap two neighbours of a layer while that removes crossings with the layers beside it."""
    for _ in range(SWEEPS):
        swapped = False
        for k, row in enumerate(rows):
            before = {j: i for i, j in enumerate(rows[k - 1])} if k > 0 else {}
            after = {j: i for i, j in enumerate(rows[k + 1])} if k + 1 < len(rows) else {}
            for i in range(len(row) - 1):
                u, v = row[i], row[i + 1]
                if _pair(v, u, up, before) + _pair(v, u, down, after) < _pair(u, v, up, before) + _pair(u, v, down, after):
                    row[i], row[i + 1] = v, u
                    swapped = True
        if not swapped:
            return


def _pair(u: int, v: int, links: list[list[int]], pos: dict[int, int]) -> int:
    """Crossings between the links of u and of v when u comes first."""
    return sum(1 for a in links[u] for b in links[v] if pos[a] > pos[b])


def _crossings(rows: list[list[int]], down: list[list[int]]) -> int:
    total = 0
    for k in range(len(rows) - 1):
        pos = {item: j for j, item in enumerate(rows[k + 1])}
        segments = [(i, pos[b]) for i, a in enumerate(rows[k]) for b in down[a]]
        total += sum(1 for (a1, b1), (a2, b2) in combinations(segments, 2) if (a1 - a2) * (b1 - b2) < 0)
    return total


def _vertical(rows: list[list[int]], up: list[list[int]], down: list[list[int]],
              extent: list[Box], room: float) -> dict[int, float]:
    """Each item as close as it may be to the mean height of its neighbours (y grows downward),
    with ``room`` at least between two items of a layer."""
    gaps = [[extent[a].down + extent[b].up + room for a, b in zip(row, row[1:])] for row in rows]
    y: dict[int, float] = {}
    for row, gap in zip(rows, gaps):
        stacked = list(accumulate([0.0] + gap))
        middle = (stacked[0] + stacked[-1]) / 2
        y.update({item: s - middle for item, s in zip(row, stacked)})
    for r in range(ROUNDS):
        sweep = range(len(rows)) if r % 2 == 0 else range(len(rows) - 1, -1, -1)
        for k in sweep:
            row = rows[k]
            targets = []
            for item in row:
                near = up[item] + down[item]
                targets.append(sum(y[j] for j in near) / len(near) if near else y[item])
            y.update(zip(row, _closest(targets, gaps[k])))
    top = min((y[i] - extent[i].up for i in y), default=0.0)
    return {i: v - top for i, v in y.items()}


def _closest(targets: list[float], gaps: list[float]) -> list[float]:
    """The positions nearest ``targets`` (least squares), in order, consecutive ones ``gaps`` apart or more."""
    offsets = list(accumulate([0.0] + gaps))
    blocks: list[list[float]] = []  # [sum, count] of a run forced to one shifted position
    for t, o in zip(targets, offsets):
        blocks.append([t - o, 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    shifted = [s / c for s, c in blocks for _ in range(int(c))]
    return [z + o for z, o in zip(shifted, offsets)]


def _horizontal(rows: list[list[int]], chains: list[list[int]], y: dict[int, float], extent: list[Box],
                labels: Sequence[tuple[float, float] | None], item_layer: list[int], extra: list[float]) -> list[float]:
    """Layer centres: each gap fits the widest label in it, widens for steep edges, and by ``extra``."""
    width = [2 * max((extent[i].half for i in row), default=0.0) for row in rows]
    gap = [GAP_X] * max(len(rows) - 1, 0)
    for chain, label in zip(chains, labels):
        for a, b in zip(chain, chain[1:]):
            k = item_layer[a]
            gap[k] = max(gap[k], min(MAX_GAP_X, GAP_X + STEEP * abs(y[a] - y[b]) - 0.5))
        if label:
            k = item_layer[chain[0]]
            gap[k] = max(gap[k], LABEL_GAP_X, 2 * label[0] + 2 * LABEL_CLEAR)
    x = [width[0] / 2 if width else 0.0]
    for k in range(1, len(rows)):
        x.append(x[-1] + width[k - 1] / 2 + gap[k - 1] + extra[k - 1] + width[k] / 2)
    return x


def _place_labels(chains: list[list[int]], labels: Sequence[tuple[float, float] | None],
                  point: dict[int, Point], rows: list[list[int]], extent: list[Box], x: list[float],
                  item_layer: list[int]) -> tuple[list[Point | None], set[int]]:
    """Each label on the first segment of its edge, nearest the middle of its gap where it overlaps
    no label placed before (above all) and crosses the fewest other edges; and the gaps where
    some label could not avoid another label or edge."""
    half = [max((extent[i].half for i in row), default=0.0) for row in rows]
    segments = [(point[a], point[b], item_layer[a]) for chain in chains for a, b in zip(chain, chain[1:])]
    placed: list[tuple[float, float, float, float]] = []
    out: list[Point | None] = [None] * len(chains)
    crowded: set[int] = set()
    todo = sorted((i for i, lab in enumerate(labels) if lab),
                  key=lambda i: (item_layer[chains[i][0]], -point[chains[i][0]][1], -point[chains[i][1]][1]))
    for i in todo:
        w, h = labels[i]
        a, b = point[chains[i][0]], point[chains[i][1]]
        k = item_layer[chains[i][0]]
        lo = x[k] + half[k] + w / 2 + LABEL_CLEAR
        hi = x[k + 1] - half[k + 1] - w / 2 - LABEL_CLEAR
        if lo > hi:
            lo = hi = (lo + hi) / 2
        others = [(p, q) for p, q, layer in segments if layer == k and (p, q) != (a, b)]
        best, least = (0.0, 0.0), None
        for f in (0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8, 0.1, 0.9, 0.0, 1.0):
            cx = lo + f * (hi - lo)
            cy = a[1] + (b[1] - a[1]) * (cx - a[0]) / (b[0] - a[0])
            box = (cx, cy, w, h)
            score = (sum(_overlap(box, other) for other in placed), sum(_crosses(box, p, q) for p, q in others))
            if least is None or score < least:
                best, least = (cx, cy), score
        if least != (0, 0):
            crowded.add(k)
        placed.append((best[0], best[1], w, h))
        out[i] = best
    return out, crowded


def _crosses(box: tuple[float, float, float, float], p: Point, q: Point) -> bool:
    """Whether the segment p–q (left to right) passes through the box (x, y, w, h)."""
    left, right = max(box[0] - box[2] / 2, p[0]), min(box[0] + box[2] / 2, q[0])
    if left > right:
        return False
    y1, y2 = (p[1] + (q[1] - p[1]) * (t - p[0]) / (q[0] - p[0]) for t in (left, right))
    return min(y1, y2) <= box[1] + box[3] / 2 and max(y1, y2) >= box[1] - box[3] / 2


def _overlap(p: tuple[float, float, float, float], q: tuple[float, float, float, float]) -> float:
    """The area two centred boxes (x, y, w, h) share, each grown by LABEL_PAD."""
    dx = (p[2] + q[2]) / 2 + LABEL_PAD - abs(p[0] - q[0])
    dy = (p[3] + q[3]) / 2 + LABEL_PAD - abs(p[1] - q[1])
    return dx * dy if dx > 0 and dy > 0 else 0.0
