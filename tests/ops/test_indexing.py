"""Indexing: ``x[key]``, ``x[key] = v``, gather/scatter, index_select, masked ops, nonzero.

Forward values are compared with NumPy indexing, gradients with gradcheck
(float64) and, for integer-array keys, with ``np.add.at`` of ones.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from op_check import assert_close, check_op

import nbgrad as nb
from nbgrad.autograd import gradcheck, gradgradcheck
from nbgrad.ops.indexing import _check_bounds


def _t(array, device, requires_grad=False):
    t = nb.tensor(array, device=device)
    return t.requires_grad_(True) if requires_grad else t


def _grad_of_index(shape, key):
    """What backward of ``x[key]`` with a gradient of ones must give: ones added at ``key``."""
    out = np.zeros(shape)
    np.add.at(out, key, np.ones(out[key].shape))
    return out


# ---------------------------------------------------------------------------
# __getitem__

SHAPE = (3, 4, 5)
KEYS = [
    1,
    -1,
    (0, 2),
    (0, -1, 4),
    slice(None),
    slice(1, None),
    slice(None, None, 2),
    slice(-2, None),
    (slice(None), slice(3, 0, -1)),
    (Ellipsis, 1),
    (None, 1),
    (1, None, slice(None), None),
    Ellipsis,
    (slice(None, None, -1), Ellipsis, slice(1, 4, 2)),
    [0, 2, 2],
    ([0, 0, 1], [3, 3, 0]),
    (slice(None), [1, 1, 0]),
    (Ellipsis, [4, 4]),
    ([[0, 1], [2, 2]],),
    (0, [1, 3], slice(None, 2)),
    ([0, 1], None, [2, 2]),
    ([0, 2], slice(None), [1, 3]),
    np.array([2, 0, 2]),
    (np.array([True, False, True]),),
    (slice(None), np.array([True, False, True, False])),
    (np.ones((3, 4), bool),),
    (1, np.array([False, True, True, False]), -1),
    True,
]


def _tensorize(key, device):
    """Turn the NumPy arrays in a key into nbgrad tensors (int and bool), as users write them."""
    if isinstance(key, tuple):
        return tuple(_tensorize(k, device) for k in key)
    return nb.tensor(key, device=device) if isinstance(key, np.ndarray) else key


@pytest.mark.parametrize("key", KEYS, ids=repr)
def test_getitem_forward_and_gradcheck(key, device):
    check_op(lambda x: x[_tensorize(key, device)], lambda a: a[key], [SHAPE], device)


@pytest.mark.parametrize("key", KEYS, ids=repr)
def test_getitem_noncontiguous(key, device):
    check_op(lambda x: x[_tensorize(key, device)], lambda a: a[key], [SHAPE], device, noncontiguous=True)


@pytest.mark.parametrize(
    "key", [[0, 0, 2, 0], ([1, 1], [2, 2]), (Ellipsis, [4, 4, 4]), ([0, 0], slice(1, 3), [2, 2])], ids=repr
)
def test_getitem_repeated_indices_accumulate(key, device):
    x = _t(np.zeros(SHAPE), device, requires_grad=True)
    y = x[key]
    y.backward(nb.ones_like(y))
    assert_close(x.grad, _grad_of_index(SHAPE, key))


def test_getitem_index_tensor_forms(device):
    a = np.arange(12.0).reshape(3, 4)
    x = _t(a, device)
    int32 = nb.tensor([2, 0], dtype=nb.int32, device=device)
    keys = ([2, 0], np.array([2, 0]), nb.tensor([2, 0], device=device), int32)
    for key in keys:
        assert_close(x[key], a[[2, 0]])
    assert_close(x[nb.tensor(1, device=device)], a[1])  # 0-d integer tensor
    assert_close(x[x > 5], a[a > 5])
    assert_close(x[np.int64(2), 1], a[2, 1])


def test_getitem_0d_and_empty(device):
    a = np.arange(60.0).reshape(SHAPE)
    x = _t(a, device)
    s = _t(np.float64(3.0), device)
    assert_close(s[None], np.array([3.0]))
    assert_close(s[...], np.array(3.0))
    assert_close(x[1, 2, 3], a[1, 2, 3])
    assert x[1, 2, 3].shape == ()
    assert_close(x[[]], a[np.array([], dtype=np.int64)])
    assert_close(x[2:2], a[2:2])
    assert_close(x[:, x[0, :, 0] > 100], a[:, a[0, :, 0] > 100])
    e = _t(np.zeros((0, 3)), device)
    assert e[:, 1].shape == (0,)


def test_getitem_gradcheck_0d_result(device):
    x = _t(np.random.default_rng(0).standard_normal((2, 3)), device, requires_grad=True)
    assert gradcheck(lambda t: t[1, 2], (x,))
    assert gradcheck(lambda t: t[nb.tensor(1, device=device)], (x,))


def test_getitem_double_backward(device):
    x = _t(np.random.default_rng(1).standard_normal((4, 3)), device, requires_grad=True)
    assert gradgradcheck(lambda t: t[[0, 0, 3]] * t[[1, 2, 3]], (x,))
    assert gradgradcheck(lambda t: t[1:, ::2] ** 2, (x,))


def test_basic_index_is_a_view_sharing_the_version_counter(device):
    x = _t(np.arange(12.0).reshape(3, 4), device)
    v = x[1, 1:]
    w = x[2, 3]
    assert v._version is x._version and w._version is x._version
    x.add_(1)
    assert_close(v, np.array([6.0, 7.0, 8.0]))
    assert_close(w, np.array(12.0))
    v.mul_(0)
    assert_close(x[1], np.array([5.0, 0.0, 0.0, 0.0]))
    assert x._version[0] == 2


def test_advanced_index_is_a_copy(device):
    x = _t(np.arange(6.0), device)
    y = x[[0, 1]]
    assert y._version is not x._version
    x.add_(1)
    assert_close(y, np.array([0.0, 1.0]))


def test_getitem_errors(device):
    x = _t(np.zeros((3, 4)), device)
    with pytest.raises(IndexError, match=r"index: index 5 is out of bounds for dimension 0 with size 3"):
        x[5]
    with pytest.raises(IndexError, match=r"index: index -5 is out of bounds for dimension 1 with size 4"):
        x[0, -5]
    with pytest.raises(IndexError, match=r"index: index 7 is out of bounds for dimension 1 with size 4"):
        x[:, [0, 7]]
    with pytest.raises(IndexError, match=r"index: index 3 is out of bounds for dimension 0 with size 3"):
        x[nb.tensor([3], device=device)]
    with pytest.raises(IndexError, match=r"index: too many indices for tensor.*shape \(3, 4\)"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match=r"index: boolean index did not match.*shape \(3, 4\)"):
        x[nb.tensor([True, False], device=device)]
    with pytest.raises(IndexError, match=r"index: tensors used as indices must be long, int or bool tensors.*float"):
        x[nb.tensor([0.0, 1.0], device=device)]
    with pytest.raises(IndexError, match=r"index: only integers, slices.*got float"):
        x[1.5]
    with pytest.raises(IndexError, match=r"index: cannot build an index array"):
        x[[[0, 1], [2]]]
    with pytest.raises(IndexError, match=r"index: shape mismatch"):
        x[[0, 1], [0, 1, 2]]


def test_bounds_check_for_cupy_path():
    # CuPy wraps out-of-range fancy indices; _check_bounds is what catches them there.
    shape = (3, 4, 5)
    _check_bounds(shape, (np.array([0, 2]), Ellipsis, np.array([-5, 4])), "index")
    with pytest.raises(IndexError, match=r"index: index 4 is out of bounds for dimension 1 with size 4"):
        _check_bounds(shape, (None, 0, np.array([1, 4])), "index")
    with pytest.raises(IndexError, match=r"index: index -6 is out of bounds for dimension 2 with size 5"):
        _check_bounds(shape, (Ellipsis, np.array([-6])), "index")
    with pytest.raises(IndexError, match=r"dimension 2 with size 5"):
        _check_bounds(shape, (np.ones((3, 4), bool), np.array([5])), "index")


@pytest.mark.cuda
def test_index_on_another_device_raises():
    x = nb.zeros(3, 4)
    idx = nb.tensor([0, 1], device="cuda")
    with pytest.raises(RuntimeError, match=r"index: indices are on cuda:0 but the indexed tensor .* is on cpu"):
        x[idx]
    with pytest.raises(RuntimeError, match=r"gather: .*cpu.*cuda:0"):
        nb.gather(x, 0, idx[None])


# ---------------------------------------------------------------------------
# hypothesis: random shapes and random keys


@st.composite
def shapes_and_keys(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    key, dim = [], 0
    used_ellipsis = False
    while dim < len(shape) and draw(st.booleans()):
        kind = draw(st.sampled_from(["int", "slice", "none", "array", "ellipsis"]))
        n = shape[dim]
        if kind == "int":
            key.append(draw(st.integers(-n, n - 1)))
            dim += 1
        elif kind == "slice":
            start = draw(st.none() | st.integers(-n, n))
            stop = draw(st.none() | st.integers(-n, n))
            step = draw(st.sampled_from([None, 1, 2, 3, -1, -2]))
            key.append(slice(start, stop, step))
            dim += 1
        elif kind == "none":
            key.append(None)
        elif kind == "array":
            key.append(np.array(draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=5))))
            dim += 1
        elif not used_ellipsis:
            used_ellipsis = True
            key.append(Ellipsis)
            dim = len(shape) - sum(1 for k in key if k is not None and k is not Ellipsis)
    return shape, tuple(key)


@given(shapes_and_keys())
def test_getitem_property_forward_matches_numpy(case):
    shape, key = case
    a = np.arange(float(np.prod(shape))).reshape(shape)
    try:
        expected = a[key]
    except IndexError:
        with pytest.raises(IndexError, match=r"^index: "):
            nb.tensor(a)[key]
        return
    assert_close(nb.tensor(a)[key], expected)


@given(shapes_and_keys())
def test_getitem_property_gradient_is_add_at_of_ones(case):
    shape, key = case
    a = np.zeros(shape)
    try:
        a[key]
    except IndexError:
        return
    x = nb.tensor(a, requires_grad=True)
    y = x[key]
    y.backward(nb.ones_like(y))
    assert_close(x.grad, _grad_of_index(shape, key))


@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.integers(0, 2**31 - 1))
def test_getitem_property_bool_mask(shape, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    mask = rng.random(shape) > 0.5
    x = nb.tensor(a, requires_grad=True)
    y = x[nb.tensor(mask)]
    assert_close(y, a[mask])
    y.backward(nb.ones_like(y))
    assert_close(x.grad, mask.astype(float))


# ---------------------------------------------------------------------------
# __setitem__


def test_setitem_without_grad_writes_in_place(device):
    a = np.arange(12.0).reshape(3, 4)
    x = _t(a.copy(), device)
    view = x.T
    before = x._data
    x[0] = 7
    a[0] = 7
    x[:, [1, 1]] = _t(np.array([-1.0, -2.0, -3.0]), device)[:, None]
    a[:, [1, 1]] = np.array([-1.0, -2.0, -3.0])[:, None]
    x[x > 8] = 0.5
    a[a > 8] = 0.5
    x[..., 3] = np.array([1.0, 2.0, 3.0])
    a[..., 3] = [1.0, 2.0, 3.0]
    assert x._data is before
    assert_close(x, a)
    assert_close(view, a.T)  # views see the writes
    assert x._version[0] == 4


def test_setitem_casts_to_the_tensor_dtype(device):
    x = _t(np.zeros(3, dtype=np.int64), device)
    x[1] = 2.7
    x[2] = _t(np.array(5.9), device)
    assert x.dtype == nb.int64
    assert x.tolist() == [0, 2, 5]


def test_setitem_records_graph_for_non_leaf(device):
    rng = np.random.default_rng(0)
    a, v = rng.standard_normal((3, 4)), rng.standard_normal(4)
    x = _t(a, device, requires_grad=True)
    val = _t(v, device, requires_grad=True)
    y = x * 2
    y[1] = val
    assert y.grad_fn.name() == "IndexPutBackward0"
    expected = 2 * a
    expected[1] = v
    assert_close(y, expected)
    g = rng.standard_normal((3, 4))
    y.backward(_t(g, device))
    gx = 2 * g
    gx[1] = 0
    assert_close(x.grad, gx)
    assert_close(val.grad, g[1])


def test_setitem_value_broadcast_grad_is_summed(device):
    x = _t(np.zeros((3, 4)), device)
    v = _t(np.array([1.0]), device, requires_grad=True)
    x[:, 1:3] = v
    assert x.requires_grad and x.grad_fn is not None
    x.backward(nb.ones_like(x))
    assert_close(v.grad, np.array([6.0]))


def test_setitem_gradcheck(device):
    rng = np.random.default_rng(3)
    x = _t(rng.standard_normal((4, 3)), device, requires_grad=True)
    v = _t(rng.standard_normal((2, 3)), device, requires_grad=True)

    def fn(x, v):
        y = x * 1
        y[[0, 2]] = v
        return y

    def masked(x, v):
        y = x.sin()  # sin saves its input, not its output: the write does not invalidate it
        y[y > 0.5] = v[0, 0]
        return y

    assert gradcheck(fn, (x, v))
    assert gradcheck(masked, (x, v))


def test_setitem_bumps_version_and_invalidates_saved_output(device):
    x = _t(np.ones(3), device, requires_grad=True)
    y = x.exp()
    y[0] = 0.0
    assert y._version[0] == 1
    with pytest.raises(RuntimeError, match=r"ExpBackward0: one of the variables needed.*version 1; expected version 0"):
        y.backward(nb.ones_like(y))


def test_setitem_errors(device):
    w = _t(np.zeros(3), device, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"setitem: a leaf Variable that requires grad is being used in an in-place"):
        w[0] = 1.0
    with nb.no_grad():
        w[0] = 1.0  # allowed without grad recording (an optimizer step)
    assert_close(w.detach(), np.array([1.0, 0.0, 0.0]))
    x = _t(np.zeros((3, 4)), device)
    with pytest.raises(
        RuntimeError,
        match=r"setitem: shape mismatch: value tensor of shape \(3,\) cannot be broadcast "
        r"to the indexing result of shape \(4,\)",
    ):
        x[0] = _t(np.ones(3), device)
    with pytest.raises(IndexError, match=r"setitem: index 3 is out of bounds for dimension 0 with size 3"):
        x[[3]] = 1.0
    with pytest.raises(IndexError, match=r"setitem: index 9 is out of bounds for dimension 1 with size 4"):
        x[0, 9] = 1.0


# ---------------------------------------------------------------------------
# gather, scatter, scatter_add


def _np_gather(a, dim, idx):
    key = list(np.indices(idx.shape, sparse=True))
    key[dim] = idx
    return a[tuple(key)]


def _np_scatter(a, dim, idx, src, add=False):
    out = a.copy()
    key = list(np.indices(idx.shape, sparse=True))
    key[dim] = idx
    src = src[tuple(slice(0, n) for n in idx.shape)] if isinstance(src, np.ndarray) else src
    if add:
        np.add.at(out, tuple(key), src)
    else:
        out[tuple(key)] = src
    return out


GATHER_CASES = [
    ((3, 4), 1, [[0, 0, 3], [1, 2, 2], [3, 3, 3]]),
    ((3, 4), 0, [[2, 0, 1, 1]]),
    ((3, 4), -1, [[1], [0]]),
    ((2, 3, 4), 2, np.zeros((2, 3, 2), np.int64)),
    ((2, 3, 4), 1, np.array([[[2], [0]]])),
    ((5,), 0, [4, 4, 0]),
]


@pytest.mark.parametrize("shape, dim, index", GATHER_CASES)
def test_gather(shape, dim, index, device):
    idx = np.asarray(index)
    ref = lambda a: _np_gather(a, dim, idx)  # noqa: E731
    check_op(lambda x: nb.gather(x, dim, nb.tensor(idx, device=device)), ref, [shape], device)
    check_op(lambda x: x.gather(dim, nb.tensor(idx, device=device)), ref, [shape], device, noncontiguous=True)


def test_gather_repeated_indices_accumulate_and_0d_and_empty(device):
    x = _t(np.zeros((2, 3)), device, requires_grad=True)
    y = x.gather(1, nb.tensor([[0, 0, 0], [2, 1, 2]], device=device))
    y.backward(nb.ones_like(y))
    assert_close(x.grad, np.array([[3.0, 0, 0], [0, 1, 2]]))
    s = _t(np.array(4.0), device, requires_grad=True)
    assert_close(nb.gather(s, 0, nb.tensor(0, device=device)), np.array(4.0))
    assert gradcheck(lambda t: nb.gather(t, 0, nb.tensor(0, device=device)), (s,))
    e = nb.gather(_t(np.ones((2, 3)), device), 1, nb.tensor(np.zeros((2, 0), np.int64), device=device))
    assert e.shape == (2, 0)


def test_gather_errors(device):
    x = _t(np.zeros((3, 4)), device)
    with pytest.raises(IndexError, match=r"gather: index 4 is out of bounds for dimension 1 with size 4"):
        nb.gather(x, 1, nb.tensor([[4]], device=device))
    with pytest.raises(IndexError, match=r"gather: index -1 is out of bounds for dimension 1 with size 4"):
        nb.gather(x, 1, nb.tensor([[-1]], device=device))
    with pytest.raises(RuntimeError, match=r"gather: index tensor must have the same number of dim.*\(2,\).*\(3, 4\)"):
        nb.gather(x, 1, nb.tensor([0, 1], device=device))
    with pytest.raises(RuntimeError, match=r"gather: size does not match at dimension 0: index \(4, 1\)"):
        nb.gather(x, 1, nb.tensor([[0], [0], [0], [0]], device=device))
    with pytest.raises(RuntimeError, match=r"gather: expected an integer dtype \(int64\) for index, got float32"):
        nb.gather(x, 1, nb.tensor([[0.0]], device=device))
    with pytest.raises(TypeError, match=r"gather: index must be an integer Tensor, got list"):
        nb.gather(x, 1, [[0]])
    with pytest.raises(IndexError, match=r"gather: dimension out of range"):
        nb.gather(x, 2, nb.tensor([[0]], device=device))


SCATTER_CASES = [
    ((3, 4), 1, [[0, 3], [1, 2], [3, 0]], (3, 2)),
    ((3, 4), 0, [[2, 0, 1, 1]], (2, 5)),
    ((2, 3, 4), 2, [[[1, 3], [0, 2]]], (1, 2, 2)),
]


@pytest.mark.parametrize("shape, dim, index, src_shape", SCATTER_CASES)
def test_scatter(shape, dim, index, src_shape, device):
    idx = np.asarray(index)
    check_op(
        lambda x, s: nb.scatter(x, dim, nb.tensor(idx, device=device), s),
        lambda a, s: _np_scatter(a, dim, idx, s),
        [shape, src_shape],
        device,
    )
    check_op(
        lambda x, s: x.scatter(dim, nb.tensor(idx, device=device), s),
        lambda a, s: _np_scatter(a, dim, idx, s),
        [shape, src_shape],
        device,
        noncontiguous=True,
    )
    check_op(
        lambda x: x.scatter(dim, nb.tensor(idx, device=device), value=1.5),
        lambda a: _np_scatter(a, dim, idx, 1.5),
        [shape],
        device,
    )


@pytest.mark.parametrize("shape, dim, index, src_shape", SCATTER_CASES + [((4,), 0, [1, 1, 1, 3], (5,))])
def test_scatter_add(shape, dim, index, src_shape, device):
    idx = np.asarray(index)
    ref = lambda a, s: _np_scatter(a, dim, idx, s, add=True)  # noqa: E731
    check_op(lambda x, s: nb.scatter_add(x, dim, nb.tensor(idx, device=device), s), ref, [shape, src_shape], device)
    check_op(
        lambda x, s: x.scatter_add(dim, nb.tensor(idx, device=device), s),
        ref,
        [shape, src_shape],
        device,
        noncontiguous=True,
    )


def test_scatter_gradients_by_hand(device):
    x = _t(np.zeros((2, 3)), device, requires_grad=True)
    src = _t(np.ones((2, 2)), device, requires_grad=True)
    idx = nb.tensor([[0, 2], [1, 1]], device=device)
    y = nb.scatter(x, 1, idx, src)
    g = np.arange(6.0).reshape(2, 3)
    y.backward(_t(g, device))
    assert_close(x.grad, np.array([[0.0, 1, 0], [3, 0, 5]]))  # overwritten positions get no gradient
    assert_close(src.grad, np.array([[0.0, 2], [4, 4]]))


def test_scatter_errors(device):
    x = _t(np.zeros((3, 4)), device)
    idx = nb.tensor([[0, 1]], device=device)
    with pytest.raises(TypeError, match=r"scatter: pass exactly one of src"):
        nb.scatter(x, 1, idx)
    with pytest.raises(TypeError, match=r"scatter_add: src must be a Tensor, got float"):
        nb.scatter_add(x, 1, idx, 1.0)
    with pytest.raises(RuntimeError, match=r"scatter: size does not match at dimension 1: index \(1, 2\).*src \(1, 1"):
        nb.scatter(x, 1, idx, _t(np.ones((1, 1)), device))
    with pytest.raises(RuntimeError, match=r"scatter_add: src tensor of shape \(2,\) must have the same number"):
        nb.scatter_add(x, 1, idx, _t(np.ones(2), device))
    with pytest.raises(IndexError, match=r"scatter: index 4 is out of bounds for dimension 1 with size 4"):
        nb.scatter(x, 1, nb.tensor([[4]], device=device), 0.0)


# ---------------------------------------------------------------------------
# index_select, take_along_dim, masked_fill, masked_select, nonzero


@pytest.mark.parametrize(
    "shape, dim, index",
    [((3, 4), 0, [2, 0, 2]), ((3, 4), 1, [3]), ((2, 3, 4), -1, [1, 1, 0]), ((5,), 0, []), ((3, 4), 1, 2)],
)
def test_index_select(shape, dim, index, device):
    idx = np.asarray(index, dtype=np.int64)
    ref = lambda a: np.take(a, idx.reshape(-1), axis=dim)  # noqa: E731
    check_op(lambda x: nb.index_select(x, dim, nb.tensor(idx, device=device)), ref, [shape], device)
    check_op(lambda x: x.index_select(dim, nb.tensor(idx, device=device)), ref, [shape], device, noncontiguous=True)


def test_index_select_0d_and_errors(device):
    s = _t(np.array(2.0), device, requires_grad=True)
    assert nb.index_select(s, 0, nb.tensor([0], device=device)).shape == ()
    assert gradcheck(lambda t: nb.index_select(t, 0, nb.tensor([0], device=device)), (s,))
    x = _t(np.zeros((3, 4)), device)
    with pytest.raises(IndexError, match=r"index_select: index 4 is out of bounds for dimension 1 with size 4"):
        nb.index_select(x, 1, nb.tensor([0, 4], device=device))
    with pytest.raises(IndexError, match=r"index_select: index must be 0-D or 1-D, got shape \(1, 1\)"):
        nb.index_select(x, 1, nb.tensor([[0]], device=device))


@pytest.mark.parametrize(
    "shape, ishape, dim",
    [
        ((3, 4), (3, 2), 1),
        ((3, 4), (1, 4), 0),
        ((3, 1), (3, 5), 1),
        ((2, 3, 4), (2, 1, 4), 1),
        ((3, 4), (5,), None),
        ((), (2,), None),
    ],
)
def test_take_along_dim(shape, ishape, dim, device):
    size = shape[dim] if dim is not None else int(np.prod(shape))
    idx = np.random.default_rng(0).integers(0, size, ishape)

    def ref(a):
        if dim is None:
            return a.reshape(-1)[idx]
        b = np.broadcast_shapes(
            tuple(1 if d == dim else n for d, n in enumerate(a.shape)),
            tuple(1 if d == dim else n for d, n in enumerate(idx.shape)),
        )
        a = np.broadcast_to(a, b[:dim] + (a.shape[dim],) + b[dim + 1 :])
        return np.take_along_axis(a, np.broadcast_to(idx, b[:dim] + (idx.shape[dim],) + b[dim + 1 :]), axis=dim)

    check_op(lambda x: nb.take_along_dim(x, nb.tensor(idx, device=device), dim), ref, [shape], device)
    check_op(
        lambda x: x.take_along_dim(nb.tensor(idx, device=device), dim=dim), ref, [shape], device, noncontiguous=True
    )


def test_take_along_dim_errors(device):
    x = _t(np.zeros((3, 4)), device)
    with pytest.raises(RuntimeError, match=r"take_along_dim: input \(3, 4\) and indices \(2,\) should have the same"):
        nb.take_along_dim(x, nb.tensor([0, 1], device=device), 1)
    with pytest.raises(IndexError, match=r"take_along_dim: index 12 is out of bounds for dimension 0 with size 12"):
        nb.take_along_dim(x, nb.tensor([12], device=device))
    with pytest.raises(IndexError, match=r"take_along_dim: index 4 is out of bounds for dimension 1 with size 4"):
        nb.take_along_dim(x, nb.tensor([[4]], device=device), 1)
    with pytest.raises(RuntimeError, match=r"take_along_dim: shapes \(3, 1\) and \(2, 1\) cannot be broadcast"):
        nb.take_along_dim(x, nb.tensor([[0], [1]], device=device), 1)


@pytest.mark.parametrize(
    "shape, mshape", [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (3, 4)), ((), ()), ((0, 2), (2,))]
)
def test_masked_fill(shape, mshape, device):
    mask = np.random.default_rng(1).random(mshape) > 0.5
    m = nb.tensor(mask, device=device)
    check_op(lambda x: nb.masked_fill(x, m, -3.0), lambda a: np.where(mask, -3.0, a), [shape], device)
    check_op(lambda x: x.masked_fill(m, -3.0), lambda a: np.where(mask, -3.0, a), [shape], device, noncontiguous=True)
    # A 0-d tensor value gets the sum of the gradient over the filled positions.
    check_op(lambda x, v: x.masked_fill(m, v), lambda a, v: np.where(mask, v, a), [shape, ()], device)


def test_masked_fill_dtype_and_errors(device):
    x = _t(np.arange(4), device)
    y = x.masked_fill(x > 1, 9.7)
    assert y.dtype == x.dtype and y.tolist() == [0, 1, 9, 9]
    f = _t(np.zeros(2, np.float32), device)
    assert f.masked_fill(f == 0, _t(np.array(1.0), device)).dtype == nb.float32
    with pytest.raises(RuntimeError, match=r"masked_fill: expected mask to be a bool Tensor, got int64"):
        x.masked_fill(x, 0)
    with pytest.raises(RuntimeError, match=r"masked_fill: only supports a 0-dimensional value tensor.*\(2,\)"):
        f.masked_fill(f == 0, f)
    with pytest.raises(TypeError, match=r"masked_fill: value must be a number or a 0-d Tensor, got str"):
        f.masked_fill(f == 0, "a")


@pytest.mark.parametrize("shape, mshape", [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (3, 4)), ((), ()), ((0,), (0,))])
def test_masked_select(shape, mshape, device):
    mask = np.random.default_rng(2).random(mshape) > 0.4
    m = nb.tensor(mask, device=device)
    ref = lambda a: np.broadcast_to(a, np.broadcast_shapes(a.shape, mask.shape))[  # noqa: E731
        np.broadcast_to(mask, np.broadcast_shapes(a.shape, mask.shape))
    ]
    check_op(lambda x: nb.masked_select(x, m), ref, [shape], device)
    check_op(lambda x: x.masked_select(m), ref, [shape], device, noncontiguous=True)


def test_masked_select_errors(device):
    x = _t(np.zeros((3, 4)), device)
    with pytest.raises(RuntimeError, match=r"masked_select: shapes \(3, 4\) and \(3,\) cannot be broadcast"):
        nb.masked_select(x, nb.tensor([True, False, True], device=device))
    with pytest.raises(RuntimeError, match=r"masked_select: expected mask to be a bool Tensor, got list"):
        nb.masked_select(x, [True])


def test_nonzero(device):
    a = np.array([[0, 1, 0], [2, 0, 3]])
    x = _t(a, device)
    assert_close(nb.nonzero(x), np.argwhere(a))
    assert nb.nonzero(x).dtype == nb.int64
    rows, cols = x.nonzero(as_tuple=True)
    assert_close(rows, np.nonzero(a)[0])
    assert_close(cols, np.nonzero(a)[1])
    assert_close(x[x.nonzero(as_tuple=True)], a[np.nonzero(a)])
    assert_close(nb.argwhere(x), np.argwhere(a))
    assert nb.nonzero(_t(np.array(5.0), device)).shape == (1, 0)
    assert nb.nonzero(_t(np.array(0.0), device)).shape == (0, 0)
    assert [t.tolist() for t in nb.nonzero(_t(np.array(5.0), device), as_tuple=True)] == [[0]]
    assert nb.nonzero(_t(np.zeros((0, 3)), device)).shape == (0, 2)
    f = _t(np.array([0.0, 2.0]), device, requires_grad=True)
    assert not nb.nonzero(f).requires_grad
