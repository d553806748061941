"""Normalisation: layer_norm, rms_norm, group_norm, batch_norm, instance_norm, normalize.

layer_norm, rms_norm and the training-mode batch_norm share one fused node, `Normalize`:
xhat = (x - mean) / sqrt(var + eps) over some dims (without the mean for RMS norm),
then y = xhat * weight + bias, with the standard hand-written backward
    dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),  dxhat = dy * weight,
as a Tensor formula (xhat and rstd are recomputed differentiably when the backward is
itself recorded, so double backward works).
"""
from __future__ import annotations

import math

import numpy as np

from ... import array_extras as ae
from ...autograd import grad_mode
from ...autograd.node import Node
from ...device import namespace_of
from ...ops.elementwise import as_float
from ...tensor import Tensor

_state = grad_mode.state


class Normalize(Node):
    """y = xhat * weight + bias, xhat normalised over `dims` (centred unless `center` is False)."""

    saves_inputs = True

    def __init__(self, dims: tuple, eps: float, center: bool = True):
        self.dims, self.eps, self.center = dims, eps, center

    def forward(self, x, weight, bias):
        xp, dims = self.xp, self.dims
        if self.center:
            self.mean = _mean(xp, x, dims)
            xc = x - self.mean
            self.var = _mean(xp, xc * xc, dims)
            self.rstd = 1.0 / xp.sqrt(self.var + self.eps)
            xc *= self.rstd
        else:
            self.var = _mean(xp, x * x, dims)
            self.rstd = 1.0 / xp.sqrt(self.var + self.eps)
            xc = x * self.rstd
        self.xhat = xc
        if weight is None and bias is None:
            return xc
        out = xc * weight if weight is not None else ae.copy(xc)
        if bias is not None:
            out += bias
        return out

    def _stats(self, x: Tensor) -> tuple:
        """(xhat, rstd) as Tensors: the saved arrays, or recomputed differentiably when recording."""
        if not _state.enabled:
            return Tensor._make(self.xhat), Tensor._make(self.rstd)
        xc = x - x.mean(self.dims, keepdim=True) if self.center else x
        rstd = ((xc * xc).mean(self.dims, keepdim=True) + self.eps).rsqrt()
        return xc * rstd, rstd

    def _layout(self, shape: tuple, weight) -> tuple:
        """(elements per normalised group, whether the weight is per channel). Per-channel parameters (batch
        norm) are constant over the normalised dims, so they factor out of the means, and the sums behind the
        means are also the parameters' gradients."""
        lead = len(shape) - (0 if weight is None else weight.ndim)
        per_channel = weight is None or all(d < lead or weight.shape[d - lead] == 1 for d in self.dims)
        return math.prod(shape[d] for d in self.dims), per_channel

    def backward(self, grad):
        x, weight, bias = self.saved_tensors
        xhat, rstd = self._stats(x)
        dims = self.dims
        n, per_channel = self._layout(x.shape, weight)
        g = grad if per_channel or weight is None else grad * weight
        gxh = g * xhat
        s_gxh = gxh.sum(dims, keepdim=True)
        s_g = g.sum(dims, keepdim=True) if self.center or (per_channel and bias is not None) else None
        gx = gw = gb = None
        if self.needs_input_grad(0):
            inner = g - xhat * (s_gxh / n)
            if self.center:
                inner = inner - s_g / n
            gx = inner * (rstd * weight if per_channel and weight is not None else rstd)
        if self.needs_input_grad(1):
            gw = (s_gxh if per_channel else grad * xhat).sum_to_size(weight.shape)
        if self.needs_input_grad(2):
            gb = (s_g if per_channel and s_g is not None else grad).sum_to_size(bias.shape)
        return gx, gw, gb

    def backward_arrays(self, grad):
        """`backward`'s formula on arrays (first order only), a new array per pass at most."""
        xp, dims, xhat, rstd = self.xp, self.dims, self.xhat, self.rstd
        _, weight, bias = self.saved_arrays()
        n, per_channel = self._layout(xhat.shape, weight)
        g = grad if per_channel or weight is None else grad * weight
        s_gxh = ae.sum_keep(xp, g * xhat, dims)
        s_g = ae.sum_keep(xp, g, dims) if self.center or (per_channel and bias is not None) else None
        gx = gw = gb = None
        if self.edges[0] is not None:
            gx = xhat * (s_gxh * (-1.0 / n))
            gx += g
            if self.center:
                gx -= s_g * (1.0 / n)
            gx *= rstd * weight if per_channel and weight is not None else rstd
        if self.edges[1] is not None:
            gw = ae.sum_to(xp, s_gxh if per_channel else grad * xhat, weight.shape)
        if self.edges[2] is not None:
            gb = ae.sum_to(xp, s_g if per_channel and s_g is not None else grad, bias.shape)
        return gx, gw, gb


def _mean(xp, a, dims: tuple):
    """xp.mean over `dims`, kept: the sum, then a division, as NumPy's mean."""
    m = ae.sum_keep(xp, a, dims)
    m /= math.prod(a.shape[d] for d in dims)
    return m


