"""The backward graph as data, a layered layout in pure Python, and SVG / DOT text.

Three stages, each a plain function so that tests can check them apart:

1. :func:`extract` walks the graph from output tensors (or ``grad_fn`` nodes)
   with an explicit stack, never recursion, and returns a :class:`Graph` of
   op nodes, leaves and edges, numbered in traversal order (never by ``id()``,
   so the same graph always gives the same picture).
2. :func:`collapse` merges nodes into one box per module call (nodes may carry
   ``_module``: the module, or a call record with ``.module`` and ``.parent``)
   and merges straight chains of ops, so graphs of thousands of nodes stay
   readable.
3. :func:`layout` is a Sugiyama-style layered layout (longest-path layers,
   barycenter ordering, least-squares coordinates); :func:`render_svg` and
   :func:`to_dot` turn the result into text.

Edges point the way data flows in forward (input -> op), as in torchviz, so
the output sits at the bottom and parameters sit just above the ops using them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from html import escape
from typing import NamedTuple

# Colours of node kinds: (fill, stroke, legend text). Light fills with dark text
# read in light and dark notebook themes because the SVG draws its own background.
KINDS = {
    "op": ("#e8eef8", "#6f87b3", "op"),
    "output": ("#fde3e1", "#c9504a", "output"),
    "param": ("#dff3e3", "#4c9a5f", "leaf parameter"),
    "input": ("#fff3c9", "#c49a1c", "leaf input"),
    "saved": ("#fde9d4", "#d08a3c", "saved tensor"),
    "module": ("#eee6fa", "#8a68bd", "collapsed module"),
    "chain": ("#eef0f2", "#8a939c", "collapsed ops"),
}
# Above this many op nodes, collapse="auto" collapses.
AUTO_MAX_NODES = 150
_CHAR_W = 6.6  # width of one character of the 11px monospace font, for box sizes
_LINE_H = 13
_GAP_X = 14
_GAP_Y = 34
_MARGIN = 12


class Edge(NamedTuple):
    """An edge of the drawn graph: ``src`` feeds ``dst`` (node indices); ``kind`` is "data" or "saved"."""

    src: int
    dst: int
    kind: str = "data"


@dataclass
class Node:
    """One box of the drawn graph.

    Attributes:
        kind: a key of :data:`KINDS` ("op", "output", "param", "input", "saved", "module", "chain").
        label: the first line (op name such as ``Mul``, a parameter name, a module path).
        detail: the second line (output shape, or a summary of a collapsed box), may be empty.
        title: hover text (full node name, module path...).
        ops: how many op nodes the box stands for (1 for an op, 0 for a leaf).
    """

    kind: str
    label: str
    detail: str = ""
    title: str = ""
    ops: int = 1
    # Extraction bookkeeping, not drawn: the grad_fn (op nodes), the tensor (leaves), the module tag.
    fn: object = field(default=None, repr=False, compare=False)
    tensor: object = field(default=None, repr=False, compare=False)
    tag: object = field(default=None, repr=False, compare=False)


@dataclass
class Graph:
    """Nodes in traversal order and de-duplicated edges between them."""

    nodes: list
    edges: list
    note: str = ""  # how it was collapsed, for the caption

    @property
    def n_ops(self) -> int:
        return sum(n.ops for n in self.nodes)

    @property
    def n_leaves(self) -> int:
        return sum(1 for n in self.nodes if n.kind in ("param", "input"))

    def summary(self) -> str:
        text = f"Graph: {self.n_ops} ops, {self.n_leaves} leaves"
        if self.note:
            text += f" ({len(self.nodes)} boxes; {self.note})"
        return text


# ------------------------------------------------------------------ extraction
def _short_name(fn) -> str:
    name = fn.name() if hasattr(fn, "name") else type(fn).__name__
    for suffix in ("Backward0", "Backward"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _fmt_shape(shape) -> str:
    return "(" + ", ".join(str(int(s)) for s in shape) + ")"


def _fmt_dtype(dtype) -> str:
    name = getattr(dtype, "name", str(dtype))
    return "" if name == "float32" else " " + name


def _is_tensor(obj) -> bool:
    return hasattr(obj, "_data") and hasattr(obj, "grad_fn")


def extract(roots, params: "dict | None" = None, show_saved: bool = False) -> Graph:
    """The backward graph reachable from ``roots``, walked iteratively.

    Args:
        roots: a Tensor, a ``grad_fn`` node, a sequence of them, or a dict
            ``{name: tensor}`` (names label the outputs).
        params: ``{name: tensor}`` naming leaves (e.g. ``dict(model.named_parameters())``).
        show_saved: also draw the tensors each op saved for backward (while not freed).
    """
    if isinstance(roots, dict):
        named_roots = list(roots.items())
    elif isinstance(roots, (list, tuple)):
        named_roots = [(None, r) for r in roots]
    else:
        named_roots = [(None, roots)]
    leaf_names = {id(t): name for name, t in (params or {}).items()}
    nodes: list = []
    edges: list = []
    index: dict = {}  # id(object) -> node index; objects are kept alive by the graph while we walk
    shapes: dict = {}  # (id(fn), output_nr) -> (shape, dtype)
    stack: list = []

    def node_for(obj, name=None) -> int:
        key = id(obj)
        i = index.get(key)
        if i is not None:
            return i
        i = index[key] = len(nodes)
        if _is_tensor(obj):
            name = name or leaf_names.get(key)
            shape = _fmt_shape(obj.shape) + _fmt_dtype(obj.dtype)
            kind = "param" if name is not None else "input"
            nodes.append(Node(kind, name or "input", shape, title=f"leaf {name or 'tensor'} {shape}", ops=0))
            nodes[-1].tensor = obj
        else:
            nodes.append(Node("op", _short_name(obj), title=obj.name() if hasattr(obj, "name") else "", fn=obj))
            _note_shapes(obj, shapes)
            stack.append(obj)
        return i

    outputs = []
    for name, root in named_roots:
        fn = root.grad_fn if _is_tensor(root) else root
        if fn is None:  # a leaf: draw just the leaf
            node_for(root, name)
            continue
        if _is_tensor(root):
            shapes.setdefault((id(fn), root._output_nr), (root.shape, root.dtype))
        i = node_for(fn)
        outputs.append((i, name))
    seen_edges = set()
    cursor = 0  # nodes are visited in creation order: a breadth-first walk without recursion
    while cursor < len(nodes):
        node = nodes[cursor]
        fn = node.fn
        cursor += 1
        if fn is None:
            continue
        for edge in getattr(fn, "next_edges", ()) or ():
            if edge is None or edge[0] is None:
                continue
            j = node_for(edge[0])
            if (j, cursor - 1) not in seen_edges:
                seen_edges.add((j, cursor - 1))
                edges.append(Edge(j, cursor - 1))
        if show_saved:
            for entry in fn.__dict__.get("_saved", ()) or ():
                if entry is None:
                    continue
                arr = entry[0]
                shape = _fmt_shape(arr.shape) + _fmt_dtype(arr.dtype)
                what = "saved output" if len(entry) == 4 else "saved input"
                nodes.append(Node("saved", "saved", shape, title=f"{what} of {fn.name()}", ops=0))
                edges.append(Edge(len(nodes) - 1, cursor - 1, "saved"))
    for node in nodes:
        if node.fn is not None:
            fn = node.fn
            meta = shapes.get((id(fn), 0))
            if meta is not None:
                node.detail = _fmt_shape(meta[0]) + _fmt_dtype(meta[1])
            node.tag = getattr(fn, "_module", None)
    _name_leaves_from_modules(nodes, edges)
    for i, name in outputs:
        nodes[i].kind = "output"
        if name:
            nodes[i].title = f"{name}: {nodes[i].title}"
    return Graph(nodes, edges)


def _name_leaves_from_modules(nodes: list, edges: list) -> None:
    """Name unnamed parameters after the module that used them (``LSTM.weight_ih_l0``), without a model."""
    module_cls = _module_class()
    if module_cls is None:
        return
    names: dict = {}  # id(module) -> {id(param): name}
    for e in edges:
        leaf, op = nodes[e.src], nodes[e.dst]
        if leaf.kind != "input" or leaf.fn is not None or op.tag is None:
            continue
        module = op.tag if isinstance(op.tag, module_cls) else getattr(op.tag, "module", None)
        if not isinstance(module, module_cls):
            continue
        if id(module) not in names:
            names[id(module)] = {id(p): n for n, p in module.named_parameters()}
        name = names[id(module)].get(id(leaf.tensor))
        if name is not None:
            leaf.kind, leaf.label = "param", f"{type(module).__name__}.{name}"
            leaf.title = f"parameter {name} of {type(module).__name__} {leaf.detail}"


def _note_shapes(fn, shapes: dict) -> None:
    """Record output shapes this node reveals: its own, and those of the producers of its saved inputs."""
    state = fn.__dict__
    out_shape = getattr(fn, "_out_shape", None)  # stored at record time when the engine does (see the report)
    if out_shape is not None:
        shapes.setdefault((id(fn), 0), (out_shape, state.get("_out_dtype", "float32")))
    for nr, meta in enumerate(state.get("_output_meta") or ()):
        if meta is not None:
            shapes.setdefault((id(fn), nr), (meta[0], meta[1]))
    for entry in state.get("_saved", ()) or ():
        if entry is None:
            continue
        if len(entry) == 4:  # (array, counter, version, output_nr): an output of fn itself
            shapes.setdefault((id(fn), entry[3]), (entry[0].shape, entry[0].dtype))
        else:  # (tensor, version): an input, whose producer's output shape we learn
            t = entry[0]
            if t.grad_fn is not None:
                shapes.setdefault((id(t.grad_fn), t._output_nr), (t.shape, t.dtype))


# ------------------------------------------------------------------ collapsing
def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _module_class():
    mod = sys.modules.get("nbgrad.nn.module")
    return None if mod is None else mod.Module


def _call_chain(tag, module_cls) -> list:
    """Outermost-first list of (call key, module) for a node's module tag."""
    if tag is None:
        return []
    if module_cls is not None and isinstance(tag, module_cls):
        return [(None, tag)]  # only the innermost module is known: keyed by its path below
    chain = []
    while tag is not None:
        chain.append((tag, tag.module))
        tag = getattr(tag, "parent", None)
    return chain[::-1]


