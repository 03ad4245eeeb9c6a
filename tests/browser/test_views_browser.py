"""The views on a page of their own, in headless Chromium.

The page holds one view of each kind with the chapters' presets, served
on 127.0.0.1 (no book build needed). The tests:

- compare the JavaScript twin (``cnnbp/web/view_indexmap.js``) with
  :mod:`cnnbp.indexmap` and the cnnbp operations, cell for cell, over
  the whole range of the controls: the browser computes every map in
  one call and returns a CRC-32 per map and setting; Python computes
  the same maps from :mod:`cnnbp.indexmap` (per axis, composed with
  NumPy: each 2-D map is the product of its two axes, as
  ``tests/test_indexmap.py::test_each_map_is_the_product_of_its_two_axes``
  checks) and compares;
- drive every view kind with random settings and random cells through
  the DOM contract and compare what it shows with cnnbp
  (:mod:`viewcheck`);
- press keys, click, hover and tour as a reader does; refuse a setting;
- run axe-core (WCAG 2.1 AA) in light and dark mode, at 1280 and 390
  px, and take screenshots (``_build/test-artifacts/views/``);
- load the page with JavaScript off: each view shows its first step.
"""
import functools
import http.server
import json
import subprocess
import sys
import textwrap
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest

import cnnbp
from cnnbp import indexmap, webview, widgets

import viewcheck

REPO = Path(__file__).resolve().parents[2]
PHONE = {"width": 390, "height": 844}
KINDS = ["forward", "channels", "filter_grad", "input_grad", "maxpool",
         "shape"]
SHAPE_RANGES = dict(H=[*range(1, 11), 14, 27, 28], k=range(1, 8),
                    s=range(1, 4), p=range(0, 4), d=range(1, 3))


def _views():
    """One view per kind, with presets like the chapters'."""
    X = [[0, 2, -3, 2, -3], [-2, -2, -2, -1, -2], [-3, -3, 2, -2, 1],
         [-3, -2, 1, -3, 1], [0, -1, 0, 2, -3]]
    F = [[-1, 0, -2], [1, 1, -1], [-1, -1, 0]]
    ex = dict(H=3, k=2, w=[[1, 2], [3, 4]], dout=[[1, 2], [-1, 3]])
    return [
        widgets.forward_view([
            dict(x=X, w=F, b=-1, label="5x5 example, stride 1"),
            dict(x=X, w=F, b=-1, stride=2, label="5x5 example, stride 2"),
            dict(H=4, W=6, k=(2, 3), label="non-square"),
            dict(H=6, k=3, stride=2, padding=1, dilation=(1, 2))]),
        widgets.channels_view([{}, dict(C=3, K=1, H=3, padding=1)]),
        widgets.filter_grad_view([
            dict(H=3, k=2, x=np.arange(1, 10).reshape(3, 3),
                 dout=[[1, 2], [-1, 3]], label="worked example"),
            dict(H=5, k=3, stride=2), dict(H=4, k=3, padding=1)]),
        widgets.input_grad_view([
            dict(ex, label="worked example: gather"),
            dict(ex, mode="scatter", label="worked example: scatter"),
            dict(H=6, k=3, stride=2), dict(H=4, k=3, padding=1,
                                           mode="scatter")]),
        widgets.maxpool_view([
            dict(x=[[1, 3, 2, 1], [4, 2, 0, 5], [1, 1, 6, 2],
                    [0, 2, 3, 1]], dout=[[1, -2], [3, 0.5]]),
            dict(x=[[1, 0, 2, 5, 1], [3, 1, 0, 2, 0], [0, 8, 1, 3, 6],
                    [2, 1, 0, 1, 2], [1, 4, 2, 0, 1]], size=3, stride=2,
                 dout=[[1, 2], [3, 4]], label="overlapping"),
            dict(x=[[3, 3, 1, 0], [1, 0, 2, 2], [0, 5, 4, 4],
                    [5, 1, 4, 0]], dout=[[1, 2], [3, 4]], label="ties")]),
        widgets.shape_calculator(**SHAPE_RANGES, initial=(28, 3, 2, 1, 1)),
    ]


