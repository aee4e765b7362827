"""Shared pieces of the optimizer tests: the option grid, parameters, gradients, and runners for nbgrad and torch.

Both libraries start from the same float64 parameters and see the same
gradients: each step's gradient is a fixed function of the *current*
parameter values (a quadratic-plus-sine pull towards a target, plus seeded
noise), computed in NumPy for each library from its own parameters, so any
difference in an update feeds back into the later gradients.
"""

from __future__ import annotations

import numpy as np

import nbgrad as nb

SHAPES = [(3, 4), (5,), ()]

# (optimizer name, options): every option and the combinations that interact.
CASES = [
    ("SGD", {"lr": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.05, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "maximize": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.1, "nesterov": True, "maximize": True}),
    ("SGD", {}),
    ("Adam", {}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "maximize": True}),
    ("Adam", {"lr": 0.05, "betas": (0.5, 0.9), "eps": 1e-3}),
    ("Adam", {"lr": 0.05, "betas": (0.3, 0.6)}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1, "maximize": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.0}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5}),
    ("RMSprop", {"lr": 0.01, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "maximize": True}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.5, "eps": 1e-3}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.9, "centered": True, "weight_decay": 0.1, "maximize": True}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5}),
    ("Adagrad", {"lr": 0.1, "maximize": True}),
    ("Adagrad", {"lr": 0.1, "eps": 1e-3, "lr_decay": 0.05, "weight_decay": 0.05}),
]

# Per-group overrides for the parameter-group tests (group 0: params[0]; group 1: params[1:]).
GROUP_OVERRIDES = {
    "SGD": ({"lr": 0.01, "momentum": 0.5}, {"lr": 0.1}),
    "Adam": ({"lr": 0.01, "betas": (0.8, 0.99)}, {"lr": 0.1, "amsgrad": True}),
    "AdamW": ({"lr": 0.01, "weight_decay": 0.5}, {"lr": 0.1}),
    "RMSprop": ({"lr": 0.001, "centered": True}, {"lr": 0.02, "momentum": 0.3}),
    "Adagrad": ({"lr": 0.01, "lr_decay": 0.2}, {"lr": 0.2}),
}


def case_id(case) -> str:
    name, options = case
    return name + "".join(f"-{k}={v}" for k, v in options.items())


def initial_arrays(dtype=np.float64) -> list[np.ndarray]:
    rng = np.random.default_rng(1234)
    return [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]


def gradient(step: int, i: int, value: np.ndarray) -> "np.ndarray | None":
    """The gradient of parameter ``i`` at ``step`` given its current value (None: no gradient this step)."""
    if i == 2 and step % 3 == 1:
        return None  # the optimizer must skip a parameter without a gradient
    noise = np.random.default_rng(1000 * step + i).standard_normal(value.shape)
    return np.asarray(2.0 * (value - 0.5) + np.sin(3.0 * value) + 0.3 * noise, dtype=value.dtype)


def nb_params(arrays, device="cpu") -> list[nb.Tensor]:
    return [nb.tensor(a.copy(), device=device, requires_grad=True) for a in arrays]


def to_numpy(t) -> np.ndarray:
    """A host copy of an nbgrad or torch tensor."""
    if isinstance(t, nb.Tensor):
        return t.detach().cpu().numpy().copy()
    return t.detach().numpy().copy()


def set_nb_grads(params, step: int) -> None:
    for i, p in enumerate(params):
        g = gradient(step, i, to_numpy(p))
        p.grad = None if g is None else nb.tensor(g, device=p.device)


def set_torch_grads(params, step: int) -> None:
    import torch

    for i, p in enumerate(params):
        g = gradient(step, i, to_numpy(p))
        p.grad = None if g is None else torch.from_numpy(g)


def run_nb(opt, params, steps: range) -> None:
    for k in steps:
        set_nb_grads(params, k)
        opt.step()


def run_torch(opt, params, steps: range) -> None:
    for k in steps:
        set_torch_grads(params, k)
        opt.step()


def groups(params, name: str, options: dict) -> list[dict]:
    first, rest = GROUP_OVERRIDES[name]
    return [{"params": params[:1], **first}, {"params": params[1:], **rest}]


def assert_same_state(nb_state: dict, torch_state: dict, rtol: float = 1e-10) -> None:
    """The ``state`` parts of two state dicts agree: the same keys per parameter and close values."""
    assert sorted(nb_state) == sorted(torch_state)
    for index, torch_entry in torch_state.items():
        nb_entry = nb_state[index]
        assert list(nb_entry) == list(torch_entry), index
        for key, value in torch_entry.items():
            np.testing.assert_allclose(
                to_numpy(nb_entry[key]), to_numpy(value), rtol=rtol, atol=1e-12, err_msg=f"state {index}/{key}"
            )


def torch_state_as_numpy(state_dict: dict) -> dict:
    """A torch optimizer state dict with every tensor turned into a NumPy array (what nbgrad loads)."""
    import torch

    return {
        "state": {
            i: {k: v.numpy() if torch.is_tensor(v) else v for k, v in s.items()} for i, s in state_dict["state"].items()
        },
        "param_groups": state_dict["param_groups"],
    }
