"""LR schedulers: the lr (and momentum) sequences equal torch's; state dicts round-trip; errors."""

from __future__ import annotations

import copy
import warnings

import pytest

import nbgrad as nb
from nbgrad.optim import lr_scheduler as S

STEPS = 40
LRS = (0.1, 0.01)


def _nb_optimizer(name="SGD", **options):
    groups = [{"params": [nb.zeros(2, requires_grad=True)], "lr": lr} for lr in LRS]
    return getattr(nb.optim, name)(groups, **options)


def _torch_optimizer(torch, name="SGD", **options):
    groups = [{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in LRS]
    return getattr(torch.optim, name)(groups, **options)


def _momenta(opt) -> list:
    return [g["betas"][0] if "betas" in g else g.get("momentum", 0.0) for g in opt.param_groups]


def _trace(opt, schedulers, steps=STEPS, metrics=None) -> list:
    """(lr of each group, get_last_lr, momentum) before each of ``steps`` epochs; steps every scheduler."""
    out = []
    for epoch in range(steps):
        out.append(([g["lr"] for g in opt.param_groups], list(schedulers[-1].get_last_lr()), _momenta(opt)))
        opt.step()
        for s in schedulers:
            if metrics is None:
                s.step()
            else:
                s.step(metrics[epoch])
    return out


def _assert_same_trace(ours, theirs):
    assert len(ours) == len(theirs)
    for epoch, (a, b) in enumerate(zip(ours, theirs)):
        for x, y in zip(a, b):
            assert x == pytest.approx(y, rel=1e-13, abs=1e-15), f"epoch {epoch}: {a} != {b}"


def _lambda(epoch):
    return 0.95**epoch


# name -> (optimizer name, optimizer options, build(module, opt) -> list of schedulers)
SCHEDULES = {
    "StepLR": ("SGD", {}, lambda m, o: [m.StepLR(o, step_size=7, gamma=0.5)]),
    "StepLR-default-gamma": ("SGD", {}, lambda m, o: [m.StepLR(o, 3)]),
    "MultiStepLR": ("SGD", {}, lambda m, o: [m.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.3)]),
    "ExponentialLR": ("SGD", {}, lambda m, o: [m.ExponentialLR(o, gamma=0.9)]),
    "CosineAnnealingLR": ("SGD", {}, lambda m, o: [m.CosineAnnealingLR(o, T_max=10, eta_min=0.001)]),
    "CosineAnnealingLR-past-T_max": ("SGD", {}, lambda m, o: [m.CosineAnnealingLR(o, T_max=7)]),
    "LinearLR": ("SGD", {}, lambda m, o: [m.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=12)]),
    "LinearLR-decay": ("SGD", {}, lambda m, o: [m.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=20)]),
    "LambdaLR": ("SGD", {}, lambda m, o: [m.LambdaLR(o, lr_lambda=_lambda)]),
    "LambdaLR-per-group": ("SGD", {}, lambda m, o: [m.LambdaLR(o, [_lambda, lambda e: 1.0 / (1 + e)])]),
    "OneCycleLR-cos": ("SGD", {"momentum": 0.9}, lambda m, o: [m.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=40)]),
    "OneCycleLR-linear": (
        "SGD",
        {"momentum": 0.9},
        lambda m, o: [m.OneCycleLR(o, max_lr=1.0, epochs=4, steps_per_epoch=10, anneal_strategy="linear")],
    ),
    "OneCycleLR-three-phase": (
        "SGD",
        {"momentum": 0.9},
        lambda m, o: [
            m.OneCycleLR(
                o, max_lr=1.0, total_steps=41, pct_start=0.25, three_phase=True, div_factor=10.0, final_div_factor=100.0
            )
        ],
    ),
    "OneCycleLR-adam-betas": (
        "Adam",
        {},
        lambda m, o: [m.OneCycleLR(o, max_lr=0.01, total_steps=40, base_momentum=0.8, max_momentum=0.9)],
    ),
    "OneCycleLR-no-momentum": (
        "Adagrad",
        {},
        lambda m, o: [m.OneCycleLR(o, max_lr=0.1, total_steps=40, cycle_momentum=False)],
    ),
    "SequentialLR": (
        "SGD",
        {},
        lambda m, o: [
            m.SequentialLR(
                o, [m.LinearLR(o, start_factor=0.1, total_iters=5), m.CosineAnnealingLR(o, T_max=30)], milestones=[5]
            )
        ],
    ),
    "SequentialLR-three": (
        "SGD",
        {},
        lambda m, o: [
            m.SequentialLR(
                o,
                [
                    m.ExponentialLR(o, gamma=0.9),
                    m.StepLR(o, step_size=4, gamma=0.5),
                    m.MultiStepLR(o, milestones=[3, 6], gamma=0.2),
                ],
                milestones=[10, 25],
            )
        ],
    ),
    "SequentialLR-lambda-then-onecycle": (
        "SGD",
        {"momentum": 0.9},
        lambda m, o: [
            m.SequentialLR(o, [m.LambdaLR(o, _lambda), m.OneCycleLR(o, max_lr=0.5, total_steps=30)], milestones=[10])
        ],
    ),
    "chained-Exponential-and-Step": (
        "SGD",
        {},
        lambda m, o: [m.ExponentialLR(o, gamma=0.95), m.StepLR(o, step_size=5, gamma=0.5)],
    ),
    "chained-Linear-and-MultiStep": (
        "SGD",
        {},
        lambda m, o: [m.LinearLR(o, start_factor=0.5, total_iters=8), m.MultiStepLR(o, [4, 10])],
    ),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedule_matches_torch(name):
    torch = pytest.importorskip("torch")
    opt_name, options, build = SCHEDULES[name]
    opt, topt = _nb_optimizer(opt_name, **options), _torch_optimizer(torch, opt_name, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither library warns when optimizer.step() comes first
        ours = _trace(opt, build(S, opt))
        theirs = _trace(topt, build(torch.optim.lr_scheduler, topt))
    _assert_same_trace(ours, theirs)
    for group, tgroup in zip(opt.param_groups, topt.param_groups):
        assert group["initial_lr"] == tgroup["initial_lr"]


PLATEAU_METRICS = [1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.8, 0.8, 0.8, 0.8, 0.79999, 0.7, 0.9, 0.9, 0.9, 0.9] * 3


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"patience": 2, "factor": 0.5},
        {"patience": 1, "factor": 0.5, "cooldown": 2},
        {"patience": 0, "threshold": 0.05, "threshold_mode": "abs"},
        {"patience": 1, "mode": "max", "factor": 0.2},
        {"patience": 1, "mode": "max", "threshold_mode": "abs", "threshold": 0.01},
        {"patience": 0, "factor": 0.1, "min_lr": [0.001, 0.0005]},
        {"patience": 0, "factor": 0.5, "min_lr": 0.02, "eps": 1e-3},
    ],
    ids=str,
)
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    opt, topt = _nb_optimizer(), _torch_optimizer(torch)
    ours = _trace(opt, [S.ReduceLROnPlateau(opt, **kwargs)], len(PLATEAU_METRICS), PLATEAU_METRICS)
    metrics = [torch.tensor(m) for m in PLATEAU_METRICS]  # torch also takes 0-d tensors
    theirs = _trace(topt, [torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs)], len(metrics), metrics)
    _assert_same_trace(ours, theirs)


