"""Claims of book/13_transposed_conv.ipynb, checked against cnnbp, finite
differences and PyTorch on random, non-square, per-axis configurations."""
import numpy as np
import pytest

import cnnbp
from cnnbp import gradcheck, naive
from cnnbp.gradcheck import TOLERANCE


def random_conv(rng):
    """A random convolution: x, w (K, C, HH, WW), stride, padding,
    dilation (per-axis pairs), with at least one valid window."""
    while True:
        HH, WW = rng.integers(1, 5, size=2)
        s = tuple(rng.integers(1, 4, size=2))
        p = tuple(int(rng.integers(0, (k + 1) // 2 + 1)) for k in (HH, WW))
        d = tuple(rng.integers(1, 3, size=2))
        H, W = rng.integers(3, 11, size=2)
        if all(n + 2 * pp >= dd * (k - 1) + 1 for n, pp, dd, k
               in zip((H, W), p, d, (HH, WW))):
            break
    C, K, N = rng.integers(1, 4, size=3)
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((K, C, HH, WW))
    return x, w, s, p, d


def leftover(x, w, s, p, d):
    return tuple((n + 2 * pp - dd * (k - 1) - 1) % ss for n, k, ss, pp, dd
                 in zip(x.shape[2:], w.shape[2:], s, p, d))


def ct_backward_by_conv(dout, x, w, stride=1, padding=0, dilation=1):
    """The chapter's backward pass: the convolution, roles exchanged."""
    dx = cnnbp.conv2d(dout, w, stride=stride, padding=padding,
                      dilation=dilation)
    dw = cnnbp.conv2d_backward(x, dout, w, stride, padding, dilation)[1]
    return dx, dw, dout.sum(axis=(0, 2, 3))


def test_stamping_example_term_by_term():
    x = np.array([[[[1.0, 2.0], [-1.0, 3.0]]]])
    w = np.array([[[[1.0, 2.0, 0.0], [-1.0, 1.0, 3.0], [2.0, 0.0, 1.0]]]])
    X, F = x[0, 0], w[0, 0]
    expected = np.zeros((5, 5))
    for i in range(2):
        for j in range(2):
            expected[2 * i:2 * i + 3, 2 * j:2 * j + 3] += X[i, j] * F
    out = cnnbp.conv_transpose2d(x, w, stride=2)[0, 0]
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(
        naive.conv_transpose2d(x, w, stride=2)[0, 0], expected)
    assert out[2, 2] == (X[0, 0] * F[2, 2] + X[0, 1] * F[2, 0]
                         + X[1, 0] * F[0, 2] + X[1, 1] * F[0, 0]) == 8
    assert out[2, 1] == X[0, 0] * F[2, 1] + X[1, 0] * F[0, 1] == -2


@pytest.mark.parametrize("seed", range(12))
def test_output_size_formula_and_torch(seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    H, W = rng.integers(1, 7, size=2)
    C, K = rng.integers(1, 4, size=2)
    HH, WW = rng.integers(1, 5, size=2)
    s = tuple(int(v) for v in rng.integers(1, 4, size=2))
    d = tuple(int(v) for v in rng.integers(1, 3, size=2))
    op = tuple(int(rng.integers(0, max(ss, dd))) for ss, dd in zip(s, d))
    p = tuple(int(rng.integers(0, 2)) for _ in range(2))
    x = rng.standard_normal((2, C, H, W))
    w = rng.standard_normal((C, K, HH, WW))
    b = rng.standard_normal(K)
    want = [(n - 1) * ss - 2 * pp + dd * (k - 1) + oo + 1 for n, ss, pp, dd,
            k, oo in zip((H, W), s, p, d, (HH, WW), op)]
    if min(want) < 1:
        pytest.skip("empty output")
    out = cnnbp.conv_transpose2d(x, w, b, s, p, op, d)
    assert out.shape == (2, K, *want)
    ref = torch.nn.functional.conv_transpose2d(
        torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), s,
        p, op, 1, d).numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("seed", range(15))
def test_input_gradient_is_transposed_conv_with_output_padding_r(seed):
    rng = np.random.default_rng(100 + seed)
    x, w, s, p, d = random_conv(rng)
    dout = rng.standard_normal(cnnbp.conv2d(x, w, stride=s, padding=p,
                                            dilation=d).shape)
    r = leftover(x, w, s, p, d)
    dx = cnnbp.conv2d_backward(dout, x, w, s, p, d)[0]
    ct = cnnbp.conv_transpose2d(dout, w, stride=s, padding=p,
                                output_padding=r, dilation=d)
    np.testing.assert_allclose(ct, dx, rtol=1e-10, atol=1e-12)
    dx_num = gradcheck.numerical_gradient(
        lambda x_: cnnbp.conv2d(x_, w, stride=s, padding=p, dilation=d),
        x, dout)
    assert gradcheck.rel_error(ct, dx_num) < TOLERANCE
    short = cnnbp.conv_transpose2d(dout, w, stride=s, padding=p,
                                   dilation=d)
    assert short.shape[2:] == (x.shape[2] - r[0], x.shape[3] - r[1])
    assert all(rr < max(ss, dd) for rr, ss, dd in zip(r, s, d))


def test_input_gradient_matches_torch_per_axis():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 10, 9))
    w = rng.standard_normal((4, 3, 3, 2))
    s, p = (2, 3), (1, 0)
    dout = rng.standard_normal(cnnbp.conv2d(x, w, stride=s,
                                            padding=p).shape)
    r = leftover(x, w, s, p, (1, 1))
    assert r == (1, 1)
    xt = torch.from_numpy(x).requires_grad_()
    torch.nn.functional.conv2d(xt, torch.from_numpy(w), None, s, p).backward(
        torch.from_numpy(dout))
    ct = cnnbp.conv_transpose2d(dout, w, stride=s, padding=p,
                                output_padding=r)
    np.testing.assert_allclose(ct, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert not ct[..., -1].any()


def test_output_padding_must_be_below_stride_or_dilation():
    x = np.zeros((1, 1, 3, 3))
    w = np.zeros((1, 1, 3, 3))
    with pytest.raises(ValueError):
        cnnbp.conv_transpose2d(x, w, stride=2, output_padding=2)
    with pytest.raises(ValueError):
        cnnbp.conv_transpose2d(x, w, stride=(2, 3), output_padding=(1, 3))
    assert cnnbp.conv_transpose2d(x, w, stride=1, dilation=2,
                                  output_padding=1).shape == (1, 1, 8, 8)


@pytest.mark.parametrize("seed", range(6))
def test_transposed_convolution_is_the_transposed_matrix(seed):
    rng = np.random.default_rng(200 + seed)
    x, w, s, p, d = random_conv(rng)
    xs = (1,) + x.shape[1:]
    units = np.eye(np.prod(xs)).reshape((-1,) + xs[1:])
    conv = cnnbp.conv2d(units, w, stride=s, padding=p, dilation=d)
    M = conv.reshape(len(units), -1).T
    g = rng.standard_normal((1,) + conv.shape[1:])
    r = leftover(x, w, s, p, d)
    ct = cnnbp.conv_transpose2d(g, w, stride=s, padding=p, output_padding=r,
                                dilation=d)
    np.testing.assert_allclose(ct.ravel(), M.T @ g.ravel(), atol=1e-12)
    # and the transposed convolution's own matrix is M^T
    g_units = np.eye(g.size).reshape((-1,) + g.shape[1:])
    Mt = cnnbp.conv_transpose2d(g_units, w, stride=s, padding=p,
                                output_padding=r, dilation=d)
    np.testing.assert_allclose(Mt.reshape(g.size, -1).T, M.T, atol=1e-12)


@pytest.mark.parametrize("seed", range(10))
def test_backward_is_the_convolution_with_roles_exchanged(seed):
    rng = np.random.default_rng(300 + seed)
    N, C, K = rng.integers(1, 4, size=3)
    H, W = rng.integers(1, 6, size=2)
    HH, WW = rng.integers(1, 5, size=2)
    s = tuple(int(v) for v in rng.integers(1, 4, size=2))
    d = tuple(int(v) for v in rng.integers(1, 3, size=2))
    p = tuple(int(rng.integers(0, 2)) for _ in range(2))
    op = tuple(int(rng.integers(0, ss)) for ss in s)
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((C, K, HH, WW))
    b = rng.standard_normal(K)
    hyper = dict(stride=s, padding=p, output_padding=op, dilation=d)
    try:
        out = cnnbp.conv_transpose2d(x, w, b, **hyper)
    except ValueError:
        pytest.skip("empty output")
    dout = rng.standard_normal(out.shape)
    mine = ct_backward_by_conv(dout, x, w, s, p, d)
    fast = cnnbp.conv_transpose2d_backward(dout, x, w, **hyper)
    numeric = [
        gradcheck.numerical_gradient(
            lambda x_: cnnbp.conv_transpose2d(x_, w, b, **hyper), x, dout),
        gradcheck.numerical_gradient(
            lambda w_: cnnbp.conv_transpose2d(x, w_, b, **hyper), w, dout),
        gradcheck.numerical_gradient(
            lambda b_: cnnbp.conv_transpose2d(x, w, b_, **hyper), b, dout)]
    for a, f, n in zip(mine, fast, numeric):
        np.testing.assert_allclose(a, f, rtol=1e-10, atol=1e-12)
        assert gradcheck.rel_error(a, n) < TOLERANCE


def test_output_padding_at_least_the_stride_leaves_rows_to_cut():
    """output_padding < d is allowed when d > s; the convolution of dL/dO
    then has floor(output_padding / s) rows of no input cell."""
    rng = np.random.default_rng(23)
    x = rng.standard_normal((1, 2, 3, 4))
    w = rng.standard_normal((2, 2, 2, 2))
    hyper = dict(stride=(1, 2), dilation=3, output_padding=(2, 1))
    dout = rng.standard_normal(cnnbp.conv_transpose2d(x, w, **hyper).shape)
    dx = cnnbp.conv_transpose2d_backward(dout, x, w, **hyper)[0]
    conv = cnnbp.conv2d(dout, w, stride=(1, 2), dilation=3)
    assert conv.shape[2:] == (3 + 2 // 1, 4 + 1 // 2)
    np.testing.assert_allclose(conv[:, :, :3, :4], dx, atol=1e-12)


def test_backward_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(17)
    x = rng.standard_normal((2, 3, 4, 5))
    w = rng.standard_normal((3, 2, 3, 4))
    b = rng.standard_normal(2)
    s, p, op = (2, 3), (1, 2), (1, 2)
    out = cnnbp.conv_transpose2d(x, w, b, s, p, op)
    assert out.shape == (2, 2, 8, 14)
    dout = rng.standard_normal(out.shape)
    ts = [torch.from_numpy(a).requires_grad_() for a in (x, w, b)]
    torch.nn.functional.conv_transpose2d(*ts, s, p, op).backward(
        torch.from_numpy(dout))
    for a, t in zip(ct_backward_by_conv(dout, x, w, s, p), ts):
        np.testing.assert_allclose(a, t.grad.numpy(), rtol=1e-10,
                                   atol=1e-12)


@pytest.mark.parametrize("H, W", [(1, 1), (3, 5), (8, 8), (7, 4)])
def test_upsampler_doubles_and_is_bilinear_inside_the_border(H, W):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(H * 10 + W)
    x = rng.standard_normal((2, 3, H, W))
    taps = np.array([1.0, 3.0, 3.0, 1.0]) / 4
    w = np.zeros((3, 1, 4, 4))
    w[:] = np.outer(taps, taps)
    up = cnnbp.conv_transpose2d(x, w, stride=2, padding=1, groups=3)
    assert up.shape == (2, 3, 2 * H, 2 * W)
    ref = torch.nn.functional.interpolate(
        torch.from_numpy(x), scale_factor=2, mode="bilinear",
        align_corners=False).numpy()
    np.testing.assert_allclose(up[..., 1:-1, 1:-1], ref[..., 1:-1, 1:-1],
                               atol=1e-12)
    np.testing.assert_allclose(up[..., [0, -1], 1:-1],
                               0.75 * ref[..., [0, -1], 1:-1], atol=1e-12)
    np.testing.assert_allclose(up[..., 1:-1, [0, -1]],
                               0.75 * ref[..., 1:-1, [0, -1]], atol=1e-12)


@pytest.mark.parametrize("k", range(1, 8))
@pytest.mark.parametrize("s", range(1, 5))
def test_checkerboard_iff_stride_does_not_divide_k(k, s):
    out = cnnbp.conv_transpose2d(np.ones((1, 1, 12, 12)),
                                 np.ones((1, 1, k, k)), stride=s)[0, 0]
    per_class = [len(range(rho, k, s)) for rho in range(s)]
    assert per_class == [-(-(k - rho) // s) for rho in range(s)]
    inside = out[k:-k, k:-k]
    assert inside.size
    # a cell inside counts the taps of its residue class, per axis
    rows = np.array([per_class[u % s] for u in range(k, out.shape[0] - k)])
    np.testing.assert_array_equal(inside, np.outer(rows, rows))
    assert (np.ptp(inside) == 0) == (k % s == 0)


def test_chapter_mistakes_fail_the_check():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 2, 3, 3))
    w = rng.standard_normal((2, 2, 3, 3))
    hyper = dict(stride=2, padding=1, output_padding=1)
    dout = rng.standard_normal(cnnbp.conv_transpose2d(x, w, **hyper).shape)
    dx, dw, _ = cnnbp.conv_transpose2d_backward(dout, x, w, **hyper)
    rotated = cnnbp.conv2d(dout, naive.rot180(w), stride=2, padding=1)
    layout = cnnbp.conv2d(dout, w.transpose(1, 0, 2, 3), stride=2,
                          padding=1)
    assert gradcheck.rel_error(rotated, dx) > 0.1
    assert gradcheck.rel_error(layout, dx) > 0.1
    assert gradcheck.rel_error(naive.rot180(dw), dw) > 0.1
    assert cnnbp.conv2d(dout, w, stride=2).shape != dx.shape


def test_exercise_3_output_padding():
    x, w = np.zeros((1, 1, 11, 8)), np.zeros((1, 1, 3, 3))
    dout = cnnbp.conv2d(x, w, stride=4, padding=1)
    r = leftover(x, w, (4, 4), (1, 1), (1, 1))
    assert r == (2, 3)
    ct = cnnbp.conv_transpose2d(dout, w, stride=4, padding=1,
                                output_padding=r)
    assert ct.shape == x.shape
