"""The LMS exports of `variants`: the Canvas (QTI 1.2) package against the IMS QTI ASI 1.2 schema
and Canvas's layout (a question group per asked number), the Moodle Cloze blanks read back by a
port of Moodle's own parser, --scale, the warnings on answers an LMS grades badly, and matrix
gradients asked entry by entry (checked against PyTorch autograd)."""
from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
import sympy as sp
import torch
import xmlschema

from support.cli import run_cli
from support.paths import ROOT, WORKSHEETS
from symbackprop.api import solve
from symbackprop.classroom import moodle, qti
from symbackprop.classroom.lms import TOLERANCE, Asked, Item, item, numbers
from symbackprop.classroom.variants import Variant, plan, run
from symbackprop.worksheet.read import loads

W = WORKSHEETS / "001_linear_network_random.yaml"
MATRIX = WORKSHEETS / "003_relu_matrix.yaml"
SCHEMA = xmlschema.XMLSchema(str(ROOT / "tests" / "schemas" / "ims_qtiasiv1p2.xsd"), allow="local")
DECIMALS = """\
title: Decimals for an LMS
given: {x: 1/2, w: 1.5, b: 0.25, t: 1}
nodes:
  z: w*x + b
  h: z/(1 + w**2)
  L: (h - t)**2/3
random:
  x: {fractions: [-2, 2], denominators: [3, 7]}
  w: {decimals: [-3, 3], digits: 2}
  b: {decimals: [-1, 1], digits: 3}
  t: {choice: [-1, 1/3, 2]}
"""

# -- Moodle's Cloze parser, ported from question/type/multianswer/questiontype.php (moodle/moodle):
# ANSWER_ALTERNATIVE_*_REGEX, NUMBER_REGEX, NUMERICAL_ALTERNATIVE_REGEX, ANSWER_START_REGEX and
# ANSWER_REGEX, and the loop of qtype_multianswer_extract_question. PCRE's look-behind
# (?<!\\|&|&amp;) becomes three fixed-width ones for Python's re.
FRACTION = r"=|%(-?[0-9]+(?:[.,][0-9]*)?)%"
ANSWER = r".+?(?<!\\)(?<!&)(?<!&amp;)(?=[~#}]|$)"
FEEDBACK = r".*?(?<!\\)(?=[~}]|$)"
ALTERNATIVE = f"({FRACTION})?({ANSWER})(#({FEEDBACK}))?"
NUMBER = r"-?(([0-9]+[.,]?[0-9]*|[.,][0-9]+)([eE][-+]?[0-9]+)?)"
NUMERICAL = re.compile(f"^({NUMBER})(:{NUMBER})?$", re.S)
TYPES = (r"(NUMERICAL|NM)|(MULTICHOICE|MC)|(MULTICHOICE_V|MCV)|(MULTICHOICE_H|MCH)|(SHORTANSWER|SA|MW)|"
         r"(SHORTANSWER_C|SAC|MWC)|(MULTICHOICE_S|MCS)|(MULTICHOICE_VS|MCVS)|(MULTICHOICE_HS|MCHS)|"
         r"(MULTIRESPONSE|MR)|(MULTIRESPONSE_H|MRH)|(MULTIRESPONSE_S|MRS)|(MULTIRESPONSE_HS|MRHS)")
BLANK = re.compile(r"\{([0-9]*):(" + TYPES + "):(" + ALTERNATIVE + "(~" + ALTERNATIVE + ")*)\\}", re.S)
ALTERNATIVES = 16  # ANSWER_REGEX_ALTERNATIVES


