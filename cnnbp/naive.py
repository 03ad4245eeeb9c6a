"""Loop twins: the chapters' equations, index for index.

Slow on purpose.  Every function here is written to be read next to the
equation it implements and is the oracle the fast twins in
:mod:`cnnbp.conv`, :mod:`cnnbp.pool`, :mod:`cnnbp.grouped`,
:mod:`cnnbp.transpose` and :mod:`cnnbp.norm` are tested against.

Index letters: ``a`` sample, ``f`` filter, ``c`` input channel, ``i, j``
output row/column, ``m, n`` filter row/column, ``u, v`` input row/column.
Indices start at 0.  Forward pass (cross-correlation)::

    O[a,f,i,j] = b[f] + sum_c sum_m sum_n
                 X^pad[a, c, i*s + m*d, j*s + n*d] * F[f, c, m, n]

with ``H_out = floor((H + 2p - d(HH - 1) - 1) / s) + 1`` (same for W).
Stride, padding and dilation take an int or an ``(h, w)`` pair.

Pooling windows are those of PyTorch: window ``(i, j)`` covers the cells
``(u, v) = (i*sh - ph + m, j*sw - pw + n)``; cells outside X are padding.
"""

import numpy as np

from .shapes import (
    batchnorm_args,
    check_flag,
    conv_args,
    conv_transpose_args,
    dout_arg,
    grouped_conv_args,
    pair,
    pool2d_args,
)

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
    "avgpool2d",
    "avgpool2d_backward",
    "global_avgpool2d",
    "global_avgpool2d_backward",
    "grouped_conv2d",
    "grouped_conv2d_backward",
    "conv_transpose2d",
    "conv_transpose2d_backward",
    "batchnorm2d",
    "batchnorm2d_backward",
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
    w : ndarray of shape (K, C, HH, WW)
        Filters F.
    b : ndarray of shape (K,), optional
        Bias; zero when None.
    stride, padding, dilation : int or (h, w) pair
        s >= 1, p >= 0, d >= 1.

    Returns
    -------
    out : ndarray of shape (N, K, H_out, W_out)
        O, with ``H_out = floor((H + 2p - d(HH - 1) - 1) / s) + 1``.
    """
    x, w, b, out_shape, hyper = conv_args(x, w, b, stride, padding,
                                          dilation)
    (sh, sw), (ph, pw), (dh, dw) = hyper
    N, K, H_out, W_out = out_shape
    _, C, HH, WW = w.shape
    x_pad = pad(x, (ph, pw))
    out = np.zeros(out_shape, x.dtype)
    for a in range(N):
        for f in range(K):
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
    dout : ndarray of shape (N, K, H_out, W_out)
        Upstream gradient dL/dO.
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (K, C, HH, WW)
        Only its shape is used.
    stride, padding, dilation : int or (h, w) pair

    Returns
    -------
    dw : ndarray of shape (K, C, HH, WW)
    """
    x, w, _, out_shape, hyper = conv_args(x, w, None, stride, padding,
                                          dilation)
    dout = dout_arg(dout, out_shape, "conv2d(x, w)")
    (sh, sw), (ph, pw), (dh, dw_) = hyper
    K, C, HH, WW = w.shape
    N = x.shape[0]
    x_pad = pad(x, (ph, pw))
    d_dil = dilate(dout, (sh, sw))
    Hd, Wd = d_dil.shape[-2:]
    dw = np.zeros(w.shape, np.result_type(x, dout))
    for f in range(K):
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
    2. ``w_rot = rot180(dilate(w, d))``: the dilated filter, rotated, of
       size ``HHd x WWd = (d(HH - 1) + 1) x (d(WW - 1) + 1)``.
    3. ``D_full = pad(D, (HHd - 1, WWd - 1))``: "full" mode, so every
       output cell that touched an input cell is reached.
    4. ``dX^pad[a,c,u,v] = sum_f sum_m sum_n
       D_full[a, f, u + m, v + n] * w_rot[f, c, m, n]``
       (summed over the filters f: each filter sent gradient back).
    5. Leftover rows/columns of X^pad that no window reached keep zero
       gradient; crop the padding: ``dX = dX^pad[:, :, p:p+H, p:p+W]``
       (an explicit end index, so p = 0 works).

    Parameters
    ----------
    dout : ndarray of shape (N, K, H_out, W_out)
        Upstream gradient dL/dO.
    x : ndarray of shape (N, C, H, W)
        Only its shape is used.
    w : ndarray of shape (K, C, HH, WW)
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
    K = w.shape[0]
    d_dil = dilate(dout, (sh, sw))
    w_rot = rot180(dilate(w, (dh, dw)))
    HHd, WWd = w_rot.shape[-2:]
    d_full = pad(d_dil, (HHd - 1, WWd - 1))
    Hr = d_dil.shape[-2] + HHd - 1
    Wr = d_dil.shape[-1] + WWd - 1
    dx_pad = np.zeros((N, C, H + 2 * ph, W + 2 * pw),
                      np.result_type(w, dout))
    for a in range(N):
        for c in range(C):
            for u in range(Hr):
                for v in range(Wr):
                    total = 0.0
                    for f in range(K):
                        for m in range(HHd):
                            for n in range(WWd):
                                total += (d_full[a, f, u + m, v + n]
                                          * w_rot[f, c, m, n])
                    dx_pad[a, c, u, v] = total
    return dx_pad[:, :, ph:ph + H, pw:pw + W]


