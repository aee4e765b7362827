"""The anomaly report: a planted NaN names its op, module path, tensor stats and the user's line."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

import nbgrad as nb
from nbgrad import nn
from nbgrad.autograd.anomaly import AnomalyError, module_path


class Log(nn.Module):
    def forward(self, x):
        return x.log()  # the planted NaN: log of negative values


class Sqrt(nn.Module):
    def forward(self, x):
        return x.sqrt()  # finite forward at 0, infinite gradient


class Model(nn.Module):
    def __init__(self, act):
        super().__init__()
        self.block = nn.Sequential(nn.Linear(3, 3), act)

    def forward(self, x):
        return self.block(x)


def _parse(html: str) -> ET.Element:
    return ET.fromstring(f"<root>{html}</root>")


def _text(html: str) -> str:
    return " ".join(_parse(html).itertext())


@pytest.mark.filterwarnings("ignore:invalid value encountered in log:RuntimeWarning")
def test_forward_nan_in_nested_module():
    model = Model(Log())
    with nb.no_grad():
        model.block[0].weight.fill_(-1.0)  # every output of the Linear is negative
        model.block[0].bias.zero_()
    x = nb.tensor([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]])
    with nb.autograd.detect_anomaly(), pytest.raises(AnomalyError) as info:
        model(x)
    err = info.value
    assert err.phase == "forward" and err.op == "Log"
    assert err.module_path == "model.block.1 (Log)"
    assert (
        err.user_frame.name == "forward"
        and err.user_frame.line == "return x.log()  # the planted NaN: log of negative values"
    )
    roles = [(role, i) for role, i, _ in err.tensors]
    assert roles == [("input", 0), ("output", 0)]
    s_in, s_out = err.tensors[0][2], err.tensors[1][2]
    lin = -x.numpy().sum(axis=1, keepdims=True) * np.ones((1, 3))
    assert s_in.shape == (2, 3) and s_in.min == pytest.approx(lin.min()) and s_in.max == pytest.approx(lin.max())
    assert s_out.nan == 6 and s_out.posinf == 0
    html = err.html()
    assert html == err._repr_mimebundle_()["text/html"]
    text = _text(html)
    for needle in (
        "NaN/Inf detected",
        "Log",
        "model.block.1 (Log)",
        "return x.log()",
        "test_anomaly_report.py",
        "hint",
    ):
        assert needle in text, needle
    assert "<script" not in html


def test_backward_inf_names_module_and_saved_values():
    model = Model(Sqrt())
    with nb.no_grad():
        model.block[0].weight.zero_()
        model.block[0].bias.zero_()  # sqrt(0) = 0 forward, infinite gradient backward
    with nb.autograd.detect_anomaly():
        y = model(nb.ones(2, 3)).sum()
        with pytest.raises(AnomalyError) as info:
            y.backward()
    err = info.value
    assert err.phase == "backward" and err.op == "SqrtBackward0"
    assert err.module_path == "model.block.1 (Sqrt)"
    assert "op created in model.block.1 (Sqrt)" in str(err)
    assert err.user_frame.line.startswith("return x.sqrt()")
    by_role = {role: s for role, _, s in err.tensors}
    assert by_role["grad returned"].posinf == 6
    assert by_role["grad received"].min == 1.0
    assert by_role["saved"].zeros == 6  # the saved output sqrt(0): the clue
    text = _text(err.html())
    assert "SqrtBackward0" in text and "grad returned 0" in text and "saved" in text


def test_error_outside_modules_has_no_module_path_and_keeps_no_tensors():
    x = nb.tensor([-1.0, 1.0], requires_grad=True)
    with nb.autograd.detect_anomaly(), pytest.warns(RuntimeWarning), pytest.raises(AnomalyError) as info:
        x.log()
    err = info.value
    assert err.module_path is None
    assert "module" not in _text(err.html()).split("created at")[0]
    # Stats only (Python scalars): the error keeps no tensor, graph or device memory alive.
    for _, _, s in err.tensors:
        assert all(not hasattr(v, "_data") and not hasattr(v, "__array__") for v in s if not isinstance(v, tuple))


def test_report_is_deterministic_and_text_bundle():
    x = nb.tensor([0.0, 1.0], requires_grad=True)
    errors = []
    for _ in range(2):
        with nb.autograd.detect_anomaly():
            y = x.sqrt().sum()
            try:
                y.backward()
            except AnomalyError as e:
                errors.append(e)
    a, b = (e.html() for e in errors)
    assert a.replace(str(errors[0].user_frame.lineno), "") == b.replace(str(errors[1].user_frame.lineno), "")
    bundle = errors[0]._repr_mimebundle_()
    assert bundle["text/plain"].startswith("AnomalyError: anomaly detected")


def test_module_path_of_grandchild_called_directly_and_unregistered():
    inner = nn.ReLU()
    model = nn.Sequential(nn.Sequential(nn.Linear(2, 2), inner))
    assert module_path((model, inner)) == "model.0.1 (ReLU)"
    stray = nn.Tanh()
    assert module_path((model, stray)) == "model.<unregistered Tanh> (Tanh)"
    assert module_path((model,)) == "model (Sequential)"
    assert module_path(None) is None
