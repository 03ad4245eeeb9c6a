"""Grouped convolution: naive == fast (both algorithms), finite
differences, PyTorch, the per-group definition, bad input."""

import inspect

import numpy as np
import pytest

import cnnbp
from cnnbp import grouped, naive
from cnnbp.gradcheck import numerical_gradient, rel_error
from cnnbp.shapes import grouped_conv_output_shape

TOL = 1e-7


def random_case(rng):
    """A valid grouped configuration: non-square, per-axis settings."""
    while True:
        groups = int(rng.integers(1, 4))
        Cg, Fg = (int(v) for v in rng.integers(1, 3, size=2))
        N = int(rng.integers(1, 3))
        H, W = (int(v) for v in rng.integers(3, 8, size=2))
        HH, WW = (int(v) for v in rng.integers(1, 4, size=2))
        hyper = dict(
            stride=tuple(int(v) for v in rng.integers(1, 3, size=2)),
            padding=tuple(int(v) for v in rng.integers(0, 3, size=2)),
            dilation=tuple(int(v) for v in rng.integers(1, 3, size=2)),
            groups=groups)
        x_shape = (N, Cg * groups, H, W)
        w_shape = (Fg * groups, Cg, HH, WW)
        try:
            grouped_conv_output_shape(x_shape, w_shape, **hyper)
        except ValueError:
            continue
        return (rng.standard_normal(x_shape), rng.standard_normal(w_shape),
                rng.standard_normal(w_shape[0]), hyper)


def fixed_case(k, x_shape, w_shape, **hyper):
    rng = np.random.default_rng(100 + k)
    return (rng.standard_normal(x_shape), rng.standard_normal(w_shape),
            rng.standard_normal(w_shape[0]), hyper)


CASES = [random_case(np.random.default_rng(seed)) for seed in range(24)]
CASES += [
    # depthwise, 3x3 'same', non-square input
    fixed_case(0, (2, 4, 5, 7), (4, 1, 3, 3), padding=1, groups=4),
    # depthwise with channel multiplier 2, stride 2, leftover rows
    fixed_case(1, (2, 3, 8, 6), (6, 1, 3, 2), stride=2, groups=3),
    # two groups of 3 channels, 2 filters each, dilation per axis
    fixed_case(2, (1, 6, 7, 8), (4, 3, 2, 3), padding=(2, 1),
               dilation=(2, 1), groups=2),
    # groups = 1 is the ordinary convolution
    fixed_case(3, (2, 3, 6, 5), (2, 3, 3, 3), stride=(1, 2), groups=1),
]
IDS = [f"case{k}" for k in range(len(CASES))]

ALGORITHMS = {
    "auto": {},
    "matrix": dict(MATRIX_ENTRIES=2 ** 40, MATRIX_RATIO=10 ** 9,
                   MATRIX_BLOCK=10 ** 9),
    "im2col": dict(MATRIX_ENTRIES=0, CHUNK_ENTRIES=1),
}


@pytest.fixture(params=list(ALGORITHMS))
def algorithm(request, monkeypatch):
    """Force one of the fast twin's two algorithms (or let it choose)."""
    for name, value in ALGORITHMS[request.param].items():
        monkeypatch.setattr(grouped, name, value)
    return request.param


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def test_sweep_covers_the_hard_cases():
    shapes = [(x.shape, w.shape, h) for x, w, _, h in CASES]
    assert any(w[1] == 1 and h["groups"] > 1 for _, w, h in shapes)
    assert any(w[1] == 1 and w[0] > h["groups"] > 1 for _, w, h in shapes)
    assert any(w[1] > 1 and w[0] // h["groups"] > 1 and h["groups"] > 1
               for _, w, h in shapes)
    assert any(x[2] != x[3] for x, _, _ in shapes)
    assert any(w[2] != w[3] for _, w, _ in shapes)
    for key in ("stride", "padding", "dilation"):
        assert any(cnnbp.shapes.pair(h.get(key, 1), key)[0]
                   != cnnbp.shapes.pair(h.get(key, 1), key)[1]
                   for _, _, h in shapes)
    assert {h["groups"] for _, _, h in shapes} >= {1, 2, 3, 4}


