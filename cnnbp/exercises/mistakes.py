"""The classic mistakes, written out as the wrong functions they produce.

When a learner's result is wrong, a checker runs the variants below on
the same case and names those whose result equals the learner's: "your
dx equals what you get without rotating the filter by 180 degrees".
Each variant is an ordinary function with the exercise's signature that
computes the wrong answer the mistake gives (none of them looks at the
learner's result), built from cnnbp's correct functions with one step
changed.

Each list pairs a variant with the words that complete the sentence
"your <result> equals what you get ...". When several variants give
the same array on a case (dropped and swapped leftover rows often do),
all of them are named, in list order.

Shapes: x (N, C, H, W), w (K, C, HH, WW), dout (N, K, H_out, W_out),
as everywhere in cnnbp; stride, padding and size take an int or an
(h, w) pair.
"""

from collections import namedtuple

import numpy as np

import cnnbp

Mistake = namedtuple("Mistake", ["label", "fn"])
Mistake.__doc__ = """A classic mistake: the words naming it, and its
function (same signature as the exercise's function)."""


def _pair(value):
    """``(value, value)`` for an int, else the (h, w) pair as a tuple."""
    return (value, value) if np.ndim(value) == 0 else tuple(value)


def _pad(a, ph, pw):
    """Zero-pad the last two axes of ``a`` by ph rows and pw columns."""
    return np.pad(a, [(0, 0)] * (a.ndim - 2) + [(ph, ph), (pw, pw)])


def _dilate(g, sh, sw):
    """Put sh - 1 zero rows and sw - 1 zero columns between entries."""
    H, W = g.shape[-2:]
    out = np.zeros(g.shape[:-2] + (sh * (H - 1) + 1, sw * (W - 1) + 1))
    out[..., ::sh, ::sw] = g
    return out


# ------------------------------------------------------------ output size

def _size(n, k, stride, padding, dilation, *, pad_sides=2, span=None,
          ceil=False, plus_one=1):
    """The output-size formula with one ingredient changed."""
    eff = dilation * (k - 1) + 1 if span is None else span(k, dilation)
    top = n + pad_sides * padding - eff
    steps = -(-top // stride) if ceil else top // stride
    return steps + plus_one


def size_ceil(n, k, stride=1, padding=0, dilation=1):
    """Rounds the number of steps up instead of down."""
    return _size(n, k, stride, padding, dilation, ceil=True)


def size_no_kernel(n, k, stride=1, padding=0, dilation=1):
    """Divides the padded length by the stride: forgets the window."""
    return (n + 2 * padding) // stride


def size_no_plus_one(n, k, stride=1, padding=0, dilation=1):
    """Counts the steps but not the first window."""
    return _size(n, k, stride, padding, dilation, plus_one=0)


def size_one_side_padding(n, k, stride=1, padding=0, dilation=1):
    """Adds the padding once instead of on both sides."""
    return _size(n, k, stride, padding, dilation, pad_sides=1)


def size_no_padding(n, k, stride=1, padding=0, dilation=1):
    """Ignores the padding."""
    return _size(n, k, stride, padding, dilation, pad_sides=0)


def size_no_dilation(n, k, stride=1, padding=0, dilation=1):
    """Uses the kernel size k, not the dilated d(k - 1) + 1."""
    return _size(n, k, stride, padding, dilation, span=lambda k, d: k)


def size_dilation_times_k(n, k, stride=1, padding=0, dilation=1):
    """Takes d * k as the dilated kernel size."""
    return _size(n, k, stride, padding, dilation,
                 span=lambda k, d: d * k)


def size_no_stride(n, k, stride=1, padding=0, dilation=1):
    """Ignores the stride."""
    return _size(n, k, 1, padding, dilation)


OUTPUT_SIZE = [
    Mistake("when the division is rounded up (ceil, or round at a half "
            "or more) instead of down (floor)", size_ceil),
    Mistake("when the kernel size is not subtracted, (n + 2p) // s",
            size_no_kernel),
    Mistake("without the + 1 for the first window", size_no_plus_one),
    Mistake("when the padding is added once instead of twice (p, not 2p)",
            size_one_side_padding),
    Mistake("when the padding is ignored", size_no_padding),
    Mistake("with k where the dilated kernel needs d(k - 1) + 1",
            size_no_dilation),
    Mistake("with d * k where the dilated kernel needs d(k - 1) + 1",
            size_dilation_times_k),
    Mistake("when the stride is ignored", size_no_stride),
]


# ------------------------------------------------------ convolution forward

def conv_flipped(x, w, b=None, stride=1, padding=0, dilation=1):
    """A true convolution: the filter rotated by 180 degrees."""
    return cnnbp.conv2d(x, w[..., ::-1, ::-1], b, stride, padding,
                        dilation)


def conv_no_stride(x, w, b=None, stride=1, padding=0, dilation=1):
    """Slides the window one cell at a time whatever the stride."""
    return cnnbp.conv2d(x, w, b, 1, padding, dilation)


def conv_no_padding(x, w, b=None, stride=1, padding=0, dilation=1):
    """Never pads the input."""
    return cnnbp.conv2d(x, w, b, stride, 0, dilation)


def conv_one_side_padding(x, w, b=None, stride=1, padding=0, dilation=1):
    """Pads the top and left only."""
    ph, pw = _pair(padding)
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, 0), (pw, 0)))
    return cnnbp.conv2d(x_pad, w, b, stride, 0, dilation)


