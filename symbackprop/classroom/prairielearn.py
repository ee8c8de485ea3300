"""A PrairieLearn question of a class's variants: ``prairielearn/QID/`` holds ``info.json``,
``question.html``, ``server.py`` and ``variants.json``, a folder to copy into a course's
``questions/``.

PrairieLearn's server has only Python's standard library, so nothing is computed there: every
variant's exercise, worked solution and answers are written into ``variants.json``, and the
static ``server.py`` (``prairielearn_server.py``, the same for every class) serves variant
``variant_seed mod N``. ``question.html`` (template ``prairielearn_question.html.j2``) shows the
variant's HTML from params and one ``pl-number-input`` per asked gradient, graded within the
relative tolerance (``rtol``). The QID and the uuid depend only on the worksheet's file name and
the seed, so a class written again replaces its question in the course instead of adding one.
"""
from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any
from collections.abc import Mapping, Sequence

import sympy as sp

from .answerkey import decimal
from ..errors import SymbackpropError
from .lms import Item
from ..sheets.render import environment
from ..worksheet.read import Worksheet

SERVER = Path(__file__).with_name("prairielearn_server.py")
TEMPLATE = "prairielearn_question.html.j2"
NAMESPACE = uuid.UUID("5d0f6b52-3c52-5b3e-9c57-2f2a9e1d7b40")  # fixed: a question's uuid is uuid5 of this and its key
TOPIC = "Backpropagation"
_UNSAFE = re.compile(r"[^A-Za-z0-9_]+")
_DOLLAR = re.compile(r"(?<!\\)\$")  # PrairieLearn's MathJax reads $…$ as math; \$ is a dollar sign


def qid(worksheet: str, seed: int) -> str:
    """The question's folder: the worksheet file's stem, every run of characters other than ASCII
    letters, digits and ``_`` made one ``_``, then ``_seed`` and the seed (``m`` for a minus):
    ``001_linear_network_random_seed2024``."""
    stem = _UNSAFE.sub("_", Path(worksheet).stem).strip("_") or "worksheet"
    return f"{stem}_seed{'m' if seed < 0 else ''}{abs(seed)}"


def question_uuid(worksheet: str, seed: int) -> str:
    """The same uuid for the same worksheet file name and seed, on any machine (a UUID 5)."""
    return str(uuid.uuid5(NAMESPACE, f"{Path(worksheet).name}\0{seed}"))


def answer_names(loss: str, asked: Sequence[str]) -> dict[str, str]:
    """Each asked name's answers-name, safe as a key of PrairieLearn's answers and of Mustache:
    ``W1[1,2]`` → ``dL_dW1_1_2``; a name made the same as an earlier one's gets ``_2``, ``_3``, …"""
    keys: dict[str, str] = {}
    for name in asked:
        base = _UNSAFE.sub("_", f"d{loss}_d{name}").strip("_")
        key, n = base, 1
        while key in keys.values():
            n += 1
            key = f"{base}_{n}"
        keys[name] = key
    return keys


def write(target: Path, ws: Worksheet, seed: int, items: Sequence[Item], given: Mapping[str, Mapping[str, object]],
          tolerance: sp.Rational) -> None:
    """Write ``target/QID/``; ``given`` holds each variant's given numbers by its id (as answers.json
    lists them)."""
    asked = [(a.name, a.quantity) for a in items[0].asked]
    if any([(a.name, a.quantity) for a in it.asked] != asked for it in items):
        raise SymbackpropError("the variants ask different gradients, so one PrairieLearn question cannot grade them",
                               ws.path)
    if any(it.key not in given for it in items):
        raise SymbackpropError("the answer key does not list the variants of the PrairieLearn question", ws.path)
    keys = answer_names(ws.loss, [name for name, _ in asked])
    rtol = decimal(tolerance)
    inputs = [{"key": keys[name], "label": rf"\({quantity} =\)", "rtol": rtol} for name, quantity in asked]
    folder = target / qid(ws.path, seed)
    folder.mkdir(parents=True)
    info = {"uuid": question_uuid(ws.path, seed), "type": "v3", "title": f"{ws.title} (seed {seed})", "topic": TOPIC,
            "tags": ["symbackprop", "backprop", f"seed{seed}"],
            "comment": f"symbackprop variants {Path(ws.path).name} --seed {seed}: {len(items)} variants in variants.json"}
    variants = {"worksheet": Path(ws.path).name, "seed": seed,
                "variants": [{"id": it.key, "title": it.title, "question": _mathjax(it.statement),
                              "solution": _mathjax(it.solution), "given": given[it.key],
                              "answers": {keys[a.name]: a.value for a in it.asked}} for it in items]}
    _text(folder / "info.json", _json(info))
    _text(folder / "variants.json", _json(variants))
    _text(folder / "question.html", environment(None).get_template(TEMPLATE).render(inputs=inputs))
    _text(folder / "server.py", SERVER.read_text(encoding="utf-8"))


def _mathjax(html: str) -> str:
    """HTML whose math is \\( … \\) and \\[ … \\], for PrairieLearn's MathJax, which also reads $…$:
    a bare $ of the text becomes \\$, which MathJax shows as a dollar sign."""
    return _DOLLAR.sub(r"\\$", html)


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="\n")
