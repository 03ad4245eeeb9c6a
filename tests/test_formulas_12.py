"""Claims of book/12_receptive_field.ipynb, checked against cnnbp,
finite differences and PyTorch."""
import numpy as np
import pytest

import cnnbp
from cnnbp import naive
from cnnbp.data import load_digits_split
from cnnbp.gradcheck import numerical_gradient
from cnnbp.layers import (AvgPool2d, Conv2d, Flatten, Linear, MaxPool2d,
                          ReLU, Sequential)
from cnnbp.receptive import Window, receptive_field, receptive_field_support


def build_model(c1=16, c2=32, seed=0):
    """Chapter 11's network, layer for layer."""
    rng = np.random.default_rng(seed)
    return Sequential(
        Conv2d(1, c1, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),
        Conv2d(c1, c2, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),
        Flatten(), Linear(c2 * 2 * 2, 10, rng=rng))


def recurrence(stack):
    """The chapter's recurrence, one axis: stack of (k, s, p, d)."""
    r, j, start = 1, 1, 0
    for k, s, p, d in stack:
        r, start, j = r + d * (k - 1) * j, start - p * j, j * s
    return r, j, start


def random_config(rng):
    """Per-axis kernel, stride, padding, dilation and an input that fits."""
    k = tuple(int(v) for v in rng.integers(1, 4, 2))
    s = tuple(int(v) for v in rng.integers(1, 3, 2))
    p = tuple(int(v) for v in rng.integers(0, 3, 2))
    d = tuple(int(v) for v in rng.integers(1, 4, 2))
    hw = tuple(int(d[a] * (k[a] - 1) + 1 + rng.integers(0, 5))
               for a in range(2))
    return k, s, p, d, hw


@pytest.mark.parametrize("seed", range(8))
def test_one_layer_window_and_effective_kernel(seed):
    """Unit i reads rows is - p + md: a span of d(k - 1) + 1 (torch and
    finite differences agree on the support)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    k, s, p, d, hw = random_config(rng)
    x = rng.uniform(0.5, 1.5, (1, 1) + hw)
    w = rng.uniform(0.5, 1.5, (1, 1) + k)
    out = cnnbp.conv2d(x, w, stride=s, padding=p, dilation=d)
    i, j = (int(rng.integers(0, n)) for n in out.shape[2:])
    expected = np.zeros(hw, bool)
    for m in range(k[0]):
        for n in range(k[1]):
            u, v = i * s[0] - p[0] + m * d[0], j * s[1] - p[1] + n * d[1]
            if 0 <= u < hw[0] and 0 <= v < hw[1]:
                expected[u, v] = True
    xt = torch.tensor(x, requires_grad=True)
    ot = torch.nn.functional.conv2d(xt, torch.tensor(w), stride=s,
                                    padding=p, dilation=d)
    ot[0, 0, i, j].backward()
    dout = np.zeros_like(out)
    dout[0, 0, i, j] = 1.0
    fd = numerical_gradient(
        lambda x_: cnnbp.conv2d(x_, w, stride=s, padding=p, dilation=d),
        x, dout)
    np.testing.assert_array_equal(xt.grad.numpy()[0, 0] != 0, expected)
    np.testing.assert_array_equal(np.abs(fd[0, 0]) > 1e-6, expected)
    np.testing.assert_array_equal(
        receptive_field_support([Window(k, s, p, d)], hw, i, j), expected)
    field = receptive_field([Window(k, s, p, d)])
    assert field.size == tuple(d[a] * (k[a] - 1) + 1 for a in range(2))
    assert naive.dilate(w, d).shape[2:] == field.size
    np.testing.assert_allclose(
        cnnbp.conv2d(x, naive.dilate(w, d), stride=s, padding=p), out)


def test_two_layers_term_by_term():
    """O2[i] = sum F2[m] F1[n] X[s1 (i + m) + n] for stride s1 = 1, 2."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 1, 1, 14))
    f1, f2 = rng.standard_normal((2, 1, 1, 1, 3))
    for s1, r in [(1, 5), (2, 7)]:
        o2 = cnnbp.conv2d(cnnbp.conv2d(x, f1, stride=(1, s1)), f2)[0, 0, 0]
        for i in range(o2.size):
            terms = sum(f2[0, 0, 0, m] * f1[0, 0, 0, n]
                        * x[0, 0, 0, s1 * (i + m) + n]
                        for m in range(3) for n in range(3))
            assert np.isclose(o2[i], terms)
        reads = {s1 * m + n for m in range(3) for n in range(3)}
        assert reads == set(range(r))
        stack = [Window((1, 3), (1, s1)), Window((1, 3))]
        assert receptive_field(stack).size == (1, r)
        assert receptive_field(stack).jump == (1, s1)
    # The stride on the second layer: unit 0 unchanged, next unit 2 on.
    stack = [Window((1, 3)), Window((1, 3), (1, 2))]
    assert receptive_field(stack).size[1] == 5
    cols = [np.flatnonzero(receptive_field_support(stack, (1, 14), 0, u)[0])
            for u in range(2)]
    assert cols[0].tolist() == [0, 1, 2, 3, 4]
    assert cols[1].tolist() == [2, 3, 4, 5, 6]


