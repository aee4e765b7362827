"""Transformer layers and stacks with torch's submodule names, so torch state dicts load one to one.

``TransformerEncoderLayer TransformerEncoder TransformerDecoderLayer TransformerDecoder Transformer``.
"""

from __future__ import annotations

import copy

import numpy as np

from nbgrad import backend, creation
from nbgrad.nn import init
from nbgrad.nn.attention import MultiheadAttention
from nbgrad.nn.containers import ModuleList
from nbgrad.nn.dropout import Dropout
from nbgrad.nn.linear import Linear
from nbgrad.nn.module import Module
from nbgrad.nn.normalization import LayerNorm
from nbgrad.ops.activation import gelu
from nbgrad.ops.elementwise import relu
from nbgrad.tensor import Tensor

__all__ = [
    "Transformer",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
]


def _get_activation_fn(activation):
    """``"relu"``/``"gelu"`` as functions; a callable (function or Module) is used as it is."""
    if isinstance(activation, str):
        if activation == "relu":
            return relu
        if activation == "gelu":
            return gelu
        raise RuntimeError(f"activation should be relu/gelu, not {activation}")
    if not callable(activation):
        raise TypeError(f"activation must be 'relu', 'gelu' or a callable, got {type(activation).__name__}")
    return activation


def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
    """The ``(sz, sz)`` causal mask: ``-inf`` above the diagonal, ``0`` elsewhere (float, added to scores)."""
    dtype = backend.get_default_dtype() if dtype is None else backend.to_dtype(dtype)
    return creation.tensor(np.triu(np.full((sz, sz), -np.inf, dtype=dtype), 1), device=device)


def _detect_is_causal_mask(mask, is_causal, size: int) -> bool:
    """torch's rule: an explicit ``is_causal`` wins; else a float mask equal to the causal mask counts as causal."""
    if is_causal is not None:
        return bool(is_causal)
    if mask is None or tuple(mask.shape) != (size, size):
        return False
    causal = generate_square_subsequent_mask(
        size, device=mask.device, dtype=mask.dtype if mask.dtype.kind == "f" else None
    )
    if mask.dtype == backend.bool_:
        return bool((mask._data == (causal._data != 0)).all())
    return bool((mask._data == causal._data).all())


def _seq_len(x: Tensor, batch_first: bool) -> int:
    return x.shape[0] if x.ndim == 2 or not batch_first else x.shape[1]


class _Block(Module):
    """What encoder and decoder layers share: the feed-forward block, norms, dropouts and activation.

    Submodules are created in torch's order, so that state-dict keys come out
    in the same order as torch's.
    """

    # Decoder layers add attention over the encoder's output (and a third norm and dropout).
    _cross_attention = False

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation=relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **factory
        )
        if self._cross_attention:
            self.multihead_attn = MultiheadAttention(
                d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **factory
            )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **factory)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **factory)
        self.norm_first = norm_first
        n_norms = 3 if self._cross_attention else 2
        for i in range(1, n_norms + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory))
        for i in range(1, n_norms + 1):
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.activation = _get_activation_fn(activation)

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal: bool):
        x = self.self_attn(
            x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, is_causal=is_causal, need_weights=False
        )[0]
        return self.dropout1(x)

    def _ff_block(self, x, dropout: Module):
        return dropout(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoderLayer(_Block):
    """Self-attention then a feed-forward network, each with a residual connection and LayerNorm.

    Args:
        d_model: the model dimension.
        nhead: the number of attention heads.
        dim_feedforward: the hidden size of the feed-forward network.
        dropout: dropout probability (attention weights, feed-forward, residual branches).
        activation: ``"relu"``, ``"gelu"`` or a callable.
        layer_norm_eps: LayerNorm's epsilon.
        batch_first: inputs are ``(N, S, E)`` instead of ``(S, N, E)``.
        norm_first: LayerNorm before each block (pre-norm) instead of after the residual sum.
        bias: learn biases in the linear layers and LayerNorms.
        device, dtype: where and in which dtype to create the parameters.

    Shape:
        - src: ``(S, N, E)`` (``(N, S, E)`` if batch_first) or unbatched ``(S, E)``.
        - src_mask: ``(S, S)`` or ``(N*nhead, S, S)``; src_key_padding_mask: ``(N, S)``.
        - Output: the shape of ``src``.

    Example::

        >>> import nbgrad as nb
        >>> layer = nb.nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32, batch_first=True)
        >>> layer(nb.randn(2, 5, 16)).shape
        nbgrad.Size([2, 5, 16])
    """

    def forward(
        self,
        src: Tensor,
        src_mask: "Tensor | None" = None,
        src_key_padding_mask: "Tensor | None" = None,
        is_causal: bool = False,
    ) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x), self.dropout2)
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x, self.dropout2))


