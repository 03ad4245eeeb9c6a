"""Claims of book/11_training.ipynb, checked against cnnbp.

The chapter's runs (the learning-rate sweep, the chosen network, four
more seeds) are repeated once per session in module fixtures, with one
BLAS thread as on the page; the tests then check what the text says
about them.
"""
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from cnnbp.data import load_digits_split, minibatches
from cnnbp.gradcheck import numerical_gradient, rel_error
from cnnbp.layers import (SGD, Conv2d, Flatten, Linear, MaxPool2d, ReLU,
                          Sequential, SoftmaxCrossEntropy)
from cnnbp.training import (accuracy, check_model_gradients, fit,
                            gradient_norm, wilson_interval)

RATES, BUDGET = [0.003, 0.01, 0.03, 0.1], 12


def build_model(c1=16, c2=32, seed=0):
    """The chapter's network, layer for layer."""
    rng = np.random.default_rng(seed)
    return Sequential(
        Conv2d(1, c1, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),
        Conv2d(c1, c2, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),
        Flatten(), Linear(c2 * 2 * 2, 10, rng=rng))


def n_params(layer):
    return sum(p.size for p in layer.params.values())


@pytest.fixture(scope="module")
def split():
    return load_digits_split(seed=0)


@pytest.fixture(scope="module")
def one_thread():
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def sweep(split, one_thread):
    """The page's sweep: each rate for 12 epochs, seed 0."""
    runs = {}
    for rate in RATES:
        net = build_model(seed=0)
        runs[rate] = fit(net, SoftmaxCrossEntropy(), SGD(net, lr=rate),
                         split[:2], split[2:4], epochs=BUDGET, seed=0,
                         progress=False)
    return runs


@pytest.fixture(scope="module")
def chosen(sweep):
    """The rule of the page: the (rate, epoch) of lowest validation loss."""
    lr = min(RATES, key=lambda rate: min(sweep[rate].val_loss))
    return lr, int(np.argmin(sweep[lr].val_loss)) + 1


@pytest.fixture(scope="module")
def final(split, chosen, one_thread):
    """The chosen recipe with seeds 0-4: (models, seed-0 history)."""
    lr, epochs = chosen
    models, history = [], None
    for seed in range(5):
        net = build_model(seed=seed)
        run = fit(net, SoftmaxCrossEntropy(), SGD(net, lr=lr), split[:2],
                  split[2:4] if seed == 0 else None, epochs=epochs,
                  seed=seed, progress=False)
        history = history or run
        models.append(net)
    return models, history


def test_shape_table_and_parameter_counts():
    """8 -> 4 -> 2 with 'same' convs; 160 + 4640 + 1290 = 6090."""
    model = build_model()
    h = np.zeros((32, 1, 8, 8))
    shapes = []
    for layer in model.layers:
        h = layer.forward(h)
        shapes.append(h.shape)
    assert shapes == [(32, 16, 8, 8), (32, 16, 8, 8), (32, 16, 4, 4),
                      (32, 32, 4, 4), (32, 32, 4, 4), (32, 32, 2, 2),
                      (32, 128), (32, 10)]
    counts = [n_params(layer) for layer in model.layers]
    assert counts == [16 * 1 * 3 * 3 + 16, 0, 0, 32 * 16 * 3 * 3 + 32,
                      0, 0, 0, 10 * 128 + 10]
    assert sum(counts) == 6090


def test_narrow_network_parameter_count():
    """Exercise 3: 8*9 + 8 + 16*8*9 + 16 + 10*64 + 10 = 1898 < 6090/3."""
    narrow = build_model(c1=8, c2=16)
    total = sum(n_params(layer) for layer in narrow.layers)
    assert total == 8 * 9 + 8 + 16 * 8 * 9 + 16 + 10 * 64 + 10 == 1898
    assert total < 6090 / 3


def test_he_initialisation_variance_is_two_over_fan_in():
    """w ~ N(0, 2/n) with n = C*HH*WW (conv) or D (linear); b = 0."""
    model = build_model(seed=3)
    for k, fan_in in ((0, 1 * 9), (3, 16 * 9), (7, 128)):
        w = model.layers[k].params["w"]
        assert np.var(w) == pytest.approx(2 / fan_in, rel=0.25)
        assert abs(np.mean(w)) < 3 * np.sqrt(2 / fan_in / w.size)
        assert not model.layers[k].params["b"].any()
    assert 16 * 3 * 3 == 144


