"""Containers: ``Sequential``, ``ModuleList``, ``ModuleDict``, ``ParameterList``, ``ParameterDict``."""

from __future__ import annotations

import operator
from collections import OrderedDict

from nbgrad.nn.module import Module
from nbgrad.nn.parameter import Parameter

__all__ = ["ModuleDict", "ModuleList", "ParameterDict", "ParameterList", "Sequential"]


def _index(i, length: int, container: str) -> int:
    """A non-negative position from a possibly negative index, with torch's error."""
    i = operator.index(i)
    if not -length <= i < length:
        raise IndexError(f"{container}: index {i} is out of range for a container of length {length}")
    return i % length


class _ListOfModules(Module):
    """Shared list behaviour of Sequential and ModuleList: children named "0", "1", ..."""

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __setitem__(self, idx, module: Module) -> None:
        key = list(self._modules)[_index(idx, len(self), type(self).__name__)]
        self.add_module(key, module)

    def __delitem__(self, idx) -> None:
        keys = list(self._modules)
        targets = keys[idx] if isinstance(idx, slice) else [keys[_index(idx, len(self), type(self).__name__)]]
        for key in targets:
            del self._modules[key]
        # Renumber so that names stay "0", "1", ... as in torch.
        items = list(self._modules.values())
        self._modules.clear()
        for i, module in enumerate(items):
            self._modules[str(i)] = module

    def append(self, module: Module):
        """Add ``module`` at the end."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        items = list(self._modules.values())
        items.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(items):
            self.add_module(str(i), m)

    def __dir__(self):
        return [k for k in super().__dir__() if not k.isdigit()]


class Sequential(_ListOfModules):
    """Modules called one after the other, each on the previous one's output.

    Args:
        *modules: the layers in order, or a single ``OrderedDict`` of name -> module.

    Example::

        >>> import nbgrad as nb
        >>> model = nb.nn.Sequential(nb.nn.Linear(4, 8), nb.nn.ReLU(), nb.nn.Linear(8, 2))
        >>> model(nb.randn(3, 4)).shape
        nbgrad.Size([3, 2])
        >>> model[0]
        Linear(in_features=4, out_features=8, bias=True)
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (OrderedDict, dict)):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(modules):
                self.add_module(str(i), module)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        if isinstance(idx, str):
            return self._modules[idx]
        return list(self._modules.values())[_index(idx, len(self), "Sequential")]

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input


class ModuleList(_ListOfModules):
    """A list of modules, registered so that their parameters are found.

    Example::

        >>> import nbgrad as nb
        >>> layers = nb.nn.ModuleList([nb.nn.Linear(2, 2) for _ in range(3)])
        >>> len(list(layers.parameters()))
        6
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])
        return list(self._modules.values())[_index(idx, len(self), "ModuleList")]

    def __add__(self, other: "ModuleList") -> "ModuleList":
        return ModuleList(list(self) + list(other))


class ModuleDict(Module):
    """A dict of modules, registered under their keys (insertion order is kept).

    Example::

        >>> import nbgrad as nb
        >>> heads = nb.nn.ModuleDict({"cls": nb.nn.Linear(4, 3), "reg": nb.nn.Linear(4, 1)})
        >>> list(heads.keys())
        ['cls', 'reg']
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def pop(self, key: str) -> Module:
        return self._modules.pop(key)

    def clear(self) -> None:
        self._modules.clear()

    def update(self, modules) -> None:
        items = modules.items() if hasattr(modules, "items") else modules
        for key, module in items:
            self[key] = module


class ParameterList(Module):
    """A list of parameters, registered under "0", "1", ...

    Example::

        >>> import nbgrad as nb
        >>> params = nb.nn.ParameterList([nb.nn.Parameter(nb.zeros(2)) for _ in range(2)])
        >>> [name for name, _ in params.named_parameters()]
        ['0', '1']
    """

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self.extend(values)

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ParameterList(list(self._parameters.values())[idx])
        return list(self._parameters.values())[_index(idx, len(self), "ParameterList")]

    def __setitem__(self, idx, param) -> None:
        key = list(self._parameters)[_index(idx, len(self), "ParameterList")]
        self.register_parameter(key, _as_parameter(param))

    def append(self, value) -> "ParameterList":
        self.register_parameter(str(len(self)), _as_parameter(value))
        return self

    def extend(self, values) -> "ParameterList":
        for value in values:
            self.append(value)
        return self

    def extra_repr(self) -> str:
        return "\n".join(
            f"({i}): Parameter containing: [{p.dtype} of size {tuple(p.shape)}]" for i, p in enumerate(self)
        )


class ParameterDict(Module):
    """A dict of parameters, registered under their keys.

    Example::

        >>> import nbgrad as nb
        >>> params = nb.nn.ParameterDict({"scale": nb.nn.Parameter(nb.ones(3))})
        >>> params["scale"].shape
        nbgrad.Size([3])
    """

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Parameter:
        return self._parameters[key]

    def __setitem__(self, key: str, value) -> None:
        self.register_parameter(key, _as_parameter(value))

    def __delitem__(self, key: str) -> None:
        del self._parameters[key]

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters)

    def __contains__(self, key: str) -> bool:
        return key in self._parameters

    def keys(self):
        return self._parameters.keys()

    def values(self):
        return self._parameters.values()

    def items(self):
        return self._parameters.items()

    def update(self, parameters) -> None:
        items = parameters.items() if hasattr(parameters, "items") else parameters
        for key, value in items:
            self[key] = value

    def extra_repr(self) -> str:
        return "\n".join(f"({k}): Parameter containing: [{p.dtype} of size {tuple(p.shape)}]" for k, p in self.items())


def _as_parameter(value) -> Parameter:
    """Wrap a plain Tensor as a Parameter (torch's ParameterList does the same)."""
    return value if isinstance(value, Parameter) else Parameter(value)
