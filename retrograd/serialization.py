"""`retrograd.save` / `retrograd.load`: checkpoints in the safetensors format, never pickle.

A flat state dict becomes an ordinary safetensors file with its tensors under their own names, so
`safetensors.torch.load_file` reads it as is. Any other structure (dicts, lists and tuples of tensors,
NumPy arrays and Python values, like `{'model': ..., 'optimizer': ..., 'epoch': 3}`) stores its tensors
under their dotted paths and everything else as JSON in the header's `__metadata__`, from which `load`
rebuilds it exactly. Saving to a path writes a temporary file first and moves it over the target only once
it is complete and synced, so a crash never leaves a half-written checkpoint.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import struct
from collections import OrderedDict
from collections.abc import Mapping
from typing import IO, Any

import numpy as np

from . import dtypes as _dt
from .device import CPU, device
from .tensor import Tensor

_SKELETON_KEY = "retrograd"  # the `__metadata__` entry holding the structure, as JSON
_FORMAT_VERSION = 1
# safetensors' dtype codes: NumPy dtype name and bytes per element of each
_DTYPES = {"BOOL": ("bool", 1), "U8": ("uint8", 1), "I8": ("int8", 1), "I16": ("int16", 2), "U16": ("uint16", 2),
           "I32": ("int32", 4), "U32": ("uint32", 4), "I64": ("int64", 8), "U64": ("uint64", 8),
           "F16": ("float16", 2), "BF16": ("bfloat16", 2), "F32": ("float32", 4), "F64": ("float64", 8)}
_SUPPORTED_NAMES = {name for name, _ in _DTYPES.values()}
_ARRAY_KINDS = ("tensor", "ndarray", "numpy_scalar")


class CheckpointError(RuntimeError):
    """A checkpoint file that is truncated, corrupt or not in the safetensors format."""


def _safetensors():
    """The safetensors package, or a clear error saying which extra provides it."""
    try:
        import safetensors
        import safetensors.numpy
    except ImportError:
        raise ImportError("retrograd.save/retrograd.load need the safetensors package: "
                          "pip install 'retrograd[train]'") from None
    return safetensors


# ---- save -------------------------------------------------------------------------------------------------------
class _Flattener:
    """Splits an object into named host arrays and a JSON skeleton that refers to them by name."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}

    def node(self, x: Any, path: tuple) -> Any:
        if isinstance(x, Tensor):
            from .nn.parameter import Parameter

            node = self._array(x.detach().numpy(force=True), path, "tensor")
            if x.requires_grad:
                node["requires_grad"] = True
            if isinstance(x, Parameter):
                node["parameter"] = True
            return node
        if isinstance(x, np.ndarray):
            return self._array(x, path, "ndarray")
        if isinstance(x, np.generic):
            return self._array(np.asarray(x), path, "numpy_scalar")
        if isinstance(x, Mapping):
            node = {"type": "dict", "items": [[_scalar(k, path), self.node(v, (*path, k))] for k, v in x.items()]}
            if isinstance(x, OrderedDict):
                node["ordered"] = True
            if isinstance(getattr(x, "_metadata", None), Mapping):  # module versions of Module.state_dict()
                node["metadata"] = self.node(x._metadata, (*path, "_metadata"))
            return node
        if isinstance(x, (list, tuple)) and type(x) in (list, tuple):
            return {"type": type(x).__name__, "items": [self.node(v, (*path, i)) for i, v in enumerate(x)]}
        return _scalar(x, path)

    def _array(self, arr: np.ndarray, path: tuple, kind: str) -> dict:
        if arr.dtype.name not in _SUPPORTED_NAMES:
            raise TypeError(f"retrograd.save: the array at {_where(path)} has dtype {arr.dtype}, which safetensors "
                            f"cannot store; expected one of {', '.join(sorted(_SUPPORTED_NAMES))}")
        base = _dotted(path) or "tensor"
        name, n = base, 1
        while name in self.arrays or name == "__metadata__":  # a key with dots may repeat a dotted path
            name, n = f"{base}#{n}", n + 1
        self.arrays[name] = arr if arr.flags.c_contiguous else arr.copy(order="C")
        return {"type": kind, "key": name, "dtype": arr.dtype.name}


def _scalar(x: Any, path: tuple) -> Any:
    """A Python scalar as JSON: non-finite floats tagged (JSON has none), anything else is refused."""
    if x is None or isinstance(x, (bool, int, str)):
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else {"type": "float", "value": repr(x)}
    raise TypeError(f"retrograd.save: cannot store a {type(x).__name__} at {_where(path)}; expected Tensors, NumPy "
                    "arrays, numbers, strings, bools, None, and dicts, lists and tuples of them "
                    "(dict keys: strings, numbers, bools or None)")


