"""TensorBoard logging with ``torch.utils.tensorboard``'s names, and a reader for the event files it writes.

:class:`SummaryWriter` writes standard TensorBoard event files through
`tensorboardX <https://github.com/lanpa/tensorboardX>`_ (``pip install 'nbgrad[tensorboard]'``),
which is imported on first use, so ``import nbgrad.utils.tensorboard`` needs nothing extra.
Every ``add_*`` method takes nbgrad tensors (CPU or GPU: they are copied to the host),
NumPy arrays and Python numbers. Images are encoded by nbgrad's own PNG writer, so
Pillow is not needed.

:func:`read_events` and :func:`read_scalars` read the files back (TensorBoard's TFRecord
format, checksums verified): to plot a run with matplotlib, or to test what was logged.

Example::

    >>> import tempfile
    >>> import nbgrad as nb
    >>> from nbgrad.utils.tensorboard import SummaryWriter, read_scalars
    >>> log_dir = tempfile.mkdtemp()
    >>> with SummaryWriter(log_dir) as writer:
    ...     for step in range(3):
    ...         writer.add_scalar("loss", nb.tensor(1.0 / (step + 1)), step)
    >>> steps, values = read_scalars(log_dir)["loss"]
    >>> steps.tolist(), values.round(3).tolist()
    ([0, 1, 2], [1.0, 0.5, 0.333])
"""

from __future__ import annotations

import itertools
import os
import socket
import struct
import time
import weakref
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np

from nbgrad import backend
from nbgrad.tensor import Tensor

__all__ = ["SummaryWriter", "read_events", "read_scalars"]

_MISSING = (
    "nbgrad.utils.tensorboard needs tensorboardX, which is not installed: "
    "pip install 'nbgrad[tensorboard]' (or pip install tensorboardX)"
)


def _tbx(submodule: str):
    """A tensorboardX submodule, imported on first use (an optional dependency)."""
    import importlib

    try:
        return importlib.import_module(f"tensorboardX.{submodule}")
    except ModuleNotFoundError as error:
        if error.name is not None and error.name.split(".")[0] == "tensorboardX":
            raise ModuleNotFoundError(_MISSING, name="tensorboardX") from error
        raise


def _numpy(value) -> np.ndarray:
    """A host NumPy array from a tensor (any device, with or without grad), an array or a number."""
    if isinstance(value, Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, (list, tuple)):
        return np.stack([_numpy(v) for v in value]) if value else np.asarray(value)
    return backend.to_numpy(value) if hasattr(value, "__array__") else np.asarray(value)


def _number(value) -> float:
    """A one-element tensor, array or number as a Python float."""
    array = _numpy(value)
    if array.size != 1:
        raise ValueError(f"expected a single number, got an array of shape {array.shape}")
    return float(array.reshape(()))


def _default_bins() -> list:
    # TensorFlow's histogram buckets (as torch and tensorboardX use for bins="tensorflow"): 0 and
    # +-1e-12 * 1.1**k up to 1e20, so that histograms of one tag line up across steps.
    v, positive = 1e-12, []
    while v < 1e20:
        positive.append(v)
        v *= 1.1
    return [-b for b in reversed(positive)] + [0.0] + positive


class _EventFile:
    """One event file, written synchronously, so that ``flush()`` means the events are in the file.

    (tensorboardX's writer hands events to a thread and its flush does not wait for them.)
    File names carry the time, host, process id and a counter, as torch's do, so that two
    writers on one directory within the same second never share a file.
    """

    _counter = itertools.count()

    def __init__(self, log_dir: str, max_queue: int, flush_secs: float, filename_suffix: str):
        os.makedirs(log_dir, exist_ok=True)
        name = f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}"
        path = os.path.join(log_dir, f"{name}.{next(self._counter)}{filename_suffix}")
        self._records = _tbx("record_writer").RecordWriter(path)
        # Closes the file when the writer is garbage collected or at interpreter exit, whichever comes first.
        self._closer = weakref.finalize(self, self._records.close)
        self._max_queue, self._flush_secs = max_queue, flush_secs
        self._pending, self._last_flush = 0, time.monotonic()
        self.add_event(_tbx("proto.event_pb2").Event(file_version="brain.Event:2"))
        self.flush()

    def add_event(self, event, step: int | None = None, walltime: float | None = None) -> None:
        event.wall_time = time.time() if walltime is None else walltime
        if step is not None:
            event.step = int(step)
        self._records.write(event.SerializeToString())
        self._pending += 1
        if self._pending >= self._max_queue or time.monotonic() - self._last_flush >= self._flush_secs:
            self.flush()

    def add_summary(self, summary, step: int | None = None, walltime: float | None = None) -> None:
        self.add_event(_tbx("proto.event_pb2").Event(summary=summary), step, walltime)

    def flush(self) -> None:
        self._records.flush()
        self._pending, self._last_flush = 0, time.monotonic()

    def close(self) -> None:
        self._closer()


