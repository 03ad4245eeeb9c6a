"""The chapters in a real JupyterLab, opened and run as a learner would.

A JupyterLab server from this environment (the one Binder installs from
requirements.txt, with jupyterlab-myst) runs on 127.0.0.1 with fresh
config, data, runtime, settings and workspace folders, over a copy of
``book/`` (running cells never touches the repository). Each chapter is
opened in headless Chromium (the ``page`` fixture of conftest.py, which
fails the test on any request leaving 127.0.0.1 or any page error) and:

- opens clean: not marked modified, no kernel picker (on a Python whose
  version differs from the one that stored the outputs, JupyterLab
  rewrites ``language_info.version`` and nothing else; the test then
  checks exactly that);
- shows no MyST source: every markdown cell is rendered by jupyterlab-myst
  with no directive, role, label or unresolved cross-reference left;
- keeps solutions hidden: each ``{solution}`` is a closed dropdown and
  each solution code cell has its input and output collapsed;
- shows stored quizzes, before anything runs, as their questions with a
  "run this cell" line and no feedback (JupyterLab strips the scripts of
  an untrusted notebook);
- runs every cell (Run All Cells) without an error output;
- then has working quizzes: ready within a second of their cell, math
  typeset by JupyterLab's MathJax, a wrong and a right answer graded;
- logged no console error.

The server renders every cell (``windowingMode: none``), so cells can be
read in page order; learners get JupyterLab's default, which renders the
same cells on scroll. Screenshots of chapters 07, 09 and 19 go to
``_build/test-artifacts/lab/``.
"""

