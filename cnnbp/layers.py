"""Layer objects for training a small CNN with the fast twins.

Every layer has ``forward(x)`` and ``backward(dout)``; ``forward`` caches
what ``backward`` needs, ``backward`` returns dL/d(input) and fills
``layer.grads`` with the gradient of every entry of ``layer.params``
(same keys, same shapes).  Parameters are updated in place by an
optimiser (:class:`SGD`, :class:`Adam`), so a gradient check can perturb
``layer.params[name]`` directly.

Initial weights are seeded: pass ``rng`` as an int seed or a
``numpy.random.Generator`` (shared generators give distinct layers).

Example
-------
>>> import numpy as np
>>> model = Sequential(
...     Conv2d(1, 8, 3, padding=1, rng=0), ReLU(), MaxPool2d(2),
...     Flatten(), Linear(8 * 4 * 4, 10, rng=1))
>>> loss_fn = SoftmaxCrossEntropy()
>>> x, y = np.zeros((5, 1, 8, 8)), np.arange(5)
>>> loss = loss_fn.forward(model.forward(x), y)
>>> _ = model.backward(loss_fn.backward())
"""

import numpy as np

from . import conv, grouped, norm, pool, transpose
from .shapes import (
    _strict_int,
    as_float_array,
    batchnorm_args,
    check_flag,
    check_rank,
    conv_transpose_args,
    dout_arg,
    grouped_conv_args,
    pair,
    pool2d_args,
)

__all__ = [
    "Layer",
    "Conv2d",
    "ConvTranspose2d",
    "ReLU",
    "MaxPool2d",
    "AvgPool2d",
    "GlobalAvgPool2d",
    "BatchNorm2d",
    "Add",
    "Flatten",
    "Linear",
    "SoftmaxCrossEntropy",
    "Sequential",
    "SGD",
    "Adam",
]


class Layer:
    """Base class: ``params``/``grads`` dicts and the forward cache.

    ``training`` is True (training mode) until :meth:`eval`; only
    :class:`BatchNorm2d` behaves differently in evaluation mode.
    """

    def __init__(self):
        self.params = {}
        self.grads = {}
        self._cache = None
        self.training = True

    def children(self):
        """The layers inside this one (none for a plain layer)."""
        return []

    def named_children(self):
        """``(name, layer)`` for the layers inside this one; the names
        are their positions ``"0"``, ``"1"``, ... unless a layer says
        otherwise (:class:`Add`: ``"body"``, ``"shortcut"``)."""
        return [(str(k), child) for k, child in enumerate(self.children())]

    def parameters(self):
        """List of ``(layer, name)`` for every trainable array.

        ``layer.params[name]`` is the array, ``layer.grads[name]`` its
        gradient after :meth:`backward`; layers inside this one
        (:meth:`children`) are included.
        """
        return [(layer, name) for _, layer, name in self.named_parameters()]

    def named_parameters(self):
        """``(path, layer, name)`` for every trainable array, in the
        order of :meth:`parameters`.

        ``path`` is the dotted chain of :meth:`named_children` names
        from this layer down to ``layer`` (``""`` for this layer's own),
        e.g. ``"6.body.3"``: the fourth layer of the body of the residual
        block at position 6 of a :class:`Sequential`.
        """
        found = [("", self, name) for name in self.params]
        for key, child in self.named_children():
            found.extend((f"{key}.{path}" if path else key, layer, name)
                         for path, layer, name in child.named_parameters())
        return found

    def train(self, mode=True):
        """Set training (True) or evaluation (False) mode, recursively."""
        self.training = check_flag(mode, "mode")
        for child in self.children():
            child.train(mode)
        return self

    def eval(self):
        """Set evaluation mode, recursively; same as ``train(False)``."""
        return self.train(False)

    def forward(self, x):
        """Compute the output and cache what :meth:`backward` needs."""
        raise NotImplementedError

    def backward(self, dout):
        """Return dL/d(input); fill :attr:`grads`."""
        raise NotImplementedError

    def _cached(self):
        if self._cache is None:
            raise ValueError(
                f"{type(self).__name__}.backward called before forward"
            )
        return self._cache

    def __repr__(self):
        return f"{type(self).__name__}()"


