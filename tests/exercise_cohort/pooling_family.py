"""The pooling family (chapter 15): check_avgpool2d_backward,
check_global_avgpool2d_backward."""

import math

import numpy as np

import cnnbp
from cnnbp.exercises import pooling_family as P

from . import right, wrong

AVG, GLOBAL = "check_avgpool2d_backward", "check_global_avgpool2d_backward"


def pair(v):
    return (v, v) if np.ndim(v) == 0 else tuple(v)


def out_size(n, k, s, p, ceil_mode):
    steps = (n + 2 * p - k) / s
    n_out = (math.ceil(steps) if ceil_mode else math.floor(steps)) + 1
    if ceil_mode and (n_out - 1) * s >= n + p:
        n_out -= 1
    return n_out


def spread(dout, x, size, stride, padding, ceil_mode, count_include_pad,
           divide=True, overhang=False, assign=False):
    """A learner's loops: each window's share onto its cells of X."""
    (HH, WW), (ph, pw) = pair(size), pair(padding)
    sh, sw = pair(size if stride is None else stride)
    N, C, H, W = x.shape
    dx = np.zeros(x.shape)
    for i in range(out_size(H, HH, sh, ph, ceil_mode)):
        for j in range(out_size(W, WW, sw, pw, ceil_mode)):
            r0, c0 = i * sh - ph, j * sw - pw
            r1, c1 = r0 + HH, c0 + WW
            if count_include_pad:
                lo, hi = (-ph, -pw), (H + ph, W + pw)
            else:
                lo, hi = (0, 0), (H, W)
            if overhang:
                lo, hi = (r0, c0), (r1, c1)
            count = ((min(r1, hi[0]) - max(r0, lo[0]))
                     * (min(c1, hi[1]) - max(c0, lo[1])))
            share = dout[:, :, i, j] / (count if divide else 1)
            window = dx[:, :, max(r0, 0):r1, max(c0, 0):c1]
            if assign:
                window[...] = share[:, :, None, None]
            else:
                window += share[:, :, None, None]
    return dx


# ------------------------------------------------------ average pooling

@right(AVG)
def avg_loops(dout, x, size=2, stride=None, padding=0, ceil_mode=False,
              count_include_pad=True):
    return spread(dout, x, size, stride, padding, ceil_mode,
                  count_include_pad)


@right(AVG)
def avg_adjoint(dout, x, size=2, stride=None, padding=0, ceil_mode=False,
                count_include_pad=True):
    """Average pooling is linear: dx = P^T dout, P from unit inputs."""
    H, W = x.shape[2:]
    units = np.eye(H * W).reshape(H * W, 1, H, W)
    P = cnnbp.avgpool2d(units, size, stride, padding, ceil_mode,
                        count_include_pad).reshape(H * W, -1)
    N, C = dout.shape[:2]
    return (dout.reshape(N * C, -1) @ P.T).reshape(x.shape)


@right(AVG)
def avg_float32(dout, x, size=2, stride=None, padding=0, ceil_mode=False,
                count_include_pad=True):
    return spread(dout.astype(np.float32), x.astype(np.float32), size,
                  stride, padding, ceil_mode,
                  count_include_pad).astype(np.float32)


@right(AVG, needs="torch")
def avg_torch(dout, x, size=2, stride=None, padding=0, ceil_mode=False,
              count_include_pad=True):
    import torch
    import torch.nn.functional as F
    xt = torch.from_numpy(x).requires_grad_()
    F.avg_pool2d(xt, size, stride, padding, ceil_mode,
                 count_include_pad).backward(torch.from_numpy(dout))
    return xt.grad.numpy()


@wrong(AVG, says=P.AVGPOOL2D_BACKWARD[0].label)
def avg_divides_by_window_size(dout, x, size=2, stride=None, padding=0,
                               ceil_mode=False, count_include_pad=True):
    return spread(dout, x, size, stride, padding, ceil_mode,
                  count_include_pad, overhang=True)


