"""Reductions, cumulative ops and softmax against PyTorch: values, gradients, dtypes, errors."""
import math

import numpy as np
import pytest
import torch
from helpers import check_double_backward, check_gradcheck, check_op

import retrograd as rg

pytestmark = pytest.mark.on_devices

_rng = np.random.default_rng(0)


def randn(*shape, scale=1.0):
    return np.asarray(_rng.standard_normal(shape) * scale, dtype=np.float32)


def positive(*shape):
    return _rng.uniform(0.5, 2.0, shape).astype(np.float32)


def arr(values, dtype=np.float32):
    return np.array(values, dtype=dtype)


INF = math.inf
A34, A234 = randn(3, 4), randn(2, 3, 4)

# (id, fn, arrays): smooth at the given inputs, so checked against torch and by finite differences
SMOOTH = [
    ("sum_all", lambda m, x: m.sum(x), [A34]),
    ("sum_dim", lambda m, x: m.sum(x, 1), [A34]),
    ("sum_neg_keepdim", lambda m, x: x.sum(-1, keepdim=True), [A234]),
    ("sum_tuple", lambda m, x: m.sum(x, (0, -1)), [A234]),
    ("sum_tuple_keepdim", lambda m, x: m.sum(x, dim=(2, 0), keepdim=True), [A234]),
    ("sum_empty_tuple", lambda m, x: m.sum(x, dim=()), [A34]),
    ("sum_0d", lambda m, x: m.sum(x), [randn()]),
    ("sum_0d_dim", lambda m, x: m.sum(x, 0, keepdim=True), [randn()]),
    ("sum_size1", lambda m, x: m.sum(x, 1), [randn(3, 1, 2)]),
    ("sum_empty", lambda m, x: m.sum(x, 0), [randn(0, 3)]),
    ("sum_f64", lambda m, x: m.sum(x, 1, dtype=m.float64), [A34]),
    ("mean_all", lambda m, x: m.mean(x), [A34]),
    ("mean_dim", lambda m, x: x.mean(-2), [A234]),
    ("mean_tuple_keepdim", lambda m, x: m.mean(x, (0, 1), keepdim=True), [A234]),
    ("mean_0d", lambda m, x: m.mean(x), [randn()]),
    ("prod_all", lambda m, x: m.prod(x), [randn(2, 3)]),
    ("prod_dim", lambda m, x: m.prod(x, 1), [A34]),
    ("prod_neg_keepdim", lambda m, x: x.prod(-1, keepdim=True), [A234]),
    ("prod_one_zero", lambda m, x: m.prod(x, 1), [arr([[1.5, 0.0, 2.0], [0.5, -1.0, 3.0]])]),
    ("prod_two_zeros", lambda m, x: m.prod(x, 1), [arr([[1.5, 0.0, 0.0, 2.0], [0.0, -1.0, 3.0, 0.5]])]),
    ("prod_all_zero_once", lambda m, x: m.prod(x), [arr([[1.5, 0.0], [-2.0, 3.0]])]),
    ("prod_0d", lambda m, x: m.prod(x), [randn()]),
    ("cumsum", lambda m, x: m.cumsum(x, 1), [A34]),
    ("cumsum_neg", lambda m, x: x.cumsum(-3), [A234]),
    ("cumsum_0d", lambda m, x: m.cumsum(x, 0), [randn()]),
    ("cumsum_f64", lambda m, x: m.cumsum(x, 0, dtype=m.float64), [A34]),
    ("cumprod", lambda m, x: m.cumprod(x, 1), [A34]),
    ("cumprod_neg", lambda m, x: x.cumprod(-1), [A234]),
    ("cumprod_zeros", lambda m, x: m.cumprod(x, 1),
     [arr([[2.0, 0.0, 3.0, 0.0, 4.0], [1.0, 2.0, 3.0, 0.5, 0.0], [0.0, 1.5, 2.0, 1.0, 2.0], [1, 2, 3, 4, 0.5]])]),
    ("cumprod_0d", lambda m, x: m.cumprod(x, 0), [randn()]),
    ("var_all", lambda m, x: m.var(x), [A34]),
    ("var_dim", lambda m, x: m.var(x, 1), [A34]),
    ("var_tuple_keepdim", lambda m, x: m.var(x, (0, 2), keepdim=True), [A234]),
    ("var_correction0", lambda m, x: m.var(x, -1, correction=0), [A234]),
    ("var_correction2", lambda m, x: x.var(0, correction=2), [A34]),
    ("var_unbiased_false", lambda m, x: m.var(x, 1, unbiased=False), [A34]),
    ("var_positional_unbiased", lambda m, x: m.var(x, 1, False, True), [A34]),
    ("var_bool_only", lambda m, x: m.var(x, False), [A34]),
    ("std_all", lambda m, x: m.std(x), [A34]),
    ("std_dim", lambda m, x: x.std(1, keepdim=True), [A34]),
    ("std_tuple", lambda m, x: m.std(x, (0, 1), correction=0), [A234]),
    ("std_unbiased", lambda m, x: m.std(x, 0, True), [A34]),
    ("var_mean", lambda m, x: m.var_mean(x, 1), [A34]),
    ("std_mean", lambda m, x: m.std_mean(x, (0, 2), keepdim=True, correction=0), [A234]),
    ("norm_default", lambda m, x: m.norm(x), [A34]),
    ("norm_method", lambda m, x: x.norm(), [A234]),
    ("norm_dim", lambda m, x: m.norm(x, dim=1), [A34]),
    ("norm_fro_tuple", lambda m, x: m.norm(x, "fro", (0, 2), keepdim=True), [A234]),
    ("norm_p1", lambda m, x: m.norm(x, 1, dim=-1), [A34]),
    ("norm_p3", lambda m, x: m.norm(x, 3, dim=0), [A34]),
    ("norm_p1_5", lambda m, x: m.norm(x, 1.5), [A34]),
    ("norm_p_half", lambda m, x: m.norm(x, 0.5, 1), [A34]),
    ("norm_p_neg1", lambda m, x: m.norm(x, -1, 1), [A34]),
    ("norm_inf", lambda m, x: m.norm(x, INF, 1), [A34]),
    ("norm_neg_inf", lambda m, x: m.norm(x, -INF), [A34]),
    ("norm_p0", lambda m, x: m.norm(x, 0, 1), [A34]),
    ("norm_dtype", lambda m, x: m.norm(x, dim=1, dtype=m.float64), [A34]),
    ("norm_0d", lambda m, x: m.norm(x), [randn()]),
    ("logsumexp", lambda m, x: m.logsumexp(x, 1), [A34]),
    ("logsumexp_tuple_keepdim", lambda m, x: x.logsumexp((0, 2), keepdim=True), [A234]),
    ("logsumexp_neg", lambda m, x: m.logsumexp(x, -1), [A234]),
    ("logsumexp_large", lambda m, x: m.logsumexp(x, 1), [randn(3, 4, scale=1000.0)]),
    ("logsumexp_0d", lambda m, x: m.logsumexp(x, 0), [randn()]),
    ("softmax", lambda m, x: m.softmax(x, 1), [A34]),
    ("softmax_neg", lambda m, x: x.softmax(-1), [A234]),
    ("softmax_dim0", lambda m, x: m.softmax(x, 0), [A234]),
    ("softmax_large", lambda m, x: m.softmax(x, 1), [randn(3, 4, scale=1000.0)]),
    ("softmax_dtype", lambda m, x: m.softmax(x, 1, dtype=m.float64), [A34]),
    ("softmax_0d", lambda m, x: m.softmax(x, 0), [randn()]),
    ("softmax_size1", lambda m, x: m.softmax(x, 1), [randn(3, 1)]),
    ("log_softmax", lambda m, x: m.log_softmax(x, 1), [A34]),
    ("log_softmax_neg", lambda m, x: x.log_softmax(-3), [A234]),
    ("log_softmax_large", lambda m, x: m.log_softmax(x, 1), [randn(3, 4, scale=1000.0)]),
    ("log_softmax_dtype", lambda m, x: m.log_softmax(x, 0, dtype=m.float64), [A34]),
    ("log_softmax_0d", lambda m, x: m.log_softmax(x, -1), [randn()]),
    ("max_dim", lambda m, x: m.max(x, 1), [A34]),
    ("max_dim_keepdim", lambda m, x: x.max(-1, keepdim=True), [A234]),
    ("min_dim", lambda m, x: m.min(x, dim=0), [A234]),
    ("max_all", lambda m, x: m.max(x), [A34]),
    ("min_all", lambda m, x: x.min(), [A234]),
    ("max_0d_dim", lambda m, x: m.max(x, 0), [randn()]),
    ("max_binary", lambda m, x, y: m.max(x, y), [A34, randn(4)]),
    ("min_binary", lambda m, x, y: m.min(x, y), [A34, randn(3, 1)]),
    ("amax_all", lambda m, x: m.amax(x), [A34]),
    ("amax_tuple", lambda m, x: m.amax(x, (0, 2)), [A234]),
    ("amin_keepdim", lambda m, x: x.amin(1, keepdim=True), [A34]),
]

