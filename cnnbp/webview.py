"""How a view of :mod:`cnnbp.widgets` reaches a page.

One view is one HTML fragment (:meth:`View.to_html`)::

    <div class="cnnbp-view" id="ID" data-kind="KIND">
      a static picture of the first step
    </div>
    <style data-cnnbp-views="VERSION">  cnnbp/web/views.css  </style>
    <script data-cnnbp-views="VERSION"> cnnbp/web/view_indexmap.js
                                        cnnbp/web/views.js     </script>
    <script>window.cnnbpViews.render("ID", DATA)</script>

- **The static picture** (HTML tables with inline styles) is what a
  reader sees wherever scripts do not run: printing a page whose scripts
  never ran, GitHub's notebook view, an untrusted notebook in JupyterLab
  (which strips scripts from untrusted HTML). The renderer replaces it.
- **The renderer** travels inline, so a notebook output works on its own
  (JupyterLab has no static folder). It defines ``window.cnnbpViews``
  once per ``VERSION`` (a hash of the three files), so a page holding
  many views runs it once. In the book, the Sphinx extension
  ``book/_ext/cnnbp_views.py`` lifts these inline blocks into one static
  file per site: a page then carries only each view's ``DATA``.
- **DATA** is JSON: the view's kind, its setting controls and the
  chapter's presets with cnnbp's numbers. The JavaScript twin of
  :mod:`cnnbp.indexmap` (``view_indexmap.js``) computes every other
  setting; the browser tests compare it with cnnbp over the whole range
  of the controls.

Element ids are derived from a hash of the data (no random ids), so
re-executed notebooks store identical outputs.
"""
import collections
import functools
import hashlib
import html
import json
from importlib import resources

__all__ = ["View", "assets", "PALETTE", "static_html"]

#: Okabe-Ito colour-blind safe palette, by highlight role (views.css and
#: the figures of :mod:`cnnbp.figures` use the same colours).
PALETTE = {
    "in": "#E69F00",    # orange: input cells in play
    "f": "#56B4E9",     # sky blue: filter cells
    "out": "#009E73",   # bluish green: output cell(s)
    "g": "#CC79A7",     # reddish purple: upstream gradient dL/dO
    "cur": "#D55E00",   # vermillion: the selected cell
    "win": "#0072B2",   # blue: max-pool winner
    "tie": "#F0E442",   # yellow: tied for the maximum, did not win
}

_JS_FILES = ("view_indexmap.js", "views.js")
_CSS_FILE = "views.css"
_ID_COUNTS = collections.Counter()


@functools.cache
def assets():
    """The renderer's JavaScript, its stylesheet and their version.

    Returns
    -------
    js : str
        ``view_indexmap.js`` then ``views.js``, from ``cnnbp/web``.
    css : str
        ``views.css``.
    version : str
        12 hex digits of the SHA-1 of both: the renderer runs once per
        page and version.

    Raises
    ------
    ValueError
        If a file holds text that would end an inline ``<script>`` or
        ``<style>`` element early.
    """
    web = resources.files("cnnbp") / "web"
    js = "\n".join((web / name).read_text(encoding="utf-8")
                   for name in _JS_FILES)
    css = (web / _CSS_FILE).read_text(encoding="utf-8")
    for name, text, tag in [("JavaScript", js, "</script"),
                            ("CSS", css, "</style")]:
        if tag in text.lower() or "<!--" in text:
            raise ValueError(f"the views' {name} holds {tag!r} or '<!--'"
                             " and cannot be inlined")
    version = hashlib.sha1((js + css).encode()).hexdigest()[:12]
    return js, css, version


