"""Shape ops: reshape and views, transposes, expand, repeat, flip/roll, concatenation and splitting, padding.

Views (`view`, `reshape` when possible, `squeeze`, `transpose`, `expand`, `narrow`,
`select`, the pieces of `split`/`chunk`/`unbind`) share the storage of their base,
as in PyTorch; they share its version counter too, so an in-place change through
either is seen by saved-tensor checks of both. Ops that move data (`flip`, `roll`,
`repeat`, `cat`, `pad`) return new storage.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import array_extras as ax
from .. import dtypes as dt
from ..autograd import grad_mode
from ..autograd.node import Node
from ..device import _DEFAULT_ARRAY, _NAMESPACES
from ..tensor import Tensor, _wrap_dim

_state = grad_mode.state


# ---- helpers -------------------------------------------------------------------------------
def as_view(out: Tensor, base: Tensor) -> Tensor:
    """Mark `out` as a view of `base` (sharing its version counter) when their storage overlaps."""
    a = out._data
    if type(a) is np.ndarray:  # `.base` rules out fresh arrays cheaply
        shared = a.base is not None and np.may_share_memory(a, base._data)
    else:
        shared = ax.shares_memory(a, base._data)
    if shared:
        out._base = base if base._base is None else base._base
    return out


def _root(t: Tensor) -> Tensor:
    return t if t._base is None else t._base


def _shape_arg(shape) -> tuple:
    """Sizes given as varargs (`f(2, 3)`) or as one sequence (`f((2, 3))`), as ints."""
    if len(shape) == 1 and not isinstance(shape[0], int) and hasattr(shape[0], "__len__"):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def _dims(dims, ndim: int, op: str) -> tuple:
    """An int or a sequence of dims, wrapped, refusing repeats (PyTorch's message)."""
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    out = tuple(_wrap_dim(int(d), ndim, op) for d in dims)
    for i, d in enumerate(out):
        if d in out[:i]:
            raise RuntimeError(f"{op}: dim {d} appears multiple times in the list of dims")
    return out


def _along(dim: int, index) -> tuple:
    """The index that picks `index` (a slice or an int) along `dim` and all of the other dims."""
    return (slice(None),) * dim + (index, Ellipsis)


def _prod(sizes) -> int:
    n = 1
    for s in sizes:
        n *= s
    return n


def infer_size(shape: tuple, numel: int, op: str, input_shape: tuple) -> tuple:
    """Resolve one -1 in `shape`, or raise naming both shapes."""
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred, got shape {list(shape)}")
    for i, s in enumerate(shape):
        if s < -1:
            raise RuntimeError(f"{op}: invalid shape dimension {s} at index {i} of shape {list(shape)}")
    known = _prod(s for s in shape if s != -1)
    if neg and known and not numel % known:
        return shape[:neg[0]] + (numel // known,) + shape[neg[0] + 1:]
    if neg or known != numel:
        raise RuntimeError(f"{op}: shape '{list(shape)}' is invalid for input of size {numel} "
                           f"(input shape {list(input_shape)})")
    return shape


# ---- reshape and views of the same elements --------------------------------------------------
class Reshape(Node):
    """Same elements, new shape (a view whenever the strides allow); also squeeze, unsqueeze, flatten."""

    def __init__(self, shape: tuple):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        return ax.reshape(x, self.shape)

    def backward(self, grad):
        return Reshape(self.in_shape)(grad)

    def backward_arrays(self, grad):
        return (ax.reshape(grad, self.in_shape),)


def _reshape(input: Tensor, shape: tuple) -> Tensor:
    return as_view(Reshape(shape)(input), input)


def reshape(input: Tensor, *shape) -> Tensor:
    """`input`'s elements in `shape` (one -1 inferred): a view when possible, else a copy."""
    return _reshape(input, infer_size(_shape_arg(shape), input._data.size, "reshape", input._data.shape))


def view(input: Tensor, *shape) -> Tensor:
    """A view with `shape`; raises when the strides cannot express it. `view(dtype)` reinterprets the bits."""
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list)):
        return _view_dtype(input, dt.to_dtype(shape[0]))
    shape = infer_size(_shape_arg(shape), input._data.size, "view", input._data.shape)
    out = _reshape(input, shape)
    if out._base is None and input._data.size:
        raise RuntimeError(f"view size is not compatible with input tensor's size and stride (input shape "
                           f"{list(input.shape)}, view shape {list(shape)}): at least one dimension spans across "
                           f"two contiguous subspaces. Use .reshape(...) instead.")
    return out


