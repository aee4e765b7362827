"""``nn.Parameter``: a Tensor that a Module registers as one of its weights."""

from __future__ import annotations

import numpy as np

from nbgrad.tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that requires grad and is registered by the Module it is assigned to.

    Args:
        data: the initial values (a Tensor, shared without a copy, or anything
            :func:`nbgrad.tensor` accepts). Defaults to an empty tensor.
        requires_grad: whether the parameter is trained (default ``True``).

    Example::

        >>> import nbgrad as nb
        >>> w = nb.nn.Parameter(nb.zeros(2))
        >>> w
        Parameter containing:
        tensor([0., 0.], requires_grad=True)
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            data = Tensor._wrap(np.empty(0, dtype=np.float32))
        if isinstance(data, Tensor):
            if data.grad_fn is not None:
                data = data.detach()
            self._data = data._data
            self.requires_grad = False
            self.grad = None
            self.grad_fn = None
            self._output_nr = 0
            self._version = data._version  # in-place changes to one are seen by both
            self._hooks = None
            self._view = None
            if requires_grad:
                self.requires_grad_(True)
        else:
            super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
