"""Receptive fields against the brute-force support of input gradients."""

import doctest

import numpy as np
import pytest

from cnnbp import receptive
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
)
from cnnbp.receptive import (
    ReceptiveField,
    Window,
    receptive_field,
    receptive_field_support,
)
from cnnbp.shapes import pair


def positive(model, seed):
    """Give every parameter positive values: no gradient cancels."""
    rng = np.random.default_rng(seed)
    for layer, name in model.parameters():
        arr = layer.params[name]
        arr[...] = rng.uniform(0.5, 1.5, arr.shape)
    return model


def gradient_support(model, x, i, j):
    """Input cells where d out[0, 0, i, j] / dx is nonzero (any channel)."""
    out = model.forward(x)
    dout = np.zeros_like(out)
    dout[0, 0, i, j] = 1.0
    return np.abs(model.backward(dout)[0]).sum(axis=0) > 0


def random_stack(rng, pool_cls):
    """A random valid stack of convolutions and pools, as layers and as
    Windows, with an input size that every layer fits."""
    while True:
        layers, windows = [], []
        for _ in range(int(rng.integers(2, 5))):
            k = tuple(int(v) for v in rng.integers(1, 4, size=2))
            s = tuple(int(v) for v in rng.integers(1, 3, size=2))
            if rng.random() < 0.6:
                d = tuple(int(v) for v in rng.integers(1, 3, size=2))
                p = tuple(int(v) for v in rng.integers(0, 3, size=2))
                layers.append(Conv2d(2, 2, k, s, p, d, rng=0))
                windows.append(Window(k, s, p, d))
            else:
                p = tuple(int(rng.integers(0, v // 2 + 1)) for v in k)
                ceil_mode = bool(rng.random() < 0.5)
                layers.append(pool_cls(k, s, p, ceil_mode))
                windows.append(Window(k, s, p, 1, ceil_mode))
            layers.append(ReLU())
        hw = tuple(int(v) for v in rng.integers(5, 12, size=2))
        try:
            x = np.ones((1, 2) + hw)
            out = Sequential(*layers).forward(x)
        except ValueError:
            continue
        return Sequential(*layers), windows, hw, out.shape[2:]


STACKS = [random_stack(np.random.default_rng(seed), AvgPool2d)
          for seed in range(12)]


def test_stacks_cover_the_hard_cases():
    flat = [w for _, ws, _, _ in STACKS for w in ws]
    assert any(pair(w.dilation, "d") != (1, 1) for w in flat)
    assert any(w.ceil_mode for w in flat)
    assert any(pair(w.padding, "p")[0] != pair(w.padding, "p")[1]
               for w in flat)
    assert any(hw[0] != hw[1] for _, _, hw, _ in STACKS)
    assert any(pair(w.stride, "s") == (2, 2) for w in flat)


@pytest.mark.parametrize("k", range(len(STACKS)))
def test_support_is_gradient_support(k):
    model, windows, hw, (H_out, W_out) = STACKS[k]
    positive(model, k)
    x = np.random.default_rng(k).uniform(0.5, 1.5, (1, 2) + hw)
    for i in range(H_out):
        for j in range(W_out):
            want = gradient_support(model, x, i, j)
            np.testing.assert_array_equal(
                receptive_field_support(model, hw, i, j), want)
            np.testing.assert_array_equal(
                receptive_field_support(windows, hw, i, j), want)


def gap_free(windows):
    """No layer's taps skip cells of the field below it."""
    for n, w in enumerate(windows):
        below = receptive_field(windows[:n]) if n else None
        d = pair(w.dilation, "d")
        for a in range(2):
            if below is not None and d[a] * below.jump[a] > below.size[a]:
                return False
            if below is None and d[a] > 1 and pair(w.kernel_size, "k")[a] > 1:
                return False
    return True


@pytest.mark.parametrize("k", range(len(STACKS)))
def test_support_lies_in_the_window(k):
    model, windows, hw, (H_out, W_out) = STACKS[k]
    rf = receptive_field(windows)
    assert rf == receptive_field(model)
    for i in range(H_out):
        for j in range(W_out):
            rows, cols = rf.window(i, j)
            box = np.zeros(hw, bool)
            box[max(rows.start, 0):rows.stop, max(cols.start, 0):cols.stop] \
                = True
            support = receptive_field_support(windows, hw, i, j)
            assert not np.any(support & ~box)
            inside = (rows.start >= 0 and rows.stop <= hw[0]
                      and cols.start >= 0 and cols.stop <= hw[1])
            if inside and gap_free(windows):
                np.testing.assert_array_equal(support, box)


def test_some_stacks_are_gap_free_and_some_are_not():
    flags = [gap_free(ws) for _, ws, _, _ in STACKS]
    assert any(flags) and not all(flags)


MAX_STACKS = [random_stack(np.random.default_rng(100 + seed), MaxPool2d)
              for seed in range(4)]


@pytest.mark.parametrize("k", range(len(MAX_STACKS)))
def test_max_pool_support_is_union_of_gradient_supports(k):
    """One input's gradient reaches only the argmaxes (a subset); a large
    bump at any cell of the support makes that cell's gradient nonzero."""
    model, windows, hw, (H_out, W_out) = MAX_STACKS[k]
    positive(model, k)
    x = np.random.default_rng(k).uniform(0.5, 1.5, (1, 2) + hw)
    i, j = H_out // 2, W_out // 2
    support = receptive_field_support(model, hw, i, j)
    assert not np.any(gradient_support(model, x, i, j) & ~support)
    union = np.zeros(hw, bool)
    for u in range(hw[0]):
        for v in range(hw[1]):
            bumped = x.copy()
            bumped[0, :, u, v] += 1e6
            union[u, v] = gradient_support(model, bumped, i, j)[u, v]
    np.testing.assert_array_equal(union, support)


def test_chapter_11_network():
    layers = [Conv2d(1, 4, 3, padding=1), ReLU(), MaxPool2d(2),
              Conv2d(4, 4, 3, padding=1), ReLU(), MaxPool2d(2)]
    rf = receptive_field(layers)
    assert rf == ReceptiveField(size=(10, 10), jump=(4, 4), start=(-3, -3))
    assert rf.window(1, 1) == (range(1, 11), range(1, 11))
    support = receptive_field_support(layers, 8, 0, 0)
    want = np.zeros((8, 8), bool)
    want[:7, :7] = True
    np.testing.assert_array_equal(support, want)


def test_textbook_growth():
    # three 3x3 convolutions see 7x7; dilations 1, 2, 4 see 15x15
    assert receptive_field([Window(3)] * 3).size == (7, 7)
    dilated = [Window(3, dilation=d) for d in (1, 2, 4)]
    assert receptive_field(dilated).size == (15, 15)
    assert receptive_field_support(dilated, 15, 0, 0).all()
    rf = receptive_field([Window((3, 1), (2, 1), (1, 0)), Window(2, 2)])
    assert rf == ReceptiveField(size=(5, 2), jump=(4, 2), start=(-1, 0))


def test_residual_block_field_is_the_union():
    body = Sequential(Conv2d(2, 2, 3, padding=1), ReLU(),
                      Conv2d(2, 2, (1, 3), padding=(0, 1)))
    block = Sequential(Add(body), ReLU(), Conv2d(2, 2, 1, stride=2))
    assert receptive_field(block) == ReceptiveField((3, 5), (2, 2),
                                                    (-1, -2))
    positive(block, 0)
    x = np.random.default_rng(0).uniform(0.5, 1.5, (1, 2, 6, 7))
    for i, j in [(0, 0), (1, 2), (2, 3)]:
        np.testing.assert_array_equal(
            receptive_field_support(block, (6, 7), i, j),
            gradient_support(block, x, i, j))


def test_transposed_convolution_and_global_pool_supports():
    model = Sequential(ConvTranspose2d(2, 2, (3, 2), stride=(2, 3),
                                       padding=(1, 0), output_padding=1,
                                       dilation=(2, 1)),
                       ReLU(), Conv2d(2, 2, 2))
    positive(model, 1)
    x = np.random.default_rng(1).uniform(0.5, 1.5, (1, 2, 4, 3))
    H_out, W_out = model.forward(x).shape[2:]
    for i in range(H_out):
        for j in range(W_out):
            np.testing.assert_array_equal(
                receptive_field_support(model, (4, 3), i, j),
                gradient_support(model, x, i, j))
    pooled = Sequential(Conv2d(2, 2, 3), GlobalAvgPool2d())
    assert receptive_field_support(pooled, (5, 4), 0, 0).all()


def test_batch_norm_in_training_mode_mixes_every_input():
    model = Sequential(Conv2d(2, 2, 1), BatchNorm2d(2))
    positive(model, 2)
    x = np.random.default_rng(2).standard_normal((3, 2, 4, 5))
    out = model.forward(x)
    dout = np.zeros_like(out)
    dout[0, 0, 0, 0] = 1.0
    dx = model.backward(dout)
    assert np.all(dx != 0)
    assert receptive_field_support(model, (4, 5), 0, 0).sum() == 1


@pytest.mark.parametrize("call, pattern", [
    (lambda: receptive_field([Conv2d(1, 1, 3), Flatten()]),
     r"no receptive field through Flatten"),
    (lambda: receptive_field([Linear(4, 2)]),
     r"no receptive field through Linear\(4, 2\)"),
    (lambda: receptive_field([ConvTranspose2d(1, 1, 3, stride=2)]),
     r"transposed convolution"),
    (lambda: receptive_field([GlobalAvgPool2d()]), r"global pool"),
    (lambda: receptive_field_support([Window(3)], 5, 3, 0),
     r"output unit \(3, 0\) is outside the output of size \(3, 3\)"),
    (lambda: receptive_field_support([Window(3)], (2, 5), 0, 0),
     r"kernel of size 3.*padded input of size 2"),
    (lambda: receptive_field([Window(0)]), r"kernel_size \(0, 0\)"),
    (lambda: receptive_field_support([Window(3)], 0, 0, 0),
     r"input_size must be >= 1"),
])
def test_bad_input(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_docstring_examples():
    result = doctest.testmod(receptive)
    assert result.attempted >= 5 and result.failed == 0
