"""Training a modern CNN (chapter 19): check_fold_batchnorm and
check_running_statistics."""

import numpy as np

from cnnbp.exercises import modern_training as MT

from . import right, wrong

FOLD, RUN = "check_fold_batchnorm", "check_running_statistics"


def said(variant):
    """The words naming a classic mistake of
    cnnbp.exercises.modern_training."""
    for table in (MT.FOLD_BATCHNORM, MT.RUNNING_STATISTICS):
        for mistake in table:
            if mistake.fn is variant:
                return mistake.label
    raise KeyError(variant.__name__)


# ---------------------------------------------------- fold: right

@right(FOLD, cases="all")
def fold_broadcast(w, b, gamma, beta, running_mean, running_var,
                   eps=1e-5):
    s = gamma / np.sqrt(running_var + eps)
    if b is None:
        b = np.zeros_like(beta)
    return w * s[:, None, None, None], beta + s * (b - running_mean)


@right(FOLD, cases="all")
def fold_loops(w, b, gamma, beta, running_mean, running_var, eps=1e-5):
    K = w.shape[0]
    w_folded = np.empty(w.shape)
    b_folded = np.empty(K)
    for k in range(K):
        std = (running_var[k] + eps) ** 0.5
        w_folded[k] = w[k] * gamma[k] / std
        bias = 0.0 if b is None else b[k]
        b_folded[k] = gamma[k] * (bias - running_mean[k]) / std + beta[k]
    return w_folded, b_folded


@right(FOLD, cases="all")
def fold_einsum(w, b, gamma, beta, running_mean, running_var, eps=1e-5):
    s = gamma / np.sqrt(running_var + eps)
    b_folded = beta - s * running_mean
    if b is not None:
        b_folded = b_folded + s * b
    return np.einsum("k,kchw->kchw", s, w), b_folded


@right(FOLD)
def fold_float32(w, b, gamma, beta, running_mean, running_var, eps=1e-5):
    f = np.float32
    s = gamma.astype(f) / np.sqrt(running_var.astype(f) + f(eps))
    b = np.zeros(len(gamma), f) if b is None else b.astype(f)
    return (w.astype(f) * s.reshape(-1, 1, 1, 1),
            beta.astype(f) + s * (b - running_mean.astype(f)))


@right(FOLD, cases="all")
def fold_as_batchnorm_of_the_bias(w, b, gamma, beta, running_mean,
                                  running_var, eps=1e-5):
    """The batch norm's affine map applied to the bias, and its slope to
    the filters (moved to the last axis and back)."""
    def norm(o):
        return gamma * (o - running_mean) / np.sqrt(running_var + eps) + beta

    slope = norm(np.ones_like(beta)) - norm(np.zeros_like(beta))
    w_last = np.moveaxis(w, 0, -1) * slope
    bias = np.zeros_like(beta) if b is None else b
    return np.moveaxis(w_last, -1, 0), norm(bias)


@right(FOLD, needs="torch", cases="all")
def fold_torch(w, b, gamma, beta, running_mean, running_var, eps=1e-5):
    import torch
    from torch.nn.utils import fuse_conv_bn_weights
    t = torch.from_numpy
    w_folded, b_folded = fuse_conv_bn_weights(
        t(w), None if b is None else t(b), t(running_mean),
        t(running_var), eps, t(gamma), t(beta))
    return w_folded.detach().numpy(), b_folded.detach().numpy()


# ---------------------------------------------------- fold: wrong

def _bias(b, beta):
    return np.zeros_like(beta) if b is None else b


@wrong(FOLD, says=said(MT.fold_var_not_sqrt))
def fold_no_square_root(w, b, gamma, beta, running_mean, running_var,
                        eps=1e-5):
    s = gamma / (running_var + eps)
    return (w * s[:, None, None, None],
            beta + s * (_bias(b, beta) - running_mean))


@wrong(FOLD, says=said(MT.fold_no_eps))
def fold_forgets_eps(w, b, gamma, beta, running_mean, running_var,
                     eps=1e-5):
    s = gamma / np.sqrt(running_var)
    return (w * s[:, None, None, None],
            beta + s * (_bias(b, beta) - running_mean))