# non-smooth points (ties, zero vectors, infinities): checked against torch only
SPECIAL = [
    ("max_all_ties", lambda m, x: m.max(x), [arr([[1.0, 3.0], [3.0, 3.0]])]),
    ("min_all_ties", lambda m, x: m.min(x), [arr([1.0, -3.0, -3.0])]),
    ("max_dim_ties", lambda m, x: m.max(x, 1), [arr([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])]),
    ("amax_ties", lambda m, x: m.amax(x, 1), [arr([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])]),
    ("amin_ties_tuple", lambda m, x: m.amin(x, (0, 1)), [arr([[1.0, 3.0], [1.0, 1.0]])]),
    ("norm_zero_vector", lambda m, x: m.norm(x, dim=1), [arr([[0.0, 0.0], [3.0, 4.0]])]),
    ("norm_zero_p3", lambda m, x: m.norm(x, 3, dim=1), [arr([[0.0, 0.0], [3.0, -4.0]])]),
    ("norm_zero_entries_p_half", lambda m, x: m.norm(x, 0.5), [arr([0.0, 1.0, 2.0])]),
    ("norm_zero_entries_p1", lambda m, x: m.norm(x, 1), [arr([0.0, 1.0, -2.0])]),
    ("norm_inf_ties", lambda m, x: m.norm(x, INF), [arr([1.0, -3.0, 3.0])]),
    ("std_constant", lambda m, x: m.std(x, 1), [arr([[1.0, 1.0, 1.0], [1.0, 2.0, 4.0]])]),
    ("logsumexp_neg_inf", lambda m, x: m.logsumexp(x, 1), [arr([[-INF, 0.0, 1.0], [-INF, -INF, 2.0]])]),
    ("softmax_neg_inf", lambda m, x: m.softmax(x, 1), [arr([[-INF, 0.0, 1.0], [-INF, -INF, 2.0]])]),
    ("log_softmax_neg_inf", lambda m, x: m.log_softmax(x, 1), [arr([[-INF, 0.0, 1.0]])]),
    ("softmax_empty", lambda m, x: m.softmax(x, 0), [randn(0, 3)]),
    ("logsumexp_empty", lambda m, x: m.logsumexp(x, 0), [randn(0, 3)]),
    ("max_nan", lambda m, x: m.max(x, 0), [arr([2.0, np.nan, 0.0, np.nan])]),
    ("max_empty_other_dim", lambda m, x: m.max(x, 1), [randn(0, 3)]),
    ("mean_empty", lambda m, x: m.mean(x, 0), [randn(0, 3)]),
]