def moodle_blanks(text: str) -> list[dict]:
    """The sub-questions Moodle reads in a Cloze text, in order: type, mark and each answer (its
    fraction, answer, tolerance, feedback), as qtype_multianswer_extract_question does."""
    found = []
    while m := BLANK.search(text):
        answers, rest = [], m.group(ALTERNATIVES)
        while alt := re.search("~?" + ALTERNATIVE, rest, re.S):
            feedback = (alt.group(5) or "").replace("\\}", "}").replace("\\#", "#")
            number = NUMERICAL.match(alt.group(3)) if m.group(3) else None
            answers.append({"fraction": alt.group(1) or "", "answer": number.group(1) if number else alt.group(3),
                            "tolerance": number.group(6) if number else None, "feedback": feedback})
            rest = rest.split(alt.group(0), 1)[1]
        found.append({"numerical": bool(m.group(3)), "mark": m.group(1), "answers": answers})
        text = text.replace(m.group(0), "{#%d}" % len(found), 1)
    return found


def rounded_right(text: str, value: sp.Expr, digits: int) -> bool:
    """``text`` is ``value`` correctly rounded to ``digits`` significant digits (checked at 40
    digits), or a whole number written out."""
    if value.is_Integer:
        return text == str(value)
    exact = Decimal(str(sp.N(value, 40)))
    step = Decimal(1).scaleb(exact.adjusted() - digits + 1)
    return abs(Decimal(text) - exact) <= step / 2 and len(Decimal(text).normalize().as_tuple().digits) <= digits


# -- Canvas: one question group per asked number ----------------------------------------------------
@pytest.fixture(scope="module")
def both(tmp_path_factory) -> Path:
    """--qti and --moodle in one run, every gradient asked."""
    out = tmp_path_factory.mktemp("lms") / "quiz"
    proc = run_cli("variants", str(W), "-n", "5", "--seed", "5", "-o", str(out), "--qti", "--moodle",
                   "--format", "md", timeout=120)
    assert proc.returncode == 0, proc.stderr
    (out / "stderr.txt").write_text(proc.stderr)
    return out


def assessment_files(package: bytes) -> tuple[ET.Element, dict[str, bytes]]:
    """The manifest and each QTI file it lists (resource type imsqti_xmlv1p2)."""
    with zipfile.ZipFile(io.BytesIO(package)) as z:
        manifest = ET.fromstring(z.read("imsmanifest.xml"))
        hrefs = [f.get("href") for r in manifest.iterfind(".//{*}resource[@type='imsqti_xmlv1p2']")
                 for f in r.iterfind("{*}file")]
        return manifest, {h: z.read(h) for h in hrefs}


def test_qti_asks_every_gradient_in_its_own_group(both) -> None:
    wrt = list(solve(W).derivation.wrt)
    data = json.loads((both / "answers.json").read_text())["variants"]
    manifest, files = assessment_files((both / "qti.zip").read_bytes())
    (assessment,) = (ET.fromstring(x) for x in files.values())
    groups = assessment.findall("{*}assessment/{*}section/{*}section")
    assert len(groups) == len(wrt) > 1
    idents = [i.get("ident") for i in assessment.iter("{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}item")]
    assert len(idents) == len(set(idents)) == len(wrt) * 5
    for name, group in zip(wrt, groups):
        selection = group.find("{*}selection_ordering/{*}selection")
        assert selection.find("{*}selection_number").text == "1"
        assert selection.find("{*}selection_extension/{*}points_per_item").text == "1"
        items = group.findall("{*}item")
        assert len(items) == 5 and f"∂L/∂{name}" in group.get("title")
        for it, entry in zip(items, data):
            exact = sp.Rational(entry["gradients"][name])
            assert it.find(".//{*}varequal").text == str(exact)  # whole numbers: written as they are
            low, high = Decimal(it.find(".//{*}vargte").text), Decimal(it.find(".//{*}varlte").text)
            assert low <= Decimal(str(exact)) <= high and high - Decimal(str(exact)) == abs(Decimal(str(exact))) / 100
            text = it.find("{*}presentation/{*}material/{*}mattext").text
            assert text.count("<li>") == 1 and rf"\partial {name[0]}" in text.replace("{", " ").replace("}", " ")
    meta = ET.fromstring(zipfile.ZipFile(both / "qti.zip").read(next(iter(files)).rsplit("/", 1)[0]
                                                                     + "/assessment_meta.xml"))
    assert meta.find("{*}points_possible").text == f"{len(wrt)}.0"
    schema = manifest.find("{*}metadata")
    assert [(c.tag.split("}")[1], c.text) for c in schema] == [("schema", "IMS Content"), ("schemaversion", "1.1.3")]


