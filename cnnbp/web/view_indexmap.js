/*
 * The JavaScript twin of cnnbp.indexmap (and of the cnnbp.shapes checks
 * the views meet), for views a reader drives in a static page.
 *
 * Same names, same orders, same ValueError messages as the Python
 * package; tests/browser/test_views_browser.py compares every function
 * here with cnnbp.indexmap, cnnbp.shapes and the cnnbp operations over
 * the whole range of the views' controls. A refused setting throws an
 * Error named "ValueError" whose message is cnnbp's.
 *
 * Pairs are [h, w] arrays; 2-D arrays are arrays of rows.
 */
(function () {
  "use strict";

  function tuple(values) {
    return "(" + values.join(", ") + ")";
  }

  function refuse(message) {
    var err = new Error(message);
    err.name = "ValueError";
    throw err;
  }

  function zeros(rows, cols) {
    var out = [];
    for (var r = 0; r < rows; r++) {
      out.push(new Array(cols).fill(0));
    }
    return out;
  }

  function checkHyper(stride, padding, dilation) {
    if (stride[0] < 1 || stride[1] < 1) {
      refuse("stride must be >= 1, got " + tuple(stride));
    }
    if (padding[0] < 0 || padding[1] < 0) {
      refuse("padding must be >= 0, got " + tuple(padding));
    }
    if (dilation[0] < 1 || dilation[1] < 1) {
      refuse("dilation must be >= 1, got " + tuple(dilation));
    }
  }

  /* cnnbp.shapes.output_size */
  function outputSize(n, k, stride, padding, dilation) {
    checkHyper([stride, stride], [padding, padding], [dilation, dilation]);
    if (n < 1) {
      refuse("input size n must be >= 1, got " + n);
    }
    if (k < 1) {
      refuse("kernel size k must be >= 1, got " + k);
    }
    var eff = dilation * (k - 1) + 1;
    if (eff > n + 2 * padding) {
      refuse("kernel of size " + k + " (dilated to " + eff + ") is " +
        "larger than the padded input of size " + n + " + 2*" + padding +
        " = " + (n + 2 * padding));
    }
    return Math.floor((n + 2 * padding - eff) / stride) + 1;
  }

  /* cnnbp.indexmap.conv_geometry for an x of shape (1, 1, H, W) */
  function convGeometry(H, W, HH, WW, stride, padding, dilation) {
    checkHyper(stride, padding, dilation);
    if (Math.min(H, W, HH, WW) < 1) {
      refuse("empty dimension in x of shape " + tuple([1, 1, H, W]) +
        " or w of shape " + tuple([1, 1, HH, WW]));
    }
    var eh = dilation[0] * (HH - 1) + 1;
    var ew = dilation[1] * (WW - 1) + 1;
    var Hpad = H + 2 * padding[0];
    var Wpad = W + 2 * padding[1];
    if (eh > Hpad || ew > Wpad) {
      refuse("kernel " + tuple([HH, WW]) + " (dilated to " +
        tuple([eh, ew]) + ") is larger than the padded input " +
        tuple([Hpad, Wpad]) + ": x has shape " + tuple([1, 1, H, W]) +
        ", padding " + tuple(padding) + ", dilation " + tuple(dilation));
    }
    return {
      H: H, W: W, HH: HH, WW: WW, stride: stride, padding: padding,
      dilation: dilation, Hpad: Hpad, Wpad: Wpad,
      Hout: Math.floor((Hpad - eh) / stride[0]) + 1,
      Wout: Math.floor((Wpad - ew) / stride[1]) + 1
    };
  }

  /* ConvGeometry.meet: u and v are null in the zero padding */
  function meet(g, i, j, m, n) {
    var up = i * g.stride[0] + m * g.dilation[0];
    var vp = j * g.stride[1] + n * g.dilation[1];
    var u = up - g.padding[0];
    var v = vp - g.padding[1];
    var inside = u >= 0 && u < g.H && v >= 0 && v < g.W;
    return {
      i: i, j: j, m: m, n: n, up: up, vp: vp,
      u: inside ? u : null, v: inside ? v : null, pad: !inside
    };
  }

  function forwardTerms(g, i, j) {
    var terms = [];
    for (var m = 0; m < g.HH; m++) {
      for (var n = 0; n < g.WW; n++) {
        terms.push(meet(g, i, j, m, n));
      }
    }
    return terms;
  }

  function filterGradTerms(g, m, n) {
    var terms = [];
    for (var i = 0; i < g.Hout; i++) {
      for (var j = 0; j < g.Wout; j++) {
        terms.push(meet(g, i, j, m, n));
      }
    }
    return terms;
  }

  /* the filter tap linking output index i to padded input index u */
  function tap(u, i, stride, dilation, size) {
    var rest = u - i * stride;
    if (rest < 0 || rest % dilation !== 0 || rest / dilation >= size) {
      return -1;
    }
    return rest / dilation;
  }

  function inputGradTerms(g, u, v, padded) {
    var up = padded ? u : u + g.padding[0];
    var vp = padded ? v : v + g.padding[1];
    var terms = [];
    for (var i = 0; i < g.Hout; i++) {
      var m = tap(up, i, g.stride[0], g.dilation[0], g.HH);
      if (m < 0) {
        continue;
      }
      for (var j = 0; j < g.Wout; j++) {
        var n = tap(vp, j, g.stride[1], g.dilation[1], g.WW);
        if (n >= 0) {
          terms.push(meet(g, i, j, m, n));
        }
      }
    }
    return terms;
  }

  function reachedOutputs(g) {
    var count = zeros(g.Hpad, g.Wpad);
    for (var i = 0; i < g.Hout; i++) {
      for (var j = 0; j < g.Wout; j++) {
        forwardTerms(g, i, j).forEach(function (t) {
          count[t.up][t.vp] += 1;
        });
      }
    }
    return count;
  }

  /* cnnbp.indexmap.pool_geometry for an x of shape (1, 1, H, W) */
  function poolGeometry(H, W, size, stride) {
    if (size[0] < 1 || size[1] < 1) {
      refuse("pool size must be >= 1, got " + tuple(size));
    }
    var s = stride || size;
    if (s[0] < 1 || s[1] < 1) {
      refuse("stride must be >= 1, got " + tuple(s));
    }
    if (size[0] > H || size[1] > W) {
      refuse("pool window " + tuple(size) + " is larger than the input " +
        tuple([H, W]) + " of x with shape " + tuple([1, 1, H, W]));
    }
    return {
      H: H, W: W, size: size, stride: s,
      Hout: Math.floor((H - size[0]) / s[0]) + 1,
      Wout: Math.floor((W - size[1]) / s[1]) + 1
    };
  }

  function poolWindow(pg, i, j) {
    var cells = [];
    for (var a = 0; a < pg.size[0]; a++) {
      for (var b = 0; b < pg.size[1]; b++) {
        cells.push([i * pg.stride[0] + a, j * pg.stride[1] + b]);
      }
    }
    return cells;
  }

  /* first maximum in row-major order, as np.argmax */
  function poolWinner(x, pg, i, j) {
    var best = null;
    poolWindow(pg, i, j).forEach(function (c) {
      if (best === null || x[c[0]][c[1]] > x[best[0]][best[1]]) {
        best = c;
      }
    });
    return best;
  }

  /* the cells tied for the window's maximum (empty when no tie) */
  function poolTie(x, pg, i, j) {
    var cells = poolWindow(pg, i, j);
    var top = Math.max.apply(null, cells.map(function (c) {
      return x[c[0]][c[1]];
    }));
    var best = cells.filter(function (c) {
      return x[c[0]][c[1]] === top;
    });
    return best.length > 1 ? best : [];
  }

  /* "u,v" -> [[i, j], ...]: the windows each input cell won */
  function poolRoutes(x, pg) {
    var routes = {};
    for (var i = 0; i < pg.Hout; i++) {
      for (var j = 0; j < pg.Wout; j++) {
        var key = poolWinner(x, pg, i, j).join(",");
        (routes[key] = routes[key] || []).push([i, j]);
      }
    }
    return routes;
  }

  /* ---- the operations, summed over the meetings above ---- */

  function pad(x, padding) {
    var out = zeros(x.length + 2 * padding[0],
      (x[0] ? x[0].length : 0) + 2 * padding[1]);
    x.forEach(function (row, u) {
      row.forEach(function (val, v) {
        out[u + padding[0]][v + padding[1]] = val;
      });
    });
    return out;
  }

  function crop(xp, g) {
    return xp.slice(g.padding[0], g.padding[0] + g.H).map(function (row) {
      return row.slice(g.padding[1], g.padding[1] + g.W);
    });
  }

  /* O = conv(X, F) (+ b): cnnbp.conv2d, single channel */
  function conv(x, w, g, b) {
    var xp = pad(x, g.padding);
    var out = zeros(g.Hout, g.Wout);
    for (var i = 0; i < g.Hout; i++) {
      for (var j = 0; j < g.Wout; j++) {
        var total = b || 0;
        forwardTerms(g, i, j).forEach(function (t) {
          total += xp[t.up][t.vp] * w[t.m][t.n];
        });
        out[i][j] = total;
      }
    }
    return out;
  }

  /* dL/dF: cnnbp.conv2d_backward's dw, single channel */
  function filterGrad(x, dout, g) {
    var xp = pad(x, g.padding);
    var dw = zeros(g.HH, g.WW);
    for (var m = 0; m < g.HH; m++) {
      for (var n = 0; n < g.WW; n++) {
        filterGradTerms(g, m, n).forEach(function (t) {
          dw[m][n] += dout[t.i][t.j] * xp[t.up][t.vp];
        });
      }
    }
    return dw;
  }

  /* dL/dX^pad after the first `count` output cells (row-major) have
   * sent their gradient back (all of them when count is undefined) */
  function scatter(dout, w, g, count) {
    var dxp = zeros(g.Hpad, g.Wpad);
    var last = count === undefined ? g.Hout * g.Wout : count;
    for (var k = 0; k < last; k++) {
      var i = Math.floor(k / g.Wout);
      var j = k % g.Wout;
      forwardTerms(g, i, j).forEach(function (t) {
        dxp[t.up][t.vp] += dout[i][j] * w[t.m][t.n];
      });
    }
    return dxp;
  }

  /* dL/dX: cnnbp.conv2d_backward's dx, single channel */
  function inputGrad(dout, w, g) {
    return crop(scatter(dout, w, g), g);
  }

  function maxpool(x, pg) {
    var out = zeros(pg.Hout, pg.Wout);
    for (var i = 0; i < pg.Hout; i++) {
      for (var j = 0; j < pg.Wout; j++) {
        var c = poolWinner(x, pg, i, j);
        out[i][j] = x[c[0]][c[1]];
      }
    }
    return out;
  }

  /* cnnbp.maxpool2d_backward with only the first `count` windows */
  function maxpoolBackward(x, dout, pg, count) {
    var dx = zeros(pg.H, pg.W);
    var last = count === undefined ? pg.Hout * pg.Wout : count;
    for (var k = 0; k < last; k++) {
      var i = Math.floor(k / pg.Wout);
      var j = k % pg.Wout;
      var c = poolWinner(x, pg, i, j);
      dx[c[0]][c[1]] += dout[i][j];
    }
    return dx;
  }

  /* round half to even, as Python's float formatting */
  function roundEven(value) {
    var low = Math.floor(value);
    var rest = value - low;
    if (rest > 0.5 || (rest === 0.5 && low % 2 !== 0)) {
      return low + 1;
    }
    return low;
  }

  /* cnnbp.widgets._fmt: integers plainly, else Python's "{:.3g}" */
  function fmt(value) {
    var v = value === 0 ? 0 : value;
    if (Number.isInteger(v) && Math.abs(v) < 1e12) {
      return String(v);
    }
    var sign = v < 0 ? "-" : "";
    var a = Math.abs(v);
    var exp = Math.floor(Math.log10(a));
    var digits = roundEven(a * Math.pow(10, 2 - exp));
    if (digits >= 1000) {
      exp += 1;
      digits = roundEven(a * Math.pow(10, 2 - exp));
    }
    var text = String(digits);
    if (exp < -4 || exp >= 3) {
      var mant = (text[0] + "." + text.slice(1)).replace(/\.?0+$/, "");
      var e = Math.abs(exp);
      return sign + mant + "e" + (exp < 0 ? "-" : "+") +
        (e < 10 ? "0" : "") + e;
    }
    var decimals = 2 - exp;
    if (decimals <= 0) {
      return sign + text;
    }
    text = ("000000" + text).slice(-Math.max(text.length, decimals + 1));
    var whole = text.slice(0, text.length - decimals);
    var frac = text.slice(text.length - decimals).replace(/0+$/, "");
    return sign + whole + (frac ? "." + frac : "");
  }

  window.cnnbpIndexmap = {
    outputSize: outputSize,
    convGeometry: convGeometry,
    meet: meet,
    forwardTerms: forwardTerms,
    filterGradTerms: filterGradTerms,
    inputGradTerms: inputGradTerms,
    reachedOutputs: reachedOutputs,
    poolGeometry: poolGeometry,
    poolWindow: poolWindow,
    poolWinner: poolWinner,
    poolTie: poolTie,
    poolRoutes: poolRoutes,
    zeros: zeros,
    pad: pad,
    crop: crop,
    conv: conv,
    filterGrad: filterGrad,
    scatter: scatter,
    inputGrad: inputGrad,
    maxpool: maxpool,
    maxpoolBackward: maxpoolBackward,
    fmt: fmt
  };
})();
