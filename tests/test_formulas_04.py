"""Claims of book/04_padding.ipynb, checked against cnnbp, and of the
conventions box of book/intro.md (other texts' symbols in ours)."""
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

import cnnbp
from cnnbp import indexmap, naive
from cnnbp.gradcheck import numerical_gradient
from cnnbp.shapes import conv_output_shape

BOOK = Path(__file__).resolve().parents[1] / "book"


def first_cell(stem, *needles):
    """Index of the first cell of a chapter whose source has all needles."""
    cells = json.loads((BOOK / f"{stem}.ipynb").read_text())["cells"]
    for k, cell in enumerate(cells):
        if all(n in "".join(cell["source"]) for n in needles):
            return k
    raise AssertionError(f"{stem}: no cell with {needles}")

SETTINGS = [
    # (H, W, HH, WW, stride, padding)
    (5, 5, 3, 3, 1, 1),
    (7, 6, 3, 2, 2, 1),
    (8, 8, 3, 3, 2, 2),
    (6, 9, 2, 4, (1, 2), (2, 1)),
    (4, 4, 5, 5, 1, 1),
]


@pytest.mark.parametrize("H, W, HH, WW, s, p", SETTINGS)
def test_padded_conv_is_valid_conv_of_padded_input(H, W, HH, WW, s, p):
    """conv2d(x, w, padding=p) == conv2d(pad(x, p), w), same stride."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, H, W))
    w = rng.standard_normal((2, 3, HH, WW))
    b = rng.standard_normal(2)
    np.testing.assert_allclose(
        cnnbp.conv2d(x, w, b, stride=s, padding=p),
        cnnbp.conv2d(naive.pad(x, p), w, b, stride=s), atol=1e-12)


def test_pad_definition():
    """X^pad[u, v] = X[u - p, v - p] inside, 0 on the border."""
    x = np.arange(1.0, 17.0).reshape(1, 1, 4, 4)
    for p in range(4):
        xp = naive.pad(x, p)
        assert xp.shape == (1, 1, 4 + 2 * p, 4 + 2 * p)
        for u in range(4 + 2 * p):
            for v in range(4 + 2 * p):
                inside = 0 <= u - p < 4 and 0 <= v - p < 4
                expected = x[0, 0, u - p, v - p] if inside else 0.0
                assert xp[0, 0, u, v] == expected


def test_output_size_counts_window_starts():
    """H_out = number of starts 0, s, 2s, ... with the window inside."""
    for H, k, s, p, d in itertools.product(range(1, 13), range(1, 6),
                                           range(1, 4), range(3),
                                           range(1, 3)):
        k_eff = d * (k - 1) + 1
        if k_eff > H + 2 * p:
            with pytest.raises(ValueError):
                cnnbp.output_size(H, k, s, p, d)
            continue
        starts = [r for r in range(0, H + 2 * p, s)
                  if r + k_eff <= H + 2 * p]
        assert cnnbp.output_size(H, k, s, p, d) == len(starts)
        assert len(starts) == (H + 2 * p - k_eff) // s + 1


def test_shrinking_without_padding_and_kept_with_padding():
    sizes, sizes_p = [28], [28]
    for _ in range(10):
        sizes.append(cnnbp.output_size(sizes[-1], 3))
        sizes_p.append(cnnbp.output_size(sizes_p[-1], 3, padding=1))
    assert sizes[-1] == 8
    assert sizes_p == [28] * 11


def window_counts(H, k, p):
    x = np.zeros((1, 1, H, H))
    w = np.ones((1, 1, k, k))
    out_shape, _ = conv_output_shape(x.shape, w.shape, padding=p)
    return cnnbp.conv2d_backward(np.ones(out_shape), x, w, padding=p)[0]


def test_border_usage_counts():
    """Corner in 1 window, centre in 9; with padding 1 the corner in 4."""
    c0 = window_counts(6, 3, 0)[0, 0]
    c1 = window_counts(6, 3, 1)[0, 0]
    assert c0[0, 0] == 1 and c0[3, 3] == 9
    assert c1[0, 0] == 4 and c1[3, 3] == 9
    brute = np.zeros((6, 6))
    for i in range(4):
        for j in range(4):
            brute[i:i + 3, j:j + 3] += 1
    np.testing.assert_array_equal(c0, brute)


def test_padded_corner_sits_under_four_filter_cells_only():
    """With p = 1 the corner X[0, 0] is under F[m, n] for m, n <= 1 only,
    in windows of which 5, 3, 3 and 0 cells are padding."""
    g = indexmap.conv_geometry(6, 6, 3, 3, padding=1)
    terms = indexmap.input_grad_terms(g, 0, 0)
    assert [(t.i, t.j) for t in terms] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert {(t.m, t.n) for t in terms} == {(0, 0), (0, 1), (1, 0), (1, 1)}
    on_pad = [sum(c.u is None for c in indexmap.forward_terms(g, t.i, t.j))
              for t in terms]
    assert on_pad == [5, 3, 3, 0]
    # the other 5 filter cells would need a window starting at padded
    # row or column -1: outside the padded input
    for m, n in itertools.product(range(3), repeat=2):
        if max(m, n) == 2:
            assert min(1 - m, 1 - n) < 0


BORDERS = {"zeros": dict(mode="constant"),
           "the constant 5": dict(mode="constant", constant_values=5.0),
           "reflect": dict(mode="reflect"),
           "replicate": dict(mode="edge")}


@pytest.mark.parametrize("name, crops", [("zeros", True),
                                         ("the constant 5", True),
                                         ("reflect", False),
                                         ("replicate", False)])
def test_constant_borders_crop_copied_borders_do_not(name, crops):
    """dL/dX is the crop of dL/dX^pad for any constant border, not for a
    border made of copies of X."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((1, 2, 4, 5))
    w = rng.standard_normal((3, 2, 3, 3))
    dout = rng.standard_normal((1, 3, 4, 5))
    border = ((0, 0), (0, 0), (1, 1), (1, 1))
    rule = BORDERS[name]

    def padded_conv(v):
        return cnnbp.conv2d(np.pad(v, border, **rule), w)

    dx = numerical_gradient(padded_conv, x, dout)
    dx_pad = cnnbp.conv2d_backward(dout, np.pad(x, border, **rule), w)[0]
    assert np.allclose(dx_pad[:, :, 1:5, 1:6], dx) == crops


