"""Convolution layers: ``Conv1d Conv2d ConvTranspose1d ConvTranspose2d``, torch's names, shapes and init."""

from __future__ import annotations

import math

from nbgrad.nn import init
from nbgrad.nn.linear import empty_parameter
from nbgrad.nn.module import Module
from nbgrad.ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d, expand_arg
from nbgrad.ops.shape import pad
from nbgrad.tensor import Tensor

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What the convolution layers share: arguments, parameters, init and repr (torch's ``_ConvNd``)."""

    _nd = 2
    _transposed = False

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride,
        padding,
        dilation,
        groups,
        bias,
        padding_mode,
        output_padding=0,
        device=None,
        dtype=None,
    ):
        super().__init__()
        name, nd = type(self).__name__, self._nd
        if groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels={in_channels} must be divisible by groups={groups}")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels={out_channels} must be divisible by groups={groups}")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"{name}: padding_mode must be one of {_PADDING_MODES}, but got padding_mode={padding_mode!r}"
            )
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f'{name}: only "zeros" padding mode is supported, got padding_mode={padding_mode!r}')
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = expand_arg(kernel_size, nd, "kernel_size", name)
        self.stride = expand_arg(stride, nd, "stride", name)
        self.dilation = expand_arg(dilation, nd, "dilation", name)
        self.output_padding = expand_arg(output_padding, nd, "output_padding", name)
        self.padding_mode = padding_mode
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"{name}: invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = expand_arg(padding, nd, "padding", name)
        # F.pad's (left, right, top, bottom) for the non-zero padding modes, last dim first (torch's layout).
        if padding == "same":
            totals = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            pairs = [(t // 2, t - t // 2) for t in totals]
        elif padding == "valid":
            pairs = [(0, 0)] * nd
        else:
            pairs = [(p, p) for p in self.padding]
        self._reversed_padding_repeated_twice = tuple(v for pair in reversed(pairs) for v in pair)
        shape = (in_channels, out_channels // groups) if self._transposed else (out_channels, in_channels // groups)
        self.weight = empty_parameter(*shape, *self.kernel_size, device=device, dtype=dtype)
        if bias:
            self.bias = empty_parameter(out_channels, device=device, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # torch's scheme: kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)), the same bound for bias.
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        nd = self._nd
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    _fn = None

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ):
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device=device,
            dtype=dtype,
        )

    def _conv_forward(self, input: Tensor, weight: Tensor, bias) -> Tensor:
        fn = type(self)._fn
        if self.padding_mode != "zeros":
            padded = pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return fn(padded, weight, bias, self.stride, 0, self.dilation, self.groups)
        return fn(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_Conv):
    """1-d convolution over an input of several planes (see :func:`nbgrad.nn.functional.conv1d`).

    Args:
        in_channels, out_channels: channels of the input and of the output.
        kernel_size: the window length.
        stride, padding, dilation, groups: as in ``conv1d`` (padding may be ``'valid'`` or ``'same'``).
        bias: learn an additive per-channel bias (default ``True``).
        padding_mode: ``'zeros'`` (default), ``'reflect'``, ``'replicate'`` or ``'circular'``.
        device, dtype: where and in which dtype to create the parameters.

    Shape:
        - Input: ``(N, C_in, L)`` or ``(C_in, L)``.
        - Output: ``(N, C_out, L_out)`` or ``(C_out, L_out)``.

    Attributes:
        weight: ``(out_channels, in_channels / groups, kernel_size)``, U(-k, k) with
            k = 1/sqrt(in_channels / groups * kernel_size); bias: ``(out_channels,)``, the same.

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.Conv1d(16, 33, 3, stride=2)(nb.randn(20, 16, 50)).shape
        nbgrad.Size([20, 33, 24])
    """

    _nd = 1
    _fn = staticmethod(conv1d)


class Conv2d(_Conv):
    """2-d convolution over an input of several planes (see :func:`nbgrad.nn.functional.conv2d`).

    Args:
        in_channels, out_channels: channels of the input and of the output.
        kernel_size: the window size (int or pair).
        stride, padding, dilation, groups: as in ``conv2d`` (padding may be ``'valid'`` or ``'same'``).
        bias: learn an additive per-channel bias (default ``True``).
        padding_mode: ``'zeros'`` (default), ``'reflect'``, ``'replicate'`` or ``'circular'``.
        device, dtype: where and in which dtype to create the parameters.

    Shape:
        - Input: ``(N, C_in, H, W)`` or ``(C_in, H, W)``.
        - Output: ``(N, C_out, H_out, W_out)`` or ``(C_out, H_out, W_out)``.

    Attributes:
        weight: ``(out_channels, in_channels / groups, kH, kW)``, U(-k, k) with
            k = 1/sqrt(in_channels / groups * kH * kW); bias: ``(out_channels,)``, the same.

    Example::

        >>> import nbgrad as nb
        >>> conv = nb.nn.Conv2d(16, 33, 3, stride=2, padding=1)
        >>> conv
        Conv2d(16, 33, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))
        >>> conv(nb.randn(4, 16, 20, 20)).shape
        nbgrad.Size([4, 33, 10, 10])
    """

    _nd = 2
    _fn = staticmethod(conv2d)


class _ConvTranspose(_ConvNd):
    _transposed = True
    _fn = None

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ):
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple of ints, got {padding!r}")
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            output_padding,
            device=device,
            dtype=dtype,
        )

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        """The output_padding that makes the output ``output_size`` (torch's ``_output_padding``)."""
        if output_size is None:
            return self.output_padding
        nd, name = self._nd, type(self).__name__
        output_size = tuple(output_size)
        if len(output_size) == nd + 2 or len(output_size) == nd + 1:
            output_size = output_size[-nd:]
        if len(output_size) != nd:
            raise ValueError(f"{name}: output_size must have {nd} or {nd + 2} elements, got {output_size}")
        spatial = tuple(input.shape[-nd:])
        padding = []
        for d in range(nd):
            smallest = (
                (spatial[d] - 1) * self.stride[d]
                - 2 * self.padding[d]
                + self.dilation[d] * (self.kernel_size[d] - 1)
                + 1
            )
            largest = smallest + self.stride[d] - 1
            if not smallest <= output_size[d] <= largest:
                raise ValueError(
                    f"{name}: requested an output size of {output_size}, but valid sizes for input of "
                    f"shape {tuple(input.shape)} range from {smallest} to {largest} in dim {d}"
                )
            padding.append(output_size[d] - smallest)
        return tuple(padding)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        output_padding = self._output_padding(input, output_size)
        return type(self)._fn(
            input, self.weight, self.bias, self.stride, self.padding, output_padding, self.groups, self.dilation
        )


