"""Index-mapping views a reader drives: any setting, any cell.

Every view works in the static book, with no kernel behind the page. The
reader picks one of the chapter's named presets or sets H, W, k, stride,
padding, dilation (and the mode, channels or window where they apply),
then clicks, taps or arrows to any cell and sees the cells of its sum,
the equation with the numbers and a sentence a screen reader announces.
Prev / Play / Next tour the same selections in order.

Where the numbers come from (:mod:`cnnbp.webview` has the delivery):

- a **preset** shows cnnbp's arrays, computed here by the cnnbp
  operations and stored in the view's data;
- **any other setting** is computed in the page by
  ``cnnbp/web/view_indexmap.js``, the JavaScript twin of
  :mod:`cnnbp.indexmap`, which ``tests/browser/test_views_browser.py``
  compares cell for cell with :mod:`cnnbp.indexmap` and the cnnbp
  operations over the whole range of the controls;
- the **static picture** of the first step, for readers without
  JavaScript, is drawn here from :mod:`cnnbp.indexmap`.

Views (each takes a list of configuration dicts, the presets; omitted
keys default)
---------------------------------------------------------------------
forward_view(configs)      conv forward; select an output cell.
    keys: H, W, k (or HH, WW), stride, padding, dilation, x, w, b, label
channels_view(configs)     several input channels and filters, bias.
    keys: C, K, H, W, k, stride, padding, dilation, x, w, b, label
filter_grad_view(configs)  dL/dF; select a filter cell.
    keys: as forward_view (no b) plus dout
input_grad_view(configs)   dL/dX; ``mode`` "gather" (select an input
    cell: every output it reached, the rotated filter over the
    zero-inserted dL/dO) or "scatter" (select an output cell: its
    gradient spread over its window, running sums).
    keys: as filter_grad_view plus mode
maxpool_view(configs)      max-pool; select a window (O or dL/dO cell).
    keys: H, W, size, stride, x, dout, label
shape_calculator(...)      H_out = floor((H + 2p - d(k-1) - 1)/s) + 1,
    term by term; select an output position to see its rows.

Each takes ``controls=False`` to hide its setting controls (the live
explorers set them with sliders instead).

Live explorers (``explore_*``, one per view kind) build ipywidgets
controls that recompute the view with cnnbp itself for any setting;
they need a running kernel.

Cell tags for chapter writers
-----------------------------
- A view cell (``widgets.forward_view([...])``): ``remove-input``. Its
  output is deterministic, so nbval compares it like any other output.
- An explorer cell (``widgets.explore_forward()``): ``remove-output``
  and ``nbval-ignore-output``, after a note that it needs a live kernel
  (Binder or local Jupyter). The view above it already covers the
  static reader.
"""
import numpy as np

import cnnbp
from cnnbp import indexmap, naive
from cnnbp.shapes import pair
from cnnbp.webview import PALETTE, View

__all__ = [
    "View",
    "forward_view",
    "channels_view",
    "filter_grad_view",
    "input_grad_view",
    "maxpool_view",
    "shape_calculator",
    "explore_forward",
    "explore_channels",
    "explore_filter_grad",
    "explore_input_grad",
    "explore_maxpool",
    "explore_shape",
    "PALETTE",
    "RANGES",
]

#: Values each setting control offers (a preset outside them adds its
#: own value to its control).
RANGES = {"H": range(1, 10), "W": range(1, 10), "k": range(1, 6),
          "stride": range(1, 5), "padding": range(0, 4),
          "dilation": range(1, 4), "C": range(1, 4), "K": range(1, 4)}

_TITLES = {"H": "input height", "W": "input width",
           "k": "filter size k (a square k×k filter)",
           "stride": "stride", "padding": "zero padding",
           "dilation": "dilation", "mode": "how dL/dX is summed",
           "C": "input channels", "K": "number of filters"}
_CONV = ["H", "W", "k", "stride", "padding", "dilation"]


# ---- numbers as text and JSON ----

def _fmt(v):
    """A number as short text: integers without a decimal point."""
    v = float(v)
    if v == int(v) and abs(v) < 1e12:
        return str(int(v))
    return f"{v:.3g}"


def _num(v):
    """A number for a product: negatives in parentheses."""
    s = _fmt(v)
    return f"({s})" if s.startswith("-") else s


def _json(a):
    """An array as nested lists, integral values as ints."""
    a = np.asarray(a, dtype=float)
    if a.ndim == 0:
        v = float(a)
        return int(v) if v == int(v) and abs(v) < 1e12 else v
    return [_json(row) for row in a]


def _texts(a):
    return [[_fmt(v) for v in row] for row in np.asarray(a)]


def _pairtxt(p):
    return str(p[0]) if p[0] == p[1] else f"({p[0]}, {p[1]})"


def _value(p):
    """A control value: ``"3"`` for (3, 3), ``"2,3"`` for a pair."""
    p = pair(p, "value")
    return str(p[0]) if p[0] == p[1] else f"{p[0]},{p[1]}"


def _ints(rng, shape, lo, hi):
    return rng.integers(lo, hi + 1, size=shape).astype(float)


