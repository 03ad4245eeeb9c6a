"""Pages that load light and pass an accessibility audit.

After the build, every HTML page is rewritten (tests/browser/
test_page_weight.py and test_a11y.py check the result):

Weight
  * Font Awesome: the theme loads both its webfont CSS and its 1.5 MB
    SVG-replacing script for about twenty icons. The script is dropped;
    the CSS is cut to the icons the site uses (class names found in the
    pages and scripts, code points found in the other style sheets) and
    its fonts are subset to those glyphs (``_static/cnnbp-icons/``).
    The theme's preloads of the full fonts go too.
  * sphinx-design's style sheet and tab script are dropped from pages
    that use none of its components (no ``sd-`` class).
  * The theme's Bootstrap (209 KB, every component of Bootstrap), its own
    sheet and MyST-NB's keep only the rules whose classes occur somewhere
    in the site's pages or scripts; rules for the states and components
    Bootstrap's script builds at run time (tooltips, dropdowns, collapse,
    fades, ...) are always kept. The cut sheets are new files
    (``_static/cnnbp-icons/cut-*.css``), which the pages then load.
  * MathJax: ``tex-chtml.js`` (1.2 MB, most of it the context menu)
    becomes the startup loader with the TeX input, the CommonHTML
    output and the assistive MathML that screen readers read. Without
    the menu no formula is a tab stop.
  * Class names with a leading hyphen count when cutting a sheet:
    MyST-NB's 30 KB of ANSI colour rules (``.-Color``) go while no
    output is coloured.
  * Figures: every PNG under ``_images`` becomes a palette PNG where it
    looks the same (:func:`cnnbp.png.palette_png`, a third of the
    bytes; the notebooks keep matplotlib's originals).
  * Animations (matplotlib's ``to_jshtml``, whose frames the output
    carries as base64): each frame becomes a file under ``_images``,
    the first is the image's ``src`` and ``_static/animation.js``
    (``book/_css``) replaces the inline player, fetching a frame when it
    is shown and all of them when the animation plays. The page loads
    one frame per animation; the notebook keeps its self-contained
    player for JupyterLab.
  * Code: Pygments writes a span per token. Neighbouring spans of
    classes that look alike in both colour themes (names, punctuation
    and white space, say) become one span; the code reads, looks and
    copies the same.

Quizzes
  * each quiz output carries its own copy of the quiz script and styles
    (JupyterLab needs them inline). In the book, the copies are dropped
    and the page loads the installed cnnbp's ``quiz.js`` and
    ``quiz.css`` once (``_static/cnnbp-quiz/``), so the book always
    runs the current quiz engine whatever version stored the output.

Accessibility (the theme's markup)
  * the search button's and the cell toggles' ``aria-label`` differ
    from their visible text: dropped, so the visible text names them;
  * the bibliography's ``role="list"`` holds back-link anchors that are
    not list items: the role is dropped.

Search
  * Sphinx's search takes a result's snippet from the page's
    ``[role="main"]``, which in this theme holds the page's buttons and
    its previous/next links too: the main role moves from the theme's
    ``<main>`` (now a ``<div>``, same id and class) to the article.
  * section titles holding math reach the search index as raw TeX
    (``dilate \\partial L / \\partial O``): they are stored as text
    (``dilate ∂L/∂O``); a page's own title is listed once, not twice.
"""

import base64
import hashlib
import json
import re
from pathlib import Path

import cnnbp
from cnnbp.png import palette_png

FA_VERSION = "6.5.2"
FOLDER = "cnnbp-icons"
FA_SCRIPT = re.compile(
    r'\s*<script src="[^"]*vendor/fontawesome/[^"]*/js/all\.min\.js[^"]*">'
    r'\s*</script>')
FA_CSS = re.compile(
    r'(?P<pre>href=")(?P<root>[^"]*?)vendor/fontawesome/[^"]*/css/'
    r'all\.min\.css[^"]*"')
FA_PRELOAD = re.compile(
    r'\s*<link rel="preload" as="font"[^>]*vendor/fontawesome/[^>]*/>')
SD_CSS = re.compile(
    r'\s*<link rel="stylesheet" type="text/css" '
    r'href="[^"]*sphinx-design\.min\.css[^"]*" />')
SD_JS = re.compile(r'\s*<script [^>]*src="[^"]*design-tabs\.js[^"]*">'
                   r'\s*</script>')
