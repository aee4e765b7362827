"""The HTML tree of a Module: structure, counts and memory vs NumPy, grad norms, determinism, limits."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import nbgrad as nb
from nbgrad import nn
from nbgrad.display import module as view
from nbgrad.display import table as tb


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)
        self.norm = nn.BatchNorm1d(4)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.norm(self.lin(x)))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(3, 4)
        self.block = Block()
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.block(self.embed(x)))


def _root(html: str) -> ET.Element:
    return ET.fromstring(html)  # the view is one well-formed element


def _text(el) -> str:
    return " ".join("".join(el.itertext()).split())


def _summaries(html: str) -> list:
    return [_text(s) for s in _root(html).iter("summary")]


def test_bundle_has_torch_repr_and_html():
    model = Net()
    bundle = model._repr_mimebundle_()
    assert bundle["text/plain"] == repr(model)
    assert bundle["text/html"] == model._repr_mimebundle_()["text/html"]  # deterministic
    assert "<script" not in bundle["text/html"] and not re.search(r"0x[0-9a-f]{6,}", bundle["text/html"])
    with nb.display.options.context(enabled=False):
        assert set(model._repr_mimebundle_()) == {"text/plain"}


def test_tree_structure_counts_and_memory():
    model = Net()
    model.embed.requires_grad_(False)
    html = view.module_html(model)
    root = _root(html)
    params = [p for p in model.parameters()]
    total = sum(p.numel() for p in params)
    frozen = model.embed.weight.numel() + model.embed.bias.numel()
    nbytes = sum(p.detach().numpy().nbytes for p in params) + sum(b.numpy().nbytes for b in model.buffers())
    head = _summaries(html)[0]
    assert head.startswith("Net ·")
    assert f"{total:,} params ({total - frozen:,} trainable, {frozen:,} frozen)" in head
    assert f"· {tb.nbytes(nbytes)} ·" in head and "cpu" in head and "float32" in head
    # One fold per module with parameters; the ReLU (nothing to show) is a plain line.
    folds = _summaries(html)
    assert any(s.startswith("embed: Linear(in_features=3, out_features=4, bias=True)") for s in folds)
    assert any(s.startswith("block: Block") for s in folds)
    assert any(s.startswith("norm: BatchNorm1d(4") for s in folds)
    assert "act: ReLU()" in _text(root) and not any(s.startswith("act:") for s in folds)
    # The model and its containers are open; leaves fold their tables.
    opened = [_text(d.find("summary")).split(":")[0] for d in root.iter("details") if "open" in d.attrib]
    assert opened[0].startswith("Net") and "block" in opened and "embed" not in opened


def test_own_tables_show_shapes_dtypes_kinds_without_running_the_model():
    model = Net()
    root = _root(view.module_html(model))
    rows = {}
    for table in root.iter("table"):
        for tr in table.iter("tr"):
            cells = [_text(td) for td in tr.findall("td")]
            if cells:
                rows.setdefault(cells[0], []).append(cells)
    assert ["weight", "(4, 3)", "float32", "12", "trainable", "48 B"] in rows["weight"]
    assert ["num_batches_tracked", "()", "int64", "1", "buffer", "8 B"] in rows["num_batches_tracked"]
    assert any(r[:5] == ["running_mean", "(4,)", "float32", "4", "buffer"] for r in rows["running_mean"])


def test_grad_norms_and_flags_after_backward():
    model = Net()
    model.head.bias.requires_grad_(False)
    model(nb.randn(5, 3)).pow(2).sum().backward()
    model.embed.weight.grad._data[0, 0] = np.nan
    html = view.module_html(model)
    root = _root(html)
    head = _summaries(html)[0]
    assert "grads: 7/8 params" in head and "flagged" in head
    found = {}
    for details in root.iter("details"):
        summary = _text(details.find("summary"))
        for table in details.findall("./div/table"):
            for tr in table.iter("tr"):
                cells = [_text(td) for td in tr.findall("td")]
                if cells:
                    found[(summary.split(":")[0], cells[0])] = cells
    g = model.block.lin.weight.grad.numpy().astype(np.float64)
    w = model.block.lin.weight.detach().numpy().astype(np.float64)
    cells = found[("lin", "weight")]
    assert float(cells[6]) == pytest.approx(np.linalg.norm(g), rel=1e-3)
    assert float(cells[7]) == pytest.approx(np.linalg.norm(g) / np.linalg.norm(w), rel=1e-3)
    assert found[("embed", "weight")][-1] == "nan"
    assert "nan" in [s for s in _summaries(html) if s.startswith("embed")][0]


def test_shared_modules_and_none_children():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    model.add_module("gap", None)
    text = _text(_root(view.module_html(model)))
    assert "2: Linear (shared: the module at 0)" in text and "gap: None" in text
    total = sum(p.numel() for p in model.parameters())
    assert f"{total} params" in _summaries(view.module_html(model))[0]


def test_huge_models_are_cut_and_long_extra_reprs_truncated(monkeypatch):
    monkeypatch.setattr(view, "MAX_NODES", 10)
    model = nn.Sequential(*[nn.Linear(2, 2) for _ in range(30)])
    html = view.module_html(model)
    assert "20 more submodules not shown" in _text(_root(html))
    assert html.count("<details") == 11

    class Wordy(nn.Module):
        def extra_repr(self):
            return "x" * 300

    summary = _text(_root(view.module_html(nn.Sequential(Wordy()))))
    assert "x" * 89 + "…" in summary and "x" * 91 not in summary


def test_empty_module_and_lstm():
    assert "0 params" in _summaries(view.module_html(nn.Module()))[0] or "Module" in view.module_html(nn.Module())
    lstm = nn.LSTM(3, 4, num_layers=2)
    text = _text(_root(view.module_html(lstm)))
    assert "weight_ih_l1" in text and "(16, 4)" in text