# ---- configurations and controls ----

def _conv_cfg(c, rng, need_dout=False):
    """Normalise one single-channel configuration dict."""
    c = dict(c)
    x = c.get("x")
    if x is not None:
        x = np.asarray(x, dtype=float)
        H, W = x.shape
    else:
        H = c.get("H", 5)
        W = c.get("W", H)
        x = _ints(rng, (H, W), 0, 4)
    w = c.get("w")
    if w is not None:
        w = np.asarray(w, dtype=float)
        HH, WW = w.shape
    else:
        HH, WW = pair(c.get("k", 3), "k") if "HH" not in c else (
            c["HH"], c.get("WW", c["HH"]))
        w = _ints(rng, (HH, WW), -1, 2)
    g = indexmap.conv_geometry(H, W, HH, WW, c.get("stride", 1),
                               c.get("padding", 0), c.get("dilation", 1))
    dout = c.get("dout")
    if need_dout:
        dout = (_ints(rng, (g.H_out, g.W_out), -2, 3) if dout is None
                else np.asarray(dout, dtype=float))
    return g, x, w, dout, c


def _conv_set(g):
    return {"H": str(g.H), "W": str(g.W), "k": _value((g.HH, g.WW)),
            "stride": _value(g.stride), "padding": _value(g.padding),
            "dilation": _value(g.dilation)}


def _option_label(name, value, grid=False):
    """An option's text; ``grid``: k is the filter's HH×WW ("3×3")."""
    if "," not in value:
        return f"{value}×{value}" if grid and name == "k" else value
    a, b = value.split(",")
    return f"{a}×{b}" if name == "k" else f"({a}, {b})"


def _controls(names, presets, ranges=None):
    """Setting controls: each range plus the presets' own values."""
    ranges = dict(RANGES, **(ranges or {}))
    grid = "W" in names
    controls = []
    for name in names:
        if name == "mode":
            values = ["gather", "scatter"]
        else:
            values = [str(v) for v in ranges[name]]
            extra = {p["set"][name] for p in presets} - set(values)
            values += sorted(extra, key=lambda v: [int(t) for t in
                                                   v.split(",")])
        filt = grid and name == "k"
        controls.append({"name": name, "label": "HH×WW" if filt else name,
                         "title": ("filter height × width" if filt else
                                   _TITLES.get(name, name)),
                         "options": [[v, _option_label(name, v, grid)]
                                     for v in values]})
    return controls


def _view(kind, title, presets, first, names, controls, ranges=None):
    return View(kind, {"title": title, "presets": presets,
                       "controls": (_controls(names, presets, ranges)
                                    if controls else [])}, first)


def _label(g, c):
    if "label" in c:
        return c["label"]
    parts = [f"{g.H}×{g.W} input", f"{g.HH}×{g.WW} filter",
             f"stride {_pairtxt(g.stride)}",
             f"padding {_pairtxt(g.padding)}"]
    if g.dilation != (1, 1):
        parts.append(f"dilation {_pairtxt(g.dilation)}")
    return ", ".join(parts)


def _size_info(g):
    (sh, sw), (ph, pw), (dh, dw) = g.stride, g.padding, g.dilation
    return (f"X is {g.H}×{g.W}, F is {g.HH}×{g.WW}, stride "
            f"{_pairtxt(g.stride)}, padding {_pairtxt(g.padding)}, "
            f"dilation {_pairtxt(g.dilation)} → O is {g.H_out}×{g.W_out}:"
            f" H_out = ⌊({g.H} + 2·{ph} − {dh}·({g.HH}−1) − 1) / {sh}⌋"
            f" + 1 = {g.H_out}, W_out = ⌊({g.W} + 2·{pw} − "
            f"{dw}·({g.WW}−1) − 1) / {sw}⌋ + 1 = {g.W_out}.")


def _xname(g):
    return "Xpad" if g.padding != (0, 0) else "X"


# ---- the static first step ----

def _pad_cls(g, reached=True):
    """Cell classes of the padded input: p padding, s never reached,
    ps both, . neither."""
    (ph, pw) = g.padding
    cls = np.full((g.H_pad, g.W_pad), "p", dtype="<U2")
    cls[ph:ph + g.H, pw:pw + g.W] = ""
    if reached:
        cls[indexmap.reached_outputs(g) == 0] += "s"
    cls[cls == ""] = "."
    return cls.tolist()


def _grid(title, vals, hl, cls=None):
    return {"title": title, "vals": _texts(vals), "cls": cls, "hl": hl}


def _sum_eq(lhs, sym, nums, total):
    """Equation lines: symbolic terms, numeric terms, the total."""
    if not nums:
        return [f"{lhs} = {_fmt(total)} (an empty sum: no term reaches "
                f"this cell)"]
    return [f"{lhs} = {' + '.join(sym)}", f"  = {' + '.join(nums)}",
            f"  = {_fmt(total)}"]


