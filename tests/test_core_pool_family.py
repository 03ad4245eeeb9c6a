"""Max pool with padding and ceil_mode, average and global average pool:
naive == fast, finite differences, PyTorch, tie rule, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cnnbp
from cnnbp import naive, pool
from cnnbp.gradcheck import numerical_gradient, rel_error
from cnnbp.layers import AvgPool2d, GlobalAvgPool2d, MaxPool2d
from cnnbp.shapes import pool2d_output_shape

TOL = 1e-7

# (x shape, size, stride, padding, ceil_mode)
CONFIGS = [
    ((2, 3, 5, 7), 2, None, 1, False),           # padding, stride = size
    ((2, 2, 6, 7), 3, 2, 1, True),               # ceil adds a window
    ((1, 2, 6, 5), (3, 2), (2, 1), (1, 0), True),  # per-axis
    ((2, 1, 7, 8), (2, 3), (3, 2), (1, 1), True),  # gaps, ceil, padding
    ((1, 2, 4, 9), (4, 3), (1, 2), (2, 1), False),  # overlapping
    ((2, 2, 5, 5), 6, 6, 0, True),               # window > input, ceil
    ((1, 1, 6, 7), 2, 3, 1, True),               # last window trimmed
    ((2, 2, 8, 6), 3, 2, 0, False),              # the old call
]
IDS = [f"cfg{k}" for k in range(len(CONFIGS))]


def case(k, ties=False):
    shape, size, stride, padding, ceil_mode = CONFIGS[k]
    rng = np.random.default_rng(k)
    x = (rng.integers(0, 3, size=shape).astype(float) if ties
         else rng.standard_normal(shape))
    return x, dict(size=size, stride=stride, padding=padding,
                   ceil_mode=ceil_mode)


def torch_kwargs(hyper):
    return dict(kernel_size=hyper["size"], stride=hyper["stride"],
                padding=hyper["padding"], ceil_mode=hyper["ceil_mode"])


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.fixture(params=["matrix", "offsets"])
def avg_algorithm(request, monkeypatch):
    """Force one of the average pool's two algorithms."""
    if request.param == "matrix":
        monkeypatch.setattr(pool, "POOL_MATRIX_RATIO", 10 ** 9)
    else:
        monkeypatch.setattr(pool, "POOL_MATRIX_ENTRIES", 0)
    return request.param


def test_configs_cover_ceil_mode_and_padding():
    def windows(shape, size, stride, padding, ceil_mode):
        try:
            out, _ = pool2d_output_shape(shape, size, stride, padding,
                                         ceil_mode)
        except ValueError:
            return 0
        return out[2] * out[3]

    assert sum(windows(*c[:4], True) > windows(*c[:4], False)
               for c in CONFIGS if c[4]) >= 4
    shape, size, stride, padding, _ = CONFIGS[6]
    assert windows(shape, size, stride, padding, True) == windows(
        shape, size, stride, padding, False)
    assert any(c[3] != 0 and not c[4] for c in CONFIGS)
    assert any(cnnbp.shapes.pair(c[3], "p")[0]
               != cnnbp.shapes.pair(c[3], "p")[1] for c in CONFIGS)


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("k", range(len(CONFIGS)), ids=IDS)
def test_maxpool_naive_equals_fast(k, ties):
    x, hyper = case(k, ties)
    out = naive.maxpool2d(x, **hyper)
    np.testing.assert_array_equal(cnnbp.maxpool2d(x, **hyper), out)
    dout = np.random.default_rng(10 + k).standard_normal(out.shape)
    np.testing.assert_allclose(cnnbp.maxpool2d_backward(dout, x, **hyper),
                               naive.maxpool2d_backward(dout, x, **hyper),
                               atol=1e-14)


def check_finite_differences(twin, kind, k):
    x, hyper = case(k)
    fwd = getattr(cnnbp, f"{kind}pool2d")
    out = fwd(x, **hyper)
    dout = np.random.default_rng(20 + k).standard_normal(out.shape)
    dx = getattr(twin, f"{kind}pool2d_backward")(dout, x, **hyper)
    ndx = numerical_gradient(lambda t: fwd(t, **hyper), x, dout)
    assert rel_error(dx, ndx) < TOL