def bias_gradient(dout):
    """dL/db: sum of dL/dO over the batch and every output position.

    ``db[f] = sum_a sum_i sum_j dout[a, f, i, j]``

    Parameters
    ----------
    dout : ndarray of shape (N, K, H_out, W_out)

    Returns
    -------
    db : ndarray of shape (K,)
    """
    dout = np.asarray(dout, dtype=float)
    if dout.ndim != 4:
        raise ValueError(
            f"dout must be 4-D with shape (N, K, H_out, W_out), got shape "
            f"{dout.shape}"
        )
    N, K, H_out, W_out = dout.shape
    db = np.zeros(K, dout.dtype)
    for f in range(K):
        for a in range(N):
            for i in range(H_out):
                for j in range(W_out):
                    db[f] += dout[a, f, i, j]
    return db


def conv2d_backward(dout, x, w, stride=1, padding=0, dilation=1):
    """Backward pass of :func:`conv2d`, loops.

    Parameters
    ----------
    dout : ndarray of shape (N, K, H_out, W_out)
        Upstream gradient dL/dO.
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (K, C, HH, WW)
    stride, padding, dilation : int or (h, w) pair

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
        :func:`input_gradient`.
    dw : ndarray of shape (K, C, HH, WW)
        :func:`filter_gradient`.
    db : ndarray of shape (K,)
        :func:`bias_gradient`.
    """
    dx = input_gradient(dout, x, w, stride, padding, dilation)
    dw = filter_gradient(dout, x, w, stride, padding, dilation)
    return dx, dw, bias_gradient(dout)


def maxpool2d(x, size=2, stride=None, padding=0, ceil_mode=False):
    """Max-pool forward pass, loops (``F.max_pool2d``).

    ``O[a,c,i,j] = max_{m,n} X[a, c, i*sh - ph + m, j*sw - pw + n]``,
    the maximum over the cells of the window that lie in X (padding
    never wins).

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    size : int or (HH, WW) pair
        Window size.
    stride : int or (sh, sw) pair, optional
        Defaults to ``size`` (non-overlapping windows).
    padding : int or (ph, pw) pair
        Implicit padding on both sides, at most half the window.
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
    (HH, WW), (sh, sw), (ph, pw) = hyper
    N, C, H, W = x.shape
    _, _, H_out, W_out = out_shape
    out = np.zeros(out_shape, x.dtype)
    for a in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    best = x[a, c, max(i * sh - ph, 0), max(j * sw - pw, 0)]
                    for m in range(HH):
                        for n in range(WW):
                            u, v = i * sh - ph + m, j * sw - pw + n
                            if 0 <= u < H and 0 <= v < W:
                                best = max(best, x[a, c, u, v])
                    out[a, c, i, j] = best
    return out


def maxpool2d_backward(dout, x, size=2, stride=None, padding=0,
                       ceil_mode=False):
    """Max-pool backward pass, loops: route each gradient to its argmax.

    Tie rule: the *first* maximum of a window in row-major order (scan
    m, then n) receives the whole gradient, as ``np.argmax`` picks it;
    the scan starts at the window's first cell of X, so padding never
    wins.  Where windows overlap (stride < size) an input cell can be
    the argmax of several windows; their gradients add up (``+=``).

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
    (HH, WW), (sh, sw), (ph, pw) = hyper
    dout = dout_arg(dout, out_shape, "maxpool2d(x)")
    N, C, H, W = x.shape
    _, _, H_out, W_out = out_shape
    dx = np.zeros(x.shape, np.result_type(x, dout))
    for a in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    bu, bv = max(i * sh - ph, 0), max(j * sw - pw, 0)
                    for m in range(HH):
                        for n in range(WW):
                            u, v = i * sh - ph + m, j * sw - pw + n
                            if (0 <= u < H and 0 <= v < W
                                    and x[a, c, u, v] > x[a, c, bu, bv]):
                                bu, bv = u, v
                    dx[a, c, bu, bv] += dout[a, c, i, j]
    return dx


