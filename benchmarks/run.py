"""nbgrad vs PyTorch vs hand-written NumPy, side by side in one process.

Run from the repository root::

    python -m benchmarks.run                  # CPU (torch column when torch is importable)
    python benchmarks/run.py --device cuda    # nbgrad/torch on the GPU, hand-written CuPy

Workloads: ``chain`` (100 small elementwise ops, forward + backward: per-op
overhead), ``mlp`` (one SGD step of a 784-512-512-10 MLP, batch 128), ``cnn``
(conv16-pool-conv32-pool-linear on 64 1x28x28 images, SGD), ``lstm`` (a
character LSTM: batch 32, 64 steps, hidden 256, vocab 65, Adam) and
``transformer`` (one TransformerEncoderLayer, batch 16, 64 tokens, d_model 128,
4 heads, Adam).
Everything is float32. Prints a table of medians, IQRs and ratios, and writes
``benchmarks/results/latest.json``. Before timing, the implementations are run
once and their results compared, so a broken column fails loudly instead of
timing the wrong thing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

import nbgrad as nb  # noqa: E402
import nbgrad.nn.functional as F  # noqa: E402
from benchmarks import chain, cnn, lstm, mlp, transformer  # noqa: E402 - after the sys.path fix above
from benchmarks.timing import Impl, measure, no_sync, summary  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
WORKLOADS = ("chain", "mlp", "cnn", "lstm", "transformer")
MODULES = {"chain": chain, "mlp": mlp, "cnn": cnn, "lstm": lstm, "transformer": transformer}


def blas_threads() -> tuple[int, str]:
    """Threads NumPy's BLAS uses, and how that number was found."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    if threadpool_info is not None:
        counts = [pool["num_threads"] for pool in threadpool_info() if pool.get("user_api") == "blas"]
        if counts:
            return max(counts), "threadpoolctl"
    # BLAS libraries read these when NumPy loads them, and otherwise use every CPU they may run on.
    for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var]), f"${var}"
    return len(os.sched_getaffinity(0)), "CPUs available to this process"


def load_torch(device: str):
    """torch, or None with the reason it is left out."""
    try:
        import torch
    except ImportError:
        return None, "torch is not importable"
    if device == "cuda" and not torch.cuda.is_available():
        return None, "torch has no CUDA device"
    return torch, ""


def nbgrad_update(p, lr):
    p.add_(p.grad, alpha=-lr)


def torch_update(p, lr):
    p.add_(p.grad, alpha=-lr)


def framework_step(workload: str, lib, functional, to_tensor, no_grad, update, device: str):
    """The ``step()`` of one framework (nbgrad or torch) for one workload."""
    if workload == "chain":
        return chain.framework_step(lib, to_tensor)
    if workload == "mlp":
        return mlp.framework_step(lib, functional.cross_entropy, to_tensor, no_grad, update)
    if workload == "cnn":
        return cnn.framework_step(functional, to_tensor, no_grad, update)
    return MODULES[workload].framework_step(lib, to_tensor, device)  # lstm, transformer: nn layers + Adam


def implementations(workload: str, device: str, torch, xp) -> list[Impl]:
    """The nbgrad, torch (when present) and hand-written columns of one workload on one device."""

    def nb_tensor(a):
        return nb.tensor(a, device=device)

    nb_step = framework_step(workload, nb, F, nb_tensor, nb.no_grad, nbgrad_update, device)
    on_gpu = device == "cuda"
    impls = [Impl("nbgrad", nb_step, nb.cuda.synchronize if on_gpu else no_sync)]
    if torch is not None:

        def torch_tensor(a):
            return torch.from_numpy(a).to(device)

        torch_step = framework_step(
            workload, torch, torch.nn.functional, torch_tensor, torch.no_grad, torch_update, device
        )
        impls.append(Impl("torch", torch_step, torch.cuda.synchronize if on_gpu else no_sync))
    by_hand = MODULES[workload].numpy_step(xp)
    impls.append(Impl("cupy", by_hand, xp.cuda.Device().synchronize) if on_gpu else Impl("numpy", by_hand))
    return impls


