"""Checkers for training a modern CNN (chapter 19).

``check_fold_batchnorm`` runs the learner's ``fn(w, b, gamma, beta,
running_mean, running_var, eps=1e-5) -> (w_folded, b_folded)``, which
folds an evaluation-mode batch norm into the convolution before it. The
ladder climbs from one 1x1 filter through several filters with their
own statistics, a convolution without bias (``b=None``), a depthwise
weight, non-square kernels, negative gamma, a large eps and a large
running mean. A square weight (K = C = WW) shows a scale applied along
the wrong axis of w, eps = 0.5 shows a forgotten or misplaced eps, and
running variances between 1.5 and 4 show a missing square root.

``check_running_statistics`` runs the learner's ``fn(running_mean,
running_var, x, momentum=0.1) -> (new_mean, new_var)``, one
training-mode update of the running statistics as in
:class:`cnnbp.layers.BatchNorm2d` (PyTorch's convention). The ladder
starts at M = N*H*W = 2 values per channel, where the unbiased variance
is twice the biased one, and includes momentum 0.5 and 1.0, several
channels over a batch (where a reshape that mixes samples and channels
shows) and non-square maps.

Shapes: w (K, C/groups, HH, WW), b, gamma, beta, running_mean and
running_var (K,) for the fold; x (N, C, H, W) and the running
statistics (C,) for the update. Expected results come from
:func:`cnnbp.fold_batchnorm` and from a :class:`cnnbp.layers.BatchNorm2d`
run in training mode (:func:`running_statistics`).

A right function passes every case, and a classic mistake is named::

    >>> import cnnbp
    >>> result = check_fold_batchnorm(cnnbp.fold_batchnorm)
    ... # doctest: +NORMALIZE_WHITESPACE
    check_fold_batchnorm: 8 cases
      pass  one filter, one channel, 1x1: w (1, 1, 1, 1), b (1,), stats (1,)
      pass  several filters, their own statistics: w (3, 3, 3, 3), b (3,),
            stats (3,)
      pass  no bias (b=None): w (2, 3, 3, 3), b=None, stats (2,)
      pass  a depthwise weight (K, 1, 3, 3): w (4, 1, 3, 3), b (4,),
            stats (4,)
      pass  non-square kernels: w (2, 4, 1, 3), b (2,), stats (2,)
      pass  negative gamma: w (3, 2, 3, 3), b (3,), stats (3,)
      pass  eps = 0.5: w (2, 2, 3, 3), b (2,), stats (2,), eps=0.5
      pass  a large running mean (around 50): w (3, 2, 3, 3), b (3,),
            stats (3,)
    All 8 cases pass.
    >>> def biased(running_mean, running_var, x, momentum=0.1):
    ...     mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    ...     return ((1 - momentum) * running_mean + momentum * mean,
    ...             (1 - momentum) * running_var + momentum * var)
    >>> result = check_running_statistics(biased, cases="one channel, M = 2")
    ... # doctest: +NORMALIZE_WHITESPACE
    check_running_statistics: 1 case
      FAIL  one channel, M = 2: x (2, 1, 1, 1), running stats (1,)
            new_var has wrong values in 1 of 1 entries (relative error
            6.6e-02); the largest difference is at index 0: expected 1.198,
            got 1.049
            Your new_var equals what you get with the biased variance
            (divided by M; the running variance takes the unbiased one, M /
            (M - 1) times it).
            new_mean is right.
    Passed 0 of 1 case; start with the first failing case (one channel,
    M = 2).
"""

import warnings

import numpy as np

import cnnbp

from . import judges, ladders, runner
from .ladders import _rng
from .mistakes import Mistake

__all__ = ["check_fold_batchnorm", "check_running_statistics",
           "running_statistics", "FOLD_CASES", "RUNNING_CASES",
           "FOLD_BATCHNORM", "RUNNING_STATISTICS"]


# ------------------------------------------------------ shared helpers

def _shares(value, inputs):
    return isinstance(value, np.ndarray) and any(
        isinstance(v, np.ndarray) and np.shares_memory(value, v)
        for v in inputs.values())


