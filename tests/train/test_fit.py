"""nb.train.fit: history, validation metrics, schedulers, checkpoints and resume, interrupts, determinism, output."""

from __future__ import annotations

import importlib
import os
import signal

import numpy as np
import pytest

import nbgrad as nb
from nbgrad import nn
from nbgrad.data import DataLoader, TensorDataset
from nbgrad.io import load
from nbgrad.optim.lr_scheduler import OneCycleLR, ReduceLROnPlateau, StepLR
from nbgrad.train import Callback, History, accuracy, fit
from nbgrad.train import callbacks as cb_module

# nbgrad.train.fit is also the name of the function the package exports: take the module itself.
fit_module = importlib.import_module("nbgrad.train.fit")

N, FEATURES, CLASSES, BATCH = 96, 5, 3, 16  # 6 steps an epoch


def data(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, FEATURES)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5).astype(np.int64)
    return nb.tensor(x), nb.tensor(y)


def setup(lr: float = 0.1, seed: int = 0):
    nb.manual_seed(seed)
    model = nn.Sequential(nn.Linear(FEATURES, 8), nn.ReLU(), nn.Linear(8, CLASSES))
    opt = nb.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    x, y = data()
    return model, opt, DataLoader(TensorDataset(x, y), batch_size=BATCH)


def run(model, opt, loader, epochs=2, **kwargs):
    kwargs.setdefault("plot", False)
    kwargs.setdefault("progress", False)
    return fit(model, loader, nn.CrossEntropyLoss(), opt, epochs, **kwargs)


def params(model) -> list:
    return [p.detach().numpy().copy() for p in model.parameters()]


def manual_steps(steps: int) -> list:
    """The parameters after ``steps`` plain training steps over the same data (the reference loop)."""
    model, opt, loader = setup()
    loss_fn = nn.CrossEntropyLoss()
    done = 0
    while done < steps:
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            done += 1
            if done == steps:
                break
    return params(model)


def assert_same(a: list, b: list) -> None:
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)


# ---------------------------------------------------------------------- history
def test_history_records_every_step_and_epoch():
    model, opt, loader = setup()
    history = run(model, opt, loader, epochs=3, metrics=["accuracy"])
    assert isinstance(history, History) and len(history) == 3
    assert history.keys() == ["epoch", "loss", "accuracy", "lr"]
    assert history["epoch"] == [1, 2, 3]
    assert list(history.steps["step"]) == list(range(1, 19))
    assert list(history.steps["epoch"]) == [1] * 6 + [2] * 6 + [3] * 6
    # The epoch loss is the sample-weighted mean of its steps' losses (equal batches: the plain mean).
    losses = np.array(history.steps["loss"])
    for e in range(3):
        assert history["loss"][e] == pytest.approx(losses[6 * e : 6 * e + 6].mean())
    assert history.interrupted is None
    assert history["loss"][-1] < history["loss"][0]
    assert history.best("loss")["epoch"] == 3
    # fit trains exactly as the plain loop does
    assert_same(params(model), manual_steps(18))


def test_model_mode_restored_and_multi_input_batches():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(FEATURES, CLASSES), nn.Linear(FEATURES, CLASSES)

        def forward(self, x1, x2):
            return self.a(x1) + self.b(x2)

    x, y = data()
    model = Two().eval()
    opt = nb.optim.SGD(model.parameters(), lr=0.1)
    history = run(model, opt, DataLoader(TensorDataset(x, x * 2, y), batch_size=BATCH), epochs=1)
    assert len(history.steps["loss"]) == 6
    assert model.training is False  # back to the mode it came in


def test_a_batch_that_is_not_a_pair_says_what_to_do():
    model, opt, _ = setup()
    with pytest.raises(TypeError, match="TensorDataset"):
        run(model, opt, [nb.randn(4, FEATURES)], epochs=1)