def _ids(cases):
    return [c[0] for c in cases]


@pytest.mark.parametrize("name,fn,arrays", SMOOTH + SPECIAL, ids=_ids(SMOOTH + SPECIAL))
def test_matches_torch(name, fn, arrays):
    check_op(fn, *arrays)


@pytest.mark.parametrize("name,fn,arrays", SMOOTH, ids=_ids(SMOOTH))
def test_gradcheck(name, fn, arrays):
    if "large" in name:
        arrays = [a / 1000 for a in arrays]
    check_gradcheck(fn, *arrays)


DOUBLE = [
    ("softmax", lambda m, x: m.softmax(x, 1), [A34]),
    ("softmax_dim0", lambda m, x: m.softmax(x, 0), [A234]),
    ("log_softmax", lambda m, x: m.log_softmax(x, -1), [A234]),
    ("log_softmax_dim0", lambda m, x: m.log_softmax(x, 0), [A34]),
    ("logsumexp", lambda m, x: m.logsumexp(x, 1), [A34]),
    ("logsumexp_tuple", lambda m, x: m.logsumexp(x, (0, 2), keepdim=True), [A234]),
    ("sum", lambda m, x: (m.sum(x, 1) ** 2), [A34]),
    ("mean", lambda m, x: (m.mean(x, 0) ** 2), [A34]),
    ("var", lambda m, x: m.var(x, 1), [A34]),
    ("std", lambda m, x: m.std(x, (0, 2)), [A234]),
    ("prod", lambda m, x: m.prod(x, 1), [A34]),
    ("prod_one_zero", lambda m, x: m.prod(x, 1), [arr([[1.5, 0.0, 2.0], [0.5, -1.0, 3.0]])]),
    ("prod_two_zeros", lambda m, x: m.prod(x, 1), [arr([[1.5, 0.0, 0.0, 2.0], [0.0, -1.0, 0.0, 0.0]])]),
    ("cumsum", lambda m, x: m.cumsum(x, 1) ** 2, [A34]),
    ("cumprod", lambda m, x: m.cumprod(x, 1), [A34]),
    ("norm", lambda m, x: m.norm(x, dim=1), [A34]),
    ("norm_p3", lambda m, x: m.norm(x, 3), [A34]),
    ("norm_inf", lambda m, x: m.norm(x, INF, 1) ** 2, [A34]),
    ("max_dim", lambda m, x: m.max(x, 1).values ** 2, [A34]),
    ("amax", lambda m, x: m.amax(x, 0) ** 2, [A34]),
]


