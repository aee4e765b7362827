"""``linear`` and ``bilinear``: affine maps as single graph nodes.

``x @ w.T + b`` as two nodes would allocate the product and then the sum, and
walk the graph twice; one node adds the bias in place and its backward makes
the three gradients with two GEMMs and one reduction.
"""

from __future__ import annotations

import numpy as np

from nbgrad.ops import math_ns
from nbgrad.ops._util import check_same_device
from nbgrad.tensor import Tensor

__all__ = ["bilinear", "linear"]


def _linear_grads(g, x, w, m, needs):
    """Gradients of ``x @ w.T (+ b)`` w.r.t. x, w and b (arrays or Tensors alike)."""
    need_x, need_w, need_b = needs
    out_features, in_features = w.shape
    g2 = g.reshape(-1, out_features)
    # 2-D products: NumPy runs a batched (B, T, k) @ (k, m) as B small GEMMs, one flat GEMM is faster.
    gx = (g2 @ w).reshape(x.shape) if need_x else None
    gw = g2.T @ x.reshape(-1, in_features) if need_w else None
    gb = g2.sum(0) if need_b else None
    return gx, gw, gb


class Linear(math_ns.Formula):
    @staticmethod
    def forward(ctx, x, w, b):
        a = x._data
        out = np.matmul(a.reshape(-1, a.shape[-1]), w._data.T).reshape(*a.shape[:-1], w._data.shape[0])
        if b is not None:
            out += b._data
        return out

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, w, _ = inputs
        ctx.save_for_backward(x, w)

    @staticmethod
    def derivative(ctx, g, x, w, m):
        return _linear_grads(g, x, w, m, ctx.needs_input_grad)


def linear(input: Tensor, weight: Tensor, bias: "Tensor | None" = None) -> Tensor:
    """``input @ weight.T + bias``, as one graph node.

    Args:
        input: ``(*, in_features)``.
        weight: ``(out_features, in_features)``.
        bias: ``(out_features,)`` or ``None``.

    Shape:
        output: ``(*, out_features)``.

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> F.linear(nb.ones(2, 3), nb.ones(4, 3), nb.zeros(4)).shape
        nbgrad.Size([2, 4])
    """
    _check_linear(input, weight, bias)
    return Linear.apply(input, weight, bias)


def _check_linear(input, weight, bias) -> None:
    check_same_device("linear", input, weight, bias)
    if weight.ndim != 2:
        raise RuntimeError(f"linear: weight must be 2-D (out_features, in_features), got shape {tuple(weight.shape)}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise RuntimeError(
            f"linear: input of shape {tuple(input.shape)} has {input.shape[-1] if input.ndim else 0} features in its "
            f"last dimension, but the weight of shape {tuple(weight.shape)} expects in_features={weight.shape[1]}"
        )
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise RuntimeError(
            f"linear: bias must have shape ({weight.shape[0]},) to match weight {tuple(weight.shape)}, "
            f"got {tuple(bias.shape)}"
        )
    if input.dtype != weight.dtype:
        raise RuntimeError(f"linear: input dtype {input.dtype} and weight dtype {weight.dtype} differ")


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: "Tensor | None" = None) -> Tensor:
    """``y_k = x1 @ W_k @ x2 + b_k`` for every output feature k.

    Args:
        input1: ``(*, in1_features)``.
        input2: ``(*, in2_features)``.
        weight: ``(out_features, in1_features, in2_features)``.
        bias: ``(out_features,)`` or ``None``.

    Shape:
        output: ``(*, out_features)``.
    """
    from nbgrad.ops.linalg import einsum

    check_same_device("bilinear", input1, input2, weight, bias)
    if weight.ndim != 3 or input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(
            f"bilinear: inputs of shapes {tuple(input1.shape)} and {tuple(input2.shape)} do not match the weight of "
            f"shape {tuple(weight.shape)} (out_features, in1_features, in2_features)"
        )
    if tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise RuntimeError(
            f"bilinear: input1 {tuple(input1.shape)} and input2 {tuple(input2.shape)} differ in their leading dims"
        )
    out = einsum("...i,kij,...j->...k", input1, weight, input2)
    return out if bias is None else out + bias
