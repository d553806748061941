"""Conv2d and MaxPool2d, forward plus backward: retrograd vs PyTorch in the same run.

Conv2d(32, 64, 3, padding=1) on a (64, 32, 28, 28) batch, and MaxPool2d(2) on its output,
timed alternately for each library over several repetitions (each after compare.py's pause, so
that OpenBLAS's idle threads are asleep); prints the medians in ms and
the ratio PyTorch / retrograd (above 1: retrograd is faster). PyTorch keeps its default
number of threads.

    python benchmarks/conv.py [--reps 7]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from compare import SETTLE_S

import retrograd


def make_case(lib, x: np.ndarray, state: dict):
    """The conv layer (weights copied from `state`), the input, and the two timed closures."""
    conv = lib.nn.Conv2d(32, 64, 3, padding=1)
    conv.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
    pool = lib.nn.MaxPool2d(2)
    xt = lib.tensor(x, requires_grad=True)
    y = conv(xt).detach().requires_grad_(True)
    g_conv, g_pool = lib.ones(64, 64, 28, 28), lib.ones(64, 64, 14, 14)

    def run_conv():
        conv(xt).backward(g_conv)

    def run_pool():
        pool(y).backward(g_pool)

    return {"Conv2d": run_conv, "MaxPool2d": run_pool}


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 32, 28, 28)).astype(np.float32)
    bound = 1 / (32 * 9) ** 0.5
    state = {"weight": rng.uniform(-bound, bound, (64, 32, 3, 3)).astype(np.float32),
             "bias": rng.uniform(-bound, bound, 64).astype(np.float32)}
    libs = {"retrograd": make_case(retrograd, x, state)}
    try:
        import torch

        libs["torch"] = make_case(torch, x, state)
    except ImportError:
        pass
    for case in libs.values():  # warm up
        for fn in case.values():
            fn()
    times = {(lib, op): [] for lib in libs for op in libs["retrograd"]}
    for _ in range(args.reps):
        for lib, case in libs.items():
            for op, fn in case.items():
                time.sleep(SETTLE_S)
                times[lib, op].append(timed(fn))
    for op in libs["retrograd"]:
        med = {lib: statistics.median(times[lib, op]) for lib in libs}
        line = "  ".join(f"{lib} {m:8.2f} ms" for lib, m in med.items())
        ratio = f"  ratio torch/retrograd {med['torch'] / med['retrograd']:.2f}" if "torch" in med else ""
        print(f"{op:10s} forward+backward (median of {args.reps}): {line}{ratio}")


if __name__ == "__main__":
    main()