@wrong(FOLD, says=said(MT.fold_eps_outside))
def fold_eps_after_sqrt(w, b, gamma, beta, running_mean, running_var,
                        eps=1e-5):
    std = np.sqrt(running_var) + eps
    return (w * (gamma / std)[:, None, None, None],
            beta + gamma * (_bias(b, beta) - running_mean) / std)


@wrong(FOLD, says=said(MT.fold_times_std))
def fold_multiplies_by_std(w, b, gamma, beta, running_mean, running_var,
                           eps=1e-5):
    s = gamma * np.sqrt(running_var + eps)
    return (w * s[:, None, None, None],
            beta + s * (_bias(b, beta) - running_mean))


@wrong(FOLD, says=said(MT.fold_abs_gamma))
def fold_squares_gamma(w, b, gamma, beta, running_mean, running_var,
                       eps=1e-5):
    s = np.sqrt(gamma ** 2 / (running_var + eps))
    return (w * s[:, None, None, None],
            beta + s * (_bias(b, beta) - running_mean))


@wrong(FOLD, says=said(MT.fold_input_axis))
def fold_scales_channels(w, b, gamma, beta, running_mean, running_var,
                         eps=1e-5):
    s = gamma / np.sqrt(running_var + eps)
    return (w * s[:, None, None],
            beta + s * (_bias(b, beta) - running_mean))


@wrong(FOLD, says=said(MT.fold_last_axis))
def fold_plain_product(w, b, gamma, beta, running_mean, running_var,
                       eps=1e-5):
    s = gamma / np.sqrt(running_var + eps)
    return w * s, beta + s * (_bias(b, beta) - running_mean)


@wrong(FOLD, says=said(MT.fold_no_mean))
def fold_keeps_mean(w, b, gamma, beta, running_mean, running_var,
                    eps=1e-5):
    s = gamma / np.sqrt(running_var + eps)
    return w * s[:, None, None, None], beta + s * _bias(b, beta)


@wrong(FOLD, says=said(MT.fold_mean_unscaled))
def fold_mean_not_scaled(w, b, gamma, beta, running_mean, running_var,
                         eps=1e-5):
    s = gamma / np.sqrt(running_var + eps)
    return (w * s[:, None, None, None],
            beta + s * _bias(b, beta) - running_mean)


@wrong(FOLD, says=said(MT.fold_ignore_b))
def fold_drops_bias(w, b, gamma, beta, running_mean, running_var,
                    eps=1e-5):
    s = gamma / np.sqrt(running_var + eps)
    return w * s[:, None, None, None], beta - s * running_mean


@wrong(FOLD, says=said(MT.fold_bias_no_std))
def fold_bias_times_gamma(w, b, gamma, beta, running_mean, running_var,
                          eps=1e-5):
    s = gamma / np.sqrt(running_var + eps)
    return (w * s[:, None, None, None],
            beta + gamma * (_bias(b, beta) - running_mean))


@wrong(FOLD, says=said(MT.fold_b_unscaled))
def fold_bias_added_last(w, b, gamma, beta, running_mean, running_var,
                         eps=1e-5):
    s = gamma / np.sqrt(running_var + eps)
    return (w * s[:, None, None, None],
            beta - s * running_mean + _bias(b, beta))


@wrong(FOLD, says=said(MT.fold_no_beta))
def fold_forgets_beta(w, b, gamma, beta, running_mean, running_var,
                      eps=1e-5):
    s = gamma / np.sqrt(running_var + eps)
    return w * s[:, None, None, None], s * (_bias(b, beta) - running_mean)


@wrong(FOLD, says=said(MT.fold_beta_only))
def fold_returns_beta(w, b, gamma, beta, running_mean, running_var,
                      eps=1e-5):
    s = gamma / np.sqrt(running_var + eps)
    return w * s[:, None, None, None], beta


@wrong(FOLD, says="changed its input `w` in place")
def fold_in_place(w, b, gamma, beta, running_mean, running_var, eps=1e-5):
    s = gamma / np.sqrt(running_var + eps)
    w *= s[:, None, None, None]
    return w.copy(), beta + s * (_bias(b, beta) - running_mean)