def _module_paths(model) -> dict:
    if model is None:
        return {}
    return {id(m): name for name, m in model.named_modules()}


def _group_by_module(graph: Graph, model, depth: int) -> "tuple[list, dict] | None":
    """Box key per node for module collapsing at ``depth`` and key -> (path, class, call number); None if untagged."""
    module_cls = _module_class()
    paths = _module_paths(model)
    keys: list = [None] * len(graph.nodes)
    labels: dict = {}
    calls: dict = {}  # id(module) -> its call keys in traversal order
    tagged = False
    for i, node in enumerate(graph.nodes):
        chain = _call_chain(node.tag, module_cls)
        if not chain:
            continue
        tagged = True
        if depth <= 0:  # the whole model is one box
            keys[i] = ("model",)
            labels[keys[i]] = ("", type(model).__name__ if model is not None else "model", 0)
            continue
        # Depth counts from the model: drop its frame and those above it.
        for k, (_, mod) in enumerate(chain):
            if mod is model:
                chain = chain[k + 1 :]
                break
        if not chain:
            continue  # an op of the model's own forward: stays an op
        call, mod = chain[min(depth, len(chain)) - 1]
        if call is None and id(mod) in paths:  # a bare module tag: its ancestors come from its path
            path = ".".join(paths[id(mod)].split(".")[:depth])
            mod = dict(model.named_modules())[path]
        key = ("call", id(call)) if call is not None else ("module", id(mod))
        if key not in labels:
            labels[key] = (paths.get(id(mod), ""), type(mod).__name__, 0)
            calls.setdefault(id(mod), []).append(key)
        keys[i] = key
    # Number the calls of modules called several times; the walk meets the last call first.
    for group in calls.values():
        if len(group) > 1:
            for k, key in enumerate(group):
                path, cls_name, _ = labels[key]
                labels[key] = (path, cls_name, len(group) - k)
    return (keys, labels) if tagged else None