@pytest.mark.parametrize("x, w, b, hyper", CASES, ids=IDS)
def test_naive_equals_fast(algorithm, x, w, b, hyper):
    out = naive.grouped_conv2d(x, w, b, **hyper)
    np.testing.assert_allclose(cnnbp.grouped_conv2d(x, w, b, **hyper), out,
                               rtol=1e-12, atol=1e-12)
    dout = np.random.default_rng(1).standard_normal(out.shape)
    slow = naive.grouped_conv2d_backward(dout, x, w, **hyper)
    fast = cnnbp.grouped_conv2d_backward(dout, x, w, **hyper)
    for s, f, arr in zip(slow, fast, (x, w, b)):
        assert s.shape == f.shape == arr.shape
        np.testing.assert_allclose(f, s, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("x, w, b, hyper", CASES[::3], ids=IDS[::3])
@pytest.mark.parametrize("twin", [naive, cnnbp], ids=["naive", "fast"])
def test_finite_differences(twin, x, w, b, hyper):
    out = twin.grouped_conv2d(x, w, b, **hyper)
    dout = np.random.default_rng(2).standard_normal(out.shape)
    dx, dw, db = twin.grouped_conv2d_backward(dout, x, w, **hyper)
    fast = cnnbp.grouped_conv2d
    assert rel_error(dx, numerical_gradient(
        lambda t: fast(t, w, b, **hyper), x, dout)) < TOL
    assert rel_error(dw, numerical_gradient(
        lambda t: fast(x, t, b, **hyper), w, dout)) < TOL
    assert rel_error(db, numerical_gradient(
        lambda t: fast(x, w, t, **hyper), b, dout)) < TOL


@pytest.mark.parametrize("x, w, b, hyper", CASES, ids=IDS)
def test_matches_pytorch(torch, algorithm, x, w, b, hyper):
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ref = torch.nn.functional.conv2d(tx, tw, tb, **hyper)
    out = cnnbp.grouped_conv2d(x, w, b, **hyper)
    np.testing.assert_allclose(out, ref.detach().numpy(), atol=1e-12)
    dout = np.random.default_rng(3).standard_normal(out.shape)
    ref.backward(torch.tensor(dout))
    for got, want in zip(cnnbp.grouped_conv2d_backward(dout, x, w, **hyper),
                         (tx.grad, tw.grad, tb.grad)):
        np.testing.assert_allclose(got, want.numpy(), atol=1e-11)


@pytest.mark.parametrize("x, w, b, hyper", CASES[::2], ids=IDS[::2])
def test_is_one_convolution_per_group(x, w, b, hyper):
    groups = hyper["groups"]
    rest = {k: v for k, v in hyper.items() if k != "groups"}
    Cg, Fg = x.shape[1] // groups, w.shape[0] // groups
    parts = [cnnbp.conv2d(x[:, g * Cg:(g + 1) * Cg],
                          w[g * Fg:(g + 1) * Fg], b[g * Fg:(g + 1) * Fg],
                          **rest) for g in range(groups)]
    np.testing.assert_allclose(cnnbp.grouped_conv2d(x, w, b, **hyper),
                               np.concatenate(parts, axis=1), atol=1e-12)


@pytest.mark.parametrize("x, w, b, hyper", CASES[:8], ids=IDS[:8])
def test_adjoint_identity(algorithm, x, w, b, hyper):
    out = cnnbp.grouped_conv2d(x, w, None, **hyper)
    g = np.random.default_rng(4).standard_normal(out.shape)
    dx, dw, db = cnnbp.grouped_conv2d_backward(g, x, w, **hyper)
    assert np.isclose(np.sum(out * g), np.sum(x * dx), rtol=1e-12)
    assert np.isclose(np.sum(out * g), np.sum(w * dw), rtol=1e-12)
    assert np.isclose(np.sum(g), np.sum(db), rtol=1e-12)


def test_groups_one_is_conv2d():
    x, w, b, hyper = CASES[-1]
    rest = {k: v for k, v in hyper.items() if k != "groups"}
    np.testing.assert_allclose(cnnbp.grouped_conv2d(x, w, b, **hyper),
                               naive.conv2d(x, w, b, **rest), atol=1e-12)
    dout = np.ones(naive.conv2d(x, w, b, **rest).shape)
    for got, want in zip(cnnbp.grouped_conv2d_backward(dout, x, w, **hyper),
                         naive.conv2d_backward(dout, x, w, **rest)):
        np.testing.assert_allclose(got, want, atol=1e-11)


def test_conv2d_with_groups_is_grouped_conv2d():
    """Live once cnnbp.conv2d takes groups= (conv.py delegates to
    cnnbp.grouped for groups != 1)."""
    if "groups" not in inspect.signature(cnnbp.conv2d).parameters:
        pytest.skip("cnnbp.conv2d has no groups= yet")
    for x, w, b, hyper in CASES[::4]:
        out = cnnbp.conv2d(x, w, b, **hyper)
        np.testing.assert_array_equal(
            out, cnnbp.grouped_conv2d(x, w, b, **hyper))
        dout = np.random.default_rng(6).standard_normal(out.shape)
        for got, want in zip(
                cnnbp.conv2d_backward(dout, x, w, **hyper),
                cnnbp.grouped_conv2d_backward(dout, x, w, **hyper)):
            np.testing.assert_array_equal(got, want)
    x, w, b, hyper = CASES[-1]
    for bad in (True, 1.0):
        with pytest.raises(ValueError, match="groups must be an integer"):
            cnnbp.conv2d(x, w, groups=bad)


def test_depthwise_filter_sees_only_its_channel():
    x = np.zeros((1, 3, 4, 5))
    x[0, 1] = 1.0
    w = np.ones((3, 1, 3, 3))
    out = cnnbp.grouped_conv2d(x, w, padding=1, groups=3)
    assert np.all(out[0, 0] == 0) and np.all(out[0, 2] == 0)
    assert out[0, 1, 1, 1] == 9.0 and out[0, 1, 0, 0] == 4.0


def test_algorithm_choice():
    use = grouped._use_matrix
    assert use((256, 32, 8, 8), (32, 1, 3, 3), 32, (8, 8))
    assert use((256, 32, 4, 4), (64, 1, 3, 3), 32, (4, 4))
    assert not use((256, 32, 8, 8), (32, 8, 3, 3), 4, (8, 8))
    assert not use((2, 16, 28, 28), (16, 1, 3, 3), 16, (28, 28))


def test_dtypes(algorithm):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 4, 5, 6)).astype(np.float32)
    w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    out = cnnbp.grouped_conv2d(x, w, np.zeros(4, np.float32), padding=1,
                               groups=2)
    assert out.dtype == np.float32
    grads = cnnbp.grouped_conv2d_backward(np.ones_like(out), x, w,
                                          padding=1, groups=2)
    assert all(g.dtype == np.float32 for g in grads)
    ref = naive.grouped_conv2d(x.astype(float), w.astype(float), padding=1,
                               groups=2)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    xi = np.arange(2 * 4 * 3 * 3).reshape(2, 4, 3, 3)
    assert cnnbp.grouped_conv2d(xi, np.ones((4, 1, 2, 2), int),
                                groups=4).dtype == np.float64


