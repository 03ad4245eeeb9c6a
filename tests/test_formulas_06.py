"""Claims of book/06_filter_gradient.ipynb, checked against cnnbp."""
import numpy as np
import pytest

import cnnbp
from cnnbp import gradcheck, naive
from cnnbp.gradcheck import TOLERANCE


def numeric_dw(dout, x, w, stride=1, padding=0):
    return gradcheck.numerical_gradient(
        lambda w_: cnnbp.conv2d(x, w_, stride=stride, padding=padding),
        w, dout)


def test_small_example_term_by_term():
    """dL/dF[m,n] = sum_ij G[i,j] X[i+m, j+n] on 3x3 input, 2x2 filter."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 1, 3, 3))
    w = rng.standard_normal((1, 1, 2, 2))
    g = rng.standard_normal((1, 1, 2, 2))
    X, G = x[0, 0], g[0, 0]
    expected = np.array([
        [G[0, 0] * X[0, 0] + G[0, 1] * X[0, 1]
         + G[1, 0] * X[1, 0] + G[1, 1] * X[1, 1],
         G[0, 0] * X[0, 1] + G[0, 1] * X[0, 2]
         + G[1, 0] * X[1, 1] + G[1, 1] * X[1, 2]],
        [G[0, 0] * X[1, 0] + G[0, 1] * X[1, 1]
         + G[1, 0] * X[2, 0] + G[1, 1] * X[2, 1],
         G[0, 0] * X[1, 1] + G[0, 1] * X[1, 2]
         + G[1, 0] * X[2, 1] + G[1, 1] * X[2, 2]],
    ])
    np.testing.assert_allclose(naive.filter_gradient(g, x, w)[0, 0],
                               expected)
    np.testing.assert_allclose(cnnbp.conv2d_backward(g, x, w)[1][0, 0],
                               expected)


def test_worked_example_numbers():
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    g = np.array([[[[1.0, 2.0], [-1.0, 3.0]]]])
    dw = cnnbp.conv2d_backward(g, x, np.ones((1, 1, 2, 2)))[1][0, 0]
    np.testing.assert_allclose(dw, [[16, 21], [31, 36]])
    flipped = cnnbp.conv2d(x, naive.rot180(g))[0, 0, 0, 0]
    assert flipped == 14


@pytest.mark.parametrize("H, W, HH, WW", [(3, 3, 2, 2), (6, 5, 3, 2),
                                          (7, 4, 1, 3)])
def test_stride1_dw_is_valid_correlation_with_dout(H, W, HH, WW):
    """Single channel: dL/dF = conv2d(X, dL/dO), no flip."""
    rng = np.random.default_rng(H * W)
    x = rng.standard_normal((1, 1, H, W))
    w = rng.standard_normal((1, 1, HH, WW))
    g = rng.standard_normal(cnnbp.conv2d(x, w).shape)
    np.testing.assert_allclose(cnnbp.conv2d_backward(g, x, w)[1],
                               cnnbp.conv2d(x, g), atol=1e-12)


def test_sum_over_outputs_not_filter_range():
    """The filter-range sum agrees only when H_out == k."""
    rng = np.random.default_rng(1)
    for H, k, same in [(3, 2, True), (6, 3, False)]:
        x = rng.standard_normal((1, 1, H, H))
        w = rng.standard_normal((1, 1, k, k))
        g = rng.standard_normal(cnnbp.conv2d(x, w).shape)
        wrong = cnnbp.conv2d(x[:, :, :2 * k - 1, :2 * k - 1],
                             g[:, :, :k, :k])
        right = naive.filter_gradient(g, x, w)
        assert np.allclose(wrong, right) == same
        assert gradcheck.rel_error(right, numeric_dw(g, x, w)) < TOLERANCE


@pytest.mark.parametrize("H, W, k, s, p", [(7, 6, 3, 2, 0), (5, 5, 3, 2, 0),
                                           (8, 7, 2, 3, 1), (7, 7, 3, 2, 1)])
def test_stride_is_correlation_with_dilated_dout(H, W, k, s, p):
    """dL/dF = first k x k of X^pad (*) dilate(dL/dO, s)
    = conv2d(X^pad, dL/dO, dilation=s) cropped."""
    rng = np.random.default_rng(H + 10 * s)
    x = rng.standard_normal((1, 1, H, W))
    w = rng.standard_normal((1, 1, k, k))
    g = rng.standard_normal(cnnbp.conv2d(x, w, stride=s, padding=p).shape)
    x_pad = naive.pad(x, p)
    via_dilate = cnnbp.conv2d(x_pad, naive.dilate(g, s))[:, :, :k, :k]
    via_dilation = cnnbp.conv2d(x_pad, g, dilation=s)[:, :, :k, :k]
    dw = cnnbp.conv2d_backward(g, x, w, s, p)[1]
    np.testing.assert_allclose(via_dilate, dw, atol=1e-12)
    np.testing.assert_allclose(via_dilation, dw, atol=1e-12)
    assert gradcheck.rel_error(dw, numeric_dw(g, x, w, s, p)) < TOLERANCE


def test_dilated_dout_shape_and_correlation_size():
    """D is s(H_out-1)+1 wide; X (*) D is k wide iff s divides H - k."""
    for H, k, s in [(7, 3, 2), (6, 3, 2), (9, 2, 3)]:
        H_out = cnnbp.output_size(H, k, stride=s)
        d = naive.dilate(np.ones((H_out, H_out)), s)
        assert d.shape == (s * (H_out - 1) + 1,) * 2
        corr = H - d.shape[0] + 1
        assert (corr == k) == ((H - k) % s == 0)
        assert corr >= k


def test_batch_is_summed_not_averaged():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 2, 5, 5))
    w = rng.standard_normal((2, 2, 3, 3))
    g = rng.standard_normal(cnnbp.conv2d(x, w).shape)
    total = sum(cnnbp.conv2d_backward(g[a:a + 1], x[a:a + 1], w)[1]
                for a in range(3))
    dw = cnnbp.conv2d_backward(g, x, w)[1]
    np.testing.assert_allclose(dw, total, atol=1e-12)
    num = numeric_dw(g, x, w)
    assert gradcheck.rel_error(dw, num) < TOLERANCE
    assert abs(gradcheck.rel_error(dw / 3, num) - 0.5) < 1e-6


def test_channels_dw_fc_is_xc_correlated_with_dout_f():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 7))
    w = rng.standard_normal((4, 3, 3, 3))
    s, p = 2, 1
    g = rng.standard_normal(cnnbp.conv2d(x, w, stride=s, padding=p).shape)
    dw = cnnbp.conv2d_backward(g, x, w, s, p)[1]
    x_pad = naive.pad(x, p)
    for f in range(4):
        for c in range(3):
            expect = sum(
                cnnbp.conv2d(x_pad[a:a + 1, c:c + 1],
                             naive.dilate(g[a:a + 1, f:f + 1], s))
                [0, 0, :3, :3] for a in range(2))
            np.testing.assert_allclose(dw[f, c], expect, atol=1e-12)


def test_classic_mistakes_fail_the_check():
    """Flip, no zero insertion, filter-range sum, batch mean all fail."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 7, 7))
    w = rng.standard_normal((4, 3, 3, 3))
    s, p = 2, 1
    g = rng.standard_normal(cnnbp.conv2d(x, w, stride=s, padding=p).shape)
    num = numeric_dw(g, x, w, s, p)

    def by_forward(g_, stride):
        x_t = naive.pad(x, p).transpose(1, 0, 2, 3)
        corr = cnnbp.conv2d(x_t, g_.transpose(1, 0, 2, 3), dilation=stride)
        return corr[:, :, :3, :3].transpose(1, 0, 2, 3)

    assert gradcheck.rel_error(by_forward(g, s), num) < TOLERANCE
    mistakes = [by_forward(naive.rot180(g), s), by_forward(g, 1),
                by_forward(g[:, :, :3, :3], s), by_forward(g, s) / 2]
    for bad in mistakes:
        assert gradcheck.rel_error(bad, num) > 1e-2


