"""Claims of book/10_im2col.ipynb, checked against cnnbp."""
import json
import timeit
from pathlib import Path

import numpy as np
import pytest

import cnnbp
from cnnbp import naive

LAYERS = [
    # (x shape, w shape, stride, padding)
    ((1, 1, 4, 4), (1, 1, 3, 3), 1, 0),
    ((2, 3, 7, 7), (4, 3, 3, 3), 2, 1),
    ((2, 3, 9, 8), (5, 3, 3, 3), 2, 1),
    ((2, 2, 6, 7), (3, 2, 2, 3), (1, 2), (2, 1)),
    ((1, 2, 8, 8), (2, 2, 3, 3), 2, 0),
]


def out_hw(x_shape, w_shape, s, p):
    (sh, sw), (ph, pw) = cnnbp.shapes.pair(s, "s"), cnnbp.shapes.pair(p, "p")
    return (cnnbp.output_size(x_shape[2], w_shape[2], sh, ph),
            cnnbp.output_size(x_shape[3], w_shape[3], sw, pw))


@pytest.mark.parametrize("x_shape, w_shape, s, p", LAYERS)
def test_im2col_row_and_column_order(x_shape, w_shape, s, p):
    """cols[(a*Ho + i)*Wo + j, (c*HH + m)*WW + n] = X^pad[a,c,is+m,js+n]."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape)
    N, C, _, _ = x_shape
    _, _, HH, WW = w_shape
    (sh, sw), (ph, pw) = cnnbp.shapes.pair(s, "s"), cnnbp.shapes.pair(p, "p")
    Ho, Wo = out_hw(x_shape, w_shape, s, p)
    cols = cnnbp.im2col(x, HH, WW, stride=s, padding=p)
    assert cols.shape == (N * Ho * Wo, C * HH * WW)
    x_pad = naive.pad(x, (ph, pw))
    for a in range(N):
        for i in range(Ho):
            for j in range(Wo):
                for c in range(C):
                    for m in range(HH):
                        for n in range(WW):
                            assert (cols[(a * Ho + i) * Wo + j,
                                         (c * HH + m) * WW + n]
                                    == x_pad[a, c, i * sh + m, j * sw + n])


@pytest.mark.parametrize("x_shape, w_shape, s, p", LAYERS)
def test_forward_is_one_matrix_product(x_shape, w_shape, s, p):
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    N, F = x_shape[0], w_shape[0]
    Ho, Wo = out_hw(x_shape, w_shape, s, p)
    cols = cnnbp.im2col(x, w_shape[2], w_shape[3], stride=s, padding=p)
    out = (cols @ w.reshape(F, -1).T + b).reshape(N, Ho, Wo, F)
    np.testing.assert_allclose(out.transpose(0, 3, 1, 2),
                               naive.conv2d(x, w, b, s, p), atol=1e-12)


@pytest.mark.parametrize("x_shape, w_shape, s, p", LAYERS)
def test_backward_as_matrix_products(x_shape, w_shape, s, p):
    """dW = dO^T cols, dcols = dO W, db = col sums, dX = col2im(dcols)."""
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    F, _, HH, WW = w_shape
    dout = rng.standard_normal(naive.conv2d(x, w, None, s, p).shape)
    cols = cnnbp.im2col(x, HH, WW, stride=s, padding=p)
    dout_cols = dout.transpose(0, 2, 3, 1).reshape(-1, F)
    dw = (dout_cols.T @ cols).reshape(w_shape)
    dcols = dout_cols @ w.reshape(F, -1)
    dx = cnnbp.col2im(dcols, x_shape, HH, WW, stride=s, padding=p)
    db = dout_cols.sum(axis=0)
    dx_ref, dw_ref, db_ref = naive.conv2d_backward(dout, x, w, s, p)
    np.testing.assert_allclose(dx, dx_ref, atol=1e-12)
    np.testing.assert_allclose(dw, dw_ref, atol=1e-12)
    np.testing.assert_allclose(db, db_ref, atol=1e-12)
    # col2im of dcols is the full-convolution input gradient
    np.testing.assert_allclose(
        dx, naive.input_gradient(dout, x, w, stride=s, padding=p),
        atol=1e-12)


@pytest.mark.parametrize("x_shape, w_shape, s, p", LAYERS)
def test_col2im_is_adjoint_of_im2col(x_shape, w_shape, s, p):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(x_shape)
    HH, WW = w_shape[2:]
    cols = cnnbp.im2col(x, HH, WW, stride=s, padding=p)
    y = rng.standard_normal(cols.shape)
    lhs = np.sum(cols * y)
    rhs = np.sum(x * cnnbp.col2im(y, x_shape, HH, WW, stride=s, padding=p))
    assert lhs == pytest.approx(rhs, rel=1e-12)


def test_col2im_of_ones_counts_windows():
    counts = cnnbp.col2im(np.ones((4, 9)), (1, 1, 4, 4), 3, 3)[0, 0]
    np.testing.assert_array_equal(
        counts, [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]])


@pytest.mark.parametrize("x_shape, w_shape, s, p", LAYERS)
def test_col2im_im2col_multiplies_by_count(x_shape, w_shape, s, p):
    """col2im(im2col(x)) = count * x: the adjoint, not the inverse."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal(x_shape)
    HH, WW = w_shape[2:]
    cols = cnnbp.im2col(x, HH, WW, stride=s, padding=p)
    back = cnnbp.col2im(cols, x_shape, HH, WW, stride=s, padding=p)
    count = cnnbp.col2im(np.ones(cols.shape), x_shape, HH, WW, stride=s,
                         padding=p)
    np.testing.assert_allclose(back, count * x, atol=1e-12)


