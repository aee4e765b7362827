"""``nb.widgets.GraphView``: the backward graph, interactive (pan, zoom, expand modules, inspect nodes).

The drawing is the one of :func:`nbgrad.viz.graph`: extraction, module
collapsing, layout and SVG all come from :mod:`nbgrad.display.graph`. The
widget adds state around it:

- ``expanded``: the module calls drawn open. Each module call is a group,
  numbered in traversal order; a node is drawn inside the outermost group
  that is not expanded. Changing the set (a double click in the front end)
  re-runs collapsing and layout here and sends the new SVG.
- ``selected``: the drawn node clicked in the front end. The answer,
  ``detail``, is the rich HTML of the tensors behind it: a leaf's value and
  ``.grad``, the output's value, an op's saved tensors (inputs or outputs it
  kept for backward), a module's parameters.

Pan and zoom are the front end's alone (the SVG's viewBox). The widget keeps
the graph, and with it the tensors the graph holds, alive while it lives;
:meth:`GraphView.close` lets them go. Saved tensors are gone once backward has
run (unless ``retain_graph=True``): the detail then says so.
"""

from __future__ import annotations

import dataclasses

import traitlets as T

from nbgrad.display import graph as G
from nbgrad.display import html as H
from nbgrad.display.tensor import tensor_html
from nbgrad.widgets._base import FallbackWidget, bundle_esm, load_css

__all__ = ["GraphView"]

# A module box lists at most this many of its parameters in full when clicked (each is a rich view).
_MAX_PARAM_VIEWS = 4


