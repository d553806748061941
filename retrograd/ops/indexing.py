"""Indexing: `t[...]`, `t[...] = v`, gather/scatter, index_*, masked_*, take, nonzero.

Every op here is one of two nodes over a parsed index (`_Key`): `Index` reads
`x[key]`, `IndexPut` writes a value into a copy of x at `key` (assigning, adding
or multiplying). Their backwards are each other, so double backward works:
reading scatters the gradient back (adding, so repeated indices accumulate), and
writing passes the gradient through except at the written positions, and gives
the value the gradient read at those positions.

PyTorch's indexing follows NumPy's except that integers are never advanced
indices: `x[1, :, [0, 1]]` has shape (3, 2) in PyTorch, (2, 3) in NumPy. A key
that mixes integers and index arrays is therefore applied in two steps: the
basic part first (a view), then the advanced part.
"""
from __future__ import annotations

import math
import operator

import numpy as np

from .. import array_extras as ax
from .. import dtypes as dt
from ..autograd import grad_mode
from ..autograd.node import Node
from ..device import namespace_of
from ..tensor import Tensor, _wrap_dim
from .elementwise import apply_inplace, cast
from .shape import as_view

_state = grad_mode.state
_SCALARS = (int, float, bool)
_INDEX_DTYPES = (dt.int64, dt.int32)


# ---- parsed keys -----------------------------------------------------------------------
class _Key:
    """An index as at most two NumPy indexing steps: `basic` (a view), then `adv` (a copy).

    `dup` says the advanced part may repeat positions, so accumulating writes need
    `ufunc.at` instead of `+=`. NumPy runs both steps directly; other libraries run the
    advanced step (beyond the standard's indexing rules) as one `take` (`_std_take`).
    """

    __slots__ = ("basic", "adv", "dup")

    def __init__(self, basic, adv, dup: bool):
        self.basic, self.adv, self.dup = basic, adv, dup

    def get(self, a):
        if self.basic is not None:
            a = a[self.basic]
        if self.adv is None:
            return a
        return a[self.adv] if type(a) is np.ndarray else _std_take(namespace_of(a), a, self.adv)

    def put(self, a, v, reduce, xp, op: str) -> None:
        """Write v (broadcast) into a at the key: assign, or reduce with 'add' or 'multiply'."""
        if type(a) is not np.ndarray:
            return self._put_std(a, v, reduce, xp, op)
        if self.adv is None:
            target, key = a, self.basic
        else:
            target, key = (a if self.basic is None else a[self.basic]), self.adv
        try:
            if reduce is None and self._whole_mask(a) and np.ndim(v) == 0:  # masked_fill: no positions gathered
                np.copyto(a, v, casting="unsafe", where=key[0])
            elif reduce is None:
                target[key] = v
            elif self.dup and self.adv is not None:
                (xp.add if reduce == "add" else xp.multiply).at(target, key, v)
            elif reduce == "add":
                target[key] += v
            else:
                target[key] *= v
        except ValueError as e:
            self._put_error(a, v, op, e)

    def _whole_mask(self, a) -> bool:
        """Is the key one boolean mask of a's own shape?"""
        adv = self.adv
        return self.basic is None and adv is not None and len(adv) == 1 \
            and getattr(adv[0], "dtype", None) == np.bool_ and adv[0].shape == a.shape

    def _put_error(self, a, v, op: str, e: ValueError):
        if not getattr(getattr(a, "flags", None), "writeable", True):
            raise RuntimeError(f"{op}: the tensor cannot be written in place (an expanded or read-only "
                               f"view): {e}") from None
        raise RuntimeError(f"{op}: shape mismatch: value tensor of shape {list(getattr(v, 'shape', ()))} "
                           f"cannot be broadcast to indexing result of shape {list(self.get(a).shape)}") \
            from None

    def _put_std(self, a, v, reduce, xp, op: str) -> None:
        """put with the standard's functions: basic keys by setitem (without None, which it does not
        take there), advanced ones by rewriting all of `a` from its flattened positions at the key."""
        try:
            if self.adv is None:
                key = tuple(k for k in self.basic if k is not None)
                view = a[key]
                full = a[self.basic].shape if len(key) < len(self.basic) else view.shape
                v = xp.reshape(_value_array(xp, v, a, full), view.shape)
                a[key] = v if reduce is None else view + v if reduce == "add" else view * v
                return
            pos = xp.reshape(xp.arange(math.prod(a.shape), dtype=dt.native(dt.int64, xp)), a.shape)
            lin = _std_take(xp, pos if self.basic is None else pos[self.basic], self.adv)
            v = _value_array(xp, v, a, lin.shape)
        except ValueError as e:
            self._put_error(a, v, op, e)
        lin, v = xp.reshape(lin, (-1,)), xp.reshape(v, (-1,))
        flat = xp.reshape(a, (-1,))
        if reduce == "add":
            flat = xp.asarray(flat, copy=True)
            ax.scatter_add(xp, flat, lin, v)
        else:
            flat = _scatter_std(xp, flat, lin, v, reduce)
        a[...] = xp.reshape(flat, a.shape)


