"""The exercise checkers: references, reports, side effects, time limit,
and every exercise of every chapter.

The adversarial cohort of learners' solutions is in
``tests/test_exercise_cohort.py``; this file tests the machinery every
checker shares and the chapters' own exercise cells.
"""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

import cnnbp
from cnnbp import exercises, naive
from cnnbp.exercises import fast_conv, grouped, judges, ladders
from cnnbp.exercises import pooling_family, transposed
from cnnbp.exercises import dilation, modern_training, receptive
from cnnbp.exercises import mistakes, runner
from cnnbp.gradcheck import EXACT_FLOOR, format_error, numerical_gradient
from cnnbp.gradcheck import rel_error

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO / "book"
NOTEBOOKS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
CHECKERS = [n for n in exercises.__all__ if n.startswith("check_")]


def filter_gradient(dout, x, w, stride=1, padding=0):
    return cnnbp.conv2d_backward(dout, x, w, stride, padding)[1]


def input_gradient(dout, x, w, stride=1, padding=0):
    return cnnbp.conv2d_backward(dout, x, w, stride, padding)[0]


def bias_gradient(dout):
    return cnnbp.conv2d_backward(
        dout, np.zeros(dout.shape[:1] + (1,) + dout.shape[2:]),
        np.zeros((dout.shape[1], 1, 1, 1)))[2]


def receptive_field_1d(layers):
    field = cnnbp.receptive_field([cnnbp.receptive.Window(*layer)
                                   for layer in layers])
    return field.size[0], field.jump[0], field.start[0]


def dilated_filter_gradient(dout, x, w, stride=1, padding=0, dilation=1):
    return cnnbp.conv2d_backward(dout, x, w, stride, padding, dilation)[1]


def dilated_input_gradient(dout, x, w, stride=1, padding=0, dilation=1):
    return cnnbp.conv2d_backward(dout, x, w, stride, padding, dilation)[0]


REFERENCES = {
    "check_receptive_field": receptive_field_1d,
    "check_dilated_filter_gradient": dilated_filter_gradient,
    "check_dilated_input_gradient": dilated_input_gradient,
    "check_output_size": cnnbp.output_size,
    "check_conv2d": cnnbp.conv2d,
    "check_conv2d_backward": cnnbp.conv2d_backward,
    "check_filter_gradient": filter_gradient,
    "check_input_gradient": input_gradient,
    "check_bias_gradient": bias_gradient,
    "check_relu_backward": cnnbp.relu_backward,
    "check_maxpool2d": cnnbp.maxpool2d,
    "check_maxpool2d_backward": cnnbp.maxpool2d_backward,
    "check_im2col": cnnbp.im2col,
    "check_col2im": cnnbp.col2im,
    "check_grouped_conv2d": cnnbp.conv2d,
    "check_grouped_conv2d_backward": cnnbp.conv2d_backward,
    "check_batchnorm2d_backward": cnnbp.batchnorm2d_backward,
    "check_winograd_backward": fast_conv.winograd_conv1d_backward,
    "check_conv_transpose2d": cnnbp.conv_transpose2d,
    "check_conv_transpose2d_backward": cnnbp.conv_transpose2d_backward,
    "check_avgpool2d_backward": cnnbp.avgpool2d_backward,
    "check_global_avgpool2d_backward": cnnbp.global_avgpool2d_backward,
    "check_fold_batchnorm": cnnbp.fold_batchnorm,
    "check_running_statistics": modern_training.running_statistics,
}

NAIVE = {
    "check_dilated_filter_gradient": naive.filter_gradient,
    "check_dilated_input_gradient": naive.input_gradient,
    "check_conv2d": naive.conv2d,
    "check_conv2d_backward": naive.conv2d_backward,
    "check_filter_gradient": naive.filter_gradient,
    "check_input_gradient": naive.input_gradient,
    "check_bias_gradient": naive.bias_gradient,
    "check_maxpool2d": naive.maxpool2d,
    "check_maxpool2d_backward": naive.maxpool2d_backward,
    "check_grouped_conv2d": naive.grouped_conv2d,
    "check_grouped_conv2d_backward": naive.grouped_conv2d_backward,
    "check_batchnorm2d_backward": naive.batchnorm2d_backward,
    "check_conv_transpose2d": naive.conv_transpose2d,
    "check_conv_transpose2d_backward": naive.conv_transpose2d_backward,
    "check_avgpool2d_backward": naive.avgpool2d_backward,
    "check_global_avgpool2d_backward": naive.global_avgpool2d_backward,
}

