"""Tensor creation, attributes, conversion, devices, repr."""

from __future__ import annotations

import numpy as np
import pytest
from op_check import assert_close

import nbgrad as nb

# ------------------------------------------------------------------ creation and dtypes


def test_tensor_dtype_inference():
    assert nb.tensor(1.5).dtype == nb.float32
    assert nb.tensor([1.0, 2.0]).dtype == nb.float32
    assert nb.tensor([1, 2]).dtype == nb.int64
    assert nb.tensor([True, False]).dtype == nb.bool_
    assert nb.tensor(np.zeros(2, dtype=np.float64)).dtype == nb.float64  # NumPy arrays keep their dtype
    assert nb.tensor(np.zeros(2, dtype=np.int32)).dtype == nb.int32
    assert nb.tensor([1, 2], dtype=nb.float16).dtype == nb.float16
    assert nb.tensor([1, 2], dtype="float64").dtype == nb.float64
    assert nb.float is nb.float32 and nb.long is nb.int64 and nb.double is nb.float64 and nb.half is nb.float16


def test_tensor_copies_but_from_numpy_shares():
    a = np.zeros(3, dtype=np.float32)
    t, s = nb.tensor(a), nb.from_numpy(a)
    a[0] = 5
    assert t.tolist() == [0.0, 0.0, 0.0]
    assert s.tolist() == [5.0, 0.0, 0.0]
    assert nb.as_tensor(a).tolist() == [5.0, 0.0, 0.0]


def test_tensor_from_list_of_tensors():
    assert nb.tensor([nb.tensor(1.0), nb.tensor(2.0)]).tolist() == [1.0, 2.0]


def test_unsupported_inputs_raise():
    with pytest.raises(TypeError, match="unsupported dtype"):
        nb.tensor([1, 2], dtype="complex64")
    with pytest.raises(TypeError, match="could not infer a numeric dtype|could not convert"):
        nb.tensor([[1, 2], [3]])
    with pytest.raises(TypeError, match="from_numpy: expected np.ndarray"):
        nb.from_numpy([1, 2])
    with pytest.raises(RuntimeError, match="negative dimension"):
        nb.zeros(-1, 2)


@pytest.mark.parametrize(
    "make,shape,value",
    [
        (lambda d: nb.zeros(2, 3, device=d), (2, 3), 0.0),
        (lambda d: nb.zeros((2, 3), device=d), (2, 3), 0.0),
        (lambda d: nb.ones([4], device=d), (4,), 1.0),
        (lambda d: nb.full((2, 2), 7.0, device=d), (2, 2), 7.0),
        (lambda d: nb.zeros_like(nb.ones(3, 1, device=d)), (3, 1), 0.0),
        (lambda d: nb.ones_like(nb.zeros(2, device=d)), (2,), 1.0),
        (lambda d: nb.full_like(nb.zeros(2, device=d), 3.0), (2,), 3.0),
    ],
)
def test_constant_factories(make, shape, value, device):
    t = make(device)
    assert t.shape == shape and t.dtype == nb.float32 and t.device == nb.device(device)
    assert np.all(t.numpy(force=True) == value)


def test_factory_dtypes_and_requires_grad(device):
    assert nb.full((2,), 3).dtype == nb.int64
    assert nb.full((2,), True).dtype == nb.bool_
    assert nb.empty(2, 3, device=device).shape == (2, 3)
    assert nb.empty_like(nb.ones(2, dtype=nb.float64)).dtype == nb.float64
    t = nb.zeros(2, device=device, requires_grad=True)
    assert t.requires_grad and t.is_leaf


def test_arange_linspace_eye(device):
    assert nb.arange(5, device=device).tolist() == [0, 1, 2, 3, 4]
    assert nb.arange(5).dtype == nb.int64
    assert nb.arange(0, 1, 0.25).dtype == nb.float32
    assert_close(nb.arange(1, 2, 0.25, device=device), [1.0, 1.25, 1.5, 1.75])
    assert_close(nb.linspace(0, 1, 5, device=device), [0.0, 0.25, 0.5, 0.75, 1.0])
    assert_close(nb.eye(3, device=device), np.eye(3))
    assert nb.eye(2, 3).shape == (2, 3)
    with pytest.raises(RuntimeError, match="arange: step must be nonzero"):
        nb.arange(0, 1, 0)


