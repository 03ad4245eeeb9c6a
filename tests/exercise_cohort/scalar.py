"""Gradients of scalar functions (chapters 1, 8, 11):
check_scalar_gradient, with the exercises' functions and points."""

import numpy as np

from cnnbp.layers import SoftmaxCrossEntropy

from . import right, wrong

CHECK = "check_scalar_gradient"


def neuron(w0, x0, w1, x1, w2):
    return 1.0 / (1.0 + np.exp(-(w0 * x0 + w1 * x1 + w2)))


NEURON = {"f": neuron, "points": [(2.0, -1.0, -3.0, -2.0, -3.0),
                                  (0.5, 1.5, -1.0, 0.3, 0.2)]}

A = np.random.default_rng(1).standard_normal((5, 3))
T = np.random.default_rng(2).standard_normal(5)


def squared_error(w):
    return float(np.sum((A @ w - T) ** 2))


SQUARED = {"f": squared_error,
           "points": [(np.zeros(3),), (np.array([1.0, -2.0, 0.5]),)]}

ALPHA = 0.1
G = np.random.default_rng(3).standard_normal((2, 3, 4, 4))


def leaky_loss(z):
    return float((np.where(z > 0, z, ALPHA * z) * G).sum())


LEAKY = {"f": leaky_loss,
         "points": [(np.random.default_rng(k).standard_normal(G.shape),)
                    for k in range(3)]}

LABELS = np.array([2, 0, 1])


def softmax(scores):
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def ce_loss(scores):
    p = softmax(scores)
    return float(-np.log(p[np.arange(len(LABELS)), LABELS]).mean())


def ce_loss_summed(scores):
    return ce_loss(scores) * len(LABELS)


def ce_loss_stub(scores):
    raise NotImplementedError


def reference_ce(scores):
    return SoftmaxCrossEntropy().forward(scores, LABELS)


SCORES = [(np.random.default_rng(k).normal(size=(3, 4)),) for k in range(3)]
CE = {"f": ce_loss, "points": SCORES, "reference": reference_ce}

GL = np.random.default_rng(7).normal(size=(4, 3))


def linear_loss(x, w, b):
    return float(np.sum((x @ w.T + b) * GL))


LINEAR = {"f": linear_loss,
          "points": [tuple(np.random.default_rng(k).normal(size=s)
                           for s in [(4, 5), (3, 5), (3,)])
                     for k in range(2)]}


# ------------------------------------------------------------ chapter 1

@right(CHECK, **NEURON)
def grad_neuron(w0, x0, w1, x1, w2):
    s = neuron(w0, x0, w1, x1, w2)
    da = s * (1.0 - s)
    return (x0 * da, w0 * da, x1 * da, w1 * da, da)


@right(CHECK, **NEURON)
def grad_neuron_list(w0, x0, w1, x1, w2):
    e = np.exp(-(w0 * x0 + w1 * x1 + w2))
    da = e / (1.0 + e) ** 2
    return [x0 * da, w0 * da, x1 * da, w1 * da, da]


@wrong(CHECK, says="equals the true d/dx0", **NEURON)
def grad_neuron_no_swap(w0, x0, w1, x1, w2):
    s = neuron(w0, x0, w1, x1, w2)
    da = s * (1.0 - s)
    return (w0 * da, x0 * da, w1 * da, x1 * da, da)


@wrong(CHECK, says="d/dw0 is 0.", **NEURON)
def grad_neuron_sigmoid_as_slope(w0, x0, w1, x1, w2):
    da = neuron(w0, x0, w1, x1, w2)
    return (x0 * da, w0 * da, x1 * da, w1 * da, da)


@wrong(CHECK, says="expected 5 partial derivatives", **NEURON)
def grad_neuron_forgets_bias(w0, x0, w1, x1, w2):
    s = neuron(w0, x0, w1, x1, w2)
    da = s * (1.0 - s)
    return (x0 * da, w0 * da, x1 * da, w1 * da)


@right(CHECK, **SQUARED)
def grad_squared_error(w):
    return A.T @ (2.0 * (A @ w - T))


@wrong(CHECK, says="is 1/2 of the right one", **SQUARED)
def grad_squared_error_no_two(w):
    return A.T @ (A @ w - T)


@wrong(CHECK, says="has shape", **SQUARED)
def grad_squared_error_no_transpose(w):
    return 2.0 * (A @ w - T)


def half_square(w):
    return 0.5 * float(np.sum(w ** 2))


HALF_SQUARE = {"f": half_square, "points": [(np.array([1.0, -2.0, 0.5]),)]}


@right(CHECK, **HALF_SQUARE)
def grad_half_square(w):
    return w.copy()


@wrong(CHECK, says="shares its memory with your input `w`", **HALF_SQUARE)
def grad_half_square_returns_w(w):
    return w


# ------------------------------------------------------------ chapter 8

@right(CHECK, **LEAKY)
def grad_leaky(z):
    return G * np.where(z > 0, 1.0, ALPHA)


@right(CHECK, **LEAKY)
def grad_leaky_from_output(z):
    y = np.where(z > 0, z, ALPHA * z)
    return G * np.where(y > 0, 1.0, ALPHA)


@wrong(CHECK, says="d/dz has wrong values", **LEAKY)
def grad_leaky_as_relu(z):
    return G * (z > 0)


@wrong(CHECK, says="is complex", **LEAKY)
def grad_leaky_complex(z):
    return G * np.where(z > 0, 1.0, ALPHA) + 0j


# ----------------------------------------------------------- chapter 11

@right(CHECK, **CE)
def ce_grad(scores):
    d = softmax(scores)
    d[np.arange(len(LABELS)), LABELS] -= 1
    return d / len(LABELS)


@right(CHECK, **CE)
def ce_grad_one_hot(scores):
    one_hot = np.eye(scores.shape[1])[LABELS]
    return (softmax(scores) - one_hot) / scores.shape[0]


@right(CHECK, f=ce_loss, points=SCORES)
def ce_grad_without_reference(scores):
    return ce_grad(scores)


@wrong(CHECK, says="is 3 times the right one", **CE)
def ce_grad_no_mean(scores):
    return ce_grad(scores) * len(LABELS)


@wrong(CHECK, says="ce_loss_summed is 3 times the reference",
       f=ce_loss_summed, points=SCORES, reference=reference_ce)
def ce_grad_of_summed_loss(scores):
    return ce_grad(scores) * len(LABELS)


@wrong(CHECK, says="d/dscores has wrong values", **CE)
def ce_grad_wrong_axis(scores):
    e = np.exp(scores)
    d = e / e.sum(axis=0, keepdims=True)
    d[np.arange(len(LABELS)), LABELS] -= 1
    return d / len(LABELS)


@wrong(CHECK, says="d/dscores has wrong values", **CE)
def ce_grad_no_one_hot(scores):
    return softmax(scores) / len(LABELS)


@wrong(CHECK, says="`ce_loss_stub` raises NotImplementedError",
       f=ce_loss_stub, points=SCORES)
def ce_grad_with_loss_to_do(scores):
    return ce_grad(scores)


@right(CHECK, **LINEAR)
def linear_backward(x, w, b):
    return GL @ w, GL.T @ x, GL.sum(axis=0)


@wrong(CHECK, says="d/dw has shape", **LINEAR)
def linear_backward_dw_transposed(x, w, b):
    return GL @ w, x.T @ GL, GL.sum(axis=0)


@wrong(CHECK, says="d/db has shape", **LINEAR)
def linear_backward_db_per_sample(x, w, b):
    return GL @ w, GL.T @ x, GL.sum(axis=1)
