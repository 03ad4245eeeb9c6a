"""Index-mapping views that step in the static book and recompute live.

Every view is a self-contained HTML + JavaScript object (it has
``_repr_html_``): Python computes all frames with :mod:`cnnbp.indexmap`
and the cnnbp operations, embeds them as compact JSON, and a small shared
renderer only *displays* them: grids with highlighted cells, the equation
of the current step with its actual numbers, and a text description
(``aria-live``).  The reader steps with prev / next / play / a slider and
switches between the configurations the chapter prepared, with no kernel
behind the page.  Element ids are derived from a hash of the data (no
random ids), so stored notebook outputs compare equal under nbval.

Views (each takes a list of configuration dicts; omitted keys default)
----------------------------------------------------------------------
forward_view(configs)      conv forward, one output cell per step.
    keys: H, W, k (or HH, WW), stride, padding, dilation, x, w, label
channels_view(configs)     several input channels and filters, bias.
    keys: C, F, H, W, k, stride, padding, x, w, b, label
filter_grad_view(configs)  dL/dF, one filter cell per step.
    keys: as forward_view plus dout
input_grad_view(configs)   dL/dX; ``mode`` "gather" (one input cell per
    step, rotated filter over the zero-inserted dL/dO) or "scatter" (one
    output cell per step, its gradient spread over its window).
    keys: as filter_grad_view plus mode
maxpool_view(configs)      max-pool windows, winners, gradient routing.
    keys: H, W, size, stride, x, dout, label
shape_calculator(...)      H_out = floor((H + 2p - d(k-1) - 1)/s) + 1,
    term by term, with cnnbp's ValueError for impossible settings.

Live explorers (``explore_*``) build ipywidgets sliders that redraw the
same view with cnnbp for any setting; they need a live kernel.

Recommended cell tags for chapter writers
-----------------------------------------
- A view cell (``widgets.forward_view([...])``): ``remove-input`` (the
  reader sees the stepper, not the plumbing); its output is stored and
  deterministic, so nbval compares it like any other output.
- An explorer cell (``widgets.explore_forward()``): tags
  ``remove-output`` and ``nbval-ignore-output``, preceded by a markdown
  note saying it needs a live kernel (Binder or local Jupyter).  In the
  static book a slider would move without redrawing, so the honest choice
  is to show the code and no dead widget; the stepper above it covers the
  static reader.  An executed explorer also stores ipywidgets state in
  the notebook metadata, so myst-nb loads the ipywidgets scripts on that
  page (from the vendored copies ``_config.yml`` names in
  ``nb_ipywidgets_js``).
"""
import collections
import hashlib
import json

import numpy as np

import cnnbp
from cnnbp import indexmap, naive
from cnnbp.shapes import pair

__all__ = [
    "View",
    "forward_view",
    "channels_view",
    "filter_grad_view",
    "input_grad_view",
    "maxpool_view",
    "shape_calculator",
    "explore_forward",
    "explore_filter_grad",
    "explore_input_grad",
    "explore_maxpool",
    "PALETTE",
]

#: Okabe-Ito colour-blind safe palette, by highlight role.
PALETTE = {
    "in": "#E69F00",    # orange: input cells in play
    "f": "#56B4E9",     # sky blue: filter cells
    "out": "#009E73",   # bluish green: output cell(s)
    "g": "#CC79A7",     # reddish purple: upstream gradient dL/dO
    "cur": "#D55E00",   # vermillion: the cell this step is about
    "win": "#0072B2",   # blue: max-pool winner
    "tie": "#F0E442",   # yellow: tied for the maximum, did not win
}

_CSS = """
.cnnbp-view{font:14px/1.4 system-ui,sans-serif;border:1px solid #bbb;
border-radius:6px;padding:8px 10px;margin:8px 0;max-width:100%;
box-sizing:border-box;color:#111;background:#fff}
.cnnbp-view .cv-title{font-weight:600;margin-bottom:4px}
.cnnbp-view .cv-controls{display:flex;flex-wrap:wrap;gap:6px;
align-items:center;margin:4px 0}
.cnnbp-view button,.cnnbp-view select{font:inherit;padding:2px 8px;
border:1px solid #666;border-radius:4px;background:#f4f4f4;color:#111;
min-height:30px;max-width:100%}
.cnnbp-view button:disabled{opacity:.45}
.cnnbp-view select[data-control=config]{flex:1 1 100%}
.cnnbp-view input[type=range]{flex:1 1 120px;min-width:100px}
.cnnbp-view .cv-info{color:#333;margin:4px 0}
.cnnbp-view .cv-grids{display:flex;flex-wrap:wrap;gap:10px 16px;
align-items:flex-start;margin:6px 0}
.cnnbp-view figure{margin:0;max-width:100%;overflow-x:auto}
.cnnbp-view figcaption{font-size:13px;font-weight:600;margin-bottom:2px;
text-align:left;max-width:22em}
.cnnbp-view table{border-collapse:collapse;margin:0}
.cnnbp-view th{font-size:10px;font-weight:400;color:#666;padding:0 2px;
min-width:10px}
.cnnbp-view td{position:relative;width:30px;height:28px;min-width:30px;
text-align:center;border:1px solid #999;font-size:13px;padding:0;
background:#fff;font-variant-numeric:tabular-nums}
.cnnbp-view td.cv-p{background:#e8e8e8;color:#777;border-style:dashed}
.cnnbp-view td.cv-z{background:#f3f3f3;color:#999;border-style:dotted}
.cnnbp-view td.cv-s{background:repeating-linear-gradient(45deg,#fff,
#fff 3px,#ddd 3px,#ddd 5px);color:#888}
.cnnbp-view td[data-hl="1"]{font-weight:700;border:2px solid #111}
.cnnbp-view td[data-role=cur]{outline:3px double #111;outline-offset:-4px}
.cnnbp-view td[data-role=win]{color:#fff}
.cnnbp-view .cv-tag{position:absolute;top:0;left:1px;font-size:9px;
font-weight:400;line-height:1;color:#111}
.cnnbp-view td[data-role=win] .cv-tag{color:#fff}
.cnnbp-view .cv-eq{font-family:ui-monospace,monospace;font-size:13px;
background:#f7f7f7;border-left:3px solid #0072B2;padding:4px 8px;
margin:4px 0;overflow-wrap:anywhere}
.cnnbp-view .cv-eq div{margin:1px 0}
.cnnbp-view .cv-text{margin:4px 0}
.cnnbp-view .cv-legend{display:flex;flex-wrap:wrap;gap:4px 12px;
font-size:12px;color:#333}
.cnnbp-view .cv-sw{display:inline-block;width:12px;height:12px;
border:1px solid #111;vertical-align:-2px;margin-right:3px}
.cnnbp-view .cv-strip td{width:22px;min-width:22px;height:22px}
@media (max-width:520px){.cnnbp-view{padding:6px}
.cnnbp-view td{width:24px;min-width:24px;height:24px;font-size:12px}
.cnnbp-view .cv-grids{gap:8px 10px}}
"""

