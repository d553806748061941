"""Convolutions: conv1d/2d/3d, their transposes, unfold and fold, over any number of spatial dims.

Three nodes do all the work, each differentiated by the other two (Chainer's scheme), so
double backward works:

- `Conv(x, w, b)`: im2col (a strided window view of the padded input, copied once into
  columns) and one GEMM per group;
- `ConvTranspose(x, w, b)`: one GEMM per group into columns, then col2im (the columns added
  back at each kernel offset: a loop over the kernel's offsets only);
- `WeightGrad(x, gy)`: the weight gradient, one GEMM of gy with the columns of x.

The GEMMs fold the batch into their columns (`gemm_cols`: (groups, K * C/groups, N * L),
kernel offsets outer, channels inner, L the output positions): one large GEMM per group
runs near BLAS's peak where one small GEMM per sample does not, for the price of moving
the (much smaller) output back to (N, C, L) in the pass that adds the bias. `im2col`
((N, groups, K * C/groups, L)) serves unfold and pooling.
"""
# ruff: noqa: A002 - `input` is PyTorch's argument name
from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import numpy as np

from ...array_extras import as_strided, permute_dims, reshape
from ...array_extras import strides as byte_strides
from ...autograd import grad_mode
from ...autograd.node import Node
from ...tensor import Tensor


# ---- geometry: windows, im2col, col2im -----------------------------------------------------------------
class Geometry(NamedTuple):
    """Where the windows of a convolution or pooling lie, per spatial dim (padding may differ on each side)."""

    kernel: tuple
    stride: tuple
    dilation: tuple
    lo: tuple  # padding before
    hi: tuple  # padding after

    def out_size(self, size: tuple) -> tuple:
        return tuple((n + a + b - d * (k - 1) - 1) // s + 1
                     for n, k, s, d, a, b in zip(size, self.kernel, self.stride, self.dilation, self.lo, self.hi))

    def offsets(self):
        """The kernel offsets, in C order, as (flat index, tuple)."""
        return enumerate(itertools.product(*(range(k) for k in self.kernel)))

    def regions(self, offset: tuple, out: tuple) -> tuple:
        """The slices of the padded input that kernel offset `offset` meets over an output of size `out`."""
        return tuple(slice(o * d, o * d + s * (n - 1) + 1, s)
                     for o, d, s, n in zip(offset, self.dilation, self.stride, out))


def pad_array(xp, x, lo: tuple, hi: tuple, value=0):
    """x with its trailing len(lo) dims padded by lo before and hi after, filled with value."""
    if not any(lo) and not any(hi):
        return x
    nd = len(lo)
    shape = x.shape[:-nd] + tuple(n + a + b for n, a, b in zip(x.shape[-nd:], lo, hi))
    out = xp.zeros(shape, dtype=x.dtype) if value == 0 else xp.full(shape, value, dtype=x.dtype)
    out[(Ellipsis,) + tuple(slice(a, a + n) for a, n in zip(lo, x.shape[-nd:]))] = x
    return out


def windows(xp, x, geom: Geometry, out: tuple):
    """A view (..., *kernel, *out) of the windows over x's trailing (already padded) dims (a copy off NumPy and
    CuPy: read it, never write through it)."""
    nd = len(out)
    xs = x.strides if type(x) is np.ndarray else byte_strides(x)
    st = xs[-nd:]
    strides = (xs[:-nd] + tuple(s * d for s, d in zip(st, geom.dilation))
               + tuple(s * t for s, t in zip(st, geom.stride)))
    return as_strided(xp, x, x.shape[:-nd] + geom.kernel + out, strides)


