"""The stepping views on the real chapter pages, driven in headless Chromium.

For every chapter that must carry a view: the page has one, its controls
(next, prev, slider, play, configuration select) change what is shown,
and the highlighted cells of the current step are the ones
:mod:`cnnbp.indexmap` computes for that configuration (read from the
view's ``data-geom``).  Screenshots of each view, after stepping, go to
``_build/test-artifacts/`` (fixtures in ``tests/browser/conftest.py``).
"""
import json

import numpy as np
import pytest

import cnnbp
from cnnbp import indexmap

CHAPTERS = {
    "02_convolution": {"forward"},
    "03_stride": {"forward"},
    "04_padding": {"forward", "shape"},
    "05_channels": {"channels"},
    "06_filter_gradient": {"filter_grad"},
    "07_input_gradient": {"input_grad"},
    "09_maxpool": {"maxpool"},
}


def _cells(view, grid, sub=None, role=None):
    sel = f'td[data-grid="{grid}"][data-hl="1"]'
    if sub is not None:
        sel = f'td[data-grid="{grid}"][data-sub="{sub}"][data-hl="1"]'
    if role is not None:
        sel += f'[data-role="{role}"]'
    cells = view.evaluate(
        "(v, sel) => Array.from(v.querySelectorAll(sel)).map("
        "td => [+td.dataset.row, +td.dataset.col])", sel)
    return {tuple(c) for c in cells}


def _values(view, grid, sub=""):
    rows = view.evaluate(
        "(v, sel) => Array.from(v.querySelector(sel).rows).slice(1).map("
        "tr => Array.from(tr.cells).slice(1).map("
        "td => td.firstChild.nodeValue))",
        f'table[data-grid="{grid}"][data-sub="{sub}"]')
    return np.array(rows, dtype=float)


def _conv_geom(geom):
    return indexmap.conv_geometry(geom["H"], geom["W"], geom["HH"],
                                  geom["WW"], geom["stride"],
                                  geom["padding"], geom["dilation"])


def _check_step(view, kind):
    """Compare the highlighted cells with cnnbp.indexmap."""
    geom = json.loads(view.get_attribute("data-geom"))
    step = int(view.get_attribute("data-step"))
    if kind == "forward":
        g = _conv_geom(geom)
        i, j = divmod(step, g.W_out)
        terms = indexmap.forward_terms(g, i, j)
        assert _cells(view, "input") == {(t.u_pad, t.v_pad) for t in terms}
        assert _cells(view, "filter") == {(t.m, t.n) for t in terms}
        assert _cells(view, "output", "") == {(i, j)}
    elif kind == "channels":
        g = _conv_geom(geom)
        f, rest = divmod(step, g.H_out * g.W_out)
        i, j = divmod(rest, g.W_out)
        terms = indexmap.forward_terms(g, i, j)
        for c in range(geom["C"]):
            assert _cells(view, "input", str(c)) == {(t.u_pad, t.v_pad)
                                                     for t in terms}
        assert _cells(view, "output", str(f)) == {(i, j)}
    elif kind == "filter_grad":
        g = _conv_geom(geom)
        m, n = divmod(step, g.WW)
        terms = indexmap.filter_grad_terms(g, m, n)
        assert _cells(view, "input") == {(t.u_pad, t.v_pad) for t in terms}
        assert _cells(view, "dout", "") == {(t.i, t.j) for t in terms}
        assert _cells(view, "dw") == {(m, n)}
    elif kind == "input_grad" and geom["mode"] == "gather":
        g = _conv_geom(geom)
        u, v = divmod(step, g.W)
        terms = indexmap.input_grad_terms(g, u, v)
        assert _cells(view, "dout", "") == {(t.i, t.j) for t in terms}
        assert _cells(view, "filter", "") == {(t.m, t.n) for t in terms}
        assert _cells(view, "dx", "") == {(u, v)}
    elif kind == "input_grad":
        g = _conv_geom(geom)
        i, j = divmod(step, g.W_out)
        terms = indexmap.forward_terms(g, i, j)
        assert _cells(view, "dx", "partial") == {(t.u_pad, t.v_pad)
                                                 for t in terms}
        assert _cells(view, "dout", "") == {(i, j)}
    elif kind == "maxpool":
        g = indexmap.pool_geometry(geom["H"], geom["W"], geom["size"],
                                   geom["stride"])
        i, j = divmod(step, g.W_out)
        x = _values(view, "input")
        win = indexmap.pool_winners(x, g.size, g.stride)
        assert _cells(view, "input") == set(g.window(i, j))
        assert _cells(view, "input", role="win") == {tuple(win[i, j])}
        assert _cells(view, "output") == {(i, j)}
    else:
        raise AssertionError(f"unknown view kind {kind}")


