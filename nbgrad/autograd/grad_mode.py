"""Grad modes: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``.

Each works as a context manager and as a decorator, like torch's. The state is
one module-level object read on every op, so it is kept as plain attributes.
"""

from __future__ import annotations

import functools


class _GradState:
    __slots__ = ("enabled", "inference")

    def __init__(self):
        self.enabled = True
        self.inference = False


STATE = _GradState()


def is_grad_enabled() -> bool:
    """True when ops record the graph for backward."""
    return STATE.enabled


def is_inference_mode_enabled() -> bool:
    return STATE.inference


class _GradModeContext:
    """Base of the grad-mode context managers; subclasses set ``_target``."""

    _target = True
    _inference = None  # None: leave inference mode as it is

    def __enter__(self):
        self._prev = (STATE.enabled, STATE.inference)
        STATE.enabled = self._target
        if self._inference is not None:
            STATE.inference = self._inference
        return self

    def __exit__(self, *exc):
        STATE.enabled, STATE.inference = self._prev
        return False

    def __call__(self, fn):
        """Use the mode as a decorator: ``@nb.no_grad()``."""

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__._clone(self):
                return fn(*args, **kwargs)

        return wrapper

    def _clone(self):
        return self.__class__()


class no_grad(_GradModeContext):
    """Context manager / decorator that disables graph recording.

    Example::

        >>> import nbgrad as nb
        >>> x = nb.ones(2, requires_grad=True)
        >>> with nb.no_grad():
        ...     y = x * 2
        >>> y.requires_grad
        False
    """

    _target = False


class enable_grad(_GradModeContext):
    """Context manager / decorator that re-enables graph recording inside ``no_grad``."""

    _target = True


class set_grad_enabled(_GradModeContext):
    """Enable (``True``) or disable (``False``) graph recording.

    Takes effect immediately (like torch), and also works as a context manager
    that restores the previous mode on exit.
    """

    def __init__(self, mode: bool):
        self._target = bool(mode)
        self._prev = (STATE.enabled, STATE.inference)
        STATE.enabled = self._target

    def __enter__(self):  # already switched in __init__
        return self

    def _clone(self):
        clone = object.__new__(set_grad_enabled)
        clone._target = self._target
        return clone

    def __call__(self, fn):
        STATE.enabled, STATE.inference = self._prev  # decorator use: do not switch now
        target = self._target

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = STATE.enabled
            STATE.enabled = target
            try:
                return fn(*args, **kwargs)
            finally:
                STATE.enabled = prev

        return wrapper


class inference_mode(_GradModeContext):
    """Like ``no_grad``; tensors created inside are marked as inference tensors.

    Args:
        mode: ``False`` makes it a no-op, as in torch.
    """

    def __init__(self, mode: bool = True):
        self._mode = bool(mode)
        self._target = not self._mode
        self._inference = True if self._mode else None

    def __enter__(self):
        if not self._mode:
            self._prev = (STATE.enabled, STATE.inference)
            return self
        return super().__enter__()

    def _clone(self):
        return inference_mode(self._mode)
