"""Fast transposed convolution (``F.conv_transpose2d``), forward and back.

The fast twins of :func:`cnnbp.naive.conv_transpose2d` and
:func:`cnnbp.naive.conv_transpose2d_backward`.  x is (N, C, H, W) and w
is (C, K / groups, HH, WW), the weight of the convolution that maps
(N, K, H_out, W_out) back to (N, C, H, W) with the same stride, padding,
dilation and groups.  Output size::

    H_out = (H - 1)*s - 2p + d(HH - 1) + output_padding + 1

A transposed convolution *is* the input gradient of that convolution,
so the three passes are the three passes of :mod:`cnnbp.grouped` with
the roles exchanged:

- forward: ``out = dX_conv(dout=x)``, the scatter-add of every input cell
  times its filters;
- ``dx = conv(dout)``, a plain (grouped) convolution of dL/dO;
- ``dw = dW_conv(dout=x, input=dL/dO)``;
- ``db = dout.sum((0, 2, 3))``.
"""

from . import grouped
from .shapes import conv_transpose_args, dout_arg

__all__ = ["conv_transpose2d", "conv_transpose2d_backward"]


def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0,
                     dilation=1, groups=1):
    """Transposed convolution forward pass, fast.

    Same contract as :func:`cnnbp.naive.conv_transpose2d`.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (C, K / groups, HH, WW)
    b : ndarray of shape (K,), optional
    stride, padding, output_padding, dilation : int or (h, w) pair
        ``output_padding`` must be smaller than the stride or the
        dilation (per axis).
    groups : int
        Divides C.

    Returns
    -------
    out : ndarray of shape (N, K, H_out, W_out)
        ``H_out = (H - 1)*s - 2p + d(HH - 1) + output_padding + 1``.
    """
    x, w, b, out_shape, hyper, groups = conv_transpose_args(
        x, w, b, stride, padding, output_padding, dilation, groups)
    out = grouped._input_grad(x, out_shape, w, groups, hyper[:3])
    if b is not None:
        out += b[:, None, None]
    return out


def conv_transpose2d_backward(dout, x, w, stride=1, padding=0,
                              output_padding=0, dilation=1, groups=1):
    """Backward pass of :func:`conv_transpose2d`, fast.

    Parameters
    ----------
    dout : ndarray of shape (N, K, H_out, W_out)
        Upstream gradient dL/dO.
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (C, K / groups, HH, WW)
    stride, padding, output_padding, dilation, groups :
        see :func:`conv_transpose2d`

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
        The grouped convolution of dL/dO with w.
    dw : ndarray of shape (C, K / groups, HH, WW)
    db : ndarray of shape (K,)
    """
    x, w, _, out_shape, hyper, groups = conv_transpose_args(
        x, w, None, stride, padding, output_padding, dilation, groups)
    dout = dout_arg(dout, out_shape, "conv_transpose2d(x, w)")
    return _backward(dout, x, w, groups, hyper[:3])


def _backward(dout, x, w, groups, hyper):
    """``(dx, dw, db)`` of a transposed convolution (checked arguments)."""
    dx, ctx = grouped._forward(dout, w, groups, x.shape[2:], hyper)
    dw = grouped._filter_grad(x, ctx, w.shape, groups, hyper)
    return dx, dw, dout.sum(axis=(0, 2, 3))
