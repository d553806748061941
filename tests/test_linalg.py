"""matmul and its special cases, addmm/baddbmm, einsum, tensordot: values and gradients vs PyTorch."""
import numpy as np
import pytest
from helpers import check_double_backward, check_gradcheck, check_op

import retrograd as rg

pytestmark = pytest.mark.on_devices


def _arrays(rng, *shapes):
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


MATMUL_CASES = [
    ((3,), (3,)),  # dot
    ((2, 3), (3,)),  # matrix-vector
    ((3,), (3, 4)),  # vector-matrix
    ((2, 3), (3, 4)),  # matrix-matrix
    ((5, 2, 3), (5, 3, 4)),  # batched
    ((5, 2, 3), (3, 4)),  # batch times one matrix (folded into one GEMM)
    ((2, 3), (5, 3, 4)),  # one matrix times a batch
    ((5, 1, 2, 3), (6, 3, 4)),  # broadcast batch dims
    ((1, 2, 3), (5, 3, 4)),  # size-1 batch dim broadcast
    ((5, 2, 3), (3,)),  # batch times vector
    ((3,), (5, 3, 4)),  # vector times batch
    ((4, 5, 2, 3), (4, 1, 3, 2)),  # 4-D
    ((0, 3), (3, 4)),  # empty
]


@pytest.mark.parametrize("sa,sb", MATMUL_CASES)
def test_matmul(rng, sa, sb):
    a, b = _arrays(rng, sa, sb)
    check_op(lambda m, x, y: m.matmul(x, y), a, b)
    check_op(lambda m, x, y: x @ y, a, b)
    check_gradcheck(lambda m, x, y: m.matmul(x, y), a.astype(np.float64), b.astype(np.float64))


def test_matmul_big_contraction(rng):
    # float32 sums of 256 products in a different order than PyTorch's BLAS: rtol 1e-4
    a, b = _arrays(rng, (8, 16, 256), (256, 32))
    check_op(lambda m, x, y: x @ y, a, b, rtol=1e-4, atol=1e-4)


def test_matmul_one_side_requires_grad(rng):
    a, b = _arrays(rng, (4, 2, 3), (3, 5))
    check_op(lambda m, x, y: m.matmul(x, y.detach()), a, b)
    check_op(lambda m, x, y: m.matmul(x.detach(), y), a, b)


@pytest.mark.parametrize("sa,sb", [((2, 3), (3, 4)), ((3,), (3,)), ((2, 2, 3), (3,)), ((3,), (2, 3, 4)),
                                   ((2, 1, 2, 3), (3, 3, 2))])
def test_matmul_double_backward(rng, sa, sb):
    a, b = _arrays(rng, sa, sb)
    check_double_backward(lambda m, x, y: m.matmul(x, y), a, b)


def test_matmul_dtypes(rng):
    a, b = _arrays(rng, (2, 3), (3, 4))
    out = rg.matmul(rg.tensor(a.astype(np.float64)), rg.tensor(b.astype(np.float64)))
    assert out.dtype is rg.float64
    x = rg.tensor(a.astype(np.float64), requires_grad=True)
    (x @ rg.tensor(b.astype(np.float64))).sum().backward()
    assert x.grad.dtype is rg.float64
    ia, ib = rng.integers(-5, 5, (2, 3)), rng.integers(-5, 5, (3, 4))
    check_op(lambda m, x, y: m.matmul(x, y), ia, ib, grad=False)
    check_op(lambda m, x, y: m.matmul(x, y), ia.astype(np.int32), ib.astype(np.int32), grad=False)


def test_matmul_result_is_a_new_tensor(rng):
    a, b = _arrays(rng, (2, 3), (3, 3))
    x, y = rg.tensor(a), rg.tensor(b)
    out = x @ y
    out.add_(1.0)
    np.testing.assert_array_equal(x.cpu().numpy(), a)