@pytest.mark.parametrize("k", range(len(CONFIGS)), ids=IDS)
@pytest.mark.parametrize("twin", [naive, cnnbp], ids=["naive", "fast"])
def test_maxpool_finite_differences(twin, k):
    check_finite_differences(twin, "max", k)


@pytest.mark.parametrize("k", range(len(CONFIGS)), ids=IDS)
@pytest.mark.parametrize("twin", [naive, cnnbp], ids=["naive", "fast"])
def test_avgpool_finite_differences(twin, k, avg_algorithm):
    check_finite_differences(twin, "avg", k)


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("k", range(len(CONFIGS)), ids=IDS)
def test_maxpool_matches_pytorch_including_ties(torch, k, ties):
    """Ties: PyTorch routes to the first maximum in row-major order."""
    x, hyper = case(k, ties)
    tx = torch.tensor(x, requires_grad=True)
    ref = torch.nn.functional.max_pool2d(tx, **torch_kwargs(hyper))
    out = cnnbp.maxpool2d(x, **hyper)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_array_equal(out, ref.detach().numpy())
    dout = np.random.default_rng(30 + k).standard_normal(out.shape)
    ref.backward(torch.tensor(dout))
    for twin in (naive, cnnbp):
        np.testing.assert_allclose(twin.maxpool2d_backward(dout, x, **hyper),
                                   tx.grad.numpy(), atol=1e-14)


def test_ties_route_to_first_maximum_in_row_major_order():
    # Window (0, 1) of a 3x3 pool, stride 2, padding 1 covers rows -1..1,
    # columns 1..3: the 7s at (0, 3), (1, 1) and (1, 2) tie; (0, 3)
    # comes first in row-major order.
    x = np.zeros((1, 1, 3, 4))
    x[0, 0, 0, 3] = x[0, 0, 1, 1] = x[0, 0, 1, 2] = 7.0
    dout = np.zeros((1, 1, 2, 2))
    dout[0, 0, 0, 1] = 1.0
    for twin in (naive, cnnbp):
        dx = twin.maxpool2d_backward(dout, x, 3, 2, 1)
        assert dx[0, 0, 0, 3] == 1.0 and dx.sum() == 1.0


def test_padding_never_wins(torch):
    """An all -inf window sends its gradient to its first cell of X."""
    x = np.full((1, 1, 3, 3), -np.inf)
    dout = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    tx = torch.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(tx, 3, 2, 1).backward(torch.tensor(dout))
    expected = np.zeros_like(x)
    expected[0, 0, 0, 0], expected[0, 0, 0, 1] = 1, 2
    expected[0, 0, 1, 0], expected[0, 0, 1, 1] = 3, 4
    np.testing.assert_array_equal(tx.grad.numpy(), expected)
    for twin in (naive, cnnbp):
        np.testing.assert_array_equal(twin.maxpool2d(x, 3, 2, 1), -np.inf)
        np.testing.assert_array_equal(
            twin.maxpool2d_backward(dout, x, 3, 2, 1), expected)
    layer = MaxPool2d(3, 2, 1)
    layer.forward(x)
    np.testing.assert_array_equal(layer.backward(dout), expected)


def test_old_positional_calls_unchanged():
    x, _ = case(7)
    for twin in (naive, cnnbp):
        out = twin.maxpool2d(x, 3, 2)
        assert out.shape == (2, 2, 3, 2)
        np.testing.assert_array_equal(out, twin.maxpool2d(
            x, size=3, stride=2, padding=0, ceil_mode=False))
        win = x[:, :, 2:5, 0:3].reshape(2, 2, -1)
        np.testing.assert_array_equal(out[:, :, 1, 0], win.max(axis=-1))
        dout = np.ones(out.shape)
        dx = twin.maxpool2d_backward(dout, x, 3, 2)
        np.testing.assert_array_equal(
            dx, twin.maxpool2d_backward(dout, x, 3, 2, 0, False))


