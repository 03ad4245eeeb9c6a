"""Browser fixtures: the built book served on 127.0.0.1, driven by Chromium.

Debian's ``chromium`` (``/usr/bin/chromium``, or the path in the
``CNNBP_CHROMIUM`` environment variable) driven by the Python
``playwright`` package; no browser is ever downloaded. A missing Chromium
fails the tests with the install command, it never skips them.

Fixtures
--------
book_html : Path
    ``_build/html``, built by the session's strict build (``book_build``
    in ``tests/conftest.py``). Set ``CNNBP_REUSE_BUILD=1`` to reuse an
    existing ``_build/html`` while iterating on browser tests.
book_url : str
    Base URL of the served book, ``http://127.0.0.1:<free port>/``.
browser : playwright Browser
    Headless Chromium, one per session.
page : playwright Page
    A fresh 1280x900 page. It records, as attributes,
    ``page.requests`` (every URL requested), ``page.bad_responses``
    (``"404 http://..."`` for each status >= 400), ``page.console_errors``
    and ``page.page_errors``. At teardown the test FAILS if any request
    went to a host other than 127.0.0.1 or any page error (uncaught
    exception) occurred.
open_chapter : callable
    ``open_chapter("03_stride")`` loads ``book/03_stride.html`` in
    ``page``, waits for the network to go idle and MathJax to finish
    typesetting, and returns the page. ``open_chapter("intro")`` opens
    the intro page.
screenshot : callable
    ``screenshot(page, "03_stride-step2")`` saves a PNG of the viewport
    to ``_build/test-artifacts/<name>.png`` (ignored by git; a name may
    hold a subfolder, e.g. ``"widgets/03_stride"``) and returns its path;
    ``full_page=True`` takes the whole page (slow on long pages: seconds).
    For one element: ``page.locator("#id").screenshot(path=...)``.
chapter : str
    Any test (anywhere under tests/) that takes a ``chapter`` argument
    runs once per page of ``_toc.yml``, root first (``tests/conftest.py``
    parametrizes it), e.g. ``def test_x(open_chapter, chapter)``.

Example
-------
::

    def test_stride_widget_steps(open_chapter, screenshot):
        page = open_chapter("03_stride")
        page.click("#stride-view-next")
        screenshot(page, "03_stride-after-next")
"""

import functools
import http.server
import os
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
HTML_DIR = REPO_ROOT / "_build" / "html"
ARTIFACTS = REPO_ROOT / "_build" / "test-artifacts"
CHROMIUM = os.environ.get("CNNBP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu",
    "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
ALLOWED_HOSTS = {"127.0.0.1"}
LOCAL_SCHEMES = {"data", "blob", "about"}
MATHJAX_DONE = """() => (window.MathJax && MathJax.startup
    && MathJax.startup.promise)
    ? MathJax.startup.promise.then(() => true) : true"""


def is_local(url):
    """True if loading ``url`` stays on this machine."""
    parsed = urlparse(url)
    if parsed.scheme in LOCAL_SCHEMES:
        return True
    return parsed.hostname in ALLOWED_HOSTS


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Static file handler that does not log every request."""

    def log_message(self, format, *args):
        """Drop the access log."""


@pytest.fixture(scope="session")
def book_html(request):
    """The built HTML folder (built strictly once per session)."""
    index = HTML_DIR / "index.html"
    if not (os.environ.get("CNNBP_REUSE_BUILD") == "1" and index.exists()):
        result = request.getfixturevalue("book_build")
        if not index.exists():
            pytest.fail("the book did not build; last lines of the log:\n"
                        + "\n".join(result.log.splitlines()[-30:]))
    return HTML_DIR


@pytest.fixture(scope="session")
def book_url(book_html):
    """Serve ``book_html`` on 127.0.0.1 at a free port for the session."""
    handler = functools.partial(QuietHandler, directory=str(book_html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium through Playwright."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: the browser tests "
                    "need Debian's chromium (sudo apt-get install -y "
                    "chromium) or CNNBP_CHROMIUM=/path/to/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is missing: "
                    "pip install -r requirements-dev.txt")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A recorded page; fails the test on external requests/page errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    new_page = context.new_page()
    new_page.requests = []
    new_page.bad_responses = []
    new_page.console_errors = []
    new_page.page_errors = []
    new_page.on("request", lambda req: new_page.requests.append(req.url))
    new_page.on("response", lambda resp: resp.status >= 400 and (
        new_page.bad_responses.append(f"{resp.status} {resp.url}")))
    new_page.on("console", lambda msg: msg.type == "error" and (
        new_page.console_errors.append(msg.text)))
    new_page.on("pageerror", lambda err: new_page.page_errors.append(
        f"{err}\n{err.stack}"))
    yield new_page
    external = [url for url in new_page.requests if not is_local(url)]
    errors = list(new_page.page_errors)
    context.close()
    problems = []
    if external:
        problems.append("requests left 127.0.0.1:\n  "
                        + "\n  ".join(external))
    if errors:
        problems.append("page errors:\n  " + "\n  ".join(errors))
    if problems:
        pytest.fail("\n".join(problems))


@pytest.fixture
def open_chapter(page, book_url):
    """Open a page of the book by stem; returns the loaded page."""

    def open_(stem):
        page.goto(f"{book_url}book/{stem}.html", wait_until="load")
        page.wait_for_load_state("networkidle")
        page.evaluate(MATHJAX_DONE)
        return page

    return open_


@pytest.fixture(scope="session")
def screenshot():
    """Save a PNG of the viewport (or whole page) under test-artifacts."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def save(target_page, name, full_page=False):
        path = ARTIFACTS / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        target_page.screenshot(path=str(path), full_page=full_page)
        return path

    return save