def _parts_judge(parts):
    """:func:`judges.parts_judge`, naming the mistake of a part that is
    an input returned as it is (``return w_folded, beta``) as well."""
    base = judges.parts_judge(parts)

    def judge(got, inputs):
        found = base(got, inputs)
        if not found.problems or not isinstance(got, (tuple, list)) or (
                len(got) != len(parts)):
            return found
        for value, (what, expected, mistakes, call) in zip(got, parts):
            if not _shares(value, inputs) or value.dtype.kind != "f":
                continue
            values = np.asarray(value, dtype=np.float64)
            if values.shape != expected.shape or judges._close(
                    values, expected):
                continue
            hint = judges.diagnose(values, expected, what, mistakes, call)
            if hint:
                where = next(k for k, p in enumerate(found.problems)
                             if p.startswith(f"{what} shares"))
                found.problems.insert(where + 1, hint)
        return found
    return judge


def _part(args, kwargs, k):
    """``call(fn)`` running a mistake on the case, keeping result k."""
    def call(fn):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)[k]
    return call


# ------------------------------------------------ folding a batch norm

# name, w shape, with bias, eps, gamma signs, running mean shift, extra
FOLD_CASES = [
    ("one filter, one channel, 1x1", (1, 1, 1, 1), True, None, "+", 0.0,
     False),
    ("several filters, their own statistics", (3, 3, 3, 3), True, None,
     "+", 0.0, False),
    ("no bias (b=None)", (2, 3, 3, 3), False, None, "+", 0.0, False),
    ("a depthwise weight (K, 1, 3, 3)", (4, 1, 3, 3), True, None, "+",
     0.0, False),
    ("non-square kernels", (2, 4, 1, 3), True, None, "+", 0.0, False),
    ("negative gamma", (3, 2, 3, 3), True, None, "-+", 0.0, False),
    ("eps = 0.5", (2, 2, 3, 3), True, 0.5, "+", 0.0, False),
    ("a large running mean (around 50)", (3, 2, 3, 3), True, None, "+",
     50.0, False),
    ("depthwise, non-square, no bias, eps = 1e-3", (6, 1, 3, 5), False,
     1e-3, "-+", -20.0, True),
]

#: Said when a function fails on b=None.
NO_BIAS = ("This case passes b=None, a convolution without bias "
           "(bias=False): treat it as a bias of zeros.")


def _no_bias_hint(err):
    """NO_BIAS if ``err`` came from using None as an array."""
    return NO_BIAS if "NoneType" in str(err) else ""


def fold_cases():
    """The data of the fold cases.

    Yields
    ------
    tuple
        ``(name, args, kwargs, extra)``: args ``(w, b, gamma, beta,
        running_mean, running_var)`` with w (K, C/groups, HH, WW), b
        (K,) or None, the others (K,); kwargs ``{"eps": ...}`` or empty.
    """
    for name, ws, bias, eps, signs, shift, extra in FOLD_CASES:
        rng = _rng(name, "fold")
        K = ws[0]
        w = rng.standard_normal(ws)
        b = rng.standard_normal(K) if bias else None
        sign = np.resize([1.0 if s == "+" else -1.0 for s in signs], K)
        gamma = rng.uniform(0.5, 2.0, K) * sign
        beta = rng.standard_normal(K)
        mean = rng.standard_normal(K) + shift
        # away from 1, so that var and sqrt(var) differ
        var = rng.uniform(1.5, 4.0, K)
        yield (name, (w, b, gamma, beta, mean, var),
               {} if eps is None else {"eps": eps}, extra)


