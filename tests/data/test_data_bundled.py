"""The datasets that ship with nbgrad: digits, the Shakespeare corpus, the synthetic generators."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nbgrad as nb
from nbgrad.data import DataLoader
from nbgrad.data.datasets import (
    CharDataset,
    Digits,
    load_digits,
    load_text,
    make_blobs,
    make_moons,
    make_sine,
    make_spirals,
)

ROOT = Path(__file__).resolve().parents[2]

# ------------------------------------------------------------------------------------- digits


def test_digits_shapes_dtypes_and_counts():
    x, y = load_digits()
    assert x.shape == (1797, 1, 8, 8) and x.dtype == nb.float32
    assert y.shape == (1797,) and y.dtype == nb.int64
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    # the class counts of scikit-learn's copy of the UCI test set
    assert np.bincount(y.numpy()).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    # pixels are counts 0..16 divided by 16
    assert np.allclose(x.numpy() * 16, np.round(x.numpy() * 16))
    flat, _ = load_digits(flatten=True)
    assert flat.shape == (1797, 64)


def test_digits_split_is_fixed_stratified_and_disjoint():
    xtr, ytr = load_digits("train")
    xte, yte = load_digits("test")
    assert len(ytr) == 1438 and len(yte) == 359
    assert np.bincount(yte.numpy()).tolist() == [36, 36, 35, 37, 36, 36, 36, 36, 35, 36]
    all_x, _ = load_digits()
    rows = {r.tobytes() for r in all_x.numpy().reshape(1797, -1)}
    assert len({r.tobytes() for r in xtr.numpy().reshape(len(ytr), -1)} | rows) == len(rows)
    assert len(Digits(train=True)) == 1438 and len(Digits(train=False)) == 359 and len(Digits(train=None)) == 1797
    with pytest.raises(ValueError, match="split must be one of"):
        load_digits("val")
    with pytest.raises(ValueError, match="train must be True, False or None"):
        Digits(train="yes")


def test_digits_dataset_items_transforms_and_loader():
    ds = Digits(train=True)
    image, label = ds[0]
    assert image.shape == (1, 8, 8) and isinstance(label, int)
    assert ds.data.shape == (1438, 8, 8) and ds.targets.dtype == nb.int64 and len(ds.classes) == 10
    xb, yb = next(iter(DataLoader(ds, batch_size=32)))
    assert xb.shape == (32, 1, 8, 8) and yb.shape == (32,) and yb.dtype == nb.int64
    np.testing.assert_array_equal(xb[0].numpy(), image.numpy())
    flat = Digits(train=False, flatten=True, transform=lambda t: t * 2, target_transform=lambda y: y + 100)
    img, lab = flat[3]
    assert img.shape == (64,) and lab >= 100 and float(img.max()) <= 2.0
    xb, yb = next(iter(DataLoader(flat, batch_size=4)))  # transforms: the per-sample path
    assert xb.shape == (4, 64) and int(yb.min()) >= 100
    assert "Dataset Digits" in repr(flat) and "Split: Test" in repr(flat)


def test_digits_fast_path_equals_per_sample():
    ds = Digits(train=True)
    fast = next(iter(DataLoader(ds, batch_size=16, shuffle=True, generator=1)))
    slow = next(iter(DataLoader(ds, batch_size=16, shuffle=True, generator=1, collate_fn=lambda b: _collate(b))))
    for f, s in zip(fast, slow):
        assert f.dtype == s.dtype and f.shape == s.shape
        np.testing.assert_array_equal(f.numpy(), s.numpy())


def _collate(batch):
    from nbgrad.data import default_collate

    return default_collate(batch)


def test_digits_load_time_in_a_fresh_process():
    probe = (
        "import time; import nbgrad; t = time.perf_counter(); "
        "from nbgrad.data.datasets import load_digits; x, y = load_digits(); "
        "print(time.perf_counter() - t)"
    )
    best = min(
        float(
            subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT).stdout
        )
        for _ in range(3)
    )
    assert best < 1.0, f"loading the digits took {best:.3f} s"


# ---------------------------------------------------------------------------------------- text


def test_text_corpus():
    text = load_text()
    assert len(text) == 937_853 and text.isascii()
    assert text.startswith("HAMLET, PRINCE OF DENMARK")
    assert "To be, or not to be" in text and "MACBETH" in text
    assert len(set(text)) == 73
    with pytest.raises(ValueError, match="unknown corpus 'bible'"):
        load_text("bible")


def test_char_dataset_vocab_windows_and_splits():
    ds = CharDataset(32)
    assert ds.vocab_size == 73 and ds.itos == sorted(ds.itos)
    assert all(ds.stoi[c] == i for i, c in enumerate(ds.itos))
    x, y = ds[100]
    assert x.shape == y.shape == (32,) and x.dtype == nb.int64
    assert x[1:].tolist() == y[:-1].tolist()
    assert ds.decode(x) == load_text()[100:132]
    val = CharDataset(32, train=False)
    full = CharDataset(32, train=None)
    assert val.stoi == ds.stoi
    assert len(ds) + 32 + len(val) + 32 == len(full) + 32
    assert ds.decode(ds.encode("To be")) == "To be"


def test_char_dataset_fast_path_and_errors():
    ds = CharDataset(5, text="abcdefghij abcdefghij", train=None)
    assert len(ds) == 16
    fast = next(iter(DataLoader(ds, batch_size=4, shuffle=True, generator=0)))
    slow = next(iter(DataLoader(ds, batch_size=4, shuffle=True, generator=0, collate_fn=_collate)))
    for f, s in zip(fast, slow):
        np.testing.assert_array_equal(f.numpy(), s.numpy())
    assert ds[-1][1].tolist() == ds[15][1].tolist()
    with pytest.raises(IndexError, match="index 16 is out of range for a dataset of length 16"):
        ds[16]
    with pytest.raises(KeyError, match="character 'z' is not in the vocabulary"):
        ds.encode("z")
    with pytest.raises(ValueError, match="seq_len must be a positive int"):
        CharDataset(0, text="abc")
    with pytest.raises(ValueError, match="fewer than seq_len \\+ 1 = 11"):
        CharDataset(10, text="abc", train=None)
    assert CharDataset(2, text="héllo wörld", train=None).decode([0, 1]) == " d"  # non-ASCII text works too


# ----------------------------------------------------------------------------------- synthetic

GENERATORS = [
    (make_moons, {"n_samples": 101, "noise": 0.1}),
    (make_spirals, {"n_samples": 100, "n_classes": 3}),
    (make_blobs, {"n_samples": 100, "centers": 4}),
]


@pytest.mark.parametrize("make,kwargs", GENERATORS, ids=lambda v: getattr(v, "__name__", ""))
def test_classification_generators(make, kwargs):
    X, y = make(**kwargs, generator=0)
    n = kwargs["n_samples"]
    assert X.shape == (n, 2) and X.dtype == nb.float32 and y.shape == (n,) and y.dtype == nb.int64
    X2, y2 = make(**kwargs, generator=0)
    np.testing.assert_array_equal(X.numpy(), X2.numpy())
    X3, _ = make(**kwargs, generator=1)
    assert not np.array_equal(X.numpy(), X3.numpy())
    nb.manual_seed(3)
    a = make(**kwargs)[0]
    nb.manual_seed(3)
    np.testing.assert_array_equal(a.numpy(), make(**kwargs)[0].numpy())
    counts = np.bincount(y.numpy())
    assert counts.max() - counts.min() <= 1  # classes balanced


def test_moons_geometry():
    X, y = make_moons(200, noise=0.0, shuffle=False)
    x = X.numpy()
    upper, lower = x[y.numpy() == 0], x[y.numpy() == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0, atol=1e-6)


def test_spirals_and_blobs_options():
    X, y = make_spirals(90, n_classes=3, noise=0.0, shuffle=False)
    r = np.hypot(*X.numpy().T)
    assert r.max() <= 1.0 + 1e-6 and y[:30].tolist() == [0] * 30
    centers = [[0.0, 0.0, 0.0], [10.0, 10.0, 10.0]]
    X, y = make_blobs(400, centers=centers, cluster_std=[0.1, 0.5], generator=0)
    assert X.shape == (400, 3)
    mean1 = X.numpy()[y.numpy() == 1].mean(0)
    np.testing.assert_allclose(mean1, 10.0, atol=0.2)
    assert X.numpy()[y.numpy() == 0].std() < 0.2
    with pytest.raises(ValueError, match="cluster_std must be a float or one value per centre"):
        make_blobs(10, centers=centers, cluster_std=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="n_samples must be a positive int"):
        make_moons(0)


def test_sine():
    x, y = make_sine(64, noise=0.05, generator=0)
    assert x.shape == y.shape == (64, 1) and x.dtype == y.dtype == nb.float32
    xs = x.numpy()[:, 0]
    assert (np.diff(xs) >= 0).all() and xs.min() >= -np.pi and xs.max() <= np.pi
    assert np.abs(y.numpy()[:, 0] - np.sin(xs)).max() < 0.3
    with pytest.raises(ValueError, match="low < high"):
        make_sine(10, x_range=(1.0, 0.0))
