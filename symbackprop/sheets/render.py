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


# Unicode that pdflatex does not read by itself, written as LaTeX; Greek letters come by name.
_TEX_UNICODE = {
    "∂": r"\partial", "·": r"\cdot", "×": r"\times", "→": r"\to", "←": r"\leftarrow", "≈": r"\approx",
    "≤": r"\le", "≥": r"\ge", "≠": r"\ne", "±": r"\pm", "∑": r"\sum", "√": r"\surd", "∞": r"\infty",
    "∇": r"\nabla", "ᵀ": r"^{T}", "✓": r"\checkmark", "✗": r"\times", "−": "-", "′": "'",
}
# Greek capitals without a command of their own are the Latin letters they look like.
_GREEK_CAPITALS = {"GAMMA": r"\Gamma", "DELTA": r"\Delta", "THETA": r"\Theta", "LAMDA": r"\Lambda",
                   "XI": r"\Xi", "PI": r"\Pi", "SIGMA": r"\Sigma", "UPSILON": r"\Upsilon", "PHI": r"\Phi",
                   "PSI": r"\Psi", "OMEGA": r"\Omega", "ALPHA": "A", "BETA": "B", "EPSILON": "E", "ZETA": "Z",
                   "ETA": "H", "IOTA": "I", "KAPPA": "K", "MU": "M", "NU": "N", "OMICRON": "O", "RHO": "P",
                   "TAU": "T", "CHI": "X"}


@functools.lru_cache(maxsize=1024)
def _tex_char(c: str) -> str:
    """One character outside what pdflatex reads as text (ASCII, Latin-1, Latin Extended-A)."""
    name = unicodedata.name(c, "")
    letter = name.rsplit(" ", 1)[-1]
    if c in _TEX_UNICODE:
        tex = _TEX_UNICODE[c]
    elif name.startswith("GREEK SMALL LETTER ") and " " not in name[19:]:
        tex = "\\" + letter.lower().replace("lamda", "lambda")
    elif name.startswith("GREEK CAPITAL LETTER ") and letter in _GREEK_CAPITALS:
        tex = _GREEK_CAPITALS[letter]
    else:
        return f"[U+{ord(c):04X}]"
    return tex if tex.isalpha() else "\\ensuremath{" + tex + "}"


_TEX_TEXT_RE = re.compile("[^\x00-\u017f]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def tex_escape(text: str) -> str:
    """Plain text for LaTeX: every special character made literal, so no command can run, and
    characters pdflatex cannot read written as LaTeX (λ, ∂) or as their code ([U+65E5])."""
    text = _TEX_RE.sub(lambda m: _TEX_SPECIALS[m.group(0)], str(text))
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
