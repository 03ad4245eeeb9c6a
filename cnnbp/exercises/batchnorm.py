"""Checker for spatial batch norm's backward pass (chapter 17).

``check_batchnorm2d_backward`` runs the learner's ``fn(dout, x, gamma,
eps=1e-5) -> (dx, dgamma, dbeta)`` on a ladder that climbs from one
channel of one sample through a batch with one pixel per sample, a
batch of maps, several channels with their own gamma, a large eps and
an input with a large mean. The ladder separates the classic mistakes:
statistics per sample agree with the right ones only when N = 1,
statistics per position only when H = W = 1, and a forgotten eps only
when eps is small next to the variance, so every one of these has a
case where it shows.

Shapes: x and dout (N, C, H, W), gamma (C,); dx (N, C, H, W), dgamma
and dbeta (C,). Expected results come from
:func:`cnnbp.batchnorm2d_backward`, which the test suite checks against
the loop twin, finite differences and PyTorch.
"""

import numpy as np

import cnnbp

from . import judges, ladders, runner
from .ladders import _rng
from .mistakes import BIAS_GRADIENT, Mistake

__all__ = ["check_batchnorm2d_backward", "BATCHNORM_CASES", "BATCHNORM_DX",
           "BATCHNORM_DGAMMA"]

# name, x shape, eps, shift of x, extra
BATCHNORM_CASES = [
    ("one channel, one sample", (1, 1, 3, 4), None, 0.0, False),
    ("one channel, a batch of single pixels", (5, 1, 1, 1), None, 0.0,
     False),
    ("one channel, a batch of maps", (3, 1, 2, 3), None, 0.0, False),
    ("three channels, own gamma each", (2, 3, 3, 2), None, 0.0, False),
    ("eps = 0.5", (2, 2, 2, 3), 0.5, 0.0, False),
    ("a large mean (x around 10)", (2, 2, 3, 3), None, 10.0, False),
    ("non-square maps, four channels", (3, 4, 2, 5), 1e-3, -2.0, True),
]


def batchnorm_cases():
    """The data of the cases.

    Yields
    ------
    tuple
        ``(name, dout, x, gamma, kwargs, extra)``: dout and x (N, C, H,
        W), gamma (C,), kwargs ``{"eps": ...}`` or empty.
    """
    for name, xs, eps, shift, extra in BATCHNORM_CASES:
        rng = _rng(name, "batchnorm")
        x = rng.standard_normal(xs) * rng.uniform(0.5, 2.0) + shift
        gamma = rng.uniform(0.5, 2.0, xs[1]) * rng.choice([-1, 1], xs[1])
        dout = rng.standard_normal(xs)
        yield (name, dout, x, gamma, {} if eps is None else {"eps": eps},
               extra)


# ------------------------------------------------------ the mistakes

def _stats(x, axes, ddof=0):
    mu = x.mean(axis=axes, keepdims=True)
    return mu, x.var(axis=axes, keepdims=True, ddof=ddof)


def _dx(dout, x, gamma, eps, axes=(0, 2, 3), paths="all", ddof=0,
        use_eps=True):
    """dx node by node, statistics over ``axes``; ``paths`` "all",
    "direct" (mu and var constants), "no_mean" or "no_var"."""
    mu, var = _stats(x, axes, ddof)
    M = np.prod([x.shape[a] for a in axes])
    istd = 1.0 / np.sqrt(var + (eps if use_eps else 0.0))
    xc = x - mu
    dxhat = dout * gamma[None, :, None, None]
    dx = dxhat * istd
    if paths in ("all", "no_mean"):
        dvar = (dxhat * xc).sum(axis=axes, keepdims=True) * -0.5 * istd ** 3
        dx = dx + dvar * 2.0 * xc / (M - ddof)
    if paths in ("all", "no_var"):
        dmu = -(dxhat * istd).sum(axis=axes, keepdims=True)
        dx = dx + dmu / M
    return dx


def dx_constants(dout, x, gamma, eps=1e-5):
    """mu and var treated as constants: gamma dout / sqrt(var + eps)."""
    return _dx(dout, x, gamma, eps, paths="direct")


def dx_no_mean_path(dout, x, gamma, eps=1e-5):
    """Without the path through the mean."""
    return _dx(dout, x, gamma, eps, paths="no_mean")


def dx_no_var_path(dout, x, gamma, eps=1e-5):
    """Without the path through the variance."""
    return _dx(dout, x, gamma, eps, paths="no_var")


def dx_per_sample(dout, x, gamma, eps=1e-5):
    """Statistics of each sample alone (over H and W only)."""
    return _dx(dout, x, gamma, eps, axes=(2, 3))


