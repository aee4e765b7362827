"""Attention: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``.

``softmax(Q K^T * scale + mask) V`` is one graph node with a hand-written
backward: as a chain of matmul/add/softmax/matmul nodes it would walk the graph
five times and keep every intermediate alive; fused, it keeps only the
attention probabilities (and the dropout mask) for backward, which needs them
anyway. Under ``create_graph=True`` the same backward formula runs on Tensors
(the probabilities are recomputed from Q and K by differentiable ops), so
higher-order gradients are exact.

Fully masked rows (every key masked out for a query) follow torch: the fused
attention gives zero probabilities there (so a zero output and zero gradients,
torch's "safe softmax" of ``scaled_dot_product_attention``), while
``multi_head_attention_forward`` with ``need_weights=True`` gives NaN, as
torch's explicit softmax does.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from nbgrad import backend, random
from nbgrad.autograd.function import Function
from nbgrad.autograd.grad_mode import STATE
from nbgrad.ops import math_ns
from nbgrad.ops._util import broadcast_shapes, check_same_device
from nbgrad.ops.activation import softmax
from nbgrad.ops.broadcast import sum_to, sum_to_array
from nbgrad.ops.linear import linear
from nbgrad.ops.shape import cat, pad
from nbgrad.tensor import Tensor

__all__ = ["multi_head_attention_forward", "scaled_dot_product_attention"]

# The namespaces the backward formula runs in (see nbgrad.ops.math_ns): arrays in an
# ordinary backward, Tensors under create_graph.
_ARRAYS = SimpleNamespace(sum_to=sum_to_array)
_TENSORS = SimpleNamespace(sum_to=sum_to)


# ---------------------------------------------------------------------------
# the fused kernel


def _probabilities(scores, safe: bool):
    """Row softmax of ``scores`` in place. With ``safe``, rows that are all -inf give zeros instead of NaN."""
    row_max = scores.max(axis=-1, keepdims=True)
    if safe:
        # A fully masked row has max -inf, and -inf - -inf is NaN; shifting it by the most
        # negative finite number instead makes every exp 0 (and rows with a finite max keep it).
        np.maximum(row_max, np.finfo(scores.dtype).min, out=row_max)
    if safe:
        scores -= row_max
    else:
        with np.errstate(invalid="ignore"):  # NaN rows on purpose, as torch's plain softmax gives
            scores -= row_max
    np.exp(scores, out=scores)
    total = scores.sum(axis=-1, keepdims=True)
    if safe:
        # Rows with a finite max sum to at least exp(0) = 1; only dead rows sum to 0: make them 0 / 1.
        np.maximum(total, 1, out=total)
    scores /= total
    return scores


def _forward_arrays(q, k, v, mask, scale: float, keep, safe: bool):
    """Output and probabilities (before dropout) of the attention, on raw arrays."""
    scores = (q * scale) @ k.swapaxes(-1, -2)
    if mask is not None:
        if np.broadcast_shapes(scores.shape, mask.shape) == scores.shape:
            scores += mask
        else:  # the mask adds batch dims of its own
            scores = scores + mask
    p = _probabilities(scores, safe)
    return (p if keep is None else p * keep) @ v, p


def _probabilities_tensor(q: Tensor, k: Tensor, mask, scale: float, safe: bool) -> Tensor:
    """The probabilities recomputed with differentiable Tensor ops (for create_graph)."""
    scores = (q * scale) @ k.swapaxes(-1, -2)
    if mask is not None:
        scores = scores + mask
    if not safe:
        return softmax(scores, -1)
    xp = backend.array_module(scores._data)
    dead = Tensor._wrap(xp.isneginf(scores._data.max(axis=-1, keepdims=True)))
    # Fill dead rows before the softmax so no NaN enters the graph, then zero them.
    return softmax(scores.masked_fill(dead, 0.0), -1).masked_fill(dead, 0.0)


def _attention_grads(g_out, g_weights, q, k, v, mask_shape, p, keep, scale: float, needs, m):
    """Gradients w.r.t. q, k, v and an additive mask; arrays or Tensors alike (namespace ``m``)."""
    need_q, need_k, need_v, need_mask = needs
    dropped = p if keep is None else p * keep
    gv = m.sum_to(dropped.swapaxes(-1, -2) @ g_out, v.shape) if need_v else None
    if not (need_q or need_k or need_mask):
        return None, None, gv, None
    dp = g_out @ v.swapaxes(-1, -2)
    if g_weights is not None:
        dp = dp + g_weights
    if keep is not None:
        dp = dp * keep
    # softmax backward: p * (dp - <dp, p>) along the keys.
    inner = dp * p
    ds = p * (dp - m.sum_to(inner, inner.shape[:-1] + (1,)))
    gmask = m.sum_to(ds, mask_shape) if need_mask else None
    gq = m.sum_to(ds @ k, q.shape) * scale if need_q else None
    gk = m.sum_to(ds.swapaxes(-1, -2) @ q, k.shape) * scale if need_k else None
    return gq, gk, gv, gmask


class Attention(Function):
    """``softmax(q @ k^T * scale + mask) * keep @ v`` (keep: the scaled dropout mask, or None)."""

    _builtin = True

    @staticmethod
    def forward(ctx, q, k, v, mask, scale, keep, safe):
        out, ctx.p = _forward_arrays(q._data, k._data, v._data, None if mask is None else mask._data, scale, keep, safe)
        return out

    @staticmethod
    def setup_context(ctx, inputs, output):
        q, k, v, mask, ctx.scale, ctx.keep, ctx.safe = inputs
        ctx.save_for_backward(q, k, v, mask)

    @staticmethod
    def backward(ctx, grad):
        return _backward(ctx, grad, None)


class AttentionWithWeights(Attention):
    """:class:`Attention` that also returns its (post-dropout) attention weights as a second output."""

    _n_outputs = 2

    @staticmethod
    def forward(ctx, q, k, v, mask, scale, keep, safe):
        out, p = _forward_arrays(q._data, k._data, v._data, None if mask is None else mask._data, scale, keep, safe)
        ctx.p = p
        return out, (p if keep is None else p * keep)

    @staticmethod
    def backward(ctx, grad, grad_weights):
        return _backward(ctx, grad, grad_weights)


def _backward(ctx, grad: Tensor, grad_weights) -> tuple:
    needs = ctx.needs_input_grad[:4]
    if STATE.enabled:  # create_graph: the formula on Tensors, the probabilities rebuilt differentiably
        q, k, v, mask = ctx.saved_tensors
        p = _probabilities_tensor(q, k, mask, ctx.scale, ctx.safe)
        keep = None if ctx.keep is None else Tensor._wrap(ctx.keep)
        mask_shape = None if mask is None else mask.shape
        grads = _attention_grads(grad, grad_weights, q, k, v, mask_shape, p, keep, ctx.scale, needs, _TENSORS)
    else:
        q, k, v, mask = ctx.saved_arrays
        g_weights = None if grad_weights is None else grad_weights._data
        mask_shape = None if mask is None else mask.shape
        grads = _attention_grads(grad._data, g_weights, q, k, v, mask_shape, ctx.p, ctx.keep, ctx.scale, needs, _ARRAYS)
        grads = tuple([None if g is None else math_ns._wrap(g) for g in grads])
    return (*grads, None, None, None)


def _attention(q: Tensor, k: Tensor, v: Tensor, mask, dropout_p: float, scale: float, safe: bool, need_weights: bool):
    """(output, weights or None) of the fused attention; inputs already checked, ``mask`` additive or None."""
    keep = None
    if dropout_p > 0:
        scores_shape = broadcast_shapes(
            "attention",
            q.shape[:-1] + (k.shape[-2],),
            k.shape[:-2] + (q.shape[-2], 1),
            () if mask is None else mask.shape,
        )
        keep = _dropout_keep(q, scores_shape, dropout_p)
    if need_weights:
        return AttentionWithWeights.apply(q, k, v, mask, scale, keep, safe)
    return Attention.apply(q, k, v, mask, scale, keep, safe), None


def _dropout_keep(like: Tensor, shape: tuple, p: float):
    """The dropout mask as an array of 0 and 1/(1-p), drawn from nbgrad's generator for ``like``'s device."""
    xp = backend.array_module(like._data)
    if p >= 1:
        return xp.zeros(shape, dtype=like.dtype)
    keep = random.generator(like.device).random(shape, dtype=np.float32) >= p
    return keep.astype(like.dtype) * like.dtype.type(1 / (1 - p))


def _additive_mask(mask: Tensor, dtype, masked_value: bool):
    """A bool mask as an additive float mask: -inf where the mask equals ``masked_value``, 0 elsewhere."""
    xp = backend.array_module(mask._data)
    neg_inf, zero = dtype.type(-np.inf), dtype.type(0)
    return Tensor._wrap(xp.where(mask._data, neg_inf, zero) if masked_value else xp.where(mask._data, zero, neg_inf))


def _causal_mask(like: Tensor, length: int, source_length: int) -> Tensor:
    """-inf above the diagonal of an (L, S) matrix (top-left aligned, as torch's ``is_causal``)."""
    xp = backend.array_module(like._data)
    allowed = xp.tri(length, source_length, dtype=bool)
    return Tensor._wrap(xp.where(allowed, like.dtype.type(0), like.dtype.type(-np.inf)))


# ---------------------------------------------------------------------------
# scaled_dot_product_attention


def _check_float_mask(mask: Tensor, dtype, name: str, op: str) -> Tensor:
    if mask.dtype.kind != "f":
        raise TypeError(f"{op}: only bool and floating types of {name} are supported, got {mask.dtype}")
    return mask if mask.dtype == dtype else mask.to(dtype)


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: "Tensor | None" = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: "float | None" = None,
) -> Tensor:
    r"""Attention :math:`\mathrm{softmax}(Q K^T \cdot \mathrm{scale} + M)\, V`, as one graph node.

    Args:
        query: ``(..., L, E)``.
        key: ``(..., S, E)``.
        value: ``(..., S, Ev)``. The leading dims of the three broadcast together.
        attn_mask: broadcastable to ``(..., L, S)``: a bool mask (``True``: the
            key takes part in the attention) or a float mask added to the scores.
        dropout_p: dropout probability applied to the attention weights (always,
            whatever the training mode: pass 0 in evaluation).
        is_causal: mask out keys after each query (lower-triangular, top-left
            aligned); do not combine with ``attn_mask``.
        scale: the factor on :math:`Q K^T`; default :math:`1/\sqrt{E}`.

    A query whose keys are all masked out gets zero weights (a zero output and
    zero gradients), as in torch.

    Shape:
        Output: ``(..., L, Ev)``.

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> q, k, v = nb.randn(2, 4, 5, 8), nb.randn(2, 4, 6, 8), nb.randn(2, 4, 6, 3)
        >>> F.scaled_dot_product_attention(q, k, v, is_causal=True).shape
        nbgrad.Size([2, 4, 5, 3])
    """
    op = "scaled_dot_product_attention"
    _check_qkv(query, key, value, op)
    L, S = query.shape[-2], key.shape[-2]
    scores_shape = _scores_shape(query, key, value, op)
    mask = None
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError(f"{op}: explicit attn_mask should not be set when is_causal=True")
        mask = _causal_mask(query, L, S)
    elif attn_mask is not None:
        if not isinstance(attn_mask, Tensor):
            raise TypeError(f"{op}: attn_mask must be a Tensor, got {type(attn_mask).__name__}")
        check_same_device(op, query, attn_mask)
        try:
            ok = np.broadcast_shapes(tuple(attn_mask.shape), scores_shape)[-2:] == (L, S)
        except ValueError:
            ok = False
        if not ok:
            raise RuntimeError(
                f"{op}: attn_mask of shape {tuple(attn_mask.shape)} cannot be broadcast to the attention scores of "
                f"shape (..., L, S) = {scores_shape}"
            )
        if attn_mask.dtype == backend.bool_:
            mask = _additive_mask(attn_mask, query.dtype, masked_value=False)
        else:
            mask = _check_float_mask(attn_mask, query.dtype, "attn_mask", op)
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{op}: dropout_p must be between 0 and 1, got {dropout_p}")
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    return _attention(query, key, value, mask, dropout_p, float(scale), True, False)[0]


