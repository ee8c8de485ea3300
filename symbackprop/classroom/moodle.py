"""A Moodle XML quiz file: one Embedded Answers (Cloze) question a variant, in one category.

Each asked number (a gradient, or an entry of a matrix gradient) is a
``{1:NUMERICAL:=value:tolerance#feedback~*#feedback}`` blank: the value to ``answerkey.DIGITS``
significant digits, the tolerance ± an absolute amount, both plain decimals as Moodle's
NUMBER_REGEX reads them (never a leading ``+``), and the exact value as the feedback of every
answer. In answer and feedback text Moodle's Cloze parser ends a part at ``}``, ``#`` or ``~``
unless a backslash comes before it, so those are escaped; a ``{N:`` of the question's own text,
which Moodle would take for a blank, is written ``&#123;N:`` (the browser, and so MathJax, still
reads ``{``). The worked solution is the general feedback. The format is Moodle's documented XML
(docs.moodle.org/en/Moodle_XML_format), built with xml.etree so that it is always well-formed.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from ..errors import SymbackpropError
from .lms import Asked, Item

PENALTY = "0.3333333"  # Moodle's default penalty for a wrong try in an adaptive quiz
MAX_NAME = 255  # characters of a question name
_SPECIAL = re.compile(r"([}#~])")
_START = re.compile(r"\{(?=[0-9]*:)")  # what could open a Cloze blank (Moodle's ANSWER_START_REGEX)


def escape(text: str) -> str:
    """Text for a Cloze answer or feedback: ``}``, ``#`` and ``~`` escaped with a backslash."""
    return _SPECIAL.sub(r"\\\1", text)


def cloze(a: Asked) -> str:
    """The Cloze blank of one number, worth one mark; any answer shows the exact value."""
    feedback = escape(rf"\({a.quantity} = {a.latex}\)")
    return f"{{1:NUMERICAL:={a.value}:{a.tolerance}#{feedback}~*#{feedback}}}"


def question_text(it: Item) -> str:
    """The Cloze question text: the item's HTML with its blanks, and no other ``{N:`` Moodle could
    read as one."""
    parts, at = [], 0
    for a in it.asked:
        found = it.cloze.find(a.blank, at)
        if found < 0:
            raise SymbackpropError(f"the template lms_question.html.j2 does not show the blank of {a.label}")
        parts += [_START.sub("&#123;", it.cloze[at:found]), a.blank]
        at = found + len(a.blank)
    return "".join(parts) + _START.sub("&#123;", it.cloze[at:])


def quiz(category: str, items: Sequence[Item]) -> str:
    """The quiz file: a category (``$course$/top/CATEGORY``) and one Cloze question a variant."""
    root = ET.Element("quiz")
    head = ET.SubElement(root, "question", type="category")
    _text(ET.SubElement(head, "category"), "$course$/top/" + category.replace("/", "//"))
    for it in items:
        q = ET.SubElement(root, "question", type="cloze")
        _text(ET.SubElement(q, "name"), it.title[:MAX_NAME])
        _text(ET.SubElement(q, "questiontext", format="html"), question_text(it))
        _text(ET.SubElement(q, "generalfeedback", format="html"), it.solution)
        ET.SubElement(q, "penalty").text = PENALTY
        ET.SubElement(q, "hidden").text = "0"
        ET.SubElement(q, "idnumber").text = f"variant-{it.key}"[:100]
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _text(parent: ET.Element, text: str) -> None:
    ET.SubElement(parent, "text").text = text
