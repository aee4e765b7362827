"""Pure renderers: object -> text, HTML, SVG or PNG. No IPython here (see ``nbgrad.ipython``).

``nb.display.options`` holds the settings of the HTML views; the renderers
themselves (``nbgrad.display.tensor``...) are imported when first used, so
``import nbgrad`` stays fast.
"""

from nbgrad.display.options import options

__all__ = ["options"]