def test_he_keeps_the_mean_square_through_conv_and_relu():
    """Averaged over random weights: E[z^2] = 2 E[x^2] for a conv with
    variance 2/n, and ReLU halves it (z is symmetric about 0)."""
    x = np.random.default_rng(0).normal(size=(8, 5, 6, 6)) + 0.7
    conv_ratio, relu_ratio = [], []
    for seed in range(200):
        z = Conv2d(5, 4, 3, rng=seed).forward(x)
        conv_ratio.append(np.mean(z ** 2) / np.mean(x ** 2))
        relu_ratio.append(np.mean(np.maximum(z, 0) ** 2) / np.mean(z ** 2))
    assert np.mean(conv_ratio) == pytest.approx(2, rel=0.05)
    assert np.mean(relu_ratio) == pytest.approx(0.5, rel=0.05)


def test_the_table_roughly_doubles_then_halves(split):
    """The page's table: each conv roughly doubles the mean square, its
    ReLU roughly halves it, each pool raises it; scores of a few units."""
    h = split.x_train[:32]
    squares = [np.mean(h ** 2)]
    for layer in build_model(seed=0).layers:
        h = layer.forward(h)
        squares.append(np.mean(h ** 2))
    ratios = np.array(squares[1:]) / np.array(squares[:-1])
    for conv, relu, pool in ((0, 1, 2), (3, 4, 5)):
        assert 1.5 < ratios[conv] < 2.5
        assert 0.4 < ratios[relu] < 0.65
        assert ratios[pool] > 1.5
    assert 1 < np.sqrt(squares[-1]) < 5


def test_softmax_cross_entropy_gradient_formula():
    """dL/dS = (softmax(S) - onehot(y)) / N for the mean loss."""
    rng = np.random.default_rng(11)
    scores = rng.standard_normal((5, 4))
    y = np.array([2, 0, 1, 3, 3])
    loss_fn = SoftmaxCrossEntropy()
    loss_fn.forward(scores, y)
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    expected = (p - np.eye(4)[y]) / 5
    np.testing.assert_allclose(loss_fn.backward(), expected, atol=1e-12)
    numeric = numerical_gradient(lambda s: loss_fn.forward(s, y), scores)
    assert rel_error(expected, numeric) < 1e-7


def test_linear_backward_formulas():
    """Y = X W^T + b: dX = G W, dW = G^T X, db = sum over the batch."""
    rng = np.random.default_rng(12)
    x = rng.standard_normal((4, 5))
    g = rng.standard_normal((4, 3))
    layer = Linear(5, 3, rng=1)
    layer.params["b"] = rng.standard_normal(3)
    w = layer.params["w"]
    layer.forward(x)
    dx = layer.backward(g)
    np.testing.assert_allclose(dx, g @ w, atol=1e-12)
    np.testing.assert_allclose(layer.grads["w"], g.T @ x, atol=1e-12)
    np.testing.assert_allclose(layer.grads["b"], g.sum(axis=0), atol=1e-12)
    num_dx = numerical_gradient(lambda t: t @ w.T + layer.params["b"], x, g)
    assert rel_error(dx, num_dx) < 1e-7


def generic_point(model):
    """The page's generic point: biases += N(0, 0.1^2), seed 2."""
    rng = np.random.default_rng(2)
    for layer, name in model.parameters():
        if name == "b":
            bias = layer.params["b"]
            bias += rng.normal(scale=0.1, size=bias.shape)
    return model


def test_gradient_check_fails_only_on_the_kink_at_zero_biases(split):
    """With biases 0, blank patches put first-conv outputs exactly at 0:
    only the first biases fail, by about 1/2 of a slope; every error at
    the generic point is below the printed floor 1e-8."""
    x, y = split.x_train[:4], split.y_train[:4]
    small = build_model(c1=2, c2=3, seed=1)
    assert np.sum(small.layers[0].forward(x) == 0) > 20
    at_zero = {name: err for name, _, err in check_model_gradients(
        small, SoftmaxCrossEntropy(), x, y)}
    assert at_zero.pop("0.Conv2d.b") > 0.1
    assert max(at_zero.values()) < 1e-8
    generic = check_model_gradients(generic_point(small),
                                    SoftmaxCrossEntropy(), x, y)
    assert [name for name, _, _ in generic] == [
        "0.Conv2d.w", "0.Conv2d.b", "3.Conv2d.w", "3.Conv2d.b",
        "7.Linear.w", "7.Linear.b"]
    assert max(err for _, _, err in generic) < 1e-8
    relu_slope = numerical_gradient(lambda z: np.maximum(z, 0),
                                    np.zeros(1))
    assert relu_slope[0] == pytest.approx(0.5)


