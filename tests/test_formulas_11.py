"""Claims of book/11_training.ipynb, checked against cnnbp."""
import numpy as np
import pytest

from cnnbp.data import load_digits_split
from cnnbp.gradcheck import numerical_gradient, rel_error
from cnnbp.layers import (Adam, Conv2d, Flatten, Linear, MaxPool2d, ReLU,
                          Sequential, SoftmaxCrossEntropy)
from cnnbp.training import accuracy, check_model_gradients, fit


def build_model(c1=16, c2=32, seed=0):
    """The chapter's network, layer for layer."""
    rng = np.random.default_rng(seed)
    return Sequential(
        Conv2d(1, c1, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),
        Conv2d(c1, c2, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),
        Flatten(), Linear(c2 * 2 * 2, 10, rng=rng))


def n_params(layer):
    return sum(p.size for p in layer.params.values())


def test_shape_table_and_parameter_counts():
    """8 -> 4 -> 2 with 'same' convs; 160 + 4640 + 1290 = 6090."""
    model = build_model()
    h = np.zeros((32, 1, 8, 8))
    shapes = []
    for layer in model.layers:
        h = layer.forward(h)
        shapes.append(h.shape)
    assert shapes == [(32, 16, 8, 8), (32, 16, 8, 8), (32, 16, 4, 4),
                      (32, 32, 4, 4), (32, 32, 4, 4), (32, 32, 2, 2),
                      (32, 128), (32, 10)]
    counts = [n_params(layer) for layer in model.layers]
    assert counts == [16 * 1 * 3 * 3 + 16, 0, 0, 32 * 16 * 3 * 3 + 32,
                      0, 0, 0, 10 * 128 + 10]
    assert sum(counts) == 6090


def test_narrow_network_parameter_count():
    """Exercise 3: 8*9 + 8 + 16*8*9 + 16 + 10*64 + 10 = 1898 < 6090/3."""
    narrow = build_model(c1=8, c2=16)
    total = sum(n_params(layer) for layer in narrow.layers)
    assert total == 8 * 9 + 8 + 16 * 8 * 9 + 16 + 10 * 64 + 10 == 1898
    assert total < 6090 / 3


def test_softmax_cross_entropy_gradient_formula():
    """dL/dS = (softmax(S) - onehot(y)) / N for the mean loss."""
    rng = np.random.default_rng(11)
    scores = rng.standard_normal((5, 4))
    y = np.array([2, 0, 1, 3, 3])
    loss_fn = SoftmaxCrossEntropy()
    loss_fn.forward(scores, y)
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    expected = (p - np.eye(4)[y]) / 5
    np.testing.assert_allclose(loss_fn.backward(), expected, atol=1e-12)
    numeric = numerical_gradient(lambda s: loss_fn.forward(s, y), scores)
    assert rel_error(expected, numeric) < 1e-7


def test_linear_backward_formulas():
    """Y = X W^T + b: dX = G W, dW = G^T X, db = sum over the batch."""
    rng = np.random.default_rng(12)
    x = rng.standard_normal((4, 5))
    g = rng.standard_normal((4, 3))
    layer = Linear(5, 3, rng=1)
    layer.params["b"] = rng.standard_normal(3)
    w = layer.params["w"]
    layer.forward(x)
    dx = layer.backward(g)
    np.testing.assert_allclose(dx, g @ w, atol=1e-12)
    np.testing.assert_allclose(layer.grads["w"], g.T @ x, atol=1e-12)
    np.testing.assert_allclose(layer.grads["b"], g.sum(axis=0), atol=1e-12)
    num_dx = numerical_gradient(lambda t: t @ w.T + layer.params["b"], x, g)
    assert rel_error(dx, num_dx) < 1e-7


def test_whole_network_gradient_check_is_small():
    """The chapter's check: every parameter of the narrow copy < 1e-7."""
    x, y, _, _ = load_digits_split(seed=0)
    report = check_model_gradients(build_model(c1=2, c2=3, seed=1),
                                   SoftmaxCrossEntropy(), x[:4], y[:4])
    assert [name for name, _, _ in report] == [
        "0.Conv2d.w", "0.Conv2d.b", "3.Conv2d.w", "3.Conv2d.b",
        "7.Linear.w", "7.Linear.b"]
    assert max(err for _, _, err in report) < 1e-7


def test_a_wrong_backward_fails_the_network_check():
    """The check is able to fail: drop the ReLU mask in one layer."""
    x, y, _, _ = load_digits_split(seed=0)
    model = build_model(c1=2, c2=3, seed=1)
    model.layers[4].backward = lambda dout: dout
    report = check_model_gradients(model, SoftmaxCrossEntropy(),
                                   x[:4], y[:4])
    errs = {name: err for name, _, err in report}
    assert errs["0.Conv2d.w"] > 1e-3
    assert errs["7.Linear.w"] < 1e-7


@pytest.mark.parametrize("c1, c2, target", [(16, 32, 0.98), (8, 16, 0.95)])
def test_training_reaches_the_stated_accuracy(c1, c2, target):
    """About 98 % for the chapter's network, above 0.95 for the narrow."""
    data = load_digits_split(seed=0)
    model = build_model(c1=c1, c2=c2, seed=0)
    lr = 5e-3

    def schedule(epoch):
        return lr * 0.5 * (1 + np.cos(np.pi * epoch / 10))

    history = fit(model, SoftmaxCrossEntropy(), Adam(model, lr=lr), data,
                  epochs=10, batch_size=32, seed=0, progress=False,
                  lr_schedule=schedule)
    test_acc = accuracy(model, data[2], data[3])
    assert test_acc >= target
    assert history.test_accuracy[-1] == test_acc
    assert history.train_accuracy[-1] > 0.99


def test_ties_in_the_checked_network_are_harmless():
    """17 grey levels give many tied pooling windows; each is all 0 after
    the ReLU or ties cells computed from identical input patches."""
    x, _, _, _ = load_digits_split(seed=0)
    assert np.unique(x).size == 17
    conv = build_model(c1=2, c2=3, seed=1).layers[0]
    x4 = x[:4]
    y = np.maximum(conv.forward(x4), 0)
    x_pad = np.pad(x4, ((0, 0), (0, 0), (1, 1), (1, 1)))
    n_tied = 0
    for a, f, i, j in np.ndindex(4, 2, 4, 4):
        win = y[a, f, 2 * i:2 * i + 2, 2 * j:2 * j + 2]
        cells = np.argwhere(win == win.max())
        if len(cells) < 2:
            continue
        n_tied += 1
        patches = [x_pad[a, 0, 2 * i + u:2 * i + u + 3,
                         2 * j + v:2 * j + v + 3] for u, v in cells]
        assert win.max() == 0 or all(
            np.array_equal(patches[0], q) for q in patches)
    assert n_tied > 10
