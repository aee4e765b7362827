"""Callbacks of :func:`nbgrad.fit`: the hooks a training run calls, and the two built in (progress, live plot).

A callback is any object with some of the methods of :class:`Callback`;
:func:`~nbgrad.fit` calls those it has, in the order of ``callbacks=``. Each
gets the :class:`Run` (the model, the optimizer, the history, where the run
is); setting ``run.stop = True`` ends the run after the current step.
"""

from __future__ import annotations

import sys
import time

_HOOKS = ("on_fit_begin", "on_epoch_begin", "on_step_end", "on_epoch_end", "on_fit_end")


class Run:
    """Where a :func:`~nbgrad.fit` run stands; passed to every callback.

    Attributes:
        model, optimizer, scheduler: what is being trained.
        history: the :class:`~nbgrad.train.History` being filled.
        epochs: the epoch the run ends with (1-based, counting resumed epochs).
        epoch: the current epoch (1-based).
        step: training steps completed in the current epoch.
        steps_per_epoch: ``len(train_loader)``, or ``None`` for a loader without a length.
        global_step: training steps completed since the history began.
        stop: set it to ``True`` to end the run after the current step (early stopping).
    """

    def __init__(self, model, optimizer, scheduler, history, epochs: int, steps_per_epoch):
        self.model = model
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.history = history
        self.epochs = epochs
        self.epoch = 0
        self.step = 0
        self.steps_per_epoch = steps_per_epoch
        self.global_step = len(history.steps["loss"])
        self.stop = False


class Callback:
    """Base class of :func:`~nbgrad.fit` callbacks (subclassing it is optional: any object with these methods works).

    Example::

        >>> class StopBelow(Callback):
        ...     def on_step_end(self, run, logs):
        ...         if logs["loss"] < 0.1:
        ...             run.stop = True
    """

    def on_fit_begin(self, run: Run) -> None:
        """Before the first epoch."""

    def on_epoch_begin(self, run: Run) -> None:
        """Before the first step of an epoch (``run.epoch`` is set)."""

    def on_step_end(self, run: Run, logs: dict) -> None:
        """After each optimizer step; ``logs`` has ``step`` (global), ``epoch`` and ``loss`` (a float)."""

    def on_epoch_end(self, run: Run, logs: dict) -> None:
        """After validation and the scheduler; ``logs`` is the epoch's record in the history."""

    def on_fit_end(self, run: Run) -> None:
        """After the last epoch, or when the run stopped (interrupted or ``run.stop``)."""


def bound_hooks(callbacks) -> dict:
    """``{hook name: [bound methods]}``: resolved once, so a step calls only the callbacks that listen."""
    return {name: [getattr(cb, name) for cb in callbacks if callable(getattr(cb, name, None))] for name in _HOOKS}


def summary(logs: dict) -> str:
    """``loss 0.3121, val_loss 0.3308, val_accuracy 0.9166``: an epoch record without its epoch and lr."""
    return ", ".join(f"{k} {v:.4g}" for k, v in logs.items() if k not in ("epoch", "lr") and v is not None)


class ProgressBar(Callback):
    """Progress of a run: tqdm bars when tqdm is installed (``tqdm.auto``: widgets in a notebook, text in a
    terminal), else a plain text line per epoch on ``stderr``.

    The epoch bar stays, with the last epoch's metrics; the step bar of an epoch goes when the epoch ends.
    """

    def __init__(self, file=None):
        self.file = file
        self._tqdm = _tqdm()
        self._epochs = self._steps = None
        self._last_draw = 0.0

    def on_fit_begin(self, run):
        if self._tqdm is not None:
            self._epochs = self._tqdm(
                total=run.epochs, initial=run.epoch, desc="epochs", unit="epoch", file=self.file, dynamic_ncols=True
            )

    def on_epoch_begin(self, run):
        desc = f"epoch {run.epoch}/{run.epochs}"
        if self._tqdm is not None:
            self._steps = self._tqdm(
                total=run.steps_per_epoch, desc=desc, unit="step", leave=False, file=self.file, dynamic_ncols=True
            )

    def on_step_end(self, run, logs):
        if self._steps is not None:
            self._steps.set_postfix_str(f"loss {logs['loss']:.4g}", refresh=False)
            self._steps.update()
        elif _is_tty(self._stream()) and time.monotonic() - self._last_draw > 0.5:
            # A live line only where \r rewrites it (a terminal); notebooks get the epoch lines alone, which
            # are the same on every run.
            self._last_draw = time.monotonic()
            total = f"/{run.steps_per_epoch}" if run.steps_per_epoch else ""
            self._write(f"\repoch {run.epoch}/{run.epochs}: step {run.step}{total}, loss {logs['loss']:.4g}")

    def on_epoch_end(self, run, logs):
        if self._steps is not None:
            self._steps.close()
            self._steps = None
        if self._epochs is not None:
            self._epochs.set_postfix_str(summary(logs), refresh=False)
            self._epochs.update()
        else:
            self._write(f"\repoch {run.epoch}/{run.epochs}: {summary(logs)}\n")

    def on_fit_end(self, run):
        for bar in (self._steps, self._epochs):
            if bar is not None:
                bar.close()
        self._steps = self._epochs = None

    def _stream(self):
        return self.file if self.file is not None else sys.stderr

    def _write(self, text: str) -> None:
        stream = self._stream()
        stream.write(text)
        stream.flush()


class LivePlot(Callback):
    """Logs a run into a :class:`~nbgrad.widgets.LossPlot`: the loss at every step, the epoch's metrics at its end.

    The plot's static picture is refreshed when the run ends (``plot.finish()``), so a saved notebook shows
    the final curves.
    """

    def __init__(self, plot):
        self.plot = plot

    def on_fit_begin(self, run):
        # Anchors the step -> epoch map of the plot's epoch axis at the start of the run.
        self.plot.log(step=run.global_step, epoch=run.epoch)

    def on_step_end(self, run, logs):
        self.plot.log(step=logs["step"], loss=logs["loss"])

    def on_epoch_end(self, run, logs):
        # The training loss already has its per-step points; the epoch adds what only it knows.
        values = {k: v for k, v in logs.items() if k not in ("epoch", "loss") and v is not None}
        self.plot.log(step=run.global_step, epoch=run.epoch, **values)

    def on_fit_end(self, run):
        self.plot.finish()


def _tqdm():
    """``tqdm.auto.tqdm``, or None where tqdm is not installed."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


def _is_tty(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False
