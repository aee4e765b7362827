"""Loss functions as single fused graph nodes: cross-entropy, NLL, MSE, L1, Huber, BCE, KL...

Each op is ONE graph node with a hand-written backward instead of a chain of
elementary nodes (a node per ``exp``/``sum``/``div`` is slow in Python). The
backward formulas are written with Tensor ops, so ``create_graph=True``
differentiates them again; a plain backward runs them on raw arrays
(:mod:`nbgrad.ops.math_ns`), and class-index cross-entropy builds its gradient
in place in one buffer. The forward passes shift by the maximum before
``exp``, so large logits neither overflow nor lose precision.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from nbgrad import backend
from nbgrad.autograd.function import Function
from nbgrad.autograd.grad_mode import is_grad_enabled
from nbgrad.ops import math_ns
from nbgrad.ops._util import broadcast_shapes, check_same_device, describe
from nbgrad.ops.activation import LogSoftmax, Softmax, _keep_shape, _log_softmax_array
from nbgrad.ops.broadcast import sum_to
from nbgrad.tensor import Tensor

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "mse_loss",
    "nll_loss",
    "smooth_l1_loss",
]

_REDUCTIONS = ("none", "mean", "sum")


class _Spec(NamedTuple):
    """What a classification loss node needs besides its tensors (validated once)."""

    class_axis: int
    n_classes: int
    weight: object  # array of shape (C,) in the input's dtype, or None
    ignore_index: int
    reduction: str
    label_smoothing: float
    probs: bool  # target holds class probabilities (same shape as input)

    def weight_along_classes(self, ndim: int):
        """The weight reshaped to broadcast along the class axis of an ``ndim``-d input."""
        return self.weight.reshape((self.n_classes,) + (1,) * (ndim - self.class_axis - 1))


def _check_reduction(reduction, op: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def _check_input(input, op: str) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input must be a floating point tensor, got dtype {input.dtype}")


def _class_spec(op: str, input, target, weight, ignore_index, reduction, label_smoothing, allow_probs) -> _Spec:
    _check_input(input, op)
    _check_reduction(reduction, op)
    if not isinstance(target, Tensor):
        raise TypeError(f"{op}: target must be a Tensor, got {type(target).__name__}")
    check_same_device(op, input, target, weight)
    if input.ndim == 0:
        raise RuntimeError(f"{op}: input must have a class dimension, got a 0-d tensor; use shape (C,) or (N, C, ...)")
    class_axis = 0 if input.ndim == 1 else 1
    n_classes = input.shape[class_axis]
    shape, tshape = tuple(input.shape), tuple(target.shape)
    index_shape = shape[:class_axis] + shape[class_axis + 1 :]
    probs = target.dtype.kind == "f" and tshape == shape and allow_probs
    if not probs:
        indices = target.dtype.kind in "iu"
        if tshape != index_shape and (indices or (allow_probs and target.dtype.kind == "f")):
            expected = f"{index_shape} (class indices)" + (f" or {shape} (class probabilities)" if allow_probs else "")
            raise RuntimeError(
                f"{op}: target of shape {tshape} does not match input of shape {shape}: expected a target of "
                f"shape {expected}"
            )
        if not indices:
            kinds = "class indices (an integer tensor)" + (" or class probabilities" if allow_probs else "")
            raise TypeError(
                f"{op}: target must hold {kinds}; got dtype {target.dtype} with shape {tshape} "
                f"for input of shape {shape}"
            )
    if probs and target.dtype != input.dtype:
        raise TypeError(
            f"{op}: class-probability target has dtype {target.dtype} but input has dtype {input.dtype}; "
            "convert one with .to(dtype)"
        )
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    w = None
    if weight is not None:
        if not isinstance(weight, Tensor) or tuple(weight.shape) != (n_classes,) or weight.dtype.kind != "f":
            raise RuntimeError(
                f"{op}: weight must be a floating point tensor of shape ({n_classes},), one value per class of "
                f"the input of shape {shape}; got {describe(weight)}"
            )
        if weight.requires_grad and is_grad_enabled():
            raise RuntimeError(f"{op}: the class weight is not differentiable; pass weight.detach()")
        w = weight._data.astype(input.dtype, copy=False)
    if not probs:
        _check_target_range(op, target._data, n_classes, ignore_index)
    return _Spec(class_axis, n_classes, w, int(ignore_index), reduction, float(label_smoothing), probs)


def _check_target_range(op: str, t, n_classes: int, ignore_index: int) -> None:
    bad = ((t < 0) | (t >= n_classes)) & (t != ignore_index)
    # One host sync on the GPU; an out-of-range index would otherwise read garbage silently.
    if bool(bad.any()):
        value = int(t[bad].reshape(-1)[0])
        raise IndexError(
            f"{op}: target {value} is out of bounds for {n_classes} classes (expected values in "
            f"[0, {n_classes - 1}] or ignore_index={ignore_index})"
        )


def _index_terms(t, spec: _Spec, dtype):
    """Targets with ignored entries set to class 0, the 0/1 mask of counted samples, each sample's weight."""
    xp = backend.array_module(t)
    counted = t != spec.ignore_index
    safe = xp.where(counted, t, 0)
    counted = counted.astype(dtype)
    w_t = counted if spec.weight is None else spec.weight[safe] * counted
    return safe, counted, w_t


