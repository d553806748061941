"""Indexing: t[...], t[...] = v, gather/scatter, index_*, masked_*, take, nonzero (values and gradients vs PyTorch)."""
import numpy as np
import pytest
from helpers import check_double_backward, check_gradcheck, check_op

import retrograd as rg

pytestmark = pytest.mark.on_devices

R = np.random.default_rng(0)
X = R.standard_normal((2, 3, 4)).astype(np.float32)
M = R.standard_normal((3, 4)).astype(np.float32)

# keys as functions of the library module (index tensors must be the library's own)
KEYS = {
    "int": lambda m: 1,
    "negative int": lambda m: -1,
    "slice": lambda m: slice(1, None),
    "slice step": lambda m: (slice(None), slice(None, None, 2)),
    "slice past end": lambda m: (slice(0, 10), slice(-2, None)),
    "all ints": lambda m: (1, 2, 3),
    "none and ellipsis": lambda m: (None, Ellipsis, 1, None),
    "list": lambda m: [1, 0, 1],
    "repeated tensor": lambda m: m.tensor([0, 0, 1, 0]),
    "negative tensor": lambda m: (slice(None), m.tensor([-1, 0, -3])),
    "0-dim tensor": lambda m: m.tensor(1),
    "two arrays adjacent": lambda m: (slice(None), [0, 2, 2], [1, 3, -1]),
    "two arrays separated": lambda m: ([0, 1, 1], slice(None), [1, 3, 3]),
    "broadcast arrays": lambda m: (m.tensor([[0], [1]]), slice(1, 3), m.tensor([0, 3, 3])),
    "int then array": lambda m: (1, slice(None), [0, 0, 2]),
    "0-dim tensor then array": lambda m: (m.tensor(1), slice(None), [0, 0, 2]),
    "array int array": lambda m: ([0, 1], 2, [3, 3]),
    "ellipsis array": lambda m: (Ellipsis, m.tensor([[3, 0], [3, 3]])),
    "none array slice": lambda m: (None, [1, 0], None, slice(1, None)),
    "mask full": lambda m: m.tensor(X > 0),
    "mask leading": lambda m: m.tensor(np.array([[True, False, True], [False, False, True]])),
    "mask after int": lambda m: (0, slice(None), m.tensor(np.array([True, False, True, True]))),
    "mask and array": lambda m: (m.tensor(np.array([True, True])), slice(None), [0, 1]),
    "empty list": lambda m: ([],),
    "bool scalar": lambda m: True,
}


@pytest.mark.parametrize("name", list(KEYS))
def test_getitem_matches_torch(name):
    key = KEYS[name]
    check_op(lambda m, x: x[key(m)], X)


@pytest.mark.parametrize("name", ["slice step", "two arrays separated", "int then array", "mask leading",
                                  "repeated tensor", "broadcast arrays"])
def test_getitem_gradcheck(name):
    key = KEYS[name]
    check_gradcheck(lambda m, x: x[key(m)], X)


def test_getitem_repeated_indices_accumulate():
    x = rg.tensor(np.ones(3, np.float32), requires_grad=True)
    x[rg.tensor([2, 0, 2, 2])].sum().backward()
    np.testing.assert_array_equal(x.grad.cpu().numpy(), [1, 0, 3])
    assert x.grad.dtype is rg.float32


def test_getitem_with_index_tensor_argument():
    check_op(lambda m, x, i: x[:, i], M, np.array([[0, 3], [3, 3]]))
    check_op(lambda m, x, i: x[i, i], M, np.array([2, -1, 0]))


def test_basic_getitem_is_a_view():
    x = rg.zeros(3, 4)
    row = x[1]
    assert row._base is x
    row.fill_(2.0)
    assert x.cpu().numpy()[1].tolist() == [2.0] * 4
    elem = x[0, 0]
    assert elem.shape == () and elem._base is x
    assert x[[0, 1]]._base is None


def test_getitem_double_backward():
    check_double_backward(lambda m, x: (x[:, [0, 0, 2]] ** 2), M)
    check_double_backward(lambda m, x: (x[1:, ::2] ** 3), M)