def test_random_factories_are_seeded(device):
    nb.manual_seed(123)
    a = [nb.rand(3, device=device), nb.randn(2, 2, device=device), nb.randint(0, 10, (5,), device=device)]
    nb.manual_seed(123)
    b = [nb.rand(3, device=device), nb.randn(2, 2, device=device), nb.randint(0, 10, (5,), device=device)]
    for x, y in zip(a, b):
        assert x.tolist() == y.tolist()
    r = nb.rand(1000, device=device).numpy(force=True)
    assert r.min() >= 0 and r.max() < 1 and 0.4 < r.mean() < 0.6
    n = nb.randn(4000, dtype=nb.float64, device=device).numpy(force=True)
    assert abs(n.mean()) < 0.1 and 0.9 < n.std() < 1.1
    i = nb.randint(3, 7, (1000,), device=device).numpy(force=True)
    assert i.min() == 3 and i.max() == 6 and i.dtype == np.int64
    assert nb.randint(5, (3,)).shape == (3,)
    assert nb.rand_like(nb.zeros(2, 3)).shape == (2, 3)
    assert nb.randn_like(nb.zeros(2, dtype=nb.float64)).dtype == nb.float64
    assert sorted(nb.randperm(5).tolist()) == [0, 1, 2, 3, 4]
    with pytest.raises(TypeError, match="randn: dtype must be floating point"):
        nb.randn(2, dtype=nb.int64)


# ------------------------------------------------------------------ attributes


def test_attributes():
    t = nb.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and isinstance(t.shape, nb.Size)
    assert repr(t.shape) == "nbgrad.Size([2, 3, 4])"
    assert t.ndim == 3 and t.dim() == 3
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4
    assert t.numel() == 24 and t.shape.numel() == 24
    assert t.dtype == nb.float32 and t.device == nb.device("cpu") and t.device == "cpu"
    assert t.grad is None and not t.requires_grad and t.grad_fn is None and t.is_leaf
    with pytest.raises(IndexError, match=r"size: dimension out of range \(expected to be in range of \[-3, 2\]"):
        t.size(3)


def test_transpose_properties():
    x = nb.tensor(np.arange(6.0).reshape(2, 3))
    assert_close(x.T, np.arange(6.0).reshape(2, 3).T)
    b = nb.tensor(np.arange(24.0).reshape(2, 3, 4))
    assert_close(b.mT, np.swapaxes(np.arange(24.0).reshape(2, 3, 4), -1, -2))
    with pytest.raises(RuntimeError, match="mT: tensor of shape \\(3,\\) has fewer than 2 dimensions"):
        nb.ones(3).mT


# ------------------------------------------------------------------ conversion


def test_numpy_item_tolist():
    t = nb.tensor([[1.0, 2.0]])
    assert isinstance(t.numpy(), np.ndarray) and t.numpy().dtype == np.float32
    assert nb.tensor(3.5).item() == 3.5 and isinstance(nb.tensor(3).item(), int)
    assert t.tolist() == [[1.0, 2.0]]
    with pytest.raises(RuntimeError, match="item: a Tensor with 2 elements cannot be converted"):
        t.item()
    with pytest.raises(RuntimeError, match="numpy\\(\\) on a Tensor that requires grad"):
        nb.ones(2, requires_grad=True).numpy()
    assert np.asarray(t).shape == (1, 2)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64


def test_python_number_conversions():
    assert float(nb.tensor([2.5])) == 2.5
    assert int(nb.tensor(3)) == 3
    assert [10, 20, 30][nb.tensor(1)] == 20
    assert len(nb.zeros(4, 2)) == 4
    assert [r.tolist() for r in nb.tensor([[1, 2], [3, 4]])] == [[1, 2], [3, 4]]
    assert f"{nb.tensor(3.14159):.2f}" == "3.14"
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(nb.tensor(1.0))
    with pytest.raises(TypeError, match="only integer tensors of a single element"):
        [1, 2][nb.tensor(1.0)]


