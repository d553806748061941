"""Elementwise ops: arithmetic, math functions, comparisons, casts, in-place updates.

Each op is a Node with its forward (on arrays) and its backward (a Tensor formula,
so it can be differentiated again). Binary ops broadcast; the engine sums each
gradient back to its input's shape. Before an op runs, its inputs are cast to the
dtype PyTorch's promotion rules give (`dtypes.result_type`): NumPy's rules differ.
"""
from __future__ import annotations

import math

import numpy as np

from .. import array_extras as ax
from .. import dtypes as dt
from ..autograd import grad_mode
from ..autograd.node import Node
from ..device import device, device_of, namespace_of, to_device
from ..tensor import Tensor

_state = grad_mode.state
_SCALARS = (int, float, bool)
# The classes of NumPy's (and CuPy's) dtypes of kind 'f', and of kinds 'f', 'i', 'u', for the fast
# paths: `type(a.dtype) in _FLOATS` is cheaper than `a.dtype.kind == "f"` and compares no dtypes
# across libraries; other libraries' dtypes miss and take the general path.
_FLOATS = frozenset(type(d.np) for d in (dt.float16, dt.float32, dt.float64))
_NUMBERS = _FLOATS | frozenset(type(d.np) for d in dt.ALL if d._kind == 1)


# ---- dtype handling ----------------------------------------------------------------------
def cast(x: Tensor, d: dt.dtype) -> Tensor:
    """`x` as dtype `d`: differentiable between floating dtypes, a plain copy otherwise."""
    if x.dtype is d:
        return x
    if not d.is_floating_point or not x.dtype.is_floating_point:
        return Tensor._make(ax.astype(x._data, d))
    return Cast(d)(x)


class Cast(Node):
    def __init__(self, d: dt.dtype):
        self.d = d

    def forward(self, x):
        self.src = dt.of_array(x)
        return ax.astype(x, self.d)

    def backward(self, grad):
        return cast(grad, self.src)


class ToDevice(Node):
    def __init__(self, dev: device):
        self.dev = dev

    def forward(self, x):
        self.src = device_of(x)
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
    try:
        if type(a) is Tensor:
            tb = type(b)
            if tb is Tensor:
                if a._data.dtype is b._data.dtype:
                    return node_cls()(a, b)
            elif tb is float:
                if type(a._data.dtype) in _FLOATS:
                    return node_cls()(a, b)
            elif tb is int and type(a._data.dtype) in _NUMBERS:
                return node_cls()(a, b)
        elif type(b) is Tensor and (type(a) is float or type(a) is int) and type(b._data.dtype) in _FLOATS:
            return node_cls()(a, b)  # a number on the left of a float tensor
        return node_cls()(*_promote(_check_operand(a, op), _check_operand(b, op)))
    except (ValueError, OverflowError) as e:
        return _retry(node_cls, a, b, op, e)


def _retry(node_cls, a, b, op: str, error: Exception) -> Tensor:
    """After forward failed: wrap an out-of-range int scalar into the tensor's dtype (as PyTorch
    casts it) and run again, or raise PyTorch's error for shapes that do not broadcast."""
    if isinstance(error, OverflowError):
        return node_cls()(*_wrap_ints(*_promote(_check_operand(a, op), _check_operand(b, op))))
    raise _broadcast_error(op, (a, b), error) from None


def _wrap_ints(a, b):
    """Python ints cast to the other operand's integer dtype, wrapping around like a C cast."""
    def wrap(x, t):
        if type(x) is int and isinstance(t, Tensor):
            d = t.dtype
            if d._kind == 2:
                return float(x)
            if d._kind == 0:
                return bool(x)
            if not -(1 << 63) <= x < 1 << 64:  # no NumPy integer holds it
                raise OverflowError("Python int too large to convert to C long")
            bits = 8 * d.itemsize
            x %= 1 << bits
            return x - (1 << bits) if d.is_signed and x >= 1 << (bits - 1) else x
        return x
    return wrap(a, b), wrap(b, a)


