"""The computation-graph view: extraction, collapsing, layout speed, SVG / DOT text, grad_fn display."""

import sys
import time
import xml.etree.ElementTree as ET

import pytest

import nbgrad as nb
import nbgrad.viz
from nbgrad.display import graph as G


def _xyz():
    x, y, z = (nb.randn(5, 3, requires_grad=True) for _ in range(3))
    return x, y, z, (x * y + z).sum()


def _mlp_loss():
    nb.manual_seed(0)
    model = nb.nn.Sequential(nb.nn.Linear(4, 8), nb.nn.ReLU(), nb.nn.Linear(8, 3))
    loss = nb.nn.functional.cross_entropy(model(nb.randn(5, 4)), nb.tensor([0, 1, 2, 0, 1]))
    return model, loss


def _chain(n):
    w = nb.randn(4, requires_grad=True)
    h = w
    for _ in range(n - 1):
        h = h * 1.0001
    return w, h.sum()


def test_known_graph_counts():
    x, y, z, out = _xyz()
    view = nb.viz.graph(out, params={"x": x, "y": y})
    assert [n.label for n in view.nodes] == ["Sum", "Add", "Mul", "input", "x", "y"]
    assert [n.kind for n in view.nodes] == ["output", "op", "op", "input", "param", "param"]
    assert sorted(view.edges) == [(1, 0, "data"), (2, 1, "data"), (3, 1, "data"), (4, 2, "data"), (5, 2, "data")]
    assert repr(view) == "Graph: 3 ops, 3 leaves"
    assert view.nodes[0].detail == "()"  # the root's shape is known from the output tensor


def test_repeated_input_is_one_leaf_one_edge():
    x = nb.randn(3, requires_grad=True)
    view = nb.viz.graph((x * x).sum())
    assert len(view.nodes) == 3 and len(view.edges) == 2


def test_leaves_named_by_module_path():
    model, loss = _mlp_loss()
    view = nb.viz.graph(loss, model=model, collapse=False)
    names = {n.label for n in view.nodes if n.kind == "param"}
    assert names == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert {n.detail for n in view.nodes if n.label == "0.weight"} == {"(8, 4)"}


def test_shapes_from_saved_tensors():
    model, loss = _mlp_loss()
    view = nb.viz.graph(loss, model=model, collapse=False)
    relu = next(n for n in view.nodes if n.label == "Relu")
    assert relu.detail == "(5, 8)"  # Relu saves its output


def test_show_saved_adds_dashed_saved_nodes():
    model, loss = _mlp_loss()
    plain = nb.viz.graph(loss, model=model, collapse=False)
    saved = nb.viz.graph(loss, model=model, show_saved=True, collapse=False)
    n_saved = sum(1 for n in saved.nodes if n.kind == "saved")
    assert n_saved > 0 and len(saved.nodes) == len(plain.nodes) + n_saved
    assert sum(1 for e in saved.edges if e.kind == "saved") == n_saved
    assert 'stroke-dasharray="4 3"' in saved.svg()


def test_svg_is_well_formed_and_deterministic():
    model, loss = _mlp_loss()
    first = nb.viz.graph(loss, model=model).svg()
    again = nb.viz.graph(loss, model=model).svg()
    assert first == again
    root = ET.fromstring(first)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "0.weight" in texts and "CrossEntropy" in texts and "leaf parameter" in texts
    assert "0x" not in first  # no memory addresses


def test_same_structure_gives_identical_output_across_graphs():
    # Different objects (different id()s), same structure: byte-identical picture.
    a = nb.viz.graph(_xyz()[3])._repr_mimebundle_()
    b = nb.viz.graph(_xyz()[3])._repr_mimebundle_()
    assert a == b


def test_mimebundle_and_html_container():
    bundle = nb.viz.graph(_xyz()[3])._repr_mimebundle_()
    assert bundle["text/plain"] == "Graph: 3 ops, 3 leaves"
    html = bundle["text/html"]
    assert html.startswith('<div class="nbgrad-graph"') and "<svg" in html and "<script" not in html
    ET.fromstring(html)  # the whole HTML fragment is well-formed XML too


