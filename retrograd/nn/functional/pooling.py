"""Pooling: max, average and adaptive pooling over 1, 2 or 3 spatial dims.

A window's elements at one kernel offset form a strided view of the (padded) input, one per
offset. Max pooling takes the elementwise max over those views and keeps, per window, the offset
of the first maximum (as PyTorch does); its gradient goes back to that offset (written straight
into the offset's view when windows are disjoint, added with col2im when they overlap). Two nodes
are each other's backward, so double backward works: `WindowGather` (values at the chosen
offsets) and `WindowScatter` (its adjoint). Average pooling is a window sum divided by the
divisor, adjoint to spreading the gradient back over each window. Adaptive average pooling is a
product with a small averaging matrix per spatial dim; adaptive max pooling gathers at computed
flat indices.
"""
# ruff: noqa: A002 - `input` is PyTorch's argument name
from __future__ import annotations

import math

import numpy as np

from ...array_extras import copy, reshape
from ...autograd.node import Node
from ...device import namespace_of
from ...tensor import Tensor
from .conv import Geometry, col2im, ntuple, pad_array


def from_host(xp, a: np.ndarray):
    """A NumPy array computed on the host (window geometry, small) on xp's device: a copy there, none on NumPy."""
    return a if xp is np else xp.asarray(a)


# ---- nodes -----------------------------------------------------------------------------------------------
def _is_float(xp, dtype) -> bool:
    return dtype.kind == "f" if xp is np else xp.isdtype(dtype, "real floating")


def _fill_value(xp, dtype):
    """The padding of max pooling: -inf, or the lowest integer."""
    return -math.inf if _is_float(xp, dtype) else xp.iinfo(dtype).min


def _disjoint(geom: Geometry) -> bool:
    """Whether no two windows share an input position (each window's span at most the stride)."""
    return all(s > d * (k - 1) for k, s, d in zip(geom.kernel, geom.stride, geom.dilation))


def _parts(x, geom: Geometry, out: tuple) -> list:
    """The (N, C, *out) views of x's (padded) trailing dims that each kernel offset meets, in offset order."""
    return [x[(Ellipsis,) + geom.regions(offset, out)] for _, offset in geom.offsets()]


class WindowGather(Node):
    """The value at a chosen offset `arg` (N, C, *out) of each window; with arg None, forward chooses the
    first maximum (max pooling) and keeps it."""

    def __init__(self, geom: Geometry, out: tuple, arg=None):
        self.geom, self.out, self.arg = geom, out, arg

    def forward(self, x):
        self.size = x.shape[2:]
        xp = self.xp
        parts = _parts(pad_array(xp, x, self.geom.lo, self.geom.hi, _fill_value(xp, x.dtype)), self.geom, self.out)
        if self.arg is None:
            return self._max(x, parts)
        zero = x.dtype.type(0) if xp is np else xp.zeros((), dtype=x.dtype)
        picked = None
        for k, part in enumerate(parts):
            term = xp.where(self.arg == k, part, zero)
            picked = term if picked is None else picked + term
        return picked

    def _max(self, x, parts: list):
        """The max over the kernel's offsets and the first offset holding it. On NumPy: the max over the
        strided views in place, then the first equal offset by Horner's rule over `part != max` (uint8,
        contiguous: no running argmax with `where`); a window with a NaN goes the general way."""
        if self.xp is not np or len(parts) > 256:
            return self._running_max(x, parts)
        best = np.maximum(parts[0], parts[1]) if len(parts) > 1 else parts[0].copy()
        for part in parts[2:]:
            np.maximum(best, part, out=best)
        if x.dtype.kind == "f" and np.isnan(best).any():
            return self._running_max(x, parts)
        arg = np.zeros(best.shape, np.uint8)  # arg = ne0 * (1 + ne1 * (1 + ... ne[K-2]))
        for part in reversed(parts[:-1]):
            arg += 1
            arg *= np.not_equal(part, best).view(np.uint8)
        self.arg = arg
        return best

    def _running_max(self, x, parts: list):
        """The max kept offset by offset: a later offset wins only if strictly greater, or NaN (the last NaN
        wins, as in PyTorch)."""
        xp = self.xp
        best = copy(parts[0])  # not a view: the output must not alias the input
        arg = xp.zeros(best.shape, dtype=xp.int64)
        nan_wins = _is_float(xp, x.dtype)
        for k, part in enumerate(parts[1:], 1):
            take = xp.greater(part, best)
            if nan_wins:
                take = xp.logical_or(take, xp.isnan(part))
            best = xp.where(take, part, best)
            arg = xp.where(take, k, arg)
        self.arg = arg
        return best

    def backward(self, grad):
        return WindowScatter(self.geom, self.out, self.arg, self.size)(grad)