def _picked_nll(logp, safe, w_t, axis: int):
    """``-w[t] * logp[t]`` per sample: the log-probability of each target class."""
    xp = backend.array_module(logp)
    picked = xp.take_along_axis(logp, xp.expand_dims(safe, axis), axis=axis).squeeze(axis)
    return -(picked * w_t)


def _one_hot_weights(safe, w_t, spec: _Spec, shape: tuple):
    """Dense ``w[t] * onehot(t)`` (0 for ignored samples), of the input's shape."""
    xp = backend.array_module(safe)
    axis = spec.class_axis
    out = xp.zeros(shape, dtype=w_t.dtype)
    # One index per slice, so no duplicates: a scatter, cheaper than comparing all N*C entries.
    xp.put_along_axis(out, xp.expand_dims(safe, axis), xp.expand_dims(w_t, axis), axis)
    return out


def _reduce(loss, reduction: str, denom):
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    # All samples ignored (or none at all) gives 0/0 = nan, as in torch.
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / denom


def _mean_scale(denom, like):
    """``1 / denom`` for the backward of 'mean', 0 when nothing was counted (torch's zero gradient)."""
    xp = backend.array_module(like)
    denom = xp.asarray(denom, dtype=like.dtype)
    return xp.where(denom > 0, 1 / xp.where(denom > 0, denom, 1), 0).astype(like.dtype)


def _grad_per_element(grad: Tensor, ctx) -> Tensor:
    """The incoming gradient made to broadcast against the input (per-sample, class axis restored)."""
    reduction = ctx.spec.reduction
    if reduction == "none":
        axis = ctx.spec.class_axis
        if is_grad_enabled():
            return grad.unsqueeze(axis)
        return Tensor._wrap(backend.array_module(grad._data).expand_dims(grad._data, axis))
    if reduction == "mean":
        return grad * Tensor._wrap(ctx.scale)
    return grad


# ---------------------------------------------------------------------------
# cross_entropy and nll_loss nodes


