"""The Optimizer API without torch: NumPy reference updates, groups, zero_grad, state dicts and every error path."""

from __future__ import annotations

import copy
import math
import pickle

import numpy as np
import pytest
from optim_cases import initial_arrays, nb_params, run_nb, to_numpy

import nbgrad as nb
from nbgrad.optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

ALL = [SGD, Adam, AdamW, RMSprop, Adagrad]


def _param(values, device="cpu"):
    return nb.tensor(values, dtype=nb.float64, device=device, requires_grad=True)


# ----------------------------------------------------------------- NumPy references of one or two steps


def test_sgd_momentum_nesterov_reference(device):
    w = _param([1.0, -2.0], device)
    opt = SGD([w], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)
    ref, buf = np.array([1.0, -2.0]), None
    for _ in range(3):
        g = 2 * ref + 0.01 * ref
        buf = g.copy() if buf is None else 0.9 * buf + g
        ref = ref - 0.1 * (g + 0.9 * buf)
        opt.zero_grad()
        (w**2).sum().backward()
        opt.step()
    np.testing.assert_allclose(to_numpy(w), ref, rtol=1e-14)


def test_adam_reference(device):
    w = _param([1.0, -2.0, 0.5], device)
    opt = Adam([w], lr=0.1, betas=(0.8, 0.9), eps=1e-6)
    x, m, v = np.array([1.0, -2.0, 0.5]), 0.0, 0.0
    for t in range(1, 4):
        g = 3 * x**2
        m = 0.8 * m + 0.2 * g
        v = 0.9 * v + 0.1 * g * g
        x = x - 0.1 / (1 - 0.8**t) * m / (np.sqrt(v) / math.sqrt(1 - 0.9**t) + 1e-6)
        opt.zero_grad()
        (w**3).sum().backward()
        opt.step()
    np.testing.assert_allclose(to_numpy(w), x, rtol=1e-12)
    assert opt.state[w]["step"].item() == 3.0


def test_adamw_decays_weights_without_gradient_term():
    w = _param([2.0])
    opt = AdamW([w], lr=0.1, weight_decay=0.5)
    w.grad = nb.zeros(1, dtype=nb.float64)
    opt.step()
    np.testing.assert_allclose(to_numpy(w), [2.0 * (1 - 0.1 * 0.5)])  # a zero gradient gives a zero Adam step


def test_rmsprop_centered_reference():
    w = _param([1.0, -3.0])
    opt = RMSprop([w], lr=0.01, alpha=0.9, centered=True)
    x, sq, ga = np.array([1.0, -3.0]), 0.0, 0.0
    for _ in range(3):
        g = 2 * x
        sq = 0.9 * sq + 0.1 * g * g
        ga = 0.9 * ga + 0.1 * g
        x = x - 0.01 * g / (np.sqrt(sq - ga * ga) + 1e-8)
        opt.zero_grad()
        (w**2).sum().backward()
        opt.step()
    np.testing.assert_allclose(to_numpy(w), x, rtol=1e-12)


def test_adagrad_reference_with_lr_decay():
    w = _param([1.0, -3.0])
    opt = Adagrad([w], lr=0.5, lr_decay=0.1, initial_accumulator_value=0.2)
    x, s = np.array([1.0, -3.0]), 0.2
    for t in range(1, 4):
        g = 2 * x
        s = s + g * g
        x = x - 0.5 / (1 + (t - 1) * 0.1) * g / (np.sqrt(s) + 1e-10)
        opt.zero_grad()
        (w**2).sum().backward()
        opt.step()
    np.testing.assert_allclose(to_numpy(w), x, rtol=1e-12)


# ----------------------------------------------------------------- behaviour


@pytest.mark.parametrize("cls", ALL)
def test_params_without_grad_are_skipped(cls, device):
    a, b = _param([1.0, 2.0], device), _param([3.0], device)
    opt = cls([a, b], lr=0.1)
    a.grad = nb.ones(2, dtype=nb.float64, device=device)
    version = b._version[0]
    opt.step()
    assert to_numpy(b).tolist() == [3.0]
    assert b._version[0] == version
    assert not np.array_equal(to_numpy(a), [1.0, 2.0])
    if cls is not Adagrad:  # Adagrad creates every state up front, as torch does
        assert b not in opt.state


