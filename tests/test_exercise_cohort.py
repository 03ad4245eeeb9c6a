"""The cohort of learners' solutions through the exercise checkers.

Every right solution must pass and every wrong one must fail, with the
report naming what is wrong (the classic mistake, or the side effect).
The counts per checker are pinned, so the cohort cannot shrink
unnoticed.
"""

import contextlib
import importlib
import io
from collections import Counter

import pytest

from cnnbp import exercises
from cnnbp.exercises import batchnorm, fast_conv, grouped, mistakes
from cnnbp.exercises import modern_training
from exercise_cohort import COHORT

MODULES = ["sizes", "convolution", "gradients", "activations", "pooling",
           "unfold", "scalar", "receptive", "dilation",
           "transposed", "grouped", "fast_conv",
           "batchnorm", "pooling_family", "modern_training"]
for _module in MODULES:
    importlib.import_module(f"exercise_cohort.{_module}")

#: checker -> (right solutions, wrong solutions) in the cohort.
COUNTS = {
    "check_conv_transpose2d": (5, 9),
    "check_conv_transpose2d_backward": (4, 6),
    "check_avgpool2d_backward": (4, 7),
    "check_global_avgpool2d_backward": (3, 5),
    "check_output_size": (5, 18),
    "check_conv2d": (12, 23),
    "check_conv2d_backward": (6, 7),
    "check_filter_gradient": (6, 9),
    "check_input_gradient": (7, 14),
    "check_bias_gradient": (5, 7),
    "check_relu_backward": (6, 9),
    "check_maxpool2d": (5, 8),
    "check_maxpool2d_backward": (6, 7),
    "check_im2col": (5, 8),
    "check_col2im": (5, 5),
    "check_scalar_gradient": (10, 15),
    "check_receptive_field": (5, 8),
    "check_dilated_filter_gradient": (5, 4),
    "check_dilated_input_gradient": (4, 5),
    "check_grouped_conv2d": (5, 6),
    "check_grouped_conv2d_backward": (4, 7),
    "check_batchnorm2d_backward": (5, 12),
    "check_winograd_backward": (6, 9),
    "check_fold_batchnorm": (6, 18),
    "check_running_statistics": (7, 11),
}


def run(learner):
    """The checker's result and its report (printed and per case)."""
    call = dict(learner.call)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        if learner.checker == "check_scalar_gradient":
            result = exercises.check_scalar_gradient(
                call.pop("f"), learner.fn, call.pop("points"), **call)
        else:
            result = getattr(exercises, learner.checker)(learner.fn, **call)
    details = [line for o in result.outcomes for line in o.lines]
    return result, "\n".join([buffer.getvalue()] + result.problems
                             + details)


@pytest.mark.parametrize("learner", COHORT, ids=[c.name for c in COHORT])
def test_verdict(learner):
    if learner.needs:
        pytest.importorskip(learner.needs)
    result, report = run(learner)
    assert bool(result) is learner.accept, report
    if not learner.accept:
        assert learner.says in report, report


def test_counts_per_checker():
    counts = Counter((c.checker, c.accept) for c in COHORT)
    got = {checker: (counts[checker, True], counts[checker, False])
           for checker, _ in counts}
    assert got == COUNTS


def test_every_wrong_solution_says_what_is_wrong():
    assert all(c.says for c in COHORT if not c.accept)
    assert len({c.name for c in COHORT}) == len(COHORT)


def test_every_listed_mistake_is_made_by_someone():
    """Each classic mistake a checker names is named for a learner who
    wrote it independently (not only for the variant itself)."""
    said = {c.says for c in COHORT}
    labels = [m.label for module in (mistakes, grouped, fast_conv,
                                      batchnorm, modern_training)
              for table in vars(module).values()
              if isinstance(table, list) for m in table
              if hasattr(m, "label")]
    assert labels and not [label for label in labels if label not in said]
