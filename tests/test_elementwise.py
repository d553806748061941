"""Every elementwise op against PyTorch: values, gradients (float32), gradcheck (float64), double backward."""
import numpy as np
import pytest

import retrograd as rg
from tests.helpers import _to_numpy, check_double_backward, check_gradcheck, check_op, torch

pytestmark = pytest.mark.on_devices

R = np.random.default_rng(0)


def arr(*shape, lo=-2.0, hi=2.0):
    return R.uniform(lo, hi, shape).astype(np.float32)


def pos(*shape):
    return arr(*shape, lo=0.5, hi=2.0)


def away_from_zero(*shape):
    """Values with |x| in [0.5, 2]: away from the kinks of abs, relu, sign and the pole of 1/x."""
    return (pos(*shape) * np.where(R.random(shape) < 0.5, -1, 1)).astype(np.float32)


# ---- differentiable unary ops: (name, fn, input) --------------------------------------------
UNARY = [
    ("neg", lambda m, x: -x, arr(3, 4)),
    ("neg_fn", lambda m, x: m.neg(x), arr(3, 4)),
    ("exp", lambda m, x: m.exp(x), arr(3, 4)),
    ("log", lambda m, x: m.log(x), pos(3, 4)),
    ("log1p", lambda m, x: m.log1p(x), pos(3, 4)),
    ("expm1", lambda m, x: m.expm1(x), arr(3, 4)),
    ("sqrt", lambda m, x: m.sqrt(x), pos(3, 4)),
    ("rsqrt", lambda m, x: m.rsqrt(x), pos(3, 4)),
    ("sin", lambda m, x: m.sin(x), arr(3, 4)),
    ("cos", lambda m, x: m.cos(x), arr(3, 4)),
    ("tanh", lambda m, x: m.tanh(x), arr(3, 4)),
    ("sigmoid", lambda m, x: m.sigmoid(x), arr(3, 4, lo=-6, hi=6)),
    ("relu", lambda m, x: m.relu(x), away_from_zero(3, 4)),
    ("abs", lambda m, x: m.abs(x), away_from_zero(3, 4)),
    ("abs_op", lambda m, x: abs(x), away_from_zero(3, 4)),
    ("erf", lambda m, x: m.erf(x), arr(3, 4)),
    ("reciprocal", lambda m, x: m.reciprocal(x), away_from_zero(3, 4)),
    ("square", lambda m, x: m.square(x), arr(3, 4)),
    ("sign", lambda m, x: m.sign(x), away_from_zero(3, 4)),
    ("floor", lambda m, x: m.floor(x), arr(3, 4)),
    ("ceil", lambda m, x: m.ceil(x), arr(3, 4)),
    ("trunc", lambda m, x: m.trunc(x), arr(3, 4)),
    ("round", lambda m, x: m.round(x), arr(3, 4)),
    ("round_decimals", lambda m, x: m.round(x, decimals=1), arr(3, 4)),
    ("pow_scalar", lambda m, x: x ** 3, arr(3, 4)),
    ("pow_fractional", lambda m, x: m.pow(x, 2.5), pos(3, 4)),
    ("pow_negative", lambda m, x: x ** -2, pos(3, 4)),
    ("pow_zero", lambda m, x: x ** 0, arr(3, 4)),
    ("rpow", lambda m, x: 2.0 ** x, arr(3, 4)),
    ("rpow_int", lambda m, x: 3 ** x, arr(3, 4)),
    ("clamp_both", lambda m, x: m.clamp(x, -0.5, 0.7), arr(3, 4)),
    ("clamp_min", lambda m, x: m.clamp(x, min=-0.5), arr(3, 4)),
    ("clamp_max", lambda m, x: x.clamp(max=0.7), arr(3, 4)),
    ("clip", lambda m, x: m.clip(x, -0.5, 0.7), arr(3, 4)),
    ("clamp_min_method", lambda m, x: x.clamp_min(0.1), arr(3, 4)),
    ("clamp_max_method", lambda m, x: x.clamp_max(0.1), arr(3, 4)),
    ("add_scalar", lambda m, x: x + 2.5, arr(3, 4)),
    ("radd_scalar", lambda m, x: 2 + x, arr(3, 4)),
    ("sub_scalar", lambda m, x: x - 1.5, arr(3, 4)),
    ("rsub_scalar", lambda m, x: 1.5 - x, arr(3, 4)),
    ("mul_scalar", lambda m, x: x * 3, arr(3, 4)),
    ("rmul_scalar", lambda m, x: -0.5 * x, arr(3, 4)),
    ("div_scalar", lambda m, x: x / 4, arr(3, 4)),
    ("rdiv_scalar", lambda m, x: 2.0 / x, away_from_zero(3, 4)),
    ("mod_scalar", lambda m, x: x % 0.7, arr(3, 4)),
    ("add_alpha_scalar", lambda m, x: m.add(x, 2, alpha=3), arr(3, 4)),
    ("sub_alpha_scalar", lambda m, x: m.sub(x, 2, alpha=0.5), arr(3, 4)),
    ("where_scalar", lambda m, x: m.where(x > 0, x, 0.0), away_from_zero(3, 4)),
    ("where_scalar_left", lambda m, x: m.where(x > 0, -1.0, x), away_from_zero(3, 4)),
    ("lerp_scalar_weight", lambda m, x: m.lerp(x, x * x, 0.3), arr(3, 4)),
]


