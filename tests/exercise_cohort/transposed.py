"""Transposed convolution (chapter 13): check_conv_transpose2d,
check_conv_transpose2d_backward."""

import numpy as np

import cnnbp
from cnnbp import naive
from cnnbp.exercises import mistakes as M
from cnnbp.exercises import transposed as T

from . import label, right, wrong

FORWARD = "check_conv_transpose2d"
BACKWARD = "check_conv_transpose2d_backward"


def pair(v):
    return (v, v) if np.ndim(v) == 0 else tuple(v)


def stamped(x, w, stride, output_padding, dilation, rotate=False,
            swap=False):
    """O^pad by loops: every input cell stamps X[a,c,i,j] * F[c, f]."""
    (sh, sw), (oh, ow), (dh, dw) = (pair(stride), pair(output_padding),
                                    pair(dilation))
    N, C, H, W = x.shape
    if swap:
        w = w.transpose(1, 0, 2, 3)
    if rotate:
        w = w[:, :, ::-1, ::-1]
    _, K, HH, WW = w.shape
    out = np.zeros((N, K, (H - 1) * sh + dh * (HH - 1) + 1 + oh,
                    (W - 1) * sw + dw * (WW - 1) + 1 + ow))
    for i in range(H):
        for j in range(W):
            for m in range(HH):
                for n in range(WW):
                    out[:, :, i * sh + m * dh, j * sw + n * dw] += (
                        x[:, :, i, j] @ w[:, :, m, n])
    return out


def crop(out, padding):
    ph, pw = pair(padding)
    return out[:, :, ph:out.shape[2] - ph, pw:out.shape[3] - pw]


def with_bias(out, b):
    return out if b is None else out + b[:, None, None]


# ---------------------------------------------------------------- forward

@right(FORWARD)
def ct_loops(x, w, b=None, stride=1, padding=0, output_padding=0,
             dilation=1):
    return with_bias(crop(stamped(x, w, stride, output_padding, dilation),
                          padding), b)


@right(FORWARD)
def ct_input_gradient(x, w, b=None, stride=1, padding=0, output_padding=0,
                      dilation=1):
    """The chapter's identity: the input gradient of a convolution."""
    (sh, sw), (ph, pw), (oh, ow), (dh, dw) = map(
        pair, (stride, padding, output_padding, dilation))
    _, _, H, W = x.shape
    _, K, HH, WW = w.shape
    H_out = (H - 1) * sh - 2 * ph + dh * (HH - 1) + oh + 1
    W_out = (W - 1) * sw - 2 * pw + dw * (WW - 1) + ow + 1
    ghost = np.zeros((x.shape[0], K, H_out, W_out))
    dx = cnnbp.conv2d_backward(x, ghost, w, stride, padding, dilation)[0]
    return with_bias(dx, b)


@right(FORWARD)
def ct_einsum_no_dilation(x, w, b=None, stride=1, padding=0,
                          output_padding=0):
    (sh, sw), (oh, ow) = pair(stride), pair(output_padding)
    N, C, H, W = x.shape
    _, K, HH, WW = w.shape
    out = np.zeros((N, K, (H - 1) * sh + HH + oh, (W - 1) * sw + WW + ow))
    stamps = np.einsum("acij,cfmn->afijmn", x, w)
    for i in range(H):
        for j in range(W):
            out[:, :, i * sh:i * sh + HH, j * sw:j * sw + WW] += (
                stamps[:, :, i, j])
    return with_bias(crop(out, padding), b)


@right(FORWARD)
def ct_float32(x, w, b=None, stride=1, padding=0, output_padding=0,
               dilation=1):
    return ct_loops(x.astype(np.float32), w.astype(np.float32),
                    None if b is None else b.astype(np.float32), stride,
                    padding, output_padding, dilation).astype(np.float32)


@right(FORWARD, needs="torch")
def ct_torch(x, w, b=None, stride=1, padding=0, output_padding=0,
             dilation=1):
    import torch
    import torch.nn.functional as F
    return F.conv_transpose2d(
        torch.from_numpy(x), torch.from_numpy(w),
        None if b is None else torch.from_numpy(b), stride, padding,
        output_padding, 1, dilation).numpy()


