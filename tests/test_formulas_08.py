"""Claims of book/08_bias_activation.ipynb, checked against cnnbp."""
import json
from pathlib import Path

import numpy as np
import pytest

import cnnbp
from cnnbp import gradcheck, naive
from cnnbp.gradcheck import TOLERANCE

CASES = [
    # x shape, w shape, stride, padding, dilation
    ((1, 1, 3, 3), (1, 1, 2, 2), 1, 0, 1),
    ((4, 3, 7, 6), (5, 3, 3, 3), 2, 1, 1),
    ((2, 2, 9, 7), (3, 2, 2, 3), (2, 1), (0, 2), 1),
    ((3, 1, 8, 8), (2, 1, 3, 3), 1, 1, 2),
]


def _setup(seed, x_shape, w_shape, stride, padding, dilation):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    out = cnnbp.conv2d(x, w, b, stride, padding, dilation)
    return rng, x, w, b, rng.standard_normal(out.shape)


def test_small_example_db_is_sum_of_dout():
    """db[0] = dL/dO[0,0,0,0] + ... + dL/dO[0,0,1,1] on the 3x3 example."""
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    w = np.array([[[[1.0, -1.0], [2.0, 0.0]]]])
    dout = np.array([[[[1.0, -2.0], [0.5, 3.0]]]])
    expected = dout[0, 0, 0, 0] + dout[0, 0, 0, 1] + dout[0, 0, 1, 0] \
        + dout[0, 0, 1, 1]
    assert expected == 2.5
    assert cnnbp.conv2d_backward(dout, x, w)[2][0] == expected


@pytest.mark.parametrize("case", CASES)
def test_bias_gradient_sums_batch_and_positions(case):
    """dL/db[f] = sum_a sum_i sum_j dL/dO[a,f,i,j], shape (K,)."""
    rng, x, w, b, dout = _setup(1, *case)
    stride, padding, dilation = case[2:]
    db = cnnbp.conv2d_backward(dout, x, w, stride, padding, dilation)[2]
    assert db.shape == b.shape
    np.testing.assert_allclose(db, dout.sum(axis=(0, 2, 3)))
    np.testing.assert_allclose(db, naive.bias_gradient(dout))
    num = gradcheck.numerical_gradient(
        lambda t: cnnbp.conv2d(x, w, t, stride, padding, dilation), b, dout)
    assert gradcheck.rel_error(db, num) < TOLERANCE


def test_bias_gradient_does_not_depend_on_x_or_w():
    """Only dL/dO enters db: other X and F give the same db."""
    rng, x, w, b, dout = _setup(2, *CASES[1])
    db1 = cnnbp.conv2d_backward(dout, x, w, stride=2, padding=1)[2]
    db2 = cnnbp.conv2d_backward(dout, 3 * x + 1, -w, stride=2,
                                padding=1)[2]
    np.testing.assert_array_equal(db1, db2)


@pytest.mark.parametrize("N", [2, 4, 7])
def test_dividing_by_batch_size_gives_rel_error_n_minus_1_over_n_plus_1(N):
    """db / N or dw / N: relative error (N - 1) / (N + 1), always a fail."""
    rng = np.random.default_rng(N)
    x = rng.standard_normal((N, 2, 6, 6))
    w = rng.standard_normal((3, 2, 3, 3))
    b = rng.standard_normal(3)
    dout = rng.standard_normal((N, 3, 4, 4))
    dx, dw, db = cnnbp.conv2d_backward(dout, x, w)
    db_num = gradcheck.numerical_gradient(
        lambda t: cnnbp.conv2d(x, w, t), b, dout)
    dw_num = gradcheck.numerical_gradient(
        lambda t: cnnbp.conv2d(x, t, b), w, dout)
    expected = (N - 1) / (N + 1)
    assert gradcheck.rel_error(db / N, db_num) == pytest.approx(
        expected, rel=1e-6)
    assert gradcheck.rel_error(dw / N, dw_num) == pytest.approx(
        expected, rel=1e-6)
    assert gradcheck.rel_error(dout[0].sum(axis=(1, 2)), db_num) > 1e-2


def test_mean_loss_puts_one_over_n_into_dout_only():
    """L = mean over the batch: db = (dout / N).sum(axis=(0, 2, 3))."""
    rng, x, w, b, dout = _setup(3, *CASES[1])
    N = x.shape[0]

    def mean_loss(t):
        per = cnnbp.conv2d(x, w, t, stride=2, padding=1) * dout
        return per.sum(axis=(1, 2, 3)).mean()

    db = cnnbp.conv2d_backward(dout / N, x, w, stride=2, padding=1)[2]
    num = gradcheck.numerical_gradient(mean_loss, b)
    assert gradcheck.rel_error(db, num) < TOLERANCE
    assert gradcheck.rel_error(db / N, num) > 1e-2


