"""(to be written)"""
from __future__ import annotations

TENSOR_METHODS = ()
__all__ = []
