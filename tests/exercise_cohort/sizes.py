"""Output sizes (chapters 3 and 4): check_output_size."""

import math

import numpy as np

from cnnbp.exercises import mistakes as M

from . import label, right, wrong

CHECK = "check_output_size"


@right(CHECK)
def size_chapter_4(n, k, stride=1, padding=0, dilation=1):
    k_eff = dilation * (k - 1) + 1
    if k_eff > n + 2 * padding:
        raise ValueError(f"kernel {k_eff} does not fit in {n} + 2*{padding}")
    return (n + 2 * padding - k_eff) // stride + 1


@right(CHECK)
def size_math_floor(n, k, stride=1, padding=0, dilation=1):
    span = dilation * (k - 1) + 1
    if n + 2 * padding < span:
        raise ValueError("the kernel is larger than the padded input")
    return math.floor((n + 2 * padding - span) / stride) + 1


@right(CHECK)
def size_count_windows(n, k, stride=1, padding=0, dilation=1):
    count, start = 0, 0
    while start + dilation * (k - 1) < n + 2 * padding:
        count += 1
        start += stride
    if count == 0:
        raise ValueError("no window fits")
    return count


@right(CHECK)
def size_numpy_int(n, k, stride=1, padding=0, dilation=1):
    top = n + 2 * padding - dilation * (k - 1) - 1
    if top < 0:
        raise ValueError("kernel too large")
    return np.int64(top) // stride + 1


@right(CHECK)
def size_chapter_3(n, k, stride=1):
    return (n - k) // stride + 1


@wrong(CHECK, says="use // for the floor division")
def size_true_division(n, k, stride=1, padding=0, dilation=1):
    return (n + 2 * padding - dilation * (k - 1) - 1) / stride + 1


@wrong(CHECK, says=label(M.size_ceil))
def size_ceil(n, k, stride=1, padding=0, dilation=1):
    return math.ceil((n + 2 * padding - dilation * (k - 1) - 1) / stride) + 1


@wrong(CHECK, says=label(M.size_ceil))
def size_round(n, k, stride=1, padding=0, dilation=1):
    return round((n + 2 * padding - dilation * (k - 1) - 1) / stride) + 1


@wrong(CHECK, says=label(M.size_no_kernel))
def size_forgets_kernel(n, k, stride=1, padding=0, dilation=1):
    return (n + 2 * padding) // stride


@wrong(CHECK, says=label(M.size_no_plus_one))
def size_forgets_plus_one(n, k, stride=1, padding=0, dilation=1):
    return (n + 2 * padding - dilation * (k - 1) - 1) // stride


@wrong(CHECK, says=label(M.size_one_side_padding))
def size_pads_once(n, k, stride=1, padding=0, dilation=1):
    return (n + padding - dilation * (k - 1) - 1) // stride + 1


@wrong(CHECK, says=label(M.size_no_padding))
def size_ignores_padding(n, k, stride=1, padding=0, dilation=1):
    return (n - dilation * (k - 1) - 1) // stride + 1


@wrong(CHECK, says=label(M.size_no_dilation))
def size_ignores_dilation(n, k, stride=1, padding=0, dilation=1):
    return (n + 2 * padding - k) // stride + 1


@wrong(CHECK, says=label(M.size_dilation_times_k))
def size_dilation_times_k(n, k, stride=1, padding=0, dilation=1):
    return (n + 2 * padding - dilation * k) // stride + 1


@wrong(CHECK, says=label(M.size_no_stride))
def size_ignores_stride(n, k, stride=1, padding=0, dilation=1):
    return n + 2 * padding - dilation * (k - 1)


@wrong(CHECK, says="instead of raising ValueError")
def size_never_raises(n, k, stride=1, padding=0, dilation=1):
    return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1


@wrong(CHECK, says="raised ValueError")
def size_fit_test_ignores_padding(n, k, stride=1, padding=0, dilation=1):
    if dilation * (k - 1) + 1 > n:
        raise ValueError("kernel too large")
    return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1


@wrong(CHECK, says="instead of raising ValueError")
def size_fit_test_ignores_dilation(n, k, stride=1, padding=0, dilation=1):
    if k > n + 2 * padding:
        raise ValueError("kernel too large")
    return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1


@wrong(CHECK, says="raised ValueError")
def size_fit_test_off_by_one(n, k, stride=1, padding=0, dilation=1):
    if dilation * (k - 1) + 1 >= n + 2 * padding:
        raise ValueError("kernel too large")
    return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1


@wrong(CHECK, says="raised AssertionError")
def size_asserts(n, k, stride=1, padding=0, dilation=1):
    assert dilation * (k - 1) + 1 <= n + 2 * padding, "kernel too large"
    return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1


@wrong(CHECK, says="where the exercise has `padding`")
def size_pad_keyword(n, k, stride=1, pad=0, dilation=1):
    return (n + 2 * pad - dilation * (k - 1) - 1) // stride + 1


@wrong(CHECK, says="where the exercise has `stride`")
def size_s_keyword(n, k, s=1):
    return (n - k) // s + 1


@wrong(CHECK, says="no `stride` parameter")
def size_without_stride(n, k):
    return n - k + 1
