"""ReLU forward and backward."""

import numpy as np
import pytest

import cnnbp
from cnnbp.gradcheck import numerical_gradient, rel_error


def test_relu_values():
    z = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_array_equal(cnnbp.relu(z), [[0.0, 0.0, 3.0]])


def test_relu_backward_masks_by_sign_of_z():
    z = np.array([-2.0, 0.0, 3.0, 0.5])
    dout = np.array([10.0, 20.0, 30.0, 40.0])
    np.testing.assert_array_equal(cnnbp.relu_backward(dout, z),
                                  [0.0, 0.0, 30.0, 40.0])


def test_relu_finite_differences():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((2, 3, 4, 5))
    z[np.abs(z) < 1e-3] = 0.5
    dout = rng.standard_normal(z.shape)
    ndz = numerical_gradient(cnnbp.relu, z, dout)
    assert rel_error(cnnbp.relu_backward(dout, z), ndz) < 1e-9


def test_integer_input_and_dtypes():
    assert cnnbp.relu(np.array([-1, 2])).dtype == np.float64
    z32 = np.array([-1.0, 2.0], np.float32)
    assert cnnbp.relu(z32).dtype == np.float32
    assert cnnbp.relu_backward(np.ones(2, np.float32), z32).dtype == (
        np.float32)


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        cnnbp.relu_backward(np.ones((2, 3)), np.ones((3, 2)))
