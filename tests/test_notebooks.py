"""Every chapter notebook reads the same in the book and in JupyterLab.

JupyterLab (with jupyterlab-myst) renders one cell at a time, so a
construct that only Sphinx resolves shows as source there. These checks
keep the chapters to what renders in both places (see
tests/browser/test_jupyterlab.py for the real JupyterLab):

- one metadata block for every chapter: the kernelspec JupyterLab writes
  (so a chapter opens without being marked modified) and the same
  ``language_info``;
- no gated directives (``exercise-start`` ...), no ``literalinclude``, no
  ``{ref}`` to another notebook, no math in the title;
- what the book hides by tag, JupyterLab folds (tools/refresh_outputs.py
  writes it); every solution's code cell is folded;
- every stored figure has real alt text in its cell metadata
  (``mystnb.image.alt``, which myst-nb puts on the page's ``<img>``);
  without it the alt text is the image's file path.
"""

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
TOOL = ROOT / "tools" / "refresh_outputs.py"
spec = importlib.util.spec_from_file_location("refresh_outputs", TOOL)
refresh_outputs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(refresh_outputs)

ALT_LENGTH = (30, 300)
#: An image file name or path (or one bare word), not a description.
ALT_PATH = re.compile(r"\.(png|svg|jpe?g|gif)\b|_images/|^\S+$", re.I)
ONLY_SPHINX = re.compile(
    r"\{(exercise|solution)-(start|end)\}|\{literalinclude\}|"
    r"\{doc\}`")


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell):
    return "".join(cell["source"])


def labels(nb):
    found = set()
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            text = source(cell)
            found |= set(re.findall(r"^\(([\w-]+)\)=", text, re.M))
            found |= set(re.findall(r":label: ([\w-]+)", text))
    return found


@pytest.fixture(scope="module")
def notebooks():
    return {p.stem: load(p) for p in CHAPTERS}


def test_every_chapter_has_the_same_metadata(notebooks):
    first = None
    for stem, nb in notebooks.items():
        meta = nb["metadata"]
        assert meta.get("kernelspec") == refresh_outputs.KERNELSPEC, stem
        assert "language_info" in meta, f"{stem}: no language_info"
        assert set(meta) <= {"kernelspec", "language_info", "widgets"}, (
            f"{stem}: unexpected metadata {sorted(meta)}")
        if first is None:
            first = meta["language_info"]
        assert meta["language_info"] == first, (
            f"{stem}: language_info differs from the other chapters")


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_markdown_uses_only_what_jupyterlab_renders(path):
    nb = load(path)
    own = labels(nb)
    for k, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        text = source(cell)
        hit = ONLY_SPHINX.search(text)
        assert not hit, f"{path.stem}, cell {k}: {hit.group(0)}"
        for role, ref in re.findall(r"\{(ref|eq|numref)\}`([^`]+)`",
                                    text):
            label = re.sub(r"^.*<([^>]+)>$", r"\1", ref)
            assert label in own, (
                f"{path.stem}, cell {k}: {{{role}}} to {label!r} in another "
                f"notebook; JupyterLab cannot resolve it: link the file, "
                f"[text](NN_chapter.ipynb)")
        for target in re.findall(r"\]\(([^)#\s]+\.ipynb)", text):
            assert (ROOT / "book" / target).exists(), (
                f"{path.stem}, cell {k}: link to missing {target}")


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_title_has_no_math(path):
    nb = load(path)
    titles = [line for cell in nb["cells"] if cell["cell_type"] == "markdown"
              for line in source(cell).splitlines() if line.startswith("# ")]
    assert len(titles) == 1, f"{path.stem}: {len(titles)} titles"
    assert "$" not in titles[0], (
        f"{path.stem}: math in the title shows raw in JupyterLab and in "
        f"the page title: {titles[0]!r}")


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_hidden_cells_are_folded_and_solutions_hidden(path):
    nb = load(path)
    cells = nb["cells"]
    for k, cell in enumerate(cells):
        tags = cell.get("metadata", {}).get("tags", [])
        fold = refresh_outputs.folding(tags)
        assert cell.get("metadata", {}).get("jupyter", {}) == fold, (
            f"{path.stem}, cell {k}: JupyterLab folding does not match "
            f"tags {tags} (run make outputs)")
        if cell["cell_type"] == "markdown" and ":::{solution}" in source(
                cell):
            assert ":class: dropdown" in source(cell), (
                f"{path.stem}, cell {k}: solution not a dropdown")
            after = cells[k + 1] if k + 1 < len(cells) else None
            if after is not None and after["cell_type"] == "code":
                assert "hide-cell" in after["metadata"].get("tags", []), (
                    f"{path.stem}, cell {k + 1}: solution code not folded")


def test_cell_ids_are_unique(notebooks):
    for stem, nb in notebooks.items():
        ids = [c.get("id") for c in nb["cells"]]
        assert None not in ids and len(set(ids)) == len(ids), stem


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_figures_have_alt_text(path):
    nb = load(path)
    low, high = ALT_LENGTH
    for k, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code" or not any(
                "image/png" in out.get("data", {})
                for out in cell.get("outputs", [])):
            continue
        where = f"{path.stem}, cell {k} ({cell.get('id')})"
        alt = cell["metadata"].get("mystnb", {}).get("image", {}).get("alt")
        assert isinstance(alt, str), (
            f"{where}: figure without alt text; set the cell metadata "
            f'{{"mystnb": {{"image": {{"alt": "..."}}}}}} to what a reader '
            f"learns from the figure")
        assert low <= len(alt) <= high, (
            f"{where}: alt text of {len(alt)} characters, want {low} to "
            f"{high}: {alt!r}")
        assert not ALT_PATH.search(alt), (
            f"{where}: alt text names a file: {alt!r}")
        assert "$" not in alt and "\\" not in alt, (
            f"{where}: alt text is plain text, no TeX: {alt!r}")
