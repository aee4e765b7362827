"""nn.Module: registration, traversal, state_dict, modes, devices, hooks, errors, reprs; Parameter; containers."""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest
from op_check import assert_close

import nbgrad as nb
from nbgrad import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.scale = nn.Parameter(nb.ones(3))
        self.register_buffer("steps", nb.zeros((), dtype=nb.int64))
        self.register_buffer("cache", nb.zeros(3), persistent=False)

    def forward(self, x):
        return self.fc(x) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(Block(), Block())
        self.head = nn.Linear(3, 2, bias=False)

    def forward(self, x):
        h = self.encoder[0](x)
        return self.head(h)


def test_registration_and_traversal_order():
    net = Net()
    # torch's order: a module's own parameters, then its children's, depth first.
    assert [n for n, _ in net.named_parameters()] == [
        "encoder.0.scale",
        "encoder.0.fc.weight",
        "encoder.0.fc.bias",
        "encoder.1.scale",
        "encoder.1.fc.weight",
        "encoder.1.fc.bias",
        "head.weight",
    ]
    assert [n for n, _ in net.named_buffers()] == [
        "encoder.0.steps",
        "encoder.0.cache",
        "encoder.1.steps",
        "encoder.1.cache",
    ]
    assert [n for n, _ in net.named_modules()] == [
        "",
        "encoder",
        "encoder.0",
        "encoder.0.fc",
        "encoder.1",
        "encoder.1.fc",
        "head",
    ]
    assert [n for n, _ in net.named_children()] == ["encoder", "head"]
    assert len(list(net.parameters())) == 7 and len(list(net.parameters(recurse=False))) == 0
    assert net.head.bias is None
    assert net.get_submodule("encoder.1.fc") is net.encoder[1].fc
    assert net.get_parameter("encoder.0.scale") is net.encoder[0].scale
    assert "encoder" in dir(net)


def test_shared_parameters_are_listed_once():
    a = nn.Linear(2, 2)
    seq = nn.Sequential(a, a)
    assert len(list(seq.parameters())) == 2
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_state_dict_keys_order_and_persistence():
    sd = Net().state_dict()
    assert list(sd) == [
        "encoder.0.scale",
        "encoder.0.steps",
        "encoder.0.fc.weight",
        "encoder.0.fc.bias",
        "encoder.1.scale",
        "encoder.1.steps",
        "encoder.1.fc.weight",
        "encoder.1.fc.bias",
        "head.weight",
    ]
    assert all(not v.requires_grad for v in sd.values())  # detached
    net = Net()
    sd = net.state_dict()
    sd["head.weight"]._data[0, 0] = 42.0  # shares memory, like torch
    assert net.head.weight._data[0, 0] == 42.0


def test_load_state_dict_roundtrip_strict_and_errors():
    a, b = Net(), Net()
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        assert nb.equal(p, q), name
    sd = a.state_dict()
    sd.pop("head.weight")
    sd["extra"] = nb.zeros(1)
    with pytest.raises(
        RuntimeError, match=r'Unexpected key\(s\) in state_dict: "extra".*\n.*Missing key\(s\).*"head.weight"'
    ):
        b.load_state_dict(sd)
    result = b.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["head.weight"] and result.unexpected_keys == ["extra"]
    before = b.head.weight.tolist()
    bad = a.state_dict()
    bad["encoder.0.fc.bias"] = nb.zeros(7)
    bad["head.weight"] = nb.full((2, 3), 5.0)
    with pytest.raises(
        RuntimeError,
        match=r"size mismatch for encoder.0.fc.bias: copying a param with shape \(7,\) "
        r"from checkpoint, the shape in current model is \(3,\)",
    ):
        b.load_state_dict(bad)
    assert b.head.weight.tolist() == before  # nothing was copied


