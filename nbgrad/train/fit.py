"""``fit``: a training loop for notebooks: progress, live curves, validation, schedulers, checkpoints, Ctrl-C.

The loop is the one everybody writes (forward, loss, ``zero_grad``, backward,
``step``), plus what a notebook wants around it. An interrupt (Ctrl-C, or
"Interrupt the kernel" in Jupyter) never cuts an optimizer step in half: while
``fit`` runs, the first SIGINT only asks the loop to stop once the current step
is done; the model, the optimizer state and the history are kept, and ``fit``
returns the history without a traceback. A second SIGINT stops at once, except
inside ``optimizer.step()`` and a checkpoint write, which always finish.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading

from nbgrad.autograd import no_grad
from nbgrad.tensor import Tensor
from nbgrad.train.callbacks import LivePlot, ProgressBar, Run, bound_hooks
from nbgrad.train.history import History


def fit(
    model,
    train_loader,
    loss_fn,
    optimizer,
    epochs: int = 1,
    val_loader=None,
    metrics=(),
    callbacks=(),
    device=None,
    scheduler=None,
    checkpoint=None,
    resume=None,
    plot="auto",
    progress: bool = True,
) -> History:
    """Train ``model`` for ``epochs`` epochs and return its :class:`~nbgrad.train.History`.

    Each step: ``loss = loss_fn(model(x), y)``, ``optimizer.zero_grad()``,
    ``loss.backward()``, ``optimizer.step()``. A batch is ``(x, y)``, or
    ``(x1, x2, ..., y)`` for a model of several inputs. After each epoch:
    validation (``model.eval()`` under ``no_grad``), the scheduler, the
    checkpoint, and the epoch's record in the history.

    Interrupting (Ctrl-C, or the notebook's "interrupt kernel") stops the run
    after the current step: the model, the optimizer state and the history are
    kept, ``fit`` says where it stopped and returns the history.
    ``fit(..., resume=history)`` then goes on from the interrupted epoch (which
    starts again from its first batch).

    Args:
        model: the :class:`~nbgrad.nn.Module` to train (set to ``train()`` mode, then back to its own).
        train_loader: an iterable of batches, e.g. a :class:`~nbgrad.data.DataLoader`.
        loss_fn: ``loss_fn(output, target)`` returning a 0-d tensor (``nn.CrossEntropyLoss()``,
            ``F.cross_entropy``...).
        optimizer: a :class:`~nbgrad.optim.Optimizer` over the model's parameters.
        epochs: the epoch to stop after (counting the epochs of a resumed history).
        val_loader: batches to evaluate after every epoch (adds ``val_loss`` and ``val_<metric>``).
        metrics: names (``"accuracy"``) or functions ``fn(output, target) -> float or 0-d tensor``
            (named by ``__name__``), or a dict ``{name: fn}``; measured on training and
            validation batches and averaged over samples.
        callbacks: objects with some of the methods of :class:`~nbgrad.train.Callback`
            (a :class:`~nbgrad.widgets.TrainingMonitor` is one).
        device: move the model and each batch's tensors there (``"cpu"``, ``"cuda"``); None keeps them.
        scheduler: an LR scheduler, stepped after each epoch (:class:`~nbgrad.optim.lr_scheduler.ReduceLROnPlateau`
            gets the validation loss, or the training loss without validation); ``OneCycleLR``
            is stepped after each optimizer step, as it is meant to be.
        checkpoint: a path: after each epoch, :func:`nbgrad.save` writes the model's and the
            optimizer's (and scheduler's) state, the epoch and the history there (atomically).
        resume: continue a run: a :class:`History` (in memory: the model and optimizer are
            as they are), a checkpoint path, or ``True`` for the ``checkpoint`` path when that file
            exists (the run starts afresh otherwise).
        plot: ``"auto"``: a live :class:`~nbgrad.widgets.LossPlot` when running in a Jupyter kernel
            with ipywidgets and anywidget installed; ``True``/``False``; or a ``LossPlot`` to log into.
        progress: show progress bars (tqdm when installed, else a text line per epoch on stderr);
            ``False`` prints nothing but a stop message, which keeps notebook outputs reproducible.

    Returns:
        the :class:`~nbgrad.train.History` (also when interrupted; ``history.interrupted`` says where).

    Example::

        >>> import nbgrad as nb
        >>> from nbgrad.data import DataLoader, TensorDataset
        >>> nb.manual_seed(0)
        >>> x = nb.randn(64, 3); y = (x.sum(1) > 0).long()
        >>> model = nb.nn.Linear(3, 2)
        >>> opt = nb.optim.SGD(model.parameters(), lr=0.5)
        >>> history = fit(model, DataLoader(TensorDataset(x, y), batch_size=16), nb.nn.CrossEntropyLoss(), opt,
        ...               epochs=3, metrics=["accuracy"], plot=False, progress=False)
        >>> len(history), history.keys()
        (3, ['epoch', 'loss', 'accuracy', 'lr'])
    """
    if int(epochs) != epochs or epochs < 0:
        raise ValueError(f"fit: epochs must be a non-negative integer, got {epochs!r}")
    metric_fns = _resolve_metrics(metrics)
    if device is not None:
        model.to(device)
    history, done = _start(model, optimizer, scheduler, checkpoint, resume)
    try:
        steps_per_epoch = len(train_loader)
    except TypeError:
        steps_per_epoch = None
    run = Run(model, optimizer, scheduler, history, int(epochs), steps_per_epoch)
    run.epoch = done
    extra = []
    if progress:
        extra.append(ProgressBar())
    live = _live_plot(plot)
    if live is not None:
        extra.append(LivePlot(live))
    hooks = bound_hooks([*extra, *callbacks])
    # OneCycleLR is meant to advance every optimizer step; the others advance once per epoch.
    per_step_scheduler = scheduler if _is_scheduler(scheduler, "OneCycleLR") else None
    was_training = model.training
    guard = _InterruptGuard()
    where = ""
    with guard:
        try:
            for fn in hooks["on_fit_begin"]:
                fn(run)
            for epoch in range(done + 1, run.epochs + 1):
                run.epoch, run.step = epoch, 0
                for fn in hooks["on_epoch_begin"]:
                    fn(run)
                model.train()
                logs = _train_epoch(run, train_loader, loss_fn, metric_fns, device, per_step_scheduler, hooks, guard)
                if guard.requested:
                    break
                if val_loader is not None:
                    val = _evaluate(model, val_loader, loss_fn, metric_fns, device, guard)
                    if val is None:
                        where = " (during validation)"
                        break
                    logs.update(val)
                logs["lr"] = _lr(optimizer)
                record = {"epoch": epoch, **logs}
                history.epochs.append(record)
                if scheduler is not None and per_step_scheduler is None:
                    _step_scheduler(scheduler, logs)
                if checkpoint is not None:
                    with guard.critical():  # a checkpoint is written whole (nb.save is atomic too)
                        _save(checkpoint, model, optimizer, scheduler, history, epoch)
                for fn in hooks["on_epoch_end"]:
                    fn(run, record)
                if guard.requested or run.stop:
                    break
        except KeyboardInterrupt:  # raised between steps: by a callback, or a second Ctrl-C
            guard.requested = True
        finally:
            model.train(was_training)
        if guard.requested:
            history.interrupted = (run.epoch, run.step)
        for fn in hooks["on_fit_end"]:
            fn(run)
    if guard.requested:
        print(
            f"interrupted at epoch {run.epoch}, step {run.step}{where}: model, optimizer and history kept; "
            "run nb.fit(..., resume=history) to continue"
        )
    return history


# ---------------------------------------------------------------------- the epoch
def _train_epoch(run, loader, loss_fn, metric_fns, device, per_step_scheduler, hooks, guard) -> dict:
    """One pass over ``loader``; returns the epoch's sample-mean loss and metrics. Stops early on an interrupt."""
    model, optimizer, history = run.model, run.optimizer, run.history
    on_step_end = hooks["on_step_end"]
    totals = dict.fromkeys(["loss", *metric_fns], 0.0)
    seen = 0
    batches = iter(loader)
    while not (guard.requested or run.stop):
        updated = False
        try:
            try:
                batch = next(batches)
            except StopIteration:
                break
            inputs, target = _split(batch, device)
            output = model(*inputs)
            loss = loss_fn(output, target)
            optimizer.zero_grad()
            loss.backward()
            with guard.critical():  # a parameter update is never cut in half
                optimizer.step()
                updated = True
                if per_step_scheduler is not None:
                    per_step_scheduler.step()
            value = loss.item()
            run.step += 1
            run.global_step = history.add_step(run.epoch, value)
            n = _batch_size(target)
            seen += n
            totals["loss"] += value * n
            for name, fn in metric_fns.items():
                totals[name] += _scalar(fn(output.detach(), target)) * n
            if on_step_end:
                logs = {"step": run.global_step, "epoch": run.epoch, "loss": value}
                for fn in on_step_end:
                    fn(run, logs)
        except KeyboardInterrupt:
            # Raised inside the step (a second Ctrl-C, or a loader or callback raising it): before the update,
            # the step is dropped with its partial gradients; after it, the step stands.
            if not updated:
                optimizer.zero_grad()
            guard.requested = True
    return {k: (v / seen if seen else None) for k, v in totals.items()}


