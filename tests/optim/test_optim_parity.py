"""Optimizer trajectories and states equal torch's: every optimizer and option, groups, and state dicts both ways."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from optim_cases import (
    CASES,
    GROUP_OVERRIDES,
    assert_same_state,
    case_id,
    groups,
    initial_arrays,
    nb_params,
    run_nb,
    run_torch,
    to_numpy,
    torch_state_as_numpy,
)

import nbgrad as nb

torch = pytest.importorskip("torch")

STEPS = 20


def _torch_params(arrays):
    return [torch.tensor(a.copy(), requires_grad=True) for a in arrays]


def _assert_same_params(nb_ps, torch_ps, rtol=1e-10):
    for i, (a, b) in enumerate(zip(nb_ps, torch_ps)):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), rtol=rtol, atol=1e-12, err_msg=f"param {i}")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_trajectory_matches_torch(case, device):
    name, options = case
    arrays = initial_arrays()
    ps, tps = nb_params(arrays, device), _torch_params(arrays)
    opt = getattr(nb.optim, name)(ps, **options)
    topt = getattr(torch.optim, name)(tps, **options)
    for k in range(STEPS):
        run_nb(opt, ps, range(k, k + 1))
        run_torch(topt, tps, range(k, k + 1))
        _assert_same_params(ps, tps)
    assert_same_state(opt.state_dict()["state"], topt.state_dict()["state"])


@pytest.mark.parametrize("name", sorted(GROUP_OVERRIDES))
def test_param_groups_match_torch(name, device):
    arrays = initial_arrays()
    ps, tps = nb_params(arrays, device), _torch_params(arrays)
    opt = getattr(nb.optim, name)(groups(ps, name, {}), lr=0.05)
    topt = getattr(torch.optim, name)(groups(tps, name, {}), lr=0.05)
    run_nb(opt, ps, range(STEPS))
    run_torch(topt, tps, range(STEPS))
    _assert_same_params(ps, tps)
    assert_same_state(opt.state_dict()["state"], topt.state_dict()["state"])
    ours, theirs = opt.state_dict()["param_groups"], topt.state_dict()["param_groups"]
    for group, tgroup in zip(ours, theirs):
        assert group["params"] == tgroup["params"]
        for key, value in group.items():
            assert tgroup[key] == value, key


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_float32_trajectory_matches_torch(name):
    arrays = initial_arrays(np.float32)
    ps, tps = nb_params(arrays), _torch_params(arrays)
    options = {"lr": 0.05, "momentum": 0.9} if name != "Adam" else {"lr": 0.05}
    opt, topt = getattr(nb.optim, name)(ps, **options), getattr(torch.optim, name)(tps, **options)
    run_nb(opt, ps, range(STEPS))
    run_torch(topt, tps, range(STEPS))
    for p in ps:
        assert p.dtype == nb.float32
    _assert_same_params(ps, tps, rtol=1e-4)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_backward_driven_training_matches_torch(name):
    """Gradients from each library's own autograd (a least-squares loss with a tanh), not set by hand."""
    rng = np.random.default_rng(5)
    a, b, w0 = rng.standard_normal((8, 4)), rng.standard_normal(8), rng.standard_normal(4)
    w, tw = nb.tensor(w0.copy(), requires_grad=True), torch.tensor(w0.copy(), requires_grad=True)
    opt, topt = getattr(nb.optim, name)([w], lr=0.05), getattr(torch.optim, name)([tw], lr=0.05)
    na, nb_b, ta, tb = nb.tensor(a), nb.tensor(b), torch.tensor(a), torch.tensor(b)

    def closure():
        opt.zero_grad()
        loss = ((nb.tanh(na @ w) - nb_b) ** 2).sum()
        loss.backward()
        return loss

    def tclosure():
        topt.zero_grad()
        loss = ((torch.tanh(ta @ tw) - tb) ** 2).sum()
        loss.backward()
        return loss

    for _ in range(STEPS):
        loss, tloss = opt.step(closure), topt.step(tclosure)
        assert loss.item() == pytest.approx(tloss.item(), rel=1e-10)
    _assert_same_params([w], [tw])


