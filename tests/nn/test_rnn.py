"""Recurrent cells and layers: NumPy references, gradcheck of every fused node, torch parity, errors.

The NumPy references below are written from the defining equations (one
step at a time, gates taken apart by name), not from the fused formulas.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from op_check import assert_close

import nbgrad as nb
import nbgrad.nn.functional as F
from nbgrad import nn
from nbgrad.autograd import gradcheck, gradgradcheck
from nbgrad.ops import recurrent

# ---------------------------------------------------------------------------
# NumPy references


def np_sigmoid(a):
    return 1 / (1 + np.exp(-a))


def np_rnn_cell(x, h, w_ih, w_hh, b_ih, b_hh, relu=False):
    a = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    return np.maximum(a, 0) if relu else np.tanh(a)


def np_lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh):
    i, f, g, o = np.split(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh, 4, axis=-1)
    c2 = np_sigmoid(f) * c + np_sigmoid(i) * np.tanh(g)
    return np_sigmoid(o) * np.tanh(c2), c2


def np_gru_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    xr, xz, xn = np.split(x @ w_ih.T + b_ih, 3, axis=-1)
    hr, hz, hn = np.split(h @ w_hh.T + b_hh, 3, axis=-1)
    r, z = np_sigmoid(xr + hr), np_sigmoid(xz + hz)
    n = np.tanh(xn + r * hn)
    return (1 - z) * n + z * h


GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def np_layer(mode, x, h, c, w_ih, w_hh, b_ih, b_hh, reverse=False):
    """One direction of one layer over (T, N, H_in): (outputs, h_n, c_n)."""
    outs = [None] * len(x)
    for t in reversed(range(len(x))) if reverse else range(len(x)):
        if mode == "LSTM":
            h, c = np_lstm_cell(x[t], h, c, w_ih, w_hh, b_ih, b_hh)
        elif mode == "GRU":
            h = np_gru_cell(x[t], h, w_ih, w_hh, b_ih, b_hh)
        else:
            h = np_rnn_cell(x[t], h, w_ih, w_hh, b_ih, b_hh, relu=mode == "RNN_RELU")
        outs[t] = h
    return np.stack(outs), h, c


def rand(rng, *shape):
    return rng.uniform(-1, 1, shape)


def tensors(arrays, device, requires_grad=True):
    return tuple(None if a is None else nb.tensor(a, device=device, requires_grad=requires_grad) for a in arrays)


# ---------------------------------------------------------------------------
# cell ops: forward vs NumPy, gradcheck, gradgradcheck

N, H_IN, H = 3, 4, 2


def cell_case(name, rng, bias=True):
    g = {"rnn_tanh_cell": 1, "rnn_relu_cell": 1, "lstm_cell": 4, "gru_cell": 3}[name]
    arrays = [rand(rng, N, H_IN), rand(rng, N, H)]
    if name == "lstm_cell":
        arrays.append(rand(rng, N, H))
    arrays += [rand(rng, g * H, H_IN), rand(rng, g * H, H)]
    arrays += [rand(rng, g * H), rand(rng, g * H)] if bias else [None, None]
    return arrays


def call_cell(name, *args):
    fn = getattr(F, name)
    if name == "lstm_cell":
        x, h, c, *weights = args
        return fn(x, (h, c), *weights)
    return fn(*args)


def np_cell(name, *args):
    args = [0.0 if a is None else a for a in args]
    if name == "lstm_cell":
        return np_lstm_cell(*args)
    if name == "gru_cell":
        return np_gru_cell(*args)
    return np_rnn_cell(*args, relu=name == "rnn_relu_cell")


CELLS = ["rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell"]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("name", CELLS)
def test_cell_forward_matches_numpy(name, bias, device):
    arrays = cell_case(name, np.random.default_rng(1), bias)
    assert_close(call_cell(name, *tensors(arrays, device, False)), np_cell(name, *arrays), rtol=1e-12)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("name", CELLS)
def test_cell_gradcheck(name, bias, device):
    inputs = tensors(cell_case(name, np.random.default_rng(2), bias), device)
    assert gradcheck(lambda *a: call_cell(name, *a), inputs)
    assert gradgradcheck(lambda *a: call_cell(name, *a), inputs)


@pytest.mark.parametrize("name", CELLS)
def test_cell_is_one_graph_node(name, device):
    inputs = tensors(cell_case(name, np.random.default_rng(3)), device)
    out = call_cell(name, *inputs)
    out = out[0] if name == "lstm_cell" else out
    assert {e[0] for e in out.grad_fn.next_functions if e is not None} == {t for t in inputs if t is not None}


def test_cell_partial_requires_grad(device):
    """Only some inputs need gradients: the others get none, the rest are still right."""
    rng = np.random.default_rng(4)
    arrays = cell_case("lstm_cell", rng)
    inputs = list(tensors(arrays, device, False))
    inputs[4].requires_grad_()  # w_hh only
    h, c = call_cell("lstm_cell", *inputs)
    (h.sum() + c.sum()).backward()
    assert inputs[0].grad is None and inputs[3].grad is None
    full = tensors(arrays, device)
    h, c = call_cell("lstm_cell", *full)
    (h.sum() + c.sum()).backward()
    assert_close(inputs[4].grad, nb.backend.to_numpy(full[4].grad._data))


# ---------------------------------------------------------------------------
# the layer node: forward vs NumPy, gradcheck, gradgradcheck


def layer_case(mode, rng, steps=4, bias=True):
    g = GATES[mode]
    return [
        rand(rng, steps, N, H_IN),
        rand(rng, N, H),
        rand(rng, N, H) if mode == "LSTM" else None,
        rand(rng, g * H, H_IN),
        rand(rng, g * H, H),
        rand(rng, g * H) if bias else None,
        rand(rng, g * H) if bias else None,
    ]


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("mode", list(GATES))
def test_layer_matches_numpy(mode, reverse, device):
    arrays = layer_case(mode, np.random.default_rng(5))
    got = recurrent.recurrence(mode, *tensors(arrays, device, False), reverse=reverse)
    out, h_n, c_n = np_layer(mode, *arrays, reverse=reverse)
    assert_close(got, (out, h_n, c_n) if mode == "LSTM" else (out, h_n), rtol=1e-12)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("mode", list(GATES))
def test_layer_gradcheck(mode, reverse, bias, device):
    inputs = tensors(layer_case(mode, np.random.default_rng(6), steps=3, bias=bias), device)

    def fn(*args):
        return recurrent.recurrence(mode, *args, reverse=reverse)

    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_layer_single_step(device):
    inputs = tensors(layer_case("LSTM", np.random.default_rng(7), steps=1), device)
    assert gradcheck(lambda *a: recurrent.recurrence("LSTM", *a), inputs)


# ---------------------------------------------------------------------------
# parity with torch


@pytest.fixture(scope="module")
def th():
    return pytest.importorskip("torch")


def load_from_torch(module, torch_module, device):
    state = {k: nb.tensor(v.detach().numpy(), device=device) for k, v in torch_module.state_dict().items()}
    module.load_state_dict(state)


def to_np(t):
    return (
        t.detach().cpu().numpy()
        if hasattr(t, "cpu") and not isinstance(t, nb.Tensor)
        else nb.backend.to_numpy(t.detach()._data)
    )


def assert_pair(nb_value, torch_value, what):
    np.testing.assert_allclose(to_np(nb_value), to_np(torch_value), rtol=1e-9, atol=1e-11, err_msg=what)


LAYERS = {
    "RNN_TANH": ("RNN", {}),
    "RNN_RELU": ("RNN", {"nonlinearity": "relu"}),
    "LSTM": ("LSTM", {}),
    "GRU": ("GRU", {}),
}


def make_pair(th, mode, device, **kwargs):
    cls, extra = LAYERS[mode]
    th.manual_seed(0)
    torch_module = getattr(th.nn, cls)(H_IN, 3, **extra, **kwargs).double()
    module = getattr(nn, cls)(H_IN, 3, **extra, **kwargs, dtype=nb.float64, device=device)
    load_from_torch(module, torch_module, device)
    return module, torch_module


def run_both(th, module, torch_module, x, states, device):
    """Forward, a backward of a loss using every output, and the values to compare."""
    nb_x = nb.tensor(x, device=device, requires_grad=True)
    th_x = th.tensor(x, requires_grad=True)
    nb_states = [nb.tensor(s, device=device, requires_grad=True) for s in states]
    th_states = [th.tensor(s, requires_grad=True) for s in states]
    results = []
    for lib_x, lib_states, m in ((nb_x, nb_states, module), (th_x, th_states, torch_module)):
        hx = None if not lib_states else tuple(lib_states) if len(lib_states) == 2 else lib_states[0]
        out, h_n = m(lib_x, hx)
        finals = list(h_n) if isinstance(h_n, tuple) else [h_n]
        # Different weights per element, so a wrong element or order shows up in every gradient.
        loss = (out * out).sum() + sum((k + 2) * (f * f.cos()).sum() for k, f in enumerate(finals))
        loss.backward()
        results.append((out, finals, lib_x.grad, [s.grad for s in lib_states]))
    return results


GRID = list(itertools.product(list(LAYERS), [1, 2], [False, True], [False, True], [False, True], [True, False]))


@pytest.mark.parametrize("mode,num_layers,bidirectional,batch_first,with_state,bias", GRID)
def test_layer_parity_with_torch(th, mode, num_layers, bidirectional, batch_first, with_state, bias, device):
    module, torch_module = make_pair(
        th, mode, device, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias
    )
    rng = np.random.default_rng(8)
    steps, batch = 5, 2
    x = rand(rng, batch, steps, H_IN) if batch_first else rand(rng, steps, batch, H_IN)
    shape = ((2 if bidirectional else 1) * num_layers, batch, 3)
    states = [rand(rng, *shape) for _ in range(2 if mode == "LSTM" else 1)] if with_state else []
    (out, finals, gx, gs), (t_out, t_finals, t_gx, t_gs) = run_both(th, module, torch_module, x, states, device)
    assert tuple(out.shape) == tuple(t_out.shape)
    assert_pair(out, t_out, "output")
    for a, b in zip(finals, t_finals, strict=True):
        assert tuple(a.shape) == tuple(b.shape)
        assert_pair(a, b, "final state")
    assert_pair(gx, t_gx, "input grad")
    for a, b in zip(gs, t_gs, strict=True):
        assert_pair(a, b, "initial state grad")
    params = dict(module.named_parameters())
    for name, p in torch_module.named_parameters():
        assert_pair(params[name].grad, p.grad, name)


@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("mode", list(LAYERS))
def test_layer_parity_unbatched(th, mode, bidirectional, with_state, device):
    module, torch_module = make_pair(th, mode, device, num_layers=2, bidirectional=bidirectional)
    rng = np.random.default_rng(9)
    shape = ((2 if bidirectional else 1) * 2, 3)
    states = [rand(rng, *shape) for _ in range(2 if mode == "LSTM" else 1)] if with_state else []
    (out, finals, gx, gs), (t_out, t_finals, t_gx, t_gs) = run_both(
        th, module, torch_module, rand(rng, 5, H_IN), states, device
    )
    assert tuple(out.shape) == tuple(t_out.shape)
    assert_pair(out, t_out, "output")
    for a, b in zip([*finals, gx, *gs], [*t_finals, t_gx, *t_gs], strict=True):
        assert tuple(a.shape) == tuple(b.shape)
        assert_pair(a, b, "states and gradients")


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"num_layers": 3, "bidirectional": True},
        {"bias": False},
        {"num_layers": 2, "dropout": 0.5, "batch_first": True},
    ],
)
@pytest.mark.parametrize("mode", list(LAYERS))
def test_state_dict_and_repr_match_torch(th, mode, kwargs):
    module, torch_module = make_pair(th, mode, "cpu", **kwargs)
    ours = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in torch_module.state_dict().items()}
    assert list(ours.items()) == list(theirs.items())
    assert repr(module) == repr(torch_module)
    assert [[tuple(p.shape) for p in ws] for ws in module.all_weights] == [
        [tuple(p.shape) for p in ws] for ws in torch_module.all_weights
    ]


CELL_MODULES = {"RNNCell": {}, "RNNCell-relu": {"nonlinearity": "relu"}, "LSTMCell": {}, "GRUCell": {}}


def make_cell_pair(th, kind, device, bias=True):
    cls = kind.split("-")[0]
    th.manual_seed(0)
    torch_cell = getattr(th.nn, cls)(H_IN, 3, bias=bias, **CELL_MODULES[kind]).double()
    cell = getattr(nn, cls)(H_IN, 3, bias=bias, **CELL_MODULES[kind], dtype=nb.float64, device=device)
    load_from_torch(cell, torch_cell, device)
    return cell, torch_cell


@pytest.mark.parametrize("batched,with_state,bias", list(itertools.product([True, False], repeat=3)))
@pytest.mark.parametrize("kind", list(CELL_MODULES))
def test_cell_parity_with_torch(th, kind, batched, with_state, bias, device):
    cell, torch_cell = make_cell_pair(th, kind, device, bias)
    assert repr(cell) == repr(torch_cell)
    assert [(k, tuple(v.shape)) for k, v in cell.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in torch_cell.state_dict().items()
    ]
    rng = np.random.default_rng(10)
    lead = (2,) if batched else ()
    x = rand(rng, *lead, H_IN)
    states = [rand(rng, *lead, 3) for _ in range(2 if kind == "LSTMCell" else 1)] if with_state else []
    grads = []
    for lib, m in ((nb, cell), (th, torch_cell)):
        xs = lib.tensor(x, requires_grad=True)
        ss = [lib.tensor(s, requires_grad=True) for s in states]
        hx = (tuple(ss) if kind == "LSTMCell" else ss[0]) if ss else None
        outs = m(xs, hx) if hx is not None else m(xs)
        outs = outs if isinstance(outs, tuple) else (outs,)
        sum((k + 1) * (o * o.sin()).sum() for k, o in enumerate(outs)).backward()
        grads.append([*outs, xs.grad, *[s.grad for s in ss], *[p.grad for _, p in m.named_parameters()]])
    for a, b in zip(*grads, strict=True):
        assert tuple(a.shape) == tuple(b.shape)
        assert_pair(a, b, kind)


# ---------------------------------------------------------------------------
# behaviour


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"])
def test_init_is_uniform_within_bound(cls):
    module = getattr(nn, cls)(5, 16)
    bound = 1 / np.sqrt(16)
    for name, p in module.named_parameters():
        values = p.detach().numpy()
        assert p.dtype == nb.float32
        assert np.all(np.abs(values) <= bound), name
        assert values.std() > bound / 3, name  # spread over the interval, not a constant


def test_dtype_keyword():
    lstm = nn.LSTM(3, 4, dtype=nb.float64)
    assert all(p.dtype == nb.float64 for p in lstm.parameters())
    out, (h, c) = lstm(nb.randn(2, 1, 3, dtype=nb.float64))
    assert out.dtype == h.dtype == c.dtype == nb.float64


def test_long_sequence_backward_has_no_recursion_limit(device):
    """2000 steps: the loop and its backward are iterative."""
    lstm = nn.LSTM(2, 3, num_layers=2, device=device)
    x = nb.randn(2000, 1, 2, device=device, requires_grad=True)
    out, (h, c) = lstm(x)
    (out.sum() + h.sum()).backward()
    assert x.grad.shape == x.shape
    assert np.isfinite(nb.backend.to_numpy(x.grad._data)).all()
    cell = nn.GRUCell(2, 3, device=device)
    h = None
    for step in x[:1500]:
        h = cell(step, h)
    h.sum().backward()
    assert cell.weight_hh.grad is not None


def test_layer_is_one_node_per_direction():
    out, _ = nn.GRU(3, 4)(nb.randn(6, 2, 3))
    assert out.grad_fn.name() == "GRULayerBackward0"


def test_dropout_between_layers_only_in_training(th):
    module, torch_module = make_pair(th, "LSTM", "cpu", num_layers=2, dropout=0.5)
    x = nb.tensor(np.random.default_rng(11).uniform(-1, 1, (5, 2, H_IN)))
    module.eval()
    torch_module.eval()
    assert_pair(module(x)[0], torch_module(th.tensor(x.numpy()))[0], "eval mode ignores dropout")
    module.train()
    nb.manual_seed(0)
    first = module(x)[0].detach().numpy()
    nb.manual_seed(1)
    assert not np.allclose(first, module(x)[0].detach().numpy())
    assert not np.allclose(first, module.eval()(x)[0].detach().numpy())


def test_no_grad_inference_records_nothing():
    lstm = nn.LSTM(3, 4)
    with nb.no_grad():
        out, (h, c) = lstm(nb.randn(5, 2, 3))
    assert out.grad_fn is None and not h.requires_grad


def test_retain_graph_and_second_backward():
    lstm = nn.LSTM(3, 4)
    out, _ = lstm(nb.randn(5, 2, 3))
    out.sum().backward(retain_graph=True)
    first = lstm.weight_hh_l0.grad.numpy().copy()
    out.sum().backward()
    np.testing.assert_allclose(lstm.weight_hh_l0.grad.numpy(), 2 * first, rtol=1e-5)
    with pytest.raises(RuntimeError, match="second time"):
        out.sum().backward()


def test_in_place_change_of_saved_output_is_detected():
    out, _ = nn.RNN(3, 4)(nb.randn(5, 2, 3))
    y = out * 1
    with nb.no_grad():
        out.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


# ---------------------------------------------------------------------------
# errors


def test_layer_input_errors():
    lstm = nn.LSTM(10, 20, num_layers=2)
    with pytest.raises(RuntimeError, match=r"LSTM: input.size\(-1\) must be equal to input_size. Expected 10, got 7"):
        lstm(nb.randn(5, 3, 7))
    with pytest.raises(ValueError, match=r"LSTM: Expected input to be 2D or 3D, got 4D.*\(1, 5, 3, 10\)"):
        lstm(nb.randn(1, 5, 3, 10))
    with pytest.raises(ValueError, match="input dtype \\(float64\\) does not match weight dtype \\(float32\\)"):
        lstm(nb.randn(5, 3, 10, dtype=nb.float64))
    with pytest.raises(RuntimeError, match="LSTM: the input sequence is empty"):
        lstm(nb.randn(0, 3, 10))
    with pytest.raises(TypeError, match="PackedSequence"):
        lstm((nb.randn(5, 10), nb.tensor([5])))


def test_layer_state_errors():
    lstm = nn.LSTM(10, 20, num_layers=2)
    x = nb.randn(5, 3, 10)
    with pytest.raises(RuntimeError, match=r"LSTM: Expected hidden\[0\] size \(2, 3, 20\), got \[1, 3, 20\]"):
        lstm(x, (nb.zeros(1, 3, 20), nb.zeros(2, 3, 20)))
    with pytest.raises(RuntimeError, match=r"LSTM: Expected hidden\[1\] size \(2, 3, 20\), got \[2, 4, 20\]"):
        lstm(x, (nb.zeros(2, 3, 20), nb.zeros(2, 4, 20)))
    with pytest.raises(TypeError, match=r"LSTM: hx must be a pair \(h_0, c_0\)"):
        lstm(x, nb.zeros(2, 3, 20))
    with pytest.raises(RuntimeError, match="for batched 3-D input, hx should also be 3-D but got 2-D, 3-D"):
        lstm(x, (nb.zeros(3, 20), nb.zeros(2, 3, 20)))
    gru = nn.GRU(10, 20, bidirectional=True)
    with pytest.raises(RuntimeError, match=r"GRU: Expected hidden size \(2, 3, 20\), got \[1, 3, 20\]"):
        gru(x, nb.zeros(1, 3, 20))
    with pytest.raises(RuntimeError, match="for unbatched 2-D input, hx should also be 2-D but got 3-D"):
        gru(nb.randn(5, 10), nb.zeros(2, 1, 20))
    with pytest.raises(TypeError, match="GRU: hx must be a Tensor or None, got tuple"):
        gru(x, (nb.zeros(2, 3, 20),))


def test_constructor_errors():
    with pytest.raises(ValueError, match="RNN: unknown nonlinearity 'sigmoid'. Select from 'tanh' or 'relu'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="RNNCell: unknown nonlinearity 'gelu'"):
        nn.RNNCell(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match=r"GRU: dropout should be a number in range \[0, 1\].*got 1.5"):
        nn.GRU(3, 4, dropout=1.5)
    with pytest.warns(
        UserWarning, match="non-zero dropout expects num_layers greater than 1, but got dropout=0.3 and num_layers=1"
    ):
        nn.LSTM(3, 4, dropout=0.3)
    with pytest.raises(NotImplementedError, match="LSTM: proj_size=2 .* not supported"):
        nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="LSTM: hidden_size must be greater than zero, got 0"):
        nn.LSTM(3, 0)
    with pytest.raises(ValueError, match="RNN: num_layers must be greater than zero"):
        nn.RNN(3, 4, num_layers=0)
    with pytest.raises(TypeError, match="GRU: batch_first should be of type bool, got: int"):
        nn.GRU(3, 4, batch_first=1)
    with pytest.raises(TypeError, match="LSTM: input_size should be of type int, got: float"):
        nn.LSTM(3.0, 4)


def test_torch_warns_the_same_for_one_layer_dropout(th):
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        th.nn.LSTM(3, 4, dropout=0.3)


def test_cell_module_errors():
    cell = nn.LSTMCell(10, 20)
    with pytest.raises(RuntimeError, match=r"LSTMCell: input has 7 features .*\(3, 7\).* input_size=10"):
        cell(nb.randn(3, 7))
    with pytest.raises(ValueError, match="LSTMCell: Expected input to be 1D or 2D, got 3D"):
        cell(nb.randn(1, 3, 10))
    with pytest.raises(RuntimeError, match=r"LSTMCell: expected hx\[1\] of shape \(3, 20\) .* got \(3, 5\)"):
        cell(nb.randn(3, 10), (nb.zeros(3, 20), nb.zeros(3, 5)))
    with pytest.raises(ValueError, match=r"LSTMCell: Expected hx\[0\] to be 1D or 2D, got 3D"):
        cell(nb.randn(3, 10), (nb.zeros(1, 3, 20), nb.zeros(3, 20)))
    with pytest.raises(RuntimeError, match=r"GRUCell: expected hx of shape \(4, 20\) .* got \(3, 20\)"):
        nn.GRUCell(10, 20)(nb.randn(4, 10), nb.zeros(3, 20))
    relu_cell = nn.RNNCell(10, 20)
    relu_cell.nonlinearity = "swish"
    with pytest.raises(ValueError, match="RNNCell: unknown nonlinearity 'swish'"):
        relu_cell(nb.randn(4, 10))


def test_functional_cell_errors():
    x, h = nb.randn(3, 4), nb.zeros(3, 2)
    with pytest.raises(RuntimeError, match=r"gru_cell: expected input of shape \(batch, 5\) .* got \(3, 4\)"):
        F.gru_cell(x, h, nb.randn(6, 5), nb.randn(6, 2))
    with pytest.raises(RuntimeError, match=r"rnn_tanh_cell: expected hx of shape \(3, 2\), got \(3, 5\)"):
        F.rnn_tanh_cell(x, nb.zeros(3, 5), nb.randn(2, 4), nb.randn(2, 2))
    with pytest.raises(
        RuntimeError,
        match=r"lstm_cell: weight_ih \(6, 4\) and weight_hh \(6, 2\) must be 2-D "
        "with 4 \\* hidden_size rows",
    ):
        F.lstm_cell(x, (h, h), nb.randn(6, 4), nb.randn(6, 2))
    with pytest.raises(TypeError, match=r"lstm_cell: hx must be a pair \(h, c\)"):
        F.lstm_cell(x, h, nb.randn(8, 4), nb.randn(8, 2))
    with pytest.raises(RuntimeError, match=r"rnn_relu_cell: expected bias_hh of shape \(2,\), got \(3,\)"):
        F.rnn_relu_cell(x, h, nb.randn(2, 4), nb.randn(2, 2), nb.randn(2), nb.randn(3))
    with pytest.raises(RuntimeError, match="rnn_tanh_cell: input, states and weights must share one dtype"):
        F.rnn_tanh_cell(x.double(), h, nb.randn(2, 4), nb.randn(2, 2))
