"""Claims of book/03_stride.ipynb, checked numerically."""
import json
from pathlib import Path

import numpy as np
import pytest

import cnnbp
from cnnbp import indexmap, naive

X5 = np.array([[0, 2, -3, 2, -3],
               [-2, -2, -2, -1, -2],
               [-3, -3, 2, -2, 1],
               [-3, -2, 1, -3, 1],
               [0, -1, 0, 2, -3]], dtype=float)
F3 = np.array([[-1, 0, -2], [1, 1, -1], [-1, -1, 0]], dtype=float)


def test_5x5_example_stride_1_and_2():
    x, w, b = X5[None, None], F3[None, None], np.array([-1.0])
    out1 = cnnbp.conv2d(x, w, b, stride=1)[0, 0]
    out2 = cnnbp.conv2d(x, w, b, stride=2)[0, 0]
    np.testing.assert_array_equal(out1, [[9, -9, 7], [2, 5, 6],
                                         [-7, 9, -10]])
    np.testing.assert_array_equal(out2, [[9, 7], [-7, -10]])
    np.testing.assert_array_equal(out1[::2, ::2], out2)


@pytest.mark.parametrize("s", [1, 2, 3, (2, 1), (1, 3), (3, 2)])
@pytest.mark.parametrize("padding", [0, 1, (1, 0)])
def test_stride_is_stride_1_then_subsample(s, padding):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 9, 8))
    w = rng.standard_normal((4, 3, 3, 2))
    b = rng.standard_normal(4)
    sh, sw = (s, s) if isinstance(s, int) else s
    full = cnnbp.conv2d(x, w, b, stride=1, padding=padding)
    np.testing.assert_allclose(
        cnnbp.conv2d(x, w, b, stride=s, padding=padding),
        full[:, :, ::sh, ::sw])


def test_strided_index_formula():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((9, 7))
    F = rng.standard_normal((3, 2))
    s = 2
    O = cnnbp.conv2d(X[None, None], F[None, None], stride=s)[0, 0]
    for i in range(O.shape[0]):
        for j in range(O.shape[1]):
            assert np.isclose(O[i, j], sum(
                X[i * s + m, j * s + n] * F[m, n]
                for m in range(3) for n in range(2)))


@pytest.mark.parametrize("H", range(3, 15))
@pytest.mark.parametrize("k", [1, 2, 3, 5])
@pytest.mark.parametrize("s", [1, 2, 3, 4])
def test_output_size_floor_formula(H, k, s):
    if k > H:
        return
    expected = (H - k) // s + 1
    assert expected == int(np.floor((H - k) / s)) + 1
    assert cnnbp.output_size(H, k, stride=s) == expected
    out = cnnbp.conv2d(np.zeros((1, 1, H, H)), np.zeros((1, 1, k, k)),
                       stride=s)
    assert out.shape[2:] == (expected, expected)
    last_row = (expected - 1) * s + k - 1
    assert last_row <= H - 1 < last_row + s


def test_table_rows():
    got = [cnnbp.output_size(H, k, stride=s) for H, k, s in
           [(5, 3, 1), (5, 3, 2), (7, 3, 2), (6, 3, 2), (8, 3, 3),
            (7, 3, 3), (28, 5, 2)]]
    assert got == [3, 2, 3, 2, 2, 2, 12]


def coverage(H, k, s, p=0):
    g = indexmap.conv_geometry(H, H, k, k, stride=s, padding=p)
    cov = np.zeros((H, H), dtype=int)
    for i in range(g.H_out):
        for j in range(g.W_out):
            for t in indexmap.forward_terms(g, i, j):
                if not t.in_padding:
                    cov[t.u, t.v] += 1
    return g, cov


def test_6x6_k3_s2_leaves_row_and_column_5():
    g, cov = coverage(6, 3, 2)
    assert (g.H_out, g.W_out) == (2, 2)
    np.testing.assert_array_equal(np.flatnonzero(cov.sum(axis=1) == 0), [5])
    np.testing.assert_array_equal(np.flatnonzero(cov.sum(axis=0) == 0), [5])
    np.testing.assert_array_equal(cov[:, 0] > 0, [1, 1, 1, 1, 1, 0])
    np.testing.assert_array_equal(cov[:5, 0], [1, 1, 2, 1, 1])
    assert cov[2, 2] == 4


