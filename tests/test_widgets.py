"""cnnbp.widgets: presets carry cnnbp's numbers, first steps indexmap's.

What the page does with any other setting (the JavaScript twin of
cnnbp.indexmap) is tested in tests/browser/test_views_browser.py.
"""
import json
import re

import numpy as np
import pytest

import cnnbp
from cnnbp import indexmap, webview, widgets

CONV_CONFIGS = [
    {},
    dict(H=5, k=3, stride=2),
    dict(H=4, W=6, k=(2, 3), padding=1),
    dict(H=6, W=7, k=(3, 2), stride=(2, 1), padding=(1, 0),
         dilation=(1, 2)),
]
POOL_CONFIGS = [{}, dict(H=5, size=3, stride=1),
                dict(x=[[1, 3, 3, 0], [2, 3, 1, 1], [0, 0, 2, 2],
                        [1, 0, 2, 1]]),
                dict(H=5, W=6, size=(2, 3), stride=(1, 2))]


def _geometry(c):
    k = c.get("k", 3)
    HH, WW = (k, k) if np.isscalar(k) else k
    H = c.get("H", 5)
    return indexmap.conv_geometry(H, c.get("W", H), HH, WW,
                                  c.get("stride", 1), c.get("padding", 0),
                                  c.get("dilation", 1))


def _preset(view, k=0):
    p = view.payload["presets"][k]
    return p, {name: np.array(v, dtype=float) if isinstance(v, list)
               else v for name, v in p["data"].items()}


def _hl(first, title):
    """Highlights of the grid titled ``title`` (else the first whose
    title starts with it)."""
    grids = first["grids"]
    grid = next((g for g in grids if g["title"] == title), None) or next(
        g for g in grids if g["title"].startswith(title))
    return grid["hl"]


@pytest.mark.parametrize("c", CONV_CONFIGS)
def test_forward_presets_hold_cnnbps_numbers(c):
    view = widgets.forward_view([c, dict(c, b=-2)])
    g = _geometry(c)
    for k, bias in enumerate([None, np.array([-2.0])]):
        p, d = _preset(view, k)
        out = cnnbp.conv2d(d["x"][None, None], d["w"][None, None], bias,
                           stride=g.stride, padding=g.padding,
                           dilation=g.dilation)[0, 0]
        np.testing.assert_array_equal(d["out"], out)
        assert p["set"]["H"] == str(g.H) and p["set"]["W"] == str(g.W)
        if g.stride != (1, 1):
            one = cnnbp.conv2d(d["x"][None, None], d["w"][None, None],
                               bias, padding=g.padding,
                               dilation=g.dilation)[0, 0]
            np.testing.assert_array_equal(d["out1"], one)
        else:
            assert "out1" not in d
    assert _preset(view, 1)[1]["b"] == -2
    terms = indexmap.forward_terms(g, 0, 0)
    first = view.first
    assert set(_hl(first, "X")) == {(t.u_pad, t.v_pad) for t in terms}
    assert set(_hl(first, "F")) == {(t.m, t.n) for t in terms}
    assert _hl(first, "O =") == {(0, 0): "cur"}


def test_first_step_marks_padding_and_unread_cells():
    view = widgets.forward_view([dict(H=6, k=3, stride=2, padding=1)])
    cls = np.array(view.first["grids"][0]["cls"])
    assert (cls[0, :7] == "p").all() and (cls[:7, 0] == "p").all()
    assert (cls[1:7, 1:7] == ".").all()
    # 8 padded rows, windows start at 0, 2, 4 and span 3: row 7 unread
    assert (cls[7] == "ps").all() and (cls[:, 7] == "ps").all()
    assert 'border-style:dashed">0</td>' in view.to_html()


def test_preset_pairs_become_options_of_their_controls():
    view = widgets.forward_view(CONV_CONFIGS)
    options = {c["name"]: [o[0] for o in c["options"]]
               for c in view.payload["controls"]}
    assert set(options) == {"H", "W", "k", "stride", "padding",
                            "dilation"}
    assert options["H"][:9] == [str(v) for v in range(1, 10)]
    assert options["k"] == ["1", "2", "3", "4", "5", "2,3", "3,2"]
    assert "2,1" in options["stride"] and "1,0" in options["padding"]
    assert view.payload["presets"][3]["set"]["dilation"] == "1,2"
    labels = dict(next(c for c in view.payload["controls"]
                       if c["name"] == "k")["options"])
    assert labels["2,3"] == "2×3" and labels["3"] == "3×3"


