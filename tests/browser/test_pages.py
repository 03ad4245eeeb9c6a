"""Every page of the book, in headless Chromium, with no network.

For each page of ``_toc.yml``: the math is typeset by the book's own
MathJax (no raw TeX left, no MathJax error), nothing is requested from
another host (the ``page`` fixture fails the test otherwise), no console
or page error, no missing file; screenshots of the first screen at desktop
and phone width go to ``_build/test-artifacts/pages/``.
"""

import re

PHONE = {"width": 390, "height": 844}
# A TeX command in the reading text means math that was never typeset,
# e.g. a cross-reference whose link text is a title holding math.
TEX_COMMAND = re.compile(r"\\(?:[A-Za-z]{2,}|[()\[\]])")

# Text of the page outside code, with the typeset math removed.
VISIBLE_TEXT = """() => {
    const root = document.querySelector("article") || document.body;
    const clone = root.cloneNode(true);
    clone.querySelectorAll(
        "pre, code, script, style, textarea, mjx-container, .highlight"
    ).forEach((node) => node.remove());
    return clone.textContent;
}"""

# Sphinx math elements whose TeX MathJax has not replaced.
UNTYPESET = """() => Array.from(
    document.querySelectorAll("span.math, div.math"))
    .filter((node) => !node.querySelector("mjx-container"))
    .map((node) => node.textContent.slice(0, 80))"""


def test_page_renders_offline(open_chapter, screenshot, chapter):
    page = open_chapter(chapter)

    assert page.locator("mjx-container").count() > 0, "no typeset math"
    assert page.evaluate(UNTYPESET) == [], "math left as raw TeX"
    math_errors = page.locator("mjx-merror").all_inner_texts()
    assert not math_errors, f"MathJax errors: {math_errors}"
    text = page.evaluate(VISIBLE_TEXT)
    raw_tex = sorted(set(TEX_COMMAND.findall(text)))
    assert not raw_tex, f"raw TeX on the page: {raw_tex}"
    assert "$$" not in text, "raw $$ on the page"

    screenshot(page, f"pages/{chapter}-1280")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)
    screenshot(page, f"pages/{chapter}-390")

    assert not page.bad_responses, page.bad_responses
    assert not page.console_errors, page.console_errors