def test_coverage_equals_input_gradient_of_ones():
    g, cov = coverage(6, 3, 2)
    dx = cnnbp.conv2d_backward(np.ones((1, 1, 2, 2)), np.zeros((1, 1, 6, 6)),
                               np.ones((1, 1, 3, 3)), stride=2)[0][0, 0]
    np.testing.assert_array_equal(dx, cov)


def test_leftover_cells_get_zero_gradient():
    rng = np.random.default_rng(2)
    for H, k, s in [(6, 3, 2), (7, 3, 3), (9, 4, 2), (10, 3, 3)]:
        h_out = cnnbp.output_size(H, k, stride=s)
        last = (h_out - 1) * s + k - 1
        x = rng.standard_normal((1, 1, H, H))
        w = rng.standard_normal((1, 1, k, k))
        dout = rng.standard_normal((1, 1, h_out, h_out))
        dx = cnnbp.conv2d_backward(dout, x, w, stride=s)[0]
        assert last < H - 1
        assert np.all(dx[..., last + 1:, :] == 0)
        assert np.all(dx[..., :, last + 1:] == 0)
        assert np.any(dx[..., last, :] != 0)


def test_padding_1_brings_the_leftover_back():
    g, cov = coverage(6, 3, 2, p=1)
    assert g.H_out == 3
    assert np.all(cov > 0)


def test_9x9_k4_s2_one_leftover_row():
    dx = cnnbp.conv2d_backward(np.ones((1, 1, 3, 3)), np.zeros((1, 1, 9, 9)),
                               np.ones((1, 1, 4, 4)), stride=2)[0][0, 0]
    assert np.sum(dx[:, 0] == 0) == 1


def test_per_axis_stride_shape():
    out = cnnbp.conv2d(np.zeros((1, 1, 7, 7)), np.zeros((1, 1, 3, 3)),
                       stride=(2, 1))
    assert out.shape == (1, 1, 3, 5)


@pytest.mark.parametrize("H, k, s", [(6, 3, 2), (7, 3, 3), (9, 4, 2),
                                     (10, 3, 4), (7, 3, 2)])
def test_zero_inserted_gradient_is_short_by_h_minus_k_mod_s(H, k, s):
    """Full conv of the dilated dL/dO covers H - ((H - k) mod s) rows."""
    from cnnbp import naive
    h_out = cnnbp.output_size(H, k, stride=s)
    dilated = naive.dilate(np.ones((1, 1, h_out, h_out)), s)
    covered = dilated.shape[2] + k - 1
    assert H - covered == (H - k) % s
    rng = np.random.default_rng(8)
    dout = rng.standard_normal((1, 1, h_out, h_out))
    dx = cnnbp.conv2d_backward(dout, rng.standard_normal((1, 1, H, H)),
                               rng.standard_normal((1, 1, k, k)),
                               stride=s)[0]
    assert np.all(dx[0, 0, covered:, :] == 0)
    assert dx[0, 0, covered - 1, :].any()


@pytest.mark.parametrize("k, d", [(3, 1), (3, 2), (2, 3), (4, 2)])
def test_dilated_filter_taps_are_d_apart_and_span_d_k_minus_1_plus_1(k, d):
    """Dilation d: taps d cells apart, spanning d(k - 1) + 1 cells."""
    rng = np.random.default_rng(k * d)
    x = rng.standard_normal((1, 1, 12, 11))
    w = rng.standard_normal((1, 1, k, k))
    span = d * (k - 1) + 1
    assert naive.dilate(w, d).shape[-2:] == (span, span)
    np.testing.assert_allclose(cnnbp.conv2d(x, w, dilation=d),
                               cnnbp.conv2d(x, naive.dilate(w, d)),
                               atol=1e-12)
    assert cnnbp.output_size(12, k, dilation=d) == 12 - span + 1


def test_dilation_is_defined_where_the_chapter_first_uses_it():
    """The first markdown cell of the chapter that mentions dilation also
    says what it is (Padding, the next chapter, treats it in full)."""
    path = Path(__file__).resolve().parents[1] / "book" / "03_stride.ipynb"
    cells = json.loads(path.read_text())["cells"]
    first = next("".join(c["source"]) for c in cells
                 if c["cell_type"] == "markdown"
                 and "dilation" in "".join(c["source"]))
    assert "**dilation**" in first and "taps" in first