@wrong(FOLD, says=MT.NO_BIAS)
def fold_crashes_without_bias(w, b, gamma, beta, running_mean,
                              running_var, eps=1e-5):
    s = gamma / np.sqrt(running_var + eps)
    return w * s[:, None, None, None], beta + s * (b - running_mean)


@wrong(FOLD, says="b_folded is a list")
def fold_list_bias(w, b, gamma, beta, running_mean, running_var,
                   eps=1e-5):
    w_folded, b_folded = fold_broadcast(w, b, gamma, beta, running_mean,
                                        running_var, eps)
    return w_folded, [float(v) for v in b_folded]


@wrong(FOLD, says="eps")
def fold_no_eps_parameter(w, b, gamma, beta, running_mean, running_var):
    return fold_broadcast(w, b, gamma, beta, running_mean, running_var)


# ---------------------------------------------------- running: right

@right(RUN, cases="all")
def run_axes(running_mean, running_var, x, momentum=0.1):
    mean = x.mean(axis=(0, 2, 3))
    var = x.var(axis=(0, 2, 3), ddof=1)
    return ((1 - momentum) * running_mean + momentum * mean,
            (1 - momentum) * running_var + momentum * var)


@right(RUN, cases="all")
def run_loops(running_mean, running_var, x, momentum=0.1):
    N, C, H, W = x.shape
    M = N * H * W
    new_mean, new_var = np.empty(C), np.empty(C)
    for c in range(C):
        total = 0.0
        for n in range(N):
            for i in range(H):
                for j in range(W):
                    total += x[n, c, i, j]
        mu = total / M
        squares = 0.0
        for n in range(N):
            for i in range(H):
                for j in range(W):
                    squares += (x[n, c, i, j] - mu) ** 2
        new_mean[c] = (1 - momentum) * running_mean[c] + momentum * mu
        new_var[c] = ((1 - momentum) * running_var[c]
                      + momentum * squares / (M - 1))
    return new_mean, new_var


@right(RUN, cases="all")
def run_channels_first(running_mean, running_var, x, momentum=0.1):
    rows = x.transpose(1, 0, 2, 3).reshape(x.shape[1], -1)
    M = rows.shape[1]
    mean = rows.mean(axis=1)
    var = rows.var(axis=1) * M / (M - 1)
    return (running_mean + momentum * (mean - running_mean),
            running_var + momentum * (var - running_var))


