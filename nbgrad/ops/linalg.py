"""Products: ``matmul``/``@`` (with torch's 1-D and batch-broadcast rules), mm, bmm, dot, outer, einsum.

``matmul`` is the hot path of every dense layer, so its node does one BLAS
call forward and one per needed gradient backward, on transposed views.
"""

from __future__ import annotations

import string

from nbgrad import backend
from nbgrad.autograd.function import Function
from nbgrad.autograd.grad_mode import STATE
from nbgrad.ops import math_ns
from nbgrad.ops._util import as_operand, check_same_device, describe
from nbgrad.ops.broadcast import broadcast_to, sum_to
from nbgrad.tensor import Tensor, register_method

__all__ = ["matmul", "mm", "bmm", "dot", "outer", "einsum"]


# ---------------------------------------------------------------------------
# matmul


class MatMul(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        try:
            return a._data @ b._data
        except ValueError:
            raise RuntimeError(
                f"matmul: the batch dimensions of {tuple(a.shape)} and {tuple(b.shape)} cannot be broadcast together"
            ) from None

    @staticmethod
    def backward(ctx, grad):
        need_a, need_b = ctx.needs_input_grad
        if STATE.enabled:  # create_graph=True: record the backward itself
            return _matmul_grads(grad, *ctx.saved_tensors, need_a, need_b, math_ns.TENSORS)
        # An ordinary backward: plain BLAS calls on the saved arrays, no nodes.
        ga, gb = _matmul_grads(grad._data, *ctx.saved_arrays, need_a, need_b, math_ns.ARRAYS)
        return (None if ga is None else Tensor._wrap(ga)), (None if gb is None else Tensor._wrap(gb))


def _matmul_grads(g, a, b, need_a, need_b, m):
    """Both gradients of ``a @ b``, written once for arrays and Tensors (``m`` is the namespace).

    A 1-D operand is promoted to a matrix as in the forward (and the gradient
    squeezed back); broadcast batch dimensions are summed by ``m.sum_to``.
    """
    a_vec, b_vec = a.ndim == 1, b.ndim == 1
    a2 = a[None] if a_vec else a  # (k,) -> (1, k)
    b2 = b[:, None] if b_vec else b  # (k,) -> (k, 1)
    if b_vec:
        g = g[..., None]
    if a_vec:
        g = g[..., None, :]
    ga = gb = None
    if need_a:
        ga = m.sum_to(g @ b2.swapaxes(-1, -2), tuple(a2.shape))
        ga = ga[0] if a_vec else ga
    if need_b:
        if b2.ndim == 2 and a2.ndim > 2:
            # Fold the batch into the rows: one GEMM instead of a (batch, k, m) product summed afterwards.
            gb = a2.reshape(-1, a2.shape[-1]).swapaxes(-1, -2) @ g.reshape(-1, g.shape[-1])
        else:
            gb = m.sum_to(a2.swapaxes(-1, -2) @ g, tuple(b2.shape))
        gb = gb[:, 0] if b_vec else gb
    return ga, gb


def _operands(op: str, input, other) -> "tuple[Tensor, Tensor]":
    a, b = as_operand(input, op), as_operand(other, op)
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"{op}: both arguments must be tensors, got {describe(input)} and {describe(other)}")
    if type(a._data) is not type(b._data) or a.device != b.device:
        check_same_device(op, a, b)
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            f"{op}: expected both operands to have the same dtype, but got {a.dtype} and {b.dtype} "
            f"(shapes {tuple(a.shape)} and {tuple(b.shape)}); convert one with .to(dtype)"
        )
    return a, b


def _check_inner(op: str, sa: tuple, sb: tuple) -> None:
    inner = sb[-2] if len(sb) > 1 else sb[0]
    if sa[-1] != inner:
        raise RuntimeError(
            f"{op}: cannot multiply {tuple(sa)} by {tuple(sb)}: inner dimensions {sa[-1]} and {inner} differ"
        )


