"""Claims of book/19_training_modern.ipynb, checked against cnnbp,
finite differences and PyTorch on random, non-square configurations."""
import numpy as np
import pytest

import cnnbp
from cnnbp import layers as L
from cnnbp.gradcheck import TOLERANCE, numerical_gradient, rel_error
from cnnbp.receptive import receptive_field
from cnnbp.training import check_model_gradients


def build_model(c1=16, c2=32, seed=0):
    """The chapter's network (same code as its build_model cell)."""
    rng = np.random.default_rng(seed)
    return L.Sequential(
        L.Conv2d(1, c1, 3, padding=1, bias=False, rng=rng),
        L.BatchNorm2d(c1), L.ReLU(),
        L.Conv2d(c1, c2, 3, stride=2, padding=1, bias=False, rng=rng),
        L.BatchNorm2d(c2), L.ReLU(),
        L.Add(L.Sequential(
            L.Conv2d(c2, c2, 3, padding=1, groups=c2, bias=False, rng=rng),
            L.BatchNorm2d(c2), L.ReLU(),
            L.Conv2d(c2, c2, 1, bias=False, rng=rng), L.BatchNorm2d(c2))),
        L.ReLU(), L.GlobalAvgPool2d(), L.Flatten(),
        L.Linear(c2, 10, rng=rng))


def count(layer):
    return sum(part.params[name].size for part, name in layer.parameters())


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def test_parameter_counts_in_the_text():
    model = build_model()
    assert count(model) == 6618
    assert count(model.layers[6]) == 288 + 1024 + 2 * 2 * 32 == 1440
    assert count(model.layers[10]) == 10 * 32 + 10 == 330
    assert count(L.Conv2d(32, 32, 3, bias=False)) == 9216
    chapter11 = L.Sequential(
        L.Conv2d(1, 16, 3, padding=1), L.ReLU(), L.MaxPool2d(2),
        L.Conv2d(16, 32, 3, padding=1), L.ReLU(), L.MaxPool2d(2),
        L.Flatten(), L.Linear(128, 10))
    assert count(chapter11) == 6090
    assert count(chapter11.layers[7]) == 1290


def test_receptive_fields_in_the_text():
    model = build_model()
    sizes = [receptive_field(model.layers[:end]).size for end in (1, 4, 7)]
    assert sizes == [(3, 3), (5, 5), (9, 9)]
    assert receptive_field(model.layers[:7]).jump == (2, 2)
    # The skip alone (everything before the block) sees 5x5.
    assert receptive_field(model.layers[:6]).size == (5, 5)


@pytest.mark.parametrize("shape, M", [((2, 3, 4, 5), 4), ((1, 2, 1, 3), 3),
                                      ((3, 1, 2, 2), 5)])
def test_gap_backward_formula(shape, M):
    """eq-gap-backward: dL/dA[a,c,u,v] = (dS V)[a,c] / (H W) everywhere,
    against the layers, finite differences and PyTorch's autograd."""
    rng = np.random.default_rng(M)
    N, C, H, W = shape
    A = rng.standard_normal(shape)
    V, b = rng.standard_normal((M, C)), rng.standard_normal(M)
    dS = rng.standard_normal((N, M))
    head = L.Sequential(L.GlobalAvgPool2d(), L.Flatten(), L.Linear(C, M))
    head.layers[2].params["w"][...] = V
    head.layers[2].params["b"][...] = b
    head.forward(A)
    got = head.backward(dS)
    formula = np.broadcast_to((dS @ V)[:, :, None, None] / (H * W), shape)
    np.testing.assert_allclose(got, formula, rtol=1e-13, atol=1e-15)
    numeric = numerical_gradient(lambda a: head.forward(a), A, dS)
    assert rel_error(got, numeric) < TOLERANCE
    torch = pytest.importorskip("torch")
    At = torch.tensor(A, requires_grad=True)
    S = torch.nn.functional.adaptive_avg_pool2d(At, 1).flatten(1) @ \
        torch.tensor(V).T + torch.tensor(b)
    S.backward(torch.tensor(dS))
    np.testing.assert_allclose(got, At.grad.numpy(), rtol=1e-12,
                               atol=1e-15)


