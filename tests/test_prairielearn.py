"""The PrairieLearn question of ``variants --prairielearn``: its info.json against the fields of
PrairieLearn's question schema, its server.py run as PrairieLearn runs it (``generate(data)``,
standard library only), its question.html rendered with chevron (the Mustache PrairieLearn uses),
and every graded number checked against answers.json and against sympy.diff of the network."""
from __future__ import annotations

import ast
import functools
import importlib.util
import json
import re
import sys
from dataclasses import MISSING, fields
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType

import chevron
import pytest
import sympy as sp

from support.cli import run_cli
from support.paths import WORKSHEETS
from symbackprop.classroom import prairielearn
from symbackprop.classroom.folder import Request, write
from symbackprop.classroom.lms import Asked, Item
from symbackprop.classroom.roster import numbered
from symbackprop.classroom.variants import plan
from symbackprop.errors import SymbackpropError
from symbackprop.worksheet.read import load, loads

W = WORKSHEETS / "001_linear_network_random.yaml"
N = 20
SEED = 2024
QID = "001_linear_network_random_seed2024"
PERCENT = sp.Rational(1, 100)  # the default tolerance

# PrairieLearn's infoQuestion.json (apps/prairielearn/src/schemas/schemas/infoQuestion.json in
# PrairieLearn/PrairieLearn, AGPL, so not copied here): "required": ["uuid", "type", "title", "topic"],
# "additionalProperties": false; these are the properties it allows that a question of ours may
# use, with their JSON types, and the uuid's pattern.
REQUIRED = {"uuid", "type", "title", "topic"}
ALLOWED = {"uuid": str, "type": str, "title": str, "topic": str, "tags": list, "comment": str,
           "singleVariant": bool, "showCorrectAnswer": bool, "partialCredit": bool}
TYPES = {"Calculation", "MultipleChoice", "Checkbox", "File", "MultipleTrueFalse", "v3"}
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# The attributes of pl-number-input (PrairieLearn's docs/elements/pl-number-input.md) we may write.
NUMBER_INPUT = {"answers-name", "label", "comparison", "rtol", "atol", "display", "weight"}


def build(out: Path, seed: int = SEED, n: int = N, tolerance: sp.Rational = PERCENT,
          source: Path | str = W) -> Path:
    """A class written by the library into ``out``; its question folder."""
    ws = load(source) if isinstance(source, Path) else loads(source)
    write(plan(ws, seed), numbered(n), True, Request(formats=("md",), prairielearn=True, tolerance=tolerance), out,
          jobs=1)
    (question,) = (out / "prairielearn").iterdir()
    return question


@pytest.fixture(scope="module")
def question(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("pl") / "class")


