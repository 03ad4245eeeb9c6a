"""cnnbp.png: palette PNGs that look like matplotlib's originals."""

import doctest
import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from cnnbp import figures, png  # noqa: E402


def _png(fig):
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=100)
    plt.close(fig)
    return out.getvalue()


def _pixels(data):
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"),
                      dtype=np.int16)


def test_a_course_figure_shrinks_and_looks_the_same():
    x = np.arange(16).reshape(4, 4)
    data = _png(figures.draw_grids(
        [x, x[:2, :2], x[:3, :3] - 4.5],
        ["X", "F", "O"], [{"in": [(0, 0), (1, 1)]}, {"f": [(0, 1)]},
                          {"cur": [(2, 2)], "g": [(0, 0)]}]))
    small = png.palette_png(data)
    image = Image.open(io.BytesIO(small))
    assert image.mode == "P"
    assert len(small) < 0.6 * len(data)
    change = np.abs(_pixels(small) - _pixels(data)).max()
    assert change <= png.TOLERANCE
    assert image.info["dpi"] == Image.open(io.BytesIO(data)).info["dpi"]


def test_a_plot_with_many_shades_stays_within_the_tolerance():
    fig, ax = plt.subplots(figsize=(4, 3))
    t = np.linspace(0, 6, 200)
    for k in range(5):
        ax.plot(t, np.sin(t + k), lw=1.5)
    ax.set_title("five curves")
    data = _png(fig)
    assert len(Image.open(io.BytesIO(data)).convert("RGB").getcolors(
        1 << 24)) > 256
    small = png.palette_png(data)
    assert len(small) <= len(data)
    change = np.abs(_pixels(small) - _pixels(data)).max()
    assert change <= png.TOLERANCE


def _encode(pixels):
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


def test_noise_transparency_and_palettes_are_left_alone():
    rng = np.random.default_rng(0)
    noise = _encode(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    assert png.palette_png(noise) is noise
    clear = np.full((20, 30, 4), 255, np.uint8)
    clear[5:10, 5:10, 3] = 0
    transparent = _encode(clear)
    assert png.palette_png(transparent) is transparent
    flat = np.zeros((20, 30, 3), np.uint8)
    flat[:, 10:] = (0, 114, 178)
    out = io.BytesIO()
    Image.fromarray(flat).convert("P").save(out, "PNG")
    palette = out.getvalue()
    assert png.palette_png(palette) is palette


def test_docstring_examples():
    assert doctest.testmod(png).failed == 0
