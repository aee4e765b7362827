"""matplotlib helpers: heatmaps and images, histograms, image grids, training curves.

Each function returns a :class:`matplotlib.figure.Figure` made without pyplot:
the figure is not registered in pyplot's global list, so nothing accumulates
across calls and a notebook shows it exactly once, as the cell's result (or
with ``display(fig)``); ``fig.savefig(path)`` writes it. Pass ``ax=`` to draw
into axes of your own (pyplot's included): the function then returns
``ax.figure``.

matplotlib is imported on first use. Tensors may live on the GPU: their
statistics are reduced on the device and only a bounded, downsampled view
crosses to the host. Colours match the HTML views: the same maps, a diverging
map centred on zero for signed data, and NaN, +Inf and -Inf in their own colours.
"""

from __future__ import annotations

import math

import numpy as np

from nbgrad import backend
from nbgrad.display import html, stats

# Largest side drawn by imshow, and per image by show_images (a screen shows no more).
MAX_SIDE = 1024
MAX_GRID_SIDE = 256
MAX_IMAGES = 64
SAMPLE_SIZE = 1_000_000

# matplotlib's diverging maps (centred on zero like ours).
_MPL_DIVERGING = frozenset(
    {"RdBu_r", "coolwarm", "bwr", "seismic", "PiYG", "PRGn", "BrBG", "PuOr", "RdGy", "RdYlBu", "RdYlGn", "Spectral"}
)
# Prefixes and suffixes naming the split of a metric: train_loss, val_loss and loss share a panel.
_SPLITS = ("train", "training", "val", "valid", "validation", "test", "eval")
_STEP_KEYS = ("epoch", "step", "iteration")


def imshow(t, ax=None, cmap: "str | None" = None, title: "str | None" = None):
    """Draw a 2-D tensor as a heatmap, or a ``(C, H, W)`` tensor as an image.

    A 2-D tensor uses a diverging colour map centred on zero (``nb.display.options.cmap``
    by default) with a colour bar; NaN, +Inf and -Inf show in their own colours.
    ``(1, H, W)`` draws in grey, ``(3, H, W)``/``(4, H, W)`` as RGB(A) (floats in
    ``[0, 1]`` or integers in ``[0, 255]`` as they are, other ranges scaled to fit).
    A side longer than 1024 is downsampled on the tensor's device (block means).

    Args:
        t: a Tensor, or a NumPy/CuPy array.
        ax: axes to draw into (default: a new figure).
        cmap: colour map: ``"RdBu"``, ``"coolwarm"``, ``"viridis"``, ``"gray"`` or a matplotlib name.
        title: the axes' title (default: the shape and dtype).

    Returns:
        the :class:`~matplotlib.figure.Figure`.

    Shape:
        ``(H, W)``, ``(C, H, W)`` with ``C`` in 1, 3, 4, or ``(H, W, C)`` with ``C`` in 3, 4;
        leading axes of size one are dropped.

    Example::

        >>> import nbgrad as nb
        >>> fig = imshow(nb.randn(8, 8))
        >>> [a.get_label() for a in fig.axes]
        ['', '<colorbar>']
    """
    a = _array(t)
    shape, dtype = tuple(a.shape), a.dtype
    while a.ndim > 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 3 and a.shape[0] in (1, 3, 4):
        a = a.transpose(1, 2, 0)
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (1, 3, 4))):
        raise ValueError(f"imshow: expected (H, W), (C, H, W) or (H, W, C) data with C in 1, 3, 4; got shape {shape}")
    image = a.ndim == 3  # (1, H, W) included: drawn in grey, not as a signed heatmap
    if image and a.shape[2] == 1:
        a = a[..., 0]
    view = _shrink(a, MAX_SIDE)
    fig, ax = _figure_and_axes(ax, _size_for(view.shape))
    ax.set_title(title if title is not None else f"{_shape_text(shape)} {dtype}")
    if image:
        _draw_image(ax, view, cmap)
        return fig
    lo, hi = _finite_range(view)
    name = cmap or _options_cmap()
    lo, hi = _centred(lo, hi, name)
    mappable = ax.imshow(_as_float(view), cmap=_colormap(name), vmin=lo, vmax=hi, interpolation="nearest")
    fig.colorbar(mappable, ax=ax)
    return fig


