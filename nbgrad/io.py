"""``save`` and ``load``: checkpoints in the safetensors format, never pickle.

A file holds the tensors as raw little-endian arrays plus a JSON header, so loading
one cannot run code (``torch.load`` of a pickle can). What is not a tensor (epoch
numbers, hyper-parameters, an optimizer's ``param_groups``) and the shape of the
saved tree of dicts and lists are stored as JSON in the header's ``__metadata__``
under ``"nbgrad.tree"``.

Files interoperate with PyTorch: ``safetensors.torch.load_file`` reads what
:func:`save` writes (nested keys appear joined by dots: ``"model.fc.weight"``),
and :func:`load` reads what ``safetensors.torch.save_file`` writes, as a flat dict.
The ``safetensors`` package is imported only when saving or loading.
"""

from __future__ import annotations

import json
import numbers
import os

import numpy as np

from nbgrad import backend
from nbgrad.tensor import Tensor

_TREE_KEY = "nbgrad.tree"
_FORMAT_VERSION = "1"
# safetensors dtype codes nbgrad can hold (NumPy has no bfloat16 or float8).
_DTYPES = {
    "BOOL": "bool",
    "U8": "uint8",
    "I8": "int8",
    "I16": "int16",
    "I32": "int32",
    "I64": "int64",
    "F16": "float16",
    "F32": "float32",
    "F64": "float64",
}
_MAX_HEADER = 100 * 1024 * 1024  # the safetensors format's own limit


def _require_safetensors(op: str):
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError(
            f"{op}: the 'safetensors' package is needed to save and load checkpoints; "
            "install it with `pip install safetensors`"
        ) from None
    return safetensors


# ------------------------------------------------------------------------------------------------ save


def _encode(obj, where: str, names: dict, arrays: dict):
    """The JSON node for ``obj``; tensors and arrays go into ``arrays`` under a unique name."""
    if isinstance(obj, (Tensor, np.ndarray)):
        array = backend.to_numpy(obj._data) if isinstance(obj, Tensor) else obj
        if array.dtype not in backend.SUPPORTED_DTYPES:
            raise TypeError(
                f"save: the array at {where or 'the top level'} has dtype {array.dtype}, "
                "which nbgrad tensors cannot hold"
            )
        name = _unique_name(where or "tensor", names)
        # not np.ascontiguousarray: it turns 0-d arrays into 1-d ones
        arrays[name] = array if array.flags.c_contiguous else array.copy(order="C")
        return {"tensor": name}
    if obj is None or isinstance(obj, (bool, str)):
        return {"value": obj}
    if isinstance(obj, np.generic):
        return {"value": obj.item()}
    if isinstance(obj, numbers.Integral):
        return {"value": int(obj)}
    if isinstance(obj, numbers.Real):
        return {"value": float(obj)}
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(
                    f"save: dict keys must be str or int, got {type(key).__name__} {key!r} "
                    f"at {where or 'the top level'}"
                )
            items.append([key, _encode(value, f"{where}.{key}" if where else str(key), names, arrays)])
        return {"dict": items}
    if isinstance(obj, (list, tuple)):
        nodes = [_encode(v, f"{where}.{i}" if where else str(i), names, arrays) for i, v in enumerate(obj)]
        return {"tuple" if isinstance(obj, tuple) else "list": nodes}
    hint = " (save model.state_dict() rather than the model)" if hasattr(obj, "state_dict") else ""
    raise TypeError(
        f"save: cannot store a {type(obj).__name__} at {where or 'the top level'}{hint}; save stores tensors, "
        "NumPy arrays, numbers, strings, None, and dicts, lists and tuples of those"
    )


def _unique_name(name: str, names: dict) -> str:
    """``name``, or ``name#2``, ``name#3``... when a different path already joined to the same name."""
    if name == "__metadata__":
        name = "__metadata__#1"  # the one key the format reserves
    candidate, k = name, 1
    while candidate in names:
        k += 1
        candidate = f"{name}#{k}"
    names[candidate] = True
    return candidate


