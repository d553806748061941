"""Reductions: sum, mean, var/std, max/min, prod, norm, logsumexp, cumsum, all/any, softmax, ...

`dim` is an int, a tuple of ints or None (all dims; an empty tuple means all dims
too, as in PyTorch); `keepdim` keeps reduced dims as size 1. Backward broadcasts
the gradient back over the reduced dims. Ops that pick elements (max/min along a
dim, sort, topk, ...) gather them with `TakeAlong`, whose gradient scatters back
through the indices.
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from .. import array_extras as ax
from .. import dtypes as dt
from ..autograd.node import Node
from ..device import namespace_of
from ..tensor import Tensor, _wrap_dim
from .elementwise import as_float, cast, maximum, minimum, where


# ---- dims and shapes ---------------------------------------------------------------------
def normalize_dims(dim, ndim: int, op: str) -> tuple:
    """`dim` (None, int or sequence; empty means all) as a sorted tuple of non-negative dims."""
    if isinstance(dim, int):
        d = _wrap_dim(dim, ndim, op)
        return (d,) if ndim else ()
    if dim is None or len(dim) == 0:
        return tuple(range(ndim))
    dims = tuple(sorted(_wrap_dim(d, ndim, op) for d in dim))
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"{op}: dim {tuple(dim)} appears multiple times in the list of dims")
    return dims if ndim else ()


def _kept_shape(shape: tuple, dims: tuple) -> tuple:
    """`shape` with the reduced dims as size 1."""
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _numel(shape: tuple, dims: tuple) -> int:
    n = 1
    for d in dims:
        n *= shape[d]
    return n


def keep_reduced(grad, shape: tuple, dims: tuple, keepdim: bool):
    """The gradient of a reduction (a Tensor or an array) with its reduced dims as size 1, ready to broadcast."""
    if keepdim or not shape:
        return grad
    kept = _kept_shape(shape, dims)
    if isinstance(grad, Tensor):
        return grad.reshape(kept)
    return ax.reshape(grad, kept) if grad.ndim else grad  # 0-d (on NumPy maybe a scalar) broadcasts as it is


def expand_reduced(grad: Tensor, shape: tuple, dims: tuple, keepdim: bool) -> Tensor:
    """Broadcast the gradient of a reduction back to the input's shape."""
    return keep_reduced(grad, shape, dims, keepdim).expand(shape)


def _safe(t: Tensor) -> Tensor:
    """`t` with zeros replaced by ones: a denominator whose masked-out quotients stay finite."""
    return where(t == 0, 1.0, t)


def _check_nonempty(input: Tensor, dims: tuple, op: str, dim_given: bool) -> None:
    """Reductions without an identity (max, argmax, kthvalue, ...) need non-empty reduced dims."""
    if not dim_given and input._data.size == 0:
        exc = IndexError if op.startswith("arg") else RuntimeError
        raise exc(f"{op}(): Expected reduction dim to be specified for input.numel() == 0. "
                  f"Specify the reduction dim with the 'dim' argument.")
    for d in dims:
        if input._data.shape[d] == 0:
            raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size "
                             f"(input shape {tuple(input.shape)}).")


def _accumulation(input: Tensor, dtype) -> tuple:
    """(input, retrograd dtype to accumulate in) for sum/prod/cumsum/cumprod: ints and bools give int64.

    A floating `dtype` for a floating input is a differentiable cast before the op, so
    the gradient keeps the input's dtype; otherwise the op accumulates in the target dtype.
    """
    if dtype is None:
        return (input, None) if input.dtype.is_floating_point else (input, dt.int64)
    d = dt.to_dtype(dtype)
    if d.is_floating_point and input.dtype.is_floating_point:
        return cast(input, d), None
    return input, d


def _acc_args(xp, x, acc) -> tuple:
    """(x, the library's dtype) for an accumulation in retrograd dtype `acc`; the standard accumulates
    only numbers, so bools are cast first."""
    if acc is None:
        return x, None
    return (ax.astype(x, acc) if ax.kind(x) == "b" else x), dt.native(acc, xp)


def _one_dim(node, input: Tensor, dim: int, op: str) -> Tensor:
    """Run `node(d)` along one dim; a 0-dim input runs as shape (1,) (NumPy has no axis 0 there)."""
    d = _wrap_dim(dim, input.ndim, op)
    if input.ndim == 0:
        return node(0)(input.reshape(1)).reshape(())
    return node(d)(input)