_JS = r"""
(function(){
if (window.cnnbpViews) return;
var COL = %(palette)s;
function el(tag, attrs, text) {
  var e = document.createElement(tag);
  for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}
function html(tag, attrs, h) { var e = el(tag, attrs); e.innerHTML = h;
  return e; }
function button(label, action, aria) {
  return el('button', {type: 'button', 'data-action': action,
    'aria-label': aria}, label);
}
function table(g) {
  var t = el('table', {'data-grid': g.kind, 'data-sub': g.sub || '',
    'aria-label': g.title});
  var head = el('tr'); if (!g.strip) head.appendChild(el('th'));
  for (var c = 0; c < g.cols; c++)
    head.appendChild(el('th', {scope: 'col'}, String(g.c0 + c)));
  t.appendChild(head);
  var cells = [];
  for (var r = 0; r < g.rows; r++) {
    var tr = el('tr');
    if (!g.strip) tr.appendChild(el('th', {scope: 'row'},
      String(g.r0 + r)));
    var row = [];
    for (c = 0; c < g.cols; c++) {
      var k = r * g.cols + c, cls = g.cls ? g.cls.charAt(k) : '.';
      var td = el('td', {'data-grid': g.kind, 'data-sub': g.sub || '',
        'data-row': String(r), 'data-col': String(c)});
      if (cls !== '.') td.className = 'cv-' + cls;
      tr.appendChild(td); row.push(td);
    }
    t.appendChild(tr); cells.push(row);
  }
  return {t: t, cells: cells};
}
function setCell(td, val, hl) {
  td.textContent = val;
  td.removeAttribute('data-hl'); td.removeAttribute('data-role');
  td.removeAttribute('data-tag'); td.style.background = '';
  if (hl) {
    td.setAttribute('data-hl', '1'); td.setAttribute('data-role', hl[2]);
    td.style.background = COL[hl[2]];
    if (hl[3] !== undefined && hl[3] !== '') {
      td.setAttribute('data-tag', String(hl[3]));
      td.appendChild(el('span', {'class': 'cv-tag', 'aria-hidden': 'true'},
        String(hl[3])));
    }
  }
}
function steps(root, D) {
  var st = {c: 0, s: 0, timer: null, grids: {}};
  root.appendChild(el('div', {'class': 'cv-title'}, D.title));
  var ctl = el('div', {'class': 'cv-controls'});
  var sel = null;
  if (D.configs.length > 1) {
    sel = el('select', {'data-control': 'config',
      'aria-label': 'configuration'});
    D.configs.forEach(function(cf, i) {
      sel.appendChild(el('option', {value: String(i)}, cf.label)); });
    ctl.appendChild(sel);
  }
  var prev = button('\u25C0 Prev', 'prev', 'previous step');
  var play = button('\u25B6 Play', 'play', 'play or pause');
  var next = button('Next \u25B6', 'next', 'next step');
  var slider = el('input', {type: 'range', min: '0', value: '0',
    'data-control': 'step', 'aria-label': D.stepName});
  var count = el('span', {'class': 'cv-count', 'data-control': 'count'});
  [prev, play, next, slider, count].forEach(function(e) {
    ctl.appendChild(e); });
  root.appendChild(ctl);
  var info = el('div', {'class': 'cv-info'});
  var legend = el('div', {'class': 'cv-legend'});
  var box = el('div', {'class': 'cv-grids'});
  var eq = el('div', {'class': 'cv-eq', 'data-control': 'equation'});
  var text = el('p', {'class': 'cv-text', 'aria-live': 'polite',
    'data-control': 'text'});
  [info, legend, box, eq, text].forEach(function(e) {
    root.appendChild(e); });
  function stop() {
    if (st.timer) clearInterval(st.timer);
    st.timer = null; play.textContent = '\u25B6 Play';
    play.setAttribute('aria-pressed', 'false');
  }
  function build() {
    var cf = D.configs[st.c];
    info.innerHTML = cf.info; legend.innerHTML = '';
    cf.legend.forEach(function(l) {
      var item = el('span'); var sw = el('span', {'class': 'cv-sw'});
      sw.style.background = COL[l[0]]; item.appendChild(sw);
      item.appendChild(document.createTextNode(l[1]));
      legend.appendChild(item);
    });
    box.innerHTML = ''; st.grids = {};
    cf.grids.forEach(function(g) {
      var fig = el('figure'); fig.appendChild(html('figcaption', {},
        g.title));
      var tb = table(g); fig.appendChild(tb.t); box.appendChild(fig);
      st.grids[g.key] = {g: g, cells: tb.cells};
    });
    slider.max = String(cf.steps.length - 1);
    root.setAttribute('data-config', String(st.c));
    root.setAttribute('data-geom', JSON.stringify(cf.geom));
    root.setAttribute('data-steps', String(cf.steps.length));
  }
  function show() {
    var cf = D.configs[st.c], sp = cf.steps[st.s];
    for (var key in st.grids) {
      var G = st.grids[key], g = G.g;
      var vals = (sp.vals && sp.vals[key]) || g.vals, hl = {};
      ((sp.hl || {})[key] || []).forEach(function(h) {
        hl[h[0] * g.cols + h[1]] = h; });
      for (var r = 0; r < g.rows; r++)
        for (var c = 0; c < g.cols; c++)
          setCell(G.cells[r][c], vals[r * g.cols + c], hl[r * g.cols + c]);
    }
    eq.innerHTML = sp.eq; text.textContent = sp.text;
    slider.value = String(st.s);
    slider.setAttribute('aria-valuetext', sp.text);
    count.textContent = 'step ' + (st.s + 1) + ' / ' + cf.steps.length;
    root.setAttribute('data-step', String(st.s));
    prev.disabled = st.s === 0;
    next.disabled = st.s === cf.steps.length - 1;
  }
  function go(s) {
    var n = D.configs[st.c].steps.length;
    st.s = Math.max(0, Math.min(n - 1, s)); show();
  }
  prev.onclick = function() { stop(); go(st.s - 1); };
  next.onclick = function() { stop(); go(st.s + 1); };
  slider.oninput = function() { stop(); go(parseInt(slider.value, 10)); };
  play.onclick = function() {
    if (st.timer) { stop(); return; }
    if (st.s === D.configs[st.c].steps.length - 1) go(0);
    play.textContent = '\u275A\u275A Pause';
    play.setAttribute('aria-pressed', 'true');
    st.timer = setInterval(function() {
      if (st.s >= D.configs[st.c].steps.length - 1) stop();
      else go(st.s + 1);
    }, 1200);
  };
  if (sel) sel.onchange = function() {
    stop(); st.c = parseInt(sel.value, 10); st.s = 0; build(); show(); };
  build(); show();
}
function shape(root, D) {
  root.appendChild(el('div', {'class': 'cv-title'}, D.title));
  var ctl = el('div', {'class': 'cv-controls'}), sels = [];
  D.params.forEach(function(p) {
    var lab = el('label', {}, p.name + ' ');
    var s = el('select', {'data-control': p.name,
      'aria-label': p.label});
    p.values.forEach(function(v, i) {
      var o = el('option', {value: String(i)}, String(v));
      if (v === p.initial) o.selected = true;
      s.appendChild(o);
    });
    lab.appendChild(s); ctl.appendChild(lab); sels.push(s);
    s.onchange = show;
  });
  root.appendChild(ctl);
  var eq = el('div', {'class': 'cv-eq', 'data-control': 'equation'});
  var list = el('ul', {'data-control': 'terms'});
  var strip = el('div', {'class': 'cv-grids'});
  var text = el('p', {'class': 'cv-text', 'aria-live': 'polite',
    'data-control': 'text'});
  [eq, list, strip, text].forEach(function(e) { root.appendChild(e); });
  function show() {
    var idx = 0, v = {};
    sels.forEach(function(s, i) {
      idx = idx * D.params[i].values.length + parseInt(s.value, 10);
      v[D.params[i].name] = D.params[i].values[parseInt(s.value, 10)];
    });
    var r = D.results[idx];
    root.setAttribute('data-index', String(idx));
    list.innerHTML = ''; strip.innerHTML = '';
    var f = 'H_out = floor((H + 2p \u2212 d(k\u22121) \u2212 1) / s) + 1';
    if (typeof r === 'string') {
      eq.innerHTML = '';
      eq.appendChild(el('div', {}, f));
      eq.appendChild(el('div', {'data-control': 'error'},
        'ValueError: ' + r));
      text.textContent = 'Impossible setting: ' + r;
      root.setAttribute('data-hout', '');
      return;
    }
    // r = [H + 2p, d(k-1) + 1, room, steps, H_out, leftover]
    eq.innerHTML = '';
    eq.appendChild(el('div', {}, f));
    eq.appendChild(el('div', {}, '      = floor((' + v.H + ' + 2\u00B7' +
      v.p + ' \u2212 ' + v.d + '\u00B7(' + v.k + '\u22121) \u2212 1) / ' +
      v.s + ') + 1'));
    eq.appendChild(el('div', {}, '      = floor(' + r[2] + ' / ' + v.s +
      ') + 1 = ' + r[3] + ' + 1 = ' + r[4]));
    var items = [
      'H + 2p = ' + r[0] + ': the padded input has ' + r[0] + ' rows.',
      'd(k\u22121) + 1 = ' + r[1] + ': the (dilated) kernel spans ' +
        r[1] + ' rows.',
      'H + 2p \u2212 (d(k\u22121) + 1) = ' + r[2] +
        ': rows the window can move down after its first position.',
      'floor(' + r[2] + ' / s) = ' + r[3] + ': whole strides of ' + v.s +
        ' that fit.',
      '+ 1 = ' + r[4] + ': the first position counts too.',
      r[5] ? r[5] + ' row(s) at the bottom are never covered ' +
        '(the stride does not divide evenly).' :
        'Every row is covered: the stride divides evenly.'];
    items.forEach(function(s) { list.appendChild(el('li', {}, s)); });
    var g = {kind: 'input', sub: 'strip', title: 'padded rows',
      rows: 1, cols: r[0], r0: 0, c0: -v.p, strip: true};
    var fig = el('figure');
    fig.appendChild(el('figcaption', {}, 'Padded input rows (labels: ' +
      'original index); a mark for each window start'));
    var tb = table(g); tb.t.className = 'cv-strip';
    fig.appendChild(tb.t); strip.appendChild(fig);
    for (var c = 0; c < r[0]; c++) {
      var td = tb.cells[0][c], pad = c < v.p || c >= r[0] - v.p;
      if (pad) td.className = 'cv-p';
      if (c >= r[0] - r[5]) td.className = 'cv-s';
      td.textContent = pad ? '0' : '';
    }
    for (var i = 0; i < r[4]; i++) {
      var cell = tb.cells[0][i * v.s];
      cell.setAttribute('data-hl', '1');
      cell.setAttribute('data-role', 'out');
      cell.style.background = COL.out;
      cell.textContent = String(i);
    }
    root.setAttribute('data-hout', String(r[4]));
    text.textContent = 'H_out = ' + r[4] + ' for H = ' + v.H + ', k = ' +
      v.k + ', s = ' + v.s + ', p = ' + v.p + ', d = ' + v.d + '.';
  }
  show();
}
window.cnnbpViews = {render: function(id, D) {
  var root = document.getElementById(id);
  if (!root || root.getAttribute('data-ready')) return;
  root.setAttribute('data-ready', '1');
  var ns = root.querySelector('.cv-static');
  if (ns) ns.parentNode.removeChild(ns);
  (D.kind === 'shape' ? shape : steps)(root, D);
}};
})();
""" % {"palette": json.dumps(PALETTE)}