USES_SD = re.compile(r'class="[^"]*\bsd-')
ICON_CLASS = re.compile(r"\bfa-[a-z0-9-]+")
ICON_RULE = re.compile(r'(?P<sel>[^{}]+)\{content:"(?P<code>[^"]*)"\}')
FONT_FACE = re.compile(r"@font-face\{[^}]*\}")
FONT_URL = re.compile(r"url\(\.\./webfonts/(?P<name>[a-z0-9-]+)\.woff2\)"
                      r' format\("woff2"\),url\([^)]*\) format\("[^"]*"\)')
PRIVATE = re.compile("[\ue000-\uf8ff]")
# Bundles that carry their own copy of Font Awesome's class list.
SKIP = {"fontawesome", "mathjax", "jupyter-widgets"}
ESCAPE = re.compile(r'"\\([ef][0-9a-fA-F]{3})"')

A11Y_FIXES = [
    # The search button reads "Search... Ctrl+K": its text names it.
    (re.compile(r'(<button class="btn search-button-field[^>]*?) '
                r'aria-label="Search"'), r"\1"),
    # "Show code cell source" / "Hide ..." is the toggle's name.
    (re.compile(r'<summary aria-label="Toggle hidden content">'),
     "<summary>"),
    (re.compile(r'<div role="list" class="citation-list">'),
     '<div class="citation-list">'),
]

QUIZ_WEB = Path(cnnbp.__file__).parent / "web"
QUIZ_FOLDER = "cnnbp-quiz"
QUIZ_CSS = re.compile(r"<style>\s*/\* Quizzes written by cnnbp\.quiz.*?"
                      r"</style>", re.S)
QUIZ_JS = re.compile(r"<script>\s*/\*\s*\* The course's quiz engine.*?"
                     r"</script>", re.S)
STATIC_ROOT = re.compile(r'src="(?P<root>[^"]*?)_static/documentation_'
                         r'options\.js')

# matplotlib's to_jshtml player (cnnbp.figures.animation_html).
ANIM_CLASS = re.compile(r'<script language="javascript">(?:(?!</script>).)*?'
                        r"/\* Define the Animation class \*/.*?</script>\s*",
                        re.S)
ANIM_START = re.compile(r'<script language="javascript">\s*/\* Instantiate '
                        r"the Animation class\. \*/.*?</script>", re.S)
ANIM_IMG = re.compile(r'var img_id = "(?P<id>_anim_img\w+)"')
ANIM_FRAME = re.compile(r'(?P<head>frames\[\d+\] = )"data:image/png;base64,'
                        r'(?P<data>[A-Za-z0-9+/=\\\n]*)"')
PLAYER = "animation.js"
ANIM_FILE = re.compile(r"_images/(anim-[0-9a-f]{16}\.png)")

# Code blocks, and the Pygments token spans in them.
CODE_BLOCK = re.compile(r'<div class="highlight"><pre>.*?</pre>', re.S)
TOKEN_SPAN = re.compile(r'<span class="(?P<cls>[\w-]+)">(?P<text>[^<]*)'
                        r"</span>")
THEMED_RULE = re.compile(r'html\[data-theme="(?P<theme>\w+)"\] \.highlight'
                         r"(?: \.(?P<cls>[\w-]+))? \{(?P<body>[^}]*)\}")

MAIN_OPEN = re.compile(r'<main id="main-content" class="bd-main" '
                       r'role="main">')
MAIN_CLOSE = re.compile(r"</main>")
ARTICLE = '<article class="bd-article">'
TEX_WORDS = {
    "times": "×", "cdot": "·", "partial": "∂", "le": "≤", "leq": "≤",
    "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "to": "→",
    "sum": "Σ", "infty": "∞", "approx": "≈", "pm": "±", "ldots": "…",
    "dots": "…", "circ": "∘", "odot": "⊙", "ast": "∗", "star": "⋆",
    "bmod": "mod", "mod": "mod", "lfloor": "⌊", "rfloor": "⌋",
    "lceil": "⌈", "rceil": "⌉", "eta": "η", "sigma": "σ", "mu": "μ",
    "delta": "δ", "Delta": "Δ", "alpha": "α", "beta": "β",
    "gamma": "γ", "epsilon": "ε", "lambda": "λ", "theta": "θ",
}
INDEX = re.compile(r"^(?P<head>[^(]*\()(?P<data>.*)(?P<tail>\);?\s*)$", re.S)