def test_relu_backward_is_mask_of_z_positive():
    """dL/dZ = dL/dY * 1[Z > 0], elementwise, any shape."""
    rng = np.random.default_rng(4)
    for shape in [(5,), (2, 3), (2, 3, 4, 5)]:
        z = rng.standard_normal(shape)
        dy = rng.standard_normal(shape)
        dz = cnnbp.relu_backward(dy, z)
        np.testing.assert_array_equal(dz, dy * (z > 0))
        num = gradcheck.numerical_gradient(cnnbp.relu, z, dy)
        assert gradcheck.rel_error(dz, num) < TOLERANCE


def test_small_relu_example():
    z = np.array([[1.5, -0.5, 0.0], [-2.0, 0.25, 3.0]])
    dy = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    np.testing.assert_array_equal(
        cnnbp.relu_backward(dy, z), [[0.1, 0, 0], [0, 0.5, 0.6]])


def test_relu_subgradient_at_zero_is_zero():
    """cnnbp's choice at the kink: Z = 0 passes no gradient."""
    z = np.array([-1.0, 0.0, 0.0, 2.0])
    dy = np.array([5.0, 7.0, -3.0, 1.0])
    np.testing.assert_array_equal(cnnbp.relu_backward(dy, z),
                                  [0.0, 0.0, 0.0, 1.0])


def test_relu_subgradient_at_zero_matches_pytorch():
    torch = pytest.importorskip("torch")
    t = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    torch.relu(t).sum().backward()
    np.testing.assert_array_equal(
        t.grad.numpy(), cnnbp.relu_backward(np.ones(3), np.zeros(3)))


@pytest.mark.parametrize("h", [1e-2, 1e-5, 1e-8])
def test_centred_difference_at_kink_is_one_half(h):
    g = gradcheck.numerical_gradient(cnnbp.relu, np.zeros(1), np.ones(1),
                                     h=h)
    assert g[0] == pytest.approx(0.5)


def test_mask_from_y_equals_mask_from_z_for_relu():
    """Y > 0 iff Z > 0, so an in-place ReLU keeps the mask right."""
    rng = np.random.default_rng(5)
    z = rng.standard_normal((3, 4, 5, 5))
    z[0, 0, 0, :3] = 0.0
    y = cnnbp.relu(z)
    np.testing.assert_array_equal(y > 0, z > 0)
    dy = rng.standard_normal(z.shape)
    expected = cnnbp.relu_backward(dy, z)
    z_inplace = z.copy()
    np.maximum(z_inplace, 0, out=z_inplace)
    np.testing.assert_array_equal(dy * (z_inplace > 0), expected)


def test_wrong_masks_fail_the_check():
    """A cache changed in place after the forward pass, and Y >= 0."""
    rng = np.random.default_rng(6)
    z = rng.standard_normal((2, 3, 4, 5))
    dy = rng.standard_normal(z.shape)
    num = gradcheck.numerical_gradient(cnnbp.relu, z, dy)
    y = cnnbp.relu(z)
    cache = y
    y -= y.mean()
    assert gradcheck.rel_error(dy * (cache > 0), num) > 1e-2
    assert np.all(cnnbp.relu(z) >= 0)
    assert gradcheck.rel_error(dy * (cnnbp.relu(z) >= 0), num) > 1e-2


def test_layers_relu_caches_the_mask():
    """cnnbp.layers.ReLU stores the mask, so later changes cannot hurt."""
    from cnnbp.layers import ReLU
    rng = np.random.default_rng(7)
    z = rng.standard_normal((2, 3, 4, 4))
    dy = rng.standard_normal(z.shape)
    layer = ReLU()
    y = layer.forward(z)
    y -= y.mean()
    np.testing.assert_array_equal(layer.backward(dy),
                                  cnnbp.relu_backward(dy, z))


WORKED_X = np.array([[1, 2, 0, 1], [0, 1, 3, 1], [2, 0, 1, 2],
                     [1, 3, 0, 1]], dtype=float).reshape(1, 1, 4, 4)
WORKED_W = np.array([[1, -1], [0, 2]], dtype=float).reshape(1, 1, 2, 2)
WORKED_B = np.array([-1.0])
WORKED_G = np.array([[1, 2, -1], [0.5, 1, -2],
                     [1, -1, 3]]).reshape(1, 1, 3, 3)


