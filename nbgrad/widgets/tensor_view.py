"""``nb.widgets.TensorView``: an interactive heatmap of one 2-D slice of an N-D tensor.

The Python side owns the tensor and sends only what is on screen: the chosen
2-D slice, cut on the tensor's device, shrunk there by block means to at most
``max_size`` x ``max_size`` and moved to the host as one little-endian float32
buffer (at most 1 MiB for the default 512, whatever the tensor's size), plus
the slice's statistics and histogram. The front end (``widgets/tensor_view.js``)
draws it on a canvas and owns the controls: a slider per other axis, the two
displayed axes, the colour scale, and the ``.grad`` toggle. Moving a control
changes a trait (``index``, ``row_axis``, ``col_axis``, ``show_grad``) and the
Python side answers with the new slice.

The mimebundle also carries the rich tensor HTML of the slice shown when the
widget was displayed (:func:`nbgrad.display.tensor.tensor_html`), so exports,
GitHub and kernels without a widget front end still show the data.
"""

from __future__ import annotations

import numpy as np
import traitlets as T

from nbgrad import backend
from nbgrad.display import html as H
from nbgrad.display.options import options
from nbgrad.display.stats import block_reduce, histogram, sample, tensor_stats
from nbgrad.display.tensor import tensor_html
from nbgrad.widgets._base import FallbackWidget, bundle_esm, load_css, to_buffer

__all__ = ["TensorView", "explore"]

_HIST_BINS = 40


def _stats_dict(array) -> dict:
    """JSON-able statistics of ``array`` (computed on its device; only scalars reach the host)."""
    s = tensor_stats(array)
    return {
        "numel": s.numel,
        "min": _json_number(s.min),
        "max": _json_number(s.max),
        "mean": s.mean,
        "std": s.std,
        "zeros": s.zeros,
        "nan": s.nan,
        "posinf": s.posinf,
        "neginf": s.neginf,
    }


def _json_number(x):
    """Bools and NumPy scalars as plain JSON numbers."""
    return None if x is None else float(x)


