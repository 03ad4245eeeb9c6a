"""Claims of book/15_pooling_family.ipynb, checked against cnnbp, finite
differences and PyTorch on random, non-square, per-axis configurations."""
import math

import numpy as np
import pytest

import cnnbp
from cnnbp import gradcheck, naive
from cnnbp.exercises import pooling_family
from cnnbp.gradcheck import TOLERANCE


def random_pool(rng):
    """x with distinct values and per-axis size, stride, padding, and a
    random ceil_mode; every window holds a cell of x."""
    while True:
        size = tuple(int(v) for v in rng.integers(1, 4, size=2))
        stride = tuple(int(v) for v in rng.integers(1, 4, size=2))
        padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in size)
        H, W = (int(v) for v in rng.integers(2, 9, size=2))
        if all(n + 2 * p >= k for n, p, k in zip((H, W), padding, size)):
            break
    N, C = (int(v) for v in rng.integers(1, 3, size=2))
    x = rng.permutation(np.arange(N * C * H * W, dtype=float))
    x = x.reshape(N, C, H, W) / 10
    return x, dict(size=size, stride=stride, padding=padding,
                   ceil_mode=bool(rng.integers(0, 2)))


def test_average_pooling_example_term_by_term():
    x = np.array([[[[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 8.0, 1.0],
                    [0.0, 2.0, 6.0, 7.0], [9.0, 1.0, 3.0, 2.0]]]])
    dout = np.array([[[[4.0, -8.0], [2.0, 12.0]]]])
    out = cnnbp.avgpool2d(x, 2)
    assert out[0, 0, 0, 0] == (1 + 5 + 3 + 4) / 4 == 3.25
    dx = cnnbp.avgpool2d_backward(dout, x, 2)
    np.testing.assert_array_equal(
        dx[0, 0], np.kron(dout[0, 0], np.ones((2, 2))) / 4)
    dx_max = cnnbp.maxpool2d_backward(dout, x, 2)
    assert np.count_nonzero(dx_max) == 4 and np.count_nonzero(dx) == 16
    assert dx_max.sum() == dx.sum() == dout.sum() == 10
    # overlapping windows: the figure's winners and shares
    g = np.arange(4.0, 37.0, 4.0).reshape(1, 1, 3, 3)
    assert cnnbp.maxpool2d_backward(g, x, 2, 1)[0, 0, 1, 2] == 4 * (
        2 + 3 + 5 + 6)
    avg = cnnbp.avgpool2d_backward(g, x, 2, 1)[0, 0]
    np.testing.assert_array_equal(avg, np.round(avg))


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("include", [True, False])
def test_average_pooling_against_torch_and_finite_differences(seed,
                                                              include):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(seed)
    x, kw = random_pool(rng)
    out = cnnbp.avgpool2d(x, count_include_pad=include, **kw)
    dout = rng.standard_normal(out.shape)
    xt = torch.from_numpy(x).requires_grad_()
    ref = F.avg_pool2d(xt, kw["size"], kw["stride"], kw["padding"],
                       kw["ceil_mode"], include)
    ref.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(out, ref.detach().numpy(), atol=1e-12)
    dx = cnnbp.avgpool2d_backward(dout, x, count_include_pad=include, **kw)
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(
        naive.avgpool2d_backward(dout, x, count_include_pad=include, **kw),
        dx, atol=1e-12)
    num = gradcheck.numerical_gradient(
        lambda x_: cnnbp.avgpool2d(x_, count_include_pad=include, **kw), x,
        dout)
    assert gradcheck.rel_error(dx, num) < TOLERANCE


