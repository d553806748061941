"""`nn.init`: fill tensors in place with PyTorch's initialisation schemes.

Every function works under no_grad and returns its tensor. Random draws come from
retrograd's generator (the default one, or `generator=`) on the host and are copied
to the tensor's device, so a seed gives the same weights on every device.
"""
from __future__ import annotations

import math

from .. import random as _random
from ..autograd import grad_mode
from ..device import device, namespace, to_device
from ..dtypes import native
from ..tensor import Tensor

_HOST = namespace(device("cpu"))  # the host's array library: draws are made there, then moved

_LINEAR_FNS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for a nonlinearity: 1 (linear, sigmoid), 5/3 (tanh), sqrt(2) (relu), ..."""
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out): dims 1 and 0 times the receptive field (the product of the remaining dims)."""
    if tensor.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of ['fan_in', 'fan_out']")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _host_dtype(tensor: Tensor):
    """The NumPy dtype to draw in: the tensor's for float32/float64, float64 otherwise (cast on copy)."""
    name = tensor.dtype.name
    return tensor.dtype.np if name in ("float32", "float64") else _HOST.float64


def _write(tensor: Tensor, host_array) -> Tensor:
    """Copy a host array into the tensor in place (moved to its device, cast to its dtype)."""
    with grad_mode.no_grad():
        return tensor.copy_(Tensor._make(to_device(host_array, tensor.device)))


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with U(a, b)."""
    g = _random._gen(generator)
    u = g.random(tuple(tensor.shape), dtype=_host_dtype(tensor))
    u *= b - a
    u += a
    return _write(tensor, u)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with N(mean, std^2)."""
    g = _random._gen(generator)
    z = g.standard_normal(tuple(tensor.shape), dtype=_host_dtype(tensor))
    z *= std
    z += mean
    return _write(tensor, z)


def _norm_cdf(x: float) -> float:
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator=None) -> Tensor:
    """Fill with N(mean, std^2) truncated to [a, b], by exact rejection sampling.

    Proposals come from the normal itself or, when [a, b] holds little of its mass (a tail),
    from U(a, b) accepted with probability exp(-(z^2 - z_min^2) / 2): whichever accepts more.
    Each round redraws only the rejected elements, all at once.
    """
    if not a < b:
        raise ValueError(f"trunc_normal_: expected a < b, got a={a}, b={b}")
    g = _random._gen(generator)
    lo, hi = (a - mean) / std, (b - mean) / std
    mass = _norm_cdf(hi) - _norm_cdf(lo)
    z_min = 0.0 if lo <= 0.0 <= hi else min(abs(lo), abs(hi))
    peak = math.exp(-z_min**2 / 2) / math.sqrt(2 * math.pi)
    from_uniform = mass / ((hi - lo) * peak) > mass
    n = tensor.numel()
    out = _HOST.empty(n)
    todo = _HOST.arange(n)  # the elements still to draw
    while todo.size:
        if from_uniform:
            z = g.uniform(lo, hi, todo.size)
            ok = g.random(todo.size) < _HOST.exp(-(z * z - z_min * z_min) / 2)
        else:
            z = g.standard_normal(todo.size)
            ok = (z >= lo) & (z <= hi)
        out[todo[ok]] = z[ok]
        todo = todo[~ok]
    out = out * std + mean
    return _write(tensor, out.clip(a, b).reshape(tuple(tensor.shape)))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with `val`."""
    with grad_mode.no_grad():
        return tensor.fill_(val)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity (ones on the diagonal)."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    xp = namespace(tensor.device)
    eye = xp.eye(*tensor.shape, dtype=native(tensor.dtype, xp))  # copied in: a diagonal view may not exist (stand-in)
    with grad_mode.no_grad():
        return tensor.copy_(Tensor._make(eye))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a 3-, 4- or 5-D conv weight so that the convolution is the identity (per group)."""
    if tensor.ndim not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tensor.shape
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out_per_group = sizes[0] // groups
    n = min(out_per_group, sizes[1])
    xp = _HOST
    d = xp.arange(n)
    rows = (xp.arange(groups)[:, None] * out_per_group + d).ravel()
    centre = tuple(s // 2 for s in sizes[2:])
    host = xp.zeros(tuple(sizes), dtype=_host_dtype(tensor))
    host[(rows, xp.tile(d, groups)) + centre] = 1
    return _write(tensor, host)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    return calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator=None) -> Tensor:
    """U(-bound, bound) with bound = gain * sqrt(3 / fan) (He et al.)."""
    if 0 in tensor.shape:
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator=None) -> Tensor:
    """N(0, std^2) with std = gain / sqrt(fan) (He et al.)."""
    if 0 in tensor.shape:
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """A (semi-)orthogonal matrix over the tensor viewed as (rows, numel / rows), times `gain`.

    The QR factors of a Gaussian matrix, with Q's columns flipped by the signs of R's
    diagonal, so that Q is uniformly (Haar) distributed (Saxe et al.).
    """
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    xp = _HOST
    flat = _random._gen(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    q *= xp.sign(xp.diagonal(r))
    if rows < cols:
        q = q.T
    return _write(tensor, (q * gain).reshape(tuple(tensor.shape)))


# PyTorch's deprecated names without the trailing underscore are not provided: they only warn and forward.
__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_",
           "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_"]
