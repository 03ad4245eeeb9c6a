"""Stored chapter outputs do not depend on the floating-point environment.

``make test`` checks every chapter's stored outputs with nbval under this
machine's own OpenBLAS kernel and thread count. Another CPU, BLAS build or
thread count adds floating-point numbers in another order, so an output
that prints rounding noise (``9.1e-17`` here, ``1.1e-16`` there) would
fail there. This test runs nbval on every chapter a second time, under a
second environment: OpenBLAS forced onto another CPU kernel
(``OPENBLAS_CORETYPE``) with one BLAS thread. It first confirms, with
threadpoolctl in a child process, that the forced kernel is the one that
runs, and that it differs from the native one.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = ("import json, numpy, threadpoolctl; print(json.dumps(["
         "i for i in threadpoolctl.threadpool_info() "
         "if i.get('internal_api') == 'openblas']))")
NBVAL = ["--nbval", "--nbval-current-env", "--nbval-sanitize-with",
         str(ROOT / "tests" / "nbval_sanitize.cfg")]


def openblas(env):
    """threadpoolctl's record of numpy's OpenBLAS under ``env``."""
    done = subprocess.run([sys.executable, "-c", PROBE], env=env,
                          capture_output=True, text=True, check=True)
    found = json.loads(done.stdout)
    assert found, "numpy is not linked to OpenBLAS here"
    return found[0]


def second_environment():
    """Environment variables that force another kernel and one thread."""
    native = openblas(dict(os.environ))["architecture"]
    target = "Prescott" if native.lower() == "sandybridge" else (
        "Sandybridge")
    env = dict(os.environ, OPENBLAS_CORETYPE=target,
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return native, env


def test_second_environment_really_changes_the_kernel():
    native, env = second_environment()
    forced = openblas(env)
    assert forced["architecture"] != native, forced
    assert forced["num_threads"] == 1, forced


def test_every_chapter_reproduces_its_outputs_under_a_second_kernel():
    native, env = second_environment()
    chapters = sorted(str(p) for p in (ROOT / "book").glob(
        "[0-9][0-9]_*.ipynb"))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         *NBVAL, *chapters], cwd=ROOT, env=env, capture_output=True,
        text=True)
    forced = openblas(env)["architecture"]
    assert done.returncode == 0, (
        f"nbval fails with OpenBLAS kernel {forced} (native: {native}) "
        f"and 1 thread:\n" + done.stdout[-6000:] + done.stderr[-2000:])