def conv_no_bias(x, w, b=None, stride=1, padding=0, dilation=1):
    """Forgets the bias."""
    return cnnbp.conv2d(x, w, None, stride, padding, dilation)


def conv_first_bias(x, w, b=None, stride=1, padding=0, dilation=1):
    """Adds b[0] to the output of every filter."""
    out = cnnbp.conv2d(x, w, None, stride, padding, dilation)
    return out if b is None else out + b[0]


def conv_no_dilation(x, w, b=None, stride=1, padding=0, dilation=1):
    """Ignores the dilation."""
    return cnnbp.conv2d(x, w, b, stride, padding, 1)


def conv_first_channel(x, w, b=None, stride=1, padding=0, dilation=1):
    """Sums over input channel 0 only."""
    return cnnbp.conv2d(x[:, :1], w[:, :1], b, stride, padding, dilation)


def conv_last_channel(x, w, b=None, stride=1, padding=0, dilation=1):
    """Keeps the last channel's sum: = instead of += over channels."""
    return cnnbp.conv2d(x[:, -1:], w[:, -1:], b, stride, padding,
                        dilation)


CONV2D = [
    Mistake("with the filter rotated by 180 degrees (a true convolution, "
            "not the cross-correlation)", conv_flipped),
    Mistake("when the stride is ignored", conv_no_stride),
    Mistake("when the padding is ignored", conv_no_padding),
    Mistake("with padding at the top and left only", conv_one_side_padding),
    Mistake("without the bias", conv_no_bias),
    Mistake("when b[0] is added to every filter's output", conv_first_bias),
    Mistake("when the dilation is ignored", conv_no_dilation),
    Mistake("from input channel 0 only (no sum over the channels)",
            conv_first_channel),
    Mistake("from the last input channel only (= instead of += over the "
            "channels)", conv_last_channel),
]


# ---------------------------------------------------------------- dL/dX