def test_nan_follows_np_argmax():
    """A window holding NaN outputs NaN and routes to its first NaN, as
    np.argmax does; the other windows are unaffected."""
    x, hyper = case(2)
    x[0, 1, 2, 1] = x[0, 1, 3, 0] = np.nan
    dout = np.random.default_rng(35).standard_normal(
        cnnbp.maxpool2d(x, **hyper).shape)
    clean = x.copy()
    clean[0, 1] = 0.0
    want = cnnbp.maxpool2d_backward(dout, clean, **hyper)
    want[0, 1] = 0.0
    out = cnnbp.maxpool2d(x, **hyper)
    windows_with_nan = np.isnan(out[0, 1])
    assert windows_with_nan.any() and not np.isnan(np.delete(out, 1, 1)
                                                   ).any()
    dx = cnnbp.maxpool2d_backward(dout, x, **hyper)
    layer = MaxPool2d(*hyper.values())
    np.testing.assert_array_equal(layer.forward(x), out)
    np.testing.assert_array_equal(layer.backward(dout), dx)
    np.testing.assert_allclose(np.delete(dx, 1, 1), np.delete(want, 1, 1),
                               atol=1e-14)
    (kh, kw), (sh, sw), (ph, pw) = ((3, 2), (2, 1), (1, 0))
    expected = np.zeros(x.shape[2:])
    for i, j in zip(*np.nonzero(windows_with_nan)):
        win = np.full((kh, kw), -np.inf)
        for m in range(kh):
            for n in range(kw):
                u, v = i * sh - ph + m, j * sw - pw + n
                if 0 <= u < x.shape[2] and 0 <= v < x.shape[3]:
                    win[m, n] = x[0, 1, u, v]
        m, n = divmod(int(np.argmax(win)), kw)
        expected[i * sh - ph + m, j * sw - pw + n] += dout[0, 1, i, j]
    np.testing.assert_allclose(dx[0, 1][np.isnan(x[0, 1])],
                               expected[np.isnan(x[0, 1])], atol=1e-14)
    assert np.abs(expected[np.isnan(x[0, 1])]).sum() > 0


def test_windows_of_256_cells_or_more():
    x = np.random.default_rng(36).standard_normal((1, 2, 17, 19))
    for size, stride in [((17, 16), (1, 3)), ((16, 16), 1)]:
        out = cnnbp.maxpool2d(x, size, stride)
        np.testing.assert_array_equal(out, naive.maxpool2d(x, size, stride))
        dout = np.ones(out.shape)
        np.testing.assert_array_equal(
            cnnbp.maxpool2d_backward(dout, x, size, stride),
            naive.maxpool2d_backward(dout, x, size, stride))


@pytest.mark.parametrize("include", [True, False], ids=["incl", "excl"])
@pytest.mark.parametrize("k", range(len(CONFIGS)), ids=IDS)
def test_avgpool_naive_equals_fast_and_pytorch(torch, k, include,
                                                avg_algorithm):
    x, hyper = case(k)
    out = cnnbp.avgpool2d(x, **hyper, count_include_pad=include)
    np.testing.assert_allclose(
        naive.avgpool2d(x, **hyper, count_include_pad=include), out,
        atol=1e-14)
    tx = torch.tensor(x, requires_grad=True)
    ref = torch.nn.functional.avg_pool2d(tx, **torch_kwargs(hyper),
                                         count_include_pad=include)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out, ref.detach().numpy(), atol=1e-14)
    dout = np.random.default_rng(40 + k).standard_normal(out.shape)
    ref.backward(torch.tensor(dout))
    for twin in (naive, cnnbp):
        np.testing.assert_allclose(
            twin.avgpool2d_backward(dout, x, **hyper,
                                    count_include_pad=include),
            tx.grad.numpy(), atol=1e-14)


@pytest.mark.parametrize("k", range(len(CONFIGS)), ids=IDS)
def test_avgpool_without_pad_counting_finite_differences(k,
                                                         avg_algorithm):
    x, hyper = case(k)
    fwd = cnnbp.avgpool2d
    out = fwd(x, **hyper, count_include_pad=False)
    dout = np.random.default_rng(50 + k).standard_normal(out.shape)
    ndx = numerical_gradient(
        lambda t: fwd(t, **hyper, count_include_pad=False), x, dout)
    for twin in (naive, cnnbp):
        dx = twin.avgpool2d_backward(dout, x, **hyper,
                                     count_include_pad=False)
        assert rel_error(dx, ndx) < TOL


