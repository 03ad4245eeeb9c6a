"""Layer objects: gradient checks, caching, optimisers, seeding."""

import numpy as np
import pytest

import cnnbp
from cnnbp.gradcheck import numerical_gradient, rel_error
from cnnbp.layers import (
    SGD,
    Adam,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    SoftmaxCrossEntropy,
)

TOL = 1e-7


def small_model(rng=0):
    gen = np.random.default_rng(rng)
    return Sequential(
        Conv2d(2, 3, (3, 2), stride=(1, 2), padding=(1, 0), rng=gen),
        ReLU(),
        MaxPool2d(2, 1),
        Conv2d(3, 4, 2, dilation=2, padding=1, rng=gen),
        ReLU(),
        Flatten(),
        Linear(4 * 6 * 3, 5, rng=gen),
    )


def data(rng=1, N=3):
    gen = np.random.default_rng(rng)
    return gen.standard_normal((N, 2, 7, 8)), gen.integers(0, 5, N)


def test_model_output_shape_and_repr():
    model = small_model()
    x, _ = data()
    assert model.forward(x).shape == (3, 5)
    assert "Conv2d(2, 3, kernel_size=(3, 2)" in repr(model)


def test_whole_model_gradient_check_every_parameter():
    model, loss_fn = small_model(), SoftmaxCrossEntropy()
    x, y = data()

    def loss_at(arr, layer=None, name=None):
        if layer is not None:
            saved = layer.params[name]
            layer.params[name] = arr
        loss = loss_fn.forward(model.forward(x if layer else arr), y)
        if layer is not None:
            layer.params[name] = saved
        return loss

    loss_fn.forward(model.forward(x), y)
    dx = model.backward(loss_fn.backward())
    assert rel_error(dx, numerical_gradient(loss_at, x)) < TOL
    params = model.parameters()
    assert len(params) == 6
    for layer, name in params:
        analytic = layer.grads[name]
        assert analytic.shape == layer.params[name].shape
        numeric = numerical_gradient(
            lambda t: loss_at(t, layer, name), layer.params[name])
        assert rel_error(analytic, numeric) < TOL, (layer, name)


def test_conv_layer_matches_functions():
    layer = Conv2d(2, 3, 3, stride=2, padding=1, rng=5)
    layer.params["b"][:] = [0.5, -1.0, 2.0]
    x = np.random.default_rng(6).standard_normal((2, 2, 7, 6))
    w, b = layer.params["w"], layer.params["b"]
    out = layer.forward(x)
    np.testing.assert_allclose(out, cnnbp.conv2d(x, w, b, 2, 1))
    dout = np.random.default_rng(7).standard_normal(out.shape)
    dx = layer.backward(dout)
    ref = cnnbp.conv2d_backward(dout, x, w, 2, 1)
    for got, want in zip((dx, layer.grads["w"], layer.grads["b"]), ref):
        np.testing.assert_allclose(got, want, atol=1e-12)


def test_pool_and_relu_layers_match_functions():
    x = np.random.default_rng(8).standard_normal((2, 3, 6, 7))
    pool = MaxPool2d(3, 2)
    out = pool.forward(x)
    np.testing.assert_array_equal(out, cnnbp.maxpool2d(x, 3, 2))
    dout = np.ones_like(out)
    np.testing.assert_array_equal(pool.backward(dout),
                                  cnnbp.maxpool2d_backward(dout, x, 3, 2))
    relu = ReLU()
    np.testing.assert_array_equal(relu.forward(x), cnnbp.relu(x))
    np.testing.assert_array_equal(relu.backward(x),
                                  cnnbp.relu_backward(x, x))


def test_softmax_cross_entropy_values_and_gradient():
    loss_fn = SoftmaxCrossEntropy()
    scores = np.zeros((4, 10))
    assert np.isclose(loss_fn.forward(scores, np.arange(4)), np.log(10))
    rng = np.random.default_rng(9)
    scores = 50 * rng.standard_normal((4, 3))
    y = np.array([0, 2, 1, 2])
    loss_fn.forward(scores, y)
    analytic = loss_fn.backward()
    numeric = numerical_gradient(lambda s: loss_fn.forward(s, y), scores)
    assert rel_error(analytic, numeric) < TOL
    np.testing.assert_allclose(analytic.sum(axis=1), 0, atol=1e-12)


def test_linear_layer_shapes():
    layer = Linear(6, 4, rng=0)
    assert layer.params["w"].shape == (4, 6)
    out = layer.forward(np.ones((3, 6)))
    assert out.shape == (3, 4)
    dx = layer.backward(np.ones((3, 4)))
    assert dx.shape == (3, 6)
    np.testing.assert_array_equal(layer.grads["b"], 3.0)