_ID_COUNTS = collections.Counter()


class View:
    """A stepping view: precomputed frames plus the shared renderer.

    Parameters
    ----------
    kind : str
        ``"forward"``, ``"channels"``, ``"filter_grad"``, ``"input_grad"``,
        ``"maxpool"`` or ``"shape"``.
    payload : dict
        JSON-ready data: ``title``, ``stepName`` and ``configs``, each a
        dict with ``label``, ``info`` (HTML), ``legend``, ``grids`` and
        ``steps`` (see the module source for the fields).

    Notes
    -----
    Display it in a notebook (``_repr_html_``) or write :meth:`to_html`.
    The element id is ``cnnbp-<kind>-<hash of payload>-<n>`` where ``n``
    counts earlier renders of the same payload in this process, so a
    re-executed notebook stores identical outputs.
    """

    def __init__(self, kind, payload):
        self.kind = kind
        self.payload = dict(payload, kind=kind)

    def __repr__(self):
        if self.kind == "shape":
            return ("<cnnbp output-size calculator; open the HTML output "
                    "to use it>")
        cfgs = self.payload.get("configs", [])
        n = sum(len(c["steps"]) for c in cfgs)
        return (f"<cnnbp {self.kind} view: {len(cfgs)} configuration(s), "
                f"{n} steps; open the HTML output to step through it>")

    def to_html(self):
        """The view as one HTML fragment (style, container and script).

        Returns
        -------
        str
        """
        data = json.dumps(self.payload, separators=(",", ":"),
                          sort_keys=True)
        digest = hashlib.sha1(data.encode()).hexdigest()[:10]
        n = _ID_COUNTS[digest]
        _ID_COUNTS[digest] += 1
        vid = f"cnnbp-{self.kind}-{digest}-{n}"
        data = data.replace("</", "<\\/")
        title = _esc(self.payload.get("title", ""))
        return (f'<div class="cnnbp-view" id="{vid}" '
                f'data-view="{self.kind}"><style>{_CSS}</style>'
                f'<p class="cv-static">{title}: this interactive view '
                f'needs JavaScript (in Jupyter, run the cell or trust the '
                f'notebook).</p></div>\n'
                f'<script>{_JS}\nwindow.cnnbpViews.render("{vid}", {data});'
                f'\n</script>')

    def _repr_html_(self):
        return self.to_html()