def test_reduce_lr_on_plateau_takes_a_tensor_metric():
    opt = _nb_optimizer()
    sched = S.ReduceLROnPlateau(opt, patience=0)
    for value in (1.0, 2.0):
        opt.step()
        sched.step(nb.tensor(value))
    assert sched.get_last_lr() == pytest.approx([0.01, 0.001])


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR"])
def test_deprecated_step_with_epoch_uses_the_closed_form_like_torch(name):
    torch = pytest.importorskip("torch")
    opt_name, options, build = SCHEDULES[name]
    opt, topt = _nb_optimizer(opt_name, **options), _torch_optimizer(torch, opt_name, **options)
    (sched,), (tsched,) = build(S, opt), build(torch.optim.lr_scheduler, topt)
    opt.step()
    topt.step()
    for epoch in (3, 17, 8, 25):
        with pytest.warns(UserWarning, match="epoch parameter"):
            sched.step(epoch)
        with pytest.warns(UserWarning):
            tsched.step(epoch)
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-13)


def test_resume_with_last_epoch_matches_torch():
    torch = pytest.importorskip("torch")
    opt, topt = _nb_optimizer(), _torch_optimizer(torch)
    for o in (opt, topt):
        for g in o.param_groups:
            g["initial_lr"] = g["lr"]
    sched = S.CosineAnnealingLR(opt, T_max=20, last_epoch=6)
    tsched = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=20, last_epoch=6)
    _assert_same_trace(_trace(opt, [sched], 15), _trace(topt, [tsched], 15))


