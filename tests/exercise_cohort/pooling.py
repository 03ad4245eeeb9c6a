"""Max-pooling (chapter 9): check_maxpool2d, check_maxpool2d_backward."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnnbp.exercises import mistakes as M

from . import label, right, wrong

FORWARD, BACKWARD = "check_maxpool2d", "check_maxpool2d_backward"


def as_pair(v):
    return (v, v) if np.ndim(v) == 0 else tuple(v)


def windows(x, size, stride):
    """(kh, kw, sh, sw, H_out, W_out) of a max-pool."""
    kh, kw = as_pair(size)
    sh, sw = as_pair(size if stride is None else stride)
    return (kh, kw, sh, sw, (x.shape[2] - kh) // sh + 1,
            (x.shape[3] - kw) // sw + 1)


# ---------------------------------------------------------------- forward

@right(FORWARD)
def pool_chapter_9(x, size=2, stride=None):
    kh, kw, sh, sw, H_out, W_out = windows(x, size, stride)
    out = np.empty(x.shape[:2] + (H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            win = x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            out[:, :, i, j] = win.max(axis=(2, 3))
    return out


@right(FORWARD)
def pool_sliding_windows(x, size=2, stride=None):
    kh, kw, sh, sw, _, _ = windows(x, size, stride)
    win = sliding_window_view(x, (kh, kw), axis=(2, 3))
    return win[:, :, ::sh, ::sw].max(axis=(4, 5))


@right(FORWARD)
def pool_running_max(x, size=2, stride=None):
    kh, kw, sh, sw, H_out, W_out = windows(x, size, stride)
    N, C = x.shape[:2]
    out = np.full((N, C, H_out, W_out), -np.inf)
    for a in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    for m in range(kh):
                        for n in range(kw):
                            out[a, c, i, j] = max(
                                out[a, c, i, j],
                                x[a, c, i * sh + m, j * sw + n])
    return out


@right(FORWARD)
def pool_float32(x, size=2, stride=None):
    return pool_sliding_windows(x.astype(np.float32), size, stride)


@right(FORWARD, needs="torch")
def pool_torch(x, size=2, stride=None):
    import torch
    import torch.nn.functional as F
    return F.max_pool2d(torch.from_numpy(x), size, stride).numpy()


@wrong(FORWARD, says=label(M.pool_zero_start))
def pool_starts_at_zero(x, size=2, stride=None):
    return np.maximum(pool_chapter_9(x, size, stride), 0)


@wrong(FORWARD, says=label(M.pool_stride_is_size))
def pool_ignores_stride(x, size=2, stride=None):
    return pool_chapter_9(x, size, None)


@wrong(FORWARD, says=label(M.pool_none_is_one))
def pool_default_stride_one(x, size=2, stride=None):
    return pool_chapter_9(x, size, 1 if stride is None else stride)


@wrong(FORWARD, says=label(M.pool_square_window))
def pool_square_only(x, size=2, stride=None):
    k = size if np.ndim(size) == 0 else size[0]
    return pool_chapter_9(x, k, k if stride is None else stride)


@wrong(FORWARD, says=label(M.pool_average))
def pool_mean(x, size=2, stride=None):
    kh, kw, sh, sw, _, _ = windows(x, size, stride)
    win = sliding_window_view(x, (kh, kw), axis=(2, 3))
    return win[:, :, ::sh, ::sw].mean(axis=(4, 5))


@wrong(FORWARD, says="raised TypeError")
def pool_int_size_only(x, size=2, stride=None):
    stride = size if stride is None else stride
    H_out = (x.shape[2] - size) // stride + 1
    W_out = (x.shape[3] - size) // stride + 1
    out = np.empty(x.shape[:2] + (H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + size,
                                j * stride:j * stride + size].max(axis=(2, 3))
    return out


@wrong(FORWARD, says="wrong shape")
def pool_ceil_mode(x, size=2, stride=None):
    kh, kw, sh, sw, _, _ = windows(x, size, stride)
    H_out = -(-(x.shape[2] - kh) // sh) + 1
    W_out = -(-(x.shape[3] - kw) // sw) + 1
    out = np.empty(x.shape[:2] + (H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            win = x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            out[:, :, i, j] = win.max(axis=(2, 3))
    return out


# --------------------------------------------------------------- backward

@right(BACKWARD)
def pool_back_chapter_9(dout, x, size=2, stride=None):
    kh, kw, sh, sw, _, _ = windows(x, size, stride)
    N, C, H_out, W_out = dout.shape
    dx = np.zeros(x.shape)
    for a in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    win = x[a, c, i * sh:i * sh + kh, j * sw:j * sw + kw]
                    m, n = np.unravel_index(np.argmax(win), win.shape)
                    dx[a, c, i * sh + m, j * sw + n] += dout[a, c, i, j]
    return dx


def _route(dout, x, size, stride, share):
    """dx from ``share(window) -> weights`` per window, += over overlaps."""
    kh, kw, sh, sw, _, _ = windows(x, size, stride)
    dx = np.zeros(x.shape)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            win = x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            dx[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += (
                share(win) * dout[:, :, i, j, None, None])
    return dx


def _tied(win):
    return (win == win.max(axis=(2, 3), keepdims=True)).astype(float)


@right(BACKWARD)
def pool_back_split_evenly(dout, x, size=2, stride=None):
    return _route(dout, x, size, stride,
                  lambda win: _tied(win) / _tied(win).sum(axis=(2, 3),
                                                          keepdims=True))


@right(BACKWARD)
def pool_back_last_maximum(dout, x, size=2, stride=None):
    def last(win):
        flipped = win[:, :, ::-1, ::-1].reshape(win.shape[:2] + (-1,))
        k = flipped.shape[2] - 1 - flipped.argmax(axis=2)
        weight = np.zeros(flipped.shape)
        np.put_along_axis(weight, k[..., None], 1.0, axis=2)
        return weight.reshape(win.shape)
    return _route(dout, x, size, stride, last)


@right(BACKWARD)
def pool_back_add_at(dout, x, size=2, stride=None):
    kh, kw, sh, sw, H_out, W_out = windows(x, size, stride)
    win = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    arg = win.reshape(win.shape[:4] + (-1,)).argmax(axis=4)
    m, n = np.divmod(arg, kw)
    a, c, i, j = np.indices(dout.shape)
    dx = np.zeros(x.shape)
    np.add.at(dx, (a, c, i * sh + m, j * sw + n), dout)
    return dx


@right(BACKWARD, needs="torch")
def pool_back_torch(dout, x, size=2, stride=None):
    import torch
    import torch.nn.functional as F
    xt = torch.from_numpy(x.copy()).requires_grad_()
    F.max_pool2d(xt, size, stride).backward(torch.from_numpy(dout))
    return xt.grad.numpy()


@wrong(BACKWARD, says=label(M.pool_back_every_tie))
def pool_back_mask(dout, x, size=2, stride=None):
    return _route(dout, x, size, stride, _tied)


@wrong(BACKWARD, says="not a valid gradient")
def pool_back_halves(dout, x, size=2, stride=None):
    def halves(win):
        tied = _tied(win)
        return tied * np.where(tied.sum(axis=(2, 3), keepdims=True) > 1,
                               0.5, 1.0)
    return _route(dout, x, size, stride, halves)


@wrong(BACKWARD, says=label(M.pool_back_assign))
def pool_back_assigns(dout, x, size=2, stride=None):
    kh, kw, sh, sw, _, _ = windows(x, size, stride)
    N, C, H_out, W_out = dout.shape
    dx = np.zeros(x.shape)
    for a in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    win = x[a, c, i * sh:i * sh + kh, j * sw:j * sw + kw]
                    m, n = np.unravel_index(np.argmax(win), win.shape)
                    dx[a, c, i * sh + m, j * sw + n] = dout[a, c, i, j]
    return dx


@wrong(BACKWARD, says=label(M.pool_back_spread))
def pool_back_average(dout, x, size=2, stride=None):
    return _route(dout, x, size, stride,
                  lambda win: np.ones(win.shape) / win[0, 0].size)


@wrong(BACKWARD, says=label(M.pool_back_stride_is_size))
def pool_back_ignores_stride(dout, x, size=2, stride=None):
    return pool_back_chapter_9(dout, x, size, None)


@wrong(BACKWARD, says=label(M.pool_back_none_is_one))
def pool_back_default_stride_one(dout, x, size=2, stride=None):
    return pool_back_chapter_9(dout, x, size, 1 if stride is None
                               else stride)


@wrong(BACKWARD, says="raised IndexError")
def pool_back_unravel_transposed(dout, x, size=2, stride=None):
    kh, kw, sh, sw, _, _ = windows(x, size, stride)
    N, C, H_out, W_out = dout.shape
    dx = np.zeros(x.shape)
    for a in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    win = x[a, c, i * sh:i * sh + kh, j * sw:j * sw + kw]
                    m, n = np.unravel_index(np.argmax(win), (kw, kh))
                    dx[a, c, i * sh + m, j * sw + n] += dout[a, c, i, j]
    return dx


@wrong(FORWARD, says="wrong")
def pool_swaps_window(x, size=2, stride=None):
    kh, kw = as_pair(size)
    return pool_chapter_9(x, (kw, kh), None if stride is None
                          else as_pair(stride)[::-1])


@right(BACKWARD)
def pool_back_float32(dout, x, size=2, stride=None):
    return pool_back_add_at(dout.astype(np.float32), x, size,
                            stride).astype(np.float32)