def test_a_wrong_backward_fails_the_network_check(split):
    """The check is able to fail: drop the ReLU mask in one layer."""
    x, y = split.x_train[:4], split.y_train[:4]
    model = generic_point(build_model(c1=2, c2=3, seed=1))
    model.layers[4].backward = lambda dout: dout
    report = check_model_gradients(model, SoftmaxCrossEntropy(), x, y)
    errs = {name: err for name, _, err in report}
    assert errs["0.Conv2d.w"] > 1e-3
    assert errs["7.Linear.w"] < 1e-7


def test_ties_in_the_checked_network_are_harmless(split):
    """17 grey levels give many tied pooling windows; at the generic
    point each is all 0 after the ReLU or ties cells computed from
    identical input patches."""
    x4 = split.x_train[:4]
    assert np.unique(split.x_train).size == 17
    conv = generic_point(build_model(c1=2, c2=3, seed=1)).layers[0]
    y = np.maximum(conv.forward(x4), 0)
    x_pad = np.pad(x4, ((0, 0), (0, 0), (1, 1), (1, 1)))
    n_tied = 0
    for a, f, i, j in np.ndindex(4, 2, 4, 4):
        win = y[a, f, 2 * i:2 * i + 2, 2 * j:2 * j + 2]
        cells = np.argwhere(win == win.max())
        if len(cells) < 2:
            continue
        n_tied += 1
        patches = [x_pad[a, 0, 2 * i + u:2 * i + u + 3,
                         2 * j + v:2 * j + v + 3] for u, v in cells]
        assert win.max() == 0 or all(
            np.array_equal(patches[0], q) for q in patches)
    assert n_tied > 10


def test_loss_of_uninformed_scores_is_at_least_ln_10():
    """Averaged over the 10 labels, the loss is logsumexp(S) - mean(S),
    which is >= ln 10, with equality for equal scores."""
    scores = np.random.default_rng(5).normal(scale=2, size=(50, 10))
    per_label = np.mean([SoftmaxCrossEntropy().forward(
        scores, np.full(50, k)) for k in range(10)])
    formula = np.mean(np.log(np.exp(scores).sum(axis=1))
                      - scores.mean(axis=1))
    assert per_label == pytest.approx(formula, rel=1e-12)
    assert formula > np.log(10)
    equal = SoftmaxCrossEntropy().forward(np.full((3, 10), 1.7),
                                          np.arange(3))
    assert equal == pytest.approx(np.log(10), rel=1e-12)


def test_loss_at_initialisation(split):
    """Above ln 10, close to the formula, ln 10 when the scores shrink,
    accuracy near chance but not exactly 0.1."""
    scores = build_model(seed=0).forward(split.x_train)
    y = split.y_train
    loss = SoftmaxCrossEntropy().forward(scores, y)
    formula = np.mean(np.log(np.exp(scores).sum(axis=1))
                      - scores.mean(axis=1))
    assert loss > np.log(10) + 1
    assert loss == pytest.approx(formula, rel=0.1)
    shrunk = SoftmaxCrossEntropy().forward(scores / 100, y)
    assert shrunk == pytest.approx(np.log(10), abs=0.01)
    acc = np.mean(scores.argmax(axis=1) == y)
    assert 0.05 < acc < 0.25 and acc != 0.1


class _OneParameter:
    """A stand-in model with one parameter array, for optimiser tests."""

    def __init__(self, value):
        self.params = {"w": np.array(value, dtype=float)}
        self.grads = {"w": np.zeros_like(self.params["w"])}

    def parameters(self):
        return [(self, "w")]


def sgd_steps(lr, grads, momentum=0.9):
    model = _OneParameter(np.zeros(2))
    opt = SGD(model, lr=lr, momentum=momentum)
    steps = []
    for g in grads:
        before = model.params["w"].copy()
        model.grads["w"] = np.asarray(g, dtype=float)
        opt.step()
        steps.append(model.params["w"] - before)
    return np.array(steps)


def test_momentum_update_unrolls_to_a_weighted_sum_of_gradients():
    """v_t = -lr * sum_j mu^j g_(t-j); the step is v."""
    grads = np.random.default_rng(4).normal(size=(6, 2))
    steps = sgd_steps(0.05, grads)
    for t in range(6):
        expected = -0.05 * sum(0.9 ** j * grads[t - j]
                               for j in range(t + 1))
        np.testing.assert_allclose(steps[t], expected, rtol=1e-12)


def test_lr_scales_every_step_and_a_steady_gradient_gains_ten():
    """Doubling lr doubles every step (quiz training-learning-rate); a
    constant gradient's step grows towards 1/(1 - mu) = 10 lr g."""
    grads = np.random.default_rng(6).normal(size=(20, 2))
    np.testing.assert_allclose(sgd_steps(0.02, grads),
                               2 * sgd_steps(0.01, grads), rtol=1e-12)
    steady = sgd_steps(0.01, [[1.0, -2.0]] * 300)
    np.testing.assert_allclose(steady[-1], [-0.1, 0.2], rtol=1e-9)