def _evaluate(model, loader, loss_fn, metric_fns, device, guard) -> "dict | None":
    """Sample-mean ``val_loss`` and ``val_<metric>`` over ``loader``; ``None`` when interrupted."""
    totals = dict.fromkeys(["loss", *metric_fns], 0.0)
    seen = 0
    model.eval()
    try:
        with no_grad():
            for batch in loader:
                if guard.requested:
                    return None
                inputs, target = _split(batch, device)
                output = model(*inputs)
                n = _batch_size(target)
                seen += n
                totals["loss"] += _scalar(loss_fn(output, target)) * n
                for name, fn in metric_fns.items():
                    totals[name] += _scalar(fn(output, target)) * n
    except KeyboardInterrupt:
        guard.requested = True
        return None
    finally:
        model.train()
    if guard.requested:
        return None
    return {f"val_{k}": (v / seen if seen else None) for k, v in totals.items()}


def _split(batch, device):
    """``(inputs tuple, target)`` from a batch ``(x, y)`` or ``(x1, ..., y)``, moved to ``device``."""
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise TypeError(
            f"fit: each batch must be a tuple (inputs..., target), got {type(batch).__name__}; "
            "wrap the data in a TensorDataset(x, y)"
        )
    if device is not None:
        batch = [b.to(device) if isinstance(b, Tensor) else b for b in batch]
    return tuple(batch[:-1]), batch[-1]