@pytest.mark.parametrize("cls", ALL)
def test_step_updates_in_place_and_bumps_version(cls, device):
    w = _param([1.0, 2.0], device)
    array, version = w._data, w._version[0]
    opt = cls([w], lr=0.1)
    w.grad = nb.ones(2, dtype=nb.float64, device=device)
    grad_before = to_numpy(w.grad)
    opt.step()
    assert w._data is array
    assert w._version[0] == version + 1
    assert w.grad_fn is None and w.requires_grad
    np.testing.assert_array_equal(to_numpy(w.grad), grad_before)  # the gradient is never modified


@pytest.mark.parametrize("cls", ALL)
def test_state_lives_on_the_parameter_device_and_dtype(cls, device):
    w = nb.zeros(3, dtype=nb.float32, device=device, requires_grad=True)
    opt = cls([w], lr=0.1, momentum=0.9) if cls in (SGD, RMSprop) else cls([w], lr=0.1)
    w.grad = nb.ones(3, device=device)
    opt.step()
    for key, value in opt.state[w].items():
        assert isinstance(value, nb.Tensor)
        if key == "step":
            assert value.device == nb.device("cpu") and value.ndim == 0
        else:
            assert value.device == w.device and value.dtype == nb.float32 and value.shape == w.shape
    assert w.dtype == nb.float32


def test_updated_parameter_invalidates_a_saved_graph():
    w = _param([1.0, 2.0])
    y = (w * w).sum()  # saves w for backward
    w.grad = nb.ones(2, dtype=nb.float64)
    SGD([w], lr=0.1).step()
    with pytest.raises(RuntimeError):
        y.backward()


