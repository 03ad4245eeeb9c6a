"""Drive a view in the page and check what it shows against cnnbp.

Shared by ``test_views_browser.py`` (a page of its own) and
``test_widgets_browser.py`` (the chapters). Not a conftest: plain
functions, imported by name.

- :data:`SNAPSHOT` (JavaScript, evaluated on a ``.cnnbp-view`` element)
  returns everything the view shows: its controls, error, grids (cell
  texts by ``data-grid`` / ``data-sub``), the marked cells, equation
  and text.
- :data:`DRIVE` sets controls through ``input``/``change`` events and
  clicks a cell, trial after trial, in one round trip.
- :func:`check` compares one snapshot with :mod:`cnnbp.indexmap` and
  the cnnbp operations: the selected cell, the exact set of highlighted
  cells of every grid, the roles, and every number shown.
- :func:`axe_run` runs axe-core (``node_modules``, from ``npm ci``).
"""
from pathlib import Path

import numpy as np

import cnnbp
from cnnbp import indexmap, widgets
from cnnbp.shapes import pair

AXE = (Path(__file__).resolve().parents[2] / "node_modules" / "axe-core"
       / "axe.min.js")


def axe_run(context):
    """JavaScript running axe-core (WCAG 2.1 A and AA) on ``context``
    (``"document"`` or a quoted CSS selector); it returns the serious
    and critical violations, each as ``"rule: targets"``."""
    return """async () => {
  const r = await axe.run(%s, {runOnly: {type: "tag", values:
    ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}});
  return r.violations.filter((v) => ["serious", "critical"].includes(
    v.impact)).map((v) => v.id + ": " + v.nodes.slice(0, 3).map(
    (n) => n.target.join(" ")).join(", "));
}""" % context


SNAPSHOT = """(view) => {
  const grids = {}, classes = {};
  view.querySelectorAll("table").forEach((t) => {
    const tds = t.querySelectorAll("td[data-grid]");
    if (!tds.length) { return; }
    const key = tds[0].dataset.grid + "|" + (tds[0].dataset.sub || "");
    const rows = [], cls = [];
    tds.forEach((td) => {
      const r = +td.dataset.r;
      (rows[r] = rows[r] || [])[+td.dataset.c] = td.textContent;
      (cls[r] = cls[r] || [])[+td.dataset.c] = td.className;
    });
    grids[key] = rows;
    classes[key] = cls;
  });
  const marks = Array.from(view.querySelectorAll(
    "td[data-grid][data-role], td[data-grid][data-hl]")).map((td) => [
    td.dataset.grid, td.dataset.sub || "", +td.dataset.r, +td.dataset.c,
    td.dataset.role || "", td.dataset.hl || ""]);
  const controls = {};
  view.querySelectorAll("select[data-control]").forEach((s) => {
    controls[s.dataset.control] = s.value;
  });
  const text = (sel) => view.querySelector(sel).textContent;
  return {
    kind: view.dataset.kind,
    geom: view.dataset.geom ? JSON.parse(view.dataset.geom) : null,
    preset: view.dataset.preset, hout: view.getAttribute("data-hout"),
    error: text("[data-control=error]"), grids: grids, classes: classes,
    marks: marks,
    controls: controls, eq: text("[data-control=equation]"),
    text: text("[data-control=text]"), info: text("[data-control=info]")
  };
}"""

DRIVE = """(view, trials) => {
  const snap = %s;
  return trials.map((trial) => {
    Object.keys(trial.set).forEach((name) => {
      const s = view.querySelector("[data-control='" + name + "']");
      s.value = trial.set[name];
      s.dispatchEvent(new Event("input", {bubbles: true}));
      s.dispatchEvent(new Event("change", {bubbles: true}));
    });
    const cells = view.querySelectorAll("td[data-sel]");
    if (cells.length) {
      cells[Math.floor(trial.cell * cells.length)].click();
    }
    return snap(view);
  });
}""" % SNAPSHOT


def options(view):
    """``{control: [option values]}`` of a view element handle."""
    return view.evaluate("""(v) => {
      const out = {};
      v.querySelectorAll("select[data-control]").forEach((s) => {
        if (s.dataset.control !== "config") {
          out[s.dataset.control] = Array.from(s.options).map(
            (o) => o.value);
        }
      });
      return out;
    }""")


