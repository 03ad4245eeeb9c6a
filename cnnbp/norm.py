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


def _channel_sum(a, b=None):
    """Per-channel sum over N and the positions of a (N, C, P) array, or
    of the product ``a * b``: shape (C,)."""
    if b is None:
        return np.einsum("ncp->c", a)
    return np.einsum("ncp,ncp->c", a, b)


def _center(x, eps):
    """``(xc, istd, mean, var)``: X - mu as (N, C, H*W), then per channel
    1 / sqrt(var + eps), the mean and the biased variance, each (C,)."""
    N, C = x.shape[:2]
    x3 = x.reshape(N, C, -1)
    M = N * x3.shape[2]
    mean = _channel_sum(x3) / M
    xc = x3 - mean[:, None]
    var = _channel_sum(xc, xc) / M
    return xc, 1.0 / np.sqrt(var + eps), mean, var


def _affine(xc, scale, shift, shape):
    """``xc * scale[c] + shift[c]`` reshaped to ``shape``."""
    out = xc * scale[:, None]
    out += shift[:, None]
    return out.reshape(shape)


def _backward(dout, xc, gamma, istd):
    """``(dx, dgamma, dbeta)`` from the forward's xc and istd.

    The compact formula, with ``Xhat = xc * istd``, as one pass per
    term: ``dx = a dout + b xc + c`` per channel, where ``a = gamma
    istd``, ``b = -a istd dgamma / M`` and ``c = -a dbeta / M``.
    """
    N, C = xc.shape[:2]
    M = N * xc.shape[2]
    d3 = dout.reshape(xc.shape)
    dbeta = _channel_sum(d3)
    dgamma = _channel_sum(d3, xc) * istd
    a = gamma * istd
    dx = d3 * a[:, None]
    dx += xc * (-a * istd * dgamma / M)[:, None]
    dx += (-a * dbeta / M)[:, None]
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
    return _affine(xc, gamma * istd, beta, x.shape)


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
    return _backward(dout, xc, gamma, istd)


def fold_batchnorm(w, b, gamma, beta, running_mean, running_var, eps=1e-5):
    """A convolution followed by an evaluation-mode batch norm, as one
    convolution.

    In evaluation mode batch norm is a fixed affine map per channel,
    ``gamma (O - running_mean) / sqrt(running_var + eps) + beta``, so it
    folds into the convolution before it: with
    ``s = gamma / sqrt(running_var + eps)``::

        w_folded[k] = s[k] w[k],   b_folded = beta + s (b - running_mean)

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
