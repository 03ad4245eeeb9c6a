"""cnnbp.widgets: the frames carry cnnbp's numbers and indexmap's cells."""
import json
import re

import numpy as np
import pytest

import cnnbp
from cnnbp import indexmap, widgets

CONV_CONFIGS = [
    {},
    dict(H=5, k=3, stride=2),
    dict(H=4, W=6, k=(2, 3), padding=1),
    dict(H=6, W=7, k=(3, 2), stride=(2, 1), padding=(1, 0),
         dilation=(1, 2)),
]


def _grid(cfg, key):
    return next(g for g in cfg["grids"] if g["key"] == key)


def _values(grid):
    return np.array([float(v) for v in grid["vals"]]).reshape(
        grid["rows"], grid["cols"])


def _cells(step, key, role=None):
    return {(h[0], h[1]) for h in step["hl"].get(key, [])
            if role is None or h[2] == role}




def _settings(c):
    k = c.get("k", 3)
    HH, WW = (k, k) if np.isscalar(k) else k
    H = c.get("H", 5)
    return indexmap.conv_geometry(H, c.get("W", H), HH, WW,
                                  c.get("stride", 1), c.get("padding", 0),
                                  c.get("dilation", 1))


@pytest.mark.parametrize("c", CONV_CONFIGS)
def test_forward_view_highlights_forward_terms(c):
    cfg = widgets.forward_view([c]).payload["configs"][0]
    g = _settings(c)
    xp = _values(_grid(cfg, "input"))
    w = _values(_grid(cfg, "filter"))
    out = _values(_grid(cfg, "output"))
    ph, pw = g.padding
    x = xp[ph:ph + g.H, pw:pw + g.W]
    np.testing.assert_array_equal(
        out, cnnbp.conv2d(x[None, None], w[None, None], stride=g.stride,
                          padding=g.padding, dilation=g.dilation)[0, 0])
    assert len(cfg["steps"]) == g.H_out * g.W_out
    for k, step in enumerate(cfg["steps"]):
        i, j = divmod(k, g.W_out)
        terms = indexmap.forward_terms(g, i, j)
        assert _cells(step, "input") == {(t.u_pad, t.v_pad) for t in terms}
        assert _cells(step, "filter") == {(t.m, t.n) for t in terms}
        assert _cells(step, "output") == {(i, j)}
        assert step["eq"].endswith(f"<b>{widgets._fmt(out[i, j])}</b></div>")
        tags_in = {h[3]: (h[0], h[1]) for h in step["hl"]["input"]}
        tags_f = {h[3]: (h[0], h[1]) for h in step["hl"]["filter"]}
        for t in terms:
            pair = [tg for tg, cell in tags_in.items()
                    if cell == (t.u_pad, t.v_pad)]
            assert any(tags_f[tg] == (t.m, t.n) for tg in pair)


def test_forward_view_marks_padding_and_stride_skips():
    cfg = widgets.forward_view([dict(H=6, k=3, stride=2, padding=1)])
    cfg = cfg.payload["configs"][0]
    grid = _grid(cfg, "input")
    cls = np.array(list(grid["cls"])).reshape(grid["rows"], grid["cols"])
    assert (cls[0, :-1] == "p").all() and (cls[:-1, 0] == "p").all()
    assert (cls[1:7, 1:7] == ".").all()
    # 8 padded rows, windows start at 0, 2, 4 and span 3: row 7 unused
    assert (cls[7] == "s").all()
    s1 = _grid(cfg, "stride1")
    kept = np.array(list(s1["cls"])).reshape(s1["rows"], s1["cols"])
    assert (kept[::2, ::2] == ".").all() and (kept[1::2] == "s").all()



def test_forward_view_adds_the_bias_to_every_sum():
    x = [[0, 2, -3, 2, -3], [-2, -2, -2, -1, -2], [-3, -3, 2, -2, 1],
         [-3, -2, 1, -3, 1], [0, -1, 0, 2, -3]]
    w = [[-1, 0, -2], [1, 1, -1], [-1, -1, 0]]
    view = widgets.forward_view([dict(x=x, w=w, b=-1),
                                 dict(x=x, w=w, b=-1, stride=2)])
    one, two = view.payload["configs"]
    np.testing.assert_array_equal(
        _values(_grid(one, "output")),
        [[9, -9, 7], [2, 5, 6], [-7, 9, -10]])
    np.testing.assert_array_equal(_values(_grid(two, "output")),
                                  [[9, 7], [-7, -10]])
    np.testing.assert_array_equal(_values(_grid(two, "stride1")),
                                  _values(_grid(one, "output")))
    first = one["steps"][0]
    assert first["eq"].startswith("<div>O[0,0] = b + X[0,0]")
    assert "(-1) + " in first["eq"] and "bias b = -1" in first["text"]