def trials(rng, opts, n):
    """``n`` random settings (one value per control) and cells."""
    return [{"set": {name: str(rng.choice(values))
                     for name, values in opts.items()},
             "cell": float(rng.random())} for _ in range(n)]


def drive(view, rng, n):
    """Run ``n`` random trials on ``view``; returns their snapshots."""
    return view.evaluate(DRIVE, trials(rng, options(view), n))


def _array(snap, grid, sub=""):
    return np.array(snap["grids"][f"{grid}|{sub}"], dtype=float)


def _texts(a):
    return [[widgets._fmt(v) for v in row] for row in np.asarray(a)]


def _shown(snap, grid, want, sub=""):
    got = snap["grids"][f"{grid}|{sub}"]
    assert got == _texts(want), f"{grid}|{sub}: {got} != {_texts(want)}"


def _marks(snap):
    """``{(grid, sub): {(r, c): role}}`` of the highlighted cells, and
    the selected cell ``(grid, sub, r, c)``."""
    hl, cur = {}, []
    for grid, sub, r, c, role, flag in snap["marks"]:
        if flag == "1":
            hl.setdefault((grid, sub), {})[(r, c)] = role
        if role == "cur":
            cur.append((grid, sub, r, c))
        assert role != "cur" or flag == "1", "a selected cell without hl"
    assert len(cur) == 1, f"{len(cur)} selected cells"
    return hl, cur[0]


def _expect(hl, want):
    """The highlighted cells of every grid are exactly ``want``'s."""
    got = {key: set(cells) for key, cells in hl.items()}
    want = {key: set(cells) for key, cells in want.items() if cells}
    assert got == want, f"highlighted {got} != {want}"


def _pair(text):
    """A control value, ``"3"`` or ``"2,3"``, as an (h, w) pair."""
    return pair([int(t) for t in text.split(",")] * 2
                if "," not in text else [int(t) for t in text.split(",")],
                "value")


def _conv_geometry(ctl):
    HH, WW = _pair(ctl["k"])
    return indexmap.conv_geometry(
        int(ctl["H"]), int(ctl["W"]), HH, WW, _pair(ctl["stride"]),
        _pair(ctl["padding"]), _pair(ctl["dilation"]))


def _refused(snap, make):
    """True after checking the view shows cnnbp's ValueError, if any."""
    try:
        make()
    except ValueError as err:
        assert str(err) in snap["error"], (str(err), snap["error"])
        assert not snap["marks"]
        return True
    assert snap["error"] == "", snap["error"]
    return False


def _conv_input(snap, g, sub="", reached=True):
    """X from the padded input grid, after checking its zero border and
    its marks: cv-p on padding, cv-s where no window reaches."""
    xp = _array(snap, "xpad", sub)
    (ph, pw) = g.padding
    x = xp[ph:ph + g.H, pw:pw + g.W]
    np.testing.assert_array_equal(np.pad(x, [(ph, ph), (pw, pw)]), xp)
    pad = np.ones(xp.shape, dtype=bool)
    pad[ph:ph + g.H, pw:pw + g.W] = False
    unread = (indexmap.reached_outputs(g) == 0 if reached
              else np.zeros(xp.shape, dtype=bool))
    for (r, c), names in np.ndenumerate(np.array(
            snap["classes"][f"xpad|{sub}"], dtype=object)):
        names = set(names.split())
        assert ("cv-p" in names) == pad[r, c], ("padding", r, c)
        assert ("cv-s" in names) == unread[r, c], ("unread", r, c)
    return x, xp


def check(snap):
    """Compare one snapshot of a view with cnnbp; raise on a difference."""
    kind, ctl = snap["kind"], snap["controls"]
    if kind == "shape":
        return _check_shape(snap, ctl)
    if kind == "maxpool":
        def make():
            return indexmap.pool_geometry(int(ctl["H"]), int(ctl["W"]),
                                          _pair(ctl["k"]),
                                          _pair(ctl["stride"]))
    else:
        def make():
            return _conv_geometry(ctl)
    if _refused(snap, make):
        return
    g = make()
    hl, cur = _marks(snap)
    assert snap["text"] and snap["eq"]
    {"forward": _check_forward, "channels": _check_channels,
     "filter_grad": _check_filter_grad, "input_grad": _check_input_grad,
     "maxpool": _check_maxpool}[kind](snap, g, hl, cur)