def _value_array(xp, v, a, shape: tuple):
    """A value to write into `a`, as an array of a's dtype broadcast to `shape` (NumPy's assignment
    rules: a number converts to a's kind; extra leading size-1 dims are dropped)."""
    if not hasattr(v, "shape"):
        k = ax.kind(a)
        v = xp.asarray(bool(v) if k == "b" else float(v) if k in "fc" else int(v), dtype=a.dtype)
    while v.ndim > len(shape) and v.shape[0] == 1:
        v = xp.reshape(v, v.shape[1:])
    return xp.broadcast_to(v, shape)


def _scatter_std(xp, flat, lin, v, reduce):
    """flat with v assigned (or multiplied, when reduce) at positions lin, by the standard's functions.

    Sorting groups repeated positions; each round updates each position once (through searchsorted),
    so repeats multiply in turn; an assignment keeps the last value written, as NumPy does."""
    if lin.shape[0] == 0:
        return flat
    order = xp.argsort(lin, stable=True)
    lin, v = xp.take(lin, order), xp.take(v, order)
    first = xp.searchsorted(lin, lin)
    last = xp.searchsorted(lin, lin, side="right") - 1
    at = xp.arange(lin.shape[0], dtype=lin.dtype)
    pos = xp.arange(flat.shape[0], dtype=lin.dtype)
    if reduce is None:
        rounds = [last == at]
    else:
        rank = at - first
        rounds = [rank == r for r in range(int(xp.max(rank)) + 1)]
    for sel in rounds:
        u, w = lin[sel], v[sel]
        j = xp.clip(xp.searchsorted(u, pos), 0, u.shape[0] - 1)
        hit = xp.take(u, j) == pos
        new = xp.take(w, j)
        flat = xp.where(hit, new if reduce is None else flat * new, flat)
    return flat


def _std_take(xp, a, adv: tuple):
    """a[adv] with NumPy's advanced indexing, by the standard's functions: slices and None first (a
    basic step), masks as their nonzero() coordinates, then the indexed dims moved to the front,
    flattened, and read with one `take` at the flat positions; NumPy's order of the result's dims."""
    consumed = sum(_dims_of(k) for k in adv)
    pre, dims = [], []  # the basic step's key; per dim after it: None (kept whole) or an index array
    for k in adv:
        if k is None or type(k) is slice:
            pre.append(k)
            dims.append(None)
        elif k is Ellipsis:
            n = a.ndim - consumed
            pre.extend([slice(None)] * n)
            dims.extend([None] * n)
        elif ax.kind(k) == "b":
            if k.ndim == 0:  # x[False]: a new dim of size 1, read at no position (size 0)
                pre.append(None)
                dims.append(xp.zeros((1 if bool(k) else 0,), dtype=dt.native(dt.int64, xp)))
            else:
                pre.extend([slice(None)] * k.ndim)
                dims.extend(xp.nonzero(k))
        else:
            pre.append(slice(None))
            dims.append(k)
    if any(k is None or k != slice(None) for k in pre):
        a = a[tuple(pre) + (Ellipsis,)]
    dims += [None] * (a.ndim - len(dims))
    at = [d for d, k in enumerate(dims) if k is not None]
    rest = [d for d, k in enumerate(dims) if k is None]
    idx = xp.broadcast_arrays(*(dims[d] for d in at))
    int64 = dt.native(dt.int64, xp)
    flat = None
    for i, d in zip(idx, at):
        n = a.shape[d]
        if i.dtype != int64:
            i = xp.astype(i, int64)
        i = xp.where(i < 0, i + n, i)
        flat = i if flat is None else flat * n + i
    if at + rest != list(range(a.ndim)):
        a = xp.permute_dims(a, tuple(at + rest))
    rest_shape = tuple(a.shape[len(at):])
    a = xp.reshape(a, (math.prod(a.shape[:len(at)]),) + rest_shape)
    out = xp.reshape(xp.take(a, xp.reshape(flat, (-1,)), axis=0), tuple(flat.shape) + rest_shape)
    if at[0] > 0 and at == list(range(at[0], at[0] + len(at))):  # adjacent index dims stay in place
        nb = flat.ndim
        out = xp.permute_dims(out, tuple(range(nb, nb + at[0])) + tuple(range(nb)) +
                              tuple(range(nb + at[0], out.ndim)))
    return out