# ---- sum, mean, prod -------------------------------------------------------------------------
class Sum(Node):
    def __init__(self, dims: tuple, keepdim: bool, acc=None):
        self.dims, self.keepdim, self.acc = dims, keepdim, acc

    def forward(self, x):
        self.shape = x.shape
        if self.acc is None and x.ndim:
            out = ax.sum_keep(self.xp, x, self.dims)  # BLAS over blocks of dims of large arrays
            if self.keepdim:
                return out
            return ax.reshape(out, tuple(s for i, s in enumerate(x.shape) if i not in self.dims))
        x, dtype = (x, None) if self.acc is None else _acc_args(self.xp, x, self.acc)
        return self.xp.sum(x, axis=self.dims, keepdims=self.keepdim, dtype=dtype)

    def backward(self, grad):
        return expand_reduced(grad, self.shape, self.dims, self.keepdim)

    def backward_arrays(self, grad):
        return (self.xp.broadcast_to(keep_reduced(grad, self.shape, self.dims, self.keepdim), self.shape),)


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A001
    """Sum over `dim` (all dims by default); int and bool inputs sum to int64."""
    x, acc = _accumulation(input, dtype)
    return Sum(normalize_dims(dim, x.ndim, "sum"), keepdim, acc)(x)


def sum_to_size(input: Tensor, *size) -> Tensor:
    """Sum over the dims along which `size` was broadcast to `input.shape`."""
    shape = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else size
    lead = input.ndim - len(shape)
    if lead < 0:
        raise RuntimeError(f"sum_to_size: size {shape} is not expandable to {tuple(input.shape)}")
    dims = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                      if s == 1 and input._data.shape[lead + i] != 1)
    out = Sum(dims, True)(input) if dims else input
    return out.reshape(shape) if lead else out


class Mean(Sum):
    def forward(self, x):
        self.shape = x.shape
        return self.xp.mean(x, axis=self.dims, keepdims=self.keepdim)

    def backward(self, grad):
        return expand_reduced(grad / _numel(self.shape, self.dims), self.shape, self.dims, self.keepdim)

    def backward_arrays(self, grad):
        return Sum.backward_arrays(self, grad / _numel(self.shape, self.dims))


def _check_floating(input: Tensor, op: str) -> None:
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{op}(): could not infer output dtype. Input dtype must be either a floating point "
                           f"or complex dtype. Got: {input.dtype.name}")


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean over `dim`; integer inputs need a floating `dtype=`, as in PyTorch."""
    x = input if dtype is None else cast(input, dt.to_dtype(dtype))
    _check_floating(x, "mean")
    return Mean(normalize_dims(dim, x.ndim, "mean"), keepdim)(x)


class Prod(Node):
    """Product over dims; the gradient is exact with zeros in the input, to second order.

    d(prod)/dx_i is the product of the others: prod/x_i where x_i != 0. Where x_i == 0
    it is the product of the nonzero entries if x_i is the only zero, and 0 otherwise;
    with exactly two zeros it is written `nz * (x_other_zero)` so that it still has the
    right derivative.
    """

    saves_inputs = True
    saves_output = True

    def __init__(self, dims: tuple, keepdim: bool, acc=None):
        self.dims, self.keepdim, self.acc = dims, keepdim, acc

    def forward(self, x):
        self.shape = x.shape
        x, dtype = _acc_args(self.xp, x, self.acc)
        return self.xp.prod(x, axis=self.dims, keepdims=self.keepdim, dtype=dtype)

    def backward(self, grad):
        x, xp = self.saved_tensors[0], self.xp
        dims = self.dims
        g = keep_reduced(grad, self.shape, dims, self.keepdim)
        p = keep_reduced(self.saved_output(), self.shape, dims, self.keepdim)
        zero = x._data == 0
        if not xp.any(zero):
            return g * p / x
        zeros = Tensor._make(zero)
        count = xp.sum(ax.astype(zero, dt.int64), axis=dims, keepdims=True)
        nonzero_prod = Prod(dims, True)(where(zeros, 1.0, x))
        other_zero = sum(where(zeros, x, 0.0), dims, keepdim=True) - x  # 0, but d/d(other zero) = 1
        at_zero = nonzero_prod * where(Tensor._make(count == 1), 1.0,
                                       where(Tensor._make(count == 2), other_zero, 0.0))
        return g * where(zeros, at_zero, p / where(zeros, 1.0, x))


def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product of all elements, or along one dim; int and bool inputs give int64."""
    if dim is not None and not isinstance(dim, int):
        raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__}")
    x, acc = _accumulation(input, dtype)
    return Prod(normalize_dims(dim, x.ndim, "prod"), keepdim, acc)(x)


