"""The digits split, and a short training run that must learn it."""

import numpy as np
import pytest

from cnnbp.data import load_digits_split, minibatches
from cnnbp.layers import (
    Adam,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    SoftmaxCrossEntropy,
)

pytest.importorskip("sklearn")
threadpoolctl = pytest.importorskip("threadpoolctl")


@pytest.fixture(scope="module")
def split():
    return load_digits_split()


def test_shapes_and_types(split):
    x_train, y_train, x_test, y_test = split
    assert x_train.shape == (1437, 1, 8, 8)
    assert x_test.shape == (360, 1, 8, 8)
    assert y_train.shape == (1437,) and y_test.shape == (360,)
    assert x_train.dtype == np.float64 and y_train.dtype == np.int64
    assert split.x_test is x_test


def test_normalised_with_training_statistics(split):
    assert abs(split.x_train.mean()) < 1e-12
    assert np.isclose(split.x_train.std(), 1.0)
    assert abs(split.x_test.mean()) < 0.1


def test_stratified(split):
    train_counts = np.bincount(split.y_train, minlength=10)
    test_counts = np.bincount(split.y_test, minlength=10)
    ratio = test_counts / (train_counts + test_counts)
    assert np.all(np.abs(ratio - 0.2) < 0.02)


def test_seeded(split):
    again = load_digits_split()
    np.testing.assert_array_equal(again.x_train, split.x_train)
    other = load_digits_split(seed=1)
    assert not np.array_equal(other.y_train, split.y_train)
    assert load_digits_split(dtype=np.float32).x_train.dtype == np.float32


def test_bad_test_size():
    with pytest.raises(ValueError, match=r"test_size.*got 1.5"):
        load_digits_split(test_size=1.5)


def test_minibatches_cover_every_sample_once():
    batches = list(minibatches(10, 4, rng=0))
    assert [len(b) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)),
                                  np.arange(10))
    again = list(minibatches(10, 4, rng=0))
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))


def test_small_cnn_learns_the_digits(split):
    """The training chapter's recipe, shortened to 3 epochs.

    One BLAS thread: these matrices are small, and on a busy machine
    several BLAS threads contend and run ten times slower.
    """
    x_train, y_train, x_test, y_test = split
    rng = np.random.default_rng(0)
    model = Sequential(
        Conv2d(1, 16, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),
        Conv2d(16, 32, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),
        Flatten(), Linear(32 * 2 * 2, 10, rng=rng))
    loss_fn = SoftmaxCrossEntropy()
    opt = Adam(model, lr=5e-3)
    order = np.random.default_rng(100)
    with threadpoolctl.threadpool_limits(1):
        for _ in range(3):
            for idx in minibatches(len(x_train), 32, order):
                loss_fn.forward(model.forward(x_train[idx]), y_train[idx])
                model.backward(loss_fn.backward())
                opt.step()
        accuracy = (model.predict(x_test) == y_test).mean()
    assert accuracy > 0.93
