"""Matplotlib helpers: matrices with their values and highlighted cells.

Chapters call these instead of one-off plotting code, so every figure
uses the same colours (the Okabe-Ito palette of :mod:`cnnbp.widgets`,
safe for colour-blind readers), the same row/column labels (indices from
0, as in NumPy) and the same look for padding zeros (grey, dashed).

``highlight`` arguments map a role to cells, e.g.
``{"in": [(0, 0), (0, 1)], "cur": [(1, 1)]}``; roles are the keys of
:data:`cnnbp.widgets.PALETTE` (``in``, ``f``, ``out``, ``g``, ``cur``,
``win``, ``tie``).  A plain list of cells means role ``"in"``.
"""

import base64
import re
from html import escape

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation, patches

from cnnbp import indexmap, png
from cnnbp.widgets import PALETTE

__all__ = ["draw_matrix", "draw_grids", "step_animation",
           "forward_animation", "PALETTE"]

_PAD_FACE = "#e8e8e8"


def _roles(highlight):
    if highlight is None:
        return {}
    if isinstance(highlight, dict):
        return highlight
    return {"in": list(highlight)}


def _text(v, fmt):
    if fmt is not None:
        return format(v, fmt)
    v = float(v)
    return str(int(v)) if v == int(v) else f"{v:.2g}"


def draw_matrix(ax, a, highlight=None, title=None, padding=0, fmt=None,
                labels=True, fontsize=10):
    """Draw a 2-D array as a grid of cells with its values written in.

    Parameters
    ----------
    ax : matplotlib Axes
    a : array_like of shape (R, C)
    highlight : dict of role -> list of (row, col), or list of (row, col)
        Cells to fill with the role's colour (and draw in bold).
    title : str, optional
    padding : int or (int, int)
        Width of a zero-padding border already included in ``a``; those
        cells are drawn grey with a dashed edge.
    fmt : str, optional
        Format spec for the values (default: integers without ".0",
        others with 2 significant digits).
    labels : bool
        Write row/column indices along the left and top.
    fontsize : float

    Returns
    -------
    ax : matplotlib Axes
    """
    a = np.asarray(a)
    R, C = a.shape
    ph, pw = (padding, padding) if np.isscalar(padding) else padding
    fill = {}
    for role, cells in _roles(highlight).items():
        for r, c in cells:
            fill[(int(r), int(c))] = role
    for r in range(R):
        for c in range(C):
            is_pad = not (ph <= r < R - ph and pw <= c < C - pw)
            role = fill.get((r, c))
            face = PALETTE[role] if role else (_PAD_FACE if is_pad
                                               else "white")
            ax.add_patch(patches.Rectangle(
                (c, r), 1, 1, facecolor=face, edgecolor="#333",
                linestyle="--" if is_pad and not role else "-",
                linewidth=2 if role else 0.8))
            colour = "white" if role == "win" else (
                "#777" if is_pad and not role else "black")
            ax.text(c + 0.5, r + 0.5, _text(a[r, c], fmt), ha="center",
                    va="center", fontsize=fontsize, color=colour,
                    fontweight="bold" if role else "normal")
    ax.set_xlim(-0.03, C + 0.03)
    ax.set_ylim(R + 0.03, -0.03)
    ax.set_aspect("equal")
    ax.tick_params(length=0, labelsize=fontsize - 2)
    if labels:
        ax.set_xticks(np.arange(C) + 0.5, [str(c) for c in range(C)])
        ax.set_yticks(np.arange(R) + 0.5, [str(r) for r in range(R)])
        ax.xaxis.tick_top()
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        ax.set_title(title, fontsize=fontsize + 1, pad=14 if labels else 4)
    return ax


def draw_grids(arrays, titles=None, highlights=None, paddings=None,
               cell=0.45, fontsize=10, bottom=0.1):
    """Several matrices side by side, sized so cells are equal squares.

    Parameters
    ----------
    arrays : sequence of array_like, each of shape (R_k, C_k)
    titles, highlights, paddings : sequences (one per array), optional
        Passed to :func:`draw_matrix`.
    cell : float
        Cell size in inches.
    fontsize : float
    bottom : float
        Empty margin under the grids, in inches (room for a caption).

    Returns
    -------
    fig : matplotlib Figure
    """
    arrays = [np.asarray(a) for a in arrays]
    n = len(arrays)
    titles = titles or [None] * n
    highlights = highlights or [None] * n
    paddings = paddings or [0] * n
    widths = [a.shape[1] for a in arrays]
    height = max(a.shape[0] for a in arrays)
    gap, left, top = 0.7, 0.35, 0.8
    figw = cell * sum(widths) + gap * (n - 1) + left + 0.1
    figh = cell * height + top + bottom
    fig, axes = plt.subplots(
        1, n, figsize=(figw, figh), squeeze=False,
        gridspec_kw={"width_ratios": widths})
    fig.subplots_adjust(left=left / figw, right=1 - 0.1 / figw,
                        top=1 - top / figh, bottom=bottom / figh,
                        wspace=gap * n / (cell * sum(widths)))
    for ax, a, t, h, p in zip(axes[0], arrays, titles, highlights,
                              paddings):
        draw_matrix(ax, a, h, t, p, fontsize=fontsize)
        ax.set_anchor("N")
    return fig


