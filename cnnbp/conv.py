"""Fast convolution: im2col (a strided window view) + one matrix product.

The fast twins of :func:`cnnbp.naive.conv2d` and
:func:`cnnbp.naive.conv2d_backward`, with the same signatures and the same
shape contract.  ``im2col`` lays every receptive field out as one row of a
matrix, so the convolution becomes ``cols @ w_mat.T``; its adjoint
``col2im`` scatters rows back with one slice-add per kernel offset.

Output size (see :mod:`cnnbp.shapes`):
``H_out = floor((H + 2p - d(HH - 1) - 1) / s) + 1``, same for W.
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .shapes import (
    _strict_int,
    as_float_array,
    check_rank,
    conv_args,
    conv_output_shape,
    dout_arg,
)

__all__ = ["im2col", "col2im", "conv2d", "conv2d_backward"]


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
    ``conv2d(x, w) == (cols @ w.reshape(F, -1).T)`` reshaped to
    (N, H_out, W_out, F) and transposed to (N, F, H_out, W_out).

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


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
    """Forward pass of a 2-D convolution layer (cross-correlation), fast.

    Same contract as :func:`cnnbp.naive.conv2d`:
    ``O[a,f,i,j] = b[f] + sum_{c,m,n}
    X^pad[a, c, i*s + m*d, j*s + n*d] * F[f,c,m,n]``.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Input X.
    w : ndarray of shape (F, C, HH, WW)
        Filters F.
    b : ndarray of shape (F,), optional
        Bias; zero when None.
    stride, padding, dilation : int or (h, w) pair
        s >= 1, p >= 0, d >= 1.

    Returns
    -------
    out : ndarray of shape (N, F, H_out, W_out)
    """
    x, w, b, out_shape, hyper = conv_args(x, w, b, stride, padding,
                                          dilation)
    return _forward(x, w, b, out_shape, hyper)[0]


def _forward(x, w, b, out_shape, hyper):
    """Return ``(out, cols)``; ``cols`` is what the backward pass reuses."""
    N, F, H_out, W_out = out_shape
    cols = _im2col(x, w.shape[2], w.shape[3], out_shape, hyper)
    out = cols @ w.transpose(0, 2, 3, 1).reshape(F, -1).T
    if b is not None:
        out += b
    out = out.reshape(N, H_out, W_out, F).transpose(0, 3, 1, 2)
    return out, cols


def _backward(dout, cols, x_shape, w, out_shape, hyper):
    """Return ``(dx, dw, db)`` from the forward pass's ``cols``."""
    F, C, HH, WW = w.shape
    db = dout.sum(axis=(0, 2, 3))
    d_rows = dout.transpose(0, 2, 3, 1).reshape(-1, F)
    dw = (d_rows.T @ cols).reshape(F, HH, WW, C).transpose(0, 3, 1, 2)
    dw = np.ascontiguousarray(dw)
    parts = np.matmul(d_rows, w.transpose(2, 3, 0, 1).reshape(-1, F, C))
    dx = _scatter(parts, x_shape, HH, WW, out_shape, hyper)
    return dx, dw, db


def conv2d_backward(dout, x, w, stride=1, padding=0, dilation=1):
    """Backward pass of :func:`conv2d`, fast.

    ``dw = d_rows.T @ cols``, ``dx = col2im(d_rows @ w_mat)``,
    ``db = dout.sum((0, 2, 3))``, where ``d_rows`` is dL/dO laid out as
    (N*H_out*W_out, F) and ``cols = im2col(x)``.  (Internally the
    columns are ordered channels-last and ``d_rows @ w_mat`` is computed
    per filter tap, which feeds the scatter-add contiguous blocks.)

    Parameters
    ----------
    dout : ndarray of shape (N, F, H_out, W_out)
        Upstream gradient dL/dO.
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (F, C, HH, WW)
    stride, padding, dilation : int or (h, w) pair

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    dw : ndarray of shape (F, C, HH, WW)
    db : ndarray of shape (F,)
    """
    x, w, _, out_shape, hyper = conv_args(x, w, None, stride, padding,
                                          dilation)
    dout = dout_arg(dout, out_shape, "conv2d(x, w)")
    cols = _im2col(x, w.shape[2], w.shape[3], out_shape, hyper)
    return _backward(dout, cols, x.shape, w, out_shape, hyper)