# Style sheets cut to the rules the site can use (the theme's Bootstrap,
# the theme's own and MyST-NB's).
CUT_SHEETS = ["styles/bootstrap.css", "styles/pydata-sphinx-theme.css",
              "mystnb.*.css"]
# Classes Bootstrap's script assembles or toggles at run time.
RUNTIME_CLASSES = re.compile(
    r"tooltip|popover|dropdown|collaps|show|fade|modal|offcanvas|bs-|"
    r"active|disabled|was-validated|is-|focus|hover")
WORD = re.compile(r"[A-Za-z0-9_-]+")
CSS_CLASS = re.compile(r"\.(-?[A-Za-z_][A-Za-z0-9_-]*)")

MATHJAX_LOAD = ["input/tex", "output/chtml", "a11y/assistive-mml"]


def lean_mathjax(app):
    """Load MathJax's parts instead of its menu-carrying bundle."""
    app.config.mathjax_path = "mathjax/startup.js"
    config = dict(app.config.mathjax3_config or {})
    loader = dict(config.get("loader", {}))
    loader["load"] = MATHJAX_LOAD
    config["loader"] = loader
    app.config.mathjax3_config = config


def icon_codes(css, used):
    """Code points of the icon classes in ``used``, per ``all.min.css``."""
    codes = set()
    for match in ICON_RULE.finditer(css):
        names = {s.strip()[1:].split(":")[0]
                 for s in match.group("sel").split(",")}
        code = match.group("code")
        if names & used and code.startswith("\\"):
            codes.add(int(code[1:], 16))
    return codes


def cut_css(css, used, fonts):
    """``all.min.css`` without unused icon rules, fonts renamed."""

    def rule(match):
        keep = [s for s in match.group("sel").split(",")
                if s.strip()[1:].split(":")[0] in used]
        if not keep:
            return ""
        return ",".join(keep) + "{content:\"" + match.group("code") + "\"}"

    def face(match):
        block = match.group(0)
        name = FONT_URL.search(block)
        if name is None or name.group("name") not in fonts:
            return ""
        return FONT_URL.sub(
            lambda m: f'url({fonts[m.group("name")]}) format("woff")',
            block)

    css = ICON_RULE.sub(rule, css)
    return FONT_FACE.sub(face, css)