# ---- cumulative ------------------------------------------------------------------------------
class Cumsum(Node):
    """Cumulative sum along a dim (from the end when `reverse`: the adjoint of the forward one)."""

    def __init__(self, dim: int, reverse: bool = False, acc=None):
        self.dim, self.reverse, self.acc = dim, reverse, acc

    def forward(self, x):
        xp, d = self.xp, self.dim
        x, dtype = _acc_args(xp, x, self.acc)
        if self.reverse:
            return xp.flip(xp.cumulative_sum(xp.flip(x, axis=d), axis=d, dtype=dtype), axis=d)
        return xp.cumulative_sum(x, axis=d, dtype=dtype)

    def backward(self, grad):
        return Cumsum(self.dim, not self.reverse)(grad)


def _reverse_cumsum(t: Tensor, dim: int) -> Tensor:
    return Cumsum(dim, True)(t)


class Cumprod(Node):
    """Cumulative product; the gradient is exact with zeros (second derivatives: without zeros).

    d(sum_k g_k y_k)/dx_i = sum_{k>=i} g_k prod_{j<=k, j!=i} x_j: that is
    revcumsum(g*y)/x_i before the first zero of a row, revcumsum(g*cumprod(x with that
    zero set to 1)) at it, and 0 after it (every term has the zero as a factor).
    """

    saves_inputs = True
    saves_output = True

    def __init__(self, dim: int, acc=None):
        self.dim, self.acc = dim, acc

    def forward(self, x):
        x, dtype = _acc_args(self.xp, x, self.acc)
        return self.xp.cumulative_prod(x, axis=self.dim, dtype=dtype)

    def backward(self, grad):
        x, d = self.saved_tensors[0], self.dim
        y = self.saved_output()
        zero = x._data == 0
        if not self.xp.any(zero):
            return _reverse_cumsum(grad * y, d) / x
        seen = self.xp.cumulative_sum(ax.astype(zero, dt.int64), axis=d)
        before, first = Tensor._make(seen == 0), Tensor._make(zero & (seen == 1))
        upto_first = _reverse_cumsum(grad * y, d) / where(before, x, 1.0)
        at_first = _reverse_cumsum(grad * Cumprod(d)(where(first, 1.0, x)), d)
        return where(before, upto_first, where(first, at_first, 0.0))


def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Cumulative sum along `dim`; int and bool inputs give int64."""
    x, acc = _accumulation(input, dtype)
    return _one_dim(lambda d: Cumsum(d, False, acc), x, dim, "cumsum")


def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Cumulative product along `dim`; int and bool inputs give int64."""
    x, acc = _accumulation(input, dtype)
    return _one_dim(lambda d: Cumprod(d, acc), x, dim, "cumprod")


# ---- variance ------------------------------------------------------------------------------
class Var(Node):
    saves_inputs = True

    def __init__(self, dims: tuple, correction, keepdim: bool):
        self.dims, self.correction, self.keepdim = dims, correction, keepdim

    def forward(self, x):
        self.shape = x.shape
        return self.xp.var(x, axis=self.dims, correction=self.correction, keepdims=self.keepdim)

    def backward(self, grad):
        return self._grad(keep_reduced(grad, self.shape, self.dims, self.keepdim))

    def _grad(self, g: Tensor) -> Tensor:
        """d(var)/dx = 2 (x - mean) / (N - correction), for a gradient with reduced dims kept."""
        x = self.saved_tensors[0]
        n = _numel(self.shape, self.dims) - self.correction
        return g * (2.0 / n if n else math.inf) * (x - x.mean(self.dims, keepdim=True))


class Std(Var):
    """sqrt(var); where std == 0 the gradient is 0, as in PyTorch."""

    saves_output = True

    def forward(self, x):
        return self.xp.sqrt(super().forward(x))

    def backward(self, grad):
        s = keep_reduced(self.saved_output(), self.shape, self.dims, self.keepdim)
        g = keep_reduced(grad, self.shape, self.dims, self.keepdim)
        return self._grad(g * where(s == 0, 0.0, 0.5 / _safe(s)))