def _forward_first(g, x, w, bias, out, out1, label):
    xp = naive.pad(x, g.padding)
    terms = indexmap.forward_terms(g, 0, 0)
    X = _xname(g)
    sym = [] if bias is None else ["b"]
    nums = [] if bias is None else [_num(bias)]
    for t in terms:
        sym.append(f"{X}[{t.u_pad},{t.v_pad}]·F[{t.m},{t.n}]")
        nums.append(f"{_num(xp[t.u_pad, t.v_pad])}·{_num(w[t.m, t.n])}")
    grids = [_grid(f"{X}: input", xp,
                   {(t.u_pad, t.v_pad): "in" for t in terms},
                   _pad_cls(g)),
             _grid("F: filter", w, {(t.m, t.n): "f" for t in terms}),
             _grid("O = conv(X, F)", out, {(0, 0): "cur"})]
    if out1 is not None:
        grids.append(_grid("O at stride 1", out1, {(0, 0): "same"}))
    return {"label": label, "info": _size_info(g), "grids": grids,
            "eq": _sum_eq("O[0,0]", sym, nums, out[0, 0]),
            "text": f"O[0,0]: {len(terms)} products of the window at the "
                    f"top-left and the filter; sum = {_fmt(out[0, 0])}."}


def forward_view(configs=({},), seed=0,
                 title="Convolution forward: which cells make O[i, j]",
                 controls=True):
    """A view of a single-channel convolution: select an output cell.

    Parameters
    ----------
    configs : sequence of dict
        The named presets. Keys (all optional): ``H``, ``W`` (input
        size, default 5 and H), ``k`` (int or (HH, WW), default 3),
        ``stride``, ``padding``, ``dilation`` (int or pair), ``x`` of
        shape (H, W), ``w`` of shape (HH, WW) (default: seeded small
        integers), ``b`` (a scalar bias, default none: it then appears
        in every sum), ``label``.
    seed : int
        Seed for the default integer values.
    title : str
    controls : bool
        Show the setting controls.

    Returns
    -------
    View
        Grids: input (padded; padding cells and cells no window reaches
        marked), filter, output from :func:`cnnbp.conv2d`, and for
        stride > 1 the stride-1 output. Selecting O[i, j] highlights
        :func:`cnnbp.indexmap.forward_terms`.
    """
    rng = np.random.default_rng(seed)
    presets, first = [], None
    for c in configs:
        g, x, w, _, c = _conv_cfg(c, rng)
        b = c.get("b")
        bias = None if b is None else np.array([float(b)])
        kw = dict(padding=g.padding, dilation=g.dilation)
        out = cnnbp.conv2d(x[None, None], w[None, None], bias,
                           stride=g.stride, **kw)[0, 0]
        data = {"x": _json(x), "w": _json(w), "out": _json(out),
                "b": None if b is None else _json(b)}
        out1 = None
        if g.stride != (1, 1):
            out1 = cnnbp.conv2d(x[None, None], w[None, None], bias,
                                stride=1, **kw)[0, 0]
            data["out1"] = _json(out1)
        presets.append({"label": _label(g, c), "set": _conv_set(g),
                        "data": data})
        if first is None:
            first = _forward_first(g, x, w, None if b is None else
                                   float(b), out, out1, presets[0]["label"])
    return _view("forward", title, presets, first, _CONV, controls)


def channels_view(configs=({},), seed=0,
                  title="Many channels: one output map per filter",
                  controls=True):
    """A view of O[f, i, j] over several channels: select an output cell.

    Parameters
    ----------
    configs : sequence of dict
        The named presets. Keys (optional): ``C`` (input channels,
        default 2), ``K`` (number of filters, default 2; the older
        key ``F`` is still accepted), ``H``, ``W`` (default 4 and H),
        ``k`` (default 2), ``stride``, ``padding``, ``dilation``, ``x``
        of shape (C, H, W), ``w`` of shape (K, C, HH, WW), ``b`` of
        shape (K,), ``label``.
    seed : int
    title : str
    controls : bool
        Show the setting controls.

    Returns
    -------
    View
        Selecting O[f, i, j] highlights the window in every channel
        (:func:`cnnbp.indexmap.forward_terms`), every slice F[f, c] and
        b[f]; O from :func:`cnnbp.conv2d`.
    """
    rng = np.random.default_rng(seed)
    presets, first = [], None
    for c in configs:
        x = c.get("x")
        x = (_ints(rng, (c.get("C", 2), c.get("H", 4),
                         c.get("W", c.get("H", 4))), 0, 3)
             if x is None else np.asarray(x, dtype=float))
        C, H, W = x.shape
        w = c.get("w")
        if w is None:
            HH, WW = pair(c.get("k", 2), "k")
            w = _ints(rng, (c.get("K", c.get("F", 2)), C, HH, WW), -1, 2)
        w = np.asarray(w, dtype=float)
        K, _, HH, WW = w.shape
        b = c.get("b")
        b = _ints(rng, (K,), -2, 2) if b is None else np.asarray(
            b, dtype=float)
        g = indexmap.conv_geometry(H, W, HH, WW, c.get("stride", 1),
                                   c.get("padding", 0),
                                   c.get("dilation", 1))
        out = cnnbp.conv2d(x[None], w, b, stride=g.stride,
                           padding=g.padding, dilation=g.dilation)[0]
        label = c.get("label", f"C={C} input channels, K={K} filter(s), "
                               f"stride {_pairtxt(g.stride)}, padding "
                               f"{_pairtxt(g.padding)}")
        presets.append({"label": label,
                        "set": dict(_conv_set(g), C=str(C), K=str(K)),
                        "data": {"x": _json(x), "w": _json(w),
                                 "b": _json(b), "out": _json(out)}})
        if first is None:
            first = _channels_first(g, x, w, b, out, label)
    return _view("channels", title, presets, first,
                 ["C", "K"] + _CONV, controls)


