"""Checkers for the pooling family (chapter 15).

``check_avgpool2d_backward`` runs the learner's function on a ladder
that climbs from non-overlapping 2x2 windows through a non-square
window, overlapping windows, padding with and without
``count_include_pad``, ``ceil_mode`` (a last window hanging over the
edge), ``ceil_mode`` with padding (where the overhang beyond the padding
is never counted, even with ``count_include_pad``), and a batch with
channels; the extra case has per-axis window, stride and padding.
``check_global_avgpool2d_backward`` climbs from a square map to
non-square maps, a batch and channels, and a 1x1 map.

Shapes: x (N, C, H, W), dout (N, C, H_out, W_out); the windows and the
divisor are those of ``F.avg_pool2d`` (see :func:`cnnbp.avgpool2d`).
Expected results come from :func:`cnnbp.avgpool2d_backward` and
:func:`cnnbp.global_avgpool2d_backward`, which the test suite checks
against the loop twins, finite differences and PyTorch.
"""

import numpy as np

import cnnbp

from . import judges, ladders, runner
from .ladders import _pool_describe, _rng
from .mistakes import Mistake

__all__ = ["check_avgpool2d_backward", "check_global_avgpool2d_backward",
           "AVG_CASES", "AVGPOOL2D_BACKWARD", "GLOBAL_AVGPOOL2D_BACKWARD"]

_KEYWORDS = {"size": 2, "stride": None, "padding": 0, "ceil_mode": False,
             "count_include_pad": True}

