"""nn.init: in-place initialisers with PyTorch's distributions."""
from __future__ import annotations

__all__: list[str] = []