def _view_dtype(input: Tensor, d: dt.dtype) -> Tensor:
    if d is input.dtype:
        return _reshape(input, input._data.shape)
    if input._requires_grad and _state.enabled:
        raise RuntimeError(f"view(dtype): a tensor that requires grad cannot be viewed as {d} (from {input.dtype})")
    try:
        data = ax.view_bits(input._data, d)
    except ValueError as e:
        raise RuntimeError(f"view(dtype): cannot view a {input.dtype} tensor of shape {list(input.shape)} "
                           f"as {d}: {e}") from None
    return as_view(Tensor._make(data), input)


def view_as(input: Tensor, other: Tensor) -> Tensor:
    return view(input, other.shape)


def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    return reshape(input, other.shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims start_dim..end_dim into one; `input` itself when there is nothing to merge."""
    shape = input._data.shape
    if not shape:
        return _reshape(input, (1,))
    s, e = _wrap_dim(start_dim, len(shape), "flatten"), _wrap_dim(end_dim, len(shape), "flatten")
    if s > e:
        raise RuntimeError(f"flatten() has invalid args: start_dim ({start_dim}) cannot come after end_dim "
                           f"({end_dim}) for a tensor of shape {list(shape)}")
    if s == e:
        return input
    return _reshape(input, shape[:s] + (_prod(shape[s:e + 1]),) + shape[e + 1:])


def ravel(input: Tensor) -> Tensor:
    return _reshape(input, (input._data.size,))


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Split dim `dim` into `sizes` (one -1 inferred)."""
    shape = input._data.shape
    if not shape:
        raise RuntimeError("unflatten: cannot unflatten a 0-dim tensor (it has no dimension to split)")
    d = _wrap_dim(dim, len(shape), "unflatten")
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    try:
        sizes = infer_size(sizes, shape[d], "unflatten", shape)
    except RuntimeError:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} "
                           f"({shape[d]}) in the input tensor of shape {list(shape)}") from None
    return _reshape(input, shape[:d] + sizes + shape[d + 1:])


def squeeze(input: Tensor, dim=None) -> Tensor:
    """Drop size-1 dims: all of them, or those among `dim` (an int or a tuple)."""
    shape = input._data.shape
    drop = range(len(shape)) if dim is None else _dims(dim, len(shape), "squeeze")
    drop = {d for d in drop if d < len(shape) and shape[d] == 1}
    return _reshape(input, tuple(s for i, s in enumerate(shape) if i not in drop))


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim at `dim` (in [-ndim-1, ndim])."""
    shape = input._data.shape
    d = _wrap_dim(dim, len(shape) + 1, "unsqueeze")
    return _reshape(input, shape[:d] + (1,) + shape[d:])


# ---- permutations ------------------------------------------------------------------------------
class Permute(Node):
    def __init__(self, dims: tuple):
        self.dims = dims

    def forward(self, x):
        return ax.permute_dims(x, self.dims)

    def backward(self, grad):
        return Permute(self.inverse())(grad)

    def backward_arrays(self, grad):
        return (ax.permute_dims(grad, self.inverse()),)

    def inverse(self) -> tuple:
        """The permutation that undoes this one."""
        inv = [0] * len(self.dims)
        for i, d in enumerate(self.dims):
            inv[d] = i
        return tuple(inv)


def _permute(input: Tensor, dims: tuple) -> Tensor:
    return as_view(Permute(dims)(input), input)


def permute(input: Tensor, *dims) -> Tensor:
    """The dims of `input` reordered: output dim i is input dim dims[i] (a view)."""
    dims = _shape_arg(dims)
    nd = input._data.ndim
    if len(dims) != nd:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                           f"length of the desired ordering of dimensions i.e. input.dim() = {nd} is not equal "
                           f"to len(dims) = {len(dims)}")
    return _permute(input, _dims(dims, nd, "permute"))


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims (a view)."""
    nd = input._data.ndim
    d0, d1 = _wrap_dim(dim0, nd, "transpose"), _wrap_dim(dim1, nd, "transpose")
    dims = list(range(nd))
    if nd:
        dims[d0], dims[d1] = dims[d1], dims[d0]
    return _permute(input, tuple(dims))


swapaxes = swapdims = transpose


def movedim(input: Tensor, source, destination) -> Tensor:
    """Move dims `source` to positions `destination`; the others keep their order (a view)."""
    nd = input._data.ndim
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} dims) should "
                           f"contain the same number of dims as destination ({list(dst)} dims)")
    src, dst = _dims(src, nd, "movedim: source"), _dims(dst, nd, "movedim: destination")
    order = [None] * nd
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(d for d in range(nd) if d not in src)
    return _permute(input, tuple(next(rest) if o is None else o for o in order))