def _broadcast_error(op: str, operands, error: Exception) -> Exception:
    """PyTorch's RuntimeError naming the first dimension where the shapes disagree, else `error`."""
    shapes = [tuple(getattr(x, "shape", ())) for x in operands]
    ndim = max(len(s) for s in shapes)
    for dim in range(ndim):
        sizes: dict = {}
        for letter, s in zip("abcd", shapes):
            k = dim - ndim + len(s)
            if k >= 0 and s[k] != 1:
                sizes.setdefault(s[k], letter)
        if len(sizes) > 1:
            (n1, t1), (n2, t2) = list(sizes.items())[:2]
            listed = " and ".join(str(s) for s in shapes)
            return RuntimeError(f"{op}: the size of tensor {t1} ({n1}) must match the size of tensor {t2} ({n2}) "
                                f"at non-singleton dimension {dim} (shapes {listed})")
    return error


def _promote(a, b):
    """Cast the operands of a binary op to their common dtype (PyTorch's rules)."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            if a._data.dtype is b._data.dtype or a._data.dtype == b._data.dtype:
                return a, b
        elif a.dtype._kind >= dt.scalar_kind(b):
            return a, (b if type(b) is not bool else _as_number(b, a))
    elif isinstance(b, Tensor):
        if b.dtype._kind >= dt.scalar_kind(a):
            return (a if type(a) is not bool else _as_number(a, b)), b
    else:
        raise TypeError(f"expected at least one Tensor operand, got {type(a).__name__} and {type(b).__name__}")
    d = dt.result_type(a, b)
    return (cast(a, d) if isinstance(a, Tensor) else a), (cast(b, d) if isinstance(b, Tensor) else b)


def _as_number(x, t: Tensor):
    """A bool scalar beside a numeric tensor as an int (the array API mixes bool scalars only with
    bool arrays); same values."""
    return int(x) if type(x) is bool and t.dtype._kind else x


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
        try:
            return self.xp.add(a, b)
        except TypeError as e:
            return _on_bools(self.xp, "logical_or", a, b, e)

    def backward(self, grad):
        return grad, grad

    backward_arrays = backward


class Sub(Node):
    broadcasts = True

    def forward(self, a, b):
        return self.xp.subtract(a, b)

    def backward(self, grad):
        return grad, -grad if self.needs_input_grad(1) else None

    backward_arrays = backward


class Mul(Node):
    broadcasts = True
    saves_inputs = True

    def forward(self, a, b):
        try:
            return self.xp.multiply(a, b)
        except TypeError as e:
            return _on_bools(self.xp, "logical_and", a, b, e)

    def backward(self, grad):
        a, b = self.saved_tensors
        return (grad * b if self.needs_input_grad(0) else None,
                grad * a if self.needs_input_grad(1) else None)

    def backward_arrays(self, grad):
        a, b = self.saved_arrays()
        edges = self.edges
        return grad * b if edges[0] is not None else None, grad * a if edges[1] is not None else None


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

    def backward_arrays(self, grad):
        a, b = self.saved_arrays()
        ga = grad / b
        return ga if self.edges[0] is not None else None, -ga * a / b if self.edges[1] is not None else None


class Pow(Node):
    broadcasts = True
    saves_inputs = True
    saves_output = True

    def forward(self, a, b):
        return self.xp.pow(a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        ga = gb = None
        if self.needs_input_grad(0):  # b a^(b-1), taken as 0 where b == 0 (as PyTorch does)
            if isinstance(b, Tensor):
                ga = where(b == 0, 0.0, grad * b * a ** (b - 1))
            else:
                ga = grad * b * a ** (b - 1) if b != 0 else grad * 0
        if self.needs_input_grad(1):
            # d(a^b)/db = a^b log(a), taken as 0 where a == 0 and b >= 0 (as PyTorch does)
            out = self.saved_output()
            if isinstance(a, Tensor):
                gb = grad * where((a == 0) & (b >= 0), 0.0, out * log(a))
            elif a == 0:
                gb = where(b >= 0, 0.0, grad * out * -math.inf)
            else:
                gb = grad * out * (math.log(a) if a > 0 else math.nan)
        return ga, gb

    def backward_arrays(self, grad):
        a, b = self.saved_tensors
        if isinstance(b, Tensor):  # a tensor exponent: the Tensor formula, with its masks
            return None
        return (grad * b * self.xp.pow(a._data, b - 1) if b != 0 else grad * 0), None


class Remainder(Node):
    broadcasts = True
    saves_inputs = True

    def forward(self, a, b):
        _check_int_divisor(self.xp, a, b)
        return self.xp.remainder(a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        return grad, (-grad * floor_divide(a, b) if self.needs_input_grad(1) else None)


class RoundedDiv(Node):
    """a / b rounded toward zero ('trunc') or down ('floor'): piecewise constant, so a zero gradient."""

    broadcasts = True

    def __init__(self, mode: str):
        self.mode = mode

    def forward(self, a, b):
        xp = self.xp
        if _check_int_divisor(xp, a, b) == "f":
            return xp.floor_divide(a, b) if self.mode == "floor" else xp.trunc(xp.divide(a, b))
        q = xp.floor_divide(a, b)
        if self.mode == "floor":
            return q
        # toward zero: one up where the floor went below a negative quotient (exact on integers)
        return xp.where((q < 0) & (xp.remainder(a, b) != 0), q + 1, q)

    def backward(self, grad):
        return (grad * 0 if self.needs_input_grad(0) else None,
                grad * 0 if self.needs_input_grad(1) else None)


def _on_bools(xp, logical: str, a, b, error: TypeError):
    """add, multiply, maximum, minimum of bools: the logical op NumPy's give (the standard has none
    of them on bools); for other operands, the standard's TypeError."""
    if all(ax.kind(x) == "b" if hasattr(x, "dtype") else type(x) is bool for x in (a, b)):
        return getattr(xp, logical)(xp.asarray(a), xp.asarray(b))
    raise error


