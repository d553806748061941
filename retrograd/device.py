"""Devices and the array library behind each one.

Every op reaches its array library through here (`namespace_of(array)`): NumPy for
`cpu`, CuPy for `cuda` (imported only when asked for). Ops never import NumPy
themselves, so a new backend is added here without touching them.
"""
from __future__ import annotations

import numpy as np


class device:
    """Where a tensor lives: `device('cpu')`, `device('cuda', 0)`, `device('cuda:1')`."""

    __slots__ = ("type", "index")

    def __init__(self, type: str | device, index: int | None = None):  # noqa: A002 - PyTorch's name
        if isinstance(type, device):
            type, index = type.type, type.index
        elif ":" in type:
            type, _, idx = type.partition(":")
            index = int(idx)
        if type not in ("cpu", "cuda"):
            raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {type}")
        self.type = type
        self.index = index

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and (self.index == other.index or None in (self.index, other.index))

    def __hash__(self) -> int:
        return hash(self.type)

    def __repr__(self) -> str:
        idx = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{idx})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"


CPU = device("cpu")

# array type -> array namespace; CuPy's entry is added when CuPy is first used
_NAMESPACES: dict[type, object] = {np.ndarray: np}
_DEFAULT_ARRAY, _DEFAULT_NAMESPACE = np.ndarray, np  # cpu: checked first on the hot path


def _cupy():
    try:
        import cupy
    except ImportError:
        raise RuntimeError("device 'cuda' needs CuPy (pip install 'retrograd[cuda]'), "
                           "which is not installed") from None
    try:
        if cupy.cuda.runtime.getDeviceCount() == 0:
            raise RuntimeError
    except Exception:
        raise RuntimeError("device 'cuda' was asked for, but no CUDA GPU is present") from None
    _NAMESPACES[cupy.ndarray] = cupy
    return cupy


def namespace(dev: device):
    """The array library of a device."""
    return np if dev.type == "cpu" else _cupy()


def namespace_of(array):
    """The array library an array belongs to."""
    try:
        return _NAMESPACES[type(array)]
    except KeyError:
        raise TypeError(f"not an array of a known device: {type(array).__name__}") from None


def device_of(array) -> device:
    if type(array) is np.ndarray:
        return CPU
    return device("cuda", array.device.id)


def to_device(array, dev: device):
    """The array on `dev`, copied only when it lives elsewhere."""
    if device_of(array) == dev:
        return array
    if dev.type == "cpu":
        return array.get()
    cp = _cupy()
    with cp.cuda.Device(dev.index or 0):
        return cp.asarray(array)


def to_device_arg(d) -> device:
    """Normalise a `device=` argument (None means cpu)."""
    if d is None:
        return CPU
    if isinstance(d, int):
        return device("cuda", d)
    return d if isinstance(d, device) else device(d)