def test_getitem_int_tensor_dtypes():
    check_op(lambda m, x: x[m.tensor([0, 2], dtype=m.int32)], M)


# ---- setitem -----------------------------------------------------------------------------
def _setter(key, value_kind):
    def fn(m, x, v):
        y = x * 1
        y[key(m)] = v if value_kind == "tensor" else 2.5
        return y
    return fn


# keys that name each position once (a repeated position gets an unspecified one of its values)
SET_KEYS = dict(KEYS, **{"two arrays adjacent": lambda m: (slice(None), [0, 2, 1], [1, 3, -1]),
                         "int then array": lambda m: (1, slice(None), [0, 3, 2])})


@pytest.mark.parametrize("name,vshape", [("int", (3, 4)), ("slice step", (2, 1, 4)), ("two arrays adjacent", (3,)),
                                         ("mask full", ()), ("int then array", (3, 1)), ("mask leading", (4,)),
                                         ("none and ellipsis", (3, 1)), ("all ints", (1,))])
def test_setitem_nonleaf_with_grad_value(name, vshape):
    v = R.standard_normal(vshape).astype(np.float32)
    check_op(_setter(SET_KEYS[name], "tensor"), X, v)
    check_gradcheck(_setter(SET_KEYS[name], "tensor"), X, v)


@pytest.mark.parametrize("name", ["slice", "list", "mask full", "two arrays separated"])
def test_setitem_number(name):
    check_op(lambda m, x: _setter(SET_KEYS[name], "number")(m, x, None), X)


def test_setitem_into_tensor_without_grad():
    def fn(m, v):
        y = m.zeros(3, 4)
        y[1] = v
        y[:, m.tensor([0, 3])] = v[:1].reshape(1, 1) * 2
        return y
    check_op(fn, R.standard_normal(4).astype(np.float32))


def test_setitem_casts_value_and_writes_under_no_grad():
    for m in (rg, __import__("torch")):
        x = m.zeros(3, dtype=m.int64)
        x[0] = 3.7
        x[1] = m.tensor(2.9)
        assert x.tolist() == [3, 2, 0]
    w = rg.ones(2, 3, requires_grad=True)
    with rg.no_grad():
        w[0, 1:] = 5.0
    assert w.detach().cpu().numpy()[0].tolist() == [1.0, 5.0, 5.0] and w.grad_fn is None and w.requires_grad


def test_setitem_bumps_version_of_saved_tensor():
    x = rg.ones(3, requires_grad=True)
    y = x * 1
    z = y * y
    y[0] = 2.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_setitem_errors():
    w = rg.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w[0] = 1.0
    x = rg.zeros(2, 3)
    with pytest.raises(RuntimeError, match=r"value tensor of shape \[2\] cannot be broadcast to indexing result "
                                           r"of shape \[3\]"):
        x[0] = rg.ones(2)
    with pytest.raises(IndexError, match="index 2 is out of bounds for dimension 0 with size 2"):
        x[2] = 1.0


# ---- getitem errors ----------------------------------------------------------------------
def test_getitem_errors():
    x = rg.zeros(2, 3, 4)
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 2"):
        x[5]
    with pytest.raises(IndexError, match="index -4 is out of bounds for dimension 1 with size 3"):
        x[:, -4]
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 1 with size 3"):
        x[:, rg.tensor([0, 3])]
    with pytest.raises(IndexError, match="index 4 is out of bounds for dimension 2 with size 4"):
        x[..., [4]]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[::-1]
    with pytest.raises(IndexError, match="tensors used as indices must be long, int, byte or bool tensors"):
        x[rg.tensor([0.0, 1.0])]
    with pytest.raises(IndexError, match="must be long, int, byte or bool"):
        x[rg.tensor([0, 1], dtype=rg.int16)]
    with pytest.raises(IndexError, match=r"The shape of the mask \[3\] at index 0 does not match the shape of the "
                                         r"indexed tensor \[2, 3, 4\]"):
        x[rg.tensor([True, False, True])]
    with pytest.raises(IndexError, match="too many indices for tensor of dimension 3"):
        x[0, 0, 0, 0]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., 0, ...]
    with pytest.raises(IndexError, match="only integers, slices"):
        x[1.5]


