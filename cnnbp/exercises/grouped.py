"""Checkers for grouped, depthwise and 1x1 convolution (chapter 16).

``check_grouped_conv2d`` and ``check_grouped_conv2d_backward`` run the
learner's function on a ladder that climbs from ``groups = 1`` (an
ordinary convolution) through two groups, depthwise (``groups = C``),
a channel multiplier (more filters than channels per group), 1x1
filters, stride with leftover rows, padding and dilation. Every group
count that matters has a case with ``C/groups > 1`` *and*
``K/groups > 1``: a solution that deals the filters to the groups
round-robin, or reads the first block of channels for every group, is
right when one of the two is 1 and shows only there.

Shapes: x (N, C, H, W), w (K, C/groups, HH, WW), b (K,), out and dout
(N, K, H_out, W_out). Expected results come from
:func:`cnnbp.conv2d` / :func:`cnnbp.conv2d_backward` with ``groups``,
which the test suite checks against the loop twins, finite differences
and PyTorch.
"""

import numpy as np

import cnnbp

from . import judges, ladders, runner
from .ladders import _conv_describe, _rng
from .mistakes import BIAS_GRADIENT, Mistake

__all__ = ["check_grouped_conv2d", "check_grouped_conv2d_backward",
           "GROUPED_CASES", "GROUPED_CONV2D", "GROUPED_DX", "GROUPED_DW"]

_KEYWORDS = {"b": None, "stride": 1, "padding": 0, "dilation": 1,
             "groups": 1}
_BACKWARD_KEYWORDS = {"stride": 1, "padding": 0, "dilation": 1,
                      "groups": 1}

# name, x shape, w shape, keyword arguments (groups included), with bias,
# extra
GROUPED_CASES = [
    ("groups 1 (an ordinary convolution)", (1, 2, 5, 5), (2, 2, 3, 3),
     {"groups": 1}, False, False),
    ("two groups", (1, 4, 5, 5), (4, 2, 3, 3), {"groups": 2}, False,
     False),
    ("depthwise (groups = C)", (1, 3, 5, 6), (3, 1, 3, 3), {"groups": 3},
     False, False),
    ("depthwise, channel multiplier 2", (1, 2, 5, 5), (4, 1, 3, 3),
     {"groups": 2}, False, False),
    ("two groups, 3 filters each", (1, 4, 5, 5), (6, 2, 2, 2),
     {"groups": 2}, False, False),
    ("1x1 filters, two groups", (1, 4, 4, 5), (6, 2, 1, 1), {"groups": 2},
     False, False),
    ("three groups, batch and bias", (2, 6, 5, 4), (6, 2, 3, 2),
     {"groups": 3}, True, False),
    ("two groups, stride 2, leftover rows", (1, 4, 8, 7), (4, 2, 3, 3),
     {"stride": 2, "groups": 2}, False, False),
    ("depthwise, padding 1, batch", (2, 4, 5, 6), (4, 1, 3, 3),
     {"padding": 1, "groups": 4}, False, False),
    ("two groups, dilation 2", (1, 4, 7, 7), (4, 2, 3, 3),
     {"dilation": 2, "groups": 2}, False, False),
    ("two groups, per-axis stride and padding", (1, 4, 7, 6),
     (4, 2, 3, 2), {"stride": (2, 1), "padding": (1, 0), "groups": 2},
     True, True),
]


def grouped_cases():
    """The data of the cases.

    Yields
    ------
    tuple
        ``(name, x, w, b, dout, hyper, extra)``: x (N, C, H, W), w (K,
        C/groups, HH, WW), b (K,) or None, dout (N, K, H_out, W_out),
        hyper the keyword arguments (``groups`` included), extra as in
        :class:`cnnbp.exercises.runner.Case`.
    """
    for name, xs, ws, hyper, with_b, extra in GROUPED_CASES:
        rng = _rng(name, "grouped")
        x, w = rng.standard_normal(xs), rng.standard_normal(ws)
        b = rng.standard_normal(ws[0]) if with_b else None
        dout = rng.standard_normal(cnnbp.conv2d(x, w, **hyper).shape)
        yield name, x, w, b, dout, hyper, extra


# ------------------------------------------------------ the mistakes

def _blocks(K, C, Cg, groups, rule):
    """(filters, channels) index arrays of each group under ``rule``.

    ``"right"``: consecutive blocks of K/groups filters and C/groups
    channels; ``"interleaved"``: filter f in group f % groups;
    ``"first"``: every group reads channels 0 .. C/groups - 1.
    """
    Kg = K // groups
    out = []
    for g in range(groups):
        filters = np.arange(g * Kg, (g + 1) * Kg)
        if rule == "interleaved":
            filters = np.arange(g, K, groups)
        channels = np.arange(g * Cg, (g + 1) * Cg)
        if rule == "first":
            channels = np.arange(Cg)
        out.append((filters, channels))
    return out