@wrong(AVG, says=P.AVGPOOL2D_BACKWARD[1].label)
def avg_count_pad_backwards(dout, x, size=2, stride=None, padding=0,
                            ceil_mode=False, count_include_pad=True):
    return spread(dout, x, size, stride, padding, ceil_mode,
                  not count_include_pad)


@wrong(AVG, says=P.AVGPOOL2D_BACKWARD[2].label)
def avg_assigns(dout, x, size=2, stride=None, padding=0, ceil_mode=False,
                count_include_pad=True):
    return spread(dout, x, size, stride, padding, ceil_mode,
                  count_include_pad, assign=True)


@wrong(AVG, says=P.AVGPOOL2D_BACKWARD[3].label)
def avg_forgets_to_divide(dout, x, size=2, stride=None, padding=0,
                          ceil_mode=False, count_include_pad=True):
    return spread(dout, x, size, stride, padding, ceil_mode,
                  count_include_pad, divide=False)


@wrong(AVG, says=P.AVGPOOL2D_BACKWARD[4].label)
def avg_routes_like_max(dout, x, size=2, stride=None, padding=0,
                        ceil_mode=False, count_include_pad=True):
    return cnnbp.maxpool2d_backward(dout, x, size, stride, padding,
                                    ceil_mode)


@wrong(AVG, says="dx has the wrong shape")
def avg_floor_always(dout, x, size=2, stride=None, padding=0,
                     ceil_mode=False, count_include_pad=True):
    """Ignores ceil_mode: the last window's share is never spread, and
    the output shape it assumes is the floor's."""
    dx = spread(dout, x, size, stride, padding, False, count_include_pad)
    return dx if not ceil_mode else dx[:, :, :-1]


@wrong(AVG, says="changed its input `dout`")
def avg_divides_dout_in_place(dout, x, size=2, stride=None, padding=0,
                              ceil_mode=False, count_include_pad=True):
    HH, WW = pair(size)
    right = spread(dout, x, size, stride, padding, ceil_mode,
                   count_include_pad)
    dout /= HH * WW
    return right


# ---------------------------------------------- global average pooling

@right(GLOBAL)
def global_broadcast(dout, x):
    H, W = x.shape[2:]
    return np.broadcast_to(dout / (H * W), x.shape).copy()


@right(GLOBAL)
def global_loops(dout, x):
    N, C, H, W = x.shape
    dx = np.empty(x.shape)
    for u in range(H):
        for v in range(W):
            dx[:, :, u, v] = dout[:, :, 0, 0] / (H * W)
    return dx


@right(GLOBAL, needs="torch")
def global_torch(dout, x):
    import torch
    import torch.nn.functional as F
    xt = torch.from_numpy(x).requires_grad_()
    F.adaptive_avg_pool2d(xt, 1).backward(torch.from_numpy(dout))
    return xt.grad.numpy()


@wrong(GLOBAL, says=P.GLOBAL_AVGPOOL2D_BACKWARD[0].label)
def global_no_division(dout, x):
    return np.ones(x.shape) * dout


@wrong(GLOBAL, says=P.GLOBAL_AVGPOOL2D_BACKWARD[1].label)
def global_over_rows(dout, x):
    return np.ones(x.shape) * dout / x.shape[2]


@wrong(GLOBAL, says=P.GLOBAL_AVGPOOL2D_BACKWARD[2].label)
def global_over_batch_too(dout, x):
    return np.ones(x.shape) * dout / x[:, :1].size


@wrong(GLOBAL, says=P.GLOBAL_AVGPOOL2D_BACKWARD[3].label)
def global_corner(dout, x):
    dx = np.zeros(x.shape)
    dx[:, :, :1, :1] = dout
    return dx


@wrong(GLOBAL, says="dx has the wrong shape")
def global_keeps_pooled_shape(dout, x):
    return dout / (x.shape[2] * x.shape[3])