class WindowScatter(Node):
    """The adjoint of `WindowGather`: each value added at its window's chosen position, into zeros of `size`."""

    def __init__(self, geom: Geometry, out: tuple, arg, size: tuple):
        self.geom, self.out, self.arg, self.size = geom, out, arg, size

    def forward(self, g):
        xp, geom = self.xp, self.geom
        n, c = g.shape[:2]
        zero = g.dtype.type(0) if xp is np else xp.zeros((), dtype=g.dtype)
        if not _disjoint(geom):
            arg = reshape(self.arg, (n, c, 1) + self.out)
            return col2im(xp, lambda k: xp.where(arg == k, g[:, :, None, ...], zero), (n, c) + self.size, geom,
                          self.out, c, g.dtype)
        # each input position in one window at most: every offset's values written straight into their view
        padded = tuple(s + a + b for s, a, b in zip(self.size, geom.lo, geom.hi))
        gx = xp.zeros((n, c) + padded, dtype=g.dtype)
        finite = xp is np and bool(np.isfinite(g).all())  # g * mask is g where chosen and 0 elsewhere
        for k, part in enumerate(_parts(gx, geom, self.out)):
            if finite:
                np.multiply(g, self.arg == k, out=part)
            else:
                part[...] = xp.where(self.arg == k, g, zero)
        return gx[(Ellipsis,) + tuple(slice(a, a + s) for a, s in zip(geom.lo, self.size))]

    def backward(self, grad):
        return WindowGather(self.geom, self.out, self.arg)(grad)


class WindowMean(Node):
    """Each window's sum divided by `divisor` (a number, or an array of the output's spatial shape)."""

    def __init__(self, geom: Geometry, out: tuple, divisor):
        self.geom, self.out, self.divisor = geom, out, divisor

    def forward(self, x):
        self.size = x.shape[2:]
        xp = self.xp
        xpad = pad_array(xp, x, self.geom.lo, self.geom.hi)
        total = None
        for _, offset in self.geom.offsets():
            part = xpad[(Ellipsis,) + self.geom.regions(offset, self.out)]
            if xp is not np:  # no `out=` in the standard: a new sum per offset
                total = part if total is None else total + part
            else:
                total = part.copy() if total is None else xp.add(total, part, out=total)
        if xp is not np:
            return total / self.divisor
        total /= self.divisor
        return total

    def backward(self, grad):
        return WindowSpread(self.geom, self.out, self.divisor, self.size)(grad)


class WindowSpread(Node):
    """The adjoint of `WindowMean`: each value divided by the divisor and added over its whole window."""

    def __init__(self, geom: Geometry, out: tuple, divisor, size: tuple):
        self.geom, self.out, self.divisor, self.size = geom, out, divisor, size

    def forward(self, g):
        n, c = g.shape[:2]
        share = (g / self.divisor)[:, :, None, ...]
        return col2im(self.xp, lambda k: share, (n, c) + self.size, self.geom, self.out, c, g.dtype)

    def backward(self, grad):
        return WindowMean(self.geom, self.out, self.divisor)(grad)