# ---- gather / scatter --------------------------------------------------------------------
IDX_G = np.array([[0, 2, 2, 1], [1, 1, 0, 2]])  # repeated entries along dim 0 of a (3, 4) input


def test_gather():
    check_op(lambda m, x, i: m.gather(x, 0, i), M, IDX_G)
    check_op(lambda m, x, i: x.gather(-1, i), M, np.array([[3, 3], [0, 1], [2, 2]]))
    check_op(lambda m, x, i: x.gather(1, i), M, np.array([[1], [0]]))  # smaller than input in dim 0
    check_gradcheck(lambda m, x, i: x.gather(0, i), M, IDX_G)
    check_double_backward(lambda m, x, i: x.gather(0, i) ** 2, M, IDX_G)
    check_op(lambda m, x: x.gather(0, m.tensor([[2, 0]], dtype=m.int32)), M)


PERM = np.array([[2, 0, 1, 2], [0, 1, 2, 0]])  # no repeated position per column: scatter is well defined


def test_scatter_src_and_value():
    src = R.standard_normal((3, 5)).astype(np.float32)  # larger than index: only its corner is used
    check_op(lambda m, x, i, s: m.scatter(x, 0, i, s[:2, :4]), M, PERM, src)
    check_op(lambda m, x, i, s: m.scatter(x, 0, i, s), M, PERM, src, grad=False)  # torch's backward fails here
    check_gradcheck(lambda m, x, i, s: x.scatter(0, i, s), M, PERM, src)
    check_op(lambda m, x, i: x.scatter(0, i, 1.5), M, PERM)
    check_op(lambda m, x, i: x.scatter(0, i, value=-2.0), M, PERM)
    check_op(lambda m, x, i: x.scatter(1, i, 3.0, reduce="add"), M, np.array([[0, 0], [1, 3], [2, 2]]), grad=False)
    check_op(lambda m, x, i: x.scatter(1, i, 3.0, reduce="multiply"), M, np.array([[0, 0], [1, 3], [2, 2]]),
             grad=False)


def test_scatter_add_accumulates():
    src = R.standard_normal((2, 4)).astype(np.float32)
    check_op(lambda m, x, i, s: m.scatter_add(x, 0, i, s), M, IDX_G, src)
    check_op(lambda m, x, i, s: x.scatter_add(1, i, s), M, np.array([[1, 1, 1], [0, 3, 0]]), src[:, :3])
    check_gradcheck(lambda m, x, i, s: x.scatter_add(0, i, s), M, IDX_G, src)
    check_double_backward(lambda m, x, s: (x * x).scatter_add(0, m.tensor(IDX_G), s * s), M, src)


def test_scatter_inplace():
    src = R.standard_normal((2, 4)).astype(np.float32)
    check_op(lambda m, x, i, s: (x * 1).scatter_(0, i, s), M, PERM, src)
    check_op(lambda m, x, i, s: (x * 1).scatter_add_(0, i, s), M, IDX_G, src)
    check_op(lambda m, x, i: (x * 1).scatter_(0, i, 0.5), M, PERM)
    y = rg.zeros(2, 3)
    y.scatter_(1, rg.tensor([[2], [0]]), 1.0)
    assert y.tolist() == [[0, 0, 1], [1, 0, 0]] and y._version == 1


def test_scatter_multiply_has_no_derivative():
    x = rg.ones(3, requires_grad=True)
    y = (x * 1).scatter(0, rg.tensor([1]), 2.0, reduce="multiply")
    with pytest.raises(RuntimeError, match="not implemented"):
        y.sum().backward()


