"""Run a learner's function on a ladder of cases and print the report.

The runner knows nothing about convolutions. A checker hands it the
exercise's :class:`Signature` and a ladder of :class:`Case` objects;
for each case the runner

1. compares the function's parameters with the exercise's (a misnamed
   ``pad`` is named, never silently skipped),
2. calls the function on fresh copies of the arguments, under a time
   limit (``TIME_LIMIT`` seconds),
3. reports an exception with the lines of the learner's own code that
   raised it, and ``NotImplementedError`` as "not implemented yet",
4. fails the case if any argument was changed in place,
5. lets the case's judge look at the result (see
   :mod:`cnnbp.exercises.judges`).
"""

import contextlib
import difflib
import inspect
import os
import signal
import sys
import sysconfig
import threading
import time
import traceback
from dataclasses import dataclass, field

import numpy as np

from .judges import Hint

__all__ = ["TIME_LIMIT", "Signature", "Case", "CaseOutcome", "CheckResult",
           "CaseTimeout", "time_limit", "run"]

#: Seconds one case may take before it is stopped (an endless loop).
TIME_LIMIT = 10.0
WIDTH = 79
DETAIL = " " * 8


class CaseTimeout(BaseException):
    """Raised inside the learner's code when a case runs out of time.

    A BaseException, so that ``except Exception`` in the learner's code
    does not swallow it.
    """


@contextlib.contextmanager
def time_limit(seconds):
    """Raise :class:`CaseTimeout` in the block after ``seconds``.

    On the main thread (a notebook's kernel, a script) a SIGALRM timer;
    elsewhere, or without SIGALRM, a trace function that checks the
    clock on every line of Python run in the block. Either way, the
    previous handler, timer and trace function are restored on exit (a
    timer of the caller's that falls due inside the block fires just
    after it). A loop inside one long NumPy call cannot be stopped.

    Parameters
    ----------
    seconds : float
    """
    if (hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()):
        def on_alarm(signum, frame):
            raise CaseTimeout

        old_handler = signal.signal(signal.SIGALRM, on_alarm)
        old_delay, old_interval = signal.setitimer(signal.ITIMER_REAL,
                                                   seconds)
        start = time.monotonic()
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_handler)
            if old_delay:
                left = max(old_delay - (time.monotonic() - start), 1e-3)
                signal.setitimer(signal.ITIMER_REAL, left, old_interval)
        return
    deadline = time.monotonic() + seconds

    def tracer(frame, event, arg):
        if time.monotonic() > deadline:
            raise CaseTimeout
        return tracer

    old_trace = sys.gettrace()
    sys.settrace(tracer)
    try:
        yield
    finally:
        sys.settrace(old_trace)


@dataclass(frozen=True)
class Signature:
    """The parameters an exercise's function has.

    Attributes
    ----------
    positional : tuple of str
        Passed by position, in this order (names for messages only).
    keywords : dict
        Name -> default; passed by keyword when the function has them.
    required : frozenset of str
        Keywords every exercise with this checker has: a case that
        needs one the function lacks fails instead of being skipped.
    """

    positional: tuple
    keywords: dict
    required: frozenset = frozenset()


@dataclass
class Case:
    """One rung of a ladder.

    Attributes
    ----------
    name : str
        e.g. ``"stride 2"``; ``cases=`` selects by it.
    describe : str
        The arguments in a few words, e.g. ``"x (1, 1, 7, 7), stride=2"``.
    args : tuple
        Positional arguments (never passed themselves: copies are).
    kwargs : dict
        Keyword arguments that differ from the signature's defaults.
    judge : callable
        ``judge(got, inputs) -> Finding``.
    extra : bool
        Run only with ``cases="all"`` or by name.
    raises : type or None
        The case passes when the function raises this exception.
    on_error : callable or None
        ``on_error(err) -> str``: a sentence to add when the function
        raises ``err`` here, or "" (e.g. what ``b=None`` asks).
    """

    name: str
    describe: str
    args: tuple
    kwargs: dict
    judge: object
    extra: bool = False
    raises: type = None
    on_error: object = None


@dataclass
class CaseOutcome:
    """What happened in one case.

    Attributes
    ----------
    name, describe : str
    status : str
        ``"pass"``, ``"FAIL"``, ``"skip"`` or ``"todo"`` (raised
        NotImplementedError).
    lines : list of str
        Details, one sentence each.
    grid : list of str
        Shown under the first failing case.
    note : str
        Shown under a passing case.
    stopped : bool
        The case ran out of time; the rest of the ladder is not run.
    raiser : str
        For "todo": the learner's function that raised
        NotImplementedError.
    """

    name: str
    status: str
    describe: str = ""
    lines: list = field(default_factory=list)
    grid: list = field(default_factory=list)
    note: str = ""
    stopped: bool = False
    raiser: str = ""


