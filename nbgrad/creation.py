"""Tensor factories: ``tensor``, ``zeros``, ``randn``, ``arange``, ``from_numpy``...

Python floats and lists of floats become float32 (the default dtype); Python
ints become int64; NumPy arrays keep their dtype, as in torch.
"""

from __future__ import annotations

import numbers

import numpy as np

from nbgrad import backend, random
from nbgrad.tensor import Tensor


def _shape_args(size, op: str) -> tuple:
    """Accept ``zeros(2, 3)``, ``zeros((2, 3))`` and ``zeros([2, 3])``."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    try:
        shape = tuple(int(s) for s in size)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: size must be ints or a tuple of ints, got {size!r}") from None
    if any(s < 0 for s in shape):
        raise RuntimeError(f"{op}: trying to create tensor with negative dimension: {shape}")
    return shape


def _infer_dtype(data, array: np.ndarray) -> np.dtype:
    """torch's rules: Python floats -> default dtype; NumPy arrays keep theirs."""
    if isinstance(data, np.ndarray) or isinstance(data, np.generic):
        return array.dtype
    if array.dtype.kind == "f":
        return backend.get_default_dtype()
    if array.dtype.kind in "iu":
        return backend.int64
    return array.dtype


def as_array(data, dtype=None, device=None, copy: bool = True):
    """An array (NumPy or CuPy) on ``device`` holding ``data`` with the dtype torch would pick."""
    dev = backend.to_device(device) if device is not None else None
    if isinstance(data, Tensor):
        array = data._data
        target = backend.to_dtype(dtype) if dtype is not None else array.dtype
        array = array.astype(target, copy=copy)
        return backend.move(array, dev) if dev is not None else array
    if backend.cupy_module() is not None and type(data).__module__.startswith("cupy"):
        array = data
        src_dtype = array.dtype
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flatten_first(data)):
            data = _tensors_to_host(data)
        try:
            array = np.array(data, copy=copy) if isinstance(data, np.ndarray) else np.asarray(data)
        except (ValueError, TypeError) as exc:
            raise TypeError(f"tensor: could not convert {type(data).__name__} to a tensor: {exc}") from None
        if array.dtype == object:
            raise TypeError(
                f"tensor: could not infer a numeric dtype from {type(data).__name__} (ragged or non-numeric data)"
            )
        src_dtype = _infer_dtype(data, array)
    target = backend.to_dtype(dtype) if dtype is not None else backend.to_dtype(src_dtype)
    if array.dtype != target:
        array = array.astype(target)
    if dev is not None:
        array = backend.move(array, dev)
    return array


def _flatten_first(data):
    while isinstance(data, (list, tuple)) and data:
        yield from (x for x in data if isinstance(x, Tensor))
        data = data[0]


def _tensors_to_host(data):
    if isinstance(data, Tensor):
        return backend.to_numpy(data._data)
    if isinstance(data, (list, tuple)):
        return [_tensors_to_host(x) for x in data]
    return data


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Build a tensor from data (a number, nested lists, a NumPy/CuPy array, a Tensor); always copies.

    Args:
        data: the values.
        dtype: the dtype; by default inferred (floats -> float32, ints -> int64).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or a :class:`nbgrad.device`.
        requires_grad: record ops on the result for autograd.

    Example::

        >>> import nbgrad as nb
        >>> nb.tensor([[1, 2], [3, 4]])
        tensor([[1, 2],
                [3, 4]])
    """
    return Tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like :func:`tensor` but shares memory with ``data`` when it can."""
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    return Tensor._wrap(as_array(data, dtype, device, copy=False))