def test_every_kind_offers_the_settings_the_issue_promises():
    need = {"H": range(1, 10), "W": range(1, 10), "k": range(1, 6),
            "stride": range(1, 5), "padding": range(0, 4),
            "dilation": range(1, 4)}
    views = {"forward": widgets.forward_view(),
             "channels": widgets.channels_view(),
             "filter_grad": widgets.filter_grad_view(),
             "input_grad": widgets.input_grad_view(),
             "maxpool": widgets.maxpool_view()}
    for kind, view in views.items():
        controls = {c["name"]: {o[0] for o in c["options"]}
                    for c in view.payload["controls"]}
        names = ["H", "W", "k", "stride"] if kind == "maxpool" else need
        for name in names:
            assert {str(v) for v in need[name]} <= controls[name], (kind,
                                                                    name)
    assert {"gather", "scatter"} == {
        o[0] for c in views["input_grad"].payload["controls"]
        if c["name"] == "mode" for o in c["options"]}
    assert {"C", "K"} <= {c["name"]
                          for c in views["channels"].payload["controls"]}
    assert widgets.forward_view(controls=False).payload["controls"] == []


def test_channels_preset_sums_channels_and_bias():
    x = np.arange(2 * 3 * 3, dtype=float).reshape(2, 3, 3) % 4
    w = np.array([[[[1, 0], [0, -1]], [[2, 1], [0, 0]]]], dtype=float)
    view = widgets.channels_view([dict(x=x, w=w, b=[5.0], padding=1,
                                       dilation=1)])
    p, d = _preset(view)
    want = cnnbp.conv2d(x[None], w, np.array([5.0]), padding=1)[0]
    np.testing.assert_array_equal(d["out"], want)
    assert p["set"]["C"] == "2" and p["set"]["K"] == "1"
    terms = indexmap.forward_terms(indexmap.conv_geometry(3, 3, 2, 2,
                                                          padding=1), 0, 0)
    for c in range(2):
        assert set(_hl(view.first, f"Xpad channel c={c}")) == {
            (t.u_pad, t.v_pad) for t in terms}
    assert view.first["eq"][0].endswith(f"= {widgets._fmt(want[0, 0, 0])}")
    dil = widgets.channels_view([dict(H=5, k=2, dilation=2)])
    g = indexmap.conv_geometry(5, 5, 2, 2, dilation=2)
    assert np.array(_preset(dil)[1]["out"]).shape[1:] == (g.H_out, g.W_out)


@pytest.mark.parametrize("c", CONV_CONFIGS)
def test_filter_grad_preset_matches_cnnbp(c):
    view = widgets.filter_grad_view([c])
    g = _geometry(c)
    _, d = _preset(view)
    _, dw, _ = cnnbp.conv2d_backward(
        d["dout"][None, None], d["x"][None, None],
        np.ones((1, 1, g.HH, g.WW)), stride=g.stride, padding=g.padding,
        dilation=g.dilation)
    np.testing.assert_array_equal(d["dw"], dw[0, 0])
    terms = indexmap.filter_grad_terms(g, 0, 0)
    assert set(_hl(view.first, "X")) == {(t.u_pad, t.v_pad) for t in terms}
    assert set(_hl(view.first, "dL/dO")) == {(t.i, t.j) for t in terms}
    if g.stride != (1, 1):
        assert set(_hl(view.first, "dL/dO dilated")) == {
            (t.i * g.stride[0], t.j * g.stride[1]) for t in terms}


