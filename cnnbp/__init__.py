"""cnnbp: backpropagation through convolutional networks, in NumPy.

Top-level functions are the fast twins; :mod:`cnnbp.naive` holds the loop
twins the chapters teach from, with the same signatures.

Shapes: x (N, C, H, W), w (F, C, HH, WW), b (F,), out and dout
(N, F, H_out, W_out), with
``H_out = floor((H + 2p - d(HH - 1) - 1) / s) + 1`` (same for W).
"""

from . import data, gradcheck, layers, naive
from .activations import relu, relu_backward
from .conv import col2im, conv2d, conv2d_backward, im2col
from .gradcheck import numerical_gradient, rel_error
from .pool import maxpool2d, maxpool2d_backward
from .shapes import output_size

__all__ = [
    "output_size",
    "conv2d",
    "conv2d_backward",
    "maxpool2d",
    "maxpool2d_backward",
    "relu",
    "relu_backward",
    "im2col",
    "col2im",
    "numerical_gradient",
    "rel_error",
    "naive",
    "gradcheck",
    "layers",
    "data",
]
