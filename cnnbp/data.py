"""The digits data set (scikit-learn's 8x8 handwritten digits), split.

scikit-learn is imported only when :func:`load_digits_split` runs (it
ships the data: nothing is downloaded); the rest of cnnbp depends on
NumPy alone.
"""

from typing import NamedTuple

import numpy as np

__all__ = ["DigitsSplit", "load_digits_split", "minibatches"]


class DigitsSplit(NamedTuple):
    """Train / validation / test arrays.

    Unpack as ``x_train, y_train, x_val, y_val, x_test, y_test``.

    Attributes
    ----------
    x_train : ndarray of shape (N_train, 1, 8, 8)
    y_train : ndarray of shape (N_train,), int64 labels 0-9
    x_val : ndarray of shape (N_val, 1, 8, 8)
    y_val : ndarray of shape (N_val,), int64 labels 0-9
    x_test : ndarray of shape (N_test, 1, 8, 8)
    y_test : ndarray of shape (N_test,), int64 labels 0-9
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_digits_split(val_size=0.2, test_size=0.2, seed=0,
                      dtype=np.float64):
    """Load the 1797 digits, split them three ways by class, and scale.

    The test set (``test_size`` of all samples) is split off first, then
    the validation set (``val_size`` of all samples) from the rest; both
    splits are shuffled with ``seed`` and stratified, so every set has
    the ten classes in the proportions of the whole.

    Pixels (integers 0-16) are divided by one number, the root mean
    square of the *training* pixels, so the training pixels have mean
    square 1 and the validation and test sets leak nothing into the
    scaling.  Nothing is subtracted: the blank background stays exactly
    0, the value a convolution's zero padding adds around the image.

    Parameters
    ----------
    val_size, test_size : float
        Fractions of all samples held out for validation and test, each
        in (0, 1), with ``val_size + test_size < 1``.
    seed : int
        Seed of the shuffled, stratified splits.
    dtype : numpy dtype
        float64 (default) or float32.

    Returns
    -------
    DigitsSplit
        ``(x_train, y_train, x_val, y_val, x_test, y_test)``; images of
        shape (N, 1, 8, 8) (one channel), labels of shape (N,).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    for name, size in (("val_size", val_size), ("test_size", test_size)):
        if not 0 < size < 1:
            raise ValueError(f"{name} must lie in (0, 1), got {size}")
    if val_size + test_size >= 1:
        raise ValueError(
            f"val_size + test_size must be < 1, got {val_size} + "
            f"{test_size}"
        )
    digits = load_digits()
    x = digits.images.astype(np.float64)[:, None, :, :]
    y = digits.target.astype(np.int64)
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=test_size, random_state=seed, stratify=y
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=val_size / (1 - test_size),
        random_state=seed, stratify=y_rest
    )
    scale = np.sqrt(np.mean(x_train ** 2))
    return DigitsSplit((x_train / scale).astype(dtype), y_train,
                       (x_val / scale).astype(dtype), y_val,
                       (x_test / scale).astype(dtype), y_test)


def minibatches(n, batch_size, rng=0):
    """Shuffled index batches covering ``range(n)`` once (one epoch).

    Parameters
    ----------
    n : int
        Number of samples.
    batch_size : int
    rng : int or numpy.random.Generator
        Seed or generator for the shuffle.

    Yields
    ------
    ndarray of shape (batch_size,) (the last one may be shorter)
    """
    order = np.random.default_rng(rng).permutation(n)
    for k in range(0, n, batch_size):
        yield order[k:k + batch_size]