def _fold(w, b, gamma, beta, mean, var, eps, *, denom=None, axis=0,
          mean_scaled=True, use_mean=True, use_b=True, b_scale=None,
          use_beta=True, beta_only=False):
    """The fold with one ingredient changed."""
    denom = np.sqrt(var + eps) if denom is None else denom
    scale = gamma / denom
    if axis == 0:
        w_folded = w * scale[:, None, None, None]
    elif axis == 1:
        w_folded = w * scale[:, None, None]
    else:
        w_folded = w * scale
    b = np.zeros_like(gamma) if b is None or not use_b else b
    if beta_only:
        return w_folded, beta.copy()
    m = (scale if mean_scaled else 1.0) * mean if use_mean else 0.0
    shift = (scale if b_scale is None else b_scale) * b - m
    return w_folded, shift + (beta if use_beta else 0.0)


def fold_var_not_sqrt(w, b, gamma, beta, running_mean, running_var,
                      eps=1e-5):
    """gamma / (running_var + eps): no square root."""
    return _fold(w, b, gamma, beta, running_mean, running_var, eps,
                 denom=running_var + eps)


def fold_no_eps(w, b, gamma, beta, running_mean, running_var, eps=1e-5):
    """gamma / sqrt(running_var): eps left out."""
    return _fold(w, b, gamma, beta, running_mean, running_var, eps,
                 denom=np.sqrt(running_var))


def fold_eps_outside(w, b, gamma, beta, running_mean, running_var,
                     eps=1e-5):
    """gamma / (sqrt(running_var) + eps)."""
    return _fold(w, b, gamma, beta, running_mean, running_var, eps,
                 denom=np.sqrt(running_var) + eps)


def fold_times_std(w, b, gamma, beta, running_mean, running_var,
                   eps=1e-5):
    """gamma * sqrt(running_var + eps): multiplied, not divided."""
    return _fold(w, b, gamma, beta, running_mean, running_var, eps,
                 denom=1.0 / np.sqrt(running_var + eps))


def fold_abs_gamma(w, b, gamma, beta, running_mean, running_var,
                   eps=1e-5):
    """sqrt(gamma**2 / (running_var + eps)): gamma's sign lost."""
    return _fold(w, b, np.abs(gamma), beta, running_mean, running_var,
                 eps)


def fold_input_axis(w, b, gamma, beta, running_mean, running_var,
                    eps=1e-5):
    """w * scale[:, None, None]: along axis 1 of w (the channels)."""
    return _fold(w, b, gamma, beta, running_mean, running_var, eps,
                 axis=1)


def fold_last_axis(w, b, gamma, beta, running_mean, running_var,
                   eps=1e-5):
    """w * scale: along the last axis of w (WW)."""
    return _fold(w, b, gamma, beta, running_mean, running_var, eps,
                 axis=3)


def fold_no_mean(w, b, gamma, beta, running_mean, running_var, eps=1e-5):
    """beta + scale b: running_mean not subtracted."""
    return _fold(w, b, gamma, beta, running_mean, running_var, eps,
                 use_mean=False)


def fold_mean_unscaled(w, b, gamma, beta, running_mean, running_var,
                       eps=1e-5):
    """beta + scale b - running_mean: the mean not scaled."""
    return _fold(w, b, gamma, beta, running_mean, running_var, eps,
                 mean_scaled=False)


def fold_ignore_b(w, b, gamma, beta, running_mean, running_var,
                  eps=1e-5):
    """beta - scale running_mean: the convolution's bias left out."""
    return _fold(w, b, gamma, beta, running_mean, running_var, eps,
                 use_b=False)


def fold_bias_no_std(w, b, gamma, beta, running_mean, running_var,
                     eps=1e-5):
    """beta + gamma (b - running_mean): not divided by the std."""
    return _fold(w, b, gamma, beta, running_mean, running_var, eps,
                 denom=np.ones_like(running_var))


def fold_b_unscaled(w, b, gamma, beta, running_mean, running_var,
                    eps=1e-5):
    """beta + b - scale running_mean: b added as it is."""
    return _fold(w, b, gamma, beta, running_mean, running_var, eps,
                 b_scale=1.0)


def fold_no_beta(w, b, gamma, beta, running_mean, running_var, eps=1e-5):
    """scale (b - running_mean): beta left out."""
    return _fold(w, b, gamma, beta, running_mean, running_var, eps,
                 use_beta=False)


