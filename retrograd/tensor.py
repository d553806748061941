"""The Tensor: an array on a device, plus what autograd needs to know about it.

A Tensor holds its array (`_data`: NumPy on cpu, CuPy on cuda), whether it
requires grad, its `.grad`, and `grad_fn`, the node that made it (None for
leaves). It does no math itself: every op lives in `retrograd.ops`, with its
forward and backward side by side, and is bound here as a method at the end of
this file.
"""
from __future__ import annotations

import numpy as np

from . import array_extras as _extras
from . import dtypes as _dt
from .autograd import grad_mode as _gm
from .device import device as _device_cls
from .device import device_of, namespace_of, to_device, to_device_arg, to_host

_new = object.__new__


class Size(tuple):
    """A tensor's shape: a tuple with `numel()`, like `torch.Size`."""

    __slots__ = ()

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self) -> str:
        return f"retrograd.Size({list(self)})"


class Tensor:
    """An n-dimensional array that records the ops applied to it when it requires grad."""

    __slots__ = ("_data", "_requires_grad", "grad_fn", "__weakref__", "__dict__")
    __array_ufunc__ = None  # NumPy defers to our reflected operators: np.float32(2) * t is a Tensor

    # Rarely set, so class-level defaults: creating a tensor writes only the three slots.
    grad = None
    _out_nr = 0  # which output of grad_fn this is
    _version = 0  # in-place changes of the storage (read through _base for views)
    _base = None  # the tensor whose storage a view shares
    _hooks = None
    _post_accumulate_hooks = None

    def __init__(self, *args, dtype=None, device=None):
        """`Tensor(2, 3)` is uninitialised; `Tensor([1, 2])` copies data (float by default)."""
        from .ops.creation import _array_from_data

        dev = to_device_arg(device)
        if len(args) == 1 and not isinstance(args[0], int):
            arr = _array_from_data(args[0], dtype or _dt.get_default_dtype(), dev)
        else:
            shape = args[0] if len(args) == 1 and isinstance(args[0], tuple) else args
            d = _dt.to_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
            arr = namespace_of_device(dev).empty(tuple(shape), dtype=d.np)
        _init(self, arr)

    @staticmethod
    def _make(data) -> Tensor:
        """A new tensor around an existing array: the internal fast path."""
        t = _new(Tensor)
        t._data = data
        t._requires_grad = False
        t.grad_fn = None
        return t

    # ---- what it is ------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim, "size")]

    @property
    def dtype(self) -> _dt.dtype:
        return _dt.of_array(self._data)

    @property
    def device(self) -> _device_cls:
        return device_of(self._data)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self.dtype.itemsize

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def is_contiguous(self) -> bool:
        return _extras.is_contiguous(self._data)

    def stride(self, dim: int | None = None):
        st = tuple(s // self.dtype.itemsize for s in _extras.strides(self._data))
        return st if dim is None else st[_wrap_dim(dim, self._data.ndim, "stride")]

    def data_ptr(self) -> int:
        return self._data.__array_interface__["data"][0] if type(self._data) is np.ndarray else self._data.data.ptr

    # ---- autograd state ----------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value and self.grad_fn is None:
            _check_grad_dtype(self.dtype, "requires_grad")
        if not value and self.grad_fn is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to use "
                               "a computed variable in a subgraph that doesn't require differentiation use "
                               "var_no_grad = var.detach().")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def output_nr(self) -> int:
        return self._out_nr

    @property
    def _version_counter(self) -> int:
        return self._version if self._base is None else self._base._version

    def _bump_version(self) -> None:
        """Count an in-place change of the storage; a node that saved it as its output learns of it."""
        root = self if self._base is None else self._base
        root._version += 1
        if root.grad_fn is not None and root.grad_fn._out is not None:
            root.grad_fn._out_dirty = True

    @property
    def data(self) -> Tensor:
        """The same storage, detached from the graph (changes to it are not tracked)."""
        t = Tensor._make(self._data)
        t._base = self if self._base is None else self._base
        return t

    @data.setter
    def data(self, value: Tensor) -> None:
        self._data = value._data

    def backward(self, gradient: Tensor | None = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate the gradient of this tensor into the `.grad` of every leaf it depends on."""
        from .autograd.engine import backward

        backward(self, gradient, retain_graph, create_graph, inputs)

    def register_hook(self, hook):
        """Call `hook(grad)` when this tensor's gradient is computed; a returned tensor replaces it."""
        from .utils.hooks import RemovableHandle

        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = {}
            handle = RemovableHandle(self._hooks)
            self._hooks[handle.id] = hook
        else:
            hooks, _ = _pre_hooks(self.grad_fn)
            handle = RemovableHandle(hooks)
            hooks[handle.id] = (self._out_nr, hook)
        return handle

    def register_post_accumulate_grad_hook(self, hook):
        """Call `hook(tensor)` after this leaf's `.grad` has been accumulated in a backward pass."""
        from .utils.hooks import RemovableHandle

        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if self._post_accumulate_hooks is None:
            self._post_accumulate_hooks = {}
        handle = RemovableHandle(self._post_accumulate_hooks)
        self._post_accumulate_hooks[handle.id] = hook
        return handle

    def retain_grad(self) -> None:
        """Keep `.grad` for this non-leaf tensor too (leaves always keep theirs)."""
        import weakref

        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None:
            _pre_hooks(self.grad_fn)[1][self._out_nr] = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        if self.grad_fn is None or self.grad_fn.pre_hooks is None:
            return False
        return self._out_nr in self.grad_fn.pre_hooks[1]

    def detach(self) -> Tensor:
        """The same storage without history: a new leaf that does not require grad."""
        t = Tensor._make(self._data)
        t._base = self if self._base is None else self._base
        return t

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self._requires_grad = False
        return self

    # ---- conversions ------------------------------------------------------------------
    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"item(): a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return to_host(self._data).reshape(-1)[0].item()

    def tolist(self):
        return to_host(self._data).tolist()

    def numpy(self, force: bool = False) -> np.ndarray:
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if type(self._data) is not np.ndarray:
            if not force:
                raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() "
                                "to copy the tensor to host memory first.")
            return to_host(self._data)
        return self._data

    def __array__(self, dtype=None, copy=None):
        arr = self.detach().numpy(force=True)
        return arr if dtype is None else arr.astype(dtype)

    def to(self, *args, dtype=None, device=None, non_blocking: bool = False, copy: bool = False) -> Tensor:
        """`to(dtype)`, `to(device)`, `to(device, dtype)` or `to(other_tensor)`; self when nothing changes."""
        for a in args:
            if isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            elif isinstance(a, _dt.dtype):
                dtype = a
            elif isinstance(a, (str, _device_cls, int)):
                device = a
            else:
                raise TypeError(f"to(): expected a dtype, a device or a tensor, got {type(a).__name__}")
        out = self
        if device is not None:
            dev = to_device_arg(device)
            if dev != self.device:
                from .ops.elementwise import ToDevice

                out = ToDevice(dev)(out)
        if dtype is not None and _dt.to_dtype(dtype) is not out.dtype:
            from .ops.elementwise import cast

            out = cast(out, _dt.to_dtype(dtype))
        if copy and out is self:
            out = self.clone()
        return out

    def type(self, dtype=None):
        if dtype is None:
            return f"retrograd.{self.dtype.name}"
        return self.to(dtype)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def float(self) -> Tensor:
        return self.to(_dt.float32)

    def double(self) -> Tensor:
        return self.to(_dt.float64)

    def half(self) -> Tensor:
        return self.to(_dt.float16)

    def bfloat16(self) -> Tensor:
        return self.to(_dt.bfloat16)

    def long(self) -> Tensor:
        return self.to(_dt.int64)

    def int(self) -> Tensor:
        return self.to(_dt.int32)

    def bool(self) -> Tensor:
        return self.to(_dt.bool)

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device=None) -> Tensor:
        return self.to("cuda" if device is None else to_device_arg(device if not isinstance(device, int)
                                                                     else f"cuda:{device}"))

    def __dlpack__(self, stream=None, **kwargs):
        return self.detach()._data.__dlpack__(**({} if stream is None else {"stream": stream}), **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    # ---- Python protocol --------------------------------------------------------------
    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} values is ambiguous")
        return bool(to_host(self._data).reshape(-1)[0])

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.is_floating_point or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        body = np.array2string(np.asarray(self.__array__()), separator=", ", prefix="tensor(",
                               precision=4, suppress_small=True)
        extras = []
        if self.device.type != "cpu":
            extras.append(f"device='{self.device}'")
        if self.dtype not in (_dt.get_default_dtype(), _dt.int64, _dt.bool):
            extras.append(f"dtype={self.dtype!r}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name}>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    def __reduce_ex__(self, protocol):
        return (_rebuild, (self.__array__(), self._requires_grad, str(self.device)))

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                               "protocol at the moment")
        t = type(self).__new__(type(self))
        _init(t, _extras.copy(self._data))
        t._requires_grad = self._requires_grad
        if self.__dict__:
            import copy

            t.__dict__.update(copy.deepcopy(self.__dict__, memo))
        if self.grad is not None:
            t.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = t
        return t


def _init(t: Tensor, data) -> None:
    t._data = data
    t._requires_grad = False
    t.grad_fn = None


def _rebuild(array, requires_grad: bool, device: str = "cpu") -> Tensor:
    """Unpickle: the values, back on the device they were saved from (as PyTorch does)."""
    t = Tensor._make(to_device(array, to_device_arg(device)))
    t._requires_grad = requires_grad
    return t


def _pre_hooks(node):
    if node.pre_hooks is None:
        node.pre_hooks = ({}, {})
    return node.pre_hooks


def _check_grad_dtype(d: _dt.dtype, op: str) -> None:
    if not d.is_floating_point:
        raise RuntimeError(f"{op}: only Tensors of floating point dtype can require gradients, got {d}")


def _wrap_dim(dim: int, ndim: int, op: str) -> int:
    """A dim in [-ndim, ndim) as a non-negative index, or an IndexError that names the op."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n


def namespace_of_device(dev):
    from .device import namespace

    return namespace(dev)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


__all__ = ["Tensor", "Size", "is_tensor", "namespace_of", "to_device", "_gm"]

from .ops import _bind  # noqa: E402,F401 - binds the op methods onto Tensor