def test_closure_runs_with_grad_enabled_and_returns_loss():
    w = _param([1.0, 2.0])
    opt = SGD([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w**2).sum()
        loss.backward()
        return loss

    with nb.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 5.0
    np.testing.assert_allclose(to_numpy(w), [0.8, 1.6])


def test_zero_grad_set_to_none():
    a, b = _param([1.0]), _param([2.0])
    opt = SGD([a, b])
    a.grad = nb.ones(1, dtype=nb.float64)
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_zero_grad_to_zeros_keeps_the_tensor():
    a = _param([1.0, 2.0])
    opt = Adam([a])
    (a * a).sum().backward()
    grad = a.grad
    opt.zero_grad(set_to_none=False)
    assert a.grad is grad
    assert to_numpy(grad).tolist() == [0.0, 0.0]
    assert not grad.requires_grad
    (a * a).sum().backward()  # accumulates into zeros
    assert to_numpy(a.grad).tolist() == [2.0, 4.0]


def test_zero_grad_detaches_a_grad_with_history():
    a = _param([1.0, 2.0])
    (a**3).sum().backward(create_graph=True)
    assert a.grad.grad_fn is not None
    SGD([a]).zero_grad(set_to_none=False)
    assert a.grad.grad_fn is None and to_numpy(a.grad).tolist() == [0.0, 0.0]


def test_param_groups_take_defaults_and_overrides():
    a, b = _param([1.0]), _param([2.0])
    opt = SGD([{"params": a}, {"params": [b], "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert [g["momentum"] for g in opt.param_groups] == [0, 0.9]
    assert opt.param_groups[0]["params"][0] is a
    a.grad, b.grad = nb.ones(1, dtype=nb.float64), nb.ones(1, dtype=nb.float64)
    opt.step()
    np.testing.assert_allclose([to_numpy(a)[0], to_numpy(b)[0]], [0.9, 1.5])


def test_add_param_group_later():
    a, b = _param([1.0]), _param([2.0])
    opt = Adam([a], lr=0.1)
    opt.add_param_group({"params": [b], "lr": 0.01})
    assert len(opt.param_groups) == 2 and opt.param_groups[1]["betas"] == (0.9, 0.999)
    b.grad = nb.ones(1, dtype=nb.float64)
    opt.step()
    np.testing.assert_allclose(to_numpy(b), [2.0 - 0.01], rtol=1e-7)


def test_adagrad_param_group_added_later_gets_state():
    a, b = _param([1.0]), _param([2.0])
    opt = Adagrad([a], lr=0.1, initial_accumulator_value=1.0)
    opt.add_param_group({"params": [b]})
    b.grad = nb.ones(1, dtype=nb.float64)
    opt.step()
    assert opt.state[b]["sum"].item() == 2.0


def test_named_parameters_give_param_names():
    a, b = _param([1.0]), _param([2.0])
    opt = SGD([("w", a), ("b", b)], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["w", "b"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["w", "b"]


def test_generator_of_params():
    params = [_param([1.0]), _param([2.0])]
    opt = SGD((p for p in params), lr=0.1)
    assert all(a is b for a, b in zip(opt.param_groups[0]["params"], params))


def test_state_dict_format():
    a, b, c = _param([1.0]), _param([2.0, 3.0]), _param([4.0])
    opt = SGD([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.1, momentum=0.9)
    b.grad, c.grad = nb.ones(2, dtype=nb.float64), nb.ones(1, dtype=nb.float64)
    opt.step()
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert sorted(sd["state"]) == [1, 2]
    assert sd["param_groups"][0]["params"] == [0, 1] and sd["param_groups"][1]["params"] == [2]
    assert sd["param_groups"][1]["lr"] == 0.5
    assert to_numpy(sd["state"][1]["momentum_buffer"]).tolist() == [1.0, 1.0]


def test_load_state_dict_copies_state_and_accepts_string_keys():
    ps = nb_params(initial_arrays())
    opt = Adam(ps, lr=0.05)
    run_nb(opt, ps, range(3))
    sd = opt.state_dict()
    as_json_keys = {"state": {str(k): v for k, v in sd["state"].items()}, "param_groups": sd["param_groups"]}
    ps2 = nb_params([to_numpy(p) for p in ps])
    opt2 = Adam(ps2)
    opt2.load_state_dict(as_json_keys)
    assert opt2.param_groups[0]["lr"] == 0.05
    assert all(a is b for a, b in zip(opt2.param_groups[0]["params"], ps2))
    for p, p2 in zip(ps, ps2):
        for key in ("exp_avg", "exp_avg_sq"):
            assert opt2.state[p2][key]._data is not opt.state[p][key]._data  # copies: no aliasing
            np.testing.assert_array_equal(to_numpy(opt2.state[p2][key]), to_numpy(opt.state[p][key]))
        assert opt2.state[p2]["step"].item() == opt.state[p]["step"].item() > 0


def test_load_state_dict_accepts_numpy_arrays_and_number_steps(device):
    w = _param([1.0, 2.0], device)
    opt = Adam([w])
    sd = {
        "state": {0: {"step": 4, "exp_avg": np.array([0.1, 0.2]), "exp_avg_sq": np.array([0.01, 0.04])}},
        "param_groups": [{"lr": 0.01, "betas": [0.9, 0.99], "params": [0]}],
    }
    opt.load_state_dict(sd)
    state = opt.state[w]
    assert state["step"].item() == 4.0 and state["step"].device == nb.device("cpu")
    assert state["exp_avg"].device == nb.device(device)
    assert opt.param_groups[0]["betas"] == (0.9, 0.99)
    assert opt.param_groups[0]["eps"] == 1e-8  # missing options take the defaults


def test_state_dict_round_trip_of_defaults_only_is_identity():
    ps = nb_params(initial_arrays())
    opt = RMSprop(ps, lr=0.01, momentum=0.5, centered=True)
    run_nb(opt, ps, range(2))
    opt.load_state_dict(opt.state_dict())
    run_nb(opt, ps, range(2, 4))
    assert opt.state[ps[0]]["step"].item() == 4.0


def test_repr():
    opt = Adam([_param([1.0])], lr=0.1)
    assert repr(opt).splitlines()[:3] == ["Adam (", "Parameter Group 0", "    amsgrad: False"]
    assert "    lr: 0.1" in repr(opt) and repr(opt).endswith(")")


def test_custom_optimizer_subclass():
    class SignSGD(Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, {"lr": lr})

        def _update(self, param, grad, group):
            param._data -= group["lr"] * np.sign(grad)

    w = _param([1.0, -1.0])
    opt = SignSGD([w])
    w.grad = nb.tensor([3.0, -0.5], dtype=nb.float64)
    opt.step()
    np.testing.assert_allclose(to_numpy(w), [0.9, -0.9])


# ----------------------------------------------------------------- errors


def test_error_params_is_a_tensor():
    with pytest.raises(TypeError, match=r"SGD: params argument .* iterable of Tensors or dicts.*shape \(2,\)"):
        SGD(_param([1.0, 2.0]))


def test_error_params_is_a_dict():
    with pytest.raises(TypeError, match=r"Adam: params should be an iterable .* got a dict"):
        Adam({"params": [_param([1.0])]})


def test_error_empty_params():
    with pytest.raises(ValueError, match="SGD: optimizer got an empty parameter list"):
        SGD([])


def test_error_not_a_tensor():
    with pytest.raises(TypeError, match="Adam: optimizer can only optimize Tensors, but parameter 1 .* ndarray"):
        Adam([_param([1.0]), np.zeros(2)])


def test_error_non_leaf():
    w = _param([1.0])
    with pytest.raises(ValueError, match=r"RMSprop: can't optimize a non-leaf Tensor \(parameter 0 .*shape \(1,\)"):
        RMSprop([w * 2])


def test_error_duplicate_across_groups():
    w = _param([1.0])
    with pytest.raises(ValueError, match="SGD: some parameters appear in more than one parameter group.*group 0"):
        SGD([{"params": [w]}, {"params": [w]}])


def test_error_duplicate_added_later():
    w = _param([1.0])
    opt = Adam([w])
    with pytest.raises(ValueError, match="Adam: some parameters appear in more than one parameter group"):
        opt.add_param_group({"params": w})


def test_warning_duplicate_within_group():
    w = _param([1.0])
    with pytest.warns(UserWarning, match="SGD: a parameter group contains the same parameter more than once"):
        SGD([w, w])


def test_error_params_as_set():
    with pytest.raises(TypeError, match="SGD: optimizer parameters need to be organized in ordered collections"):
        SGD([{"params": {_param([1.0])}}])


def test_error_param_group_not_a_dict_or_without_params():
    opt = SGD([_param([1.0])])
    with pytest.raises(TypeError, match="SGD: param_group must be a dict, but got list"):
        opt.add_param_group([_param([2.0])])
    with pytest.raises(ValueError, match="SGD: a parameter group needs a 'params' entry; got keys \\['lr'\\]"):
        opt.add_param_group({"lr": 0.1})


def test_error_mixing_named_and_unnamed():
    with pytest.raises(ValueError, match="SGD: all optimizer params should be with/without names"):
        SGD([("a", _param([1.0])), _param([2.0])])
    opt = SGD([("a", _param([1.0]))])
    with pytest.raises(ValueError, match="SGD: all optimizer param groups should be with/without names"):
        opt.add_param_group({"params": [_param([2.0])]})


@pytest.mark.parametrize(
    "cls, kwargs, message",
    [
        (SGD, {"lr": -0.1}, r"SGD: invalid lr value: lr=-0.1 \(expected a learning rate >= 0\)"),
        (SGD, {"momentum": -0.5}, r"SGD: invalid momentum value: momentum=-0.5"),
        (SGD, {"weight_decay": -1}, r"SGD: invalid weight_decay value: weight_decay=-1"),
        (SGD, {"dampening": "x"}, r"SGD: invalid dampening value: dampening='x'"),
        (SGD, {"nesterov": True}, r"SGD: Nesterov momentum requires a momentum and zero dampening, got momentum=0"),
        (SGD, {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, r"dampening=0.1"),
        (SGD, {"lr": None}, r"SGD: invalid lr value: lr=None"),
        (Adam, {"lr": -1e-3}, r"Adam: invalid lr value: lr=-0.001"),
        (Adam, {"betas": (1.0, 0.999)}, r"Adam: invalid betas value: betas=\(1.0, 0.999\) \(expected two numbers in"),
        (Adam, {"betas": (0.9, -0.1)}, r"Adam: invalid betas value: betas=\(0.9, -0.1\)"),
        (Adam, {"betas": (0.9,)}, r"Adam: invalid betas value: betas=\(0.9,\)"),
        (Adam, {"eps": -1e-8}, r"Adam: invalid eps value: eps=-1e-08"),
        (Adam, {"weight_decay": -0.1}, r"Adam: invalid weight_decay value"),
        (AdamW, {"betas": (0.9, 1.5)}, r"AdamW: invalid betas value: betas=\(0.9, 1.5\)"),
        (AdamW, {"lr": -1}, r"AdamW: invalid lr value: lr=-1"),
        (RMSprop, {"alpha": -0.9}, r"RMSprop: invalid alpha value: alpha=-0.9"),
        (RMSprop, {"eps": -1.0}, r"RMSprop: invalid eps value: eps=-1.0"),
        (RMSprop, {"momentum": -0.1}, r"RMSprop: invalid momentum value: momentum=-0.1"),
        (Adagrad, {"lr_decay": -0.1}, r"Adagrad: invalid lr_decay value: lr_decay=-0.1"),
        (Adagrad, {"initial_accumulator_value": -1}, r"Adagrad: invalid initial_accumulator_value value"),
        (Adagrad, {"eps": -1e-10}, r"Adagrad: invalid eps value: eps=-1e-10"),
    ],
)
def test_error_invalid_option(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls([_param([1.0])], **kwargs)


def test_error_invalid_option_in_a_group():
    with pytest.raises(ValueError, match=r"Adam: invalid lr value: lr=-0.5"):
        Adam([{"params": [_param([1.0])], "lr": -0.5}])
    opt = SGD([_param([1.0])])
    with pytest.raises(ValueError, match=r"SGD: invalid momentum value: momentum=-1"):
        opt.add_param_group({"params": [_param([2.0])], "momentum": -1})


def test_error_load_state_dict_group_count():
    a, b = _param([1.0]), _param([2.0])
    sd = SGD([{"params": [a]}, {"params": [b]}]).state_dict()
    with pytest.raises(
        ValueError,
        match=r"SGD.load_state_dict: loaded state dict has 2 parameter group\(s\) but "
        r"the optimizer has 1",
    ):
        SGD([a, b]).load_state_dict(sd)


def test_error_load_state_dict_param_count():
    a, b = _param([1.0]), _param([2.0])
    sd = Adam([a, b]).state_dict()
    with pytest.raises(
        ValueError,
        match=r"Adam.load_state_dict: .*group 0 has 2 parameter\(s\) in the state dict "
        r"but 1 in the optimizer",
    ):
        Adam([a]).load_state_dict(sd)


def test_error_load_state_dict_shape():
    a = _param([1.0, 2.0])
    opt = SGD([a], momentum=0.9)
    sd = {"state": {0: {"momentum_buffer": np.zeros(3)}}, "param_groups": opt.state_dict()["param_groups"]}
    with pytest.raises(
        ValueError,
        match=r"SGD.load_state_dict: state 'momentum_buffer' of parameter 0 has shape "
        r"\(3,\) but the parameter has shape \(2,\)",
    ):
        opt.load_state_dict(sd)


def test_error_load_state_dict_not_a_state_dict():
    opt = SGD([_param([1.0])])
    with pytest.raises(
        ValueError,
        match=r"SGD.load_state_dict: expected a dict with 'state' and 'param_groups' "
        r"entries, got \['lr'\]",
    ):
        opt.load_state_dict({"lr": 0.1})


def test_error_load_state_dict_invalid_option():
    opt = Adam([_param([1.0])])
    sd = opt.state_dict()
    sd["param_groups"][0]["betas"] = (0.9, 2.0)
    with pytest.raises(ValueError, match=r"Adam: invalid betas value: betas=\(0.9, 2.0\)"):
        opt.load_state_dict(sd)


def test_error_pickling():
    with pytest.raises(TypeError, match="nbgrad tensors are not pickled"):
        pickle.dumps(SGD([_param([1.0])]))


def test_deepcopy_gives_an_independent_optimizer():
    w = _param([1.0, 2.0])
    opt = Adam([w], lr=0.1)
    w.grad = nb.ones(2, dtype=nb.float64)
    opt.step()
    twin = copy.deepcopy(opt)
    (w2,) = twin.param_groups[0]["params"]
    assert w2 is not w and twin.state[w2]["exp_avg"]._data is not opt.state[w]["exp_avg"]._data
    opt.step()
    twin.step()
    np.testing.assert_array_equal(to_numpy(w), to_numpy(w2))


def test_checkpoint_through_nb_save_continues_the_trajectory(tmp_path):
    """Optimizer and scheduler state dicts saved with nb.save (safetensors) and loaded back resume exactly."""
    if not hasattr(nb, "save"):
        pytest.skip("nb.save is not available")
    from nbgrad.optim import lr_scheduler

    ps = nb_params(initial_arrays())
    opt = Adam(ps, lr=0.05, amsgrad=True)
    sched = lr_scheduler.MultiStepLR(opt, milestones=[6, 9], gamma=0.5)
    for k in range(5):
        run_nb(opt, ps, range(k, k + 1))
        sched.step()
    path = tmp_path / "checkpoint.safetensors"
    nb.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "epoch": 5}, path)
    loaded = nb.load(path)
    ps2 = nb_params([to_numpy(p) for p in ps])
    opt2 = Adam(ps2)
    sched2 = lr_scheduler.MultiStepLR(opt2, milestones=[100])
    opt2.load_state_dict(loaded["optimizer"])
    sched2.load_state_dict(loaded["scheduler"])
    for k in range(5, 12):
        for o, s, params in ((opt, sched, ps), (opt2, sched2, ps2)):
            run_nb(o, params, range(k, k + 1))
            s.step()
    for p, p2 in zip(ps, ps2):
        np.testing.assert_array_equal(to_numpy(p), to_numpy(p2))
    assert sched2.get_last_lr() == sched.get_last_lr() == [0.05 * 0.25]