def test_load_state_dict_accepts_numpy_and_casts():
    layer = nn.Linear(2, 2)
    layer.load_state_dict({"weight": np.eye(2), "bias": np.array([1.0, 2.0])})
    assert layer.weight.dtype == nb.float32 and layer.weight.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert layer.weight._version[0] > 0


def test_state_dict_order_matches_torch():
    torch = pytest.importorskip("torch")

    class TorchBlock(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 3)
            self.scale = torch.nn.Parameter(torch.ones(3))
            self.register_buffer("steps", torch.zeros((), dtype=torch.int64))
            self.register_buffer("cache", torch.zeros(3), persistent=False)

    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = torch.nn.Sequential(TorchBlock(), TorchBlock())
            self.head = torch.nn.Linear(3, 2, bias=False)

    ours, theirs = Net(), TorchNet()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]


def test_load_torch_state_dict():
    torch = pytest.importorskip("torch")
    t = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    m = nn.Sequential(nn.Linear(4, 8), nn.ReLU() if hasattr(nn, "ReLU") else nn.Identity(), nn.Linear(8, 2))
    assert list(m.state_dict()) == list(t.state_dict())
    m.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    expected = t(torch.from_numpy(x)).detach().numpy()
    if not hasattr(nn, "ReLU"):
        pytest.skip("nn.ReLU not yet available")
    assert_close(m(nb.tensor(x)), expected, rtol=1e-5, atol=1e-6)


def test_assignment_rules():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'weight'"):
        m.weight = nb.zeros(2, 2)
    m.weight = nn.Parameter(nb.zeros(2, 2))
    assert m.weight.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    m.bias = None
    assert m.bias is None and "bias" in m._parameters
    with pytest.raises(TypeError, match="cannot assign 'int' as child module"):
        seq = nn.Sequential(nn.Identity())
        seq.__setattr__("0", 3)

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(nb.zeros(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()
    with pytest.raises(KeyError, match="contain"):
        m.register_buffer("a.b", nb.zeros(1))
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'nope'"):
        m.nope
    del m.bias
    assert "bias" not in m._parameters


def test_parameter_basics():
    p = nn.Parameter(nb.tensor([1.0, 2.0]))
    assert isinstance(p, nb.Tensor) and p.requires_grad and p.is_leaf
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert not nn.Parameter(nb.zeros(1), requires_grad=False).requires_grad
    y = p * 2
    assert type(y) is nb.Tensor  # ops return plain tensors
    frozen = nn.Parameter(nb.ones(2) * 3)  # a non-leaf is detached
    assert frozen.is_leaf and frozen.tolist() == [3.0, 3.0]


def test_train_eval_requires_grad_zero_grad_apply():
    net = Net()
    assert net.training and net.encoder[0].fc.training
    net.eval()
    assert not net.training and not net.encoder[1].fc.training
    net.train()
    assert net.head.training
    out = net(nb.randn(2, 4)).sum()
    out.backward()
    assert net.head.weight.grad is not None
    net.zero_grad(set_to_none=False)
    assert net.head.weight.grad.tolist() == [[0.0] * 3] * 2
    net.zero_grad()
    assert net.head.weight.grad is None
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and seen[0] == "Linear"


def test_to_casts_floats_only_and_keeps_parameter_identity():
    net = Net()
    w = net.head.weight
    net.double()
    assert net.head.weight is w and w.dtype == nb.float64
    assert net.encoder[0].steps.dtype == nb.int64  # integer buffers keep their dtype
    net.float()
    assert w.dtype == nb.float32
    assert net.to("cpu") is net
    with pytest.raises(TypeError, match="only accepts floating point dtypes"):
        net.to(nb.int64)


def test_forward_hooks_and_removal():
    layer = nn.Linear(2, 2)
    calls = []
    h1 = layer.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    h2 = layer.register_forward_hook(lambda m, args, out: calls.append(out.shape) or out + 1)
    out = layer(nb.ones(3, 2))
    assert calls == [(3, 2)]
    assert_close(out, np.broadcast_to(layer.bias.detach().numpy() + 1, (3, 2)))
    h1.remove()
    h2.remove()
    out = layer(nb.ones(1, 2))
    assert calls == [(3, 2)]


def test_full_backward_hook_sees_grad_input_and_output_and_can_replace():
    layer = nn.Linear(3, 2)
    seen = {}

    def hook(module, grad_input, grad_output):
        seen["in"] = [g.shape for g in grad_input]
        seen["out"] = [g.shape for g in grad_output]
        return (grad_input[0] * 0,)

    layer.register_full_backward_hook(hook)
    x = nb.randn(4, 3, requires_grad=True)
    layer(x).sum().backward()
    assert seen == {"in": [(4, 3)], "out": [(4, 2)]}
    assert x.grad.tolist() == [[0.0] * 3] * 4
    assert layer.weight.grad is not None  # parameters still get their gradients


def test_full_backward_hook_when_inputs_need_no_grad():
    layer = nn.Linear(3, 2)
    seen = []
    layer.register_full_backward_hook(lambda m, gi, go: seen.append((gi, [g.shape for g in go])))
    layer(nb.randn(4, 3)).sum().backward()
    assert seen == [((None,), [(4, 2)])]


def test_errors_name_the_module_path():
    net = Net()
    with pytest.raises(
        RuntimeError, match=r"^model\.encoder\.0\.fc \(Linear\): Linear: input of shape \(2, 5\)"
    ) as info:
        net(nb.randn(2, 5))
    assert info.value.module_path == "model.encoder.0.fc (Linear)"
    with pytest.raises(RuntimeError, match=r"^model \(Linear\): Linear"):
        nn.Linear(2, 2)(nb.randn(1, 3))


def test_missing_forward():
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required "forward" function'):
        nn.Module()(1)


def test_repr_matches_torch():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Linear(4, 8), nn.Sequential(nn.Linear(8, 8, bias=False)), nn.Identity())
    theirs = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.Sequential(torch.nn.Linear(8, 8, bias=False)), torch.nn.Identity()
    )
    assert repr(ours) == repr(theirs)
    assert repr(nn.Flatten()) == repr(torch.nn.Flatten())
    assert repr(nn.Unflatten(1, (2, 3))) == repr(torch.nn.Unflatten(1, (2, 3)))
    assert repr(nn.Bilinear(2, 3, 4)) == repr(torch.nn.Bilinear(2, 3, 4))


