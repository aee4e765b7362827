"""Convolutions: ``conv1d conv2d conv_transpose1d conv_transpose2d``, each one graph node.

How it is computed (the same code on NumPy and CuPy):

- The input is viewed channels-last (N, H, W, C) and zero-padded, and a
  strided view of every kernel window is copied into one column matrix
  ``(N*Ho*Wo, kH*kW*C)`` (im2col); one GEMM with the weight makes the output.
  Channels-last keeps the innermost copy contiguous, which is where im2col
  spends its time, and the GEMM's result is already the (N, Ho, Wo, O) array:
  the output Tensor is its (N, O, Ho, Wo) view, so no transpose copy is made
  (the next conv's im2col reads that memory contiguously again).
- Backward: grad_weight is one GEMM with the columns kept from the forward;
  grad_input is a GEMM back to columns and a col2im that adds them into the
  padded input with ``kH*kW`` strided adds (a loop of big vectorised adds is
  far faster than ``np.add.at``).
- A transposed convolution *is* the input-gradient of a convolution, so
  ``conv_transpose2d`` runs that kernel; the three linear maps (conv,
  its input-gradient, its weight-gradient) are each other's backward, so
  ``create_graph=True`` differentiates all of them again.

1-d convolutions and unbatched inputs are views of the 2-d batched case
(a unit height, a unit batch), not separate code.
"""

from __future__ import annotations

import operator

from nbgrad import backend
from nbgrad.autograd.function import Function
from nbgrad.autograd.grad_mode import STATE
from nbgrad.ops._util import check_same_device
from nbgrad.tensor import Tensor

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]


# --------------------------------------------------------------------------- argument handling


def expand_arg(value, nd: int, name: str, op: str) -> tuple:
    """An int or a length-``nd`` sequence of ints as an ``nd``-tuple (torch's ``_pair``/``_single``)."""
    if isinstance(value, (tuple, list)):
        if len(value) != nd:
            raise ValueError(f"{op}: {name} must be an int or a tuple of {nd} ints, got {tuple(value)!r}")
        try:
            return tuple(operator.index(v) for v in value)
        except TypeError:
            raise TypeError(f"{op}: {name} must contain ints, got {tuple(value)!r}") from None
    try:
        return (operator.index(value),) * nd
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int or a tuple of {nd} ints, got {value!r}") from None


def check_positive(values: tuple, name: str, op: str) -> None:
    if any(v <= 0 for v in values):
        raise RuntimeError(f"{op}: {name} must be positive, got {values if len(values) > 1 else values[0]}")


def canonical_4d(shape: tuple, nd: int) -> tuple:
    """The (N, C, H, W) shape that a (N?, C, *spatial) array with ``nd`` spatial dims is viewed as."""
    if len(shape) == nd + 1:  # unbatched
        shape = (1, *shape)
    if nd == 1:
        shape = (shape[0], shape[1], 1, shape[2])
    return shape


def as_4d(array, nd: int):
    """View a batched or unbatched 1-d/2-d array as (N, C, H, W) (no copy)."""
    if array.ndim == nd + 1:
        array = array[None]
    if nd == 1:
        array = array[:, :, None, :]
    return array


def check_input_ndim(input: Tensor, nd: int, op: str, layout: str) -> None:
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"{op}: expected input with {nd + 1} (unbatched) or {nd + 2} (batched) dimensions {layout}, "
            f"got shape {tuple(input.shape)}"
        )


class ConvSpec:
    """The geometry of one convolution, in the canonical 2-d form (1-d has unit height).

    Attributes:
        nd: 1 or 2, the caller's number of spatial dims (to restore shapes).
        stride, dilation: ``(sh, sw)``.
        padding: ``((top, bottom), (left, right))``.
        groups: channel groups.
    """

    __slots__ = ("nd", "stride", "padding", "dilation", "groups")

    def __init__(self, nd, stride, padding, dilation, groups):
        if nd == 1:
            stride, dilation, padding = (1, *stride), (1, *dilation), ((0, 0), *padding)
        self.nd, self.stride, self.padding, self.dilation, self.groups = nd, stride, padding, dilation, groups

    def out_size(self, in_hw: tuple, k_hw: tuple) -> tuple:
        """Natural (Ho, Wo) of a convolution over an (H, W) input (may be <= 0 when the kernel does not fit)."""
        return tuple(
            (n + lo + hi - d * (k - 1) - 1) // s + 1
            for n, (lo, hi), d, k, s in zip(in_hw, self.padding, self.dilation, k_hw, self.stride)
        )