@right(RUN)
def run_float32(running_mean, running_var, x, momentum=0.1):
    x = x.astype(np.float32)
    m = np.float32(momentum)
    mean = x.mean(axis=(0, 2, 3))
    centred = x - mean[None, :, None, None]
    var = (centred ** 2).sum(axis=(0, 2, 3)) / np.float32(
        x.size // x.shape[1] - 1)
    return ((1 - m) * running_mean.astype(np.float32) + m * mean,
            (1 - m) * running_var.astype(np.float32) + m * var)


@right(RUN, cases="all")
def run_einsum(running_mean, running_var, x, momentum=0.1):
    M = x.size // x.shape[1]
    mean = np.einsum("nchw->c", x) / M
    d = x - mean[None, :, None, None]
    var = np.einsum("nchw,nchw->c", d, d) / (M - 1)
    return ((1 - momentum) * running_mean + momentum * mean,
            (1 - momentum) * running_var + momentum * var)


@right(RUN, cases="all")
def run_copy_then_update(running_mean, running_var, x, momentum=0.1):
    new_mean, new_var = running_mean.copy(), running_var.copy()
    new_mean *= 1 - momentum
    new_mean += momentum * x.mean(axis=(0, 2, 3))
    new_var *= 1 - momentum
    new_var += momentum * x.var(axis=(0, 2, 3), ddof=1)
    return new_mean, new_var


@right(RUN, needs="torch", cases="all")
def run_torch(running_mean, running_var, x, momentum=0.1):
    import torch
    bn = torch.nn.BatchNorm2d(x.shape[1], momentum=momentum,
                              dtype=torch.float64)
    bn.running_mean.copy_(torch.from_numpy(running_mean))
    bn.running_var.copy_(torch.from_numpy(running_var))
    bn.train()
    with torch.no_grad():
        bn(torch.from_numpy(x))
    return bn.running_mean.numpy().copy(), bn.running_var.numpy().copy()


# ---------------------------------------------------- running: wrong

@wrong(RUN, says=said(MT.running_biased))
def run_biased_variance(running_mean, running_var, x, momentum=0.1):
    mean = x.mean(axis=(0, 2, 3))
    var = ((x - mean[None, :, None, None]) ** 2).mean(axis=(0, 2, 3))
    return ((1 - momentum) * running_mean + momentum * mean,
            (1 - momentum) * running_var + momentum * var)


@wrong(RUN, says=said(MT.running_keras))
def run_keras_momentum(running_mean, running_var, x, momentum=0.1):
    mean = x.mean(axis=(0, 2, 3))
    var = x.var(axis=(0, 2, 3), ddof=1)
    return (momentum * running_mean + (1 - momentum) * mean,
            momentum * running_var + (1 - momentum) * var)


@wrong(RUN, says=said(MT.running_std))
def run_standard_deviation(running_mean, running_var, x, momentum=0.1):
    mean = x.mean(axis=(0, 2, 3))
    std = x.std(axis=(0, 2, 3), ddof=1)
    return ((1 - momentum) * running_mean + momentum * mean,
            (1 - momentum) * running_var + momentum * std)


@wrong(RUN, says=said(MT.running_batch_count))
def run_batch_size_correction(running_mean, running_var, x,
                              momentum=0.1):
    N = x.shape[0]
    mean = x.mean(axis=(0, 2, 3))
    var = x.var(axis=(0, 2, 3)) * N / (N - 1)
    return ((1 - momentum) * running_mean + momentum * mean,
            (1 - momentum) * running_var + momentum * var)


@wrong(RUN, says=said(MT.running_per_sample))
def run_per_sample(running_mean, running_var, x, momentum=0.1):
    mean = x.mean(axis=(2, 3))
    var = x.var(axis=(2, 3)) * x.shape[2] * x.shape[3] / max(
        x.shape[2] * x.shape[3] - 1, 1)
    return ((1 - momentum) * running_mean + momentum * mean,
            (1 - momentum) * running_var + momentum * var)


@wrong(RUN, says=said(MT.running_per_position))
def run_per_position(running_mean, running_var, x, momentum=0.1):
    mean = x.mean(axis=0)
    return ((1 - momentum) * running_mean + momentum * mean,
            (1 - momentum) * running_var
            + momentum * x.var(axis=0, ddof=1))


@wrong(RUN, says=said(MT.running_reshape))
def run_reshape_mixes(running_mean, running_var, x, momentum=0.1):
    rows = x.reshape(x.shape[1], -1)
    return ((1 - momentum) * running_mean + momentum * rows.mean(axis=1),
            (1 - momentum) * running_var
            + momentum * rows.var(axis=1, ddof=1))


@wrong(RUN, says="changed its input `running_mean`, `running_var` in "
                  "place")
def run_in_place(running_mean, running_var, x, momentum=0.1):
    running_mean *= 1 - momentum
    running_mean += momentum * x.mean(axis=(0, 2, 3))
    running_var *= 1 - momentum
    running_var += momentum * x.var(axis=(0, 2, 3), ddof=1)
    return running_mean, running_var


@wrong(RUN, says="new_var shares its memory with your input `running_var`")
def run_forgets_variance(running_mean, running_var, x, momentum=0.1):
    mean = x.mean(axis=(0, 2, 3))
    return (1 - momentum) * running_mean + momentum * mean, running_var


@wrong(RUN, says="momentum = 0.5")
def run_fixed_momentum(running_mean, running_var, x, momentum=0.1):
    return run_axes(running_mean, running_var, x, 0.1)


@wrong(RUN, says="momentum")
def run_no_momentum_parameter(running_mean, running_var, x):
    return run_axes(running_mean, running_var, x)
