"""``Optimizer``: the base class of every optimizer, with parameter groups, per-parameter state and state dicts.

Subclasses implement :meth:`Optimizer._update`, the update of ONE parameter
on raw arrays (NumPy or CuPy, in place, with ``out=`` where possible): the
base class runs the loop over groups and parameters, skips parameters
without a gradient and bumps each updated parameter's version counter, as
torch's in-place updates under ``no_grad`` do.

State tensors are ``Tensor`` objects on the parameter's device, so that a
state dict holds tensors (``nb.save`` stores them) and ``load_state_dict``
can move them to where the parameters live.
"""

from __future__ import annotations

import functools
import numbers
import warnings
from collections import defaultdict
from itertools import chain

import numpy as np

from nbgrad import backend
from nbgrad.autograd.grad_mode import enable_grad
from nbgrad.tensor import Tensor

__all__ = ["Optimizer"]


class Optimizer:
    """Base class for all optimizers.

    Args:
        params: an iterable of Tensors to optimize, of ``(name, Tensor)`` pairs
            (``model.named_parameters()``), or of dicts, each a parameter group
            with a ``"params"`` entry and options that override ``defaults``.
        defaults: the default values of the optimizer's options (``lr``...).

    Attributes:
        param_groups: a list of dicts, one per group: ``"params"`` (the list of
            Tensors) and every option of the optimizer.
        state: per-parameter state (a dict for each parameter: momentum
            buffers, moment estimates, ``step``...), keyed by the parameter.

    Example::

        >>> import nbgrad as nb
        >>> w = nb.ones(2, requires_grad=True)
        >>> b = nb.zeros(1, requires_grad=True)
        >>> opt = nb.optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
        >>> (w.sum() + 2 * b.sum()).backward()
        >>> opt.step()
        >>> w, b
        (tensor([0.9000, 0.9000], requires_grad=True), tensor([-1.], requires_grad=True))
    """

    def __init__(self, params, defaults: dict):
        self.defaults = defaults
        self._check_options(defaults)
        if isinstance(params, Tensor):
            raise TypeError(
                f"{self._name}: params argument given to the optimizer should be an iterable of Tensors or dicts, "
                f"but got a Tensor of shape {tuple(params.shape)}; wrap it in a list: [param]"
            )
        if isinstance(params, dict):
            raise TypeError(
                f"{self._name}: params should be an iterable of Tensors or of dicts (parameter groups), got a dict; "
                "wrap a single parameter group in a list: [{'params': ...}]"
            )
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        self._scratch_buffers: dict = {}
        param_groups = list(params)
        if not param_groups:
            raise ValueError(f"{self._name}: optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __init_subclass__(cls, **kwargs):
        # Schedulers warn when lr_scheduler.step() comes before optimizer.step(): record the calls of a
        # subclass's own step() as the base step() does.
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_records_call", False):

            @functools.wraps(step)
            def recorded_step(self, *args, **kwargs):
                self._opt_called = True
                return step(self, *args, **kwargs)

            recorded_step._records_call = True
            cls.step = recorded_step

    @property
    def _name(self) -> str:
        return type(self).__name__

    # ------------------------------------------------------------- options
    def _check_options(self, options: dict) -> None:
        """Raise ValueError for an invalid option value in ``options`` (a group or the defaults).

        Subclasses list their checks in ``_option_checks``: ``(option, predicate, expectation)``.
        """
        for option, valid, expected in self._option_checks:
            if option not in options:
                continue
            value = options[option]
            ok = False
            try:
                ok = bool(valid(value))
            except TypeError:
                pass
            if not ok:
                raise ValueError(f"{self._name}: invalid {option} value: {option}={value!r} (expected {expected})")

    _option_checks: tuple = ()

    # ------------------------------------------------------------- groups
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters (with its own options) to :attr:`param_groups`.

        Useful when fine-tuning: frozen layers can be made trainable and added
        as training goes on. Options missing from ``param_group`` take the
        optimizer's defaults.

        Args:
            param_group: a dict with ``"params"`` (a Tensor or an iterable of
                Tensors or ``(name, Tensor)`` pairs) and any options to override.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"{self._name}: param_group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{self._name}: a parameter group needs a 'params' entry; got keys {sorted(param_group)}")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{self._name}: optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        if names:
            if len(names) != len(params):
                raise ValueError(
                    f"{self._name}: all optimizer params should be with/without names. Some param names are missing"
                )
            params = [p[1] for p in params]
            group["param_names"] = names
        for i, param in enumerate(params):
            if not isinstance(param, Tensor):
                raise TypeError(
                    f"{self._name}: optimizer can only optimize Tensors, but parameter {i} of the group is a "
                    f"{type(param).__name__}"
                )
            if not (param.is_leaf or param.retains_grad):
                raise ValueError(
                    f"{self._name}: can't optimize a non-leaf Tensor (parameter {i} of the group, shape "
                    f"{tuple(param.shape)}, grad_fn={param.grad_fn.name()}); use .detach().requires_grad_() "
                    "to make a leaf"
                )
        group["params"] = params
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check_options(group)

        ids = [id(p) for p in params]
        if len(ids) != len(set(ids)):
            warnings.warn(
                f"{self._name}: a parameter group contains the same parameter more than once; it will be updated "
                "once per occurrence",
                stacklevel=3,
            )
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        for i, param in enumerate(params):
            if id(param) in taken:
                raise ValueError(
                    f"{self._name}: some parameters appear in more than one parameter group (parameter {i} of the "
                    f"new group, shape {tuple(param.shape)}, is already in group "
                    f"{_group_of(self.param_groups, param)})"
                )
        for other in self.param_groups:
            if ("param_names" in other) != ("param_names" in group):
                which = "with names" if "param_names" in group else "without names"
                raise ValueError(
                    f"{self._name}: all optimizer param groups should be with/without names; cannot add a param "
                    f"group {which} to this optimizer"
                )
        self.param_groups.append(group)

    # ------------------------------------------------------------- steps
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized parameters.

        Args:
            set_to_none: set ``.grad`` to ``None`` (default; saves memory, and a
                parameter that gets no gradient in the next backward is then
                skipped by ``step``) instead of filling it with zeros.
        """
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                if grad.grad_fn is not None:
                    grad.detach_()
                else:
                    grad.requires_grad = False
                grad._data.fill(0)
                grad._version[0] += 1

    def step(self, closure=None):
        """Perform one optimization step (update every parameter that has a gradient).

        Args:
            closure: optional callable that re-evaluates the model and returns
                the loss (run with grad enabled); its result is returned.
        """
        self._opt_called = True
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                self._update(p, p.grad._data, group)
                p._version[0] += 1
        return loss

    def _update(self, param: Tensor, grad, group: dict) -> None:
        """Update ``param._data`` in place from the gradient array ``grad`` (never modified)."""
        raise NotImplementedError(f"{self._name} does not implement _update")

    def _scratch(self, like, slot: int = 0):
        """A temporary array shaped like ``like`` (same dtype and device), reused from step to step.

        Updates write their intermediates here with ``out=``: allocating fresh
        temporaries for large parameters costs page faults that double a step's
        time. Each ``slot`` is one flat buffer as large as the largest parameter,
        so two slots never alias each other.
        """
        buffers = self._scratch_buffers
        key = (slot, like.dtype, backend.device_of(like))
        buf = buffers.get(key)
        if buf is None or buf.size < like.size:
            with backend.device_context(key[2]):
                buf = buffers[key] = backend.array_module(like).empty(like.size, dtype=like.dtype)
        return buf[: like.size].reshape(like.shape)

    def _effective_grad(self, param: Tensor, grad, group: dict):
        """The gradient the update uses: negated for ``maximize``, plus ``weight_decay * param`` (L2).

        Returns ``grad`` itself when neither applies, else scratch slot 1, so
        that ``param.grad`` is never modified.
        """
        maximize, weight_decay = group["maximize"], group["weight_decay"]
        if not maximize and weight_decay == 0:
            return grad
        xp = backend.array_module(grad)
        out = self._scratch(grad, 1)
        if weight_decay == 0:
            return xp.negative(grad, out=out)
        xp.multiply(param._data, weight_decay, out=out)
        # (+/-grad) + weight_decay * param, as torch's grad.add(param, alpha=weight_decay)
        return xp.subtract(out, grad, out=out) if maximize else xp.add(grad, out, out=out)

    def _new_state(self, param: Tensor, fill: float = 0.0) -> Tensor:
        """A state tensor like ``param`` (same shape, dtype and device) filled with ``fill``."""
        xp = backend.array_module(param._data)
        return Tensor._wrap(xp.full_like(param._data, fill))

    # ------------------------------------------------------------- state dicts
    def state_dict(self) -> dict:
        """The optimizer's state as a dict, in torch's format.

        ``{"state": {index: {name: value}}, "param_groups": [{option: value, ..., "params": [index...]}]}``:
        parameters are numbered in the order of :attr:`param_groups`. The
        state tensors are the optimizer's own (not copies), as in torch; save
        them (``nb.save``) or copy them before training on.

        Example::

            >>> import nbgrad as nb
            >>> w = nb.ones(2, requires_grad=True)
            >>> opt = nb.optim.SGD([w], lr=0.1, momentum=0.9)
            >>> w.sum().backward()
            >>> opt.step()
            >>> sd = opt.state_dict()
            >>> sd["state"]
            {0: {'momentum_buffer': tensor([1., 1.])}}
            >>> sd["param_groups"][0]["params"]
            [0]
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)] if isinstance(p, Tensor) else p: s for p, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state from :meth:`state_dict` (of this optimizer, a saved one, or torch's converted).

        Parameters are matched by position: the i-th parameter of the saved
        groups gets the i-th parameter of this optimizer's groups. Each state
        tensor is copied to its parameter's device (and dtype, for floating
        point values other than ``step``). The group options are replaced by
        the saved ones. State keys may be ints or digit strings (as JSON
        metadata stores them), values ``Tensor``\\ s or arrays.

        A torch optimizer's ``state_dict()`` loads after turning its tensors
        into arrays::

            sd = torch_opt.state_dict()
            sd["state"] = {i: {k: v.numpy() if torch.is_tensor(v) else v for k, v in s.items()}
                           for i, s in sd["state"].items()}
            nb_opt.load_state_dict(sd)

        Args:
            state_dict: a dict with ``"state"`` and ``"param_groups"``.
        """
        name = f"{self._name}.load_state_dict"
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            got = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"{name}: expected a dict with 'state' and 'param_groups' entries, got {got}")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}: loaded state dict has {len(saved_groups)} parameter group(s) but the optimizer has "
                f"{len(self.param_groups)}"
            )
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{name}: loaded state dict contains a parameter group that doesn't match the size of the "
                    f"optimizer's group: group {i} has {len(saved['params'])} parameter(s) in the state dict but "
                    f"{len(group['params'])} in the optimizer"
                )
        id_map = dict(
            zip(
                chain.from_iterable(g["params"] for g in saved_groups),
                chain.from_iterable(g["params"] for g in self.param_groups),
            )
        )
        state: defaultdict = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if isinstance(key, str) and key.isdigit():
                key = int(key)
            param = id_map.get(key)
            if param is None:
                state[key] = value
                continue
            state[param] = {k: self._cast_state(param, key, k, v, name) for k, v in value.items()}
        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            new_group = {k: v for k, v in saved.items() if k != "params"}
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            for option, default in self.defaults.items():
                new_group.setdefault(option, default)
            if isinstance(new_group.get("betas"), list):
                new_group["betas"] = tuple(new_group["betas"])  # JSON metadata turns tuples into lists
            self._check_options(new_group)
            new_groups.append(new_group)
        self.state = state
        self.param_groups = new_groups

    def _cast_state(self, param: Tensor, index, key: str, value, name: str):
        """A copy of one saved state value, as a Tensor on ``param``'s device (``step`` stays on the cpu)."""
        if isinstance(value, Tensor):
            array = value._data
        elif backend.device_of(value).type == "cuda":  # a CuPy array
            array = value
        elif hasattr(value, "__array__"):  # NumPy arrays, cpu torch tensors
            array = np.asarray(value)
        elif key == "step" and is_number(value):
            return _step_tensor(float(value))
        else:
            return value
        if key == "step":
            array = backend.to_numpy(array)
            return Tensor._wrap(array.astype(array.dtype if array.dtype.kind == "f" else _scalar_dtype(), copy=True))
        if array.ndim and tuple(array.shape) != tuple(param.shape):
            raise ValueError(
                f"{name}: state '{key}' of parameter {index} has shape {tuple(array.shape)} but the parameter has "
                f"shape {tuple(param.shape)}"
            )
        dtype = param.dtype if param._data.dtype.kind == "f" else array.dtype
        moved = backend.move(array, param.device)
        # move() copies across devices; copy here otherwise, so that two optimizers never share state.
        return Tensor._wrap(moved.astype(dtype, copy=moved is array))

    def __repr__(self) -> str:
        text = f"{self._name} ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            text += "".join(f"    {key}: {group[key]}\n" for key in sorted(group) if key != "params")
        return text + ")"

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """Notebook display: the repr, and an HTML table of the groups, hyper-parameters, state size and steps."""
        from nbgrad.display.optim import optimizer_mimebundle

        return optimizer_mimebundle(self)


