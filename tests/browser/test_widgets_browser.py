"""The views on the chapter pages of the built book, in headless Chromium.

For every chapter that must carry a view: the page has one of each kind
it needs, rendered by one copy of the renderer (the Sphinx extension
``book/_ext/cnnbp_views.py``); every preset and random settings and
cells show what cnnbp computes (:mod:`viewcheck`); the views pass axe
(WCAG 2.1 AA) in light and dark mode and fit a 390 px phone with the
selected cell and its equation on screen together. Screenshots go to
``_build/test-artifacts/`` (fixtures in ``tests/browser/conftest.py``).

The views themselves are tested on a page of their own in
``test_views_browser.py``; a chapter whose stored outputs still hold the
views from before issue 14 (``data-view``, no ``data-kind``) is skipped
with the command that refreshes it.
"""
import numpy as np
import pytest

from cnnbp import webview

import viewcheck

CHAPTERS = {
    "02_convolution": {"forward"},
    "03_stride": {"forward"},
    "04_padding": {"forward", "shape"},
    "05_channels": {"channels"},
    "06_filter_gradient": {"filter_grad"},
    "07_input_gradient": {"input_grad"},
    "09_maxpool": {"maxpool"},
}
PHONE = {"width": 390, "height": 844}


def _views(page, stem):
    """The chapter's rendered views, after checking their kinds."""
    if (page.locator(".cnnbp-view[data-view]").count()
            and not page.locator(".cnnbp-view[data-kind]").count()):
        pytest.skip(f"{stem} stores the views from before issue 14: "
                    f"refresh it with `make outputs CHAPTER={stem}`")
    views = page.locator(".cnnbp-view[data-kind]")
    page.wait_for_function(
        "n => document.querySelectorAll('.cnnbp-view[data-ready]')"
        ".length === n", arg=views.count())
    kinds = {views.nth(k).get_attribute("data-kind")
             for k in range(views.count())}
    missing = CHAPTERS[stem] - kinds
    assert not missing, f"{stem} lacks a view: {missing}"
    return [views.nth(k) for k in range(views.count())]


@pytest.mark.parametrize("stem", sorted(CHAPTERS))
def test_views_show_cnnbps_numbers_and_maps(stem, open_chapter,
                                            screenshot):
    page = open_chapter(stem)
    views = _views(page, stem)
    version = webview.assets()[2]
    inline = page.evaluate(
        "() => Array.from(document.querySelectorAll("
        "'script[data-cnnbp-views]:not([src])'), (s) => "
        "s.dataset.cnnbpViews)")
    assert all(v == version for v in inline), (
        f"{stem} stores a renderer other than cnnbp's: refresh it with "
        f"`make outputs CHAPTER={stem}`")
    assert not inline and page.locator(
        "script[src][data-cnnbp-views]").count() == 1, (
        "the page should load the renderer once, from _static: register "
        "book/_ext/cnnbp_views.py in _config.yml (sphinx: "
        "local_extensions)")
    folder = screenshot(page, f"{stem}-views-1280").parent
    rng = np.random.default_rng(sum(map(ord, stem)))
    for k, view in enumerate(views):
        kind = view.get_attribute("data-kind")
        handle = view.element_handle()
        select = view.locator("select[data-control=config]")
        for p in range(select.locator("option:not([disabled])").count()):
            select.select_option(str(p))
            assert view.get_attribute("data-preset") == str(p)
            viewcheck.check(handle.evaluate(viewcheck.SNAPSHOT))
        view.scroll_into_view_if_needed()
        view.screenshot(path=str(folder / f"{stem}-{kind}-{k}-1280.png"))
        for shot in viewcheck.drive(handle, rng, 12):
            viewcheck.check(shot)


@pytest.mark.parametrize("stem", sorted(CHAPTERS))
def test_views_fit_a_phone_and_pass_axe(stem, open_chapter, screenshot):
    page = open_chapter(stem)
    page.set_viewport_size(PHONE)
    views = _views(page, stem)
    folder = screenshot(page, f"{stem}-views-390").parent
    for k, view in enumerate(views):
        kind = view.get_attribute("data-kind")
        view.scroll_into_view_if_needed()
        box = view.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        view.locator("button[data-action=next]").click()
        for part in ("td[data-role=cur]", "[data-control=equation]"):
            rect = view.locator(part).bounding_box()
            assert 0 <= rect["y"] and rect["y"] + rect["height"] <= (
                PHONE["height"]), (stem, kind, part)
        page.screenshot(path=str(folder / f"{stem}-{kind}-{k}-390.png"))
    page.add_script_tag(path=str(viewcheck.AXE))
    run = viewcheck.axe_run("'.cnnbp-view'")
    assert page.evaluate(run) == []
    page.evaluate("() => { document.documentElement.dataset.theme = "
                  "'dark'; document.documentElement.dataset.mode = "
                  "'dark'; }")
    for k, view in enumerate(views):
        view.scroll_into_view_if_needed()
        view.screenshot(path=str(folder / f"{stem}-{k}-390-dark.png"))
    assert page.evaluate(run) == []