#: The classic-mistake lists, per checker whose results they diagnose.
MISTAKES = {
    "check_receptive_field": receptive.RECEPTIVE_FIELD,
    "check_dilated_filter_gradient": dilation.DILATED_DW,
    "check_dilated_input_gradient": dilation.DILATED_DX,
    "check_output_size": mistakes.OUTPUT_SIZE,
    "check_conv2d": mistakes.CONV2D,
    "check_input_gradient": mistakes.INPUT_GRADIENT,
    "check_filter_gradient": mistakes.FILTER_GRADIENT,
    "check_bias_gradient": mistakes.BIAS_GRADIENT,
    "check_relu_backward": mistakes.RELU_BACKWARD,
    "check_maxpool2d": mistakes.MAXPOOL2D,
    "check_maxpool2d_backward": mistakes.MAXPOOL2D_BACKWARD,
    "check_im2col": mistakes.IM2COL,
    "check_col2im": mistakes.COL2IM,
    "check_grouped_conv2d": grouped.GROUPED_CONV2D,
    "check_winograd_backward": fast_conv.WINOGRAD_BACKWARD,
    "check_conv_transpose2d": transposed.TRANSPOSED_FORWARD,
    "check_avgpool2d_backward": pooling_family.AVGPOOL2D_BACKWARD,
    "check_global_avgpool2d_backward":
        pooling_family.GLOBAL_AVGPOOL2D_BACKWARD,
    "check_fold_batchnorm": modern_training.FOLD_BATCHNORM,
    "check_running_statistics": modern_training.RUNNING_STATISTICS,
}


def failing(result):
    return [o.name for o in result.outcomes if o.status == "FAIL"]


def details(result):
    """Every detail line of a report, unwrapped, in one string."""
    return "\n".join(result.problems + [line for o in result.outcomes
                                        for line in o.lines])


def conv_pair(x, w, b=None, stride=1, padding=0):
    return cnnbp.conv2d(x, w, b, stride, padding)


# ---------------------------------------------------- references pass

def test_every_checker_has_a_reference():
    assert set(CHECKERS) - {"check_scalar_gradient"} == set(REFERENCES)
    assert set(REFERENCES) == set(ladders.LADDERS)
    assert set(MISTAKES) | {"check_conv2d_backward",
                            "check_grouped_conv2d_backward",
                            "check_batchnorm2d_backward",
                            "check_conv_transpose2d_backward"} == set(
                                REFERENCES)


@pytest.mark.parametrize("checker", sorted(REFERENCES))
def test_reference_passes_every_case(checker, capsys):
    result = getattr(exercises, checker)(REFERENCES[checker], cases="all")
    out = capsys.readouterr().out
    assert result, out
    assert result.passed == len(exercises.case_names(checker))
    assert "FAIL" not in out and "skip" not in out


@pytest.mark.parametrize("checker", sorted(NAIVE))
def test_naive_twin_passes(checker, capsys):
    assert getattr(exercises, checker)(NAIVE[checker], cases="all")


def test_ladder_expectations_match_finite_differences():
    """The cases' expected gradients are the true ones, case by case."""
    for name, x, w, b, dout, hyper, _ in ladders.conv_cases():
        dx, dw, db = cnnbp.conv2d_backward(dout, x, w, **hyper)
        for arg, got in [(0, dx), (1, dw), (2, db)]:
            def f(t, arg=arg):
                args = [x, w, np.zeros(w.shape[0])]
                args[arg] = t
                return cnnbp.conv2d(*args, **hyper)
            start = [x, w, np.zeros(w.shape[0])][arg]
            assert rel_error(got, numerical_gradient(f, start, dout)) < 1e-8
    for _, shape, kw, kind in ladders.POOL_CASES:
        if kind == "ties":
            continue
        x = ladders.pool_input("fd", shape, kind)
        dout = np.random.default_rng(0).standard_normal(
            cnnbp.maxpool2d(x, **kw).shape)
        expected = cnnbp.maxpool2d_backward(dout, x, **kw)
        numeric = numerical_gradient(lambda t: cnnbp.maxpool2d(t, **kw), x,
                                     dout)
        assert rel_error(expected, numeric) < 1e-8


def test_ladder_expectations_match_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    for name, x, w, b, dout, hyper, _ in ladders.conv_cases():
        xt = torch.from_numpy(x.copy()).requires_grad_()
        wt = torch.from_numpy(w.copy()).requires_grad_()
        bt = torch.from_numpy(np.zeros(w.shape[0])).requires_grad_()
        out = F.conv2d(xt, wt, bt, **hyper)
        np.testing.assert_allclose(cnnbp.conv2d(x, w, **hyper),
                                   out.detach().numpy(), atol=1e-12)
        out.backward(torch.from_numpy(dout))
        for got, grad in zip(cnnbp.conv2d_backward(dout, x, w, **hyper),
                             (xt.grad, wt.grad, bt.grad)):
            np.testing.assert_allclose(got, grad.numpy(), atol=1e-12)
    for name, shape, kw, kind in ladders.POOL_CASES:
        x = ladders.pool_input(name, shape, kind)
        xt = torch.from_numpy(x.copy()).requires_grad_()
        out = F.max_pool2d(xt, kw.get("size", 2), kw.get("stride"))
        dout = np.random.default_rng(1).standard_normal(out.shape)
        out.backward(torch.from_numpy(dout))
        np.testing.assert_allclose(cnnbp.maxpool2d_backward(dout, x, **kw),
                                   xt.grad.numpy(), atol=1e-12)


