"""Pooling layers: ``MaxPool1d MaxPool2d AvgPool1d AvgPool2d AdaptiveAvgPool1d AdaptiveAvgPool2d``.

They hold no parameters; each stores its arguments the way torch's layer does
(so ``repr`` reads the same) and calls the functional form.
"""

from __future__ import annotations

from nbgrad.nn.module import Module
from nbgrad.ops.conv import expand_arg
from nbgrad.ops.pool import adaptive_avg_pool1d, adaptive_avg_pool2d, avg_pool1d, avg_pool2d, max_pool1d, max_pool2d
from nbgrad.tensor import Tensor

__all__ = ["AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d", "MaxPool1d", "MaxPool2d"]


class _MaxPoolNd(Module):
    _fn = None

    def __init__(
        self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False, ceil_mode: bool = False
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor):
        return type(self)._fn(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool1d(_MaxPoolNd):
    """1-d max pooling (see :func:`nbgrad.nn.functional.max_pool1d`).

    Args:
        kernel_size: window length. stride: step (default ``kernel_size``). padding: ``-inf`` on both sides.
        dilation: spacing of window elements. return_indices: also return the argmax positions.
        ceil_mode: round the output length up.

    Shape:
        - Input: ``(N, C, L)`` or ``(C, L)``. Output: ``(N, C, L_out)`` or ``(C, L_out)``.

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.MaxPool1d(3, stride=2)(nb.randn(20, 16, 50)).shape
        nbgrad.Size([20, 16, 24])
    """

    _fn = staticmethod(max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """2-d max pooling (see :func:`nbgrad.nn.functional.max_pool2d`).

    Args:
        kernel_size: window size. stride: step (default ``kernel_size``). padding: ``-inf`` on both sides.
        dilation: spacing of window elements. return_indices: also return the argmax positions.
        ceil_mode: round the output size up.

    Shape:
        - Input: ``(N, C, H, W)`` or ``(C, H, W)``. Output: ``(N, C, H_out, W_out)`` or ``(C, H_out, W_out)``.

    Example::

        >>> import nbgrad as nb
        >>> pool = nb.nn.MaxPool2d(2)
        >>> pool
        MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
        >>> pool(nb.randn(1, 3, 8, 8)).shape
        nbgrad.Size([1, 3, 4, 4])
    """

    _fn = staticmethod(max_pool2d)


class AvgPool1d(Module):
    """1-d average pooling (see :func:`nbgrad.nn.functional.avg_pool1d`).

    Args:
        kernel_size: window length. stride: step (default ``kernel_size``). padding: zeros on both sides.
        ceil_mode: round the output length up. count_include_pad: count the padding zeros in the mean.

    Shape:
        - Input: ``(N, C, L)`` or ``(C, L)``. Output: ``(N, C, L_out)`` or ``(C, L_out)``.

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.AvgPool1d(3, stride=2)(nb.randn(1, 4, 7)).shape
        nbgrad.Size([1, 4, 3])
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True):
        super().__init__()
        # torch's AvgPool1d keeps 1-tuples (its repr shows them).
        self.kernel_size = expand_arg(kernel_size, 1, "kernel_size", "AvgPool1d")
        self.stride = expand_arg(stride if stride is not None else kernel_size, 1, "stride", "AvgPool1d")
        self.padding = expand_arg(padding, 1, "padding", "AvgPool1d")
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """2-d average pooling (see :func:`nbgrad.nn.functional.avg_pool2d`).

    Args:
        kernel_size: window size. stride: step (default ``kernel_size``). padding: zeros on both sides.
        ceil_mode: round the output size up. count_include_pad: count the padding zeros in the mean.
        divisor_override: divide every window sum by this instead.

    Shape:
        - Input: ``(N, C, H, W)`` or ``(C, H, W)``. Output: ``(N, C, H_out, W_out)`` or ``(C, H_out, W_out)``.

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.AvgPool2d((3, 2), stride=(2, 1))(nb.randn(2, 3, 9, 8)).shape
        nbgrad.Size([2, 3, 4, 7])
    """

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override=None,
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return avg_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AdaptiveAvgPoolNd(Module):
    _fn = None

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """1-d adaptive average pooling to a fixed output length (see ``F.adaptive_avg_pool1d``).

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.AdaptiveAvgPool1d(5)(nb.randn(1, 64, 8)).shape
        nbgrad.Size([1, 64, 5])
    """

    _fn = staticmethod(adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """2-d adaptive average pooling to a fixed output size (see ``F.adaptive_avg_pool2d``).

    Args:
        output_size: ``(Ho, Wo)`` or one int; ``None`` keeps that input size.

    Example::

        >>> import nbgrad as nb
        >>> nb.nn.AdaptiveAvgPool2d((5, None))(nb.randn(1, 64, 8, 9)).shape
        nbgrad.Size([1, 64, 5, 9])
    """

    _fn = staticmethod(adaptive_avg_pool2d)
