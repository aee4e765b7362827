"""``MultiheadAttention``, with torch's parameters, initialisation, masks and return values."""

from __future__ import annotations

from nbgrad.nn import init
from nbgrad.nn.linear import Linear, empty_parameter
from nbgrad.nn.module import Module
from nbgrad.ops.attention import multi_head_attention_forward
from nbgrad.tensor import Tensor

__all__ = ["MultiheadAttention"]


class MultiheadAttention(Module):
    r"""Multi-head attention: :math:`\mathrm{Concat}(head_1, \dots, head_h) W^O` with
    :math:`head_i = \mathrm{softmax}(Q W_i^Q (K W_i^K)^T / \sqrt{d}) V W_i^V`.

    Args:
        embed_dim: the model dimension E (split over the heads).
        num_heads: the number of heads H; must divide ``embed_dim``.
        dropout: dropout probability on the attention weights (in training mode).
        bias: learn input and output projection biases.
        add_bias_kv: learn a bias key and value appended to the keys and values.
        add_zero_attn: append a zero key and value.
        kdim, vdim: feature sizes of key and value (default ``embed_dim``);
            when they differ from it, the projections are the separate
            ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight``.
        batch_first: inputs and outputs are ``(N, L, E)`` instead of ``(L, N, E)``.
        device, dtype: where and in which dtype to create the parameters.

    Shape:
        - query: ``(L, N, E)`` (``(N, L, E)`` if batch_first) or unbatched ``(L, E)``.
        - key: ``(S, N, kdim)``; value: ``(S, N, vdim)`` (batch first likewise) or unbatched.
        - key_padding_mask: ``(N, S)`` or ``(S,)``; True (or -inf) marks keys to ignore.
        - attn_mask: ``(L, S)`` or ``(N*H, L, S)``; True marks pairs that may not
          attend; a float mask is added to the scores.
        - Output: ``(attn_output, attn_weights)``: ``(L, N, E)`` (batch first
          likewise) and, if ``need_weights``, ``(N, L, S)`` averaged over the
          heads or ``(N, H, L, S)`` with ``average_attn_weights=False``; else ``None``.

    Attributes:
        in_proj_weight: ``(3E, E)``, Xavier-uniform; in_proj_bias: ``(3E,)``, zeros.
        out_proj: a :class:`Linear` ``(E, E)`` whose bias starts at zero.

    Example::

        >>> import nbgrad as nb
        >>> attn = nb.nn.MultiheadAttention(16, 4, batch_first=True)
        >>> x = nb.randn(2, 5, 16)
        >>> out, weights = attn(x, x, x)
        >>> out.shape, weights.shape
        (nbgrad.Size([2, 5, 16]), nbgrad.Size([2, 5, 5]))
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: "int | None" = None,
        vdim: "int | None" = None,
        batch_first: bool = False,
        device=None,
        dtype=None,
    ):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"MultiheadAttention: embed_dim and num_heads must be greater than 0, got "
                f"embed_dim={embed_dim} and num_heads={num_heads}"
            )
        if embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim must be divisible by num_heads, got embed_dim="
                f"{embed_dim} and num_heads={num_heads}"
            )
        factory = {"device": device, "dtype": dtype}
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self._qkv_same_embed_dim:
            self.in_proj_weight = empty_parameter(3 * embed_dim, embed_dim, **factory)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = empty_parameter(embed_dim, embed_dim, **factory)
            self.k_proj_weight = empty_parameter(embed_dim, self.kdim, **factory)
            self.v_proj_weight = empty_parameter(embed_dim, self.vdim, **factory)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = empty_parameter(3 * embed_dim, **factory)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, **factory)
        if add_bias_kv:
            self.bias_k = empty_parameter(1, 1, embed_dim, **factory)
            self.bias_v = empty_parameter(1, 1, embed_dim, **factory)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        # torch's scheme; out_proj.weight keeps Linear's own initialisation.
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: "Tensor | None" = None,
        need_weights: bool = True,
        attn_mask: "Tensor | None" = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple:
        """``(attn_output, attn_weights or None)``; see the class docstring for shapes and masks."""
        separate = not self._qkv_same_embed_dim
        return multi_head_attention_forward(
            query,
            key,
            value,
            self.embed_dim,
            self.num_heads,
            self.in_proj_weight,
            self.in_proj_bias,
            self.bias_k,
            self.bias_v,
            self.add_zero_attn,
            self.dropout,
            self.out_proj.weight,
            self.out_proj.bias,
            self.training,
            key_padding_mask,
            need_weights,
            attn_mask,
            separate,
            self.q_proj_weight,
            self.k_proj_weight,
            self.v_proj_weight,
            None,
            None,
            average_attn_weights,
            is_causal,
            batch_first=self.batch_first,
        )

    def extra_repr(self) -> str:
        extra = f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"
        if self.dropout:
            extra += f", dropout={self.dropout}"
        if self.kdim != self.embed_dim or self.vdim != self.embed_dim:
            extra += f", kdim={self.kdim}, vdim={self.vdim}"
        return extra + (", batch_first=True" if self.batch_first else "")