class SummaryWriter:
    r"""Writes scalars, histograms, images, text and hyperparameters to TensorBoard event files.

    The names and arguments are those of ``torch.utils.tensorboard.SummaryWriter``. Values may be
    nbgrad tensors (on any device; they are detached and copied to the host), NumPy arrays or Python
    numbers. Events are buffered and written every ``max_queue`` events or ``flush_secs`` seconds;
    :meth:`flush` or :meth:`close` (or leaving a ``with`` block) puts them on disk at once. After
    :meth:`close`, another ``add_*`` call opens a new event file in the same directory.

    Args:
        log_dir: directory of the run. Default: ``runs/<Mon>DD_HH-MM-SS_<hostname><comment>``.
        comment: suffix of the default ``log_dir``; ignored when ``log_dir`` is given.
        purge_step: when a crashed run restarts at step ``purge_step``, TensorBoard hides the events
            of the earlier attempt with ``step >= purge_step``.
        max_queue: how many events are buffered before an ``add_*`` call writes them to disk.
        flush_secs: an ``add_*`` call this many seconds after the last write writes the buffer to disk.
        filename_suffix: suffix of the event file names.

    Example::

        >>> import tempfile
        >>> import nbgrad as nb
        >>> from nbgrad.utils.tensorboard import SummaryWriter
        >>> with SummaryWriter(tempfile.mkdtemp()) as writer:
        ...     writer.add_scalar("loss", 0.25, global_step=0)
        ...     writer.add_histogram("weights", nb.randn(100), global_step=0)
        ...     writer.add_image("digit", nb.rand(1, 8, 8), global_step=0)
        ...     writer.add_text("note", "first run")
    """

    def __init__(
        self,
        log_dir: str | os.PathLike | None = None,
        comment: str = "",
        purge_step: int | None = None,
        max_queue: int = 10,
        flush_secs: int = 120,
        filename_suffix: str = "",
    ):
        if not log_dir:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")
        self.log_dir = str(log_dir)
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self._default_bins = None
        self._writers: dict | None = None  # log dir -> _EventFile; None once closed
        self._file_writer()  # creates the directory and the event file now, as torch does

    def get_logdir(self) -> str:
        """The directory this writer writes to."""
        return self.log_dir

    # ------------------------------------------------------------------ files
    def _writer_for(self, log_dir: str) -> _EventFile:
        if self._writers is None:
            self._writers = {}
        if log_dir not in self._writers:
            writer = _EventFile(log_dir, self.max_queue, self.flush_secs, self.filename_suffix)
            self._writers[log_dir] = writer
            if log_dir == self.log_dir and self.purge_step is not None:
                # The two events torch writes so that TensorBoard drops steps >= purge_step of an earlier attempt.
                event_pb2 = _tbx("proto.event_pb2")
                writer.add_event(event_pb2.Event(file_version="brain.Event:2"), self.purge_step)
                start = event_pb2.SessionLog(status=event_pb2.SessionLog.START)
                writer.add_event(event_pb2.Event(session_log=start), self.purge_step)
                self.purge_step = None
        return self._writers[log_dir]

    def _file_writer(self):
        return self._writer_for(self.log_dir)

    def _add(self, summary, global_step, walltime) -> None:
        step = None if global_step is None else int(_number(global_step))
        self._file_writer().add_summary(summary, step, walltime)

    # ------------------------------------------------------------------ add_*
    def add_scalar(self, tag: str, scalar_value, global_step: int | None = None, walltime: float | None = None):
        """Log one number.

        Args:
            tag: name of the series (``"loss/train"`` groups it under ``loss``).
            scalar_value: a Python number, or a one-element tensor or array.
            global_step: the step (x axis).
            walltime: seconds since the epoch; default: now.
        """
        self._add(_tbx("summary").scalar(tag, _number(scalar_value)), global_step, walltime)

    def add_scalars(
        self, main_tag: str, tag_scalar_dict: dict, global_step: int | None = None, walltime: float | None = None
    ):
        """Log several numbers in one chart, e.g. train and validation loss.

        As in torch, each series goes to its own run, ``<log_dir>/<main_tag>_<tag>`` (``/`` in
        ``main_tag`` becomes ``_``), under the tag ``main_tag``.

        Args:
            main_tag: name of the chart.
            tag_scalar_dict: series name -> value (numbers, one-element tensors or arrays).
            global_step: the step (x axis).
            walltime: seconds since the epoch; default: now (the same for every series).
        """
        walltime = time.time() if walltime is None else walltime
        step = None if global_step is None else int(_number(global_step))
        scalar = _tbx("summary").scalar
        for tag, value in tag_scalar_dict.items():
            run = f"{self.log_dir}/{main_tag.replace('/', '_')}_{tag}"
            self._writer_for(run).add_summary(scalar(main_tag, _number(value)), step, walltime)

    def add_histogram(
        self,
        tag: str,
        values,
        global_step: int | None = None,
        bins="tensorflow",
        walltime: float | None = None,
        max_bins: int | None = None,
    ):
        """Log the distribution of ``values`` (e.g. a layer's weights or gradients).

        Args:
            tag: name of the histogram.
            values: a tensor, array or sequence of numbers (any shape; flattened).
            global_step: the step.
            bins: ``"tensorflow"`` (TensorBoard's default exponential buckets) or anything
                :func:`numpy.histogram` accepts (a count, edges, ``"auto"``, ...).
            walltime: seconds since the epoch; default: now.
            max_bins: merge neighbouring bins down to at most this many.
        """
        if isinstance(bins, str) and bins == "tensorflow":
            if self._default_bins is None:
                self._default_bins = _default_bins()
            bins = self._default_bins
        summary = _tbx("summary").histogram(tag, _numpy(values).astype(np.float64), bins, max_bins=max_bins)
        self._add(summary, global_step, walltime)

    def add_image(
        self, tag: str, img_tensor, global_step: int | None = None, walltime: float | None = None, dataformats="CHW"
    ):
        """Log one image.

        Float images are taken to lie in ``[0, 1]`` and uint8 images in ``[0, 255]``; values outside
        are clipped. One channel is shown as gray, three as RGB, four as RGBA.

        Args:
            tag: name of the image.
            img_tensor: the image.
            global_step: the step.
            walltime: seconds since the epoch; default: now.
            dataformats: the meaning of the axes: ``"CHW"``, ``"HWC"`` or ``"HW"``.

        Shape:
            - img_tensor: :math:`(C, H, W)` by default, with :math:`C` in 1, 3 or 4.
        """
        self._add(_image_summary(tag, _numpy(img_tensor), dataformats), global_step, walltime)

    def add_images(
        self, tag: str, img_tensor, global_step: int | None = None, walltime: float | None = None, dataformats="NCHW"
    ):
        """Log a batch of images, tiled into one picture (eight per row).

        Args:
            tag: name of the picture.
            img_tensor: the images, or a list of images in the ``dataformats`` without ``N``.
            global_step: the step.
            walltime: seconds since the epoch; default: now.
            dataformats: the meaning of the axes: ``"NCHW"`` or ``"NHWC"``.

        Shape:
            - img_tensor: :math:`(N, C, H, W)` by default, with :math:`C` in 1, 3 or 4.
        """
        if isinstance(img_tensor, (list, tuple)) and "N" not in dataformats.upper():
            dataformats = "N" + dataformats
        self._add(_image_summary(tag, _numpy(img_tensor), dataformats), global_step, walltime)

    def add_figure(
        self, tag: str, figure, global_step: int | None = None, close: bool = True, walltime: float | None = None
    ):
        """Log a matplotlib figure (or a list of figures) as an image.

        Args:
            tag: name of the image.
            figure: a ``matplotlib.figure.Figure``, or a list of them (tiled like :meth:`add_images`).
            global_step: the step.
            close: close the figure afterwards, so that the notebook does not also show it.
            walltime: seconds since the epoch; default: now.
        """
        figures = figure if isinstance(figure, (list, tuple)) else [figure]
        pictures = [_render_figure(f, close) for f in figures]
        if isinstance(figure, (list, tuple)):
            self.add_images(tag, pictures, global_step, walltime, dataformats="HWC")
        else:
            self.add_image(tag, pictures[0], global_step, walltime, dataformats="HWC")

    def add_text(self, tag: str, text_string: str, global_step: int | None = None, walltime: float | None = None):
        """Log a piece of text (TensorBoard renders it as Markdown).

        Args:
            tag: name of the text; TensorBoard shows it as ``<tag>/text_summary``.
            text_string: the text.
            global_step: the step.
            walltime: seconds since the epoch; default: now.
        """
        self._add(_tbx("summary").text(tag, text_string), global_step, walltime)

    def add_hparams(
        self,
        hparam_dict: dict,
        metric_dict: dict,
        hparam_domain_discrete: dict | None = None,
        run_name: str | None = None,
        global_step: int | None = None,
    ):
        """Log one run's hyperparameters with the metrics it reached, for TensorBoard's HPARAMS tab.

        As in torch, the record goes to a sub-run ``<log_dir>/<run_name>``, and each metric is also
        logged there as a scalar.

        Args:
            hparam_dict: name -> value (``bool``, ``str``, numbers, one-element tensors; ``None`` is left out).
            metric_dict: name -> value (numbers or one-element tensors).
            hparam_domain_discrete: name -> every value that hyperparameter can take (for the filters).
            run_name: name of the sub-run. Default: the current time in seconds.
            global_step: the step.
        """
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError("add_hparams: hparam_dict and metric_dict should be dictionaries")
        hparams = {name: _hparam_value(name, value) for name, value in hparam_dict.items()}
        metrics = {name: _number(value) for name, value in metric_dict.items()}
        experiment, start, end = _tbx("summary").hparams(hparams, metrics)
        if hparam_domain_discrete:
            _set_discrete_domains(experiment, hparams, hparam_domain_discrete)
        run_name = run_name or str(time.time())
        with SummaryWriter(os.path.join(self.log_dir, run_name)) as run:
            for summary in (experiment, start, end):
                run._add(summary, global_step, None)
            for name, value in metrics.items():
                run.add_scalar(name, value, global_step)

    # ------------------------------------------------------------------ lifetime
    def flush(self) -> None:
        """Write every queued event to disk."""
        for writer in (self._writers or {}).values():
            writer.flush()

    def close(self) -> None:
        """Write every queued event and close the files (a second call does nothing)."""
        for writer in (self._writers or {}).values():
            writer.close()
        self._writers = None

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SummaryWriter(log_dir={self.log_dir!r})"


