"""``interpolate`` (nearest, nearest-exact, linear, bilinear, area) and the resampling node it shares with pooling.

Every mode here is separable and linear: along each spatial axis the output
is a fixed ``(out, in)`` matrix times the input. One node, :class:`Resample`,
applies those matrices with GEMMs; its backward is the same node with the
transposed matrices, so gradients of any order come for free. The matrices
follow torch's coordinate conventions exactly (``align_corners``, the
``scale_factor`` it was given, the nearest-neighbour float32 arithmetic), so
the results match torch's. Adaptive average pooling uses the same node with
averaging matrices.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from nbgrad import backend
from nbgrad.autograd.function import Function
from nbgrad.tensor import Tensor

__all__ = ["interpolate"]


# --------------------------------------------------------------------------- the matrices (NumPy, on the host)


def adaptive_matrix(n: int, m: int) -> np.ndarray:
    """(m, n) averaging matrix of adaptive pooling: row i averages ``[floor(i*n/m), ceil((i+1)*n/m))``."""
    a = np.zeros((m, n))
    for i in range(m):
        start, end = (i * n) // m, ((i + 1) * n + m - 1) // m
        a[i, start:end] = 1.0 / (end - start)
    return a


def _scale(n: int, m: int, scale, dtype) -> float:
    """torch's ``compute_scales_value``: 1/scale_factor when one was given, else in/out."""
    if scale is not None and scale > 0:
        return dtype.type(1.0 / scale)
    return dtype.type(n) / dtype.type(m)


def _nearest_matrix(n: int, m: int, scale, exact: bool) -> np.ndarray:
    """(m, n) one-hot rows picking torch's nearest source (float32 arithmetic, as torch's kernels do)."""
    dst = np.arange(m)
    if not exact and m == n:
        src = dst
    elif not exact and m == 2 * n:
        src = dst >> 1
    else:
        s = _scale(n, m, scale, np.dtype(np.float32))
        pos = (dst.astype(np.float32) + np.float32(0.5 if exact else 0.0)) * s
        src = np.minimum(np.floor(pos).astype(np.int64), n - 1)
    a = np.zeros((m, n))
    a[dst, src] = 1.0
    return a


def _linear_matrix(n: int, m: int, scale, align_corners: bool, dtype) -> np.ndarray:
    """(m, n) rows with the two linear-interpolation weights of torch's source index rule."""
    dtype = np.dtype(dtype)
    dst = np.arange(m, dtype=dtype)
    if align_corners:
        s = dtype.type(n - 1) / dtype.type(m - 1) if m > 1 else dtype.type(0)
        src = s * dst
    else:
        s = _scale(n, m, scale, dtype)
        src = np.maximum(s * (dst + dtype.type(0.5)) - dtype.type(0.5), dtype.type(0))
    i0 = src.astype(np.int64)
    lam = np.clip(src - i0, 0, 1)
    i1 = i0 + (i0 < n - 1)
    a = np.zeros((m, n))
    rows = np.arange(m)
    np.add.at(a, (rows, i0), 1 - lam)
    np.add.at(a, (rows, i1), lam)
    return a


# --------------------------------------------------------------------------- the node


def _apply(x, mats):
    """``x`` with ``mats[k]`` applied along its k-th trailing spatial axis (GEMMs; None skips an axis)."""
    nd = len(mats)
    for k, a in enumerate(mats):
        if a is None:
            continue
        axis = x.ndim - nd + k
        if axis == x.ndim - 1:
            x = x @ a.T
        elif axis == x.ndim - 2:
            x = a @ x
        else:  # a third spatial dim from the end: bring it last and back
            x = (x.swapaxes(axis, -1) @ a.T).swapaxes(axis, -1)
    return x


class Resample(Function):
    """``x`` times a fixed matrix along each trailing spatial axis; backward: the transposed matrices."""

    _builtin = True

    @staticmethod
    def forward(ctx, x, mats):
        ctx.mats = mats
        return _apply(x._data, mats)

    @staticmethod
    def backward(ctx, grad):
        return Resample.apply(grad, tuple(None if a is None else a.T for a in ctx.mats)), None


def resample(input: Tensor, mats) -> Tensor:
    """Apply host (NumPy) matrices along the trailing ``len(mats)`` axes, as one node (moved to input's device)."""
    xp = backend.array_module(input._data)
    dtype = input.dtype
    device_mats = tuple(
        None if a is None or _is_identity(a) else xp.asarray(np.ascontiguousarray(a, dtype=dtype)) for a in mats
    )
    return Resample.apply(input, device_mats)


def _is_identity(a: np.ndarray) -> bool:
    return a.shape[0] == a.shape[1] and np.array_equal(a, np.eye(a.shape[0]))