def _channels_first(g, x, w, b, out, label):
    xp = naive.pad(x, g.padding)
    terms = indexmap.forward_terms(g, 0, 0)
    window = {(t.u_pad, t.v_pad): "in" for t in terms}
    taps = {(t.m, t.n): "f" for t in terms}
    C, K = x.shape[0], w.shape[0]
    grids = [_grid(f"{_xname(g)} channel c={c}", xp[c], window,
                   _pad_cls(g, False)) for c in range(C)]
    grids += [_grid(f"F[{f},{c}]", w[f, c], taps if f == 0 else {})
              for f in range(K) for c in range(C)]
    grids.append(_grid("b", b[None], {(0, 0): "g"}))
    grids += [_grid(f"O[{f}]", out[f], {(0, 0): "cur"} if f == 0 else {})
              for f in range(K)]
    sums = [sum(xp[c, t.u_pad, t.v_pad] * w[0, c, t.m, t.n]
                for t in terms) for c in range(C)]
    return {"label": label,
            "info": f"X is {C}×{g.H}×{g.W}, F is {K}×{C}×{g.HH}×{g.WW}, "
                    f"b is ({K},) → O is {K}×{g.H_out}×{g.W_out}.",
            "grids": grids,
            "eq": [f"O[0,0,0] = {_num(b[0])} + "
                   + " + ".join(_num(s) for s in sums)
                   + f" = {_fmt(out[0, 0, 0])}"],
            "text": f"O[0,0,0]: filter 0 sums the same window over all "
                    f"{C} channels and adds b[0] = {_fmt(b[0])}."}


def filter_grad_view(configs=({},), seed=0,
                     title="dL/dF: what each filter cell met",
                     controls=True):
    """A view of dL/dF: select a filter cell and see its sum.

    Parameters
    ----------
    configs : sequence of dict
        The named presets. Keys as in :func:`forward_view` (no ``b``),
        plus ``dout`` of shape (H_out, W_out) (default: seeded small
        integers).
    seed : int
    title : str
    controls : bool
        Show the setting controls.

    Returns
    -------
    View
        Grids: padded input, dL/dO, for stride > 1 dL/dO dilated with
        zeros, and dL/dF from :func:`cnnbp.conv2d_backward`. Selecting
        dL/dF[m, n] highlights :func:`cnnbp.indexmap.filter_grad_terms`.
    """
    rng = np.random.default_rng(seed)
    presets, first = [], None
    for c in configs:
        g, x, w, dout, c = _conv_cfg(c, rng, need_dout=True)
        _, dw, _ = cnnbp.conv2d_backward(
            dout[None, None], x[None, None], w[None, None], stride=g.stride,
            padding=g.padding, dilation=g.dilation)
        dw = dw[0, 0]
        presets.append({"label": _label(g, c), "set": _conv_set(g),
                        "data": {"x": _json(x), "dout": _json(dout),
                                 "dw": _json(dw)}})
        if first is None:
            first = _filter_grad_first(g, x, dout, dw, presets[0]["label"])
    return _view("filter_grad", title, presets, first, _CONV, controls)


def _filter_grad_first(g, x, dout, dw, label):
    xp = naive.pad(x, g.padding)
    terms = indexmap.filter_grad_terms(g, 0, 0)
    X = _xname(g)
    sym = [f"dO[{t.i},{t.j}]·{X}[{t.u_pad},{t.v_pad}]" for t in terms]
    nums = [f"{_num(dout[t.i, t.j])}·{_num(xp[t.u_pad, t.v_pad])}"
            for t in terms]
    grids = [_grid(f"{X}: input", xp,
                   {(t.u_pad, t.v_pad): "in" for t in terms},
                   _pad_cls(g)),
             _grid("dL/dO", dout, {(t.i, t.j): "g" for t in terms})]
    if g.stride != (1, 1):
        dz = naive.dilate(dout, g.stride)
        cls = np.full(dz.shape, "z")
        cls[::g.stride[0], ::g.stride[1]] = "."
        grids.append(_grid("dL/dO dilated by the stride", dz,
                           {(t.i * g.stride[0], t.j * g.stride[1]): "g"
                            for t in terms}, cls.tolist()))
    grids.append(_grid("dL/dF", dw, {(0, 0): "cur"}))
    return {"label": label, "info": _size_info(g), "grids": grids,
            "eq": ["dO = dL/dO"] + _sum_eq("dL/dF[0,0]", sym, nums,
                                           dw[0, 0]),
            "text": f"dL/dF[0,0]: filter cell (0,0) met {len(terms)} input "
                    f"cells, one per output cell; sum = {_fmt(dw[0, 0])}."}