def _merge(graph: Graph, keys: list, make_box) -> Graph:
    """A new graph where nodes sharing a non-None key become one box (``make_box(key, members)``)."""
    rep: dict = {}
    members: dict = {}
    new_index = [0] * len(graph.nodes)
    nodes: list = []
    for i, node in enumerate(graph.nodes):
        key = keys[i]
        if key is None:
            new_index[i] = len(nodes)
            nodes.append(node)
            continue
        if key not in rep:
            rep[key] = len(nodes)
            members[key] = []
            nodes.append(None)
        members[key].append(node)
        new_index[i] = rep[key]
    for key, at in rep.items():
        nodes[at] = make_box(key, members[key])
    edges, seen = [], set()
    for e in graph.edges:
        s, d = new_index[e.src], new_index[e.dst]
        if s != d and (s, d) not in seen:
            seen.add((s, d))
            edges.append(Edge(s, d, e.kind))
    return Graph(nodes, edges, graph.note)


def _absorb_params(graph: Graph, keys: list) -> None:
    """Parameters whose consumers all fall in one box go into that box."""
    consumers: dict = {}
    for e in graph.edges:
        consumers.setdefault(e.src, set()).add(keys[e.dst])
    for i, node in enumerate(graph.nodes):
        if node.kind in ("param", "saved") and keys[i] is None:
            groups = consumers.get(i, set())
            if len(groups) == 1:
                (key,) = groups
                if key is not None:
                    keys[i] = key