@dataclass
class CheckResult:
    """Outcome of one checker call; truthy iff everything passed.

    Attributes
    ----------
    checker : str
        e.g. ``"check_conv2d"``.
    outcomes : list of CaseOutcome
    not_implemented : bool
        The function raised NotImplementedError on the first case.
    problems : list of str
        Differences between the function's parameters and the
        exercise's.
    """

    checker: str
    outcomes: list = field(default_factory=list)
    not_implemented: bool = False
    problems: list = field(default_factory=list)

    def count(self, status):
        """Number of cases with this status (pass, FAIL, skip, todo)."""
        return sum(o.status == status for o in self.outcomes)

    @property
    def passed(self):
        """Number of cases that passed."""
        return self.count("pass")

    @property
    def failed(self):
        """Number of cases that failed or are not implemented yet."""
        return self.count("FAIL") + self.count("todo")

    @property
    def skipped(self):
        """Number of cases skipped (a parameter the exercise lacks)."""
        return self.count("skip")

    def __bool__(self):
        return (not self.not_implemented and not self.problems
                and self.passed > 0 and self.failed == 0)

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


# ------------------------------------------------------------ parameters

@dataclass
class _Plan:
    """How to call the function: keywords it takes, and what is off."""

    accepts: set
    problems: list
    renamed: set


def _similar(name, known):
    """Is ``name`` likely a misspelling or shorthand of ``known``?"""
    a, b = name.lower(), known.lower()

    def within(short, long):
        it = iter(long)
        return all(ch in it for ch in short)

    if a[0] == b[0] and (within(a, b) or within(b, a)):
        return True
    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.6


def _plan(fn, signature):
    """Compare ``fn``'s parameters with the exercise's signature."""
    P = inspect.Parameter
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return _Plan(set(signature.keywords), [], set())
    slots = [p for p in params
             if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)]
    npos = len(signature.positional)
    problems = []
    if len(slots) < npos and not any(p.kind is P.VAR_POSITIONAL
                                     for p in params):
        problems.append(
            f"your function takes {len(slots)} positional argument"
            f"{'' if len(slots) == 1 else 's'}; the exercise passes "
            f"{npos}: {', '.join(signature.positional)}")
    for p, name in zip(slots, signature.positional):
        if p.name != name and (p.name in signature.keywords
                               or p.name in signature.positional):
            problems.append(f"`{p.name}` stands where the exercise passes "
                            f"`{name}`: keep the exercise's order of "
                            f"parameters")
    rest = [p for p in params if p not in slots[:npos]
            and p.kind not in (P.VAR_POSITIONAL, P.VAR_KEYWORD)]
    accepts = {p.name for p in rest
               if p.name in signature.keywords
               and p.kind is not P.POSITIONAL_ONLY}
    if any(p.kind is P.VAR_KEYWORD for p in params):
        accepts = set(signature.keywords)
    missing = [k for k in signature.keywords if k not in accepts]
    renamed = set()
    for p in rest:
        if p.name in signature.keywords:
            continue
        close = [k for k in missing if _similar(p.name, k)]
        if close:
            names = " or ".join(f"`{k}`" for k in close)
            problems.append(f"your function has `{p.name}` where the "
                            f"exercise has {names}: rename it")
            renamed.update(close)
        elif p.default is P.empty:
            problems.append(f"`{p.name}` has no default value, and the "
                            f"exercise never passes it")
    return _Plan(accepts, problems, renamed)


def _is_default(value, default):
    if isinstance(value, np.ndarray) or isinstance(default, np.ndarray):
        return value is default
    return value == default and type(value) is type(default)


# ------------------------------------------------------------- one case

_CNNBP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LIBRARIES = tuple(sorted({
    os.path.abspath(path)
    for scheme_vars in ({"base": sys.prefix, "platbase": sys.prefix},
                        {"base": sys.base_prefix,
                         "platbase": sys.base_prefix})
    for key, path in sysconfig.get_paths(vars=scheme_vars).items()
    if key in ("stdlib", "platstdlib", "purelib", "platlib")}))


def _is_learner_code(filename):
    """Is this frame's file the learner's code (not cnnbp, not a
    library)?"""
    if filename.startswith("<frozen") or filename.startswith("<__array"):
        return False
    path = os.path.abspath(filename)
    return not (path.startswith(_CNNBP + os.sep)
                or any(path.startswith(lib + os.sep) for lib in _LIBRARIES))