def avgpool2d(x, size=2, stride=None, padding=0, ceil_mode=False,
              count_include_pad=True):
    """Average-pool forward pass, loops (``F.avg_pool2d``).

    ``O[a,c,i,j] = (1 / D[i,j]) sum_{m,n} X[a, c, i*sh - ph + m,
    j*sw - pw + n]`` over the window cells that lie in X.  The divisor
    ``D[i,j]`` counts the window cells that lie in the padded input
    (rows ``-ph .. H + ph - 1``) with ``count_include_pad``, else only
    those in X.  A ceil-mode window that overhangs the padded input
    counts only its cells inside it.

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
    x, out_shape, hyper = pool2d_args(x, size, stride, padding, ceil_mode)
    count_include_pad = check_flag(count_include_pad, "count_include_pad")
    (HH, WW), (sh, sw), (ph, pw) = hyper
    N, C, H, W = x.shape
    _, _, H_out, W_out = out_shape
    out = np.zeros(out_shape, x.dtype)
    for a in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    total, count = 0.0, 0
                    for m in range(HH):
                        for n in range(WW):
                            u, v = i * sh - ph + m, j * sw - pw + n
                            in_x = 0 <= u < H and 0 <= v < W
                            in_pad = u < H + ph and v < W + pw
                            if in_x:
                                total += x[a, c, u, v]
                            if in_x or (count_include_pad and in_pad):
                                count += 1
                    out[a, c, i, j] = total / count
    return out


def avgpool2d_backward(dout, x, size=2, stride=None, padding=0,
                       ceil_mode=False, count_include_pad=True):
    """Average-pool backward pass, loops: share each gradient evenly.

    ``dX[a,c,u,v] += dout[a,c,i,j] / D[i,j]`` for every window (i, j)
    that holds the cell (u, v) of X; D as in :func:`avgpool2d`.

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
    x, out_shape, hyper = pool2d_args(x, size, stride, padding, ceil_mode)
    count_include_pad = check_flag(count_include_pad, "count_include_pad")
    (HH, WW), (sh, sw), (ph, pw) = hyper
    dout = dout_arg(dout, out_shape, "avgpool2d(x)")
    N, C, H, W = x.shape
    _, _, H_out, W_out = out_shape
    dx = np.zeros(x.shape, np.result_type(x, dout))
    for a in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    cells, count = [], 0
                    for m in range(HH):
                        for n in range(WW):
                            u, v = i * sh - ph + m, j * sw - pw + n
                            in_x = 0 <= u < H and 0 <= v < W
                            in_pad = u < H + ph and v < W + pw
                            if in_x:
                                cells.append((u, v))
                            if in_x or (count_include_pad and in_pad):
                                count += 1
                    for u, v in cells:
                        dx[a, c, u, v] += dout[a, c, i, j] / count
    return dx


def global_avgpool2d(x):
    """Global average pooling, loops (``F.adaptive_avg_pool2d(x, 1)``).

    ``O[a,c,0,0] = (1 / (H W)) sum_u sum_v X[a,c,u,v]``

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)

    Returns
    -------
    out : ndarray of shape (N, C, 1, 1)
    """
    x, _, _ = pool2d_args(x, 1)
    N, C, H, W = x.shape
    out = np.zeros((N, C, 1, 1), x.dtype)
    for a in range(N):
        for c in range(C):
            total = 0.0
            for u in range(H):
                for v in range(W):
                    total += x[a, c, u, v]
            out[a, c, 0, 0] = total / (H * W)
    return out