class Conv2d(Layer):
    """Convolution layer over :func:`cnnbp.conv2d`.

    Parameters
    ----------
    in_channels, out_channels : int
        C and K.
    kernel_size : int or (HH, WW) pair
    stride, padding, dilation : int or (h, w) pair
    rng : int or numpy.random.Generator
        Seed for He initialisation ``w ~ N(0, 2 / (C/groups*HH*WW))``;
        b = 0.
    dtype : numpy dtype
        float64 (default) or float32.
    groups : int
        Channel groups (:func:`cnnbp.grouped.grouped_conv2d`); divides
        C and K.
    algo : str
        Algorithm for groups=1, one of :data:`cnnbp.conv.ALGOS`;
        ``"auto"`` picks one per input shape (:func:`cnnbp.conv.choose_algo`).
    bias : bool
        Whether the layer has a bias ``b`` (as ``nn.Conv2d(bias=)``).
        Before a :class:`BatchNorm2d` it has none: the batch mean takes
        every constant away, so a bias there would never learn (its
        gradient is exactly 0).

    Attributes
    ----------
    params : dict
        ``"w"`` of shape (K, C/groups, HH, WW), and ``"b"`` of shape (K,)
        unless ``bias=False``.
    grads : dict
        Same keys and shapes, filled by :meth:`backward`.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1,
                 padding=0, dilation=1, rng=0, dtype=np.float64, groups=1,
                 algo="auto", bias=True):
        super().__init__()
        C = _strict_int(in_channels, "in_channels")
        K = _strict_int(out_channels, "out_channels")
        HH, WW = pair(kernel_size, "kernel_size")
        if min(C, K, HH, WW) < 1:
            raise ValueError(
                f"in_channels, out_channels and kernel_size must be >= 1, "
                f"got {C}, {K}, {(HH, WW)}"
            )
        self.groups = _check_groups(groups, C, K)
        C //= self.groups
        gen = np.random.default_rng(rng)
        std = np.sqrt(2.0 / (C * HH * WW))
        self.params["w"] = (std * gen.standard_normal((K, C, HH, WW))
                            ).astype(dtype)
        if check_flag(bias, "bias"):
            self.params["b"] = np.zeros(K, dtype)
        self.stride, self.padding, self.dilation = stride, padding, dilation
        if algo not in conv.ALGOS:
            raise ValueError(f"algo must be one of {conv.ALGOS}, got "
                             f"{algo!r}")
        self.algo = algo

    def forward(self, x):
        """x (N, C, H, W) -> out (N, K, H_out, W_out); caches what the
        algorithm's backward needs (im2col: the columns)."""
        if self.groups != 1:
            return self._grouped_forward(x)
        out, self._cache = conv.forward_cached(
            x, self.params["w"], self.params.get("b"), self.stride,
            self.padding, self.dilation, self.algo)
        return out

    def backward(self, dout):
        """dout (N, K, H_out, W_out) -> dx (N, C, H, W); fills grads."""
        if self.groups != 1:
            return self._grouped_backward(dout)
        dx, dw, db = conv.backward_cached(dout, self._cached())
        self._store(dw, db)
        return dx

    def _store(self, dw, db):
        self.grads["w"] = dw
        if "b" in self.params:
            self.grads["b"] = db

    def _grouped_forward(self, x):
        x, w, b, out_shape, hyper, groups = grouped_conv_args(
            x, self.params["w"], self.params.get("b"), self.stride,
            self.padding, self.dilation, self.groups)
        out, ctx = grouped._forward(x, w, groups, out_shape[2:], hyper)
        if b is not None:
            out += b[:, None, None]
        self._cache = (ctx, x.shape, out_shape, hyper)
        return out

    def _grouped_backward(self, dout):
        ctx, x_shape, out_shape, hyper = self._cached()
        dout = dout_arg(dout, out_shape, "Conv2d.forward")
        dx, dw, db = grouped._backward(dout, ctx, x_shape, self.params["w"],
                                       self.groups, hyper)
        self._store(dw, db)
        return dx

    def __repr__(self):
        K, Cg, HH, WW = self.params["w"].shape
        groups = "" if self.groups == 1 else f", groups={self.groups}"
        algo = "" if self.algo == "auto" else f", algo={self.algo!r}"
        bias = "" if "b" in self.params else ", bias=False"
        return (f"Conv2d({Cg * self.groups}, {K}, kernel_size={(HH, WW)}, "
                f"stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}{groups}{algo}{bias})")


