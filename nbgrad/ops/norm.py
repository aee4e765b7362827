"""Normalisation layers' functional forms: ``batch_norm layer_norm group_norm rms_norm``.

All four are one node class: statistics over some axes of the input (viewed
as ``(N, G, -1)`` for group norm), ``x_hat = (x - mean) / sqrt(var + eps)``
(no mean for RMS norm), then an optional per-channel or per-element affine
map. The backward is the closed form

    dx = rstd * (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat))

over the normalised axes (just ``rstd * dx_hat`` when the statistics are
constants, as for batch norm in eval mode), computed on arrays from the
forward's ``x_hat`` in an ordinary backward; under ``create_graph=True`` the
statistics are recomputed with Tensor ops and the same formula is recorded,
so second derivatives are exact.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nbgrad import backend
from nbgrad.autograd.function import Function
from nbgrad.autograd.grad_mode import STATE
from nbgrad.ops._util import check_same_device, describe
from nbgrad.ops.broadcast import sum_to, sum_to_array
from nbgrad.tensor import Tensor

__all__ = ["batch_norm", "group_norm", "layer_norm", "rms_norm"]


class _Spec(NamedTuple):
    view: "tuple | None"  # the shape statistics are taken on (group norm's (N, G, -1)); None: the input's
    axes: tuple  # the normalised axes of that view
    center: bool  # subtract the mean (False for RMS norm)
    eps: float
    affine: tuple  # the shape weight and bias are viewed as, to broadcast against the input
    stats: "tuple | None" = None  # (mean, rstd) arrays given instead of computed (batch norm in eval)
    running: "tuple | None" = None  # (running_mean, running_var, momentum) updated from batch statistics
    folds_weight: bool = False  # the weight is constant over each normalised group (batch norm)


def _mean(a, axes):
    """Mean over ``axes`` keeping them, for a Tensor (the create_graph path)."""
    return a.mean(dim=axes, keepdim=True)


def _sum_keep(a, axes: tuple):
    """Sum of an array over ``axes``, keeping them.

    Trailing axes of a C-contiguous array are summed as a BLAS matrix-vector
    product with a vector of ones, several times faster than ``sum`` for the
    short rows of normalisation layers; the remaining axes by ``sum``.
    """
    nd, shape = a.ndim, a.shape
    k = 0
    while k < len(axes) and axes[len(axes) - 1 - k] == nd - 1 - k:
        k += 1
    if k == 0 or not a.flags.c_contiguous:
        return a.sum(axis=axes, keepdims=True)
    size = 1
    for n in shape[nd - k :]:
        size *= n
    xp = backend.array_module(a)
    out = (a.reshape(-1, size) @ xp.ones(size, dtype=a.dtype)).reshape(shape[: nd - k] + (1,) * k)
    rest = axes[: len(axes) - k]
    return out.sum(axis=rest, keepdims=True) if rest else out


def _view(a, spec: _Spec):
    return a if spec.view is None else a.reshape(spec.view)


def _input_grad(gh, xhat, rstd, spec: _Spec):
    """``d loss / d x`` from ``gh = d loss / d x_hat``, with Tensor ops (recorded under create_graph)."""
    shape = tuple(gh.shape)
    gv, hv = _view(gh, spec), _view(xhat, spec)
    if spec.stats is not None:
        return (gv * rstd).reshape(shape)
    inner = hv * _mean(gv * hv, spec.axes)
    if spec.center:
        inner = inner + _mean(gv, spec.axes)
    return ((gv - inner) * rstd).reshape(shape)


def _array_grads(g, xhat, rstd, weight, spec: _Spec, needs):
    """The three gradients on arrays, in few full-size passes (the plain backward's hot path).

    ``dx = rstd * gh - rstd * mean(gh * x_hat) * x_hat - rstd * mean(gh)``
    with ``gh = g * weight``. For batch norm the weight is constant over each
    normalised group, so it folds into the per-channel factors and the sums
    are those of the weight and bias gradients.
    """
    need_x, need_w, need_b = needs
    shape, axes = g.shape, spec.axes
    gv, hv = _view(g, spec), _view(xhat, spec)
    n = hv.size // rstd.size
    gx = gw = gb = None
    if spec.folds_weight:
        # batch norm: per-channel sums serve dw, db and dx at once
        w = 1 if weight is None else weight.reshape(rstd.shape)
        gxh = gv * hv
        sum_gxh = _sum_keep(gxh, axes) if need_w or (need_x and spec.stats is None) else None
        sum_g = _sum_keep(gv, axes) if need_b or (need_x and spec.center and spec.stats is None) else None
        gw = None if not need_w else sum_gxh.reshape(weight.shape)
        gb = None if not need_b else sum_g.reshape(-1)
        if need_x:
            scale = rstd * w
            gx = gv * scale
            if spec.stats is None:
                gxh = np.multiply(hv, scale * (sum_gxh * (1 / n)), out=gxh)
                gx -= gxh
                if spec.center:
                    gx -= scale * (sum_g * (1 / n))
            gx = gx.reshape(shape)
        return gx, gw, gb
    if spec.view is None and spec.stats is None:
        return _trailing_grads(g, xhat, rstd, weight, spec, needs)
    if need_w:
        gw = sum_to_array(g * xhat, spec.affine).reshape(weight.shape)
    if need_b:
        gb = sum_to_array(g, spec.affine)
        gb = gb.reshape(-1) if spec.view is not None else gb  # group norm's (1, C, 1...) -> (C,)
    if need_x:
        gh = g if weight is None else g * weight.reshape(spec.affine)
        ghv = _view(gh, spec)
        if spec.stats is not None:
            return (ghv * rstd).reshape(shape), gw, gb
        tmp = ghv * hv
        proj = _sum_keep(tmp, axes) * (1 / n)
        gx = ghv * rstd
        gx -= np.multiply(hv, rstd * proj, out=tmp)
        if spec.center:
            gx -= rstd * (_sum_keep(ghv, axes) * (1 / n))
        gx = gx.reshape(shape)
    return gx, gw, gb


def _trailing_grads(g, xhat, rstd, weight, spec: _Spec, needs):
    """:func:`_array_grads` for layer and RMS norm, whose statistics and weight share the trailing axes.

    On ``(rows, k)`` matrices every per-row or per-column sum is a BLAS
    matrix-vector product, and ``mean(gh * x_hat)`` is ``(g * x_hat) @ w / k``,
    so the product made for the weight gradient serves the input gradient too.
    """
    need_x, need_w, need_b = needs
    xp = backend.array_module(g)
    k = rstd.size and xhat.size // rstd.size
    g2, h2, r2 = g.reshape(-1, k), xhat.reshape(-1, k), rstd.reshape(-1, 1)
    gxh = g2 * h2
    gw = gb = gx = None
    if need_w or need_b:
        ones = xp.ones(g2.shape[0], dtype=g.dtype)
        gw = (ones @ gxh).reshape(weight.shape) if need_w else None
        gb = (ones @ g2).reshape(spec.affine) if need_b else None
    if need_x:
        w = xp.ones(k, dtype=g.dtype) if weight is None else weight.reshape(k)
        proj = (gxh @ w)[:, None] * (1 / k)
        gx = g2 * w if weight is not None else g2.copy()
        if spec.center:
            gx -= (g2 @ w)[:, None] * (1 / k)
        gx -= np.multiply(h2, proj, out=gxh)
        gx *= r2
        gx = gx.reshape(g.shape)
    return gx, gw, gb


class Normalize(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, x, weight, bias, spec):
        a = x._data
        v = _view(a, spec)
        if spec.stats is not None:
            mean, rstd = spec.stats
            xhat = (v - mean) * rstd
        else:
            n = 1
            for i in spec.axes:
                n *= v.shape[i]
            if spec.center:
                mean = _sum_keep(v, spec.axes) * (1 / n)
                xhat = v - mean
            else:
                xhat = v
            var = _sum_keep(xhat * xhat, spec.axes) * (1 / n)
            rstd = 1 / np.sqrt(var + spec.eps)
            xhat = xhat * rstd if xhat is v else np.multiply(xhat, rstd, out=xhat)
            if spec.running is not None:
                _update_running(spec.running, mean, var, n)
        xhat = xhat.reshape(a.shape)
        out = xhat
        if weight is not None:
            out = xhat * weight._data.reshape(spec.affine)
        if bias is not None:
            b = bias._data.reshape(spec.affine)
            out = out + b if out is xhat else np.add(out, b, out=out)
        ctx.spec, ctx.xhat, ctx.rstd = spec, xhat, rstd
        return out

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, weight, bias, _ = inputs
        ctx.save_for_backward(x, weight, bias)

    @staticmethod
    def backward(ctx, grad):
        x, weight, bias = ctx.saved_tensors
        spec = ctx.spec
        needs = ctx.needs_input_grad[:3]
        if not STATE.enabled:
            w = None if weight is None else weight._data
            grads = _array_grads(grad._data, ctx.xhat, ctx.rstd, w, spec, needs)
            return (*(None if v is None else Tensor._wrap(v) for v in grads), None)
        # create_graph: the statistics as differentiable functions of x, the same formula on Tensors
        need_x, need_w, need_b = needs
        xhat, rstd = _recorded_statistics(x, spec)
        gx = gw = gb = None
        if need_x:
            gx = _input_grad(grad if weight is None else grad * weight.reshape(spec.affine), xhat, rstd, spec)
        if need_w:
            gw = sum_to(grad * xhat, spec.affine).reshape(tuple(weight.shape))
        if need_b:
            gb = sum_to(grad, spec.affine).reshape(tuple(bias.shape))
        return gx, gw, gb, None


class BatchNorm(Normalize):
    pass


class LayerNorm(Normalize):
    pass


class GroupNorm(Normalize):
    pass


class RmsNorm(Normalize):
    pass


def _recorded_statistics(x: Tensor, spec: _Spec):
    """``(x_hat, rstd)`` computed with Tensor ops, so that the backward can be differentiated."""
    v = _view(x, spec)
    if spec.stats is not None:
        mean, rstd = (Tensor._wrap(s) for s in spec.stats)
        return ((v - mean) * rstd).reshape(tuple(x.shape)), rstd
    xc = v - _mean(v, spec.axes) if spec.center else v
    rstd = (_mean(xc * xc, spec.axes) + spec.eps).rsqrt()
    return (xc * rstd).reshape(tuple(x.shape)), rstd


def _update_running(running, mean, var, n: int) -> None:
    """``running = (1 - momentum) running + momentum * batch`` in place, with the unbiased variance (torch's)."""
    running_mean, running_var, momentum = running
    for buf, stat in ((running_mean, mean), (running_var, var * (n / max(n - 1, 1)))):
        if buf is None:
            continue
        data = buf._data
        data *= 1 - momentum
        data += (momentum * stat).reshape(data.shape).astype(data.dtype, copy=False)
        buf._version[0] += 1


def _check_float(op: str, input) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input must be a floating point tensor, got dtype {input.dtype}")


def _check_param(op: str, name: str, t, shape: tuple, what: str) -> None:
    """``t`` is None or a Tensor of exactly ``shape``."""
    if t is None:
        return
    if not isinstance(t, Tensor) or tuple(t.shape) != shape:
        raise RuntimeError(f"{op}: expected {name} of shape {shape} ({what}), got {describe(t)}")


def batch_norm(
    input: Tensor,
    running_mean: "Tensor | None",
    running_var: "Tensor | None",
    weight: "Tensor | None" = None,
    bias: "Tensor | None" = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    r"""Batch normalisation over the batch and spatial axes, per channel (dimension 1).

    :math:`y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \gamma + \beta`.
    In training mode the statistics are the batch's (biased variance) and the
    running statistics, when given, are updated in place:
    ``running = (1 - momentum) * running + momentum * batch`` with the unbiased
    batch variance. Otherwise the running statistics normalise.

    Args:
        input: ``(N, C)``, ``(N, C, L)`` or ``(N, C, H, W)`` (any ``(N, C, *)``).
        running_mean, running_var: ``(C,)`` buffers, or ``None`` (training only).
        weight, bias: the affine ``(C,)`` parameters γ and β, or ``None``.
        training: use (and record) batch statistics.
        momentum: the weight of the batch in the running average.
        eps: added to the variance.

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> x = nb.tensor([[1.0, 2.0], [3.0, 6.0]])
        >>> rm, rv = nb.zeros(2), nb.ones(2)
        >>> F.batch_norm(x, rm, rv, training=True)
        tensor([[-1.0000, -1.0000],
                [ 1.0000,  1.0000]])
        >>> rm
        tensor([0.2000, 0.4000])
    """
    op = "batch_norm"
    _check_float(op, input)
    check_same_device(op, input, running_mean, running_var, weight, bias)
    if input.ndim < 2:
        raise ValueError(
            f"{op}: expected an input of shape (N, C, *) with at least 2 dimensions, got shape {tuple(input.shape)}"
        )
    shape = tuple(input.shape)
    c = shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        _check_param(op, name, t, (c,), f"one value per channel of the input of shape {shape}")
    affine = (1, c) + (1,) * (len(shape) - 2)
    # Statistics on the (N, C, L) view: the trailing axis is contiguous, a fast reduction.
    view, axes = (shape[0], c, -1), (0, 2)
    if training:
        if input.numel() // max(c, 1) <= 1:
            raise ValueError(f"{op}: expected more than 1 value per channel when training, got input of shape {shape}")
        running = None if running_mean is None and running_var is None else (running_mean, running_var, momentum)
        spec = _Spec(view, axes, True, eps, affine, running=running, folds_weight=True)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError(f"{op}: running_mean and running_var must be given when training=False")
        dtype = input.dtype
        mean = running_mean._data.reshape(1, c, 1).astype(dtype, copy=False)
        rstd = (1 / np.sqrt(running_var._data.reshape(1, c, 1) + eps)).astype(dtype, copy=False)
        spec = _Spec(view, axes, True, eps, affine, stats=(mean, rstd), folds_weight=True)
    return BatchNorm.apply(input, weight, bias, spec)


def _normalized_shape(normalized_shape) -> tuple:
    if isinstance(normalized_shape, int):
        return (normalized_shape,)
    return tuple(int(n) for n in normalized_shape)


def _check_trailing(op: str, input: Tensor, normalized_shape: tuple) -> None:
    k = len(normalized_shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k :]) != normalized_shape:
        raise RuntimeError(
            f"{op}: given normalized_shape={list(normalized_shape)}, expected input with shape "
            f"[*, {', '.join(map(str, normalized_shape))}], but got input of shape {tuple(input.shape)}"
        )


def layer_norm(
    input: Tensor,
    normalized_shape,
    weight: "Tensor | None" = None,
    bias: "Tensor | None" = None,
    eps: float = 1e-5,
) -> Tensor:
    r"""Layer normalisation over the last ``len(normalized_shape)`` dimensions.

    :math:`y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \gamma + \beta`,
    statistics per sample (biased variance), γ and β elementwise.

    Args:
        input: ``(*, *normalized_shape)``.
        normalized_shape: an int or a tuple: the trailing shape to normalise.
        weight, bias: of shape ``normalized_shape``, or ``None``.
        eps: added to the variance.

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> F.layer_norm(nb.tensor([[1.0, 3.0]]), (2,))
        tensor([[-1.0000,  1.0000]])
    """
    op = "layer_norm"
    _check_float(op, input)
    normalized_shape = _normalized_shape(normalized_shape)
    check_same_device(op, input, weight, bias)
    _check_trailing(op, input, normalized_shape)
    for name, t in (("weight", weight), ("bias", bias)):
        _check_param(op, name, t, normalized_shape, "normalized_shape")
    k = len(normalized_shape)
    spec = _Spec(None, tuple(range(input.ndim - k, input.ndim)), True, eps, normalized_shape)
    return LayerNorm.apply(input, weight, bias, spec)


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: "Tensor | None" = None,
    bias: "Tensor | None" = None,
    eps: float = 1e-5,
) -> Tensor:
    r"""Group normalisation: the channels split into ``num_groups`` groups, each normalised per sample.

    Args:
        input: ``(N, C, *)`` with ``C`` divisible by ``num_groups``.
        num_groups: the number of groups.
        weight, bias: ``(C,)`` per-channel affine parameters, or ``None``.
        eps: added to the variance.

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> F.group_norm(nb.tensor([[1.0, 3.0, 5.0, 5.0]]), 2)
        tensor([[-1.0000,  1.0000,  0.0000,  0.0000]])
    """
    op = "group_norm"
    _check_float(op, input)
    check_same_device(op, input, weight, bias)
    shape = tuple(input.shape)
    if input.ndim < 2:
        raise RuntimeError(f"{op}: expected an input of shape (N, C, *) with at least 2 dimensions, got shape {shape}")
    c = shape[1]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(
            f"{op}: expected the number of channels in the input ({c}, shape {shape}) to be divisible by "
            f"num_groups={num_groups}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        _check_param(op, name, t, (c,), f"one value per channel of the input of shape {shape}")
    spec = _Spec((shape[0], num_groups, -1), (2,), True, eps, (1, c) + (1,) * (len(shape) - 2))
    return GroupNorm.apply(input, weight, bias, spec)


def rms_norm(
    input: Tensor,
    normalized_shape,
    weight: "Tensor | None" = None,
    eps: "float | None" = None,
) -> Tensor:
    r"""Root-mean-square normalisation over the trailing ``normalized_shape``.

    :math:`y = x / \sqrt{\mathrm{E}[x^2] + \epsilon} \cdot \gamma`, the mean over the normalised dimensions.

    Args:
        input: ``(*, *normalized_shape)``.
        normalized_shape: an int or a tuple.
        weight: of shape ``normalized_shape``, or ``None``.
        eps: added to the mean square; ``None`` means ``finfo(input.dtype).eps`` (torch's default).

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> F.rms_norm(nb.tensor([[3.0, 4.0]]), (2,), eps=0.0)
        tensor([[0.8485, 1.1314]])
    """
    op = "rms_norm"
    _check_float(op, input)
    normalized_shape = _normalized_shape(normalized_shape)
    check_same_device(op, input, weight)
    _check_trailing(op, input, normalized_shape)
    _check_param(op, "weight", weight, normalized_shape, "normalized_shape")
    if eps is None:
        eps = float(np.finfo(input.dtype).eps)
    k = len(normalized_shape)
    spec = _Spec(None, tuple(range(input.ndim - k, input.ndim)), False, eps, normalized_shape)
    return RmsNorm.apply(input, weight, None, spec)
