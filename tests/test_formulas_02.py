"""Claims of book/02_convolution.ipynb, checked numerically."""
import numpy as np
import pytest
from scipy import signal

import cnnbp
from cnnbp import naive


def conv_single(x2, w2, b=None):
    """cnnbp.conv2d on one 2-D image and one 2-D kernel."""
    bias = None if b is None else np.array([b])
    return cnnbp.conv2d(x2[None, None], w2[None, None], bias)[0, 0]


def test_3x3_input_2x2_kernel_term_by_term():
    X = np.arange(1.0, 10.0).reshape(3, 3)
    F = np.array([[1.0, -1.0], [2.0, 0.5]])
    O = conv_single(X, F)
    assert O.shape == (2, 2)
    expected = {
        (0, 0): X[0, 0] * F[0, 0] + X[0, 1] * F[0, 1]
        + X[1, 0] * F[1, 0] + X[1, 1] * F[1, 1],
        (0, 1): X[0, 1] * F[0, 0] + X[0, 2] * F[0, 1]
        + X[1, 1] * F[1, 0] + X[1, 2] * F[1, 1],
        (1, 0): X[1, 0] * F[0, 0] + X[1, 1] * F[0, 1]
        + X[2, 0] * F[1, 0] + X[2, 1] * F[1, 1],
        (1, 1): X[1, 1] * F[0, 0] + X[1, 2] * F[0, 1]
        + X[2, 1] * F[1, 0] + X[2, 2] * F[1, 1],
    }
    for (i, j), value in expected.items():
        assert O[i, j] == value
    np.testing.assert_array_equal(O, [[9.5, 12.0], [17.0, 19.5]])


def test_centre_cell_in_all_four_equations_corners_in_one():
    counts = cnnbp.conv2d_backward(np.ones((1, 1, 2, 2)),
                                   np.zeros((1, 1, 3, 3)),
                                   np.ones((1, 1, 2, 2)))[0][0, 0]
    np.testing.assert_array_equal(counts, [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


@pytest.mark.parametrize("H, W, HH, WW", [(8, 8, 3, 3), (5, 7, 2, 3),
                                          (4, 4, 4, 4), (6, 3, 1, 2)])
def test_index_formula_and_size(H, W, HH, WW):
    rng = np.random.default_rng(H * W)
    X = rng.standard_normal((H, W))
    F = rng.standard_normal((HH, WW))
    O = conv_single(X, F)
    assert O.shape == (H - HH + 1, W - WW + 1)
    assert cnnbp.output_size(H, HH) == H - HH + 1
    for i in range(O.shape[0]):
        for j in range(O.shape[1]):
            s = sum(X[i + m, j + n] * F[m, n]
                    for m in range(HH) for n in range(WW))
            assert np.isclose(O[i, j], s)


def test_worked_example_4x4_with_bias():
    X = np.array([[1.0, 2, 0, 1], [3, 1, 2, 0], [0, 1, 3, 2], [2, 0, 1, 1]])
    F = np.array([[1.0, 0], [-1, 2]])
    O = conv_single(X, F, 1.0)
    np.testing.assert_array_equal(O, [[1, 6, -1], [6, 7, 4], [-1, 4, 5]])
    assert O[1, 2] == 1.0 + np.sum(X[1:3, 2:4] * F)
    np.testing.assert_array_equal(O - 1.0, conv_single(X, F))


def test_correlation_and_true_convolution():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 6))
    K = rng.standard_normal((3, 3))
    np.testing.assert_allclose(conv_single(X, K),
                               signal.correlate2d(X, K, mode="valid"))
    np.testing.assert_allclose(conv_single(X, naive.rot180(K)),
                               signal.convolve2d(X, K, mode="valid"))
    assert not np.allclose(conv_single(X, K),
                           signal.convolve2d(X, K, mode="valid"))


def test_true_convolution_formula_with_k_minus_1_minus_m():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((6, 5))
    K = rng.standard_normal((3, 2))
    kh, kw = K.shape
    true = signal.convolve2d(X, K, mode="valid")
    for i in range(true.shape[0]):
        for j in range(true.shape[1]):
            s = sum(X[i + m, j + n] * K[kh - 1 - m, kw - 1 - n]
                    for m in range(kh) for n in range(kw))
            assert np.isclose(true[i, j], s)


def test_symmetric_kernel_same_edge_kernel_negated():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((8, 8))
    blur = np.ones((3, 3)) / 9
    edge = np.array([[1.0, 0.0, -1.0]] * 3)
    np.testing.assert_allclose(conv_single(X, blur),
                               signal.convolve2d(X, blur, mode="valid"))
    np.testing.assert_array_equal(naive.rot180(edge), -edge)
    np.testing.assert_allclose(signal.convolve2d(X, edge, mode="valid"),
                               -conv_single(X, edge))


def test_edge_kernel_is_left_minus_right_column():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((6, 7))
    edge = np.array([[1.0, 0.0, -1.0]] * 3)
    O = conv_single(X, edge)
    for i in range(O.shape[0]):
        for j in range(O.shape[1]):
            win = X[i:i + 3, j:j + 3]
            assert np.isclose(O[i, j], win[:, 0].sum() - win[:, 2].sum())


def test_learned_filter_flip_gives_same_function():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 6, 6))
    w = rng.standard_normal((4, 3, 3, 3))
    true_conv = np.stack([
        np.stack([sum(signal.convolve2d(x[a, c], naive.rot180(w[f, c]),
                                        mode="valid")
                      for c in range(3)) for f in range(4)])
        for a in range(2)])
    np.testing.assert_allclose(true_conv, cnnbp.conv2d(x, w))


def test_digit_intensities_run_from_0_to_16():
    from sklearn.datasets import load_digits
    images = load_digits().images
    assert images.shape[1:] == (8, 8)
    assert (images.min(), images.max()) == (0.0, 16.0)
    assert images[0].max() == 15.0


def test_shifted_copies_sum_is_the_filter_gradient_reading():
    """dL/dF[m, n] = sum of dL/dO times the slice X[m:m+H_out, n:n+W_out]."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((1, 1, 6, 7))
    w = rng.standard_normal((1, 1, 3, 2))
    dout = rng.standard_normal(cnnbp.conv2d(x, w).shape)
    H_out, W_out = dout.shape[2:]
    dw = cnnbp.conv2d_backward(dout, x, w)[1]
    for m in range(3):
        for n in range(2):
            assert dw[0, 0, m, n] == pytest.approx(np.sum(
                dout[0, 0] * x[0, 0, m:m + H_out, n:n + W_out]))


def test_im2col_copies_overlapping_windows_in_filter_order():
    """im2col is a copy, not a reshape: a 4x4 input and a 3x3 kernel give
    4 windows of 9 entries, 36 numbers from 16 cells, each window in the
    filter's own order (no reversal), so one product gives every output."""
    x = np.arange(1.0, 17.0).reshape(1, 1, 4, 4)
    cols = cnnbp.im2col(x, 3, 3)
    assert cols.shape == (4, 9) and cols.size == 36 > x.size == 16
    assert set(cols.ravel()) == set(x.ravel())
    for r, (i, j) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        np.testing.assert_array_equal(cols[r], x[0, 0, i:i + 3,
                                                 j:j + 3].ravel())
    w = np.random.default_rng(8).standard_normal((1, 1, 3, 3))
    np.testing.assert_allclose((cols @ w.ravel()).reshape(2, 2),
                               conv_single(x[0, 0], w[0, 0]), atol=1e-12)
