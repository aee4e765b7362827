"""DataLoader and default_collate: batching, shuffling determinism, collate semantics, the batch fast path."""

from __future__ import annotations

import collections

import numpy as np
import pytest

import nbgrad as nb
from nbgrad.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    IterableDataset,
    SequentialSampler,
    Subset,
    TensorDataset,
    default_collate,
    default_convert,
    random_split,
)


class Items(Dataset):
    """A map-style dataset over a list of ready-made samples."""

    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


class Stream(IterableDataset):
    def __init__(self, n, with_len=True):
        self.n, self.with_len = n, with_len

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        if not self.with_len:
            raise TypeError("no len")
        return self.n


def _labels(loader) -> list:
    return [y.tolist() for _, y in loader]


# ------------------------------------------------------------------------------- batching


def test_batches_in_order_and_len(device):
    x = nb.arange(20, device=device).reshape(10, 2)
    y = nb.arange(10, device=device)
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and len(batches) == 3
    xb, yb = batches[0]
    assert xb.shape == (4, 2) and xb.device == nb.device(device)
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_drop_last():
    ds = TensorDataset(nb.arange(10))
    loader = DataLoader(ds, batch_size=4, drop_last=True)
    assert len(loader) == 2 and [b[0].tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    loader = DataLoader(ds, batch_size=5, drop_last=True)
    assert len(loader) == 2 and len(list(loader)) == 2


def test_batch_size_none_converts_each_sample():
    loader = DataLoader(Items([np.array([1, 2]), np.array([3, 4])]), batch_size=None)
    out = list(loader)
    assert len(loader) == 2 and isinstance(out[0], nb.Tensor) and out[1].tolist() == [3, 4]


def test_numpy_array_and_tensor_as_datasets():
    a = np.arange(12, dtype=np.float64).reshape(6, 2)
    batches = list(DataLoader(a, batch_size=4))
    assert isinstance(batches[0], nb.Tensor) and batches[0].dtype == nb.float64
    np.testing.assert_array_equal(batches[1].numpy(), a[4:])
    t = nb.arange(5)
    assert [b.tolist() for b in DataLoader(t, batch_size=2)] == [[0, 1], [2, 3], [4]]


def test_custom_sampler_and_batch_sampler():
    ds = TensorDataset(nb.arange(6))
    loader = DataLoader(ds, batch_size=2, sampler=[5, 4, 3, 2, 1, 0])
    assert [b[0].tolist() for b in loader] == [[5, 4], [3, 2], [1, 0]]
    loader = DataLoader(ds, batch_sampler=[[0, 5], [1]])
    assert [b[0].tolist() for b in loader] == [[0, 5], [1]]
    bs = BatchSampler(SequentialSampler(ds), 4, drop_last=False)
    assert len(DataLoader(ds, batch_sampler=bs)) == 2


def test_iterable_dataset_batching():
    assert [b.tolist() for b in DataLoader(Stream(5), batch_size=2)] == [[0, 1], [2, 3], [4]]
    assert [b.tolist() for b in DataLoader(Stream(5), batch_size=2, drop_last=True)] == [[0, 1], [2, 3]]
    assert len(DataLoader(Stream(5), batch_size=2)) == 3
    assert len(DataLoader(Stream(5), batch_size=2, drop_last=True)) == 2
    assert list(DataLoader(Stream(3), batch_size=None)) == [0, 1, 2]
    with pytest.raises(TypeError, match="no len"):
        len(DataLoader(Stream(3, with_len=False)))


def test_argument_errors():
    ds = TensorDataset(nb.arange(4))
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(ds, shuffle=True, sampler=[0, 1])
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive with batch_size"):
        DataLoader(ds, batch_size=2, batch_sampler=[[0]])
    with pytest.raises(ValueError, match="batch_size=None option disables auto-batching"):
        DataLoader(ds, batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="batch_size should be a positive integer value or None, got 0"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match="expected unspecified shuffle option, but got shuffle=True"):
        DataLoader(Stream(3), shuffle=True)
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(TypeError, match="generator must be None .* got float"):
        DataLoader(ds, shuffle=True, generator=0.5)


def test_num_workers_is_not_supported():
    with pytest.raises(NotImplementedError, match=r"num_workers=2 is not supported.*num_workers=0"):
        DataLoader(TensorDataset(nb.arange(4)), num_workers=2)
    DataLoader(TensorDataset(nb.arange(4)), num_workers=0, pin_memory=True)  # accepted, no effect


# ------------------------------------------------------------------------------ shuffling


def test_shuffle_is_a_permutation_each_epoch():
    loader = DataLoader(TensorDataset(nb.arange(100)), batch_size=10, shuffle=True, generator=0)
    first = sum(_labels_of(loader), [])
    second = sum(_labels_of(loader), [])
    assert sorted(first) == sorted(second) == list(range(100))
    assert first != second


def _labels_of(loader):
    return [b[0].tolist() for b in loader]


def test_shuffle_same_seed_same_batches_different_seed_different():
    def batches(seed):
        return _labels_of(DataLoader(TensorDataset(nb.arange(64)), batch_size=8, shuffle=True, generator=seed))

    assert batches(1) == batches(1)
    assert batches(1) != batches(2)
    rng_batches = _labels_of(
        DataLoader(TensorDataset(nb.arange(64)), batch_size=8, shuffle=True, generator=np.random.default_rng(1))
    )
    assert rng_batches == _labels_of(
        DataLoader(TensorDataset(nb.arange(64)), batch_size=8, shuffle=True, generator=np.random.default_rng(1))
    )


def test_shuffle_follows_manual_seed():
    ds = TensorDataset(nb.arange(64))
    nb.manual_seed(123)
    a = [_labels_of(DataLoader(ds, batch_size=8, shuffle=True)) for _ in range(2)]
    nb.manual_seed(123)
    b = [_labels_of(DataLoader(ds, batch_size=8, shuffle=True)) for _ in range(2)]
    assert a == b and a[0] != a[1]
    nb.manual_seed(124)
    assert _labels_of(DataLoader(ds, batch_size=8, shuffle=True)) != a[0]


# -------------------------------------------------------------------------------- fast path


@pytest.mark.parametrize("shuffle", [False, True])
def test_fast_path_equals_per_sample_collate(shuffle, device):
    x = nb.randn(37, 3, 2, device=device)
    y = nb.randint(0, 5, (37,), device=device)
    w = nb.arange(37, dtype=nb.float64, device=device)
    ds = TensorDataset(x, y, w)
    fast = list(DataLoader(ds, batch_size=8, shuffle=shuffle, generator=4))
    slow = list(DataLoader(ds, batch_size=8, shuffle=shuffle, generator=4, collate_fn=default_collate_copy))
    assert len(fast) == len(slow) == 5
    for fb, sb in zip(fast, slow):
        assert isinstance(fb, list) and len(fb) == 3
        for f, s in zip(fb, sb):
            assert f.shape == s.shape and f.dtype == s.dtype and f.device == s.device
            np.testing.assert_array_equal(f.cpu().numpy(), s.cpu().numpy())


def default_collate_copy(batch):
    """default_collate under another identity, which turns the batch fast path off."""
    return default_collate(batch)


def test_fast_path_is_used_and_skipped_as_it_should(monkeypatch):
    calls = []
    original = TensorDataset._fetch_batch

    def counting(self, indices):
        calls.append(indices.tolist())
        return original(self, indices)

    monkeypatch.setattr(TensorDataset, "_fetch_batch", counting)
    list(DataLoader(TensorDataset(nb.arange(10)), batch_size=5))
    assert calls == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]  # one indexing call per batch
    calls.clear()
    list(DataLoader(TensorDataset(nb.arange(10)), batch_size=5, collate_fn=default_collate_copy))
    assert calls == []  # a user's collate_fn gets the samples

    class Doubled(TensorDataset):
        def __getitem__(self, i):
            return tuple(t[i] * 2 for t in self.tensors)

    assert [b[0].tolist() for b in DataLoader(Doubled(nb.arange(4)), batch_size=2)] == [[0, 2], [4, 6]]


