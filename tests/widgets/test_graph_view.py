"""nb.widgets.GraphView: the drawing, opening/closing module calls, node details, static fallback."""

from __future__ import annotations

import gc
import re
import weakref

import numpy as np
import pytest

pytest.importorskip("anywidget")

import nbgrad as nb  # noqa: E402
from nbgrad import nn  # noqa: E402
from nbgrad.display import graph as G  # noqa: E402
from nbgrad.widgets.graph_view import GraphView  # noqa: E402


def node_groups(svg: str) -> int:
    """How many node boxes the SVG draws: what the front end indexes clicks by."""
    return len(re.findall(r"<g><title>", svg))


@pytest.fixture
def mlp():
    nb.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Sequential(nn.Linear(8, 8), nn.Tanh()), nn.Linear(8, 2))
    x = nb.randn(5, 4)
    return model, x, model(x).sum()


def test_small_graph_is_drawn_like_viz_graph(mlp):
    model, _, out = mlp
    view = GraphView(out, model=model)
    static = nb.viz.graph(out, model=model)
    assert view.svg == static.svg()  # the same extraction, layout and SVG
    assert node_groups(view.svg) == len(view.nodes)
    assert view.expanded == list(range(len(view.groups)))  # small: everything open
    labels = [g["label"] for g in view.groups]
    assert labels == ["3: Linear", "2: Sequential", "2.1: Tanh", "2.0: Linear", "1: ReLU", "0: Linear"]
    assert view.groups[2]["parent"] == 1 and view.groups[2]["depth"] == 2


def test_closing_and_opening_module_calls_relayouts(mlp):
    model, _, out = mlp
    view = GraphView(out, model=model)
    view.set_state({"expanded": []})  # as the front end's "close all" sends it
    labels = [n["label"] for n in view.nodes]
    assert "2: Sequential" in labels and "3: Linear" in labels
    assert node_groups(view.svg) == len(view.nodes) < 12
    assert "(double-click" not in view.detail
    box = labels.index("2: Sequential")
    assert view.nodes[box]["group"] == 1
    view.set_state({"expanded": [1]})  # a double click on the Sequential box
    labels = [n["label"] for n in view.nodes]
    assert "2: Sequential" not in labels and "2.0: Linear" in labels and "2.1: Tanh" not in labels
    view.expand(3)  # 2.0 inside it: opened
    assert 3 in view.expanded
    view.collapse(1)  # closes 1 and the calls inside it
    assert view.expanded == []
    view.expand(2)  # opening an inner call opens its parent too
    assert view.expanded == [1, 2]


def test_expanded_set_from_the_front_end_is_validated(mlp):
    model, _, out = mlp
    view = GraphView(out, model=model)
    view.expanded = [5, 5, 99, 0]
    assert view.expanded == [0, 5]


def test_collapse_argument_sets_the_first_view(mlp):
    model, _, out = mlp
    assert GraphView(out, model=model, collapse=True).expanded == []
    assert GraphView(out, model=model, collapse=2).expanded == [0, 1, 4, 5]  # the depth-1 calls
    assert GraphView(out, model=model, collapse=False).expanded == list(range(6))
    with pytest.raises(ValueError, match="collapse"):
        GraphView(out, model=model, collapse="sometimes")


def test_auto_collapse_keeps_big_graphs_small():
    nb.manual_seed(0)
    model = nn.Sequential(*[nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4), nn.ReLU()) for _ in range(30)])
    out = model(nb.randn(2, 4)).sum()
    full = G.extract(out, dict(model.named_parameters()))
    assert len(full.nodes) > G.AUTO_MAX_NODES
    view = GraphView(out, model=model)
    assert len(view.nodes) <= G.AUTO_MAX_NODES
    # Opened level by level: every closed call sits at one depth, every call above it is open.
    closed = {m["depth"] for g, m in enumerate(view.groups) if g not in view.expanded}
    assert len(closed) == 1
    assert all(g in view.expanded for g, m in enumerate(view.groups) if m["depth"] < min(closed))
    view.expanded = list(range(len(view.groups)))
    assert len(view.nodes) > G.AUTO_MAX_NODES


def test_clicking_a_leaf_shows_its_value_and_gradient(mlp):
    model, _, out = mlp
    out.backward()
    view = GraphView(out, model=model)
    k = [n["label"] for n in view.nodes].index("0.weight")
    view.set_state({"selected": k})
    assert "Tensor[8, 4]" in view.detail and ".grad" in view.detail and "<img" in view.detail
    view.selected = -1
    assert view.detail == ""


def test_clicking_an_op_shows_its_output_and_saved_tensors():
    x = nb.randn(3, 4, requires_grad=True)
    y = x.tanh()
    out = (y * 2).sum()
    view = GraphView(out)
    labels = [n["label"] for n in view.nodes]
    view.selected = labels.index("Tanh")
    assert "saved output" in view.detail and "Tensor[3, 4]" in view.detail
    view.selected = labels.index("Sum")
    assert "output value" in view.detail  # the output tensor itself
    out.backward()  # frees what the ops saved
    view.selected = labels.index("Tanh")
    assert "freed by backward" in view.detail


def test_clicking_a_module_box_lists_its_ops_and_parameters(mlp):
    model, _, out = mlp
    view = GraphView(out, model=model, collapse=True)
    k = [n["label"] for n in view.nodes].index("0: Linear")
    view.selected = k
    assert "0.weight" in view.detail and "0.bias" in view.detail and "Tensor[8]" in view.detail


def test_relayout_clears_the_selection(mlp):
    model, _, out = mlp
    view = GraphView(out, model=model)
    view.selected = 1
    view.expanded = []
    assert view.selected == -1 and view.detail == ""


def test_static_fallback_is_the_viz_graph_html_and_deterministic(mlp):
    model, x, _ = mlp
    a = GraphView(model(x).sum(), model=model, collapse=True)
    b = GraphView(model(x).sum(), model=model, collapse=True)
    (da, _), (db, _) = a._repr_mimebundle_(), b._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in da
    assert da["text/html"] == db["text/html"] and da["text/plain"] == db["text/plain"]
    assert da["text/html"].startswith('<div class="nbgrad-graph"') and "<svg" in da["text/html"]
    assert da["text/plain"] == a.summary


def test_untagged_graph_without_modules_has_no_groups():
    w = nb.randn(3, requires_grad=True)
    view = GraphView({"loss": (w.exp() * w).sum()})
    assert view.groups == [] and view.expanded == []
    assert [n["group"] for n in view.nodes] == [-1] * len(view.nodes)


def test_close_lets_the_graph_go(mlp):
    model, x, _ = mlp
    out = model(x).sum()
    view = GraphView(out, model=model)
    ref = weakref.ref(out.grad_fn)
    del out
    gc.collect()
    assert ref() is not None  # the widget keeps the graph while it lives
    view.close()
    gc.collect()
    assert ref() is None
    np.testing.assert_equal(view.nodes != [], True)  # the last drawing stays for the static view
