"""Fast grouped convolution: forward and backward, any ``groups``.

The fast twins of :func:`cnnbp.naive.grouped_conv2d` and
:func:`cnnbp.naive.grouped_conv2d_backward` (``F.conv2d`` with
``groups``).  The C channels and K filters form ``groups`` blocks of
``Cg = C / groups`` channels and ``Kg = K / groups`` filters; w is
(K, Cg, HH, WW).  Output size as for every convolution:
``H_out = floor((H + 2p - d(HH - 1) - 1) / s) + 1``, same for W.

Two algorithms compute the same numbers; the shapes pick one:

- **Convolution matrix** (small images).  Per group, the convolution is
  one matrix: ``out_g = x_g @ A_g`` with x_g the (N, Cg*H*W) flattened
  inputs and ``A_g[(c, u, v), (f, i, j)] = w[f, c, m, n]`` wherever
  input cell (u, v) meets tap (m, n) of output cell (i, j), zero
  elsewhere.  Then ``dx_g = dout_g @ A_g.T`` (the adjoint is the
  transpose) and dw gathers ``x_g.T @ dout_g`` back onto the taps.  A
  holds ``H*W / (HH*WW)`` times more products than the convolution
  needs, but three large matrix products beat the memory traffic of
  im2col when Cg and Kg are small (depthwise) and H*W is small.
- **Grouped im2col** (everything else): the columns of every group, one
  batched matrix product, and the scatter-add adjoint for dX.  The batch
  is taken a few samples at a time (``CHUNK_ENTRIES`` column entries),
  so that the columns stay in the cache; the backward pass builds them
  again rather than keeping them.  With stride 1 the backward pass
  needs no scatter: dX is itself a convolution, of dout padded by
  ``d(HH - 1) - p`` with the flipped filters, channels and filters
  exchanged (``w'[c, f, m, n] = w[f, c, HH-1-m, WW-1-n]`` per group);
  the columns of dout then give both ``dX = cols(dout) @ w'`` and the
  flipped filter gradient ``x_g.T @ cols(dout)``.

The module also provides the primitives of :mod:`cnnbp.transpose`: a
transposed convolution is the input gradient of a grouped convolution.
"""

import functools

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .shapes import dout_arg, grouped_conv_args

__all__ = ["grouped_conv2d", "grouped_conv2d_backward"]

#: The convolution matrix is used when it has at most ``MATRIX_ENTRIES``
#: entries, at most ``MATRIX_RATIO`` times the products of the
#: convolution (``H*W <= MATRIX_RATIO * HH*WW``) and a block of at most
#: ``MATRIX_BLOCK`` filter-channel pairs (``Cg * Kg``).
MATRIX_ENTRIES = 2 ** 21
MATRIX_RATIO = 16
MATRIX_BLOCK = 4
#: Entries of im2col columns built at a time.
CHUNK_ENTRIES = 2 ** 18


@functools.lru_cache(maxsize=64)
def _tap_matrix(in_hw, out_hw, k_hw, hyper, dtype):
    """0/1 matrix T of shape (H*W*H_out*W_out, HH*WW), read-only.

    ``T[(u, v, i, j), (m, n)] = 1`` iff ``u = i*sh - ph + m*dh`` and
    ``v = j*sw - pw + n*dw``: output cell (i, j) reads input cell (u, v)
    with filter tap (m, n).  Padding cells are not in X: no entry.
    """
    (sh, sw), (ph, pw), (dh, dw) = hyper
    (H, W), (H_out, W_out), (HH, WW) = in_hw, out_hw, k_hw
    rows = []
    for n_in, n_out, k, s, p, d in ((H, H_out, HH, sh, ph, dh),
                                    (W, W_out, WW, sw, pw, dw)):
        u = (s * np.arange(n_out)[:, None] - p
             + d * np.arange(k)[None, :])
        rows.append(u[None, :, :] == np.arange(n_in)[:, None, None])
    th, tw = rows
    T = (th[:, None, :, None, :, None] & tw[None, :, None, :, None, :])
    T = T.reshape(H * W * H_out * W_out, HH * WW).astype(dtype)
    T.flags.writeable = False
    return T


def _use_matrix(x_shape, w_shape, groups, out_hw):
    _, _, H, W = x_shape
    K, Cg, HH, WW = w_shape
    entries = K * Cg * H * W * out_hw[0] * out_hw[1]
    return (entries <= MATRIX_ENTRIES and Cg * K // groups <= MATRIX_BLOCK
            and H * W <= MATRIX_RATIO * HH * WW)