def _shape_out(shape_4d: tuple, logical_in: tuple, nd: int) -> tuple:
    """The caller-facing shape of a canonical (N, C, H, W) result, given the caller's input shape."""
    n, c, h, w = shape_4d
    spatial = (w,) if nd == 1 else (h, w)
    return (c, *spatial) if len(logical_in) == nd + 1 else (n, c, *spatial)


# --------------------------------------------------------------------------- array kernels (canonical 4-d)


def _weight_matrix(w, groups: int):
    """(O, Cg, kH, kW) weight as (g, kH*kW*Cg, Og): the GEMM operand matching the column layout."""
    o, cg, kh, kw = w.shape
    og = o // groups
    return w.reshape(groups, og, cg, kh, kw).transpose(0, 3, 4, 2, 1).reshape(groups, kh * kw * cg, og)


def _im2col(x, spec: ConvSpec, k_hw: tuple, out_hw: tuple):
    """Columns ``(g, N*Ho*Wo, kH*kW*Cg)`` of the zero-padded input, rows ordered (n, ho, wo), columns (kh, kw, c)."""
    xp = backend.array_module(x)
    n, c, h, w = x.shape
    (pt, pb), (pl, pr) = spec.padding
    g = spec.groups
    cg = c // g
    kh, kw = k_hw
    ho, wo = out_hw
    src = x.transpose(0, 2, 3, 1)  # channels-last view: free when x came from another conv
    if pt or pb or pl or pr:
        padded = xp.zeros((n, h + pt + pb, w + pl + pr, c), dtype=x.dtype)
        padded[:, pt : pt + h, pl : pl + w] = src
        src = padded
    s_n, s_h, s_w, s_c = src.strides
    (sh, sw), (dh, dw) = spec.stride, spec.dilation
    windows = xp.lib.stride_tricks.as_strided(
        src,
        shape=(g, n, ho, wo, kh, kw, cg),
        strides=(cg * s_c, s_n, s_h * sh, s_w * sw, s_h * dh, s_w * dw, s_c),
    )
    return xp.ascontiguousarray(windows).reshape(g, n * ho * wo, kh * kw * cg)


