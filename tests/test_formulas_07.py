"""Claims of book/07_input_gradient.ipynb, checked against cnnbp."""
import json
from pathlib import Path

import numpy as np
import pytest

import cnnbp
from cnnbp import gradcheck, naive
from cnnbp.gradcheck import TOLERANCE


def numeric_dx(dout, x, w, stride=1, padding=0):
    return gradcheck.numerical_gradient(
        lambda x_: cnnbp.conv2d(x_, w, stride=stride, padding=padding),
        x, dout)


def full_conv(g, w):
    """Pad G by k-1, correlate with rot180(F); (N,F,.,.) -> (N,C,.,.)."""
    k_h, k_w = w.shape[-2:]
    g_full = naive.pad(g, (k_h - 1, k_w - 1))
    return cnnbp.conv2d(g_full, naive.rot180(w).transpose(1, 0, 2, 3))


def test_small_example_term_by_term():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((1, 1, 2, 2))
    g = rng.standard_normal((1, 1, 2, 2))
    F, G = w[0, 0], g[0, 0]
    expected = np.array([
        [G[0, 0] * F[0, 0],
         G[0, 0] * F[0, 1] + G[0, 1] * F[0, 0],
         G[0, 1] * F[0, 1]],
        [G[0, 0] * F[1, 0] + G[1, 0] * F[0, 0],
         G[0, 0] * F[1, 1] + G[0, 1] * F[1, 0]
         + G[1, 0] * F[0, 1] + G[1, 1] * F[0, 0],
         G[0, 1] * F[1, 1] + G[1, 1] * F[0, 1]],
        [G[1, 0] * F[1, 0],
         G[1, 0] * F[1, 1] + G[1, 1] * F[1, 0],
         G[1, 1] * F[1, 1]],
    ])
    x = rng.standard_normal((1, 1, 3, 3))
    np.testing.assert_allclose(naive.input_gradient(g, x, w)[0, 0],
                               expected)
    np.testing.assert_allclose(cnnbp.conv2d_backward(g, x, w)[0][0, 0],
                               expected)


def test_worked_example_numbers_and_no_input_dependence():
    w = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    g = np.array([[[[1.0, 2.0], [-1.0, 3.0]]]])
    rng = np.random.default_rng(1)
    for x in [np.zeros((1, 1, 3, 3)), rng.standard_normal((1, 1, 3, 3))]:
        dx = cnnbp.conv2d_backward(g, x, w)[0][0, 0]
        np.testing.assert_allclose(
            dx, [[1, 4, 4], [2, 11, 14], [-3, 5, 12]])
    no_flip = naive.input_gradient(g, x, naive.rot180(w))[0, 0, 1, 1]
    assert no_flip == 14


