"""Random number generators, one per backend, all seeded by :func:`manual_seed`."""

from __future__ import annotations

import numpy as np

from nbgrad import backend

_seed = None
_cpu_generator = None  # made on first use: numpy.random costs ~10 ms at import
_cuda_generators: dict = {}


def manual_seed(seed: int) -> None:
    """Seed every backend's generator (NumPy now, each CuPy device when first used).

    Example::

        >>> import nbgrad as nb
        >>> nb.manual_seed(0)
        >>> a = nb.rand(2)
        >>> nb.manual_seed(0)
        >>> bool((a == nb.rand(2)).all())
        True
    """
    global _seed, _cpu_generator
    _seed = int(seed)
    _cpu_generator = np.random.default_rng(_seed)
    _cuda_generators.clear()


seed = manual_seed


def initial_seed() -> "int | None":
    return _seed


def generator(dev: backend.device):
    """The generator that draws numbers for ``dev``."""
    global _cpu_generator
    if dev.type == "cpu":
        if _cpu_generator is None:
            _cpu_generator = np.random.default_rng(_seed)
        return _cpu_generator
    gen = _cuda_generators.get(dev.index)
    if gen is None:
        cp = backend.require_cuda(dev)
        with cp.cuda.Device(dev.index):
            gen = cp.random.default_rng(None if _seed is None else _seed + dev.index)
        _cuda_generators[dev.index] = gen
    return gen