def _conv_matrix(w, groups, T, in_hw, out_hw):
    """A of shape (groups, Cg*H*W, Kg*H_out*W_out), see module doc."""
    K, Cg, HH, WW = w.shape
    HW, Q = in_hw[0] * in_hw[1], out_hw[0] * out_hw[1]
    A = w.reshape(K * Cg, HH * WW) @ T.T
    A = A.reshape(groups, K // groups, Cg, HW, Q).transpose(0, 2, 3, 1, 4)
    return A.reshape(groups, Cg * HW, -1)


def _by_group(a, groups):
    """(N, C, H, W) as a (groups, N, C/groups*H*W) view (a copy if
    ``a`` is not C-contiguous)."""
    return a.reshape(a.shape[0], groups, -1).transpose(1, 0, 2)


def _pad_groups(x, groups, ph, pw):
    """X^pad by group, channels last: (groups, N, H + 2ph, W + 2pw, Cg)."""
    N, C, H, W = x.shape
    x_pad = np.zeros((groups, N, H + 2 * ph, W + 2 * pw, C // groups),
                     x.dtype)
    x_pad[:, :, ph:ph + H, pw:pw + W] = (
        x.reshape(N, groups, -1, H, W).transpose(1, 0, 3, 4, 2))
    return x_pad


def _cols(x, HH, WW, groups, out_hw, hyper):
    """Grouped im2col: (groups, N*H_out*W_out, HH*WW*Cg), (m, n, c)."""
    (sh, sw), (ph, pw), (dh, dw) = hyper
    N, C = x.shape[:2]
    H_out, W_out = out_hw
    x_pad = _pad_groups(x, groups, ph, pw)
    sG, sN, sH, sW, sC = x_pad.strides
    win = as_strided(
        x_pad,
        shape=(groups, N, H_out, W_out, HH, WW, C // groups),
        strides=(sG, sN, sH * sh, sW * sw, sH * dh, sW * dw, sC),
        writeable=False,
    )
    return win.reshape(groups, N * H_out * W_out, -1)


def _w_mat(w, groups):
    """w (K, Cg, HH, WW) as (groups, HH*WW*Cg, Kg), rows (m, n, c)."""
    K, Cg, HH, WW = w.shape
    return (w.reshape(groups, K // groups, Cg, HH, WW)
            .transpose(0, 3, 4, 2, 1).reshape(groups, HH * WW * Cg, -1))


def _rows(dout, groups):
    """dout (N, K, H_out, W_out) as (groups, N*H_out*W_out, Kg)."""
    N, K, H_out, W_out = dout.shape
    return (dout.reshape(N, groups, K // groups, H_out * W_out)
            .transpose(1, 0, 3, 2).reshape(groups, -1, K // groups))


def _flip_padding(x_hw, w_shape, out_hw, hyper):
    """Padding ``(qh, qw)`` of the convolution of dout that gives dX
    (see the module doc), or None if there is none: stride > 1,
    ``p > d(HH - 1)``, or rows or columns of X that no window reaches
    (a transposed convolution's output_padding)."""
    (sh, sw), (ph, pw), (dh, dw) = hyper
    q = (dh * (w_shape[2] - 1) - ph, dw * (w_shape[3] - 1) - pw)
    reach = (x_hw[0] - q[0] + ph, x_hw[1] - q[1] + pw)
    if (sh, sw) != (1, 1) or min(q) < 0 or reach != tuple(out_hw):
        return None
    return q


def _flipped(w, groups):
    """w' of shape (C, K/groups, HH, WW): per group the filters flipped
    in space, channels and filters exchanged (see the module doc)."""
    K, Cg, HH, WW = w.shape
    return (w.reshape(groups, K // groups, Cg, HH, WW)[..., ::-1, ::-1]
            .transpose(0, 2, 1, 3, 4).reshape(groups * Cg, -1, HH, WW))


def _to_nchw(rows, n, H_out, W_out):
    """(groups, n*H_out*W_out, Kg) products as (n, K, H_out, W_out)."""
    groups, _, Kg = rows.shape
    return (rows.reshape(groups, n, H_out, W_out, Kg)
            .transpose(1, 0, 4, 2, 3).reshape(n, groups * Kg, H_out, W_out))


def _chunks(N, per_sample):
    """Slices of the batch holding about ``CHUNK_ENTRIES`` entries."""
    step = max(1, CHUNK_ENTRIES // per_sample)
    return [slice(a, a + step) for a in range(0, N, step)]


def _context(x, w_shape, groups, out_hw, hyper):
    """What the filter gradient needs from the convolution's input x:
    ``(algorithm, x)`` with algorithm ``"matrix"`` or ``"im2col"``."""
    if _use_matrix(x.shape, w_shape, groups, out_hw):
        return "matrix", x
    return "im2col", x


def _forward(x, w, groups, out_hw, hyper):
    """``(out, ctx)``: the convolution without bias, of shape
    (N, K, H_out, W_out), and the :func:`_context` of x."""
    N, _, H, W = x.shape
    K, Cg, HH, WW = w.shape
    H_out, W_out = out_hw
    kind, data = ctx = _context(x, w.shape, groups, out_hw, hyper)
    dtype = np.result_type(x, w)
    if kind == "matrix":
        T = _tap_matrix((H, W), out_hw, (HH, WW), hyper, dtype.str)
        A = _conv_matrix(w, groups, T, (H, W), out_hw)
        out = np.empty((N, K, H_out, W_out), dtype)
        np.matmul(_by_group(x, groups), A, out=_by_group(out, groups))
        return out, ctx
    w_mat = _w_mat(w, groups)
    out = np.empty((N, K, H_out, W_out), dtype)
    for part in _chunks(N, groups * Cg * HH * WW * H_out * W_out):
        x_part = x[part]
        n = x_part.shape[0]
        cols = _cols(x_part, HH, WW, groups, out_hw, hyper)
        out[part] = _to_nchw(np.matmul(cols, w_mat), n, H_out, W_out)
    return out, ctx


def _input_grad(dout, x_shape, w, groups, hyper):
    """dX (N, C, H, W) of a grouped convolution whose output grad is dout.

    The windows are those of dout's H_out x W_out output cells; cells of
    X that no window reaches get zero.
    """
    (sh, sw), (ph, pw), (dh, dw) = hyper
    N, C, H, W = x_shape
    K, Cg, HH, WW = w.shape
    H_out, W_out = out_hw = dout.shape[2:]
    dtype = np.result_type(dout, w)
    if _use_matrix(x_shape, w.shape, groups, out_hw):
        T = _tap_matrix((H, W), out_hw, (HH, WW), hyper, dtype.str)
        A = _conv_matrix(w, groups, T, (H, W), out_hw)
        dx = np.empty(x_shape, dtype)
        np.matmul(_by_group(dout, groups), A.transpose(0, 2, 1),
                  out=_by_group(dx, groups))
        return dx
    q = _flip_padding((H, W), w.shape, out_hw, hyper)
    if q is not None:
        return _forward(dout, _flipped(w, groups), groups, (H, W),
                        ((1, 1), q, (dh, dw)))[0]
    w_taps = (w.reshape(groups, K // groups, Cg, HH * WW)
              .transpose(0, 3, 1, 2))
    dx = np.empty(x_shape, dtype)
    for part in _chunks(N, groups * Cg * HH * WW * H_out * W_out):
        d_part = dout[part]
        k = d_part.shape[0]
        parts = np.matmul(_rows(d_part, groups)[:, None], w_taps)
        dx_pad = np.zeros((groups, k, H + 2 * ph, W + 2 * pw, Cg), dtype)
        for m in range(HH):
            for n in range(WW):
                r0, c0 = m * dh, n * dw
                dx_pad[:, :, r0:r0 + sh * (H_out - 1) + 1:sh,
                       c0:c0 + sw * (W_out - 1) + 1:sw] += parts[
                    :, m * WW + n].reshape(groups, k, H_out, W_out, Cg)
        dx[part] = (dx_pad[:, :, ph:ph + H, pw:pw + W]
                    .transpose(1, 0, 4, 2, 3).reshape((k,) + x_shape[1:]))
    return dx


def _filter_grad(dout, ctx, w_shape, groups, hyper):
    """dw = dL/dF (K, Cg, HH, WW) from dout and the forward's ``ctx``."""
    K, Cg, HH, WW = w_shape
    Kg = K // groups
    kind, data = ctx
    if kind == "matrix":
        H, W = data.shape[2:]
        out_hw = dout.shape[2:]
        dtype = np.result_type(dout, data)
        T = _tap_matrix((H, W), out_hw, (HH, WW), hyper, dtype.str)
        dA = np.matmul(_by_group(data, groups).transpose(0, 2, 1),
                       _by_group(dout, groups))
        dA = dA.reshape(groups, Cg, H * W, Kg, -1).transpose(0, 3, 1, 2, 4)
        return (dA.reshape(K * Cg, -1) @ T).reshape(w_shape)
    out_hw = dout.shape[2:]
    dw = sum(np.matmul(_rows(dout[part], groups).transpose(0, 2, 1),
                       _cols(data[part], HH, WW, groups, out_hw, hyper))
             for part in _chunks(dout.shape[0], groups * Cg * HH * WW
                                 * out_hw[0] * out_hw[1]))
    dw = dw.reshape(groups, Kg, HH, WW, Cg).transpose(0, 1, 4, 2, 3)
    return np.ascontiguousarray(dw).reshape(w_shape)


def _flip_backward(dout, x, w, groups, q, dilation):
    """``(dx, dw)`` of a stride-1 im2col convolution from one set of
    columns of dout, padded by q (see the module doc)."""
    N, C, H, W = x.shape
    K, Cg, HH, WW = w.shape
    Kg = K // groups
    dtype = np.result_type(dout, w)
    hyper = ((1, 1), q, dilation)
    w_mat = _w_mat(_flipped(w, groups), groups)
    dx = np.empty(x.shape, dtype)
    dw_mat = np.zeros((groups, Cg, HH * WW * Kg), dtype)
    for part in _chunks(N, K * HH * WW * H * W):
        d_cols = _cols(dout[part], HH, WW, groups, (H, W), hyper)
        n = d_cols.shape[1] // (H * W)
        dx[part] = _to_nchw(np.matmul(d_cols, w_mat), n, H, W)
        x_g = (x[part].reshape(n, groups, Cg, H * W).transpose(1, 2, 0, 3)
               .reshape(groups, Cg, n * H * W))
        dw_mat += np.matmul(x_g, d_cols)
    dw = (dw_mat.reshape(groups, Cg, HH, WW, Kg)[:, :, ::-1, ::-1]
          .transpose(0, 4, 1, 2, 3))
    return dx, np.ascontiguousarray(dw).reshape(w.shape)


def _backward(dout, ctx, x_shape, w, groups, hyper):
    """``(dx, dw, db)`` from dout and the forward's ``ctx``."""
    db = dout.sum(axis=(0, 2, 3))
    q = _flip_padding(x_shape[2:], w.shape, dout.shape[2:], hyper)
    if ctx[0] == "im2col" and q is not None:
        return _flip_backward(dout, ctx[1], w, groups, q, hyper[2]) + (db,)
    dw = _filter_grad(dout, ctx, w.shape, groups, hyper)
    dx = _input_grad(dout, x_shape, w, groups, hyper)
    return dx, dw, db


def grouped_conv2d(x, w, b=None, stride=1, padding=0, dilation=1,
                   groups=1):
    """Grouped convolution forward pass, fast (``F.conv2d``, groups).

    Same contract as :func:`cnnbp.naive.grouped_conv2d`: filter f of
    block ``g = f // Kg`` sees only channels ``g*Cg .. (g + 1)*Cg - 1``.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (K, C / groups, HH, WW)
    b : ndarray of shape (K,), optional
    stride, padding, dilation : int or (h, w) pair
    groups : int
        Divides C and K; ``groups = C`` is depthwise.

    Returns
    -------
    out : ndarray of shape (N, K, H_out, W_out)
    """
    x, w, b, out_shape, hyper, groups = grouped_conv_args(
        x, w, b, stride, padding, dilation, groups)
    out, _ = _forward(x, w, groups, out_shape[2:], hyper)
    if b is not None:
        out += b[:, None, None]
    return out


def grouped_conv2d_backward(dout, x, w, stride=1, padding=0, dilation=1,
                            groups=1):
    """Backward pass of :func:`grouped_conv2d`, fast.

    Per group g, the ungrouped formulas on the group's channels and
    filters (see the module docstring for the two algorithms);
    ``db = dout.sum((0, 2, 3))``.

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
    ctx = _context(x, w.shape, groups, out_shape[2:], hyper)
    return _backward(dout, ctx, x.shape, w, groups, hyper)