def _place(filename):
    """A notebook cell as 'cell In[12]', a file relative to the cwd."""
    try:
        from IPython import get_ipython
        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None:
        named = shell.compile.format_code_name(filename)
        if named is not None:
            return f"cell {named[1]}"
    if os.path.isfile(filename):
        relative = os.path.relpath(filename)
        return filename if relative.startswith("..") else relative
    return filename


def _learner_frames(err):
    return [f for f in traceback.extract_tb(err.__traceback__)
            if _is_learner_code(f.filename)]


def _where(err):
    """The last two frames of the learner's code that led to ``err``."""
    lines = []
    for frame in _learner_frames(err)[-2:]:
        lines.append(f"in {frame.name}, {_place(frame.filename)}, line "
                     f"{frame.lineno}:")
        if frame.line:
            lines.append("    " + frame.line.strip())
    return lines


def _raiser(err, fn):
    """Name of the learner's function that raised ``err``."""
    frames = _learner_frames(err)
    return frames[-1].name if frames else getattr(fn, "__name__", "it")


def _one_line(err):
    text = str(err).strip().splitlines()
    msg = text[0] if text else ""
    if len(msg) > 160:
        msg = msg[:157] + "..."
    return f"{type(err).__name__}: {msg}" if msg else type(err).__name__


def _fresh(value):
    return value.copy() if isinstance(value, np.ndarray) else value


def _changed(pristine, inputs):
    """Names of the arrays the function changed in place."""
    out = []
    for name, passed in inputs.items():
        orig = pristine[name]
        if isinstance(orig, np.ndarray) and not (
                passed.shape == orig.shape and passed.dtype == orig.dtype
                and np.array_equal(passed, orig, equal_nan=True)):
            out.append(name)
    return out


def _run_case(fn, case, signature, plan, named):
    lacking = [k for k, v in case.kwargs.items()
               if k not in plan.accepts
               and not _is_default(v, signature.keywords[k])]
    if lacking:
        key = lacking[0]
        text = f"your function has no `{key}` parameter"
        if named or key in signature.required or key in plan.renamed:
            return CaseOutcome(case.name, "FAIL", case.describe,
                               [text + ", and this case needs it"])
        return CaseOutcome(case.name, "skip", lines=[text])
    pristine = dict(zip(signature.positional, case.args))
    pristine.update(signature.keywords)
    pristine.update(case.kwargs)
    args = tuple(_fresh(a) for a in case.args)
    kwargs = {k: _fresh(pristine[k]) for k in signature.keywords
              if k in plan.accepts}
    inputs = dict(zip(signature.positional, args))
    inputs.update(kwargs)
    outcome = CaseOutcome(case.name, "FAIL", case.describe)
    try:
        with time_limit(TIME_LIMIT):
            got = fn(*args, **kwargs)
            changed = _changed(pristine, inputs)
            finding = None if changed else case.judge(got, inputs)
    except NotImplementedError as err:
        outcome.status, outcome.raiser = "todo", _raiser(err, fn)
        outcome.lines = [f"`{outcome.raiser}` raised NotImplementedError: "
                         f"not implemented yet"]
        return outcome
    except CaseTimeout:
        outcome.lines = [f"stopped after {TIME_LIMIT:g} s without a "
                         f"result: is there a loop that never ends?"]
        outcome.stopped = True
        return outcome
    except Exception as err:
        if case.raises is not None and isinstance(err, case.raises):
            outcome.status = "pass"
            return outcome
        outcome.lines = [f"raised {_one_line(err)}"] + _where(err)
        hint = case.on_error(err) if case.on_error else ""
        if hint:
            outcome.lines.append(Hint(hint))
        return outcome
    if changed:
        names = ", ".join(f"`{n}`" for n in changed)
        outcome.lines = [f"your function changed its input {names} in "
                         f"place: compute a new array instead"]
        return outcome
    if finding.problems:
        outcome.lines, outcome.grid = finding.problems, finding.grid
        return outcome
    outcome.status, outcome.note = "pass", finding.note
    return outcome


# ---------------------------------------------------------------- report

def _select(checker, ladder, cases):
    """The cases to run, and whether they were asked for by name.

    Parameters
    ----------
    checker : str
    ladder : list of Case
    cases : None, "all", str or list of str
        None: the standard ladder; "all": every case, extras included;
        names: exactly those cases.

    Returns
    -------
    selected : list of Case
    named : bool
    """
    if cases is None:
        return [c for c in ladder if not c.extra], False
    if cases == "all":
        return list(ladder), False
    if isinstance(cases, str):
        cases = [cases]
    names = [c.name for c in ladder]
    unknown = [c for c in cases if c not in names]
    if unknown:
        raise ValueError(f"{checker}: unknown case names {unknown}; "
                         f"known: {names}")
    return [c for c in ladder if c.name in cases], True


