"""Load, check and show the chapter quizzes (jupyterquiz's data format).

Quiz data lives in ``cnnbp/quizzes/<chapter-stem>.json``; the format is
described in ``cnnbp/quizzes/README.md``. A chapter shows its quiz with a
cell tagged ``remove-input``::

    from cnnbp import quiz
    quiz.show("03_stride")

``validate`` is what ``tests/test_quizzes.py`` runs on every file: it
checks the structure jupyterquiz needs and evaluates every ``check``
expression with cnnbp, so a quiz cannot state a wrong answer.
Run ``python -m cnnbp.quiz STEM`` to validate one file while writing it.
"""

import ast
import hashlib
import html
import json
import math
import re
import string
import sys
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources

import numpy as np

__all__ = ["chapters", "load", "show", "render", "plain_text", "validate",
           "check_namespace", "notebook_quizzes", "Quiz", "QuizError"]

TYPES = ("multiple_choice", "many_choice", "numeric")
EXTRA_KEYS = ("id", "check")
ANSWER_EXTRA_KEYS = ("value",)
QUESTION_KEYS = {"id", "type", "question", "code", "answers", "check",
                 "precision", "answer_cols"}
MC_ANSWER_KEYS = {"answer", "correct", "feedback", "code", "value"}
NUMERIC_ANSWER_KEYS = {"type", "value", "range", "correct", "feedback"}
ALLOWED_TAGS = {"b", "i", "em", "strong", "code", "sub", "sup", "br"}
MIN_WRONG_FEEDBACK = 20
REL_TOL = 1e-9

# times each quiz was shown in this kernel: keeps repeated ids distinct
_shown = {}


class QuizError(ValueError):
    """A quiz file breaks the format; the message names the question."""


def chapters():
    """Stems of every chapter that has a quiz file, sorted.

    Returns
    -------
    list of str
        e.g. ``["09_maxpool", "11_training"]``.
    """
    folder = resources.files("cnnbp").joinpath("quizzes")
    return sorted(p.name[:-5] for p in folder.iterdir()
                  if p.name.endswith(".json"))


def load(chapter):
    """Questions of one chapter, as stored (with ``id`` and ``check``).

    Parameters
    ----------
    chapter : str
        Notebook stem, e.g. ``"03_stride"``.

    Returns
    -------
    list of dict
    """
    path = resources.files("cnnbp").joinpath("quizzes", f"{chapter}.json")
    if not path.is_file():
        raise FileNotFoundError(
            f"no quiz file cnnbp/quizzes/{chapter}.json; "
            f"quiz files exist for: {', '.join(chapters())}")
    with path.open(encoding="utf-8") as fh:
        try:
            questions = json.load(fh)
        except json.JSONDecodeError as err:
            raise QuizError(f"{chapter}.json is not valid JSON: {err}")
    if not isinstance(questions, list):
        raise QuizError(f"{chapter}.json must hold a JSON list of questions")
    return questions


def strip(questions):
    """Copies of the questions without the keys jupyterquiz does not know.

    Parameters
    ----------
    questions : list of dict

    Returns
    -------
    list of dict
        Without ``id``, ``check`` and the answers' ``value`` (MC only).
    """
    out = []
    for q in questions:
        clean = {k: v for k, v in q.items() if k not in EXTRA_KEYS}
        if q.get("type") != "numeric":
            clean["answers"] = [
                {k: v for k, v in a.items() if k not in ANSWER_EXTRA_KEYS}
                for a in q.get("answers", [])]
        out.append(clean)
    return out


def select(questions, ids):
    """The questions with the given ids, in the order of ``ids``."""
    by_id = {q.get("id"): q for q in questions}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise KeyError(f"no question with id {missing}; "
                       f"known ids: {sorted(by_id)}")
    return [by_id[i] for i in ids]


_TEX_WORDS = {
    r"\times": "×", r"\cdot": "·", r"\partial": "∂", r"\le": "≤",
    r"\leq": "≤", r"\ge": "≥", r"\geq": "≥", r"\ne": "≠",
    r"\neq": "≠", r"\to": "→", r"\sum": "Σ", r"\infty": "∞",
    r"\lfloor": "⌊", r"\rfloor": "⌋", r"\lceil": "⌈", r"\rceil": "⌉",
    r"\approx": "≈", r"\pm": "±", r"\eta": "η", r"\sigma": "σ",
    r"\mu": "μ", r"\ldots": "…", r"\dots": "…", r"\circ": "∘",
}


