"""Tests of cnnbp.training: the loop, the metrics, the model gradient check."""

import doctest
import inspect

import numpy as np
import pytest

from cnnbp import training
from cnnbp.layers import (SGD, Conv2d, Flatten, Linear, MaxPool2d, ReLU,
                          Sequential, SoftmaxCrossEntropy)
from cnnbp.training import (accuracy, check_model_gradients,
                            confusion_matrix, evaluate, fit, gradient_norm,
                            wilson_interval)


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
    model = tiny_model()
    x, y, x_val, y_val = toy_data()
    before = accuracy(model, x_val, y_val)
    history = fit(model, SoftmaxCrossEntropy(), SGD(model, lr=0.1), (x, y),
                  (x_val, y_val), epochs=8, batch_size=5, progress=False)
    assert all(len(h) == 8 for h in history)
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.val_accuracy[-1] == 1.0 > before
    assert history.val_accuracy[-1] == accuracy(model, x_val, y_val)
    assert history.val_loss[-1] == evaluate(
        model, SoftmaxCrossEntropy(), x_val, y_val)[0]


def test_fit_without_validation_records_training_only():
    model = tiny_model()
    x, y = toy_data()[:2]
    history = fit(model, SoftmaxCrossEntropy(), SGD(model, lr=0.1), (x, y),
                  epochs=2, progress=False)
    assert len(history.train_loss) == len(history.train_accuracy) == 2
    assert history.val_loss == history.val_accuracy == []


def test_training_accuracy_counts_the_mini_batches_as_they_are_seen():
    """One sample per batch and lr = 0: every forward pass uses the initial
    weights, so the running count equals the accuracy before training."""
    model = tiny_model()
    x, y = toy_data()[:2]
    expected = accuracy(model, x, y)
    history = fit(model, SoftmaxCrossEntropy(), SGD(model, lr=0.0), (x, y),
                  epochs=1, batch_size=1, progress=False)
    assert history.train_accuracy == [expected]


def test_fit_takes_no_test_set():
    """The signature has a training and a validation set, nothing else;
    a four-array tuple (train and test together) is refused."""
    names = list(inspect.signature(fit).parameters)
    assert names[:5] == ["model", "loss_fn", "optimizer", "train",
                         "validation"]
    assert not any("test" in name for name in names)
    model = tiny_model()
    with pytest.raises(ValueError, match=r"train must be a pair \(x, y\)"):
        fit(model, SoftmaxCrossEntropy(), SGD(model), toy_data(),
            progress=False)
    x, y = toy_data()[:2]
    with pytest.raises(ValueError, match="validation: x has 45 samples"):
        fit(model, SoftmaxCrossEntropy(), SGD(model), (x, y),
            (x, y[:3]), progress=False)


def test_fit_is_repeatable_and_applies_the_schedule():
    runs = []
    for _ in range(2):
        model = tiny_model()
        opt = SGD(model, lr=1.0)
        history = fit(model, SoftmaxCrossEntropy(), opt, toy_data()[:2],
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
        fit(model, SoftmaxCrossEntropy(), SGD(model), toy_data()[:2],
            progress=False, **kw)


def test_fit_shows_a_final_progress_line_outside_a_kernel(capsys):
    model = tiny_model()
    fit(model, SoftmaxCrossEntropy(), SGD(model, lr=0.1), toy_data()[:2],
        toy_data()[2:], epochs=2, batch_size=20)
    line = capsys.readouterr().out
    assert line.startswith("training: 6/6 mini-batches, epoch 2/2, "
                           "training loss ")
    assert ", validation accuracy " in line and line.count("\n") == 1


def test_evaluate_matches_the_loss_and_accuracy_by_hand():
    model = tiny_model()
    x, y = toy_data()[:2]
    loss, acc = evaluate(model, SoftmaxCrossEntropy(), x, y, batch_size=7)
    assert loss == pytest.approx(
        SoftmaxCrossEntropy().forward(model.forward(x), y), rel=1e-12)
    assert acc == accuracy(model, x, y)


def test_gradient_norm_joins_every_parameter_gradient():
    model = tiny_model()
    x, y = toy_data()[:2]
    norm = gradient_norm(model, SoftmaxCrossEntropy(), x, y)
    by_hand = np.sqrt(sum(np.sum(layer.grads[name] ** 2)
                          for layer, name in model.parameters()))
    assert norm == pytest.approx(by_hand) and norm > 0


@pytest.mark.parametrize("k, n", [(354, 360), (0, 10), (10, 10), (7, 9),
                                  (348.2, 360)])
def test_wilson_interval_matches_scipy(k, n):
    stats = pytest.importorskip("scipy.stats")
    low, high = wilson_interval(k, n)
    if k == int(k):
        ref = stats.binomtest(int(k), n).proportion_ci(method="wilson")
        assert (low, high) == pytest.approx((ref.low, ref.high), abs=1e-12)
    assert 0 <= low <= k / n <= high <= 1


def test_wilson_interval_of_the_reviewers_example():
    """98.3 % of 360 (354 right): roughly 96.4 to 99.2 %."""
    low, high = wilson_interval(354, 360)
    assert (round(low, 3), round(high, 3)) == (0.964, 0.992)


@pytest.mark.parametrize("k, n", [(-1, 10), (11, 10), (0, 0)])
def test_wilson_interval_rejects_impossible_counts(k, n):
    with pytest.raises(ValueError, match="0 <= correct <= n"):
        wilson_interval(k, n)


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


def test_docstring_examples():
    result = doctest.testmod(training)
    assert result.attempted > 0 and result.failed == 0
