"""Judging one result: is it the right kind of thing, the right shape,
the right numbers? And if not, which classic mistake gives the same?

A *judge* is a function ``judge(got, inputs) -> Finding`` made for one
case; ``inputs`` maps each argument's name to the object the learner's
function received, so a result that shares memory with one can be named.
Every number a finding prints is either rounded to a few digits or a
relative error passed through :func:`cnnbp.gradcheck.format_error`, so
the text is the same on every machine.
"""

from dataclasses import dataclass, field
import numbers

import numpy as np

from cnnbp.gradcheck import (EXACT_FLOOR, NUMERIC_FLOOR, format_error,
                             numerical_gradient, rel_error)

__all__ = ["Finding", "Hint", "TOL", "FD_TOL", "check_array", "array_judge",
           "parts_judge", "size_judge", "raise_judge", "ties_judge",
           "partials_judge", "diagnose", "factor_text", "ratio_text",
           "grid"]

#: Entries agree with cnnbp's exact result within TOL * (|expected| +
#: max |expected|): loose enough for a float32 computation, tight enough
#: for any mistake (they are off by tens of percent).
TOL = 1e-5
#: Entries agree with centred finite differences (float64, h = 1e-5),
#: relative to the largest partial derivative.
FD_TOL = 1e-6
#: Largest grid shown, in rows and columns.
GRID = 8
#: Widest pair of grids shown side by side (a report line less its
#: indent); wider ones are stacked.
GRID_WIDTH = 71


class Hint(str):
    """A sentence naming a likely mistake; a report says it only once."""


@dataclass
class Finding:
    """What a judge found: ``problems`` is empty for a right result.

    Attributes
    ----------
    problems : list of str
        One sentence per problem, most basic first.
    note : str
        Said on a pass (e.g. which valid tie rule the result follows).
    grid : list of str
        Expected and actual values around the first wrong entry, for
        the report's first failing case.
    """

    problems: list = field(default_factory=list)
    note: str = ""
    grid: list = field(default_factory=list)


def _type_name(obj):
    kind = type(obj)
    if kind.__module__ in ("builtins", "numpy"):
        return kind.__name__
    return f"{kind.__module__.split('.')[0]}.{kind.__qualname__}"


def _kind_problem(got, what, ints_ok=False):
    """Why ``got`` is not a real floating-point array, or None.

    A number counts as a 0-d array. With ``ints_ok``, integers are
    accepted too (a partial derivative may be exactly 3).
    """
    if got is None:
        return f"{what} is None (did you forget `return`?)"
    if isinstance(got, numbers.Number) and not isinstance(
            got, (bool, np.bool_)):
        got = np.asarray(got)
    if not isinstance(got, np.ndarray):
        return (f"{what} is a {_type_name(got)}, not a NumPy array "
                f"(wrap it in np.asarray, or call .numpy() on a tensor)")
    kind = got.dtype.kind
    if kind == "c":
        return (f"{what} is complex ({got.dtype}): the result must be real "
                f"(take .real if the imaginary part is only rounding)")
    if kind == "f" or (ints_ok and kind in "iu"):
        return None
    names = {"b": "booleans", "i": "integers", "u": "integers",
             "O": "Python objects"}
    return (f"{what} holds {names.get(kind, got.dtype.name)} (dtype "
            f"{got.dtype}); it must be a floating-point array")


def _alias_problem(got, what, inputs):
    """Why ``got`` must not be returned as it is (it views an input)."""
    if not isinstance(got, np.ndarray):
        return None
    for name, value in inputs.items():
        if (isinstance(value, np.ndarray)
                and np.may_share_memory(got, value)
                and np.shares_memory(got, value)):
            return (f"{what} shares its memory with your input `{name}`: "
                    f"return a new array, not `{name}` or a view of it")
    return None


def _tidy(value, scale):
    """``value`` as a float, 0 if it is rounding noise next to ``scale``."""
    value = float(value)
    if abs(value) <= 1e-9 * scale:
        return 0.0
    return value


