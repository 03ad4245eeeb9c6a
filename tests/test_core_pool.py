"""Max-pool: naive == fast, finite differences, tie rule, overlaps."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cnnbp
from cnnbp import naive
from cnnbp.gradcheck import numerical_gradient, rel_error

CONFIGS = [
    ((2, 3, 6, 8), 2, None),        # classic non-overlapping
    ((2, 2, 7, 9), 2, None),        # leftover row and column
    ((1, 2, 6, 7), 3, 1),           # overlapping, stride 1
    ((2, 1, 7, 8), (3, 2), (2, 1)),  # overlapping, per-axis
    ((1, 2, 5, 9), (2, 3), 3),      # gaps between windows
    ((2, 2, 4, 4), 4, None),        # one window covers everything
    ((1, 1, 5, 6), 1, 2),           # 1x1 window: subsampling
]


def case(k):
    shape, size, stride = CONFIGS[k]
    x = np.random.default_rng(k).standard_normal(shape)
    return x, size, stride


@pytest.mark.parametrize("k", range(len(CONFIGS)))
def test_naive_equals_fast(k):
    x, size, stride = case(k)
    out = naive.maxpool2d(x, size, stride)
    np.testing.assert_array_equal(cnnbp.maxpool2d(x, size, stride), out)
    dout = np.random.default_rng(10 + k).standard_normal(out.shape)
    np.testing.assert_allclose(
        cnnbp.maxpool2d_backward(dout, x, size, stride),
        naive.maxpool2d_backward(dout, x, size, stride), atol=1e-14)


@pytest.mark.parametrize("k", range(len(CONFIGS)))
@pytest.mark.parametrize("twin", [naive, cnnbp], ids=["naive", "fast"])
def test_finite_differences(twin, k):
    x, size, stride = case(k)
    out = twin.maxpool2d(x, size, stride)
    dout = np.random.default_rng(20 + k).standard_normal(out.shape)
    dx = twin.maxpool2d_backward(dout, x, size, stride)
    ndx = numerical_gradient(lambda t: cnnbp.maxpool2d(t, size, stride), x,
                             dout)
    assert rel_error(dx, ndx) < 1e-7


def test_output_shape_and_values():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    out = cnnbp.maxpool2d(x)
    np.testing.assert_array_equal(out[0, 0], [[5, 7], [13, 15]])
    assert cnnbp.maxpool2d(np.zeros((3, 2, 7, 9)), (2, 3), 2).shape == (
        3, 2, 3, 4)


def test_tie_rule_first_maximum_in_row_major_order():
    x = np.array([[[[1.0, 3.0], [3.0, 3.0]]]])
    dout = np.array([[[[5.0]]]])
    expected = np.array([[[[0.0, 5.0], [0.0, 0.0]]]])
    for twin in (naive, cnnbp):
        np.testing.assert_array_equal(twin.maxpool2d_backward(dout, x),
                                      expected)


def test_tie_rule_matches_argmax_everywhere():
    rng = np.random.default_rng(30)
    x = rng.integers(0, 3, size=(2, 2, 6, 6)).astype(float)
    dout = rng.standard_normal((2, 2, 3, 3))
    for twin in (naive, cnnbp):
        dx = twin.maxpool2d_backward(dout, x, 2)
        for a in range(2):
            for c in range(2):
                for i in range(3):
                    for j in range(3):
                        win = x[a, c, 2 * i:2 * i + 2, 2 * j:2 * j + 2]
                        m, n = divmod(int(np.argmax(win)), 2)
                        assert (dx[a, c, 2 * i + m, 2 * j + n]
                                == dout[a, c, i, j])
        assert np.isclose(dx.sum(), dout.sum())


def test_overlapping_windows_accumulate():
    # The centre 9 is the maximum of all four 2x2 windows (stride 1).
    x = np.array([[[[1.0, 2.0, 1.0], [2.0, 9.0, 2.0], [1.0, 2.0, 1.0]]]])
    dout = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    for twin in (naive, cnnbp):
        dx = twin.maxpool2d_backward(dout, x, 2, 1)
        assert dx[0, 0, 1, 1] == 10.0
        assert dx.sum() == 10.0


def test_integer_input_computes_in_float():
    x = np.arange(16).reshape(1, 1, 4, 4)
    assert cnnbp.maxpool2d(x).dtype == np.float64
    dx = cnnbp.maxpool2d_backward(np.ones((1, 1, 2, 2), int), x)
    assert dx.dtype == np.float64


def test_float32_stays_float32():
    x = np.ones((1, 1, 4, 4), np.float32)
    assert cnnbp.maxpool2d(x).dtype == np.float32
    dout = np.ones((1, 1, 2, 2), np.float32)
    assert cnnbp.maxpool2d_backward(dout, x).dtype == np.float32


@settings(max_examples=40, deadline=None, database=None)
@given(
    H=st.integers(1, 8), W=st.integers(1, 8),
    kh=st.integers(1, 3), kw=st.integers(1, 3),
    sh=st.integers(1, 3), sw=st.integers(1, 3),
    ties=st.booleans(), seed=st.integers(0, 2**16),
)
def test_property_naive_equals_fast(H, W, kh, kw, sh, sw, ties, seed):
    rng = np.random.default_rng(seed)
    x = (rng.integers(0, 3, size=(2, 2, H, W)).astype(float) if ties
         else rng.standard_normal((2, 2, H, W)))
    if kh > H or kw > W:
        with pytest.raises(ValueError, match="larger than the input"):
            cnnbp.maxpool2d(x, (kh, kw), (sh, sw))
        return
    out = cnnbp.maxpool2d(x, (kh, kw), (sh, sw))
    np.testing.assert_array_equal(out, naive.maxpool2d(x, (kh, kw),
                                                       (sh, sw)))
    dout = rng.standard_normal(out.shape)
    np.testing.assert_allclose(
        cnnbp.maxpool2d_backward(dout, x, (kh, kw), (sh, sw)),
        naive.maxpool2d_backward(dout, x, (kh, kw), (sh, sw)), atol=1e-14)