def test_deepcopy_copies_parameters():
    net = Net()
    twin = copy.deepcopy(net)
    assert twin.head.weight is not net.head.weight and isinstance(twin.head.weight, nn.Parameter)
    assert nb.equal(twin.head.weight, net.head.weight)
    twin.head.weight._data[...] = 0
    assert not nb.equal(twin.head.weight, net.head.weight)
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(net.head.weight * 2)


# ------------------------------------------------------------------ containers


def test_sequential_indexing_slicing_append_and_ordereddict():
    a, b, c = nn.Linear(2, 3), nn.Identity(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b)
    seq.append(c)
    assert len(seq) == 3 and seq[0] is a and seq[-1] is c
    assert isinstance(seq[1:], nn.Sequential) and list(seq[1:]) == [b, c]
    assert seq(nb.ones(5, 2)).shape == (5, 1)
    named = nn.Sequential(OrderedDict([("inp", a), ("out", c)]))
    assert named.inp is a and named["out"] is c
    assert [n for n, _ in named.named_parameters()] == ["inp.weight", "inp.bias", "out.weight", "out.bias"]
    del seq[1]
    assert list(seq._modules) == ["0", "1"] and seq[1] is c
    with pytest.raises(IndexError, match="Sequential: index 5 is out of range"):
        seq[5]