def im2col(xp, x, geom: Geometry, out: tuple, groups: int, value=0):
    """The columns (N, groups, K * C/groups, L) of x (N, C, *size): kernel offset outer, channel inner."""
    n, c = x.shape[:2]
    nd = len(out)
    xpad = pad_array(xp, x, geom.lo, geom.hi, value)
    grouped = (n, groups, c // groups) + xpad.shape[2:]
    win = windows(xp, xpad.reshape(grouped) if xp is np else reshape(xpad, grouped), geom, out)
    perm = (0, 1) + tuple(range(3, 3 + nd)) + (2,) + tuple(range(3 + nd, 3 + 2 * nd))
    if xp is np:  # NumPy's methods: each wrapper call costs ~0.3 µs, which shows on small convolutions
        return win.transpose(perm).reshape(n, groups, -1, math.prod(out))
    return reshape(permute_dims(win, perm), (n, groups, -1, math.prod(out)))


def gemm_cols(xp, x, geom: Geometry, out: tuple, groups: int):
    """The columns (groups, K * C/groups, N * L) of x (N, C, *size): the batch folded into the GEMM's columns,
    so that a convolution is one large GEMM per group rather than one small one per sample."""
    n, c = x.shape[:2]
    nd = len(out)
    xpad = pad_array(xp, x, geom.lo, geom.hi)
    grouped = (n, groups, c // groups) + xpad.shape[2:]
    win = windows(xp, xpad.reshape(grouped) if xp is np else reshape(xpad, grouped), geom, out)
    perm = (1,) + tuple(range(3, 3 + nd)) + (2, 0) + tuple(range(3 + nd, 3 + 2 * nd))
    if xp is np:
        return win.transpose(perm).reshape(groups, -1, n * math.prod(out))
    return reshape(permute_dims(win, perm), (groups, -1, n * math.prod(out)))


def batch_major(xp, y, n: int, b=None):
    """(groups, C/groups, N * L) from a GEMM as a contiguous (N, C, L), with the bias (C,) added in the same pass."""
    g, cg = y.shape[:2]
    if xp is not np:  # the standard has no `out=`: the sum (or the reshape) makes the copy
        src = permute_dims(reshape(y, (g, cg, n, -1)), (2, 0, 1, 3))
        if b is not None:
            src = src + reshape(b, (1, g, cg, 1))
        return reshape(src, (n, g * cg, -1))
    src = y.reshape(g, cg, n, -1).transpose(2, 0, 1, 3)
    out = xp.empty(src.shape, y.dtype)
    if b is None:
        xp.copyto(out, src)
    else:
        xp.add(src, b.reshape(1, g, cg, 1), out=out)
    return out.reshape(n, g * cg, -1)


def group_major(x, groups: int):
    """x (N, C, *size) as (groups, C/groups, N * L): the layout of a GEMM operand with the batch in its columns."""
    n, c = x.shape[:2]
    if type(x) is np.ndarray:
        return x.reshape(n, groups, c // groups, -1).transpose(1, 2, 0, 3).reshape(groups, c // groups, -1)
    return reshape(permute_dims(reshape(x, (n, groups, c // groups, -1)), (1, 2, 0, 3)), (groups, c // groups, -1))


def col2im(xp, term, shape: tuple, geom: Geometry, out: tuple, groups: int, dtype):
    """The adjoint of im2col: `term(k)` (N, groups, C/groups, *out), the columns of kernel offset k, added
    at that offset into zeros of `shape` (N, C, *size)."""
    n, c = shape[:2]
    size = tuple(s + a + b for s, a, b in zip(shape[2:], geom.lo, geom.hi))
    # added into the grouped array itself, not through a reshaped view of it (not one off NumPy and CuPy)
    grouped = xp.zeros((n, groups, c // groups) + size, dtype=dtype)
    for k, offset in geom.offsets():
        grouped[(Ellipsis,) + geom.regions(offset, out)] += term(k)
    padded = grouped.reshape((n, c) + size) if xp is np else reshape(grouped, (n, c) + size)
    return padded[(Ellipsis,) + tuple(slice(a, a + s) for a, s in zip(geom.lo, shape[2:]))]


def _add_bias(out, b, nd: int):
    if b is not None:
        out += reshape(b, (1, -1) + (1,) * nd)
    return out


def _bias_grad(node: Node, grad: Tensor, nd: int):
    """The bias gradient: one sum (the bias is the third input, None when absent)."""
    return grad.sum((0,) + tuple(range(2, 2 + nd))) if node.needs_input_grad(2) else None


def _grouped_matmul(xp, a, b):
    """a (groups, m, k) @ b (groups, k, n), one 2-D GEMM per group: NumPy's stacked matmul falls back to
    a slow loop of its own for some operand strides (a transposed right operand) where 2-D matmul calls BLAS."""
    if a.shape[0] == 1:
        return xp.matmul(a[0, ...], b[0, ...])[None, ...]
    if xp is not np:
        return xp.matmul(a, b)
    return xp.stack([xp.matmul(x, y) for x, y in zip(a, b)])


def _conv_gemm(xp, cols, w, b, g: int, n: int, out: tuple):
    """The convolution's output (N, O, *out) from the columns of its input and the weight (O, C/groups, *k)."""
    o, cg = w.shape[:2]
    if xp is np:
        wm = w.reshape(g, o // g, cg, -1).transpose(0, 1, 3, 2).reshape(g, o // g, -1)
        return batch_major(xp, _grouped_matmul(xp, wm, cols), n, b).reshape((n, o) + out)
    wm = reshape(permute_dims(reshape(w, (g, o // g, cg, -1)), (0, 1, 3, 2)), (g, o // g, -1))
    return reshape(batch_major(xp, _grouped_matmul(xp, wm, cols), n, b), (n, o) + out)


def _gather_geometry(geom: Geometry, size_in: tuple, out: tuple) -> Geometry | None:
    """For a stride-1 transposed convolution, the geometry of the equivalent direct convolution (with the
    flipped kernel, padded by dilation * (k - 1) minus the original padding); None where there is none."""
    if any(s != 1 for s in geom.stride):
        return None
    lo = tuple(d * (k - 1) - a for k, d, a in zip(geom.kernel, geom.dilation, geom.lo))
    hi = tuple(o + d * (k - 1) - n - a for o, k, d, n, a in zip(out, geom.kernel, geom.dilation, size_in, lo))
    if min(lo + hi) < 0:
        return None
    return Geometry(geom.kernel, geom.stride, geom.dilation, lo, hi)


def _plane_scatter(x, wm, geom: Geometry, g: int, out: tuple):
    """A stride-1 transposed convolution on NumPy by shifted adds over flat planes: x (N, C_in, *in) is laid
    on the grid of the padded output (channel-major, rows as long as the padded rows, zeros between), so
    that each kernel offset's columns from the GEMM `wm` (groups, K * C_out/groups, C_in/groups) land on a
    contiguous run of the flat plane, shifted by the offset. col2im's adds run over rows as short as the
    input's instead (one NumPy inner loop per row). Output (N, groups * C_out/groups, *out)."""
    n, c_in = x.shape[:2]
    size_in, nd, cg = x.shape[2:], len(out), x.shape[1] // g
    og = wm.shape[1] // math.prod(geom.kernel)
    padded = tuple(o + a + b for o, a, b in zip(out, geom.lo, geom.hi))
    steps = tuple(math.prod(padded[m + 1:]) for m in range(nd))  # of the flat padded plane, per dim
    used = sum((s - 1) * t for s, t in zip(size_in, steps)) + 1  # up to the last input position
    grid = np.zeros((g, cg, n, used), x.dtype)
    item = x.dtype.itemsize
    on_grid = as_strided(np, grid, (g, cg, n) + size_in,
                         (cg * n * used * item, n * used * item, used * item) + tuple(t * item for t in steps))
    np.copyto(on_grid, x.reshape((n, g, cg) + size_in).transpose((1, 2, 0) + tuple(range(3, 3 + nd))))
    cols = _grouped_matmul(np, wm, grid.reshape(g, cg, n * used)).reshape(g, -1, og, n, used)
    plane = np.zeros((g, og, n, math.prod(padded)), x.dtype)
    for k, offset in geom.offsets():  # the last input position plus the largest shift is the plane's end
        shift = sum(o * d * t for o, d, t in zip(offset, geom.dilation, steps))
        plane[..., shift:shift + used] += cols[:, k]
    inside = plane.reshape((g, og, n) + padded)[(Ellipsis,) + tuple(slice(a, a + o) for a, o in zip(geom.lo, out))]
    result = np.empty((n, g, og) + out, x.dtype)
    np.copyto(result, inside.transpose((2, 0, 1) + tuple(range(3, 3 + nd))))
    return result.reshape((n, g * og) + out)


# ---- the three nodes ---------------------------------------------------------------------------------
class Conv(Node):
    """Cross-correlation of x (N, C, *size) with w (O, C/groups, *kernel), plus bias; output (N, O, *out)."""

    saves_inputs = True

    def __init__(self, geom: Geometry, groups: int, out: tuple, keep_cols: bool = False):
        self.geom, self.groups, self.out, self.keep_cols = geom, groups, out, keep_cols

    def forward(self, x, w, b=None):
        cols = gemm_cols(self.xp, x, self.geom, self.out, self.groups)
        if self.keep_cols:  # the weight gradient reuses them rather than copying the windows again
            self.cols = cols
        return _conv_gemm(self.xp, cols, w, b, self.groups, x.shape[0], self.out)

    def backward(self, grad):
        x, w, _ = self.saved_tensors
        g, geom = self.groups, self.geom
        gx = ConvTranspose(geom, g, tuple(x.shape[2:]))(grad, w, None) if self.needs_input_grad(0) else None
        gw = None
        if self.needs_input_grad(1):
            gw = WeightGrad(geom, g, self.__dict__.get("cols"))(x, grad)
        return gx, gw, _bias_grad(self, grad, len(self.out))


class ConvTranspose(Node):
    """The transpose (adjoint in x) of `Conv`: x (N, C_in, *in), w (C_in, C_out/groups, *kernel) -> (N, C_out, *out)."""

    saves_inputs = True

    def __init__(self, geom: Geometry, groups: int, out: tuple):
        self.geom, self.groups, self.out = geom, groups, out

    def forward(self, x, w, b=None):
        g = self.groups
        n, c_in = x.shape[:2]
        size_in = x.shape[2:]
        og = w.shape[1]
        direct = _gather_geometry(self.geom, size_in, self.out)
        # a gather (im2col + GEMM) beats col2im's scattered adds, unless its columns are larger: it copies
        # windows of the c_in channels over the output, the scatter adds windows of the c_out ones over the input
        if direct is not None and c_in * math.prod(self.out) <= og * g * math.prod(size_in):
            nd = len(size_in)
            if self.xp is np:
                flipped = w.reshape((g, c_in // g, og) + w.shape[2:]).swapaxes(1, 2).reshape((g * og, c_in // g)
                                                                                           + w.shape[2:])
            else:
                flipped = reshape(w, (g, c_in // g, og) + w.shape[2:])
                flipped = permute_dims(flipped, (0, 2, 1) + tuple(range(3, 3 + nd)))
                flipped = reshape(flipped, (g * og, c_in // g) + w.shape[2:])
            flipped = flipped[(Ellipsis,) + (slice(None, None, -1),) * nd]
            return _conv_gemm(self.xp, gemm_cols(self.xp, x, direct, self.out, g), flipped, b, g, n, self.out)
        k = math.prod(self.geom.kernel)
        wm = reshape(permute_dims(reshape(w, (g, c_in // g, og, k)), (0, 3, 2, 1)), (g, k * og, c_in // g))
        if self.xp is np and direct is not None:
            return _add_bias(_plane_scatter(x, wm, self.geom, g, self.out), b, len(self.out))
        cols = reshape(_grouped_matmul(self.xp, wm, group_major(x, g)), (g, k, og, n) + size_in)
        perm = (2, 0, 1) + tuple(range(3, 3 + len(size_in)))  # (N, groups, C_out/groups, *in) for offset i
        out = col2im(self.xp, lambda i: permute_dims(cols[:, i, ...], perm), (n, og * g) + self.out, self.geom,
                     size_in, g, cols.dtype)
        return _add_bias(out, b, len(self.out))

    def backward(self, grad):
        x, w, _ = self.saved_tensors
        g, geom = self.groups, self.geom
        gx = Conv(geom, g, tuple(x.shape[2:]))(grad, w, None) if self.needs_input_grad(0) else None
        gw = WeightGrad(geom, g)(grad, x) if self.needs_input_grad(1) else None
        return gx, gw, _bias_grad(self, grad, len(self.out))


class WeightGrad(Node):
    """d<gy, conv(x, w)>/dw: x (N, C, *size), gy (N, O, *out) -> (O, C/groups, *kernel). Bilinear in x and gy."""

    saves_inputs = True

    def __init__(self, geom: Geometry, groups: int, cols=None):
        self.geom, self.groups, self.cols = geom, groups, cols

    def forward(self, x, gy):
        g = self.groups
        n, c = x.shape[:2]
        o = gy.shape[1]
        cols = self.cols if self.cols is not None else gemm_cols(self.xp, x, self.geom, gy.shape[2:], g)
        self.cols = None
        # one GEMM per group over the whole batch, as cols @ gy^T: OpenBLAS runs gy @ cols^T (long inner
        # dimension, transposed right operand) several times slower
        if self.xp is np:
            r = _grouped_matmul(self.xp, cols, group_major(gy, g).swapaxes(-1, -2)).swapaxes(-1, -2)
            r = r.reshape(g, o // g, -1, c // g).transpose(0, 1, 3, 2)
            return r.reshape((o, c // g) + self.geom.kernel)
        r = permute_dims(_grouped_matmul(self.xp, cols, permute_dims(group_major(gy, g), (0, 2, 1))), (0, 2, 1))
        r = permute_dims(reshape(r, (g, o // g, -1, c // g)), (0, 1, 3, 2))
        return reshape(r, (o, c // g) + self.geom.kernel)

    def backward(self, grad):
        x, gy = self.saved_tensors
        g, geom = self.groups, self.geom
        gx = ConvTranspose(geom, g, tuple(x.shape[2:]))(gy, grad, None) if self.needs_input_grad(0) else None
        ggy = Conv(geom, g, tuple(gy.shape[2:]))(x, grad, None) if self.needs_input_grad(1) else None
        return gx, ggy


# ---- argument checks ---------------------------------------------------------------------------------
def ntuple(value, n: int, name: str, op: str) -> tuple:
    """An int or a sequence of 1 or n ints as an n-tuple (PyTorch expands a single value)."""
    if isinstance(value, Tensor):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        if len(value) == 1:
            value = value[0]
        elif len(value) != n:
            raise RuntimeError(f"{op}: expected {name} to be a single integer value or a list of {n} values to "
                               f"match the convolution dimensions, but got {name}={list(value)}")
        else:
            return tuple(int(v) for v in value)
    if not isinstance(value, int) and not (hasattr(value, "__index__") and not isinstance(value, float)):
        raise TypeError(f"{op}(): argument '{name}' must be an int or a tuple of {n} ints, not {type(value).__name__}")
    return (int(value),) * n


def _size_str(shape) -> str:
    return str(list(shape))


def _check_tensor(x, op: str, name: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(x).__name__}")


def _batched(input: Tensor, nd: int, op: str) -> tuple:
    """input with a batch dim (added for an unbatched input), and whether one was added."""
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {op}, but got input of "
                           f"size: {_size_str(input.shape)}")
    if input.ndim == nd + 1:
        return input.unsqueeze(0), True
    return input, False


def _check_params(stride: tuple, dilation: tuple, groups: int, pads: tuple) -> None:
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"non-positive stride is not supported (stride={list(stride)})")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"non-positive dilation is not supported (dilation={list(dilation)})")
    if any(p < 0 for p in pads):
        raise RuntimeError(f"negative padding is not supported (padding={list(pads)})")
    if not isinstance(groups, int) or groups <= 0:
        raise RuntimeError(f"non-positive groups is not supported (groups={groups})")


def _check_dtypes(input: Tensor, weight: Tensor, bias) -> None:
    if input.dtype is not weight.dtype:
        raise RuntimeError(f"expected scalar type {_scalar(input)} but found {_scalar(weight)} (input {input.dtype}, "
                           f"weight {weight.dtype})")
    if bias is not None and bias.dtype is not input.dtype:
        raise RuntimeError(f"Input type ({input.dtype.name}) and bias type ({bias.dtype.name}) should be the same")


def _scalar(t: Tensor) -> str:
    name = t.dtype.name
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long"}.get(name, name)


def _check_bias(bias, n: int, weight: Tensor) -> None:
    if bias is None:
        return
    _check_tensor(bias, "conv", "bias")
    if bias.ndim != 1 or bias.shape[0] != n:
        raise RuntimeError(f"Given weight of size {_size_str(weight.shape)}, expected bias to be 1-dimensional with "
                           f"{n} elements, but got bias of size {_size_str(bias.shape)} instead")


def _check_fits(size: tuple, geom: Geometry) -> None:
    padded = tuple(n + a + b for n, a, b in zip(size, geom.lo, geom.hi))
    eff = tuple(d * (k - 1) + 1 for k, d in zip(geom.kernel, geom.dilation))
    if any(p < e for p, e in zip(padded, eff)):
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, eff))}). Kernel size can't be greater than actual input size")


def _padding(padding, weight: Tensor, stride: tuple, dilation: tuple, nd: int, op: str) -> tuple:
    """(lo, hi) paddings from an int, a tuple, 'valid' or 'same' (extra padding goes after, as PyTorch)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * nd, (0,) * nd
        if padding != "same":
            raise RuntimeError(f"{op}: Invalid padding string: '{padding}' (expected 'valid' or 'same')")
        if any(s != 1 for s in stride):
            raise RuntimeError(f"{op}: padding='same' is not supported for strided convolutions (stride="
                               f"{list(stride)})")
        total = tuple(d * (k - 1) for k, d in zip(weight.shape[2:], dilation))
        lo = tuple(t // 2 for t in total)
        return lo, tuple(t - a for t, a in zip(total, lo))
    p = ntuple(padding, nd, "padding", op)
    return p, p


# ---- public functions ----------------------------------------------------------------------------------
def _conv(input, weight, bias, stride, padding, dilation, groups, nd: int, op: str) -> Tensor:
    _check_tensor(input, op, "input")
    _check_tensor(weight, op, "weight")
    x, unbatched = _batched(input, nd, op)
    if weight.ndim != nd + 2:
        raise RuntimeError(f"{op}: expected a {nd + 2}-D weight (out_channels, in_channels/groups, *kernel_size), "
                           f"got weight of size {_size_str(weight.shape)}")
    stride = ntuple(stride, nd, "stride", op)
    dilation = ntuple(dilation, nd, "dilation", op)
    lo, hi = _padding(padding, weight, stride, dilation, nd, op)
    _check_params(stride, dilation, groups, lo)
    o, cg = weight.shape[:2]
    if o % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but "
                           f"got weight of size {_size_str(weight.shape)} instead")
    if x.shape[1] != cg * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {_size_str(weight.shape)}, expected input"
                           f"{_size_str(x.shape)} to have {cg * groups} channels, but got {x.shape[1]} channels "
                           f"instead")
    _check_bias(bias, o, weight)
    _check_dtypes(x, weight, bias)
    geom = Geometry(tuple(weight.shape[2:]), stride, dilation, lo, hi)
    size = tuple(x.shape[2:])
    _check_fits(size, geom)
    keep = grad_mode.state.enabled and weight.requires_grad
    out = Conv(geom, groups, geom.out_size(size), keep)(x, weight, bias)
    return out.squeeze(0) if unbatched else out


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """1-D cross-correlation of (N, C, L) with weight (out, C/groups, k); padding an int, a tuple, 'valid' or 'same'."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """2-D cross-correlation of (N, C, H, W) with weight (out, C/groups, kh, kw)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """3-D cross-correlation of (N, C, D, H, W) with weight (out, C/groups, kd, kh, kw)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 3, "conv3d")


def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, nd: int,
                    op: str) -> Tensor:
    _check_tensor(input, op, "input")
    _check_tensor(weight, op, "weight")
    x, unbatched = _batched(input, nd, op)
    if weight.ndim != nd + 2:
        raise RuntimeError(f"{op}: expected a {nd + 2}-D weight (in_channels, out_channels/groups, *kernel_size), "
                           f"got weight of size {_size_str(weight.shape)}")
    if isinstance(padding, str):
        raise TypeError(f"{op}(): argument 'padding' must be tuple of ints, not str")
    stride = ntuple(stride, nd, "stride", op)
    dilation = ntuple(dilation, nd, "dilation", op)
    pad = ntuple(padding, nd, "padding", op)
    extra = ntuple(output_padding, nd, "output_padding", op)
    _check_params(stride, dilation, groups, pad)
    if any(e < 0 or (e >= s and e >= d) for e, s, d in zip(extra, stride, dilation)):
        raise RuntimeError(f"{op}: output padding must be smaller than either stride or dilation, but got "
                           f"output_padding={list(extra)}, stride={list(stride)}, dilation={list(dilation)}")
    c_in, og = weight.shape[:2]
    if c_in % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but "
                           f"got weight of size {_size_str(weight.shape)} instead")
    if x.shape[1] != c_in:
        raise RuntimeError(f"Given transposed=1, weight of size {_size_str(weight.shape)}, expected input"
                           f"{_size_str(x.shape)} to have {c_in} channels, but got {x.shape[1]} channels instead")
    _check_bias(bias, og * groups, weight)
    _check_dtypes(x, weight, bias)
    kernel = tuple(weight.shape[2:])
    size = tuple((n - 1) * s - 2 * p + d * (k - 1) + e + 1
                 for n, s, p, d, k, e in zip(x.shape[2:], stride, pad, dilation, kernel, extra))
    if any(n <= 0 for n in size):
        raise RuntimeError(f"{op}: Given input size per channel: {list(x.shape[2:])}, calculated output size per "
                           f"channel: {list(size)}. Output size is too small")
    geom = Geometry(kernel, stride, dilation, pad, pad)
    out = ConvTranspose(geom, groups, size)(x, weight, bias)
    return out.squeeze(0) if unbatched else out


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """The transpose of conv1d (the gradient of conv1d in its input): weight (in, out/groups, k)."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 1,
                           "conv_transpose1d")


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """The transpose of conv2d: weight (in, out/groups, kh, kw); output size (n-1)s - 2p + d(k-1) + op + 1."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 2,
                           "conv_transpose2d")


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """The transpose of conv3d: weight (in, out/groups, kd, kh, kw)."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 3,
                           "conv_transpose3d")


# ---- unfold / fold ----------------------------------------------------------------------------------------
class Unfold(Node):
    """im2col: (N, C, *size) -> (N, C * K, L), channel outer and kernel offset inner (PyTorch's layout)."""

    def __init__(self, geom: Geometry, out: tuple):
        self.geom, self.out = geom, out

    def forward(self, x):
        self.size = x.shape[2:]
        cols = im2col(self.xp, x, self.geom, self.out, x.shape[1])  # one group per channel: (N, C, K, L)
        return reshape(cols, (x.shape[0], -1, cols.shape[-1]))

    def backward(self, grad):
        return Fold(self.geom, self.out, self.size)(grad)


class Fold(Node):
    """col2im, the adjoint of `Unfold`: (N, C * K, L) -> (N, C, *size), overlapping values summed."""

    def __init__(self, geom: Geometry, out: tuple, size: tuple):
        self.geom, self.out, self.size = geom, out, size

    def forward(self, cols):
        n = cols.shape[0]
        k = math.prod(self.geom.kernel)
        c = cols.shape[1] // k
        cols = reshape(cols, (n, c, k) + self.out)
        return col2im(self.xp, lambda i: cols[:, :, i, None, ...], (n, c) + self.size, self.geom, self.out, c,
                      cols.dtype)

    def backward(self, grad):
        return Unfold(self.geom, self.out)(grad)


def _fold_geometry(kernel_size, dilation, padding, stride, op: str) -> Geometry:
    kernel = ntuple(kernel_size, 2, "kernel_size", op)
    dilation = ntuple(dilation, 2, "dilation", op)
    pad = ntuple(padding, 2, "padding", op)
    stride = ntuple(stride, 2, "stride", op)
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"{op}: kernel size should be greater than zero, but got kernel_size={list(kernel)}")
    _check_params(stride, dilation, 1, pad)
    return Geometry(kernel, stride, dilation, pad, pad)


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sliding local blocks of (N, C, H, W) as columns (N, C * kh * kw, L); (C, H, W) gives (C * kh * kw, L)."""
    _check_tensor(input, "unfold", "input")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"unfold: Expected 3D or 4D (batch mode) tensor for input, but got input of size: "
                           f"{_size_str(input.shape)}")
    geom = _fold_geometry(kernel_size, dilation, padding, stride, "unfold")
    x, unbatched = _batched(input, 2, "unfold")
    size = tuple(x.shape[2:])
    _check_fits(size, geom)
    out = Unfold(geom, geom.out_size(size))(x)
    return out.squeeze(0) if unbatched else out


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sum columns (N, C * kh * kw, L) back into (N, C, *output_size): the adjoint of unfold."""
    _check_tensor(input, "fold", "input")
    if input.ndim not in (2, 3):
        raise RuntimeError(f"fold: Expected 2D or 3D (batch mode) input tensor with possibly 0 batch size and "
                           f"non-zero dimensions for input, but got: {_size_str(input.shape)}")
    geom = _fold_geometry(kernel_size, dilation, padding, stride, "fold")
    size = ntuple(output_size, 2, "output_size", "fold")
    x = input.unsqueeze(0) if input.ndim == 2 else input
    k = math.prod(geom.kernel)
    if x.shape[1] % k:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, but "
                           f"got input.size(1)={x.shape[1]} and kernel_size={geom.kernel}.")
    blocks = geom.out_size(size)
    if any(b <= 0 for b in blocks) or math.prod(blocks) != x.shape[2]:
        raise RuntimeError(f"Given output_size={size}, kernel_size={geom.kernel}, dilation={geom.dilation}, padding="
                           f"{geom.lo}, stride={geom.stride}, expected size of input's dimension 2 to match the "
                           f"calculated number of sliding blocks {' * '.join(map(str, blocks))} = "
                           f"{math.prod(blocks)}, but got input.size(2)={x.shape[2]}.")
    out = Fold(geom, blocks, size)(x)
    return out.squeeze(0) if input.ndim == 2 else out


__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "unfold",
           "fold"]
