"""Claims of book/09_maxpool.ipynb, checked against cnnbp."""
import json
from pathlib import Path

import numpy as np
import pytest

import cnnbp
from cnnbp import gradcheck, naive
from cnnbp.gradcheck import TOLERANCE
from cnnbp.layers import MaxPool2d

SMALL_X = np.array([[1, 3, 2, 1], [4, 2, 0, 5], [1, 1, 6, 2],
                    [0, 2, 3, 1]], dtype=float).reshape(1, 1, 4, 4)
SMALL_DOUT = np.array([[1.0, -2.0], [3.0, 0.5]]).reshape(1, 1, 2, 2)
CENTRE_X = np.array([[1, 2, 1], [2, 9, 2], [1, 2, 1]],
                    dtype=float).reshape(1, 1, 3, 3)
CENTRE_DOUT = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)
CONFIGS = [(2, None), (2, 2), (3, 2), (2, 1), (3, 1), ((2, 3), (1, 2)),
           ((3, 2), None)]


def assign_backward(dout, x, size, stride):
    """The chapter's mistake: '=' instead of '+='."""
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for a in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    win = x[a, c, i * stride:i * stride + size,
                            j * stride:j * stride + size]
                    m, n = np.unravel_index(np.argmax(win), win.shape)
                    dx[a, c, i * stride + m, j * stride + n] = \
                        dout[a, c, i, j]
    return dx


def test_pooling_has_no_parameters():
    assert MaxPool2d(2).params == {}


@pytest.mark.parametrize("H", [4, 5, 6, 7, 8, 9])
@pytest.mark.parametrize("size, stride", CONFIGS)
def test_output_size_formula(H, size, stride):
    """H_out = floor((H - k) / s) + 1, stride defaults to the size."""
    kh, kw = (size, size) if np.ndim(size) == 0 else size
    st = size if stride is None else stride
    sh, sw = (st, st) if np.ndim(st) == 0 else st
    W = H + 1
    out = cnnbp.maxpool2d(np.zeros((1, 2, H, W)), size, stride)
    assert out.shape == (1, 2, (H - kh) // sh + 1, (W - kw) // sw + 1)
    assert out.shape[2] == cnnbp.output_size(H, kh, stride=sh)


def test_small_example_routes_to_the_argmax():
    out = cnnbp.maxpool2d(SMALL_X)
    np.testing.assert_array_equal(out[0, 0], [[4, 5], [2, 6]])
    expected = np.zeros((4, 4))
    expected[1, 0], expected[1, 3] = 1.0, -2.0
    expected[3, 1], expected[2, 2] = 3.0, 0.5
    np.testing.assert_array_equal(
        cnnbp.maxpool2d_backward(SMALL_DOUT, SMALL_X)[0, 0], expected)


@pytest.mark.parametrize("size, stride", CONFIGS)
def test_gradient_only_at_argmax_and_conserved(size, stride):
    """Each dL/dO entry lands, whole, on the argmax of its window."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 7, 8))
    out = cnnbp.maxpool2d(x, size, stride)
    dout = rng.standard_normal(out.shape)
    dx = cnnbp.maxpool2d_backward(dout, x, size, stride)
    np.testing.assert_allclose(dx.sum(axis=(2, 3)), dout.sum(axis=(2, 3)))
    kh, kw = (size, size) if np.ndim(size) == 0 else size
    st = size if stride is None else stride
    sh, sw = (st, st) if np.ndim(st) == 0 else st
    winners = np.zeros(x.shape, bool)
    for a, c, i, j in np.ndindex(*out.shape):
        win = x[a, c, i * sh:i * sh + kh, j * sw:j * sw + kw]
        m, n = np.unravel_index(np.argmax(win), win.shape)
        winners[a, c, i * sh + m, j * sw + n] = True
    assert np.all(dx[~winners] == 0)
    np.testing.assert_allclose(
        dx, naive.maxpool2d_backward(dout, x, size, stride))
    num = gradcheck.numerical_gradient(
        lambda t: cnnbp.maxpool2d(t, size, stride), x, dout)
    assert gradcheck.rel_error(dx, num) < TOLERANCE


def test_overlap_accumulates_at_the_centre():
    dx = cnnbp.maxpool2d_backward(CENTRE_DOUT, CENTRE_X, 2, 1)
    assert dx[0, 0, 1, 1] == 10.0
    assert dx.sum() == 10.0
    assert assign_backward(CENTRE_DOUT, CENTRE_X, 2, 1)[0, 0, 1, 1] == 4.0


@pytest.mark.parametrize("size, stride, fails", [(2, 2, False),
                                                 (3, 2, True),
                                                 (2, 1, True)])
def test_assign_instead_of_accumulate(size, stride, fails):
    """'=' passes without overlap and fails the check with overlap."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 2, 7, 7))
    out = cnnbp.maxpool2d(x, size, stride)
    dout = rng.standard_normal(out.shape)
    num = gradcheck.numerical_gradient(
        lambda t: cnnbp.maxpool2d(t, size, stride), x, dout)
    err = gradcheck.rel_error(assign_backward(dout, x, size, stride), num)
    assert (err > 1e-2) if fails else (err < TOLERANCE)


def test_tie_rule_first_maximum_in_row_major_order():
    x = np.array([[3, 3, 1, 0], [1, 0, 2, 2], [0, 5, 4, 4],
                  [5, 1, 4, 0]], dtype=float).reshape(1, 1, 4, 4)
    dout = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)
    expected = np.zeros((4, 4))
    expected[0, 0], expected[1, 2] = 1.0, 2.0
    expected[2, 1], expected[2, 2] = 3.0, 4.0
    for fn in (cnnbp.maxpool2d_backward, naive.maxpool2d_backward):
        np.testing.assert_array_equal(fn(dout, x)[0, 0], expected)


