"""What a reader's browser downloads to open each page of the book.

Each page of ``_toc.yml`` is opened in a fresh Chromium context (empty
cache) and the bytes of every response are summed as Chromium counts
them on the wire (the Chrome DevTools Protocol's ``encodedDataLength``
of each finished request: headers and body), until the network is idle
and MathJax has typeset the page (its fonts included). The per-page
figures, largest requests first, are written to
``_build/test-artifacts/page-weight/<page>.txt``.

Two budgets:

* ``SHARED_LIMIT`` (1.35 MB): what the site makes every page load (theme,
  icons, MathJax, the views' and quizzes' engines, the animation
  player), i.e. everything but the page's own document and its own
  images; 1.18-1.30 MB today, of which MathJax is 0.8 MB. Font
  Awesome's 1.5 MB script, MathJax's 1.2 MB menu-carrying bundle or the
  theme's full style sheets coming back would break it
  (book/_ext/lean_pages.py removes them).
* ``TOTAL_LIMIT`` (1.5 MB): the whole first load; 1.22-1.47 MB today.
  The book serves palette PNGs (cnnbp.png, a third of matplotlib's
  bytes), loads an animation's frames when the reader plays it (only
  the first frame comes with the page) and stores each run of
  look-alike code tokens as one span (book/_ext/lean_pages.py).
"""

from pathlib import Path

SHARED_LIMIT = 1_350_000
TOTAL_LIMIT = 1_500_000
ARTIFACTS = Path(__file__).resolve().parents[2] / "_build" / "test-artifacts"
MATHJAX_DONE = """() => (window.MathJax && MathJax.startup
    && MathJax.startup.promise)
    ? MathJax.startup.promise.then(() => true) : true"""


def first_load(browser, url):
    """Load ``url`` with an empty cache; returns ``{url: bytes}``.

    Parameters
    ----------
    browser : playwright Browser
    url : str

    Returns
    -------
    dict
        Bytes on the wire per finished request (redirects and failed
        requests count what they transferred too).
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    urls = {}
    sizes = {}

    def sent(event):
        urls[event["requestId"]] = event["request"]["url"]

    def finished(event):
        name = urls.get(event["requestId"], event["requestId"])
        sizes[name] = sizes.get(name, 0) + event["encodedDataLength"]

    cdp.on("Network.requestWillBeSent", sent)
    cdp.on("Network.loadingFinished", finished)
    cdp.on("Network.loadingFailed", lambda event: finished(
        {"requestId": event["requestId"], "encodedDataLength": 0}))
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    page.evaluate(MATHJAX_DONE)
    page.wait_for_load_state("networkidle")
    context.close()
    return sizes


def report(sizes, top=25):
    """The total and the largest requests, one per line."""
    total = sum(sizes.values())
    lines = [f"{total:>10,d}  total over {len(sizes)} requests"]
    for name, size in sorted(sizes.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"{size:>10,d}  {name.split('?')[0]}")
    return "\n".join(lines)


def own_content(name, chapter):
    """Is request ``name`` the page's own document or one of its images?"""
    path = name.split("?")[0]
    return path.endswith(f"/book/{chapter}.html") or "/_images/" in path


def test_first_load_under_limit(browser, book_url, chapter):
    sizes = first_load(browser, f"{book_url}book/{chapter}.html")
    text = report(sizes)
    shared = sum(size for name, size in sizes.items()
                 if not own_content(name, chapter))
    text += f"\n{shared:>10,d}  shared (all but the page and its images)"
    folder = ARTIFACTS / "page-weight"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{chapter}.txt").write_text(text + "\n")
    assert any(name.split("?")[0].endswith(f"/book/{chapter}.html")
               for name in sizes), text
    assert shared <= SHARED_LIMIT, (
        f"{chapter} loads more than {SHARED_LIMIT:,d} bytes of shared "
        f"assets:\n{text}")
    assert sum(sizes.values()) <= TOTAL_LIMIT, (
        f"{chapter} transfers more than {TOTAL_LIMIT:,d} bytes:\n{text}")