def test_fast_path_through_subsets_and_random_split():
    ds = TensorDataset(nb.arange(20), nb.arange(20) * 10)
    train, _ = random_split(ds, [15, 5], generator=0)
    out = list(DataLoader(train, batch_size=4))
    expected = [train[i] for i in range(len(train))]
    assert sum((b[0].tolist() for b in out), []) == [e[0].item() for e in expected]
    assert sum((b[1].tolist() for b in out), []) == [e[1].item() for e in expected]
    nested = Subset(Subset(np.arange(10.0), [9, 8, 7, 6]), [3, 0])
    assert [b.tolist() for b in DataLoader(nested, batch_size=2)] == [[6.0, 9.0]]


def test_fast_path_is_faster_than_stacking():
    import time

    ds = TensorDataset(nb.randn(4096, 64), nb.randint(0, 10, (4096,)))

    def epoch(collate_fn):
        start = time.perf_counter()
        for _ in DataLoader(ds, batch_size=64, shuffle=True, generator=0, collate_fn=collate_fn):
            pass
        return time.perf_counter() - start

    fast = min(epoch(None) for _ in range(3))
    slow = min(epoch(default_collate_copy) for _ in range(3))
    assert fast * 3 < slow, f"fast path {fast * 1e3:.1f} ms vs per-sample {slow * 1e3:.1f} ms"


