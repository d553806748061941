"""Whether ops record the graph: `no_grad`, `enable_grad`, `inference_mode`, `set_grad_enabled`.

One process-wide flag, read by every op; each context manager also works as a
decorator.
"""
from __future__ import annotations

import functools


class _State:
    enabled = True


state = _State


def is_grad_enabled() -> bool:
    return state.enabled


class _GradModeContext:
    """Sets grad mode to `self.mode` inside a `with` block or a decorated function."""

    mode = True

    def __enter__(self):
        self._prev = state.enabled
        state.enabled = self.mode
        return self

    def __exit__(self, *exc) -> None:
        state.enabled = self._prev

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self._clone():
                return fn(*args, **kwargs)

        return wrapper

    def _clone(self):
        return self.__class__()


class no_grad(_GradModeContext):
    """Ops inside record nothing: for evaluation and parameter updates."""

    mode = False


class enable_grad(_GradModeContext):
    """Turns recording back on inside a `no_grad` block."""

    mode = True


class inference_mode(_GradModeContext):
    """Like `no_grad` (retrograd keeps no extra per-tensor state to drop)."""

    def __init__(self, mode: bool = True):
        self.mode = not mode

    def _clone(self):
        return inference_mode(not self.mode)


class set_grad_enabled(_GradModeContext):
    """Sets grad mode at once, or for a `with` block."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._prev = state.enabled
        state.enabled = self.mode

    def __enter__(self):
        return self

    def __call__(self, fn):
        state.enabled = self._prev  # as a decorator it must not act at definition time
        return super().__call__(fn)

    def _clone(self):
        return _Scoped(self.mode)


class _Scoped(_GradModeContext):
    def __init__(self, mode: bool):
        self.mode = mode
