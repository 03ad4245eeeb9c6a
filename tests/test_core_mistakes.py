"""One test per classic mistake found in published CNN-backprop material.

Each test writes the buggy variant (a keyword flag of the small reference
implementations below, or a few lines inline) and shows that the check
catches it: the correct variant passes, the buggy one fails.  Where the
bug hides in an easy case (stride 1, p > 0, N = 1, one filter, square
input, no ties) the test also shows it passing there: that is why the
sweeps use hard cases.
"""

import numpy as np

import cnnbp
from cnnbp import naive
from cnnbp.gradcheck import numerical_gradient, rel_error


def case(x_shape, w_shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(x_shape), rng.standard_normal(w_shape)


def passes(candidate, reference):
    """The check: same shape and relative error below 1e-7."""
    return (candidate.shape == reference.shape
            and rel_error(candidate, reference) < 1e-7)


def true_grads(x, w, stride, padding):
    """dout and finite-difference dx, dw of sum(conv2d(x, w) * dout)."""
    out = cnnbp.conv2d(x, w, stride=stride, padding=padding)
    dout = np.random.default_rng(99).standard_normal(out.shape)
    ndx = numerical_gradient(
        lambda t: cnnbp.conv2d(t, w, stride=stride, padding=padding), x,
        dout)
    ndw = numerical_gradient(
        lambda t: cnnbp.conv2d(x, t, stride=stride, padding=padding), w,
        dout)
    return dout, ndx, ndw


def input_gradient(dout, x_shape, w, stride, padding, *, flip=True,
                   insert_zeros=True, keep_leftover=True, crop_end=True,
                   sum_filters=True):
    """dX as a full convolution; each flag set wrong is one mistake."""
    N, C, H, W = x_shape
    F, _, HH, WW = w.shape
    p = padding
    d = naive.dilate(dout, stride) if insert_zeros else dout
    k = naive.rot180(w) if flip else w
    if not sum_filters:
        d, k = d[:, -1:], k[-1:]      # dx = ... inside the f loop
    d_full = naive.pad(d, (HH - 1, WW - 1))
    dx_full = cnnbp.conv2d(d_full, k.transpose(1, 0, 2, 3))
    Hr, Wr = dx_full.shape[2:]
    if keep_leftover:
        dx_pad = np.zeros((N, C, H + 2 * p, W + 2 * p))
        dx_pad[:, :, :Hr, :Wr] = dx_full
    else:
        dx_pad = dx_full
    if crop_end:
        return dx_pad[:, :, p:p + H, p:p + W]
    return dx_pad[:, :, p:-p, p:-p]


def filter_gradient(dout, x, w_shape, stride, padding, *, flip=False,
                    insert_zeros=True, divide_by_batch=False):
    """dF as a correlation of X^pad with dout; flags are mistakes."""
    F, C, HH, WW = w_shape
    d = naive.dilate(dout, stride) if insert_zeros else dout
    if flip:
        d = naive.rot180(d)
    x_pad = naive.pad(x, padding)
    dw = cnnbp.conv2d(x_pad.transpose(1, 0, 2, 3), d.transpose(1, 0, 2, 3))
    dw = dw[:, :, :HH, :WW].transpose(1, 0, 2, 3)
    return dw / x.shape[0] if divide_by_batch else dw


def test_reference_implementations_are_correct():
    x, w = case((2, 3, 7, 8), (4, 3, 3, 3))
    dout, ndx, ndw = true_grads(x, w, 2, 1)
    assert passes(input_gradient(dout, x.shape, w, 2, 1), ndx)
    assert passes(filter_gradient(dout, x, w.shape, 2, 1), ndw)
    assert passes(naive.input_gradient(dout, x, w, 2, 1), ndx)
    assert passes(naive.filter_gradient(dout, x, w, 2, 1), ndw)


def test_missing_filter_flip_in_dx():
    x, w = case((2, 2, 6, 7), (3, 2, 3, 3))
    dout, ndx, _ = true_grads(x, w, 1, 0)
    assert passes(input_gradient(dout, x.shape, w, 1, 0), ndx)
    assert not passes(input_gradient(dout, x.shape, w, 1, 0, flip=False),
                      ndx)
    # hidden when every filter is symmetric under a 180-degree rotation
    w_sym = w + naive.rot180(w)
    dout, ndx, _ = true_grads(x, w_sym, 1, 0)
    assert passes(input_gradient(dout, x.shape, w_sym, 1, 0, flip=False),
                  ndx)


def test_flip_wrongly_applied_to_dw():
    x, w = case((2, 2, 6, 7), (3, 2, 3, 3))
    dout, _, ndw = true_grads(x, w, 1, 0)
    assert passes(filter_gradient(dout, x, w.shape, 1, 0), ndw)
    assert not passes(filter_gradient(dout, x, w.shape, 1, 0, flip=True),
                      ndw)


def test_no_zero_insertion_for_stride_above_1():
    x, w = case((2, 2, 7, 7), (3, 2, 3, 3))
    dout, ndx, ndw = true_grads(x, w, 2, 0)
    assert passes(input_gradient(dout, x.shape, w, 2, 0), ndx)
    assert not passes(
        input_gradient(dout, x.shape, w, 2, 0, insert_zeros=False), ndx)
    assert not passes(
        filter_gradient(dout, x, w.shape, 2, 0, insert_zeros=False), ndw)
    # hidden at stride 1, where there is nothing to insert
    dout, ndx, _ = true_grads(x, w, 1, 0)
    assert passes(input_gradient(dout, x.shape, w, 1, 0,
                                 insert_zeros=False), ndx)


def test_dropped_leftover_rows():
    # (8 - 3) % 2 == 1: the last row and column of X are in no window
    x, w = case((2, 2, 8, 8), (3, 2, 3, 3))
    dout, ndx, _ = true_grads(x, w, 2, 0)
    assert passes(input_gradient(dout, x.shape, w, 2, 0), ndx)
    assert not passes(
        input_gradient(dout, x.shape, w, 2, 0, keep_leftover=False), ndx)
    # hidden when the stride divides evenly: (7 - 3) % 2 == 0
    x, w = case((2, 2, 7, 7), (3, 2, 3, 3))
    dout, ndx, _ = true_grads(x, w, 2, 0)
    assert passes(input_gradient(dout, x.shape, w, 2, 0,
                                 keep_leftover=False), ndx)


def test_padding_crop_p_to_minus_p_at_p_0():
    x, w = case((2, 2, 6, 7), (3, 2, 3, 3))
    dout, ndx, _ = true_grads(x, w, 1, 0)
    assert passes(input_gradient(dout, x.shape, w, 1, 0), ndx)
    # x[p:-p] with p = 0 is x[0:0]: empty
    assert not passes(input_gradient(dout, x.shape, w, 1, 0,
                                     crop_end=False), ndx)
    # hidden whenever p > 0
    dout, ndx, _ = true_grads(x, w, 1, 1)
    assert passes(input_gradient(dout, x.shape, w, 1, 1, crop_end=False),
                  ndx)


def test_dx_not_summed_over_filters():
    x, w = case((2, 2, 6, 7), (3, 2, 3, 3))
    dout, ndx, _ = true_grads(x, w, 1, 1)
    assert passes(input_gradient(dout, x.shape, w, 1, 1), ndx)
    assert not passes(input_gradient(dout, x.shape, w, 1, 1,
                                     sum_filters=False), ndx)
    # hidden with a single filter
    x, w = case((2, 2, 6, 7), (1, 2, 3, 3))
    dout, ndx, _ = true_grads(x, w, 1, 1)
    assert passes(input_gradient(dout, x.shape, w, 1, 1,
                                 sum_filters=False), ndx)


def test_dw_scaled_by_batch_size():
    # dout already carries any 1/N of the loss; dividing again is wrong
    x, w = case((4, 2, 6, 7), (3, 2, 3, 3))
    dout, _, ndw = true_grads(x, w, 1, 1)
    assert passes(cnnbp.conv2d_backward(dout, x, w, 1, 1)[1], ndw)
    assert not passes(filter_gradient(dout, x, w.shape, 1, 1,
                                      divide_by_batch=True), ndw)
    # hidden with a batch of one
    x1 = x[:1]
    dout, _, ndw = true_grads(x1, w, 1, 1)
    assert passes(filter_gradient(dout, x1, w.shape, 1, 1,
                                  divide_by_batch=True), ndw)


def swapped_conv2d(x, w, stride=1, padding=0):
    """im2col forward that reshapes to (N, W_out, H_out, F): H/W swap."""
    F, C, HH, WW = w.shape
    N = x.shape[0]
    H_out = cnnbp.output_size(x.shape[2], HH, stride, padding)
    W_out = cnnbp.output_size(x.shape[3], WW, stride, padding)
    rows = cnnbp.im2col(x, HH, WW, stride, padding) @ w.reshape(F, -1).T
    return rows.reshape(N, W_out, H_out, F).transpose(0, 3, 1, 2)


def test_h_and_w_swapped_caught_only_by_non_square_input():
    x, w = case((2, 3, 6, 6), (4, 3, 3, 3))
    assert passes(swapped_conv2d(x, w, 1, 1), naive.conv2d(x, w, None, 1,
                                                           1))
    x, w = case((2, 3, 6, 9), (4, 3, 3, 3))
    assert passes(cnnbp.conv2d(x, w, None, 1, 1),
                  naive.conv2d(x, w, None, 1, 1))
    assert not passes(swapped_conv2d(x, w, 1, 1),
                      naive.conv2d(x, w, None, 1, 1))


def pool_backward(dout, x, size, stride, *, accumulate=True,
                  all_ties=False):
    """Loop max-pool backward; each flag set wrong is one mistake."""
    dx = np.zeros_like(x)
    N, C, H_out, W_out = dout.shape
    for a in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    rows = slice(i * stride, i * stride + size)
                    cols = slice(j * stride, j * stride + size)
                    win = x[a, c, rows, cols]
                    if all_ties:
                        hit = win == win.max()
                    else:
                        hit = np.zeros(win.shape, bool)
                        hit.flat[np.argmax(win)] = True
                    target = dx[a, c, rows, cols]
                    if accumulate:
                        target += hit * dout[a, c, i, j]
                    else:
                        target[hit] = dout[a, c, i, j]
    return dx


def pool_truth(x, size, stride):
    out = cnnbp.maxpool2d(x, size, stride)
    dout = np.random.default_rng(98).standard_normal(out.shape)
    ndx = numerical_gradient(lambda t: cnnbp.maxpool2d(t, size, stride), x,
                             dout)
    return dout, ndx


def test_assignment_instead_of_accumulation_in_overlapping_pools():
    x = np.random.default_rng(1).standard_normal((2, 2, 6, 6))
    dout, ndx = pool_truth(x, 3, 1)
    assert passes(pool_backward(dout, x, 3, 1), ndx)
    assert passes(cnnbp.maxpool2d_backward(dout, x, 3, 1), ndx)
    assert not passes(pool_backward(dout, x, 3, 1, accumulate=False), ndx)
    # hidden when windows do not overlap
    dout, ndx = pool_truth(x, 2, 2)
    assert passes(pool_backward(dout, x, 2, 2, accumulate=False), ndx)


def test_gradient_sent_to_several_tied_maxima():
    # finite differences are undefined at a tie; the check is the tie
    # rule (first maximum, as np.argmax) and conservation: each window
    # passes on exactly its own upstream gradient
    x = np.random.default_rng(2).integers(0, 2, (2, 2, 6, 6)).astype(float)
    dout = np.random.default_rng(3).standard_normal((2, 2, 3, 3))
    right = pool_backward(dout, x, 2, 2)
    wrong = pool_backward(dout, x, 2, 2, all_ties=True)
    for twin in (naive, cnnbp):
        assert passes(twin.maxpool2d_backward(dout, x, 2, 2), right)
        assert not passes(twin.maxpool2d_backward(dout, x, 2, 2), wrong)
    assert np.isclose(right.sum(), dout.sum())
    assert not np.isclose(wrong.sum(), dout.sum())
    # hidden when no window has a tie
    x = np.random.default_rng(4).standard_normal((2, 2, 6, 6))
    assert passes(pool_backward(dout, x, 2, 2, all_ties=True),
                  cnnbp.maxpool2d_backward(dout, x, 2, 2))
