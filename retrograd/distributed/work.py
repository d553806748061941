"""Waiting on MPI requests with a deadline, and `Work`, the handle of an asynchronous collective.

MPI's own waits block forever: if another rank died or hung, this rank would hang
with it. Every wait here polls `Testall` (which also drives MPI's progress engine)
until a deadline, then raises `DistBackendError` naming the operation, so a broken
job stops in bounded time instead of hanging.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

_SPIN_S = 0.1  # poll without sleeping this long (as MPI_Wait does: fast progress), then every millisecond


class DistError(RuntimeError):
    """A distributed operation failed (PyTorch's `torch.distributed.DistError`)."""


class DistBackendError(DistError):
    """The communication backend failed or timed out (PyTorch's `torch.distributed.DistBackendError`)."""


def wait_all(requests: list, what: str, timeout: float | None = None) -> None:
    """Block until every MPI request is complete, or raise `DistBackendError` after `timeout` seconds."""
    from mpi4py import MPI

    from . import process_group as pg

    if MPI.Request.Testall(requests):
        return
    if timeout is None:
        timeout = pg.default_timeout()
    start = time.monotonic()
    while not MPI.Request.Testall(requests):
        waited = time.monotonic() - start
        if waited > timeout:
            pg.mark_broken()
            raise DistBackendError(
                f"retrograd.distributed: {what} timed out after {timeout:g} s on rank {pg.get_rank()} of "
                f"{pg.get_world_size()}: the other ranks did not take part in time (a rank died, hung, raised, or "
                f"took another code path). Raise the limit with init_process_group(timeout=timedelta(seconds=...)) "
                f"or the environment variable RETROGRAD_DIST_TIMEOUT (seconds).")
        if waited > _SPIN_S:
            time.sleep(0.001)


class Work:
    """An asynchronous collective in flight (`async_op=True`): `wait()` blocks until it is done."""

    def __init__(self, requests: list, finish: Callable[[], None], what: str) -> None:
        self._requests = requests
        self._finish = finish
        self._what = what
        self._done = False

    def is_completed(self) -> bool:
        """Whether the communication has finished (without blocking)."""
        from mpi4py import MPI

        return self._done or MPI.Request.Testall(self._requests)

    def wait(self, timeout: timedelta | float | None = None) -> bool:
        """Block until the collective is done and its result written into the tensors; True on success."""
        if not self._done:
            wait_all(self._requests, self._what, _seconds(timeout))
            self._finish()
            self._done = True
        return True


def _seconds(timeout: timedelta | float | None) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, timedelta):
        timeout = timeout.total_seconds()
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ValueError(f"timeout should be a positive datetime.timedelta or number of seconds, got {timeout!r}")
    return float(timeout)


__all__ = ["Work", "DistError", "DistBackendError"]