def test_gather_scatter_errors():
    x = rg.zeros(3, 4)
    with pytest.raises(RuntimeError, match="index 5 is out of bounds for dimension 0 with size 3"):
        x.gather(0, rg.tensor([[5]]))
    with pytest.raises(RuntimeError, match="index -1 is out of bounds"):
        x.gather(0, rg.tensor([[-1]]))
    with pytest.raises(RuntimeError, match="Expected dtype int64/int32 for index, but got float32"):
        x.gather(0, rg.tensor([[1.0]]))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        x.gather(0, rg.tensor([1]))
    with pytest.raises(RuntimeError, match="no larger than self"):
        x.gather(0, rg.tensor([[1, 1, 1, 1, 1]]))
    with pytest.raises(RuntimeError, match="index 3 is out of bounds for dimension 0 with size 3"):
        x.scatter(0, rg.tensor([[3]]), 1.0)
    with pytest.raises(RuntimeError, match="same dtype"):
        x.scatter(0, rg.tensor([[1]]), rg.ones(1, 1, dtype=rg.float64))
    with pytest.raises(RuntimeError, match="no larger than src"):
        x.scatter(0, rg.tensor([[1, 0]]), rg.ones(1, 1))
    with pytest.raises(RuntimeError, match="reduce argument must be either add or multiply"):
        x.scatter(0, rg.tensor([[1]]), 1.0, reduce="mean")
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.gather(2, rg.tensor([[1]]))


def test_take_and_take_along_dim():
    idx = np.array([[0, 11, -1], [5, 5, 5]])
    check_op(lambda m, x, i: m.take(x, i), M, idx)
    check_gradcheck(lambda m, x, i: x.take(i), M, idx)
    along = np.array([[0, -1], [3, 3], [1, 2]])
    check_op(lambda m, x, i: m.take_along_dim(x, i, 1), M, along)
    check_op(lambda m, x, i: m.take_along_dim(x, i, dim=0), M, np.array([[2], [0]]))  # broadcasts along dim 1
    check_op(lambda m, x, i: x.take_along_dim(i), M, np.array([[1, 2, 11]]))
    check_gradcheck(lambda m, x, i: x.take_along_dim(i, 1), M, along)
    with pytest.raises(IndexError, match="tried to access index 12 on a tensor of 12 elements"):
        rg.take(rg.zeros(3, 4), rg.tensor([12]))
    with pytest.raises(RuntimeError, match="Expected dtype int64 for index"):
        rg.take(rg.zeros(3, 4), rg.tensor([1], dtype=rg.int32))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        rg.take_along_dim(rg.zeros(3, 4), rg.tensor([[[1]]]), 1)


# ---- index_* -----------------------------------------------------------------------------
def test_index_select():
    check_op(lambda m, x, i: m.index_select(x, 0, i), M, np.array([2, 0, 2]))
    check_op(lambda m, x, i: x.index_select(-1, i), X, np.array([3, 3, 1, 0, 3]))
    check_op(lambda m, x: x.index_select(1, m.tensor(2)), M)
    check_op(lambda m, x: x.index_select(1, m.tensor([2, 0], dtype=m.int32)), M)
    check_gradcheck(lambda m, x, i: x.index_select(1, i), X, np.array([0, 2, 2]))
    check_double_backward(lambda m, x, i: x.index_select(0, i) ** 2, M, np.array([1, 1, 0]))
    x = rg.zeros(3, 4)
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 3"):
        x.index_select(0, rg.tensor([5]))
    with pytest.raises(IndexError, match="index -1 is out of bounds"):
        x.index_select(0, rg.tensor([-1]))
    with pytest.raises(IndexError, match="supposed to be a vector"):
        x.index_select(0, rg.tensor([[1]]))
    with pytest.raises(RuntimeError, match="Expected dtype int64/int32 for index"):
        x.index_select(0, rg.tensor([1.0]))
    with pytest.raises(TypeError, match="argument 'index' must be Tensor"):
        x.index_select(0, [1])


