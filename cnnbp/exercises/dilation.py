"""Checkers for the backward pass of a dilated convolution (chapter 14).

``check_dilated_filter_gradient`` and ``check_dilated_input_gradient``
run the learner's ``fn(dout, x, w, stride=1, padding=0, dilation=1)``
on a ladder that climbs from dilation 1 (chapters 06 and 07) through
dilation 2 and 3, a dilation per axis, dilation with stride (with and
without leftover rows), with padding, stride 3 with dilation 2, and
several channels, filters and samples. Expected results come from
:func:`cnnbp.conv2d_backward`, which the test suite checks against the
loop twins, finite differences and PyTorch.

A wrong result is compared with the classic mistakes: for dw, the first
HH rows of the correlation kept instead of every d-th, stride and
dilation not swapped, the gradient of the whole effective kernel; for
dx, the filter's holes ignored, a border of HH - 1 instead of
d(HH - 1), stride and dilation swapped, no flip.
"""

import numpy as np

import cnnbp
from cnnbp import naive
from cnnbp.shapes import pair

from . import judges, ladders, runner
from .ladders import _conv_describe, _rng
from .mistakes import Mistake

__all__ = ["check_dilated_filter_gradient", "check_dilated_input_gradient",
           "DILATION_CASES", "DILATED_DW", "DILATED_DX"]

_KEYWORDS = {"stride": 1, "padding": 0, "dilation": 1}

# name, x shape, w shape, keyword arguments, extra
DILATION_CASES = [
    ("dilation 1 (chapters 06 and 07)", (1, 1, 5, 5), (1, 1, 3, 3), {},
     False),
    ("dilation 2", (1, 1, 7, 7), (1, 1, 3, 3), {"dilation": 2}, False),
    ("dilation 3, 2x2 filter", (1, 1, 7, 8), (1, 1, 2, 2),
     {"dilation": 3}, False),
    ("dilation per axis", (1, 1, 7, 8), (1, 1, 3, 2),
     {"dilation": (2, 3)}, False),
    ("dilation 2, stride 2", (1, 1, 9, 9), (1, 1, 3, 3),
     {"stride": 2, "dilation": 2}, False),
    ("dilation 2, stride 2, leftover rows", (1, 1, 8, 10), (1, 1, 3, 3),
     {"stride": 2, "dilation": 2}, False),
    ("dilation 2, padding 2", (1, 1, 6, 6), (1, 1, 3, 3),
     {"padding": 2, "dilation": 2}, False),
    ("stride 3, dilation 2", (1, 1, 11, 10), (1, 1, 3, 3),
     {"stride": 3, "dilation": 2}, False),
    ("channels, filters and a batch", (2, 3, 7, 6), (4, 3, 3, 2),
     {"padding": 1, "dilation": 2}, False),
    ("per-axis stride, padding and dilation", (1, 2, 9, 8), (2, 2, 3, 2),
     {"stride": (2, 1), "padding": (1, 0), "dilation": (2, 3)}, True),
]


def dilation_cases():
    """The data of the cases.

    Yields
    ------
    tuple
        ``(name, x, w, dout, hyper, extra)``: x (N, C, H, W), w (K, C,
        HH, WW), dout (N, K, H_out, W_out), hyper the keyword arguments.
    """
    for name, xs, ws, hyper, extra in DILATION_CASES:
        rng = _rng(name, "dilation")
        x, w = rng.standard_normal(xs), rng.standard_normal(ws)
        dout = rng.standard_normal(cnnbp.conv2d(x, w, **hyper).shape)
        yield name, x, w, dout, hyper, extra


# ------------------------------------------------------ the mistakes

def _correlation(dout, x, stride, padding, conv_stride, conv_dilation):
    """sum over the batch of X^pad correlated with dL/dO used as a kernel:
    (K, C, h, w)."""
    xp = naive.pad(x, pair(padding, "padding"))
    corr = cnnbp.conv2d(xp.transpose(1, 0, 2, 3),
                        dout.transpose(1, 0, 2, 3), stride=conv_stride,
                        dilation=conv_dilation)
    return corr.transpose(1, 0, 2, 3)


def dw_first_rows(dout, x, w, stride=1, padding=0, dilation=1):
    """The d = 1 rule: first HH rows and WW columns of X^pad * D."""
    HH, WW = w.shape[2:]
    return _correlation(dout, x, stride, padding, 1, stride)[:, :, :HH, :WW]


def dw_not_swapped(dout, x, w, stride=1, padding=0, dilation=1):
    """dL/dO as a kernel with stride s and dilation d (not swapped)."""
    HH, WW = w.shape[2:]
    return _correlation(dout, x, stride, padding, stride,
                        dilation)[:, :, :HH, :WW]


def dw_effective_kernel(dout, x, w, stride=1, padding=0, dilation=1):
    """The gradient of the whole effective kernel, holes included."""
    big = naive.dilate(w, dilation)
    return cnnbp.conv2d_backward(dout, x, big, stride, padding)[1]


DILATED_DW = [
    Mistake("when the first HH rows and WW columns of the correlation of "
            "X with the zero-inserted dL/dO are kept (the d = 1 rule) "
            "instead of every d-th one", dw_first_rows),
    Mistake("when dL/dO is used as a kernel with stride s and dilation d; "
            "the two swap roles: stride d, dilation s", dw_not_swapped),
    Mistake("when the gradient of the whole effective kernel (taps and "
            "holes) is returned instead of that of the HH x WW taps",
            dw_effective_kernel),
]