def _dx(dout, x, w, stride, padding, *, kernel="rot180", zeros=True,
        leftover="both", crop="end", filters="all"):
    """dL/dX as a full convolution (gather form), one step changeable.

    ``kernel``: "rot180" (right), "same" (no flip), "rows" (flipped
    along the rows only) or "transposed". ``leftover``: "both"
    (right), "none", "swapped", "h_for_w" or "w_for_h". ``crop``: "end"
    (right, p:p + H), "negative" (p:-p) or "none". ``filters``: "all"
    (right) or "last".
    """
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    N, C, H, W = x.shape
    k = {"rot180": w[..., ::-1, ::-1], "same": w, "rows": w[..., ::-1, :],
         "transposed": w.swapaxes(2, 3)}[kernel]
    d = _dilate(dout, sh, sw) if zeros else dout
    if filters == "last":
        d, k = d[:, -1:], k[-1:]
    HH, WW = k.shape[2:]
    full = cnnbp.conv2d(_pad(d, HH - 1, WW - 1), k.transpose(1, 0, 2, 3))
    rh, rw = H + 2 * ph - full.shape[2], W + 2 * pw - full.shape[3]
    rh, rw = {"both": (rh, rw), "none": (0, 0), "swapped": (rw, rh),
              "h_for_w": (rh, rh), "w_for_h": (rw, rw)}[leftover]
    dx_pad = np.pad(full, ((0, 0), (0, 0), (0, rh), (0, rw)))
    if crop == "negative":
        return dx_pad[:, :, ph:-ph, pw:-pw]
    if crop == "none":
        return dx_pad
    return dx_pad[:, :, ph:ph + H, pw:pw + W]


def dx_no_flip(dout, x, w, stride=1, padding=0):
    """Correlates with F instead of rot180(F)."""
    return _dx(dout, x, w, stride, padding, kernel="same")


def dx_rows_flip(dout, x, w, stride=1, padding=0):
    """Flips the filter upside down only (np.flipud per filter)."""
    return _dx(dout, x, w, stride, padding, kernel="rows")


def dx_transposed_filter(dout, x, w, stride=1, padding=0):
    """Transposes the filter where it should rotate it."""
    return _dx(dout, x, w, stride, padding, kernel="transposed")


def dx_no_zero_insertion(dout, x, w, stride=1, padding=0):
    """Does not dilate dL/dO: windows placed 1 apart, not s apart."""
    return _dx(dout, x, w, stride, padding, zeros=False)


def dx_no_leftover(dout, x, w, stride=1, padding=0):
    """Forgets the leftover zero rows and columns."""
    return _dx(dout, x, w, stride, padding, leftover="none")


def dx_swapped_leftover(dout, x, w, stride=1, padding=0):
    """Adds W's leftover count as rows and H's as columns."""
    return _dx(dout, x, w, stride, padding, leftover="swapped")


def dx_h_leftover_for_w(dout, x, w, stride=1, padding=0):
    """Uses H's leftover count for the columns too."""
    return _dx(dout, x, w, stride, padding, leftover="h_for_w")


def dx_w_leftover_for_h(dout, x, w, stride=1, padding=0):
    """Uses W's leftover count for the rows too."""
    return _dx(dout, x, w, stride, padding, leftover="w_for_h")


def dx_negative_crop(dout, x, w, stride=1, padding=0):
    """Crops the padding with p:-p, which is empty when p = 0."""
    return _dx(dout, x, w, stride, padding, crop="negative")


def dx_no_crop(dout, x, w, stride=1, padding=0):
    """Returns dL/dX^pad: the padding is never cropped."""
    return _dx(dout, x, w, stride, padding, crop="none")


def dx_last_filter(dout, x, w, stride=1, padding=0):
    """Keeps the last filter's term: = instead of += over filters."""
    return _dx(dout, x, w, stride, padding, filters="last")