def test_qti_and_moodle_in_one_run_ask_the_same(both) -> None:
    root = ET.parse(both / "moodle.xml").getroot()
    questions = root.findall("question[@type='cloze']")
    _, files = assessment_files((both / "qti.zip").read_bytes())
    values = [v.text for v in ET.fromstring(next(iter(files.values()))).iter(
        "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}varequal")]
    blanks = [b for q in questions for b in moodle_blanks(q.find("questiontext/text").text)]
    wrt = len(solve(W).derivation.wrt)
    by_group = [values[g * 5 + v] for v in range(5) for g in range(wrt)]  # a group holds every variant
    assert [b["answers"][0]["answer"] for b in blanks] == by_group


def test_every_qti_file_validates_against_the_ims_schema(both, tmp_path) -> None:
    _, files = assessment_files((both / "qti.zip").read_bytes())
    assert files
    for name, text in files.items():
        SCHEMA.validate(text.decode("utf-8"))
        broken = ET.fromstring(text)
        for element in broken.iter("{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}item"):
            del element.attrib["ident"]  # the schema requires it: the check can fail
        assert not SCHEMA.is_valid(ET.tostring(broken, encoding="unicode")), name


def test_ask_chooses_the_groups(tmp_path) -> None:
    out = tmp_path / "a"
    proc = run_cli("variants", str(W), "-n", "3", "--seed", "9", "-o", str(out), "--qti", "--ask", "w1,A1",
                   "--format", "md", timeout=120)
    assert proc.returncode == 0, proc.stderr
    _, files = assessment_files((out / "qti.zip").read_bytes())
    groups = ET.fromstring(next(iter(files.values()))).findall("{*}assessment/{*}section/{*}section")
    assert [g.get("title").split(" ")[0] for g in groups] == ["∂L/∂w1", "∂L/∂A1"]
    assert all(len(g.findall("{*}item")) == 3 for g in groups)


# -- --scale and the warnings ------------------------------------------------------------------------
TINY = """\
title: Small gradients
given: {x: 1, w: 2}
nodes:
  z: w*x/100000
  L: z**2
random:
  x: {integers: [1, 3]}
  w: {integers: [1, 3]}
"""


def test_small_answers_warn_for_canvas_and_scale_fixes_them(tmp_path) -> None:
    ws = tmp_path / "tiny.yaml"
    ws.write_text(TINY)
    proc = run_cli("variants", str(ws), "-n", "4", "--seed", "1", "-o", str(tmp_path / "a"), "--qti", "--format", "md")
    assert proc.returncode == 0
    (line,) = [x for x in proc.stderr.splitlines() if "Canvas" in x]
    assert line.startswith(f"symbackprop: {ws}: warning: ") and "--scale 1000" in line and "require:" in line
    assert "∂L/∂w in 4 of 4" in line and "∂L/∂x in 4 of 4" in line
    proc = run_cli("variants", str(ws), "-n", "4", "--seed", "1", "-o", str(tmp_path / "b"), "--qti", "--moodle",
                   "--scale", "1e6", "--format", "md")
    assert proc.returncode == 0 and "Canvas" not in proc.stderr, proc.stderr
    data = json.loads((tmp_path / "b" / "answers.json").read_text())["variants"]
    _, files = assessment_files((tmp_path / "b" / "qti.zip").read_bytes())
    group = ET.fromstring(next(iter(files.values()))).find("{*}assessment/{*}section/{*}section")
    assert group.get("title").startswith("1000000·∂L/∂x")
    for it, entry in zip(group.findall("{*}item"), data):
        value = 10**6 * sp.Rational(entry["gradients"]["x"])
        assert rounded_right(it.find(".//{*}varequal").text, value, 10)
        assert r"1000000 \cdot \frac" in it.find("{*}presentation/{*}material/{*}mattext").text
    quiz = ET.parse(tmp_path / "b" / "moodle.xml").getroot().findall("question[@type='cloze']")
    for q, entry in zip(quiz, data):
        first = moodle_blanks(q.find("questiontext/text").text)[0]["answers"][0]
        value = 10**6 * sp.Rational(entry["gradients"]["x"])
        assert rounded_right(first["answer"], value, 10) and Decimal(first["tolerance"]) == abs(Decimal(first["answer"])) / 100


