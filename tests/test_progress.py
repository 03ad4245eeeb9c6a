"""cnnbp.progress: a live display whose stored output is deterministic.

The last test runs the real thing: a notebook cell with a progress bar is
executed by nbclient (as ``make outputs`` does), the stored outputs are
checked for text and HTML only, and nbval re-runs the notebook strictly.
"""

import doctest
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from cnnbp import progress
from cnnbp.progress import Progress

ROOT = Path(__file__).resolve().parents[1]


def test_text_and_html_state_the_count_and_status():
    bar = Progress(4, "training", "mini-batches", show=False)
    bar.update(3, text="epoch 1/2")
    assert bar.text() == "training: 3/4 mini-batches, epoch 1/2"
    bar.update(5)
    assert bar.done == 4
    html = bar.html()
    assert '<progress value="4" max="4" aria-label="training">' in html
    assert "training: 4/4 mini-batches, epoch 1/2" in html


def test_html_escapes_the_label_and_the_text():
    bar = Progress(1, 'a "b" <c>', "steps", show=False)
    bar.update(text="x < y & z")
    html = bar.html()
    assert 'aria-label="a &quot;b&quot; &lt;c&gt;"' in html
    assert "x &lt; y &amp; z" in html
    assert "<c>" not in html


@pytest.mark.parametrize("total", [0, -1, 2.0, True, None])
def test_total_must_be_a_positive_int(total):
    with pytest.raises(ValueError, match="total must be an int >= 1"):
        Progress(total, show=False)


def test_outside_a_kernel_only_the_final_line_reaches_stdout(capsys):
    with Progress(3, "demo", "steps") as bar:
        for k in range(3):
            bar.update(text=f"step {k + 1}")
    bar.close()
    out = capsys.readouterr().out
    assert out == "demo: 3/3 steps, step 3\n"


def test_silent_progress_prints_nothing(capsys):
    with Progress(2, show=False) as bar:
        bar.update(2)
    assert capsys.readouterr().out == ""


def test_in_a_kernel_the_live_display_ends_empty_and_the_final_follows(
        monkeypatch):
    shown = []

    class Handle:
        def update(self, obj, raw):
            shown.append(("update", obj))

    def display(obj, raw, display_id=False):
        shown.append(("display", obj))
        return Handle() if display_id else None

    import IPython.display

    monkeypatch.setattr(progress, "_in_kernel", lambda: True)
    monkeypatch.setattr(IPython.display, "display", display)
    with Progress(2, "demo", "steps", interval=0) as bar:
        bar.update()
        bar.update(text="done")
    empty = {"text/html": "", "text/plain": ""}
    assert shown[0] == ("display", empty)
    assert shown[-2] == ("update", empty)
    kind, final = shown[-1]
    assert kind == "display"
    assert final["text/plain"] == "demo: 2/2 steps, done"
    assert '<progress value="2" max="2"' in final["text/html"]
    assert [k for k, _ in shown[1:-2]] == ["update", "update"]


def test_a_notebook_stores_text_only_and_passes_nbval(tmp_path):
    source = (
        "from cnnbp.progress import Progress\n"
        "with Progress(50, 'work', 'steps', interval=0) as bar:\n"
        "    for k in range(50):\n"
        "        bar.update(text=f'step {k + 1}')\n"
        "print('after')"
    )
    nb = new_notebook(cells=[new_code_cell(source)])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    outputs = nb.cells[0].outputs
    assert [o.output_type for o in outputs] == [
        "display_data", "display_data", "stream"]
    assert outputs[0].data == {"text/html": "", "text/plain": ""}
    assert outputs[1].data["text/plain"] == "work: 50/50 steps, step 50"
    assert set(outputs[1].data) == {"text/html", "text/plain"}
    assert "widgets" not in nb.metadata
    path = tmp_path / "progress.ipynb"
    nbformat.write(nb, path)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--nbval", "--nbval-current-env", str(path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_docstring_examples():
    result = doctest.testmod(progress)
    assert result.attempted > 0 and result.failed == 0
