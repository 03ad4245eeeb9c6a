"""Tests of cnnbp.training: the loop, the metrics, the model gradient check."""

import numpy as np
import pytest

from cnnbp.layers import (SGD, Conv2d, Flatten, Linear, MaxPool2d, ReLU,
                          Sequential, SoftmaxCrossEntropy)
from cnnbp.training import (accuracy, check_model_gradients,
                            confusion_matrix, fit)


def tiny_model(seed=0):
    rng = np.random.default_rng(seed)
    return Sequential(Conv2d(1, 2, 3, padding=1, rng=rng), ReLU(),
                      MaxPool2d(2), Flatten(), Linear(2 * 2 * 2, 3, rng=rng))


def toy_data(seed=0):
    """Three classes of 4x4 images: a bright row 0, row 2 or column 1."""
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=0.3, size=(60, 1, 4, 4))
    y = np.arange(60) % 3
    x[y == 0, 0, 0, :] += 2
    x[y == 1, 0, 2, :] += 2
    x[y == 2, 0, :, 1] += 2
    return x[:45], y[:45], x[45:], y[45:]


def test_fit_learns_a_separable_problem_and_records_every_epoch():
    model, data = tiny_model(), toy_data()
    before = accuracy(model, data[2], data[3])
    history = fit(model, SoftmaxCrossEntropy(), SGD(model, lr=0.1), data,
                  epochs=8, batch_size=5, progress=False)
    assert all(len(h) == 8 for h in history)
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.test_accuracy[-1] == 1.0 > before
    assert history.test_accuracy[-1] == accuracy(model, data[2], data[3])


def test_fit_is_repeatable_and_applies_the_schedule():
    runs = []
    for _ in range(2):
        model = tiny_model()
        opt = SGD(model, lr=1.0)
        history = fit(model, SoftmaxCrossEntropy(), opt, toy_data(),
                      epochs=3, batch_size=7, seed=3, progress=False,
                      lr_schedule=lambda e: 0.1 / (e + 1))
        runs.append(history.train_loss)
        assert opt.lr == pytest.approx(0.1 / 3)
    assert runs[0] == runs[1]


@pytest.mark.parametrize("kw", [dict(epochs=0), dict(batch_size=0),
                                dict(epochs=2.0), dict(batch_size=True)])
def test_fit_rejects_bad_counts(kw):
    model = tiny_model()
    with pytest.raises(ValueError, match="must be an int >= 1"):
        fit(model, SoftmaxCrossEntropy(), SGD(model), toy_data(),
            progress=False, **kw)


def test_confusion_matrix_counts_pairs():
    cm = confusion_matrix([0, 1, 2, 2, 1], [0, 2, 2, 2, 1], n_classes=3)
    np.testing.assert_array_equal(cm, [[1, 0, 0], [0, 1, 1], [0, 0, 2]])
    assert cm.sum() == 5


@pytest.mark.parametrize("y_true, y_pred, match", [
    ([0, 1], [0], "1-D of one shape"),
    ([0, 3], [0, 1], r"y_true must lie in \[0, 3\)"),
    ([0, 1], [-1, 1], r"y_pred must lie in \[0, 3\)"),
])
def test_confusion_matrix_rejects_bad_labels(y_true, y_pred, match):
    with pytest.raises(ValueError, match=match):
        confusion_matrix(y_true, y_pred, n_classes=3)


def test_check_model_gradients_passes_a_correct_network():
    x, y = toy_data()[:2]
    report = check_model_gradients(tiny_model(), SoftmaxCrossEntropy(),
                                   x[:3], y[:3])
    assert [name for name, _, _ in report] == [
        "0.Conv2d.w", "0.Conv2d.b", "4.Linear.w", "4.Linear.b"]
    assert max(err for _, _, err in report) < 1e-7


def test_check_model_gradients_catches_a_wrong_layer_gradient():
    model = tiny_model()
    conv = model.layers[0]
    backward = conv.backward

    def doubled_bias_gradient(dout):
        dx = backward(dout)
        conv.grads["b"] = 2 * conv.grads["b"]
        return dx

    conv.backward = doubled_bias_gradient
    x, y = toy_data()[:2]
    errors = {name: err for name, _, err in check_model_gradients(
        model, SoftmaxCrossEntropy(), x[:3], y[:3])}
    assert errors["0.Conv2d.b"] > 0.1
    assert errors["0.Conv2d.w"] < 1e-7


def test_check_model_gradients_leaves_parameters_unchanged():
    model = tiny_model()
    before = [layer.params[name].copy() for layer, name in
              model.parameters()]
    x, y = toy_data()[:2]
    check_model_gradients(model, SoftmaxCrossEntropy(), x[:2], y[:2])
    for (layer, name), old in zip(model.parameters(), before):
        np.testing.assert_array_equal(layer.params[name], old)
