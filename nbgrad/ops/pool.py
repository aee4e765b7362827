"""Pooling: ``max_pool1d max_pool2d avg_pool1d avg_pool2d adaptive_avg_pool1d adaptive_avg_pool2d``.

Each pool is one graph node. The kernel loops over the ``kH*kW`` window
offsets, each a strided view of the (padded) input, so every step is one big
vectorised operation whatever the layout (channels-last outputs of a conv
stay channels-last). Max pooling keeps the winning offset per output (one
byte each) instead of the input: the backward scatters the gradient to it,
ties going to the first offset and NaN winning, as in torch.

Both pools are linear in the gradient, so their backward is a node too (a
scatter whose own backward is the matching gather): ``create_graph=True``
works. Adaptive average pooling is a fixed linear resampling; it shares
that code with :func:`nbgrad.nn.functional.interpolate`.
"""

from __future__ import annotations

import numpy as np

from nbgrad import backend
from nbgrad.autograd.function import Function
from nbgrad.ops.conv import as_4d, canonical_4d, check_input_ndim, check_positive, expand_arg
from nbgrad.ops.interpolate import adaptive_matrix, resample
from nbgrad.tensor import Tensor

__all__ = ["adaptive_avg_pool1d", "adaptive_avg_pool2d", "avg_pool1d", "avg_pool2d", "max_pool1d", "max_pool2d"]


class PoolSpec:
    """The geometry of one pooling, canonical 2-d (1-d pools have unit height).

    Attributes:
        nd: the caller's number of spatial dims; kernel, stride, padding, dilation: ``(h, w)`` pairs.
        out_hw: output (Ho, Wo); extra: zeros/-inf added after the input beyond ``padding`` so that
            ceil_mode windows fit.
    """

    __slots__ = ("nd", "kernel", "stride", "padding", "dilation", "out_hw", "extra")

    def __init__(self, nd, kernel, stride, padding, dilation, in_hw, ceil_mode):
        if nd == 1:
            kernel, stride, padding, dilation = (1, *kernel), (1, *stride), (0, *padding), (1, *dilation)
        self.nd, self.kernel, self.stride, self.padding, self.dilation = nd, kernel, stride, padding, dilation
        self.out_hw = tuple(_out_len(*a, ceil_mode) for a in zip(in_hw, kernel, stride, padding, dilation))
        self.extra = tuple(
            max(0, (o - 1) * s + d * (k - 1) + 1 - (n + p))
            for o, s, d, k, n, p in zip(self.out_hw, stride, dilation, kernel, in_hw, padding)
        )

    def windows(self):
        """``(offset number, (i, j), index)`` of every kernel offset: index selects it from the padded input."""
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        ho, wo = self.out_hw
        for i in range(kh):
            rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
            for j in range(kw):
                yield i * kw + j, (i, j), (Ellipsis, rows, slice(j * dw, j * dw + sw * (wo - 1) + 1, sw))

    def disjoint(self) -> bool:
        """Whether no input element lies in two windows (the backward may then assign instead of add)."""
        return all(k == 1 or s >= d * (k - 1) + 1 for k, s, d in zip(self.kernel, self.stride, self.dilation))


def _out_len(n, k, s, p, d, ceil_mode) -> int:
    """torch's pooling output size, including its ceil_mode rule (the last window must start inside)."""
    span = n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = span // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _alloc(like, shape: tuple, fill, dtype=None):
    """An array of ``shape`` filled with ``fill`` (None: uninitialised), channels-last in memory when ``like`` is."""
    xp = backend.array_module(like)
    dtype = like.dtype if dtype is None else dtype
    channels_last = like.shape[1] > 1 and like.transpose(0, 2, 3, 1).flags.c_contiguous
    n, c, h, w = shape
    alloc_shape = (n, h, w, c) if channels_last else shape
    if fill is None:
        out = xp.empty(alloc_shape, dtype=dtype)
    elif fill == 0:
        out = xp.zeros(alloc_shape, dtype=dtype)
    else:
        out = xp.full(alloc_shape, fill, dtype=dtype)
    return out.transpose(0, 3, 1, 2) if channels_last else out


def _padded(x, spec: PoolSpec, fill):
    """``x`` surrounded by ``fill`` (padding, plus the ceil_mode overhang), or ``x`` itself when none is needed."""
    (ph, pw), (eh, ew) = spec.padding, spec.extra
    if not (ph or pw or eh or ew):
        return x
    n, c, h, w = x.shape
    out = _alloc(x, (n, c, h + 2 * ph + eh, w + 2 * pw + ew), fill)
    out[:, :, ph : ph + h, pw : pw + w] = x
    return out