@pytest.mark.parametrize("name,fn,x", UNARY, ids=[u[0] for u in UNARY])
def test_unary_matches_pytorch(name, fn, x):
    check_op(fn, x)


@pytest.mark.parametrize("name,fn,x", UNARY, ids=[u[0] for u in UNARY])
def test_unary_gradcheck(name, fn, x):
    check_gradcheck(fn, x)


def _curved(fn):
    """fn's output times a smooth function of it and of the first input: the second derivative of the
    result goes through fn's backward even where fn is linear or piecewise constant."""
    def g(m, *xs):
        y = fn(m, *xs)
        return y * y + y * m.sin(xs[0])
    return g


@pytest.mark.parametrize("name,fn,x", UNARY, ids=[u[0] for u in UNARY])
def test_unary_double_backward(name, fn, x):
    check_double_backward(_curved(fn), x)


# ---- differentiable binary/ternary ops on tensors ------------------------------------------
BINARY = [
    ("add", lambda m, a, b: a + b, arr(3, 4), arr(3, 4)),
    ("add_fn_alpha", lambda m, a, b: m.add(a, b, alpha=2.5), arr(3, 4), arr(3, 4)),
    ("sub", lambda m, a, b: a - b, arr(3, 4), arr(3, 4)),
    ("sub_alpha", lambda m, a, b: m.sub(a, b, alpha=-2), arr(3, 4), arr(3, 4)),
    ("mul", lambda m, a, b: a * b, arr(3, 4), arr(3, 4)),
    ("mul_self", lambda m, a, b: a * a * b, arr(3, 4), arr(3, 4)),
    ("div", lambda m, a, b: a / b, arr(3, 4), away_from_zero(3, 4)),
    ("pow", lambda m, a, b: a ** b, pos(3, 4), arr(3, 4)),
    ("pow_fn", lambda m, a, b: m.pow(a, b), pos(3, 4), arr(3, 4)),
    ("remainder", lambda m, a, b: a % b, arr(3, 4), pos(3, 4) + np.float32(0.1)),
    ("maximum", lambda m, a, b: m.maximum(a, b), arr(3, 4), arr(3, 4)),
    ("minimum", lambda m, a, b: m.minimum(a, b), arr(3, 4), arr(3, 4)),
    ("where", lambda m, a, b: m.where(a > b, a, b), arr(3, 4), arr(3, 4)),
    ("clamp_tensor_min", lambda m, a, b: m.clamp(a, min=b), arr(3, 4), arr(3, 4)),
    ("clamp_tensor_max", lambda m, a, b: m.clamp(a, max=b), arr(3, 4), arr(3, 4)),
    ("lerp", lambda m, a, b: m.lerp(a, b, 0.25), arr(3, 4), arr(3, 4)),
    ("mixed_expression", lambda m, a, b: m.tanh(a * b + 1) / (1 + m.exp(-b)) - m.sigmoid(a) ** 2,
     arr(3, 4), arr(3, 4)),
]