# ---------------------------------------------------------------------- validation and metrics
def test_validation_loss_and_metrics_match_a_manual_evaluation():
    model, opt, loader = setup()
    xv, yv = data(seed=1)
    val_loader = DataLoader(TensorDataset(xv, yv), batch_size=40)  # 40 + 40 + 16: unequal batches

    def top2(output, target):
        top = output.detach().numpy().argsort(axis=1)[:, -2:]
        return float((top == target.numpy()[:, None]).any(axis=1).mean())

    history = run(model, opt, loader, epochs=2, val_loader=val_loader, metrics={"acc": "accuracy", "top2": top2})
    assert history.keys() == ["epoch", "loss", "acc", "top2", "val_loss", "val_acc", "val_top2", "lr"]
    with nb.no_grad():
        out = model(xv)
        expected_loss = nn.functional.cross_entropy(out, yv).item()
        expected_acc = accuracy(out, yv)
        expected_top2 = top2(out, yv)
    last = history.epochs[-1]
    assert last["val_loss"] == pytest.approx(expected_loss, rel=1e-5)  # sample-weighted over unequal batches
    assert last["val_acc"] == pytest.approx(expected_acc)
    assert last["val_top2"] == pytest.approx(expected_top2)
    assert model.training


def test_accuracy_metric():
    assert accuracy(nb.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]]), nb.tensor([0, 1, 1])) == pytest.approx(2 / 3)
    # one logit per sample: the sign against 0/1 targets
    assert accuracy(nb.tensor([[1.5], [-2.0], [0.3]]), nb.tensor([1, 0, 0])) == pytest.approx(2 / 3)


def test_bad_metrics_are_refused():
    model, opt, loader = setup()
    with pytest.raises(ValueError, match="unknown metric"):
        run(model, opt, loader, metrics=["f1"])
    with pytest.raises(ValueError, match="recorded already"):
        run(model, opt, loader, metrics={"loss": accuracy})
    with pytest.raises(TypeError, match="name or a function"):
        run(model, opt, loader, metrics=[3])


# ---------------------------------------------------------------------- schedulers
def test_epoch_scheduler_steps_once_per_epoch():
    model, opt, loader = setup(lr=0.1)
    sched = StepLR(opt, step_size=1, gamma=0.5)
    history = run(model, opt, loader, epochs=3, scheduler=sched)
    assert history["lr"] == pytest.approx([0.1, 0.05, 0.025])  # the rate each epoch trained with
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0125)


def test_plateau_scheduler_gets_the_validation_loss():
    model, opt, loader = setup()
    seen = []

    class Spy(ReduceLROnPlateau):
        def step(self, metrics, epoch=None):
            seen.append(metrics)
            super().step(metrics, epoch)

    history = run(model, opt, loader, epochs=2, val_loader=loader, scheduler=Spy(opt))
    assert seen == history["val_loss"]
    seen.clear()
    history = run(model, opt, loader, epochs=2, scheduler=Spy(opt))  # no validation: the training loss
    assert seen == history["loss"]


def test_one_cycle_steps_every_batch():
    model, opt, loader = setup()
    sched = OneCycleLR(opt, max_lr=0.5, total_steps=12)
    run(model, opt, loader, epochs=2, scheduler=sched)
    assert sched.last_epoch == 12


# ---------------------------------------------------------------------- checkpoints and resume
def test_checkpoint_holds_model_optimizer_epoch_and_history(tmp_path):
    path = tmp_path / "run.safetensors"
    model, opt, loader = setup()
    sched = StepLR(opt, step_size=1, gamma=0.5)
    history = run(model, opt, loader, epochs=2, scheduler=sched, checkpoint=path)
    state = load(path)
    assert state["epoch"] == 2
    assert state["scheduler"]["last_epoch"] == 2
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(state["model"][name].numpy(), value.numpy())
    fresh = nb.optim.SGD(setup()[0].parameters(), lr=0.1, momentum=0.9)
    fresh.load_state_dict(state["optimizer"])  # a valid optimizer state
    restored = History()
    restored.load_state_dict(state["history"])
    assert restored.epochs == history.epochs
    assert list(restored.steps["loss"]) == list(history.steps["loss"])


