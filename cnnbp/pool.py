"""Fast pooling forward and backward.

Same contract as :func:`cnnbp.naive.maxpool2d`,
:func:`cnnbp.naive.maxpool2d_backward`, :func:`cnnbp.naive.avgpool2d`
and the rest of the loop twins.  Windows are those of ``F.max_pool2d``
and ``F.avg_pool2d``: window ``(i, j)`` starts at row ``i*sh - ph`` and
column ``j*sw - pw`` of X.  Output size (see
:func:`cnnbp.shapes.pool2d_output_shape`):
``H_out = floor((H + 2*ph - HH) / sh) + 1`` (ceiling with ``ceil_mode``),
same for W; stride defaults to the window size.

Padding (and the overhang of a ceil-mode window) is filled with -inf for
max pooling, so the windows of the padded X^pad are plain windows.

Max pooling routes each gradient to its window's argmax in one of two
ways, with the same result:

- the *reference route*: the argmax of all windows at once through a
  strided view of X^pad (``np.argmax``), then one ``+=`` per window
  offset (m, n) (:func:`_argmax`, :func:`_scatter`).  Used when a window
  holds NaN, where it follows ``np.argmax`` (the first NaN wins).
- the *fast route*: X^pad is copied with the spatial axes first,
  (H, W, N*C), so that the cells under one window offset are one long
  strided view; a running maximum over the offsets, in row-major order,
  keeps the first maximum (``arg = max(arg, k * [x_k > best])``); the
  gradients are then added to their cells with ``np.add.at``.

Tie rule: the *first* maximum of a window in row-major order gets the
whole gradient; padding never wins (if every cell of X in a window is
-inf, the first of them does, as in PyTorch).  Overlapping windows
(stride < size) accumulate their gradients.

Average pooling is a depthwise convolution with the fixed weight
``1 / D[i,j]``: on small images it is one matrix product with the
pooling matrix (see :mod:`cnnbp.grouped`), else one slice-add per window
offset.
"""

import functools

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .grouped import _tap_matrix
from .shapes import as_float_array, check_flag, check_rank, dout_arg
from .shapes import pool2d_args

__all__ = [
    "maxpool2d",
    "maxpool2d_backward",
    "avgpool2d",
    "avgpool2d_backward",
    "global_avgpool2d",
    "global_avgpool2d_backward",
]


def _windows(x, HH, WW, H_out, W_out, sh, sw):
    """Read-only view of shape (N, C, H_out, W_out, HH, WW)."""
    sN, sC, sH, sW = x.strides
    N, C = x.shape[:2]
    return as_strided(
        x,
        shape=(N, C, H_out, W_out, HH, WW),
        strides=(sN, sC, sH * sh, sW * sw, sH, sW),
        writeable=False,
    )


def _argmax(x, out_shape, hyper):
    """Flat in-window index of the first maximum, (N, C, H_out, W_out)."""
    (HH, WW), (sh, sw) = hyper
    N, C, H_out, W_out = out_shape
    win = _windows(x, HH, WW, H_out, W_out, sh, sw)
    return win.reshape(N, C, H_out, W_out, HH * WW).argmax(axis=-1)


def _padded_shape(x_shape, out_shape, hyper):
    """Shape of X^pad: ``ph`` rows on top, enough below for every window.

    Rows that no window reaches are left out, so the bottom padding can
    be negative (X^pad then ends before X does).
    """
    (HH, WW), (sh, sw), (ph, pw) = hyper
    N, C = x_shape[:2]
    return (N, C, (out_shape[2] - 1) * sh + HH,
            (out_shape[3] - 1) * sw + WW)


def _pad(x, out_shape, hyper, value):
    """X^pad filled with ``value`` outside X; x itself if nothing to pad."""
    _, _, (ph, pw) = hyper
    pad_shape = _padded_shape(x.shape, out_shape, hyper)
    H, W = x.shape[2:]
    if (ph, pw) == (0, 0) and pad_shape[2] <= H and pad_shape[3] <= W:
        return x
    x_pad = np.full(pad_shape, value, x.dtype)
    rows = min(H, pad_shape[2] - ph)
    cols = min(W, pad_shape[3] - pw)
    x_pad[:, :, ph:ph + rows, pw:pw + cols] = x[:, :, :rows, :cols]
    return x_pad