def subset_font(source, codes, target):
    """Write a WOFF of ``source`` holding only ``codes``; False if none."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(source)
    present = set(font.getBestCmap()) & codes
    if not present:
        return False
    options = subset.Options()
    options.flavor = "woff"
    options.layout_features = ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(present))
    subsetter.subset(font)
    font.flavor = "woff"
    font.save(target)
    return True


def build_icons(static):
    """Write the cut icon CSS and fonts; returns the CSS path."""
    fa = static / "vendor" / "fontawesome" / FA_VERSION
    css = (fa / "css" / "all.min.css").read_text(encoding="utf-8")
    outdir = static.parent
    used = set()
    for page in outdir.rglob("*.html"):
        used |= set(ICON_CLASS.findall(page.read_text(encoding="utf-8")))
    codes = set()
    for path in static.rglob("*"):
        if SKIP & set(path.parts):
            continue
        if path.suffix == ".js":
            used |= set(ICON_CLASS.findall(
                path.read_text(encoding="utf-8", errors="ignore")))
        elif path.suffix == ".css" and FOLDER not in path.parts:
            text = path.read_text(encoding="utf-8", errors="ignore")
            codes |= {ord(c) for c in PRIVATE.findall(text)}
            codes |= {int(c, 16) for c in ESCAPE.findall(text)}
    codes |= icon_codes(css, used)
    target = static / FOLDER
    target.mkdir(exist_ok=True)
    for stale in target.glob("icons-*.css"):
        stale.unlink()
    fonts = {}
    for ttf in sorted((fa / "webfonts").glob("*.ttf")):
        woff = target / f"{ttf.stem}.woff"
        if subset_font(ttf, codes, woff):
            fonts[ttf.stem] = woff.name
    text = cut_css(css, used, fonts)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    path = target / f"icons-{digest}.css"
    path.write_text(text, encoding="utf-8")
    return path


def css_blocks(css):
    """Top-level ``(prelude, body)`` pairs of a style sheet."""
    blocks = []
    start = 0
    while True:
        brace = css.find("{", start)
        if brace < 0:
            return blocks
        depth, end = 1, brace + 1
        while depth:
            depth += {"{": 1, "}": -1}.get(css[end], 0)
            end += 1
        blocks.append((css[start:brace].strip(), css[brace + 1:end - 1]))
        start = end


def cut_unused(css, words):
    """``css`` without the rules no element of the site can match.

    A selector is kept if each of its classes is a word of the site's
    pages or scripts (``words``) or a run-time class (``RUNTIME_CLASSES``).
    """

    def keep(selector):
        return all(name in words or RUNTIME_CLASSES.search(name)
                   for name in CSS_CLASS.findall(selector))

    out = []
    for prelude, body in css_blocks(css):
        if prelude.startswith(("@media", "@supports", "@layer")):
            inner = cut_unused(body, words)
            if inner:
                out.append(f"{prelude}{{{inner}}}")
        elif prelude.startswith("@"):
            out.append(f"{prelude}{{{body}}}")
        else:
            selectors = [s for s in prelude.split(",") if keep(s)]
            if selectors:
                out.append(",".join(selectors) + "{" + body + "}")
    return "".join(out)


def site_words(outdir):
    """Every word of the site's pages and scripts (not MathJax's)."""
    words = set()
    for path in outdir.rglob("*"):
        if path.suffix not in (".html", ".js") or "mathjax" in path.parts:
            continue
        words |= set(WORD.findall(path.read_text(encoding="utf-8",
                                                 errors="ignore")))
    return words


def build_sheets(static, words):
    """Write the cut theme sheets; returns ``{original: cut}`` names."""
    target = static / FOLDER
    for stale in target.glob("cut-*.css"):
        stale.unlink()
    names = {}
    for source in CUT_SHEETS:
        found = sorted(static.glob(source))
        if not found:
            continue
        css = re.sub(r"/\*.*?\*/", "",
                     found[0].read_text(encoding="utf-8"), flags=re.S)
        text = cut_unused(css, words)
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        name = f"cut-{found[0].stem.split('.')[0]}-{digest}.css"
        (target / name).write_text(text, encoding="utf-8")
        names[found[0].relative_to(static).as_posix()] = f"{FOLDER}/{name}"
    return names


def tex_to_text(title):
    """A section title's TeX as plain text, e.g. for the search index.

    >>> tex_to_text(r"Stride s > 1: dilate \\partial L / \\partial O")
    'Stride s > 1: dilate ∂L / ∂O'
    >>> tex_to_text(r"when k \\bmod s \\ne 0")
    'when k mod s ≠ 0'
    """
    text = re.sub(r"\\(?:mathrm|mathbf|text|operatorname)\{([^}]*)\}",
                  r"\1", title)
    text = re.sub(r"\\([A-Za-z]+)",
                  lambda m: f" {TEX_WORDS.get(m.group(1), m.group(1))} ",
                  text)
    text = re.sub(r"\\[,;:! ]", " ", text)
    text = text.replace("{", "").replace("}", "").replace("\\", "")
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"∂ (?=\w)", "∂", text)
    return re.sub(r"(\S) ([,.:;)])", r"\1\2", text)


def clean_search_index(path):
    """Store the index's section titles without TeX."""
    if not path.exists():
        return
    match = INDEX.match(path.read_text(encoding="utf-8"))
    if match is None:
        return
    index = json.loads(match.group("data"))
    page_titles = [re.sub(r"<[^>]+>|^\s*[\d.]+\s*", "",
                          re.sub(r"<span class=\"section-number\">"
                                 r"[^<]*</span>", "", title)).strip()
                   for title in index.get("titles", [])]
    titles = {}
    for title, places in index.get("alltitles", {}).items():
        key = tex_to_text(title) if "\\" in title else title
        # A page's own title is found through its title words already;
        # listed again here it shows as "3. Stride" and "3. Stride >
        # Stride".
        kept = [[doc, anchor] for doc, anchor in places
                if not (anchor is None and doc < len(page_titles)
                        and page_titles[doc] in (title, key))]
        if kept:
            titles.setdefault(key, []).extend(kept)
    index["alltitles"] = titles
    path.write_text(match.group("head")
                    + json.dumps(index, ensure_ascii=False,
                                 separators=(",", ":"))
                    + match.group("tail"), encoding="utf-8")


