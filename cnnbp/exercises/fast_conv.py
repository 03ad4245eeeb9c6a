"""Checker of the fast-convolutions chapter: Winograd's backward in 1-D.

``check_winograd_backward(fn)`` runs ``fn(dout, x, w, m) -> (dx, dw)``
on a ladder of one-dimensional F(m, 3) problems: ``x`` of length L,
``w`` of length 3, ``dout`` = dL/dO of length ``L - 2``, cut into
``t = (L - 2) / m`` tiles of m outputs. Tile ``i`` reads the inputs
``i*m .. i*m + m + 1``, so neighbouring tiles share two inputs. The
forward pass of a tile is ``O_tile = AT @ ((Gamma @ w) * (BT @ x_tile))``
with the exact transforms of :func:`cnnbp.winograd.transforms` (which
names Gamma ``G``); its backward is the same algorithm with every
transform transposed::

    dM = AT.T @ G_tile
    dx_tile = BT.T @ ((Gamma @ w) * dM)      added where tiles overlap
    dw = Gamma.T @ sum over tiles of (BT @ x_tile) * dM

Expected results come from the loop twins (:func:`cnnbp.naive`): dx is
the full convolution of dL/dO with the filter, dw the correlation of x
with dL/dO. A wrong result is compared with the classic mistakes below.
"""

import zlib

import numpy as np

from cnnbp import naive, winograd

from . import judges, ladders, runner
from .mistakes import Mistake
from .runner import Case, Signature

__all__ = ["check_winograd_backward", "winograd_conv1d",
           "winograd_conv1d_backward", "WINOGRAD_BACKWARD",
           "WINOGRAD_CASES"]

SIGNATURE = Signature(("dout", "x", "w", "m"), {})

#: name, L (length of x), m (outputs per tile)
WINOGRAD_CASES = [
    ("one tile, F(2, 3)", 4, 2),
    ("two overlapping tiles, F(2, 3)", 6, 2),
    ("one tile, F(3, 3)", 5, 3),
    ("five tiles, F(2, 3)", 12, 2),
    ("three tiles, F(4, 3)", 14, 4),
    ("two tiles, F(6, 3)", 14, 6),
]


def _transforms(m):
    """``(AT, Gamma, BT)`` of F(m, 3) as float64 arrays."""
    return tuple(np.array(t, dtype=np.float64)
                 for t in winograd.transforms(m))


def _tiles(x, m):
    """(t, m + 2) view of the overlapping input tiles of x (L,)."""
    t = (len(x) - 2) // m
    return np.stack([x[i * m:i * m + m + 2] for i in range(t)])


def winograd_conv1d(x, w, m):
    """``O[i] = sum_n w[n] x[i + n]`` by F(m, 3), tile by tile.

    Parameters
    ----------
    x : ndarray of shape (L,), with (L - 2) a multiple of m
    w : ndarray of shape (3,)
    m : int
        Outputs per tile, a key of :data:`cnnbp.winograd.POINTS`.

    Returns
    -------
    ndarray of shape (L - 2,)
    """
    AT, Gamma, BT = _transforms(m)
    U = Gamma @ w
    return np.concatenate([AT @ (U * (BT @ tile))
                           for tile in _tiles(x, m)])


def _backward(dout, x, w, m, input_t=None, filter_t=None, add=True,
              every_tile=True):
    """The backward pass of :func:`winograd_conv1d`, with hooks for the
    mistakes: the matrix that maps back to dx (``input_t``, B = BT.T)
    and to dw (``filter_t``, Gamma.T), adding or overwriting the
    overlaps, summing dw over every tile or keeping the last."""
    AT, Gamma, BT = _transforms(m)
    input_t = BT.T if input_t is None else input_t(BT)
    filter_t = Gamma.T if filter_t is None else filter_t(Gamma)
    U = Gamma @ w
    dx, dU = np.zeros(len(x)), np.zeros(m + 2)
    for i, tile in enumerate(_tiles(x, m)):
        dM = AT.T @ dout[i * m:(i + 1) * m]
        part = input_t @ (U * dM)
        if add:
            dx[i * m:i * m + m + 2] += part
        else:
            dx[i * m:i * m + m + 2] = part
        if every_tile:
            dU += (BT @ tile) * dM
        else:
            dU = (BT @ tile) * dM
    return dx, filter_t @ dU


