"""Dilation backward (chapter 14): check_dilated_filter_gradient and
check_dilated_input_gradient."""

import numpy as np

import cnnbp
from cnnbp import naive
from cnnbp.exercises import dilation as D
from cnnbp.shapes import pair

from . import right, wrong

DW = "check_dilated_filter_gradient"
DX = "check_dilated_input_gradient"


def says(variant):
    """The label of one of the chapter's classic mistakes."""
    return next(m.label for m in D.DILATED_DW + D.DILATED_DX
                if m.fn is variant)


def _hyper(stride, padding, dilation):
    return (pair(stride, "stride"), pair(padding, "padding"),
            pair(dilation, "dilation"))


@right(DW)
def dw_loops(dout, x, w, stride=1, padding=0, dilation=1):
    (sh, sw), (ph, pw), (dh, dw_) = _hyper(stride, padding, dilation)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    K, C, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    grad = np.zeros(w.shape)
    for m in range(HH):
        for n in range(WW):
            patch = xp[:, :, m * dh:m * dh + sh * (H_out - 1) + 1:sh,
                       n * dw_:n * dw_ + sw * (W_out - 1) + 1:sw]
            grad[:, :, m, n] = np.einsum("akij,acij->kc", dout, patch)
    return grad


@right(DW)
def dw_swap_stride_and_dilation(dout, x, w, stride=1, padding=0,
                                dilation=1):
    HH, WW = w.shape[2:]
    xp = naive.pad(x, pair(padding, "padding"))
    corr = cnnbp.conv2d(xp.transpose(1, 0, 2, 3),
                        dout.transpose(1, 0, 2, 3), stride=dilation,
                        dilation=stride)
    return corr[:, :, :HH, :WW].transpose(1, 0, 2, 3)


@right(DW)
def dw_every_dth(dout, x, w, stride=1, padding=0, dilation=1):
    (dh, dw_) = pair(dilation, "dilation")
    HH, WW = w.shape[2:]
    xp = naive.pad(x, pair(padding, "padding"))
    corr = cnnbp.conv2d(xp.transpose(1, 0, 2, 3),
                        naive.dilate(dout, stride).transpose(1, 0, 2, 3))
    return corr[:, :, ::dh, ::dw_][:, :, :HH, :WW].transpose(1, 0, 2, 3)


@right(DW)
def dw_taps_of_the_effective_kernel(dout, x, w, stride=1, padding=0,
                                    dilation=1):
    d = pair(dilation, "dilation")
    big = cnnbp.conv2d_backward(dout, x, naive.dilate(w, d), stride,
                                padding)[1]
    return big[:, :, ::d[0], ::d[1]].copy()


@right(DW, needs="torch")
def dw_torch(dout, x, w, stride=1, padding=0, dilation=1):
    import torch
    wt = torch.tensor(w, requires_grad=True)
    out = torch.nn.functional.conv2d(torch.tensor(x), wt, stride=stride,
                                     padding=padding, dilation=dilation)
    out.backward(torch.tensor(dout))
    return wt.grad.numpy()


@wrong(DW, says=says(D.dw_first_rows))
def dw_first_hh_rows(dout, x, w, stride=1, padding=0, dilation=1):
    HH, WW = w.shape[2:]
    xp = naive.pad(x, pair(padding, "padding"))
    corr = cnnbp.conv2d(xp.transpose(1, 0, 2, 3),
                        naive.dilate(dout, stride).transpose(1, 0, 2, 3))
    return corr[:, :, :HH, :WW].transpose(1, 0, 2, 3)


@wrong(DW, says=says(D.dw_not_swapped))
def dw_stride_stays_stride(dout, x, w, stride=1, padding=0, dilation=1):
    (sh, sw), (ph, pw), (dh, dw_) = _hyper(stride, padding, dilation)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    K, C, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    grad = np.zeros(w.shape)
    for m in range(HH):
        for n in range(WW):
            patch = xp[:, :, m * sh:m * sh + dh * (H_out - 1) + 1:dh,
                       n * sw:n * sw + dw_ * (W_out - 1) + 1:dw_]
            if patch.shape[2:] != dout.shape[2:]:
                raise ValueError("ran off the input")
            grad[:, :, m, n] = np.einsum("akij,acij->kc", dout, patch)
    return grad