def _unpadded(padded, spec: PoolSpec, hw: tuple):
    (ph, pw), (h, w) = spec.padding, hw
    return padded[:, :, ph : ph + h, pw : pw + w]


def _lowest(dtype):
    """The padding value of max pooling: below every value of ``dtype``."""
    return float("-inf") if dtype.kind == "f" else np.iinfo(dtype).min


# --------------------------------------------------------------------------- max pooling


def _max_pool_array(x, spec: PoolSpec):
    """(max over each window, winning offset per output) for a canonical (N, C, H, W) array."""
    xp = backend.array_module(x)
    padded = _padded(x, spec, _lowest(x.dtype))
    n_offsets = spec.kernel[0] * spec.kernel[1]
    best = arg = None
    # Plain ufuncs only: ``where=``/``copyto(where=)`` are several times slower than a compare
    # and a maximum. Offsets are visited in order, so "the latest winning offset" is a maximum too.
    for k, _, index in spec.windows():
        v = padded[index]
        if best is None:
            best = v.copy(order="K")
            arg = xp.zeros_like(best, dtype=xp.uint8 if n_offsets < 256 else xp.int32)
            continue
        wins = v > best  # strict: ties keep the first offset, like torch
        xp.maximum(arg, xp.multiply(wins, k, dtype=arg.dtype), out=arg)
        xp.maximum(best, v, out=best)
    if best.dtype.kind == "f" and xp.isnan(best).any():
        arg = _nan_winners(padded, spec, arg)
    return best, arg


def _nan_winners(padded, spec: PoolSpec, arg):
    """torch's rule where a window holds NaN: the last NaN wins (rare, so done in a second pass)."""
    xp = backend.array_module(padded)
    arg = arg.copy()
    for k, _, index in spec.windows():
        nan = xp.isnan(padded[index])
        arg[nan] = k
    return arg


def _covers_all(spec: PoolSpec, hw: tuple) -> bool:
    """Whether the windows tile the unpadded input exactly (kernel == stride, no gaps): each element in one."""
    geometry = zip(spec.out_hw, spec.stride, hw, spec.kernel, spec.dilation)
    return not any(spec.padding) and all(d == 1 and k == s and o * s == n for o, s, n, k, d in geometry)


def _scatter_array(grad, arg, spec: PoolSpec, x_shape: tuple):
    """Each output gradient added to the input element its window's winner came from."""
    xp = backend.array_module(grad)
    n, c, h, w = x_shape
    (ph, pw), (eh, ew) = spec.padding, spec.extra
    shape = (n, c, h + 2 * ph + eh, w + 2 * pw + ew)
    disjoint = spec.disjoint()
    # Windows that tile the input write every element once: no zero fill needed.
    out = _alloc(arg, shape, None, grad.dtype) if _covers_all(spec, (h, w)) else _alloc(arg, shape, 0, grad.dtype)
    for k, _, index in spec.windows():
        if disjoint:
            xp.multiply(grad, arg == k, out=out[index])
        else:
            out[index] += grad * (arg == k)
    return _unpadded(out, spec, (h, w))


def _gather_array(x, arg, spec: PoolSpec):
    """The input element at each window's winning offset (the adjoint of the scatter)."""
    xp = backend.array_module(x)
    padded = _padded(x, spec, 0)
    out = xp.zeros_like(arg, dtype=x.dtype)
    for k, _, index in spec.windows():
        xp.copyto(out, padded[index], where=arg == k)
    return out


