"""Gradient checks shared by the tests and the chapters.

A correct analytic gradient agrees with centred finite differences to a
relative error below ``TOLERANCE`` (1e-7) in float64; around 1e-2 or
larger means a bug.

Printed errors go through :func:`format_error`: below a floor, an error
is rounding noise whose digits depend on the CPU, the BLAS kernel and the
thread count, so it prints as ``< 1e-12`` (say) and a page shows the same
text on every IEEE-754 machine.
"""

import numpy as np

__all__ = ["numerical_gradient", "rel_error", "format_error", "TOLERANCE",
           "EXACT_FLOOR", "NUMERIC_FLOOR"]

#: A correct float64 gradient agrees with finite differences below this.
TOLERANCE = 1e-7
#: Two exact computations that add in a different order (naive vs fast):
#: their difference is rounding noise, ~1e-16, below this floor.
EXACT_FLOOR = 1e-12
#: Analytic vs centred differences (h = 1e-5): a correct gradient lands
#: around 1e-11 (rounding noise of the differences), below this floor.
NUMERIC_FLOOR = 1e-9


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


def format_error(err, floor=NUMERIC_FLOOR):
    """A relative error as text that every IEEE-754 machine prints alike.

    Parameters
    ----------
    err : float
        A relative error, e.g. from :func:`rel_error`.
    floor : float
        Below it the digits are rounding noise: ``EXACT_FLOOR`` for two
        exact computations, ``NUMERIC_FLOOR`` (the default) against
        finite differences.

    Returns
    -------
    str
        ``"< 1e-9"`` below the floor, else the error with two significant digits, e.g. ``"5.3e-01"``.

    Examples
    --------
    >>> format_error(3.8e-17, EXACT_FLOOR)
    '< 1e-12'
    >>> format_error(0.53)
    '5.3e-01'
    """
    err = float(err)
    if not np.isfinite(err):
        return str(err)
    if err < floor:
        return f"< {floor:.0e}".replace("e-0", "e-")
    return f"{err:.1e}"
