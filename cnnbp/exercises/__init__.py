"""One-call checkers for the learner's functions in the chapter exercises.

Each ``check_*`` runs your function on a ladder of named, seeded cases
(stride 1, stride 2, leftover rows, padding, non-square, several
channels, a batch, ...), compares every result with cnnbp, and prints
one line per case::

    >>> check_input_gradient(my_input_gradient)       # doctest: +SKIP
    check_input_gradient: 10 cases
      pass  stride 1: dout (1, 1, 3, 3), x (1, 1, 5, 5), w (1, 1, 3, 3)
      FAIL  stride 2: dout (1, 1, 3, 3), x (1, 1, 7, 7), w (1, 1, 3, 3),
            stride=2
            dx has wrong values in 48 of 49 entries (relative error
            6.2e-01); the largest difference is at (0, 0, 2, 2): expected
            2.603, got -6.661
            Your dx equals what you get without zero insertion (dL/dO not
            dilated by the stride).
      ...
    Passed 5 of 10 cases; start with the first failing case (stride 2).

It returns a :class:`CheckResult`, truthy iff every case passed. What a
checker watches for:

- **Your parameters.** They are compared with the exercise's: a
  misnamed keyword (``pad`` for ``padding``) is named. A case that
  needs a parameter your function lacks is skipped when the exercise
  may leave it out (``dilation``), and fails when the exercise has it
  (``b`` for the convolution, ``stride`` for an output size) or when
  you asked for the case by name.
- **Your code raising.** The report shows the exception and the lines
  of your own code it came from. ``NotImplementedError`` (an exercise
  stub, or a helper of yours you have not written yet) reads "not
  implemented yet", naming the function, so a notebook with stubs still
  runs from top to bottom.
- **Endless loops.** A case is stopped after ``runner.TIME_LIMIT``
  seconds (10) and the rest of the ladder is not run.
- **Side effects.** Every argument is a fresh copy; changing one in
  place (``b += 1``, ``dout[mask] = 0``, ``b.shape = ...``) fails the
  case, and so does returning an input or a view of it.
- **The result itself.** It must be a real floating-point NumPy array
  (not complex, not integer, not a list or a tensor) of the right shape,
  equal to cnnbp's result entry by entry within a relative 1e-5 (room
  for float32 arithmetic). At a max-pool tie any valid routing passes:
  cnnbp's first maximum, an even split, ...
- **Known mistakes.** A wrong result is compared with the classic
  mistakes of that exercise run on the same case (the missing flip, no
  zero insertion, dropped leftover rows, ``p:-p``, no sum over the
  filters or the batch, every tied maximum, ...): "Your dx equals what
  you get without rotating the filter by 180 degrees". Otherwise the
  first failing case shows a small grid of expected and actual values
  with the wrong entries starred.

``cases=`` picks cases by name (:func:`case_names` lists them);
``cases="all"`` adds the extra ones, which pass (h, w) pairs for a
per-axis stride and padding. Output is deterministic: no timings, no
addresses, and every relative error passes through
:func:`cnnbp.gradcheck.format_error`.
"""

import inspect

from . import ladders, runner
from .judges import partials_judge
from .runner import Case, CheckResult, Signature

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


def _check(name, fn, cases):
    return runner.run(name, fn, ladders.LADDERS[name](), cases,
                      ladders.SIGNATURES[name])


def case_names(checker):
    """Names of a checker's cases, in order (extra cases included).

    Parameters
    ----------
    checker : str or callable
        e.g. ``"check_conv2d"`` or ``check_conv2d``.

    Returns
    -------
    list of str
    """
    name = getattr(checker, "__name__", checker)
    if name not in ladders.LADDERS:
        raise ValueError(f"unknown checker {name!r}; known: "
                         f"{sorted(ladders.LADDERS)}")
    return [c.name for c in ladders.LADDERS[name]()]