# ---------------------------------------------------------------------- summaries tensorboardX lacks
def _image_summary(tag: str, array: np.ndarray, dataformats: str):
    """An image ``Summary`` encoded with nbgrad's PNG writer (tensorboardX's needs Pillow)."""
    from nbgrad.display.html import png

    summary_pb2 = _tbx("proto.summary_pb2")
    if len(dataformats) != array.ndim:
        raise ValueError(f"add_image: dataformats {dataformats!r} does not match an array of shape {array.shape}")
    hwc = _tbx("utils").convert_to_HWC(array, dataformats)  # also tiles NCHW batches into one grid
    # torch's rule: uint8 is already 0..255, anything else is 0..1; truncate (not round) as torch does.
    scale = 1 if hwc.dtype == np.uint8 else 255
    pixels = (hwc.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
    height, width, channels = pixels.shape
    image = summary_pb2.Summary.Image(height=height, width=width, colorspace=channels, encoded_image_string=png(pixels))
    return summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, image=image)])


def _render_figure(figure, close: bool) -> np.ndarray:
    """The RGB pixels of a matplotlib figure, ``(H, W, 3)`` uint8."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[:, :, :3].copy()
    if close:
        import matplotlib.pyplot as plt

        plt.close(figure)
    return pixels


def _hparam_value(name: str, value):
    if isinstance(value, (Tensor, np.ndarray, np.generic)):
        value = _numpy(value).reshape(()).item() if _numpy(value).size == 1 else value
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(
        f"add_hparams: value of {name!r} should be bool, str, a number or a one-element tensor, got {value!r}"
    )


def _set_discrete_domains(experiment, hparams: dict, domains: dict) -> None:
    """Add each hyperparameter's possible values to the experiment summary (tensorboardX has no argument for it)."""
    from google.protobuf import struct_pb2

    plugin_pb2 = _tbx("proto.plugin_hparams_pb2")
    metadata = experiment.value[0].metadata.plugin_data
    data = plugin_pb2.HParamsPluginData.FromString(metadata.content)
    for info in data.experiment.hparam_infos:
        if info.name not in domains:
            continue
        values = []
        for choice in domains[info.name]:
            if isinstance(choice, bool):
                values.append(struct_pb2.Value(bool_value=choice))
            elif isinstance(choice, str):
                values.append(struct_pb2.Value(string_value=choice))
            elif isinstance(choice, (int, float)):
                values.append(struct_pb2.Value(number_value=choice))
            else:
                raise TypeError(f"add_hparams: domain of {info.name!r} must hold bools, strings or numbers")
        info.domain_discrete.CopyFrom(struct_pb2.ListValue(values=values))
    unknown = set(domains) - set(hparams)
    if unknown:
        raise ValueError(f"add_hparams: hparam_domain_discrete names unknown hyperparameters {sorted(unknown)}")
    metadata.content = data.SerializeToString()