def _running(dout, step, backward):
    """``backward(dout)`` with only the first ``step + 1`` cells of dout.

    The running sums of a scatter, computed by cnnbp itself.
    """
    mask = np.zeros(dout.size)
    mask[:step + 1] = 1.0
    return backward(dout * mask.reshape(dout.shape))


def input_grad_view(configs=({},), seed=0,
                    title="dL/dX: where each input cell's gradient comes "
                          "from", controls=True):
    """A view of dL/dX, as a gather (select an input cell) or a scatter.

    Parameters
    ----------
    configs : sequence of dict
        The named presets. Keys as in :func:`filter_grad_view`, plus
        ``mode``: ``"gather"`` (default; select an input cell: every
        output it reached, the linking filter cell, the rotated filter
        over the zero-inserted and padded dL/dO) or ``"scatter"``
        (select an output cell: its gradient times the filter added
        into the padded input window, with running sums; the padding is
        cropped at the end). The reader can switch the mode.
    seed : int
    title : str
    controls : bool
        Show the setting controls.

    Returns
    -------
    View
        dL/dX and the running sums from :func:`cnnbp.conv2d_backward`;
        highlighted cells are :func:`cnnbp.indexmap.input_grad_terms`
        (gather) or :func:`cnnbp.indexmap.forward_terms` (scatter).
    """
    rng = np.random.default_rng(seed)
    presets, first = [], None
    for c in configs:
        g, x, w, dout, c = _conv_cfg(c, rng, need_dout=True)
        mode = c.get("mode", "gather")
        if mode not in ("gather", "scatter"):
            raise ValueError(f"mode must be 'gather' or 'scatter', got "
                             f"{mode!r}")
        dx = cnnbp.conv2d_backward(
            dout[None, None], x[None, None], w[None, None], stride=g.stride,
            padding=g.padding, dilation=g.dilation)[0][0, 0]
        xp = naive.pad(x, g.padding)[None, None]

        def backward(d):
            return cnnbp.conv2d_backward(
                d[None, None], xp, w[None, None], stride=g.stride,
                dilation=g.dilation)[0][0, 0]

        acc = [_running(dout, k, backward) for k in range(dout.size)]
        label = c.get("label", f"{mode}: {_label(g, c)}")
        presets.append({"label": label,
                        "set": dict(_conv_set(g), mode=mode),
                        "data": {"w": _json(w), "dout": _json(dout),
                                 "dx": _json(dx), "acc": _json(acc)}})
        if first is None:
            first = (_gather_first(g, w, dout, dx, label)
                     if mode == "gather" else
                     _scatter_first(g, w, dout, dx, acc[0], label))
    return _view("input_grad", title, presets, first, _CONV + ["mode"],
                 controls)


def _full_title(eh, ew, rh, rw):
    """Caption of the gather grid: what its zeros are (d = dilation)."""
    title = (f"dL/dO with s−1 zeros inserted, a border of d(HH−1) = {eh}"
             f" rows and d(WW−1) = {ew} columns of zeros")
    if rh or rw:
        title += (f", and the leftover rows/columns r = "
                  f"{_pairtxt((rh, rw))} (hatched: no window reached them)")
    return title


def _gather_first(g, w, dout, dx, label):
    terms = indexmap.input_grad_terms(g, 0, 0)
    (sh, sw), (dh, dw) = g.stride, g.dilation
    eh, ew = dh * (g.HH - 1), dw * (g.WW - 1)
    full = np.zeros((g.H_pad + eh, g.W_pad + ew))
    dz = naive.dilate(dout, g.stride)
    full[eh:eh + dz.shape[0], ew:ew + dz.shape[1]] = dz
    cls = np.full(full.shape, "p")
    cls[eh:eh + dz.shape[0], ew:ew + dz.shape[1]] = "z"
    cls[eh:eh + dz.shape[0]:sh, ew:ew + dz.shape[1]:sw] = "."
    (zh, zw), (rh, rw) = dz.shape, (g.H_pad - eh - dz.shape[0],
                                    g.W_pad - ew - dz.shape[1])
    cls[eh + zh:eh + zh + rh, ew:ew + zw + rw] = "s"
    cls[eh:eh + zh + rh, ew + zw:ew + zw + rw] = "s"
    ph, pw = g.padding
    window = {(ph + a * dh, pw + b * dw): "in"
              for a in range(g.HH) for b in range(g.WW)}
    window.update({(eh + t.i * sh, ew + t.j * sw): "g" for t in terms})
    sym = [f"dO[{t.i},{t.j}]·F[{t.m},{t.n}]" for t in terms]
    nums = [f"{_num(dout[t.i, t.j])}·{_num(w[t.m, t.n])}" for t in terms]
    grids = [_grid("dL/dO", dout, {(t.i, t.j): "g" for t in terms}),
             _grid("F: filter", w, {(t.m, t.n): "f" for t in terms}),
             _grid("rot180(F)", naive.rot180(w),
                   {(g.HH - 1 - t.m, g.WW - 1 - t.n): "f" for t in terms}),
             _grid(_full_title(eh, ew, rh, rw), full, window,
                   cls.tolist()),
             _grid("dL/dX", dx, {(0, 0): "cur"})]
    return {"label": label, "info": _size_info(g), "grids": grids,
            "eq": ["dO = dL/dO"] + _sum_eq("dL/dX[0,0]", sym, nums,
                                           dx[0, 0]),
            "text": f"dL/dX[0,0]: this input cell reached {len(terms)} "
                    f"output cell(s); sum = {_fmt(dx[0, 0])}."}


