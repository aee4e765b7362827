"""Utilities; ``nbgrad.utils.data`` is :mod:`nbgrad.data` under the name PyTorch users know.

Submodules are imported on first access, so ``import nbgrad.utils`` costs nothing.
"""

import importlib


def __getattr__(name: str):
    if name == "data":
        return importlib.import_module("nbgrad.utils.data")
    raise AttributeError(f"module 'nbgrad.utils' has no attribute {name!r}")