def hist(t, bins: int = 50, ax=None, title: "str | None" = None):
    """Histogram of a tensor's finite values, with NaN/Inf counts and the statistics in the title.

    The statistics are computed on the tensor's device over all of it; the bars
    come from a strided sample of at most a million elements (said on the y axis).

    Args:
        t: a Tensor, or a NumPy/CuPy array.
        bins: number of bins (integers over a short range get one bin per value).
        ax: axes to draw into (default: a new figure).
        title: the axes' title (default: shape, dtype, mean and std).

    Returns:
        the :class:`~matplotlib.figure.Figure`.

    Example::

        >>> import nbgrad as nb
        >>> fig = hist(nb.randn(1000), bins=20)
        >>> int(fig.axes[0].patches[0].get_data()[0].sum())
        1000
    """
    a = _array(t)
    s = stats.tensor_stats(a)
    values = stats.sample(a, SAMPLE_SIZE)
    counts, edges = stats.histogram(values, bins=bins) if s.finite else (np.zeros(1), np.array([0.0, 1.0]))
    fig, ax = _figure_and_axes(ax, (6.0, 3.2))
    ax.stairs(counts, edges, fill=True, color="#4878a8", alpha=0.85)
    ax.set_ylabel("count" if values.size == s.numel else f"count (sample of {values.size:,})")
    if title is None:
        title = f"{_shape_text(s.shape)} {s.dtype}"
        if s.mean is not None:
            title += f"  mean={s.mean:.4g}" + (f" std={s.std:.4g}" if s.std is not None else "")
    specials = [(n, label) for n, label in ((s.nan, "NaN"), (s.posinf, "+Inf"), (s.neginf, "-Inf")) if n]
    if specials:
        title += "  (" + ", ".join(f"{n:,} {label}" for n, label in specials) + " not drawn)"
    ax.set_title(title)
    return fig


def show_images(batch, labels=None, ncols: int = 8, cmap: "str | None" = None, title: "str | None" = None):
    """A grid of images, each with its label.

    At most the first 64 images are drawn (and moved to the host); larger
    images are downsampled on the device to 256 pixels a side. One-channel
    images draw in grey (each on its own range); RGB floats in ``[0, 1]`` or
    integers in ``[0, 255]`` draw as they are, other ranges scaled per image.

    Args:
        batch: a Tensor or array of shape ``(N, C, H, W)`` (C in 1, 3, 4), ``(N, H, W)`` or ``(N, H, W, C)``.
        labels: one label per image (ints, strings or a 1-D tensor), shown above each.
        ncols: images per row.
        cmap: colour map of one-channel images (default ``nb.display.options.image_cmap``).
        title: the figure's title.

    Returns:
        the :class:`~matplotlib.figure.Figure`.

    Example::

        >>> import nbgrad as nb
        >>> fig = show_images(nb.rand(10, 1, 8, 8), labels=list(range(10)), ncols=5)
        >>> len(fig.axes), fig.axes[3].get_title()
        (10, '3')
    """
    a = _array(batch)
    if a.ndim == 4 and a.shape[1] in (1, 3, 4) and a.shape[3] not in (3, 4):
        a = a.transpose(0, 2, 3, 1)
    if not (a.ndim == 3 or (a.ndim == 4 and a.shape[3] in (1, 3, 4))):
        raise ValueError(f"show_images: expected (N, C, H, W), (N, H, W) or (N, H, W, C) data; got shape {a.shape}")
    n_total = int(a.shape[0])
    a = a[:MAX_IMAGES]
    if a.ndim == 4 and a.shape[3] == 1:
        a = a[..., 0]
    names = _labels(labels, n_total)
    images = _shrink(a, MAX_GRID_SIDE, axes=(1, 2))
    n = int(images.shape[0])
    if n == 0:
        raise ValueError("show_images: the batch is empty")
    ncols = max(1, min(int(ncols), n))
    nrows = math.ceil(n / ncols)
    fig = _new_figure((1.6 * ncols, 1.75 * nrows + (0.3 if title else 0.0)))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i < n:
            _draw_image(ax, images[i], cmap)
            if names is not None:
                ax.set_title(names[i], fontsize=9)
    if n < n_total:
        title = (f"{title}  " if title else "") + f"(first {n} of {n_total})"
    if title:
        fig.suptitle(title)
    return fig


