"""book/_ext/lean_pages.py: the page rewrites that cut a page's bytes.

The built book itself is checked in tests/browser (test_page_weight.py,
test_animations.py); these tests pin the rewrites on small inputs.
"""

import io
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from cnnbp import figures  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book"
                       / "_ext"))
import lean_pages  # noqa: E402

PYGMENTS = """\
html[data-theme="light"] .highlight { background: #fefefe; color: #080808 }
html[data-theme="light"] .highlight .n { color: #080808 } /* Name */
html[data-theme="light"] .highlight .p { color: #080808 }
html[data-theme="light"] .highlight .o { color: #00622F } /* Operator */
html[data-theme="light"] .highlight .k { color: #080808; font-weight: bold }
html[data-theme="dark"] .highlight { background: #2b2b2b; color: #F8F8F2 }
html[data-theme="dark"] .highlight .n { color: #F8F8F2 } /* Name */
html[data-theme="dark"] .highlight .p { color: #F8F8F2 }
html[data-theme="dark"] .highlight .o { color: #ABE338 } /* Operator */
html[data-theme="dark"] .highlight .k { color: #F8F8F2; font-weight: bold }
"""
PAGE = """<html><head>
<script src="../_static/documentation_options.js?v=1"></script>
</head><body>{body}</body></html>"""


def test_token_classes_that_look_alike_share_a_style(tmp_path):
    (tmp_path / "pygments.css").write_text(PYGMENTS)
    styles = lean_pages.token_styles(tmp_path)
    assert sorted(styles) == ["k", "n", "o", "p"]
    assert styles["n"] == styles["p"]
    assert len({styles["n"], styles["o"], styles["k"]}) == 3
    # A rule for a second class too leaves the token class alone ...
    (tmp_path / "basic.css").write_text(".sig-param.n{color:red}")
    assert sorted(lean_pages.token_styles(tmp_path)) == ["k", "n", "o", "p"]
    # ... one for the class itself takes it out.
    (tmp_path / "theme.css").write_text(".highlight .n{font-style:italic}")
    assert sorted(lean_pages.token_styles(tmp_path)) == ["k", "o", "p"]


def test_runs_of_look_alike_spans_become_one_span_in_code_only():
    code = ('<div class="highlight"><pre><span></span><span class="n">x'
            '</span><span class="p">,</span> <span class="n">y</span> '
            '<span class="o">=</span> <span class="n">f</span>'
            '<span class="p">(</span><span class="n">a</span>\n'
            '<span class="p">)</span> <span class="n">b</span></pre></div>')
    prose = ('<p><span class="n">kept</span><span class="p">,</span>'
             '</p>')
    styles = {"n": "plain", "p": "plain", "o": "operator"}
    html = lean_pages.merge_tokens(code + prose, styles)
    assert html == (
        '<div class="highlight"><pre><span></span><span class="n">x, y'
        '</span> <span class="o">=</span> <span class="n">f(a\n) b'
        '</span></pre></div>' + prose)
    assert lean_pages.merge_tokens(html, styles) == html
    assert lean_pages.merge_tokens(code, {}) == code


def test_ansi_colour_rules_go_when_no_page_has_ansi_output():
    css = ("div.highlight .-Color-Bold{font-weight:bold}"
           "div.highlight .-Color[class*=-Red]{color:#E75C58}"
           ".cell_output{margin:0}")
    assert lean_pages.cut_unused(css, {"highlight", "cell_output"}) == (
        ".cell_output{margin:0}")
    words = {"highlight", "cell_output", "-Color", "-Color-Bold"}
    assert lean_pages.cut_unused(css, words) == css


def _animation(cells):
    """A one-grid animation highlighting ``cells[k]`` in frame k."""
    steps = [[{"cur": [cell]}] for cell in cells]
    return figures.step_animation([np.arange(4).reshape(2, 2)], steps,
                                  captions=[str(c) for c in cells]).data


def test_animation_frames_become_files_loaded_by_the_player(tmp_path):
    body = (_animation([(0, 0), (1, 1), (0, 0)]) + "<p>text</p>"
            + _animation([(0, 1), (1, 0)]))
    images = tmp_path / "_images"
    html = lean_pages.lazy_animations(PAGE.format(body=body), images,
                                      "../", "animation.js?v=1")
    assert "data:image/png" not in html
    assert "function isInternetExplorer" not in html
    assert html.count('<script src="../_static/animation.js?v=1">') == 1
    assert html.index("animation.js") < html.index("new Animation(")
    frames = re.findall(r'frames\[(\d+)\] = ("[^"]*"|frames\[\d+\])', html)
    assert [k for k, _ in frames] == ["0", "1", "2", "0", "1"]
    assert frames[2][1] == "frames[0]"
    files = sorted(p.name for p in images.iterdir())
    assert len(files) == 4
    urls = [url.strip('"') for _, url in frames if url.startswith('"')]
    assert sorted(url.rsplit("/", 1)[1] for url in urls) == files
    assert all(url.startswith("../_images/anim-") for url in urls)
    srcs = re.findall(r'<img id="_anim_img\w+" src="([^"]+)" alt="', html)
    assert srcs == [urls[0], urls[2]]
    assert all(Image.open(images / name).mode == "P" for name in files)


def test_a_page_without_animation_is_left_alone(tmp_path):
    html = PAGE.format(body="<p>frames[0] = 1</p>")
    assert lean_pages.lazy_animations(html, tmp_path, "../", "a.js") == html
    assert not list(tmp_path.iterdir())


def test_figures_shrink_in_place(tmp_path):
    rng = np.random.default_rng(1)
    colours = np.array([(255, 255, 255), (0, 114, 178), (230, 159, 0)],
                       np.uint8)
    pixels = colours[rng.integers(0, 3, (60, 80))]
    pixels = np.dstack([pixels, np.full((60, 80), 255, np.uint8)])
    out = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(out, "PNG")
    (tmp_path / "fig.png").write_bytes(out.getvalue())
    lean_pages.shrink_images(tmp_path)
    image = Image.open(tmp_path / "fig.png")
    assert image.mode == "P"
    assert (np.asarray(image.convert("RGBA")) == pixels).all()
    assert (tmp_path / "fig.png").stat().st_size < len(out.getvalue())