def _group_of(groups: list, param: Tensor) -> int:
    return next(i for i, g in enumerate(groups) if any(p is param for p in g["params"]))


def _scalar_dtype() -> np.dtype:
    """The dtype of ``step`` counters: float64 under a float64 default dtype, else float32 (torch's rule)."""
    return backend.float64 if backend.get_default_dtype() == backend.float64 else backend.float32


def _step_tensor(value: float = 0.0) -> Tensor:
    """A ``step`` counter: a 0-d cpu tensor, as torch keeps it (reading it never syncs a GPU)."""
    return Tensor._wrap(np.array(value, dtype=_scalar_dtype()))


def advance_step(state: dict) -> float:
    """Increment ``state["step"]`` (created at 0 on first use) and return the new count."""
    step = state.get("step")
    if step is None:
        step = state["step"] = _step_tensor()
    step._data += 1
    return float(step._data)


def lerp_(start, end, weight: float, tmp) -> None:
    """``start += weight * (end - start)`` in place, computed as torch's ``lerp_`` does (``tmp``: scratch)."""
    backend.array_module(start).subtract(end, start, out=tmp)
    if weight < 0.5:
        tmp *= weight
        start += tmp
    else:
        tmp *= 1 - weight
        backend.array_module(start).subtract(end, tmp, out=start)


def add_product_(acc, a, b, value: float, tmp) -> None:
    """``acc += value * a * b`` in place (torch's ``addcmul_``); ``tmp`` is scratch like ``acc``."""
    backend.array_module(acc).multiply(a, value, out=tmp)
    tmp *= b
    acc += tmp


def is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def nonnegative(value) -> bool:
    return is_number(value) and value >= 0
