"""ReLU and its backward pass.

``Y = ReLU(Z) = max(Z, 0)``; ``dL/dZ = dL/dY * [Z > 0]``.  At ``Z == 0``
the derivative is taken as 0 (the usual subgradient choice).
"""

import numpy as np

from .shapes import as_float_array

__all__ = ["relu", "relu_backward"]


def relu(x):
    """Rectified linear unit, elementwise.

    Parameters
    ----------
    x : ndarray of any shape
        Pre-activation Z.

    Returns
    -------
    ndarray of the shape of x
        ``Y = max(Z, 0)``.
    """
    x = as_float_array(x, "x")
    return np.maximum(x, 0)


def relu_backward(dout, x):
    """Backward pass of :func:`relu`.

    Parameters
    ----------
    dout : ndarray of the shape of x
        Upstream gradient dL/dY.
    x : ndarray of any shape
        The forward input Z.

    Returns
    -------
    dx : ndarray of the shape of x
        ``dL/dZ = dL/dY * [Z > 0]``.
    """
    x = as_float_array(x, "x")
    dout = as_float_array(dout, "dout")
    if dout.shape != x.shape:
        raise ValueError(
            f"dout has shape {dout.shape} but x has shape {x.shape}; "
            f"they must match"
        )
    return np.where(x > 0, dout, 0).astype(np.result_type(x, dout))
