"""Grouped convolution, stride 1: the backward pass as one convolution
of dout with the flipped filters (cnnbp.grouped's im2col path) gives
the numbers of the scatter-add adjoint and of the loop twin."""

import numpy as np
import pytest

import cnnbp
from cnnbp import grouped, naive
from cnnbp.shapes import grouped_conv_args

# (x shape, w shape, padding, dilation, groups), all stride 1
CASES = [
    ((3, 8, 6, 7), (8, 2, 3, 3), 1, 1, 4),
    ((2, 6, 7, 5), (4, 3, 2, 3), (2, 1), (2, 1), 2),
    ((2, 4, 5, 6), (8, 1, 3, 1), (0, 0), 1, 4),
    ((1, 3, 6, 6), (6, 3, 3, 3), (2, 2), (1, 2), 1),
]


@pytest.fixture
def im2col(monkeypatch):
    """Force grouped im2col, a few samples at a time."""
    monkeypatch.setattr(grouped, "MATRIX_ENTRIES", 0)
    monkeypatch.setattr(grouped, "CHUNK_ENTRIES", 200)


def test_flip_padding_choice():
    pad = grouped._flip_padding
    same = ((1, 1), (1, 1), (1, 1))
    assert pad((8, 8), (32, 8, 3, 3), (8, 8), same) == (1, 1)
    assert pad((8, 8), (4, 2, 3, 3), (6, 10),
               ((1, 1), (0, 2), (1, 1))) == (2, 0)
    # stride 2: dX needs the scatter-add
    assert pad((8, 8), (4, 2, 3, 3), (4, 4),
               ((2, 2), (1, 1), (1, 1))) is None
    # padding beyond d(HH - 1): negative padding of dout
    assert pad((8, 8), (4, 2, 3, 3), (12, 12),
               ((1, 1), (3, 3), (1, 1))) is None
    # a last row of X that no window reaches (transposed output_padding)
    assert pad((9, 8), (4, 2, 3, 3), (4, 4),
               ((1, 1), (0, 0), (2, 2))) is None


@pytest.mark.parametrize("x_shape, w_shape, padding, dilation, groups",
                         CASES)
def test_flip_equals_scatter_and_naive(im2col, monkeypatch, x_shape,
                                       w_shape, padding, dilation, groups):
    rng = np.random.default_rng(sum(x_shape))
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    hyper = dict(padding=padding, dilation=dilation, groups=groups)
    out = cnnbp.grouped_conv2d(x, w, **hyper)
    checked = grouped_conv_args(x, w, None, 1, padding, dilation, groups)
    assert grouped._flip_padding(x_shape[2:], w_shape, out.shape[2:],
                                 checked[4]) is not None
    dout = rng.standard_normal(out.shape)
    flip = cnnbp.grouped_conv2d_backward(dout, x, w, **hyper)
    loops = naive.grouped_conv2d_backward(dout, x, w, **hyper)
    monkeypatch.setattr(grouped, "_flip_padding", lambda *args: None)
    scatter = cnnbp.grouped_conv2d_backward(dout, x, w, **hyper)
    for f, s, n in zip(flip, scatter, loops):
        assert f.shape == s.shape == n.shape
        np.testing.assert_allclose(f, s, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(f, n, rtol=1e-11, atol=1e-11)


def test_flip_dtypes_and_strided_dout(im2col):
    x_shape, w_shape, padding, dilation, groups = CASES[0]
    rng = np.random.default_rng(7)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    hyper = dict(padding=padding, dilation=dilation, groups=groups)
    out = cnnbp.grouped_conv2d(x, w, **hyper)
    grads = cnnbp.grouped_conv2d_backward(np.ones_like(out), x, w, **hyper)
    assert all(g.dtype == np.float32 for g in grads)
    wide = rng.standard_normal(out.shape[:3] + (2 * out.shape[3],))
    dout = wide[..., ::2]
    got = cnnbp.grouped_conv2d_backward(dout, x, w, **hyper)
    want = naive.grouped_conv2d_backward(dout, x.astype(float),
                                         w.astype(float), **hyper)
    for g, ref in zip(got, want):
        assert g.dtype == np.float64
        np.testing.assert_allclose(g, ref, rtol=1e-5, atol=1e-5)