@pytest.mark.parametrize("name,fn,a,b", BINARY, ids=[u[0] for u in BINARY])
def test_binary_matches_pytorch(name, fn, a, b):
    check_op(fn, a, b)


@pytest.mark.parametrize("name,fn,a,b", BINARY, ids=[u[0] for u in BINARY])
def test_binary_gradcheck(name, fn, a, b):
    check_gradcheck(fn, a, b)


@pytest.mark.parametrize("name,fn,a,b", BINARY, ids=[u[0] for u in BINARY])
def test_binary_double_backward(name, fn, a, b):
    check_double_backward(_curved(fn), a, b)


TERNARY = [
    ("clamp_tensor_bounds", lambda m, x, lo, hi: m.clamp(x, lo, hi), arr(3, 4), arr(3, 4, lo=-2, hi=-0.5),
     arr(3, 4, lo=0.5, hi=2)),
    ("addcmul", lambda m, x, a, b: m.addcmul(x, a, b, value=0.5), arr(3, 4), arr(3, 4), arr(3, 4)),
    ("addcdiv", lambda m, x, a, b: m.addcdiv(x, a, b, value=-2), arr(3, 4), arr(3, 4), away_from_zero(3, 4)),
    ("lerp_tensor_weight", lambda m, x, e, w: m.lerp(x, e, w), arr(3, 4), arr(3, 4), arr(3, 4, lo=0, hi=1)),
    ("where_tensor", lambda m, x, a, b: m.where(x > 0, a, b), away_from_zero(3, 4), arr(3, 4), arr(3, 4)),
]


@pytest.mark.parametrize("name,fn,x,a,b", TERNARY, ids=[u[0] for u in TERNARY])
def test_ternary_matches_pytorch(name, fn, x, a, b):
    check_op(fn, x, a, b)
    check_gradcheck(fn, x, a, b)
    check_double_backward(_curved(fn), x, a, b)


def test_methods_match_functions():
    x, y = arr(2, 3), away_from_zero(2, 3)
    for name in ("add", "sub", "mul", "div", "maximum", "minimum", "remainder"):
        check_op(lambda m, a, b, n=name: getattr(a, n)(b), x, y)
    for name in ("exp", "sin", "cos", "tanh", "sigmoid", "relu", "abs", "erf", "neg", "square", "expm1"):
        check_op(lambda m, a, n=name: getattr(a, n)(), x)
    check_op(lambda m, a, b: (a.subtract(b), a.multiply(b), a.divide(b), a.true_divide(b), a.negative(),
                              a.absolute()), x, y)


# ---- maximum / minimum ties -----------------------------------------------------------------
@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_maximum_minimum_ties_split_the_gradient(op):
    a = np.array([1.0, 2.0, 3.0, -1.0], np.float32)
    b = np.array([1.0, 1.0, 4.0, -1.0], np.float32)
    check_op(lambda m, x, y: getattr(m, op)(x, y), a, b)
    x, y = rg.tensor(a, requires_grad=True), rg.tensor(b, requires_grad=True)
    getattr(rg, op)(x, y).sum().backward()
    assert x.grad[0].item() == 0.5 and y.grad[0].item() == 0.5
    assert x.grad[3].item() == 0.5 and y.grad[3].item() == 0.5
    check_double_backward(lambda m, x, y: getattr(m, op)(x, y) * x, a, b)


def test_clamp_gradient_at_the_bounds_matches_pytorch():
    x = np.array([-1.0, -0.5, 0.0, 0.5, 1.0], np.float32)
    check_op(lambda m, t: m.clamp(t, -0.5, 0.5), x)
    check_op(lambda m, t, lo, hi: m.clamp(t, lo, hi), x, np.full(5, -0.5, np.float32), np.full(5, 0.5, np.float32))


def test_relu_abs_gradient_at_zero_matches_pytorch():
    x = np.array([-1.0, 0.0, 1.0], np.float32)
    check_op(lambda m, t: (m.relu(t), m.abs(t), m.sign(t)), x)