@pytest.mark.parametrize("c", CONV_CONFIGS)
def test_input_grad_preset_and_running_sums_match_cnnbp(c):
    view = widgets.input_grad_view([c, dict(c, mode="scatter")])
    g = _geometry(c)
    p, d = _preset(view)
    assert p["set"]["mode"] == "gather"
    assert view.payload["presets"][1]["set"]["mode"] == "scatter"
    dx = cnnbp.conv2d_backward(
        d["dout"][None, None], np.zeros((1, 1, g.H, g.W)),
        d["w"][None, None], stride=g.stride, padding=g.padding,
        dilation=g.dilation)[0][0, 0]
    np.testing.assert_array_equal(d["dx"], dx)
    ph, pw = g.padding
    acc = d["acc"]
    assert acc.shape == (g.H_out * g.W_out, g.H_pad, g.W_pad)
    np.testing.assert_allclose(acc[-1][ph:ph + g.H, pw:pw + g.W], dx)
    for k in range(1, len(acc)):
        i, j = divmod(k, g.W_out)
        added = acc[k] - acc[k - 1]
        want = np.zeros_like(added)
        for t in indexmap.forward_terms(g, i, j):
            want[t.u_pad, t.v_pad] += d["dout"][i, j] * d["w"][t.m, t.n]
        np.testing.assert_allclose(added, want, atol=1e-12)
    terms = indexmap.input_grad_terms(g, 0, 0)
    assert set(_hl(view.first, "dL/dO")) == {(t.i, t.j) for t in terms}
    assert set(_hl(view.first, "F:")) == {(t.m, t.n) for t in terms}
    window = _hl(view.first, "dL/dO with")
    assert len(window) == g.HH * g.WW
    assert sum(r == "g" for r in window.values()) == len(terms)


def test_input_grad_rejects_unknown_mode():
    with pytest.raises(ValueError, match="mode"):
        widgets.input_grad_view([dict(mode="sideways")])


def test_scatter_first_step_is_the_first_window():
    view = widgets.input_grad_view([dict(H=4, k=3, padding=1,
                                         mode="scatter")])
    g = indexmap.conv_geometry(4, 4, 3, 3, padding=1)
    terms = indexmap.forward_terms(g, 0, 0)
    assert set(_hl(view.first, "dL/dX (padded)")) == {
        (t.u_pad, t.v_pad) for t in terms}
    assert set(_hl(view.first, "dL/dX")) == {
        (t.u, t.v) for t in terms if not t.in_padding}
    assert f"the {len(terms)} input cells" in view.first["text"]


@pytest.mark.parametrize("c", POOL_CONFIGS)
def test_maxpool_preset_routes_like_cnnbp(c):
    view = widgets.maxpool_view([c])
    p, d = _preset(view)
    x, dout = d["x"], d["dout"]
    size, stride = c.get("size", 2), c.get("stride")
    g = indexmap.pool_geometry(*x.shape, size, stride)
    np.testing.assert_array_equal(
        d["out"], cnnbp.maxpool2d(x[None, None], size, stride)[0, 0])
    np.testing.assert_array_equal(
        d["acc"][-1], cnnbp.maxpool2d_backward(dout[None, None],
                                               x[None, None], size,
                                               stride)[0, 0])
    win = indexmap.pool_winners(x, size, stride)
    for k in range(1, g.H_out * g.W_out):
        i, j = divmod(k, g.W_out)
        added = d["acc"][k] - d["acc"][k - 1]
        assert np.argwhere(added).tolist() in ([list(win[i, j])], [])
    first = _hl(view.first, "X")
    assert set(first) == set(g.window(0, 0))
    assert [cell for cell, r in first.items() if r == "win"] == [
        tuple(win[0, 0])]
    assert p["set"]["k"] == widgets._value(g.size)


def test_maxpool_first_step_shows_ties():
    view = widgets.maxpool_view([POOL_CONFIGS[2]])
    first = _hl(view.first, "X")
    assert [cell for cell, r in first.items() if r == "tie"] == [(1, 1)]
    assert "Tie" in view.first["text"]
    assert "with ties" in view.payload["presets"][0]["label"]