def _trailing(input: Tensor, normalized_shape, op: str) -> tuple:
    """`normalized_shape` as a tuple, checked against input's trailing dims; returns (shape, dims)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        raise RuntimeError(f"{op}: Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(str(s) for s in shape)}], but got input of size {list(input.shape)}")
    return shape, tuple(range(input.ndim - k, input.ndim))


def _check_param(p: Tensor | None, shape: tuple, op: str, name: str) -> None:
    if p is not None and tuple(p.shape) != shape:
        raise RuntimeError(f"{op}: expected {name} of shape {list(shape)}, got {list(p.shape)}")


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing `normalized_shape` dims, then scale and shift elementwise."""
    shape, dims = _trailing(input, normalized_shape, "layer_norm")
    _check_param(weight, shape, "layer_norm", "weight")
    _check_param(bias, shape, "layer_norm", "bias")
    return Normalize(dims, eps)(as_float(input), weight, bias)


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, eps: float | None = None) -> Tensor:
    """x / sqrt(mean(x^2) + eps) over the trailing dims, times weight; eps None is the dtype's epsilon."""
    shape, dims = _trailing(input, normalized_shape, "rms_norm")
    _check_param(weight, shape, "rms_norm", "weight")
    x = as_float(input)
    if eps is None:
        eps = float(namespace_of(x._data).finfo(x._data.dtype).eps)
    return Normalize(dims, eps, center=False)(x, weight, None)


def _channel_view(p: Tensor | None, ndim: int) -> Tensor | None:
    """A per-channel (C,) parameter as (C, 1, ..., 1), to broadcast along dim 1 of an ndim-dim input."""
    return None if p is None else p.reshape((-1,) + (1,) * (ndim - 2))


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise each of `num_groups` channel groups of each sample, then a per-channel affine map."""
    if input.ndim < 2:
        raise RuntimeError(f"group_norm: expected input of shape (N, C, *), got {list(input.shape)}")
    n, c = input.shape[0], input.shape[1]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(f"group_norm: Expected number of channels in input to be divisible by num_groups, but "
                           f"got input of shape {list(input.shape)} and num_groups={num_groups}")
    _check_param(weight, (c,), "group_norm", "weight")
    _check_param(bias, (c,), "group_norm", "bias")
    x = as_float(input)
    out = Normalize((2,), eps)(x.reshape(n, num_groups, -1), None, None).reshape(x.shape)
    return _affine(out, weight, bias)


def _affine(x: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    """x * weight + bias with per-channel (dim 1) parameters."""
    if weight is not None:
        x = x * _channel_view(weight, x.ndim)
    if bias is not None:
        x = x + _channel_view(bias, x.ndim)
    return x


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel (dim 1) over the batch and spatial dims.

    Training: batch statistics; running_mean/running_var (when given) move toward the batch mean and
    the unbiased batch variance by `momentum`. Eval: the running statistics.
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, *), got {list(input.shape)}")
    c = input.shape[1]
    for name, p in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        _check_param(p, (c,), "batch_norm", name)
    x = as_float(input)
    if not training:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm: running_mean and running_var must be defined in evaluation mode")
        scale = (running_var + eps).rsqrt()
        if weight is not None:
            scale = scale * weight
        shift = -running_mean * scale if bias is None else bias - running_mean * scale
        return x * _channel_view(scale, x.ndim) + _channel_view(shift, x.ndim)
    dims = (0,) + tuple(range(2, x.ndim))
    count = x.numel() // c if c else 0
    if count <= 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {x.shape}")
    node = Normalize(dims, eps)
    out = node(x, _channel_view(weight, x.ndim), _channel_view(bias, x.ndim))
    _update_running(running_mean, node.mean, momentum)
    _update_running(running_var, node.var * (count / (count - 1)), momentum)
    return out


def _update_running(stat: Tensor | None, batch, momentum) -> None:
    """stat = (1 - momentum) stat + momentum batch, in place (no graph).

    `momentum` is a float, or a 0-d array of stat's dtype (BatchNorm's cumulative average off the CPU:
    no host read of num_batches_tracked)."""
    if stat is None:
        return
    a = stat._data
    a *= 1.0 - momentum
    if type(a) is np.ndarray:
        a += (momentum * batch.reshape(a.shape)).astype(a.dtype, copy=False)
    else:
        xp = namespace_of(a)
        a += xp.astype(momentum * xp.reshape(batch, a.shape), a.dtype, copy=False)
    stat._bump_version()


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel of each sample over its spatial dims (batch_norm over N * C channels)."""
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected input of shape (N, C, L, ...), got {list(input.shape)}")
    n, c = input.shape[0], input.shape[1]
    x = as_float(input)
    if not use_input_stats:
        return batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    node = Normalize(tuple(range(2, x.ndim)), eps)
    out = _affine(node(x, None, None), weight, bias)
    count = math.prod(x.shape[2:])
    xp = node.xp
    if running_mean is not None:
        _update_running(running_mean, xp.mean(ae.reshape(node.mean, (n, c)), axis=0), momentum)
    if running_var is not None:
        unbiased = ae.reshape(node.var, (n, c)) * (count / max(count - 1, 1))
        _update_running(running_var, xp.mean(unbiased, axis=0), momentum)
    return out


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Tensor | None = None) -> Tensor:
    """input / max(||input||_p along dim, eps)."""
    result = input / input.norm(p, dim, keepdim=True).clamp_min(eps)
    return result if out is None else out.copy_(result)


__all__ = ["layer_norm", "rms_norm", "group_norm", "batch_norm", "instance_norm", "normalize"]