def _quiz_html(text):
    """Quiz text as HTML: ``$...$`` as ``\\(...\\)``, ``$$...$$`` as
    ``\\[...\\]`` and ```code``` as ``<code>code</code>``.

    MathJax 3 in the book and JupyterLab's MathJax both typeset these
    delimiters; ``\\$`` stays a dollar sign.
    """
    text = re.sub(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$", r"\\[\1\\]", text,
                  flags=re.S)
    text = re.sub(r"(?<!\\)\$(.+?)(?<!\\)\$", r"\\(\1\\)", text,
                  flags=re.S)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def plain_text(text):
    """What a screen reader should say for a quiz string: tags dropped,
    TeX turned into readable characters.

    >>> plain_text(r"$7 \\times 7$ <b>cells</b>")
    '7 × 7 cells'
    """
    def tex(match):
        body = match.group(1)
        body = re.sub(r"\\(?:mathrm|mathbf|text|operatorname)\{([^}]*)\}",
                      r"\1", body)
        body = re.sub(r"\\frac\{([^}]*)\}\{([^}]*)\}", r"(\1)/(\2)",
                      body)
        body = re.sub(r"\\[a-zA-Z]+",
                      lambda m: _TEX_WORDS.get(m.group(0), ""), body)
        body = re.sub(r"\\[,;:! ]", " ", body)
        return body.replace("{", "").replace("}", "").replace("\\", "")
    text = re.sub(r"(?<!\\)\$\$?(.+?)(?<!\\)\$?\$", tex, text,
                  flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    text = text.replace("`", "").replace("\\$", "$")
    return " ".join(text.split())


def _asset(name):
    return resources.files("cnnbp").joinpath("web", name).read_text(
        encoding="utf-8")


def _div_id(key):
    """12 letters derived from ``key``: stable across runs (nbval)."""
    digest = hashlib.sha256(key.encode()).digest()
    letters = string.ascii_letters
    return "".join(letters[b % len(letters)] for b in digest[:12])


def _code_block(code):
    return (f'<div class="QuizCode"><pre><code>{html.escape(code)}'
            f'</code></pre></div>')


def _feedback_box(feedbacks):
    """The feedback area: every feedback text, hidden until chosen."""
    parts = "".join(
        f'<div class="cq-fb" data-fb="{k}" hidden="hidden">{_quiz_html(fb)}'
        f'</div>' for k, fb in feedbacks)
    return ('<div class="Feedback" role="status" aria-live="polite">'
            '<span class="cq-verdict"></span>' + parts
            + '<span class="cq-count" hidden="hidden"></span></div>')


def _render_choice(q, qid):
    buttons = []
    for k, a in enumerate(q["answers"]):
        text = a.get("answer", "")
        label = ""
        if "$" in text:
            label = f' aria-label="{html.escape(plain_text(text))}"'
        code = _code_block(a["code"]) if "code" in a else ""
        buttons.append(
            f'<button type="button" class="MCButton" aria-pressed="false" '
            f'data-correct="{str(bool(a["correct"])).lower()}" '
            f'data-fb="{k}" data-feedback="{html.escape(a["feedback"])}"'
            f'{label}><span>{_quiz_html(text)}</span>{code}</button>')
    cols = q.get("answer_cols", 2)
    n_correct = sum(bool(a["correct"]) for a in q["answers"])
    attrs = f'data-ncorrect="{n_correct}"'
    inner = (f'<div class="QuizAnswers" role="group" aria-labelledby="{qid}" '
             f'style="--cq-cols: {cols}">' + "".join(buttons) + "</div>")
    return attrs, inner


def _render_numeric(q, qid):
    answers = []
    for a in q["answers"]:
        keep = {k: a[k] for k in ("type", "value", "range", "correct")
                if k in a}
        answers.append(keep)
    box = f"{qid}-in"
    attrs = (f'data-answers="{html.escape(json.dumps(answers))}" '
             f'data-precision="{q.get("precision", 0)}"')
    inner = (f'<div class="cq-numeric"><label for="{box}">Your answer'
             f'</label><input class="Input-text" id="{box}" type="text" '
             f'inputmode="decimal" autocomplete="off" spellcheck="false">'
             f'<button type="button" class="cq-check">Check</button></div>')
    return attrs, inner


def render(questions, div_id, shuffle_answers=True):
    """The HTML of a quiz: every question, answer and feedback, plus the
    course's quiz script and styles (``cnnbp/web/quiz.js``, ``quiz.css``).

    Parameters
    ----------
    questions : list of dict
        As stored (see ``cnnbp/quizzes/README.md``).
    div_id : str
        Id of the quiz's root element; question ids derive from it.
    shuffle_answers : bool
        Shuffle multiple-choice answers when the page loads.

    Returns
    -------
    str
    """
    n = len(questions)
    parts = [f'<div class="cnnbp-quiz mathjax_process" id="{div_id}" '
             f'data-shuffleanswers="{shuffle_answers}">',
             f"<style>{_asset('quiz.css')}</style>",
             f'<p class="cq-norun">Quiz, {n} question{"s" * (n != 1)}: '
             f'run this cell to answer {"them" if n != 1 else "it"} here '
             f'(in the book, the quiz works as you read).</p>']
    for k, q in enumerate(questions):
        qid = f"{div_id}-q{k}"
        render_answers = (_render_numeric if q["type"] == "numeric"
                          else _render_choice)
        attrs, answers = render_answers(q, qid)
        code = _code_block(q["code"]) if "code" in q else ""
        feedback = _feedback_box((j, a["feedback"])
                                 for j, a in enumerate(q["answers"]))
        parts.append(
            f'<div class="Quiz" data-type="{q["type"]}" '
            f'data-qid="{q.get("id", k)}" {attrs}>'
            f'<div class="QuizQuestion" id="{qid}">'
            f'{_quiz_html(q["question"])}</div>'
            f'{code}{answers}{feedback}</div>')
    parts.append(f"<script>{_asset('quiz.js')}</script></div>")
    return "".join(parts)


class Quiz:
    """A displayable quiz (``_repr_html_``); see :func:`show`."""

    def __init__(self, questions, div_id):
        self.questions = questions
        self.div_id = div_id

    def __repr__(self):
        n = len(self.questions)
        return (f"Quiz with {n} question{'s' * (n != 1)}: run this cell in "
                f"Jupyter, or read the book, to answer.")

    def _repr_html_(self):
        return render(self.questions, self.div_id)


def show(chapter, ids=None):
    """Display a chapter's quiz (call it in a cell tagged
    ``remove-input``).

    The output is one HTML block that holds every question, answer and
    feedback text (so the book's MathJax and JupyterLab's typeset them
    like any other math on the page) and a small script that shuffles the
    answers and grades them. Nothing is fetched. The root id derives from
    ``chapter`` and ``ids``, so the stored output is the same on every run
    (nbval).

    Parameters
    ----------
    chapter : str
        Notebook stem, e.g. ``"03_stride"``.
    ids : list of str, optional
        Show only these questions, in this order. Default: all.

    Returns
    -------
    Quiz
        Displayed by Jupyter as the cell's result.
    """
    questions = load(chapter)
    if ids is not None:
        questions = select(questions, list(ids))
    key = f"{chapter}:{','.join(q['id'] for q in questions)}"
    _shown[key] = _shown.get(key, 0) + 1
    return Quiz(questions, _div_id(f"{key}:{_shown[key]}"))


def _show_calls(source):
    """(chapter, ids) of each ``show("stem", ids=[...])`` call in code."""
    lines = [ln for ln in source.splitlines()
             if not ln.lstrip().startswith(("%", "!"))]
    calls = []
    for node in ast.walk(ast.parse("\n".join(lines))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = getattr(node.func, "attr", getattr(node.func, "id", None))
        if name != "show":
            continue
        ids = None
        if len(node.args) > 1:
            ids = ast.literal_eval(node.args[1])
        for kw in node.keywords:
            if kw.arg == "ids":
                ids = ast.literal_eval(kw.value)
        calls.append((node.lineno, node.col_offset,
                      ast.literal_eval(node.args[0]), ids))
    return [(chapter, ids) for _, _, chapter, ids in sorted(calls)]


def notebook_quizzes(path):
    """The quizzes a chapter notebook shows, in page order.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.ipynb`` file.

    Returns
    -------
    list of dict
        One per ``quiz.show`` call: ``chapter``, ``ids`` (the question ids
        shown, in order), ``questions`` (as stored) and the cell's
        ``tags``.
    """
    with open(path, encoding="utf-8") as fh:
        nb = json.load(fh)
    found = []
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] != "code" or "show(" not in src:
            continue
        for chapter, ids in _show_calls(src):
            questions = load(chapter)
            if ids is not None:
                questions = select(questions, list(ids))
            found.append({"chapter": chapter,
                          "ids": [q["id"] for q in questions],
                          "questions": questions,
                          "tags": cell.get("metadata", {}).get("tags", [])})
    return found


def _arange(*shape):
    return np.arange(math.prod(shape), dtype=float).reshape(shape)


def check_namespace():
    """Names available to ``check`` expressions.

    Returns
    -------
    dict
    """
    import cnnbp
    from cnnbp import gradcheck, naive

    ns = {"np": np, "cnnbp": cnnbp, "naive": naive, "gradcheck": gradcheck,
          "rng": np.random.default_rng, "arange": _arange,
          "math": math}
    for name in ("output_size", "conv2d", "conv2d_backward", "maxpool2d",
                 "maxpool2d_backward", "relu", "relu_backward", "im2col",
                 "col2im"):
        ns[name] = getattr(cnnbp, name)
    return ns


def evaluate(expr, where):
    """Evaluate one ``check`` expression; errors name the question."""
    if not isinstance(expr, str) or not expr.strip():
        raise QuizError(f"{where}: 'check' must be a non-empty string")
    try:
        return eval(expr, check_namespace())
    except Exception as err:
        raise QuizError(f"{where}: check {expr!r} raised "
                        f"{type(err).__name__}: {err}") from err


def js_to_precision(x, digits):
    """``Number(x).toPrecision(digits)`` as JavaScript computes it.

    JavaScript rounds the exact binary value half away from zero; Python's
    ``format(x, ".3g")`` rounds half to even, so it is not used here.
    """
    d = Decimal(float(x))
    if d == 0:
        return 0.0
    exp = d.adjusted() - digits + 1
    return float(d.quantize(Decimal(1).scaleb(exp), rounding=ROUND_HALF_UP))


def _normalise(value):
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return tuple(_normalise(v) for v in value)
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    return value


def _same(a, b):
    a, b = _normalise(a), _normalise(b)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(map(_same, a, b))
    numbers = (int, float)
    if (isinstance(a, numbers) and isinstance(b, numbers)
            and not isinstance(a, bool) and not isinstance(b, bool)):
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-12)
    return a == b