def test_modern_training_ladders_match_torch():
    """Folded convolutions equal conv + eval-mode batch norm, and the
    running statistics are those nn.BatchNorm2d keeps, case by case."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    t = torch.from_numpy
    for name, args, kwargs, _ in modern_training.fold_cases():
        w, b, gamma, beta, mean, var = args
        x = np.random.default_rng(2).standard_normal((2, w.shape[1], 5, 6))
        pair = F.batch_norm(F.conv2d(t(x), t(w), None if b is None else
                                     t(b)), t(mean), t(var), t(gamma),
                            t(beta), training=False,
                            eps=kwargs.get("eps", 1e-5))
        w_folded, b_folded = cnnbp.fold_batchnorm(*args, **kwargs)
        np.testing.assert_allclose(
            F.conv2d(t(x), t(w_folded), t(b_folded)).numpy(),
            pair.numpy(), rtol=1e-12, atol=1e-10, err_msg=name)
    for name, (mean, var, x), kwargs, _ in modern_training.running_cases():
        bn = torch.nn.BatchNorm2d(x.shape[1], dtype=torch.float64,
                                  momentum=kwargs.get("momentum", 0.1))
        bn.running_mean.copy_(t(mean))
        bn.running_var.copy_(t(var))
        with torch.no_grad():
            bn.train()(t(x))
        got = modern_training.running_statistics(mean, var, x, **kwargs)
        for ours, theirs in zip(got, (bn.running_mean, bn.running_var)):
            np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12,
                                       err_msg=name)


def test_output_size_ladder_by_counting_windows():
    """Expected sizes, and the impossible cases, by counting windows."""
    for name, (n, k), kw in ladders.OUTPUT_SIZE_CASES:
        s, p, d = (kw.get(key, dflt) for key, dflt in
                   [("stride", 1), ("padding", 0), ("dilation", 1)])
        starts = [u for u in range(n + 2 * p) if u + d * (k - 1) < n + 2 * p]
        windows = len(starts[::s])
        if windows == 0:
            with pytest.raises(ValueError):
                cnnbp.output_size(n, k, **kw)
        else:
            assert cnnbp.output_size(n, k, **kw) == windows, name


def test_per_axis_cases_have_different_leftovers():
    """Each stride rule has a non-square case whose leftover rows and
    columns differ, once without padding and once with."""
    differ = []
    for name, xs, ws, hyper, _, extra in ladders.CONV_CASES:
        s, p = hyper.get("stride", 1), hyper.get("padding", 0)
        if extra or s == 1:
            continue
        r = [(xs[2 + a] + 2 * p - ws[2 + a]) % s for a in (0, 1)]
        if r[0] != r[1] and xs[2] != xs[3]:
            differ.append(p)
    assert 0 in differ and any(differ)


# ------------------------------------------------------- the mistakes

@pytest.mark.parametrize("checker", sorted(MISTAKES))
def test_every_mistake_fails_and_is_named(checker):
    """Each variant is wrong on some standard case, and a learner whose
    function is that variant hears its name."""
    for mistake in MISTAKES[checker]:
        result = getattr(exercises, checker)(mistake.fn)
        assert not result, mistake.fn.__name__
        assert mistake.label in details(result), mistake.fn.__name__


def test_backward_names_the_mistake_of_each_part():
    def dx_unrotated(dout, x, w, stride=1, padding=0):
        dx, dw, db = cnnbp.conv2d_backward(dout, x, w, stride, padding)
        return mistakes.dx_no_flip(dout, x, w, stride, padding), dw, db

    result = exercises.check_conv2d_backward(dx_unrotated, "stride 1")
    text = details(result)
    assert mistakes.INPUT_GRADIENT[0].label in text
    assert "dw and db are right." in text


def test_mistake_labels_are_distinct():
    for table in MISTAKES.values():
        labels = [m.label for m in table]
        assert len(set(labels)) == len(labels)


# ------------------------------------------------------ the report

def test_stub_reports_not_implemented_naming_the_function(capsys):
    def my_stub(x, w, b=None, stride=1, padding=0):
        raise NotImplementedError

    result = exercises.check_conv2d(my_stub)
    out = capsys.readouterr().out
    assert not result and result.not_implemented
    assert "not implemented yet: `my_stub` raises NotImplementedError" in out
    assert repr(result) == "CheckResult(check_conv2d: not implemented yet)"


def test_helper_not_implemented_is_named(capsys):
    def loss(v):
        raise NotImplementedError

    result = exercises.check_scalar_gradient(loss, lambda v: 2 * v,
                                             [(np.ones(2),)])
    assert result.not_implemented
    assert "`loss` raises NotImplementedError" in capsys.readouterr().out


def test_partly_implemented_is_a_failure(capsys):
    def stride_one_only(x, w, b=None, stride=1, padding=0):
        if stride != 1:
            raise NotImplementedError
        return cnnbp.conv2d(x, w, b, 1, padding)

    result = exercises.check_conv2d(stride_one_only)
    assert not result and not result.not_implemented
    assert "stride 2" in [o.name for o in result.outcomes
                          if o.status == "todo"]
    assert "start with the first failing case (stride 2)" in (
        capsys.readouterr().out)


def test_exception_shows_the_learners_lines(capsys):
    def my_conv2d(x, w, b=None):
        out = np.zeros((1, 1, 3, 3))
        out[0, 0] = x[0, 0, :3, :3] * w[0, 0]
        return out

    line = my_conv2d.__code__.co_firstlineno + 2
    exercises.check_conv2d(my_conv2d, cases=["non-square"])
    out = capsys.readouterr().out
    assert "raised ValueError: operands could not be broadcast" in out
    assert f"in my_conv2d, tests/test_exercises.py, line {line}:" in out
    assert "out[0, 0] = x[0, 0, :3, :3] * w[0, 0]" in out


def test_exception_inside_cnnbp_points_at_the_learners_call(capsys):
    def strided(x, w, b=None, stride=1, padding=0):
        return cnnbp.conv2d(x, w[:, :1], b, padding=padding)[:, :, ::stride]

    exercises.check_conv2d(strided, cases=["several channels and filters"])
    out = capsys.readouterr().out
    assert "raised ValueError: channel mismatch" in out
    assert "in strided, tests/test_exercises.py" in out
    assert "cnnbp/conv.py" not in out and "shapes.py" not in out


def test_wrong_number_of_results(capsys):
    def two(dout, x, w, stride=1, padding=0):
        return cnnbp.conv2d_backward(dout, x, w, stride, padding)[:2]

    result = exercises.check_conv2d_backward(two, cases="stride 1")
    assert "expected 3 arrays (dx, dw, db), got a tuple of 2" in details(
        result)


def test_forgotten_return():
    def no_return(x, w, b=None, stride=1, padding=0):
        cnnbp.conv2d(x, w, b, stride, padding)

    result = exercises.check_conv2d(no_return, cases="stride 1")
    assert "did you forget `return`?" in details(result)


@pytest.mark.parametrize("ran, verdict", [
    (["stride 1"], "The case passes."),
    (["stride 1", "stride 2"], "All 2 cases pass."),
])
def test_verdict_wording(ran, verdict, capsys):
    exercises.check_conv2d(cnnbp.conv2d, cases=ran)
    assert capsys.readouterr().out.splitlines()[-1] == verdict


def test_skips_are_counted(capsys):
    def no_dilation(x, w, b=None, stride=1, padding=0):
        return cnnbp.conv2d(x, w, b, stride, padding)

    assert exercises.check_conv2d(no_dilation)
    out = capsys.readouterr().out
    assert "  skip  dilation 2: your function has no `dilation` parameter" \
        in out
    assert out.splitlines()[-1] == "All 11 cases pass (1 skipped)."


def test_report_lines_fit_79_columns(capsys):
    for checker, fn in REFERENCES.items():
        getattr(exercises, checker)(fn, cases="all")
    for variant in mistakes.INPUT_GRADIENT:
        exercises.check_input_gradient(variant.fn)
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 79


def test_grid_of_the_first_failing_case(capsys):
    def shifted(dout, x, w, stride=1, padding=0):
        return np.roll(input_gradient(dout, x, w, stride, padding), 1, 3)

    result = exercises.check_input_gradient(
        shifted, cases=["stride 1", "stride 2"])
    out = capsys.readouterr().out
    assert out.count("* marks a wrong entry") == 1
    assert "dx[0, 0], * marks a wrong entry:" in out
    grid = result.outcomes[0].grid
    assert grid[1].split() == ["expected", "yours"]
    expected = input_gradient(*result_args("check_input_gradient",
                                           "stride 1"))[0, 0]
    first_row = grid[2].replace("*", " ").split()
    np.testing.assert_allclose([float(v) for v in first_row[:5]],
                               expected[0], atol=0.006)
    assert first_row[5:] == [f"{v:.2f}" for v in np.roll(expected[0], 1)]


def result_args(checker, name):
    """The positional arguments of one case of a checker's ladder."""
    case = next(c for c in ladders.LADDERS[checker]() if c.name == name)
    return case.args