def _atoms(text):
    """Words of ``text``; a tuple such as "(1, 1, 5, 5)" stays in one
    piece, together with the word before it."""
    atoms, depth, start = [], 0, 0
    for k, ch in enumerate(text):
        opens_tuple = text[k + 1:k + 2] in tuple("0123456789(-")
        if ch in "([" and (depth or opens_tuple):
            depth += 1
        elif ch in ")]" and depth:
            depth -= 1
        elif ch == " " and not depth:
            atoms.append(text[start:k])
            start = k + 1
    atoms.append(text[start:])
    merged = []
    for atom in atoms:
        if merged and atom[:1] == "(" and atom[1:2].isdigit():
            merged[-1] += " " + atom
        elif atom:
            merged.append(atom)
    return merged


def _say(text, first=DETAIL, rest=DETAIL):
    """Print ``text`` wrapped at WIDTH, the first line after ``first``,
    the others after ``rest``."""
    line, empty = first, True
    for atom in _atoms(text):
        if not empty and len(line) + 1 + len(atom) > WIDTH:
            print(line)
            line, empty = rest, True
        line += atom if empty else " " + atom
        empty = False
    print(line)


def _show(outcome, said, with_grid):
    """Print one case; ``said`` holds the facts and hints printed so far
    (a repeated fact reads "the same problem as above", a repeated hint
    is left out)."""
    head = outcome.name
    if outcome.describe:
        head += f": {outcome.describe}"
    elif outcome.lines and outcome.status == "skip":
        head += f": {outcome.lines[0]}"
    _say(head, f"  {outcome.status:<4}  ")
    if outcome.status == "skip":
        return
    facts = tuple(line for line in outcome.lines
                  if not isinstance(line, Hint))
    repeated = bool(facts) and facts in said
    if repeated:
        _say("the same problem as above")
    said.add(facts)
    for line in outcome.lines:
        if isinstance(line, Hint):
            if line not in said:
                said.add(line)
                _say(line)
        elif repeated:
            continue
        elif line.startswith("    "):
            print(DETAIL + line)
        else:
            _say(line)
    if outcome.note:
        _say(outcome.note)
    if with_grid:
        for line in outcome.grid:
            print(DETAIL + line)


def _verdict(result):
    ran = result.passed + result.failed
    if result.failed or result.problems:
        text = f"Passed {result.passed} of {ran} case{'' if ran == 1 else 's'}"
        if result.problems:
            return text + "; fix the parameters first."
        first = next(o.name for o in result.outcomes
                     if o.status in ("FAIL", "todo"))
        return text + f"; start with the first failing case ({first})."
    if not ran:
        return ("No case ran: every case needs a parameter your function "
                "does not have.")
    text = "The case passes" if ran == 1 else f"All {ran} cases pass"
    if result.skipped:
        text += f" ({result.skipped} skipped)"
    return text + "."


def run(checker, fn, ladder, cases, signature):
    """Run ``fn`` on the selected cases, print the report, return it.

    Parameters
    ----------
    checker : str
        Name printed in the header, e.g. ``"check_conv2d"``.
    fn : callable
        The learner's function.
    ladder : list of Case
    cases : None, "all", str or list of str
        None: the standard ladder; "all": every case, extras included;
        names: exactly those cases, none skipped.
    signature : Signature
        The exercise's parameters.

    Returns
    -------
    CheckResult
    """
    if not callable(fn):
        raise TypeError(f"{checker} needs your function, got "
                        f"{type(fn).__name__}")
    selected, named = _select(checker, ladder, cases)
    plan = _plan(fn, signature)
    result = CheckResult(checker, problems=plan.problems)
    print(f"{checker}: {len(selected)} case"
          f"{'' if len(selected) == 1 else 's'}")
    for problem in plan.problems:
        _say(f"parameters: {problem}", "  FAIL  ")
    said, shown_grid = set(), False
    for k, case in enumerate(selected):
        outcome = _run_case(fn, case, signature, plan, named)
        if k == 0 and outcome.status == "todo":
            result.not_implemented = True
            print(f"  not implemented yet: `{outcome.raiser}` raises "
                  f"NotImplementedError.\n  Replace `raise "
                  f"NotImplementedError` with your code and run the\n"
                  f"  cell again.")
            return result
        result.outcomes.append(outcome)
        with_grid = outcome.status == "FAIL" and not shown_grid
        _show(outcome, said, with_grid)
        shown_grid = shown_grid or (with_grid and bool(outcome.grid))
        if outcome.stopped:
            left = len(selected) - k - 1
            if left:
                print(f"  The other {left} case{'' if left == 1 else 's'} "
                      f"did not run.")
            break
    _say(_verdict(result), "", "")
    return result