@pytest.mark.parametrize("seed", range(20))
def test_max_pooling_with_padding_and_ceil_mode_against_torch(seed):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(100 + seed)
    x, kw = random_pool(rng)
    out = cnnbp.maxpool2d(x, **kw)
    dout = rng.standard_normal(out.shape)
    xt = torch.from_numpy(x).requires_grad_()
    ref = F.max_pool2d(xt, kw["size"], kw["stride"], kw["padding"],
                       ceil_mode=kw["ceil_mode"])
    ref.backward(torch.from_numpy(dout))
    np.testing.assert_array_equal(out, ref.detach().numpy())
    dx = cnnbp.maxpool2d_backward(dout, x, **kw)
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-12)
    num = gradcheck.numerical_gradient(lambda x_: cnnbp.maxpool2d(x_, **kw),
                                       x, dout)
    assert gradcheck.rel_error(dx, num) < TOLERANCE
    # padding never wins: every gradient lands on a real cell
    assert np.isclose(dx.sum(), dout.sum())


@pytest.mark.parametrize("seed", range(10))
def test_average_shares_add_up_unless_padding_is_counted(seed):
    rng = np.random.default_rng(200 + seed)
    x, kw = random_pool(rng)
    dout = rng.standard_normal(cnnbp.avgpool2d(x, **kw).shape)
    dx = cnnbp.avgpool2d_backward(dout, x, count_include_pad=False, **kw)
    assert np.isclose(dx.sum(), dout.sum())
    # with the padding counted, the real cells keep real/D of each G
    ones = np.ones((1, 1) + x.shape[2:])
    kept = (cnnbp.avgpool2d(ones, **kw)
            / cnnbp.avgpool2d(ones, count_include_pad=False, **kw))
    dx = cnnbp.avgpool2d_backward(dout, x, **kw)
    assert np.isclose(dx.sum(), (dout * kept).sum())


def test_padding_example_divisors():
    x = np.arange(1.0, 16.0).reshape(1, 1, 3, 5)
    kw = dict(size=3, stride=2, padding=1)
    corner = x[0, 0, :2, :2].sum()
    assert cnnbp.avgpool2d(x, **kw)[0, 0, 0, 0] == pytest.approx(corner / 9)
    assert cnnbp.avgpool2d(x, count_include_pad=False, **kw)[
        0, 0, 0, 0] == pytest.approx(corner / 4)
    dout = np.ones((1, 1, 2, 3))
    assert cnnbp.avgpool2d_backward(dout, x, **kw).sum() == pytest.approx(
        28 / 9)
    assert cnnbp.maxpool2d(x, **kw)[0, 0, 0, 0] == 7


@pytest.mark.parametrize("shape", [(2, 3, 5, 4), (1, 1, 1, 7), (3, 2, 6, 1)])
def test_global_average_pooling(shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape)
    dout = rng.standard_normal(shape[:2] + (1, 1))
    H, W = shape[2:]
    np.testing.assert_allclose(cnnbp.global_avgpool2d(x),
                               cnnbp.avgpool2d(x, size=(H, W)), atol=1e-12)
    dx = cnnbp.global_avgpool2d_backward(dout, x)
    np.testing.assert_allclose(dx, np.broadcast_to(dout / (H * W), shape))
    xt = torch.from_numpy(x).requires_grad_()
    torch.nn.functional.adaptive_avg_pool2d(xt, 1).backward(
        torch.from_numpy(dout))
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-12)
    num = gradcheck.numerical_gradient(cnnbp.global_avgpool2d, x, dout)
    assert gradcheck.rel_error(dx, num) < TOLERANCE


@pytest.mark.parametrize("H", range(2, 12))
@pytest.mark.parametrize("k, s, p", [(2, 2, 0), (3, 2, 1), (3, 3, 1),
                                     (2, 3, 1), (3, 1, 1), (2, 3, 0)])
