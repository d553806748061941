"""`retrograd.cuda`: is a GPU there, how many, wait for it, seed it.

The queries never raise: without CuPy or a driver `is_available()` is False and
`device_count()` 0. Random numbers for every device come from the one default
generator (see `retrograd.random`), so `manual_seed` seeds it.
"""
from __future__ import annotations

from . import random as _random
from .device import _cuda, _load_cuda, cuda_device_count, to_device_arg


def is_available() -> bool:
    """True when a CUDA GPU and CuPy are present."""
    return cuda_device_count() > 0


def is_standin() -> bool:
    """True when the tests put a stand-in array library (not CuPy) behind `cuda`."""
    return is_available() and _cuda.standin


def device_count() -> int:
    return cuda_device_count()


def current_device() -> int:
    if not _cuda.standin:
        import cupy

        _load_cuda()
        return cupy.cuda.runtime.getDevice()
    return 0


def set_device(index) -> None:
    """Make `index` (an int, 'cuda:N' or a device) the current GPU."""
    d = to_device_arg(index)
    _load_cuda()
    if not _cuda.standin:
        import cupy

        cupy.cuda.runtime.setDevice(d.index or 0)


def synchronize(device=None) -> None:
    """Wait until every kernel queued on the GPU has finished (timings need it)."""
    _load_cuda()
    if not _cuda.standin:
        import cupy

        if device is None:
            cupy.cuda.get_current_stream().synchronize()
        else:
            with cupy.cuda.Device(to_device_arg(device).index or 0):
                cupy.cuda.get_current_stream().synchronize()


def manual_seed(seed: int) -> None:
    """Seed the random numbers drawn for GPU tensors."""
    _random.manual_seed(seed)


manual_seed_all = manual_seed
