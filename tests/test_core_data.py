"""The digits split, and a short training run that must learn it."""

import numpy as np
import pytest

from cnnbp.data import load_digits_split, minibatches
from cnnbp.layers import (
    SGD,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    SoftmaxCrossEntropy,
)

sklearn_datasets = pytest.importorskip("sklearn.datasets")
threadpoolctl = pytest.importorskip("threadpoolctl")


@pytest.fixture(scope="module")
def split():
    return load_digits_split()


@pytest.fixture(scope="module")
def digits():
    return sklearn_datasets.load_digits()


def test_shapes_and_types(split):
    x_train, y_train, x_val, y_val, x_test, y_test = split
    assert x_train.shape == (1077, 1, 8, 8)
    assert x_val.shape == x_test.shape == (360, 1, 8, 8)
    assert y_train.shape == (1077,)
    assert y_val.shape == y_test.shape == (360,)
    assert x_train.dtype == np.float64 and y_train.dtype == np.int64
    assert split.x_val is x_val and split.x_test is x_test


def test_the_three_sets_are_the_data_set_once(split, digits):
    """Every image (with its label) is in exactly one of the three sets,
    all divided by one number (grey level 1 becomes ``unit``)."""
    x = np.concatenate([split.x_train, split.x_val, split.x_test])
    y = np.concatenate([split.y_train, split.y_val, split.y_test])
    unit = np.unique(split.x_train)[1]
    levels = x / unit
    np.testing.assert_allclose(levels, np.rint(levels), atol=1e-9)

    def rows(images, labels):
        table = np.column_stack([images.reshape(len(images), -1), labels])
        return table[np.lexsort(table.T[::-1])]

    np.testing.assert_array_equal(rows(np.rint(levels), y),
                                  rows(digits.images, digits.target))


def test_scaled_by_the_training_rms_so_paper_stays_zero(split):
    """Blank paper is exactly 0 (the value zero padding adds); the
    training pixels have mean square 1; nothing is subtracted."""
    assert np.mean(split.x_train ** 2) == pytest.approx(1.0, abs=1e-12)
    for x in (split.x_train, split.x_val, split.x_test):
        assert x.min() == 0.0
    grey_levels = np.unique(split.x_train)
    assert grey_levels.size == 17
    np.testing.assert_allclose(grey_levels, grey_levels[1] * np.arange(17),
                               rtol=1e-12)


def test_standardising_would_make_the_padding_faint_ink(digits):
    """The chapter's contrast: after (x - mean) / std, paper is -0.81 and
    a zero pad stands for grey level 4.9 of 16."""
    raw = digits.images
    mean, std = raw.mean(), raw.std()
    assert round((0 - mean) / std, 2) == -0.81
    assert round(mean, 1) == 4.9


def test_stratified(split):
    total = np.bincount(np.concatenate(
        [split.y_train, split.y_val, split.y_test]), minlength=10)
    for y, share in ((split.y_train, 0.6), (split.y_val, 0.2),
                     (split.y_test, 0.2)):
        ratio = np.bincount(y, minlength=10) / total
        assert np.all(np.abs(ratio - share) < 0.02)


def test_seeded(split):
    again = load_digits_split()
    for a, b in zip(again, split):
        np.testing.assert_array_equal(a, b)
    other = load_digits_split(seed=1)
    assert not np.array_equal(other.y_train, split.y_train)
    assert not np.array_equal(other.y_test, split.y_test)
    assert load_digits_split(dtype=np.float32).x_val.dtype == np.float32


@pytest.mark.parametrize("kw, match", [
    (dict(test_size=1.5), r"test_size.*got 1.5"),
    (dict(val_size=0), r"val_size.*got 0"),
    (dict(val_size=0.5, test_size=0.5), r"val_size \+ test_size must be"),
])
def test_bad_sizes(kw, match):
    with pytest.raises(ValueError, match=match):
        load_digits_split(**kw)


def test_thirteen_writers(digits):
    """The chapter's claim: scikit-learn's digits are the UCI test set,
    written by 13 people (no writer is recorded per image)."""
    about = " ".join(digits.DESCR.split())
    assert "copy of the test set" in about
    assert "30 contributed to the training set and different 13 to the " \
           "test set" in about
    assert set(digits) >= {"images", "target"}
    assert not any("writer" in key for key in digits)


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
    x_train, y_train, x_val, y_val = split[:4]
    rng = np.random.default_rng(0)
    model = Sequential(
        Conv2d(1, 16, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),
        Conv2d(16, 32, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),
        Flatten(), Linear(32 * 2 * 2, 10, rng=rng))
    loss_fn = SoftmaxCrossEntropy()
    opt = SGD(model, lr=0.03, momentum=0.9)
    order = np.random.default_rng(100)
    with threadpoolctl.threadpool_limits(1):
        for _ in range(3):
            for idx in minibatches(len(x_train), 32, order):
                loss_fn.forward(model.forward(x_train[idx]), y_train[idx])
                model.backward(loss_fn.backward())
                opt.step()
        accuracy = (model.predict(x_val) == y_val).mean()
    assert accuracy > 0.93