def _conv(x, w, g, b=None, stride=None):
    return cnnbp.conv2d(x[None, None], w[None, None], b,
                        stride=g.stride if stride is None else stride,
                        padding=g.padding, dilation=g.dilation)[0, 0]


def _check_forward(snap, g, hl, cur):
    grid, _, i, j = cur
    assert grid == "out"
    x, xp = _conv_input(snap, g)
    w = _array(snap, "w")
    bias = snap["geom"]["bias"]
    b = None if bias is None else np.array([float(bias)])
    out = _conv(x, w, g, b)
    _shown(snap, "out", out)
    if g.stride != (1, 1):
        _shown(snap, "out1", _conv(x, w, g, b, stride=1))
    terms = indexmap.forward_terms(g, i, j)
    _expect(hl, {("xpad", ""): {(t.u_pad, t.v_pad) for t in terms},
                 ("w", ""): {(t.m, t.n) for t in terms},
                 ("out", ""): {(i, j)}})
    assert set(hl[("xpad", "")].values()) == {"in"}
    assert snap["eq"].endswith(widgets._fmt(out[i, j]))


def _check_channels(snap, g, hl, cur):
    grid, sub, i, j = cur
    assert grid == "out"
    f = int(sub)
    C, K = int(snap["controls"]["C"]), int(snap["controls"]["K"])
    x = np.stack([_conv_input(snap, g, str(c), reached=False)[0]
                  for c in range(C)])
    w = np.array([[_array(snap, "w", f"{a},{c}") for c in range(C)]
                  for a in range(K)])
    b = _array(snap, "b")[0]
    out = cnnbp.conv2d(x[None], w, b, stride=g.stride, padding=g.padding,
                       dilation=g.dilation)[0]
    for a in range(K):
        _shown(snap, "out", out[a], str(a))
    terms = indexmap.forward_terms(g, i, j)
    want = {("out", sub): {(i, j)}, ("b", ""): {(0, f)}}
    for c in range(C):
        want[("xpad", str(c))] = {(t.u_pad, t.v_pad) for t in terms}
        want[("w", f"{f},{c}")] = {(t.m, t.n) for t in terms}
    _expect(hl, want)
    assert snap["eq"].endswith(widgets._fmt(out[f, i, j]))


def _check_filter_grad(snap, g, hl, cur):
    grid, _, m, n = cur
    assert grid == "dw"
    x, _ = _conv_input(snap, g)
    dout = _array(snap, "dout")
    dw = cnnbp.conv2d_backward(
        dout[None, None], x[None, None], np.ones((1, 1, g.HH, g.WW)),
        stride=g.stride, padding=g.padding, dilation=g.dilation)[1][0, 0]
    _shown(snap, "dw", dw)
    terms = indexmap.filter_grad_terms(g, m, n)
    want = {("xpad", ""): {(t.u_pad, t.v_pad) for t in terms},
            ("dout", ""): {(t.i, t.j) for t in terms},
            ("dw", ""): {(m, n)}}
    if g.stride != (1, 1):
        _shown(snap, "doutz", cnnbp.naive.dilate(dout, g.stride))
        want[("doutz", "")] = {(t.i * g.stride[0], t.j * g.stride[1])
                               for t in terms}
    _expect(hl, want)
    assert snap["eq"].endswith(widgets._fmt(dw[m, n]))