def test_exact_zero_answers_warn_for_any_lms(both) -> None:
    data = json.loads((both / "answers.json").read_text())["variants"]
    zeros = {n: sum(v["gradients"][n] == "0" for v in data) for n in data[0]["gradients"]}
    assert any(zeros.values())
    (line,) = [x for x in (both / "stderr.txt").read_text().splitlines() if "exact 0" in x]
    assert line.startswith(f"symbackprop: {W}: warning: ") and "grad(" in line
    for name, count in zeros.items():
        assert (f"∂L/∂{name} in {count} of 5" in line) == bool(count)


# -- Moodle: 1,000 variants read back by Moodle's parser --------------------------------------------
DECIMALS_SHEET = solve(DECIMALS).sheet  # what each gradient is called: the same in every variant


def blanks_of(v: Variant) -> tuple[str, ...]:
    """A variant's Cloze blanks (the job of the run below)."""
    return tuple(moodle.cloze(a) for a in numbers(v, DECIMALS_SHEET, v.derivation.wrt, TOLERANCE))


def _sympy_gradients() -> tuple[tuple[sp.Symbol, ...], list[sp.Expr]]:
    """The gradients of DECIMALS by sympy.diff, in its order (x, w, b, t, z, h), as expressions of
    the given numbers."""
    given = X, Wt, B, Tt = sp.symbols("x w b t")
    Z, H = sp.symbols("z h")
    z = Wt * X + B
    h = z / (1 + Wt**2)
    loss = (h - Tt) ** 2 / 3
    return given, [sp.diff(loss, s) for s in given] + [
        sp.diff((Z / (1 + Wt**2) - Tt) ** 2 / 3, Z).subs(Z, z), sp.diff((H - Tt) ** 2 / 3, H).subs(H, h)]


GIVEN, GRADIENTS = _sympy_gradients()


def test_a_thousand_variants_parse_as_moodle_reads_them() -> None:
    p = plan(loads(DECIMALS), 3)
    result = run(p, [str(i) for i in range(1, 1001)], blanks_of, jobs=2)
    assert [d.name for d in p.worksheet.random] == ["x", "w", "b", "t"]
    seen = 0
    for values, blanks in zip(result.values, result.results):
        parsed = moodle_blanks("<p>\\(\\frac{\\partial L}{\\partial x}\\)</p> ".join(blanks))
        assert len(parsed) == len(blanks) == 6
        for sub, value in zip(parsed, (g.subs(dict(zip(GIVEN, values))) for g in GRADIENTS)):
            right, anything = sub["answers"]
            assert sub["numerical"] and sub["mark"] == "1" and right["fraction"] == "=" and anything["answer"] == "*"
            assert rounded_right(right["answer"], value, 10)
            assert rounded_right(right["tolerance"], abs(value) / 100, 3)
            assert right["feedback"] == anything["feedback"] and right["feedback"].startswith("\\(\\frac{\\partial L}")
            seen += 1
    assert seen == 6000


def test_huge_and_tiny_numbers_keep_moodles_number_syntax() -> None:
    for value in (sp.Integer(10) ** 30, sp.Rational(1, 10**30), sp.Rational(-10**25, 7), -sp.exp(-40), sp.Rational(5, 2)):
        a = make_asked(value)
        (sub,) = moodle_blanks(moodle.cloze(a))
        right = sub["answers"][0]
        assert "+" not in right["answer"] and rounded_right(right["answer"], value, 10)
        assert Decimal(right["tolerance"]) == Decimal(a.tolerance) and Decimal(a.low) < Decimal(a.high)


