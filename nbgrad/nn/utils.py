"""``nn.utils``: gradient clipping and flattening parameters to one vector."""

from __future__ import annotations

import math

import numpy as np

from nbgrad import backend
from nbgrad.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]


def _as_list(parameters) -> list:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    Args:
        parameters: a Tensor or an iterable of Tensors with ``.grad``.
        max_norm: the largest allowed norm.
        norm_type: p of the p-norm (``float("inf")`` for the max norm).
        error_if_nonfinite: raise when the total norm is NaN or Inf.

    Returns:
        The total norm before clipping, as a 0-d tensor.

    Example::

        >>> import nbgrad as nb
        >>> w = nb.ones(4, requires_grad=True)
        >>> (w * 10).sum().backward()
        >>> nb.nn.utils.clip_grad_norm_([w], 1.0)
        tensor(20.)
        >>> round(float((w.grad ** 2).sum().sqrt()), 4)
        1.0
    """
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return Tensor._wrap(np.zeros((), dtype=np.float32))
    xp = backend.array_module(grads[0]._data)
    norm_type = float(norm_type)
    if math.isinf(norm_type):
        per_grad = [xp.abs(g._data).max() for g in grads]
        total = xp.stack(per_grad).max() if len(per_grad) > 1 else per_grad[0]
    else:
        total = sum(float((xp.abs(g._data.astype(xp.float64)) ** norm_type).sum()) for g in grads) ** (1 / norm_type)
        total = xp.asarray(total, dtype=grads[0].dtype)
    total_value = float(total)
    if error_if_nonfinite and not math.isfinite(total_value):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} for gradients is non-finite ({total_value}); "
            "set error_if_nonfinite=False to clip anyway"
        )
    coef = max_norm / (total_value + 1e-6)
    if coef < 1:
        for g in grads:
            g._data *= coef
            g._version[0] += 1
    return Tensor._wrap(xp.asarray(total, dtype=grads[0].dtype))


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]`` in place."""
    for p in _as_list(parameters):
        if p.grad is not None:
            xp = backend.array_module(p.grad._data)
            xp.clip(p.grad._data, -clip_value, clip_value, out=p.grad._data)
            p.grad._version[0] += 1


def parameters_to_vector(parameters) -> Tensor:
    """All parameters flattened and concatenated into one 1-D tensor (a copy)."""
    from nbgrad.ops.shape import cat

    params = _as_list(parameters)
    if not params:
        raise ValueError("parameters_to_vector: got no parameters")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Copy consecutive slices of ``vec`` into the parameters (in place)."""
    params = _as_list(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != total:
        raise RuntimeError(
            f"vector_to_parameters: expected a 1-D vector of {total} elements, got shape {tuple(vec.shape)}"
        )
    offset = 0
    for p in params:
        n = p.numel()
        p._data[...] = vec._data[offset : offset + n].reshape(p._data.shape)
        p._version[0] += 1
        offset += n
