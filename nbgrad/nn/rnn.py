"""Recurrent layers ``RNN LSTM GRU`` and cells ``RNNCell LSTMCell GRUCell``, with torch's API.

Parameter names, shapes, initialisation (every weight and bias from
U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))), return values and state-dict
keys are torch's, so a torch state dict loads one to one. Each direction of
each layer runs as one graph node (see :mod:`nbgrad.ops.recurrent`).
``PackedSequence`` inputs are not supported: pad the batch instead.
"""

from __future__ import annotations

import math
import numbers
import warnings

from nbgrad import creation
from nbgrad.nn import init
from nbgrad.nn.linear import empty_parameter
from nbgrad.nn.module import Module
from nbgrad.ops import recurrent
from nbgrad.ops.shape import cat, stack
from nbgrad.tensor import Tensor

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase", "RNNCell", "RNNCellBase"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _init_uniform(module: Module) -> None:
    """torch's recurrent init: every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
    bound = 1.0 / math.sqrt(module.hidden_size) if module.hidden_size > 0 else 0
    for weight in module.parameters():
        init.uniform_(weight, -bound, bound)


def _nonlinearity_mode(layer: str, nonlinearity) -> str:
    if nonlinearity == "tanh":
        return "RNN_TANH"
    if nonlinearity == "relu":
        return "RNN_RELU"
    raise ValueError(f"{layer}: unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")


class RNNBase(Module):
    """The shared machinery of :class:`RNN`, :class:`LSTM` and :class:`GRU` (torch's ``RNNBase``).

    ``PackedSequence`` inputs are not supported; ``proj_size > 0`` (LSTM with
    projections) raises ``NotImplementedError``.
    """

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ):
        super().__init__()
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        _check_config(name, input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size)
        if proj_size:
            raise NotImplementedError(
                f"{name}: proj_size={proj_size} (LSTM with projections) is not supported by nbgrad; use proj_size=0"
            )
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        gate_size = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for direction in range(directions):
                suffix = "_reverse" if direction == 1 else ""
                shapes = {"weight_ih": (gate_size, layer_input), "weight_hh": (gate_size, hidden_size)}
                if bias:
                    shapes.update(bias_ih=(gate_size,), bias_hh=(gate_size,))
                names = []
                for kind, shape in shapes.items():
                    names.append(f"{kind}_l{layer}{suffix}")
                    setattr(self, names[-1], empty_parameter(*shape, device=device, dtype=dtype))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _init_uniform(self)

    @property
    def all_weights(self) -> list:
        """The parameters, one list ``[w_ih, w_hh, b_ih, b_hh]`` per layer and direction."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """Does nothing (torch packs cuDNN weights here); kept so torch code runs unchanged."""

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    # ------------------------------------------------------------------ forward
    def _name(self) -> str:
        return type(self).__name__

    def _prepare(self, input: Tensor, hx):
        """Checks, batching and default states: ``(input (T, N, H_in), [h0, c0 or None], batched)``."""
        name = self._name()
        if isinstance(input, tuple) or type(input).__name__ == "PackedSequence":
            raise TypeError(f"{name}: PackedSequence inputs are not supported by nbgrad; pass a padded Tensor")
        if input.ndim not in (2, 3):
            raise ValueError(
                f"{name}: Expected input to be 2D or 3D, got {input.ndim}D tensor instead (shape {tuple(input.shape)})"
            )
        weight = getattr(self, self._flat_weights_names[0])
        if input.dtype != weight.dtype:
            raise ValueError(
                f"{name}: input dtype ({input.dtype}) does not match weight dtype ({weight.dtype}). Convert input: "
                f"input.to({weight.dtype}), or convert model: model.to({input.dtype})"
            )
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"{name}: input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                f"{input.shape[-1]} (input shape {tuple(input.shape)})"
            )
        batched = input.ndim == 3
        states = _state_list(name, self.mode, hx)
        if not batched:
            input = input.unsqueeze(0 if self.batch_first else 1)
        for state in states:
            if state is not None and state.ndim != (3 if batched else 2):
                got = ", ".join(f"{s.ndim}-D" for s in states if s is not None)
                raise RuntimeError(
                    f"{name}: for {'batched 3-D' if batched else 'unbatched 2-D'} input, hx should also be "
                    f"{3 if batched else 2}-D but got {got} tensor (input shape {tuple(input.shape)})"
                )
        if not batched:
            states = [None if s is None else s.unsqueeze(1) for s in states]
        if self.batch_first:
            input = input.transpose(0, 1)
        if input.shape[0] == 0:
            raise RuntimeError(f"{name}: the input sequence is empty (input shape {tuple(input.shape)})")
        expected = ((2 if self.bidirectional else 1) * self.num_layers, input.shape[1], self.hidden_size)
        for i, state in enumerate(states):
            if state is None:
                states[i] = creation.zeros(*expected, dtype=input.dtype, device=input.device)
            elif tuple(state.shape) != expected:
                which = f"hidden[{i}]" if self.mode == "LSTM" else "hidden"
                raise RuntimeError(f"{name}: Expected {which} size {expected}, got {list(state.shape)}")
        return input, states, batched

    def forward(self, input: Tensor, hx=None):
        x, states, batched = self._prepare(input, hx)
        h0, c0 = states if self.mode == "LSTM" else (states[0], None)
        directions = 2 if self.bidirectional else 1
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                weights = [getattr(self, name) for name in self._all_weights[k]]
                w_ih, w_hh, b_ih, b_hh = weights if self.bias else (*weights, None, None)
                result = recurrent.recurrence(
                    self.mode, x, h0[k], None if c0 is None else c0[k], w_ih, w_hh, b_ih, b_hh, reverse=direction == 1
                )
                outputs.append(result[0])
                h_n.append(result[1])
                if c0 is not None:
                    c_n.append(result[2])
            x = outputs[0] if directions == 1 else cat(outputs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                from nbgrad.ops.dropout import dropout

                x = dropout(x, self.dropout, True)
        output = x.transpose(0, 1) if self.batch_first else x
        h_n = stack(h_n)
        c_n = stack(c_n) if c0 is not None else None
        if not batched:
            output = output.squeeze(1)
            h_n = h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        return (output, (h_n, c_n)) if self.mode == "LSTM" else (output, h_n)


def _state_list(name: str, mode: str, hx) -> list:
    """The initial states as a list: ``[h0]``, or ``[h0, c0]`` for LSTM (``None`` where not given)."""
    if mode != "LSTM":
        if hx is not None and not isinstance(hx, Tensor):
            raise TypeError(f"{name}: hx must be a Tensor or None, got {type(hx).__name__}")
        return [hx]
    if hx is None:
        return [None, None]
    if not isinstance(hx, (tuple, list)) or len(hx) != 2 or not all(isinstance(s, Tensor) for s in hx):
        raise TypeError(f"{name}: hx must be a pair (h_0, c_0) of Tensors or None, got {type(hx).__name__}")
    return list(hx)


def _check_config(name, input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size) -> None:
    """torch's constructor checks, with the layer's name in front."""
    if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
        raise ValueError(
            f"{name}: dropout should be a number in range [0, 1] representing the probability of an element being "
            f"zeroed, got {dropout!r}"
        )
    if dropout > 0 and num_layers == 1:
        warnings.warn(
            "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
            f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
            stacklevel=4,
        )
    for arg, value, kind in (
        ("bias", bias, bool),
        ("batch_first", batch_first, bool),
        ("input_size", input_size, int),
        ("hidden_size", hidden_size, int),
        ("num_layers", num_layers, int),
    ):
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise TypeError(f"{name}: {arg} should be of type {kind.__name__}, got: {type(value).__name__}")
    for arg, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
        if value <= 0:
            raise ValueError(f"{name}: {arg} must be greater than zero, got {value}")
    if proj_size < 0:
        raise ValueError(f"{name}: proj_size should be a positive integer or zero to disable projections")
    if proj_size >= hidden_size:
        raise ValueError(f"{name}: proj_size has to be smaller than hidden_size (got {proj_size} >= {hidden_size})")


class RNN(RNNBase):
    """A multi-layer Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or ReLU).

    Args:
        input_size: features of the input ``x``.
        hidden_size: features of the hidden state ``h``.
        num_layers: stacked recurrent layers (default 1).
        nonlinearity: ``'tanh'`` (default) or ``'relu'``.
        bias: learn ``b_ih`` and ``b_hh`` (default ``True``).
        batch_first: inputs and outputs are ``(N, L, H)`` instead of ``(L, N, H)``.
        dropout: dropout probability on the outputs of every layer but the last (training mode only).
        bidirectional: also run each layer backwards in time and concatenate both outputs.
        device, dtype: where and in which dtype to create the parameters.

    Shape:
        - input: ``(L, N, H_in)``, ``(N, L, H_in)`` with ``batch_first``, or unbatched ``(L, H_in)``.
        - h_0 (optional, zeros by default): ``(D * num_layers, N, H_out)`` (unbatched: no N), D = 2 if
          bidirectional else 1.
        - output: ``(L, N, D * H_out)`` (or batch first / unbatched as the input); h_n: like h_0.

    Attributes:
        weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}: layer k's parameters
        (``_reverse`` suffix for the backward direction); all from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).

    ``PackedSequence`` inputs are not supported.

    Example::

        >>> import nbgrad as nb
        >>> rnn = nb.nn.RNN(10, 20, 2)
        >>> output, h_n = rnn(nb.randn(5, 3, 10), nb.randn(2, 3, 20))
        >>> output.shape, h_n.shape
        (nbgrad.Size([5, 3, 20]), nbgrad.Size([2, 3, 20]))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ):
        self.nonlinearity = nonlinearity
        super().__init__(
            _nonlinearity_mode("RNN", nonlinearity),
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device=device,
            dtype=dtype,
        )


