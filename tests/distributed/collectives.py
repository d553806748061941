"""Run by tests/test_distributed.py under `mpiexec -n 2`: every collective once; each rank writes
what it saw to OUT/rank<r>.json for the test to check.

    python tests/distributed/collectives.py OUT
"""
from __future__ import annotations

import json
import sys

import retrograd as rg
import retrograd.distributed as dist
from retrograd.distributed import ReduceOp


def main(out: str) -> None:
    before = dist.is_initialized()
    dist.init_process_group(backend="mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    seen = {"rank": rank, "world": world, "backend": dist.get_backend(), "before": before,
            "after": dist.is_initialized(), "launched": dist.launched_under_mpi(), "main": dist.is_main_process()}
    for op in ReduceOp:
        floating = op not in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR)
        t = rg.tensor([rank + 1.0, -2.0 * rank, 3.0]) if floating else rg.tensor([rank + 1, 6, 3 * rank])
        dist.all_reduce(t, op=op)
        seen[op.name] = t.tolist()
    flags = rg.tensor([rank == 0, True, False])
    dist.all_reduce(flags)  # bool SUM: logical or
    seen["bool_sum"] = flags.tolist()
    half = rg.tensor([rank + 0.5], dtype=rg.bfloat16)
    dist.all_reduce(half, ReduceOp.AVG)
    seen["bf16_avg"] = half.float().tolist()
    t = rg.full((2, 3), float(rank))
    work = dist.all_reduce(t, async_op=True)
    seen["work_wait"] = work.wait()
    seen["async"] = t.tolist()
    seen["async_completed"] = work.is_completed()
    b = rg.arange(4) * (rank + 1) if rank == 1 else rg.zeros(4, dtype=rg.int64)
    dist.broadcast(b, src=1)
    seen["broadcast"] = b.tolist()
    gathered = [rg.zeros(2, 2) for _ in range(world)]
    dist.all_gather(gathered, rg.full((2, 2), rank * 10.0))
    seen["all_gather"] = [g.tolist() for g in gathered]
    dist.barrier()
    try:
        dist.all_reduce(rg.tensor([1, 2]), op=ReduceOp.AVG)
    except ValueError as e:
        seen["avg_int_error"] = str(e)
    try:
        dist.broadcast(rg.zeros(2), src=world)
    except ValueError as e:
        seen["bad_src_error"] = str(e)
    dist.destroy_process_group()
    seen["destroyed"] = not dist.is_initialized()
    with open(f"{out}/rank{rank}.json", "w") as f:
        json.dump(seen, f)


if __name__ == "__main__":
    main(sys.argv[1])