def test_pytorch_momentum_is_the_same_update_at_constant_lr():
    """PyTorch: b = mu b + g, w -= lr b; with b = -v / lr it is ours."""
    grads = np.random.default_rng(8).normal(size=(10, 2))
    ours = np.cumsum(sgd_steps(0.03, grads), axis=0)
    b, w = np.zeros(2), np.zeros(2)
    theirs = []
    for g in grads:
        b = 0.9 * b + g
        w = w - 0.03 * b
        theirs.append(w)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


def test_the_sweep_as_the_page_describes_it(sweep, chosen):
    """0.1 stays high, then jumps and climbs; 0.003 is still well above
    the others after 12 epochs; 0.01 and 0.03 come close; the rule picks
    0.03 at epoch 10."""
    best = {rate: min(run.val_loss) for rate, run in sweep.items()}
    fast = sweep[0.1].val_loss
    assert best[0.1] > 3 * max(best[0.01], best[0.03])
    assert fast[-1] > 3 * best[0.1]
    assert best[0.003] > 1.3 * max(best[0.01], best[0.03])
    assert max(best[0.01], best[0.03]) < 1.25 * min(best[0.01], best[0.03])
    assert chosen == (0.03, 10)


def test_the_chosen_run_repeats_the_sweep_and_flattens(split, sweep,
                                                       chosen, final):
    """Same seed, same batches: the chosen run is the sweep's run cut at
    the chosen epoch. Its loss flattens at a constant rate because the
    gradient shrinks; training accuracy ends near 1, validation lower."""
    lr, epochs = chosen
    models, history = final
    assert history.val_loss == sweep[lr].val_loss[:epochs]
    start = gradient_norm(build_model(seed=0), SoftmaxCrossEntropy(),
                          *split[:2])
    end = gradient_norm(models[0], SoftmaxCrossEntropy(), *split[:2])
    assert end < start / 20
    drops = -np.diff(history.train_loss)
    assert drops[:3].sum() > 10 * drops[-3:].sum()
    assert history.train_accuracy[-1] > 0.98
    assert history.val_accuracy[-1] < history.train_accuracy[-1]


def test_test_accuracy_over_seeds_and_its_interval(split, final):
    """About 97 % over five seeds; the Wilson interval for n = 360 is
    about 94-98 % and much wider than the spread over the seeds."""
    models, _ = final
    acc = np.array([accuracy(m, *split[4:]) for m in models])
    mean = acc.mean()
    assert round(100 * mean) == 97
    low, high = wilson_interval(mean * 360, 360)
    assert (round(100 * low), round(100 * high)) == (94, 98)
    assert acc.std(ddof=1) < (high - low) / 4


def test_narrow_network_stays_above_095_on_validation(split, chosen,
                                                       final, one_thread):
    """Exercise 3: a little below the chapter's network, above 0.95."""
    lr, epochs = chosen
    narrow = build_model(c1=8, c2=16)
    run = fit(narrow, SoftmaxCrossEntropy(), SGD(narrow, lr=lr), split[:2],
              split[2:4], epochs=epochs, seed=0, progress=False)
    assert 0.95 < run.val_accuracy[-1] < final[1].val_accuracy[-1]


def test_pytorch_trains_to_the_same_weights(split, chosen, final,
                                           one_thread):
    """The page's comparison: same start, same batches, same update."""
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    lr, epochs = chosen
    model = final[0][0]
    twin = build_model(seed=0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(128, 10)).double()
    with torch.no_grad():
        for k in (0, 3, 7):
            net[k].weight.copy_(torch.from_numpy(twin.layers[k].params["w"]))
            net[k].bias.copy_(torch.from_numpy(twin.layers[k].params["b"]))
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    rng = np.random.default_rng(0)
    xt, yt = torch.from_numpy(split.x_train), torch.from_numpy(split.y_train)
    for _ in range(epochs):
        for idx in minibatches(len(xt), 32, rng):
            idx = torch.from_numpy(idx)
            loss = torch.nn.functional.cross_entropy(net(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    for k in (0, 3, 7):
        assert rel_error(model.layers[k].params["w"],
                         net[k].weight.detach().numpy()) < 1e-9
        assert rel_error(model.layers[k].params["b"],
                         net[k].bias.detach().numpy()) < 1e-9
    with torch.no_grad():
        pred = net(torch.from_numpy(split.x_val)).argmax(1).numpy()
    np.testing.assert_array_equal(pred, model.predict(split.x_val))