def _variance(node_cls, op: str, input: Tensor, dim, unbiased, keepdim: bool, correction) -> Tensor:
    if isinstance(dim, bool):  # var(input, unbiased)
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{op}(): pass either unbiased= or correction=, not both")
    if correction is None:
        correction = 0 if unbiased is False else 1
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{op}(): std and var only support floating point and complex dtypes, "
                           f"got {input.dtype.name}")
    return node_cls(normalize_dims(dim, input.ndim, op), correction, keepdim)(input)


def var(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction=None) -> Tensor:
    """Variance with `correction` (1 by default: Bessel's); `unbiased=False` means correction 0."""
    return _variance(Var, "var", input, dim, unbiased, keepdim, correction)


def std(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction=None) -> Tensor:
    """Standard deviation: sqrt(var) with the same arguments."""
    return _variance(Std, "std", input, dim, unbiased, keepdim, correction)


def var_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction=None) -> tuple:
    """(var, mean) over the same dims."""
    v = var(input, dim, unbiased, keepdim, correction=correction)
    return v, mean(input, None if isinstance(dim, bool) else dim, keepdim)


def std_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction=None) -> tuple:
    """(std, mean) over the same dims."""
    s = std(input, dim, unbiased, keepdim, correction=correction)
    return s, mean(input, None if isinstance(dim, bool) else dim, keepdim)


# ---- max, min and selection along a dim ------------------------------------------------------
def _tie_weights(xp, x, out, dims: tuple, keepdim: bool, nan_matches: bool = False):
    """1/count at the elements equal to the reduced value (`out`), 0 elsewhere: an even split of ties.

    With `nan_matches`, a NaN result is matched by the NaN elements (PyTorch does so for
    max()/min()/median() over everything, but not for amax/amin, whose gradient is then NaN).
    """
    if not keepdim:
        out = ax.reshape(out, _kept_shape(x.shape, dims))
    mask = x == out
    if nan_matches and ax.kind(x) == "f":
        mask |= xp.isnan(x) & xp.isnan(out)
    mask = ax.astype(mask, dt.of_array(x))
    return mask / xp.sum(mask, axis=dims, keepdims=True)


class AMax(Node):
    """amax/amin, and max()/min() over everything: the gradient is split evenly among tied extrema."""

    saves_inputs = True
    saves_output = True
    nan_matches = False

    def __init__(self, dims: tuple, keepdim: bool, smallest: bool = False):
        self.dims, self.keepdim, self.smallest = dims, keepdim, smallest

    def forward(self, x):
        self.shape = x.shape
        xp = self.xp
        if ax.kind(x) == "b":  # the standard's max/min take numbers only
            fn = xp.all if self.smallest else xp.any
        else:
            fn = xp.min if self.smallest else xp.max
        return fn(x, axis=self.dims, keepdims=self.keepdim)

    def backward(self, grad):
        x = self.saved_tensors[0]._data
        w = _tie_weights(self.xp, x, self.saved_output()._data, self.dims, self.keepdim, self.nan_matches)
        return keep_reduced(grad, self.shape, self.dims, self.keepdim) * Tensor._make(w)


class Extremum(AMax):
    """max()/min() over everything: like amax/amin, but a NaN result sends the gradient to the NaNs."""

    nan_matches = True


class TakeAlong(Node):
    """x's entries at `index` (an array as long as x in every dim but `dim`) along `dim`.

    The gradient is the adjoint, a scatter into zeros: `PutAlong`. `out_shape` reshapes
    the result (dropping a kept dim of size 1).
    """

    def __init__(self, index, dim: int, out_shape: tuple):
        self.index, self.dim, self.out_shape = index, dim, out_shape

    def forward(self, x):
        self.in_shape = x.shape
        return ax.reshape(ax.take_along_axis(self.xp, x, self.index, self.dim), self.out_shape)

    def backward(self, grad):
        return PutAlong(self.index, self.dim, self.in_shape)(grad)


class PutAlong(Node):
    """Zeros of `shape` with the values put at `index` along `dim` (indices unique along dim)."""

    def __init__(self, index, dim: int, shape: tuple):
        self.index, self.dim, self.shape = index, dim, shape

    def forward(self, values):
        self.in_shape = values.shape
        return ax.put_along_axis(self.xp, self.shape, self.index, ax.reshape(values, self.index.shape), self.dim)

    def backward(self, grad):
        return TakeAlong(self.index, self.dim, self.in_shape)(grad)