def _check_qkv(query, key, value, op: str) -> None:
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
        if t.ndim < 2:
            raise RuntimeError(
                f"{op}: {name} must have at least 2 dimensions (..., seq, features), got shape {tuple(t.shape)}"
            )
    check_same_device(op, query, key, value)
    if not (query.dtype == key.dtype == value.dtype) or query.dtype.kind != "f":
        raise RuntimeError(
            f"{op}: expected query, key and value to have the same floating point dtype, got "
            f"{query.dtype}, {key.dtype} and {value.dtype}"
        )
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(
            f"{op}: query of shape {tuple(query.shape)} and key of shape {tuple(key.shape)} must have "
            "the same last dimension E"
        )
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(
            f"{op}: key of shape {tuple(key.shape)} and value of shape {tuple(value.shape)} must have "
            "the same sequence length S (dim -2)"
        )


def _scores_shape(query, key, value, op: str) -> tuple:
    """``(*batch, L, S)`` of the attention scores; the batch dims of q, k, v must broadcast."""
    try:
        batch = np.broadcast_shapes(tuple(query.shape[:-2]), tuple(key.shape[:-2]), tuple(value.shape[:-2]))
    except ValueError:
        raise RuntimeError(
            f"{op}: the batch dims of query {tuple(query.shape)}, key {tuple(key.shape)} and value "
            f"{tuple(value.shape)} cannot be broadcast together"
        ) from None
    return tuple(batch) + (query.shape[-2], key.shape[-2])