def _shrink(a, size: int, how: str):
    """Block-reduce both axes of a 2-D device array to at most ``size``; returns it and the block sizes."""
    rows, cols = a.shape
    a = block_reduce(block_reduce(a, 0, size, how), 1, size, how)
    return a, [-(-rows // a.shape[0]) if rows else 1, -(-cols // a.shape[1]) if cols else 1]


class TensorView(FallbackWidget):
    """An interactive view of a tensor: a heatmap of one 2-D slice, with a slider for every other axis.

    Only the visible slice crosses to the front end, downsampled by block means
    to at most ``max_size`` x ``max_size`` cells, so the transfer is bounded
    whatever the tensor's size; a GPU tensor is sliced and downsampled on its
    device. Hovering shows the index and value under the pointer (the block
    and its mean when downsampled).

    Args:
        tensor: a :class:`~nbgrad.Tensor` (or NumPy/CuPy array) of any rank; 0-d and
            1-D tensors are shown as a ``1 x n`` strip.
        row_axis, col_axis: the axes shown as rows and columns (default: the last two).
        index: start position on the other axes (default: all zeros).
        cmap: ``"RdBu"`` (diverging, centred on zero), ``"coolwarm"``, ``"viridis"`` or ``"gray"``.
        symmetric: for sequential maps too, a colour range symmetric about zero.
        log_scale: colour by ``sign(x) * log10(1 + |x| / t)`` (``t`` a small fraction of the
            largest magnitude): small values stay visible next to outliers.
        max_size: the most cells sent along each displayed axis.

    Attributes:
        index: one position per axis (entries of the displayed axes are ignored); set it, or
            move a slider, to show another slice.
        data: the slice sent to the front end: little-endian float32, row-major, ``data_shape``.
        block: rows and columns of the tensor behind one cell (``[1, 1]`` when not downsampled).

    Example::

        >>> import nbgrad as nb
        >>> view = nb.widgets.TensorView(nb.arange(24.0).reshape(2, 3, 4))
        >>> view.data_shape, view.index
        ([3, 4], [0, 0, 0])
        >>> view.index = [1, 0, 0]
        >>> nb.tensor(view.slice()).tolist()[0]
        [12.0, 13.0, 14.0, 15.0]
    """

    _esm = bundle_esm("tensor_view.js")
    _css = load_css("tensor_view.css")

    # What is shown (Python -> JS, fixed per tensor).
    shape = T.List(T.Int()).tag(sync=True)
    dtype = T.Unicode().tag(sync=True)
    device = T.Unicode().tag(sync=True)
    has_grad = T.Bool(False).tag(sync=True)
    tensor_stats = T.Dict().tag(sync=True)
    grad_stats = T.Dict().tag(sync=True)
    # The view (both ways: the front end's controls set these).
    row_axis = T.Int().tag(sync=True)
    col_axis = T.Int().tag(sync=True)
    index = T.List(T.Int()).tag(sync=True)
    show_grad = T.Bool(False).tag(sync=True)
    cmap = T.Enum(sorted(H.COLORMAPS), default_value="RdBu").tag(sync=True)
    symmetric = T.Bool(False).tag(sync=True)
    log_scale = T.Bool(False).tag(sync=True)
    max_size = T.Int(512).tag(sync=True)
    # The slice (Python -> JS): a binary buffer and what it needs to be read.
    data = T.Bytes(b"").tag(sync=True)
    data_shape = T.List(T.Int()).tag(sync=True)
    block = T.List(T.Int()).tag(sync=True)
    slice_shape = T.List(T.Int()).tag(sync=True)
    slice_stats = T.Dict().tag(sync=True)
    hist = T.Bytes(b"").tag(sync=True)  # float64 counts of the slice's finite values in equal bins
    hist_range = T.List(T.Float()).tag(sync=True)
    message = T.Unicode("").tag(sync=True)

    def __init__(
        self,
        tensor,
        row_axis: "int | None" = None,
        col_axis: "int | None" = None,
        index=None,
        cmap: str = "RdBu",
        symmetric: bool = False,
        log_scale: bool = False,
        max_size: int = 512,
        **kwargs,
    ):
        self._tensor = tensor
        self._sent_key = None  # the view last sent: trait echoes and multi-trait updates send once
        shape = self._array(grad=False).shape
        ndim = len(shape)
        row = ndim - 2 if row_axis is None else row_axis % ndim
        col = ndim - 1 if col_axis is None else col_axis % ndim
        if row == col:
            raise ValueError(f"TensorView: row_axis and col_axis must differ, both are {row}")
        index = [0] * ndim if index is None else [int(i) for i in index]
        if len(index) != ndim:
            raise ValueError(f"TensorView: index needs {ndim} entries (one per axis), got {len(index)}")
        super().__init__(
            shape=[int(n) for n in shape],
            row_axis=row,
            col_axis=col,
            index=index,
            cmap=cmap,
            symmetric=symmetric,
            log_scale=log_scale,
            max_size=max_size,
            **kwargs,
        )
        self.refresh()

    # ------------------------------------------------------------------ data
    def _array(self, grad: bool):
        """The device array shown (the tensor's, or its gradient's), at least 2-D."""
        t = self._tensor
        if grad:
            t = getattr(t, "grad", None)
            if t is None:
                return None
        a = getattr(t, "_data", t)
        if a.ndim < 2:  # a strip: one row
            a = a.reshape((1,) * (2 - a.ndim) + a.shape)
        return a

    def refresh(self) -> None:
        """Re-read the tensor (after it changed in place, or got a ``.grad``) and resend the slice."""
        a = self._array(grad=False)
        grad = self._array(grad=True)
        with self.hold_sync():
            self.shape = [int(n) for n in a.shape]
            self.dtype = a.dtype.name
            self.device = str(backend.device_of(a))
            self.tensor_stats = _stats_dict(a)
            self.has_grad = grad is not None
            self.grad_stats = {} if grad is None else _stats_dict(grad)
            if grad is None:
                self.show_grad = False
            self._sent_key = None
            self._send_slice()

    def _slice_index(self) -> tuple:
        """The indexing tuple of the current slice: the position on the other axes, all of the shown ones."""
        return tuple(slice(None) if axis in (self.row_axis, self.col_axis) else i for axis, i in enumerate(self.index))

    def slice(self, grad: "bool | None" = None):
        """The current 2-D slice (rows = ``row_axis``) as a device array, full size (not downsampled)."""
        a = self._array(self.show_grad if grad is None else grad)
        if a is None:
            return None
        s = a[self._slice_index()]
        return s.T if self.row_axis > self.col_axis else s

    @T.validate("index")
    def _valid_index(self, proposal):
        # A slider can only send positions inside the axis; a user may not: clamp rather than fail later.
        index = [int(i) for i in proposal["value"]]
        if len(index) != len(self.shape):
            raise T.TraitError(f"index needs {len(self.shape)} entries (one per axis), got {len(index)}")
        return [min(max(i, 0), n - 1) if n else 0 for i, n in zip(index, self.shape)]

    @T.validate("row_axis", "col_axis")
    def _valid_axis(self, proposal):
        ndim = len(self.shape)
        value = int(proposal["value"])
        if not -ndim <= value < ndim:
            raise T.TraitError(f"axis {value} out of range for a {ndim}-D tensor")
        return value % ndim

    @T.observe("index", "row_axis", "col_axis", "show_grad", "max_size")
    def _view_changed(self, change):
        if change["name"] in ("row_axis", "col_axis") and self.row_axis == self.col_axis:
            # Showing one axis as both rows and columns means: swap them (as the front end does).
            other = "col_axis" if change["name"] == "row_axis" else "row_axis"
            setattr(self, other, change["old"])
            return
        if self.data_shape:  # not during __init__: refresh() sends the first slice
            self._send_slice()

    def _send_slice(self) -> None:
        """Compute and send the current slice, unless it is the one last sent."""
        shown = (self.row_axis, self.col_axis)
        position = tuple(i for axis, i in enumerate(self.index) if axis not in shown)
        key = (position, shown, self.show_grad, self.max_size)
        if key == self._sent_key:
            return
        self._sent_key = key
        s = self.slice()
        if s.dtype.kind == "b":
            s = s.astype(np.uint8)
        how = "mean" if s.dtype.kind == "f" else "nearest"
        view, block = _shrink(s, max(1, self.max_size), how)
        stats = _stats_dict(s)
        counts, lo, hi = self._histogram(s, stats)
        with self.hold_sync():
            # float32, not _base.to_buffer's float64: half the bytes for the one big array.
            self.data = np.ascontiguousarray(backend.to_numpy(view), dtype="<f4").tobytes()
            self.data_shape = [int(n) for n in view.shape]
            self.block = block
            self.slice_shape = [int(n) for n in s.shape]
            self.slice_stats = stats
            self.hist = to_buffer(counts)
            self.hist_range = [lo, hi]
            self.message = "" if block == [1, 1] else f"block means of {block[0]}×{block[1]}"

    @staticmethod
    def _histogram(s, stats: dict) -> tuple:
        """Counts of a strided sample of the slice's finite values (bounded work for any size)."""
        if stats["min"] is None:
            return np.zeros(0), 0.0, 1.0
        values = sample(s, options.sample_size)
        counts, edges = histogram(values, _HIST_BINS, (stats["min"], stats["max"]))
        return counts, float(edges[0]), float(edges[-1])

    # ---------------------------------------------------------------- output
    def _fallback_html(self) -> str:
        """The rich tensor HTML of the current slice, under a line saying which slice it is."""
        from nbgrad.tensor import Tensor  # local: nbgrad.tensor imports the display package

        s = self.slice(grad=False)
        shown = Tensor._wrap(s)
        g = self.slice(grad=True)
        if g is not None:
            shown.grad = Tensor._wrap(g)
        where = ", ".join(":" if isinstance(i, slice) else str(i) for i in self._slice_index())
        flip = " (transposed)" if self.row_axis > self.col_axis else ""
        head = (
            f'<div style="{H.MUTED}">TensorView of Tensor[{", ".join(str(n) for n in self.shape)}]: '
            f"slice [{where}]{flip}; interactive when its widget front end runs</div>"
        )
        return f'<div class="nbgrad-tensor-view" style="{H.ROOT_STYLE}">{head}{tensor_html(shown)}</div>'

    def _fallback_text(self) -> str:
        return repr(self)

    def __repr__(self) -> str:
        where = ", ".join(":" if isinstance(i, slice) else str(i) for i in self._slice_index())
        return f"TensorView(Tensor[{', '.join(str(n) for n in self.shape)}], slice [{where}])"


def explore(tensor, **kwargs) -> TensorView:
    """Explore ``tensor`` interactively: :class:`TensorView` with the same arguments.

    Example::

        >>> import nbgrad as nb
        >>> nb.widgets.explore(nb.zeros(4, 5, 6))
        TensorView(Tensor[4, 5, 6], slice [0, :, :])
    """
    return TensorView(tensor, **kwargs)