def test_tie_rule_matches_pytorch_cpu():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    for size, stride in [(2, 2), (3, 2), (2, 1)]:
        x = rng.integers(0, 3, size=(2, 2, 7, 7)).astype(float)
        dout = rng.standard_normal(cnnbp.maxpool2d(x, size, stride).shape)
        t = torch.tensor(x, requires_grad=True)
        torch.nn.functional.max_pool2d(t, size, stride).backward(
            torch.tensor(dout))
        np.testing.assert_allclose(
            t.grad.numpy(), cnnbp.maxpool2d_backward(dout, x, size, stride))


def test_finite_differences_at_ties_give_one_half_per_tied_cell():
    one = np.ones((1, 1, 1, 1))
    two = np.array([[3, 3], [1, 0]], dtype=float).reshape(1, 1, 2, 2)
    fd = gradcheck.numerical_gradient(cnnbp.maxpool2d, two, one)
    np.testing.assert_allclose(fd[0, 0], [[0.5, 0.5], [0, 0]])
    three = np.array([[3, 3], [3, 0]], dtype=float).reshape(1, 1, 2, 2)
    fd = gradcheck.numerical_gradient(cnnbp.maxpool2d, three, one)
    assert fd.sum() == pytest.approx(1.5)
    assert gradcheck.rel_error(
        cnnbp.maxpool2d_backward(one, three), fd) > 1e-2


def test_subgradient_rules_along_the_tied_direction():
    """Raising all tied cells by t raises the max by t: shares sum to 1."""
    one = np.ones((1, 1, 1, 1))
    for window in ([[3, 3], [1, 0]], [[3, 3], [3, 0]], [[2, 2], [2, 2]]):
        x = np.array(window, dtype=float).reshape(1, 1, 2, 2)
        tied = (x == x.max()).astype(float)
        h = 1e-5
        slope = ((cnnbp.maxpool2d(x + h * tied)
                  - cnnbp.maxpool2d(x - h * tied)) / (2 * h)).item()
        assert slope == pytest.approx(1.0)
        first = cnnbp.maxpool2d_backward(one, x)
        assert (first * tied).sum() == pytest.approx(slope)
        assert np.count_nonzero(first) == 1
        assert (tied / tied.sum()).sum() == pytest.approx(slope)
        assert (tied * tied).sum() == tied.sum() > slope


