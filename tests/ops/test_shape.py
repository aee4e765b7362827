"""Shape ops: forward vs NumPy, backward by gradcheck (float64), views and version counters, errors."""

from __future__ import annotations

import numpy as np
import pytest
from op_check import assert_close, check_op, random_inputs

import nbgrad as nb


def t(array, device, requires_grad=False):
    return nb.tensor(np.asarray(array, dtype=np.float64), device=device, requires_grad=requires_grad)


def transposed(shape, device):
    """A non-contiguous (transposed) float64 tensor of ``shape`` and its NumPy twin."""
    (a,) = random_inputs([shape], noncontiguous=True)
    return nb.Tensor._wrap(nb.backend.move(a, nb.device(device))), a


def shares_version(out, input):
    return out._version is input._version


# ---------------------------------------------------------------------------- reshape / view


RESHAPES = [
    ((), (1,)),
    ((1,), ()),
    ((), (-1,)),
    ((6,), (2, 3)),
    ((6,), (2, -1)),
    ((3, 4), (-1,)),
    ((3, 4), (2, 2, 3)),
    ((2, 3, 4), (4, -1)),
    ((2, 3, 4), (24,)),
    ((0, 3), (3, 0)),
    ((0, 3), (-1, 3)),
]


@pytest.mark.parametrize("shape,target", RESHAPES)
def test_reshape(shape, target, device):
    def ref(a):
        return a.reshape(target)

    check_op(lambda x: x.reshape(*target), ref, [shape], device, grad=0 not in shape)
    check_op(lambda x: nb.reshape(x, target), ref, [shape], device, grad=0 not in shape)
    check_op(lambda x: x.view(target), ref, [shape], device, grad=0 not in shape)


@pytest.mark.parametrize("shape,target", [((3, 4), (12,)), ((3, 4), (2, 6)), ((2, 3, 4), (4, 6))])
def test_reshape_noncontiguous_copies_and_does_not_share_version(shape, target, device):
    check_op(lambda x: x.reshape(target), lambda a: a.reshape(target), [shape], device, noncontiguous=True)
    x, _ = transposed(shape, device)
    assert not shares_version(x.reshape(target), x)


def test_reshape_view_shares_version_and_memory(device):
    x = t(np.arange(12.0), device)
    y = x.reshape(3, 4)
    assert shares_version(y, x)
    y._data[0, 0] = 100.0
    assert x[0].item() == 100.0
    # A non-contiguous input that NumPy can still view (only unit dims change) shares too.
    xt, _ = transposed((3, 4), device)
    assert shares_version(xt.reshape(3, 1, 4), xt)
    assert shares_version(xt.view(3, 4, 1), xt)


def test_in_place_change_of_a_view_is_detected(device):
    x = t([1.0, 2.0, 3.0, 4.0], device, requires_grad=True)
    y = x.exp()  # exp saves its output for backward
    v = y.view(2, 2)
    v._version[0] += 1  # what an in-place op on the view (v.add_(1)) does
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_view_of_noncontiguous_raises_and_suggests_reshape(device):
    x, _ = transposed((3, 4), device)
    with pytest.raises(
        RuntimeError,
        match=r"view: view size \(12,\) is not compatible with input tensor's size "
        r"and stride \(shape \(3, 4\), strides \(1, 3\)\).*Use \.reshape\(12\)",
    ):
        x.view(-1)
    assert x.reshape(-1).shape == (12,)


def test_reshape_errors(device):
    x = nb.zeros(3, 4, device=device)
    message = r"^reshape: shape \(3, 5\) is invalid for input of size 12 \(shape \(3, 4\)\)$"
    with pytest.raises(RuntimeError, match=message):
        x.reshape(3, 5)
    with pytest.raises(RuntimeError, match=r"reshape: shape \(5, -1\) is invalid for input of size 12"):
        x.reshape(5, -1)
    with pytest.raises(RuntimeError, match=r"view: only one dimension can be inferred \(-1\), got shape \(-1, -1\)"):
        x.view(-1, -1)
    with pytest.raises(RuntimeError, match=r"reshape: shape \(-2, -6\) is invalid"):
        x.reshape(-2, -6)
    with pytest.raises(RuntimeError, match=r"reshape: shape \(-1, 0\) is invalid for input of size 0"):
        nb.zeros(0, 3, device=device).reshape(-1, 0)
    with pytest.raises(TypeError, match=r"reshape: sizes must be integers, got \(2.5, 2\)"):
        x.reshape(2.5, 2)


def test_view_as_and_reshape_as(device):
    x = t(np.arange(6.0), device)
    assert x.view_as(nb.zeros(2, 3)).shape == (2, 3)
    assert x.reshape_as(nb.zeros(3, 2)).shape == (3, 2)