def _num(value, scale=1.0):
    """A number in 4 significant digits, never '-0'."""
    text = f"{_tidy(value, scale):.4g}"
    return "0" if text == "-0" else text


def _index(idx):
    return "(" + ", ".join(str(int(i)) for i in idx) + ")"


def _scale(expected):
    return float(np.max(np.abs(expected), initial=0.0))


def _wrong(got, expected, tol, scale):
    """Boolean mask of the entries of ``got`` that are not close."""
    return np.abs(got - expected) > tol * (np.abs(expected) + scale) + 1e-12


def _close(a, b, tol=TOL):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a.shape == b.shape and not np.any(_wrong(a, b, tol, _scale(b)))


def factor_text(got, expected, what, right="the right one"):
    """"Your db is 1/2 of the right one" when got = c * expected.

    Parameters
    ----------
    got, expected : ndarray of one shape
    what : str
        The result's name, e.g. ``"db"``.
    right : str
        What ``expected`` is called.

    Returns
    -------
    str
        The sentence, or "" when no single factor c != 1 explains got.
    """
    got = np.asarray(got, np.float64)
    norm = float(np.sum(expected * expected))
    if norm == 0.0 or got.size < 2:
        return ""
    c = float(np.sum(got * expected)) / norm
    if abs(c - 1.0) < 1e-3 or not _close(got, c * expected):
        return ""
    return ratio_text(c, what, right)


def ratio_text(c, what, right="the right one"):
    """"Your <what> is <c> times <right>", with c as n, 1/n or -1.

    Parameters
    ----------
    c : float
        The ratio, not 1.
    what, right : str

    Returns
    -------
    Hint
    """
    if abs(c) < 1e-9:
        return Hint(f"Your {what} is all zeros.")
    if abs(c + 1.0) < 1e-6:
        return Hint(f"Your {what} has the wrong sign.")
    if abs(c - round(c)) < 1e-6:
        return Hint(f"Your {what} is {round(c)} times {right}.")
    if abs(1 / c - round(1 / c)) < 1e-6:
        sign = "-" if c < 0 else ""
        return Hint(f"Your {what} is {sign}1/{abs(round(1 / c))} of {right}.")
    return Hint(f"Your {what} is {c:.3g} times {right}.")


def _named(matches, start):
    """"<start> <label 1>, or <label 2>." for the matching mistakes."""
    return Hint(f"{start} {', or '.join(m.label for m in matches)}.")


def diagnose(got, expected, what, mistakes, call):
    """Name the classic mistakes whose result equals ``got``.

    Parameters
    ----------
    got : ndarray
        The learner's (wrong) result, float64.
    expected : ndarray
        The right result.
    what : str
        The result's name, e.g. ``"dx"``.
    mistakes : list of Mistake
        Candidate variants, in order of preference.
    call : callable
        ``call(fn)`` runs a variant on the case's arguments.

    Returns
    -------
    str
        "Your dx equals what you get <label>[, or <label>].", a
        constant-factor sentence (see :func:`factor_text`), or "".
    """
    matches = []
    for mistake in mistakes:
        try:
            variant = np.asarray(call(mistake.fn), dtype=np.float64)
        except Exception:  # a variant that cannot run this case
            continue
        if not _close(variant, expected) and _close(got, variant):
            matches.append(mistake)
    if matches:
        return _named(matches, f"Your {what} equals what you get")
    if got.shape == expected.shape:
        return factor_text(got, expected, what)
    return ""


def _cells(values, scale, marks=None):
    """Rows of formatted numbers; a mark ('*' or ' ') after each."""
    texts = [[f"{_tidy(v, scale) + 0.0:.2f}" for v in row] for row in values]
    width = max(len(t) for row in texts for t in row)
    lines = []
    for r, row in enumerate(texts):
        cells = []
        for c, text in enumerate(row):
            mark = "" if marks is None else ("*" if marks[r][c] else " ")
            cells.append(text.rjust(width) + mark)
        lines.append(" ".join(cells).rstrip())
    return lines