@register_method("matmul")
def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with torch's rules for 1-D and batched operands.

    - 1-D @ 1-D: the dot product (a 0-d tensor);
    - 2-D @ 2-D: the matrix product;
    - a 1-D operand is promoted to a matrix (a row on the left, a column on the
      right) and the added dimension is removed from the result;
    - more than 2-D: batches of matrices; the batch dimensions broadcast.

    Shape:
        ``(*, n, k) @ (*, k, m) -> (*, n, m)``.

    Example::

        >>> import nbgrad as nb
        >>> a = nb.tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> a @ nb.tensor([1.0, 1.0])
        tensor([3., 7.])
    """
    a, b = _operands("matmul", input, other)
    sa, sb = a._data.shape, b._data.shape
    if not sa or not sb:
        raise RuntimeError(
            f"matmul: both arguments need to be at least 1-D, but they have shapes {tuple(sa)} and {tuple(sb)}"
        )
    _check_inner("matmul", sa, sb)
    return MatMul.apply(a, b)


Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = lambda self, other: matmul(other, self)


def _strict_product(op: str, input, other, ndim: int) -> Tensor:
    """mm, bmm and dot: matmul for operands of exactly ``ndim`` dimensions, without promotion or broadcasting."""
    a, b = _operands(op, input, other)
    sa, sb = a._data.shape, b._data.shape
    if len(sa) != ndim or len(sb) != ndim:
        raise RuntimeError(f"{op}: expected {ndim}-D tensors, but got shapes {tuple(sa)} and {tuple(sb)}")
    if ndim == 3 and sa[0] != sb[0]:
        raise RuntimeError(f"{op}: cannot multiply {tuple(sa)} by {tuple(sb)}: batch sizes {sa[0]} and {sb[0]} differ")
    _check_inner(op, sa, sb)
    return MatMul.apply(a, b)


@register_method("mm")
def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two matrices (no broadcasting).

    Shape:
        ``(n, k) @ (k, m) -> (n, m)``.
    """
    return _strict_product("mm", input, mat2, 2)


@register_method("bmm")
def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of two 3-D tensors with the same batch size (no broadcasting).

    Shape:
        ``(b, n, k) @ (b, k, m) -> (b, n, m)``.
    """
    return _strict_product("bmm", input, mat2, 3)


@register_method("dot")
def dot(input: Tensor, other: Tensor) -> Tensor:
    """Dot product of two 1-D tensors of the same length (a 0-d tensor).

    Example::

        >>> import nbgrad as nb
        >>> nb.dot(nb.tensor([1.0, 2.0]), nb.tensor([3.0, 4.0]))
        tensor(11.)
    """
    return _strict_product("dot", input, other, 1)


@register_method("outer", "ger")
def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two 1-D tensors: ``out[i, j] = input[i] * vec2[j]``.

    Shape:
        ``(n,), (m,) -> (n, m)``.
    """
    a, b = as_operand(input, "outer"), as_operand(vec2, "outer")
    if not isinstance(a, Tensor) or not isinstance(b, Tensor) or a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"outer: expected two 1-D tensors, got {describe(a)} and {describe(b)}")
    check_same_device("outer", a, b)
    return a[:, None] * b[None, :]


# ---------------------------------------------------------------------------
# einsum


def _parse_einsum(equation: str, shapes: list) -> "tuple[list, str]":
    """Explicit subscripts (one letter per dimension, ``...`` spelled out) for each operand and the output."""
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the equation must be a string, got {type(equation).__name__}")
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    subs = lhs.split(",")
    if len(subs) != len(shapes):
        raise RuntimeError(
            f"einsum: the equation {equation!r} has {len(subs)} operand(s) but {len(shapes)} tensor(s) were given"
        )
    bad = set(eq) - set(string.ascii_letters) - set(",->.")
    if bad or eq.count(".") != 3 * eq.count("..."):
        raise RuntimeError(f"einsum: invalid subscripts in {equation!r}: use letters a-z, A-Z, ',', '->' and '...'")
    free = [c for c in string.ascii_letters if c not in eq]
    n_ell = 0
    for sub, shape in zip(subs, shapes):
        named = len(sub.replace("...", ""))
        if ("..." in sub and named > len(shape)) or ("..." not in sub and named != len(shape)):
            raise RuntimeError(
                f"einsum: subscripts {sub!r} do not match an operand of shape {tuple(shape)} "
                f"({named} letter(s) for {len(shape)} dimension(s))"
            )
        if "..." in sub:
            n_ell = max(n_ell, len(shape) - named)
    ell = "".join(free[:n_ell])
    explicit = [
        sub.replace("...", ell[n_ell - (len(shape) - len(sub.replace("...", ""))) :])
        for sub, shape in zip(subs, shapes)
    ]
    letters = "".join(explicit)
    if arrow:
        out = rhs.replace("...", ell)
        for c in out:
            if c not in letters:
                raise RuntimeError(f"einsum: output subscript {c!r} in {equation!r} does not appear in any operand")
            if out.count(c) > 1:
                raise RuntimeError(f"einsum: output subscript {c!r} appears more than once in {equation!r}")
    else:
        # Implicit output (torch and NumPy): the ``...`` dimensions, then the letters used once, sorted.
        out = ell + "".join(sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ell))
    return explicit, out


