"""``nn.Module``: the base class of layers and models, with torch's API.

Assigning a :class:`Parameter`, a Module or a registered buffer to an
attribute registers it, so ``parameters()``, ``state_dict()``, ``to()`` and
the reprs find it. Calling a module runs its hooks around ``forward``; an
error raised inside names the path of the module that raised it
(``model.encoder.layers.2.self_attn``).
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np

from nbgrad import backend
from nbgrad.autograd.function import SCOPE, Function, ModuleCall, RemovableHandle
from nbgrad.autograd.grad_mode import no_grad
from nbgrad.nn.parameter import Parameter
from nbgrad.tensor import Tensor

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])

# Modules whose forward is running, innermost last: used to name the module in errors.
_CALL_STACK: list = []


class Module:
    """Base class for all layers and models; subclass it and define ``forward``.

    Example::

        >>> import nbgrad as nb
        >>> class TwoLayer(nb.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.hidden = nb.nn.Linear(4, 8)
        ...         self.out = nb.nn.Linear(8, 2)
        ...
        ...     def forward(self, x):
        ...         return self.out(self.hidden(x).relu())
        >>> model = TwoLayer()
        >>> [name for name, _ in model.named_parameters()]
        ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
        >>> model(nb.randn(3, 4)).shape
        nbgrad.Size([3, 2])
    """

    training: bool

    def __init__(self) -> None:
        # object.__setattr__: our __setattr__ needs these dicts to exist already.
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_forward_pre_hooks", [])
        object.__setattr__(self, "_forward_hooks", [])
        object.__setattr__(self, "_backward_hooks", [])

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    # ------------------------------------------------------------------ attributes
    def __setattr__(self, name: str, value) -> None:
        state = self.__dict__
        params = state.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' (nn.Parameter or None expected)"
                )
            params[name] = None
        elif isinstance(value, Module):
            if params is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name)
            state["_modules"][name] = value
        elif params is not None and name in state["_modules"]:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' (Module or None expected)"
                )
            state["_modules"][name] = None
        elif params is not None and name in state["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' (Tensor or None expected)")
            state["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str):
        # Only called when normal lookup fails: parameters, buffers and children live in dicts.
        state = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            items = state.get(store)
            if items is not None and name in items:
                return items[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for store in ("_parameters", "_buffers", "_modules"):
            items = self.__dict__[store]
            if name in items:
                del items[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def _forget(self, name: str) -> None:
        """Drop ``name`` from every registry before it is registered anew."""
        self.__dict__.pop(name, None)
        for store in ("_parameters", "_buffers", "_modules"):
            self.__dict__[store].pop(name, None)
        self._non_persistent_buffers.discard(name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))

    # ------------------------------------------------------------------ registration
    def register_parameter(self, name: str, param: "Parameter | None") -> None:
        """Add a parameter (or ``None``, a placeholder such as a disabled bias) under ``name``."""
        _check_name(self, name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' (nn.Parameter or None required)"
            )
        if param is not None and param.grad_fn is not None:
            raise ValueError(f"cannot assign non-leaf Tensor to parameter '{name}': use .detach() first")
        self.__dict__.pop(name, None)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: "Tensor | None", persistent: bool = True) -> None:
        """Add a tensor that is state but not a parameter (running statistics, masks...).

        Args:
            name: the attribute name.
            tensor: the buffer, or ``None``.
            persistent: whether it is part of ``state_dict()``.
        """
        _check_name(self, name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' (Tensor or None required)"
            )
        self.__dict__.pop(name, None)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: "Module | None") -> None:
        """Add a child module under ``name``."""
        _check_name(self, name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._forget(name)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> "Module":
        """The submodule at a dotted path such as ``"encoder.layers.0"``."""
        module = self
        for part in target.split(".") if target else ():
            if part not in module._modules:
                raise AttributeError(f"{type(module).__name__} has no submodule '{part}' (looking for '{target}')")
            module = module._modules[part]
        return module

    def get_parameter(self, target: str) -> Parameter:
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if name not in module._parameters:
            raise AttributeError(f"{type(module).__name__} has no parameter '{name}'")
        return module._parameters[name]

    # ------------------------------------------------------------------ traversal
    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        """Yield ``(dotted name, module)`` for this module and every descendant, depth first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is None:
                continue
            yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        seen = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self):
        for _, child in self.named_children():
            yield child

    def _named_members(self, store: str, prefix: str, recurse: bool, remove_duplicate: bool = True):
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in module.__dict__[store].items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """Yield ``(dotted name, parameter)``; shared parameters are yielded once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True):
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    # ------------------------------------------------------------------ modes
    def train(self, mode: bool = True) -> "Module":
        """Set training mode (dropout active, batch norm updates its statistics) here and below."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> "Module":
        """``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters (to ``None`` by default, like torch)."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad._data[...] = 0
                param.grad._version[0] += 1

    def apply(self, fn) -> "Module":
        """Call ``fn(module)`` on every submodule (children first) and on this module."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------ devices and dtypes
    def to(self, *args, **kwargs) -> "Module":
        """Move (``"cuda"``) and/or cast (``nb.float64``) every parameter and buffer in place.

        Floating point dtypes change only floating point tensors (an integer
        buffer such as ``num_batches_tracked`` keeps its dtype), as in torch.
        """
        from nbgrad.ops.convert import _parse_to

        dev, dtype, _ = _parse_to(args, kwargs)
        if dtype is not None and dtype.kind != "f":
            raise TypeError(f"Module.to only accepts floating point dtypes, but got desired dtype={dtype}")
        if dev is not None and dev.type == "cuda":
            backend.require_cuda(dev)

        def convert(t: Tensor) -> None:
            array = t._data
            if dtype is not None and array.dtype.kind == "f" and array.dtype != dtype:
                array = array.astype(dtype)
            if dev is not None:
                array = backend.move(array, dev)
            if array is not t._data:
                t._data = array
                if t.grad is not None:
                    convert(t.grad)

        for module in self.modules():
            for store in (module._parameters, module._buffers):
                for t in store.values():
                    if t is not None:
                        convert(t)
        return self

    def cuda(self, device=None) -> "Module":
        if isinstance(device, int):
            device = backend.device("cuda", device)
        return self.to(device if device is not None else "cuda")

    def cpu(self) -> "Module":
        return self.to("cpu")

    def float(self) -> "Module":
        return self.to(backend.float32)

    def double(self) -> "Module":
        return self.to(backend.float64)

    def half(self) -> "Module":
        return self.to(backend.float16)

    # ------------------------------------------------------------------ state dict
    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False) -> "OrderedDict":
        """Parameters and persistent buffers by dotted name, in registration order (torch's keys).

        Values share memory with the module (detached unless ``keep_vars``).
        """
        out = OrderedDict() if destination is None else destination
        # Shared modules appear under every name, as in torch (no de-duplication here).
        for module_prefix, module in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            head = f"{module_prefix}." if module_prefix else ""
            for name, param in module._parameters.items():
                if param is not None:
                    out[head + name] = param if keep_vars else param.detach()
            for name, buf in module._buffers.items():
                if buf is not None and name not in module._non_persistent_buffers:
                    out[head + name] = buf if keep_vars else buf.detach()
        return out

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values from ``state_dict`` into this module's parameters and buffers.

        Everything is checked before anything is copied, so a failed load
        leaves the module as it was.

        Args:
            state_dict: name -> Tensor or NumPy array (e.g. from ``nb.load``,
                or a converted torch state dict).
            strict: raise when keys are missing or unexpected.

        Returns:
            ``IncompatibleKeys(missing_keys, unexpected_keys)``.
        """
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        if strict and unexpected:
            errors.append("Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
        if strict and missing:
            errors.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
        sources = {}
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            array = value._data if isinstance(value, Tensor) else np.asarray(value)
            if tuple(array.shape) != tuple(target.shape):
                errors.append(
                    f"size mismatch for {key}: copying a param with shape {tuple(array.shape)} from checkpoint, "
                    f"the shape in current model is {tuple(target.shape)}."
                )
                continue
            sources[key] = array
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors))
        with no_grad():
            for key, array in sources.items():
                target = own[key]
                array = backend.move(array, target.device).astype(target.dtype, copy=False)
                target._data[...] = array
                target._version[0] += 1
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ hooks
    def register_forward_pre_hook(self, hook) -> RemovableHandle:
        """``hook(module, args)`` runs before ``forward``; it may return new args."""
        self._forward_pre_hooks.append(hook)
        return RemovableHandle(self._forward_pre_hooks, hook)

    def register_forward_hook(self, hook) -> RemovableHandle:
        """``hook(module, args, output)`` runs after ``forward``; it may return a new output."""
        self._forward_hooks.append(hook)
        return RemovableHandle(self._forward_hooks, hook)

    def register_full_backward_hook(self, hook) -> RemovableHandle:
        """``hook(module, grad_input, grad_output)`` runs when the gradients w.r.t. the
        module's inputs are computed; it may return new ``grad_input``."""
        self._backward_hooks.append(hook)
        return RemovableHandle(self._backward_hooks, hook)

    # ------------------------------------------------------------------ calling
    def __call__(self, *args, **kwargs):
        _CALL_STACK.append(self)
        outer = SCOPE.module
        SCOPE.module = ModuleCall(self, outer)  # nodes recorded now remember this call (graph view, reports)
        try:
            if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks):
                return self.forward(*args, **kwargs)
            return self._call_with_hooks(args, kwargs)
        except Exception as exc:
            _name_module_in_error(exc, self)
            raise
        finally:
            SCOPE.module = outer
            _CALL_STACK.pop()

    def _call_with_hooks(self, args, kwargs):
        for hook in list(self._forward_pre_hooks):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        relay = _BackwardHookRelay(self, args) if self._backward_hooks else None
        if relay is not None:
            args = relay.wrap_inputs(args)
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks):
            result = hook(self, args, output)
            if result is not None:
                output = result
        if relay is not None:
            output = relay.wrap_outputs(output)
        return output

    # ------------------------------------------------------------------ repr
    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr (override in layers)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        """torch's layout: one line for a leaf layer, an indented tree for containers."""
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + repr(child).replace("\n", "\n  ") for name, child in self._modules.items()]
        if len(extra_lines) == 1 and not child_lines:
            return f"{self._get_name()}({extra_lines[0]})"
        if not extra_lines and not child_lines:
            return f"{self._get_name()}()"
        return f"{self._get_name()}(\n  " + "\n  ".join(extra_lines + child_lines) + "\n)"

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """Notebook display: the repr, and an HTML tree (shapes, counts, memory, grad norms after backward)."""
        from nbgrad.display.module import module_mimebundle

        return module_mimebundle(self)


