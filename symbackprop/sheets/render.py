"""The Jinja2 environment: the user's template folder first, then the built-in templates.

StrictUndefined makes a missing variable an error; user text is escaped by the ``tex``,
``md`` and ``mdcell`` filters (Jinja2's ``e`` in HTML), never trusted.
"""
from __future__ import annotations

import functools
import html
import re
import unicodedata
from pathlib import Path

import jinja2

from ..errors import SymbackpropError
from .model import Sheet

_TEX_SPECIALS = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
    "%": r"\%", "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}",
}
_TEX_RE = re.compile("|".join(re.escape(k) for k in _TEX_SPECIALS))
_MD_RE = re.compile(r"([\\`*_\[\]#|$~])")


# What LaTeX's UTF-8 input reads as text with T1 fonts (lmodern): Latin-1 and most of Latin
# Extended-A and -B, dashes, curly quotes, …, €, ™, ←, →. These stay the characters they are; the
# list is the kernel's utf8 definitions (t1enc.dfu, ts1enc.dfu, ot1enc.dfu, omsenc.dfu) that
# compile with pdflatex and lmodern, each one tried (TeX Live 2022).
_TEX_NATIVE = re.compile(
    "[\u00a0-\u0125\u0128-\u0137\u0139-\u013e\u0141-\u0148\u014a-\u0165\u0168-\u017e\u0192\u01c4-\u01d4"
    "\u01e2\u01e3\u01e6-\u01eb\u01f0\u01f4\u01f5\u0218-\u021b\u0232\u0233\u0237\u02c6\u02c7\u02d8\u02d9"
    "\u02db-\u02dd\u0e3f\u1e02\u1e03\u1e0d\u1e1e-\u1e21\u1e25\u1e30\u1e31\u1e37\u1e43\u1e45\u1e47\u1e5b"
    "\u1e63\u1e6d\u1e8e-\u1e91\u1e9e\u1ef2\u1ef3\u2010-\u2016\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026"
    "\u2030\u2031\u2039-\u203b\u203d\u2044\u204e\u2052\u20a1\u20a4\u20a6\u20a9\u20ab\u20ac\u20b1\u2103"
    "\u2116\u2117\u211e\u2120\u2122\u2126\u2127\u212e\u2190-\u2193\u2329\u232a\u2422\u2423\u25e6\u25ef"
    "\u266a\u27e8\u27e9\u3008\u3009\ufb00-\ufb06]")
# Math symbols LaTeX has as commands; Greek letters come by name.
_TEX_UNICODE = {
    "∂": r"\partial", "≈": r"\approx", "≤": r"\le", "≥": r"\ge", "≠": r"\ne", "≡": r"\equiv", "∼": r"\sim",
    "∝": r"\propto", "∑": r"\sum", "∏": r"\prod", "∫": r"\int", "√": r"\surd", "∞": r"\infty", "∇": r"\nabla",
    "∈": r"\in", "∉": r"\notin", "∀": r"\forall", "∃": r"\exists", "∅": r"\emptyset", "∘": r"\circ",
    "⊙": r"\odot", "⊗": r"\otimes", "⊕": r"\oplus", "⊂": r"\subset", "⊆": r"\subseteq", "∪": r"\cup",
    "∩": r"\cap", "∧": r"\wedge", "∨": r"\vee", "⋅": r"\cdot", "∗": r"\ast", "∥": r"\parallel",
    "⊥": r"\perp", "⇒": r"\Rightarrow", "⇐": r"\Leftarrow", "⇔": r"\Leftrightarrow", "↔": r"\leftrightarrow",
    "↦": r"\mapsto", "⋯": r"\cdots", "⋮": r"\vdots", "ℝ": r"\mathbb{R}", "ℕ": r"\mathbb{N}",
    "ℤ": r"\mathbb{Z}", "ℚ": r"\mathbb{Q}", "ℂ": r"\mathbb{C}", "ℓ": r"\ell", "ϵ": r"\epsilon",
    "ϑ": r"\vartheta", "ϕ": r"\phi", "ϱ": r"\varrho", "ς": r"\varsigma", "ϖ": r"\varpi", "∆": r"\Delta",
    "ᵀ": r"^{T}", "✓": r"\checkmark", "✗": r"\times", "−": "-", "′": "'", "″": "''",
}
# Greek capitals without a command of their own are the Latin letters they look like.
_GREEK_CAPITALS = {"GAMMA": r"\Gamma", "DELTA": r"\Delta", "THETA": r"\Theta", "LAMDA": r"\Lambda",
                   "XI": r"\Xi", "PI": r"\Pi", "SIGMA": r"\Sigma", "UPSILON": r"\Upsilon", "PHI": r"\Phi",
                   "PSI": r"\Psi", "OMEGA": r"\Omega", "ALPHA": "A", "BETA": "B", "EPSILON": "E", "ZETA": "Z",
                   "ETA": "H", "IOTA": "I", "KAPPA": "K", "MU": "M", "NU": "N", "OMICRON": "O", "RHO": "P",
                   "TAU": "T", "CHI": "X"}