@pytest.mark.parametrize("H, k, s, p", [(7, 3, 2, 0), (6, 3, 2, 0),
                                        (8, 3, 3, 1), (9, 2, 2, 1)])
def test_correlation_with_dilated_dout_is_k_plus_leftover(H, k, s, p):
    """X^pad (*) D has k + (H + 2p - k) mod s rows; its first k are dL/dF.

    The extra rows pair D with input rows no window reached.
    """
    rng = np.random.default_rng(10 * H + s + p)
    x = rng.standard_normal((1, 1, H, H))
    w = rng.standard_normal((1, 1, k, k))
    g = rng.standard_normal(cnnbp.conv2d(x, w, stride=s, padding=p).shape)
    corr = cnnbp.conv2d(naive.pad(x, p), naive.dilate(g, s))
    r = (H + 2 * p - k) % s
    assert corr.shape[-2:] == (k + r, k + r)
    dw = cnnbp.conv2d_backward(g, x, w, s, p)[1]
    np.testing.assert_allclose(corr[:, :, :k, :k], dw, atol=1e-12)


@pytest.mark.parametrize("H, W, k, s, p, d", [(9, 8, 3, 2, 0, 2),
                                              (10, 9, 2, 1, 1, 3),
                                              (11, 7, 3, 3, 2, 2),
                                              (8, 8, 3, 2, 1, 1)])