# ---------------------------------------------------------------------------- squeeze / unsqueeze / flatten


@pytest.mark.parametrize(
    "shape,dim",
    [
        ((), None),
        ((), 0),
        ((1,), None),
        ((1,), 0),
        ((3, 1, 4, 1), None),
        ((3, 1, 4, 1), 1),
        ((3, 1, 4, 1), -1),
        ((3, 1, 4, 1), 0),
        ((3, 1, 4, 1), (1, 3)),
        ((3, 1, 4, 1), (0, -1)),
        ((1, 0, 1), None),
    ],
)
def test_squeeze(shape, dim, device):
    def ref(a):
        if dim is None:
            return np.squeeze(a)
        dims = (dim,) if isinstance(dim, int) else dim
        axes = tuple(d % max(a.ndim, 1) for d in dims if a.ndim and a.shape[d] == 1)
        return np.squeeze(a, axis=axes)

    out = check_op(lambda x: x.squeeze(dim), ref, [shape], device, grad=0 not in shape)
    x = t(np.zeros(shape), device)
    assert shares_version(nb.squeeze(x, dim), x)
    assert out.shape == ref(np.zeros(shape)).shape


@pytest.mark.parametrize("shape,dim", [((), 0), ((), -1), ((3,), 0), ((3,), 1), ((3,), -1), ((2, 3), 1), ((2, 3), -3)])
def test_unsqueeze(shape, dim, device):
    ref_axis = dim if dim >= 0 else dim + len(shape) + 1
    check_op(lambda x: x.unsqueeze(dim), lambda a: np.expand_dims(a, ref_axis), [shape], device)
    x = t(np.zeros(shape), device)
    assert shares_version(nb.unsqueeze(x, dim), x)


@pytest.mark.parametrize(
    "shape,start,end",
    [
        ((), 0, -1),
        ((5,), 0, -1),
        ((2, 3, 4), 0, -1),
        ((2, 3, 4), 1, -1),
        ((2, 3, 4), 0, 1),
        ((2, 3, 4), -2, -1),
        ((2, 3, 4, 5), 1, 2),
    ],
)
def test_flatten(shape, start, end, device):
    def ref(a):
        if a.ndim == 0:
            return a.reshape(1)
        s, e = start % a.ndim, end % a.ndim
        return a.reshape(a.shape[:s] + (-1,) + a.shape[e + 1 :])

    check_op(lambda x: x.flatten(start, end), ref, [shape], device)
    check_op(lambda x: nb.flatten(x, start_dim=start, end_dim=end), ref, [shape], device, noncontiguous=True)
    x = t(np.zeros(shape), device)
    assert shares_version(x.flatten(start, end), x)


def test_flatten_single_dim_returns_input(device):
    x = nb.zeros(2, 3, device=device)
    assert x.flatten(1, 1) is x


@pytest.mark.parametrize(
    "shape,dim,sizes", [((2, 12), 1, (3, 4)), ((2, 12), -1, (3, -1)), ((6,), 0, (1, 6, 1)), ((6, 2), 0, (-1,))]
)
def test_unflatten(shape, dim, sizes, device):
    def ref(a):
        d = dim % a.ndim
        return a.reshape(a.shape[:d] + tuple(sizes) + a.shape[d + 1 :])

    check_op(lambda x: x.unflatten(dim, sizes), ref, [shape], device)
    x = t(np.zeros(shape), device)
    assert shares_version(nb.unflatten(x, dim, sizes), x)


def test_squeeze_unsqueeze_flatten_errors(device):
    x = nb.zeros(2, 3, device=device)
    with pytest.raises(IndexError, match=r"squeeze: dimension out of range .*got 2\) for a tensor of shape \(2, 3\)"):
        x.squeeze(2)
    with pytest.raises(RuntimeError, match=r"squeeze: dim \(0, -2\) appears multiple times"):
        x.squeeze((0, -2))
    with pytest.raises(
        IndexError,
        match=r"unsqueeze: dimension out of range \(expected to be in range of \[-3, 2\], "
        r"but got 3\) for a tensor of shape \(2, 3\)",
    ):
        x.unsqueeze(3)
    with pytest.raises(RuntimeError, match=r"flatten: start_dim \(1\) cannot come after end_dim \(0\) .*\(2, 3\)"):
        x.flatten(1, 0)
    with pytest.raises(IndexError, match=r"flatten: dimension out of range.*got 5"):
        x.flatten(5)
    with pytest.raises(RuntimeError, match=r"unflatten: sizes \(2, 2\) don't multiply up to the size of dim 1 \(3\)"):
        x.unflatten(1, (2, 2))
    with pytest.raises(IndexError, match=r"unflatten: dimension specified as 0 but the tensor has no dimensions"):
        nb.zeros((), device=device).unflatten(0, (1,))