moveaxis = movedim


def t(input: Tensor) -> Tensor:
    """Transpose of a matrix; 0-d and 1-d tensors come back as they are (as views)."""
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input._data.ndim}D")
    return transpose(input, 0, -1)


def _T(input: Tensor) -> Tensor:
    nd = input._data.ndim
    if nd != 2:
        warnings.warn("The use of `x.T` on tensors of dimension other than 2 to reverse their shape is deprecated "
                      "and it will throw an error in a future release. Consider `x.mT` to transpose batches of "
                      "matrices or `x.permute(*torch.arange(x.ndim - 1, -1, -1))` to reverse the dimensions of a "
                      "tensor.", UserWarning, stacklevel=2)
    return _permute(input, tuple(range(nd - 1, -1, -1)))


def _mT(input: Tensor) -> Tensor:
    if input._data.ndim < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got "
                           f"{input._data.ndim}-D tensor.")
    return transpose(input, -2, -1)


T, mT = property(_T, doc="All dims reversed."), property(_mT, doc="The last two dims swapped.")


# ---- expand, repeat -------------------------------------------------------------------------------
class Expand(Node):
    def __init__(self, shape: tuple):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        return self.xp.broadcast_to(x, self.shape)

    def backward(self, grad):
        return grad.sum_to_size(self.in_shape)


def expand(input: Tensor, *sizes) -> Tensor:
    """A view with size-1 dims repeated to `sizes` (-1 keeps a size; new dims go in front), without copying."""
    sizes = _shape_arg(sizes)
    in_shape = input._data.shape
    lead = len(sizes) - len(in_shape)
    if lead < 0:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the "
                           f"number of dimensions in the tensor ({len(in_shape)})")
    shape = list(sizes)
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"expand: the expanded size of the tensor ({s}) isn't allowed in a leading, "
                                   f"non-existing dimension {i}")
        elif s == -1:
            shape[i] = in_shape[i - lead]
        elif in_shape[i - lead] not in (1, s):
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size "
                               f"({in_shape[i - lead]}) at non-singleton dimension {i}.  Target sizes: "
                               f"{list(sizes)}.  Tensor sizes: {list(in_shape)}")
    return as_view(Expand(tuple(shape))(input), input)


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other.shape)


def broadcast_to(input: Tensor, size) -> Tensor:
    return expand(input, size)


class Repeat(Node):
    def __init__(self, reps: tuple):
        self.reps = reps

    def forward(self, x):
        self.in_shape = x.shape
        return self.xp.tile(x, self.reps)

    def backward(self, grad):
        # view the gradient as (r0, s0, r1, s1, ...) and sum over the repetitions
        shape = (1,) * (len(self.reps) - len(self.in_shape)) + self.in_shape
        split, dims = [], []
        for r, s in zip(self.reps, shape):
            if r != 1:
                dims.append(len(split))
                split.append(r)
            split.append(s)
        if dims:
            grad = grad.reshape(tuple(split)).sum(tuple(dims))
        return grad.reshape(self.in_shape)


def repeat(input: Tensor, *sizes) -> Tensor:
    """`input` tiled `sizes[i]` times along each dim (extra sizes add leading dims); a copy."""
    sizes = _shape_arg(sizes)
    if len(sizes) < input._data.ndim:
        raise RuntimeError(f"repeat: Number of dimensions of repeat dims ({len(sizes)}) can not be smaller than "
                           f"number of dimensions of tensor ({input._data.ndim})")
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"repeat: trying to create tensor with negative dimension: repeats {list(sizes)}")
    return Repeat(sizes)(input)


def tile(input: Tensor, dims) -> Tensor:
    """Like `repeat`, with missing leading repetitions taken as 1."""
    dims = _shape_arg((dims,))
    return repeat(input, (1,) * (input._data.ndim - len(dims)) + dims)


# ---- flip, roll, tril/triu -------------------------------------------------------------------------
class Flip(Node):
    def __init__(self, dims: tuple):
        self.dims = dims

    def forward(self, x):
        if not self.dims:  # (NumPy's flip of a 0-d array gives a scalar)
            return ax.copy(x)
        return ax.copy(self.xp.flip(x, axis=self.dims))  # NumPy's and CuPy's flip are views

    def backward(self, grad):
        return Flip(self.dims)(grad)


def flip(input: Tensor, *dims) -> Tensor:
    """`input` reversed along `dims` (a copy, as in PyTorch)."""
    nd = input._data.ndim
    return Flip(tuple(d for d in _dims(_shape_arg(dims), nd, "flip") if d < nd))(input)


