"""MNIST/FashionMNIST downloads, against a local HTTP server on 127.0.0.1 serving tiny generated IDX files.

No test here touches the internet: the mirrors and checksums are monkeypatched.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import struct
import threading
from functools import partial

import numpy as np
import pytest

import nbgrad as nb
from nbgrad.data import DataLoader
from nbgrad.data.datasets import MNIST, FashionMNIST, read_idx

N_TRAIN, N_TEST = 6, 3


def _idx_bytes(array: np.ndarray) -> bytes:
    codes = {np.dtype(np.uint8): 0x08, np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def _write_gz(path, array) -> str:
    data = gzip.compress(_idx_bytes(array), mtime=0)
    path.write_bytes(data)
    return hashlib.md5(data).hexdigest()


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """Serve generated MNIST-format files at http://127.0.0.1:<port>/files/ and point MNIST at them."""
    served = tmp_path / "served" / "files"
    served.mkdir(parents=True)
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, N_TRAIN, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, N_TEST, dtype=np.uint8),
    }
    resources = [(name, _write_gz(served / name, a)) for name, a in arrays.items()]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(served.parent)))
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    for cls in (MNIST, FashionMNIST):
        monkeypatch.setattr(cls, "mirrors", [f"{base}/files/"])
        monkeypatch.setattr(cls, "resources", resources)
    try:
        yield {"base": base, "server": server, "arrays": arrays, "root": tmp_path / "cache"}
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_download_parse_and_layout(mirror):
    ds = MNIST(root=mirror["root"], train=True)
    assert len(ds) == N_TRAIN
    raw = mirror["root"] / "MNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    assert mirror["server"].requests == ["/files/train-images-idx3-ubyte.gz", "/files/train-labels-idx1-ubyte.gz"]
    umask = os.umask(0)
    os.umask(umask)
    assert all(p.stat().st_mode & 0o777 == 0o666 & ~umask for p in raw.iterdir())  # an ordinary, shared cache
    images, labels = mirror["arrays"]["train-images-idx3-ubyte.gz"], mirror["arrays"]["train-labels-idx1-ubyte.gz"]
    np.testing.assert_array_equal(ds.data.numpy(), images)
    np.testing.assert_array_equal(ds.targets.numpy(), labels)
    assert ds.targets.dtype == nb.int64
    image, label = ds[2]
    assert image.shape == (1, 28, 28) and image.dtype == nb.float32 and label == int(labels[2])
    np.testing.assert_array_equal(image.numpy()[0], images[2].astype(np.float32) / np.float32(255))
    xb, yb = next(iter(DataLoader(ds, batch_size=4)))
    assert xb.shape == (4, 1, 28, 28) and yb.tolist() == labels[:4].tolist()


def test_test_split_and_flatten(mirror):
    ds = MNIST(root=mirror["root"], train=False, flatten=True)
    assert len(ds) == N_TEST and ds[0][0].shape == (784,)
    assert all("t10k" in r for r in mirror["server"].requests)


def test_cache_is_reused_without_downloading(mirror):
    MNIST(root=mirror["root"])
    n = len(mirror["server"].requests)
    again = MNIST(root=mirror["root"])
    assert len(mirror["server"].requests) == n and len(again) == N_TRAIN
    MNIST(root=mirror["root"], download=False)  # the cached files are enough
    assert len(mirror["server"].requests) == n


def test_damaged_cached_file_is_downloaded_again(mirror):
    MNIST(root=mirror["root"])
    path = mirror["root"] / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz"
    path.write_bytes(b"garbage")
    ds = MNIST(root=mirror["root"])
    assert mirror["server"].requests.count("/files/train-labels-idx1-ubyte.gz") == 2
    assert ds.targets.tolist() == mirror["arrays"]["train-labels-idx1-ubyte.gz"].tolist()