# ---------------------------------------------------------------------------- transpose / permute / movedim


@pytest.mark.parametrize(
    "shape,d0,d1", [((), 0, -1), ((4,), 0, 0), ((3, 4), 0, 1), ((3, 4), -1, -2), ((2, 3, 4), 0, 2), ((2, 3, 4), 1, -1)]
)
def test_transpose(shape, d0, d1, device):
    def ref(a):
        return a if a.ndim == 0 else np.swapaxes(a, d0, d1)

    check_op(lambda x: x.transpose(d0, d1), ref, [shape], device)
    check_op(lambda x: nb.swapaxes(x, d0, d1), ref, [shape], device, noncontiguous=True)
    x = t(np.zeros(shape), device)
    assert shares_version(x.swapdims(d0, d1), x)


def test_T_and_mT(device):
    (a,) = random_inputs([(2, 3, 4)])
    x = t(a, device)
    assert_close(x.T, a.T)
    assert_close(x.mT, np.swapaxes(a, -1, -2))


@pytest.mark.parametrize(
    "shape,dims", [((), ()), ((3,), (0,)), ((3, 4), (1, 0)), ((2, 3, 4), (2, 0, 1)), ((2, 3, 4), (-1, -3, 1))]
)
def test_permute(shape, dims, device):
    check_op(lambda x: x.permute(*dims), lambda a: np.transpose(a, dims), [shape], device)
    check_op(lambda x: nb.permute(x, dims), lambda a: np.transpose(a, dims), [shape], device, noncontiguous=True)
    x = t(np.zeros(shape), device)
    assert shares_version(x.permute(dims), x)


def test_permute_second_derivative(device):
    x = t(random_inputs([(2, 3, 4)])[0], device, requires_grad=True)
    assert nb.autograd.gradgradcheck(lambda v: (v.permute(2, 0, 1) ** 2).transpose(0, 1), (x,))


def test_transpose_permute_errors(device):
    x = nb.zeros(2, 3, 4, device=device)
    with pytest.raises(IndexError, match=r"transpose: dimension out of range .*got 3\) for a tensor of shape \(2, 3"):
        x.transpose(0, 3)
    with pytest.raises(
        RuntimeError,
        match=r"permute: number of dims don't match: got 2 dims \(1, 0\) for a tensor "
        r"of shape \(2, 3, 4\) \(3 dims\)",
    ):
        x.permute(1, 0)
    with pytest.raises(RuntimeError, match=r"permute: repeated dim in \(0, 1, -3\)"):
        x.permute(0, 1, -3)
    with pytest.raises(IndexError, match=r"permute: dimension out of range.*got 3"):
        x.permute(0, 1, 3)


@pytest.mark.parametrize("source,destination", [(0, -1), (-1, 0), (1, 1), ((0, 1), (2, 0)), ([2, 0], [0, 1])])
def test_movedim(source, destination, device):
    def ref(a):
        return np.moveaxis(a, source, destination)

    check_op(lambda x: x.movedim(source, destination), ref, [(2, 3, 4)], device)
    check_op(lambda x: nb.moveaxis(x, source, destination), ref, [(2, 3, 4)], device, noncontiguous=True)
    x = t(np.zeros((2, 3, 4)), device)
    assert shares_version(x.moveaxis(source, destination), x)


def test_movedim_errors(device):
    x = nb.zeros(2, 3, device=device)
    with pytest.raises(RuntimeError, match=r"movedim: source \(0, 1\) and destination \(1,\) must have the same"):
        x.movedim((0, 1), 1)
    with pytest.raises(RuntimeError, match=r"movedim: repeated dim in source \(0, 0\)"):
        x.movedim((0, 0), (0, 1))
    with pytest.raises(IndexError, match=r"movedim: dimension out of range.*got 2"):
        x.movedim(2, 0)


# ---------------------------------------------------------------------------- narrow / split / chunk / unbind


@pytest.mark.parametrize(
    "shape,dim,start,length",
    [((5,), 0, 1, 3), ((5,), 0, -2, 2), ((5,), -1, 5, 0), ((3, 4), 1, 0, 4), ((3, 4), 0, 2, 1), ((2, 3, 4), -1, 1, 2)],
)
def test_narrow(shape, dim, start, length, device):
    def ref(a):
        d = dim % a.ndim
        s = start % a.shape[d] if start < 0 else start
        return a[(slice(None),) * d + (slice(s, s + length),)]

    check_op(lambda x: x.narrow(dim, start, length), ref, [shape], device)
    check_op(lambda x: nb.narrow(x, dim, start, length), ref, [shape], device, noncontiguous=True)
    x = t(np.zeros(shape), device)
    y = x.narrow(dim, start, length)
    assert shares_version(y, x)


