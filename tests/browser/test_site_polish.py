"""The book as a reader meets it around the chapters: search, paper, phone.

* Search: a page is listed once, its snippet is its text (not the
  page's buttons and previous/next links), and no result shows raw TeX.
* Print: no inert control and no focus ring on paper; solutions and
  hidden code stay folded.
* Phone (390 px): no inline formula is clipped, and matplotlib figures
  keep their natural size (the output scrolls sideways) instead of
  shrinking to illegible labels.
* Keyboard: formulas are tab stops only where they scroll.
"""

import re

PHONE = {"width": 390, "height": 844}
RAW_TEX = re.compile(r"\\(?:[A-Za-z]{2,}|[()\[\]])")
CHROME = ["Launch Binder", ".ipynb", ".pdf", "previous", "Contents"]

RESULTS = """() => Array.from(
    document.querySelectorAll("#search-results ul.search li"))
    .map((li) => ({
        title: li.querySelector("a").textContent,
        snippet: (li.querySelector("p.context") || {}).textContent || "",
    }))"""


def search(page, book_url, query):
    page.goto(f"{book_url}search.html?q={query}", wait_until="load")
    page.wait_for_selector("#search-results ul.search li p.context",
                           timeout=30_000)
    page.wait_for_function(
        """() => !document.querySelector("#search-progress")
            || document.querySelector("#search-progress").textContent
               === "" || document.querySelector("#search-results h2")""")
    page.wait_for_timeout(500)
    return page.evaluate(RESULTS)


def test_search_lists_a_page_once_with_its_text(page, book_url):
    results = search(page, book_url, "stride")
    titles = [r["title"] for r in results]
    assert titles.count("3. Stride") == 1, titles
    assert not any(t.startswith("3. Stride >") and t.endswith("> Stride")
                   for t in titles), titles
    stride = next(r for r in results if r["title"] == "3. Stride")
    assert stride["snippet"].lstrip(". ").startswith("3. Stride"), stride
    for result in results:
        assert not RAW_TEX.search(result["title"]), result["title"]
        head = result["snippet"][:60]
        assert not any(word in head for word in CHROME), result


def test_search_titles_hold_no_tex(page, book_url):
    results = search(page, book_url, "dilate")
    titles = [r["title"] for r in results]
    assert any("∂L" in t for t in titles), titles
    assert not any(RAW_TEX.search(t) for t in titles), titles


PRINT_STATE = """() => {
    window.dispatchEvent(new Event("beforeprint"));
    const shown = (el) => el && getComputedStyle(el).display !== "none"
        && el.getClientRects().length > 0;
    const any = (sel) => Array.from(document.querySelectorAll(sel))
        .filter(shown).length;
    const state = {
        viewControls: any(".cnnbp-view .cv-controls"),
        animControls: any(".anim-controls"),
        copyButtons: any("button.copybtn"),
        openHidden: document.querySelectorAll(
            "details.hide[open], details.toggle-details[open]").length,
        solutionsShown: Array.from(document.querySelectorAll(
            ".solution.dropdown")).filter((s) =>
            !s.classList.contains("toggle-hidden")
            && s.classList.contains("toggle")).length,
    };
    const button = document.querySelector(".cnnbp-quiz .MCButton");
    button.focus();
    state.quizOutline = getComputedStyle(button).outlineStyle;
    return state;
}"""


def test_print_hides_inert_controls_and_keeps_solutions_folded(
        open_chapter):
    page = open_chapter("04_padding")
    assert page.locator(".solution.dropdown").count(), "no solution here"
    page.emulate_media(media="print")
    state = page.evaluate(PRINT_STATE)
    assert state == {"viewControls": 0, "animControls": 0,
                     "copyButtons": 0, "openHidden": 0,
                     "solutionsShown": 0, "quizOutline": "none"}, state


CLIPPED_MATH = """() => Array.from(document.querySelectorAll("span.math"))
    .filter((m) => m.scrollWidth > m.clientWidth + 1)
    .filter((m) => getComputedStyle(m).overflowX !== "auto"
        || m.tabIndex !== 0)
    .map((m) => m.textContent.slice(0, 60))"""

SHRUNK_FIGURES = """() => Array.from(
    document.querySelectorAll(".cell_output > img, .animation img"))
    .filter((img) => img.naturalWidth > 0
        && img.getBoundingClientRect().width < img.naturalWidth - 1)
    .map((img) => img.getAttribute("src"))"""

TAB_STOP_MATH = """() => Array.from(document.querySelectorAll(
    "mjx-container, span.math")).filter((m) => m.tabIndex >= 0
        && m.scrollWidth <= m.clientWidth + 1).length"""


def test_phone_math_and_figures_stay_legible(open_chapter, chapter):
    page = open_chapter(chapter)
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(600)
    assert page.evaluate(CLIPPED_MATH) == [], "inline math clipped"
    assert page.evaluate(SHRUNK_FIGURES) == [], "figures shrunk"
    assert page.evaluate(TAB_STOP_MATH) == 0, (
        "formulas that do not scroll are tab stops")
