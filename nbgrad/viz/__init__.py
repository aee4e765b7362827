"""Pictures of nbgrad objects: the computation graph (pure SVG) and matplotlib helpers.

``nb.viz.graph(loss, model=model)`` draws the backward graph without graphviz;
the matplotlib helpers (``imshow``, ``hist``, ``show_images``, ``plot_history``)
import matplotlib only when called.
"""

from nbgrad.viz.graph import GraphView, graph
from nbgrad.viz.plots import hist, imshow, plot_history, show_images

__all__ = ["GraphView", "graph", "hist", "imshow", "plot_history", "show_images"]