def write_quiz_assets(static):
    """Copy the quiz engine once; returns the names under ``_static``."""
    target = static / QUIZ_FOLDER
    target.mkdir(exist_ok=True)
    names = []
    for suffix in ("js", "css"):
        text = (QUIZ_WEB / f"quiz.{suffix}").read_text(encoding="utf-8")
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        name = f"quiz-{digest}.{suffix}"
        for stale in target.glob(f"quiz-*.{suffix}"):
            if stale.name != name:
                stale.unlink()
        (target / name).write_text(text, encoding="utf-8")
        names.append(f"{QUIZ_FOLDER}/{name}")
    return names


def lift_quizzes(html, quiz_js, quiz_css):
    """Inline quiz engines replaced by one link and one script.

    The script goes at the end of the body, outside every quiz, so it
    starts all of the page's quizzes once the page is parsed.
    """
    if "cnnbp-quiz" not in html:
        return html
    root = STATIC_ROOT.search(html)
    if root is None:
        return html
    static = root.group("root") + "_static/"
    html = QUIZ_JS.sub("", html)
    html = QUIZ_CSS.sub("", html)
    link = f'<link rel="stylesheet" href="{static}{quiz_css}" />\n'
    html = html.replace("</head>", link + "</head>", 1)
    script = f'<script src="{static}{quiz_js}"></script>\n'
    head, sep, tail = html.rpartition("</body>")
    return head + script + sep + tail if sep else html


def declarations(body):
    """``{property: value}`` of a rule's body, spaces normalised."""
    pairs = (part.split(":", 1) for part in body.split(";") if ":" in part)
    return {name.strip(): " ".join(value.split()) for name, value in pairs}


def token_styles(static):
    """``{class: style}`` of the Pygments token classes of the code.

    ``style`` is the class's declarations in each colour theme of
    ``pygments.css`` (``html[data-theme=...] .highlight .cls`` rules);
    two classes with equal styles look the same. A class some other
    rule could apply to (in ``pygments.css`` or another style sheet of
    the site, unless that rule asks for a second class too) is left
    out.
    """
    path = static / "pygments.css"
    if not path.exists():
        return {}
    css = path.read_text(encoding="utf-8")
    rules = {}
    for match in THEMED_RULE.finditer(css):
        if match["cls"] is not None:
            rules.setdefault(match["cls"], []).append(
                (match["theme"], tuple(sorted(
                    declarations(match["body"]).items()))))
    others = [sheet.read_text(encoding="utf-8", errors="ignore")
              for sheet in static.rglob("*.css")
              if sheet != path and not SKIP & set(sheet.parts)]
    styles = {}
    for name, found in rules.items():
        if (selectors_for(name, css) == len(found)
                and not any(selectors_for(name, text) for text in others)):
            styles[name] = tuple(sorted(found))
    return styles


def selectors_for(name, css):
    """How many selectors of ``css`` name class ``name`` without a
    second class (``.highlight .n`` does, ``.sig-param.n`` does not)."""
    named = re.compile(r"(?P<before>\.[\w-]+)?\." + re.escape(name)
                       + r"(?![\w-])(?P<after>\.[\w-])?")
    return sum(1 for match in named.finditer(css)
               if not (match["before"] or match["after"]))


def merge_tokens(html, styles):
    """Code blocks with each run of look-alike token spans as one span.

    Neighbouring spans of classes with equal ``styles`` (names and
    punctuation, say), with at most white space between them, become
    one span of the first class: the code reads and looks the same in
    fewer bytes.
    """
    if not styles:
        return html

    def block(match):
        code = match.group(0)
        out, run, last = [], None, 0
        for span in TOKEN_SPAN.finditer(code):
            between = code[last:span.start()]
            style = styles.get(span["cls"])
            if (run and style is not None and style == run[0]
                    and not between.strip()):
                run[2] += between + span["text"]
            else:
                if run:
                    out.append(f'<span class="{run[1]}">{run[2]}</span>')
                out.append(between)
                run = [style, span["cls"], span["text"]]
            last = span.end()
        if run:
            out.append(f'<span class="{run[1]}">{run[2]}</span>')
        out.append(code[last:])
        return "".join(out)

    return CODE_BLOCK.sub(block, html)


def shrink_images(images):
    """Each PNG under ``images`` as a palette PNG where it looks the same.

    The chapters' figures are matplotlib's 32-bit PNGs; the notebooks
    keep them so (JupyterLab shows them as stored), the book serves
    :func:`cnnbp.png.palette_png` of each, about a third of the bytes.
    """
    for path in sorted(images.glob("*.png")):
        data = path.read_bytes()
        small = palette_png(data)
        if small is not data:
            path.write_bytes(small)