def test_to_dot_is_plausible():
    x, y, z, out = _xyz()
    dot = nb.viz.graph(out, params={"x": x}).to_dot()
    lines = dot.strip().splitlines()
    assert lines[0] == 'digraph "nbgrad" {' and lines[-1] == "}"
    assert dot.count("{") == dot.count("}")
    assert sum(" -> " in line for line in lines) == 5
    assert sum("[label=" in line for line in lines) == 6
    assert 'label="x\\n(5, 3)"' in dot


def test_dot_escapes_quotes():
    x = nb.randn(2, requires_grad=True)
    dot = nb.viz.graph((x * 2).sum(), params={'we"ird\\name': x}).to_dot()
    assert 'label="we\\"ird\\\\name' in dot


def test_grad_fn_html_view():
    x, y, z, out = _xyz()
    bundle = out.grad_fn._repr_mimebundle_()
    assert bundle["text/plain"] == "<SumBackward0>"
    assert "<svg" in bundle["text/html"] and ">Mul<" in bundle["text/html"]
    below = (x * y).grad_fn._repr_html_()  # the view of an inner node shows only what is below it
    assert ">Add<" not in below and ">Mul<" in below


def test_graph_after_backward_is_still_drawable():
    model, loss = _mlp_loss()
    before = nb.viz.graph(loss, model=model, collapse=False)
    loss.backward()
    after = nb.viz.graph(loss, model=model, collapse=False)
    assert [n.label for n in after.nodes] == [n.label for n in before.nodes]
    assert after.edges == before.edges
    ET.fromstring(after.svg())


def test_leaf_root_and_dict_roots():
    x = nb.randn(2, requires_grad=True)
    assert [n.kind for n in nb.viz.graph(x).nodes] == ["input"]
    view = nb.viz.graph({"loss": (x * 2).sum(), "aux": x.exp().mean()})
    assert [n.kind for n in view.nodes[:2]] == ["output", "output"]
    assert view.nodes[0].title.startswith("loss:")


def test_collapse_by_module_tags():
    model, loss = _mlp_loss()  # Module.__call__ tags every node with its module
    full = nb.viz.graph(loss, model=model, collapse=False)
    assert any(getattr(n.tag, "module", n.tag) is model[0] for n in full.nodes)  # tags are call records
    one_box = nb.viz.graph(loss, model=model, collapse=0)
    kinds = [n.kind for n in one_box.nodes]
    assert kinds.count("module") == 1 and "param" not in kinds  # all parameters folded into the box
    box = next(n for n in one_box.nodes if n.kind == "module")
    assert box.ops == 3 and box.label == "Sequential" and "3 ops, 4 params" in box.detail
    assert one_box.nodes[0].label == "CrossEntropy"  # outside the model: stays an op


def test_collapse_distinguishes_calls_when_tags_are_call_records():
    class Call:  # what a node's ``_module`` may be: a call record with the module and the enclosing call
        def __init__(self, module, parent=None):
            self.module, self.parent = module, parent

    cell = nb.nn.Linear(3, 3)
    model = nb.nn.Sequential(cell)
    h = nb.randn(2, 3)
    steps = []
    for _ in range(4):
        h = cell(h).tanh()
        steps.append(h)
    full = G.extract(h.sum(), dict(model.named_parameters()))
    # Tag each step's Linear and Tanh with one call record, as the engine would with call records.
    fns = [n for n in full.nodes if n.fn is not None and n.label in ("Linear", "Tanh")]
    for k in range(4):
        call = Call(cell)
        for n in fns[2 * k : 2 * k + 2]:
            n.tag = call
    view = G.collapse(full, model, 1)
    boxes = [n for n in view.nodes if n.kind == "module"]
    assert len(boxes) == 4
    assert sorted(b.label for b in boxes) == ["0: Linear #1", "0: Linear #2", "0: Linear #3", "0: Linear #4"]
    assert "0.weight" in {n.label for n in view.nodes}  # shared by the 4 calls: stays a leaf
    ET.fromstring(G.render_svg(view))


