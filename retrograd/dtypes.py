"""dtypes: PyTorch's names over NumPy's dtypes, and PyTorch's type-promotion rules.

NumPy's promotion differs from PyTorch's (int / int gives float64 there, a 0-dim
float64 array widens a float32 array, ...), so every op asks `result_type` here
instead of letting NumPy decide.
"""
from __future__ import annotations

import builtins

import numpy as np


class dtype:
    """A tensor element type; compares by identity, like `torch.dtype`."""

    __slots__ = ("name", "np", "is_floating_point", "itemsize", "_kind")

    def __init__(self, name: str, np_dtype, kind: int):
        self.name = name
        self.np = np_dtype
        self._kind = kind  # 0 bool, 1 integer, 2 floating: the promotion category
        self.is_floating_point = kind == 2
        self.itemsize = np.dtype(np_dtype).itemsize if np_dtype is not None else 2

    @property
    def is_complex(self) -> bool:
        return False

    @property
    def is_signed(self) -> bool:
        return self._kind != 0 and self.name != "uint8"

    def __repr__(self) -> str:
        return f"retrograd.{self.name}"

    def __reduce__(self):
        return self.name


def _bfloat16_numpy():
    try:
        import ml_dtypes
    except ImportError:  # pragma: no cover - depends on the environment
        return None
    return np.dtype(ml_dtypes.bfloat16)


bool = dtype("bool", np.dtype(np.bool_), 0)  # noqa: A001 - PyTorch's name
uint8 = dtype("uint8", np.dtype(np.uint8), 1)
int8 = dtype("int8", np.dtype(np.int8), 1)
int16 = dtype("int16", np.dtype(np.int16), 1)
int32 = dtype("int32", np.dtype(np.int32), 1)
int64 = dtype("int64", np.dtype(np.int64), 1)
float16 = dtype("float16", np.dtype(np.float16), 2)
bfloat16 = dtype("bfloat16", _bfloat16_numpy(), 2)
float32 = dtype("float32", np.dtype(np.float32), 2)
float64 = dtype("float64", np.dtype(np.float64), 2)

# PyTorch's aliases
half, float, double = float16, float32, float64  # noqa: A001
short, int, long = int16, int32, int64  # noqa: A001

ALL = (bool, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64)
_FROM_NUMPY = {d.np: d for d in ALL if d.np is not None}
_NATIVE: dict = {np: {d: d.np for d in ALL}}  # array namespace -> {retrograd dtype: that library's dtype}
_FROM_NATIVE: dict = {}  # dtype objects of other array libraries -> retrograd dtype


def register_namespace(xp) -> None:
    """Learn the dtypes of another array library (CuPy's are NumPy's; array-api-strict has its own)."""
    table = {d: getattr(xp, d.name) for d in ALL if hasattr(xp, d.name)}
    _NATIVE[xp] = table
    _FROM_NATIVE.update({native_dtype: d for d, native_dtype in table.items()})


def of_array(array) -> dtype:
    """The retrograd dtype of an array of any device."""
    if type(array) is np.ndarray:
        return from_numpy(array.dtype)
    try:
        return _FROM_NATIVE[array.dtype]
    except KeyError:
        return from_numpy(array.dtype)


def native(d: dtype, xp):
    """`d` as the dtype object of the array library `xp`."""
    if xp is np:
        return d.np
    try:
        return _NATIVE[xp][d]
    except KeyError:
        raise TypeError(f"dtype {d.name} is not supported on {getattr(xp, '__name__', xp)} arrays") from None

_default = float32


def get_default_dtype() -> dtype:
    return _default


def set_default_dtype(d: dtype) -> None:
    """Set the dtype of new floating tensors (float32, float64, float16 or bfloat16)."""
    global _default
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed, got {d}")
    _default = d


def from_numpy(np_dtype) -> dtype:
    """The retrograd dtype of a NumPy dtype (or a registered array library's); a clear error for others."""
    try:
        return _FROM_NUMPY[np_dtype]
    except (KeyError, TypeError):
        d = np.dtype(np_dtype)
        if d in _FROM_NUMPY:
            return _FROM_NUMPY[d]
        raise TypeError(f"arrays of dtype {d} are not supported; expected one of "
                        f"{', '.join(x.name for x in ALL)}") from None


def to_dtype(d) -> dtype:
    """Normalise a dtype argument: a retrograd dtype, a NumPy dtype or a Python type."""
    if d.__class__ is dtype:
        if d.np is None:
            raise TypeError("bfloat16 needs the ml_dtypes package: pip install ml_dtypes")
        return d
    if d is builtins.float:
        return float64
    if d is builtins.int:
        return int64
    if d is builtins.bool:
        return bool
    if isinstance(d, str):
        name = d.removeprefix("torch.").removeprefix("retrograd.")
        if isinstance(globals().get(name), dtype):
            return globals()[name]
    try:
        return from_numpy(np.dtype(d))
    except TypeError:
        raise TypeError(f"{d!r} is not a dtype") from None


def scalar_kind(x) -> builtins.int:
    """Promotion category of a Python scalar: 0 bool, 1 integer, 2 floating."""
    if isinstance(x, builtins.bool):
        return 0
    if isinstance(x, builtins.int):
        return 1
    if isinstance(x, builtins.float):
        return 2
    raise TypeError(f"expected a Tensor or a Python number, got {type(x).__name__}")


def _category_default(kind: builtins.int) -> dtype:
    return (bool, int64, _default)[kind]


def result_type(*operands) -> dtype:
    """PyTorch's promotion over tensors and Python scalars.

    Operands fall in three priority groups: tensors with dimensions, 0-dim tensors,
    Python scalars. Each group promotes within itself; a lower-priority group decides
    the result only when its category (bool < integer < floating) is higher.
    """
    groups = [None, None, None]
    for x in operands:
        if isinstance(x, (builtins.int, builtins.float)):
            d, prio = _category_default(scalar_kind(x)), 2
        else:
            d, prio = x.dtype, 0 if x._data.ndim else 1
        cur = groups[prio]
        groups[prio] = d if cur is None else _promote(cur, d)
    result = None
    for d in groups:
        if d is not None and (result is None or d._kind > result._kind):
            result = d
    return result


def _promote(a: dtype, b: dtype) -> dtype:
    """Promote two tensor dtypes of equal priority."""
    if a is b:
        return a
    if {a, b} == {float16, bfloat16}:
        return float32
    if a._kind != b._kind:
        return a if a._kind > b._kind else b
    return from_numpy(np.promote_types(a.np, b.np))