def test_relative_errors_go_through_format_error():
    expected = np.arange(1.0, 7.0).reshape(2, 3)
    got = expected.copy()
    got[1, 2] *= 1 + 3e-5
    found = judges.check_array(got, expected, "out", {})
    err = format_error(rel_error(got, expected), EXACT_FLOOR)
    assert f"(relative error {err})" in found.problems[0]


def test_printed_numbers_hide_rounding_noise():
    expected = np.array([[1.0, 2e-17], [3.0, 4.0]])
    got = np.array([[1.0, 0.5], [3.0, 4.0]])
    text = judges.check_array(got, expected, "out", {}).problems[0]
    assert "expected 0, got 0.5" in text
    assert not re.search(r"e-1\d", text)


def test_same_text_on_any_thread_count_and_blas_kernel(tmp_path):
    """Failure reports are byte-identical with one BLAS thread, and with
    OpenBLAS forced to another CPU kernel in a fresh interpreter."""
    script = tmp_path / "report.py"
    script.write_text(textwrap.dedent("""
        import sys
        sys.path.insert(0, sys.argv[1])
        from threadpoolctl import threadpool_limits
        import report_cases
        report_cases.main()
        with threadpool_limits(1):
            report_cases.main()
    """))
    (tmp_path / "report_cases.py").write_text(textwrap.dedent("""
        import numpy as np
        import cnnbp
        from cnnbp import exercises
        from cnnbp.exercises import mistakes

        def main():
            for m in mistakes.INPUT_GRADIENT + mistakes.FILTER_GRADIENT:
                exercises.check_conv2d_backward(
                    lambda d, x, w, stride=1, padding=0, fn=m.fn: (
                        fn(d, x, w, stride, padding),
                        cnnbp.conv2d_backward(d, x, w, stride, padding)[1],
                        d.sum(axis=(0, 2, 3)) * 1.5))
            exercises.check_conv2d(
                lambda x, w, b=None, stride=1, padding=0:
                    np.roll(cnnbp.conv2d(x, w, b, stride, padding), 1, 2))
    """))
    runs = []
    for core in (None, "Prescott"):
        env = dict(os.environ)
        env.pop("OPENBLAS_CORETYPE", None)
        if core:
            env["OPENBLAS_CORETYPE"] = core
        done = subprocess.run([sys.executable, str(script), str(tmp_path)],
                              capture_output=True, text=True, env=env,
                              cwd=REPO, timeout=300)
        assert done.returncode == 0, done.stderr
        half = len(done.stdout) // 2
        assert done.stdout[:half] == done.stdout[half:]
        runs.append(done.stdout)
    assert runs[0] == runs[1]
    assert "FAIL" in runs[0] and not re.search(r"0x[0-9a-f]{6,}", runs[0])


