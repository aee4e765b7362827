"""``nb.display.options``: the settings of the rich (HTML) views.

The text part of a display follows :func:`nbgrad.set_printoptions`; these
settings drive the pictures. A plain class with slots: ``import nbgrad`` loads
this module, so it must stay cheap (no dataclasses, no renderers).
"""

from __future__ import annotations

_DEFAULTS = {
    "enabled": True,
    "max_elements": 200_000_000,
    "cmap": "RdBu",
    "image_cmap": "gray",
    "show_histogram": True,
    "histogram_bins": 40,
    "heatmap_size": 256,
    "max_facets": 12,
    "sample_size": 100_000,
    "detach_history": True,
}

# The type each setting must have (bool is checked apart: it is an int subclass).
_TYPES = {name: type(value) for name, value in _DEFAULTS.items()}


class DisplayOptions:
    """Settings of the rich views, read each time an object is displayed.

    Attributes:
        enabled: ``False`` turns the HTML views off (the text repr remains).
        max_elements: tensors with more elements show only their text repr
            (the statistics scan every element, about 2 ms per million on a CPU).
        cmap: colour map of heatmaps: a diverging map (``"RdBu"``, ``"coolwarm"``),
            centred on zero, or a sequential one (``"viridis"``, ``"gray"``),
            spanning min to max.
        image_cmap: colour map of one-channel images ``(1, H, W)``.
        show_histogram: draw the histogram of values.
        detach_history: in IPython, keep ``t.detach()`` (not ``t`` and its graph) in ``Out[n]``
            for a tensor shown as a cell's result (see :mod:`nbgrad.ipython`).
        histogram_bins: bins of the histogram.
        heatmap_size: largest side, in cells, of a heatmap or image; larger data
            is downsampled (block means for floats, nearest for ints and bools).
        max_facets: how many 2-D slices a tensor of rank 3 or more shows.
        sample_size: elements sampled (with a fixed stride) for the histogram.

    Example::

        >>> import nbgrad as nb
        >>> with nb.display.options.context(show_histogram=False):
        ...     nb.display.options.show_histogram
        False
        >>> nb.display.options.show_histogram
        True
    """

    __slots__ = tuple(_DEFAULTS)

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        """Restore every setting to its default."""
        for name, value in _DEFAULTS.items():
            object.__setattr__(self, name, value)  # defaults are valid; skipping checks keeps import cheap

    def __setattr__(self, name: str, value) -> None:
        if name not in _DEFAULTS:
            raise AttributeError(f"nb.display.options has no setting {name!r}; settings: {', '.join(_DEFAULTS)}")
        expected = _TYPES[name]
        if expected is bool:
            if not isinstance(value, bool):
                raise TypeError(f"nb.display.options.{name} must be True or False, got {value!r}")
        elif expected is int:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise TypeError(f"nb.display.options.{name} must be a positive int, got {value!r}")
        elif name in ("cmap", "image_cmap"):
            from nbgrad.display.html import COLORMAPS  # noqa: PLC0415 - only when a map is set: keeps import fast

            if value not in COLORMAPS:
                raise ValueError(
                    f"nb.display.options.{name}: unknown colour map {value!r}; use one of {sorted(COLORMAPS)}"
                )
        object.__setattr__(self, name, value)

    def context(self, **settings) -> "_Context":
        """A ``with`` block inside which ``settings`` apply; the old values return after it."""
        return _Context(self, settings)

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in _DEFAULTS}

    def __repr__(self) -> str:
        return "DisplayOptions(" + ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items()) + ")"


class _Context:
    def __init__(self, options: DisplayOptions, settings: dict):
        self.options = options
        self.settings = settings
        self.saved = None

    def __enter__(self) -> DisplayOptions:
        self.saved = self.options.as_dict()
        try:
            for name, value in self.settings.items():
                setattr(self.options, name, value)
        except Exception:
            self.__exit__()
            raise
        return self.options

    def __exit__(self, *exc) -> bool:
        for name, value in self.saved.items():
            object.__setattr__(self.options, name, value)
        return False


options = DisplayOptions()
