"""Parameter: a Tensor that a Module registers as learnable."""
from __future__ import annotations

from ..tensor import Tensor, _init, _rebuild


class Parameter(Tensor):
    """A leaf tensor that requires grad by default and is registered by `Module.__setattr__`.

    It shares `data`'s storage (no copy); ops on it give plain Tensors.
    """

    __slots__ = ()

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Parameter:
        if data is None:
            from ..ops.creation import empty

            data = empty(0)
        elif not isinstance(data, Tensor):
            raise TypeError(f"Parameter: expected a Tensor as data, got {type(data).__name__}")
        p = object.__new__(cls)
        _init(p, data._data)
        p.requires_grad = requires_grad
        return p

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True):
        """Everything is done in `__new__` (Tensor's `__init__` would copy the data)."""

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self.__array__(), self._requires_grad, str(self.device)))


def _rebuild_parameter(array, requires_grad: bool, device: str = "cpu") -> Parameter:
    return Parameter(_rebuild(array, False, device), requires_grad)


__all__ = ["Parameter"]
