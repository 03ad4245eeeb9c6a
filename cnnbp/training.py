"""Training a :class:`cnnbp.layers.Sequential` model: fit, evaluate, check.

The loop is the one the training chapter explains::

    for each epoch:
        for each shuffled mini-batch (x, y):
            loss = loss_fn.forward(model.forward(x), y)
            model.backward(loss_fn.backward())
            optimizer.step()
        evaluate on the validation set

:func:`fit` takes a training set and, optionally, a validation set on
which every choice (learning rate, number of epochs) is made; it never
takes the test set, which is evaluated once, at the end, with
:func:`accuracy`.  Everything is seeded, so a run is repeatable.
"""

from typing import NamedTuple

import numpy as np

from .data import minibatches
from .gradcheck import numerical_gradient, rel_error
from .progress import Progress

__all__ = [
    "History",
    "fit",
    "accuracy",
    "evaluate",
    "gradient_norm",
    "wilson_interval",
    "confusion_matrix",
    "check_model_gradients",
]


class History(NamedTuple):
    """Per-epoch record of a :func:`fit` run (lists of length epochs).

    Attributes
    ----------
    train_loss : list of float
        Mean mini-batch loss over the epoch.
    train_accuracy : list of float
        Fraction of the epoch's training samples classified right by
        the forward pass of their mini-batch (so with the weights of
        that moment, like ``train_loss``; it costs no extra pass).
    val_loss, val_accuracy : list of float
        Loss and accuracy on the validation set after the epoch (empty
        lists when :func:`fit` had no validation set).
    """

    train_loss: list
    train_accuracy: list
    val_loss: list
    val_accuracy: list


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


def evaluate(model, loss_fn, x, y, batch_size=512):
    """Mean loss and accuracy of ``model`` on (x, y), in evaluation mode.

    Parameters
    ----------
    model : Sequential
    loss_fn : SoftmaxCrossEntropy
    x : ndarray of shape (N, C, H, W)
    y : ndarray of shape (N,), integer labels
    batch_size : int
        Samples per forward pass (memory only; the result is the same).

    Returns
    -------
    (float, float)
        ``(loss, accuracy)``.
    """
    y = np.asarray(y)
    mode = model.training
    model.eval()
    try:
        scores = np.concatenate([model.forward(x[k:k + batch_size])
                                 for k in range(0, len(x), batch_size)])
    finally:
        model.train(mode)
    loss = loss_fn.forward(scores, y)
    return loss, float(np.mean(scores.argmax(axis=1) == y))


