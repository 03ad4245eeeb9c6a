"""Part II layers: a small modern CNN gradient-checked and compared with
PyTorch; grouped, transposed, pooling, batch-norm and residual layers."""

import numpy as np
import pytest

import cnnbp
from cnnbp.gradcheck import numerical_gradient, rel_error
from cnnbp.layers import (
    Add,
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    ConvTranspose2d,
    Flatten,
    GlobalAvgPool2d,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    SoftmaxCrossEntropy,
)
from cnnbp.training import check_model_gradients

TOL = 1e-7


def modern_model(seed=0):
    """conv-BN-ReLU, a residual depthwise-separable block, padded pools,
    a grouped convolution, global average pooling."""
    gen = np.random.default_rng(seed)
    return Sequential(
        Conv2d(2, 4, 3, padding=1, rng=gen), BatchNorm2d(4), ReLU(),
        Add(Sequential(
            Conv2d(4, 4, 3, padding=1, rng=gen, groups=4), BatchNorm2d(4),
            ReLU(), Conv2d(4, 4, 1, rng=gen), BatchNorm2d(4))),
        ReLU(),
        MaxPool2d(3, 2, padding=1, ceil_mode=True),
        Conv2d(4, 6, (2, 3), padding=(1, 0), rng=gen, groups=2),
        AvgPool2d(2, 1, padding=1, count_include_pad=False),
        GlobalAvgPool2d(), Flatten(), Linear(6, 5, rng=gen))


def randomise_norms(model, seed):
    """Non-trivial gamma and beta, so their gradients are tested too."""
    rng = np.random.default_rng(seed)
    for layer, name in model.parameters():
        if isinstance(layer, BatchNorm2d):
            layer.params[name][:] = rng.uniform(0.5, 1.5, 4) * (
                1 if name == "gamma" else rng.choice([-1, 1], 4))
    return model


def data(seed=1, N=4):
    gen = np.random.default_rng(seed)
    return gen.standard_normal((N, 2, 7, 6)), gen.integers(0, 5, N)


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def test_modern_model_gradient_check():
    model, loss_fn = randomise_norms(modern_model(), 2), SoftmaxCrossEntropy()
    x, y = data()
    report = check_model_gradients(model, loss_fn, x, y)
    assert len(report) == 16
    # A bias right before a batch norm is subtracted again with the mean:
    # its gradient is zero (up to rounding), finite differences noise.
    before_norm = {1, 5, 9}
    for k, (label, shape, err) in enumerate(report):
        if k in before_norm:
            layer, name = model.parameters()[k]
            assert name == "b" and np.abs(layer.grads["b"]).max() < 1e-12
        else:
            assert err < TOL, (label, shape, err)
    loss_fn.forward(model.forward(x), y)
    dx = model.backward(loss_fn.backward())
    ndx = numerical_gradient(lambda t: loss_fn.forward(model.forward(t), y),
                             x)
    assert rel_error(dx, ndx) < TOL


def torch_twin(torch, model):
    """The same network in PyTorch, with model's weights copied in."""
    nn, F = torch.nn, torch.nn.functional
    mods = nn.ModuleList([
        nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4),
        nn.Conv2d(4, 4, 3, padding=1, groups=4), nn.BatchNorm2d(4),
        nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4),
        nn.Conv2d(4, 6, (2, 3), padding=(1, 0), groups=2),
        nn.Linear(6, 5)]).double()
    theirs = list(mods.parameters())
    ours = model.parameters()
    assert len(theirs) == len(ours)
    with torch.no_grad():
        for t, (layer, name) in zip(theirs, ours):
            t.copy_(torch.tensor(layer.params[name]))

    def forward(x):
        c1, b1, dw, b2, pw, b3, c2, fc = mods
        x = F.relu(b1(c1(x)))
        x = F.relu(x + b3(pw(F.relu(b2(dw(x))))))
        x = F.max_pool2d(x, 3, 2, 1, ceil_mode=True)
        x = F.avg_pool2d(c2(x), 2, 1, 1, count_include_pad=False)
        return fc(F.adaptive_avg_pool2d(x, 1).flatten(1))

    return mods, forward


def test_modern_model_matches_pytorch(torch):
    model, loss_fn = randomise_norms(modern_model(), 3), SoftmaxCrossEntropy()
    mods, forward = torch_twin(torch, model)
    x, y = data(4, N=5)
    tx = torch.tensor(x, requires_grad=True)
    scores = forward(tx)
    loss = torch.nn.functional.cross_entropy(scores, torch.tensor(y))
    loss.backward()
    ours = loss_fn.forward(model.forward(x), y)
    assert np.isclose(ours, loss.item(), rtol=1e-12)
    dx = model.backward(loss_fn.backward())
    np.testing.assert_allclose(dx, tx.grad.numpy(), atol=1e-12)
    for t, (layer, name) in zip(mods.parameters(), model.parameters()):
        np.testing.assert_allclose(layer.grads[name], t.grad.numpy(),
                                   atol=1e-12, err_msg=f"{layer} {name}")
    norms = [m for m in mods if isinstance(m, torch.nn.BatchNorm2d)]
    ours_bn = [layer for layer, name in model.parameters()
               if isinstance(layer, BatchNorm2d) and name == "gamma"]
    for t, layer in zip(norms, ours_bn):
        np.testing.assert_allclose(layer.running_var,
                                   t.running_var.numpy(), atol=1e-13)
    mods.eval()
    model.eval()
    np.testing.assert_allclose(model.forward(x),
                               forward(torch.tensor(x)).detach().numpy(),
                               atol=1e-12)