def avgpool(x, k):
    N, C, H, W = x.shape
    filt = np.full((1, 1, k, k), 1.0 / k**2)
    out = cnnbp.conv2d(x.reshape(N * C, 1, H, W), filt, stride=k)
    return out.reshape(N, C, *out.shape[2:])


def avgpool_backward(dout, x, k):
    N, C, H, W = x.shape
    filt = np.full((1, 1, k, k), 1.0 / k**2)
    dx = cnnbp.conv2d_backward(dout.reshape(N * C, 1, *dout.shape[2:]),
                               x.reshape(N * C, 1, H, W), filt,
                               stride=k)[0]
    return dx.reshape(x.shape)


def test_average_pooling_is_a_convolution_spreading_dout_over_k2():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 6, 6))
    out = avgpool(x, 2)
    np.testing.assert_allclose(
        out, x.reshape(2, 3, 3, 2, 3, 2).mean(axis=(3, 5)))
    dout = rng.standard_normal(out.shape)
    dx = avgpool_backward(dout, x, 2)
    spread = np.repeat(np.repeat(dout, 2, axis=2), 2, axis=3) / 4
    np.testing.assert_allclose(dx, spread)
    num = gradcheck.numerical_gradient(lambda t: avgpool(t, 2), x, dout)
    assert gradcheck.rel_error(dx, num) < TOLERANCE
    np.testing.assert_allclose(
        avgpool_backward(SMALL_DOUT, SMALL_X, 2)[0, 0],
        [[0.25, 0.25, -0.5, -0.5], [0.25, 0.25, -0.5, -0.5],
         [0.75, 0.75, 0.125, 0.125], [0.75, 0.75, 0.125, 0.125]])


def test_average_pooling_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 6, 8))
    dout = rng.standard_normal((2, 3, 3, 4))
    t = torch.tensor(x, requires_grad=True)
    o = torch.nn.functional.avg_pool2d(t, 2)
    o.backward(torch.tensor(dout))
    np.testing.assert_allclose(o.detach().numpy(), avgpool(x, 2))
    np.testing.assert_allclose(t.grad.numpy(), avgpool_backward(dout, x, 2))


