"""The cases each checker runs, and the exercises' signatures.

Every ladder climbs from the easiest case (stride 1, one channel) to the
hardest (batch, channels, stride and padding together), so the first
failing case points at the first missing idea. Every stride and padding
rule also has a non-square case whose leftover rows differ between H
and W, where a solution that mixes up the two axes shows.

Data are seeded by the case's name, so inserting a case changes no
other case. Expected results come from cnnbp's fast functions, which
the test suite checks against the loop twins, finite differences and
PyTorch.
"""

import zlib

import numpy as np

import cnnbp

from . import judges, mistakes
from .runner import Case, Signature

__all__ = ["SIGNATURES", "LADDERS", "CONV_CASES", "POOL_CASES", "TIES",
           "OUTPUT_SIZE_CASES", "conv_cases", "pool_input"]

_CONV_KEYWORDS = {"stride": 1, "padding": 0, "dilation": 1}

#: The parameters of the exercises' functions, per checker.
SIGNATURES = {
    "check_output_size": Signature(("n", "k"), _CONV_KEYWORDS,
                                   frozenset({"stride"})),
    "check_conv2d": Signature(("x", "w"), {"b": None, **_CONV_KEYWORDS},
                              frozenset({"b"})),
    "check_conv2d_backward": Signature(("dout", "x", "w"), _CONV_KEYWORDS,
                                       frozenset({"stride", "padding"})),
    "check_filter_gradient": Signature(("dout", "x", "w"),
                                       {"stride": 1, "padding": 0},
                                       frozenset({"stride", "padding"})),
    "check_input_gradient": Signature(("dout", "x", "w"),
                                      {"stride": 1, "padding": 0},
                                      frozenset({"stride", "padding"})),
    "check_bias_gradient": Signature(("dout",), {}),
    "check_relu_backward": Signature(("dout", "x"), {}),
    "check_maxpool2d": Signature(("x",), {"size": 2, "stride": None},
                                 frozenset({"size", "stride"})),
    "check_maxpool2d_backward": Signature(("dout", "x"),
                                          {"size": 2, "stride": None},
                                          frozenset({"size", "stride"})),
    "check_im2col": Signature(("x", "HH", "WW"), _CONV_KEYWORDS,
                              frozenset({"stride", "padding"})),
    "check_col2im": Signature(("cols", "x_shape", "HH", "WW"),
                              _CONV_KEYWORDS,
                              frozenset({"stride", "padding"})),
}


def _rng(name, salt=""):
    """A generator seeded by the case's name (stable across runs)."""
    return np.random.default_rng(zlib.crc32((name + salt).encode()))


def _hyper_text(kwargs):
    return "".join(f", {k}={v}" for k, v in kwargs.items())


# ------------------------------------------------------------ convolution

# name, x shape, w shape, hyper-parameters, with bias, extra
CONV_CASES = [
    ("stride 1", (1, 1, 5, 5), (1, 1, 3, 3), {}, False, False),
    ("stride 2", (1, 1, 7, 7), (1, 1, 3, 3), {"stride": 2}, False, False),
    ("stride 2, leftover rows", (1, 1, 8, 8), (1, 1, 3, 3),
     {"stride": 2}, False, False),
    ("stride 2, leftover rows differ per axis", (1, 1, 7, 9),
     (1, 1, 3, 2), {"stride": 2}, False, False),
    ("padding 1", (1, 1, 5, 5), (1, 1, 3, 3), {"padding": 1}, False, False),
    ("non-square", (1, 1, 6, 8), (1, 1, 2, 3), {}, True, False),
    ("several channels and filters", (1, 3, 5, 5), (2, 3, 3, 3), {},
     False, False),
    ("batch", (2, 2, 5, 6), (3, 2, 3, 3), {}, False, False),
    ("bias", (1, 2, 4, 4), (3, 2, 3, 3), {}, True, False),
    ("stride 3, padding 1, leftover rows", (1, 2, 9, 6), (2, 2, 3, 2),
     {"stride": 3, "padding": 1}, False, False),
    ("batch, channels, stride 2 and padding 1", (2, 3, 7, 6),
     (2, 3, 3, 3), {"stride": 2, "padding": 1}, True, False),
    ("dilation 2", (1, 2, 7, 7), (2, 2, 3, 3), {"dilation": 2}, False,
     False),
    ("per-axis stride and padding", (1, 2, 7, 6), (2, 2, 3, 2),
     {"stride": (2, 1), "padding": (1, 0)}, False, True),
]