INPUT_GRADIENT = [
    Mistake("without rotating the filter by 180 degrees (the missing "
            "flip)", dx_no_flip),
    Mistake("when the filter is flipped upside down only, not rotated by "
            "180 degrees", dx_rows_flip),
    Mistake("when the filter is transposed instead of rotated by 180 "
            "degrees", dx_transposed_filter),
    Mistake("without zero insertion (dL/dO not dilated by the stride)",
            dx_no_zero_insertion),
    Mistake("without the leftover zero rows and columns", dx_no_leftover),
    Mistake("when the leftover rows and columns are swapped (W's count "
            "for H, H's for W)", dx_swapped_leftover),
    Mistake("when H's leftover count is used for W too",
            dx_h_leftover_for_w),
    Mistake("when W's leftover count is used for H too",
            dx_w_leftover_for_h),
    Mistake("when the padding is cropped with p:-p (empty when p = 0)",
            dx_negative_crop),
    Mistake("without cropping the padding (that is dL/dX^pad)",
            dx_no_crop),
    Mistake("from the last filter only (= instead of += over the "
            "filters)", dx_last_filter),
]


# ---------------------------------------------------------------- dL/dF

def _dw(dout, x, w, stride, padding, *, flip=False, zeros=True,
        outputs="all", batch="sum"):
    """dL/dF as X^pad correlated with the dilated dL/dO, one step
    changeable.

    ``outputs``: "all" (right) or "kernel" (only the first HH x WW
    output positions). ``batch``: "sum" (right), "mean", "first" or
    "last".
    """
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    HH, WW = w.shape[2:]
    x_pad, d = _pad(x, ph, pw), dout
    if outputs == "kernel":
        d = d[:, :, :HH, :WW]
    if flip:
        d = d[..., ::-1, ::-1]
    if zeros:
        d = _dilate(d, sh, sw)
    if batch in ("first", "last"):
        keep = slice(0, 1) if batch == "first" else slice(-1, None)
        x_pad, d = x_pad[keep], d[keep]
    corr = cnnbp.conv2d(x_pad.transpose(1, 0, 2, 3), d.transpose(1, 0, 2, 3))
    dw = corr[:, :, :HH, :WW].transpose(1, 0, 2, 3)
    return dw / x.shape[0] if batch == "mean" else dw


def dw_flipped(dout, x, w, stride=1, padding=0):
    """Rotates dL/dO by 180 degrees: a true convolution."""
    return _dw(dout, x, w, stride, padding, flip=True)


def dw_no_zero_insertion(dout, x, w, stride=1, padding=0):
    """Does not dilate dL/dO by the stride."""
    return _dw(dout, x, w, stride, padding, zeros=False)


def dw_filter_range(dout, x, w, stride=1, padding=0):
    """Sums over the first HH x WW output positions only."""
    return _dw(dout, x, w, stride, padding, outputs="kernel")


def dw_batch_mean(dout, x, w, stride=1, padding=0):
    """Divides by the batch size."""
    return _dw(dout, x, w, stride, padding, batch="mean")


def dw_first_sample(dout, x, w, stride=1, padding=0):
    """Uses sample 0 only."""
    return _dw(dout, x, w, stride, padding, batch="first")


def dw_last_sample(dout, x, w, stride=1, padding=0):
    """Keeps the last sample's term: = instead of += over the batch."""
    return _dw(dout, x, w, stride, padding, batch="last")


FILTER_GRADIENT = [
    Mistake("with dL/dO rotated by 180 degrees (no flip belongs in "
            "dL/dF)", dw_flipped),
    Mistake("without zero insertion (dL/dO not dilated by the stride)",
            dw_no_zero_insertion),
    Mistake("when the sum runs over the filter's HH x WW positions "
            "instead of all the outputs", dw_filter_range),
    Mistake("when the batch is averaged (divided by N) instead of "
            "summed", dw_batch_mean),
    Mistake("from sample 0 only (no sum over the batch)", dw_first_sample),
    Mistake("from the last sample only (= instead of += over the batch)",
            dw_last_sample),
]


# ---------------------------------------------------------------- dL/db

def db_batch_mean(dout):
    """Sums over the positions, then divides by the batch size."""
    return dout.sum(axis=(0, 2, 3)) / dout.shape[0]


def db_mean(dout):
    """Averages where it should sum."""
    return dout.mean(axis=(0, 2, 3))


def db_first_sample(dout):
    """Uses sample 0 only."""
    return dout[0].sum(axis=(1, 2))


