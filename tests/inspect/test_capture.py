"""``nb.inspect.capture``: outputs, inputs and gradients of every submodule; hooks removed; the table."""

from __future__ import annotations

import gc
import weakref
from html.parser import HTMLParser

import numpy as np
import pytest

import nbgrad as nb
from nbgrad import nn
from nbgrad.inspect import Capture, capture


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.lin(x))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.block(x))


class Loop(nn.Module):
    """A cell called once per time step, as in an RNN loop, then an LSTM returning (out, (h, c))."""

    def __init__(self):
        super().__init__()
        self.cell = nn.RNNCell(3, 5)
        self.lstm = nn.LSTM(5, 2)

    def forward(self, xs):
        h = None
        outs = []
        for x in xs:
            h = self.cell(x, h)
            outs.append(h)
        out, (h_n, c_n) = self.lstm(nb.stack(outs))
        return out


def _hook_count(model) -> int:
    return sum(len(m._forward_hooks) for m in model.modules())


def test_nested_outputs_in_call_order_and_values():
    model = Net()
    x = nb.randn(3, 4)
    with capture(model) as acts:
        y = model(x)
    assert list(acts) == ["block.lin", "block.act", "block", "head", ""]
    lin = x.numpy() @ model.block.lin.weight.detach().numpy().T + model.block.lin.bias.detach().numpy()
    np.testing.assert_allclose(acts["block.lin"].numpy(), lin, rtol=1e-6)
    np.testing.assert_allclose(acts["block.act"].numpy(), np.maximum(lin, 0), rtol=1e-6)
    np.testing.assert_array_equal(acts[""].numpy(), y.detach().numpy())
    assert len(acts) == 5 and "head" in acts and "missing" not in acts
    with pytest.raises(KeyError, match="no module at path 'missing'"):
        acts["missing"]


def test_captured_tensors_are_detached_and_keep_no_graph():
    model = Net()
    x = nb.randn(3, 4, requires_grad=True)
    with capture(model) as acts:
        y = model(x)
    assert all(v.grad_fn is None and not v.requires_grad for v in acts.values())
    node = weakref.ref(y.grad_fn)
    del y
    gc.collect()
    assert node() is None, "the capture keeps the graph alive"


def test_hooks_removed_on_exit_and_on_exception():
    model = Net()
    with capture(model):
        assert _hook_count(model) == 5
        model(nb.randn(2, 4))
    assert _hook_count(model) == 0
    with pytest.raises(RuntimeError):
        with capture(model):
            model(nb.randn(2, 5))  # wrong width: the Linear raises
    assert _hook_count(model) == 0
    with pytest.raises(ValueError, match="planted"):
        with capture(model) as acts:
            model(nb.randn(2, 4))
            raise ValueError("planted")
    assert _hook_count(model) == 0 and "head" in acts


def test_repeated_calls_and_tuple_outputs():
    model = Loop()
    xs = nb.randn(4, 2, 3)
    with capture(model) as acts:
        model(xs)
    assert list(acts) == ["cell", "lstm", ""]
    calls = acts.calls("cell")
    assert len(calls) == 4 and acts.n_calls("cell") == 4 and acts.n_calls("nothing") == 0
    assert acts["cell"] is calls[-1]
    # Each call's output is the hidden state fed to the next call: recompute them with NumPy.
    cell = model.cell
    h = np.zeros((2, 5), np.float32)
    for x, got in zip(xs.numpy(), calls):
        h = np.tanh(
            x @ cell.weight_ih.detach().numpy().T
            + cell.bias_ih.detach().numpy()
            + h @ cell.weight_hh.detach().numpy().T
            + cell.bias_hh.detach().numpy()
        )
        np.testing.assert_allclose(got.numpy(), h, rtol=1e-5, atol=1e-6)
    out, (h_n, c_n) = acts["lstm"]
    assert isinstance(acts["lstm"], tuple) and isinstance(acts["lstm"][1], tuple)
    assert tuple(out.shape) == (4, 2, 2) and tuple(h_n.shape) == (1, 2, 2) and tuple(c_n.shape) == (1, 2, 2)
    records = [(r.path, r.call) for r in acts.records]
    assert records == [("cell", 0), ("cell", 1), ("cell", 2), ("cell", 3), ("lstm", 0), ("", 0)]