def _sliced(x, w, b, stride, padding, dilation, groups, rule):
    """Forward pass, one ordinary convolution per group under ``rule``."""
    K, Cg = w.shape[:2]
    hyper = dict(stride=stride, padding=padding, dilation=dilation)
    first = cnnbp.conv2d(x[:, :Cg], w[:1], **hyper)
    out = np.zeros((x.shape[0], K) + first.shape[2:])
    for filters, channels in _blocks(K, x.shape[1], Cg, groups, rule):
        out[:, filters] = cnnbp.conv2d(
            x[:, channels], w[filters],
            None if b is None else b[filters], **hyper)
    return out


def _sliced_backward(dout, x, w, stride, padding, dilation, groups, rule,
                     last_only=False):
    """(dx, dw, db), one ordinary backward pass per group; with
    ``last_only`` dx keeps only the last filter of each group."""
    K, Cg = w.shape[:2]
    hyper = dict(stride=stride, padding=padding, dilation=dilation)
    dx, dw = np.zeros(x.shape), np.zeros(w.shape)
    for filters, channels in _blocks(K, x.shape[1], Cg, groups, rule):
        if last_only:
            filters = filters[-1:]
        dx_g, dw_g, _ = cnnbp.conv2d_backward(
            dout[:, filters], x[:, channels], w[filters], **hyper)
        dx[:, channels] += dx_g
        dw[filters] = dw_g
    return dx, dw, dout.sum(axis=(0, 2, 3))


def _tiled(w, groups):
    """Each filter repeated over all C channels: (K, C, HH, WW)."""
    return np.tile(w, (1, groups, 1, 1))


def conv_interleaved(x, w, b=None, stride=1, padding=0, dilation=1,
                     groups=1):
    """Deals the filters to the groups round-robin (f % groups)."""
    return _sliced(x, w, b, stride, padding, dilation, groups,
                   "interleaved")


def conv_first_block(x, w, b=None, stride=1, padding=0, dilation=1,
                     groups=1):
    """Every group reads the first C/groups channels."""
    return _sliced(x, w, b, stride, padding, dilation, groups, "first")


def conv_all_channels(x, w, b=None, stride=1, padding=0, dilation=1,
                      groups=1):
    """Ignores the groups: each filter repeated over all channels."""
    return cnnbp.conv2d(x, _tiled(w, groups), b, stride, padding,
                        dilation)


def conv_no_bias(x, w, b=None, stride=1, padding=0, dilation=1,
                 groups=1):
    """Leaves out the bias."""
    return cnnbp.conv2d(x, w, None, stride, padding, dilation, groups)


GROUPED_CONV2D = [
    Mistake("when the filters are dealt to the groups round-robin "
            "(filter f in group f % groups, not f // (K/groups))",
            conv_interleaved),
    Mistake("when every group reads the first C/groups channels (no "
            "channel offset per group)", conv_first_block),
    Mistake("when every filter sees all C channels (the groups ignored, "
            "the filter repeated over them)", conv_all_channels),
    Mistake("without the bias", conv_no_bias),
]


def dx_interleaved(dout, x, w, stride=1, padding=0, dilation=1,
                   groups=1):
    """dx with the filters dealt to the groups round-robin."""
    return _sliced_backward(dout, x, w, stride, padding, dilation, groups,
                            "interleaved")[0]


def dx_first_block(dout, x, w, stride=1, padding=0, dilation=1,
                   groups=1):
    """dx with every group's share added onto the first channels."""
    return _sliced_backward(dout, x, w, stride, padding, dilation, groups,
                            "first")[0]


def dx_all_channels(dout, x, w, stride=1, padding=0, dilation=1,
                    groups=1):
    """dx of the convolution with each filter repeated over all
    channels: every filter sends gradient to every channel."""
    return cnnbp.conv2d_backward(dout, x, _tiled(w, groups), stride,
                                 padding, dilation)[0]


def dx_last_filter(dout, x, w, stride=1, padding=0, dilation=1,
                   groups=1):
    """'=' instead of '+=': only the last filter of each group."""
    return _sliced_backward(dout, x, w, stride, padding, dilation, groups,
                            "right", last_only=True)[0]


def dw_interleaved(dout, x, w, stride=1, padding=0, dilation=1,
                   groups=1):
    """dw with the filters dealt to the groups round-robin."""
    return _sliced_backward(dout, x, w, stride, padding, dilation, groups,
                            "interleaved")[1]


def dw_first_block(dout, x, w, stride=1, padding=0, dilation=1,
                   groups=1):
    """dw of every filter from the first C/groups channels."""
    return _sliced_backward(dout, x, w, stride, padding, dilation, groups,
                            "first")[1]