@pytest.mark.parametrize("shape,dim,index", [((5,), 0, 2), ((3, 4), 1, -1), ((2, 3, 4), 0, 1), ((2, 3, 4), -2, 0)])
def test_select(shape, dim, index, device):
    def ref(a):
        return np.take(a, index, axis=dim)

    check_op(lambda x: x.select(dim, index), ref, [shape], device)
    check_op(lambda x: nb.select(x, dim, index), ref, [shape], device, noncontiguous=True)
    x = t(np.zeros(shape), device)
    assert shares_version(x.select(dim, index), x)
    with pytest.raises(IndexError, match=rf"select: index 9 is out of range for dim {dim} of size \d+ \(shape"):
        x.select(dim, 9)


def test_narrow_gradient_and_second_derivative(device):
    x = t(np.arange(5.0), device, requires_grad=True)
    x.narrow(0, 1, 3).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]
    x = t(random_inputs([(3, 4)])[0], device, requires_grad=True)
    assert nb.autograd.gradgradcheck(lambda v: v.narrow(1, 1, 2) ** 2, (x,))


def test_narrow_errors(device):
    x = nb.zeros(3, 4, device=device)
    with pytest.raises(IndexError, match=r"narrow: start \(5\) is out of range for dim 1 of size 4 \(shape \(3, 4\)\)"):
        x.narrow(1, 5, 0)
    with pytest.raises(RuntimeError, match=r"narrow: start \(2\) \+ length \(3\) exceeds the size \(4\) of dim 1"):
        x.narrow(1, 2, 3)
    with pytest.raises(IndexError, match=r"narrow: dimension out of range.*shape \(3, 4\)"):
        x.narrow(2, 0, 1)
    with pytest.raises(IndexError, match=r"narrow: dimension specified as 0 but the tensor has no dimensions"):
        nb.zeros((), device=device).narrow(0, 0, 1)


@pytest.mark.parametrize(
    "shape,size,dim,expected",
    [
        ((5,), 2, 0, [2, 2, 1]),
        ((6, 2), 3, 0, [3, 3]),
        ((2, 7), 3, -1, [3, 3, 1]),
        ((2, 3), 5, 1, [3]),
        ((5, 2), [1, 4], 0, [1, 4]),
        ((2, 6), (2, 0, 4), 1, [2, 0, 4]),
        ((0, 2), 2, 0, [0]),
    ],
)
def test_split(shape, size, dim, expected, device):
    (a,) = random_inputs([shape])
    x = t(a, device, requires_grad=True)
    pieces = x.split(size, dim)
    assert isinstance(pieces, tuple)
    assert [p.shape[dim] for p in pieces] == expected
    bounds = np.cumsum(expected)[:-1]
    for got, want in zip(pieces, np.split(a, bounds, axis=dim)):
        assert_close(got, want)
        assert shares_version(got, x)
    if 0 not in shape:
        assert nb.autograd.gradcheck(lambda v: nb.split(v, size, dim), (x,))


def test_split_each_piece_has_its_own_gradient(device):
    x = t(np.arange(6.0), device, requires_grad=True)
    a, b, c = x.split(2)
    (a * 1 + c * 3).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 0.0, 0.0, 3.0, 3.0]


def test_split_noncontiguous(device):
    x, a = transposed((3, 4), device)
    for got, want in zip(x.split(2, 1), np.split(a, [2], axis=1)):
        assert_close(got, want)


@pytest.mark.parametrize(
    "n,chunks,expected",
    [(6, 3, [2, 2, 2]), (5, 3, [2, 2, 1]), (6, 4, [2, 2, 2]), (2, 5, [1, 1]), (0, 3, [0, 0, 0]), (7, 1, [7])],
)
def test_chunk_matches_torch_rule(n, chunks, expected, device):
    x = t(np.arange(float(n * 2)).reshape(2, n), device, requires_grad=True)
    pieces = x.chunk(chunks, 1)
    assert [p.shape[1] for p in pieces] == expected
    assert_close(nb.cat(pieces, 1) if pieces else x, x.detach().numpy())
    assert all(shares_version(p, x) for p in pieces)
    if n:
        assert nb.autograd.gradcheck(lambda v: nb.chunk(v, chunks, dim=-1), (x,))


