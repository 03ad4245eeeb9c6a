"""Convolution forward (chapters 2 to 5): check_conv2d."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import cnnbp
from cnnbp.exercises import mistakes as M

from . import label, right, wrong

CHECK = "check_conv2d"
SINGLE = {"cases": ["stride 1", "non-square"]}
STRIDED = {"cases": ["stride 1", "stride 2", "stride 2, leftover rows",
                     "non-square"]}


def as_pair(v):
    return (v, v) if np.ndim(v) == 0 else tuple(v)


# ------------------------------------------------------------ right ones

@right(CHECK, **SINGLE)
def conv_chapter_2_loops(x, w, b=None):
    H, W = x.shape[2:]
    HH, WW = w.shape[2:]
    out = np.zeros((1, 1, H - HH + 1, W - WW + 1))
    for i in range(H - HH + 1):
        for j in range(W - WW + 1):
            total = 0.0
            for m in range(HH):
                for n in range(WW):
                    total += x[0, 0, i + m, j + n] * w[0, 0, m, n]
            out[0, 0, i, j] = total
    if b is not None:
        out += b[0]
    return out


@right(CHECK, **SINGLE)
def conv_chapter_2_scipy(x, w, b=None):
    from scipy import signal
    out = signal.convolve2d(x[0, 0], w[0, 0, ::-1, ::-1], mode="valid")
    return out[None, None] + (0 if b is None else b[0])


@right(CHECK, **STRIDED)
def conv_chapter_3_loops(x, w, b=None, stride=1):
    H, W = x.shape[2:]
    HH, WW = w.shape[2:]
    H_out, W_out = (H - HH) // stride + 1, (W - WW) // stride + 1
    out = np.zeros((1, 1, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            window = x[0, 0, i * stride:i * stride + HH,
                       j * stride:j * stride + WW]
            out[0, 0, i, j] = np.sum(window * w[0, 0])
    return out if b is None else out + b[0]


@right(CHECK, cases="all")
def strided_by_subsampling(x, w, b=None, stride=1, padding=0):
    sh, sw = as_pair(stride)
    return cnnbp.conv2d(x, w, b, padding=padding)[:, :, ::sh, ::sw]


@right(CHECK)
def conv_tensordot_loops(x, w, b=None, stride=1, padding=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    s, p = stride, padding
    x_pad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    H_out, W_out = (H + 2 * p - HH) // s + 1, (W + 2 * p - WW) // s + 1
    out = np.zeros((N, F, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i * s:i * s + HH, j * s:j * s + WW]
            out[:, :, i, j] = np.tensordot(window, w, ([1, 2, 3], [1, 2, 3]))
    return out if b is None else out + b[None, :, None, None]


@right(CHECK)
def conv_channel_loops(x, w, b=None):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    out = np.zeros((N, F, H - HH + 1, W - WW + 1))
    for a in range(N):
        for f in range(F):
            for i in range(H - HH + 1):
                for j in range(W - WW + 1):
                    out[a, f, i, j] = np.sum(x[a, :, i:i + HH, j:j + WW]
                                             * w[f])
            if b is not None:
                out[a, f] += b[f]
    return out


@right(CHECK)
def conv_einsum_offsets(x, w, b=None, stride=1, padding=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    s, p = stride, padding
    x_pad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    H_out, W_out = (H + 2 * p - HH) // s + 1, (W + 2 * p - WW) // s + 1
    out = np.zeros((N, F, H_out, W_out))
    for m in range(HH):
        for n in range(WW):
            tap = x_pad[:, :, m:m + s * H_out:s, n:n + s * W_out:s]
            out += np.einsum("achw,fc->afhw", tap, w[:, :, m, n])
    return out if b is None else out + b[None, :, None, None]


@right(CHECK, cases="all")
def conv_sliding_windows(x, w, b=None, stride=1, padding=0, dilation=1):
    (sh, sw), (ph, pw) = as_pair(stride), as_pair(padding)
    dh, dw = as_pair(dilation)
    F, C, HH, WW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    span = (dh * (HH - 1) + 1, dw * (WW - 1) + 1)
    win = sliding_window_view(x_pad, span, axis=(2, 3))
    win = win[:, :, ::sh, ::sw, ::dh, ::dw]
    out = np.einsum("achwmn,fcmn->afhw", win, w)
    return out if b is None else out + b[None, :, None, None]


@right(CHECK, cases="all")
def conv_im2col_by_hand(x, w, b=None, stride=1, padding=0, dilation=1):
    (sh, sw), (ph, pw) = as_pair(stride), as_pair(padding)
    dh, dw = as_pair(dilation)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = (H + 2 * ph - dh * (HH - 1) - 1) // sh + 1
    W_out = (W + 2 * pw - dw * (WW - 1) - 1) // sw + 1
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    rows = []
    for a in range(N):
        for i in range(H_out):
            for j in range(W_out):
                u, v = i * sh, j * sw
                rows.append(x_pad[a, :, u:u + dh * HH:dh,
                                  v:v + dw * WW:dw].ravel())
    out = np.array(rows) @ w.reshape(F, -1).T
    out = out.reshape(N, H_out, W_out, F).transpose(0, 3, 1, 2)
    return out if b is None else out + b[None, :, None, None]


@right(CHECK)
def conv_fft(x, w, b=None, stride=1, padding=0):
    p = padding
    x_pad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    Hp, Wp = x_pad.shape[2:]
    HH, WW = w.shape[2:]
    X = np.fft.rfft2(x_pad)
    K = np.fft.rfft2(w[:, :, ::-1, ::-1], s=(Hp, Wp))
    full = np.fft.irfft2(np.einsum("achw,fchw->afhw", X, K), s=(Hp, Wp))
    out = full[:, :, HH - 1::stride, WW - 1::stride]
    return out if b is None else out + b[None, :, None, None]


@right(CHECK)
def conv_float32(x, w, b=None, stride=1, padding=0):
    x32, w32 = x.astype(np.float32), w.astype(np.float32)
    s, p = stride, padding
    x_pad = np.pad(x32, ((0, 0), (0, 0), (p, p), (p, p)))
    HH, WW = w.shape[2:]
    win = sliding_window_view(x_pad, (HH, WW), axis=(2, 3))[:, :, ::s, ::s]
    out = np.einsum("achwmn,fcmn->afhw", win, w32)
    return out if b is None else out + b.astype(np.float32)[:, None, None]


@right(CHECK, needs="torch", cases="all")
def conv_torch(x, w, b=None, stride=1, padding=0, dilation=1):
    import torch
    import torch.nn.functional as F
    out = F.conv2d(torch.from_numpy(x), torch.from_numpy(w),
                   None if b is None else torch.from_numpy(b),
                   stride=stride, padding=padding, dilation=dilation)
    return out.numpy()


# ------------------------------------------------------------ wrong ones

@wrong(CHECK, says=label(M.conv_flipped))
def conv_true_convolution(x, w, b=None, stride=1, padding=0):
    return conv_tensordot_loops(x, w[:, :, ::-1, ::-1], b, stride, padding)


@wrong(CHECK, says=label(M.conv_no_stride))
def conv_ignores_stride(x, w, b=None, stride=1, padding=0):
    return conv_tensordot_loops(x, w, b, 1, padding)


@wrong(CHECK, says=label(M.conv_no_padding))
def conv_ignores_padding(x, w, b=None, stride=1, padding=0):
    return conv_tensordot_loops(x, w, b, stride, 0)


@wrong(CHECK, says=label(M.conv_one_side_padding))
def conv_pads_top_left(x, w, b=None, stride=1, padding=0):
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, 0), (padding, 0)))
    return conv_tensordot_loops(x_pad, w, b, stride, 0)


@wrong(CHECK, says=label(M.conv_no_bias))
def conv_ignores_bias(x, w, b=None, stride=1, padding=0):
    return conv_tensordot_loops(x, w, None, stride, padding)


@wrong(CHECK, says=label(M.conv_first_bias))
def conv_adds_b0(x, w, b=None, stride=1, padding=0):
    out = conv_tensordot_loops(x, w, None, stride, padding)
    return out if b is None else out + b[0]


@wrong(CHECK, says=label(M.conv_first_channel))
def conv_channel_0(x, w, b=None, stride=1, padding=0):
    return conv_tensordot_loops(x[:, :1], w[:, :1], b, stride, padding)


@wrong(CHECK, says=label(M.conv_last_channel))
def conv_assigns_channels(x, w, b=None, stride=1, padding=0):
    out = None
    for c in range(x.shape[1]):
        out = conv_tensordot_loops(x[:, c:c + 1], w[:, c:c + 1], b, stride,
                                   padding)
    return out


@wrong(CHECK, says=label(M.conv_no_dilation))
def conv_ignores_dilation(x, w, b=None, stride=1, padding=0, dilation=1):
    return conv_sliding_windows(x, w, b, stride, padding)


@wrong(CHECK, says="wrong shape")
def conv_ceil_size(x, w, b=None, stride=1, padding=0):
    p, s = padding, stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    HH, WW = w.shape[2:]
    H_out = -(-(x_pad.shape[2] - HH) // s) + 1
    W_out = -(-(x_pad.shape[3] - WW) // s) + 1
    x_pad = np.pad(x_pad, ((0, 0), (0, 0), (0, s), (0, s)))
    out = np.zeros((x.shape[0], w.shape[0], H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i * s:i * s + HH, j * s:j * s + WW]
            out[:, :, i, j] = np.tensordot(window, w, ([1, 2, 3], [1, 2, 3]))
    return out if b is None else out + b[None, :, None, None]


@wrong(CHECK, says="where the exercise has `b`")
def conv_bias_keyword(x, w, bias=None, stride=1, padding=0):
    return conv_tensordot_loops(x, w, bias, stride, padding)


@wrong(CHECK, says="where the exercise has `padding`")
def conv_pad_keyword(x, w, b=None, stride=1, pad=0):
    return conv_tensordot_loops(x, w, b, stride, pad)


@wrong(CHECK, says="no `b` parameter", **SINGLE)
def conv_without_b(x, w):
    return conv_chapter_2_loops(x, w)


@wrong(CHECK, says=label(M.conv_no_bias), **SINGLE)
def conv_chapter_2_ignores_b(x, w, b=None):
    return conv_chapter_2_loops(x, w)


@wrong(CHECK, says="changed its input `b`")
def conv_reshapes_b_in_place(x, w, b=None, stride=1, padding=0):
    out = conv_tensordot_loops(x, w, None, stride, padding)
    if b is not None:
        b.shape = (1, -1, 1, 1)
        out = out + b
    return out


@wrong(CHECK, says="changed its input `x`")
def conv_scales_x_in_place(x, w, b=None, stride=1, padding=0):
    x /= 2.0
    return conv_tensordot_loops(x, 2.0 * w, b, stride, padding)


@wrong(CHECK, says="is complex")
def conv_fft_complex(x, w, b=None, stride=1, padding=0):
    p = padding
    x_pad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    Hp, Wp = x_pad.shape[2:]
    HH, WW = w.shape[2:]
    X = np.fft.fft2(x_pad)
    K = np.fft.fft2(w[:, :, ::-1, ::-1], s=(Hp, Wp))
    full = np.fft.ifft2(np.einsum("achw,fchw->afhw", X, K))
    out = full[:, :, HH - 1::stride, WW - 1::stride]
    return out if b is None else out + b[None, :, None, None]


@wrong(CHECK, says="is a list")
def conv_returns_list(x, w, b=None, stride=1, padding=0):
    return conv_tensordot_loops(x, w, b, stride, padding).tolist()


@wrong(CHECK, says="holds integers")
def conv_integer_output(x, w, b=None, stride=1, padding=0):
    out = conv_tensordot_loops(x, w, b, stride, padding)
    result = np.zeros(out.shape, dtype=int)
    result[...] = out
    return result


@wrong(CHECK, says="your function has no `stride` parameter",
       cases=["stride 2"])
def conv_named_case_without_stride(x, w, b=None):
    return conv_channel_loops(x, w, b)


@wrong(CHECK, says="raised TypeError", cases="all")
def strided_without_pairs(x, w, b=None, stride=1, padding=0):
    return cnnbp.conv2d(x, w, b, padding=padding)[:, :, ::stride, ::stride]


@wrong(CHECK, says="wrong shape", cases="all")
def strided_swaps_axes(x, w, b=None, stride=1, padding=0):
    sh, sw = as_pair(stride)
    return cnnbp.conv2d(x, w, b, padding=padding)[:, :, ::sw, ::sh]


@wrong(CHECK, says="dilation 2", cases=["dilation 2"])
def conv_dilation_as_stride(x, w, b=None, stride=1, padding=0,
                            dilation=1):
    return conv_sliding_windows(x, w, b, dilation, padding)
