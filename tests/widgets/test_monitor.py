"""nb.widgets.TrainingMonitor: statistics against grad_report, buffers, flags, hooks on and off, fallback."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("anywidget")

import nbgrad as nb  # noqa: E402
from nbgrad import nn  # noqa: E402
from nbgrad.data import DataLoader, TensorDataset  # noqa: E402
from nbgrad.display.stats import tensor_stats  # noqa: E402
from nbgrad.inspect import grad_report  # noqa: E402
from nbgrad.train import fit  # noqa: E402
from nbgrad.widgets._base import Throttle  # noqa: E402
from nbgrad.widgets.monitor import LAYER_METRICS, PARAM_METRICS, TrainingMonitor  # noqa: E402


def make(seed: int = 0, lr: float = 0.1):
    nb.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = nb.optim.SGD(model.parameters(), lr=lr)
    x = nb.randn(32, 6)
    y = nb.randint(0, 3, (32,))
    return model, opt, x, y


def train(model, opt, x, y, steps: int, scale: float = 1.0):
    for _ in range(steps):
        loss = nn.functional.cross_entropy(model(x), y) * scale
        opt.zero_grad()
        loss.backward()
        opt.step()


def decoded(monitor: TrainingMonitor) -> dict:
    """The series as the front end reads them: ``_index`` rows into the float64 ``_series`` buffer."""
    flat = np.frombuffer(monitor._series, dtype="<f8")
    out = {}
    for group, row, metric, offset, n in monitor._index:
        names = monitor._names if group == "param" else monitor._layer_paths
        out[(names[row], metric)] = (flat[offset : offset + n], flat[offset + n : offset + 2 * n])
    return out


# ---------------------------------------------------------------------- traits and statistics
def test_rows_and_traits_describe_the_model():
    model, opt, *_ = make()
    monitor = TrainingMonitor(model, optimizer=opt, every=4)
    assert [r["name"] for r in monitor._params] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [r["shape"] for r in monitor._params] == [[16, 6], [16], [3, 16], [3]]
    assert [(r["name"], r["type"]) for r in monitor._layers] == [("0", "Linear"), ("1", "ReLU"), ("2", "Linear")]
    assert (monitor.every, monitor.step_count, monitor.title, monitor.log_scale) == (4, 0, "Sequential", True)
    assert monitor._series == b"" and monitor._index == []
    monitor.detach()


def test_statistics_are_grad_report_numbers_at_the_measured_steps():
    model, opt, x, y = make()
    monitor = TrainingMonitor(model, every=3)  # manual mode: monitor.step() after opt.step()
    expected = {}
    for step in range(1, 8):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        report = grad_report(model)  # before the step: the reference, with its own weight snapshot
        opt.step()
        report.after_step()
        monitor.step()
        if step in (1, 4, 7):
            expected[step] = {row.name: row for row in report.rows}
    monitor.flush()
    series = decoded(monitor)
    for name in monitor._names:
        x_grad, grad = series[(name, "grad_norm")]
        assert x_grad.tolist() == [1.0, 4.0, 7.0]
        np.testing.assert_allclose(grad, [expected[s][name].grad_norm for s in (1, 4, 7)], rtol=1e-6)
        # The monitor reads the weights after the step, the report before: the update is the same,
        # the weight norm differs by the update.
        _, upd = series[(name, "update_ratio")]
        ref = [expected[s][name].update_norm / expected[s][name].weight_norm for s in (1, 4, 7)]
        np.testing.assert_allclose(upd, ref, rtol=0.05)
        np.testing.assert_array_equal(series[(name, "weight_norm")][1], monitor.series(name, "weight_norm").points()[1])
    assert monitor.step_count == 7 and monitor.steps == 7
    monitor.detach()


def test_update_ratio_is_the_size_of_the_step():
    model, opt, x, y = make(lr=0.5)
    monitor = TrainingMonitor(model, optimizer=opt, every=1)
    w = model[0].weight
    before = w.detach().numpy().copy()
    train(model, opt, x, y, 1)
    after = w.detach().numpy()
    ratio = np.linalg.norm(after - before) / np.linalg.norm(after)
    assert monitor.series("0.weight", "update_ratio").last[1] == pytest.approx(ratio, rel=1e-5)
    monitor.detach()


def test_layer_statistics_of_the_training_forward_pass_only():
    model, opt, x, y = make()
    monitor = TrainingMonitor(model, optimizer=opt, every=2)
    hidden = model[1](model[0](x)).detach()  # the ReLU output the step will see (same weights)
    train(model, opt, x, y, 1)
    with nb.no_grad():
        model(nb.randn(5, 6) * 100)  # evaluation: not a training step, not recorded
    s = tensor_stats(hidden)
    assert monitor.series("1", "mean").last == (1.0, pytest.approx(s.mean))
    assert monitor.series("1", "std").last == (1.0, pytest.approx(s.std))
    assert monitor.series("1", "zeros").last == (1.0, pytest.approx(s.zeros / s.numel))
    dead = float(np.all(hidden.numpy() == 0, axis=0).mean())
    assert monitor.series("1", "dead").last == (1.0, pytest.approx(dead))
    assert monitor.series("0", "dead").count == 0  # only ReLU-like layers have dead units
    for metric in LAYER_METRICS[:3]:
        assert monitor.series("2", metric).count == 1
    monitor.detach()


def test_unmeasured_steps_copy_nothing_and_record_nothing():
    model, opt, x, y = make()
    monitor = TrainingMonitor(model, optimizer=opt, every=5)
    train(model, opt, x, y, 1)
    assert monitor._before is None and monitor._recording is False
    train(model, opt, x, y, 1)
    assert monitor._acts == {}
    train(model, opt, x, y, 3)  # step 5 done: step 6 is measured
    assert monitor._recording and set(monitor._before) == set(monitor._names)
    assert monitor.series("0.weight", "grad_norm").count == 1
    monitor.detach()


# ---------------------------------------------------------------------- flags
@pytest.mark.parametrize(
    ("scale", "flag"),
    [(1e9, "exploding"), (1e-12, "vanishing"), (float("nan"), "nan")],
)
def test_gradient_flags_follow_grad_report(scale, flag):
    model, opt, x, y = make(lr=0.0)  # lr 0: the weights stay, the gradients are what we made them
    monitor = TrainingMonitor(model, optimizer=opt, every=1)
    train(model, opt, x, y, 2, scale=scale)
    assert all(flag in monitor.flags[name] for name in ("0.weight", "2.weight"))
    assert monitor.flags["0.weight"] == monitor.report["0.weight"].flags
    alert = next(a for a in monitor.alerts if a["name"] == "0.weight" and a["flag"] == flag)
    assert (alert["first"], alert["last"], alert["count"]) == (1, 2, 2)
    monitor.flush()
    assert {"name": "0.weight", "flag": flag, "first": 1, "last": 2, "count": 2} in monitor._alerts
    row = next(r for r in monitor._params if r["name"] == "0.weight")
    assert flag in row["flags"]
    monitor.detach()


def test_dead_relus_are_flagged():
    model, opt, x, y = make(lr=0.0)
    with nb.no_grad():
        model[0].bias.fill_(-100.0)  # every hidden unit off for every sample
    monitor = TrainingMonitor(model, optimizer=opt, every=1)
    train(model, opt, x, y, 1)
    assert monitor.flags["1"] == ("dead units",)
    assert monitor.series("1", "dead").last[1] == 1.0
    assert monitor.flags["0.weight"] == ("zero",)  # grad_report: no gradient reaches the first layer
    monitor.detach()


def test_a_few_idle_units_are_not_flagged():
    model, opt, x, y = make(lr=0.0)
    with nb.no_grad():
        model[0].bias[:4] = -100.0  # 4 of 16 units off: grad_report counts them, the monitor does not flag
    monitor = TrainingMonitor(model, optimizer=opt, every=1)
    train(model, opt, x, y, 1)
    assert monitor.report["0.weight"].dead_units == 4 and "dead units" in monitor.report["0.weight"].flags
    assert monitor.series("1", "dead").last[1] == pytest.approx(0.25)
    assert "0.weight" not in monitor.flags and "1" not in monitor.flags
    monitor.detach()
    strict = TrainingMonitor(model, optimizer=opt, every=1, dead=0.2)
    train(model, opt, x, y, 1)
    assert strict.flags["1"] == ("dead units",) and strict.flags["0.weight"] == ("dead units",)
    strict.detach()


# ---------------------------------------------------------------------- attach and detach
def test_detach_removes_every_hook():
    model, opt, x, y = make()
    had_step = "step" in opt.__dict__
    monitor = TrainingMonitor(model, optimizer=opt, every=1)
    assert "step" in opt.__dict__ and monitor.attached
    assert sum(len(m._forward_hooks) for m in model.modules()) == 3
    train(model, opt, x, y, 2)
    monitor.detach()
    assert not monitor.attached
    assert not had_step and "step" not in opt.__dict__  # the class's own step again
    assert sum(len(m._forward_hooks) for m in model.modules()) == 0
    train(model, opt, x, y, 3)  # nothing more is recorded
    assert monitor.steps == 2 and monitor.series("0.weight", "grad_norm").count == 2
    with pytest.raises(RuntimeError, match="detached"):
        monitor.step()


def test_stacked_monitors_detach_in_any_order():
    model, opt, x, y = make()
    first = TrainingMonitor(model, optimizer=opt, every=1)
    second = TrainingMonitor(model, optimizer=opt, every=1)
    train(model, opt, x, y, 2)
    assert (first.steps, second.steps) == (2, 2)
    first.detach()  # under the second wrapper: it stays in the chain, passing through
    train(model, opt, x, y, 1)
    assert (first.steps, second.steps) == (2, 3)
    second.detach()
    train(model, opt, x, y, 1)
    assert (first.steps, second.steps) == (2, 3)
    assert sum(len(m._forward_hooks) for m in model.modules()) == 0


def test_context_manager_and_single_layer_model():
    model = nn.Linear(3, 2)
    opt = nb.optim.SGD(model.parameters(), lr=0.1)
    with TrainingMonitor(model, optimizer=opt, every=1) as monitor:
        loss = model(nb.randn(4, 3)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert monitor._layer_paths == [""] and monitor.series("", "mean").count == 1
    assert not model._forward_hooks and "step" not in opt.__dict__


def test_as_a_fit_callback():
    model, opt, x, y = make()
    loader = DataLoader(TensorDataset(x, y), batch_size=8)
    monitor = TrainingMonitor(model, every=2)
    history = fit(model, loader, nn.CrossEntropyLoss(), opt, 2, callbacks=[monitor], plot=False, progress=False)
    assert monitor.steps == len(history.steps["loss"]) == 8
    assert monitor.series("0.weight", "grad_norm").points()[0].tolist() == [1.0, 3.0, 5.0, 7.0]
    monitor.detach()
    wrapped = TrainingMonitor(model, optimizer=opt, every=2)  # wraps opt.step: the callback does not count twice
    fit(model, loader, nn.CrossEntropyLoss(), opt, 1, callbacks=[wrapped], plot=False, progress=False)
    assert wrapped.steps == 4
    wrapped.detach()


# ---------------------------------------------------------------------- memory, throttling, sync
def test_series_stay_bounded_and_keep_extremes():
    model, opt, x, y = make(lr=0.01)
    monitor = TrainingMonitor(model, optimizer=opt, every=1, buckets=16)
    train(model, opt, x, y, 300)
    monitor.flush()
    h = monitor.series("0.weight", "grad_norm")
    assert h.count == 300 and len(h.rows()) <= 17
    xs, ys = decoded(monitor)[("0.weight", "grad_norm")]
    assert xs.size <= 2 * 17
    assert max(ys) == h.max()[1] and min(ys) == h.min()[1]
    monitor.detach()


def test_sends_are_throttled():
    model, opt, x, y = make()
    now = [0.0]
    monitor = TrainingMonitor(model, optimizer=opt, every=1)
    monitor._throttle = Throttle(0.25, clock=lambda: now[0])
    train(model, opt, x, y, 3)
    assert monitor.step_count == 0 and monitor._series == b""  # recorded, not sent yet
    now[0] = 0.3
    train(model, opt, x, y, 1)
    assert monitor.step_count == 4
    assert len(decoded(monitor)[("0.weight", "grad_norm")][0]) == 4
    monitor.detach()


def test_log_scale_comes_from_the_front_end():
    model, opt, x, y = make()
    monitor = TrainingMonitor(model, optimizer=opt, every=1)
    train(model, opt, x, y, 3)
    log_html = monitor._fallback_html()
    monitor.set_state({"log_scale": False})  # what the front end's checkbox sends
    assert monitor.log_scale is False
    assert monitor._fallback_html() != log_html
    monitor.detach()


# ---------------------------------------------------------------------- static fallback
def test_static_fallback_is_a_deterministic_table_of_sparklines():
    def session():
        model, opt, x, y = make()
        monitor = TrainingMonitor(model, optimizer=opt, every=2)
        train(model, opt, x, y, 9)
        monitor.detach()
        return monitor

    a, b = session(), session()
    data, _ = a._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/html"] == b._repr_mimebundle_()[0]["text/html"]
    page = data["text/html"]
    assert page.count("<svg") == 4 * len(PARAM_METRICS) + 3 * 3 + 1  # + the ReLU's dead-unit line
    assert "step 9, statistics every 2 steps" in page
    assert data["text/plain"] == "TrainingMonitor(Sequential: 4 parameters, 3 layers, step 9, every 2)"


def test_fallback_before_any_step_and_with_flags():
    model, opt, x, y = make(lr=0.0)
    monitor = TrainingMonitor(model, optimizer=opt, every=1)
    page = monitor._fallback_html()
    assert "step 0" in page and "<svg" not in page
    train(model, opt, x, y, 1, scale=math.inf)  # inf * 0 in the backward pass: NaN gradients
    assert monitor.flags["0.weight"] == monitor.report["0.weight"].flags == ("nan",)
    assert "0.weight: nan; " in monitor._fallback_text()
    page = monitor._fallback_html()
    assert ">nan</span>" in page and "0.weight: nan at steps 1–1 (1×)" in page
    monitor.detach()