def test_index_add():
    src = R.standard_normal((3, 4)).astype(np.float32)
    idx = np.array([2, 0, 2])
    check_op(lambda m, x, i, s: m.index_add(x, 0, i, s), M, idx, src)
    check_op(lambda m, x, i, s: x.index_add(0, i, s, alpha=-1.5), M, idx, src)
    check_op(lambda m, x, i, s: (x * 1).index_add_(1, i, s[:, :3]), M, np.array([3, 3, 0]), src)
    check_gradcheck(lambda m, x, i, s: x.index_add(0, i, s, alpha=2.0), M, idx, src)
    x = rg.zeros(3, 4)
    with pytest.raises(RuntimeError, match="index 5 is out of bounds"):
        x.index_add(0, rg.tensor([5]), rg.ones(1, 4))
    with pytest.raises(RuntimeError, match=r"source of shape \[2, 4\] does not match: expected \[1, 4\]"):
        x.index_add(0, rg.tensor([1]), rg.ones(2, 4))
    with pytest.raises(RuntimeError, match="same dtype"):
        x.index_add(0, rg.tensor([1]), rg.ones(1, 4, dtype=rg.float64))


def test_index_copy():
    src = R.standard_normal((2, 4)).astype(np.float32)
    check_op(lambda m, x, i, s: m.index_copy(x, 0, i, s), M, np.array([2, 0]), src)
    check_op(lambda m, x, i, s: (x * 1).index_copy_(1, i, s.t()), M, np.array([3, 1, 0, 2]),
             R.standard_normal((4, 3)).astype(np.float32))
    check_gradcheck(lambda m, x, i, s: x.index_copy(0, i, s), M, np.array([1, 2]), src)
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 3"):
        rg.zeros(3, 4).index_copy(0, rg.tensor([5]), rg.ones(1, 4))


def test_index_fill():
    check_op(lambda m, x, i: m.index_fill(x, 1, i, -1.0), M, np.array([0, 3, -1]))
    check_op(lambda m, x, i: (x * 1).index_fill_(0, i, 2.0), M, np.array([2]))
    check_op(lambda m, x, i, v: x.index_fill(1, i, v), M, np.array([1, 1, 2]), np.array(0.5, np.float32))
    check_gradcheck(lambda m, x, i, v: x.index_fill(1, i, v), M, np.array([1, 1, -2]), np.array(0.5))
    v = rg.tensor(2.0, requires_grad=True)
    rg.zeros(3, 4).index_fill(0, rg.tensor([1, 1, -1]), v).sum().backward()
    assert v.grad.item() == 8.0  # two distinct rows of 4, however often they are named
    with pytest.raises(IndexError, match="index 5 is out of bounds"):
        rg.zeros(3, 4).index_fill(0, rg.tensor([5]), 1.0)
    with pytest.raises(RuntimeError, match="0-dimensional value tensor"):
        rg.zeros(3, 4).index_fill(0, rg.tensor([1]), rg.ones(2))


def test_index_put():
    vals = R.standard_normal(3).astype(np.float32)
    idx = np.array([1, 1, 2])
    check_op(lambda m, x, i, v: x.index_put((i,), v, accumulate=True), M, idx, vals[:, None] * np.ones(4, np.float32))
    check_op(lambda m, x, i, v: m.index_put(x, (i, i), v), M, np.array([0, 2, 1]), vals)
    check_op(lambda m, x, i, v: (x * 1).index_put_((i, i), v, accumulate=True), M, idx, vals)
    check_gradcheck(lambda m, x, i, v: x.index_put((i, i), v, accumulate=True), M, idx, vals)
    with pytest.raises(RuntimeError, match="dtypes match"):
        rg.zeros(3).index_put((rg.tensor([1]),), rg.ones(1, dtype=rg.float64))


# ---- masked_* ----------------------------------------------------------------------------
MASK = M > 0.3
ROW_MASK = np.array([True, False, True, True])


