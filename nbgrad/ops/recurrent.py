"""Recurrent cells and whole recurrent layers as single graph nodes.

Two kinds of node share one set of gate formulas:

- a *cell* node (``rnn_tanh_cell``, ``rnn_relu_cell``, ``lstm_cell``,
  ``gru_cell``): one time step, ``x @ W_ih.T + h @ W_hh.T`` and the gate math,
  with a hand-written backward;
- a *layer* node (:func:`recurrence`, used by ``nn.RNN``/``LSTM``/``GRU``):
  the input projection of every time step is one big GEMM (an ordinary
  ``linear`` node over the whole sequence); the node then runs the loop over
  time (one ``h @ W_hh.T`` GEMM and the gate math per step) and its backward
  runs backpropagation through time as a loop too, ending with ``dW_hh`` as one
  big GEMM over all steps.

Why a node per layer rather than per step: per-step nodes would each need a
slice of the projected input, and the gradient of every slice (a zero-padded
array of the whole sequence) would cost O(T^2); the per-step weight gradients
would be T small GEMMs plus T sums of a ``(G, H)`` matrix. The layer node does
neither and has no recursion at any sequence length.

The gate formulas are written once over a namespace ``m`` (arrays or
Tensors): an ordinary backward runs them on raw arrays; under
``create_graph=True`` the forward is recomputed with Tensor ops and the same
formulas run on Tensors, so higher-order gradients are exact.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from nbgrad import backend
from nbgrad.autograd.function import Function
from nbgrad.autograd.grad_mode import STATE
from nbgrad.ops._util import check_same_device
from nbgrad.ops.linear import linear
from nbgrad.tensor import Tensor

__all__ = ["gru_cell", "lstm_cell", "rnn_relu_cell", "rnn_tanh_cell"]

_wrap = Tensor._wrap


# ---------------------------------------------------------------------------
# the two namespaces the formulas run in


def _sigmoid_array(a):
    # 0.5 * tanh(a / 2) + 0.5: four vectorised passes, and no overflow for large |a| (exp would).
    half = a.dtype.type(0.5)
    out = a * half
    np.tanh(out, out=out)
    out *= half
    out += half
    return out


def _affine_array(h, w_t, add, bias):
    """``h @ w_t (+ add) (+ bias)``, accumulating into the GEMM's own result."""
    out = h @ w_t
    if add is not None:
        out += add
    if bias is not None:
        out += bias
    return out


def _affine_tensor(h, w_t, add, bias):
    out = h @ w_t
    if add is not None:
        out = out + add
    return out if bias is None else out + bias


def _xp(a):
    return backend.array_module(a)


ARRAYS = SimpleNamespace(
    sigmoid=_sigmoid_array,
    tanh=np.tanh,
    relu=lambda a: np.maximum(a, a.dtype.type(0)),
    affine=_affine_array,
    # BLAS runs h @ W.T faster from a C-contiguous copy of W.T (made once per layer, not per step).
    t=lambda w: _xp(w).ascontiguousarray(w.T),
    cat=lambda parts: _xp(parts[0]).concatenate(parts, axis=-1),
    stack=lambda parts: _xp(parts[0]).stack(parts),
)


def _tensor_namespace():
    from nbgrad.ops import shape

    return SimpleNamespace(
        sigmoid=lambda a: a.sigmoid(),
        tanh=lambda a: a.tanh(),
        relu=lambda a: a.relu(),
        affine=_affine_tensor,
        t=lambda w: w.T,
        cat=lambda parts: shape.cat(parts, -1),
        stack=lambda parts: shape.stack(parts),
    )


# ---------------------------------------------------------------------------
# gate formulas: one time step forward and backward, for each kind of cell
#
# step(xw, h, c, w_hh_t, b_hh, m) -> (h', c' or None, saved)
#     xw is the input projection x @ W_ih.T (+ b_ih) of this step.
# step_back(dh, dc, saved, m) -> (d_xw, d_hh, dh_direct, dc_prev)
#     d_xw: gradient of the input projection; d_hh: of h @ W_hh.T (+ b_hh);
#     dh_direct: the part of dh_prev that does not go through W_hh (GRU's z * h).


