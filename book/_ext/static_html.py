"""Two fixes to the HTML pages so they work offline and without errors.

1. matplotlib's ``Animation.to_jshtml`` starts its output with a link to a
   Font Awesome stylesheet on a CDN that its player does not need (the
   buttons are inline SVG): the link is dropped from raw HTML nodes.
2. Inline scripts that extensions add after the builder starts (here
   sphinx-togglebutton's and sphinx-thebe's) reach Sphinx 7.4's page
   context twice, once with filename ``None`` and once with ``''``; the
   second ``const THEBE_JS_URL`` is a page error. Duplicates are dropped.
"""

import re

from docutils import nodes

FONT_AWESOME_LINK = re.compile(
    r'<link rel="stylesheet"\s+'
    r'href="https://maxcdn\.bootstrapcdn\.com/font-awesome/[^"]*">\s*'
)


def strip_cdn_links(app, doctree, docname):
    """Remove the known CDN stylesheet links from raw HTML in ``doctree``."""
    for node in list(doctree.findall(nodes.raw)):
        if "html" not in node.get("format", "").split():
            continue
        text = node.astext()
        cleaned = FONT_AWESOME_LINK.sub("", text)
        if cleaned != text:
            node.replace_self(
                nodes.raw(cleaned, cleaned, format=node["format"])
            )


def drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    """Keep the first of several identical script entries of a page."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen = set()
    unique = []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        key = (getattr(script, "filename", script) or "",
               tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app):
    """Register both hooks."""
    app.connect("doctree-resolved", strip_cdn_links)
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
