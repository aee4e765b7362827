"""Autograd: the graph nodes (Function), the backward engine, grad modes, anomaly mode, gradcheck."""

from __future__ import annotations

from nbgrad.autograd.anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from nbgrad.autograd.function import Function
from nbgrad.autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from nbgrad.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph: bool = False, allow_unused: bool = False):
    """Gradients of ``outputs`` w.r.t. ``inputs``, returned instead of stored in ``.grad``.

    Args:
        outputs: a Tensor or sequence of Tensors to differentiate.
        inputs: a Tensor or sequence of Tensors to differentiate with respect to.
        grad_outputs: d(something)/d(outputs); may be omitted for single-element outputs.
        retain_graph: keep saved tensors for another backward (defaults to ``create_graph``).
        create_graph: record the backward so that the result can be differentiated again.
        allow_unused: return ``None`` for inputs the outputs do not depend on instead of raising.

    Returns:
        a tuple with one gradient (or ``None``) per input.

    Example::

        >>> import nbgrad as nb
        >>> x = nb.tensor(3.0, requires_grad=True)
        >>> (g,) = nb.autograd.grad(x ** 3, x, create_graph=True)
        >>> g, nb.autograd.grad(g, x)[0]
        (tensor(27., grad_fn=<MulBackward0>), tensor(18.))
    """
    from nbgrad.autograd.engine import run_backward
    from nbgrad.tensor import Tensor, _root_grad

    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    single_input = isinstance(inputs, Tensor)
    inputs = (inputs,) if single_input else tuple(inputs)
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"grad: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {tuple(t.shape)}) does not require grad")
    for i, o in enumerate(outputs):
        if not o.requires_grad:
            raise RuntimeError(
                f"grad: output {i} (shape {tuple(o.shape)}) does not require grad and does not have a grad_fn"
            )
    roots = [_root_grad(o, g, "grad") for o, g in zip(outputs, grad_outputs)]
    if retain_graph is None:
        retain_graph = create_graph
    return run_backward(outputs, roots, retain_graph, create_graph, inputs=inputs, allow_unused=allow_unused)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph: bool = False) -> None:
    """``torch.autograd.backward``: accumulate gradients of several outputs at once."""
    from nbgrad.autograd.engine import run_backward
    from nbgrad.tensor import Tensor, _root_grad

    tensors = (tensors,) if isinstance(tensors, Tensor) else tuple(tensors)
    if grad_tensors is None:
        grad_tensors = (None,) * len(tensors)
    elif isinstance(grad_tensors, Tensor):
        grad_tensors = (grad_tensors,)
    roots = [_root_grad(t, g, "backward") for t, g in zip(tensors, grad_tensors)]
    if retain_graph is None:
        retain_graph = create_graph
    run_backward(tensors, roots, retain_graph, create_graph)


__all__ = [
    "AnomalyError",
    "Function",
    "GradcheckError",
    "backward",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "inference_mode",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "no_grad",
    "set_detect_anomaly",
    "set_grad_enabled",
]
