"""Tests of tools/refresh_outputs.py's tidy step (what gets stored)."""

import importlib.util
from pathlib import Path

import nbformat
from nbformat.v4 import (new_code_cell, new_markdown_cell, new_notebook,
                         new_output)

TOOL = Path(__file__).resolve().parents[1] / "tools" / "refresh_outputs.py"
spec = importlib.util.spec_from_file_location("refresh_outputs", TOOL)
refresh_outputs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(refresh_outputs)

WIDGET = {refresh_outputs.WIDGET_VIEW: {"model_id": "abc"},
          "text/plain": "IntSlider(value=0)"}


def notebook(cells):
    nb = new_notebook(cells=cells)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json":
                              {"state": {}}}
    return nb


def stream(text, name="stdout"):
    return new_output("stream", name=name, text=text)


def test_hidden_explorer_outputs_and_their_widget_state_are_dropped():
    explorer = new_code_cell("explore()", execution_count=3, outputs=[
        new_output("display_data", data=WIDGET)])
    explorer.metadata["tags"] = ["remove-output", "nbval-ignore-output"]
    nb = refresh_outputs.tidy(notebook([new_markdown_cell("# t"),
                                        explorer]))
    assert nb.cells[1].outputs == []
    assert nb.cells[1].execution_count is None
    assert "widgets" not in nb.metadata


def test_widget_state_is_kept_when_a_widget_is_shown():
    bar = new_code_cell("fit()", outputs=[
        new_output("display_data", data=WIDGET), stream("done\n")])
    nb = refresh_outputs.tidy(notebook([bar]))
    assert "widgets" in nb.metadata
    assert len(nb.cells[0].outputs) == 2


def test_execution_timestamps_are_dropped():
    cell = new_code_cell("1 + 1")
    cell.metadata["execution"] = {"iopub.status.idle": "2026-11-22T04:00Z"}
    cell.metadata["tags"] = ["hide-input"]
    nb = refresh_outputs.tidy(notebook([cell]))
    assert nb.cells[0].metadata == {"tags": ["hide-input"],
                                    "jupyter": {"source_hidden": True}}


def test_what_the_book_hides_jupyterlab_folds():
    solution = new_code_cell("solve()")
    solution.metadata["tags"] = ["hide-cell"]
    setup = new_code_cell("import cnnbp")
    setup.metadata["tags"] = ["remove-cell"]
    plain = new_code_cell("x = 1")
    plain.metadata["jupyter"] = {"source_hidden": True}
    nb = refresh_outputs.tidy(notebook([solution, setup, plain]))
    assert nb.cells[0].metadata["jupyter"] == {"source_hidden": True,
                                               "outputs_hidden": True}
    assert nb.cells[1].metadata["jupyter"] == {"source_hidden": True}
    assert "jupyter" not in nb.cells[2].metadata
    assert nb.metadata["kernelspec"] == refresh_outputs.KERNELSPEC


def test_consecutive_writes_to_one_stream_are_merged():
    cell = new_code_cell("check()", outputs=[
        stream("a\n"), stream("b\n"), stream("err\n", "stderr"),
        stream("c\n")])
    nb = refresh_outputs.tidy(notebook([cell]))
    assert [(o.name, o.text) for o in nb.cells[0].outputs] == [
        ("stdout", "a\nb\n"), ("stderr", "err\n"), ("stdout", "c\n")]
    nbformat.validate(nb)