def fold_beta_only(w, b, gamma, beta, running_mean, running_var,
                   eps=1e-5):
    """b_folded = beta."""
    return _fold(w, b, gamma, beta, running_mean, running_var, eps,
                 beta_only=True)


FOLD_BATCHNORM = [
    Mistake("when dividing by running_var + eps instead of its square "
            "root", fold_var_not_sqrt),
    Mistake("without eps in sqrt(running_var + eps)", fold_no_eps),
    Mistake("with sqrt(running_var) + eps instead of sqrt(running_var + "
            "eps)", fold_eps_outside),
    Mistake("when multiplying by sqrt(running_var + eps) instead of "
            "dividing by it", fold_times_std),
    Mistake("with |gamma| (gamma's sign lost, as in sqrt(gamma**2 / "
            "(running_var + eps)))", fold_abs_gamma),
    Mistake("with the scale gamma / sqrt(running_var + eps) applied "
            "along axis 1 of w, the input channels (scale[:, None, None] "
            "lines up with axis 1), instead of axis 0, the filters",
            fold_input_axis),
    Mistake("with w * scale, which lines the scale up with the last axis "
            "of w (WW), not with the filters: use scale[:, None, None, "
            "None]", fold_last_axis),
    Mistake("without subtracting running_mean", fold_no_mean),
    Mistake("when running_mean is subtracted without the scale gamma / "
            "sqrt(running_var + eps)", fold_mean_unscaled),
    Mistake("when the convolution's bias b is left out", fold_ignore_b),
    Mistake("with gamma (b - running_mean), not divided by "
            "sqrt(running_var + eps)", fold_bias_no_std),
    Mistake("when b is added without the scale gamma / sqrt(running_var "
            "+ eps)", fold_b_unscaled),
    Mistake("without beta", fold_no_beta),
    Mistake("when b_folded is just beta (the batch norm's shift "
            "changes too: beta + scale (b - running_mean))", fold_beta_only),
]


def _fold_describe(w, b, kwargs):
    text = f"w {w.shape}, " + ("b=None" if b is None else f"b {b.shape}")
    text += f", stats ({w.shape[0]},)"
    return text + "".join(f", {k}={v}" for k, v in kwargs.items())


def _fold_batchnorm():
    ladder = []
    for name, args, kwargs, extra in fold_cases():
        w_folded, b_folded = cnnbp.fold_batchnorm(*args, **kwargs)
        judge = _parts_judge([
            ("w_folded", w_folded, FOLD_BATCHNORM, _part(args, kwargs, 0)),
            ("b_folded", b_folded, FOLD_BATCHNORM, _part(args, kwargs, 1))])
        ladder.append(runner.Case(
            name, _fold_describe(args[0], args[1], kwargs), args,
            dict(kwargs), judge, extra,
            on_error=_no_bias_hint if args[1] is None else None))
    return ladder


ladders.SIGNATURES["check_fold_batchnorm"] = runner.Signature(
    ("w", "b", "gamma", "beta", "running_mean", "running_var"),
    {"eps": 1e-5}, frozenset({"eps"}))
ladders.LADDERS["check_fold_batchnorm"] = _fold_batchnorm


