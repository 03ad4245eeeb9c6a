"""Claims of book/18_fast_convolutions.ipynb, checked against cnnbp,
finite differences and PyTorch."""
import json
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import cnnbp
from cnnbp import conv, naive, winograd
from cnnbp.exercises import fast_conv
from cnnbp.gradcheck import numerical_gradient, rel_error
from cnnbp.shapes import conv_output_shape

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "book" / "18_fast_convolutions.ipynb"
MS = sorted(winograd.POINTS)

#: (x shape, w shape, stride, padding): non-square, per-axis.
LAYERS = [
    ((2, 3, 7, 7), (4, 3, 3, 3), 2, 1),
    ((2, 3, 9, 8), (5, 3, 3, 2), (2, 3), (1, 0)),
    ((1, 2, 11, 10), (3, 2, 5, 4), (3, 2), (2, 1)),
    ((3, 1, 8, 9), (2, 1, 2, 3), (2, 2), 0),
]


def mats(m):
    return tuple(np.array(t, dtype=float) for t in winograd.transforms(m))


def pairs(s, p):
    return cnnbp.shapes.pair(s, "s"), cnnbp.shapes.pair(p, "p")


def spec(x_shape, w_shape, s, p, dtype):
    out_shape, hyper = conv_output_shape(x_shape, w_shape, s, p)
    return conv.ConvSpec(x_shape, w_shape, out_shape, hyper,
                         np.dtype(dtype))


# ------------------------------------------------------ im2col's cost

@pytest.mark.parametrize("x_shape, w_shape, s, p", LAYERS)
def test_macs_and_cols_size(x_shape, w_shape, s, p):
    """MACs = N K Ho Wo C HH WW, the size of each of the three im2col
    matrix products (forward, dW, dcols); cols is Ho Wo HH WW / (H W)
    times x."""
    N, C, H, W = x_shape
    K, _, HH, WW = w_shape
    sp = spec(x_shape, w_shape, s, p, np.float64)
    _, _, Ho, Wo = sp.out_shape
    assert sp.macs() == N * K * Ho * Wo * C * HH * WW
    cols = cnnbp.im2col(np.zeros(x_shape), HH, WW, stride=s, padding=p)
    rows, inner = cols.shape
    assert rows * inner * K == sp.macs()        # cols @ w_mat.T
    assert K * rows * inner == sp.macs()        # dout_cols.T @ cols
    assert rows * K * inner == sp.macs()        # dout_cols @ w_mat
    assert cols.size / np.prod(x_shape) == pytest.approx(
        Ho * Wo * HH * WW / (H * W))


def test_benchmark_layers_as_printed():
    l1 = spec((256, 3, 28, 28), (32, 3, 3, 3), 2, 1, np.float32)
    l2 = spec((256, 32, 14, 14), (64, 32, 3, 3), 1, 1, np.float32)
    assert l1.macs() == 43_352_064 and l2.macs() == 924_844_032
    cols = cnnbp.im2col(np.zeros((1, 32, 14, 14), np.float32), 3, 3, 1, 1)
    assert cols.nbytes * 256 / 2 ** 20 == pytest.approx(55.125)
    assert cols.size / (32 * 14 * 14) == 9


# ------------------------------------------------------- polyphase

def polyphase_forward(x, w, s, p):
    """O = sum over planes (r, q) of P_rq * F_rq, cropped."""
    (sh, sw), (ph, pw) = pairs(s, p)
    x_pad = naive.pad(x, (ph, pw))
    out = naive.conv2d(x, w, stride=(sh, sw), padding=(ph, pw))
    Ho, Wo = out.shape[2:]
    total = np.zeros_like(out)
    for r in range(sh):
        for q in range(sw):
            taps = w[:, :, r::sh, q::sw]
            if taps.size == 0:
                continue
            plane = x_pad[:, :, r::sh, q::sw]
            total += naive.conv2d(plane, taps)[:, :, :Ho, :Wo]
    return total


def polyphase_input_gradient(dout, x, w, s, p):
    """Interleave the planes' full convolutions, then crop."""
    (sh, sw), (ph, pw) = pairs(s, p)
    H, W = x.shape[2:]
    x_pad = naive.pad(x, (ph, pw))
    Ho, Wo = dout.shape[2:]
    dx_pad = np.zeros_like(x_pad)
    for r in range(sh):
        for q in range(sw):
            taps = w[:, :, r::sh, q::sw]
            if taps.size == 0:
                continue
            plane = x_pad[:, :, r::sh, q::sw]
            g = np.zeros(naive.conv2d(plane, taps).shape)
            g[:, :, :Ho, :Wo] = dout
            dx_pad[:, :, r::sh, q::sw] = naive.input_gradient(g, plane,
                                                              taps)
    return dx_pad[:, :, ph:ph + H, pw:pw + W]