def collapse_modules(graph: Graph, model=None, depth: int = 1) -> "Graph | None":
    """One box per module call at ``depth`` below ``model``; None when no node carries a module tag."""
    grouped = _group_by_module(graph, model, depth)
    if grouped is None:
        return None
    keys, labels = grouped
    _absorb_params(graph, keys)

    def make_box(key, members):
        path, cls_name, number = labels[key]
        if len(members) == 1:  # a box for one op says less than the op itself
            members[0].title += f" in {path or cls_name}"
            return members[0]
        n_ops = sum(m.ops for m in members)
        n_params = sum(1 for m in members if m.kind == "param")
        label = f"{path}: {cls_name}" if path else cls_name
        if number:
            label += f" #{number}"
        detail = _plural(n_ops, "op") + (", " + _plural(n_params, "param") if n_params else "")
        last = next((m for m in members if m.fn is not None and m.detail), None)
        if last is not None:
            detail += " -> " + last.detail
        kind = "output" if any(m.kind == "output" for m in members) else "module"
        title = f"{cls_name} {path}: " + ", ".join(sorted({m.label for m in members if m.fn is not None}))
        return Node(kind if kind == "module" else "output", label, detail, title, ops=n_ops)

    out = _merge(graph, keys, make_box)
    for node in out.nodes:  # an output that became a module box keeps the module colour but says so
        if node.kind == "output" and node.ops > 1:
            node.kind = "module"
            node.title = "output of " + node.title
    out.note = "collapsed to module depth " + str(depth)
    return out


def collapse_chains(graph: Graph) -> Graph:
    """Merge straight runs of ops (one consumer, whose only op input it is) into one box."""
    n = len(graph.nodes)
    op_kinds = ("op", "output", "module", "chain")
    consumers: list = [[] for _ in range(n)]
    op_producers: list = [0] * n
    for e in graph.edges:
        consumers[e.src].append(e.dst)
        if graph.nodes[e.src].kind in op_kinds:
            op_producers[e.dst] += 1
    parent = list(range(n))

    def find(i):
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:  # path compression
            parent[i], i = root, parent[i]
        return root

    for i, node in enumerate(graph.nodes):
        if node.kind in ("op", "chain") and len(consumers[i]) == 1:
            c = consumers[i][0]
            if graph.nodes[c].kind in ("op", "chain", "output") and op_producers[c] == 1:
                parent[find(i)] = find(c)
    keys = [None] * n
    sizes: dict = {}
    for i in range(n):
        sizes[find(i)] = sizes.get(find(i), 0) + 1
    for i in range(n):
        if sizes[find(i)] > 1:
            keys[i] = find(i)
    _absorb_params(graph, keys)
    if all(k is None for k in keys):
        return graph

    def make_box(key, members):
        n_ops = sum(m.ops for m in members)
        names: dict = {}
        for m in members:
            if m.fn is not None:
                names[m.label] = names.get(m.label, 0) + 1
        top = sorted(names.items(), key=lambda kv: -kv[1])[:3]
        label = f"{n_ops} ops: " + ", ".join(name for name, _ in top) + (", ..." if len(names) > 3 else "")
        output = graph.nodes[key]  # the union's root is the chain's last op
        detail = output.detail
        n_params = sum(1 for m in members if m.kind == "param")
        if n_params:
            detail = (detail + ", " if detail else "") + _plural(n_params, "param")
        kind = "output" if output.kind == "output" else "chain"
        return Node(kind, label, detail, "chain of " + ", ".join(f"{k} x{v}" for k, v in names.items()), ops=n_ops)

    out = _merge(graph, keys, make_box)
    out.note = (graph.note + "; " if graph.note else "") + "chains of ops merged"
    return out


