"""HTML views of optimizers, datasets and data loaders (and the shared table helpers)."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import nbgrad as nb
from nbgrad import nn
from nbgrad.data import DataLoader, Dataset, IterableDataset, TensorDataset
from nbgrad.display import table as tb


def _text(html: str) -> str:
    return " ".join("".join(ET.fromstring(f"<root>{html}</root>").itertext()).split())


def _rows(html: str) -> list:
    root = ET.fromstring(f"<root>{html}</root>")
    return [[" ".join("".join(td.itertext()).split()) for td in tr.findall("td")] for tr in root.iter("tr")]


# ----------------------------------------------------------------- optimizer
def test_optimizer_groups_hyperparameters_state_and_steps():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    opt = nb.optim.Adam(
        [{"params": model[0].parameters()}, {"params": model[1].parameters(), "lr": 0.1}], lr=1e-3, betas=(0.8, 0.9)
    )
    bundle = opt._repr_mimebundle_()
    assert bundle["text/plain"] == repr(opt)
    text = _text(bundle["text/html"])
    assert "Adam · 2 groups · 4 params (26 elements) · state 0 B · not stepped yet" in text
    rows = _rows(bundle["text/html"])
    assert rows[1][:5] == ["0", "2", "16", "0.001", "(0.8, 0.9)"]
    assert rows[2][:5] == ["1", "2", "10", "0.1", "(0.8, 0.9)"]
    for _ in range(3):
        model(nb.randn(2, 3)).sum().backward()
        opt.step()
    state_bytes = sum(v.numpy().nbytes for s in opt.state.values() for v in s.values() if hasattr(v, "numpy"))
    html = opt._repr_mimebundle_()["text/html"]
    assert f"state {tb.nbytes(state_bytes)} · step 3" in _text(html)
    assert ["exp_avg", "4", tb.nbytes(26 * 4)] in _rows(html)
    assert html == opt._repr_mimebundle_()["text/html"]


def test_optimizer_without_step_state_and_with_names():
    model = nn.Linear(2, 2)
    opt = nb.optim.SGD(model.named_parameters(), lr=0.5)
    model(nb.ones(1, 2)).sum().backward()
    opt.step()
    html = opt._repr_mimebundle_()["text/html"]
    assert "no step count in its state" in _text(html)
    assert _rows(html)[1][-1] == "weight, bias"


# ----------------------------------------------------------------- datasets and loaders
class Squares(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        # A random transform: displaying must not advance any generator.
        noise = nb.rand(1).item() + np.random.rand() + random.random()
        return {"x": np.full((2, 3), i, np.float32), "label": i, "noise": noise, "name": f"item{i}"}


def test_dataset_view_shows_structure_and_leaves_random_state_alone():
    ds = Squares()
    nb.manual_seed(5)
    np.random.seed(5)
    random.seed(5)
    bundle = ds._repr_mimebundle_()
    after = (nb.rand(1).item(), np.random.rand(), random.random())
    nb.manual_seed(5)
    np.random.seed(5)
    random.seed(5)
    assert after == (nb.rand(1).item(), np.random.rand(), random.random())
    assert bundle["text/plain"] == "Squares(5 samples)"
    rows = _rows(bundle["text/html"])
    assert ["['x']", "ndarray", "(2, 3)", "float32", "[[0., 0., 0.], [0., 0., 0.]]"] in rows
    assert ["['label']", "int", "()", "int64", "0"] in rows
    assert ["['name']", "str", "", "", "'item0'"] in rows
    assert "Squares · 5 samples" in _text(bundle["text/html"])


def test_loader_view_batches_and_predicted_batch_shapes():
    ds = TensorDataset(nb.randn(10, 1, 4, 4), nb.arange(10))
    loader = DataLoader(ds, batch_size=4, shuffle=True, generator=0)
    first = [y.tolist() for _, y in loader]
    loader = DataLoader(ds, batch_size=4, shuffle=True, generator=0)
    bundle = loader._repr_mimebundle_()
    assert [y.tolist() for _, y in loader] == first  # displaying did not consume the shuffle
    text = _text(bundle["text/html"])
    assert "DataLoader · 3 batches of 4 · shuffle=True · drop_last=False · last batch 2" in text
    assert "RandomSampler" in text and "TensorDataset · 10 samples" in text
    rows = _rows(bundle["text/html"])
    assert ["[0]", "Tensor", "(1, 4, 4)", "float32", "", "(4, 1, 4, 4)"] in rows
    assert ["[1]", "Tensor", "()", "int64", "0", "(4,)"] in rows
    assert "<img" in bundle["text/html"]  # a (1, H, W) sample gets a thumbnail
    assert bundle["text/plain"] == (
        "DataLoader(3 batches of 4, shuffle=True, drop_last=False, dataset=TensorDataset(10 samples))"
    )
    assert bundle == loader._repr_mimebundle_()


def test_loader_of_iterable_and_failing_datasets():
    class Stream(IterableDataset):
        def __iter__(self):
            raise AssertionError("the view must not iterate a stream")

    html = DataLoader(Stream(), batch_size=2)._repr_mimebundle_()["text/html"]
    assert "iterable dataset: not drawn from" in _text(html) and "? batches" in _text(html)

    class Broken(Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            raise KeyError("no files")

    html = DataLoader(Broken(), batch_size=2, drop_last=True)._repr_mimebundle_()["text/html"]
    assert "dataset[0] raised KeyError" in _text(html) and "last batch" not in _text(html)


def test_bundled_digits_view():
    loader = DataLoader(nb.data.datasets.Digits(), batch_size=16)
    text = _text(loader._repr_mimebundle_()["text/html"])
    assert "90 batches of 16" in text and "Digits" in text


# ----------------------------------------------------------------- helpers
@pytest.mark.parametrize(
    "n, text",
    [(0, "0 B"), (1023, "1023 B"), (1024, "1 KiB"), (1536, "1.5 KiB"), (5 * 2**20, "5 MiB"), (300 * 2**30, "300 GiB")],
)
def test_nbytes(n, text):
    assert tb.nbytes(n) == text


def test_table_escapes_nothing_itself_and_marks_counts():
    html = tb.table(["a", "b"], [[tb.count(0), tb.count(3)], ([tb.num(None), tb.num(float("nan"))], tb.BAD_BG)])
    rows = _rows(html)
    assert rows[1:] == [["0", "3"], ["—", "nan"]]
