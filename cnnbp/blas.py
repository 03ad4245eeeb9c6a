"""The one door to BLAS: every matrix product of the fast convolutions.

The fast algorithms (:mod:`cnnbp.conv`, :mod:`cnnbp.polyphase`,
:mod:`cnnbp.winograd`) multiply through :func:`matmul`, mostly with
``out=`` a strided *view* of a larger array, so that a product lands
where the next step wants it and no copy is made.  NumPy runs such a
product in BLAS only if every operand is "BLAS-compatible"; otherwise it
silently copies the operands into temporary buffers first or, when a
core dimension is 1, falls back to a plain C loop.  :func:`blas_kernel`
states NumPy's rule (``numpy/_core/src/umath/matmul.c.src``, NumPy 2.x)
so that the tests can check every product of every algorithm against it.
"""

import numpy as np

__all__ = ["matmul", "blas_kernel", "is_blasable2d"]

#: NumPy's limit for one BLAS dimension with 64-bit BLAS integers.
BLAS_MAXSIZE = np.iinfo(np.int64).max - 1


def matmul(a, b, out=None):
    """``np.matmul(a, b, out=out)``: the products of the fast algorithms.

    Parameters
    ----------
    a : ndarray of shape (..., m, n)
    b : ndarray of shape (..., n, p)
    out : ndarray of shape (..., m, p), optional
        Often a strided view; see :func:`blas_kernel`.

    Returns
    -------
    ndarray of shape (..., m, p)
    """
    return np.matmul(a, b, out=out)


def is_blasable2d(stride1, stride2, d1, d2, itemsize):
    """NumPy's test that a 2-D operand can be handed to BLAS as it is.

    The faster axis (byte stride ``stride2``) must be contiguous and the
    slower one must step over at least one full row of ``d2`` items.

    Parameters
    ----------
    stride1, stride2 : int
        Byte strides of the slower and the faster axis.
    d1, d2 : int
        Lengths of those axes.
    itemsize : int
        Bytes per element.

    Returns
    -------
    bool
    """
    if stride2 != itemsize or stride1 % itemsize:
        return False
    return d2 <= stride1 // itemsize <= BLAS_MAXSIZE


def _either_order(strides, dims, itemsize):
    """Blasable as stored (C order) or as its transpose (F order)."""
    (s1, s2), (d1, d2) = strides, dims
    return (is_blasable2d(s1, s2, d1, d2, itemsize)
            or is_blasable2d(s2, s1, d2, d1, itemsize))


def blas_kernel(a, b, out):
    """Which kernel ``np.matmul(a, b, out=out)`` runs for these operands.

    Mirrors NumPy's float32/float64 matmul loop: only "gemm" means that
    the operands are handed to BLAS as they are.

    Parameters
    ----------
    a : ndarray of shape (..., m, n)
    b : ndarray of shape (..., n, p)
    out : ndarray of shape (..., m, p)

    Returns
    -------
    str
        ``"gemm"`` (level-3 BLAS on the operands themselves),
        ``"gemm+copy"`` (BLAS after copying a non-compatible operand into
        a temporary buffer), ``"overlap-copy"`` (``out`` shares memory
        with an input, so NumPy copies first), ``"gemv"`` or ``"dot"``
        (level-2/1 BLAS for a core dimension of 1), or ``"loop"``
        (NumPy's own C loop, no BLAS).
    """
    if np.shares_memory(out, a) or np.shares_memory(out, b):
        return "overlap-copy"
    m, n = a.shape[-2:]
    p = b.shape[-1]
    size = out.itemsize
    if out.dtype not in (np.float32, np.float64) or 0 in (m, n, p):
        return "loop"
    if max(m, n, p) > BLAS_MAXSIZE:
        return "loop"
    a_ok = _either_order(a.strides[-2:], (m, n), size)
    b_ok = _either_order(b.strides[-2:], (n, p), size)
    if 1 in (m, n, p):
        if m == 1 and p == 1:
            return "dot"
        if n == 1:
            return "loop"
        if m == 1 and b_ok and is_blasable2d(a.strides[-1], size, n, 1,
                                             size):
            return "gemv"
        if p == 1 and a_ok and is_blasable2d(b.strides[-2], size, n, 1,
                                             size):
            return "gemv"
        return "loop"
    out_ok = _either_order(out.strides[-2:], (m, p), size)
    return "gemm" if a_ok and b_ok and out_ok else "gemm+copy"
