"""Dropout: `dropout`, channel-wise `dropout1d/2d/3d`, `alpha_dropout`, `feature_alpha_dropout`.

The keep-mask is drawn from retrograd's generator (on the host, then moved to the
input's device), so `manual_seed` makes it reproducible. One node multiplies by the
scaled mask (and, for alpha dropout, adds the constant that keeps SELU's statistics);
its gradient is the upstream gradient times the same scaled mask.
"""
from __future__ import annotations

import warnings

from ... import random as _random
from ...autograd.node import Node
from ...device import to_device
from ...ops.elementwise import apply_inplace
from ...tensor import Tensor

# SELU's -scale * alpha: the value alpha dropout sets dropped units to
_ALPHA_PRIME = -1.0507009873554804934193349852946 * 1.6732632423543772848170429916717


class MaskedScale(Node):
    """out = x * mask (+ shift): `mask` holds the kept units' scale and zeros, broadcast over x."""

    def __init__(self, mask, shift=None):
        self.mask, self.shift = mask, shift

    def forward(self, x):
        out = x * self.mask
        if self.shift is not None:
            out += self.shift
        return out

    def backward(self, grad):
        return grad * Tensor._make(self.mask)


def _check_p(p: float, op: str) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(input: Tensor, p: float, shape: tuple):
    """A 0/1 NumPy array (in input's dtype, on the host) keeping each element with probability 1 - p.
    Callers scale it on the host, then move it to input's device once."""
    dtype = input.dtype.np
    draw_dtype = dtype if input.dtype.name in ("float32", "float64") else "float32"
    u = _random._gen(None).random(shape, dtype=draw_dtype)
    return (u >= p).astype(dtype)


def _apply(input: Tensor, node: MaskedScale, inplace: bool, op: str) -> Tensor:
    if inplace:
        return apply_inplace(input, node, op=op + "_")
    return node(input)


def _check_float(input: Tensor, op: str) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{op}: expected a floating-point input, got {input.dtype.name}")


def _dropout(input: Tensor, p: float, training: bool, inplace: bool, mask_shape: tuple, op: str) -> Tensor:
    """Zero elements (or whole channels, per mask_shape) with probability p and scale the rest by 1/(1-p)."""
    _check_p(p, op)
    _check_float(input, op)
    if not training or p == 0.0:
        return input
    mask = _keep_mask(input, p, mask_shape)  # all zeros when p == 1
    if p < 1.0:
        mask *= mask.dtype.type(1.0 / (1.0 - p))
    return _apply(input, MaskedScale(to_device(mask, input.device)), inplace, op)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """During training, zero each element with probability p and scale the others by 1/(1-p)."""
    return _dropout(input, p, training, inplace, tuple(input.shape) if isinstance(input, Tensor) else (), "dropout")


def _feature_mask_shape(input: Tensor, batched_ndim: int, op: str) -> tuple:
    """(N, C, 1, ...) for a batched input, (C, 1, ...) for an unbatched one: one draw per channel."""
    nd = input.ndim
    if nd not in (batched_ndim - 1, batched_ndim):
        raise RuntimeError(f"{op}: Expected {batched_ndim - 1}D or {batched_ndim}D input, but received a {nd}D "
                           f"input of shape {tuple(input.shape)}")
    channels = 2 if nd == batched_ndim else 1
    return tuple(input.shape[:channels]) + (1,) * (nd - channels)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) input with probability p."""
    _check_float(input, "dropout1d")
    return _dropout(input, p, training, inplace, _feature_mask_shape(input, 3, "dropout1d"), "dropout1d")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) input with probability p (3-D input: channel-wise over (N, C, L))."""
    _check_float(input, "dropout2d")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"dropout2d: Expected 3D or 4D input, but received a {input.ndim}D input of shape "
                           f"{tuple(input.shape)}")
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel "
                      "dim. This behavior will change in a future release to interpret the input as one "
                      "without a batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout "
                      "behavior, please switch to using dropout1d instead.", stacklevel=2)
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return _dropout(input, p, training, inplace, shape, "dropout2d")


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input with probability p."""
    _check_float(input, "dropout3d")
    return _dropout(input, p, training, inplace, _feature_mask_shape(input, 5, "dropout3d"), "dropout3d")


def _alpha_dropout(input: Tensor, p: float, training: bool, inplace: bool, mask_shape: tuple, op: str) -> Tensor:
    """Set dropped units to SELU's negative saturation, then rescale so mean and variance are kept."""
    _check_p(p, op)
    _check_float(input, op)
    if not training or p == 0.0:
        return input
    keep = _keep_mask(input, p, mask_shape)
    if p == 1.0:
        return _apply(input, MaskedScale(to_device(keep, input.device)), inplace, op)
    scalar = keep.dtype.type
    a = ((1.0 - p) * (1.0 + p * _ALPHA_PRIME ** 2)) ** -0.5
    b = -a * _ALPHA_PRIME * p
    # a * (x * keep + alpha' * (1 - keep)) + b  ==  x * (a * keep) + (a * alpha' * (1 - keep) + b)
    shift = (1 - keep) * scalar(a * _ALPHA_PRIME)
    shift += scalar(b)
    keep *= scalar(a)
    dev = input.device
    if dev.type != "cpu":
        keep, shift = to_device(keep, dev), to_device(shift, dev)
    return _apply(input, MaskedScale(keep, shift), inplace, op)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: keeps zero mean and unit variance (Klambauer et al.)."""
    shape = tuple(input.shape) if isinstance(input, Tensor) else ()
    return _alpha_dropout(input, p, training, inplace, shape, "alpha_dropout")


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels (dims 0 and 1 drawn, the rest shared)."""
    _check_float(input, "feature_alpha_dropout")
    if input.ndim < 2:
        raise RuntimeError(f"feature_alpha_dropout: expected at least 2 dimensions, got shape {tuple(input.shape)}")
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return _alpha_dropout(input, p, training, inplace, shape, "feature_alpha_dropout")


__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]