def _check_name(module: Module, name: str, kind: str) -> None:
    if "_parameters" not in module.__dict__:
        raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
    if "." in name or name == "":
        raise KeyError(f"{kind} name can't contain \".\" and can't be empty, got {name!r}")
    if hasattr(module, name) and name not in module.__dict__["_" + kind + "s"]:
        raise KeyError(f"attribute '{name}' already exists")


def _name_module_in_error(exc: Exception, module: Module) -> None:
    """Name the innermost module that raised in the message, once the error leaves the outermost call."""
    if getattr(exc, "_nbgrad_done", False):
        return
    if getattr(exc, "_nbgrad_module", None) is None:
        try:
            exc._nbgrad_module = module
        except AttributeError:  # exceptions that refuse attributes keep their message
            return
    if len(_CALL_STACK) > 1:  # an outer module is still running: it will name the path
        return
    inner = exc._nbgrad_module
    path = next((name for name, m in module.named_modules() if m is inner), None)
    where = "model" if path == "" else (f"model.{path}" if path is not None else "an unregistered module")
    note = f"{where} ({type(inner).__name__})"
    exc._nbgrad_done = True
    exc.module_path = note
    if len(exc.args) == 1 and isinstance(exc.args[0], str):
        exc.args = (f"{note}: {exc.args[0]}",)
    else:
        exc.add_note(f"raised in {note}")


