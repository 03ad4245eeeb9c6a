"""Argument normalisation and bad input: ValueError naming the shapes."""

import numpy as np
import pytest

import cnnbp
from cnnbp import naive
from cnnbp.shapes import pair

X = np.zeros((2, 3, 5, 6))
W = np.zeros((4, 3, 3, 3))
DOUT = np.zeros((2, 4, 3, 4))


def test_pair_normalisation():
    assert pair(2, "stride") == (2, 2)
    assert pair((1, 3), "stride") == (1, 3)
    assert pair([2, 0], "padding") == (2, 0)
    assert pair(np.int64(3), "size") == (3, 3)
    assert pair(np.array([1, 2]), "dilation") == (1, 2)
    assert all(type(v) is int for v in pair(np.int32(2), "s"))


def test_per_axis_arguments_match_separate_axes():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 7, 9))
    w = rng.standard_normal((3, 2, 3, 2))
    out = cnnbp.conv2d(x, w, stride=(2, 3), padding=(1, 0),
                       dilation=(1, 2))
    assert out.shape == (1, 3, cnnbp.output_size(7, 3, 2, 1, 1),
                         cnnbp.output_size(9, 2, 3, 0, 2))


# (id, call, pattern the message must match)
CONV_BAD = [
    ("x rank 3", lambda t: t.conv2d(X[0], W),
     r"x must be 4-D.*\(3, 5, 6\)"),
    ("w rank 2", lambda t: t.conv2d(X, W[0, 0]),
     r"w must be 4-D.*\(3, 3\)"),
    ("channel mismatch", lambda t: t.conv2d(X, W[:, :2]),
     r"channel mismatch.*\(2, 3, 5, 6\).*\(4, 2, 3, 3\)"),
    ("bias length", lambda t: t.conv2d(X, W, np.zeros(3)),
     r"b must have shape.*\(4,\).*\(3,\)"),
    ("bias rank", lambda t: t.conv2d(X, W, np.zeros((4, 1))),
     r"b must have shape.*\(4, 1\)"),
    ("kernel too large", lambda t: t.conv2d(X, np.zeros((4, 3, 6, 3))),
     r"kernel \(6, 3\).*larger than the padded input \(5, 6\)"),
    ("dilated kernel too large", lambda t: t.conv2d(X, W, dilation=3),
     r"dilated to \(7, 7\).*\(5, 6\)"),
    ("stride 0", lambda t: t.conv2d(X, W, stride=0),
     r"stride must be >= 1, got \(0, 0\)"),
    ("stride pair 0", lambda t: t.conv2d(X, W, stride=(1, 0)),
     r"stride must be >= 1, got \(1, 0\)"),
    ("negative padding", lambda t: t.conv2d(X, W, padding=-1),
     r"padding must be >= 0, got \(-1, -1\)"),
    ("dilation 0", lambda t: t.conv2d(X, W, dilation=0),
     r"dilation must be >= 1, got \(0, 0\)"),
    ("float stride", lambda t: t.conv2d(X, W, stride=1.5),
     r"stride must be an integer, got 1.5"),
    ("float padding", lambda t: t.conv2d(X, W, padding=1.0),
     r"padding must be an integer, got 1.0"),
    ("bool stride", lambda t: t.conv2d(X, W, stride=True),
     r"stride must be an integer, got True"),
    ("stride triple", lambda t: t.conv2d(X, W, stride=(1, 2, 3)),
     r"stride must be an int or an \(h, w\) pair, got \(1, 2, 3\)"),
    ("complex x", lambda t: t.conv2d(X + 1j, W),
     r"x must be a real numeric array, got dtype complex128"),
    ("empty batch", lambda t: t.conv2d(X[:0], W),
     r"empty dimension in x of shape \(0, 3, 5, 6\)"),
    ("dout shape", lambda t: t.conv2d_backward(DOUT[:, :, :, :3], X, W),
     r"dout has shape \(2, 4, 3, 3\).*output.*\(2, 4, 3, 4\)"),
    ("dout rank", lambda t: t.conv2d_backward(DOUT[0], X, W),
     r"dout has shape \(4, 3, 4\).*\(2, 4, 3, 4\)"),
    ("backward channel mismatch",
     lambda t: t.conv2d_backward(DOUT, X, W[:, :1]),
     r"channel mismatch.*\(4, 1, 3, 3\)"),
    ("backward stride", lambda t: t.conv2d_backward(DOUT, X, W, stride=0),
     r"stride must be >= 1"),
]

