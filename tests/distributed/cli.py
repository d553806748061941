"""Run by tests/test_train_mpi.py under `mpiexec -n 2`: `python -m retrograd train ...` as the command line runs
it, observed from inside. Each rank writes REPORT/rank<r>.json: how many checkpoints and plots it wrote, how many
forwards averaged gradients, and the hash of every rank's final model (all-gathered) and of the checkpoint's.
Rank 0 also copies each checkpoint it writes to REPORT/step<N>.safetensors.

    python tests/distributed/cli.py REPORT FAULT train JOB [options...]
FAULT: none, kill:K (rank 1 is killed by SIGKILL as optimizer step K begins), raise:K (rank 1 raises ValueError).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sys

import numpy as np

import retrograd as rg
import retrograd.__main__ as cli
import retrograd.distributed as dist
from retrograd.nn.parallel import reducer
from retrograd.train import jobs, loop


def _digest(state: dict) -> list[int]:
    h = hashlib.sha256()
    for name in sorted(state):
        h.update(name.encode())
        h.update(np.ascontiguousarray(state[name].numpy()).tobytes())
    return list(h.digest())


def main(report: str, fault: str, argv: list[str]) -> None:
    counts = {"saves": 0, "plots": 0, "synced_forwards": 0}
    results = []

    def save(state, path):
        counts["saves"] += 1
        original_save(state, path)
        shutil.copy(path, os.path.join(report, f"step{state['progress']['step']}.safetensors"))

    def plot_history(*args, **kwargs):
        counts["plots"] += 1
        return original_plot(*args, **kwargs)

    def prepare_for_forward(self):
        counts["synced_forwards"] += 1
        return original_prepare(self)

    def optimizer_step(self):
        if fault != "none" and dist.get_rank() == 1 and self.step + 1 == int(fault.split(":")[1]):
            if fault.startswith("kill"):
                os.kill(os.getpid(), signal.SIGKILL)
            raise ValueError("rank 1 fails on purpose")
        original_step(self)

    def run_job(name, args):
        results.append(original_run(name, args))
        return results[-1]

    original_save, loop.save = loop.save, save
    original_plot, jobs.plot_history = jobs.plot_history, plot_history
    original_prepare, reducer.Reducer.prepare_for_forward = reducer.Reducer.prepare_for_forward, prepare_for_forward
    original_step, loop.Trainer._optimizer_step = loop.Trainer._optimizer_step, optimizer_step
    original_run, cli.run_job = cli.run_job, run_job
    cli.main(argv)  # joins the process group, trains, leaves it

    dist.init_process_group("mpi")  # a new group, to compare what the ranks hold
    rank = dist.get_rank()
    mine = rg.tensor(_digest(results[0]["model"].state_dict()), dtype=rg.uint8)
    everyone = [rg.zeros(32, dtype=rg.uint8) for _ in range(dist.get_world_size())]
    dist.all_gather(everyone, mine)
    dist.barrier()  # rank 0's checkpoint is complete
    out = argv[argv.index("--out") + 1]
    checkpoint = rg.load(os.path.join(out, "checkpoint.safetensors"))
    with open(os.path.join(report, f"rank{rank}.json"), "w") as f:
        json.dump({**counts, "hashes": [t.tolist() for t in everyone],
                   "checkpoint_hash": _digest(checkpoint["model"])}, f)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