class TransformerDecoderLayer(_Block):
    """Self-attention, attention over the encoder's output (``memory``), then a feed-forward network.

    Args:
        d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
        batch_first, norm_first, bias, device, dtype: as for
        :class:`TransformerEncoderLayer`.

    Shape:
        - tgt: ``(T, N, E)`` (``(N, T, E)`` if batch_first); memory: ``(S, N, E)``.
        - tgt_mask: ``(T, T)``; memory_mask: ``(T, S)``; key padding masks ``(N, T)`` / ``(N, S)``.
        - Output: the shape of ``tgt``.

    Example::

        >>> import nbgrad as nb
        >>> layer = nb.nn.TransformerDecoderLayer(d_model=16, nhead=4, dim_feedforward=32)
        >>> layer(nb.randn(5, 2, 16), nb.randn(7, 2, 16)).shape
        nbgrad.Size([5, 2, 16])
    """

    _cross_attention = True

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask=None,
        memory_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            return x + self._ff_block(self.norm3(x), self.dropout3)
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
        return self.norm3(x + self._ff_block(x, self.dropout3))

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal: bool):
        x = self.multihead_attn(
            x, mem, mem, attn_mask=attn_mask, key_padding_mask=key_padding_mask, is_causal=is_causal, need_weights=False
        )[0]
        return self.dropout2(x)


def _clones(layer: Module, n: int) -> ModuleList:
    """``n`` independent deep copies of ``layer`` (its parameters are copied, not shared), as torch does."""
    if not isinstance(layer, Module):
        raise TypeError(f"expected a layer Module to clone, got {type(layer).__name__}")
    if n < 0:
        raise ValueError(f"num_layers must be non-negative, got {n}")
    return ModuleList([copy.deepcopy(layer) for _ in range(n)])


class TransformerEncoder(Module):
    """A stack of ``num_layers`` copies of ``encoder_layer`` (then an optional ``norm``).

    Args:
        encoder_layer: a :class:`TransformerEncoderLayer`; it is deep-copied, so the layers do not share weights.
        num_layers: how many layers.
        norm: a final normalisation module, or None.
        enable_nested_tensor, mask_check: accepted for torch compatibility (nbgrad has no nested tensors).

    Example::

        >>> import nbgrad as nb
        >>> layer = nb.nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32)
        >>> encoder = nb.nn.TransformerEncoder(layer, num_layers=2)
        >>> encoder(nb.randn(5, 2, 16)).shape
        nbgrad.Size([5, 2, 16])
    """

    def __init__(
        self,
        encoder_layer: Module,
        num_layers: int,
        norm: "Module | None" = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ):
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check

    def forward(
        self,
        src: Tensor,
        mask: "Tensor | None" = None,
        src_key_padding_mask: "Tensor | None" = None,
        is_causal: "bool | None" = None,
    ) -> Tensor:
        batch_first = bool(self.layers) and self.layers[0].self_attn.batch_first
        is_causal = _detect_is_causal_mask(mask, is_causal, _seq_len(src, batch_first))
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, is_causal=is_causal, src_key_padding_mask=src_key_padding_mask)
        return output if self.norm is None else self.norm(output)