X = np.zeros((2, 6, 5, 7))
W = np.zeros((4, 3, 3, 3))
BAD = [
    ("groups do not divide C", lambda t: t.grouped_conv2d(
        X[:, :5], W, groups=2),
     r"groups=2 must divide.*\(2, 5, 5, 7\) \(C=5\).*\(4, 3, 3, 3\)"),
    ("groups do not divide K", lambda t: t.grouped_conv2d(
        X, np.zeros((3, 3, 3, 3)), groups=2),
     r"groups=2 must divide.*number of filters K.*\(3, 3, 3, 3\) \(K=3\)"),
    ("w channels not C/groups", lambda t: t.grouped_conv2d(
        X, np.zeros((6, 3, 3, 3)), groups=3),
     r"C/groups = 6/3 = 2 for x of shape \(2, 6, 5, 7\).*\(6, 3, 3, 3\)"),
    ("groups 0", lambda t: t.grouped_conv2d(X, W, groups=0),
     r"groups must be >= 1, got 0"),
    ("float groups", lambda t: t.grouped_conv2d(X, W, groups=2.0),
     r"groups must be an integer, got 2.0"),
    ("bias length", lambda t: t.grouped_conv2d(X, W, np.zeros(3),
                                               groups=2),
     r"b must have shape \(K,\) = \(4,\).*\(4, 3, 3, 3\).*\(3,\)"),
    ("kernel too large", lambda t: t.grouped_conv2d(
        X, np.zeros((4, 3, 6, 3)), groups=2),
     r"kernel \(6, 3\).*larger than the padded input \(5, 7\)"),
    ("dout shape", lambda t: t.grouped_conv2d_backward(
        np.zeros((2, 4, 3, 4)), X, W, groups=2),
     r"dout has shape \(2, 4, 3, 4\).*\(2, 4, 3, 5\)"),
    ("x rank", lambda t: t.grouped_conv2d(X[0], W, groups=2),
     r"x must be 4-D.*\(6, 5, 7\)"),
]


@pytest.mark.parametrize("twin", [naive, cnnbp], ids=["naive", "fast"])
@pytest.mark.parametrize("name, call, pattern", BAD,
                         ids=[c[0] for c in BAD])
def test_bad_input_raises_value_error_naming_shapes(twin, name, call,
                                                    pattern):
    with pytest.raises(ValueError, match=pattern):
        call(twin)