def test_split_chunk_errors(device):
    x = nb.zeros(5, 2, device=device)
    with pytest.raises(
        RuntimeError,
        match=r"split: split sizes \(1, 2\) must be non-negative and sum to the size "
        r"\(5\) of dim 0 \(shape \(5, 2\)\)",
    ):
        x.split([1, 2])
    with pytest.raises(RuntimeError, match=r"split: split_size must be positive, got 0"):
        x.split(0)
    with pytest.raises(RuntimeError, match=r"split: split_size must be positive, got -1"):
        x.split(-1)
    with pytest.raises(IndexError, match=r"split: dimension out of range.*shape \(5, 2\)"):
        x.split(1, 2)
    with pytest.raises(RuntimeError, match=r"chunk: chunks must be greater than 0, got 0 \(shape \(5, 2\)\)"):
        x.chunk(0)
    with pytest.raises(IndexError, match=r"chunk: dimension specified as 0 but the tensor has no dimensions"):
        nb.zeros((), device=device).chunk(2)


@pytest.mark.parametrize("shape,dim", [((3,), 0), ((3, 4), 0), ((3, 4), 1), ((2, 3, 4), -1)])
def test_unbind(shape, dim, device):
    (a,) = random_inputs([shape])
    x = t(a, device, requires_grad=True)
    pieces = nb.unbind(x, dim)
    assert len(pieces) == a.shape[dim]
    for i, p in enumerate(pieces):
        assert_close(p, np.take(a, i, axis=dim))
        assert shares_version(p, x)
    assert nb.autograd.gradcheck(lambda v: v.unbind(dim), (x,))
    with pytest.raises(IndexError, match=r"unbind: dimension out of range"):
        x.unbind(len(shape))
    with pytest.raises(IndexError, match=r"unbind: dimension specified as 0 but the tensor has no dimensions"):
        nb.zeros((), device=device).unbind()


# ---------------------------------------------------------------------------- cat / stack


@pytest.mark.parametrize(
    "shapes,dim",
    [
        ([(2, 3), (4, 3)], 0),
        ([(2, 3), (2, 1), (2, 2)], 1),
        ([(2, 3), (2, 3)], -1),
        ([(5,), (2,)], 0),
        ([(2, 3, 4), (2, 1, 4)], -2),
        ([(0, 3), (2, 3)], 0),
        ([(2, 3)], 0),
    ],
)
def test_cat(shapes, dim, device):
    def ref(*arrays):
        return np.concatenate(arrays, axis=dim)

    grad = all(0 not in s for s in shapes)  # gradcheck needs non-empty inputs
    check_op(lambda *xs: nb.cat(xs, dim), ref, shapes, device, grad=grad)
    check_op(lambda *xs: nb.concat(list(xs), dim=dim), ref, shapes, device, noncontiguous=True, grad=grad)
    check_op(lambda *xs: nb.concatenate(xs, dim), ref, shapes, device, seed=4, grad=grad)


def test_cat_second_derivative_and_generator_input(device):
    a, b = (t(v, device, requires_grad=True) for v in random_inputs([(2, 3), (1, 3)]))
    assert nb.autograd.gradgradcheck(lambda u, v: nb.cat([u**2, v], 0), (a, b))
    assert nb.cat(x for x in (a, b)).shape == (3, 3)


def test_cat_skips_legacy_empty_1d_tensors(device):
    x = t(np.ones((2, 3)), device, requires_grad=True)
    e = nb.zeros(0, dtype=nb.float64, device=device)
    out = nb.cat([e, x, e], 1)
    assert out.shape == (2, 3)
    assert nb.cat([e, e]).shape == (0,)


def test_cat_stack_promote_dtypes_like_torch(device):
    f32 = nb.tensor([[1.0, 2.0]], dtype=nb.float32, device=device, requires_grad=True)
    f64 = nb.tensor([[3.0, 4.0]], dtype=nb.float64, device=device, requires_grad=True)
    out = nb.cat([f32, f64])
    assert out.dtype == nb.float64
    out.sum().backward()
    assert f32.grad.dtype == nb.float32 and f64.grad.dtype == nb.float64
    assert f32.grad.tolist() == [[1.0, 1.0]]
    # Categories first (float > int > bool), then the wider type within the winning category.
    assert nb.cat([nb.zeros(2, dtype=nb.float16), nb.zeros(2, dtype=nb.int64)]).dtype == nb.float16
    assert nb.cat([nb.zeros(2, dtype=nb.uint8), nb.zeros(2, dtype=nb.int8)]).dtype == nb.int16
    assert nb.cat([nb.zeros(2, dtype=nb.bool), nb.zeros(2, dtype=nb.int32)]).dtype == nb.int32
    s = nb.stack([f32[0], f64[0]])
    assert s.dtype == nb.float64
    s.sum().backward()
    assert f32.grad.dtype == nb.float32 and f32.grad.tolist() == [[2.0, 2.0]]