@pytest.mark.parametrize("x_shape, w_shape, s, p", LAYERS)
def test_stride_is_a_sum_over_phase_planes(x_shape, w_shape, s, p):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    ref = cnnbp.conv2d(x, w, stride=s, padding=p)
    assert rel_error(polyphase_forward(x, w, s, p), ref) < 1e-12
    assert rel_error(cnnbp.conv2d(x, w, stride=s, padding=p,
                                  algo="polyphase"), ref) < 1e-12


@pytest.mark.parametrize("x_shape, w_shape, s, p", LAYERS)
def test_phase_plane_backward(x_shape, w_shape, s, p):
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    dout = rng.standard_normal(cnnbp.conv2d(x, w, stride=s,
                                            padding=p).shape)
    dx = polyphase_input_gradient(dout, x, w, s, p)
    num = numerical_gradient(
        lambda v: cnnbp.conv2d(v, w, stride=s, padding=p), x, dout)
    assert rel_error(dx, num) < 1e-7
    assert rel_error(dx, naive.input_gradient(dout, x, w, s, p)) < 1e-12
    got = cnnbp.conv2d_backward(dout, x, w, s, p, algo="polyphase")
    for a, b in zip(got, naive.conv2d_backward(dout, x, w, s, p)):
        assert rel_error(a, b) < 1e-12


@pytest.mark.parametrize("x_shape, w_shape, s, p", LAYERS)
def test_phase_planes_against_torch(x_shape, w_shape, s, p):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    xt = torch.tensor(x, requires_grad=True)
    out = torch.nn.functional.conv2d(xt, torch.tensor(w), stride=s,
                                     padding=p)
    dout = rng.standard_normal(tuple(out.shape))
    out.backward(torch.tensor(dout))
    assert rel_error(polyphase_forward(x, w, s, p),
                     out.detach().numpy()) < 1e-12
    assert rel_error(polyphase_input_gradient(dout, x, w, s, p),
                     xt.grad.numpy()) < 1e-12


def test_taps_per_plane():
    """3x3 at stride 2: 4, 2, 2, 1 taps; 5x5 at 2: 9, 6, 6, 4; 3x3 at 3:
    one each (the chapter's text, quiz and exercise 2)."""
    def taps(k, s):
        return [np.zeros((k, k))[r::s, q::s].size for r in range(s)
                for q in range(s)]
    assert taps(3, 2) == [4, 2, 2, 1]
    assert taps(5, 2) == [9, 6, 6, 4]
    assert taps(3, 3) == [1] * 9


@pytest.mark.parametrize("Ho, k", [(4, 3), (14, 3), (3, 2), (7, 5)])
def test_zero_insertion_wastes_three_quarters_at_stride_2(Ho, k):
    """Of the full convolution of the zero-inserted G, at most a quarter
    of the products meet a nonzero G entry at stride 2 (k >= 2)."""
    s = 2
    dilated = s * (Ho - 1) + 1
    total = (dilated + k - 1) ** 2 * k * k
    nonzero = Ho * Ho * k * k
    g = naive.dilate(np.ones((1, 1, Ho, Ho)), s)
    assert np.count_nonzero(g) * k * k == nonzero
    assert nonzero / total <= 0.25


# --------------------------------------------- Winograd, one dimension

def test_f23_spelled_out():
    """The M_0..M_3 and y_0, y_1 of the chapter's display."""
    AT, Gam, BT = mats(2)
    rng = np.random.default_rng(3)
    d, g = rng.standard_normal(4), rng.standard_normal(3)
    M = [g[0] * (d[0] - d[2]),
         (g[0] + g[1] + g[2]) / 2 * (d[1] + d[2]),
         (g[0] - g[1] + g[2]) / 2 * (d[2] - d[1]),
         g[2] * (d[3] - d[1])]
    np.testing.assert_allclose((Gam @ g) * (BT @ d), M, rtol=1e-14)
    y = [M[0] + M[1] + M[2], M[1] - M[2] + M[3]]
    np.testing.assert_allclose(y, np.correlate(d, g, "valid"), rtol=1e-13)
    assert len(BT) == 4