def test_masked_fill():
    check_op(lambda m, x, k: m.masked_fill(x, k, -1.0), M, MASK)
    check_op(lambda m, x, k: x.masked_fill(k, 2.0), M, ROW_MASK)  # mask broadcast over rows
    check_op(lambda m, x, k: x.masked_fill(k, 2.0), M[0], MASK)  # input broadcast to the mask's shape
    check_op(lambda m, x, k, v: x.masked_fill(k, v), M, MASK, np.array(1.5, np.float32))
    check_op(lambda m, x, k: (x * 1).masked_fill_(k, 0.0), M, ROW_MASK)
    check_gradcheck(lambda m, x, k, v: x.masked_fill(k, v), M, ROW_MASK, np.array(1.5))
    check_op(lambda m, k: m.zeros(4, dtype=m.int64).masked_fill(k, m.tensor(1.5)), ROW_MASK)
    x = rg.zeros(3, 4)
    with pytest.raises(RuntimeError, match="only supports boolean masks, but got mask with dtype int64"):
        x.masked_fill(rg.tensor([1, 0, 1, 0]), 2.0)
    with pytest.raises(RuntimeError, match=r"size of tensor a \(4\) must match the size of tensor b \(3\)"):
        x.masked_fill(rg.tensor([True, False, True]), 2.0)
    with pytest.raises(RuntimeError, match="0-dimensional value tensor"):
        x.masked_fill(rg.tensor(ROW_MASK), rg.tensor([2.0]))
    with pytest.raises(RuntimeError, match=r"output with shape \[3, 1\] doesn't match the broadcast shape \[3, 4\]"):
        rg.zeros(3, 1).masked_fill_(rg.tensor(ROW_MASK), 2.0)


def test_masked_select():
    check_op(lambda m, x, k: m.masked_select(x, k), M, MASK)
    check_op(lambda m, x, k: x.masked_select(k), M, ROW_MASK)
    check_op(lambda m, x, k: x.masked_select(k), M[:, :1], MASK)
    check_gradcheck(lambda m, x, k: x.masked_select(k), M[:1], MASK)
    with pytest.raises(RuntimeError, match="only supports boolean masks"):
        rg.zeros(4).masked_select(rg.tensor([1, 0, 1, 0]))


def test_masked_scatter():
    src = R.standard_normal((3, 4)).astype(np.float32)
    check_op(lambda m, x, k, s: m.masked_scatter(x, k, s), M, MASK, src)
    check_op(lambda m, x, k, s: (x * 1).masked_scatter_(k, s), M, ROW_MASK, src)
    check_gradcheck(lambda m, x, k, s: x.masked_scatter(k, s), M, ROW_MASK, src)
    with pytest.raises(RuntimeError, match="Number of elements of source"):
        rg.zeros(3, 4).masked_scatter(rg.tensor(ROW_MASK), rg.ones(8))


# ---- nonzero -----------------------------------------------------------------------------
@pytest.mark.parametrize("a", [MASK, M, np.array([0, 3, 0, -1]), np.array(2.0), np.zeros((2, 3))])
def test_nonzero_and_argwhere(a):
    check_op(lambda m, x: m.nonzero(x), a, grad=False)
    check_op(lambda m, x: x.nonzero(as_tuple=True), a, grad=False)
    check_op(lambda m, x: m.argwhere(x), a, grad=False)
    check_op(lambda m, x: m.where(x != 0), a, grad=False)


@pytest.mark.parametrize("shape", [(7,), (7, 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int8, np.bool_])  # int8 wraps; bool ors
def test_row_scatter_add_matches_add_at(rng, shape, dtype):
    """The sorted, reduceat row scatter (long 1-D indices) against np.add.at: repeats, negative indices, a
    target with values already in it."""
    from retrograd import array_extras

    index = rng.integers(-7, 7, 100)
    values = (rng.standard_normal((100,) + shape[1:]) * 10).astype(dtype)
    target = (rng.standard_normal(shape) * 10).astype(dtype)
    expected = target.copy()
    np.add.at(expected, index, values)
    array_extras.scatter_add(np, target, index, values)
    np.testing.assert_allclose(target, expected, rtol=1e-6)


def test_embedding_gradient_with_repeats_matches_torch(rng):
    idx = rng.integers(0, 5, (8, 9))
    check_op(lambda m, w, i: m.nn.functional.embedding(i, w), rng.standard_normal((5, 3)).astype(np.float32), idx)
