"""One-call checkers for the learner's functions in the chapter exercises.

Each ``check_*`` runs your function on a ladder of named, seeded cases
(stride 1, stride 2, padding, non-square, several channels, a batch, ...),
compares the result with cnnbp and, for gradients, with centred finite
differences (:mod:`cnnbp.gradcheck`), and prints one line per case::

    >>> check_conv2d(my_conv2d)                        # doctest: +SKIP
    check_conv2d: 10 cases
      pass  stride 1: x (1, 1, 5, 5), w (1, 1, 3, 3)
      FAIL  stride 2: x (1, 1, 7, 7), w (1, 1, 3, 3), stride=2
            out has the wrong shape: expected (1, 1, 3, 3), got (1, 1, 5, 5)
      ...

It returns a :class:`CheckResult`, truthy iff every case that ran passed.
A function that raises ``NotImplementedError`` (an exercise stub) gets a
friendly "not implemented yet" line and a falsy result, never an
exception, so a notebook with stubs still runs from top to bottom.

Keyword parameters your function does not have are not passed: a case
that needs one (say ``stride=2`` for ``def conv2d(x, w)``) is reported as
skipped. ``cases=`` picks cases by name (``case_names`` lists them);
``cases="all"`` adds the extra ones, which pass (h, w) pairs (per-axis
stride and padding, a non-square pooling window).
Output is deterministic: no timings, no addresses, no error magnitudes on
passing cases.
"""

import inspect
import math
from dataclasses import dataclass, field

import numpy as np

import cnnbp
from cnnbp.gradcheck import numerical_gradient, rel_error

__all__ = [
    "CheckResult",
    "case_names",
    "check_output_size",
    "check_conv2d",
    "check_conv2d_backward",
    "check_filter_gradient",
    "check_input_gradient",
    "check_bias_gradient",
    "check_relu_backward",
    "check_maxpool2d",
    "check_maxpool2d_backward",
    "check_im2col",
    "check_col2im",
    "check_scalar_gradient",
]

RTOL = 1e-5
ATOL = 1e-6
FD_TOL = 1e-6


@dataclass
class CaseOutcome:
    """What happened in one case: status is pass, FAIL, skip or todo."""

    name: str
    status: str
    detail: str = ""


@dataclass
class CheckResult:
    """Outcome of one checker call; truthy iff every case that ran passed.

    Attributes
    ----------
    checker : str
        e.g. ``"check_conv2d"``.
    outcomes : list of CaseOutcome
    not_implemented : bool
        The function raised NotImplementedError on the first case.
    """

    checker: str
    outcomes: list = field(default_factory=list)
    not_implemented: bool = False

    def count(self, status):
        """Number of cases with this status (pass, FAIL, skip, todo)."""
        return sum(o.status == status for o in self.outcomes)

    @property
    def passed(self):
        return self.count("pass")

    @property
    def failed(self):
        return self.count("FAIL") + self.count("todo")

    @property
    def skipped(self):
        return self.count("skip")

    def __bool__(self):
        return (not self.not_implemented and self.passed > 0
                and self.failed == 0)

    def __repr__(self):
        if self.not_implemented:
            return f"CheckResult({self.checker}: not implemented yet)"
        return (f"CheckResult({self.checker}: {self.passed} passed, "
                f"{self.failed} failed, {self.skipped} skipped)")

    def _ipython_display_(self):
        """Show nothing as a cell's result: the checker printed its report.

        Without this, a notebook cell ending in ``check_xxx(fn)`` would
        repeat the summary as ``CheckResult(...)`` under the report.
        """


@dataclass
class Case:
    """One rung of a ladder.

    ``args`` are passed positionally, ``kwargs`` by keyword (when the
    function has that parameter), ``defaults`` the values a function
    without the parameter is assumed to use. ``compare(got)`` returns
    None or the failure text.
    """

    name: str
    describe: str
    args: tuple
    kwargs: dict
    defaults: dict
    compare: object
    extra: bool = False