# ----------------------------------------------------------------- state dicts


class _Factor:
    """A callable object: LambdaLR saves its ``__dict__`` (a plain function is not saved)."""

    def __init__(self, base):
        self.base = base

    def __call__(self, epoch):
        return self.base**epoch


@pytest.mark.parametrize("name", sorted(SCHEDULES) + ["ReduceLROnPlateau", "LambdaLR-callable"])
def test_state_dict_round_trip_continues_the_schedule(name):
    """Save optimizer + scheduler after 10 epochs, rebuild both, load: the next 25 epochs are the same."""

    def build(opt, base=0.9):
        if name == "ReduceLROnPlateau":
            return [S.ReduceLROnPlateau(opt, patience=1, factor=0.5, cooldown=1)]
        if name == "LambdaLR-callable":
            return [S.LambdaLR(opt, _Factor(base))]
        return SCHEDULES[name][2](S, opt)

    opt_name, options = ("SGD", {}) if name in ("ReduceLROnPlateau", "LambdaLR-callable") else SCHEDULES[name][:2]
    metrics = PLATEAU_METRICS if name == "ReduceLROnPlateau" else None
    opt = _nb_optimizer(opt_name, **options)
    scheds = build(opt)
    first = _trace(opt, scheds, 10, metrics)
    saved_opt = copy.deepcopy(opt.state_dict())
    saved = [copy.deepcopy(s.state_dict()) for s in scheds]
    rest = _trace(opt, scheds, 25, metrics[10:] if metrics else None)

    opt2 = _nb_optimizer(opt_name, **options)
    scheds2 = build(opt2, base=0.5)  # the callable's state comes from the state dict
    opt2.load_state_dict(saved_opt)
    for s, sd in zip(scheds2, saved):
        s.load_state_dict(sd)
    assert len(first) == 10
    _assert_same_trace(_trace(opt2, scheds2, 25, metrics[10:] if metrics else None), rest)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_torch_scheduler_state_dict_loads(name):
    """A torch checkpoint (optimizer + scheduler state dicts) resumes in nbgrad with torch's next lrs."""
    torch = pytest.importorskip("torch")
    opt_name, options, build = SCHEDULES[name]
    topt = _torch_optimizer(torch, opt_name, **options)
    tscheds = build(torch.optim.lr_scheduler, topt)
    _trace(topt, tscheds, 10)
    saved_opt = copy.deepcopy(topt.state_dict())
    saved = [copy.deepcopy(s.state_dict()) for s in tscheds]
    theirs = _trace(topt, tscheds, 25)

    opt = _nb_optimizer(opt_name, **options)
    scheds = build(S, opt)
    opt.load_state_dict(saved_opt)  # no state tensors yet: the groups are what matter here
    for sched, sd in zip(scheds, saved):
        sched.load_state_dict(sd)
    _assert_same_trace(_trace(opt, scheds, 25), theirs)


