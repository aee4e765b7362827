"""LossPlot's Python side: traits, the bytes it sends, throttling, the static fallback and its refresh."""

import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import nbgrad as nb
from nbgrad.display import html

pytest.importorskip("anywidget")

from nbgrad.widgets import LossPlot, _base  # noqa: E402 - after the skip: these import anywidget
from nbgrad.widgets._base import from_buffer  # noqa: E402
from nbgrad.widgets.loss_plot import (  # noqa: E402
    SERIES_COLORS,
    TAIL_LIMIT,
    goal_of,
    log_ticks,
    nice_ticks,
    panel_of,
)

ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clocked():
    """A LossPlot on a fake clock, with every message it would send recorded."""
    plot = LossPlot()
    clock = FakeClock()
    plot._throttle.clock = clock
    plot._throttle.restart()
    sent = []
    plot._send = lambda msg, buffers=None: sent.append((msg, [bytes(b) for b in buffers or []]))
    yield plot, clock, sent
    plot.close()


def tail_rows(plot):
    return from_buffer(plot._tail, 3)


def test_import_stays_light():
    code = (
        "import sys, nbgrad, nbgrad.widgets; "
        "print(sorted(m for m in ('ipywidgets', 'anywidget', 'IPython') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
    assert nb.widgets.LossPlot is LossPlot
    assert {"LossPlot", "TensorView", "TrainingMonitor", "GraphView", "explore"} <= set(dir(nb.widgets))


def test_traits_and_panels():
    plot = LossPlot(goals={"bleu_like": "max"}, smoothing=0.5)
    assert (plot.log_scale, plot.smoothing, plot.x_axis) == (False, 0.5, "step")
    plot.log(loss=1.0, acc=0.5, val_loss=1.2, val_acc=0.4, lr=0.1, bleu_like=3.0)
    assert plot._series == ["loss", "acc", "val_loss", "val_acc", "lr", "bleu_like"]
    panels = {p["title"]: p for p in plot._panels}
    assert [s["name"] for s in panels["loss"]["series"]] == ["loss", "val_loss"]
    assert [s["name"] for s in panels["acc"]["series"]] == ["acc", "val_acc"]
    assert (panels["loss"]["goal"], panels["acc"]["goal"], panels["lr"]["goal"]) == ("min", "max", "min")
    assert panels["bleu_like"]["goal"] == "max"
    assert [s["color"] for s in panels["loss"]["series"]] == list(SERIES_COLORS[:2])
    with pytest.raises(Exception, match="x_axis"):
        plot.x_axis = "time"
    plot.close()


def test_panel_names():
    assert panel_of("val_loss") == ("loss", 1)
    assert panel_of("train_acc") == ("acc", 0)
    assert panel_of("test_acc") == ("acc", 2)
    assert panel_of("val_") == ("val_", 0)  # a bare prefix is a name of its own
    assert goal_of("top5_accuracy") == "max" and goal_of("perplexity") == "min"


def test_bytes_sent_decode_to_the_logged_values(clocked):
    plot, clock, sent = clocked
    values = np.random.default_rng(0).standard_normal(50)
    for v in values:
        plot.log(loss=v)
    assert sent == [] or all("_tail" not in m["state"] for m, _ in sent)  # nothing before the interval
    clock.now += 0.1
    plot.log(loss=0.25)
    msg, buffers = [(m, b) for m, b in sent if m.get("method") == "update" and ["_tail"] in m["buffer_paths"]][-1]
    rows = np.frombuffer(buffers[msg["buffer_paths"].index(["_tail"])], dtype="<f8").reshape(-1, 3)
    np.testing.assert_array_equal(rows[:, 0], 0)
    np.testing.assert_array_equal(rows[:, 1], np.arange(51))
    np.testing.assert_array_equal(rows[:, 2], [*values, 0.25])  # float64 on the wire: exact


def test_throttling_batches_points(clocked):
    plot, clock, sent = clocked
    for i in range(1000):
        plot.log(loss=float(i))
        clock.now += 0.00005  # 1000 calls in 50 ms
    assert not [
        m for m, _ in sent if "_tail" in m.get("buffer_paths", [[]])[0:1][0:1] or ["_tail"] in m.get("buffer_paths", [])
    ]
    assert len(plot._pending) == 1000
    clock.now += 0.06
    plot.log(loss=1000.0)
    tails = [m for m, _ in sent if ["_tail"] in m.get("buffer_paths", [])]
    assert len(tails) == 1 and plot._pending == []
    assert tail_rows(plot).shape == (1001, 3)
    # 10 seconds of logging every millisecond: one message per 100 ms, never more.
    before = len(
        [m for m, _ in sent if ["_tail"] in m.get("buffer_paths", []) or ["_snapshot"] in m.get("buffer_paths", [])]
    )
    for _ in range(10_000):
        plot.log(loss=1.0)
        clock.now += 0.001
    after = len(
        [m for m, _ in sent if ["_tail"] in m.get("buffer_paths", []) or ["_snapshot"] in m.get("buffer_paths", [])]
    )
    assert 95 <= after - before <= 101


def test_tail_rolls_into_a_bounded_snapshot():
    plot = LossPlot(buckets=64)
    n = 200_000
    y = np.cumsum(np.random.default_rng(1).standard_normal(n))
    for i, v in enumerate(y):
        plot.log(step=i, loss=v)
        if i % 5000 == 0:
            plot.flush()
    plot.flush()
    snap = from_buffer(plot._snapshot, 8)
    tail = tail_rows(plot)
    assert len(tail) <= TAIL_LIMIT and len(snap) <= 65
    # Together they hold every point's extremes: the global min and max with their steps.
    ys = np.concatenate([snap[:, 3], snap[:, 5], tail[:, 2]])
    assert ys.min() == y.min() and ys.max() == y.max()
    assert snap[:, 1].sum() + len(tail) == n
    assert plot.best("loss") == (float(np.argmin(y)), float(y.min()))
    plot.close()


def test_step_rules():
    plot = LossPlot()
    for _ in range(3):
        plot.log(loss=1.0)
    plot.log(epoch=1, val_loss=2.0)  # joins the last training step
    plot.log(loss=0.5)
    plot.log(step=10, loss=0.4)
    plot.log(loss=0.3)
    plot.flush()
    assert plot.series("loss").points()[0].tolist() == [0, 1, 2, 3, 10, 11]
    assert plot.series("val_loss").points()[0].tolist() == [2]
    assert plot.series("epoch").points()[0].tolist() == [2]
    plot.close()


def test_tensors_are_converted_at_once():
    plot = LossPlot()
    w = nb.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    plot.log(loss=loss)
    assert plot._pending[0] == (0, 0, 5.0) and type(plot._pending[0][2]) is float
    plot.close()


def test_static_fallback_is_deterministic_wellformed_svg():
    def make():
        plot = LossPlot(title="run <1>", smoothing=0.3)
        rng = np.random.default_rng(0)
        for i in range(3000):
            plot.log(loss=np.exp(-i / 500) + 0.01 * rng.random(), acc=1 - np.exp(-i / 700))
            if i % 1000 == 999:
                plot.log(epoch=i // 1000 + 1, val_loss=np.exp(-i / 500) + 0.05, val_acc=0.8)
        return plot

    a, b = make(), make()
    data, _ = a._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    page = data["text/html"]
    assert page == b._repr_mimebundle_()[0]["text/html"]
    assert "<script" not in page and "run &lt;1&gt;" in page
    svg = re.search(r"<svg.*</svg>", page, re.S).group(0)
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    paths = [p for p in root.iter("{http://www.w3.org/2000/svg}path") if p.get("stroke") in SERIES_COLORS]
    assert len(paths) >= 4  # four series (raw and smoothed)
    assert "min 0.0" in page and "max 0.8" in page  # best-value read-outs
    assert data["text/plain"].startswith("LossPlot(loss: 3000 points") and "0x" not in data["text/plain"]
    empty = LossPlot()._repr_mimebundle_()[0]
    assert (
        "nothing logged yet" in empty["text/html"]
        and ET.fromstring(re.search(r"<svg.*</svg>", empty["text/html"], re.S).group(0)) is not None
    )
    for p in (a, b):
        p.close()


def test_log_scale_and_epoch_axis_in_fallback():
    plot = LossPlot(log_scale=True, x_axis="epoch")
    for i in range(100):
        plot.log(loss=10.0 ** (-i / 25), epoch=i / 10)
    svg = plot._repr_mimebundle_()[0]["text/html"]
    assert ">1e-04<" in svg and ">1<" in svg and ">epoch<" in svg
    plot.close()


def test_display_refresh_and_close(monkeypatch):
    calls = []
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: calls.append(("display", a, k)))
    monkeypatch.setattr(IPython.display, "update_display", lambda *a, **k: calls.append(("update", a, k)))
    plot = LossPlot()
    assert plot.refresh_fallback() is False  # never shown: nothing to refresh
    plot._ipython_display_()
    kind, (data,), kwargs = calls[-1]
    display_id = kwargs["display_id"]
    assert kind == "display" and kwargs["raw"] and display_id == f"nbgrad-{plot.model_id}"
    assert "application/vnd.jupyter.widget-view+json" in data and "nothing logged" in data["text/html"]
    plot.log(loss=1.0)
    plot.log(loss=0.5)
    plot.finish()
    kind, (data,), kwargs = calls[-1]
    assert kind == "update" and kwargs["display_id"] == display_id
    assert "loss: 2 points" in data["text/plain"] and "<svg" in data["text/html"]
    n = len(calls)
    plot.finish()  # nothing new: no second refresh
    assert len(calls) == n
    plot.close()
    kind, (data,), kwargs = calls[-1]
    assert kind == "update" and "application/vnd.jupyter.widget-view+json" not in data  # the picture stays
    assert "loss: 2 points" in data["text/plain"]


def test_cell_end_flushes_and_refreshes(monkeypatch):
    from IPython.core.events import EventManager, available_events

    class Shell:
        events = EventManager(None, available_events)

    shell = Shell()
    monkeypatch.setattr("IPython.get_ipython", lambda: shell)
    refreshed = []
    monkeypatch.setattr(LossPlot, "refresh_fallback", lambda self: refreshed.append(len(self._pending)) or True)
    plot = LossPlot()
    plot.log(loss=1.0)
    assert plot._pending
    shell.events.trigger("post_run_cell", None)
    assert plot._pending == [] and refreshed == [0]
    shell.events.trigger("post_run_cell", None)  # a cell that logged nothing
    assert refreshed == [0]
    plot.close()
    assert not shell.events.callbacks["post_run_cell"]


def test_ticks():
    assert nice_ticks(0, 1) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0.1, 0.35, 5) == [0.1, 0.15, 0.2, 0.25, 0.3, 0.35]
    assert log_ticks(0.001, 10) == [0.001, 0.01, 0.1, 1.0, 10.0]
    assert log_ticks(1, 100) == [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]