# ---------------------------------------------------------------------- reading event files
_HEADER = struct.Struct("<QI")  # record length, masked CRC-32C of those 8 bytes
_FOOTER = struct.Struct("<I")  # masked CRC-32C of the record


def _event_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"read_events: no such file or directory: {str(path)!r}")
    # File names carry the creation time in seconds, so name order is the order of writing.
    return sorted(p for p in path.iterdir() if p.is_file() and "tfevents" in p.name)


def read_events(path: str | os.PathLike) -> Iterator:
    """The events in one event file, or in every event file of a directory (not its subdirectories).

    Each event is a TensorBoard ``Event`` protocol buffer (``event.step``, ``event.wall_time``,
    ``event.summary.value[i].tag`` and ``.simple_value``, ``.histo``, ``.image``, ``.tensor``).
    Checksums are verified; a record cut short at the end of a file (still being written) ends
    that file.

    Args:
        path: an event file, or a run's directory.

    Example::

        >>> import tempfile
        >>> from nbgrad.utils.tensorboard import SummaryWriter, read_events
        >>> with SummaryWriter(tempfile.mkdtemp()) as writer:
        ...     writer.add_text("note", "hello")
        >>> [(v.tag, v.tensor.string_val[0]) for e in read_events(writer.log_dir) for v in e.summary.value]
        [('note/text_summary', b'hello')]
    """
    masked_crc32c = _tbx("record_writer").masked_crc32c
    event_pb2 = _tbx("proto.event_pb2")
    for file in _event_files(Path(path)):
        with open(file, "rb") as stream:
            while True:
                header = stream.read(_HEADER.size)
                if len(header) < _HEADER.size:
                    break
                length, header_crc = _HEADER.unpack(header)
                if masked_crc32c(header[:8]) != header_crc:
                    raise ValueError(f"read_events: {file}: corrupt record header")
                record = stream.read(length)
                footer = stream.read(_FOOTER.size)
                if len(record) < length or len(footer) < _FOOTER.size:
                    break
                if masked_crc32c(record) != _FOOTER.unpack(footer)[0]:
                    raise ValueError(f"read_events: {file}: corrupt record (checksum mismatch)")
                yield event_pb2.Event.FromString(record)