def test_avgpool_divisor_counts_padding_but_not_ceil_overhang(
        avg_algorithm):
    x = np.ones((1, 1, 5, 5))
    for twin in (naive, cnnbp):
        np.testing.assert_allclose(twin.avgpool2d(x, 3, 2, 1)[0, 0],
                                   [[4 / 9, 6 / 9, 4 / 9],
                                    [6 / 9, 1, 6 / 9],
                                    [4 / 9, 6 / 9, 4 / 9]])
        np.testing.assert_allclose(
            twin.avgpool2d(x, 3, 2, 1, count_include_pad=False), 1.0)
        # ceil: the last window covers row 4 only; row 5 is beyond the
        # padded input (no padding here), so it is not counted.
        np.testing.assert_allclose(
            twin.avgpool2d(x, 2, 2, 0, ceil_mode=True), 1.0)


def test_max_routes_where_average_spreads():
    x = np.array([[[[1.0, 5.0], [2.0, 3.0]]]])
    dout = np.array([[[[8.0]]]])
    for twin in (naive, cnnbp):
        np.testing.assert_array_equal(
            twin.maxpool2d_backward(dout, x), [[[[0, 8.0], [0, 0]]]])
        np.testing.assert_array_equal(
            twin.avgpool2d_backward(dout, x), [[[[2.0, 2.0], [2.0, 2.0]]]])


def test_global_avgpool(torch):
    x = np.random.default_rng(60).standard_normal((2, 3, 4, 5))
    out = cnnbp.global_avgpool2d(x)
    assert out.shape == (2, 3, 1, 1)
    np.testing.assert_allclose(naive.global_avgpool2d(x), out, atol=1e-15)
    tx = torch.tensor(x, requires_grad=True)
    ref = torch.nn.functional.adaptive_avg_pool2d(tx, 1)
    np.testing.assert_allclose(out, ref.detach().numpy(), atol=1e-15)
    dout = np.random.default_rng(61).standard_normal(out.shape)
    ref.backward(torch.tensor(dout))
    ndx = numerical_gradient(cnnbp.global_avgpool2d, x, dout)
    for twin in (naive, cnnbp):
        dx = twin.global_avgpool2d_backward(dout, x)
        np.testing.assert_allclose(dx, tx.grad.numpy(), atol=1e-15)
        assert rel_error(dx, ndx) < TOL
    np.testing.assert_allclose(out, cnnbp.avgpool2d(x, (4, 5)), atol=1e-15)


def test_layers_match_functions():
    x, hyper = case(2)
    layer = MaxPool2d(hyper["size"], hyper["stride"], hyper["padding"],
                      hyper["ceil_mode"])
    out = layer.forward(x)
    np.testing.assert_array_equal(out, cnnbp.maxpool2d(x, **hyper))
    dout = np.random.default_rng(70).standard_normal(out.shape)
    np.testing.assert_array_equal(layer.backward(dout),
                                  cnnbp.maxpool2d_backward(dout, x, **hyper))
    layer = AvgPool2d(hyper["size"], hyper["stride"], hyper["padding"],
                      hyper["ceil_mode"], count_include_pad=False)
    out = layer.forward(x)
    np.testing.assert_array_equal(
        out, cnnbp.avgpool2d(x, **hyper, count_include_pad=False))
    np.testing.assert_array_equal(
        layer.backward(dout), cnnbp.avgpool2d_backward(
            dout, x, **hyper, count_include_pad=False))
    layer = GlobalAvgPool2d()
    out = layer.forward(x)
    np.testing.assert_array_equal(out, cnnbp.global_avgpool2d(x))
    np.testing.assert_array_equal(
        layer.backward(np.ones_like(out)),
        cnnbp.global_avgpool2d_backward(np.ones_like(out), x))
    assert repr(MaxPool2d(2)) == "MaxPool2d(size=2, stride=None)"
    assert "ceil_mode=True" in repr(MaxPool2d(3, 2, 1, True))


def test_dtypes():
    x = np.ones((1, 2, 5, 5), np.float32)
    for fwd in (cnnbp.maxpool2d, cnnbp.avgpool2d):
        assert fwd(x, 3, 2, 1, True).dtype == np.float32
    assert cnnbp.avgpool2d_backward(np.ones((1, 2, 3, 3), np.float32), x,
                                    3, 2, 1, True).dtype == np.float32
    assert cnnbp.global_avgpool2d(x).dtype == np.float32
    xi = np.arange(25).reshape(1, 1, 5, 5)
    assert cnnbp.avgpool2d(xi, 2, padding=1).dtype == np.float64