# ---- argument handling ---------------------------------------------------------------------------------
def _check_input(input, nd: int, op: str) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.ndim not in (nd + 1, nd + 2) or 0 in input.shape[1:]:
        raise RuntimeError(f"{op}: non-empty {nd + 1}D or {nd + 2}D (batch mode) tensor expected for input, but got "
                           f"input of size {list(input.shape)}")


def _pool_geometry(input: Tensor, kernel_size, stride, padding, dilation, ceil_mode: bool, nd: int,
                   op: str) -> tuple:
    """The windows of a pooling op over input (N, C, *size) and its output size, with PyTorch's checks."""
    kernel = ntuple(kernel_size, nd, "kernel_size", op)
    stride = kernel if stride is None or (isinstance(stride, (list, tuple)) and not stride) else \
        ntuple(stride, nd, "stride", op)
    pad = ntuple(padding, nd, "padding", op)
    dilation = ntuple(dilation, nd, "dilation", op)
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"{op}: kernel_size must be greater than zero, but got kernel_size={list(kernel)}")
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"{op}: stride must be greater than zero, but got stride={list(stride)}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"{op}: dilation must be greater than zero, but got dilation={list(dilation)}")
    if any(p < 0 or p > (d * (k - 1) + 1) // 2 for p, k, d in zip(pad, kernel, dilation)):
        raise RuntimeError(f"{op}: pad should be at most half of effective kernel size, but got pad={list(pad)}, "
                           f"kernel_size={list(kernel)} and dilation={list(dilation)}")
    size = tuple(input.shape[-nd:])
    out = []
    for n, k, s, p, d in zip(size, kernel, stride, pad, dilation):
        span = n + 2 * p - d * (k - 1) - 1
        o = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (o - 1) * s >= n + p:  # the last window must start inside the input or left padding
            o -= 1
        out.append(o)
    out = tuple(out)
    if any(o <= 0 for o in out):
        raise RuntimeError(f"{op}: Given input size: ({'x'.join(map(str, input.shape[-nd - 1:]))}). Calculated "
                           f"output size: ({'x'.join(map(str, (input.shape[-nd - 1],) + out))}). Output size is too "
                           f"small")
    # the last windows of ceil_mode may reach past the padding: pad further after
    hi = tuple(max(p, (o - 1) * s + d * (k - 1) + 1 - n - p) for n, o, k, s, p, d in
               zip(size, out, kernel, stride, pad, dilation))
    return Geometry(kernel, stride, dilation, pad, hi), out


def _run(node_fn, input: Tensor, nd: int):
    """Apply a pooling node to (N, C, *size), adding and removing the batch dim of an unbatched input."""
    x = input.unsqueeze(0) if input.ndim == nd + 1 else input
    out = node_fn(x)
    return out.squeeze(0) if input.ndim == nd + 1 else out


def _flat_indices(xp, arg, geom: Geometry, size: tuple, out: tuple):
    """The flat positions in each unpadded (N, C) plane of the chosen window elements (return_indices)."""
    pos = xp.zeros(arg.shape, dtype=xp.int64)
    arg = xp.astype(arg, xp.int64)
    rest_k = math.prod(geom.kernel)
    for i, (n, k, s, d, lo, o) in enumerate(zip(size, geom.kernel, geom.stride, geom.dilation, geom.lo, out)):
        rest_k //= k
        offset = (arg // rest_k) % k
        start = from_host(xp, np.arange(o).reshape((o,) + (1,) * (len(out) - i - 1)) * s - lo)
        pos = pos * n + start + offset * d
    return pos


def _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, nd: int, op: str):
    _check_input(input, nd, op)
    geom, out = _pool_geometry(input, kernel_size, stride, padding, dilation, ceil_mode, nd, op)
    node = WindowGather(geom, out)
    result = _run(node, input, nd)
    if not return_indices:
        return result
    xp = namespace_of(input._data)
    idx = _flat_indices(xp, node.arg, geom, tuple(input.shape[-nd:]), out)
    return result, Tensor._make(idx[0, ...] if input.ndim == nd + 1 else idx)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """Max over sliding windows of (N, C, L); stride defaults to kernel_size; padding counts as -inf."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1, "max_pool1d")


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """Max over sliding windows of (N, C, H, W); with return_indices, also the flat H*W index of each max."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2, "max_pool2d")


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """Max over sliding windows of (N, C, D, H, W)."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 3, "max_pool3d")


def _divisor(xp, geom: Geometry, size: tuple, out: tuple, count_include_pad: bool, divisor_override, dtype):
    """What each window's sum is divided by: the override, the window's size clipped to the padded input
    (count_include_pad) or to the input, as PyTorch counts it. Counted on the host (geometry only), `dtype`
    the NumPy dtype of the input's."""
    if divisor_override is not None:
        return divisor_override
    count = None
    for i, (n, k, s, lo, o) in enumerate(zip(size, geom.kernel, geom.stride, geom.lo, out)):
        start = np.arange(o) * s - lo
        end = np.minimum(start + k, n + lo)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        c = (end - start).reshape((o,) + (1,) * (len(out) - i - 1))
        count = c if count is None else count * c
    if bool((count == math.prod(geom.kernel)).all()):
        return math.prod(geom.kernel)
    return from_host(xp, count.astype(dtype))


def _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, nd: int,
              op: str) -> Tensor:
    _check_input(input, nd, op)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{op}: expected a floating-point input, got {input.dtype}")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError(f"{op}: divisor must be not zero")
    geom, out = _pool_geometry(input, kernel_size, stride, padding, 1, ceil_mode, nd, op)
    divisor = _divisor(namespace_of(input._data), geom, tuple(input.shape[-nd:]), out, count_include_pad,
                       divisor_override, input.dtype.np)
    return _run(WindowMean(geom, out, divisor), input, nd)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Mean over sliding windows of (N, C, L)."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1, "avg_pool1d")


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over sliding windows of (N, C, H, W); padded zeros count unless count_include_pad=False."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 2,
                     "avg_pool2d")


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over sliding windows of (N, C, D, H, W)."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 3,
                     "avg_pool3d")


