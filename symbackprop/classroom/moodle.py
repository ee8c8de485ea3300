"""A Moodle XML quiz file: one Embedded Answers (Cloze) question a variant, in one category.

Each asked gradient is a ``{1:NUMERICAL:=value:tolerance}`` blank (value to ``answerkey.DIGITS``
significant digits, tolerance ± an absolute amount); the worked solution is the general
feedback. The format is Moodle's documented XML (docs.moodle.org/en/Moodle_XML_format), built
with xml.etree so that it is always well-formed.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from .lms import Asked, Item

PENALTY = "0.3333333"  # Moodle's default penalty for a wrong try in an adaptive quiz
MAX_NAME = 255  # characters of a question name


def cloze(a: Asked) -> str:
    """The Cloze blank of one number, worth one mark."""
    return f"{{1:NUMERICAL:={a.value}:{a.tolerance}}}"


def quiz(category: str, items: Sequence[Item]) -> str:
    """The quiz file: a category (``$course$/top/CATEGORY``) and one Cloze question a variant."""
    root = ET.Element("quiz")
    head = ET.SubElement(root, "question", type="category")
    _text(ET.SubElement(head, "category"), "$course$/top/" + category.replace("/", "//"))
    for it in items:
        q = ET.SubElement(root, "question", type="cloze")
        _text(ET.SubElement(q, "name"), it.title[:MAX_NAME])
        _text(ET.SubElement(q, "questiontext", format="html"), it.cloze)
        _text(ET.SubElement(q, "generalfeedback", format="html"), it.solution)
        ET.SubElement(q, "penalty").text = PENALTY
        ET.SubElement(q, "hidden").text = "0"
        ET.SubElement(q, "idnumber").text = f"variant-{it.key}"[:100]
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _text(parent: ET.Element, text: str) -> None:
    ET.SubElement(parent, "text").text = text
