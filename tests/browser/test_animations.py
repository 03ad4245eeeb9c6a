"""The chapters' matplotlib animations play in the built book.

The book serves each frame as a file and its player
(``book/_css/animation.js``, put in by ``book/_ext/lean_pages.py``)
fetches a frame when it is shown. On each page with an animation: the
page loads the first frame of each animation and no other; every first
frame shows (decoded, with its alt text), the frame slider keeps its
label; stepping shows the next frame, playing reaches the last one and
no frame fails to load. Screenshots of ch08's animation after one step,
at 1280 and 390 px, go to ``_build/test-artifacts/animations/``.
"""

import re

import pytest

CHAPTERS = ["01_chain_rule", "08_bias_activation", "10_im2col",
            "18_fast_convolutions"]
PHONE = {"width": 390, "height": 844}
FRAME_FILE = re.compile(r"/_images/anim-[0-9a-f]{16}\.png$")

STATE = """(box) => {
    const img = box.querySelector("img[id^=_anim_img]");
    const slider = box.querySelector("input[type=range]");
    return {src: img.getAttribute("src"), alt: img.getAttribute("alt"),
            shown: img.complete && img.naturalWidth > 0,
            label: slider.getAttribute("aria-label"),
            value: Number(slider.value), max: Number(slider.max)};
}"""


def test_every_page_with_an_animation_is_listed(book_html):
    found = sorted(page.stem for page in (book_html / "book").glob("*.html")
                   if "_anim_img" in page.read_text(encoding="utf-8"))
    assert found == CHAPTERS


def shoot(page, box, screenshot):
    """Screenshots of ``box`` at desktop, then phone, width."""
    folder = screenshot(page, "animations/08-step1-page-1280").parent
    box.screenshot(path=str(folder / "08-step1-1280.png"))
    page.set_viewport_size(PHONE)
    box.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    screenshot(page, "animations/08-step1-390")
    box.screenshot(path=str(folder / "08-step1-box-390.png"))
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.parametrize("stem", CHAPTERS)
def test_frames_load_on_demand_and_play(stem, open_chapter, screenshot):
    page = open_chapter(stem)
    html = page.content()
    assert "data:image/png" not in html, "frames still inline"
    assert "function isInternetExplorer" not in html, "inline player left"
    boxes = page.locator("div.animation")
    assert boxes.count() > 0
    first = {}
    for k in range(boxes.count()):
        state = boxes.nth(k).evaluate(STATE)
        assert state["shown"], state
        assert state["alt"] and state["label"] == "animation frame", state
        assert (state["value"], state["max"] > 0) == (0, True), state
        first[k] = state["src"]
    loaded = {url.split("?")[0].rsplit("/", 1)[1] for url in page.requests
              if FRAME_FILE.search(url.split("?")[0])}
    assert loaded == {src.rsplit("/", 1)[1] for src in first.values()}
    for k in range(boxes.count()):
        box = boxes.nth(k)
        box.scroll_into_view_if_needed()
        box.locator("button[title='Next frame']").click()
        page.wait_for_function(
            "(box) => { const img = box.querySelector('img'); "
            "return img.complete && img.naturalWidth > 0; }",
            arg=box.element_handle())
        state = box.evaluate(STATE)
        assert state["value"] == 1 and state["src"] != first[k], state
        if stem == "08_bias_activation" and k == 0:
            shoot(page, box, screenshot)
        for _ in range(4):
            box.locator("button[title='Increase speed']").click()
        box.locator("button[title='Play']").click()
        page.wait_for_function(
            "(box) => { const s = box.querySelector('input[type=range]');"
            " return s.value === s.max; }", arg=box.element_handle(),
            timeout=20000)
        page.wait_for_load_state("networkidle")
        state = box.evaluate(STATE)
        assert state["shown"] and state["value"] == state["max"], state
    assert not page.bad_responses, page.bad_responses
    assert not page.console_errors, page.console_errors