VIEWS = _views()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        """Drop the access log."""


def _serve(folder):
    """Serve ``folder`` on 127.0.0.1; returns the server and its URL."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


@pytest.fixture(scope="module")
def views_url(tmp_path_factory):
    """The test page, served on 127.0.0.1 for the module."""
    folder = tmp_path_factory.mktemp("views")
    body = "\n".join(f"<h2>{v.kind}</h2>\n{v.to_html()}" for v in VIEWS)
    (folder / "index.html").write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width">'
        "<title>cnnbp views</title></head><body style='margin:0 auto;"
        f"max-width:760px;padding:0 14px'><main><h1>Views</h1>{body}"
        "</main></body></html>", encoding="utf-8")
    server, url = _serve(folder)
    yield url + "index.html"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def site_url(tmp_path_factory):
    """A two-page Sphinx site built with book/_ext/cnnbp_views.py."""
    src = tmp_path_factory.mktemp("site")
    ext = REPO / "book" / "_ext"
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ext)!r})\n"
        "extensions = ['cnnbp_views']\n")
    pages = {"index": VIEWS[:2], "two": VIEWS[3:5]}
    for name, views in pages.items():
        raw = "\n\n".join(textwrap.indent(v.to_html(), "   ")
                           for v in views)
        toc = ".. toctree::\n\n   two\n\n" if name == "index" else ""
        (src / f"{name}.rst").write_text(
            f"{name}\n{'=' * len(name)}\n\n{toc}.. raw:: html\n\n{raw}\n")
    out = src / "_build"
    subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q",
                    "-W", str(src), str(out)], check=True, timeout=300)
    server, url = _serve(out)
    yield url
    server.shutdown()
    server.server_close()


@pytest.fixture
def views_page(page, views_url):
    """The test page, every view rendered."""
    page.goto(views_url)
    page.wait_for_function(
        f"document.querySelectorAll('.cnnbp-view[data-ready]').length "
        f"=== {len(VIEWS)}")
    return page


def _view(page, kind):
    return page.locator(f".cnnbp-view[data-kind={kind}]").element_handle()


# ---- the twin against cnnbp over the whole control range ----

CRC = """const table = Array.from({length: 256}, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) {
      c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    }
    return c;
  });
  const crc = (bytes) => {
    let c = -1;
    for (const b of bytes) { c = table[(c ^ b) & 255] ^ (c >>> 8); }
    return (c ^ -1) >>> 0;
  };"""

CONV_LOOP = """for (const H of R.H) for (const W of R.W) for (const k of R.k)
  for (const s of R.stride) for (const p of R.padding)
  for (const d of R.dilation)"""

TWIN_MAPS = """(R) => {
  const im = window.cnnbpIndexmap;
  %s
  const put = (out, t) => out.push(t.i, t.j, t.m, t.n, t.up, t.vp,
    t.u === null ? 255 : t.u, t.v === null ? 255 : t.v);
  const results = [];
  %s {
    let g;
    try {
      g = im.convGeometry(H, W, k, k, [s, s], [p, p], [d, d]);
    } catch (err) {
      results.push(err.name + ": " + err.message);
      continue;
    }
    const fwd = [], dw = [], counts = [], dx = [], reach = [];
    for (let i = 0; i < g.Hout; i++) for (let j = 0; j < g.Wout; j++) {
      im.forwardTerms(g, i, j).forEach((t) => put(fwd, t));
    }
    for (let m = 0; m < k; m++) for (let n = 0; n < k; n++) {
      im.filterGradTerms(g, m, n).forEach((t) => put(dw, t));
    }
    for (let u = 0; u < H; u++) for (let v = 0; v < W; v++) {
      const terms = im.inputGradTerms(g, u, v, false);
      counts.push(terms.length);
      terms.forEach((t) => put(dx, t));
    }
    im.reachedOutputs(g).forEach((row) => row.forEach((n) =>
      reach.push(n)));
    results.push([fwd, dw, counts, dx, reach].map(crc));
  }
  return results;
}""" % (CRC, CONV_LOOP)


def _crc(a):
    return zlib.crc32(np.ascontiguousarray(a, dtype=np.uint8).tobytes())


@functools.cache
def _axis(n, k, s, p, d):
    """One axis of a convolution, from cnnbp.indexmap on an (n, 1) input.

    Returns its output length, the padded row of each (output, tap),
    the (input, output, tap) triples of the input gradient (ordered) and
    how many windows reach each padded row.
    """
    g = indexmap.conv_geometry(n, 1, k, 1, (s, 1), (p, 0), (d, 1))
    up = np.array([[t.u_pad for t in indexmap.forward_terms(g, i, 0)]
                   for i in range(g.H_out)])
    dx = np.array([(u, t.i, t.m) for u in range(n)
                   for t in indexmap.input_grad_terms(g, u, 0)],
                  dtype=int).reshape(-1, 3)
    return g.H_out, up, dx, indexmap.reached_outputs(g)[:, 0]


def _expected_maps(H, W, k, s, p, d):
    """CRC-32s of the maps TWIN_MAPS lists, from cnnbp.indexmap."""
    Ho, rows, rdx, rreach = _axis(H, k, s, p, d)
    Wo, cols, cdx, creach = _axis(W, k, s, p, d)
    up, vp = rows[:, None, :, None], cols[None, :, None, :]
    pad = (up < p) | (up >= H + p) | (vp < p) | (vp >= W + p)
    fwd = np.empty((Ho, Wo, k, k, 8), dtype=np.uint8)
    for f, a in enumerate([np.arange(Ho)[:, None, None, None],
                           np.arange(Wo)[None, :, None, None],
                           np.arange(k)[None, None, :, None],
                           np.arange(k)[None, None, None, :], up, vp,
                           np.where(pad, 255, up - p),
                           np.where(pad, 255, vp - p)]):
        fwd[..., f] = a
    # input cell (u, v) lists the products of its row and column terms,
    # ordered by (i, j): sort the pairs by (u, v, row term, column term)
    (u, i, m), (v, j, n) = rdx.T[:, :, None], cdx.T[:, None, :]
    dx = np.empty((len(rdx), len(cdx), 8), dtype=np.uint8)
    for f, a in enumerate([i, j, m, n, u + p, v + p, u, v]):
        dx[..., f] = a
    key = (u * W + v) * dx.shape[0] * dx.shape[1] + np.arange(
        dx.shape[0] * dx.shape[1]).reshape(dx.shape[:2])
    dx = dx.reshape(-1, 8)[np.argsort(key, axis=None)]
    counts = np.outer(np.bincount(rdx[:, 0], minlength=H),
                      np.bincount(cdx[:, 0], minlength=W))
    return [_crc(fwd), _crc(fwd.transpose(2, 3, 0, 1, 4)), _crc(counts),
            _crc(dx), _crc(np.outer(rreach, creach))]


def _conv_range():
    R = widgets.RANGES
    return [(H, W, k, s, p, d) for H in R["H"] for W in R["W"]
            for k in R["k"] for s in R["stride"] for p in R["padding"]
            for d in R["dilation"]]


def test_twin_maps_equal_indexmap_over_the_whole_control_range(
        views_page):
    R = {name: list(values) for name, values in widgets.RANGES.items()}
    got = views_page.evaluate(TWIN_MAPS, R)
    combos = _conv_range()
    assert len(got) == len(combos) == 9 * 9 * 5 * 4 * 4 * 3
    parts = ["forward_terms", "filter_grad_terms", "input_grad_terms "
             "counts", "input_grad_terms", "reached_outputs"]
    refused = 0
    for (H, W, k, s, p, d), result in zip(combos, got):
        try:
            indexmap.conv_geometry(H, W, k, k, s, p, d)
        except ValueError as err:
            assert result == f"ValueError: {err}", (H, W, k, s, p, d)
            refused += 1
            continue
        want = _expected_maps(H, W, k, s, p, d)
        for part, a, b in zip(parts, result, want):
            assert a == b, f"{part} differs for H={H} W={W} k={k} s={s} " \
                           f"p={p} d={d}"
    assert 0 < refused < len(combos) // 2


TWIN_VALUES = """(R) => {
  const im = window.cnnbpIndexmap;
  const gen = window.cnnbpViews.gen;
  %s
  const table2 = (name, rows, cols) => Array.from({length: rows},
    (_, r) => Array.from({length: cols}, (_, c) => gen(name, 0, r, c)));
  const cut = (a, rows, cols) => a.slice(0, rows).map((row) =>
    row.slice(0, cols));
  const flat = (a) => [].concat(...a);
  const x = table2("x", 9, 9), w = table2("w", 5, 5);
  const dout = table2("dout", 15, 15), b = gen("b", 0, 0, 0);
  const ints = (vals) => new Uint8Array(new Int32Array(vals).buffer);
  const conv = [];
  %s {
    let g;
    try {
      g = im.convGeometry(H, W, k, k, [s, s], [p, p], [d, d]);
    } catch (err) {
      conv.push(null);
      continue;
    }
    const xs = cut(x, H, W), ws = cut(w, k, k);
    const ds = cut(dout, g.Hout, g.Wout);
    conv.push(crc(ints(flat(im.conv(xs, ws, g, b)).concat(
      flat(im.filterGrad(xs, ds, g)), flat(im.inputGrad(ds, ws, g))))));
  }
  const pool = [];
  for (const H of R.H) for (const W of R.W) for (const k of R.k)
  for (const s of R.stride) {
    let g;
    try {
      g = im.poolGeometry(H, W, [k, k], [s, s]);
    } catch (err) {
      pool.push(err.name + ": " + err.message);
      continue;
    }
    const xs = cut(x, H, W), ds = cut(dout, g.Hout, g.Wout);
    const win = [], ties = [];
    for (let i = 0; i < g.Hout; i++) for (let j = 0; j < g.Wout; j++) {
      win.push(...im.poolWinner(xs, g, i, j));
      const tie = im.poolTie(xs, g, i, j);
      if (tie.length) { ties.push([i, j, tie]); }
    }
    pool.push([crc(win), crc(ints(flat(im.maxpool(xs, g)).concat(
      flat(im.maxpoolBackward(xs, ds, g))))), JSON.stringify(ties),
      JSON.stringify(im.poolRoutes(xs, g))]);
  }
  const sizes = [];
  for (const n of R.shape.H) for (const k of R.shape.k)
  for (const s of R.shape.s) for (const p of R.shape.p)
  for (const d of R.shape.d) {
    try {
      sizes.push(im.outputSize(n, k, s, p, d));
    } catch (err) {
      sizes.push(err.name + ": " + err.message);
    }
  }
  return {x: x, w: w, dout: dout, b: b, conv: conv, pool: pool,
    sizes: sizes, fmt: R.numbers.map(im.fmt)};
}""" % (CRC, CONV_LOOP)

NUMBERS = [0, -0.0, 1, -7, 0.5, -2.25, 1 / 3, -2 / 3, 12.5, 100.5, 1234.5,
           99.95, 0.125, 0.000123, 1e-5, 2.5e-7, 123456.0, 1e12, 1.5e12,
           -0.015, 3.14159, 999.5]


def _ints_crc(*arrays):
    vals = np.concatenate([np.ravel(a) for a in arrays])
    assert np.array_equal(vals, np.round(vals))
    return zlib.crc32(vals.astype("<i4").tobytes())


def test_twin_values_equal_cnnbp_over_the_whole_control_range(views_page):
    R = {name: list(values) for name, values in widgets.RANGES.items()}
    R["shape"] = {name: list(v) for name, v in SHAPE_RANGES.items()}
    R["numbers"] = NUMBERS
    got = views_page.evaluate(TWIN_VALUES, R)
    x, w, dout = (np.array(got[n], dtype=float) for n in ("x", "w", "dout"))
    b = np.array([float(got["b"])])
    for (H, W, k, s, p, d), result in zip(_conv_range(), got["conv"]):
        try:
            g = indexmap.conv_geometry(H, W, k, k, s, p, d)
        except ValueError:
            assert result is None
            continue
        xs, ws = x[None, None, :H, :W], w[None, None, :k, :k]
        ds = dout[None, None, :g.H_out, :g.W_out]
        kw = dict(stride=s, padding=p, dilation=d)
        dx, dw, _ = cnnbp.conv2d_backward(ds, xs, ws, **kw)
        assert result == _ints_crc(cnnbp.conv2d(xs, ws, b, **kw), dw, dx), (
            H, W, k, s, p, d)
    pools = [(H, W, k, s) for H in R["H"] for W in R["W"] for k in R["k"]
             for s in R["stride"]]
    assert len(pools) == len(got["pool"])
    for (H, W, k, s), result in zip(pools, got["pool"]):
        try:
            g = indexmap.pool_geometry(H, W, k, s)
        except ValueError as err:
            assert result == f"ValueError: {err}"
            continue
        xs, ds = x[:H, :W], dout[:g.H_out, :g.W_out]
        win = indexmap.pool_winners(xs, k, s)
        out = cnnbp.maxpool2d(xs[None, None], k, s)[0, 0]
        back = cnnbp.maxpool2d_backward(ds[None, None], xs[None, None], k,
                                        s)[0, 0]
        assert result[0] == _crc(win), (H, W, k, s)
        assert result[1] == _ints_crc(out, back), (H, W, k, s)
        ties = [[i, j, [list(c) for c in cells]] for (i, j), cells in
                sorted(indexmap.pool_ties(xs, k, s).items())]
        assert json.loads(result[2]) == ties, (H, W, k, s)
        routes = {f"{u},{v}": [list(c) for c in cells] for (u, v), cells in
                  indexmap.pool_routes(xs, k, s).items()}
        assert json.loads(result[3]) == routes, (H, W, k, s)
    S = SHAPE_RANGES
    sizes = [(n, k, s, p, d) for n in S["H"] for k in S["k"]
             for s in S["s"] for p in S["p"] for d in S["d"]]
    for args, result in zip(sizes, got["sizes"], strict=True):
        try:
            assert result == cnnbp.output_size(*args)
        except ValueError as err:
            assert result == f"ValueError: {err}"
    assert got["fmt"] == [widgets._fmt(v) for v in NUMBERS]


# ---- the DOM contract, driven like a reader ----

@pytest.mark.parametrize("kind", KINDS)
def test_random_settings_and_cells_show_cnnbps_map(views_page, kind):
    rng = np.random.default_rng(sum(map(ord, kind)))
    view = _view(views_page, kind)
    shots = viewcheck.drive(view, rng, 40)
    assert len(shots) == 40
    for shot in shots:
        viewcheck.check(shot)
    shown = [s for s in shots if not s["error"]]
    assert len(shown) >= 10
    if kind != "shape":
        assert any(s["error"] for s in shots), "no refused setting tried"


@pytest.mark.parametrize("kind", KINDS)
def test_presets_show_cnnbps_numbers(views_page, kind):
    view = _view(views_page, kind)
    payload = next(v for v in VIEWS if v.kind == kind).payload
    select = views_page.locator(
        f".cnnbp-view[data-kind={kind}] select[data-control=config]")
    for k, preset in enumerate(payload["presets"]):
        select.select_option(str(k))
        shot = view.evaluate(viewcheck.SNAPSHOT)
        assert shot["preset"] == str(k)
        assert {n: shot["controls"][n] for n in preset["set"]} == {
            n: str(v) for n, v in preset["set"].items()}
        viewcheck.check(shot)
        for name, grid in [("out", "out"), ("dw", "dw"), ("dx", "dx")]:
            if name in preset["data"] and kind != "channels":
                want = viewcheck._texts(preset["data"][name])
                assert shot["grids"][f"{grid}|"] == want


def test_click_keys_hover_and_tour(views_page):
    page = views_page
    root = page.locator(".cnnbp-view[data-kind=forward]")
    cell = root.locator("td[data-grid=out][data-r='1'][data-c='2']")
    cell.click()
    assert cell.get_attribute("data-role") == "cur"
    assert cell.get_attribute("aria-selected") == "true"
    text = root.locator("[data-control=text]")
    assert text.get_attribute("aria-live") == "polite"
    assert text.inner_text().startswith("O[1,2]")
    page.keyboard.press("ArrowDown")
    focused = page.evaluate("() => [document.activeElement.dataset.grid, "
                            "document.activeElement.dataset.r, "
                            "document.activeElement.dataset.c, "
                            "document.activeElement.dataset.role]")
    assert focused == ["out", "2", "2", "cur"]
    assert text.inner_text().startswith("O[2,2]")
    page.keyboard.press("Home")
    assert root.locator("td[data-role=cur]").get_attribute("data-c") == "0"
    hover = root.locator("td[data-grid=out][data-r='0'][data-c='0']")
    hover.hover()
    assert root.locator("td[data-grid=xpad][data-pv]").count() == 9
    assert root.locator("td[data-role=cur]").get_attribute("data-r") == "2"
    page.mouse.move(0, 0)
    assert root.locator("td[data-pv]").count() == 0
    nxt = root.locator("button[data-action=next]")
    prev = root.locator("button[data-action=prev]")
    assert "Next" in nxt.inner_text() and not nxt.get_attribute(
        "aria-label")
    for button, action in [(nxt, "next"), (prev, "prev")]:
        while button.get_attribute("aria-disabled") != "true":
            button.click()
        step = root.get_attribute("data-step")
        page.keyboard.press("Enter")
        assert root.get_attribute("data-step") == step
        assert page.evaluate(
            "() => document.activeElement.dataset.action") == action
        assert step == ("0" if action == "prev" else str(
            int(root.get_attribute("data-steps")) - 1))
    play = root.locator("button[data-action=play]")
    play.click()
    assert play.get_attribute("aria-pressed") == "true"
    page.wait_for_function("v => v.dataset.step !== '0'",
                           arg=root.element_handle(), timeout=5000)
    play.click()
    assert play.get_attribute("aria-pressed") == "false"


def test_tab_reaches_every_control_and_one_cell_per_grid(views_page):
    page = views_page
    root = page.locator(".cnnbp-view[data-kind=maxpool]")
    root.locator("select[data-control=config]").focus()
    seen = []
    for _ in range(20):
        page.keyboard.press("Tab")
        seen.append(page.evaluate(
            "() => { const e = document.activeElement;"
            " return e.closest('.cnnbp-view[data-kind=maxpool]') ? "
            "[e.dataset.control || e.dataset.action || e.dataset.sel, "
            "getComputedStyle(e).outlineStyle] : null; }"))
    reached = [s for s in seen if s]
    assert [name for name, _ in reached] == [
        "H", "W", "k", "stride", "out", "dout", "prev", "play", "next"]
    assert all(outline != "none" for _, outline in reached), reached


def test_refused_setting_shows_cnnbps_message(views_page):
    root = views_page.locator(".cnnbp-view[data-kind=filter_grad]")
    root.locator("select[data-control=H]").select_option("2")
    root.locator("select[data-control=k]").select_option("5")
    with pytest.raises(ValueError) as err:
        indexmap.conv_geometry(2, 3, 5, 5)
    error = root.locator("[data-control=error]")
    assert str(err.value) in error.inner_text()
    assert error.get_attribute("role") == "alert"
    assert root.locator("td[data-grid]").count() == 0
    root.locator("select[data-control=k]").select_option("2")
    assert error.inner_text() == ""
    assert root.locator("td[data-role=cur]").count() == 1


def test_a_bare_view_has_no_setting_controls(page, views_url):
    page.goto(views_url)
    page.set_content(widgets.maxpool_view(controls=False).to_html())
    root = page.locator(".cnnbp-view")
    assert root.get_attribute("data-ready") == "1"
    assert root.locator("select").count() == 0
    assert root.locator("td[data-role=win]").count() == 1


# ---- accessibility, screenshots, phones, no JavaScript ----

def _dark(page):
    page.emulate_media(color_scheme="dark")
    page.evaluate("() => document.documentElement.dataset.theme = 'dark'")


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_problem(views_page, scheme, width):
    page = views_page
    page.set_viewport_size({"width": width, "height": 900})
    if scheme == "dark":
        _dark(page)
    for kind in KINDS:
        page.locator(f".cnnbp-view[data-kind={kind}] td[data-sel]").last \
            .click()
    page.add_script_tag(path=str(viewcheck.AXE))
    assert page.evaluate(viewcheck.axe_run("document")) == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_and_a_phone_column(views_page, screenshot, scheme):
    page = views_page
    if scheme == "dark":
        _dark(page)
    folder = screenshot(page, f"views/page-1280-{scheme}").parent
    for kind in KINDS:
        page.locator(f".cnnbp-view[data-kind={kind}]").screenshot(
            path=str(folder / f"{kind}-1280-{scheme}.png"))
    page.set_viewport_size(PHONE)
    for kind in KINDS:
        root = page.locator(f".cnnbp-view[data-kind={kind}]")
        root.scroll_into_view_if_needed()
        box = root.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert root.evaluate("v => v.scrollWidth <= v.clientWidth")
        root.locator("button[data-action=next]").click()
        cur = root.locator("td[data-role=cur]").bounding_box()
        eq = root.locator("[data-control=equation]").bounding_box()
        panel = root.locator(".cv-panel").bounding_box()
        for rect in (cur, eq):
            assert 0 <= rect["y"] and rect["y"] + rect["height"] <= (
                PHONE["height"]), (kind, rect)
        assert (cur["y"] + cur["height"] <= panel["y"]
                or cur["y"] >= panel["y"] + panel["height"]), kind
        root.screenshot(path=str(folder / f"{kind}-390-{scheme}.png"))
        page.screenshot(path=str(folder / f"{kind}-390-{scheme}-screen.png"))


def test_without_javascript_each_view_shows_its_first_step(
        browser, views_url, screenshot):
    context = browser.new_context(java_script_enabled=False,
                                  viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(views_url)
    statics = page.locator(".cnnbp-view .cv-static")
    assert statics.count() == len(VIEWS)
    for k, view in enumerate(VIEWS):
        static = statics.nth(k)
        assert static.is_visible()
        assert static.locator("table td b").count() >= 2
        assert static.locator("u").count() == 1
        assert view.first["label"] in static.inner_text()
    screenshot(page, "views/no-javascript-390", full_page=True)
    context.close()


def test_book_extension_serves_one_renderer_per_site(page, site_url):
    js, css, version = webview.assets()
    for name, count in [("index", 2), ("two", 2)]:
        page.goto(f"{site_url}{name}.html")
        page.wait_for_function(
            f"document.querySelectorAll('.cnnbp-view[data-ready]')"
            f".length === {count}")
        scripts = page.evaluate(
            "() => Array.from(document.scripts).map((s) => s.src ? "
            "s.src.split('/').slice(-2).join('/') : s.textContent.length)")
        assert f"cnnbp-views/views-{version}.js" in scripts
        assert max(n for n in scripts if isinstance(n, int)) < 25_000
        assert page.evaluate("() => window.cnnbpViews.version") == version
        view = page.locator(".cnnbp-view").first.element_handle()
        for shot in viewcheck.drive(view, np.random.default_rng(3), 5):
            viewcheck.check(shot)
    assert page.request.get(f"{site_url}_static/cnnbp-views/views-"
                            f"{version}.css").text() == css
