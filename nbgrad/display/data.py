"""HTML views of a ``Dataset`` and a ``DataLoader``: length, batching, and what one sample looks like.

The sample is ``dataset[0]``: drawing it never iterates the loader (whose
shuffling would advance), and the random generators a transform may draw
from (nbgrad's, NumPy's global one, Python's ``random``) are restored
afterwards, so displaying a loader leaves a seeded run unchanged. Iterable
datasets are not drawn from (a stream may not be restartable).
"""

from __future__ import annotations

import random as _py_random

import numpy as np

from nbgrad import backend
from nbgrad.display import html
from nbgrad.display import table as tb

# Largest side (pixels of data) of a sample drawn as a thumbnail.
MAX_THUMBNAIL = 128


def _length(obj) -> "int | None":
    try:
        return len(obj)
    except TypeError:  # an iterable dataset without __len__
        return None


def _first_sample(dataset):
    """``(sample, None)`` or ``(None, reason)``, with every random generator left as it was."""
    from nbgrad import random as nb_random
    from nbgrad.data.dataset import IterableDataset

    if isinstance(dataset, IterableDataset):
        return None, "iterable dataset: not drawn from"
    if _length(dataset) == 0:
        return None, "empty dataset"
    gen = nb_random._cpu_generator
    saved = (gen, gen.bit_generator.state if gen is not None else None, np.random.get_state(), _py_random.getstate())
    try:
        return dataset[0], None
    except Exception as exc:  # the view must not raise: show why there is no sample
        return None, f"dataset[0] raised {type(exc).__name__}: {exc}"
    finally:
        gen, state, np_state, py_state = saved
        if gen is not None:
            gen.bit_generator.state = state
        nb_random._cpu_generator = gen  # a generator made by the draw is dropped: the next one starts as before
        np.random.set_state(np_state)
        _py_random.setstate(py_state)


def _leaves(value, prefix: str = ""):
    """``(position label, value)`` for each element of a sample (tuples, lists and dicts opened)."""
    if isinstance(value, (tuple, list)) and not hasattr(value, "shape"):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{prefix}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, f"{prefix}[{k!r}]")
    else:
        yield prefix or "sample", value