def _check_input_grad(snap, g, hl, cur):
    w = _array(snap, "w")
    dout = _array(snap, "dout")
    x = np.zeros((g.H, g.W))
    dx = cnnbp.conv2d_backward(dout[None, None], x[None, None],
                               w[None, None], stride=g.stride,
                               padding=g.padding,
                               dilation=g.dilation)[0][0, 0]
    _shown(snap, "dx", dx)
    grid, _, r, c = cur
    if snap["controls"]["mode"] == "gather":
        assert grid == "dx"
        _shown(snap, "wrot", cnnbp.naive.rot180(w))
        terms = indexmap.input_grad_terms(g, r, c)
        (dh, dw), (ph, pw) = g.dilation, g.padding
        _expect(hl, {
            ("dx", ""): {(r, c)}, ("dout", ""): {(t.i, t.j) for t in terms},
            ("w", ""): {(t.m, t.n) for t in terms},
            ("wrot", ""): {(g.HH - 1 - t.m, g.WW - 1 - t.n) for t in terms},
            ("doutfull", ""): {(r + ph + a * dh, c + pw + b * dw)
                               for a in range(g.HH) for b in range(g.WW)}})
        full = _array(snap, "doutfull")
        eh, ew = dh * (g.HH - 1), dw * (g.WW - 1)
        rot = w[::-1, ::-1]
        total = sum(full[r + ph + a * dh, c + pw + b * dw] * rot[a, b]
                    for a in range(g.HH) for b in range(g.WW))
        assert total == dx[r, c]
        met = {(eh + t.i * g.stride[0], ew + t.j * g.stride[1])
               for t in terms}
        assert {k for k, role in hl[("doutfull", "")].items()
                if role == "g"} == met
        assert snap["eq"].endswith(widgets._fmt(dx[r, c])) or (
            not terms and "= 0 (an empty sum" in snap["eq"])
        return
    xp = np.zeros((1, 1, g.H_pad, g.W_pad))
    if grid == "dx":
        terms = indexmap.input_grad_terms(g, r, c)
        _shown(snap, "dxpad", widgets._running(
            dout, dout.size - 1, lambda d: cnnbp.conv2d_backward(
                d[None, None], xp, w[None, None], stride=g.stride,
                dilation=g.dilation)[0][0, 0]))
        _expect(hl, {("dx", ""): {(r, c)},
                     ("dxpad", ""): {(r + g.padding[0], c + g.padding[1])},
                     ("dout", ""): {(t.i, t.j) for t in terms},
                     ("w", ""): {(t.m, t.n) for t in terms}})
        return
    assert grid == "dout"
    step = r * g.W_out + c
    acc = widgets._running(dout, step, lambda d: cnnbp.conv2d_backward(
        d[None, None], xp, w[None, None], stride=g.stride,
        dilation=g.dilation)[0][0, 0])
    _shown(snap, "dxpad", acc)
    terms = indexmap.forward_terms(g, r, c)
    _expect(hl, {("dout", ""): {(r, c)},
                 ("w", ""): {(t.m, t.n) for t in terms},
                 ("dxpad", ""): {(t.u_pad, t.v_pad) for t in terms},
                 ("dx", ""): {(t.u, t.v) for t in terms
                              if not t.in_padding}})


def _check_maxpool(snap, g, hl, cur):
    grid, _, i, j = cur
    assert grid in ("out", "dout")
    x = _array(snap, "x")
    dout = _array(snap, "dout")
    out = cnnbp.maxpool2d(x[None, None], g.size, g.stride)[0, 0]
    _shown(snap, "out", out)
    win = indexmap.pool_winners(x, g.size, g.stride)
    u, v = (int(t) for t in win[i, j])
    step = i * g.W_out + j
    acc = widgets._running(dout, step, lambda d: cnnbp.maxpool2d_backward(
        d[None, None], x[None, None], g.size, g.stride)[0, 0])
    _shown(snap, "dx", acc)
    _expect(hl, {("x", ""): set(g.window(i, j)), ("out", ""): {(i, j)},
                 ("dout", ""): {(i, j)}, ("dx", ""): {(u, v)}})
    roles = hl[("x", "")]
    assert [k for k, role in roles.items() if role == "win"] == [(u, v)]
    tied = set(indexmap.pool_ties(x, g.size, g.stride).get((i, j), []))
    assert {k for k, role in roles.items() if role == "tie"} == (
        tied - {(u, v)})
    single = g.size == (1, 1)
    assert ("every other cell" in snap["eq"]) == (not single)
    overlap = any(s < k and n > 1 for s, k, n in
                  zip(g.stride, g.size, (g.H_out, g.W_out)))
    assert ("(windows overlap)" in snap["info"]) == overlap
    assert snap["info"] == widgets._pool_info(g)


def _check_shape(snap, ctl):
    H, k, s, p, d = (int(ctl[n]) for n in
                     ("H", "k", "stride", "padding", "dilation"))

    def make():
        return cnnbp.output_size(H, k, s, p, d)

    if _refused(snap, make):
        assert snap["hout"] == ""
        return
    hout = make()
    assert snap["hout"] == str(hout)
    assert snap["info"].endswith(f"= {hout}")
    hl, cur = _marks(snap)
    grid, _, _, i = cur
    assert grid == "out"
    _expect(hl, {("out", ""): {(0, i)},
                 ("xpad", ""): {(0, i * s + m * d) for m in range(k)}})