def _basic(items) -> tuple:
    # a trailing Ellipsis makes NumPy return a 0-dim view rather than a scalar when every dim gets an int
    return items if Ellipsis in items else items + (Ellipsis,)


def _dim_key(dim: int, index) -> _Key:
    """The key of `index` (a vector) applied along `dim`: index_select, index_add, index_copy, index_fill."""
    return _Key(None, (slice(None),) * dim + (index,), True)


def _along_key(xp, index, dim: int) -> _Key:
    """The key of gather/scatter: out[i][j][k] = x[i][index[i][j][k]][k] for dim 1."""
    nd = index.ndim
    key = []
    for d, size in enumerate(index.shape):
        if d == dim:
            key.append(index)
        else:
            shape = [1] * nd
            shape[d] = size
            key.append(ax.reshape(xp.arange(size, dtype=index.dtype), tuple(shape)))
    return _Key(None, tuple(key), True)


# ---- the two nodes ----------------------------------------------------------------------
class Index(Node):
    """x[key]; the gradient is scattered back into zeros (accumulating over repeated indices)."""

    def __init__(self, key: _Key):
        self.key = key

    def forward(self, x):
        self.in_shape = x.shape
        return self.key.get(x)

    def backward(self, grad):
        zeros = Tensor._make(self.xp.zeros(self.in_shape, dtype=grad._data.dtype))
        return IndexPut(self.key, "add", fresh=True)(zeros, grad)


class IndexPut(Node):
    """A copy of x with v written at key (assigned, or reduced with 'add' or 'multiply').

    `fresh`: x is a temporary that forward may write into instead of copying.
    """

    def __init__(self, key: _Key, reduce: str | None = None, fresh: bool = False, op: str = "index_put"):
        self.key, self.reduce, self.fresh, self.op = key, reduce, fresh, op

    def write(self, target, v) -> None:
        self.key.put(target, v, self.reduce, self.xp, self.op)

    def forward(self, x, v):
        self.v_shape = tuple(v.shape) if hasattr(v, "shape") else None
        out = x if self.fresh else ax.copy(x)
        self.write(out, v)
        return out

    def backward(self, grad):
        if self.reduce == "multiply":
            raise RuntimeError(f"{self.op}: the derivative for reduce='multiply' is not implemented")
        gx = gv = None
        if self.needs_input_grad(0):
            gx = grad if self.reduce == "add" else IndexPut(self.key, op=self.op)(grad, 0)
        if self.needs_input_grad(1):
            gv = _sum_to(Index(self.key)(grad), self.v_shape)
        return gx, gv


def _sum_to(g: Tensor, shape: tuple) -> Tensor:
    """Sum a gradient back to the shape of a value that was broadcast (maybe with extra leading 1s)."""
    if g.shape == shape:
        return g
    if g.ndim < len(shape):
        g = g.reshape((1,) * (len(shape) - g.ndim) + tuple(g.shape))
    return g.sum_to_size(shape)


def _write(self: Tensor, x: Tensor, node: IndexPut, value, op: str) -> Tensor:
    """Run a write node in place on self: straight into its storage, or through apply_inplace when recording."""
    if x is not self:
        raise RuntimeError(f"{op}: output with shape {list(self.shape)} doesn't match the broadcast shape "
                           f"{list(x.shape)}")
    if _state.enabled and (self._requires_grad or isinstance(value, Tensor) and value._requires_grad):
        return apply_inplace(self, node, value, op=op)
    node.xp = namespace_of(self._data)
    node.write(self._data, value._data if isinstance(value, Tensor) else value)
    self._bump_version()
    return self


