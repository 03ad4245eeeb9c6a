"""Time conv forward+backward: every cnnbp algorithm vs PyTorch on the CPU.

Run from the repository root::

    python benchmarks/bench_conv.py           # full run (a few minutes)
    python benchmarks/bench_conv.py --quick   # fewer repeats

For each course layer and dtype (float32, float64), one forward + one
backward pass of:

- "default": ``cnnbp.layers.Conv2d`` with ``algo="auto"``, whose
  forward caches what its backward needs, as autograd does;
- "default fn": the functional pair ``conv2d`` + ``conv2d_backward``
  (the backward recomputes what it needs);
- every algorithm the layer can run (``Conv2d(..., algo=name)``);
- "torch": ``torch.nn.functional.conv2d`` + ``backward`` (if installed);
- "naive (x N)": the loop twin, timed once on one image and scaled by
  the batch size (float64, full runs only; not interleaved).

Everything runs on one thread: OMP/MKL/OPENBLAS_NUM_THREADS=1 are set
before NumPy is imported, and ``torch.set_num_threads(1)``.  The runs of
a row are interleaved in one process: each repeat runs every path once,
in a rotating order, so a busy machine slows all of them alike.  Times
are medians over the repeats; "vs torch" is the median over the repeats
of the ratio to the torch run of the same repeat.  The machine's load
average is printed before and after.

"peak MB" is the peak of the memory allocated during one forward +
backward, beyond the inputs (outputs, gradients and the cache included):
NumPy's allocations through ``tracemalloc``, PyTorch's through its
profiler's memory timeline.  "error" is the largest relative error
(Euclidean norm) of out, dx, dw and db on the first 16 images, against
the same computation in a wider type (float64 for float32, long double
for float64).
"""

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

import cnnbp  # noqa: E402
from cnnbp import conv, naive  # noqa: E402
from cnnbp.layers import Conv2d  # noqa: E402
from cnnbp.shapes import conv_output_shape  # noqa: E402

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
    out_shape, _ = conv_output_shape(x_shape, w_shape, stride, padding)
    dout = rng.standard_normal(out_shape).astype(dtype)
    return x, w, b, dout


def layer_runner(x, w, b, dout, stride, padding, algo):
    """Conv2d(algo) forward + backward."""
    F, C, HH, WW = w.shape
    layer = Conv2d(C, F, (HH, WW), stride, padding, dtype=w.dtype,
                   algo=algo)
    layer.params["w"], layer.params["b"] = w, b

    def run():
        out = layer.forward(x)
        dx = layer.backward(dout)
        return out, dx, layer.grads["w"], layer.grads["b"]

    return run


def functional_runner(x, w, b, dout, stride, padding):
    """conv2d + conv2d_backward with the default algorithm."""
    def run():
        out = cnnbp.conv2d(x, w, b, stride, padding)
        return (out,) + cnnbp.conv2d_backward(dout, x, w, stride, padding)

    return run


def torch_runner(x, w, b, dout, stride, padding):
    """F.conv2d + autograd backward."""
    xt = torch.from_numpy(x).requires_grad_()
    wt = torch.from_numpy(w).requires_grad_()
    bt = torch.from_numpy(b).requires_grad_()
    dt = torch.from_numpy(dout)

    def run():
        xt.grad = wt.grad = bt.grad = None
        out = torch_f.conv2d(xt, wt, bt, stride=stride, padding=padding)
        out.backward(dt)
        return out.detach(), xt.grad, wt.grad, bt.grad

    return run


def paths(x, w, b, dout, stride, padding):
    """Name -> runner for every path of one case; torch last."""
    spec = conv.ConvSpec(x.shape, w.shape, dout.shape,
                         conv_output_shape(x.shape, w.shape, stride,
                                           padding)[1], x.dtype)
    default = conv.choose_algo(spec).name
    runners = {
        f"default ({default})": layer_runner(x, w, b, dout, stride,
                                             padding, "auto"),
        "default fn": functional_runner(x, w, b, dout, stride, padding),
    }
    for algo in conv.ALGOS[1:]:
        try:
            conv.choose_algo(spec, algo)
        except ValueError:
            continue
        runners[algo] = layer_runner(x, w, b, dout, stride, padding, algo)
    if torch is not None:
        runners["torch"] = torch_runner(x, w, b, dout, stride, padding)
    return runners


def time_interleaved(runners, repeats, clock):
    """Seconds per runner and repeat, in a rotating interleaved order."""
    names = list(runners)
    for name in names:
        runners[name]()
    seconds = {name: [] for name in names}
    for r in range(repeats):
        for k in range(len(names)):
            name = names[(r + k) % len(names)]
            start = clock()
            runners[name]()
            seconds[name].append(clock() - start)
    return {name: np.array(s) for name, s in seconds.items()}


def numpy_peak_mb(run):
    """Peak MB NumPy allocates during one call of ``run``."""
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / 2 ** 20
    finally:
        tracemalloc.stop()


