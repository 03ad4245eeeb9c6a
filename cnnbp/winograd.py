"""Winograd's minimal filtering F(m x m, 3 x 3) for 3x3 convolutions.

The idea in one dimension (Winograd 1980; Lavin and Gray 2016): the
``m`` outputs ``y[i] = sum_k g[k] d[i + k]`` of a 3-tap filter ``g``
over ``alpha = m + 2`` inputs ``d`` need ``3m`` products when computed
directly, but only ``alpha``::

    y = AT @ ((G @ g) * (BT @ d))

``G`` (alpha x 3) transforms the filter, ``BT`` (alpha x alpha) the
input tile, ``AT`` (m x alpha) maps the ``alpha`` products back to the
``m`` outputs.  The matrices come from polynomial interpolation at
``alpha - 1`` points and infinity (:func:`transforms`: Vandermonde
matrices and the inverse of one, computed exactly in fractions).  In two
dimensions the transforms act on both axes of an ``alpha x alpha`` tile::

    Y_tile = AT @ (U * V) @ AT.T,   U = G @ g @ G.T,   V = BT @ d @ BT.T

and a layer sums ``U * V`` over the input channels before the output
transform, so the channel sum is ``alpha**2`` matrix products (one per
position ``(xi1, xi2)`` of the tile) with ``(C x K)`` filters:
``M[xi] = V[xi] @ U[xi]``.  A 3x3 layer makes ``9 m**2`` products per
output tile and channel pair; Winograd makes ``(m + 2)**2``: 2.25 times
fewer for m = 2, 4 times fewer for m = 6.  Larger tiles save more but
round more: the transforms hold larger and smaller numbers (see
:data:`POINTS` and :func:`tile_sizes`).

The backward pass is again Winograd, with every transform transposed.
The forward is linear in ``V`` and in ``U``; its adjoint maps dL/dY to
``dM = A @ dY_tile @ A.T`` (``A = AT.T``), then

- ``dV[xi] = dM[xi] @ U[xi].T`` and ``dX_tile = B @ dV @ B.T`` with
  ``B = BT.T``, added over overlapping tiles (the adjoint of reading
  overlapping tiles): a Winograd "convolution" of dL/dY with the filters;
- ``dU[xi] = V[xi].T @ dM[xi]`` summed over tiles and images, and
  ``dw = G.T @ dU @ G``: the filter gradient dL/dF, from the transformed input
  the forward pass cached.

Layout (NCHW in and out; every step is a matrix product, no transposing
copy of a large array):

- along W, the input transform is one banded matrix ``BW`` of shape
  (alpha*tW, W) with the zero padding and the tile overlap built in
  (rows ``(xi2, j)``), the output transform one banded ``AW`` of shape
  (W_out, alpha*tW) that also crops the last tile;
- along H, the transforms act tile by tile (``BT`` on ``alpha`` rows of a
  padded buffer; ``AT`` on the ``alpha`` rows of a tile);
- the bias is added to ``M`` at the position of the point 1, where the
  column of ``AT`` is all ones, so it reaches every output of a tile;
  ``db`` is read back from ``dM`` at the same position;
- the batch is processed in chunks of ``nb`` images so that the
  transformed tiles of a chunk stay in the processor's cache; the
  transformed input ``V`` of every chunk is kept for the backward pass.

Tile ``i`` of an axis of length L (padding p, L_out = L + 2p - 2 outputs)
covers the outputs ``i*m .. i*m + m - 1`` and reads the padded inputs
``i*m .. i*m + alpha - 1``; ``t = ceil(L_out / m)`` tiles cover the
axis, and the last one may stick out (its extra outputs are dropped).
"""

import functools
from fractions import Fraction

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import blas

__all__ = ["POINTS", "ACCURACY", "transforms", "winograd_1d",
           "tile_sizes", "predicted_error", "forward", "backward",
           "prepare"]