# ---- argument checks -------------------------------------------------------------------
def _tensor_arg(x, op: str, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(x).__name__}")
    return x


def _index_arg(index, op: str, dtypes=_INDEX_DTYPES):
    """The array of an index tensor, checked to be int64 (or int32 where PyTorch accepts it)."""
    _tensor_arg(index, op, "index")
    if index.dtype not in dtypes:
        wanted = "/".join(d.name for d in dtypes)
        raise RuntimeError(f"{op}(): Expected dtype {wanted} for index, but got {index.dtype.name}")
    return index._data


def _check_bounds(idx, size: int, dim: int, op: str | None, exc=IndexError, negative: bool = True) -> None:
    """Raise exc naming the first index outside [-size, size) (or [0, size) when negative is False)."""
    if idx.size == 0:
        return
    lo, hi = ax.min_max(idx)
    if hi >= size or lo < (-size if negative else 0):
        prefix = f"{op}(): " if op else ""
        raise exc(f"{prefix}index {hi if hi >= size else lo} is out of bounds for dimension {dim} with size {size}")


def _vector_arg(index, input: Tensor, dim: int, op: str, exc=IndexError, negative: bool = False):
    """A 0-dim or 1-dim index along dim, as a checked 1-dim array."""
    idx = _index_arg(index, op)
    if idx.ndim > 1:
        raise exc(f"{op}(): Index is supposed to be a vector or a scalar, got shape {list(idx.shape)}")
    if input.ndim == 0:
        raise RuntimeError(f"{op}(): expected an input with at least one dimension, got a 0-dim tensor")
    idx = ax.reshape(idx, (-1,))
    _check_bounds(idx, input._data.shape[dim], dim, op, exc, negative)
    return idx


def _check_source(input: Tensor, source: Tensor, dim: int, n: int, op: str) -> None:
    """index_add/index_copy: source is input's shape with n slices along dim, and input's dtype."""
    _tensor_arg(source, op, "source")
    expected = list(input.shape)
    expected[dim] = n
    if list(source.shape) != expected:
        raise RuntimeError(f"{op}(): source of shape {list(source.shape)} does not match: expected {expected} "
                           f"(self's shape {list(input.shape)} with {n} indices along dim {dim})")
    _same_dtype(input, source, op, "source")


def _same_dtype(input: Tensor, other: Tensor, op: str, name: str) -> None:
    if other.dtype is not input.dtype:
        raise RuntimeError(f"{op}(): expected self and {name} to have the same dtype, but got "
                           f"{input.dtype.name} and {other.dtype.name}")


def _scalar_value(value, input: Tensor, op: str):
    """A fill value: a number, or a 0-dim tensor cast to input's dtype."""
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"{op} only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.ndim} dimension(s).")
        return cast(value, input.dtype)
    if not isinstance(value, _SCALARS):
        raise TypeError(f"{op}(): value must be a number or a 0-dim Tensor, not {type(value).__name__}")
    return value


def _broadcast_shape(a: tuple, b: tuple, op: str) -> tuple:
    out = []
    for i in range(-max(len(a), len(b)), 0):
        x = a[i] if -i <= len(a) else 1
        y = b[i] if -i <= len(b) else 1
        if x != y and 1 not in (x, y):
            raise RuntimeError(f"{op}: the size of tensor a ({x}) must match the size of tensor b ({y}) at "
                               f"non-singleton dimension {len(out)} (shapes {list(a)} and {list(b)})")
        out.append(max(x, y) if 0 not in (x, y) else 0)
    return tuple(out)


def _mask_arg(input: Tensor, mask, op: str):
    """(input, mask array), broadcast to their common shape; mask must be bool."""
    _tensor_arg(mask, op, "mask")
    if mask.dtype is not dt.bool:
        raise RuntimeError(f"{op} only supports boolean masks, but got mask with dtype {mask.dtype.name}")
    shape = _broadcast_shape(input._data.shape, mask._data.shape, op)
    m = mask._data
    if m.shape != shape:
        m = namespace_of(m).broadcast_to(m, shape)
    return (input if input._data.shape == shape else input.expand(shape)), m