@wrong(FORWARD, says=T.TRANSPOSED_FORWARD[0].label)
def ct_flipped(x, w, b=None, stride=1, padding=0, output_padding=0,
               dilation=1):
    return with_bias(crop(stamped(x, w, stride, output_padding, dilation,
                                  rotate=True), padding), b)


@wrong(FORWARD, says=T.TRANSPOSED_FORWARD[1].label)
def ct_conv_layout(x, w, b=None, stride=1, padding=0, output_padding=0,
                   dilation=1):
    return with_bias(crop(stamped(x, w, stride, output_padding, dilation,
                                  swap=True), padding), b)


@wrong(FORWARD, says=T.TRANSPOSED_FORWARD[2].label)
def ct_crop_at_end(x, w, b=None, stride=1, padding=0, output_padding=0,
                   dilation=1):
    out = stamped(x, w, stride, output_padding, dilation)
    ph, pw = pair(padding)
    return with_bias(out[:, :, :out.shape[2] - 2 * ph,
                         :out.shape[3] - 2 * pw], b)


@wrong(FORWARD, says=T.TRANSPOSED_FORWARD[3].label)
def ct_output_padding_on_top(x, w, b=None, stride=1, padding=0,
                             output_padding=0, dilation=1):
    oh, ow = pair(output_padding)
    out = stamped(x, w, stride, 0, dilation)
    out = np.pad(out, ((0, 0), (0, 0), (oh, 0), (ow, 0)))
    return with_bias(crop(out, padding), b)


@wrong(FORWARD, says=T.TRANSPOSED_FORWARD[4].label)
def ct_forgets_bias(x, w, b=None, stride=1, padding=0, output_padding=0,
                    dilation=1):
    return crop(stamped(x, w, stride, output_padding, dilation), padding)


@wrong(FORWARD, says="out has the wrong shape")
def ct_ignores_output_padding(x, w, b=None, stride=1, padding=0,
                              output_padding=0, dilation=1):
    return with_bias(crop(stamped(x, w, stride, 0, dilation), padding), b)


@wrong(FORWARD, says="out has the wrong shape")
def ct_minus_p_crop(x, w, b=None, stride=1, padding=0, output_padding=0,
                    dilation=1):
    out = stamped(x, w, stride, output_padding, dilation)
    ph, pw = pair(padding)
    return with_bias(out[:, :, ph:-ph, pw:-pw], b)


@wrong(FORWARD, says="out has the wrong shape")
def ct_windows_one_apart(x, w, b=None, stride=1, padding=0,
                         output_padding=0, dilation=1):
    return with_bias(crop(stamped(x, w, 1, output_padding, dilation),
                          padding), b)


@wrong(FORWARD, says="changed its input `b`")
def ct_reshapes_bias_in_place(x, w, b=None, stride=1, padding=0,
                              output_padding=0, dilation=1):
    out = crop(stamped(x, w, stride, output_padding, dilation), padding)
    if b is not None:
        b.shape = (-1, 1, 1)
        out += b
    return out


# --------------------------------------------------------------- backward

def right_dw(dout, x, w, stride, padding, dilation):
    return cnnbp.conv2d_backward(x, dout, w, stride, padding, dilation)[1]


@right(BACKWARD)
def bw_roles_swapped(dout, x, w, stride=1, padding=0, output_padding=0,
                     dilation=1):
    dx = cnnbp.conv2d(dout, w, None, stride, padding, dilation)
    return (dx, right_dw(dout, x, w, stride, padding, dilation),
            dout.sum(axis=(0, 2, 3)))


@right(BACKWARD)
def bw_loops(dout, x, w, stride=1, padding=0, output_padding=0,
             dilation=1):
    (sh, sw), (dh, dw_) = pair(stride), pair(dilation)
    d = naive.pad(dout, pair(padding))
    _, _, H, W = x.shape
    _, _, HH, WW = w.shape
    dx, dw = np.zeros(x.shape), np.zeros(w.shape)
    for i in range(H):
        for j in range(W):
            for m in range(HH):
                for n in range(WW):
                    g = d[:, :, i * sh + m * dh, j * sw + n * dw_]
                    dx[:, :, i, j] += g @ w[:, :, m, n].T
                    dw[:, :, m, n] += x[:, :, i, j].T @ g
    return dx, dw, dout.sum(axis=(0, 2, 3))