def global_avgpool2d_backward(dout, x):
    """Backward pass of :func:`global_avgpool2d`, loops.

    ``dX[a,c,u,v] = dout[a,c,0,0] / (H W)``: every cell had weight
    1 / (H W) in the mean.

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
    x, _, _ = pool2d_args(x, 1)
    N, C, H, W = x.shape
    dout = dout_arg(dout, (N, C, 1, 1), "global_avgpool2d(x)")
    dx = np.zeros(x.shape, np.result_type(x, dout))
    for a in range(N):
        for c in range(C):
            for u in range(H):
                for v in range(W):
                    dx[a, c, u, v] = dout[a, c, 0, 0] / (H * W)
    return dx


def grouped_conv2d(x, w, b=None, stride=1, padding=0, dilation=1,
                   groups=1):
    """Grouped convolution forward pass, loops (``F.conv2d``, groups).

    The C channels and the K filters form ``groups`` consecutive blocks
    of ``Cg = C / groups`` channels and ``Kg = K / groups`` filters;
    filter f belongs to block ``g = f // Kg`` and sees only its channels::

        O[a,f,i,j] = b[f] + sum_{c<Cg} sum_{m,n}
                     X^pad[a, g*Cg + c, i*s + m*d, j*s + n*d] * F[f,c,m,n]

    ``groups = 1`` is :func:`conv2d`; ``groups = C`` is a depthwise
    convolution.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (K, C / groups, HH, WW)
    b : ndarray of shape (K,), optional
    stride, padding, dilation : int or (h, w) pair
    groups : int
        Divides C and K.

    Returns
    -------
    out : ndarray of shape (N, K, H_out, W_out)
        ``H_out = floor((H + 2p - d(HH - 1) - 1) / s) + 1``.
    """
    x, w, b, out_shape, hyper, groups = grouped_conv_args(
        x, w, b, stride, padding, dilation, groups)
    (sh, sw), (ph, pw), (dh, dw) = hyper
    N, K, H_out, W_out = out_shape
    _, Cg, HH, WW = w.shape
    Kg = K // groups
    x_pad = pad(x, (ph, pw))
    out = np.zeros(out_shape, x.dtype)
    for a in range(N):
        for f in range(K):
            g = f // Kg
            for i in range(H_out):
                for j in range(W_out):
                    total = 0.0 if b is None else b[f]
                    for c in range(Cg):
                        for m in range(HH):
                            for n in range(WW):
                                total += (
                                    x_pad[a, g * Cg + c, i * sh + m * dh,
                                          j * sw + n * dw]
                                    * w[f, c, m, n]
                                )
                    out[a, f, i, j] = total
    return out


def grouped_conv2d_backward(dout, x, w, stride=1, padding=0, dilation=1,
                            groups=1):
    """Backward pass of :func:`grouped_conv2d`, loops.

    Every term ``X^pad[a, g*Cg + c, u, v] * F[f,c,m,n]`` of the forward
    sum, with ``u = i*s + m*d`` and ``v = j*s + n*d``, sends
    ``dout[a,f,i,j] * F[f,c,m,n]`` to that input cell and
    ``dout[a,f,i,j] * X^pad[a, g*Cg + c, u, v]`` to that weight; the
    padding is cropped from dX at the end.

    Parameters
    ----------
    dout : ndarray of shape (N, K, H_out, W_out)
        Upstream gradient dL/dO.
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (K, C / groups, HH, WW)
    stride, padding, dilation, groups : see :func:`grouped_conv2d`

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    dw : ndarray of shape (K, C / groups, HH, WW)
    db : ndarray of shape (K,)
    """
    x, w, _, out_shape, hyper, groups = grouped_conv_args(
        x, w, None, stride, padding, dilation, groups)
    dout = dout_arg(dout, out_shape, "grouped_conv2d(x, w)")
    (sh, sw), (ph, pw), (dh, dw_) = hyper
    N, K, H_out, W_out = out_shape
    _, C, H, W = x.shape
    _, Cg, HH, WW = w.shape
    Kg = K // groups
    x_pad = pad(x, (ph, pw))
    dtype = np.result_type(x, dout)
    dx_pad = np.zeros(x_pad.shape, dtype)
    dw = np.zeros(w.shape, dtype)
    db = np.zeros(K, dtype)
    for a in range(N):
        for f in range(K):
            g = f // Kg
            for i in range(H_out):
                for j in range(W_out):
                    db[f] += dout[a, f, i, j]
                    for c in range(Cg):
                        for m in range(HH):
                            for n in range(WW):
                                u, v = i * sh + m * dh, j * sw + n * dw_
                                dx_pad[a, g * Cg + c, u, v] += (
                                    dout[a, f, i, j] * w[f, c, m, n])
                                dw[f, c, m, n] += (
                                    dout[a, f, i, j]
                                    * x_pad[a, g * Cg + c, u, v])
    return dx_pad[:, :, ph:ph + H, pw:pw + W], dw, db


def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0,
                     dilation=1, groups=1):
    """Transposed convolution forward pass, loops (``F.conv_transpose2d``).

    Every input cell stamps a scaled copy of its filters into the
    output, ``s`` cells apart, and the padding is then cropped::

        O^pad[a, g*Kg + f, i*s + m*d, j*s + n*d] += X[a,c,i,j] * F[c,f,m,n]
        O = O^pad[:, :, p:p + H_out, p:p + W_out] + b

    for every channel c of block ``g = c // Cg`` (``Cg = C / groups``)
    and its ``Kg = K / groups`` outputs f.  This is the input gradient
    of :func:`grouped_conv2d` with the same w, stride, padding, dilation
    and groups, and ``output_padding`` is the number of leftover rows
    (columns) at the bottom (right) that such a convolution never reads.

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
    (sh, sw), (ph, pw), (dh, dw), _ = hyper
    N, K, H_out, W_out = out_shape
    C, Kg, HH, WW = w.shape
    _, _, H, W = x.shape
    Cg = C // groups
    out_pad = np.zeros((N, K, H_out + 2 * ph, W_out + 2 * pw), x.dtype)
    for a in range(N):
        for c in range(C):
            g = c // Cg
            for i in range(H):
                for j in range(W):
                    for f in range(Kg):
                        for m in range(HH):
                            for n in range(WW):
                                out_pad[a, g * Kg + f, i * sh + m * dh,
                                        j * sw + n * dw] += (
                                    x[a, c, i, j] * w[c, f, m, n])
    out = out_pad[:, :, ph:ph + H_out, pw:pw + W_out]
    if b is not None:
        for f in range(K):
            out[:, f] += b[f]
    return out


