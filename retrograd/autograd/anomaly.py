"""Anomaly detection: name the op whose backward first produced NaN or Inf."""
from __future__ import annotations

from .engine import _anomaly


class detect_anomaly:  # noqa: N801 - PyTorch's name
    """Inside this block (or decorated function) every backward result is checked for NaN/Inf."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan

    def __enter__(self):
        self._prev = _anomaly.enabled
        _anomaly.enabled = self.check_nan
        return self

    def __exit__(self, *exc) -> None:
        _anomaly.enabled = self._prev

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)

        return wrapper


class set_detect_anomaly(detect_anomaly):  # noqa: N801
    """Turn anomaly detection on or off, at once or for a block."""

    def __init__(self, mode: bool, check_nan: bool = True):
        super().__init__(mode and check_nan)
        self._prev = _anomaly.enabled
        _anomaly.enabled = self.check_nan

    def __enter__(self):  # the mode was set by __init__; on exit the previous one comes back
        return self