def test_pow_special_cases_match_pytorch():
    check_op(lambda m, a, b: a ** b, np.array([0.0, 0.0, 2.0], np.float32), np.array([0.0, 2.0, 0.0], np.float32))
    check_op(lambda m, b: 0.0 ** b, np.array([0.0, 1.0, 2.0], np.float32))
    check_op(lambda m, b: (-2.0) ** b, np.array([0.5, 2.0], np.float32), atol=1e-5)
    check_op(lambda m, a: a ** 0.0, np.array([0.0, 1.0], np.float32))


def test_sigmoid_extremes_are_finite():
    check_op(lambda m, x: m.sigmoid(x), np.array([-100.0, -20.0, 0.0, 20.0, 100.0], np.float32))


def test_round_half_to_even_and_decimals():
    check_op(lambda m, x: m.round(x), np.array([0.5, 1.5, 2.5, -0.5, -1.5, 0.49], np.float32))
    check_op(lambda m, x: m.round(x, decimals=2), np.array([1.2345, -2.3456, 100.0], np.float32))


@pytest.mark.parametrize("mode", [None, "trunc", "floor"])
def test_div_rounding_modes(mode):
    a = np.array([7.0, -7.0, 7.5, -7.5, 0.0], np.float32)
    b = np.array([2.0, 2.0, -2.0, -2.0, 3.0], np.float32)
    check_op(lambda m, x, y: m.div(x, y, rounding_mode=mode), a, b)
    ai, bi = np.array([7, -7, 7, -7, 0, 9]), np.array([2, 2, -2, -2, 3, 3])
    check_op(lambda m, x, y: m.div(x, y, rounding_mode=mode), ai, bi)
    check_op(lambda m, x: m.div(x, 3, rounding_mode=mode), ai)
    check_op(lambda m, x: m.div(x, 2.0, rounding_mode=mode), ai)


def test_div_bad_rounding_mode():
    with pytest.raises(ValueError, match="rounding_mode"):
        rg.div(rg.ones(2), 2, rounding_mode="round")


