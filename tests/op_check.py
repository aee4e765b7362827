"""One checker for every op: forward against a NumPy reference, backward by gradcheck (float64).

Usage::

    check_op(nb.exp, np.exp, [(3, 4)], device)
    check_op(lambda a, b: a * b, np.multiply, [(3, 1), (4,)], device)   # broadcasting
    check_op(lambda a: a.sum(1), lambda a: a.sum(1), [(2, 3)], device, noncontiguous=True)
"""

from __future__ import annotations

import numpy as np

import nbgrad as nb


def random_inputs(shapes, *, seed=0, low=-2.0, high=2.0, dtype=np.float64, noncontiguous=False):
    """Random NumPy arrays of the given shapes (uniform in [low, high])."""
    rng = np.random.default_rng(seed)
    arrays = []
    for shape in shapes:
        shape = tuple(shape)
        if noncontiguous and len(shape) >= 2:
            # A transposed view: same values, strides that are not C order.
            base = rng.uniform(low, high, size=shape[::-1]).astype(dtype)
            arrays.append(base.T if len(shape) == 2 else np.moveaxis(base, range(len(shape)), range(len(shape))[::-1]))
        elif noncontiguous and len(shape) == 1:
            arrays.append(rng.uniform(low, high, size=(shape[0] * 2,)).astype(dtype)[::2])
        else:
            arrays.append(np.asarray(rng.uniform(low, high, size=shape)).astype(dtype))
    return arrays


def to_tensors(arrays, device, requires_grad=True):
    out = []
    for a in arrays:
        t = nb.tensor(a, device=device)
        if requires_grad and t.dtype.kind == "f":
            t.requires_grad_(True)
        out.append(t)
    return out


def assert_close(actual, expected, *, rtol=1e-6, atol=1e-8, msg=""):
    """Compare a Tensor (or tuple of Tensors) with NumPy values, shapes and dtypes included."""
    if isinstance(actual, (tuple, list)):
        assert len(actual) == len(expected), msg
        for a, e in zip(actual, expected):
            assert_close(a, e, rtol=rtol, atol=atol, msg=msg)
        return
    expected = np.asarray(expected)
    got = nb.backend.to_numpy(actual._data) if isinstance(actual, nb.Tensor) else np.asarray(actual)
    assert got.shape == expected.shape, f"{msg} shape {got.shape} != expected {expected.shape}"
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=msg)


def check_op(
    fn,
    reference,
    shapes,
    device,
    *,
    seed=0,
    low=-2.0,
    high=2.0,
    noncontiguous=False,
    grad=True,
    rtol=1e-6,
    atol=1e-8,
    extra=(),
):
    """Check ``fn`` (on Tensors) against ``reference`` (on NumPy arrays) and by gradcheck.

    Args:
        fn: the nbgrad op under test, called as ``fn(*tensors, *extra)``.
        reference: the NumPy reference, called as ``reference(*arrays, *extra)``.
        shapes: one shape per tensor input.
        device: ``"cpu"`` or ``"cuda"``.
        low, high: the range of the random inputs (use ``low>0`` for log, sqrt...).
        noncontiguous: feed transposed / strided views instead of fresh arrays.
        grad: also run gradcheck (float64) on the inputs.
    """
    arrays = random_inputs(shapes, seed=seed, low=low, high=high, noncontiguous=noncontiguous)
    tensors = to_tensors(arrays, device, requires_grad=False)
    if noncontiguous:
        tensors = [nb.Tensor._wrap(nb.backend.move(a, nb.device(device))) for a in arrays]
    out = fn(*tensors, *extra)
    assert_close(out, reference(*arrays, *extra), rtol=rtol, atol=atol, msg=f"forward of {fn}")
    if grad:
        for t in tensors:
            if t.dtype.kind == "f":
                t.requires_grad_(True)
        assert nb.autograd.gradcheck(lambda *ts: fn(*ts, *extra), tuple(tensors))
    return out