def fliplr(input: Tensor) -> Tensor:
    if input._data.ndim < 2:
        raise RuntimeError(f"fliplr: Input must be >= 2-d, got shape {list(input.shape)}")
    return Flip((1,))(input)


def flipud(input: Tensor) -> Tensor:
    if input._data.ndim < 1:
        raise RuntimeError("flipud: Input must be >= 1-d, got a 0-d tensor")
    return Flip((0,))(input)


class Roll(Node):
    def __init__(self, shifts: tuple, dims):
        self.shifts, self.dims = shifts, dims

    def forward(self, x):
        shifts = self.shifts if self.dims is not None else self.shifts[0]  # the standard: an int without dims
        return self.xp.roll(x, shifts, axis=self.dims)

    def backward(self, grad):
        return Roll(tuple(-s for s in self.shifts), self.dims)(grad)


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Shift elements along `dims` with wrap-around; without dims, over the flattened tensor."""
    shifts = (shifts,) if isinstance(shifts, int) else tuple(int(s) for s in shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
        return Roll(shifts, None)(input)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    return Roll(shifts, tuple(_wrap_dim(d, input._data.ndim, "roll") for d in dims))(input)


class Tri(Node):
    """Keep the lower (tril) or upper (triu) triangle of the last two dims, zero the rest."""

    def __init__(self, diagonal: int, upper: bool):
        self.diagonal, self.upper = diagonal, upper

    def forward(self, x):
        xp = self.xp
        rows, cols = xp.arange(x.shape[-2])[:, None] + self.diagonal, xp.arange(x.shape[-1])
        mask = cols >= rows if self.upper else cols <= rows
        return xp.where(mask, x, xp.zeros((), dtype=x.dtype))

    def backward(self, grad):
        return Tri(self.diagonal, self.upper)(grad)


def _tri(input: Tensor, diagonal: int, upper: bool) -> Tensor:
    if input._data.ndim < 2:
        raise RuntimeError(f"{'triu' if upper else 'tril'}: input tensor must have at least 2 dimensions, got "
                           f"shape {list(input.shape)}")
    return Tri(int(diagonal), upper)(input)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    return _tri(input, diagonal, False)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    return _tri(input, diagonal, True)


# ---- slices: narrow, select, diagonal; zero padding is their backward ------------------------------
class ConstantPad(Node):
    """Pad each dim by (before, after) elements of `value`; negative amounts crop."""

    def __init__(self, pads: tuple, value=0):
        self.pads, self.value = pads, value

    def forward(self, x):
        shape = tuple(s + lo + hi for s, (lo, hi) in zip(x.shape, self.pads))
        src = tuple(slice(max(-lo, 0), s - max(-hi, 0)) for s, (lo, hi) in zip(x.shape, self.pads))
        dst = tuple(slice(max(lo, 0), s - max(hi, 0)) for s, (lo, hi) in zip(shape, self.pads))
        xp = self.xp
        out = xp.zeros(shape, dtype=x.dtype) if self.value == 0 else xp.full(shape, self._fill(x), dtype=x.dtype)
        out[dst] = x[src]
        return out

    def _fill(self, x):
        """The pad value; off NumPy cast to the array's kind first (the standard refuses e.g. a float for ints)."""
        if type(x) is np.ndarray:
            return self.value
        k = ax.kind(x)
        return bool(self.value) if k == "b" else int(self.value) if k in "iu" else self.value

    def backward(self, grad):
        return ConstantPad(tuple((-lo, -hi) for lo, hi in self.pads))(grad)


def _pad_dim(grad: Tensor, dim: int, before: int, after: int) -> Tensor:
    """Zeros around `grad` along one dim: the gradient of a slice of that dim."""
    pads = [(0, 0)] * grad._data.ndim
    pads[dim] = (before, after)
    return ConstantPad(tuple(pads))(grad)


class Narrow(Node):
    def __init__(self, dim: int, start: int, length: int):
        self.dim, self.start, self.length = dim, start, length

    def forward(self, x):
        self.size = x.shape[self.dim]
        return x[_along(self.dim, slice(self.start, self.start + self.length))]

    def backward(self, grad):
        return _pad_dim(grad, self.dim, self.start, self.size - self.start - self.length)


