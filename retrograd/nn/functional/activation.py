"""Activation functions: relu & co, gelu, silu, softplus, elu family, softmax, ...

Most are `Pointwise` nodes: forward computes f(x) on arrays in a few passes; backward
is grad * f'(x), where f'(x) is itself a node (`Slope`) whose backward is grad * f''(x)
written with Tensor ops, so every order of derivative works while first-order
backward stays one array pass for f' and one multiply.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ...autograd.node import Node
from ...ops.elementwise import _erf, apply_inplace, as_float, where
from ...ops.elementwise import relu as _relu
from ...ops.elementwise import sigmoid as _sigmoid_op
from ...ops.elementwise import tanh as _tanh_op
from ...ops.reduction import log_softmax as _log_softmax
from ...ops.reduction import softmax as _softmax
from ...tensor import Tensor

_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_K = math.sqrt(2.0 / math.pi)
_TANH_C = 0.044715
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_EXP_CAP: dict = {}


def sigmoid_array(xp, x):
    """1 / (1 + exp(-x)) on arrays; exp's argument is capped where the result underflows anyway."""
    cap = _EXP_CAP.get(x.dtype)
    if cap is None:
        cap = _EXP_CAP[x.dtype] = float(math.floor(math.log(float(xp.finfo(x.dtype).max))))
    if xp is np:  # in place: one buffer for the four passes
        e = xp.negative(x)
        xp.minimum(e, cap, out=e)
        xp.exp(e, out=e)
        e += 1
        return xp.reciprocal(e, out=e)
    e = xp.exp(xp.minimum(xp.negative(x), cap))
    e += 1
    return 1 / e


# log(erfc(z) / 2) + z^2 - log(t) as a polynomial in t = 1 / (1 + z/2), lowest power first: a least-squares
# Chebyshev fit over z in [0, 14.7] (t in [0.12, 1]), beyond which float32 erfc underflows; error 7e-8
_ERFC_FIT = (-1.95864776, 0.99975682, 0.37655013, 0.08468227, -0.15077296, 0.21378140, -1.06009603, 1.43554146,
             -0.80132288, 0.16738044)


_CHUNK = 2**16  # elements: the passes over a chunk's few 256 KiB buffers stay in the L2 cache


def normal_cdf_array(xp, x):
    """Phi(x) = erfc(-x / sqrt 2) / 2 on arrays. float64 through erf; float32 by the fit above, in about 30
    in-place passes (SciPy's erf works in double, element by element: ~25x slower), with relative error
    below 2e-6 for |x| < 3 and no cancellation in the lower tail. On NumPy, chunk by chunk."""
    if x.dtype == xp.float64:
        cdf = _erf(xp, x * (1 / _SQRT_2))
        cdf += 1.0
        cdf *= 0.5
        return cdf
    return in_chunks(xp, _normal_cdf32, x)


def in_chunks(xp, fn, x, *more):
    """fn(xp, x, *more) for elementwise `fn` of same-shaped arrays; on NumPy, over L2-sized chunks of
    their flattened elements, so that fn's several passes reread cached data."""
    if xp is not np or x.size <= _CHUNK:
        return fn(xp, x, *more)
    flat = [a.reshape(-1) for a in (x, *more)]
    out = np.empty(flat[0].shape, x.dtype)
    for i in range(0, flat[0].size, _CHUNK):
        out[i:i + _CHUNK] = fn(np, *(a[i:i + _CHUNK] for a in flat))
    return out.reshape(x.shape)


def _normal_cdf32(xp, x):
    """Phi(x) in float32: Phi(-|x|) = erfc(|x| / sqrt 2) / 2 from the fit, reflected where x > 0."""
    z = xp.abs(x)
    z *= 1 / _SQRT_2
    t = z * 0.5
    t += 1.0
    t = xp.reciprocal(t, out=t) if xp is np else 1.0 / t
    acc = t * _ERFC_FIT[-1]
    for c in _ERFC_FIT[-2:0:-1]:
        acc += c
        acc *= t
    acc += _ERFC_FIT[0]
    z *= z
    acc -= z
    half_erfc = xp.exp(acc, out=acc) if xp is np else xp.exp(acc)
    half_erfc *= t  # Phi(-|x|)
    if xp is np:  # Phi(|x|) - Phi(-|x|) = 1 - 2 Phi(-|x|), added where x > 0; t's buffer is free
        upper = np.multiply(half_erfc, -2.0, out=t)
        upper += 1.0
        upper *= x > 0
    else:
        upper = (1.0 - 2.0 * half_erfc) * xp.astype(x > 0, x.dtype)
    upper += half_erfc
    return upper


