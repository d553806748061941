"""One pre-norm transformer block, forward plus backward: retrograd vs PyTorch.

LayerNorm -> MultiheadAttention(128, 4, batch_first=True) with a causal mask -> residual
-> LayerNorm -> Linear(128, 512) -> GELU -> Linear(512, 128) -> residual, on a batch of
16 sequences of 64 tokens. The block is written once against a module parameter `nn`
(retrograd.nn or torch.nn); both libraries get the same weights (through state_dict) and
the same input, and are timed alternately. Prints the median milliseconds of each and the
ratio torch / retrograd (above 1: retrograd is faster).

    python benchmarks/transformer.py [--reps 15] [--iters 5] [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

BATCH, SEQ, WIDTH, HEADS, HIDDEN = 16, 64, 128, 4, 512


def make_block(nn):
    """The block as a Module class of library `nn` (the same code for both libraries)."""

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1 = nn.LayerNorm(WIDTH)
            self.attn = nn.MultiheadAttention(WIDTH, HEADS, batch_first=True)
            self.ln2 = nn.LayerNorm(WIDTH)
            self.fc1 = nn.Linear(WIDTH, HIDDEN)
            self.act = nn.GELU()
            self.fc2 = nn.Linear(HIDDEN, WIDTH)

        def forward(self, x, mask):
            h = self.ln1(x)
            x = x + self.attn(h, h, h, attn_mask=mask, is_causal=True, need_weights=False)[0]
            return x + self.fc2(self.act(self.fc1(self.ln2(x))))

    return Block()


def step_ms(lib, block, x, mask, grad, iters: int) -> float:
    """Mean milliseconds of forward + backward over `iters` runs."""
    t0 = time.perf_counter()
    for _ in range(iters):
        block.zero_grad()
        x.grad = None
        block(x, mask).backward(grad)
    return (time.perf_counter() - t0) / iters * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="threads for BLAS and for PyTorch")
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # before NumPy loads its BLAS

    import numpy as np
    import torch

    import retrograd

    torch.set_num_threads(args.threads)
    gen = np.random.default_rng(0)
    x_np = gen.standard_normal((BATCH, SEQ, WIDTH)).astype(np.float32)
    g_np = gen.standard_normal((BATCH, SEQ, WIDTH)).astype(np.float32)
    mask_np = np.triu(np.ones((SEQ, SEQ), dtype=bool), 1)  # True: may not attend (the future)

    t_block = make_block(torch.nn)
    r_block = make_block(retrograd.nn)
    r_block.load_state_dict({k: v.detach().numpy() for k, v in t_block.state_dict().items()})
    runs = {}
    for name, lib, block in (("retrograd", retrograd, r_block), ("torch", torch, t_block)):
        x = lib.tensor(x_np, requires_grad=True)
        runs[name] = (lib, block, x, lib.tensor(mask_np), lib.tensor(g_np))
    r_out = r_block(*runs["retrograd"][2:4]).detach().numpy()
    t_out = t_block(*runs["torch"][2:4]).detach().numpy()
    print(f"max |retrograd - torch| of the block's output: {np.abs(r_out - t_out).max():.2e}")

    times = {name: [] for name in runs}
    for run in runs.values():
        step_ms(*run, iters=2)  # warm up
    for _ in range(args.reps):
        for name, run in runs.items():
            times[name].append(step_ms(*run, iters=args.iters))
    med = {name: statistics.median(ts) for name, ts in times.items()}
    for name, m in med.items():
        print(f"{name:10s} {m:8.2f} ms per forward+backward (median of {args.reps} x {args.iters}, "
              f"{args.threads} thread(s))")
    print(f"ratio torch/retrograd: {med['torch'] / med['retrograd']:.2f} (above 1: retrograd is faster)")


if __name__ == "__main__":
    main()