def test_resume_from_a_checkpoint_equals_an_uninterrupted_run(tmp_path):
    path = tmp_path / "run.safetensors"
    model, opt, loader = setup()
    straight = run(model, opt, loader, epochs=4)
    expected = params(model)

    model, opt, loader = setup()
    run(model, opt, loader, epochs=2, checkpoint=path)
    model, opt, loader = setup(seed=123)  # a fresh session: other weights, empty optimizer state
    resumed = run(model, opt, loader, epochs=4, checkpoint=path, resume=True)
    assert_same(params(model), expected)  # momentum buffers came back too
    assert resumed.epochs == straight.epochs
    assert list(resumed.steps["step"]) == list(range(1, 25))
    assert load(path)["epoch"] == 4


def test_resume_true_without_a_file_starts_afresh(tmp_path):
    model, opt, loader = setup()
    history = run(model, opt, loader, epochs=1, checkpoint=tmp_path / "none.safetensors", resume=True)
    assert history["epoch"] == [1]
    with pytest.raises(ValueError, match="checkpoint=path"):
        run(model, opt, loader, resume=True)


# ---------------------------------------------------------------------- interrupts
class RaisingLoader:
    """The batches of ``loader``; raises KeyboardInterrupt instead of batch ``at`` (0-based) of epoch ``epoch``."""

    def __init__(self, loader, epoch: int, at: int):
        self.loader, self.epoch, self.at, self.epochs = loader, epoch, at, 0

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        self.epochs += 1
        for i, batch in enumerate(self.loader):
            if self.epochs == self.epoch and i == self.at:
                raise KeyboardInterrupt
            yield batch


def test_interrupt_from_the_loader_keeps_everything_and_says_so(capsys):
    model, opt, loader = setup()
    history = run(model, opt, RaisingLoader(loader, epoch=2, at=3), epochs=5)
    out = capsys.readouterr().out
    assert out == (
        "interrupted at epoch 2, step 3: model, optimizer and history kept; "
        "run nb.fit(..., resume=history) to continue\n"
    )
    assert history.interrupted == (2, 3)
    assert len(history) == 1 and len(history.steps["loss"]) == 9  # epoch 1 whole, 3 steps of epoch 2
    assert_same(params(model), manual_steps(9))
    assert opt.state  # the momentum buffers are kept
    assert "interrupted at epoch 2, step 3" in repr(history) and "interrupted" in history._repr_html_()

    # Going on from the history: the interrupted epoch starts again; numbering continues.
    more = run(model, opt, loader, epochs=3, resume=history)
    assert more is history and history.interrupted is None
    assert history["epoch"] == [1, 2, 3]
    assert list(history.steps["epoch"]) == [1] * 6 + [2] * 3 + [2] * 6 + [3] * 6
    assert list(history.steps["step"]) == list(range(1, 22))


class InterruptAt(Callback):
    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, run, logs):
        if logs["step"] == self.step:
            raise KeyboardInterrupt


def test_interrupt_from_a_callback_after_the_step_keeps_that_step(capsys):
    model, opt, loader = setup()
    history = run(model, opt, loader, epochs=3, callbacks=[InterruptAt(8)])
    assert history.interrupted == (2, 2)
    assert len(history.steps["loss"]) == 8
    assert_same(params(model), manual_steps(8))
    assert "interrupted at epoch 2, step 2" in capsys.readouterr().out


def signalling_loss(at: int, signals: int):
    """Cross-entropy that sends itself ``signals`` SIGINTs (as Ctrl-C or "interrupt kernel" does) in call ``at``."""
    calls = {"n": 0}
    loss_fn = nn.CrossEntropyLoss()

    def loss(output, target):
        calls["n"] += 1
        if calls["n"] == at:
            for _ in range(signals):
                os.kill(os.getpid(), signal.SIGINT)
        return loss_fn(output, target)

    return loss


