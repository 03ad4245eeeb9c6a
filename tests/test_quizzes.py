"""Every quiz in the book: structure, answers recomputed with cnnbp, and
each chapter notebook showing its quiz from a ``remove-input`` cell."""

import html
import json
import re
from pathlib import Path

import pytest

from cnnbp import quiz
from cnnbp.quiz import QuizError

BOOK = Path(__file__).resolve().parents[1] / "book"
NOTEBOOKS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
TEACHING_CHAPTERS = [
    "01_chain_rule", "02_convolution", "03_stride", "04_padding",
    "05_channels", "06_filter_gradient", "07_input_gradient",
    "08_bias_activation", "09_maxpool", "10_im2col", "11_training",
    "12_receptive_field", "13_transposed_conv", "14_dilation_backward",
    "15_pooling_family", "16_grouped_depthwise",
    "17_batchnorm_residual", "18_fast_convolutions", "19_training_modern",
]
MIN_PER_CHAPTER = 4
MIN_TOTAL = 30
STEMS = quiz.chapters()


@pytest.mark.parametrize("stem", STEMS)
def test_quiz_file_is_valid_and_every_answer_checks(stem):
    quiz.validate(quiz.load(stem), stem)


def test_question_ids_are_unique_across_the_book():
    seen = set()
    for stem in STEMS:
        quiz.validate(quiz.load(stem), stem, seen)


def test_quiz_files_belong_to_chapters():
    assert set(STEMS) <= set(TEACHING_CHAPTERS), (
        f"quiz files without a chapter: {set(STEMS) - set(TEACHING_CHAPTERS)}")


@pytest.mark.parametrize("stem", TEACHING_CHAPTERS)
def test_teaching_chapter_has_enough_mixed_questions(stem):
    assert stem in STEMS, f"missing cnnbp/quizzes/{stem}.json"
    questions = quiz.load(stem)
    assert len(questions) >= MIN_PER_CHAPTER, (
        f"{stem} has {len(questions)} questions; want >= {MIN_PER_CHAPTER}")
    types = {q["type"] for q in questions}
    assert "numeric" in types, f"{stem}: no numeric question"
    assert types & {"multiple_choice", "many_choice"}, (
        f"{stem}: no multiple-choice question")


def test_book_has_enough_questions():
    total = sum(len(quiz.load(stem)) for stem in STEMS)
    assert total >= MIN_TOTAL, f"{total} questions in the book"


def correct_texts(question):
    return [a["answer"] for a in question["answers"] if a["correct"]]