class LSTM(RNNBase):
    """A multi-layer long short-term memory RNN (torch's gate order i, f, g, o).

    .. math::
        i_t = \\sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}),\\ f_t, o_t \\text{ likewise},\\
        g_t = \\tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg})

        c_t = f_t c_{t-1} + i_t g_t,\\quad h_t = o_t \\tanh(c_t)

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device, dtype: as
            :class:`RNN`.
        proj_size: must be 0 (projections raise ``NotImplementedError``).

    Shape:
        - input: as :class:`RNN`. ``hx``: optional pair ``(h_0, c_0)``, each ``(D * num_layers, N, H)``.
        - returns ``output, (h_n, c_n)`` with ``output`` ``(L, N, D * H)``.

    Attributes:
        weight_ih_l{k}: ``(4*hidden_size, input)``; weight_hh_l{k}: ``(4*hidden_size, hidden_size)``;
        bias_ih_l{k}, bias_hh_l{k}: ``(4*hidden_size,)``.

    ``PackedSequence`` inputs are not supported.

    Example::

        >>> import nbgrad as nb
        >>> lstm = nb.nn.LSTM(10, 20, 2)
        >>> output, (h_n, c_n) = lstm(nb.randn(5, 3, 10))
        >>> output.shape, h_n.shape, c_n.shape
        (nbgrad.Size([5, 3, 20]), nbgrad.Size([2, 3, 20]), nbgrad.Size([2, 3, 20]))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ):
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device=device,
            dtype=dtype,
        )


class GRU(RNNBase):
    """A multi-layer gated recurrent unit RNN (torch's gate order r, z, n).

    .. math::
        r_t = \\sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}),\\quad z_t \\text{ likewise}

        n_t = \\tanh(W_{in} x_t + b_{in} + r_t (W_{hn} h_{t-1} + b_{hn})),\\quad h_t = (1 - z_t) n_t + z_t h_{t-1}

    Args, shapes and attributes as :class:`RNN`, with ``3*hidden_size`` gate rows.

    ``PackedSequence`` inputs are not supported.

    Example::

        >>> import nbgrad as nb
        >>> gru = nb.nn.GRU(10, 20, bidirectional=True, batch_first=True)
        >>> output, h_n = gru(nb.randn(3, 5, 10))
        >>> output.shape, h_n.shape
        (nbgrad.Size([3, 5, 40]), nbgrad.Size([2, 3, 20]))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ):
        super().__init__(
            "GRU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device=device,
            dtype=dtype,
        )


