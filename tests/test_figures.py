"""cnnbp.figures: animations that play offline and say what they show."""

import base64
import io
import re

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from cnnbp import figures  # noqa: E402


def test_animation_loads_nothing_and_has_alt_text_and_a_labelled_slider():
    html = figures.step_animation([np.arange(4).reshape(2, 2)],
                                  [[None], [[(0, 0)]]],
                                  captions=["first <frame>", "second"]).data
    assert "https://" not in html and "font-awesome" not in html
    assert 'alt="first &lt;frame&gt;"' in html
    assert 'type="range" aria-label="animation frame"' in html


def _frames(html):
    """``{k: base64 PNG or "frames[j]"}`` of a to_jshtml player."""
    found = re.findall(r'frames\[(\d+)\] = (?:"data:image/png;base64,'
                       r'([^"]*)"|(frames\[\d+\]))', html)
    return {int(k): data or ref for k, data, ref in found}


def test_frames_are_palette_pngs_and_a_repeat_is_stored_once():
    grid = np.arange(9).reshape(3, 3)
    html = figures.step_animation(
        [grid], [[{"cur": [(1, 1)]}], [[(0, 0)]], [{"cur": [(1, 1)]}]],
        captions=["centre", "corner", "centre"]).data
    frames = _frames(html)
    assert sorted(frames) == [0, 1, 2]
    assert frames[2] == "frames[0]"
    images = [Image.open(io.BytesIO(base64.b64decode(frames[k])))
              for k in (0, 1)]
    assert [image.mode for image in images] == ["P", "P"]
    assert images[0].size == images[1].size
    assert images[0].tobytes() != images[1].tobytes()
