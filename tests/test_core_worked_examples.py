"""Worked examples from the course material, computed by cnnbp."""

import numpy as np
import pytest

import cnnbp
from cnnbp import naive

X = np.array([[0, 2, -3, 2, -3],
              [-2, -2, -2, -1, -2],
              [-3, -3, 2, -2, 1],
              [-3, -2, 1, -3, 1],
              [0, -1, 0, 2, -3]])
K = np.array([[-1, 0, -2],
              [1, 1, -1],
              [-1, -1, 0]])


@pytest.mark.parametrize("twin", [naive, cnnbp], ids=["naive", "fast"])
def test_5x5_example_stride_1(twin):
    out = twin.conv2d(X[None, None], K[None, None], [-1])
    np.testing.assert_array_equal(out[0, 0], [[9, -9, 7],
                                              [2, 5, 6],
                                              [-7, 9, -10]])


@pytest.mark.parametrize("twin", [naive, cnnbp], ids=["naive", "fast"])
def test_5x5_example_stride_2(twin):
    out = twin.conv2d(X[None, None], K[None, None], [-1], stride=2)
    np.testing.assert_array_equal(out[0, 0], [[9, 7], [-7, -10]])


def test_5x5_example_first_output_by_hand():
    # O[0,0] = b + sum_m sum_n X[m, n] K[m, n]
    by_hand = -1 + sum(X[m, n] * K[m, n] for m in range(3)
                       for n in range(3))
    assert by_hand == 9


def test_28x28_kernel_3_stride_2_padding_1_gives_14x14_not_15():
    assert cnnbp.output_size(28, 3, stride=2, padding=1) == 14
    assert cnnbp.output_size(28, 3, stride=2, padding=1) != 15
    x = np.zeros((2, 3, 28, 28))
    w = np.zeros((32, 3, 3, 3))
    assert cnnbp.conv2d(x, w, stride=2, padding=1).shape == (2, 32, 14, 14)


def test_im2col_shape_of_the_256x3x28x28_batch():
    x = np.zeros((256, 3, 28, 28), np.float32)
    cols = cnnbp.im2col(x, 3, 3, stride=2, padding=1)
    assert cols.shape == (256 * 14 * 14, 3 * 3 * 3)


@pytest.mark.parametrize("n, k, s, p, d, expected", [
    (5, 3, 1, 0, 1, 3),
    (5, 3, 2, 0, 1, 2),
    (7, 3, 3, 0, 1, 2),     # leftover row: (7 - 3) % 3 == 1
    (32, 5, 1, 2, 1, 32),   # "same" padding
    (8, 3, 1, 0, 2, 4),     # dilation 2: effective kernel 5
    (1, 1, 1, 0, 1, 1),
    (4, 6, 1, 1, 1, 1),     # kernel exactly fills the padded input
])
def test_output_size_table(n, k, s, p, d, expected):
    assert cnnbp.output_size(n, k, s, p, d) == expected
    assert cnnbp.output_size(n, k, s, p, d) == (
        (n + 2 * p - d * (k - 1) - 1) // s + 1)