@pytest.mark.parametrize("name,fn,arrays", DOUBLE, ids=_ids(DOUBLE))
def test_double_backward(name, fn, arrays):
    check_double_backward(fn, *arrays)


def test_first_derivative_of_cumprod_with_zeros_is_exact():
    check_gradcheck(lambda m, x: m.cumprod(x, 0), arr([0.0, 2.0, 0.0, 3.0]))
    check_gradcheck(lambda m, x: m.prod(x), arr([0.0, 2.0, 0.0, 3.0, 0.0]))


# ---- dtypes ---------------------------------------------------------------------------------
@pytest.mark.parametrize("np_dtype", [np.int32, np.int64, np.bool_, np.uint8])
@pytest.mark.parametrize("fn", [lambda m, x: m.sum(x), lambda m, x: m.sum(x, 0), lambda m, x: m.prod(x, 1),
                                lambda m, x: m.prod(x), lambda m, x: m.cumsum(x, 1), lambda m, x: m.cumprod(x, 0)],
                         ids=["sum", "sum_dim", "prod_dim", "prod", "cumsum", "cumprod"])
def test_integer_accumulation_gives_int64(fn, np_dtype):
    out = check_op(fn, _rng.integers(0, 3, (2, 3)).astype(np_dtype))[0]
    assert out.dtype is rg.int64


@pytest.mark.parametrize("fn", [lambda m, x: m.sum(x, 1, dtype=m.float32), lambda m, x: m.cumsum(x, 0, dtype=m.float64),
                                lambda m, x: m.prod(x, dtype=m.int32), lambda m, x: m.mean(x, 0, dtype=m.float64),
                                lambda m, x: m.sum(x, dtype=m.int16)])
