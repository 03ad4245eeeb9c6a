"""Time Part II layers (forward + backward): cnnbp fast twins vs PyTorch.

Run from the repository root::

    python benchmarks/bench_modern.py            # full run
    python benchmarks/bench_modern.py --quick    # fewer repeats

The layers are those of a small modern CNN for the 8x8 digits of
scikit-learn's ``load_digits`` at batch 256: conv-BN-ReLU with 16 and 32
channels, a residual depthwise-separable block (depthwise 3x3, BN, ReLU,
pointwise 1x1, BN), max and average pooling (plain and padded), global
average pooling and a linear classifier; plus a grouped convolution and
two transposed convolutions (2x upsampling) of the same sizes.

Columns:

- "fast": the functional pair, e.g. ``batchnorm2d`` +
  ``batchnorm2d_backward`` (the backward recomputes what it needs);
- "layer": the :mod:`cnnbp.layers` object's ``forward`` + ``backward``,
  which caches what its backward needs, as autograd does;
- "torch": the ``torch.nn.functional`` call + ``backward``.

Everything runs on one thread (OMP/MKL/OPENBLAS_NUM_THREADS=1 before
NumPy is imported, ``torch.set_num_threads(1)``).  The three runs of a
row are interleaved and each figure is the median of the repeats, so a
busy machine slows all three alike.  Without PyTorch the torch columns
show "-".
"""

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import cnnbp  # noqa: E402
from cnnbp import layers as L  # noqa: E402

try:
    import torch
    import torch.nn.functional as torch_f
except ImportError:
    torch = None

N = 256


def conv_case(C, F, k, H, groups=1, padding=0, stride=1):
    """Runners for a (grouped) convolution of (N, C, H, H) to F maps."""

    def make(dtype, rng):
        x = rng.standard_normal((N, C, H, H)).astype(dtype)
        layer = L.Conv2d(C, F, k, stride, padding, rng=rng, dtype=dtype,
                         groups=groups)
        w, b = layer.params["w"], layer.params["b"]
        out = layer.forward(x)
        dout = rng.standard_normal(out.shape).astype(dtype)
        hyper = dict(stride=stride, padding=padding, groups=groups)

        def fast():
            cnnbp.grouped_conv2d(x, w, b, **hyper)
            cnnbp.grouped_conv2d_backward(dout, x, w, **hyper)

        def ref(xt, wt, bt):
            return torch_f.conv2d(xt, wt, bt, **hyper)

        return fast, layer_runner(layer, x, dout), torch_runner(
            ref, dout, x, w, b)

    return make


def transpose_case(C, F, k, H, stride, padding=0, output_padding=0):
    """Runners for a transposed convolution of (N, C, H, H) to F maps."""

    def make(dtype, rng):
        x = rng.standard_normal((N, C, H, H)).astype(dtype)
        layer = L.ConvTranspose2d(C, F, k, stride, padding, output_padding,
                                  rng=rng, dtype=dtype)
        w, b = layer.params["w"], layer.params["b"]
        out = layer.forward(x)
        dout = rng.standard_normal(out.shape).astype(dtype)
        hyper = dict(stride=stride, padding=padding,
                     output_padding=output_padding)

        def fast():
            cnnbp.conv_transpose2d(x, w, b, **hyper)
            cnnbp.conv_transpose2d_backward(dout, x, w, **hyper)

        def ref(xt, wt, bt):
            return torch_f.conv_transpose2d(xt, wt, bt, **hyper)

        return fast, layer_runner(layer, x, dout), torch_runner(
            ref, dout, x, w, b)

    return make


def norm_case(C, H):
    """Runners for a training-mode batch norm of (N, C, H, H)."""

    def make(dtype, rng):
        x = rng.standard_normal((N, C, H, H)).astype(dtype)
        layer = L.BatchNorm2d(C, dtype=dtype)
        gamma = rng.uniform(0.5, 1.5, C).astype(dtype)
        beta = rng.standard_normal(C).astype(dtype)
        layer.params["gamma"][:], layer.params["beta"][:] = gamma, beta
        dout = rng.standard_normal(x.shape).astype(dtype)

        def fast():
            cnnbp.batchnorm2d(x, gamma, beta)
            cnnbp.batchnorm2d_backward(dout, x, gamma)

        def ref(xt, gt, bt):
            return torch_f.batch_norm(xt, None, None, gt, bt, training=True)

        return fast, layer_runner(layer, x, dout), torch_runner(
            ref, dout, x, gamma, beta)

    return make