def db_keeps_batch(dout):
    """Sums over H and W only: shape (N, K)."""
    return dout.sum(axis=(2, 3))


def db_keeps_positions(dout):
    """Sums over the batch only: shape (K, H_out, W_out)."""
    return dout.sum(axis=0)


def db_total(dout):
    """Sums everything into one number."""
    return dout.sum()


BIAS_GRADIENT = [
    Mistake("when the batch is averaged (divided by N) instead of summed",
            db_batch_mean),
    Mistake("with a mean instead of a sum", db_mean),
    Mistake("from sample 0 only (no sum over the batch)", db_first_sample),
    Mistake("when summing over H and W but not over the batch",
            db_keeps_batch),
    Mistake("when summing over the batch but not over H and W",
            db_keeps_positions),
    Mistake("when summing over the filters too", db_total),
]


# ---------------------------------------------------------------- ReLU

def relu_ge_mask(dout, x):
    """Mask x >= 0: the gradient also passes where x == 0."""
    return dout * (x >= 0)


def relu_mask_only(dout, x):
    """Returns the mask without multiplying by dout."""
    return (x > 0).astype(float)


def relu_mask_from_dout(dout, x):
    """Builds the mask from dout instead of x."""
    return dout * (dout > 0)


def relu_no_mask(dout, x):
    """Passes every gradient."""
    return dout.copy()


def relu_times_x(dout, x):
    """Multiplies by x (the ReLU output) instead of by the mask."""
    return dout * np.maximum(x, 0)


RELU_BACKWARD = [
    Mistake("with the mask x >= 0 (the gradient must stop where x == 0)",
            relu_ge_mask),
    Mistake("when the mask is returned without multiplying by dout",
            relu_mask_only),
    Mistake("with the mask taken from dout instead of x",
            relu_mask_from_dout),
    Mistake("without a mask (every gradient passes)", relu_no_mask),
    Mistake("when dout is multiplied by ReLU(x) instead of by the mask",
            relu_times_x),
]


# ------------------------------------------------------------- max-pool

def _windows(size, stride, out_hw):
    """Slices (rows, cols, i, j) of the pooling windows.

    ``out_hw`` is (H_out, W_out); window (i, j) starts at (i sh, j sw).
    Stride None means the window size.
    """
    HH, WW = _pair(size)
    sh, sw = _pair(size if stride is None else stride)
    for i in range(out_hw[0]):
        for j in range(out_hw[1]):
            yield (slice(i * sh, i * sh + HH), slice(j * sw, j * sw + WW),
                   i, j)


def pool_zero_start(x, size=2, stride=None):
    """Starts the running maximum at 0."""
    return np.maximum(cnnbp.maxpool2d(x, size, stride), 0.0)


def pool_stride_is_size(x, size=2, stride=None):
    """Ignores the stride: windows one size apart."""
    return cnnbp.maxpool2d(x, size, None)


def pool_none_is_one(x, size=2, stride=None):
    """Reads stride None as stride 1."""
    return cnnbp.maxpool2d(x, size, 1 if stride is None else stride)


def pool_square_window(x, size=2, stride=None):
    """Uses the first window size for both axes."""
    k = _pair(size)[0]
    return cnnbp.maxpool2d(x, k, k if stride is None else stride)


def pool_average(x, size=2, stride=None):
    """Averages each window: average pooling."""
    out_shape = cnnbp.maxpool2d(x, size, stride).shape
    out = np.zeros(out_shape)
    for rows, cols, i, j in _windows(size, stride, out_shape[2:]):
        out[:, :, i, j] = x[:, :, rows, cols].mean(axis=(2, 3))
    return out


MAXPOOL2D = [
    Mistake("when the running maximum starts at 0 (wrong for negative "
            "values)", pool_zero_start),
    Mistake("when the stride is ignored (windows one size apart)",
            pool_stride_is_size),
    Mistake("when stride None means 1 (it means the window size)",
            pool_none_is_one),
    Mistake("with the first window size used for both axes",
            pool_square_window),
    Mistake("when the window is averaged (average pooling)", pool_average),
]


