"""The ``server.py`` of every PrairieLearn question that ``symbackprop variants --prairielearn``
writes, copied there byte for byte (symbackprop never imports it).

It runs on PrairieLearn's server, which has only the standard library, so it computes nothing:
``generate`` picks one of the class's precomputed variants in ``variants.json`` beside it by
PrairieLearn's variant seed (modulo their number) and hands PrairieLearn its HTML, its given
numbers and its answers.
"""
import json
import os


def generate(data: dict) -> None:
    """Variant ``variant_seed mod N``: its exercise and worked solution (HTML), id and given numbers
    as params, and each asked gradient as a float under its answers-name."""
    with open(os.path.join(data["options"]["question_path"], "variants.json"), encoding="utf-8") as fh:
        variants = json.load(fh)["variants"]
    variant = variants[int(data["variant_seed"]) % len(variants)]
    data["params"]["variant"] = variant["id"]
    data["params"]["question"] = variant["question"]
    data["params"]["solution"] = variant["solution"]
    data["params"]["given"] = variant["given"]
    for name, value in variant["answers"].items():
        data["correct_answers"][name] = float(value)