ReturnValuesIndices = namedtuple("ReturnValuesIndices", ("values", "indices"))


def _return_type(name: str):
    """A (values, indices) namedtuple class named like torch.return_types.<name>."""
    return type(name, (ReturnValuesIndices,), {"__slots__": ()})


max_type, min_type = _return_type("max"), _return_type("min")


def select_along(input: Tensor, dim: int, keepdim: bool, op: str, index_fn, result_type, check_empty: bool = True):
    """(values, indices) of the entries that `index_fn(xp, array, axis)` picks along `dim`.

    `index_fn` returns indices with the reduced dim kept (size 1 or k); values are
    gathered with a differentiable `TakeAlong`. A 0-dim input acts as shape (1,).
    """
    d = _wrap_dim(dim, input.ndim, op)
    scalar = input.ndim == 0
    x = input.reshape(1) if scalar else input
    if check_empty:
        _check_nonempty(x, (d,), op, True)
    a = x._data
    idx = index_fn(namespace_of(a), a, d)
    out_shape = () if scalar else (idx.shape if keepdim else idx.shape[:d] + idx.shape[d + 1:])
    values = TakeAlong(idx, d, out_shape)(x)
    return result_type(values, Tensor._make(ax.reshape(idx, out_shape)))


def _extremum(input: Tensor, dim, keepdim: bool, other, smallest: bool):
    op = "min" if smallest else "max"
    if isinstance(dim, Tensor) or other is not None:
        return (minimum if smallest else maximum)(input, dim if other is None else other)
    if dim is None:
        _check_nonempty(input, (), op, False)
        return Extremum(tuple(range(input.ndim)), False, smallest)(input)
    arg = "argmin" if smallest else "argmax"

    def index(xp, a, d):
        if ax.kind(a) == "b":  # the standard's argmax/argmin take numbers only
            a = ax.astype(a, dt.uint8)
        return getattr(xp, arg)(a, axis=d, keepdims=True)

    return select_along(input, dim, keepdim, op, index, min_type if smallest else max_type)


def max(input: Tensor, dim=None, keepdim: bool = False, *, other: Tensor | None = None):  # noqa: A001
    """max(input): the largest value; max(input, dim): (values, indices); max(input, other): maximum."""
    return _extremum(input, dim, keepdim, other, False)


def min(input: Tensor, dim=None, keepdim: bool = False, *, other: Tensor | None = None):  # noqa: A001
    """min(input): the smallest value; min(input, dim): (values, indices); min(input, other): minimum."""
    return _extremum(input, dim, keepdim, other, True)


def _amax(input: Tensor, dim, keepdim: bool, smallest: bool) -> Tensor:
    op = "amin" if smallest else "amax"
    dims = normalize_dims(dim, input.ndim, op)
    _check_nonempty(input, dims, op, bool(dim) or dim == 0)
    return AMax(dims, keepdim, smallest)(input)