def _check_groups(groups, C, K):
    """``groups`` as an int dividing C and K, else ValueError."""
    groups = _strict_int(groups, "groups")
    if groups < 1 or C % groups or K % groups:
        raise ValueError(
            f"groups={groups} must be >= 1 and divide in_channels={C} "
            f"and out_channels={K}"
        )
    return groups


class ConvTranspose2d(Layer):
    """Transposed convolution layer over
    :func:`cnnbp.transpose.conv_transpose2d` (``nn.ConvTranspose2d``).

    Parameters
    ----------
    in_channels, out_channels : int
        C and K.
    kernel_size : int or (HH, WW) pair
    stride, padding, output_padding : int or (h, w) pair
    groups : int
        Divides C and K.
    dilation : int or (h, w) pair
    rng : int or numpy.random.Generator
        Seed for ``w ~ N(0, 2 / (C/groups*HH*WW))``; b = 0.
    dtype : numpy dtype

    Attributes
    ----------
    params : dict
        ``"w"`` of shape (C, K/groups, HH, WW), ``"b"`` of shape (K,).
    grads : dict
        Same keys and shapes.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1,
                 padding=0, output_padding=0, groups=1, dilation=1, rng=0,
                 dtype=np.float64):
        super().__init__()
        C = _strict_int(in_channels, "in_channels")
        K = _strict_int(out_channels, "out_channels")
        HH, WW = pair(kernel_size, "kernel_size")
        if min(C, K, HH, WW) < 1:
            raise ValueError(
                f"in_channels, out_channels and kernel_size must be >= 1, "
                f"got {C}, {K}, {(HH, WW)}"
            )
        self.groups = _check_groups(groups, C, K)
        gen = np.random.default_rng(rng)
        std = np.sqrt(2.0 / (C // self.groups * HH * WW))
        self.params["w"] = (std * gen.standard_normal(
            (C, K // self.groups, HH, WW))).astype(dtype)
        self.params["b"] = np.zeros(K, dtype)
        self.stride, self.padding = stride, padding
        self.output_padding, self.dilation = output_padding, dilation

    def _args(self, x):
        return conv_transpose_args(
            x, self.params["w"], self.params["b"], self.stride,
            self.padding, self.output_padding, self.dilation, self.groups)

    def forward(self, x):
        """x (N, C, H, W) -> out (N, K, H_out, W_out)."""
        x, w, b, out_shape, hyper, groups = self._args(x)
        self._cache = (x, out_shape, hyper[:3])
        out = grouped._input_grad(x, out_shape, w, groups, hyper[:3])
        out += b[:, None, None]
        return out

    def backward(self, dout):
        """dout (N, K, H_out, W_out) -> dx (N, C, H, W); fills grads."""
        x, out_shape, hyper = self._cached()
        dout = dout_arg(dout, out_shape, "ConvTranspose2d.forward")
        dx, dw, db = transpose._backward(dout, x, self.params["w"],
                                         self.groups, hyper)
        self.grads["w"], self.grads["b"] = dw, db
        return dx

    def __repr__(self):
        C, Kg, HH, WW = self.params["w"].shape
        return (f"ConvTranspose2d({C}, {Kg * self.groups}, "
                f"kernel_size={(HH, WW)}, stride={self.stride}, "
                f"padding={self.padding}, "
                f"output_padding={self.output_padding}, "
                f"groups={self.groups}, dilation={self.dilation})")


class ReLU(Layer):
    """Elementwise ReLU; caches the mask ``x > 0``."""

    def forward(self, x):
        """x (any shape) -> max(x, 0) (same shape)."""
        x = as_float_array(x, "x")
        self._cache = x > 0
        return np.where(self._cache, x, 0).astype(x.dtype, copy=False)

    def backward(self, dout):
        """dout (shape of x) -> dout * [x > 0]."""
        mask = self._cached()
        dout = dout_arg(dout, mask.shape, "ReLU.forward")
        return np.where(mask, dout, 0).astype(dout.dtype, copy=False)


class MaxPool2d(Layer):
    """Max-pool layer over :func:`cnnbp.maxpool2d`; caches the argmax.

    Parameters
    ----------
    size : int or (HH, WW) pair
    stride : int or (sh, sw) pair, optional
        Defaults to ``size``.
    padding : int or (ph, pw) pair
        At most half the window.
    ceil_mode : bool
        Round the output size up.
    """

    def __init__(self, size=2, stride=None, padding=0, ceil_mode=False):
        super().__init__()
        self.size, self.stride = size, stride
        self.padding, self.ceil_mode = padding, ceil_mode

    def forward(self, x):
        """x (N, C, H, W) -> out (N, C, H_out, W_out)."""
        x, out_shape, hyper = pool2d_args(x, self.size, self.stride,
                                          self.padding, self.ceil_mode)
        out, route = pool._max_route(x, out_shape, hyper)
        self._cache = (route, x.shape, out_shape, hyper)
        return out

    def backward(self, dout):
        """dout (N, C, H_out, W_out) -> dx (N, C, H, W)."""
        route, x_shape, out_shape, hyper = self._cached()
        dout = dout_arg(dout, out_shape, "MaxPool2d.forward")
        return pool._max_backward(dout, route, x_shape, hyper)

    def __repr__(self):
        extra = ""
        if self.padding != 0 or self.ceil_mode:
            extra = f", padding={self.padding}, ceil_mode={self.ceil_mode}"
        return f"MaxPool2d(size={self.size}, stride={self.stride}{extra})"


class AvgPool2d(Layer):
    """Average-pool layer over :func:`cnnbp.pool.avgpool2d`.

    Parameters
    ----------
    size : int or (HH, WW) pair
    stride : int or (sh, sw) pair, optional
        Defaults to ``size``.
    padding : int or (ph, pw) pair
        At most half the window.
    ceil_mode : bool
        Round the output size up.
    count_include_pad : bool
        Count padding cells in each window's divisor.
    """

    def __init__(self, size=2, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        self.size, self.stride = size, stride
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, x):
        """x (N, C, H, W) -> out (N, C, H_out, W_out)."""
        x, out_shape, hyper, include = pool._avg_args(
            x, self.size, self.stride, self.padding, self.ceil_mode,
            self.count_include_pad)
        self._cache = (x.shape, out_shape, hyper, include)
        return pool._avg_forward(x, out_shape, hyper, include)

    def backward(self, dout):
        """dout (N, C, H_out, W_out) -> dx (N, C, H, W)."""
        x_shape, out_shape, hyper, include = self._cached()
        dout = dout_arg(dout, out_shape, "AvgPool2d.forward")
        return pool._avg_backward(dout, x_shape, out_shape, hyper, include)

    def __repr__(self):
        return (f"AvgPool2d(size={self.size}, stride={self.stride}, "
                f"padding={self.padding}, ceil_mode={self.ceil_mode}, "
                f"count_include_pad={self.count_include_pad})")


class GlobalAvgPool2d(Layer):
    """Global average pooling: (N, C, H, W) -> (N, C, 1, 1)."""

    def forward(self, x):
        """x (N, C, H, W) -> the mean over H and W, (N, C, 1, 1)."""
        out = pool.global_avgpool2d(x)
        self._cache = np.shape(x)
        return out

    def backward(self, dout):
        """dout (N, C, 1, 1) -> dx (N, C, H, W), dout / (H W) each."""
        x_shape = self._cached()
        N, C, H, W = x_shape
        dout = dout_arg(dout, (N, C, 1, 1), "GlobalAvgPool2d.forward")
        return np.broadcast_to(dout / (H * W), x_shape).copy()


class BatchNorm2d(Layer):
    """Spatial batch norm (``nn.BatchNorm2d``) over :mod:`cnnbp.norm`.

    Training mode normalises with the batch's statistics
    (:func:`cnnbp.norm.batchnorm2d`) and updates the running ones::

        running_mean <- (1 - momentum) running_mean + momentum mean
        running_var  <- (1 - momentum) running_var
                        + momentum var * M / (M - 1)   (unbiased)

    with ``M = N*H*W``.  Evaluation mode (:meth:`eval`) normalises with
    the running statistics, an affine map per channel.

    Parameters
    ----------
    num_features : int
        C.
    eps : float
    momentum : float
    dtype : numpy dtype

    Attributes
    ----------
    params : dict
        ``"gamma"`` (ones) and ``"beta"`` (zeros), each of shape (C,).
    grads : dict
        Same keys and shapes.
    running_mean, running_var : ndarray of shape (C,)
        Start at 0 and 1.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1,
                 dtype=np.float64):
        super().__init__()
        C = _strict_int(num_features, "num_features")
        if C < 1:
            raise ValueError(f"num_features must be >= 1, got {C}")
        self.eps, self.momentum = eps, momentum
        self.params["gamma"] = np.ones(C, dtype)
        self.params["beta"] = np.zeros(C, dtype)
        self.running_mean = np.zeros(C, dtype)
        self.running_var = np.ones(C, dtype)

    def forward(self, x):
        """x (N, C, H, W) -> out (N, C, H, W)."""
        gamma, beta = self.params["gamma"], self.params["beta"]
        if self.training:
            x, gamma, beta = batchnorm_args(x, gamma, beta, self.eps)
            xc, istd, mean, var = norm._center(x, self.eps)
            N, C, H, W = x.shape
            M = N * H * W
            mom = self.momentum
            self.running_mean *= 1 - mom
            self.running_mean += mom * mean
            self.running_var *= 1 - mom
            self.running_var += mom * var * M / (M - 1)
        else:
            x = as_float_array(x, "x")
            check_rank(x, 4, "x", "(N, C, H, W)")
            if x.shape[1] != gamma.shape[0]:
                raise ValueError(
                    f"x has shape {x.shape} but BatchNorm2d expects "
                    f"C = {gamma.shape[0]} channels"
                )
            xc = x.reshape(x.shape[0], x.shape[1], -1) - self.running_mean[
                :, None]
            istd = 1.0 / np.sqrt(self.running_var + self.eps)
        self._cache = (xc, istd, self.training, x.shape)
        return norm._affine(xc, gamma * istd, beta, x.shape)

    def backward(self, dout):
        """dout (N, C, H, W) -> dx (N, C, H, W); fills grads."""
        xc, istd, training, x_shape = self._cached()
        dout = dout_arg(dout, x_shape, "BatchNorm2d.forward")
        gamma = self.params["gamma"]
        if training:
            dx, dgamma, dbeta = norm._backward(dout, xc, gamma, istd)
        else:
            d3 = dout.reshape(xc.shape)
            dgamma = norm._channel_sum(d3, xc) * istd
            dbeta = norm._channel_sum(d3)
            dx = dout * (gamma * istd)[:, None, None]
        self.grads["gamma"], self.grads["beta"] = dgamma, dbeta
        return dx

    def __repr__(self):
        return (f"BatchNorm2d({self.params['gamma'].shape[0]}, "
                f"eps={self.eps}, momentum={self.momentum})")