import json
import os
import platform
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: The chapters to open (another folder with CNNBP_LAB_BOOK, e.g. a copy
#: being edited).
BOOK = Path(os.environ.get("CNNBP_LAB_BOOK", ROOT / "book"))
CHAPTERS = sorted(p.stem for p in BOOK.glob("[0-9][0-9]_*.ipynb"))
SHOTS = {"07_input_gradient", "09_maxpool", "19_training_modern"}
SHOT_PLACES = [("equation", ".jp-RenderedMarkdown mjx-container[display]"),
               ("view", ".cnnbp-view"), ("quiz", ".cnnbp-quiz"),
               ("exercise", "details.myst-exercise")]
START_TIMEOUT = 120
RUN_TIMEOUT = 600
MYST_SOURCE = re.compile(
    r"\{(?:ref|eq|doc|numref|math|note|tip|warning|admonition|exercise|"
    r"solution|literalinclude|figure)\}|^:::|^```\{|:label:|"
    r"^\([\w-]+\)=\s*$|\\\(|\\\[|\$\$", re.M)
#: The notebook's own cells (not cells drawn inside an output).
CELLS = ".jp-Notebook .jp-WindowedPanel-viewport > .jp-Notebook-cell"
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false", "checkForUpdates": False},
}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Lab:
    """A running JupyterLab: ``url(name)`` opens a notebook."""

    def __init__(self, base, token, work, log):
        self.base, self.token, self.work, self.log = base, token, work, log

    def url(self, stem):
        """Open ``stem`` alone, in a fresh workspace (no tab left open by
        an earlier test)."""
        return (f"{self.base}lab/workspaces/{stem}/tree/{stem}.ipynb"
                f"?reset&token={self.token}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 over a copy of book/, fresh state dirs."""
    root = tmp_path_factory.mktemp("jupyterlab")
    env = dict(os.environ)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR",
                 "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR",
                 "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR"):
        (root / name).mkdir()
        env[name] = str(root / name)
    for plugin, values in SETTINGS.items():
        path = root / "JUPYTERLAB_SETTINGS_DIR" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    work = root / "work"
    shutil.copytree(BOOK, work, ignore=shutil.ignore_patterns(
        ".ipynb_checkpoints", "_build"))
    lab_exe = Path(sys.executable).with_name("jupyter-lab")
    if not lab_exe.exists():
        pytest.fail("jupyter-lab is missing: pip install -r requirements.txt")
    port, token = free_port(), secrets.token_hex(16)
    command = [str(lab_exe), "--no-browser", "--ip=127.0.0.1",
               f"--port={port}", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={work}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = root / "lab.log"
    with open(log, "w") as out:
        server = subprocess.Popen(command, env=env, stdout=out,
                                  stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            urllib.request.urlopen(f"{base}api/status?token={token}",
                                   timeout=2)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("JupyterLab did not start:\n"
                            + log.read_text()[-3000:])
            time.sleep(0.5)
    yield Lab(base, token, work, log)
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


CELL_STATE = """() => Array.from(
  document.querySelectorAll('CELLS')).map(c => {
    const md = c.querySelector('.jp-RenderedMarkdown, .myst');
    return {
      markdown: c.classList.contains('jp-MarkdownCell'),
      rendered: c.classList.contains('jp-mod-rendered'),
      text: md ? md.innerText : '',
      inputHidden: !!c.querySelector('.jp-InputPlaceholder'),
      outputHidden: !!c.querySelector('.jp-OutputPlaceholder'),
      prompt: (c.querySelector('.jp-InputArea-prompt') || {})
        .textContent || '',
      errors: c.querySelectorAll('[data-mime-type*="error"]').length,
      unresolved: c.querySelectorAll(
        '[title="Cross Reference Not Found"]').length,
      openSolutions: Array.from(c.querySelectorAll(
        'details.myst-exercise')).filter(d => d.open
          && /Solution/.test(d.innerText)).length,
      solutions: Array.from(c.querySelectorAll('details.myst-exercise'))
        .filter(d => /Solution/.test(d.innerText)).length,
    }; })""".replace("CELLS", CELLS)

QUIZ_STATE = """() => Array.from(document.querySelectorAll('.cnnbp-quiz'))
  .map(q => ({
    ready: q.getAttribute('data-ready'),
    questions: q.querySelectorAll('.Quiz').length,
    visibleFeedback: Array.from(q.querySelectorAll('.cq-fb'))
      .filter(f => f.offsetParent !== null).length,
    text: q.innerText,
    math: q.querySelectorAll('.QuizQuestion mjx-container, '
      + '.MCButton mjx-container').length,
  }))"""


def notebook_cells(stem):
    nb = json.loads((BOOK / f"{stem}.ipynb").read_text())
    return nb["cells"]


def wait_idle(page, timeout=60):
    page.wait_for_function(
        "() => { const s = document.querySelector("
        "'.jp-Notebook-ExecutionIndicator');"
        " return s && s.getAttribute('data-status') === 'idle'; }",
        timeout=timeout * 1000)


def saved_metadata_changes(page, lab, stem):
    """Save the notebook and list what JupyterLab changed on open."""
    page.keyboard.press("Control+s")
    page.wait_for_function(
        "() => !document.querySelector('.lm-TabBar-tab.jp-mod-current"
        ".jp-mod-dirty')", timeout=20000)
    old = json.loads((BOOK / f"{stem}.ipynb").read_text())
    new = json.loads((lab.work / f"{stem}.ipynb").read_text())
    changes = []
    for key in set(old["metadata"]) | set(new["metadata"]):
        if old["metadata"].get(key) != new["metadata"].get(key):
            changes.append(key)
    if old["cells"] != new["cells"]:
        changes.append("cells")
    return changes, old, new


DIRTY = ".lm-TabBar-tab.jp-mod-current.jp-mod-dirty"


def settled_dirty(page, quiet=3.0, limit=20.0):
    """The tab's modified flag once it has not changed for ``quiet`` s.

    While JupyterLab loads a notebook (kernel info, folded cells) the
    flag can flip on and off; what a learner meets when closing the tab
    is the settled value.
    """
    start = last_change = time.monotonic()
    state = page.locator(DIRTY).count() > 0
    while time.monotonic() - last_change < quiet:
        if time.monotonic() - start > limit:
            break
        time.sleep(0.25)
        now = page.locator(DIRTY).count() > 0
        if now != state:
            state, last_change = now, time.monotonic()
    return state


def check_opens_clean(page, lab, stem):
    assert page.locator(".jp-Dialog").count() == 0, (
        f"{stem}: a dialog (kernel picker?) opened with the notebook")
    if not settled_dirty(page):
        return
    changes, old, new = saved_metadata_changes(page, lab, stem)
    stored = old["metadata"].get("language_info", {}).get("version")
    if stored != platform.python_version():
        info_old = dict(old["metadata"]["language_info"], version=None)
        info_new = dict(new["metadata"]["language_info"], version=None)
        assert changes == ["language_info"] and info_old == info_new, (
            f"{stem}: opening it changed {changes}")
    else:
        pytest.fail(f"{stem}: marked modified on open; JupyterLab "
                    f"changed {changes}")


FOLDED_READY = """hidden => hidden.every(k => {
  const c = document.querySelectorAll('CELLS')[k];
  return c && c.querySelector('.jp-InputPlaceholder')
    && c.querySelector('.jp-OutputPlaceholder'); })""".replace(
    "CELLS", CELLS)


def wait_folded(page, cells):
    """Wait until JupyterLab has folded every solution cell."""
    hidden = [k for k, c in enumerate(cells) if "hide-cell" in c.get(
        "metadata", {}).get("tags", [])]
    try:
        page.wait_for_function(FOLDED_READY, arg=hidden, timeout=20000)
    except Exception:
        pass  # check_rendered names the cell that stayed open


def check_rendered(stem, cells, dom):
    assert len(dom) == len(cells), (
        f"{stem}: {len(dom)} cells on screen, {len(cells)} in the file")
    for k, (cell, shown) in enumerate(zip(cells, dom)):
        where = f"{stem}, cell {k}"
        if cell["cell_type"] == "markdown":
            assert shown["rendered"], f"{where}: markdown not rendered"
            hit = MYST_SOURCE.search(shown["text"])
            assert not hit, (f"{where}: MyST source on screen: "
                             f"{hit.group(0)!r} in {shown['text'][:200]!r}")
            assert not shown["unresolved"], (
                f"{where}: unresolved cross-reference")
            assert not shown["openSolutions"], f"{where}: solution open"
        tags = cell.get("metadata", {}).get("tags", [])
        if "hide-cell" in tags:
            assert shown["inputHidden"] and shown["outputHidden"], (
                f"{where}: solution code is not collapsed")


def check_stored_quizzes(stem, quizzes):
    for k, q in enumerate(quizzes):
        assert q["ready"] is None, f"{stem}, quiz {k}: ran untrusted"
        assert q["questions"] > 0, f"{stem}, quiz {k}: no question shown"
        assert "run this cell" in q["text"], (
            f"{stem}, quiz {k}: no 'run this cell' line")
        assert q["visibleFeedback"] == 0, (
            f"{stem}, quiz {k}: feedback visible before answering")


def run_all(page, stem):
    page.locator(".jp-Notebook").click(position={"x": 5, "y": 5})
    page.keyboard.press("Escape")
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name=re.compile("^Run All Cells")).click()
    page.wait_for_function(
        "() => { const p = Array.from(document.querySelectorAll("
        "'.jp-Notebook .jp-InputArea-prompt')).map(e => e.textContent);"
        " return p.length && !p.some(t => t.includes('*')); }",
        timeout=RUN_TIMEOUT * 1000)
    wait_idle(page, RUN_TIMEOUT)


def check_quiz_answers(page, stem):
    roots = page.locator(".cnnbp-quiz")
    for k in range(roots.count()):
        question = roots.nth(k).locator(
            ".Quiz[data-type=multiple_choice]").first
        if question.count() == 0:
            continue
        for verdict in ("false", "true"):
            question.locator(f".MCButton[data-correct={verdict}]"
                             ).first.click()
            cls = question.locator(".Feedback").get_attribute("class")
            want = "correct" if verdict == "true" else "incorrect"
            assert want in cls.split(), f"{stem}, quiz {k}: {cls}"


WATCH_QUIZ = r"""k => {
  const t0 = performance.now();
  window.cnnbpQuizTimes = null;
  let shown = null;
  const timer = setInterval(() => {
    const c = document.querySelectorAll('CELLS')[k];
    const q = c && c.querySelector('.cnnbp-quiz');
    if (q && shown === null) { shown = performance.now(); }
    if (q && q.getAttribute('data-ready') === '1'
        && !/\\\(|\\\[/.test(q.textContent)) {
      window.cnnbpQuizTimes = {run: (performance.now() - t0) / 1000,
                               shown: (performance.now() - shown) / 1000};
      clearInterval(timer);
    }
  }, 10);
}""".replace("CELLS", CELLS)


def time_one_quiz(page, stem):
    """Seconds from a quiz's output reaching the page to the quiz being
    ready with its math typeset (no TeX delimiter left in its text), and
    from pressing Ctrl+Enter to that."""
    cells = notebook_cells(stem)
    k = next(i for i, c in enumerate(cells) if c["cell_type"] == "code"
             and "quiz.show(" in "".join(c["source"]))
    page.locator(CELLS).nth(k).locator(".jp-InputPrompt").click()
    page.evaluate(WATCH_QUIZ, k)
    page.keyboard.press("Control+Enter")
    page.wait_for_function("() => window.cnnbpQuizTimes", timeout=10000)
    return page.evaluate("() => window.cnnbpQuizTimes")


@pytest.mark.parametrize("stem", CHAPTERS)
def test_chapter_in_jupyterlab(stem, lab, page, screenshot):
    page.goto(lab.url(stem))
    page.wait_for_selector(CELLS,
                           timeout=60000)
    wait_idle(page)
    cells = notebook_cells(stem)
    wait_folded(page, cells)
    check_opens_clean(page, lab, stem)
    check_rendered(stem, cells, page.evaluate(CELL_STATE))
    check_stored_quizzes(stem, page.evaluate(QUIZ_STATE))
    if stem in SHOTS:
        screenshot(page, f"lab/{stem}-opened")

    run_all(page, stem)
    wait_folded(page, cells)
    dom = page.evaluate(CELL_STATE)
    errors = [k for k, c in enumerate(dom) if c["errors"]
              and "raises-exception" not in cells[k].get(
                  "metadata", {}).get("tags", [])]
    assert not errors, f"{stem}: cells {errors} show an error"
    check_rendered(stem, cells, dom)
    quizzes = page.evaluate(QUIZ_STATE)
    for k, q in enumerate(quizzes):
        assert q["ready"] == "1", f"{stem}, quiz {k}: did not start"
        assert "run this cell" not in q["text"], stem
        assert not re.search(r"\\\(|\\\[|\$", q["text"]), (
            f"{stem}, quiz {k}: raw TeX in {q['text'][:300]!r}")
    check_quiz_answers(page, stem)
    if quizzes:
        times = time_one_quiz(page, stem)
        assert times["shown"] < 1.0 and times["run"] < 3.0, (
            f"{stem}: the quiz was ready {times['shown']:.2f} s after "
            f"its output arrived, {times['run']:.2f} s after Ctrl+Enter")
    if stem in SHOTS:
        for name, css in SHOT_PLACES:
            place = page.locator(css).first
            if place.count():
                place.scroll_into_view_if_needed()
                screenshot(page, f"lab/{stem}-{name}")
    assert not page.console_errors, (
        f"{stem}: console errors:\n" + "\n".join(page.console_errors))
