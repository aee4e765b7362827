"""nb.utils.tensorboard: event files written through tensorboardX, read back and checked value by value.

Three readers check them: nbgrad's own (read_events/read_scalars), TensorBoard's
EventAccumulator when the ``tensorboard`` package is installed, and torch's own SummaryWriter
writing the same calls, when torch and tensorboard are installed (same tags, runs and values).
"""

from __future__ import annotations

import io
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nbgrad as nb

pytest.importorskip("tensorboardX", reason="tensorboardX (the 'tensorboard' extra) is not installed")
from nbgrad.utils.tensorboard import SummaryWriter, read_events, read_scalars  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _values(log_dir, kind: str) -> dict:
    """tag -> list of (step, value proto field) for one kind of summary value ('histo', 'image', 'tensor')."""
    found = {}
    for event in read_events(log_dir):
        for value in event.summary.value:
            if value.HasField(kind):
                found.setdefault(value.tag, []).append((event.step, getattr(value, kind)))
    return found


def _png_pixels(data: bytes) -> np.ndarray:
    """Decode the PNGs nbgrad writes (8-bit, no interlace, filters 0 and 2) without Pillow."""
    import zlib

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag = data[pos + 4 : pos + 8]
        chunks[tag] = chunks.get(tag, b"") + data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    channels = {0: 1, 2: 3, 6: 4}[color]
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(height, width * channels + 1)
    rows = raw[:, 1:].copy()
    for r in range(1, height):
        if raw[r, 0] == 2:  # "Up": add the decoded row above
            rows[r] += rows[r - 1]
    return rows.reshape(height, width, channels)


# ---------------------------------------------------------------------- scalars
def test_scalars_round_trip_from_tensors_arrays_and_numbers(tmp_path):
    loss = nb.tensor(2.5, requires_grad=True) * 1.0  # a tensor in a graph: detached, not an error
    with SummaryWriter(tmp_path) as writer:
        writer.add_scalar("loss", loss, 0)
        writer.add_scalar("loss", np.float32(1.25), 1)
        writer.add_scalar("loss", 0.5, nb.tensor(2))  # the step may be a tensor too
        writer.add_scalar("acc", np.array([0.75]), 2)
    scalars = read_scalars(tmp_path)
    steps, values = scalars["loss"]
    assert steps.tolist() == [0, 1, 2]
    assert values.tolist() == [2.5, 1.25, 0.5]
    assert scalars["acc"][1].tolist() == [0.75]


def test_add_scalar_rejects_arrays_of_several_numbers(tmp_path):
    with SummaryWriter(tmp_path) as writer, pytest.raises(ValueError, match=r"single number.*\(3,\)"):
        writer.add_scalar("loss", nb.ones(3), 0)