@pytest.mark.parametrize("c", CONV_CONFIGS)
def test_filter_grad_view_matches_cnnbp(c):
    cfg = widgets.filter_grad_view([c]).payload["configs"][0]
    g = _settings(c)
    xp = _values(_grid(cfg, "input"))
    dout = _values(_grid(cfg, "dout"))
    ph, pw = g.padding
    x = xp[ph:ph + g.H, pw:pw + g.W]
    dw = _values(_grid(cfg, "dw"))
    w = np.ones((1, 1, g.HH, g.WW))
    _, want, _ = cnnbp.conv2d_backward(
        dout[None, None], x[None, None], w, stride=g.stride,
        padding=g.padding, dilation=g.dilation)
    np.testing.assert_array_equal(dw, want[0, 0])
    for k, step in enumerate(cfg["steps"]):
        m, n = divmod(k, g.WW)
        terms = indexmap.filter_grad_terms(g, m, n)
        assert _cells(step, "input") == {(t.u_pad, t.v_pad) for t in terms}
        assert _cells(step, "dout") == {(t.i, t.j) for t in terms}
        assert _cells(step, "dw") == {(m, n)}
        if g.stride != (1, 1):
            assert _cells(step, "doutz") == {
                (t.i * g.stride[0], t.j * g.stride[1]) for t in terms}


@pytest.mark.parametrize("c", CONV_CONFIGS)
def test_input_grad_gather_matches_cnnbp(c):
    cfg = widgets.input_grad_view([c]).payload["configs"][0]
    g = _settings(c)
    dout = _values(_grid(cfg, "dout"))
    w = _values(_grid(cfg, "filter"))
    np.testing.assert_array_equal(_values(_grid(cfg, "rot")), w[::-1, ::-1])
    dx = _values(_grid(cfg, "dx"))
    want = cnnbp.conv2d_backward(
        dout[None, None], np.zeros((1, 1, g.H, g.W)), w[None, None],
        stride=g.stride, padding=g.padding, dilation=g.dilation)[0]
    np.testing.assert_array_equal(dx, want[0, 0])
    full = _values(_grid(cfg, "full"))
    assert full.sum() == dout.sum()
    for k, step in enumerate(cfg["steps"]):
        u, v = divmod(k, g.W)
        terms = indexmap.input_grad_terms(g, u, v)
        assert _cells(step, "dout") == {(t.i, t.j) for t in terms}
        assert _cells(step, "filter") == {(t.m, t.n) for t in terms}
        assert _cells(step, "rot") == {(g.HH - 1 - t.m, g.WW - 1 - t.n)
                                       for t in terms}
        window = _cells(step, "full")
        assert len(window) == g.HH * g.WW
        total = sum(full[r, q] * w[::-1, ::-1][a, b]
                    for a in range(g.HH) for b in range(g.WW)
                    for r, q in [(u + g.padding[0] + a * g.dilation[0],
                                  v + g.padding[1] + b * g.dilation[1])])
        assert total == pytest.approx(dx[u, v])


@pytest.mark.parametrize("c", CONV_CONFIGS)
def test_input_grad_scatter_ends_at_cnnbp(c):
    view = widgets.input_grad_view([dict(c, mode="scatter")])
    cfg = view.payload["configs"][0]
    g = _settings(c)
    last = np.array([float(v) for v in cfg["steps"][-1]["vals"]["acc"]])
    last = last.reshape(g.H_pad, g.W_pad)
    ph, pw = g.padding
    np.testing.assert_allclose(last[ph:ph + g.H, pw:pw + g.W],
                               _values(_grid(cfg, "dx")))
    for k, step in enumerate(cfg["steps"]):
        i, j = divmod(k, g.W_out)
        terms = indexmap.forward_terms(g, i, j)
        assert _cells(step, "acc") == {(t.u_pad, t.v_pad) for t in terms}
        assert _cells(step, "dout") == {(i, j)}


def test_input_grad_rejects_unknown_mode():
    with pytest.raises(ValueError, match="mode"):
        widgets.input_grad_view([dict(mode="sideways")])


def test_channels_view_sums_channels_and_bias():
    x = np.arange(2 * 3 * 3, dtype=float).reshape(2, 3, 3) % 4
    w = np.array([[[[1, 0], [0, -1]], [[2, 1], [0, 0]]]], dtype=float)
    view = widgets.channels_view([dict(x=x, w=w, b=[5.0], padding=1)])
    cfg = view.payload["configs"][0]
    out = _values(_grid(cfg, "output0"))
    want = cnnbp.conv2d(x[None], w, np.array([5.0]), padding=1)[0, 0]
    np.testing.assert_array_equal(out, want)
    assert len(cfg["steps"]) == out.size
    step = cfg["steps"][out.shape[1] + 1]
    g = indexmap.conv_geometry(3, 3, 2, 2, padding=1)
    terms = indexmap.forward_terms(g, 1, 1)
    for c in range(2):
        assert _cells(step, f"input{c}") == {(t.u_pad, t.v_pad)
                                            for t in terms}
    assert f"<b>{widgets._fmt(want[1, 1])}</b>" in step["eq"]


