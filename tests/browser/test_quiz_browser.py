"""Quizzes in the built book, driven in headless Chromium.

On every chapter page: each quiz renders with the expected questions and
answers; clicking every multiple-choice answer (found by its text, since
the quiz shuffles answers; by its feedback when the text is math) shows
"correct" or "incorrect" feedback as the quiz data says, with that
answer's feedback text; a wrong number typed into a numeric question and
submitted with Enter is marked incorrect, the right number correct. At
1280 pixels wide, and at 390 on two chapters; each answered quiz is
saved as a PNG under
``_build/test-artifacts/quizzes/``.
"""

import html
import re
from pathlib import Path

import pytest

from cnnbp import quiz

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
ARTIFACTS = ROOT / "_build" / "test-artifacts" / "quizzes"
TAGS = re.compile(r"</?[A-Za-z][^>]*>")


def plain(text):
    """What a reader sees of a quiz string without math: tags and
    backticks dropped, entities decoded, whitespace collapsed."""
    text = html.unescape(TAGS.sub("", text)).replace("`", "")
    return " ".join(text.split())


def has_math(text):
    return "$" in text


def typed(value):
    """How a reader types a number (the quiz accepts digits . - e /)."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def right_entry(question):
    answer = next(a for a in question["answers"] if a.get("correct"))
    if "value" in answer:
        return typed(answer["value"])
    lo, hi = answer["range"]
    return typed((lo + hi) / 2)


def wrong_entry(question):
    answer = next(a for a in question["answers"] if a.get("correct"))
    centre = answer["value"] if "value" in answer else answer["range"][1]
    return typed(abs(centre) * 10 + 1000)


LABELS_JS = """wrapper => Array.from(
    wrapper.querySelectorAll('.MCButton')).map(l => ({
        text: l.querySelector('span').innerText,
        feedback: l.dataset.feedback,
        correct: l.dataset.correct}))"""

FEEDBACK_JS = """wrapper => { const fb = wrapper.querySelector('.Feedback');
    return {cls: fb.className, text: fb.innerText}; }"""


def label_index(labels, answer):
    """Which rendered (shuffled) label shows this answer."""
    if has_math(answer["answer"]):
        hits = [k for k, lab in enumerate(labels)
                if lab["feedback"] == answer["feedback"]]
    else:
        want = plain(answer["answer"])
        hits = [k for k, lab in enumerate(labels)
                if " ".join(lab["text"].split()) == want]
    assert len(hits) == 1, f"answer {answer['answer']!r} not found once"
    return hits[0]


def assert_feedback(wrapper, correct, feedback, where):
    state = wrapper.evaluate(FEEDBACK_JS)
    classes = state["cls"].split()
    expected = "correct" if correct else "incorrect"
    assert expected in classes, f"{where}: feedback class {classes}"
    if feedback and not has_math(feedback):
        assert plain(feedback) in " ".join(state["text"].split()), (
            f"{where}: feedback shown {state['text']!r}")


def check_multiple_choice(wrapper, question, where, every_answer=True):
    labels = wrapper.evaluate(LABELS_JS)
    assert len(labels) == len(question["answers"]), where
    answers = question["answers"]
    if not every_answer:
        answers = [next(a for a in answers if not a["correct"]),
                   next(a for a in answers if a["correct"])]
    for answer in answers:
        k = label_index(labels, answer)
        assert labels[k]["correct"] == str(answer["correct"]).lower()
        wrapper.locator(".MCButton").nth(k).click()
        assert_feedback(wrapper, answer["correct"], answer["feedback"],
                        f"{where}, answer {answer['answer']!r}")


def check_numeric(page, wrapper, question, where, wrong_too=True):
    box = wrapper.locator("input.Input-text")
    assert box.count() == 1, where
    entries = [(right_entry(question), True)]
    if wrong_too:
        entries.insert(0, (wrong_entry(question), False))
    for entry, correct in entries:
        box.fill("")
        box.click()
        page.keyboard.type(entry)
        page.keyboard.press("Enter")
        feedback = None
        if correct:
            feedback = next(a for a in question["answers"]
                            if a.get("correct"))["feedback"]
        assert_feedback(wrapper, correct, feedback,
                        f"{where}, typed {entry}")


# Every chapter at laptop width, clicking every answer; at phone width
# two chapters whose answers carry math and long feedback (the layout is
# the same code on every page, and each page load costs seconds).
PHONE_CHAPTERS = {"04_padding", "07_input_gradient"}
CASES = [(nb, 1280) for nb in NOTEBOOKS] + [
    (nb, 390) for nb in NOTEBOOKS if nb.stem in PHONE_CHAPTERS]


@pytest.mark.parametrize("notebook, width", CASES,
                         ids=[f"{nb.stem}-{w}" for nb, w in CASES])
def test_quizzes_render_and_answer(notebook, width, page, open_chapter):
    """Page errors and requests leaving 127.0.0.1 fail the ``page``
    fixture (tests/browser/conftest.py). At phone width one wrong and the
    right answer per question are enough (the same code runs)."""
    full = width == 1280
    page.set_viewport_size({"width": width, "height": 900})
    open_chapter(notebook.stem)
    shows = quiz.notebook_quizzes(notebook)
    assert shows, f"{notebook.name} shows no quiz"
    roots = page.locator("div[data-shuffleanswers]")
    page.wait_for_function(
        "n => document.querySelectorAll('div[data-shuffleanswers]').length"
        " == n && Array.from(document.querySelectorAll("
        "'div[data-shuffleanswers]')).every(d => d.querySelector('.Quiz'))",
        arg=len(shows), timeout=15000)
    page.evaluate("() => window.MathJax && MathJax.startup"
                  " && MathJax.startup.promise")
    for r, show in enumerate(shows):
        wrappers = roots.nth(r).locator("div.Quiz")
        assert wrappers.count() == len(show["questions"]), (
            f"{notebook.stem}, quiz {r}: {wrappers.count()} questions "
            f"rendered, {len(show['questions'])} expected")
        for k, question in enumerate(show["questions"]):
            wrapper = wrappers.nth(k)
            where = f"{notebook.stem}, {question['id']}"
            wrapper.scroll_into_view_if_needed()
            text = wrapper.locator(":scope > div").first.inner_text()
            assert text.strip(), f"{where}: empty question"
            if question["type"] == "numeric":
                check_numeric(page, wrapper, question, where, full)
            else:
                check_multiple_choice(wrapper, question, where, full)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        roots.nth(r).screenshot(
            path=str(ARTIFACTS / f"{notebook.stem}-{r}-{width}.png"))