# ---- t[key] and t[key] = v ----------------------------------------------------------------
def _index_item(k, xp):
    """One item of a key as int, slice, None, Ellipsis or an index array (int64/int32 or bool)."""
    if type(k) is slice:
        if k.step is not None and k.step <= 0:
            raise ValueError("step must be greater than zero")
        return k
    if type(k) is bool:
        return None if k else xp.asarray(False)
    if isinstance(k, Tensor):
        a = k._data
    elif isinstance(k, (list, tuple)) or hasattr(k, "__array__"):
        a = xp.asarray(k)
        if a.size == 0 and ax.kind(a) == "f":  # [] is an empty long index
            a = ax.astype(a, dt.int64)
    else:
        try:
            return operator.index(k)
        except TypeError:
            raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and long, int or bool tensors "
                             f"are valid indices (got {type(k).__name__})") from None
    kind = dt.of_array(a)
    if kind is dt.bool:
        return (None if a else xp.asarray(False)) if a.ndim == 0 else a
    if kind is dt.uint8:  # byte tensors index as masks, as in PyTorch
        return ax.astype(a, dt.bool)
    if kind is not dt.int64 and kind is not dt.int32:
        raise IndexError(f"tensors used as indices must be long, int, byte or bool tensors (got {kind.name})")
    return int(a) if a.ndim == 0 else a


def _dims_of(k) -> int:
    """How many dims of the indexed tensor an item consumes."""
    if k is None or k is Ellipsis:
        return 0
    if type(k) is int or type(k) is slice:
        return 1
    return k.ndim if ax.kind(k) == "b" else 1


def _parse(x: Tensor, key) -> _Key:
    """Check a key against x's shape and split it into its NumPy indexing steps."""
    shape = x._data.shape
    if type(key) is int and shape and -shape[0] <= key < shape[0]:  # the common cases, fast
        return _Key((key, Ellipsis), None, False)
    direct = type(x._data) is np.ndarray  # NumPy takes any key; others get slices within bounds
    if type(key) is slice and shape and key.step is None and direct:
        return _Key((key,), None, False)
    xp = namespace_of(x._data)
    items = []
    consumed = 0
    for k in key if type(key) is tuple else (key,):
        if type(k) is int:
            consumed += 1
        elif k is not None and k is not Ellipsis:
            k = _index_item(k, xp)
            consumed += _dims_of(k)
        items.append(k)
    if consumed > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)} (got {consumed})")
    dim = 0
    has_int = has_adv = dup = seen_ellipsis = False
    for pos, k in enumerate(items):
        if k is None:
            continue
        if k is Ellipsis:
            if seen_ellipsis:
                raise IndexError("an index can only have a single ellipsis ('...')")
            seen_ellipsis = True
            dim += len(shape) - consumed
        elif type(k) is int:
            if not -shape[dim] <= k < shape[dim]:
                raise IndexError(f"index {k} is out of bounds for dimension {dim} with size {shape[dim]}")
            has_int = True
            dim += 1
        elif type(k) is slice:
            if not direct:
                items[pos] = slice(*k.indices(shape[dim]))
            dim += 1
        elif ax.kind(k) == "b":
            covered = shape[dim:dim + k.ndim]
            if k.shape != covered:
                raise IndexError(f"The shape of the mask {list(k.shape)} at index {dim} does not match the shape "
                                 f"of the indexed tensor {list(shape)} at index {dim}")
            has_adv = True
            dim += k.ndim
        else:
            _check_bounds(k, shape[dim], dim, None)
            has_adv = dup = True
            dim += 1
    items = tuple(items)
    if not has_adv:
        return _Key(_basic(items), None, False)
    if not has_int:
        return _Key(None, items, dup)
    basic, adv = [], []
    for k in items:
        if type(k) is int:
            basic.append(k)
        elif k is None or k is Ellipsis or type(k) is slice:
            basic.append(k)
            adv.append(k if k is Ellipsis else slice(None))
        else:
            basic.extend([slice(None)] * _dims_of(k))
            adv.append(k)
    return _Key(_basic(tuple(basic)), tuple(adv), dup)


