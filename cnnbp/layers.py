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

from . import conv, pool
from .shapes import (
    _strict_int,
    as_float_array,
    check_rank,
    conv_args,
    dout_arg,
    pair,
    pool_args,
)

__all__ = [
    "Layer",
    "Conv2d",
    "ReLU",
    "MaxPool2d",
    "Flatten",
    "Linear",
    "SoftmaxCrossEntropy",
    "Sequential",
    "SGD",
    "Adam",
]


class Layer:
    """Base class: ``params``/``grads`` dicts and the forward cache."""

    def __init__(self):
        self.params = {}
        self.grads = {}
        self._cache = None

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
        C and F.
    kernel_size : int or (HH, WW) pair
    stride, padding, dilation : int or (h, w) pair
    rng : int or numpy.random.Generator
        Seed for He initialisation ``w ~ N(0, 2 / (C*HH*WW))``; b = 0.
    dtype : numpy dtype
        float64 (default) or float32.

    Attributes
    ----------
    params : dict
        ``"w"`` of shape (F, C, HH, WW), ``"b"`` of shape (F,).
    grads : dict
        Same keys and shapes, filled by :meth:`backward`.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1,
                 padding=0, dilation=1, rng=0, dtype=np.float64):
        super().__init__()
        C = _strict_int(in_channels, "in_channels")
        F = _strict_int(out_channels, "out_channels")
        HH, WW = pair(kernel_size, "kernel_size")
        if min(C, F, HH, WW) < 1:
            raise ValueError(
                f"in_channels, out_channels and kernel_size must be >= 1, "
                f"got {C}, {F}, {(HH, WW)}"
            )
        gen = np.random.default_rng(rng)
        std = np.sqrt(2.0 / (C * HH * WW))
        self.params["w"] = (std * gen.standard_normal((F, C, HH, WW))
                            ).astype(dtype)
        self.params["b"] = np.zeros(F, dtype)
        self.stride, self.padding, self.dilation = stride, padding, dilation

    def forward(self, x):
        """x (N, C, H, W) -> out (N, F, H_out, W_out); caches im2col."""
        x, w, b, out_shape, hyper = conv_args(
            x, self.params["w"], self.params["b"], self.stride,
            self.padding, self.dilation)
        out, cols = conv._forward(x, w, b, out_shape, hyper)
        self._cache = (cols, x.shape, out_shape, hyper)
        return out

    def backward(self, dout):
        """dout (N, F, H_out, W_out) -> dx (N, C, H, W); fills grads."""
        cols, x_shape, out_shape, hyper = self._cached()
        dout = dout_arg(dout, out_shape, "Conv2d.forward")
        dx, dw, db = conv._backward(dout, cols, x_shape, self.params["w"],
                                    out_shape, hyper)
        self.grads["w"], self.grads["b"] = dw, db
        return dx

    def __repr__(self):
        F, C, HH, WW = self.params["w"].shape
        return (f"Conv2d({C}, {F}, kernel_size={(HH, WW)}, "
                f"stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation})")


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
    size : int or (kh, kw) pair
    stride : int or (sh, sw) pair, optional
        Defaults to ``size``.
    """

    def __init__(self, size=2, stride=None):
        super().__init__()
        self.size, self.stride = size, stride

    def forward(self, x):
        """x (N, C, H, W) -> out (N, C, H_out, W_out)."""
        x, out_shape, hyper = pool_args(x, self.size, self.stride)
        arg = pool._argmax(x, out_shape, hyper)
        self._cache = (arg, x.shape, out_shape, hyper)
        return pool.maxpool2d(x, self.size, self.stride)

    def backward(self, dout):
        """dout (N, C, H_out, W_out) -> dx (N, C, H, W)."""
        arg, x_shape, out_shape, hyper = self._cached()
        dout = dout_arg(dout, out_shape, "MaxPool2d.forward")
        return pool._scatter(dout, arg, x_shape, hyper)

    def __repr__(self):
        return f"MaxPool2d(size={self.size}, stride={self.stride})"


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
        """Loss from scores (N, K) and integer labels y (N,) in [0, K)."""
        scores = as_float_array(scores, "scores")
        check_rank(scores, 2, "scores", "(N, K)")
        y = np.asarray(y)
        N, K = scores.shape
        if y.shape != (N,) or y.dtype.kind not in "iu":
            raise ValueError(
                f"y must be integer labels of shape (N,) = {(N,)}, got "
                f"shape {y.shape} and dtype {y.dtype}"
            )
        if N and (y.min() < 0 or y.max() >= K):
            raise ValueError(
                f"labels must lie in [0, {K}) for scores of shape "
                f"{scores.shape}, got range [{y.min()}, {y.max()}]"
            )
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self._cache = (np.exp(log_p), y)
        return float(-log_p[np.arange(N), y].mean())

    def backward(self):
        """dL/dscores, shape (N, K)."""
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

    def parameters(self):
        """List of ``(layer, name)`` for every trainable array.

        ``layer.params[name]`` is the array, ``layer.grads[name]`` its
        gradient after :meth:`backward`.
        """
        found = []
        for layer in self.layers:
            if isinstance(layer, Sequential):
                found.extend(layer.parameters())
            else:
                found.extend((layer, name) for name in layer.params)
        return found

    def predict(self, x, batch_size=512):
        """Class predictions (N,) from argmax of the scores."""
        x = as_float_array(x, "x")
        preds = [self.forward(x[k:k + batch_size]).argmax(axis=1)
                 for k in range(0, x.shape[0], batch_size)]
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