def _check_int_divisor(xp, a, b) -> str:
    """The NumPy kind of the operands; integer division by zero raises, as in PyTorch."""
    kind = ax.kind(a if hasattr(a, "dtype") else b)
    if kind in "iub" and (not xp.all(b) if hasattr(b, "dtype") else b == 0):
        raise RuntimeError("ZeroDivisionError")
    return kind


class Maximum(Node):
    """max(a, b); where a == b the gradient is split in half, as in PyTorch."""

    broadcasts = True
    saves_inputs = True
    sign = 1

    def forward(self, a, b):
        try:
            return self.xp.maximum(a, b) if self.sign > 0 else self.xp.minimum(a, b)
        except TypeError as e:
            return _on_bools(self.xp, "logical_or" if self.sign > 0 else "logical_and", a, b, e)

    def backward(self, grad):
        a, b = self.saved_tensors
        a_wins = (a > b) if self.sign > 0 else (a < b)
        half = where(a == b, grad * 0.5, grad)
        return where(a_wins | (a == b), half, 0.0), where(~a_wins, half, 0.0)


class Minimum(Maximum):
    sign = -1


def add(input, other, *, alpha=1) -> Tensor:
    """input + alpha * other."""
    if alpha != 1 or alpha is True:
        other = _scaled(input, other, alpha, "add")
    return _binary(Add, input, other, "add")


def sub(input, other, *, alpha=1) -> Tensor:
    """input - alpha * other."""
    if alpha != 1 or alpha is True:
        other = _scaled(input, other, alpha, "sub")
    try:
        if type(input) is Tensor and type(input._data.dtype) in _FLOATS and (
                type(other) is float or type(other) is Tensor and other._data.dtype is input._data.dtype):
            return Sub()(input, other)
        if type(other) is Tensor and type(other._data.dtype) in _FLOATS and (
                type(input) is float or type(input) is int):
            return Sub()(input, other)
        a, b = _check_operand(input, "sub"), _check_operand(other, "sub")
        bools = sum(x.dtype is dt.bool if isinstance(x, Tensor) else isinstance(x, bool) for x in (a, b))
        if bools == 2:
            raise RuntimeError("sub: Subtraction, the `-` operator, with two bool tensors is not supported. "
                               "Use the `^` or `logical_xor()` operator instead.")
        if bools:
            raise RuntimeError("sub: Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
                               "trying to invert a mask, use the `~` or `logical_not()` operator instead.")
        return Sub()(*_promote(a, b))
    except (ValueError, OverflowError) as e:
        return _retry(Sub, input, other, "sub", e)