def grid(got, expected, wrong, what):
    """Expected and actual values of one 2-D slice, wrong ones starred.

    The slice is the one (sample, channel, ...) holding the first wrong
    entry, cut to at most ``GRID`` x ``GRID`` around it. A mirrored
    pattern of stars hints at a flip, a shifted one at a stride or
    padding offset.

    Parameters
    ----------
    got, expected : ndarray of one shape, at least 1-D
    wrong : ndarray of bool, that shape
    what : str

    Returns
    -------
    list of str
    """
    if got.ndim == 1:
        got, expected, wrong = got[None], expected[None], wrong[None]
    first = tuple(int(i) for i in np.argwhere(wrong)[0])
    lead, (r0, c0) = first[:-2], first[-2:]
    e2, g2, w2 = expected[lead], got[lead], wrong[lead]
    R, C = e2.shape
    rs = min(max(r0 - GRID // 2, 0), max(R - GRID, 0))
    cs = min(max(c0 - GRID // 2, 0), max(C - GRID, 0))
    window = (slice(rs, rs + GRID), slice(cs, cs + GRID))
    scale = _scale(expected)
    left = _cells(e2[window], scale)
    right = _cells(g2[window], scale, w2[window])
    name = what + (f"[{', '.join(map(str, lead))}]" if lead else "")
    head = f"{name}, * marks a wrong entry"
    if R > GRID or C > GRID:
        head += (f" (rows {rs}-{rs + e2[window].shape[0] - 1}, columns "
                 f"{cs}-{cs + e2[window].shape[1] - 1})")
    width = max(len(line) for line in left + ["expected"])
    if width + 4 + max(len(line) for line in right) <= GRID_WIDTH:
        lines = [head + ":", "expected".ljust(width + 4) + "yours"]
        lines += [a.ljust(width + 4) + b for a, b in zip(left, right)]
        return lines
    return [head + ":", "expected"] + left + ["yours"] + right


def check_array(got, expected, what, inputs, mistakes=(), call=None,
                tol=TOL, scale=None, right="expected"):
    """Problems of one array result, most basic first.

    Parameters
    ----------
    got : object
        What the learner's function returned for this result.
    expected : ndarray
        The right result.
    what : str
        The result's name, e.g. ``"dx"``.
    inputs : dict
        Argument name -> the object the learner's function received.
    mistakes : list of Mistake
        Classic mistakes to try on a wrong result (see :func:`diagnose`).
    call : callable or None
        ``call(fn)`` runs a mistake on the case's arguments.
    tol : float
        Relative tolerance per entry.
    scale : float, optional
        Magnitude the tolerance is relative to; max |expected| if None.
    right : str
        What ``expected`` is called in the text: "expected" (cnnbp's
        exact result) or "finite differences".

    Returns
    -------
    Finding
    """
    bad = _kind_problem(got, what) or _alias_problem(got, what, inputs)
    if bad:
        return Finding([bad])
    values = np.asarray(got, dtype=np.float64)
    if values.shape != expected.shape:
        text = (f"{what} has the wrong shape: expected {expected.shape}, "
                f"got {values.shape}")
        hint = diagnose(values, expected, what, mistakes, call)
        return Finding([text] + ([hint] if hint else []))
    if not np.all(np.isfinite(values)):
        return Finding([f"{what} contains nan or inf"])
    scale = _scale(expected) if scale is None else scale
    wrong = _wrong(values, expected, tol, scale)
    if not wrong.any():
        return Finding()
    if values.ndim == 0:
        give = "expected" if right == "expected" else f"{right} give"
        return Finding([f"{what} is {_num(values, scale)}; {give} "
                        f"{_num(expected, scale)}"])
    floor = EXACT_FLOOR if right == "expected" else NUMERIC_FLOOR
    err = format_error(rel_error(values, expected), floor)
    idx = np.unravel_index(np.argmax(np.abs(values - expected)),
                           values.shape)
    at = f" at index {idx[0]}" if len(idx) == 1 else f" at {_index(idx)}"
    text = (f"{what} has wrong values in {int(wrong.sum())} of {wrong.size} "
            f"entries (relative error {err}); the largest difference is"
            f"{at}: {right} {_num(expected[idx], scale)}, got "
            f"{_num(values[idx], scale)}")
    hint = diagnose(values, expected, what, mistakes, call)
    if hint:
        return Finding([text, hint])
    return Finding([text], grid=grid(values, expected, wrong, what))


def array_judge(expected, what, mistakes=(), call=None):
    """A judge for a function returning one array.

    Parameters
    ----------
    expected : ndarray
    what : str
    mistakes : list of Mistake
    call : callable or None
        ``call(fn)`` runs a mistake on the case's arguments.

    Returns
    -------
    callable
        ``judge(got, inputs) -> Finding``.
    """
    def judge(got, inputs):
        return check_array(got, expected, what, inputs, mistakes, call)
    return judge


def parts_judge(parts):
    """A judge for a function returning a tuple of arrays, e.g. (dx, dw,
    db).

    Parameters
    ----------
    parts : list of (what, expected, mistakes, call)
        One entry per returned array, in order.

    Returns
    -------
    callable
        ``judge(got, inputs) -> Finding``; each wrong part is reported
        with its own diagnosis, then the parts that are right.
    """
    names = [p[0] for p in parts]

    def judge(got, inputs):
        if not isinstance(got, (tuple, list)):
            return Finding([f"expected {len(parts)} arrays "
                            f"({', '.join(names)}), got one "
                            f"{_type_name(got)}"])
        if len(got) != len(parts):
            return Finding([f"expected {len(parts)} arrays "
                            f"({', '.join(names)}), got a "
                            f"{_type_name(got)} of {len(got)}"])
        found, right = Finding(), []
        for value, (what, expected, mistakes, call) in zip(got, parts):
            one = check_array(value, expected, what, inputs, mistakes, call)
            if not one.problems:
                right.append(what)
            found.problems += one.problems
            found.grid = found.grid or one.grid
        if found.problems and right:
            verb = "is" if len(right) == 1 else "are"
            found.problems.append(f"{' and '.join(right)} {verb} right.")
        return found
    return judge


def size_judge(expected, mistakes, call):
    """A judge for an output size (an int).

    Parameters
    ----------
    expected : int
    mistakes : list of Mistake
        Variants returning a size.
    call : callable
        ``call(fn)`` runs a variant on the case's arguments.

    Returns
    -------
    callable
        ``judge(got, inputs) -> Finding``.
    """
    def judge(got, inputs):
        if isinstance(got, (bool, np.bool_)) or not isinstance(
                got, (numbers.Integral, numbers.Real)):
            return Finding([f"expected an int, got {_type_name(got)}"])
        if not isinstance(got, numbers.Integral):
            return Finding([f"returned {_type_name(got)} {got!r}; a size "
                            f"is an int (use // for the floor division)"])
        if got == expected:
            return Finding()
        found = Finding([f"expected {expected}, got {int(got)}"])
        matches = []
        for mistake in mistakes:
            try:
                variant = call(mistake.fn)
            except Exception:  # a variant that cannot run this case
                continue
            if variant != expected and variant == got:
                matches.append(mistake)
        if matches:
            found.problems.append(_named(matches, "That is what you get"))
        return found
    return judge


def raise_judge(reason):
    """A judge for a case that must raise ValueError: any result fails.

    Parameters
    ----------
    reason : str
        Why the settings are impossible, e.g. "the dilated kernel (5)
        is larger than the padded input (4)".

    Returns
    -------
    callable
    """
    def judge(got, inputs):
        return Finding([f"returned {got!r} instead of raising ValueError: "
                        f"{reason}"])
    return judge


def _split_name(dx, first, even, part, tol):
    """The valid tie rule dx follows, in words ("" for cnnbp's)."""
    if _close(dx, first):
        return ""
    if _close(dx, even):
        return "split evenly between the tied maxima"
    if np.all(np.count_nonzero(np.abs(part) > tol, axis=(3, 5)) <= 1):
        return "all to one tied maximum, not always the first"
    return "a split of your own between the tied maxima"


def ties_judge(x, dout, size, expected, mistakes, call):
    """A judge for max-pool backward on input with ties, windows apart.

    At a tie any routing of dL/dO to the tied maxima with non-negative
    shares that add up to 1 is a valid subgradient (cnnbp's first
    maximum, an even split, ...); a share for a cell that is not a
    maximum, or shares that do not add up to 1, is not.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    dout : ndarray of shape (N, C, H_out, W_out)
    size : int or (HH, WW)
        Window size; the stride equals the size (windows do not
        overlap).
    expected : ndarray of shape (N, C, H, W)
        cnnbp's result (all to the first maximum).
    mistakes : list of Mistake
    call : callable

    Returns
    -------
    callable
        ``judge(got, inputs) -> Finding``.
    """
    HH, WW = (size, size) if np.ndim(size) == 0 else size
    N, C, Ho, Wo = dout.shape
    win = x[:, :, :Ho * HH, :Wo * WW].reshape(N, C, Ho, HH, Wo, WW)
    tied = win == win.max(axis=(3, 5), keepdims=True)
    even = np.zeros(x.shape)
    share = tied / tied.sum(axis=(3, 5), keepdims=True)
    even[:, :, :Ho * HH, :Wo * WW] = (
        share * dout[:, :, :, None, :, None]).reshape(N, C, Ho * HH, Wo * WW)
    scale = _scale(dout)
    tol = TOL * scale + 1e-12

    def judge(got, inputs):
        bad = _kind_problem(got, "dx") or _alias_problem(got, "dx", inputs)
        if bad:
            return Finding([bad])
        dx = np.asarray(got, dtype=np.float64)
        if dx.shape != x.shape or not np.all(np.isfinite(dx)):
            return check_array(got, expected, "dx", inputs, mistakes, call)
        outside = dx.copy()
        outside[:, :, :Ho * HH, :Wo * WW] = 0.0
        part = dx[:, :, :Ho * HH, :Wo * WW].reshape(N, C, Ho, HH, Wo, WW)
        g = dout[:, :, :, None, :, None]
        invalid = (np.any(np.abs(np.where(tied, 0.0, part)) > tol,
                          axis=(3, 5))
                   | np.any(np.where(tied, part * g, 0.0) < -tol * scale,
                            axis=(3, 5))
                   | (np.abs(part.sum(axis=(3, 5)) - dout) > tol))
        if not invalid.any() and not np.any(np.abs(outside) > tol):
            rule = _split_name(dx, expected, even, part, tol)
            note = (f"your tie rule: {rule} (valid; cnnbp gives all to the "
                    f"first maximum)") if rule else ""
            return Finding(note=note)
        if not invalid.any():
            return check_array(got, expected, "dx", inputs, mistakes, call)
        a, c, i, j = (int(v) for v in np.argwhere(invalid)[0])
        total = part[a, c, i, :, j, :].sum()
        text = (f"dx is not a valid gradient in {int(invalid.sum())} of "
                f"{invalid.size} windows. In window ({i}, {j}) of dout"
                f"[{a}, {c}] = {_num(dout[a, c, i, j], scale)} the "
                f"{int(tied[a, c, i, :, j, :].sum())} tied maxima get "
                f"{_num(total, scale)} in all; their shares must be "
                f">= 0 and add up to dout, other cells get 0")
        hint = diagnose(dx, expected, "dx", mistakes, call)
        return Finding([text] + ([hint] if hint else []))
    return judge


def partials_judge(f, point, labels, reference=None, f_name="f"):
    """A judge for ``grad(*point)``: the partial derivatives of f.

    Parameters
    ----------
    f : callable
        The learner's scalar function, ``f(*point) -> float``.
    point : tuple
        The arguments (numbers or ndarrays).
    labels : list of str
        Argument names, for messages ("d/dx").
    reference : callable, optional
        The function f should be; then f is compared with it at
        ``point`` and the partials with its finite differences.
    f_name : str
        f's name, for messages.

    Returns
    -------
    callable
        ``judge(got, inputs) -> Finding``.
    """
    n = len(point)

    def judge(got, inputs):
        if n == 1 and not isinstance(got, (tuple, list)):
            got = (got,)
        if not isinstance(got, (tuple, list)):
            return Finding([f"expected a tuple of {n} partial derivatives "
                            f"(d/d{', d/d'.join(labels)}), got "
                            f"{_type_name(got)}"])
        if len(got) != n:
            return Finding([f"expected {n} partial derivatives (d/d"
                            f"{', d/d'.join(labels)}), got a "
                            f"{_type_name(got)} of {len(got)}"])
        problems = []
        for value, label in zip(got, labels):
            bad = (_kind_problem(value, f"d/d{label}", ints_ok=True)
                   or _alias_problem(value, f"d/d{label}", inputs))
            if bad:
                problems.append(bad)
        if problems:
            return Finding(problems)
        target = f
        if reference is not None:
            problems += _value_problems(f, reference, point, f_name)
            target = reference

        def at(j, a):
            """target at the point with argument j replaced by a."""
            args = [np.copy(v) if isinstance(v, np.ndarray) else v
                    for v in point]
            args[j] = a
            return target(*args)
        numeric = [numerical_gradient(lambda a, j=j: at(j, a), arg)
                   for j, arg in enumerate(point)]
        scale = max(_scale(g) for g in numeric)
        found = Finding(problems)
        for j, (value, label) in enumerate(zip(got, labels)):
            value = np.asarray(value, np.float64)
            if value.shape != numeric[j].shape:
                found.problems.append(
                    f"d/d{label} has shape {value.shape}; {label} has "
                    f"shape {numeric[j].shape}")
                continue
            one = check_array(value, numeric[j], f"d/d{label}", {},
                              tol=FD_TOL, scale=scale,
                              right="finite differences")
            swap = _swap_hint(value, numeric, j, labels, scale)
            if one.problems and swap:
                one.problems = [p for p in one.problems
                                if not isinstance(p, Hint)] + swap
            found.problems += one.problems
            found.grid = found.grid or one.grid
        return found
    return judge


def _value_problems(f, reference, point, f_name):
    """f compared with the reference at the point: [] or sentences."""
    fresh = [np.copy(v) if isinstance(v, np.ndarray) else v for v in point]
    value, right = f(*fresh), float(reference(*point))
    if np.ndim(value) != 0:
        return [f"{f_name} returned an array of shape {np.shape(value)}, "
                f"not a number"]
    value = float(np.real(value))
    if abs(value - right) <= TOL * abs(right) + 1e-12:
        return []
    text = (f"{f_name} returns {_num(value, abs(right))} here; the "
            f"reference gives {_num(right, abs(right))}")
    if right == 0.0:
        return [text]
    return [text, ratio_text(value / right, f_name, "the reference")]


def _swap_hint(value, numeric, j, labels, scale):
    """"Your d/dw0 equals the true d/dx0" when partials are mixed up."""
    for k, other in enumerate(numeric):
        if k != j and other.shape == value.shape and not np.any(
                _wrong(value, other, FD_TOL, scale)) and np.any(
                _wrong(numeric[j], other, FD_TOL, scale)):
            return [Hint(f"Your d/d{labels[j]} equals the true "
                         f"d/d{labels[k]}.")]
    return []