class _Tanh:
    name, n_gates, has_cell, split_hh = "rnn_tanh", 1, False, False

    @staticmethod
    def step(xw, h, c, w_hh_t, b_hh, m):
        h2 = m.tanh(m.affine(h, w_hh_t, xw, b_hh))
        return h2, None, (h2,)

    @staticmethod
    def step_back(dh, dc, saved, m):
        (h2,) = saved
        da = dh - dh * h2 * h2
        return da, da, None, None


class _Relu(_Tanh):
    name = "rnn_relu"

    @staticmethod
    def step(xw, h, c, w_hh_t, b_hh, m):
        h2 = m.relu(m.affine(h, w_hh_t, xw, b_hh))
        return h2, None, (h2,)

    @staticmethod
    def step_back(dh, dc, saved, m):
        (h2,) = saved
        da = dh * (h2 > 0)
        return da, da, None, None


class _LSTM:
    """torch's gate order i, f, g, o: c' = f c + i g, h' = o tanh(c')."""

    name, n_gates, has_cell, split_hh = "lstm", 4, True, False

    @staticmethod
    def step(xw, h, c, w_hh_t, b_hh, m):
        n = h.shape[-1]
        a = m.affine(h, w_hh_t, xw, b_hh)
        sif = m.sigmoid(a[:, : 2 * n])  # i and f in one call
        i, f = sif[:, :n], sif[:, n:]
        g = m.tanh(a[:, 2 * n : 3 * n])
        o = m.sigmoid(a[:, 3 * n :])
        c2 = f * c + i * g
        tc = m.tanh(c2)
        return o * tc, c2, (c, i, f, g, o, tc)

    @staticmethod
    def step_back(dh, dc, saved, m):
        c, i, f, g, o, tc = saved
        dho = dh * o
        dc = dc + (dho - dho * tc * tc)
        dci = dc * i
        da = m.cat(
            [
                (dc * g) * (i - i * i),
                (dc * c) * (f - f * f),
                dci - dci * g * g,
                (dh * tc) * (o - o * o),
            ]
        )
        return da, da, None, dc * f


class _GRU:
    """torch's r, z, n order: n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h' = (1 - z) n + z h."""

    name, n_gates, has_cell, split_hh = "gru", 3, False, True

    @staticmethod
    def step(xw, h, c, w_hh_t, b_hh, m):
        n = h.shape[-1]
        gh = m.affine(h, w_hh_t, None, b_hh)
        rz = m.sigmoid(xw[:, : 2 * n] + gh[:, : 2 * n])
        r, z = rz[:, :n], rz[:, n:]
        hn = gh[:, 2 * n :]
        cand = m.tanh(xw[:, 2 * n :] + r * hn)
        return cand + z * (h - cand), None, (h, r, z, cand, hn)

    @staticmethod
    def step_back(dh, dc, saved, m):
        h, r, z, cand, hn = saved
        dn = dh - dh * z
        dn = dn - dn * cand * cand
        dr = (dn * hn) * (r - r * r)
        dz = (dh * (h - cand)) * (z - z * z)
        return m.cat([dr, dz, dn]), m.cat([dr, dz, dn * r]), dh * z, None


# ---------------------------------------------------------------------------
# one cell step as a graph node


