"""Property test: writes through random views of a non-leaf give torch's values and gradients.

Each example makes ``y = x * 1.5``, then writes into one to three random views
of ``y`` (basic slices with steps, integer indices, transposes) with ``mul_``,
``add_``, ``copy_`` or ``zero_``, reads one more view made before the writes,
and compares the outputs and the gradients of ``x`` and of every written value
with PyTorch's (``CopySlices``). Skipped without torch.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbgrad as nb

torch = pytest.importorskip("torch")

WRITES = ("mul_", "add_", "copy_", "zero_")


@st.composite
def view_spec(draw, shape):
    """A basic key for ``shape`` (slices with steps 1-2, maybe integer indices), and whether to transpose."""
    key = []
    for n in shape:
        if n > 1 and draw(st.booleans()) and draw(st.booleans()):
            key.append(draw(st.integers(-n, n - 1)))
        else:
            start = draw(st.integers(0, n - 1))
            key.append(slice(start, draw(st.integers(start + 1, n)), draw(st.integers(1, 2))))
    kept = sum(isinstance(k, slice) for k in key)
    return tuple(key), kept >= 2 and draw(st.booleans())


def _view(t, spec):
    key, transpose = spec
    v = t[key]
    return v.transpose(0, 1) if transpose else v


def _shape_of(shape, spec):
    return tuple(_view(nb.zeros(shape), spec).shape)


def _program(m, x, values, specs, ops, read_spec):
    y = x * 1.5
    before = _view(y, read_spec)  # made before the writes: it must follow them
    for v, spec, op in zip(values, specs, ops):
        view = _view(y, spec)
        if op == "zero_":
            view.zero_()
        else:
            getattr(view, op)(v)
    return y.sin(), before * 2


@given(data=st.data())
def test_writes_through_views_match_torch(data):
    shape = data.draw(st.lists(st.integers(1, 4), min_size=2, max_size=3).map(tuple), label="shape")
    n = data.draw(st.integers(1, 3), label="writes")
    specs = [data.draw(view_spec(shape), label=f"view {i}") for i in range(n)]
    ops = [data.draw(st.sampled_from(WRITES), label=f"op {i}") for i in range(n)]
    read_spec = data.draw(view_spec(shape), label="read")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    x = rng.uniform(-2, 2, shape)
    values = [rng.uniform(-2, 2, _shape_of(shape, s)) for s in specs]
    weights = [rng.standard_normal(shape), rng.standard_normal(_shape_of(shape, read_spec))]

    results = {}
    for m, make in (
        (nb, lambda a: nb.tensor(a, requires_grad=True)),
        (torch, lambda a: torch.tensor(a).requires_grad_()),
    ):
        inputs = [make(a) for a in [x, *values]]
        outs = _program(m, inputs[0], inputs[1:], specs, ops, read_spec)
        grads = m.autograd.grad(outs, inputs, [m.tensor(w) for w in weights], allow_unused=True)
        results[m.__name__] = (
            [o.detach().numpy() for o in outs],
            [None if g is None else g.detach().numpy() for g in grads],
        )

    (nb_outs, nb_grads), (t_outs, t_grads) = results["nbgrad"], results["torch"]
    for a, b in zip(nb_outs, t_outs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    for i, (a, b) in enumerate(zip(nb_grads, t_grads)):
        if b is None or a is None:
            assert a is None or not a.any(), f"input {i}: nbgrad has a gradient, torch has none"
            assert b is None or not b.any(), f"input {i}: torch has a gradient, nbgrad has none"
            continue
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=f"gradient of input {i}")