# ---- adaptive pooling ----------------------------------------------------------------------------------
def _adaptive_sizes(input: Tensor, output_size, nd: int, op: str) -> tuple:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.ndim not in (nd + 1, nd + 2) or 0 in input.shape[-nd:]:
        raise RuntimeError(f"{op}(): Expected {nd + 1}D or {nd + 2}D tensor with non-zero spatial dims, but got "
                           f"{list(input.shape)}")
    if isinstance(output_size, (list, tuple)) and len(output_size) not in (1, nd):
        raise RuntimeError(f"{op}: output_size must be {nd}, got {tuple(output_size)}")
    if not isinstance(output_size, (list, tuple)) or len(output_size) == 1:
        output_size = (output_size[0] if isinstance(output_size, (list, tuple)) else output_size,) * nd
    size = tuple(input.shape[-nd:])
    out = tuple(n if o is None else int(o) for o, n in zip(output_size, size))
    if any(o < 0 for o in out):
        raise RuntimeError(f"{op}: elements of output_size must be greater than or equal to 0 but received {out}")
    return size, out


def _bounds(n: int, o: int) -> tuple:
    """PyTorch's adaptive windows: [floor(i * n / o), ceil((i + 1) * n / o)) for output index i (on the host)."""
    i = np.arange(o)
    return (i * n) // o, -((-(i + 1) * n) // o)


