"""Fast convolution: one entry point, several algorithms.

The fast twins of :func:`cnnbp.naive.conv2d` and
:func:`cnnbp.naive.conv2d_backward`, with the same signatures and the same
shape contract, plus an ``algo`` keyword:

- ``"im2col"``: a strided window view + one matrix product.  ``im2col``
  lays every receptive field out as one row of a matrix, so the
  convolution becomes ``cols @ w_mat.T``; its adjoint ``col2im`` scatters
  rows back with one slice-add per kernel offset.  Runs every shape.
- ``"polyphase"``: for stride > 1 and few input channels; the input is
  split into stride-phase planes, every image is one matrix product that
  writes NCHW, and col2im adds into the phase planes
  (:mod:`cnnbp.polyphase`).  Runs every shape.
- ``"winograd"``: Winograd's minimal filtering F(m x m, 3 x 3) for 3x3
  kernels, stride 1, dilation 1, with the tile size m chosen per shape;
  ``"winograd2"`` ... ``"winograd7"`` force m (:mod:`cnnbp.winograd`).
- ``"auto"`` (the default): :func:`choose_algo`, from the shapes and the
  dtype only, so a given call always takes the same path.  A path is
  taken by default only where it meets the accuracy bounds
  :data:`ACCURACY` (relative error against exact arithmetic) and pays
  off.

Output size (see :mod:`cnnbp.shapes`):
``H_out = floor((H + 2p - d(HH - 1) - 1) / s) + 1``, same for W.
"""

from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import blas, polyphase, winograd
from .grouped import grouped_conv2d, grouped_conv2d_backward
from .winograd import ACCURACY
from .shapes import (
    _strict_int,
    as_float_array,
    check_rank,
    conv_args,
    conv_output_shape,
    dout_arg,
)

__all__ = ["im2col", "col2im", "conv2d", "conv2d_backward", "ALGOS",
           "ACCURACY", "ConvSpec", "choose_algo"]

#: Values of the ``algo`` keyword.
ALGOS = ("auto", "im2col", "polyphase", "winograd") + tuple(
    f"winograd{m}" for m in sorted(winograd.POINTS))

#: Multiply-adds below which "auto" keeps im2col: the small layers of
#: the chapters, where the other paths save nothing.
MIN_MACS = {"polyphase": 2 ** 22, "winograd": 2 ** 24}


class ConvSpec(NamedTuple):
    """Everything an algorithm choice depends on: shapes and dtype.

    Attributes
    ----------
    x_shape : tuple (N, C, H, W)
    w_shape : tuple (K, C, HH, WW)
    out_shape : tuple (N, K, H_out, W_out)
    hyper : ((sh, sw), (ph, pw), (dh, dw))
    dtype : numpy dtype
    """

    x_shape: tuple
    w_shape: tuple
    out_shape: tuple
    hyper: tuple
    dtype: np.dtype

    def macs(self):
        """Multiply-adds of the forward pass."""
        N, K, H_out, W_out = self.out_shape
        return N * K * H_out * W_out * int(np.prod(self.w_shape[1:]))


def _im2col(x, HH, WW, out_shape, hyper):
    """Channels-last im2col: (N*H_out*W_out, HH*WW*C), columns (m, n, c).

    Channels last makes every copied run C elements long, which is what
    makes this fast; :func:`im2col` reorders the columns to (c, m, n).
    """
    (sh, sw), (ph, pw), (dh, dw) = hyper
    N, C, H, W = x.shape
    _, _, H_out, W_out = out_shape
    x_pad = np.zeros((N, H + 2 * ph, W + 2 * pw, C), x.dtype)
    x_pad[:, ph:ph + H, pw:pw + W, :] = x.transpose(0, 2, 3, 1)
    sN, sH, sW, sC = x_pad.strides
    win = as_strided(
        x_pad,
        shape=(N, H_out, W_out, HH, WW, C),
        strides=(sN, sH * sh, sW * sw, sH * dh, sW * dw, sC),
        writeable=False,
    )
    return win.reshape(N * H_out * W_out, HH * WW * C)


