"""Per-op overhead: microseconds per elementwise op, forward plus backward.

A chain of 100 small elementwise ops on an 8-element tensor, then backward, timed
for retrograd and (when installed) PyTorch in the same run, alternating. Prints
the median of each and the ratio PyTorch / retrograd (above 1: retrograd faster).

    python benchmarks/op_overhead.py [--reps 30] [--iters 50]
"""
from __future__ import annotations

import argparse
import statistics
import time

import retrograd


def chain(x):
    """100 ops: 20 rounds of mul, add, tanh, sub, sigmoid."""
    for _ in range(20):
        x = ((x * 1.01 + 0.1).tanh() - 0.05).sigmoid()
    return x


def per_op_us(lib, iters: int) -> float:
    x = lib.ones(8, requires_grad=True)
    g = lib.ones(8)
    t0 = time.perf_counter()
    for _ in range(iters):
        chain(x).backward(g)
    return (time.perf_counter() - t0) / iters / 100 * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--iters", type=int, default=50)
    args = ap.parse_args()
    libs = {"retrograd": retrograd}
    try:
        import torch

        torch.set_num_threads(1)
        libs["torch"] = torch
    except ImportError:
        pass
    times = {name: [] for name in libs}
    for lib in libs.values():
        per_op_us(lib, 5)  # warm up
    for _ in range(args.reps):
        for name, lib in libs.items():
            times[name].append(per_op_us(lib, args.iters))
    med = {name: statistics.median(ts) for name, ts in times.items()}
    for name, m in med.items():
        print(f"{name:10s} {m:7.2f} us/op (forward+backward, median of {args.reps})")
    if "torch" in med:
        print(f"ratio torch/retrograd: {med['torch'] / med['retrograd']:.2f} (above 1: retrograd is faster)")


if __name__ == "__main__":
    main()