def _route(dout, x, size, stride, *, rule="first", add=True):
    """Max-pool backward by loops over the windows of dout's shape.

    ``rule``: "first" (the first maximum, right), "every" (every tied
    maximum gets all of dout) or "spread" (dout / window size to every
    cell, the average-pool rule). ``add``: += (right) or = where
    windows overlap.
    """
    dx = np.zeros(x.shape)
    for rows, cols, i, j in _windows(size, stride, dout.shape[2:]):
        win = x[:, :, rows, cols]
        g = dout[:, :, i, j][:, :, None, None]
        if rule == "every":
            weight = win == win.max(axis=(2, 3), keepdims=True)
        elif rule == "spread":
            weight = np.full(win.shape, 1.0 / win[0, 0].size)
        else:
            flat = win.reshape(win.shape[:2] + (-1,)).argmax(axis=2)
            weight = np.zeros(win.shape[:2] + (win[0, 0].size,))
            np.put_along_axis(weight, flat[..., None], 1.0, axis=2)
            weight = weight.reshape(win.shape)
        if add:
            dx[:, :, rows, cols] += weight * g
        else:
            dx[:, :, rows, cols] = np.where(weight > 0, g,
                                            dx[:, :, rows, cols])
    return dx


def pool_back_every_tie(dout, x, size=2, stride=None):
    """Gives all of dout to every tied maximum (mask == max)."""
    return _route(dout, x, size, stride, rule="every")


def pool_back_assign(dout, x, size=2, stride=None):
    """Writes with = instead of += where windows overlap."""
    return _route(dout, x, size, stride, add=False)


def pool_back_spread(dout, x, size=2, stride=None):
    """Spreads dout evenly over the window (average-pool backward)."""
    return _route(dout, x, size, stride, rule="spread")


def pool_back_stride_is_size(dout, x, size=2, stride=None):
    """Ignores the stride: windows one size apart."""
    return _route(dout, x, size, None)


def pool_back_none_is_one(dout, x, size=2, stride=None):
    """Reads stride None as stride 1."""
    return _route(dout, x, size, 1 if stride is None else stride)


MAXPOOL2D_BACKWARD = [
    Mistake("when every tied maximum gets all of dL/dO (the total "
            "becomes too large)", pool_back_every_tie),
    Mistake("with = instead of += where windows overlap", pool_back_assign),
    Mistake("when dL/dO is spread evenly over the window (that is the "
            "average-pool backward)", pool_back_spread),
    Mistake("when the stride is ignored (windows one size apart)",
            pool_back_stride_is_size),
    Mistake("when stride None means 1 (it means the window size)",
            pool_back_none_is_one),
]


# --------------------------------------------------------- im2col, col2im

def _as_windows(cols, x_shape, HH, WW):
    """cols (N*H_out*W_out, C*HH*WW) -> (N, H_out*W_out, C, HH, WW)."""
    N, C = x_shape[:2]
    return cols.reshape(N, -1, C, HH, WW)


def im2col_mnc(x, HH, WW, stride=1, padding=0, dilation=1):
    """Columns in the order (m, n, c)."""
    cols = cnnbp.im2col(x, HH, WW, stride, padding, dilation)
    win = _as_windows(cols, x.shape, HH, WW)
    return win.transpose(0, 1, 3, 4, 2).reshape(cols.shape)


def im2col_cnm(x, HH, WW, stride=1, padding=0, dilation=1):
    """Columns in the order (c, n, m): each window transposed."""
    cols = cnnbp.im2col(x, HH, WW, stride, padding, dilation)
    win = _as_windows(cols, x.shape, HH, WW)
    return win.transpose(0, 1, 2, 4, 3).reshape(cols.shape)


