/*
 * cnnbp views: index-mapping views a reader drives in a static page.
 *
 * cnnbp.widgets writes each view as a root element (a static rendering
 * of its first step inside, for readers without JavaScript), this file
 * (with view_indexmap.js before it) and a call
 * window.cnnbpViews.render(id, data). `data` holds the view's kind, its
 * setting controls and the chapter's named presets with cnnbp's numbers.
 *
 * Truth: a preset shows cnnbp's numbers as given. Any other setting is
 * computed here by window.cnnbpIndexmap, the JavaScript twin of
 * cnnbp.indexmap that the browser tests compare with cnnbp over the
 * whole range of the controls.
 *
 * Test contract (tests/browser/test_views_browser.py): root
 * .cnnbp-view[data-kind]; setting controls [data-control=H|W|k|stride|
 * padding|dilation|mode|C|K]; refusals in [data-control=error]; cells
 * td[data-grid][data-r][data-c]; the selected cell data-role="cur";
 * cells in its sum data-hl="1"; a max-pool winner data-role="win".
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var version = script ? script.getAttribute("data-cnnbp-views") : null;
  if (window.cnnbpViews && version &&
      window.cnnbpViews.version === version) {
    return;
  }
  var im = window.cnnbpIndexmap;
  var fmt = im.fmt;
  var TOUR_MS = 1200;
  var NO_HL = {same: true};

  /* ---- small helpers ---- */

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      e.setAttribute(k, attrs[k]);
    });
    if (text !== undefined) {
      e.textContent = text;
    }
    return e;
  }

  function refused(message) {
    var err = new Error(message);
    err.name = "ValueError";
    return err;
  }

  function pair(text) {
    var p = String(text).split(",").map(Number);
    return p.length === 1 ? [p[0], p[0]] : p;
  }

  function pairText(p) {
    return p[0] === p[1] ? String(p[0]) : "(" + p[0] + ", " + p[1] + ")";
  }

  function num(v) {
    var s = fmt(v);
    return s.charAt(0) === "-" ? "(" + s + ")" : s;
  }

  function range(n) {
    var out = [];
    for (var k = 0; k < n; k++) {
      out.push(k);
    }
    return out;
  }

  /* deterministic small integers for cells no preset fills */
  var GEN = {x: [0, 4, 11], w: [-1, 2, 23], dout: [-2, 3, 37],
    b: [-2, 2, 41]};

  function gen(name, ch, r, c) {
    var spec = GEN[name];
    var h = Math.imul(r + 1, 73856093) ^ Math.imul(c + 1, 19349663) ^
      Math.imul(ch + 1, 83492791) ^ Math.imul(spec[2], 2654435761);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
    h ^= h >>> 15;
    return spec[0] + (h >>> 0) % (spec[1] - spec[0] + 1);
  }

  /* a rows x cols array: the preset's values where they fit, else gen */
  function fill(rows, cols, name, ch, src) {
    return range(rows).map(function (r) {
      return range(cols).map(function (c) {
        var row = src && src[r];
        return row && c < row.length ? row[c] : gen(name, ch, r, c);
      });
    });
  }

  function rot180(w) {
    return w.slice().reverse().map(function (row) {
      return row.slice().reverse();
    });
  }

  function grid(id, name, title, vals, extra) {
    var g = {id: id, name: name, sub: "", title: title, vals: vals,
      rows: vals.length, cols: vals[0].length, cls: null, select: false,
      r0: 0, c0: 0};
    return Object.assign(g, extra || {});
  }

  /* cell classes, one letter each: p = padding zero, s = no window
   * reaches it ("." = neither) */
  function padCls(g, reached) {
    return range(g.Hpad).map(function (r) {
      return range(g.Wpad).map(function (c) {
        var inside = r >= g.padding[0] && r < g.padding[0] + g.H &&
          c >= g.padding[1] && c < g.padding[1] + g.W;
        var k = (inside ? "" : "p") +
          (reached && reached[r][c] === 0 ? "s" : "");
        return k || ".";
      });
    });
  }

  function dilated(dout, stride) {
    var rows = (dout.length - 1) * stride[0] + 1;
    var cols = (dout[0].length - 1) * stride[1] + 1;
    var vals = im.zeros(rows, cols);
    var cls = range(rows).map(function () {
      return new Array(cols).fill("z");
    });
    dout.forEach(function (row, i) {
      row.forEach(function (v, j) {
        vals[i * stride[0]][j * stride[1]] = v;
        cls[i * stride[0]][j * stride[1]] = ".";
      });
    });
    return {vals: vals, cls: cls};
  }

  function convSettings(set) {
    return {H: +set.H, W: +set.W, k: pair(set.k), stride: pair(set.stride),
      padding: pair(set.padding), dilation: pair(set.dilation || "1")};
  }

  function convGeom(s) {
    return im.convGeometry(s.H, s.W, s.k[0], s.k[1], s.stride, s.padding,
      s.dilation);
  }

  function geomAttr(g, extra) {
    return Object.assign({H: g.H, W: g.W, HH: g.HH, WW: g.WW,
      stride: g.stride, padding: g.padding, dilation: g.dilation,
      H_out: g.Hout, W_out: g.Wout}, extra || {});
  }

  function xName(g) {
    return g.padding[0] || g.padding[1] ? "X<sup>pad</sup>" : "X";
  }

  function xText(g) {
    return g.padding[0] || g.padding[1] ? "Xpad" : "X";
  }

  function sizeInfo(g) {
    return "X is " + g.H + "\u00d7" + g.W + ", F is " + g.HH + "\u00d7" +
      g.WW + ", stride " + pairText(g.stride) + ", padding " +
      pairText(g.padding) + ", dilation " + pairText(g.dilation) +
      " \u2192 O is " + g.Hout + "\u00d7" + g.Wout + ": H_out = \u230a(" +
      g.H + " + 2\u00b7" + g.padding[0] + " \u2212 " + g.dilation[0] +
      "\u00b7(" + g.HH + "\u22121) \u2212 1) / " + g.stride[0] +
      "\u230b + 1 = " + g.Hout + ", W_out = \u230a(" + g.W + " + 2\u00b7" +
      g.padding[1] + " \u2212 " + g.dilation[1] + "\u00b7(" + g.WW +
      "\u22121) \u2212 1) / " + g.stride[1] + "\u230b + 1 = " + g.Wout +
      ".";
  }

  /* equation lines: symbolic terms, numeric terms, the total */
  function sumLines(lhs, sym, nums, total, generic) {
    if (!nums.length) {
      return [lhs + " = <b>" + fmt(total) + "</b> (an empty sum: no " +
        "term reaches this cell)"];
    }
    var first = sym.length > 9 ? generic : sym.join(" + ");
    return [lhs + " = " + first, "\u2003= " + nums.join(" + "),
      "\u2003= <b>" + fmt(total) + "</b>"];
  }

  function tourOf(id, rows, cols) {
    var cells = [];
    range(rows).forEach(function (r) {
      range(cols).forEach(function (c) {
        cells.push([id, r, c]);
      });
    });
    return cells;
  }

  /* ---- the view kinds: each builds a model for one setting ---- */

  function forward(set, P, B) {
    var s = convSettings(set);
    var g = convGeom(s);
    var src = B.data;
    var x = fill(g.H, g.W, "x", 0, src.x);
    var w = fill(g.HH, g.WW, "w", 0, src.w);
    var b = src.b === undefined || src.b === null ? null : src.b;
    var out = P ? P.data.out : im.conv(x, w, g, b);
    var xp = im.pad(x, g.padding);
    var strided = g.stride[0] !== 1 || g.stride[1] !== 1;
    var grids = [
      grid("xpad", "xpad", xName(g) + ": input" + (g.padding[0] ||
        g.padding[1] ? ", padded (dashed: padding zeros)" : ""), xp,
      {cls: padCls(g, im.reachedOutputs(g))}),
      grid("w", "w", "F: filter", w),
      grid("out", "out", "O = conv(X, F)", out, {select: true})
    ];
    if (strided) {
      var g1 = im.convGeometry(g.H, g.W, g.HH, g.WW, [1, 1], g.padding,
        g.dilation);
      var out1 = P ? P.data.out1 : im.conv(x, w, g1, b);
      grids.push(grid("out1", "out1", "O at stride 1 (hatched: skipped " +
        "by stride " + pairText(g.stride) + ")", out1, {
        cls: out1.map(function (row, r) {
          return row.map(function (v, c) {
            return r % g.stride[0] || c % g.stride[1] ? "s" : ".";
          });
        })
      }));
    }
    var X = xName(g);
    return {
      geom: geomAttr(g, {bias: b}),
      info: sizeInfo(g),
      grids: grids,
      tour: tourOf("out", g.Hout, g.Wout),
      legend: [["in", "input cells in the window"],
        ["f", "filter cells"], ["cur", "output cell (selected)"]],
      select: function (id, i, j) {
        var terms = im.forwardTerms(g, i, j);
        var hl = [["out", i, j, "cur"]];
        var sym = b === null ? [] : ["b"];
        var nums = b === null ? [] : [num(b)];
        terms.forEach(function (t) {
          hl.push(["xpad", t.up, t.vp, "in"], ["w", t.m, t.n, "f"]);
          sym.push(X + "[" + t.up + "," + t.vp + "]\u00b7F[" + t.m + "," +
            t.n + "]");
          nums.push(num(xp[t.up][t.vp]) + "\u00b7" + num(w[t.m][t.n]));
        });
        if (strided) {
          hl.push(["out1", i * g.stride[0], j * g.stride[1], "same"]);
        }
        var npad = terms.filter(function (t) {
          return t.pad;
        }).length;
        var text = "O[" + i + "," + j + "]: the window starts at " +
          xText(g) + " row " + i * g.stride[0] + " = " + i + "\u00b7" +
          g.stride[0] + ", column " + j * g.stride[1] + " = " + j +
          "\u00b7" + g.stride[1] + "; " + terms.length + " product" +
          (terms.length === 1 ? "" : "s");
        if (g.dilation[0] !== 1 || g.dilation[1] !== 1) {
          text += ", taps " + pairText(g.dilation) + " apart (dilation)";
        }
        if (npad) {
          text += ", " + npad + " of them with padding zeros";
        }
        if (b !== null) {
          text += ", plus the bias b = " + fmt(b);
        }
        return {
          hl: hl,
          eq: sumLines("O[" + i + "," + j + "]", sym, nums, out[i][j],
            (b === null ? "" : "b + ") + "\u03a3<sub>m,n</sub> " + X +
            "[" + i + "\u00b7" + g.stride[0] + " + m\u00b7" +
            g.dilation[0] + ", " + j + "\u00b7" + g.stride[1] +
            " + n\u00b7" + g.dilation[1] + "]\u00b7F[m,n]"),
          text: text + "; sum = " + fmt(out[i][j]) + "."
        };
      }
    };
  }

  function channels(set, P, B) {
    var s = convSettings(set);
    var C = +set.C;
    var K = +set.K;
    var g = convGeom(s);
    var src = B.data;
    var x = range(C).map(function (c) {
      return fill(g.H, g.W, "x", c, src.x && src.x[c]);
    });
    var w = range(K).map(function (f) {
      return range(C).map(function (c) {
        return fill(g.HH, g.WW, "w", f * 8 + c,
          src.w && src.w[f] && src.w[f][c]);
      });
    });
    var b = fill(1, K, "b", 0, src.b && [src.b])[0];
    var xp = x.map(function (xc) {
      return im.pad(xc, g.padding);
    });
    var out = P ? P.data.out : w.map(function (wf, f) {
      var total = im.conv(x[0], wf[0], g, b[f]);
      for (var c = 1; c < C; c++) {
        var part = im.conv(x[c], wf[c], g);
        total = total.map(function (row, i) {
          return row.map(function (v, j) {
            return v + part[i][j];
          });
        });
      }
      return total;
    });
    var cls = padCls(g, null);
    var grids = [];
    range(C).forEach(function (c) {
      grids.push(grid("xpad" + c, "xpad", xName(g) + " channel c=" + c,
        xp[c], {sub: String(c), cls: cls}));
    });
    range(K).forEach(function (f) {
      range(C).forEach(function (c) {
        grids.push(grid("w" + f + "_" + c, "w", "F[" + f + "," + c + "]",
          w[f][c], {sub: f + "," + c}));
      });
    });
    grids.push(grid("b", "b", "b: one bias per filter", [b]));
    range(K).forEach(function (f) {
      grids.push(grid("out" + f, "out", "O[" + f + "] (filter f=" + f +
        ")", out[f], {sub: String(f), select: true}));
    });
    var tour = [];
    range(K).forEach(function (f) {
      tour = tour.concat(tourOf("out" + f, g.Hout, g.Wout));
    });
    var X = xName(g);
    return {
      geom: geomAttr(g, {C: C, K: K}),
      info: "X is " + C + "\u00d7" + g.H + "\u00d7" + g.W + " (C\u00d7H" +
        "\u00d7W), F is " + K + "\u00d7" + C + "\u00d7" + g.HH + "\u00d7" +
        g.WW + " (K\u00d7C\u00d7HH\u00d7WW), b is (" + K + ",) \u2192 O is " +
        K + "\u00d7" + g.Hout + "\u00d7" + g.Wout + ": one map per " +
        "filter, whatever C is.",
      grids: grids,
      tour: tour,
      legend: [["in", "the window, in every channel"],
        ["f", "filter slice F[f, c] for that channel"], ["g", "bias b[f]"],
        ["cur", "output cell (selected)"]],
      select: function (id, i, j) {
        var f = +id.slice(3);
        var terms = im.forwardTerms(g, i, j);
        var hl = [[id, i, j, "cur"], ["b", 0, f, "g"]];
        var eq = ["O[" + f + "," + i + "," + j + "] = b[" + f + "] + " +
          "\u03a3<sub>c,m,n</sub> " + X + "[c, " + i + "\u00b7" +
          g.stride[0] + " + m\u00b7" + g.dilation[0] + ", " + j + "\u00b7" +
          g.stride[1] + " + n\u00b7" + g.dilation[1] + "]\u00b7F[" + f +
          ",c,m,n]"];
        var parts = range(C).map(function (c) {
          var sub = 0;
          var nums = terms.map(function (t) {
            hl.push(["xpad" + c, t.up, t.vp, "in"],
              ["w" + f + "_" + c, t.m, t.n, "f"]);
            sub += xp[c][t.up][t.vp] * w[f][c][t.m][t.n];
            return num(xp[c][t.up][t.vp]) + "\u00b7" +
              num(w[f][c][t.m][t.n]);
          });
          eq.push("channel " + c + ": " + nums.join(" + ") + " = " +
            fmt(sub));
          return num(sub);
        });
        eq.push("O[" + f + "," + i + "," + j + "] = " + num(b[f]) + " + " +
          parts.join(" + ") + " = <b>" + fmt(out[f][i][j]) + "</b>");
        return {
          hl: hl,
          eq: eq,
          text: "O[" + f + "," + i + "," + j + "]: filter " + f +
            " looks at the same window in all " + C + " channel" +
            (C === 1 ? "" : "s") + ", adds the channel sums and the " +
            "bias b[" + f + "] = " + fmt(b[f]) + ": " + fmt(out[f][i][j]) +
            "."
        };
      }
    };
  }

  function filterGrad(set, P, B) {
    var g = convGeom(convSettings(set));
    var src = B.data;
    var x = fill(g.H, g.W, "x", 0, src.x);
    var dout = fill(g.Hout, g.Wout, "dout", 0, src.dout);
    var dw = P ? P.data.dw : im.filterGrad(x, dout, g);
    var xp = im.pad(x, g.padding);
    var strided = g.stride[0] !== 1 || g.stride[1] !== 1;
    var grids = [
      grid("xpad", "xpad", xName(g) + ": input" + (g.padding[0] ||
        g.padding[1] ? ", padded" : ""), xp,
      {cls: padCls(g, im.reachedOutputs(g))}),
      grid("dout", "dout", "dL/dO: upstream gradient", dout)
    ];
    if (strided) {
      var dz = dilated(dout, g.stride);
      grids.push(grid("doutz", "doutz", "dL/dO dilated by stride " +
        pairText(g.stride) + " (dotted: inserted zeros)", dz.vals,
      {cls: dz.cls}));
    }
    grids.push(grid("dw", "dw", "dL/dF", dw, {select: true}));
    var X = xName(g);
    return {
      geom: geomAttr(g),
      info: sizeInfo(g),
      grids: grids,
      tour: tourOf("dw", g.HH, g.WW),
      legend: [["in", "input cells the filter cell met"],
        ["g", "dL/dO cells of the same terms"],
        ["cur", "filter cell (selected)"]],
      select: function (id, m, n) {
        var terms = im.filterGradTerms(g, m, n);
        var hl = [["dw", m, n, "cur"]];
        var sym = [];
        var nums = [];
        terms.forEach(function (t) {
          hl.push(["xpad", t.up, t.vp, "in"], ["dout", t.i, t.j, "g"]);
          if (strided) {
            hl.push(["doutz", t.i * g.stride[0], t.j * g.stride[1], "g"]);
          }
          sym.push("dO[" + t.i + "," + t.j + "]\u00b7" + X + "[" + t.up +
            "," + t.vp + "]");
          nums.push(num(dout[t.i][t.j]) + "\u00b7" + num(xp[t.up][t.vp]));
        });
        var npad = terms.filter(function (t) {
          return t.pad;
        }).length;
        var text = "dL/dF[" + m + "," + n + "]: filter cell (" + m + "," +
          n + ") met " + terms.length + " input cell" +
          (terms.length === 1 ? "" : "s") + ", one per output cell, " +
          "starting at " + xText(g) + "[" + m * g.dilation[0] + "," +
          n * g.dilation[1] + "] and moving " + pairText(g.stride) +
          " at a time";
        if (npad) {
          text += " (" + npad + " are padding zeros)";
        }
        return {
          hl: hl,
          eq: ["dO = dL/dO"].concat(sumLines("dL/dF[" + m + "," + n + "]",
            sym, nums, dw[m][n], "\u03a3<sub>i,j</sub> dO[i,j]\u00b7" + X +
            "[i\u00b7" + g.stride[0] + " + " + m + "\u00b7" +
            g.dilation[0] + ", j\u00b7" + g.stride[1] + " + " + n +
            "\u00b7" + g.dilation[1] + "]")),
          text: text + "; sum = " + fmt(dw[m][n]) + "."
        };
      }
    };
  }

  function inputGrad(set, P, B) {
    var g = convGeom(convSettings(set));
    var mode = set.mode;
    var src = B.data;
    var w = fill(g.HH, g.WW, "w", 0, src.w);
    var dout = fill(g.Hout, g.Wout, "dout", 0, src.dout);
    var dx = P ? P.data.dx : im.inputGrad(dout, w, g);
    var grids = [grid("dout", "dout", "dL/dO: upstream gradient", dout,
      {select: mode === "scatter"}), grid("w", "w", "F: filter", w)];
    var geom = geomAttr(g, {mode: mode});
    var dX = g.padding[0] || g.padding[1] ? "dX<sup>pad</sup>" : "dX";
    /* scatter mode, a dL/dX cell: the output cells that sent to it */
    function gathered(u, v) {
      var terms = im.inputGradTerms(g, u, v);
      var hl = [["dx", u, v, "cur"],
        ["dxpad", u + g.padding[0], v + g.padding[1], "in"]];
      var nums = terms.map(function (t) {
        hl.push(["dout", t.i, t.j, "g"], ["w", t.m, t.n, "f"]);
        return num(dout[t.i][t.j]) + "\u00b7" + num(w[t.m][t.n]);
      });
      return {
        hl: hl,
        vals: {dxpad: P ? P.data.acc[g.Hout * g.Wout - 1] :
          im.scatter(dout, w, g)},
        eq: sumLines("dL/dX[" + u + "," + v + "]", terms.map(function (t) {
          return "dO[" + t.i + "," + t.j + "]\u00b7F[" + t.m + "," + t.n +
            "]";
        }), nums, dx[u][v], "\u03a3 dO[i,j]\u00b7F[m,n]"),
        text: "dL/dX[" + u + "," + v + "] adds what the " + terms.length +
          " output cell" + (terms.length === 1 ? "" : "s") + " whose " +
          "window covers it sent: " + fmt(dx[u][v]) + "."
      };
    }
    if (mode === "scatter") {
      grids.push(grid("dxpad", "dxpad", dX + ", running sum" +
        (g.padding[0] || g.padding[1] ? " (dashed border is cropped)" : ""),
      im.zeros(g.Hpad, g.Wpad), {cls: padCls(g, null)}));
      grids.push(grid("dx", "dx", "dL/dX" + (g.padding[0] || g.padding[1] ?
        " (after the crop)" : ""), dx, {select: true}));
      return {
        geom: geom,
        info: sizeInfo(g),
        grids: grids,
        tour: tourOf("dout", g.Hout, g.Wout),
        legend: [["cur", "output cell sending its gradient (selected)"],
          ["f", "filter weights on the way"],
          ["in", "input cells receiving it"]],
        select: function (id, i, j) {
          if (id === "dx") {
            return gathered(i, j);
          }
          var k = i * g.Wout + j;
          var terms = im.forwardTerms(g, i, j);
          var acc = P ? P.data.acc[k] : im.scatter(dout, w, g, k + 1);
          var hl = [["dout", i, j, "cur"]];
          var parts = terms.map(function (t) {
            hl.push(["w", t.m, t.n, "f"], ["dxpad", t.up, t.vp, "in"]);
            if (!t.pad) {
              hl.push(["dx", t.u, t.v, "in"]);
            }
            return dX + "[" + t.up + "," + t.vp + "] += " +
              num(dout[i][j]) + "\u00b7" + num(w[t.m][t.n]);
          });
          var npad = terms.filter(function (t) {
            return t.pad;
          }).length;
          return {
            hl: hl,
            vals: {dxpad: acc},
            eq: ["dO[" + i + "," + j + "] = dL/dO[" + i + "," + j + "] = " +
              fmt(dout[i][j]) + " is sent back through its window:",
            parts.join("; ")],
            text: "Output cell (" + i + "," + j + ") sends dL/dO[" + i +
              "," + j + "] = " + fmt(dout[i][j]) + " times each filter " +
              "weight to the " + terms.length + " input cell" +
              (terms.length === 1 ? "" : "s") + " of its window" +
              (npad ? "; " + npad + " land in the padding and are " +
                "cropped away." : ".")
          };
        }
      };
    }
    var eh = g.dilation[0] * (g.HH - 1);
    var ew = g.dilation[1] * (g.WW - 1);
    var dz = dilated(dout, g.stride);
    var full = im.zeros(g.Hpad + eh, g.Wpad + ew);
    var cls = full.map(function (row) {
      return row.map(function () {
        return "p";
      });
    });
    dz.vals.forEach(function (row, r) {
      row.forEach(function (v, c) {
        full[eh + r][ew + c] = v;
        cls[eh + r][ew + c] = dz.cls[r][c];
      });
    });
    var rh = g.Hpad - eh - dz.vals.length;
    var rw = g.Wpad - ew - dz.vals[0].length;
    var zh = dz.vals.length;
    var zw = dz.vals[0].length;
    full.forEach(function (row, r) {
      row.forEach(function (v, c) {
        var inBlock = r >= eh && r < eh + zh + rh && c >= ew &&
          c < ew + zw + rw;
        if (inBlock && (r >= eh + zh || c >= ew + zw)) { cls[r][c] = "s"; }
      });
    });
    grids.push(grid("wrot", "wrot", "rot180(F): F turned half a circle",
      rot180(w)));
    grids.push(grid("doutfull", "doutfull", "dL/dO with s\u22121 zeros " +
      "inserted, a border of d(HH\u22121) = " + eh + " rows and " +
      "d(WW\u22121) = " + ew + " columns of zeros" + (rh || rw ?
      ", and the leftover rows/columns r = " +
      pairText([rh, rw]) + " (hatched: no window reached them)" : "") +
      "; window: rot180(F) for dL/dX<sup>pad</sup>[u,v]", full,
      {cls: cls}));
    grids.push(grid("dx", "dx", "dL/dX", dx, {select: true}));
    return {
      geom: geom,
      info: sizeInfo(g),
      grids: grids,
      tour: tourOf("dx", g.H, g.W),
      legend: [["g", "dL/dO cells this input reached"],
        ["f", "filter cells linking them (and their rotated place)"],
        ["in", "rotated-filter window, meeting zeros"],
        ["cur", "input cell (selected)"]],
      select: function (id, u, v) {
        var terms = im.inputGradTerms(g, u, v);
        var up = u + g.padding[0];
        var vp = v + g.padding[1];
        var hl = [["dx", u, v, "cur"]];
        var met = {};
        var sym = [];
        var nums = [];
        terms.forEach(function (t) {
          hl.push(["dout", t.i, t.j, "g"], ["w", t.m, t.n, "f"],
            ["wrot", g.HH - 1 - t.m, g.WW - 1 - t.n, "f"]);
          met[(eh + t.i * g.stride[0]) + "," + (ew + t.j * g.stride[1])] =
            true;
          sym.push("dO[" + t.i + "," + t.j + "]\u00b7F[" + t.m + "," + t.n +
            "]");
          nums.push(num(dout[t.i][t.j]) + "\u00b7" + num(w[t.m][t.n]));
        });
        range(g.HH).forEach(function (a) {
          range(g.WW).forEach(function (c) {
            var r = up + a * g.dilation[0];
            var q = vp + c * g.dilation[1];
            hl.push(["doutfull", r, q, met[r + "," + q] ? "g" : "in"]);
          });
        });
        var text = terms.length ? "dL/dX[" + u + "," + v + "]: this " +
          "input cell reached " + terms.length + " output cell" +
          (terms.length === 1 ? "" : "s") + "; each pairs with the " +
          "filter cell that linked them. On the big grid, rot180(F) " +
          "over the zero-inserted, padded dL/dO meets the same pairs: " +
          fmt(dx[u][v]) + "." : "dL/dX[" + u + "," + v + "] = 0: no " +
          "window reached this cell (leftover rows or columns of the " +
          "stride).";
        return {
          hl: hl,
          eq: ["dO = dL/dO"].concat(sumLines("dL/dX[" + u + "," + v + "]",
            sym, nums, dx[u][v], "\u03a3 dO[i,j]\u00b7F[m,n] over the " +
            "listed pairs")),
          text: text
        };
      }
    };
  }

  function maxpool(set, P, B) {
    var k = pair(set.k);
    var pg = im.poolGeometry(+set.H, +set.W, k, pair(set.stride));
    var src = B.data;
    var x = fill(pg.H, pg.W, "x", 0, src.x);
    var dout = fill(pg.Hout, pg.Wout, "dout", 0, src.dout);
    var out = P ? P.data.out : im.maxpool(x, pg);
    var covered = im.zeros(pg.H, pg.W);
    range(pg.Hout).forEach(function (i) {
      range(pg.Wout).forEach(function (j) {
        im.poolWindow(pg, i, j).forEach(function (c) {
          covered[c[0]][c[1]] = 1;
        });
      });
    });
    var cls = covered.map(function (row) {
      return row.map(function (c) {
        return c ? "." : "s";
      });
    });
    var uncovered = covered.reduce(function (n, row) {
      return n + row.filter(function (c) {
        return !c;
      }).length;
    }, 0);
    var overlap = (pg.stride[0] < pg.size[0] && pg.Hout > 1) ||
      (pg.stride[1] < pg.size[1] && pg.Wout > 1);
    var gaps = (pg.stride[0] > pg.size[0] && pg.Hout > 1) ||
      (pg.stride[1] > pg.size[1] && pg.Wout > 1);
    var info = "X is " + pg.H + "\u00d7" + pg.W + ", window " +
      pairText(pg.size) + ", stride " + pairText(pg.stride) +
      " \u2192 O is " + pg.Hout + "\u00d7" + pg.Wout +
      (overlap ? " (windows overlap)" : "") + ".";
    if (uncovered) {
      info += " " + uncovered + " hatched cell" + (uncovered === 1 ?
        " is" : "s are") + " in no window" + (gaps ? " (the stride " +
        "is larger than the window)" : "") + ": " + (uncovered === 1 ?
        "its" : "their") + " gradient is always 0.";
    }
    var routes = im.poolRoutes(x, pg);
    var cells = pg.size[0] * pg.size[1];
    return {
      geom: {H: pg.H, W: pg.W, size: pg.size, stride: pg.stride,
        H_out: pg.Hout, W_out: pg.Wout},
      info: info,
      grids: [grid("x", "x", "X: input", x, {cls: cls}),
        grid("out", "out", "O = maxpool(X)", out, {select: true}),
        grid("dout", "dout", "dL/dO", dout, {select: true}),
        grid("dx", "dx", "dL/dX so far", im.zeros(pg.H, pg.W),
          {cls: cls})],
      tour: tourOf("out", pg.Hout, pg.Wout),
      legend: [["in", "window"], ["win", "winner (first maximum)"],
        ["tie", "tied, but not first"], ["cur", "selected window"],
        ["g", "its dL/dO and where it goes"]],
      select: function (id, i, j) {
        var n = i * pg.Wout + j;
        var win = im.poolWinner(x, pg, i, j);
        var u = win[0];
        var v = win[1];
        var tied = im.poolTie(x, pg, i, j);
        var isTied = {};
        tied.forEach(function (c) {
          isTied[c.join(",")] = true;
        });
        var hl = [["out", i, j, id === "out" ? "cur" : "out"],
          ["dout", i, j, id === "dout" ? "cur" : "g"], ["dx", u, v, "g"]];
        var vals = im.poolWindow(pg, i, j).map(function (c) {
          var role = "in";
          if (c[0] === u && c[1] === v) {
            role = "win";
          } else if (isTied[c.join(",")]) {
            role = "tie";
          }
          hl.push(["x", c[0], c[1], role]);
          return fmt(x[c[0]][c[1]]);
        });
        var acc = P ? P.data.acc[n] : im.maxpoolBackward(x, dout, pg,
          n + 1);
        var eq = [
          "O[" + i + "," + j + "] = " + (cells > 1 ? "max(" +
            vals.join(", ") + ") = " + fmt(out[i][j]) + " at X[" + u +
            "," + v + "]" : "X[" + u + "," + v + "] = " + fmt(out[i][j]) +
            " (a 1\u00d71 window)"),
          "dL/dX[" + u + "," + v + "] += dL/dO[" + i + "," + j + "] = " +
            fmt(dout[i][j]) + " \u2192 <b>" + fmt(acc[u][v]) + "</b>"];
        if (cells > 1) {
          eq.push("every other cell of the window gets 0");
        }
        var text = cells > 1 ? "Window (" + i + "," + j + "): the " +
          "maximum " + fmt(out[i][j]) + " is at X[" + u + "," + v +
          "], so all of dL/dO[" + i + "," + j + "] = " + fmt(dout[i][j]) +
          " goes there." : "Window (" + i + "," + j + ") is the single " +
          "cell X[" + u + "," + v + "]: O[" + i + "," + j + "] = X[" + u +
          "," + v + "] and dL/dO[" + i + "," + j + "] = " +
          fmt(dout[i][j]) + " goes straight back to it.";
        if (tied.length) {
          text += " Tie: " + tied.map(function (c) {
            return "X[" + c[0] + "," + c[1] + "]";
          }).join(", ") + " all hold the maximum; the first in " +
            "row-major order wins.";
        }
        var won = routes[u + "," + v].filter(function (c) {
          return c[0] !== i || c[1] !== j;
        });
        var before = won.filter(function (c) {
          return c[0] * pg.Wout + c[1] < n;
        });
        var after = won.filter(function (c) {
          return c[0] * pg.Wout + c[1] > n;
        });
        var list = function (cs) {
          return cs.map(function (c) {
            return "(" + c[0] + "," + c[1] + ")";
          }).join(", ");
        };
        if (before.length) {
          text += " X[" + u + "," + v + "] also won window" +
            (before.length === 1 ? " " : "s ") + list(before) +
            "; its gradient so far adds up to " + fmt(acc[u][v]) + ".";
        }
        if (after.length) {
          text += " It wins window" + (after.length === 1 ? " " : "s ") +
            list(after) + " too, later.";
        }
        return {hl: hl, vals: {dx: acc}, eq: eq, text: text};
      }
    };
  }

  function shape(set, P) {
    var H = +set.H;
    var k = +set.k;
    var s = +set.stride;
    var p = +set.padding;
    var d = +set.dilation;
    if (P && P.data.error) {
      throw refused(P.data.error);
    }
    var hout = P ? P.data.hout : im.outputSize(H, k, s, p, d);
    var span = d * (k - 1) + 1;
    var room = H + 2 * p - span;
    var left = room - (hout - 1) * s;
    var n = H + 2 * p;
    var strip = [range(n).map(function (c) {
      return c < p || c >= n - p ? "0" : "";
    })];
    var cls = [range(n).map(function (c) {
      if (c >= n - left) {
        return "s";
      }
      return c < p || c >= n - p ? "p" : ".";
    })];
    return {
      geom: {H: H, k: k, stride: s, padding: p, dilation: d, H_out: hout},
      attrs: {"data-hout": String(hout)},
      info: "H_out = \u230a(H + 2p \u2212 d(k\u22121) \u2212 1) / s\u230b" +
        " + 1 = \u230a(" + H + " + 2\u00b7" + p + " \u2212 " + d +
        "\u00b7(" + k + "\u22121) \u2212 1) / " + s + "\u230b + 1 = " +
        "\u230a" + room + " / " + s + "\u230b + 1 = " + Math.floor(room / s) +
        " + 1 = " + hout,
      notes: [
        "H + 2p = " + n + ": the padded input has " + n + " rows.",
        "d(k\u22121) + 1 = " + span + ": the (dilated) kernel spans " +
          span + " rows.",
        "H + 2p \u2212 (d(k\u22121) + 1) = " + room + ": rows the window " +
          "can move down after its first position.",
        "\u230a" + room + " / s\u230b = " + Math.floor(room / s) +
          ": whole strides of " + s + " that fit.",
        "+ 1 = " + hout + ": the first position counts too.",
        left ? left + " row" + (left === 1 ? "" : "s") + " at the bottom " +
          (left === 1 ? "is" : "are") + " never covered (hatched: the " +
          "stride does not divide evenly)." : "Every row is covered: " +
          "the stride divides evenly."],
      grids: [grid("xpad", "xpad", "Padded input rows (labels: original " +
        "index)", strip, {cls: cls, c0: -p, strip: true}),
      grid("out", "out", "Output positions", [range(hout)],
        {select: true, strip: true})],
      tour: tourOf("out", 1, hout),
      legend: [["in", "rows the window reads"],
        ["cur", "output position (selected)"]],
      select: function (id, r, i) {
        var hl = [["out", 0, i, "cur"]];
        var rows = range(k).map(function (m) {
          hl.push(["xpad", 0, i * s + m * d, "in"]);
          return i * s + m * d;
        });
        return {
          hl: hl,
          eq: ["window " + i + " reads padded rows " + i + "\u00b7" + s +
            " + m\u00b7" + d + " for m = 0\u2026" + (k - 1) + ": " +
            rows.join(", ")],
          text: "H_out = " + hout + " for H = " + H + ", k = " + k +
            ", s = " + s + ", p = " + p + ", d = " + d + ". Output " +
            "position " + i + " reads padded rows " + rows.join(", ") + "."
        };
      }
    };
  }

  var KINDS = {forward: forward, channels: channels,
    filter_grad: filterGrad, input_grad: inputGrad, maxpool: maxpool,
    shape: shape};

  /* ---- the renderer: controls, grids, selection, tour ---- */

  function table(view, g) {
    var cap = view.id + "-" + g.id + "-cap";
    var fig = el("figure", {"class": g.strip ? "cv-fig cv-strip-fig" :
      "cv-fig"});
    var caption = el("figcaption", {id: cap});
    caption.innerHTML = g.title;
    fig.appendChild(caption);
    var t = el("table", {"aria-labelledby": cap});
    if (g.strip) {
      t.className = "cv-strip";
      t.style.maxWidth = g.cols * 32 + "px";
    }
    if (g.select) {
      t.setAttribute("role", "grid");
    }
    var head = el("tr");
    if (!g.strip) {
      head.appendChild(el("td", {"class": "cv-corner"}));
    }
    range(g.cols).forEach(function (c) {
      var label = g.c0 + c;
      var show = !g.strip || g.cols <= 16 || label % 5 === 0 ||
        c === 0 || c === g.cols - 1;
      head.appendChild(el("th", {scope: "col"}, show ? String(label) : ""));
    });
    t.appendChild(head);
    var cells = range(g.rows).map(function (r) {
      var tr = el("tr");
      if (!g.strip) {
        tr.appendChild(el("th", {scope: "row"}, String(g.r0 + r)));
      }
      var row = range(g.cols).map(function (c) {
        var td = el("td", {"data-grid": g.name, "data-r": String(r),
          "data-c": String(c)});
        if (g.sub) {
          td.setAttribute("data-sub", g.sub);
        }
        var k = g.cls ? g.cls[r][c] : ".";
        if (k !== ".") {
          td.className = k.split("").map(function (letter) {
            return "cv-" + letter;
          }).join(" ");
        }
        if (g.select) {
          td.setAttribute("data-sel", g.id);
          td.setAttribute("tabindex", "-1");
          td.setAttribute("aria-selected", "false");
        }
        setValue(td, g.vals[r][c]);
        tr.appendChild(td);
        return td;
      });
      t.appendChild(tr);
      return row;
    });
    fig.appendChild(t);
    return {fig: fig, cells: cells};
  }

  function setValue(td, v) {
    td.textContent = typeof v === "number" ? fmt(v) : String(v);
  }

  /* the view's root; an output not yet in the document (JupyterLab
   * runs an output's scripts as it builds it) is found from the script */
  function findRoot(id) {
    var here = document.currentScript;
    return document.getElementById(id) || (here && here.parentNode ?
      here.parentNode.querySelector("[id='" + id + "']") : null);
  }

  function render(id, D) {
    var root = findRoot(id);
    if (!root || root.getAttribute("data-ready")) {
      return;
    }
    var kind = KINDS[D.kind];
    var fallback = root.querySelector(".cv-static");
    if (fallback) {
      fallback.parentNode.removeChild(fallback);
    }
    var view = {id: id, root: root, preset: 0, set: {}, model: null,
      cells: {}, tables: {}, focus: {}, sel: null, step: 0, lit: [],
      pv: [], timer: null};
    root.setAttribute("role", "group");
    root.setAttribute("aria-labelledby", id + "-title");
    root.appendChild(el("p", {"class": "cv-title", id: id + "-title"},
      D.title));
    var controls = el("div", {"class": "cv-controls"});
    var presetSel = null;
    if (D.presets.length > 1 || D.controls.length) {
      var label = el("label", {"class": "cv-preset"}, "Example ");
      presetSel = el("select", {"data-control": "config"});
      D.presets.forEach(function (p, k) {
        presetSel.appendChild(el("option", {value: String(k)}, p.label));
      });
      if (D.controls.length) {
        presetSel.appendChild(el("option", {value: "-1", disabled: ""},
          "your settings"));
      }
      label.appendChild(presetSel);
      controls.appendChild(label);
    }
    var selects = {};
    var settings = el("div", {"class": "cv-settings"});
    D.controls.forEach(function (c) {
      var lab = el("label", {"class": "cv-set", title: c.title},
        c.label + " ");
      var s = el("select", {"data-control": c.name,
        "aria-label": c.label + ": " + c.title});
      c.options.forEach(function (o) {
        s.appendChild(el("option", {value: o[0]}, o[1]));
      });
      lab.appendChild(s);
      settings.appendChild(lab);
      selects[c.name] = s;
    });
    controls.appendChild(settings);
    root.appendChild(controls);
    var error = el("p", {"class": "cv-error", "data-control": "error",
      role: "alert"});
    var info = el("p", {"class": "cv-info", "data-control": "info"});
    var body = el("div", {"class": "cv-body"});
    var box = el("div", {"class": "cv-grids"});
    var notes = el("ul", {"class": "cv-notes", "data-control": "terms"});
    var panel = el("div", {"class": "cv-panel"});
    var tour = el("div", {"class": "cv-tour"});
    var prev = tourButton("\u25c0", "Prev", "prev", true);
    var play = tourButton("\u25b6", "Play", "play", true);
    var next = tourButton("\u25b6", "Next", "next", false);
    var count = el("span", {"class": "cv-count", "data-control": "count"});
    [prev, play, next, count].forEach(function (e) {
      tour.appendChild(e);
    });
    var eq = el("div", {"class": "cv-eq", "data-control": "equation"});
    var text = el("p", {"class": "cv-text", "data-control": "text",
      "aria-live": "polite"});
    [tour, eq, text].forEach(function (e) {
      panel.appendChild(e);
    });
    [box, notes, panel].forEach(function (e) {
      body.appendChild(e);
    });
    var legend = el("div", {"class": "cv-legend"});
    var help = el("p", {"class": "cv-help"}, "Click or tap a cell to " +
      "select it; arrow keys move the selection; a pointer previews " +
      "a cell on hover.");
    [error, info, body, legend, help].forEach(function (e) {
      root.appendChild(e);
    });

    function tourButton(icon, word, action, before) {
      var b = el("button", {type: "button", "data-action": action});
      var i = el("span", {"aria-hidden": "true"}, icon);
      var w = el("span", {"class": "cv-word"}, word);
      b.appendChild(before ? i : w);
      b.appendChild(document.createTextNode(" "));
      b.appendChild(before ? w : i);
      return b;
    }

    function presetMatches(p) {
      return D.controls.every(function (c) {
        return c.name === "mode" || p.set[c.name] === undefined ||
          String(p.set[c.name]) === view.set[c.name];
      });
    }

    function loadPreset(k) {
      view.preset = k;
      var p = D.presets[k];
      Object.keys(p.set).forEach(function (name) {
        view.set[name] = String(p.set[name]);
        if (selects[name]) {
          selects[name].value = view.set[name];
        }
      });
      if (presetSel) {
        presetSel.value = String(k);
      }
    }

    function readSettings() {
      Object.keys(selects).forEach(function (name) {
        view.set[name] = selects[name].value;
      });
      var exact = presetMatches(D.presets[view.preset]);
      if (presetSel) {
        presetSel.value = exact ? String(view.preset) : "-1";
      }
    }

    function rebuild(keep) {
      stop();
      clearPreview();
      var base = D.presets[view.preset];
      var active = presetMatches(base) ? base : null;
      view.lit = [];
      view.cells = {};
      view.tables = {};
      view.focus = {};
      box.textContent = "";
      eq.textContent = "";
      notes.textContent = "";
      legend.textContent = "";
      try {
        view.model = kind(view.set, active, base);
      } catch (err) {
        if (err.name !== "ValueError") {
          throw err;
        }
        view.model = null;
        error.textContent = "cnnbp refuses this setting: ValueError: " +
          err.message;
        info.textContent = "";
        text.textContent = "";
        root.setAttribute("data-error", "1");
        root.removeAttribute("data-geom");
        if (root.hasAttribute("data-hout")) {
          root.setAttribute("data-hout", "");
        }
        count.textContent = "";
        updateTour();
        return;
      }
      var m = view.model;
      error.textContent = "";
      root.removeAttribute("data-error");
      root.setAttribute("data-preset", active ? String(view.preset) : "-1");
      root.setAttribute("data-geom", JSON.stringify(m.geom));
      root.setAttribute("data-steps", String(m.tour.length));
      Object.keys(m.attrs || {}).forEach(function (a) {
        root.setAttribute(a, m.attrs[a]);
      });
      info.textContent = m.info;
      (m.notes || []).forEach(function (n) {
        notes.appendChild(el("li", {}, n));
      });
      m.grids.forEach(function (g) {
        var t = table(view, g);
        view.cells[g.id] = t.cells;
        view.tables[g.id] = g;
        if (g.select) {
          view.focus[g.id] = t.cells[0][0];
          t.cells[0][0].setAttribute("tabindex", "0");
        }
        box.appendChild(t.fig);
      });
      m.legend.forEach(function (l) {
        var item = el("span", {"class": "cv-key"});
        item.appendChild(el("span", {"class": "cv-sw", "data-role": l[0],
          "aria-hidden": "true"}));
        item.appendChild(document.createTextNode(l[1]));
        legend.appendChild(item);
      });
      var old = keep && view.sel;
      var sel = old && view.focus[old[0]] && view.cells[old[0]][old[1]] &&
        view.cells[old[0]][old[1]][old[2]] ? old : m.tour[0];
      select(sel[0], sel[1], sel[2], {});
      markScroll();
    }

    function apply(hl, attr) {
      var touched = [];
      hl.forEach(function (h) {
        var row = view.cells[h[0]] && view.cells[h[0]][h[1]];
        var td = row && row[h[2]];
        if (!td) {
          return;
        }
        if (attr === "data-pv") {
          td.setAttribute("data-pv", "1");
        } else {
          td.setAttribute("data-role", h[3]);
          if (!NO_HL[h[3]]) {
            td.setAttribute("data-hl", "1");
          }
          if (h[3] === "cur") {
            td.setAttribute("aria-selected", "true");
          }
        }
        touched.push(td);
      });
      return touched;
    }

    function select(gid, r, c, opts) {
      var m = view.model;
      if (!m) {
        return;
      }
      var res = m.select(gid, r, c);
      view.lit.forEach(function (td) {
        td.removeAttribute("data-hl");
        td.removeAttribute("data-role");
        if (td.hasAttribute("aria-selected")) {
          td.setAttribute("aria-selected", "false");
        }
      });
      Object.keys(res.vals || {}).forEach(function (key) {
        view.cells[key].forEach(function (row, rr) {
          row.forEach(function (td, cc) {
            setValue(td, res.vals[key][rr][cc]);
          });
        });
      });
      view.lit = apply(res.hl, "data-role");
      view.sel = [gid, r, c];
      var cell = view.cells[gid][r][c];
      view.focus[gid].setAttribute("tabindex", "-1");
      cell.setAttribute("tabindex", "0");
      view.focus[gid] = cell;
      eq.innerHTML = "";
      res.eq.forEach(function (line) {
        var div = el("div");
        div.innerHTML = line;
        eq.appendChild(div);
      });
      text.textContent = res.text;
      root.setAttribute("data-sel", gid + ":" + r + "," + c);
      view.step = tourIndex();
      root.setAttribute("data-step", String(view.step));
      count.textContent = "cell " + (view.step + 1) + " of " +
        m.tour.length;
      updateTour();
      if (opts.focus) {
        cell.focus({preventScroll: !opts.scroll});
      }
      if (opts.scroll && cell.scrollIntoView) {
        cell.scrollIntoView({block: "nearest", inline: "nearest"});
      }
    }

    function tourIndex() {
      var s = view.sel;
      var t = view.model.tour;
      for (var k = 0; k < t.length; k++) {
        if (t[k][0] === s[0] && t[k][1] === s[1] && t[k][2] === s[2]) {
          return k;
        }
      }
      for (k = 0; k < t.length; k++) {
        if (t[k][1] === s[1] && t[k][2] === s[2]) {
          return k;
        }
      }
      return 0;
    }

    function updateTour() {
      var n = view.model ? view.model.tour.length : 0;
      var at = view.model ? view.step : 0;
      prev.setAttribute("aria-disabled", String(n === 0 || at <= 0));
      next.setAttribute("aria-disabled", String(n === 0 || at >= n - 1));
      play.setAttribute("aria-disabled", String(n <= 1));
    }

    function go(step, opts) {
      var t = view.model && view.model.tour[step];
      if (t) {
        select(t[0], t[1], t[2], opts);
      }
    }

    function stop() {
      if (view.timer) {
        clearInterval(view.timer);
      }
      view.timer = null;
      play.lastChild.textContent = "Play";
      play.firstChild.textContent = "\u25b6";
      play.setAttribute("aria-pressed", "false");
    }

    function clearPreview() {
      view.pv.forEach(function (td) {
        td.removeAttribute("data-pv");
      });
      view.pv = [];
    }

    function markScroll() {
      box.querySelectorAll("figure").forEach(function (fig) {
        var wide = getComputedStyle(fig).overflowX !== "visible" &&
          fig.scrollWidth > fig.clientWidth + 1;
        fig.classList.toggle("cv-scroll", wide);
        if (wide && !fig.querySelector("[data-sel]")) {
          fig.setAttribute("tabindex", "0");
        } else {
          fig.removeAttribute("tabindex");
        }
      });
    }

    prev.addEventListener("click", function () {
      if (prev.getAttribute("aria-disabled") !== "true") {
        stop();
        go(view.step - 1, {scroll: true});
      }
    });
    next.addEventListener("click", function () {
      if (next.getAttribute("aria-disabled") !== "true") {
        stop();
        go(view.step + 1, {scroll: true});
      }
    });
    play.addEventListener("click", function () {
      if (view.timer) {
        stop();
        return;
      }
      if (!view.model || view.model.tour.length <= 1) {
        return;
      }
      if (view.step >= view.model.tour.length - 1) {
        go(0, {scroll: true});
      }
      play.lastChild.textContent = "Pause";
      play.firstChild.textContent = "\u275a\u275a";
      play.setAttribute("aria-pressed", "true");
      view.timer = setInterval(function () {
        if (!view.model || view.step >= view.model.tour.length - 1) {
          stop();
        } else {
          go(view.step + 1, {scroll: true});
        }
      }, TOUR_MS);
    });
    if (presetSel) {
      presetSel.addEventListener("change", function () {
        var k = +presetSel.value;
        if (k >= 0) {
          loadPreset(k);
          view.sel = null;
          rebuild(false);
        }
      });
    }
    Object.keys(selects).forEach(function (name) {
      var redraw = function () {
        if (selects[name].value === view.set[name]) {
          return;
        }
        readSettings();
        rebuild(true);
      };
      selects[name].addEventListener("change", redraw);
      selects[name].addEventListener("input", redraw);
    });
    box.addEventListener("click", function (ev) {
      var td = ev.target.closest("td[data-sel]");
      if (td) {
        stop();
        select(td.getAttribute("data-sel"), +td.getAttribute("data-r"),
          +td.getAttribute("data-c"), {focus: true});
      }
    });
    box.addEventListener("keydown", function (ev) {
      var td = ev.target.closest("td[data-sel]");
      if (!td || ev.altKey || ev.ctrlKey || ev.metaKey) {
        return;
      }
      var gid = td.getAttribute("data-sel");
      var cells = view.cells[gid];
      var r = +td.getAttribute("data-r");
      var c = +td.getAttribute("data-c");
      var moves = {ArrowUp: [r - 1, c], ArrowDown: [r + 1, c],
        ArrowLeft: [r, c - 1], ArrowRight: [r, c + 1], Home: [r, 0],
        End: [r, cells[0].length - 1], PageUp: [0, c],
        PageDown: [cells.length - 1, c], Enter: [r, c], " ": [r, c]};
      var to = moves[ev.key];
      if (!to) {
        return;
      }
      ev.preventDefault();
      stop();
      var nr = Math.max(0, Math.min(cells.length - 1, to[0]));
      var nc = Math.max(0, Math.min(cells[0].length - 1, to[1]));
      select(gid, nr, nc, {focus: true, scroll: true});
    });
    box.addEventListener("pointerover", function (ev) {
      if (ev.pointerType !== "mouse" || !view.model) {
        return;
      }
      var td = ev.target.closest("td[data-sel]");
      clearPreview();
      if (td) {
        var res = view.model.select(td.getAttribute("data-sel"),
          +td.getAttribute("data-r"), +td.getAttribute("data-c"));
        view.pv = apply(res.hl, "data-pv");
      }
    });
    box.addEventListener("pointerleave", clearPreview);
    window.addEventListener("resize", markScroll);

    loadPreset(0);
    root.setAttribute("data-ready", "1");
    rebuild(false);
  }

  window.cnnbpViews = {version: version, render: render, kinds: KINDS,
    gen: gen};
})();
