"""Claims of book/04_padding.ipynb, checked against cnnbp."""
import itertools

import numpy as np
import pytest

import cnnbp
from cnnbp import naive
from cnnbp.shapes import conv_output_shape

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
