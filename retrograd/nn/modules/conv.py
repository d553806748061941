"""Convolution layers: Conv1d/2d/3d, ConvTranspose1d/2d/3d, and Fold/Unfold."""
# ruff: noqa: A002 - `input` is PyTorch's argument name
from __future__ import annotations

import math

from ...ops.creation import empty
from ...ops.shape import pad
from ...tensor import Tensor
from .. import init
from ..functional import conv as _F
from ..parameter import Parameter
from .module import Module

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
_CONV = {1: _F.conv1d, 2: _F.conv2d, 3: _F.conv3d}
_CONV_T = {1: _F.conv_transpose1d, 2: _F.conv_transpose2d, 3: _F.conv_transpose3d}


def _tuple(value, n: int) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,) * n


class _ConvNd(Module):
    """What every convolution layer holds: geometry, weight (PyTorch's layout) and bias, with PyTorch's init."""

    _nd = 2
    transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", output_padding=0, device=None,
                 dtype=None):
        super().__init__()
        nd = self._nd
        if not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"groups must be a positive integer, got {groups}")
        if in_channels % groups:
            raise ValueError(f"in_channels must be divisible by groups (in_channels={in_channels}, groups={groups})")
        if out_channels % groups:
            raise ValueError(f"out_channels must be divisible by groups (out_channels={out_channels}, "
                             f"groups={groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {list(_PADDING_MODES)}, but got padding_mode="
                             f"'{padding_mode}'")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _tuple(kernel_size, nd)
        self.stride = _tuple(stride, nd)
        self.dilation = _tuple(dilation, nd)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = _tuple(padding, nd)
        self.output_padding = _tuple(output_padding, nd)
        self.groups = groups
        self.padding_mode = padding_mode
        self._reversed_padding_repeated_twice = self._edge_padding()
        shape = ((in_channels, out_channels // groups) if self.transposed
                 else (out_channels, in_channels // groups)) + self.kernel_size
        self.weight = Parameter(empty(shape, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _edge_padding(self) -> list:
        """F.pad's amounts (last dim first) for padding modes other than 'zeros'; 'same' puts the extra after."""
        if self.padding == "valid":
            return [0, 0] * self._nd
        out = []
        for i in reversed(range(self._nd)):
            if self.padding == "same":
                total = self.dilation[i] * (self.kernel_size[i] - 1)
                out += [total // 2, total - total // 2]
            else:
                out += [self.padding[i]] * 2
        return out

    def reset_parameters(self) -> None:
        """Kaiming-uniform weight with a=sqrt(5), bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as PyTorch."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def _check_input(self, input) -> None:
        """The number of dims and of channels, with an error naming the layer."""
        nd = self._nd
        if not isinstance(input, Tensor):
            raise TypeError(f"{self._get_name()}({self.extra_repr()}): expected a Tensor input, got "
                            f"{type(input).__name__}")
        if input.ndim not in (nd + 1, nd + 2):
            raise RuntimeError(f"{self._get_name()}({self.extra_repr()}): expected {nd + 1}D (unbatched) or {nd + 2}D "
                               f"(batched) input, got shape {tuple(input.shape)}")
        c = input.shape[-nd - 1]
        if c != self.in_channels:
            raise RuntimeError(f"{self._get_name()}({self.extra_repr()}): expected input with {self.in_channels} "
                               f"channels (dim {input.ndim - nd - 1}), got shape {tuple(input.shape)}")

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device=device, dtype=dtype)

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        conv = _CONV[self._nd]
        if self.padding_mode != "zeros":
            input = pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return conv(input, weight, bias, self.stride, 0, self.dilation, self.groups)
        return conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_Conv):
    """1-D convolution over (N, C_in, L): weight (out_channels, in_channels/groups, kernel_size)."""

    _nd = 1


class Conv2d(_Conv):
    """2-D convolution over (N, C_in, H, W): weight (out_channels, in_channels/groups, kh, kw)."""

    _nd = 2


class Conv3d(_Conv):
    """3-D convolution over (N, C_in, D, H, W): weight (out_channels, in_channels/groups, kd, kh, kw)."""

    _nd = 3


class _ConvTranspose(_ConvNd):
    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros", device=None,
                 dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        if isinstance(padding, str):
            raise TypeError(f"{type(self).__name__}: padding must be an int or a tuple of ints, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, output_padding, device=device, dtype=dtype)

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        """The output_padding that gives `output_size` (which may include the batch and channel dims)."""
        if output_size is None:
            return self.output_padding
        nd = self._nd
        size = list(output_size)
        lead = input.ndim - nd
        if len(size) == lead + nd:
            size = size[lead:]
        if len(size) != nd:
            raise ValueError(f"{type(self).__name__}: for {input.ndim}D input, output_size must have {nd} or "
                             f"{lead + nd} elements (got {len(output_size)})")
        result = []
        for d in range(nd):
            lo = ((input.shape[lead + d] - 1) * self.stride[d] - 2 * self.padding[d]
                  + self.dilation[d] * (self.kernel_size[d] - 1) + 1)
            hi = lo + self.stride[d] - 1
            if not lo <= size[d] <= hi:
                raise ValueError(f"requested an output size of {size}, but valid sizes range from "
                                 f"{[lo]} to {[hi]} (for an input of {list(input.shape[lead:])})")
            result.append(size[d] - lo)
        return tuple(result)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        self._check_input(input)
        return _CONV_T[self._nd](input, self.weight, self.bias, self.stride, self.padding,
                                 self._output_padding(input, output_size), self.groups, self.dilation)


class ConvTranspose1d(_ConvTranspose):
    """Transposed 1-D convolution: weight (in_channels, out_channels/groups, kernel_size)."""

    _nd = 1


class ConvTranspose2d(_ConvTranspose):
    """Transposed 2-D convolution: weight (in_channels, out_channels/groups, kh, kw)."""

    _nd = 2


class ConvTranspose3d(_ConvTranspose):
    """Transposed 3-D convolution: weight (in_channels, out_channels/groups, kd, kh, kw)."""

    _nd = 3


class Unfold(Module):
    """Sliding local blocks as columns: (N, C, H, W) -> (N, C * kh * kw, L)."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return _F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
                f"stride={self.stride}")


class Fold(Module):
    """Columns summed back into an image: (N, C * kh * kw, L) -> (N, C, *output_size)."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return _F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "Fold", "Unfold"]
