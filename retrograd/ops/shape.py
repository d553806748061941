"""Shape ops: reshape and views, transposes, expand, concatenation and splitting, ...

Views (`view`, `reshape` when possible, `transpose`, `expand`, slicing) share the
storage of their base, as in PyTorch; they share its version counter too, so an
in-place change through either is seen by saved-tensor checks of both.
"""
from __future__ import annotations

from ..autograd.node import Node
from ..tensor import Tensor, _wrap_dim


def as_view(out: Tensor, base: Tensor) -> Tensor:
    """Mark `out` as a view of `base` when NumPy made it share memory."""
    if out._data.base is not None:
        out._base = base if base._base is None else base._base
    return out


def _shape_arg(shape) -> tuple:
    if len(shape) == 1 and not isinstance(shape[0], int):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def infer_size(shape: tuple, numel: int, op: str, input_shape: tuple) -> tuple:
    """Resolve one -1 in `shape`, or raise naming both shapes."""
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred, got shape {list(shape)}")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"{op}: invalid shape dimension {s} in {list(shape)}")
            known *= s
    if neg:
        if known == 0 or numel % known:
            raise RuntimeError(f"{op}: shape '{list(shape)}' is invalid for input of size {numel} "
                               f"(input shape {tuple(input_shape)})")
        shape = shape[:neg[0]] + (numel // known,) + shape[neg[0] + 1:]
    elif known != numel:
        raise RuntimeError(f"{op}: shape '{list(shape)}' is invalid for input of size {numel} "
                           f"(input shape {tuple(input_shape)})")
    return shape


class Reshape(Node):
    def __init__(self, shape: tuple):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, grad):
        return grad.reshape(self.in_shape)


def reshape(input: Tensor, *shape) -> Tensor:
    shape = infer_size(_shape_arg(shape), input._data.size, "reshape", input._data.shape)
    if shape == input._data.shape:
        return input if input.grad_fn is None and not input._requires_grad else as_view(Reshape(shape)(input), input)
    return as_view(Reshape(shape)(input), input)


def view(input: Tensor, *shape) -> Tensor:
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list)):
        return input.to(shape[0])  # view(dtype) is only supported as a cast of equal item size
    shape = infer_size(_shape_arg(shape), input._data.size, "view", input._data.shape)
    out = as_view(Reshape(shape)(input), input)
    if input._data.size and out._data.base is None and input._data.ndim:
        raise RuntimeError(f"view size is not compatible with input tensor's size and stride (input shape "
                           f"{tuple(input.shape)}, view shape {shape}): at least one dimension spans across two "
                           f"contiguous subspaces. Use .reshape(...) instead.")
    return out


def view_as(input: Tensor, other: Tensor) -> Tensor:
    return view(input, other.shape)


def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    return reshape(input, other.shape)


class Expand(Node):
    def __init__(self, shape: tuple):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        return self.xp.broadcast_to(x, self.shape)

    def backward(self, grad):
        return grad.sum_to_size(self.in_shape)


def expand(input: Tensor, *sizes) -> Tensor:
    sizes = _shape_arg(sizes)
    nd = input._data.ndim
    if len(sizes) < nd:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the "
                           f"number of dimensions in the tensor ({nd})")
    shape = list(sizes)
    lead = len(sizes) - nd
    for i, s in enumerate(input._data.shape):
        if sizes[lead + i] == -1:
            shape[lead + i] = s
        elif s != 1 and s != sizes[lead + i]:
            raise RuntimeError(f"expand: the expanded size of the tensor ({sizes[lead + i]}) must match the "
                               f"existing size ({s}) at non-singleton dimension {lead + i}. Target sizes: "
                               f"{list(sizes)}. Tensor sizes: {list(input.shape)}")
    shape = tuple(shape)
    if shape == input._data.shape:
        return input
    return as_view(Expand(shape)(input), input)


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other.shape)


class Permute(Node):
    def __init__(self, dims: tuple):
        self.dims = dims

    def forward(self, x):
        return x.transpose(self.dims)

    def backward(self, grad):
        inv = [0] * len(self.dims)
        for i, d in enumerate(self.dims):
            inv[d] = i
        return grad.permute(tuple(inv))


def permute(input: Tensor, *dims) -> Tensor:
    dims = _shape_arg(dims)
    nd = input._data.ndim
    if len(dims) != nd:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                           f"length of the desired ordering of dimensions i.e. input.dim() = {nd} is not equal "
                           f"to len(dims) = {len(dims)}")
    dims = tuple(_wrap_dim(d, nd, "permute") for d in dims)
    if len(set(dims)) != nd:
        raise RuntimeError(f"permute: repeated dim in {dims}")
    return as_view(Permute(dims)(input), input)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    nd = input._data.ndim
    if nd == 0:
        return input
    d0, d1 = _wrap_dim(dim0, nd, "transpose"), _wrap_dim(dim1, nd, "transpose")
    dims = list(range(nd))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return as_view(Permute(tuple(dims))(input), input)


swapaxes = transpose


def t(input: Tensor) -> Tensor:
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input._data.ndim}D")
    return transpose(input, 0, 1) if input._data.ndim == 2 else input


class Clone(Node):
    def forward(self, x):
        return x.copy()

    def backward(self, grad):
        return grad


def clone(input: Tensor, *, memory_format=None) -> Tensor:
    return Clone()(input)


def contiguous(input: Tensor, memory_format=None) -> Tensor:
    return input if input._data.flags.c_contiguous else clone(input)


TENSOR_METHODS = ("reshape", "view", "view_as", "reshape_as", "expand", "expand_as", "permute", "transpose",
                  "swapaxes", "t", "clone", "contiguous")
__all__ = ["reshape", "permute", "transpose", "swapaxes", "t", "clone"]
