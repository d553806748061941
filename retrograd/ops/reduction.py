"""Reductions: sum, mean, var/std, max/min, prod, norm, logsumexp, cumsum, all/any, ...

`dim` is an int, a tuple of ints or None (all dims); `keepdim` keeps reduced
dims as size 1. Backward broadcasts the gradient back over the reduced dims.
"""
from __future__ import annotations

from .. import dtypes as dt
from ..autograd.node import Node
from ..tensor import Tensor, _wrap_dim


def normalize_dims(dim, ndim: int, op: str) -> tuple:
    """`dim` (None, int or sequence) as a sorted tuple of non-negative dims."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, int):
        return (_wrap_dim(dim, ndim, op),)
    dims = tuple(sorted(_wrap_dim(d, ndim, op) for d in dim))
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"{op}: dim {tuple(dim)} appears multiple times in the list of dims")
    return dims


def expand_reduced(grad: Tensor, shape: tuple, dims: tuple, keepdim: bool) -> Tensor:
    """Broadcast the gradient of a reduction back to the input's shape."""
    if not keepdim and len(shape):
        kept = list(shape)
        for d in dims:
            kept[d] = 1
        grad = grad.reshape(tuple(kept))
    return grad.expand(shape)


class Sum(Node):
    def __init__(self, dims: tuple, keepdim: bool, np_dtype=None):
        self.dims, self.keepdim, self.np_dtype = dims, keepdim, np_dtype

    def forward(self, x):
        self.shape = x.shape
        return self.xp.sum(x, axis=self.dims, keepdims=self.keepdim, dtype=self.np_dtype)

    def backward(self, grad):
        return expand_reduced(grad, self.shape, self.dims, self.keepdim)


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A001
    dims = normalize_dims(dim, input.ndim, "sum")
    d = dt.to_dtype(dtype) if dtype is not None else (input.dtype if input.dtype.is_floating_point else dt.int64)
    return Sum(dims, keepdim, d.np)(input)


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
        n = 1
        for d in self.dims:
            n *= self.shape[d]
        return expand_reduced(grad / n, self.shape, self.dims, self.keepdim)


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    if dtype is not None:
        input = input.to(dt.to_dtype(dtype))
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a floating point "
                           f"or complex dtype. Got: {input.dtype.name}")
    return Mean(normalize_dims(dim, input.ndim, "mean"), keepdim)(input)


TENSOR_METHODS = ("sum", "sum_to_size", "mean")
__all__ = ["sum", "mean"]
