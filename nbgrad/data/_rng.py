"""The random source behind shuffling, splitting and the synthetic datasets.

``generator=None`` draws from nbgrad's global generator, so :func:`nbgrad.manual_seed`
makes every shuffle reproducible; an ``int`` seeds a private generator; a
``numpy.random.Generator`` is used as it is (and advances, like a ``torch.Generator``).
"""

from __future__ import annotations

import numbers

import numpy as np

from nbgrad import backend, random


def as_generator(generator, op: str) -> "np.random.Generator | None":
    """``None`` stays ``None`` (use the global generator when drawing); an int becomes a seeded generator."""
    if generator is None or isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise TypeError(
        f"{op}: generator must be None (use the seed of nb.manual_seed), an int seed or a numpy.random.Generator, "
        f"got {type(generator).__name__}"
    )


def global_generator() -> np.random.Generator:
    """nbgrad's CPU generator, the one :func:`nbgrad.manual_seed` seeds."""
    return random.generator(backend.device("cpu"))


def resolve(generator) -> np.random.Generator:
    """The generator to draw from now: the given one, or the global one."""
    return generator if generator is not None else global_generator()