# ---------------------------------------------------------------------------------- collate


def test_collate_numbers_like_torch():
    floats = default_collate([1.5, 2.5])
    assert floats.dtype == nb.float64 and floats.tolist() == [1.5, 2.5]  # torch: float64 for Python floats
    ints = default_collate([1, 2])
    assert ints.dtype == nb.int64
    bools = default_collate([True, False])
    assert bools.dtype == nb.bool and bools.tolist() == [True, False]
    np_scalars = default_collate([np.float32(1), np.float32(2)])
    assert np_scalars.dtype == nb.float32
    assert default_collate([np.int16(1), np.int16(2)]).dtype == nb.int16


def test_collate_numpy_arrays_and_tensors():
    out = default_collate([np.zeros((2, 3), np.float32), np.ones((2, 3), np.float32)])
    assert isinstance(out, nb.Tensor) and out.shape == (2, 2, 3) and out.dtype == nb.float32
    t = default_collate([nb.tensor([1.0, 2.0]), nb.tensor([3.0, 4.0])])
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_collate_tuples_dicts_namedtuples_strings():
    batch = [({"x": np.array([1.0]), "name": "a"}, 0), ({"x": np.array([2.0]), "name": "b"}, 1)]
    out = default_collate(batch)
    assert isinstance(out, list) and len(out) == 2  # tuples collate to a list, as in torch
    assert out[0]["name"] == ["a", "b"] and out[0]["x"].tolist() == [[1.0], [2.0]]
    assert out[1].tolist() == [0, 1]
    Point = collections.namedtuple("Point", "x y")
    p = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(p, Point) and p.x.tolist() == [1, 3] and p.y.dtype == nb.float64
    od = default_collate([collections.OrderedDict(a=1), collections.OrderedDict(a=2)])
    assert isinstance(od, collections.OrderedDict) and od["a"].tolist() == [1, 2]


def test_collate_errors():
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(
        RuntimeError, match=r"stack expects each tensor to be equal size, but got shapes \[\(2,\), \(3,\)\]"
    ):
        default_collate([nb.zeros(2), nb.zeros(3)])
    with pytest.raises(RuntimeError, match="numpy arrays of equal shape"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(TypeError, match="batch must contain tensors, numpy arrays, numbers.*found object"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="numpy array of dtype <U1"):
        default_collate([np.array(["a"]), np.array(["b"])])


def test_collate_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate

    samples = [
        [1.5, 2.0],
        [1, 2],
        [True, False],
        [np.float32(1.0), np.float32(2.0)],
        [np.array([1, 2], dtype=np.int32), np.array([3, 4], dtype=np.int32)],
        [(1, 2.0), (3, 4.0)],
        [{"a": 1.0, "b": np.ones(2, np.float32)}, {"a": 2.0, "b": np.zeros(2, np.float32)}],
    ]

    def compare(ours, theirs):
        if isinstance(theirs, torch.Tensor):
            assert isinstance(ours, nb.Tensor)
            assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (ours.dtype, theirs.dtype)
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        elif isinstance(theirs, dict):
            assert type(ours) is type(theirs) and ours.keys() == theirs.keys()
            for k in theirs:
                compare(ours[k], theirs[k])
        else:
            assert type(ours) is type(theirs) and len(ours) == len(theirs)
            for o, t in zip(ours, theirs):
                compare(o, t)

    for batch in samples:
        compare(default_collate(batch), torch_collate(batch))


def test_default_convert():
    out = default_convert({"a": np.arange(3), "b": (np.float32(1.0), "s")})
    assert isinstance(out["a"], nb.Tensor) and out["b"][1] == "s" and out["b"][0].dtype == nb.float32
    assert default_convert(3) == 3


def test_collate_fn_is_called_with_the_samples():
    seen = []

    def collate(batch):
        seen.append(batch)
        return len(batch)

    ds = Items(["a", "b", "c"])
    assert list(DataLoader(ds, batch_size=2, collate_fn=collate)) == [2, 1]
    assert seen == [["a", "b"], ["c"]]
