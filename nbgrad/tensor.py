"""``Tensor``: an array (NumPy or CuPy) plus what autograd needs to know about it.

The class holds state and the non-op methods (conversion, devices, autograd
entry points). Ops such as ``x.exp()`` or ``x + y`` live in ``nbgrad.ops``,
grouped by family, and are attached here with :func:`register_method`, so a
reader finds each op's forward and backward in one place.
"""

from __future__ import annotations

import functools
import weakref

import numpy as np

from nbgrad import backend
from nbgrad.autograd import engine, function, views


class Tensor:
    """A multi-dimensional array that records the ops applied to it for autograd.

    Create tensors with :func:`nbgrad.tensor` and the factories (``zeros``,
    ``randn``...). ``Tensor(data)`` works as well and takes the same arguments.

    Attributes:
        grad: the gradient accumulated by ``backward()`` (leaves only, unless
            ``retain_grad()`` was called), or ``None``.
        requires_grad: whether ops on this tensor are recorded.
        grad_fn: the node that produced this tensor (``None`` for leaves).

    Example::

        >>> import nbgrad as nb
        >>> x = nb.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        tensor([2., 4., 6.])
    """

    # _view: None, or how this view was made from its base (see nbgrad.autograd.views).
    __slots__ = (
        "_data",
        "requires_grad",
        "grad",
        "grad_fn",
        "_output_nr",
        "_version",
        "_hooks",
        "_view",
        "__weakref__",
    )
    # Make NumPy defer to Tensor's reflected operators (ndarray + Tensor -> Tensor.__radd__).
    __array_priority__ = 1000

    def __init__(self, data, dtype=None, device=None, requires_grad: bool = False):
        from nbgrad.creation import as_array  # local: creation imports this module

        self._data = as_array(data, dtype, device)
        self.requires_grad = False
        self.grad = None
        self.grad_fn = None
        self._output_nr = 0
        self._version = [0]
        self._hooks = None
        self._view = None
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array) -> "Tensor":
        """A new leaf Tensor around ``array`` (no copy, no checks): the ops' fast path."""
        if type(array) is not np.ndarray and isinstance(array, np.generic):
            array = np.asarray(array)  # NumPy returns scalars, not 0-d arrays, from 0-d ops
        t = object.__new__(cls)
        t._data = array
        t.requires_grad = False
        t.grad = None
        t.grad_fn = None
        t._output_nr = 0
        t._version = [0]
        t._hooks = None
        t._view = None
        return t

    # ----------------------------------------------------------- attributes
    @property
    def data(self) -> "Tensor":
        """A Tensor sharing this one's array, detached from the graph (like torch's ``.data``)."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value) -> None:
        array = value._data if isinstance(value, Tensor) else value
        if backend.device_of(array) != self.device:
            raise RuntimeError(f"data: cannot set data on {self.device} to an array on {backend.device_of(array)}")
        self._data = array

    @property
    def shape(self) -> "Size":
        return Size(self._data.shape)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def device(self) -> backend.device:
        return backend.device_of(self._data)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    def size(self, dim: "int | None" = None):
        """The shape, or the length of dimension ``dim``."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self.ndim, "size")]

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def T(self) -> "Tensor":
        """All dimensions reversed (``permute(n-1, ..., 0)``)."""
        return self.permute(*range(self.ndim - 1, -1, -1))

    @property
    def mT(self) -> "Tensor":
        """The last two dimensions swapped (batched matrix transpose)."""
        if self.ndim < 2:
            raise RuntimeError(f"mT: tensor of shape {tuple(self.shape)} has fewer than 2 dimensions")
        return self.transpose(-2, -1)

    @property
    def output_nr(self) -> int:
        return self._output_nr

    @property
    def retains_grad(self) -> bool:
        fn = self.grad_fn
        return fn is not None and self._output_nr in fn.__dict__.get("_retained", {})

    # ------------------------------------------------------------ autograd
    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set ``requires_grad`` in place (leaves only, floating point only)."""
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError(
                "requires_grad_: you can only change requires_grad of leaf tensors; use .detach() for a non-leaf "
                f"tensor (shape {tuple(self.shape)}, grad_fn={self.grad_fn.name()})"
            )
        if requires_grad and self._data.dtype.kind not in "fc":
            raise RuntimeError(
                f"requires_grad_: only floating point tensors can require gradients, got dtype {self.dtype}"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def backward(self, gradient=None, retain_graph: "bool | None" = None, create_graph: bool = False) -> None:
        """Accumulate the gradient of this tensor w.r.t. graph leaves into their ``.grad``.

        Args:
            gradient: d(something)/d(self); may be omitted for a single-element tensor.
            retain_graph: keep saved tensors for another backward (defaults to ``create_graph``).
            create_graph: record the backward pass so that it can be differentiated again.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: element 0 of tensors does not require grad and does not have a grad_fn "
                f"(tensor of shape {tuple(self.shape)}); create the inputs with requires_grad=True"
            )
        gradient = _root_grad(self, gradient, "backward")
        if retain_graph is None:
            retain_graph = create_graph
        engine.run_backward((self,), (gradient,), retain_graph, create_graph)

    def register_hook(self, hook) -> function.RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new gradient."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            hooks = self.grad_fn.hooks_table("_tensor_hooks", {}).setdefault(self._output_nr, [])
        hooks.append(hook)
        return function.RemovableHandle(hooks, hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` of this non-leaf tensor after backward (a no-op for leaves)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: can't retain_grad on a Tensor that has requires_grad=False")
        if self.grad_fn is not None:
            self.grad_fn.hooks_table("_retained", {})[self._output_nr] = weakref.ref(self)

    def detach(self) -> "Tensor":
        """A new Tensor sharing the data, cut from the graph (in-place changes are seen by both)."""
        t = Tensor._wrap(self._data)
        t._version = self._version
        return t

    def detach_(self) -> "Tensor":
        self.grad_fn = None
        self._output_nr = 0
        self.requires_grad = False
        return self

    # ---------------------------------------------------------- conversion
    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The data as a NumPy array (shares memory on the cpu).

        Args:
            force: copy from the GPU (or detach) instead of raising.
        """
        if self.requires_grad and not force:
            raise RuntimeError("numpy: can't call numpy() on a Tensor that requires grad; use tensor.detach().numpy()")
        if self.device.type != "cpu":
            if not force:
                raise TypeError(
                    f"numpy: can't convert a {self.device} tensor to numpy; "
                    "use tensor.cpu() to copy it to host memory first"
                )
            return backend.to_numpy(self._data)
        return self._data

    def __array__(self, dtype=None, copy=None):
        if self.device.type != "cpu":
            raise TypeError(
                f"__array__: can't convert a {self.device} tensor (shape {tuple(self.shape)}) to a NumPy array; "
                "use tensor.cpu() to copy it to host memory first"
            )
        array = self._data
        if dtype is not None and array.dtype != dtype:
            return array.astype(dtype)
        return array.copy() if copy else array

    def __dlpack__(self, *args, **kwargs):
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(
                f"item: a Tensor with {self._data.size} elements cannot be converted to a Python scalar "
                f"(shape {tuple(self.shape)})"
            )
        return self._data.reshape(()).item()

    def tolist(self):
        """The data as (nested) Python lists of numbers."""
        return backend.to_numpy(self._data).tolist()

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"bool: Boolean value of Tensor with more than one value is ambiguous (shape {tuple(self.shape)}); "
                "use .any() or .all()"
            )
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError(
                f"__index__: only integer tensors of a single element can be converted to an index "
                f"(got dtype {self.dtype}, shape {tuple(self.shape)})"
            )
        return int(self.item())

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        from nbgrad.display.text import tensor_repr

        return tensor_repr(self)

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs) -> dict:
        """Jupyter's rich display: the text repr plus an HTML view (``nb.display.options``)."""
        from nbgrad.display.tensor import tensor_mimebundle

        return tensor_mimebundle(self, include, exclude)

    def _repr_html_(self) -> "str | None":
        """The HTML view alone (None while ``nb.display.options.enabled`` is False)."""
        from nbgrad.display.options import options

        if not options.enabled:
            return None
        from nbgrad.display.tensor import tensor_html

        return tensor_html(self)

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0 and spec:
            return format(self.item(), spec)
        return repr(self) if not spec else format(repr(self), spec)

    def __deepcopy__(self, memo) -> "Tensor":
        """A copy with its own memory (also of ``.grad``); graph leaves only, as in torch."""
        if self.grad_fn is not None:
            raise RuntimeError(
                "deepcopy: only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                f"protocol; this one has grad_fn=<{self.grad_fn.name()}>: use .detach().clone() first"
            )
        copy = object.__new__(type(self))
        memo[id(self)] = copy
        copy._data = self._data.copy()
        copy.requires_grad = self.requires_grad
        copy.grad = None if self.grad is None else self.grad.__deepcopy__(memo)
        copy.grad_fn = None
        copy._output_nr = 0
        copy._version = [0]
        copy._hooks = None
        copy._view = None
        return copy

    def __reduce_ex__(self, protocol):
        raise TypeError(
            "nbgrad tensors are not pickled (a pickle can run code when loaded); use nb.save / nb.load instead"
        )


class Size(tuple):
    """The shape of a tensor: a tuple that prints like torch's ``Size``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"nbgrad.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n


def _wrap_dim(dim: int, ndim: int, op: str) -> int:
    """Turn a possibly negative ``dim`` into an index, with torch's error message."""
    lo, hi = -max(ndim, 1), max(ndim, 1) - 1
    if not lo <= dim <= hi:
        raise IndexError(f"{op}: dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})")
    return dim % max(ndim, 1)


def _root_grad(tensor: Tensor, gradient, op: str) -> Tensor:
    """The gradient that backward starts from: given, or 1 for a single-element output."""
    if gradient is None:
        if tensor._data.size != 1:
            raise RuntimeError(
                f"{op}: grad can be implicitly created only for scalar outputs; this tensor has shape "
                f"{tuple(tensor.shape)}: pass gradient= of that shape"
            )
        return Tensor._wrap(backend.array_module(tensor._data).ones_like(tensor._data))
    if not isinstance(gradient, Tensor):
        gradient = Tensor(gradient, dtype=tensor.dtype, device=tensor.device)
    if tuple(gradient.shape) != tuple(tensor.shape):
        raise RuntimeError(
            f"{op}: gradient has shape {tuple(gradient.shape)} but the tensor has shape {tuple(tensor.shape)}"
        )
    if gradient.device != tensor.device:
        raise RuntimeError(f"{op}: gradient is on {gradient.device} but the tensor is on {tensor.device}")
    return gradient


def register_method(*names: str):
    """Attach an op to Tensor under ``names`` (``@register_method("exp")``); returns the function form.

    The method is the op itself (``self`` is always a Tensor). The function
    form (``nb.exp(x)``) is the op behind a guard that turns the bare
    ``AttributeError`` of a non-Tensor argument (``nb.exp([1.0])``) into an
    error naming the op; the guard costs nothing until something fails.
    """

    def decorate(fn):
        for name in names:
            setattr(Tensor, name, fn)
        return functools.wraps(fn)(_guarded(fn))

    return decorate


_CO_VARARGS_OR_VARKEYWORDS = 0x04 | 0x08  # inspect.CO_VARARGS | inspect.CO_VARKEYWORDS, without importing inspect


def _guarded(fn):
    """``fn`` behind the input guard of :func:`register_method`."""

    def explain(err: AttributeError, input):
        if isinstance(input, Tensor) or err.obj is not input:
            raise err  # not about a non-Tensor input: a real error, left as it is
        raise TypeError(
            f"{fn.__name__}: argument 'input' must be a Tensor, not {type(input).__name__} "
            f"(convert it with nb.tensor(...) first)"
        ) from None

    # The usual signatures get a wrapper of the same shape: ``*args, **kwargs`` would cost ~150 ns a call.
    code = fn.__code__
    plain = not (fn.__defaults__ or code.co_kwonlyargcount or code.co_flags & _CO_VARARGS_OR_VARKEYWORDS)
    params = code.co_varnames[: code.co_argcount]
    if plain and params == ("input",):

        def unary(input):
            try:
                return fn(input)
            except AttributeError as err:
                explain(err, input)

        return unary
    if plain and params == ("input", "other"):

        def binary(input, other):
            try:
                return fn(input, other)
            except AttributeError as err:
                explain(err, input)

        return binary

    def general(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except AttributeError as err:
            explain(err, args[0] if args else None)

    return general


function.Tensor = Tensor
views.Tensor = Tensor
function._wrap = Tensor._wrap
engine.Tensor = Tensor
