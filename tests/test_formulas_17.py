"""Claims of book/17_batchnorm_residual.ipynb, checked against cnnbp,
finite differences and PyTorch on random, non-square configurations."""
import numpy as np
import pytest

import cnnbp
from cnnbp import gradcheck, layers, naive
from cnnbp.exercises import batchnorm as checks
from cnnbp.gradcheck import TOLERANCE

EPS = 1e-5
SHAPES = [(2, 3, 4, 5), (3, 2, 1, 1), (1, 4, 3, 2), (4, 1, 2, 5)]


def make(shape, seed):
    rng = np.random.default_rng(seed)
    x = 3.0 * rng.standard_normal(shape) + rng.uniform(-5, 5)
    gamma = rng.uniform(0.5, 2.0, shape[1]) * rng.choice([-1, 1], shape[1])
    beta = rng.standard_normal(shape[1])
    dout = rng.standard_normal(shape)
    return x, gamma, beta, dout


def forward_formula(x, gamma, beta, eps=EPS):
    """eq-bn-forward, channel by channel."""
    out = np.zeros(x.shape)
    for c in range(x.shape[1]):
        values = x[:, c]
        M = values.size
        mu = values.sum() / M
        var = ((values - mu) ** 2).sum() / M
        out[:, c] = gamma[c] * (values - mu) / np.sqrt(var + eps) + beta[c]
    return out


def node_by_node(dout, x, gamma, eps=EPS):
    """eq-bn-nodes per channel: the three paths, returned separately."""
    direct, via_var, via_mu = (np.zeros(x.shape) for _ in range(3))
    for c in range(x.shape[1]):
        v, G = x[:, c], dout[:, c]
        M = v.size
        mu = v.mean()
        xc = v - mu
        var = (xc ** 2).mean()
        istd = 1 / np.sqrt(var + eps)
        d_xhat = gamma[c] * G
        d_var = np.sum(d_xhat * xc) * -0.5 * istd ** 3
        d_mu = -np.sum(d_xhat * istd) + d_var * -2.0 / M * xc.sum()
        direct[:, c] = d_xhat * istd
        via_var[:, c] = d_var * 2 * xc / M
        via_mu[:, c] = d_mu / M
    return direct, via_var, via_mu


def compact(dout, x, gamma, eps=EPS):
    """eq-bn-compact, as the chapter's bn_backward."""
    axes = (0, 2, 3)
    M = x.size // x.shape[1]
    mu = x.mean(axis=axes, keepdims=True)
    std = np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    xhat = (x - mu) / std
    dgamma = (dout * xhat).sum(axis=axes)
    dbeta = dout.sum(axis=axes)
    dx = gamma[None, :, None, None] / (M * std) * (
        M * dout - dbeta[None, :, None, None]
        - xhat * dgamma[None, :, None, None])
    return dx, dgamma, dbeta