def test_skip_share_adds_in_the_chapters_block():
    model = build_model(c1=3, c2=4, seed=2)
    block = model.layers[6]
    x = np.random.default_rng(0).standard_normal((3, 4, 4, 3))
    G = np.random.default_rng(1).standard_normal(x.shape)
    block.forward(x)
    dX = block.backward(G)
    block.body.forward(x)
    np.testing.assert_allclose(dX, block.body.backward(G) + G, rtol=1e-13)
    assert rel_error(dX, numerical_gradient(block.forward, x, G)) < TOLERANCE


def test_leftover_row_is_the_output_padding(torch):
    """8x8, 3x3, stride 2, padding 1: (8 + 2 - 3) mod 2 = 1, and dL/dX
    is conv_transpose2d of dL/dO with output_padding 1 (PyTorch too)."""
    assert (8 + 2 - 3) % 2 == 1
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 8, 8))
    w = rng.standard_normal((5, 3, 3, 3))
    dout = rng.standard_normal((2, 5, 4, 4))
    dx = cnnbp.conv2d_backward(dout, x, w, stride=2, padding=1)[0]
    up = cnnbp.conv_transpose2d(dout, w, stride=2, padding=1,
                                output_padding=1)
    np.testing.assert_allclose(dx, up, rtol=1e-12, atol=1e-12)
    ref = torch.nn.functional.conv_transpose2d(
        torch.tensor(dout), torch.tensor(w), stride=2, padding=1,
        output_padding=1)
    np.testing.assert_allclose(up, ref.numpy(), rtol=1e-12, atol=1e-12)
    no_pad = cnnbp.conv_transpose2d(dout, w, stride=2, padding=1)
    assert no_pad.shape[2:] == (7, 7)


def test_whole_network_check_passes_and_localises_planted_bugs():
    """The chapter's table: a correct network passes; a forgotten skip
    share fails exactly the parameters before the block; constant
    statistics in the first batch norm fail only the first conv."""
    x, y = load_four()

    class NoSkipGradient(L.Add):
        def backward(self, dout):
            return self.body.backward(dout)

    class ConstantStatistics(L.BatchNorm2d):
        def backward(self, dout):
            xc, istd, _, shape = self._cache
            self._cache = (xc, istd, False, shape)
            return super().backward(dout)

    good = check_model_gradients(build_model(2, 3, seed=1),
                                 L.SoftmaxCrossEntropy(), x, y)
    assert max(err for _, _, err in good) < 1e-8
    names = [name for name, _, _ in good]

    def failing(model):
        report = check_model_gradients(model, L.SoftmaxCrossEntropy(), x, y)
        return [name for name, _, err in report if err > 1e-3]

    net = build_model(2, 3, seed=1)
    net.layers[6] = NoSkipGradient(net.layers[6].body)
    assert failing(net) == [n for n in names if int(n.split(".")[0]) < 6]
    net = build_model(2, 3, seed=1)
    norm = ConstantStatistics(2)
    norm.params = net.layers[1].params
    net.layers[1] = norm
    assert failing(net) == ["0.Conv2d.w"]


def load_four():
    from cnnbp.data import load_digits_split

    split = load_digits_split(seed=0)
    return split.x_train[:4], split.y_train[:4]


