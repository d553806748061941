"""A handle that removes a registered hook: returned by every `register_*_hook`."""
from __future__ import annotations

import itertools

_ids = itertools.count()


class RemovableHandle:
    """`handle.remove()` takes the hook out of the dict it was registered in."""

    def __init__(self, hooks: dict):
        self.hooks = hooks
        self.id = next(_ids)

    def remove(self) -> None:
        self.hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()
