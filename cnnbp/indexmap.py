"""Which input, filter and output cells meet: the single truth the views draw.

A convolution (cross-correlation, as in every deep-learning framework)
with stride ``s``, padding ``p`` and dilation ``d`` (each per axis) reads

    O[i, j] = sum_m sum_n X^pad[i*s + m*d, j*s + n*d] F[m, n]

so one *meeting* ties output cell ``(i, j)``, filter cell ``(m, n)`` and
padded input cell ``(u_pad, v_pad) = (i*s + m*d, j*s + n*d)``.  The input
cell in original coordinates is ``(u_pad - p, v_pad - p)``, or ``None``
when the meeting lands in the zero padding.  Every gradient sum is a sum
over the same meetings, grouped differently:

- forward, output ``(i, j)``:   ``O[i,j] = sum X^pad[u_pad,v_pad] F[m,n]``
- dL/dF, filter cell ``(m, n)``: ``dF[m,n] = sum dO[i,j] X^pad[u_pad,v_pad]``
- dL/dX, input cell ``(u, v)``:  ``dX[u,v] = sum dO[i,j] F[m,n]``

Indices start at 0, as in NumPy.  The views in :mod:`cnnbp.widgets` draw
exactly these lists; ``tests/test_indexmap.py`` checks them against brute
force (perturb one cell, see which outputs move).
"""
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from cnnbp.shapes import conv_output_shape, pool_output_shape

__all__ = ["Meet", "ConvGeometry", "conv_geometry", "forward_terms",
           "filter_grad_terms", "input_grad_terms", "reached_outputs",
           "PoolGeometry", "pool_geometry", "pool_winners", "pool_ties",
           "pool_routes"]


class Meet(NamedTuple):
    """One term of the convolution sum.

    Attributes
    ----------
    i, j : int
        Output cell.
    m, n : int
        Filter cell.
    u_pad, v_pad : int
        Input cell in padded coordinates, ``(i*s + m*d, j*s + n*d)``.
    u, v : int or None
        Input cell in original coordinates; ``None`` in the zero padding.
    """

    i: int
    j: int
    m: int
    n: int
    u_pad: int
    v_pad: int
    u: int | None
    v: int | None

    @property
    def in_padding(self):
        """True when the input cell is a padding zero."""
        return self.u is None or self.v is None


@dataclass(frozen=True)
class ConvGeometry:
    """Sizes of one single-channel convolution, per axis.

    Build it with :func:`conv_geometry`, which validates the arguments
    with :mod:`cnnbp.shapes` (so an impossible setting raises the same
    ``ValueError`` as :func:`cnnbp.conv2d`).

    Attributes
    ----------
    H, W : int
        Input height and width (before padding).
    HH, WW : int
        Kernel height and width.
    stride, padding, dilation : tuple of int
        ``(h, w)`` pairs.
    H_out, W_out : int
        ``floor((H + 2p - d(HH - 1) - 1) / s) + 1`` (same for W).
    """

    H: int
    W: int
    HH: int
    WW: int
    stride: tuple
    padding: tuple
    dilation: tuple
    H_out: int
    W_out: int

    @property
    def H_pad(self):
        """Padded input height ``H + 2 p_h``."""
        return self.H + 2 * self.padding[0]

    @property
    def W_pad(self):
        """Padded input width ``W + 2 p_w``."""
        return self.W + 2 * self.padding[1]

    def meet(self, i, j, m, n):
        """The :class:`Meet` of output ``(i, j)`` and filter ``(m, n)``."""
        (sh, sw), (ph, pw), (dh, dw) = self.stride, self.padding, \
            self.dilation
        up, vp = i * sh + m * dh, j * sw + n * dw
        u, v = up - ph, vp - pw
        inside = 0 <= u < self.H and 0 <= v < self.W
        return Meet(i, j, m, n, up, vp, u if inside else None,
                    v if inside else None)


def conv_geometry(H, W, HH, WW, stride=1, padding=0, dilation=1):
    """Validated geometry of a convolution of an (H, W) input.

    Parameters
    ----------
    H, W : int
        Input height and width.
    HH, WW : int
        Kernel height and width.
    stride, padding, dilation : int or (int, int)
        As in :func:`cnnbp.conv2d`.

    Returns
    -------
    ConvGeometry

    Raises
    ------
    ValueError
        For the same settings :func:`cnnbp.output_size` rejects.
    """
    (_, _, H_out, W_out), (s, p, d) = conv_output_shape(
        (1, 1, H, W), (1, 1, HH, WW), stride, padding, dilation)
    return ConvGeometry(H, W, HH, WW, s, p, d, H_out, W_out)


def forward_terms(g, i, j):
    """Meetings that make output cell ``(i, j)``, filter row-major.

    Parameters
    ----------
    g : ConvGeometry
    i, j : int
        Output cell, ``0 <= i < H_out``, ``0 <= j < W_out``.

    Returns
    -------
    list of Meet
        ``HH * WW`` terms, ordered by ``(m, n)``; padding terms included
        (their input value is 0).
    """
    return [g.meet(i, j, m, n) for m in range(g.HH) for n in range(g.WW)]