def step_animation(arrays, steps, titles=None, paddings=None, captions=None,
                   interval=900, cell=0.45):
    """A to_jshtml animation stepping through highlight frames.

    Parameters
    ----------
    arrays : sequence of array_like of shape (R_k, C_k)
    steps : sequence of sequences
        ``steps[t][k]`` is the highlight of ``arrays[k]`` in frame ``t``
        (see :func:`draw_matrix`).
    titles, paddings : sequences, optional
    captions : sequence of str, optional
        One line of text under the grids per frame.
    interval : int
        Milliseconds between frames.
    cell : float
        Cell size in inches.

    Returns
    -------
    IPython.display.HTML
        Plays offline; its element ids are random, so the notebook's nbval
        sanitizer must cover ``to_jshtml`` ids.
    """
    from IPython.display import HTML

    arrays = [np.asarray(a) for a in arrays]
    fig = draw_grids(arrays, titles, None, paddings, cell,
                     bottom=0.45 if captions else 0.1)
    axes = fig.axes

    def frame(t):
        for ax, a, tl, h, p in zip(axes, arrays, titles or [None] * len(
                arrays), steps[t], paddings or [0] * len(arrays)):
            ax.clear()
            draw_matrix(ax, a, h, tl, p)
            ax.set_anchor("N")
        if captions:
            fig.suptitle(captions[t], y=0.02, va="bottom", fontsize=10)
        return axes

    anim = animation.FuncAnimation(fig, frame, frames=len(steps),
                                   interval=interval)
    html = animation_html(anim, alt=captions[0] if captions else
                          "Animation of the highlighted cells, one step "
                          "per frame")
    plt.close(fig)
    return HTML(html)


_CDN_LINK = re.compile(r'<link rel="stylesheet"\s+href="https://[^"]*'
                       r'font-awesome[^"]*">\s*')
# One frame in to_jshtml's player script; base64 lines end in "\" + EOL.
_FRAME = re.compile(r'(?P<head>frames\[(?P<k>\d+)\] = )'
                    r'"data:image/png;base64,(?P<data>[A-Za-z0-9+/=\\\n]*)"')


def _small_frames(html):
    """The frames of a to_jshtml player as palette PNGs, each once.

    A frame equal to an earlier one becomes a reference to it
    (``frames[3] = frames[1]``); the others are re-encoded by
    :func:`cnnbp.png.palette_png` on one base64 line.
    """
    seen = {}

    def frame(match):
        data = base64.b64decode(re.sub(r"[\\\n]", "", match["data"]))
        data = png.palette_png(data)
        if data in seen:
            return f"{match['head']}frames[{seen[data]}]"
        seen[data] = match["k"]
        text = base64.b64encode(data).decode("ascii")
        return f'{match["head"]}"data:image/png;base64,{text}"'

    return _FRAME.sub(frame, html)


def animation_html(anim, alt):
    """``anim.to_jshtml()`` made fit for an offline, accessible page.

    matplotlib's player starts with a Font Awesome stylesheet from a CDN
    that it does not need (its buttons are inline SVG): the link is
    dropped, so nothing is fetched in the book or in JupyterLab. The
    frame image gets ``alt`` text and the frame slider a label. Frames
    are palette PNGs (:func:`cnnbp.png.palette_png`, a third of the
    bytes) and a repeated frame is stored once. The output plays on its
    own (JupyterLab); the book loads its frames on demand
    (``book/_ext/lean_pages.py``).

    Parameters
    ----------
    anim : matplotlib.animation.Animation
    alt : str
        What the animation shows, for a reader who cannot see it.

    Returns
    -------
    str
        HTML that plays the animation once.
    """
    html = _CDN_LINK.sub("", anim.to_jshtml(default_mode="once"))
    html = _small_frames(html)
    html = re.sub(r'<img id="(_anim_img\w+)"',
                  lambda m: f'<img id="{m.group(1)}" alt="{escape(alt)}"',
                  html)
    return re.sub(r'<input id="(_anim_slider\w+)" type="range"',
                  lambda m: f'<input id="{m.group(1)}" type="range" '
                  f'aria-label="animation frame"', html)


def forward_animation(x, w, stride=1, padding=0, dilation=1, interval=900):
    """Animate a window sliding over X^pad, one output cell per frame.

    Parameters
    ----------
    x : array_like of shape (H, W)
    w : array_like of shape (HH, WW)
    stride, padding, dilation : int or (int, int)

    Returns
    -------
    IPython.display.HTML
        Frames highlight exactly :func:`cnnbp.indexmap.forward_terms`;
        O is computed by :func:`cnnbp.conv2d`.
    """
    import cnnbp
    from cnnbp import naive

    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    g = indexmap.conv_geometry(*x.shape, *w.shape, stride, padding,
                               dilation)
    out = cnnbp.conv2d(x[None, None], w[None, None], stride=g.stride,
                       padding=g.padding, dilation=g.dilation)[0, 0]
    steps, captions = [], []
    for i in range(g.H_out):
        for j in range(g.W_out):
            terms = indexmap.forward_terms(g, i, j)
            steps.append([{"in": [(t.u_pad, t.v_pad) for t in terms]},
                          {"f": [(t.m, t.n) for t in terms]},
                          {"cur": [(i, j)]}])
            captions.append(f"O[{i},{j}] = {out[i, j]:g}")
    xname = "$X^{pad}$" if g.padding != (0, 0) else "X"
    return step_animation([naive.pad(x, g.padding), w, out], steps,
                          [xname, "F", "O"], [g.padding, 0, 0], captions,
                          interval)
