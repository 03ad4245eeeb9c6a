"""Every convolution algorithm behind conv2d's ``algo``: correctness,
accuracy bounds, the layer's cache, and that the products reach BLAS."""

import doctest
from fractions import Fraction

import numpy as np
import pytest

import cnnbp
from cnnbp import blas, conv, naive, polyphase, winograd
from cnnbp.gradcheck import numerical_gradient, rel_error
from cnnbp.layers import Conv2d
from cnnbp.shapes import conv_output_shape

TOL = 1e-7
ALGOS = [a for a in conv.ALGOS if a != "auto"]
TILES = sorted(winograd.POINTS)


def random_case(seed, winograd_only):
    """Non-square x and per-axis hyper-parameters; 3x3, stride 1 and
    dilation 1 when ``winograd_only``."""
    rng = np.random.default_rng(seed)
    while True:
        N, C, F = (int(v) for v in rng.integers(1, 4, size=3))
        H, W = (int(v) for v in rng.integers(1, 12, size=2))
        if winograd_only:
            HH = WW = 3
            stride = dilation = (1, 1)
            padding = tuple(int(v) for v in rng.integers(0, 4, size=2))
        else:
            HH, WW = (int(v) for v in rng.integers(1, 4, size=2))
            stride = tuple(int(v) for v in rng.integers(1, 4, size=2))
            padding = tuple(int(v) for v in rng.integers(0, 3, size=2))
            dilation = tuple(int(v) for v in rng.integers(1, 3, size=2))
        hyper = dict(stride=stride, padding=padding, dilation=dilation)
        try:
            conv_output_shape((N, C, H, W), (F, C, HH, WW), **hyper)
        except ValueError:
            continue
        return (rng.standard_normal((N, C, H, W)),
                rng.standard_normal((F, C, HH, WW)),
                rng.standard_normal(F), hyper)


GENERAL = [random_case(seed, False) for seed in range(16)]
THREE = [random_case(100 + seed, True) for seed in range(16)]


def cases_for(algo):
    """The sweep an algorithm can run: Winograd only 3x3, stride 1."""
    return THREE if algo.startswith("winograd") else GENERAL + THREE


PAIRS = [(a, k) for a in ["auto"] + ALGOS for k in range(len(cases_for(a)))]


def test_sweeps_cover_the_hard_cases():
    def leftover(x, w, h, axis):
        return (x.shape[2 + axis] + 2 * h["padding"][axis]
                - h["dilation"][axis] * (w.shape[2 + axis] - 1) - 1
                ) % h["stride"][axis]

    assert any(leftover(x, w, h, 0) != leftover(x, w, h, 1)
               for x, w, _, h in GENERAL)
    for cases in (GENERAL, THREE):
        assert any(x.shape[2] != x.shape[3] for x, *_ in cases)
        assert any(h["padding"][0] != h["padding"][1] for *_, h in cases)
    assert {s for *_, h in GENERAL for s in h["stride"]} == {1, 2, 3}
    assert any(h["dilation"] != (1, 1) for *_, h in GENERAL)
    assert {p for *_, h in THREE for p in h["padding"]} == {0, 1, 2, 3}
    # per tile size, outputs that fill the last tile and outputs that
    # leave part of it empty
    out_lengths = {x.shape[2 + k] + 2 * h["padding"][k] - 2
                   for x, _, _, h in THREE for k in (0, 1)}
    for m in TILES:
        assert {L % m == 0 for L in out_lengths} == {True, False}, m


@pytest.mark.parametrize("algo, k", PAIRS)
def test_every_algorithm_equals_the_naive_twin(algo, k):
    x, w, b, hyper = cases_for(algo)[k]
    out = cnnbp.conv2d(x, w, b, **hyper, algo=algo)
    assert rel_error(out, naive.conv2d(x, w, b, **hyper)) < 1e-12
    dout = np.random.default_rng(k).standard_normal(out.shape)
    fast = cnnbp.conv2d_backward(dout, x, w, **hyper, algo=algo)
    slow = naive.conv2d_backward(dout, x, w, **hyper)
    for f, s, arr in zip(fast, slow, (x, w, b)):
        assert f.shape == arr.shape and f.dtype == np.float64
        assert rel_error(f, s) < 1e-12


