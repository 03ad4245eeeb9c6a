"""Claims of book/16_grouped_depthwise.ipynb, checked against cnnbp,
finite differences and PyTorch on random, non-square, per-axis
configurations."""
import itertools

import numpy as np
import pytest

import cnnbp
from cnnbp import gradcheck, layers, naive
from cnnbp.exercises import grouped as checks
from cnnbp.gradcheck import TOLERANCE

# x shape, w shape, stride, padding, dilation, groups
CONFIGS = [
    ((2, 4, 7, 6), (6, 2, 3, 2), 2, 1, 1, 2),
    ((1, 6, 8, 5), (6, 2, 2, 3), (2, 1), (1, 0), 1, 3),
    ((2, 3, 6, 7), (3, 1, 3, 3), 1, (0, 2), (2, 1), 3),
    ((1, 2, 5, 6), (4, 1, 3, 2), (1, 2), 1, 1, 2),
    ((2, 4, 5, 4), (6, 4, 1, 1), 1, 0, 1, 1),
]
IDS = ["two groups", "three groups per-axis", "depthwise dilated",
       "channel multiplier", "pointwise"]


def pair(v):
    return (v, v) if np.ndim(v) == 0 else tuple(v)


def make(config, seed):
    xs, ws, s, p, d, g = config
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    b = rng.standard_normal(ws[0])
    dout = rng.standard_normal(
        cnnbp.conv2d(x, w, b, s, p, d, groups=g).shape)
    return x, w, b, dout, s, p, d, g


def forward_formula(x, w, b, s, p, d, g):
    """O[a,f,i,j] = b[f] + sum_c,m,n Xpad[a, gamma C_g + c, i s + m d,
    j s + n d] F[f,c,m,n], term by term."""
    (sh, sw), (dh, dw_) = pair(s), pair(d)
    xp = naive.pad(x, p)
    K, Cg, HH, WW = w.shape
    Kg = K // g
    Ho = (xp.shape[2] - dh * (HH - 1) - 1) // sh + 1
    Wo = (xp.shape[3] - dw_ * (WW - 1) - 1) // sw + 1
    out = np.zeros((x.shape[0], K, Ho, Wo))
    for a, f, i, j in itertools.product(range(x.shape[0]), range(K),
                                        range(Ho), range(Wo)):
        gamma = f // Kg
        total = b[f]
        for c, m, n in itertools.product(range(Cg), range(HH),
                                         range(WW)):
            total += (xp[a, gamma * Cg + c, i * sh + m * dh,
                         j * sw + n * dw_] * w[f, c, m, n])
        out[a, f, i, j] = total
    return out


def backward_formula(dout, x, w, s, p, d, g):
    """The three sums of eq-grouped-backward, term by term, then the
    padding crop of dL/dXpad."""
    (sh, sw), (dh, dw_), (ph, pw) = pair(s), pair(d), pair(p)
    xp = naive.pad(x, p)
    K, Cg, HH, WW = w.shape
    Kg = K // g
    dxp, dw = np.zeros(xp.shape), np.zeros(w.shape)
    N, _, Ho, Wo = dout.shape
    for a, f, i, j in itertools.product(range(N), range(K), range(Ho),
                                        range(Wo)):
        ch = f // Kg * Cg
        for c, m, n in itertools.product(range(Cg), range(HH),
                                         range(WW)):
            u, v = i * sh + m * dh, j * sw + n * dw_
            dw[f, c, m, n] += dout[a, f, i, j] * xp[a, ch + c, u, v]
            dxp[a, ch + c, u, v] += dout[a, f, i, j] * w[f, c, m, n]
    dx = dxp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]
    return dx, dw, dout.sum(axis=(0, 2, 3))


def sliced_backward(dout, x, w, s, p, d, g):
    """The chapter's grouped_backward: the ordinary pass per group."""
    K, Cg = w.shape[:2]
    Kg = K // g
    dx, dw = np.zeros(x.shape), np.zeros(w.shape)
    for k in range(g):
        fs, cs = slice(k * Kg, (k + 1) * Kg), slice(k * Cg, (k + 1) * Cg)
        dx[:, cs], dw[fs], _ = cnnbp.conv2d_backward(
            dout[:, fs], x[:, cs], w[fs], s, p, d)
    return dx, dw, dout.sum(axis=(0, 2, 3))