POOL_BAD = [
    ("pool rank", lambda t: t.maxpool2d(X[0]),
     r"x must be 4-D.*\(3, 5, 6\)"),
    ("window too large", lambda t: t.maxpool2d(X, 6),
     r"pool window \(6, 6\) is larger than the input \(5, 6\)"),
    ("window pair too large", lambda t: t.maxpool2d(X, (2, 7)),
     r"pool window \(2, 7\).*\(2, 3, 5, 6\)"),
    ("pool size 0", lambda t: t.maxpool2d(X, 0),
     r"pool size must be >= 1, got \(0, 0\)"),
    ("pool stride 0", lambda t: t.maxpool2d(X, 2, 0),
     r"stride must be >= 1, got \(0, 0\)"),
    ("pool float size", lambda t: t.maxpool2d(X, 2.0),
     r"size must be an integer, got 2.0"),
    ("pool dout shape",
     lambda t: t.maxpool2d_backward(np.zeros((2, 3, 3, 3)), X),
     r"dout has shape \(2, 3, 3, 3\).*maxpool2d.*\(2, 3, 2, 3\)"),
]


@pytest.mark.parametrize("twin", [naive, cnnbp], ids=["naive", "fast"])
@pytest.mark.parametrize("name, call, pattern", CONV_BAD + POOL_BAD,
                         ids=[c[0] for c in CONV_BAD + POOL_BAD])
def test_bad_input_raises_value_error_naming_shapes(twin, name, call,
                                                    pattern):
    with pytest.raises(ValueError, match=pattern):
        call(twin)


@pytest.mark.parametrize("call, pattern", [
    (lambda: cnnbp.output_size(3, 5), r"size 5.*padded input of size 3"),
    (lambda: cnnbp.output_size(5, 3, dilation=3),
     r"dilated to 7.*size 5"),
    (lambda: cnnbp.output_size(5, 3, stride=0), r"stride must be >= 1"),
    (lambda: cnnbp.output_size(5, 3, padding=-2), r"padding must be >= 0"),
    (lambda: cnnbp.output_size(5.0, 3), r"n must be an integer, got 5.0"),
    (lambda: cnnbp.output_size(5, 0), r"kernel size k must be >= 1"),
    (lambda: cnnbp.output_size(0, 1), r"input size n must be >= 1"),
    (lambda: cnnbp.output_size(5, True), r"k must be an integer, got True"),
])
def test_output_size_bad_input(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


@pytest.mark.parametrize("call, pattern", [
    (lambda: cnnbp.im2col(X, 6, 3), r"kernel \(6, 3\).*\(5, 6\)"),
    (lambda: cnnbp.im2col(X[0], 3, 3), r"x must be 4-D.*\(3, 5, 6\)"),
    (lambda: cnnbp.im2col(X, 2.5, 3), r"HH must be an integer, got 2.5"),
    (lambda: cnnbp.col2im(np.zeros((5, 5)), X.shape, 3, 3),
     r"cols has shape \(5, 5\).*\(24, 27\)"),
    (lambda: cnnbp.col2im(np.zeros((24, 27)), X.shape[1:], 3, 3),
     r"x_shape must be \(N, C, H, W\), got \(3, 5, 6\)"),
    (lambda: cnnbp.relu_backward(np.zeros(3), np.zeros(4)),
     r"dout has shape \(3,\) but x has shape \(4,\)"),
    (lambda: naive.dilate(np.zeros((2, 2)), 0), r"factor must be >= 1"),
    (lambda: naive.pad(np.zeros((2, 2)), -1), r"padding must be >= 0"),
])
def test_helpers_bad_input(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()
