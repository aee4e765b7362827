"""Dataset, TensorDataset, ConcatDataset, Subset, random_split and the samplers."""

from __future__ import annotations

import numpy as np
import pytest

import nbgrad as nb
from nbgrad.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    random_split,
)


class Range(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i


class Stream(IterableDataset):
    def __init__(self, items):
        self.items = items

    def __iter__(self):
        return iter(self.items)


# ------------------------------------------------------------------------------------ datasets


def test_utils_data_is_an_alias_of_data():
    import nbgrad.data
    import nbgrad.utils.data as torch_style

    assert torch_style.DataLoader is nbgrad.data.DataLoader
    assert torch_style.datasets is nbgrad.data.datasets
    from nbgrad.utils.data import TensorDataset as T

    assert T is TensorDataset


def test_dataset_base_requires_getitem():
    with pytest.raises(NotImplementedError, match="Dataset subclass must define __getitem__"):
        Dataset()[0]


def test_dataset_add_concatenates():
    ds = Range(3) + Range(2)
    assert isinstance(ds, ConcatDataset)
    assert [ds[i] for i in range(len(ds))] == [0, 1, 2, 0, 1]
    assert list(ds) == [0, 1, 2, 0, 1]


def test_concat_dataset_indices_and_errors():
    ds = ConcatDataset([[10, 11], [], [12, 13, 14]])
    assert len(ds) == 5 and ds.cumulative_sizes == [2, 2, 5]
    assert [ds[i] for i in range(5)] == [10, 11, 12, 13, 14]
    assert ds[-1] == 14 and ds[-5] == 10
    with pytest.raises(IndexError, match="index 5 is out of range for a dataset of length 5"):
        ds[5]
    with pytest.raises(IndexError, match="index -6 is out of range"):
        ds[-6]
    with pytest.raises(ValueError, match="should not be an empty iterable"):
        ConcatDataset([])
    with pytest.raises(TypeError, match="does not support IterableDataset"):
        ConcatDataset([Range(2), Stream([1])])


def test_iterable_dataset_chain_and_no_indexing():
    chained = Stream([1, 2]) + Stream([3])
    assert isinstance(chained, ChainDataset)
    assert list(chained) == [1, 2, 3]
    with pytest.raises(TypeError, match="is iterated, not indexed"):
        Stream([1])[0]


def test_tensor_dataset_items_and_numpy(device):
    x = nb.arange(12, dtype=nb.float32, device=device).reshape(4, 3)
    y = np.array([0, 1, 0, 1])
    ds = TensorDataset(x, y)
    assert len(ds) == 4
    xi, yi = ds[2]
    np.testing.assert_array_equal(xi.cpu().numpy(), [6, 7, 8])
    assert isinstance(yi, nb.Tensor) and yi.item() == 0 and yi.dtype == nb.int64
    assert isinstance(ds.tensors[1], nb.Tensor)


def test_tensor_dataset_numpy_shares_memory_and_keeps_dtype():
    a = np.zeros((3, 2), dtype=np.float64)
    ds = TensorDataset(a)
    a[0, 0] = 5.0
    assert ds[0][0].dtype == nb.float64 and ds[0][0][0].item() == 5.0


def test_tensor_dataset_errors():
    with pytest.raises(
        ValueError,
        match=r"size mismatch between tensors: first dimensions \[3, 2\] "
        r"\(shapes \(3, 4\), \(2,\)\)",
    ):
        TensorDataset(nb.zeros(3, 4), nb.zeros(2))
    with pytest.raises(TypeError, match="argument 1 must be a Tensor or a NumPy array, got list"):
        TensorDataset(nb.zeros(2), [1, 2])
    with pytest.raises(ValueError, match="argument 0 is 0-dimensional"):
        TensorDataset(nb.tensor(1.0))
    with pytest.raises(ValueError, match="at least one tensor"):
        TensorDataset()


def test_subset():
    s = Subset(Range(10), [9, 2, 5])
    assert len(s) == 3 and [s[i] for i in range(3)] == [9, 2, 5]
    listed = Subset(["a", "b", "c"], [2, 0])
    assert listed[1] == "a"


def test_subset_list_index_goes_to_the_dataset():
    class ListIndexed(Dataset):
        def __getitem__(self, idx):
            return ("batch", idx)

        def __len__(self):
            return 10

    assert Subset(ListIndexed(), [4, 5, 6])[[0, 2]] == ("batch", [4, 6])


# -------------------------------------------------------------------------------- random_split


def test_random_split_lengths_disjoint_and_complete():
    parts = random_split(Range(10), [3, 7], generator=0)
    assert [len(p) for p in parts] == [3, 7]
    seen = [p[i] for p in parts for i in range(len(p))]
    assert sorted(seen) == list(range(10))


def test_random_split_fractions_like_torch():
    parts = random_split(Range(10), [0.5, 0.3, 0.2], generator=0)
    assert [len(p) for p in parts] == [5, 3, 2]
    # floor(7 * f) = [2, 2, 1], remainder 2 goes to splits 0 and 1 (torch's rule)
    assert [len(p) for p in random_split(Range(7), [0.4, 0.4, 0.2], generator=0)] == [3, 3, 1]
    torch = pytest.importorskip("torch")
    ours = [len(p) for p in random_split(Range(11), [0.33, 0.33, 0.34], generator=0)]
    theirs = [len(p) for p in torch.utils.data.random_split(range(11), [0.33, 0.33, 0.34])]
    assert ours == theirs


def test_random_split_zero_length_warns():
    with pytest.warns(UserWarning, match="length of split at index 1 is 0"):
        random_split(Range(1), [0.5, 0.5], generator=0)


def test_random_split_determinism():
    a = random_split(Range(20), [10, 10], generator=3)[0].indices
    b = random_split(Range(20), [10, 10], generator=3)[0].indices
    c = random_split(Range(20), [10, 10], generator=4)[0].indices
    assert a == b and a != c
    nb.manual_seed(1)
    d = random_split(Range(20), [10, 10])[0].indices
    nb.manual_seed(1)
    assert random_split(Range(20), [10, 10])[0].indices == d
    rng = np.random.default_rng(7)
    assert (
        random_split(Range(20), [10, 10], generator=rng)[0].indices
        == random_split(Range(20), [10, 10], generator=np.random.default_rng(7))[0].indices
    )


def test_random_split_errors():
    with pytest.raises(
        ValueError,
        match=r"sum of input lengths \(9\) does not equal the length of the input "
        r"dataset \(10\)",
    ):
        random_split(Range(10), [4, 5])
    with pytest.raises(ValueError, match="must be non-negative ints"):
        random_split(Range(10), [12, -2])
    with pytest.raises(TypeError, match="generator must be None .* got str"):
        random_split(Range(10), [5, 5], generator="seed")


# ------------------------------------------------------------------------------------ samplers


def test_sequential_and_batch_sampler():
    assert list(SequentialSampler(Range(4))) == [0, 1, 2, 3]
    bs = BatchSampler(SequentialSampler(Range(7)), 3, drop_last=False)
    assert list(bs) == [[0, 1, 2], [3, 4, 5], [6]] and len(bs) == 3
    bs = BatchSampler(SequentialSampler(Range(7)), 3, drop_last=True)
    assert list(bs) == [[0, 1, 2], [3, 4, 5]] and len(bs) == 2
    with pytest.raises(ValueError, match="batch_size should be a positive integer value, but got batch_size=0"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean value"):
        BatchSampler(range(3), 2, 1)


def test_random_sampler_permutation_and_epochs():
    s = RandomSampler(Range(50), generator=0)
    first, second = list(s), list(s)
    assert sorted(first) == list(range(50)) and first != second  # a new order each epoch
    again = RandomSampler(Range(50), generator=0)
    assert list(again) == first and list(again) == second  # the int seed makes the run repeat


def test_random_sampler_global_seed():
    nb.manual_seed(5)
    a = list(RandomSampler(Range(30)))
    nb.manual_seed(5)
    assert list(RandomSampler(Range(30))) == a
    nb.manual_seed(6)
    assert list(RandomSampler(Range(30))) != a


def test_random_sampler_num_samples_and_replacement():
    s = RandomSampler(Range(4), num_samples=10, generator=0)
    out = list(s)
    assert len(s) == 10 and len(out) == 10
    assert sorted(out[:4]) == [0, 1, 2, 3] and sorted(out[4:8]) == [0, 1, 2, 3]
    r = list(RandomSampler(Range(3), replacement=True, num_samples=100, generator=0))
    assert len(r) == 100 and set(r) == {0, 1, 2}
    with pytest.raises(ValueError, match="num_samples should be a positive integer value, but got num_samples=0"):
        RandomSampler(Range(3), num_samples=0)
    with pytest.raises(TypeError, match="replacement should be a boolean value"):
        RandomSampler(Range(3), replacement=1)


def test_subset_random_and_weighted_samplers():
    assert sorted(SubsetRandomSampler([5, 1, 9], generator=0)) == [1, 5, 9]
    draws = list(WeightedRandomSampler([0.0, 0.0, 3.0, 1.0], 400, generator=0))
    counts = np.bincount(draws, minlength=4)
    assert counts[0] == counts[1] == 0 and 250 < counts[2] < 350
    assert sorted(WeightedRandomSampler([1.0, 1.0, 1.0], 3, replacement=False, generator=0)) == [0, 1, 2]
    with pytest.raises(ValueError, match="non-negative and not all zero"):
        WeightedRandomSampler([0.0, -1.0], 2)
    with pytest.raises(ValueError, match="cannot draw 3 samples without replacement from 2 non-zero weights"):
        WeightedRandomSampler([1.0, 0.0, 1.0], 3, replacement=False)
