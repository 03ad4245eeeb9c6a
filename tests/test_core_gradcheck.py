"""The gradient-check helpers the chapters and tests share."""

import numpy as np
import pytest

from cnnbp.gradcheck import numerical_gradient, rel_error


def test_numerical_gradient_of_a_scalar_function():
    x = np.array([1.0, -2.0, 3.0])
    grad = numerical_gradient(lambda t: np.sum(t ** 3), x)
    np.testing.assert_allclose(grad, 3 * x ** 2, rtol=1e-8)


def test_numerical_gradient_is_a_vector_jacobian_product():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 3))
    x = rng.standard_normal(3)
    dout = rng.standard_normal(4)
    grad = numerical_gradient(lambda t: A @ t, x, dout)
    np.testing.assert_allclose(grad, A.T @ dout, rtol=1e-8)


def test_numerical_gradient_leaves_x_alone_and_accepts_ints():
    x = np.array([[1, 2], [3, 4]])
    before = x.copy()
    grad = numerical_gradient(lambda t: t * t, x, np.ones((2, 2)))
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-8)


def test_numerical_gradient_checks_dout_shape():
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        numerical_gradient(lambda t: t, np.zeros(3), np.zeros(2))


def test_rel_error_scale():
    a = np.array([1.0, 2.0, 3.0])
    assert rel_error(a, a) == 0.0
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(a, -a) == 1.0
    assert 1e-9 < rel_error(a, a * (1 + 1e-8)) < 1e-8


def test_rel_error_ignores_exact_zeros_in_a_large_gradient():
    a = np.array([0.0, 5.0])
    b = np.array([1e-12, 5.0])
    assert rel_error(a, b) < 1e-12


def test_rel_error_shape_mismatch():
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        rel_error(np.zeros(2), np.zeros(3))