class Add(Layer):
    """Residual connection: ``out = body(x) + shortcut(x)``.

    The gradient adds at the fork: ``dx = body.backward(dout) +
    shortcut.backward(dout)``, with ``dx = body.backward(dout) + dout``
    for the identity shortcut.

    Parameters
    ----------
    body : Layer
        The residual branch, e.g. a :class:`Sequential` of
        conv-BN-ReLU-conv-BN.
    shortcut : Layer, optional
        The skip branch; None is the identity.
    """

    def __init__(self, body, shortcut=None):
        super().__init__()
        self.body, self.shortcut = body, shortcut

    def children(self):
        """The body, then the shortcut if it is a layer."""
        return [self.body] + ([] if self.shortcut is None
                              else [self.shortcut])

    def named_children(self):
        """``("body", body)``, then ``("shortcut", shortcut)`` if any."""
        return list(zip(("body", "shortcut"), self.children()))

    def forward(self, x):
        """x -> body(x) + shortcut(x); both must have one shape."""
        x = as_float_array(x, "x")
        out = self.body.forward(x)
        skip = x if self.shortcut is None else self.shortcut.forward(x)
        if out.shape != skip.shape:
            raise ValueError(
                f"Add: the body gives shape {out.shape} but the shortcut "
                f"gives shape {skip.shape} for x of shape {x.shape}"
            )
        self._cache = out.shape
        return out + skip

    def backward(self, dout):
        """dout -> body.backward(dout) + shortcut.backward(dout)."""
        dout = dout_arg(dout, self._cached(), "Add.forward")
        dx = self.body.backward(dout)
        if self.shortcut is None:
            return dx + dout
        return dx + self.shortcut.backward(dout)

    def __repr__(self):
        inner = "\n  ".join(repr(self.body).splitlines())
        return f"Add(\n  {inner},\n  shortcut={self.shortcut!r})"