def test_worked_example_numbers():
    """The printed numbers of the worked example, and what the text says."""
    z = cnnbp.conv2d(WORKED_X, WORKED_W, WORKED_B)
    assert (z == 0).sum() == 3 and (z > 0).sum() == 3
    dz = cnnbp.relu_backward(WORKED_G, z)
    np.testing.assert_array_equal(
        dz[0, 0], [[0, 2, 0], [0, 0, -2], [1, 0, 0]])
    dx, dw, db = cnnbp.conv2d_backward(dz, WORKED_X, WORKED_W)
    assert db[0] == 1.0
    assert WORKED_G.sum() == 4.5
    np.testing.assert_array_equal(dw[0, 0], [[0, -2], [1, 5]])
    np.testing.assert_array_equal(
        dx[0, 0], [[0, 2, -2, 0], [0, 0, 2, 2], [1, -1, 0, -4],
                   [0, 2, 0, 0]])


@pytest.mark.parametrize("case", CASES[1:])
def test_whole_layer_backward_matches_finite_differences(case):
    """conv + bias + ReLU: mask, then conv2d_backward on dL/dZ."""
    rng, x, w, b, _ = _setup(8, *case)
    hyper = case[2:]

    def layer(x_, w_, b_):
        return cnnbp.relu(cnnbp.conv2d(x_, w_, b_, *hyper))

    dy = rng.standard_normal(layer(x, w, b).shape)
    z = cnnbp.conv2d(x, w, b, *hyper)
    dz = cnnbp.relu_backward(dy, z)
    dx, dw, db = cnnbp.conv2d_backward(dz, x, w, *hyper)
    num_x = gradcheck.numerical_gradient(lambda t: layer(t, w, b), x, dy)
    num_w = gradcheck.numerical_gradient(lambda t: layer(x, t, b), w, dy)
    num_b = gradcheck.numerical_gradient(lambda t: layer(x, w, t), b, dy)
    assert gradcheck.rel_error(dx, num_x) < TOLERANCE
    assert gradcheck.rel_error(dw, num_w) < TOLERANCE
    assert gradcheck.rel_error(db, num_b) < TOLERANCE
    assert gradcheck.rel_error(dy.sum(axis=(0, 2, 3)), num_b) > 1e-2


def chapter_cells():
    path = Path(__file__).resolve().parents[1] / "book" / (
        "08_bias_activation.ipynb")
    return ["".join(c["source"])
            for c in json.loads(path.read_text())["cells"]]


def first(cells, *needles):
    return next(k for k, s in enumerate(cells)
                if all(n in s for n in needles))


def test_chapter_does_not_depend_on_conv_internals():
    """The fast twin is described, not listed: no cnnbp.conv._name."""
    assert not any("cnnbp.conv." in s for s in chapter_cells())


def test_fast_twin_db_is_the_sum_the_chapter_names():
    rng = np.random.default_rng(21)
    x = rng.standard_normal((3, 2, 7, 6))
    w = rng.standard_normal((4, 2, 3, 3))
    dout = rng.standard_normal(cnnbp.conv2d(x, w, stride=2,
                                            padding=1).shape)
    db = cnnbp.conv2d_backward(dout, x, w, stride=2, padding=1)[2]
    np.testing.assert_allclose(db, dout.sum(axis=(0, 2, 3)), atol=1e-12)


def test_animation_draws_the_filter_gradient():
    """The text says the gradient reaches dL/dF: the animation has a
    dL/dF grid, highlighted in every step where Z > 0."""
    cells = chapter_cells()
    anim = cells[first(cells, "figures.step_animation(")]
    assert '"dL/dF"' in anim and "dF" in anim.split("step_animation(")[1]
    text = cells[first(cells, "The animation replays")]
    assert "into every cell of\n$\\partial L/\\partial F$" in text


def test_quizzes_come_before_the_numbers_they_ask_for():
    cells = chapter_cells()
    kink_quiz = first(cells, "quiz.show", "relu-at-zero", "relu-fd-kink")
    kink_print = first(cells, "cnnbp.relu_backward at Z = 0")
    assert kink_quiz < kink_print
    db_quiz = first(cells, "quiz.show", "bias-worked-db")
    forward = first(cells, "z = cnnbp.conv2d(x, w, b)", "y = cnnbp.relu(z)")
    backward = first(cells, "dx, dw, db = cnnbp.conv2d_backward(dout, x, w)"
                     "  # 4.-6.")
    assert forward < db_quiz < backward
