"""What a live LossPlot costs ``nb.fit``: a digits MLP trained with and without one, side by side.

Run from the repository root::

    python benchmarks/fit_overhead.py            # the measurement (about a minute)
    python benchmarks/fit_overhead.py --quick    # a smoke run

Three columns, sampled in turn in one process (:mod:`benchmarks.timing`):

- ``fit + LossPlot``: ``nb.fit(..., plot=LossPlot())``: the widget is created and logged
  into every step, with no front end attached (as in a kernel before the view renders;
  a front end only changes what the comm sends, which happens at most every 100 ms);
- ``fit``: the same call with ``plot=False``;
- ``plain loop``: the loop written by hand (forward, loss, zero_grad, backward, step,
  ``loss.item()``, the validation pass), for scale.

One sample is a whole run: a fresh model, ``EPOCHS`` epochs of the 1,438 training digits
(batch 64, Adam), validation on the 359 test digits after each epoch. Progress bars are off
in every column (they are not widgets). The overhead is the median over rounds of the ratio
of the first two columns; the script exits with status 1 when it exceeds ``LIMIT`` (3%),
unless ``--quick``.
"""

from __future__ import annotations

import os

# One BLAS thread: the matrices are small, and a busy machine's thread pool is the largest source of noise.
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nbgrad as nb  # noqa: E402
from benchmarks.timing import summary  # noqa: E402
from nbgrad import nn  # noqa: E402
from nbgrad.data import DataLoader, TensorDataset  # noqa: E402
from nbgrad.data.datasets import load_digits  # noqa: E402
from nbgrad.train import fit  # noqa: E402

EPOCHS = 15  # as the README's digits example: the widget's creation is paid once per run
LIMIT = 0.03


def digits():
    x, y = load_digits("train", flatten=True)
    xv, yv = load_digits("test", flatten=True)
    return DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True), DataLoader(TensorDataset(xv, yv), 256)


def fresh():
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    return model, nb.optim.Adam(model.parameters(), lr=1e-2)


def with_fit(plot_factory):
    train, val = digits()

    def step():
        model, opt = fresh()
        plot = plot_factory()
        fit(model, train, nn.CrossEntropyLoss(), opt, EPOCHS, val_loader=val, plot=plot, progress=False)
        if plot:
            plot.close()

    return step


def plain_loop():
    train, val = digits()
    loss_fn = nn.CrossEntropyLoss()

    def step():
        model, opt = fresh()
        losses = []
        for _ in range(EPOCHS):
            model.train()
            for xb, yb in train:
                loss = loss_fn(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
            model.eval()
            with nb.no_grad():
                total = sum(loss_fn(model(xb), yb).item() * len(yb) for xb, yb in val)
            losses.append(total)

    return step


def measure(impls: dict, repeats: int) -> tuple[dict, dict]:
    """Interleaved runs: ``{name: [seconds]}`` of CPU time and of wall time, ``repeats`` runs each.

    CPU time (``time.process_time``, one BLAS thread) is the verdict's clock: on a machine shared
    with other jobs, wall time also counts the moments this process waited for a core.
    """
    cpu = {name: [] for name in impls}
    wall = {name: [] for name in impls}
    for step in impls.values():  # warm-up: imports, first allocations
        step()
    for _ in range(repeats):
        for name, step in impls.items():
            c, w = time.process_time(), time.perf_counter()
            step()
            cpu[name].append(time.process_time() - c)
            wall[name].append(time.perf_counter() - w)
    return cpu, wall


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 repeats of 1 epoch, no verdict")
    args = parser.parse_args(argv)
    try:
        from nbgrad.widgets import LossPlot
    except ImportError as exc:  # anywidget or ipywidgets missing
        print(f"fit_overhead: skipped ({exc})")
        return 0
    global EPOCHS
    if args.quick:
        EPOCHS = 1
    repeats = 2 if args.quick else args.repeats
    nb.manual_seed(0)
    impls = {"fit + LossPlot": with_fit(LossPlot), "fit": with_fit(lambda: False), "plain loop": plain_loop()}
    cpu, wall = measure(impls, repeats)
    steps = EPOCHS * 23
    print(f"digits MLP 64-128-10, {EPOCHS} epochs of {23} steps + validation, {repeats} interleaved runs each")
    print(f"{'':16s} {'CPU median ms':>14s} {'IQR':>7s} {'wall median ms':>15s} {'IQR':>7s}")
    for name in impls:
        c, w = summary(cpu[name]), summary(wall[name])
        cpu_ms, wall_ms = (
            f"{1e3 * c['median']:14.1f} {1e3 * c['iqr']:7.1f}",
            f"{1e3 * w['median']:15.1f} {1e3 * w['iqr']:7.1f}",
        )
        print(f"{name:16s} {cpu_ms} {wall_ms}")
    # The verdict: the median over rounds of the CPU-time ratio. The runs of one round ran back to back,
    # so a round slowed down by other processes slows both columns alike.
    results = {}
    for label, times in (("CPU", cpu), ("wall", wall)):
        for other in ("fit", "plain loop"):
            ratio = statistics.median(a / b for a, b in zip(times["fit + LossPlot"], times[other])) - 1
            results[(label, other)] = ratio
            per_step = ratio * statistics.median(times[other]) / steps * 1e6
            print(f"fit + LossPlot vs {other:10s} ({label:4s}): {ratio:+6.2%} ({per_step:+6.1f} us per step)")
    overhead = results[("CPU", "fit")]
    print(f"LossPlot overhead (median paired CPU-time ratio): {overhead:+.2%}; limit {LIMIT:.0%}")
    if args.quick:
        return 0
    return 0 if overhead <= LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
