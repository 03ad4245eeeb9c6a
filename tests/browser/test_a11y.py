"""axe-core finds no serious or critical WCAG 2.1 AA problem on any page.

Every page of ``_toc.yml`` (the ``chapter`` parameter, so new chapters are
audited as soon as they are in the table of contents) is loaded in
headless Chromium, in the theme's light and dark modes, and audited by
axe-core (npm, ``node_modules/axe-core``; ``npm ci`` installs it) with
the WCAG 2.0/2.1 A and AA rules. A missing axe-core fails the test with
the install command, it never skips.

The page is audited once its views have drawn their first step and each
quiz question has been answered (a wrong choice, then a right one, and a
wrong number), so the unanswered, right and wrong states' contrast and
the feedback markup are all audited.

axe only asks that an image have an ``alt`` attribute; Sphinx gives every
figure one, its file path, which a screen reader then reads out. A static
parse of each built page (no browser) checks that no ``<img>`` has an
empty alt or a file name as alt (figures take theirs from the cell
metadata ``mystnb.image.alt``, see tests/test_notebooks.py).
"""

from html.parser import HTMLParser
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}
MODES = ["light", "dark"]

IMAGE_FILE = (".png", ".svg", ".jpg", ".jpeg", ".gif")

# The theme reads the reader's choice from localStorage before painting.
SET_MODE = """(mode) => {
    localStorage.setItem("mode", mode);
    localStorage.setItem("theme", mode);
}"""

RUN_AXE = """(tags) => axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
}).then((result) => result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({
        target: n.target.join(" "),
        summary: n.failureSummary,
        html: n.html.slice(0, 160),
    })),
})))"""

# Answer every quiz question once: a wrong choice then the first choice,
# and a wrong number in every numeric box.
ANSWER_QUIZZES = """() => {
    document.querySelectorAll(".cnnbp-quiz .Quiz").forEach((q) => {
        const wrong = q.querySelector(".MCButton[data-correct='false']");
        if (wrong) { wrong.click(); }
        const right = q.querySelector(".MCButton[data-correct='true']");
        if (right) { right.click(); }
        const input = q.querySelector("input.Input-text");
        if (input) {
            input.value = "123456789";
            q.querySelector(".cq-check").click();
        }
    });
}"""


def axe_violations(page):
    """Serious and critical WCAG 2.1 AA violations on ``page``.

    Returns
    -------
    list of dict
        ``{"id", "impact", "help", "nodes": [{"target", "summary",
        "html"}]}`` per failing rule.
    """
    if not AXE.exists():
        pytest.fail("axe-core is missing: install Node.js, then run "
                    "`npm ci` in the repository root")
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(RUN_AXE, WCAG_AA)
    return [v for v in found if v["impact"] in BLOCKING]


def describe(violations, limit=6):
    """Readable lines for a failure message."""
    lines = []
    for v in violations:
        lines.append(f"{v['impact']} {v['id']}: {v['help']} "
                     f"({len(v['nodes'])} elements)")
        for node in v["nodes"][:limit]:
            lines.append(f"    {node['target']}\n      {node['html']}\n"
                         f"      {node['summary']}".replace("\n  ", "\n  "))
    return "\n".join(lines)


def open_in_mode(page, book_url, chapter, mode):
    """Load ``chapter`` with the theme in ``mode``; returns the page."""
    page.goto(f"{book_url}book/{chapter}.html", wait_until="load")
    page.evaluate(SET_MODE, mode)
    page.reload(wait_until="load")
    page.wait_for_load_state("networkidle")
    page.evaluate("""() => (window.MathJax && MathJax.startup
        && MathJax.startup.promise)
        ? MathJax.startup.promise.then(() => true) : true""")
    theme = page.evaluate("document.documentElement.dataset.theme")
    assert theme == mode, f"the theme did not switch to {mode}: {theme}"
    return page


@pytest.mark.parametrize("mode", MODES)
def test_no_serious_axe_violation(page, book_url, chapter, mode):
    open_in_mode(page, book_url, chapter, mode)
    page.evaluate(ANSWER_QUIZZES)
    found = axe_violations(page)
    assert not found, f"{chapter} ({mode}):\n" + describe(found)


class ImageAlts(HTMLParser):
    """Collect ``(src, alt)`` of every ``<img>``; alt is None if absent."""

    def __init__(self):
        super().__init__()
        self.images = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            attrs = dict(attrs)
            self.images.append((attrs.get("src"), attrs.get("alt")))


def images_without_alt_text(html):
    """The images in a page that have no real alt text.

    An alt that is missing, blank, or ends like an image file name (what
    Sphinx writes when a figure has none) does not describe the image.
    Decorative images would need ``alt=""``; the book has none.

    Parameters
    ----------
    html : str
        The page's HTML.

    Returns
    -------
    list of tuple
        ``(src, alt)`` per offending ``<img>``, in page order.
    """
    parser = ImageAlts()
    parser.feed(html)
    return [(src, alt) for src, alt in parser.images
            if alt is None or not alt.strip()
            or alt.strip().lower().endswith(IMAGE_FILE)]


def test_images_have_alt_text(book_html, chapter):
    page = book_html / "book" / f"{chapter}.html"
    bad = images_without_alt_text(page.read_text(encoding="utf-8"))
    assert not bad, f"{chapter}: images without alt text:\n" + "\n".join(
        f"  src={src} alt={alt!r}" for src, alt in bad)