def test_floor_divide_and_remainder_match_pytorch():
    a = np.array([7.0, -7.0, 7.5, -7.5], np.float32)
    b = np.array([2.0, 2.0, -2.0, -2.0], np.float32)
    check_op(lambda m, x, y: (x // y, x % y, m.remainder(x, y), m.floor_divide(x, y)), a, b, grad=False)
    ai, bi = np.array([7, -7, 7, -7]), np.array([2, 2, -2, -2])
    check_op(lambda m, x, y: (x // y, x % y, x // 3, x % -3, 7 // y, 7 % y), ai, bi)


def test_integer_division_by_zero_raises():
    x = rg.tensor([1, 2])
    for f in (lambda: x // 0, lambda: x % 0, lambda: rg.div(x, rg.tensor([1, 0]), rounding_mode="trunc")):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            f()
    assert rg.isinf(rg.tensor([1.0]) // 0).all()


def test_int_and_bool_arithmetic_match_pytorch():
    ai, bi = np.array([[1, -2, 3]]), np.array([[4], [5]])
    check_op(lambda m, x, y: (x + y, x - y, x * y, x / y, x ** 2, 2 ** y, -x, abs(x), m.square(x), x * 2.5,
                              x + True, m.add(x, y, alpha=3), m.sub(x, 1, alpha=2), m.maximum(x, y),
                              m.clamp(x, -1, 2), m.clamp(x, 0.5), m.sign(x), m.floor(x), m.relu(x)), ai, bi)
    ba, bb = np.array([True, False, True]), np.array([True, True, False])
    check_op(lambda m, x, y: (x + y, x * y, x / y, x + 1, x * 2.5, m.square(x), m.sign(x), x & y, x | y, x ^ y,
                              ~x, m.maximum(x, y)), ba, bb)


def test_unsigned_and_small_int_overflow_wraps_like_pytorch():
    u = np.array([1, 200, 255], np.uint8)
    check_op(lambda m, x: (x + 300, x + (-1), x * 2, x - 1, x + 1), u)
    check_op(lambda m, x: x * 2 ** 40, np.array([1, 3], np.int32))


def test_unary_float_ops_on_ints_give_default_float():
    x = np.array([1, 2, 3])
    check_op(lambda m, t: (m.exp(t), m.log(t), m.sqrt(t), m.sin(t), m.sigmoid(t), m.tanh(t), m.reciprocal(t),
                           m.rsqrt(t), m.erf(t), m.log1p(t), m.expm1(t), m.cos(t)), x)
    rg.set_default_dtype(rg.float64)
    assert rg.exp(rg.tensor([1, 2])).dtype is rg.float64


@pytest.mark.parametrize("fn,exc,match", [
    (lambda m: -m.tensor([True]), RuntimeError, "Negation"),
    (lambda m: m.tensor([True]) - m.tensor([False]), RuntimeError, "Subtraction"),
    (lambda m: True - m.tensor([False]), RuntimeError, "Subtraction"),
    (lambda m: m.abs(m.tensor([True])), NotImplementedError, None),
    (lambda m: m.relu(m.tensor([True])), RuntimeError, "Boolean inputs"),
    (lambda m: m.tensor([2]) ** -1, RuntimeError, "negative integer powers"),
    (lambda m: m.add(m.tensor([1]), m.tensor([2]), alpha=0.5), RuntimeError, "alpha"),
    (lambda m: m.add(m.tensor([1]), m.tensor([2]), alpha=True), RuntimeError, "Boolean alpha"),
    (lambda m: m.tensor([1.0]) & m.tensor([1.0]), NotImplementedError, None),
    (lambda m: m.bitwise_not(m.tensor([1.0])), NotImplementedError, None),
    (lambda m: m.addcdiv(m.tensor([1]), m.tensor([1]), m.tensor([2])), RuntimeError, "addcdiv"),
    (lambda m: m.lerp(m.tensor([1]), m.tensor([2]), 0.5), NotImplementedError, None),
    (lambda m: m.lerp(m.tensor([1.0]), m.tensor([2.0], dtype=m.float64), 0.5), RuntimeError, "end"),
    (lambda m: m.clamp(m.tensor([1.0])), RuntimeError, "At least one of 'min' or 'max'"),
    (lambda m: m.where(m.tensor([1.0]), m.tensor([1.0]), 0.0), RuntimeError, "boolean"),
    (lambda m: m.maximum(m.tensor([1.0]), 2), TypeError, "other"),
    (lambda m: m.exp([1.0]), TypeError, None),
    (lambda m: m.tensor([1.0]) + "a", TypeError, None),
    (lambda m: m.floor(m.tensor([True])), NotImplementedError, None),
])
def test_bad_input_raises_like_pytorch(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn(torch)
    with pytest.raises(exc, match=match):
        fn(rg)


# ---- comparisons, logic, predicates (no gradient) ------------------------------------------
def test_comparisons_match_pytorch():
    a = np.array([[1.0, 2.0, np.nan], [0.0, -1.0, 3.0]], np.float32)
    b = np.array([1.0, 3.0, np.nan], np.float32)
    fns = lambda m, x, y: (x == y, x != y, x < y, x <= y, x > y, x >= y, m.eq(x, y), m.ne(x, y), m.lt(x, y),  # noqa: E731
                           m.le(x, y), m.gt(x, y), m.ge(x, y), x > 1, 1 < x, x == 2, x.greater(y),
                           x.greater_equal(y), x.less(y), x.less_equal(y), x.not_equal(y))
    outs = check_op(fns, a, b)
    assert all(o.dtype is rg.bool and not o.requires_grad for o in outs)
    check_op(lambda m, x, y: (x < y, x == 2.5, x >= 1, y > x), np.array([1, 2, 3]), np.array([2.5, 2.0, 0.5],
                                                                                             np.float32))


def test_logical_and_bitwise_match_pytorch():
    a, b = np.array([0.0, 1.0, -2.0, 0.0], np.float32), np.array([0.0, 0.0, 3.0, 5.0], np.float32)
    check_op(lambda m, x, y: (m.logical_and(x, y), m.logical_or(x, y), m.logical_xor(x, y), m.logical_not(x)), a, b)
    ia, ib = np.array([0, 1, 6, -3]), np.array([3, 1, 12, 5])
    check_op(lambda m, x, y: (x & y, x | y, x ^ y, ~x, m.bitwise_and(x, y), m.bitwise_or(x, 4), m.bitwise_xor(x, y),
                              m.bitwise_not(x), 5 & x, m.logical_and(x, y)), ia, ib)
    ba, bb = np.array([True, False, True]), np.array([True, True, False])
    check_op(lambda m, x, y: (x & y, x | y, x ^ y, ~x, m.logical_not(x), x & True), ba, bb)


def test_isfinite_isnan_isinf():
    a = np.array([1.0, np.inf, -np.inf, np.nan, 0.0], np.float32)
    check_op(lambda m, x: (m.isfinite(x), m.isnan(x), m.isinf(x), x.isnan(), x.isinf(), x.isfinite()), a)
    check_op(lambda m, x: (m.isfinite(x), m.isnan(x), m.isinf(x)), np.array([1, 2]))


def test_allclose_and_equal():
    a, b = rg.tensor([1.0, 2.0]), rg.tensor([1.0, 2.000002])
    assert rg.allclose(a, b) and a.allclose(b)
    assert not rg.allclose(a, rg.tensor([1.0, 2.1]))
    assert rg.equal(a, rg.tensor([1.0, 2.0])) and not rg.equal(a, b)
    assert not rg.equal(a, rg.tensor([1.0, 2.0, 3.0]))


# ---- casts -----------------------------------------------------------------------------------
def _has_float16(on_device) -> bool:
    """float16 exists on cpu and CuPy, not on the array-api-strict stand-in behind cuda."""
    return not (on_device == "cuda" and rg.cuda.is_standin())


def test_cast_values_and_dtypes_match_pytorch(on_device):
    a = np.array([1.7, -1.7, 0.0, 2.5], np.float32)
    half = _has_float16(on_device)  # the float16 casts only where float16 exists
    outs = check_op(lambda m, x: (x.to(m.float64), x.double(), x.float(), x.long(), x.int(), x.bool(),
                                  x.to(m.int32), x.type(m.float64))
                    + ((x.half(), x.to(dtype=m.float16)) if half else ()), a)
    assert outs[0].requires_grad and not outs[3].requires_grad
    check_op(lambda m, x: (x.float(), x.double(), x.bool(), x.to(m.uint8)), np.array([0, 1, 3]))


def test_cast_gradients_keep_each_dtype(on_device):
    half = _has_float16(on_device)
    check_op(lambda m, x: (x.double() * 2).sum() + (x.half().float().sum() if half else x.float().sum()), arr(3))
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    (x.double() ** 2).sum().backward()
    assert x.grad.dtype is rg.float32
    check_double_backward(lambda m, x: x.float().exp().double() * x, arr(3))


def test_to_same_dtype_returns_self():
    x = rg.ones(2)
    assert x.to(rg.float32) is x and x.float() is x
    assert x.to(rg.float32, copy=True) is not x


# ---- in-place ops ----------------------------------------------------------------------------
INPLACE = [
    ("add_", lambda x, y: x.add_(y)),
    ("add_alpha", lambda x, y: x.add_(y, alpha=2)),
    ("add_scalar", lambda x, y: x.add_(1.5)),
    ("sub_", lambda x, y: x.sub_(y)),
    ("sub_alpha", lambda x, y: x.sub_(y, alpha=0.5)),
    ("mul_", lambda x, y: x.mul_(y)),
    ("mul_scalar", lambda x, y: x.mul_(3)),
    ("div_", lambda x, y: x.div_(y)),
    ("div_floor", lambda x, y: x.div_(y, rounding_mode="floor")),
    ("pow_", lambda x, y: x.abs_().pow_(y)),
    ("pow_scalar", lambda x, y: x.pow_(2)),
    ("remainder_", lambda x, y: x.remainder_(y)),
    ("clamp_", lambda x, y: x.clamp_(-0.5, 0.5)),
    ("clamp_tensor", lambda x, y: x.clamp_(min=y)),
    ("clip_", lambda x, y: x.clip_(max=0.3)),
    ("clamp_min_", lambda x, y: x.clamp_min_(0.0)),
    ("clamp_max_", lambda x, y: x.clamp_max_(0.0)),
    ("neg_", lambda x, y: x.neg_()),
    ("exp_", lambda x, y: x.exp_()),
    ("log_", lambda x, y: x.abs_().log_()),
    ("log1p_", lambda x, y: x.abs_().log1p_()),
    ("expm1_", lambda x, y: x.expm1_()),
    ("sqrt_", lambda x, y: x.abs_().sqrt_()),
    ("rsqrt_", lambda x, y: x.abs_().rsqrt_()),
    ("sin_", lambda x, y: x.sin_()),
    ("cos_", lambda x, y: x.cos_()),
    ("erf_", lambda x, y: x.erf_()),
    ("reciprocal_", lambda x, y: x.reciprocal_()),
    ("square_", lambda x, y: x.square_()),
    ("abs_", lambda x, y: x.abs_()),
    ("relu_", lambda x, y: x.relu_()),
    ("sigmoid_", lambda x, y: x.sigmoid_()),
    ("tanh_", lambda x, y: x.tanh_()),
    ("sign_", lambda x, y: x.sign_()),
    ("floor_", lambda x, y: x.floor_()),
    ("ceil_", lambda x, y: x.ceil_()),
    ("trunc_", lambda x, y: x.trunc_()),
    ("round_", lambda x, y: x.round_()),
    ("zero_", lambda x, y: x.zero_()),
    ("fill_", lambda x, y: x.fill_(2.5)),
    ("fill_tensor", lambda x, y: x.fill_(y[0, 0])),
    ("copy_", lambda x, y: x.copy_(y)),
    ("copy_broadcast", lambda x, y: x.copy_(y[0])),
    ("addcmul_", lambda x, y: x.addcmul_(y, y, value=0.5)),
    ("addcdiv_", lambda x, y: x.addcdiv_(y, y + 3, value=2)),
    ("lerp_", lambda x, y: x.lerp_(y, 0.3)),
    ("iadd", lambda x, y: x.__iadd__(y)),
    ("isub", lambda x, y: x.__isub__(y)),
    ("imul", lambda x, y: x.__imul__(y)),
    ("itruediv", lambda x, y: x.__itruediv__(y)),
]


@pytest.mark.parametrize("name,fn", INPLACE, ids=[u[0] for u in INPLACE])
def test_inplace_values_and_gradients_match_pytorch(name, fn):
    a, b = away_from_zero(3, 4), pos(3, 4)

    def run(m, x, y):
        x0 = x * 1  # a non-leaf that requires grad: in-place is allowed and recorded
        out = fn(x0, y)
        assert out is x0
        return out

    check_op(run, a, b)

    def run_no_grad(m, x, y):
        x0 = x.detach().clone()
        with m.no_grad():
            fn(x0, y)
        return x0

    check_op(run_no_grad, a, b, grad=False)


def test_augmented_assignment_is_in_place():
    x = rg.ones(3)
    ref = x
    x += 1
    x -= rg.tensor([0.5, 0.5, 0.5])
    x *= 4
    x /= 2
    assert x is ref and x.tolist() == [3.0, 3.0, 3.0]
    assert x._version_counter == 4


def test_version_check_output_saved_for_backward():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_version_check_input_saved_for_backward():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    a = x * 1
    b = a * a
    a.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.mul_(y)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_inplace_on_unsaved_tensor_keeps_history():
    check_op(lambda m, x, w: x.clone().add_(w).exp_(), arr(3), arr(3))
    check_op(lambda m, x: (x * 2).add_(1).mul_(3).sigmoid_(), arr(3))
    check_op(lambda m, x: (x.exp() + 0).add_(1), arr(3))  # the add's output is not saved: no error


def test_inplace_on_tensor_without_grad_with_grad_argument():
    def fn(m, w):
        a = m.ones(3)
        a.mul_(w)
        a.add_(w * w)
        return a
    check_op(fn, arr(3))


def test_inplace_with_wider_argument_keeps_dtype_and_gradient_dtypes():
    def fn(m, x, w):
        y = x * 1
        y.add_(w)
        assert y.dtype is m.float32
        return y
    check_op(fn, arr(3), arr(3).astype(np.float64))


def test_copy_and_fill_on_non_leaf():
    check_op(lambda m, x, s: (x * 2).copy_(s), arr(3), arr(3))
    check_op(lambda m, x, s: (x * 2).copy_(s.double()), arr(2, 3), arr(3))
    check_op(lambda m, x, v: (x * 2).fill_(v.sum()), arr(3), arr(2))
    check_op(lambda m, x: (x * 2).fill_(3), arr(3))
    check_op(lambda m, x: (x * 2).zero_() + x, arr(3))
    y = rg.tensor([1.0, float("inf"), float("nan")], requires_grad=True) * 1
    assert y.copy_(rg.ones(3)).tolist() == [1.0, 1.0, 1.0]
    assert y.fill_(rg.tensor(2.0)).tolist() == [2.0, 2.0, 2.0]


def test_copy_casts_and_broadcasts():
    check_op(lambda m, s: m.zeros(2, 3, dtype=m.int64).copy_(s), np.array([1.7, -1.7, 2.2], np.float32), grad=False)
    check_op(lambda m, s: m.zeros(2, 2).copy_(s), np.array([1, 2]))
    with pytest.raises(RuntimeError, match="size of tensor a"):
        rg.zeros(2, 3).copy_(rg.zeros(4))
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        rg.zeros(3).copy_(rg.zeros(2, 3))
    with pytest.raises(RuntimeError, match="0-dimension"):
        rg.zeros(3).fill_(rg.zeros(1))


def test_inplace_on_leaf_requiring_grad_raises():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    for f in (lambda: x.add_(1), lambda: x.mul_(2), lambda: x.exp_(), lambda: x.zero_(), lambda: x.copy_(x.detach()),
              lambda: x.clamp_(0, 1)):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            f()


def test_inplace_on_leaf_under_no_grad_works():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    g = rg.tensor([0.5, 0.5])
    with rg.no_grad():
        x.sub_(g, alpha=0.1)
        x.mul_(2)
    assert x.is_leaf and x.requires_grad and x.grad_fn is None
    np.testing.assert_allclose(_to_numpy(x), [1.9, 3.9], rtol=1e-6)
    (x * x).sum().backward()
    np.testing.assert_allclose(_to_numpy(x.grad), [3.8, 7.8], rtol=1e-6)


@pytest.mark.parametrize("fn", [
    lambda m: m.tensor([1, 2]).add_(1.5),
    lambda m: m.tensor([1, 2]).add_(m.tensor([1.5, 2.0])),
    lambda m: m.tensor([1, 2]).div_(2),
    lambda m: m.tensor([True]).add_(1),
    lambda m: m.zeros(3).add_(m.zeros(2, 3)),
    lambda m: m.zeros(2, 3).mul_(m.zeros(4)),
])
def test_inplace_bad_result_raises_like_pytorch(fn):
    with pytest.raises(RuntimeError):
        fn(torch)
    with pytest.raises(RuntimeError):
        fn(rg)


def test_inplace_int_results_cast_like_pytorch():
    check_op(lambda m, x: (x.clone().add_(2), x.clone().mul_(m.tensor([2], dtype=m.int32)), x.clone().fill_(2.7),
                           x.clone().div_(2, rounding_mode="floor")), np.array([1, -3, 5]))


def test_inplace_double_backward():
    check_double_backward(lambda m, x: (x * 1).mul_(x).exp_(), arr(3))


def test_zero_dim_results_are_tensors_over_arrays():
    x = rg.tensor(1.5)
    for out in (~(x > 0), rg.logical_not(x), rg.isnan(x), rg.isinf(x), rg.isfinite(x), ~rg.tensor(3), x == 1.5,
                rg.maximum(x, rg.tensor(2.0)), x + 1):
        assert out.shape == () and out.device == rg.get_default_device() and hasattr(out._data, "shape")
    check_op(lambda m, a, b: m.maximum(a, b) * m.minimum(a, b), np.array(1.0, np.float32),
             np.array(1.0, np.float32))