def test_add_scalars_writes_one_run_per_series_named_as_torch_does(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        for step in range(3):
            writer.add_scalars("loss/all", {"train": 1.0 / (step + 1), "val": nb.tensor(2.0 + step)}, step)
    train = read_scalars(tmp_path / "loss_all_train")
    val = read_scalars(tmp_path / "loss_all_val")
    assert list(train) == list(val) == ["loss/all"]
    np.testing.assert_allclose(train["loss/all"][1], [1.0, 0.5, 1 / 3], rtol=1e-6)
    assert val["loss/all"][1].tolist() == [2.0, 3.0, 4.0]
    assert read_scalars(tmp_path) == {}  # nothing in the main run


# ---------------------------------------------------------------------- histograms
def test_histogram_counts_and_moments(tmp_path):
    values = nb.tensor([0.0, 1.0, 1.0, 2.0, 3.0, 3.0, 3.0, 10.0])
    with SummaryWriter(tmp_path) as writer:
        writer.add_histogram("w", values, 5, bins=np.array([0.0, 2.0, 4.0, 10.0]))
        writer.add_histogram("w_default_bins", np.linspace(-1, 1, 101), 6)
    ((step, histo),) = _values(tmp_path, "histo")["w"]
    assert step == 5
    assert (histo.min, histo.max, histo.num) == (0.0, 10.0, 8)
    assert histo.sum == pytest.approx(23.0)
    assert histo.sum_squares == pytest.approx(133.0)
    # TensorBoard stores right edges only; the leading empty bucket carries the left edge 0.
    assert list(histo.bucket_limit) == [0.0, 2.0, 4.0, 10.0]
    assert list(histo.bucket) == [0, 3, 4, 1]
    ((_, default),) = _values(tmp_path, "histo")["w_default_bins"]
    assert sum(default.bucket) == default.num == 101
    assert len(default.bucket) > 20  # TensorBoard's exponential buckets, not numpy's 10


def test_histogram_max_bins_merges_buckets(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        writer.add_histogram("x", np.arange(100.0), 0, bins=50, max_bins=10)
    ((_, histo),) = _values(tmp_path, "histo")["x"]
    assert len(histo.bucket) <= 11 and sum(histo.bucket) == 100


# ---------------------------------------------------------------------- images
def test_image_shape_and_pixels_chw_hwc_hw(tmp_path):
    gradient = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    rgb = np.zeros((3, 3, 4), dtype=np.float32)
    rgb[0] = 1.0  # red
    with SummaryWriter(tmp_path) as writer:
        writer.add_image("rgb", nb.tensor(rgb), 0)
        writer.add_image("hwc", (np.moveaxis(rgb, 0, -1) * 255).astype(np.uint8), 0, dataformats="HWC")
        writer.add_image("gray", gradient, 0, dataformats="HW")
    images = _values(tmp_path, "image")
    for tag in ("rgb", "hwc"):
        ((_, image),) = images[tag]
        assert (image.height, image.width, image.colorspace) == (3, 4, 3)
        pixels = _png_pixels(image.encoded_image_string)
        assert pixels.shape == (3, 4, 3)
        assert (pixels[..., 0] == 255).all() and (pixels[..., 1:] == 0).all()
    ((_, gray),) = images["gray"]
    pixels = _png_pixels(gray.encoded_image_string)
    # torch's rule: float * 255, clipped, truncated to uint8; gray becomes three equal channels.
    expected = (gradient * 255).astype(np.uint8)
    assert (pixels == expected[:, :, None]).all()


def test_add_images_tiles_a_batch_eight_per_row(tmp_path):
    batch = nb.rand(10, 1, 5, 6)
    with SummaryWriter(tmp_path) as writer:
        writer.add_images("batch", batch, 3)
        writer.add_images("list", [np.ones((2, 2, 3)), np.zeros((2, 2, 3))], 3, dataformats="HWC")
    images = _values(tmp_path, "image")
    ((step, image),) = images["batch"]
    assert step == 3 and (image.height, image.width) == (2 * 5, 8 * 6)
    tiles = _png_pixels(image.encoded_image_string)[..., 0]
    expected = (batch.numpy() * 255).astype(np.uint8)
    assert (tiles[:5, 6:12] == expected[1, 0]).all()  # second image, first row
    assert (tiles[5:, 6:12] == expected[9, 0]).all()  # tenth image, second row
    assert (tiles[5:, 12:] == 0).all()  # empty slots stay black
    ((_, listed),) = images["list"]
    assert (listed.height, listed.width) == (2, 4)


def test_add_image_checks_dataformats(tmp_path):
    with SummaryWriter(tmp_path) as writer, pytest.raises(ValueError, match="dataformats 'CHW'"):
        writer.add_image("bad", np.zeros((4, 4)), 0)


def test_add_figure_logs_the_rendered_figure(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(2, 1), dpi=50)
    with SummaryWriter(tmp_path) as writer:
        writer.add_figure("plot", figure, 0)
    ((_, image),) = _values(tmp_path, "image")["plot"]
    assert (image.height, image.width, image.colorspace) == (50, 100, 3)
    assert not plt.fignum_exists(figure.number)  # closed, as torch does by default


# ---------------------------------------------------------------------- text, hparams
def test_text_round_trip(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        writer.add_text("notes", "**lr** = 0.1, café", 7)
    ((step, tensor),) = _values(tmp_path, "tensor")["notes/text_summary"]
    assert step == 7
    assert tensor.string_val[0].decode("utf-8") == "**lr** = 0.1, café"


def test_hparams_round_trip(tmp_path):
    plugin_pb2 = pytest.importorskip("tensorboardX.proto.plugin_hparams_pb2")
    hparams = {"lr": nb.tensor(0.5), "layers": 3, "optimizer": "adam", "bn": True}
    with SummaryWriter(tmp_path) as writer:
        writer.add_hparams(hparams, {"hparam/acc": nb.tensor(0.875)}, {"optimizer": ["adam", "sgd"]}, run_name="r1")
    run = tmp_path / "r1"
    assert read_scalars(run) == {"hparam/acc": (pytest.approx([0]), pytest.approx([0.875]))}
    plugin = {}
    for event in read_events(run):
        for value in event.summary.value:
            if value.metadata.plugin_data.plugin_name == "hparams":
                plugin[value.tag] = plugin_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
    start = plugin["_hparams_/session_start_info"].session_start_info.hparams
    assert start["lr"].number_value == 0.5 and start["layers"].number_value == 3
    assert start["optimizer"].string_value == "adam" and start["bn"].bool_value is True
    experiment = plugin["_hparams_/experiment"].experiment
    assert [m.name.tag for m in experiment.metric_infos] == ["hparam/acc"]
    infos = {info.name: info for info in experiment.hparam_infos}
    assert [v.string_value for v in infos["optimizer"].domain_discrete.values] == ["adam", "sgd"]
    assert plugin["_hparams_/session_end_info"].session_end_info.status == 1  # STATUS_SUCCESS


def test_hparams_rejects_values_tensorboard_cannot_show(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        with pytest.raises(ValueError, match="'shape'"):
            writer.add_hparams({"shape": (1, 2)}, {"acc": 1.0})
        with pytest.raises(TypeError, match="dictionaries"):
            writer.add_hparams([("lr", 1)], {"acc": 1.0})


# ---------------------------------------------------------------------- files and lifetime
def test_default_log_dir_is_runs_time_host_comment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with SummaryWriter(comment="_lr0.1") as writer:
        writer.add_scalar("x", 1.0, 0)
    (run,) = (tmp_path / "runs").iterdir()
    assert writer.log_dir == str(Path("runs") / run.name) == writer.get_logdir()
    assert run.name.endswith("_lr0.1") and len(list(run.glob("events.out.tfevents.*"))) == 1


def test_flush_writes_without_closing_and_add_after_close_reopens(tmp_path):
    writer = SummaryWriter(tmp_path, flush_secs=3600)
    writer.add_scalar("x", 1.0, 0)
    writer.flush()
    assert read_scalars(tmp_path)["x"][1].tolist() == [1.0]
    writer.close()
    writer.close()  # a second close does nothing
    writer.add_scalar("x", 2.0, 1)  # opens a new event file, as torch's writer does
    writer.close()
    assert read_scalars(tmp_path)["x"][1].tolist() == [1.0, 2.0]


def test_purge_step_writes_the_session_start_event(tmp_path):
    with SummaryWriter(tmp_path, purge_step=4) as writer:
        writer.add_scalar("x", 1.0, 4)
    starts = [e.step for e in read_events(tmp_path) if e.HasField("session_log")]
    assert starts == [4]


def test_read_events_verifies_checksums_and_stops_at_a_truncated_record(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        writer.add_scalar("x", 1.0, 0)
        writer.add_scalar("x", 2.0, 1)
    (file,) = tmp_path.glob("events.out.tfevents.*")
    data = file.read_bytes()
    file.write_bytes(data[:-3])  # the last record cut short, as while a writer is still writing
    assert read_scalars(file)["x"][1].tolist() == [1.0]
    corrupt = bytearray(data)
    corrupt[-6] ^= 0xFF  # a byte inside the last record
    file.write_bytes(bytes(corrupt))
    with pytest.raises(ValueError, match="checksum"):
        list(read_events(file))
    with pytest.raises(FileNotFoundError):
        list(read_events(tmp_path / "missing"))


@pytest.mark.cuda
def test_gpu_tensors_are_copied_to_the_host(tmp_path):
    x = nb.arange(6.0, device="cuda").reshape(2, 3) / 6
    with SummaryWriter(tmp_path) as writer:
        writer.add_scalar("s", x.sum(), 0)
        writer.add_histogram("h", x, 0)
        writer.add_image("i", x, 0, dataformats="HW")
    assert read_scalars(tmp_path)["s"][1].tolist() == [2.5]
    assert _values(tmp_path, "histo")["h"][0][1].num == 6
    assert _values(tmp_path, "image")["i"][0][1].width == 3


# ---------------------------------------------------------------------- dependencies
def test_import_is_lazy_and_a_missing_tensorboardx_is_explained():
    # In a fresh interpreter where tensorboardX cannot be imported: nb.utils.tensorboard loads,
    # and only making a writer fails, with the install command in the message.
    code = (
        "import sys; sys.modules['tensorboardX'] = None\n"
        "import nbgrad as nb\n"
        "module = nb.utils.tensorboard\n"
        "assert 'tensorboardX' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
        "try:\n"
        "    module.SummaryWriter('unused')\n"
        "except ModuleNotFoundError as error:\n"
        "    print(error)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert "pip install 'nbgrad[tensorboard]'" in out.stdout


# ---------------------------------------------------------------------- other readers
def test_tensorboard_reads_the_files(tmp_path):
    """TensorBoard's own loader (what `tensorboard --logdir` uses) sees the same values."""
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    with SummaryWriter(tmp_path) as writer:
        for step in range(3):
            writer.add_scalar("loss", 1.0 / (step + 1), step)
        writer.add_histogram("w", np.arange(10.0), 2)
        writer.add_image("img", np.zeros((3, 4, 5), np.float32), 2)
        writer.add_text("note", "hello", 2)
    acc = accumulator.EventAccumulator(str(tmp_path), size_guidance={"tensors": 0})
    acc.Reload()
    assert [(e.step, round(e.value, 6)) for e in acc.Scalars("loss")] == [(0, 1.0), (1, 0.5), (2, 0.333333)]
    (histogram,) = acc.Histograms("w")
    assert histogram.histogram_value.num == 10 and histogram.histogram_value.max == 9.0
    (image,) = acc.Images("img")
    assert (image.height, image.width) == (4, 5)
    (text,) = acc.Tensors("note/text_summary")
    assert text.tensor_proto.string_val[0] == b"hello"


def _payload(value, kind: str):
    """What a summary value holds, comparable across writers (wall times and PNG bytes left out)."""
    if kind == "simple_value":
        return round(value.simple_value, 6)
    if kind == "histo":
        return value.histo.num, list(value.histo.bucket), list(value.histo.bucket_limit)
    if kind == "image":
        return value.image.height, value.image.width, value.image.colorspace
    if kind == "tensor":
        return list(value.tensor.string_val)
    return None


def test_same_events_as_torch_summary_writer(tmp_path):
    """torch.utils.tensorboard, given the same calls, writes the same runs, tags, steps and values."""
    torch = pytest.importorskip("torch")
    torch_tb = pytest.importorskip("torch.utils.tensorboard")

    def log(writer, tensor):
        writer.add_scalar("loss", tensor(0.5), 1)
        writer.add_scalars("acc", {"train": 0.9, "val": 0.8}, 1)
        writer.add_histogram("w", tensor(np.arange(20.0)), 1)
        writer.add_image("img", tensor(np.full((1, 2, 3), 0.5, np.float32)), 1)
        writer.add_images("batch", tensor(np.ones((3, 3, 2, 2), np.float32)), 1)
        writer.add_text("note", "hi", 1)
        writer.add_hparams({"lr": 0.1, "opt": "sgd"}, {"hp/acc": 0.8}, run_name="hp")
        writer.close()

    log(SummaryWriter(tmp_path / "nbgrad"), nb.tensor)
    log(torch_tb.SummaryWriter(str(tmp_path / "torch")), torch.tensor)

    def summary(root: Path) -> dict:
        runs = {}
        for run in sorted({p.parent for p in root.rglob("events.out.tfevents.*")}):
            found = []
            for event in read_events(run):
                for v in event.summary.value:
                    kind = v.WhichOneof("value")
                    # torch stamps the hparams records with its own plugin versions: compare their tags only.
                    payload = None if v.tag.startswith("_hparams_") else _payload(v, kind)
                    found.append((event.step, v.tag, kind, payload))
            runs[str(run.relative_to(root))] = found
        return runs

    assert summary(tmp_path / "nbgrad") == summary(tmp_path / "torch")
    # torch decodes our PNG and its own to the same pixels (it uses Pillow; 0.5 * 255 truncates to 127).
    Image = pytest.importorskip("PIL.Image")
    ours = _values(tmp_path / "nbgrad", "image")["img"][0][1].encoded_image_string
    theirs = _values(tmp_path / "torch", "image")["img"][0][1].encoded_image_string
    assert (np.asarray(Image.open(io.BytesIO(ours))) == np.asarray(Image.open(io.BytesIO(theirs)))).all()