class CrossEntropy(Function):
    """log_softmax + negative log-likelihood (+ label smoothing) as one node.

    Every variant is ``loss = -sum_c a_c * logp_c`` for per-element coefficients
    ``a`` (weighted one-hot, smoothed, or the given probabilities), so one
    backward serves them all: ``dloss/dx = p * sum_c a_c - a``.
    """

    _builtin = True

    @staticmethod
    def forward(ctx, input, target, spec):
        x = input._data
        axis, ls, n = spec.class_axis, spec.label_smoothing, spec.n_classes
        logp = _log_softmax_array(x, axis)
        w = None if spec.weight is None else spec.weight_along_classes(x.ndim)
        if spec.probs:
            coef = target._data * (1 - ls) + ls / n if ls else target._data
            coef = coef if w is None else coef * w
            loss = -(coef * logp).sum(axis=axis)
            denom = x.size // n if n else 0
        else:
            safe, counted, w_t = _index_terms(target._data, spec, x.dtype)
            loss = _picked_nll(logp, safe, w_t, axis)
            if ls:
                smooth = (logp if w is None else logp * w).sum(axis=axis) * counted
                loss = loss * (1 - ls) - smooth * (ls / n)
            # torch divides the smoothing term by the same sum of target weights.
            denom = w_t.sum()
            ctx.index = (safe, counted, w_t)
        ctx.spec, ctx.logp = spec, logp
        if spec.reduction == "mean":
            ctx.scale = _mean_scale(denom, x)
        ctx.save_for_backward(input, target if spec.probs else None)
        return _reduce(loss, spec.reduction, denom)

    @staticmethod
    def backward(ctx, grad):
        x, target = ctx.saved_tensors
        spec = ctx.spec
        axis, ls, n = spec.class_axis, spec.label_smoothing, spec.n_classes
        g = _grad_per_element(grad, ctx)
        graph = is_grad_enabled()
        if not graph and not spec.probs:
            return Tensor._wrap(_index_input_grad(ctx, g._data)), None, None
        # Under create_graph the (log-)probabilities are recomputed as graph nodes so
        # that this gradient can be differentiated again; otherwise the forward's are reused.
        if graph:
            logp, p = LogSoftmax.apply(x, axis), Softmax.apply(x, axis)
        else:
            logp, p = Tensor._wrap(ctx.logp), Tensor._wrap(np.exp(ctx.logp))
        w = 1.0 if spec.weight is None else Tensor._wrap(spec.weight_along_classes(x.ndim))
        if spec.probs:
            a = (target * (1 - ls) + ls / n if ls else target) * w
            a_sum = sum_to(a, _keep_shape(a.shape, axis))
        else:
            a, a_sum = _index_coefficients(ctx.index, spec, tuple(x.shape))
        need_input, need_target, _ = ctx.needs_input_grad
        grad_input = grad_target = None
        if need_input:
            grad_input = math_ns.run(lambda g, p, a, a_sum, m: g * (p * a_sum - a), g, p, a, a_sum)
        if need_target:
            grad_target = math_ns.run(lambda g, logp, w, m: g * logp * w * -(1 - ls), g, logp, w)
        return grad_input, grad_target, None


def _index_input_grad(ctx, g):
    """``g * (p * a_sum - a)`` for class-index targets, on arrays, built in place in one buffer.

    The hot path of training: no dense one-hot is made; the target entries are
    corrected by a gather and a scatter. (Under create_graph the same formula
    runs on Tensors, with :func:`_index_coefficients`.)
    """
    spec = ctx.spec
    safe, counted, w_t = ctx.index
    xp = backend.array_module(safe)
    axis, ls, n = spec.class_axis, spec.label_smoothing, spec.n_classes
    out = np.exp(ctx.logp)
    hot = w_t * (1 - ls) if ls else w_t
    if ls:
        w, w_total = (1.0, n) if spec.weight is None else (spec.weight_along_classes(out.ndim), spec.weight.sum())
        out *= xp.expand_dims(hot + counted * (w_total * (ls / n)), axis)
        out -= xp.expand_dims(counted, axis) * (w * (ls / n))
    else:
        out *= xp.expand_dims(w_t, axis)
    index = xp.expand_dims(safe, axis)
    xp.put_along_axis(out, index, xp.take_along_axis(out, index, axis) - xp.expand_dims(hot, axis), axis)
    out *= g
    return out


def _index_coefficients(index, spec: _Spec, shape: tuple):
    """The constant ``a`` of class-index cross-entropy and its sum over classes, as Tensors."""
    safe, counted, w_t = index
    xp = backend.array_module(safe)
    axis, ls, n, ndim = spec.class_axis, spec.label_smoothing, spec.n_classes, len(shape)
    a = _one_hot_weights(safe, w_t, spec, shape)
    a_sum = w_t
    if ls:
        # The uniform part puts weight w_c * ls / C on every class of each counted sample.
        w, w_total = (1.0, n) if spec.weight is None else (spec.weight_along_classes(ndim), spec.weight.sum())
        a = a * (1 - ls) + xp.expand_dims(counted, axis) * w * (ls / n)
        a_sum = w_t * (1 - ls) + counted * (w_total * (ls / n))
    return Tensor._wrap(a), Tensor._wrap(xp.expand_dims(a_sum, axis))


