"""``nb.inspect.grad_report``: norms vs NumPy, flags, dead units, the measured update, the table."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

import nbgrad as nb
from nbgrad import nn
from nbgrad.inspect import capture, grad_report


def _np(t):
    return t.detach().numpy().astype(np.float64)


def _mlp():
    return nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))


def test_norms_and_ratios_match_numpy():
    model = _mlp()
    model(nb.randn(8, 4)).pow(2).sum().backward()
    report = grad_report(model)
    assert [r.name for r in report.rows] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    for name, p in model.named_parameters():
        row = report[name]
        g, w = _np(p.grad), _np(p)
        assert row.grad_norm == pytest.approx(np.linalg.norm(g), rel=1e-6)
        assert row.weight_norm == pytest.approx(np.linalg.norm(w), rel=1e-6)
        assert row.ratio == pytest.approx(np.linalg.norm(g) / np.linalg.norm(w), rel=1e-6)
        assert row.shape == tuple(p.shape) and row.numel == p.numel() and row.requires_grad
    with pytest.raises(KeyError):
        report["nope"]


def test_flags_nan_inf_no_grad_zero_vanishing_exploding():
    a, b, c, d, e, f = (nn.Parameter(nb.ones(3)) for _ in range(6))
    model = nn.Module()
    for name, p in zip("abcdef", (a, b, c, d, e, f)):
        model.register_parameter(name, p)
    frozen = nn.Parameter(nb.ones(2), requires_grad=False)
    model.register_parameter("frozen", frozen)
    a.grad = nb.tensor([np.nan, 1.0, np.inf])
    c.grad = nb.zeros(3)
    d.grad = nb.full((3,), 1e-9)
    e.grad = nb.full((3,), 1e3)
    f.grad = nb.full((3,), 0.01)
    report = grad_report(model)
    flags = {r.name: r.flags for r in report.rows}
    assert flags == {
        "a": ("nan", "inf"),
        "b": ("no grad",),
        "c": ("zero",),
        "d": ("vanishing",),
        "e": ("exploding",),
        "f": (),
        "frozen": (),
    }
    assert report["a"].nan == 1 and report["a"].inf == 1
    assert report["a"].grad_norm == pytest.approx(1.0)  # over the finite values
    assert [r.name for r in report.flagged] == ["a", "b", "c", "d", "e"]
    # Thresholds are parameters.
    assert "vanishing" not in grad_report(model, vanish=1e-12)["d"].flags
    assert "exploding" not in grad_report(model, explode=1e4)["e"].flags


def test_before_any_backward_nothing_is_flagged():
    report = grad_report(_mlp())
    assert report.flagged == [] and all(r.grad_norm is None for r in report.rows)


def test_zero_weights_have_no_ratio():
    model = nn.Linear(2, 2)
    with nb.no_grad():
        model.bias.zero_()
    model(nb.ones(1, 2)).sum().backward()
    assert grad_report(model)["bias"].ratio is None


def test_dead_units_from_weight_rows_and_from_a_capture():
    model = _mlp()
    with nb.no_grad():
        model[0].bias[:2] = -100.0  # two hidden units never fire: ReLU zeroes them for every sample
    with capture(model) as acts:
        model(nb.randn(16, 4)).sum().backward()
    report = grad_report(model, capture=acts)
    row = report["0.weight"]
    assert (row.dead_units, row.units) == (2, 6) and "dead units" in row.flags
    assert report["2.weight"].units == 2 and report["2.weight"].dead_units == 0
    assert report["0.bias"].units is None
    (dead,) = report.dead_activations
    assert (dead.path, dead.module_type, dead.dead, dead.total) == ("1", "ReLU", 2, 6)


def test_embedding_rows_are_not_dead_units():
    emb = nn.Embedding(10, 3)
    emb(nb.tensor([1, 2])).sum().backward()
    row = grad_report(emb)["weight"]
    assert row.units is None and row.flags == ()


def test_after_step_measures_the_real_update():
    model = _mlp()
    opt = nb.optim.Adam(model.parameters(), lr=0.01)
    model(nb.randn(8, 4)).sum().backward()
    before = {n: _np(p).copy() for n, p in model.named_parameters()}
    report = grad_report(model)
    assert all(r.update_norm is None for r in report.rows)
    opt.step()
    assert report.after_step() is report
    for name, p in model.named_parameters():
        change = np.linalg.norm(_np(p) - before[name])
        assert report[name].update_norm == pytest.approx(change, rel=1e-5)
        assert report[name].update_ratio == pytest.approx(change / np.linalg.norm(before[name]), rel=1e-5)
    with pytest.raises(RuntimeError, match="after_step"):
        report.after_step()  # the snapshot is released after one use
    with pytest.raises(RuntimeError, match="snapshot"):
        grad_report(model, snapshot=False).after_step()


def test_table_is_deterministic_well_formed_and_flags_show():
    model = _mlp()
    model(nb.randn(8, 4)).sum().backward()
    model[2].bias.grad = nb.tensor([np.nan, 0.0])
    report = grad_report(model)
    bundle = report._repr_mimebundle_()
    html = bundle["text/html"]
    assert html == grad_report(model)._repr_html_()
    ET.fromstring(f"<root>{html}</root>")  # the fragment is well-formed XML (so is its inline SVG)
    assert "2.bias" in html and "nan" in html and "1 flagged" in html
    assert "after_step" in html  # tells how to get update sizes
    assert "[nan]" in bundle["text/plain"] and "0x" not in bundle["text/plain"]
    with nb.display.options.context(enabled=False):
        assert set(report._repr_mimebundle_()) == {"text/plain"}
