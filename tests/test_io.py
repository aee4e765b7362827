"""nbgrad.io.save / load: safetensors round trips, atomic writes, refusing pickles and corrupt files, torch interop."""

from __future__ import annotations

import json
import os
import pickle
import struct

import numpy as np
import pytest

import nbgrad as nb
from nbgrad import io

pytest.importorskip("safetensors")


def _same(a, b):
    """Deep equality of loaded trees, with tensors compared by dtype, shape and values."""
    if isinstance(a, nb.Tensor):
        assert isinstance(b, nb.Tensor) and a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a.cpu().numpy(), b.cpu().numpy())
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    else:
        assert a == b and type(a) is type(b)


# ----------------------------------------------------------------------------------- round trips


def test_state_dict_round_trip(tmp_path, device):
    sd = {
        "fc.weight": nb.randn(3, 4, device=device),
        "fc.bias": nb.zeros(3, device=device),
        "bn.num_batches_tracked": nb.tensor(7, device=device),
    }
    path = tmp_path / "sd.safetensors"
    io.save(sd, path)
    out = io.load(path)
    assert list(out) == list(sd)
    assert all(t.device == nb.device("cpu") for t in out.values())
    _same({k: v.cpu() for k, v in sd.items()}, out)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"])
def test_every_dtype_round_trips(tmp_path, dtype):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((2, 3)) * 10).astype(dtype)
    io.save(
        {"x": nb.tensor(array), "scalar": nb.tensor(array[0, 0]), "empty": nb.tensor(array[:0])},
        tmp_path / "d.safetensors",
    )
    out = io.load(tmp_path / "d.safetensors")
    assert out["x"].dtype == np.dtype(dtype) and out["scalar"].shape == () and out["empty"].shape == (0, 3)
    np.testing.assert_array_equal(out["x"].numpy(), array)


