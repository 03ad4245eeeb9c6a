"""Shared fixtures: the repository layout and one strict book build.

Fixtures
--------
repo_root : Path
    The repository root (where ``_config.yml`` lives).
chapter_stems : list of str
    Stems of the pages in ``_toc.yml`` order, root first:
    ``["intro", "01_chain_rule", ..., "11_training"]``.
chapter : str
    A test that takes a ``chapter`` argument runs once per page stem.
book_build : BuildResult
    A clean, strict build (``jupyter-book build . -W -n --keep-going``),
    run at most once per pytest session and only when a test asks for it.
    ``.returncode``, ``.log`` (stdout + stderr), ``.html`` (the
    ``_build/html`` folder) and ``.repository_url`` (the address the
    build was given, ``TEST_REPOSITORY`` unless ``CNNBP_REPOSITORY_URL``
    is set).
"""

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
BUILD_DIR = REPO_ROOT / "_build"
HTML_DIR = BUILD_DIR / "html"
BUILD_TIMEOUT = 900
#: The build under test gets this repository address (unless the caller
#: set one), so its Binder and repository buttons can be checked whatever
#: the checkout's git remote is; book/_ext/repository.py's own tests cover
#: how the address is found.
REPOSITORY_ENV = "CNNBP_REPOSITORY_URL"
TEST_REPOSITORY = "https://github.com/cnnbp-course/cnnbp-course"


def toc_stems():
    """Page stems of ``_toc.yml`` in reading order, root first.

    Returns
    -------
    list of str
        File stems without folder or suffix, e.g. ``"03_stride"``.
    """
    toc = yaml.safe_load((REPO_ROOT / "_toc.yml").read_text())
    entries = toc.get("chapters") or [chapter for part in toc["parts"]
                                      for chapter in part["chapters"]]
    files = [toc["root"]] + [entry["file"] for entry in entries]
    return [Path(name).name for name in files]


@dataclass
class BuildResult:
    """Outcome of one ``jupyter-book build`` run."""

    returncode: int
    log: str
    html: Path
    repository_url: str


def jupyter_book_command():
    """The ``jupyter-book`` executable of the running interpreter."""
    local = Path(sys.executable).with_name("jupyter-book")
    if local.exists():
        return str(local)
    found = shutil.which("jupyter-book")
    if found is None:
        pytest.fail("jupyter-book is not installed: "
                    "pip install -r requirements.txt")
    return found


def build_book():
    """Build the book from scratch, strictly, into ``_build/html``.

    Returns
    -------
    BuildResult
    """
    for stale in (HTML_DIR, BUILD_DIR / ".doctrees"):
        shutil.rmtree(stale, ignore_errors=True)
    command = [jupyter_book_command(), "build", str(REPO_ROOT),
               "-W", "-n", "--keep-going"]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.setdefault(REPOSITORY_ENV, TEST_REPOSITORY)
    done = subprocess.run(command, cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True,
                          timeout=BUILD_TIMEOUT)
    return BuildResult(done.returncode, done.stdout + done.stderr, HTML_DIR,
                       env[REPOSITORY_ENV])


def pytest_generate_tests(metafunc):
    """Parametrize a ``chapter`` argument over the pages of ``_toc.yml``."""
    if "chapter" in metafunc.fixturenames:
        metafunc.parametrize("chapter", toc_stems())


@pytest.fixture(scope="session")
def repo_root():
    """The repository root."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def chapter_stems():
    """Page stems in ``_toc.yml`` order, root first."""
    return toc_stems()


@pytest.fixture(scope="session")
def book_build():
    """One clean, strict build of the book per session."""
    return build_book()