def test_collapse_auto_merges_chains_without_tags():
    w, out = _chain(500)
    view = nb.viz.graph(out)
    assert len(view.nodes) < 10 and view.full.n_ops == 500 and sum(n.ops for n in view.nodes) == 500
    assert view.nodes[0].ops == 500 and view.nodes[0].label.startswith("500 ops: Mul")  # the output's chain
    assert "chains of ops merged" in repr(view)


def test_collapse_rejects_bad_mode():
    with pytest.raises(ValueError, match="collapse"):
        nb.viz.graph(_xyz()[3], collapse="deep")


def test_cycles_in_collapsed_graphs_are_laid_out():
    nodes = [G.Node("module", "a"), G.Node("module", "b"), G.Node("op", "c")]
    graph = G.Graph(nodes, [G.Edge(0, 1), G.Edge(1, 0), G.Edge(1, 2)])
    svg = G.render_svg(graph)
    ET.fromstring(svg)
    assert svg.count("<path") >= 3


def test_ten_thousand_node_chain_fast_and_without_recursion():
    old = sys.getrecursionlimit()
    w, out = _chain(10_000)
    sys.setrecursionlimit(200)  # any recursion over the graph would fail here
    try:
        t0 = time.perf_counter()
        view = nb.viz.graph(out, collapse=False)
        html = view._repr_html_()
        elapsed = time.perf_counter() - t0
        t1 = time.perf_counter()
        collapsed = nb.viz.graph(out)._repr_html_()
        elapsed_auto = time.perf_counter() - t1
    finally:
        sys.setrecursionlimit(old)
    assert len(view.nodes) == 10_001 and len(view.edges) == 10_000
    assert html.count("<rect") >= 10_001 and len(collapsed) < len(html)
    print(f"10k chain: full {elapsed:.3f} s, auto {elapsed_auto:.3f} s")
    assert elapsed < 2.0 * 1.5  # the goal is 2 s; slack for slow CI machines
    assert elapsed_auto < 2.0


def test_wide_graph_fast():
    xs = [nb.randn(2, requires_grad=True) for _ in range(5000)]
    out = nb.stack([x * 2 for x in xs]).sum()
    t0 = time.perf_counter()
    view = nb.viz.graph(out, collapse=False)
    svg = view.svg()
    elapsed = time.perf_counter() - t0
    print(f"wide graph (10,002 nodes): {elapsed:.3f} s")
    assert len(view.nodes) == 10_002
    assert elapsed < 3.0
    ET.fromstring(svg)


def test_big_random_dag_layout_valid():
    # Every edge points down in the layout (after cycle breaking none are reversed here).
    nb.manual_seed(0)
    leaves = [nb.randn(3, requires_grad=True) for _ in range(20)]
    pool = list(leaves)
    for k in range(300):
        a, b = pool[(k * 7) % len(pool)], pool[(k * 13 + 5) % len(pool)]
        pool.append(a * b if k % 2 else a + b)
    graph = G.extract(pool[-1])
    lay = G.layout(graph)
    for e in graph.edges:
        assert lay.y[e.src] < lay.y[e.dst]


def test_grad_fn_view_names_parameters_by_their_module():
    lstm = nb.nn.LSTM(3, 4)
    out, _ = lstm(nb.randn(5, 2, 3))
    graph = G.extract(out.sum().grad_fn)
    names = {n.label for n in graph.nodes if n.kind == "param"}
    assert "LSTM.weight_ih_l0" in names and "LSTM.bias_hh_l0" in names


def test_view_does_not_keep_arrays_alive():
    import gc
    import weakref

    x = nb.randn(1000, requires_grad=True)
    y = x.exp()
    view = nb.viz.graph(y.sum())
    ref = weakref.ref(y.grad_fn)
    del y
    gc.collect()
    assert ref() is None and len(view.nodes) == 3