def amax(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Largest values over `dim` (all dims by default); ties share the gradient evenly."""
    return _amax(input, dim, keepdim, False)


def amin(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Smallest values over `dim` (all dims by default); ties share the gradient evenly."""
    return _amax(input, dim, keepdim, True)


def _arg_extremum(input: Tensor, dim, keepdim: bool, op: str) -> Tensor:
    a = input._data
    xp = namespace_of(a)
    if ax.kind(a) == "b":
        raise RuntimeError(f"{op}(): does not support bool input")
    int64 = dt.native(dt.int64, xp)
    if dim is None:
        _check_nonempty(input, (), op, False)
        idx = getattr(xp, op)(a)
        return Tensor._make(ax.reshape(xp.asarray(idx, dtype=int64), (1,) * a.ndim if keepdim else ()))
    d = _wrap_dim(dim, a.ndim, op)
    if a.ndim == 0:
        return Tensor._make(xp.zeros((), dtype=int64))
    _check_nonempty(input, (d,), op, True)
    return Tensor._make(xp.asarray(getattr(xp, op)(a, axis=d, keepdims=keepdim), dtype=int64))


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the largest value (of the flattened input when dim is None), int64."""
    return _arg_extremum(input, dim, keepdim, "argmax")


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the smallest value (of the flattened input when dim is None), int64."""
    return _arg_extremum(input, dim, keepdim, "argmin")


# ---- norm and logsumexp ------------------------------------------------------------------------
class Norm(Node):
    """Vector p-norm over dims; at a zero vector the gradient is 0 (PyTorch's subgradient)."""

    saves_inputs = True
    saves_output = True

    def __init__(self, p: float, dims: tuple, keepdim: bool):
        self.p, self.dims, self.keepdim = p, dims, keepdim

    def forward(self, x):
        xp, p, dims, kd = self.xp, self.p, self.dims, self.keepdim
        self.shape = x.shape
        if p == 2:
            if len(dims) == x.ndim and not kd:
                flat = ax.reshape(x, (-1,))
                return xp.sqrt(xp.vecdot(flat, flat))  # a dot product: several times faster than sum(x * x)
            return xp.sqrt(xp.sum(x * x, axis=dims, keepdims=kd))
        if p == 0:
            return xp.sum(ax.astype(x != 0, dt.of_array(x)), axis=dims, keepdims=kd)
        a = xp.abs(x)
        if p == 1:
            return xp.sum(a, axis=dims, keepdims=kd)
        if math.isinf(p):
            return (xp.max if p > 0 else xp.min)(a, axis=dims, keepdims=kd)
        return xp.sum(a ** p, axis=dims, keepdims=kd) ** (1.0 / p)

    def backward(self, grad):
        x, p = self.saved_tensors[0], self.p
        if p == 0:
            return None
        g = keep_reduced(grad, self.shape, self.dims, self.keepdim)
        if p == 1:
            return g * x.sign()
        n = keep_reduced(self.saved_output(), self.shape, self.dims, self.keepdim)
        if p == 2:
            return g * x / _safe(n)
        if math.isinf(p):
            a = x._data
            w = _tie_weights(self.xp, self.xp.abs(a), n._data, self.dims, True) * self.xp.sign(a)
            return g * Tensor._make(w)
        return g * x.sign() * _safe(x).abs() ** (p - 1) / _safe(n) ** (p - 1)


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, out=None, dtype=None) -> Tensor:
    """Vector p-norm over `dim` (all dims by default): p = 2 ('fro'), 1, inf, -inf, 0 or any float."""
    x = input if dtype is None else cast(input, dt.to_dtype(dtype))
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"norm(): expected a floating point tensor as input, got {x.dtype.name}")
    dims = normalize_dims(dim, x.ndim, "norm")
    if isinstance(p, str):
        if p == "nuc":
            raise NotImplementedError("norm(): the nuclear norm (p='nuc') is not supported")
        if p != "fro":
            raise RuntimeError(f"norm(): order {p!r} not supported; expected a number, 'fro' or 'nuc'")
        if dim is not None and not isinstance(dim, int) and len(dim) > 2:
            raise RuntimeError(f"norm(): the Frobenius norm needs at most 2 dims, got dim={tuple(dim)}")
        p = 2
    if math.isinf(p) and x._data.size == 0:
        raise RuntimeError(f"norm(): cannot compute the {p} norm of an empty tensor (shape "
                           f"{tuple(x.shape)}): the operation has no identity")
    return Norm(float(p), dims, keepdim)(x)


class LogSumExp(Node):
    """log(sum(exp(x))) computed as m + log(sum(exp(x - m))) with m the (finite) max."""

    saves_inputs = True
    saves_output = True

    def __init__(self, dims: tuple, keepdim: bool):
        self.dims, self.keepdim = dims, keepdim

    def forward(self, x):
        xp, dims = self.xp, self.dims
        self.shape = x.shape
        kept = _kept_shape(x.shape, dims)
        m = xp.max(x, axis=dims, keepdims=True) if x.size else xp.zeros(kept, dtype=x.dtype)
        m = xp.where(xp.isfinite(m), m, 0.0)
        e = ax.exp_inplace(xp, x - m)
        out = xp.log(xp.sum(e, axis=dims, keepdims=True)) + m
        return out if self.keepdim else ax.reshape(out, tuple(s for i, s in enumerate(x.shape) if i not in dims))

    def backward(self, grad):
        x = self.saved_tensors[0]
        out = keep_reduced(self.saved_output(), self.shape, self.dims, self.keepdim)
        return keep_reduced(grad, self.shape, self.dims, self.keepdim) * (x - out).exp()


