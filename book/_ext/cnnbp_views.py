"""One copy of the cnnbp views' renderer per site, not one per view.

A view's notebook output carries its renderer inline (see
:mod:`cnnbp.webview`): in JupyterLab an output has no static folder, so
it must work on its own. In the built book that would put a copy of the
renderer (about 65 KB) in every view. This extension

- writes the renderer of the installed cnnbp once, as
  ``_static/cnnbp-views/views-<version>.js`` and ``.css``;
- on each page, replaces the first inline renderer by a ``<link>`` and
  a ``<script src>`` to those files and drops the other copies; the
  views' own data and static first steps stay in the page.

Only copies whose version is the installed cnnbp's are lifted: a stored
output from another version of the renderer keeps its inline copy and
still works.
"""

import re
from pathlib import Path

from cnnbp import webview

INLINE = re.compile(
    r'<style data-cnnbp-views="(?P<version>[0-9a-f]{12})">.*?</style>\s*'
    r'<script data-cnnbp-views="(?P=version)">.*?</script>', re.S)
FOLDER = "cnnbp-views"


def static_names():
    """The renderer's files under ``_static``, named by version.

    Returns
    -------
    js, css : str
        Paths relative to the output folder, e.g.
        ``_static/cnnbp-views/views-0123456789ab.js``.
    """
    version = webview.assets()[2]
    stem = f"_static/{FOLDER}/views-{version}"
    return f"{stem}.js", f"{stem}.css"


def lift(body, js_url, css_url):
    """Replace the inline renderers of a page body by one reference.

    Parameters
    ----------
    body : str
        A page's HTML body.
    js_url, css_url : str
        Where the page finds the static renderer files.

    Returns
    -------
    str
        ``body`` with the first current-version inline renderer replaced
        by a stylesheet link and a script element, and the others
        removed (the script runs before the views' render calls that
        follow it in the page).
    """
    version = webview.assets()[2]
    seen = []

    def replace(match):
        if match["version"] != version:
            return match.group(0)
        seen.append(match)
        if len(seen) > 1:
            return ""
        return (f'<link rel="stylesheet" href="{css_url}">\n'
                f'<script src="{js_url}" data-cnnbp-views="{version}">'
                f'</script>')

    return INLINE.sub(replace, body)


def on_page(app, pagename, templatename, context, doctree):
    """Lift the renderers of one page (``html-page-context``)."""
    body = context.get("body")
    if not body or "data-cnnbp-views" not in body:
        return
    js, css = static_names()
    context["body"] = lift(body, context["pathto"](js, 1),
                           context["pathto"](css, 1))


def write_files(app, exception):
    """Write the renderer files once (``build-finished``)."""
    if exception is not None or app.builder.format != "html":
        return
    js_text, css_text, _ = webview.assets()
    js, css = static_names()
    out = Path(app.outdir)
    (out / js).parent.mkdir(parents=True, exist_ok=True)
    (out / js).write_text(js_text, encoding="utf-8")
    (out / css).write_text(css_text, encoding="utf-8")


def setup(app):
    """Register both hooks."""
    app.connect("html-page-context", on_page)
    app.connect("build-finished", write_files)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