def test_conv_relu_pool_block():
    """Pooling leaves one nonzero dL/dY per window; block passes the check."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 8, 8))
    w = rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)

    def block(x_, w_, b_):
        y_ = cnnbp.relu(cnnbp.conv2d(x_, w_, b_, padding=1))
        return cnnbp.maxpool2d(y_, 2)

    dp = rng.standard_normal(block(x, w, b).shape)
    z = cnnbp.conv2d(x, w, b, padding=1)
    dy = cnnbp.maxpool2d_backward(dp, cnnbp.relu(z), 2)
    assert np.count_nonzero(dy) == dp.size
    dx, dw, db = cnnbp.conv2d_backward(cnnbp.relu_backward(dy, z), x, w,
                                       padding=1)
    for analytic, f, arg in [(dx, lambda t: block(t, w, b), x),
                             (dw, lambda t: block(x, t, b), w),
                             (db, lambda t: block(x, w, t), b)]:
        num = gradcheck.numerical_gradient(f, arg, dp)
        assert gradcheck.rel_error(analytic, num) < TOLERANCE


def test_exercise_three_pen_and_paper():
    x = np.array([1, 4, 4, 2, 4], dtype=float).reshape(1, 1, 1, 5)
    dout = np.ones((1, 1, 1, 4))
    dx = cnnbp.maxpool2d_backward(dout, x, size=(1, 2), stride=1)
    np.testing.assert_array_equal(dx[0, 0, 0], [0, 2, 1, 0, 1])
    every_tie = np.zeros(5)
    for j in range(4):
        win = x[0, 0, 0, j:j + 2]
        every_tie[j:j + 2] += (win == win.max())
    np.testing.assert_array_equal(every_tie, [0, 2, 2, 0, 1])
    assert dx.sum() == 4 and every_tie.sum() == 5


def test_exercise_three_sum_is_fixed_by_the_all_ones_direction():
    """L(X + t 1) = L(X) + 4t for t of either sign, so every subgradient
    sums to 4: first maximum and even split pass, 'every tie' does not."""
    x = np.array([1, 4, 4, 2, 4], dtype=float).reshape(1, 1, 1, 5)

    def loss(v):
        return cnnbp.maxpool2d(v, size=(1, 2), stride=1).sum()

    for t in (-0.3, -1e-3, 1e-3, 0.7):
        assert loss(x + t) == pytest.approx(loss(x) + 4 * t, abs=1e-12)
    for g in ([0, 2, 1, 0, 1], [0, 1.5, 1.5, 0, 1]):
        g = np.array(g).reshape(x.shape)
        # a subgradient of the convex L: L(x + e) >= L(x) + <g, e>
        rng = np.random.default_rng(3)
        for _ in range(200):
            e = rng.standard_normal(x.shape)
            assert loss(x + e) >= loss(x) + np.sum(g * e) - 1e-12
    every_tie = np.array([0, 2, 2, 0, 1.0]).reshape(x.shape)
    e = np.ones(x.shape)
    assert loss(x + e) < loss(x) + np.sum(every_tie * e)


def test_pool_out_size_wrong_answer_4_is_not_ceil_mode():
    """7x7, 3x3 windows, stride 2: floor and ceil mode both give 3; 4 is
    ceil(7/2) or floor(7/2) + 1 (the formula without -k)."""
    assert cnnbp.maxpool2d(np.zeros((1, 1, 7, 7)), size=3,
                           stride=2).shape[2] == 3
    assert cnnbp.maxpool2d(np.zeros((1, 1, 7, 7)), size=3, stride=2,
                           ceil_mode=True).shape[2] == 3
    assert -(-7 // 2) == 7 // 2 + 1 == 4
    torch = pytest.importorskip("torch")
    out = torch.nn.functional.max_pool2d(torch.zeros(1, 1, 7, 7), 3, 2,
                                         ceil_mode=True)
    assert out.shape[2] == 3


def test_quizzes_come_before_the_numbers_they_ask_for():
    path = Path(__file__).resolve().parents[1] / "book" / "09_maxpool.ipynb"
    cells = ["".join(c["source"])
             for c in json.loads(path.read_text())["cells"]]

    def first(*needles):
        return next(k for k, s in enumerate(cells)
                    if all(n in s for n in needles))

    assert first("quiz.show", "pool-out-size") < first(
        "cnnbp.maxpool2d(x, size=k, stride=s).shape")
    assert first("quiz.show", "pool-overlap") < first(
        "dx = cnnbp.maxpool2d_backward(dout, x, size=2, stride=1)")
    tie_quiz = first("quiz.show", "pool-tie", "pool-fd-tie")
    assert tie_quiz < first("for window in ([[3, 3], [1, 0]]")
    assert tie_quiz < first("its \"gradient\" sums to $3/2$")
    assert first("quiz.show", "pool-avg") < first(
        "which is $\\partial L/\\partial O$ divided by $HH \\cdot WW$")


def test_chapter_does_not_depend_on_pool_internals():
    """The fast twin is described, not listed: no cnnbp.pool._name."""
    path = Path(__file__).resolve().parents[1] / "book" / "09_maxpool.ipynb"
    assert "cnnbp.pool._" not in path.read_text()
