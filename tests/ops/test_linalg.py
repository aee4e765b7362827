"""Products: matmul/@ (1-D promotion, batch broadcasting), mm, bmm, dot, outer, einsum."""

from __future__ import annotations

import numpy as np
import pytest
from op_check import assert_close, check_op, random_inputs

import nbgrad as nb
from nbgrad.autograd import gradgradcheck

MATMUL_SHAPES = [
    ((3, 4), (4, 2)),
    ((4,), (4,)),
    ((4,), (4, 3)),
    ((3, 4), (4,)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((1, 3, 4), (2, 4, 1)),
    ((4,), (2, 4, 3)),
    ((2, 3, 4), (4,)),
    ((1, 1), (1, 1)),
]


@pytest.mark.parametrize("sa, sb", MATMUL_SHAPES)
def test_matmul(sa, sb, device):
    check_op(nb.matmul, np.matmul, [sa, sb], device)
    check_op(lambda a, b: a @ b, np.matmul, [sa, sb], device, noncontiguous=True)
    check_op(lambda a, b: a.matmul(b), np.matmul, [sa, sb], device)


@pytest.mark.parametrize("sa, sb", MATMUL_SHAPES)
def test_matmul_backward_matches_torch(sa, sb, device):
    # An ordinary backward takes the array path (gradcheck may record the graph): check it on its own.
    torch = pytest.importorskip("torch")
    a, b = random_inputs([sa, sb], seed=9)
    g = random_inputs([np.matmul(a, b).shape], seed=10)[0]
    x, w = nb.tensor(a, device=device, requires_grad=True), nb.tensor(b, device=device, requires_grad=True)
    (x @ w).backward(nb.tensor(g, device=device))
    tx, tw = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    (tx @ tw).backward(torch.tensor(g))
    assert_close(x.grad, tx.grad.numpy())
    assert_close(w.grad, tw.grad.numpy())


@pytest.mark.parametrize("sa, sb", [((3, 4), (4, 2)), ((4,), (4, 3)), ((2, 3, 4), (4,)), ((2, 1, 3, 4), (5, 4, 2))])
def test_matmul_double_backward(sa, sb, device):
    a, b = random_inputs([sa, sb], seed=3)
    assert gradgradcheck(
        nb.matmul, (nb.tensor(a, device=device, requires_grad=True), nb.tensor(b, device=device, requires_grad=True))
    )


def test_matmul_gradient_of_one_operand_only(device):
    a, b = random_inputs([(2, 3, 4), (4, 5)], seed=4)
    x = nb.tensor(a, device=device)
    w = nb.tensor(b, device=device, requires_grad=True)
    y = x @ w
    y.backward(nb.ones_like(y))
    assert x.grad is None
    assert_close(w.grad, a.reshape(-1, 4).sum(0)[:, None].repeat(5, 1))


def test_matmul_empty_and_float32(device):
    assert_close(nb.zeros(0, 3, device=device) @ nb.zeros(3, 2, device=device), np.zeros((0, 2)))
    assert_close(nb.zeros(2, 0, device=device) @ nb.zeros(0, 3, device=device), np.zeros((2, 3)))
    a, b = random_inputs([(3, 4), (4, 2)], seed=5, dtype=np.float32)
    out = nb.tensor(a, device=device) @ nb.tensor(b, device=device)
    assert out.dtype == nb.float32
    assert_close(out, a @ b, rtol=1e-5)


def test_rmatmul_with_numpy_array(device):
    if device != "cpu":
        pytest.skip("a NumPy array is a cpu operand")
    a, b = random_inputs([(2, 3), (3, 4)], seed=6)
    assert_close(a @ nb.tensor(b), a @ b)
    assert_close(nb.tensor(a) @ b, a @ b)


def test_matmul_errors(device):
    a = nb.zeros(3, 4, device=device)
    with pytest.raises(
        RuntimeError,
        match=r"^matmul: cannot multiply \(3, 4\) by \(5, 2\): inner dimensions 4 and 5 "
        r"differ$",
    ):
        a @ nb.zeros(5, 2, device=device)
    with pytest.raises(RuntimeError, match=r"matmul: cannot multiply \(3, 4\) by \(3,\): inner dimensions 4 and 3"):
        a @ nb.zeros(3, device=device)
    with pytest.raises(
        RuntimeError,
        match=r"matmul: expected both operands to have the same dtype, but got float32 "
        r"and float64",
    ):
        a @ nb.zeros(4, 2, dtype=nb.float64, device=device)
    with pytest.raises(
        RuntimeError,
        match=r"matmul: both arguments need to be at least 1-D, but they have shapes "
        r"\(\) and \(3, 4\)",
    ):
        nb.tensor(2.0, device=device) @ a
    with pytest.raises(
        RuntimeError,
        match=r"matmul: the batch dimensions of \(2, 3, 4\) and \(5, 4, 2\) cannot be "
        r"broadcast",
    ):
        nb.zeros(2, 3, 4, device=device) @ nb.zeros(5, 4, 2, device=device)
    with pytest.raises(TypeError, match=r"matmul: both arguments must be tensors, got \(3, 4\) float32 on .* and 2"):
        nb.matmul(a, 2)


@pytest.mark.cuda
def test_matmul_device_mismatch():
    with pytest.raises(RuntimeError, match=r"matmul: expected all tensors to be on the same device.*cpu.*cuda:0"):
        nb.zeros(2, 2) @ nb.zeros(2, 2, device="cuda")


def test_mm_bmm_dot_outer(device):
    check_op(nb.mm, np.matmul, [(3, 4), (4, 2)], device)
    check_op(lambda a, b: a.mm(b), np.matmul, [(3, 4), (4, 2)], device, noncontiguous=True)
    check_op(nb.bmm, np.matmul, [(2, 3, 4), (2, 4, 5)], device)
    check_op(lambda a, b: a.bmm(b), np.matmul, [(2, 3, 4), (2, 4, 5)], device, noncontiguous=True)
    check_op(nb.dot, np.dot, [(5,), (5,)], device)
    check_op(lambda a, b: a.dot(b), np.dot, [(5,), (5,)], device, noncontiguous=True)
    check_op(nb.outer, np.outer, [(3,), (4,)], device)
    check_op(lambda a, b: a.outer(b), np.outer, [(3,), (4,)], device, noncontiguous=True)
    assert_close(nb.dot(nb.zeros(0, device=device), nb.zeros(0, device=device)), np.array(0.0))
    assert nb.outer(nb.zeros(0, device=device), nb.zeros(2, device=device)).shape == (0, 2)


def test_mm_bmm_dot_outer_errors(device):
    z = nb.zeros
    with pytest.raises(RuntimeError, match=r"^mm: expected 2-D tensors, but got shapes \(2, 3, 4\) and \(4, 2\)"):
        nb.mm(z(2, 3, 4, device=device), z(4, 2, device=device))
    with pytest.raises(RuntimeError, match=r"^mm: cannot multiply \(3, 4\) by \(5, 2\): inner dimensions 4 and 5"):
        nb.mm(z(3, 4, device=device), z(5, 2, device=device))
    with pytest.raises(RuntimeError, match=r"^bmm: expected 3-D tensors, but got shapes \(3, 4\) and \(2, 4, 2\)"):
        nb.bmm(z(3, 4, device=device), z(2, 4, 2, device=device))
    with pytest.raises(RuntimeError, match=r"^bmm: cannot multiply \(2, 3, 4\) by \(3, 4, 2\): batch sizes 2 and 3"):
        nb.bmm(z(2, 3, 4, device=device), z(3, 4, 2, device=device))
    with pytest.raises(RuntimeError, match=r"^dot: expected 1-D tensors, but got shapes \(2, 2\) and \(2,\)"):
        nb.dot(z(2, 2, device=device), z(2, device=device))
    with pytest.raises(RuntimeError, match=r"^dot: cannot multiply \(3,\) by \(4,\): inner dimensions 3 and 4 differ"):
        nb.dot(z(3, device=device), z(4, device=device))
    with pytest.raises(RuntimeError, match=r"^dot: expected both operands to have the same dtype.*float32 and int64"):
        nb.dot(z(3, device=device), nb.tensor([1, 2, 3], device=device))
    with pytest.raises(RuntimeError, match=r"^outer: expected two 1-D tensors, got \(2, 2\) float32"):
        nb.outer(z(2, 2, device=device), z(2, device=device))


# ---------------------------------------------------------------------------
# einsum

EINSUM_CASES = [
    ("ij,jk->ik", [(3, 4), (4, 2)]),
    ("ij,jk", [(3, 4), (4, 2)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("i,i->", [(5,), (5,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij->ji", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("ij->j", [(3, 4)]),
    ("ii->", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("iij->j", [(3, 3, 2)]),
    ("ij,ij->i", [(3, 4), (3, 4)]),
    ("ij,ij->ij", [(3, 1), (3, 4)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("...ij->...", [(2, 3, 4)]),
    ("i...->...", [(2, 3, 4)]),
    ("b...,b...->b", [(2, 3, 4), (2, 3, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("ab,cd->abcd", [(2, 3), (2, 2)]),
    ("bhqd,bhkd->bhqk", [(1, 2, 3, 4), (1, 2, 5, 4)]),
    (" ij , jk -> ik ", [(3, 4), (4, 2)]),
    ("Ai,iB->AB", [(2, 3), (3, 2)]),
    ("->", [()]),
]


@pytest.mark.parametrize("equation, shapes", EINSUM_CASES, ids=[c[0] for c in EINSUM_CASES])
def test_einsum(equation, shapes, device):
    # NumPy wants '...' in an explicit output; torch (and nbgrad) sum the '...' dimensions away.
    numpy_equation = {"b...,b...->b": "bjk,bjk->b"}.get(equation, equation.replace(" ", ""))
    ref = lambda *arrays: np.einsum(numpy_equation, *arrays)  # noqa: E731
    check_op(lambda *ts: nb.einsum(equation, *ts), ref, shapes, device)
    check_op(lambda *ts: nb.einsum(equation, list(ts)), ref, shapes, device, noncontiguous=True)


@pytest.mark.parametrize(
    "equation, shapes",
    [("ij,jk->ik", [(3, 4), (4, 2)]), ("ii->i", [(3, 3)]), ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)])],
)
def test_einsum_double_backward(equation, shapes, device):
    arrays = random_inputs(shapes, seed=7)
    ts = tuple(nb.tensor(a, device=device, requires_grad=True) for a in arrays)
    assert gradgradcheck(lambda *t: nb.einsum(equation, *t), ts)


def test_einsum_matches_matmul_and_empty(device):
    a, b = random_inputs([(3, 4), (4, 5)], seed=8)
    x, y = nb.tensor(a, device=device), nb.tensor(b, device=device)
    assert_close(nb.einsum("ij,jk->ik", x, y), (x @ y).numpy())
    assert nb.einsum("ij,jk->ik", nb.zeros(0, 4, device=device), nb.zeros(4, 2, device=device)).shape == (0, 2)
    assert_close(nb.einsum("ij->", nb.zeros(0, 4, device=device)), np.array(0.0))


EINSUM_ERRORS = [
    (RuntimeError, r"einsum: the equation 'ij,jk->ik' has 2 operand\(s\) but 1 tensor", "ij,jk->ik", [(3, 4)]),
    (RuntimeError, r"einsum: subscripts 'ijk' do not match an operand of shape \(3, 4\)", "ijk->i", [(3, 4)]),
    (RuntimeError, r"einsum: subscripts 'ijk...' do not match an operand of shape \(3, 4\)", "ijk...->i", [(3, 4)]),
    (RuntimeError, r"einsum: output subscript 'k' in 'ij->k' does not appear in any operand", "ij->k", [(3, 4)]),
    (RuntimeError, r"einsum: output subscript 'i' appears more than once", "ij->ii", [(3, 4)]),
    (RuntimeError, r"einsum: invalid subscripts in 'i1->i'", "i1->i", [(3, 4)]),
    (RuntimeError, r"einsum: invalid subscripts in 'i..->i'", "i..->i", [(3, 4)]),
    (
        RuntimeError,
        r"einsum: ij,jk->ik does not fit operands of shapes \(3, 4\), \(5, 2\)",
        "ij,jk->ik",
        [(3, 4), (5, 2)],
    ),
    (RuntimeError, r"einsum: must provide at least one operand", "ij", []),
]


@pytest.mark.parametrize("error, match, equation, shapes", EINSUM_ERRORS, ids=[e[2] for e in EINSUM_ERRORS])
def test_einsum_errors(error, match, equation, shapes, device):
    with pytest.raises(error, match=match):
        nb.einsum(equation, *[nb.zeros(*s, device=device) for s in shapes])


def test_einsum_operand_errors(device):
    a = nb.zeros(3, 4, device=device)
    with pytest.raises(RuntimeError, match=r"einsum: expected all operands to have the same dtype.*float32.*float64"):
        nb.einsum("ij,jk->ik", a, nb.zeros(4, 2, dtype=nb.float64, device=device))
    with pytest.raises(TypeError, match=r"einsum: operands must be tensors, got ndarray"):
        nb.einsum("ij", np.zeros((2, 2)))
    with pytest.raises(TypeError, match=r"einsum: the equation must be a string, got int"):
        nb.einsum(3, a)