def _is_number(x):
    return (isinstance(x, (int, float)) and not isinstance(x, bool)
            and math.isfinite(x))


def _check_text(text, where):
    if not isinstance(text, str) or not text.strip():
        raise QuizError(f"{where} must be a non-empty string")
    for tag in re.findall(r"<!?/?([A-Za-z!][^\s>/]*)", text):
        if tag.lower() not in ALLOWED_TAGS:
            raise QuizError(
                f"{where} contains '<{tag}': quiz text is inserted as "
                f"HTML; write a less-than sign as $<$ or &lt; (allowed "
                f"tags: {', '.join(sorted(ALLOWED_TAGS))})")
    if len(re.findall(r"(?<!\\)\$", text)) % 2:
        raise QuizError(f"{where} has an odd number of '$' (unclosed math)")


def _accepts(answer, x, precision):
    """Would numeric answer ``answer`` match entry ``x`` (as quiz.js and
    jupyterquiz decide)?"""
    if "value" in answer:
        value = answer["value"]
        if precision:
            return (js_to_precision(x, precision)
                    == js_to_precision(value, precision))
        return math.isclose(x, value, rel_tol=REL_TOL, abs_tol=1e-12)
    if "range" in answer:
        lo, hi = answer["range"]
        return lo <= x < hi
    return False


