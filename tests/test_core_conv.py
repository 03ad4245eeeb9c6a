"""Convolution: naive == fast, both == finite differences, adjoints."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cnnbp
from cnnbp import naive
from cnnbp.gradcheck import numerical_gradient, rel_error
from cnnbp.shapes import conv_output_shape

TOL = 1e-7


def random_case(rng):
    """A random valid configuration with non-square, per-axis settings."""
    while True:
        N, C, F = rng.integers(1, 3), rng.integers(1, 4), rng.integers(1, 4)
        H, W = (int(v) for v in rng.integers(3, 9, size=2))
        HH, WW = (int(v) for v in rng.integers(1, 4, size=2))
        stride = tuple(int(v) for v in rng.integers(1, 4, size=2))
        padding = tuple(int(v) for v in rng.integers(0, 3, size=2))
        dilation = tuple(int(v) for v in rng.integers(1, 3, size=2))
        try:
            conv_output_shape((N, C, H, W), (F, C, HH, WW), stride,
                              padding, dilation)
        except ValueError:
            continue
        x = rng.standard_normal((N, C, H, W))
        w = rng.standard_normal((F, C, HH, WW))
        b = rng.standard_normal(F)
        return x, w, b, dict(stride=stride, padding=padding,
                             dilation=dilation)


CASES = [random_case(np.random.default_rng(seed)) for seed in range(40)]

# Hand-picked configurations the random sweep must not miss.
FIXED = [
    # leftover rows and columns: (7 + 0 - 3) % 3 != 0, (8 - 3) % 2 != 0
    ((2, 3, 7, 8), (4, 3, 3, 3), dict(stride=(3, 2), padding=0)),
    # non-square kernel, per-axis padding, dilation
    ((2, 2, 6, 9), (3, 2, 2, 3), dict(stride=(2, 1), padding=(2, 1),
                                      dilation=(2, 1))),
    # kernel 1x1, stride 3
    ((3, 4, 5, 7), (2, 4, 1, 1), dict(stride=3, padding=1)),
    # the dilated kernel exactly covers the padded input
    ((1, 1, 3, 5), (1, 1, 3, 3), dict(stride=1, padding=1, dilation=2)),
]


def fixed_case(k):
    x_shape, w_shape, hyper = FIXED[k]
    rng = np.random.default_rng(100 + k)
    return (rng.standard_normal(x_shape), rng.standard_normal(w_shape),
            rng.standard_normal(w_shape[0]), hyper)


ALL = CASES + [fixed_case(k) for k in range(len(FIXED))]
IDS = [f"random{k}" for k in range(len(CASES))] + [
    f"fixed{k}" for k in range(len(FIXED))]


def test_sweep_covers_the_hard_cases():
    def leftover(x, w, hyper):
        s = cnnbp.shapes.pair(hyper["stride"], "s")
        p = cnnbp.shapes.pair(hyper.get("padding", 0), "p")
        d = cnnbp.shapes.pair(hyper.get("dilation", 1), "d")
        return any(
            (x.shape[2 + k] + 2 * p[k] - d[k] * (w.shape[2 + k] - 1) - 1)
            % s[k] for k in range(2))

    assert any(leftover(x, w, h) for x, w, _, h in ALL)
    assert any(x.shape[2] != x.shape[3] for x, *_ in ALL)
    assert any(w.shape[2] != w.shape[3] for _, w, *_ in ALL)
    assert any(x.shape[0] > 1 and w.shape[0] > 1 and w.shape[1] > 1
               for x, w, *_ in ALL)
    strides = {cnnbp.shapes.pair(h["stride"], "s") for *_, h in ALL}
    assert {s for pair in strides for s in pair} == {1, 2, 3}
    pads = {cnnbp.shapes.pair(h.get("padding", 0), "p") for *_, h in ALL}
    assert {p for pair in pads for p in pair} == {0, 1, 2}
    assert any(h.get("dilation", 1) != 1 for *_, h in ALL)


@pytest.mark.parametrize("x, w, b, hyper", ALL, ids=IDS)
def test_naive_equals_fast(x, w, b, hyper):
    out = naive.conv2d(x, w, b, **hyper)
    np.testing.assert_allclose(cnnbp.conv2d(x, w, b, **hyper), out,
                               rtol=1e-12, atol=1e-12)
    dout = np.random.default_rng(1).standard_normal(out.shape)
    slow = naive.conv2d_backward(dout, x, w, **hyper)
    fast = cnnbp.conv2d_backward(dout, x, w, **hyper)
    for s, f, arr in zip(slow, fast, (x, w, b)):
        assert s.shape == f.shape == arr.shape
        np.testing.assert_allclose(f, s, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("x, w, b, hyper", ALL[::4] + ALL[-len(FIXED):],
                         ids=IDS[::4] + IDS[-len(FIXED):])
@pytest.mark.parametrize("twin", [naive, cnnbp], ids=["naive", "fast"])
def test_finite_differences(twin, x, w, b, hyper):
    out = twin.conv2d(x, w, b, **hyper)
    dout = np.random.default_rng(2).standard_normal(out.shape)
    dx, dw, db = twin.conv2d_backward(dout, x, w, **hyper)
    fast = cnnbp.conv2d
    ndx = numerical_gradient(lambda t: fast(t, w, b, **hyper), x, dout)
    ndw = numerical_gradient(lambda t: fast(x, t, b, **hyper), w, dout)
    ndb = numerical_gradient(lambda t: fast(x, w, t, **hyper), b, dout)
    assert rel_error(dx, ndx) < TOL
    assert rel_error(dw, ndw) < TOL
    assert rel_error(db, ndb) < TOL


def test_naive_forward_is_its_own_finite_difference_oracle():
    x, w, b, hyper = fixed_case(0)
    out = naive.conv2d(x, w, b, **hyper)
    dout = np.random.default_rng(3).standard_normal(out.shape)
    ndw = numerical_gradient(lambda t: naive.conv2d(x, t, b, **hyper), w,
                             dout)
    assert rel_error(naive.filter_gradient(dout, x, w, **hyper), ndw) < TOL


@pytest.mark.parametrize("x, w, b, hyper", ALL[:12], ids=IDS[:12])
@pytest.mark.parametrize("twin", [naive, cnnbp], ids=["naive", "fast"])
def test_adjoint_identity(twin, x, w, b, hyper):
    """<conv(x), g> == <x, conv_T(g)> and <conv_w(w), g> == <w, ...>."""
    out = twin.conv2d(x, w, None, **hyper)
    g = np.random.default_rng(4).standard_normal(out.shape)
    dx, dw, db = twin.conv2d_backward(g, x, w, **hyper)
    assert np.isclose(np.sum(out * g), np.sum(x * dx), rtol=1e-12)
    assert np.isclose(np.sum(out * g), np.sum(w * dw), rtol=1e-12)
    assert np.isclose(np.sum(g), np.sum(db), rtol=1e-12)


@pytest.mark.parametrize("x, w, b, hyper", ALL[:12], ids=IDS[:12])
def test_im2col_col2im_adjoint(x, w, b, hyper):
    HH, WW = w.shape[2:]
    cols = cnnbp.im2col(x, HH, WW, **hyper)
    g = np.random.default_rng(5).standard_normal(cols.shape)
    back = cnnbp.col2im(g, x.shape, HH, WW, **hyper)
    assert back.shape == x.shape
    assert np.isclose(np.sum(cols * g), np.sum(x * back), rtol=1e-12)


@pytest.mark.parametrize("x, w, b, hyper", ALL[:12], ids=IDS[:12])
def test_im2col_times_filters_is_conv(x, w, b, hyper):
    F, C, HH, WW = w.shape
    out = naive.conv2d(x, w, b, **hyper)
    N, _, H_out, W_out = out.shape
    cols = cnnbp.im2col(x, HH, WW, **hyper)
    assert cols.shape == (N * H_out * W_out, C * HH * WW)
    rows = cols @ w.reshape(F, -1).T + b
    np.testing.assert_allclose(
        rows.reshape(N, H_out, W_out, F).transpose(0, 3, 1, 2), out,
        atol=1e-12)


def test_im2col_row_and_column_order():
    x = np.arange(2 * 2 * 4 * 5, dtype=float).reshape(2, 2, 4, 5)
    s, p, d = (2, 1), (1, 0), (1, 2)
    cols = cnnbp.im2col(x, 2, 2, stride=s, padding=p, dilation=d)
    x_pad = naive.pad(x, p)
    H_out = cnnbp.output_size(4, 2, s[0], p[0], d[0])
    W_out = cnnbp.output_size(5, 2, s[1], p[1], d[1])
    for a in range(2):
        for i in range(H_out):
            for j in range(W_out):
                for c in range(2):
                    for m in range(2):
                        for n in range(2):
                            row = (a * H_out + i) * W_out + j
                            col = (c * 2 + m) * 2 + n
                            assert cols[row, col] == x_pad[
                                a, c, i * s[0] + m * d[0], j * s[1] + n * d[1]]


def test_col2im_counts_overlaps():
    x = np.ones((1, 1, 5, 5))
    ones = np.ones_like(cnnbp.im2col(x, 3, 3))
    counts = cnnbp.col2im(ones, x.shape, 3, 3)[0, 0]
    np.testing.assert_array_equal(counts[0], [1, 2, 3, 2, 1])
    np.testing.assert_array_equal(counts[2], [3, 6, 9, 6, 3])


def test_integer_and_list_inputs_compute_in_float():
    x = np.arange(2 * 1 * 4 * 4).reshape(2, 1, 4, 4)
    w = [[[[1, 0], [0, -1]]]]
    out = cnnbp.conv2d(x, w, [1])
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, naive.conv2d(x, w, [1]))
    np.testing.assert_array_equal(out, -4.0)
    dx, dw, db = cnnbp.conv2d_backward(np.ones(out.shape, int), x, w)
    assert dx.dtype == dw.dtype == db.dtype == np.float64


def test_float32_stays_float32():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 6, 5)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 2)).astype(np.float32)
    out = cnnbp.conv2d(x, w, np.zeros(4, np.float32), stride=2, padding=1)
    assert out.dtype == np.float32
    grads = cnnbp.conv2d_backward(np.ones_like(out), x, w, 2, 1)
    assert all(g.dtype == np.float32 for g in grads)
    ref = naive.conv2d(x.astype(float), w.astype(float), None, 2, 1)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


def test_stride_s_is_stride_1_subsampled():
    x, w, b, _ = fixed_case(1)
    full = cnnbp.conv2d(x, w, b, stride=1, padding=1)
    np.testing.assert_allclose(
        cnnbp.conv2d(x, w, b, stride=(2, 3), padding=1),
        full[:, :, ::2, ::3], atol=1e-12)


def test_leftover_rows_get_zero_gradient():
    # H = 8, k = 3, s = 2: windows start at rows 0, 2, 4; row 7 unused.
    x = np.random.default_rng(7).standard_normal((1, 1, 8, 8))
    w = np.ones((1, 1, 3, 3))
    dout = np.ones((1, 1, 3, 3))
    for twin in (naive, cnnbp):
        dx, _, _ = twin.conv2d_backward(dout, x, w, stride=2)
        assert np.all(dx[0, 0, 7, :] == 0)
        assert np.all(dx[0, 0, :, 7] == 0)
        assert np.all(dx[0, 0, :7, :7] > 0)


def test_naive_helpers():
    g = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(
        naive.dilate(g, 2),
        [[0, 0, 1, 0, 2], [0, 0, 0, 0, 0], [3, 0, 4, 0, 5]])
    assert naive.dilate(g, (1, 3)).shape == (2, 7)
    np.testing.assert_array_equal(naive.rot180(g), [[5, 4, 3], [2, 1, 0]])
    padded = naive.pad(g, (1, 2))
    assert padded.shape == (4, 7)
    np.testing.assert_array_equal(padded[1:3, 2:5], g)
    assert padded.sum() == g.sum()
    np.testing.assert_array_equal(naive.pad(g, 0), g)


@settings(max_examples=40, deadline=None, database=None)
@given(
    N=st.integers(1, 2), C=st.integers(1, 3), F=st.integers(1, 3),
    H=st.integers(1, 7), W=st.integers(1, 7),
    HH=st.integers(1, 3), WW=st.integers(1, 3),
    sh=st.integers(1, 3), sw=st.integers(1, 3),
    ph=st.integers(0, 2), pw=st.integers(0, 2),
    dh=st.integers(1, 2), dw=st.integers(1, 2),
    seed=st.integers(0, 2**16),
)
def test_property_naive_equals_fast(N, C, F, H, W, HH, WW, sh, sw, ph, pw,
                                    dh, dw, seed):
    hyper = dict(stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw))
    fits = (dh * (HH - 1) + 1 <= H + 2 * ph
            and dw * (WW - 1) + 1 <= W + 2 * pw)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((F, C, HH, WW))
    if not fits:
        with pytest.raises(ValueError, match="larger than the padded"):
            cnnbp.conv2d(x, w, **hyper)
        return
    out = cnnbp.conv2d(x, w, **hyper)
    assert out.shape == (N, F,
                         cnnbp.output_size(H, HH, sh, ph, dh),
                         cnnbp.output_size(W, WW, sw, pw, dw))
    np.testing.assert_allclose(out, naive.conv2d(x, w, **hyper),
                               atol=1e-12)
    dout = rng.standard_normal(out.shape)
    for s, f in zip(naive.conv2d_backward(dout, x, w, **hyper),
                    cnnbp.conv2d_backward(dout, x, w, **hyper)):
        np.testing.assert_allclose(f, s, atol=1e-11)


def test_non_contiguous_inputs():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 7, 8))
    w = rng.standard_normal((2, 3, 2, 3))
    for view in (x[:, :, ::-1, ::2], np.asfortranarray(x),
                 x.transpose(0, 1, 3, 2)):
        out = cnnbp.conv2d(view, w, stride=(1, 2))
        np.testing.assert_allclose(out, naive.conv2d(view, w, stride=(1, 2)),
                                   atol=1e-12)
        np.testing.assert_array_equal(cnnbp.maxpool2d(view, 2, 1),
                                      naive.maxpool2d(view, 2, 1))