def _hyper_text(kwargs):
    return "".join(f", {k}={v}" for k, v in kwargs.items())


def _one_line(err):
    text = str(err).strip().splitlines()
    msg = text[0] if text else ""
    if len(msg) > 160:
        msg = msg[:157] + "..."
    return f"{type(err).__name__}: {msg}" if msg else type(err).__name__


def _index_text(idx):
    return "(" + ", ".join(str(int(i)) for i in idx) + ")"


def compare_arrays(got, expected, what="result"):
    """Failure text if ``got`` is not ``expected`` (shape, then values).

    Parameters
    ----------
    got : object
        What the learner's function returned.
    expected : ndarray
    what : str
        Name used in the message, e.g. ``"dx"``.

    Returns
    -------
    str or None
        None when shapes agree and values are close
        (``rtol=1e-5, atol=1e-6``).
    """
    if got is None:
        return f"{what} is None (did you forget `return`?)"
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError) as err:
        return f"{what} is not an array of numbers ({_one_line(err)})"
    if got.shape != expected.shape:
        return (f"{what} has the wrong shape: expected {expected.shape}, "
                f"got {got.shape}")
    if not np.all(np.isfinite(got)):
        return f"{what} contains nan or inf"
    if np.allclose(got, expected, rtol=RTOL, atol=ATOL):
        return None
    err = np.abs(got - expected)
    idx = np.unravel_index(np.argmax(err), err.shape)
    where = f" at index {_index_text(idx)}" if idx else ""
    return (f"{what} has wrong values: max abs error {err[idx]:.2e}{where} "
            f"(expected {expected[idx]:.6g}, got {got[idx]:.6g})")


def _compare_fd(got, numerical, what):
    error = rel_error(got, numerical)
    if error < FD_TOL:
        return None
    return (f"{what} disagrees with finite differences: relative error "
            f"{error:.2e} (should be < {FD_TOL:.0e})")


def _array_checker(expected, what="result", numerical=None):
    """compare() for one array result, vs cnnbp and optionally FD."""
    def compare(got):
        bad = compare_arrays(got, expected, what)
        if bad is None and numerical is not None:
            bad = _compare_fd(np.asarray(got, np.float64), numerical(), what)
        return bad
    return compare


def _accepts(fn, name):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return True
    if name in params:
        return params[name].kind is not inspect.Parameter.POSITIONAL_ONLY
    return any(p.kind is inspect.Parameter.VAR_KEYWORD
               for p in params.values())


_MISSING = object()


def _is_default(value, default):
    if value is default:
        return True
    if isinstance(value, np.ndarray) or default is _MISSING:
        return False
    return value == default


def _copy(a):
    return a.copy() if isinstance(a, np.ndarray) else a


def _changed(before, after):
    return [k for k, (b, a) in enumerate(zip(before, after))
            if isinstance(b, np.ndarray) and not np.array_equal(b, a)]


def _run_case(fn, case, arg_names):
    kwargs = {}
    for key, value in case.kwargs.items():
        if _accepts(fn, key):
            kwargs[key] = value
        elif not _is_default(value, case.defaults.get(key, _MISSING)):
            return CaseOutcome(case.name, "skip",
                               f"your function has no `{key}` parameter")
    args = tuple(_copy(a) for a in case.args)
    try:
        got = fn(*args, **kwargs)
    except NotImplementedError:
        return CaseOutcome(case.name, "todo",
                           "raised NotImplementedError (not done yet)")
    except Exception as err:
        return CaseOutcome(case.name, "FAIL",
                           f"{case.describe}\n        raised "
                           f"{_one_line(err)}")
    changed = _changed(case.args, args)
    if changed:
        names = ", ".join(f"`{arg_names[k]}`" for k in changed)
        return CaseOutcome(case.name, "FAIL",
                           f"{case.describe}\n        your function changed "
                           f"its input {names} in place; work on a copy")
    try:
        bad = case.compare(got)
    except Exception as err:
        bad = f"could not compare the result: {_one_line(err)}"
    if bad:
        return CaseOutcome(case.name, "FAIL",
                           f"{case.describe}\n        {bad}")
    return CaseOutcome(case.name, "pass", case.describe)


