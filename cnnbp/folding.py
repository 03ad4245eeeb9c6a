"""Keep a folded cell's output folded when JupyterLab runs it.

A solution's code cell is stored folded (``jupyter.source_hidden`` and
``outputs_hidden``), but JupyterLab unfolds a cell's output every time it
runs it, so "Run All Cells" would show every solution's result under its
folded code. JupyterLab sends a cell's metadata with the request to run
it; after a cell whose metadata says ``outputs_hidden``, this hook adds a
last, invisible output whose script folds the output area again through
JupyterLab's own output collapser (the bar left of the output), so the
learner unfolds it with one click, as before.

The hook only acts on requests that carry that metadata: nbclient, nbval
and the book's stored outputs never see it.
"""

import hashlib
import itertools

__all__ = ["install", "refold_script"]

_counter = itertools.count()

# Runs once the output is in the page: find its cell, click the collapser
# if the output is showing, then remove this output's own marker.
_SCRIPT = """<div id="%(id)s" hidden="hidden"></div><script>
(function () {
  "use strict";
  function fold() {
    var mark = document.getElementById("%(id)s");
    if (!mark) { return false; }
    var cell = mark.closest(".jp-Cell");
    if (!cell) { return false; }
    var bar = cell.querySelector(".jp-OutputCollapser .jp-Collapser-child");
    if (bar && !cell.querySelector(".jp-OutputPlaceholder")) { bar.click(); }
    return true;
  }
  var tries = 0;
  (function again() {
    if (!fold() && tries < 50) { tries += 1; setTimeout(again, 100); }
  }());
}());
</script>"""


def refold_script(key):
    """The HTML output that folds its own cell's output area.

    Parameters
    ----------
    key : str
        Anything unique to this run (the element id derives from it).

    Returns
    -------
    str
    """
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return _SCRIPT % {"id": f"cnnbp-refold-{digest}"}


def _request_metadata(shell):
    kernel = getattr(shell, "kernel", None)
    if kernel is None:
        return {}
    try:
        parent = kernel.get_parent("shell")
    except TypeError:
        parent = kernel.get_parent()
    return (parent or {}).get("metadata", {}) or {}


def _after_cell(shell):
    def hook(result):
        meta = _request_metadata(shell)
        if not meta.get("jupyter", {}).get("outputs_hidden"):
            return
        from IPython.display import HTML, display

        cell = meta.get("cellId", "")
        display(HTML(refold_script(f"{cell}:{next(_counter)}")))

    return hook


def install():
    """Register the hook in the running IPython kernel (once).

    Returns
    -------
    bool
        True if a kernel was found and the hook is registered.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return False
    if getattr(shell, "_cnnbp_refold", False):
        return True
    shell.events.register("post_run_cell", _after_cell(shell))
    shell._cnnbp_refold = True
    return True
