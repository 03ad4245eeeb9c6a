"""cnnbp.folding: a folded solution cell stays folded when it runs.

The real behaviour is checked in JupyterLab (tests/browser/
test_jupyterlab.py: after Run All Cells every solution is still folded);
these tests pin the kernel side: the hook acts only on requests whose
cell metadata says ``outputs_hidden``, and each run gets its own script.
"""

from types import SimpleNamespace

import pytest

from cnnbp import folding


class FakeKernel:
    def __init__(self, metadata):
        self.metadata = metadata

    def get_parent(self, channel="shell"):
        return {"metadata": self.metadata}


def shell(metadata):
    return SimpleNamespace(kernel=FakeKernel(metadata))


@pytest.fixture
def shown(monkeypatch):
    import IPython.display

    out = []
    monkeypatch.setattr(IPython.display, "display", out.append)
    return out


def test_a_folded_cell_gets_the_refold_script(shown):
    hook = folding._after_cell(shell({
        "jupyter": {"source_hidden": True, "outputs_hidden": True},
        "cellId": "abc"}))
    hook(None)
    hook(None)
    assert len(shown) == 2
    first, second = (h.data for h in shown)
    assert ".jp-OutputCollapser .jp-Collapser-child" in first
    assert first != second   # one element id per run


@pytest.mark.parametrize("metadata", [
    {}, {"jupyter": {"source_hidden": True}}, {"tags": ["hide-cell"]}])
def test_other_cells_and_nbclient_requests_get_nothing(shown, metadata):
    folding._after_cell(shell(metadata))(None)
    assert shown == []


def test_install_needs_a_kernel(monkeypatch):
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    assert folding.install() is False