def test_cat_errors(device):
    a, b = nb.zeros(2, 3, device=device), nb.zeros(4, 2, device=device)
    with pytest.raises(
        RuntimeError,
        match=r"cat: sizes of tensors must match except in dimension 0: tensor 0 has "
        r"shape \(2, 3\) but tensor 2 has shape \(4, 2\) \(mismatch in dim",
    ):
        nb.cat([a, a, b])
    with pytest.raises(
        RuntimeError,
        match=r"cat: tensors must have the same number of dimensions: tensor 0 has shape "
        r"\(2, 3\) but tensor 1 has shape \(3,\)",
    ):
        nb.cat([a, nb.zeros(3, device=device)])
    with pytest.raises(RuntimeError, match=r"cat: zero-dimensional tensor \(at position 0\) cannot be concatenated"):
        nb.cat([nb.zeros((), device=device)])
    with pytest.raises(RuntimeError, match=r"cat: expected a non-empty list of Tensors"):
        nb.cat([])
    with pytest.raises(TypeError, match=r"cat: expected a sequence of Tensors, got a single Tensor of shape \(2, 3\)"):
        nb.cat(a)
    with pytest.raises(TypeError, match=r"cat: expected a sequence of Tensors, but element 1 is ndarray"):
        nb.cat([a, np.zeros((2, 3))])
    with pytest.raises(IndexError, match=r"cat: dimension out of range.*got 2\) for a tensor of shape \(2, 3\)"):
        nb.cat([a, a], 2)


@pytest.mark.cuda
def test_cat_stack_device_mismatch_names_both():
    a, b = nb.zeros(2, 3), nb.zeros(2, 3, device="cuda")
    with pytest.raises(
        RuntimeError,
        match=r"cat: expected all tensors to be on the same device, but tensor 0 is on "
        r"cpu .* and tensor 1 is on cuda:0",
    ):
        nb.cat([a, b])
    with pytest.raises(RuntimeError, match=r"stack: expected all tensors to be on the same device"):
        nb.stack([a, b])


@pytest.mark.parametrize(
    "shape,n,dim",
    [((), 2, 0), ((3,), 2, 0), ((3,), 3, 1), ((3,), 2, -1), ((2, 3), 3, 1), ((2, 3), 2, -3), ((0, 2), 2, 1)],
)
def test_stack(shape, n, dim, device):
    def ref(*arrays):
        return np.stack(arrays, axis=dim)

    check_op(lambda *xs: nb.stack(xs, dim), ref, [shape] * n, device, grad=0 not in shape)
    check_op(lambda *xs: nb.stack(list(xs), dim=dim), ref, [shape] * n, device, noncontiguous=True, grad=0 not in shape)


def test_stack_errors(device):
    a = nb.zeros(2, 3, device=device)
    with pytest.raises(
        RuntimeError,
        match=r"stack: expects each tensor to be equal size, but got \(2, 3\) at entry 0 "
        r"and \(3, 2\) at entry 1",
    ):
        nb.stack([a, nb.zeros(3, 2, device=device)])
    with pytest.raises(
        IndexError,
        match=r"stack: dimension out of range \(expected to be in range of \[-3, 2\], but "
        r"got 3\) for a tensor of shape \(2, 3\)",
    ):
        nb.stack([a, a], 3)
    with pytest.raises(RuntimeError, match=r"stack: expected a non-empty list"):
        nb.stack(())


# ---------------------------------------------------------------------------- repeat / flip / roll


@pytest.mark.parametrize(
    "shape,sizes",
    [
        ((), ()),
        ((), (3,)),
        ((3,), (2,)),
        ((3,), (2, 2)),
        ((2, 3), (1, 1)),
        ((2, 3), (2, 3)),
        ((2, 3), (2, 1, 2)),
        ((2, 3), (0, 2)),
        ((2, 1, 3), (1, 4, 1)),
    ],
)
def test_repeat(shape, sizes, device):
    def ref(a):
        return np.tile(a, sizes)

    check_op(lambda x: x.repeat(*sizes), ref, [shape], device)
    check_op(lambda x: nb.repeat(x, sizes), ref, [shape], device, noncontiguous=True)


def test_repeat_second_derivative_and_errors(device):
    x = t(random_inputs([(2, 3)])[0], device, requires_grad=True)
    assert nb.autograd.gradgradcheck(lambda v: (v**2).repeat(2, 1, 2), (x,))
    with pytest.raises(
        RuntimeError,
        match=r"repeat: number of repeat dims \(1\) can not be smaller than the number "
        r"of dimensions of the tensor \(2, shape \(2, 3\)\)",
    ):
        x.repeat(2)
    with pytest.raises(RuntimeError, match=r"repeat: repeats must be non-negative, got \(2, -1\)"):
        x.repeat(2, -1)