@pytest.mark.parametrize("m", MS)
def test_coefficients_are_the_correlation(m):
    """sum_xi AT[o,xi] BT[xi,i] Gamma[xi,n] = [i == o + n], exactly: the
    coefficient of F_n x_i in y_o, and (the same sum read with A = AT^T,
    B = BT^T) of G_o F_n in dL/dx_i."""
    AT, Gam, BT = winograd.transforms(m)
    A, B = np.array(AT).T, np.array(BT).T
    a = m + 2
    for o in range(m):
        for i in range(a):
            for n in range(3):
                c = sum(AT[o][xi] * BT[xi][i] * Gam[xi][n]
                        for xi in range(a))
                c_dx = sum(B[i][xi] * Gam[xi][n] * A[xi][o]
                           for xi in range(a))
                assert c == c_dx == Fraction(int(i == o + n))


@pytest.mark.parametrize("m", MS)
def test_winograd_1d_forward(m):
    AT, Gam, BT = mats(m)
    rng = np.random.default_rng(m)
    d, g = rng.standard_normal(m + 2), rng.standard_normal(3)
    ref = np.correlate(d, g, "valid")
    assert rel_error(AT @ ((Gam @ g) * (BT @ d)), ref) < 1e-12
    assert rel_error(winograd.winograd_1d(d, g, m), ref) < 1e-12


@pytest.mark.parametrize("m", MS)
def test_winograd_1d_backward_formulas(m):
    """dL/dx = B[(Gamma F) * (A G)] is the full convolution of G with F;
    dL/dF = Gamma^T [(B^T x) * (A G)] the correlation of x with G; both
    against finite differences and PyTorch."""
    AT, Gam, BT = mats(m)
    rng = np.random.default_rng(10 + m)
    d, g, G = (rng.standard_normal(n) for n in (m + 2, 3, m))
    dM = AT.T @ G
    dd = BT.T @ ((Gam @ g) * dM)
    dg = Gam.T @ ((BT @ d) * dM)
    np.testing.assert_allclose(dd, np.convolve(G, g), atol=1e-12)
    np.testing.assert_allclose(dg, np.correlate(d, G, "valid"), atol=1e-12)

    def fwd_d(v):
        return AT @ ((Gam @ g) * (BT @ v))

    def fwd_g(v):
        return AT @ ((Gam @ v) * (BT @ d))
    assert rel_error(dd, numerical_gradient(fwd_d, d, G)) < 1e-7
    assert rel_error(dg, numerical_gradient(fwd_g, g, G)) < 1e-7
    torch = pytest.importorskip("torch")
    dt = torch.tensor(d[None, None], requires_grad=True)
    gt = torch.tensor(g[None, None], requires_grad=True)
    torch.nn.functional.conv1d(dt, gt).backward(torch.tensor(G[None, None]))
    assert rel_error(dd, dt.grad.numpy()[0, 0]) < 1e-12
    assert rel_error(dg, gt.grad.numpy()[0, 0]) < 1e-12


# --------------------------------------------- Winograd, two dimensions

@pytest.mark.parametrize("mh, mw", [(2, 2), (2, 4), (5, 3), (6, 7)])
def test_winograd_2d_tile_forward_and_backward(mh, mw):
    """Y = A^T[(Gamma F Gamma^T) * (B^T x B)]A per axis, and its
    backward with every transform transposed, against PyTorch."""
    torch = pytest.importorskip("torch")
    ATh, Gh, BTh = mats(mh)
    ATw, Gw, BTw = mats(mw)
    rng = np.random.default_rng(mh * 10 + mw)
    d = rng.standard_normal((mh + 2, mw + 2))
    g = rng.standard_normal((3, 3))
    G = rng.standard_normal((mh, mw))
    U, V = Gh @ g @ Gw.T, BTh @ d @ BTw.T
    Y = ATh @ (U * V) @ ATw.T
    dM = ATh.T @ G @ ATw
    dd = BTh.T @ (U * dM) @ BTw
    dg = Gh.T @ (V * dM) @ Gw
    dt = torch.tensor(d[None, None], requires_grad=True)
    gt = torch.tensor(g[None, None], requires_grad=True)
    out = torch.nn.functional.conv2d(dt, gt)
    out.backward(torch.tensor(G[None, None]))
    assert rel_error(Y, out.detach().numpy()[0, 0]) < 1e-11
    assert rel_error(dd, dt.grad.numpy()[0, 0]) < 1e-11
    assert rel_error(dg, gt.grad.numpy()[0, 0]) < 1e-11


