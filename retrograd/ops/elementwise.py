"""Elementwise ops: arithmetic, math functions, comparisons, casts, in-place updates.

Each op is a Node with its forward (on arrays) and its backward (a Tensor formula,
so it can be differentiated again). Binary ops broadcast; the engine sums each
gradient back to its input's shape. Before an op runs, its inputs are cast to the
dtype PyTorch's promotion rules give (`dtypes.result_type`): NumPy's rules differ.
"""
from __future__ import annotations

import math

from .. import dtypes as dt
from ..autograd import grad_mode
from ..autograd.node import Node
from ..device import device, namespace_of, to_device
from ..tensor import Tensor

_state = grad_mode.state
_SCALARS = (int, float, bool)


# ---- dtype handling ----------------------------------------------------------------------
def cast(x: Tensor, d: dt.dtype) -> Tensor:
    """`x` as dtype `d`: differentiable between floating dtypes, a plain copy otherwise."""
    if x.dtype is d:
        return x
    if not d.is_floating_point or not x.dtype.is_floating_point:
        return Tensor._make(x._data.astype(d.np))
    return Cast(d)(x)


class Cast(Node):
    def __init__(self, d: dt.dtype):
        self.d = d

    def forward(self, x):
        self.src = dt.from_numpy(x.dtype)
        return x.astype(self.d.np)

    def backward(self, grad):
        return cast(grad, self.src)


class ToDevice(Node):
    def __init__(self, dev: device):
        self.dev = dev

    def forward(self, x):
        self.src = device.__new__(device)
        self.src.type, self.src.index = ("cpu", None) if type(x).__module__ == "numpy" else ("cuda", x.device.id)
        return to_device(x, self.dev)

    def __call__(self, x):
        # forward changes namespace, so the generic __call__'s device bookkeeping is bypassed
        out = Tensor._make(self.forward(x._data))
        if x._requires_grad and _state.enabled:
            out._requires_grad, out.grad_fn = True, self
            self._record((x,), out._data)
        return out

    def backward(self, grad):
        return ToDevice(self.src)(grad)


def as_float(x: Tensor) -> Tensor:
    """Integer and bool inputs of floating-point functions become the default float dtype."""
    return x if x.dtype.is_floating_point else cast(x, dt.get_default_dtype())


def _binary(node_cls, a, b, op: str) -> Tensor:
    """Run a binary op on operands promoted to their common dtype (fast paths first)."""
    if type(a) is Tensor:
        tb = type(b)
        if tb is Tensor:
            if a._data.dtype is b._data.dtype:
                return node_cls()(a, b)
        elif tb is float:
            if a._data.dtype.kind == "f":
                return node_cls()(a, b)
        elif tb is int and a._data.dtype.kind in "fiu":
            return node_cls()(a, b)
    return node_cls()(*_promote(_check_operand(a, op), _check_operand(b, op)))