def dense_filters(w, g):
    K, Cg = w.shape[:2]
    dense = np.zeros((K, Cg * g) + w.shape[2:])
    for f in range(K):
        gamma = f // (K // g)
        dense[f, gamma * Cg:(gamma + 1) * Cg] = w[f]
    return dense


def numeric(x, w, b, dout, s, p, d, g):
    def fwd(x_=x, w_=w, b_=b):
        return cnnbp.conv2d(x_, w_, b_, s, p, d, groups=g)
    return (gradcheck.numerical_gradient(lambda v: fwd(x_=v), x, dout),
            gradcheck.numerical_gradient(lambda v: fwd(w_=v), w, dout),
            gradcheck.numerical_gradient(lambda v: fwd(b_=v), b, dout))


def torch_grads(x, w, b, dout, s, p, d, g):
    torch = pytest.importorskip("torch")
    tx, tw, tb = (torch.tensor(a, dtype=torch.float64, requires_grad=True)
                  for a in (x, w, b))
    out = torch.nn.functional.conv2d(tx, tw, tb, pair(s), pair(p),
                                     pair(d), g)
    (out * torch.tensor(dout)).sum().backward()
    return out.detach().numpy(), (tx.grad.numpy(), tw.grad.numpy(),
                                  tb.grad.numpy())


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_forward_formula(config):
    x, w, b, dout, s, p, d, g = make(config, 0)
    out = forward_formula(x, w, b, s, p, d, g)
    np.testing.assert_allclose(out, cnnbp.conv2d(x, w, b, s, p, d,
                                                 groups=g), atol=1e-12)
    torch_out, _ = torch_grads(x, w, b, dout, s, p, d, g)
    np.testing.assert_allclose(out, torch_out, atol=1e-12)


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_backward_formula_and_sliced_pass(config):
    args = make(config, 1)
    x, w, b, dout, s, p, d, g = args
    formula = backward_formula(dout, x, w, s, p, d, g)
    sliced = sliced_backward(dout, x, w, s, p, d, g)
    num = numeric(*args)
    _, torch = torch_grads(*args)
    for got, by_fd, by_torch, fast in zip(
            formula, num, torch,
            cnnbp.conv2d_backward(dout, x, w, s, p, d, groups=g)):
        assert gradcheck.rel_error(got, by_fd) < TOLERANCE
        np.testing.assert_allclose(got, by_torch, atol=1e-10)
        np.testing.assert_allclose(got, fast, atol=1e-10)
    for got, ref in zip(sliced, formula):
        np.testing.assert_allclose(got, ref, atol=1e-10)


def test_small_example_term_by_term():
    xs = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 4, 1, 1)
    ws = np.array([[1.0, -1.0], [2.0, 0.5]]).reshape(2, 2, 1, 1)
    gs = np.array([1.0, -2.0]).reshape(1, 2, 1, 1)
    X, F, G = xs.ravel(), ws[:, :, 0, 0], gs.ravel()
    out = cnnbp.conv2d(xs, ws, groups=2).ravel()
    np.testing.assert_array_equal(
        out, [F[0, 0] * X[0] + F[0, 1] * X[1],
              F[1, 0] * X[2] + F[1, 1] * X[3]])
    dx, dw, _ = cnnbp.conv2d_backward(gs, xs, ws, groups=2)
    np.testing.assert_array_equal(
        dx.ravel(), [G[0] * F[0, 0], G[0] * F[0, 1], G[1] * F[1, 0],
                     G[1] * F[1, 1]])
    np.testing.assert_array_equal(
        dw[:, :, 0, 0], [[G[0] * X[0], G[0] * X[1]],
                         [G[1] * X[2], G[1] * X[3]]])
    np.testing.assert_array_equal(dx.ravel(), [1, -1, -4, -1])
    # the ordinary convolution: one term per filter
    w_full = np.random.default_rng(2).standard_normal((2, 4, 1, 1))
    dx1 = cnnbp.conv2d_backward(gs, xs, w_full)[0].ravel()
    np.testing.assert_allclose(
        dx1, G[0] * w_full[0, :, 0, 0] + G[1] * w_full[1, :, 0, 0])


