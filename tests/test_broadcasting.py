"""Broadcasting of the elementwise ops: random compatible shapes against PyTorch, and clear errors otherwise."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import retrograd as rg
from tests.helpers import check_op, make_inputs

pytestmark = pytest.mark.on_devices

SETTINGS = settings(max_examples=60, deadline=None)


def shapes(n):
    return mutually_broadcastable_shapes(num_shapes=n, min_dims=0, max_dims=4, min_side=1, max_side=4)


BINARY = {
    "add": lambda m, a, b: a + b,
    "sub": lambda m, a, b: m.sub(a, b, alpha=2),
    "mul": lambda m, a, b: a * b,
    "div": lambda m, a, b: a / b,
    "pow": lambda m, a, b: m.pow(a, b),
    "maximum": lambda m, a, b: m.maximum(a, b),
    "minimum": lambda m, a, b: m.minimum(a, b),
}


def _arrays(seed, shape_list, positive=()):
    gen = np.random.default_rng(seed)
    out = []
    for i, s in enumerate(shape_list):
        a = gen.uniform(0.5, 2.0, s) if i in positive else gen.uniform(-2.0, 2.0, s)
        out.append(np.asarray(a, dtype=np.float32))
    return out


def _check_grad_shapes(fn, arrays):
    rs, _ = make_inputs(arrays)
    fn(rg, *rs).sum().backward()
    for r, a in zip(rs, arrays):
        if r.grad is not None:  # presence is checked against torch by check_op
            assert tuple(r.grad.shape) == a.shape and r.grad.dtype is rg.float32


@pytest.mark.parametrize("name", list(BINARY))
@SETTINGS
@given(bs=shapes(2), seed=st.integers(0, 2**32 - 1))
def test_binary_broadcasting_matches_pytorch(name, bs, seed):
    # positive base for pow, divisor away from zero for div
    arrays = _arrays(seed, bs.input_shapes, positive={"pow": (0,), "div": (1,)}.get(name, ()))
    fn = BINARY[name]
    out = check_op(fn, *arrays)[0]
    assert tuple(out.shape) == bs.result_shape
    _check_grad_shapes(fn, arrays)


@SETTINGS
@given(bs=shapes(3), seed=st.integers(0, 2**32 - 1))
def test_where_broadcasting_matches_pytorch(bs, seed):
    c, a, b = _arrays(seed, bs.input_shapes)
    fn = lambda m, cond, x, y: m.where(cond > 0, x, y)  # noqa: E731
    check_op(fn, c, a, b)
    _check_grad_shapes(fn, [c, a, b])


@SETTINGS
@given(bs=shapes(3), seed=st.integers(0, 2**32 - 1))
def test_clamp_tensor_bounds_broadcasting_matches_pytorch(bs, seed):
    x, lo, hi = _arrays(seed, bs.input_shapes)
    lo, hi = np.asarray(lo - 2.5, np.float32), np.asarray(hi + 2.5, np.float32)  # lo < hi everywhere
    x = np.asarray(x * 2, np.float32)

    def fn(m, t, a, b):
        if m is rg or bs.result_shape == x.shape:
            return m.clamp(t, a, b)
        # PyTorch's clamp backward fails when the bounds broadcast x to a larger shape: same function, spelled out
        return m.where(t < a, a, m.where(t > b, b, t))

    check_op(fn, x, lo, hi)
    _check_grad_shapes(fn, [x, lo, hi])


@SETTINGS
@given(bs=shapes(2), seed=st.integers(0, 2**32 - 1))
def test_comparisons_and_inplace_broadcasting_match_pytorch(bs, seed):
    a, b = _arrays(seed, bs.input_shapes)
    check_op(lambda m, x, y: (x < y, x == y, m.logical_and(x > 0, y > 0)), a, b, grad=False)
    if np.broadcast_shapes(a.shape, b.shape) == a.shape:
        check_op(lambda m, x, y: (x * 1).add_(y).mul_(y), a, b)


INCOMPATIBLE = [((2, 3), (4,)), ((3,), (2,)), ((2, 1, 3), (4, 5)), ((5, 2), (1, 3)), ((2, 3, 4), (2, 4, 4))]
OPS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
    "remainder": lambda a, b: a % b,
    "floor_divide": lambda a, b: a // b,
    "maximum": lambda a, b: rg.maximum(a, b),
    "minimum": lambda a, b: rg.minimum(a, b),
    "where": lambda a, b: rg.where(a > 0, a, b),
    "clamp": lambda a, b: rg.clamp(a, min=b),
    "lt": lambda a, b: a < b,
    "eq": lambda a, b: a == b,
    "logical_and": lambda a, b: rg.logical_and(a, b),
    "bitwise_and": lambda a, b: a.bool() & b.bool(),
    "div_trunc": lambda a, b: rg.div(a, b, rounding_mode="trunc"),
}


@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize("sa,sb", INCOMPATIBLE)
def test_incompatible_shapes_raise_a_clear_error(op, sa, sb):
    a, b = rg.ones(*sa, requires_grad=True), rg.ones(*sb)
    with pytest.raises(RuntimeError, match="must match the size of tensor") as info:
        OPS[op](a, b)
    msg = str(info.value)
    assert str(sa) in msg and str(sb) in msg and "non-singleton dimension" in msg


def test_incompatible_shapes_error_names_the_mismatch_like_pytorch():
    with pytest.raises(RuntimeError, match=r"^add: the size of tensor a \(3\) must match the size of tensor b \(4\) "
                                           r"at non-singleton dimension 1"):
        rg.zeros(2, 3) + rg.zeros(4)
    with pytest.raises(RuntimeError, match="mul: .* tensor a .* tensor b"):
        rg.zeros(2, 3, dtype=rg.int64) * rg.zeros(4, dtype=rg.int32)


def test_inplace_broadcast_to_a_larger_shape_raises():
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"):
        rg.zeros(3).add_(rg.zeros(2, 3))
    with pytest.raises(RuntimeError, match="must match the size"):
        rg.zeros(2, 3).mul_(rg.zeros(4))


def test_scalars_and_zero_dim_tensors_broadcast():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    check_op(lambda m, x, s: (x + s, s * x, m.maximum(x, s), m.where(x > 2, x, s)), a, np.array(1.5, np.float32))
    check_op(lambda m, x: (x + 1, 2 - x, x * 0.5), a)
