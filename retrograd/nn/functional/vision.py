"""Resampling: interpolate (nearest, nearest-exact, linear, bilinear, trilinear, area), pixel_shuffle, pad.

Interpolation is separable: one spatial dim at a time. Nearest modes pick source indices
(index_select, whose backward sums the gradient back over repeats); the linear modes
multiply by a small interpolation matrix per dim (two nonzeros per row), so every mode is
differentiable twice. Source positions are computed as PyTorch computes them, in float32
for the nearest modes and in the input's dtype for the linear ones, so indices and weights
agree exactly.
"""
# ruff: noqa: A002 - `input` is PyTorch's argument name
from __future__ import annotations

import math

import numpy as np

from ...device import namespace_of
from ...ops.shape import pad
from ...tensor import Tensor
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d, from_host, linear_map

_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}
_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "trilinear", "area")


def _nearest_index(n: int, o: int, scale, exact: bool):
    """Source index of each output position: floor(dst * scale) (or of dst + 0.5, nearest-exact), in float32
    (on the host: geometry only)."""
    f32 = np.float32
    s = f32(1.0 / scale) if scale is not None and scale > 0 else f32(n) / f32(o)
    dst = np.arange(o, dtype=f32)
    if exact:
        dst += f32(0.5)
    return np.minimum(np.floor(dst * s).astype(np.int64), n - 1)


def _linear_matrix(n: int, o: int, scale, align_corners: bool, dtype):
    """(o, n) interpolation weights: two neighbours per output position, as PyTorch's linear modes weigh them
    (on the host, `dtype` a NumPy dtype)."""
    t = np.dtype(dtype).type
    dst = np.arange(o, dtype=dtype)
    if align_corners:
        src = dst * (t(n - 1) / t(o - 1) if o > 1 else t(0))
    else:
        s = t(1.0 / scale) if scale is not None and scale > 0 else t(n) / t(o)
        src = np.maximum(s * (dst + t(0.5)) - t(0.5), t(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), n - 1)
    w1 = np.clip(src - i0, 0, 1).astype(dtype)
    i1 = i0 + (i0 < n - 1)
    rows = np.arange(o)
    a = np.zeros((o, n), dtype)
    a[rows, i0] = 1 - w1
    a[rows, i1] += w1
    return a


def _output_size(input: Tensor, size, scale_factor, recompute_scale_factor, nd: int) -> tuple:
    """The output's spatial size and the scales PyTorch's kernels get (None: derived from the sizes)."""
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    spatial = tuple(input.shape[2:])
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        out = tuple(size) if isinstance(size, (list, tuple)) else (size,) * nd
        if len(out) != nd:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input with "
                             f"spatial dimensions of {list(spatial)} and output size of {size}. Please provide input "
                             f"tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) format.")
        return tuple(int(o) for o in out), (None,) * nd
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    scales = tuple(scale_factor) if isinstance(scale_factor, (list, tuple)) else (scale_factor,) * nd
    if len(scales) != nd:
        raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got input with "
                         f"spatial dimensions of {list(spatial)} and scale_factor of shape {scale_factor}. Please "
                         f"provide input tensor in (N, C, d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) "
                         f"format.")
    out = tuple(math.floor(float(n) * float(s)) for n, s in zip(spatial, scales))
    return out, ((None,) * nd if recompute_scale_factor else tuple(float(s) for s in scales))


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners: bool | None = None,
                recompute_scale_factor: bool | None = None, antialias: bool = False) -> Tensor:
    """Resize the spatial dims of (N, C, *spatial) to `size` or by `scale_factor`, as torch's interpolate."""
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate(): argument 'input' must be Tensor, not {type(input).__name__}")
    nd = input.ndim - 2
    if mode not in _MODES or nd not in (1, 2, 3):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
                                  f"the modes: {' | '.join(_MODES)} (got {mode})")
    if mode in _LINEAR:
        if _LINEAR[mode] != nd:
            raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {_LINEAR[mode] + 2}D input")
        align_corners = bool(align_corners)
    elif align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: linear | bilinear | "
                         "bicubic | trilinear")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    out, scales = _output_size(input, size, scale_factor, recompute_scale_factor, nd)
    if any(o <= 0 for o in out):
        raise RuntimeError(f"interpolate: Input and output sizes should be greater than 0, but got input "
                           f"{list(input.shape[2:])} and output {list(out)}")
    if mode == "area":
        return (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[nd - 1](input, out)
    if not input.dtype.is_floating_point and mode in _LINEAR:
        raise RuntimeError(f"interpolate: mode '{mode}' expects a floating-point input, got {input.dtype}")
    xp = namespace_of(input._data)
    x = input
    for i, (n, o, s) in enumerate(zip(input.shape[2:], out, scales)):
        if mode in _LINEAR:
            if n == o and not align_corners and (s is None or s == 1.0):
                continue  # PyTorch's weights are then exactly the identity
            a = _linear_matrix(n, o, s, align_corners, input.dtype.np)
            x = linear_map(x, Tensor._make(from_host(xp, a)), 2 + i)
        elif n != o:
            x = x.index_select(2 + i, Tensor._make(from_host(xp, _nearest_index(n, o, s, mode == "nearest-exact"))))
    return x if x is not input else input.clone()


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners: bool | None = None):
    """Deprecated alias of interpolate."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: interpolate(mode='nearest')."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: interpolate(mode='bilinear', align_corners=True)."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def _check_shuffle(input, factor: int, op: str, arg: str) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.ndim < 3:
        raise RuntimeError(f"{op} expects input to have at least 3 dimensions, but got input with {input.ndim} "
                           f"dimension(s)")
    if factor <= 0:
        raise RuntimeError(f"{op} expects a positive {arg}, but got {factor}")


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C * r^2, H, W) -> (*, C, H * r, W * r): channels rearranged into r x r spatial blocks."""
    r = upscale_factor
    _check_shuffle(input, r, "pixel_shuffle", "upscale_factor")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    k = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H * r, W * r) -> (*, C * r^2, H, W): the inverse of pixel_shuffle."""
    r = downscale_factor
    _check_shuffle(input, r, "pixel_unshuffle", "downscale_factor")
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle expects height and width to be divisible by downscale_factor, but input "
                           f"of size {list(input.shape)} is not divisible by {r}")
    k = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "pixel_shuffle", "pixel_unshuffle",
           "pad"]