def all_layers(layer):
    """The layer and every layer inside it, depth first."""
    yield layer
    for child in layer.children():
        yield from all_layers(child)


def test_train_eval_modes_and_predict():
    model = modern_model()
    assert len(list(all_layers(model))) == 18
    x, _ = data()
    model.forward(x)
    model.eval()
    assert not any(layer.training for layer in all_layers(model))
    eval_scores = model.forward(x)
    model.train()
    bn = model.layers[1]
    before = bn.running_mean.copy()
    preds = model.predict(x)
    assert all(layer.training for layer in all_layers(model))
    np.testing.assert_array_equal(bn.running_mean, before)
    np.testing.assert_array_equal(preds, eval_scores.argmax(axis=1))
    assert not np.array_equal(model.forward(x), eval_scores)


def test_grouped_conv_layer_matches_functions():
    layer = Conv2d(6, 4, (3, 2), stride=(2, 1), padding=1, rng=5, groups=2)
    assert layer.params["w"].shape == (4, 3, 3, 2)
    layer.params["b"][:] = [0.5, -1.0, 2.0, 0.0]
    x = np.random.default_rng(6).standard_normal((2, 6, 7, 5))
    w, b = layer.params["w"], layer.params["b"]
    hyper = dict(stride=(2, 1), padding=1, groups=2)
    out = layer.forward(x)
    np.testing.assert_allclose(out, cnnbp.grouped_conv2d(x, w, b, **hyper),
                               atol=1e-12)
    dout = np.random.default_rng(7).standard_normal(out.shape)
    dx = layer.backward(dout)
    ref = cnnbp.grouped_conv2d_backward(dout, x, w, **hyper)
    for got, want in zip((dx, layer.grads["w"], layer.grads["b"]), ref):
        np.testing.assert_allclose(got, want, atol=1e-12)
    assert repr(layer).endswith("dilation=1, groups=2)")


def test_conv_layer_repr_and_init_unchanged_without_groups():
    layer = Conv2d(2, 3, (3, 2), stride=(1, 2), rng=4)
    assert repr(layer) == ("Conv2d(2, 3, kernel_size=(3, 2), stride=(1, 2),"
                           " padding=0, dilation=1)")
    std = np.sqrt(2.0 / (2 * 3 * 2))
    want = std * np.random.default_rng(4).standard_normal((3, 2, 3, 2))
    np.testing.assert_array_equal(layer.params["w"], want)
    depthwise = Conv2d(16, 32, 3, rng=0, groups=16)
    assert depthwise.params["w"].shape == (32, 1, 3, 3)
    assert np.isclose(depthwise.params["w"].std(), np.sqrt(2 / 9),
                      rtol=0.1)


def test_transposed_conv_layer():
    layer = ConvTranspose2d(4, 6, (3, 2), stride=(2, 3), padding=(1, 0),
                            output_padding=(1, 2), groups=2, rng=8)
    assert layer.params["w"].shape == (4, 3, 3, 2)
    layer.params["b"][:] = np.arange(6.0)
    x = np.random.default_rng(9).standard_normal((2, 4, 3, 4))
    w, b = layer.params["w"], layer.params["b"]
    hyper = dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2),
                 groups=2)
    out = layer.forward(x)
    assert out.shape == (2, 6, 6, 13)
    np.testing.assert_allclose(out, cnnbp.conv_transpose2d(x, w, b, **hyper),
                               atol=1e-12)
    dout = np.random.default_rng(10).standard_normal(out.shape)
    dx = layer.backward(dout)
    ref = cnnbp.conv_transpose2d_backward(dout, x, w, **hyper)
    for got, want in zip((dx, layer.grads["w"], layer.grads["b"]), ref):
        np.testing.assert_allclose(got, want, atol=1e-12)


def test_encoder_decoder_gradient_check():
    gen = np.random.default_rng(11)
    model = Sequential(
        Conv2d(1, 3, 3, stride=2, padding=1, rng=gen), ReLU(),
        ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1,
                        rng=gen),
        Flatten(), Linear(2 * 6 * 8, 3, rng=gen))
    x = gen.standard_normal((2, 1, 6, 8))
    y = np.array([0, 2])
    for label, shape, err in check_model_gradients(
            model, SoftmaxCrossEntropy(), x, y):
        assert err < TOL, (label, shape, err)


