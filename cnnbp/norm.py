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

__all__ = ["batchnorm2d", "batchnorm2d_backward"]


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