def torch_batchnorm(x, gamma, beta, dout, eps=EPS):
    torch = pytest.importorskip("torch")
    tx, tg, tb = (torch.tensor(a, requires_grad=True)
                  for a in (x, gamma, beta))
    out = torch.nn.functional.batch_norm(tx, None, None, tg, tb,
                                         training=True, eps=eps)
    (out * torch.tensor(dout)).sum().backward()
    return out.detach().numpy(), (tx.grad.numpy(), tg.grad.numpy(),
                                  tb.grad.numpy())


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_forward_formula(shape):
    x, gamma, beta, dout = make(shape, 0)
    out = forward_formula(x, gamma, beta)
    np.testing.assert_allclose(out, cnnbp.batchnorm2d(x, gamma, beta),
                               atol=1e-12)
    torch_out, _ = torch_batchnorm(x, gamma, beta, dout)
    np.testing.assert_allclose(out, torch_out, atol=1e-10)
    xhat = (out - beta[None, :, None, None]) / gamma[None, :, None, None]
    var = x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(xhat.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(xhat.var(axis=(0, 2, 3)), var / (var + EPS),
                               atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_node_by_node_and_compact_formula(shape):
    x, gamma, beta, dout = make(shape, 1)
    paths = node_by_node(dout, x, gamma)
    dx_c, dgamma, dbeta = compact(dout, x, gamma)
    np.testing.assert_allclose(sum(paths), dx_c, atol=1e-10)
    num = [gradcheck.numerical_gradient(
        lambda v: cnnbp.batchnorm2d(v, gamma, beta), x, dout),
        gradcheck.numerical_gradient(
        lambda v: cnnbp.batchnorm2d(x, v, beta), gamma, dout),
        gradcheck.numerical_gradient(
        lambda v: cnnbp.batchnorm2d(x, gamma, v), beta, dout)]
    _, by_torch = torch_batchnorm(x, gamma, beta, dout)
    for got, n, t, fast, loops in zip(
            (dx_c, dgamma, dbeta), num, by_torch,
            cnnbp.batchnorm2d_backward(dout, x, gamma),
            naive.batchnorm2d_backward(dout, x, gamma)):
        assert gradcheck.rel_error(got, n) < TOLERANCE
        np.testing.assert_allclose(got, t, atol=1e-9)
        np.testing.assert_allclose(got, fast, atol=1e-10)
        np.testing.assert_allclose(got, loops, atol=1e-10)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_substituted_path_terms(shape):
    """The three substituted terms of the compact derivation."""
    x, gamma, _, dout = make(shape, 2)
    direct, via_var, via_mu = node_by_node(dout, x, gamma)
    axes = (0, 2, 3)
    M = x.size // x.shape[1]
    std = np.sqrt(x.var(axis=axes, keepdims=True) + EPS)
    xhat = (x - x.mean(axis=axes, keepdims=True)) / std
    g = gamma[None, :, None, None]
    np.testing.assert_allclose(direct, g * dout / std, atol=1e-12)
    np.testing.assert_allclose(
        via_var, -g * xhat / (M * std)
        * (dout * xhat).sum(axis=axes, keepdims=True), atol=1e-12)
    np.testing.assert_allclose(
        via_mu, np.broadcast_to(
            -g / (M * std) * dout.sum(axis=axes, keepdims=True), x.shape),
        atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_gradient_sums_to_zero_and_eps_sized_projection(shape):
    x, gamma, _, dout = make(shape, 3)
    dx = cnnbp.batchnorm2d_backward(dout, x, gamma)[0]
    axes = (0, 2, 3)
    np.testing.assert_allclose(dx.sum(axis=axes), 0, atol=1e-10)
    var = x.var(axis=axes)
    xhat = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(
        var + EPS)[None, :, None, None]
    expected = gamma * EPS * (dout * xhat).sum(axis=axes) / (
        var + EPS) ** 1.5
    np.testing.assert_allclose((dx * xhat).sum(axis=axes), expected,
                               rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose((xhat ** 2).sum(axis=axes),
                               x[:, 0].size * var / (var + EPS))


def test_small_example_numbers():
    xs = np.array([-1.0, 2.0, 5.0]).reshape(3, 1, 1, 1)
    gs = np.array([1.0, -2.0, 0.5]).reshape(3, 1, 1, 1)
    gamma = np.array([2.0])
    assert xs.mean() == 2 and xs.var() == 6
    direct, via_var, via_mu = node_by_node(gs, xs, gamma)
    dx, dgamma, dbeta = cnnbp.batchnorm2d_backward(gs, xs, gamma)
    np.testing.assert_allclose(direct + via_var + via_mu, dx, atol=1e-12)
    assert via_var[1] == 0 and np.ptp(via_mu) == 0
    np.testing.assert_allclose(dx.ravel(), [0.7485, -1.4969, 0.7485],
                               atol=1e-4)
    np.testing.assert_allclose(dgamma, -1.5 / np.sqrt(6 + 1e-5),
                               rtol=1e-12)
    assert dbeta[0] == -0.5


def test_residual_gradient_adds():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    C = 3
    body = layers.Sequential(
        layers.Conv2d(C, C, 3, padding=1, rng=1), layers.BatchNorm2d(C),
        layers.ReLU(), layers.Conv2d(C, C, (3, 1), padding=(1, 0), rng=2),
        layers.BatchNorm2d(C))
    block = layers.Add(body)
    x = rng.standard_normal((2, C, 5, 4))
    dout = rng.standard_normal(x.shape)
    block.forward(x)
    dx = block.backward(dout)
    body.forward(x)
    np.testing.assert_allclose(dx, body.backward(dout) + dout,
                               atol=1e-12)
    num = gradcheck.numerical_gradient(block.forward, x, dout)
    assert gradcheck.rel_error(dx, num) < TOLERANCE
    assert gradcheck.rel_error(dx - dout, num) > 1e-2
    # the same block in PyTorch
    tb = torch.nn.Sequential(
        torch.nn.Conv2d(C, C, 3, padding=1), torch.nn.BatchNorm2d(C),
        torch.nn.ReLU(), torch.nn.Conv2d(C, C, (3, 1), padding=(1, 0)),
        torch.nn.BatchNorm2d(C)).double()
    with torch.no_grad():
        for t, ours in [(tb[0], body.layers[0]), (tb[3], body.layers[3])]:
            t.weight.copy_(torch.tensor(ours.params["w"]))
            t.bias.copy_(torch.tensor(ours.params["b"]))
    tx = torch.tensor(x, requires_grad=True)
    (tb(tx) + tx).backward(torch.tensor(dout))
    np.testing.assert_allclose(dx, tx.grad.numpy(), atol=1e-10)


def test_projection_shortcut_and_bias_before_batchnorm():
    rng = np.random.default_rng(5)
    body = layers.Sequential(
        layers.Conv2d(2, 4, 3, stride=2, padding=1, rng=3),
        layers.BatchNorm2d(4), layers.ReLU(),
        layers.Conv2d(4, 4, 3, padding=1, rng=4), layers.BatchNorm2d(4))
    shortcut = layers.Sequential(layers.Conv2d(2, 4, 1, stride=2, rng=5),
                                 layers.BatchNorm2d(4))
    proj = layers.Add(body, shortcut)
    x = rng.standard_normal((2, 2, 6, 5))
    dout = rng.standard_normal(proj.forward(x).shape)
    dx = proj.backward(dout)
    body.forward(x)
    shortcut.forward(x)
    np.testing.assert_allclose(
        dx, body.backward(dout) + shortcut.backward(dout), atol=1e-12)
    assert gradcheck.rel_error(dx, gradcheck.numerical_gradient(
        proj.forward, x, dout)) < TOLERANCE
    proj.forward(x)
    proj.backward(dout)
    for layer, name in proj.parameters():
        if isinstance(layer, layers.Conv2d) and name == "b":
            assert np.abs(layer.grads[name]).max() < 1e-12


@pytest.mark.parametrize("variant, blind_at_n1", [
    (checks.dx_constants, False), (checks.dx_no_mean_path, False),
    (checks.dx_no_var_path, False), (checks.dx_per_sample, True)])
def test_mistakes_and_the_single_sample_blind_spot(variant, blind_at_n1):
    for shape, blind in [((1, 2, 3, 4), blind_at_n1),
                         ((3, 2, 3, 4), False)]:
        x, gamma, _, dout = make(shape, 6)
        right = cnnbp.batchnorm2d_backward(dout, x, gamma)[0]
        err = gradcheck.rel_error(variant(dout, x, gamma), right)
        assert (err < 1e-12) if blind else (err > 1e-2)


def test_per_position_statistics_blind_on_single_pixels():
    x, gamma, _, dout = make((5, 2, 1, 1), 7)
    right = cnnbp.batchnorm2d_backward(dout, x, gamma)[0]
    assert gradcheck.rel_error(
        checks.dx_per_position(dout, x, gamma), right) < 1e-12


def test_residual_stack_passes_gradient_plain_stack_kills_it():
    x = -np.ones((1, 2, 3, 3))
    dout = np.arange(18.0).reshape(x.shape)
    stack = layers.Sequential(*[layers.Add(layers.ReLU())
                                for _ in range(4)])
    plain = layers.Sequential(*[layers.ReLU() for _ in range(4)])
    stack.forward(x)
    plain.forward(x)
    np.testing.assert_array_equal(stack.backward(dout), dout)
    assert not plain.backward(dout).any()