def test_front_end_bundle_and_shared_constants():
    esm = _base.bundle_esm("loss_plot.js")
    assert "export default" in esm and "./lib/" not in esm
    js = (ROOT / "widgets" / "lib" / "colormap.js").read_text()
    anchors = json.loads(
        re.sub(r"(\w+):", r'"\1":', re.search(r"ANCHORS = (\{.*?\});", js, re.S).group(1)).replace(",\n}", "\n}")
    )
    assert anchors == html._ANCHORS
    assert tuple(re.findall(r'"(#\w{6})"', re.search(r"CATEGORICAL = \[(.*?)\]", js).group(1))) == SERIES_COLORS


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_bundle_parses_and_node_tests_pass(tmp_path):
    bundle = tmp_path / "loss_plot.mjs"
    bundle.write_text(_base.bundle_esm("loss_plot.js"))
    subprocess.run([NODE, "--check", str(bundle)], check=True)
    tests = sorted(str(p) for p in (ROOT / "widgets" / "test").glob("*.test.mjs"))
    out = subprocess.run([NODE, "--test", *tests], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_colormap_js_matches_python():
    code = (
        "import { colormap } from './widgets/lib/colormap.js';"
        "console.log(JSON.stringify(Object.fromEntries(['RdBu','coolwarm','viridis','gray']"
        ".map(n => [n, Array.from(colormap(n, 252))]))));"
    )
    out = subprocess.run(
        [NODE, "--input-type=module", "-e", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    tables = json.loads(out.stdout)
    for name, table in tables.items():
        np.testing.assert_array_equal(np.array(table).reshape(-1, 3), html.colormap(name, 252), err_msg=name)
