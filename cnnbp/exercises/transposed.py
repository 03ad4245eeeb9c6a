"""Checkers for the transposed convolution (chapter 13).

``check_conv_transpose2d`` and ``check_conv_transpose2d_backward`` run
the learner's function on a ladder that climbs from stride 1 through
overlapping windows (stride 2, a 3x3 filter), output_padding, padding
with output_padding, a non-square filter, C = K (where swapped weight
axes still have the right shape and show only in the values), C != K,
a batch with a bias, dilation, and two extra cases: per-axis stride,
padding and output_padding; and an output_padding that is not below the
stride (allowed when it is below the dilation), where the convolution
of dL/dO has rows of no input cell that the backward pass must cut off.

Shapes, exactly as :func:`cnnbp.conv_transpose2d` (``F.conv_transpose2d``
without groups): x (N, C, H, W), w (C, K, HH, WW), b (K,), out and dout
(N, K, H_out, W_out) with
``H_out = (H - 1)*s - 2p + d(HH - 1) + output_padding + 1``. Expected
results come from :func:`cnnbp.conv_transpose2d` and
:func:`cnnbp.conv_transpose2d_backward`, which the test suite checks
against the loop twins, finite differences and PyTorch.
"""

import numpy as np

import cnnbp
from cnnbp import naive

from . import judges, ladders, runner
from .ladders import _rng
from .mistakes import BIAS_GRADIENT, Mistake

__all__ = ["check_conv_transpose2d", "check_conv_transpose2d_backward",
           "TRANSPOSED_CASES", "TRANSPOSED_FORWARD", "TRANSPOSED_DX",
           "TRANSPOSED_DW"]

_KEYWORDS = {"b": None, "stride": 1, "padding": 0, "output_padding": 0,
             "dilation": 1}
_BACKWARD_KEYWORDS = {"stride": 1, "padding": 0, "output_padding": 0,
                      "dilation": 1}

# name, x shape, w shape (C, K, HH, WW), keyword arguments, with bias,
# extra
TRANSPOSED_CASES = [
    ("stride 1", (1, 1, 3, 3), (1, 1, 2, 2), {}, False, False),
    ("stride 2, overlapping windows", (1, 1, 3, 3), (1, 1, 3, 3),
     {"stride": 2}, False, False),
    ("stride 2, output_padding 1", (1, 1, 3, 4), (1, 1, 3, 3),
     {"stride": 2, "output_padding": 1}, False, False),
    ("stride 2, padding 1", (1, 1, 4, 3), (1, 1, 3, 3),
     {"stride": 2, "padding": 1}, False, False),
    ("padding 1 and output_padding 1", (1, 1, 3, 3), (1, 1, 4, 4),
     {"stride": 2, "padding": 1, "output_padding": 1}, False, False),
    ("non-square filter", (1, 1, 3, 4), (1, 1, 2, 3), {"stride": 2},
     False, False),
    ("C = K = 2", (1, 2, 3, 3), (2, 2, 3, 3), {"stride": 2}, False,
     False),
    ("2 channels to 3", (1, 2, 3, 4), (2, 3, 3, 2),
     {"stride": 2, "padding": 1}, False, False),
    ("batch and bias", (2, 2, 3, 3), (2, 3, 3, 3),
     {"stride": 2, "padding": 1, "output_padding": 1}, True, False),
    ("dilation 2", (1, 2, 3, 3), (2, 2, 2, 2),
     {"stride": 2, "dilation": 2, "output_padding": 1}, False, False),
    ("per-axis stride, padding and output_padding", (1, 2, 3, 4),
     (2, 2, 3, 2), {"stride": (2, 3), "padding": (1, 0),
                    "output_padding": (1, 2)}, True, True),
    ("output_padding not below the stride (dilation 3)", (1, 2, 3, 4),
     (2, 2, 2, 2), {"stride": (1, 2), "dilation": 3,
                    "output_padding": (2, 1)}, False, True),
]


def transposed_cases():
    """The data of the cases.

    Yields
    ------
    tuple
        ``(name, x, w, b, dout, hyper, extra)``: x (N, C, H, W), w (C,
        K, HH, WW), b (K,) or None, dout (N, K, H_out, W_out), hyper the
        keyword arguments, extra as in
        :class:`cnnbp.exercises.runner.Case`.
    """
    for name, xs, ws, hyper, with_b, extra in TRANSPOSED_CASES:
        rng = _rng(name, "transposed")
        x, w = rng.standard_normal(xs), rng.standard_normal(ws)
        b = rng.standard_normal(ws[1]) if with_b else None
        dout = rng.standard_normal(
            cnnbp.conv_transpose2d(x, w, **hyper).shape)
        yield name, x, w, b, dout, hyper, extra