def _averaging_matrix(n: int, o: int, dtype):
    """(o, n) on the host: row i averages the input positions of window i."""
    start, end = _bounds(n, o)
    j = np.arange(n)
    inside = (j >= start[:, None]) & (j < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _adaptive_avg_pool(input, output_size, nd: int, op: str) -> Tensor:
    size, out = _adaptive_sizes(input, output_size, nd, op)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{op}: expected a floating-point input, got {input.dtype}")
    if all(o == 1 for o in out):
        return input.mean(tuple(range(-nd, 0)), keepdim=True)
    xp = namespace_of(input._data)
    x = input
    for i, (n, o) in enumerate(zip(size, out)):
        if n == o:
            continue
        x = linear_map(x, Tensor._make(from_host(xp, _averaging_matrix(n, o, input.dtype.np))), input.ndim - nd + i)
    return x


def linear_map(x: Tensor, a: Tensor, dim: int) -> Tensor:
    """x with dim d of size n mapped by the matrix a (m, n): out[..., i, ...] = sum_j a[i, j] x[..., j, ...]."""
    if dim == x.ndim - 1:
        return x @ a.t()
    if dim == x.ndim - 2:
        return a @ x
    return (x.transpose(dim, -1) @ a.t()).transpose(dim, -1)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Average pooling of (N, C, L) to L_out windows of nearly equal size."""
    return _adaptive_avg_pool(input, output_size, 1, "adaptive_avg_pool1d")


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling of (N, C, H, W) to output_size (an int, or a pair whose None entries keep the input's size)."""
    return _adaptive_avg_pool(input, output_size, 2, "adaptive_avg_pool2d")


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """Average pooling of (N, C, D, H, W) to output_size."""
    return _adaptive_avg_pool(input, output_size, 3, "adaptive_avg_pool3d")


def _adaptive_max_pool(input, output_size, return_indices: bool, nd: int, op: str):
    size, out = _adaptive_sizes(input, output_size, nd, op)
    if 0 in out:
        raise RuntimeError(f"{op}: output_size must be positive, got {out}")
    xp = namespace_of(input._data)
    x = input.unsqueeze(0) if input.ndim == nd + 1 else input
    # each window padded to the longest by repeating its last position: that cannot change its first maximum
    flat, stride = 0, math.prod(size)
    for i, (n, o) in enumerate(zip(size, out)):  # window geometry, on the host
        stride //= n
        start, end = _bounds(n, o)
        k = int((end - start).max())
        idx = np.minimum(start[:, None] + np.arange(k), end[:, None] - 1)  # (o, k)
        shape = [1] * (2 * nd)
        shape[i], shape[nd + i] = o, k
        flat = flat + idx.reshape(shape) * stride
    flat = flat.reshape(out + (-1,))  # (*out, K): the flat positions of each window, in C order
    lead = x.shape[:2]
    if xp is np:
        values = x._data.reshape(lead + (-1,))[..., flat]  # (N, C, *out, K)
        first = values.argmax(axis=-1)[..., None]
    else:
        flat = xp.asarray(flat)
        values = xp.take(reshape(x._data, lead + (-1,)), reshape(flat, (-1,)), axis=2)
        first = xp.argmax(reshape(values, lead + flat.shape), axis=-1)[..., None]
    arg = xp.take_along_axis(xp.broadcast_to(flat, lead + flat.shape), first, axis=-1)[..., 0]
    result = x.reshape(lead + (-1,)).gather(-1, Tensor._make(reshape(arg, lead + (-1,)))).reshape(lead + out)
    indices = Tensor._make(arg)
    if input.ndim == nd + 1:
        result, indices = result.squeeze(0), indices.squeeze(0)
    return (result, indices) if return_indices else result


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling of (N, C, L) to L_out windows of nearly equal size."""
    return _adaptive_max_pool(input, output_size, return_indices, 1, "adaptive_max_pool1d")


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling of (N, C, H, W) to output_size; with return_indices, also the flat H*W index of each max."""
    return _adaptive_max_pool(input, output_size, return_indices, 2, "adaptive_max_pool2d")


__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d"]