def test_col2im_inverts_only_without_overlap():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 6, 6))
    back = cnnbp.col2im(cnnbp.im2col(x, 2, 2, stride=2), x.shape, 2, 2,
                        stride=2)
    np.testing.assert_allclose(back, x)
    back = cnnbp.col2im(cnnbp.im2col(x, 3, 3), x.shape, 3, 3)
    assert not np.allclose(back, x)


def test_worked_example_shapes():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 3, 28, 28))
    w = rng.standard_normal((32, 3, 3, 3))
    cols = cnnbp.im2col(x, 3, 3, stride=2, padding=1)
    assert cols.shape == (256 * 14 * 14, 3 * 3 * 3) == (50176, 27)
    assert w.reshape(32, -1).T.shape == (27, 32)
    out_cols = cols @ w.reshape(32, -1).T
    assert out_cols.shape == (50176, 32)
    out = out_cols.reshape(256, 14, 14, 32).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(out, cnnbp.conv2d(x, w, stride=2, padding=1),
                               atol=1e-10)
    assert 256 * 15 * 15 == 57600 != cols.shape[0]
    with pytest.raises(ValueError):
        out_cols.reshape(256, 15, 15, 32)


@pytest.mark.parametrize("C, H, k, s, p", [(3, 28, 3, 2, 1),
                                           (3, 28, 3, 1, 1),
                                           (2, 12, 5, 1, 2),
                                           (4, 10, 1, 1, 0),
                                           (1, 9, 3, 3, 1)])
def test_duplication_factor(C, H, k, s, p):
    """size(cols) / size(X) = Ho Wo HH WW / (H W), ~ HH WW / s^2."""
    x = np.zeros((2, C, H, H))
    cols = cnnbp.im2col(x, k, k, stride=s, padding=p)
    Ho = cnnbp.output_size(H, k, s, p)
    assert cols.size / x.size == pytest.approx(Ho * Ho * k * k / (H * H))
    if 2 * p == k - 1 and H % s == 0:
        assert cols.size / x.size == pytest.approx(k * k / s ** 2)


def test_memory_table_numbers():
    assert 256 * 14 * 14 * 27 * 4 / 2 ** 20 == pytest.approx(5.168, 1e-3)
    assert 256 * 56 * 56 * 64 * 25 * 4 / 2 ** 20 == 4900.0
    assert 256 * 56 * 56 * 64 * 9 * 4 / 2 ** 20 == 1764.0