def random_stack(rng):
    """Per-axis (k, s, p, d) layers, as cnnbp layers with positive
    weights (avg pools for the pools) and the input they fit."""
    while True:
        geometry = []
        for _ in range(int(rng.integers(2, 5))):
            k = tuple(int(v) for v in rng.integers(1, 4, 2))
            s = tuple(int(v) for v in rng.integers(1, 3, 2))
            d = tuple(int(v) for v in rng.integers(1, 3, 2))
            p = tuple(int(rng.integers(0, v // 2 + 1)) for v in k)
            geometry.append((k, s, p, d))
        hw = tuple(int(v) for v in rng.integers(12, 24, 2))
        try:
            size = hw
            for k, s, p, d in geometry:
                size = tuple(cnnbp.output_size(size[a], k[a], s[a], p[a],
                                               d[a]) for a in range(2))
        except ValueError:
            continue
        return geometry, hw, size


@pytest.mark.parametrize("seed", range(10))
def test_recurrence_is_the_support_of_the_input_gradient(seed):
    """Window of unit (i, j) = start + i j .. + r - 1, cut to the input,
    is the bounding box of the torch gradient's support; receptive_field
    and the chapter's one-axis recurrence agree."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(100 + seed)
    geometry, hw, size = random_stack(rng)
    xt = torch.tensor(rng.uniform(0.5, 1.5, (1, 1) + hw),
                      requires_grad=True)
    h = xt
    for k, s, p, d in geometry:
        w = torch.tensor(rng.uniform(0.5, 1.5, (1, 1) + k))
        h = torch.nn.functional.conv2d(h, w, stride=s, padding=p,
                                       dilation=d)
    i, j = (int(rng.integers(0, n)) for n in size)
    h[0, 0, i, j].backward()
    grad = xt.grad.numpy()[0, 0] != 0
    field = receptive_field([Window(*g) for g in geometry])
    for a, unit in enumerate((i, j)):
        axis = [(g[0][a], g[1][a], g[2][a], g[3][a]) for g in geometry]
        assert recurrence(axis) == (field.size[a], field.jump[a],
                                    field.start[a])
        lo = field.start[a] + unit * field.jump[a]
        hi = min(lo + field.size[a], hw[a]) - 1
        nonzero = np.flatnonzero(grad.any(axis=1 - a))
        assert (nonzero[0], nonzero[-1]) == (max(lo, 0), hi)
    np.testing.assert_array_equal(
        receptive_field_support([Window(*g) for g in geometry], hw, i, j),
        grad)


@pytest.fixture(scope="module")
def spatial():
    return Sequential(*build_model().layers[:6])


@pytest.fixture(scope="module")
def x_train():
    return load_digits_split(seed=0)[0]


def support(spatial, x, i, j, channels=slice(None)):
    out = spatial.forward(x)
    dout = np.zeros_like(out)
    dout[:, channels, i, j] = 1.0
    return spatial.backward(dout)[:, 0] != 0


def test_chapter_11_field(spatial):
    field = receptive_field(spatial)
    assert field == ((10, 10), (4, 4), (-3, -3))
    assert field.window(0, 0) == (range(-3, 7), range(-3, 7))
    assert field.window(1, 1) == (range(1, 11), range(1, 11))
    for i in range(2):
        for j in range(2):
            assert receptive_field_support(spatial, 8, i, j).sum() == 49


def test_chapter_11_gradient_fills_the_field(spatial, x_train):
    """First digit: support = field for unit (0, 0); all digits: never
    outside, not always all of it, union = field; channel 0 alone is
    off for the first digit."""
    assert len(x_train) == 1077
    first = support(spatial, x_train[:1], 0, 0)[0]
    np.testing.assert_array_equal(
        first, receptive_field_support(spatial, 8, 0, 0))
    for i in range(2):
        for j in range(2):
            mask = receptive_field_support(spatial, 8, i, j)
            every = support(spatial, x_train, i, j)
            assert not (every & ~mask).any()
            assert every.sum(axis=(1, 2)).min() < 49
            np.testing.assert_array_equal(every.any(axis=0), mask)
    assert support(spatial, x_train[:1], 0, 0, channels=0).sum() == 0
    assert support(spatial, x_train[:1], 1, 1)[0].sum() < 49


def test_chapter_11_support_matches_torch(spatial, x_train):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    conv1, conv2 = spatial.layers[0], spatial.layers[3]
    x = torch.tensor(x_train[:5], requires_grad=True)
    h = F.max_pool2d(F.relu(F.conv2d(x, torch.tensor(conv1.params["w"]),
                                     padding=1)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, torch.tensor(conv2.params["w"]),
                                     padding=1)), 2)
    h[:, :, 1, 1].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[:, 0] != 0,
                                  support(spatial, x_train[:5], 1, 1))


STACK = [Window(3, padding=1), Window(3, padding=1), Window(2, 2),
         Window(3, padding=1), Window(3, padding=1), Window(2, 2),
         Window(3, padding=2, dilation=2), Window(3, padding=4, dilation=4)]


def test_growth_table():
    rows = [receptive_field(STACK[:k]) for k in range(len(STACK) + 1)]
    assert [f.size[0] for f in rows] == [1, 3, 5, 6, 10, 14, 16, 32, 64]
    assert [f.jump[0] for f in rows] == [1, 1, 1, 2, 2, 2, 4, 4, 4]
    assert [f.start[0] for f in rows] == [0, -1, -2, -2, -4, -6, -6, -14,
                                          -30]
    adds = [b.size[0] - a.size[0] for a, b in zip(rows, rows[1:])]
    assert adds == [2, 2, 1, 4, 4, 2, 16, 32]


def test_dilation_growth_and_holes():
    def sizes(dilations):
        return [receptive_field([Window(3, dilation=d)
                                 for d in dilations[:k]]).size[0]
                for k in range(1, len(dilations) + 1)]
    assert sizes((1, 1, 1, 1)) == [3, 5, 7, 9]
    assert sizes((1, 2, 4, 8)) == [2 ** (L + 1) - 1 for L in range(1, 5)]
    assert sizes((2, 2, 2, 2)) == [5, 9, 13, 17]

    def cols(dilations):
        stack = [Window((1, 3), dilation=(1, d)) for d in dilations]
        return np.flatnonzero(
            receptive_field_support(stack, (1, 11), 0, 0)[0]).tolist()
    assert cols((2, 2)) == [0, 2, 4, 6, 8]
    assert cols((1, 2)) == list(range(7))


def gradient_span(stack, n=64):
    """The chapter's check, one axis: weights 1, input 1, middle unit."""
    layers = []
    for k, s, p, d in stack:
        conv = Conv2d(1, 1, k, s, p, d)
        conv.params["w"][...] = 1.0
        layers.append(conv)
    net = Sequential(*layers)
    out = net.forward(np.ones((1, 1, n, n)))
    dout = np.zeros_like(out)
    dout[0, 0, out.shape[2] // 2, out.shape[3] // 2] = 1.0
    rows = np.flatnonzero(net.backward(dout)[0, 0].any(axis=1))
    return int(rows[-1] - rows[0] + 1)


CASES = {
    "chapter 11": [(3, 1, 1, 1), (2, 2, 0, 1), (3, 1, 1, 1), (2, 2, 0, 1)],
    "s 2, then d 2": [(3, 2, 1, 1), (3, 1, 2, 2)],
    "d 1, 2, 4": [(3, 1, 1, 1), (3, 1, 2, 2), (3, 1, 4, 4)],
    "7/2 stem": [(7, 2, 3, 1), (3, 2, 1, 1), (3, 1, 1, 1), (3, 1, 1, 1)],
}


def test_mistakes_table():
    from cnnbp.exercises import receptive as R
    truth = {name: gradient_span(stack) for name, stack in CASES.items()}
    assert list(truth.values()) == [10, 11, 15, 27]
    # An avg pool routes like the all-ones convolution of its geometry.
    pool = Sequential(AvgPool2d(2), Conv2d(1, 1, 3, padding=1))
    pool.layers[1].params["w"][...] = 1.0
    out = pool.forward(np.ones((1, 1, 8, 8)))
    dout = np.zeros_like(out)
    dout[0, 0, 1, 1] = 1.0
    np.testing.assert_array_equal(
        pool.backward(dout)[0, 0] != 0,
        receptive_field_support([Window(2, 2), Window(3, padding=1)], 8,
                                1, 1))
    right = {name: recurrence(stack)[0] for name, stack in CASES.items()}
    assert right == truth
    wrong_on = {}
    for mistake in R.RECEPTIVE_FIELD[:4]:
        wrong_on[mistake.fn.__name__] = [
            name for name, stack in CASES.items()
            if mistake.fn(tuple(stack))[0] != truth[name]]
    assert wrong_on == {
        "rf_no_jump": ["chapter 11", "s 2, then d 2", "7/2 stem"],
        "rf_jump_first": ["chapter 11", "s 2, then d 2", "7/2 stem"],
        "rf_no_dilation": ["s 2, then d 2", "d 1, 2, 4"],
        "rf_dilated_dk": ["s 2, then d 2", "d 1, 2, 4"],
    }
    # "right for any stack whose only stride comes last"
    stack = ((3, 1, 0, 2), (5, 1, 1, 1), (3, 4, 0, 1))
    assert R.rf_no_jump(stack)[0] == recurrence(stack)[0]


def test_exercise_2_answers():
    def needed(first, then, target=33):
        stack = list(first)
        while receptive_field(stack).size[0] < target:
            stack.append(then(len(stack)))
        return len(stack) - len(first), receptive_field(stack).size[0]
    assert needed([], lambda n: Window(3)) == (16, 33)
    assert needed([], lambda n: Window(3, dilation=2 ** n)) == (5, 63)
    assert needed([Window(3), Window(2, 2)], lambda n: Window(3)) == (8, 36)
    assert receptive_field([Window(3), Window(2, 2)]).size[0] == 4