def __getitem__(self: Tensor, key) -> Tensor:
    """Basic indexing (ints, slices, None, ...) gives a view; index tensors and masks give a copy."""
    k = _parse(self, key)
    out = Index(k)(self)
    if k.adv is not None:
        return out
    out._view_key = (self, key)  # lets an in-place op on the view rewrite the parent (see apply_inplace)
    return as_view(out, self)


def _value_arg(self: Tensor, value):
    """A value to write into self: a number, or a tensor cast to self's dtype."""
    if isinstance(value, Tensor):
        return cast(value, self.dtype)
    if isinstance(value, _SCALARS):
        return value
    xp = namespace_of(self._data)
    return Tensor._make(xp.asarray(value, dtype=dt.native(self.dtype, xp)))


def __setitem__(self: Tensor, key, value) -> None:
    """Write value (broadcast) at key; when recording, self's history becomes the write's."""
    _write(self, self, IndexPut(_parse(self, key), op="setitem"), _value_arg(self, value), "setitem")


def _prep_index_put(input: Tensor, indices, values, accumulate: bool):
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put(): argument 'indices' must be a tuple of Tensors, not {type(indices).__name__}")
    values = _tensor_arg(values, "index_put", "values")
    if values.dtype is not input.dtype:
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got {input.dtype.name} "
                           f"for the destination and {values.dtype.name} for the source.")
    key = _parse(input, tuple(slice(None) if i is None else i for i in indices))
    return input, IndexPut(key, "add" if accumulate else None, op="index_put"), values


def index_put(input: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of input with values written (or added, when accumulate) at the index tensors."""
    x, node, v = _prep_index_put(input, indices, values, accumulate)
    return node(x, v)


def index_put_(self: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    return _write(self, *_prep_index_put(self, indices, values, accumulate), "index_put_")


# ---- gather and scatter ------------------------------------------------------------------
def _check_along(input: Tensor, dim: int, idx, op: str, src: Tensor | None = None) -> None:
    """gather/scatter: index has input's ndim and is no larger than input (and src) except along dim."""
    shape = input._data.shape
    if idx.ndim != len(shape):
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as input tensor "
                           f"(index shape {list(idx.shape)}, input shape {list(shape)})")
    for d, s in enumerate(idx.shape):
        if d != dim and s > shape[d]:
            raise RuntimeError(f"{op}(): Size does not match at dimension {d}: expected index {list(idx.shape)} to "
                               f"be no larger than self {list(shape)} apart from dimension {dim}")
        if src is not None and (src.ndim != idx.ndim or s > src._data.shape[d]):
            raise RuntimeError(f"{op}(): Expected index {list(idx.shape)} to be no larger than self {list(shape)} "
                               f"apart from dimension {dim} and to be no larger than src {list(src.shape)}")
    if len(shape):
        _check_bounds(idx, shape[dim], dim, op, RuntimeError, negative=False)


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """out[i][j] = input[index[i][j]][j] (dim 0): values picked along dim; output has index's shape."""
    idx = _index_arg(index, "gather")
    d = _wrap_dim(dim, input.ndim, "gather")
    _check_along(input, d, idx, "gather")
    return Index(_along_key(namespace_of(idx), idx, d))(input)


def _prep_scatter(input: Tensor, dim: int, index: Tensor, src, value, reduce, op: str):
    if reduce not in (None, "add", "multiply"):
        raise RuntimeError(f"{op}(): reduce argument must be either add or multiply, got {reduce!r}.")
    if src is None:
        src = value
    if src is None:
        raise TypeError(f"{op}(): expected a src tensor or a value")
    idx = _index_arg(index, op)
    d = _wrap_dim(dim, input.ndim, op)
    if isinstance(src, Tensor):
        _same_dtype(input, src, op, "src")
        _check_along(input, d, idx, op, src)
        if src._data.shape != idx.shape:
            src = src[tuple(slice(0, s) for s in idx.shape)]
    else:
        src = _scalar_value(src, input, op)
        _check_along(input, d, idx, op)
    return input, IndexPut(_along_key(namespace_of(idx), idx, d), reduce, op=op), src


def scatter(input: Tensor, dim: int, index: Tensor, src=None, value=None, *, reduce: str | None = None) -> Tensor:
    """A copy of input with src (a tensor, or a number) written along dim at index: the inverse of gather."""
    x, node, v = _prep_scatter(input, dim, index, src, value, reduce, "scatter")
    return node(x, v)


