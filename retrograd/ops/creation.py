"""Factories: `tensor`, `zeros`, `ones`, `full`, `empty`, `arange`, `linspace`, `eye`, `*_like`.

dtype inference follows PyTorch: Python floats give the default dtype (float32),
ints int64, bools bool; NumPy arrays keep their dtype.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import dtypes as dt
from ..device import _NAMESPACES, device, namespace, namespace_of, to_device, to_device_arg, to_host
from ..tensor import Tensor, _check_grad_dtype


def _finish(array, requires_grad: bool) -> Tensor:
    t = Tensor._make(array)
    if requires_grad:
        _check_grad_dtype(t.dtype, "requires_grad=True")
        t._requires_grad = True
    return t


def _infer_dtype(data) -> dt.dtype:
    """The dtype PyTorch gives to nested data: every item's dtype promoted together, where
    tensors and NumPy values bring their own and Python numbers bool, int64 or the default float."""
    result = None
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
            continue
        if isinstance(x, Tensor):
            d = x.dtype
        elif hasattr(x, "dtype"):
            d = dt.from_numpy(x.dtype)
        elif isinstance(x, bool):
            d = dt.bool
        elif isinstance(x, numbers.Integral):
            d = dt.int64
        elif isinstance(x, numbers.Real):
            d = dt.get_default_dtype()
        else:
            raise TypeError(f"tensor(): could not infer dtype of {type(x).__name__}")
        result = d if result is None else dt._promote(result, d)
    return result if result is not None else dt.get_default_dtype()


def _plain(data):
    """Nested data with Tensors replaced by their values."""
    if isinstance(data, Tensor):
        return data.__array__()
    if isinstance(data, (list, tuple)):
        return [_plain(x) for x in data]
    return data


def _array_from_data(data, dtype, dev: device):
    """A fresh array on `dev` holding `data` (nested lists, scalars, arrays or Tensors)."""
    if isinstance(data, Tensor):
        d = dt.to_dtype(dtype) if dtype is not None else data.dtype
        arr = to_device(data._data, dev)
        xp = namespace_of(arr)
        return xp.astype(arr, dt.native(d, xp), copy=True)
    if hasattr(data, "__array__") or hasattr(data, "__dlpack__"):
        if type(data).__module__.startswith("cupy"):
            d = dt.to_dtype(dtype) if dtype is not None else dt.from_numpy(data.dtype)
            return to_device(data, dev).astype(d.np, copy=True)
        if type(data) in _NAMESPACES:  # an array of a device (the cuda stand-in's, in tests)
            data = to_host(data)
        if not isinstance(data, np.ndarray) and hasattr(data, "detach"):  # another framework's tensor
            data = data.detach()
        arr = np.asarray(data)
        d = dt.to_dtype(dtype) if dtype is not None else dt.from_numpy(arr.dtype)
        arr = np.array(arr, dtype=d.np, copy=True)
    else:
        d = dt.to_dtype(dtype) if dtype is not None else _infer_dtype(data)
        try:
            arr = np.array(_plain(data), dtype=d.np)
        except (ValueError, TypeError) as e:
            raise ValueError(f"tensor(): could not build a tensor from the data given: {e}") from None
    return to_device(arr, dev)


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A new leaf tensor holding a copy of `data`."""
    return _finish(_array_from_data(data, dtype, to_device_arg(device)), requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """`data` as a tensor, sharing memory when it already is a matching array or tensor."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype) if (device or dtype) else data
    if isinstance(data, np.ndarray) and to_device_arg(device).type == "cpu" and (
            dtype is None or dt.to_dtype(dtype).np == data.dtype):
        return Tensor._make(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(ndarray).__name__})")
    dt.from_numpy(ndarray.dtype)
    return Tensor._make(ndarray)


def from_dlpack(ext) -> Tensor:
    """A tensor sharing memory with any array that speaks DLPack (NumPy, CuPy, PyTorch, JAX)."""
    if isinstance(ext, Tensor):
        return ext
    dev_type, dev_id = ext.__dlpack_device__()
    xp = namespace(device("cpu") if dev_type == 1 else device("cuda", dev_id))
    return Tensor._make(xp.from_dlpack(ext))


def _size(size) -> tuple:
    if len(size) == 1 and not isinstance(size[0], int):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension or bad size: {list(size)}")
    return tuple(int(s) for s in size)


def _dtype_or_default(dtype) -> dt.dtype:
    return dt.to_dtype(dtype) if dtype is not None else dt.get_default_dtype()


def _filled(fill: str, size, dtype, device, requires_grad) -> Tensor:
    xp = namespace(to_device_arg(device))
    return _finish(getattr(xp, fill)(_size(size), dtype=dt.native(_dtype_or_default(dtype), xp)), requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False, out=None) -> Tensor:
    return _filled("zeros", size, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False, out=None) -> Tensor:
    return _filled("ones", size, dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False, memory_format=None) -> Tensor:
    return _filled("empty", size, dtype, device, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    if dtype is None:
        dtype = _infer_dtype(fill_value)
    xp = namespace(to_device_arg(device))
    return _finish(xp.full(_size((size,)), fill_value, dtype=dt.native(dt.to_dtype(dtype), xp)), requires_grad)


def _like(fn):
    def like(input: Tensor, *args, dtype=None, device=None, requires_grad: bool = False, memory_format=None):
        return fn(input.shape, *args, dtype=dtype or input.dtype, device=device or input.device,
                  requires_grad=requires_grad)

    like.__name__ = fn.__name__ + "_like"
    like.__doc__ = f"`{fn.__name__}` with the shape, dtype and device of `input`."
    return like


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)
full_like = _like(full)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """[start, end) in steps; int64 for integer arguments, the default float dtype otherwise."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound and larger bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    if dtype is None:
        dtype = _infer_dtype([start, end, step])
    d = dt.to_dtype(dtype)
    xp = namespace(to_device_arg(device))
    work = dt.float64 if d.is_floating_point else dt.int64  # compute in float64 like PyTorch, then cast
    arr = xp.arange(start, end, step, dtype=dt.native(work, xp))
    return _finish(xp.astype(arr, dt.native(d, xp)), requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    xp = namespace(to_device_arg(device))
    arr = xp.linspace(start, end, steps, dtype=dt.native(dt.float64, xp))
    return _finish(xp.astype(arr, dt.native(_dtype_or_default(dtype), xp)), requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    xp = namespace(to_device_arg(device))
    return _finish(xp.eye(n, m, dtype=dt.native(_dtype_or_default(dtype), xp)), requires_grad)


TENSOR_METHODS = ()
__all__ = ["tensor", "as_tensor", "from_numpy", "from_dlpack", "zeros", "ones", "empty", "full", "zeros_like",
           "ones_like", "empty_like", "full_like", "arange", "linspace", "eye"]
