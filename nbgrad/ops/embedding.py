"""``embedding`` (a lookup of rows of a weight matrix) and ``one_hot``.

The lookup is one node: its backward scatter-adds the incoming rows into a
gradient of the weight's shape (repeated indices accumulate), leaving the
``padding_idx`` row at zero.
"""

from __future__ import annotations

import numpy as np

from nbgrad import backend
from nbgrad.autograd.function import Function
from nbgrad.autograd.grad_mode import STATE, no_grad
from nbgrad.ops._util import check_same_device, describe
from nbgrad.ops.indexing import _scatter_add, scatter_add
from nbgrad.tensor import Tensor

__all__ = ["embedding", "one_hot"]


class Embedding(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, weight, index, padding_idx, scale_grad_by_freq):
        idx = index._data
        ctx.idx, ctx.shape = idx, weight._data.shape
        ctx.padding_idx, ctx.scale = padding_idx, scale_grad_by_freq
        return weight._data[idx]

    @staticmethod
    def backward(ctx, grad):
        n, dim = ctx.shape
        idx = ctx.idx.reshape(-1)
        xp = backend.array_module(idx)
        keep = None
        if ctx.padding_idx is not None or ctx.scale:
            keep = xp.ones(idx.shape, dtype=grad.dtype)
            if ctx.scale:  # each row's gradient divided by how often its index occurs in the batch
                keep /= xp.bincount(idx, minlength=n)[idx]
            if ctx.padding_idx is not None:
                keep[idx == ctx.padding_idx] = 0
        if STATE.enabled:  # create_graph: the scatter as a Tensor op, differentiable in grad
            g = grad.reshape(-1, dim)
            if keep is not None:
                g = g * Tensor._wrap(keep[:, None])
            target = Tensor._wrap(xp.zeros(ctx.shape, dtype=grad.dtype))
            index = Tensor._wrap(xp.broadcast_to(idx[:, None], (idx.size, dim)))
            return scatter_add(target, 0, index, g), None, None, None
        g = grad._data.reshape(-1, dim)
        if keep is not None:
            g = g * keep[:, None]
        out = xp.zeros(ctx.shape, dtype=g.dtype)
        _scatter_add(out, idx, g)
        return Tensor._wrap(out), None, None, None


def _check_indices(op: str, input: Tensor, n: int, name: str) -> None:
    if not isinstance(input, Tensor) or input.dtype.kind not in "iu":
        raise TypeError(f"{op}: {name} must be an integer Tensor, got {describe(input)}")
    a = input._data
    bad = (a < 0) | (a >= n)
    if a.size and bool(bad.any()):  # one host sync; an out-of-range index would read another row
        raise IndexError(
            f"{op}: index {int(a[bad].reshape(-1)[0])} is out of range for an embedding with num_embeddings={n} "
            f"(valid indices are 0 to {n - 1}; input of shape {tuple(input.shape)})"
        )


def padding_index(padding_idx: "int | None", n: int, op: str) -> "int | None":
    """``padding_idx`` checked against ``n`` rows and made non-negative (``None`` stays ``None``)."""
    if padding_idx is None:
        return None
    if not -n <= padding_idx < n:
        raise ValueError(f"{op}: padding_idx={padding_idx} must be within num_embeddings={n} ([-{n}, {n - 1}])")
    return padding_idx % n


def _renorm_rows(weight: Tensor, index: Tensor, max_norm: float, norm_type: float) -> None:
    """Rescale, in place, the looked-up rows whose ``norm_type``-norm exceeds ``max_norm`` (torch's rule)."""
    xp = backend.array_module(weight._data)
    rows = xp.unique(index._data.reshape(-1))
    w = weight._data
    norms = (xp.abs(w[rows]) ** norm_type).sum(axis=1) ** (1 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
    w[rows] *= scale[:, None]
    weight._version[0] += 1


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: "int | None" = None,
    max_norm: "float | None" = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Look up rows of ``weight``: ``weight[input]``.

    Args:
        input: integer indices in ``[0, num_embeddings)``, any shape.
        weight: ``(num_embeddings, embedding_dim)``.
        padding_idx: this row gets no gradient (negative values count from the end).
        max_norm: looked-up rows with a larger ``norm_type``-norm are rescaled to
            it in place first (under no-grad, as torch).
        norm_type: the p of the p-norm for ``max_norm``.
        scale_grad_by_freq: divide each row's gradient by how often its index occurs in ``input``.
        sparse: sparse gradients are not supported (``NotImplementedError``).

    Shape:
        Output: ``(*input.shape, embedding_dim)``.

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> weight = nb.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]])
        >>> F.embedding(nb.tensor([[2, 1]]), weight)
        tensor([[[3., 4.],
                 [1., 2.]]])
    """
    op = "embedding"
    if sparse:
        raise NotImplementedError(f"{op}: sparse=True (sparse gradients) is not supported by nbgrad; use sparse=False")
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise RuntimeError(f"{op}: weight must be a 2-D Tensor (num_embeddings, embedding_dim), got {describe(weight)}")
    check_same_device(op, input, weight)
    n = weight.shape[0]
    _check_indices(op, input, n, "input")
    padding_idx = padding_index(padding_idx, n, op)
    if max_norm is not None:
        with no_grad():
            _renorm_rows(weight, input, float(max_norm), float(norm_type))
    return Embedding.apply(weight, input, padding_idx, bool(scale_grad_by_freq))


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Class indices as one-hot vectors: an int64 tensor with a new last dimension of ``num_classes``.

    Args:
        tensor: integer class indices, any shape.
        num_classes: the length of the vectors; ``-1`` means ``tensor.max() + 1``.

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> F.one_hot(nb.tensor([0, 2]), 3)
        tensor([[1, 0, 0],
                [0, 0, 1]])
    """
    op = "one_hot"
    if not isinstance(tensor, Tensor) or tensor.dtype.kind not in "iu":
        raise TypeError(f"{op}: expected an integer (class index) Tensor, got {describe(tensor)}")
    a = tensor._data
    xp = backend.array_module(a)
    if num_classes == -1:
        if a.size == 0:
            raise RuntimeError(
                f"{op}: cannot infer the number of classes from an empty tensor of shape {a.shape}; pass num_classes"
            )
        num_classes = int(a.max()) + 1
    if a.size:
        low, high = int(a.min()), int(a.max())
        if low < 0:
            raise RuntimeError(f"{op}: class values must be non-negative, found {low}")
        if high >= num_classes:
            raise RuntimeError(f"{op}: class values must be smaller than num_classes={num_classes}, found {high}")
    return Tensor._wrap((a[..., None] == xp.arange(num_classes)).astype(np.int64))
