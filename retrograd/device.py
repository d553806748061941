"""Devices and the array library behind each one.

Every op reaches its array library through here (`namespace_of(array)`): NumPy for
`cpu`; for `cuda`, CuPy (imported only when asked for, through array-api-compat's
CuPy namespace when that is installed, so the standard's names are all there). Ops
call only functions of the Python array API standard on that namespace, plus the few
in `array_extras` that the standard lacks, so a backend is added here without
touching them. The test suite can put a stand-in library behind `cuda`
(`use_cuda_standin(array_api_strict)`): then every call outside the standard fails
on a machine without a GPU too.
"""
from __future__ import annotations

import numpy as np

from . import dtypes as _dt


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

# array type -> array namespace; the cuda entry is added when cuda is first used
_NAMESPACES: dict[type, object] = {np.ndarray: np}
_DEFAULT_ARRAY, _DEFAULT_NAMESPACE = np.ndarray, np  # cpu: checked first on the hot path


class _Cuda:
    """The library behind `cuda`: CuPy, or a stand-in set by the tests."""

    xp = None  # the array namespace
    array_type = None
    count = 0
    standin = False


_cuda = _Cuda()


def _load_cuda() -> _Cuda:
    """Import CuPy on first use; a plain error when it or a GPU is missing."""
    if _cuda.xp is not None:
        return _cuda
    try:
        import cupy
    except ImportError:
        raise RuntimeError("device 'cuda' needs CuPy (pip install 'retrograd[cuda]'), which is not installed") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception:
        count = 0
    if count == 0:
        raise RuntimeError("device 'cuda' was asked for, but no CUDA GPU is present")
    try:
        import array_api_compat.cupy as xp
    except ImportError:
        xp = cupy
    _register_cuda(xp, cupy.ndarray, count)
    return _cuda


def _register_cuda(xp, array_type: type, count: int, standin: bool = False) -> None:
    _cuda.xp, _cuda.array_type, _cuda.count, _cuda.standin = xp, array_type, count, standin
    _NAMESPACES[array_type] = xp
    _dt.register_namespace(xp)


def use_cuda_standin(xp) -> None:
    """Back `cuda` with another array API library (tests: `array_api_strict` on the CPU)."""
    if _cuda.xp is not None and not _cuda.standin:
        raise RuntimeError("cuda is already backed by CuPy")
    _register_cuda(xp, type(xp.asarray(0)), 1, standin=True)


def cuda_device_count() -> int:
    """GPUs present (0 without CuPy or a driver), without raising."""
    try:
        return _load_cuda().count
    except RuntimeError:
        return 0


def namespace(dev: device):
    """The array library of a device."""
    return np if dev.type == "cpu" else _load_cuda().xp


def namespace_of(array):
    """The array library an array belongs to."""
    try:
        return _NAMESPACES[type(array)]
    except KeyError:
        raise TypeError(f"not an array of a known device: {type(array).__name__}") from None


def device_of(array) -> device:
    if type(array) is np.ndarray:
        return CPU
    if _cuda.standin:
        return device("cuda", 0)
    return device("cuda", array.device.id)


def to_host(array) -> np.ndarray:
    """A NumPy array with the values of `array` (a copy when it lives on a GPU)."""
    if type(array) is np.ndarray:
        return array
    if _cuda.standin:
        return np.from_dlpack(array).copy()
    return array.get()


def to_device(array, dev: device):
    """The array on `dev`, copied only when it lives elsewhere."""
    if device_of(array) == dev:
        return array
    if dev.type == "cpu":
        return to_host(array)
    cuda = _load_cuda()
    index = dev.index or 0
    if index >= cuda.count:
        raise RuntimeError(f"CUDA error: invalid device ordinal: cuda:{index} asked for, "
                           f"{cuda.count} device(s) present")
    if cuda.standin:
        return cuda.xp.asarray(np.array(array, order="C"))
    import cupy

    with cupy.cuda.Device(index):
        return cupy.asarray(array)


_default = [CPU]


def set_default_device(d) -> None:
    """Where factories (`tensor`, `zeros`, `randn`, ...) put tensors when no `device=` is given."""
    _default[0] = CPU if d is None else to_device_arg(d)


def get_default_device() -> device:
    return _default[0]


def to_device_arg(d) -> device:
    """Normalise a `device=` argument (None means the default device)."""
    if d is None:
        return _default[0]
    if isinstance(d, int):
        return device("cuda", d)
    return d if isinstance(d, device) else device(d)