def _scatter(parts, x_shape, HH, WW, out_shape, hyper):
    """Adjoint of the window read: one slice-add per kernel offset.

    ``parts`` has shape (HH*WW, N*H_out*W_out, C): ``parts[m*WW + n]``
    holds, for every output position, the gradient sent to the input
    cell under filter tap (m, n).  Returns (N, C, H, W), padding cropped.
    """
    (sh, sw), (ph, pw), (dh, dw) = hyper
    N, C, H, W = x_shape
    _, _, H_out, W_out = out_shape
    x_pad = np.zeros((N, H + 2 * ph, W + 2 * pw, C), parts.dtype)
    for m in range(HH):
        r0 = m * dh
        r1 = r0 + sh * (H_out - 1) + 1
        for n in range(WW):
            c0 = n * dw
            c1 = c0 + sw * (W_out - 1) + 1
            x_pad[:, r0:r1:sh, c0:c1:sw, :] += parts[m * WW + n].reshape(
                N, H_out, W_out, C)
    return x_pad[:, ph:ph + H, pw:pw + W, :].transpose(0, 3, 1, 2)


def _window_args(x_shape, HH, WW, stride, padding, dilation):
    """Validate im2col/col2im arguments as those of a one-filter conv."""
    HH, WW = _strict_int(HH, "HH"), _strict_int(WW, "WW")
    w_shape = (1, x_shape[1], HH, WW)
    out_shape, hyper = conv_output_shape(x_shape, w_shape, stride, padding,
                                         dilation)
    return HH, WW, out_shape, hyper


def im2col(x, HH, WW, stride=1, padding=0, dilation=1):
    """Lay every receptive field of X^pad out as one row of a matrix.

    Row ``(a * H_out + i) * W_out + j`` holds the window of output cell
    ``(a, i, j)``; column ``(c * HH + m) * WW + n`` holds
    ``X^pad[a, c, i*s + m*d, j*s + n*d]``.  Then
    ``conv2d(x, w) == (cols @ w.reshape(K, -1).T)`` reshaped to
    (N, H_out, W_out, K) and transposed to (N, K, H_out, W_out).

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    HH, WW : int
        Kernel height and width.
    stride, padding, dilation : int or (h, w) pair

    Returns
    -------
    cols : ndarray of shape (N*H_out*W_out, C*HH*WW)
    """
    x = as_float_array(x, "x")
    check_rank(x, 4, "x", "(N, C, H, W)")
    HH, WW, out_shape, hyper = _window_args(x.shape, HH, WW, stride,
                                            padding, dilation)
    cols = _im2col(x, HH, WW, out_shape, hyper)
    P, C = cols.shape[0], x.shape[1]
    return cols.reshape(P, HH, WW, C).transpose(0, 3, 1, 2).reshape(P, -1)


def col2im(cols, x_shape, HH, WW, stride=1, padding=0, dilation=1):
    """Adjoint of :func:`im2col`: scatter-add rows back into an image.

    Every entry of ``cols`` is added to the input cell it was read from;
    cells read by several windows receive the sum.  Padding is cropped.
    One strided slice-add per kernel offset ``(m, n)``.

    Parameters
    ----------
    cols : ndarray of shape (N*H_out*W_out, C*HH*WW)
    x_shape : tuple of 4 ints
        (N, C, H, W) of the image that im2col read.
    HH, WW : int
        Kernel height and width.
    stride, padding, dilation : int or (h, w) pair

    Returns
    -------
    ndarray of shape (N, C, H, W)
    """
    cols = as_float_array(cols, "cols")
    x_shape = tuple(x_shape)
    if len(x_shape) != 4:
        raise ValueError(f"x_shape must be (N, C, H, W), got {x_shape}")
    x_shape = tuple(_strict_int(v, "x_shape entry") for v in x_shape)
    HH, WW, out_shape, hyper = _window_args(x_shape, HH, WW, stride,
                                            padding, dilation)
    N, C, H_out, W_out = x_shape[0], x_shape[1], *out_shape[2:]
    P = N * H_out * W_out
    if cols.shape != (P, C * HH * WW):
        raise ValueError(
            f"cols has shape {cols.shape} but im2col of x with shape "
            f"{x_shape} and kernel {(HH, WW)} gives shape "
            f"{(P, C * HH * WW)}"
        )
    parts = cols.reshape(P, C, HH * WW).transpose(2, 0, 1)
    return _scatter(parts, x_shape, HH, WW, out_shape, hyper)


