"""The digits data set (scikit-learn's 8x8 handwritten digits), split.

scikit-learn is imported only when :func:`load_digits_split` runs; the
rest of cnnbp depends on NumPy alone.
"""

from typing import NamedTuple

import numpy as np

__all__ = ["DigitsSplit", "load_digits_split", "minibatches"]


class DigitsSplit(NamedTuple):
    """Train/test arrays; unpack as ``x_train, y_train, x_test, y_test``.

    Attributes
    ----------
    x_train : ndarray of shape (N_train, 1, 8, 8)
    y_train : ndarray of shape (N_train,), int64 labels 0-9
    x_test : ndarray of shape (N_test, 1, 8, 8)
    y_test : ndarray of shape (N_test,), int64 labels 0-9
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_digits_split(test_size=0.2, seed=0, dtype=np.float64):
    """Load the 1797 digits, split stratified by class, and normalise.

    Pixels (0-16) are standardised with the *training* set's mean and
    standard deviation (one scalar each), so the test set leaks nothing.

    Parameters
    ----------
    test_size : float
        Fraction of samples held out, in (0, 1).
    seed : int
        Seed of the shuffled, stratified split.
    dtype : numpy dtype
        float64 (default) or float32.

    Returns
    -------
    DigitsSplit
        ``(x_train, y_train, x_test, y_test)``; images of shape
        (N, 1, 8, 8) (one channel), labels of shape (N,).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not 0 < test_size < 1:
        raise ValueError(f"test_size must lie in (0, 1), got {test_size}")
    digits = load_digits()
    x = digits.images.astype(np.float64)[:, None, :, :]
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, random_state=seed, stratify=y
    )
    mean, std = x_train.mean(), x_train.std()
    x_train = ((x_train - mean) / std).astype(dtype)
    x_test = ((x_test - mean) / std).astype(dtype)
    return DigitsSplit(x_train, y_train, x_test, y_test)


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