class NllLoss(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, input, target, spec):
        x = input._data
        safe, counted, w_t = _index_terms(target._data, spec, x.dtype)
        ctx.spec, ctx.index = spec, (safe, w_t)
        denom = w_t.sum()
        if spec.reduction == "mean":
            ctx.scale = _mean_scale(denom, x)
        ctx.shape = x.shape
        return _reduce(_picked_nll(x, safe, w_t, spec.class_axis), spec.reduction, denom)

    @staticmethod
    def backward(ctx, grad):
        # The loss is linear in the input: its gradient is a constant (negated,
        # weighted one-hot) scaled by the incoming gradient.
        safe, w_t = ctx.index
        hot = Tensor._wrap(_one_hot_weights(safe, -w_t, ctx.spec, ctx.shape))
        return _grad_per_element(grad, ctx) * hot, None, None


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    r"""Cross-entropy between logits and a target, fused with ``log_softmax`` into one node.

    With class indices :math:`y_n` and weights :math:`w` the loss of sample
    :math:`n` is :math:`-w_{y_n} \log \mathrm{softmax}(x_n)_{y_n}`; ``'mean'``
    divides the sum by :math:`\sum_n w_{y_n}` over samples that are not
    ``ignore_index``. ``label_smoothing`` ε mixes in the uniform distribution:
    :math:`(1-ε)\,\mathrm{nll} + \frac{ε}{C} \sum_c -w_c \log p_c`, as torch does.
    With class probabilities the loss is :math:`-\sum_c w_c t_c \log p_c` and
    ``'mean'`` divides by the number of samples.

    Args:
        input: unnormalised logits.
        target: class indices (an integer tensor) or class probabilities (a
            float tensor of the input's shape, differentiable).
        weight: a rescaling weight per class, of shape ``(C,)`` (not differentiated).
        ignore_index: a class-index target value that contributes neither loss
            nor gradient (class-index targets only).
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        label_smoothing: ε in ``[0, 1]``.

    Shape:
        - input: ``(C,)``, ``(N, C)`` or ``(N, C, d1, ..., dk)``
        - target: ``()``, ``(N,)`` or ``(N, d1, ..., dk)`` of indices in ``[0, C)``;
          or the shape of the input for probabilities
        - output: a scalar, or the target's index shape for ``reduction='none'``

    Example::

        >>> import nbgrad as nb
        >>> logits = nb.tensor([[2.0, 0.0], [0.0, 2.0]], requires_grad=True)
        >>> import nbgrad.nn.functional as F
        >>> loss = F.cross_entropy(logits, nb.tensor([0, 0]))
        >>> loss
        tensor(1.1269, grad_fn=<CrossEntropyBackward0>)
        >>> loss.backward()
    """
    spec = _class_spec("cross_entropy", input, target, weight, ignore_index, reduction, label_smoothing, True)
    return CrossEntropy.apply(input, target, spec)


def nll_loss(
    input: Tensor, target: Tensor, weight: Tensor | None = None, *, ignore_index: int = -100, reduction: str = "mean"
) -> Tensor:
    r"""Negative log-likelihood of log-probabilities: :math:`-w_{y_n} x_{n, y_n}`.

    ``input`` usually comes from :func:`log_softmax`; ``cross_entropy`` does
    both in one node. ``'mean'`` divides by the sum of the weights of the
    targets that are not ``ignore_index``.

    Args:
        input: log-probabilities.
        target: class indices (an integer tensor).
        weight: a rescaling weight per class, of shape ``(C,)``.
        ignore_index: a target value that contributes neither loss nor gradient.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.

    Shape:
        - input: ``(C,)``, ``(N, C)`` or ``(N, C, d1, ..., dk)``
        - target: ``()``, ``(N,)`` or ``(N, d1, ..., dk)``
        - output: a scalar, or the target's shape for ``reduction='none'``

    Example::

        >>> import nbgrad as nb
        >>> logp = nb.tensor([[-0.5, -1.0], [-2.0, -0.1]])
        >>> import nbgrad.nn.functional as F
        >>> F.nll_loss(logp, nb.tensor([1, 0]), reduction="none")
        tensor([1., 2.])
    """
    spec = _class_spec("nll_loss", input, target, weight, ignore_index, reduction, 0.0, False)
    return NllLoss.apply(input, target, spec)


