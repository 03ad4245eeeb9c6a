"""Transposed convolution: naive == fast, finite differences, PyTorch,
the adjoint of convolution (output_padding = leftover rows), bad input."""

import numpy as np
import pytest

import cnnbp
from cnnbp import grouped, naive
from cnnbp.gradcheck import numerical_gradient, rel_error
from cnnbp.shapes import conv_transpose_output_shape, pair

TOL = 1e-7


def random_case(rng):
    """A valid configuration: non-square, per-axis, any output_padding."""
    while True:
        groups = int(rng.integers(1, 4))
        Cg, Fg = (int(v) for v in rng.integers(1, 3, size=2))
        N = int(rng.integers(1, 3))
        H, W = (int(v) for v in rng.integers(2, 5, size=2))
        HH, WW = (int(v) for v in rng.integers(1, 4, size=2))
        s = tuple(int(v) for v in rng.integers(1, 4, size=2))
        d = tuple(int(v) for v in rng.integers(1, 3, size=2))
        op = tuple(int(rng.integers(0, max(s[a], d[a]))) for a in range(2))
        hyper = dict(stride=s, dilation=d, output_padding=op,
                     padding=tuple(int(v) for v in rng.integers(0, 3, 2)),
                     groups=groups)
        x_shape = (N, Cg * groups, H, W)
        w_shape = (Cg * groups, Fg, HH, WW)
        try:
            conv_transpose_output_shape(x_shape, w_shape, **hyper)
        except ValueError:
            continue
        return (rng.standard_normal(x_shape), rng.standard_normal(w_shape),
                rng.standard_normal(Fg * groups), hyper)


def fixed_case(k, x_shape, w_shape, F, **hyper):
    rng = np.random.default_rng(200 + k)
    return (rng.standard_normal(x_shape), rng.standard_normal(w_shape),
            rng.standard_normal(F), hyper)


