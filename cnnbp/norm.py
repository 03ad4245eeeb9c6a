"""Spatial batch normalisation, training mode: fast forward and backward.

The fast twins of :func:`cnnbp.naive.batchnorm2d` and
:func:`cnnbp.naive.batchnorm2d_backward` (``F.batch_norm`` with
``training=True``): every channel c is normalised with the mean and the
*biased* variance of its ``M = N*H*W`` values in the batch, then scaled
and shifted::

    Xhat = (X - mu[c]) / sqrt(var[c] + eps),   O = gamma[c] Xhat + beta[c]

The backward pass in its compact form (per channel, sums over a, u, v)::

    dX = gamma / (M sqrt(var + eps))
         * (M dout - sum(dout) - Xhat sum(dout Xhat))
    dgamma = sum(dout Xhat),   dbeta = sum(dout)

The loop twin derives it node by node; the layer with running
statistics for evaluation is :class:`cnnbp.layers.BatchNorm2d`.
"""

import numpy as np

from .shapes import batchnorm_args, dout_arg

__all__ = ["batchnorm2d", "batchnorm2d_backward", "fold_batchnorm"]


#: Bytes of the row blocks in which the backward pass combines its terms.
BLOCK_BYTES = 2 ** 18

# Every pass below runs on (N, C*P) views, P = H*W: per-channel values
# are repeated into one (C*P,) row, so a broadcast runs over long rows
# instead of N*C short ones, and sums over N are one matrix-vector
# product.


def _row(v, P):
    """Per-channel values v of shape (C,) as one row of shape (C*P,)."""
    return np.repeat(v, P)


def _channel_sum(a, b=None):
    """Per-channel sum over N and the positions of a (N, C, P) array, or
    of the product ``a * b``: shape (C,)."""
    N, C, P = a.shape
    a2 = a.reshape(N, C * P)
    if b is None:
        cells = np.ones(N, a.dtype) @ a2
    else:
        cells = np.einsum("ij,ij->j", a2, b.reshape(N, C * P))
    return cells.reshape(C, P).sum(axis=1)


def _center(x, eps):
    """``(xc, istd, mean, var)``: X - mu as (N, C, H*W), then per channel
    1 / sqrt(var + eps), the mean and the biased variance, each (C,)."""
    N, C = x.shape[:2]
    x3 = x.reshape(N, C, -1)
    P = x3.shape[2]
    M = N * P
    mean = _channel_sum(x3) / M
    xc = np.subtract(x3.reshape(N, C * P), _row(mean, P)).reshape(x3.shape)
    var = _channel_sum(xc, xc) / M
    return xc, 1.0 / np.sqrt(var + eps), mean, var


def _affine(xc, scale, shift, shape, out=None):
    """``xc * scale[c] + shift[c]`` reshaped to ``shape``; written into
    ``out`` (of xc's shape, may be xc itself) if given."""
    N, C, P = xc.shape
    x2 = xc.reshape(N, C * P)
    out = np.multiply(x2, _row(scale, P),
                      out=None if out is None else out.reshape(x2.shape))
    out += _row(shift, P)
    return out.reshape(shape)