def _grad_matrix(grad, groups: int):
    """Output-shaped (N, O, Ho, Wo) gradient as (g, N*Ho*Wo, Og); a view when it is channels-last in memory."""
    n, o, ho, wo = grad.shape
    g2 = grad.transpose(0, 2, 3, 1).reshape(n * ho * wo, groups, o // groups)
    return g2.transpose(1, 0, 2)


def _gemm(a, b):
    """Batched ``a @ b`` over groups; a plain 2-d GEMM (one BLAS call) when there is one group."""
    if a.shape[0] == 1:
        return (a[0] @ b[0])[None]
    return a @ b


def _conv_array(x, w, b, spec: ConvSpec, out_hw=None, cols=None):
    """Canonical conv forward: (output (N, O, Ho, Wo) over channels-last memory, columns)."""
    n = x.shape[0]
    o, _, kh, kw = w.shape
    if out_hw is None:
        out_hw = spec.out_size(x.shape[2:], (kh, kw))
    if cols is None:
        cols = _im2col(x, spec, (kh, kw), out_hw)
    out = _gemm(cols, _weight_matrix(w, spec.groups))  # (g, M, Og)
    out = out[0] if spec.groups == 1 else out.transpose(1, 0, 2).reshape(-1, o)
    if b is not None:
        out += b
    return out.reshape(n, *out_hw, o).transpose(0, 3, 1, 2), cols


def _conv_weight_grad_array(cols, grad, spec: ConvSpec, w_shape: tuple):
    """grad_weight = grad_matrix^T @ columns, back in (O, Cg, kH, kW) layout."""
    o, cg, kh, kw = w_shape
    g = spec.groups
    g2 = _grad_matrix(grad, g)
    dw = _gemm(g2.transpose(0, 2, 1), cols)  # (g, Og, kh*kw*cg)
    return dw.reshape(g, o // g, kh, kw, cg).transpose(0, 1, 4, 2, 3).reshape(w_shape)


def _conv_input_grad_array(grad, w, spec: ConvSpec, x_shape: tuple):
    """grad_input: the column gradient ``grad_matrix @ W^T`` added back into the padded input (col2im)."""
    xp = backend.array_module(grad)
    n, c, h, wd = x_shape
    o, cg, kh, kw = w.shape
    g = spec.groups
    ho, wo = grad.shape[2:]
    (pt, pb), (pl, pr) = spec.padding
    (sh, sw), (dh, dw) = spec.stride, spec.dilation
    dcols = _gemm(_grad_matrix(grad, g), _weight_matrix(w, g).transpose(0, 2, 1))  # (g, M, kh*kw*cg)
    dcols = dcols.reshape(g, n, ho, wo, kh, kw, cg).transpose(1, 2, 3, 4, 5, 0, 6)  # (n, ho, wo, kh, kw, g, cg)
    padded = xp.zeros((n, h + pt + pb, wd + pl + pr, g, cg), dtype=grad.dtype)
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
        for j in range(kw):
            padded[:, rows, j * dw : j * dw + sw * (wo - 1) + 1 : sw] += dcols[:, :, :, i, j]
    return padded[:, pt : pt + h, pl : pl + wd].reshape(n, h, wd, c).transpose(0, 3, 1, 2)


def _bias_grad(grad, nd: int):
    """Sum of an output gradient (array or Tensor) over every dim but the channels (dim 1, or 0 unbatched)."""
    channel = grad.ndim - nd - 1
    return grad.sum(tuple(i for i in range(grad.ndim) if i != channel))


# --------------------------------------------------------------------------- graph nodes


class Convolution(Function):
    """``conv(x, w) + b``. Backward: ConvolutionTranspose (grad_input) and ConvolutionWeight (grad_weight)."""

    _builtin = True

    @staticmethod
    def forward(ctx, x, w, b, spec, out_hw):
        nd = spec.nd
        out, cols = _conv_array(as_4d(x._data, nd), as_4d(w._data, nd), None if b is None else b._data, spec, out_hw)
        ctx.spec, ctx.cols = spec, cols  # the columns make grad_weight one GEMM (freed with the node)
        return out.reshape(_shape_out(out.shape, x.shape, nd))

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, w = inputs[0], inputs[1]
        if not ctx.needs_input_grad[1]:
            del ctx.cols
        ctx.save_for_backward(x, w)

    @staticmethod
    def backward(ctx, grad):
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        spec = ctx.spec
        if STATE.enabled:  # create_graph: express the gradients with the differentiable twins
            x, w = ctx.saved_tensors
            gx = ConvolutionTranspose.apply(grad, w, None, spec, tuple(x.shape)) if need_x else None
            gw = ConvolutionWeight.apply(x, grad, spec, tuple(w.shape)) if need_w else None
            gb = _bias_grad(grad, spec.nd) if need_b else None
            return gx, gw, gb, None, None
        x, w = ctx.saved_arrays
        nd = spec.nd
        g = as_4d(grad._data, nd)
        w4 = as_4d(w, nd)
        gx = gw = gb = None
        if need_x:
            gx = Tensor._wrap(_conv_input_grad_array(g, w4, spec, canonical_4d(x.shape, nd)).reshape(x.shape))
        if need_w:
            gw = Tensor._wrap(_conv_weight_grad_array(ctx.cols, g, spec, w4.shape).reshape(w.shape))
        if need_b:
            gb = Tensor._wrap(_bias_grad(grad._data, nd))
        return gx, gw, gb, None, None


class ConvolutionTranspose(Function):
    """The input-gradient of a convolution (= a transposed convolution), plus an optional bias."""

    _builtin = True

    @staticmethod
    def forward(ctx, grad, w, b, spec, x_shape):
        nd = spec.nd
        g = as_4d(grad._data, nd)
        w4 = as_4d(w._data, nd)
        out = _conv_input_grad_array(g, w4, spec, canonical_4d(x_shape, nd))
        if b is not None:
            out += b._data[:, None, None]
        ctx.spec, ctx.x_shape = spec, x_shape
        return out.reshape(x_shape)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0], inputs[1])

    @staticmethod
    def backward(ctx, gout):
        need_g, need_w, need_b = ctx.needs_input_grad[:3]
        spec = ctx.spec
        grad, w = ctx.saved_tensors
        nd = spec.nd
        out_hw = canonical_4d(tuple(grad.shape), nd)[2:]
        if STATE.enabled:
            gg = Convolution.apply(gout, w, None, spec, out_hw) if need_g else None
            gw = ConvolutionWeight.apply(gout, grad, spec, tuple(w.shape)) if need_w else None
        else:  # one im2col of the incoming gradient serves both products
            g4 = as_4d(gout._data, nd)
            w4 = as_4d(w._data, nd)
            cols = _im2col(g4, spec, w4.shape[2:], out_hw)
            gg = gw = None
            if need_g:
                gg = Tensor._wrap(_conv_array(g4, w4, None, spec, out_hw, cols)[0].reshape(grad.shape))
            if need_w:
                gw = Tensor._wrap(_conv_weight_grad_array(cols, as_4d(grad._data, nd), spec, w4.shape).reshape(w.shape))
        gb = _bias_grad(gout, nd) if need_b else None
        return gg, gw, gb, None, None