class _CellFunction(Function):
    """``(x, h, c, w_ih, w_hh, b_ih, b_hh) -> h'`` (LSTM: ``(h', c')``) for the cell kind ``mode``."""

    _builtin = True
    mode = _Tanh

    @staticmethod
    def forward(ctx, x, h, c, w_ih, w_hh, b_ih, b_hh):
        outs, saved = _cell_forward(
            type(ctx).mode, ARRAYS, *[None if t is None else t._data for t in (x, h, c, w_ih, w_hh, b_ih, b_hh)]
        )
        ctx.step_saved = saved
        return outs

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs)

    @staticmethod
    def backward(ctx, dh, dc=None):
        mode = type(ctx).mode
        needs = ctx.needs_input_grad
        if STATE.enabled:  # create_graph: recompute with Tensor ops so the backward is recorded
            m = _tensor_namespace()
            inputs = ctx.saved_tensors
            saved = _cell_forward(mode, m, *inputs)[1]
            return _cell_backward(mode, m, inputs, saved, dh, dc, needs)
        inputs = ctx.saved_arrays
        grads = _cell_backward(mode, ARRAYS, inputs, ctx.step_saved, dh._data, None if dc is None else dc._data, needs)
        return tuple(None if g is None else _wrap(g) for g in grads)


def _cell_forward(mode, m, x, h, c, w_ih, w_hh, b_ih, b_hh):
    xw = m.affine(x, w_ih.T, None, b_ih)
    h2, c2, saved = mode.step(xw, h, c, w_hh.T, b_hh, m)
    return ((h2, c2) if mode.has_cell else h2), saved


def _cell_backward(mode, m, inputs, saved, dh, dc, needs):
    x, h, _, w_ih, w_hh, _, _ = inputs
    d_xw, d_hh, dh_direct, dc_prev = mode.step_back(dh, dc, saved, m)
    dx = d_xw @ w_ih if needs[0] else None
    dh_prev = None
    if needs[1]:
        dh_prev = d_hh @ w_hh
        if dh_direct is not None:
            dh_prev = dh_prev + dh_direct
    return (
        dx,
        dh_prev,
        dc_prev if needs[2] else None,
        d_xw.T @ x if needs[3] else None,
        d_hh.T @ h if needs[4] else None,
        d_xw.sum(0) if needs[5] else None,
        d_hh.sum(0) if needs[6] else None,
    )


def _node(name: str, base: type, mode, n_outputs: int) -> type:
    """A node class for one cell kind: its own name shows in ``grad_fn`` (``LSTMCellBackward0``)."""
    return type(name, (base,), {"mode": mode, "_n_outputs": n_outputs, "__module__": __name__})


RNNTanhCell = _node("RNNTanhCell", _CellFunction, _Tanh, 1)
RNNReluCell = _node("RNNReluCell", _CellFunction, _Relu, 1)
GRUCell = _node("GRUCell", _CellFunction, _GRU, 1)
LSTMCell = _node("LSTMCell", _CellFunction, _LSTM, 2)


def _check_cell(op: str, mode, input, hx, cx, w_ih, w_hh, b_ih, b_hh) -> None:
    check_same_device(op, input, hx, cx, w_ih, w_hh, b_ih, b_hh)
    gates = mode.n_gates
    if w_ih.ndim != 2 or w_hh.ndim != 2 or w_ih.shape[0] % gates or w_hh.shape[0] != w_ih.shape[0]:
        raise RuntimeError(
            f"{op}: weight_ih {tuple(w_ih.shape)} and weight_hh {tuple(w_hh.shape)} must be 2-D with "
            f"{gates} * hidden_size rows"
        )
    hidden = w_hh.shape[0] // gates
    if tuple(w_hh.shape) != (gates * hidden, hidden):
        raise RuntimeError(f"{op}: weight_hh must have shape ({gates * hidden}, {hidden}), got {tuple(w_hh.shape)}")
    if input.ndim != 2 or input.shape[1] != w_ih.shape[1]:
        raise RuntimeError(
            f"{op}: expected input of shape (batch, {w_ih.shape[1]}) to match weight_ih {tuple(w_ih.shape)}, "
            f"got {tuple(input.shape)}"
        )
    expected = (input.shape[0], hidden)
    for name, state in (("hx", hx), ("cx", cx)):
        if state is not None and tuple(state.shape) != expected:
            raise RuntimeError(f"{op}: expected {name} of shape {expected}, got {tuple(state.shape)}")
    for name, b in (("bias_ih", b_ih), ("bias_hh", b_hh)):
        if b is not None and tuple(b.shape) != (gates * hidden,):
            raise RuntimeError(f"{op}: expected {name} of shape ({gates * hidden},), got {tuple(b.shape)}")
    dtypes = {t.dtype for t in (input, hx, cx, w_ih, w_hh, b_ih, b_hh) if t is not None}
    if len(dtypes) > 1:
        raise RuntimeError(f"{op}: input, states and weights must share one dtype, got {sorted(map(str, dtypes))}")


