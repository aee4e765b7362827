"""Utilities under torch's names: ``nbgrad.utils.data`` (:mod:`nbgrad.data`) and ``nbgrad.utils.tensorboard``.

Submodules are imported on first access, so ``import nbgrad.utils`` costs nothing (and
``nbgrad.utils.tensorboard`` imports tensorboardX only when a writer is made).
"""

import importlib

_SUBMODULES = ("data", "tensorboard")


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"nbgrad.utils.{name}")
    raise AttributeError(f"module 'nbgrad.utils' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES))
