"""Winograd's backward pass in 1-D (chapter 18): check_winograd_backward."""

import numpy as np

from cnnbp import naive, winograd
from cnnbp.exercises.fast_conv import WINOGRAD_BACKWARD

from . import right, wrong

BACKWARD = "check_winograd_backward"
LABELS = {m.fn.__name__: m.label for m in WINOGRAD_BACKWARD}


def mats(m, dtype=float):
    return tuple(np.array(t, dtype=dtype) for t in winograd.transforms(m))


# ------------------------------------------------------------------ right

@right(BACKWARD)
def tiles_chapter_18(dout, x, w, m):
    AT, Gamma, BT = mats(m)
    U = Gamma @ w
    dx = np.zeros(len(x))
    dU = np.zeros(m + 2)
    for i in range((len(x) - 2) // m):
        tile = slice(i * m, i * m + m + 2)
        dM = AT.T @ dout[i * m:(i + 1) * m]
        dx[tile] += BT.T @ (U * dM)
        dU += (BT @ x[tile]) * dM
    return dx, Gamma.T @ dU


@right(BACKWARD)
def all_tiles_at_once(dout, x, w, m):
    AT, Gamma, BT = mats(m)
    t = (len(x) - 2) // m
    idx = np.arange(t)[:, None] * m + np.arange(m + 2)
    V = x[idx] @ BT.T                               # (t, alpha)
    dM = dout.reshape(t, m) @ AT                    # (t, alpha)
    dx = np.zeros(len(x))
    np.add.at(dx, idx, (dM * (Gamma @ w)) @ BT)
    return dx, Gamma.T @ (V * dM).sum(axis=0)


@right(BACKWARD)
def no_winograd_at_all(dout, x, w, m):
    return np.convolve(dout, w), np.correlate(x, dout, "valid")


@right(BACKWARD)
def loop_twins(dout, x, w, m):
    d4, x4, w4 = dout[None, None, None], x[None, None, None], w[None, None,
                                                                 None]
    return (naive.input_gradient(d4, x4, w4)[0, 0, 0],
            naive.filter_gradient(d4, x4, w4)[0, 0, 0])


@right(BACKWARD)
def float32_tiles(dout, x, w, m):
    AT, Gamma, BT = mats(m, np.float32)
    U = Gamma @ w.astype(np.float32)
    dx = np.zeros(len(x), np.float32)
    dU = np.zeros(m + 2, np.float32)
    for i in range((len(x) - 2) // m):
        tile = slice(i * m, i * m + m + 2)
        dM = AT.T @ dout[i * m:(i + 1) * m].astype(np.float32)
        dx[tile] += BT.T @ (U * dM)
        dU += (BT @ x[tile].astype(np.float32)) * dM
    return dx, Gamma.T @ dU


@right(BACKWARD, needs="torch")
def torch_autograd(dout, x, w, m):
    import torch
    xt = torch.tensor(x[None, None], requires_grad=True)
    wt = torch.tensor(w[None, None], requires_grad=True)
    torch.nn.functional.conv1d(xt, wt).backward(torch.tensor(
        dout[None, None]))
    return xt.grad.numpy()[0, 0], wt.grad.numpy()[0, 0]


# ------------------------------------------------------------------ wrong

@wrong(BACKWARD, says=LABELS["dx_untransposed_input"])
def forward_matrix_for_dx(dout, x, w, m):
    AT, Gamma, BT = mats(m)
    dx = np.zeros(len(x))
    dU = np.zeros(m + 2)
    for i in range((len(x) - 2) // m):
        dM = AT.T @ dout[i * m:(i + 1) * m]
        dx[i * m:i * m + m + 2] += BT @ ((Gamma @ w) * dM)
        dU += (BT @ x[i * m:i * m + m + 2]) * dM
    return dx, Gamma.T @ dU


@wrong(BACKWARD, says=LABELS["dw_inverse_filter"])
def undo_filter_transform(dout, x, w, m):
    dx, _ = tiles_chapter_18(dout, x, w, m)
    AT, Gamma, BT = mats(m)
    dU = sum((BT @ x[i * m:i * m + m + 2]) * (AT.T @ dout[i * m:i * m + m])
             for i in range((len(x) - 2) // m))
    return dx, np.linalg.lstsq(Gamma, dU, rcond=None)[0]


@wrong(BACKWARD, says=LABELS["dx_overlap_overwritten"])
def tiles_assign_dx(dout, x, w, m):
    AT, Gamma, BT = mats(m)
    dx = np.zeros(len(x))
    for i in range((len(x) - 2) // m):
        dM = AT.T @ dout[i * m:(i + 1) * m]
        dx[i * m:i * m + m + 2] = BT.T @ ((Gamma @ w) * dM)
    return dx, tiles_chapter_18(dout, x, w, m)[1]


@wrong(BACKWARD, says=LABELS["dw_last_tile"])
def dw_assigned_in_loop(dout, x, w, m):
    AT, Gamma, BT = mats(m)
    for i in range((len(x) - 2) // m):
        dM = AT.T @ dout[i * m:(i + 1) * m]
        dw = Gamma.T @ ((BT @ x[i * m:i * m + m + 2]) * dM)
    return tiles_chapter_18(dout, x, w, m)[0], dw


@wrong(BACKWARD, says="dx has wrong values")
def dx_without_the_flip(dout, x, w, m):
    """Correlates dL/dO with w (pads it by 2) instead of convolving."""
    return (np.correlate(np.pad(dout, 2), w, "valid"),
            np.correlate(x, dout, "valid"))


@wrong(BACKWARD, says="dw has the wrong shape")
def forgot_gamma_transpose(dout, x, w, m):
    """Returns dL/dU, the gradient in the Winograd domain."""
    AT, Gamma, BT = mats(m)
    dU = sum((BT @ x[i * m:i * m + m + 2]) * (AT.T @ dout[i * m:i * m + m])
             for i in range((len(x) - 2) // m))
    return tiles_chapter_18(dout, x, w, m)[0], dU


@wrong(BACKWARD, says="dx has the wrong shape: expected (4,), got (3,)")
def results_swapped(dout, x, w, m):
    dx, dw = tiles_chapter_18(dout, x, w, m)
    return dw, dx


@wrong(BACKWARD, says="changed")
def scales_dout_in_place(dout, x, w, m):
    dout *= 0.5
    dx, dw = tiles_chapter_18(dout, x, w, m)
    return 2 * dx, 2 * dw


@wrong(BACKWARD, says="dx has wrong values")
def one_tile_only(dout, x, w, m):
    AT, Gamma, BT = mats(m)
    dM = AT.T @ dout[:m]
    dx = np.zeros(len(x))
    dx[:m + 2] = BT.T @ ((Gamma @ w) * dM)
    return dx, Gamma.T @ ((BT @ x[:m + 2]) * dM)