def test_lambda_state_dict_skips_plain_functions():
    opt = _nb_optimizer()
    sd = S.LambdaLR(opt, [_lambda, _Factor(0.5)]).state_dict()
    assert sd["lr_lambdas"] == [None, {"base": 0.5}]
    assert "optimizer" not in sd


def test_multistep_state_dict_survives_string_keys():
    opt = _nb_optimizer()
    sched = S.MultiStepLR(opt, milestones=[2, 4], gamma=0.5)
    sd = sched.state_dict()
    sd["milestones"] = {str(k): v for k, v in sd["milestones"].items()}  # as JSON metadata stores it
    sched2 = S.MultiStepLR(_nb_optimizer(), milestones=[100])
    sched2.load_state_dict(sd)
    assert sorted(sched2.milestones) == [2, 4]


def test_sequential_state_dict_nests_the_schedulers():
    opt = _nb_optimizer()
    sched = S.SequentialLR(opt, [S.ExponentialLR(opt, 0.9), S.StepLR(opt, 2)], milestones=[3])
    sd = sched.state_dict()
    assert len(sd["_schedulers"]) == 2 and sd["_schedulers"][1]["step_size"] == 2
    assert "optimizer" not in sd and "optimizer" not in sd["_schedulers"][0]


# ----------------------------------------------------------------- behaviour and errors


def test_initial_lr_is_set_and_get_last_lr():
    opt = _nb_optimizer()
    sched = S.ExponentialLR(opt, gamma=0.5)
    assert [g["initial_lr"] for g in opt.param_groups] == list(LRS)
    assert sched.base_lrs == list(LRS) and sched.last_epoch == 0
    assert sched.get_last_lr() == list(LRS)
    opt.step()
    sched.step()
    assert sched.get_last_lr() == [0.05, 0.005] and sched.last_epoch == 1
    assert "ExponentialLR(last_epoch=1" in repr(sched)


def test_warns_when_scheduler_steps_before_optimizer():
    sched = S.StepLR(_nb_optimizer(), step_size=1)
    with pytest.warns(UserWarning, match="StepLR: detected a call of `lr_scheduler.step\\(\\)` before"):
        sched.step()


def test_warns_when_get_lr_is_called_outside_step():
    sched = S.StepLR(_nb_optimizer(), step_size=1)
    with pytest.warns(UserWarning, match="StepLR: to get the last learning rate computed by the scheduler"):
        sched.get_lr()


def test_error_not_an_optimizer():
    with pytest.raises(TypeError, match="StepLR: list is not an Optimizer"):
        S.StepLR([], step_size=1)
    with pytest.raises(TypeError, match="ReduceLROnPlateau: dict is not an Optimizer"):
        S.ReduceLROnPlateau({})
    with pytest.raises(TypeError, match="OneCycleLR: NoneType is not an Optimizer"):
        S.OneCycleLR(None, max_lr=1.0, total_steps=10)