def test_residual_gradient_adds_at_the_skip():
    body = Sequential(Conv2d(2, 2, 3, padding=1, rng=12))
    block = Add(body)
    x = np.random.default_rng(13).standard_normal((1, 2, 4, 5))
    out = block.forward(x)
    np.testing.assert_allclose(out, body.forward(x) + x)
    dout = np.random.default_rng(14).standard_normal(out.shape)
    np.testing.assert_allclose(block.backward(dout),
                               body.backward(dout) + dout)
    projected = Add(Sequential(Conv2d(2, 3, 1, rng=15)),
                    shortcut=Conv2d(2, 3, 1, rng=16))
    out = projected.forward(x)
    ndx = numerical_gradient(projected.forward, x, dout[:, :1].repeat(3, 1))
    assert rel_error(projected.backward(dout[:, :1].repeat(3, 1)), ndx) < TOL
    assert len(projected.parameters()) == 4


def test_bad_layer_arguments():
    with pytest.raises(ValueError, match=r"groups=2 must be >= 1 and divide"
                                         r" in_channels=3 and out_channels=4"):
        Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match=r"groups=3.*out_channels=4"):
        ConvTranspose2d(3, 4, 3, groups=3)
    block = Add(Sequential(Conv2d(2, 3, 1)))
    with pytest.raises(ValueError, match=r"body gives shape \(1, 3, 4, 4\) "
                                         r"but the shortcut gives shape "
                                         r"\(1, 2, 4, 4\)"):
        block.forward(np.zeros((1, 2, 4, 4)))
    with pytest.raises(ValueError, match="mode must be True or False"):
        ReLU().train("eval")
    with pytest.raises(ValueError, match="before forward"):
        GlobalAvgPool2d().backward(np.zeros((1, 1, 1, 1)))


def test_conv_without_bias_before_norm():
    """bias=False (nn.Conv2d's): no "b" parameter, same w gradient and
    dx as with a bias; before a batch norm the network's check passes
    without the zero-gradient biases."""
    x, y = data()
    for groups in (1, 2):
        kw = dict(padding=1, groups=groups, rng=3)
        with_b, without = Conv2d(2, 4, 3, **kw), Conv2d(2, 4, 3, bias=False,
                                                         **kw)
        assert sorted(without.params) == ["w"]
        assert "bias=False" in repr(without)
        dout = np.random.default_rng(4).standard_normal((4, 4, 7, 6))
        np.testing.assert_allclose(without.forward(x), with_b.forward(x))
        np.testing.assert_allclose(without.backward(dout),
                                   with_b.backward(dout))
        np.testing.assert_allclose(without.grads["w"], with_b.grads["w"])
        assert sorted(without.grads) == ["w"]
    with pytest.raises(ValueError, match="bias"):
        Conv2d(2, 4, 3, bias="no")
    gen = np.random.default_rng(5)
    model = Sequential(
        Conv2d(2, 3, 3, padding=1, rng=gen, bias=False), BatchNorm2d(3),
        ReLU(), GlobalAvgPool2d(), Flatten(), Linear(3, 5, rng=gen))
    report = check_model_gradients(model, SoftmaxCrossEntropy(), x, y)
    assert [label for label, _, _ in report] == [
        "0.Conv2d.w", "1.BatchNorm2d.gamma", "1.BatchNorm2d.beta",
        "5.Linear.w", "5.Linear.b"]
    assert max(err for _, _, err in report) < TOL


def test_named_parameters_and_check_labels_follow_nesting():
    model = modern_model()
    named = model.named_parameters()
    assert [(layer, name) for _, layer, name in named] == \
        model.parameters()
    paths = [path for path, _, _ in named]
    assert paths[:5] == ["0", "0", "1", "1", "3.body.0"]
    assert paths[8:10] == ["3.body.3", "3.body.3"]
    assert named[4][1] is model.layers[3].body.layers[0]
    shortcut = Add(Sequential(ReLU()), Conv2d(2, 2, 1, rng=0))
    assert [p for p, _, _ in shortcut.named_parameters()] == [
        "shortcut", "shortcut"]
    x, y = data()
    report = check_model_gradients(randomise_norms(modern_model(), 2),
                                   SoftmaxCrossEntropy(), x, y)
    assert report[4][0] == "3.body.0.Conv2d.w"
    assert report[-1][0] == "10.Linear.b"


def test_gradient_check_leaves_running_statistics_alone():
    model = randomise_norms(modern_model(), 2)
    x, y = data()
    model.forward(x)
    norms = [layer for layer, name in model.parameters()
             if name == "gamma"]
    before = [(n.running_mean.copy(), n.running_var.copy()) for n in norms]
    assert any(np.any(m != 0) for m, _ in before)
    check_model_gradients(model, SoftmaxCrossEntropy(), x, y)
    for n, (mean, var) in zip(norms, before):
        np.testing.assert_array_equal(n.running_mean, mean)
        np.testing.assert_array_equal(n.running_var, var)