def _scatter_first(g, w, dout, dx, acc, label):
    terms = indexmap.forward_terms(g, 0, 0)
    grids = [_grid("dL/dO", dout, {(0, 0): "cur"}),
             _grid("F: filter", w, {(t.m, t.n): "f" for t in terms}),
             _grid("dL/dX (padded), running sum", acc,
                   {(t.u_pad, t.v_pad): "in" for t in terms},
                   _pad_cls(g, False)),
             _grid("dL/dX", dx, {(t.u, t.v): "in" for t in terms
                                 if not t.in_padding})]
    parts = [f"dX[{t.u_pad},{t.v_pad}] += {_num(dout[0, 0])}·"
             f"{_num(w[t.m, t.n])}" for t in terms]
    return {"label": label, "info": _size_info(g), "grids": grids,
            "eq": [f"dO[0,0] = {_fmt(dout[0, 0])} is sent back through "
                   f"its window:", "; ".join(parts)],
            "text": f"Output cell (0,0) sends dL/dO[0,0] = "
                    f"{_fmt(dout[0, 0])} times each filter weight to the "
                    f"{len(terms)} input cells of its window."}


def maxpool_view(configs=({},), seed=0,
                 title="Max-pool: winners and where the gradient goes",
                 controls=True):
    """A view of max-pooling: select a window, see its winner.

    Parameters
    ----------
    configs : sequence of dict
        The named presets. Keys (optional): ``H``, ``W`` (default 4 and
        H), ``size`` (default 2), ``stride`` (default: size), ``x`` of
        shape (H, W) (default: seeded integers 0..4, so ties occur),
        ``dout`` of shape (H_out, W_out), ``label``.
    seed : int
    title : str
    controls : bool
        Show the setting controls (the window size is control ``k``).

    Returns
    -------
    View
        Selecting window (i, j) (its O or dL/dO cell) highlights its
        cells, the winner (first maximum in row-major order,
        :func:`cnnbp.indexmap.pool_winners`), tied losers, and dL/dX
        accumulated over the windows up to this one (overlapping
        windows add up), from :func:`cnnbp.maxpool2d_backward`.
    """
    rng = np.random.default_rng(seed)
    presets, first = [], None
    for c in configs:
        x = c.get("x")
        x = (_ints(rng, (c.get("H", 4), c.get("W", c.get("H", 4))), 0, 4)
             if x is None else np.asarray(x, dtype=float))
        H, W = x.shape
        size, stride = c.get("size", 2), c.get("stride")
        g = indexmap.pool_geometry(H, W, size, stride)
        out = cnnbp.maxpool2d(x[None, None], size, stride)[0, 0]
        dout = c.get("dout")
        dout = (_ints(rng, out.shape, 1, 4) if dout is None
                else np.asarray(dout, dtype=float))

        def backward(d):
            return cnnbp.maxpool2d_backward(d[None, None], x[None, None],
                                            size, stride)[0, 0]

        acc = [_running(dout, k, backward) for k in range(dout.size)]
        ties = indexmap.pool_ties(x, size, stride)
        label = c.get("label", f"{H}×{W} input, window "
                               f"{_pairtxt(g.size)}, stride "
                               f"{_pairtxt(g.stride)}"
                               + (", with ties" if ties else ""))
        presets.append({"label": label,
                        "set": {"H": str(H), "W": str(W),
                                "k": _value(g.size),
                                "stride": _value(g.stride)},
                        "data": {"x": _json(x), "dout": _json(dout),
                                 "out": _json(out), "acc": _json(acc)}})
        if first is None:
            first = _maxpool_first(g, x, out, dout, acc[0], ties, label)
    return _view("maxpool", title, presets, first,
                 ["H", "W", "k", "stride"], controls)