def narrow(input: Tensor, dim: int, start, length: int) -> Tensor:
    """The view of `length` elements of dim `dim` from `start` (which may be negative)."""
    nd = input._data.ndim
    if nd == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = _wrap_dim(dim, nd, "narrow")
    size, start, length = input._data.shape[d], int(start), int(length)
    if not -size <= start <= size:
        raise IndexError(f"narrow: start out of range (expected to be in range of [{-size}, {size}], but got "
                         f"{start})")
    start %= size if size else 1
    if length < 0:
        raise RuntimeError(f"narrow(): length must be non-negative, got {length}.")
    if start + length > size:
        raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension size ({size}) of "
                           f"dim {d} of a tensor of shape {list(input.shape)}.")
    return as_view(Narrow(d, start, length)(input), input)


class Select(Node):
    def __init__(self, dim: int, index: int):
        self.dim, self.index = dim, index

    def forward(self, x):
        self.size = x.shape[self.dim]
        return x[_along(self.dim, self.index)]

    def backward(self, grad):
        return _pad_dim(unsqueeze(grad, self.dim), self.dim, self.index, self.size - self.index - 1)


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The view at `index` of dim `dim`, which is removed."""
    nd = input._data.ndim
    if nd == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = _wrap_dim(dim, nd, "select")
    size, index = input._data.shape[d], int(index)
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(input.shape)} at "
                         f"dimension {dim}")
    return as_view(Select(d, index % size)(input), input)


def _diagonal_of(xp, a, offset: int, d1: int, d2: int):
    """The strided view of a diagonal of array `a`, appended as its last dim (a copy off NumPy and CuPy)."""
    a = xp.moveaxis(a, (d1, d2), (-2, -1))
    a = a[..., min(max(-offset, 0), a.shape[-2]):, min(max(offset, 0), a.shape[-1]):]  # within bounds
    n = max(min(a.shape[-2], a.shape[-1]), 0)
    st = ax.strides(a)
    return ax.as_strided(xp, a, a.shape[:-2] + (n,), st[:-2] + (st[-2] + st[-1],))


class Diagonal(Node):
    def __init__(self, offset: int, dim1: int, dim2: int):
        self.offset, self.dim1, self.dim2 = offset, dim1, dim2

    def forward(self, x):
        self.in_shape = x.shape
        return _diagonal_of(self.xp, x, self.offset, self.dim1, self.dim2)

    def backward(self, grad):
        return DiagonalScatter(self.in_shape, self.offset, self.dim1, self.dim2)(grad)


class DiagonalScatter(Node):
    """Zeros of `shape` with `grad` written on a diagonal: the adjoint of `Diagonal`."""

    def __init__(self, shape: tuple, offset: int, dim1: int, dim2: int):
        self.shape, self.offset, self.dim1, self.dim2 = shape, offset, dim1, dim2

    def forward(self, g):
        xp = self.xp
        out = xp.zeros(self.shape, dtype=g.dtype)
        diag = _diagonal_of(xp, out, self.offset, self.dim1, self.dim2)
        if diag.size == 0:
            return out
        if ax.shares_memory(diag, out):  # a writable view (NumPy, CuPy)
            diag[...] = g
            return out
        # elsewhere: g[..., r - r0] on the cells whose column minus row is `offset`, zeros off it
        a = xp.moveaxis(out, (self.dim1, self.dim2), (-2, -1))
        rows, cols = xp.arange(a.shape[-2]), xp.arange(a.shape[-1])
        on = (cols - rows[:, None]) == self.offset
        src = xp.clip(rows - max(-self.offset, 0), 0, g.shape[-1] - 1)
        full = xp.where(on, xp.take(g, src, axis=-1)[..., None], xp.zeros((), dtype=g.dtype))
        return xp.moveaxis(full, (-2, -1), (self.dim1, self.dim2))

    def backward(self, grad):
        return Diagonal(self.offset, self.dim1, self.dim2)(grad)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The view of the diagonal of dims (dim1, dim2), shifted by `offset`, as the last dim."""
    nd = input._data.ndim
    d1, d2 = _wrap_dim(dim1, nd, "diagonal"), _wrap_dim(dim2, nd, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return as_view(Diagonal(int(offset), d1, d2)(input), input)


# ---- splitting: one node, one view per piece ---------------------------------------------------------
class Split(Node):
    """Views of consecutive pieces of `dim` (of `sizes`), or with `unbind` its single elements, dim removed.

    One node with one output per piece, so backward joins the pieces' gradients once
    (zeros for pieces that got none) instead of padding each piece to the full size.
    """

    def __init__(self, dim: int, sizes: tuple, unbind: bool = False):
        self.dim, self.sizes, self.unbind = dim, sizes, unbind
        self.n_outputs = len(sizes)

    def forward(self, x):
        self.dtype = dt.of_array(x)
        self.in_shape = x.shape
        if self.unbind:
            return tuple(x[_along(self.dim, i)] for i in range(len(self.sizes)))
        out, start = [], 0
        for s in self.sizes:
            out.append(x[_along(self.dim, slice(start, start + s))])
            start += s
        return tuple(out)

    def __call__(self, x: Tensor) -> tuple:
        kind = type(x._data)
        if kind is not _DEFAULT_ARRAY:
            self.xp = _NAMESPACES[kind]
        record = x._requires_grad and _state.enabled
        base = _root(x)
        outs = []
        for k, a in enumerate(self.forward(x._data)):
            t = Tensor._make(a)
            t._base = base
            if record:
                t._requires_grad, t.grad_fn, t._out_nr = True, self, k
            outs.append(t)
        if record:
            self._record((x,), None)
        return tuple(outs)

    def _zeros(self, size: int) -> Tensor:
        """The gradient of a piece that received none."""
        shape = self.in_shape[:self.dim] + (() if self.unbind else (size,)) + self.in_shape[self.dim + 1:]
        return Tensor._make(self.xp.zeros(shape, dtype=dt.native(self.dtype, self.xp)))

    def backward(self, *grads):
        pieces = [self._zeros(s) if g is None else g for g, s in zip(grads, self.sizes)]
        return Stack(self.dim)(*pieces) if self.unbind else Cat(self.dim, self.sizes)(*pieces)


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Views of consecutive pieces along `dim`: of `split_size` each (the last may be smaller), or of given sizes."""
    nd = tensor._data.ndim
    if nd == 0:
        raise RuntimeError("split: expected at least a 1-dimensional tensor")
    d = _wrap_dim(dim, nd, "split")
    n = tensor._data.shape[d]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got split_size={size}")
        if size == 0 and n:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
        sizes = (size,) * (n // size) + ((n % size,) if n % size else ()) if size else (0,)
        return Split(d, sizes)(tensor)
    sizes = tuple(int(s) for s in split_size_or_sections)
    if any(s < 0 for s in sizes) or sum(sizes) != n:
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
                           f"dimension {d}), but got split_sizes={list(sizes)}")
    return Split(d, sizes)(tensor)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most `chunks` views of equal size (ceil(n / chunks); the last may be smaller) along `dim`."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    nd = input._data.ndim
    if nd == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    n = input._data.shape[_wrap_dim(dim, nd, "chunk")]
    if n == 0:
        return split(input, (0,) * chunks, dim)
    return split(input, -(-n // chunks), dim)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The views of each index of `dim`, with that dim removed."""
    nd = input._data.ndim
    if nd == 0:
        raise RuntimeError("unbind: dimension specified as 0 but tensor has no dimensions")
    d = _wrap_dim(dim, nd, "unbind")
    return Split(d, (1,) * input._data.shape[d], unbind=True)(input)


# ---- joining ----------------------------------------------------------------------------------------------
class Cat(Node):
    """Concatenation of the inputs but those at `skipped` (legacy 1-d empty tensors, which get empty gradients)."""

    def __init__(self, dim: int, sizes: tuple, skipped: frozenset = frozenset()):
        self.dim, self.sizes, self.skipped = dim, sizes, skipped

    def forward(self, *xs):
        if self.skipped:
            xs = [a for i, a in enumerate(xs) if i not in self.skipped]
        return self.xp.concat(xs, axis=self.dim)

    def backward(self, grad):
        pieces = Split(self.dim, self.sizes)(grad)
        if not self.skipped:
            return pieces
        rest, empty = iter(pieces), Tensor._make(self.xp.zeros((0,), dtype=grad._data.dtype))
        return tuple(empty if i in self.skipped else next(rest) for i in range(len(pieces) + len(self.skipped)))


class Stack(Node):
    def __init__(self, dim: int):
        self.dim = dim

    def forward(self, *xs):
        return self.xp.stack(xs, axis=self.dim)

    def backward(self, grad):
        return Split(self.dim, (1,) * grad._data.shape[self.dim], unbind=True)(grad)


def _tensor_list(tensors, op: str) -> list:
    if isinstance(tensors, Tensor) or not hasattr(tensors, "__iter__"):
        raise TypeError(f"{op}(): argument 'tensors' must be a tuple or list of Tensors, not "
                        f"{type(tensors).__name__}")
    tensors = list(tensors)
    for i, x in enumerate(tensors):
        if not isinstance(x, Tensor):
            raise TypeError(f"{op}(): expected a Tensor at position {i} of 'tensors', got {type(x).__name__}")
    return tensors


def _promoted(tensors: list) -> list:
    """The tensors cast to their common dtype (PyTorch's promotion)."""
    first = tensors[0]._data.dtype
    if all(x._data.dtype == first for x in tensors):
        return tensors
    d = tensors[0].dtype
    for x in tensors[1:]:
        d = dt._promote(d, x.dtype)
    from .elementwise import cast

    return [cast(x, d) for x in tensors]


def cat(tensors, dim: int = 0) -> Tensor:
    """Concatenate along `dim`; dtypes promote; 1-d empty tensors are skipped (PyTorch's legacy rule)."""
    tensors = _tensor_list(tensors, "cat")
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for i, x in enumerate(tensors):
        if x._data.ndim == 0:
            raise RuntimeError(f"cat: zero-dimensional tensor (at position {i}) cannot be concatenated")
    tensors = _promoted(tensors)
    kept = [(i, x) for i, x in enumerate(tensors) if x._data.shape != (0,)] or list(enumerate(tensors))
    ref = kept[0][1]._data.shape
    d = _wrap_dim(dim, len(ref), "cat")
    for i, x in kept:
        shape = x._data.shape
        if len(shape) != len(ref):
            raise RuntimeError(f"cat: Tensors must have same number of dimensions: got {len(ref)} and {len(shape)} "
                               f"(tensor number {i} in the list has shape {list(shape)})")
        for k, (a, b) in enumerate(zip(ref, shape)):
            if k != d and a != b:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected size {a} but "
                                   f"got size {b} for tensor number {i} in the list (shapes {list(ref)} and "
                                   f"{list(shape)}).")
    skipped = frozenset(range(len(tensors))) - {i for i, _ in kept}
    return Cat(d, tuple(x._data.shape[d] for _, x in kept), skipped)(*tensors)