def _full(dout, w, x_shape, stride, padding, g_step, f_step, border,
          flip=True):
    """dx by the gather recipe with its steps as parameters: dL/dO
    zero-inserted by ``g_step``, the filter dilated by ``f_step``,
    a border of ``border`` rows and columns; the result is put at the
    top left of the padded input's shape, then cropped."""
    p = pair(padding, "padding")
    N, C, H, W = x_shape
    g = naive.pad(naive.dilate(dout, g_step), border)
    f = naive.dilate(w, f_step)
    f = naive.rot180(f) if flip else f
    full = cnnbp.conv2d(g, f.transpose(1, 0, 2, 3))
    dxp = np.zeros((N, C, H + 2 * p[0], W + 2 * p[1]))
    rows, cols = (min(a, b) for a, b in zip(full.shape[2:],
                                            dxp.shape[2:]))
    dxp[:, :, :rows, :cols] = full[:, :, :rows, :cols]
    return dxp[:, :, p[0]:p[0] + H, p[1]:p[1] + W]


def _border(w, dilation):
    d = pair(dilation, "dilation")
    return tuple(d[a] * (w.shape[2 + a] - 1) for a in range(2))


def dx_holes_ignored(dout, x, w, stride=1, padding=0, dilation=1):
    """The filter used without its holes (dilation 1)."""
    return _full(dout, w, x.shape, stride, padding, stride, 1,
                 (w.shape[2] - 1, w.shape[3] - 1))


def dx_border_hh(dout, x, w, stride=1, padding=0, dilation=1):
    """A border of HH - 1 around the zero-inserted dL/dO."""
    return _full(dout, w, x.shape, stride, padding, stride, dilation,
                 (w.shape[2] - 1, w.shape[3] - 1))


def dx_swapped(dout, x, w, stride=1, padding=0, dilation=1):
    """dL/dO zero-inserted by d, the filter dilated by s."""
    return _full(dout, w, x.shape, stride, padding, dilation, stride,
                 _border(w, stride))


def dx_no_flip(dout, x, w, stride=1, padding=0, dilation=1):
    """The dilated filter correlated without the 180-degree rotation."""
    return _full(dout, w, x.shape, stride, padding, stride, dilation,
                 _border(w, dilation), flip=False)


DILATED_DX = [
    Mistake("when the filter's dilation is ignored in the backward pass "
            "(rot180(F) used without its holes)", dx_holes_ignored),
    Mistake("when the zero-inserted dL/dO is padded by HH - 1 instead of "
            "d(HH - 1)", dx_border_hh),
    Mistake("when the stride and the dilation are swapped (dL/dO "
            "zero-inserted by d, the filter dilated by s)", dx_swapped),
    Mistake("without rotating the dilated filter by 180 degrees",
            dx_no_flip),
]


# --------------------------------------------------------- the ladders

def _ladder(part, table):
    ladder = []
    for name, x, w, dout, hyper, extra in dilation_cases():
        expected = cnnbp.conv2d_backward(dout, x, w, **hyper)[part]

        def call(fn, dout=dout, x=x, w=w, hyper=hyper):
            return fn(dout, x, w, **hyper)
        what = ("dx", "dw")[part]
        judge = judges.array_judge(expected, what, table, call)
        ladder.append(runner.Case(name, _conv_describe(x, w, hyper, dout),
                                  (dout, x, w), dict(hyper), judge, extra))
    return ladder


def _dilated_filter_gradient():
    return _ladder(1, DILATED_DW)


def _dilated_input_gradient():
    return _ladder(0, DILATED_DX)


_SIGNATURE = runner.Signature(("dout", "x", "w"), _KEYWORDS,
                              frozenset({"stride", "padding", "dilation"}))
ladders.SIGNATURES.update({
    "check_dilated_filter_gradient": _SIGNATURE,
    "check_dilated_input_gradient": _SIGNATURE,
})
ladders.LADDERS.update({
    "check_dilated_filter_gradient": _dilated_filter_gradient,
    "check_dilated_input_gradient": _dilated_input_gradient,
})


def _check(name, fn, cases):
    return runner.run(name, fn, ladders.LADDERS[name](), cases,
                      ladders.SIGNATURES[name])


def check_dilated_filter_gradient(fn, cases=None):
    """Check ``fn(dout, x, w, stride=1, padding=0, dilation=1) -> dw``.

    dw = dL/dF of shape (K, C, HH, WW) for dout (N, K, H_out, W_out)
    and x (N, C, H, W), with the filter's taps d apart; compared with
    :func:`cnnbp.conv2d_backward`.

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
    return _check("check_dilated_filter_gradient", fn, cases)


def check_dilated_input_gradient(fn, cases=None):
    """Check ``fn(dout, x, w, stride=1, padding=0, dilation=1) -> dx``.

    dx = dL/dX of shape (N, C, H, W) for dout (N, K, H_out, W_out) and
    w (K, C, HH, WW), with the filter's taps d apart; compared with
    :func:`cnnbp.conv2d_backward`. Parameters and return value as in
    :func:`check_dilated_filter_gradient`.
    """
    return _check("check_dilated_input_gradient", fn, cases)