def test_use_counts():
    """All-ones G and F: dL/dX counts the outputs that used each cell."""
    counts = cnnbp.conv2d_backward(np.ones((1, 1, 2, 2)),
                                   np.zeros((1, 1, 3, 3)),
                                   np.ones((1, 1, 2, 2)))[0][0, 0]
    np.testing.assert_array_equal(counts, [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    counts5 = cnnbp.conv2d_backward(np.ones((1, 1, 3, 3)),
                                    np.zeros((1, 1, 5, 5)),
                                    np.ones((1, 1, 3, 3)))[0][0, 0]
    assert counts5[0, 1] == 2 and counts5[2, 2] == 9 and counts5[0, 0] == 1


@pytest.mark.parametrize("H, W, HH, WW", [(3, 3, 2, 2), (6, 5, 3, 2),
                                          (5, 7, 1, 3)])
def test_stride1_dx_is_full_convolution_with_rot180(H, W, HH, WW):
    rng = np.random.default_rng(H * W)
    x = rng.standard_normal((1, 1, H, W))
    w = rng.standard_normal((1, 1, HH, WW))
    g = rng.standard_normal(cnnbp.conv2d(x, w).shape)
    dx = cnnbp.conv2d_backward(g, x, w)[0]
    np.testing.assert_allclose(full_conv(g, w), dx, atol=1e-12)
    if (w != naive.rot180(w)).any():
        assert not np.allclose(full_conv(g, naive.rot180(w)), dx)


def test_gather_equals_scatter():
    rng = np.random.default_rng(2)
    for s, p in [(1, 0), (2, 0), (2, 1), (3, 2)]:
        x = rng.standard_normal((2, 3, 8, 7))
        w = rng.standard_normal((4, 3, 3, 2))
        g = rng.standard_normal(cnnbp.conv2d(x, w, stride=s,
                                             padding=p).shape)
        _, _, H_out, W_out = g.shape
        dx_pad = np.zeros((2, 3, 8 + 2 * p, 7 + 2 * p))
        for i in range(H_out):
            for j in range(W_out):
                dx_pad[:, :, i * s:i * s + 3, j * s:j * s + 2] += np.einsum(
                    "af,fcmn->acmn", g[:, :, i, j], w)
        scatter = dx_pad[:, :, p:p + 8, p:p + 7]
        gather = naive.input_gradient(g, x, w, s, p)
        np.testing.assert_allclose(scatter, gather, atol=1e-12)


@pytest.mark.parametrize("H, k, s, p", [(6, 3, 2, 0), (7, 3, 2, 0),
                                        (8, 3, 2, 1), (9, 2, 3, 0),
                                        (8, 3, 3, 1)])
def test_stride_zero_insertion_and_leftover_rows(H, k, s, p):
    """dX^pad = full conv of dilate(G, s), then r = (H+2p-k) mod s zero
    rows/cols at the end; the full conv is s(H_out-1)+k = H+2p-r wide."""
    rng = np.random.default_rng(H + s + p)
    x = rng.standard_normal((1, 2, H, H))
    w = rng.standard_normal((3, 2, k, k))
    g = rng.standard_normal(cnnbp.conv2d(x, w, stride=s, padding=p).shape)
    H_out = g.shape[-1]
    full = full_conv(naive.dilate(g, s), w)
    r = (H + 2 * p - k) % s
    assert full.shape[-1] == s * (H_out - 1) + k == H + 2 * p - r
    dx_pad = np.pad(full, ((0, 0), (0, 0), (0, r), (0, r)))
    dx = cnnbp.conv2d_backward(g, x, w, s, p)[0]
    np.testing.assert_allclose(dx_pad[:, :, p:p + H, p:p + H], dx,
                               atol=1e-12)
    assert gradcheck.rel_error(dx, numeric_dx(g, x, w, s, p)) < TOLERANCE
    if r > p:
        assert np.all(dx[..., H - (r - p):, :] == 0)
        assert np.all(dx[..., :, H - (r - p):] == 0)


def test_leftover_rows_get_zero_gradient():
    dx = naive.input_gradient(np.ones((1, 1, 3, 3)), np.zeros((1, 1, 8, 8)),
                              np.ones((1, 1, 3, 3)), stride=2)[0, 0]
    assert np.all(dx[7] == 0) and np.all(dx[:7].sum(axis=1) > 0)


def test_padding_crop_and_empty_slice_at_p0():
    a = np.ones((2, 3, 4, 4))
    p = 0
    assert a[:, :, p:-p, p:-p].shape == (2, 3, 0, 0)
    assert a[:, :, p:p + 4, p:p + 4].shape == a.shape
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 1, 5, 5))
    w = rng.standard_normal((1, 1, 3, 3))
    for p in [0, 1, 2]:
        g = rng.standard_normal(cnnbp.conv2d(x, w, padding=p).shape)
        dx_pad = naive.input_gradient(g, naive.pad(x, p), w)
        np.testing.assert_allclose(dx_pad[:, :, p:p + 5, p:p + 5],
                                   cnnbp.conv2d_backward(g, x, w,
                                                         padding=p)[0],
                                   atol=1e-12)