def _forward(x, w, b, out_shape, hyper):
    """Return ``(out, cols)``; ``cols`` is what the backward pass reuses."""
    N, K, H_out, W_out = out_shape
    cols = _im2col(x, w.shape[2], w.shape[3], out_shape, hyper)
    out = blas.matmul(cols, w.transpose(0, 2, 3, 1).reshape(K, -1).T)
    if b is not None:
        out += b
    out = out.reshape(N, H_out, W_out, K).transpose(0, 3, 1, 2)
    return out, cols


def _backward(dout, cols, x_shape, w, out_shape, hyper):
    """Return ``(dx, dw, db)`` from the forward pass's ``cols``."""
    K, C, HH, WW = w.shape
    db = dout.sum(axis=(0, 2, 3))
    d_rows = dout.transpose(0, 2, 3, 1).reshape(-1, K)
    dw = blas.matmul(d_rows.T, cols).reshape(K, HH, WW, C).transpose(
        0, 3, 1, 2)
    dw = np.ascontiguousarray(dw)
    w_taps = np.ascontiguousarray(w.transpose(2, 3, 0, 1)).reshape(-1, K, C)
    parts = blas.matmul(d_rows, w_taps)
    dx = _scatter(parts, x_shape, HH, WW, out_shape, hyper)
    return dx, dw, db


class _Im2col:
    """im2col + one matrix product; the layer caches the columns."""

    name = "im2col"

    def forward(self, x, w, b, spec):
        out, cols = _forward(x, w, b, spec.out_shape, spec.hyper)
        return out, (cols, w)

    def prepare(self, x, w, spec):
        return _im2col(x, w.shape[2], w.shape[3], spec.out_shape,
                       spec.hyper), w

    def backward(self, dout, cache, spec):
        cols, w = cache
        return _backward(dout, cols, spec.x_shape, w, spec.out_shape,
                         spec.hyper)


class _Polyphase:
    """Phase planes, NCHW columns, one product per image."""

    name = "polyphase"

    def forward(self, x, w, b, spec):
        return polyphase.forward(x, w, b, spec.out_shape, spec.hyper)

    def prepare(self, x, w, spec):
        return polyphase.prepare(x, w, spec.out_shape, spec.hyper)

    def backward(self, dout, cache, spec):
        return polyphase.backward(dout, cache)


class _Winograd:
    """F(mh x mw, 3 x 3); ``tiles`` None picks them per shape."""

    def __init__(self, tiles=None):
        self.tiles = tiles
        self.name = "winograd"
        if tiles is not None:
            mh, mw = tiles
            self.name += f"{mh}" if mh == mw else f"{mh}x{mw}"

    def forward(self, x, w, b, spec):
        return winograd.forward(x, w, b, spec.out_shape, spec.hyper,
                                self.tiles)

    def prepare(self, x, w, spec):
        return winograd.prepare(x, w, spec.out_shape, spec.hyper,
                                self.tiles)

    def backward(self, dout, cache, spec):
        return winograd.backward(dout, cache)


def _winograd_refusal(spec):
    """Why F(m x m, 3 x 3) cannot run ``spec``, or None."""
    (sh, sw), _, (dh, dw) = spec.hyper
    if tuple(spec.w_shape[2:]) != (3, 3) or (sh, sw, dh, dw) != (1,) * 4:
        return (f"needs a 3x3 kernel, stride 1 and dilation 1, got w of "
                f"shape {tuple(spec.w_shape)}, stride {(sh, sw)}, "
                f"dilation {(dh, dw)}")
    return None