def rnn_tanh_cell(
    input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: "Tensor | None" = None, b_hh: "Tensor | None" = None
) -> Tensor:
    """One Elman RNN step, ``h' = tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)``, as one graph node.

    Args:
        input: ``(N, H_in)``.
        hx: ``(N, H)``.
        w_ih: ``(H, H_in)``. w_hh: ``(H, H)``.
        b_ih, b_hh: ``(H,)`` or ``None``.

    Shape:
        output: ``(N, H)``.

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.functional.rnn_tanh_cell(nb.ones(2, 3), nb.zeros(2, 4), nb.ones(4, 3), nb.ones(4, 4)).shape
        nbgrad.Size([2, 4])
    """
    _check_cell("rnn_tanh_cell", _Tanh, input, hx, None, w_ih, w_hh, b_ih, b_hh)
    return RNNTanhCell.apply(input, hx, None, w_ih, w_hh, b_ih, b_hh)


def rnn_relu_cell(
    input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: "Tensor | None" = None, b_hh: "Tensor | None" = None
) -> Tensor:
    """One Elman RNN step with ReLU, ``h' = relu(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)``, as one graph node.

    Args and shapes as :func:`rnn_tanh_cell`.

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.functional.rnn_relu_cell(nb.ones(1, 2), nb.zeros(1, 2), -nb.ones(2, 2), nb.ones(2, 2)).tolist()
        [[0.0, 0.0]]
    """
    _check_cell("rnn_relu_cell", _Relu, input, hx, None, w_ih, w_hh, b_ih, b_hh)
    return RNNReluCell.apply(input, hx, None, w_ih, w_hh, b_ih, b_hh)


def lstm_cell(
    input: Tensor, hx, w_ih: Tensor, w_hh: Tensor, b_ih: "Tensor | None" = None, b_hh: "Tensor | None" = None
) -> tuple:
    """One LSTM step (torch's gate order i, f, g, o) as one graph node with two outputs.

    .. math::
        (i, f, g, o) = (\\sigma, \\sigma, \\tanh, \\sigma)(x W_{ih}^T + b_{ih} + h W_{hh}^T + b_{hh}),\\quad
        c' = f c + i g,\\quad h' = o \\tanh(c')

    Args:
        input: ``(N, H_in)``.
        hx: the pair ``(h, c)``, each ``(N, H)``.
        w_ih: ``(4H, H_in)``. w_hh: ``(4H, H)``.
        b_ih, b_hh: ``(4H,)`` or ``None``.

    Returns:
        ``(h', c')``, each ``(N, H)``.

    Example::

        >>> import nbgrad as nb
        >>> h, c = nb.nn.functional.lstm_cell(nb.ones(2, 3), (nb.zeros(2, 4), nb.zeros(2, 4)),
        ...                                   nb.ones(16, 3), nb.ones(16, 4))
        >>> h.shape, c.shape
        (nbgrad.Size([2, 4]), nbgrad.Size([2, 4]))
    """
    if not isinstance(hx, (tuple, list)) or len(hx) != 2:
        raise TypeError(f"lstm_cell: hx must be a pair (h, c) of Tensors, got {type(hx).__name__}")
    h, c = hx
    _check_cell("lstm_cell", _LSTM, input, h, c, w_ih, w_hh, b_ih, b_hh)
    return LSTMCell.apply(input, h, c, w_ih, w_hh, b_ih, b_hh)