def _select(checker, ladder, cases):
    names = [c.name for c in ladder]
    if cases is None:
        return [c for c in ladder if not c.extra]
    if cases == "all":
        return list(ladder)
    if isinstance(cases, str):
        cases = [cases]
    unknown = [c for c in cases if c not in names]
    if unknown:
        raise ValueError(f"{checker}: unknown case names {unknown}; "
                         f"known: {names}")
    return [c for c in ladder if c.name in cases]


def _run(checker, fn, ladder, cases, arg_names):
    if not callable(fn):
        raise TypeError(f"{checker} needs your function, got "
                        f"{type(fn).__name__}")
    selected = _select(checker, ladder, cases)
    result = CheckResult(checker)
    plural = "case" if len(selected) == 1 else "cases"
    print(f"{checker}: {len(selected)} {plural}")
    for k, case in enumerate(selected):
        outcome = _run_case(fn, case, arg_names)
        if k == 0 and outcome.status == "todo":
            result.not_implemented = True
            print("  not implemented yet: your function raised "
                  "NotImplementedError.\n  Replace `raise "
                  "NotImplementedError` with your code and run the\n"
                  "  cell again.")
            return result
        result.outcomes.append(outcome)
        line = f"  {outcome.status:<4}  {outcome.name}"
        if outcome.detail:
            line += f": {outcome.detail}"
        print(line)
    ran = result.passed + result.failed
    if result.failed:
        first = next(o.name for o in result.outcomes
                     if o.status in ("FAIL", "todo"))
        print(f"{result.passed} of {ran} cases pass; start with the first "
              f"failing case ({first}).")
    elif ran:
        print(f"All {ran} cases pass"
              + (f" ({result.skipped} skipped)." if result.skipped else "."))
    else:
        print("No case ran: every case needs a parameter your function "
              "does not have.")
    return result


def case_names(checker):
    """Names of a checker's cases, in order (extra cases included).

    Parameters
    ----------
    checker : str or callable
        e.g. ``"check_conv2d"``.

    Returns
    -------
    list of str
    """
    name = getattr(checker, "__name__", checker)
    if name not in _LADDERS:
        raise ValueError(f"unknown checker {name!r}; known: "
                         f"{sorted(_LADDERS)}")
    return [c.name for c in _LADDERS[name]()]


# ---------------------------------------------------------------- ladders

CONV_DEFAULTS = {"b": None, "stride": 1, "padding": 0, "dilation": 1}

# name, x shape, w shape, hyper-parameters, with bias, extra
CONV_CASES = [
    ("stride 1", (1, 1, 5, 5), (1, 1, 3, 3), {}, False, False),
    ("stride 2", (1, 1, 7, 7), (1, 1, 3, 3), {"stride": 2}, False, False),
    ("stride 2, leftover rows", (1, 1, 8, 8), (1, 1, 3, 3),
     {"stride": 2}, False, False),
    ("padding 1", (1, 1, 5, 5), (1, 1, 3, 3), {"padding": 1}, False, False),
    ("non-square", (1, 1, 6, 8), (1, 1, 2, 3), {}, False, False),
    ("several channels and filters", (1, 3, 5, 5), (2, 3, 3, 3), {},
     False, False),
    ("batch", (2, 2, 5, 6), (3, 2, 3, 3), {}, False, False),
    ("bias", (1, 2, 4, 4), (3, 2, 3, 3), {}, True, False),
    ("everything: batch, channels, stride 2, padding 1", (2, 3, 7, 6),
     (2, 3, 3, 3), {"stride": 2, "padding": 1}, True, False),
    ("dilation 2", (1, 2, 7, 7), (2, 2, 3, 3), {"dilation": 2}, False,
     False),
    ("per-axis stride and padding", (1, 2, 7, 6), (2, 2, 3, 2),
     {"stride": (2, 1), "padding": (1, 0)}, False, True),
]


