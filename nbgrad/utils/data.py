"""``torch.utils.data``'s name for :mod:`nbgrad.data`: ``from nbgrad.utils.data import DataLoader`` works.

Every name here is the object of :mod:`nbgrad.data` (``nbgrad.utils.data.DataLoader is
nbgrad.data.DataLoader``), including the ``datasets`` submodule.
"""

from nbgrad.data import *  # noqa: F403
from nbgrad.data import __all__, datasets  # noqa: F401