def _scaled(input, other, alpha, op: str):
    """alpha * other for add and sub, with PyTorch's checks on alpha's type."""
    kind = max(x.dtype._kind if isinstance(x, Tensor) else dt.scalar_kind(x)
               for x in (_check_operand(input, op), _check_operand(other, op)))
    if isinstance(alpha, bool) and kind != 0:
        raise RuntimeError(f"{op}: Boolean alpha only supported for Boolean results.")
    if isinstance(alpha, float) and kind != 2:
        raise RuntimeError(f"{op}: For integral input tensors, argument alpha must not be a floating point number.")
    return mul(other, alpha) if isinstance(other, Tensor) else other * alpha


def mul(input, other) -> Tensor:
    return _binary(Mul, input, other, "mul")


def div(input, other, *, rounding_mode: str | None = None) -> Tensor:
    """input / other; integers give floats unless rounding_mode is 'trunc' or 'floor'."""
    try:
        if rounding_mode is None and type(input) is Tensor and type(input._data.dtype) in _FLOATS and (
                type(other) is float or type(other) is Tensor and other._data.dtype is input._data.dtype):
            return Div()(input, other)
        a, b = _promote(_check_operand(input, "div"), _check_operand(other, "div"))
        if rounding_mode is None:
            if not _is_float(a) and not _is_float(b):  # true division of integers gives floats
                d = dt.get_default_dtype()
                a, b = (cast(x, d) if isinstance(x, Tensor) else float(x) for x in (a, b))
            return Div()(a, b)
    except ValueError as e:
        raise _broadcast_error("div", (input, other), e) from None
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                         f"'{rounding_mode}'")
    return _rounded_div(a, b, rounding_mode, "div")


def floor_divide(input, other) -> Tensor:
    """input / other rounded down (Python's //)."""
    a, b = _promote(_check_operand(input, "floor_divide"), _check_operand(other, "floor_divide"))
    return _rounded_div(a, b, "floor", "floor_divide")


def _rounded_div(a, b, mode: str, op: str) -> Tensor:
    try:
        return RoundedDiv(mode)(a, b)
    except OverflowError:
        return RoundedDiv(mode)(*_wrap_ints(a, b))
    except ValueError as e:
        raise _broadcast_error(op, (a, b), e) from None


def remainder(input, other) -> Tensor:
    return _binary(Remainder, input, other, "remainder")


def pow(input, exponent) -> Tensor:  # noqa: A001 - PyTorch's name
    """input ** exponent."""
    a, b = _promote(_check_operand(input, "pow"), _check_operand(exponent, "pow"))
    if isinstance(a, Tensor) and not a.dtype.is_floating_point and isinstance(b, Tensor) is False and b < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    return _checked(Pow(), "pow", a, b)