def conv_cases(dilation=True, bias_case=True):
    """The data of the convolution cases.

    Parameters
    ----------
    dilation : bool
        Include the dilation case.
    bias_case : bool
        Include the "bias" case (forward only).

    Yields
    ------
    tuple
        ``(name, x, w, b, dout, hyper, extra)``: x (N, C, H, W), w (K, C,
        HH, WW), b (K,) or None, dout (N, K, H_out, W_out), hyper the
        keyword arguments, extra as in :class:`Case`.
    """
    for name, xs, ws, hyper, with_b, extra in CONV_CASES:
        if ("dilation" in hyper and not dilation) or (
                name == "bias" and not bias_case):
            continue
        rng = _rng(name)
        x, w = rng.standard_normal(xs), rng.standard_normal(ws)
        b = rng.standard_normal(ws[0]) if with_b else None
        dout = rng.standard_normal(cnnbp.conv2d(x, w, **hyper).shape)
        yield name, x, w, b, dout, hyper, extra


def _conv_describe(x, w, hyper, dout=None, b=None):
    text = f"x {x.shape}, w {w.shape}"
    if b is not None:
        text += f", b {b.shape}"
    if dout is not None:
        text = f"dout {dout.shape}, " + text
    return text + _hyper_text(hyper)


def _conv2d():
    ladder = []
    for name, x, w, b, _, hyper, extra in conv_cases():
        kwargs = dict(hyper) if b is None else {"b": b, **hyper}
        expected = cnnbp.conv2d(x, w, b, **hyper)

        def call(fn, x=x, w=w, b=b, hyper=hyper):
            return fn(x, w, b, **hyper)
        judge = judges.array_judge(expected, "out", mistakes.CONV2D, call)
        ladder.append(Case(name, _conv_describe(x, w, hyper, b=b), (x, w),
                           kwargs, judge, extra))
    return ladder


def _gradient_calls(dout, x, w, hyper):
    """call(fn) for the dx and dw mistakes, and for the db ones."""
    def call(fn):
        return fn(dout, x, w, **hyper)

    def call_db(fn):
        return fn(dout)
    return call, call_db


def _conv2d_backward():
    ladder = []
    for name, x, w, _, dout, hyper, extra in conv_cases(bias_case=False):
        dx, dw, db = cnnbp.conv2d_backward(dout, x, w, **hyper)
        call, call_db = _gradient_calls(dout, x, w, hyper)
        judge = judges.parts_judge([
            ("dx", dx, mistakes.INPUT_GRADIENT, call),
            ("dw", dw, mistakes.FILTER_GRADIENT, call),
            ("db", db, mistakes.BIAS_GRADIENT, call_db)])
        ladder.append(Case(name, _conv_describe(x, w, hyper, dout),
                           (dout, x, w), dict(hyper), judge, extra))
    return ladder


def _gradient(index, what, variants):
    ladder = []
    for name, x, w, _, dout, hyper, extra in conv_cases(
            dilation=False, bias_case=False):
        expected = cnnbp.conv2d_backward(dout, x, w, **hyper)[index]
        call, _ = _gradient_calls(dout, x, w, hyper)
        judge = judges.array_judge(expected, what, variants, call)
        ladder.append(Case(name, _conv_describe(x, w, hyper, dout),
                           (dout, x, w), dict(hyper), judge, extra))
    return ladder


def _filter_gradient():
    return _gradient(1, "dw", mistakes.FILTER_GRADIENT)


def _input_gradient():
    return _gradient(0, "dx", mistakes.INPUT_GRADIENT)


def _bias_gradient():
    ladder = []
    for name, dout_shape in [("one filter", (1, 1, 1, 1)),
                             ("several filters", (1, 3, 3, 3)),
                             ("batch", (2, 3, 3, 4)),
                             ("non-square output", (2, 2, 4, 8))]:
        dout = _rng(name, "db").standard_normal(dout_shape)
        # db of a 1 x 1 convolution whose output has dout's shape
        expected = cnnbp.conv2d_backward(
            dout, np.zeros(dout_shape[:1] + (1,) + dout_shape[2:]),
            np.zeros((dout_shape[1], 1, 1, 1)))[2]

        def call(fn, dout=dout):
            return fn(dout)
        judge = judges.array_judge(expected, "db", mistakes.BIAS_GRADIENT,
                                   call)
        ladder.append(Case(name, f"dout {dout.shape}", (dout,), {}, judge))
    return ladder


