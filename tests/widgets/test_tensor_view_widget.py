"""nb.widgets.TensorView: traits, the slice buffer, front-end moves, bounded transfer, static fallback."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("anywidget")

import nbgrad as nb  # noqa: E402
from nbgrad.widgets.tensor_view import TensorView, explore  # noqa: E402


def decoded(view: TensorView) -> np.ndarray:
    """The slice as the front end reads it: little-endian float32, ``data_shape``."""
    return np.frombuffer(view.data, dtype="<f4").reshape(view.data_shape)


def front_end_sets(view: TensorView, **state) -> None:
    """Apply a state message as the widget front end sends it (one message, several traits)."""
    view.set_state(state)


@pytest.fixture
def cube():
    rng = np.random.default_rng(0)
    return rng.standard_normal((3, 5, 7, 4)).astype(np.float32)


def test_first_slice_is_the_last_two_axes_at_index_zero(cube):
    view = TensorView(nb.tensor(cube))
    assert view.shape == [3, 5, 7, 4]
    assert (view.row_axis, view.col_axis, view.index) == (2, 3, [0, 0, 0, 0])
    assert (view.dtype, view.device) == ("float32", "cpu")
    np.testing.assert_array_equal(decoded(view), cube[0, 0])
    assert view.block == [1, 1] and view.slice_shape == [7, 4]
    stats = view.slice_stats
    assert stats["numel"] == 28
    assert stats["min"] == pytest.approx(float(cube[0, 0].min()))
    assert stats["mean"] == pytest.approx(float(cube[0, 0].mean()), abs=1e-6)
    assert view.tensor_stats["numel"] == cube.size
    assert view.tensor_stats["max"] == pytest.approx(float(cube.max()))


def test_front_end_slider_moves_send_the_new_slice(cube):
    view = TensorView(nb.tensor(cube))
    front_end_sets(view, index=[2, 4, 0, 0])
    np.testing.assert_array_equal(decoded(view), cube[2, 4])
    assert view.slice_stats["max"] == pytest.approx(float(cube[2, 4].max()))
    counts = np.frombuffer(view.hist, dtype="<f8")
    assert counts.sum() == 28  # the histogram is the new slice's
    lo, hi = view.hist_range
    assert (lo, hi) == pytest.approx((float(cube[2, 4].min()), float(cube[2, 4].max())))


def test_choosing_axes_transposes_and_swaps(cube):
    view = TensorView(nb.tensor(cube), index=[1, 2, 3, 0])
    front_end_sets(view, row_axis=3, col_axis=0)  # rows = axis 3, cols = axis 0: a transposed cut
    assert view.data_shape == [4, 3]
    np.testing.assert_array_equal(decoded(view), cube[:, 2, 3, :].T)
    view.col_axis = 3  # onto the row axis: the two swap, as the front end's picker does
    assert (view.row_axis, view.col_axis) == (0, 3)
    np.testing.assert_array_equal(decoded(view), cube[:, 2, 3, :])


def test_index_is_clamped_and_validated(cube):
    view = TensorView(nb.tensor(cube))
    view.index = [9, -4, 0, 0]
    assert view.index == [2, 0, 0, 0]
    np.testing.assert_array_equal(decoded(view), cube[2, 0])
    with pytest.raises(Exception, match="4 entries"):
        view.index = [0, 0]
    with pytest.raises(ValueError, match="differ"):
        TensorView(nb.tensor(cube), row_axis=1, col_axis=1)


def test_one_message_changing_several_traits_sends_once(cube, monkeypatch):
    view = TensorView(nb.tensor(cube))
    sent = []
    original = TensorView._histogram
    monkeypatch.setattr(TensorView, "_histogram", staticmethod(lambda s, st: sent.append(1) or original(s, st)))
    front_end_sets(view, index=[1, 1, 0, 0], show_grad=False)
    assert len(sent) == 1
    view.index = [1, 1, 5, 2]  # only positions on the displayed axes changed: the same slice
    assert len(sent) == 1


def test_grad_toggle_shows_the_gradient():
    w = nb.randn(4, 6, requires_grad=True)
    (w * w).sum().backward()
    view = TensorView(w)
    assert view.has_grad and not view.show_grad
    front_end_sets(view, show_grad=True)
    np.testing.assert_allclose(decoded(view), 2 * w.detach().numpy(), rtol=1e-6)
    assert view.grad_stats["numel"] == 24


def test_no_grad_keeps_the_toggle_off_and_refresh_picks_up_a_new_grad():
    w = nb.randn(3, 3, requires_grad=True)
    view = TensorView(w)
    assert not view.has_grad and view.grad_stats == {}
    (3 * w).sum().backward()
    view.refresh()
    assert view.has_grad
    view.show_grad = True
    np.testing.assert_allclose(decoded(view), np.full((3, 3), 3.0))


def test_low_ranks_and_odd_dtypes_show_as_a_strip():
    v1 = TensorView(nb.arange(5))
    assert v1.data_shape == [1, 5] and v1.index == [0, 0]
    np.testing.assert_array_equal(decoded(v1), [[0, 1, 2, 3, 4]])
    v0 = TensorView(nb.tensor(2.5))
    np.testing.assert_array_equal(decoded(v0), [[2.5]])
    vb = TensorView(nb.tensor([[True, False]]))
    np.testing.assert_array_equal(decoded(vb), [[1.0, 0.0]])


def test_nan_and_inf_travel_in_the_buffer_and_the_counts():
    a = np.array([[1.0, np.nan], [np.inf, -np.inf]], dtype=np.float32)
    view = TensorView(nb.tensor(a))
    got = decoded(view)
    assert np.isnan(got[0, 1]) and got[1, 0] == np.inf and got[1, 1] == -np.inf
    s = view.slice_stats
    assert (s["nan"], s["posinf"], s["neginf"], s["min"], s["max"]) == (1, 1, 1, 1.0, 1.0)


def test_a_huge_slice_is_sent_as_bounded_block_means():
    # 10^7 elements in one 2-D slice: the bytes sent stay under 512 x 512 float32 (1 MiB).
    a = np.arange(10_000_000, dtype=np.float32).reshape(4000, 2500)
    view = TensorView(nb.tensor(a))
    assert len(view.data) <= 512 * 512 * 4
    assert len(view.data) + len(view.hist) < 1.1 * 2**20
    assert view.block == [8, 5] and view.data_shape == [500, 500]
    expected = a.reshape(500, 8, 500, 5).mean(axis=(1, 3), dtype=np.float64)
    np.testing.assert_allclose(decoded(view), expected, rtol=1e-6)
    assert "block means of 8×5" in view.message
    view.max_size = 100
    assert view.data_shape == [100, 100] and len(view.data) == 100 * 100 * 4


def test_bytes_sent_do_not_grow_with_the_tensor():
    sizes = [len(TensorView(nb.zeros(8, n, n)).data) for n in (512, 1024, 3000)]
    assert sizes[0] == 512 * 512 * 4 and max(sizes) <= 512 * 512 * 4  # 72x more elements, no more bytes
    big = TensorView(nb.zeros(8, 3000, 3000))
    state = big.get_state()
    assert isinstance(state["data"], (bytes, memoryview))  # a binary buffer, not a JSON list


def test_gpu_style_arrays_are_sliced_before_moving(monkeypatch, cube):
    # Only the slice (downsampled) goes through backend.to_numpy, never the whole tensor.
    from nbgrad import backend

    moved = []
    real = backend.to_numpy
    monkeypatch.setattr(backend, "to_numpy", lambda a: moved.append(a.size) or real(a))
    view = TensorView(nb.tensor(cube))
    moved.clear()
    view.index = [1, 3, 0, 0]
    assert moved and max(moved) <= 28  # the 7x4 slice (stats move scalars)
    np.testing.assert_array_equal(decoded(view), cube[1, 3])


def test_static_fallback_is_the_rich_html_of_the_slice_and_deterministic(cube):
    t = nb.tensor(cube)
    one, two = TensorView(t, index=[1, 2, 0, 0]), TensorView(t, index=[1, 2, 0, 0])
    (b1, _), (b2, _) = one._repr_mimebundle_(), two._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in b1
    assert b1["text/html"] == b2["text/html"]
    assert b1["text/plain"] == b2["text/plain"] == "TensorView(Tensor[3, 5, 7, 4], slice [1, 2, :, :])"
    html = b1["text/html"]
    assert "slice [1, 2, :, :]" in html and "Tensor[7, 4]" in html and "<img" in html


def test_explore_is_tensorview():
    view = explore(nb.ones(2, 3), cmap="viridis")
    assert isinstance(view, TensorView) and view.cmap == "viridis"
