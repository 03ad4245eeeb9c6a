"""book/_ext/repository.py: one setting for the repository address.

The address comes from CNNBP_REPOSITORY_URL, else ``repository: url:``
in _config.yml, else the checkout's git remote ``origin``; with none, the
build says which setting to fill and leaves the buttons out.
"""

import importlib.util
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SPEC = importlib.util.spec_from_file_location(
    "repository", ROOT / "book" / "_ext" / "repository.py")
repository = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(repository)


@pytest.mark.parametrize("remote, url", [
    ("git@github.com:someone/cnnbp-course.git",
     "https://github.com/someone/cnnbp-course"),
    ("https://github.com/someone/cnnbp-course.git",
     "https://github.com/someone/cnnbp-course"),
    ("https://github.com/someone/cnnbp-course",
     "https://github.com/someone/cnnbp-course"),
    ("ssh://git@gitlab.com/group/course.git",
     "https://gitlab.com/group/course"),
    ("https://x-access-token:abc@github.com/o/r.git/",
     "https://github.com/o/r"),
    ("/srv/git/cnnbp.git", None),
    ("file:///tmp/cnnbp", None),
    ("https://example.org/o/r.git", None),
    ("https://github.com/only-owner", None),
])
def test_remote_addresses_are_normalised(remote, url):
    assert repository.normalise(remote) == url


def git(folder, *args):
    subprocess.run(["git", "-C", str(folder), *args], check=True,
                   capture_output=True)


def test_address_comes_from_env_then_config_then_remote(tmp_path):
    git(tmp_path, "init", "-q")
    assert repository.resolve("", tmp_path, {}) == (None, "")
    git(tmp_path, "remote", "add", "origin",
        "git@github.com:fork-owner/cnnbp-course.git")
    assert repository.resolve("", tmp_path, {}) == (
        "https://github.com/fork-owner/cnnbp-course", "git remote")
    assert repository.resolve("https://github.com/a/b/", tmp_path, {}) == (
        "https://github.com/a/b", "_config.yml")
    env = {repository.ENV: "https://github.com/c/d"}
    assert repository.resolve("https://github.com/a/b", tmp_path, env) == (
        "https://github.com/c/d", "environment")


def fake_app(srcdir, options):
    config = SimpleNamespace(html_theme_options=options,
                             myst_substitutions={})
    return SimpleNamespace(srcdir=str(srcdir)), config


def test_without_an_address_the_build_says_what_to_set(tmp_path, caplog,
                                                       monkeypatch):
    monkeypatch.delenv(repository.ENV, raising=False)
    git(tmp_path, "init", "-q")
    app, config = fake_app(tmp_path, {
        "repository_url": "", "launch_buttons": {
            "binderhub_url": "https://mybinder.org"}})
    with caplog.at_level("INFO"):
        repository.configure(app, config)
    assert "repository: url:" in caplog.text and repository.ENV in (
        caplog.text)
    options = config.html_theme_options
    assert options["use_repository_button"] is False
    assert "launch_buttons" not in options
    assert "without a repository address" in (
        config.myst_substitutions["binder_link"])


def test_with_an_address_buttons_and_intro_link_point_at_it(tmp_path,
                                                            monkeypatch):
    monkeypatch.setenv(repository.ENV, "https://github.com/fork/course")
    app, config = fake_app(tmp_path, {
        "repository_branch": "main",
        "launch_buttons": {"binderhub_url": "https://mybinder.org"}})
    repository.configure(app, config)
    options = config.html_theme_options
    assert options["repository_url"] == "https://github.com/fork/course"
    assert options["use_repository_button"] is True
    assert ("https://mybinder.org/v2/gh/fork/course/main?urlpath=lab/"
            "tree/book/01_chain_rule.ipynb") in (
        config.myst_substitutions["binder_link"])


def test_config_holds_no_placeholder_address():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["repository"]["url"] == ""
    assert "your-org" not in (ROOT / "_config.yml").read_text()
    assert "your-org" not in (ROOT / "book" / "intro.md").read_text()
