"""eslint finds no problem in the course's browser code (cnnbp/web and
the book's page script in book/_css).

eslint is a dev tool from npm (``package.json``, ``eslint.config.mjs`` at
the repository root; ``npm ci`` installs it into ``node_modules``).
Without node or eslint the test fails with the command that installs
them, it never skips.
"""
import json
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
WEB = REPO / "cnnbp" / "web"
PAGE = REPO / "book" / "_css"
ESLINT = REPO / "node_modules" / ".bin" / "eslint"


def test_eslint_passes_on_the_browser_code():
    node = shutil.which("node")
    if node is None or not ESLINT.exists():
        pytest.fail("eslint is missing: install Node.js, then run `npm ci` "
                    "in the repository root")
    files = sorted(WEB.glob("*.js")) + sorted(PAGE.glob("*.js"))
    assert files, "no JavaScript under cnnbp/web"
    assert any(f.parent == PAGE for f in files), "no page script"
    result = subprocess.run(
        [str(ESLINT), "--format", "json", "--max-warnings", "0",
         str(WEB), str(PAGE)], cwd=REPO, capture_output=True, text=True, timeout=120)
    reports = json.loads(result.stdout or "[]")
    linted = {Path(r["filePath"]).resolve() for r in reports}
    assert linted == {f.resolve() for f in files}, (
        "eslint did not lint every file: check eslint.config.mjs; "
        f"{result.stderr}")
    problems = [f"{Path(r['filePath']).name}:{m['line']}:{m['column']} "
                f"{m.get('ruleId')}: {m['message']}"
                for r in reports for m in r["messages"]]
    assert not problems, "\n".join(problems)
    assert result.returncode == 0, result.stderr