def test_sigint_during_a_step_lets_the_step_finish():
    model, opt, loader = setup()
    before = signal.getsignal(signal.SIGINT)
    history = fit(model, loader, signalling_loss(at=4, signals=1), opt, 3, plot=False, progress=False)
    assert history.interrupted == (1, 4)
    assert len(history.steps["loss"]) == 4  # the interrupted step was completed, not cut
    assert_same(params(model), manual_steps(4))
    assert signal.getsignal(signal.SIGINT) is before  # the handler is restored


def test_second_sigint_stops_before_the_update_and_drops_the_partial_step():
    # The first SIGINT asks to stop after the step; a second one stops at once (before the update).
    model, opt, loader = setup()
    history = fit(model, loader, signalling_loss(at=3, signals=2), opt, 2, plot=False, progress=False)
    assert history.interrupted == (1, 2)
    assert_same(params(model), manual_steps(2))  # step 3 never touched the parameters
    assert all(p.grad is None for p in model.parameters())  # nor left gradients behind


def test_sigint_inside_optimizer_step_is_deferred():
    model, opt, loader = setup()
    original = opt.step
    calls = {"n": 0}

    def step_with_signals():
        calls["n"] += 1
        if calls["n"] == 2:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)  # even a second one waits for the update to end
        return original()

    opt.step = step_with_signals
    history = run(model, opt, loader, epochs=2)
    assert history.interrupted == (1, 2)
    del opt.step
    assert_same(params(model), manual_steps(2))


def test_interrupt_during_validation(capsys):
    model, opt, loader = setup()
    history = run(model, opt, loader, epochs=3, val_loader=RaisingLoader(loader, epoch=1, at=2))
    assert history.interrupted == (1, 6) and len(history) == 0
    assert "interrupted at epoch 1, step 6 (during validation)" in capsys.readouterr().out
    assert model.training


def test_callback_can_stop_the_run_without_an_interrupt(capsys):
    class StopAfterEpoch(Callback):
        def on_epoch_end(self, run, logs):
            run.stop = True

    model, opt, loader = setup()
    history = run(model, opt, loader, epochs=5, callbacks=[StopAfterEpoch()])
    assert len(history) == 1 and history.interrupted is None
    assert capsys.readouterr().out == ""


# ---------------------------------------------------------------------- determinism, device
def test_same_seed_same_history():
    def once():
        nb.manual_seed(7)
        model = nn.Sequential(nn.Linear(FEATURES, 8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, CLASSES))
        opt = nb.optim.Adam(model.parameters(), lr=0.01)
        x, y = data()
        loader = DataLoader(TensorDataset(x, y), batch_size=BATCH, shuffle=True)
        return run(model, opt, loader, epochs=2, val_loader=loader, metrics=["accuracy"])

    a, b = once(), once()
    assert a.epochs == b.epochs
    assert list(a.steps["loss"]) == list(b.steps["loss"])
    assert a._repr_html_() == b._repr_html_() and repr(a) == repr(b)


def test_device_argument_moves_model_and_batches(device):
    model, opt, loader = setup()
    history = run(model, opt, loader, epochs=1, device=device, val_loader=loader, metrics=["accuracy"])
    assert all(p.device.type == device for p in model.parameters())
    assert len(history.steps["loss"]) == 6 and history.epochs[0]["val_accuracy"] is not None


# ---------------------------------------------------------------------- output
def test_progress_false_prints_nothing(capsys):
    model, opt, loader = setup()
    run(model, opt, loader, epochs=2, val_loader=loader, progress=False)
    assert capsys.readouterr() == ("", "")