# ---------------------------------------------------------------------------
# regression


class MseLoss(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, input, target, reduction):
        diff = input._data - target._data
        ctx.reduction, ctx.numel = reduction, diff.size
        ctx.save_for_backward(input, target)
        return _reduce(diff * diff, reduction, diff.size)

    @staticmethod
    def backward(ctx, grad):
        x, target = ctx.saved_tensors
        shape_x, shape_t = tuple(x.shape), tuple(target.shape)
        scale = 2.0 / max(ctx.numel, 1) if ctx.reduction == "mean" else 2.0
        need_x, need_t, _ = ctx.needs_input_grad

        def formula(g, x, t, m):
            g = g * (x - t) * scale
            return (m.sum_to(g, shape_x) if need_x else None), (m.sum_to(-g, shape_t) if need_t else None)

        return *math_ns.run(formula, grad, x, target), None


def mse_loss(input: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    r"""Mean squared error :math:`(x - y)^2`, reduced; differentiable in both arguments.

    Like torch, a target whose shape differs from the input's is broadcast
    against it, with a warning (it is usually a bug: ``(N,)`` against ``(N, 1)``
    gives an ``(N, N)`` loss matrix).

    Args:
        input: the prediction.
        target: the target, of the same shape.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> F.mse_loss(nb.tensor([1.0, 2.0]), nb.tensor([0.0, 4.0]))
        tensor(2.5000)
    """
    _check_pair("mse_loss", input, target, reduction)
    return MseLoss.apply(input, target, reduction)


def _check_pair(op: str, input, target, reduction, *, same_shape: bool = False, reductions=_REDUCTIONS) -> None:
    """Checks shared by the elementwise losses: float Tensors on one device, shapes, reduction.

    Like torch, a target whose shape differs from the input's is broadcast with
    a warning (``same_shape=False``) or refused (the binary cross-entropies).
    """
    _check_input(input, op)
    if reduction not in reductions:
        names = [repr(r) for r in reductions]
        raise ValueError(f"{op}: reduction must be {', '.join(names[:-1])} or {names[-1]}, got {reduction!r}")
    if not isinstance(target, Tensor):
        raise TypeError(f"{op}: target must be a Tensor, got {type(target).__name__}")
    if target.dtype.kind != "f":
        raise TypeError(f"{op}: target must be a floating point tensor, got dtype {target.dtype}")
    check_same_device(op, input, target)
    if input.shape == target.shape:
        return
    if same_shape:
        raise ValueError(
            f"{op}: using a target size {tuple(target.shape)} that is different to the input size "
            f"{tuple(input.shape)} is not supported; please ensure they have the same size"
        )
    broadcast_shapes(op, input.shape, target.shape)
    warnings.warn(
        f"{op}: target shape {tuple(target.shape)} differs from input shape {tuple(input.shape)}; they are "
        "broadcast together, which is likely not what you want",
        UserWarning,
        stacklevel=3,
    )


# ---------------------------------------------------------------------------
# elementwise losses: one node class, each loss a value and a derivative formula


class _Pointwise(NamedTuple):
    """An elementwise loss ``l(x, t)``: its formulas (for arrays and Tensors alike) and how to reduce it."""

    value: object  # (x, t, pos_weight, m, *params) -> l
    derivs: object  # (x, t, pos_weight, m, need_t, *params) -> (dl/dx, dl/dt or None)
    params: tuple
    reduction: str  # 'none', 'sum' or 'mean'
    denom: int  # what 'mean' divides by ('batchmean' divides by the batch size)


class PointwiseLoss(math_ns.Formula):
    """``reduce(weight * l(input, target))`` as one node; subclasses only name it."""

    @staticmethod
    def forward(ctx, input, target, weight, pos_weight, spec):
        pw = None if pos_weight is None else pos_weight._data
        with np.errstate(divide="ignore", invalid="ignore"):  # log(0) is clamped or masked by the formulas
            loss = spec.value(input._data, target._data, pw, math_ns.ARRAYS, *spec.params)
        if weight is not None:
            loss = loss * weight._data
        ctx.spec = spec
        return _reduce(loss, spec.reduction, spec.denom)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs[:4])

    @staticmethod
    def derivative(ctx, g, x, t, w, pw, m):
        spec = ctx.spec
        need_x, need_t = ctx.needs_input_grad[:2]
        scale = 1 / spec.denom if spec.reduction == "mean" and spec.denom else 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            dx, dt = spec.derivs(x, t, pw, m, need_t, *spec.params)
            g = g * scale if scale != 1.0 else g
            if w is not None:
                g = g * w
            gx = m.sum_to(g * dx, tuple(x.shape)) if need_x else None
            gt = m.sum_to(g * dt, tuple(t.shape)) if need_t else None
        return gx, gt


