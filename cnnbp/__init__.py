"""cnnbp: backpropagation through convolutional networks, in NumPy.

Top-level functions are the fast twins; :mod:`cnnbp.naive` holds the loop
twins the chapters teach from, with the same signatures.

Shapes: x (N, C, H, W), w (K, C, HH, WW), b (K,), out and dout
(N, K, H_out, W_out), with
``H_out = floor((H + 2p - d(HH - 1) - 1) / s) + 1`` (same for W).
"""

from . import data, gradcheck, layers, naive
from .activations import relu, relu_backward
from .conv import col2im, conv2d, conv2d_backward, im2col
from .gradcheck import numerical_gradient, rel_error
from .grouped import grouped_conv2d, grouped_conv2d_backward
from .norm import batchnorm2d, batchnorm2d_backward, fold_batchnorm
from .pool import (
    avgpool2d,
    avgpool2d_backward,
    global_avgpool2d,
    global_avgpool2d_backward,
    maxpool2d,
    maxpool2d_backward,
)
from .receptive import receptive_field, receptive_field_support
from .shapes import output_size
from .transpose import conv_transpose2d, conv_transpose2d_backward

__all__ = [
    "output_size",
    "conv2d",
    "conv2d_backward",
    "grouped_conv2d",
    "grouped_conv2d_backward",
    "conv_transpose2d",
    "conv_transpose2d_backward",
    "maxpool2d",
    "maxpool2d_backward",
    "avgpool2d",
    "avgpool2d_backward",
    "global_avgpool2d",
    "global_avgpool2d_backward",
    "batchnorm2d",
    "batchnorm2d_backward",
    "fold_batchnorm",
    "receptive_field",
    "receptive_field_support",
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

# In a Jupyter kernel: a folded solution cell stays folded when it runs.
from . import folding as _folding  # noqa: E402

_folding.install()
