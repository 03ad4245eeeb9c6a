"""The exercise checkers, and every published exercise solution.

Each checker must pass cnnbp's own function, fail named buggy variants in
the case that exposes the bug, survive stubs (NotImplementedError) and
wrong shapes, and print the same text on every run. Then every solution
cell of every chapter notebook is run through its checker.
"""

import json
import re
from pathlib import Path

import numpy as np
import pytest

import cnnbp
from cnnbp import exercises, naive

BOOK = Path(__file__).resolve().parents[1] / "book"
NOTEBOOKS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))

CHECKERS = [n for n in exercises.__all__ if n.startswith("check_")]


def filter_gradient(dout, x, w, stride=1, padding=0):
    return cnnbp.conv2d_backward(dout, x, w, stride, padding)[1]


def input_gradient(dout, x, w, stride=1, padding=0):
    return cnnbp.conv2d_backward(dout, x, w, stride, padding)[0]


def bias_gradient(dout):
    return dout.sum(axis=(0, 2, 3))


REFERENCES = {
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
}

NAIVE = {
    "check_conv2d": naive.conv2d,
    "check_conv2d_backward": naive.conv2d_backward,
    "check_filter_gradient": naive.filter_gradient,
    "check_input_gradient": naive.input_gradient,
    "check_bias_gradient": naive.bias_gradient,
    "check_maxpool2d": naive.maxpool2d,
    "check_maxpool2d_backward": naive.maxpool2d_backward,
}


def failing(result):
    return [o.name for o in result.outcomes if o.status == "FAIL"]


def detail(result, name):
    return next(o.detail for o in result.outcomes if o.name == name)


def test_every_checker_has_a_reference():
    assert set(CHECKERS) - {"check_scalar_gradient"} == set(REFERENCES)


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