@pytest.mark.parametrize("algo", [f"winograd{m}" for m in MS])
def test_layer_backward_every_tile_size(algo):
    rng = np.random.default_rng(len(algo))
    x = rng.standard_normal((2, 3, 9, 7))
    w = rng.standard_normal((4, 3, 3, 3))
    p = (1, 0)
    dout = rng.standard_normal(cnnbp.conv2d(x, w, padding=p).shape)
    got = cnnbp.conv2d_backward(dout, x, w, padding=p, algo=algo)
    for a, b in zip(got, naive.conv2d_backward(dout, x, w, padding=p)):
        assert rel_error(a, b) < 1e-10
    num = numerical_gradient(
        lambda v: cnnbp.conv2d(v, w, padding=p, algo=algo), x, dout)
    assert rel_error(got[0], num) < 1e-7


def test_product_counts_and_default_tiles():
    """The chapter's table for 14 outputs, and the default's choice."""
    direct = 14 * 14 * 9
    fewer = {m: direct / ((m + 2) * -(-14 // m)) ** 2 for m in MS}
    assert fewer[2] == 2.25 and fewer[5] == 4.0
    assert fewer[7] == pytest.approx(5.44, abs=0.005)
    assert max(fewer, key=fewer.get) == 7
    for m in MS:
        assert 9 * m * m / (m + 2) ** 2 == pytest.approx(
            9 * m * m / len(winograd.transforms(m)[2]) ** 2)
    bound = winograd.ACCURACY[np.dtype(np.float32)]
    assert winograd.predicted_error((7, 7), np.float32, 64) > 10 * bound
    assert winograd.predicted_error((5, 5), np.float32, 64) <= bound
    l1 = ((256, 3, 28, 28), (32, 3, 3, 3), 2, 1)
    l2 = ((256, 32, 14, 14), (64, 32, 3, 3), 1, 1)
    picks = {(name, np.dtype(dt).name): conv.choose_algo(
        spec(*layer, dt)).name for name, layer in [("1", l1), ("2", l2)]
        for dt in (np.float32, np.float64)}
    assert picks == {("1", "float32"): "polyphase",
                     ("1", "float64"): "polyphase",
                     ("2", "float32"): "winograd5",
                     ("2", "float64"): "winograd7"}


# ------------------------------------------------------ the mistakes

def test_mistakes_fail_the_gradient_check_and_two_hide_on_one_tile():
    rng = np.random.default_rng(4)
    for L, m, hidden in [(14, 4, set()),
                         (5, 3, {"dx_overlap_overwritten",
                                 "dw_last_tile"})]:
        x, w, g = (rng.standard_normal(n) for n in (L, 3, L - 2))
        dx_num = numerical_gradient(
            lambda v: fast_conv.winograd_conv1d(v, w, m), x, g)
        dw_num = numerical_gradient(
            lambda v: fast_conv.winograd_conv1d(x, v, m), w, g)
        dx, dw = fast_conv.winograd_conv1d_backward(g, x, w, m)
        assert max(rel_error(dx, dx_num), rel_error(dw, dw_num)) < 1e-7
        for mistake in fast_conv.WINOGRAD_BACKWARD:
            dx, dw = mistake.fn(g, x, w, m)
            err = max(rel_error(dx, dx_num), rel_error(dw, dw_num))
            if mistake.fn.__name__ in hidden:
                assert err < 1e-7, mistake.fn.__name__
            else:
                assert err > 1e-2, mistake.fn.__name__


# ------------------------------------------------- the measured table

def test_measured_table_is_quoted_from_the_benchmark_readme():
    """Every row of the chapter's table is a row of benchmarks/README.md
    (same dtype, path, ms, ratio, peak MB and error); the date and the
    machine are stated."""
    nb = json.loads(CHAPTER.read_text(encoding="utf-8"))
    text = "\n".join("".join(c["source"]) for c in nb["cells"]
                     if c["cell_type"] == "markdown")
    readme = (ROOT / "benchmarks" / "README.md").read_text(
        encoding="utf-8")

    def rows(md):
        found, dtype = set(), None
        for line in md.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) != 7 or not re.match(r"[\d.]+$", cells[3]):
                continue
            dtype = cells[1] or dtype
            path = cells[2].replace("PyTorch", "torch").replace("*", "")
            found.add((dtype, path, *cells[3:]))
        return found
    quoted = rows(text)
    assert len(quoted) == 14
    assert quoted <= rows(readme)
    assert "2026-12-03" in text and "AMD EPYC" in text
    assert "2026-12-03" in readme and "AMD EPYC" in readme
