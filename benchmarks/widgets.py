"""Cost of ``LossPlot.log`` in a tight loop (the issue's bound: at most 5 µs per call, amortised).

Run from the repository root::

    python -m benchmarks.widgets

The widget is created without a front end (no kernel: its comm is a dummy), so what
is timed is nbgrad's own work: appending to the Python buffer, the clock check, and
the flush every 100 ms (folding into the bounded histories and encoding the buffers).
Prints microseconds per call for one and for four metrics per call, best of 5 runs
of 100,000 calls each.
"""

from __future__ import annotations

import sys
import timeit
from pathlib import Path

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BOUND_US = 5.0
CALLS = 100_000


def measure(metrics: dict, calls: int = CALLS, repeat: int = 5) -> float:
    """Best-of-``repeat`` microseconds per ``plot.log(**metrics)`` over ``calls`` calls on a fresh plot."""
    from nbgrad.widgets import LossPlot

    times = []
    for _ in range(repeat):
        plot = LossPlot()
        log = plot.log

        def loop(log=log):
            for _ in range(calls):
                log(**metrics)

        times.append(timeit.timeit(loop, number=1))
        plot.finish()
        assert plot.series(next(iter(metrics))).count == calls
        plot.close()
    return min(times) / calls * 1e6


def main() -> int:
    one = measure({"loss": 0.5})
    four = measure({"loss": 0.5, "acc": 0.9, "lr": 1e-3, "grad_norm": 2.0})
    print(f"LossPlot.log, 1 metric : {one:6.2f} us/call (bound {BOUND_US} us)")
    print(f"LossPlot.log, 4 metrics: {four:6.2f} us/call")
    return 0 if one <= BOUND_US else 1


if __name__ == "__main__":
    sys.exit(main())
