"""Sorting and selection: sort, argsort, topk, kthvalue, median.

Each returns (values, indices) like PyTorch's return types; the values are
gathered from the input with `TakeAlong`, so their gradient flows back to the
selected positions. With `stable=True` equal elements keep their order; NaN
sorts as the largest value, as in PyTorch.
"""
from __future__ import annotations

import numpy as np

from .. import array_extras as ax
from .. import dtypes as dt
from ..device import namespace_of
from ..tensor import Tensor, _wrap_dim
from .reduction import Extremum, _check_nonempty, _return_type, select_along

sort_type, topk_type = _return_type("sort"), _return_type("topk")
kthvalue_type, median_type = _return_type("kthvalue"), _return_type("median")


def _argsort(xp, a, axis: int, descending: bool, stable: bool = False):
    """argsort; a stable one keeps equal elements in their original order, descending too.

    Descending is an ascending sort of the reversed array (NumPy has no `descending`), which also puts NaN first.
    """
    if type(a) is not np.ndarray and ax.kind(a) == "b":  # the standard's argsort takes no bool (NumPy's does)
        a = ax.astype(a, dt.uint8)
    if not descending:
        return xp.argsort(a, axis=axis, stable=stable)
    idx = xp.argsort(xp.flip(a, axis=axis), axis=axis, stable=stable)
    return (a.shape[axis] - 1) - xp.flip(idx, axis=axis)


def _slice(a, axis: int, start: int, stop: int):
    return a[(slice(None),) * axis + (slice(start, stop), Ellipsis)]


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """(values, indices) sorted along `dim`; `stable` keeps the order of equal elements."""
    return select_along(input, dim, True, "sort", lambda xp, a, d: _argsort(xp, a, d, descending, stable), sort_type,
                        check_empty=False)


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort `input` along `dim`, int64."""
    a = input._data
    if a.ndim == 0:
        _wrap_dim(dim, 0, "argsort")
        xp = namespace_of(a)
        return Tensor._make(xp.zeros((), dtype=dt.native(dt.int64, xp)))
    return Tensor._make(_argsort(namespace_of(a), a, _wrap_dim(dim, a.ndim, "argsort"), descending, stable))


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
    """(values, indices) of the k largest (or smallest) entries along `dim`, in order."""
    d = _wrap_dim(dim, input.ndim, "topk")
    n = input._data.shape[d] if input.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: selected index k out of range: k={k}, but dim {d} of the input (shape "
                           f"{tuple(input.shape)}) has size {n}")
    if input.dtype.name == "bool":
        raise RuntimeError("topk: does not support bool dtypes")

    def index(xp, a, axis):
        if k == 0 or k == n:
            return _slice(_argsort(xp, a, axis, largest), axis, 0, k)
        part = ax.argpartition(xp, a, n - k if largest else k - 1, axis)
        part = _slice(part, axis, n - k, n) if largest else _slice(part, axis, 0, k)
        order = _argsort(xp, xp.take_along_axis(a, part, axis=axis), axis, largest)
        return xp.take_along_axis(part, order, axis=axis)

    return select_along(input, d, True, "topk", index, topk_type, check_empty=False)


def _kth_index(xp, a, axis: int, k: int):
    """Index of the k-th smallest (from 0) along `axis`, with the axis kept."""
    return _slice(ax.argpartition(xp, a, k, axis), axis, k, k + 1)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """(values, indices) of the k-th smallest entry (k from 1) along `dim`."""
    d = _wrap_dim(dim, input.ndim, "kthvalue")
    n = input._data.shape[d] if input.ndim else 1
    if input.ndim:
        _check_nonempty(input, (d,), "kthvalue", True)
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k={k} out of range for dimension {d} of size {n} "
                           f"(input shape {tuple(input.shape)})")
    return select_along(input, d, keepdim, "kthvalue", lambda xp, a, axis: _kth_index(xp, a, axis, k - 1),
                        kthvalue_type)


def _median_index(xp, a, axis: int):
    """Index of the lower median along `axis`; of the first NaN in rows that have one."""
    idx = _kth_index(xp, a, axis, (a.shape[axis] - 1) // 2)
    if ax.kind(a) == "f":
        nan = xp.isnan(a)
        if xp.any(nan):
            first = xp.argmax(ax.astype(nan, dt.uint8), axis=axis, keepdims=True)  # the standard's argmax takes no bool
            idx = xp.where(xp.any(nan, axis=axis, keepdims=True), first, idx)
    return idx


class Median(Extremum):
    """The lower median of all elements (NaN if any is NaN); ties share the gradient, as in PyTorch."""

    def __init__(self, ndim: int):
        super().__init__(tuple(range(ndim)), False)

    def forward(self, x):
        xp = self.xp
        self.shape = x.shape
        flat = ax.reshape(x, (-1,))
        if flat.size == 0:
            return xp.asarray(xp.nan, dtype=x.dtype)
        k = (flat.size - 1) // 2
        if ax.kind(x) == "f" and xp.any(xp.isnan(flat)):
            return xp.asarray(xp.nan, dtype=x.dtype)
        return xp.take(flat, _slice(ax.argpartition(xp, flat, k, 0), 0, k, k + 1), axis=0)[0]


def median(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """median(input): the lower median of all elements; median(input, dim): (values, indices)."""
    if dim is None:
        return Median(input.ndim)(input)
    return select_along(input, dim, keepdim, "median", _median_index, median_type)


TENSOR_METHODS = ("sort", "argsort", "topk", "kthvalue", "median")
__all__ = ["sort", "argsort", "topk", "kthvalue", "median"]
