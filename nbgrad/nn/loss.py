"""Loss layers: ``MSELoss L1Loss SmoothL1Loss HuberLoss CrossEntropyLoss NLLLoss BCELoss BCEWithLogitsLoss KLDivLoss``.

Each wraps its functional form (:mod:`nbgrad.ops.loss`) with torch's
constructor arguments; class weights (``weight``, ``pos_weight``) are
registered as buffers, as in torch, so they move with ``.to()`` and appear in
the state dict.
"""

from __future__ import annotations

import warnings

from nbgrad.nn.module import Module
from nbgrad.ops import loss as L
from nbgrad.tensor import Tensor

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "HuberLoss",
    "KLDivLoss",
    "L1Loss",
    "MSELoss",
    "NLLLoss",
    "SmoothL1Loss",
]


def _legacy_reduction(size_average, reduce) -> str:
    """torch's mapping of the deprecated ``size_average``/``reduce`` flags to ``reduction``."""
    warnings.warn(
        "size_average and reduce args will be deprecated, please use reduction='mean', 'sum' or 'none' instead.",
        UserWarning,
        stacklevel=4,
    )
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        return "mean"
    return "sum" if reduce else "none"


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__()
        if size_average is not None or reduce is not None:
            reduction = _legacy_reduction(size_average, reduce)
        self.reduction = reduction


class _WeightedLoss(_Loss):
    def __init__(self, weight: "Tensor | None" = None, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    r"""Mean squared error :math:`(x - y)^2`, reduced by ``reduction`` (``'mean'``, ``'sum'`` or ``'none'``).

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.MSELoss()(nb.tensor([1.0, 2.0]), nb.tensor([0.0, 4.0]))
        tensor(2.5000)
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return L.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    r"""Mean absolute error :math:`|x - y|`.

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.L1Loss(reduction="sum")(nb.tensor([1.0, 2.0]), nb.tensor([0.0, 4.0]))
        tensor(3.)
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return L.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    r"""Quadratic for :math:`|x - y| < \beta`, linear beyond (see :func:`~nbgrad.nn.functional.smooth_l1_loss`).

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.SmoothL1Loss(beta=0.5)(nb.tensor([0.1, 2.0]), nb.tensor([0.0, 0.0]))
        tensor(0.8800)
    """

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean", beta: float = 1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return L.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    r"""Quadratic for :math:`|x - y| < \delta`, then linear with slope :math:`\delta`.

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.HuberLoss(delta=1.0)(nb.tensor([0.5, 3.0]), nb.tensor([0.0, 0.0]))
        tensor(1.3125)
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return L.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class CrossEntropyLoss(_WeightedLoss):
    r"""Cross-entropy between logits and class indices or class probabilities.

    Args:
        weight: a rescaling weight per class ``(C,)`` (a buffer).
        ignore_index: a target index that contributes neither loss nor gradient.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        label_smoothing: mix the target with the uniform distribution by this amount.

    Example::

        >>> import nbgrad as nb
        >>> loss = nb.nn.CrossEntropyLoss()
        >>> loss(nb.tensor([[2.0, 0.0], [0.0, 2.0]]), nb.tensor([0, 1]))
        tensor(0.1269)
    """

    def __init__(
        self,
        weight: "Tensor | None" = None,
        size_average=None,
        ignore_index: int = -100,
        reduce=None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return L.cross_entropy(
            input,
            target,
            self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class NLLLoss(_WeightedLoss):
    r"""Negative log-likelihood of log-probabilities (e.g. from ``LogSoftmax``) and class indices.

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.NLLLoss()(nb.tensor([[-0.5, -1.0]]), nb.tensor([1]))
        tensor(1.)
    """

    def __init__(
        self,
        weight: "Tensor | None" = None,
        size_average=None,
        ignore_index: int = -100,
        reduce=None,
        reduction: str = "mean",
    ):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return L.nll_loss(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class BCELoss(_WeightedLoss):
    r"""Binary cross-entropy of probabilities in ``[0, 1]`` (logs clamped at -100).

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.BCELoss()(nb.tensor([0.8, 0.1]), nb.tensor([1.0, 0.0]))
        tensor(0.1643)
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return L.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    r"""Sigmoid + binary cross-entropy in one numerically stable step.

    Args:
        weight: a rescaling weight broadcast against the input (a buffer).
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        pos_weight: a weight of positive examples, broadcast along the last (class) dimension (a buffer).

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.BCEWithLogitsLoss()(nb.tensor([2.0, -1.0]), nb.tensor([1.0, 0.0]))
        tensor(0.2201)
    """

    def __init__(
        self,
        weight: "Tensor | None" = None,
        size_average=None,
        reduce=None,
        reduction: str = "mean",
        pos_weight: "Tensor | None" = None,
    ):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return L.binary_cross_entropy_with_logits(
            input, target, self.weight, reduction=self.reduction, pos_weight=self.pos_weight
        )


class KLDivLoss(_Loss):
    r"""Kullback-Leibler divergence of a target distribution from log-probabilities ``input``.

    Args:
        reduction: ``'batchmean'`` (the mathematical KL divergence), ``'sum'``,
            ``'none'``, or ``'mean'`` (per element, with a warning).
        log_target: the target holds log-probabilities.

    Example::

        >>> import nbgrad as nb
        >>> loss = nb.nn.KLDivLoss(reduction="batchmean")
        >>> loss(nb.tensor([[0.25, 0.75]]).log(), nb.tensor([[0.5, 0.5]]))
        tensor(0.1438)
    """

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean", log_target: bool = False):
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return L.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)
