"""``nb.viz.graph``: the backward graph of a result, drawn as inline SVG in a notebook."""

from __future__ import annotations

from nbgrad.display import graph as _render


class GraphView:
    """A drawn computation graph; the last line of a notebook cell shows it as SVG.

    Attributes:
        nodes: the boxes (:class:`nbgrad.display.graph.Node`), in traversal order from the outputs.
        edges: ``(src, dst, kind)`` index triples; data flows from ``src`` to ``dst``.
        full: the graph before collapsing.
    """

    def __init__(self, graph: _render.Graph, full: _render.Graph):
        # A view kept in IPython's Out history must not keep the graph's arrays alive: drop the references.
        for node in full.nodes + graph.nodes:
            node.fn = node.tensor = None
        self._graph = graph
        self.full = full
        self.nodes = graph.nodes
        self.edges = graph.edges

    def svg(self, legend: bool = True) -> str:
        """The graph as a standalone SVG document (write it to a ``.svg`` file or embed it)."""
        return _render.render_svg(self._graph, legend=legend)

    def to_dot(self) -> str:
        """Graphviz DOT text, for users who have graphviz: ``dot -Tpdf graph.dot -o graph.pdf``."""
        return _render.to_dot(self._graph)

    def save(self, path: str) -> None:
        """Write the SVG (``.svg``) or DOT text (``.dot``/``.gv``) to ``path``."""
        text = self.to_dot() if str(path).endswith((".dot", ".gv")) else self.svg()
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    def __repr__(self) -> str:
        return self._graph.summary()

    def _repr_html_(self) -> str:
        return _render.render_html(self._graph)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}


def graph(output, model=None, params: "dict | None" = None, show_saved: bool = False, collapse="auto") -> GraphView:
    """Draw the backward graph that produced ``output``, laid out in pure Python (no graphviz needed).

    Args:
        output: a Tensor, a ``grad_fn`` node, a list of them, or a dict ``{name: tensor}``.
        model: a Module: its parameters name the leaves (``encoder.0.weight``) and its
            submodules name the boxes of the collapsed view.
        params: ``{name: tensor}`` naming leaves, like torchviz's ``params`` (added to the model's).
        show_saved: draw the tensors each op saved for backward (dashed edges), until backward frees them.
        collapse: ``"auto"`` (collapse big graphs), ``True``, ``False``, or a module depth (``1`` is
            one box per call of the model's direct children, ``0`` one box for the whole model).

    Example::

        >>> import nbgrad as nb
        >>> x = nb.randn(3, requires_grad=True)
        >>> nb.viz.graph((x * x).sum())
        Graph: 2 ops, 1 leaves
    """
    names = dict(model.named_parameters()) if model is not None else {}
    names.update(params or {})
    full = _render.extract(output, names, show_saved=show_saved)
    return GraphView(_render.collapse(full, model, collapse), full)
