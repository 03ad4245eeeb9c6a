"""Output sizes and argument checks shared by every cnnbp operation.

The output-size formula, stated once for the whole package: for an input
of height ``H``, kernel height ``HH``, stride ``s``, padding ``p`` and
dilation ``d``,

    H_out = floor((H + 2p - d(HH - 1) - 1) / s) + 1

and the same for the width.  ``d(HH - 1) + 1`` is the *effective* kernel
height: a dilated kernel leaves ``d - 1`` empty rows between its taps.

Every check raises :class:`ValueError` with a message that names the
offending shapes or values.
"""

import numbers

import numpy as np

__all__ = [
    "output_size",
    "pair",
    "as_float_array",
    "check_rank",
    "conv_output_shape",
    "pool_output_shape",
    "check_dout",
    "conv_args",
    "pool_args",
    "dout_arg",
    "check_flag",
    "grouped_conv_output_shape",
    "grouped_conv_args",
    "conv_transpose_output_shape",
    "conv_transpose_args",
    "pool2d_output_shape",
    "pool2d_args",
    "batchnorm_args",
]


def _strict_int(value, name):
    """Return ``value`` as a Python int, rejecting bools and floats."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, numbers.Integral
    ):
        raise ValueError(
            f"{name} must be an integer, got {value!r} "
            f"({type(value).__name__})"
        )
    return int(value)


def pair(value, name):
    """Normalise an int or an ``(h, w)`` pair to a tuple of two ints.

    Parameters
    ----------
    value : int or sequence of two ints
        A size, stride, padding or dilation.
    name : str
        The argument's name, used in error messages.

    Returns
    -------
    tuple of (int, int)
        ``(value, value)`` for an int, else ``(value[0], value[1])``.

    Raises
    ------
    ValueError
        If ``value`` is not an int or a pair of ints (bools and floats
        such as 1.5 are refused).
    """
    if isinstance(value, (tuple, list, np.ndarray)):
        if len(value) != 2:
            raise ValueError(
                f"{name} must be an int or an (h, w) pair, got {value!r} "
                f"of length {len(value)}"
            )
        return (
            _strict_int(value[0], f"{name}[0]"),
            _strict_int(value[1], f"{name}[1]"),
        )
    v = _strict_int(value, name)
    return v, v


def as_float_array(x, name):
    """Return ``x`` as a floating-point ndarray (integers become float64).

    Parameters
    ----------
    x : array_like
        Any real numeric array; float32 stays float32.
    name : str
        The argument's name, used in error messages.

    Returns
    -------
    ndarray
        ``x`` itself if it already has a floating dtype, else a float64
        copy.
    """
    arr = np.asarray(x)
    if arr.dtype.kind == "f":
        return arr
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    raise ValueError(
        f"{name} must be a real numeric array, got dtype {arr.dtype}"
    )


def check_rank(x, ndim, name, layout):
    """Raise unless ``x.ndim == ndim``.

    Parameters
    ----------
    x : ndarray
        The array to check.
    ndim : int
        The required number of dimensions.
    name : str
        The argument's name, used in the message.
    layout : str
        The expected layout, e.g. ``"(N, C, H, W)"``, used in the message.
    """
    if x.ndim != ndim:
        raise ValueError(
            f"{name} must be {ndim}-D with shape {layout}, got shape "
            f"{x.shape} ({x.ndim}-D)"
        )


def _check_hyper(stride, padding, dilation):
    sh, sw = pair(stride, "stride")
    ph, pw = pair(padding, "padding")
    dh, dw = pair(dilation, "dilation")
    if sh < 1 or sw < 1:
        raise ValueError(f"stride must be >= 1, got {(sh, sw)}")
    if ph < 0 or pw < 0:
        raise ValueError(f"padding must be >= 0, got {(ph, pw)}")
    if dh < 1 or dw < 1:
        raise ValueError(f"dilation must be >= 1, got {(dh, dw)}")
    return (sh, sw), (ph, pw), (dh, dw)


def output_size(n, k, stride=1, padding=0, dilation=1):
    """Output length of a convolution or pooling along one axis.

    ``floor((n + 2 * padding - dilation * (k - 1) - 1) / stride) + 1``

    Parameters
    ----------
    n : int
        Input length (H or W), >= 1.
    k : int
        Kernel length (HH or WW), >= 1.
    stride, padding, dilation : int
        Stride >= 1, padding >= 0, dilation >= 1.

    Returns
    -------
    int
        H_out (or W_out), >= 1.

    Raises
    ------
    ValueError
        If an argument is not an int, is out of range, or the dilated
        kernel ``dilation * (k - 1) + 1`` is larger than the padded input
        ``n + 2 * padding``.

    Examples
    --------
    >>> output_size(28, 3, stride=2, padding=1)
    14
    """
    n = _strict_int(n, "n")
    k = _strict_int(k, "k")
    (s, _), (p, _), (d, _) = _check_hyper(stride, padding, dilation)
    if n < 1:
        raise ValueError(f"input size n must be >= 1, got {n}")
    if k < 1:
        raise ValueError(f"kernel size k must be >= 1, got {k}")
    eff = d * (k - 1) + 1
    if eff > n + 2 * p:
        raise ValueError(
            f"kernel of size {k} (dilated to {eff}) is larger than the "
            f"padded input of size {n} + 2*{p} = {n + 2 * p}"
        )
    return (n + 2 * p - eff) // s + 1


def conv_output_shape(x_shape, w_shape, stride=1, padding=0, dilation=1):
    """Validate a convolution's arguments and return its output shape.

    Parameters
    ----------
    x_shape : tuple of 4 ints
        Input shape (N, C, H, W).
    w_shape : tuple of 4 ints
        Filter shape (K, C, HH, WW).
    stride, padding, dilation : int or (h, w) pair

    Returns
    -------
    out_shape : tuple of 4 ints
        (N, K, H_out, W_out).
    hyper : tuple
        ``((sh, sw), (ph, pw), (dh, dw))`` as ints.

    Raises
    ------
    ValueError
        Channel mismatch, empty dimensions, bad hyper-parameters, or a
        (dilated) kernel larger than the padded input.
    """
    (sh, sw), (ph, pw), (dh, dw) = _check_hyper(stride, padding, dilation)
    N, C, H, W = x_shape
    K, Cw, HH, WW = w_shape
    if C != Cw:
        raise ValueError(
            f"channel mismatch: x has shape {tuple(x_shape)} with C={C} "
            f"but w has shape {tuple(w_shape)} with C={Cw}"
        )
    if min(x_shape) < 1 or min(w_shape) < 1:
        raise ValueError(
            f"empty dimension in x of shape {tuple(x_shape)} or w of "
            f"shape {tuple(w_shape)}"
        )
    eh, ew = dh * (HH - 1) + 1, dw * (WW - 1) + 1
    if eh > H + 2 * ph or ew > W + 2 * pw:
        raise ValueError(
            f"kernel {(HH, WW)} (dilated to {(eh, ew)}) is larger than "
            f"the padded input {(H + 2 * ph, W + 2 * pw)}: x has shape "
            f"{tuple(x_shape)}, padding {(ph, pw)}, dilation {(dh, dw)}"
        )
    H_out = (H + 2 * ph - eh) // sh + 1
    W_out = (W + 2 * pw - ew) // sw + 1
    return (N, K, H_out, W_out), ((sh, sw), (ph, pw), (dh, dw))


def pool_output_shape(x_shape, size=2, stride=None):
    """Validate a max-pool's arguments and return its output shape.

    The unpadded case of :func:`pool2d_output_shape`.

    Parameters
    ----------
    x_shape : tuple of 4 ints
        Input shape (N, C, H, W).
    size : int or (h, w) pair
        Window size (HH, WW).
    stride : int or (h, w) pair or None
        None means ``stride = size`` (non-overlapping windows).

    Returns
    -------
    out_shape : tuple of 4 ints
        (N, C, H_out, W_out).
    hyper : tuple
        ``((HH, WW), (sh, sw))`` as ints.
    """
    out_shape, (k, s, _) = pool2d_output_shape(x_shape, size, stride)
    return out_shape, (k, s)


def check_flag(value, name):
    """Return ``value`` as a bool, refusing anything that is not a bool.

    Parameters
    ----------
    value : bool
    name : str
        The argument's name, used in the message.

    Returns
    -------
    bool
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(
            f"{name} must be True or False, got {value!r} "
            f"({type(value).__name__})"
        )
    return bool(value)