def test_channels_sum_over_filters():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 6, 6))
    w = rng.standard_normal((4, 3, 3, 3))
    g = rng.standard_normal(cnnbp.conv2d(x, w).shape)
    dx = cnnbp.conv2d_backward(g, x, w)[0]
    per_filter = [full_conv(g[:, f:f + 1], w[f:f + 1]) for f in range(4)]
    np.testing.assert_allclose(sum(per_filter), dx, atol=1e-12)
    assert gradcheck.rel_error(per_filter[-1], dx) > 1e-2


def test_classic_mistakes_fail_the_check():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 8, 8))
    w = rng.standard_normal((4, 3, 3, 3))
    s = 2
    for p in [1, 0]:
        g = rng.standard_normal(cnnbp.conv2d(x, w, stride=s,
                                             padding=p).shape)
        num = numeric_dx(g, x, w, s, p)

        def by_forward(g_, w_, stride, leftover=True, crop=True):
            dx_pad = full_conv(naive.dilate(g_, stride), w_)
            r = 8 + 2 * p - dx_pad.shape[-1]
            if leftover:
                dx_pad = np.pad(dx_pad, ((0, 0), (0, 0), (0, r), (0, r)))
            return dx_pad[:, :, p:p + 8, p:p + 8] if crop else dx_pad

        assert gradcheck.rel_error(by_forward(g, w, s), num) < TOLERANCE
        for bad in [by_forward(g, naive.rot180(w), s), by_forward(g, w, 1),
                    by_forward(g[:, -1:], w[-1:], s)]:
            assert gradcheck.rel_error(bad, num) > 1e-2
        dropped = by_forward(g, w, s, leftover=False)
        assert (dropped.shape == num.shape) == (p >= (8 + 2 * p - 3) % s)
        minus_crop = by_forward(g, w, s, crop=False)[:, :, p:-p, p:-p]
        if p == 0:
            assert minus_crop.size == 0
        else:
            assert gradcheck.rel_error(minus_crop, num) < TOLERANCE


@pytest.mark.parametrize("H, W, k, s, p", [(5, 6, 2, 1, 0), (7, 6, 3, 2, 0),
                                           (8, 7, 3, 3, 1), (6, 6, 2, 2, 1)])
def test_per_element_sum_over_is_plus_m_equals_u(H, W, k, s, p):
    """dL/dX^pad[u,v] = sum over f and i, m with i s + m = u (and
    j, n with j s + n = v) of G[f,i,j] F[f,c,m,n]; G[u-m] form at s=1."""
    rng = np.random.default_rng(H * W + s + p)
    x = rng.standard_normal((1, 2, H, W))
    w = rng.standard_normal((3, 2, k, k))
    g = rng.standard_normal(cnnbp.conv2d(x, w, stride=s, padding=p).shape)
    _, _, H_out, W_out = g.shape
    dx_pad = np.zeros((1, 2, H + 2 * p, W + 2 * p))
    for c, u, v in np.ndindex(2, H + 2 * p, W + 2 * p):
        for i, j, m, n in np.ndindex(H_out, W_out, k, k):
            if i * s + m == u and j * s + n == v:
                dx_pad[0, c, u, v] += g[0, :, i, j] @ w[:, c, m, n]
    dx = cnnbp.conv2d_backward(g, x, w, s, p)[0]
    np.testing.assert_allclose(dx_pad[:, :, p:p + H, p:p + W], dx,
                               atol=1e-12)
    if s == 1 and p == 0:
        # G zero outside its range: negative u - m wraps into the zeros.
        g_ext = np.zeros((3, H + k, W + k))
        g_ext[:, :H_out, :W_out] = g[0]
        conv = np.zeros((2, H, W))
        for c, u, v, m, n in np.ndindex(2, H, W, k, k):
            conv[c, u, v] += g_ext[:, u - m, v - n] @ w[:, c, m, n]
        np.testing.assert_allclose(conv, dx[0], atol=1e-12)