def _write(arrays: dict, metadata: dict, path: str) -> None:
    """Write the safetensors file (a separate function so tests can make it fail midway)."""
    _require_safetensors("save").numpy.save_file(arrays, path, metadata=metadata)


def save(obj, path) -> None:
    """Save tensors, state dicts and checkpoints to ``path`` in the safetensors format.

    ``obj`` may be a tensor, a NumPy array, or dicts (str or int keys), lists and tuples
    nesting tensors, arrays and JSON values (numbers, strings, booleans, None): a model's
    ``state_dict()``, an optimizer's, or ``{"model": ..., "optimizer": ..., "epoch": 3}``.
    GPU tensors are copied to the host. Tensors that share memory are stored twice.

    The write is atomic: the data go to a temporary file in the same folder, which is
    flushed to disk and then renamed over ``path``, so an interrupted save leaves any
    previous file at ``path`` intact.

    Args:
        obj: what to save.
        path: the file name (by convention ending in ``.safetensors``).

    Example::

        >>> import os, tempfile
        >>> import nbgrad as nb
        >>> from nbgrad.io import load, save
        >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
        >>> save({"w": nb.ones(2, 3), "epoch": 5}, path)
        >>> ckpt = load(path)
        >>> ckpt["w"].shape, ckpt["epoch"]
        (nbgrad.Size([2, 3]), 5)
    """
    path = os.fspath(path)
    arrays: dict = {}
    tree = _encode(obj, "", {}, arrays)
    metadata = {
        # The arrays are stored exactly as safetensors.torch stores tensors; "format": "pt"
        # lets PyTorch tools (transformers checks it) accept the file.
        "format": "pt",
        "nbgrad.version": _FORMAT_VERSION,
        _TREE_KEY: json.dumps(tree, separators=(",", ":")),
    }
    folder = os.path.dirname(os.path.abspath(path))
    # A unique name beside the target, so that the final rename stays on one file system.
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        mode = _file_mode(path, tmp)
        _write(arrays, metadata, tmp)
        os.chmod(tmp, mode)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    _fsync_folder(folder)


def _file_mode(path: str, probe: str) -> int:
    """The permissions the checkpoint should get: those of the file it replaces, else the umask's.

    safetensors writes owner-only (0600) files; creating ``probe`` the ordinary way reads the
    umask's permissions without touching the process-wide umask.
    """
    if os.path.exists(path):
        return os.stat(path).st_mode & 0o7777
    fd = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    try:
        return os.fstat(fd).st_mode & 0o777
    finally:
        os.close(fd)


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable (POSIX); Windows cannot open folders and needs no such step."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ------------------------------------------------------------------------------------------------ load


def _not_safetensors(path: str, head: bytes, problem: str) -> ValueError:
    """The error for a file that is no safetensors file, saying what it looks like instead."""
    if head.startswith(b"PK\x03\x04"):
        return ValueError(
            f"load: {path} is a zip archive (the format of torch.save), not a safetensors file. nbgrad never "
            "unpickles files, as unpickling can run arbitrary code. Convert it in PyTorch: "
            "safetensors.torch.save_file(torch.load(path, weights_only=True), 'model.safetensors')"
        )
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return ValueError(
            f"load: {path} is a Python pickle, not a safetensors file; nbgrad never unpickles files, as unpickling "
            "can run arbitrary code. Save the data with nb.save (or safetensors) instead"
        )
    return ValueError(f"load: {path} is not a safetensors file, or is truncated or corrupt: {problem}")


