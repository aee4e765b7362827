"""``nb.cuda``: is a GPU there, how many, and CuPy's memory pool.

Everything here answers without error when CuPy or a GPU is missing.
"""

from __future__ import annotations

from nbgrad import backend


def is_available() -> bool:
    """True when CuPy is installed and a CUDA GPU answers."""
    return backend.cuda_available()


def device_count() -> int:
    """Number of visible CUDA devices (0 without CuPy or a GPU)."""
    if not is_available():
        return 0
    return backend.cupy_module().cuda.runtime.getDeviceCount()


def current_device() -> int:
    cp = backend.require_cuda(backend.device("cuda"))
    return cp.cuda.runtime.getDevice()


def synchronize(device=None) -> None:
    """Wait for all work queued on ``device`` (default: the current one) to finish."""
    if not is_available():
        return
    dev = backend.to_device(device if device is not None else "cuda")
    cp = backend.require_cuda(dev)
    with cp.cuda.Device(dev.index):
        cp.cuda.Device(dev.index).synchronize()


def memory_allocated(device=None) -> int:
    """Bytes of GPU memory held by live arrays in CuPy's default memory pool."""
    if not is_available():
        return 0
    return backend.cupy_module().get_default_memory_pool().used_bytes()


def memory_reserved(device=None) -> int:
    """Bytes that CuPy's memory pool holds from the driver (used + cached)."""
    if not is_available():
        return 0
    return backend.cupy_module().get_default_memory_pool().total_bytes()


def empty_cache() -> None:
    """Return the cached, unused blocks of CuPy's memory pools to the driver."""
    if not is_available():
        return
    cp = backend.cupy_module()
    cp.get_default_memory_pool().free_all_blocks()
    cp.get_default_pinned_memory_pool().free_all_blocks()


def manual_seed(seed: int) -> None:
    """Seed the generators (the same as :func:`nbgrad.manual_seed`)."""
    from nbgrad.random import manual_seed as seed_all

    seed_all(seed)


manual_seed_all = manual_seed