# ---------------------------------------------------------------------------
# cells


class RNNCellBase(Module):
    """Parameters, init and repr shared by the cells: ``weight_ih (G*H, H_in)``, ``weight_hh (G*H, H)``, biases."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = empty_parameter(num_chunks * hidden_size, input_size, device=device, dtype=dtype)
        self.weight_hh = empty_parameter(num_chunks * hidden_size, hidden_size, device=device, dtype=dtype)
        if bias:
            self.bias_ih = empty_parameter(num_chunks * hidden_size, device=device, dtype=dtype)
            self.bias_hh = empty_parameter(num_chunks * hidden_size, device=device, dtype=dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _init_uniform(self)

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def _batched(self, input: Tensor, states: list) -> "tuple[Tensor, list, bool]":
        """Check dims and sizes; add the batch dim to unbatched input and states; zeros for missing states."""
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise ValueError(
                f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead (shape {tuple(input.shape)})"
            )
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"{name}: input has {input.shape[-1]} features in its last dimension (shape {tuple(input.shape)}) "
                f"but input_size={self.input_size}"
            )
        for i, state in enumerate(states):
            if state is not None and state.ndim not in (1, 2):
                which = f"hx[{i}]" if len(states) > 1 else "hidden"
                raise ValueError(
                    f"{name}: Expected {which} to be 1D or 2D, got {state.ndim}D instead (shape {tuple(state.shape)})"
                )
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
            states = [None if s is None else s.unsqueeze(0) for s in states]
        expected = (input.shape[0], self.hidden_size)
        for i, state in enumerate(states):
            if state is None:
                states[i] = creation.zeros(*expected, dtype=input.dtype, device=input.device)
            elif tuple(state.shape) != expected:
                which = f"hx[{i}]" if len(states) > 1 else "hx"
                raise RuntimeError(
                    f"{name}: expected {which} of shape {expected} for input of shape {tuple(input.shape)}, got "
                    f"{tuple(state.shape)}"
                )
        return input, states, batched


class RNNCell(RNNCellBase):
    """An Elman RNN cell: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or ReLU).

    Args:
        input_size: features of the input ``x``.
        hidden_size: features of the hidden state ``h``.
        bias: learn ``bias_ih`` and ``bias_hh`` (default ``True``).
        nonlinearity: ``'tanh'`` (default) or ``'relu'``.
        device, dtype: where and in which dtype to create the parameters.

    Shape:
        - input: ``(N, H_in)`` or ``(H_in,)``; hidden (optional, zeros by default): ``(N, H)`` or ``(H,)``.
        - output: ``(N, H)`` or ``(H,)``.

    Attributes:
        weight_ih: ``(hidden_size, input_size)``; weight_hh: ``(hidden_size, hidden_size)``;
        bias_ih, bias_hh: ``(hidden_size,)``; all from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).

    Example::

        >>> import nbgrad as nb
        >>> cell = nb.nn.RNNCell(10, 20)
        >>> h = nb.zeros(3, 20)
        >>> for x in nb.randn(6, 3, 10):
        ...     h = cell(x, h)
        >>> h.shape
        nbgrad.Size([3, 20])
    """

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh", device=None, dtype=None
    ):
        # Checked here as well as in forward (torch checks only there): a typo fails where it is made.
        _nonlinearity_mode("RNNCell", nonlinearity)
        super().__init__(input_size, hidden_size, bias, 1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: "Tensor | None" = None) -> Tensor:
        tanh = _nonlinearity_mode("RNNCell", self.nonlinearity) == "RNN_TANH"
        fn = recurrent.rnn_tanh_cell if tanh else recurrent.rnn_relu_cell
        input, (hx,), batched = self._batched(input, [hx])
        out = fn(input, hx, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """A long short-term memory cell (torch's gate order i, f, g, o); one graph node per step.

    Args:
        input_size, hidden_size, bias, device, dtype: as :class:`RNNCell`.

    Shape:
        - input: ``(N, H_in)`` or ``(H_in,)``; hx (optional, zeros by default): pair ``(h, c)`` of ``(N, H)``.
        - returns ``(h', c')``, each ``(N, H)`` (or ``(H,)`` unbatched).

    Attributes:
        weight_ih: ``(4*hidden_size, input_size)``; weight_hh: ``(4*hidden_size, hidden_size)``;
        bias_ih, bias_hh: ``(4*hidden_size,)``.

    Example::

        >>> import nbgrad as nb
        >>> cell = nb.nn.LSTMCell(10, 20)
        >>> h, c = cell(nb.randn(3, 10))
        >>> h.shape, c.shape
        (nbgrad.Size([3, 20]), nbgrad.Size([3, 20]))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx=None) -> tuple:
        states = _state_list("LSTMCell", "LSTM", hx)
        input, (h, c), batched = self._batched(input, states)
        h, c = recurrent.lstm_cell(input, (h, c), self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """A gated recurrent unit cell (torch's gate order r, z, n); one graph node per step.

    Args, shapes as :class:`RNNCell`; weights have ``3*hidden_size`` rows.

    Example::

        >>> import nbgrad as nb
        >>> cell = nb.nn.GRUCell(10, 20)
        >>> cell(nb.randn(3, 10)).shape
        nbgrad.Size([3, 20])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: "Tensor | None" = None) -> Tensor:
        input, (hx,), batched = self._batched(input, [hx])
        out = recurrent.gru_cell(input, hx, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return out if batched else out.squeeze(0)