def test_matmul_errors():
    z = rg.zeros
    with pytest.raises(RuntimeError, match=r"matmul: mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"):
        rg.matmul(z(2, 3), z(4, 5))
    with pytest.raises(RuntimeError, match=r"shapes cannot be multiplied \(7x2x3 and 4x5\)"):
        z(7, 2, 3) @ z(4, 5)
    with pytest.raises(RuntimeError, match=r"shapes cannot be multiplied \(3 and 4\)"):
        rg.matmul(z(3), z(4))
    with pytest.raises(RuntimeError, match=r"shapes cannot be multiplied \(2x3 and 4\)"):
        rg.matmul(z(2, 3), z(4))
    with pytest.raises(RuntimeError, match=r"batch dimensions .* do not broadcast \(7x2x3 and 6x3x5\).* 7 .* 6"):
        rg.matmul(z(7, 2, 3), z(6, 3, 5))
    with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype, but got: float != double"):
        rg.matmul(z(2, 3), z(3, 4, dtype=rg.float64))
    with pytest.raises(RuntimeError, match="same dtype, but got: long int != float"):
        rg.matmul(z(2, 3, dtype=rg.int64), z(3, 4))
    with pytest.raises(RuntimeError, match="at least 1D, but they are 0D and 1D"):
        rg.matmul(z(()), z(3))
    with pytest.raises(TypeError, match=r"matmul\(\): argument 'other' \(position 2\) must be Tensor, not int"):
        rg.matmul(z(2, 3), 3)
    with pytest.raises(NotImplementedError, match="not implemented for 'Bool'"):
        rg.matmul(z(2, 3, dtype=rg.bool), z(3, 4, dtype=rg.bool))


# ---- mm, bmm, mv, dot, outer, inner ----------------------------------------------------------
@pytest.mark.parametrize("name,sa,sb", [
    ("mm", (2, 3), (3, 4)), ("bmm", (5, 2, 3), (5, 3, 4)), ("mv", (2, 3), (3,)), ("dot", (3,), (3,)),
    ("vdot", (3,), (3,)), ("outer", (3,), (4,)), ("inner", (2, 3), (4, 3)), ("inner", (3,), (3,)),
    ("inner", (2, 5, 3), (4, 3)),
])
def test_products(rng, name, sa, sb):
    a, b = _arrays(rng, sa, sb)
    check_op(lambda m, x, y: getattr(m, name)(x, y), a, b)
    check_op(lambda m, x, y: getattr(x, name)(y), a, b)
    check_gradcheck(lambda m, x, y: getattr(m, name)(x, y), a, b)


def test_inner_with_scalar(rng):
    a, b = _arrays(rng, (), (2, 3))
    check_op(lambda m, x, y: m.inner(x, y), a, b)


def test_outer_promotes(rng):
    check_op(lambda m, x, y: m.outer(x, y), rng.integers(0, 5, 3), rng.standard_normal(4).astype(np.float32))