# ------------------------------------------------ parameters and cases

def test_missing_required_parameter_fails(capsys):
    def conv_plain(x, w):
        return cnnbp.conv2d(x, w)

    result = exercises.check_conv2d(conv_plain)
    assert not result
    assert "non-square" in failing(result)
    assert "your function has no `b` parameter, and this case needs it" in (
        details(result))


def test_named_case_never_passes_by_skipping():
    def conv_no_stride(x, w, b=None):
        return cnnbp.conv2d(x, w, b)

    assert exercises.check_conv2d(conv_no_stride)
    result = exercises.check_conv2d(conv_no_stride, cases=["stride 2"])
    assert not result and failing(result) == ["stride 2"]


@pytest.mark.parametrize("params, problem", [
    ("x, w, b=None, stride=1, pad=0", "has `pad` where the exercise has "
                                      "`padding`"),
    ("x, w, bias=None, stride=1, padding=0", "has `bias` where the "
                                             "exercise has `b`"),
    ("x, w, b=None, s=1, padding=0", "has `s` where the exercise has "
                                     "`stride`"),
    ("x, w, b, stride, padding, scale", "`scale` has no default value"),
    ("x, stride, w, b=None", "`stride` stands where the exercise passes "
                             "`w`"),
    ("x", "takes 1 positional argument; the exercise passes 2"),
])
def test_parameters_differing_from_the_exercise_are_named(params, problem,
                                                          capsys):
    namespace = {"cnnbp": cnnbp}
    exec(f"def learner({params}):\n    return cnnbp.conv2d(x, w)",
         namespace)
    result = exercises.check_conv2d(namespace["learner"])
    out = capsys.readouterr().out
    assert not result
    assert problem in " ".join(result.problems)
    assert "  FAIL  parameters: " in out
    assert "fix the parameters first" in out.splitlines()[-1]


def test_extra_parameters_with_defaults_are_fine():
    def conv_verbose(x, w, b=None, stride=1, padding=0, verbose=False):
        return cnnbp.conv2d(x, w, b, stride, padding)

    def conv_kwargs(x, w, **options):
        return cnnbp.conv2d(x, w, **options)

    assert exercises.check_conv2d(conv_verbose)
    assert exercises.check_conv2d(conv_kwargs, cases="all")


def test_cases_selects_by_name():
    result = exercises.check_conv2d(cnnbp.conv2d, cases=["stride 1"])
    assert [o.name for o in result.outcomes] == ["stride 1"]
    with pytest.raises(ValueError, match="unknown case names"):
        exercises.check_conv2d(cnnbp.conv2d, cases=["stride 7"])
    assert "per-axis stride and padding" not in [
        o.name for o in exercises.check_conv2d(cnnbp.conv2d).outcomes]


def test_case_names():
    names = exercises.case_names("check_conv2d")
    assert names[:2] == ["stride 1", "stride 2"]
    assert exercises.case_names(exercises.check_im2col)
    with pytest.raises(ValueError):
        exercises.case_names("check_nothing")


# ------------------------------------------------------- side effects

def test_keyword_argument_changed_in_place_fails():
    def bias_in_place(x, w, b=None, stride=1, padding=0):
        out = cnnbp.conv2d(x, w, None, stride, padding)
        if b is not None:
            b += 1.0
            out += b[:, None, None] - 1.0
        return out

    result = exercises.check_conv2d(bias_in_place)
    assert "bias" in failing(result)
    assert "changed its input `b` in place" in details(result)


def test_reshaping_an_argument_in_place_fails():
    def reshapes(dout):
        dout.shape = dout.shape
        dout.shape = (dout.shape[0], dout.shape[1], -1)
        return dout.sum(axis=(0, 2))

    result = exercises.check_bias_gradient(reshapes)
    assert "changed its input `dout` in place" in details(result)


def test_a_case_can_explain_an_exception():
    """On the b=None case, an error from using None as an array is
    explained in plain words; any other error is not."""
    def none_minus(w, b, gamma, beta, running_mean, running_var, eps=1e-5):
        out = cnnbp.fold_batchnorm(w, np.zeros(len(beta)), gamma, beta,
                                   running_mean, running_var, eps)
        return out[0], out[1] + 0 * (b - running_mean)

    def other_error(w, b, gamma, beta, running_mean, running_var,
                    eps=1e-5):
        if b is None:
            raise ValueError("no bias here")
        return cnnbp.fold_batchnorm(w, b, gamma, beta, running_mean,
                                    running_var, eps)

    case = "no bias (b=None)"
    text = details(exercises.check_fold_batchnorm(none_minus, case))
    assert "raised TypeError: unsupported operand type(s)" in text
    assert modern_training.NO_BIAS in text
    text = details(exercises.check_fold_batchnorm(other_error, case))
    assert "raised ValueError: no bias here" in text
    assert modern_training.NO_BIAS not in text