@right(BACKWARD, needs="torch")
def bw_torch(dout, x, w, stride=1, padding=0, output_padding=0,
             dilation=1):
    import torch
    import torch.nn.functional as F
    xt = torch.from_numpy(x).requires_grad_()
    wt = torch.from_numpy(w).requires_grad_()
    bt = torch.zeros(w.shape[1], dtype=torch.float64, requires_grad=True)
    out = F.conv_transpose2d(xt, wt, bt, stride, padding, output_padding,
                             1, dilation)
    out.backward(torch.from_numpy(dout))
    return xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


@wrong(BACKWARD, says=T.TRANSPOSED_DX[0].label)
def bw_flips_like_a_convolution(dout, x, w, stride=1, padding=0,
                                output_padding=0, dilation=1):
    dx = cnnbp.conv2d(dout, naive.rot180(w), None, stride, padding,
                      dilation)
    return (dx, right_dw(dout, x, w, stride, padding, dilation),
            dout.sum(axis=(0, 2, 3)))


@wrong(BACKWARD, says=T.TRANSPOSED_DX[1].label)
def bw_conv_layout(dout, x, w, stride=1, padding=0, output_padding=0,
                   dilation=1):
    (sh, sw), (dh, dw_) = pair(stride), pair(dilation)
    d = naive.pad(dout, pair(padding))
    _, _, H, W = x.shape
    _, _, HH, WW = w.shape
    dx, dw = np.zeros(x.shape), np.zeros(w.shape)
    for i in range(H):
        for j in range(W):
            for m in range(HH):
                for n in range(WW):
                    g = d[:, :, i * sh + m * dh, j * sw + n * dw_]
                    dx[:, :, i, j] += g @ w[:, :, m, n]
                    dw[:, :, m, n] += x[:, :, i, j].T @ g
    return dx, dw, dout.sum(axis=(0, 2, 3))


@wrong(BACKWARD, says="dw equals what you get rotated by 180 degrees")
def bw_rotated_dw(dout, x, w, stride=1, padding=0, output_padding=0,
                  dilation=1):
    dx = cnnbp.conv2d(dout, w, None, stride, padding, dilation)
    dw = right_dw(dout, x, w, stride, padding, dilation)
    return dx, dw[:, :, ::-1, ::-1], dout.sum(axis=(0, 2, 3))


@wrong(BACKWARD, says=label(M.db_mean))
def bw_bias_mean(dout, x, w, stride=1, padding=0, output_padding=0,
                 dilation=1):
    dx, dw, _ = bw_roles_swapped(dout, x, w, stride, padding,
                                 output_padding, dilation)
    return dx, dw, dout.mean(axis=(0, 2, 3))


@wrong(BACKWARD, says="dx has the wrong shape")
def bw_forgets_padding(dout, x, w, stride=1, padding=0, output_padding=0,
                       dilation=1):
    dx = cnnbp.conv2d(dout, w, None, stride, 0, dilation)
    return (dx, right_dw(dout, x, w, stride, padding, dilation),
            dout.sum(axis=(0, 2, 3)))


@wrong(BACKWARD, says="raised ValueError",
       cases=["output_padding not below the stride (dilation 3)"])
def bw_no_cut_when_output_padding_is_large(dout, x, w, stride=1, padding=0,
                                           output_padding=0, dilation=1):
    """Right for output_padding < stride only (the extra rows not cut)."""
    return bw_roles_swapped(dout, x, w, stride, padding, output_padding,
                            dilation)


@right(BACKWARD, cases="all")
def bw_loops_every_case(dout, x, w, stride=1, padding=0, output_padding=0,
                        dilation=1):
    return bw_loops(dout, x, w, stride, padding, output_padding, dilation)