def _pair(data, name):
    """``data`` as an (x, y) pair of one length, else ValueError."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        size = (f" of length {len(data)}"
                if isinstance(data, (tuple, list)) else "")
        raise ValueError(
            f"{name} must be a pair (x, y), got "
            f"{type(data).__name__}{size}"
        )
    x, y = data
    if len(x) != len(y):
        raise ValueError(
            f"{name}: x has {len(x)} samples but y has {len(y)}"
        )
    return x, np.asarray(y)


def fit(model, loss_fn, optimizer, train, validation=None, epochs=10,
        batch_size=32, seed=0, lr_schedule=None, progress=True):
    """Train ``model`` with mini-batch updates; return a :class:`History`.

    Parameters
    ----------
    model : Sequential
    loss_fn : SoftmaxCrossEntropy
    optimizer : SGD or Adam
        Its ``lr`` attribute is set each epoch when ``lr_schedule`` is
        given.
    train : pair (x_train, y_train)
        Images of shape (N, C, H, W) and labels of shape (N,).
    validation : pair (x_val, y_val), optional
        Evaluated after every epoch, to choose the learning rate and the
        number of epochs.  Never pass the test set: it is for one final
        evaluation, after every choice is made.
    epochs : int
        Passes over the training set (at least 1).
    batch_size : int
        Samples per update (at least 1).
    seed : int
        Seed of the mini-batch shuffling.
    lr_schedule : callable, optional
        ``lr_schedule(epoch) -> float``, the learning rate of an epoch.
    progress : bool
        Show a :class:`cnnbp.progress.Progress` bar over the mini-batches.

    Returns
    -------
    History
    """
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) \
                or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    x_train, y_train = _pair(train, "train")
    if validation is not None:
        x_val, y_val = _pair(validation, "validation")
    n_batches = -(-len(x_train) // batch_size)
    rng = np.random.default_rng(seed)
    history = History([], [], [], [])
    with Progress(epochs * n_batches, "training", "mini-batches",
                  show=progress) as bar:
        for epoch in range(epochs):
            if lr_schedule is not None:
                optimizer.lr = lr_schedule(epoch)
            losses, hits = [], 0
            for idx in minibatches(len(x_train), batch_size, rng):
                scores = model.forward(x_train[idx])
                losses.append(loss_fn.forward(scores, y_train[idx]))
                hits += int(np.sum(scores.argmax(axis=1) == y_train[idx]))
                model.backward(loss_fn.backward())
                optimizer.step()
                bar.update()
            history.train_loss.append(float(np.mean(losses)))
            history.train_accuracy.append(hits / len(x_train))
            status = (f"epoch {epoch + 1}/{epochs}, training loss "
                      f"{history.train_loss[-1]:.3f}")
            if validation is not None:
                val_loss, val_acc = evaluate(model, loss_fn, x_val, y_val)
                history.val_loss.append(val_loss)
                history.val_accuracy.append(val_acc)
                status += f", validation accuracy {val_acc:.3f}"
            bar.update(0, text=status)
    return history


def gradient_norm(model, loss_fn, x, y):
    """Euclidean norm of the gradient of the mean loss on (x, y).

    One forward and backward pass; all parameter gradients of the
    model, joined into one vector.

    Parameters
    ----------
    model : Sequential
    loss_fn : SoftmaxCrossEntropy
    x : ndarray of shape (N, C, H, W)
    y : ndarray of shape (N,), integer labels

    Returns
    -------
    float
    """
    loss_fn.forward(model.forward(x), y)
    model.backward(loss_fn.backward())
    return float(np.sqrt(sum(np.sum(layer.grads[name] ** 2)
                             for layer, name in model.parameters())))


def wilson_interval(correct, n, z=1.959963984540054):
    """Wilson score interval for a proportion of ``correct`` out of ``n``.

    The interval for the accuracy on the population a test set of ``n``
    samples was drawn from (95 % for the default ``z``)::

        centre = (k + z^2 / 2) / (n + z^2)
        half = z / (n + z^2) * sqrt(k (n - k) / n + z^2 / 4)

    Parameters
    ----------
    correct : int or float
        Number of correct samples k, 0 <= k <= n (a mean over runs may
        be fractional).
    n : int
        Number of samples, at least 1.
    z : float
        Standard-normal quantile; 1.96 for 95 %.

    Returns
    -------
    (float, float)
        Lower and upper bound, within [0, 1].

    Examples
    --------
    >>> lo, hi = wilson_interval(354, 360)
    >>> f"{lo:.4f} {hi:.4f}"
    '0.9641 0.9923'
    """
    if n < 1 or not 0 <= correct <= n:
        raise ValueError(
            f"need 0 <= correct <= n and n >= 1, got correct={correct}, "
            f"n={n}"
        )
    centre = (correct + z * z / 2) / (n + z * z)
    half = z / (n + z * z) * np.sqrt(correct * (n - correct) / n
                                     + z * z / 4)
    return float(max(centre - half, 0.0)), float(min(centre + half, 1.0))


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
        ``"<path>.<Layer>.<param>"`` in model order, where ``path`` is
        the layer's position (:meth:`~cnnbp.layers.Layer.named_parameters`,
        e.g. ``"0"`` or, inside a residual block, ``"6.body.3"``).
        Batch-norm running statistics are restored afterwards, so the
        check leaves the model as it found it.  A correct
        backward pass gives errors below 1e-7 (``gradcheck.TOLERANCE``)
        at a generic point: one where no ReLU input sits exactly at 0,
        its kink (all-zero input patches and zero biases put it there).
    """
    saved = _running_statistics(model)
    loss_fn.forward(model.forward(x), y)
    model.backward(loss_fn.backward())
    report = []
    for path, layer, name in model.named_parameters():
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
        label = ".".join(filter(None, [path, type(layer).__name__, name]))
        report.append((label, param.shape, rel_error(analytic, numeric)))
    for stats, values in saved:
        stats[...] = values
    return report


def _running_statistics(layer):
    """``(array, copy)`` of every running statistic under ``layer`` (a
    training-mode forward pass updates them)."""
    found = [(stats, stats.copy()) for stats in (
        getattr(layer, "running_mean", None),
        getattr(layer, "running_var", None)) if stats is not None]
    for child in layer.children():
        found.extend(_running_statistics(child))
    return found
