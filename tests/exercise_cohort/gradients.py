"""Convolution gradients (chapters 6, 7, 8, 10): check_filter_gradient,
check_input_gradient, check_bias_gradient, check_conv2d_backward."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import cnnbp
from cnnbp import naive
from cnnbp.exercises import mistakes as M

from . import label, right, wrong

DW, DX = "check_filter_gradient", "check_input_gradient"
DB, BACKWARD = "check_bias_gradient", "check_conv2d_backward"


def pad(x, p):
    return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))


def dilate(g, s):
    N, F, H, W = g.shape
    out = np.zeros((N, F, s * (H - 1) + 1, s * (W - 1) + 1))
    out[:, :, ::s, ::s] = g
    return out


# ------------------------------------------------------------- dL/dF

@right(DW)
def dw_chapter_6_einsum(dout, x, w, stride=1, padding=0):
    _, _, H_out, W_out = dout.shape
    HH, WW = w.shape[2:]
    x_pad = pad(x, padding)
    dw = np.zeros(w.shape)
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i * stride:i * stride + HH,
                           j * stride:j * stride + WW]
            dw += np.einsum("af,acmn->fcmn", dout[:, :, i, j], window)
    return dw


@right(DW)
def dw_chapter_6_correlations(dout, x, w, stride=1, padding=0):
    F, C, HH, WW = w.shape
    x_pad, d_dil = naive.pad(x, padding), naive.dilate(dout, stride)
    dw = np.zeros(w.shape)
    for f in range(F):
        for c in range(C):
            for a in range(x.shape[0]):
                corr = cnnbp.conv2d(x_pad[a:a + 1, c:c + 1],
                                    d_dil[a:a + 1, f:f + 1])
                dw[f, c] += corr[0, 0, :HH, :WW]
    return dw


@right(DW)
def dw_all_loops(dout, x, w, stride=1, padding=0):
    N, F, H_out, W_out = dout.shape
    _, C, HH, WW = w.shape
    x_pad = pad(x, padding)
    dw = np.zeros(w.shape)
    for f in range(F):
        for c in range(C):
            for m in range(HH):
                for n in range(WW):
                    for a in range(N):
                        for i in range(H_out):
                            for j in range(W_out):
                                dw[f, c, m, n] += (
                                    dout[a, f, i, j]
                                    * x_pad[a, c, i * stride + m,
                                            j * stride + n])
    return dw


@right(DW)
def dw_sliding_windows(dout, x, w, stride=1, padding=0):
    HH, WW = w.shape[2:]
    _, _, H_out, W_out = dout.shape
    win = sliding_window_view(pad(x, padding), (HH, WW), axis=(2, 3))
    win = win[:, :, ::stride, ::stride][:, :, :H_out, :W_out]
    return np.tensordot(dout, win, axes=([0, 2, 3], [0, 2, 3]))


@right(DW)
def dw_float32(dout, x, w, stride=1, padding=0):
    return dw_sliding_windows(dout.astype(np.float32),
                              x.astype(np.float32), w, stride, padding)


@right(DW, needs="torch")
def dw_torch(dout, x, w, stride=1, padding=0):
    import torch
    import torch.nn.functional as F
    wt = torch.from_numpy(w.copy()).requires_grad_()
    out = F.conv2d(torch.from_numpy(x), wt, stride=stride, padding=padding)
    out.backward(torch.from_numpy(dout))
    return wt.grad.numpy()


@wrong(DW, says=label(M.dw_flipped))
def dw_flips_dout(dout, x, w, stride=1, padding=0):
    return dw_chapter_6_einsum(dout[:, :, ::-1, ::-1], x, w, stride, padding)


@wrong(DW, says=label(M.dw_no_zero_insertion))
def dw_forgets_stride(dout, x, w, stride=1, padding=0):
    return dw_chapter_6_einsum(dout, x, w, 1, padding)


@wrong(DW, says=label(M.dw_filter_range))
def dw_sums_filter_range(dout, x, w, stride=1, padding=0):
    HH, WW = w.shape[2:]
    return dw_chapter_6_einsum(dout[:, :, :HH, :WW], x, w, stride, padding)


@wrong(DW, says=label(M.dw_batch_mean))
def dw_averages_batch(dout, x, w, stride=1, padding=0):
    return dw_chapter_6_einsum(dout, x, w, stride, padding) / x.shape[0]


@wrong(DW, says=label(M.dw_first_sample))
def dw_sample_0(dout, x, w, stride=1, padding=0):
    return dw_chapter_6_einsum(dout[:1], x[:1], w, stride, padding)


@wrong(DW, says=label(M.dw_last_sample))
def dw_assigns_samples(dout, x, w, stride=1, padding=0):
    for a in range(x.shape[0]):
        dw = dw_chapter_6_einsum(dout[a:a + 1], x[a:a + 1], w, stride,
                                 padding)
    return dw


@wrong(DW, says="wrong shape")
def dw_square_kernel(dout, x, w, stride=1, padding=0):
    HH = w.shape[2]
    return dw_chapter_6_einsum(dout, x, w[:, :, :, :1].repeat(HH, 3),
                               stride, padding)


@wrong(DW, says="wrong shape")
def dw_channels_first(dout, x, w, stride=1, padding=0):
    return dw_chapter_6_einsum(dout, x, w, stride, padding).transpose(
        1, 0, 2, 3)


@wrong(DW, says="raised")
def dw_window_without_padding(dout, x, w, stride=1, padding=0):
    _, _, H_out, W_out = dout.shape
    HH, WW = w.shape[2:]
    dw = np.zeros(w.shape)
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * stride:i * stride + HH,
                       j * stride:j * stride + WW]
            dw += np.einsum("af,acmn->fcmn", dout[:, :, i, j], window)
    return dw


# ------------------------------------------------------------- dL/dX

@right(DX)
def dx_chapter_7_scatter(dout, x, w, stride=1, padding=0):
    N, C, H, W = x.shape
    _, _, H_out, W_out = dout.shape
    HH, WW = w.shape[2:]
    p, s = padding, stride
    dx_pad = np.zeros((N, C, H + 2 * p, W + 2 * p))
    for i in range(H_out):
        for j in range(W_out):
            dx_pad[:, :, i * s:i * s + HH, j * s:j * s + WW] += np.einsum(
                "af,fcmn->acmn", dout[:, :, i, j], w)
    return dx_pad[:, :, p:p + H, p:p + W]


@right(DX)
def dx_chapter_7_gather(dout, x, w, stride=1, padding=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    p = padding
    dx_pad = np.zeros((N, C, H + 2 * p, W + 2 * p))
    for a in range(N):
        for c in range(C):
            for f in range(F):
                g = naive.pad(naive.dilate(dout[a, f], stride),
                              (HH - 1, WW - 1))
                full = cnnbp.conv2d(g[None, None],
                                    naive.rot180(w[f, c])[None, None])[0, 0]
                rows, cols = full.shape
                dx_pad[a, c, :rows, :cols] += full
    return dx_pad[:, :, p:p + H, p:p + W]


def _gather_leftover(dout, x, w, stride, padding, leftover):
    """Full convolution, then ``leftover(r_h, r_w)`` zero rows/cols."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    p, s = padding, stride
    g = np.pad(dilate(dout, s),
               ((0, 0), (0, 0), (HH - 1, HH - 1), (WW - 1, WW - 1)))
    full = cnnbp.conv2d(g, w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    r_h = (H + 2 * p - HH) % s
    r_w = (W + 2 * p - WW) % s
    add_h, add_w = leftover(r_h, r_w)
    dx_pad = np.pad(full, ((0, 0), (0, 0), (0, add_h), (0, add_w)))
    return dx_pad[:, :, p:p + H, p:p + W]


@right(DX)
def dx_gather_formula(dout, x, w, stride=1, padding=0):
    return _gather_leftover(dout, x, w, stride, padding,
                            lambda r_h, r_w: (r_h, r_w))


@right(DX)
def dx_by_definition(dout, x, w, stride=1, padding=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    p, s = padding, stride
    dx = np.zeros(x.shape)
    for u in range(H):
        for v in range(W):
            for i in range(H_out):
                for j in range(W_out):
                    m, n = u + p - i * s, v + p - j * s
                    if 0 <= m < HH and 0 <= n < WW:
                        dx[:, :, u, v] += dout[:, :, i, j] @ w[:, :, m, n]
    return dx


@right(DX)
def dx_col2im_by_hand(dout, x, w, stride=1, padding=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    p, s = padding, stride
    dcols = dout.transpose(0, 2, 3, 1).reshape(-1, F) @ w.reshape(F, -1)
    dcols = dcols.reshape(N, H_out, W_out, C, HH, WW)
    dx_pad = np.zeros((N, C, H + 2 * p, W + 2 * p))
    for m in range(HH):
        for n in range(WW):
            dx_pad[:, :, m:m + s * H_out:s, n:n + s * W_out:s] += (
                dcols[:, :, :, :, m, n].transpose(0, 3, 1, 2))
    return dx_pad[:, :, p:p + H, p:p + W]


@right(DX)
def dx_float32(dout, x, w, stride=1, padding=0):
    return dx_col2im_by_hand(dout.astype(np.float32), x,
                             w.astype(np.float32), stride,
                             padding).astype(np.float32)


@right(DX, needs="torch")
def dx_torch(dout, x, w, stride=1, padding=0):
    import torch
    import torch.nn.functional as F
    xt = torch.from_numpy(x.copy()).requires_grad_()
    out = F.conv2d(xt, torch.from_numpy(w), stride=stride, padding=padding)
    out.backward(torch.from_numpy(dout))
    return xt.grad.numpy()


@wrong(DX, says=label(M.dx_no_flip))
def dx_gather_no_rotation(dout, x, w, stride=1, padding=0):
    return dx_gather_formula(dout, x, w[:, :, ::-1, ::-1], stride, padding)


@wrong(DX, says=label(M.dx_rows_flip))
def dx_flipud(dout, x, w, stride=1, padding=0):
    return dx_gather_formula(dout, x, w[:, :, :, ::-1], stride, padding)


@wrong(DX, says=label(M.dx_transposed_filter))
def dx_transposes_filter(dout, x, w, stride=1, padding=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    p = padding
    dx_pad = np.zeros((N, C, H + 2 * p, W + 2 * p))
    for a in range(N):
        for c in range(C):
            for f in range(F):
                k = w[f, c].T
                g = naive.pad(naive.dilate(dout[a, f], stride),
                              (k.shape[0] - 1, k.shape[1] - 1))
                full = cnnbp.conv2d(g[None, None], k[None, None])[0, 0]
                rows, cols = full.shape
                dx_pad[a, c, :rows, :cols] += full[:H + 2 * p, :W + 2 * p]
    return dx_pad[:, :, p:p + H, p:p + W]


@wrong(DX, says=label(M.dx_no_zero_insertion))
def dx_forgets_dilation(dout, x, w, stride=1, padding=0):
    N, C, H, W = x.shape
    HH, WW = w.shape[2:]
    g = np.pad(dout, ((0, 0), (0, 0), (HH - 1, HH - 1), (WW - 1, WW - 1)))
    full = cnnbp.conv2d(g, w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    dx_pad = np.zeros((N, C, H + 2 * padding, W + 2 * padding))
    dx_pad[:, :, :full.shape[2], :full.shape[3]] = full
    return dx_pad[:, :, padding:padding + H, padding:padding + W]


@wrong(DX, says=label(M.dx_no_leftover))
def dx_drops_leftover(dout, x, w, stride=1, padding=0):
    return _gather_leftover(dout, x, w, stride, padding,
                            lambda r_h, r_w: (0, 0))


@wrong(DX, says=label(M.dx_swapped_leftover))
def dx_swaps_leftover(dout, x, w, stride=1, padding=0):
    return _gather_leftover(dout, x, w, stride, padding,
                            lambda r_h, r_w: (r_w, r_h))


@wrong(DX, says=label(M.dx_h_leftover_for_w))
def dx_h_leftover_twice(dout, x, w, stride=1, padding=0):
    return _gather_leftover(dout, x, w, stride, padding,
                            lambda r_h, r_w: (r_h, r_h))


@wrong(DX, says=label(M.dx_w_leftover_for_h))
def dx_w_leftover_twice(dout, x, w, stride=1, padding=0):
    return _gather_leftover(dout, x, w, stride, padding,
                            lambda r_h, r_w: (r_w, r_w))


@wrong(DX, says=label(M.dx_negative_crop))
def dx_crops_p_minus_p(dout, x, w, stride=1, padding=0):
    p = padding
    dx_pad = dx_chapter_7_scatter(dout, pad(x, p), w, stride, 0)
    return dx_pad[:, :, p:-p, p:-p]


@wrong(DX, says=label(M.dx_no_crop))
def dx_keeps_padding(dout, x, w, stride=1, padding=0):
    return dx_chapter_7_scatter(dout, pad(x, padding), w, stride, 0)


@wrong(DX, says=label(M.dx_last_filter))
def dx_assigns_filters(dout, x, w, stride=1, padding=0):
    for f in range(w.shape[0]):
        dx = dx_chapter_7_scatter(dout[:, f:f + 1], x, w[f:f + 1], stride,
                                  padding)
    return dx


@wrong(DX, says="wrong shape")
def dx_crop_without_offset(dout, x, w, stride=1, padding=0):
    p = padding
    dx_pad = dx_chapter_7_scatter(dout, pad(x, p), w, stride, 0)
    return dx_pad[:, :, p:x.shape[2], p:x.shape[3]]


@wrong(DX, says="changed its input `dout`")
def dx_scales_dout_in_place(dout, x, w, stride=1, padding=0):
    dout *= 2.0
    return dx_chapter_7_scatter(dout, x, w, stride, padding) / 2.0


# ------------------------------------------------------------- dL/db

@right(DB)
def db_sum(dout):
    return dout.sum(axis=(0, 2, 3))


@right(DB)
def db_loops(dout):
    N, F, H_out, W_out = dout.shape
    db = np.zeros(F)
    for f in range(F):
        for a in range(N):
            for i in range(H_out):
                for j in range(W_out):
                    db[f] += dout[a, f, i, j]
    return db


@right(DB)
def db_einsum(dout):
    return np.einsum("afij->f", dout)


@right(DB)
def db_float32(dout):
    return dout.astype(np.float32).sum(axis=(0, 2, 3))


@right(DB, needs="torch")
def db_torch(dout):
    import torch
    return torch.from_numpy(dout).sum(dim=(0, 2, 3)).numpy()


@wrong(DB, says=label(M.db_batch_mean))
def db_divides_by_n(dout):
    return dout.sum(axis=(0, 2, 3)) / len(dout)


@wrong(DB, says=label(M.db_mean))
def db_takes_mean(dout):
    return dout.mean(axis=(0, 2, 3))


@wrong(DB, says=label(M.db_first_sample))
def db_sample_0(dout):
    return dout[0].sum(axis=(1, 2))


@wrong(DB, says=label(M.db_keeps_batch))
def db_per_sample(dout):
    return dout.sum(axis=(2, 3))


@wrong(DB, says=label(M.db_keeps_positions))
def db_per_position(dout):
    return dout.sum(axis=0)


@wrong(DB, says=label(M.db_total))
def db_one_number(dout):
    return dout.sum()


@wrong(DB, says="is a list")
def db_list(dout):
    return [float(dout[:, f].sum()) for f in range(dout.shape[1])]


# ------------------------------------------------------ whole backward

@right(BACKWARD)
def backward_chapter_10(dout, x, w, stride=1, padding=0):
    F, C, HH, WW = w.shape
    cols = cnnbp.im2col(x, HH, WW, stride=stride, padding=padding)
    dout_cols = dout.transpose(0, 2, 3, 1).reshape(-1, F)
    dw = (dout_cols.T @ cols).reshape(w.shape)
    db = dout_cols.sum(axis=0)
    dcols = dout_cols @ w.reshape(F, -1)
    dx = cnnbp.col2im(dcols, x.shape, HH, WW, stride=stride,
                      padding=padding)
    return dx, dw, db


@right(BACKWARD)
def backward_loops(dout, x, w, stride=1, padding=0):
    return (dx_chapter_7_scatter(dout, x, w, stride, padding),
            dw_chapter_6_einsum(dout, x, w, stride, padding),
            db_loops(dout))


@right(BACKWARD)
def backward_as_list(dout, x, w, stride=1, padding=0):
    return [dx_by_definition(dout, x, w, stride, padding),
            dw_sliding_windows(dout, x, w, stride, padding), db_sum(dout)]


@right(BACKWARD, needs="torch")
def backward_torch(dout, x, w, stride=1, padding=0, dilation=1):
    import torch
    import torch.nn.functional as F
    xt = torch.from_numpy(x.copy()).requires_grad_()
    wt = torch.from_numpy(w.copy()).requires_grad_()
    bt = torch.zeros(w.shape[0], dtype=torch.float64, requires_grad=True)
    out = F.conv2d(xt, wt, bt, stride=stride, padding=padding,
                   dilation=dilation)
    out.backward(torch.from_numpy(dout))
    return xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


@wrong(BACKWARD, says="got a tuple of 2")
def backward_without_db(dout, x, w, stride=1, padding=0):
    return backward_chapter_10(dout, x, w, stride, padding)[:2]


@wrong(BACKWARD, says="got one ndarray")
def backward_dx_only(dout, x, w, stride=1, padding=0):
    return backward_chapter_10(dout, x, w, stride, padding)[0]


@wrong(BACKWARD, says="dx has the wrong shape")
def backward_dw_first(dout, x, w, stride=1, padding=0):
    dx, dw, db = backward_chapter_10(dout, x, w, stride, padding)
    return dw, dx, db


@wrong(BACKWARD, says=label(M.dx_no_flip))
def backward_no_rotation(dout, x, w, stride=1, padding=0):
    return (dx_gather_no_rotation(dout, x, w, stride, padding),
            dw_chapter_6_einsum(dout, x, w, stride, padding), db_sum(dout))


@wrong(BACKWARD, says=label(M.db_mean))
def backward_db_mean(dout, x, w, stride=1, padding=0):
    dx, dw, _ = backward_chapter_10(dout, x, w, stride, padding)
    return dx, dw, dout.mean(axis=(0, 2, 3))


@wrong(BACKWARD, says=label(M.dw_batch_mean))
def backward_dw_mean(dout, x, w, stride=1, padding=0):
    dx, dw, db = backward_chapter_10(dout, x, w, stride, padding)
    return dx, dw / x.shape[0], db


@wrong(BACKWARD, says=label(M.dx_no_leftover))
def backward_drops_leftover(dout, x, w, stride=1, padding=0):
    _, dw, db = backward_chapter_10(dout, x, w, stride, padding)
    return dx_drops_leftover(dout, x, w, stride, padding), dw, db


@wrong(DX, says="dx has the wrong shape")
def dx_dilates_by_two(dout, x, w, stride=1, padding=0):
    return _gather_leftover(dout, x, w, 2 if stride > 1 else 1, padding,
                            lambda r_h, r_w: (r_h, r_w))


@right(BACKWARD)
def backward_sliding_windows(dout, x, w, stride=1, padding=0):
    return (dx_col2im_by_hand(dout, x, w, stride, padding),
            dw_sliding_windows(dout, x, w, stride, padding),
            np.einsum("afij->f", dout))


@right(BACKWARD)
def backward_float32(dout, x, w, stride=1, padding=0):
    d32 = dout.astype(np.float32)
    return (dx_float32(d32, x, w, stride, padding),
            dw_float32(d32, x, w, stride, padding), db_float32(d32))
