"""nb.viz matplotlib helpers: figure types, axes, the data in the artists, no pyplot state left behind."""

from __future__ import annotations

import math

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib._pylab_helpers import Gcf  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import nbgrad as nb  # noqa: E402
from nbgrad.display import html  # noqa: E402
from nbgrad.viz import plots  # noqa: E402
from nbgrad.viz.plots import hist, imshow, plot_history, show_images  # noqa: E402


@pytest.fixture(autouse=True)
def _no_pyplot_figures():
    """The helpers build figures without pyplot: none may be left in pyplot's registry."""
    before = Gcf.get_num_fig_managers()
    yield
    assert Gcf.get_num_fig_managers() == before


def image_array(ax) -> np.ndarray:
    (im,) = ax.get_images()
    return np.asarray(im.get_array())


def test_imshow_heatmap_is_centred_on_zero_with_a_colour_bar(device):
    t = nb.tensor([[-1.0, 0.5], [2.0, 0.0]], device=device)
    fig = imshow(t, title="w")
    assert isinstance(fig, Figure)
    ax, cbar = fig.axes
    assert ax.get_title() == "w" and cbar.get_label() == "<colorbar>"
    (im,) = ax.get_images()
    assert im.get_clim() == (-2.0, 2.0)
    np.testing.assert_array_equal(image_array(ax), [[-1.0, 0.5], [2.0, 0.0]])
    # The map is the HTML views' RdBu: blue for negative, red for positive.
    assert im.cmap(0.0)[2] > im.cmap(0.0)[0] and im.cmap(1.0)[0] > im.cmap(1.0)[2]


def test_imshow_nan_and_inf_have_their_own_colours():
    fig = imshow(nb.tensor([[float("nan"), float("inf")], [-float("inf"), 1.0]]))
    (im,) = fig.axes[0].get_images()
    assert im.get_clim() == (-1.0, 1.0)  # from the finite values only
    assert matplotlib.colors.to_hex(im.cmap.get_bad()) == html.NAN_COLOR
    assert matplotlib.colors.to_hex(im.cmap.get_over()) == html.POSINF_COLOR
    assert matplotlib.colors.to_hex(im.cmap.get_under()) == html.NEGINF_COLOR


def test_imshow_sequential_map_spans_min_to_max():
    (im,) = imshow(nb.tensor([[1.0, 2.0], [3.0, 5.0]]), cmap="viridis").axes[0].get_images()
    assert im.get_clim() == (1.0, 5.0)
    (im,) = imshow(nb.tensor([[1.0, 2.0]]), cmap="magma").axes[0].get_images()  # a matplotlib name
    assert im.cmap.name.startswith("magma")


def test_imshow_chw_images():
    rgb = nb.rand(3, 5, 7)
    fig = imshow(rgb)
    assert len(fig.axes) == 1  # an image: no colour bar
    np.testing.assert_allclose(image_array(fig.axes[0]), rgb.numpy().transpose(1, 2, 0))
    gray = imshow(nb.rand(1, 5, 7))
    (im,) = gray.axes[0].get_images()
    assert image_array(gray.axes[0]).shape == (5, 7) and im.cmap.name == "gray"
    assert imshow(nb.rand(1, 1, 3, 6, 6)).axes[0].get_images()[0].get_array().shape == (6, 6, 3)


def test_imshow_rejects_other_shapes():
    with pytest.raises(ValueError, match=r"got shape \(2, 5, 7\)"):
        imshow(nb.rand(2, 5, 7))
    with pytest.raises(ValueError, match="imshow"):
        imshow(nb.rand(5))


def test_imshow_downsamples_big_data_before_drawing():
    fig = imshow(nb.randn(3000, 10))
    assert image_array(fig.axes[0]).shape == (1000, 10)  # block means of 3 rows


def test_imshow_int_bool_and_grad_tensors():
    assert image_array(imshow(nb.arange(6).reshape(2, 3)).axes[0]).tolist() == [[0, 1, 2], [3, 4, 5]]
    assert image_array(imshow(nb.tensor([[True, False]])).axes[0]).tolist() == [[1.0, 0.0]]
    w = nb.randn(3, 3, requires_grad=True)
    imshow(w * 2)  # no .detach() needed


def test_imshow_into_given_axes():
    fig = Figure()
    ax = fig.add_subplot()
    assert imshow(nb.randn(4, 4), ax=ax) is fig
    assert fig.axes[0] is ax and len(fig.axes) == 2


def test_hist_counts_every_finite_value(device):
    t = nb.tensor([0.0, 1.0, 1.0, 2.0, float("nan"), float("inf")], device=device)
    fig = hist(t, bins=4)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    (bars,) = ax.patches
    counts, edges, _ = bars.get_data()
    assert counts.sum() == 4 and len(edges) == 5
    assert "1 NaN" in ax.get_title() and "1 +Inf" in ax.get_title()