# ---------------------------------------------------------------------------
# multi-head attention


def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight,
    in_proj_bias,
    bias_k,
    bias_v,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias,
    training: bool = True,
    key_padding_mask=None,
    need_weights: bool = True,
    attn_mask=None,
    use_separate_proj_weight: bool = False,
    q_proj_weight=None,
    k_proj_weight=None,
    v_proj_weight=None,
    static_k=None,
    static_v=None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
    *,
    batch_first: bool = False,
) -> tuple:
    """The functional form of :class:`nbgrad.nn.MultiheadAttention`, with torch's signature.

    Args:
        query: ``(L, N, E)`` or unbatched ``(L, E)``.
        key, value: ``(S, N, Ek)`` / ``(S, N, Ev)`` or unbatched.
        embed_dim_to_check: ``E``; num_heads: ``H`` (must divide E).
        in_proj_weight, in_proj_bias: packed ``(3E, E)`` / ``(3E,)`` projections (bias may be None).
        bias_k, bias_v: ``(1, 1, E)`` biases appended to the keys/values, or None.
        add_zero_attn: append a zero key/value.
        dropout_p: dropout on the attention weights (when ``training``).
        out_proj_weight, out_proj_bias: the output projection.
        key_padding_mask: ``(N, S)``: True (bool) or -inf (float) marks keys to ignore.
        need_weights: also return the attention weights.
        attn_mask: ``(L, S)`` or ``(N*H, L, S)``; True (bool) marks pairs that may not attend; float: added.
        use_separate_proj_weight: use ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight``.
        static_k, static_v: ``(N*H, S, E/H)`` keys/values used as they are.
        average_attn_weights: average the returned weights over the heads.
        is_causal: a hint that ``attn_mask`` is the causal mask (it must then be given).
        batch_first: (nbgrad) query, key, value and output are ``(N, L, E)``. Working in the
            caller's layout, instead of transposing as torch does, keeps each projection one GEMM.

    Returns:
        ``(attn_output (L, N, E), attn_weights (N, L, S) or (N, H, L, S), or None)``.
    """
    op = "multi_head_attention_forward"
    is_batched = _check_mha_shapes(query, key, value, key_padding_mask, attn_mask, num_heads, op)
    batch_dim = 0 if batch_first else 1
    if not is_batched:
        query, key, value = _aliased_map(lambda t: t.unsqueeze(batch_dim), query, key, value)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    check_same_device(op, query, key, value, key_padding_mask, attn_mask)
    bsz, embed_dim = query.shape[batch_dim], query.shape[2]
    tgt_len, src_len = query.shape[1 - batch_dim], key.shape[1 - batch_dim]
    if embed_dim != embed_dim_to_check:
        raise RuntimeError(
            f"{op}: expected query with embedding dimension {embed_dim_to_check} in its last dim, "
            f"got shape {tuple(query.shape)}"
        )
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise RuntimeError(f"{op}: embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
    same_kv = tuple(key.shape[:2]) == tuple(value.shape[:2]) if use_separate_proj_weight else key.shape == value.shape
    if not same_kv or key.shape[batch_dim] != bsz:
        raise RuntimeError(
            f"{op}: key of shape {tuple(key.shape)} and value of shape {tuple(value.shape)} do not "
            f"match each other or the query of shape {tuple(query.shape)}"
        )

    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", query.dtype, op)
    if is_causal and attn_mask is None:
        raise RuntimeError(
            f"{op}: need attn_mask if specifying the is_causal hint (you may use "
            "nn.Transformer.generate_square_subsequent_mask to create it)"
        )
    # Like torch: with the hint and nothing else to merge, the sdpa path uses its causal mask instead.
    use_causal = is_causal and key_padding_mask is None and not need_weights
    attn_mask = None if use_causal else _canonical_mask(attn_mask, "attn_mask", query.dtype, op)
    if attn_mask is not None:
        expected = (tgt_len, src_len) if attn_mask.ndim == 2 else (bsz * num_heads, tgt_len, src_len)
        if tuple(attn_mask.shape) != expected:
            raise RuntimeError(
                f"{op}: the shape of the {attn_mask.ndim}-D attn_mask is {tuple(attn_mask.shape)}, "
                f"but should be {expected}"
            )
        attn_mask = attn_mask.reshape(-1, num_heads, tgt_len, src_len) if attn_mask.ndim == 3 else attn_mask
    if key_padding_mask is not None and tuple(key_padding_mask.shape) != (bsz, src_len):
        raise RuntimeError(
            f"{op}: expected key_padding_mask of shape {(bsz, src_len)}, but got {tuple(key_padding_mask.shape)}"
        )

    q, k, v = _project(
        query,
        key,
        value,
        num_heads,
        in_proj_weight,
        in_proj_bias,
        use_separate_proj_weight,
        q_proj_weight,
        k_proj_weight,
        v_proj_weight,
        batch_first,
        op,
    )
    k = _static(static_k, k, "static_k", bsz, num_heads, head_dim, op)
    v = _static(static_v, v, "static_v", bsz, num_heads, head_dim, op)
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise RuntimeError(f"{op}: bias_k/bias_v cannot be combined with static_k/static_v")
        k = cat([k, bias_k.reshape(1, num_heads, 1, head_dim).expand(bsz, -1, -1, -1)], 2)
        v = cat([v, bias_v.reshape(1, num_heads, 1, head_dim).expand(bsz, -1, -1, -1)], 2)
        attn_mask, key_padding_mask = _pad_masks(attn_mask, key_padding_mask)
    elif bias_k is not None or bias_v is not None:
        raise RuntimeError(f"{op}: bias_k and bias_v must be given together")
    if add_zero_attn:
        zeros = Tensor._wrap(backend.array_module(k._data).zeros((bsz, num_heads, 1, head_dim), dtype=k.dtype))
        k, v = cat([k, zeros], 2), cat([v, zeros], 2)
        attn_mask, key_padding_mask = _pad_masks(attn_mask, key_padding_mask)

    mask = attn_mask
    if key_padding_mask is not None:
        padding = key_padding_mask.reshape(bsz, 1, 1, -1)
        mask = padding if mask is None else mask + padding
    if use_causal:
        mask = _causal_mask(q, tgt_len, k.shape[2])
    out, weights = _attention(
        q, k, v, mask, dropout_p if training else 0.0, 1.0 / math.sqrt(head_dim), not need_weights, need_weights
    )
    # (N, H, L, hd) -> the caller's layout, heads side by side.
    out = out.permute(0, 2, 1, 3) if batch_first else out.permute(2, 0, 1, 3)
    out = linear(out.reshape(out.shape[0], out.shape[1], embed_dim), out_proj_weight, out_proj_bias)
    if weights is not None and average_attn_weights:
        weights = weights.mean(1)
    if not is_batched:
        out = out.squeeze(batch_dim)
        weights = None if weights is None else weights.squeeze(0)
    return out, weights


def _aliased_map(fn, query, key, value) -> tuple:
    """``fn`` applied to query, key and value, keeping ``query is key is value`` relations (self-attention)."""
    q = fn(query)
    k = q if key is query else fn(key)
    v = k if value is key else (q if value is query else fn(value))
    return q, k, v


def _check_mha_shapes(query, key, value, key_padding_mask, attn_mask, num_heads: int, op: str) -> bool:
    """torch's ``_mha_shape_check``: whether the input is batched; raises on inconsistent ranks."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if query.ndim not in (2, 3):
        raise RuntimeError(
            f"{op}: query should be unbatched 2-D or batched 3-D, but got a {query.ndim}-D query of shape "
            f"{tuple(query.shape)}"
        )
    batched = query.ndim == 3
    kind = f"{'batched' if batched else 'unbatched'} ({query.ndim}-D) query"
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise RuntimeError(
            f"{op}: for {kind}, expected key and value to be {query.ndim}-D, but found {key.ndim}-D and "
            f"{value.ndim}-D tensors (shapes {tuple(key.shape)} and {tuple(value.shape)})"
        )
    if key_padding_mask is not None and key_padding_mask.ndim != query.ndim - 1:
        raise RuntimeError(
            f"{op}: for {kind}, expected key_padding_mask to be None or {query.ndim - 1}-D, got shape "
            f"{tuple(key_padding_mask.shape)}"
        )
    if attn_mask is not None:
        # Unbatched 3-D masks hold one (L, S) matrix per head; batched ones are checked once N is known.
        expected = (num_heads, query.shape[0], key.shape[0])
        if attn_mask.ndim not in (2, 3) or (not batched and attn_mask.ndim == 3 and tuple(attn_mask.shape) != expected):
            allowed = "None, 2-D or 3-D" if batched else f"None, (L, S) or {expected}"
            raise RuntimeError(
                f"{op}: for {kind}, expected attn_mask to be {allowed}, got shape {tuple(attn_mask.shape)}"
            )
    return batched


def _canonical_mask(mask, name: str, dtype, op: str):
    """torch's ``_canonical_mask``: a bool mask (True = not allowed) becomes an additive float mask."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(mask).__name__}")
    if mask.dtype == backend.bool_:
        return _additive_mask(mask, dtype, masked_value=True)
    return _check_float_mask(mask, dtype, name, op)


def _split_heads(t: Tensor, n: int, num_heads: int, batch_first: bool) -> tuple:
    """A ``(N, T, n*E)`` (or ``(T, N, n*E)``) projection as ``n`` views of shape ``(N, H, T, E/H)``."""
    t = t.unflatten(-1, (n, num_heads, -1))
    t = t.permute(2, 0, 3, 1, 4) if batch_first else t.permute(2, 1, 3, 0, 4)
    return t.unbind(0)


def _project(
    query,
    key,
    value,
    num_heads,
    in_proj_weight,
    in_proj_bias,
    separate,
    q_proj_weight,
    k_proj_weight,
    v_proj_weight,
    batch_first,
    op,
) -> tuple:
    """The q, k, v input projections, split into heads: three ``(N, H, T, E/H)`` tensors.

    Self-attention (query is key is value) is one GEMM on the packed weight,
    encoder-decoder attention (key is value) two, as in torch.
    """
    E = query.shape[-1]
    if separate:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise RuntimeError(
                f"{op}: use_separate_proj_weight=True needs q_proj_weight, k_proj_weight and v_proj_weight"
            )
        biases = (None,) * 3 if in_proj_bias is None else in_proj_bias.split([E, E, E])
        weights = (q_proj_weight, k_proj_weight, v_proj_weight)
        return tuple(
            _split_heads(linear(x, w, b), 1, num_heads, batch_first)[0]
            for x, w, b in zip((query, key, value), weights, biases)
        )
    if in_proj_weight is None:
        raise RuntimeError(f"{op}: in_proj_weight is None; pass it or use_separate_proj_weight=True")
    if key is value and query is key:
        return _split_heads(linear(query, in_proj_weight, in_proj_bias), 3, num_heads, batch_first)
    if key is value:
        w_q, w_kv = in_proj_weight.split([E, 2 * E])
        b_q, b_kv = (None, None) if in_proj_bias is None else in_proj_bias.split([E, 2 * E])
        (q,) = _split_heads(linear(query, w_q, b_q), 1, num_heads, batch_first)
        return (q, *_split_heads(linear(key, w_kv, b_kv), 2, num_heads, batch_first))
    weights = in_proj_weight.chunk(3)
    biases = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
    return tuple(
        _split_heads(linear(x, w, b), 1, num_heads, batch_first)[0]
        for x, w, b in zip((query, key, value), weights, biases)
    )


def _static(static, projected: Tensor, name: str, bsz: int, num_heads: int, head_dim: int, op: str) -> Tensor:
    """``static_k``/``static_v`` ``(N*H, S, hd)`` as ``(N, H, S, hd)``, or the projection when None."""
    if static is None:
        return projected
    if static.ndim != 3 or static.shape[0] != bsz * num_heads or static.shape[2] != head_dim:
        raise RuntimeError(
            f"{op}: expected {name} of shape ({bsz * num_heads}, S, {head_dim}), got {tuple(static.shape)}"
        )
    return static.reshape(bsz, num_heads, static.shape[1], head_dim)


def _pad_masks(attn_mask, key_padding_mask) -> tuple:
    """One more (allowed) key column on each mask: for bias_k/bias_v or the zero attention."""
    return tuple(None if m is None else pad(m, (0, 1)) for m in (attn_mask, key_padding_mask))
