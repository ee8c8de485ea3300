"""A QTI 1.2 package that Canvas imports as a quiz: one question group for each asked number, an
item a variant in each.

A Canvas ``numerical_question`` grades one number, so every asked gradient (and every entry of
a matrix gradient: ``W1[1,2]``) is a question of its own. Each is a question group (a section
with ``selection_ordering``: one item drawn per student, ``points_per_item`` 1) holding that
number's item of every variant; Canvas imports question groups as they are, so a student meets
one variant of each asked number. An item accepts ``lms.Asked.low`` … ``high`` (its tolerance)
and shows the worked solution as general feedback. Identifiers come from a hash of the worksheet
and the seed, the group's place and the variant's id, and the zip has fixed dates, so the same
class gives the same bytes.
"""
from __future__ import annotations

import hashlib
import io
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Sequence

from .lms import Asked, Item

QTI_NS = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
CP_NS = "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"
CANVAS_NS = "http://canvas.instructure.com/xsd/cccv1p0"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def package(title: str, key: str, items: Sequence[Item]) -> bytes:
    """The zip: imsmanifest.xml, the assessment and Canvas's assessment_meta.xml; ``key`` (the
    worksheet and the seed) makes the identifiers. Every item asks the same numbers."""
    ident = "g" + _digest(key, 32)
    groups = len(items[0].asked) if items else 0
    files = {
        "imsmanifest.xml": _manifest(ident),
        f"{ident}/{ident}.xml": _assessment(ident, title, items),
        f"{ident}/assessment_meta.xml": _meta(ident, title, groups),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text.encode("utf-8"))
    return out.getvalue()


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def _xml(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def _assessment(ident: str, title: str, items: Sequence[Item]) -> str:
    root = ET.Element("questestinterop", xmlns=QTI_NS)
    assessment = _sub(root, "assessment", ident=ident, title=title)
    meta = _sub(_sub(assessment, "qtimetadata"), "qtimetadatafield")
    _sub(meta, "fieldlabel", "cc_maxattempts")
    _sub(meta, "fieldentry", "1")
    top = _sub(assessment, "section", ident="root_section")
    for place, first in enumerate(items[0].asked if items else (), 1):
        group = _sub(top, "section", ident=f"{ident}_q{place}", title=f"{first.label} ({title})")
        selection = _sub(_sub(group, "selection_ordering"), "selection")
        _sub(selection, "selection_number", "1")
        _sub(_sub(selection, "selection_extension"), "points_per_item", "1")
        for it in items:
            _item(group, f"{ident}_q{place}_{_digest(it.key, 16)}", it, place - 1)
    return _xml(root)


def _item(group: ET.Element, ident: str, it: Item, index: int) -> None:
    """The numerical item of asked number ``index`` of one variant."""
    a: Asked = it.asked[index]
    item = _sub(group, "item", ident=ident, title=f"{it.title}: {a.label}")
    meta = _sub(_sub(item, "itemmetadata"), "qtimetadata")
    for label, entry in (("question_type", "numerical_question"), ("points_possible", "1.0")):
        field = _sub(meta, "qtimetadatafield")
        _sub(field, "fieldlabel", label)
        _sub(field, "fieldentry", entry)
    presentation = _sub(item, "presentation")
    _sub(_sub(presentation, "material"), "mattext", it.questions[index], texttype="text/html")
    fib = _sub(_sub(presentation, "response_str", ident="response1", rcardinality="Single"), "render_fib",
               fibtype="Decimal")
    _sub(fib, "response_label", ident="answer1")
    processing = _sub(item, "resprocessing")
    _sub(_sub(processing, "outcomes"), "decvar", maxvalue="100", minvalue="0", varname="SCORE", vartype="Decimal")
    feedback = _sub(processing, "respcondition", **{"continue": "Yes"})
    _sub(_sub(feedback, "conditionvar"), "other")
    _sub(feedback, "displayfeedback", feedbacktype="Response", linkrefid="general_fb")
    correct = _sub(processing, "respcondition", **{"continue": "No"})
    either = _sub(_sub(correct, "conditionvar"), "or")
    _sub(either, "varequal", a.value, respident="response1")
    within = _sub(either, "and")
    _sub(within, "vargte", a.low, respident="response1")
    _sub(within, "varlte", a.high, respident="response1")
    _sub(correct, "setvar", "100", action="Set", varname="SCORE")
    flow = _sub(_sub(item, "itemfeedback", ident="general_fb"), "flow_mat")
    _sub(_sub(flow, "material"), "mattext", it.solution, texttype="text/html")


def _manifest(ident: str) -> str:
    root = ET.Element("manifest", identifier=ident + "_manifest", xmlns=CP_NS)
    metadata = _sub(root, "metadata")
    _sub(metadata, "schema", "IMS Content")  # as Canvas's own exporter writes it
    _sub(metadata, "schemaversion", "1.1.3")
    _sub(root, "organizations")
    resources = _sub(root, "resources")
    resource = _sub(resources, "resource", identifier=ident, type="imsqti_xmlv1p2")
    _sub(resource, "file", href=f"{ident}/{ident}.xml")
    _sub(resource, "dependency", identifierref=ident + "_meta")
    href = f"{ident}/assessment_meta.xml"
    meta = _sub(resources, "resource", identifier=ident + "_meta",
                type="associatedcontent/imscc_xmlv1p1/learning-application-resource", href=href)
    _sub(meta, "file", href=href)
    return _xml(root)


def _meta(ident: str, title: str, groups: int) -> str:
    root = ET.Element("quiz", identifier=ident, xmlns=CANVAS_NS)
    for tag, text in (("title", title), ("description", ""), ("shuffle_answers", "false"),
                      ("scoring_policy", "keep_highest"), ("quiz_type", "assignment"),
                      ("points_possible", f"{groups}.0"), ("show_correct_answers", "true"), ("allowed_attempts", "1")):
        _sub(root, tag, text)
    return _xml(root)