def test_bool_of_tensor():
    assert bool(nb.tensor([1.0])) is True
    assert bool(nb.tensor(0.0)) is False
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one value is ambiguous"):
        bool(nb.tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="ambiguous"):
        if nb.ones(2) > 0:
            pass


def test_dtype_casts_are_differentiable():
    x = nb.tensor([1.5, -2.5], requires_grad=True)
    y = x.double()
    assert y.dtype == nb.float64 and y.grad_fn.name() == "ToCopyBackward0"
    (y * 2).backward(nb.ones(2, dtype=nb.float64))
    assert x.grad.dtype == nb.float32 and x.grad.tolist() == [2.0, 2.0]
    assert x.half().dtype == nb.float16
    assert x.long().dtype == nb.int64 and x.long().tolist() == [1, -2]
    assert x.int().dtype == nb.int32
    assert x.bool().dtype == nb.bool_
    assert x.to(nb.float64).dtype == nb.float64
    assert x.to(nb.ones(1, dtype=nb.float16)).dtype == nb.float16
    assert x.to("cpu") is x and x.cpu() is x and x.to(nb.float32) is x
    assert x.float() is x


def test_clone_and_detach():
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c.grad_fn.name() == "CloneBackward0"
    c.backward(nb.ones(2))
    assert x.grad.tolist() == [1.0, 1.0]
    d = x.detach()
    d._data[0] = 9.0
    assert x.tolist()[0] == 9.0  # detach shares memory
    assert x.data.grad_fn is None and x.data.tolist() == [9.0, 2.0]


def test_dlpack_roundtrip():
    x = nb.tensor([1.0, 2.0, 3.0])
    y = nb.from_dlpack(x)
    y._data[0] = 7.0
    assert x.tolist()[0] == 7.0
    z = nb.from_dlpack(np.arange(3.0))
    assert z.dtype == nb.float64 and z.tolist() == [0.0, 1.0, 2.0]


def test_dlpack_with_torch():
    torch = pytest.importorskip("torch")
    t = torch.arange(4.0)
    x = nb.from_dlpack(t)
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0]
    back = torch.from_dlpack(nb.tensor([1.0, 2.0]))
    assert back.tolist() == [1.0, 2.0]


def test_tensors_refuse_pickle():
    import pickle

    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(nb.ones(2))


# ------------------------------------------------------------------ devices


def test_device_objects():
    assert nb.device("cpu") == nb.device("cpu") == "cpu"
    assert repr(nb.device("cpu")) == "device(type='cpu')"
    assert str(nb.device("cuda:1")) == "cuda:1" and nb.device("cuda").index == 0
    assert repr(nb.device("cuda", 1)) == "device(type='cuda', index=1)"
    with pytest.raises(ValueError, match="unknown device type 'tpu'"):
        nb.device("tpu")
    with pytest.raises(ValueError, match="malformed device string"):
        nb.device("cuda:x")


def test_cuda_module_answers_without_gpu():
    if nb.cuda.is_available():
        pytest.skip("a GPU is present")
    assert nb.cuda.device_count() == 0
    assert nb.cuda.memory_allocated() == 0
    nb.cuda.synchronize()
    nb.cuda.empty_cache()
    with pytest.raises(RuntimeError, match="cuda"):
        nb.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="cuda"):
        nb.ones(2).cuda()


@pytest.mark.cuda
def test_cuda_roundtrip_and_mixed_device_error():
    if not nb.cuda.is_available():
        pytest.skip("no GPU")
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    g = x.cuda()
    assert g.device == nb.device("cuda:0") and g.is_cuda
    (g * 2).backward(nb.ones(2, device="cuda"))
    assert x.grad.device == nb.device("cpu") and x.grad.tolist() == [2.0, 2.0]
    with pytest.raises(RuntimeError, match="expected all tensors to be on the same device.*cpu.*cuda:0"):
        x + g
    with pytest.raises(TypeError, match="use tensor.cpu\\(\\)"):
        np.asarray(g)
    assert "device='cuda:0'" in repr(g)
    assert nb.cuda.memory_allocated() > 0
    nb.cuda.synchronize()


# ------------------------------------------------------------------ repr