def test_checksum_mismatch_raises_and_leaves_nothing(mirror, monkeypatch):
    bad = [(name, "0" * 32) for name, _ in MNIST.resources]
    monkeypatch.setattr(MNIST, "resources", bad)
    with pytest.raises(
        RuntimeError,
        match=r"could not download train-images-idx3-ubyte.gz[\s\S]*checksum mismatch: "
        r"expected MD5 0{32}, got [0-9a-f]{32}",
    ):
        MNIST(root=mirror["root"])
    raw = mirror["root"] / "MNIST" / "raw"
    assert list(raw.iterdir()) == []  # neither the bad file nor a temporary file stays


def test_falls_back_to_the_next_mirror(mirror, monkeypatch):
    monkeypatch.setattr(MNIST, "mirrors", [f"{mirror['base']}/missing/", f"{mirror['base']}/files/"])
    ds = MNIST(root=mirror["root"])
    assert len(ds) == N_TRAIN
    assert mirror["server"].requests[:2] == ["/missing/train-images-idx3-ubyte.gz", "/files/train-images-idx3-ubyte.gz"]


def test_offline_error_is_clear(tmp_path, monkeypatch):
    # A port that was just open and is now closed: the connection is refused at once.
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    port = server.server_address[1]
    server.server_close()
    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    monkeypatch.setattr(MNIST, "mirrors", [f"http://127.0.0.1:{port}/"])
    with pytest.raises(RuntimeError, match=r"MNIST: could not download train-images-idx3-ubyte.gz[\s\S]*offline"):
        MNIST(root=tmp_path)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_missing_files_without_download(tmp_path):
    with pytest.raises(
        RuntimeError,
        match=r"MNIST: dataset not found: .*train-images-idx3-ubyte.gz is missing; "
        r"use download=True",
    ):
        MNIST(root=tmp_path, download=False)


def test_fashion_mnist_has_its_own_folder_and_classes(mirror):
    ds = FashionMNIST(root=mirror["root"], train=False)
    assert (mirror["root"] / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte.gz").is_file()
    assert ds.classes[9] == "Ankle boot" and ds.class_to_idx["Bag"] == 8
    assert "Dataset FashionMNIST" in repr(ds)


def test_default_root_is_the_user_cache(monkeypatch, tmp_path):
    from nbgrad.data.datasets import _download

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _download.default_root() == tmp_path / "nbgrad"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert str(_download.default_root()).endswith(".cache/nbgrad")


def test_published_checksums_are_torchvisions():
    assert dict(MNIST.resources)["train-images-idx3-ubyte.gz"] == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    assert dict(FashionMNIST.resources)["t10k-labels-idx1-ubyte.gz"] == "bb300cfdad3c16e7a12a480ee83cd310"
    assert MNIST.mirrors[0] == "https://ossci-datasets.s3.amazonaws.com/mnist/"


# ----------------------------------------------------------------------------------- read_idx


def test_read_idx_dtypes_and_plain_files(tmp_path):
    a = np.arange(6, dtype=">i4").reshape(2, 3)
    (tmp_path / "a.idx").write_bytes(_idx_bytes(a))
    out = read_idx(tmp_path / "a.idx")
    assert out.dtype == np.int32 and out.tolist() == a.tolist()
    f = np.linspace(0, 1, 4, dtype=">f4")
    _write_gz(tmp_path / "f.gz", f)
    np.testing.assert_array_equal(read_idx(tmp_path / "f.gz"), f.astype(np.float32))


def test_read_idx_errors(tmp_path):
    (tmp_path / "bad.idx").write_bytes(b"\x12\x34\x08\x01\x00\x00\x00\x02ab")
    with pytest.raises(ValueError, match=r"bad.idx is not an IDX file \(magic number 12340801\)"):
        read_idx(tmp_path / "bad.idx")
    short = _idx_bytes(np.zeros((2, 3), np.uint8))[:-1]
    (tmp_path / "short.idx").write_bytes(short)
    with pytest.raises(ValueError, match=r"short.idx holds 5 bytes of data, but its header announces shape \(2, 3\)"):
        read_idx(tmp_path / "short.idx")
    (tmp_path / "notgz.gz").write_bytes(b"plain")
    with pytest.raises(ValueError, match="notgz.gz is not a readable gzip file"):
        read_idx(tmp_path / "notgz.gz")