def _check_answer_keys(a, aw, allowed):
    """An answer must be a JSON object with only the ``allowed`` keys."""
    if not isinstance(a, dict):
        raise QuizError(f"{aw}: must be an object")
    unknown = set(a) - allowed
    if unknown:
        raise QuizError(f"{aw}: unknown keys {sorted(unknown)} "
                        f"(allowed: {sorted(allowed)})")


def _validate_mc(q, where):
    answers = q["answers"]
    texts, feedbacks = set(), set()
    for k, a in enumerate(answers):
        aw = f"{where}, answer {k}"
        _check_answer_keys(a, aw, MC_ANSWER_KEYS)
        if "answer" not in a and "code" not in a:
            raise QuizError(f"{aw}: needs 'answer' text")
        text = a.get("answer", "")
        if "answer" in a:
            _check_text(text, f"{aw} 'answer'")
        key = (text.strip(), a.get("code", ""))
        if key in texts:
            raise QuizError(f"{aw}: duplicate answer text {text!r}")
        texts.add(key)
        if not isinstance(a.get("correct"), bool):
            raise QuizError(f"{aw} ({text!r}): 'correct' must be true or "
                            f"false")
        if "feedback" not in a:
            raise QuizError(f"{aw} ({text!r}): missing 'feedback' (every "
                            f"answer explains itself)")
        _check_text(a["feedback"], f"{aw} ({text!r}) 'feedback'")
        if not a["correct"] and len(a["feedback"]) < MIN_WRONG_FEEDBACK:
            raise QuizError(
                f"{aw} ({text!r}): feedback on a wrong answer must explain "
                f"the misconception (>= {MIN_WRONG_FEEDBACK} characters), "
                f"got {a['feedback']!r}")
        if a["feedback"].strip() in feedbacks:
            raise QuizError(f"{aw} ({text!r}): same feedback as another "
                            f"answer; each answer needs its own")
        feedbacks.add(a["feedback"].strip())
    if len(answers) < 2:
        raise QuizError(f"{where}: needs at least 2 answers")
    n_correct = sum(a["correct"] for a in answers)
    if q["type"] == "multiple_choice" and n_correct != 1:
        raise QuizError(f"{where}: multiple_choice needs exactly 1 correct "
                        f"answer, has {n_correct} (use many_choice for "
                        f"several)")
    if q["type"] == "many_choice" and n_correct < 2:
        raise QuizError(f"{where}: many_choice needs at least 2 correct "
                        f"answers, has {n_correct} (use multiple_choice)")
    if n_correct == len(answers):
        raise QuizError(f"{where}: every answer is correct; add wrong "
                        f"answers")
    if "check" not in q:
        return
    missing = [k for k, a in enumerate(answers) if "value" not in a]
    if missing:
        raise QuizError(f"{where}: has a 'check', so every answer needs a "
                        f"'value'; answers {missing} have none")
    result = evaluate(q["check"], where)
    if q["type"] == "many_choice":
        if not isinstance(_normalise(result), (tuple, set, frozenset)):
            raise QuizError(f"{where}: a many_choice check must return a "
                            f"list of the correct values, got {result!r}")
        right = list(_normalise(result))
    else:
        right = [result]
    for k, a in enumerate(answers):
        should = any(_same(a["value"], r) for r in right)
        if should != a["correct"]:
            raise QuizError(
                f"{where}, answer {k} ({a.get('answer')!r}): marked "
                f"correct={a['correct']} but its value {a['value']!r} "
                f"{'matches' if should else 'does not match'} check "
                f"{q['check']!r} = {_normalise(result)!r}")


