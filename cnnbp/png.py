"""Smaller PNG files for the course's flat-coloured figures.

matplotlib writes 32-bit RGBA PNGs. The course's figures are a few flat
fills (the Okabe-Ito palette, white, grey) plus the anti-aliased shades
of text and lines along their edges: a palette of 256 colours holds such
an image to within a few levels (of 255) per channel, in about a third
of the bytes. :func:`palette_png` makes that palette PNG and refuses to
when it would visibly change the picture.

Used by :func:`cnnbp.figures.animation_html` (every frame of an
animation) and by the book's build (``book/_ext/lean_pages.py``, the
figures of every page).
"""

import io

import numpy as np

__all__ = ["palette_png", "TOLERANCE"]

#: Largest change :func:`palette_png` accepts in any channel of any
#: pixel, in levels of 255 (5 %: the course's figures need 0 to 10, on
#: a few anti-aliased edge pixels).
TOLERANCE = 12


def palette_png(data, tolerance=TOLERANCE):
    """A PNG re-encoded with a palette of at most 256 colours.

    An image of at most 256 colours gets exactly its colours; otherwise
    Pillow's maximum-coverage quantizer picks them (it keeps the flat
    fills exact). The result is written with Pillow's ``optimize``.

    Parameters
    ----------
    data : bytes
        A PNG file; its pixels form an array of shape (H, W, 3) or
        (H, W, 4).
    tolerance : int
        Largest change allowed in any channel of any pixel, in levels
        of 255.

    Returns
    -------
    bytes
        The palette PNG, or ``data`` itself if the image is not an
        opaque RGB(A) image (a palette or grey image already, or one with
        transparency), if a pixel would change by more than
        ``tolerance`` or if the palette PNG is not smaller.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> colours = np.array([(230, 159, 0), (86, 180, 233), (255, 255, 255)])
    >>> rng = np.random.default_rng(0)
    >>> pixels = colours[rng.integers(0, 3, (40, 60))].astype(np.uint8)
    >>> out = io.BytesIO()
    >>> Image.fromarray(pixels).save(out, "PNG")
    >>> small = palette_png(out.getvalue())
    >>> Image.open(io.BytesIO(small)).mode
    'P'
    >>> back = np.asarray(Image.open(io.BytesIO(small)).convert("RGB"))
    >>> bool((back == pixels).all())
    True
    """
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    if image.mode not in ("RGB", "RGBA"):
        return data
    pixels = np.asarray(image.convert("RGBA"))
    if (pixels[..., 3] != 255).any():
        return data
    rgb = image.convert("RGB")
    exact = rgb.getcolors(256)
    quantized = rgb.quantize(len(exact) if exact else 256,
                             method=Image.Quantize.MAXCOVERAGE,
                             dither=Image.Dither.NONE)
    back = np.asarray(quantized.convert("RGB"), dtype=np.int16)
    change = np.abs(back - pixels[..., :3].astype(np.int16)).max()
    if change > tolerance:
        return data
    out = io.BytesIO()
    dpi = {"dpi": image.info["dpi"]} if "dpi" in image.info else {}
    quantized.save(out, "PNG", optimize=True, **dpi)
    small = out.getvalue()
    return small if len(small) < len(data) else data