def test_an_input_returned_as_it_is_still_names_the_mistake():
    def beta_as_it_is(w, b, gamma, beta, running_mean, running_var,
                      eps=1e-5):
        return cnnbp.fold_batchnorm(w, b, gamma, beta, running_mean,
                                    running_var, eps)[0], beta

    text = details(exercises.check_fold_batchnorm(beta_as_it_is))
    assert "b_folded shares its memory with your input `beta`" in text
    assert modern_training.FOLD_BATCHNORM[-1].label in text
    assert "w_folded is right." in text


def test_returning_an_input_fails():
    result = exercises.check_relu_backward(
        lambda dout, x: dout if (x > 0).all() else dout * (x > 0))
    assert failing(result) == ["all positive"]
    assert "shares its memory with your input `dout`" in details(result)


def test_complex_and_integer_results_fail():
    result = exercises.check_bias_gradient(
        lambda dout: dout.sum(axis=(0, 2, 3)) + 0j)
    assert "is complex (complex128)" in details(result)
    result = exercises.check_bias_gradient(
        lambda dout: dout.sum(axis=(0, 2, 3)).astype(int))
    assert "holds integers (dtype int64)" in details(result)


def test_float32_results_pass():
    assert exercises.check_conv2d(
        lambda x, w, b=None, stride=1, padding=0, dilation=1: cnnbp.conv2d(
            x.astype(np.float32), w.astype(np.float32),
            None if b is None else b.astype(np.float32), stride, padding,
            dilation), cases="all")


# ------------------------------------------------------- time limit

def endless(dout):
    while True:
        pass


def swallowing(dout):
    while True:
        try:
            while True:
                pass
        except Exception:
            pass


@pytest.fixture
def short_limit(monkeypatch):
    monkeypatch.setattr(runner, "TIME_LIMIT", 0.2)


@pytest.mark.parametrize("fn", [endless, swallowing])
def test_endless_loop_is_stopped(fn, short_limit, capsys):
    handler = signal.getsignal(signal.SIGALRM)
    result = exercises.check_bias_gradient(fn)
    out = capsys.readouterr().out
    assert not result
    assert "stopped after 0.2 s without a result" in out
    assert "The other 3 cases did not run." in out
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is handler


def test_time_limit_restores_an_outer_timer(short_limit):
    fired = []
    old = signal.signal(signal.SIGALRM, lambda *args: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 5.0)
        assert exercises.check_bias_gradient(
            lambda dout: dout.sum(axis=(0, 2, 3)))
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 3.0 < left <= 5.0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert not fired


def test_time_limit_off_the_main_thread(short_limit, capsys):
    """Off the main thread a trace function keeps the time, and the
    thread's own trace function is back afterwards."""
    seen = []

    def work():
        before = sys.gettrace()
        seen.append(exercises.check_bias_gradient(endless))
        seen.append(sys.gettrace() is before)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(30)
    assert not worker.is_alive()
    assert not seen[0] and seen[1]
    assert "stopped after 0.2 s" in capsys.readouterr().out