def test_error_resume_without_initial_lr():
    with pytest.raises(KeyError, match=r"ExponentialLR: param 'initial_lr' is not specified in param_groups\[0\]"):
        S.ExponentialLR(_nb_optimizer(), gamma=0.9, last_epoch=3)


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda o: S.StepLR(o, step_size=0), ValueError, "StepLR: step_size must be a positive integer, got 0"),
        (
            lambda o: S.LinearLR(o, start_factor=0),
            ValueError,
            "LinearLR: starting multiplicative factor .* got start_factor=0",
        ),
        (lambda o: S.LinearLR(o, end_factor=1.5), ValueError, "LinearLR: ending multiplicative factor .*1.5"),
        (
            lambda o: S.LambdaLR(o, [_lambda]),
            ValueError,
            "LambdaLR: lr_lambda must have the same length as "
            "optimizer.param_groups; lr_lambda has 1 values, param_groups has 2",
        ),
        (lambda o: S.LambdaLR(o, 3), TypeError, "LambdaLR: lr_lambda should be a function, but got int"),
        (lambda o: S.OneCycleLR(o, max_lr=1.0), ValueError, "OneCycleLR: you must define either total_steps"),
        (lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=0), ValueError, "positive integer total_steps, but got 0"),
        (lambda o: S.OneCycleLR(o, max_lr=1.0, epochs=0, steps_per_epoch=2), ValueError, "integer epochs, but got 0"),
        (
            lambda o: S.OneCycleLR(o, max_lr=1.0, epochs=2, steps_per_epoch=1.5),
            ValueError,
            "steps_per_epoch, but got 1.5",
        ),
        (lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=1.5), ValueError, "pct_start, but got 1.5"),
        (
            lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=10, anneal_strategy="exp"),
            ValueError,
            "anneal_strategy must be one of 'cos' or 'linear', instead got 'exp'",
        ),
        (
            lambda o: S.OneCycleLR(o, max_lr=[1.0], total_steps=10),
            ValueError,
            "OneCycleLR: max_lr must have the same length as optimizer.param_groups",
        ),
        (lambda o: S.ReduceLROnPlateau(o, factor=1.0), ValueError, "ReduceLROnPlateau: factor should be < 1.0"),
        (lambda o: S.ReduceLROnPlateau(o, mode="avg"), ValueError, "ReduceLROnPlateau: mode 'avg' is unknown"),
        (lambda o: S.ReduceLROnPlateau(o, threshold_mode="x"), ValueError, "threshold mode 'x' is unknown"),
        (
            lambda o: S.ReduceLROnPlateau(o, min_lr=[0.1]),
            ValueError,
            "ReduceLROnPlateau: min_lr must have the same length",
        ),
        (lambda o: S.SequentialLR(o, [], []), ValueError, "SequentialLR: expects at least one scheduler"),
        (
            lambda o: S.SequentialLR(o, [S.StepLR(o, 2), S.StepLR(o, 3)], [1, 2]),
            ValueError,
            "number of schedulers 2 and the number of milestones to be equal to 2",
        ),
        (
            lambda o: S.SequentialLR(o, [S.StepLR(o, 2), S.ReduceLROnPlateau(o)], [1]),
            ValueError,
            "SequentialLR: does not support `ReduceLROnPlateau`.*index 1",
        ),
        (
            lambda o: S.SequentialLR(o, [S.StepLR(o, 2), S.StepLR(_nb_optimizer(), 2)], [1]),
            ValueError,
            "SequentialLR: expects all schedulers to belong to the same optimizer.*StepLR at index 1",
        ),
        (
            lambda o: S.SequentialLR(o, [object()], []),
            TypeError,
            "SequentialLR: the scheduler at index 0 should have `optimizer`",
        ),
    ],
)
def test_scheduler_errors(build, error, message):
    with pytest.raises(error, match=message):
        build(_nb_optimizer())


def test_error_onecycle_without_momentum():
    opt = _nb_optimizer("Adagrad")
    with pytest.raises(ValueError, match="OneCycleLR: optimizer must support momentum or beta1 .*Adagrad"):
        S.OneCycleLR(opt, max_lr=1.0, total_steps=10)


def test_error_onecycle_past_total_steps():
    opt = _nb_optimizer("SGD", momentum=0.9)
    sched = S.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="OneCycleLR: tried to step 4 times; the specified number of total steps is 3"):
        sched.step()


def test_error_plateau_groups_changed_with_min_lr_list():
    opt = _nb_optimizer()
    sched = S.ReduceLROnPlateau(opt, patience=0, min_lr=[0.0, 0.0])
    opt.add_param_group({"params": [nb.zeros(1, requires_grad=True)], "lr": 0.5})
    sched.step(1.0)
    with pytest.raises(RuntimeError, match=r"ReduceLROnPlateau: the number of param groups in the optimizer \(3\)"):
        sched.step(2.0)