def _relu_backward():
    ladder = []
    for name, shape, kind in [
            ("mixed signs", (1, 1, 4, 4), "mixed"),
            ("batch and channels", (2, 3, 4, 5), "mixed"),
            ("all negative", (1, 2, 3, 3), "negative"),
            ("all positive", (1, 2, 3, 3), "positive"),
            ("exact zeros in x (gradient 0 there)", (1, 1, 3, 4),
             "zeros")]:
        rng = _rng(name, "relu")
        x = rng.uniform(0.1, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
        if kind == "negative":
            x = -np.abs(x)
        elif kind == "positive":
            x = np.abs(x)
        elif kind == "zeros":
            x[..., ::2] = 0.0
        dout = rng.standard_normal(shape)
        expected = cnnbp.relu_backward(dout, x)

        def call(fn, dout=dout, x=x):
            return fn(dout, x)
        judge = judges.array_judge(expected, "dx", mistakes.RELU_BACKWARD,
                                   call)
        ladder.append(Case(name, f"dout {shape}, x {shape}", (dout, x), {},
                           judge))
    return ladder


# ---------------------------------------------------------------- pooling

# name, x shape, pool keyword arguments, kind of values
POOL_CASES = [
    ("2x2 windows", (1, 1, 4, 4), {}, "distinct"),
    ("batch and channels", (2, 3, 4, 4), {}, "distinct"),
    ("non-square input", (1, 2, 4, 6), {}, "distinct"),
    ("all negative values", (1, 1, 4, 4), {}, "negative"),
    ("leftover rows", (1, 1, 5, 8), {}, "distinct"),
    ("3x3 windows", (1, 2, 6, 6), {"size": 3}, "distinct"),
    ("overlapping windows (size 3, stride 2)", (1, 2, 7, 7),
     {"size": 3, "stride": 2}, "distinct"),
    ("stride 1", (2, 1, 4, 5), {"size": 2, "stride": 1}, "distinct"),
    ("non-square window", (1, 2, 6, 7), {"size": (2, 3)}, "distinct"),
    ("per-axis stride", (1, 1, 7, 8), {"size": (3, 2), "stride": (2, 1)},
     "distinct"),
    ("ties in every window", (2, 1, 4, 6), {}, "ties"),
]

#: Two 4 x 6 maps whose 2 x 2 windows hold ties of 2, 3 and 4 equal
#: maxima (positive and negative), and two windows without a tie.
TIES = np.array([
    [[3, 3, 1, 0, 5, 1],
     [1, 0, 2, 2, 1, 5],
     [0, 4, 7, 7, 2, 2],
     [4, 1, 7, 1, 2, 2]],
    [[-1, -1, -2, -3, 0.5, 0.25],
     [-2, -1, -4, -5, 0.75, 0.1],
     [6, 2, -3, -3, 1, 1],
     [1, 6, -3, -3, 1, 0]]], dtype=float)[:, None]


def pool_input(name, shape, kind):
    """x (N, C, H, W) of a pooling case: distinct values (seeded by the
    case's name), all negative, or the ties of ``TIES``."""
    if kind == "ties":
        return TIES.copy()
    x = _rng(name, "pool").permutation(int(np.prod(shape))) * 0.1
    x = x.reshape(shape)
    return -x - 1.0 if kind == "negative" else x


def _pool_describe(x, kwargs, dout=None):
    text = f"x {x.shape}" + _hyper_text(kwargs)
    return f"dout {dout.shape}, " + text if dout is not None else text


def _maxpool2d():
    ladder = []
    for name, shape, kw, kind in POOL_CASES:
        x = pool_input(name, shape, kind)
        expected = cnnbp.maxpool2d(x, **kw)

        def call(fn, x=x, kw=kw):
            return fn(x, **kw)
        judge = judges.array_judge(expected, "out", mistakes.MAXPOOL2D, call)
        ladder.append(Case(name, _pool_describe(x, kw), (x,), kw, judge))
    return ladder


def _maxpool2d_backward():
    ladder = []
    for name, shape, kw, kind in POOL_CASES:
        x = pool_input(name, shape, kind)
        dout = _rng(name, "dout").standard_normal(
            cnnbp.maxpool2d(x, **kw).shape)
        expected = cnnbp.maxpool2d_backward(dout, x, **kw)

        def call(fn, dout=dout, x=x, kw=kw):
            return fn(dout, x, **kw)
        variants = mistakes.MAXPOOL2D_BACKWARD
        if kind == "ties":
            judge = judges.ties_judge(x, dout, kw.get("size", 2), expected,
                                      variants, call)
        else:
            judge = judges.array_judge(expected, "dx", variants, call)
        ladder.append(Case(name, _pool_describe(x, kw, dout), (dout, x), kw,
                           judge))
    return ladder


# --------------------------------------------------------- im2col, col2im

def _im2col():
    ladder = []
    for name, x, w, _, _, hyper, extra in conv_cases(bias_case=False):
        HH, WW = w.shape[2:]
        expected = cnnbp.im2col(x, HH, WW, **hyper)

        def call(fn, x=x, HH=HH, WW=WW, hyper=hyper):
            return fn(x, HH, WW, **hyper)
        judge = judges.array_judge(expected, "cols", mistakes.IM2COL, call)
        describe = f"x {x.shape}, HH={HH}, WW={WW}" + _hyper_text(hyper)
        ladder.append(Case(name, describe, (x, HH, WW), dict(hyper), judge,
                           extra))
    return ladder


def _col2im():
    ladder = []
    for name, x, w, _, _, hyper, extra in conv_cases(bias_case=False):
        HH, WW = w.shape[2:]
        rows = cnnbp.im2col(x, HH, WW, **hyper).shape
        cols = _rng(name, "cols").standard_normal(rows)
        expected = cnnbp.col2im(cols, x.shape, HH, WW, **hyper)

        def call(fn, cols=cols, shape=x.shape, HH=HH, WW=WW, hyper=hyper):
            return fn(cols, shape, HH, WW, **hyper)
        judge = judges.array_judge(expected, "x", mistakes.COL2IM, call)
        describe = (f"cols {cols.shape}, x_shape {x.shape}, HH={HH}, "
                    f"WW={WW}" + _hyper_text(hyper))
        ladder.append(Case(name, describe, (cols, x.shape, HH, WW),
                           dict(hyper), judge, extra))
    return ladder


# ------------------------------------------------------------ output size

# name, (n, k), keyword arguments; a kernel that does not fit in the
# padded input must raise ValueError
OUTPUT_SIZE_CASES = [
    ("stride 1", (5, 3), {}),
    ("kernel as large as the input", (3, 3), {}),
    ("stride 2", (7, 3), {"stride": 2}),
    ("stride 2, leftover rows (floor)", (8, 3), {"stride": 2}),
    ("stride larger than the kernel", (10, 2), {"stride": 3}),
    ("stride 3, two leftover rows", (11, 3), {"stride": 3}),
    ("padding 1", (5, 3), {"padding": 1}),
    ("'same' padding", (28, 5), {"padding": 2}),
    ("stride 2 and padding 1", (28, 3), {"stride": 2, "padding": 1}),
    ("kernel fits only thanks to the padding", (3, 5), {"padding": 1}),
    ("dilation 2", (7, 3), {"dilation": 2}),
    ("everything", (32, 3), {"stride": 3, "padding": 2, "dilation": 2}),
    ("too large a kernel raises ValueError", (2, 5),
     {"padding": 1}),
    ("too large a dilated kernel raises ValueError", (4, 3),
     {"dilation": 2}),
]


def _output_size():
    ladder = []
    for name, (n, k), kw in OUTPUT_SIZE_CASES:
        p, d = kw.get("padding", 0), kw.get("dilation", 1)
        describe = f"n={n}, k={k}" + _hyper_text(kw)
        span = d * (k - 1) + 1
        if span > n + 2 * p:
            judge = judges.raise_judge(
                f"the dilated kernel, d(k - 1) + 1 = {span}, is larger "
                f"than the padded input, n + 2p = {n + 2 * p}")
            ladder.append(Case(name, describe, (n, k), kw, judge,
                               raises=ValueError))
            continue

        def call(fn, n=n, k=k, kw=kw):
            return fn(n, k, **kw)
        judge = judges.size_judge(cnnbp.output_size(n, k, **kw),
                                  mistakes.OUTPUT_SIZE, call)
        ladder.append(Case(name, describe, (n, k), kw, judge))
    return ladder


#: Checker name -> function building its ladder (a list of Case).
LADDERS = {
    "check_output_size": _output_size,
    "check_conv2d": _conv2d,
    "check_conv2d_backward": _conv2d_backward,
    "check_filter_gradient": _filter_gradient,
    "check_input_gradient": _input_gradient,
    "check_bias_gradient": _bias_gradient,
    "check_relu_backward": _relu_backward,
    "check_maxpool2d": _maxpool2d,
    "check_maxpool2d_backward": _maxpool2d_backward,
    "check_im2col": _im2col,
    "check_col2im": _col2im,
}
