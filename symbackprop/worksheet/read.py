"""Reading and validating a worksheet file into a frozen Worksheet (the public format)."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import sympy as sp

from ..language import expr as E
from ..errors import Caution, ExpressionError, SymbackpropError, WorksheetError
from ..language.evaluate import evaluate
from .require import Constraint, read_require
from ..language.ops import Conventions
from .names import closest, name_problem, read_loss, undefined, unreached
from .random_spec import Draw, read_random
from .shapes import Dim, check_shapes_only, read_declaration
from ..textfile import read_text
from .yamlread import Map, Scalar, Seq, YNode, decimal_written, read_yaml

KEYS = ("title", "description", "notation", "given", "nodes", "edges", "loss", "wrt", "symbols",
        "decimals", "numbers", "relu_grad_at_zero", "course", "author", "date", "paper", "random", "require", "aliases",
        "update", "points")
MAX_UPDATE_STEPS = 20
MAX_ENTRIES = 10_000  # entries of one given matrix
NOTATIONS = ("leibniz", "upstream")
DIGITS = range(1, 31)  # the significant digits a sheet may show (decimals:)
NUMBERS = ("auto", "exact", "decimal")  # how a sheet writes numbers (sheets/numbers.py)
PAPERS = ("a4", "letter")
POINTS_KEY = re.compile(r"^(\w+)\^\((\d+)\)$")  # points: w1^(1), the updated w1 after step 1
EDGE_RE = re.compile(r"^\s*([^\s>-]*)\s*->\s*([^\s>-]*)\s*$")
# TeX primitives and commands that read or write files, run programs or redefine the language;
# every pdfTeX primitive (\pdfobj file{…} embeds any file in the PDF, paranoid mode or not).
UNSAFE_TEX = re.compile(
    r"\\(input|include[A-Za-z]*|write|immediate|openin|openout|read|catcode|def|edef|gdef|xdef|let|"
    r"newcommand|renewcommand|providecommand|csname|usepackage|RequirePackage|documentclass|"
    r"special|makeatletter|expandafter|jobname|loop|futurelet|afterassignment|errmessage|"
    r"message|typeout|directlua|lowercase|uppercase|scantokens|begingroup|endgroup|verb|url|href|"
    r"pdf[A-Za-z]*|font|global|chardef|mathchardef|countdef|dimendef|skipdef|muskipdef|toksdef|"
    r"newenvironment|renewenvironment|DeclareRobustCommand|DeclareMathOperator|newif|newread|newwrite|"
    r"closein|closeout|endinput|shipout|output|every[A-Za-z]*|tikz[A-Za-z]*|pgf[A-Za-z]*)(?![A-Za-z])"
)
SAFE_TEX_CHARS = re.compile(r"^[A-Za-z0-9\\{}_^'(),.+\-=*/| !:;\[\]]*$")


@dataclass(frozen=True)
class Given:
    """A given name: its exact value (a number, or an ImmutableMatrix for a YAML list), or None
    to keep it symbolic."""

    name: str
    value: sp.Expr | sp.ImmutableMatrix | None
    line: int
    written: str | None = None  # a number given as a decimal, as written (0.10)
    shape: tuple[Dim, Dim] | None = None  # a matrix declared by its shape, without numbers; one_hot:
    one_hot: bool = False  # every row of it sums to 1


@dataclass(frozen=True)
class NodeDef:
    """A node defined by an expression of given names and other nodes."""

    name: str
    expr: E.Expr
    text: str
    line: int


@dataclass(frozen=True)
class EdgeDef:
    """An edge stated by its local derivative d(head)/d(tail)."""

    tail: str
    head: str
    expr: E.Expr
    text: str
    line: int


@dataclass(frozen=True)
class Update:
    """``update:``: gradient-descent steps w ← w − lr · ∂L/∂w on some given names."""

    lr: sp.Expr
    params: tuple[str, ...]
    steps: int


@dataclass(frozen=True)
class Worksheet:
    """A validated exercise; every name it mentions is accounted for."""

    path: str
    title: str
    description: str
    notation: str
    given: tuple[Given, ...]
    nodes: tuple[NodeDef, ...]
    edges: tuple[EdgeDef, ...]
    loss: str
    loss_of: tuple[str, ...]  # non-empty: L is an unspecified function of these nodes
    wrt: tuple[str, ...] | None
    symbols: tuple[tuple[str, str], ...]
    decimals: int | None
    relu_at_zero: sp.Rational
    numbers: str = "auto"  # how a sheet writes numbers: auto, exact or decimal
    course: str = ""
    author: str = ""
    date: str = ""
    paper: str = "a4"
    random: tuple[Draw, ...] = ()  # the names a variant draws (random:)
    require: tuple[Constraint, ...] = ()  # the conditions a variant meets (require:)
    aliases: tuple[tuple[str, str], ...] = ()  # written name -> worksheet name, for `check` (aliases:)
    update: Update | None = None  # gradient-descent steps after the backward pass (update:)
    points: tuple[tuple[str, sp.Expr], ...] = ()  # an asked quantity → its points when graded (points:)
    warnings: tuple[Caution, ...] = ()  # valid, but probably not meant: a node the loss does not depend on
    source: str = ""  # the text it was read from: a class variant's own worksheet is written from it

    @property
    def loss_unspecified(self) -> bool:
        return bool(self.loss_of)

    @property
    def conventions(self) -> Conventions:
        """The conventions at kinks that every evaluation of this worksheet uses."""
        return Conventions(self.relu_at_zero)

    @property
    def has_matrices(self) -> bool:
        """A worksheet with a matrix among its given values (or declared by its shape) is solved in matrix notation."""
        return any(isinstance(g.value, sp.MatrixBase) or g.shape is not None for g in self.given)

    @property
    def shapes_only(self) -> bool:  # matrices declared by their shapes, no numbers (worksheet/shapes.py)
        return any(g.shape is not None for g in self.given)


def check_tex(text: str, file: str, line: int, what: str) -> str:
    """Refuse LaTeX that could read or write files or redefine commands."""
    bad = UNSAFE_TEX.search(text)
    if bad or not SAFE_TEX_CHARS.match(text) or "^^" in text:
        reason = f"the command {bad.group(0)}" if bad else "characters outside the allowed set"
        raise WorksheetError(f"{what}: unsafe LaTeX ({reason}) in '{text}'", file, line)
    depth = 0
    for token in re.findall(r"\\.|[{}]", text):  # \{ and \} are literal braces
        depth += {"{": 1, "}": -1}.get(token, 0)
        if depth < 0:  # a } closing a group of the sheet's own: "}{" is not balanced
            break
    if depth != 0:
        raise WorksheetError(f"{what}: unbalanced braces in '{text}'", file, line)
    return text


def load(path: str | Path) -> Worksheet:
    """Read a worksheet file; any mistake is a WorksheetError naming the file and the line."""
    file = str(path)
    text = read_text(path, WorksheetError)
    return loads(text, file)


def loads(text: str, file: str = "<worksheet>") -> Worksheet:
    """Validate worksheet text (see ``load``)."""
    root = read_yaml(text, file)
    if not isinstance(root, Map):
        raise WorksheetError("a worksheet is a YAML mapping with keys such as given: and nodes:", file,
                             getattr(root, "line", 1))
    return replace(_Reader(file).read(root), source=text)


class _Reader:
    """Turns the YAML tree into a Worksheet, one key at a time, with the file for errors."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, message: str, line: int | None) -> WorksheetError:
        return WorksheetError(message, self.file, line)

    def read(self, root: Map) -> Worksheet:
        for key, line, _ in root.entries:
            if key not in KEYS:
                hint = closest(key, KEYS)
                raise self.fail(f"unknown key '{key}'" + (f" (did you mean '{hint}'?)" if hint else "")
                                + f"; known keys: {', '.join(KEYS)}", line)
        given = self.given(root.get("given"))
        nodes = self.nodes(root.get("nodes"))
        edges = self.edges(root.get("edges"))
        defined: dict[str, int] = {}
        for name, line in [(g.name, g.line) for g in given] + [(n.name, n.line) for n in nodes]:
            if name in defined:
                raise self.fail(f"'{name}' is defined twice (first on line {defined[name]})", line)
            defined[name] = line
        node_names = {n.name for n in nodes}
        for e in edges:
            if e.head in node_names:
                raise self.fail(f"edge {e.tail} -> {e.head}: '{e.head}' is defined by an expression, "
                                "so its incoming edges are already known", e.line)
        edge_names = {e.tail for e in edges} | {e.head for e in edges}
        known = set(defined) | edge_names
        for n in nodes:
            for ref in E.names(n.expr):
                if ref not in known:
                    raise self.fail(f"node '{n.name}': " + undefined(ref, known, " (give it under given:, "
                                    "with no value to keep it symbolic)"), n.line)
        for e in edges:
            for ref in E.names(e.expr):
                if ref not in defined:
                    raise self.fail(f"edge {e.tail} -> {e.head}: " + undefined(ref, defined), e.line)
        matrices = [g for g in given if isinstance(g.value, sp.MatrixBase)]
        if any(g.shape is not None for g in given):
            check_shapes_only(given, list(defined.items()), root, self)
        elif matrices:
            self.matrix_limits(root, matrices[0])
        loss, loss_of = read_loss(root.get("loss"), root, nodes, edges, {g.name for g in given}, self)
        all_names = known | ({loss} if loss_of else set())
        wrt = self.names_list(root.get("wrt"), "wrt", all_names)
        update = self.update(root.get("update"), given, known - {g.name for g in given}, bool(loss_of))
        return Worksheet(
            path=self.file,
            title=self.text(root.get("title"), "title", "Backpropagation"),
            description=self.text(root.get("description"), "description", ""),
            notation=self.choice(root.get("notation"), "notation", NOTATIONS),
            given=given,
            nodes=nodes,
            edges=edges,
            loss=loss,
            loss_of=loss_of,
            wrt=wrt,
            symbols=self.symbols(root.get("symbols"), all_names),
            decimals=self.decimals(root.get("decimals")),
            numbers=self.choice(root.get("numbers"), "numbers", NUMBERS),
            relu_at_zero=self.relu_at_zero(root.get("relu_grad_at_zero")),
            course=self.header(root.get("course"), "course"),
            author=self.header(root.get("author"), "author"),
            date=self.header(root.get("date"), "date"),
            paper=self.choice(root.get("paper"), "paper", PAPERS),
            random=read_random(root.get("random"), self, {g.name: g.value for g in given}),
            require=read_require(root.get("require"), self, all_names),
            aliases=self.aliases(root.get("aliases"), all_names),
            update=update,
            points=self.points(root.get("points"), wrt or tuple(sorted(all_names - {loss})), update),
            warnings=unreached(nodes, edges, loss, loss_of, {g.name for g in given}, self.file),
        )

    def matrix_limits(self, root: Map, first: Given) -> None:
        """What a worksheet in matrices cannot have (yet): every number must be given."""
        for key, line, _ in root.entries:
            if key == "edges":
                raise self.fail(f"{key}: not available in a worksheet with matrices (given {first.name} is a matrix)",
                                line)
        loss = root.get("loss")
        if isinstance(loss, Map):
            raise self.fail("loss: a worksheet with matrices needs a loss defined under nodes:", loss.line)
        given = root.get("given")
        for key, line, value in self.mapping(given, "given").entries:
            if isinstance(value, Scalar) and value.kind == "null":
                raise self.fail(f"given {key}: a worksheet with matrices needs every value (given {first.name} is "
                                "a matrix)", line)

    # -- one method a key -------------------------------------------------------------------
    def text(self, node: YNode | None, key: str, default: str) -> str:
        if node is None:
            return default
        if not isinstance(node, Scalar) or node.kind == "null":
            raise self.fail(f"{key}: expected text", node.line)
        if len(node.text) > 5000:
            raise self.fail(f"{key}: longer than 5000 characters", node.line)
        return node.text

    def header(self, node: YNode | None, key: str) -> str:
        """One line of plain text for the handout's header (course, author, date)."""
        value = self.text(node, key, "")
        if "\n" in value.strip() or len(value) > 200:
            raise self.fail(f"{key}: expected one line of text (at most 200 characters)", node.line)
        return value.strip()

    def choice(self, node: YNode | None, key: str, options: tuple[str, ...]) -> str:
        value = self.text(node, key, options[0])
        if value not in options:
            raise self.fail(f"{key}: '{value}' is not one of {', '.join(options)}", node.line)
        return value

    def mapping(self, node: YNode | None, key: str) -> Map:
        if node is None or (isinstance(node, Scalar) and node.kind == "null"):
            return Map((), 0)
        if not isinstance(node, Map):
            raise self.fail(f"{key}: expected a mapping of name: value", node.line)
        return node

    def name(self, name: str, line: int, where: str) -> str:
        problem = name_problem(name)
        if problem:
            raise self.fail(f"{where}: {problem}", line)
        return name

    def number(self, node: YNode, where: str) -> sp.Expr | None:
        """An exact number: an integer, a decimal (exact), a fraction or a constant expression."""
        if not isinstance(node, Scalar):
            raise self.fail(f"{where}: expected a number", node.line)
        if node.kind == "null":
            return None
        if node.kind in ("int", "float"):
            try:
                return E.exact_number(node.text)
            except (ValueError, ZeroDivisionError, ExpressionError):
                raise self.fail(f"{where}: '{node.text}' is not a number", node.line) from None
        if node.kind == "str":
            try:
                tree = E.parse(node.text)
            except ExpressionError as exc:
                raise self.fail(f"{where}: '{node.text}' is not a number ({exc.message})", node.line) from None
            if E.names(tree):
                raise self.fail(f"{where}: '{node.text}' is not a number (it names "
                                f"{', '.join(E.names(tree))})", node.line)
            try:
                value = evaluate(tree, {}, Conventions())
            except SymbackpropError as exc:
                raise self.fail(f"{where}: {exc.message}", node.line) from None
            if not value.is_real:
                raise self.fail(f"{where}: '{node.text}' is not a real number", node.line)
            return value
        raise self.fail(f"{where}: '{node.text}' is not a number", node.line)

    def given(self, node: YNode | None) -> tuple[Given, ...]:
        if isinstance(node, Seq):  # a list of names: all symbolic
            out = []
            for item in node.items:
                if not isinstance(item, Scalar):
                    raise self.fail("given: expected a name", item.line)
                out.append(Given(self.name(item.text, item.line, "given"), None, item.line))
            return tuple(out)
        return tuple(
            Given(self.name(key, line, "given"), None, line, None, *read_declaration(value, key, self)) if type(value) is Map else
            Given(self.name(key, line, "given"),
                  self.matrix(value, f"given {key}") if isinstance(value, Seq) else self.number(value, f"given {key}"),
                  line, decimal_written(value))
            for key, line, value in self.mapping(node, "given").entries
        )

    def matrix(self, node: Seq, where: str) -> sp.ImmutableMatrix:
        """A YAML list as an exact matrix: ``[[1, 2], [3, 4]]`` has two rows; a flat list ``[0, 1]``
        is one row (a bias broadcast over the rows of a batch)."""
        rows = node.items if node.items and all(isinstance(r, Seq) for r in node.items) else [node]
        if not node.items or any(not isinstance(r, Seq) or not r.items for r in rows):
            raise self.fail(f"{where}: expected a list of numbers, or a list of rows of numbers", node.line)
        width = len(rows[0].items)
        for i, row in enumerate(rows, 1):
            if len(row.items) != width:
                raise self.fail(f"{where}: row {i} has {len(row.items)} entries, row 1 has {width}", row.line)
        if len(rows) * width > MAX_ENTRIES:
            raise self.fail(f"{where}: more than {MAX_ENTRIES} entries", node.line)
        entries = []
        for i, row in enumerate(rows, 1):
            for j, item in enumerate(row.items, 1):
                value = self.number(item, f"{where}[{i},{j}]")
                if value is None:
                    raise self.fail(f"{where}[{i},{j}]: every entry of a matrix needs a number", item.line)
                entries.append(value)
        return sp.ImmutableMatrix(len(rows), width, entries)

    def expression(self, node: YNode, where: str) -> tuple[E.Expr, str]:
        if not isinstance(node, Scalar) or node.kind in ("null", "bool"):
            raise self.fail(f"{where}: expected an expression", node.line)
        try:
            return E.parse(node.text), node.text.strip()
        except ExpressionError as exc:
            raise self.fail(f"{where}: {exc.message}", node.line) from None

    def nodes(self, node: YNode | None) -> tuple[NodeDef, ...]:
        out = []
        for key, line, value in self.mapping(node, "nodes").entries:
            self.name(key, line, "nodes")
            tree, text = self.expression(value, f"node '{key}'")
            out.append(NodeDef(key, tree, text, line))
        return tuple(out)

    def edges(self, node: YNode | None) -> tuple[EdgeDef, ...]:
        out: list[EdgeDef] = []
        seen: dict[tuple[str, str], int] = {}
        for key, line, value in self.mapping(node, "edges").entries:
            m = EDGE_RE.match(key)
            if not m or not m.group(1) or not m.group(2):
                raise self.fail(f"edges: '{key}' is not an edge 'tail -> head' with both ends named", line)
            tail = self.name(m.group(1), line, "edges")
            head = self.name(m.group(2), line, "edges")
            if tail == head:
                raise self.fail(f"edges: '{key}' joins a node to itself", line)
            if (tail, head) in seen:
                raise self.fail(f"edges: {tail} -> {head} is defined twice (first on line {seen[tail, head]})", line)
            seen[tail, head] = line
            tree, text = self.expression(value, f"edge {tail} -> {head}")
            out.append(EdgeDef(tail, head, tree, text, line))
        return tuple(out)

    def names_list(self, node: YNode | None, key: str, known: set[str]) -> tuple[str, ...] | None:
        if node is None:
            return None
        items = node.items if isinstance(node, Seq) else (node,)
        out = []
        for item in items:
            if not isinstance(item, Scalar) or item.kind == "null":
                raise self.fail(f"{key}: expected a name", item.line)
            if item.text not in known:
                raise self.fail(f"{key}: " + undefined(item.text, known), item.line)
            if item.text not in out:
                out.append(item.text)
        return tuple(out)

    def symbols(self, node: YNode | None, known: set[str]) -> tuple[tuple[str, str], ...]:
        out = []
        for key, line, value in self.mapping(node, "symbols").entries:
            if key not in known:
                raise self.fail("symbols: " + undefined(key, known), line)
            text = self.text(value, f"symbols {key}", "")
            out.append((key, check_tex(text, self.file, value.line, f"symbols {key}")))
        return tuple(out)

    def aliases(self, node: YNode | None, known: set[str]) -> tuple[tuple[str, str], ...]:
        """``aliases:`` maps a name as a derivation writes it (``A_1``, ``\\omega``) to a worksheet name."""
        out = []
        for key, line, value in self.mapping(node, "aliases").entries:
            target = self.text(value, f"aliases {key}", "")
            if target not in known:
                hint = closest(target, known)
                raise self.fail(f"aliases: '{key}' stands for '{target}', which is no name of the worksheet"
                                + (f" (did you mean '{hint}'?)" if hint else ""), value.line)
            if not key.strip() or len(key) > 100:
                raise self.fail("aliases: a written name is 1 to 100 characters", line)
            out.append((key, target))
        return tuple(out)

    def update(self, node: YNode | None, given: tuple[Given, ...], computed: set[str],
               loss_unspecified: bool) -> Update | None:
        """``update:``; ``computed`` are the graph's nodes, which a step cannot set."""
        if node is None:
            return None
        entries = self.mapping(node, "update")
        for key, line, _ in entries.entries:
            if key not in ("lr", "params", "steps"):
                raise self.fail(f"update: unknown key '{key}' (known: lr, params, steps)", line)
        if loss_unspecified:
            raise self.fail("update: the loss must be specified to take a step", node.line)
        symbolic = [g.name for g in given if g.value is None]
        if symbolic:
            raise self.fail(f"update: every given name needs a number ({', '.join(symbolic)} has none)", node.line)
        lr_node, params_node, steps_node = entries.get("lr"), entries.get("params"), entries.get("steps")
        if lr_node is None or params_node is None:
            raise self.fail("update: expected lr (the learning rate) and params (the names to update)", node.line)
        lr = self.number(lr_node, "update lr")
        if lr is None or not lr.is_positive:
            raise self.fail("update lr: expected a positive number", lr_node.line)
        items = params_node.items if isinstance(params_node, Seq) else (params_node,)
        for item in items:
            if isinstance(item, Scalar) and item.text in computed:
                raise self.fail(f"update params: '{item.text}' is a node; only given names (the parameters) "
                                "can be updated", item.line)
        params = self.names_list(params_node, "update params", {g.name for g in given}) or ()
        steps = 1
        if steps_node is not None:
            if not isinstance(steps_node, Scalar) or steps_node.kind != "int" or \
                    not 1 <= int(steps_node.text) <= MAX_UPDATE_STEPS:
                raise self.fail(f"update steps: expected a whole number from 1 to {MAX_UPDATE_STEPS}",
                                steps_node.line)
            steps = int(steps_node.text)
        return Update(lr, params, steps)

    def points(self, node: YNode | None, asked: tuple[str, ...], update: Update | None) -> tuple[tuple[str, sp.Expr], ...]:
        """``points:`` maps an asked quantity to what it is worth when ``grade`` scores it (else 1):
        ``w1`` the gradient ∂L/∂w1, ``w1^(1)`` the updated w1 after step 1."""
        out = []
        for key, line, value in self.mapping(node, "points").entries:
            step = POINTS_KEY.match(key)
            if step:
                if update is None or step.group(1) not in update.params or not 1 <= int(step.group(2)) <= update.steps:
                    raise self.fail(f"points: '{key}' is no updated value that update: asks", line)
            elif key not in asked:
                hint = closest(key, asked)
                raise self.fail(f"points: '{key}' is not a gradient the worksheet asks"
                                + (f" (did you mean '{hint}'?)" if hint else ""), line)
            worth = self.number(value, f"points {key}")
            if worth is None or not worth.is_Rational or not worth.is_positive:
                raise self.fail(f"points {key}: expected a positive number", value.line)
            out.append((key, worth))
        return tuple(out)

    def decimals(self, node: YNode | None) -> int | None:
        if node is None:
            return None
        if not isinstance(node, Scalar) or node.kind != "int" or int(node.text) not in DIGITS:
            raise self.fail(f"decimals: expected a whole number of digits from {DIGITS.start} to {DIGITS[-1]}", node.line)
        return int(node.text)

    def relu_at_zero(self, node: YNode | None) -> sp.Rational:
        if node is None:
            return sp.S.Zero
        value = self.number(node, "relu_grad_at_zero")
        if value is None or not value.is_Rational or not 0 <= value <= 1:
            raise self.fail("relu_grad_at_zero: expected a number from 0 to 1 (PyTorch uses 0)", node.line)
        return value