def _loss_node(name: str):
    return type(name, (PointwiseLoss,), {"__module__": __name__, "__doc__": f"The ``{name}`` node."})


L1Loss = _loss_node("L1Loss")
SmoothL1Loss = _loss_node("SmoothL1Loss")
HuberLoss = _loss_node("HuberLoss")
BinaryCrossEntropy = _loss_node("BinaryCrossEntropy")
BinaryCrossEntropyWithLogits = _loss_node("BinaryCrossEntropyWithLogits")
KlDiv = _loss_node("KlDiv")


def _pointwise(
    cls,
    op,
    input,
    target,
    value,
    derivs,
    params=(),
    reduction="mean",
    *,
    weight=None,
    pos_weight=None,
    same_shape=False,
    reductions=_REDUCTIONS,
):
    _check_pair(op, input, target, reduction, same_shape=same_shape, reductions=reductions)
    shape = broadcast_shapes(op, input.shape, target.shape)
    for name, extra in (("weight", weight), ("pos_weight", pos_weight)):
        if extra is None:
            continue
        if not isinstance(extra, Tensor) or extra.dtype.kind != "f":
            raise TypeError(f"{op}: {name} must be a floating point Tensor, got {describe(extra)}")
        check_same_device(op, input, extra)
        try:
            fits = tuple(np.broadcast_shapes(shape, tuple(extra.shape))) == shape
        except ValueError:
            fits = False
        if not fits:
            raise RuntimeError(
                f"{op}: {name} of shape {tuple(extra.shape)} does not broadcast to the input's shape {shape}"
            )
    n = 1
    for d in shape:
        n *= d
    denom = n
    if reduction == "batchmean":
        reduction, denom = "mean", (shape[0] if shape else 1)
    spec = _Pointwise(value, derivs, tuple(params), reduction, denom)
    return cls.apply(input, target, weight, pos_weight, spec)


def _l1_value(x, t, pw, m):
    return m.abs(x - t)


def _l1_derivs(x, t, pw, m, need_t):
    dx = m.sign(x - t)
    return dx, (-dx if need_t else None)