POOL_CONFIGS = [{}, dict(H=5, size=3, stride=1),
                dict(x=[[1, 3, 3, 0], [2, 3, 1, 1], [0, 0, 2, 2],
                        [1, 0, 2, 1]]),
                dict(H=5, W=6, size=(2, 3), stride=(1, 2))]


@pytest.mark.parametrize("c", POOL_CONFIGS)
def test_maxpool_view_routes_like_cnnbp(c):
    cfg = widgets.maxpool_view([c]).payload["configs"][0]
    x = _values(_grid(cfg, "input"))
    dout = _values(_grid(cfg, "dout"))
    size, stride = c.get("size", 2), c.get("stride")
    win = indexmap.pool_winners(x, size, stride)
    g = indexmap.pool_geometry(*x.shape, size, stride)
    for k, step in enumerate(cfg["steps"]):
        i, j = divmod(k, g.W_out)
        assert _cells(step, "input") == set(g.window(i, j))
        assert _cells(step, "input", "win") == {tuple(win[i, j])}
        assert _cells(step, "dx") == {tuple(win[i, j])}
    last = np.array([float(v) for v in cfg["steps"][-1]["vals"]["dx"]])
    want = cnnbp.maxpool2d_backward(dout[None, None], x[None, None], size,
                                    stride)[0, 0]
    np.testing.assert_array_equal(last.reshape(x.shape), want)


def test_maxpool_view_shows_ties():
    c = POOL_CONFIGS[2]
    cfg = widgets.maxpool_view([c]).payload["configs"][0]
    first = cfg["steps"][0]
    assert _cells(first, "input", "tie") == {(1, 1)}
    assert "Tie" in first["text"] and "with ties" in cfg["label"]


def test_shape_calculator_matches_output_size():
    view = widgets.shape_calculator(H=[3, 7], k=[3, 5], s=[1, 2],
                                    p=[0, 1], d=[1, 2], initial=(7, 3, 2,
                                                                 1, 1))
    data = view.payload
    combos = [(h, k, s, p, d) for h in [3, 7] for k in [3, 5]
              for s in [1, 2] for p in [0, 1] for d in [1, 2]]
    assert len(data["results"]) == len(combos)
    for combo, res in zip(combos, data["results"]):
        try:
            out = cnnbp.output_size(*combo)
        except ValueError as err:
            assert res == str(err)
        else:
            assert res[4] == out
            H, k, s, p, d = combo
            assert res[0] == H + 2 * p and res[1] == d * (k - 1) + 1
            assert res[5] == H + 2 * p - res[1] - (out - 1) * s


ALL_VIEWS = [
    lambda: widgets.forward_view(CONV_CONFIGS),
    lambda: widgets.channels_view([{}, dict(C=3, F=1, H=3, padding=1)]),
    lambda: widgets.filter_grad_view(CONV_CONFIGS),
    lambda: widgets.input_grad_view(CONV_CONFIGS + [dict(mode="scatter")]),
    lambda: widgets.maxpool_view(POOL_CONFIGS),
    widgets.shape_calculator,
]


@pytest.mark.parametrize("make", ALL_VIEWS)
def test_html_is_deterministic_small_and_safe(make):
    a, b = make(), make()
    assert a.payload == b.payload
    ha, hb = a.to_html(), b.to_html()
    ida = re.search(r'id="(cnnbp-[a-z_]+-[0-9a-f]{10}-(\d+))"', ha)
    idb = re.search(r'id="(cnnbp-[a-z_]+-[0-9a-f]{10}-(\d+))"', hb)
    assert int(idb.group(2)) == int(ida.group(2)) + 1
    assert hb == ha.replace(ida.group(1), idb.group(1))
    assert len(ha) < 200_000
    assert "</" not in ha.split("<script>", 1)[1].split(
        "window.cnnbpViews.render(", 1)[1].rsplit("</script>", 1)[0]
    assert "http" not in ha
    assert a._repr_html_().count("<script>") == 1
    json.loads(json.dumps(a.payload))
    assert "cnnbp" in repr(a)


def test_explorers_build_and_survive_impossible_settings():
    pytest.importorskip("ipywidgets")
    for make in (widgets.explore_forward, widgets.explore_filter_grad,
                 widgets.explore_input_grad, widgets.explore_maxpool):
        box = make()
        sliders = {s.description: s for s in box.children[0].children}
        sliders["H"].value = 1
        sliders["W"].value = 1
        sliders["H"].value = 3


def test_palette_is_okabe_ito():
    okabe_ito = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2",
                 "#D55E00", "#CC79A7"}
    assert set(widgets.PALETTE.values()) <= okabe_ito


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
