"""Loop twins: the chapters' equations, index for index.

Slow on purpose.  Every function here is written to be read next to the
equation it implements and is the oracle the fast twins in
:mod:`cnnbp.conv` and :mod:`cnnbp.pool` are tested against.

Index letters: ``a`` sample, ``f`` filter, ``c`` input channel, ``i, j``
output row/column, ``m, n`` filter row/column, ``u, v`` input row/column.
Indices start at 0.  Forward pass (cross-correlation)::

    O[a,f,i,j] = b[f] + sum_c sum_m sum_n
                 X^pad[a, c, i*s + m*d, j*s + n*d] * F[f, c, m, n]

with ``H_out = floor((H + 2p - d(HH - 1) - 1) / s) + 1`` (same for W).
Stride, padding and dilation take an int or an ``(h, w)`` pair.
"""

import numpy as np

from .shapes import conv_args, dout_arg, pair, pool_args

__all__ = [
    "pad",
    "dilate",
    "rot180",
    "conv2d",
    "filter_gradient",
    "input_gradient",
    "bias_gradient",
    "conv2d_backward",
    "maxpool2d",
    "maxpool2d_backward",
]


def pad(x, padding):
    """Zero-pad the last two axes: X -> X^pad.

    Parameters
    ----------
    x : ndarray of shape (..., H, W)
    padding : int or (ph, pw) pair

    Returns
    -------
    x_pad : ndarray of shape (..., H + 2*ph, W + 2*pw)
        ``x_pad[..., ph + u, pw + v] == x[..., u, v]``, zeros elsewhere.
    """
    ph, pw = pair(padding, "padding")
    if ph < 0 or pw < 0:
        raise ValueError(f"padding must be >= 0, got {(ph, pw)}")
    x = np.asarray(x)
    H, W = x.shape[-2:]
    x_pad = np.zeros(x.shape[:-2] + (H + 2 * ph, W + 2 * pw), x.dtype)
    x_pad[..., ph:ph + H, pw:pw + W] = x
    return x_pad


def dilate(g, factor):
    """Zero insertion: put ``factor - 1`` zeros between neighbours.

    Used on dL/dO for stride > 1 (``factor`` = stride) and on the filter
    for dilation > 1 (``factor`` = dilation).

    Parameters
    ----------
    g : ndarray of shape (..., H, W)
    factor : int or (sh, sw) pair, >= 1

    Returns
    -------
    ndarray of shape (..., sh*(H - 1) + 1, sw*(W - 1) + 1)
        ``out[..., i*sh, j*sw] == g[..., i, j]``, zeros elsewhere.
    """
    sh, sw = pair(factor, "factor")
    if sh < 1 or sw < 1:
        raise ValueError(f"factor must be >= 1, got {(sh, sw)}")
    g = np.asarray(g)
    H, W = g.shape[-2:]
    out = np.zeros(g.shape[:-2] + (sh * (H - 1) + 1, sw * (W - 1) + 1),
                   g.dtype)
    for i in range(H):
        for j in range(W):
            out[..., i * sh, j * sw] = g[..., i, j]
    return out


def rot180(w):
    """Rotate every filter by 180 degrees (flip both spatial axes).

    Parameters
    ----------
    w : ndarray of shape (..., HH, WW)

    Returns
    -------
    ndarray of shape (..., HH, WW)
        ``out[..., m, n] == w[..., HH - 1 - m, WW - 1 - n]``.
    """
    w = np.asarray(w)
    return w[..., ::-1, ::-1]


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
    """Forward pass of a 2-D convolution layer (cross-correlation), loops.

    ``O[a,f,i,j] = b[f] + sum_{c,m,n}
    X^pad[a, c, i*s + m*d, j*s + n*d] * F[f,c,m,n]``

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
        O, with ``H_out = floor((H + 2p - d(HH - 1) - 1) / s) + 1``.
    """
    x, w, b, out_shape, hyper = conv_args(x, w, b, stride, padding,
                                          dilation)
    (sh, sw), (ph, pw), (dh, dw) = hyper
    N, F, H_out, W_out = out_shape
    _, C, HH, WW = w.shape
    x_pad = pad(x, (ph, pw))
    out = np.zeros(out_shape, x.dtype)
    for a in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    total = 0.0 if b is None else b[f]
                    for c in range(C):
                        for m in range(HH):
                            for n in range(WW):
                                total += (
                                    x_pad[a, c, i * sh + m * dh,
                                          j * sw + n * dw]
                                    * w[f, c, m, n]
                                )
                    out[a, f, i, j] = total
    return out


