"""Batch norm: naive == fast, finite differences, PyTorch (functional
training mode and the layer's running statistics), bad input."""

import numpy as np
import pytest

import cnnbp
from cnnbp import naive
from cnnbp.gradcheck import numerical_gradient, rel_error
from cnnbp.layers import BatchNorm2d

TOL = 1e-7
SHAPES = [(3, 4, 2, 5), (2, 3, 3, 1), (5, 2, 1, 1), (1, 3, 2, 4)]


def case(k):
    rng = np.random.default_rng(k)
    x = 3.0 * rng.standard_normal(SHAPES[k]) + rng.standard_normal(
        (1, SHAPES[k][1], 1, 1))
    C = SHAPES[k][1]
    return x, rng.standard_normal(C), rng.standard_normal(C)


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("k", range(len(SHAPES)))
def test_naive_equals_fast(k):
    x, gamma, beta = case(k)
    out = naive.batchnorm2d(x, gamma, beta)
    np.testing.assert_allclose(cnnbp.batchnorm2d(x, gamma, beta), out,
                               atol=1e-13)
    dout = np.random.default_rng(10 + k).standard_normal(x.shape)
    for s, f, arr in zip(naive.batchnorm2d_backward(dout, x, gamma),
                         cnnbp.batchnorm2d_backward(dout, x, gamma),
                         (x, gamma, beta)):
        assert s.shape == f.shape == arr.shape
        np.testing.assert_allclose(f, s, atol=1e-12)


@pytest.mark.parametrize("k", range(len(SHAPES)))
@pytest.mark.parametrize("twin", [naive, cnnbp], ids=["naive", "fast"])
def test_finite_differences(twin, k):
    x, gamma, beta = case(k)
    dout = np.random.default_rng(20 + k).standard_normal(x.shape)
    dx, dgamma, dbeta = twin.batchnorm2d_backward(dout, x, gamma)
    fwd = cnnbp.batchnorm2d
    assert rel_error(dx, numerical_gradient(
        lambda t: fwd(t, gamma, beta), x, dout)) < TOL
    assert rel_error(dgamma, numerical_gradient(
        lambda t: fwd(x, t, beta), gamma, dout)) < TOL
    assert rel_error(dbeta, numerical_gradient(
        lambda t: fwd(x, gamma, t), beta, dout)) < TOL


@pytest.mark.parametrize("k", range(len(SHAPES)))
def test_matches_pytorch_training_mode(torch, k):
    x, gamma, beta = case(k)
    tx, tg, tb = (torch.tensor(a, requires_grad=True)
                  for a in (x, gamma, beta))
    ref = torch.nn.functional.batch_norm(tx, None, None, tg, tb,
                                         training=True, eps=1e-3)
    out = cnnbp.batchnorm2d(x, gamma, beta, eps=1e-3)
    np.testing.assert_allclose(out, ref.detach().numpy(), atol=1e-12)
    dout = np.random.default_rng(30 + k).standard_normal(x.shape)
    ref.backward(torch.tensor(dout))
    for got, want in zip(cnnbp.batchnorm2d_backward(dout, x, gamma, 1e-3),
                         (tx.grad, tg.grad, tb.grad)):
        np.testing.assert_allclose(got, want.numpy(), atol=1e-11)