@pytest.mark.parametrize(
    "make,expected",
    [
        (lambda: nb.tensor([1.0, 2.0, 3.0]), "tensor([1., 2., 3.])"),
        (lambda: nb.tensor([0.5, -1.25]), "tensor([ 0.5000, -1.2500])"),
        (lambda: nb.tensor(3.0), "tensor(3.)"),
        (lambda: nb.tensor([1, 2]), "tensor([1, 2])"),
        (lambda: nb.tensor([True, False]), "tensor([ True, False])"),
        (lambda: nb.tensor([1.0, 2.0], dtype=nb.float64), "tensor([1., 2.], dtype=nbgrad.float64)"),
        (lambda: nb.tensor([1, 2], dtype=nb.int32), "tensor([1, 2], dtype=nbgrad.int32)"),
        (lambda: nb.tensor([1e-5, 1.0]), "tensor([1.0000e-05, 1.0000e+00])"),
        (lambda: nb.tensor([float("nan"), float("inf"), 1.5]), "tensor([   nan,    inf, 1.5000])"),
        (lambda: nb.zeros(0), "tensor([])"),
        (lambda: nb.zeros(0, 3), "tensor([], size=(0, 3))"),
        (lambda: nb.tensor([[1.0, 2.0], [3.0, 4.0]]), "tensor([[1., 2.],\n        [3., 4.]])"),
        (lambda: nb.ones(2, requires_grad=True), "tensor([1., 1.], requires_grad=True)"),
        (lambda: nb.ones(2, requires_grad=True) * 2, "tensor([2., 2.], grad_fn=<MulBackward0>)"),
    ],
)
def test_repr_matches_torch_style(make, expected):
    assert repr(make()) == expected


def test_repr_summarises_large_tensors():
    text = repr(nb.arange(10_000))
    assert text == "tensor([   0,    1,    2,  ..., 9997, 9998, 9999])"
    big = repr(nb.zeros(1000, 1000))
    assert big.count("\n") < 10 and "..." in big


def test_repr_matches_torch_exactly_for_common_cases():
    torch = pytest.importorskip("torch")
    cases = [
        np.array([1.0, 2.5, -3.0]),
        np.array([[1.0, 2.0], [3.0, 4.0]]),
        np.arange(12.0).reshape(3, 4) / 7,
        np.array([1, 2, 3]),
        np.arange(5000.0),
        np.zeros((2, 3, 2)),
    ]
    for a in cases:
        a32 = a.astype(np.float32) if a.dtype.kind == "f" else a
        expected = repr(torch.from_numpy(a32)).replace("torch.", "nbgrad.")
        assert repr(nb.tensor(a32)) == expected


def test_set_printoptions():
    try:
        nb.set_printoptions(precision=2)
        assert repr(nb.tensor([0.12345])) == "tensor([0.12])"
        nb.set_printoptions(threshold=5, edgeitems=1)
        assert repr(nb.arange(10)) == "tensor([0,  ..., 9])"  # torch pads the ellipsis the same way
    finally:
        nb.set_printoptions(profile="default")
    assert repr(nb.tensor([0.12345])) == "tensor([0.1235])"


@pytest.mark.parametrize(
    "call,name,kind",
    [
        (lambda: nb.exp(2.0), "exp", "float"),
        (lambda: nb.sum(np.ones(3)), "sum", "ndarray"),
        (lambda: nb.reshape([1.0, 2.0], 2), "reshape", "list"),
        (lambda: nb.transpose([[1.0]], 0, 1), "transpose", "list"),
        (lambda: nb.relu("x"), "relu", "str"),
    ],
)
def test_function_form_names_the_op_when_input_is_not_a_tensor(call, name, kind):
    with pytest.raises(TypeError, match=rf"^{name}: argument 'input' must be a Tensor, not {kind} \(convert it"):
        call()


def test_function_form_keeps_the_signature_and_accepts_numbers_where_torch_does():
    import inspect

    assert list(inspect.signature(nb.exp).parameters) == ["input"]
    assert nb.exp.__doc__ and nb.exp.__name__ == "exp"
    assert nb.add(2.0, nb.ones(2)).tolist() == [3.0, 3.0]