def collapse(graph: Graph, model=None, mode="auto", max_nodes: int = AUTO_MAX_NODES) -> Graph:
    """Apply ``mode``: False (nothing), True (module depth 1, then chains), an int depth, or "auto".

    "auto" leaves graphs of at most ``max_nodes`` boxes alone; otherwise it picks the
    deepest module level that fits (when nodes carry module tags), then merges chains.
    """
    if mode is False or mode is None:
        return graph
    if mode == "auto" and len(graph.nodes) <= max_nodes:
        return graph
    if mode is True or mode == "auto":
        best = None
        for depth in range(1, 16):
            candidate = collapse_modules(graph, model, depth)
            if candidate is None:
                break
            if best is not None and len(candidate.nodes) > max_nodes:
                break
            best = candidate
            if len(candidate.nodes) == len(graph.nodes):  # deeper levels change nothing
                break
        out = best or graph
        if len(out.nodes) > max_nodes or best is None:
            out = collapse_chains(out)
        return out
    if isinstance(mode, int):
        return collapse_modules(graph, model, mode) or collapse_chains(graph)
    raise ValueError(f"collapse must be 'auto', True, False or a module depth (int), got {mode!r}")


# ---------------------------------------------------------------------- layout
@dataclass
class Layout:
    """Box centres and sizes, edge routes (lists of points) and the drawing's size."""

    x: list
    y: list
    w: list
    h: list
    routes: list
    width: float
    height: float


def node_lines(node: Node) -> list:
    return [node.label] + (node.detail.split("\n") if node.detail else [])


def _box_size(node: Node) -> tuple:
    lines = node_lines(node)
    return max(40.0, max(len(s) for s in lines) * _CHAR_W + 16), len(lines) * _LINE_H + 10


def _break_cycles(n: int, producers: list) -> set:
    """Edges (producer, consumer) that close a cycle, found by an iterative DFS towards the producers."""
    state = [0] * n  # 0 new, 1 on the DFS path, 2 done
    back = set()
    for start in range(n):
        if state[start]:
            continue
        state[start] = 1
        stack = [(start, 0)]
        while stack:
            v, k = stack[-1]
            if k < len(producers[v]):
                stack[-1] = (v, k + 1)
                u = producers[v][k]
                if state[u] == 0:
                    state[u] = 1
                    stack.append((u, 0))
                elif state[u] == 1:
                    back.add((u, v))
            else:
                state[v] = 2
                stack.pop()
    return back