def conv_transpose2d_backward(dout, x, w, stride=1, padding=0,
                              output_padding=0, dilation=1, groups=1):
    """Backward pass of :func:`conv_transpose2d`, loops.

    With ``D = pad(dout, p)`` (the gradient of O^pad), every stamped term
    ``X[a,c,i,j] * F[c,f,m,n]`` read ``D[a, g*Kg + f, i*s + m*d,
    j*s + n*d]``, so::

        dX[a,c,i,j] = sum_{f,m,n} D[a, g*Kg + f, i*s + m*d, j*s + n*d]
                      * F[c,f,m,n]
        dF[c,f,m,n] = sum_{a,i,j} X[a,c,i,j]
                      * D[a, g*Kg + f, i*s + m*d, j*s + n*d]

    dX is a (grouped) convolution of dL/dO with the same w.

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
    dw : ndarray of shape (C, K / groups, HH, WW)
    db : ndarray of shape (K,)
    """
    x, w, _, out_shape, hyper, groups = conv_transpose_args(
        x, w, None, stride, padding, output_padding, dilation, groups)
    dout = dout_arg(dout, out_shape, "conv_transpose2d(x, w)")
    (sh, sw), (ph, pw), (dh, dw_), _ = hyper
    N, C, H, W = x.shape
    _, Kg, HH, WW = w.shape
    Cg = C // groups
    d_pad = pad(dout, (ph, pw))
    dtype = np.result_type(x, dout)
    dx = np.zeros(x.shape, dtype)
    dw = np.zeros(w.shape, dtype)
    for a in range(N):
        for c in range(C):
            g = c // Cg
            for i in range(H):
                for j in range(W):
                    for f in range(Kg):
                        for m in range(HH):
                            for n in range(WW):
                                d = d_pad[a, g * Kg + f, i * sh + m * dh,
                                          j * sw + n * dw_]
                                dx[a, c, i, j] += d * w[c, f, m, n]
                                dw[c, f, m, n] += x[a, c, i, j] * d
    return dx, dw, bias_gradient(dout)