class ConvolutionWeight(Function):
    """The weight-gradient of a convolution, as a function of (input, output gradient)."""

    _builtin = True

    @staticmethod
    def forward(ctx, x, grad, spec, w_shape):
        nd = spec.nd
        g = as_4d(grad._data, nd)
        w4_shape = canonical_4d(w_shape, nd)
        cols = _im2col(as_4d(x._data, nd), spec, w4_shape[2:], g.shape[2:])
        ctx.spec = spec
        return _conv_weight_grad_array(cols, g, spec, w4_shape).reshape(w_shape)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0], inputs[1])

    @staticmethod
    def backward(ctx, gw):
        need_x, need_g = ctx.needs_input_grad[:2]
        spec = ctx.spec
        x, grad = ctx.saved_tensors
        out_hw = canonical_4d(tuple(grad.shape), spec.nd)[2:]
        gx = ConvolutionTranspose.apply(grad, gw, None, spec, tuple(x.shape)) if need_x else None
        gg = Convolution.apply(x, gw, None, spec, out_hw) if need_g else None
        return gx, gg, None, None


# --------------------------------------------------------------------------- functional API


def _check_operands(op: str, input: Tensor, weight: Tensor, bias, nd: int, bias_len: int) -> None:
    check_same_device(op, input, weight, bias)
    layout = "(N, C, L)" if nd == 1 else "(N, C, H, W)"
    check_input_ndim(input, nd, op, layout)
    if weight.ndim != nd + 2:
        kernel = "kL" if nd == 1 else "kH, kW"
        raise RuntimeError(
            f"{op}: expected weight with {nd + 2} dimensions (*, *, {kernel}), got shape {tuple(weight.shape)}"
        )
    if input.dtype != weight.dtype:
        raise RuntimeError(
            f"{op}: input dtype {input.dtype} and weight dtype {weight.dtype} differ "
            f"(input {tuple(input.shape)}, weight {tuple(weight.shape)})"
        )
    if input.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating point input, got {input.dtype}")
    if bias is not None:
        if tuple(bias.shape) != (bias_len,):
            raise RuntimeError(
                f"{op}: expected bias of shape ({bias_len},) for weight of shape "
                f"{tuple(weight.shape)}, got {tuple(bias.shape)}"
            )
        if bias.dtype != weight.dtype:
            raise RuntimeError(f"{op}: bias dtype {bias.dtype} and weight dtype {weight.dtype} differ")


def _check_groups(groups, op: str) -> int:
    try:
        groups = operator.index(groups)
    except TypeError:
        raise TypeError(f"{op}: groups must be an int, got {groups!r}") from None
    if groups <= 0:
        raise RuntimeError(f"{op}: groups must be a positive integer, got {groups}")
    return groups