def filter_grad_terms(g, m, n):
    """Meetings of filter cell ``(m, n)``: the terms of ``dL/dF[m, n]``.

    Parameters
    ----------
    g : ConvGeometry
    m, n : int
        Filter cell.

    Returns
    -------
    list of Meet
        ``H_out * W_out`` terms ordered by ``(i, j)``:
        ``dF[m,n] = sum dO[i,j] X^pad[u_pad, v_pad]``.
    """
    return [g.meet(i, j, m, n)
            for i in range(g.H_out) for j in range(g.W_out)]


def input_grad_terms(g, u, v, padded=False):
    """Meetings of input cell ``(u, v)``: the terms of ``dL/dX[u, v]``.

    Parameters
    ----------
    g : ConvGeometry
    u, v : int
        Input cell, in original coordinates (or padded ones when
        ``padded`` is true, which also reaches the padding cells).
    padded : bool

    Returns
    -------
    list of Meet
        Ordered by ``(i, j)``: ``dX[u,v] = sum dO[i,j] F[m,n]``; empty
        for a cell no window reaches (leftover rows/columns).
    """
    if not padded:
        u, v = u + g.padding[0], v + g.padding[1]
    (sh, sw), (dh, dw) = g.stride, g.dilation
    terms = []
    for i in range(g.H_out):
        m, rem = divmod(u - i * sh, dh)
        if rem or not 0 <= m < g.HH:
            continue
        for j in range(g.W_out):
            n, rem = divmod(v - j * sw, dw)
            if rem or not 0 <= n < g.WW:
                continue
            terms.append(g.meet(i, j, m, n))
    return terms


def reached_outputs(g):
    """How many output cells each padded input cell reaches.

    Returns
    -------
    ndarray of int, shape (H + 2p_h, W + 2p_w)
        0 marks a cell no window covers (e.g. leftover rows when the
        stride does not divide evenly).
    """
    count = np.zeros((g.H_pad, g.W_pad), dtype=int)
    for i in range(g.H_out):
        for j in range(g.W_out):
            for t in forward_terms(g, i, j):
                count[t.u_pad, t.v_pad] += 1
    return count


@dataclass(frozen=True)
class PoolGeometry:
    """Sizes of a max-pool over an (H, W) map.

    Attributes
    ----------
    H, W : int
        Input height and width.
    size, stride : tuple of int
        Window and stride ``(h, w)`` pairs.
    H_out, W_out : int
        ``floor((H - size) / stride) + 1`` (same for W).
    """

    H: int
    W: int
    size: tuple
    stride: tuple
    H_out: int
    W_out: int

    def window(self, i, j):
        """Input cells of window ``(i, j)``, row-major, as (u, v)."""
        u0, v0 = i * self.stride[0], j * self.stride[1]
        return [(u0 + a, v0 + b) for a in range(self.size[0])
                for b in range(self.size[1])]


def pool_geometry(H, W, size=2, stride=None):
    """Validated geometry of a max-pool (``stride=None`` means ``size``).

    Raises
    ------
    ValueError
        For the settings :func:`cnnbp.maxpool2d` rejects.
    """
    (_, _, H_out, W_out), (size, stride) = pool_output_shape(
        (1, 1, H, W), size, stride)
    return PoolGeometry(H, W, size, stride, H_out, W_out)


def pool_winners(x, size=2, stride=None):
    """The input cell that wins each max-pool window.

    Parameters
    ----------
    x : ndarray of shape (H, W)
    size, stride : int or (int, int)
        As in :func:`cnnbp.maxpool2d`.

    Returns
    -------
    ndarray of int, shape (H_out, W_out, 2)
        ``(u, v)`` of the winner: the first maximum of the window in
        row-major order (the tie rule of cnnbp and ``np.argmax``).
    """
    x = np.asarray(x)
    g = pool_geometry(*x.shape, size, stride)
    win = np.zeros((g.H_out, g.W_out, 2), dtype=int)
    for i in range(g.H_out):
        for j in range(g.W_out):
            cells = g.window(i, j)
            k = int(np.argmax([x[c] for c in cells]))
            win[i, j] = cells[k]
    return win


def pool_ties(x, size=2, stride=None):
    """Windows whose maximum is shared by several cells.

    Returns
    -------
    dict
        ``(i, j) -> list of (u, v)`` tied for the maximum (row-major; the
        first one wins), only for windows with a tie.
    """
    x = np.asarray(x)
    g = pool_geometry(*x.shape, size, stride)
    ties = {}
    for i in range(g.H_out):
        for j in range(g.W_out):
            cells = g.window(i, j)
            top = max(x[c] for c in cells)
            best = [c for c in cells if x[c] == top]
            if len(best) > 1:
                ties[(i, j)] = best
    return ties


def pool_routes(x, size=2, stride=None):
    """Where the max-pool gradient goes: input cell -> windows it won.

    Parameters
    ----------
    x : ndarray of shape (H, W)
    size, stride : int or (int, int)

    Returns
    -------
    dict
        ``(u, v) -> list of (i, j)``: ``dX[u, v] = sum dO[i, j]`` over the
        list (more than one window when windows overlap); cells that
        never win are absent (their gradient is 0).
    """
    routes = {}
    win = pool_winners(x, size, stride)
    for i in range(win.shape[0]):
        for j in range(win.shape[1]):
            routes.setdefault(tuple(int(t) for t in win[i, j]), []).append(
                (i, j))
    return routes