def test_dtype_argument(fn):
    check_op(fn, _rng.integers(-3, 3, (2, 3)).astype(np.int32))


def test_float_dtype_argument_keeps_grad_dtype():
    x = rg.tensor(A34, requires_grad=True)
    out = rg.sum(x, dtype=rg.float64)
    assert out.dtype is rg.float64
    out.backward()
    assert x.grad.dtype is rg.float32


@pytest.mark.parametrize("fn", [lambda m, x: m.max(x), lambda m, x: m.max(x, 1), lambda m, x: m.amin(x, 0),
                                lambda m, x: m.argmax(x, 1), lambda m, x: m.argmin(x)],
                         ids=["max", "max_dim", "amin", "argmax", "argmin"])
@pytest.mark.parametrize("np_dtype", [np.int32, np.int64, np.float64])
def test_extrema_keep_dtype(fn, np_dtype):
    check_op(fn, _rng.permutation(12).reshape(3, 4).astype(np_dtype))


def test_bool_max():
    check_op(lambda m, x: (m.max(x), m.max(x, 0)), arr([[True, False], [False, False]], np.bool_))


def test_logsumexp_of_integers_is_float():
    out = check_op(lambda m, x: m.logsumexp(x, 0), arr([1, 2, 3], np.int64))[0]
    assert out.dtype is rg.float32


# ---- argmax, all/any, count_nonzero -----------------------------------------------------------
ARG = [
    lambda m, x: m.argmax(x),
    lambda m, x: m.argmin(x),
    lambda m, x: m.argmax(x, 1),
    lambda m, x: x.argmin(-1, keepdim=True),
    lambda m, x: m.argmax(x, keepdim=True),
    lambda m, x: m.argmax(x, dim=0),
]


@pytest.mark.parametrize("fn", ARG)
@pytest.mark.parametrize("a", [A34, A234, arr([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]), arr([2.0, np.nan, 1.0])],
                         ids=["2d", "3d", "ties", "nan"])
def test_argmax_argmin(fn, a):
    try:
        expected = fn(torch, torch.tensor(a))
    except IndexError:
        with pytest.raises(IndexError):
            fn(rg, rg.tensor(a))
        return
    out = fn(rg, rg.tensor(a))
    assert out.dtype is rg.int64
    np.testing.assert_array_equal(out.cpu().numpy(), expected.numpy())


def test_argmax_0d():
    check_op(lambda m, x: (m.argmax(x), m.argmax(x, 0), m.argmin(x, keepdim=True)), randn(), grad=False)


LOGICAL = [
    lambda m, x: m.all(x),
    lambda m, x: m.any(x),
    lambda m, x: m.all(x, 1),
    lambda m, x: x.any(-1, keepdim=True),
    lambda m, x: m.all(x, (0, 1)),
    lambda m, x: m.any(x, dim=(0, 2), keepdim=True),
    lambda m, x: m.count_nonzero(x),
    lambda m, x: m.count_nonzero(x, 1),
    lambda m, x: x.count_nonzero((0, -1)),
]


@pytest.mark.parametrize("fn", LOGICAL)
@pytest.mark.parametrize("np_dtype", [np.float32, np.int64, np.bool_, np.uint8])
def test_logical_reductions(fn, np_dtype):
    a = (_rng.integers(0, 2, (2, 3, 4)) * _rng.integers(1, 3, (2, 3, 4))).astype(np_dtype)
    a[0, 0] = 1
    check_op(fn, a, grad=False)


def test_logical_reductions_edge_cases():
    check_op(lambda m, x: (m.all(x), m.any(x), m.all(x, 0), m.any(x, 1), m.count_nonzero(x, 0)),
             randn(0, 3), grad=False)
    check_op(lambda m, x: (m.all(x), m.any(x, 0), m.count_nonzero(x)), arr(np.nan), grad=False)
    check_op(lambda m, x: (m.all(x, dim=()), m.any(x, ())), arr([[0.0, 1.0]]), grad=False)