def test_product_errors():
    z = rg.zeros
    with pytest.raises(RuntimeError, match="mm: self must be a matrix"):
        rg.mm(z(3), z(3, 4))
    with pytest.raises(RuntimeError, match="mm: mat2 must be a matrix"):
        rg.mm(z(2, 3), z(3))
    with pytest.raises(RuntimeError, match=r"mm: mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"):
        rg.mm(z(2, 3), z(4, 5))
    with pytest.raises(RuntimeError, match="mm: expected m1 and m2 to have the same dtype"):
        rg.mm(z(2, 3), z(3, 5, dtype=rg.float64))
    with pytest.raises(RuntimeError, match="bmm: batch1 must be a 3D tensor, got 2-D tensor"):
        rg.bmm(z(2, 3), z(3, 5))
    with pytest.raises(RuntimeError, match="bmm: batch2 must be a 3D tensor"):
        rg.bmm(z(2, 2, 3), z(3, 5))
    with pytest.raises(RuntimeError, match=r"to be: \[2, 3\] but got: \[2, 4\].*2x2x3.*2x4x5"):
        rg.bmm(z(2, 2, 3), z(2, 4, 5))
    with pytest.raises(RuntimeError, match=r"to be: \[2, 3\] but got: \[3, 3\]"):
        rg.bmm(z(2, 2, 3), z(3, 3, 5))
    with pytest.raises(RuntimeError, match=r"mv: size mismatch, got mat \(2x3\), vec \(4\)"):
        rg.mv(z(2, 3), z(4))
    with pytest.raises(RuntimeError, match="mv: vector \\+ matrix @ vector expected"):
        rg.mv(z(2, 3), z(3, 1))
    with pytest.raises(RuntimeError, match="mv: expected the matrix and the vector to have the same dtype"):
        rg.mv(z(2, 3), z(3, dtype=rg.float64))
    with pytest.raises(RuntimeError, match=r"expected tensor \[3\] and src \[4\]"):
        rg.dot(z(3), z(4))
    with pytest.raises(RuntimeError, match="1D tensors expected, but got 2D and 1D tensors"):
        rg.dot(z(3, 1), z(3))
    with pytest.raises(RuntimeError, match="dot : expected both vectors to have same dtype, but found Float and "
                                           "Double"):
        rg.dot(z(3), z(3, dtype=rg.float64))
    with pytest.raises(RuntimeError, match="outer: Expected 1-D argument self, but got 2-D"):
        rg.outer(z(3, 2), z(4))
    with pytest.raises(RuntimeError, match=r"inner\(\) the last dimension must match .* \[2, 3\] and \[4, 2\]"):
        rg.inner(z(2, 3), z(4, 2))
    with pytest.raises(RuntimeError, match="inner: both inputs should have same dtype"):
        rg.inner(z(2, 3), z(3, dtype=rg.float64))


# ---- addmm, baddbmm ---------------------------------------------------------------------------
@pytest.mark.parametrize("sc", [(2, 4), (4,), (1, 4), (2, 1), ()])
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0), (0, 1)])
def test_addmm(rng, sc, beta, alpha):
    c, a, b = _arrays(rng, sc, (2, 3), (3, 4))
    check_op(lambda m, z, x, y: m.addmm(z, x, y, beta=beta, alpha=alpha), c, a, b)
    check_op(lambda m, z, x, y: z.addmm(x, y, beta=beta, alpha=alpha), c, a, b)
    check_gradcheck(lambda m, z, x, y: m.addmm(z, x, y, beta=beta, alpha=alpha), c, a, b)


def test_addmm_beta_zero_ignores_nan(rng):
    a, b = _arrays(rng, (2, 3), (3, 4))
    c = np.full((2, 4), np.nan, dtype=np.float32)
    check_op(lambda m, z, x, y: m.addmm(z, x, y, beta=0), c, a, b, grad=False)


@pytest.mark.parametrize("sc", [(5, 2, 4), (2, 4), (4,)])
def test_baddbmm(rng, sc):
    c, a, b = _arrays(rng, sc, (5, 2, 3), (5, 3, 4))
    check_op(lambda m, z, x, y: m.baddbmm(z, x, y, beta=0.5, alpha=-1.5), c, a, b)
    check_gradcheck(lambda m, z, x, y: m.baddbmm(z, x, y, beta=0.5, alpha=-1.5), c, a, b)


def test_addmm_double_backward(rng):
    c, a, b = _arrays(rng, (4,), (2, 3), (3, 4))
    check_double_backward(lambda m, z, x, y: m.addmm(z, x, y, beta=0.5, alpha=2.0), c, a, b)


def test_addmm_errors():
    z = rg.zeros
    with pytest.raises(RuntimeError, match=r"addmm: mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"):
        rg.addmm(z(2, 4), z(2, 3), z(4, 5))
    with pytest.raises(RuntimeError, match=r"addmm: input of shape \(3x4\) cannot be broadcast .* \(2x5\)"):
        rg.addmm(z(3, 4), z(2, 3), z(3, 5))
    with pytest.raises(RuntimeError, match="self and mat2 must have the same dtype, but got Double and Float"):
        rg.addmm(z(5, dtype=rg.float64), z(2, 3), z(3, 5))
    with pytest.raises(RuntimeError, match="addmm: mat1 must be a matrix, got 1-D"):
        rg.addmm(z(5), z(3), z(3, 5))
    with pytest.raises(RuntimeError, match="baddbmm: batch1 must be a 3D tensor"):
        rg.baddbmm(z(5), z(2, 3), z(2, 3, 5))
    with pytest.raises(RuntimeError, match=r"baddbmm: input of shape \(3x5\) cannot be broadcast"):
        rg.baddbmm(z(3, 5), z(2, 2, 3), z(2, 3, 5))
    with pytest.raises(TypeError):
        rg.addmm(z(5), z(2, 3), z(3, 5), 0.5)  # beta and alpha are keyword-only, as in PyTorch


