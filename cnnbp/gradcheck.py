"""Gradient checks shared by the tests and the chapters.

A correct analytic gradient agrees with centred finite differences to a
relative error around 1e-8 or smaller in float64; around 1e-2 or larger
means a bug.
"""

import numpy as np

__all__ = ["numerical_gradient", "rel_error"]


def numerical_gradient(f, x, dout=None, h=1e-5):
    """Centred-difference gradient of ``sum(f(x) * dout)`` with respect to x.

    For each entry ``x[k]``::

        grad[k] = (sum(f(x + h e_k) * dout) - sum(f(x - h e_k) * dout))
                  / (2 h)

    which is the vector-Jacobian product ``dout . df/dx`` that a backward
    pass returns.

    Parameters
    ----------
    f : callable
        Maps an ndarray of the shape of x to an ndarray (or a scalar).
    x : ndarray of any shape
        The point; copied to float64, never modified.
    dout : ndarray of the shape of f(x), optional
        Upstream gradient; ones (so plain ``sum(f(x))``) when None, which
        suits a scalar loss.
    h : float
        Step size.

    Returns
    -------
    grad : ndarray of the shape of x, float64
    """
    x = np.array(x, dtype=np.float64)
    if dout is not None:
        dout = np.asarray(dout, dtype=np.float64)
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for k in range(flat.size):
        old = flat[k]
        flat[k] = old + h
        plus = np.asarray(f(x), dtype=np.float64)
        flat[k] = old - h
        minus = np.asarray(f(x), dtype=np.float64)
        flat[k] = old
        diff = plus - minus
        if dout is not None:
            if diff.shape != dout.shape:
                raise ValueError(
                    f"f(x) has shape {diff.shape} but dout has shape "
                    f"{dout.shape}"
                )
            diff = diff * dout
        gflat[k] = diff.sum() / (2 * h)
    return grad


def rel_error(a, b):
    """Relative error ``||a - b|| / (||a|| + ||b||)`` (Euclidean norms).

    Zero when both are zero.  Norm-based, so entries whose true gradient
    is exactly zero do not blow the ratio up.

    Parameters
    ----------
    a, b : ndarray of one shape

    Returns
    -------
    float
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(
            f"cannot compare arrays of shapes {a.shape} and {b.shape}"
        )
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    if scale == 0:
        return 0.0
    return float(np.linalg.norm(a - b) / scale)