CASES = [random_case(np.random.default_rng(seed)) for seed in range(24)]
CASES += [
    # the usual 2x upsampling: k 3, s 2, p 1, output_padding 1
    fixed_case(0, (2, 3, 3, 4), (3, 2, 3, 3), 2, stride=2, padding=1,
               output_padding=1),
    # output_padding >= stride, allowed because it is < dilation
    fixed_case(1, (1, 2, 3, 2), (2, 2, 2, 3), 2, stride=1, dilation=3,
               output_padding=(2, 1)),
    # depthwise transposed convolution, per-axis everything
    fixed_case(2, (2, 4, 3, 3), (4, 1, 3, 2), 4, stride=(2, 3),
               padding=(1, 0), output_padding=(1, 2), groups=4),
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
    hypers = [h for *_, h in CASES]
    assert any(pair(h.get("output_padding", 0), "op")[a]
               >= pair(h.get("stride", 1), "s")[a]
               for h in hypers for a in range(2))
    assert any(pair(h.get("output_padding", 0), "op")[0]
               != pair(h.get("output_padding", 0), "op")[1]
               for h in hypers)
    assert {h.get("groups", 1) for h in hypers} >= {1, 2, 3, 4}
    assert any(x.shape[2] != x.shape[3] for x, *_ in CASES)
    assert any(w.shape[2] != w.shape[3] for _, w, *_ in CASES)


@pytest.mark.parametrize("x, w, b, hyper", CASES, ids=IDS)
def test_naive_equals_fast(algorithm, x, w, b, hyper):
    out = naive.conv_transpose2d(x, w, b, **hyper)
    np.testing.assert_allclose(cnnbp.conv_transpose2d(x, w, b, **hyper),
                               out, rtol=1e-12, atol=1e-12)
    dout = np.random.default_rng(1).standard_normal(out.shape)
    slow = naive.conv_transpose2d_backward(dout, x, w, **hyper)
    fast = cnnbp.conv_transpose2d_backward(dout, x, w, **hyper)
    for s, f, arr in zip(slow, fast, (x, w, b)):
        assert s.shape == f.shape == arr.shape
        np.testing.assert_allclose(f, s, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("x, w, b, hyper", CASES[::3], ids=IDS[::3])
@pytest.mark.parametrize("twin", [naive, cnnbp], ids=["naive", "fast"])
def test_finite_differences(twin, x, w, b, hyper):
    out = twin.conv_transpose2d(x, w, b, **hyper)
    dout = np.random.default_rng(2).standard_normal(out.shape)
    dx, dw, db = twin.conv_transpose2d_backward(dout, x, w, **hyper)
    fast = cnnbp.conv_transpose2d
    assert rel_error(dx, numerical_gradient(
        lambda t: fast(t, w, b, **hyper), x, dout)) < TOL
    assert rel_error(dw, numerical_gradient(
        lambda t: fast(x, t, b, **hyper), w, dout)) < TOL
    assert rel_error(db, numerical_gradient(
        lambda t: fast(x, w, t, **hyper), b, dout)) < TOL


@pytest.mark.parametrize("x, w, b, hyper", CASES, ids=IDS)
def test_matches_pytorch(torch, algorithm, x, w, b, hyper):
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ref = torch.nn.functional.conv_transpose2d(tx, tw, tb, **hyper)
    out = cnnbp.conv_transpose2d(x, w, b, **hyper)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out, ref.detach().numpy(), atol=1e-12)
    dout = np.random.default_rng(3).standard_normal(out.shape)
    ref.backward(torch.tensor(dout))
    grads = cnnbp.conv_transpose2d_backward(dout, x, w, **hyper)
    for got, want in zip(grads, (tx.grad, tw.grad, tb.grad)):
        np.testing.assert_allclose(got, want.numpy(), atol=1e-11)


@pytest.mark.parametrize("x, w, b, hyper", CASES, ids=IDS)
def test_adjoint_of_grouped_convolution(x, w, b, hyper):
    """<conv_T(x), y> == <x, conv(y)>, same w, stride, padding, ...."""
    out = cnnbp.conv_transpose2d(x, w, None, **hyper)
    y = np.random.default_rng(4).standard_normal(out.shape)
    conv_hyper = {k: v for k, v in hyper.items() if k != "output_padding"}
    back = cnnbp.grouped_conv2d(y, w, **conv_hyper)
    H, W = x.shape[2:]
    assert np.isclose(np.sum(out * y), np.sum(x * back[:, :, :H, :W]),
                      rtol=1e-12)


@pytest.mark.parametrize("seed", range(12))
def test_input_gradient_is_transposed_convolution(seed):
    """dL/dX of conv2d == conv_transpose2d(dL/dO) with output_padding =
    the leftover rows r = (H + 2p - d(k - 1) - 1) mod s."""
    rng = np.random.default_rng(300 + seed)
    H, W = (int(v) for v in rng.integers(4, 9, size=2))
    k = tuple(int(v) for v in rng.integers(1, 4, size=2))
    s = tuple(int(v) for v in rng.integers(1, 4, size=2))
    p = tuple(int(v) for v in rng.integers(0, 2, size=2))
    d = tuple(int(v) for v in rng.integers(1, 3, size=2))
    x = rng.standard_normal((2, 3, H, W))
    w = rng.standard_normal((4, 3) + k)
    out = cnnbp.conv2d(x, w, stride=s, padding=p, dilation=d)
    dout = rng.standard_normal(out.shape)
    dx = cnnbp.conv2d_backward(dout, x, w, s, p, d)[0]
    r = tuple((n + 2 * p[a] - d[a] * (k[a] - 1) - 1) % s[a]
              for a, n in enumerate((H, W)))
    for twin in (naive, cnnbp):
        np.testing.assert_allclose(
            twin.conv_transpose2d(dout, w, stride=s, padding=p,
                                  output_padding=r, dilation=d),
            dx, atol=1e-12)


def test_checkerboard_when_kernel_not_multiple_of_stride():
    """Ones through k = 3, s = 2: uneven overlap; k = 4, s = 2: even."""
    x = np.ones((1, 1, 4, 4))
    odd = cnnbp.conv_transpose2d(x, np.ones((1, 1, 3, 3)), stride=2)[0, 0]
    even = cnnbp.conv_transpose2d(x, np.ones((1, 1, 4, 4)), stride=2)[0, 0]
    np.testing.assert_array_equal(odd[2:6, 2:6], [[4, 2, 4, 2],
                                                  [2, 1, 2, 1],
                                                  [4, 2, 4, 2],
                                                  [2, 1, 2, 1]])
    assert np.all(even[2:-2, 2:-2] == 4)


def test_output_size_formula():
    for H, k, s, p, op, d in [(3, 3, 2, 1, 1, 1), (4, 2, 2, 0, 0, 1),
                              (2, 3, 1, 0, 2, 3), (5, 1, 3, 0, 2, 1)]:
        (_, _, H_out, _), _ = conv_transpose_output_shape(
            (1, 1, H, H), (1, 1, k, k), s, p, op, d)
        assert H_out == (H - 1) * s - 2 * p + d * (k - 1) + op + 1
        assert cnnbp.output_size(H_out, k, s, p, d) == H + op // s


def test_dtypes():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 2, 3, 4)).astype(np.float32)
    w = rng.standard_normal((2, 3, 3, 3)).astype(np.float32)
    out = cnnbp.conv_transpose2d(x, w, stride=2)
    assert out.dtype == np.float32
    grads = cnnbp.conv_transpose2d_backward(np.ones_like(out), x, w,
                                            stride=2)
    assert all(g.dtype == np.float32 for g in grads)
    assert cnnbp.conv_transpose2d(np.ones((1, 1, 2, 2), int),
                                  np.ones((1, 1, 2, 2), int)).dtype == float


