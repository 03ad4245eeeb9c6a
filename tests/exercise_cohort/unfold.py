"""im2col and col2im (chapter 10): check_im2col, check_col2im."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import cnnbp
from cnnbp.exercises import mistakes as M

from . import label, right, wrong

IM2COL, COL2IM = "check_im2col", "check_col2im"


def pad(x, p):
    return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))


def out_size(n, k, s, p):
    return (n + 2 * p - k) // s + 1


# ----------------------------------------------------------------- im2col

@right(IM2COL)
def im2col_chapter_10(x, HH, WW, stride=1, padding=0):
    N, C, H, W = x.shape
    s, p = stride, padding
    x_pad = pad(x, p)
    H_out, W_out = out_size(H, HH, s, p), out_size(W, WW, s, p)
    cols = np.zeros((N * H_out * W_out, C * HH * WW))
    for a in range(N):
        for i in range(H_out):
            for j in range(W_out):
                window = x_pad[a, :, i * s:i * s + HH, j * s:j * s + WW]
                cols[(a * H_out + i) * W_out + j] = window.ravel()
    return cols


@right(IM2COL)
def im2col_sliding_windows(x, HH, WW, stride=1, padding=0):
    win = sliding_window_view(pad(x, padding), (HH, WW), axis=(2, 3))
    win = win[:, :, ::stride, ::stride]
    N, C, H_out, W_out = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(N * H_out * W_out, -1)


@right(IM2COL)
def im2col_fancy_indexing(x, HH, WW, stride=1, padding=0):
    N, C, H, W = x.shape
    s = stride
    H_out, W_out = out_size(H, HH, s, padding), out_size(W, WW, s, padding)
    i, j, c, m, n = np.meshgrid(np.arange(H_out), np.arange(W_out),
                                np.arange(C), np.arange(HH), np.arange(WW),
                                indexing="ij")
    x_pad = pad(x, padding)
    cols = x_pad[:, c, i * s + m, j * s + n]
    return cols.reshape(N * H_out * W_out, C * HH * WW)


@right(IM2COL, needs="torch")
def im2col_torch_unfold(x, HH, WW, stride=1, padding=0):
    import torch
    import torch.nn.functional as F
    cols = F.unfold(torch.from_numpy(x), (HH, WW), stride=stride,
                    padding=padding)
    return cols.transpose(1, 2).reshape(-1, cols.shape[1]).numpy()


@wrong(IM2COL, says=label(M.im2col_mnc))
def im2col_channels_last(x, HH, WW, stride=1, padding=0):
    win = sliding_window_view(pad(x, padding), (HH, WW), axis=(2, 3))
    win = win[:, :, ::stride, ::stride]
    N, C, H_out, W_out = win.shape[:4]
    return win.transpose(0, 2, 3, 4, 5, 1).reshape(N * H_out * W_out, -1)


@wrong(IM2COL, says=label(M.im2col_cnm))
def im2col_window_transposed(x, HH, WW, stride=1, padding=0):
    win = sliding_window_view(pad(x, padding), (HH, WW), axis=(2, 3))
    win = win[:, :, ::stride, ::stride]
    N, C, H_out, W_out = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 5, 4).reshape(N * H_out * W_out, -1)


@wrong(IM2COL, says=label(M.im2col_batch_last))
def im2col_batch_inner(x, HH, WW, stride=1, padding=0):
    win = sliding_window_view(pad(x, padding), (HH, WW), axis=(2, 3))
    win = win[:, :, ::stride, ::stride]
    N, C, H_out, W_out = win.shape[:4]
    return win.transpose(2, 3, 0, 1, 4, 5).reshape(N * H_out * W_out, -1)


@wrong(IM2COL, says=label(M.im2col_transposed))
def im2col_columns(x, HH, WW, stride=1, padding=0):
    return im2col_chapter_10(x, HH, WW, stride, padding).T


@wrong(IM2COL, says=label(M.im2col_no_padding))
def im2col_ignores_padding(x, HH, WW, stride=1, padding=0):
    return im2col_chapter_10(x, HH, WW, stride, 0)


@wrong(IM2COL, says=label(M.im2col_no_stride))
def im2col_ignores_stride(x, HH, WW, stride=1, padding=0):
    return im2col_chapter_10(x, HH, WW, 1, padding)


@wrong(IM2COL, says="order of parameters")
def im2col_swaps_kernel_sizes(x, WW, HH, stride=1, padding=0):
    return im2col_chapter_10(x, HH, WW, stride, padding)


# ----------------------------------------------------------------- col2im

@right(COL2IM)
def col2im_chapter_10(cols, x_shape, HH, WW, stride=1, padding=0):
    N, C, H, W = x_shape
    s, p = stride, padding
    H_out, W_out = out_size(H, HH, s, p), out_size(W, WW, s, p)
    x_pad = np.zeros((N, C, H + 2 * p, W + 2 * p))
    for a in range(N):
        for i in range(H_out):
            for j in range(W_out):
                row = cols[(a * H_out + i) * W_out + j]
                x_pad[a, :, i * s:i * s + HH, j * s:j * s + WW] += (
                    row.reshape(C, HH, WW))
    return x_pad[:, :, p:p + H, p:p + W]


@right(COL2IM)
def col2im_per_offset(cols, x_shape, HH, WW, stride=1, padding=0):
    N, C, H, W = x_shape
    s, p = stride, padding
    H_out, W_out = out_size(H, HH, s, p), out_size(W, WW, s, p)
    parts = cols.reshape(N, H_out, W_out, C, HH, WW)
    x_pad = np.zeros((N, C, H + 2 * p, W + 2 * p))
    for m in range(HH):
        for n in range(WW):
            x_pad[:, :, m:m + s * H_out:s, n:n + s * W_out:s] += (
                parts[..., m, n].transpose(0, 3, 1, 2))
    return x_pad[:, :, p:p + H, p:p + W]


@right(COL2IM)
def col2im_add_at(cols, x_shape, HH, WW, stride=1, padding=0):
    N, C, H, W = x_shape
    s, p = stride, padding
    H_out, W_out = out_size(H, HH, s, p), out_size(W, WW, s, p)
    a, i, j, c, m, n = np.indices((N, H_out, W_out, C, HH, WW))
    x_pad = np.zeros((N, C, H + 2 * p, W + 2 * p))
    np.add.at(x_pad, (a, c, i * s + m, j * s + n),
              cols.reshape(N, H_out, W_out, C, HH, WW))
    return x_pad[:, :, p:p + H, p:p + W]


@right(COL2IM, needs="torch")
def col2im_torch_fold(cols, x_shape, HH, WW, stride=1, padding=0):
    import torch
    import torch.nn.functional as F
    N, C, H, W = x_shape
    blocks = torch.from_numpy(cols).reshape(N, -1, C * HH * WW)
    x = F.fold(blocks.transpose(1, 2), (H, W), (HH, WW), stride=stride,
               padding=padding)
    return x.numpy()


@right(COL2IM)
def col2im_as_adjoint(cols, x_shape, HH, WW, stride=1, padding=0):
    x = np.zeros(x_shape)
    basis = np.zeros(x_shape)
    for idx in np.ndindex(*x_shape):
        basis[idx] = 1.0
        x[idx] = np.sum(cnnbp.im2col(basis, HH, WW, stride, padding) * cols)
        basis[idx] = 0.0
    return x


@wrong(COL2IM, says=label(M.col2im_assign))
def col2im_assigns(cols, x_shape, HH, WW, stride=1, padding=0):
    N, C, H, W = x_shape
    s, p = stride, padding
    H_out, W_out = out_size(H, HH, s, p), out_size(W, WW, s, p)
    x_pad = np.zeros((N, C, H + 2 * p, W + 2 * p))
    for a in range(N):
        for i in range(H_out):
            for j in range(W_out):
                row = cols[(a * H_out + i) * W_out + j]
                x_pad[a, :, i * s:i * s + HH, j * s:j * s + WW] = (
                    row.reshape(C, HH, WW))
    return x_pad[:, :, p:p + H, p:p + W]


@wrong(COL2IM, says=label(M.col2im_negative_crop))
def col2im_crops_p_minus_p(cols, x_shape, HH, WW, stride=1, padding=0):
    N, C, H, W = x_shape
    p = padding
    x_pad = col2im_chapter_10(cols, (N, C, H + 2 * p, W + 2 * p), HH, WW,
                              stride, 0)
    return x_pad[:, :, p:-p, p:-p]


@wrong(COL2IM, says=label(M.col2im_no_crop))
def col2im_keeps_padding(cols, x_shape, HH, WW, stride=1, padding=0):
    N, C, H, W = x_shape
    p = padding
    return col2im_chapter_10(cols, (N, C, H + 2 * p, W + 2 * p), HH, WW,
                             stride, 0)


@wrong(COL2IM, says=label(M.col2im_mnc))
def col2im_channels_last(cols, x_shape, HH, WW, stride=1, padding=0):
    C = x_shape[1]
    reordered = cols.reshape(-1, HH, WW, C).transpose(0, 3, 1, 2)
    return col2im_chapter_10(reordered.reshape(cols.shape), x_shape, HH, WW,
                             stride, padding)


@wrong(COL2IM, says="changed its input `cols`")
def col2im_scales_cols(cols, x_shape, HH, WW, stride=1, padding=0):
    cols *= 0.5
    return 2 * col2im_chapter_10(cols, x_shape, HH, WW, stride, padding)


@right(IM2COL)
def im2col_as_strided(x, HH, WW, stride=1, padding=0):
    from numpy.lib.stride_tricks import as_strided
    x_pad = pad(x, padding)
    N, C, Hp, Wp = x_pad.shape
    H_out, W_out = (Hp - HH) // stride + 1, (Wp - WW) // stride + 1
    sN, sC, sH, sW = x_pad.strides
    win = as_strided(x_pad, (N, H_out, W_out, C, HH, WW),
                     (sN, sH * stride, sW * stride, sC, sH, sW))
    return win.reshape(N * H_out * W_out, C * HH * WW)


@wrong(IM2COL, says="wrong shape")
def im2col_rounds_up(x, HH, WW, stride=1, padding=0):
    N, C, H, W = x.shape
    s, p = stride, padding
    H_out = -(-(H + 2 * p - HH) // s) + 1
    W_out = -(-(W + 2 * p - WW) // s) + 1
    x_pad = np.pad(x, ((0, 0), (0, 0), (p, p + s), (p, p + s)))
    cols = np.zeros((N * H_out * W_out, C * HH * WW))
    for a in range(N):
        for i in range(H_out):
            for j in range(W_out):
                window = x_pad[a, :, i * s:i * s + HH, j * s:j * s + WW]
                cols[(a * H_out + i) * W_out + j] = window.ravel()
    return cols
