"""retrograd.profiler.profile: exact call counts and bytes for a known graph, times that add up to the
wall time, a Chrome trace that loads, and nothing left patched afterwards."""
from __future__ import annotations

import json
import time

import pytest

import retrograd as rg
from retrograd import _op_tap, nn, viz
from retrograd.autograd import engine
from retrograd.autograd.node import Node
from retrograd.profiler import profile


def mlp_step(batch: int = 5):
    rg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x, y = rg.randn(batch, 4), rg.randn(batch, 3)
    with profile() as prof:
        nn.functional.mse_loss(model(x), y).backward()
    return prof


def test_call_counts_are_exact_for_a_known_graph():
    stats = mlp_step().stats
    assert sorted(stats) == ["Linear", "MSE", "Relu"]
    counts = {name: (s.forward_calls, s.backward_calls) for name, s in stats.items()}
    assert counts == {"Linear": (2, 2), "Relu": (1, 1), "MSE": (1, 1)}


def test_bytes_are_the_outputs_forward_and_the_gradients_backward():
    stats = mlp_step(batch=5).stats
    f32 = 4
    linear_forward = (5 * 8 + 5 * 3) * f32
    # backward: weight and bias gradients of both layers, and the input gradient of the second only
    # (the first layer's input does not require grad)
    linear_backward = (8 * 4 + 8 + 3 * 8 + 3 + 5 * 8) * f32
    assert stats["Linear"].bytes == linear_forward + linear_backward
    assert stats["Relu"].bytes == 2 * 5 * 8 * f32
    assert stats["MSE"].bytes == 1 * f32 + 5 * 3 * f32


def test_function_apply_is_counted_once_with_its_inner_ops_inside():
    class Twice(rg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x + x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = rg.randn(3, requires_grad=True)
    with profile() as prof:
        Twice.apply(x).sum().backward()
    counts = {name: (s.forward_calls, s.backward_calls) for name, s in prof.stats.items()}
    assert counts == {"Twice": (1, 1), "Sum": (1, 1)}
    nested = [e for e in prof.events if e[0] in ("Add", "Mul")]
    assert len(nested) == 2  # x + x in forward and g * 2 in backward show in the trace only


def test_times_add_up_to_the_wall_time():
    rg.manual_seed(0)
    a = rg.randn(192, 192, requires_grad=True)
    b = rg.randn(192, 192, requires_grad=True)
    start = time.perf_counter_ns()
    with profile() as prof:
        for _ in range(20):
            (a @ b).tanh().matmul(b).sum().backward()
    wall = time.perf_counter_ns() - start
    assert prof.ops_ns <= prof.wall_ns <= wall
    assert prof.ops_ns >= 0.5 * wall, f"ops {prof.ops_ns / 1e6:.1f} ms of {wall / 1e6:.1f} ms"
    assert prof.stats["MatMul"].forward_calls == 40 and prof.stats["MatMul"].backward_calls == 40
    assert sum(s.total_ns for s in prof.stats.values()) == prof.ops_ns


def test_chrome_trace_loads_and_nests(tmp_path):
    prof = mlp_step()
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(path)
    trace = json.loads(path.read_text())
    events = trace["traceEvents"]
    assert len(events) == len(prof.events) >= 8
    for e in events:
        assert e["ph"] == "X" and e["cat"] in ("forward", "backward")
        assert e["ts"] >= 0 and e["dur"] >= 0
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int) and e["args"]["bytes"] >= 0
    backward = [e for e in events if e["cat"] == "backward"]
    assert sorted(e["name"] for e in backward) == ["Linear", "Linear", "MSE", "Relu"]
    # the ops a backward formula runs lie inside that backward's span
    top = [e for e in events if e["cat"] == "backward"]
    inner = [e for e in events if e["cat"] == "forward" and any(
        t["ts"] <= e["ts"] and e["ts"] + e["dur"] <= t["ts"] + t["dur"] for t in top)]
    assert len(inner) == len(events) - 8  # everything but the 4 forward and 4 backward calls


def test_table_is_sorted_and_summarises():
    prof = mlp_step()
    text = prof.table()
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["op", "fwd", "calls"]
    rows = [line.split() for line in lines[2:5]]
    totals = [float(r[5]) for r in rows]
    assert totals == sorted(totals, reverse=True)
    assert lines[-1].startswith("time in ops:") and "ms profiled" in lines[-1]
    assert [s.name for s in prof.key_averages("name")] == ["Linear", "MSE", "Relu"]
    assert [s.name for s in prof.key_averages("calls")][0] == "Linear"
    with pytest.raises(ValueError, match="sort_by"):
        prof.key_averages("speed")


def test_max_events_bounds_the_trace_but_not_the_table():
    x = rg.randn(4, requires_grad=True)
    with profile(max_events=3) as prof:
        for _ in range(5):
            x.exp().sum().backward()
    assert len(prof.events) == 3 and prof.dropped_events > 0
    assert prof.stats["Exp"].forward_calls == 5
    assert "not kept" in prof.table()
    with profile(record_trace=False) as quiet:
        x.exp().sum()
    assert quiet.events == [] and quiet.stats["Exp"].forward_calls == 1
    with pytest.raises(ValueError, match="max_events"):
        profile(max_events=-1)


def test_nothing_patched_outside_and_nesting_with_viz():
    call, backward = Node.__dict__["__call__"], engine._call_backward
    x = rg.randn(3, requires_grad=True)
    with profile() as prof:
        with viz.trace():
            y = x.exp().sum()
        assert Node.__dict__["__call__"] is not call  # still watched by the profiler
        y.backward()
    assert Node.__dict__["__call__"] is call and engine._call_backward is backward and not _op_tap._listeners
    assert prof.stats["Exp"].forward_calls == 1 and prof.stats["Exp"].backward_calls == 1
    x.exp()
    assert prof.stats["Exp"].forward_calls == 1  # not counted once the block is left
    with pytest.raises(RuntimeError, match="already active"):
        with prof:
            with prof:
                pass
    assert not _op_tap._listeners


def test_a_failing_op_is_still_restored():
    with pytest.raises(RuntimeError):
        with profile() as prof:
            rg.randn(2, 3) @ rg.randn(4, 5)
    assert not _op_tap._listeners and prof.wall_ns > 0