def plot_history(history, title: "str | None" = None):
    """Training curves, one panel per metric: ``loss`` and ``val_loss`` share a panel.

    Args:
        history: a dict of lists (``{"loss": [...], "val_loss": [...], "acc": [...]}``) or a list
            of dicts, one per epoch or step (missing entries are gaps). A key ``epoch``, ``step`` or
            ``iteration`` gives the x values. Values may be numbers or 0-d tensors.
        title: the figure's title.

    Returns:
        the :class:`~matplotlib.figure.Figure`, one axes per metric.

    Example::

        >>> fig = plot_history({"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.6], "acc": [0.5, 0.8, 0.9]})
        >>> [ax.get_title() for ax in fig.axes]
        ['loss', 'acc']
    """
    columns = _columns(history)
    x_key = next((k for k in _STEP_KEYS if k in columns), None)
    x_values = columns.pop(x_key) if x_key else None
    if not columns:
        raise ValueError("plot_history: no metric to plot")
    groups: dict[str, list[str]] = {}
    for key in columns:
        groups.setdefault(_metric_name(key), []).append(key)
    fig = _new_figure((min(4.2 * len(groups), 14.0), 3.2))
    axes = fig.subplots(1, len(groups), squeeze=False)[0]
    longest = max(len(y) for y in columns.values())
    for ax, (metric, keys) in zip(axes, groups.items()):
        for key in keys:
            y = columns[key]
            ax.plot(_x_for(y, x_values, longest), y, marker="." if len(y) <= 50 else None, label=key)
        ax.set_title(metric)
        ax.set_xlabel(x_key or ("epoch" if all(len(y) == longest for y in columns.values()) else "step"))
        ax.grid(True, alpha=0.3)
        if len(keys) > 1:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------ helpers
def _array(t):
    """The NumPy/CuPy array behind a Tensor (no graph, no copy), or an array made from a list."""
    a = getattr(t, "_data", t)
    if not hasattr(a, "__array_namespace__") and not isinstance(a, np.ndarray):
        a = np.asarray(a)
    return a


def _shrink(a, side: int, axes: "tuple | None" = None) -> np.ndarray:
    """Downsample the image axes (default: the first two) on the device to at most ``side``; host copy."""
    how = "mean" if a.dtype.kind == "f" else "nearest"
    for axis in axes or (0, 1):
        if a.shape[axis] > side:
            a = stats.block_reduce(a, axis, side, how)
    return backend.to_numpy(a)


def _as_float(view: np.ndarray) -> np.ndarray:
    return view if view.dtype in (np.float32, np.float64) else view.astype(np.float64)


def _finite_range(view: np.ndarray) -> tuple:
    v = _as_float(view)
    finite = v[np.isfinite(v)] if v.dtype.kind == "f" else v
    if finite.size == 0:
        return 0.0, 1.0
    return float(finite.min()), float(finite.max())


def _centred(lo: float, hi: float, name: str) -> tuple:
    if name in html.DIVERGING or name in _MPL_DIVERGING:
        m = max(abs(lo), abs(hi)) or 1.0
        return -m, m
    return (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)


def _options_cmap(image: bool = False) -> str:
    from nbgrad.display.options import options

    return options.image_cmap if image else options.cmap