def gru_cell(
    input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: "Tensor | None" = None, b_hh: "Tensor | None" = None
) -> Tensor:
    """One GRU step (torch's gate order r, z, n) as one graph node.

    .. math::
        r = \\sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}),\\quad z = \\sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz})

        n = \\tanh(W_{in} x + b_{in} + r (W_{hn} h + b_{hn})),\\quad h' = (1 - z) n + z h

    Args:
        input: ``(N, H_in)``.
        hx: ``(N, H)``.
        w_ih: ``(3H, H_in)``. w_hh: ``(3H, H)``.
        b_ih, b_hh: ``(3H,)`` or ``None``.

    Shape:
        output: ``(N, H)``.

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.functional.gru_cell(nb.ones(2, 3), nb.zeros(2, 4), nb.ones(12, 3), nb.ones(12, 4)).shape
        nbgrad.Size([2, 4])
    """
    _check_cell("gru_cell", _GRU, input, hx, None, w_ih, w_hh, b_ih, b_hh)
    return GRUCell.apply(input, hx, None, w_ih, w_hh, b_ih, b_hh)


# ---------------------------------------------------------------------------
# a whole layer (one direction) as a graph node


def _time(s: int, steps: int, reverse: bool) -> int:
    """The time index of loop step ``s``: a reverse direction reads the sequence back to front."""
    return steps - 1 - s if reverse else s


def _layer_forward(mode, m, xw, h0, c0, w_hh, b_hh, reverse):
    """Run the recurrence over ``xw`` ``(T, N, G)``: ``(output (T, N, H), h_n, c_n, per-step saved)``."""
    steps = xw.shape[0]
    w_hh_t = m.t(w_hh)
    h, c = h0, c0
    hs, saved = [None] * steps, []
    for s in range(steps):
        t = _time(s, steps, reverse)
        h, c, kept = mode.step(xw[t], h, c, w_hh_t, b_hh, m)
        hs[t] = h
        saved.append(kept)
    return m.stack(hs), h, c, saved


class _LayerFunction(Function):
    """``(xw, h0, c0, w_hh, b_hh, reverse) -> (output, h_n[, c_n])`` for the cell kind ``mode``."""

    _builtin = True
    _n_outputs = 2
    mode = _Tanh

    @staticmethod
    def forward(ctx, xw, h0, c0, w_hh, b_hh, reverse):
        mode = type(ctx).mode
        arrays = [None if t is None else t._data for t in (xw, h0, c0, w_hh, b_hh)]
        out, h_n, c_n, saved = _layer_forward(mode, ARRAYS, *arrays, reverse)
        ctx.steps_saved = saved
        ctx.reverse = reverse
        # h_n is a copy: out[-1] as a view would let an in-place change of one alter the other.
        return (out, h_n.copy(), c_n) if mode.has_cell else (out, h_n.copy())

    @staticmethod
    def setup_context(ctx, inputs, outputs):
        ctx.save_for_backward(*inputs[:5], outputs[0])

    @staticmethod
    def backward(ctx, d_out, dh_n, dc_n=None):
        mode = type(ctx).mode
        needs = ctx.needs_input_grad
        if STATE.enabled:  # create_graph: recompute the loop with Tensor ops, then differentiate it on Tensors
            m = _tensor_namespace()
            *inputs, _ = ctx.saved_tensors
            out, _, _, saved = _layer_forward(mode, m, *inputs, ctx.reverse)
            return (*_bptt(mode, m, inputs, out, saved, d_out, dh_n, dc_n, ctx.reverse, needs), None)
        *inputs, out = ctx.saved_arrays
        grads = _bptt(
            mode,
            ARRAYS,
            inputs,
            out,
            ctx.steps_saved,
            d_out._data,
            dh_n._data,
            None if dc_n is None else dc_n._data,
            ctx.reverse,
            needs,
        )
        return (*[None if g is None else _wrap(g) for g in grads], None)


