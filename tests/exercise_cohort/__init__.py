"""An adversarial cohort of learners' solutions to the chapter exercises.

Each module holds functions written the way learners write them: right
ones in several styles (loops, scatter-add, einsum, sliding windows,
im2col by hand, FFT, float32, PyTorch) and wrong ones, one per error
class. Every function is registered with the verdict its checker must
give, so ``tests/test_exercise_cohort.py`` can assert every verdict.

A wrong solution may also name the report text that must appear (the
classic mistake the checker recognises, or the side effect it caught).
"""

from dataclasses import dataclass, field

from cnnbp.exercises import mistakes

__all__ = ["Learner", "COHORT", "right", "wrong", "label"]


def label(variant):
    """The words naming a classic mistake, from its variant function.

    Parameters
    ----------
    variant : callable
        A function of :mod:`cnnbp.exercises.mistakes`.

    Returns
    -------
    str
    """
    for value in vars(mistakes).values():
        if isinstance(value, list):
            for mistake in value:
                if mistake.fn is variant:
                    return mistake.label
    raise KeyError(variant.__name__)


@dataclass
class Learner:
    """One learner's solution and the verdict its checker must give.

    Attributes
    ----------
    fn : callable
        The solution (for check_scalar_gradient: the gradient).
    checker : str
        e.g. ``"check_conv2d"``.
    accept : bool
        The checker must accept (True) or reject (False) it.
    says : str
        Text the report must contain, e.g. a mistake's label.
    call : dict
        Extra arguments of the checker call (``cases``; for
        check_scalar_gradient ``f``, ``points``, ``reference``).
    needs : str
        A module the solution imports (``"torch"``); skipped without it.
    """

    fn: object
    checker: str
    accept: bool
    says: str = ""
    call: dict = field(default_factory=dict)
    needs: str = ""

    @property
    def name(self):
        """``module.function``, the test id."""
        return f"{self.fn.__module__.rsplit('.', 1)[-1]}.{self.fn.__name__}"


COHORT = []


def right(checker, needs="", **call):
    """Register a right solution (a decorator)."""
    def register(fn):
        COHORT.append(Learner(fn, checker, True, "", call, needs))
        return fn
    return register


def wrong(checker, says="", needs="", **call):
    """Register a wrong solution and what its report must say."""
    def register(fn):
        COHORT.append(Learner(fn, checker, False, says, call, needs))
        return fn
    return register