class Flatten(Layer):
    """(N, ...) -> (N, D) with D the product of the other axes."""

    def forward(self, x):
        """x (N, ...) -> (N, D)."""
        x = as_float_array(x, "x")
        self._cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        """dout (N, D) -> dx (N, ...), the forward input's shape."""
        shape = self._cached()
        want = (shape[0], int(np.prod(shape[1:])))
        dout = dout_arg(dout, want, "Flatten.forward")
        return dout.reshape(shape)


class Linear(Layer):
    """Fully connected layer ``out = x @ w.T + b``.

    Parameters
    ----------
    in_features, out_features : int
        D and M.
    rng : int or numpy.random.Generator
        Seed for He initialisation ``w ~ N(0, 2 / D)``; b = 0.
    dtype : numpy dtype

    Attributes
    ----------
    params : dict
        ``"w"`` of shape (M, D), ``"b"`` of shape (M,).
    grads : dict
        Same keys and shapes.
    """

    def __init__(self, in_features, out_features, rng=0, dtype=np.float64):
        super().__init__()
        D = _strict_int(in_features, "in_features")
        M = _strict_int(out_features, "out_features")
        if D < 1 or M < 1:
            raise ValueError(
                f"in_features and out_features must be >= 1, got {D}, {M}"
            )
        gen = np.random.default_rng(rng)
        self.params["w"] = (np.sqrt(2.0 / D) * gen.standard_normal((M, D))
                            ).astype(dtype)
        self.params["b"] = np.zeros(M, dtype)

    def forward(self, x):
        """x (N, D) -> out (N, M)."""
        x = as_float_array(x, "x")
        check_rank(x, 2, "x", "(N, D)")
        M, D = self.params["w"].shape
        if x.shape[1] != D:
            raise ValueError(
                f"x has shape {x.shape} but Linear expects (N, {D}) for w "
                f"of shape {(M, D)}"
            )
        self._cache = x
        return x @ self.params["w"].T + self.params["b"]

    def backward(self, dout):
        """dout (N, M) -> dx (N, D); fills grads."""
        x = self._cached()
        M = self.params["w"].shape[0]
        dout = dout_arg(dout, (x.shape[0], M), "Linear.forward")
        self.grads["w"] = dout.T @ x
        self.grads["b"] = dout.sum(axis=0)
        return dout @ self.params["w"]

    def __repr__(self):
        M, D = self.params["w"].shape
        return f"Linear({D}, {M})"


