"""Run every tutorial in a fresh kernel and report its wall time and peak memory against Binder's limits.

mybinder.org gives a notebook 1-2 GB of memory and a couple of CPU cores; the tutorials promise
to run in under 2 minutes and 1 GB each, and in under 10 minutes together. Each notebook runs
in a subprocess of its own (pinned to ``--cpus`` cores, which its kernel inherits), top to bottom,
from its own folder, as a user's "Run All" would; cells nbval skips (``# NBVAL_SKIP``, e.g. GPU
cells) are skipped here too, and cells marked to raise may raise.

Time: the cells' time (Run All, kernel start-up excluded) against the per-notebook limit, and
the wall time (kernel start-up included) against the total limit.
Peak memory is the kernel's peak resident set size (Linux ``VmHWM``), or, when larger, the sum
over the kernel and its child processes sampled every 50 ms (for DataLoader workers), or the
largest finished child process (``getrusage``).

Usage: python scripts/notebook_report.py NOTEBOOK_DIR_OR_FILES... [--json OUT]
Needs nbclient and ipykernel (JupyterLab brings both); fails (exit 1) when a notebook raises
or breaks a limit.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

from check_notebooks import cell_markers  # scripts/ is on sys.path when this runs as a script

ANSI = re.compile(r"\x1b\[[0-9;]*m")  # colours in tracebacks
LIMIT_SECONDS = 120.0
LIMIT_MB = 1024.0
LIMIT_TOTAL_SECONDS = 600.0


# ---------------------------------------------------------------------- memory
def _status_kb(pid: int, field: str) -> int:
    """A ``kB`` field of /proc/PID/status (0 when the process is gone or there is no /proc)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants, from /proc/PID/task/TID/children."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo += [int(child) for child in children.read().split()]
        except OSError:
            continue
    return tree


class PeakMemory(threading.Thread):
    """Samples the summed RSS of a process tree until stopped; ``peak_kb`` also counts the root's ``VmHWM``."""

    def __init__(self, pid: int, interval: float = 0.05):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.sampled_kb = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            total = sum(_status_kb(p, "VmRSS") for p in _process_tree(self.pid))
            self.sampled_kb = max(self.sampled_kb, total)
            self._stop_event.wait(self.interval)

    def stop(self) -> int:
        """Stop sampling (with the kernel still alive) and return the peak in kB."""
        high_water = _status_kb(self.pid, "VmHWM")  # exact peak of the kernel process itself
        self._stop_event.set()
        self.join()
        return max(self.sampled_kb, high_water)