#: Interpolation points of F(m, 3) (infinity is always the last one).
#: Points 0, 1 and -1 first, then those that rounded least in float32 in
#: a search over small fractions (+-2, +-1/2, +-3, +-1/3, ...): the
#: transforms hold powers of the points up to ``p**(alpha - 1)``, so
#: points far from 1 (2 and 1/2 already give 16 and 1/16 in F(4))
#: scale the rounding errors up.
POINTS = {
    2: (0, 1, -1),
    3: (0, 1, -1, Fraction(1, 2)),
    4: (0, 1, -1, 2, Fraction(-1, 2)),
    5: (0, 1, -1, Fraction(1, 2), Fraction(-1, 2), 2),
    6: (0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2)),
    7: (0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2), 3),
}

#: Relative error (Euclidean norm) against exact arithmetic that the
#: default path must meet, per dtype; float32's is PyTorch's own float32
#: accuracy on the course's layers.
ACCURACY = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}

#: Worst relative error of F(m x m, 3 x 3), in units of roundoff
#: ``eps / 2``, over forward, dx and dw on random normal and nonnegative
#: data with up to 256 channels, times 1.5 (plain im2col: about 5).
#: ``tests/test_core_algos.py`` measures it again.
ERROR_GROWTH = {2: 15, 3: 45, 4: 60, 5: 125, 6: 150, 7: 2100}

#: Bytes of one chunk's products M that should fit in the cache.
CHUNK_BYTES = 2 ** 21