def test_text_progress_without_tqdm(capsys, monkeypatch):
    monkeypatch.setattr(cb_module, "_tqdm", lambda: None)
    model, opt, loader = setup()
    history = run(model, opt, loader, epochs=2, val_loader=loader, progress=True)
    err = capsys.readouterr().err
    lines = err.strip("\r\n").split("\n")
    assert [line.split(":")[0].strip("\r") for line in lines] == ["epoch 1/2", "epoch 2/2"]
    assert f"val_loss {history['val_loss'][1]:.4g}" in lines[1]
    # pytest's capture is not a terminal: no \r-rewritten live line, so the output is the same every run
    assert err.count("step") == 0


def test_tqdm_progress(capsys):
    pytest.importorskip("tqdm")
    model, opt, loader = setup()
    run(model, opt, loader, epochs=2, progress=True)
    err = capsys.readouterr().err
    assert "epochs" in err and "2/2" in err


def test_live_plot_gets_steps_and_epochs():
    pytest.importorskip("anywidget")
    from nbgrad.widgets import LossPlot

    plot = LossPlot()
    model, opt, loader = setup()
    history = run(model, opt, loader, epochs=2, val_loader=loader, metrics=["accuracy"], plot=plot)
    loss = plot.series("loss")
    assert loss.count == 12 and loss.last == (12.0, history.steps["loss"][-1])
    assert plot.series("val_loss").count == 2
    assert plot.series("val_accuracy").last == (12.0, history["val_accuracy"][1])
    assert plot.series("epoch").last == (12.0, 2.0)
    plot.close()


def test_plot_auto_is_off_outside_a_kernel():
    assert fit_module._live_plot("auto") is None  # pytest is not a Jupyter kernel
    assert fit_module._live_plot(False) is None
    with pytest.raises(TypeError, match="LossPlot"):
        fit_module._live_plot(object())


def test_callback_order_and_arguments():
    events = []

    class Recorder:  # duck-typed: no Callback base needed
        def on_fit_begin(self, run):
            events.append(("begin", run.epoch, run.epochs))

        def on_epoch_begin(self, run):
            events.append(("epoch", run.epoch))

        def on_epoch_end(self, run, logs):
            events.append(("end", logs["epoch"], run.step, run.global_step))

        def on_fit_end(self, run):
            events.append(("fit end",))

    model, opt, loader = setup()
    run(model, opt, loader, epochs=2, callbacks=[Recorder()])
    assert events == [("begin", 0, 2), ("epoch", 1), ("end", 1, 6, 6), ("epoch", 2), ("end", 2, 6, 12), ("fit end",)]


# ---------------------------------------------------------------------- History itself
def test_history_display_and_plot():
    model, opt, loader = setup()
    history = run(model, opt, loader, epochs=3, val_loader=loader, metrics=["accuracy"])
    text = repr(history)
    assert text.splitlines()[0] == "History: 3 epochs, 18 steps"
    assert text.splitlines()[1].split() == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"]
    bundle = history._repr_mimebundle_()
    assert bundle["text/plain"] == text
    page = bundle["text/html"]
    assert page.count("<svg") == 2  # a loss chart and an accuracy chart
    assert page.count("<tr") == 4  # header + 3 epochs
    assert "font-weight:700" in page  # the best values
    with pytest.raises(KeyError, match="no metric"):
        history["f1"]
    pytest.importorskip("matplotlib")
    fig = history.plot()
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    assert [ax.get_title() for ax in history.plot(by="step").axes] == ["loss"]


def test_long_history_is_shown_with_its_ends():
    history = History()
    for e in range(1, 51):
        for _ in range(3):
            history.add_step(e, 1.0 / e)
        history.epochs.append({"epoch": e, "loss": 1.0 / e})
    page = history._repr_html_()
    assert page.count("<tr") == 1 + 20 + 1  # header, first 10, the gap, last 10
    assert "…" in page
    history.steps["loss"][5] = float("nan")  # a broken step does not break the drawing
    assert "<svg" in history._repr_html_()