def make_asked(value: sp.Expr, latex: str | None = None) -> Asked:
    """The Asked of a one-gradient worksheet whose gradient is ``value``."""
    ws = loads(f"given: {{w: 1}}\nnodes: {{L: w*({sp.sstr(value)})}}\n")
    s = solve(ws)
    (a,) = numbers(Variant("1", (), ws, s.derivation), s.sheet, ("w",), TOLERANCE)
    return a if latex is None else Asked(**{**a.__dict__, "latex": latex})


def test_cloze_feedback_escapes_braces_hashes_and_tildes() -> None:
    a = make_asked(sp.Rational(1, 3), latex=r"\frac{1}{3} \# x~y")
    (sub,) = moodle_blanks(moodle.cloze(a))
    right, anything = sub["answers"]
    assert len(sub["answers"]) == 2 and right["answer"] == "0.3333333333" and anything["answer"] == "*"
    # Moodle unescapes \} and \# (a \~ stays as written: it only must not end the feedback)
    assert right["feedback"] == anything["feedback"] == r"\(\frac{\partial L}{\partial w} = \frac{1}{3} \# x\~y\)"


def test_question_text_cannot_open_a_blank_of_its_own() -> None:
    a = make_asked(sp.Integer(2))
    a = Asked(**{**a.__dict__, "blank": moodle.cloze(a)})
    it = Item("1", "t", "<p>see {1:SHORTANSWER:=x} and {2:MC:a~=b}</p> " + a.blank, "", (a,), "")
    (sub,) = moodle_blanks(moodle.question_text(it))
    assert sub["numerical"] and sub["answers"][0]["answer"] == "2"


# -- matrix gradients, entry by entry ------------------------------------------------------------------
def torch_gradients() -> dict[str, torch.Tensor]:
    """∂J/∂W1 and ∂J/∂V of worksheets/003_relu_matrix.yaml by autograd (J = mse = Σ (T − Z)² / 2N)."""
    X = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    W1 = torch.tensor([[1.0, -1.0], [0.0, 1.0]], dtype=torch.float64, requires_grad=True)
    V = torch.tensor([[1.0], [2.0]], dtype=torch.float64, requires_grad=True)
    T = torch.tensor([[2.0]], dtype=torch.float64)
    Z = torch.relu(X @ W1) @ V
    J = ((T - Z) ** 2).sum() / (2 * X.shape[0])
    J.backward()
    return {"W1": W1.grad, "V": V.grad}


def test_a_matrix_gradient_is_asked_entry_by_entry() -> None:
    s = solve(MATRIX)
    v = Variant("1", (), s.derivation.worksheet, s.derivation)
    it = item(v, s.sheet, ("W1", "V"), TOLERANCE, moodle.cloze, single=True)
    grads = torch_gradients()
    expected = [(f"{n}[{i + 1},{j + 1}]", float(g[i, j])) for n, g in grads.items()
                for i in range(g.shape[0]) for j in range(g.shape[1])]
    assert [a.name for a in it.asked] == [n for n, _ in expected]
    assert [float(a.value) for a in it.asked] == [x for _, x in expected]
    assert [a.label for a in it.asked][1] == "∂J/∂W1[1,2]" and len(it.questions) == 6
    assert r"\frac{\partial J}{\partial W_{1}}[1,2]" in it.questions[1]
    quiz = ET.fromstring(moodle.quiz("m", [it]))
    parsed = moodle_blanks(quiz.find("question[@type='cloze']/questiontext/text").text)
    assert [float(b["answers"][0]["answer"]) for b in parsed] == [x for _, x in expected]
    manifest, files = assessment_files(qti.package("m", "key", [it]))
    (text,) = files.values()
    SCHEMA.validate(text.decode("utf-8"))
    groups = ET.fromstring(text).findall("{*}assessment/{*}section/{*}section")
    assert [g.get("title").split(" ")[0] for g in groups] == [f"∂J/∂{n}" for n, _ in expected]
    assert [float(g.find(".//{*}varequal").text) for g in groups] == [x for _, x in expected]
