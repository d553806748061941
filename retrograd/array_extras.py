"""The array functions ops need that the Python array API standard lacks.

Ops call the standard's functions on their namespace (`node.xp`) and these for the
rest. NumPy and CuPy both have each of them (CuPy some under `cupyx`); any other
library (the array-api-strict stand-in the tests put behind `cuda`) gets them on
the host through NumPy, a copy each way, which is fine for a stand-in and keeps the
list of what a new backend must provide in this one file.
"""
from __future__ import annotations

import math

import numpy as np

from . import dtypes as dt
from .device import namespace_of, to_host


def _is_cupy(xp) -> bool:
    return xp.__name__.endswith("cupy")


def _cupy():
    """CuPy itself (`node.xp` may be array-api-compat's view of it, without CuPy's extras)."""
    import cupy

    return cupy


def _host(a) -> np.ndarray:
    return np.from_dlpack(a) if type(a) is not np.ndarray else a


def _back(xp, a: np.ndarray):
    return xp.asarray(np.array(a, order="C"))


def numpy_like(xp):
    """NumPy or CuPy itself (whose ufuncs take `out=`) for arrays of `xp`, else None."""
    if xp is np:
        return np
    return _cupy() if _is_cupy(xp) else None


def min_max(a) -> tuple:
    """(min, max) of a non-empty integer array as Python ints, in one transfer to the host (a sync on a GPU)."""
    if type(a) is np.ndarray:
        return int(a.min()), int(a.max())
    xp = namespace_of(a)
    lo, hi = to_host(xp.stack([xp.min(a), xp.max(a)])).tolist()
    return lo, hi


def kind(array) -> str:
    """NumPy's one-letter kind of the array's dtype: 'b' bool, 'i'/'u' integer, 'f' floating."""
    try:
        return array.dtype.kind
    except AttributeError:
        return dt.of_array(array).np.kind


def einsum(xp, *args, optimize: bool = False):
    """`einsum` in sublist form (operand, labels, ..., output labels)."""
    if xp is np:
        return np.einsum(*args, optimize=optimize)
    if _is_cupy(xp):
        return _cupy().einsum(*args)
    host = [_host(a) if not isinstance(a, list) else a for a in args]
    return _back(xp, np.einsum(*host, optimize=optimize))


def scatter_add(xp, target, index, values) -> None:
    """target[index] += values, in place, where repeated indices accumulate."""
    if xp is np:
        if type(index) is np.ndarray and index.ndim == 1 and index.size >= 32 and index.dtype.kind in "iu" \
                and values.shape == index.shape + target.shape[1:] and values.dtype == target.dtype \
                and (values.dtype.kind in "iu" or values.dtype in (np.float32, np.float64)):
            _scatter_rows(target, index, values)
        else:
            np.add.at(target, index, values)
    elif _is_cupy(xp):
        import cupyx

        cupyx.scatter_add(target, index, values)
    else:
        host = np.array(_host(target))
        np.add.at(host, tuple(_host(i) if hasattr(i, "shape") else i for i in index)
                  if isinstance(index, tuple) else _host(index), _host(values))
        target[...] = _back(xp, host)


def _scatter_rows(target: np.ndarray, index: np.ndarray, values: np.ndarray) -> None:
    """Rows of `values` added into `target`'s rows at `index`: sorted by row (stably, so each row's values
    keep their order), summed per row with one reduceat, added once per distinct row. ~6x faster than
    np.add.at's element-by-element loop for an embedding's gradient."""
    if int(index.min()) < 0:
        index = np.where(index < 0, index + target.shape[0], index)
    order = np.argsort(index, kind="stable")
    rows = index[order]
    starts = np.flatnonzero(np.concatenate(([True], rows[1:] != rows[:-1])))
    target[rows[starts]] += np.add.reduceat(values[order], starts, axis=0, dtype=values.dtype)


def as_strided(xp, a, shape: tuple, strides: tuple):
    """A view of `a` with the given shape and byte strides (sliding windows, diagonals)."""
    if xp is np or _is_cupy(xp):
        return (np if xp is np else _cupy()).lib.stride_tricks.as_strided(a, shape, strides)
    return _back(xp, np.lib.stride_tricks.as_strided(_host(a), shape, strides))


def strides(a) -> tuple:
    """Byte strides of `a` (a stand-in array without them counts as C-contiguous)."""
    try:
        return a.strides
    except AttributeError:
        return _host(a).strides


def erf(xp, a):
    """The error function, elementwise."""
    if xp is np:
        from scipy.special import erf as np_erf

        return np_erf(a)
    if _is_cupy(xp):
        from cupyx.scipy.special import erf as cp_erf

        return cp_erf(a)
    from scipy.special import erf as np_erf

    return _back(xp, np_erf(_host(a)))


def argpartition(xp, a, k: int, axis: int):
    """Indices that put the k-th smallest element along `axis` in place (smaller before, larger after)."""
    if xp is np or _is_cupy(xp):
        return (np if xp is np else _cupy()).argpartition(a, k, axis=axis)
    return xp.argsort(a, axis=axis, stable=True)


def shares_memory(a, b) -> bool:
    """Might `a` and `b` overlap in memory (views of one storage)?"""
    xp = namespace_of(a)
    if xp is np or _is_cupy(xp):
        return (np if xp is np else _cupy()).may_share_memory(a, b)
    return np.may_share_memory(_host(a), _host(b))


def is_contiguous(a) -> bool:
    flags = getattr(a, "flags", None)
    return True if flags is None else bool(flags.c_contiguous)



_GEMV_MAX_ROW = 1 << 14  # longest row summed by BLAS: its lanes add sequentially, NumPy's sum pairwise
_GEMV_MIN_SIZE = 1 << 14  # below this many elements NumPy's own sum is as fast (measured)