# ---------------------------------------------------------------------- one notebook (in a subprocess)
def run_one(path: Path, cpus: int, time_limit: float) -> dict:
    """Execute one notebook in a fresh kernel; return seconds, peak MB and the error, if any.

    Cells get what is left of ``time_limit``: a notebook over the limit stops there, and its kernel is shut down.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    if cpus and hasattr(os, "sched_setaffinity"):
        available = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, available[:cpus])  # the kernel inherits it (so does its BLAS thread count)
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        markers = cell_markers(cell) if cell.cell_type == "code" else set()
        if "raises" in markers:
            cell.metadata.setdefault("tags", []).append("raises-exception")  # the tag nbclient understands
    resources = {"metadata": {"path": str(path.parent)}}  # the kernel starts in the notebook's folder
    client = NotebookClient(notebook, kernel_name="python3", resources=resources)
    result = {"notebook": str(path), "seconds": 0.0, "execute_seconds": 0.0, "peak_mb": 0.0, "error": None}
    start = time.perf_counter()
    peak_kb = 0
    try:
        with client.setup_kernel():
            sampler = PeakMemory(client.km.provisioner.pid)
            sampler.start()
            executing = time.perf_counter()
            try:
                for index, cell in enumerate(notebook.cells):
                    if cell.cell_type == "code" and "skip" not in cell_markers(cell):
                        client.timeout = max(1, math.ceil(time_limit - (time.perf_counter() - executing)))
                        client.execute_cell(cell, index)
            finally:
                result["execute_seconds"] = time.perf_counter() - executing
                peak_kb = sampler.stop()
    except CellTimeoutError:
        result["error"] = f"stopped at the {time_limit:g} s limit, in the middle of a cell"
    except CellExecutionError as error:
        result["error"] = ANSI.sub("", str(error)).strip().splitlines()[-1][:500]
    except Exception as error:  # a kernel that died or timed out: report it, do not hide the other notebooks
        result["error"] = f"{type(error).__name__}: {str(error).strip().splitlines()[0]}"[:500]
    result["seconds"] = time.perf_counter() - start
    # A child process reaped after it finished (the kernel, once shut down) counts here too.
    peak_kb = max(peak_kb, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    result["peak_mb"] = peak_kb / 1024
    return result


# ---------------------------------------------------------------------- all notebooks
def _notebooks(paths: list[str]) -> list[Path]:
    found = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found += sorted(p for p in path.glob("*.ipynb") if not p.name.startswith("."))
        else:
            found.append(path)
    return found


def _run_in_subprocess(path: Path, args) -> dict:
    command = [sys.executable, __file__, "--run-one", str(path), "--cpus", str(args.cpus)]
    command += ["--time-limit", str(args.limit_seconds)]
    deadline = args.limit_seconds + 120  # the runner stops at the limit; this is for a kernel that hangs
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=deadline)
    except subprocess.TimeoutExpired:  # over the limit anyway: stop it rather than wait for the end
        error = f"stopped after {deadline:g} s"
        return {"notebook": str(path), "seconds": deadline, "execute_seconds": 0.0, "peak_mb": 0.0, "error": error}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        error = done.stderr.strip()[-500:]
        return {"notebook": str(path), "seconds": 0.0, "execute_seconds": 0.0, "peak_mb": 0.0, "error": error}
    return json.loads(lines[-1])


def limit_problems(results: list[dict], limit_seconds: float, limit_mb: float, limit_total: float) -> list[str]:
    """Each notebook that failed or broke a limit, and the total (wall) time if it broke its limit."""
    problems = []
    for r in results:
        name = Path(r["notebook"]).name
        if r["error"]:
            problems.append(f"{name}: failed: {r['error']}")
        if r["execute_seconds"] > limit_seconds:  # Run All's time; kernel start-up is not the notebook's
            problems.append(f"{name}: its cells took {r['execute_seconds']:.1f} s, over the {limit_seconds:g} s limit")
        if r["peak_mb"] > limit_mb:
            problems.append(f"{name}: peak memory {r['peak_mb']:.0f} MB, over the {limit_mb:g} MB limit")
    total = sum(r["seconds"] for r in results)
    if total > limit_total:
        problems.append(f"all notebooks took {total:.1f} s together, over the {limit_total:g} s limit")
    return problems


def format_table(results: list[dict]) -> str:
    width = max([len("total (peak: max)")] + [len(Path(r["notebook"]).name) for r in results])
    lines = [f"{'notebook':<{width}}  {'wall s':>7}  {'cells s':>7}  {'peak MB':>7}  status"]
    for r in results:
        name, cells, status = Path(r["notebook"]).name, r.get("execute_seconds", 0.0), "FAILED" if r["error"] else "ok"
        lines.append(f"{name:<{width}}  {r['seconds']:7.1f}  {cells:7.1f}  {r['peak_mb']:7.0f}  {status}")
    total = sum(r["seconds"] for r in results)
    peak = max((r["peak_mb"] for r in results), default=0.0)
    lines.append(f"{'total (peak: max)':<{width}}  {total:7.1f}  {'':>7}  {peak:7.0f}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", default=["notebooks"], help="notebooks, or folders of them")
    parser.add_argument("--cpus", type=int, default=2, help="cores each notebook may use (0: all); Binder gives ~2")
    parser.add_argument("--limit-seconds", type=float, default=LIMIT_SECONDS)
    parser.add_argument("--limit-mb", type=float, default=LIMIT_MB)
    parser.add_argument("--limit-total-seconds", type=float, default=LIMIT_TOTAL_SECONDS)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--run-one", help=argparse.SUPPRESS)  # internal: the per-notebook subprocess
    parser.add_argument("--time-limit", type=float, default=LIMIT_SECONDS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv[1:])

    if args.run_one:
        print(json.dumps(run_one(Path(args.run_one), args.cpus, args.time_limit)))
        return 0

    notebooks = _notebooks(args.paths)
    if not notebooks:
        print(f"notebook_report: no notebooks in {args.paths}", file=sys.stderr)
        return 1
    results = []
    for path in notebooks:
        results.append(_run_in_subprocess(path, args))
        r = results[-1]
        print(f"  {path.name}: {r['seconds']:.1f} s, {r['peak_mb']:.0f} MB{'' if not r['error'] else ', FAILED'}")
    print(format_table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    problems = limit_problems(results, args.limit_seconds, args.limit_mb, args.limit_total_seconds)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