def _describe(x, w, hyper, dout=None, b=None):
    return ladders._conv_describe(x, w, hyper, dout, b)


# ------------------------------------------------------ the mistakes

def _pair(value):
    return (value, value) if np.ndim(value) == 0 else tuple(value)


def _swapped(w):
    """w read in the convolution's layout (K, C, ...): axes 0, 1 swapped."""
    return w.transpose(1, 0, 2, 3)


def ct_rotated(x, w, b=None, stride=1, padding=0, output_padding=0,
               dilation=1):
    """Stamps the filter rotated by 180 degrees."""
    return cnnbp.conv_transpose2d(x, naive.rot180(w), b, stride, padding,
                                  output_padding, dilation)


def ct_swapped_axes(x, w, b=None, stride=1, padding=0, output_padding=0,
                    dilation=1):
    """Reads w as (K, C, HH, WW), the convolution's layout."""
    return cnnbp.conv_transpose2d(x, _swapped(w), b, stride, padding,
                                  output_padding, dilation)


def ct_no_bias(x, w, b=None, stride=1, padding=0, output_padding=0,
               dilation=1):
    """Leaves out the bias."""
    return cnnbp.conv_transpose2d(x, w, None, stride, padding,
                                  output_padding, dilation)


def _uncropped(x, w, b, stride, output_padding, dilation):
    """The stamped O^pad with its output_padding rows at the bottom."""
    return cnnbp.conv_transpose2d(x, w, b, stride, 0, output_padding,
                                  dilation)


def ct_crop_bottom(x, w, b=None, stride=1, padding=0, output_padding=0,
                   dilation=1):
    """Cuts all 2p padding rows (columns) from the bottom (right)."""
    out = _uncropped(x, w, b, stride, output_padding, dilation)
    (ph, pw) = _pair(padding)
    return out[:, :, :out.shape[2] - 2 * ph, :out.shape[3] - 2 * pw]


def ct_output_padding_first(x, w, b=None, stride=1, padding=0,
                            output_padding=0, dilation=1):
    """Puts the output_padding rows (columns) at the top (left)."""
    oh, ow = _pair(output_padding)
    out = _uncropped(x, w, b, stride, 0, dilation)
    if b is not None:
        out = out - np.asarray(b)[:, None, None]
    out = np.pad(out, ((0, 0), (0, 0), (oh, 0), (ow, 0)))
    if b is not None:
        out = out + np.asarray(b)[:, None, None]
    ph, pw = _pair(padding)
    return out[:, :, ph:out.shape[2] - ph, pw:out.shape[3] - pw]


TRANSPOSED_FORWARD = [
    Mistake("when the filter is rotated by 180 degrees (a transposed "
            "convolution stamps F as it is)", ct_rotated),
    Mistake("when w is read as (K, C, HH, WW), the convolution's layout "
            "(a transposed convolution's w is (C, K, HH, WW))",
            ct_swapped_axes),
    Mistake("when the 2p padding rows and columns are all cut from the "
            "bottom and right (O^pad[:H_out], not O^pad[p:p + H_out])",
            ct_crop_bottom),
    Mistake("when the output_padding rows and columns are added at the "
            "top and left (they belong at the bottom and right)",
            ct_output_padding_first),
    Mistake("without the bias", ct_no_bias),
]


def dx_rotated(dout, x, w, stride=1, padding=0, output_padding=0,
               dilation=1):
    """dx correlating dL/dO with the rotated filter."""
    return cnnbp.conv2d(dout, naive.rot180(w), None, stride, padding,
                        dilation)


def dx_swapped_axes(dout, x, w, stride=1, padding=0, output_padding=0,
                    dilation=1):
    """dx with w read in the convolution's layout."""
    return cnnbp.conv2d(dout, _swapped(w), None, stride, padding,
                        dilation)


def _right_dw(dout, x, w, stride, padding, dilation):
    return cnnbp.conv2d_backward(x, dout, w, stride, padding, dilation)[1]


