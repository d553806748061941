"""nn.utils: gradient clipping, parameters <-> one flat vector."""
from __future__ import annotations

__all__: list[str] = []