def _inverse(matrix):
    """Exact inverse of a square matrix of Fractions (Gauss-Jordan)."""
    n = len(matrix)
    rows = [list(row) + [Fraction(int(i == j)) for j in range(n)]
            for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = next(r for r in range(col, n) if rows[r][col] != 0)
        rows[col], rows[pivot] = rows[pivot], rows[col]
        scale = rows[col][col]
        rows[col] = [v / scale for v in rows[col]]
        for r in range(n):
            if r != col and rows[r][col] != 0:
                factor = rows[r][col]
                rows[r] = [v - factor * p for v, p in zip(rows[r],
                                                          rows[col])]
    return [row[n:] for row in rows]


def _vandermonde(points, n):
    """Rows ``[1, p, ..., p**(n-1)]`` for each point, then infinity."""
    rows = [[p ** k for k in range(n)] for p in points]
    rows.append([Fraction(0)] * (n - 1) + [Fraction(1)])
    return rows


@functools.lru_cache(maxsize=None)
def transforms(m, r=3):
    """Exact matrices ``(AT, G, BT)`` of Winograd's F(m, r).

    With ``alpha = m + r - 1`` and the points ``POINTS[m]`` (and
    infinity): the linear convolution ``c = a * b`` of a length-m and a
    length-r sequence is ``c = Vinv @ ((Va @ a) * (Vb @ b))`` with the
    Vandermonde matrices ``Va`` (alpha x m), ``Vb`` (alpha x r) and the
    inverse ``Vinv`` of the square one (alpha x alpha): evaluate both
    polynomials at the points, multiply, interpolate.  Transposing that
    algorithm in ``a`` gives the correlation
    ``y[i] = sum_k g[k] d[i + k]``: ``AT = Va.T``, ``G = Vb``,
    ``BT = Vinv.T``.  Row ``k`` of ``BT`` is then scaled to integers with
    no common factor and row ``k`` of ``G`` divided by the same number,
    so the large input transform adds integers and the fractions stay in
    the (small, exact-in-float64) filter transform.

    Parameters
    ----------
    m : int
        Outputs per tile, a key of :data:`POINTS` (for r = 3).
    r : int
        Filter taps.

    Returns
    -------
    AT : tuple of tuples of Fraction, shape (m, alpha)
    G : tuple of tuples of Fraction, shape (alpha, r)
    BT : tuple of tuples of Fraction, shape (alpha, alpha)

    Examples
    --------
    >>> AT, G, BT = transforms(2)
    >>> [[int(v) for v in row] for row in BT]
    [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, -1, 0, 1]]
    """
    points = [Fraction(p) for p in POINTS[m]]
    alpha = m + r - 1
    if len(points) != alpha - 1:
        raise ValueError(
            f"F({m}, {r}) needs {alpha - 1} finite points, "
            f"POINTS[{m}] has {len(points)}"
        )
    AT = [list(col) for col in zip(*_vandermonde(points, m))]
    G = _vandermonde(points, r)
    inv = _inverse(_vandermonde(points, alpha))
    BT = [list(col) for col in zip(*inv)]
    for k, row in enumerate(BT):
        den = np.lcm.reduce([v.denominator for v in row])
        num = np.gcd.reduce([int(v * den) for v in row])
        scale = Fraction(int(den), int(num))
        BT[k] = [v * scale for v in row]
        G[k] = [v / scale for v in G[k]]
    return tuple(map(tuple, AT)), tuple(map(tuple, G)), tuple(map(tuple, BT))


@functools.lru_cache(maxsize=None)
def _float_transforms(m):
    """``transforms(m)`` as float64 arrays (read-only)."""
    mats = tuple(np.array(t, dtype=np.float64) for t in transforms(m))
    for mat in mats:
        mat.flags.writeable = False
    return mats


def winograd_1d(d, g, m):
    """One-dimensional F(m, 3): ``AT @ ((G @ g) * (BT @ d))``.

    Parameters
    ----------
    d : array_like of shape (m + 2,)
        Input tile.
    g : array_like of shape (3,)
        Filter.
    m : int
        Outputs, a key of :data:`POINTS`.

    Returns
    -------
    y : ndarray of shape (m,)
        ``y[i] = sum_k g[k] * d[i + k]``, with ``m + 2`` multiplications.

    Examples
    --------
    >>> winograd_1d([1.0, 2.0, 3.0, 4.0], [1.0, 0.0, -1.0], 2)
    array([-2., -2.])
    """
    AT, G, BT = _float_transforms(m)
    return AT @ ((G @ np.asarray(g, float)) * (BT @ np.asarray(d, float)))


def _tile_cost(L_out, m):
    """Transformed positions along one axis: alpha times the tile count."""
    return (m + 2) * -(-L_out // m)


def predicted_error(tiles, dtype, channels):
    """Expected relative error of F(mh x mw, 3 x 3) against exact math.

    ``ERROR_GROWTH[max(mh, mw)]`` units of roundoff, growing like the
    square root of the channel count beyond 256 channels (the sums over
    channels of the Winograd-domain products).

    Parameters
    ----------
    tiles : (int, int)
    dtype : numpy dtype
        float32 or float64.
    channels : int
        max(C, K).

    Returns
    -------
    float
    """
    growth = ERROR_GROWTH[max(tiles)] * max(1.0, np.sqrt(channels / 256))
    return growth * np.finfo(dtype).eps / 2


def tile_sizes(out_hw, dtype, channels):
    """The tile sizes ``(mh, mw)`` of the default Winograd path, or None.

    Per axis, among the m whose :func:`predicted_error` meets
    ``ACCURACY[dtype]``, the one with the fewest transformed positions
    ``(m + 2) * ceil(L_out / m)`` (the products per channel pair are the
    product of the two axes'); ties go to the smaller, more accurate
    tile.  For 14 outputs and up to 256 channels: F(5) in float32 (3
    tiles of 7, 21 positions, against 24 for F(4) and 28 for F(2); F(7)
    would round about 20 times more than float32 allows), F(7) in
    float64 (2 tiles of 9).

    Parameters
    ----------
    out_hw : (int, int)
        (H_out, W_out).
    dtype : numpy dtype
        float32 or float64.
    channels : int
        max(C, K).

    Returns
    -------
    (int, int) or None
        None if no tile meets the bound.
    """
    ok = [m for m in sorted(POINTS)
          if predicted_error((m, m), dtype, channels) <= ACCURACY[
              np.dtype(dtype)]]
    if not ok:
        return None
    return tuple(min(ok, key=lambda m: (_tile_cost(L, m), m))
                 for L in out_hw)


class _Plan:
    """Shapes, banded and per-tile transform matrices of one problem."""

    def __init__(self, x_shape, w_shape, out_shape, padding, dtype,
                 tiles):
        N, C, H, W = x_shape
        K = w_shape[0]
        Ho, Wo = out_shape[2:]
        ph, pw = padding
        mh, mw = tiles
        self.N, self.C, self.H, self.W, self.K = N, C, H, W, K
        self.Ho, self.Wo, self.ph, self.pw = Ho, Wo, ph, pw
        self.mh, self.mw, self.ah, self.aw = mh, mw, mh + 2, mw + 2
        self.tH, self.tW = -(-Ho // mh), -(-Wo // mw)
        self.Hp = self.tH * mh + 2
        self.dtype = np.dtype(dtype)
        ATh, self.Gh, BTh = _float_transforms(mh)
        ATw, self.Gw, BTw = _float_transforms(mw)
        self.ATh, self.BTh = ATh.astype(dtype), BTh.astype(dtype)
        self.Ah = np.ascontiguousarray(self.ATh.T)
        self.Bh = np.ascontiguousarray(self.BTh.T)
        self.BW = self._band_in(BTw, W, pw, self.tW, mw).astype(dtype)
        self.AW = self._band_out(ATw, Wo, self.tW, mw).astype(dtype)
        self.BWT = np.ascontiguousarray(self.BW.T)
        self.AWT = np.ascontiguousarray(self.AW.T)
        self.one = (POINTS[mh].index(1), POINTS[mw].index(1))
        per_image = self.ah * self.aw * self.tH * self.tW * max(C, K)
        self.nb = int(np.clip(CHUNK_BYTES // (per_image * self.dtype
                                              .itemsize), 1, N))

    @staticmethod
    def _band_in(BT, L, p, t, m):
        """(alpha*t, L): row (xi, i) holds BT[xi] at the tile's inputs."""
        alpha = m + 2
        band = np.zeros((alpha, t, L))
        for i in range(t):
            for k in range(alpha):
                if 0 <= i * m - p + k < L:
                    band[:, i, i * m - p + k] = BT[:, k]
        return band.reshape(alpha * t, L)

    @staticmethod
    def _band_out(AT, L_out, t, m):
        """(L_out, alpha*t): row ``i*m + s`` holds AT[s] at tile i."""
        band = np.zeros((L_out, m + 2, t))
        for q in range(L_out):
            band[q, :, q // m] = AT[q % m]
        return band.reshape(L_out, (m + 2) * t)

    def chunks(self):
        """``(n0, n1)`` of every chunk of at most ``nb`` images."""
        return [(n0, min(n0 + self.nb, self.N))
                for n0 in range(0, self.N, self.nb)]


class _Buffers:
    """Work arrays of one chunk size, reused across chunks."""

    def __init__(self, plan, k):
        p, dt = plan, plan.dtype
        rows = p.tH * p.tW * k
        self.T1 = np.zeros((p.Hp, p.aw * p.tW, k * p.C), dt)
        self.dT = np.empty_like(self.T1)
        self.M = np.empty((p.ah, p.aw, rows, p.K), dt)
        self.O1 = np.zeros((p.tH * p.mh, p.aw * p.tW, k * p.K), dt)
        self.dV = np.empty((p.ah, p.aw, rows, p.C), dt)
        self.E = np.empty((p.tH, 2, p.aw * p.tW * k * p.C), dt)
        self.dU = np.empty((p.ah, p.aw, p.K, p.C), dt)


def _buffers(plan, k, store):
    if k not in store:
        store[k] = _Buffers(plan, k)
    return store[k]


def _view(a, shape):
    """``a`` reshaped without a copy (ValueError if one were needed)."""
    return np.reshape(a, shape, copy=False)


def _spatial_first(a, k):
    """(k, D, L1, L2) chunk of an NCHW array as an (L1, L2, k*D) view."""
    return _view(a.transpose(2, 3, 0, 1), a.shape[2:] + (k * a.shape[1],))


def _filter_transform(w, plan):
    """U[xi1, xi2, c, f] = (Gh @ w[f, c] @ Gw.T)[xi1, xi2], (ah, aw, C, K).

    Computed in float64 and rounded once to the working dtype.
    """
    t = np.tensordot(plan.Gh, w.astype(np.float64), axes=(1, 2))
    t = np.tensordot(t, plan.Gw, axes=(3, 1))
    return np.ascontiguousarray(t.transpose(0, 3, 2, 1)).astype(plan.dtype)


def _input_transform(xc, plan, buf, k):
    """V[xi1, xi2, (i, j, n), c] of a chunk of k images, (ah, aw, T, C)."""
    p = plan
    V = np.empty((p.ah, p.aw, p.tH * p.tW * k, p.C), p.dtype)
    blas.matmul(p.BW, _spatial_first(xc, k), out=buf.T1[p.ph:p.ph + p.H])
    s0, s1, s2 = buf.T1.strides
    tiles = as_strided(buf.T1, (p.tH, p.aw, p.ah, p.tW * k * p.C),
                       (p.mh * s0, p.tW * s1, s0, s2), writeable=False)
    out = _view(V, (p.ah, p.aw, p.tH, p.tW * k * p.C)).transpose(2, 1, 0, 3)
    blas.matmul(p.BTh, tiles, out=out)
    return V


def _output_transform(M, yc, plan, buf, k):
    """Y chunk (k, K, Ho, Wo) from the products M, written in place."""
    p = plan
    rows = p.tW * k * p.K
    blas.matmul(p.ATh,
                _view(M, (p.ah, p.aw, p.tH, rows)).transpose(2, 1, 0, 3),
                out=_view(buf.O1, (p.tH, p.mh, p.aw, rows))
                .transpose(0, 2, 1, 3))
    blas.matmul(p.AW, _view(buf.O1[:p.Ho], (p.Ho, p.aw * p.tW, k * p.K)),
                out=_spatial_first(yc, k))


def _make_plan(x, w, out_shape, hyper, tiles):
    """Check that F(m x m, 3 x 3) applies; the plan of the problem."""
    (sh, sw), padding, (dh, dw) = hyper
    if tuple(w.shape[2:]) != (3, 3) or (sh, sw, dh, dw) != (1, 1, 1, 1):
        raise ValueError(
            f"Winograd F(m x m, 3 x 3) needs a 3x3 kernel, stride 1 and "
            f"dilation 1, got w of shape {w.shape}, stride {(sh, sw)}, "
            f"dilation {(dh, dw)}"
        )
    if x.dtype not in ACCURACY:
        raise ValueError(f"Winograd needs float32 or float64, got "
                         f"{x.dtype}")
    if tiles is None:
        tiles = tile_sizes(out_shape[2:], x.dtype, max(x.shape[1],
                                                       w.shape[0])) or (2, 2)
    if not set(tiles) <= set(POINTS):
        raise ValueError(f"tiles must be in {sorted(POINTS)}, got {tiles}")
    return _Plan(x.shape, w.shape, out_shape, padding, x.dtype, tiles)


def prepare(x, w, out_shape, hyper, tiles=None):
    """What :func:`forward` caches, without the forward products.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (K, C, 3, 3)
    out_shape : tuple (N, K, H_out, W_out)
    hyper : ((sh, sw), (ph, pw), (dh, dw))
        Stride and dilation must be 1.
    tiles : (int, int), optional
        (mh, mw); :func:`tile_sizes` when None.

    Returns
    -------
    cache : tuple
        For :func:`backward`.
    """
    plan = _make_plan(x, w, out_shape, hyper, tiles)
    U = _filter_transform(w, plan)
    store = {}
    V = [_input_transform(x[n0:n1], plan, _buffers(plan, n1 - n0, store),
                          n1 - n0) for n0, n1 in plan.chunks()]
    return plan, V, U, store


def forward(x, w, b, out_shape, hyper, tiles=None):
    """Forward pass with F(mh x mw, 3 x 3); returns ``(out, cache)``.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (K, C, 3, 3)
    b : ndarray of shape (K,) or None
    out_shape : tuple (N, K, H_out, W_out)
    hyper : ((sh, sw), (ph, pw), (dh, dw))
        Stride and dilation must be 1.
    tiles : (int, int), optional
        (mh, mw), each a key of :data:`POINTS`; :func:`tile_sizes` when
        None.

    Returns
    -------
    out : ndarray of shape (N, K, H_out, W_out)
    cache : tuple
        The transformed filters U and, per chunk, the transformed input
        V: what :func:`backward` needs.
    """
    plan = _make_plan(x, w, out_shape, hyper, tiles)
    U = _filter_transform(w, plan)
    out = np.empty(out_shape, x.dtype)
    store, V = {}, []
    for n0, n1 in plan.chunks():
        buf = _buffers(plan, n1 - n0, store)
        V.append(_input_transform(x[n0:n1], plan, buf, n1 - n0))
        M = buf.M
        blas.matmul(V[-1], U, out=M)
        if b is not None:
            # AT's column of the point 1 is all ones: b added at that
            # position of every tile reaches every output of the tile
            M[plan.one] += b
        _output_transform(M, out[n0:n1], plan, buf, n1 - n0)
    return out, (plan, V, U, store)


def backward(dout, cache):
    """Backward pass of :func:`forward`: the transposed transforms.

    Parameters
    ----------
    dout : ndarray of shape (N, K, H_out, W_out)
    cache : tuple
        From :func:`forward` or :func:`prepare`.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    dw : ndarray of shape (K, C, 3, 3)
    db : ndarray of shape (K,)
    """
    plan, V, U, store = cache
    p = plan
    dx = np.empty((p.N, p.C, p.H, p.W), p.dtype)
    dU = np.zeros((p.ah, p.aw, p.K, p.C))
    db = np.zeros(p.K)
    Ut = U.transpose(0, 1, 3, 2)
    for (n0, n1), Vc in zip(plan.chunks(), V):
        k = n1 - n0
        buf = _buffers(plan, k, store)
        dM = _transpose_output_transform(dout[n0:n1], plan, buf, k)
        db += dM[p.one].sum(axis=0, dtype=np.float64)
        blas.matmul(dM, Ut, out=buf.dV)
        dU += blas.matmul(dM.transpose(0, 1, 3, 2), Vc, out=buf.dU)
        _transpose_input_transform(buf.dV, dx[n0:n1], plan, buf, k)
    t = np.tensordot(p.Gh, dU, axes=(0, 0))
    dw = np.tensordot(t, p.Gw, axes=(1, 0)).transpose(1, 2, 0, 3)
    return dx, dw.astype(p.dtype), db.astype(p.dtype)


def _transpose_output_transform(dyc, plan, buf, k):
    """dM = A @ dY_tile @ A.T of a chunk, (ah, aw, T, K); uses buf.M."""
    p = plan
    rows = p.tW * k * p.K
    buf.O1[p.Ho:] = 0
    blas.matmul(p.AWT, _spatial_first(dyc, k),
                out=_view(buf.O1[:p.Ho], (p.Ho, p.aw * p.tW, k * p.K)))
    blas.matmul(p.Ah,
                _view(buf.O1, (p.tH, p.mh, p.aw, rows)).transpose(0, 2, 1, 3),
                out=_view(buf.M, (p.ah, p.aw, p.tH, rows))
                .transpose(2, 1, 0, 3))
    return buf.M


def _transpose_input_transform(dV, dxc, plan, buf, k):
    """dX chunk = B @ dV @ B.T, overlapping tiles added; in place."""
    p = plan
    cols = p.tW * k * p.C
    tiles = _view(dV, (p.ah, p.aw, p.tH, cols)).transpose(2, 1, 0, 3)
    dT = buf.dT
    blas.matmul(p.Bh[:p.mh], tiles,
                out=_view(dT[:p.tH * p.mh], (p.tH, p.mh, p.aw, cols))
                .transpose(0, 2, 1, 3))
    blas.matmul(p.Bh[p.mh:], tiles,
                out=_view(buf.E, (p.tH, 2, p.aw, cols)).transpose(0, 2, 1, 3))
    # the last two rows of tile i are the first two of tile i + 1
    E = _view(buf.E, (p.tH, 2) + dT.shape[1:])
    dT[p.tH * p.mh:] = E[-1]
    if p.tH > 1:
        _view(dT[p.mh:p.tH * p.mh], (p.tH - 1, p.mh) + dT.shape[1:])[
            :, :2] += E[:-1]
    blas.matmul(p.BWT, dT[p.ph:p.ph + p.H], out=_spatial_first(dxc, k))