def pool_case(kind, C, H, size, stride=None, padding=0, ceil_mode=False,
              **extra):
    """Runners for a max, average or global average pool of (N, C, H, H)."""

    def make(dtype, rng):
        x = rng.standard_normal((N, C, H, H)).astype(dtype)
        if kind == "global":
            layer = L.GlobalAvgPool2d()
            args, torch_fn, torch_args = (), torch_f and (
                lambda t: torch_f.adaptive_avg_pool2d(t, 1)), ()
        else:
            args = (size, stride, padding, ceil_mode)
            layer = getattr(L, f"{kind.capitalize()}Pool2d")(*args, **extra)
            torch_args = dict(kernel_size=size, stride=stride,
                              padding=padding, ceil_mode=ceil_mode, **extra)
            torch_fn = torch_f and (
                lambda t: getattr(torch_f, f"{kind}_pool2d")(t,
                                                             **torch_args))
        fwd = getattr(cnnbp, f"{'global_avg' if kind == 'global' else kind}"
                             f"pool2d")
        bwd = getattr(cnnbp, fwd.__name__ + "_backward")
        dout = rng.standard_normal(fwd(x, *args, **extra).shape
                                   ).astype(dtype)

        def fast():
            fwd(x, *args, **extra)
            bwd(dout, x, *args, **extra)

        return fast, layer_runner(layer, x, dout), torch_runner(
            torch_fn, dout, x)

    return make


def block_case(C, H):
    """Runners for a residual depthwise-separable block on (N, C, H, H)."""

    def make(dtype, rng):
        x = rng.standard_normal((N, C, H, H)).astype(dtype)
        block = L.Add(L.Sequential(
            L.Conv2d(C, C, 3, padding=1, rng=rng, dtype=dtype, groups=C),
            L.BatchNorm2d(C, dtype=dtype), L.ReLU(),
            L.Conv2d(C, C, 1, rng=rng, dtype=dtype),
            L.BatchNorm2d(C, dtype=dtype)))
        dout = rng.standard_normal(x.shape).astype(dtype)
        body = block.body.layers
        params = [body[0].params["w"], body[0].params["b"],
                  body[3].params["w"], body[3].params["b"]]

        def ref(xt, w1, b1, w2, b2):
            h = torch_f.conv2d(xt, w1, b1, padding=1, groups=C)
            h = torch_f.relu(torch_f.batch_norm(h, None, None,
                                                training=True))
            h = torch_f.conv2d(h, w2, b2)
            return xt + torch_f.batch_norm(h, None, None, training=True)

        return None, layer_runner(block, x, dout), torch_runner(
            ref, dout, x, *params)

    return make


def network_case():
    """Runners for the whole small modern CNN, loss included."""

    def make(dtype, rng):
        x = rng.standard_normal((N, 1, 8, 8)).astype(dtype)
        y = rng.integers(0, 10, N)
        model = L.Sequential(
            L.Conv2d(1, 16, 3, padding=1, rng=rng, dtype=dtype),
            L.BatchNorm2d(16, dtype=dtype), L.ReLU(),
            L.Conv2d(16, 32, 3, padding=1, rng=rng, dtype=dtype),
            L.BatchNorm2d(32, dtype=dtype), L.ReLU(), L.MaxPool2d(2),
            L.Add(L.Sequential(
                L.Conv2d(32, 32, 3, padding=1, rng=rng, dtype=dtype,
                         groups=32),
                L.BatchNorm2d(32, dtype=dtype), L.ReLU(),
                L.Conv2d(32, 32, 1, rng=rng, dtype=dtype),
                L.BatchNorm2d(32, dtype=dtype))), L.ReLU(),
            L.GlobalAvgPool2d(), L.Flatten(),
            L.Linear(32, 10, rng=rng, dtype=dtype))
        loss_fn = L.SoftmaxCrossEntropy()

        def layer():
            loss_fn.forward(model.forward(x), y)
            model.backward(loss_fn.backward())

        if torch is None:
            return None, layer, None
        arrays = [layer_.params[name] for layer_, name in model.parameters()]
        ts = [torch.from_numpy(a).requires_grad_() for a in arrays]
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)

        def ref():
            for t in ts:
                t.grad = None
            (w1, b1, g1, e1, w2, b2, g2, e2, w3, b3, g3, e3, w4, b4, g4,
             e4, w5, b5) = ts
            h = torch_f.relu(torch_f.batch_norm(
                torch_f.conv2d(xt, w1, b1, padding=1), None, None, g1, e1,
                training=True))
            h = torch_f.relu(torch_f.batch_norm(
                torch_f.conv2d(h, w2, b2, padding=1), None, None, g2, e2,
                training=True))
            h = torch_f.max_pool2d(h, 2)
            r = torch_f.relu(torch_f.batch_norm(
                torch_f.conv2d(h, w3, b3, padding=1, groups=32), None,
                None, g3, e3, training=True))
            r = torch_f.batch_norm(torch_f.conv2d(r, w4, b4), None, None,
                                   g4, e4, training=True)
            h = torch_f.adaptive_avg_pool2d(torch_f.relu(h + r), 1)
            scores = torch_f.linear(h.flatten(1), w5, b5)
            torch_f.cross_entropy(scores, yt).backward()

        return None, layer, ref

    return make