def _bptt(mode, m, inputs, out, saved, d_out, dh, dc, reverse, needs):
    """Backpropagation through time: gradients of ``(xw, h0, c0, w_hh, b_hh)``."""
    xw, h0, _, w_hh, b_hh = inputs
    steps = xw.shape[0]
    d_xw, d_hh = [None] * steps, [None] * steps
    for s in range(steps - 1, -1, -1):
        t = _time(s, steps, reverse)
        dh = dh + d_out[t]
        gi, gh, direct, dc = mode.step_back(dh, dc, saved[s], m)
        d_xw[t], d_hh[t] = gi, gh
        if s or needs[1]:  # the first step's dh only feeds h0
            dh = gh @ w_hh if direct is None else gh @ w_hh + direct
    d_xw = m.stack(d_xw)
    d_hh = m.stack(d_hh) if mode.split_hh else d_xw
    dw_hh = _weight_grad(d_hh, out, h0, reverse) if needs[3] else None
    db_hh = d_hh.sum(0).sum(0) if b_hh is not None and needs[4] else None
    return d_xw, dh if needs[1] else None, dc if needs[2] else None, dw_hh, db_hh


def _weight_grad(d_gates, out, h0, reverse):
    """``sum_t d_gates[t].T @ h_prev[t]`` as two GEMMs: h_prev is ``out`` shifted by one step, and h0."""
    steps, batch, gates = d_gates.shape
    hidden = out.shape[-1]
    if reverse:
        inner, first, prev = d_gates[: steps - 1], d_gates[steps - 1], out[1:]
    else:
        inner, first, prev = d_gates[1:], d_gates[0], out[: steps - 1]
    dw = first.T @ h0
    if steps > 1:
        dw = dw + inner.reshape((steps - 1) * batch, gates).T @ prev.reshape((steps - 1) * batch, hidden)
    return dw


RNNTanhLayer = _node("RNNTanhLayer", _LayerFunction, _Tanh, 2)
RNNReluLayer = _node("RNNReluLayer", _LayerFunction, _Relu, 2)
GRULayer = _node("GRULayer", _LayerFunction, _GRU, 2)
LSTMLayer = _node("LSTMLayer", _LayerFunction, _LSTM, 3)


_LAYERS = {"RNN_TANH": RNNTanhLayer, "RNN_RELU": RNNReluLayer, "LSTM": LSTMLayer, "GRU": GRULayer}


def recurrence(
    mode: str,
    input: Tensor,
    hx: Tensor,
    cx: "Tensor | None",
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: "Tensor | None" = None,
    b_hh: "Tensor | None" = None,
    reverse: bool = False,
) -> tuple:
    """One direction of one recurrent layer over a whole sequence (the engine of ``nn.RNN/LSTM/GRU``).

    The input projection of all steps is one ``linear`` node (one GEMM); the loop
    over time and its backward are one node. Shapes are not checked here: the
    layers check them and name themselves in the errors.

    Args:
        mode: ``"RNN_TANH"``, ``"RNN_RELU"``, ``"LSTM"`` or ``"GRU"``.
        input: ``(T, N, H_in)``, time first.
        hx: ``(N, H)``; cx: ``(N, H)`` for LSTM, else ``None``.
        w_ih: ``(G*H, H_in)``; w_hh: ``(G*H, H)``; b_ih, b_hh: ``(G*H,)`` or ``None``.
        reverse: run from the last step to the first (the backward direction of a
            bidirectional layer); ``output[t]`` still belongs to input step ``t``.

    Returns:
        ``(output (T, N, H), h_n)``, and ``c_n`` after them for LSTM.
    """
    fn = _LAYERS[mode]
    if b_ih is not None and not fn.mode.split_hh:
        # Both biases add to the same pre-activation: fold them into the projection's bias.
        xw = linear(input, w_ih, b_ih + b_hh)
        b_hh = None
    else:
        xw = linear(input, w_ih, b_ih)
    return fn.apply(xw, hx, cx, w_hh, b_hh, reverse)