def _colormap(name: str):
    """A matplotlib colour map: ours (the HTML views' tables) by name, else matplotlib's; NaN/Inf colours set."""
    import matplotlib
    from matplotlib.colors import ListedColormap

    if name in html.COLORMAPS:
        base = ListedColormap(html.colormap(name) / 255.0, name=name)
    else:
        base = matplotlib.colormaps[name]
    return base.with_extremes(bad=html.NAN_COLOR, over=html.POSINF_COLOR, under=html.NEGINF_COLOR)


def _draw_image(ax, view: np.ndarray, cmap: "str | None") -> None:
    """One image on ``ax``: grey (own range) for one channel, RGB(A) scaled into range if needed."""
    ax.set_xticks([])
    ax.set_yticks([])
    if view.ndim == 2:
        lo, hi = _finite_range(view)
        hi = hi if hi > lo else lo + 1.0
        ax.imshow(_as_float(view), cmap=_colormap(cmap or _options_cmap(image=True)), vmin=lo, vmax=hi)
        return
    if view.dtype.kind in "iu" and view.min() >= 0 and view.max() <= 255:
        ax.imshow(view.astype(np.uint8))
        return
    rgb = _as_float(view).astype(np.float64)
    lo, hi = _finite_range(rgb)
    if lo < 0.0 or hi > 1.0:
        rgb = (rgb - lo) / (hi - lo if hi > lo else 1.0)
    ax.imshow(np.clip(np.nan_to_num(rgb, nan=0.0), 0.0, 1.0))


def _new_figure(size: tuple):
    from matplotlib.figure import Figure

    return Figure(figsize=size, dpi=100)


def _figure_and_axes(ax, size: tuple):
    if ax is not None:
        return ax.figure, ax
    fig = _new_figure(size)
    return fig, fig.add_subplot()


def _size_for(shape: tuple) -> tuple:
    h, w = shape[0], shape[1]
    scale = 5.0 / max(h, w, 1)
    return (max(3.0, w * scale + 1.4), max(2.4, h * scale + 0.6))


def _shape_text(shape: tuple) -> str:
    return "(" + ", ".join(str(int(s)) for s in shape) + ")"


def _labels(labels, n: int) -> "list[str] | None":
    if labels is None:
        return None
    a = getattr(labels, "_data", labels)
    values = backend.to_numpy(a).tolist() if hasattr(a, "shape") else list(a)
    if len(values) != n:
        raise ValueError(f"show_images: {len(values)} labels for {n} images")
    return [str(v) for v in values[:MAX_IMAGES]]


def _scalar(value) -> float:
    if value is None:
        return math.nan
    item = getattr(value, "item", None)
    return float(item() if item is not None else value)


def _columns(history) -> dict:
    """``{key: float array}`` from a dict of lists or a list of dicts (missing entries become NaN)."""
    if isinstance(history, dict):
        return {str(k): np.array([_scalar(v) for v in values], dtype=np.float64) for k, values in history.items()}
    rows = list(history)
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(map(str, row)))
    return {k: np.array([_scalar(row.get(k)) for row in rows], dtype=np.float64) for k in keys}


def _x_for(y: np.ndarray, x_values, longest: int) -> np.ndarray:
    """x of a series: the step column if given; else its index, a shorter series (say, one value per
    epoch next to one per step) spread so that its points fall at the ends of equal stretches."""
    if x_values is not None:
        return np.asarray(x_values, dtype=np.float64)[: len(y)]
    if len(y) in (0, longest):
        return np.arange(len(y), dtype=np.float64)
    return (np.arange(len(y)) + 1.0) * (longest / len(y)) - 1.0


def _metric_name(key: str) -> str:
    """The metric a key measures: ``val_loss``, ``train/loss``, ``loss_val`` -> ``loss``."""
    for sep in ("_", "/", "-", " "):
        head, _, tail = key.partition(sep)
        if tail and head.lower() in _SPLITS:
            return tail
        head, _, tail = key.rpartition(sep)
        if head and tail.lower() in _SPLITS:
            return head
    return key