def im2col_batch_last(x, HH, WW, stride=1, padding=0, dilation=1):
    """Rows in the order (i, j, a): the batch index varies fastest."""
    cols = cnnbp.im2col(x, HH, WW, stride, padding, dilation)
    N = x.shape[0]
    return cols.reshape(N, -1, cols.shape[1]).transpose(1, 0, 2).reshape(
        cols.shape)


def im2col_transposed(x, HH, WW, stride=1, padding=0, dilation=1):
    """One column per window instead of one row."""
    return cnnbp.im2col(x, HH, WW, stride, padding, dilation).T


def im2col_no_padding(x, HH, WW, stride=1, padding=0, dilation=1):
    """Never pads the input."""
    return cnnbp.im2col(x, HH, WW, stride, 0, dilation)


def im2col_no_stride(x, HH, WW, stride=1, padding=0, dilation=1):
    """Takes every window position, whatever the stride."""
    return cnnbp.im2col(x, HH, WW, 1, padding, dilation)


IM2COL = [
    Mistake("with the columns in the order (m, n, c) instead of (c, m, n)",
            im2col_mnc),
    Mistake("with the columns in the order (c, n, m): each window "
            "transposed", im2col_cnm),
    Mistake("with the rows in the order (i, j, a) instead of (a, i, j)",
            im2col_batch_last),
    Mistake("with one column per window instead of one row",
            im2col_transposed),
    Mistake("when the padding is ignored", im2col_no_padding),
    Mistake("when the stride is ignored", im2col_no_stride),
]


def _col2im_padded(cols, x_shape, HH, WW, stride, padding, add=True):
    """Scatter the rows of cols into a zero X^pad; (N, C, H+2p, W+2p)."""
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    N, C, H, W = x_shape
    H_out = (H + 2 * ph - HH) // sh + 1
    W_out = (W + 2 * pw - WW) // sw + 1
    x_pad = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    win = cols.reshape(N, H_out, W_out, C, HH, WW)
    for rows, cols_, i, j in _windows((HH, WW), (sh, sw), (H_out, W_out)):
        if add:
            x_pad[:, :, rows, cols_] += win[:, i, j]
        else:
            x_pad[:, :, rows, cols_] = win[:, i, j]
    return x_pad


def col2im_assign(cols, x_shape, HH, WW, stride=1, padding=0):
    """Writes each window back with = instead of +=."""
    ph, pw = _pair(padding)
    H, W = x_shape[2:]
    x_pad = _col2im_padded(cols, x_shape, HH, WW, stride, padding,
                           add=False)
    return x_pad[:, :, ph:ph + H, pw:pw + W]


def col2im_negative_crop(cols, x_shape, HH, WW, stride=1, padding=0):
    """Crops the padding with p:-p, which is empty when p = 0."""
    ph, pw = _pair(padding)
    x_pad = _col2im_padded(cols, x_shape, HH, WW, stride, padding)
    return x_pad[:, :, ph:-ph, pw:-pw]


def col2im_no_crop(cols, x_shape, HH, WW, stride=1, padding=0):
    """Returns the padded array."""
    return _col2im_padded(cols, x_shape, HH, WW, stride, padding)


def col2im_mnc(cols, x_shape, HH, WW, stride=1, padding=0):
    """Reads each row in the order (m, n, c)."""
    C = x_shape[1]
    reordered = cols.reshape(-1, HH, WW, C).transpose(0, 3, 1, 2)
    return cnnbp.col2im(reordered.reshape(cols.shape), x_shape, HH, WW,
                        stride, padding)


COL2IM = [
    Mistake("when each window is written back with = instead of added "
            "with +=", col2im_assign),
    Mistake("when the padding is cropped with p:-p (empty when p = 0)",
            col2im_negative_crop),
    Mistake("without cropping the padding", col2im_no_crop),
    Mistake("when each row is read in the order (m, n, c) instead of "
            "(c, m, n)", col2im_mnc),
]