def lazy_animations(html, images, root, player):
    """A page's to_jshtml animations with their frames in files.

    Each base64 frame becomes ``_images/anim-<hash>.png`` (a palette PNG)
    and the player's frame list holds its address; the first frame is
    the ``<img>``'s ``src``, so it shows as the page loads. The inline
    player class, which would fetch every frame at once, is replaced by
    ``_static/animation.js`` (book/_css), which fetches a frame when it
    is shown and all of them when the animation plays.

    Parameters
    ----------
    html : str
    images : Path
        The site's ``_images`` folder.
    root : str
        The site root relative to the page, e.g. ``"../"``.
    player : str
        The player script's address under ``_static``.

    Returns
    -------
    str
        ``html`` itself if it holds no animation whose class can be
        replaced.
    """
    if not ANIM_CLASS.search(html):
        return html
    images.mkdir(exist_ok=True)
    first = {}

    def frame(match):
        data = palette_png(base64.b64decode(re.sub(r"[\\\n]", "",
                                                   match["data"])))
        name = f"anim-{hashlib.sha256(data).hexdigest()[:16]}.png"
        (images / name).write_bytes(data)
        return f'{match["head"]}"{root}_images/{name}"'

    def start(match):
        script = ANIM_FRAME.sub(frame, match.group(0))
        img = ANIM_IMG.search(script)
        url = re.search(r'frames\[0\] = "([^"]*)"', script)
        if img and url:
            first[img["id"]] = url.group(1)
        return script

    html = ANIM_START.sub(start, html)
    for img_id, url in first.items():
        html = html.replace(f'<img id="{img_id}"',
                            f'<img id="{img_id}" src="{url}"', 1)
    tag = f'<script src="{root}_static/{player}"></script>\n'
    parts = ANIM_CLASS.split(html)
    return parts[0] + tag + "".join(parts[1:])


def rewrite(html, icons_name, quiz=("", ""), sheets=None):
    """One page with the heavy assets swapped and the a11y fixes."""
    for original, cut in (sheets or {}).items():
        html = re.sub(r'href="([^"]*?)_static/' + re.escape(original)
                      + r'[^"]*"', lambda m: f'href="{m.group(1)}_static/'
                      f'{cut}"', html)
    if quiz[0]:
        html = lift_quizzes(html, *quiz)
    html = FA_SCRIPT.sub("", html)
    html = FA_PRELOAD.sub("", html)
    html = FA_CSS.sub(lambda m: (f'{m.group("pre")}{m.group("root")}'
                                 f'{FOLDER}/{icons_name}"'), html)
    if not USES_SD.search(html):
        html = SD_CSS.sub("", html)
        html = SD_JS.sub("", html)
    for pattern, replacement in A11Y_FIXES:
        html = pattern.sub(replacement, html)
    if ARTICLE in html and MAIN_OPEN.search(html):
        html = MAIN_OPEN.sub('<div id="main-content" class="bd-main">',
                             html, count=1)
        html = MAIN_CLOSE.sub("</div>", html, count=1)
        html = html.replace(ARTICLE, '<article class="bd-article" '
                            'role="main">', 1)
    return html


def player_name(static):
    """``animation.js?v=<hash>`` if the player is in ``static``, else ""."""
    path = static / PLAYER
    if not path.exists():
        return ""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    return f"{PLAYER}?v={digest}"


def finish(app, exception):
    """Rewrite every page once the build has written them."""
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    icons = build_icons(outdir / "_static")
    quiz = write_quiz_assets(outdir / "_static")
    sheets = build_sheets(outdir / "_static", site_words(outdir))
    styles = token_styles(outdir / "_static")
    images = outdir / "_images"
    shrink_images(images)
    player = player_name(outdir / "_static")
    frames = set()
    for page in outdir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        text = merge_tokens(text, styles)
        root = STATIC_ROOT.search(text)
        if player and root:
            text = lazy_animations(text, images, root.group("root"),
                                   player)
        page.write_text(rewrite(text, icons.name, quiz, sheets),
                        encoding="utf-8")
        frames |= set(ANIM_FILE.findall(text))
    # Frames of animations no page shows any more (incremental builds).
    for stale in images.glob("anim-*.png"):
        if stale.name not in frames:
            stale.unlink()
    clean_search_index(outdir / "searchindex.js")


def setup(app):
    """Register the hooks."""
    app.connect("builder-inited", lean_mathjax, priority=900)
    app.connect("build-finished", finish, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
