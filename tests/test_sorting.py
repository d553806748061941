"""sort, argsort, topk, kthvalue and median against PyTorch: values, indices, gradients, errors."""
import numpy as np
import pytest
import torch
from helpers import _to_numpy, check_double_backward, check_gradcheck, check_op

import retrograd as rg

pytestmark = pytest.mark.on_devices

_rng = np.random.default_rng(1)


def distinct(*shape):
    """Distinct values (so indices are unique), in random order."""
    n = int(np.prod(shape))
    return np.asarray(_rng.permutation(n).reshape(shape) / 4 - 1, dtype=np.float32)


def arr(values, dtype=np.float32):
    return np.array(values, dtype=dtype)


A5, A34, A234 = distinct(5), distinct(3, 4), distinct(2, 3, 4)
TIES = arr([[2.0, 1.0, 2.0, 1.0, 2.0, 3.0], [0.0, 0.0, 0.0, 1.0, 1.0, 0.0]])

CASES = [
    ("sort_default", lambda m, x: m.sort(x), [A34]),
    ("sort_dim0", lambda m, x: m.sort(x, 0), [A34]),
    ("sort_descending", lambda m, x: x.sort(dim=1, descending=True), [A234]),
    ("sort_neg_dim", lambda m, x: m.sort(x, -3, True), [A234]),
    ("sort_1d", lambda m, x: m.sort(x), [A5]),
    ("sort_0d", lambda m, x: m.sort(x, 0), [distinct()]),
    ("sort_size1", lambda m, x: m.sort(x, 1), [distinct(3, 1)]),
    ("topk", lambda m, x: m.topk(x, 2), [A34]),
    ("topk_smallest", lambda m, x: m.topk(x, 3, largest=False), [A34]),
    ("topk_dim0", lambda m, x: x.topk(2, dim=0), [A234]),
    ("topk_neg_dim", lambda m, x: m.topk(x, 2, -2, False), [A234]),
    ("topk_all", lambda m, x: m.topk(x, 4), [A34]),
    ("topk_all_smallest", lambda m, x: m.topk(x, 4, largest=False), [A34]),
    ("topk_one", lambda m, x: m.topk(x, 1), [A5]),
    ("topk_0d", lambda m, x: m.topk(x, 1), [distinct()]),
    ("kthvalue", lambda m, x: m.kthvalue(x, 2), [A34]),
    ("kthvalue_dim0_keepdim", lambda m, x: x.kthvalue(3, 0, True), [A34]),
    ("kthvalue_first_last", lambda m, x: (m.kthvalue(x, 1, -1).values, *m.kthvalue(x, 4, -1)), [A234]),
    ("kthvalue_0d", lambda m, x: m.kthvalue(x, 1), [distinct()]),
    ("median_dim", lambda m, x: m.median(x, 1), [A34]),
    ("median_dim_odd", lambda m, x: x.median(1, keepdim=True), [A234]),
    ("median_dim0", lambda m, x: m.median(x, dim=0), [A234]),
    ("median_0d_dim", lambda m, x: m.median(x, 0), [distinct()]),
    ("median_all_even", lambda m, x: m.median(x), [A34]),
    ("median_all_odd", lambda m, x: x.median(), [A5]),
]


def _ids(cases):
    return [c[0] for c in cases]


@pytest.mark.parametrize("name,fn,arrays", CASES, ids=_ids(CASES))
def test_matches_torch(name, fn, arrays):
    check_op(fn, *arrays)


@pytest.mark.parametrize("name,fn,arrays", CASES, ids=_ids(CASES))
def test_gradcheck(name, fn, arrays):
    check_gradcheck(fn, *arrays)


SPECIAL = [
    ("sort_stable_ties", lambda m, x: m.sort(x, stable=True), [TIES]),
    ("sort_stable_ties_descending", lambda m, x: m.sort(x, dim=1, descending=True, stable=True), [TIES]),
    ("sort_stable_ties_dim0", lambda m, x: m.sort(x, stable=True, dim=0, descending=True), [TIES.T.copy()]),
    ("sort_nan", lambda m, x: m.sort(x), [arr([2.0, np.nan, 1.0, -np.inf, 0.0])]),
    ("sort_nan_descending", lambda m, x: m.sort(x, descending=True), [arr([2.0, np.nan, 1.0, np.inf, 0.0])]),
    ("topk_nan", lambda m, x: m.topk(x, 2), [arr([2.0, np.nan, 0.0, 1.0])]),
    ("topk_nan_smallest", lambda m, x: m.topk(x, 2, largest=False), [arr([2.0, np.nan, 0.0, 1.0])]),
    ("kthvalue_nan", lambda m, x: m.kthvalue(x, 1), [arr([2.0, np.nan, 0.0, np.nan])]),
    ("median_dim_nan", lambda m, x: m.median(x, 1), [arr([[2.0, np.nan, 0.0, np.nan], [1.0, 3.0, 2.0, 0.0]])]),
    ("median_all_nan", lambda m, x: m.median(x), [arr([2.0, np.nan, 0.0])]),
    ("median_all_ties", lambda m, x: m.median(x), [arr([1.0, 2.0, 2.0, 3.0])]),
    ("median_all_ties_2d", lambda m, x: m.median(x), [arr([[1.0, 2.0, 5.0], [2.0, 0.0, 2.0]])]),
    ("sort_empty", lambda m, x: m.sort(x, 0), [distinct(0, 3)]),
    ("topk_zero", lambda m, x: m.topk(x, 0), [A34]),
    ("topk_empty", lambda m, x: m.topk(x, 0, 0), [distinct(0, 3)]),
]