def dx_per_position(dout, x, gamma, eps=1e-5):
    """Statistics over the batch only, one pair per position."""
    return _dx(dout, x, gamma, eps, axes=(0,))


def dx_unbiased(dout, x, gamma, eps=1e-5):
    """The unbiased variance (divided by M - 1)."""
    return _dx(dout, x, gamma, eps, ddof=1)


def dx_no_eps(dout, x, gamma, eps=1e-5):
    """eps left out of sqrt(var + eps)."""
    return _dx(dout, x, gamma, eps, use_eps=False)


def dgamma_from_x(dout, x, gamma, eps=1e-5):
    """sum(dout * X) instead of sum(dout * Xhat)."""
    return (dout * x).sum(axis=(0, 2, 3))


def dgamma_from_centred(dout, x, gamma, eps=1e-5):
    """sum(dout * (X - mu)), not divided by sqrt(var + eps)."""
    return (dout * (x - x.mean(axis=(0, 2, 3), keepdims=True))).sum(
        axis=(0, 2, 3))


def dgamma_times_gamma(dout, x, gamma, eps=1e-5):
    """sum(dout * Xhat) multiplied by gamma once more."""
    mu, var = _stats(x, (0, 2, 3))
    return gamma * (dout * (x - mu) / np.sqrt(var + eps)).sum(
        axis=(0, 2, 3))


BATCHNORM_DX = [
    Mistake("when the mean and the variance are treated as constants "
            "(only gamma dout / sqrt(var + eps))", dx_constants),
    Mistake("without the path through the mean", dx_no_mean_path),
    Mistake("without the path through the variance", dx_no_var_path),
    Mistake("with the statistics of each sample alone (over H and W, "
            "not over the batch)", dx_per_sample),
    Mistake("with statistics over the batch only, one mean and "
            "variance per position", dx_per_position),
    Mistake("with the unbiased variance (divided by M - 1; training "
            "mode uses 1/M)", dx_unbiased),
    Mistake("without eps in sqrt(var + eps)", dx_no_eps),
]

BATCHNORM_DGAMMA = [
    Mistake("from X instead of the normalised Xhat", dgamma_from_x),
    Mistake("from X - mu, not divided by sqrt(var + eps)",
            dgamma_from_centred),
    Mistake("multiplied by gamma (gamma belongs to dL/dXhat, not to "
            "dL/dgamma)", dgamma_times_gamma),
]


# ---------------------------------------------------------- the ladder

def _describe(dout, x, gamma, kwargs):
    text = f"dout {dout.shape}, x {x.shape}, gamma {gamma.shape}"
    return text + "".join(f", {k}={v}" for k, v in kwargs.items())


def _batchnorm2d_backward():
    ladder = []
    for name, dout, x, gamma, kwargs, extra in batchnorm_cases():
        dx, dgamma, dbeta = cnnbp.batchnorm2d_backward(dout, x, gamma,
                                                       **kwargs)

        def call(fn, dout=dout, x=x, gamma=gamma, kwargs=kwargs):
            return fn(dout, x, gamma, **kwargs)

        def call_db(fn, dout=dout):
            return fn(dout)
        judge = judges.parts_judge([
            ("dx", dx, BATCHNORM_DX, call),
            ("dgamma", dgamma, BATCHNORM_DGAMMA, call),
            ("dbeta", dbeta, BIAS_GRADIENT, call_db)])
        ladder.append(runner.Case(name, _describe(dout, x, gamma, kwargs),
                                  (dout, x, gamma), dict(kwargs), judge,
                                  extra))
    return ladder


ladders.SIGNATURES["check_batchnorm2d_backward"] = runner.Signature(
    ("dout", "x", "gamma"), {"eps": 1e-5}, frozenset({"eps"}))
ladders.LADDERS["check_batchnorm2d_backward"] = _batchnorm2d_backward


def check_batchnorm2d_backward(fn, cases=None):
    """Check ``fn(dout, x, gamma, eps=1e-5) -> (dx, dgamma, dbeta)``.

    Spatial batch norm in training mode: per channel, the mean and the
    biased variance over the ``M = N*H*W`` values of the batch. dout and
    x (N, C, H, W), gamma (C,); dx (N, C, H, W), dgamma and dbeta (C,),
    each compared with :func:`cnnbp.batchnorm2d_backward`.

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
    name = "check_batchnorm2d_backward"
    return runner.run(name, fn, ladders.LADDERS[name](), cases,
                      ladders.SIGNATURES[name])