def test_chapter_border_rules_print_as_stated():
    """The chapter's printed verdicts: True, True, False, False."""
    x4 = np.random.default_rng(4).standard_normal((1, 1, 4, 4))
    w3 = np.random.default_rng(5).standard_normal((1, 1, 3, 3))
    dout4 = np.random.default_rng(6).standard_normal((1, 1, 4, 4))
    border = ((0, 0), (0, 0), (1, 1), (1, 1))
    verdicts = []
    for rule in BORDERS.values():
        dx = numerical_gradient(
            lambda v: cnnbp.conv2d(np.pad(v, border, **rule), w3), x4, dout4)
        x_pad = np.pad(x4, border, **rule)
        crop = cnnbp.conv2d_backward(dout4, x_pad, w3)[0][:, :, 1:5, 1:5]
        verdicts.append(bool(np.allclose(crop, dx)))
    assert verdicts == [True, True, False, False]


@pytest.mark.parametrize("k", [1, 3, 5, 7, 9])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_same_padding_keeps_size_only_at_stride_1(k, d):
    """p = d(k - 1)/2 keeps H at s = 1 and gives ceil(H / s) at s > 1."""
    p = d * (k - 1) // 2
    for H in range(d * (k - 1) + 1, 40):
        assert cnnbp.output_size(H, k, 1, p, d) == H
        for s in (2, 3):
            assert cnnbp.output_size(H, k, s, p, d) == -(-H // s)
            assert H == 1 or cnnbp.output_size(H, k, s, p, d) < H


@pytest.mark.parametrize("k", [2, 4, 6])
def test_even_kernel_has_no_symmetric_same_padding(k):
    for H in range(k, 30):
        sizes = {cnnbp.output_size(H, k, padding=p) for p in range(k)}
        assert H not in sizes


def test_calls_from_the_chapter_and_quiz():
    with pytest.raises(ValueError, match="larger than the padded input"):
        cnnbp.output_size(5, 7)
    assert cnnbp.output_size(5, 7, padding=1) == 1
    assert cnnbp.output_size(5, 3, dilation=2) == 1
    assert cnnbp.output_size(9, 3, stride=2, dilation=2) == 3
    assert cnnbp.output_size(4, 3, stride=5) == 1
    assert cnnbp.output_size(10, 3, dilation=3) == 4
    assert cnnbp.output_size(32, 5, stride=1, padding=4, dilation=2) == 32
    assert cnnbp.output_size(32, 5, stride=2, padding=4, dilation=2) == 16


def test_worked_example_is_14_not_15():
    """256x3x28x28, 32 filters 3x3, s=2, p=1 -> 256x32x14x14."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 3, 28, 28))
    w = rng.standard_normal((32, 3, 3, 3))
    out = cnnbp.conv2d(x, w, np.zeros(32), stride=2, padding=1)
    assert out.shape == (256, 32, 14, 14)
    H, k, s, p = 28, 3, 2, 1
    assert (H + 2 * p - k) / s == 13.5
    assert int(np.ceil((H + 2 * p - k) / s)) + 1 == 15
    assert (H + 2 * p) // s == 15
    # The 15th window (i = 14) would need padded rows 28..30 of 0..29.
    assert 14 * s + k - 1 == 30 > H + 2 * p - 1
    assert 13 * s + k - 1 <= H + 2 * p - 1


def test_padding_gradient_is_cropped():
    """dL/dX of a padded conv = dL/dX^pad of the valid conv, cropped."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 2, 5, 6))
    w = rng.standard_normal((3, 2, 3, 3))
    dout = rng.standard_normal(cnnbp.conv2d(x, w, stride=2,
                                            padding=2).shape)
    dx = cnnbp.conv2d_backward(dout, x, w, stride=2, padding=2)[0]
    dx_pad = cnnbp.conv2d_backward(dout, naive.pad(x, 2), w, stride=2)[0]
    np.testing.assert_allclose(dx, dx_pad[:, :, 2:7, 2:8], atol=1e-12)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_pytorch_same_padding_claims():
    """Even k: the extra zero row goes at the bottom; stride 2 refused."""
    torch = pytest.importorskip("torch")
    x = torch.arange(25.0).reshape(1, 1, 5, 5)
    w = torch.zeros(1, 1, 2, 2)
    w[0, 0, 0, 0] = 1.0   # picks the top-left cell of each window
    out = torch.nn.functional.conv2d(x, w, padding="same")
    assert torch.equal(out, x)   # no zero row on top: extra one at bottom
    with pytest.raises(RuntimeError, match="strided"):
        torch.nn.functional.conv2d(x, torch.ones(1, 1, 3, 3), stride=2,
                                   padding="same")


def test_cnnbp_rejects_stride_below_1_and_negative_padding():
    x, w = np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3))
    with pytest.raises(ValueError):
        cnnbp.conv2d(x, w, stride=0)
    with pytest.raises(ValueError):
        cnnbp.conv2d(x, w, padding=-1)
    with pytest.raises(ValueError):
        cnnbp.output_size(5, 3, stride=0)