@pytest.mark.parametrize("name,fn,arrays", SPECIAL, ids=_ids(SPECIAL))
def test_special_values(name, fn, arrays):
    check_op(fn, *arrays)


@pytest.mark.parametrize("fn", [lambda m, x: m.sort(x, 1, True).values ** 2,
                                lambda m, x: m.topk(x, 2).values ** 2,
                                lambda m, x: m.kthvalue(x, 2, 0).values ** 2,
                                lambda m, x: m.median(x, 1).values ** 2],
                         ids=["sort", "topk", "kthvalue", "median"])
def test_double_backward(fn):
    check_double_backward(fn, A34)


@pytest.mark.parametrize("np_dtype", [np.int32, np.int64, np.float64, np.uint8])
def test_integer_and_double_inputs(np_dtype):
    a = _rng.permutation(12).reshape(3, 4).astype(np_dtype)
    check_op(lambda m, x: (*m.sort(x, 1, True), m.argsort(x, 0), *m.topk(x, 2), *m.kthvalue(x, 2),
                           *m.median(x, 1), m.median(x)), a)


def test_bool_sort():
    check_op(lambda m, x: (*m.sort(x, stable=True), m.argsort(x, stable=True)), arr([True, False, True], np.bool_))


ARGSORT = [
    lambda m, x: m.argsort(x),
    lambda m, x: x.argsort(0),
    lambda m, x: m.argsort(x, dim=-1, descending=True),
]
STABLE_ARGSORT = [
    lambda m, x: m.argsort(x, dim=1, stable=True),
    lambda m, x: m.argsort(x, stable=True, dim=0, descending=True),
]


# torch's default (unstable) sort orders ties arbitrarily: ties only with stable=True
@pytest.mark.parametrize("fn,a", [(f, a) for f in ARGSORT for a in (A34, distinct())]
                         + [(f, a) for f in STABLE_ARGSORT for a in (A34, TIES)])
def test_argsort(fn, a):
    out = check_op(fn, a, grad=False)[0]
    assert out.dtype is rg.int64


def test_results_are_named_tuples():
    x = rg.tensor(A34)
    for name, r in [("sort", rg.sort(x)), ("topk", rg.topk(x, 2)), ("kthvalue", rg.kthvalue(x, 1)),
                    ("median", rg.median(x, 0))]:
        assert type(r).__name__ == name
        values, indices = r
        assert r.values is values and r.indices is indices and indices.dtype is rg.int64
    assert isinstance(rg.median(x), rg.Tensor)


def test_sort_gradient_scatters_back():
    x = rg.tensor([3.0, 1.0, 2.0], requires_grad=True)
    (rg.sort(x).values * rg.tensor([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_array_equal(_to_numpy(x.grad), [100.0, 1.0, 10.0])


def test_topk_unsorted_has_the_same_elements():
    x = rg.tensor(A234)
    values, indices = rg.topk(x, 2, 1, sorted=False)
    expected = torch.topk(torch.tensor(A234), 2, 1).values.numpy()
    np.testing.assert_array_equal(np.sort(_to_numpy(values), 1), np.sort(expected, 1))
    np.testing.assert_array_equal(np.take_along_axis(A234, _to_numpy(indices), 1), _to_numpy(values))


@pytest.mark.parametrize("op,call", [
    ("sort", lambda x: rg.sort(x, 2)), ("argsort", lambda x: rg.argsort(x, -3)), ("topk", lambda x: rg.topk(x, 1, 2)),
    ("kthvalue", lambda x: rg.kthvalue(x, 1, 5)), ("median", lambda x: rg.median(x, -3)),
])
def test_dim_out_of_range_names_the_op(op, call):
    with pytest.raises(IndexError, match=rf"{op}.*Dimension out of range"):
        call(rg.tensor(A34))


def test_errors():
    x = rg.tensor(A34)
    with pytest.raises(RuntimeError, match=r"topk.*k out of range.*k=5.*size 4"):
        rg.topk(x, 5)
    with pytest.raises(RuntimeError, match=r"topk.*k out of range"):
        x.topk(-1)
    with pytest.raises(RuntimeError, match="topk.*bool"):
        rg.topk(rg.tensor([True, False]), 1)
    with pytest.raises(RuntimeError, match=r"kthvalue\(\).*k=0 out of range for dimension 1"):
        rg.kthvalue(x, 0)
    with pytest.raises(RuntimeError, match=r"kthvalue\(\).*k=5 out of range"):
        rg.kthvalue(x, 5, 1)
    with pytest.raises(IndexError, match=r"median\(\): Expected reduction dim 0 to have non-zero size"):
        rg.median(rg.zeros(0, 3), 0)
    with pytest.raises(IndexError, match=r"kthvalue\(\): Expected reduction dim 1 to have non-zero size"):
        rg.kthvalue(rg.zeros(2, 0), 1, 1)