# --------------------------------------------------------------------------- functional API

_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "area")
_LINEAR_NDIM = {"linear": 3, "bilinear": 4}


def _output_sizes(input: Tensor, nd: int, size, scale_factor, recompute_scale_factor) -> tuple:
    """(output sizes, scale factors handed to the kernels or None), with torch's rules."""
    if size is not None and scale_factor is not None:
        raise ValueError("interpolate: only one of size or scale_factor should be defined")
    spatial = tuple(input.shape[2:])
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("interpolate: recompute_scale_factor is not meaningful with an explicit size")
        if isinstance(size, (tuple, list)):
            if len(size) != nd:
                raise ValueError(
                    f"interpolate: input of shape {tuple(input.shape)} has {nd} spatial dimensions {spatial}, "
                    f"but size {tuple(size)} has {len(size)}"
                )
            sizes = tuple(operator.index(s) for s in size)
        else:
            sizes = (operator.index(size),) * nd
        scales = None
    elif scale_factor is not None:
        if isinstance(scale_factor, (tuple, list)):
            if len(scale_factor) != nd:
                raise ValueError(
                    f"interpolate: input of shape {tuple(input.shape)} has {nd} spatial dimensions {spatial}, "
                    f"but scale_factor {tuple(scale_factor)} has {len(scale_factor)}"
                )
            scales = tuple(float(s) for s in scale_factor)
        else:
            scales = (float(scale_factor),) * nd
        sizes = tuple(math.floor(n * s) for n, s in zip(spatial, scales))
        if recompute_scale_factor:
            scales = None
    else:
        raise ValueError("interpolate: either size or scale_factor should be defined")
    if any(s <= 0 for s in sizes):
        raise ValueError(
            f"interpolate: the output size {sizes} for input of shape {tuple(input.shape)} must be positive"
        )
    return sizes, scales


def interpolate(
    input: Tensor,
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners=None,
    recompute_scale_factor=None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dims of ``input`` (torch's ``F.interpolate``, differentiable).

    Args:
        input: ``(N, C, L)`` for 1-d modes or ``(N, C, H, W)`` for 2-d ones (nearest and area take both).
        size: the output spatial size (int or tuple).
        scale_factor: multiplier of the spatial size (output = floor(input * scale_factor)); the
            coordinate mapping then uses ``1/scale_factor`` like torch, unless
            ``recompute_scale_factor=True``.
        mode: ``'nearest'``, ``'nearest-exact'``, ``'linear'`` (3-d input), ``'bilinear'`` (4-d input)
            or ``'area'`` (adaptive average pooling).
        align_corners: for linear modes: map the corner pixels' centres onto each other (True) or
            their outer edges (False, the default).
        recompute_scale_factor: compute the coordinate scale from the output size instead.
        antialias: not supported (raises for True).

    Shape:
        output: ``(N, C, *size)``.

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> F.interpolate(nb.tensor([[[1.0, 2.0]]]), scale_factor=2, mode="linear")
        tensor([[[1.0000, 1.2500, 1.7500, 2.0000]]])
    """
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported; expected one of {_MODES}")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    linear = mode in _LINEAR_NDIM
    if align_corners is not None and not linear:
        raise ValueError(
            "interpolate: align_corners option can only be set with the interpolating modes: linear | bilinear"
        )
    if input.ndim not in (3, 4):
        raise NotImplementedError(
            f"interpolate: expected a 3-d (N, C, L) or 4-d (N, C, H, W) input, got shape {tuple(input.shape)}"
        )
    if linear and input.ndim != _LINEAR_NDIM[mode]:
        raise NotImplementedError(
            f"interpolate: got {input.ndim}D input of shape {tuple(input.shape)}, but {mode} mode needs "
            f"{_LINEAR_NDIM[mode]}D input"
        )
    if input.dtype.kind != "f":
        raise RuntimeError(f"interpolate: expected a floating point input, got {input.dtype}")
    nd = input.ndim - 2
    if mode == "area" and size is None:
        recompute_scale_factor = True
    sizes, scales = _output_sizes(input, nd, size, scale_factor, recompute_scale_factor)
    spatial = tuple(input.shape[2:])
    scales = scales or (None,) * nd
    if mode == "area":
        mats = [adaptive_matrix(n, m) for n, m in zip(spatial, sizes)]
    elif linear:
        mats = [_linear_matrix(n, m, s, bool(align_corners), input.dtype) for n, m, s in zip(spatial, sizes, scales)]
    else:
        mats = [_nearest_matrix(n, m, s, mode == "nearest-exact") for n, m, s in zip(spatial, sizes, scales)]
    return resample(input, mats)