def sum_keep(xp, a, axes: tuple):
    """xp.sum(a, axis=axes, keepdims=True). On NumPy, where `axes` are a leading block and/or a trailing block
    of a C-contiguous float32/float64 array, matrix-vector products with ones: BLAS sums many short rows
    several times faster than NumPy's reduction, which pays for each row. The rounding is alike: BLAS's
    lanes add sequentially, as NumPy does down leading axes; long rows and whole-array sums keep NumPy's
    pairwise sum."""
    if type(a) is not np.ndarray:
        return xp.sum(a, axis=axes, keepdims=True)
    if a.size < _GEMV_MIN_SIZE or a.dtype.char not in "fd" or not a.flags.c_contiguous:
        return a.sum(axis=axes, keepdims=True)
    nd = a.ndim
    axes = sorted({d % nd for d in axes})
    lead = 0
    while lead < len(axes) and axes[lead] == lead:
        lead += 1
    tail = axes[lead:]
    if tail != list(range(nd - len(tail), nd)):
        return a.sum(axis=tuple(axes), keepdims=True)
    if lead and tail:  # both blocks: the trailing one first, leaving a small array
        return sum_keep(xp, sum_keep(xp, a, tuple(tail)), tuple(range(lead)))
    kept = tuple(1 if i in axes else s for i, s in enumerate(a.shape))
    n = a.size // math.prod(kept)  # elements summed into each result
    if (tail or lead == nd) and 1 < n <= _GEMV_MAX_ROW:
        return (a.reshape(-1, n) @ np.ones(n, a.dtype)).reshape(kept)
    if lead < nd and 1 < n < a.size:
        return (np.ones(n, a.dtype) @ a.reshape(n, -1)).reshape(kept)
    return a.sum(axis=tuple(axes), keepdims=True)


def sum_to(xp, a, shape: tuple):
    """`a` summed to `shape`, which it was broadcast from: over its extra leading dims and where `shape` has 1."""
    lead = a.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and a.shape[lead + i] != 1)
    return reshape(sum_keep(xp, a, axes), shape) if axes else a


def allclose(xp, a, b, rtol: float, atol: float, equal_nan: bool) -> bool:
    """NumPy's allclose (not in the standard): NumPy's and CuPy's own, else NumPy's on host copies."""
    if xp is np:
        return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))
    if _is_cupy(xp):
        return bool(_cupy().allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))
    return bool(np.allclose(_host(a), _host(b), rtol=rtol, atol=atol, equal_nan=equal_nan))


def exp_inplace(xp, a):
    """exp(a), written into `a` where the library can (NumPy, CuPy: `out=`, ~25% faster on large arrays)."""
    lib = numpy_like(xp)
    return xp.exp(a) if lib is None else lib.exp(a, out=a)


def take_along_axis(xp, a, index, axis: int):
    """xp.take_along_axis; on a 2-d NumPy array along its columns, plain indexing (NumPy's function costs
    several µs more in Python, which counts for small batches)."""
    if _row_indexed(a, index, axis):
        return a[_rows(a), index]
    return xp.take_along_axis(a, index, axis=axis)


def put_along_axis(xp, shape: tuple, index, values, axis: int):
    """Zeros of `shape` with `values` put at `index` along `axis` (outside the array API standard:
    NumPy's and CuPy's put_along_axis, else on the host through NumPy)."""
    if xp is np or _is_cupy(xp):
        out = xp.zeros(shape, dtype=values.dtype)
        if _row_indexed(out, index, axis):
            out[_rows(out), index] = values
        else:
            (np if xp is np else _cupy()).put_along_axis(out, index, values, axis)
        return out
    host_values = _host(values)
    out = np.zeros(shape, dtype=host_values.dtype)
    np.put_along_axis(out, _host(index), host_values, axis)
    return _back(xp, out)


def _row_indexed(a, index, axis: int) -> bool:
    """Is this a 2-d NumPy array indexed along its columns by one row of indices per row?"""
    return type(a) is np.ndarray and a.ndim == 2 and axis in (1, -1) and index.ndim == 2 \
        and index.shape[0] == a.shape[0]


def _rows(a):
    """Row numbers (N, 1) of a 2-d array: with (N, K) column indices, they index a[n, index[n, k]]."""
    return np.arange(a.shape[0]).reshape(-1, 1)


def view_bits(a, d: dt.dtype):
    """`a`'s bytes read as dtype `d` (not in the array API standard): a view on NumPy and CuPy, a copy elsewhere."""
    xp = namespace_of(a)
    if xp is np or _is_cupy(xp):
        return a.view(d.np)
    host = np.from_dlpack(a).view(d.np)
    return xp.asarray(np.array(host))  # a C-contiguous copy that keeps 0-d arrays 0-d

# Standard functions, with NumPy's array methods as the fast path (a NumPy module-level call
# costs ~0.5 µs more than the method: it matters for small tensors).
def reshape(a, shape: tuple):
    return a.reshape(shape) if type(a) is np.ndarray else namespace_of(a).reshape(a, shape)


def astype(a, d: dt.dtype):
    """`a` as retrograd dtype `d` (a copy)."""
    if type(a) is np.ndarray:
        return a.astype(d.np)
    xp = namespace_of(a)
    return xp.astype(a, dt.native(d, xp))


def permute_dims(a, axes: tuple):
    return a.transpose(axes) if type(a) is np.ndarray else namespace_of(a).permute_dims(a, axes)


def copy(a):
    return a.copy() if type(a) is np.ndarray else namespace_of(a).asarray(a, copy=True)
