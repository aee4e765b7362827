"""``nbgrad.nn``: Module, Parameter, the layers (by family), ``functional``, ``init`` and ``utils``."""

from nbgrad.nn import functional, init, utils
from nbgrad.nn.activation import *  # noqa: F403
from nbgrad.nn.attention import *  # noqa: F403
from nbgrad.nn.containers import *  # noqa: F403
from nbgrad.nn.conv import *  # noqa: F403
from nbgrad.nn.dropout import *  # noqa: F403
from nbgrad.nn.linear import *  # noqa: F403
from nbgrad.nn.loss import *  # noqa: F403
from nbgrad.nn.module import Module
from nbgrad.nn.normalization import *  # noqa: F403
from nbgrad.nn.parameter import Parameter
from nbgrad.nn.pooling import *  # noqa: F403
from nbgrad.nn.rnn import *  # noqa: F403
from nbgrad.nn.sparse import *  # noqa: F403
from nbgrad.nn.transformer import *  # noqa: F403