@wrong(DW, says="wrong shape")
def dw_whole_effective_kernel(dout, x, w, stride=1, padding=0, dilation=1):
    return cnnbp.conv2d_backward(dout, x, naive.dilate(w, dilation),
                                 stride, padding)[1]


@wrong(DW, says="dw has wrong values")
def dw_no_batch_sum(dout, x, w, stride=1, padding=0, dilation=1):
    return cnnbp.conv2d_backward(dout[:1], x[:1], w, stride, padding,
                                 dilation)[1]


@right(DX)
def dx_scatter(dout, x, w, stride=1, padding=0, dilation=1):
    (sh, sw), (ph, pw), (dh, dw_) = _hyper(stride, padding, dilation)
    N, C, H, W = x.shape
    _, _, HH, WW = w.shape
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dxp[:, :, i * sh:i * sh + dh * (HH - 1) + 1:dh,
                j * sw:j * sw + dw_ * (WW - 1) + 1:dw_] += np.einsum(
                    "af,fcmn->acmn", dout[:, :, i, j], w)
    return dxp[:, :, ph:ph + H, pw:pw + W]


@right(DX)
def dx_gather_dilated_rot(dout, x, w, stride=1, padding=0, dilation=1):
    (ph, pw) = pair(padding, "padding")
    d = pair(dilation, "dilation")
    N, C, H, W = x.shape
    HH, WW = w.shape[2:]
    g = naive.pad(naive.dilate(dout, stride),
                  (d[0] * (HH - 1), d[1] * (WW - 1)))
    full = cnnbp.conv2d(g, naive.rot180(w).transpose(1, 0, 2, 3),
                        dilation=d)
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    dxp[:, :, :full.shape[2], :full.shape[3]] = full
    return dxp[:, :, ph:ph + H, pw:pw + W]


@right(DX)
def dx_effective_kernel(dout, x, w, stride=1, padding=0, dilation=1):
    return cnnbp.conv2d_backward(dout, x, naive.dilate(w, dilation),
                                 stride, padding)[0]


@right(DX)
def dx_float32(dout, x, w, stride=1, padding=0, dilation=1):
    dx = cnnbp.conv2d_backward(dout.astype(np.float32),
                               x.astype(np.float32), w.astype(np.float32),
                               stride, padding, dilation)[0]
    return dx.astype(np.float32)


@wrong(DX, says=says(D.dx_holes_ignored))
def dx_forgets_dilation(dout, x, w, stride=1, padding=0, dilation=1):
    (ph, pw) = pair(padding, "padding")
    N, C, H, W = x.shape
    HH, WW = w.shape[2:]
    g = naive.pad(naive.dilate(dout, stride), (HH - 1, WW - 1))
    full = cnnbp.conv2d(g, naive.rot180(w).transpose(1, 0, 2, 3))
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    dxp[:, :, :full.shape[2], :full.shape[3]] = full
    return dxp[:, :, ph:ph + H, pw:pw + W]


@wrong(DX, says=says(D.dx_border_hh))
def dx_border_of_hh(dout, x, w, stride=1, padding=0, dilation=1):
    (ph, pw) = pair(padding, "padding")
    N, C, H, W = x.shape
    HH, WW = w.shape[2:]
    g = naive.pad(naive.dilate(dout, stride), (HH - 1, WW - 1))
    full = cnnbp.conv2d(g, naive.rot180(w).transpose(1, 0, 2, 3),
                        dilation=dilation)
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    dxp[:, :, :full.shape[2], :full.shape[3]] = full
    return dxp[:, :, ph:ph + H, pw:pw + W]


@wrong(DX, says=says(D.dx_no_flip))
def dx_unrotated(dout, x, w, stride=1, padding=0, dilation=1):
    return dx_gather_dilated_rot(dout, x, naive.rot180(w), stride, padding,
                                 dilation)


@wrong(DX, says=says(D.dx_swapped))
def dx_stride_for_dilation(dout, x, w, stride=1, padding=0, dilation=1):
    return dx_scatter(dout, x, w, dilation, padding, stride)


@wrong(DX, says="your function changed its input")
def dx_scales_dout_in_place(dout, x, w, stride=1, padding=0, dilation=1):
    dout *= 1.0
    dout[...] = dout[::-1]
    return dx_scatter(dout, x, w, stride, padding, dilation)