@pytest.mark.parametrize("config", CONFIGS[:4], ids=IDS[:4])
def test_dense_with_zero_blocks(config):
    x, w, b, dout, s, p, d, g = make(config, 3)
    dense = dense_filters(w, g)
    np.testing.assert_allclose(cnnbp.conv2d(x, dense, b, s, p, d),
                               cnnbp.conv2d(x, w, b, s, p, d, groups=g),
                               atol=1e-12)
    dx_g, dw_g, _ = cnnbp.conv2d_backward(dout, x, w, s, p, d, groups=g)
    dx_d, dw_d, _ = cnnbp.conv2d_backward(dout, x, dense, s, p, d)
    np.testing.assert_allclose(dx_d, dx_g, atol=1e-12)
    mask = dense_filters(np.ones(w.shape), g)
    np.testing.assert_allclose(dw_d * mask, dense_filters(dw_g, g),
                               atol=1e-12)
    assert np.abs(dw_d * (1 - mask)).max() > 0.1


def test_depthwise_dx_is_one_full_convolution_per_channel():
    x, w, b, dout, s, p, d, g = make(((2, 3, 6, 5), (3, 1, 3, 2), 1, 0,
                                      1, 3), 4)
    dx = cnnbp.conv2d_backward(dout, x, w, groups=3)[0]
    for c in range(3):
        HH, WW = w.shape[2:]
        full = naive.pad(dout[:, c:c + 1], (HH - 1, WW - 1))
        expected = cnnbp.conv2d(full, naive.rot180(w[c:c + 1]))
        np.testing.assert_allclose(dx[:, c:c + 1], expected, atol=1e-12)


def test_pointwise_is_a_matrix_product_per_pixel():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 5, 4, 3))
    w = rng.standard_normal((7, 5, 1, 1))
    b = rng.standard_normal(7)
    dout = rng.standard_normal((2, 7, 4, 3))
    M = w[:, :, 0, 0]
    np.testing.assert_allclose(
        cnnbp.conv2d(x, w, b),
        np.einsum("fc,acij->afij", M, x) + b[:, None, None], atol=1e-12)
    dx, dw, _ = cnnbp.conv2d_backward(dout, x, w)
    np.testing.assert_allclose(dx, np.einsum("fc,afij->acij", M, dout),
                               atol=1e-12)
    np.testing.assert_allclose(dw[:, :, 0, 0],
                               np.einsum("afij,acij->fc", dout, x),
                               atol=1e-12)
    _, (t_dx, t_dw, _) = torch_grads(x, w, b, dout, 1, 0, 1, 1)
    np.testing.assert_allclose(dx, t_dx, atol=1e-12)
    np.testing.assert_allclose(dw, t_dw, atol=1e-12)


def test_separable_block_is_one_convolution_with_factored_filters():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 6, 5))
    D = rng.standard_normal((3, 1, 3, 2))
    P = rng.standard_normal((4, 3, 1, 1))
    two = cnnbp.conv2d(cnnbp.conv2d(x, D, padding=(1, 0), groups=3), P)
    w_sep = P[:, :, 0, 0][:, :, None, None] * D[:, 0][None]
    assert w_sep.shape == (4, 3, 3, 2)
    np.testing.assert_allclose(two, cnnbp.conv2d(x, w_sep,
                                                 padding=(1, 0)),
                               atol=1e-12)
    tf = torch.nn.functional
    t = tf.conv2d(tf.conv2d(torch.tensor(x), torch.tensor(D),
                            padding=(1, 0), groups=3), torch.tensor(P))
    np.testing.assert_allclose(two, t.numpy(), atol=1e-12)


@pytest.mark.parametrize("C, K, k, g", [(64, 128, 3, 1), (64, 128, 3, 4),
                                        (64, 64, 3, 64), (6, 9, (3, 2), 3),
                                        (128, 128, 3, 32)])
