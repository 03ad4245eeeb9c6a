"""Claims of book/01_chain_rule.ipynb, checked numerically."""
import itertools
import json
from pathlib import Path

import matplotlib
import numpy as np
import pytest

import cnnbp
from cnnbp.gradcheck import TOLERANCE, numerical_gradient, rel_error

CHAPTER = Path(__file__).resolve().parents[1] / "book" / "01_chain_rule.ipynb"


def cell_source(cell_id):
    cells = json.loads(CHAPTER.read_text())["cells"]
    return "".join(next(c for c in cells if c["id"] == cell_id)["source"])


def f_scalar(v):
    x, y, z = v
    return np.array((x + y) * z)


def test_scalar_graph_values():
    x, y, z = -2.0, 5.0, -4.0
    q = x + y
    assert q == 3.0
    assert q * z == -12.0


def test_scalar_graph_gradients_local_times_upstream():
    x, y, z = -2.0, 5.0, -4.0
    q = x + y
    df_dq, df_dz = z * 1.0, q * 1.0
    analytic = np.array([1.0 * df_dq, 1.0 * df_dq, df_dz])
    np.testing.assert_array_equal(analytic, [-4.0, -4.0, 3.0])
    numeric = numerical_gradient(f_scalar, np.array([x, y, z]))
    np.testing.assert_allclose(numeric, analytic, atol=1e-8)


def test_forgotten_upstream_is_caught_by_gradcheck():
    v = np.array([-2.0, 5.0, -4.0])
    numeric = numerical_gradient(f_scalar, v)
    assert rel_error(np.array([1.0, 1.0, 3.0]), numeric) > 1e-2


def test_fan_out_sums():
    x, y = -2.0, 5.0
    numeric = numerical_gradient(lambda v: np.array(v[0] * y + v[0]),
                                 np.array([x]))
    np.testing.assert_allclose(numeric, [y + 1.0], atol=1e-8)


def test_gradients_have_the_shapes_of_their_arrays():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 5))
    w = rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)
    out = cnnbp.conv2d(x, w, b)
    assert out.shape == (2, 4, 3, 3)
    dx, dw, db = cnnbp.conv2d_backward(np.ones(out.shape), x, w)
    assert (dx.shape, dw.shape, db.shape) == (x.shape, w.shape, b.shape)


def test_jacobian_size_for_28x28_and_32_filters():
    h_out = cnnbp.output_size(28, 3)
    assert (32 * h_out * h_out, 28 * 28) == (21632, 784)


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), ((2, 1), 0)])
def test_backward_is_the_vector_jacobian_product(stride, padding):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 1, 5, 4))
    w = rng.standard_normal((1, 1, 2, 3))
    kw = dict(stride=stride, padding=padding)
    n = x.size
    J = np.stack([cnnbp.conv2d(np.eye(n)[k].reshape(x.shape), w,
                               **kw).ravel() for k in range(n)], axis=1)
    dout = rng.standard_normal(cnnbp.conv2d(x, w, **kw).shape)
    dx, _, _ = cnnbp.conv2d_backward(dout, x, w, **kw)
    np.testing.assert_allclose((J.T @ dout.ravel()).reshape(x.shape), dx,
                               atol=1e-12)


def test_jacobian_rows_hold_the_filter_weights():
    rng = np.random.default_rng(2)
    w = rng.standard_normal((1, 1, 2, 2))
    J = np.stack([cnnbp.conv2d(np.eye(16)[k].reshape(1, 1, 4, 4),
                               w).ravel() for k in range(16)], axis=1)
    assert J.shape == (9, 16)
    for row in J:
        np.testing.assert_allclose(np.sort(row[row != 0]),
                                   np.sort(w.ravel()))


def test_gradcheck_of_conv_layer_is_tiny():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 6, 5))
    w = rng.standard_normal((2, 3, 3, 3))
    b = rng.standard_normal(2)
    kw = dict(stride=2, padding=1)
    dout = rng.standard_normal(cnnbp.conv2d(x, w, b, **kw).shape)
    dx, dw, db = cnnbp.conv2d_backward(dout, x, w, **kw)
    assert rel_error(dx, numerical_gradient(
        lambda v: cnnbp.conv2d(v, w, b, **kw), x, dout)) < TOLERANCE
    assert rel_error(dw, numerical_gradient(
        lambda v: cnnbp.conv2d(x, v, b, **kw), w, dout)) < TOLERANCE
    assert rel_error(db, numerical_gradient(
        lambda v: cnnbp.conv2d(x, w, v, **kw), b, dout)) < TOLERANCE


def test_rel_error_is_the_stated_norm_ratio():
    """rel(a, n) = ||a - n|| / (||a|| + ||n||), Euclidean norms."""
    rng = np.random.default_rng(4)
    a, n = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    expected = np.linalg.norm(a - n) / (np.linalg.norm(a)
                                        + np.linalg.norm(n))
    assert rel_error(a, n) == pytest.approx(expected, rel=1e-12)
    assert rel_error(a, 1.001 * a) == pytest.approx(0.001 / 2.001)


