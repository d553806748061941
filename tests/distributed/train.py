"""Run by tests/test_distributed.py under `mpiexec -n 2`: a few SGD steps of a small MLP with
DistributedDataParallel; each rank saves its parameters to OUT/rank<r>.npz.

    python tests/distributed/train.py OUT MODE
MODE: sync (one batch per step), accumulate (two micro-batches per step, the first under no_sync),
unused (a parameter outside the graph, find_unused_parameters=True), unused_error (the same without it).
"""
from __future__ import annotations

import sys

import numpy as np

import retrograd as rg
import retrograd.distributed as dist
import retrograd.nn.parallel
from retrograd import nn

STEPS, BATCH, MICRO = 4, 8, 2  # BATCH samples per rank and per micro-batch


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(6, 16)
        self.fc2 = nn.Linear(16, 16)
        self.fc3 = nn.Linear(16, 3)
        self.spare = nn.Linear(16, 3)  # used only in the modes that do not test unused parameters

    def forward(self, x, use_spare: bool = True):
        h = self.fc2(self.fc1(x).tanh()).tanh()
        return self.fc3(h) + self.spare(h) if use_spare else self.fc3(h)


def batches(world: int):
    """The global batches, the same on every rank (rank r reads rows r*BATCH:(r+1)*BATCH)."""
    gen = np.random.default_rng(0)
    for _ in range(STEPS * MICRO):
        yield (gen.standard_normal((world * BATCH, 6)).astype(np.float32),
               gen.integers(0, 3, world * BATCH))


def main(out: str, mode: str) -> None:
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    rg.manual_seed(100 + rank)  # different initial weights per rank: DDP must broadcast rank 0's
    net = Net()
    unused = mode.startswith("unused")
    ddp = retrograd.nn.parallel.DistributedDataParallel(net, bucket_cap_mb=0.0005,  # several buckets
                                                        find_unused_parameters=mode == "unused")
    np.savez(f"{out}/init{rank}.npz", **{k: v.numpy() for k, v in net.state_dict().items()})
    opt = rg.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    micro = MICRO if mode == "accumulate" else 1
    data = batches(world)
    try:
        for _ in range(STEPS):
            opt.zero_grad()
            for k in range(micro):
                x, y = next(data)
                x, y = rg.tensor(x[rank * BATCH:(rank + 1) * BATCH]), rg.tensor(y[rank * BATCH:(rank + 1) * BATCH])
                if k < micro - 1:
                    with ddp.no_sync():
                        nn.functional.cross_entropy(ddp(x), y).backward()
                    local_grad = net.fc1.weight.grad.numpy().copy()  # not averaged: differs between the ranks
                else:
                    nn.functional.cross_entropy(ddp(x, use_spare=not unused), y).backward()
            opt.step()
    except RuntimeError as e:
        with open(f"{out}/error{rank}.txt", "w") as f:
            f.write(str(e))
        return
    np.savez(f"{out}/rank{rank}.npz", **{k: v.numpy() for k, v in net.state_dict().items()},
             spare_grad_is_none=np.array(net.spare.weight.grad is None),
             local_grad=local_grad if micro > 1 else np.zeros(0))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