@pytest.mark.parametrize(
    "shape,dims", [((), 0), ((5,), 0), ((5,), (-1,)), ((3, 4), (0, 1)), ((3, 4), [1]), ((2, 3, 4), (0, 2))]
)
def test_flip(shape, dims, device):
    def ref(a):
        return a if a.ndim == 0 else np.flip(a, dims)

    check_op(lambda x: x.flip(dims), ref, [shape], device)
    check_op(lambda x: nb.flip(x, dims), ref, [shape], device, noncontiguous=True)


def test_flip_is_a_copy_like_torch(device):
    x = t([1.0, 2.0, 3.0], device)
    y = x.flip(0)
    y._data[0] = 100.0
    assert x.tolist() == [1.0, 2.0, 3.0]
    assert not shares_version(y, x)
    assert x.flip(0).tolist() == [3.0, 2.0, 1.0] and x.flip([0]).tolist() == [3.0, 2.0, 1.0]
    with pytest.raises(RuntimeError, match=r"flip: dim \(0, -1\) appears multiple times"):
        nb.zeros(3, device=device).flip((0, -1))
    with pytest.raises(IndexError, match=r"flip: dimension out of range.*shape \(3,\)"):
        nb.zeros(3, device=device).flip(1)


@pytest.mark.parametrize(
    "shape,shifts,dims",
    [
        ((), 1, 0),
        ((5,), 2, None),
        ((3, 4), 5, None),
        ((3, 4), 1, 0),
        ((3, 4), -1, -1),
        ((3, 4), (1, 2), (0, 1)),
        ((2, 3, 4), (7,), (2,)),
        ((3, 4), (1, 1), (1, 1)),
    ],
)
def test_roll(shape, shifts, dims, device):
    def ref(a):
        return a.copy() if a.ndim == 0 else np.roll(a, shifts, dims)

    check_op(lambda x: x.roll(shifts, dims), ref, [shape], device)
    check_op(lambda x: nb.roll(x, shifts, dims), ref, [shape], device, noncontiguous=True)


def test_roll_errors(device):
    x = nb.zeros(3, 4, device=device)
    with pytest.raises(RuntimeError, match=r"roll: shifts \(1, 2\) and dims \(0,\) must have the same length"):
        x.roll((1, 2), 0)
    with pytest.raises(RuntimeError, match=r"roll: without dims, shifts must be a single int, got \(1, 2\)"):
        x.roll((1, 2))
    with pytest.raises(IndexError, match=r"roll: dimension out of range.*shape \(3, 4\)"):
        x.roll(1, 2)


def test_flip_roll_second_derivative(device):
    x = t(random_inputs([(3, 4)])[0], device, requires_grad=True)
    assert nb.autograd.gradgradcheck(lambda v: (v**2).flip(0).roll((1, -1), (0, 1)), (x,))


# ---------------------------------------------------------------------------- pad


