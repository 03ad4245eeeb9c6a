"""Grouped convolution (chapter 16): check_grouped_conv2d and
check_grouped_conv2d_backward."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import cnnbp
from cnnbp import naive
from cnnbp.exercises import grouped as GR

from . import right, wrong

FWD, BWD = "check_grouped_conv2d", "check_grouped_conv2d_backward"


def said(variant):
    """The words naming a classic mistake of cnnbp.exercises.grouped."""
    for table in (GR.GROUPED_CONV2D, GR.GROUPED_DX, GR.GROUPED_DW):
        for mistake in table:
            if mistake.fn is variant:
                return mistake.label
    raise KeyError(variant.__name__)


def pair(v):
    return (v, v) if np.ndim(v) == 0 else tuple(v)


# ------------------------------------------------------------ forward

@right(FWD, cases="all")
def fwd_sliced(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    K, Cg = w.shape[:2]
    Kg = K // groups
    parts = []
    for g in range(groups):
        fs, cs = slice(g * Kg, (g + 1) * Kg), slice(g * Cg, (g + 1) * Cg)
        parts.append(cnnbp.conv2d(x[:, cs], w[fs],
                                  None if b is None else b[fs],
                                  stride, padding, dilation))
    return np.concatenate(parts, axis=1)


@right(FWD)
def fwd_chapter_solution(x, w, b=None, stride=1, padding=0, groups=1):
    K, Cg = w.shape[:2]
    Kg = K // groups
    out = None
    for g in range(groups):
        part = cnnbp.conv2d(x[:, g * Cg:(g + 1) * Cg],
                            w[g * Kg:(g + 1) * Kg], None, stride, padding)
        if out is None:
            out = np.zeros((x.shape[0], K) + part.shape[2:])
        out[:, g * Kg:(g + 1) * Kg] = part
    if b is not None:
        out += b[:, None, None]
    return out


@right(FWD, cases="all")
def fwd_dense_zero_blocks(x, w, b=None, stride=1, padding=0, dilation=1,
                          groups=1):
    K, Cg = w.shape[:2]
    dense = np.zeros((K, x.shape[1]) + w.shape[2:])
    for f in range(K):
        g = f * groups // K
        dense[f, g * Cg:(g + 1) * Cg] = w[f]
    return cnnbp.conv2d(x, dense, b, stride, padding, dilation)


@right(FWD, cases="all")
def fwd_einsum_windows(x, w, b=None, stride=1, padding=0, dilation=1,
                       groups=1):
    (sh, sw), (dh, dw) = pair(stride), pair(dilation)
    K, Cg, HH, WW = w.shape
    xp = naive.pad(x, padding)
    win = sliding_window_view(
        xp, (dh * (HH - 1) + 1, dw * (WW - 1) + 1), axis=(2, 3))
    win = win[:, :, ::sh, ::sw, ::dh, ::dw]
    N, C, Ho, Wo = win.shape[:4]
    win = win.reshape(N, groups, Cg, Ho, Wo, HH, WW)
    wg = w.reshape(groups, K // groups, Cg, HH, WW)
    out = np.einsum("agcijmn,gfcmn->agfij", win, wg)
    out = out.reshape(N, K, Ho, Wo)
    return out if b is None else out + b[:, None, None]


@right(FWD, needs="torch", cases="all")
def fwd_torch(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    import torch
    t = torch.nn.functional.conv2d(
        torch.tensor(x), torch.tensor(w),
        None if b is None else torch.tensor(b), pair(stride),
        pair(padding), pair(dilation), groups)
    return t.numpy()


@wrong(FWD, says=said(GR.conv_interleaved))
def fwd_round_robin(x, w, b=None, stride=1, padding=0, groups=1):
    K, Cg = w.shape[:2]
    out = None
    for g in range(groups):
        part = cnnbp.conv2d(x[:, g * Cg:(g + 1) * Cg], w[g::groups],
                            None if b is None else b[g::groups], stride,
                            padding)
        if out is None:
            out = np.zeros((x.shape[0], K) + part.shape[2:])
        out[:, g::groups] = part
    return out


@wrong(FWD, says=said(GR.conv_first_block))
def fwd_no_channel_offset(x, w, b=None, stride=1, padding=0, groups=1):
    K, Cg = w.shape[:2]
    Kg = K // groups
    return np.concatenate([
        cnnbp.conv2d(x[:, :Cg], w[g * Kg:(g + 1) * Kg],
                     None if b is None else b[g * Kg:(g + 1) * Kg],
                     stride, padding) for g in range(groups)], axis=1)


@wrong(FWD, says=said(GR.conv_all_channels))
def fwd_tiled_filters(x, w, b=None, stride=1, padding=0, groups=1):
    return cnnbp.conv2d(x, np.concatenate([w] * groups, axis=1), b,
                        stride, padding)


@wrong(FWD, says=said(GR.conv_no_bias))
def fwd_forgets_bias(x, w, b=None, stride=1, padding=0, groups=1):
    K, Cg = w.shape[:2]
    Kg = K // groups
    return np.concatenate([
        cnnbp.conv2d(x[:, g * Cg:(g + 1) * Cg], w[g * Kg:(g + 1) * Kg],
                     None, stride, padding) for g in range(groups)], axis=1)


@wrong(FWD, says="groups")
def fwd_no_groups_parameter(x, w, b=None, stride=1, padding=0):
    return cnnbp.conv2d(x, w, b, stride, padding)


@wrong(FWD, says="wrong shape")
def fwd_group_outputs_summed(x, w, b=None, stride=1, padding=0,
                             groups=1):
    K, Cg = w.shape[:2]
    Kg = K // groups
    return sum(cnnbp.conv2d(x[:, g * Cg:(g + 1) * Cg],
                            w[g * Kg:(g + 1) * Kg],
                            None if b is None else b[g * Kg:(g + 1) * Kg],
                            stride, padding) for g in range(groups))


# ----------------------------------------------------------- backward

@right(BWD, cases="all")
def bwd_sliced(dout, x, w, stride=1, padding=0, dilation=1, groups=1):
    K, Cg = w.shape[:2]
    Kg = K // groups
    dx, dw = np.zeros(x.shape), np.zeros(w.shape)
    for g in range(groups):
        fs, cs = slice(g * Kg, (g + 1) * Kg), slice(g * Cg, (g + 1) * Cg)
        dx[:, cs], dw[fs], _ = cnnbp.conv2d_backward(
            dout[:, fs], x[:, cs], w[fs], stride, padding, dilation)
    return dx, dw, dout.sum(axis=(0, 2, 3))


@right(BWD)
def bwd_dense_then_cut(dout, x, w, stride=1, padding=0, groups=1):
    K, Cg = w.shape[:2]
    Kg = K // groups
    dense = np.zeros((K, x.shape[1]) + w.shape[2:])
    for f in range(K):
        dense[f, f // Kg * Cg:(f // Kg + 1) * Cg] = w[f]
    dx, dw_dense, db = cnnbp.conv2d_backward(dout, x, dense, stride,
                                             padding)
    dw = np.stack([dw_dense[f, f // Kg * Cg:(f // Kg + 1) * Cg]
                   for f in range(K)])
    return dx, dw, db


@right(BWD, cases="all")
def bwd_all_loops(dout, x, w, stride=1, padding=0, dilation=1, groups=1):
    (sh, sw), (dh, dw_), (ph, pw) = (pair(stride), pair(dilation),
                                     pair(padding))
    K, Cg, HH, WW = w.shape
    xp = naive.pad(x, padding)
    dxp, dw = np.zeros(xp.shape), np.zeros(w.shape)
    N, _, Ho, Wo = dout.shape
    for a in range(N):
        for f in range(K):
            c0 = f // (K // groups) * Cg
            for i in range(Ho):
                for j in range(Wo):
                    for c in range(Cg):
                        for m in range(HH):
                            for n in range(WW):
                                u, v = i * sh + m * dh, j * sw + n * dw_
                                dw[f, c, m, n] += (dout[a, f, i, j]
                                                   * xp[a, c0 + c, u, v])
                                dxp[a, c0 + c, u, v] += (
                                    dout[a, f, i, j] * w[f, c, m, n])
    dx = dxp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]
    return dx, dw, dout.sum(axis=(0, 2, 3))


@right(BWD, needs="torch", cases="all")
def bwd_torch_autograd(dout, x, w, stride=1, padding=0, dilation=1,
                       groups=1):
    import torch
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    tb = torch.zeros(w.shape[0], dtype=torch.float64, requires_grad=True)
    out = torch.nn.functional.conv2d(tx, tw, tb, pair(stride),
                                     pair(padding), pair(dilation), groups)
    (out * torch.tensor(dout)).sum().backward()
    return tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()


@wrong(BWD, says=said(GR.dx_interleaved))
def bwd_round_robin(dout, x, w, stride=1, padding=0, groups=1):
    K, Cg = w.shape[:2]
    dx, dw = np.zeros(x.shape), np.zeros(w.shape)
    for g in range(groups):
        cs = slice(g * Cg, (g + 1) * Cg)
        dx[:, cs], dw[g::groups], _ = cnnbp.conv2d_backward(
            dout[:, g::groups], x[:, cs], w[g::groups], stride, padding)
    return dx, dw, dout.sum(axis=(0, 2, 3))


@wrong(BWD, says=said(GR.dx_first_block))
def bwd_no_channel_offset(dout, x, w, stride=1, padding=0, groups=1):
    K, Cg = w.shape[:2]
    Kg = K // groups
    dx, dw = np.zeros(x.shape), np.zeros(w.shape)
    for g in range(groups):
        fs = slice(g * Kg, (g + 1) * Kg)
        dx_g, dw[fs], _ = cnnbp.conv2d_backward(
            dout[:, fs], x[:, :Cg], w[fs], stride, padding)
        dx[:, :Cg] += dx_g
    return dx, dw, dout.sum(axis=(0, 2, 3))


@wrong(BWD, says=said(GR.dx_last_filter))
def bwd_overwrites_per_filter(dout, x, w, stride=1, padding=0, groups=1):
    K, Cg = w.shape[:2]
    Kg = K // groups
    dx, dw = np.zeros(x.shape), np.zeros(w.shape)
    for f in range(K):
        cs = slice(f // Kg * Cg, (f // Kg + 1) * Cg)
        dx[:, cs], dw[f:f + 1], _ = cnnbp.conv2d_backward(
            dout[:, f:f + 1], x[:, cs], w[f:f + 1], stride, padding)
    return dx, dw, dout.sum(axis=(0, 2, 3))


@wrong(BWD, says=said(GR.dx_all_channels))
def bwd_groups_ignored(dout, x, w, stride=1, padding=0, groups=1):
    K, Cg = w.shape[:2]
    dx, dw, db = cnnbp.conv2d_backward(
        dout, x, np.tile(w, (1, groups, 1, 1)), stride, padding)
    return dx, dw.reshape(K, groups, Cg, *w.shape[2:]).sum(axis=1), db


@wrong(BWD, says=said(GR.dw_dense))
def bwd_dense_not_cut(dout, x, w, stride=1, padding=0, groups=1):
    K, Cg = w.shape[:2]
    Kg = K // groups
    dense = np.zeros((K, x.shape[1]) + w.shape[2:])
    for f in range(K):
        dense[f, f // Kg * Cg:(f // Kg + 1) * Cg] = w[f]
    return cnnbp.conv2d_backward(dout, x, dense, stride, padding)


@wrong(BWD, says=said(GR.dw_first_block))
def bwd_dw_from_first_channels(dout, x, w, stride=1, padding=0,
                               groups=1):
    dx, _, db = bwd_sliced(dout, x, w, stride, padding, groups=groups)
    K, Cg = w.shape[:2]
    _, dw, _ = cnnbp.conv2d_backward(dout, x[:, :Cg], w, stride, padding)
    return dx, dw, db


@wrong(BWD, says="db")
def bwd_db_per_group(dout, x, w, stride=1, padding=0, groups=1):
    dx, dw, _ = bwd_sliced(dout, x, w, stride, padding, groups=groups)
    N, K = dout.shape[:2]
    db = dout.sum(axis=(0, 2, 3)).reshape(groups, K // groups).sum(axis=1)
    return dx, dw, db
