"""nn.utils: gradient clipping, parameters <-> one flat vector.

Norms are computed on each gradient's array in one reduction (a dot product for the
2-norm), then combined; scaling is one in-place multiply per gradient.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ... import array_extras as _ax
from ...autograd import grad_mode
from ...device import namespace_of
from ...ops.shape import cat
from ...tensor import Tensor


def _tensor_list(tensors) -> list[Tensor]:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _grads(parameters) -> list[Tensor]:
    return [p.grad for p in _tensor_list(parameters) if p.grad is not None]


def _array_norm(a, norm_type: float):
    """The norm of one array, as a 0-d array (a NumPy scalar on the CPU) of its dtype (one reduction)."""
    xp = namespace_of(a)
    if a.size == 0:
        return xp.zeros((), dtype=a.dtype)
    if norm_type == math.inf:
        return xp.max(xp.abs(a))
    flat = _ax.reshape(a, (-1,))
    if norm_type == 2.0:
        return xp.sqrt(np.dot(flat, flat) if xp is np else xp.vecdot(flat, flat))  # NumPy's dot: BLAS
    if norm_type == 1.0:
        return xp.sum(xp.abs(flat))
    if norm_type == 0.0:
        return xp.astype(xp.count_nonzero(flat), a.dtype)
    return xp.sum(xp.abs(flat) ** norm_type) ** (1.0 / norm_type)


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """The norm of all the tensors together (the norm of their norms), as a 0-d tensor."""
    tensors = _tensor_list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        from ...ops.creation import tensor

        return tensor(0.0)
    first = tensors[0]._data
    xp = namespace_of(first)
    if xp is np:
        norms = xp.stack([_array_norm(t._data, norm_type).astype(first.dtype) for t in tensors])
    else:
        norms = xp.stack([xp.astype(_array_norm(t._data, norm_type), first.dtype) for t in tensors])
    total = _array_norm(norms, norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so "
                           "it cannot be clipped. To disable this error and scale the gradients by the non-finite "
                           "norm anyway, set `error_if_nonfinite=False`")
    return Tensor._make(xp.asarray(total))


def clip_grads_with_norm_(parameters, max_norm: float, total_norm: Tensor, foreach=None) -> None:
    """Scale the gradients by max_norm / (total_norm + 1e-6) when that is below 1."""
    if total_norm.device.type == "cpu":
        coef = float(max_norm) / (float(total_norm.item()) + 1e-6)
        if coef >= 1.0:  # PyTorch multiplies by the coefficient clamped to 1: the same values
            return
    else:  # on a GPU the coefficient stays there: reading it would wait for the GPU every step
        coef = (float(max_norm) / (total_norm + 1e-6)).clamp(max=1.0)
    with grad_mode.no_grad():
        for g in _grads(parameters):
            g.mul_(coef)


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None) -> Tensor:
    """Rescale the gradients in place so that their total norm is at most max_norm; returns the norm before."""
    parameters = _tensor_list(parameters)
    total = get_total_norm(_grads(parameters), norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient, in place, to [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    with grad_mode.no_grad():
        for g in _grads(parameters):
            g.clamp_(-clip_value, clip_value)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated into one vector (differentiable)."""
    params = _tensor_list(parameters)
    devices = {str(p.device) for p in params}
    if len(devices) > 1:
        raise TypeError(f"Found two parameters on different devices, this is currently not supported: "
                        f"{sorted(devices)}")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Make each parameter's data the next slice of `vec` (sharing its storage), in order."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected retrograd.Tensor, but got: {type(vec).__name__}")
    params = _tensor_list(parameters)
    needed = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != needed:
        raise RuntimeError(f"vector_to_parameters: expected a 1-D vector of {needed} elements (the parameters' "
                           f"total), got shape {tuple(vec.shape)}")
    pointer = 0
    for p in params:
        n = p.numel()
        p.data = vec.detach()[pointer:pointer + n].reshape(p.shape)
        pointer += n


__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_",
           "parameters_to_vector", "vector_to_parameters"]