def _flat_indices(arg, spec: PoolSpec, width: int):
    """torch's ``return_indices``: the winner's flat position ``row * W + col`` in its (unpadded) input plane."""
    xp = backend.array_module(arg)
    (_, kw), (sh, sw), (ph, pw), (dh, dw) = spec.kernel, spec.stride, spec.padding, spec.dilation
    ho, wo = spec.out_hw
    arg = arg.astype(xp.int64)
    rows = xp.arange(ho).reshape(ho, 1) * sh - ph + (arg // kw) * dh
    cols = xp.arange(wo) * sw - pw + (arg % kw) * dw
    return rows * width + cols


def _logical(array, like_shape: tuple, nd: int):
    """A canonical 4-d result reshaped for the caller (1-d drops the unit height, unbatched the unit batch)."""
    n, c, h, w = array.shape
    spatial = (w,) if nd == 1 else (h, w)
    return array.reshape((c, *spatial) if len(like_shape) == nd + 1 else (n, c, *spatial))


class MaxPool(Function):
    """Max over each window; backward scatters to the winners (``MaxPoolScatter``)."""

    _builtin = True

    @staticmethod
    def forward(ctx, x, spec):
        out, arg = _max_pool_array(as_4d(x._data, spec.nd), spec)
        ctx.spec, ctx.arg, ctx.x_shape = spec, arg, tuple(x.shape)
        return _logical(out, x.shape, spec.nd)

    @staticmethod
    def backward(ctx, grad):
        return MaxPoolScatter.apply(grad, ctx.arg, ctx.spec, ctx.x_shape), None


class MaxPoolWithIndices(MaxPool):
    """:class:`MaxPool` that also returns torch's flat indices (a second, non-differentiable output)."""

    _n_outputs = 2

    @staticmethod
    def forward(ctx, x, spec):
        out = MaxPool.forward(ctx, x, spec)
        indices = Tensor._wrap(_logical(_flat_indices(ctx.arg, spec, x.shape[-1]), x.shape, spec.nd))
        ctx.mark_non_differentiable(indices)
        return out, indices

    @staticmethod
    def backward(ctx, grad, _):
        return MaxPool.backward(ctx, grad)


class MaxPoolScatter(Function):
    """The max-pool gradient: ``grad`` added at the winning offsets; its backward is the gather."""

    _builtin = True

    @staticmethod
    def forward(ctx, grad, arg, spec, x_shape):
        ctx.spec, ctx.arg, ctx.out_shape = spec, arg, tuple(grad.shape)
        x4 = canonical_4d(x_shape, spec.nd)
        return _scatter_array(as_4d(grad._data, spec.nd), arg, spec, x4).reshape(x_shape)

    @staticmethod
    def backward(ctx, gg):
        return MaxPoolGather.apply(gg, ctx.arg, ctx.spec, ctx.out_shape), None, None, None


class MaxPoolGather(Function):
    """The input values at the winning offsets (``max_pool`` with the winners fixed); backward: the scatter."""

    _builtin = True

    @staticmethod
    def forward(ctx, x, arg, spec, out_shape):
        ctx.spec, ctx.arg, ctx.x_shape = spec, arg, tuple(x.shape)
        return _gather_array(as_4d(x._data, spec.nd), arg, spec).reshape(out_shape)

    @staticmethod
    def backward(ctx, grad):
        return MaxPoolScatter.apply(grad, ctx.arg, ctx.spec, ctx.x_shape), None, None, None


# --------------------------------------------------------------------------- average pooling


def _divisor(spec: PoolSpec, in_hw: tuple, count_include_pad: bool, divisor_override, xp, dtype):
    """The (Ho, Wo) divisor of each window (torch's rule: padding counts, the ceil_mode overhang never does)."""
    if divisor_override is not None:
        return divisor_override
    sizes = []
    for n, k, s, p, o in zip(in_hw, spec.kernel, spec.stride, spec.padding, spec.out_hw):
        start = xp.arange(o) * s - p
        end = xp.minimum(start + k, n + p)
        if count_include_pad:
            sizes.append(end - start)
        else:
            sizes.append(xp.minimum(end, n) - xp.maximum(start, 0))
    return (sizes[0].reshape(-1, 1) * sizes[1]).astype(dtype)


class AvgPool(Function):
    """Mean over each window; backward spreads the gradient evenly (``AvgPoolAdjoint``)."""

    _builtin = True

    @staticmethod
    def forward(ctx, x, spec, count_include_pad, divisor_override):
        x4 = as_4d(x._data, spec.nd)
        xp = backend.array_module(x4)
        padded = _padded(x4, spec, 0)
        out = None
        for _, _, index in spec.windows():
            out = padded[index].copy(order="K") if out is None else out.__iadd__(padded[index])
        out /= _divisor(spec, x4.shape[2:], count_include_pad, divisor_override, xp, x4.dtype)
        ctx.args = (spec, count_include_pad, divisor_override, tuple(x.shape))
        return _logical(out, x.shape, spec.nd)

    @staticmethod
    def backward(ctx, grad):
        return AvgPoolAdjoint.apply(grad, *ctx.args), None, None, None


class AvgPoolAdjoint(Function):
    """The avg-pool gradient: each output gradient, divided by its window size, added over its window."""

    _builtin = True

    @staticmethod
    def forward(ctx, grad, spec, count_include_pad, divisor_override, x_shape):
        g4 = as_4d(grad._data, spec.nd)
        xp = backend.array_module(g4)
        n, c, h, w = canonical_4d(x_shape, spec.nd)
        g4 = g4 / _divisor(spec, (h, w), count_include_pad, divisor_override, xp, g4.dtype)
        (ph, pw), (eh, ew) = spec.padding, spec.extra
        out = _alloc(g4, (n, c, h + 2 * ph + eh, w + 2 * pw + ew), 0)
        for _, _, index in spec.windows():
            out[index] += g4
        ctx.args = (spec, count_include_pad, divisor_override)
        return _unpadded(out, spec, (h, w)).reshape(x_shape)

    @staticmethod
    def backward(ctx, gg):
        return AvgPool.apply(gg, *ctx.args), None, None, None, None


# --------------------------------------------------------------------------- functional API


def _pool_spec(op: str, nd: int, input: Tensor, kernel_size, stride, padding, dilation, ceil_mode, avg: bool):
    layout = "(N, C, L)" if nd == 1 else "(N, C, H, W)"
    check_input_ndim(input, nd, op, layout)
    kernel = expand_arg(kernel_size, nd, "kernel_size", op)
    stride = (
        kernel
        if stride is None or (isinstance(stride, (tuple, list)) and not stride)
        else expand_arg(stride, nd, "stride", op)
    )
    pads = expand_arg(padding, nd, "padding", op)
    dilation = expand_arg(dilation, nd, "dilation", op)
    check_positive(kernel, "kernel_size", op)
    check_positive(stride, "stride", op)
    check_positive(dilation, "dilation", op)
    if any(p < 0 for p in pads):
        raise RuntimeError(f"{op}: padding must be non-negative, got {pads}")
    # torch's limit: a window may not lie entirely in the padding.
    limits = tuple(k // 2 for k in kernel) if avg else tuple((d * (k - 1) + 1) // 2 for k, d in zip(kernel, dilation))
    if any(p > lim for p, lim in zip(pads, limits)):
        what = "kernel size" if avg else "effective kernel size"
        raise RuntimeError(
            f"{op}: pad should be at most half of {what}, but got padding={pads}, "
            f"kernel_size={kernel}" + ("" if avg else f" and dilation={dilation}")
        )
    in_hw = canonical_4d(tuple(input.shape), nd)[2:]
    spec = PoolSpec(nd, kernel, stride, pads, dilation, in_hw, bool(ceil_mode))
    if any(o < 1 for o in spec.out_hw):
        out = spec.out_hw[1:] if nd == 1 else spec.out_hw
        raise RuntimeError(
            f"{op}: input of shape {tuple(input.shape)} is too small: the output size would be "
            f"{out} with kernel_size={kernel}, stride={stride}, padding={pads}, dilation={dilation}"
        )
    return spec


def _max_pool(op, nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    spec = _pool_spec(op, nd, input, kernel_size, stride, padding, dilation, ceil_mode, avg=False)
    if return_indices:
        return MaxPoolWithIndices.apply(input, spec)
    return MaxPool.apply(input, spec)


def max_pool1d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """1-d max pooling over an input of several planes.

    Args:
        input: ``(N, C, L)`` or unbatched ``(C, L)``.
        kernel_size: window length.
        stride: step between windows (default ``kernel_size``).
        padding: implicit ``-inf`` added on both sides (at most half the effective window).
        dilation: spacing between window elements.
        ceil_mode: round the output length up (a last partial window), not down.
        return_indices: also return the position of each maximum in its input row.

    Shape:
        output: ``(N, C, L_out)``, ``L_out = (L + 2*padding - dilation*(kernel_size-1) - 1) // stride + 1``.

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> F.max_pool1d(nb.tensor([[[1.0, 3.0, 2.0, 5.0, 4.0]]]), 2)
        tensor([[[3., 5.]]])
    """
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """2-d max pooling over an input of several planes.

    Args:
        input: ``(N, C, H, W)`` or unbatched ``(C, H, W)``.
        kernel_size: window size (int or pair).
        stride: step between windows (default ``kernel_size``).
        padding: implicit ``-inf`` added on both sides (at most half the effective window).
        dilation: spacing between window elements.
        ceil_mode: round the output size up (last partial windows), not down.
        return_indices: also return each maximum's flat position ``h * W + w`` in its input plane
            (as ``F.max_unpool2d`` expects).

    Shape:
        output: ``(N, C, H_out, W_out)``, ``H_out = (H + 2*pH - dH*(kH-1) - 1) // sH + 1`` (same for W).

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> F.max_pool2d(nb.arange(16.0).reshape(1, 1, 4, 4), 2)
        tensor([[[[ 5.,  7.],
                  [13., 15.]]]])
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _avg_pool(op, nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    spec = _pool_spec(op, nd, input, kernel_size, stride, padding, 1, ceil_mode, avg=True)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError(f"{op}: divisor_override must be non-zero")
    if input.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating point input, got {input.dtype}")
    return AvgPool.apply(input, spec, bool(count_include_pad), divisor_override)


def avg_pool1d(
    input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True
) -> Tensor:
    """1-d average pooling over an input of several planes.

    Args:
        input: ``(N, C, L)`` or unbatched ``(C, L)``.
        kernel_size: window length.
        stride: step between windows (default ``kernel_size``).
        padding: implicit zeros on both sides (at most half the window).
        ceil_mode: round the output length up (a last partial window), not down.
        count_include_pad: whether the padding zeros count in the mean.

    Shape:
        output: ``(N, C, L_out)``, ``L_out = (L + 2*padding - kernel_size) // stride + 1``.

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> F.avg_pool1d(nb.tensor([[[1.0, 3.0, 2.0, 6.0]]]), 2)
        tensor([[[2., 4.]]])
    """
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override=None,
) -> Tensor:
    """2-d average pooling over an input of several planes.

    Args:
        input: ``(N, C, H, W)`` or unbatched ``(C, H, W)``.
        kernel_size: window size (int or pair).
        stride: step between windows (default ``kernel_size``).
        padding: implicit zeros on both sides (at most half the window).
        ceil_mode: round the output size up (last partial windows), not down.
        count_include_pad: whether the padding zeros count in the mean.
        divisor_override: divide every window sum by this instead of the window size.

    Shape:
        output: ``(N, C, H_out, W_out)``, ``H_out = (H + 2*pH - kH) // sH + 1`` (same for W).

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> F.avg_pool2d(nb.arange(16.0).reshape(1, 1, 4, 4), 2)
        tensor([[[[ 2.5000,  4.5000],
                  [10.5000, 12.5000]]]])
    """
    return _avg_pool(
        "avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


def _adaptive_avg_pool(op: str, nd: int, input: Tensor, output_size) -> Tensor:
    check_input_ndim(input, nd, op, "(N, C, L)" if nd == 1 else "(N, C, H, W)")
    if isinstance(output_size, (tuple, list)) and len(output_size) == nd:
        sizes = tuple(input.shape[-nd + i] if s is None else s for i, s in enumerate(output_size))
    elif output_size is None:
        sizes = tuple(input.shape[-nd:])
    else:
        sizes = output_size
    sizes = expand_arg(sizes, nd, "output_size", op)
    if any(s <= 0 for s in sizes):
        raise RuntimeError(f"{op}: output_size must be positive, got {sizes}")
    if any(n == 0 for n in input.shape[-nd:]):
        raise RuntimeError(f"{op}: input of shape {tuple(input.shape)} has an empty spatial dimension")
    if input.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating point input, got {input.dtype}")
    mats = [adaptive_matrix(n, m) for n, m in zip(input.shape[-nd:], sizes)]
    return resample(input, mats)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """1-d adaptive average pooling: ``output_size`` windows that tile the input (torch's start/end rule).

    Args:
        input: ``(N, C, L)`` or unbatched ``(C, L)``.
        output_size: the output length.

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> F.adaptive_avg_pool1d(nb.tensor([[[1.0, 2.0, 3.0, 4.0, 5.0]]]), 2)
        tensor([[[2., 4.]]])
    """
    return _adaptive_avg_pool("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """2-d adaptive average pooling: windows ``[floor(i*H/Ho), ceil((i+1)*H/Ho))`` that tile the input.

    Args:
        input: ``(N, C, H, W)`` or unbatched ``(C, H, W)``.
        output_size: ``(Ho, Wo)`` or one int for both; ``None`` in the tuple keeps that input size.

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> F.adaptive_avg_pool2d(nb.ones(2, 3, 7, 5), (2, None)).shape
        nbgrad.Size([2, 3, 2, 5])
    """
    return _adaptive_avg_pool("adaptive_avg_pool2d", 2, input, output_size)