@pytest.mark.parametrize("algo", ALGOS)
def test_every_algorithm_against_finite_differences(algo):
    for x, w, b, hyper in cases_for(algo)[:3]:
        def f(x_, w_, b_):
            return cnnbp.conv2d(x_, w_, b_, **hyper, algo=algo)

        dout = np.random.default_rng(1).standard_normal(f(x, w, b).shape)
        dx, dw, db = cnnbp.conv2d_backward(dout, x, w, **hyper, algo=algo)
        assert rel_error(dx, numerical_gradient(
            lambda t: f(t, w, b), x, dout)) < TOL
        assert rel_error(dw, numerical_gradient(
            lambda t: f(x, t, b), w, dout)) < TOL
        assert rel_error(db, numerical_gradient(
            lambda t: f(x, w, t), b, dout)) < TOL


@pytest.mark.parametrize("m", TILES)
def test_winograd_matrices_compute_the_correlation_exactly(m):
    """sum_xi AT[r, xi] G[xi, k] BT[xi, l] == 1 exactly when l == r + k,
    else 0: then y = AT @ ((G @ g) * (BT @ d)) is y[r] = sum_k g[k]
    d[r + k] for every g and d (the identity is trilinear)."""
    AT, G, BT = winograd.transforms(m)
    alpha = m + 2
    assert (len(AT), len(AT[0]), len(G), len(G[0]), len(BT)) == (
        m, alpha, alpha, 3, alpha)
    for r in range(m):
        for k in range(3):
            for u in range(alpha):
                total = sum(AT[r][xi] * G[xi][k] * BT[xi][u]
                            for xi in range(alpha))
                assert total == Fraction(int(u == r + k)), (r, k, u)
    # the bias trick: the column of point 1 in AT is all ones
    one = winograd.POINTS[m].index(1)
    assert all(row[one] == 1 for row in AT)
    # the input transform adds integers; G keeps the fractions
    assert all(v.denominator == 1 for row in BT for v in row)


@pytest.mark.parametrize("module", [blas, conv, polyphase, winograd])
def test_docstring_examples(module):
    assert doctest.testmod(module).failed == 0


@pytest.mark.parametrize("m", TILES)
def test_winograd_1d_uses_alpha_products(m):
    rng = np.random.default_rng(m)
    d, g = rng.standard_normal(m + 2), rng.standard_normal(3)
    np.testing.assert_allclose(winograd.winograd_1d(d, g, m),
                               np.correlate(d, g, "valid"), atol=1e-12)