@contextlib.contextmanager
def quiet_output():
    """Silence what C++ code prints to stdout and stderr (the profiler)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def torch_peak_mb(run):
    """Peak MB PyTorch allocates during one call of ``run``, or NaN."""
    from torch.profiler import ProfilerActivity, profile
    with quiet_output(), profile(activities=[ProfilerActivity.CPU],
                                 profile_memory=True, record_shapes=True,
                                 with_stack=True) as prof:
        run()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "timeline.json")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                prof.export_memory_timeline(path, device="cpu")
        except (RuntimeError, ValueError, AttributeError):
            return float("nan")
        with open(path) as f:
            _, sizes = json.load(f)
    total = np.sum(np.array(sizes, dtype=float), axis=1)
    return (total.max() - total[0]) / 2 ** 20


def reference(case, stride, padding, n=16):
    """The first ``n`` images of a case and its exact-er gradients."""
    x, w, b, dout = (case[0][:n], case[1], case[2], case[3][:n])
    wide = np.float64 if x.dtype == np.float32 else np.longdouble
    exact = [a.astype(wide) for a in (x, w, b, dout)]
    ref = [cnnbp.conv2d(*exact[:3], stride, padding, algo="im2col")]
    ref += cnnbp.conv2d_backward(exact[3], *exact[:2], stride, padding,
                                 algo="im2col")
    return (x, w, b, dout), ref


def largest_error(make_runner, sub_case, ref):
    """Largest relative error of a path's out, dx, dw, db."""
    got = make_runner(*sub_case)()
    return max(float(np.linalg.norm(np.asarray(g, dtype=r.dtype) - r)
                     / np.linalg.norm(r)) for g, r in zip(got, ref))


def time_naive(x, w, b, dout, stride, padding):
    """Seconds of the loop twin on one image, times the batch size."""
    x1, d1 = x[:1], dout[:1]
    start = time.perf_counter()
    naive.conv2d(x1, w, b, stride, padding)
    naive.conv2d_backward(d1, x1, w, stride, padding)
    return (time.perf_counter() - start) * x.shape[0]


def load_line():
    """The output of ``uptime``'s load averages (1, 5, 15 minutes)."""
    if not hasattr(os, "getloadavg"):
        return "load average unknown"
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def fmt(value, width, digits):
    """Right-aligned number, or "-" for a figure that was not measured."""
    text = "-" if np.isnan(value) else f"{value:.{digits}f}"
    return f"{text:>{width}}"


def error_runners(name, stride, padding):
    """A function making the runner of path ``name`` for a sub-batch."""
    def make(x, w, b, dout):
        if name == "torch":
            return torch_runner(x, w, b, dout, stride, padding)
        if name == "default fn":
            return functional_runner(x, w, b, dout, stride, padding)
        algo = "auto" if name.startswith("default") else name
        return layer_runner(x, w, b, dout, stride, padding, algo)

    return make


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="5 repeats instead of 15")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--cpu-time", action="store_true",
                        help="time with the thread's CPU time instead of "
                             "the wall clock")
    args = parser.parse_args(argv)
    repeats = args.repeats or (5 if args.quick else 15)
    clock = time.thread_time if args.cpu_time else time.perf_counter
    if torch is not None:
        torch.set_num_threads(1)
    print(f"numpy {np.__version__}, torch "
          f"{torch.__version__ if torch else 'not installed'}, 1 thread, "
          f"{os.cpu_count()} cores")
    print(f"start: {load_line()}")
    print(f"{'wall-clock' if not args.cpu_time else 'CPU'} time, median "
          f"of {repeats} interleaved repeats; 'vs torch' is the median "
          f"of the per-repeat ratios")
    header = (f"{'path':22} {'ms':>8} {'vs torch':>9} {'peak MB':>8} "
              f"{'error':>8}")
    for name, x_shape, w_shape, stride, padding in LAYERS:
        for dtype in (np.float32, np.float64):
            case = make_case(x_shape, w_shape, stride, padding, dtype)
            runners = paths(*case, stride, padding)
            seconds = time_interleaved(runners, repeats, clock)
            ref = seconds.get("torch")
            sub_case, exact = reference(case, stride, padding)
            print(f"\n{name}, {np.dtype(dtype).name} ({load_line()})")
            print(header)
            print("-" * len(header))
            for path, t in seconds.items():
                ratio = (float("nan") if ref is None
                         else float(np.median(t / ref)))
                peak = (torch_peak_mb(runners[path]) if path == "torch"
                        else numpy_peak_mb(runners[path]))
                err = largest_error(error_runners(path, stride, padding),
                                    sub_case, exact)
                print(f"{path:22} {np.median(t) * 1e3:8.1f} "
                      f"{fmt(ratio, 9, 2)} {fmt(peak, 8, 1)} "
                      f"{err:8.1e}", flush=True)
            if dtype is np.float64 and not args.quick:
                slow = time_naive(*case, stride, padding)
                print(f"{'naive (x N), seconds':22} {slow:8.0f}")
    print(f"\nend: {load_line()}")


if __name__ == "__main__":
    main()