def check_fold_batchnorm(fn, cases=None):
    """Check ``fn(w, b, gamma, beta, running_mean, running_var,
    eps=1e-5) -> (w_folded, b_folded)``.

    An evaluation-mode batch norm after a convolution, folded into it:
    with ``scale = gamma / sqrt(running_var + eps)``, ``w_folded[f] =
    scale[f] w[f]`` and ``b_folded = beta + scale (b - running_mean)``.
    w (K, C/groups, HH, WW); b (K,) or None (a convolution without
    bias); the others (K,); w_folded like w, b_folded (K,). Each
    compared with :func:`cnnbp.fold_batchnorm`.

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
    name = "check_fold_batchnorm"
    return runner.run(name, fn, ladders.LADDERS[name](), cases,
                      ladders.SIGNATURES[name])


# ------------------------------------------------ running statistics

# name, x shape, momentum, fresh statistics (0 and 1), shift of x, extra;
# PyTorch's and Keras' conventions agree at momentum 0.5 only
RUNNING_CASES = [
    ("one channel, M = 2", (2, 1, 1, 1), None, True, 0.0, False),
    ("one channel, a batch of maps", (3, 1, 2, 3), None, False, 0.0,
     False),
    ("three channels, their own statistics", (2, 3, 2, 2), None, False,
     0.0, False),
    ("momentum = 0.5", (2, 2, 3, 3), 0.5, False, 0.0, False),
    ("momentum = 1.0, the batch's statistics alone", (4, 2, 1, 1), 1.0,
     False, 0.0, False),
    ("non-square maps, four channels", (3, 4, 2, 5), 0.3, False, 0.0,
     False),
    ("a large mean (x around 10), one sample", (1, 3, 4, 3), 0.05, False,
     10.0, True),
]


def running_cases():
    """The data of the running-statistics cases.

    Yields
    ------
    tuple
        ``(name, args, kwargs, extra)``: args ``(running_mean,
        running_var, x)`` with x (N, C, H, W) and the statistics (C,);
        kwargs ``{"momentum": ...}`` or empty.
    """
    for name, xs, momentum, fresh, shift, extra in RUNNING_CASES:
        rng = _rng(name, "running")
        C = xs[1]
        z = rng.standard_normal(xs)
        # each channel's batch std between 0.5 and 2, even for M = 2
        z = (z - z.mean(axis=(0, 2, 3), keepdims=True)) / z.std(
            axis=(0, 2, 3), keepdims=True)
        scale = rng.uniform(0.5, 2.0, (1, C, 1, 1))
        x = z * scale + rng.standard_normal((1, C, 1, 1)) + shift
        if fresh:
            mean, var = np.zeros(C), np.ones(C)
        else:
            mean, var = rng.standard_normal(C), rng.uniform(0.5, 2.0, C)
        yield (name, (mean, var, x),
               {} if momentum is None else {"momentum": momentum}, extra)


def running_statistics(running_mean, running_var, x, momentum=0.1):
    """One training-mode update of BatchNorm2d's running statistics.

    A :class:`cnnbp.layers.BatchNorm2d` with these running statistics
    runs ``x`` forward in training mode; its new running statistics are
    ``(1 - momentum) old + momentum batch``, with the mean and the
    unbiased variance (``M / (M - 1)`` times the biased one, ``M =
    N*H*W``) of each channel over the batch.

    Parameters
    ----------
    running_mean, running_var : ndarray of shape (C,)
    x : ndarray of shape (N, C, H, W)
        M = N*H*W must be at least 2.
    momentum : float

    Returns
    -------
    new_mean, new_var : ndarray of shape (C,)
    """
    layer = cnnbp.layers.BatchNorm2d(x.shape[1], momentum=momentum)
    layer.running_mean = np.array(running_mean, dtype=np.float64)
    layer.running_var = np.array(running_var, dtype=np.float64)
    layer.train()
    layer.forward(x)
    return layer.running_mean, layer.running_var


def _update(mean, var, stat_mean, stat_var, momentum, keras=False):
    keep = momentum if keras else 1.0 - momentum
    return (keep * mean + (1.0 - keep) * stat_mean,
            keep * var + (1.0 - keep) * stat_var)


def _channel_stats(x, ddof):
    return x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3), ddof=ddof)


def running_biased(running_mean, running_var, x, momentum=0.1):
    """The biased variance (divided by M)."""
    return _update(running_mean, running_var, *_channel_stats(x, 0),
                   momentum)


def running_keras(running_mean, running_var, x, momentum=0.1):
    """momentum old + (1 - momentum) batch."""
    return _update(running_mean, running_var, *_channel_stats(x, 1),
                   momentum, keras=True)


def running_std(running_mean, running_var, x, momentum=0.1):
    """The (unbiased) standard deviation instead of the variance."""
    mean, var = _channel_stats(x, 1)
    return _update(running_mean, running_var, mean, np.sqrt(var),
                   momentum)


def running_batch_count(running_mean, running_var, x, momentum=0.1):
    """N / (N - 1) instead of M / (M - 1)."""
    N = x.shape[0]
    mean, var = _channel_stats(x, 0)
    return _update(running_mean, running_var, mean, var * N / (N - 1),
                   momentum)


def running_per_sample(running_mean, running_var, x, momentum=0.1):
    """Statistics over H and W only: one pair per sample, (N, C)."""
    return _update(running_mean, running_var, x.mean(axis=(2, 3)),
                   x.var(axis=(2, 3)), momentum)


def running_per_position(running_mean, running_var, x, momentum=0.1):
    """Statistics over the batch only: one pair per position, (C, H,
    W), broadcast against the (C,) running statistics."""
    return _update(running_mean, running_var, x.mean(axis=0),
                   x.var(axis=0), momentum)


def running_reshape(running_mean, running_var, x, momentum=0.1):
    """x.reshape(C, -1) without moving the channel axis first."""
    rows = x.reshape(x.shape[1], -1)
    return _update(running_mean, running_var, rows.mean(axis=1),
                   rows.var(axis=1, ddof=1), momentum)


RUNNING_STATISTICS = [
    Mistake("with the biased variance (divided by M; the running "
            "variance takes the unbiased one, M / (M - 1) times it)",
            running_biased),
    Mistake("with momentum and 1 - momentum swapped (momentum old + (1 - "
            "momentum) batch, the Keras convention; PyTorch's is (1 - "
            "momentum) old + momentum batch)", running_keras),
    Mistake("with the standard deviation instead of the variance",
            running_std),
    Mistake("with N / (N - 1) instead of M / (M - 1), M = N*H*W the "
            "number of values per channel", running_batch_count),
    Mistake("with the statistics of each sample alone (over H and W, "
            "not over the batch): take them over axes (0, 2, 3)",
            running_per_sample),
    Mistake("with statistics over the batch axis only, one per position: "
            "take them over axes (0, 2, 3)", running_per_position),
    Mistake("with x.reshape(C, -1), which mixes samples and channels: "
            "move the channel axis first, x.transpose(1, 0, 2, 3)",
            running_reshape),
]


def _running_describe(x, kwargs):
    text = f"x {x.shape}, running stats ({x.shape[1]},)"
    return text + "".join(f", {k}={v}" for k, v in kwargs.items())


def _running_statistics():
    ladder = []
    for name, args, kwargs, extra in running_cases():
        new_mean, new_var = running_statistics(*args, **kwargs)
        judge = _parts_judge([
            ("new_mean", new_mean, RUNNING_STATISTICS,
             _part(args, kwargs, 0)),
            ("new_var", new_var, RUNNING_STATISTICS,
             _part(args, kwargs, 1))])
        ladder.append(runner.Case(name, _running_describe(args[2], kwargs),
                                  args, dict(kwargs), judge, extra))
    return ladder


ladders.SIGNATURES["check_running_statistics"] = runner.Signature(
    ("running_mean", "running_var", "x"), {"momentum": 0.1},
    frozenset({"momentum"}))
ladders.LADDERS["check_running_statistics"] = _running_statistics


def check_running_statistics(fn, cases=None):
    """Check ``fn(running_mean, running_var, x, momentum=0.1)``
    ``-> (new_mean, new_var)``.

    One training-mode update of batch norm's running statistics, as
    :class:`cnnbp.layers.BatchNorm2d` (and PyTorch) does it: per
    channel, ``new = (1 - momentum) old + momentum batch``, with the
    batch's mean and its unbiased variance over the ``M = N*H*W``
    values of the channel. x (N, C, H, W); running_mean, running_var,
    new_mean and new_var (C,). The inputs must stay as they are: return
    new arrays. Compared with :func:`running_statistics`.

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
    name = "check_running_statistics"
    return runner.run(name, fn, ladders.LADDERS[name](), cases,
                      ladders.SIGNATURES[name])