class View:
    """A view: its data for the renderer and a static first step.

    Parameters
    ----------
    kind : str
        ``"forward"``, ``"channels"``, ``"filter_grad"``,
        ``"input_grad"``, ``"maxpool"`` or ``"shape"``.
    payload : dict
        JSON-ready data for ``cnnbpViews.render``: ``title``,
        ``controls`` (each ``name``, ``label``, ``title`` and
        ``options``, a list of ``[value, label]``) and ``presets`` (each
        ``label``, ``set``, the control values as strings, and ``data``,
        cnnbp's arrays).
    first : dict
        The first step for :func:`static_html`.

    Notes
    -----
    Display it in a notebook (``_repr_html_``) or write :meth:`to_html`.
    The element id is ``cnnbp-<kind>-<hash of payload>-<n>`` where ``n``
    counts earlier renders of the same payload in this process.
    """

    def __init__(self, kind, payload, first):
        self.kind = kind
        self.payload = dict(payload, kind=kind)
        self.first = first

    def __repr__(self):
        n = len(self.payload.get("presets", []))
        return (f"<cnnbp {self.kind} view, {n} preset(s): open the HTML "
                f"output to choose settings and select cells>")

    def to_html(self):
        """The view as one HTML fragment (see the module docstring).

        Returns
        -------
        str
        """
        js, css, version = assets()
        data = json.dumps(self.payload, separators=(",", ":"),
                          sort_keys=True)
        digest = hashlib.sha1(data.encode()).hexdigest()[:10]
        n = _ID_COUNTS[digest]
        _ID_COUNTS[digest] += 1
        vid = f"cnnbp-{self.kind}-{digest}-{n}"
        data = data.replace("<", "\\u003c")
        return (f'<div class="cnnbp-view" id="{vid}" '
                f'data-kind="{self.kind}">'
                f'{static_html(self.payload["title"], self.first)}</div>\n'
                f'<style data-cnnbp-views="{version}">\n{css}</style>\n'
                f'<script data-cnnbp-views="{version}">\n{js}</script>\n'
                f'<script>window.cnnbpViews.render("{vid}", {data});'
                f'</script>')

    def _repr_html_(self):
        return self.to_html()


_CELL = ("border:1px solid #767676;padding:1px 5px;text-align:center;"
         "min-width:1.5em;color:#111;background:")
_STATIC_BG = {"p": "#e6e6e6;border-style:dashed", "z": "#f2f2f2",
              "s": "#d9d9d9", "ps": "#d9d9d9;border-style:dashed",
              ".": "#fff"}


def _cell(value, cls, role):
    text = html.escape(value)
    if role is None:
        return f'<td style="{_CELL}{_STATIC_BG[cls]}">{text}</td>'
    colour = PALETTE["out" if role == "same" else role]
    fg = "#fff" if role == "win" else "#111"
    if role == "cur":
        text = f"<u>{text}</u>"
    if role != "same":
        text = f"<b>{text}</b>"
    return (f'<td style="{_CELL}{colour};color:{fg}'
            f'{";outline:3px solid #111" if role == "cur" else ""}">'
            f'{text}</td>')


def static_html(title, first):
    """A view's first step as plain HTML with inline styles.

    Parameters
    ----------
    title : str
        The view's title.
    first : dict
        ``label`` and ``info`` (text), ``grids`` (each ``title``, HTML
        with at most ``<sup>``; ``vals``, a 2-D list of text; ``cls``,
        a 2-D list of ``"."``, ``"p"`` (padding), ``"z"`` (inserted
        zero), ``"s"`` (no window reaches it), ``"ps"`` (both) or None;
        ``hl``, a dict
        ``(r, c) -> role``), ``eq`` (lines of text) and ``text``.

    Returns
    -------
    str
        A ``div.cv-static``: bold cells take part in the sum, the
        underlined one is selected; the renderer removes it.
    """
    tables = []
    for g in first["grids"]:
        rows = []
        for r, row in enumerate(g["vals"]):
            cells = "".join(
                _cell(v, g["cls"][r][c] if g["cls"] else ".",
                      g["hl"].get((r, c)))
                for c, v in enumerate(row))
            rows.append(f"<tr>{cells}</tr>")
        tables.append('<table style="border-collapse:collapse;margin:0">'
                      '<caption style="text-align:left;font-weight:600;'
                      f'caption-side:top">{g["title"]}</caption>'
                      f'{"".join(rows)}</table>')
    eq = "<br>".join(html.escape(line) for line in first["eq"])
    return (
        '<div class="cv-static" style="font:14px/1.4 sans-serif;'
        'color:#111;background:#fff;padding:6px">'
        f'<p><b>{html.escape(title)}</b> ({html.escape(first["label"])})'
        f'</p><p>{html.escape(first["info"])}</p>'
        '<div style="display:flex;flex-wrap:wrap;gap:12px;'
        f'align-items:flex-start">{"".join(tables)}</div>'
        f'<p style="font-family:monospace">{eq}</p>'
        f'<p>{html.escape(first["text"])}</p>'
        '<p><i>A still picture of the first step: bold cells take part '
        'in the sum of the underlined one. With JavaScript (the book\'s '
        'web page, or this notebook run or trusted in Jupyter) you choose '
        'the settings and select any cell.</i></p></div>')