def scatter_(self: Tensor, dim: int, index: Tensor, src=None, value=None, *, reduce: str | None = None) -> Tensor:
    return _write(self, *_prep_scatter(self, dim, index, src, value, reduce, "scatter_"), "scatter_")


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of input with src added along dim at index (repeated indices accumulate)."""
    x, node, v = _prep_scatter(input, dim, index, _tensor_arg(src, "scatter_add", "src"), None, "add", "scatter_add")
    return node(x, v)


def scatter_add_(self: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    src = _tensor_arg(src, "scatter_add_", "src")
    return _write(self, *_prep_scatter(self, dim, index, src, None, "add", "scatter_add_"), "scatter_add_")


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """input and indices broadcast except along dim, then gathered; with dim None, both are flattened."""
    idx = _index_arg(indices, "take_along_dim")
    if dim is None:
        flat = ax.reshape(idx, (-1,))
        _check_bounds(flat, input.numel(), 0, "take_along_dim")
        return Index(_Key(None, (flat,), True))(input.reshape(-1))
    d = _wrap_dim(dim, input.ndim, "take_along_dim")
    if idx.ndim != input.ndim:
        raise RuntimeError(f"take_along_dim(): input and indices should have the same number of dimensions, but "
                           f"got {input.ndim} dimensions for input, and {idx.ndim} dimensions for indices")
    shape = list(_broadcast_shape(_without(input._data.shape, d), _without(idx.shape, d), "take_along_dim"))
    shape[d] = input._data.shape[d]
    x = input if tuple(shape) == input._data.shape else input.expand(shape)
    shape[d] = idx.shape[d]
    idx = namespace_of(idx).broadcast_to(idx, tuple(shape))
    _check_bounds(idx, x._data.shape[d], d, "take_along_dim")
    return Index(_along_key(namespace_of(idx), idx, d))(x)


def _without(shape: tuple, dim: int) -> tuple:
    """shape with a 1 at dim: the dims that broadcast in take_along_dim."""
    return shape[:dim] + (1,) + shape[dim + 1:]


def take(input: Tensor, index: Tensor) -> Tensor:
    """input flattened, read at index (negative indices count from the end); output has index's shape."""
    idx = _index_arg(index, "take", (dt.int64,))
    n = input.numel()
    lo, hi = ax.min_max(idx) if idx.size else (0, 0)
    if hi >= n or lo < -n:
        raise IndexError(f"take(): out of range: tried to access index {hi if hi >= n else lo} on a tensor of {n} "
                         f"elements.")
    return Index(_Key(None, (idx,), True))(input.reshape(-1))