def dw_dense(dout, x, w, stride=1, padding=0, dilation=1, groups=1):
    """The filter gradient of the dense convolution with zero blocks,
    not cut back to each filter's own block: shape (K, C, HH, WW)."""
    K, Cg = w.shape[:2]
    dense = np.zeros((K, x.shape[1]) + w.shape[2:])
    for f in range(K):
        g = f // (K // groups)
        dense[f, g * Cg:(g + 1) * Cg] = w[f]
    return cnnbp.conv2d_backward(dout, x, dense, stride, padding,
                                 dilation)[1]


def dw_all_channels(dout, x, w, stride=1, padding=0, dilation=1,
                    groups=1):
    """dw of each filter repeated over all channels (the g copies'
    gradients added)."""
    K, Cg = w.shape[:2]
    dw = cnnbp.conv2d_backward(dout, x, _tiled(w, groups), stride, padding,
                               dilation)[1]
    return dw.reshape((K, groups, Cg) + w.shape[2:]).sum(axis=1)


GROUPED_DX = [
    Mistake(GROUPED_CONV2D[0].label, dx_interleaved),
    Mistake("when every group's gradient lands on the first C/groups "
            "channels", dx_first_block),
    Mistake(GROUPED_CONV2D[2].label, dx_all_channels),
    Mistake("when each group keeps only its last filter's share (= "
            "instead of += over the filters of a group)", dx_last_filter),
]

GROUPED_DW = [
    Mistake(GROUPED_CONV2D[0].label, dw_interleaved),
    Mistake("when every filter's gradient is taken from the first "
            "C/groups channels", dw_first_block),
    Mistake("from the dense convolution with zero blocks, not cut back to "
            "each filter's own C/groups channels", dw_dense),
    Mistake(GROUPED_CONV2D[2].label, dw_all_channels),
]


# --------------------------------------------------------- the ladders

def _grouped_conv2d():
    ladder = []
    for name, x, w, b, _, hyper, extra in grouped_cases():
        kwargs = dict(hyper) if b is None else {"b": b, **hyper}
        expected = cnnbp.conv2d(x, w, b, **hyper)

        def call(fn, x=x, w=w, b=b, hyper=hyper):
            return fn(x, w, b, **hyper)
        judge = judges.array_judge(expected, "out", GROUPED_CONV2D, call)
        ladder.append(runner.Case(name, _conv_describe(x, w, hyper, b=b),
                                  (x, w), kwargs, judge, extra))
    return ladder


def _grouped_conv2d_backward():
    ladder = []
    for name, x, w, _, dout, hyper, extra in grouped_cases():
        dx, dw, db = cnnbp.conv2d_backward(dout, x, w, **hyper)

        def call(fn, dout=dout, x=x, w=w, hyper=hyper):
            return fn(dout, x, w, **hyper)

        def call_db(fn, dout=dout):
            return fn(dout)
        judge = judges.parts_judge([
            ("dx", dx, GROUPED_DX, call),
            ("dw", dw, GROUPED_DW, call),
            ("db", db, BIAS_GRADIENT, call_db)])
        ladder.append(runner.Case(name, _conv_describe(x, w, hyper, dout),
                                  (dout, x, w), dict(hyper), judge, extra))
    return ladder


ladders.SIGNATURES.update({
    "check_grouped_conv2d": runner.Signature(
        ("x", "w"), _KEYWORDS,
        frozenset({"b", "stride", "padding", "groups"})),
    "check_grouped_conv2d_backward": runner.Signature(
        ("dout", "x", "w"), _BACKWARD_KEYWORDS,
        frozenset({"stride", "padding", "groups"})),
})
ladders.LADDERS.update({
    "check_grouped_conv2d": _grouped_conv2d,
    "check_grouped_conv2d_backward": _grouped_conv2d_backward,
})


def _check(name, fn, cases):
    return runner.run(name, fn, ladders.LADDERS[name](), cases,
                      ladders.SIGNATURES[name])


def check_grouped_conv2d(fn, cases=None):
    """Check ``fn(x, w, b=None, stride=1, padding=0, dilation=1,
    groups=1) -> out``.

    x (N, C, H, W), w (K, C/groups, HH, WW), b (K,) or None, out (N, K,
    H_out, W_out): filter f belongs to group ``f // (K/groups)`` and
    sees only that group's C/groups channels. Compared with
    :func:`cnnbp.conv2d`; a function without ``dilation`` skips that
    case.

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
    return _check("check_grouped_conv2d", fn, cases)


def check_grouped_conv2d_backward(fn, cases=None):
    """Check ``fn(dout, x, w, stride=1, padding=0, dilation=1, groups=1)
    -> (dx, dw, db)``.

    dout (N, K, H_out, W_out); dx, dw, db of the shapes of x (N, C, H,
    W), w (K, C/groups, HH, WW) and (K,), each compared with
    :func:`cnnbp.conv2d_backward`. Parameters and return value as in
    :func:`check_grouped_conv2d`.
    """
    return _check("check_grouped_conv2d_backward", fn, cases)