def test_numerical_gradient_differentiates_sum_of_f_times_dout():
    """numerical_gradient(f, x, dout) is the gradient of sum(f(x) * dout)."""
    rng = np.random.default_rng(5)
    A = rng.standard_normal((4, 3))
    x, dout = rng.standard_normal(3), rng.standard_normal(4)
    np.testing.assert_allclose(numerical_gradient(lambda v: A @ v, x, dout),
                               A.T @ dout, atol=1e-8)


def test_centred_difference_error_shrinks_like_h_squared():
    errors = [abs((np.sin(1 + h) - np.sin(1 - h)) / (2 * h) - np.cos(1))
              for h in (1e-2, 1e-3)]
    assert errors[0] / errors[1] == pytest.approx(100, rel=1e-2)


def test_jacobian_of_28x28_3x3_conv_has_at_most_9_nonzeros_per_row():
    """Each output reads a 3x3 window: at most 9 nonzeros per row of J."""
    rng = np.random.default_rng(6)
    w = rng.standard_normal((1, 1, 3, 3))
    x = np.zeros((1, 1, 8, 7))
    n = x.size
    J = np.stack([cnnbp.conv2d(np.eye(n)[k].reshape(x.shape), w).ravel()
                  for k in range(n)], axis=1)
    assert ((J != 0).sum(axis=1) == 9).all()
    h_out = cnnbp.output_size(28, 3)
    assert 32 * h_out * h_out * 9 == 194688
    assert 32 * h_out * h_out * 784 == 16959488


def test_the_one_threshold_is_1e_minus_7():
    assert TOLERANCE == 1e-7


def test_jacobian_is_136_mb_and_terabytes_for_a_real_layer():
    """28x28, 32 filters 3x3: 136 MB, at most 1.15% nonzero; 3x224x224,
    64 filters 3x3, padding 1: 3.9 TB, dout and dx only 26.9 MB."""
    m, n = 32 * 26 * 26, 28 * 28
    assert round(m * n * 8 / 1e6, 1) == 135.7
    assert f"{m * 9 / (m * n):.2%}" == "1.15%"
    assert round((m + n) * 8 / 1e6, 1) == 0.2
    h_out = cnnbp.output_size(224, 3, padding=1)
    m, n = 64 * h_out * h_out, 3 * 224 * 224
    assert round(m * n * 8 / 1e12, 1) == 3.9
    assert f"{m * 27 / (m * n):.2%}" == "0.02%"
    assert round((m + n) * 8 / 1e6, 1) == 26.9


def test_examples_follow_cs231n():
    """CS231n's sigmoid neuron at w = (2, -3, -3), x = (-1, -2): its
    notes print dx = [0.3932, -0.5898], dw = [-0.1966, -0.3932, 0.1966];
    exercise 1 checks the same point (w0, x0, w1, x1, w2)."""
    w0, x0, w1, x1, w2 = 2.0, -1.0, -3.0, -2.0, -3.0

    def f(v):
        return 1.0 / (1.0 + np.exp(-(v[0] * v[1] + v[2] * v[3] + v[4])))

    g = numerical_gradient(f, np.array([w0, x0, w1, x1, w2]))
    np.testing.assert_allclose(g[[1, 3]], [0.3932, -0.5898], atol=1e-4)
    np.testing.assert_allclose(g[[0, 2, 4]], [-0.1966, -0.3932, 0.1966],
                               atol=1e-4)
    assert "(2.0, -1.0, -3.0, -2.0, -3.0)" in cell_source("c029")


def test_graph_figure_labels_overlap_neither_labels_nor_wires(monkeypatch):
    """No label of the computational-graph figure (or of any frame of its
    animation) overlaps another label or is drawn across a wire."""
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = {"plt": plt, "x": -2.0, "y": 5.0, "z": -4.0, "q": 3.0,
             "f": -12.0, "df_dx": -4.0, "df_dy": -4.0, "df_dq": -4.0,
             "df_dz": 3.0, "df_df": 1.0, "np": np}
    monkeypatch.setattr(plt, "show", lambda: None)
    exec(cell_source("c009"), names)
    fig, ax, nodes = names["fig"], names["ax"], names["NODES"]
    frames = [([w[0] for w in names["WIRES"]], "")] + names["STEPS"]
    for shown, caption in frames:
        names["draw_graph"](ax, shown, caption)
        fig.canvas.draw()
        labels = [t.get_window_extent() for t in ax.texts
                  if "=" in t.get_text()]
        for a, b in itertools.combinations(labels, 2):
            assert not a.overlaps(b), (a, b)
        for _, tail, head, _, _ in names["WIRES"]:
            (x0, y0), (x1, y1) = nodes[tail], nodes[head]
            for s in np.linspace(0.1, 0.9, 81):
                px, py = ax.transData.transform((x0 + s * (x1 - x0),
                                                 y0 + s * (y1 - y0)))
                assert not any(box.contains(px, py) for box in labels), (
                    tail, head, s)
    plt.close(fig)