def _conv_padding(padding, nd: int, kernel: tuple, dilation: tuple, stride: tuple, op: str) -> tuple:
    """((lo, hi), ...) per spatial dim from an int, a tuple, 'valid' or 'same' (torch's rules)."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding != "same":
            raise ValueError(f"{op}: invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
        if any(s != 1 for s in stride):
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions (stride={stride})")
        # An even extent needs one more row/column after than before: torch pads the extra on the right.
        totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
        return tuple((t // 2, t - t // 2) for t in totals)
    pads = expand_arg(padding, nd, "padding", op)
    if any(p < 0 for p in pads):
        raise RuntimeError(f"{op}: negative padding is not supported, got padding={padding}")
    return tuple((p, p) for p in pads)


def _conv(op: str, nd: int, input, weight, bias, stride, padding, dilation, groups) -> Tensor:
    groups = _check_groups(groups, op)
    _check_operands(op, input, weight, bias, nd, weight.shape[0] if weight.ndim else 0)
    stride = expand_arg(stride, nd, "stride", op)
    dilation = expand_arg(dilation, nd, "dilation", op)
    check_positive(stride, "stride", op)
    check_positive(dilation, "dilation", op)
    kernel = tuple(weight.shape[2:])
    pads = _conv_padding(padding, nd, kernel, dilation, stride, op)
    out_channels, in_per_group = weight.shape[0], weight.shape[1]
    channels = input.shape[-nd - 1]
    if out_channels % groups:
        raise RuntimeError(
            f"{op}: weight of shape {tuple(weight.shape)} has {out_channels} output channels, "
            f"not divisible by groups={groups}"
        )
    if channels != in_per_group * groups:
        raise RuntimeError(
            f"{op}: input of shape {tuple(input.shape)} has {channels} channels, but weight of shape "
            f"{tuple(weight.shape)} with groups={groups} expects {in_per_group * groups} channels"
        )
    spatial = tuple(input.shape[-nd:])
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(spatial, pads))
    extent = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))
    if any(e > p for e, p in zip(extent, padded)):
        raise RuntimeError(
            f"{op}: kernel size {kernel} (dilated: {extent}) is larger than the padded input size {padded} "
            f"(input shape {tuple(input.shape)}, padding {pads})"
        )
    spec = ConvSpec(nd, stride, pads, dilation, groups)
    return Convolution.apply(input, weight, bias, spec, None)


def conv1d(
    input: Tensor, weight: Tensor, bias: "Tensor | None" = None, stride=1, padding=0, dilation=1, groups: int = 1
) -> Tensor:
    """1-d convolution (cross-correlation, as in torch) over an input of several planes.

    Args:
        input: ``(N, C_in, L)`` or unbatched ``(C_in, L)``.
        weight: ``(C_out, C_in / groups, kL)``.
        bias: ``(C_out,)`` or ``None``.
        stride: step between windows (int or 1-tuple).
        padding: zeros added on both sides: an int, a 1-tuple, ``'valid'`` (none) or ``'same'``
            (output as long as the input; needs stride 1; an even kernel pads one more on the right).
        dilation: spacing between kernel taps.
        groups: split the channels into this many independent groups.

    Shape:
        output: ``(N, C_out, L_out)`` with ``L_out = (L + 2*padding - dilation*(kL-1) - 1) // stride + 1``.

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> F.conv1d(nb.ones(2, 3, 10), nb.ones(4, 3, 3), padding="same").shape
        nbgrad.Size([2, 4, 10])
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(
    input: Tensor, weight: Tensor, bias: "Tensor | None" = None, stride=1, padding=0, dilation=1, groups: int = 1
) -> Tensor:
    """2-d convolution (cross-correlation, as in torch) over an input of several planes.

    Args:
        input: ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``.
        weight: ``(C_out, C_in / groups, kH, kW)``.
        bias: ``(C_out,)`` or ``None``.
        stride: step between windows (int or ``(sH, sW)``).
        padding: zeros added on both sides: an int, ``(pH, pW)``, ``'valid'`` (none) or ``'same'``
            (output the size of the input; needs stride 1; an even kernel pads one more after than before).
        dilation: spacing between kernel taps (int or pair).
        groups: split the channels into this many independent groups (``groups=C_in``: depthwise).

    Shape:
        output: ``(N, C_out, H_out, W_out)``, ``H_out = (H + 2*pH - dH*(kH-1) - 1) // sH + 1`` (same for W).
        The output is stored channels-last in memory (a transposed view), which the next
        convolution reads without a copy; ``.contiguous()`` gives a C-ordered copy.

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> F.conv2d(nb.ones(1, 1, 5, 5), nb.ones(2, 1, 3, 3), padding=1)[0, 0]
        tensor([[4., 6., 6., 6., 4.],
                [6., 9., 9., 9., 6.],
                [6., 9., 9., 9., 6.],
                [6., 9., 9., 9., 6.],
                [4., 6., 6., 6., 4.]])
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(op: str, nd: int, input, weight, bias, stride, padding, output_padding, groups, dilation) -> Tensor:
    groups = _check_groups(groups, op)
    out_channels = weight.shape[1] * groups if weight.ndim > 1 else 0
    _check_operands(op, input, weight, bias, nd, out_channels)
    stride = expand_arg(stride, nd, "stride", op)
    dilation = expand_arg(dilation, nd, "dilation", op)
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int or a tuple of ints, got {padding!r}")
    pads = expand_arg(padding, nd, "padding", op)
    out_pad = expand_arg(output_padding, nd, "output_padding", op)
    check_positive(stride, "stride", op)
    check_positive(dilation, "dilation", op)
    if any(p < 0 for p in pads) or any(p < 0 for p in out_pad):
        raise RuntimeError(
            f"{op}: negative padding is not supported, got padding={padding}, output_padding={output_padding}"
        )
    if any(op_ >= s and op_ >= d for op_, s, d in zip(out_pad, stride, dilation)):
        raise RuntimeError(
            f"{op}: output_padding {out_pad} must be smaller than either stride {stride} or dilation {dilation}"
        )
    channels = input.shape[-nd - 1]
    if channels != weight.shape[0]:
        raise RuntimeError(
            f"{op}: input of shape {tuple(input.shape)} has {channels} channels, but weight of "
            f"shape {tuple(weight.shape)} expects {weight.shape[0]} (weight is (C_in, C_out/groups, "
            f"*kernel))"
        )
    if channels % groups:
        raise RuntimeError(
            f"{op}: weight of shape {tuple(weight.shape)} has {channels} input channels, "
            f"not divisible by groups={groups}"
        )
    kernel = tuple(weight.shape[2:])
    spatial = tuple(input.shape[-nd:])
    out_spatial = tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + o + 1
        for n, s, p, d, k, o in zip(spatial, stride, pads, dilation, kernel, out_pad)
    )
    if any(n <= 0 for n in out_spatial):
        raise RuntimeError(
            f"{op}: input of shape {tuple(input.shape)} with kernel {kernel}, stride {stride}, "
            f"padding {pads} gives the empty output size {out_spatial}"
        )
    out_shape = (*input.shape[: -nd - 1], out_channels, *out_spatial)
    spec = ConvSpec(nd, stride, tuple((p, p) for p in pads), dilation, groups)
    return ConvolutionTranspose.apply(input, weight, bias, spec, out_shape)


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: "Tensor | None" = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """1-d transposed convolution ("deconvolution"): the gradient of :func:`conv1d` w.r.t. its input.

    Args:
        input: ``(N, C_in, L)`` or unbatched ``(C_in, L)``.
        weight: ``(C_in, C_out / groups, kL)``.
        bias: ``(C_out,)`` or ``None``.
        stride, padding, dilation, groups: those of the convolution this transposes.
        output_padding: extra size added to one side of the output (smaller than stride or dilation).

    Shape:
        output: ``(N, C_out, L_out)``, ``L_out = (L-1)*stride - 2*padding + dilation*(kL-1) + output_padding + 1``.

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> F.conv_transpose1d(nb.ones(1, 2, 4), nb.ones(2, 3, 3), stride=2).shape
        nbgrad.Size([1, 3, 9])
    """
    return _conv_transpose(
        "conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: "Tensor | None" = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """2-d transposed convolution ("deconvolution"): the gradient of :func:`conv2d` w.r.t. its input.

    Args:
        input: ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``.
        weight: ``(C_in, C_out / groups, kH, kW)``.
        bias: ``(C_out,)`` or ``None``.
        stride, padding, dilation, groups: those of the convolution this transposes (ints or pairs).
        output_padding: extra size added to one side of each output dim (smaller than stride or dilation).

    Shape:
        output: ``(N, C_out, H_out, W_out)``,
        ``H_out = (H-1)*sH - 2*pH + dH*(kH-1) + output_padding_H + 1`` (same for W).

    Example::

        >>> import nbgrad as nb
        >>> import nbgrad.nn.functional as F
        >>> F.conv_transpose2d(nb.ones(1, 4, 5, 5), nb.ones(4, 2, 3, 3), stride=2, padding=1).shape
        nbgrad.Size([1, 2, 9, 9])
    """
    return _conv_transpose(
        "conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups, dilation
    )