def check_output_size(fn, cases=None):
    """Check ``fn(n, k, stride=1, padding=0, dilation=1) -> int``.

    ``H_out = floor((n + 2 p - d (k - 1) - 1) / s) + 1``, compared with
    :func:`cnnbp.output_size`; when the dilated kernel d (k - 1) + 1 is
    larger than the padded input n + 2p, ``fn`` must raise ValueError.
    Functions without ``padding`` or ``dilation`` skip the cases that
    need them.

    Parameters
    ----------
    fn : callable
        Your function.
    cases : None, "all", str or list of str
        Case names to run (see :func:`case_names`); None runs the
        standard ladder.

    Returns
    -------
    CheckResult
        Truthy iff every case passed.
    """
    return _check("check_output_size", fn, cases)


def check_conv2d(fn, cases=None):
    """Check ``fn(x, w, b=None, stride=1, padding=0, dilation=1) -> out``.

    x (N, C, H, W), w (K, C, HH, WW), b (K,) or None, out (N, K, H_out,
    W_out); compared with :func:`cnnbp.conv2d`. Parameters and return
    value as in :func:`check_output_size`.
    """
    return _check("check_conv2d", fn, cases)


def check_conv2d_backward(fn, cases=None):
    """Check ``fn(dout, x, w, stride=1, padding=0, dilation=1)``
    ``-> (dx, dw, db)``.

    dout (N, K, H_out, W_out); dx, dw, db of the shapes of x (N, C, H,
    W), w (K, C, HH, WW) and (K,), each compared with
    :func:`cnnbp.conv2d_backward`. Parameters and return value as in
    :func:`check_output_size`.
    """
    return _check("check_conv2d_backward", fn, cases)


def check_filter_gradient(fn, cases=None):
    """Check ``fn(dout, x, w, stride=1, padding=0) -> dw``.

    dw = dL/dF of shape (K, C, HH, WW) for dout (N, K, H_out, W_out) and
    x (N, C, H, W), compared with cnnbp. Parameters and return value as
    in :func:`check_output_size`.
    """
    return _check("check_filter_gradient", fn, cases)


def check_input_gradient(fn, cases=None):
    """Check ``fn(dout, x, w, stride=1, padding=0) -> dx``.

    dx = dL/dX of shape (N, C, H, W) for dout (N, K, H_out, W_out) and
    w (K, C, HH, WW), compared with cnnbp. Parameters and return value
    as in :func:`check_output_size`.
    """
    return _check("check_input_gradient", fn, cases)


def check_bias_gradient(fn, cases=None):
    """Check ``fn(dout) -> db``.

    dout (N, K, H_out, W_out), db = dL/db of shape (K,), compared with
    cnnbp. Parameters and return value as in :func:`check_output_size`.
    """
    return _check("check_bias_gradient", fn, cases)


def check_relu_backward(fn, cases=None):
    """Check ``fn(dout, x) -> dx`` for Y = ReLU(X).

    dx = dout * [x > 0], the shape of x (the derivative at 0 is taken
    as 0, as in cnnbp). Parameters and return value as in
    :func:`check_output_size`.
    """
    return _check("check_relu_backward", fn, cases)


def check_maxpool2d(fn, cases=None):
    """Check ``fn(x, size=2, stride=None) -> out``.

    x (N, C, H, W), out (N, C, H_out, W_out); size and stride are an int
    or an (h, w) pair, stride None means stride = size. Compared with
    :func:`cnnbp.maxpool2d`. Parameters and return value as in
    :func:`check_output_size`.
    """
    return _check("check_maxpool2d", fn, cases)


def check_maxpool2d_backward(fn, cases=None):
    """Check ``fn(dout, x, size=2, stride=None) -> dx``.

    dout (N, C, H_out, W_out), dx (N, C, H, W); overlapping windows add.
    At a tie any valid routing passes: the tied maxima get shares >= 0
    of dout that add up to dout (cnnbp gives all to the first maximum
    in row-major order; an even split is valid too). Compared with
    cnnbp. Parameters and return value as in :func:`check_output_size`.
    """
    return _check("check_maxpool2d_backward", fn, cases)