def test_winograd_2_matches_lavin_and_gray():
    """F(2, 3) of Lavin and Gray (2016), but for the sign of the
    infinity position in AT and BT (their product is unchanged)."""
    AT, G, BT = (np.array(t, float) for t in winograd.transforms(2))
    signs = np.array([1, 1, 1, -1.0])
    np.testing.assert_array_equal(AT * signs, [[1, 1, 1, 0],
                                               [0, 1, -1, -1]])
    np.testing.assert_array_equal(G, [
        [1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    np.testing.assert_array_equal(BT * signs[:, None], [
        [1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]])


def test_tile_sizes_per_shape_and_dtype():
    f32, f64 = np.float32, np.float64
    assert winograd.tile_sizes((14, 14), f32, 64) == (5, 5)
    assert winograd.tile_sizes((14, 14), f64, 64) == (7, 7)
    assert winograd.tile_sizes((14, 8), f32, 64) == (5, 4)
    assert winograd.tile_sizes((28, 28), f32, 64) == (6, 6)
    # many channels add more rounding: smaller tiles, then none
    assert winograd.tile_sizes((14, 14), f32, 1024) == (4, 4)
    assert winograd.tile_sizes((14, 14), f32, 4096) == (2, 2)
    assert winograd.tile_sizes((14, 14), f64, 4096) == (7, 7)
    assert winograd.tile_sizes((14, 14), f32, 10 ** 6) is None


LAYER1 = ((3, 28, 28), (32, 3, 3, 3), 2, 1)
LAYER2 = ((32, 14, 14), (64, 32, 3, 3), 1, 1)


def course_layer(layer, N, dtype, seed=0, nonnegative=False):
    x_chw, w_shape, s, p = layer
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N,) + x_chw)
    if nonnegative:
        x = np.abs(x)
    w, b = rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
    out_shape, _ = conv_output_shape(x.shape, w_shape, s, p)
    dout = rng.standard_normal(out_shape)
    return [a.astype(dtype) for a in (x, w, b, dout)] + [s, p]


def spec_of(x, w, s, p):
    out_shape, hyper = conv_output_shape(x.shape, w.shape, s, p)
    return conv.ConvSpec(x.shape, w.shape, out_shape, hyper, x.dtype)


def test_auto_choice_for_the_course_layers_and_the_chapters():
    choose = conv.choose_algo
    for dtype, name in ((np.float32, "winograd5"),
                        (np.float64, "winograd7")):
        x, w, _, _, s, p = course_layer(LAYER2, 256, dtype)
        assert choose(spec_of(x, w, s, p)).name == name
        x, w, _, _, s, p = course_layer(LAYER1, 256, dtype)
        assert choose(spec_of(x, w, s, p)).name == "polyphase"
    # small layers (the chapters, the digits network) stay on im2col
    for x_shape, w_shape, s in [((2, 3, 5, 5), (4, 3, 3, 3), 1),
                                ((32, 16, 4, 4), (32, 16, 3, 3), 1),
                                ((512, 16, 4, 4), (32, 16, 3, 3), 1),
                                ((2, 3, 7, 7), (4, 3, 3, 3), 2)]:
        spec = spec_of(np.zeros(x_shape), np.zeros(w_shape), s, 1)
        assert choose(spec).name == "im2col", x_shape
    # stride 2: polyphase for few taps per output, im2col for many
    for w_shape, name in (((128, 64, 1, 1), "polyphase"),
                          ((64, 64, 3, 3), "im2col")):
        x, w = (np.broadcast_to(np.float32(0), shape)
                for shape in ((64, 64, 28, 28), w_shape))
        assert choose(spec_of(x, w, 2, 0)).name == name
    half = spec_of(np.zeros((256, 32, 14, 14), np.float16),
                   np.zeros((64, 32, 3, 3), np.float16), 1, 1)
    assert choose(half).name == "im2col"


def test_forced_algorithms_refuse_what_they_cannot_run():
    x = np.zeros((2, 3, 9, 8))
    with pytest.raises(ValueError, match=r"3x3 kernel.*\(4, 3, 5, 5\)"):
        cnnbp.conv2d(x, np.zeros((4, 3, 5, 5)), algo="winograd")
    with pytest.raises(ValueError, match="stride"):
        cnnbp.conv2d_backward(np.zeros((2, 4, 4, 3)), x,
                              np.zeros((4, 3, 3, 3)), stride=2,
                              algo="winograd4")
    with pytest.raises(ValueError, match="float32 or float64"):
        cnnbp.conv2d(x.astype(np.float16), np.zeros((4, 3, 3, 3),
                                                    np.float16),
                     algo="polyphase")
    for bad in ("fft", None, 3):
        with pytest.raises(ValueError, match="algo must be one of"):
            cnnbp.conv2d(x, np.zeros((4, 3, 3, 3)), algo=bad)
        with pytest.raises(ValueError, match="algo must be one of"):
            Conv2d(3, 4, 3, algo=bad)


@pytest.mark.parametrize("layer", [LAYER1, LAYER2], ids=["layer1",
                                                         "layer2"])
@pytest.mark.parametrize("nonnegative", [False, True],
                         ids=["normal", "nonnegative"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_default_meets_the_accuracy_bounds(layer, dtype, nonnegative):
    """Relative error of out, dx, dw, db against exact arithmetic: a
    reference in a wider type (float64 for float32, long double for
    float64) on the same rounded inputs."""
    N = 64 if dtype is np.float32 else 32 if layer is LAYER1 else 8
    x, w, b, dout, s, p = course_layer(layer, N, dtype, 1, nonnegative)
    expected = "polyphase" if layer is LAYER1 else "winograd"
    assert conv.choose_algo(spec_of(x, w, s, p)).name.startswith(expected)
    wide = np.float64 if dtype is np.float32 else np.longdouble
    exact = [a.astype(wide) for a in (x, w, b, dout)]
    ref = [cnnbp.conv2d(*exact[:3], s, p, algo="im2col")]
    ref += cnnbp.conv2d_backward(exact[3], *exact[:2], s, p, algo="im2col")
    got = [cnnbp.conv2d(x, w, b, s, p)]
    got += cnnbp.conv2d_backward(dout, x, w, s, p)
    bound = conv.ACCURACY[np.dtype(dtype)]
    for g, r in zip(got, ref):
        assert g.dtype == dtype
        err = float(np.linalg.norm(g - r) / np.linalg.norm(r))
        assert err <= bound, (err, bound)


def winograd_errors(dtype, m, C, F, nonnegative, seed=0):
    """Largest relative error of F(m x m, 3 x 3) over out, dx, dw."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, C, 14, 13))
    if nonnegative:
        x = np.abs(x)
    w = rng.standard_normal((F, C, 3, 3))
    dout = rng.standard_normal((2, F, 14, 13))
    x, w, dout = (a.astype(dtype) for a in (x, w, dout))
    exact = [a.astype(np.longdouble) for a in (x, w, dout)]
    ref = [cnnbp.conv2d(*exact[:2], None, 1, 1, algo="im2col")]
    ref += cnnbp.conv2d_backward(exact[2], *exact[:2], 1, 1,
                                 algo="im2col")[:2]
    got = [cnnbp.conv2d(x, w, None, 1, 1, algo=f"winograd{m}")]
    got += cnnbp.conv2d_backward(dout, x, w, 1, 1, algo=f"winograd{m}")[:2]
    return max(float(np.linalg.norm(g - r) / np.linalg.norm(r))
               for g, r in zip(got, ref))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m", TILES)
def test_winograd_error_model_is_conservative(dtype, m):
    for C, F in ((4, 8), (48, 16)):
        for nonnegative in (False, True):
            err = winograd_errors(dtype, m, C, F, nonnegative)
            predicted = winograd.predicted_error((m, m), dtype, max(C, F))
            assert err <= predicted, (C, F, nonnegative, err, predicted)
            # and not absurdly so: the model is a measurement
            assert err > predicted / 30


def test_the_default_does_not_take_a_path_that_misses_the_bound():
    """F(7 x 7) is the cheapest tiling of the course's second layer but
    misses float32's bound; the default takes F(5 x 5)."""
    assert winograd_errors(np.float32, 7, 32, 64, False) > 1e-5
    assert winograd_errors(np.float32, 5, 32, 64, False) < 1e-5
    spec = conv.ConvSpec((256, 32, 14, 14), (64, 32, 3, 3),
                         (256, 64, 14, 14), ((1, 1), (1, 1), (1, 1)),
                         np.dtype(np.float32))
    assert conv.choose_algo(spec).name == "winograd5"


def test_default_is_deterministic():
    for layer in (LAYER1, LAYER2):
        x, w, b, dout, s, p = course_layer(layer, 20, np.float64)
        first = [cnnbp.conv2d(x, w, b, s, p)]
        first += cnnbp.conv2d_backward(dout, x, w, s, p)
        again = [cnnbp.conv2d(x, w, b, s, p)]
        again += cnnbp.conv2d_backward(dout, x, w, s, p)
        for a, b_ in zip(first, again):
            np.testing.assert_array_equal(a, b_)


MUST_NOT_RUN = {"im2col": (conv, "_im2col"),
                "polyphase": (polyphase, "_fill_cols"),
                "winograd": (winograd, "_input_transform")}


@pytest.mark.parametrize("algo", ALGOS + ["auto"])
def test_layer_runs_the_algorithm_and_caches_for_backward(algo,
                                                          monkeypatch):
    x, w, b, hyper = THREE[5]
    layer = Conv2d(x.shape[1], w.shape[0], 3, padding=hyper["padding"],
                   algo=algo)
    layer.params["w"], layer.params["b"] = w, b
    out = layer.forward(x)
    np.testing.assert_array_equal(
        out, cnnbp.conv2d(x, w, b, **hyper, algo=algo))
    dout = np.random.default_rng(2).standard_normal(out.shape)
    expected = cnnbp.conv2d_backward(dout, x, w, **hyper, algo=algo)
    # the backward pass reuses the forward's cache: no columns, no
    # transformed input is computed again
    name = layer._cache[0].name
    module, function = next(v for k, v in MUST_NOT_RUN.items()
                            if name.startswith(k))

    def fail(*args):
        raise AssertionError(f"{function} ran in the backward pass")

    monkeypatch.setattr(module, function, fail)
    dx = layer.backward(dout)
    for got, want in zip((dx, layer.grads["w"], layer.grads["b"]),
                         expected):
        np.testing.assert_array_equal(got, want)
    assert (f"algo='{algo}'" in repr(layer)) == (algo != "auto")


def test_layer_float32_stays_float32():
    for layer_def, algo in ((LAYER1, "polyphase"), (LAYER2, "winograd")):
        x, w, b, dout, s, p = course_layer(layer_def, 3, np.float32)
        layer = Conv2d(w.shape[1], w.shape[0], 3, s, p, dtype=np.float32,
                       algo=algo)
        out = layer.forward(x)
        dx = layer.backward(dout.astype(np.float64))
        assert out.dtype == dx.dtype == layer.grads["w"].dtype == np.float32


# -- every product reaches BLAS ------------------------------------------

def record_products(monkeypatch):
    """Replace blas.matmul by a recorder; returns the list of calls."""
    calls = []
    real = blas.matmul

    def recording(a, b, out=None):
        result = real(a, b, out=out)
        calls.append((a, b, result))
        return result

    monkeypatch.setattr(blas, "matmul", recording)
    return calls


def layouts_of_every_product(monkeypatch):
    """(algo, a, b, out) of every product of every algorithm, forward and
    backward (layer and functional), on the course layers and two odd
    shapes, float32 and float64."""
    calls = record_products(monkeypatch)
    problems = [course_layer(LAYER1, 3, dt) for dt in (np.float32,
                                                       np.float64)]
    problems += [course_layer(LAYER2, 3, dt) for dt in (np.float32,
                                                        np.float64)]
    rng = np.random.default_rng(3)
    problems.append([rng.standard_normal((2, 3, 7, 9)),
                     rng.standard_normal((4, 3, 3, 3)),
                     rng.standard_normal(4),
                     rng.standard_normal((2, 4, 7, 9)), 1, 1])
    problems.append([rng.standard_normal((3, 3, 8, 7)),
                     rng.standard_normal((2, 3, 3, 3)),
                     rng.standard_normal(2),
                     rng.standard_normal((3, 2, 3, 2)), 3, (1, 0)])
    found = []
    for x, w, b, dout, s, p in problems:
        three = w.shape[2:] == (3, 3) and s == 1
        for algo in ALGOS:
            if algo.startswith("winograd") and not three:
                continue
            start = len(calls)
            out, cache = conv.forward_cached(x, w, b, s, p, 1, algo)
            conv.backward_cached(dout, cache)
            cnnbp.conv2d_backward(dout, x, w, s, p, algo=algo)
            found += [(algo,) + c for c in calls[start:]]
    return found


def test_every_product_is_handed_to_blas_as_it_is(monkeypatch):
    found = layouts_of_every_product(monkeypatch)
    assert {c[0] for c in found} == set(ALGOS)
    for algo, a, b, out in found:
        kind = blas.blas_kernel(a, b, out)
        assert kind == "gemm", (algo, a.shape, a.strides, b.shape,
                                b.strides, out.shape, out.strides, kind)
    # the views: most products write into a strided part of a larger
    # array or read one in place
    assert sum(not c[3].flags.c_contiguous for c in found) > 20


def same_layout(a):
    """A zero array with a's shape and strides (a fresh buffer)."""
    extent = sum((n - 1) * s for n, s in zip(a.shape, a.strides)) + 1
    base = np.zeros(extent // a.itemsize + 1, a.dtype)
    return np.lib.stride_tricks.as_strided(base, a.shape, a.strides)


def fma_probe(a, b, out):
    """``np.matmul`` on operands laid out like (a, b, out) whose first
    output is u*u - u*u, the two products j apart along the sum: exactly
    0 in NumPy's own loop (each product rounded), the rounding error of
    u*u (nonzero) with a fused multiply-add, which BLAS kernels use.
    Kernels that keep several partial sums see the pair only when both
    products land in one of them, so j runs over 1, 2, 4, 8.  Returns
    the largest magnitude seen."""
    u = 1 + (2.0 ** -12 if a.dtype == np.float32 else 2.0 ** -27)
    seen = 0.0
    for j in (1, 2, 4, 8):
        if j >= a.shape[-1]:
            break
        A, B, O = same_layout(a), same_layout(b), same_layout(out)
        lead_a, lead_b = (0,) * (A.ndim - 2), (0,) * (B.ndim - 2)
        A[lead_a + (0, 0)] = A[lead_a + (0, j)] = u
        B[lead_b + (0, 0)], B[lead_b + (j, 0)] = u, -u
        np.matmul(A, B, out=O)
        seen = max(seen, abs(float(O[(0,) * O.ndim])))
    return seen


def test_blas_kernel_agrees_with_numpy_and_every_product_reaches_blas(
        monkeypatch):
    rng = np.random.default_rng(4)
    big = rng.standard_normal((40, 64))
    plain = (big[:8, :8], big[:8, :8].copy(), np.empty((8, 8)))
    if fma_probe(*plain) == 0:
        pytest.skip("this BLAS adds without fused multiply-adds: its "
                    "results cannot be told from NumPy's loop")
    # NumPy's loop: a 1-row product with a non-contiguous right operand
    loop = (big[:1, :2], big[:4:2, :6:2], np.empty((1, 3)))
    assert blas.blas_kernel(*loop) == "loop"
    if fma_probe(*loop) != 0:
        pytest.skip("NumPy's own loop uses fused multiply-adds here: "
                    "its results cannot be told from BLAS's")
    layouts = [plain,
               (big[:8, :8].T, big[8:16, :8], np.empty((8, 8))),
               (big[:8, :8], big[:8, :8], np.empty((8, 16))[:, ::2])]
    assert [blas.blas_kernel(*c) for c in layouts] == [
        "gemm", "gemm", "gemm+copy"]
    for a, b, out in layouts:
        assert fma_probe(a, b, out) != 0
    for algo, a, b, out in layouts_of_every_product(monkeypatch):
        assert fma_probe(a, b, out) != 0, (algo, a.shape, b.shape)