def test_output_is_normalised_and_gradient_orthogonal():
    x, gamma, beta = case(0)
    xhat = cnnbp.batchnorm2d(x, np.ones(4), np.zeros(4), eps=1e-12)
    np.testing.assert_allclose(xhat.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(xhat.var(axis=(0, 2, 3)), 1, atol=1e-9)
    dout = np.random.default_rng(40).standard_normal(x.shape)
    dx, _, _ = cnnbp.batchnorm2d_backward(dout, x, gamma, eps=1e-12)
    # shifting or scaling a channel's inputs changes nothing downstream
    np.testing.assert_allclose(dx.sum(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose((dx * xhat).sum(axis=(0, 2, 3)), 0,
                               atol=1e-9)


def test_layer_running_statistics_match_pytorch(torch):
    rng = np.random.default_rng(50)
    ours = BatchNorm2d(3, eps=1e-4, momentum=0.2)
    ref = torch.nn.BatchNorm2d(3, eps=1e-4, momentum=0.2).double()
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    ours.params["gamma"][:], ours.params["beta"][:] = gamma, beta
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(gamma))
        ref.bias.copy_(torch.tensor(beta))
    for step in range(3):
        x = 2.0 * rng.standard_normal((4, 3, 3, 2)) + step
        tx = torch.tensor(x, requires_grad=True)
        out, want = ours.forward(x), ref(tx)
        np.testing.assert_allclose(out, want.detach().numpy(), atol=1e-12)
        dout = rng.standard_normal(x.shape)
        want.backward(torch.tensor(dout))
        np.testing.assert_allclose(ours.backward(dout), tx.grad.numpy(),
                                   atol=1e-11)
    np.testing.assert_allclose(ours.running_mean,
                               ref.running_mean.numpy(), atol=1e-14)
    np.testing.assert_allclose(ours.running_var, ref.running_var.numpy(),
                               atol=1e-14)
    ours.eval()
    ref.eval()
    ref.weight.grad = None
    x = rng.standard_normal((2, 3, 2, 2))
    tx = torch.tensor(x, requires_grad=True)
    out, want = ours.forward(x), ref(tx)
    np.testing.assert_allclose(out, want.detach().numpy(), atol=1e-12)
    dout = rng.standard_normal(x.shape)
    want.backward(torch.tensor(dout))
    np.testing.assert_allclose(ours.backward(dout), tx.grad.numpy(),
                               atol=1e-12)
    np.testing.assert_allclose(ours.grads["gamma"], ref.weight.grad.numpy(),
                               atol=1e-12)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_layer_finite_differences(training):
    rng = np.random.default_rng(60)
    layer = BatchNorm2d(2)
    layer.forward(rng.standard_normal((5, 2, 3, 3)) + 4.0)
    layer.params["gamma"][:] = rng.standard_normal(2)
    layer.params["beta"][:] = rng.standard_normal(2)
    layer.train(training)
    x = rng.standard_normal((2, 2, 3, 4))
    dout = rng.standard_normal(x.shape)
    layer.forward(x)
    dx = layer.backward(dout)
    stats = (layer.running_mean.copy(), layer.running_var.copy())

    def run(t, name=None):
        layer.running_mean[:], layer.running_var[:] = stats
        if name is None:
            return layer.forward(t)
        saved, layer.params[name] = layer.params[name], t
        out = layer.forward(x)
        layer.params[name] = saved
        return out

    assert rel_error(dx, numerical_gradient(run, x, dout)) < TOL
    for name in ("gamma", "beta"):
        assert rel_error(layer.grads[name], numerical_gradient(
            lambda t: run(t, name), layer.params[name], dout)) < TOL


def test_float32_stays_float32():
    x, gamma, beta = (a.astype(np.float32) for a in case(0))
    assert cnnbp.batchnorm2d(x, gamma, beta).dtype == np.float32
    grads = cnnbp.batchnorm2d_backward(np.ones_like(x), x, gamma)
    assert all(g.dtype == np.float32 for g in grads)


X = np.zeros((2, 3, 4, 5))
G = np.ones(3)
BAD = [
    ("gamma length", lambda t: t.batchnorm2d(X, np.ones(2), G),
     r"gamma must have shape \(C,\) = \(3,\) for x of shape "
     r"\(2, 3, 4, 5\), got shape \(2,\)"),
    ("beta length", lambda t: t.batchnorm2d(X, G, np.ones((3, 1))),
     r"beta must have shape \(C,\) = \(3,\).*got shape \(3, 1\)"),
    ("backward gamma length", lambda t: t.batchnorm2d_backward(
        X, X, np.ones(4)), r"gamma must have shape.*got shape \(4,\)"),
    ("one value per channel", lambda t: t.batchnorm2d(
        X[:1, :, :1, :1], G, G),
     r"more than 1 value per channel.*\(1, 3, 1, 1\), N\*H\*W = 1"),
    ("eps zero", lambda t: t.batchnorm2d(X, G, G, eps=0),
     r"eps must be a number > 0, got 0"),
    ("x rank", lambda t: t.batchnorm2d(X[0], G, G),
     r"x must be 4-D.*\(3, 4, 5\)"),
    ("dout shape", lambda t: t.batchnorm2d_backward(X[:1], X, G),
     r"dout has shape \(1, 3, 4, 5\).*\(2, 3, 4, 5\)"),
]


@pytest.mark.parametrize("twin", [naive, cnnbp], ids=["naive", "fast"])
@pytest.mark.parametrize("name, call, pattern", BAD,
                         ids=[c[0] for c in BAD])
def test_bad_input_raises_value_error_naming_shapes(twin, name, call,
                                                    pattern):
    with pytest.raises(ValueError, match=pattern):
        call(twin)


def test_layer_bad_input():
    layer = BatchNorm2d(3)
    with pytest.raises(ValueError, match=r"gamma must have shape.*\(2,\)"):
        layer.forward(np.zeros((2, 2, 3, 3)))
    layer.eval()
    with pytest.raises(ValueError, match=r"\(2, 2, 3, 3\).*C = 3"):
        layer.forward(np.zeros((2, 2, 3, 3)))
    with pytest.raises(ValueError, match="num_features must be >= 1"):
        BatchNorm2d(0)


@pytest.mark.parametrize("groups, bias", [(1, True), (1, False), (3, True)])
def test_fold_batchnorm_equals_conv_then_eval_norm(groups, bias):
    """conv2d(x, *fold) == BatchNorm2d.eval()(Conv2d(x)), any stride,
    padding, dilation and groups; trained running statistics."""
    from cnnbp.layers import BatchNorm2d, Conv2d

    rng = np.random.default_rng(groups + 2 * bias)
    hyper = dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2))
    conv = Conv2d(3, 6, (3, 2), groups=groups, bias=bias, rng=rng, **hyper)
    if bias:
        conv.params["b"][:] = rng.standard_normal(6)
    norm = BatchNorm2d(6, eps=1e-3)
    norm.params["gamma"][:] = rng.uniform(-2, 2, 6)
    norm.params["beta"][:] = rng.standard_normal(6)
    for _ in range(3):  # running statistics of a few training batches
        norm.forward(conv.forward(3 * rng.standard_normal((4, 3, 7, 9))
                                  + 1))
    norm.eval()
    x = rng.standard_normal((2, 3, 7, 9))
    want = norm.forward(conv.forward(x))
    w, b = cnnbp.fold_batchnorm(
        conv.params["w"], conv.params.get("b"), norm.params["gamma"],
        norm.params["beta"], norm.running_mean, norm.running_var, eps=1e-3)
    got = cnnbp.conv2d(x, w, b, groups=groups, **hyper)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert not np.allclose(norm.running_mean, 0)


def test_fold_batchnorm_names_bad_shapes():
    w = np.ones((4, 2, 3, 3))
    good = [np.ones(4)] * 4
    with pytest.raises(ValueError, match=r"gamma has shape \(3,\).*\(4,\)"):
        cnnbp.fold_batchnorm(w, None, np.ones(3), *good[1:])
    with pytest.raises(ValueError, match=r"b has shape \(2,\)"):
        cnnbp.fold_batchnorm(w, np.ones(2), *good)
    with pytest.raises(ValueError, match="w must have shape"):
        cnnbp.fold_batchnorm(np.ones((4, 3)), None, *good)