def _batch_stats(x):
    """Per-channel mean and biased variance over (N, H, W), loops."""
    N, C, H, W = x.shape
    M = N * H * W
    mean = np.zeros(C, x.dtype)
    var = np.zeros(C, x.dtype)
    for c in range(C):
        total = 0.0
        for a in range(N):
            for u in range(H):
                for v in range(W):
                    total += x[a, c, u, v]
        mean[c] = total / M
        total = 0.0
        for a in range(N):
            for u in range(H):
                for v in range(W):
                    total += (x[a, c, u, v] - mean[c]) ** 2
        var[c] = total / M
    return mean, var


def batchnorm2d(x, gamma, beta, eps=1e-5):
    """Spatial batch norm, training mode, loops (``F.batch_norm``).

    Per channel c, over the ``M = N*H*W`` values of the batch::

        mu[c]  = (1/M) sum_{a,u,v} X[a,c,u,v]
        var[c] = (1/M) sum_{a,u,v} (X[a,c,u,v] - mu[c])**2   (biased)
        Xhat   = (X[a,c,u,v] - mu[c]) / sqrt(var[c] + eps)
        O[a,c,u,v] = gamma[c] * Xhat + beta[c]

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        N*H*W >= 2.
    gamma, beta : ndarray of shape (C,)
        Scale and shift.
    eps : float
        Added to the variance, > 0.

    Returns
    -------
    out : ndarray of shape (N, C, H, W)
    """
    x, gamma, beta = batchnorm_args(x, gamma, beta, eps)
    N, C, H, W = x.shape
    mean, var = _batch_stats(x)
    out = np.zeros(x.shape, x.dtype)
    for c in range(C):
        std = np.sqrt(var[c] + eps)
        for a in range(N):
            for u in range(H):
                for v in range(W):
                    xhat = (x[a, c, u, v] - mean[c]) / std
                    out[a, c, u, v] = gamma[c] * xhat + beta[c]
    return out


def batchnorm2d_backward(dout, x, gamma, eps=1e-5):
    """Backward pass of :func:`batchnorm2d`, loops, node by node.

    Back through the graph x -> (mu, var) -> Xhat -> O, one node at a
    time (``xc = X - mu``, ``istd = 1 / sqrt(var + eps)``)::

        dXhat = dout * gamma
        dvar  = sum_{a,u,v} dXhat * xc * (-1/2) * istd**3
        dmu   = sum_{a,u,v} -dXhat * istd + dvar * sum_{a,u,v} -2 xc / M
        dX    = dXhat * istd + dvar * 2 xc / M + dmu / M
        dgamma = sum_{a,u,v} dout * Xhat,   dbeta = sum_{a,u,v} dout

    (``sum xc`` is 0, so the second term of dmu vanishes; the compact
    formula of :func:`cnnbp.norm.batchnorm2d_backward` follows.)

    Parameters
    ----------
    dout : ndarray of shape (N, C, H, W)
        Upstream gradient dL/dO.
    x : ndarray of shape (N, C, H, W)
        The forward input.
    gamma : ndarray of shape (C,)
    eps : float

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    dgamma : ndarray of shape (C,)
    dbeta : ndarray of shape (C,)
    """
    x, gamma, _ = batchnorm_args(x, gamma, None, eps)
    dout = dout_arg(dout, x.shape, "batchnorm2d(x)")
    N, C, H, W = x.shape
    M = N * H * W
    mean, var = _batch_stats(x)
    dtype = np.result_type(x, dout)
    dx = np.zeros(x.shape, dtype)
    dgamma = np.zeros(C, dtype)
    dbeta = np.zeros(C, dtype)
    cells = [(a, u, v) for a in range(N) for u in range(H)
             for v in range(W)]
    for c in range(C):
        istd = 1.0 / np.sqrt(var[c] + eps)
        dvar, dmu, sum_xc = 0.0, 0.0, 0.0
        for a, u, v in cells:
            xc = x[a, c, u, v] - mean[c]
            dxhat = dout[a, c, u, v] * gamma[c]
            dvar += dxhat * xc * -0.5 * istd ** 3
            dmu += -dxhat * istd
            sum_xc += xc
            dgamma[c] += dout[a, c, u, v] * xc * istd
            dbeta[c] += dout[a, c, u, v]
        dmu += dvar * -2.0 * sum_xc / M
        for a, u, v in cells:
            xc = x[a, c, u, v] - mean[c]
            dxhat = dout[a, c, u, v] * gamma[c]
            dx[a, c, u, v] = (dxhat * istd + dvar * 2.0 * xc / M
                              + dmu / M)
    return dx, dgamma, dbeta