class ConvTranspose1d(_ConvTranspose):
    """1-d transposed convolution (see :func:`nbgrad.nn.functional.conv_transpose1d`).

    Args:
        in_channels, out_channels: channels of the input and of the output.
        kernel_size: the window length.
        stride, padding, output_padding, groups, dilation: as in ``conv_transpose1d``.
        bias: learn an additive per-channel bias (default ``True``).
        padding_mode: only ``'zeros'``.
        device, dtype: where and in which dtype to create the parameters.

    Shape:
        - Input: ``(N, C_in, L)`` or ``(C_in, L)``. ``forward(input, output_size=None)``.
        - Output: ``(N, C_out, L_out)``.

    Attributes:
        weight: ``(in_channels, out_channels / groups, kernel_size)``; bias: ``(out_channels,)``.

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.ConvTranspose1d(16, 8, 3, stride=2)(nb.randn(2, 16, 10)).shape
        nbgrad.Size([2, 8, 21])
    """

    _nd = 1
    _fn = staticmethod(conv_transpose1d)


class ConvTranspose2d(_ConvTranspose):
    """2-d transposed convolution (see :func:`nbgrad.nn.functional.conv_transpose2d`).

    Args:
        in_channels, out_channels: channels of the input and of the output.
        kernel_size: the window size (int or pair).
        stride, padding, output_padding, groups, dilation: as in ``conv_transpose2d``.
        bias: learn an additive per-channel bias (default ``True``).
        padding_mode: only ``'zeros'``.
        device, dtype: where and in which dtype to create the parameters.

    Shape:
        - Input: ``(N, C_in, H, W)`` or ``(C_in, H, W)``. ``forward(input, output_size=None)``: ``output_size``
          picks among the sizes a strided transpose can produce.
        - Output: ``(N, C_out, H_out, W_out)``.

    Attributes:
        weight: ``(in_channels, out_channels / groups, kH, kW)``, U(-k, k) with
            k = 1/sqrt(out_channels / groups * kH * kW); bias: ``(out_channels,)``, the same.

    Example::

        >>> import nbgrad as nb
        >>> up = nb.nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1)
        >>> up(nb.randn(1, 16, 12, 12), output_size=(24, 24)).shape
        nbgrad.Size([1, 8, 24, 24])
    """

    _nd = 2
    _fn = staticmethod(conv_transpose2d)