@pytest.mark.parametrize("checker", sorted(REFERENCES))
def test_stub_reports_not_implemented_without_raising(checker, capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError

    result = getattr(exercises, checker)(stub)
    out = capsys.readouterr().out
    assert not result
    assert result.not_implemented
    assert "not implemented yet" in out
    assert "not implemented yet" in repr(result)


@pytest.mark.parametrize("checker", sorted(REFERENCES))
def test_exception_is_reported_per_case(checker, capsys):
    def broken(*args, **kwargs):
        return [][1]

    result = getattr(exercises, checker)(broken)
    out = capsys.readouterr().out
    assert not result
    assert result.failed == len(result.outcomes)
    assert "raised IndexError: list index out of range" in out


@pytest.mark.parametrize("checker", sorted(REFERENCES))
def test_output_is_deterministic(checker, capsys):
    def off_by_a_bit(*args, **kwargs):
        out = REFERENCES[checker](*args, **kwargs)
        if isinstance(out, tuple):
            return tuple(o + 1e-3 for o in out)
        return out + 1e-3 if isinstance(out, np.ndarray) else out + 1

    texts = []
    for _ in range(2):
        getattr(exercises, checker)(off_by_a_bit)
        texts.append(capsys.readouterr().out)
    assert texts[0] == texts[1]
    assert not re.search(r"0x[0-9a-f]{6,}", texts[0])
    assert "FAIL" in texts[0]


def test_partial_not_implemented_is_a_failure(capsys):
    def stride_one_only(x, w, b=None, stride=1, padding=0, dilation=1):
        if stride != 1:
            raise NotImplementedError
        return cnnbp.conv2d(x, w, b, 1, padding, dilation)

    result = exercises.check_conv2d(stride_one_only)
    assert not result and not result.not_implemented
    todo = [o.name for o in result.outcomes if o.status == "todo"]
    assert "stride 2" in todo
    assert "start with the first failing case (stride 2)" in (
        capsys.readouterr().out)


def test_missing_parameters_skip_cases(capsys):
    def conv_plain(x, w):
        return cnnbp.conv2d(x, w)

    result = exercises.check_conv2d(conv_plain)
    out = capsys.readouterr().out
    assert result
    assert result.skipped > 0
    assert "skip  stride 2: your function has no `stride` parameter" in out
    assert "pass  stride 1" in out


def test_cases_selects_by_name(capsys):
    result = exercises.check_conv2d(cnnbp.conv2d, cases=["stride 1"])
    assert [o.name for o in result.outcomes] == ["stride 1"]
    with pytest.raises(ValueError, match="unknown case names"):
        exercises.check_conv2d(cnnbp.conv2d, cases=["stride 7"])
    assert "per-axis stride and padding" not in [
        o.name for o in exercises.check_conv2d(cnnbp.conv2d).outcomes]


def test_in_place_change_of_input_fails(capsys):
    def relu_backward_in_place(dout, x):
        dout[x <= 0] = 0
        return dout

    result = exercises.check_relu_backward(relu_backward_in_place)
    assert not result
    assert "changed its input `dout` in place" in capsys.readouterr().out


# ------------------------------------------------------ named buggy variants


def output_size_true_division(n, k, stride=1, padding=0, dilation=1):
    return (n + 2 * padding - dilation * (k - 1) - 1) / stride + 1


def output_size_ceil(n, k, stride=1, padding=0, dilation=1):
    return -(-(n + 2 * padding - dilation * (k - 1) - 1) // stride) + 1


def output_size_no_padding(n, k, stride=1, padding=0, dilation=1):
    return (n - dilation * (k - 1) - 1) // stride + 1


def conv2d_true_convolution(x, w, b=None, stride=1, padding=0, dilation=1):
    return cnnbp.conv2d(x, w[:, :, ::-1, ::-1], b, stride, padding, dilation)


def conv2d_ignores_stride(x, w, b=None, stride=1, padding=0, dilation=1):
    return cnnbp.conv2d(x, w, b, 1, padding, dilation)


def conv2d_forgets_bias(x, w, b=None, stride=1, padding=0, dilation=1):
    return cnnbp.conv2d(x, w, None, stride, padding, dilation)


def input_gradient_no_flip(dout, x, w, stride=1, padding=0):
    """dL/dX as a full *correlation*: the 180-degree rotation forgotten."""
    F, C, HH, WW = w.shape
    full = naive.pad(naive.dilate(dout, stride), (HH - 1, WW - 1))
    dx_pad = np.zeros(naive.pad(x, padding).shape)
    H_cov, W_cov = full.shape[2] - HH + 1, full.shape[3] - WW + 1
    for c in range(C):
        for u in range(H_cov):
            for v in range(W_cov):
                patch = full[:, :, u:u + HH, v:v + WW]
                dx_pad[:, c, u, v] = np.einsum("afmn,fmn->a", patch,
                                               w[:, c])
    p = padding
    return dx_pad[:, :, p:dx_pad.shape[2] - p, p:dx_pad.shape[3] - p]


def input_gradient_drops_leftover_rows(dout, x, w, stride=1, padding=0):
    """Returns dx only for the rows and columns the windows covered."""
    dx = input_gradient(dout, x, w, stride, padding)
    H_cov = (dout.shape[2] - 1) * stride + w.shape[2] - 2 * padding
    W_cov = (dout.shape[3] - 1) * stride + w.shape[3] - 2 * padding
    return dx[:, :, :H_cov, :W_cov]


def input_gradient_no_crop(dout, x, w, stride=1, padding=0):
    """Forgets to crop the padding: returns dL/dX^pad."""
    dx = input_gradient(dout, x, w, stride, padding)
    return naive.pad(dx, padding)


def filter_gradient_no_dilation(dout, x, w, stride=1, padding=0):
    """Correlates X^pad with dout at stride 1, no zero insertion."""
    out = np.zeros(w.shape)
    x_pad = naive.pad(x, padding)
    HH, WW = w.shape[2:]
    corr = naive.conv2d(x_pad.transpose(1, 0, 2, 3),
                        dout.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    h, k = min(HH, corr.shape[2]), min(WW, corr.shape[3])
    out[:, :, :h, :k] = corr[:, :, :h, :k]
    return out


def filter_gradient_flipped(dout, x, w, stride=1, padding=0):
    return filter_gradient(dout, x, w, stride, padding)[:, :, ::-1, ::-1]


def bias_gradient_keeps_batch(dout):
    return dout.sum(axis=(2, 3))


def bias_gradient_mean(dout):
    return dout.mean(axis=(0, 2, 3))


def relu_backward_ge(dout, x):
    return dout * (x >= 0)


def relu_backward_no_dout(dout, x):
    return (x > 0).astype(float)


def maxpool2d_zero_init(x, size=2, stride=None):
    return np.maximum(cnnbp.maxpool2d(x, size, stride), 0.0)


def maxpool2d_backward_all_ties(dout, x, size=2, stride=None):
    """Gives every maximum of a window the gradient (no tie rule)."""
    kh, kw = (size, size) if np.isscalar(size) else size
    sh, sw = (kh, kw) if stride is None else (
        (stride, stride) if np.isscalar(stride) else stride)
    dx = np.zeros(x.shape)
    out = cnnbp.maxpool2d(x, size, stride)
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            win = x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            hit = win == out[:, :, i:i + 1, j:j + 1]
            dx[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += (
                hit * dout[:, :, i:i + 1, j:j + 1])
    return dx


def maxpool2d_backward_overwrites(dout, x, size=2, stride=None):
    """Assigns instead of adding where windows overlap."""
    kh, kw = (size, size) if np.isscalar(size) else size
    sh, sw = (kh, kw) if stride is None else (
        (stride, stride) if np.isscalar(stride) else stride)
    dx = np.zeros(x.shape)
    for a in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    win = x[a, c, i * sh:i * sh + kh, j * sw:j * sw + kw]
                    m, n = np.unravel_index(np.argmax(win), win.shape)
                    dx[a, c, i * sh + m, j * sw + n] = dout[a, c, i, j]
    return dx


def im2col_wrong_column_order(x, HH, WW, stride=1, padding=0, dilation=1):
    """Columns ordered (m, n, c) instead of (c, m, n)."""
    cols = cnnbp.im2col(x, HH, WW, stride, padding, dilation)
    C = x.shape[1]
    return cols.reshape(-1, C, HH, WW).transpose(0, 2, 3, 1).reshape(
        cols.shape)


def im2col_transposed(x, HH, WW, stride=1, padding=0, dilation=1):
    return cnnbp.im2col(x, HH, WW, stride, padding, dilation).T


def col2im_assigns(cols, x_shape, HH, WW, stride=1, padding=0, dilation=1):
    """Writes each window back with = instead of +=."""
    N, C, H, W = x_shape
    s, p = stride, padding
    H_out = cnnbp.output_size(H, HH, s, p)
    W_out = cnnbp.output_size(W, WW, s, p)
    x_pad = np.zeros((N, C, H + 2 * p, W + 2 * p))
    rows = cols.reshape(N, H_out, W_out, C, HH, WW)
    for i in range(H_out):
        for j in range(W_out):
            x_pad[:, :, i * s:i * s + HH, j * s:j * s + WW] = rows[:, i, j]
    return x_pad[:, :, p:p + H, p:p + W]


BUGS = [
    ("check_output_size", output_size_true_division, "stride 1",
     "use // for the floor division"),
    ("check_output_size", output_size_ceil,
     "stride 2, leftover rows (floor)", "expected 3, got 4"),
    ("check_output_size", output_size_no_padding, "padding 1",
     "expected 5, got 3"),
    ("check_conv2d", conv2d_true_convolution, "stride 1",
     "out has wrong values"),
    ("check_conv2d", conv2d_ignores_stride, "stride 2",
     "expected (1, 1, 3, 3), got (1, 1, 5, 5)"),
    ("check_conv2d", conv2d_forgets_bias, "bias", "out has wrong values"),
    ("check_input_gradient", input_gradient_no_flip, "stride 1",
     "dx has wrong values"),
    ("check_input_gradient", input_gradient_drops_leftover_rows,
     "stride 2, leftover rows",
     "expected (1, 1, 8, 8), got (1, 1, 7, 7)"),
    ("check_input_gradient", input_gradient_no_crop, "padding 1",
     "expected (1, 1, 5, 5), got (1, 1, 7, 7)"),
    ("check_filter_gradient", filter_gradient_no_dilation, "stride 2",
     "dw has wrong values"),
    ("check_filter_gradient", filter_gradient_flipped, "stride 1",
     "dw has wrong values"),
    ("check_bias_gradient", bias_gradient_keeps_batch, "one filter",
     "expected (1,), got (1, 1)"),
    ("check_bias_gradient", bias_gradient_mean, "several filters",
     "db has wrong values"),
    ("check_relu_backward", relu_backward_ge,
     "exact zeros in x (gradient 0 there)", "dx has wrong values"),
    ("check_relu_backward", relu_backward_no_dout, "mixed signs",
     "dx has wrong values"),
    ("check_maxpool2d", maxpool2d_zero_init, "all negative values",
     "out has wrong values"),
    ("check_maxpool2d_backward", maxpool2d_backward_all_ties,
     "ties: the first maximum gets the gradient", "dx has wrong values"),
    ("check_maxpool2d_backward", maxpool2d_backward_overwrites,
     "overlapping windows (size 3, stride 2)", "dx has wrong values"),
    ("check_im2col", im2col_wrong_column_order,
     "several channels and filters", "cols has wrong values"),
    ("check_im2col", im2col_transposed, "several channels and filters",
     "expected (9, 27), got (27, 9)"),
    ("check_col2im", col2im_assigns, "stride 1", "x has wrong values"),
]


@pytest.mark.parametrize("checker, bug, case, message", BUGS,
                         ids=[b[1].__name__ + "-" + b[2] for b in BUGS])
def test_buggy_variant_fails_in_the_case_that_exposes_it(
        checker, bug, case, message, capsys):
    result = getattr(exercises, checker)(bug)
    out = capsys.readouterr().out
    assert not result
    assert case in failing(result), out
    assert message in detail(result, case), out


def test_bug_only_fails_where_it_matters(capsys):
    result = exercises.check_input_gradient(
        input_gradient_drops_leftover_rows)
    assert failing(result) == [
        "stride 2, leftover rows",
        "everything: batch, channels, stride 2, padding 1"]
    result = exercises.check_relu_backward(relu_backward_ge)
    assert failing(result) == ["exact zeros in x (gradient 0 there)"]
    result = exercises.check_maxpool2d_backward(maxpool2d_backward_all_ties)
    assert failing(result) == ["ties: the first maximum gets the gradient"]


def test_backward_names_the_wrong_gradient(capsys):
    def db_wrong(dout, x, w, stride=1, padding=0, dilation=1):
        dx, dw, db = cnnbp.conv2d_backward(dout, x, w, stride, padding,
                                           dilation)
        return dx, dw, 2 * db

    result = exercises.check_conv2d_backward(db_wrong)
    assert not result
    assert "db has wrong values" in detail(result, "stride 1")
    assert "max abs error" in detail(result, "stride 1")

    def returns_dx_only(dout, x, w, stride=1, padding=0, dilation=1):
        return cnnbp.conv2d_backward(dout, x, w, stride, padding,
                                     dilation)[0]

    result = exercises.check_conv2d_backward(returns_dx_only)
    assert "expected a tuple (dx, dw, db), got ndarray" in detail(
        result, "stride 1")


def test_forgotten_return(capsys):
    def no_return(x, w, b=None, stride=1, padding=0, dilation=1):
        cnnbp.conv2d(x, w, b, stride, padding, dilation)

    result = exercises.check_conv2d(no_return)
    assert "did you forget `return`?" in detail(result, "stride 1")


def test_scalar_gradient(capsys):
    def f(x, y, z):
        return (x + y) * z

    points = [(1.0, 2.0, -3.0), (0.5, -1.5, 2.0)]
    assert exercises.check_scalar_gradient(
        f, lambda x, y, z: (z, z, x + y), points)
    wrong = exercises.check_scalar_gradient(
        f, lambda x, y, z: (z, z, x), points)
    assert not wrong
    assert "d/dz has wrong values" in detail(wrong, "point 0")
    short = exercises.check_scalar_gradient(f, lambda x, y, z: (z, z),
                                            points)
    assert "expected a tuple of 3 partial derivatives" in detail(
        short, "point 0")
    assert exercises.check_scalar_gradient(
        lambda v: float(np.sum(v ** 2)), lambda v: 2 * v,
        [(np.arange(3.0),)])


def test_case_names():
    assert exercises.case_names("check_conv2d")[:2] == ["stride 1",
                                                         "stride 2"]
    assert exercises.case_names(exercises.check_im2col)
    with pytest.raises(ValueError):
        exercises.case_names("check_nothing")


# ------------------------------------------------- the chapters' exercises

MARKER = re.compile(
    r"```\{(exercise-start|exercise-end|solution-start|solution-end)\}"
    r"[ \t]*(\S*)[^\n]*((?:\n:[\w-]+:[^\n]*)*)")
LABEL = re.compile(r":label:[ \t]*(\S+)")


def exercise_blocks(path):
    """Exercises of a notebook: label -> {"stub": [...], "solution": [...]}.

    Walks the cells in order; markdown cells may hold several gated
    directives (exercise-end followed by solution-start, ...). Code cells
    between exercise-start and exercise-end are stubs, between
    solution-start and solution-end solutions.
    """
    nb = json.loads(path.read_text(encoding="utf-8"))
    blocks, state, label, setup = {}, None, None, None
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] == "code":
            if setup is None:
                setup = src
            if state in ("exercise", "solution"):
                key = "stub" if state == "exercise" else "solution"
                blocks[label][key].append(src)
            continue
        if cell["cell_type"] != "markdown":
            continue
        for kind, arg, options in MARKER.findall(src):
            if kind == "exercise-start":
                found = LABEL.search(options)
                label = found.group(1) if found else arg
                assert label, f"{path.name}: exercise-start without :label:"
                assert label not in blocks, f"{path.name}: duplicate {label}"
                blocks[label] = {"stub": [], "solution": [],
                                 "has_solution": False}
                state = "exercise"
            elif kind == "exercise-end":
                assert state == "exercise", f"{path.name}: stray end"
                state = None
            elif kind == "solution-start":
                label = arg
                assert label in blocks, (
                    f"{path.name}: solution for unknown exercise {label!r}")
                blocks[label]["has_solution"] = True
                state = "solution"
            else:
                assert state == "solution", f"{path.name}: stray end"
                state = None
    assert state is None, f"{path.name}: unclosed {state} block"
    return setup or "", blocks


def runnable(src):
    """Cell source without IPython magics and shell escapes."""
    return "\n".join(line for line in src.splitlines()
                     if not line.lstrip().startswith(("%", "!")))


@pytest.fixture
def recorded(monkeypatch):
    """Replace every checker by a recording wrapper; yield the records."""
    calls = []
    for name in CHECKERS:
        original = getattr(exercises, name)

        def wrapper(*args, _original=original, **kwargs):
            result = _original(*args, **kwargs)
            calls.append(result)
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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_chapter_has_2_to_4_exercises_with_solutions(path):
    _, blocks = exercise_blocks(path)
    assert 2 <= len(blocks) <= 4, (
        f"{path.name} has {len(blocks)} exercises; want 2-4")
    missing = [k for k, b in blocks.items() if not b["has_solution"]]
    assert not missing, f"{path.name}: exercises without solution {missing}"


def calls_checker(cells):
    """True if the code calls one of the cnnbp.exercises checkers."""
    return any(re.search(rf"\b{name}\(", src)
               for src in cells for name in CHECKERS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_solutions_pass_their_checker(path, recorded, capsys):
    """Every solution that calls a checker runs in a fresh namespace (after
    the notebook's setup cell) and passes; at least one per chapter.
    Solutions without a checker (pen and paper, or a demonstration that
    uses the chapter's state) run with the notebook under nbval."""
    setup, blocks = exercise_blocks(path)
    checked = [label for label, block in blocks.items()
               if calls_checker(block["solution"])]
    assert checked, (f"{path.name}: no solution runs a cnnbp.exercises "
                     f"checker")
    for label in checked:
        recorded.clear()
        run_cells(setup, blocks[label]["solution"], path)
        out = capsys.readouterr().out
        assert recorded, f"{label}: the checker was not called"
        for result in recorded:
            assert result, f"{label}: {result!r}\n{out}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_stubs_run_without_raising(path, recorded, capsys):
    """A stub cell calls its checker, which reports "not implemented yet"
    (or failures) instead of raising, so the notebook runs."""
    setup, blocks = exercise_blocks(path)
    for label, block in blocks.items():
        if not calls_checker(block["stub"]):
            continue
        recorded.clear()
        run_cells(setup, block["stub"], path)
        assert recorded, f"{label}: the checker was not called"
        for result in recorded:
            assert not result, f"{label}: the stub already passes"