def _gelu_slope(xp, x, cdf):
    """GELU's derivative Phi(x) + x phi(x), given Phi(x)."""
    out = x * x
    out *= -0.5
    out = xp.exp(out, out=out) if xp is np else xp.exp(out)
    out *= x
    out *= _INV_SQRT_2PI
    out += cdf
    return out


def softplus_array(xp, x):
    """log(1 + exp(x)) on arrays, without overflow."""
    return xp.logaddexp(x, 0.0)


# ---- the pointwise machinery ------------------------------------------------------------------
class Pointwise(Node):
    """y = f(x) elementwise. Subclasses give f and f' on arrays and f'' as a Tensor formula
    (or None where f is piecewise linear)."""

    saves_inputs = True

    def forward(self, x):
        return self.f(self.xp, x)

    def backward(self, grad):
        return grad * Slope(self)(self.saved_tensors[0])

    def backward_arrays(self, grad):
        slope = self.df(self.xp, self.saved_arrays()[0])  # a new array: multiplied in place
        slope *= grad
        return (slope,)

    def f(self, xp, x):
        raise NotImplementedError

    def df(self, xp, x):
        raise NotImplementedError

    def d2f(self, x: Tensor) -> Tensor | None:
        return None


class Slope(Node):
    """f'(x) of a `Pointwise` op, as a node so that backward can be differentiated again."""

    saves_inputs = True

    def __init__(self, op: Pointwise):
        self.op = op

    @property
    def name(self) -> str:
        return type(self.op).__name__ + "BackwardBackward"

    def forward(self, x):
        return self.op.df(self.xp, x)

    def backward(self, grad):
        second = self.op.d2f(self.saved_tensors[0])
        return None if second is None else grad * second


def _scalar(xp, x, value: float):
    """`value` in x's dtype: a NumPy scalar on NumPy and CuPy, a 0-d array for other libraries."""
    if xp is np:
        return x.dtype.type(value)
    make = getattr(x.dtype, "type", None)
    return make(value) if make is not None else xp.asarray(value, dtype=x.dtype, device=x.device)


def _mask(xp, cond, x, inside: float = 1.0, outside: float = 0.0):
    """`inside` where cond, else `outside`, in x's dtype."""
    if xp is np:
        make = x.dtype.type
        return xp.where(cond, make(inside), make(outside))
    return xp.where(cond, _scalar(xp, x, inside), _scalar(xp, x, outside))


class Gelu(Pointwise):
    """x Phi(x) with Phi the normal CDF (erf form), or its tanh approximation."""

    def __init__(self, approximate: str):
        self.approximate = approximate

    def _tanh_parts(self, xp, x):
        """(s, du/dx) with s = (1 + tanh(u)) / 2 = sigmoid(2u), u = k (x + c x^3): the sigmoid form has no
        cancellation where tanh(u) is near -1."""
        x2 = x * x
        return sigmoid_array(xp, (2.0 * _TANH_K) * (x + _TANH_C * x2 * x)), _TANH_K * (1.0 + 3.0 * _TANH_C * x2)

    def f(self, xp, x):
        if self.approximate == "tanh":
            s, _ = self._tanh_parts(xp, x)
            s *= x
            return s
        self.cdf = normal_cdf_array(xp, x)  # the costly part: backward reuses it
        return x * self.cdf

    def df(self, xp, x):
        if self.approximate == "tanh":  # s + 2 x s (1 - s) u'  (= 0.5 (1 + t) + 0.5 x (1 - t^2) u')
            s, du = self._tanh_parts(xp, x)
            out = 1.0 - s
            out *= s
            out *= du
            out *= 2.0 * x
            out += s
            return out
        return in_chunks(xp, _gelu_slope, x, self.cdf)

    def d2f(self, x):
        if self.approximate == "tanh":  # (1 - t^2) (u' - x t u'^2 + x u''/2)
            x2 = x * x
            t = _tanh_op(_TANH_K * (x + _TANH_C * x2 * x))
            du = _TANH_K * (1.0 + 3.0 * _TANH_C * x2)
            return (1 - t * t) * (du - x * t * du * du + (3.0 * _TANH_C * _TANH_K) * x2)
        return (x * x * -0.5).exp() * _INV_SQRT_2PI * (2 - x * x)  # phi(x) (2 - x^2)


