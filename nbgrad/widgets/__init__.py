"""Live widgets for notebooks (ipywidgets 8 through anywidget): training curves, tensors, monitors, graphs.

Everything loads on first use: ``import nbgrad`` (and ``import nbgrad.widgets``)
imports neither ipywidgets nor anywidget; ``nb.widgets.LossPlot`` does.

- :class:`LossPlot`: live training curves (``plot.log(loss=...)`` from any loop).
- :class:`TensorView` / :func:`explore`: a tensor's slices as a heatmap with sliders.
- :class:`TrainingMonitor`: gradient and activation statistics of a model while it trains.
- :class:`GraphView`: the computation graph, interactive.

Each widget's mimebundle also carries a static HTML picture (see :mod:`nbgrad.widgets._base`),
so saved notebooks, nbconvert HTML and GitHub show something without a widget front end.
"""

_LAZY = {
    "LossPlot": "nbgrad.widgets.loss_plot",
    "TensorView": "nbgrad.widgets.tensor_view",
    "explore": "nbgrad.widgets.tensor_view",
    "TrainingMonitor": "nbgrad.widgets.monitor",
    "GraphView": "nbgrad.widgets.graph_view",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    import importlib

    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nbgrad.widgets' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