class _BackwardHookRelay:
    """Runs a module's full backward hooks with (grad_input, grad_output), like torch.

    Identity nodes are inserted on the module's tensor inputs and outputs: the
    output node records ``grad_output``; the input node, which runs later, calls
    the hooks and lets them replace ``grad_input``.
    """

    def __init__(self, module: Module, args: tuple):
        self.module = module
        self.grad_output = None
        self.n_inputs = len(args)
        self.inputs_need_grad = any(isinstance(a, Tensor) and a.requires_grad for a in args)

    def _call_hooks(self, grad_input: tuple) -> tuple:
        for hook in list(self.module._backward_hooks):
            result = hook(self.module, grad_input, self.grad_output)
            if result is not None:
                grad_input = tuple(result) if isinstance(result, (tuple, list)) else (result,)
        return grad_input

    def wrap_inputs(self, args: tuple) -> tuple:
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        if not positions:
            return args
        wrapped = _Identity.apply(self._on_grad_input, *(args[i] for i in positions))
        out = list(args)
        for i, t in zip(positions, wrapped):
            out[i] = t
        return tuple(out)

    def _on_grad_input(self, grads: tuple) -> tuple:
        return self._call_hooks(grads)

    def wrap_outputs(self, output):
        single = isinstance(output, Tensor)
        outputs = (output,) if single else output
        if not isinstance(outputs, tuple) or not any(isinstance(o, Tensor) and o.requires_grad for o in outputs):
            return output
        positions = [i for i, o in enumerate(outputs) if isinstance(o, Tensor) and o.requires_grad]
        wrapped = _Identity.apply(self._on_grad_output, *(outputs[i] for i in positions))
        out = list(outputs)
        for i, t in zip(positions, wrapped):
            out[i] = t
        return out[0] if single else tuple(out)

    def _on_grad_output(self, grads: tuple) -> tuple:
        self.grad_output = grads
        if not self.inputs_need_grad:
            self._call_hooks((None,) * self.n_inputs)
        return grads


class _Identity(Function):
    """Passes tensors through; its backward hands the gradients to ``callback``."""

    @staticmethod
    def forward(ctx, callback, *tensors):
        ctx.callback = callback
        return tensors

    @staticmethod
    def backward(ctx, *grads):
        return (None, *ctx.callback(grads))