def _validate_numeric(q, where):
    precision = q.get("precision")
    if "precision" in q and (not isinstance(precision, int)
                             or isinstance(precision, bool)
                             or precision < 1):
        raise QuizError(f"{where}: 'precision' must be an int >= 1 (0 "
                        f"breaks jupyterquiz), got {precision!r}")
    if "check" not in q:
        raise QuizError(f"{where}: numeric questions need a 'check' "
                        f"expression that computes the answer with cnnbp")
    correct, defaults = [], []
    for k, a in enumerate(q["answers"]):
        aw = f"{where}, answer {k}"
        _check_answer_keys(a, aw, NUMERIC_ANSWER_KEYS)
        kind = a.get("type")
        if kind not in ("value", "range", "default"):
            raise QuizError(f"{aw}: 'type' must be value, range or "
                            f"default, got {kind!r}")
        if "feedback" not in a:
            raise QuizError(f"{aw}: missing 'feedback'")
        _check_text(a["feedback"], f"{aw} 'feedback'")
        if kind == "default":
            if "correct" in a and a["correct"]:
                raise QuizError(f"{aw}: a default answer cannot be correct")
            defaults.append(k)
            continue
        if not isinstance(a.get("correct"), bool):
            raise QuizError(f"{aw}: 'correct' must be true or false")
        if kind == "value":
            if not _is_number(a.get("value")):
                raise QuizError(f"{aw}: 'value' must be a finite number, "
                                f"got {a.get('value')!r}")
            v = a["value"]
            if (a["correct"] and not precision and v != int(v)
                    and float(f"{v:.6g}") != v):
                raise QuizError(
                    f"{aw}: {v!r} has more than 6 significant digits and "
                    f"no 'precision'; a reader cannot type it exactly. Add "
                    f"\"precision\": 3 (say) or round the question")
        else:
            rng = a.get("range")
            if (not isinstance(rng, list) or len(rng) != 2
                    or not all(map(_is_number, rng)) or rng[0] >= rng[1]):
                raise QuizError(f"{aw}: 'range' must be [lo, hi] with "
                                f"lo < hi, got {rng!r}")
        if not a["correct"] and len(a["feedback"]) < MIN_WRONG_FEEDBACK:
            raise QuizError(
                f"{aw}: feedback on a wrong answer must explain the "
                f"misconception (>= {MIN_WRONG_FEEDBACK} characters)")
        if a["correct"]:
            correct.append(k)
    if len(correct) != 1:
        raise QuizError(f"{where}: numeric needs exactly 1 correct answer, "
                        f"has {len(correct)}")
    if len(defaults) != 1:
        raise QuizError(f"{where}: numeric needs exactly 1 'default' "
                        f"answer (a hint for other numbers), has "
                        f"{len(defaults)}")
    x = _normalise(evaluate(q["check"], where))
    if not _is_number(x):
        raise QuizError(f"{where}: check {q['check']!r} must give a "
                        f"number, got {x!r}")
    answers = q["answers"]
    right = answers[correct[0]]
    if not _accepts(right, x, precision):
        stated = right.get("value", right.get("range"))
        raise QuizError(
            f"{where}: the correct answer {stated!r} does not match check "
            f"{q['check']!r} = {x!r}"
            + (f" at precision {precision}" if precision else ""))
    for k, a in enumerate(answers):
        if not a.get("correct") and _accepts(a, x, precision):
            raise QuizError(
                f"{where}, answer {k}: a wrong answer also matches the "
                f"right number {x!r} (check {q['check']!r})")