def test_running_statistics_update_matches_formula_and_torch(torch):
    """mu_run <- (1-m) mu_run + m mu, var_run <- (1-m) var_run
    + m var M/(M-1), as nn.BatchNorm2d (momentum 0.1, unbiased)."""
    rng = np.random.default_rng(4)
    x = 2 * rng.standard_normal((3, 2, 2, 3)) + 1
    ours = L.BatchNorm2d(2)
    ours.running_mean[:] = [0.5, -1.0]
    ours.running_var[:] = [2.0, 0.3]
    theirs = torch.nn.BatchNorm2d(2).double()
    theirs.running_mean[:] = torch.tensor([0.5, -1.0], dtype=torch.float64)
    theirs.running_var[:] = torch.tensor([2.0, 0.3], dtype=torch.float64)
    m, M = 0.1, 3 * 2 * 3
    mean = x.mean(axis=(0, 2, 3))
    var = x.var(axis=(0, 2, 3))
    want_mean = (1 - m) * np.array([0.5, -1.0]) + m * mean
    want_var = (1 - m) * np.array([2.0, 0.3]) + m * var * M / (M - 1)
    ours.forward(x)
    theirs(torch.tensor(x))
    for got in (ours.running_mean, theirs.running_mean.numpy()):
        np.testing.assert_allclose(got, want_mean, rtol=1e-13)
    for got in (ours.running_var, theirs.running_var.numpy()):
        np.testing.assert_allclose(got, want_var, rtol=1e-13)
    # The quiz's case: var 1.0, m 0.1, M = 4 values of biased var 2.0.
    quiz = L.BatchNorm2d(1)
    quiz.forward(np.array([-1.0, 1.0, -1.0, 1.0]).reshape(4, 1, 1, 1)
                 * 2 ** 0.5)
    assert quiz.running_var[0] == pytest.approx(0.9 + 0.1 * 2.0 * 4 / 3)


def test_fold_formula_matches_torch_eval(torch):
    """eq-fold-bn against nn.Conv2d + nn.BatchNorm2d in eval mode, with
    a bias, groups and non-square everything."""
    rng = np.random.default_rng(5)
    conv = torch.nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0),
                           groups=2).double()
    norm = torch.nn.BatchNorm2d(6).double()
    with torch.no_grad():
        norm.weight[:] = torch.tensor(rng.uniform(-2, 2, 6))
        norm.bias[:] = torch.tensor(rng.standard_normal(6))
        for _ in range(3):
            norm(conv(torch.tensor(rng.standard_normal((5, 4, 7, 6)) + 2)))
    norm.eval()
    x = rng.standard_normal((2, 4, 7, 6))
    with torch.no_grad():
        want = norm(conv(torch.tensor(x))).numpy()
    w = conv.weight.detach().numpy()
    b = conv.bias.detach().numpy()
    s = norm.weight.detach().numpy() / np.sqrt(
        norm.running_var.numpy() + norm.eps)
    formula = (w * s[:, None, None, None],
               norm.bias.detach().numpy()
               + s * (b - norm.running_mean.numpy()))
    folded = cnnbp.fold_batchnorm(
        w, b, norm.weight.detach().numpy(), norm.bias.detach().numpy(),
        norm.running_mean.numpy(), norm.running_var.numpy(), norm.eps)
    for got, expected in zip(folded, formula):
        np.testing.assert_allclose(got, expected, rtol=1e-13)
    out = cnnbp.conv2d(x, *folded, stride=(2, 1), padding=(1, 0), groups=2)
    np.testing.assert_allclose(out, want, rtol=1e-11, atol=1e-12)


def test_cosine_schedule_is_torch_cosine_annealing(torch):
    """eta_e = eta0/2 (1 + cos(pi e / E)) is CosineAnnealingLR stepped
    once per epoch (eta_min = 0, T_max = E)."""
    eta0, E = 0.3, 15
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=eta0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=E)
    for e in range(E):
        assert opt.param_groups[0]["lr"] == pytest.approx(
            eta0 / 2 * (1 + np.cos(np.pi * e / E)), rel=1e-12, abs=1e-15)
        opt.step()
        sched.step()


