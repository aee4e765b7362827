"""The one place that knows NumPy from CuPy: devices, array modules and dtypes.

Every op is written once against an array module ``xp`` that this file
resolves from the arrays involved. CuPy is imported lazily, the first time a
``cuda`` device is asked for, so ``import nbgrad`` never touches it.
"""

from __future__ import annotations

import numpy as np

# ----------------------------------------------------------------------------
# dtypes: nbgrad's dtypes are NumPy dtype objects (CuPy uses the same ones).

# (torch's aliases float/int/long/... are exported by nbgrad/__init__.py, not
# here, so that this module never shadows Python's builtins.)
float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
int8 = np.dtype("int8")
int16 = np.dtype("int16")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
uint8 = np.dtype("uint8")
bool_ = np.dtype("bool")

DTYPES = {
    "float16": float16,
    "half": float16,
    "float32": float32,
    "float": float32,
    "float64": float64,
    "double": float64,
    "int8": int8,
    "int16": int16,
    "short": int16,
    "int32": int32,
    "int": int32,
    "int64": int64,
    "long": int64,
    "uint8": uint8,
    "bool": bool_,
}
SUPPORTED_DTYPES = frozenset(DTYPES.values())

_default_dtype = float32


def get_default_dtype() -> np.dtype:
    """Return the dtype that Python floats and float factories produce (float32)."""
    return _default_dtype


def set_default_dtype(dtype) -> None:
    """Set the default floating point dtype (``nb.float32`` or ``nb.float64``)."""
    global _default_dtype
    dtype = to_dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: only floating point dtypes are allowed, got {dtype_name(dtype)}")
    _default_dtype = dtype


def to_dtype(dtype) -> np.dtype:
    """Normalise anything dtype-like (``nb.float32``, ``"float32"``, ``np.float32``) to a dtype."""
    if isinstance(dtype, np.dtype) and dtype in SUPPORTED_DTYPES:
        return dtype
    if isinstance(dtype, str) and dtype in DTYPES:
        return DTYPES[dtype]
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved not in SUPPORTED_DTYPES:
        names = ", ".join(sorted({dtype_name(d) for d in SUPPORTED_DTYPES}))
        raise TypeError(f"unsupported dtype {dtype!r}; nbgrad supports {names}")
    return resolved


def dtype_name(dtype) -> str:
    """``nbgrad.float32`` style name used in reprs and error messages."""
    return f"nbgrad.{np.dtype(dtype).name}"


def is_floating(dtype) -> bool:
    return dtype.kind == "f"


# ----------------------------------------------------------------------------
# devices


class device:
    """Where a tensor's data lives: ``device("cpu")``, ``device("cuda")``, ``device("cuda:1")``.

    Args:
        type: ``"cpu"`` or ``"cuda"``, optionally followed by ``":index"``.
        index: the GPU ordinal, when not given in ``type``.

    Example::

        >>> import nbgrad as nb
        >>> nb.device("cpu")
        device(type='cpu')
    """

    __slots__ = ("type", "index")

    def __init__(self, type: "str | device" = "cpu", index: "int | None" = None):
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string like 'cpu' or 'cuda:0', got {type!r}")
        name, _, idx = type.partition(":")
        if name not in ("cpu", "cuda"):
            raise ValueError(f"device: unknown device type {name!r}; expected 'cpu' or 'cuda'")
        if idx:
            if index is not None or not idx.isdigit():
                raise ValueError(f"device: malformed device string {type!r}")
            index = int(idx)
        if name == "cpu" and index not in (None, 0):
            raise ValueError(f"device: the cpu has no index {index}")
        if name == "cuda" and index is None:
            index = 0
        self.type = name
        self.index = index if name == "cuda" else None

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"


CPU = device("cpu")


def to_device(dev) -> device:
    """Normalise ``None``/str/device to a :class:`device` (``None`` means the cpu)."""
    if dev is None:
        return CPU
    if type(dev) is device:
        return dev
    return device(dev)


# ----------------------------------------------------------------------------
# CuPy, lazily

_cupy = None
_cupy_checked = False


def cupy_module():
    """The ``cupy`` module, or ``None`` when CuPy is not installed."""
    global _cupy, _cupy_checked
    if not _cupy_checked:
        _cupy_checked = True
        try:
            import cupy  # noqa: PLC0415 - lazy on purpose: import nbgrad must not import cupy
        except Exception:  # ImportError, or a broken CUDA install
            _cupy = None
        else:
            _cupy = cupy
    return _cupy


def cuda_available() -> bool:
    """True when CuPy is installed and at least one GPU answers."""
    cp = cupy_module()
    if cp is None:
        return False
    try:
        return cp.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def require_cuda(dev: device):
    """Return cupy for ``dev`` or raise an error that says what is missing."""
    cp = cupy_module()
    if cp is None:
        raise RuntimeError(
            f"device {dev}: CuPy is not installed; install nbgrad with the 'cuda12' or 'cuda13' extra "
            "(pip install 'nbgrad[cuda12]')"
        )
    if not cuda_available():
        raise RuntimeError(
            f"device {dev}: CuPy is installed but no CUDA GPU is available (nb.cuda.is_available() is False)"
        )
    count = cp.cuda.runtime.getDeviceCount()
    if dev.index >= count:
        raise RuntimeError(f"device {dev}: only {count} CUDA device(s) are visible")
    return cp


def xp_for_device(dev: device):
    """Array module for a device: numpy for the cpu, cupy for cuda."""
    if dev.type == "cpu":
        return np
    return require_cuda(dev)


def array_module(array):
    """Array module (numpy or cupy) that owns ``array``."""
    if type(array) is np.ndarray:
        return np
    cp = _cupy
    if cp is not None and isinstance(array, cp.ndarray):
        return cp
    return np


def device_of(array) -> device:
    """The :class:`device` where ``array`` lives."""
    if type(array) is np.ndarray:
        return CPU
    cp = _cupy
    if cp is not None and isinstance(array, cp.ndarray):
        return _cuda_device(array.device.id)
    return CPU


_cuda_devices: dict = {}


def _cuda_device(index: int) -> device:
    dev = _cuda_devices.get(index)
    if dev is None:
        dev = _cuda_devices[index] = device("cuda", index)
    return dev


def move(array, dev: device):
    """Copy ``array`` to ``dev`` (no copy when it already lives there)."""
    src = device_of(array)
    if src == dev:
        return array
    if dev.type == "cpu":
        return array.get()
    cp = require_cuda(dev)
    with cp.cuda.Device(dev.index):
        # cp.array copies, also from another GPU (cp.asarray would return a cupy array as is).
        return cp.array(array)


def to_numpy(array) -> np.ndarray:
    """Host copy of ``array`` (no copy for numpy arrays)."""
    if type(array) is np.ndarray:
        return array
    return array.get() if hasattr(array, "get") else np.asarray(array)


def device_context(dev: device):
    """Context manager that makes ``dev`` current (a no-op for the cpu)."""
    if dev.type == "cpu":
        return _NULL_CONTEXT
    return require_cuda(dev).cuda.Device(dev.index)


class _NullContext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


_NULL_CONTEXT = _NullContext()