@pytest.mark.parametrize("H, k, s, p", [(6, 3, 2, 0), (7, 3, 2, 0),
                                        (8, 3, 3, 1), (9, 2, 2, 1)])
def test_leftover_rows_can_go_into_the_border_first(H, k, s, p):
    """Appending r zero rows after the full correlation equals a border of
    k - 1 on top and k - 1 + r at the bottom before it (the gather view's
    uneven border)."""
    rng = np.random.default_rng(H + 10 * s)
    x = rng.standard_normal((1, 1, H, H))
    w = rng.standard_normal((1, 1, k, k))
    g = rng.standard_normal(cnnbp.conv2d(x, w, stride=s, padding=p).shape)
    r = (H + 2 * p - k) % s
    d = naive.dilate(g, s)
    even = full_conv(d, w)
    appended = np.pad(even, ((0, 0), (0, 0), (0, r), (0, r)))
    border = (k - 1, k - 1 + r)
    uneven = cnnbp.conv2d(np.pad(d, ((0, 0), (0, 0), border, border)),
                          naive.rot180(w))
    np.testing.assert_allclose(uneven, appended, atol=1e-12)
    dx_pad = cnnbp.conv2d_backward(g, naive.pad(x, p), w, stride=s)[0]
    np.testing.assert_allclose(uneven, dx_pad, atol=1e-12)


@pytest.mark.parametrize("H, W, k, s, p, d", [(8, 7, 3, 2, 0, 2),
                                              (9, 9, 2, 1, 1, 3),
                                              (10, 8, 3, 3, 2, 2)])
def test_dilated_filter_is_a_larger_filter_with_holes(H, W, k, s, p, d):
    """A dilated filter computes what naive.dilate(w, d) computes, so dX
    is the recipe with k_eff = d(k - 1) + 1: border d(k - 1), rotated
    dilated filter, (H + 2p - k_eff) mod s leftover rows."""
    rng = np.random.default_rng(H * d + s)
    x = rng.standard_normal((2, 2, H, W))
    w = rng.standard_normal((3, 2, k, k))
    holes = naive.dilate(w, d)
    k_eff = d * (k - 1) + 1
    assert holes.shape[-2:] == (k_eff, k_eff)
    kw = dict(stride=s, padding=p)
    np.testing.assert_allclose(cnnbp.conv2d(x, w, dilation=d, **kw),
                               cnnbp.conv2d(x, holes, **kw), atol=1e-12)
    g = rng.standard_normal(cnnbp.conv2d(x, w, dilation=d, **kw).shape)
    num = gradcheck.numerical_gradient(
        lambda x_: cnnbp.conv2d(x_, w, dilation=d, **kw), x, g)
    full = full_conv(naive.dilate(g, s), holes)
    r = (H + 2 * p - k_eff) % s
    rc = (W + 2 * p - k_eff) % s
    full = np.pad(full, ((0, 0), (0, 0), (0, r), (0, rc)))
    dx = full[:, :, p:p + H, p:p + W]
    assert gradcheck.rel_error(dx, num) < TOLERANCE
    assert gradcheck.rel_error(naive.input_gradient(g, x, w, s, p, d),
                               num) < TOLERANCE


def test_gather_view_configurations_show_both_borders():
    """The chapter's stepper has a stride-2 preset with a leftover row
    (H = 6, uneven border) and one without (H = 7, even border)."""
    path = Path(__file__).resolve().parents[1] / "book" / (
        "07_input_gradient.ipynb")
    cells = json.loads(path.read_text())["cells"]
    view = next("".join(c["source"]) for c in cells
                if "widgets.input_grad_view(" in "".join(c["source"]))
    for H, r in [(6, 1), (7, 0)]:
        assert f"dict(H={H}, k=3, stride=2" in view
        assert (H - 3) % 2 == r