def test_dilated_filter_gradient_is_every_dth_entry(H, W, k, s, p, d):
    """With dilation d, dL/dF[m, n] is entry (md, nd) of the correlation
    of X^pad with the zero-inserted dL/dO; the first k entries are right
    only for d = 1."""
    rng = np.random.default_rng(H + 10 * d + s)
    x = rng.standard_normal((2, 2, H, W))
    w = rng.standard_normal((3, 2, k, k))
    g = rng.standard_normal(cnnbp.conv2d(x, w, stride=s, padding=p,
                                         dilation=d).shape)
    num = gradcheck.numerical_gradient(
        lambda w_: cnnbp.conv2d(x, w_, stride=s, padding=p, dilation=d),
        w, g)
    x_t = naive.pad(x, p).transpose(1, 0, 2, 3)
    corr = cnnbp.conv2d(x_t, naive.dilate(g, s).transpose(1, 0, 2, 3))
    corr = corr.transpose(1, 0, 2, 3)
    every_dth = corr[:, :, ::d, ::d][:, :, :k, :k]
    assert gradcheck.rel_error(every_dth, num) < TOLERANCE
    assert gradcheck.rel_error(
        naive.filter_gradient(g, x, w, s, p, d), num) < TOLERANCE
    first_k = gradcheck.rel_error(corr[:, :, :k, :k], num)
    assert (first_k < TOLERANCE) if d == 1 else (first_k > 1e-2)


def test_chapter_dilation_cell_numbers():
    """The chapter's 3x2 filter, dilation 2, stride 2 on a 9x8 input: it
    spans 5x3 and the correlation of X with D is 5x4."""
    x, w = np.zeros((1, 1, 9, 8)), np.zeros((1, 1, 3, 2))
    dout = np.zeros(cnnbp.conv2d(x, w, stride=2, dilation=2).shape)
    assert naive.dilate(w, 2).shape[-2:] == (5, 3)
    assert cnnbp.conv2d(x, naive.dilate(dout, 2)).shape[-2:] == (5, 4)


def test_adam_largely_hides_a_gradient_divided_by_the_batch():
    """Quiz dw-batch-sum: plain SGD steps shrink with the gradient, but
    Adam's steps, m / (sqrt(v) + eps), barely change when every gradient
    is 32 times too small."""
    rng = np.random.default_rng(5)
    grads = [rng.standard_normal(10) for _ in range(5)]

    def adam_steps(scale, b1=0.9, b2=0.999, eps=1e-8):
        m, v, steps = 0.0, 0.0, []
        for t, grad in enumerate(grads, start=1):
            grad = scale * grad
            m = b1 * m + (1 - b1) * grad
            v = b2 * v + (1 - b2) * grad ** 2
            m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
            steps.append(m_hat / (np.sqrt(v_hat) + eps))
        return np.array(steps)

    np.testing.assert_allclose(adam_steps(1 / 32), adam_steps(1.0),
                               rtol=1e-5)