def test_checker_in_a_jupyter_kernel():
    """In a real kernel (cells run on its main thread): an endless loop
    is stopped and leaves no alarm behind, and an exception points at
    the learner's cell and line."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    cells = [
        "from cnnbp import exercises\n"
        "from cnnbp.exercises import runner\n"
        "runner.TIME_LIMIT = 0.5\n"
        "def bias_grad(dout):\n"
        "    while True:\n"
        "        pass\n"
        "exercises.check_bias_gradient(bias_grad)",
        "import signal, threading\n"
        "print(signal.getitimer(signal.ITIMER_REAL),\n"
        "      threading.current_thread() is threading.main_thread())",
        "def relu_back(dout, x):\n"
        "    return dout * (x > 0)[0, 0, 0, 9]\n"
        "exercises.check_relu_backward(relu_back, cases='mixed signs')",
    ]
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    first, second, third = ("".join(o.get("text", "") for o in c.outputs)
                            for c in nb.cells)
    assert "stopped after 0.5 s without a result" in first
    assert "The other 3 cases did not run." in first
    assert second.strip() == "(0.0, 0.0) True"
    assert "raised IndexError: index 9 is out of bounds" in third
    assert "in relu_back, cell In[3], line 2:" in third
    assert "return dout * (x > 0)[0, 0, 0, 9]" in third


# ----------------------------------------------- max-pool ties, losses

def _windows_of(x):
    """x (N, C, H, W) as 2 x 2 windows, (N, C, H/2, 2, W/2, 2)."""
    N, C, H, W = x.shape
    return x.reshape(N, C, H // 2, 2, W // 2, 2)


def split_evenly(dout, x, size=2, stride=None):
    win = _windows_of(x)
    tied = win == win.max(axis=(3, 5), keepdims=True)
    share = tied / tied.sum(axis=(3, 5), keepdims=True)
    return (share * dout[:, :, :, None, :, None]).reshape(x.shape)


def last_maximum(dout, x, size=2, stride=None):
    flipped = cnnbp.maxpool2d_backward(dout[:, :, ::-1, ::-1],
                                       x[:, :, ::-1, ::-1])
    return flipped[:, :, ::-1, ::-1].copy()


@pytest.mark.parametrize("fn, rule", [
    (split_evenly, "split evenly between the tied maxima"),
    (last_maximum, "all to one tied maximum, not always the first"),
    (cnnbp.maxpool2d_backward, ""),
])
def test_valid_tie_rules_pass_naming_the_rule(fn, rule):
    result = exercises.check_maxpool2d_backward(
        fn, cases=["ties in every window"])
    assert result
    note = result.outcomes[0].note
    assert note == (f"your tie rule: {rule} (valid; cnnbp gives all to the "
                    f"first maximum)" if rule else "")


def test_loss_is_compared_with_the_reference():
    labels = np.array([1, 0])

    def mean(scores):
        return cnnbp.layers.SoftmaxCrossEntropy().forward(scores, labels)

    def summed(scores):
        return 2 * mean(scores)

    def grad(scores):
        loss = cnnbp.layers.SoftmaxCrossEntropy()
        loss.forward(scores, labels)
        return 2 * loss.backward()

    points = [(np.array([[0.5, -1.0], [2.0, 0.1]]),)]
    assert exercises.check_scalar_gradient(summed, grad, points)
    result = exercises.check_scalar_gradient(summed, grad, points,
                                             reference=mean)
    assert not result
    assert "Your summed is 2 times the reference." in details(result)


# ------------------------------------------------- the chapters' cells

DIRECTIVE = re.compile(
    r"(?:```+|:::+)\{(exercise-start|exercise-end|solution-start|"
    r"solution-end|exercise|solution)\}[ \t]*(\S*)[^\n]*"
    r"((?:\n:[\w-]+:[^\n]*)*)")
LABEL = re.compile(r":label:[ \t]*(\S+)")


def exercise_blocks(path):
    """Exercises of a notebook: label -> {"stub": [...], "solution": [...],
    "text": str}.

    Two markups are understood. Gated directives (``exercise-start`` ...
    ``exercise-end``, ``solution-start`` ... ``solution-end``) hold the
    code cells between their markers. A fenced ``{exercise}`` or
    ``{solution}`` directive holds the code cells that follow its
    markdown cell, up to the next markdown cell.
    """
    nb = json.loads(path.read_text(encoding="utf-8"))
    blocks, state, label, setup, gated = {}, None, None, None, False
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] == "code":
            if setup is None:
                setup = src
            if state:
                blocks[label]["stub" if state == "exercise"
                              else "solution"].append(src)
            continue
        if not gated:
            state = None
        for kind, arg, options in DIRECTIVE.findall(src):
            if kind.endswith("-end"):
                state, gated = None, False
                continue
            gated = kind.endswith("-start")
            state = kind.split("-")[0]
            if state == "exercise":
                found = LABEL.search(options)
                label = found.group(1) if found else arg
                assert label not in blocks, f"{path.name}: duplicate {label}"
                blocks[label] = {"stub": [], "solution": [], "text": src,
                                 "has_solution": False}
            else:
                label = arg
                assert label in blocks, f"{path.name}: solution for {label}"
                blocks[label]["has_solution"] = True
    return setup or "", blocks


def runnable(src):
    """Cell source without IPython magics and shell escapes."""
    return "\n".join(line for line in src.splitlines()
                     if not line.lstrip().startswith(("%", "!")))


@pytest.fixture
def recorded(monkeypatch):
    """Replace every checker by a recording wrapper; yield the records:
    (checker name, args, kwargs, result)."""
    calls = []
    for name in CHECKERS:
        original = getattr(exercises, name)

        def wrapper(*args, _original=original, _name=name, **kwargs):
            result = _original(*args, **kwargs)
            calls.append((_name, args, kwargs, result))
            return result
        wrapper.__name__ = name
        monkeypatch.setattr(exercises, name, wrapper)
    return calls


def run_cells(setup, cells, path):
    namespace = {"__name__": f"exercise_{path.stem}"}
    exec(compile(runnable(setup), f"{path.name}:setup", "exec"), namespace)
    for k, src in enumerate(cells):
        exec(compile(runnable(src), f"{path.name}:cell{k}", "exec"),
             namespace)


def calls_checker(cells):
    """True if the code calls one of the cnnbp.exercises checkers."""
    return any(re.search(rf"\b{name}\(", src)
               for src in cells for name in CHECKERS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_chapter_has_2_to_4_exercises_with_solutions(path):
    _, blocks = exercise_blocks(path)
    assert 2 <= len(blocks) <= 4, (
        f"{path.name} has {len(blocks)} exercises; want 2-4")
    missing = [k for k, b in blocks.items() if not b["has_solution"]]
    assert not missing, f"{path.name}: exercises without solution {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_solutions_pass_their_checker(path, recorded, capsys):
    """Every solution that calls a checker runs in a fresh namespace (after
    the notebook's setup cell) and passes; at least one per chapter."""
    setup, blocks = exercise_blocks(path)
    checked = [label for label, block in blocks.items()
               if calls_checker(block["solution"])]
    assert checked, f"{path.name}: no solution runs a checker"
    for label in checked:
        recorded.clear()
        run_cells(setup, blocks[label]["solution"], path)
        out = capsys.readouterr().out
        assert recorded, f"{label}: the checker was not called"
        for _, _, _, result in recorded:
            assert result, f"{label}: {result!r}\n{out}"


def _stub_function(name, args):
    return args[1] if name == "check_scalar_gradient" else args[0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_stubs_report_not_implemented(path, recorded, capsys):
    """A stub cell's checker says "not implemented yet" instead of
    raising, and the stub's parameters are the checker's."""
    setup, blocks = exercise_blocks(path)
    for label, block in blocks.items():
        if not calls_checker(block["stub"]):
            continue
        recorded.clear()
        run_cells(setup, block["stub"], path)
        assert recorded, f"{label}: the checker was not called"
        for name, args, kwargs, result in recorded:
            assert result.not_implemented, f"{label}: {result!r}"
            assert not result.problems, f"{label}: {result.problems}"


#: Per exercise, cases its text promises, which its solution's call must
#: run and pass (not skip); and whether a reference for its loss is due.
PROMISES = {
    "ex-convolution-1": {"non-square"},
    "ex-convolution-2": {"non-square"},
    "ex-convolution-3": {"non-square"},
    "ex-stride-1": {"stride 2, leftover rows (floor)",
                    "stride 3, two leftover rows"},
    "ex-stride-2": {"stride 2", "stride 2, leftover rows", "non-square",
                    "stride 2, leftover rows differ per axis"},
    "ex-stride-3": {"per-axis stride and padding",
                    "batch, channels, stride 2 and padding 1"},
    "ex-padding-1": {"too large a kernel raises ValueError",
                     "too large a dilated kernel raises ValueError",
                     "everything"},
    "ex-padding-2": {"stride 2", "padding 1", "non-square",
                     "several channels and filters",
                     "stride 2, leftover rows differ per axis"},
    "ex-channels-1": {"several channels and filters", "batch", "bias"},
    "ex-channels-2": {"batch, channels, stride 2 and padding 1"},
    "ex-filter-gradient-1": {"stride 2, leftover rows differ per axis",
                             "stride 3, padding 1, leftover rows"},
    "ex-filter-gradient-2": {"stride 2, leftover rows differ per axis",
                             "stride 3, padding 1, leftover rows"},
    "ex-input-gradient-1": {"stride 2, leftover rows differ per axis",
                            "stride 3, padding 1, leftover rows"},
    "ex-input-gradient-2": {"stride 2, leftover rows differ per axis",
                            "stride 3, padding 1, leftover rows"},
    "ex-bias-1": {"batch", "non-square output"},
    "ex-bias-2": {"exact zeros in x (gradient 0 there)"},
    "ex-maxpool-1": {"non-square window", "per-axis stride",
                     "overlapping windows (size 3, stride 2)",
                     "leftover rows"},
    "ex-maxpool-2": {"ties in every window", "non-square window",
                     "overlapping windows (size 3, stride 2)"},
    "ex-im2col-1": {"stride 2, leftover rows differ per axis",
                    "batch, channels, stride 2 and padding 1"},
    "ex-im2col-2": {"stride 2, leftover rows differ per axis",
                    "batch, channels, stride 2 and padding 1"},
    "ex-im2col-3": {"stride 2, leftover rows differ per axis",
                    "batch, channels, stride 2 and padding 1"},
    "ex-training-1": "reference",
}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_solution_calls_run_what_the_exercise_promises(path, recorded,
                                                       capsys):
    """Every promise of an exercise's text is checked by its call."""
    setup, blocks = exercise_blocks(path)
    for label, block in blocks.items():
        if label not in PROMISES:
            continue
        recorded.clear()
        run_cells(setup, block["solution"], path)
        promise = PROMISES[label]
        if promise == "reference":
            assert all(kw.get("reference") for *_, kw, _ in recorded), (
                f"{label}: the loss the learner writes must be compared "
                f"with a reference: pass reference=... to the checker")
            continue
        ran = {o.name for *_, result in recorded for o in result.outcomes
               if o.status == "pass"}
        assert promise <= ran, (
            f"{label}: the text promises {sorted(promise - ran)}, which "
            f"the call does not run")
    capsys.readouterr()


def test_every_promise_names_a_case():
    names = {n for checker in ladders.LADDERS
             for n in exercises.case_names(checker)}
    for label, promise in PROMISES.items():
        assert promise == "reference" or promise <= names, label


def test_passing_cases_say_nothing_more(capsys):
    exercises.check_conv2d(cnnbp.conv2d)
    out = capsys.readouterr().out
    assert all(line.startswith(("  pass  ", "        ")) or line in (
        out.splitlines()[0], out.splitlines()[-1])
        for line in out.splitlines())
    assert "same problem" not in out


def test_the_package_ships_every_subpackage():
    """A regular (non-editable) install must include cnnbp.exercises."""
    import tomllib

    from setuptools import find_packages
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    listed = set(find_packages(str(REPO), include=include))
    found = {".".join(p.parent.relative_to(REPO).parts)
             for p in (REPO / "cnnbp").rglob("__init__.py")}
    assert "cnnbp.exercises" in found
    assert found <= listed, f"pyproject's package search misses " \
        f"{sorted(found - listed)}"