def _batch_size(target) -> int:
    shape = getattr(target, "shape", None)
    return int(shape[0]) if shape else 1


def _scalar(value) -> float:
    return float(value.item() if hasattr(value, "item") else value)


def _lr(optimizer) -> "float | None":
    groups = getattr(optimizer, "param_groups", None)
    return float(groups[0]["lr"]) if groups and "lr" in groups[0] else None


def _is_scheduler(scheduler, name: str) -> bool:
    if scheduler is None:
        return False
    from nbgrad.optim import lr_scheduler

    return isinstance(scheduler, getattr(lr_scheduler, name))


def _step_scheduler(scheduler, logs: dict) -> None:
    if _is_scheduler(scheduler, "ReduceLROnPlateau"):
        scheduler.step(logs.get("val_loss", logs["loss"]))
    else:
        scheduler.step()


# ---------------------------------------------------------------------- metrics
def accuracy(output, target) -> float:
    """The fraction of samples whose highest logit is the target class (or, for one logit per sample,
    whose sign matches a 0/1 target).

    Example::

        >>> import nbgrad as nb
        >>> accuracy(nb.tensor([[2.0, 1.0], [0.0, 3.0]]), nb.tensor([0, 0]))
        0.5
    """
    if output.ndim == target.ndim + 1 and output.shape[-1] > 1:
        predicted = output.argmax(dim=-1)
    else:
        predicted = (output.reshape(target.shape) > 0).long()
    return float((predicted == target).float().mean().item())