# ---- numerics --------------------------------------------------------------------------------
def test_softmax_is_stable_and_normalised():
    x = rg.tensor([[1000.0, 1001.0, -1000.0]])
    y = rg.softmax(x, 1)
    assert np.isfinite(y.cpu().numpy()).all()
    np.testing.assert_allclose(y.sum(1).cpu().numpy(), [1.0], rtol=1e-6)
    assert np.isfinite(rg.log_softmax(x, 1).cpu().numpy()).all()
    assert np.isfinite(rg.logsumexp(x, 1).cpu().numpy()).all()


def test_softmax_second_derivative_through_create_graph():
    x = rg.tensor(A34, requires_grad=True)
    (g,) = rg.autograd.grad((rg.softmax(x, 1) * rg.tensor(np.eye(3, 4, dtype=np.float32))).sum(), x,
                            create_graph=True)
    assert g.requires_grad and g.grad_fn is not None


# ---- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("op,call", [
    ("sum", lambda x: rg.sum(x, 2)), ("mean", lambda x: rg.mean(x, (0, -3))), ("prod", lambda x: rg.prod(x, 5)),
    ("cumsum", lambda x: rg.cumsum(x, 2)), ("cumprod", lambda x: rg.cumprod(x, -3)), ("var", lambda x: rg.var(x, 2)),
    ("std", lambda x: rg.std(x, (0, 3))), ("max", lambda x: rg.max(x, 2)), ("min", lambda x: x.min(-3)),
    ("amax", lambda x: rg.amax(x, 2)), ("argmax", lambda x: rg.argmax(x, 2)), ("norm", lambda x: rg.norm(x, dim=4)),
    ("logsumexp", lambda x: rg.logsumexp(x, 2)), ("softmax", lambda x: rg.softmax(x, 2)),
    ("log_softmax", lambda x: rg.log_softmax(x, -3)), ("all", lambda x: rg.all(x, 2)),
    ("count_nonzero", lambda x: rg.count_nonzero(x, 2)),
])
def test_dim_out_of_range_names_the_op(op, call):
    with pytest.raises(IndexError, match=rf"{op}.*Dimension out of range"):
        call(rg.tensor(A34))


def test_errors():
    x = rg.tensor(A34)
    ints = rg.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="mean.*floating point.*int64"):
        rg.mean(ints)
    with pytest.raises(RuntimeError, match="var.*floating point"):
        rg.var(ints)
    with pytest.raises(RuntimeError, match="std.*floating point"):
        ints.std()
    with pytest.raises(RuntimeError, match="norm.*floating point.*int64"):
        rg.norm(ints)
    with pytest.raises(NotImplementedError, match="softmax.*int64"):
        rg.softmax(ints, 0)
    with pytest.raises(NotImplementedError, match="log_softmax.*int64"):
        rg.log_softmax(ints, 0)
    with pytest.raises(RuntimeError, match="argmax.*bool"):
        rg.argmax(rg.tensor([True, False]))
    with pytest.raises(RuntimeError, match=r"max\(\): Expected reduction dim to be specified"):
        rg.max(rg.zeros(0))
    with pytest.raises(RuntimeError, match=r"amin\(\): Expected reduction dim to be specified"):
        rg.amin(rg.zeros(0, 2))
    with pytest.raises(IndexError, match=r"argmin\(\): Expected reduction dim to be specified"):
        rg.argmin(rg.zeros(0))
    with pytest.raises(IndexError, match=r"max\(\): Expected reduction dim 0 to have non-zero size"):
        rg.max(rg.zeros(0, 3), 0)
    with pytest.raises(IndexError, match=r"amax\(\): Expected reduction dim 1 to have non-zero size"):
        rg.amax(rg.zeros(2, 0), 1)
    with pytest.raises(TypeError, match="prod.*dim.*int"):
        rg.prod(x, (0, 1))
    with pytest.raises(TypeError, match="var.*unbiased.*correction"):
        rg.var(x, 1, unbiased=True, correction=1)
    with pytest.raises(RuntimeError, match="sum.*multiple times"):
        rg.sum(x, (1, -1))
    with pytest.raises(RuntimeError, match="norm.*order 'abc'"):
        rg.norm(x, "abc")
    with pytest.raises(NotImplementedError, match="nuc"):
        rg.norm(x, "nuc")
    with pytest.raises(RuntimeError, match="norm.*Frobenius.*2 dims"):
        rg.norm(rg.zeros(2, 2, 2), "fro", (0, 1, 2))
    with pytest.raises(RuntimeError, match="norm.*inf norm of an empty"):
        rg.norm(rg.zeros(0), INF)
    with pytest.raises(TypeError, match="maximum.*Tensor"):
        rg.max(x, other=2.0)