def from_numpy(array: np.ndarray) -> Tensor:
    """A CPU tensor sharing memory with a NumPy array (changes show in both)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(array).__name__}")
    backend.to_dtype(array.dtype)  # raises for unsupported dtypes
    return Tensor._wrap(array)


def from_dlpack(obj) -> Tensor:
    """A tensor sharing memory with any DLPack producer (a torch/CuPy/JAX/NumPy array)."""
    dev_type = obj.__dlpack_device__()[0] if hasattr(obj, "__dlpack_device__") else 1
    if dev_type == 1:  # kDLCPU
        array = np.from_dlpack(obj)
    else:
        cp = backend.require_cuda(backend.device("cuda", obj.__dlpack_device__()[1]))
        array = cp.from_dlpack(obj)
    backend.to_dtype(array.dtype)
    return Tensor._wrap(array)


def _factory(xp_fn_name: str, op: str, size, dtype, device, requires_grad, **kwargs) -> Tensor:
    dev = backend.to_device(device)
    xp = backend.xp_for_device(dev)
    dtype = backend.to_dtype(dtype) if dtype is not None else backend.get_default_dtype()
    shape = _shape_args(size, op)
    with backend.device_context(dev):
        array = getattr(xp, xp_fn_name)(shape, dtype=dtype, **kwargs)
    return _finish(array, requires_grad)


def _finish(array, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros. Example: ``nb.zeros(2, 3)``."""
    return _factory("zeros", "zeros", size, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones. Example: ``nb.ones(2, 3)``."""
    return _factory("ones", "ones", size, dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor (its values are whatever memory held)."""
    return _factory("empty", "empty", size, dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value``; the dtype follows the value (float -> float32)."""
    if dtype is None:
        dtype = _scalar_dtype(fill_value)
    return _factory("full", "full", (size,), dtype, device, requires_grad, fill_value=fill_value)


def _scalar_dtype(value) -> np.dtype:
    if isinstance(value, bool):
        return backend.bool_
    if isinstance(value, numbers.Integral):
        return backend.int64
    return backend.get_default_dtype()


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 unless a bound is a float."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if dtype is None:
        is_int = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dtype = backend.int64 if is_int else backend.get_default_dtype()
    dev = backend.to_device(device)
    xp = backend.xp_for_device(dev)
    with backend.device_context(dev):
        array = xp.arange(start, end, step, dtype=backend.to_dtype(dtype))
    return _finish(array, requires_grad)


def linspace(start, end, steps: int, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    if steps < 0:
        raise RuntimeError(f"linspace: number of steps must be non-negative, got {steps}")
    dev = backend.to_device(device)
    xp = backend.xp_for_device(dev)
    dtype = backend.to_dtype(dtype) if dtype is not None else backend.get_default_dtype()
    with backend.device_context(dev):
        array = xp.linspace(start, end, steps, dtype=np.float64).astype(dtype)
    return _finish(array, requires_grad)


def eye(n: int, m: "int | None" = None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """The ``n x m`` identity matrix."""
    dev = backend.to_device(device)
    xp = backend.xp_for_device(dev)
    dtype = backend.to_dtype(dtype) if dtype is not None else backend.get_default_dtype()
    with backend.device_context(dev):
        array = xp.eye(n, m, dtype=dtype)
    return _finish(array, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1) from the generator seeded by :func:`nbgrad.manual_seed`."""
    return _random(size, dtype, device, requires_grad, "rand", lambda gen, shape, dt: gen.random(shape, dtype=dt))


def randn(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the generator seeded by :func:`nbgrad.manual_seed`."""
    return _random(
        size, dtype, device, requires_grad, "randn", lambda gen, shape, dt: gen.standard_normal(shape, dtype=dt)
    )


def _random(size, dtype, device, requires_grad, op, draw) -> Tensor:
    dev = backend.to_device(device)
    dtype = backend.to_dtype(dtype) if dtype is not None else backend.get_default_dtype()
    if dtype.kind != "f":
        raise TypeError(f"{op}: dtype must be floating point, got {backend.dtype_name(dtype)}")
    shape = _shape_args(size, op)
    gen = random.generator(dev)
    # float16 is drawn in float32: neither generator draws float16 directly.
    draw_dtype = dtype if dtype != backend.float16 else backend.float32
    with backend.device_context(dev):
        array = draw(gen, shape, draw_dtype).astype(dtype, copy=False)
    return _finish(array, requires_grad)


def randint(low, high=None, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Random integers in ``[low, high)``; ``randint(high, size)`` and ``randint(low, high, size)``."""
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint: size is required, e.g. randint(0, 10, (3,))")
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if high <= low:
        raise RuntimeError(f"randint: expected low < high, got low={low}, high={high}")
    dev = backend.to_device(device)
    shape = _shape_args((size,), "randint")
    dtype = backend.to_dtype(dtype) if dtype is not None else backend.int64
    gen = random.generator(dev)
    with backend.device_context(dev):
        array = gen.integers(low, high, size=shape).astype(dtype)
    return _finish(array, requires_grad)


def randperm(n: int, dtype=None, device=None) -> Tensor:
    """A random permutation of ``0..n-1``."""
    dev = backend.to_device(device)
    gen = random.generator(dev)
    with backend.device_context(dev):
        # argsort of uniform draws: the same code on NumPy's and CuPy's generators.
        array = gen.random(n).argsort().astype(backend.to_dtype(dtype) if dtype is not None else backend.int64)
    return Tensor._wrap(array)


def _like_factory(factory, name: str):
    """``name(input, ...)``: ``factory`` with ``input``'s shape, dtype and device unless overridden."""

    def like(input: Tensor, *fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        dtype = backend.to_dtype(dtype) if dtype is not None else input.dtype
        device = device if device is not None else input.device
        return factory(tuple(input.shape), *fill_value, dtype=dtype, device=device, requires_grad=requires_grad)

    like.__name__ = like.__qualname__ = name
    like.__doc__ = f"``{factory.__name__}`` with the shape (and by default dtype and device) of ``input``."
    return like


zeros_like = _like_factory(zeros, "zeros_like")
ones_like = _like_factory(ones, "ones_like")
empty_like = _like_factory(empty, "empty_like")
full_like = _like_factory(full, "full_like")
rand_like = _like_factory(rand, "rand_like")
randn_like = _like_factory(randn, "randn_like")
