"""Re-execute chapter notebooks in place, storing outputs as the book shows.

Usage (from the repository root)::

    python tools/refresh_outputs.py book/03_stride.ipynb [more.ipynb ...]

Each notebook runs top to bottom in a fresh kernel (from ``book/``, as
nbval runs it), then its outputs are tidied so the stored notebook is
exactly what the book displays and nbval compares:

- outputs of cells tagged ``remove-output`` (live-kernel explorers) are
  dropped: the book never shows them;
- saved ipywidgets state is kept only if a displayed output is a widget
  (it makes the page load the 3.6 MB widget embedder);
- consecutive writes to the same stream are merged into one output;
- no execution timestamps are kept, so a re-run's diff shows only what
  changed;
- the notebook metadata is the one JupyterLab writes for the course's
  kernel (``KERNELSPEC``; ``language_info`` as the kernel reports it), so
  a chapter opens in JupyterLab without being marked modified;
- what the book hides by tag, JupyterLab shows folded (``FOLDED``: the
  ``jupyter.source_hidden`` / ``outputs_hidden`` cell metadata), so a
  chapter reads alike in both and a solution stays folded until asked.
"""

import sys
import tempfile
from pathlib import Path

import nbformat
from jupyter_client import KernelManager
from nbclient import NotebookClient

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: Cell tag -> the JupyterLab folding that matches what the book shows.
FOLDED = {
    "remove-cell": {"source_hidden": True},
    "remove-input": {"source_hidden": True},
    "hide-input": {"source_hidden": True},
    "hide-cell": {"source_hidden": True, "outputs_hidden": True},
}
#: What JupyterLab writes for the ipykernel ``python3`` kernel.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python",
              "name": "python3"}


def folding(tags):
    """The ``jupyter`` cell metadata that folds what ``tags`` hide."""
    fold = {}
    for tag in tags:
        fold.update(FOLDED.get(tag, {}))
    return fold


def tidy(nb):
    """Drop hidden outputs and unused widget state; merge stream writes;
    fold in JupyterLab what the book hides; set the kernel metadata."""
    shows_widget = False
    for cell in nb.cells:
        fold = folding(cell.metadata.get("tags", []))
        if fold:
            cell.metadata["jupyter"] = fold
        else:
            cell.metadata.pop("jupyter", None)
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        if "remove-output" in cell.metadata.get("tags", []):
            cell.outputs = []
            cell.execution_count = None
        merged = []
        for out in cell.outputs:
            if (merged and out.output_type == "stream"
                    and merged[-1].output_type == "stream"
                    and merged[-1].name == out.name):
                merged[-1].text += out.text
            else:
                merged.append(out)
        cell.outputs = merged
        shows_widget |= any(WIDGET_VIEW in out.get("data", {})
                            for out in merged)
    if not shows_widget:
        nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    return nb


def refresh(path):
    """Execute the notebook at ``path`` and write it back, tidied."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    # Unix sockets, not TCP ports: with several kernels starting at once
    # (parallel refreshes, a test run) two can race for one port and the
    # client then waits on the wrong kernel until the cell timeout.
    with tempfile.TemporaryDirectory() as sockets:
        km = KernelManager(kernel_name="python3", transport="ipc",
                           ip=str(Path(sockets) / "kernel"))
        NotebookClient(nb, km=km, timeout=600, record_timing=False,
                       resources={"metadata": {"path": str(path.parent)}}
                       ).execute()
    nbformat.write(tidy(nb), path)


def main(paths):
    if not paths:
        sys.exit(__doc__)
    for path in paths:
        print(f"executing {path}", flush=True)
        refresh(path)


if __name__ == "__main__":
    main(sys.argv[1:])