def test_max_min_return_types():
    x = rg.tensor(A34)
    r = rg.max(x, 1)
    assert type(r).__name__ == "max" and r.values is r[0] and r.indices is r[1]
    assert type(rg.min(x, 1)).__name__ == "min"
    values, indices = x.max(dim=0, keepdim=True)
    assert values.shape == (1, 4) and indices.dtype is rg.int64


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int32])
@pytest.mark.parametrize("shape, axes", [((16, 4, 8, 64), (-1,)), ((640, 33), (1,)), ((3000, 7), (0,)),
                                         ((50, 60, 7), (1, 2)), ((50, 60, 7), (0, 1)), ((50, 60, 7), (0, 2)),
                                         ((20000,), (0,)), ((1, 20000), (0,)), ((20000, 1), (1,)), ((5, 6), (0, 1)),
                                         ((0, 4), (1,)), ((16, 8, 30, 30), (0, 2, 3)), ((16, 8, 30, 30), (0, 3)),
                                         ((16, 8, 30, 30), (0, 1, 2, 3)), ((40000, 1), (0,)), ((16, 8, 300), ())])
def test_sum_keep_matches_numpy_sum(shape, axes, dtype):
    """The row sums of the fast paths (BLAS where it applies): NumPy's shape and dtype, its values within
    rounding, for contiguous arrays and views."""
    from retrograd.array_extras import sum_keep

    a = (np.random.default_rng(0).standard_normal(shape) * 4).astype(dtype)
    for arr in (a, a[..., ::-1]):
        got, want = sum_keep(np, arr, axes), np.sum(arr, axis=axes, keepdims=True)
        assert got.shape == want.shape and got.dtype == want.dtype
        exact = np.sum(arr.astype(np.float64), axis=axes, keepdims=True)
        tol = 1e-12 if dtype == np.float64 else 1e-2 if dtype == np.float16 else 1e-5
        np.testing.assert_allclose(got, exact, rtol=tol, atol=tol * np.sqrt(arr.size or 1))


def test_sum_keep_propagates_inf_and_nan():
    from retrograd.array_extras import sum_keep

    a = np.ones((4096, 8), np.float32)
    a[0, 1], a[1, 2], a[2, 3], a[2, 4] = np.inf, np.nan, np.inf, -np.inf
    np.testing.assert_array_equal(sum_keep(np, a, (1,))[:4, 0], [np.inf, np.nan, np.nan, 8])
    np.testing.assert_array_equal(sum_keep(np, a, (0,))[0, :6], [4096, np.inf, np.nan, np.inf, -np.inf, 4096])


def test_row_indexed_take_and_put_match_numpy():
    """array_extras' take/put along the columns of a 2-d array (plain indexing on NumPy) against NumPy's."""
    from retrograd import array_extras

    a = np.random.default_rng(1).standard_normal((5, 7)).astype(np.float32)
    index = np.array([[0, -1], [6, 6], [3, 2], [-7, 1], [5, 0]])
    for axis in (1, -1):
        np.testing.assert_array_equal(array_extras.take_along_axis(np, a, index, axis),
                                      np.take_along_axis(a, index, axis))
        want = np.zeros(a.shape, np.float32)
        np.put_along_axis(want, index, a[:, :2], axis)
        np.testing.assert_array_equal(array_extras.put_along_axis(np, a.shape, index, a[:, :2], axis), want)
