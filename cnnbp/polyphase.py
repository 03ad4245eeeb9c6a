"""Strided convolution through phase planes, one matrix product per image.

With stride s, output cell (i, j) reads ``X^pad[i*s + m*d, j*s + n*d]``
under filter tap (m, n).  Split X^pad into its ``s_h * s_w`` *phase
planes* ``P[r, q][a, b] = X^pad[r + a*s_h, q + b*s_w]`` (every s-th row
starting at row r, every s-th column starting at column q).  Tap (m, n)
then reads one plane at a fixed offset, with unit stride::

    X^pad[i*s_h + m*d_h, ...] = P[r, q][i + oh, j + ow],
    r = (m*d_h) % s_h,  oh = (m*d_h) // s_h   (same for columns)

so a stride-s convolution is a sum of stride-1 correlations of the phase
planes with the taps that fall on them (for 3x3, stride 2: 4 taps on
plane (0, 0), 2 on (0, 1), 2 on (1, 0), 1 on (1, 1)).  Here that gives
an im2col in the NCHW layout, whose rows are taps and whose columns are
output cells; it suits layers with few input channels, where a
channels-last im2col copies runs of only C numbers:

- forward: ``cols[a]`` of shape (C*HH*WW + 1, H_out*W_out) is filled with
  one contiguous window copy per tap (plus a row of ones), and one matrix
  product per image, ``[w | b] @ cols[a]``, writes ``out[a]`` in NCHW
  directly, with the bias folded in;
- backward: ``dw`` and ``db`` come from ``dout[a] @ cols[a].T`` summed over
  the images (the ones row gives ``db``), ``dcols[a] = w_mat.T @ dout[a]``,
  and the scatter-add of col2im becomes *polyphase*: every tap's rows are
  added, at its offset, into the gradient of its phase plane (unit-stride
  adds), and the planes are then interleaved into dx (plane (r, q) fills
  the rows and columns of X^pad congruent to (r, q) modulo the stride),
  dropping the padding as they go; no padded image is ever built.

Rows and columns of X that no window reaches (the leftover rows of a
stride that does not divide evenly) get zero gradient.  The batch is
processed in chunks of images whose columns fit in the cache.
"""

import numpy as np

from . import blas

__all__ = ["forward", "backward", "prepare"]

#: Bytes of one chunk's columns.
CHUNK_BYTES = 2 ** 20


