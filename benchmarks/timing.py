"""Side-by-side timing: every implementation of a workload is sampled in turn, in one process.

Interleaving the samples (nbgrad, torch, numpy, nbgrad, torch, ...) spreads
frequency scaling, other processes and cache effects evenly over the columns,
so the ratios between them are fair even when the absolute times drift.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


def no_sync() -> None:
    """The CPU's ``sync``: work is finished when the call returns."""


@dataclass
class Impl:
    """One implementation of a workload: ``step()`` runs it once; ``sync()`` waits for the device."""

    name: str
    step: Callable[[], object]
    sync: Callable[[], None] = no_sync
    samples: list[float] = field(default_factory=list)  # seconds per call, one per repeat

    def sample(self, number: int) -> float:
        self.sync()
        start = time.perf_counter()
        for _ in range(number):
            self.step()
        self.sync()
        return (time.perf_counter() - start) / number


def calls_per_sample(impls: list[Impl], min_time: float) -> int:
    """Calls per sample so that the slowest implementation runs at least ``min_time`` seconds a sample."""
    slowest = max(impl.sample(1) for impl in impls)
    return max(1, int(min_time / max(slowest, 1e-9)) + 1)


def measure(impls: list[Impl], repeats: int, warmup: int, min_time: float) -> int:
    """Warm up, then fill each ``impl.samples`` with ``repeats`` interleaved samples; return calls per sample."""
    for impl in impls:
        impl.sample(warmup)
    number = calls_per_sample(impls, min_time)
    for _ in range(repeats):
        for impl in impls:
            impl.samples.append(impl.sample(number))
    return number


def summary(samples: list[float]) -> dict:
    """Median, interquartile range and minimum of the per-call times, in seconds."""
    q1, median, q3 = statistics.quantiles(samples, n=4, method="inclusive")
    return {"median": median, "iqr": q3 - q1, "min": min(samples), "repeats": len(samples)}