def _describe(value) -> tuple:
    """``(type, shape, dtype, value preview)`` of one element of a sample."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        kind = type(value).__name__
        shape = tuple(int(n) for n in value.shape)
        preview = ""
        if int(np.prod(shape, dtype=np.int64)) <= 6:
            preview = np.array2string(backend.to_numpy(getattr(value, "_data", value)), precision=4, separator=", ")
        return kind, shape, str(value.dtype), preview
    if isinstance(value, bool):
        return "bool", (), "bool", repr(value)
    if isinstance(value, (int, np.integer)):
        return type(value).__name__, (), "int64", repr(int(value))
    if isinstance(value, (float, np.floating)):
        return type(value).__name__, (), "float64", tb.fmt(float(value))
    text = repr(value)
    return type(value).__name__, None, "", text if len(text) <= 40 else text[:39] + "…"


def _batch_shape(value, batch: int):
    """The shape ``default_collate`` gives a batch of such elements (None when it keeps a list)."""
    if hasattr(value, "shape"):
        return (batch, *(int(n) for n in value.shape))
    if isinstance(value, (bool, int, float, np.number, np.bool_)):
        return (batch,)
    return None


def _thumbnail(value) -> str:
    """A small grayscale/RGB picture of an image-shaped sample ((H, W), (1, H, W) or (3, H, W)), else ""."""
    if not (hasattr(value, "shape") and hasattr(value, "dtype")) or value.dtype.kind not in "fiub":
        return ""
    shape = tuple(value.shape)
    if len(shape) == 3 and shape[0] in (1, 3):
        c, h, w = shape
    elif len(shape) == 2:
        (h, w), c = shape, 1
    else:
        return ""
    if max(h, w) > MAX_THUMBNAIL or min(h, w) < 2:
        return ""
    a = backend.to_numpy(getattr(value, "_data", value)).astype(np.float64).reshape(c, h, w)
    finite = a[np.isfinite(a)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    scaled = np.nan_to_num((a - lo) / (hi - lo) if hi > lo else np.zeros_like(a))
    pixels = np.rint(np.clip(scaled, 0, 1) * 255).astype(np.uint8)
    pixels = pixels[0] if c == 1 else pixels.transpose(1, 2, 0)
    width, height = html.display_size(h, w, longest=64, cell=8)
    return html.img(html.png(pixels), width, height, title=f"sample image {h}x{w}, scaled from [{lo:g}, {hi:g}]")


def _sample_html(dataset, batch_size=None) -> str:
    sample, reason = _first_sample(dataset)
    if reason is not None:
        return f'<div style="{tb.MUTED}">sample: {html.escape(reason)}</div>'
    header = ["dataset[0]", "type", "shape", "dtype", "value"]
    if batch_size is not None:
        header.append(f"batch of {batch_size}")
    rows, thumb = [], ""
    for label, value in _leaves(sample):
        kind, shape, dtype, preview = _describe(value)
        cells = [
            tb.Cell(html.escape(label)),
            tb.Cell(html.escape(kind)),
            tb.Cell("" if shape is None else html.escape(str(shape))),
            tb.Cell(html.escape(dtype)),
            tb.Cell(html.escape(preview)),
        ]
        if batch_size is not None:
            b = _batch_shape(value, batch_size)
            cells.append(tb.Cell(html.escape(str(b)) if b is not None else f"list of {batch_size}"))
        rows.append(cells)
        thumb = thumb or _thumbnail(value)
    table = tb.table(header, rows)
    if thumb:
        return f'<div style="display: flex; gap: 12px; align-items: flex-start">{table}{thumb}</div>'
    return table


def _dataset_line(dataset) -> str:
    n = _length(dataset)
    size = "length unknown" if n is None else f"{tb.grouped(n)} samples"
    return f"<b>{html.escape(type(dataset).__name__)}</b> · {size}"


def _short(dataset) -> str:
    n = _length(dataset)
    return f"{type(dataset).__name__}({'length unknown' if n is None else f'{n} samples'})"


def dataset_text(dataset) -> str:
    """The dataset's own repr when its class defines one, else ``TypeName(N samples)`` (no memory address)."""
    return repr(dataset) if type(dataset).__repr__ is not object.__repr__ else _short(dataset)


def dataset_html(dataset) -> str:
    """Type, length and the first sample's structure (shapes, dtypes, a thumbnail for images)."""
    return tb.frame(_dataset_line(dataset), _sample_html(dataset))


def dataset_mimebundle(dataset) -> dict:
    return tb.bundle(dataset_text(dataset), lambda: dataset_html(dataset))


def loader_text(loader) -> str:
    """One line: the loader's batching and its dataset."""
    n = _length(loader)
    batches = "unknown number of" if n is None else str(n)
    return (
        f"DataLoader({batches} batches of {loader.batch_size}, shuffle={_shuffles(loader)}, "
        f"drop_last={loader.drop_last}, dataset={_short(loader.dataset)})"
    )


def _shuffles(loader) -> bool:
    from nbgrad.data.sampler import RandomSampler

    return isinstance(loader.sampler, RandomSampler)


def loader_html(loader) -> str:
    """Batching (size, count, shuffle, drop_last, sampler, collate), the dataset, and one sample."""
    from nbgrad.data.dataloader import default_collate

    n = _length(loader)
    bs = loader.batch_size
    n_samples = _length(loader.dataset)
    facts = [f"shuffle={_shuffles(loader)}", f"drop_last={loader.drop_last}"]
    if bs is not None and n_samples is not None and n_samples % bs and not loader.drop_last:
        facts.append(f"last batch {n_samples % bs}")
    if loader.sampler is not None:
        facts.append(html.escape(type(loader.sampler).__name__))
    collate = loader.collate_fn
    facts.append("collate_fn=" + html.escape(getattr(collate, "__name__", type(collate).__name__)))
    title = (
        f"<b>DataLoader</b> · {'?' if n is None else tb.grouped(n)} batches of {html.escape(str(bs))} · "
        + " · ".join(facts)
    )
    dataset = f'<div style="margin: 2px 0">dataset: {_dataset_line(loader.dataset)}</div>'
    sample = _sample_html(loader.dataset, bs if collate is default_collate else None)
    return tb.frame(title, dataset + sample)


def loader_mimebundle(loader) -> dict:
    return tb.bundle(loader_text(loader), lambda: loader_html(loader))
