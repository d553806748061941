"""An op profiler, like `torch.profiler.profile`: time, calls and bytes per op type, and a Chrome trace.

    with retrograd.profiler.profile() as prof:
        loss = model(x).sum()
        loss.backward()
    print(prof.table())
    prof.export_chrome_trace("trace.json")   # open in https://ui.perfetto.dev or chrome://tracing

Forward is every op call (a Node, or an `autograd.Function`); backward is every node's backward,
including the ops its formula runs. An op called inside another profiled op (the ops of a backward
formula, of a Function's forward) is counted in the enclosing one's time and shows nested in the
trace. Where gradients from several paths meet, the engine sums them with Add ops, which count as
Add forward calls. Bytes are the nbytes of the arrays an op returns (its output forward, its input
gradients backward). Ops are only watched while a profile is active: the hot path is untouched
otherwise.
"""
from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import _op_tap
from .autograd.node import Node
from .tensor import Tensor

_SORT_KEYS = ("total", "forward", "backward", "calls", "bytes", "name")


@dataclass
class OpStats:
    """What one op type cost over the profile (times in nanoseconds)."""

    name: str
    forward_calls: int = 0
    forward_ns: int = 0
    backward_calls: int = 0
    backward_ns: int = 0
    bytes: int = 0

    @property
    def total_ns(self) -> int:
        return self.forward_ns + self.backward_ns

    @property
    def calls(self) -> int:
        return self.forward_calls + self.backward_calls


class profile:  # noqa: N801 - PyTorch's name
    """Context manager recording every op's forward and backward while active.

    `max_events` bounds the Chrome trace kept in memory (the table keeps counting past it), so
    a whole training run can be profiled.
    """

    def __init__(self, record_trace: bool = True, max_events: int = 1_000_000) -> None:
        if max_events < 0:
            raise ValueError(f"profile: max_events must be >= 0, got {max_events}")
        self.record_trace = record_trace
        self.max_events = max_events
        self.stats: dict[str, OpStats] = {}
        self.events: list[tuple] = []  # (name, phase, start_ns, duration_ns, thread, bytes)
        self.dropped_events = 0
        self.wall_ns = 0
        self._local = threading.local()
        self._start = 0
        self._origin: int | None = None  # the first start: trace times count from it
        self._active = False

    def __enter__(self) -> profile:
        if self._active:
            raise RuntimeError("profile: this profiler is already active")
        self._active = True
        self._start = time.perf_counter_ns()
        if self._origin is None:
            self._origin = self._start
        _op_tap.attach(self)
        return self

    def __exit__(self, *exc) -> None:
        _op_tap.detach(self)
        self.wall_ns += time.perf_counter_ns() - self._start
        self._active = False

    # ---- listener of retrograd._op_tap ----------------------------------------------
    def forward(self, name: str, run: Callable[[], Any]) -> Any:
        return self._time(name, "forward", run)

    def backward(self, node: Node, grads: list, run: Callable[[], tuple]) -> tuple:
        return self._time(node.name.removesuffix("Backward"), "backward", run)

    def _time(self, name: str, phase: str, run: Callable[[], Any]) -> Any:
        local = self._local
        depth = getattr(local, "depth", 0)
        local.depth = depth + 1
        start = time.perf_counter_ns()
        try:
            out = run()
        finally:
            local.depth = depth
        duration = time.perf_counter_ns() - start
        nbytes = _output_bytes(out)
        if depth == 0:  # nested ops are already inside the enclosing op's time
            s = self.stats.get(name)
            if s is None:
                s = self.stats[name] = OpStats(name)
            if phase == "forward":
                s.forward_calls += 1
                s.forward_ns += duration
            else:
                s.backward_calls += 1
                s.backward_ns += duration
            s.bytes += nbytes
        if self.record_trace:
            if len(self.events) < self.max_events:
                self.events.append((name, phase, start, duration, threading.get_ident(), nbytes))
            else:
                self.dropped_events += 1
        return out

    # ---- results ----------------------------------------------------------------------
    @property
    def ops_ns(self) -> int:
        """Time spent inside ops (forward and backward), summed over op types."""
        return sum(s.total_ns for s in self.stats.values())

    def key_averages(self, sort_by: str = "total") -> list[OpStats]:
        """The per-op rows, most expensive first (`sort_by`: total, forward, backward, calls, bytes, name)."""
        if sort_by not in _SORT_KEYS:
            raise ValueError(f"profile: sort_by must be one of {', '.join(_SORT_KEYS)}, got {sort_by!r}")
        key = {"total": lambda s: -s.total_ns, "forward": lambda s: -s.forward_ns,
               "backward": lambda s: -s.backward_ns, "calls": lambda s: -s.calls,
               "bytes": lambda s: -s.bytes, "name": lambda s: s.name}[sort_by]
        return sorted(self.stats.values(), key=key)

    def table(self, sort_by: str = "total", row_limit: int | None = None) -> str:
        """The per-op summary as text, with the share of the profiled wall time spent in ops."""
        rows = self.key_averages(sort_by)[:row_limit]
        total = self.ops_ns or 1
        header = (f"{'op':<28}{'fwd calls':>10}{'fwd ms':>11}{'bwd calls':>10}{'bwd ms':>11}"
                  f"{'total ms':>11}{'%':>7}{'MB out':>10}")
        lines = [header, "-" * len(header)]
        for s in rows:
            lines.append(f"{s.name[:27]:<28}{s.forward_calls:>10}{s.forward_ns / 1e6:>11.3f}{s.backward_calls:>10}"
                         f"{s.backward_ns / 1e6:>11.3f}{s.total_ns / 1e6:>11.3f}{100 * s.total_ns / total:>7.1f}"
                         f"{s.bytes / 2**20:>10.2f}")
        lines.append("-" * len(header))
        wall = self.wall_ns + (time.perf_counter_ns() - self._start if self._active else 0)
        share = f" ({100 * self.ops_ns / wall:.1f}%)" if wall else ""
        lines.append(f"time in ops: {self.ops_ns / 1e6:.3f} ms of {wall / 1e6:.3f} ms profiled{share}")
        if self.dropped_events:
            lines.append(f"trace: {self.dropped_events} events beyond max_events={self.max_events} not kept")
        return "\n".join(lines)

    def chrome_trace(self) -> dict:
        """The trace as Chrome's trace-event format: complete ('X') events, times in microseconds."""
        pid = os.getpid()
        threads: dict[int, int] = {}
        events = []
        for name, phase, start, duration, thread, nbytes in self.events:
            tid = threads.setdefault(thread, len(threads))
            events.append({"name": name, "cat": phase, "ph": "X", "ts": (start - self._origin) / 1e3,
                           "dur": duration / 1e3, "pid": pid, "tid": tid, "args": {"bytes": nbytes}})
        return {"traceEvents": events, "displayTimeUnit": "ms"}

    def export_chrome_trace(self, path: str | os.PathLike) -> None:
        """Write the trace as JSON, for https://ui.perfetto.dev or chrome://tracing."""
        with open(path, "w") as f:
            json.dump(self.chrome_trace(), f)


def _output_bytes(out) -> int:
    """nbytes of what an op returned: a Tensor, or a tuple of Tensors, arrays (a first-order backward) and Nones."""
    if isinstance(out, (tuple, list)):
        return sum(_output_bytes(t) for t in out)
    if isinstance(out, Tensor):
        return out._data.nbytes
    return getattr(out, "nbytes", 0)


__all__ = ["profile", "OpStats"]
