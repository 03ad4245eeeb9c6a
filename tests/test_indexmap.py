"""cnnbp.indexmap against brute force: perturb one cell, see what moves."""
import itertools

import numpy as np
import pytest

import cnnbp
from cnnbp import indexmap

SIZES = [(5, 7), (6, 4), (3, 3)]
KERNELS = [(3, 2), (2, 3), (1, 1), (3, 3)]
STRIDES = [1, 2, (2, 1), (1, 3)]
PADDINGS = [0, 1, (1, 2)]
DILATIONS = [1, (2, 1), 2]


def _cases():
    for (H, W), (HH, WW), s, p, d in itertools.product(
            SIZES, KERNELS, STRIDES, PADDINGS, DILATIONS):
        try:
            g = indexmap.conv_geometry(H, W, HH, WW, s, p, d)
        except ValueError:
            continue
        yield pytest.param(g, id=f"{H}x{W}-k{HH}x{WW}-s{s}-p{p}-d{d}")


CASES = list(_cases())


def _conv(g, x, w):
    return cnnbp.conv2d(x[None, None], w[None, None], stride=g.stride,
                        padding=g.padding, dilation=g.dilation)[0, 0]


def test_sweep_is_large_and_varied():
    assert len(CASES) > 200
    geoms = [c.values[0] for c in CASES]
    assert any(g.H_out != g.W_out for g in geoms)
    assert any(g.stride[0] != g.stride[1] for g in geoms)
    assert any(g.dilation != (1, 1) for g in geoms)


@pytest.mark.parametrize("g", CASES)
def test_input_cells_against_perturbation(g):
    rng = np.random.default_rng(0)
    w = rng.uniform(1, 2, size=(g.HH, g.WW))
    zero = np.zeros((g.H, g.W))
    for u in range(g.H):
        for v in range(g.W):
            e = zero.copy()
            e[u, v] = 1.0
            moved = _conv(g, e, w)
            want = np.zeros_like(moved)
            for t in indexmap.input_grad_terms(g, u, v):
                assert (t.u, t.v) == (u, v)
                want[t.i, t.j] += w[t.m, t.n]
            np.testing.assert_allclose(moved, want, atol=1e-12)


@pytest.mark.parametrize("g", CASES)
def test_filter_cells_against_perturbation(g):
    rng = np.random.default_rng(1)
    x = rng.uniform(1, 2, size=(g.H, g.W))
    xp = np.pad(x, [(g.padding[0],) * 2, (g.padding[1],) * 2])
    for m in range(g.HH):
        for n in range(g.WW):
            e = np.zeros((g.HH, g.WW))
            e[m, n] = 1.0
            moved = _conv(g, x, e)
            want = np.zeros_like(moved)
            terms = indexmap.filter_grad_terms(g, m, n)
            assert len(terms) == g.H_out * g.W_out
            for t in terms:
                assert (t.m, t.n) == (m, n)
                want[t.i, t.j] = xp[t.u_pad, t.v_pad]
                assert t.in_padding == (xp[t.u_pad, t.v_pad] == 0)
            np.testing.assert_allclose(moved, want, atol=1e-12)


@pytest.mark.parametrize("g", CASES)
def test_forward_terms_sum_to_conv2d(g):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(g.H, g.W))
    w = rng.normal(size=(g.HH, g.WW))
    out = _conv(g, x, w)
    for i in range(g.H_out):
        for j in range(g.W_out):
            total = 0.0
            for t in indexmap.forward_terms(g, i, j):
                if not t.in_padding:
                    total += x[t.u, t.v] * w[t.m, t.n]
            assert total == pytest.approx(out[i, j], abs=1e-12)


@pytest.mark.parametrize("g", CASES[::7])
def test_three_groupings_are_the_same_meetings(g):
    fwd = {t for i in range(g.H_out) for j in range(g.W_out)
           for t in indexmap.forward_terms(g, i, j)}
    dw = {t for m in range(g.HH) for n in range(g.WW)
          for t in indexmap.filter_grad_terms(g, m, n)}
    dx_pad = {t for u in range(g.H_pad) for v in range(g.W_pad)
              for t in indexmap.input_grad_terms(g, u, v, padded=True)}
    assert fwd == dw == dx_pad
    dx = {t for u in range(g.H) for v in range(g.W)
          for t in indexmap.input_grad_terms(g, u, v)}
    assert dx == {t for t in fwd if not t.in_padding}


@pytest.mark.parametrize("g", CASES[::5])
def test_reached_outputs_marks_untouched_cells(g):
    rng = np.random.default_rng(3)
    dout = rng.uniform(1, 2, size=(g.H_out, g.W_out))
    w = rng.uniform(1, 2, size=(g.HH, g.WW))
    x = np.zeros((g.H, g.W))
    dx = cnnbp.conv2d_backward(dout[None, None], x[None, None],
                               w[None, None], stride=g.stride,
                               padding=g.padding, dilation=g.dilation)[0]
    ph, pw = g.padding
    reached = indexmap.reached_outputs(g)[ph:ph + g.H, pw:pw + g.W]
    np.testing.assert_array_equal(reached > 0, dx[0, 0] != 0)