def _dotted(path: tuple) -> str:
    return ".".join(str(p) for p in path)


def _where(path: tuple) -> str:
    return f"'{_dotted(path)}'" if path else "the top level"


def _write_atomic(path: str, data: bytes) -> None:
    """Write to a new file beside `path`, flush and fsync it, then rename it over `path` (atomic)."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise RuntimeError(f"Parent directory {directory} does not exist.")
    while True:  # O_EXCL: never reuse a name; the mode honours the umask (mkstemp would give 0600)
        tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable; Windows cannot open directories
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def save(obj: Any, f: str | os.PathLike | IO[bytes]) -> None:
    """Save a state dict, or a nested checkpoint of tensors and Python values, as a safetensors file.

    `f` is a path (written atomically) or a binary file object. Tensors are stored on the host; autograd
    history is not (requires_grad and Parameter-ness are).
    """
    safetensors = _safetensors()
    flat = _Flattener()
    root = flat.node(obj, ())
    skeleton = json.dumps({"version": _FORMAT_VERSION, "root": root}, separators=(",", ":"), allow_nan=False)
    data = safetensors.numpy.save(flat.arrays, metadata={"format": "pt", _SKELETON_KEY: skeleton})
    if hasattr(f, "write"):
        f.write(data)
    else:
        _write_atomic(os.fspath(f), data)


# ---- load -------------------------------------------------------------------------------------------------------
def _parse_header(data: bytes, where: str) -> tuple[dict, dict]:
    """Check a safetensors file's layout (with errors saying what is wrong); return its tensors and metadata."""
    if len(data) < 8:
        raise CheckpointError(f"{where}: truncated: {len(data)} bytes, fewer than the 8-byte header length that "
                              "starts a safetensors file")
    (size,) = struct.unpack_from("<Q", data)
    if size > len(data) - 8:
        raise CheckpointError(f"{where}: the header claims {size} bytes but only {len(data) - 8} follow: the file "
                              "is truncated or not a safetensors file")
    try:
        header = json.loads(data[8:8 + size].decode("utf-8"))
    except ValueError as e:
        raise CheckpointError(f"{where}: the header is not valid JSON ({e}): the file is corrupt or not a "
                              "safetensors file") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{where}: the header is a JSON {type(header).__name__}, expected an object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise CheckpointError(f"{where}: __metadata__ must map strings to strings")
    end = 0
    for name, (begin, stop) in sorted(((k, _entry_span(k, v, where)) for k, v in header.items()),
                                      key=lambda item: item[1]):
        if begin != end:
            raise CheckpointError(f"{where}: tensor {name!r} starts at byte {begin} of the data, expected {end}: "
                                  "tensors overlap or leave a gap")
        end = stop
    available = len(data) - 8 - size
    if end != available:
        problem = "the file is truncated" if end > available else "trailing bytes after the last tensor"
        raise CheckpointError(f"{where}: the tensors need {end} bytes of data but {available} are present: {problem}")
    return header, metadata


def _entry_span(name: str, info: Any, where: str) -> tuple[int, int]:
    """The (begin, end) data offsets of one header entry, checked against its dtype and shape."""
    try:
        code, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        well_formed = all(type(v) is int and v >= 0 for v in (*shape, begin, end))
    except (KeyError, TypeError, ValueError):
        well_formed = False
    if not well_formed:
        raise CheckpointError(f"{where}: tensor {name!r} has a malformed header entry {info!r}; expected "
                              "dtype, shape (non-negative ints) and data_offsets [begin, end]")
    if code not in _DTYPES:
        raise CheckpointError(f"{where}: tensor {name!r} has dtype {code!r}, which retrograd cannot load; "
                              f"supported: {', '.join(_DTYPES)}")
    need = math.prod(shape) * _DTYPES[code][1]
    if end - begin != need:
        raise CheckpointError(f"{where}: tensor {name!r} of dtype {code} and shape {shape} needs {need} bytes, "
                              f"but its data_offsets [{begin}, {end}] span {end - begin}")
    return begin, end


def _numpy_dtype(code: str, name: str, where: str) -> np.dtype:
    if code == "BF16":
        if _dt.bfloat16.np is None:
            raise CheckpointError(f"{where}: tensor {name!r} is bfloat16, which needs the ml_dtypes package: "
                                  "pip install 'retrograd[bf16]'")
        return _dt.bfloat16.np
    return np.dtype(_DTYPES[code][0])