def test_module_list_and_dict():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(2)])
    layers.append(nn.Linear(2, 1))
    layers.insert(0, nn.Identity())
    assert len(layers) == 4 and isinstance(layers[0], nn.Identity)
    assert [n for n, _ in layers.named_parameters()][:2] == ["1.weight", "1.bias"]
    assert isinstance(layers[1:3], nn.ModuleList)
    heads = nn.ModuleDict({"a": nn.Linear(2, 2)})
    heads["b"] = nn.Linear(2, 1)
    assert list(heads) == ["a", "b"] and "b" in heads and len(heads) == 2
    assert [n for n, _ in heads.named_parameters()] == ["a.weight", "a.bias", "b.weight", "b.bias"]
    assert heads.pop("a") is not None and list(heads.keys()) == ["b"]


def test_parameter_list_and_dict():
    plist = nn.ParameterList([nb.zeros(2), nn.Parameter(nb.ones(3))])
    assert all(isinstance(p, nn.Parameter) for p in plist) and len(plist) == 2
    plist.append(nb.zeros(1))
    assert [n for n, _ in plist.named_parameters()] == ["0", "1", "2"]
    pdict = nn.ParameterDict({"w": nb.ones(2)})
    pdict["b"] = nn.Parameter(nb.zeros(1))
    assert list(pdict.keys()) == ["w", "b"] and isinstance(pdict["w"], nn.Parameter)
    holder = nn.Module()
    holder.params = pdict
    assert [n for n, _ in holder.named_parameters()] == ["params.w", "params.b"]


# ------------------------------------------------------------------ Linear, Bilinear, Flatten


def test_linear_init_bounds_and_device_dtype(device):
    layer = nn.Linear(100, 50, device=device, dtype=nb.float64)
    w = layer.weight.numpy(force=True)
    assert layer.weight.dtype == nb.float64 and layer.weight.device == nb.device(device)
    bound = 1 / np.sqrt(100)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(layer.bias.numpy(force=True)).max() <= bound


def test_linear_functional_gradcheck_and_parity(device):
    rng = np.random.default_rng(0)
    x = nb.tensor(rng.standard_normal((2, 3, 4)), device=device, requires_grad=True)
    w = nb.tensor(rng.standard_normal((5, 4)), device=device, requires_grad=True)
    b = nb.tensor(rng.standard_normal(5), device=device, requires_grad=True)
    assert_close(nn.functional.linear(x, w, b), x.numpy(force=True) @ w.numpy(force=True).T + b.numpy(force=True))
    assert nb.autograd.gradcheck(nn.functional.linear, (x, w, b))
    assert nb.autograd.gradgradcheck(nn.functional.linear, (x, w, b))
    assert nb.autograd.gradcheck(lambda a, c: nn.functional.linear(a, c), (x, w))
    assert nn.functional.linear(x, w, b).grad_fn.name() == "LinearBackward0"


def test_linear_errors():
    with pytest.raises(RuntimeError, match=r"Linear: input of shape \(2, 5\) has 5 features .* in_features=4"):
        nn.Linear(4, 3)(nb.ones(2, 5))
    with pytest.raises(RuntimeError, match=r"linear: bias must have shape \(3,\)"):
        nn.functional.linear(nb.ones(2, 4), nb.ones(3, 4), nb.ones(2))
    with pytest.raises(RuntimeError, match="linear: input dtype float64 and weight dtype float32 differ"):
        nn.functional.linear(nb.ones(2, 4, dtype=nb.float64), nb.ones(3, 4))


def test_bilinear_and_flatten(device):
    torch = pytest.importorskip("torch")
    t = torch.nn.Bilinear(3, 4, 2).double()
    m = nn.Bilinear(3, 4, 2, dtype=nb.float64, device=device)
    m.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((5, 3)), rng.standard_normal((5, 4))
    assert_close(
        m(nb.tensor(a, device=device), nb.tensor(b, device=device)),
        t(torch.from_numpy(a), torch.from_numpy(b)).detach().numpy(),
        rtol=1e-10,
    )
    x = nb.tensor(a, device=device, requires_grad=True)
    y = nb.tensor(b, device=device, requires_grad=True)
    assert nb.autograd.gradcheck(lambda p, q: m(p, q), (x, y))
    assert nn.Flatten()(nb.zeros(2, 3, 4)).shape == (2, 12)
    assert nn.Unflatten(1, (3, 4))(nb.zeros(2, 12)).shape == (2, 3, 4)
    assert nn.Identity(1, 2, foo=3)(x) is x


