"""Receptive fields: which input cells an output unit of a stack sees.

Two answers, for a stack of cnnbp layers (a list, a
:class:`~cnnbp.layers.Sequential`, or plain :class:`Window` specs):

- :func:`receptive_field`: the classic recurrence, one axis at a time.
  Going through a layer with kernel k, stride s, padding p and dilation
  d, from the input side, with ``r = 1, j = 1, start = 0`` at the
  input::

      r     <- r + d (k - 1) j     (size of the field)
      start <- start - p j         (first input cell of unit 0)
      j     <- j s                 (jump: input cells between units)

  Output unit i then sees input cells ``start + i j`` to
  ``start + i j + r - 1`` (cells outside the input are padding).
- :func:`receptive_field_support`: the exact set of input cells on
  which one output unit depends, for a given input size.  It is the
  window above, cut to the input, minus the holes that dilation leaves
  and the rows that padding or leftover rows keep out.  For a stack of
  convolutions, average pools and ReLUs with positive weights and
  inputs, it is exactly the set of cells where the unit's input gradient
  is nonzero; through a max pool the gradient of one input reaches only
  the argmax, and the support is the union over all inputs.

Batch norm counts as elementwise, as it is in evaluation mode; in
training mode its batch statistics make every output depend on every
input of the batch.
"""

from typing import NamedTuple

import numpy as np

from . import layers as L
from .shapes import output_size, pair, _pool_length

__all__ = ["Window", "ReceptiveField", "receptive_field",
           "receptive_field_support"]


class Window(NamedTuple):
    """A sliding window (a convolution or a pool) by its geometry alone.

    Attributes
    ----------
    kernel_size, stride, padding, dilation : int or (h, w) pair
    ceil_mode : bool
        Pool output size rounded up (no effect on the field's shape).
    """

    kernel_size: object
    stride: object = 1
    padding: object = 0
    dilation: object = 1
    ceil_mode: bool = False


class ReceptiveField(NamedTuple):
    """Receptive field of the output units of a stack, per axis (h, w).

    Attributes
    ----------
    size : tuple of (int, int)
        ``r``: input rows and columns a unit's window spans.
    jump : tuple of (int, int)
        ``j``: input cells between neighbouring units (product of the
        strides).
    start : tuple of (int, int)
        First input row and column of unit (0, 0)'s window (negative in
        the padding).
    """

    size: tuple
    jump: tuple
    start: tuple

    def window(self, i, j):
        """Input rows and columns of output unit (i, j), unclipped.

        Returns
        -------
        rows, cols : range
            ``range(start + i*jump, start + i*jump + size)`` per axis.
        """
        return tuple(range(s + k * jp, s + k * jp + r) for s, k, jp, r
                     in zip(self.start, (i, j), self.jump, self.size))


def _spec(layer):
    """``(kind, data)``: a layer's geometry, kind one of "identity",
    "window", "transpose", "global", "chain" (data: specs) or "add"
    (data: the specs of the branches)."""
    if isinstance(layer, (list, tuple)) and not isinstance(layer, Window):
        return "chain", [_spec(item) for item in layer]
    if isinstance(layer, L.Sequential):
        return "chain", [_spec(item) for item in layer.layers]
    if isinstance(layer, L.Add):
        branches = [layer.body, layer.shortcut]
        return "add", [("identity", None) if b is None else _spec(b)
                       for b in branches]
    if isinstance(layer, Window):
        return "window", _window(layer.kernel_size, layer.stride,
                                 layer.padding, layer.dilation,
                                 layer.ceil_mode)
    if isinstance(layer, L.Conv2d):
        return "window", _window(layer.params["w"].shape[2:], layer.stride,
                                 layer.padding, layer.dilation, False)
    if isinstance(layer, (L.MaxPool2d, L.AvgPool2d)):
        stride = layer.size if layer.stride is None else layer.stride
        return "window", _window(layer.size, stride, layer.padding, 1,
                                 layer.ceil_mode)
    if isinstance(layer, L.ConvTranspose2d):
        return "transpose", (layer.params["w"].shape[2:], layer.stride,
                             layer.padding, layer.output_padding,
                             layer.dilation)
    if isinstance(layer, L.GlobalAvgPool2d):
        return "global", None
    if isinstance(layer, (L.ReLU, L.BatchNorm2d)):
        return "identity", None
    raise ValueError(
        f"no receptive field through {layer!r}: only convolutions, "
        f"pools, ReLU, BatchNorm2d, Add and Sequential keep the spatial "
        f"layout; take the layers before it"
    )