def test_fast_twin_is_much_faster_than_loops():
    """The page reports a speed-up of hundreds; check at least 10x."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 12, 12))
    w = rng.standard_normal((4, 3, 3, 3))
    t_naive = min(timeit.repeat(lambda: naive.conv2d(x, w, padding=1),
                                number=1, repeat=2))
    t_fast = min(timeit.repeat(lambda: cnnbp.conv2d(x, w, padding=1),
                               number=1, repeat=5))
    assert t_naive > 10 * t_fast


@pytest.mark.parametrize("x_shape, w_shape, s, p", LAYERS)
def test_scatter_sends_each_term_to_is_plus_m_minus_p(x_shape, w_shape, s,
                                                      p):
    """dO[a,f,i,j] F[f,c,m,n] goes to X[a, c, i s + m - p, j s + n - p]."""
    (sh, sw), (ph, pw) = cnnbp.shapes.pair(s, "s"), cnnbp.shapes.pair(p, "p")
    rng = np.random.default_rng(9)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    dout = rng.standard_normal(naive.conv2d(x, w, None, s, p).shape)
    _, C, H, W = x_shape
    HH, WW = w_shape[2:]
    dx = np.zeros(x_shape)
    for a, f, i, j in np.ndindex(dout.shape):
        for c, m, n in np.ndindex(C, HH, WW):
            u, v = i * sh + m - ph, j * sw + n - pw
            if 0 <= u < H and 0 <= v < W:
                dx[a, c, u, v] += dout[a, f, i, j] * w[f, c, m, n]
    np.testing.assert_allclose(
        dx, cnnbp.conv2d_backward(dout, x, w, s, p)[0], atol=1e-12)


@pytest.mark.parametrize("x_shape, w_shape, s, p", LAYERS)
def test_dw_product_is_correlation_with_dilated_dout(x_shape, w_shape, s,
                                                     p):
    """dO_col^T cols = correlation of X^pad with dL/dO dilated by s."""
    sh, sw = cnnbp.shapes.pair(s, "s")
    ph, pw = cnnbp.shapes.pair(p, "p")
    rng = np.random.default_rng(10)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    F, _, HH, WW = w_shape
    dout = rng.standard_normal(naive.conv2d(x, w, None, s, p).shape)
    dout_cols = dout.transpose(0, 2, 3, 1).reshape(-1, F)
    dw = (dout_cols.T @ cnnbp.im2col(x, HH, WW, stride=s,
                                     padding=p)).reshape(w_shape)
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dil = np.zeros(dout.shape[:2] + ((dout.shape[2] - 1) * sh + 1,
                                     (dout.shape[3] - 1) * sw + 1))
    dil[:, :, ::sh, ::sw] = dout
    dh, dwid = dil.shape[2:]
    ref = np.zeros(w_shape)
    for f, c, m, n in np.ndindex(w_shape):
        ref[f, c, m, n] = np.sum(x_pad[:, c, m:m + dh, n:n + dwid]
                                 * dil[:, f])
    np.testing.assert_allclose(dw, ref, atol=1e-12)


def test_1x1_cols_hold_each_input_value_once():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 3, 4, 5))
    cols = cnnbp.im2col(x, 1, 1)
    assert cols.size == x.size
    np.testing.assert_array_equal(cols, x.transpose(0, 2, 3, 1)
                                  .reshape(-1, 3))


@pytest.mark.parametrize("x_shape, w_shape, s, p", LAYERS)
def test_pytorch_unfold_puts_windows_in_columns(x_shape, w_shape, s, p):
    """F.unfold (like CS231n's and Caffe's im2col) gives one column per
    window: per sample, the transpose of cnnbp's rows."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(30)
    x = rng.standard_normal(x_shape)
    HH, WW = w_shape[2:]
    cols = cnnbp.im2col(x, HH, WW, stride=s, padding=p)
    unfolded = torch.nn.functional.unfold(
        torch.from_numpy(x), (HH, WW), stride=s, padding=p).numpy()
    N = x_shape[0]
    assert unfolded.shape == (N, cols.shape[1], cols.shape[0] // N)
    np.testing.assert_array_equal(
        unfolded.transpose(0, 2, 1).reshape(cols.shape), cols)


def test_pytorch_lowers_to_im2col_in_float64_only():
    """float32: oneDNN (aten::mkldnn_convolution); float64: the im2col
    path aten::_slow_conv2d_forward."""
    torch = pytest.importorskip("torch")
    if not torch.backends.mkldnn.is_available():
        pytest.skip("this PyTorch has no oneDNN")
    x, w = torch.randn(4, 3, 28, 28), torch.randn(8, 3, 3, 3)
    ops = {}
    for dtype in (torch.float32, torch.float64):
        with torch.profiler.profile() as prof:
            torch.nn.functional.conv2d(x.to(dtype), w.to(dtype), stride=2,
                                       padding=1)
        ops[dtype] = {event.name for event in prof.events()}
    assert "aten::mkldnn_convolution" in ops[torch.float32]
    assert "aten::_slow_conv2d_forward" not in ops[torch.float32]
    assert "aten::_slow_conv2d_forward" in ops[torch.float64]
    assert "aten::mkldnn_convolution" not in ops[torch.float64]


def test_duplication_quiz_layer():
    """5x5 filter, stride 2, padding 2 on 28x28: cols is 6.25 times X,
    the page's HH WW / s^2, and no row of the page's table."""
    cols = cnnbp.im2col(np.zeros((1, 1, 28, 28)), 5, 5, stride=2,
                        padding=2)
    assert cols.size / (28 * 28) == 6.25 == 5 * 5 / 2 ** 2


def test_quizzes_come_before_the_numbers_they_ask_for():
    path = Path(__file__).resolve().parents[1] / "book" / "10_im2col.ipynb"
    cells = ["".join(c["source"])
             for c in json.loads(path.read_text())["cells"]]

    def first(*needles):
        return next(k for k, s in enumerate(cells)
                    if all(n in s for n in needles))

    assert first("quiz.show", "im2col-rows") < first(
        "cols_big = cnnbp.im2col(x_big")
    assert first("quiz.show", "im2col-rows") < first("50176 \\times 27")
    assert first("quiz.show", "im2col-count") < first(
        "counts = cnnbp.col2im(np.ones((4, 9))")
