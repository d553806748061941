"""Bind the ops onto Tensor: each module's TENSOR_METHODS, and Python's operators.

Kept apart from tensor.py so that the ops modules (which import Tensor) load after it.
"""
from .. import random
from ..tensor import Tensor
from . import creation, elementwise, indexing, linalg, reduction, shape, sorting

MODULES = (creation, elementwise, reduction, shape, indexing, linalg, sorting, random)

for _mod in MODULES:
    for _name in _mod.TENSOR_METHODS:
        setattr(Tensor, _name, getattr(_mod, _name))

_ew = elementwise


def _reflected(fn):
    def op(self, other):
        return fn(other, self)

    op.__name__ = f"r{fn.__name__}"
    return op


def _inplace_operator(fn):
    def op(self, other):
        return fn(self, other)

    return op


def _comparison(fn):
    """`t == None` is False (Python's fallback), not a TypeError, as in PyTorch."""
    def op(self, other):
        if other is None:
            return NotImplemented
        return fn(self, other)

    op.__name__ = fn.__name__
    return op


Tensor.__add__, Tensor.__radd__ = _ew.add, _reflected(_ew.add)
Tensor.__sub__, Tensor.__rsub__ = _ew.sub, _reflected(_ew.sub)
Tensor.__mul__, Tensor.__rmul__ = _ew.mul, _reflected(_ew.mul)
Tensor.__truediv__, Tensor.__rtruediv__ = _ew.div, _reflected(_ew.div)
Tensor.__floordiv__, Tensor.__rfloordiv__ = _ew.floor_divide, _reflected(_ew.floor_divide)
Tensor.__mod__, Tensor.__rmod__ = _ew.remainder, _reflected(_ew.remainder)
Tensor.__pow__, Tensor.__rpow__ = _ew.pow, _reflected(_ew.pow)
Tensor.__iadd__ = _inplace_operator(_ew.add_)
Tensor.__isub__ = _inplace_operator(_ew.sub_)
Tensor.__imul__ = _inplace_operator(_ew.mul_)
Tensor.__itruediv__ = _inplace_operator(_ew.div_)
Tensor.__ifloordiv__ = _inplace_operator(lambda x, y: x.copy_(_ew.floor_divide(x, y)))
Tensor.__imod__ = _inplace_operator(_ew.remainder_)
Tensor.__ipow__ = _inplace_operator(_ew.pow_)
Tensor.__iand__ = _inplace_operator(lambda x, y: x.copy_(_ew.bitwise_and(x, y)))
Tensor.__ior__ = _inplace_operator(lambda x, y: x.copy_(_ew.bitwise_or(x, y)))
Tensor.__ixor__ = _inplace_operator(lambda x, y: x.copy_(_ew.bitwise_xor(x, y)))
Tensor.__neg__ = _ew.neg
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = _ew.abs
Tensor.__eq__, Tensor.__ne__ = _comparison(_ew.eq), _comparison(_ew.ne)
Tensor.__lt__, Tensor.__le__ = _ew.lt, _ew.le
Tensor.__gt__, Tensor.__ge__ = _ew.gt, _ew.ge
Tensor.__and__, Tensor.__rand__ = _ew.bitwise_and, _reflected(_ew.bitwise_and)
Tensor.__or__, Tensor.__ror__ = _ew.bitwise_or, _reflected(_ew.bitwise_or)
Tensor.__xor__, Tensor.__rxor__ = _ew.bitwise_xor, _reflected(_ew.bitwise_xor)
Tensor.__invert__ = lambda self: _ew.logical_not(self) if self.dtype.name == "bool" else _ew.bitwise_not(self)
Tensor.__hash__ = object.__hash__
for _name in ("__getitem__", "__setitem__"):
    if hasattr(indexing, _name):
        setattr(Tensor, _name, getattr(indexing, _name))
if hasattr(linalg, "matmul"):
    Tensor.__matmul__, Tensor.__rmatmul__ = linalg.matmul, _reflected(linalg.matmul)