def _promote(a, b):
    """Cast the operands of a binary op to their common dtype (PyTorch's rules)."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            if a._data.dtype is b._data.dtype or a._data.dtype == b._data.dtype:
                return a, b
        elif a.dtype._kind >= dt.scalar_kind(b):
            return a, b
    elif isinstance(b, Tensor):
        if b.dtype._kind >= dt.scalar_kind(a):
            return a, b
    else:
        raise TypeError(f"expected at least one Tensor operand, got {type(a).__name__} and {type(b).__name__}")
    d = dt.result_type(a, b)
    return (cast(a, d) if isinstance(a, Tensor) else a), (cast(b, d) if isinstance(b, Tensor) else b)


def _check_operand(x, op: str):
    if isinstance(x, Tensor) or isinstance(x, _SCALARS):
        return x
    if hasattr(x, "__array__") or hasattr(x, "item"):
        return x.item() if getattr(x, "ndim", 1) == 0 else Tensor._make(x)
    raise TypeError(f"{op}(): expected a Tensor or a number, got {type(x).__name__}")


# ---- arithmetic ------------------------------------------------------------------------
class Add(Node):
    broadcasts = True

    def forward(self, a, b):
        return self.xp.add(a, b)

    def backward(self, grad):
        return grad, grad


class Sub(Node):
    broadcasts = True

    def forward(self, a, b):
        return self.xp.subtract(a, b)

    def backward(self, grad):
        return grad, -grad if self.needs_input_grad(1) else None


class Mul(Node):
    broadcasts = True
    saves_inputs = True

    def forward(self, a, b):
        return self.xp.multiply(a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        return (grad * b if self.needs_input_grad(0) else None,
                grad * a if self.needs_input_grad(1) else None)


class Div(Node):
    broadcasts = True
    saves_inputs = True

    def forward(self, a, b):
        return self.xp.divide(a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        ga = grad / b
        return (ga if self.needs_input_grad(0) else None,
                -ga * a / b if self.needs_input_grad(1) else None)


class Pow(Node):
    broadcasts = True
    saves_inputs = True
    saves_output = True

    def forward(self, a, b):
        return self.xp.power(a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        ga = gb = None
        if self.needs_input_grad(0):
            ga = grad * b * a ** (b - 1) if not isinstance(b, _SCALARS) or b != 0 else grad * 0
        if self.needs_input_grad(1):
            # d(a^b)/db = a^b log(a), taken as 0 where a == 0 and b >= 0 (as PyTorch does)
            out = self.saved_output()
            if isinstance(a, Tensor):
                gb = grad * where((a == 0) & (b >= 0), 0.0, out * log(a))
            else:
                gb = grad * out * (math.log(a) if a != 0 else 0.0)
        return ga, gb


class Remainder(Node):
    broadcasts = True
    saves_inputs = True

    def forward(self, a, b):
        return self.xp.remainder(a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        return grad, (-grad * floor_divide(a, b) if self.needs_input_grad(1) else None)


class Maximum(Node):
    """max(a, b); where a == b the gradient is split in half, as in PyTorch."""

    broadcasts = True
    saves_inputs = True
    sign = 1

    def forward(self, a, b):
        return self.xp.maximum(a, b) if self.sign > 0 else self.xp.minimum(a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        a_wins = (a > b) if self.sign > 0 else (a < b)
        half = where(a == b, grad * 0.5, grad)
        return where(a_wins | (a == b), half, 0.0), where(~a_wins, half, 0.0)


class Minimum(Maximum):
    sign = -1


def add(input, other, *, alpha=1) -> Tensor:
    if alpha != 1:
        other = mul(other, alpha)
    return _binary(Add, input, other, "add")


def sub(input, other, *, alpha=1) -> Tensor:
    if alpha != 1:
        other = mul(other, alpha)
    if type(input) is Tensor and input._data.dtype.kind == "f" and (
            type(other) is float or type(other) is Tensor and other._data.dtype is input._data.dtype):
        return Sub()(input, other)
    a, b = _promote(_check_operand(input, "sub"), _check_operand(other, "sub"))
    if a.__class__ is Tensor and a.dtype is dt.bool:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                           "Use the `^` or `logical_xor()` operator instead.")
    return Sub()(a, b)


def mul(input, other) -> Tensor:
    return _binary(Mul, input, other, "mul")


def div(input, other, *, rounding_mode: str | None = None) -> Tensor:
    if rounding_mode is None and type(input) is Tensor and input._data.dtype.kind == "f" and (
            type(other) is float or type(other) is Tensor and other._data.dtype is input._data.dtype):
        return Div()(input, other)
    a, b = _check_operand(input, "div"), _check_operand(other, "div")
    if rounding_mode is None:
        a, b = _promote(a, b)
        if not _is_float(a) and not _is_float(b):  # true division of integers gives floats
            d = dt.get_default_dtype()
            a, b = (cast(x, d) if isinstance(x, Tensor) else float(x) for x in (a, b))
        return Div()(a, b)
    if rounding_mode == "trunc":
        return _no_grad_result(lambda xp, x, y: xp.trunc(x / y).astype(_common_np(x, y)), a, b)
    if rounding_mode == "floor":
        return floor_divide(a, b)
    raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'")


def floor_divide(input, other) -> Tensor:
    a, b = _promote(_check_operand(input, "floor_divide"), _check_operand(other, "floor_divide"))
    return _no_grad_result(lambda xp, x, y: xp.floor_divide(x, y), a, b)


def remainder(input, other) -> Tensor:
    return _binary(Remainder, input, other, "remainder")


def pow(input, exponent) -> Tensor:  # noqa: A001 - PyTorch's name
    a, b = _promote(_check_operand(input, "pow"), _check_operand(exponent, "pow"))
    if isinstance(a, Tensor) and not a.dtype.is_floating_point and isinstance(b, Tensor) is False and b < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    return Pow()(a, b)


def maximum(input: Tensor, other: Tensor) -> Tensor:
    return Maximum()(*_promote(input, _tensor_operand(other, "maximum")))


def minimum(input: Tensor, other: Tensor) -> Tensor:
    return Minimum()(*_promote(input, _tensor_operand(other, "minimum")))


def _tensor_operand(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'other' must be Tensor, not {type(x).__name__}")
    return x


def _is_float(x) -> bool:
    return x.dtype.is_floating_point if isinstance(x, Tensor) else isinstance(x, float)


def _common_np(x, y):
    return getattr(x, "dtype", None) or getattr(y, "dtype")


def _no_grad_result(fn, a, b) -> Tensor:
    """A non-differentiable binary result (rounded division, comparisons)."""
    xp = namespace_of((a if isinstance(a, Tensor) else b)._data)
    return Tensor._make(xp.asarray(fn(xp, _array(a), _array(b))))


def _array(x):
    return x._data if isinstance(x, Tensor) else x


# ---- unary math -------------------------------------------------------------------------
class Neg(Node):
    def forward(self, x):
        return self.xp.negative(x)

    def backward(self, grad):
        return -grad


class Exp(Node):
    saves_output = True

    def forward(self, x):
        return self.xp.exp(x)

    def backward(self, grad):
        return grad * self.saved_output()


class Log(Node):
    saves_inputs = True

    def forward(self, x):
        return self.xp.log(x)

    def backward(self, grad):
        return grad / self.saved_tensors[0]


class Log1p(Node):
    saves_inputs = True

    def forward(self, x):
        return self.xp.log1p(x)

    def backward(self, grad):
        return grad / (self.saved_tensors[0] + 1)


class Expm1(Node):
    saves_output = True

    def forward(self, x):
        return self.xp.expm1(x)

    def backward(self, grad):
        return grad * (self.saved_output() + 1)


class Sqrt(Node):
    saves_output = True

    def forward(self, x):
        return self.xp.sqrt(x)

    def backward(self, grad):
        return grad / (2 * self.saved_output())


class Rsqrt(Node):
    saves_output = True

    def forward(self, x):
        return 1 / self.xp.sqrt(x)

    def backward(self, grad):
        y = self.saved_output()
        return grad * -0.5 * y * y * y


class Sin(Node):
    saves_inputs = True

    def forward(self, x):
        return self.xp.sin(x)

    def backward(self, grad):
        return grad * cos(self.saved_tensors[0])


class Cos(Node):
    saves_inputs = True

    def forward(self, x):
        return self.xp.cos(x)

    def backward(self, grad):
        return grad * -sin(self.saved_tensors[0])


class Tanh(Node):
    saves_output = True

    def forward(self, x):
        return self.xp.tanh(x)

    def backward(self, grad):
        y = self.saved_output()
        return grad * (1 - y * y)


class Sigmoid(Node):
    saves_output = True

    def forward(self, x):
        xp = self.xp
        e = xp.exp(-xp.abs(x))  # never overflows
        return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))

    def backward(self, grad):
        y = self.saved_output()
        return grad * y * (1 - y)


class Relu(Node):
    saves_output = True

    def forward(self, x):
        return self.xp.maximum(x, 0)

    def backward(self, grad):
        return grad * (self.saved_output() > 0)


class Erf(Node):
    saves_inputs = True

    def forward(self, x):
        return _erf(self.xp, x)

    def backward(self, grad):
        x = self.saved_tensors[0]
        return grad * (2 / math.sqrt(math.pi)) * exp(-x * x)


class Reciprocal(Node):
    saves_output = True

    def forward(self, x):
        return 1 / x

    def backward(self, grad):
        y = self.saved_output()
        return -grad * y * y


class Abs(Node):
    saves_inputs = True

    def forward(self, x):
        return self.xp.abs(x)

    def backward(self, grad):
        return grad * sign(self.saved_tensors[0])


class Piecewise(Node):
    """sign, floor, ceil, round, trunc: constant between jumps, so the gradient is zero."""

    def __init__(self, fn):
        self.fn = fn

    def forward(self, x):
        return self.fn(self.xp, x)

    def backward(self, grad):
        return grad * 0


def _erf(xp, x):
    """erf through SciPy's special functions when available, else a 1.5e-7-accurate series."""
    if xp.__name__ == "numpy":
        try:
            from scipy.special import erf as sp_erf

            return sp_erf(x).astype(x.dtype, copy=False)
        except ImportError:
            pass
    # Abramowitz-Stegun 7.1.26 has 1.5e-7 absolute error: enough for float32, not float64
    t = 1 / (1 + 0.3275911 * xp.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return (xp.sign(x) * (1 - poly * xp.exp(-x * x))).astype(x.dtype)


def _unary(node_cls, floating: bool = True):
    """The public function of a one-input op (int/bool inputs become float first)."""
    def op(input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(f"{node_cls.__name__.lower()}(): argument 'input' must be Tensor, "
                            f"not {type(input).__name__}")
        return node_cls()(as_float(input) if floating else input)

    op.__name__ = node_cls.__name__.lower()
    op.__doc__ = f"Elementwise {op.__name__}."
    return op


exp = _unary(Exp)
log = _unary(Log)
log1p = _unary(Log1p)
expm1 = _unary(Expm1)
sqrt = _unary(Sqrt)
rsqrt = _unary(Rsqrt)
sin = _unary(Sin)
cos = _unary(Cos)
tanh = _unary(Tanh)
sigmoid = _unary(Sigmoid)
erf = _unary(Erf)
reciprocal = _unary(Reciprocal)
abs = _unary(Abs, floating=False)  # noqa: A001
relu = _unary(Relu, floating=False)
neg = _unary(Neg, floating=False)


def _piecewise(name: str, fn):
    def op(input: Tensor, decimals: int = 0) -> Tensor:
        if not input.dtype.is_floating_point and name != "sign":
            return input.clone()
        f = fn if not decimals else (lambda xp, x: xp.round(x, decimals))
        return Piecewise(f)(input)

    op.__name__ = name
    op.__doc__ = f"Elementwise {name} (zero gradient)."
    return op


sign = _piecewise("sign", lambda xp, x: xp.sign(x))
floor = _piecewise("floor", lambda xp, x: xp.floor(x))
ceil = _piecewise("ceil", lambda xp, x: xp.ceil(x))
round = _piecewise("round", lambda xp, x: xp.round(x))  # noqa: A001 - half to even, like PyTorch
trunc = _piecewise("trunc", lambda xp, x: xp.trunc(x))


def square(input: Tensor) -> Tensor:
    return mul(input, input)


# ---- selection --------------------------------------------------------------------------
class Where(Node):
    broadcasts = True
    saves_inputs = True

    def forward(self, cond, a, b):
        return self.xp.where(cond, a, b)

    def backward(self, grad):
        cond = self.saved_tensors[0]
        return (None,
                where(cond, grad, 0.0) if self.needs_input_grad(1) else None,
                where(cond, 0.0, grad) if self.needs_input_grad(2) else None)


def where(condition: Tensor, input=None, other=None) -> Tensor:
    """Elements of `input` where `condition`, else of `other`; with one argument, nonzero()."""
    if input is None and other is None:
        from .indexing import nonzero

        return nonzero(condition, as_tuple=True)
    if condition.dtype is not dt.bool:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                           f"{condition.dtype.name}")
    a, b = _promote(_check_operand(input, "where"), _check_operand(other, "where"))
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = Tensor._make(namespace_of(condition._data).asarray(a, dtype=dt.result_type(a, b).np))
    return Where()(condition, a, b)


class Clamp(Node):
    """clamp(x, min, max) with scalar or tensor bounds; the gradient passes where x is inside."""

    broadcasts = True
    saves_inputs = True

    def forward(self, x, lo, hi):
        xp = self.xp
        if lo is not None:
            x = xp.maximum(x, lo)
        if hi is not None:
            x = xp.minimum(x, hi)
        return x

    def backward(self, grad):
        x, lo, hi = self.saved_tensors
        inside = None
        if lo is not None:
            inside = x >= lo
        if hi is not None:
            inside = (x <= hi) if inside is None else inside & (x <= hi)
        return (where(inside, grad, 0.0),
                where(x < lo, grad, 0.0) if self.needs_input_grad(1) else None,
                where(x > hi, grad, 0.0) if self.needs_input_grad(2) else None)


def clamp(input: Tensor, min=None, max=None) -> Tensor:  # noqa: A002
    if min is None and max is None:
        raise RuntimeError("clamp: At least one of 'min' or 'max' must not be None")
    x = input
    lo = None if min is None else _check_operand(min, "clamp")
    hi = None if max is None else _check_operand(max, "clamp")
    for bound in (lo, hi):
        if bound is not None:
            x, _ = _promote(x, bound)
    lo = cast(lo, x.dtype) if isinstance(lo, Tensor) else lo
    hi = cast(hi, x.dtype) if isinstance(hi, Tensor) else hi
    return Clamp()(x, lo, hi)


clip = clamp


# ---- comparisons and logic (no gradient) -------------------------------------------------
def _compare(name: str, fn):
    def op(input, other) -> Tensor:
        a, b = _promote(_check_operand(input, name), _check_operand(other, name))
        return _no_grad_result(lambda xp, x, y: fn(x, y), a, b)

    op.__name__ = name
    op.__doc__ = f"Elementwise {name} (a bool tensor)."
    return op


eq = _compare("eq", lambda x, y: x == y)
ne = _compare("ne", lambda x, y: x != y)
lt = _compare("lt", lambda x, y: x < y)
le = _compare("le", lambda x, y: x <= y)
gt = _compare("gt", lambda x, y: x > y)
ge = _compare("ge", lambda x, y: x >= y)


def _logical(name: str, fn, bitwise: bool):
    def op(input, other) -> Tensor:
        a, b = _check_operand(input, name), _check_operand(other, name)
        if bitwise:
            a, b = _promote(a, b)
            for x in (a, b):
                if isinstance(x, Tensor) and x.dtype.is_floating_point:
                    raise RuntimeError(f"{name}: bitwise ops are not implemented for floating tensors ({x.dtype})")
        return _no_grad_result(lambda xp, x, y: fn(xp, x, y) if bitwise else fn(xp, xp.asarray(x) != 0,
                                                                                   xp.asarray(y) != 0), a, b)

    op.__name__ = name
    return op


bitwise_and = _logical("bitwise_and", lambda xp, x, y: x & y, True)
bitwise_or = _logical("bitwise_or", lambda xp, x, y: x | y, True)
bitwise_xor = _logical("bitwise_xor", lambda xp, x, y: x ^ y, True)
logical_and = _logical("logical_and", lambda xp, x, y: x & y, False)
logical_or = _logical("logical_or", lambda xp, x, y: x | y, False)
logical_xor = _logical("logical_xor", lambda xp, x, y: x ^ y, False)


def logical_not(input: Tensor) -> Tensor:
    return Tensor._make(input._data == 0)


def bitwise_not(input: Tensor) -> Tensor:
    if input.dtype.is_floating_point:
        raise RuntimeError(f"bitwise_not: not implemented for floating tensors ({input.dtype})")
    return Tensor._make(~input._data)


def isfinite(input: Tensor) -> Tensor:
    return Tensor._make(namespace_of(input._data).isfinite(input._data))


def isnan(input: Tensor) -> Tensor:
    return Tensor._make(input._data != input._data)


def isinf(input: Tensor) -> Tensor:
    return Tensor._make(namespace_of(input._data).isinf(input._data))


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
    return bool(namespace_of(input._data).allclose(input._data, other._data, rtol=rtol, atol=atol,
                                                  equal_nan=equal_nan))


def equal(input: Tensor, other: Tensor) -> bool:
    return input.shape == other.shape and bool((input._data == other._data).all())


# ---- in-place updates ---------------------------------------------------------------------
def apply_inplace(x: Tensor, fn, *args, op: str = "in-place op") -> Tensor:
    """Write `fn(x, *args)` into x's storage. When recording, x's history becomes the op's.

    The op runs on a clone of x, so nodes that saved x's old value keep it, and any
    node that saved x's storage itself sees the version bump and raises in backward.
    """
    recording = _state.enabled and (x._requires_grad or any(isinstance(a, Tensor) and a._requires_grad
                                                            for a in args))
    if recording:
        if x.grad_fn is None and x._requires_grad:
            raise RuntimeError(f"{op}: a leaf Variable that requires grad is being used in an in-place operation.")
        if x._base is not None and x._base._requires_grad:
            raise RuntimeError(f"{op}: in-place modification of a view of a tensor that requires grad is not "
                               "supported; apply the op out of place or clone() the view first.")
        out = fn(x.clone() if x._requires_grad else x, *args)
    else:
        out = fn(x, *args)
    if out._data.shape != x._data.shape:
        raise RuntimeError(f"{op}: output with shape {tuple(x.shape)} doesn't match the broadcast shape "
                           f"{tuple(out.shape)}")
    if out.dtype is not x.dtype and out.dtype._kind > x.dtype._kind:
        raise RuntimeError(f"{op}: result type {out.dtype.name} can't be cast to the desired output type "
                           f"{x.dtype.name}")
    try:
        x._data[...] = out._data
    except ValueError as e:
        raise RuntimeError(f"{op}: the tensor cannot be written in place (an expanded or read-only view): {e}") \
            from None
    x._bump_version()
    if recording:
        x.grad_fn = out.grad_fn
        x._out_nr = out._out_nr
        x._requires_grad = True
    return x


def _inplace(name: str, fn):
    def op(self: Tensor, *args, **kwargs) -> Tensor:
        return apply_inplace(self, lambda x, *a: fn(x, *a, **kwargs), *args, op=name)

    op.__name__ = name
    op.__doc__ = f"In-place {name[:-1]}."
    return op


add_ = _inplace("add_", add)
sub_ = _inplace("sub_", sub)
mul_ = _inplace("mul_", mul)
div_ = _inplace("div_", div)
pow_ = _inplace("pow_", pow)
clamp_ = _inplace("clamp_", clamp)
clip_ = clamp_
neg_ = _inplace("neg_", neg)
exp_ = _inplace("exp_", exp)
log_ = _inplace("log_", log)
sqrt_ = _inplace("sqrt_", sqrt)
abs_ = _inplace("abs_", abs)
relu_ = _inplace("relu_", relu)
sigmoid_ = _inplace("sigmoid_", sigmoid)
tanh_ = _inplace("tanh_", tanh)
floor_ = _inplace("floor_", floor)
round_ = _inplace("round_", round)


def copy_(self: Tensor, src: Tensor, non_blocking: bool = False) -> Tensor:
    """Copy src (broadcast, cast, moved to self's device) into self."""
    def fn(x, s):
        s = s.to(device=x.device, dtype=x.dtype)
        return add(x * 0, s) if x._data.shape != s._data.shape or s._requires_grad else Tensor._make(s._data)
    return apply_inplace(self, fn, src, op="copy_")


def zero_(self: Tensor) -> Tensor:
    return fill_(self, 0)


def fill_(self: Tensor, value) -> Tensor:
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value.ndim} dimensions.")
        return apply_inplace(self, lambda x, v: x * 0 + v, value, op="fill_")
    if _state.enabled and self._requires_grad:
        return apply_inplace(self, lambda x: x * 0 + value, op="fill_")
    self._data.fill(value)
    self._bump_version()
    return self


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    return add(input, mul(tensor1, tensor2), alpha=value)


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    return add(input, div(tensor1, tensor2), alpha=value)