def _fast_dtype_refusal(spec):
    if spec.dtype not in ACCURACY:
        return f"needs float32 or float64, got {spec.dtype}"
    return None


def choose_algo(spec, algo="auto"):
    """The algorithm that runs ``spec`` for the ``algo`` keyword.

    ``"auto"`` picks, from the shapes and the dtype alone:

    1. Winograd for a 3x3 kernel with stride 1 and dilation 1, with the
       tiles of :func:`cnnbp.winograd.tile_sizes`: the cheapest whose
       predicted error (:func:`cnnbp.winograd.predicted_error`) meets
       ``ACCURACY[dtype]``; when C and K are at least 8, the output is
       at least 6x6 and the layer has at least ``MIN_MACS["winograd"]``
       multiply-adds;
    2. polyphase for a stride > 1 with few taps per output,
       C * HH * WW <= 128 (where a channels-last im2col copies short
       runs), and at least ``MIN_MACS["polyphase"]`` multiply-adds;
    3. im2col otherwise (and for dtypes other than float32/float64).

    Parameters
    ----------
    spec : ConvSpec
    algo : str
        One of :data:`ALGOS`.

    Returns
    -------
    An algorithm object (``.name`` is its ``algo`` string).

    Raises
    ------
    ValueError
        Unknown ``algo``, or a forced algorithm that cannot run
        ``spec`` (the message names the shapes).
    """
    if not isinstance(algo, str) or algo not in ALGOS:
        raise ValueError(f"algo must be one of {ALGOS}, got {algo!r}")
    if algo == "im2col":
        return _Im2col()
    if algo != "auto":
        refusal = _fast_dtype_refusal(spec)
        if refusal is None and algo.startswith("winograd"):
            refusal = _winograd_refusal(spec)
        if refusal is not None:
            raise ValueError(f"algo={algo!r} {refusal}")
        if algo == "polyphase":
            return _Polyphase()
        m = algo[len("winograd"):]
        return _Winograd((int(m), int(m)) if m else None)
    if _fast_dtype_refusal(spec) is not None:
        return _Im2col()
    N, C = spec.x_shape[:2]
    K, H_out, W_out = spec.out_shape[1:]
    if (_winograd_refusal(spec) is None and min(C, K) >= 8
            and min(H_out, W_out) >= 6
            and spec.macs() >= MIN_MACS["winograd"]):
        tiles = winograd.tile_sizes((H_out, W_out), spec.dtype, max(C, K))
        if tiles is not None:
            return _Winograd(tiles)
    if (max(spec.hyper[0]) > 1 and np.prod(spec.w_shape[1:]) <= 128
            and spec.macs() >= MIN_MACS["polyphase"]):
        return _Polyphase()
    return _Im2col()


def _setup(x, w, b, stride, padding, dilation, algo):
    """Checked arrays, their ConvSpec and the chosen algorithm."""
    x, w, b, out_shape, hyper = conv_args(x, w, b, stride, padding,
                                          dilation)
    spec = ConvSpec(x.shape, w.shape, out_shape, hyper, x.dtype)
    impl = choose_algo(spec, algo)
    if not isinstance(impl, _Im2col):
        x = np.ascontiguousarray(x)
    return x, w, b, spec, impl


def _dout(dout, spec, impl):
    """dout as the algorithm wants it (C-contiguous, working dtype)."""
    if isinstance(impl, _Im2col):
        return dout
    return np.ascontiguousarray(dout, dtype=spec.dtype)


