"""The book builds strictly and its HTML loads nothing from another host.

The build runs once per session (``book_build`` in ``tests/conftest.py``);
the browser tests in ``tests/browser/`` reuse its output.
"""

import re
from html.parser import HTMLParser
from urllib.parse import urlparse

import pytest
import yaml

VENDORED = [
    "_static/mathjax/tex-chtml.js",
    "_static/requirejs/require.js",
    "_static/jupyter-widgets/require-config.js",
    "_static/jupyter-widgets/embed-amd.js",
]


class AssetLinks(HTMLParser):
    """Collect the URLs a page loads: scripts, stylesheets, images, frames."""

    LOADING = {("script", "src"), ("img", "src"), ("iframe", "src"),
               ("source", "src"), ("video", "src"), ("audio", "src"),
               ("embed", "src"), ("object", "data")}

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("src", "data"):
            if (tag, name) in self.LOADING and attrs.get(name):
                self.urls.append(attrs[name])
        rel = (attrs.get("rel") or "").split()
        loads = {"stylesheet", "preload", "icon", "modulepreload"}
        if tag == "link" and loads & set(rel) and attrs.get("href"):
            self.urls.append(attrs["href"])


def html_pages(html_dir):
    """Every built HTML page except Sphinx's generated index/search."""
    skip = {"genindex.html", "search.html"}
    return sorted(p for p in html_dir.rglob("*.html")
                  if p.name not in skip and "_static" not in p.parts)


def test_strict_build_passes(book_build):
    warnings = [line for line in book_build.log.splitlines()
                if "WARNING" in line or "ERROR" in line]
    assert book_build.returncode == 0, (
        "jupyter-book build . -W -n --keep-going failed:\n"
        + "\n".join(warnings or book_build.log.splitlines()[-40:]))
    assert not warnings, "\n".join(warnings)


def test_every_toc_page_is_built(book_build, chapter_stems):
    missing = [stem for stem in chapter_stems
               if not (book_build.html / "book" / f"{stem}.html").exists()]
    assert not missing, f"pages not built: {missing}"


@pytest.mark.parametrize("asset", VENDORED)
def test_vendored_assets_are_served(book_build, asset):
    assert (book_build.html / asset).is_file()


def test_pages_load_nothing_from_another_host(book_build):
    offenders = []
    for page in html_pages(book_build.html):
        parser = AssetLinks()
        parser.feed(page.read_text(encoding="utf-8"))
        for url in parser.urls:
            if urlparse(url).scheme in ("http", "https") or url.startswith(
                    "//"):
                offenders.append(f"{page.relative_to(book_build.html)}: "
                                 f"{url}")
    assert not offenders, "\n".join(offenders)


def test_matplotlib_cdn_stylesheet_is_dropped(book_build):
    pattern = re.compile(r"bootstrapcdn|font-awesome/4")
    hits = [page.name for page in html_pages(book_build.html)
            if pattern.search(page.read_text(encoding="utf-8"))]
    assert not hits, f"to_jshtml CDN link left in {hits}"


def test_notebook_pages_have_binder_and_repository_buttons(
        book_build, chapter_stems, repo_root):
    repo_url = book_build.repository_url
    config = yaml.safe_load((repo_root / "_config.yml").read_text())
    branch = config["repository"]["branch"]
    owner_repo = urlparse(repo_url).path.strip("/")
    for stem in chapter_stems:
        if not (repo_root / "book" / f"{stem}.ipynb").exists():
            continue
        page = (book_build.html / "book" / f"{stem}.html").read_text(
            encoding="utf-8")
        binder = (f"https://mybinder.org/v2/gh/{owner_repo}/{branch}"
                  f"?urlpath=lab/tree/book/{stem}.ipynb")
        assert binder in page, f"{stem}: no Binder (JupyterLab) button"
        assert f'href="{repo_url}"' in page, f"{stem}: no repository button"
    intro = (book_build.html / "book" / "intro.html").read_text(
        encoding="utf-8")
    assert (f"https://mybinder.org/v2/gh/{owner_repo}/{branch}"
            f"?urlpath=lab/tree/book/01_chain_rule.ipynb") in intro
    assert "your-org" not in intro and "{{" not in intro


def test_solutions_are_collapsed(book_build):
    solution = re.compile(r'<div class="([^"]*\bsolution\b[^"]*)"')
    open_ones = []
    for page in html_pages(book_build.html):
        for classes in solution.findall(page.read_text(encoding="utf-8")):
            if "admonition" in classes.split() and (
                    "dropdown" not in classes.split()):
                open_ones.append(page.name)
    assert not open_ones, f"solutions without :class: dropdown: {open_ones}"