def _read_arrays(data: bytes, where: str) -> tuple[dict[str, np.ndarray], dict]:
    """Every tensor of a safetensors file as a writable host array, in header order, and the metadata."""
    safetensors = _safetensors()
    header, metadata = _parse_header(data, where)
    try:
        entries = dict(safetensors.deserialize(data))
    except safetensors.SafetensorError as e:
        raise CheckpointError(f"{where}: not a valid safetensors file ({e})") from None
    arrays = {}
    for name in header:
        entry = entries.pop(name)
        arr = np.frombuffer(entry["data"], dtype=_numpy_dtype(entry["dtype"], name, where)).reshape(entry["shape"])
        arrays[name] = arr if arr.flags.writeable else arr.copy()
    return arrays, metadata


class _Rebuilder:
    """Turns a skeleton back into the saved object, taking the arrays it refers to."""

    def __init__(self, arrays: dict[str, np.ndarray], target: device, where: str):
        self.arrays, self.target, self.where = arrays, target, where

    def node(self, node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        kind = node["type"]
        if kind in _ARRAY_KINDS:
            return self._array(node, kind)
        if kind == "dict":
            out = (OrderedDict if node.get("ordered") else dict)((self.node(k), self.node(v)) for k, v in node["items"])
            if "metadata" in node:
                out._metadata = self.node(node["metadata"])
            return out
        if kind in ("list", "tuple"):
            items = [self.node(v) for v in node["items"]]
            return items if kind == "list" else tuple(items)
        if kind == "float":
            return float(node["value"])
        raise CheckpointError(f"{self.where}: unknown node type {kind!r} in the '{_SKELETON_KEY}' metadata")

    def _array(self, node: dict, kind: str) -> Any:
        name = node["key"]
        if name not in self.arrays:
            raise CheckpointError(f"{self.where}: the metadata refers to tensor {name!r}, which the file does not hold")
        arr = self.arrays[name]
        if arr.dtype.name != node["dtype"]:
            raise CheckpointError(f"{self.where}: tensor {name!r} is {arr.dtype.name} in the file but "
                                  f"{node['dtype']} in the metadata")
        if kind == "ndarray":
            return arr
        if kind == "numpy_scalar":
            return arr[()]
        try:
            _dt.from_numpy(arr.dtype)
        except TypeError as e:
            raise CheckpointError(f"{self.where}: tensor {name!r} cannot be a retrograd tensor: {e}") from None
        t = Tensor._make(arr)
        if self.target != CPU:
            t = t.to(self.target)
        if node.get("parameter"):
            from .nn.parameter import Parameter

            return Parameter(t, requires_grad=bool(node.get("requires_grad")))
        return t.requires_grad_() if node.get("requires_grad") else t


def _target_device(map_location: Any) -> device:
    """Where loaded tensors go. Files hold host arrays, so a dict map_location is asked where 'cpu' goes."""
    if isinstance(map_location, Mapping):
        map_location = map_location.get("cpu")
    if map_location is None:
        return CPU
    if isinstance(map_location, device):
        return map_location
    if isinstance(map_location, str) or hasattr(map_location, "type"):  # also another framework's device
        return device(str(map_location))
    raise TypeError(f"retrograd.load: map_location must be None, a device, a device string like 'cpu' or a dict "
                    f"of them, got {type(map_location).__name__}")


def load(f: str | os.PathLike | IO[bytes], map_location: Any = None, weights_only: bool = True) -> Any:
    """Load what `save` wrote (or any safetensors file, as a dict name -> Tensor).

    `map_location` ('cpu', a device) says where the tensors go. Loading never runs code from the file,
    so `weights_only` is accepted for PyTorch compatibility and changes nothing.
    """
    target = _target_device(map_location)
    if hasattr(f, "read"):
        where, data = f"retrograd.load: {getattr(f, 'name', type(f).__name__)}", f.read()
    else:
        path = os.fspath(f)
        with open(path, "rb") as fh:
            where, data = f"retrograd.load: '{path}'", fh.read()
    arrays, metadata = _read_arrays(data, where)
    del data
    rebuild = _Rebuilder(arrays, target, where)
    if _SKELETON_KEY not in metadata:  # a plain safetensors file, e.g. from safetensors.torch.save_file
        return {name: rebuild.node({"type": "tensor", "key": name, "dtype": arr.dtype.name})
                for name, arr in arrays.items()}
    try:
        skeleton = json.loads(metadata[_SKELETON_KEY])
        if not isinstance(skeleton["version"], int) or skeleton["version"] > _FORMAT_VERSION:
            raise CheckpointError(f"{where}: written in retrograd checkpoint format {skeleton['version']!r}; this "
                                  f"retrograd reads up to {_FORMAT_VERSION}: upgrade retrograd")
        return rebuild.node(skeleton["root"])
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as e:
        raise CheckpointError(f"{where}: the '{_SKELETON_KEY}' metadata is malformed ({e!r})") from None

__all__ = ["save", "load"]