def filter_gradient(dout, x, w, stride=1, padding=0, dilation=1):
    """dL/dF: correlation of X^pad with dL/dO dilated by the stride.

    With ``D = dilate(dout, s)`` (zero insertion), indexed by (ii, jj),
    the output positions of a stride-1 convolution::

        dF[f,c,m,n] = sum_a sum_ii sum_jj
                      X^pad[a, c, m*d + ii, n*d + jj] * D[a, f, ii, jj]

    Rows of X^pad that no window reaches (leftover rows when the stride
    does not divide ``H + 2p - d(HH - 1) - 1``) are never read.

    Parameters
    ----------
    dout : ndarray of shape (N, F, H_out, W_out)
        Upstream gradient dL/dO.
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (F, C, HH, WW)
        Only its shape is used.
    stride, padding, dilation : int or (h, w) pair

    Returns
    -------
    dw : ndarray of shape (F, C, HH, WW)
    """
    x, w, _, out_shape, hyper = conv_args(x, w, None, stride, padding,
                                          dilation)
    dout = dout_arg(dout, out_shape, "conv2d(x, w)")
    (sh, sw), (ph, pw), (dh, dw_) = hyper
    F, C, HH, WW = w.shape
    N = x.shape[0]
    x_pad = pad(x, (ph, pw))
    d_dil = dilate(dout, (sh, sw))
    Hd, Wd = d_dil.shape[-2:]
    dw = np.zeros(w.shape, np.result_type(x, dout))
    for f in range(F):
        for c in range(C):
            for m in range(HH):
                for n in range(WW):
                    total = 0.0
                    for a in range(N):
                        for ii in range(Hd):
                            for jj in range(Wd):
                                total += (
                                    x_pad[a, c, m * dh + ii, n * dw_ + jj]
                                    * d_dil[a, f, ii, jj]
                                )
                    dw[f, c, m, n] = total
    return dw


def input_gradient(dout, x, w, stride=1, padding=0, dilation=1):
    """dL/dX: full convolution of dL/dO with the 180-degree rotated filter.

    Steps, each one line below:

    1. ``D = dilate(dout, s)``: zero insertion for stride > 1.
    2. ``K = rot180(dilate(w, d))``: the dilated filter, rotated.
    3. ``D_full = pad(D, k_eff - 1)``: "full" mode, so every output cell
       that touched an input cell is reached.
    4. ``dX^pad[a,c,u,v] = sum_f sum_m sum_n
       D_full[a, f, u + m, v + n] * K[f, c, m, n]``
       (summed over the filters f: each filter sent gradient back).
    5. Leftover rows/columns of X^pad that no window reached keep zero
       gradient; crop the padding: ``dX = dX^pad[:, :, p:p+H, p:p+W]``
       (an explicit end index, so p = 0 works).

    Parameters
    ----------
    dout : ndarray of shape (N, F, H_out, W_out)
        Upstream gradient dL/dO.
    x : ndarray of shape (N, C, H, W)
        Only its shape is used.
    w : ndarray of shape (F, C, HH, WW)
    stride, padding, dilation : int or (h, w) pair

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    """
    x, w, _, out_shape, hyper = conv_args(x, w, None, stride, padding,
                                          dilation)
    dout = dout_arg(dout, out_shape, "conv2d(x, w)")
    (sh, sw), (ph, pw), (dh, dw) = hyper
    N, C, H, W = x.shape
    F = w.shape[0]
    d_dil = dilate(dout, (sh, sw))
    k_rot = rot180(dilate(w, (dh, dw)))
    KH, KW = k_rot.shape[-2:]
    d_full = pad(d_dil, (KH - 1, KW - 1))
    Hr = d_dil.shape[-2] + KH - 1
    Wr = d_dil.shape[-1] + KW - 1
    dx_pad = np.zeros((N, C, H + 2 * ph, W + 2 * pw),
                      np.result_type(w, dout))
    for a in range(N):
        for c in range(C):
            for u in range(Hr):
                for v in range(Wr):
                    total = 0.0
                    for f in range(F):
                        for m in range(KH):
                            for n in range(KW):
                                total += (d_full[a, f, u + m, v + n]
                                          * k_rot[f, c, m, n])
                    dx_pad[a, c, u, v] = total
    return dx_pad[:, :, ph:ph + H, pw:pw + W]


