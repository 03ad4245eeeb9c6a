"""Claims of book/14_dilation_backward.ipynb, checked against cnnbp,
finite differences and PyTorch on random, non-square, per-axis
configurations."""
import numpy as np
import pytest

import cnnbp
from cnnbp import gradcheck, naive
from cnnbp.exercises import dilation as D
from cnnbp.gradcheck import TOLERANCE
from cnnbp.shapes import pair


def random_layer(rng):
    """x, w, dout and per-axis stride, padding, dilation that fit."""
    while True:
        s = tuple(int(v) for v in rng.integers(1, 4, 2))
        p = tuple(int(v) for v in rng.integers(0, 3, 2))
        d = tuple(int(v) for v in rng.integers(1, 4, 2))
        HH, WW = (int(v) for v in rng.integers(1, 4, 2))
        H, W = (int(v) for v in rng.integers(4, 12, 2))
        x = rng.standard_normal((int(rng.integers(1, 3)),
                                 int(rng.integers(1, 4)), H, W))
        w = rng.standard_normal((int(rng.integers(1, 4)), x.shape[1],
                                 HH, WW))
        try:
            out = cnnbp.conv2d(x, w, stride=s, padding=p, dilation=d)
        except ValueError:
            continue
        return x, w, rng.standard_normal(out.shape), dict(
            stride=s, padding=p, dilation=d)


def numeric(dout, x, w, hyper):
    dx = gradcheck.numerical_gradient(
        lambda x_: cnnbp.conv2d(x_, w, **hyper), x, dout)
    dw = gradcheck.numerical_gradient(
        lambda w_: cnnbp.conv2d(x, w_, **hyper), w, dout)
    return dx, dw


def dw_every_dth(dout, x, w, stride, padding, dilation):
    """Correlation of X^pad with the zero-inserted G, every d-th entry."""
    HH, WW = w.shape[2:]
    d = pair(dilation, "dilation")
    xp = naive.pad(x, padding)
    corr = cnnbp.conv2d(xp.transpose(1, 0, 2, 3),
                        naive.dilate(dout, stride).transpose(1, 0, 2, 3))
    return corr[:, :, ::d[0], ::d[1]][:, :, :HH, :WW].transpose(1, 0, 2, 3)


def dw_swap(dout, x, w, stride, padding, dilation):
    """Correlation of X^pad with G at stride d and dilation s."""
    HH, WW = w.shape[2:]
    xp = naive.pad(x, padding)
    corr = cnnbp.conv2d(xp.transpose(1, 0, 2, 3),
                        dout.transpose(1, 0, 2, 3), stride=dilation,
                        dilation=stride)
    return corr[:, :, :HH, :WW].transpose(1, 0, 2, 3)


def dx_gather(dout, x, w, stride, padding, dilation):
    """Pad the zero-inserted G by d(HH - 1), correlate with rot180(F) at
    dilation d, append r leftover rows, crop p."""
    s, p, d = (pair(v, "hyper") for v in (stride, padding, dilation))
    N, C, H, W = x.shape
    HH, WW = w.shape[2:]
    g = naive.pad(naive.dilate(dout, s), (d[0] * (HH - 1),
                                          d[1] * (WW - 1)))
    full = cnnbp.conv2d(g, naive.rot180(w).transpose(1, 0, 2, 3),
                        dilation=d)
    r = [(n + 2 * p[a] - d[a] * (k - 1) - 1) % s[a]
         for a, (n, k) in enumerate(((H, HH), (W, WW)))]
    assert full.shape[2] + r[0] == H + 2 * p[0]
    assert full.shape[3] + r[1] == W + 2 * p[1]
    dxp = np.pad(full, ((0, 0), (0, 0), (0, r[0]), (0, r[1])))
    return dxp[:, :, p[0]:p[0] + H, p[1]:p[1] + W]