def test_worked_example_quiz_comes_before_the_answer():
    """padding-worked-hout is asked before the page computes 14."""
    quiz = first_cell("04_padding", "quiz.show", "padding-worked-hout")
    formula = first_cell("04_padding", "\\lfloor 13.5 \\rfloor + 1 = 14")
    layer = first_cell("04_padding", "out_big = cnnbp.conv2d(")
    assert quiz < formula < layer


def test_quiz_same_stride2_asks_a_size_the_page_does_not_print():
    """The page's stride-2 table prints H = 7, 8, 27, 28; the quiz asks
    H = 20: 10 (ceil(20/2)), 9 without padding, 11 rounded up."""
    cells = json.loads((BOOK / "04_padding.ipynb").read_text())["cells"]
    table = "".join(cells[first_cell("04_padding", "s=2,p=1")]["source"])
    assert "for H in (7, 8, 27, 28):" in table
    assert cnnbp.output_size(20, 3, stride=2, padding=1) == 10 == -(-20 // 2)
    assert cnnbp.output_size(20, 3, stride=2) == 9
    assert int(np.ceil((20 + 2 - 3) / 2)) + 1 == 11


# ---- the conventions box of book/intro.md ----


def test_cs231n_f_is_our_k_and_k_is_our_filter_count():
    """CS231n: W2 = (W1 - F + 2P)/S + 1 (a whole number), D2 = K."""
    for W1, F, S, P in itertools.product(range(1, 16), range(1, 6),
                                         range(1, 4), range(3)):
        if F > W1 + 2 * P or (W1 - F + 2 * P) % S:
            continue
        assert (W1 - F + 2 * P) // S + 1 == cnnbp.output_size(W1, F, S, P)
    K = 6
    out = cnnbp.conv2d(np.zeros((1, 3, 9, 9)), np.zeros((K, 3, 5, 5)))
    assert out.shape[1] == K


def test_cs231n_dilation_counts_gaps():
    """CS231n's dilation 1: w0 x0 + w1 x2 + w2 x4, which is our d = 2;
    its dilation 0 is our d = 1."""
    x = np.arange(1.0, 8.0).reshape(1, 1, 1, 7)
    w = np.array([2.0, -1.0, 0.5]).reshape(1, 1, 1, 3)
    w0, w1, w2 = w.ravel()
    x0, x1, x2, x3, x4 = x.ravel()[:5]
    ours = cnnbp.conv2d(x, w, dilation=(1, 2))[0, 0, 0, 0]
    assert ours == w0 * x0 + w1 * x2 + w2 * x4
    assert cnnbp.conv2d(x, w)[0, 0, 0, 0] == w0 * x0 + w1 * x1 + w2 * x2


def test_pytorch_dilation_is_ours():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    x = rng.standard_normal((2, 3, 11, 10))
    w = rng.standard_normal((4, 3, 3, 2))
    for d in (1, 2, 3):
        ref = torch.nn.functional.conv2d(torch.from_numpy(x),
                                         torch.from_numpy(w), dilation=d)
        np.testing.assert_allclose(cnnbp.conv2d(x, w, dilation=d),
                                   ref.numpy(), atol=1e-12)


def test_d2l_total_padding_is_twice_ours():
    """D2L: floor((n - k + p_h + s) / s) with p_h = 2p is our formula."""
    for n, k, s, p in itertools.product(range(1, 16), range(1, 6),
                                        range(1, 4), range(3)):
        if k > n + 2 * p:
            continue
        p_h = 2 * p
        assert (n - k + p_h + s) // s == cnnbp.output_size(n, k, s, p)


def tensorflow_same(H, k, s, d=1):
    """TensorFlow's documented 'SAME' rule: (H_out, pad_top, pad_bottom).

    out = ceil(H / s); pad_along = max((out - 1) s + k_eff - H, 0);
    pad_top = pad_along // 2; pad_bottom = pad_along - pad_top.
    """
    out = -(-H // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - H, 0)
    return out, total // 2, total - total // 2


@pytest.mark.parametrize("s", [1, 2, 3])
@pytest.mark.parametrize("d", [1, 2])
def test_tensorflow_same_is_the_least_padding_for_ceil_h_over_s(s, d):
    """Against an explicit computation: the least total padding whose
    valid convolution has ceil(H/s) rows, the docs' two-case form, and
    the real convolution of the padded input."""
    for H, k in itertools.product(range(1, 14), range(1, 6)):
        k_eff = d * (k - 1) + 1
        out, top, bottom = tensorflow_same(H, k, s, d)
        assert out == int(np.ceil(H / s))
        least = next(P for P in itertools.count()
                     if H + P >= k_eff
                     and cnnbp.output_size(H + P, k, s, 0, d) == out)
        assert top + bottom == least
        assert bottom - top in (0, 1)
        alt = max(k_eff - (s if H % s == 0 else H % s), 0)
        assert top + bottom == alt
        x = np.pad(np.zeros((1, 1, H, 1)), ((0, 0), (0, 0), (top, bottom),
                                            (0, 0)))
        y = cnnbp.conv2d(x, np.zeros((1, 1, k, 1)), stride=(s, 1),
                         dilation=(d, 1))
        assert y.shape[2] == out


def test_tensorflow_same_stride2_differs_from_pytorch_padding_1():
    """3x3, stride 2, 28x28: TensorFlow pads (0, 1), PyTorch (1, 1); both
    14x14; TF keeps the odd rows/columns of the stride-1 'same' output,
    PyTorch the even ones."""
    assert tensorflow_same(28, 3, 2) == (14, 0, 1)
    assert cnnbp.output_size(28, 3, stride=2, padding=1) == 14
    rng = np.random.default_rng(13)
    x = rng.standard_normal((1, 2, 28, 28))
    w = rng.standard_normal((3, 2, 3, 3))
    tf = cnnbp.conv2d(np.pad(x, ((0, 0), (0, 0), (0, 1), (0, 1))), w,
                      stride=2)
    torch_like = cnnbp.conv2d(x, w, stride=2, padding=1)
    same_1 = cnnbp.conv2d(x, w, padding=1)
    assert tf.shape == torch_like.shape == (1, 3, 14, 14)
    np.testing.assert_allclose(tf, same_1[:, :, 1::2, 1::2], atol=1e-12)
    np.testing.assert_allclose(torch_like, same_1[:, :, ::2, ::2],
                               atol=1e-12)
    assert not np.allclose(tf, torch_like)
    # an odd total is never symmetric
    assert all(sum(tensorflow_same(H, 4, 1)[1:]) == 3 for H in range(4, 20))


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("k, d", [(2, 1), (4, 1), (3, 1), (2, 3), (3, 2)])
def test_pytorch_same_pads_d_k_minus_1_extra_row_at_the_bottom(k, d):
    """padding='same': total d(k-1), floor half on top and left."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(14)
    x = rng.standard_normal((1, 1, 9, 8))
    w = rng.standard_normal((1, 1, k, k))
    total = d * (k - 1)
    top, bottom = total // 2, total - total // 2
    ref = torch.nn.functional.conv2d(torch.from_numpy(x),
                                     torch.from_numpy(w), padding="same",
                                     dilation=d).numpy()
    mine = cnnbp.conv2d(np.pad(x, ((0, 0), (0, 0), (top, bottom),
                                   (top, bottom))), w, dilation=d)
    assert ref.shape == x.shape
    np.testing.assert_allclose(mine, ref, atol=1e-12)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("HH, WW, d", [(2, 3, (1, 1)), (3, 4, (2, 1)),
                                       (4, 2, (1, 3))])
def test_pytorch_same_pads_rows_and_columns_of_a_non_square_filter(HH, WW,
                                                                    d):
    """padding='same' on an HH x WW filter: d(HH-1) rows and d(WW-1)
    columns in total, the odd one out at the bottom and the right."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(15)
    x = rng.standard_normal((1, 2, 9, 8))
    w = rng.standard_normal((3, 2, HH, WW))
    rows, cols = d[0] * (HH - 1), d[1] * (WW - 1)
    ref = torch.nn.functional.conv2d(torch.from_numpy(x),
                                     torch.from_numpy(w), padding="same",
                                     dilation=d).numpy()
    mine = cnnbp.conv2d(np.pad(x, ((0, 0), (0, 0),
                                   (rows // 2, rows - rows // 2),
                                   (cols // 2, cols - cols // 2))),
                        w, dilation=d)
    assert ref.shape == (1, 3, 9, 8)
    np.testing.assert_allclose(mine, ref, atol=1e-12)
