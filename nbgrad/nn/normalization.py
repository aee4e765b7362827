"""Normalisation layers: ``BatchNorm1d BatchNorm2d LayerNorm GroupNorm RMSNorm``.

Parameter and buffer names, shapes, defaults and reprs are torch's, so a torch
state dict loads one to one (``weight bias running_mean running_var num_batches_tracked``).
"""

from __future__ import annotations

from nbgrad import backend, creation
from nbgrad.nn import init
from nbgrad.nn.linear import empty_parameter
from nbgrad.nn.module import Module
from nbgrad.ops.norm import _normalized_shape, batch_norm, group_norm, layer_norm, rms_norm
from nbgrad.tensor import Tensor

__all__ = ["BatchNorm1d", "BatchNorm2d", "GroupNorm", "LayerNorm", "RMSNorm"]


def _register_affine(module: Module, shape: tuple, affine: bool, bias: bool, device, dtype) -> None:
    """``weight`` (and ``bias`` unless ``bias=False``) of ``shape`` when ``affine``, else ``None`` placeholders."""
    module.register_parameter("weight", empty_parameter(*shape, device=device, dtype=dtype) if affine else None)
    module.register_parameter("bias", empty_parameter(*shape, device=device, dtype=dtype) if affine and bias else None)


def _reset_affine(module: Module) -> None:
    """torch's initialisation: weight 1, bias 0."""
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class _BatchNorm(Module):
    """Shared by BatchNorm1d/2d; subclasses name the input ranks they accept."""

    _ranks: tuple = ()
    _layout: str = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: "float | None" = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        _register_affine(self, (num_features,), affine, bias, device, dtype)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", creation.ones(num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked", creation.tensor(0, dtype=backend.int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        _reset_affine(self)

    def _check_input(self, input: Tensor) -> None:
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in self._ranks:
            raise ValueError(
                f"{name}: expected {' or '.join(f'{r}D' for r in self._ranks)} input {self._layout}, got "
                f"{input.ndim}D input of shape {tuple(input.shape)}"
            )
        if input.shape[1] != self.num_features:
            raise ValueError(
                f"{name}: input of shape {tuple(input.shape)} has {input.shape[1]} channels (dimension 1) but "
                f"num_features={self.num_features}"
            )

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            counter = self.num_batches_tracked
            counter._data += 1
            counter._version[0] += 1
            # momentum=None: a cumulative moving average over all batches seen.
            factor = 1.0 / int(counter._data) if self.momentum is None else self.momentum
        # In eval mode without running statistics, batch statistics are used (torch's rule).
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return batch_norm(
            input,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            use_batch,
            factor,
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    r"""Batch normalisation over a 2-D ``(N, C)`` or 3-D ``(N, C, L)`` input, per channel.

    :math:`y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \gamma + \beta`, with batch statistics
    in training mode (which also update ``running_mean``/``running_var``) and
    the running statistics in eval mode.

    Args:
        num_features: ``C``.
        eps: added to the variance.
        momentum: the weight of each batch in the running statistics; ``None``
            for a cumulative average.
        affine: learn γ (``weight``, init 1) and β (``bias``, init 0).
        track_running_stats: keep running statistics (else batch statistics are used in eval mode too).
        bias: with ``affine``, also learn β (keyword only).

    Shape:
        - Input: ``(N, C)`` or ``(N, C, L)``. Output: the same.

    Example::

        >>> import nbgrad as nb
        >>> bn = nb.nn.BatchNorm1d(3)
        >>> bn(nb.randn(8, 3)).shape
        nbgrad.Size([8, 3])
        >>> bn
        BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """

    _ranks = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    r"""Batch normalisation over a 4-D ``(N, C, H, W)`` input, per channel.

    Args: as :class:`BatchNorm1d`.

    Shape:
        - Input: ``(N, C, H, W)``. Output: the same.

    Example::

        >>> import nbgrad as nb
        >>> bn = nb.nn.BatchNorm2d(4)
        >>> bn(nb.randn(2, 4, 5, 5)).shape
        nbgrad.Size([2, 4, 5, 5])
    """

    _ranks = (4,)
    _layout = "(N, C, H, W)"


class LayerNorm(Module):
    r"""Layer normalisation over the trailing ``normalized_shape`` of each sample.

    Args:
        normalized_shape: an int or tuple: the trailing dimensions to normalise.
        eps: added to the variance.
        elementwise_affine: learn ``weight`` (init 1) and ``bias`` (init 0) of shape ``normalized_shape``.
        bias: with ``elementwise_affine``, also learn the bias.

    Shape:
        - Input: ``(*, *normalized_shape)``. Output: the same.

    Example::

        >>> import nbgrad as nb
        >>> ln = nb.nn.LayerNorm(8)
        >>> ln(nb.randn(2, 5, 8)).shape
        nbgrad.Size([2, 5, 8])
        >>> ln
        LayerNorm((8,), eps=1e-05, elementwise_affine=True, bias=True)
    """

    def __init__(
        self,
        normalized_shape,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        self.normalized_shape = _normalized_shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _register_affine(self, self.normalized_shape, elementwise_affine, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )


class GroupNorm(Module):
    r"""Group normalisation: ``num_channels`` split into ``num_groups`` groups normalised per sample.

    Args:
        num_groups: the number of groups (must divide ``num_channels``).
        num_channels: ``C``.
        eps: added to the variance.
        affine: learn per-channel ``weight`` (init 1) and ``bias`` (init 0).
        bias: with ``affine``, also learn the bias (keyword only).

    Shape:
        - Input: ``(N, C, *)``. Output: the same.

    Example::

        >>> import nbgrad as nb
        >>> gn = nb.nn.GroupNorm(2, 6)
        >>> gn(nb.randn(3, 6, 4)).shape
        nbgrad.Size([3, 6, 4])
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ):
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels={num_channels} must be divisible by num_groups={num_groups}")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        _register_affine(self, (num_channels,), affine, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise ValueError(
                f"GroupNorm: expected input of shape (N, {self.num_channels}, *) (num_channels={self.num_channels}), "
                f"got shape {tuple(input.shape)}"
            )
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )


class RMSNorm(Module):
    r"""Root-mean-square normalisation over the trailing ``normalized_shape``: :math:`x / \mathrm{RMS}(x) \gamma`.

    Args:
        normalized_shape: an int or tuple.
        eps: added to the mean square; ``None`` means ``finfo(input.dtype).eps``.
        elementwise_affine: learn ``weight`` (init 1).

    Shape:
        - Input: ``(*, *normalized_shape)``. Output: the same.

    Example::

        >>> import nbgrad as nb
        >>> norm = nb.nn.RMSNorm([2, 3])
        >>> norm(nb.randn(4, 2, 3)).shape
        nbgrad.Size([4, 2, 3])
        >>> norm
        RMSNorm((2, 3), eps=None, elementwise_affine=True)
    """

    def __init__(
        self, normalized_shape, eps: "float | None" = None, elementwise_affine: bool = True, device=None, dtype=None
    ):
        super().__init__()
        self.normalized_shape = _normalized_shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        self.register_parameter(
            "weight",
            empty_parameter(*self.normalized_shape, device=device, dtype=dtype) if elementwise_affine else None,
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, input: Tensor) -> Tensor:
        return rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