def _axes(g):
    """The two one-axis convolutions (rows, columns) of a geometry."""
    (sh, sw), (ph, pw), (dh, dw) = g.stride, g.padding, g.dilation
    rows = indexmap.conv_geometry(g.H, 1, g.HH, 1, (sh, 1), (ph, 0),
                                  (dh, 1))
    cols = indexmap.conv_geometry(g.W, 1, g.WW, 1, (sw, 1), (pw, 0),
                                  (dw, 1))
    return rows, cols


@pytest.mark.parametrize("g", CASES[::3])
def test_each_map_is_the_product_of_its_two_axes(g):
    # the browser tests build the 2-D maps they expect from the axes
    rows, cols = _axes(g)
    for i in range(g.H_out):
        for j in range(g.W_out):
            assert [(t.m, t.n, t.u_pad, t.v_pad, t.in_padding)
                    for t in indexmap.forward_terms(g, i, j)] == [
                (a.m, b.m, a.u_pad, b.u_pad, a.in_padding or b.in_padding)
                for a in indexmap.forward_terms(rows, i, 0)
                for b in indexmap.forward_terms(cols, j, 0)]
    for u in range(g.H):
        for v in range(g.W):
            assert [(t.i, t.j, t.m, t.n)
                    for t in indexmap.input_grad_terms(g, u, v)] == [
                (a.i, b.i, a.m, b.m)
                for a in indexmap.input_grad_terms(rows, u, 0)
                for b in indexmap.input_grad_terms(cols, v, 0)]
    np.testing.assert_array_equal(
        indexmap.reached_outputs(g),
        np.outer(indexmap.reached_outputs(rows)[:, 0],
                 indexmap.reached_outputs(cols)[:, 0]))


@pytest.mark.parametrize("args", [(4, 4, 5, 1), (3, 3, 2, 2, 0, 0),
                                  (5, 5, 3, 3, 1, -1), (5, 5, 3, 3, 0, 0,
                                                        3)])
def test_invalid_settings_raise_cnnbp_value_error(args):
    H, W, HH, WW, *rest = args
    with pytest.raises(ValueError) as ours:
        indexmap.conv_geometry(H, W, HH, WW, *rest)
    with pytest.raises(ValueError) as theirs:
        cnnbp.conv2d(np.zeros((1, 1, H, W)), np.zeros((1, 1, HH, WW)),
                     None, *rest)
    assert str(ours.value) == str(theirs.value)


POOLS = [((4, 4), 2, None), ((5, 5), 3, 1), ((5, 6), 2, 1),
         ((6, 5), (2, 3), (2, 1)), ((3, 7), 3, 2)]


@pytest.mark.parametrize("shape,size,stride", POOLS)
def test_pool_winners_match_cnnbp_backward(shape, size, stride):
    rng = np.random.default_rng(4)
    for trial in range(20):
        x = rng.integers(0, 3, size=shape).astype(float)
        win = indexmap.pool_winners(x, size, stride)
        H_out, W_out = win.shape[:2]
        for i in range(H_out):
            for j in range(W_out):
                dout = np.zeros((1, 1, H_out, W_out))
                dout[0, 0, i, j] = 1.0
                dx = cnnbp.maxpool2d_backward(dout, x[None, None], size,
                                              stride)[0, 0]
                assert np.argwhere(dx).tolist() == [list(win[i, j])]
        out = cnnbp.maxpool2d(x[None, None], size, stride)[0, 0]
        np.testing.assert_array_equal(x[win[..., 0], win[..., 1]], out)


@pytest.mark.parametrize("shape,size,stride", POOLS)
def test_pool_routes_accumulate_like_cnnbp(shape, size, stride):
    rng = np.random.default_rng(5)
    x = rng.integers(0, 3, size=shape).astype(float)
    routes = indexmap.pool_routes(x, size, stride)
    g = indexmap.pool_geometry(*shape, size, stride)
    dout = rng.normal(size=(g.H_out, g.W_out))
    dx = cnnbp.maxpool2d_backward(dout[None, None], x[None, None], size,
                                  stride)[0, 0]
    want = np.zeros(shape)
    for (u, v), wins in routes.items():
        want[u, v] = sum(dout[ij] for ij in wins)
    np.testing.assert_allclose(dx, want, atol=1e-12)


def test_pool_ties_first_maximum_wins():
    x = np.array([[1.0, 3, 3, 0], [2, 3, 1, 1], [0, 0, 2, 2], [1, 0, 2, 1]])
    ties = indexmap.pool_ties(x)
    assert ties == {(0, 0): [(0, 1), (1, 1)], (1, 1): [(2, 2), (2, 3),
                                                        (3, 2)]}
    win = indexmap.pool_winners(x)
    assert tuple(win[0, 0]) == (0, 1)
    assert tuple(win[1, 1]) == (2, 2)


def test_pool_overlap_routes_twice():
    x = np.array([[0.0, 0, 0], [0, 9, 0], [0, 0, 0]])
    routes = indexmap.pool_routes(x, size=2, stride=1)
    assert routes[(1, 1)] == [(0, 0), (0, 1), (1, 0), (1, 1)]
