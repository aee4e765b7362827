"""Peak memory of the MLP training loop (``benchmarks.mlp``), nbgrad vs PyTorch.

Each framework runs in its own fresh subprocess, so neither sees the other's
allocations or allocator caches. A sampler thread reads the resident set size
(``/proc/self/statm``) every millisecond; the reported number is the peak RSS
during ``STEPS`` training steps minus the RSS just before them (after imports,
data and parameters exist), i.e. what training itself adds: gradients, saved
activations, temporaries and the allocator's caches.

Run from the repository root::

    python -m benchmarks.memory
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

STEPS = 20
ROOT = Path(__file__).resolve().parent.parent


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure_in_this_process(framework: str) -> dict:
    """Build the MLP step for ``framework`` and return its peak extra RSS over ``STEPS`` steps."""
    from benchmarks import mlp

    if framework == "nbgrad":
        import nbgrad as nb
        import nbgrad.nn.functional as F

        step = mlp.framework_step(nb, F.cross_entropy, nb.tensor, nb.no_grad, lambda p, lr: p.add_(p.grad, alpha=-lr))
    else:
        import torch

        torch.set_num_threads(1)
        step = mlp.framework_step(
            torch,
            torch.nn.functional.cross_entropy,
            torch.from_numpy,
            torch.no_grad,
            lambda p, lr: p.add_(p.grad, alpha=-lr),
        )
    baseline = _rss_bytes()
    peak = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss_bytes())
            time.sleep(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    for _ in range(STEPS):
        step()
    done.set()
    sampler.join()
    peak = max(peak, _rss_bytes())
    return {
        "framework": framework,
        "steps": STEPS,
        "baseline_mib": baseline / 2**20,
        "peak_extra_mib": (peak - baseline) / 2**20,
    }


def measure(framework: str) -> dict:
    """:func:`measure_in_this_process` in a fresh interpreter (single-threaded BLAS and torch)."""
    env = dict(
        os.environ,
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    code = (
        f"import json; from benchmarks.memory import measure_in_this_process as m; print(json.dumps(m({framework!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    rows = [measure("nbgrad")]
    try:
        import torch  # noqa: F401
    except ImportError:
        print("torch is not importable: only nbgrad is measured")
    else:
        rows.append(measure("torch"))
    for row in rows:
        print(
            f"{row['framework']:7s} peak extra RSS over {row['steps']} MLP steps: {row['peak_extra_mib']:7.1f} MiB"
            f"  (baseline {row['baseline_mib']:.0f} MiB)"
        )
    if len(rows) == 2 and rows[1]["peak_extra_mib"] > 0:
        print(f"nbgrad / torch: {rows[0]['peak_extra_mib'] / rows[1]['peak_extra_mib']:.2f}x")


if __name__ == "__main__":
    main()