@pytest.mark.parametrize("c,overlap,gaps", [
    (dict(H=2, size=2, stride=1), False, False),
    (dict(H=3, W=2, size=2, stride=1), True, False),
    (dict(H=4, size=2, stride=2), False, False),
    (dict(H=5, size=2, stride=3), False, True),
    (dict(H=3, size=3, stride=2), False, False),
])
def test_maxpool_info_is_right_at_the_edges(c, overlap, gaps):
    view = widgets.maxpool_view([c])
    info = view.first["info"]
    assert ("(windows overlap)" in info) == overlap
    assert ("stride is larger than the window" in info) == gaps
    g = indexmap.pool_geometry(c["H"], c.get("W", c["H"]), c["size"],
                               c["stride"])
    reached = {cell for i in range(g.H_out) for j in range(g.W_out)
               for cell in g.window(i, j)}
    assert ("in no window" in info) == (len(reached) < g.H * g.W)


def test_maxpool_one_by_one_window_has_no_other_cells():
    one = widgets.maxpool_view([dict(H=3, size=1, stride=1)]).first
    assert not any("every other cell" in line for line in one["eq"])
    assert "single cell" in one["text"] and "1×1 window" in one["eq"][0]
    two = widgets.maxpool_view([dict(H=3, size=2, stride=1)]).first
    assert "every other cell of the window gets 0" in two["eq"]


def test_shape_calculator_presets_cnnbp_and_its_refusal():
    view = widgets.shape_calculator(H=[3, 7], k=[3, 5], s=[1, 2],
                                    p=[0, 1], d=[1, 2],
                                    initial=(7, 3, 2, 1, 1))
    p, d = _preset(view)
    assert d == {"hout": cnnbp.output_size(7, 3, 2, 1, 1)}
    controls = {c["name"]: [o[0] for o in c["options"]]
                for c in view.payload["controls"]}
    assert controls == {"H": ["3", "7"], "k": ["3", "5"],
                        "stride": ["1", "2"], "padding": ["0", "1"],
                        "dilation": ["1", "2"]}
    bad = widgets.shape_calculator(initial=(3, 5, 1, 0, 1))
    with pytest.raises(ValueError) as err:
        cnnbp.output_size(3, 5, 1, 0, 1)
    assert _preset(bad)[1] == {"error": str(err.value)}
    assert str(err.value) in bad.to_html()
    big = widgets.shape_calculator(initial=(28, 3, 2, 1, 1))
    assert "28" in [o[0] for o in big.payload["controls"][0]["options"]]


ALL_VIEWS = [
    lambda: widgets.forward_view(CONV_CONFIGS),
    lambda: widgets.channels_view([{}, dict(C=3, K=1, H=3, padding=1)]),
    lambda: widgets.filter_grad_view(CONV_CONFIGS),
    lambda: widgets.input_grad_view(CONV_CONFIGS + [dict(mode="scatter")]),
    lambda: widgets.maxpool_view(POOL_CONFIGS),
    widgets.shape_calculator,
]


@pytest.mark.parametrize("make", ALL_VIEWS)
def test_html_is_deterministic_small_and_self_contained(make):
    a, b = make(), make()
    assert a.payload == b.payload
    ha, hb = a.to_html(), b.to_html()
    ida = re.search(r'id="(cnnbp-[a-z_]+-[0-9a-f]{10}-(\d+))"', ha)
    idb = re.search(r'id="(cnnbp-[a-z_]+-[0-9a-f]{10}-(\d+))"', hb)
    assert int(idb.group(2)) == int(ida.group(2)) + 1
    assert hb == ha.replace(ida.group(1), idb.group(1))
    js, css, version = webview.assets()
    assert f'<script data-cnnbp-views="{version}">\n{js}</script>' in ha
    assert f'<style data-cnnbp-views="{version}">\n{css}</style>' in ha
    call = ha.rsplit("<script>", 1)[1]
    assert call.startswith(f'window.cnnbpViews.render("{ida.group(1)}", ')
    data = call.split(", ", 1)[1].rsplit(");</script>", 1)[0]
    assert "<" not in data
    assert json.loads(data) == json.loads(json.dumps(a.payload))
    assert len(data) < 25_000
    assert "http" not in ha
    assert f'data-kind="{a.kind}"' in ha
    assert ha.count("<script") == 2
    assert "cnnbp" in repr(a)