def test_hist_of_a_big_tensor_draws_a_sample():
    fig = hist(nb.randn(3_000_000), bins=10)
    ax = fig.axes[0]
    assert ax.patches[0].get_data()[0].sum() == 1_000_000
    assert "sample of 1,000,000" in ax.get_ylabel()


def test_hist_integers_get_a_bin_per_value_and_empty_tensors_draw():
    counts = hist(nb.tensor([0, 1, 1, 3]), bins=50).axes[0].patches[0].get_data()[0]
    assert counts.tolist() == [1, 2, 0, 1]
    hist(nb.zeros(0))
    hist(nb.tensor([float("nan")]))


def test_show_images_grid_with_labels():
    batch = nb.rand(10, 1, 6, 6)
    fig = show_images(batch, labels=nb.arange(10), ncols=4)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 12  # 3 rows of 4; the last two are empty
    drawn = [ax for ax in fig.axes if ax.get_images()]
    assert len(drawn) == 10
    assert [ax.get_title() for ax in drawn] == [str(i) for i in range(10)]
    np.testing.assert_allclose(image_array(drawn[7]), batch.numpy()[7, 0])


def test_show_images_rgb_and_nhw():
    fig = show_images(nb.rand(3, 3, 5, 5), labels=["cat", "dog", "eel"])
    assert [ax.get_title() for ax in fig.axes] == ["cat", "dog", "eel"]
    assert image_array(fig.axes[0]).shape == (5, 5, 3)
    assert image_array(show_images(nb.rand(2, 5, 5)).axes[1]).shape == (5, 5)
    # Out-of-range RGB is scaled into [0, 1].
    out = image_array(show_images(nb.randn(1, 3, 4, 4) * 10).axes[0])
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_show_images_bounds_what_it_draws():
    fig = show_images(nb.rand(100, 1, 300, 300), ncols=8)
    drawn = [ax for ax in fig.axes if ax.get_images()]
    assert len(drawn) == plots.MAX_IMAGES and "first 64 of 100" in fig._suptitle.get_text()
    assert image_array(drawn[0]).shape == (150, 150)


def test_show_images_checks_its_input():
    with pytest.raises(ValueError, match="3 labels for 2 images"):
        show_images(nb.rand(2, 4, 4), labels=[1, 2, 3])
    with pytest.raises(ValueError, match="show_images"):
        show_images(nb.rand(4, 4))


def test_plot_history_groups_splits_of_a_metric():
    history = {"loss": [1.0, 0.5, 0.25], "val_loss": [1.2, 0.7, 0.5], "acc": [0.1, 0.5, 0.9]}
    fig = plot_history(history)
    assert isinstance(fig, Figure)
    loss, acc = fig.axes
    assert (loss.get_title(), acc.get_title()) == ("loss", "acc")
    assert [line.get_label() for line in loss.get_lines()] == ["loss", "val_loss"]
    np.testing.assert_array_equal(loss.get_lines()[1].get_ydata(), [1.2, 0.7, 0.5])
    assert loss.get_legend() is not None and acc.get_legend() is None


def test_plot_history_from_a_list_of_dicts_with_tensors_and_gaps():
    rows = [
        {"epoch": 1, "train_loss": nb.tensor(1.0), "val_loss": 2.0},
        {"epoch": 2, "train_loss": nb.tensor(0.5)},
        {"epoch": 3, "train_loss": 0.25, "val_loss": 1.0},
    ]
    (ax,) = plot_history(rows, title="run").axes
    assert ax.get_title() == "loss" and ax.get_xlabel() == "epoch"
    train, val = ax.get_lines()
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3])
    assert train.get_ydata().tolist() == [1.0, 0.5, 0.25]
    assert math.isnan(val.get_ydata()[1])


def test_plot_history_spreads_a_per_epoch_series_over_steps():
    (ax,) = plot_history({"loss": list(range(100)), "val_loss": [5.0, 4.0]}).axes
    assert ax.get_lines()[1].get_xdata().tolist() == [49.0, 99.0]
    assert ax.get_xlabel() == "step"


@pytest.mark.parametrize(
    "key, metric",
    [("val_loss", "loss"), ("train/acc", "acc"), ("loss_val", "loss"), ("test-f1", "f1"), ("lr", "lr")],
)
def test_metric_names(key, metric):
    assert plots._metric_name(key) == metric


def test_plot_history_needs_a_metric():
    with pytest.raises(ValueError, match="no metric"):
        plot_history({"epoch": [1, 2]})


def test_figures_render_to_png():
    import io

    buf = io.BytesIO()
    imshow(nb.randn(4, 4)).savefig(buf, format="png")
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_importing_nbgrad_viz_plots_does_not_import_matplotlib_pyplot():
    import subprocess
    import sys

    code = "import sys, nbgrad.viz.plots; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