def test_parameter_and_multiply_add_counts(C, K, k, g):
    torch = pytest.importorskip("torch")
    HH, WW = pair(k)
    conv = layers.Conv2d(C, K, k, groups=g)
    params = sum(p.size for p in conv.params.values())
    assert params == K * (C // g) * HH * WW + K
    t = torch.nn.Conv2d(C, K, k, groups=g)
    assert params == sum(q.numel() for q in t.parameters())
    x = np.ones((1, C, 7, 6))
    out = conv.forward(x)
    Ho, Wo = out.shape[2:]
    macs = out[0].size * conv.params["w"][0].size
    assert macs == K * Ho * Wo * (C // g) * HH * WW


def test_terms_counted_with_ones():
    """All ones, no padding: every sum is its number of terms, and the
    forward pass, dL/dX and dL/dF have as many."""
    x1, w1 = np.ones((2, 4, 7, 6)), np.ones((6, 2, 3, 2))
    out1 = cnnbp.conv2d(x1, w1, groups=2)
    dx1, dw1, _ = cnnbp.conv2d_backward(np.ones(out1.shape), x1, w1,
                                        groups=2)
    N, K, Ho, Wo = out1.shape
    n = N * K * Ho * Wo * 2 * 3 * 2
    assert out1.sum() == dx1.sum() == dw1.sum() == n


def test_separable_ratio():
    C, K, k = 64, 128, 3
    std = layers.Conv2d(C, K, k, padding=1)
    dw = layers.Conv2d(C, C, k, padding=1, groups=C)
    pw = layers.Conv2d(C, K, 1)
    x = np.zeros((1, C, 28, 28))

    def macs(layer, x):
        out = layer.forward(x)
        return out[0].size * layer.params["w"][0].size, out
    m_std, _ = macs(std, x)
    m_dw, h = macs(dw, x)
    m_pw, _ = macs(pw, h)
    assert (m_dw + m_pw) / m_std == pytest.approx(1 / K + 1 / k ** 2,
                                                  rel=1e-12)
    ratio = (dw.params["w"].size + pw.params["w"].size) / std.params[
        "w"].size
    assert ratio == pytest.approx(1 / K + 1 / k ** 2, rel=1e-12)


def test_figure_links():
    """g groups keep C K / g of the C K channel-filter links."""
    for C, K, g in [(4, 6, 1), (4, 6, 2), (4, 4, 4), (4, 8, 4)]:
        x, w = np.ones((1, C, 1, 1)), np.ones((K, C // g, 1, 1))
        links = 0
        for f in range(K):
            dout = np.zeros((1, K, 1, 1))
            dout[0, f] = 1.0
            dx = cnnbp.conv2d_backward(dout, x, w, groups=g)[0]
            reached = np.nonzero(dx[0, :, 0, 0])[0]
            gamma = f // (K // g)
            np.testing.assert_array_equal(
                reached, np.arange(gamma * C // g, (gamma + 1) * C // g))
            links += reached.size
        assert links == C * K // g


@pytest.mark.parametrize("variant, blind_on_depthwise", [
    (checks.dx_interleaved, True), (checks.dx_last_filter, True),
    (checks.dx_first_block, False), (checks.dx_all_channels, False)])
def test_which_mistakes_a_depthwise_test_misses(variant,
                                                blind_on_depthwise):
    x, w, b, dout, s, p, d, g = make(((2, 4, 7, 6), (4, 2, 3, 2), 2, 1, 1,
                                      2), 8)
    right = cnnbp.conv2d_backward(dout, x, w, s, p, d, groups=g)[0]
    got = variant(dout, x, w, s, p, d, g)
    assert gradcheck.rel_error(got, right) > 1e-2
    x, w, b, dout, s, p, d, g = make(((2, 3, 6, 5), (3, 1, 3, 3), 1, 1, 1,
                                      3), 9)
    right = cnnbp.conv2d_backward(dout, x, w, s, p, d, groups=g)[0]
    got = variant(dout, x, w, s, p, d, g)
    assert (gradcheck.rel_error(got, right) < 1e-12) is blind_on_depthwise