@pytest.mark.parametrize("make", ALL_VIEWS)
def test_static_first_step_is_never_blank(make):
    view = make()
    static = view.to_html().split('<div class="cv-static"', 1)[1]
    static = static.split("</div>\n<style", 1)[0]
    assert "<table" in static and "<b>" in static and "<u>" in static
    assert view.first["label"] in static.replace("&#x27;", "'")
    assert "data-grid" not in static and "<script" not in static


def test_assets_come_from_the_package_files():
    from importlib import resources

    web = resources.files("cnnbp") / "web"
    js, css, version = webview.assets()
    assert js.startswith((web / "view_indexmap.js").read_text())
    assert js.endswith((web / "views.js").read_text())
    assert css == (web / "views.css").read_text()
    assert re.fullmatch(r"[0-9a-f]{12}", version)


def test_palette_is_okabe_ito_and_the_stylesheet_uses_it():
    okabe_ito = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2",
                 "#D55E00", "#CC79A7"}
    assert set(widgets.PALETTE.values()) <= okabe_ito
    css = webview.assets()[1]
    for role, colour in widgets.PALETTE.items():
        assert f"--cv-{role}: {colour.lower()};" in css


def test_fmt_matches_the_documented_rule():
    cases = {3.0: "3", -0.0: "0", 0.5: "0.5", -2.25: "-2.25",
             1 / 3: "0.333", 1234.5: "1.23e+03", 100.5: "100",
             0.000123: "0.000123", 1e-5: "1e-05"}
    for value, text in cases.items():
        assert widgets._fmt(value) == text


EXPLORERS = {
    widgets.explore_forward: "forward",
    widgets.explore_channels: "channels",
    widgets.explore_filter_grad: "filter_grad",
    widgets.explore_input_grad: "input_grad",
    widgets.explore_maxpool: "maxpool",
    widgets.explore_shape: "shape",
}


@pytest.mark.parametrize("make", EXPLORERS, ids=EXPLORERS.values())
def test_explorers_recompute_with_cnnbp_and_show_refusals(make):
    pytest.importorskip("ipywidgets")
    box = make()
    state = box.cnnbp_state
    controls = {c.description: c for c in box.children[0].children}
    assert state["view"].kind == EXPLORERS[make]
    assert state["view"].payload["controls"] == []
    kernel = controls["size" if "size" in controls else "k"]
    controls["H"].value = 2
    kernel.value = 5
    v = {name: c.value for name, c in controls.items()}
    with pytest.raises(ValueError) as err:
        if EXPLORERS[make] == "shape":
            cnnbp.output_size(v["H"], v["k"], v["s"], v["p"], v["d"])
        elif EXPLORERS[make] == "maxpool":
            indexmap.pool_geometry(v["H"], v["W"], v["size"], v["stride"])
        else:
            indexmap.conv_geometry(v["H"], v["W"], v["k"], v["k"],
                                   v["stride"], v["padding"],
                                   v["dilation"])
    assert state["view"] is None and state["error"] == str(err.value)
    kernel.value = 2
    assert state["view"] is not None and state["error"] is None


def test_input_grad_explorer_has_the_mode():
    pytest.importorskip("ipywidgets")
    box = widgets.explore_input_grad(mode="scatter")
    mode = next(c for c in box.children[0].children
                if c.description == "mode")
    state = box.cnnbp_state
    assert state["view"].payload["presets"][0]["set"]["mode"] == "scatter"
    mode.value = "gather"
    assert state["view"].payload["presets"][0]["set"]["mode"] == "gather"


def test_channels_explorer_has_channels_and_filters():
    pytest.importorskip("ipywidgets")
    box = widgets.explore_channels()
    controls = {c.description: c for c in box.children[0].children}
    controls["C"].value = 3
    controls["K"].value = 1
    assert box.cnnbp_state["view"].payload["presets"][0]["set"]["C"] == "3"
    assert np.array(box.cnnbp_state["view"].payload["presets"][0]["data"][
        "out"]).shape[0] == 1