class Einsum(Function):
    _builtin = True

    @staticmethod
    def forward(ctx, subs, out, *operands):
        ctx.subs, ctx.out = subs, out
        ctx.save_for_backward(*operands)
        arrays = [t._data for t in operands]
        xp = backend.array_module(arrays[0])
        try:
            return xp.einsum(",".join(subs) + "->" + out, *arrays, optimize=len(arrays) > 1)
        except ValueError as err:
            shapes = ", ".join(str(tuple(a.shape)) for a in arrays)
            equation = ",".join(subs) + "->" + out
            raise RuntimeError(f"einsum: {equation} does not fit operands of shapes {shapes}: {err}") from None

    @staticmethod
    def backward(ctx, grad):
        operands = ctx.saved_tensors
        grads = [None, None]
        for i, needed in enumerate(ctx.needs_input_grad[2:]):
            grads.append(_einsum_grad(grad, i, ctx.subs, ctx.out, operands) if needed else None)
        return tuple(grads)


def _einsum_grad(grad, i, subs, out, operands):
    """d(einsum)/d(operand i): an einsum of the output gradient with the other operands.

    A letter repeated within operand i (a diagonal) gets a fresh letter tied to
    it by an identity matrix; a letter found only in operand i (summed out)
    is broadcast back; size-1 dimensions that broadcast are summed by sum_to.
    """
    sub, target = subs[i], operands[i]
    used = set("".join(subs) + out)
    free = (c for c in string.ascii_letters if c not in used)
    xp = backend.array_module(grad._data)
    letters, eye_subs, eyes = [], [], []
    for p, c in enumerate(sub):
        if c in letters:
            f = next(free)
            letters.append(f)
            eye_subs.append(c + f)
            eyes.append(Tensor._wrap(xp.eye(target._data.shape[p], dtype=grad.dtype)))
        else:
            letters.append(c)
    others = [s for j, s in enumerate(subs) if j != i]
    available = set(out + "".join(others) + "".join(eye_subs))
    kept = "".join(c for c in letters if c in available)
    g = Einsum.apply([out, *others, *eye_subs], kept, grad, *[t for j, t in enumerate(operands) if j != i], *eyes)
    if len(kept) != len(letters):
        g = g[tuple(slice(None) if c in available else None for c in letters)]
        sizes = [g._data.shape[p] if c in available else target._data.shape[p] for p, c in enumerate(letters)]
        g = broadcast_to(g, tuple(sizes))
    return sum_to(g, target._data.shape)


def einsum(equation: str, *operands) -> Tensor:
    """Sum of products over the indices of ``equation``, in Einstein notation (like ``numpy.einsum``).

    Supports explicit (``"ij,jk->ik"``) and implicit (``"ij,jk"``) outputs,
    ``...`` for leading dimensions, repeated letters (diagonals, traces) and
    broadcasting of size-1 dimensions. Gradients are einsums themselves.

    Args:
        equation: subscripts such as ``"bij,bjk->bik"``.
        operands: the tensors (or one list of them), all of the same dtype and device.

    Example::

        >>> import nbgrad as nb
        >>> a = nb.tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> nb.einsum("ii->", a)
        tensor(5.)
        >>> nb.einsum("ij,j->i", a, nb.tensor([1.0, 1.0]))
        tensor([3., 7.])
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise RuntimeError("einsum: must provide at least one operand")
    for t in operands:
        if not isinstance(t, Tensor):
            raise TypeError(f"einsum: operands must be tensors, got {type(t).__name__}")
    check_same_device("einsum", *operands)
    dtypes = {t.dtype for t in operands}
    if len(dtypes) > 1:
        raise RuntimeError(
            f"einsum: expected all operands to have the same dtype, got {', '.join(describe(t) for t in operands)}"
        )
    subs, out = _parse_einsum(equation, [t._data.shape for t in operands])
    return Einsum.apply(subs, out, *operands)