def to_numpy(value) -> np.ndarray:
    """A host copy of an nbgrad Tensor, torch tensor, NumPy or CuPy array."""
    if hasattr(value, "detach"):  # torch and nbgrad tensors
        return value.detach().cpu().numpy()
    return np.asarray(value.get() if hasattr(value, "get") else value)


def check_agreement(workload: str, impls: list[Impl]) -> None:
    """Run each column twice (the second MLP step sees the first update) and compare with the first column."""
    outputs = {impl.name: [impl.step() for _ in range(2)] for impl in impls}
    flat = {
        name: [to_numpy(v) for out in outs for v in (out if isinstance(out, tuple) else (out,))]
        for name, outs in outputs.items()
    }
    reference_name = impls[0].name
    for name, values in flat.items():
        for got, want in zip(values, flat[reference_name]):
            if not np.allclose(got, want, rtol=2e-4, atol=2e-5):
                raise SystemExit(
                    f"{workload}: {name} disagrees with {reference_name} (max abs diff {np.abs(got - want).max():.3g});"
                    " refusing to time different computations"
                )


def format_table(results: list[dict]) -> str:
    """Times in ms (median, IQR, min), per-op time for the chain, and ratios of medians."""
    header = ("workload", "impl", "median ms", "IQR ms", "min ms", "per op us", "vs torch", "vs by hand")
    rows = [header]
    for r in results:
        per_op = f"{r['per_op_us']:.2f}" if r["per_op_us"] is not None else ""
        ratios = [f"{r[key]:.2f}x" if r[key] is not None else "" for key in ("vs_torch", "vs_by_hand")]
        times = [f"{r[key] * 1e3:.3f}" for key in ("median", "iqr", "min")]
        rows.append((r["workload"], r["impl"], *times, per_op, *ratios))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def run(args) -> dict:
    device = args.device
    threads, threads_source = blas_threads()
    torch, torch_missing = load_torch(device)
    if torch is not None and device == "cpu":
        torch.set_num_threads(threads)
    if device == "cuda":
        if not nb.cuda.is_available():
            raise SystemExit("--device cuda: nbgrad sees no CUDA GPU (is CuPy installed and a GPU present?)")
        xp = nb.backend.cupy_module()
    else:
        xp = np
    results = []
    for workload in args.workloads:
        impls = implementations(workload, device, torch, xp)
        check_agreement(workload, impls)
        number = measure(impls, args.repeats, args.warmup, args.min_time)
        stats = {impl.name: summary(impl.samples) for impl in impls}
        by_hand = impls[-1].name
        for impl in impls:
            row = {"workload": workload, "impl": impl.name, "calls_per_sample": number, **stats[impl.name]}
            row["per_op_us"] = row["median"] / chain.N_OPS * 1e6 if workload == "chain" else None
            row["vs_torch"] = row["median"] / stats["torch"]["median"] if "torch" in stats else None
            row["vs_by_hand"] = row["median"] / stats[by_hand]["median"]
            results.append(row)
    return {
        "device": device,
        "dtype": "float32",
        "nbgrad": nb.__version__,
        "numpy": np.__version__,
        "torch": torch.__version__ if torch is not None else None,
        "torch_missing_reason": torch_missing or None,
        "threads": threads,
        "threads_source": threads_source,
        "python": platform.python_version(),
        "machine": f"{platform.machine()} {platform.processor()}".strip(),
        "cpu_count": os.cpu_count(),
        "results": results,
    }


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--repeats", type=int, default=30, help="timed samples per implementation (default 30)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls before timing (default 5)")
    parser.add_argument("--min-time", type=float, default=0.02, help="seconds per sample at least (default 0.02)")
    parser.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"JSON results file (default {RESULTS})")
    args = parser.parse_args(argv)
    if args.repeats < 2:
        parser.error("--repeats must be at least 2 (the IQR needs two samples)")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    report = run(args)
    print(
        f"nbgrad {report['nbgrad']}, numpy {report['numpy']}, torch {report['torch'] or '-'};"
        f" device {report['device']}; {report['threads']} BLAS/torch threads ({report['threads_source']});"
        f" {args.repeats} repeats, float32"
    )
    if report["torch_missing_reason"]:
        print(f"torch column left out: {report['torch_missing_reason']}")
    print(format_table(report["results"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