@functools.cache
def server(question: Path) -> ModuleType:
    """The question's server.py, imported from its file as PrairieLearn loads it (once a folder)."""
    spec = importlib.util.spec_from_file_location(f"pl_server_{id(question)}", question / "server.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generate(question: Path, variant_seed: int) -> dict:
    """``data`` after ``generate``, as PrairieLearn sets it up for a new variant."""
    data = {"params": {}, "correct_answers": {}, "variant_seed": variant_seed,
            "options": {"question_path": str(question)}}
    server(question).generate(data)
    return data


class Inputs(HTMLParser):
    """The attributes of every pl-number-input of an HTML text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.found: list[dict[str, str]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "pl-number-input":
            self.found.append(dict(attrs))


def oracle(given: dict[str, str]) -> dict[str, float]:
    """Every gradient of worksheets/001_linear_network_random.yaml by sympy.diff at the given
    numbers, its network written here by hand: a unit's gradient is the derivative of the loss
    written down to that unit."""
    x = {name: sp.Symbol(name) for name in given}
    B1, B2, C1, C2, D = units = sp.symbols("B1 B2 C1 C2 D")
    defs = {B1: x["w1"] * x["A1"] + x["w2"] * x["A2"], B2: x["w3"] * x["A1"] + x["w4"] * x["A2"],
            C1: x["w5"] * B1 + x["w6"] * B2, C2: x["w7"] * B1 + x["w8"] * B2, D: x["w9"] * C1 + x["w10"] * C2}
    loss = (D - x["t"]) ** 2

    def down_to(expr: sp.Expr, kept: sp.Symbol | None) -> sp.Expr:
        for unit in (D, C1, C2, B1, B2):
            if unit != kept:
                expr = expr.subs(unit, defs[unit])
        return expr

    at = {x[name]: sp.Rational(value) for name, value in given.items()}
    grads = {name: sp.diff(down_to(loss, None), leaf).subs(at) for name, leaf in x.items()}
    for unit in units:
        grads[str(unit)] = sp.diff(down_to(loss, unit), unit).subs({unit: down_to(unit, None).subs(at)} | at)
    return {name: float(g) for name, g in grads.items()}


# -- the folder ------------------------------------------------------------------------------------
def test_the_question_folder(question) -> None:
    assert question.name == QID
    assert sorted(p.name for p in question.iterdir()) == ["info.json", "question.html", "server.py", "variants.json"]
    for path in question.iterdir():
        assert path.read_bytes().endswith(b"\n") and b"\r" not in path.read_bytes()


def test_info_json_has_the_schema_fields(question) -> None:
    info = json.loads((question / "info.json").read_text(encoding="utf-8"))
    assert REQUIRED <= set(info) <= set(ALLOWED)
    assert all(isinstance(info[key], ALLOWED[key]) for key in info)
    assert info["type"] == "v3" and info["type"] in TYPES and UUID.match(info["uuid"])
    assert all(isinstance(tag, str) for tag in info["tags"]) and "seed2024" in info["tags"]
    assert info["title"] == f"{load(W).title} (seed {SEED})" and info["topic"] == "Backpropagation"


def test_uuid_is_stable_and_depends_on_the_seed(question, tmp_path) -> None:
    again = build(tmp_path / "again", n=3)
    other = build(tmp_path / "other", seed=SEED + 1, n=3)
    first = json.loads((question / "info.json").read_text())["uuid"]
    assert json.loads((again / "info.json").read_text())["uuid"] == first
    assert json.loads((other / "info.json").read_text())["uuid"] != first
    assert other.name == "001_linear_network_random_seed2025"


def test_the_same_class_gives_the_same_bytes(tmp_path) -> None:
    one, two = build(tmp_path / "one", n=3), build(tmp_path / "two", n=3)
    assert {p.name: p.read_bytes() for p in one.iterdir()} == {p.name: p.read_bytes() for p in two.iterdir()}


# -- server.py ---------------------------------------------------------------------------------------
def test_server_uses_only_the_standard_library_and_is_the_same_file(question) -> None:
    tree = ast.parse((question / "server.py").read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert imported and imported <= sys.stdlib_module_names
    assert (question / "server.py").read_bytes() == prairielearn.SERVER.read_bytes()


def test_generate_serves_every_variant_with_its_answers(question) -> None:
    key = json.loads((question.parent.parent / "answers.json").read_text(encoding="utf-8"))
    entries = {v["id"]: v for v in key["variants"]}
    ids = [v["id"] for v in key["variants"]]
    asked = list(key["variants"][0]["gradients"])
    served = []
    for variant_seed in range(201):
        data = generate(question, variant_seed)
        params, answers = data["params"], data["correct_answers"]
        entry = entries[params["variant"]]
        served.append(params["variant"])
        assert params["variant"] == ids[variant_seed % N]
        assert params["given"] == entry["given"]
        assert set(answers) == {f"dL_d{name}" for name in asked}
        assert all(type(v) is float for v in answers.values())
        for name in asked:
            assert answers[f"dL_d{name}"] == pytest.approx(float(sp.Rational(entry["gradients"][name])), rel=1e-9)
        if variant_seed < N:  # each variant once against sympy.diff of the network
            expected = oracle(params["given"])
            assert {k: answers[f"dL_d{k}"] for k in asked} == pytest.approx({k: expected[k] for k in asked}, rel=1e-9)
    assert set(served) == set(ids) and served[:N] == ids


def test_rendered_question_has_the_exercise_inputs_and_solution(question) -> None:
    template = (question / "question.html").read_text(encoding="utf-8")
    ws = load(W)
    asked = list(json.loads((question.parent.parent / "answers.json").read_text())["variants"][0]["gradients"])
    for variant_seed in (0, 7, N + 3):
        data = generate(question, variant_seed)
        html = chevron.render(template, data)
        assert "{{" not in html and "}}}" not in html
        assert html.count("<pl-question-panel>") == 1 and html.count("<pl-answer-panel>") == 1
        question_panel = html[html.index("<pl-question-panel>"):html.index("</pl-question-panel>")]
        assert ws.description.split(",")[0] in question_panel
        for name, value in data["params"]["given"].items():
            latex = re.sub(r"^([A-Za-z]+)(\d+)$", r"\1_{\2}", name)
            assert f"{latex} = {value}" in question_panel
        answer_panel = html[html.index("<pl-answer-panel>"):html.index("</pl-answer-panel>")]
        assert data["params"]["solution"] in answer_panel and "Backward pass" in answer_panel
        inputs = Inputs(html).found
        assert [a["answers-name"] for a in inputs] == [f"dL_d{name}" for name in asked]
        assert set(data["correct_answers"]) == {a["answers-name"] for a in inputs}
        for a, name in zip(inputs, asked):
            assert set(a) <= NUMBER_INPUT
            assert a["rtol"] == "0.01" and float(a["rtol"]) == float(PERCENT) and a["atol"] == "0"
            assert a["comparison"] == "relabs"
            latex = re.sub(r"^([A-Za-z]+)(\d+)$", r"\1_{\2}", name)
            assert a["label"] == rf"\(\frac{{\partial L}}{{\partial {latex}}} =\)"


def test_tolerance_becomes_rtol(tmp_path) -> None:
    question = build(tmp_path / "c", n=2, tolerance=sp.Rational(1, 200))
    inputs = Inputs((question / "question.html").read_text(encoding="utf-8")).found
    assert inputs and {a["rtol"] for a in inputs} == {"0.005"}


def test_worksheet_text_stays_text(tmp_path) -> None:
    source = ("title: Price & {{params.variant}}\ndescription: It costs $5 and $3 <b>{{{params.solution}}}</b>\n"
              "given: {x: 1, w: 2}\nnodes: {L: (w*x - 1)**2}\nrandom:\n  x: {integers: [1, 3]}\n  w: {integers: [2, 4]}\n")
    question = build(tmp_path / "c", n=3, source=source)
    data = generate(question, 1)
    html = chevron.render((question / "question.html").read_text(encoding="utf-8"), data)
    assert r"It costs \$5 and \$3 &lt;b&gt;{{{params.solution}}}&lt;/b&gt;" in html
    assert "<b>" not in html
    info = json.loads((question / "info.json").read_text(encoding="utf-8"))
    assert info["title"].startswith("Price & {{params.variant}}")
    assert question.name == "worksheet_seed2024"


# -- names and errors ------------------------------------------------------------------------------
def test_answer_names_are_safe_and_distinct() -> None:
    names = prairielearn.answer_names("L", ("W1[1,2]", "W1_1_2", "W1_1_2_2", "b"))
    assert names == {"W1[1,2]": "dL_dW1_1_2", "W1_1_2": "dL_dW1_1_2_2", "W1_1_2_2": "dL_dW1_1_2_2_2", "b": "dL_db"}
    assert all(re.fullmatch(r"\w+", key, re.ASCII) for key in names.values())


def test_qid_rule() -> None:
    assert prairielearn.qid("worksheets/001_linear_network_random.yaml", 2024) == QID
    assert prairielearn.qid("my class (v2).yaml", -3) == "my_class_v2_seedm3"
    assert prairielearn.question_uuid("a/x.yaml", 1) == prairielearn.question_uuid("b/x.yaml", 1)


def asked(name: str, value: str) -> Asked:
    """An asked number with every text field ``value``, whatever fields Asked has."""
    return Asked(**{f.name: value for f in fields(Asked) if f.default is MISSING} | {"name": name, "quantity": name})


def item(key: str, *names: str) -> Item:
    return Item(key, "t", "<p>q</p>", "<p>s</p>", tuple(asked(n, "1") for n in names), "<p>q</p>")


def test_variants_must_ask_the_same_and_match_answers_json(tmp_path) -> None:
    ws = loads("given: {x: 1}\nnodes: {L: x**2}\n")
    given = {"1": {"x": "1"}, "2": {"x": "2"}}
    with pytest.raises(SymbackpropError, match="ask different gradients"):
        prairielearn.write(tmp_path / "a", ws, 1, [item("1", "x"), item("2", "x", "y")], given, PERCENT)
    with pytest.raises(SymbackpropError, match="does not list the variants"):
        prairielearn.write(tmp_path / "b", ws, 1, [item("1", "x"), item("3", "x")], given, PERCENT)


# -- the command -----------------------------------------------------------------------------------
def test_cli_writes_the_question(tmp_path) -> None:
    out = tmp_path / "class"
    proc = run_cli("variants", str(W), "-n", "4", "--seed", "5", "-o", str(out), "--prairielearn", "--tolerance", "2",
                   "--ask", "A1,D")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    question = out / "prairielearn" / "001_linear_network_random_seed5"
    assert json.loads((question / "info.json").read_text())["uuid"] == prairielearn.question_uuid(str(W), 5)
    assert len(json.loads((question / "variants.json").read_text())["variants"]) == 4
    inputs = Inputs((question / "question.html").read_text()).found
    assert [(a["answers-name"], a["rtol"]) for a in inputs] == [("dL_dA1", "0.02"), ("dL_dD", "0.02")]
    assert set(generate(question, 3)["correct_answers"]) == {"dL_dA1", "dL_dD"}