class Silu(Pointwise):
    """x sigmoid(x)."""

    def f(self, xp, x):
        s = sigmoid_array(xp, x)
        s *= x
        return s

    def df(self, xp, x):  # s (1 + x (1 - s))
        s = sigmoid_array(xp, x)
        out = 1.0 - s
        out *= x
        out += 1.0
        out *= s
        return out

    def d2f(self, x):  # s (1 - s) (2 + x (1 - 2 s))
        s = _sigmoid_op(x)
        return s * (1 - s) * (2 + x * (1 - 2 * s))


class Mish(Pointwise):
    """x tanh(softplus(x))."""

    def f(self, xp, x):
        out = xp.tanh(softplus_array(xp, x))
        out *= x
        return out

    def df(self, xp, x):  # T + x (1 - T^2) s
        t = xp.tanh(softplus_array(xp, x))
        out = 1.0 - t * t
        out *= sigmoid_array(xp, x)
        out *= x
        out += t
        return out

    def d2f(self, x):  # (1 - T^2) s (2 + x (1 - s - 2 T s))
        s = _sigmoid_op(x)
        t = _tanh_op(softplus(x))
        return (1 - t * t) * s * (2 + x * (1 - s - 2 * t * s))


class Softplus(Pointwise):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold."""

    def __init__(self, beta: float, threshold: float):
        self.beta, self.threshold = beta, threshold

    def f(self, xp, x):
        bx = x * self.beta
        out = softplus_array(xp, bx)
        if self.beta != 1:
            out /= self.beta
        return xp.where(bx > self.threshold, x, out)

    def df(self, xp, x):
        bx = x * self.beta
        return xp.where(bx > self.threshold, _scalar(xp, x, 1), sigmoid_array(xp, bx))

    def d2f(self, x):
        s = _sigmoid_op(x * self.beta)
        return where(x * self.beta > self.threshold, 0.0, s * (1 - s) * self.beta)


class LogSigmoid(Pointwise):
    """log(sigmoid(x)) = -softplus(-x)."""

    def f(self, xp, x):
        return -softplus_array(xp, -x)

    def df(self, xp, x):
        return sigmoid_array(xp, -x)

    def d2f(self, x):
        s = _sigmoid_op(x)
        return s * (s - 1)


class Elu(Pointwise):
    """scale * (x if x > 0 else alpha (exp(input_scale x) - 1)): elu, selu and celu."""

    def __init__(self, alpha: float, scale: float = 1.0, input_scale: float = 1.0):
        self.alpha, self.scale, self.input_scale = alpha, scale, input_scale

    def f(self, xp, x):
        neg = xp.expm1(x * self.input_scale)
        neg *= self.alpha * self.scale
        return xp.where(x > 0, x * self.scale if self.scale != 1 else x, neg)

    def df(self, xp, x):
        neg = xp.exp(x * self.input_scale)
        neg *= self.alpha * self.scale * self.input_scale
        return xp.where(x > 0, _scalar(xp, x, self.scale), neg)

    def d2f(self, x):
        c = self.alpha * self.scale * self.input_scale * self.input_scale
        return where(x > 0, 0.0, (x * self.input_scale).exp() * c)


class LeakyRelu(Pointwise):
    def __init__(self, negative_slope: float):
        self.negative_slope = negative_slope

    def f(self, xp, x):
        return xp.where(x > 0, x, x * self.negative_slope)

    def df(self, xp, x):
        return _mask(xp, x > 0, x, 1.0, self.negative_slope)


class Hardtanh(Pointwise):
    """x clipped to [min_val, max_val]; the gradient passes strictly inside."""

    def __init__(self, min_val: float, max_val: float):
        self.min_val, self.max_val = min_val, max_val

    def f(self, xp, x):
        return xp.clip(x, self.min_val, self.max_val)

    def df(self, xp, x):
        return _mask(xp, (x > self.min_val) & (x < self.max_val), x)


class Threshold(Pointwise):
    def __init__(self, threshold: float, value: float):
        self.threshold, self.value = threshold, value

    def f(self, xp, x):
        return xp.where(x > self.threshold, x, _scalar(xp, x, self.value))

    def df(self, xp, x):
        return _mask(xp, x > self.threshold, x)


class Hardsigmoid(Pointwise):
    """relu6(x + 3) / 6."""

    def f(self, xp, x):
        out = xp.clip(x + 3.0, 0.0, 6.0)
        out /= 6.0
        return out

    def df(self, xp, x):
        return _mask(xp, (x > -3.0) & (x < 3.0), x, 1 / 6)


class Hardswish(Pointwise):
    """x relu6(x + 3) / 6."""

    def f(self, xp, x):
        out = xp.clip(x + 3.0, 0.0, 6.0)
        out *= x
        out /= 6.0
        return out

    def df(self, xp, x):
        return xp.where(x < -3.0, _scalar(xp, x, 0), xp.where(x <= 3.0, x / 3.0 + 0.5, _scalar(xp, x, 1)))

    def d2f(self, x):
        return where((x > -3.0) & (x <= 3.0), 1 / 3, 0.0).to(x.dtype)


# ---- public functions ---------------------------------------------------------------------------
def _apply(node: Node, input: Tensor, inplace: bool, op: str) -> Tensor:
    """Run a one-input node, in place on `input` when asked."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if inplace:
        return apply_inplace(input, node, op=op + "_")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{op}(): expected a floating point input, got dtype {input.dtype.name}")
    return node(input)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0)."""
    return input.relu_() if inplace else _relu(input)


def relu_(input: Tensor) -> Tensor:
    return input.relu_()


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6)."""
    return _apply(Hardtanh(0.0, 6.0), input, inplace, "relu6")


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val]."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    return _apply(Hardtanh(min_val, max_val), input, inplace, "hardtanh")


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else value."""
    return _apply(Threshold(threshold, value), input, inplace, "threshold")


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x where x > 0, else negative_slope * x."""
    return _apply(LeakyRelu(negative_slope), input, inplace, "leaky_relu")


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, else alpha (exp(x) - 1)."""
    return _apply(Elu(alpha), input, inplace, "elu")


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with the self-normalising constants."""
    return _apply(Elu(_SELU_ALPHA, _SELU_SCALE), input, inplace, "selu")


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, else alpha (exp(x / alpha) - 1)."""
    if alpha == 0:
        raise RuntimeError("celu: ZeroDivisionError (alpha must not be 0)")
    return _apply(Elu(alpha, 1.0, 1.0 / alpha), input, inplace, "celu")


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x Phi(x) (Phi the normal CDF); approximate='tanh' uses the tanh formula."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh, got '{approximate}'")
    return _apply(Gelu(approximate), input, False, "gelu")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x sigmoid(x) (swish)."""
    return _apply(Silu(), input, inplace, "silu")


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x))."""
    return _apply(Mish(), input, inplace, "mish")


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta; linear where beta x > threshold."""
    return _apply(Softplus(beta, threshold), input, False, "softplus")


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)), computed stably."""
    return _apply(LogSigmoid(), input, False, "log_sigmoid")


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6."""
    return _apply(Hardsigmoid(), input, inplace, "hardsigmoid")


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x relu6(x + 3) / 6."""
    return _apply(Hardswish(), input, inplace, "hardswish")


def tanh(input: Tensor) -> Tensor:
    return _tanh_op(input)


def sigmoid(input: Tensor) -> Tensor:
    return _sigmoid_op(input)


def _softmax_dim(name: str, ndim: int, dim: int | None) -> int:
    """`dim`, or PyTorch's legacy implicit choice (with its deprecation warning) when None."""
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                  f"as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """exp(x) normalised to sum to 1 along `dim`."""
    return _softmax(input, _softmax_dim("softmax", input.ndim, dim), dtype=dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(-x) along `dim`."""
    return _softmax(-as_float(input), _softmax_dim("softmin", input.ndim, dim), dtype=dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """log(softmax(x)) along `dim`, computed directly for stability."""
    return _log_softmax(input, _softmax_dim("log_softmax", input.ndim, dim), dtype=dtype)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b) where a, b are the halves of `input` along `dim`."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    size = input.shape[dim]
    if size % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim % input.ndim} is size {size}")
    a, b = input.chunk(2, dim)
    return a * _sigmoid_op(b)


__all__ = ["relu", "relu_", "relu6", "hardtanh", "threshold", "leaky_relu", "elu", "selu", "celu", "gelu", "silu",
           "mish", "softplus", "logsigmoid", "hardsigmoid", "hardswish", "tanh", "sigmoid", "softmax", "softmin",
           "log_softmax", "glu"]