class GraphView(FallbackWidget):
    """The computation graph that produced ``output``, drawn as SVG the front end can pan, zoom and open up.

    Args:
        output: a Tensor, a ``grad_fn`` node, a list of them, or a dict ``{name: tensor}``.
        model: a Module: names the leaves and the module boxes (as :func:`nbgrad.viz.graph`).
        params: ``{name: tensor}`` naming leaves.
        show_saved: also draw the tensors each op saved for backward.
        collapse: ``"auto"`` (open module calls level by level while the drawing has at most
            150 boxes), ``True`` (module depth 1), ``False`` (all open) or a module depth.

    Attributes:
        expanded: ids of the module calls drawn open (see ``groups``).
        groups: one ``{"label", "depth", "parent"}`` per module call, indexed by id.
        nodes: one dict per drawn box, in the order of the SVG's node groups.
        selected: the index of the clicked box in ``nodes`` (-1: none); ``detail`` is its HTML.

    Example::

        >>> import nbgrad as nb
        >>> x = nb.randn(3, requires_grad=True)
        >>> view = nb.widgets.GraphView((x * x).sum())
        >>> [n["label"] for n in view.nodes]
        ['Sum', 'Mul', 'input']
        >>> view.selected = 2
        >>> "Tensor[3]" in view.detail
        True
    """

    _esm = bundle_esm("graph_view.js")
    _css = load_css("graph_view.css")

    svg = T.Unicode("").tag(sync=True)
    summary = T.Unicode("").tag(sync=True)
    nodes = T.List(T.Dict()).tag(sync=True)
    groups = T.List(T.Dict()).tag(sync=True)
    expanded = T.List(T.Int()).tag(sync=True)
    selected = T.Int(-1).tag(sync=True)
    detail = T.Unicode("").tag(sync=True)

    def __init__(self, output, model=None, params: "dict | None" = None, show_saved: bool = False, collapse="auto"):
        names = dict(model.named_parameters()) if model is not None else {}
        names.update(params or {})
        self._model = model
        self._outputs = output
        # The full graph keeps its grad_fn nodes and leaves: what a click on a box shows.
        self._full = G.extract(output, names, show_saved=show_saved)
        self._chains, group_meta = self._module_groups()
        self._graph = G.Graph([], [])  # the drawing (set by _relayout)
        self._drawn = []  # per drawn box: ("node", full index) | ("group", id) | ("shared", None)
        super().__init__(groups=group_meta, expanded=self._initial_expanded(collapse, group_meta))
        self._relayout()

    # --------------------------------------------------------------- groups
    def _module_groups(self) -> tuple:
        """Per full-graph node, its module calls outermost first as (group id, tag); and the groups' metadata."""
        module_cls = G._module_class()
        paths = G._module_paths(self._model)
        by_path = dict(self._model.named_modules()) if self._model is not None else {}
        ids: dict = {}
        meta: list = []
        chains = []
        for node in self._full.nodes:
            chain = G._call_chain(node.tag, module_cls)
            for k, (_, mod) in enumerate(chain):  # depth counts from the model, as in collapse_modules
                if mod is self._model:
                    chain = chain[k + 1 :]
                    break
            if len(chain) == 1 and chain[0][0] is None and id(chain[0][1]) in paths:
                # A bare module tag: its ancestors come from its path (a.b.c -> a, a.b, a.b.c).
                parts = paths[id(chain[0][1])].split(".")
                chain = [(None, by_path[".".join(parts[: d + 1])]) for d in range(len(parts))]
            groups = []
            for depth, (call, mod) in enumerate(chain):
                key = id(call) if call is not None else id(mod)
                if key not in ids:
                    ids[key] = len(meta)
                    path = paths.get(id(mod), "")
                    label = f"{path}: {type(mod).__name__}" if path else type(mod).__name__
                    meta.append({"label": label, "depth": depth + 1, "parent": groups[-1][0] if groups else -1})
                groups.append((ids[key], call if call is not None else mod))
            chains.append(groups)
        return chains, meta

    def _initial_expanded(self, collapse, meta: list) -> list:
        everything = list(range(len(meta)))
        if collapse is False or collapse is None:
            return everything
        if collapse is True or isinstance(collapse, int) and not isinstance(collapse, bool):
            depth = 1 if collapse is True else int(collapse)
            return [g for g, m in enumerate(meta) if m["depth"] <= depth - 1]
        if collapse != "auto":
            raise ValueError(f"collapse must be 'auto', True, False or a module depth (int), got {collapse!r}")
        if len(self._full.nodes) <= G.AUTO_MAX_NODES:
            return everything
        # Open one more level of module calls while the drawing stays small enough.
        best: list = []
        for depth in range(1, max((m["depth"] for m in meta), default=0) + 1):
            candidate = [g for g, m in enumerate(meta) if m["depth"] < depth]
            if best and len(self._view(candidate)[0].nodes) > G.AUTO_MAX_NODES:
                break
            best = candidate
        return best

    # --------------------------------------------------------------- layout
    def _view(self, expanded) -> tuple:
        """The graph drawn with ``expanded`` module calls open, and per box what it stands for."""
        open_ = set(expanded)
        copies, keys = [], []
        for node, chain in zip(self._full.nodes, self._chains):
            closed = next(((gid, tag) for gid, tag in chain if gid not in open_), (None, None))
            # collapse_modules at the deepest level groups a node by its own tag: giving each node the
            # tag of its outermost closed call makes it draw exactly the boxes we want.
            copies.append(dataclasses.replace(node, tag=closed[1]))
            keys.append(closed[0])
        graph = G.Graph(copies, list(self._full.edges))
        drawn = G.collapse_modules(graph, self._model, depth=1 << 30) or graph
        if drawn is not graph:
            drawn.note = f"module calls: {len(open_)} open, the others boxed"
        if not any(self._chains) and len(graph.nodes) > G.AUTO_MAX_NODES:
            drawn = G.collapse_chains(graph)  # no module calls to open and big: chains of ops merged
        # Which box stands for what: _merge keeps ungrouped nodes as they are (the copies) and
        # puts each group where its first member was; leaves follow their consumers' box.
        G._absorb_params(graph, keys)
        index = {id(c): i for i, c in enumerate(copies)}
        first = {}
        for i, key in enumerate(keys):
            first.setdefault(key, i)
        group_at = {first[k]: k for k in first if k is not None}
        meaning = []
        for i, key in enumerate(keys):
            if key is None:
                meaning.append(("node", i))
            elif group_at.get(i) == key:
                members = sum(1 for k in keys if k == key)
                meaning.append(("group", key) if members > 1 else ("node", i))
        if len(meaning) != len(drawn.nodes):  # chains merged: boxes stand for nothing we can open
            meaning = [("node", index[id(n)]) if id(n) in index else ("chain", None) for n in drawn.nodes]
        return drawn, meaning

    def _relayout(self) -> None:
        drawn, meaning = self._view(self.expanded)
        split = G.split_shared_leaves(drawn)
        kept = {id(n): k for k, n in enumerate(drawn.nodes)}
        self._drawn = [meaning[kept[id(n)]] if id(n) in kept else ("shared", None) for n in split.nodes]
        self._graph = drawn
        boxes = []
        for node, (what, ref) in zip(split.nodes, self._drawn):
            parent = -1
            if what == "node":  # the innermost open call around it: what "collapse" closes
                chain = [gid for gid, _ in self._chains[ref]]
                parent = chain[-1] if chain and all(g in self.expanded for g in chain) else -1
            elif what == "group":
                parent = self.groups[ref]["parent"]
            boxes.append(
                {
                    "kind": node.kind,
                    "label": node.label,
                    "title": node.title,
                    "group": ref if what == "group" else -1,
                    "parent": parent,
                }
            )
        with self.hold_sync():
            self.svg = G.render_svg(split, lay=G.layout(split))
            self.summary = drawn.summary()
            self.nodes = boxes
            self.selected = -1
            self.detail = ""

    @T.observe("expanded")
    def _expanded_changed(self, change):
        if self._drawn or self.nodes:  # not during __init__
            self._relayout()

    @T.validate("expanded")
    def _valid_expanded(self, proposal):
        return sorted({int(g) for g in proposal["value"] if 0 <= int(g) < len(self.groups)})

    def expand(self, group: int) -> None:
        """Draw module call ``group`` (an index of ``groups``) open, and the calls around it."""
        opened = []
        while group >= 0:
            opened.append(group)
            group = self.groups[group]["parent"]
        self.expanded = self.expanded + opened

    def collapse(self, group: int) -> None:
        """Draw module call ``group`` as one box again (and the calls inside it)."""
        inside = {group}
        for g, m in enumerate(self.groups):  # groups are numbered after their parents
            if m["parent"] in inside:
                inside.add(g)
        self.expanded = [g for g in self.expanded if g not in inside]

    # --------------------------------------------------------------- detail
    @T.observe("selected")
    def _selected_changed(self, change):
        self.detail = self.node_html(self.selected) if 0 <= self.selected < len(self._drawn) else ""

    def node_html(self, k: int) -> str:
        """The rich HTML of what drawn box ``k`` stands for: tensors, with their gradients."""
        what, ref = self._drawn[k]
        box = self.nodes[k]
        parts = [f"<div><b>{H.escape(box['label'])}</b> <span style='{H.MUTED}'>{H.escape(box['title'])}</span></div>"]
        if what == "group":
            parts += self._group_html(ref)
        elif what == "node":
            parts += self._node_html(self._full.nodes[ref])
        else:
            parts.append(f"<div style='{H.MUTED}'>a merged box: expand nothing here; see its hover text</div>")
        return f'<div style="{H.ROOT_STYLE}">{"".join(parts)}</div>'

    def _node_html(self, node) -> list:
        from nbgrad.tensor import Tensor  # local: nbgrad.tensor imports the display package

        if node.tensor is not None:
            return [tensor_html(node.tensor)]
        fn = node.fn
        if fn is None:
            return [f"<div style='{H.MUTED}'>no tensor kept for this box</div>"]
        parts = [
            f"<div>op <code>{H.escape(fn.name())}</code>, output {H.escape(node.detail or '(shape unknown)')}</div>"
        ]
        for out in self._output_tensors():
            if out.grad_fn is fn:
                parts.append(_section("output value", tensor_html(out)))
        saved = fn.__dict__.get("_saved") or ()
        if getattr(fn, "_freed", False) or not any(e is not None for e in saved):
            parts.append(
                f"<div style='{H.MUTED}'>no saved tensors (none needed, or freed by backward: "
                "<code>retain_graph=True</code> keeps them)</div>"
            )
        for k, entry in enumerate(saved):
            if entry is None:
                continue
            if len(entry) == 2:  # (input tensor, version)
                parts.append(_section(f"saved input {k}", tensor_html(entry[0])))
            else:  # (array, version counter, version, output_nr): an output of this op
                parts.append(_section(f"saved output {k}", tensor_html(Tensor._wrap(entry[0]))))
        return parts

    def _group_html(self, gid: int) -> list:
        members = [i for i, chain in enumerate(self._chains) if any(g == gid for g, _ in chain)]
        ops: dict = {}
        for i in members:
            if self._full.nodes[i].fn is not None:
                label = self._full.nodes[i].label
                ops[label] = ops.get(label, 0) + 1
        parts = [
            "<div>"
            + H.escape(", ".join(f"{name} ×{n}" for name, n in ops.items()))
            + f" <span style='{H.MUTED}'>(double-click to open)</span></div>"
        ]
        params = []  # leaves whose every consumer sits in the group
        inside = set(members)
        for i, node in enumerate(self._full.nodes):
            if node.kind == "param" and node.tensor is not None:
                consumers = {e.dst for e in self._full.edges if e.src == i}
                if consumers and consumers <= inside:
                    params.append(node)
        for node in params[:_MAX_PARAM_VIEWS]:
            parts.append(_section(node.label, tensor_html(node.tensor)))
        if len(params) > _MAX_PARAM_VIEWS:
            rest = ", ".join(n.label for n in params[_MAX_PARAM_VIEWS:])
            parts.append(f"<div style='{H.MUTED}'>and {len(params) - _MAX_PARAM_VIEWS} more: {H.escape(rest)}</div>")
        return parts

    def _output_tensors(self) -> list:
        roots = self._outputs
        roots = list(roots.values()) if isinstance(roots, dict) else roots
        roots = list(roots) if isinstance(roots, (list, tuple)) else [roots]
        return [r for r in roots if G._is_tensor(r)]

    # ---------------------------------------------------------------- output
    def close(self) -> None:
        """Close the widget and let go of the graph and its tensors."""
        self._full = G.Graph([], [])
        self._chains, self._drawn, self._outputs, self._model = [], [], None, None
        for node in self._graph.nodes:  # the last drawing stays for the static view, without its tensors
            node.fn = node.tensor = node.tag = None
        super().close()

    def _fallback_html(self) -> str:
        """The drawing as :func:`nbgrad.viz.graph` shows it (inline SVG, no JavaScript)."""
        return G.render_html(self._graph)

    def _fallback_text(self) -> str:
        return repr(self)

    def __repr__(self) -> str:
        return self.summary


def _section(title: str, body: str) -> str:
    return f"<div style='margin-top: 6px'><div style='font-weight: bold'>{H.escape(title)}</div>{body}</div>"