def _grouped(groups, algo):
    """True if ``groups`` != 1: :mod:`cnnbp.grouped` computes it (its own
    algorithm choice, so ``algo`` must stay ``"auto"``)."""
    if _strict_int(groups, "groups") == 1:
        return False
    if algo != "auto":
        raise ValueError(f"algo={algo!r} needs groups=1, got "
                         f"groups={groups}")
    return True


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1,
           algo="auto"):
    """Forward pass of a 2-D convolution layer (cross-correlation), fast.

    Same contract as :func:`cnnbp.naive.conv2d`:
    ``O[a,f,i,j] = b[f] + sum_{c,m,n}
    X^pad[a, c, i*s + m*d, j*s + n*d] * F[f,c,m,n]``.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Input X.
    w : ndarray of shape (K, C, HH, WW)
        Filters F.
    b : ndarray of shape (K,), optional
        Bias; zero when None.
    stride, padding, dilation : int or (h, w) pair
        s >= 1, p >= 0, d >= 1.
    groups : int
        Channel groups, as in ``torch.nn.functional.conv2d``: w is then
        (K, C/groups, HH, WW) and filter f sees only its group's
        channels (:func:`cnnbp.grouped.grouped_conv2d`).
    algo : str
        One of :data:`ALGOS`; ``"auto"`` is :func:`choose_algo`.

    Returns
    -------
    out : ndarray of shape (N, K, H_out, W_out)
    """
    if _grouped(groups, algo):
        return grouped_conv2d(x, w, b, stride, padding, dilation, groups)
    x, w, b, spec, impl = _setup(x, w, b, stride, padding, dilation, algo)
    return impl.forward(x, w, b, spec)[0]


def conv2d_backward(dout, x, w, stride=1, padding=0, dilation=1,
                    groups=1, algo="auto"):
    """Backward pass of :func:`conv2d`, fast.

    With im2col: ``dw = d_rows.T @ cols``, ``dx = col2im(d_rows @ w_mat)``,
    ``db = dout.sum((0, 2, 3))``, where ``d_rows`` is dL/dO laid out as
    (N*H_out*W_out, K) and ``cols = im2col(x)``.  (Internally the
    columns are ordered channels-last and ``d_rows @ w_mat`` is computed
    per filter tap, which feeds the scatter-add contiguous blocks.)  The
    other algorithms transpose their own forward steps (see
    :mod:`cnnbp.polyphase` and :mod:`cnnbp.winograd`).

    Parameters
    ----------
    dout : ndarray of shape (N, K, H_out, W_out)
        Upstream gradient dL/dO.
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (K, C/groups, HH, WW)
    stride, padding, dilation : int or (h, w) pair
    groups : int
        Channel groups, as in :func:`conv2d`.
    algo : str
        One of :data:`ALGOS`; ``"auto"`` is :func:`choose_algo`.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    dw : ndarray of shape (K, C/groups, HH, WW)
    db : ndarray of shape (K,)
    """
    if _grouped(groups, algo):
        return grouped_conv2d_backward(dout, x, w, stride, padding,
                                       dilation, groups)
    x, w, _, spec, impl = _setup(x, w, None, stride, padding, dilation,
                                 algo)
    dout = dout_arg(dout, spec.out_shape, "conv2d(x, w)")
    return impl.backward(_dout(dout, spec, impl), impl.prepare(x, w, spec),
                         spec)


def forward_cached(x, w, b, stride, padding, dilation, algo="auto"):
    """Forward pass that keeps what the backward pass needs.

    For :class:`cnnbp.layers.Conv2d`.  Arguments as :func:`conv2d`.

    Returns
    -------
    out : ndarray of shape (N, K, H_out, W_out)
    cache : tuple
        For :func:`backward_cached`; ``cache[0].name`` is the algorithm.
    """
    x, w, b, spec, impl = _setup(x, w, b, stride, padding, dilation, algo)
    out, data = impl.forward(x, w, b, spec)
    return out, (impl, spec, data)


def backward_cached(dout, cache, what="Conv2d.forward"):
    """Backward pass from :func:`forward_cached`'s cache.

    Parameters
    ----------
    dout : ndarray of shape (N, K, H_out, W_out)
    cache : tuple
        From :func:`forward_cached`.
    what : str
        The forward call, for the shape error message.

    Returns
    -------
    dx, dw, db : ndarrays of the shapes of x, w and b
    """
    impl, spec, data = cache
    dout = dout_arg(dout, spec.out_shape, what)
    return impl.backward(_dout(dout, spec, impl), data, spec)