def test_torch_momentum_form_differs_only_when_the_rate_changes(torch):
    """v <- mu v - eta g, w <- w + v (cnnbp.layers.SGD) equals PyTorch's
    b <- mu b + g, w <- w - eta b for a constant eta, not for a
    changing one, as the chapter says."""
    grads = np.random.default_rng(6).standard_normal((6, 3))

    def ours(rates):
        w, v = np.zeros(3), np.zeros(3)
        for eta, g in zip(rates, grads):
            v = 0.9 * v - eta * g
            w = w + v
        return w

    def torchs(rates):
        p = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
        opt = torch.optim.SGD([p], lr=rates[0], momentum=0.9)
        for eta, g in zip(rates, grads):
            opt.param_groups[0]["lr"] = eta
            p.grad = torch.tensor(g)
            opt.step()
        return p.detach().numpy()

    constant = [0.1] * 6
    np.testing.assert_allclose(ours(constant), torchs(constant),
                               rtol=1e-13)
    falling = [0.3, 0.25, 0.2, 0.1, 0.05, 0.01]
    assert rel_error(ours(falling), torchs(falling)) > 1e-3


def test_network_matches_torch_on_one_training_step(torch):
    """Forward, every parameter gradient and the running statistics of
    one training-mode step equal PyTorch's (float64)."""
    nn = torch.nn

    class Residual(nn.Module):
        def __init__(self, body):
            super().__init__()
            self.body = body

        def forward(self, x):
            return self.body(x) + x

    net = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4),
        nn.ReLU(), nn.Conv2d(4, 6, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(6), nn.ReLU(),
        Residual(nn.Sequential(
            nn.Conv2d(6, 6, 3, padding=1, groups=6, bias=False),
            nn.BatchNorm2d(6), nn.ReLU(), nn.Conv2d(6, 6, 1, bias=False),
            nn.BatchNorm2d(6))),
        nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(6, 10)).double()
    model = build_model(4, 6, seed=3)
    ours = [part.params[name] for part, name in model.parameters()]
    theirs = list(net.parameters())
    rng = np.random.default_rng(7)
    with torch.no_grad():
        for p, q in zip(theirs, ours):
            q[...] = rng.uniform(0.5, 1.5, q.shape) * rng.choice(
                [-1, 1], q.shape)
            p.copy_(torch.tensor(q))
    x = rng.standard_normal((5, 1, 8, 7))
    y = rng.integers(0, 10, 5)
    loss_fn = L.SoftmaxCrossEntropy()
    loss = loss_fn.forward(model.forward(x), y)
    model.backward(loss_fn.backward())
    tl = nn.functional.cross_entropy(net(torch.tensor(x)), torch.tensor(y))
    tl.backward()
    assert loss == pytest.approx(tl.item(), rel=1e-12)
    grads = [part.grads[name] for part, name in model.parameters()]
    for g, p in zip(grads, theirs):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-9,
                                   atol=1e-12)
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    ours_bn = [part for part, name in model.parameters()
               if name == "gamma"]
    for a, b in zip(ours_bn, norms):
        np.testing.assert_allclose(a.running_var, b.running_var.numpy(),
                                   rtol=1e-12)


def test_largest_rate_of_the_sweep_overshoots_at_first():
    """The text: with eta0 = 0.6 the validation loss after the first
    epochs is far above the untrained network's (about 3.5)."""
    from cnnbp.data import load_digits_split
    from cnnbp.training import evaluate, fit

    split = load_digits_split(seed=0)
    val = (split.x_val, split.y_val)
    untrained = evaluate(build_model(seed=0), L.SoftmaxCrossEntropy(), *val)
    assert 3.4 < untrained[0] < 3.6
    net = build_model(seed=0)
    run = fit(net, L.SoftmaxCrossEntropy(), L.SGD(net, lr=0.6),
              (split.x_train, split.y_train), val, epochs=2, seed=0,
              lr_schedule=lambda e: 0.6 / 2 * (1 + np.cos(np.pi * e / 15)),
              progress=False)
    assert max(run.val_loss) > 10 * untrained[0]
