"""A fix to the HTML pages so they load without errors.

Inline scripts that extensions add after the builder starts (here
sphinx-togglebutton's and sphinx-thebe's) reach Sphinx 7.4's page context
twice, once with filename ``None`` and once with ``''``; the second
``const THEBE_JS_URL`` is a page error. Duplicates are dropped.

(matplotlib animations no longer carry a CDN stylesheet link:
:func:`cnnbp.figures.animation_html` drops it at the source.)
"""


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
    """Register the hook."""
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