def _read_header(path: str) -> dict:
    """The JSON header of the safetensors file at ``path``, after checking that it is one."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise _not_safetensors(path, head, f"it has only {size} bytes")
        n = int.from_bytes(head, "little")
        if n > _MAX_HEADER or n > size - 8:
            raise _not_safetensors(
                path, head, f"its first 8 bytes announce a header of {n} bytes, but the file has {size} bytes"
            )
        raw = f.read(n)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _not_safetensors(path, head, f"its header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise _not_safetensors(path, head, f"its header is a JSON {type(header).__name__}, not an object")
    data_size = size - 8 - n
    for name, info in header.items():
        if name == "__metadata__":
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
            raise _not_safetensors(path, head, f"the header entry of tensor {name!r} is malformed")
        dtype = info.get("dtype")
        if dtype not in _DTYPES:
            raise ValueError(
                f"load: tensor {name!r} in {path} has dtype {dtype}, which nbgrad does not support "
                f"(supported: {', '.join(_DTYPES)}); convert it before saving, e.g. tensor.float() in PyTorch"
            )
        if offsets[1] > data_size:
            raise ValueError(
                f"load: {path} is truncated: tensor {name!r} ends at byte {offsets[1]} of the data, "
                f"but the file holds only {data_size} bytes of data"
            )
    return header


def _decode(node, arrays: dict, path: str):
    if not isinstance(node, dict) or len(node) != 1:
        raise ValueError(f"load: {path} is corrupt: unexpected node {str(node)[:80]} in its {_TREE_KEY} metadata")
    ((kind, value),) = node.items()
    if kind == "tensor":
        if value not in arrays:
            raise ValueError(f"load: {path} is corrupt: its metadata names tensor {value!r}, which the file lacks")
        return arrays[value]
    if kind == "value":
        return value
    if kind == "dict":
        return {key: _decode(child, arrays, path) for key, child in value}
    if kind == "list":
        return [_decode(child, arrays, path) for child in value]
    if kind == "tuple":
        return tuple(_decode(child, arrays, path) for child in value)
    raise ValueError(f"load: {path} is corrupt: unknown node kind {kind!r} in its {_TREE_KEY} metadata")


def load(path, device=None):
    """Load what :func:`save` wrote, or any safetensors file, from ``path``.

    Nothing is unpickled: a pickle (e.g. written by ``torch.save``), a truncated or a corrupt
    file raises ``ValueError`` naming the file and the problem, without running anything
    from it. A safetensors file written by other tools (``safetensors.torch.save_file(
    model.state_dict(), path)``) loads as a flat ``{name: tensor}`` dict, ready for
    ``model.load_state_dict``.

    Args:
        path: the file.
        device: where to put the loaded tensors (default: the CPU).

    Returns:
        The saved object, with tensors and arrays as nbgrad tensors, tuples as tuples and
        dicts in their saved order.

    Example::

        >>> import os, tempfile
        >>> import nbgrad as nb
        >>> from nbgrad.io import load, save
        >>> path = os.path.join(tempfile.mkdtemp(), "t.safetensors")
        >>> save({"layer": {"weight": nb.eye(2)}, "names": ["a", "b"]}, path)
        >>> load(path)
        {'layer': {'weight': tensor([[1., 0.],
                [0., 1.]])}, 'names': ['a', 'b']}
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load: no such file: {path}")
    header = _read_header(path)
    safetensors = _require_safetensors("load")
    dev = backend.to_device(device) if device is not None else None
    arrays = {}
    try:
        with safetensors.safe_open(path, framework="np") as f:
            metadata = f.metadata() or {}
            for name in sorted(f.keys(), key=lambda k: header[k]["data_offsets"][0]):
                array = f.get_tensor(name)
                arrays[name] = Tensor._wrap(backend.move(array, dev) if dev is not None else array)
    except safetensors.SafetensorError as exc:
        raise ValueError(f"load: {path} is not a valid safetensors file: {exc}") from None
    tree = metadata.get(_TREE_KEY)
    if tree is None:
        return arrays
    try:
        tree = json.loads(tree)
    except json.JSONDecodeError as exc:
        raise ValueError(f"load: {path} is corrupt: its {_TREE_KEY} metadata is not JSON ({exc})") from None
    return _decode(tree, arrays, path)


__all__ = ["load", "save"]
