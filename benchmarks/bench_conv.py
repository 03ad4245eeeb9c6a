"""Time conv forward+backward: cnnbp fast twin vs naive twin vs PyTorch.

Run from the repository root::

    python benchmarks/bench_conv.py           # full run
    python benchmarks/bench_conv.py --quick   # fewer repeats, less naive

Columns:

- "fast": the functional pair ``conv2d`` + ``conv2d_backward`` (the
  backward recomputes im2col);
- "layer": ``cnnbp.layers.Conv2d``, whose forward caches im2col for its
  backward, as PyTorch's autograd caches what its backward needs;
- "torch": ``torch.nn.functional.conv2d`` + ``backward`` (if installed);
- "naive": the loop twin, timed on one sample and scaled by N.

Everything runs on one thread: OMP/MKL/OPENBLAS_NUM_THREADS=1 are set
before NumPy is imported, and ``torch.set_num_threads(1)``.  The fast,
layer and torch runs are interleaved and each figure is the best of the
repeats, so a busy machine slows all three alike.
"""

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import cnnbp  # noqa: E402
from cnnbp import naive  # noqa: E402
from cnnbp.layers import Conv2d  # noqa: E402

try:
    import torch
    import torch.nn.functional as torch_f
except ImportError:
    torch = None

LAYERS = [
    ("layer 1: 256x3x28x28, 32 3x3, s2 p1", (256, 3, 28, 28),
     (32, 3, 3, 3), 2, 1),
    ("layer 2: 256x32x14x14, 64 3x3, s1 p1", (256, 32, 14, 14),
     (64, 32, 3, 3), 1, 1),
]


def make_case(x_shape, w_shape, stride, padding, dtype, seed=0):
    """Random x, w, b and an upstream gradient of the output's shape."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    out_shape, _ = cnnbp.shapes.conv_output_shape(x_shape, w_shape, stride,
                                                  padding)
    dout = rng.standard_normal(out_shape).astype(dtype)
    return x, w, b, dout


def fast_runner(x, w, b, dout, stride, padding):
    def run():
        cnnbp.conv2d(x, w, b, stride, padding)
        cnnbp.conv2d_backward(dout, x, w, stride, padding)

    return run


def layer_runner(x, w, b, dout, stride, padding):
    F, C, HH, WW = w.shape
    layer = Conv2d(C, F, (HH, WW), stride, padding, dtype=w.dtype)
    layer.params["w"], layer.params["b"] = w, b

    def run():
        layer.forward(x)
        layer.backward(dout)

    return run


def torch_runner(x, w, b, dout, stride, padding):
    xt = torch.from_numpy(x).requires_grad_()
    wt = torch.from_numpy(w).requires_grad_()
    bt = torch.from_numpy(b).requires_grad_()
    dt = torch.from_numpy(dout)

    def run():
        xt.grad = wt.grad = bt.grad = None
        out = torch_f.conv2d(xt, wt, bt, stride=stride, padding=padding)
        out.backward(dt)

    return run


def best_times(runners, repeats):
    """Best seconds per runner over interleaved repeats, after warm-up."""
    for run in runners:
        run()
    best = [float("inf")] * len(runners)
    for _ in range(repeats):
        for k, run in enumerate(runners):
            t = time.perf_counter()
            run()
            best[k] = min(best[k], time.perf_counter() - t)
    return best


def time_naive(x, w, b, dout, stride, padding):
    x1, d1 = x[:1], dout[:1]
    t = time.perf_counter()
    naive.conv2d(x1, w, b, stride, padding)
    naive.conv2d_backward(d1, x1, w, stride, padding)
    return (time.perf_counter() - t) * x.shape[0]


def fmt(value, width, digits):
    """Right-aligned number, or "-" for a figure that was not measured."""
    text = "-" if np.isnan(value) else f"{value:.{digits}f}"
    return f"{text:>{width}}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="3 repeats; naive twin on layer 1 only")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 10
    if torch is not None:
        torch.set_num_threads(1)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"numpy {np.__version__}, torch "
          f"{torch.__version__ if torch else 'not installed'}, 1 thread, "
          f"{os.cpu_count()} cores, load average {load:.2f}")
    header = (f"{'layer':38} {'dtype':7} {'fast ms':>8} {'layer ms':>8} "
              f"{'torch ms':>8} {'fast/torch':>10} {'layer/torch':>11} "
              f"{'naive s (x N)':>13}")
    print(header)
    print("-" * len(header))
    for k, (name, x_shape, w_shape, stride, padding) in enumerate(LAYERS):
        for dtype in (np.float32, np.float64):
            case = make_case(x_shape, w_shape, stride, padding, dtype)
            runners = [fast_runner(*case, stride, padding),
                       layer_runner(*case, stride, padding)]
            if torch is not None:
                runners.append(torch_runner(*case, stride, padding))
            times = best_times(runners, repeats) + [float("nan")]
            fast, cached, ref = times[:3]
            # the loops cost the same in either dtype: time them once
            skip_naive = dtype is np.float32 or (args.quick and k > 0)
            slow = (float("nan") if skip_naive
                    else time_naive(*case, stride, padding))
            print(f"{name:38} {np.dtype(dtype).name:7} {fast * 1e3:8.1f} "
                  f"{cached * 1e3:8.1f} {fmt(ref * 1e3, 8, 1)} "
                  f"{fmt(fast / ref, 10, 2)} {fmt(cached / ref, 11, 2)} "
                  f"{fmt(slow, 13, 1)}", flush=True)


if __name__ == "__main__":
    main()