def _shown(view):
    return (view.get_attribute("data-config"),
            view.get_attribute("data-step"),
            view.locator("[data-control=equation]").inner_text(),
            view.locator("[data-control=text]").inner_text())


def _drive_steps(page, view, kind):
    steps = int(view.get_attribute("data-steps"))
    assert view.get_attribute("data-step") == "0"
    _check_step(view, kind)
    before = _shown(view)
    if steps > 1:
        view.locator("button[data-action=next]").click()
        assert view.get_attribute("data-step") == "1"
        assert _shown(view) != before
        _check_step(view, kind)
        view.locator("button[data-action=prev]").click()
        assert _shown(view) == before
    last = steps - 1
    slider = view.locator("input[data-control=step]")
    slider.fill(str(last))
    assert view.get_attribute("data-step") == str(last)
    _check_step(view, kind)
    slider.fill("0")
    if steps > 1:
        view.locator("button[data-action=play]").click()
        page.wait_for_function(
            "v => v.getAttribute('data-step') !== '0'",
            arg=view.element_handle(), timeout=5000)
        view.locator("button[data-action=play]").click()
        _check_step(view, kind)
    select = view.locator("select[data-control=config]")
    if select.count():
        n = select.locator("option").count()
        for c in range(n):
            select.select_option(str(c))
            assert view.get_attribute("data-config") == str(c)
            assert view.get_attribute("data-step") == "0"
            _check_step(view, kind)
            view.locator("button[data-action=next]").click()
            _check_step(view, kind)


def _drive_shape(view):
    hs = view.locator("select[data-control=H]")
    seen = set()
    for label in ["7", "3", "1"]:
        hs.select_option(label=label)
        vals = {name: int(view.locator(
            f"select[data-control={name}] option:checked").inner_text())
            for name in "Hkspd"}
        try:
            want = str(cnnbp.output_size(vals["H"], vals["k"], vals["s"],
                                         vals["p"], vals["d"]))
        except ValueError as err:
            want = ""
            error = view.locator("[data-control=error]").inner_text()
            assert str(err) in error
        assert view.get_attribute("data-hout") == want
        seen.add(view.locator("[data-control=equation]").inner_text())
    assert len(seen) == 3


def _views(page, stem):
    views = page.locator(".cnnbp-view[data-ready='1']")
    kinds = {views.nth(k).get_attribute("data-view")
             for k in range(views.count())}
    missing = CHAPTERS[stem] - kinds
    assert not missing, f"{stem} lacks a stepping view: {missing}"
    return [views.nth(k) for k in range(views.count())]


@pytest.mark.parametrize("stem", sorted(CHAPTERS))
def test_views_step_and_match_indexmap(stem, open_chapter, screenshot):
    page = open_chapter(stem)
    folder = screenshot(page, f"{stem}-views-1280").parent
    for k, view in enumerate(_views(page, stem)):
        kind = view.get_attribute("data-view")
        view.scroll_into_view_if_needed()
        if kind == "shape":
            _drive_shape(view)
        else:
            _drive_steps(page, view, kind)
        view.screenshot(path=str(folder / f"{stem}-{kind}-{k}-1280.png"))


@pytest.mark.parametrize("stem", sorted(CHAPTERS))
def test_views_fit_a_phone(stem, open_chapter, screenshot):
    page = open_chapter(stem)
    page.set_viewport_size({"width": 390, "height": 844})
    folder = screenshot(page, f"{stem}-views-390").parent
    for k, view in enumerate(_views(page, stem)):
        kind = view.get_attribute("data-view")
        view.scroll_into_view_if_needed()
        box = view.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        nxt = view.locator("button[data-action=next]")
        if nxt.count() and nxt.is_enabled():
            nxt.click()
            _check_step(view, kind)
        view.screenshot(path=str(folder / f"{stem}-{kind}-{k}-390.png"))
