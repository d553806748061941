"""Data-parallel training over MPI: step time on 1 and 2 ranks, and how much communication backward hides.

Two workloads, each rank training on its own batch with AdamW:
  mlp  784-512-512-10 with ReLU, batch 128 per rank, cross-entropy
  gpt  a small causal transformer (byte embedding + positions, 2 blocks of benchmarks/transformer.py,
       LayerNorm, linear head), 16 sequences of 64 tokens per rank, next-token cross-entropy
On 1 rank the plain model trains (no DistributedDataParallel); on N ranks it is wrapped. Per workload:
  step ms       median wall time of one step (zero_grad, forward, backward, optimizer step)
  backward ms   of which the backward pass (DDP's bucket all-reduces run inside it)
  comm ms       the same buckets all-reduced back to back with nothing else running: the communication a
                step would cost if none of it overlapped backward
  wait ms       the time backward spent blocked at its end, waiting for the all-reduces; split into
  skew ms       waiting for the last rank to finish its backward (the ranks share one host's clock), and
  exposed ms    waiting for the communication after that: the part of it backward did not hide
  overlap       1 - exposed / comm: the share of the communication hidden behind backward
(times are medians over the steps)

    python benchmarks/ddp.py [--ranks 1 2] [--steps 30] [--warmup 5] [--threads 1] [--async-progress]
                             [--workloads mlp gpt]

Each configuration runs as `mpiexec -n N python benchmarks/ddp.py --worker ...` (OMP/OpenBLAS threads per
rank: --threads). Needs mpi4py and mpiexec: pip install mpi4py mpich.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
VOCAB, SEQ, WIDTH = 256, 64, 128


def mlp(rg):
    nn = rg.nn
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    x, y = rg.randn(128, 784), rg.randint(0, 10, (128,))
    return model, lambda m: nn.functional.cross_entropy(m(x), y)


def gpt(rg):
    sys.path.insert(0, str(HERE))
    from transformer import BATCH, make_block

    nn = rg.nn

    class TinyGPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tokens = nn.Embedding(VOCAB, WIDTH)
            self.positions = nn.Embedding(SEQ, WIDTH)
            self.blocks = nn.ModuleList([make_block(nn) for _ in range(2)])
            self.norm = nn.LayerNorm(WIDTH)
            self.head = nn.Linear(WIDTH, VOCAB)

        def forward(self, idx):
            h = self.tokens(idx) + self.positions(rg.arange(SEQ))
            mask = rg.ones(SEQ, SEQ, dtype=rg.bool).triu(1)
            for block in self.blocks:
                h = block(h, mask)
            return self.head(self.norm(h))

    tokens = rg.randint(0, VOCAB, (BATCH, SEQ + 1))
    x, y = tokens[:, :-1], tokens[:, 1:]
    return TinyGPT(), lambda m: nn.functional.cross_entropy(m(x).reshape(-1, VOCAB), y.reshape(-1))


WORKLOADS = {"mlp": mlp, "gpt": gpt}


def worker(args) -> None:
    """One rank: train each workload, time it, and (rank 0) write the numbers to args.json."""
    import numpy as np
    from mpi4py import MPI

    import retrograd as rg
    import retrograd.distributed as dist
    import retrograd.nn.parallel
    from retrograd.nn.parallel import reducer

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    waits = []  # (entered, left) the end-of-backward wait for the all-reduces, on the host's monotonic clock
    untimed = reducer.wait_all

    def timed_wait(*a, **kw) -> None:
        entered = time.perf_counter()
        untimed(*a, **kw)
        waits.append((entered, time.perf_counter()))

    reducer.wait_all = timed_wait
    results = {}
    for name in args.workloads:
        rg.manual_seed(rank)  # each rank its own data (the weights come from rank 0 through DDP)
        model, loss_of = WORKLOADS[name](rg)
        model = retrograd.nn.parallel.DistributedDataParallel(model) if world > 1 else model
        opt = rg.optim.AdamW(model.parameters(), lr=1e-3)
        steps, backward_s = [], []
        for i in range(args.warmup + args.steps):
            if i == args.warmup:
                waits.clear()
            t0 = time.perf_counter()
            opt.zero_grad()
            loss = loss_of(model)
            t1 = time.perf_counter()
            loss.backward()
            t2 = time.perf_counter()
            opt.step()
            if i >= args.warmup:
                steps.append(time.perf_counter() - t0)
                backward_s.append(t2 - t1)
        row = {"step_ms": 1e3 * statistics.median(steps), "backward_ms": 1e3 * statistics.median(backward_s),
               "comm_ms": 0.0, "buckets": 0}
        if world > 1:
            row.update(_exposed(np.array(waits), dist, rg, np))
            flats = [b.flat.copy() for b in model.reducer.buckets]
            comm = model.reducer.group.comm
            reps = []
            for _ in range(args.steps):
                dist.barrier()
                t0 = time.perf_counter()
                for f in flats:
                    MPI.Request.Waitall([comm.Iallreduce(MPI.IN_PLACE, f, op=MPI.SUM)])
                reps.append(time.perf_counter() - t0)
            row["comm_ms"] = 1e3 * statistics.median(reps)
            row["buckets"] = len(flats)
            row["params_equal"] = _replicas_equal(model, dist, np)
        results[name] = row
    if rank == 0:
        Path(args.json).write_text(json.dumps(results))


def _exposed(waits, dist, rg, np) -> dict:
    """Split each end-of-backward wait into waiting for the last rank to finish its backward (skew) and
    waiting for the communication after that (exposed). The ranks share one host's monotonic clock."""
    mine = rg.tensor(waits)
    everyone = [rg.zeros_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(everyone, mine)
    last_entered = rg.stack(everyone).numpy()[:, :, 0].max(axis=0)
    skew = last_entered - waits[:, 0]
    exposed = (waits[:, 1] - last_entered).clip(min=0)
    return {"wait_ms": 1e3 * float(np.median(waits[:, 1] - waits[:, 0])), "skew_ms": 1e3 * float(np.median(skew)),
            "exposed_ms": 1e3 * float(np.median(exposed))}


def _replicas_equal(model, dist, np) -> bool:
    """After training, every rank must hold the same weights."""
    import retrograd as rg

    flat = rg.tensor(np.concatenate([p.detach().numpy().ravel() for p in model.parameters()]))
    copies = [rg.zeros_like(flat) for _ in range(dist.get_world_size())]
    dist.all_gather(copies, flat)
    return all(bool((c == copies[0]).all()) for c in copies)


def run(ranks: int, args) -> dict:
    mpiexec = Path(sys.executable).parent / "mpiexec"
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads),
               MKL_NUM_THREADS=str(args.threads), MPIR_CVAR_ASYNC_PROGRESS=str(int(args.async_progress)))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [str(mpiexec if mpiexec.exists() else "mpiexec"), "-n", str(ranks), sys.executable, __file__,
               "--worker", "--json", str(out), "--steps", str(args.steps), "--warmup", str(args.warmup),
               "--workloads", *args.workloads]
        subprocess.run(cmd, env=env, check=True, timeout=1800)
        return json.loads(out.read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads per rank")
    ap.add_argument("--async-progress", action="store_true",
                    help="MPICH's progress thread (MPIR_CVAR_ASYNC_PROGRESS=1): all-reduces advance without polling")
    ap.add_argument("--workloads", nargs="+", choices=sorted(WORKLOADS), default=["mlp", "gpt"])
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--json", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    print(f"{os.cpu_count()} CPU cores, {args.threads} BLAS thread(s) per rank, {args.steps} steps after "
          f"{args.warmup} warm-up steps")
    print(f"{'workload':8s} {'ranks':>5s} {'step ms':>8s} {'samples/s':>9s} {'backward ms':>11s} {'comm ms':>8s} "
          f"{'wait ms':>7s} {'skew ms':>7s} {'exposed ms':>10s} {'overlap':>7s} {'buckets':>7s} "
          f"{'replicas equal':>14s}")
    batch = {"mlp": 128, "gpt": 16}
    for ranks in args.ranks:
        for name, r in run(ranks, args).items():
            overlap = f"{max(0.0, 1 - r['exposed_ms'] / r['comm_ms']):7.0%}" if r["comm_ms"] else f"{'-':>7s}"
            print(f"{name:8s} {ranks:5d} {r['step_ms']:8.2f} {ranks * batch[name] / r['step_ms'] * 1e3:9.0f} "
                  f"{r['backward_ms']:11.2f} {r['comm_ms']:8.2f} {r.get('wait_ms', 0):7.2f} {r.get('skew_ms', 0):7.2f} "
                  f"{r.get('exposed_ms', 0):10.2f} {overlap} {r['buckets'] or '-':>7} "
                  f"{str(r.get('params_equal', '-')):>14s}")


if __name__ == "__main__":
    main()