def _esc(s):
    return (str(s).replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;"))


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


def _pairtxt(p):
    return str(p[0]) if p[0] == p[1] else f"({p[0]}, {p[1]})"


def _grid(key, kind, title, arr, cls=None, r0=0, c0=0, sub=""):
    arr = np.asarray(arr)
    return {"key": key, "kind": kind, "sub": sub, "title": title,
            "rows": int(arr.shape[0]), "cols": int(arr.shape[1]),
            "vals": [_fmt(v) for v in arr.ravel()],
            "cls": "".join(np.asarray(cls).ravel()) if cls is not None
            else None, "r0": r0, "c0": c0}


def _pad_cls(H, W, p):
    cls = np.full((H + 2 * p[0], W + 2 * p[1]), "p")
    cls[p[0]:p[0] + H, p[1]:p[1] + W] = "."
    return cls


def _ints(rng, shape, lo, hi):
    return rng.integers(lo, hi + 1, size=shape).astype(float)


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


def _geom(g, **extra):
    """The geometry a browser test needs to recompute the index map."""
    return dict(H=g.H, W=g.W, HH=g.HH, WW=g.WW, stride=g.stride,
                padding=g.padding, dilation=g.dilation, H_out=g.H_out,
                W_out=g.W_out, **extra)


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
    return "X<sup>pad</sup>" if g.padding != (0, 0) else "X"


def _xtxt(g):
    return "Xpad" if g.padding != (0, 0) else "X"


def _eq(lhs, sym, nums, total):
    """Equation block: symbolic terms, numeric terms, result."""
    if not sym:
        return (f"<div>{lhs} = <b>{_fmt(total)}</b> (an empty sum: no "
                f"term reaches this cell)</div>")
    return (f"<div>{lhs} = {' + '.join(sym)}</div>"
            f"<div>{'&nbsp;' * 4}= {' + '.join(nums) or '0'}</div>"
            f"<div>{'&nbsp;' * 4}= <b>{_fmt(total)}</b></div>")


def _view(kind, title, step_name, configs):
    return View(kind, {"title": title, "stepName": step_name,
                       "configs": configs})


def _input_grid(g, x):
    xp = naive.pad(x, g.padding)
    cls = _pad_cls(g.H, g.W, g.padding)
    cls[indexmap.reached_outputs(g) == 0] = "s"
    name = ("X<sup>pad</sup>: padded input (grey dashed = padding "
            "zeros)"
            if g.padding != (0, 0) else "X: input")
    return _grid("input", "input", name, xp, cls), xp


def forward_view(configs=({},), seed=0,
                 title="Convolution forward: which cells make O[i, j]"):
    """Step through the output cells of a single-channel convolution.

    Parameters
    ----------
    configs : sequence of dict
        One entry per configuration the reader can switch between.  Keys
        (all optional): ``H``, ``W`` (input size, default 5 and H), ``k``
        (int or (HH, WW), default 3), ``stride``, ``padding``,
        ``dilation`` (int or pair), ``x`` of shape (H, W), ``w`` of shape
        (HH, WW) (default: seeded small integers), ``b`` (a scalar bias,
        default none: it then appears in every sum), ``label``.
    seed : int
        Seed for the default integer values.
    title : str

    Returns
    -------
    View
        Grids: input (padded, padding cells and cells no window reaches
        marked), filter, output computed by :func:`cnnbp.conv2d`, and for
        stride > 1 the stride-1 output with the kept cells marked.  One
        step per output cell (row-major); the highlighted input cells are
        exactly :func:`cnnbp.indexmap.forward_terms`.
    """
    rng = np.random.default_rng(seed)
    out_cfgs = []
    for c in configs:
        g, x, w, _, c = _conv_cfg(c, rng)
        b = c.get("b")
        bias = None if b is None else np.array([float(b)])
        kw = dict(padding=g.padding, dilation=g.dilation)
        out = cnnbp.conv2d(x[None, None], w[None, None], bias,
                           stride=g.stride, **kw)[0, 0]
        ingrid, xp = _input_grid(g, x)
        grids = [ingrid, _grid("filter", "filter", "F: filter", w),
                 _grid("output", "output", "O = conv(X, F)", out)]
        s1 = None
        if g.stride != (1, 1):
            s1 = cnnbp.conv2d(x[None, None], w[None, None], bias,
                              stride=1, **kw)[0, 0]
            cls = np.full(s1.shape, "s")
            cls[::g.stride[0], ::g.stride[1]] = "."
            grids.append(_grid(
                "stride1", "output", "O at stride 1 (hatched: skipped "
                f"by stride {_pairtxt(g.stride)})", s1, cls, sub="stride1"))
        steps = []
        X = _xname(g)
        for i in range(g.H_out):
            for j in range(g.W_out):
                terms = indexmap.forward_terms(g, i, j)
                hl_in, hl_f, sym, nums = [], [], [], []
                if bias is not None:
                    sym.append("b")
                    nums.append(_num(bias[0]))
                for t, mt in enumerate(terms, 1):
                    hl_in.append([mt.u_pad, mt.v_pad, "in", t])
                    hl_f.append([mt.m, mt.n, "f", t])
                    sym.append(f"{X}[{mt.u_pad},{mt.v_pad}]·"
                               f"F[{mt.m},{mt.n}]")
                    nums.append(f"{_num(xp[mt.u_pad, mt.v_pad])}·"
                                f"{_num(w[mt.m, mt.n])}")
                hl = {"input": hl_in, "filter": hl_f,
                      "output": [[i, j, "cur", ""]]}
                if s1 is not None:
                    hl["stride1"] = [[i * g.stride[0], j * g.stride[1],
                                      "cur", ""]]
                npad = sum(mt.in_padding for mt in terms)
                u0, v0 = i * g.stride[0], j * g.stride[1]
                text = (f"O[{i},{j}]: the window starts at {_xtxt(g)} row "
                        f"{u0} = {i}·{g.stride[0]}, column {v0} = "
                        f"{j}·{g.stride[1]}; {len(terms)} products")
                if g.dilation != (1, 1):
                    text += (f", taps {_pairtxt(g.dilation)} apart "
                             "(dilation)")
                if npad:
                    text += f", {npad} of them with padding zeros"
                if bias is not None:
                    text += f", plus the bias b = {_fmt(bias[0])}"
                text += f"; sum = {_fmt(out[i, j])}."
                steps.append({"hl": hl, "text": text,
                              "eq": _eq(f"O[{i},{j}]", sym, nums,
                                        out[i, j])})
        out_cfgs.append({
            "label": _label(g, c), "info": _size_info(g), "grids": grids,
            "steps": steps, "geom": _geom(g),
            "legend": [["in", "input cells in the window (tag = term)"],
                       ["f", "filter cell of that term"],
                       ["cur", "output cell being computed"]]})
    return _view("forward", title, "output cell", out_cfgs)


def channels_view(configs=({},), seed=0,
                  title="Many channels: one output map per filter"):
    """Step through O[f, i, j] of a multi-channel convolution with bias.

    Parameters
    ----------
    configs : sequence of dict
        Keys (optional): ``C`` (input channels, default 2), ``F``
        (filters, default 2), ``H``, ``W`` (default 4 and H), ``k``
        (default 2), ``stride``, ``padding``, ``x`` of shape (C, H, W),
        ``w`` of shape (F, C, HH, WW), ``b`` of shape (F,), ``label``.
    seed : int
    title : str

    Returns
    -------
    View
        One step per (f, i, j): every channel's window and the matching
        filter slice F[f, c] highlighted, the per-channel sums and the
        bias added in the equation; O from :func:`cnnbp.conv2d`.
    """
    rng = np.random.default_rng(seed)
    out_cfgs = []
    for c in configs:
        x = c.get("x")
        x = (_ints(rng, (c.get("C", 2), c.get("H", 4),
                         c.get("W", c.get("H", 4))), 0, 3)
             if x is None else np.asarray(x, dtype=float))
        C, H, W = x.shape
        w = c.get("w")
        if w is None:
            HH, WW = pair(c.get("k", 2), "k")
            w = _ints(rng, (c.get("F", 2), C, HH, WW), -1, 2)
        w = np.asarray(w, dtype=float)
        F, _, HH, WW = w.shape
        b = c.get("b")
        b = _ints(rng, (F,), -2, 2) if b is None else np.asarray(
            b, dtype=float)
        g = indexmap.conv_geometry(H, W, HH, WW, c.get("stride", 1),
                                   c.get("padding", 0))
        out = cnnbp.conv2d(x[None], w, b, stride=g.stride,
                           padding=g.padding)[0]
        xp = naive.pad(x, g.padding)
        cls = _pad_cls(H, W, g.padding)
        grids = [_grid(f"input{ci}", "input", f"{_xname(g)} channel c={ci}",
                       xp[ci], cls, sub=str(ci)) for ci in range(C)]
        grids += [_grid(f"filter{f}_{ci}", "filter", f"F[{f},{ci}]",
                        w[f, ci], sub=f"{f},{ci}")
                  for f in range(F) for ci in range(C)]
        grids.append(_grid("bias", "bias", "b", b[None]))
        grids += [_grid(f"output{f}", "output", f"O[{f}] (filter f={f})",
                        out[f], sub=str(f)) for f in range(F)]
        X = _xname(g)
        steps = []
        for f in range(F):
            for i in range(g.H_out):
                for j in range(g.W_out):
                    terms = indexmap.forward_terms(g, i, j)
                    hl = {"bias": [[0, f, "g", ""]],
                          f"output{f}": [[i, j, "cur", ""]]}
                    parts, eqs = [], []
                    for ci in range(C):
                        hl[f"input{ci}"] = [[t.u_pad, t.v_pad, "in", k]
                                            for k, t in enumerate(terms, 1)]
                        hl[f"filter{f}_{ci}"] = [
                            [t.m, t.n, "f", k]
                            for k, t in enumerate(terms, 1)]
                        sub = float(sum(xp[ci, t.u_pad, t.v_pad]
                                        * w[f, ci, t.m, t.n]
                                        for t in terms))
                        parts.append(sub)
                        nums = " + ".join(
                            f"{_num(xp[ci, t.u_pad, t.v_pad])}·"
                            f"{_num(w[f, ci, t.m, t.n])}" for t in terms)
                        eqs.append(f"<div>channel {ci}: Σ {X}[{ci},…]·"
                                   f"F[{f},{ci},…] = {nums} = "
                                   f"{_fmt(sub)}</div>")
                    tot = " + ".join(_num(p) for p in parts)
                    eq = (f"<div>O[{f},{i},{j}] = b[{f}] + Σ_c Σ_m Σ_n "
                          f"{X}[c, {i}·{g.stride[0]}+m, "
                          f"{j}·{g.stride[1]}+n]·F[{f},c,m,n]</div>"
                          + "".join(eqs) +
                          f"<div>O[{f},{i},{j}] = {_num(b[f])} + {tot} = "
                          f"<b>{_fmt(out[f, i, j])}</b></div>")
                    text = (f"O[{f},{i},{j}]: filter {f} looks at the same "
                            f"window in all {C} channels, adds the "
                            f"{C} channel sums and the bias b[{f}] = "
                            f"{_fmt(b[f])}: {_fmt(out[f, i, j])}.")
                    steps.append({"hl": hl, "eq": eq, "text": text})
        info = (f"X is {C}×{H}×{W} (C×H×W), F is {F}×{C}×{HH}×{WW} "
                f"(F×C×HH×WW), b is ({F},) → O is "
                f"{F}×{g.H_out}×{g.W_out}: one map per filter, whatever "
                f"C is.")
        label = c.get("label", f"C={C} input channels, F={F} filter(s), "
                               f"stride {_pairtxt(g.stride)}, padding "
                               f"{_pairtxt(g.padding)}")
        out_cfgs.append({
            "label": label, "info": info, "grids": grids, "steps": steps,
            "geom": _geom(g, C=C, F=F),
            "legend": [["in", "window, in every channel"],
                       ["f", "filter slice F[f, c] for that channel"],
                       ["g", "bias b[f]"], ["cur", "output cell"]]})
    return _view("channels", title, "output cell", out_cfgs)


def filter_grad_view(configs=({},), seed=0,
                     title="dL/dF: what each filter cell met"):
    """Step through the filter cells and the sum that makes dL/dF[m, n].

    Parameters
    ----------
    configs : sequence of dict
        Keys as in :func:`forward_view`, plus ``dout`` of shape
        (H_out, W_out) (default: seeded small integers).
    seed : int
    title : str

    Returns
    -------
    View
        Grids: padded input, dL/dO, for stride > 1 dL/dO dilated with
        zeros (zero insertion), and dL/dF from
        :func:`cnnbp.conv2d_backward`.  Step (m, n) highlights the input
        cells filter cell (m, n) met and the dL/dO cells they pair with
        (same tag = same term), exactly
        :func:`cnnbp.indexmap.filter_grad_terms`.
    """
    rng = np.random.default_rng(seed)
    out_cfgs = []
    for c in configs:
        g, x, w, dout, c = _conv_cfg(c, rng, need_dout=True)
        kw = dict(stride=g.stride, padding=g.padding, dilation=g.dilation)
        _, dw, _ = cnnbp.conv2d_backward(dout[None, None], x[None, None],
                                         w[None, None], **kw)
        dw = dw[0, 0]
        ingrid, xp = _input_grid(g, x)
        grids = [ingrid, _grid("dout", "dout", "dL/dO: upstream gradient",
                               dout)]
        dil = g.stride != (1, 1)
        if dil:
            dz = naive.dilate(dout, g.stride)
            cls = np.full(dz.shape, "z")
            cls[::g.stride[0], ::g.stride[1]] = "."
            grids.append(_grid(
                "doutz", "dout", f"dL/dO dilated by stride "
                f"{_pairtxt(g.stride)} (dotted: inserted zeros)", dz, cls,
                sub="dilated"))
        grids.append(_grid("dw", "dw", "dL/dF", dw))
        X = _xname(g)
        steps = []
        for m in range(g.HH):
            for n in range(g.WW):
                terms = indexmap.filter_grad_terms(g, m, n)
                hl = {"input": [], "dout": [], "dw": [[m, n, "cur", ""]]}
                if dil:
                    hl["doutz"] = []
                sym, nums = [], []
                for k, t in enumerate(terms, 1):
                    hl["input"].append([t.u_pad, t.v_pad, "in", k])
                    hl["dout"].append([t.i, t.j, "g", k])
                    if dil:
                        hl["doutz"].append([t.i * g.stride[0],
                                            t.j * g.stride[1], "g", k])
                    sym.append(f"dO[{t.i},{t.j}]·{X}[{t.u_pad},{t.v_pad}]")
                    nums.append(f"{_num(dout[t.i, t.j])}·"
                                f"{_num(xp[t.u_pad, t.v_pad])}")
                npad = sum(t.in_padding for t in terms)
                text = (f"dL/dF[{m},{n}]: filter cell ({m},{n}) met "
                        f"{len(terms)} input cells, one per output cell, "
                        f"starting at {X.replace('<sup>pad</sup>', 'pad')}"
                        f"[{m * g.dilation[0]},{n * g.dilation[1]}] and "
                        f"moving {_pairtxt(g.stride)} at a time")
                if npad:
                    text += f" ({npad} are padding zeros)"
                text += f"; sum = {_fmt(dw[m, n])}."
                eq = ("<div>dO = dL/dO</div>"
                      + _eq(f"dL/dF[{m},{n}]", sym, nums, dw[m, n]))
                steps.append({"hl": hl, "eq": eq, "text": text})
        out_cfgs.append({
            "label": _label(g, c), "info": _size_info(g), "grids": grids,
            "steps": steps, "geom": _geom(g),
            "legend": [["in", "input cells the filter cell met"],
                       ["g", "dL/dO cell of the same term (same tag)"],
                       ["cur", "filter cell whose gradient is summed"]]})
    return _view("filter_grad", title, "filter cell", out_cfgs)


def _gather_steps(g, w, dout, dx):
    (sh, sw), (dh, dw_) = g.stride, g.dilation
    eh, ew = dh * (g.HH - 1), dw_ * (g.WW - 1)
    steps = []
    for u in range(g.H):
        for v in range(g.W):
            terms = indexmap.input_grad_terms(g, u, v)
            up, vp = u + g.padding[0], v + g.padding[1]
            hl = {"dout": [], "filter": [], "rot": [],
                  "full": [[up + a * dh, vp + b * dw_, "in", ""]
                           for a in range(g.HH) for b in range(g.WW)],
                  "dx": [[u, v, "cur", ""]]}
            sym, nums = [], []
            for k, t in enumerate(terms, 1):
                hl["dout"].append([t.i, t.j, "g", k])
                hl["filter"].append([t.m, t.n, "f", k])
                hl["rot"].append([g.HH - 1 - t.m, g.WW - 1 - t.n, "f", k])
                r, q = eh + t.i * sh, ew + t.j * sw
                hl["full"] = [h for h in hl["full"] if h[:2] != [r, q]]
                hl["full"].append([r, q, "g", k])
                sym.append(f"dO[{t.i},{t.j}]·F[{t.m},{t.n}]")
                nums.append(f"{_num(dout[t.i, t.j])}·{_num(w[t.m, t.n])}")
            eq = ("<div>dO = dL/dO</div>"
                  + _eq(f"dL/dX[{u},{v}]", sym, nums, dx[u, v]))
            if terms:
                text = (f"dL/dX[{u},{v}]: this input cell reached "
                        f"{len(terms)} output cell(s); each pairs with the "
                        f"filter cell that linked them (same tag). On the "
                        f"big grid, rot180(F) over the zero-inserted, "
                        f"padded dL/dO meets the same pairs: "
                        f"{_fmt(dx[u, v])}.")
            else:
                text = (f"dL/dX[{u},{v}] = 0: no window reached this cell "
                        f"(leftover rows/columns of the stride).")
            steps.append({"hl": hl, "eq": eq, "text": text})
    return steps


def _running(dout, step, backward):
    """``backward(dout)`` with only the first ``step + 1`` cells of dout.

    The running sums of a scatter, computed by cnnbp itself.
    """
    mask = np.zeros(dout.size)
    mask[:step + 1] = 1.0
    return backward(dout * mask.reshape(dout.shape))


def _scatter_steps(g, x, w, dout):
    xp = naive.pad(x, g.padding)[None, None]

    def backward(d):
        return cnnbp.conv2d_backward(d[None, None], xp, w[None, None],
                                     stride=g.stride,
                                     dilation=g.dilation)[0][0, 0]

    dX = "dX<sup>pad</sup>" if g.padding != (0, 0) else "dX"
    steps = []
    for i in range(g.H_out):
        for j in range(g.W_out):
            terms = indexmap.forward_terms(g, i, j)
            hl = {"dout": [[i, j, "cur", ""]], "filter": [],
                  "acc": []}
            parts = []
            acc = _running(dout, len(steps), backward)
            for k, t in enumerate(terms, 1):
                hl["filter"].append([t.m, t.n, "f", k])
                hl["acc"].append([t.u_pad, t.v_pad, "in", k])
                parts.append(f"{dX}[{t.u_pad},{t.v_pad}] += "
                             f"{_num(dout[i, j])}·{_num(w[t.m, t.n])}")
            eq = (f"<div>dO[{i},{j}] = dL/dO[{i},{j}] = {_fmt(dout[i, j])}"
                  f" is sent back through its window:</div><div>"
                  + "; ".join(parts) + "</div>")
            npad = sum(t.in_padding for t in terms)
            text = (f"Output cell ({i},{j}) sends dL/dO[{i},{j}] = "
                    f"{_fmt(dout[i, j])} times each filter weight to the "
                    f"{len(terms)} input cells of its window")
            text += (f"; {npad} land in the padding and are cropped away."
                     if npad else ".")
            steps.append({"hl": hl, "eq": eq, "text": text,
                          "vals": {"acc": [_fmt(a) for a in acc.ravel()]}})
    return steps


def input_grad_view(configs=({},), seed=0,
                    title="dL/dX: where each input cell's gradient comes "
                          "from"):
    """Step through dL/dX, as a gather (per input cell) or a scatter.

    Parameters
    ----------
    configs : sequence of dict
        Keys as in :func:`filter_grad_view`, plus ``mode``: ``"gather"``
        (default; one step per input cell: every output it reached, the
        linking filter cell, the rotated filter over the zero-inserted and
        padded dL/dO) or ``"scatter"`` (one step per output cell: its
        gradient times the filter added into the padded input window; the
        running sums are shown and the padding is cropped at the end).
        Mix modes across configurations to let the reader compare.
    seed : int
    title : str

    Returns
    -------
    View
        dL/dX from :func:`cnnbp.conv2d_backward`; highlighted cells are
        :func:`cnnbp.indexmap.input_grad_terms` (gather) or
        :func:`cnnbp.indexmap.forward_terms` (scatter).
    """
    rng = np.random.default_rng(seed)
    out_cfgs = []
    for c in configs:
        g, x, w, dout, c = _conv_cfg(c, rng, need_dout=True)
        mode = c.get("mode", "gather")
        if mode not in ("gather", "scatter"):
            raise ValueError(f"mode must be 'gather' or 'scatter', got "
                             f"{mode!r}")
        kw = dict(stride=g.stride, padding=g.padding, dilation=g.dilation)
        dx = cnnbp.conv2d_backward(dout[None, None], x[None, None],
                                   w[None, None], **kw)[0][0, 0]
        grids = [_grid("dout", "dout", "dL/dO: upstream gradient", dout),
                 _grid("filter", "filter", "F: filter", w)]
        if mode == "gather":
            grids.append(_grid("rot", "filter", "rot180(F): F turned "
                               "half a circle", naive.rot180(w), sub="rot"))
            (sh, sw), (dh, dw_) = g.stride, g.dilation
            eh, ew = dh * (g.HH - 1), dw_ * (g.WW - 1)
            full = np.zeros((g.H_pad + eh, g.W_pad + ew))
            dz = naive.dilate(dout, g.stride)
            full[eh:eh + dz.shape[0], ew:ew + dz.shape[1]] = dz
            cls = np.full(full.shape, "p")
            cls[eh:eh + dz.shape[0], ew:ew + dz.shape[1]] = "z"
            cls[eh:eh + dz.shape[0]:sh, ew:ew + dz.shape[1]:sw] = "."
            grids.append(_grid(
                "full", "dout", "dL/dO with zeros inserted (stride) and "
                "a border of d(k−1) zeros; window: rot180(F) for "
                "dL/dX<sup>pad</sup>[u,v]", full, cls, sub="full"))
            grids.append(_grid("dx", "dx", "dL/dX", dx))
            steps = _gather_steps(g, w, dout, dx)
            legend = [["g", "dL/dO cells this input reached (tag = term)"],
                      ["f", "filter cell linking them (and its rotated "
                            "place)"],
                      ["in", "rotated-filter window, meeting zeros"],
                      ["cur", "input cell whose gradient is summed"]]
            step_label = "gather"
        else:
            cls = _pad_cls(g.H, g.W, g.padding)
            grids.append(_grid("acc", "dx", "dL/dX<sup>pad</sup>, running "
                               "sum (grey border is cropped)",
                               np.zeros((g.H_pad, g.W_pad)), cls,
                               sub="partial"))
            grids.append(_grid("dx", "dx", "dL/dX (cnnbp, after the "
                               "crop)", dx))
            steps = _scatter_steps(g, x, w, dout)
            legend = [["cur", "output cell sending its gradient"],
                      ["f", "filter weight on the way (tag = term)"],
                      ["in", "input cell receiving it"]]
            step_label = "scatter"
        label = c.get("label", f"{step_label}: {_label(g, c)}")
        out_cfgs.append({"label": label, "info": _size_info(g),
                         "grids": grids, "steps": steps, "legend": legend,
                         "geom": _geom(g, mode=mode)})
    return _view("input_grad", title, "step", out_cfgs)


def maxpool_view(configs=({},), seed=0,
                 title="Max-pool: winners and where the gradient goes"):
    """Step through the max-pool windows and the gradient routing.

    Parameters
    ----------
    configs : sequence of dict
        Keys (optional): ``H``, ``W`` (default 4 and H), ``size``
        (default 2), ``stride`` (default: size), ``x`` of shape (H, W)
        (default: seeded integers 0..4, so ties occur), ``dout`` of shape
        (H_out, W_out), ``label``.
    seed : int
    title : str

    Returns
    -------
    View
        One step per window: its cells, the winner (first maximum in
        row-major order, :func:`cnnbp.indexmap.pool_winners`), tied
        losers, and dL/dX accumulated so far (overlapping windows add
        up); O and the final dL/dX from :func:`cnnbp.maxpool2d` and
        :func:`cnnbp.maxpool2d_backward`.
    """
    rng = np.random.default_rng(seed)
    out_cfgs = []
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
        win = indexmap.pool_winners(x, size, stride)
        ties = indexmap.pool_ties(x, size, stride)
        grids = [_grid("input", "input", "X: input", x),
                 _grid("output", "output", "O = maxpool(X)", out),
                 _grid("dout", "dout", "dL/dO", dout),
                 _grid("dx", "dx", "dL/dX so far", np.zeros_like(x))]
        got = {}

        def backward(d):
            return cnnbp.maxpool2d_backward(d[None, None], x[None, None],
                                            size, stride)[0, 0]

        steps = []
        for i in range(g.H_out):
            for j in range(g.W_out):
                u, v = (int(t) for t in win[i, j])
                acc = _running(dout, len(steps), backward)
                got.setdefault((u, v), []).append((i, j))
                tied = ties.get((i, j), [])
                hl_in = []
                for (a, b) in g.window(i, j):
                    if (a, b) == (u, v):
                        hl_in.append([a, b, "win", "max"])
                    elif (a, b) in tied:
                        hl_in.append([a, b, "tie", "tie"])
                    else:
                        hl_in.append([a, b, "in", ""])
                hl = {"input": hl_in, "output": [[i, j, "out", ""]],
                      "dout": [[i, j, "g", ""]],
                      "dx": [[u, v, "cur", ""]]}
                vals = ", ".join(_fmt(x[cell]) for cell in g.window(i, j))
                eq = (f"<div>O[{i},{j}] = max({vals}) = "
                      f"{_fmt(out[i, j])} at X[{u},{v}]</div>"
                      f"<div>dL/dX[{u},{v}] += dL/dO[{i},{j}] = "
                      f"{_fmt(dout[i, j])} → <b>{_fmt(acc[u, v])}</b>"
                      f"</div><div>every other cell of the window gets 0"
                      f"</div>")
                text = (f"Window ({i},{j}): the maximum "
                        f"{_fmt(out[i, j])} is at X[{u},{v}], so all of "
                        f"dL/dO[{i},{j}] = {_fmt(dout[i, j])} goes there.")
                if tied:
                    cells = ", ".join(f"X[{a},{b}]" for a, b in tied)
                    text += (f" Tie: {cells} all hold the maximum; the "
                             f"first in row-major order wins.")
                if len(got[(u, v)]) > 1:
                    text += (f" X[{u},{v}] also won window(s) "
                             + ", ".join(f"({a},{b})" for a, b in
                                         got[(u, v)][:-1])
                             + f"; its gradient adds up to "
                             f"{_fmt(acc[u, v])}.")
                steps.append({"hl": hl, "eq": eq, "text": text,
                              "vals": {"dx": [_fmt(a) for a in
                                              acc.ravel()]}})
        label = c.get("label", f"{H}×{W} input, window "
                               f"{_pairtxt(g.size)}, stride "
                               f"{_pairtxt(g.stride)}"
                               + (", with ties" if ties else ""))
        info = (f"X is {H}×{W}, window {_pairtxt(g.size)}, stride "
                f"{_pairtxt(g.stride)} → O is {g.H_out}×{g.W_out}"
                + (" (windows overlap)" if g.stride[0] < g.size[0]
                   or g.stride[1] < g.size[1] else "") + ".")
        out_cfgs.append({
            "label": label, "info": info, "grids": grids, "steps": steps,
            "geom": dict(H=H, W=W, size=g.size, stride=g.stride,
                         H_out=g.H_out, W_out=g.W_out),
            "legend": [["in", "window"], ["win", "winner (max)"],
                       ["tie", "tied, but not first"],
                       ["out", "output cell"], ["g", "its dL/dO"],
                       ["cur", "dL/dX cell that receives it"]]})
    return _view("maxpool", title, "window", out_cfgs)


def shape_calculator(H=range(1, 11), k=range(1, 6), s=range(1, 4),
                     p=range(0, 3), d=range(1, 3), initial=(7, 3, 2, 1, 1),
                     title="Output size, term by term"):
    """Pick H, k, s, p, d and read H_out with each term explained.

    Every combination of the given values is computed here with
    :func:`cnnbp.output_size` (an impossible one stores its
    ``ValueError`` message), so the calculator works in the static book.

    Parameters
    ----------
    H, k, s, p, d : iterable of int
        Values offered for input size, kernel size, stride, padding and
        dilation (keep the product of their lengths modest, a few
        thousand at most).
    initial : tuple of 5 ints
        Values selected at first.
    title : str

    Returns
    -------
    View
    """
    names = ["H", "k", "s", "p", "d"]
    labels = ["input size H", "kernel size k", "stride s", "padding p",
              "dilation d"]
    axes = [list(H), list(k), list(s), list(p), list(d)]
    results = []
    for combo in np.ndindex(*(len(a) for a in axes)):
        hv, kv, sv, pv, dv = (axes[n][t] for n, t in enumerate(combo))
        try:
            out = cnnbp.output_size(hv, kv, sv, pv, dv)
        except ValueError as err:
            results.append(str(err))
            continue
        span = dv * (kv - 1) + 1
        room = hv + 2 * pv - span
        results.append([hv + 2 * pv, span, room, room // sv, out,
                        room - (out - 1) * sv])
    params = [{"name": n, "label": lab, "values": a, "initial": ini}
              for n, lab, a, ini in zip(names, labels, axes, initial)]
    return View("shape", {"title": title, "params": params,
                          "results": results})


def _explorer(make, sliders):
    """ipywidgets sliders that redraw ``make(**values)`` on change."""
    import ipywidgets as ipw
    from IPython.display import display

    out = ipw.Output()
    controls = {name: ipw.IntSlider(value=v, min=lo, max=hi,
                                    description=name,
                                    continuous_update=False)
                for name, (v, lo, hi) in sliders.items()}

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            try:
                display(make(**{n: c.value for n, c in controls.items()}))
            except ValueError as err:
                print(f"cnnbp says: ValueError: {err}")

    for ctl in controls.values():
        ctl.observe(redraw, names="value")
    redraw()
    return ipw.VBox([ipw.HBox(list(controls.values()),
                              layout=ipw.Layout(flex_flow="row wrap")),
                     out])


def _conv_sliders(H, k, stride, padding, dilation):
    return {"H": (H, 1, 9), "W": (H, 1, 9), "k": (k, 1, 5),
            "stride": (stride, 1, 4), "padding": (padding, 0, 3),
            "dilation": (dilation, 1, 3)}


def explore_forward(H=5, k=3, stride=1, padding=0, dilation=1):
    """Live explorer of :func:`forward_view` (needs a running kernel).

    Returns an ipywidgets box: sliders for H, W, k, stride, padding,
    dilation; every change recomputes the view with cnnbp, and an
    impossible setting prints cnnbp's ValueError.  Tag the cell
    ``remove-output`` and ``nbval-ignore-output``.
    """
    return _explorer(lambda **c: forward_view([c]),
                     _conv_sliders(H, k, stride, padding, dilation))


def explore_filter_grad(H=5, k=3, stride=1, padding=0, dilation=1):
    """Live explorer of :func:`filter_grad_view` (needs a kernel).

    Same sliders and tags as :func:`explore_forward`.
    """
    return _explorer(lambda **c: filter_grad_view([c]),
                     _conv_sliders(H, k, stride, padding, dilation))


def explore_input_grad(H=5, k=3, stride=1, padding=0, dilation=1,
                       mode="gather"):
    """Live explorer of :func:`input_grad_view` (needs a kernel).

    Same sliders and tags as :func:`explore_forward`; ``mode`` is
    ``"gather"`` or ``"scatter"``.
    """
    return _explorer(lambda **c: input_grad_view([dict(c, mode=mode)]),
                     _conv_sliders(H, k, stride, padding, dilation))


def explore_maxpool(H=4, size=2, stride=2):
    """Live explorer of :func:`maxpool_view` (needs a kernel).

    Sliders for H, W, size and stride; tags as :func:`explore_forward`.
    """
    return _explorer(lambda **c: maxpool_view([c]),
                     {"H": (H, 1, 8), "W": (H, 1, 8), "size": (size, 1, 4),
                      "stride": (stride, 1, 4)})