def check_im2col(fn, cases=None):
    """Check ``fn(x, HH, WW, stride=1, padding=0, dilation=1) -> cols``.

    cols has shape (N*H_out*W_out, C*HH*WW), one row per output position
    in the order (a, i, j), columns in the order (c, m, n), as
    :func:`cnnbp.im2col`. Parameters and return value as in
    :func:`check_output_size`.
    """
    return _check("check_im2col", fn, cases)


def check_col2im(fn, cases=None):
    """Check ``fn(cols, x_shape, HH, WW, stride=1, padding=0,
    dilation=1) -> x``.

    The scatter-add adjoint of im2col: x has shape x_shape (N, C, H, W);
    compared with :func:`cnnbp.col2im`. Parameters and return value as
    in :func:`check_output_size`.
    """
    return _check("check_col2im", fn, cases)


def _format_arg(value):
    if hasattr(value, "shape") and value.shape != ():
        return f"array of shape {value.shape}"
    return f"{float(value):g}"


def check_scalar_gradient(f, grad, points, cases=None, reference=None):
    """Check the partial derivatives of a scalar function.

    At each point, ``grad(*point)`` is compared with centred finite
    differences of ``f`` (of ``reference`` when given).

    Parameters
    ----------
    f : callable
        ``f(*args) -> float``; each arg a number or an ndarray.
    grad : callable
        ``grad(*args) -> tuple`` of partial derivatives, one per arg,
        each of the shape of its arg (with a single arg it may return
        just the derivative).
    points : list of tuples
        The argument tuples to check at (a single tuple is one point).
    cases : None, str or list of str
        Names ``"point 0"``, ``"point 1"``, ... to run; None runs all.
    reference : callable, optional
        What ``f`` should be, when the exercise asks you to write f too
        (a loss): then ``f`` is compared with it at every point, and the
        partials with ITS finite differences, so a wrong f and a
        gradient that matches it cannot pass together.

    Returns
    -------
    CheckResult
        Truthy iff f (when a reference is given) and every partial
        derivative are right at every point.
    """
    if isinstance(points, tuple):
        points = [points]
    try:
        names = list(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        names = []
    f_name = getattr(f, "__name__", "f")
    f_name = "f" if f_name == "<lambda>" else f_name
    width = max((len(p) for p in points), default=0)
    labels = [names[j] if j < len(names) else f"arg{j}"
              for j in range(width)]
    ladder = []
    for k, point in enumerate(points):
        point = tuple(point)
        describe = ", ".join(f"{name}={_format_arg(v)}"
                             for name, v in zip(labels, point))
        judge = partials_judge(f, point, labels[:len(point)], reference,
                               f_name)
        ladder.append(Case(f"point {k}", describe, point, {}, judge))
    return runner.run("check_scalar_gradient", grad, ladder, cases,
                      Signature(tuple(labels), {}))


from .grouped import (  # noqa: E402
    check_grouped_conv2d, check_grouped_conv2d_backward)

__all__ += ["check_grouped_conv2d", "check_grouped_conv2d_backward"]

from .receptive import check_receptive_field  # noqa: E402

__all__ += ["check_receptive_field"]
from .transposed import (  # noqa: E402
    check_conv_transpose2d, check_conv_transpose2d_backward)

__all__ += ["check_conv_transpose2d", "check_conv_transpose2d_backward"]

from .fast_conv import check_winograd_backward  # noqa: E402

__all__ += ["check_winograd_backward"]

from .batchnorm import check_batchnorm2d_backward  # noqa: E402

__all__ += ["check_batchnorm2d_backward"]
from .pooling_family import (  # noqa: E402
    check_avgpool2d_backward, check_global_avgpool2d_backward)

__all__ += ["check_avgpool2d_backward", "check_global_avgpool2d_backward"]

from .dilation import (  # noqa: E402
    check_dilated_filter_gradient, check_dilated_input_gradient)

__all__ += ["check_dilated_filter_gradient", "check_dilated_input_gradient"]

from .modern_training import (  # noqa: E402
    check_fold_batchnorm, check_running_statistics)

__all__ += ["check_fold_batchnorm", "check_running_statistics"]