class SoftmaxCrossEntropy:
    """Mean softmax cross-entropy over a batch.

    ``L = -(1/N) sum_a log softmax(scores[a])[y[a]]`` and
    ``dL/dscores = (softmax(scores) - onehot(y)) / N``.
    """

    def __init__(self):
        self._cache = None

    def forward(self, scores, y):
        """Loss from scores (N, M) and integer labels y (N,) in [0, M)."""
        scores = as_float_array(scores, "scores")
        check_rank(scores, 2, "scores", "(N, M)")
        y = np.asarray(y)
        N, M = scores.shape
        if y.shape != (N,) or y.dtype.kind not in "iu":
            raise ValueError(
                f"y must be integer labels of shape (N,) = {(N,)}, got "
                f"shape {y.shape} and dtype {y.dtype}"
            )
        if N and (y.min() < 0 or y.max() >= M):
            raise ValueError(
                f"labels must lie in [0, {M}) for scores of shape "
                f"{scores.shape}, got range [{y.min()}, {y.max()}]"
            )
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self._cache = (np.exp(log_p), y)
        return float(-log_p[np.arange(N), y].mean())

    def backward(self):
        """dL/dscores, shape (N, M)."""
        if self._cache is None:
            raise ValueError(
                "SoftmaxCrossEntropy.backward called before forward"
            )
        probs, y = self._cache
        N = y.shape[0]
        d = probs.copy()
        d[np.arange(N), y] -= 1
        return d / N


