"""ReLU backward (chapter 8): check_relu_backward."""

import numpy as np

from cnnbp.exercises import mistakes as M

from . import label, right, wrong

CHECK = "check_relu_backward"


@right(CHECK)
def relu_mask(dout, x):
    return dout * (x > 0)


@right(CHECK)
def relu_where(dout, x):
    return np.where(x > 0, dout, 0.0)


@right(CHECK)
def relu_copy_then_zero(dout, x):
    dx = dout.copy()
    dx[x <= 0] = 0
    return dx


@right(CHECK)
def relu_loops(dout, x):
    dx = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        if x[idx] > 0:
            dx[idx] = dout[idx]
    return dx


@right(CHECK)
def relu_float32(dout, x):
    return (dout * (x > 0)).astype(np.float32)


@right(CHECK, needs="torch")
def relu_torch(dout, x):
    import torch
    xt = torch.from_numpy(x.copy()).requires_grad_()
    torch.relu(xt).backward(torch.from_numpy(dout))
    return xt.grad.numpy()


@wrong(CHECK, says=label(M.relu_ge_mask))
def relu_ge(dout, x):
    return dout * (x >= 0)


@wrong(CHECK, says=label(M.relu_mask_only))
def relu_returns_mask(dout, x):
    return (x > 0).astype(float)


@wrong(CHECK, says=label(M.relu_mask_from_dout))
def relu_masks_dout(dout, x):
    return np.maximum(dout, 0)


@wrong(CHECK, says=label(M.relu_no_mask))
def relu_mask_of_output(dout, x):
    y = np.maximum(x, 0)
    return dout * (y >= 0)


@wrong(CHECK, says=label(M.relu_times_x))
def relu_times_output(dout, x):
    return dout * np.maximum(x, 0)


@wrong(CHECK, says="changed its input `dout`")
def relu_in_place(dout, x):
    dout[x <= 0] = 0
    return dout


@wrong(CHECK, says="changed its input `x`")
def relu_clips_x(dout, x):
    np.maximum(x, 0, out=x)
    return dout * (x > 0)


@wrong(CHECK, says="shares its memory with your input `dout`")
def relu_shortcut(dout, x):
    if (x > 0).all():
        return dout
    return dout * (x > 0)


@wrong(CHECK, says="holds booleans")
def relu_boolean(dout, x):
    return (dout != 0) & (x > 0)
