"""nbgrad: a define-by-run tensor library for people who think in notebooks.

NumPy on the CPU, CuPy on NVIDIA GPUs, and the API PyTorch users know::

    >>> import nbgrad as nb
    >>> x = nb.tensor([1.0, 2.0], requires_grad=True)
    >>> y = (x ** 2).sum()
    >>> y.backward()
    >>> x.grad
    tensor([2., 4.])

``import nbgrad`` imports NumPy only: CuPy, IPython, ipywidgets and
matplotlib are imported when first needed.
"""

import sys as _sys

from nbgrad import autograd, cuda, random
from nbgrad import backend as _backend
from nbgrad.autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from nbgrad.backend import (
    bool_,
    device,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    set_default_dtype,
    uint8,
)
from nbgrad.creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_dlpack,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from nbgrad.display.text import get_printoptions, set_printoptions
from nbgrad.ops.activation import log_softmax, softmax
from nbgrad.ops.broadcast import broadcast_to, expand, expand_as
from nbgrad.ops.compare import (
    allclose,
    eq,
    equal,
    ge,
    greater,
    greater_equal,
    gt,
    isfinite,
    isinf,
    isnan,
    le,
    less,
    less_equal,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    ne,
    not_equal,
)
from nbgrad.ops.convert import *  # noqa: F403
from nbgrad.ops.elementwise import (
    abs,
    acos,
    add,
    asin,
    atan,
    ceil,
    clamp,
    clip,
    cos,
    cosh,
    div,
    exp,
    exp2,
    expm1,
    floor,
    floor_divide,
    lerp,
    log,
    log1p,
    log2,
    log10,
    maximum,
    minimum,
    mul,
    neg,
    pow,
    reciprocal,
    relu,
    remainder,
    round,
    rsqrt,
    sigmoid,
    sign,
    sin,
    sinh,
    sqrt,
    square,
    sub,
    tan,
    tanh,
    trunc,
    where,
)
from nbgrad.ops.indexing import *  # noqa: F403
from nbgrad.ops.inplace import *  # noqa: F403
from nbgrad.ops.linalg import *  # noqa: F403
from nbgrad.ops.reduce import *  # noqa: F403
from nbgrad.ops.shape import *  # noqa: F403
from nbgrad.random import initial_seed, manual_seed, seed
from nbgrad.tensor import Size, Tensor  # noqa: I001 - the Tensor class first: ops attach methods to it

# torch's dtype aliases; defined last so that this module's own code never
# sees the builtins float/int/bool shadowed.
half = float16
double = float64
short = int16
long = int64
float = float32  # noqa: A001
int = int32  # noqa: A001
bool = bool_  # noqa: A001

__version__ = "0.1.0"

# The layer library, optimizers, data and save/load are imported on first use
# (``nb.nn``, ``from nbgrad import optim``, ``nb.save``): ``import nbgrad`` stays
# fast for a notebook that only needs tensors.
_LAZY_MODULES = ("nn", "optim", "data", "utils", "viz", "inspect", "display", "widgets", "train")
_LAZY_FUNCTIONS = {"save": "nbgrad.io", "load": "nbgrad.io", "capture": "nbgrad.inspect", "fit": "nbgrad.train"}


def __getattr__(name: str):
    import importlib

    if name in _LAZY_MODULES:
        module = importlib.import_module(f"nbgrad.{name}")
        globals()[name] = module
        return module
    if name in _LAZY_FUNCTIONS:
        value = getattr(importlib.import_module(_LAZY_FUNCTIONS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nbgrad' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_MODULES) | set(_LAZY_FUNCTIONS))


def load_ipython_extension(ip) -> None:
    """``%load_ext nbgrad``: see :mod:`nbgrad.ipython` (the one module that talks to IPython)."""
    from nbgrad import ipython

    ipython.load_ipython_extension(ip)


def unload_ipython_extension(ip) -> None:
    from nbgrad import ipython

    ipython.unload_ipython_extension(ip)


# Inside IPython/Jupyter, register the notebook integration at import; elsewhere
# IPython is never imported (checking sys.modules costs nothing).
if "IPython" in _sys.modules:
    from nbgrad import ipython as _ipython

    _ipython._auto_register()