def _window(kernel_size, stride, padding, dilation, ceil_mode):
    k, s = pair(kernel_size, "kernel_size"), pair(stride, "stride")
    p, d = pair(padding, "padding"), pair(dilation, "dilation")
    if min(k + s + d) < 1 or min(p) < 0:
        raise ValueError(
            f"bad window: kernel_size {k} and stride {s} and dilation "
            f"{d} must be >= 1, padding {p} >= 0"
        )
    return k, s, p, d, bool(ceil_mode)


def _field(spec):
    """Per axis ``(r, j, start)`` lists of two ints each."""
    kind, data = spec
    if kind == "identity":
        return [(1, 1, 0), (1, 1, 0)]
    if kind == "window":
        k, s, p, d, _ = data
        return [(d[a] * (k[a] - 1) + 1, s[a], -p[a]) for a in range(2)]
    if kind == "chain":
        field = [(1, 1, 0), (1, 1, 0)]
        for item in data:
            inner = _field(item)
            field = [(r + (ri - 1) * j, j * ji, st + sti * j)
                     for (r, j, st), (ri, ji, sti) in zip(field, inner)]
        return field
    if kind == "add":
        fields = [_field(branch) for branch in data]
        merged = []
        for axis in zip(*fields):
            if len({j for _, j, _ in axis}) > 1:
                raise ValueError(
                    f"the branches of an Add have different jumps "
                    f"{[j for _, j, _ in axis]}: no common field"
                )
            lo = min(st for _, _, st in axis)
            hi = max(st + r for r, _, st in axis)
            merged.append((hi - lo, axis[0][1], lo))
        return merged
    raise ValueError(
        "no fixed-size receptive field through a transposed convolution "
        "(its jump is a fraction) or a global pool (its field is the "
        "whole input): use receptive_field_support"
    )


def receptive_field(layers):
    """Receptive field of the output units of a stack of layers.

    Parameters
    ----------
    layers : Layer, Window, or sequence of them
        Conv2d, MaxPool2d, AvgPool2d, ReLU, BatchNorm2d, Add, Sequential
        or :class:`Window`, from input to output.  Through an Add the
        field is the smallest window holding both branches' fields.

    Returns
    -------
    ReceptiveField
        ``size``, ``jump`` and ``start`` per axis (h, w).

    Examples
    --------
    >>> rf = receptive_field([Window(3, padding=1), Window(2, 2),
    ...                       Window(3, padding=1), Window(2, 2)])
    >>> rf
    ReceptiveField(size=(10, 10), jump=(4, 4), start=(-3, -3))
    >>> rf.window(1, 0)
    (range(1, 11), range(-3, 7))
    """
    field = _field(_spec(layers))
    return ReceptiveField(*(tuple(v) for v in zip(*field)))


def _out_hw(spec, hw):
    """Output (H, W) of a spec for input (H, W); ValueError if none."""
    kind, data = spec
    if kind == "identity":
        return hw
    if kind == "window":
        k, s, p, d, ceil_mode = data
        if ceil_mode:
            out = tuple(_pool_length(hw[a], k[a], s[a], p[a], True)
                        for a in range(2))
            if min(out) < 1:
                raise ValueError(f"window {k} does not fit input {hw}")
            return out
        return tuple(output_size(hw[a], k[a], s[a], p[a], d[a])
                     for a in range(2))
    if kind == "transpose":
        k, s, p, op, d = (pair(v, "hyper") for v in data)
        return tuple((hw[a] - 1) * s[a] - 2 * p[a] + d[a] * (k[a] - 1)
                     + op[a] + 1 for a in range(2))
    if kind == "global":
        return 1, 1
    if kind == "chain":
        for item in data:
            hw = _out_hw(item, hw)
        return hw
    outs = {_out_hw(branch, hw) for branch in data}
    if len(outs) > 1:
        raise ValueError(f"the branches of an Add give sizes {outs}")
    return outs.pop()


