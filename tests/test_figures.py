"""cnnbp.figures: animations that play offline and say what they show."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from cnnbp import figures  # noqa: E402


def test_animation_loads_nothing_and_has_alt_text_and_a_labelled_slider():
    html = figures.step_animation([np.arange(4).reshape(2, 2)],
                                  [[None], [[(0, 0)]]],
                                  captions=["first <frame>", "second"]).data
    assert "https://" not in html and "font-awesome" not in html
    assert 'alt="first &lt;frame&gt;"' in html
    assert 'type="range" aria-label="animation frame"' in html