def _pool_length(n, k, s, p, ceil_mode):
    """Output length of a pool along one axis, as PyTorch computes it.

    ``floor((n + 2p - k) / s) + 1``, or with ``ceil_mode`` the ceiling,
    minus one if the last window would start in the right padding.
    """
    out = (n + 2 * p - k + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def pool2d_output_shape(x_shape, size=2, stride=None, padding=0,
                        ceil_mode=False):
    """Validate a pool's arguments and return its output shape.

    The windows are those of ``F.max_pool2d`` / ``F.avg_pool2d``: window
    ``(i, j)`` covers rows ``i*sh - ph, ..., i*sh - ph + HH - 1`` of X
    (same for columns), and cells outside X are padding.  Output size::

        H_out = floor((H + 2*ph - HH) / sh) + 1

    or, with ``ceil_mode``, the ceiling instead of the floor, minus one
    when the last window would start in the bottom padding
    (``(H_out - 1) * sh >= H + ph``); same for W.  So every window holds
    at least one cell of X.

    Parameters
    ----------
    x_shape : tuple of 4 ints
        Input shape (N, C, H, W).
    size : int or (h, w) pair
        Window size (HH, WW).
    stride : int or (h, w) pair or None
        None means ``stride = size``.
    padding : int or (h, w) pair
        Implicit padding on both sides, at most half the window:
        ``ph <= HH // 2`` and ``pw <= WW // 2``.
    ceil_mode : bool
        Round the output size up instead of down.

    Returns
    -------
    out_shape : tuple of 4 ints
        (N, C, H_out, W_out).
    hyper : tuple
        ``((HH, WW), (sh, sw), (ph, pw))`` as ints.

    Raises
    ------
    ValueError
        Bad hyper-parameters, padding above half the window, empty
        dimensions, or no window fits (output size below 1).
    """
    HH, WW = pair(size, "size")
    if HH < 1 or WW < 1:
        raise ValueError(f"pool size must be >= 1, got {(HH, WW)}")
    sh, sw = (HH, WW) if stride is None else pair(stride, "stride")
    if sh < 1 or sw < 1:
        raise ValueError(f"stride must be >= 1, got {(sh, sw)}")
    ph, pw = pair(padding, "padding")
    if ph < 0 or pw < 0:
        raise ValueError(f"padding must be >= 0, got {(ph, pw)}")
    if ph > HH // 2 or pw > WW // 2:
        raise ValueError(
            f"pool padding {(ph, pw)} is more than half the window "
            f"{(HH, WW)}: it must be at most {(HH // 2, WW // 2)}"
        )
    ceil_mode = check_flag(ceil_mode, "ceil_mode")
    N, C, H, W = x_shape
    if min(x_shape) < 1:
        raise ValueError(f"empty dimension in x of shape {tuple(x_shape)}")
    H_out = _pool_length(H, HH, sh, ph, ceil_mode)
    W_out = _pool_length(W, WW, sw, pw, ceil_mode)
    if H_out < 1 or W_out < 1:
        how = ""
        if (ph, pw) != (0, 0) or ceil_mode:
            how = (f" padded by {(ph, pw)}, ceil_mode={ceil_mode}: output "
                   f"size {(H_out, W_out)}")
        raise ValueError(
            f"pool window {(HH, WW)} is larger than the input {(H, W)} of "
            f"x with shape {tuple(x_shape)}{how}"
        )
    return (N, C, H_out, W_out), ((HH, WW), (sh, sw), (ph, pw))


def _check_groups(groups):
    groups = _strict_int(groups, "groups")
    if groups < 1:
        raise ValueError(f"groups must be >= 1, got {groups}")
    return groups


def grouped_conv_output_shape(x_shape, w_shape, stride=1, padding=0,
                              dilation=1, groups=1):
    """Validate a grouped convolution's arguments; return its output shape.

    The C input channels and the K filters are split into ``groups``
    consecutive blocks; filter f sees only the ``C / groups`` channels
    of its block, so w has shape (K, C / groups, HH, WW) (the layout of
    ``F.conv2d``).  ``groups = C`` is a depthwise convolution.

    Parameters
    ----------
    x_shape : tuple of 4 ints
        Input shape (N, C, H, W).
    w_shape : tuple of 4 ints
        Filter shape (K, C / groups, HH, WW).
    stride, padding, dilation : int or (h, w) pair
    groups : int
        >= 1, dividing both C and K.

    Returns
    -------
    out_shape : tuple of 4 ints
        (N, K, H_out, W_out), H_out as in :func:`output_size`.
    hyper : tuple
        ``((sh, sw), (ph, pw), (dh, dw))`` as ints.
    """
    groups = _check_groups(groups)
    C, K = x_shape[1], w_shape[0]
    if C % groups or K % groups:
        raise ValueError(
            f"groups={groups} must divide the input channels C and the "
            f"number of filters K: x has shape {tuple(x_shape)} (C={C}), "
            f"w has shape {tuple(w_shape)} (K={K})"
        )
    if w_shape[1] != C // groups:
        raise ValueError(
            f"channel mismatch: w must have shape (K, C/groups, HH, WW) "
            f"with C/groups = {C}/{groups} = {C // groups} for x of shape "
            f"{tuple(x_shape)}, got w of shape {tuple(w_shape)}"
        )
    full = (K, C) + tuple(w_shape[2:])
    return conv_output_shape(x_shape, full, stride, padding, dilation)


def _float_pair(x, w, b):
    """x, w (and b) as floating arrays of one common dtype."""
    x = as_float_array(x, "x")
    w = as_float_array(w, "w")
    dtype = np.result_type(x, w)
    x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
    if b is not None:
        b = as_float_array(b, "b").astype(dtype, copy=False)
    return x, w, b


def _check_bias(b, K, w_shape, layout):
    if b is not None and b.shape != (K,):
        raise ValueError(
            f"b must have shape (K,) = {(K,)} for w of shape {w_shape} "
            f"{layout}, got shape {b.shape}"
        )


def grouped_conv_args(x, w, b=None, stride=1, padding=0, dilation=1,
                      groups=1):
    """Check and convert the arguments of a grouped convolution.

    Parameters
    ----------
    x : array_like of shape (N, C, H, W)
    w : array_like of shape (K, C / groups, HH, WW)
    b : array_like of shape (K,) or None
    stride, padding, dilation : int or (h, w) pair
    groups : int

    Returns
    -------
    x, w : ndarray
        Floating-point arrays of one common dtype.
    b : ndarray of shape (K,) or None
    out_shape : tuple of 4 ints
        (N, K, H_out, W_out).
    hyper : tuple
        ``((sh, sw), (ph, pw), (dh, dw))``.
    groups : int
    """
    x, w, b = _float_pair(x, w, b)
    check_rank(x, 4, "x", "(N, C, H, W)")
    check_rank(w, 4, "w", "(K, C/groups, HH, WW)")
    out_shape, hyper = grouped_conv_output_shape(
        x.shape, w.shape, stride, padding, dilation, groups)
    _check_bias(b, w.shape[0], w.shape, "(K, C/groups, HH, WW)")
    return x, w, b, out_shape, hyper, int(groups)


def conv_transpose_output_shape(x_shape, w_shape, stride=1, padding=0,
                                output_padding=0, dilation=1, groups=1):
    """Validate a transposed convolution's arguments; return its shape.

    The layout of ``F.conv_transpose2d``: x is (N, C, H, W) and w is
    (C, K / groups, HH, WW), so the output has K channels.  Output size::

        H_out = (H - 1)*s - 2p + d(HH - 1) + output_padding + 1

    the inverse of :func:`output_size`: a convolution with the same
    stride, padding and dilation maps H_out back to H, and
    ``output_padding`` (at most ``s - 1``) selects which of the ``s``
    input sizes that a stride-s convolution sends to H is meant.
    PyTorch accepts ``output_padding < max(s, d)`` per axis.

    Parameters
    ----------
    x_shape : tuple of 4 ints
        (N, C, H, W).
    w_shape : tuple of 4 ints
        (C, K / groups, HH, WW).
    stride, padding, output_padding, dilation : int or (h, w) pair
    groups : int
        >= 1, dividing C.

    Returns
    -------
    out_shape : tuple of 4 ints
        (N, K, H_out, W_out).
    hyper : tuple
        ``((sh, sw), (ph, pw), (dh, dw), (oh, ow))`` as ints.
    """
    (sh, sw), (ph, pw), (dh, dw) = _check_hyper(stride, padding, dilation)
    oh, ow = pair(output_padding, "output_padding")
    groups = _check_groups(groups)
    N, C, H, W = x_shape
    Cw, Kg, HH, WW = w_shape
    if min(x_shape) < 1 or min(w_shape) < 1:
        raise ValueError(
            f"empty dimension in x of shape {tuple(x_shape)} or w of "
            f"shape {tuple(w_shape)}"
        )
    if C % groups:
        raise ValueError(
            f"groups={groups} must divide the input channels C: x has "
            f"shape {tuple(x_shape)} (C={C})"
        )
    if Cw != C:
        raise ValueError(
            f"channel mismatch: w must have shape (C, K/groups, HH, WW) "
            f"with C={C} for x of shape {tuple(x_shape)}, got w of shape "
            f"{tuple(w_shape)}"
        )
    if (oh < 0 or ow < 0 or not (oh < sh or oh < dh)
            or not (ow < sw or ow < dw)):
        raise ValueError(
            f"output_padding must be >= 0 and smaller than either stride "
            f"or dilation, got output_padding {(oh, ow)}, stride "
            f"{(sh, sw)}, dilation {(dh, dw)}"
        )
    H_out = (H - 1) * sh - 2 * ph + dh * (HH - 1) + oh + 1
    W_out = (W - 1) * sw - 2 * pw + dw * (WW - 1) + ow + 1
    if H_out < 1 or W_out < 1:
        raise ValueError(
            f"output size {(H_out, W_out)} is too small: x has shape "
            f"{tuple(x_shape)}, w has shape {tuple(w_shape)}, padding "
            f"{(ph, pw)} crops more than the output has"
        )
    out_shape = (N, Kg * groups, H_out, W_out)
    return out_shape, ((sh, sw), (ph, pw), (dh, dw), (oh, ow))


def conv_transpose_args(x, w, b=None, stride=1, padding=0,
                        output_padding=0, dilation=1, groups=1):
    """Check and convert the arguments of a transposed convolution.

    Parameters
    ----------
    x : array_like of shape (N, C, H, W)
    w : array_like of shape (C, K / groups, HH, WW)
    b : array_like of shape (K,) or None
    stride, padding, output_padding, dilation : int or (h, w) pair
    groups : int

    Returns
    -------
    x, w : ndarray
        Floating-point arrays of one common dtype.
    b : ndarray of shape (K,) or None
    out_shape : tuple of 4 ints
        (N, K, H_out, W_out).
    hyper : tuple
        ``((sh, sw), (ph, pw), (dh, dw), (oh, ow))``.
    groups : int
    """
    x, w, b = _float_pair(x, w, b)
    check_rank(x, 4, "x", "(N, C, H, W)")
    check_rank(w, 4, "w", "(C, K/groups, HH, WW)")
    out_shape, hyper = conv_transpose_output_shape(
        x.shape, w.shape, stride, padding, output_padding, dilation,
        groups)
    _check_bias(b, out_shape[1], w.shape, "(C, K/groups, HH, WW)")
    return x, w, b, out_shape, hyper, int(groups)


def check_dout(dout, expected_shape, what):
    """Raise unless the upstream gradient has the forward output's shape.

    Parameters
    ----------
    dout : ndarray
        Upstream gradient dL/dO.
    expected_shape : tuple of ints
        Shape of the forward output O.
    what : str
        Short description of the forward call, used in the message.
    """
    if tuple(dout.shape) != tuple(expected_shape):
        raise ValueError(
            f"dout has shape {tuple(dout.shape)} but the output of "
            f"{what} has shape {tuple(expected_shape)}"
        )


def conv_args(x, w, b=None, stride=1, padding=0, dilation=1):
    """Check and convert the arguments of a convolution.

    Parameters
    ----------
    x : array_like of shape (N, C, H, W)
    w : array_like of shape (K, C, HH, WW)
    b : array_like of shape (K,) or None
    stride, padding, dilation : int or (h, w) pair

    Returns
    -------
    x, w : ndarray
        Floating-point arrays of one common dtype.
    b : ndarray of shape (K,) or None
    out_shape : tuple of 4 ints
        (N, K, H_out, W_out).
    hyper : tuple
        ``((sh, sw), (ph, pw), (dh, dw))``.
    """
    x = as_float_array(x, "x")
    w = as_float_array(w, "w")
    check_rank(x, 4, "x", "(N, C, H, W)")
    check_rank(w, 4, "w", "(K, C, HH, WW)")
    dtype = np.result_type(x, w)
    x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
    out_shape, hyper = conv_output_shape(
        x.shape, w.shape, stride, padding, dilation
    )
    if b is not None:
        b = as_float_array(b, "b").astype(dtype, copy=False)
        if b.shape != (w.shape[0],):
            raise ValueError(
                f"b must have shape (K,) = {(w.shape[0],)} for w of shape "
                f"{w.shape}, got shape {b.shape}"
            )
    return x, w, b, out_shape, hyper


def pool_args(x, size=2, stride=None):
    """Check and convert the arguments of a max-pool.

    Parameters
    ----------
    x : array_like of shape (N, C, H, W)
    size : int or (h, w) pair
    stride : int or (h, w) pair or None

    Returns
    -------
    x : ndarray of shape (N, C, H, W), floating point
    out_shape : tuple of 4 ints
        (N, C, H_out, W_out).
    hyper : tuple
        ``((HH, WW), (sh, sw))``.
    """
    x = as_float_array(x, "x")
    check_rank(x, 4, "x", "(N, C, H, W)")
    out_shape, hyper = pool_output_shape(x.shape, size, stride)
    return x, out_shape, hyper


def dout_arg(dout, expected_shape, what):
    """Convert ``dout`` to floating point and check its shape.

    Parameters
    ----------
    dout : array_like
        Upstream gradient dL/dO.
    expected_shape : tuple of ints
        Shape of the forward output O.
    what : str
        Short description of the forward call, used in the message.

    Returns
    -------
    ndarray of shape ``expected_shape``
    """
    dout = as_float_array(dout, "dout")
    check_dout(dout, expected_shape, what)
    return dout


def pool2d_args(x, size=2, stride=None, padding=0, ceil_mode=False):
    """Check and convert the arguments of a (max or average) pool.

    Parameters
    ----------
    x : array_like of shape (N, C, H, W)
    size, stride, padding, ceil_mode : see :func:`pool2d_output_shape`

    Returns
    -------
    x : ndarray of shape (N, C, H, W), floating point
    out_shape : tuple of 4 ints
        (N, C, H_out, W_out).
    hyper : tuple
        ``((HH, WW), (sh, sw), (ph, pw))``.
    """
    x = as_float_array(x, "x")
    check_rank(x, 4, "x", "(N, C, H, W)")
    out_shape, hyper = pool2d_output_shape(x.shape, size, stride, padding,
                                           ceil_mode)
    return x, out_shape, hyper


def batchnorm_args(x, gamma, beta=None, eps=1e-5):
    """Check and convert the arguments of a spatial batch norm.

    Parameters
    ----------
    x : array_like of shape (N, C, H, W)
    gamma : array_like of shape (C,)
    beta : array_like of shape (C,) or None
    eps : float
        > 0.

    Returns
    -------
    x, gamma : ndarray
        Floating-point arrays of one common dtype.
    beta : ndarray of shape (C,) or None
    """
    x = as_float_array(x, "x")
    gamma = as_float_array(gamma, "gamma")
    check_rank(x, 4, "x", "(N, C, H, W)")
    dtype = np.result_type(x, gamma)
    x, gamma = x.astype(dtype, copy=False), gamma.astype(dtype, copy=False)
    N, C, H, W = x.shape
    if min(x.shape) < 1:
        raise ValueError(f"empty dimension in x of shape {x.shape}")
    if N * H * W < 2:
        raise ValueError(
            f"batch norm needs more than 1 value per channel to compute "
            f"batch statistics: x has shape {x.shape}, N*H*W = {N * H * W}"
        )
    arrays = [("gamma", gamma)]
    if beta is not None:
        beta = as_float_array(beta, "beta").astype(dtype, copy=False)
        arrays.append(("beta", beta))
    for name, arr in arrays:
        if arr.shape != (C,):
            raise ValueError(
                f"{name} must have shape (C,) = {(C,)} for x of shape "
                f"{x.shape}, got shape {arr.shape}"
            )
    if isinstance(eps, (bool, np.bool_)) or not isinstance(
            eps, numbers.Real) or not eps > 0:
        raise ValueError(f"eps must be a number > 0, got {eps!r}")
    return x, gamma, beta