@settings(max_examples=30, deadline=None, database=None)
@given(
    H=st.integers(1, 7), W=st.integers(1, 7),
    kh=st.integers(1, 4), kw=st.integers(1, 4),
    sh=st.integers(1, 3), sw=st.integers(1, 3),
    ph=st.integers(0, 2), pw=st.integers(0, 2),
    ceil_mode=st.booleans(), include=st.booleans(), ties=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_property_naive_equals_fast(H, W, kh, kw, sh, sw, ph, pw,
                                    ceil_mode, include, ties, seed):
    rng = np.random.default_rng(seed)
    x = (rng.integers(0, 3, size=(1, 2, H, W)).astype(float) if ties
         else rng.standard_normal((1, 2, H, W)))
    hyper = dict(size=(kh, kw), stride=(sh, sw), padding=(ph, pw),
                 ceil_mode=ceil_mode)
    try:
        out_shape, _ = pool2d_output_shape(x.shape, **hyper)
    except ValueError:
        with pytest.raises(ValueError):
            cnnbp.maxpool2d(x, **hyper)
        return
    dout = rng.standard_normal(out_shape)
    for kind, extra in (("max", {}),
                        ("avg", dict(count_include_pad=include))):
        out = getattr(cnnbp, f"{kind}pool2d")(x, **hyper, **extra)
        assert out.shape == out_shape
        np.testing.assert_allclose(
            out, getattr(naive, f"{kind}pool2d")(x, **hyper, **extra),
            atol=1e-14)
        np.testing.assert_allclose(
            getattr(cnnbp, f"{kind}pool2d_backward")(dout, x, **hyper,
                                                     **extra),
            getattr(naive, f"{kind}pool2d_backward")(dout, x, **hyper,
                                                     **extra),
            atol=1e-14)


X = np.zeros((2, 3, 5, 6))
BAD = [
    ("padding above half the window", lambda t: t.maxpool2d(X, 3, 1, 2),
     r"pool padding \(2, 2\) is more than half the window \(3, 3\).*"
     r"at most \(1, 1\)"),
    ("padding per axis", lambda t: t.avgpool2d(X, (2, 4), 1, (1, 3)),
     r"pool padding \(1, 3\).*window \(2, 4\).*at most \(1, 2\)"),
    ("negative padding", lambda t: t.maxpool2d(X, 2, padding=-1),
     r"padding must be >= 0, got \(-1, -1\)"),
    ("ceil_mode not bool", lambda t: t.maxpool2d(X, 2, ceil_mode=1),
     r"ceil_mode must be True or False, got 1"),
    ("count_include_pad not bool",
     lambda t: t.avgpool2d(X, 2, count_include_pad="yes"),
     r"count_include_pad must be True or False, got 'yes'"),
    ("no window fits", lambda t: t.avgpool2d(X[:, :, :1, :1], 5, 1, 1),
     r"pool window \(5, 5\) is larger than the input \(1, 1\).*"
     r"\(2, 3, 1, 1\) padded by \(1, 1\).*output size \(-1, -1\)"),
    ("avg dout shape", lambda t: t.avgpool2d_backward(
        np.zeros((2, 3, 3, 3)), X, 2, padding=1),
     r"dout has shape \(2, 3, 3, 3\).*avgpool2d.*\(2, 3, 3, 4\)"),
    ("max dout shape", lambda t: t.maxpool2d_backward(
        np.zeros((2, 3, 3, 4)), X, 2, ceil_mode=True),
     r"dout has shape \(2, 3, 3, 4\).*maxpool2d.*\(2, 3, 3, 3\)"),
    ("global rank", lambda t: t.global_avgpool2d(X[0]),
     r"x must be 4-D.*\(3, 5, 6\)"),
    ("global dout", lambda t: t.global_avgpool2d_backward(
        np.zeros((2, 3, 1)), X),
     r"dout has shape \(2, 3, 1\).*global_avgpool2d.*\(2, 3, 1, 1\)"),
]


@pytest.mark.parametrize("twin", [naive, cnnbp], ids=["naive", "fast"])
@pytest.mark.parametrize("name, call, pattern", BAD,
                         ids=[c[0] for c in BAD])
def test_bad_input_raises_value_error_naming_shapes(twin, name, call,
                                                    pattern):
    with pytest.raises(ValueError, match=pattern):
        call(twin)