# name, x shape, keyword arguments, extra
AVG_CASES = [
    ("2x2 windows, stride 2", (1, 1, 4, 6), {"size": 2}, False),
    ("non-square window", (1, 1, 4, 6), {"size": (2, 3)}, False),
    ("overlapping windows", (1, 1, 5, 5), {"size": 3, "stride": 2},
     False),
    ("padding 1, padding counted", (1, 1, 4, 5),
     {"size": 3, "stride": 2, "padding": 1}, False),
    ("padding 1, padding not counted", (1, 1, 4, 5),
     {"size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
     False),
    ("ceil_mode", (1, 1, 5, 7), {"size": 2, "ceil_mode": True}, False),
    ("ceil_mode and padding", (1, 1, 6, 5),
     {"size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, False),
    ("batch and channels", (2, 3, 5, 4),
     {"size": 2, "stride": 1, "padding": 1, "count_include_pad": False},
     False),
    ("per-axis window, stride and padding", (1, 2, 7, 6),
     {"size": (3, 2), "stride": (2, 1), "padding": (1, 0),
      "ceil_mode": True}, True),
]

GLOBAL_CASES = [
    ("square map", (1, 1, 4, 4)),
    ("non-square map", (1, 1, 3, 5)),
    ("batch and channels", (2, 3, 5, 2)),
    ("a 1x1 map", (2, 2, 1, 1)),
]


def _pair(value):
    return (value, value) if np.ndim(value) == 0 else tuple(value)


def _windows(x_shape, size, stride, padding, ceil_mode):
    """Row and column start indices (in X) of every window."""
    out = cnnbp.avgpool2d(np.zeros((1, 1) + tuple(x_shape[2:])), size,
                          stride, padding, ceil_mode)
    (HH, WW), (ph, pw) = _pair(size), _pair(padding)
    sh, sw = _pair(size if stride is None else stride)
    return ([i * sh - ph for i in range(out.shape[2])],
            [j * sw - pw for j in range(out.shape[3])], HH, WW)


def _spread(dout, x, size, stride, padding, ceil_mode, divisor,
            assign=False):
    """dx with ``dout[i, j] / divisor(r0, c0)`` added (or assigned) to
    the cells of X in window (i, j)."""
    rows, cols, HH, WW = _windows(x.shape, size, stride, padding,
                                  ceil_mode)
    H, W = x.shape[2:]
    dx = np.zeros(x.shape)
    for i, r0 in enumerate(rows):
        for j, c0 in enumerate(cols):
            share = dout[:, :, i, j] / divisor(r0, c0)
            r, c = slice(max(r0, 0), r0 + HH), slice(max(c0, 0), c0 + WW)
            if assign:
                dx[:, :, r, c] = share[:, :, None, None]
            else:
                dx[:, :, r, c] += share[:, :, None, None]
    return dx[:, :, :H, :W]


def avg_full_divisor(dout, x, size=2, stride=None, padding=0,
                     ceil_mode=False, count_include_pad=True):
    """Divides by HH*WW in every window."""
    HH, WW = _pair(size)
    return _spread(dout, x, size, stride, padding, ceil_mode,
                   lambda r0, c0: HH * WW)


def _inside(start, k, lo, hi):
    return min(start + k, hi) - max(start, lo)


def _right_divisor(x, size, padding, count_include_pad):
    (HH, WW), (ph, pw) = _pair(size), _pair(padding)
    H, W = x.shape[2:]
    lo = (-ph, -pw) if count_include_pad else (0, 0)
    hi = (H + ph, W + pw) if count_include_pad else (H, W)
    return lambda r0, c0: (_inside(r0, HH, lo[0], hi[0])
                           * _inside(c0, WW, lo[1], hi[1]))


def avg_flipped_count(dout, x, size=2, stride=None, padding=0,
                      ceil_mode=False, count_include_pad=True):
    """count_include_pad read the wrong way round."""
    return _spread(dout, x, size, stride, padding, ceil_mode,
                   _right_divisor(x, size, padding, not count_include_pad))


def avg_assigned(dout, x, size=2, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
    """'=' instead of '+=' where windows overlap."""
    return _spread(dout, x, size, stride, padding, ceil_mode,
                   _right_divisor(x, size, padding, count_include_pad),
                   assign=True)


def avg_not_divided(dout, x, size=2, stride=None, padding=0,
                    ceil_mode=False, count_include_pad=True):
    """Copies dout to every cell of the window, not divided."""
    return _spread(dout, x, size, stride, padding, ceil_mode,
                   lambda r0, c0: 1)


def avg_routed_like_max(dout, x, size=2, stride=None, padding=0,
                        ceil_mode=False, count_include_pad=True):
    """All of dout to the window's maximum, as in max pooling."""
    kw = dict(size=size, stride=stride, padding=padding,
              ceil_mode=ceil_mode)
    return cnnbp.maxpool2d_backward(dout, x, **kw)


AVGPOOL2D_BACKWARD = [
    Mistake("when every window divides by HH*WW (only its cells inside "
            "X count, or inside the padded X with count_include_pad; a "
            "ceil-mode overhang never counts)", avg_full_divisor),
    Mistake("with count_include_pad read the wrong way round",
            avg_flipped_count),
    Mistake("with '=' instead of '+=' where windows overlap",
            avg_assigned),
    Mistake("when dL/dO is copied to every cell without dividing by the "
            "window's count", avg_not_divided),
    Mistake("when all of dL/dO goes to the window's maximum, as in max "
            "pooling (average pooling spreads it evenly)",
            avg_routed_like_max),
]


def global_not_divided(dout, x):
    """dout broadcast to every cell, not divided by H*W."""
    return np.broadcast_to(dout, x.shape).copy()


def global_divided_by_h(dout, x):
    """Divided by H only."""
    return global_not_divided(dout, x) / x.shape[2]


def global_divided_by_batch(dout, x):
    """Divided by N*H*W, as if the batch were averaged too."""
    return global_not_divided(dout, x) / (x.shape[0] * x.shape[2]
                                          * x.shape[3])


def global_first_cell(dout, x):
    """All of dout to cell (0, 0)."""
    dx = np.zeros(x.shape)
    dx[:, :, 0, 0] = dout[:, :, 0, 0]
    return dx


GLOBAL_AVGPOOL2D_BACKWARD = [
    Mistake("when dL/dO is copied to every cell without dividing by H*W",
            global_not_divided),
    Mistake("when dL/dO is divided by H only (not H*W)",
            global_divided_by_h),
    Mistake("when dL/dO is divided by N*H*W (the batch is summed, not "
            "averaged, by the loss)", global_divided_by_batch),
    Mistake("when all of dL/dO goes to cell (0, 0)", global_first_cell),
]


# --------------------------------------------------------- the ladders

def _avgpool2d_backward():
    ladder = []
    for name, shape, kw, extra in AVG_CASES:
        x = _rng(name, "avgpool").standard_normal(shape)
        dout = _rng(name, "avgpool dout").standard_normal(
            cnnbp.avgpool2d(x, **kw).shape)
        expected = cnnbp.avgpool2d_backward(dout, x, **kw)

        def call(fn, dout=dout, x=x, kw=kw):
            return fn(dout, x, **kw)
        judge = judges.array_judge(expected, "dx", AVGPOOL2D_BACKWARD, call)
        ladder.append(runner.Case(name, _pool_describe(x, kw, dout),
                                  (dout, x), dict(kw), judge, extra))
    return ladder


def _global_avgpool2d_backward():
    ladder = []
    for name, shape in GLOBAL_CASES:
        x = _rng(name, "global").standard_normal(shape)
        dout = _rng(name, "global dout").standard_normal(shape[:2] + (1, 1))
        expected = cnnbp.global_avgpool2d_backward(dout, x)

        def call(fn, dout=dout, x=x):
            return fn(dout, x)
        judge = judges.array_judge(expected, "dx",
                                   GLOBAL_AVGPOOL2D_BACKWARD, call)
        ladder.append(runner.Case(name, _pool_describe(x, {}, dout),
                                  (dout, x), {}, judge))
    return ladder


ladders.SIGNATURES.update({
    "check_avgpool2d_backward": runner.Signature(
        ("dout", "x"), _KEYWORDS, frozenset(_KEYWORDS)),
    "check_global_avgpool2d_backward": runner.Signature(
        ("dout", "x"), {}),
})
ladders.LADDERS.update({
    "check_avgpool2d_backward": _avgpool2d_backward,
    "check_global_avgpool2d_backward": _global_avgpool2d_backward,
})


def _check(name, fn, cases):
    return runner.run(name, fn, ladders.LADDERS[name](), cases,
                      ladders.SIGNATURES[name])


def check_avgpool2d_backward(fn, cases=None):
    """Check ``fn(dout, x, size=2, stride=None, padding=0,
    ceil_mode=False, count_include_pad=True) -> dx``.

    dout (N, C, H_out, W_out), dx (N, C, H, W): every cell of X in
    window (i, j) receives ``dout[a, c, i, j] / D[i, j]``, summed over
    the windows that hold it; ``D[i, j]`` counts the window's cells
    inside the padded input (``count_include_pad``) or inside X, never
    a ceil-mode overhang beyond the padding. Compared with
    :func:`cnnbp.avgpool2d_backward`.

    Parameters
    ----------
    fn : callable
        Your function.
    cases : None, "all", str or list of str
        Case names to run (:func:`cnnbp.exercises.case_names`); None
        runs the standard ladder.

    Returns
    -------
    CheckResult
        Truthy iff every case passed.
    """
    return _check("check_avgpool2d_backward", fn, cases)


def check_global_avgpool2d_backward(fn, cases=None):
    """Check ``fn(dout, x) -> dx`` for global average pooling.

    dout (N, C, 1, 1), dx (N, C, H, W) with ``dx[a, c, u, v] =
    dout[a, c, 0, 0] / (H W)``; compared with
    :func:`cnnbp.global_avgpool2d_backward`. Parameters and return value
    as in :func:`check_avgpool2d_backward`.
    """
    return _check("check_global_avgpool2d_backward", fn, cases)