def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """log(sum(exp(input))) over `dim`, without overflow; integer inputs give floats."""
    x = as_float(input)
    if x.ndim == 0:
        normalize_dims(dim, 0, "logsumexp")
        return LogSumExp((0,), False)(x.reshape(1)).reshape(())
    return LogSumExp(normalize_dims(dim, x.ndim, "logsumexp"), keepdim)(x)


# ---- softmax ------------------------------------------------------------------------------
class Softmax(Node):
    """exp(x - max) / sum(exp(x - max)) along a dim."""

    saves_output = True

    def __init__(self, dim: int):
        self.dim = dim

    def forward(self, x):
        xp, d = self.xp, self.dim
        if not x.size:
            return ax.copy(x)
        e = ax.exp_inplace(xp, x - xp.max(x, axis=d, keepdims=True))
        e /= ax.sum_keep(xp, e, (d,))
        return e

    def backward(self, grad):
        y = self.saved_output()
        return y * (grad - (grad * y).sum(self.dim, keepdim=True))

    def backward_arrays(self, grad):
        y = self.saved_output_array()
        g = grad * y
        s = ax.sum_keep(self.xp, g, (self.dim,))
        if type(g) is np.ndarray:
            g = np.subtract(grad, s, out=g)
        else:
            g = grad - s
        g *= y
        return (g,)


class LogSoftmax(Softmax):
    """x - max - log(sum(exp(x - max))) along a dim."""

    def forward(self, x):
        xp, d = self.xp, self.dim
        if not x.size:
            return ax.copy(x)
        s = x - xp.max(x, axis=d, keepdims=True)
        s -= xp.log(ax.sum_keep(xp, xp.exp(s), (d,)))
        return s

    def backward(self, grad):
        return grad - self.saved_output().exp() * grad.sum(self.dim, keepdim=True)

    def backward_arrays(self, grad):
        xp = self.xp
        e = xp.exp(self.saved_output_array())
        e *= ax.sum_keep(xp, grad, (self.dim,))
        return (np.subtract(grad, e, out=e) if type(e) is np.ndarray else grad - e,)


def _softmax(node_cls, op: str, input: Tensor, dim: int, dtype) -> Tensor:
    x = input if dtype is None else cast(input, dt.to_dtype(dtype))
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f"{op}(): not implemented for {x.dtype.name} input; pass a floating "
                                  f"point tensor or dtype=")
    return _one_dim(node_cls, x, dim, op)


def softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """exp(input) normalised to sum to 1 along `dim` (computed stably)."""
    return _softmax(Softmax, "softmax", input, dim, dtype)


def log_softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """log(softmax(input, dim)), computed directly for stability."""
    return _softmax(LogSoftmax, "log_softmax", input, dim, dtype)


# ---- logical reductions (no gradient) ---------------------------------------------------------
def _logical(input: Tensor, dim, keepdim: bool, op: str) -> Tensor:
    a = input._data
    xp = namespace_of(a)
    axis = () if isinstance(dim, (tuple, list)) and not dim else normalize_dims(dim, a.ndim, op)
    out = xp.asarray(getattr(xp, op)(a, axis=axis, keepdims=keepdim))
    return Tensor._make(ax.astype(out, dt.uint8) if a.dtype == xp.uint8 else out)


def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Whether every element (over `dim`) is nonzero: bool (uint8 for uint8 input, as PyTorch)."""
    return _logical(input, dim, keepdim, "all")


def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Whether some element (over `dim`) is nonzero: bool (uint8 for uint8 input, as PyTorch)."""
    return _logical(input, dim, keepdim, "any")


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """Number of nonzero elements over `dim` (all by default), int64."""
    a = input._data
    xp = namespace_of(a)
    return Tensor._make(xp.asarray(xp.count_nonzero(a, axis=normalize_dims(dim, a.ndim, "count_nonzero")),
                                   dtype=dt.native(dt.int64, xp)))


TENSOR_METHODS = ("sum", "sum_to_size", "mean", "prod", "cumsum", "cumprod", "var", "std", "max", "min", "amax",
                  "amin", "argmax", "argmin", "norm", "logsumexp", "softmax", "log_softmax", "all", "any",
                  "count_nonzero")
__all__ = ["sum", "mean", "prod", "cumsum", "cumprod", "var", "std", "var_mean", "std_mean", "max", "min", "amax",
           "amin", "argmax", "argmin", "norm", "logsumexp", "softmax", "log_softmax", "all", "any",
           "count_nonzero"]
