"""Numerical gradient checking: compare backward with central finite differences."""

from __future__ import annotations

import numpy as np

from nbgrad import backend


class GradcheckError(RuntimeError):
    """Raised by :func:`gradcheck` when analytical and numerical gradients differ."""


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def gradcheck(
    fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True
) -> bool:
    """Check the gradients of ``fn`` at ``inputs`` against central finite differences.

    Every output element is differentiated w.r.t. every input element that
    requires grad (a full Jacobian), so keep inputs small. Use float64 inputs:
    float32 differences are too noisy for the default tolerances.

    Args:
        fn: a function of Tensors returning a Tensor or a tuple of Tensors.
        inputs: a Tensor or tuple of arguments; Tensors with ``requires_grad``
            are checked.
        eps: the finite-difference step.
        atol, rtol: tolerances, as in ``numpy.allclose``.
        raise_exception: raise :class:`GradcheckError` on a mismatch (else return False).

    Returns:
        True when all gradients match.

    Example::

        >>> import nbgrad as nb
        >>> x = nb.randn(3, dtype=nb.float64, requires_grad=True)
        >>> nb.autograd.gradcheck(lambda t: (t * t).sin(), (x,))
        True
    """
    from nbgrad.autograd.engine import run_backward
    from nbgrad.tensor import Tensor

    inputs = _as_tuple(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    for i in checked:
        if inputs[i].dtype != backend.float64:
            raise ValueError(f"gradcheck: input {i} has dtype {inputs[i].dtype}; use float64 inputs")

    outputs = _as_tuple(fn(*inputs))
    outputs = [o for o in outputs if isinstance(o, Tensor) and o.dtype.kind == "f"]

    for out_index, out in enumerate(outputs):
        n_out = out.numel()
        analytical = {i: np.zeros((n_out, inputs[i].numel())) for i in checked}
        for k in range(n_out if out.requires_grad else 0):
            seed = np.zeros(n_out, dtype=out.dtype)
            seed[k] = 1.0
            xp = backend.array_module(out._data)
            grad_out = Tensor._wrap(xp.asarray(seed.reshape(out._data.shape)))
            grads = run_backward(
                (out,), (grad_out,), retain_graph=True, inputs=[inputs[i] for i in checked], allow_unused=True
            )
            for i, g in zip(checked, grads):
                if g is not None:
                    analytical[i][k] = backend.to_numpy(g._data).reshape(-1)

        for i in checked:
            numerical = _numerical_jacobian(fn, inputs, i, out_index, eps)
            a = analytical[i]
            if not np.allclose(a, numerical, atol=atol, rtol=rtol, equal_nan=False):
                worst = np.unravel_index(np.argmax(np.abs(a - numerical)), a.shape)
                message = (
                    f"gradcheck: Jacobian mismatch for output {out_index} with respect to input {i} "
                    f"(shape {tuple(inputs[i].shape)}): largest difference at (output element {worst[0]}, "
                    f"input element {worst[1]}): analytical {a[worst]:.6g} vs numerical {numerical[worst]:.6g}\n"
                    f"analytical:\n{a}\nnumerical:\n{numerical}"
                )
                if raise_exception:
                    raise GradcheckError(message)
                return False
    return True


def _numerical_jacobian(fn, inputs, i, out_index, eps):

    target = inputs[i]
    host = backend.to_numpy(target._data).astype(np.float64).copy()
    flat = host.reshape(-1)
    columns = []
    original = target._data
    xp = backend.array_module(original)

    def evaluate(values):
        target._data = xp.asarray(values.reshape(original.shape))
        # Grad stays on: fn may itself call autograd (gradgradcheck differentiates a gradient).
        out = _as_tuple(fn(*inputs))
        return backend.to_numpy(_pick(out, out_index)._data).astype(np.float64).reshape(-1)

    try:
        for j in range(flat.size):
            saved = flat[j]
            flat[j] = saved + eps
            plus = evaluate(host)
            flat[j] = saved - eps
            minus = evaluate(host)
            flat[j] = saved
            columns.append((plus - minus) / (2 * eps))
    finally:
        target._data = original
    if not columns:  # an empty input: a Jacobian with no columns
        return np.zeros((evaluate(host).size, 0))
    return np.stack(columns, axis=1)


def _pick(outputs, out_index):
    """The ``out_index``-th floating output (the ones gradcheck differentiates)."""
    from nbgrad.tensor import Tensor

    floats = [o for o in outputs if isinstance(o, Tensor) and o.dtype.kind == "f"]
    return floats[out_index]


def gradgradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """Check second derivatives: gradcheck of ``x -> grad(sum(fn(x) * v), x)`` for a fixed random v."""
    from nbgrad.autograd import grad as autograd_grad
    from nbgrad.tensor import Tensor

    inputs = _as_tuple(inputs)
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    rng = np.random.default_rng(0)
    outputs = _as_tuple(fn(*inputs))
    weights = [Tensor._wrap(backend.array_module(o._data).asarray(rng.standard_normal(o._data.shape))) for o in outputs]

    def first_grads(*args):
        outs = _as_tuple(fn(*args))
        total = sum((o * w).sum() for o, w in zip(outs, weights))
        grads = autograd_grad(
            total, [a for a in args if isinstance(a, Tensor) and a.requires_grad], create_graph=True, allow_unused=True
        )
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_grads, inputs, eps=eps, atol=atol, rtol=rtol) and bool(checked)