# ---- einsum ------------------------------------------------------------------------------------
EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),  # matmul
    ("bij,bjk->bik", [(5, 2, 3), (5, 3, 4)]),  # batched matmul
    ("i,j->ij", [(3,), (4,)]),  # outer
    ("ii", [(3, 3)]),  # trace
    ("ii->i", [(3, 3)]),  # diagonal
    ("ii->", [(3, 3)]),  # trace, explicit
    ("iii->i", [(3, 3, 3)]),  # triple diagonal
    ("ij->", [(2, 3)]),  # sum
    ("ij->i", [(2, 3)]),  # row sums: j only in the operand
    ("ij->ji", [(2, 3)]),  # transpose
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),  # attention scores
    ("bhqk,bhkd->bhqd", [(2, 3, 4, 6), (2, 3, 6, 5)]),  # attention values
    ("ij,jk", [(2, 3), (3, 4)]),  # implicit output
    ("ba,ab", [(2, 3), (3, 2)]),  # implicit output: scalar
    ("ij,kj", [(2, 3), (4, 3)]),  # implicit output in alphabetical order
    ("aB,Ca", [(2, 3), (4, 2)]),  # implicit output: upper case first
    ("...ij,...jk->...ik", [(5, 2, 3), (5, 3, 4)]),  # ellipsis
    ("...ij,...jk->...ik", [(5, 1, 2, 3), (4, 3, 4)]),  # ellipsis broadcast, different ranks
    ("...ij,...jk", [(2, 3), (3, 4)]),  # empty ellipsis, implicit
    ("...ii->...i", [(2, 3, 3)]),  # batched diagonal
    ("i...i->...", [(3, 2, 3)]),  # trace over an ellipsis
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),  # three operands
    ("i,i,i->", [(3,), (3,), (3,)]),  # three-way dot
    ("ij,ij->ij", [(2, 1), (1, 4)]),  # size-1 dims broadcast
    ("ij,jk->ik", [(2, 1), (3, 4)]),  # size-1 contracted dim broadcast
    ("ii,ij->j", [(3, 3), (3, 4)]),  # diagonal times matrix
    ("ijk,k->ij", [(2, 3, 4), (4,)]),
    ("ij,k->ijk", [(2, 3), (4,)]),
    ("i j -> j", [(2, 3)]),  # spaces
]


@pytest.mark.parametrize("eq,shapes", EINSUM_CASES)
def test_einsum(rng, eq, shapes):
    arrays = _arrays(rng, *shapes)
    check_op(lambda m, *xs: m.einsum(eq, *xs), *arrays)
    check_gradcheck(lambda m, *xs: m.einsum(eq, *xs), *arrays)


def test_einsum_list_of_operands(rng):
    a, b = _arrays(rng, (2, 3), (3, 4))
    check_op(lambda m, x, y: m.einsum("ij,jk->ik", [x, y]), a, b)


def test_einsum_sublist_format(rng):
    a, b = _arrays(rng, (2, 3), (3, 4))
    check_op(lambda m, x, y: m.einsum(x, [0, 1], y, [1, 2], [0, 2]), a, b)
    check_op(lambda m, x, y: m.einsum(x, [Ellipsis, 1], y, [1, 27]), a, b)


@pytest.mark.parametrize("eq,shapes", [("ij,jk->ik", [(2, 3), (3, 4)]), ("ii,i->", [(3, 3), (3,)]),
                                       ("ij,kj", [(2, 3), (4, 3)]), ("ij->i", [(2, 3)])])