def l1_loss(input: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    r"""Mean absolute error :math:`|x - y|`, reduced; the gradient at :math:`x = y` is 0.

    Args:
        input: the prediction.
        target: the target (broadcast against ``input`` with a warning when shapes differ).
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> F.l1_loss(nb.tensor([1.0, 2.0]), nb.tensor([0.0, 4.0]))
        tensor(1.5000)
    """
    return _pointwise(L1Loss, "l1_loss", input, target, _l1_value, _l1_derivs, reduction=reduction)


def _smooth_l1_value(x, t, pw, m, beta):
    d = x - t
    a = m.abs(d)
    return m.where(a < beta, d * d * (0.5 / beta), a - 0.5 * beta)


def _smooth_l1_derivs(x, t, pw, m, need_t, beta):
    d = x - t
    dx = m.where(m.abs(d) < beta, d * (1 / beta), m.sign(d))
    return dx, (-dx if need_t else None)


def smooth_l1_loss(input: Tensor, target: Tensor, *, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    r"""Smooth L1: :math:`0.5 d^2 / eta` where :math:`|d| < eta`, else :math:`|d| - 0.5eta` (:math:`d = x - y`).

    ``beta=0`` is the L1 loss.

    Args:
        input, target: as for :func:`l1_loss`.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        beta: where the loss changes from quadratic to linear (``>= 0``).

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> F.smooth_l1_loss(nb.tensor([0.5, 3.0]), nb.tensor([0.0, 0.0]), reduction="none")
        tensor([0.1250, 2.5000])
    """
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    if beta == 0:
        return _pointwise(SmoothL1Loss, "smooth_l1_loss", input, target, _l1_value, _l1_derivs, reduction=reduction)
    return _pointwise(
        SmoothL1Loss, "smooth_l1_loss", input, target, _smooth_l1_value, _smooth_l1_derivs, (float(beta),), reduction
    )


def _huber_value(x, t, pw, m, delta):
    d = x - t
    a = m.abs(d)
    return m.where(a < delta, d * d * 0.5, (a - 0.5 * delta) * delta)


def _huber_derivs(x, t, pw, m, need_t, delta):
    d = x - t
    dx = m.where(m.abs(d) < delta, d, m.sign(d) * delta)
    return dx, (-dx if need_t else None)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    r"""Huber loss: :math:`0.5 d^2` where :math:`|d| < \delta`, else :math:`\delta(|d| - 0.5\delta)`.

    Args:
        input, target: as for :func:`l1_loss`.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        delta: where the loss changes from quadratic to linear (``> 0``).

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> F.huber_loss(nb.tensor([0.5, 3.0]), nb.tensor([0.0, 0.0]), reduction="none", delta=2.0)
        tensor([0.1250, 4.0000])
    """
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    return _pointwise(HuberLoss, "huber_loss", input, target, _huber_value, _huber_derivs, (float(delta),), reduction)


# torch clamps each log at -100, so a probability of exactly 0 or 1 gives a finite loss.
_LOG_FLOOR = -100.0


def _clamped_log(v, m):
    return m.maximum(m.log(v), _LOG_FLOOR)


def _bce_value(x, t, pw, m):
    return -(t * _clamped_log(x, m) + (1 - t) * _clamped_log(1 - x, m))


def _bce_derivs(x, t, pw, m, need_t):
    # torch's gradient: (x - t) / max(x (1 - x), 1e-12).
    dx = (x - t) / m.maximum((1 - x) * x, 1e-12)
    dt = (_clamped_log(1 - x, m) - _clamped_log(x, m)) if need_t else None
    return dx, dt


def binary_cross_entropy(
    input: Tensor, target: Tensor, weight: "Tensor | None" = None, *, reduction: str = "mean"
) -> Tensor:
    r"""Binary cross-entropy of probabilities: :math:`-w\,[y \log x + (1 - y) \log(1 - x)]`.

    Each log is clamped at -100 (as torch), so probabilities of exactly 0 or 1
    give a finite loss. :func:`binary_cross_entropy_with_logits` is the stable
    form for logits.

    Args:
        input: probabilities in ``[0, 1]``.
        target: targets in ``[0, 1]``, of the input's shape.
        weight: a rescaling weight broadcast against the input.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> F.binary_cross_entropy(nb.tensor([0.8, 0.1]), nb.tensor([1.0, 0.0]))
        tensor(0.1643)
    """
    _check_pair("binary_cross_entropy", input, target, reduction, same_shape=True)
    for name, v in (("input", input), ("target", target)):
        a = v._data
        bad = (a < 0) | (a > 1)
        if bool(bad.any()):  # one host sync; outside [0, 1] the loss is not defined
            raise RuntimeError(
                f"binary_cross_entropy: all elements of {name} should be between 0 and 1, found "
                f"{float(a[bad].reshape(-1)[0])} (shape {tuple(v.shape)})"
            )
    return _pointwise(
        BinaryCrossEntropy,
        "binary_cross_entropy",
        input,
        target,
        _bce_value,
        _bce_derivs,
        reduction=reduction,
        weight=weight,
        same_shape=True,
    )


def _bce_logits_value(x, t, pw, m):
    # log(1 + exp(-x)) = softplus(-x), computed without overflow.
    sp = m.softplus(-x)
    if pw is None:
        return (1 - t) * x + sp
    return (1 - t) * x + (1 + (pw - 1) * t) * sp


def _bce_logits_derivs(x, t, pw, m, need_t):
    if pw is None:
        return m.sigmoid(x) - t, (-x if need_t else None)
    dx = (1 - t) - (1 + (pw - 1) * t) * m.sigmoid(-x)
    return dx, ((pw - 1) * m.softplus(-x) - x if need_t else None)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: "Tensor | None" = None,
    *,
    reduction: str = "mean",
    pos_weight: "Tensor | None" = None,
) -> Tensor:
    r"""Sigmoid and binary cross-entropy in one stable node.

    :math:`\ell = -w\,[p\,y \log\sigma(x) + (1 - y)\log(1 - \sigma(x))]`, with
    ``pos_weight`` :math:`p` weighting the positive term (broadcast along the
    last, class dimension), computed as :math:`(1-y)x + (1 + (p-1)y)\,\mathrm{softplus}(-x)`.

    Args:
        input: logits.
        target: targets in ``[0, 1]``, of the input's shape.
        weight: a rescaling weight broadcast against the input.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        pos_weight: a weight of positive examples, broadcast against the input.

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> F.binary_cross_entropy_with_logits(nb.tensor([2.0, -1.0]), nb.tensor([1.0, 0.0]))
        tensor(0.2201)
    """
    return _pointwise(
        BinaryCrossEntropyWithLogits,
        "binary_cross_entropy_with_logits",
        input,
        target,
        _bce_logits_value,
        _bce_logits_derivs,
        reduction=reduction,
        weight=weight,
        pos_weight=pos_weight,
        same_shape=True,
    )


def _xlogx(t, m):
    """``t log t`` with ``0 log 0 = 0``."""
    zero = t == 0
    return m.where(zero, 0.0, t * m.log(m.where(zero, 1.0, t)))


def _kl_value(x, t, pw, m):
    return _xlogx(t, m) - t * x


def _kl_derivs(x, t, pw, m, need_t):
    return -t, ((m.log(t) + 1 - x) if need_t else None)


def _kl_log_value(x, t, pw, m):
    return m.exp(t) * (t - x)


def _kl_log_derivs(x, t, pw, m, need_t):
    e = m.exp(t)
    return -e, ((t - x + 1) * e if need_t else None)


def kl_div(input: Tensor, target: Tensor, *, reduction: str = "mean", log_target: bool = False) -> Tensor:
    r"""Kullback-Leibler divergence :math:`y (\log y - x)` with ``input`` :math:`x` given as log-probabilities.

    Args:
        input: log-probabilities.
        target: probabilities (or log-probabilities with ``log_target=True``).
        reduction: ``'none'``, ``'sum'``, ``'batchmean'`` (the sum divided by the
            batch size: the mathematical KL divergence) or ``'mean'`` (divided by
            the number of elements, with a warning as in torch).
        log_target: ``target`` holds log-probabilities.

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> logq = nb.tensor([[0.25, 0.75]]).log()
        >>> F.kl_div(logq, nb.tensor([[0.5, 0.5]]), reduction="batchmean")
        tensor(0.1438)
    """
    if reduction == "mean":
        warnings.warn(
            "kl_div: reduction 'mean' divides the total loss by both the batch size and the support size; "
            "'batchmean' divides only by the batch size and matches the math definition of the KL divergence",
            UserWarning,
            stacklevel=2,
        )
    value, derivs = (_kl_log_value, _kl_log_derivs) if log_target else (_kl_value, _kl_derivs)
    return _pointwise(
        KlDiv, "kl_div", input, target, value, derivs, reduction=reduction, reductions=_REDUCTIONS + ("batchmean",)
    )