def test_channels_accepts_the_old_name_f_for_the_number_of_filters():
    """K counts filters; the key and keyword F of older code still work
    (the API does not change), and the control is named K."""
    view = widgets.channels_view([dict(C=2, F=3, H=4)])
    p, d = _preset(view)
    assert p["set"]["K"] == "3" and np.array(d["out"]).shape[0] == 3
    assert "F" not in {c["name"] for c in view.payload["controls"]}
    pytest.importorskip("ipywidgets")
    box = widgets.explore_channels(F=1)
    controls = {c.description: c for c in box.children[0].children}
    assert controls["K"].value == 1
    assert np.array(box.cnnbp_state["view"].payload["presets"][0]["data"][
        "out"]).shape[0] == 1


def test_figures_draw_values_and_highlights():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    from matplotlib.colors import to_hex

    from cnnbp import figures

    a = np.arange(12).reshape(3, 4)
    fig = figures.draw_grids([np.pad(a, 1), np.ones((2, 2))],
                             ["X^pad", "F"],
                             [{"in": [(1, 1)], "cur": [(2, 3)]}, [(0, 1)]],
                             [1, 0])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts][7:11] == ["0", "1", "2", "3"]
    faces = {(int(p.get_y()), int(p.get_x())): to_hex(p.get_facecolor())
             for p in ax.patches}
    assert faces[(1, 1)] == widgets.PALETTE["in"].lower()
    assert faces[(2, 3)] == widgets.PALETTE["cur"].lower()
    assert faces[(0, 0)] == "#e8e8e8"
    assert faces[(2, 2)] == "#ffffff"
    assert to_hex(fig.axes[1].patches[1].get_facecolor()) == (
        widgets.PALETTE["in"].lower())


def test_forward_animation_has_one_frame_per_output():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    from cnnbp import figures

    html = figures.forward_animation(np.arange(9).reshape(3, 3),
                                     [[1, 0], [0, -1]], padding=1,
                                     stride=2).data
    assert html.count("frames[") >= 4


def _extension():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "book/_ext/cnnbp_views.py"
    spec = importlib.util.spec_from_file_location("cnnbp_views", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_book_extension_keeps_one_renderer_per_page():
    ext = _extension()
    js, css, version = webview.assets()
    one, two = widgets.forward_view(), widgets.maxpool_view()
    old = widgets.shape_calculator().to_html().replace(version,
                                                       "0123456789ab")
    body = f"<p>a</p>{one.to_html()}<p>b</p>{two.to_html()}{old}"
    lifted = ext.lift(body, "../_static/v.js", "../_static/v.css")
    assert lifted.count(js) == 1 and lifted.count(css) == 1
    assert lifted.count('<script src="../_static/v.js" '
                        f'data-cnnbp-views="{version}"></script>') == 1
    assert lifted.count('<link rel="stylesheet" href="../_static/v.css">'
                        ) == 1
    assert lifted.index("v.js") < lifted.index("window.cnnbpViews.render")
    assert lifted.count("<script>window.cnnbpViews.render(") == 3
    assert len(lifted) < len(body) - 2 * len(js)
    assert "0123456789ab" in lifted
    assert ext.static_names() == (
        f"_static/cnnbp-views/views-{version}.js",
        f"_static/cnnbp-views/views-{version}.css")


def test_gather_grid_marks_the_leftover_rows_apart_from_the_border():
    """H=6, k=3, stride 2: r = (6 - 3) mod 2 = 1 leftover row and column
    follow the inserted zeros; the border around them is d(HH-1) = 2
    rows and d(WW-1) = 2 columns."""
    view = widgets.input_grad_view([dict(H=6, k=3, stride=2)])
    grid = next(g for g in view.first["grids"]
                if g["title"].startswith("dL/dO with"))
    assert "d(HH−1) = 2 rows and d(WW−1) = 2 columns" in grid["title"]
    assert "r = 1" in grid["title"]
    cls = np.array(grid["cls"])
    assert cls.shape == (8, 8)
    assert (cls[5, 2:6] == "s").all() and (cls[2:6, 5] == "s").all()
    assert (cls[2:5, 2:5] != "s").all()
    assert (cls[:2] == "p").all() and (cls[6:] == "p").all()
    even = widgets.input_grad_view([dict(H=7, k=3, stride=2)])
    title = next(g["title"] for g in even.first["grids"]
                 if g["title"].startswith("dL/dO with"))
    assert "leftover" not in title