@pytest.mark.parametrize("seed", range(12))
def test_recipes_match_finite_differences_and_torch(seed):
    torch = pytest.importorskip("torch")
    x, w, dout, hyper = random_layer(np.random.default_rng(seed))
    dx_num, dw_num = numeric(dout, x, w, hyper)
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    torch.nn.functional.conv2d(xt, wt, **hyper).backward(
        torch.tensor(dout))
    for dw in [dw_every_dth(dout, x, w, **hyper),
               dw_swap(dout, x, w, **hyper)]:
        assert gradcheck.rel_error(dw, dw_num) < TOLERANCE
        np.testing.assert_allclose(dw, wt.grad.numpy(), atol=1e-10)
    dx = dx_gather(dout, x, w, **hyper)
    assert gradcheck.rel_error(dx, dx_num) < TOLERANCE
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("seed", range(6))
def test_effective_kernel(seed):
    """Same forward and dx through the filter with holes; its dw is
    right at the taps and nonzero at the holes; output size uses
    d(HH - 1) + 1."""
    x, w, dout, hyper = random_layer(np.random.default_rng(50 + seed))
    s, p, d = hyper["stride"], hyper["padding"], hyper["dilation"]
    big = naive.dilate(w, d)
    assert big.shape[2:] == tuple(d[a] * (w.shape[2 + a] - 1) + 1
                                  for a in range(2))
    out = cnnbp.conv2d(x, w, **hyper)
    np.testing.assert_allclose(cnnbp.conv2d(x, big, stride=s, padding=p),
                               out)
    assert out.shape[2] == (x.shape[2] + 2 * p[0] - big.shape[2]) // s[0] + 1
    dx, dw, _ = cnnbp.conv2d_backward(dout, x, w, **hyper)
    dx_big, dw_big, _ = cnnbp.conv2d_backward(dout, x, big, s, p)
    np.testing.assert_allclose(dx_big, dx, atol=1e-12)
    np.testing.assert_allclose(dw_big[:, :, ::d[0], ::d[1]], dw,
                               atol=1e-12)


def test_worked_example():
    x = np.arange(1.0, 26.0).reshape(1, 1, 5, 5)
    w = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    g = np.array([[[[1.0, -1.0, 2.0], [0.0, 3.0, 1.0], [-2.0, 1.0, 1.0]]]])
    assert cnnbp.output_size(5, 2, dilation=2) == 3
    dw = cnnbp.conv2d_backward(g, x, w, dilation=2)[1][0, 0]
    np.testing.assert_array_equal(dw, [[37, 49], [97, 109]])
    corr = cnnbp.conv2d(x, g)[0, 0]
    np.testing.assert_array_equal(corr[::2, ::2], dw)
    assert not np.allclose(corr[:2, :2], dw)
    # Weight (m, n) reads X[2m:2m + 3, 2n:2n + 3].
    for m in range(2):
        for n in range(2):
            assert dw[m, n] == np.sum(g[0, 0] * x[0, 0, 2 * m:2 * m + 3,
                                                     2 * n:2 * n + 3])
    dx = cnnbp.conv2d_backward(g, x, w, dilation=2)[0][0, 0]
    # dL/dX[u, v] = sum over i + 2m = u, j + 2n = v of G[i, j] F[m, n].
    G, F = g[0, 0], w[0, 0]
    for u in range(5):
        for v in range(5):
            terms = sum(G[i, j] * F[m, n] for i in range(3) for m in range(2)
                        for j in range(3) for n in range(2)
                        if i + 2 * m == u and j + 2 * n == v)
            assert dx[u, v] == terms
    full = cnnbp.conv2d(naive.pad(g, 2), naive.rot180(w), dilation=2)
    np.testing.assert_array_equal(full[0, 0], dx)
    assert dx[2, 2] == 7
    # A hole of the big filter gets a nonzero gradient.
    dw_big = cnnbp.conv2d_backward(g, x, naive.dilate(w, 2))[1][0, 0]
    assert dw_big[1, 1] != 0


def test_mistakes_fail_where_the_chapter_says():
    """Each mistake is wrong at s != d, d > 1; the swap mistakes equal
    the right recipe at s = d; at d = 1 dw_first_rows, dx_holes_ignored
    and dx_border_hh pass."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 2, 11, 10))
    w = rng.standard_normal((3, 2, 3, 2))
    for hyper, expect_right in [
            (dict(stride=2, padding=1, dilation=3), set()),
            (dict(stride=1, padding=0, dilation=2), set()),
            (dict(stride=2, padding=1, dilation=2),
             {"dw_not_swapped", "dx_swapped"}),
            (dict(stride=2, padding=1, dilation=1),
             {"dw_first_rows", "dw_effective_kernel", "dx_holes_ignored",
              "dx_border_hh"})]:
        dout = rng.standard_normal(cnnbp.conv2d(x, w, **hyper).shape)
        dx, dw, _ = cnnbp.conv2d_backward(dout, x, w, **hyper)
        right = set()
        for part, table, want in [(0, D.DILATED_DX, dx),
                                  (1, D.DILATED_DW, dw)]:
            for m in table:
                try:
                    got = m.fn(dout, x, w, **hyper)
                except ValueError:
                    continue
                if got.shape == want.shape and np.allclose(got, want):
                    right.add(m.fn.__name__)
        assert right == expect_right, hyper