def _crop(dx_pad, x_shape, hyper):
    """dX from dX^pad: drop the padding, zero rows no window reached."""
    _, _, (ph, pw) = hyper
    H, W = x_shape[2:]
    if dx_pad.shape == tuple(x_shape) and (ph, pw) == (0, 0):
        return dx_pad
    dx = np.zeros(x_shape, dx_pad.dtype)
    rows = min(H, dx_pad.shape[2] - ph)
    cols = min(W, dx_pad.shape[3] - pw)
    dx[:, :, :rows, :cols] = dx_pad[:, :, ph:ph + rows, pw:pw + cols]
    return dx


def _first_real_cell(out_shape, hyper):
    """In-window flat index of the first cell of X, (H_out, W_out)."""
    (HH, WW), (sh, sw), (ph, pw) = hyper
    _, _, H_out, W_out = out_shape
    m0 = np.maximum(0, ph - sh * np.arange(H_out))
    n0 = np.maximum(0, pw - sw * np.arange(W_out))
    return m0[:, None] * WW + n0[None, :]


def _reference_route(x, out_shape, hyper):
    """``(out, arg, pad_shape)`` by the reference route; arg as in
    :func:`_argmax`, over the windows of X^pad."""
    (HH, WW), (sh, sw), (ph, pw) = hyper
    N, C, H_out, W_out = out_shape
    x_pad = _pad(x, out_shape, hyper, -np.inf)
    arg = _argmax(x_pad, out_shape, ((HH, WW), (sh, sw)))
    win = _windows(x_pad, HH, WW, H_out, W_out, sh, sw)
    out = np.take_along_axis(win.reshape(N, C, H_out, W_out, HH * WW),
                             arg[..., None], axis=-1)[..., 0]
    empty = out == -np.inf
    if (ph, pw) != (0, 0) and empty.any():
        first = np.broadcast_to(_first_real_cell(out_shape, hyper),
                                arg.shape)
        arg[empty] = first[empty]
    return out, arg, x_pad.shape


#: Images x channels moved at a time by :func:`_spatial_first`: the
#: transposing copy of such a block stays in the cache.
TRANSPOSE_BLOCK = 256


def _spatial_first(x, out_shape, hyper, value):
    """X^pad with the spatial axes first, (Hp, Wp, N*C), ``value``
    outside X; Hp and Wp as in :func:`_padded_shape`."""
    _, _, (ph, pw) = hyper
    N, C, H, W = x.shape
    _, _, Hp, Wp = _padded_shape(x.shape, out_shape, hyper)
    xt = x.reshape(N * C, H, W).transpose(1, 2, 0)
    if (ph, pw) == (0, 0) and Hp <= H and Wp <= W:
        x_pad = np.empty((Hp, Wp, N * C), x.dtype)
    else:
        x_pad = np.full((Hp, Wp, N * C), value, x.dtype)
    rows, cols = min(H, Hp - ph), min(W, Wp - pw)
    inner = x_pad[ph:ph + rows, pw:pw + cols]
    for a in range(0, N * C, TRANSPOSE_BLOCK):
        block = slice(a, a + TRANSPOSE_BLOCK)
        inner[:, :, block] = xt[:rows, :cols, block]
    return x_pad


def _offset(a, m, n, out_hw, hyper):
    """Cells of ``a`` (Hp, Wp, ...) under window offset (m, n): a view of
    shape (H_out, W_out, ...)."""
    _, (sh, sw), _ = hyper
    H_out, W_out = out_hw
    return a[m:m + sh * (H_out - 1) + 1:sh, n:n + sw * (W_out - 1) + 1:sw]


def _channels_first(a, N, C):
    """(H_out, W_out, N*C) -> (N, C, H_out, W_out), contiguous."""
    H_out, W_out = a.shape[:2]
    return np.ascontiguousarray(
        a.reshape(H_out * W_out, N * C).T).reshape(N, C, H_out, W_out)