def layer_runner(layer, x, dout):
    """Forward + backward of a cnnbp layer object."""

    def run():
        layer.forward(x)
        layer.backward(dout)

    return run


def torch_runner(fn, dout, *arrays):
    """Forward + backward of ``fn(*tensors)`` with autograd, or None."""
    if torch is None or fn is None:
        return None
    ts = [torch.from_numpy(a).requires_grad_() for a in arrays]
    dt = torch.from_numpy(dout)

    def run():
        for t in ts:
            t.grad = None
        fn(*ts).backward(dt)

    return run


CASES = [
    ("BN 16x8x8", norm_case(16, 8)),
    ("BN 32x8x8", norm_case(32, 8)),
    ("BN 32x4x4", norm_case(32, 4)),
    ("depthwise 3x3 p1, 32x8x8", conv_case(32, 32, 3, 8, 32, 1)),
    ("depthwise 3x3 p1, 32x4x4", conv_case(32, 32, 3, 4, 32, 1)),
    ("depthwise 3x3 s2 p1, 32x8x8", conv_case(32, 32, 3, 8, 32, 1, 2)),
    ("grouped g4 3x3 p1, 32x8x8", conv_case(32, 32, 3, 8, 4, 1)),
    ("maxpool 2, 32x8x8", pool_case("max", 32, 8, 2)),
    ("maxpool 3 s2 p1 ceil, 32x8x8", pool_case("max", 32, 8, 3, 2, 1,
                                                True)),
    ("avgpool 2, 32x8x8", pool_case("avg", 32, 8, 2)),
    ("avgpool 3 s2 p1 ceil excl, 32x8x8",
     pool_case("avg", 32, 8, 3, 2, 1, True, count_include_pad=False)),
    ("global avgpool, 32x4x4", pool_case("global", 32, 4, None)),
    ("transposed 2x2 s2, 32x4x4 -> 16x8x8", transpose_case(32, 16, 2, 4,
                                                          2)),
    ("transposed 3x3 s2 p1 op1, 32x4x4->16", transpose_case(
        32, 16, 3, 4, 2, 1, 1)),
    ("pointwise 1x1 (conv.py), 32x4x4", conv_case(32, 32, 1, 4)),
    ("residual dw-separable block, 32x4x4", block_case(32, 4)),
    ("whole network + loss, 1x8x8", network_case()),
]


def median_times(runners, repeats):
    """Median seconds per runner over interleaved repeats, after warm-up.

    A runner that is None gets NaN.
    """
    live = [run for run in runners if run is not None]
    for run in live:
        run()
    times = {id(run): [] for run in live}
    for _ in range(repeats):
        for run in live:
            t = time.perf_counter()
            run()
            times[id(run)].append(time.perf_counter() - t)
    return [float(np.median(times[id(run)])) if run is not None
            else float("nan") for run in runners]


def fmt(value, width, digits):
    """Right-aligned number, or "-" for a figure that was not measured."""
    text = "-" if np.isnan(value) else f"{value:.{digits}f}"
    return f"{text:>{width}}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 repeats")
    args = parser.parse_args(argv)
    repeats = 5 if args.quick else 21
    if torch is not None:
        torch.set_num_threads(1)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"numpy {np.__version__}, torch "
          f"{torch.__version__ if torch else 'not installed'}, 1 thread, "
          f"batch {N}, {os.cpu_count()} cores, load average {load:.2f}")
    header = (f"{'layer':38} {'dtype':7} {'fast ms':>8} {'layer ms':>8} "
              f"{'torch ms':>8} {'fast/torch':>10} {'layer/torch':>11}")
    print(header)
    print("-" * len(header))
    for name, make in CASES:
        for dtype in (np.float32, np.float64):
            runners = make(dtype, np.random.default_rng(0))
            fast, layer, ref = median_times(runners, repeats)
            print(f"{name:38} {np.dtype(dtype).name:7} "
                  f"{fmt(fast * 1e3, 8, 2)} {fmt(layer * 1e3, 8, 2)} "
                  f"{fmt(ref * 1e3, 8, 2)} {fmt(fast / ref, 10, 2)} "
                  f"{fmt(layer / ref, 11, 2)}", flush=True)


if __name__ == "__main__":
    main()