def _pool_info(g):
    """The max-pool view's size line, right at the edges.

    Parameters
    ----------
    g : cnnbp.indexmap.PoolGeometry

    Returns
    -------
    str
        Sizes; "(windows overlap)" only when two windows share a cell;
        a note on cells in no window (stride larger than the window, or
        leftover rows and columns), whose gradient is always 0.
    """
    covered = np.zeros((g.H, g.W), dtype=bool)
    for i in range(g.H_out):
        for j in range(g.W_out):
            for u, v in g.window(i, j):
                covered[u, v] = True
    overlap = any(s < k and n > 1 for s, k, n in
                  zip(g.stride, g.size, (g.H_out, g.W_out)))
    gaps = any(s > k and n > 1 for s, k, n in
               zip(g.stride, g.size, (g.H_out, g.W_out)))
    info = (f"X is {g.H}×{g.W}, window {_pairtxt(g.size)}, stride "
            f"{_pairtxt(g.stride)} → O is {g.H_out}×{g.W_out}"
            + (" (windows overlap)" if overlap else "") + ".")
    n = int((~covered).sum())
    if n:
        info += (f" {n} hatched cell{' is' if n == 1 else 's are'} in no "
                 "window" + (" (the stride is larger than the window)"
                             if gaps else "")
                 + f": {'its' if n == 1 else 'their'} gradient is always "
                 "0.")
    return info


def _maxpool_first(g, x, out, dout, acc, ties, label):
    u, v = (int(t) for t in indexmap.pool_winners(x, g.size, g.stride)[0, 0])
    tied = ties.get((0, 0), [])
    window = {}
    for cell in g.window(0, 0):
        window[cell] = ("win" if cell == (u, v) else
                        "tie" if cell in tied else "in")
    single = g.size == (1, 1)
    vals = ", ".join(_fmt(x[cell]) for cell in g.window(0, 0))
    eq = [(f"O[0,0] = X[{u},{v}] = {_fmt(out[0, 0])} (a 1×1 window)"
           if single else
           f"O[0,0] = max({vals}) = {_fmt(out[0, 0])} at X[{u},{v}]"),
          f"dL/dX[{u},{v}] += dL/dO[0,0] = {_fmt(dout[0, 0])} → "
          f"{_fmt(acc[u, v])}"]
    if not single:
        eq.append("every other cell of the window gets 0")
    text = (f"Window (0,0) is the single cell X[{u},{v}]: its gradient "
            f"goes straight back to it." if single else
            f"Window (0,0): the maximum {_fmt(out[0, 0])} is at "
            f"X[{u},{v}], so all of dL/dO[0,0] goes there.")
    if tied:
        text += " Tie: the first maximum in row-major order wins."
    return {"label": label, "info": _pool_info(g),
            "grids": [_grid("X: input", x, window),
                      _grid("O = maxpool(X)", out, {(0, 0): "cur"}),
                      _grid("dL/dO", dout, {(0, 0): "g"}),
                      _grid("dL/dX so far", acc, {(u, v): "g"})],
            "eq": eq, "text": text}


def shape_calculator(H=range(1, 11), k=range(1, 6), s=range(1, 4),
                     p=range(0, 3), d=range(1, 3), initial=(7, 3, 2, 1, 1),
                     title="Output size, term by term", controls=True):
    """Pick H, k, stride, padding, dilation and read H_out term by term.

    The initial setting is computed here with :func:`cnnbp.output_size`
    (an impossible one stores its ``ValueError`` message); every other
    is computed in the page by the JavaScript twin of
    :func:`cnnbp.output_size` (tested against it over these ranges and
    more). Selecting an output position shows the padded rows it reads.

    Parameters
    ----------
    H, k, s, p, d : iterable of int
        Values offered for input size, kernel size, stride, padding and
        dilation (controls ``H``, ``k``, ``stride``, ``padding``,
        ``dilation``).
    initial : tuple of 5 ints
        Values selected at first.
    title : str
    controls : bool
        Show the setting controls.

    Returns
    -------
    View
    """
    names = ["H", "k", "stride", "padding", "dilation"]
    hv, kv, sv, pv, dv = initial
    try:
        data = {"hout": cnnbp.output_size(hv, kv, sv, pv, dv)}
    except ValueError as err:
        data = {"error": str(err)}
    preset = {"label": f"H={hv}, k={kv}, s={sv}, p={pv}, d={dv}",
              "set": {n: str(v) for n, v in zip(names, initial)},
              "data": data}
    ranges = dict(zip(names, (H, k, s, p, d)))
    return _view("shape", title, [preset], _shape_first(initial, data,
                                                         preset["label"]),
                 names, controls, ranges)


def _shape_first(initial, data, label):
    hv, kv, sv, pv, dv = initial
    n = hv + 2 * pv
    if "error" in data:
        return {"label": label, "info": "ValueError: " + data["error"],
                "grids": [], "eq": [], "text": "cnnbp refuses this "
                                               "setting."}
    hout = data["hout"]
    strip = [["0" if c < pv or c >= n - pv else "" for c in range(n)]]
    cls = [["p" if c < pv or c >= n - pv else "." for c in range(n)]]
    taps = {(0, m * dv): "in" for m in range(kv)}
    return {"label": label,
            "info": f"H_out = ⌊({hv} + 2·{pv} − {dv}·({kv}−1) − 1) / "
                    f"{sv}⌋ + 1 = {hout}",
            "grids": [{"title": "Padded input rows", "vals": strip,
                       "cls": cls, "hl": taps},
                      {"title": "Output positions",
                       "vals": [[str(i) for i in range(hout)]],
                       "cls": None, "hl": {(0, 0): "cur"}}],
            "eq": [f"window 0 reads padded rows "
                   f"{', '.join(str(m * dv) for m in range(kv))}"],
            "text": f"H_out = {hout}."}