def lerp(input: Tensor, end: Tensor, weight) -> Tensor:
    return add(input, mul(weight, sub(end, input)))


addcmul_ = _inplace("addcmul_", addcmul)
addcdiv_ = _inplace("addcdiv_", addcdiv)
lerp_ = _inplace("lerp_", lerp)


subtract, multiply, divide, true_divide, negative = sub, mul, div, div, neg
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
absolute = abs

TENSOR_METHODS = (
    "add", "sub", "mul", "div", "floor_divide", "remainder", "pow", "maximum", "minimum", "exp", "log", "log1p",
    "expm1", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "erf", "reciprocal", "abs", "relu", "neg", "sign",
    "floor", "ceil", "round", "trunc", "square", "clamp", "clip", "eq", "ne", "lt", "le", "gt", "ge", "logical_and",
    "logical_or", "logical_xor", "logical_not", "bitwise_not", "bitwise_and", "bitwise_or", "bitwise_xor",
    "isfinite", "isnan", "isinf", "allclose", "equal", "addcmul", "addcdiv", "lerp", "subtract", "multiply",
    "divide", "true_divide", "negative", "greater", "greater_equal", "less", "less_equal", "not_equal", "absolute",
    "add_", "sub_", "mul_", "div_", "pow_", "clamp_", "clip_", "neg_", "exp_", "log_", "sqrt_", "abs_", "relu_",
    "sigmoid_", "tanh_", "floor_", "round_", "copy_", "zero_", "fill_", "addcmul_", "addcdiv_", "lerp_")
__all__ = [n for n in TENSOR_METHODS if not n.endswith("_")] + ["where", "cast"]