class Sequential(Layer):
    """A chain of layers: forward left to right, backward right to left.

    Parameters
    ----------
    *layers : Layer
    """

    def __init__(self, *layers):
        super().__init__()
        self.layers = list(layers)

    def children(self):
        """The layers, in order."""
        return self.layers

    def forward(self, x):
        """Run every layer's forward pass in order."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout):
        """Run every layer's backward pass in reverse order."""
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def predict(self, x, batch_size=512):
        """Class predictions (N,) from argmax of the scores.

        Runs in evaluation mode (batch norm uses its running statistics)
        and restores the mode the model was in.
        """
        x = as_float_array(x, "x")
        mode = self.training
        self.eval()
        try:
            preds = [self.forward(x[k:k + batch_size]).argmax(axis=1)
                     for k in range(0, x.shape[0], batch_size)]
        finally:
            self.train(mode)
        return np.concatenate(preds)

    def __repr__(self):
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential(\n  {inner})"


class SGD:
    """Stochastic gradient descent with (heavy-ball) momentum.

    ``v = momentum * v - lr * grad``; ``param += v``.

    Parameters
    ----------
    model : Sequential
    lr : float
    momentum : float
    """

    def __init__(self, model, lr=0.01, momentum=0.9):
        self.model, self.lr, self.momentum = model, lr, momentum
        self.velocity = {}

    def step(self):
        """Update every parameter in place from its current gradient."""
        for layer, name in self.model.parameters():
            key = (id(layer), name)
            p, g = layer.params[name], layer.grads[name]
            v = self.velocity.get(key, np.zeros_like(p))
            v = self.momentum * v - self.lr * g
            self.velocity[key] = v
            p += v


class Adam:
    """Adam (Kingma & Ba, 2015) with bias correction.

    Parameters
    ----------
    model : Sequential
    lr, beta1, beta2, eps : float
    """

    def __init__(self, model, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.model, self.lr = model, lr
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.t = 0
        self.m, self.v = {}, {}

    def step(self):
        """Update every parameter in place from its current gradient."""
        self.t += 1
        c1 = 1 - self.beta1 ** self.t
        c2 = 1 - self.beta2 ** self.t
        for layer, name in self.model.parameters():
            key = (id(layer), name)
            p, g = layer.params[name], layer.grads[name]
            m = self.beta1 * self.m.get(key, 0) + (1 - self.beta1) * g
            v = self.beta2 * self.v.get(key, 0) + (1 - self.beta2) * g * g
            self.m[key], self.v[key] = m, v
            p -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)