def test_course_material_questions():
    training = {q["id"]: q for q in quiz.load("11_training")}
    lr = training["training-learning-rate"]
    assert correct_texts(lr) == ["It controls the size of the weight updates"]
    pool = {q["id"]: q for q in quiz.load("09_maxpool")}["pool-params"]
    assert correct_texts(pool) == ["None"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_chapter_shows_all_its_questions_with_hidden_input(path):
    stem = path.stem
    shows = quiz.notebook_quizzes(path)
    assert shows, f"{path.name} has no cell calling quiz.show({stem!r})"
    shown = set()
    for show in shows:
        assert "remove-input" in show["tags"], (
            f"{path.name}: a quiz cell is not tagged remove-input (the "
            f"answers would be on the page)")
        assert show["chapter"] == stem, (
            f"{path.name} shows the quiz of {show['chapter']!r}")
        shown |= set(show["ids"])
    missing = {q["id"] for q in quiz.load(stem)} - shown
    assert not missing, f"{path.name} never shows questions {missing}"


# ----------------------------------------------------------- quiz.show


@pytest.fixture
def fresh_ids(monkeypatch):
    monkeypatch.setattr(quiz, "_shown", {})


def test_show_renders_every_question_answer_and_feedback(fresh_ids):
    questions = quiz.load("09_maxpool")
    page = quiz.show("09_maxpool")._repr_html_()
    assert page.count('<div class="Quiz"') == len(questions)
    for q in questions:
        assert f'data-qid="{q["id"]}"' in page
        for a in q["answers"]:
            assert quiz._quiz_html(a["feedback"]) in page
    assert "<script>" in page and "quiz.css" not in page
    assert page.count('class="cq-fb"') == sum(len(q["answers"])
                                              for q in questions)


def test_show_hides_feedback_and_keeps_the_checks_off_the_page(
        fresh_ids):
    page = quiz.show("09_maxpool")._repr_html_()
    feedback = re.findall(r'<div class="cq-fb"[^>]*>', page)
    assert feedback and all('hidden="hidden"' in tag for tag in feedback)
    for q in quiz.load("09_maxpool"):
        if "check" in q:
            assert html.escape(q["check"]) not in page
    assert "run this cell" in page


def test_show_ids_are_stable_and_distinct(fresh_ids):
    first = quiz.show("09_maxpool").div_id
    again = quiz.show("09_maxpool").div_id
    quiz._shown.clear()
    assert quiz.show("09_maxpool").div_id == first != again


def test_show_selects_ids(fresh_ids):
    shown = quiz.show("11_training", ids=["training-learning-rate"])
    assert [q["id"] for q in shown.questions] == ["training-learning-rate"]
    assert "1 question" in repr(shown)
    with pytest.raises(KeyError, match="no question with id"):
        quiz.show("11_training", ids=["nope"])
    with pytest.raises(FileNotFoundError, match="no quiz file"):
        quiz.show("99_nothing")


@pytest.mark.parametrize("text, html_, plain", [
    (r"A $7 \times 7$ map", r"A \(7 \times 7\) map", "A 7 × 7 map"),
    (r"$$a$$ and \$5", r"\[a\] and \$5", "a and $5"),
    ("use `dx[p:-p]`", "use <code>dx[p:-p]</code>", "use dx[p:-p]"),
    (r"$\frac{\partial L}{\partial X}$", r"\(\frac{\partial L}"
     r"{\partial X}\)", "(∂ L)/(∂ X)"),
    (r"$H_{\mathrm{out}}$", r"\(H_{\mathrm{out}}\)", "H_out"),
])
def test_quiz_text_becomes_html_and_plain_text(text, html_, plain):
    assert quiz._quiz_html(text) == html_
    assert quiz.plain_text(text) == plain


def test_math_only_answers_get_a_spoken_name(fresh_ids):
    page = quiz.show("07_input_gradient")._repr_html_()
    labels = re.findall(r'<button[^>]*aria-label="([^"]*)"', page)
    assert labels and not any("$" in x or "\\" in x for x in labels)


# ------------------------------------------- validate: precise messages


def numeric(**changes):
    q = {
        "id": "t-size", "type": "numeric",
        "question": "Output size of a 9-wide input, kernel 3, stride 2?",
        "check": "output_size(9, 3, stride=2)",
        "answers": [
            {"type": "value", "value": 4, "correct": True,
             "feedback": "Right."},
            {"type": "value", "value": 3, "correct": False,
             "feedback": "You dropped the +1 for the first window."},
            {"type": "default", "feedback": "Use the output-size formula."},
        ],
    }
    q.update(changes)
    return q


def mc(**changes):
    q = {
        "id": "t-pool", "type": "multiple_choice",
        "question": "Parameters of a max-pool layer?",
        "answers": [
            {"answer": "None", "correct": True, "feedback": "Right."},
            {"answer": "Four weights", "correct": False,
             "feedback": "That is a 2x2 convolution filter, not a pool."},
        ],
    }
    q.update(changes)
    return q


def test_valid_examples_pass():
    assert quiz.validate([numeric(), mc()]) == 2


def wrong_answer_numeric():
    q = numeric()
    q["answers"][0]["value"] = 5
    return q


def two_correct_mc():
    q = mc()
    q["answers"][1]["correct"] = True
    return q


def mc_with_checked_values(correct_value):
    return mc(check="conv2d(np.zeros((2,3,7,7)), np.zeros((4,3,3,3))).shape",
              answers=[
                  {"answer": "(2, 4, 5, 5)", "value": [2, 4, 5, 5],
                   "correct": correct_value == 0,
                   "feedback": "One output map per filter, 7 - 3 + 1 = 5."},
                  {"answer": "(2, 3, 5, 5)", "value": [2, 3, 5, 5],
                   "correct": correct_value == 1,
                   "feedback": "Channels are summed; one map per filter."},
              ])


def without(q, index, key):
    del q["answers"][index][key]
    return q


BAD = [
    ("precision 0", [numeric(precision=0)], "'precision' must be an int >= 1"),
    ("wrong numeric answer", [wrong_answer_numeric()],
     "the correct answer 5 does not match check "
     "'output_size(9, 3, stride=2)' = 4"),
    ("numeric without check", [{k: v for k, v in numeric().items()
                                if k != "check"}], "need a 'check'"),
    ("check raises", [numeric(check="conv2d(1)")],
     "check 'conv2d(1)' raised TypeError"),
    ("wrong answer catches the right number",
     [numeric(answers=numeric()["answers"][:1] + [
         {"type": "range", "range": [0, 10], "correct": False,
          "feedback": "Too far from the formula's answer."},
         {"type": "default", "feedback": "Use the formula."}])],
     "a wrong answer also matches the right number 4"),
    ("untypeable float", [numeric(check="1 / 3", answers=[
        {"type": "value", "value": 1 / 3, "correct": True,
         "feedback": "Right."},
        {"type": "default", "feedback": "Think about thirds."}])],
     "more than 6 significant digits and no 'precision'"),
    ("no default", [numeric(answers=numeric()["answers"][:2])],
     "exactly 1 'default' answer"),
    ("two correct in multiple_choice", [two_correct_mc()],
     "multiple_choice needs exactly 1 correct answer, has 2"),
    ("many_choice with one correct", [mc(type="many_choice")],
     "many_choice needs at least 2 correct answers, has 1"),
    ("missing feedback", [without(mc(), 1, "feedback")],
     "missing 'feedback'"),
    ("short wrong feedback", [mc(answers=mc()["answers"][:1] + [
        {"answer": "Four", "correct": False, "feedback": "No."}])],
     "must explain the misconception"),
    ("duplicate answers", [mc(answers=mc()["answers"] + [
        {"answer": "None", "correct": False,
         "feedback": "A duplicate of the right answer text."}])],
     "duplicate answer text 'None'"),
    ("MC check disagrees", [mc_with_checked_values(1)],
     "marked correct=False but its value [2, 4, 5, 5] matches"),
    ("HTML tag", [mc(question="Is x <y?")], "contains '<y?'"),
    ("odd dollars", [mc(question="Is $x bigger?")], "unclosed math"),
    ("unknown key", [mc(hint="x")], "unknown keys ['hint']"),
    ("bad id", [mc(id="Pool Params")], "'id' must match"),
    ("duplicate id", [mc(), mc()], "duplicate id 't-pool'"),
    ("bad type", [mc(type="essay")], "'type' must be one of"),
]


@pytest.mark.parametrize("questions, message", [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_validate_rejects_with_a_precise_message(questions, message):
    with pytest.raises(QuizError) as info:
        quiz.validate(questions, "t")
    assert message in str(info.value)
    assert str(info.value).startswith("t")


def test_mc_check_accepts_right_marking():
    assert quiz.validate([mc_with_checked_values(0)]) == 1


def test_precision_rounds_like_javascript():
    assert quiz.js_to_precision(0.125, 2) == 0.13
    assert quiz.js_to_precision(-0.125, 2) == -0.13
    assert quiz.js_to_precision(1234.5, 4) == 1235
    assert quiz.js_to_precision(0.0, 3) == 0.0
    q = numeric(check="2 / 3", precision=3, answers=[
        {"type": "value", "value": 0.667, "correct": True,
         "feedback": "Right."},
        {"type": "default", "feedback": "Two thirds, to 3 digits."}])
    assert quiz.validate([q]) == 1


def test_command_line(capsys):
    assert quiz.main(["09_maxpool", "11_training"]) == 0
    assert "ok   09_maxpool" in capsys.readouterr().out
    assert quiz.main(["99_nothing"]) == 1