def _isotonic(targets: list, offsets: list) -> list:
    """Least-squares positions x_i near targets with x_{i+1} - x_i >= offsets gaps (pool adjacent violators)."""
    blocks: list = []  # [mean of shifted targets, count]
    for t, o in zip(targets, offsets):
        blocks.append([t - o, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, c2 = blocks.pop()
            m1, c1 = blocks[-1]
            blocks[-1] = [(m1 * c1 + m2 * c2) / (c1 + c2), c1 + c2]
    out = []
    i = 0
    for mean, count in blocks:
        for _ in range(count):
            out.append(mean + offsets[i])
            i += 1
    return out


def _promote(n: int, up: list, rank: list, nodes: list) -> None:
    """Move ops up next to their inputs when they have more inputs than outputs (shorter edges overall).

    Longest-path layering puts every node as low as it can go: a head applied at every step of an RNN
    would sit at the bottom with one long edge per step. Leaves are then put just above their consumers.
    """
    down: list = [[] for _ in range(n)]
    for v in range(n):
        for u in up[v]:
            down[u].append(v)
    for v in sorted(range(n), key=lambda v: (-rank[v], v)):
        if not up[v] or nodes[v].kind in ("param", "input", "saved"):
            continue
        inner = [u for u in up[v] if nodes[u].kind not in ("param", "input", "saved")]
        if len(inner) >= len(down[v]) and down[v]:
            bound = min((rank[u] for u in inner), default=rank[v] + 1) - 1
            if bound > rank[v]:
                rank[v] = bound
    for v in range(n):  # leaves (in any order: their consumers' ranks are final) sit right above their consumers
        if nodes[v].kind in ("param", "input", "saved") and down[v]:
            rank[v] = 1 + max(rank[c] for c in down[v])


def split_shared_leaves(graph: Graph, min_consumers: int = 3) -> Graph:
    """For drawing: a leaf used by many ops gets a copy next to each op (named like it), instead of long edges.

    The copies of one op are merged into one box listing their names.
    """
    consumers: dict = {}
    for e in graph.edges:
        if graph.nodes[e.src].kind in ("param", "input"):
            consumers.setdefault(e.src, []).append(e.dst)
    shared = {i for i, cs in consumers.items() if len(cs) >= min_consumers}
    if not shared:
        return graph
    nodes = list(graph.nodes)
    edges = [e for e in graph.edges if e.src not in shared]
    per_consumer: dict = {}
    for e in graph.edges:
        if e.src in shared:
            per_consumer.setdefault(e.dst, []).append(e.src)
    for dst, leaves in per_consumer.items():
        names = [graph.nodes[i].label for i in leaves]
        shown = names[:4] + ([f"+{len(names) - 4} more"] if len(names) > 4 else [])
        kind = "param" if any(graph.nodes[i].kind == "param" for i in leaves) else "input"
        title = "shared leaves (each used by several ops): " + ", ".join(names)
        nodes.append(Node(kind, shown[0], "\n".join(shown[1:]), title, ops=0))
        nodes[-1].tag = "shared"
        edges.append(Edge(len(nodes) - 1, dst))
    # Drop the originals (they now have no edges) and renumber.
    keep = [i for i in range(len(nodes)) if i not in shared]
    new = {old: k for k, old in enumerate(keep)}
    return Graph([nodes[i] for i in keep], [Edge(new[e.src], new[e.dst], e.kind) for e in edges], graph.note)


def layout(graph: Graph, max_dummies: "int | None" = None) -> Layout:
    """Layered layout: the output at the bottom, every edge pointing down (cycles reversed)."""
    n = len(graph.nodes)
    sizes = [_box_size(node) for node in graph.nodes]
    producers: list = [[] for _ in range(n)]
    for e in graph.edges:
        producers[e.dst].append(e.src)
    back = _break_cycles(n, producers)
    # Layers by longest path from the outputs: rank 0 at the bottom.
    up: list = [[] for _ in range(n)]  # acyclic producer lists
    n_consumers = [0] * n
    for e in graph.edges:
        if e.src == e.dst:
            continue
        s, d = (e.dst, e.src) if (e.src, e.dst) in back else (e.src, e.dst)
        up[d].append(s)
        n_consumers[s] += 1
    rank = [0] * n
    ready = [v for v in range(n) if n_consumers[v] == 0]
    head = 0
    while head < len(ready):
        v = ready[head]
        head += 1
        for u in up[v]:
            if rank[v] + 1 > rank[u]:
                rank[u] = rank[v] + 1
            n_consumers[u] -= 1
            if n_consumers[u] == 0:
                ready.append(u)
    _promote(n, up, rank, graph.nodes)
    n_ranks = max(rank, default=0) + 1
    # Dummy vertices on edges spanning several layers (shortest spans first, within a budget).
    budget = 4 * n + 2000 if max_dummies is None else max_dummies
    layer_pos: list = [[] for _ in range(n_ranks)]  # vertices (nodes and dummies) per rank
    for v in range(n):
        layer_pos[rank[v]].append(v)
    vrank = list(rank)
    up_links: list = [[] for _ in range(n)]  # vertex -> vertices one layer above
    down_links: list = [[] for _ in range(n)]
    spans = sorted(range(len(graph.edges)), key=lambda k: (rank[graph.edges[k].src] - rank[graph.edges[k].dst], k))
    chain_of = [None] * len(graph.edges)  # per edge: its vertices from the top one to the bottom one
    for k in spans:
        e = graph.edges[k]
        top, bottom = (e.src, e.dst) if rank[e.src] > rank[e.dst] else (e.dst, e.src)
        if top == bottom:
            continue
        span = rank[top] - rank[bottom]
        verts = [top]
        if 1 < span <= budget + 1:
            budget -= span - 1
            for r in range(rank[top] - 1, rank[bottom], -1):
                d = len(vrank)
                vrank.append(r)
                up_links.append([])
                down_links.append([])
                layer_pos[r].append(d)
                verts.append(d)
        verts.append(bottom)
        chain_of[k] = verts
        for a, b in zip(verts, verts[1:]):
            if vrank[a] - vrank[b] == 1:
                down_links[a].append(b)
                up_links[b].append(a)
    n_vert = len(vrank)
    # Ordering: barycenter sweeps, starting from traversal order.
    order = [0.0] * n_vert
    for layer in layer_pos:
        for i, v in enumerate(layer):
            order[v] = i
    for sweep in range(8):
        downward = sweep % 2 == 0
        layers = range(n_ranks - 2, -1, -1) if downward else range(1, n_ranks)
        for r in layers:
            layer = layer_pos[r]
            links = up_links if downward else down_links
            bary = {}
            for v in layer:
                nb = links[v]
                bary[v] = (sum(order[u] for u in nb) / len(nb) if nb else order[v], order[v])
            layer.sort(key=bary.__getitem__)
            for i, v in enumerate(layer):
                order[v] = i
    # Coordinates: pack, then pull each vertex towards its neighbours' mean, keeping order and gaps.
    width = [sizes[v][0] if v < n else 0.0 for v in range(n_vert)]
    xs = [0.0] * n_vert
    for layer in layer_pos:
        pos = 0.0
        for v in layer:
            xs[v] = pos + width[v] / 2
            pos += width[v] + _GAP_X
    for sweep in range(6):
        links = up_links if sweep % 2 == 0 else down_links
        layers = range(n_ranks - 1, -1, -1) if sweep % 2 == 0 else range(n_ranks)
        for r in layers:
            layer = layer_pos[r]
            if not layer:
                continue
            targets = []
            for v in layer:
                nb = links[v]
                targets.append(sum(xs[u] for u in nb) / len(nb) if nb else xs[v])
            offsets = [0.0]
            for a, b in zip(layer, layer[1:]):
                gap = (width[a] + width[b]) / 2 + (_GAP_X if a < n and b < n else _GAP_X / 2)
                offsets.append(offsets[-1] + gap)
            for v, x in zip(layer, _isotonic(targets, offsets)):
                xs[v] = x
    left = min((xs[v] - width[v] / 2 for v in range(n_vert)), default=0.0)
    shift = _MARGIN - left
    xs = [x + shift for x in xs]
    right = max((xs[v] + width[v] / 2 for v in range(n_vert)), default=0.0) + _MARGIN
    # Rows: the highest rank at the top.
    row_h = [0.0] * n_ranks
    for v in range(n):
        row_h[rank[v]] = max(row_h[rank[v]], sizes[v][1])
    row_y = [0.0] * n_ranks
    y = _MARGIN
    for r in range(n_ranks - 1, -1, -1):
        row_h[r] = row_h[r] or _LINE_H
        row_y[r] = y + row_h[r] / 2
        y += row_h[r] + _GAP_Y
    ys = [row_y[r] for r in vrank]
    routes = []
    for k, e in enumerate(graph.edges):
        verts = chain_of[k]
        if verts is None:
            routes.append(None)
            continue
        pts = [(xs[v], ys[v]) for v in verts]
        top, bottom = verts[0], verts[-1]
        pts[0] = (pts[0][0], ys[top] + sizes[top][1] / 2)
        pts[-1] = (pts[-1][0], ys[bottom] - sizes[bottom][1] / 2)
        if e.src != top:  # a reversed (cycle) edge: data flows upwards along it
            pts.reverse()
        routes.append(pts)
    return Layout(xs[:n], ys[:n], [s[0] for s in sizes], [s[1] for s in sizes], routes, right, y - _GAP_Y + _MARGIN)


# ------------------------------------------------------------------- rendering
def _num(v: float) -> str:
    text = f"{v:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _path(pts: list) -> str:
    """A smooth path through the points: cubic segments with vertical tangents at every point."""
    out = [f"M{_num(pts[0][0])},{_num(pts[0][1])}"]
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        my = (y0 + y1) / 2
        out.append(f"C{_num(x0)},{_num(my)} {_num(x1)},{_num(my)} {_num(x1)},{_num(y1)}")
    return "".join(out)


def _legend(graph: Graph) -> tuple:
    """SVG parts of the colour legend (kinds present in the graph) and its height."""
    present = [k for k in KINDS if any(node.kind == k for node in graph.nodes)]
    parts, x = [], _MARGIN
    for kind in present:
        fill, stroke, text = KINDS[kind]
        parts.append(
            f'<rect x="{_num(x)}" y="{_MARGIN}" width="14" height="11" rx="3" fill="{fill}" stroke="{stroke}"/>'
            f'<text x="{_num(x + 19)}" y="{_MARGIN + 9.5}" fill="#444">{escape(text)}</text>'
        )
        x += 19 + len(text) * _CHAR_W + 14
    return parts, (_MARGIN + 20 if parts else 0), x


def render_svg(graph: Graph, legend: bool = True, lay: "Layout | None" = None) -> str:
    """The graph as a standalone SVG document (inline styles, deterministic)."""
    if lay is None:
        graph = split_shared_leaves(graph)
        lay = layout(graph)
    legend_parts, top, legend_w = _legend(graph) if legend else ([], 0, 0)
    width = max(lay.width, legend_w)
    height = lay.height + top
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(width)}" height="{_num(height)}" '
        f'viewBox="0 0 {_num(width)} {_num(height)}" '
        'font-family="ui-monospace,SFMono-Regular,Menlo,Consolas,monospace" font-size="11">',
        f'<rect width="{_num(width)}" height="{_num(height)}" fill="#ffffff"/>',
    ]
    parts += legend_parts
    parts.append(f'<g transform="translate(0,{top})">')
    parts.append('<g fill="none" stroke="#7d8590" stroke-width="1.2">')
    heads = []
    for e, pts in zip(graph.edges, lay.routes):
        if pts is None:
            continue
        dash = ' stroke-dasharray="4 3"' if e.kind == "saved" else ""
        parts.append(f'<path d="{_path(pts)}"{dash}/>')
        x, y = pts[-1]
        s = -1 if pts[-1][1] >= pts[-2][1] else 1  # arrow points down unless the edge runs upwards
        heads.append(f"M{_num(x)},{_num(y)}L{_num(x - 4)},{_num(y + s * 7)}L{_num(x + 4)},{_num(y + s * 7)}Z")
    parts.append("</g>")
    if heads:
        parts.append(f'<path d="{"".join(heads)}" fill="#7d8590"/>')
    for i, node in enumerate(graph.nodes):
        fill, stroke, _ = KINDS[node.kind]
        x, y, w, h = lay.x[i], lay.y[i], lay.w[i], lay.h[i]
        dash = ' stroke-dasharray="3 2"' if node.kind == "chain" or node.tag == "shared" else ""
        parts.append(
            f"<g><title>{escape(node.title or node.label)}</title>"
            f'<rect x="{_num(x - w / 2)}" y="{_num(y - h / 2)}" width="{_num(w)}" height="{_num(h)}" rx="5" '
            f'fill="{fill}" stroke="{stroke}"{dash}/>'
        )
        lines = node_lines(node)
        y0 = y - (len(lines) - 1) * _LINE_H / 2 + 4
        for k, line in enumerate(lines):
            style = ' font-weight="bold" fill="#1f2328"' if k == 0 else ' fill="#57606a"'
            parts.append(
                f'<text x="{_num(x)}" y="{_num(y0 + k * _LINE_H)}" text-anchor="middle"{style}>{escape(line)}</text>'
            )
        parts.append("</g>")
    parts.append("</g></svg>")
    return "".join(parts)