def test_inputs_recorded_when_asked():
    model = Net()
    x = nb.randn(3, 4)
    with capture(model, inputs=True) as acts:
        model(x)
    (head_in,) = acts.input("head")
    np.testing.assert_array_equal(head_in.numpy(), acts["block"].numpy())
    with capture(model) as plain:
        model(x)
    with pytest.raises(RuntimeError, match="inputs=True"):
        plain.input("head")


def test_grads_after_backward_inside_or_after_the_block():
    model = Net()
    x = nb.randn(3, 4)
    with capture(model, grads=True) as acts:
        loss = (model(x) ** 2).sum()
    assert acts.grad("head") is None  # before backward
    loss.backward()
    # d loss / d head output = 2 * output
    np.testing.assert_allclose(acts.grad("head").numpy(), 2 * acts["head"].numpy(), rtol=1e-6)
    # through the head Linear: grad wrt block output = grad_head @ W
    expected = acts.grad("head").numpy() @ model.head.weight.detach().numpy()
    np.testing.assert_allclose(acts.grad("block").numpy(), expected, rtol=1e-5, atol=1e-7)
    assert acts.grad("block").grad_fn is None


def test_grads_of_tuple_outputs_and_repeated_calls():
    model = Loop()
    xs = nb.randn(3, 2, 3)
    with capture(model, grads=True) as acts:
        out = model(xs)
        out.sum().backward()
    g_out, (g_h, g_c) = acts.grad("lstm")
    np.testing.assert_array_equal(g_out.numpy(), np.ones((3, 2, 2), np.float32))
    assert g_h is None and g_c is None  # h_n, c_n took no part in the loss
    grads = [rec.grad for rec in acts.records if rec.path == "cell"]
    assert all(g is not None and tuple(g.shape) == (2, 5) for g in grads)
    assert acts.grad("cell", call=0) is grads[0]


def test_grads_not_recorded_unless_asked():
    model = Net()
    with capture(model) as acts:
        model(nb.randn(2, 4)).sum().backward()
    with pytest.raises(RuntimeError, match="grads=True"):
        acts.grad("head")


def test_no_grad_forward_and_unused_modules():
    model = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 2))
    with nb.no_grad(), capture(model, grads=True) as acts:
        model[0](nb.ones(1, 2))
    assert list(acts) == ["0"] and acts.grad("0") is None


def test_a_capture_cannot_be_entered_twice():
    model = Net()
    acts = Capture(model)
    with acts:
        with pytest.raises(RuntimeError, match="already recording"):
            acts.__enter__()
    assert _hook_count(model) == 0


class _Checker(HTMLParser):
    """Checks that tags are balanced (void elements aside)."""

    VOID = {"br", "hr", "img", "meta", "col", "wbr", "input"}

    def __init__(self):
        super().__init__()
        self.stack = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}>, open: {self.stack[-3:]}"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def _parse(html: str) -> str:
    checker = _Checker()
    checker.feed(html)
    checker.close()
    assert not checker.stack, f"unclosed tags: {checker.stack}"
    return " ".join(checker.text)


def test_table_rows_stats_and_determinism():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    x = nb.randn(16, 4)
    with capture(model) as acts:
        model(x)
    bundle = acts._repr_mimebundle_()
    html = bundle["text/html"]
    assert html == acts._repr_mimebundle_()["text/html"]
    text = _parse(html)
    relu = acts["1"].numpy()
    zeros = (relu == 0).mean()
    assert f"{100 * zeros:.1f}%" in text
    assert "ReLU" in text and "Linear" in text and "(16, 8)" in text
    assert "<svg" in html and "<script" not in html
    assert "0x" not in bundle["text/plain"] and "ReLU" in bundle["text/plain"]


def test_table_counts_nan_inf_and_labels_repeated_calls():
    model = Loop()
    with capture(model) as acts:
        model(nb.randn(3, 2, 3))
    acts.records[0].output._data[0, 0] = np.nan  # shares memory with the cell's output: the table sees it
    acts.records[1].output._data[0, :2] = np.inf
    text = _parse(acts._repr_html_())
    assert "cell#0" in text and "cell#2" in text and "lstm[1][0]" in text
    plain = repr(acts)
    assert "cell#0" in plain and "nan=1" in plain and "inf=2" in plain
