"""Checker for the receptive-field recurrence (chapter 12).

``check_receptive_field`` runs the learner's ``fn(layers) -> (size,
jump, start)`` on one axis of a ladder of stacks: one layer, two
layers, padding, a stride before a layer and after it (the order
matters), a pool between convolutions (chapter 11's network), dilation
alone, growing dilations, dilation after a stride, 1-wide layers that
only stride, and a deep stack. ``layers`` is a tuple of ``(k, s, p, d)``
tuples (kernel, stride, padding, dilation), from input to output.

Expected results come from :func:`cnnbp.receptive_field`, which the
test suite checks against the support of input gradients. A wrong
answer is compared with the classic mistakes of the recurrence (no
jump, the jump updated too early, no dilation, a dilated kernel d k
wide, padding not scaled by the jump).
"""

import numbers

from cnnbp.receptive import Window, receptive_field

from . import ladders, runner
from .judges import Finding, _named, _type_name
from .mistakes import Mistake

__all__ = ["check_receptive_field", "RECEPTIVE_CASES", "RECEPTIVE_FIELD",
           "rf_no_jump", "rf_jump_first", "rf_no_dilation",
           "rf_dilated_dk", "rf_start_no_jump"]

#: name, layers as (k, s, p, d) tuples, extra.
RECEPTIVE_CASES = [
    ("one 3-wide layer", ((3, 1, 0, 1),), False),
    ("two 3-wide layers", ((3, 1, 0, 1), (3, 1, 0, 1)), False),
    ("padding 1", ((3, 1, 1, 1), (3, 1, 1, 1)), False),
    ("stride 2, then a 3-wide layer", ((3, 2, 0, 1), (3, 1, 0, 1)), False),
    ("a 3-wide layer, then stride 2", ((3, 1, 0, 1), (3, 2, 0, 1)), False),
    ("pools between convolutions (chapter 11)",
     ((3, 1, 1, 1), (2, 2, 0, 1), (3, 1, 1, 1), (2, 2, 0, 1)), False),
    ("dilation 2", ((3, 1, 0, 2),), False),
    ("dilations 1, 2, 4", ((3, 1, 0, 1), (3, 1, 0, 2), (3, 1, 0, 4)),
     False),
    ("dilation after a stride", ((3, 2, 1, 1), (3, 1, 2, 2)), False),
    ("1-wide layers that only stride",
     ((1, 2, 0, 1), (1, 2, 0, 1), (3, 1, 1, 1)), False),
    ("a deep stack (7-wide stride-2 stem, pool, two layers)",
     ((7, 2, 3, 1), (3, 2, 1, 1), (3, 1, 1, 1), (3, 1, 1, 1)), False),
    ("no layers at all", (), True),
]


def _recurrence(layers, grow, start_step, jump_first=False):
    r, j, start = 1, 1, 0
    for k, s, p, d in layers:
        if jump_first:
            j *= s
        r += grow(k, d) * j
        start -= start_step(p, j)
        if not jump_first:
            j *= s
    return r, j, start


def rf_no_jump(layers):
    """The field grows by d (k - 1) per layer, strides ignored."""
    _, j, start = _recurrence(layers, lambda k, d: d * (k - 1),
                              lambda p, j: p * j)
    return 1 + sum(d * (k - 1) for k, _, _, d in layers), j, start


def rf_jump_first(layers):
    """The jump multiplied by a layer's own stride before its size."""
    return _recurrence(layers, lambda k, d: d * (k - 1),
                       lambda p, j: p * j, jump_first=True)


def rf_no_dilation(layers):
    """The dilation left out: r grows by (k - 1) j."""
    return _recurrence(layers, lambda k, d: k - 1, lambda p, j: p * j)


def rf_dilated_dk(layers):
    """The dilated kernel taken as d k wide, not d (k - 1) + 1."""
    return _recurrence(layers, lambda k, d: d * k - 1, lambda p, j: p * j)


def rf_start_no_jump(layers):
    """The start moved by p, not by p times the jump."""
    return _recurrence(layers, lambda k, d: d * (k - 1), lambda p, j: p)


RECEPTIVE_FIELD = [
    Mistake("when the field grows by d(k - 1) per layer instead of "
            "d(k - 1) times the jump j (the strides of the layers "
            "below ignored)", rf_no_jump),
    Mistake("when the jump is multiplied by a layer's own stride before "
            "its size grows (a layer's stride spaces the units above it, "
            "not its own taps)", rf_jump_first),
    Mistake("without the dilation (a dilated layer's taps are d apart)",
            rf_no_dilation),
    Mistake("when a dilated kernel is taken as d k wide instead of "
            "d(k - 1) + 1", rf_dilated_dk),
    Mistake("when the start moves by the padding p instead of p times "
            "the jump j", rf_start_no_jump),
]


def _as_triple(got):
    """``got`` as a tuple of three ints, or the problem with it."""
    if got is None:
        return None, "returned None (did you forget `return`?)"
    if not isinstance(got, (tuple, list)):
        return None, (f"expected a tuple (size, jump, start), got "
                      f"{_type_name(got)}")
    if len(got) != 3:
        return None, (f"expected a tuple of 3 ints (size, jump, start), "
                      f"got {len(got)} values")
    for name, value in zip(("size", "jump", "start"), got):
        if isinstance(value, bool) or not isinstance(value,
                                                     numbers.Integral):
            return None, (f"{name} is {_type_name(value)} {value!r}; it "
                          f"must be an int (use // and *, not /)")
    return tuple(int(v) for v in got), None


def _judge(expected, layers):
    def judge(got, inputs):
        triple, problem = _as_triple(got)
        if problem:
            return Finding([problem])
        if triple == expected:
            return Finding()
        found = Finding([f"expected (size, jump, start) = {expected}, got "
                         f"{triple}"])
        matches = [m for m in RECEPTIVE_FIELD
                   if tuple(m.fn(layers)) != expected
                   and tuple(m.fn(layers)) == triple]
        if matches:
            found.problems.append(_named(matches, "That is what you get"))
        return found
    return judge


def _describe(layers):
    return "(k,s,p,d) = " + (" ".join(
        "({},{},{},{})".format(*layer) for layer in layers) or "()")


def _receptive_field():
    ladder = []
    for name, layers, extra in RECEPTIVE_CASES:
        field = receptive_field([Window(k, s, p, d)
                                 for k, s, p, d in layers])
        expected = (field.size[0], field.jump[0], field.start[0])
        ladder.append(runner.Case(name, _describe(layers), (layers,), {},
                                  _judge(expected, layers), extra))
    return ladder


ladders.SIGNATURES["check_receptive_field"] = runner.Signature(
    ("layers",), {})
ladders.LADDERS["check_receptive_field"] = _receptive_field


def check_receptive_field(fn, cases=None):
    """Check ``fn(layers) -> (size, jump, start)`` on one axis.

    ``layers`` is a tuple of ``(k, s, p, d)`` tuples (kernel, stride,
    padding, dilation), from input to output. Starting from ``r = 1,
    j = 1, start = 0``, each layer does ``r += d (k - 1) j``, ``start
    -= p j``, ``j *= s``; the three ints are compared with
    :func:`cnnbp.receptive_field`.

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
    return runner.run("check_receptive_field", fn,
                      ladders.LADDERS["check_receptive_field"](), cases,
                      ladders.SIGNATURES["check_receptive_field"])