def test_ceil_mode_output_size_rule(H, k, s, p):
    torch = pytest.importorskip("torch")
    if H + 2 * p < k:
        pytest.skip("no window")
    n_out = math.ceil((H + 2 * p - k) / s) + 1
    if (n_out - 1) * s >= H + p:
        n_out -= 1
    x = np.zeros((1, 1, H, H + 1))
    got = cnnbp.maxpool2d(x, k, s, p, ceil_mode=True).shape[2]
    ref = torch.nn.functional.max_pool2d(torch.from_numpy(x), k, s, p,
                                         ceil_mode=True).shape[2]
    assert got == ref == n_out
    floor = cnnbp.maxpool2d(x, k, s, p).shape[2]
    assert floor == (H + 2 * p - k) // s + 1


def test_ceil_mode_examples_of_the_chapter():
    rows = {(5, 2, 2, 0): (2, 3), (6, 3, 2, 1): (3, 4), (7, 3, 3, 1): (3, 3),
            (4, 2, 3, 1): (2, 2)}
    for (H, k, s, p), want in rows.items():
        x = np.ones((1, 1, H, H))
        got = tuple(cnnbp.maxpool2d(x, k, s, p, ceil_mode=c).shape[2]
                    for c in (False, True))
        assert got == want
    x = np.ones((1, 1, 5, 5))
    np.testing.assert_array_equal(cnnbp.avgpool2d(x, 2, ceil_mode=True),
                                  np.ones((1, 1, 3, 3)))
    dx = cnnbp.avgpool2d_backward(np.ones((1, 1, 2, 2)), x, 2)
    assert not dx[0, 0, 4].any() and not dx[0, 0, :, 4].any()
    dx = cnnbp.avgpool2d_backward(np.ones((1, 1, 3, 3)), x, 2,
                                  ceil_mode=True)
    assert dx[0, 0, 4, 4] == 1 and dx[0, 0, 4, 0] == 0.5


@pytest.mark.parametrize("seed", range(10))
def test_average_of_ones_is_one_where_no_padding_counts(seed):
    rng = np.random.default_rng(300 + seed)
    x, kw = random_pool(rng)
    ones = np.ones(x.shape)
    np.testing.assert_allclose(
        cnnbp.avgpool2d(ones, count_include_pad=False, **kw), 1.0)
    kw["padding"] = 0
    np.testing.assert_allclose(cnnbp.avgpool2d(ones, **kw), 1.0)


def test_chapter_mistakes_fail_somewhere_and_pass_somewhere():
    rng = np.random.default_rng(15)
    x = rng.permutation(np.arange(6 * 7.0)).reshape(1, 1, 6, 7) / 10
    layers = [dict(size=3, stride=2, padding=1, count_include_pad=False),
              dict(size=3, stride=2, padding=1, ceil_mode=True),
              dict(size=3, stride=1)]
    errors = {}
    for mistake in pooling_family.AVGPOOL2D_BACKWARD:
        for k, kw in enumerate(layers):
            dout = rng.standard_normal(cnnbp.avgpool2d(x, **kw).shape)
            right = cnnbp.avgpool2d_backward(dout, x, **kw)
            errors[mistake.fn.__name__, k] = gradcheck.rel_error(
                mistake.fn(dout, x, **kw), right)
    for name in ("avg_full_divisor", "avg_flipped_count"):
        assert errors[name, 0] > 0.01 and errors[name, 1] > 0.01
        assert errors[name, 2] < 1e-12
    for name in ("avg_assigned", "avg_not_divided", "avg_routed_like_max"):
        assert min(errors[name, k] for k in range(3)) > 0.1


def test_exercise_3_rows_with_a_gradient():
    x = np.random.default_rng(0).permutation(np.arange(49.0)).reshape(
        1, 1, 7, 7)
    for ceil_mode, n_out in ((False, 2), (True, 3)):
        out = cnnbp.maxpool2d(x, 3, ceil_mode=ceil_mode)
        assert out.shape[2] == n_out
        dx = cnnbp.maxpool2d_backward(np.ones(out.shape), x, 3,
                                      ceil_mode=ceil_mode)
        assert dx[0, 0, 6].any() == ceil_mode