def bias_gradient(dout):
    """dL/db: sum of dL/dO over the batch and every output position.

    ``db[f] = sum_a sum_i sum_j dout[a, f, i, j]``

    Parameters
    ----------
    dout : ndarray of shape (N, F, H_out, W_out)

    Returns
    -------
    db : ndarray of shape (F,)
    """
    dout = np.asarray(dout, dtype=float)
    if dout.ndim != 4:
        raise ValueError(
            f"dout must be 4-D with shape (N, F, H_out, W_out), got shape "
            f"{dout.shape}"
        )
    N, F, H_out, W_out = dout.shape
    db = np.zeros(F, dout.dtype)
    for f in range(F):
        for a in range(N):
            for i in range(H_out):
                for j in range(W_out):
                    db[f] += dout[a, f, i, j]
    return db


def conv2d_backward(dout, x, w, stride=1, padding=0, dilation=1):
    """Backward pass of :func:`conv2d`, loops.

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
        :func:`input_gradient`.
    dw : ndarray of shape (F, C, HH, WW)
        :func:`filter_gradient`.
    db : ndarray of shape (F,)
        :func:`bias_gradient`.
    """
    dx = input_gradient(dout, x, w, stride, padding, dilation)
    dw = filter_gradient(dout, x, w, stride, padding, dilation)
    return dx, dw, bias_gradient(dout)


def maxpool2d(x, size=2, stride=None):
    """Max-pool forward pass, loops.

    ``O[a,c,i,j] = max_{m,n} X[a, c, i*s + m, j*s + n]``

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    size : int or (kh, kw) pair
        Window size.
    stride : int or (sh, sw) pair, optional
        Defaults to ``size`` (non-overlapping windows).

    Returns
    -------
    out : ndarray of shape (N, C, H_out, W_out)
        ``H_out = floor((H - kh) / sh) + 1``.
    """
    x, out_shape, ((kh, kw), (sh, sw)) = pool_args(x, size, stride)
    N, C, H_out, W_out = out_shape
    out = np.zeros(out_shape, x.dtype)
    for a in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    best = x[a, c, i * sh, j * sw]
                    for m in range(kh):
                        for n in range(kw):
                            best = max(best, x[a, c, i * sh + m, j * sw + n])
                    out[a, c, i, j] = best
    return out


def maxpool2d_backward(dout, x, size=2, stride=None):
    """Max-pool backward pass, loops: route each gradient to its argmax.

    Tie rule: the *first* maximum of a window in row-major order (scan
    m, then n) receives the whole gradient, as ``np.argmax`` picks it.
    Where windows overlap (stride < size) an input cell can be the argmax
    of several windows; their gradients add up (``+=``).

    Parameters
    ----------
    dout : ndarray of shape (N, C, H_out, W_out)
        Upstream gradient dL/dO.
    x : ndarray of shape (N, C, H, W)
        The forward input.
    size, stride : see :func:`maxpool2d`

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    """
    x, out_shape, ((kh, kw), (sh, sw)) = pool_args(x, size, stride)
    dout = dout_arg(dout, out_shape, "maxpool2d(x)")
    N, C, H_out, W_out = out_shape
    dx = np.zeros(x.shape, np.result_type(x, dout))
    for a in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    bm, bn = 0, 0
                    for m in range(kh):
                        for n in range(kw):
                            if (x[a, c, i * sh + m, j * sw + n]
                                    > x[a, c, i * sh + bm, j * sw + bn]):
                                bm, bn = m, n
                    dx[a, c, i * sh + bm, j * sw + bn] += dout[a, c, i, j]
    return dx