def _max_route(x, out_shape, hyper, need_out=True):
    """``(out, route)``: the max pool and what its backward needs.

    ``route`` is ``("fast", idx)`` with idx the flat index into X of
    each window's argmax, (H_out, W_out, N*C); or, when a window holds
    NaN, ``("reference", arg, pad_shape)`` from :func:`_reference_route`.
    Without ``need_out``, out is None on the fast route.
    """
    (HH, WW), (sh, sw), (ph, pw) = hyper
    N, C, H, W = x.shape
    out_hw = out_shape[2:]
    x_pad = _spatial_first(x, out_shape, hyper, -np.inf)
    best = _offset(x_pad, 0, 0, out_hw, hyper).copy()
    arg = np.zeros(best.shape, np.uint8 if HH * WW < 256 else np.intp)
    hit = np.empty_like(arg)
    for k in range(1, HH * WW):
        cells = _offset(x_pad, *divmod(k, WW), out_hw, hyper)
        np.multiply(cells > best, arg.dtype.type(k), out=hit)
        np.maximum(best, cells, out=best)
        np.maximum(arg, hit, out=arg)
    if np.isnan(best).any():
        out, arg, pad_shape = _reference_route(x, out_shape, hyper)
        return out, ("reference", arg, pad_shape)
    if (ph, pw) != (0, 0):
        empty = best == -np.inf
        if empty.any():
            first = _first_real_cell(out_shape, hyper)
            arg = np.where(empty, first[:, :, None], arg)
    k = np.arange(HH * WW)
    idx = np.take((k // WW) * W + k % WW, arg)
    idx += _window_origin(x.shape, out_shape, hyper)
    out = _channels_first(best, N, C) if need_out else None
    return out, ("fast", idx)


@functools.lru_cache(maxsize=8)
def _window_origin(x_shape, out_shape, hyper):
    """Flat index into X of the top-left cell of every window (it may lie
    in the padding), (H_out, W_out, N*C), read-only."""
    _, (sh, sw), (ph, pw) = hyper
    N, C, H, W = x_shape
    _, _, H_out, W_out = out_shape
    origin = ((sh * np.arange(H_out) - ph)[:, None, None] * W
              + (sw * np.arange(W_out) - pw)[None, :, None]
              + H * W * np.arange(N * C))
    origin.flags.writeable = False
    return origin


def _scatter(dout, arg, x_shape, hyper):
    (HH, WW), (sh, sw) = hyper
    _, _, H_out, W_out = dout.shape
    dx = np.zeros(x_shape, dout.dtype)
    for m in range(HH):
        for n in range(WW):
            hit = arg == m * WW + n
            dx[:, :, m:m + sh * (H_out - 1) + 1:sh,
               n:n + sw * (W_out - 1) + 1:sw] += np.where(hit, dout, 0)
    return dx


def _max_backward(dout, route, x_shape, hyper):
    """dX (N, C, H, W) from dout and the forward's ``route``."""
    if route[0] == "reference":
        _, arg, pad_shape = route
        k, s, _ = hyper
        return _crop(_scatter(dout, arg, pad_shape, (k, s)), x_shape, hyper)
    N, C = x_shape[:2]
    dx = np.zeros(int(np.prod(x_shape)), dout.dtype)
    np.add.at(dx, route[1].reshape(-1), dout.reshape(N * C, -1).T.ravel())
    return dx.reshape(x_shape)


def maxpool2d(x, size=2, stride=None, padding=0, ceil_mode=False):
    """Max-pool forward pass, fast (``F.max_pool2d``).

    ``O[a,c,i,j] = max_{m,n} X[a, c, i*sh - ph + m, j*sw - pw + n]``
    over the cells of the window that lie in X.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    size : int or (HH, WW) pair
        Window size.
    stride : int or (sh, sw) pair, optional
        Defaults to ``size`` (non-overlapping windows).
    padding : int or (ph, pw) pair
        Implicit -inf padding on both sides, at most half the window.
    ceil_mode : bool
        Round the output size up: a last, partial window covers the
        leftover rows and columns.

    Returns
    -------
    out : ndarray of shape (N, C, H_out, W_out)
        ``H_out = floor((H + 2*ph - HH) / sh) + 1`` (see
        :func:`cnnbp.shapes.pool2d_output_shape` for ``ceil_mode``).
    """
    x, out_shape, hyper = pool2d_args(x, size, stride, padding, ceil_mode)
    (HH, WW), _, _ = hyper
    x_pad = _spatial_first(x, out_shape, hyper, -np.inf)
    out = _offset(x_pad, 0, 0, out_shape[2:], hyper).copy()
    for k in range(1, HH * WW):
        np.maximum(out, _offset(x_pad, *divmod(k, WW), out_shape[2:],
                                hyper), out=out)
    return _channels_first(out, *x.shape[:2])


def maxpool2d_backward(dout, x, size=2, stride=None, padding=0,
                       ceil_mode=False):
    """Max-pool backward pass, fast: route each gradient to its argmax.

    Tie rule and overlap: see the module docstring.

    Parameters
    ----------
    dout : ndarray of shape (N, C, H_out, W_out)
        Upstream gradient dL/dO.
    x : ndarray of shape (N, C, H, W)
        The forward input.
    size, stride, padding, ceil_mode : see :func:`maxpool2d`

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    """
    x, out_shape, hyper = pool2d_args(x, size, stride, padding, ceil_mode)
    dout = dout_arg(dout, out_shape, "maxpool2d(x)")
    dout = dout.astype(np.result_type(x, dout), copy=False)
    _, route = _max_route(x, out_shape, hyper, need_out=False)
    return _max_backward(dout, route, x.shape, hyper)


def _divisor(x_shape, out_shape, hyper, count_include_pad):
    """Divisor of every window of an average pool, shape (H_out, W_out).

    With ``count_include_pad`` it counts the window's cells inside the
    padded input (X plus ``p`` on each side; a ceil-mode overhang beyond
    that is not counted), else only its cells inside X.
    """
    (HH, WW), (sh, sw), (ph, pw) = hyper
    counts = []
    for n, k, s, p, n_out in ((x_shape[2], HH, sh, ph, out_shape[2]),
                              (x_shape[3], WW, sw, pw, out_shape[3])):
        start = s * np.arange(n_out) - p
        end = np.minimum(start + k, n + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        counts.append(end - start)
    return np.outer(counts[0], counts[1])


#: Average pooling is one matrix product when the pooling matrix has at
#: most this many entries and ``H*W <= POOL_MATRIX_RATIO * HH*WW``.
POOL_MATRIX_ENTRIES = 2 ** 16
POOL_MATRIX_RATIO = 16


@functools.lru_cache(maxsize=32)
def _pool_matrix(in_hw, out_hw, hyper, count_include_pad, dtype):
    """P of shape (H*W, H_out*W_out), read-only: ``P[(u, v), (i, j)] =
    1 / D[i,j]`` if cell (u, v) of X is in window (i, j), else 0."""
    (HH, WW), (sh, sw), (ph, pw) = hyper
    T = _tap_matrix(in_hw, out_hw, (HH, WW), ((sh, sw), (ph, pw), (1, 1)),
                    dtype)
    div = _divisor((1, 1) + in_hw, (1, 1) + out_hw, hyper,
                   count_include_pad)
    P = T.reshape(in_hw[0] * in_hw[1], -1, HH * WW).sum(axis=2)
    P /= div.reshape(1, -1)
    P.flags.writeable = False
    return P


def _use_pool_matrix(x_shape, out_shape, hyper):
    (HH, WW), _, _ = hyper
    HW = x_shape[2] * x_shape[3]
    return (HW * out_shape[2] * out_shape[3] <= POOL_MATRIX_ENTRIES
            and HW <= POOL_MATRIX_RATIO * HH * WW)


def _avg_args(x, size, stride, padding, ceil_mode, count_include_pad):
    x, out_shape, hyper = pool2d_args(x, size, stride, padding, ceil_mode)
    count_include_pad = check_flag(count_include_pad, "count_include_pad")
    return x, out_shape, hyper, count_include_pad


def _avg_forward(x, out_shape, hyper, count_include_pad):
    """Average pool of checked arguments, (N, C, H_out, W_out)."""
    N, C, H, W = x.shape
    if _use_pool_matrix(x.shape, out_shape, hyper):
        P = _pool_matrix((H, W), tuple(out_shape[2:]), hyper,
                         count_include_pad, x.dtype.str)
        return (x.reshape(N * C, H * W) @ P).reshape(out_shape)
    (HH, WW), (sh, sw), _ = hyper
    _, _, H_out, W_out = out_shape
    x_pad = _pad(x, out_shape, hyper, 0)
    out = np.zeros(out_shape, x.dtype)
    for m in range(HH):
        for n in range(WW):
            out += x_pad[:, :, m:m + sh * (H_out - 1) + 1:sh,
                         n:n + sw * (W_out - 1) + 1:sw]
    out /= _divisor(x.shape, out_shape, hyper, count_include_pad)
    return out


def _avg_backward(dout, x_shape, out_shape, hyper, count_include_pad):
    """dX (N, C, H, W) of an average pool of checked arguments."""
    N, C, H, W = x_shape
    if _use_pool_matrix(x_shape, out_shape, hyper):
        P = _pool_matrix((H, W), tuple(out_shape[2:]), hyper,
                         count_include_pad, dout.dtype.str)
        return (dout.reshape(N * C, -1) @ P.T).reshape(x_shape)
    (HH, WW), (sh, sw), _ = hyper
    _, _, H_out, W_out = out_shape
    g = dout / _divisor(x_shape, out_shape, hyper, count_include_pad)
    dx_pad = np.zeros(_padded_shape(x_shape, out_shape, hyper), g.dtype)
    for m in range(HH):
        for n in range(WW):
            dx_pad[:, :, m:m + sh * (H_out - 1) + 1:sh,
                   n:n + sw * (W_out - 1) + 1:sw] += g
    return _crop(dx_pad, x_shape, hyper)


def avgpool2d(x, size=2, stride=None, padding=0, ceil_mode=False,
              count_include_pad=True):
    """Average-pool forward pass, fast (``F.avg_pool2d``).

    ``O[a,c,i,j] = (1 / D[i,j]) sum_{m,n} X[a, c, i*sh - ph + m,
    j*sw - pw + n]`` over the cells of the window that lie in X, with the
    divisor ``D[i,j]`` the number of window cells inside the padded input
    (``count_include_pad=True``) or inside X (``False``).

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    size : int or (HH, WW) pair
        Window size.
    stride : int or (sh, sw) pair, optional
        Defaults to ``size``.
    padding : int or (ph, pw) pair
        Implicit zero padding, at most half the window.
    ceil_mode : bool
        Round the output size up.
    count_include_pad : bool
        Count padding cells in the divisor.

    Returns
    -------
    out : ndarray of shape (N, C, H_out, W_out)
        H_out as in :func:`maxpool2d`.
    """
    x, out_shape, hyper, include = _avg_args(x, size, stride, padding,
                                             ceil_mode, count_include_pad)
    return _avg_forward(x, out_shape, hyper, include)


def avgpool2d_backward(dout, x, size=2, stride=None, padding=0,
                       ceil_mode=False, count_include_pad=True):
    """Average-pool backward pass, fast: spread each gradient evenly.

    Every cell of X in window (i, j) receives ``dout[a,c,i,j] / D[i,j]``;
    cells in several windows receive the sum.

    Parameters
    ----------
    dout : ndarray of shape (N, C, H_out, W_out)
        Upstream gradient dL/dO.
    x : ndarray of shape (N, C, H, W)
        The forward input (only its shape is used).
    size, stride, padding, ceil_mode, count_include_pad :
        see :func:`avgpool2d`

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    """
    x, out_shape, hyper, include = _avg_args(x, size, stride, padding,
                                             ceil_mode, count_include_pad)
    dout = dout_arg(dout, out_shape, "avgpool2d(x)")
    dout = dout.astype(np.result_type(x, dout), copy=False)
    return _avg_backward(dout, x.shape, out_shape, hyper, include)


def _global_args(x):
    x = as_float_array(x, "x")
    check_rank(x, 4, "x", "(N, C, H, W)")
    if min(x.shape) < 1:
        raise ValueError(f"empty dimension in x of shape {x.shape}")
    return x


def global_avgpool2d(x):
    """Global average pooling (``F.adaptive_avg_pool2d(x, 1)``), fast.

    ``O[a,c,0,0] = (1 / (H W)) sum_{u,v} X[a,c,u,v]``

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)

    Returns
    -------
    out : ndarray of shape (N, C, 1, 1)
    """
    x = _global_args(x)
    return x.mean(axis=(2, 3), keepdims=True)


def global_avgpool2d_backward(dout, x):
    """Backward pass of :func:`global_avgpool2d`, fast.

    ``dX[a,c,u,v] = dout[a,c,0,0] / (H W)`` for every (u, v).

    Parameters
    ----------
    dout : ndarray of shape (N, C, 1, 1)
        Upstream gradient dL/dO.
    x : ndarray of shape (N, C, H, W)
        The forward input (only its shape is used).

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    """
    x = _global_args(x)
    N, C, H, W = x.shape
    dout = dout_arg(dout, (N, C, 1, 1), "global_avgpool2d(x)")
    dx = np.empty(x.shape, np.result_type(x, dout))
    dx[...] = dout / (H * W)
    return dx