def read_scalars(log_dir: str | os.PathLike) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The scalars of one run: tag -> ``(steps, values)``, as NumPy arrays in the order they were logged.

    A series from :meth:`SummaryWriter.add_scalars` is a run of its own: read
    ``<log_dir>/<main_tag>_<tag>``.

    Args:
        log_dir: the run's directory (or one event file).

    Example::

        >>> import tempfile
        >>> from nbgrad.utils.tensorboard import SummaryWriter, read_scalars
        >>> with SummaryWriter(tempfile.mkdtemp()) as writer:
        ...     writer.add_scalar("lr", 0.1, 0)
        ...     writer.add_scalar("lr", 0.05, 10)
        >>> steps, values = read_scalars(writer.log_dir)["lr"]
        >>> steps.tolist(), values.round(6).tolist()
        ([0, 10], [0.1, 0.05])
    """
    series: dict[str, tuple[list, list]] = {}
    for event in read_events(log_dir):
        for value in event.summary.value:
            if value.HasField("simple_value"):
                number = value.simple_value
            elif value.HasField("tensor") and (value.tensor.float_val or value.tensor.double_val):
                number = (value.tensor.float_val or value.tensor.double_val)[0]
            else:
                continue
            steps, values = series.setdefault(value.tag, ([], []))
            steps.append(event.step)
            values.append(number)
    # Values come back as float64, but TensorBoard stores scalars as float32: 0.1 reads as 0.10000000149.
    return {tag: (np.array(steps, dtype=np.int64), np.array(values)) for tag, (steps, values) in series.items()}