def test_seeded_initialisation():
    a, b = small_model(rng=3), small_model(rng=3)
    for (la, name), (lb, _) in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(la.params[name], lb.params[name])
    c = small_model(rng=4)
    assert not np.array_equal(a.layers[0].params["w"],
                              c.layers[0].params["w"])
    gen = np.random.default_rng(0)
    l1, l2 = Conv2d(1, 2, 3, rng=gen), Conv2d(1, 2, 3, rng=gen)
    assert not np.array_equal(l1.params["w"], l2.params["w"])


def test_he_initialisation_scale():
    layer = Conv2d(16, 64, 3, rng=0)
    assert np.isclose(layer.params["w"].std(), np.sqrt(2 / 144), rtol=0.05)
    np.testing.assert_array_equal(layer.params["b"], 0)


def test_float32_layers_stay_float32():
    gen = np.random.default_rng(0)
    model = Sequential(Conv2d(1, 2, 3, padding=1, rng=gen,
                              dtype=np.float32), ReLU(), MaxPool2d(2),
                       Flatten(), Linear(2 * 2 * 2, 3, rng=gen,
                                         dtype=np.float32))
    x = np.ones((2, 1, 4, 4), np.float32)
    out = model.forward(x)
    assert out.dtype == np.float32
    assert model.backward(np.ones_like(out)).dtype == np.float32


def test_backward_before_forward_and_bad_shapes():
    with pytest.raises(ValueError, match="before forward"):
        Conv2d(1, 1, 1).backward(np.zeros((1, 1, 1, 1)))
    with pytest.raises(ValueError, match="before forward"):
        SoftmaxCrossEntropy().backward()
    conv = Conv2d(3, 2, 3)
    with pytest.raises(ValueError, match=r"channel mismatch.*\(1, 2, 5, 5\)"):
        conv.forward(np.zeros((1, 2, 5, 5)))
    conv.forward(np.zeros((1, 3, 5, 5)))
    with pytest.raises(ValueError, match=r"\(1, 2, 2, 2\).*\(1, 2, 3, 3\)"):
        conv.backward(np.zeros((1, 2, 2, 2)))
    with pytest.raises(ValueError, match=r"\(2, 5\).*\(N, 6\)"):
        Linear(6, 2).forward(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"shape \(N,\) = \(2,\)"):
        SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.zeros(2))
    with pytest.raises(ValueError, match="in_channels"):
        Conv2d(0, 1, 3)
    with pytest.raises(ValueError, match="kernel_size must be an integer"):
        Conv2d(1, 1, 2.5)


def quadratic_model():
    layer = Linear(2, 1, rng=0)
    layer.params["w"][:] = [[3.0, -2.0]]
    return Sequential(layer), layer


def run_optimiser(opt_cls, steps, **kwargs):
    """Minimise 0.5 * ||w||^2 (gradient w) with the given optimiser."""
    model, layer = quadratic_model()
    opt = opt_cls(model, **kwargs)
    for _ in range(steps):
        layer.grads["w"] = layer.params["w"].copy()
        layer.grads["b"] = np.zeros(1)
        opt.step()
    return layer.params["w"]


def test_sgd_plain_and_momentum():
    w = run_optimiser(SGD, 1, lr=0.1, momentum=0.0)
    np.testing.assert_allclose(w, [[2.7, -1.8]])
    # momentum: v1 = -0.1 g0, v2 = 0.9 v1 - 0.1 g1
    w = run_optimiser(SGD, 2, lr=0.1, momentum=0.9)
    w1 = np.array([[3.0, -2.0]]) * 0.9
    v2 = 0.9 * (-0.1 * np.array([[3.0, -2.0]])) - 0.1 * w1
    np.testing.assert_allclose(w, w1 + v2)
    assert np.abs(run_optimiser(SGD, 200, lr=0.1)).max() < 1e-3


def test_adam_first_step_is_lr_times_sign():
    w = run_optimiser(Adam, 1, lr=0.01)
    np.testing.assert_allclose(w, [[2.99, -1.99]], rtol=1e-6)
    assert np.abs(run_optimiser(Adam, 2000, lr=0.05)).max() < 1e-2


def test_nested_sequential_parameters():
    inner = Sequential(Linear(3, 3, rng=0), ReLU())
    model = Sequential(inner, Linear(3, 2, rng=1))
    assert len(model.parameters()) == 4
    out = model.forward(np.ones((2, 3)))
    assert model.backward(np.ones_like(out)).shape == (2, 3)
    assert model.predict(np.ones((5, 3))).shape == (5,)
