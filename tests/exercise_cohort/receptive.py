"""Receptive fields (chapter 12): check_receptive_field."""

import numpy as np

from cnnbp.exercises import receptive as R

from . import right, wrong

CHECK = "check_receptive_field"


def says(variant):
    """The label of one of the chapter's classic mistakes."""
    return next(m.label for m in R.RECEPTIVE_FIELD if m.fn is variant)


@right(CHECK)
def rf_bottom_up(layers):
    r, j, start = 1, 1, 0
    for k, s, p, d in layers:
        r += d * (k - 1) * j
        start -= p * j
        j *= s
    return r, j, start


@right(CHECK)
def rf_top_down(layers):
    # From the unit down: r units of the layer above span (r - 1) s +
    # d (k - 1) + 1 cells of the layer below.
    r, start, j = 1, 0, 1
    for k, s, p, d in reversed(layers):
        r = (r - 1) * s + d * (k - 1) + 1
        start = start * s - p
        j *= s
    return r, j, start


@right(CHECK)
def rf_numpy(layers):
    if not layers:
        return 1, 1, 0
    k, s, p, d = (np.array(v) for v in zip(*layers))
    jumps = np.cumprod(np.concatenate([[1], s[:-1]]))
    return (1 + int(np.sum(d * (k - 1) * jumps)), int(np.prod(s)),
            -int(np.sum(p * jumps)))


@right(CHECK)
def rf_numpy_ints_in_a_list(layers):
    r, j, start = np.int64(1), np.int64(1), np.int64(0)
    for k, s, p, d in layers:
        r, start, j = r + d * (k - 1) * j, start - p * j, j * s
    return [r, j, start]


@right(CHECK)
def rf_cells_by_brute_force(layers):
    # Follow the set of input cells of unit 0 down, layer by layer.
    cells = {0}
    for k, s, p, d in reversed(layers):
        cells = {u * s - p + m * d for u in cells for m in range(k)}
    j = 1
    for _, s, _, _ in layers:
        j *= s
    return max(cells) - min(cells) + 1, j, min(cells)


@wrong(CHECK, says=says(R.rf_no_jump))
def rf_adds_kernels(layers):
    r, j, start = 1, 1, 0
    for k, s, p, d in layers:
        r += d * (k - 1)
        start -= p * j
        j *= s
    return r, j, start


@wrong(CHECK, says=says(R.rf_jump_first))
def rf_jump_before_size(layers):
    r, j, start = 1, 1, 0
    for k, s, p, d in layers:
        j *= s
        r += d * (k - 1) * j
        start -= p * j
    return r, j, start


@wrong(CHECK, says=says(R.rf_no_dilation))
def rf_forgets_dilation(layers):
    r, j, start = 1, 1, 0
    for k, s, p, _ in layers:
        r += (k - 1) * j
        start -= p * j
        j *= s
    return r, j, start


@wrong(CHECK, says=says(R.rf_dilated_dk))
def rf_dilated_kernel_dk(layers):
    r, j, start = 1, 1, 0
    for k, s, p, d in layers:
        r += (d * k - 1) * j
        start -= p * j
        j *= s
    return r, j, start


@wrong(CHECK, says=says(R.rf_start_no_jump))
def rf_start_by_padding(layers):
    r, j, start = 1, 1, 0
    for k, s, p, d in layers:
        r += d * (k - 1) * j
        start -= p
        j *= s
    return r, j, start


@wrong(CHECK, says="must be an int")
def rf_float_division(layers):
    r, j, start = 1.0, 1.0, 0.0
    for k, s, p, d in layers:
        r += d * (k - 1) * j
        start -= p * j
        j *= s
    return r, j, start


@wrong(CHECK, says="got 2 values")
def rf_size_and_jump_only(layers):
    r, j = 1, 1
    for k, s, _, d in layers:
        r += d * (k - 1) * j
        j *= s
    return r, j


@wrong(CHECK, says="= (7, 2, 0), got (7, 1, 0)")
def rf_stride_of_the_last_layer(layers):
    r, j, start = 1, 1, 0
    for k, s, p, d in layers:
        r += d * (k - 1) * j
        start -= p * j
        j = s
    return r, j, start
