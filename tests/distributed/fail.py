"""Run by tests/test_distributed.py under `mpiexec -n 2`: DDP training in which rank 1 fails at step 3;
rank 0 must not hang. Rank 0 writes OUT/done only if it finishes all steps (it must not).

    python tests/distributed/fail.py OUT MODE
MODE: kill (rank 1 is killed by SIGKILL), raise (rank 1 raises), hang (rank 1 stops communicating).
"""
from __future__ import annotations

import os
import signal
import sys
import time

import retrograd as rg
import retrograd.distributed as dist
import retrograd.nn.parallel
from retrograd import nn


def main(out: str, mode: str) -> None:
    dist.init_process_group("mpi")
    rank = dist.get_rank()
    model = retrograd.nn.parallel.DistributedDataParallel(nn.Linear(4, 2))
    opt = rg.optim.SGD(model.parameters(), lr=0.1)
    for step in range(200):
        if rank == 1 and step == 3:
            if mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            elif mode == "raise":
                raise ValueError("rank 1 fails on purpose")
            else:
                time.sleep(60)
        opt.zero_grad()
        model(rg.randn(8, 4)).square().mean().backward()
        opt.step()
        time.sleep(0.01)
    with open(f"{out}/done{rank}", "w") as f:
        f.write("finished")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
