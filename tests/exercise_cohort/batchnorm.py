"""Batch norm backward (chapter 17): check_batchnorm2d_backward."""

import numpy as np

from cnnbp.exercises import batchnorm as BN

from . import right, wrong

CHECK = "check_batchnorm2d_backward"


def said(variant):
    """The words naming a classic mistake of cnnbp.exercises.batchnorm."""
    for table in (BN.BATCHNORM_DX, BN.BATCHNORM_DGAMMA):
        for mistake in table:
            if mistake.fn is variant:
                return mistake.label
    raise KeyError(variant.__name__)


def per_channel(dout, x, gamma, eps):
    """xhat, istd, dxhat, M with statistics over (N, H, W)."""
    axes = (0, 2, 3)
    M = x.size // x.shape[1]
    mu = x.mean(axis=axes, keepdims=True)
    istd = 1.0 / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    return (x - mu) * istd, istd, dout * gamma.reshape(1, -1, 1, 1), M


# ------------------------------------------------------------ right

@right(CHECK, cases="all")
def bn_compact(dout, x, gamma, eps=1e-5):
    xhat, istd, dxhat, M = per_channel(dout, x, gamma, eps)
    axes = (0, 2, 3)
    dx = istd / M * (M * dxhat - dxhat.sum(axis=axes, keepdims=True)
                     - xhat * (dxhat * xhat).sum(axis=axes, keepdims=True))
    return dx, (dout * xhat).sum(axis=axes), dout.sum(axis=axes)


@right(CHECK, cases="all")
def bn_node_by_node(dout, x, gamma, eps=1e-5):
    axes = (0, 2, 3)
    M = x.size // x.shape[1]
    mu = x.mean(axis=axes, keepdims=True)
    xc = x - mu
    var = (xc ** 2).mean(axis=axes, keepdims=True)
    istd = 1.0 / np.sqrt(var + eps)
    dxhat = dout * gamma[None, :, None, None]
    dvar = (dxhat * xc * -0.5 * istd ** 3).sum(axis=axes, keepdims=True)
    dmu = (-dxhat * istd).sum(axis=axes, keepdims=True) + dvar * (
        -2.0 * xc).mean(axis=axes, keepdims=True)
    dx = dxhat * istd + dvar * 2.0 * xc / M + dmu / M
    return dx, (dout * xc * istd).sum(axis=axes), dout.sum(axis=axes)


@right(CHECK)
def bn_loops(dout, x, gamma, eps=1e-5):
    N, C, H, W = x.shape
    dx = np.zeros(x.shape)
    dgamma, dbeta = np.zeros(C), np.zeros(C)
    for c in range(C):
        v, g = x[:, c].ravel(), dout[:, c].ravel()
        M = v.size
        mu = sum(v) / M
        var = sum((v - mu) ** 2) / M
        xhat = (v - mu) / np.sqrt(var + eps)
        dgamma[c] = sum(g * xhat)
        dbeta[c] = sum(g)
        d = gamma[c] / (M * np.sqrt(var + eps)) * (
            M * g - dbeta[c] - xhat * dgamma[c])
        dx[:, c] = d.reshape(N, H, W)
    return dx, dgamma, dbeta


@right(CHECK, needs="torch", cases="all")
def bn_torch_autograd(dout, x, gamma, eps=1e-5):
    import torch
    tx = torch.tensor(x, requires_grad=True)
    tg = torch.tensor(gamma, requires_grad=True)
    tb = torch.zeros(len(gamma), dtype=torch.float64, requires_grad=True)
    out = torch.nn.functional.batch_norm(tx, None, None, tg, tb,
                                         training=True, eps=eps)
    (out * torch.tensor(dout)).sum().backward()
    return tx.grad.numpy(), tg.grad.numpy(), tb.grad.numpy()


@right(CHECK)
def bn_channels_last(dout, x, gamma, eps=1e-5):
    C = x.shape[1]
    xs = x.transpose(0, 2, 3, 1).reshape(-1, C)
    gs = dout.transpose(0, 2, 3, 1).reshape(-1, C)
    M = xs.shape[0]
    xhat = (xs - xs.mean(0)) / np.sqrt(xs.var(0) + eps)
    dgamma, dbeta = (gs * xhat).sum(0), gs.sum(0)
    d = gamma / (M * np.sqrt(xs.var(0) + eps)) * (
        M * gs - dbeta - xhat * dgamma)
    dx = d.reshape(x.shape[0], x.shape[2], x.shape[3], C)
    return dx.transpose(0, 3, 1, 2), dgamma, dbeta


# ------------------------------------------------------------ wrong

