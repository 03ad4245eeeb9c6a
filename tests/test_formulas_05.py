"""Claims of book/05_channels.ipynb, checked against cnnbp."""
import json
from pathlib import Path

import numpy as np
import pytest

import cnnbp
from cnnbp import layers


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), ((1, 2),
                                                              (2, 0))])
def test_output_is_sum_of_per_channel_maps_plus_one_bias(stride, padding):
    """O[a, f] = b[f] + sum_c X[a, c] * F[f, c]."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 7, 6))
    w = rng.standard_normal((3, 4, 3, 2))
    b = rng.standard_normal(3)
    out = cnnbp.conv2d(x, w, b, stride=stride, padding=padding)
    for f in range(3):
        total = sum(cnnbp.conv2d(x[:, c:c + 1], w[f:f + 1, c:c + 1],
                                 stride=stride, padding=padding)[:, 0]
                    for c in range(4))
        np.testing.assert_allclose(out[:, f], total + b[f], atol=1e-12)


def test_shapes_through_two_layers():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 3, 28, 28))
    h1 = cnnbp.conv2d(x, rng.standard_normal((16, 3, 3, 3)), np.zeros(16),
                      stride=1, padding=1)
    h2 = cnnbp.conv2d(h1, rng.standard_normal((32, 16, 3, 3)),
                      np.zeros(32), stride=2, padding=1)
    assert h1.shape == (8, 16, 28, 28)
    assert h2.shape == (8, 32, 14, 14)


def test_channel_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(8, 16, 5, 5\).*\(32, 3, 3, 3\)"):
        cnnbp.conv2d(np.zeros((8, 16, 5, 5)), np.zeros((32, 3, 3, 3)))


def test_output_channels_count_filters():
    out = cnnbp.conv2d(np.zeros((4, 3, 10, 10)), np.zeros((6, 3, 5, 5)))
    assert out.shape == (4, 6, 6, 6)


def test_per_channel_biases_collapse_to_one():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 3, 5, 5))
    w = rng.standard_normal((1, 3, 2, 2))
    beta = rng.standard_normal(3)
    per = sum(cnnbp.conv2d(x[:, c:c + 1], w[:, c:c + 1])[0, 0] + beta[c]
              for c in range(3))
    np.testing.assert_allclose(
        per, cnnbp.conv2d(x, w, np.array([beta.sum()]))[0, 0], atol=1e-12)


@pytest.mark.parametrize("F, C, k", [(32, 3, 3), (64, 16, 3), (64, 3, 5),
                                     (128, 64, (3, 2))])
def test_parameter_count(F, C, k):
    """F * C * HH * WW + F, independent of image and batch size."""
    HH, WW = (k, k) if isinstance(k, int) else k
    layer = layers.Conv2d(C, F, k)
    n = sum(v.size for v in layer.params.values())
    assert n == F * C * HH * WW + F


def test_parameter_numbers_in_the_chapter():
    assert 32 * 3 * 3 * 3 + 32 == 896
    H_out = cnnbp.output_size(28, 3, stride=2, padding=1)
    n_dense = (3 * 28 * 28) * (32 * H_out ** 2) + 32 * H_out ** 2
    assert 14e6 < n_dense < 15e6
    assert 64 * 16 * 9 + 64 == 9280
    assert (64 * 3 * 25 + 64, 128 * 64 * 9 + 128) == (4864, 73856)
    assert 4864 + 73856 == 78720


def test_exercise_network_shapes():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((10, 3, 32, 32))
    h1 = cnnbp.conv2d(x, rng.standard_normal((64, 3, 5, 5)), stride=1,
                      padding=2)
    h2 = cnnbp.conv2d(h1, rng.standard_normal((128, 64, 3, 3)), stride=2,
                      padding=1)
    assert h1.shape == (10, 64, 32, 32) and h2.shape == (10, 128, 16, 16)


def test_one_by_one_conv_is_channel_matmul():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 16, 6, 5))
    w = rng.standard_normal((5, 16, 1, 1))
    b = rng.standard_normal(5)
    expected = (np.einsum("fc,achw->afhw", w[:, :, 0, 0], x)
                + b[None, :, None, None])
    np.testing.assert_allclose(cnnbp.conv2d(x, w, b), expected, atol=1e-12)


def test_worked_example_cell():
    """The chapter's seeded example: per-channel sums + b = cnnbp."""
    g = np.random.default_rng(5)
    xs = g.integers(-2, 3, size=(1, 3, 4, 4)).astype(float)
    ws = g.integers(-1, 2, size=(2, 3, 2, 2)).astype(float)
    bs = np.array([0.5, -1.0])
    out = cnnbp.conv2d(xs, ws, bs)
    for f in range(2):
        for i in range(3):
            for j in range(3):
                by_hand = bs[f] + sum(
                    float((xs[0, c, i:i + 2, j:j + 2] * ws[f, c]).sum())
                    for c in range(3))
                assert out[0, f, i, j] == by_hand


def test_grouped_filters_have_c_over_g_channels():
    """'A filter has as many channels as its input' holds for the standard
    convolution; with g groups a filter has C/g channels (depthwise: 1)."""
    torch = pytest.importorskip("torch")
    assert torch.nn.Conv2d(16, 32, 3).weight.shape == (32, 16, 3, 3)
    assert torch.nn.Conv2d(16, 32, 3, groups=4).weight.shape == (32, 4, 3, 3)
    assert torch.nn.Conv2d(16, 16, 3, groups=16).weight.shape == (16, 1, 3,
                                                                  3)


def test_worked_sum_quiz_comes_before_the_sum_is_printed():
    path = Path(__file__).resolve().parents[1] / "book" / "05_channels.ipynb"
    cells = ["".join(c["source"])
             for c in json.loads(path.read_text())["cells"]]
    quiz = next(k for k, s in enumerate(cells)
                if "quiz.show" in s and "channels-worked-sum" in s)
    maps = next(k for k, s in enumerate(cells) if "per_channel = [" in s)
    total = next(k for k, s in enumerate(cells)
                 if "sum(per_channel) + bs[f]" in s)
    assert maps < quiz < total