X = np.zeros((2, 4, 3, 5))
W = np.zeros((4, 3, 3, 3))
BAD = [
    ("output_padding = stride", lambda t: t.conv_transpose2d(
        X, W, stride=2, output_padding=2),
     r"output_padding.*smaller than either stride or dilation.*\(2, 2\).*"
     r"stride \(2, 2\), dilation \(1, 1\)"),
    ("output_padding per axis", lambda t: t.conv_transpose2d(
        X, W, stride=(2, 3), dilation=(1, 2), output_padding=(1, 3)),
     r"output_padding \(1, 3\), stride \(2, 3\), dilation \(1, 2\)"),
    ("negative output_padding", lambda t: t.conv_transpose2d(
        X, W, output_padding=-1), r"output_padding must be >= 0"),
    ("groups do not divide C", lambda t: t.conv_transpose2d(
        X, W, groups=3),
     r"groups=3 must divide the input channels C.*\(2, 4, 3, 5\) \(C=4\)"),
    ("w rows not C", lambda t: t.conv_transpose2d(X, W[:3]),
     r"w must have shape \(C, K/groups, HH, WW\) with C=4.*"
     r"\(2, 4, 3, 5\).*\(3, 3, 3, 3\)"),
    ("bias length", lambda t: t.conv_transpose2d(X, W, np.zeros(3),
                                                 groups=2),
     r"b must have shape \(K,\) = \(6,\).*\(4, 3, 3, 3\).*\(3,\)"),
    ("output too small", lambda t: t.conv_transpose2d(
        X[:, :, :1, :1], W[:, :, :1, :1], padding=1),
     r"output size \(-1, -1\) is too small.*\(2, 4, 1, 1\)"),
    ("dout shape", lambda t: t.conv_transpose2d_backward(
        np.zeros((2, 3, 5, 6)), X, W),
     r"dout has shape \(2, 3, 5, 6\).*conv_transpose2d.*\(2, 3, 5, 7\)"),
    ("w rank", lambda t: t.conv_transpose2d(X, W[0]),
     r"w must be 4-D with shape \(C, K/groups, HH, WW\).*\(3, 3, 3\)"),
]


@pytest.mark.parametrize("twin", [naive, cnnbp], ids=["naive", "fast"])
@pytest.mark.parametrize("name, call, pattern", BAD,
                         ids=[c[0] for c in BAD])
def test_bad_input_raises_value_error_naming_shapes(twin, name, call,
                                                    pattern):
    with pytest.raises(ValueError, match=pattern):
        call(twin)
