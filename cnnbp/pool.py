"""Fast max-pool forward and backward (strided window views).

Same contract as :func:`cnnbp.naive.maxpool2d` and
:func:`cnnbp.naive.maxpool2d_backward`.  Output size:
``H_out = floor((H - kh) / sh) + 1`` (same for W), stride defaults to the
window size.

Tie rule: the *first* maximum of a window in row-major order gets the
whole gradient (``np.argmax``).  Overlapping windows (stride < size)
accumulate their gradients with ``+=``.
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .shapes import dout_arg, pool_args

__all__ = ["maxpool2d", "maxpool2d_backward"]


def _windows(x, kh, kw, H_out, W_out, sh, sw):
    """Read-only view of shape (N, C, H_out, W_out, kh, kw)."""
    sN, sC, sH, sW = x.strides
    N, C = x.shape[:2]
    return as_strided(
        x,
        shape=(N, C, H_out, W_out, kh, kw),
        strides=(sN, sC, sH * sh, sW * sw, sH, sW),
        writeable=False,
    )


def _argmax(x, out_shape, hyper):
    """Flat in-window index of the first maximum, (N, C, H_out, W_out)."""
    (kh, kw), (sh, sw) = hyper
    N, C, H_out, W_out = out_shape
    win = _windows(x, kh, kw, H_out, W_out, sh, sw)
    return win.reshape(N, C, H_out, W_out, kh * kw).argmax(axis=-1)


def maxpool2d(x, size=2, stride=None):
    """Max-pool forward pass, fast.

    ``O[a,c,i,j] = max_{m,n} X[a, c, i*s + m, j*s + n]``

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    size : int or (kh, kw) pair
        Window size.
    stride : int or (sh, sw) pair, optional
        Defaults to ``size`` (non-overlapping windows).

    Returns
    -------
    out : ndarray of shape (N, C, H_out, W_out)
    """
    x, out_shape, ((kh, kw), (sh, sw)) = pool_args(x, size, stride)
    _, _, H_out, W_out = out_shape
    return _windows(x, kh, kw, H_out, W_out, sh, sw).max(axis=(4, 5))


def _scatter(dout, arg, x_shape, hyper):
    (kh, kw), (sh, sw) = hyper
    _, _, H_out, W_out = dout.shape
    dx = np.zeros(x_shape, dout.dtype)
    for m in range(kh):
        for n in range(kw):
            hit = arg == m * kw + n
            dx[:, :, m:m + sh * (H_out - 1) + 1:sh,
               n:n + sw * (W_out - 1) + 1:sw] += np.where(hit, dout, 0)
    return dx


def maxpool2d_backward(dout, x, size=2, stride=None):
    """Max-pool backward pass, fast: route each gradient to its argmax.

    Tie rule and overlap: see the module docstring.

    Parameters
    ----------
    dout : ndarray of shape (N, C, H_out, W_out)
        Upstream gradient dL/dO.
    x : ndarray of shape (N, C, H, W)
        The forward input.
    size, stride : see :func:`maxpool2d`

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    """
    x, out_shape, hyper = pool_args(x, size, stride)
    dout = dout_arg(dout, out_shape, "maxpool2d(x)")
    dtype = np.result_type(x, dout)
    arg = _argmax(x, out_shape, hyper)
    return _scatter(dout.astype(dtype, copy=False), arg, x.shape, hyper)