# ---- index_* ---------------------------------------------------------------------------
def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices of input at index along dim."""
    d = _wrap_dim(dim, input.ndim, "index_select")
    return Index(_dim_key(d, _vector_arg(index, input, d, "index_select")))(input)


def _prep_index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, alpha, op: str):
    d = _wrap_dim(dim, input.ndim, op)
    idx = _vector_arg(index, input, d, op, RuntimeError)
    _check_source(input, source, d, idx.shape[0], op)
    return input, IndexPut(_dim_key(d, idx), "add", op=op), (source if alpha == 1 else source * alpha)


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """A copy of input with alpha * source added at index along dim (repeated indices accumulate)."""
    x, node, v = _prep_index_add(input, dim, index, source, alpha, "index_add")
    return node(x, v)


def index_add_(self: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    return _write(self, *_prep_index_add(self, dim, index, source, alpha, "index_add_"), "index_add_")


def _prep_index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor, op: str):
    d = _wrap_dim(dim, input.ndim, op)
    idx = _vector_arg(index, input, d, op)
    _check_source(input, source, d, idx.shape[0], op)
    return input, IndexPut(_dim_key(d, idx), op=op), source


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """A copy of input with the slices of source written at index along dim."""
    x, node, v = _prep_index_copy(input, dim, index, source, "index_copy")
    return node(x, v)


def index_copy_(self: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    return _write(self, *_prep_index_copy(self, dim, index, source, "index_copy_"), "index_copy_")


def _prep_index_fill(input: Tensor, dim: int, index: Tensor, value, op: str):
    d = _wrap_dim(dim, input.ndim, op)
    idx = _vector_arg(index, input, d, op, negative=True)
    xp = namespace_of(idx)
    n = input._data.shape[d]
    # unique positions: a value tensor's gradient counts each filled element once
    idx = xp.unique_values(xp.where(idx < 0, idx + n, idx))
    return input, IndexPut(_dim_key(d, idx), op=op), _scalar_value(value, input, op)


def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """A copy of input with the slices at index along dim set to value (a number or 0-dim tensor)."""
    x, node, v = _prep_index_fill(input, dim, index, value, "index_fill")
    return node(x, v)


def index_fill_(self: Tensor, dim: int, index: Tensor, value) -> Tensor:
    return _write(self, *_prep_index_fill(self, dim, index, value, "index_fill_"), "index_fill_")


# ---- masked_* --------------------------------------------------------------------------
def _prep_masked_fill(input: Tensor, mask: Tensor, value, op: str):
    x, m = _mask_arg(input, mask, op)
    return x, IndexPut(_Key(None, (m,), False), op=op), _scalar_value(value, input, op)


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """input (broadcast with mask) with value where mask is True."""
    x, node, v = _prep_masked_fill(input, mask, value, "masked_fill")
    return node(x, v)


def masked_fill_(self: Tensor, mask: Tensor, value) -> Tensor:
    return _write(self, *_prep_masked_fill(self, mask, value, "masked_fill_"), "masked_fill_")


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of input (broadcast with mask) where mask is True, as a 1-dim tensor."""
    x, m = _mask_arg(input, mask, "masked_select")
    return Index(_Key(None, (m,), False))(x)


def _prep_masked_scatter(input: Tensor, mask: Tensor, source: Tensor, op: str):
    x, m = _mask_arg(input, mask, op)
    _tensor_arg(source, op, "source")
    _same_dtype(input, source, op, "source")
    count = int(namespace_of(m).count_nonzero(m))
    if source.numel() < count:
        raise RuntimeError(f"{op}(): Number of elements of source ({source.numel()}) < number of ones in mask "
                           f"({count})")
    src = source.reshape(-1)
    if src.shape[0] != count:
        src = src[:count]
    return x, IndexPut(_Key(None, (m,), False), op=op), src


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """input (broadcast with mask) with the first elements of source, in order, where mask is True."""
    x, node, v = _prep_masked_scatter(input, mask, source, "masked_scatter")
    return node(x, v)


def masked_scatter_(self: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    return _write(self, *_prep_masked_scatter(self, mask, source, "masked_scatter_"), "masked_scatter_")


# ---- nonzero ---------------------------------------------------------------------------
def nonzero(input: Tensor, *, as_tuple: bool = False):
    """The int64 coordinates of the nonzero elements: (n, ndim), or one vector per dim with as_tuple."""
    a = input._data
    xp = namespace_of(a)
    int64 = dt.native(dt.int64, xp)
    if as_tuple:
        return tuple(Tensor._make(xp.astype(i, int64, copy=False))
                     for i in xp.nonzero(ax.reshape(a, (1,)) if a.ndim == 0 else a))
    if xp is np:
        return Tensor._make(np.argwhere(a).astype(int64, copy=False))
    if a.ndim == 0:  # argwhere of a 0-dim array: (1, 0) or (0, 0)
        return Tensor._make(xp.zeros((1 if bool(a != 0) else 0, 0), dtype=int64))
    return Tensor._make(xp.stack([xp.astype(i, int64, copy=False) for i in xp.nonzero(a)], axis=1))


def argwhere(input: Tensor) -> Tensor:
    """nonzero(input) as an (n, ndim) tensor."""
    return nonzero(input)


TENSOR_METHODS = ("gather", "scatter", "scatter_", "scatter_add", "scatter_add_", "take_along_dim", "take",
                  "index_select", "index_add", "index_add_", "index_copy", "index_copy_", "index_fill",
                  "index_fill_", "index_put", "index_put_", "masked_fill", "masked_fill_", "masked_select",
                  "masked_scatter", "masked_scatter_", "nonzero", "argwhere")
__all__ = [n for n in TENSOR_METHODS if not n.endswith("_")]