def test_nested_checkpoint_with_metadata(tmp_path):
    ckpt = {
        "model": {"layer.0.weight": nb.randn(2, 2), "layer.0.bias": nb.randn(2)},
        "optimizer": {
            "state": {0: {"step": nb.tensor(3.0), "exp_avg": nb.randn(2, 2)}, 1: {"step": nb.tensor(3.0)}},
            "param_groups": [
                {
                    "lr": 0.001,
                    "betas": (0.9, 0.999),
                    "eps": 1e-8,
                    "amsgrad": False,
                    "params": [0, 1],
                    "foreach": None,
                    "name": "adam",
                }
            ],
        },
        "epoch": 12,
        "best": float("inf"),
        "history": [0.5, 0.25, np.float32(0.125).item()],
        "array": np.arange(4, dtype=np.int32),
        "np_scalar": np.int64(5),
    }
    path = tmp_path / "ckpt.safetensors"
    io.save(ckpt, path)
    out = io.load(path)
    assert out["optimizer"]["state"].keys() == {0, 1}  # int keys stay ints
    assert out["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)  # tuples stay tuples
    assert out["epoch"] == 12 and out["best"] == float("inf") and out["np_scalar"] == 5
    assert isinstance(out["array"], nb.Tensor) and out["array"].dtype == nb.int32
    expected = dict(ckpt, array=nb.tensor(ckpt["array"]), np_scalar=5)
    _same(expected, out)


def test_top_level_tensor_and_list(tmp_path):
    io.save(nb.arange(3), tmp_path / "t.safetensors")
    _same(io.load(tmp_path / "t.safetensors"), nb.arange(3))
    io.save([nb.ones(1), "x", None], tmp_path / "l.safetensors")
    _same(io.load(tmp_path / "l.safetensors"), [nb.ones(1), "x", None])


def test_names_that_join_alike_do_not_clash(tmp_path):
    tree = {"a.b": nb.tensor([1]), "a": {"b": nb.tensor([2])}, "__metadata__": nb.tensor([3])}
    io.save(tree, tmp_path / "c.safetensors")
    _same(io.load(tmp_path / "c.safetensors"), tree)


def test_noncontiguous_and_grad_tensors(tmp_path):
    w = nb.randn(3, 4, requires_grad=True)
    io.save({"wt": w.detach().T, "w": w.detach()}, tmp_path / "n.safetensors")
    out = io.load(tmp_path / "n.safetensors")
    np.testing.assert_array_equal(out["wt"].numpy(), w.detach().numpy().T)
    assert not out["w"].requires_grad


def test_load_to_device(tmp_path, device):
    io.save({"w": nb.ones(2), "meta": {"k": nb.zeros(1)}}, tmp_path / "m.safetensors")
    out = io.load(tmp_path / "m.safetensors", device=device)
    assert out["w"].device == nb.device(device) and out["meta"]["k"].device == nb.device(device)


def test_save_errors(tmp_path):
    with pytest.raises(TypeError, match=r"cannot store a object at model.x; save stores tensors"):
        io.save({"model": {"x": object()}}, tmp_path / "e.safetensors")

    class Model:
        def state_dict(self):
            return {}

    with pytest.raises(TypeError, match=r"save model.state_dict\(\) rather than the model"):
        io.save({"model": Model()}, tmp_path / "e.safetensors")
    with pytest.raises(TypeError, match="dict keys must be str or int, got tuple"):
        io.save({(1, 2): nb.ones(1)}, tmp_path / "e.safetensors")
    with pytest.raises(TypeError, match="the array at x has dtype complex128"):
        io.save({"x": np.zeros(2, complex)}, tmp_path / "e.safetensors")
    assert not (tmp_path / "e.safetensors").exists()


# ----------------------------------------------------------------------------------- atomicity


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    io.save({"w": nb.ones(3)}, path)
    before = path.read_bytes()

    def failing_write(arrays, metadata, tmp):
        with open(tmp, "wb") as f:
            f.write(b"\x00" * 100)  # half a file...
        raise KeyboardInterrupt("interrupted midway")  # ...then the user presses stop

    monkeypatch.setattr(io, "_write", failing_write)
    with pytest.raises(KeyboardInterrupt):
        io.save({"w": nb.zeros(3)}, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.safetensors"]  # no temporary file left
    monkeypatch.undo()
    _same(io.load(path), {"w": nb.ones(3)})


def test_save_replaces_an_existing_file(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    io.save({"w": nb.ones(3)}, path)
    io.save({"w": nb.zeros(2), "epoch": 1}, str(path))
    _same(io.load(path), {"w": nb.zeros(2), "epoch": 1})


# ------------------------------------------------------------------------------- unsafe files


class _Marker:
    """Unpickling this would create a file: the proof that code ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_malicious_pickle_is_refused_without_running_it(tmp_path, protocol):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps({"w": _Marker(str(marker))}, protocol=protocol))
    with pytest.raises(ValueError, match=rf"load: {path}.* (is a Python pickle|not a safetensors file)"):
        io.load(path)
    assert not marker.exists()


def test_torch_save_file_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(ValueError, match=r"is a zip archive \(the format of torch.save\).*never unpickles"):
        io.load(path)


@pytest.mark.parametrize(
    "content,message",
    [
        (b"", "it has only 0 bytes"),
        (b"\x05\x00", "it has only 2 bytes"),
        (struct.pack("<Q", 10**6) + b"{}", r"announce a header of 1000000 bytes, but the file has 10 bytes"),
        (struct.pack("<Q", 4) + b"nope", "its header is not JSON"),
        (struct.pack("<Q", 2) + b"[]", "its header is a JSON list, not an object"),
    ],
)
def test_corrupt_files(tmp_path, content, message):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=rf"load: {path} .*{message}"):
        io.load(path)


def test_truncated_file(tmp_path):
    path = tmp_path / "t.safetensors"
    io.save({"w": nb.ones(1000)}, path)
    data = path.read_bytes()
    path.write_bytes(data[:-100])
    with pytest.raises(
        ValueError,
        match=r"is truncated: tensor 'w' ends at byte 4000 of the data, but the file "
        r"holds only 3900 bytes",
    ):
        io.load(path)


def test_corrupt_tree_metadata(tmp_path):
    import safetensors.numpy

    path = tmp_path / "m.safetensors"
    tree = json.dumps({"dict": [["w", {"tensor": "missing"}]]})
    safetensors.numpy.save_file({"w": np.ones(2, np.float32)}, path, metadata={"nbgrad.tree": tree})
    with pytest.raises(ValueError, match="names tensor 'missing', which the file lacks"):
        io.load(path)
    safetensors.numpy.save_file({"w": np.ones(2, np.float32)}, path, metadata={"nbgrad.tree": "{"})
    with pytest.raises(ValueError, match="nbgrad.tree metadata is not JSON"):
        io.load(path)
    safetensors.numpy.save_file({"w": np.ones(2, np.float32)}, path, metadata={"nbgrad.tree": '{"code": 1}'})
    with pytest.raises(ValueError, match="unknown node kind 'code'"):
        io.load(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        io.load(tmp_path / "nothing.safetensors")


def test_plain_safetensors_file_loads_flat(tmp_path):
    import safetensors.numpy

    path = tmp_path / "plain.safetensors"
    safetensors.numpy.save_file({"b": np.arange(3, dtype=np.int64), "a": np.ones((2, 2), np.float32)}, path)
    out = io.load(path)
    assert set(out) == {"a", "b"} and out["a"].shape == (2, 2) and out["b"].tolist() == [0, 1, 2]


# ----------------------------------------------------------------------------------- torch interop


def test_torch_safetensors_state_dict_loads(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(), torch.nn.Linear(4, 2)
    )
    sd = model.state_dict()
    path = tmp_path / "torch.safetensors"
    save_file(sd, path)
    out = io.load(path)
    assert set(out) == set(sd)
    for key, value in sd.items():
        assert tuple(out[key].shape) == tuple(value.shape), key
        assert str(out[key].dtype) == str(value.dtype).replace("torch.", ""), key
        np.testing.assert_array_equal(out[key].numpy(), value.numpy())


def test_nbgrad_file_loads_in_torch(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    path = tmp_path / "nb.safetensors"
    io.save({"model": {"fc.weight": nb.ones(2, 3)}, "epoch": 4}, path)
    out = load_file(path)
    assert list(out) == ["model.fc.weight"] and torch.equal(out["model.fc.weight"], torch.ones(2, 3))


def test_unsupported_torch_dtype_names_key_and_dtype(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    path = tmp_path / "bf16.safetensors"
    save_file({"ok": torch.ones(2), "embed.weight": torch.ones(2, dtype=torch.bfloat16)}, path)
    with pytest.raises(
        ValueError,
        match=r"tensor 'embed.weight' in .*bf16.safetensors has dtype BF16, which nbgrad "
        r"does not support",
    ):
        io.load(path)


def test_import_nbgrad_does_not_import_safetensors():
    import subprocess
    import sys

    code = "import sys, nbgrad, nbgrad.io; print('safetensors' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    assert out.stdout.strip() == "False"


def test_torch_checkpoint_loads_into_the_matching_nbgrad_model(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    save_file(theirs.state_dict(), tmp_path / "mlp.safetensors")
    ours = nb.nn.Sequential(nb.nn.Linear(4, 3), nb.nn.ReLU(), nb.nn.Linear(3, 2))
    ours.load_state_dict(io.load(tmp_path / "mlp.safetensors"))
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    expected = theirs(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(ours(nb.tensor(x)).detach().numpy(), expected, rtol=1e-5, atol=1e-6)


def test_model_and_optimizer_checkpoint_round_trip(tmp_path):
    from nbgrad import optim

    model = nb.nn.Linear(3, 2)
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(nb.randn(4, 3)).sum().backward()
    opt.step()
    path = tmp_path / "ckpt.safetensors"
    io.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 1}, path)
    ckpt = io.load(path)
    fresh = nb.nn.Linear(3, 2)
    fresh.load_state_dict(ckpt["model"])
    fresh_opt = optim.Adam(fresh.parameters(), lr=0.5)
    fresh_opt.load_state_dict(ckpt["optimizer"])
    _same(ckpt["optimizer"], io.load(path)["optimizer"])
    assert fresh_opt.param_groups[0]["lr"] == 0.01 and ckpt["epoch"] == 1
    np.testing.assert_array_equal(fresh.weight.detach().numpy(), model.weight.detach().numpy())


def test_saved_file_has_the_usual_permissions(tmp_path):
    path = tmp_path / "p.safetensors"
    io.save({"w": nb.ones(1)}, path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not safetensors' owner-only 0600
    os.chmod(path, 0o640)
    io.save({"w": nb.zeros(1)}, path)
    assert path.stat().st_mode & 0o777 == 0o640  # a replaced checkpoint keeps its permissions