def maximum(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise max; ties split the gradient in half."""
    return _checked(Maximum(), "maximum", *_promote(input, _tensor_operand(other, "maximum")))


def minimum(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise min; ties split the gradient in half."""
    return _checked(Minimum(), "minimum", *_promote(input, _tensor_operand(other, "minimum")))


def _checked(node: Node, op: str, *operands) -> Tensor:
    """Run a broadcasting node; shapes that do not broadcast raise PyTorch's RuntimeError."""
    try:
        return node(*operands)
    except ValueError as e:
        raise _broadcast_error(op, operands, e) from None


def _tensor_operand(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'other' must be Tensor, not {type(x).__name__}")
    return x


def _is_float(x) -> bool:
    return x.dtype.is_floating_point if isinstance(x, Tensor) else isinstance(x, float)


def _no_grad_result(fn, a, b, op: str) -> Tensor:
    """A non-differentiable binary result (comparisons, logical and bitwise ops)."""
    xp = namespace_of((a if isinstance(a, Tensor) else b)._data)
    try:
        return Tensor._make(xp.asarray(fn(xp, _array(a), _array(b))))
    except OverflowError:
        a, b = _wrap_ints(a, b)
        return Tensor._make(xp.asarray(fn(xp, _array(a), _array(b))))
    except ValueError as e:
        raise _broadcast_error(op, (a, b), e) from None


def _array(x):
    return x._data if isinstance(x, Tensor) else x


# ---- unary math -------------------------------------------------------------------------
class Neg(Node):
    def forward(self, x):
        return self.xp.negative(x)

    def backward(self, grad):
        return -grad

    def backward_arrays(self, grad):
        return (-grad,)


class Exp(Node):
    saves_output = True

    def forward(self, x):
        return self.xp.exp(x)

    def backward(self, grad):
        return grad * self.saved_output()

    def backward_arrays(self, grad):
        return (grad * self.saved_output_array(),)


class Log(Node):
    saves_inputs = True

    def forward(self, x):
        return self.xp.log(x)

    def backward(self, grad):
        return grad / self.saved_tensors[0]

    def backward_arrays(self, grad):
        return (grad / self.saved_arrays()[0],)


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

    def backward_arrays(self, grad):
        y = self.saved_output_array()
        return (grad * (1 - y * y),)


class Sigmoid(Node):
    saves_output = True

    def forward(self, x):
        xp = self.xp
        return xp.exp(xp.negative(xp.logaddexp(0.0, xp.negative(x))))  # 1/(1+e^-x), never overflows

    def backward(self, grad):
        y = self.saved_output()
        return grad * y * (1 - y)

    def backward_arrays(self, grad):
        y = self.saved_output_array()
        return (grad * y * (1 - y),)


class Relu(Node):
    saves_output = True

    def forward(self, x):
        if type(x) is np.ndarray:  # a zero of x's own type: no conversion of a Python int per call (~20% faster)
            return np.maximum(x, x.dtype.type(0))
        return self.xp.maximum(x, 0)

    def backward(self, grad):
        return grad * (self.saved_output() > 0)

    def backward_arrays(self, grad):
        mask = self.saved_output_array() > 0
        if type(mask) is np.ndarray:  # NumPy multiplies by uint8 ~25% faster than by bool (same bytes)
            return (grad * mask.view(np.uint8),)
        try:
            return (grad * mask,)
        except TypeError:  # the standard multiplies no float array by a bool one: the mask in grad's dtype
            return (grad * self.xp.astype(mask, grad.dtype),)


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
    """erf through the library's special functions (SciPy's on the host) when available, else a
    1.5e-7-accurate series."""
    try:
        y = ax.erf(xp, x)
    except ImportError:
        # Abramowitz-Stegun 7.1.26 has 1.5e-7 absolute error: enough for float32, not float64
        t = 1 / (1 + 0.3275911 * xp.abs(x))
        poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
        y = xp.sign(x) * (1 - poly * xp.exp(-x * x))
    return y if y.dtype == x.dtype else xp.astype(y, x.dtype)  # SciPy computes float16 in float32


def _unary(node_cls, floating: bool = True, on_bool: tuple | None = None):
    """The public function of a one-input op: int/bool inputs become float first when `floating`;
    otherwise a bool input raises `on_bool` (an exception type and message) when given."""
    def op(input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(f"{node_cls.__name__.lower()}(): argument 'input' must be Tensor, "
                            f"not {type(input).__name__}")
        if floating:
            return node_cls()(input if type(input._data.dtype) in _FLOATS else as_float(input))
        if on_bool is not None and type(input._data.dtype) not in _NUMBERS and input.dtype is dt.bool:
            raise on_bool[0](on_bool[1])
        return node_cls()(input)

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
abs = _unary(Abs, False, (NotImplementedError, "abs: not implemented for bool tensors"))  # noqa: A001
relu = _unary(Relu, False, (RuntimeError, "relu: Boolean inputs not supported for relu"))
neg = _unary(Neg, False, (RuntimeError, "neg: Negation, the `-` operator, on a bool tensor is not supported. If "
                                        "you are trying to invert a mask, use the `~` or `logical_not()` operator "
                                        "instead."))


def _piecewise(name: str, fn, identity_kinds: str = "iu"):
    """A rounding-like op; on tensors of `identity_kinds` (NumPy kinds) it is a copy."""
    def op(input: Tensor) -> Tensor:
        kind = ax.kind(input._data)
        if kind in identity_kinds:
            return input.clone()
        if kind == "b":
            raise NotImplementedError(f"{name}: not implemented for bool tensors")
        return Piecewise(fn)(input)

    op.__name__ = name
    op.__doc__ = f"Elementwise {name} (zero gradient)."
    return op


sign = _piecewise("sign", lambda xp, x: xp.sign(x), "b")
floor = _piecewise("floor", lambda xp, x: xp.floor(x))
ceil = _piecewise("ceil", lambda xp, x: xp.ceil(x))
trunc = _piecewise("trunc", lambda xp, x: xp.trunc(x))
_round = _piecewise("round", lambda xp, x: xp.round(x))  # half to even, like PyTorch


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001 - PyTorch's name
    """Round half to even, to `decimals` decimal places (zero gradient)."""
    if not decimals or ax.kind(input._data) in "iub":
        return _round(input)
    return Piecewise(lambda xp, x: _round_decimals(xp, x, decimals))(input)


def _round_decimals(xp, x, decimals: int):
    """Round half to even to `decimals` places: NumPy's own, else its formula in the standard
    (scale, round, unscale)."""
    if xp is np:
        return xp.round(x, decimals)
    if decimals > 0:
        scale = 10.0 ** decimals
        return xp.round(x * scale) / scale
    scale = 10.0 ** -decimals
    return xp.round(x / scale) * scale


def square(input: Tensor) -> Tensor:
    """input * input (bool gives int64, as in PyTorch)."""
    return mul(input, input) if input.dtype is not dt.bool else mul(*(cast(input, dt.int64),) * 2)


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
    a, b = _check_operand(input, "where"), _check_operand(other, "where")
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        a, b = _promote(a, b)
    else:  # two scalars: a 0-dim tensor of their common dtype, with the other scalar of the same kind
        d = dt.result_type(a, b)
        xp = namespace_of(condition._data)
        a = Tensor._make(xp.asarray((bool, int, float)[d._kind](a), dtype=dt.native(d, xp)))
        b = _as_number(b, a)
    return _checked(Where(), "where", condition, a, b)


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
    lo = cast(lo, x.dtype) if isinstance(lo, Tensor) else lo if type(lo) is not bool else _as_number(lo, x)
    hi = cast(hi, x.dtype) if isinstance(hi, Tensor) else hi if type(hi) is not bool else _as_number(hi, x)
    return _checked(Clamp(), "clamp", x, lo, hi)


def clamp_min(input: Tensor, min) -> Tensor:  # noqa: A002
    """clamp(input, min=min)."""
    return clamp(input, min=min)


def clamp_max(input: Tensor, max) -> Tensor:  # noqa: A002
    """clamp(input, max=max)."""
    return clamp(input, max=max)


clip = clamp


# ---- comparisons and logic (no gradient) -------------------------------------------------
def _compare(name: str, fn):
    def op(input, other) -> Tensor:
        a, b = _promote(_check_operand(input, name), _check_operand(other, name))
        return _no_grad_result(lambda xp, x, y: fn(x, y), a, b, name)

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
                    raise NotImplementedError(f"{name}: bitwise ops are not implemented for floating tensors "
                                              f"({x.dtype})")
        return _no_grad_result(lambda xp, x, y: fn(xp, x, y) if bitwise else fn(xp, _truth(xp, x), _truth(xp, y)),
                               a, b, name)

    op.__name__ = name
    return op


def _truth(xp, x):
    """x != 0 as a bool array (a bool array as it is)."""
    x = xp.asarray(x)
    return x if ax.kind(x) == "b" else x != 0


bitwise_and = _logical("bitwise_and", lambda xp, x, y: x & y, True)
bitwise_or = _logical("bitwise_or", lambda xp, x, y: x | y, True)
bitwise_xor = _logical("bitwise_xor", lambda xp, x, y: x ^ y, True)
logical_and = _logical("logical_and", lambda xp, x, y: x & y, False)
logical_or = _logical("logical_or", lambda xp, x, y: x | y, False)
logical_xor = _logical("logical_xor", lambda xp, x, y: x ^ y, False)


def logical_not(input: Tensor) -> Tensor:
    x = input._data
    xp = namespace_of(x)
    return Tensor._make(xp.asarray(xp.logical_not(x) if ax.kind(x) == "b" else x == 0))


def bitwise_not(input: Tensor) -> Tensor:
    if input.dtype.is_floating_point:
        raise NotImplementedError(f"bitwise_not: not implemented for floating tensors ({input.dtype})")
    return Tensor._make(namespace_of(input._data).asarray(~input._data))


def isfinite(input: Tensor) -> Tensor:
    xp = namespace_of(input._data)
    return Tensor._make(xp.asarray(xp.isfinite(input._data)))


def isnan(input: Tensor) -> Tensor:
    return Tensor._make(namespace_of(input._data).asarray(input._data != input._data))


def isinf(input: Tensor) -> Tensor:
    xp = namespace_of(input._data)
    return Tensor._make(xp.asarray(xp.isinf(input._data)))


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
    return ax.allclose(namespace_of(input._data), input._data, other._data, rtol, atol, equal_nan)


def equal(input: Tensor, other: Tensor) -> bool:
    return input.shape == other.shape and bool(namespace_of(input._data).all(input._data == other._data))


# ---- in-place updates ---------------------------------------------------------------------
def apply_inplace(x: Tensor, fn, *args, op: str = "in-place op") -> Tensor:
    """Write `fn(x, *args)` into x's storage. When recording, x's history becomes the op's.

    When recording, the op runs on a clone of x, so nodes that saved x's old value keep it,
    and any node that saved x's storage itself sees the version bump and raises in backward.
    """
    recording = _state.enabled and (x._requires_grad or any(isinstance(a, Tensor) and a._requires_grad
                                                            for a in args))
    if recording:
        if x.grad_fn is None and x._requires_grad:
            raise RuntimeError(f"{op}: a leaf Variable that requires grad is being used in an in-place operation.")
        if x._base is not None:
            return _inplace_through_view(x, fn, args, op)
        out = fn(x.clone(), *args)
    else:
        out = fn(x, *args)
    if out._data.shape != x._data.shape:
        raise RuntimeError(f"{op}: output with shape {list(x.shape)} doesn't match the broadcast shape "
                           f"{list(out.shape)}")
    if out._data.dtype != x._data.dtype:
        if out.dtype._kind > x.dtype._kind:
            raise RuntimeError(f"{op}: result type {out.dtype.name} can't be cast to the desired output type "
                               f"{x.dtype.name}")
        out = cast(out, x.dtype)  # x's new history must produce x's dtype; the standard writes no other
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


def _inplace_through_view(x: Tensor, fn, args, op: str) -> Tensor:
    """An in-place op on a view while recording (PyTorch's CopySlices): the parent's history
    becomes "parent with the view's region replaced by the result", so gradients reach the
    parent's inputs and the op's arguments. Supported for views made by basic indexing."""
    spec = x.__dict__.get("_view_key")
    if spec is None:
        made_by = x.grad_fn.name if x.grad_fn is not None else "a view op"
        raise RuntimeError(f"{op}: in-place modification of a view made by {made_by} is not supported while "
                           "recording gradients; use index assignment on the base (t[idx] = ...) or an out-of-place op")
    parent, key = spec
    parent[key] = fn(x.clone(), *args)  # an index write on the parent: it records, bumps the shared version
    fresh = parent[key]
    x.grad_fn, x._out_nr, x._requires_grad = fresh.grad_fn, fresh._out_nr, True
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
remainder_ = _inplace("remainder_", remainder)
clamp_ = _inplace("clamp_", clamp)
clip_ = clamp_
clamp_min_ = _inplace("clamp_min_", clamp_min)
clamp_max_ = _inplace("clamp_max_", clamp_max)
neg_ = _inplace("neg_", neg)
exp_ = _inplace("exp_", exp)
log_ = _inplace("log_", log)
log1p_ = _inplace("log1p_", log1p)
expm1_ = _inplace("expm1_", expm1)
sqrt_ = _inplace("sqrt_", sqrt)
rsqrt_ = _inplace("rsqrt_", rsqrt)
sin_ = _inplace("sin_", sin)
cos_ = _inplace("cos_", cos)
erf_ = _inplace("erf_", erf)
reciprocal_ = _inplace("reciprocal_", reciprocal)
square_ = _inplace("square_", square)
abs_ = _inplace("abs_", abs)
relu_ = _inplace("relu_", relu)
sigmoid_ = _inplace("sigmoid_", sigmoid)
tanh_ = _inplace("tanh_", tanh)
sign_ = _inplace("sign_", sign)
floor_ = _inplace("floor_", floor)
ceil_ = _inplace("ceil_", ceil)
trunc_ = _inplace("trunc_", trunc)
round_ = _inplace("round_", round)


class Copy(Node):
    """x overwritten by src (broadcast to x's shape, cast to its dtype): what copy_ and fill_ compute.
    Nothing of x's old value survives, so its gradient is zero; src gets the gradient summed."""

    broadcasts = True

    def forward(self, x, src):
        out = self.xp.empty_like(x)
        if not hasattr(src, "shape"):
            src = _scalar_of_kind(src, ax.kind(x))
        try:
            out[...] = src
        except ValueError as e:
            raise _broadcast_error("copy_", (x, src), RuntimeError(
                f"copy_: output with shape {list(x.shape)} doesn't match the broadcast shape "
                f"{list(getattr(src, 'shape', ()))}")) from e
        return out

    def backward(self, grad):
        return grad * 0 if self.needs_input_grad(0) else None, grad


def copy_(self: Tensor, src: Tensor, non_blocking: bool = False) -> Tensor:
    """Copy src (broadcast, cast, moved to self's device) into self."""
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'other' must be Tensor, not {type(src).__name__}")
    return apply_inplace(self, lambda x, s: Copy()(x, s.to(device=x.device, dtype=x.dtype)), src, op="copy_")


def zero_(self: Tensor) -> Tensor:
    """Fill with zeros."""
    return fill_(self, 0)


def fill_(self: Tensor, value) -> Tensor:
    """Fill with a number or a 0-dim tensor."""
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value.ndim} dimensions.")
        return apply_inplace(self, lambda x, v: Copy()(x, v.to(dtype=x.dtype)), value, op="fill_")
    if _state.enabled and self._requires_grad:
        return apply_inplace(self, lambda x: Copy()(x, value), op="fill_")
    x = self._data
    if type(x) is np.ndarray:
        x.fill(value)
    else:
        x[...] = _scalar_of_kind(value, ax.kind(x))
    self._bump_version()
    return self


def _scalar_of_kind(value, kind: str):
    """A Python number as the scalar type the standard lets an array of NumPy kind `kind` take
    (cast like NumPy's assignment: floats toward zero into integers)."""
    return bool(value) if kind == "b" else float(value) if kind == "f" else int(value)


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """input + value * tensor1 * tensor2."""
    return add(input, mul(tensor1, tensor2), alpha=value)


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """input + value * tensor1 / tensor2 (float tensors only, as in PyTorch)."""
    if not tensor1.dtype.is_floating_point and not tensor2.dtype.is_floating_point:
        raise RuntimeError(f"addcdiv: integer division with addcdiv is no longer supported (tensor1 is "
                           f"{tensor1.dtype.name}, tensor2 is {tensor2.dtype.name}); use input + value * "
                           f"tensor1 / tensor2 for true division")
    return add(input, div(tensor1, tensor2), alpha=value)


def lerp(input: Tensor, end: Tensor, weight) -> Tensor:
    """input + weight * (end - input), for floating tensors of one dtype."""
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"lerp: not implemented for {input.dtype.name} tensors")
    for name, t in (("end", end), ("weight", weight)):
        if isinstance(t, Tensor) and t.dtype is not input.dtype and (name == "end" or t.ndim):
            raise RuntimeError(f"lerp: expected dtype {input.dtype.name} for `{name}` but got dtype {t.dtype.name}")
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
    "clamp_min", "clamp_max",
    "add_", "sub_", "mul_", "div_", "pow_", "remainder_", "clamp_", "clip_", "clamp_min_", "clamp_max_", "neg_",
    "exp_", "log_", "log1p_", "expm1_", "sqrt_", "rsqrt_", "sin_", "cos_", "erf_", "reciprocal_", "square_", "abs_",
    "relu_", "sigmoid_", "tanh_", "sign_", "floor_", "ceil_", "trunc_", "round_", "copy_", "zero_", "fill_",
    "addcmul_", "addcdiv_", "lerp_")
__all__ = [n for n in TENSOR_METHODS if not n.endswith("_")] + ["where", "cast"]