# Combining accents as LaTeX's text accents, for a Latin letter LaTeX has no character of (ế, ǹ, x̄).
_TEX_ACCENTS = {"\u0300": "`", "\u0301": "'", "\u0302": "^", "\u0303": "~", "\u0304": "=", "\u0306": "u",
                "\u0307": ".", "\u0308": '"', "\u030a": "r", "\u030b": "H", "\u030c": "v", "\u0323": "d",
                "\u0327": "c", "\u0328": "k", "\u0331": "b"}
_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹₀₁₂₃₄₅₆₇₈₉", "01234567890123456789")


@functools.lru_cache(maxsize=1024)
def _tex_char(cluster: str) -> str:
    """One character (with the accents combined with it) outside ASCII: itself where LaTeX reads it,
    else LaTeX for it, else its code point (``[U+1F600]``), visible rather than a failed compile."""
    if _TEX_NATIVE.fullmatch(cluster):
        return cluster
    if len(cluster) == 1:
        tex = _math_char(cluster)
        if tex:
            return tex if tex.isalpha() else "\\ensuremath{" + tex + "}"
    base, *marks = unicodedata.normalize("NFD", cluster)
    if marks and base.isascii() and base.isalpha() and all(m in _TEX_ACCENTS for m in marks):
        tex = base
        for mark in marks:
            tex = "\\" + _TEX_ACCENTS[mark] + "{" + tex + "}"
        return tex
    return "".join(f"[U+{ord(c):04X}]" for c in cluster)


def _math_char(c: str) -> str:
    """A Greek letter, a math symbol or a small digit as math, or ""."""
    name = unicodedata.name(c, "")
    letter = name.rsplit(" ", 1)[-1]
    if c in _TEX_UNICODE:
        return _TEX_UNICODE[c]
    if name.startswith("GREEK SMALL LETTER ") and " " not in name[19:]:
        return "\\" + letter.lower().replace("lamda", "lambda")
    if name.startswith("GREEK CAPITAL LETTER ") and letter in _GREEK_CAPITALS:
        return _GREEK_CAPITALS[letter]
    if name.startswith(("SUPERSCRIPT ", "SUBSCRIPT ")) and c.translate(_DIGITS).isdigit():
        return ("^{" if name.startswith("SUPER") else "_{") + c.translate(_DIGITS) + "}"
    return ""


# A character outside ASCII with the combining accents after it, a letter with combining accents,
# or a control character.
_TEX_TEXT_RE = re.compile("[^\x00-\x7f\u0300-\u036f][\u0300-\u036f]*|[A-Za-z][\u0300-\u036f]+|[\u0300-\u036f]"
                          "|[\x00-\x08\x0b-\x1f\x7f]")


def tex_escape(text: str) -> str:
    """Plain text for LaTeX: every special character made literal, so that no command can run;
    letters, dashes and quotes as themselves, which LaTeX's UTF-8 input reads (Übung, “café” — ß,
    ø, ł), Greek and math symbols as LaTeX (λ, ∂, ≤), and what no standard font has as its code
    point ([U+1F600])."""
    text = _TEX_RE.sub(lambda m: _TEX_SPECIALS[m.group(0)], unicodedata.normalize("NFC", str(text)))
    return _TEX_TEXT_RE.sub(lambda m: _tex_char(m.group(0)), text)


def md_escape(text: str) -> str:
    """Plain text for Markdown: markup characters escaped and HTML made inert."""
    text = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_RE.sub(r"\\\1", text)


def md_cell(tex: str) -> str:
    """Math inside a Markdown table cell: a bare | would end the cell."""
    return tex.replace("|", r"\vert ")


def builtin_templates() -> Path:
    """The templates shipped in the wheel, or the checkout's own ``templates/``."""
    package = Path(__file__).parent.parent
    installed = package / "templates"
    return installed if installed.is_dir() else package.parent / "templates"


def html_math(text: str) -> str:
    """Our own sentences with ``$…$`` math (a sheet's notes) for HTML: text escaped, math as \\( … \\)."""
    parts = str(text).split("$")
    return "".join(html.escape(p, quote=False) if i % 2 == 0 else r"\(" + html.escape(p, quote=False) + r"\)"
                   for i, p in enumerate(parts))


@functools.lru_cache(maxsize=16)
def environment(user_dir: str | Path | None = None) -> jinja2.Environment:
    """The environment of a template folder, made once (Jinja2 reloads a template whose file changed)."""
    search = [str(user_dir)] if user_dir else []
    if user_dir and not Path(user_dir).is_dir():
        raise SymbackpropError("is not a folder of templates", str(user_dir))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(search + [str(builtin_templates())]),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    env.filters.update(tex=tex_escape, md=md_escape, mdcell=md_cell, htmlmath=html_math)
    return env


def render(sheet: Sheet, fmt: str, templates: str | Path | None = None, document: str = "sheet",
           **context: object) -> str:
    """Render a sheet as Markdown or LaTeX through the template ``DOCUMENT.FMT.j2``: the solution
    ``sheet``, the ``exercise`` (the question only) or the ``notebook`` fragment (math only);
    ``context`` adds variables (the LMS templates' ``asked``)."""
    name = f"{document}.{fmt}.j2"
    try:
        return environment(templates).get_template(name).render(sheet=sheet, **context)
    except jinja2.TemplateError as exc:
        place = getattr(exc, "filename", None) or name
        raise SymbackpropError(f"template error: {exc.message}", place, getattr(exc, "lineno", None)) from None