class TransformerDecoder(Module):
    """A stack of ``num_layers`` copies of ``decoder_layer`` (then an optional ``norm``).

    Args:
        decoder_layer: a :class:`TransformerDecoderLayer` (deep-copied).
        num_layers: how many layers.
        norm: a final normalisation module, or None.

    Example::

        >>> import nbgrad as nb
        >>> layer = nb.nn.TransformerDecoderLayer(d_model=16, nhead=4, dim_feedforward=32)
        >>> decoder = nb.nn.TransformerDecoder(layer, num_layers=2)
        >>> decoder(nb.randn(5, 2, 16), nb.randn(7, 2, 16)).shape
        nbgrad.Size([5, 2, 16])
    """

    def __init__(self, decoder_layer: Module, num_layers: int, norm: "Module | None" = None):
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask=None,
        memory_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        tgt_is_causal: "bool | None" = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        batch_first = bool(self.layers) and self.layers[0].self_attn.batch_first
        tgt_is_causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal, _seq_len(tgt, batch_first))
        output = tgt
        for layer in self.layers:
            output = layer(
                output,
                memory,
                tgt_mask=tgt_mask,
                memory_mask=memory_mask,
                tgt_key_padding_mask=tgt_key_padding_mask,
                memory_key_padding_mask=memory_key_padding_mask,
                tgt_is_causal=tgt_is_causal,
                memory_is_causal=memory_is_causal,
            )
        return output if self.norm is None else self.norm(output)


class Transformer(Module):
    """The encoder-decoder Transformer of "Attention Is All You Need" (torch's ``nn.Transformer``).

    Args:
        d_model, nhead: model dimension and number of heads.
        num_encoder_layers, num_decoder_layers: depth of the two stacks.
        dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first, bias:
            as for :class:`TransformerEncoderLayer`.
        custom_encoder, custom_decoder: modules used instead of the default stacks.
        device, dtype: where and in which dtype to create the parameters.

    Every parameter with more than one dimension is re-initialised Xavier-uniform, as in torch.

    Shape:
        - src: ``(S, N, E)``; tgt: ``(T, N, E)`` (batch first likewise); output: ``(T, N, E)``.

    Example::

        >>> import nbgrad as nb
        >>> model = nb.nn.Transformer(d_model=16, nhead=4, num_encoder_layers=1, num_decoder_layers=1,
        ...                           dim_feedforward=32)
        >>> model(nb.randn(7, 2, 16), nb.randn(5, 2, 16)).shape
        nbgrad.Size([5, 2, 16])
    """

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation=relu,
        custom_encoder: "Module | None" = None,
        custom_decoder: "Module | None" = None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        layer_args = (
            d_model,
            nhead,
            dim_feedforward,
            dropout,
            activation,
            layer_norm_eps,
            batch_first,
            norm_first,
            bias,
        )
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(
                TransformerEncoderLayer(*layer_args, **factory),
                num_encoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory),
            )
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(
                TransformerDecoderLayer(*layer_args, **factory),
                num_decoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory),
            )
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    def forward(
        self,
        src: Tensor,
        tgt: Tensor,
        src_mask=None,
        tgt_mask=None,
        memory_mask=None,
        src_key_padding_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        src_is_causal: "bool | None" = None,
        tgt_is_causal: "bool | None" = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        batched = src.ndim == 3
        batch_dim = 0 if self.batch_first else 1
        if batched and src.shape[batch_dim] != tgt.shape[batch_dim]:
            raise RuntimeError(
                f"Transformer: the batch sizes of src {tuple(src.shape)} and tgt {tuple(tgt.shape)} "
                f"(dim {batch_dim}) must be equal"
            )
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError(
                f"Transformer: the feature number of src {tuple(src.shape)} and tgt "
                f"{tuple(tgt.shape)} must be equal to d_model={self.d_model}"
            )
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(
            tgt,
            memory,
            tgt_mask=tgt_mask,
            memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=tgt_is_causal,
            memory_is_causal=memory_is_causal,
        )

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
        """The ``(sz, sz)`` causal float mask: ``-inf`` above the diagonal, ``0`` elsewhere.

        Example::

            >>> import nbgrad as nb
            >>> nb.nn.Transformer.generate_square_subsequent_mask(3)
            tensor([[  0., -inf, -inf],
                    [  0.,   0., -inf],
                    [  0.,   0.,   0.]])
        """
        return generate_square_subsequent_mask(sz, device=device, dtype=dtype)
