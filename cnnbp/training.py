"""Training a :class:`cnnbp.layers.Sequential` model: fit, evaluate, check.

The loop is the one the training chapter explains::

    for each epoch:
        for each shuffled mini-batch (x, y):
            loss = loss_fn.forward(model.forward(x), y)
            model.backward(loss_fn.backward())
            optimizer.step()

Everything is seeded, so a run is repeatable.
"""

import time
from typing import NamedTuple

import numpy as np

from .data import minibatches
from .gradcheck import numerical_gradient, rel_error

__all__ = [
    "History",
    "fit",
    "accuracy",
    "confusion_matrix",
    "check_model_gradients",
]


class History(NamedTuple):
    """Per-epoch record of a :func:`fit` run (lists of length epochs).

    Attributes
    ----------
    train_loss : list of float
        Mean mini-batch loss over the epoch.
    train_accuracy, test_accuracy : list of float
        Accuracy on the whole training / test set after the epoch.
    seconds : list of float
        Wall-clock time of the epoch's updates.
    """

    train_loss: list
    train_accuracy: list
    test_accuracy: list
    seconds: list


def accuracy(model, x, y):
    """Fraction of samples whose argmax score equals the label.

    Parameters
    ----------
    model : Sequential
    x : ndarray of shape (N, C, H, W)
    y : ndarray of shape (N,), integer labels

    Returns
    -------
    float
    """
    return float(np.mean(model.predict(x) == np.asarray(y)))


def fit(model, loss_fn, optimizer, data, epochs=10, batch_size=32,
        seed=0, lr_schedule=None, progress=True):
    """Train ``model`` with mini-batch updates; return a :class:`History`.

    Parameters
    ----------
    model : Sequential
    loss_fn : SoftmaxCrossEntropy
    optimizer : SGD or Adam
        Its ``lr`` attribute is set each epoch when ``lr_schedule`` is
        given.
    data : tuple (x_train, y_train, x_test, y_test)
        Images of shape (N, C, H, W), labels of shape (N,), as returned
        by :func:`cnnbp.data.load_digits_split`.
    epochs : int
        Passes over the training set (at least 1).
    batch_size : int
        Samples per update (at least 1).
    seed : int
        Seed of the mini-batch shuffling.
    lr_schedule : callable, optional
        ``lr_schedule(epoch) -> float``, the learning rate of an epoch.
    progress : bool
        Show a progress bar (tqdm) over the mini-batches.

    Returns
    -------
    History
    """
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) \
                or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    x_train, y_train, x_test, y_test = data
    n_batches = -(-len(x_train) // batch_size)
    rng = np.random.default_rng(seed)
    history = History([], [], [], [])
    bar = _progress_bar(epochs * n_batches, progress)
    try:
        for epoch in range(epochs):
            if lr_schedule is not None:
                optimizer.lr = lr_schedule(epoch)
            start, losses = time.perf_counter(), []
            for idx in minibatches(len(x_train), batch_size, rng):
                scores = model.forward(x_train[idx])
                losses.append(loss_fn.forward(scores, y_train[idx]))
                model.backward(loss_fn.backward())
                optimizer.step()
                bar.update(1)
            history.seconds.append(time.perf_counter() - start)
            history.train_loss.append(float(np.mean(losses)))
            history.train_accuracy.append(accuracy(model, x_train, y_train))
            history.test_accuracy.append(accuracy(model, x_test, y_test))
            bar.set_postfix(loss=f"{history.train_loss[-1]:.4f}",
                            test_acc=f"{history.test_accuracy[-1]:.4f}")
    finally:
        bar.close()
    return history


def _progress_bar(total, show):
    """A tqdm bar (notebook-aware) or a silent stand-in."""
    if show:
        from tqdm.auto import tqdm

        return tqdm(total=total, desc="training", unit="batch")
    return _SilentBar()


class _SilentBar:
    def update(self, n):
        pass

    def set_postfix(self, **kwargs):
        pass

    def close(self):
        pass


def confusion_matrix(y_true, y_pred, n_classes=10):
    """Counts ``M[t, p]`` of samples of true class t predicted as p.

    Parameters
    ----------
    y_true, y_pred : ndarray of shape (N,), integer labels in
        [0, n_classes)
    n_classes : int

    Returns
    -------
    ndarray of shape (n_classes, n_classes), int64
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(
            f"y_true and y_pred must be 1-D of one shape, got "
            f"{y_true.shape} and {y_pred.shape}"
        )
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.size and (y.min() < 0 or y.max() >= n_classes):
            raise ValueError(
                f"{name} must lie in [0, {n_classes}), got range "
                f"[{y.min()}, {y.max()}]"
            )
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


def check_model_gradients(model, loss_fn, x, y, h=1e-6):
    """Compare every parameter's backprop gradient with finite differences.

    Runs one forward/backward pass, then for each parameter array
    perturbs its entries one at a time and recomputes the loss.  Use a
    small batch and a float64 model: the cost is two forward passes per
    parameter entry.

    Parameters
    ----------
    model : Sequential
    loss_fn : SoftmaxCrossEntropy
    x : ndarray of shape (N, C, H, W)
    y : ndarray of shape (N,), integer labels
    h : float
        Finite-difference step.

    Returns
    -------
    list of (str, tuple, float)
        ``(name, shape, relative error)`` per parameter array, named
        ``"<index>.<Layer>.<param>"`` in model order.  A correct
        backward pass gives errors around 1e-7 or smaller.
    """
    loss_fn.forward(model.forward(x), y)
    model.backward(loss_fn.backward())
    report = []
    for layer, name in model.parameters():
        param = layer.params[name]
        analytic = layer.grads[name].copy()

        def loss_at(values, param=param):
            saved = param.copy()
            param[...] = values
            try:
                return loss_fn.forward(model.forward(x), y)
            finally:
                param[...] = saved

        numeric = numerical_gradient(loss_at, param, h=h)
        index = model.layers.index(layer) if layer in model.layers else -1
        label = f"{index}.{type(layer).__name__}.{name}"
        report.append((label, param.shape, rel_error(analytic, numeric)))
    return report