def render_html(graph: Graph) -> str:
    """The SVG in a notebook-friendly container: scaled to the cell when small, scrollable when big."""
    svg = render_svg(graph)
    lay_w = float(svg.split('width="', 1)[1].split('"', 1)[0])
    lay_h = float(svg.split('height="', 1)[1].split('"', 1)[0])
    caption = escape(graph.summary())
    if lay_w <= 1600 and lay_h <= 900:  # small: shrink to the cell width if needed
        svg = svg.replace("<svg ", '<svg style="max-width:100%;height:auto" ', 1)
        box = "max-width:100%"
    else:  # big: keep the text readable and scroll
        box = "max-width:100%;max-height:640px;overflow:auto;border:1px solid #d0d7de"
    return (
        '<div class="nbgrad-graph" style="font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px">'
        f'<div style="color:#57606a;margin:2px 0 4px">{caption}</div>'
        f'<div style="{box}">{svg}</div></div>'
    )


def _dot_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph: Graph, name: str = "nbgrad") -> str:
    """Graphviz DOT text of the graph (for ``dot -Tsvg``), with the same colours as the SVG."""
    lines = [
        f"digraph {_dot_str(name)} {{",
        "  rankdir=TB;",
        '  node [shape=box, style="rounded,filled", fontname="monospace", fontsize=10];',
        '  edge [color="#7d8590", arrowsize=0.6];',
    ]
    for i, node in enumerate(graph.nodes):
        fill, stroke, _ = KINDS[node.kind]
        label = "\\n".join(line.replace("\\", "\\\\").replace('"', '\\"') for line in node_lines(node))
        lines.append(f'  n{i} [label="{label}", fillcolor="{fill}", color="{stroke}", tooltip={_dot_str(node.title)}];')
    for e in graph.edges:
        style = " [style=dashed]" if e.kind == "saved" else ""
        lines.append(f"  n{e.src} -> n{e.dst}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"