concat = cat


def concatenate(tensors, axis: int = 0) -> Tensor:
    return cat(tensors, axis)


def stack(tensors, dim: int = 0) -> Tensor:
    """Join same-shape tensors along a new dim `dim`."""
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    ref = tensors[0]._data.shape
    for i, x in enumerate(tensors):
        if x._data.shape != ref:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(ref)} at entry 0 and "
                               f"{list(x.shape)} at entry {i}")
    d = _wrap_dim(dim, len(ref) + 1, "stack")
    return Stack(d)(*_promoted(tensors))


def hstack(tensors) -> Tensor:
    """Concatenate along dim 1 (dim 0 for 1-d tensors); 0-d tensors count as 1-d."""
    tensors = [x if x._data.ndim else _reshape(x, (1,)) for x in _tensor_list(tensors, "hstack")]
    return cat(tensors, 0 if tensors and tensors[0]._data.ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Concatenate along dim 0, with 0-d and 1-d tensors as rows."""
    tensors = [x if x._data.ndim >= 2 else _reshape(x, (1, x._data.size)) for x in _tensor_list(tensors, "vstack")]
    return cat(tensors, 0)


# ---- padding -------------------------------------------------------------------------------------------
class EdgePad(Node):
    """Pad one dim with copies of the input's own elements: 'reflect', 'replicate' or 'circular'."""

    def __init__(self, dim: int, before: int, after: int, mode: str):
        self.dim, self.before, self.after, self.mode = dim, before, after, mode

    def sources(self, n: int) -> tuple:
        """Where the padded elements come from: a slice of the input, or an index (replicate)."""
        p, q = self.before, self.after
        if self.mode == "reflect":
            return slice(p, 0, -1), slice(n - 2, n - 2 - q if n - 2 - q >= 0 else None, -1)
        if self.mode == "circular":
            return slice(n - p, n), slice(0, q)
        return 0, n - 1

    def forward(self, x):
        xp, n = self.xp, x.shape[self.dim]
        parts = []
        for src, count in zip(self.sources(n), (self.before, self.after)):
            if isinstance(src, int):
                edge = x[_along(self.dim, slice(src, src + 1))]
                parts.append(xp.broadcast_to(edge, edge.shape[:self.dim] + (count,) + edge.shape[self.dim + 1:]))
            else:
                parts.append(x[_along(self.dim, src)])
        return xp.concat((parts[0], x, parts[1]), axis=self.dim)

    def backward(self, grad):
        return EdgeFold(self)(grad)


class EdgeFold(Node):
    """The adjoint of an `EdgePad`: the middle of the gradient plus its borders added back where they came from."""

    def __init__(self, pad: EdgePad):
        self.pad = pad

    def forward(self, g):
        dim, p, q = self.pad.dim, self.pad.before, self.pad.after
        n = g.shape[dim] - p - q
        out = ax.copy(g[_along(dim, slice(p, p + n))])
        for src, part in zip(self.pad.sources(n), (slice(0, p), slice(p + n, p + n + q))):
            edge = g[_along(dim, part)]
            if isinstance(src, int):
                out[_along(dim, slice(src, src + 1))] += self.xp.sum(edge, axis=dim, keepdims=True)
            else:
                out[_along(dim, src)] += edge
        return out

    def backward(self, grad):
        return EdgePad(self.pad.dim, self.pad.before, self.pad.after, self.pad.mode)(grad)


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    """Pad the last len(pad) // 2 dims, last dim first (as `torch.nn.functional.pad`); negative amounts crop."""
    pad = tuple(int(p) for p in pad)
    shape = input._data.shape
    nd = len(shape)
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if len(pad) % 2:
        raise RuntimeError(f"pad: Padding length must be divisible by 2, got {len(pad)}")
    k = len(pad) // 2
    if k > nd:
        raise RuntimeError(f"pad: Padding length should be less than or equal to two times the input dimension but "
                           f"got padding length {len(pad)} and input of dimension {nd}")
    pads = [(0, 0)] * (nd - k) + [(pad[2 * i], pad[2 * i + 1]) for i in range(k - 1, -1, -1)]
    for i, ((lo, hi), s) in enumerate(zip(pads, shape)):
        if s + lo + hi < 0:
            raise RuntimeError(f"pad: The input size {s}, plus negative padding {lo} and {hi} resulted in a "
                               f"negative output size, which is invalid. Check dimension {i} of your input of "
                               f"shape {list(shape)}.")
    if mode == "constant":
        return ConstantPad(tuple(pads), 0 if value is None else value)(input)
    if value is not None and value != 0:
        raise RuntimeError(f'pad: Padding mode "{mode}" doesn\'t take in value argument.')
    if not 1 <= k <= 3 or nd not in (k + 1, k + 2):
        raise NotImplementedError(f"pad: Padding size {len(pad)} is not supported for {nd}D input tensor. Supported "
                                  f"combinations for non-constant padding: 2D or 3D input: padding size = 2 (pads "
                                  f"last dimension); 3D or 4D input: padding size = 4 (pads last 2 dimensions); "
                                  f"4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    crop = tuple((min(lo, 0), min(hi, 0)) for lo, hi in pads)
    out = ConstantPad(crop)(input) if any(lo or hi for lo, hi in crop) else input
    for d in range(nd - k, nd):
        lo, hi = max(pads[d][0], 0), max(pads[d][1], 0)
        n = out._data.shape[d]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(f"pad: Padding size should be less than the corresponding input dimension, but got: "
                               f"padding ({lo}, {hi}) at dimension {d} of input {list(shape)}")
        if mode == "circular" and (lo > n or hi > n):
            raise RuntimeError(f"pad: Padding value causes wrapping around more than once (padding ({lo}, {hi}) at "
                               f"dimension {d} of input {list(shape)}).")
        if mode == "replicate" and n == 0 and (lo or hi):
            raise RuntimeError(f"pad: cannot replicate-pad dimension {d} of size 0 (input {list(shape)})")
        if lo or hi:
            out = EdgePad(d, lo, hi, mode)(out)
    return out if out is not input else ConstantPad(tuple(pads))(input)


# ---- copies ---------------------------------------------------------------------------------------------
class Clone(Node):
    def forward(self, x):
        return ax.copy(x)

    def backward(self, grad):
        return grad


def clone(input: Tensor, *, memory_format=None) -> Tensor:
    return Clone()(input)


def contiguous(input: Tensor, memory_format=None) -> Tensor:
    return input if ax.is_contiguous(input._data) else clone(input)


TENSOR_METHODS = (
    "reshape", "view", "view_as", "reshape_as", "flatten", "ravel", "unflatten", "squeeze", "unsqueeze", "permute",
    "transpose", "swapaxes", "swapdims", "movedim", "moveaxis", "t", "T", "mT", "expand", "expand_as",
    "broadcast_to", "repeat", "tile", "flip", "fliplr", "flipud", "roll", "tril", "triu", "narrow", "select",
    "diagonal", "split", "chunk", "unbind", "clone", "contiguous")
__all__ = [
    "reshape", "flatten", "ravel", "unflatten", "squeeze", "unsqueeze", "permute", "transpose", "swapaxes",
    "swapdims", "movedim", "moveaxis", "t", "broadcast_to", "tile", "flip", "fliplr", "flipud", "roll", "tril",
    "triu", "narrow", "select", "diagonal", "split", "chunk", "unbind", "cat", "concat", "concatenate", "stack",
    "hstack", "vstack", "clone"]