@pytest.mark.parametrize("case", [c for c in CASES if c[1]], ids=case_id)
def test_state_dict_round_trip_continues_the_trajectory(case):
    """Save after 5 steps, load into a fresh optimizer over fresh params: the next 15 steps are the same."""
    name, options = case
    ps = nb_params(initial_arrays())
    opt = getattr(nb.optim, name)(ps, **options)
    run_nb(opt, ps, range(5))
    saved = opt.state_dict()
    ps2 = nb_params([to_numpy(p) for p in ps])
    opt2 = getattr(nb.optim, name)(ps2, lr=123.0)  # options come from the state dict
    opt2.load_state_dict(saved)
    run_nb(opt, ps, range(5, STEPS))
    run_nb(opt2, ps2, range(5, STEPS))
    for p, p2 in zip(ps, ps2):
        np.testing.assert_array_equal(to_numpy(p), to_numpy(p2))


@pytest.mark.parametrize("case", [c for c in CASES if c[1]], ids=case_id)
def test_loading_torch_state_dict_continues_torch_trajectory(case, device):
    """torch trains 5 steps; its state dict (tensors turned into NumPy arrays) loads into nbgrad, which continues."""
    name, options = case
    tps = _torch_params(initial_arrays())
    topt = getattr(torch.optim, name)(tps, **options)
    run_torch(topt, tps, range(5))
    ps = nb_params([to_numpy(p) for p in tps], device)
    opt = getattr(nb.optim, name)(ps)
    opt.load_state_dict(torch_state_as_numpy(topt.state_dict()))
    for state in opt.state.values():
        for key, value in state.items():
            assert isinstance(value, nb.Tensor)
            assert value.device == (nb.device("cpu") if key == "step" else nb.device(device))
    run_torch(topt, tps, range(5, STEPS))
    run_nb(opt, ps, range(5, STEPS))
    _assert_same_params(ps, tps)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_torch_loads_nbgrad_state_dict(name):
    """The other way: nbgrad's state dict, tensors turned into torch tensors, loads into torch."""
    options = {"lr": 0.05, "momentum": 0.9} if name in ("SGD", "RMSprop") else {"lr": 0.05}
    ps = nb_params(initial_arrays())
    opt = getattr(nb.optim, name)(ps, **options)
    run_nb(opt, ps, range(5))
    sd = opt.state_dict()
    converted = {
        "state": {i: {k: torch.from_numpy(to_numpy(v)) for k, v in s.items()} for i, s in sd["state"].items()},
        "param_groups": copy.deepcopy(sd["param_groups"]),
    }
    tps = _torch_params([to_numpy(p) for p in ps])
    topt = getattr(torch.optim, name)(tps)
    topt.load_state_dict(converted)
    run_nb(opt, ps, range(5, STEPS))
    run_torch(topt, tps, range(5, STEPS))
    _assert_same_params(ps, tps)


def test_load_casts_state_to_parameter_dtype():
    """float64 torch state loaded for float32 parameters becomes float32 (step keeps its own dtype)."""
    tps = _torch_params(initial_arrays())
    topt = torch.optim.Adam(tps, lr=0.05)
    run_torch(topt, tps, range(3))
    ps = nb_params(initial_arrays(np.float32))
    opt = nb.optim.Adam(ps)
    opt.load_state_dict(torch_state_as_numpy(topt.state_dict()))
    state = opt.state[ps[0]]
    assert state["exp_avg"].dtype == nb.float32
    assert state["step"].dtype == nb.float32 and state["step"].item() == 3.0


def test_repr_lists_the_options_like_torch():
    w = nb.zeros(2, requires_grad=True)
    text = repr(nb.optim.SGD([{"params": [w]}, {"params": [nb.zeros(1, requires_grad=True)], "lr": 0.5}], lr=0.1))
    expected = repr(
        torch.optim.SGD(
            [
                {"params": [torch.zeros(2, requires_grad=True)]},
                {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.5},
            ],
            lr=0.1,
        )
    )
    # torch lists its implementation switches (foreach, fused, differentiable) too; nbgrad has none.
    dropped = ("foreach", "fused", "differentiable")
    assert text == "\n".join(line for line in expected.splitlines() if line.split(":")[0].strip() not in dropped)


def test_with_nn_parameter():
    parameter = pytest.importorskip("nbgrad.nn.parameter")
    arrays = initial_arrays()
    ps = [parameter.Parameter(nb.tensor(a.copy())) for a in arrays]
    tps = _torch_params(arrays)
    opt, topt = nb.optim.AdamW(ps, lr=0.05), torch.optim.AdamW(tps, lr=0.05)
    run_nb(opt, ps, range(STEPS))
    run_torch(topt, tps, range(STEPS))
    _assert_same_params(ps, tps)
    assert all(type(p) is parameter.Parameter for p in ps)