@wrong(CHECK, says=said(BN.dx_constants))
def bn_stats_as_constants(dout, x, gamma, eps=1e-5):
    xhat, istd, dxhat, M = per_channel(dout, x, gamma, eps)
    return (dxhat * istd, (dout * xhat).sum(axis=(0, 2, 3)),
            dout.sum(axis=(0, 2, 3)))


@wrong(CHECK, says=said(BN.dx_no_mean_path))
def bn_forgets_mean_path(dout, x, gamma, eps=1e-5):
    xhat, istd, dxhat, M = per_channel(dout, x, gamma, eps)
    axes = (0, 2, 3)
    dx = istd / M * (M * dxhat
                     - xhat * (dxhat * xhat).sum(axis=axes, keepdims=True))
    return dx, (dout * xhat).sum(axis=axes), dout.sum(axis=axes)


@wrong(CHECK, says=said(BN.dx_no_var_path))
def bn_forgets_var_path(dout, x, gamma, eps=1e-5):
    xhat, istd, dxhat, M = per_channel(dout, x, gamma, eps)
    axes = (0, 2, 3)
    dx = istd / M * (M * dxhat - dxhat.sum(axis=axes, keepdims=True))
    return dx, (dout * xhat).sum(axis=axes), dout.sum(axis=axes)


@wrong(CHECK, says=said(BN.dx_per_sample))
def bn_instance_statistics(dout, x, gamma, eps=1e-5):
    axes = (2, 3)
    M = x.shape[2] * x.shape[3]
    xhat = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(
        x.var(axis=axes, keepdims=True) + eps)
    std = np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    d = dout * gamma[None, :, None, None]
    dx = (M * d - d.sum(axis=axes, keepdims=True)
          - xhat * (d * xhat).sum(axis=axes, keepdims=True)) / (M * std)
    return dx, (dout * xhat).sum(axis=(0, 2, 3)), dout.sum(axis=(0, 2, 3))


@wrong(CHECK, says=said(BN.dx_per_position))
def bn_batch_axis_only(dout, x, gamma, eps=1e-5):
    M = x.shape[0]
    xhat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
    d = dout * gamma[None, :, None, None]
    dx = (M * d - d.sum(axis=0) - xhat * (d * xhat).sum(axis=0)) / (
        M * np.sqrt(x.var(axis=0) + eps))
    return dx, (dout * xhat).sum(axis=(0, 2, 3)), dout.sum(axis=(0, 2, 3))


@wrong(CHECK, says=said(BN.dx_unbiased))
def bn_unbiased_variance(dout, x, gamma, eps=1e-5):
    axes = (0, 2, 3)
    M = x.size // x.shape[1]
    xc = x - x.mean(axis=axes, keepdims=True)
    var = (xc ** 2).sum(axis=axes, keepdims=True) / (M - 1)
    istd = 1.0 / np.sqrt(var + eps)
    dxhat = dout * gamma[None, :, None, None]
    dvar = (dxhat * xc * -0.5 * istd ** 3).sum(axis=axes, keepdims=True)
    dmu = (-dxhat * istd).sum(axis=axes, keepdims=True)
    dx = dxhat * istd + dvar * 2.0 * xc / (M - 1) + dmu / M
    return dx, (dout * xc * istd).sum(axis=axes), dout.sum(axis=axes)


@wrong(CHECK, says=said(BN.dx_no_eps))
def bn_without_eps(dout, x, gamma, eps=1e-5):
    return bn_compact(dout, x, gamma, 0.0)


@wrong(CHECK, says=said(BN.dgamma_from_x))
def bn_dgamma_raw_x(dout, x, gamma, eps=1e-5):
    dx, _, dbeta = bn_compact(dout, x, gamma, eps)
    return dx, (dout * x).sum(axis=(0, 2, 3)), dbeta


@wrong(CHECK, says=said(BN.dgamma_from_centred))
def bn_dgamma_not_scaled(dout, x, gamma, eps=1e-5):
    dx, _, dbeta = bn_compact(dout, x, gamma, eps)
    xc = x - x.mean(axis=(0, 2, 3), keepdims=True)
    return dx, (dout * xc).sum(axis=(0, 2, 3)), dbeta


@wrong(CHECK, says=said(BN.dgamma_times_gamma))
def bn_dgamma_with_gamma(dout, x, gamma, eps=1e-5):
    dx, dgamma, dbeta = bn_compact(dout, x, gamma, eps)
    return dx, gamma * dgamma, dbeta


@wrong(CHECK, says="dbeta")
def bn_dbeta_mean(dout, x, gamma, eps=1e-5):
    dx, dgamma, _ = bn_compact(dout, x, gamma, eps)
    return dx, dgamma, dout.mean(axis=(0, 2, 3))


@wrong(CHECK, says="eps")
def bn_no_eps_parameter(dout, x, gamma):
    return bn_compact(dout, x, gamma)