def _np_pad(a, pad, mode, value=0.0):
    widths = [(0, 0)] * a.ndim
    for k in range(len(pad) // 2):
        widths[a.ndim - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    if mode == "constant":
        return np.pad(a, widths, mode="constant", constant_values=value)
    return np.pad(a, widths, mode={"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode])


PADS = [
    ((5,), (2, 1)),
    ((5,), (0, 0)),
    ((3, 4), (1, 2)),
    ((3, 4), (2, 0, 1, 2)),
    ((2, 3, 4), (3, 3, 2, 2)),
    ((2, 2, 3, 4), (1, 1, 1, 1)),
    ((2, 3, 4, 5), (1, 2, 0, 1, 2, 1)),
]


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,pad", PADS)
def test_pad(mode, shape, pad, device):
    check_op(lambda x: nb.pad(x, pad, mode=mode), lambda a: _np_pad(a, pad, mode), [shape], device)
    check_op(lambda x: nb.pad(x, list(pad), mode), lambda a: _np_pad(a, pad, mode), [shape], device, noncontiguous=True)


def test_pad_constant_value_and_dtypes(device):
    a = np.arange(6.0).reshape(2, 3)
    check_op(lambda x: nb.pad(x, (1, 1), value=-2.5), lambda v: _np_pad(v, (1, 1), "constant", -2.5), [(2, 3)], device)
    out = nb.pad(nb.tensor(a.astype(np.int64), device=device), (1, 0, 0, 1), value=7)
    assert out.dtype == nb.int64
    assert_close(out, _np_pad(a, (1, 0, 0, 1), "constant", 7))
    assert nb.pad(nb.zeros((), device=device), ()).shape == ()


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_second_derivative(mode, device):
    x = t(random_inputs([(3, 4)])[0], device, requires_grad=True)
    assert nb.autograd.gradgradcheck(lambda v: nb.pad(v**2, (2, 3, 1, 2), mode=mode) ** 2, (x,))


def test_pad_gradient_accumulates_reflected_positions(device):
    x = t([1.0, 2.0, 3.0, 4.0], device, requires_grad=True)
    nb.pad(x, (2, 3), mode="reflect").sum().backward()
    # reflect (2, 3): [3, 2 | 1, 2, 3, 4 | 3, 2, 1]
    assert x.grad.tolist() == [2.0, 3.0, 3.0, 1.0]
    x.grad = None
    nb.pad(x, (2, 3), mode="replicate").sum().backward()
    assert x.grad.tolist() == [3.0, 1.0, 1.0, 4.0]
    x.grad = None
    nb.pad(x, (2, 3), mode="circular").sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 3.0, 2.0]


def test_pad_errors(device):
    x = nb.zeros(2, 3, device=device)
    with pytest.raises(RuntimeError, match=r"pad: padding length must be divisible by 2, got 3 values \(1, 1, 1\)"):
        nb.pad(x, (1, 1, 1))
    with pytest.raises(
        RuntimeError,
        match=r"pad: padding \(1, 1, 1, 1, 1, 1\) has 6 values, too many for a tensor "
        r"of shape \(2, 3\)",
    ):
        nb.pad(x, (1, 1) * 3)
    with pytest.raises(RuntimeError, match=r"pad: negative padding \(-1, 1\) is not supported"):
        nb.pad(x, (-1, 1))
    with pytest.raises(
        RuntimeError,
        match=r"pad: reflect padding \(3, 0\) of dim 1 must be less than its size 3 "
        r"\(input shape \(2, 3\)\)",
    ):
        nb.pad(x, (3, 0), mode="reflect")
    with pytest.raises(RuntimeError, match=r"pad: circular padding \(0, 3\) of dim 0 must be at most its size 2"):
        nb.pad(x, (0, 0, 0, 3), mode="circular")
    with pytest.raises(RuntimeError, match=r"pad: cannot replicate-pad dim 1 of size 0"):
        nb.pad(nb.zeros(2, 0, device=device), (1, 1), mode="replicate")
    with pytest.raises(ValueError, match=r"pad: unknown mode 'wrap'"):
        nb.pad(x, (1, 1), mode="wrap")
    with pytest.raises(ValueError, match=r"pad: mode 'reflect' doesn't take a value argument"):
        nb.pad(x, (1, 1), mode="reflect", value=1.0)


# ---------------------------------------------------------------------------- torch parity


def test_shape_ops_match_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    a = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    cases = [
        (lambda x: x.reshape(6, -1), lambda x: x.reshape(6, -1)),
        (lambda x: x.permute(3, 1, 0, 2), lambda x: x.permute(3, 1, 0, 2)),
        (lambda x: x.movedim((0, 1), (3, 0)), lambda x: x.movedim((0, 1), (3, 0))),
        (lambda x: x.flatten(1, 2).unflatten(1, (4, 3)), lambda x: x.flatten(1, 2).unflatten(1, (4, 3))),
        (lambda x: x.repeat(1, 2, 1, 1, 2), lambda x: x.repeat(1, 2, 1, 1, 2)),
        (lambda x: x.roll((1, -2), (1, 3)), lambda x: x.roll((1, -2), (1, 3))),
        (lambda x: x.roll(7), lambda x: x.roll(7)),
        (lambda x: x.flip((0, 3)), lambda x: x.flip((0, 3))),
        (lambda x: x.chunk(3, -1)[1], lambda x: x.chunk(3, -1)[1]),
        (lambda x: x.split([1, 3, 1], -1)[2], lambda x: x.split([1, 3, 1], -1)[2]),
        (lambda x: nb.pad(x, (1, 2, 3, 0), mode="reflect"), lambda x: F.pad(x, (1, 2, 3, 0), mode="reflect")),
        (lambda x: nb.pad(x, (2, 2, 1, 1), mode="replicate"), lambda x: F.pad(x, (2, 2, 1, 1), mode="replicate")),
        (lambda x: nb.pad(x, (3, 1, 2, 2), mode="circular"), lambda x: F.pad(x, (3, 1, 2, 2), mode="circular")),
        (lambda x: nb.pad(x, (1, 1, 0, 2, 1, 0), value=0.5), lambda x: F.pad(x, (1, 1, 0, 2, 1, 0), value=0.5)),
    ]
    w = np.random.default_rng(1)
    for i, (fn_nb, fn_torch) in enumerate(cases):
        xn, xt = nb.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        on, ot = fn_nb(xn), fn_torch(xt)
        np.testing.assert_array_equal(on.detach().numpy(), ot.detach().numpy(), err_msg=str(i))
        weights = w.standard_normal(tuple(ot.shape))
        (on * nb.tensor(weights)).sum().backward()
        (ot * torch.tensor(weights)).sum().backward()
        np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12, err_msg=str(i))