def _backward(dout, xc, gamma, istd, overwrite=False):
    """``(dx, dgamma, dbeta)`` from the forward's xc and istd.

    The compact formula, with ``Xhat = xc * istd``: ``dx = a dout +
    b xc + c`` per channel, where ``a = gamma istd``, ``b = -a istd
    dgamma / M`` and ``c = -a dbeta / M``, combined a block of
    ``BLOCK_BYTES`` at a time, so that no full-size temporary is made.
    With ``overwrite`` dx is written into xc's memory (when the dtypes
    allow).
    """
    N, C, P = xc.shape
    M = N * P
    d3 = dout.reshape(xc.shape)
    d2, x2 = d3.reshape(N, C * P), xc.reshape(N, C * P)
    dbeta = _channel_sum(d3)
    dgamma = _channel_sum(d3, xc) * istd
    a = gamma * istd
    dtype = np.result_type(d2, x2, a)
    rows = [_row(v.astype(dtype, copy=False), P) for v in
            (a, -a * istd * dgamma / M, -a * dbeta / M)]
    dx = x2 if overwrite and x2.dtype == dtype else np.empty(x2.shape,
                                                             dtype)
    step = max(1, BLOCK_BYTES // (C * P * dtype.itemsize))
    scratch = np.empty((min(step, N), C * P), dtype)
    for i in range(0, N, step):
        part = dx[i:i + step]
        np.multiply(x2[i:i + step], rows[1], out=part)
        part += rows[2]
        part += np.multiply(d2[i:i + step], rows[0],
                            out=scratch[:len(part)])
    return dx.reshape(dout.shape), dgamma, dbeta


def batchnorm2d(x, gamma, beta, eps=1e-5):
    """Spatial batch norm, training mode, fast.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        N*H*W >= 2.
    gamma, beta : ndarray of shape (C,)
        Scale and shift.
    eps : float
        Added to the variance, > 0.

    Returns
    -------
    out : ndarray of shape (N, C, H, W)
        ``gamma[c] * (X - mu[c]) / sqrt(var[c] + eps) + beta[c]``.
    """
    x, gamma, beta = batchnorm_args(x, gamma, beta, eps)
    xc, istd, _, _ = _center(x, eps)
    return _affine(xc, gamma * istd, beta, x.shape, out=xc)


def batchnorm2d_backward(dout, x, gamma, eps=1e-5):
    """Backward pass of :func:`batchnorm2d`, fast (compact formula).

    Parameters
    ----------
    dout : ndarray of shape (N, C, H, W)
        Upstream gradient dL/dO.
    x : ndarray of shape (N, C, H, W)
        The forward input.
    gamma : ndarray of shape (C,)
    eps : float

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    dgamma : ndarray of shape (C,)
    dbeta : ndarray of shape (C,)
    """
    x, gamma, _ = batchnorm_args(x, gamma, None, eps)
    dout = dout_arg(dout, x.shape, "batchnorm2d(x)")
    dout = dout.astype(np.result_type(x, dout), copy=False)
    xc, istd, _, _ = _center(x, eps)
    return _backward(dout, xc, gamma, istd, overwrite=True)


def fold_batchnorm(w, b, gamma, beta, running_mean, running_var, eps=1e-5):
    """A convolution followed by an evaluation-mode batch norm, as one
    convolution.

    In evaluation mode batch norm is a fixed affine map per channel,
    ``gamma (O - running_mean) / sqrt(running_var + eps) + beta``, so it
    folds into the convolution before it: with the per-filter scale
    ``scale = gamma / sqrt(running_var + eps)``::

        w_folded[f] = scale[f] w[f]
        b_folded = beta + scale (b - running_mean)

    and ``conv2d(x, w_folded, b_folded)`` equals the pair's output for
    every x (same stride, padding, dilation and groups).  Only in
    evaluation mode: in training mode the statistics are the batch's.

    Parameters
    ----------
    w : ndarray of shape (K, C/groups, HH, WW)
    b : ndarray of shape (K,) or None
        None for a convolution without bias (``bias=False``).
    gamma, beta, running_mean, running_var : ndarray of shape (K,)
    eps : float

    Returns
    -------
    w_folded : ndarray of shape (K, C/groups, HH, WW)
    b_folded : ndarray of shape (K,)
    """
    w = np.asarray(w, dtype=float)
    if w.ndim != 4:
        raise ValueError(f"w must have shape (K, C/groups, HH, WW), got "
                         f"{w.shape}")
    K = w.shape[0]
    stats = {"gamma": gamma, "beta": beta, "running_mean": running_mean,
             "running_var": running_var}
    if b is not None:
        stats["b"] = b
    stats = {k: np.asarray(v, dtype=float) for k, v in stats.items()}
    for name, v in stats.items():
        if v.shape != (K,):
            raise ValueError(f"{name} has shape {v.shape} but w of shape "
                             f"{w.shape} needs ({K},)")
    if np.any(stats["running_var"] + eps <= 0):
        raise ValueError("running_var + eps must be > 0")
    scale = stats["gamma"] / np.sqrt(stats["running_var"] + eps)
    shift = stats["beta"] - scale * stats["running_mean"]
    if b is not None:
        shift = shift + scale * stats["b"]
    return w * scale[:, None, None, None], shift