# ---- live explorers (need a running kernel) ----

def _explorer(make, sliders, choices=None):
    """ipywidgets controls that redraw ``make(**values)`` on change.

    Returns
    -------
    ipywidgets.VBox
        Its attribute ``cnnbp_state`` holds the last ``view`` (or None)
        and ``error`` (cnnbp's ValueError message, or None).
    """
    import ipywidgets as ipw
    from IPython.display import display

    out = ipw.Output()
    controls = {name: ipw.IntSlider(value=v, min=lo, max=hi,
                                    description=name,
                                    continuous_update=False)
                for name, (v, lo, hi) in sliders.items()}
    for name, (v, options) in (choices or {}).items():
        controls[name] = ipw.Dropdown(value=v, options=options,
                                      description=name)
    state = {"view": None, "error": None}

    def redraw(*_):
        try:
            state["view"] = make(**{n: c.value
                                    for n, c in controls.items()})
            state["error"] = None
        except ValueError as err:
            state["view"], state["error"] = None, str(err)
        with out:
            out.clear_output(wait=True)
            if state["view"] is None:
                print(f"cnnbp says: ValueError: {state['error']}")
            else:
                display(state["view"])

    for ctl in controls.values():
        ctl.observe(redraw, names="value")
    redraw()
    box = ipw.VBox([ipw.HBox(list(controls.values()),
                             layout=ipw.Layout(flex_flow="row wrap")),
                    out])
    box.cnnbp_state = state
    return box


def _conv_sliders(H, k, stride, padding, dilation):
    return {"H": (H, 1, 9), "W": (H, 1, 9), "k": (k, 1, 5),
            "stride": (stride, 1, 4), "padding": (padding, 0, 3),
            "dilation": (dilation, 1, 3)}


def explore_forward(H=5, k=3, stride=1, padding=0, dilation=1):
    """Live explorer of :func:`forward_view` (needs a running kernel).

    Sliders for H, W, k, stride, padding and dilation; every change
    recomputes the view with cnnbp, and an impossible setting prints
    cnnbp's ValueError. Tag the cell ``remove-output`` and
    ``nbval-ignore-output``.
    """
    return _explorer(lambda **c: forward_view([c], controls=False),
                     _conv_sliders(H, k, stride, padding, dilation))


def explore_channels(C=2, K=2, H=4, k=2, stride=1, padding=0, dilation=1,
                     *, F=None):
    """Live explorer of :func:`channels_view` (needs a running kernel).

    Sliders for C, K (the number of filters) and the settings of
    :func:`explore_forward`; same tags. ``F`` is the older name of
    ``K``, still accepted.
    """
    sliders = {"C": (C, 1, 3), "K": (K if F is None else F, 1, 3)}
    sliders.update(_conv_sliders(H, k, stride, padding, dilation))
    return _explorer(lambda **c: channels_view([c], controls=False),
                     sliders)


def explore_filter_grad(H=5, k=3, stride=1, padding=0, dilation=1):
    """Live explorer of :func:`filter_grad_view` (needs a kernel).

    Same sliders and tags as :func:`explore_forward`.
    """
    return _explorer(lambda **c: filter_grad_view([c], controls=False),
                     _conv_sliders(H, k, stride, padding, dilation))


def explore_input_grad(H=5, k=3, stride=1, padding=0, dilation=1,
                       mode="gather"):
    """Live explorer of :func:`input_grad_view` (needs a kernel).

    The sliders of :func:`explore_forward` and a ``mode`` menu
    (``"gather"`` or ``"scatter"``); same tags.
    """
    return _explorer(lambda **c: input_grad_view([c], controls=False),
                     _conv_sliders(H, k, stride, padding, dilation),
                     {"mode": (mode, ["gather", "scatter"])})


def explore_maxpool(H=4, size=2, stride=2):
    """Live explorer of :func:`maxpool_view` (needs a kernel).

    Sliders for H, W, size and stride; tags as :func:`explore_forward`.
    """
    return _explorer(lambda **c: maxpool_view([c], controls=False),
                     {"H": (H, 1, 9), "W": (H, 1, 9), "size": (size, 1, 5),
                      "stride": (stride, 1, 4)})


def explore_shape(H=7, k=3, s=2, p=1, d=1):
    """Live explorer of :func:`shape_calculator` (needs a kernel).

    Sliders for H, k, s, p and d; every change calls
    :func:`cnnbp.output_size`. Tags as :func:`explore_forward`.
    """
    def make(H, k, s, p, d):
        cnnbp.output_size(H, k, s, p, d)
        return shape_calculator(initial=(H, k, s, p, d), controls=False)

    return _explorer(make, {"H": (H, 1, 30), "k": (k, 1, 7),
                            "s": (s, 1, 4), "p": (p, 0, 4),
                            "d": (d, 1, 3)})
