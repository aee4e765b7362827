"""``nbgrad.nn.functional`` (``import nbgrad.nn.functional as F``): the stateless form of every layer.

Each function lives with its op family in ``nbgrad.ops``; this module gathers
them under torch's names.
"""

from nbgrad.ops.activation import *  # noqa: F403
from nbgrad.ops.attention import *  # noqa: F403
from nbgrad.ops.conv import *  # noqa: F403
from nbgrad.ops.dropout import *  # noqa: F403
from nbgrad.ops.elementwise import relu, sigmoid, tanh  # noqa: F401
from nbgrad.ops.embedding import *  # noqa: F403
from nbgrad.ops.interpolate import *  # noqa: F403
from nbgrad.ops.linear import *  # noqa: F403
from nbgrad.ops.loss import *  # noqa: F403
from nbgrad.ops.norm import *  # noqa: F403
from nbgrad.ops.pool import *  # noqa: F403
from nbgrad.ops.recurrent import *  # noqa: F403
from nbgrad.ops.shape import pad  # noqa: F401