def test_einsum_double_backward(rng, eq, shapes):
    check_double_backward(lambda m, *xs: m.einsum(eq, *xs) ** 2, *_arrays(rng, *shapes))


def test_einsum_integers(rng):
    a, b = rng.integers(-5, 5, (2, 3)), rng.integers(-5, 5, (3, 4))
    check_op(lambda m, x, y: m.einsum("ij,jk->ik", x, y), a, b, grad=False)


def test_einsum_transpose_is_a_copy(rng):
    a = rg.tensor(_arrays(rng, (2, 3))[0])
    out = rg.einsum("ij->ji", a)
    out.zero_()
    assert a.abs().sum().item() > 0


def test_einsum_errors():
    z = rg.zeros
    with pytest.raises(RuntimeError, match="subscript j has size 4 for operand 1 .* previously seen size 3"):
        rg.einsum("ij,jk->ik", z(2, 3), z(4, 4))
    with pytest.raises(RuntimeError, match="fewer operands were provided than specified in the equation"):
        rg.einsum("ij,jk->ik", z(2, 3))
    with pytest.raises(RuntimeError, match="more operands were provided"):
        rg.einsum("ij->i", z(2, 3), z(2, 3))
    with pytest.raises(RuntimeError, match="output subscript k does not appear in the equation for any input"):
        rg.einsum("ij->ik", z(2, 3))
    with pytest.raises(RuntimeError, match="output subscript i appears more than once in the output"):
        rg.einsum("ij->ii", z(2, 2))
    with pytest.raises(RuntimeError, match=r"number of subscripts in the equation \(3\) does not match the number "
                                           r"of dimensions \(2\) for operand 0 and no ellipsis was given"):
        rg.einsum("ijk->ij", z(2, 2))
    with pytest.raises(RuntimeError, match="subscript i is repeated for operand 0 but the sizes don't match, 2 != 3"):
        rg.einsum("ii", z(2, 3))
    with pytest.raises(RuntimeError, match=r"invalid subscript given at index 1 .* must be in \[a-zA-Z\]"):
        rg.einsum("i1->i", z(2, 3))
    with pytest.raises(RuntimeError, match="found '.' for operand 0 that is not part of any ellipsis"):
        rg.einsum("ij.k", z(2, 3))
    with pytest.raises(RuntimeError, match="expected all operands to have the same dtype, but got float32, float64"):
        rg.einsum("ij,jk", z(2, 3), z(3, 4, dtype=rg.float64))
    with pytest.raises(TypeError, match="expected Tensor as element 1 in argument 1, but got int"):
        rg.einsum("ij,jk->ik", z(2, 3), 3)


# ---- tensordot ----------------------------------------------------------------------------------
@pytest.mark.parametrize("sa,sb,dims", [
    ((2, 3, 4), (3, 4, 5), 2), ((2, 3), (3, 4), 1), ((2, 3), (4, 5), 0), ((2, 3, 4), (4, 3, 5), ([1, 2], [1, 0])),
    ((2, 3, 4), (3, 5), ([1], [0])), ((2, 3, 4), (5, 4), ([-1], [-1])),
])
def test_tensordot(rng, sa, sb, dims):
    a, b = _arrays(rng, sa, sb)
    check_op(lambda m, x, y: m.tensordot(x, y, dims=dims), a, b)
    check_gradcheck(lambda m, x, y: m.tensordot(x, y, dims=dims), a, b)


def test_tensordot_errors():
    z = rg.zeros
    with pytest.raises(RuntimeError, match="tensordot expects dims >= 0, but got dims=-1"):
        rg.tensordot(z(2, 3), z(3, 4), dims=-1)
    with pytest.raises(RuntimeError, match="contracted dimensions need to match, but first has size 4 in dim 2 and "
                                           "second has size 3 in dim 0"):
        rg.tensordot(z(2, 3, 4), z(3, 4, 5), dims=([2], [0]))
    with pytest.raises(RuntimeError, match="both inputs should have same dtype"):
        rg.tensordot(z(2, 3), z(3, 4, dtype=rg.float64), dims=1)