_NAMED_METRICS = {"accuracy": accuracy, "acc": accuracy}


def _resolve_metrics(metrics) -> dict:
    if isinstance(metrics, str):
        metrics = (metrics,)
    items = metrics.items() if isinstance(metrics, dict) else ((None, m) for m in metrics)
    out = {}
    for name, m in items:
        if isinstance(m, str):
            if m not in _NAMED_METRICS:
                known = sorted(_NAMED_METRICS)
                raise ValueError(f"fit: unknown metric {m!r}; named metrics: {known}, or pass a function")
            name, m = name or m, _NAMED_METRICS[m]
        elif not callable(m):
            raise TypeError(f"fit: a metric must be a name or a function fn(output, target), got {m!r}")
        name = name or getattr(m, "__name__", None) or type(m).__name__
        if name == "loss":
            raise ValueError("fit: 'loss' is recorded already; give the metric another name")
        out[name] = m
    return out


# ---------------------------------------------------------------------- resume, checkpoints, plot
def _start(model, optimizer, scheduler, checkpoint, resume) -> tuple:
    """``(history, epochs already done)``: fresh, from an in-memory History, or from a checkpoint."""
    if resume is None or resume is False:
        return History(), 0
    if isinstance(resume, History):
        resume.interrupted = None
        return resume, len(resume.epochs) and resume.epochs[-1]["epoch"]
    if resume is True:
        if checkpoint is None:
            raise ValueError("fit: resume=True resumes from the checkpoint path; pass checkpoint=path")
        if not os.path.exists(checkpoint):
            return History(), 0
        resume = checkpoint
    from nbgrad.io import load

    state = load(resume)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state.get("scheduler") is not None:
        scheduler.load_state_dict(state["scheduler"])
    history = History()
    history.load_state_dict(state["history"])
    history.interrupted = None
    return history, int(state["epoch"])


def _save(path, model, optimizer, scheduler, history, epoch: int) -> None:
    from nbgrad.io import save

    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "epoch": epoch,
        "history": history.state_dict(),
    }
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    save(state, path)


def _live_plot(plot):
    """The LossPlot to log into, or None; ``"auto"`` makes one (and displays it) only in a Jupyter kernel."""
    if plot is None or plot is False:
        return None
    if plot == "auto":
        from nbgrad import ipython

        if not ipython.in_kernel():
            return None
        try:
            import anywidget  # noqa: F401  (LossPlot needs it; without it, no plot rather than an error)
        except ImportError:
            return None
        plot = True
    if plot is True:
        from nbgrad import ipython
        from nbgrad.widgets import LossPlot

        plot = LossPlot()
        ipython.display(plot)
    if not callable(getattr(plot, "log", None)):
        raise TypeError(f"fit: plot must be 'auto', True, False or a LossPlot, got {plot!r}")
    return plot


# ---------------------------------------------------------------------- interrupts
class _InterruptGuard:
    """Turns SIGINT into a request to stop (``requested``) while a run is on.

    The first SIGINT sets the flag; the loop stops after the current step. A
    second one raises KeyboardInterrupt at once (a step that hangs can still be
    left), except inside :meth:`critical`, which always runs to its end.
    Installed only in the main thread (the only one Python delivers signals to).
    """

    def __init__(self):
        self.requested = False
        self._critical = 0
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc) -> bool:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
        return False

    def _handler(self, signum, frame) -> None:
        if self.requested and not self._critical:
            raise KeyboardInterrupt
        self.requested = True

    @contextlib.contextmanager
    def critical(self):
        self._critical += 1
        try:
            yield
        finally:
            self._critical -= 1