class _Plan:
    """Shapes, taps and phase planes of one problem."""

    def __init__(self, x_shape, w_shape, out_shape, hyper, dtype):
        (self.sh, self.sw), (self.ph, self.pw), (dh, dw) = hyper
        self.N, self.C, self.H, self.W = x_shape
        self.K, _, self.HH, self.WW = w_shape
        self.Ho, self.Wo = out_shape[2:]
        self.CHW = self.C * self.HH * self.WW
        self.P = self.Ho * self.Wo
        self.dtype = np.dtype(dtype)
        self.taps = [(m, n, ((m * dh) % self.sh, (n * dw) % self.sw),
                      (m * dh) // self.sh, (n * dw) // self.sw)
                     for m in range(self.HH) for n in range(self.WW)]
        self.phases = sorted({tap[2] for tap in self.taps})
        self.first = {}
        for m, n, rq, _, _ in self.taps:
            self.first.setdefault(rq, (m, n))
        self.Hr = self.Ho + (dh * (self.HH - 1)) // self.sh
        self.Wq = self.Wo + (dw * (self.WW - 1)) // self.sw
        per_image = (self.CHW + 1) * self.P * self.dtype.itemsize
        self.nb = int(np.clip(CHUNK_BYTES // per_image, 1, self.N))

    def chunks(self):
        """``(n0, n1)`` of every chunk of at most ``nb`` images."""
        return [(n0, min(n0 + self.nb, self.N))
                for n0 in range(0, self.N, self.nb)]

    def window(self, r, q):
        """Where phase plane (r, q) meets X: planes' and X's slices.

        Plane row ``a`` is X row ``r + a*sh - ph``; returns
        ``(plane_rows, plane_cols, x_rows, x_cols)`` as slices, for the
        rows and columns of X that are in the plane.
        """
        a0 = max(0, -(-(self.ph - r) // self.sh))
        b0 = max(0, -(-(self.pw - q) // self.sw))
        u0 = r + a0 * self.sh - self.ph
        v0 = q + b0 * self.sw - self.pw
        na = min(len(range(u0, self.H, self.sh)), self.Hr - a0)
        nb = min(len(range(v0, self.W, self.sw)), self.Wq - b0)
        return (slice(a0, a0 + na), slice(b0, b0 + nb),
                slice(u0, u0 + na * self.sh, self.sh),
                slice(v0, v0 + nb * self.sw, self.sw))


def _fill_cols(xc, cols, plan, planes):
    """Phase planes of a chunk, then one window copy per tap."""
    p = plan
    for rq in p.phases:
        pa, pb, xu, xv = p.window(*rq)
        planes[rq][:, :, pa, pb] = xc[:, :, xu, xv]
    view = cols[:, :p.CHW].reshape(len(xc), p.C, p.HH, p.WW, p.Ho, p.Wo)
    for m, n, rq, oh, ow in p.taps:
        view[:, :, m, n] = planes[rq][:, :, oh:oh + p.Ho, ow:ow + p.Wo]


def _check_dtype(dtype):
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise ValueError(
            f"the fast algorithms need float32 or float64, got {dtype}")


def prepare(x, w, out_shape, hyper):
    """The columns of every image: what :func:`backward` needs.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W), C-contiguous
    w : ndarray of shape (K, C, HH, WW)
    out_shape : tuple (N, K, H_out, W_out)
    hyper : ((sh, sw), (ph, pw), (dh, dw))

    Returns
    -------
    cache : tuple
        For :func:`backward`.
    """
    return _run(x, w, None, out_shape, hyper, None)[1]


def forward(x, w, b, out_shape, hyper):
    """Forward pass; returns ``(out, cache)``.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W), C-contiguous
    w : ndarray of shape (K, C, HH, WW)
    b : ndarray of shape (K,) or None
    out_shape : tuple (N, K, H_out, W_out)
    hyper : ((sh, sw), (ph, pw), (dh, dw))

    Returns
    -------
    out : ndarray of shape (N, K, H_out, W_out)
    cache : tuple
        The columns of every image, for :func:`backward`.
    """
    return _run(x, w, b, out_shape, hyper, np.empty(out_shape, x.dtype))


def _run(x, w, b, out_shape, hyper, out):
    """Columns chunk by chunk, each followed by its products if ``out``."""
    _check_dtype(x.dtype)
    plan = _Plan(x.shape, w.shape, out_shape, hyper, x.dtype)
    p = plan
    cols = np.empty((p.N, p.CHW + 1, p.P), x.dtype)
    cols[:, p.CHW] = 1
    wext = np.empty((p.K, p.CHW + 1), x.dtype)
    wext[:, :p.CHW] = w.reshape(p.K, p.CHW)
    wext[:, p.CHW] = 0 if b is None else b
    planes = {}
    for n0, n1 in plan.chunks():
        k = n1 - n0
        if k not in planes:
            planes[k] = {rq: np.zeros((k, p.C, p.Hr, p.Wq), x.dtype)
                         for rq in p.phases}
        _fill_cols(x[n0:n1], cols[n0:n1], plan, planes[k])
        if out is not None:
            blas.matmul(wext, cols[n0:n1],
                        out=out[n0:n1].reshape(k, p.K, p.P))
    return out, (plan, cols, w)


def backward(dout, cache):
    """Backward pass of :func:`forward`, with a polyphase col2im.

    Parameters
    ----------
    dout : ndarray of shape (N, K, H_out, W_out), C-contiguous
    cache : tuple
        From :func:`forward` or :func:`prepare`.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    dw : ndarray of shape (K, C, HH, WW)
    db : ndarray of shape (K,)
    """
    plan, cols, w = cache
    p = plan
    w_t = np.ascontiguousarray(w.reshape(p.K, p.CHW).T)
    dwext = np.zeros((p.K, p.CHW + 1))
    dx = np.empty((p.N, p.C, p.H, p.W), p.dtype)
    d_rows = dout.reshape(p.N, p.K, p.P)
    work = {}
    for n0, n1 in plan.chunks():
        k = n1 - n0
        if k not in work:
            work[k] = (np.empty((k, p.K, p.CHW + 1), p.dtype),
                       np.empty((k, p.CHW, p.P), p.dtype),
                       {rq: np.empty((k, p.C, p.Hr, p.Wq), p.dtype)
                        for rq in p.phases})
        part, dcols, dplanes = work[k]
        blas.matmul(d_rows[n0:n1], cols[n0:n1].transpose(0, 2, 1), out=part)
        dwext += part.sum(axis=0)
        blas.matmul(w_t, d_rows[n0:n1], out=dcols)
        _col2im(dcols, dx[n0:n1], plan, dplanes)
    dw = dwext[:, :p.CHW].reshape(p.K, p.C, p.HH, p.WW)
    return dx, dw.astype(p.dtype), dwext[:, p.CHW].astype(p.dtype)


def _col2im(dcols, dxc, plan, dplanes):
    """Polyphase scatter-add of a chunk's (k, CHW, P) column gradients."""
    p = plan
    k = len(dxc)
    view = dcols.reshape(k, p.C, p.HH, p.WW, p.Ho, p.Wo)
    for m, n, rq, oh, ow in p.taps:
        plane = dplanes[rq]
        rows, cols = slice(oh, oh + p.Ho), slice(ow, ow + p.Wo)
        if (m, n) != p.first[rq]:
            plane[:, :, rows, cols] += view[:, :, m, n]
            continue
        # the plane's first tap is written, the rest of the plane zeroed
        plane[:, :, rows, cols] = view[:, :, m, n]
        plane[:, :, :oh] = plane[:, :, oh + p.Ho:] = 0
        plane[:, :, rows, :ow] = plane[:, :, rows, ow + p.Wo:] = 0
    for r in range(p.sh):
        for q in range(p.sw):
            pa, pb, xu, xv = p.window(r, q)
            target = dxc[:, :, xu.start::p.sh, xv.start::p.sw]
            if (r, q) not in dplanes:
                target[...] = 0
                continue
            na, nb = pa.stop - pa.start, pb.stop - pb.start
            target[:, :, :na, :nb] = dplanes[r, q][:, :, pa, pb]
            target[:, :, na:] = 0
            target[:, :, :na, nb:] = 0