def _conv_data(k, x_shape, w_shape, hyper):
    rng = np.random.default_rng(100 + k)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    out_shape = cnnbp.conv2d(x, w, **hyper).shape
    dout = rng.standard_normal(out_shape)
    return x, w, b, dout


def _conv_describe(x, w, hyper, dout=None, b=False):
    text = f"x {x.shape}, w {w.shape}"
    if b:
        text += f", b {(w.shape[0],)}"
    if dout is not None:
        text = f"dout {dout.shape}, " + text
    return text + _hyper_text(hyper)


def _conv_ladder(dilation=True, bias=True):
    for k, (name, xs, ws, hyper, with_b, extra) in enumerate(CONV_CASES):
        if "dilation" in hyper and not dilation:
            continue
        if not bias and name == "bias":
            continue
        with_b = with_b and bias
        yield k, name, _conv_data(k, xs, ws, hyper), hyper, with_b, extra


def _conv2d_ladder():
    ladder = []
    for k, name, (x, w, b, _), hyper, with_b, extra in _conv_ladder():
        kwargs = dict(hyper)
        if with_b:
            kwargs = {"b": b, **hyper}
        expected = cnnbp.conv2d(x, w, b if with_b else None, **hyper)
        ladder.append(Case(name, _conv_describe(x, w, hyper, b=with_b),
                           (x, w), kwargs, CONV_DEFAULTS,
                           _array_checker(expected, "out"), extra))
    return ladder


def _fd_dx(x, w, b, dout, hyper):
    return numerical_gradient(lambda x_: cnnbp.conv2d(x_, w, b, **hyper),
                              x, dout)


def _fd_dw(x, w, b, dout, hyper):
    return numerical_gradient(lambda w_: cnnbp.conv2d(x, w_, b, **hyper),
                              w, dout)


def _fd_db(x, w, b, dout, hyper):
    return numerical_gradient(lambda b_: cnnbp.conv2d(x, w, b_, **hyper),
                              b, dout)


def _backward_compare(x, w, b, dout, hyper):
    dx, dw, db = cnnbp.conv2d_backward(dout, x, w, **hyper)
    parts = [("dx", dx, _fd_dx), ("dw", dw, _fd_dw), ("db", db, _fd_db)]

    def compare(got):
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            kind = type(got).__name__
            return f"expected a tuple (dx, dw, db), got {kind}"
        for value, (what, expected, fd) in zip(got, parts):
            check = _array_checker(
                expected, what, lambda fd=fd: fd(x, w, b, dout, hyper))
            bad = check(value)
            if bad:
                return bad
        return None
    return compare


def _conv2d_backward_ladder():
    ladder = []
    for k, name, (x, w, b, dout), hyper, _, extra in _conv_ladder(
            bias=False):
        ladder.append(Case(name, _conv_describe(x, w, hyper, dout),
                           (dout, x, w), dict(hyper), CONV_DEFAULTS,
                           _backward_compare(x, w, b, dout, hyper), extra))
    return ladder


def _gradient_ladder(index, fd):
    ladder = []
    for k, name, (x, w, b, dout), hyper, _, extra in _conv_ladder(
            dilation=False, bias=False):
        expected = cnnbp.conv2d_backward(dout, x, w, **hyper)[index]
        what = ("dx", "dw")[index]
        numerical = (lambda x=x, w=w, b=b, dout=dout, hyper=hyper:
                     fd(x, w, b, dout, hyper))
        ladder.append(Case(name, _conv_describe(x, w, hyper, dout),
                           (dout, x, w), dict(hyper), CONV_DEFAULTS,
                           _array_checker(expected, what, numerical), extra))
    return ladder


def _filter_gradient_ladder():
    return _gradient_ladder(1, _fd_dw)


def _input_gradient_ladder():
    return _gradient_ladder(0, _fd_dx)


