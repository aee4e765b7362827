"""Moving and casting: ``to(device|dtype)``, ``cpu()``, ``cuda()``, ``float()``..., ``clone()``.

All of them are differentiable: the gradient goes back to the source device
and dtype. Nothing is ever moved between devices implicitly.
"""

from __future__ import annotations

from nbgrad import backend
from nbgrad.autograd.function import Function
from nbgrad.tensor import Tensor, register_method

__all__ = ["clone"]


class ToCopy(Function):
    """Copy to another device and/or dtype."""

    _builtin = True

    @staticmethod
    def forward(ctx, x, dev, dtype):
        ctx.source = (x.device, x.dtype)
        array = x._data
        if dtype is not None and array.dtype != dtype:
            array = array.astype(dtype)
        if dev is not None:
            array = backend.move(array, dev)
        return array

    @staticmethod
    def backward(ctx, grad):
        dev, dtype = ctx.source
        return ToCopy.apply(grad, dev, dtype), None, None


class Clone(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, x):
        return x._data.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad


@register_method("clone")
def clone(input: Tensor) -> Tensor:
    """A copy of ``input`` with its own memory; gradients flow back to ``input``."""
    return Clone.apply(input)


@register_method("contiguous")
def contiguous(input: Tensor) -> Tensor:
    """``input`` if it is C-contiguous, else a contiguous copy."""
    if input._data.flags.c_contiguous:
        return input
    return Clone.apply(input)


def _parse_to(args, kwargs):
    dev = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)
    copy = kwargs.pop("copy", False)
    if kwargs:
        raise TypeError(f"to: unexpected keyword argument(s) {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            dev, dtype = a.device, a.dtype
        elif isinstance(a, backend.device) or (isinstance(a, str) and a.split(":")[0] in ("cpu", "cuda")):
            dev = a
        elif a is not None:
            dtype = a
    return (
        backend.to_device(dev) if dev is not None else None,
        backend.to_dtype(dtype) if dtype is not None else None,
        copy,
    )


@register_method("to")
def to(input: Tensor, *args, **kwargs) -> Tensor:
    """Move and/or cast: ``x.to("cuda")``, ``x.to(nb.float64)``, ``x.to(other)``, ``x.to(device, dtype)``.

    Returns ``input`` itself when nothing changes (like torch).
    """
    dev, dtype, copy = _parse_to(args, kwargs)
    same_dev = dev is None or dev == input.device
    same_dtype = dtype is None or dtype == input.dtype
    if same_dev and same_dtype and not copy:
        return input
    if dev is not None and dev.type == "cuda":
        backend.require_cuda(dev)
    return ToCopy.apply(input, None if same_dev else dev, None if same_dtype else dtype)


def _cast_method(name: str, dtype):
    def cast(self) -> Tensor:
        return to(self, dtype)

    cast.__name__ = name
    cast.__doc__ = f"``self.to({backend.dtype_name(dtype)})``."
    register_method(name)(cast)


for _name, _dtype in (
    ("float", backend.float32),
    ("double", backend.float64),
    ("half", backend.float16),
    ("long", backend.int64),
    ("int", backend.int32),
    ("short", backend.int16),
    ("bool", backend.bool_),
    ("byte", backend.uint8),
    ("char", backend.int8),
):
    _cast_method(_name, _dtype)


@register_method("cpu")
def cpu(input: Tensor) -> Tensor:
    """A copy in host memory (``input`` itself when already there)."""
    return to(input, "cpu")


@register_method("cuda")
def cuda(input: Tensor, device=None) -> Tensor:
    """A copy on the GPU ``device`` (default ``cuda:0``)."""
    if device is None:
        device = "cuda"
    elif isinstance(device, int):
        device = backend.device("cuda", device)
    return to(input, device)


@register_method("type_as")
def type_as(input: Tensor, other: Tensor) -> Tensor:
    return to(input, other.dtype)