def dw_rotated(dout, x, w, stride=1, padding=0, output_padding=0,
               dilation=1):
    """dw rotated by 180 degrees."""
    return naive.rot180(_right_dw(dout, x, w, stride, padding, dilation))


def dw_swapped_axes(dout, x, w, stride=1, padding=0, output_padding=0,
                    dilation=1):
    """dw in the convolution's layout (K, C, HH, WW)."""
    return _swapped(cnnbp.conv2d_backward(x, dout, _swapped(w), stride,
                                          padding, dilation)[1])


TRANSPOSED_DX = [
    Mistake("when dL/dO is correlated with the filter rotated by 180 "
            "degrees (the backward pass of a transposed convolution is a "
            "plain convolution with F as it is)", dx_rotated),
    Mistake(TRANSPOSED_FORWARD[1].label, dx_swapped_axes),
]

TRANSPOSED_DW = [
    Mistake("rotated by 180 degrees", dw_rotated),
    Mistake(TRANSPOSED_FORWARD[1].label, dw_swapped_axes),
]


# --------------------------------------------------------- the ladders

def _forward():
    ladder = []
    for name, x, w, b, _, hyper, extra in transposed_cases():
        kwargs = dict(hyper) if b is None else {"b": b, **hyper}
        expected = cnnbp.conv_transpose2d(x, w, b, **hyper)

        def call(fn, x=x, w=w, b=b, hyper=hyper):
            return fn(x, w, b, **hyper)
        judge = judges.array_judge(expected, "out", TRANSPOSED_FORWARD,
                                   call)
        ladder.append(runner.Case(name, _describe(x, w, hyper, b=b),
                                  (x, w), kwargs, judge, extra))
    return ladder


def _backward():
    ladder = []
    for name, x, w, _, dout, hyper, extra in transposed_cases():
        dx, dw, db = cnnbp.conv_transpose2d_backward(dout, x, w, **hyper)

        def call(fn, dout=dout, x=x, w=w, hyper=hyper):
            return fn(dout, x, w, **hyper)

        def call_db(fn, dout=dout):
            return fn(dout)
        judge = judges.parts_judge([
            ("dx", dx, TRANSPOSED_DX, call),
            ("dw", dw, TRANSPOSED_DW, call),
            ("db", db, BIAS_GRADIENT, call_db)])
        ladder.append(runner.Case(name, _describe(x, w, hyper, dout),
                                  (dout, x, w), dict(hyper), judge, extra))
    return ladder


ladders.SIGNATURES.update({
    "check_conv_transpose2d": runner.Signature(
        ("x", "w"), _KEYWORDS,
        frozenset({"b", "stride", "padding", "output_padding"})),
    "check_conv_transpose2d_backward": runner.Signature(
        ("dout", "x", "w"), _BACKWARD_KEYWORDS,
        frozenset({"stride", "padding", "output_padding"})),
})
ladders.LADDERS.update({
    "check_conv_transpose2d": _forward,
    "check_conv_transpose2d_backward": _backward,
})


def _check(name, fn, cases):
    return runner.run(name, fn, ladders.LADDERS[name](), cases,
                      ladders.SIGNATURES[name])


def check_conv_transpose2d(fn, cases=None):
    """Check ``fn(x, w, b=None, stride=1, padding=0, output_padding=0,
    dilation=1) -> out``.

    x (N, C, H, W), w (C, K, HH, WW), b (K,) or None, out (N, K, H_out,
    W_out) with ``H_out = (H - 1)*s - 2p + d(HH - 1) + output_padding
    + 1``: every input cell adds X[a, c, i, j] * F[c, f] into the
    output at (i*s, j*s), then p rows and columns are cropped from each
    side. Compared with :func:`cnnbp.conv_transpose2d`; a function
    without ``dilation`` skips that case.

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
    return _check("check_conv_transpose2d", fn, cases)


def check_conv_transpose2d_backward(fn, cases=None):
    """Check ``fn(dout, x, w, stride=1, padding=0, output_padding=0,
    dilation=1) -> (dx, dw, db)``.

    dout (N, K, H_out, W_out); dx, dw, db of the shapes of x (N, C, H,
    W), w (C, K, HH, WW) and (K,), each compared with
    :func:`cnnbp.conv_transpose2d_backward`. Parameters and return value
    as in :func:`check_conv_transpose2d`.
    """
    return _check("check_conv_transpose2d_backward", fn, cases)