def validate(questions, chapter="quiz", seen_ids=None):
    """Check a list of questions; raise ``QuizError`` on the first problem.

    Checks the keys jupyterquiz needs, feedback on every answer, the count
    of correct answers, and evaluates every ``check`` with cnnbp.

    Parameters
    ----------
    questions : list of dict
        As returned by ``load``.
    chapter : str
        Used in error messages.
    seen_ids : set of str, optional
        Ids used elsewhere in the book; updated in place.

    Returns
    -------
    int
        The number of questions.
    """
    if not isinstance(questions, list) or not questions:
        raise QuizError(f"{chapter}: must be a non-empty list of questions")
    seen = set() if seen_ids is None else seen_ids
    for n, q in enumerate(questions):
        where = f"{chapter}, question {n}"
        if not isinstance(q, dict):
            raise QuizError(f"{where}: must be an object")
        qid = q.get("id")
        if not isinstance(qid, str) or not re.fullmatch(r"[a-z0-9-]+", qid):
            raise QuizError(f"{where}: 'id' must match [a-z0-9-]+, got "
                            f"{qid!r}")
        where = f"{chapter}, question {n} ({qid})"
        if qid in seen:
            raise QuizError(f"{where}: duplicate id {qid!r}")
        seen.add(qid)
        unknown = set(q) - QUESTION_KEYS
        if unknown:
            raise QuizError(f"{where}: unknown keys {sorted(unknown)} "
                            f"(allowed: {sorted(QUESTION_KEYS)})")
        if q.get("type") not in TYPES:
            raise QuizError(f"{where}: 'type' must be one of {TYPES}, got "
                            f"{q.get('type')!r}")
        _check_text(q.get("question"), f"{where} 'question'")
        if "answer_cols" in q and q["answer_cols"] not in (1, 2, 3, 4):
            raise QuizError(f"{where}: 'answer_cols' must be 1-4")
        if not isinstance(q.get("answers"), list) or not q["answers"]:
            raise QuizError(f"{where}: 'answers' must be a non-empty list")
        if q["type"] == "numeric":
            _validate_numeric(q, where)
        else:
            if "precision" in q:
                raise QuizError(f"{where}: 'precision' is for numeric "
                                f"questions only")
            _validate_mc(q, where)
    return len(questions)


def main(argv=None):
    """``python -m cnnbp.quiz [STEM ...]``: validate quiz files."""
    stems = (argv if argv is not None else sys.argv[1:]) or chapters()
    seen, failed = set(), 0
    for stem in stems:
        try:
            n = validate(load(stem), stem, seen)
        except (QuizError, OSError) as err:
            print(f"FAIL {err}")
            failed += 1
        else:
            print(f"ok   {stem}: {n} questions")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