def _support(spec, mask, hw):
    """Input cells (H, W) on which the True cells of ``mask`` depend."""
    kind, data = spec
    if kind == "identity":
        return mask
    if kind == "global":
        return np.full(hw, mask.any())
    if kind == "chain":
        sizes = [hw]
        for item in data[:-1]:
            sizes.append(_out_hw(item, sizes[-1]))
        for item, size in zip(reversed(data), reversed(sizes)):
            mask = _support(item, mask, size)
        return mask
    if kind == "add":
        return np.logical_or.reduce([_support(b, mask, hw) for b in data])
    if kind == "window":
        (HH, WW), (sh, sw), (ph, pw), (dh, dw), _ = data
        H_out, W_out = mask.shape
        seen = np.zeros((max(hw[0] + ph, (H_out - 1) * sh + dh * (HH - 1)
                             + 1),
                         max(hw[1] + pw, (W_out - 1) * sw + dw * (WW - 1)
                             + 1)), bool)
        for m in range(HH):
            for n in range(WW):
                seen[m * dh:m * dh + sh * (H_out - 1) + 1:sh,
                     n * dw:n * dw + sw * (W_out - 1) + 1:sw] |= mask
        return seen[ph:ph + hw[0], pw:pw + hw[1]]
    (HH, WW), (sh, sw), (ph, pw), _, (dh, dw) = (pair(v, "hyper")
                                                 for v in data)
    seen = np.pad(mask, ((ph, ph), (pw, pw)))
    out = np.zeros(hw, bool)
    for m in range(HH):
        for n in range(WW):
            out |= seen[m * dh:m * dh + sh * (hw[0] - 1) + 1:sh,
                        n * dw:n * dw + sw * (hw[1] - 1) + 1:sw]
    return out


def receptive_field_support(layers, input_size, i, j):
    """The input cells on which output unit (i, j) of a stack depends.

    Parameters
    ----------
    layers : Layer, Window, or sequence of them
        As for :func:`receptive_field`, plus ConvTranspose2d and
        GlobalAvgPool2d.
    input_size : int or (H, W) pair
        Spatial size of the stack's input.
    i, j : int
        The output unit, ``0 <= i < H_out``, ``0 <= j < W_out``.

    Returns
    -------
    mask : ndarray of bool, shape (H, W)
        True at the input cells that can change output (i, j) (the same
        for every channel and sample: channels mix fully in a
        convolution).

    Examples
    --------
    >>> mask = receptive_field_support([Window(3, dilation=2)], 6, 0, 1)
    >>> mask.astype(int)
    array([[0, 1, 0, 1, 0, 1],
           [0, 0, 0, 0, 0, 0],
           [0, 1, 0, 1, 0, 1],
           [0, 0, 0, 0, 0, 0],
           [0, 1, 0, 1, 0, 1],
           [0, 0, 0, 0, 0, 0]])
    """
    spec = _spec(layers)
    hw = pair(input_size, "input_size")
    if min(hw) < 1:
        raise ValueError(f"input_size must be >= 1, got {hw}")
    H_out, W_out = _out_hw(spec, hw)
    if not (0 <= i < H_out and 0 <= j < W_out):
        raise ValueError(
            f"output unit {(i, j)} is outside the output of size "
            f"{(H_out, W_out)} for input size {hw}"
        )
    mask = np.zeros((H_out, W_out), bool)
    mask[i, j] = True
    return _support(spec, mask, hw)