def winograd_conv1d_backward(dout, x, w, m):
    """``(dx, dw)`` of :func:`winograd_conv1d`: the transposed transforms.

    Parameters
    ----------
    dout : ndarray of shape (L - 2,)
    x : ndarray of shape (L,)
    w : ndarray of shape (3,)
    m : int

    Returns
    -------
    dx : ndarray of shape (L,)
    dw : ndarray of shape (3,)
    """
    return _backward(dout, x, w, m)


def dx_untransposed_input(dout, x, w, m):
    """MISTAKE: maps back to dx with BT instead of its transpose B."""
    return _backward(dout, x, w, m, input_t=lambda BT: BT)


def dw_inverse_filter(dout, x, w, m):
    """MISTAKE: maps back to dw with the pseudo-inverse of Gamma."""
    return _backward(dout, x, w, m, filter_t=np.linalg.pinv)


def dx_overlap_overwritten(dout, x, w, m):
    """MISTAKE: a tile's dx overwrites the overlap instead of adding."""
    return _backward(dout, x, w, m, add=False)


def dw_last_tile(dout, x, w, m):
    """MISTAKE: dw from the last tile only ('=' instead of '+=')."""
    return _backward(dout, x, w, m, every_tile=False)


#: The classic mistakes of the exercise; each returns (dx, dw).
WINOGRAD_BACKWARD = [
    Mistake("with BT where its transpose B belongs (the input transform "
            "not transposed)", dx_untransposed_input),
    Mistake("with the inverse of the filter transform Gamma instead of "
            "its transpose", dw_inverse_filter),
    Mistake("when overlapping tiles overwrite each other's dx instead of "
            "adding to it", dx_overlap_overwritten),
    Mistake("from the last tile only (dw must add every tile's part)",
            dw_last_tile),
]


def _part(index):
    """The mistakes as functions returning only result ``index``."""
    def pick(mistake):
        def fn(dout, x, w, m):
            return mistake.fn(dout, x, w, m)[index]
        return Mistake(mistake.label, fn)
    return [pick(mistake) for mistake in WINOGRAD_BACKWARD]


def _ladder():
    ladder = []
    for name, L, m in WINOGRAD_CASES:
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        x, w = rng.standard_normal(L), rng.standard_normal(3)
        dout = rng.standard_normal(L - 2)
        x4, w4 = x[None, None, None], w[None, None, None]
        d4 = dout[None, None, None]
        dx = naive.input_gradient(d4, x4, w4)[0, 0, 0]
        dw = naive.filter_gradient(d4, x4, w4)[0, 0, 0]

        def call(fn, dout=dout, x=x, w=w, m=m):
            return fn(dout, x, w, m)
        judge = judges.parts_judge([("dx", dx, _part(0), call),
                                    ("dw", dw, _part(1), call)])
        t = (L - 2) // m
        describe = (f"x ({L},), w (3,), dout ({L - 2},), m={m}: {t} "
                    f"tile{'s' if t > 1 else ''}")
        ladder.append(Case(name, describe, (dout, x, w, m), {}, judge))
    return ladder


def check_winograd_backward(fn, cases=None):
    """Check ``fn(dout, x, w, m) -> (dx, dw)`` for 1-D F(m, 3) tiles.

    x (L,), w (3,), dout (L - 2,) with L - 2 a multiple of m; dx (L,)
    and dw (3,) are compared with the loop twins' full convolution and
    correlation. Parameters and return value as in
    :func:`cnnbp.exercises.check_output_size`.
    """
    return runner.run("check_winograd_backward", fn,
                      ladders.LADDERS["check_winograd_backward"](), cases,
                      SIGNATURE)


ladders.LADDERS["check_winograd_backward"] = _ladder