# ------------------------------------------------------------------ init and utils


def test_init_distributions():
    nb.manual_seed(0)
    w = nb.empty(400, 300)
    nn.init.uniform_(w, -0.5, 0.5)
    assert -0.5 <= w.numpy().min() and w.numpy().max() <= 0.5
    nn.init.normal_(w, 1.0, 2.0)
    assert abs(w.numpy().mean() - 1.0) < 0.05 and abs(w.numpy().std() - 2.0) < 0.05
    nn.init.xavier_uniform_(w)
    assert np.abs(w.numpy()).max() <= np.sqrt(6 / 700)
    nn.init.xavier_normal_(w, gain=2.0)
    assert abs(w.numpy().std() - 2 * np.sqrt(2 / 700)) < 0.01
    nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert abs(w.numpy().std() - np.sqrt(2 / 300)) < 0.005
    nn.init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu")
    assert np.abs(w.numpy()).max() <= np.sqrt(6 / 400)
    nn.init.trunc_normal_(w, std=1.0, a=-1.0, b=1.5)
    assert w.numpy().min() >= -1.0 and w.numpy().max() <= 1.5
    nn.init.orthogonal_(w)
    q = w.numpy().astype(np.float64)
    assert np.allclose(q.T @ q, np.eye(300), atol=1e-4)
    nn.init.constant_(w, 3.0)
    assert np.all(w.numpy() == 3.0)
    nn.init.zeros_(w)
    nn.init.ones_(w)
    assert np.all(w.numpy() == 1.0)


def test_calculate_gain_matches_torch():
    torch = pytest.importorskip("torch")
    for name, param in [
        ("linear", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("selu", None),
        ("conv2d", None),
    ]:
        assert nn.init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        nn.init.calculate_gain("swish")
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(nb.empty(3))


def test_clip_grad_norm_and_value_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s) for s in [(3, 4), (5,)]]
    for norm_type in (2.0, 1.0, float("inf")):
        ours = [nb.zeros(g.shape, dtype=nb.float64, requires_grad=True) for g in grads]
        theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
        for o, t, g in zip(ours, theirs, grads):
            o.grad = nb.tensor(g)
            t.grad = torch.from_numpy(g.copy())
        total = nn.utils.clip_grad_norm_(ours, 0.5, norm_type)
        expected = torch.nn.utils.clip_grad_norm_(theirs, 0.5, norm_type)
        assert float(total) == pytest.approx(float(expected))
        for o, t in zip(ours, theirs):
            assert_close(o.grad, t.grad.numpy(), rtol=1e-6)
    p = nb.zeros(3, requires_grad=True)
    p.grad = nb.tensor([-2.0, 0.5, 3.0])
    nn.utils.clip_grad_value_([p], 1.0)
    assert p.grad.tolist() == [-1.0, 0.5, 1.0]
    p.grad = nb.tensor([float("nan"), 1.0, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)


def test_parameters_to_vector_roundtrip():
    net = nn.Linear(3, 2)
    vec = nn.utils.parameters_to_vector(net.parameters())
    assert vec.shape == (8,)
    nn.utils.vector_to_parameters(vec * 0 + 1, net.parameters())
    assert np.all(net.weight.numpy(force=True) == 1) and np.all(net.bias.numpy(force=True) == 1)
    with pytest.raises(RuntimeError, match="expected a 1-D vector of 8 elements"):
        nn.utils.vector_to_parameters(nb.zeros(5), net.parameters())