def _bias_gradient_ladder():
    ladder = []
    shapes = [("one filter", (1, 1, 3, 3), (1, 1, 3, 3)),
              ("several filters", (1, 2, 5, 5), (3, 2, 3, 3)),
              ("batch", (2, 2, 5, 6), (3, 2, 3, 3)),
              ("non-square output", (2, 1, 6, 9), (2, 1, 3, 2))]
    for k, (name, xs, ws) in enumerate(shapes):
        x, w, b, dout = _conv_data(50 + k, xs, ws, {})
        expected = cnnbp.conv2d_backward(dout, x, w)[2]
        numerical = (lambda x=x, w=w, b=b, dout=dout:
                     _fd_db(x, w, b, dout, {}))
        ladder.append(Case(name, f"dout {dout.shape}", (dout,), {}, {},
                           _array_checker(expected, "db", numerical)))
    return ladder


def _relu_ladder():
    ladder = []
    specs = [("mixed signs", (1, 1, 4, 4), "mixed"),
             ("batch and channels", (2, 3, 4, 5), "mixed"),
             ("all negative", (1, 2, 3, 3), "negative"),
             ("all positive", (1, 2, 3, 3), "positive"),
             ("exact zeros in x (gradient 0 there)", (1, 1, 3, 4), "zeros")]
    for k, (name, shape, kind) in enumerate(specs):
        rng = np.random.default_rng(200 + k)
        x = rng.uniform(0.1, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
        if kind == "negative":
            x = -np.abs(x)
        elif kind == "positive":
            x = np.abs(x)
        elif kind == "zeros":
            x[..., ::2] = 0.0
        dout = rng.standard_normal(shape)
        expected = cnnbp.relu_backward(dout, x)
        numerical = None
        if kind != "zeros":
            numerical = (lambda x=x, dout=dout:
                         numerical_gradient(cnnbp.relu, x, dout))
        ladder.append(Case(name, f"dout {shape}, x {shape}", (dout, x), {},
                           {}, _array_checker(expected, "dx", numerical)))
    return ladder


POOL_DEFAULTS = {"size": 2, "stride": None}

# name, x shape, pool keyword arguments, kind of values
POOL_CASES = [
    ("2x2 windows", (1, 1, 4, 4), {}, "distinct", False),
    ("batch and channels", (2, 3, 4, 4), {}, "distinct", False),
    ("non-square input", (1, 2, 4, 6), {}, "distinct", False),
    ("all negative values", (1, 1, 4, 4), {}, "negative", False),
    ("leftover rows", (1, 1, 5, 7), {}, "distinct", False),
    ("3x3 windows", (1, 2, 6, 6), {"size": 3}, "distinct", False),
    ("overlapping windows (size 3, stride 2)", (1, 2, 7, 7),
     {"size": 3, "stride": 2}, "distinct", False),
    ("stride 1", (2, 1, 4, 5), {"size": 2, "stride": 1}, "distinct", False),
    ("ties: the first maximum gets the gradient", (1, 1, 4, 4),
     {"size": 2, "stride": 2}, "ties", False),
    ("non-square window", (1, 1, 4, 6), {"size": (2, 3)}, "distinct", True),
]


def _pool_data(k, shape, kind):
    rng = np.random.default_rng(300 + k)
    x = rng.permutation(math.prod(shape)).reshape(shape) * 0.1
    if kind == "negative":
        x = -x - 1.0
    elif kind == "ties":
        x = rng.integers(0, 2, shape).astype(float)
    return x


def _pool_describe(x, kwargs, dout=None):
    text = f"x {x.shape}" + _hyper_text(kwargs)
    return f"dout {dout.shape}, " + text if dout is not None else text


def _maxpool2d_ladder():
    ladder = []
    for k, (name, shape, kw, kind, extra) in enumerate(POOL_CASES):
        x = _pool_data(k, shape, kind)
        expected = cnnbp.maxpool2d(x, **kw)
        ladder.append(Case(name, _pool_describe(x, kw), (x,), kw,
                           POOL_DEFAULTS, _array_checker(expected, "out"),
                           extra))
    return ladder


def _maxpool2d_backward_ladder():
    ladder = []
    for k, (name, shape, kw, kind, extra) in enumerate(POOL_CASES):
        x = _pool_data(k, shape, kind)
        dout = np.random.default_rng(400 + k).standard_normal(
            cnnbp.maxpool2d(x, **kw).shape)
        expected = cnnbp.maxpool2d_backward(dout, x, **kw)
        numerical = None
        if kind != "ties":
            numerical = (lambda x=x, dout=dout, kw=kw: numerical_gradient(
                lambda x_: cnnbp.maxpool2d(x_, **kw), x, dout))
        ladder.append(Case(name, _pool_describe(x, kw, dout), (dout, x), kw,
                           POOL_DEFAULTS,
                           _array_checker(expected, "dx", numerical), extra))
    return ladder


def _im2col_ladder():
    ladder = []
    for k, name, (x, w, _, _), hyper, _, extra in _conv_ladder(bias=False):
        HH, WW = w.shape[2:]
        expected = cnnbp.im2col(x, HH, WW, **hyper)
        describe = f"x {x.shape}, HH={HH}, WW={WW}" + _hyper_text(hyper)
        ladder.append(Case(name, describe, (x, HH, WW), dict(hyper),
                           CONV_DEFAULTS, _array_checker(expected, "cols"),
                           extra))
    return ladder


def _col2im_ladder():
    ladder = []
    for k, name, (x, w, _, _), hyper, _, extra in _conv_ladder(bias=False):
        HH, WW = w.shape[2:]
        rows = cnnbp.im2col(x, HH, WW, **hyper).shape
        cols = np.random.default_rng(500 + k).standard_normal(rows)
        expected = cnnbp.col2im(cols, x.shape, HH, WW, **hyper)
        describe = (f"cols {cols.shape}, x_shape {x.shape}, HH={HH}, "
                    f"WW={WW}" + _hyper_text(hyper))
        ladder.append(Case(name, describe, (cols, x.shape, HH, WW),
                           dict(hyper), CONV_DEFAULTS,
                           _array_checker(expected, "x"), extra))
    return ladder


OUTPUT_SIZE_CASES = [
    ("stride 1", (5, 3), {}),
    ("kernel as large as the input", (3, 3), {}),
    ("stride 2", (7, 3), {"stride": 2}),
    ("stride 2, leftover rows (floor)", (8, 3), {"stride": 2}),
    ("stride larger than the kernel", (10, 2), {"stride": 3}),
    ("padding 1", (5, 3), {"padding": 1}),
    ("'same' padding", (28, 5), {"padding": 2}),
    ("stride 2 and padding 1", (28, 3), {"stride": 2, "padding": 1}),
    ("dilation 2", (7, 3), {"dilation": 2}),
    ("everything", (32, 3), {"stride": 3, "padding": 2, "dilation": 2}),
]


def _output_size_ladder():
    ladder = []
    for name, (n, k), kw in OUTPUT_SIZE_CASES:
        expected = cnnbp.output_size(n, k, **kw)

        def compare(got, expected=expected):
            if isinstance(got, bool) or not isinstance(
                    got, (int, np.integer, float, np.floating)):
                return f"expected an int, got {type(got).__name__}"
            if not isinstance(got, (int, np.integer)):
                return (f"returned {type(got).__name__} {got!r}; a size is "
                        f"an int (use // for the floor division)")
            if got != expected:
                return f"expected {expected}, got {int(got)}"
            return None
        describe = f"n={n}, k={k}" + _hyper_text(kw)
        ladder.append(Case(name, describe, (n, k), kw,
                           {"stride": 1, "padding": 0, "dilation": 1},
                           compare))
    return ladder


_LADDERS = {
    "check_output_size": _output_size_ladder,
    "check_conv2d": _conv2d_ladder,
    "check_conv2d_backward": _conv2d_backward_ladder,
    "check_filter_gradient": _filter_gradient_ladder,
    "check_input_gradient": _input_gradient_ladder,
    "check_bias_gradient": _bias_gradient_ladder,
    "check_relu_backward": _relu_ladder,
    "check_maxpool2d": _maxpool2d_ladder,
    "check_maxpool2d_backward": _maxpool2d_backward_ladder,
    "check_im2col": _im2col_ladder,
    "check_col2im": _col2im_ladder,
}

# ---------------------------------------------------------------- checkers


def check_output_size(fn, cases=None):
    """Check ``fn(n, k, stride=1, padding=0, dilation=1) -> int``.

    ``H_out = floor((n + 2 p - d (k - 1) - 1) / s) + 1``; compared with
    :func:`cnnbp.output_size`.

    Parameters
    ----------
    fn : callable
        Your function.
    cases : None, "all", str or list of str
        Case names to run (see ``case_names``); None runs the standard
        ladder.

    Returns
    -------
    CheckResult
        Truthy iff every case that ran passed.
    """
    return _run("check_output_size", fn, _output_size_ladder(), cases,
                ("n", "k"))


def check_conv2d(fn, cases=None):
    """Check ``fn(x, w, b=None, stride=1, padding=0, dilation=1) -> out``.

    x (N, C, H, W), w (F, C, HH, WW), b (F,), out (N, F, H_out, W_out);
    compared with :func:`cnnbp.conv2d`. Parameters and return value as
    in :func:`check_output_size`.
    """
    return _run("check_conv2d", fn, _conv2d_ladder(), cases, ("x", "w"))


def check_conv2d_backward(fn, cases=None):
    """Check ``fn(dout, x, w, stride=1, padding=0, dilation=1)``
    ``-> (dx, dw, db)``.

    dout (N, F, H_out, W_out); dx, dw, db have the shapes of x, w and
    (F,). Each is compared with :func:`cnnbp.conv2d_backward` and with
    finite differences of :func:`cnnbp.conv2d`. Parameters and return
    value as in :func:`check_output_size`.
    """
    return _run("check_conv2d_backward", fn, _conv2d_backward_ladder(),
                cases, ("dout", "x", "w"))


def check_filter_gradient(fn, cases=None):
    """Check ``fn(dout, x, w, stride=1, padding=0) -> dw``.

    dw = dL/dF, shape (F, C, HH, WW), compared with cnnbp and with finite
    differences. Parameters and return value as in
    :func:`check_output_size`.
    """
    return _run("check_filter_gradient", fn, _filter_gradient_ladder(),
                cases, ("dout", "x", "w"))


def check_input_gradient(fn, cases=None):
    """Check ``fn(dout, x, w, stride=1, padding=0) -> dx``.

    dx = dL/dX, shape (N, C, H, W), compared with cnnbp and with finite
    differences. Parameters and return value as in
    :func:`check_output_size`.
    """
    return _run("check_input_gradient", fn, _input_gradient_ladder(),
                cases, ("dout", "x", "w"))


def check_bias_gradient(fn, cases=None):
    """Check ``fn(dout) -> db``.

    dout (N, F, H_out, W_out), db = dL/db of shape (F,), compared with
    cnnbp and with finite differences. Parameters and return value as in
    :func:`check_output_size`.
    """
    return _run("check_bias_gradient", fn, _bias_gradient_ladder(), cases,
                ("dout",))


def check_relu_backward(fn, cases=None):
    """Check ``fn(dout, x) -> dx`` for Y = ReLU(X).

    dx = dout * [x > 0], the shape of x (the derivative at 0 is taken as
    0, as in cnnbp). Compared with cnnbp and with finite differences away
    from 0. Parameters and return value as in :func:`check_output_size`.
    """
    return _run("check_relu_backward", fn, _relu_ladder(), cases,
                ("dout", "x"))


def check_maxpool2d(fn, cases=None):
    """Check ``fn(x, size=2, stride=None) -> out``.

    x (N, C, H, W), out (N, C, H_out, W_out), stride None means stride =
    size. Compared with :func:`cnnbp.maxpool2d`. Parameters and return
    value as in :func:`check_output_size`.
    """
    return _run("check_maxpool2d", fn, _maxpool2d_ladder(), cases, ("x",))


def check_maxpool2d_backward(fn, cases=None):
    """Check ``fn(dout, x, size=2, stride=None) -> dx``.

    dout (N, C, H_out, W_out), dx (N, C, H, W). Ties: the first maximum
    in row-major order gets the whole gradient; overlapping windows add.
    Compared with cnnbp and (without ties) with finite differences.
    Parameters and return value as in :func:`check_output_size`.
    """
    return _run("check_maxpool2d_backward", fn,
                _maxpool2d_backward_ladder(), cases, ("dout", "x"))


def check_im2col(fn, cases=None):
    """Check ``fn(x, HH, WW, stride=1, padding=0, dilation=1) -> cols``.

    cols has shape (N*H_out*W_out, C*HH*WW), one row per output position
    in the order (a, i, j), columns in the order (c, m, n), as
    :func:`cnnbp.im2col`. Parameters and return value as in
    :func:`check_output_size`.
    """
    return _run("check_im2col", fn, _im2col_ladder(), cases,
                ("x", "HH", "WW"))


def check_col2im(fn, cases=None):
    """Check ``fn(cols, x_shape, HH, WW, stride=1, padding=0,
    dilation=1) -> x``.

    The scatter-add adjoint of im2col: x has shape x_shape (N, C, H, W);
    compared with :func:`cnnbp.col2im`. Parameters and return value as in
    :func:`check_output_size`.
    """
    return _run("check_col2im", fn, _col2im_ladder(), cases,
                ("cols", "x_shape", "HH", "WW"))


def _format_arg(value):
    if np.ndim(value) == 0:
        return f"{float(value):g}"
    return f"array of shape {np.shape(value)}"


def check_scalar_gradient(f, grad, points, cases=None):
    """Check an analytic gradient of a scalar function against finite
    differences.

    Parameters
    ----------
    f : callable
        ``f(*args) -> float``; each arg a number or an ndarray.
    grad : callable
        ``grad(*args) -> tuple`` of partial derivatives, one per arg, each
        of the shape of its arg (with a single arg it may return just the
        derivative).
    points : list of tuples
        The argument tuples to check at (a single tuple is one point).
    cases : None, str or list of str
        Names ``"point 0"``, ``"point 1"``, ... to run; None runs all.

    Returns
    -------
    CheckResult
        Truthy iff the gradient matches at every point.
    """
    if isinstance(points, tuple):
        points = [points]
    try:
        names = list(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        names = []
    ladder = []
    for k, point in enumerate(points):
        point = tuple(point)
        labels = [names[j] if j < len(names) else f"arg{j}"
                  for j in range(len(point))]
        describe = ", ".join(f"{n}={_format_arg(v)}"
                             for n, v in zip(labels, point))

        def compare(got, point=point, labels=labels):
            if len(point) == 1 and not isinstance(got, (tuple, list)):
                got = (got,)
            if not isinstance(got, (tuple, list)) or len(got) != len(point):
                return (f"expected a tuple of {len(point)} partial "
                        f"derivatives, got {type(got).__name__}")
            for j, (value, arg) in enumerate(zip(got, point)):

                def fj(a, j=j):
                    return f(*point[:j], a, *point[j + 1:])
                numerical = numerical_gradient(fj, arg)
                bad = compare_arrays(value, numerical,
                                     f"d/d{labels[j]}")
                if bad:
                    return bad.replace("(expected", "(finite differences")
            return None
        ladder.append(Case(f"point {k}", describe, point, {}, {}, compare))
    return _run("check_scalar_gradient", grad, ladder, cases, tuple(names))
