"""`python -m retrograd train` under `mpiexec -n 2`: one rank prints and writes, the ranks hold one model, the
run equals a single process on the same global batches (with and without accumulation), a failing rank stops
the job, and its checkpoints resume under MPI and in a single process.

The runs go through tests/distributed/cli.py, which runs the command line and reports what each rank did. The
single-process reference reads the ranks' batches side by side: with per-rank batch B on 2 ranks, each optimizer
step sees the samples of one batch of 2B in that order, and both average over equally many samples per rank.
"""
from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
from test_distributed import HERE, mpiexec, needs_mpi

import retrograd as rg
from retrograd.__main__ import main
from retrograd.train import HISTORY_KEYS, Trainer
from retrograd.train.jobs import JOBS
from retrograd.train.models import digits_mlp
from retrograd.utils.data import DataLoader, DistributedSampler, Sampler

pytestmark = needs_mpi
HIDDEN, EPOCHS = 32, 2
SETTINGS = ("digits-mlp", "--epochs", str(EPOCHS), "--hidden", str(HIDDEN), "--dropout", "0")  # no dropout: the
# ranks draw masks of half the batch each, a single process one mask for the whole batch


def train(report: Path, out: Path, *options: str, fault: str = "none", flags: tuple = (), timeout: float = 60):
    """`mpiexec -n 2 python -m retrograd train SETTINGS options --out out`, observed by cli.py into `report`."""
    report.mkdir(parents=True, exist_ok=True)
    return mpiexec(HERE / "cli.py", report, fault, "train", *SETTINGS, *options, "--out", out,
                   flags=("-prepend-rank", *flags), timeout=timeout, RETROGRAD_DIST_TIMEOUT="3")


def ok(proc) -> str:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def reports(report: Path) -> list[dict]:
    return [json.loads((report / f"rank{r}.json").read_text()) for r in (0, 1)]


class SideBySide(Sampler):
    """The two ranks' DistributedSampler shares, interleaved: the order of the 2-rank run's global batches."""

    def __init__(self, n: int, seed: int = 0) -> None:
        self.shares = [DistributedSampler(range(n), 2, rank, shuffle=True, seed=seed) for rank in (0, 1)]
        self.epochs = []

    def __iter__(self):
        return iter([i for pair in zip(*self.shares) for i in pair])

    def __len__(self) -> int:
        return 2 * len(self.shares[0])

    def set_epoch(self, epoch: int) -> None:
        self.epochs.append(epoch)
        for share in self.shares:
            share.set_epoch(epoch)


def reference(batch_size: int, accum: int) -> Trainer:
    """The job in one process (rg.manual_seed(0) as the runner does), on the 2-rank run's global batches."""
    rg.manual_seed(0)
    args = argparse.Namespace(batch_size=batch_size, lr=JOBS["digits-mlp"].defaults["lr"], seed=0, accum=accum,
                              epochs=EPOCHS, hidden=HIDDEN, dropout=0.0, weight_decay=0.01)
    setup = JOBS["digits-mlp"].build(args)
    data = setup.train_loader.dataset
    loader = DataLoader(data, batch_size=batch_size, sampler=SideBySide(len(data)))
    assert len(loader) == len(setup.train_loader)  # the one-cycle schedule was sized for the same steps
    trainer = Trainer(setup.model, setup.optimizer, scheduler=setup.scheduler, accum_steps=accum, log=None)
    trainer.fit(loader, EPOCHS, setup.val_loader)
    assert loader.sampler.epochs == list(range(EPOCHS))  # a new order each epoch, on the ranks as here
    return trainer


def assert_matches(checkpoint: Path, ref: Trainer) -> None:
    state = rg.load(checkpoint)
    for name, value in ref.module.state_dict().items():
        np.testing.assert_allclose(state["model"][name].numpy(), value.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)
    for key in ("step_loss", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "epoch_end_step"):
        np.testing.assert_allclose(state["history"][key], ref.history[key], rtol=1e-4, atol=1e-6, err_msg=key)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """The plain 2-rank run: per-rank batch 16, no accumulation."""
    root = tmp_path_factory.mktemp("base")
    proc = train(root / "report", root / "out", "--batch-size", "16", "--no-progress")
    return root, ok(proc)


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """Rank 1 is killed as step 50 begins (epoch 2, batch 5); rank 0 wrote checkpoints at steps 24, 45 and 48."""
    root = tmp_path_factory.mktemp("killed")
    start = time.monotonic()
    proc = train(root / "report", root / "out", "--batch-size", "16", "--no-progress", "--checkpoint-every", "24",
                 fault="kill:50")
    return root, proc, time.monotonic() - start


def test_rank0_alone_prints_and_writes_the_model_every_rank_holds(base):
    root, out = base
    lines = out.strip().splitlines()
    assert all(line.startswith("[0] ") for line in lines), out  # hydra's -prepend-rank names the printing rank
    assert len(re.findall(r"epoch 1/2 ", out)) == 1 and len(re.findall(r"final test loss", out)) == 1
    assert "2 ranks, --batch-size 16 each" in out
    r0, r1 = reports(root / "report")
    assert (r0["saves"], r0["plots"], r1["saves"], r1["plots"]) == (EPOCHS, 1, 0, 0)
    assert sorted(p.name for p in (root / "out").iterdir()) == ["checkpoint.safetensors", "curves.png"]
    assert r0["hashes"] == r1["hashes"] and r0["hashes"][0] == r0["hashes"][1] == r0["checkpoint_hash"]
    assert r0["synced_forwards"] == r1["synced_forwards"] == EPOCHS * 45  # 719 samples per rank in batches of 16
    state = rg.load(root / "out" / "checkpoint.safetensors")
    digits_mlp(HIDDEN).load_state_dict(state["model"])  # no "module." prefix: loads without DDP
    assert state["progress"]["world_size"] == 2 and state["progress"]["step"] == EPOCHS * 45


def test_two_ranks_equal_one_process_on_the_same_global_batches(base):
    root, out = base
    ref = reference(batch_size=32, accum=1)
    assert_matches(root / "out" / "checkpoint.safetensors", ref)
    accuracy = float(re.search(r"test accuracy (\d+\.\d+)%", out).group(1))
    assert accuracy == pytest.approx(100 * ref.history["val_accuracy"][-1], abs=0.01)


def test_accumulation_under_mpi_equals_one_process_and_averages_once_per_step(tmp_path):
    proc = train(tmp_path / "report", tmp_path / "out", "--batch-size", "8", "--accum", "2")  # progress bar on
    ok(proc)
    assert "epoch 1/2" in proc.stderr and "[1]" not in proc.stderr  # the bar is rank 0's alone
    r0, r1 = reports(tmp_path / "report")
    assert r0["synced_forwards"] == r1["synced_forwards"] == EPOCHS * 45  # 90 micro-batches: 45 under no_sync
    assert r0["hashes"][0] == r0["hashes"][1] == r0["checkpoint_hash"]
    assert_matches(tmp_path / "out" / "checkpoint.safetensors", reference(batch_size=16, accum=2))


def test_a_killed_rank_stops_the_job(killed):
    root, proc, seconds = killed
    assert proc.returncode != 0 and seconds < 30
    assert "final test loss" not in proc.stdout and not (root / "report" / "rank0.json").exists()
    assert sorted(p.name for p in (root / "report").iterdir()) == [f"step{s}.safetensors" for s in (24, 45, 48)]


@pytest.mark.parametrize("fault, flags, expect", [
    ("kill:50", ("-disable-auto-cleanup",), ""),  # rank 0's deadline (3 s) ends the job; the abort cuts its output
    ("raise:50", (), "[1] python -m retrograd train digits-mlp: error: rank 1 fails on purpose"),
])
def test_a_failing_rank_stops_the_job_without_the_launchers_help(tmp_path, fault, flags, expect):
    start = time.monotonic()
    proc = train(tmp_path / "report", tmp_path / "out", "--batch-size", "16", "--no-progress", fault=fault,
                 flags=flags, timeout=45)
    assert proc.returncode != 0 and time.monotonic() - start < 30
    assert "final test loss" not in proc.stdout
    assert expect in proc.stderr or expect.replace("[1] ", "[1] [rank 1] ") in proc.stderr, proc.stderr


def test_a_mid_epoch_checkpoint_resumes_under_mpi_to_the_uninterrupted_run(base, killed, tmp_path):
    root, _, _ = killed
    out = ok(train(tmp_path / "report", tmp_path / "out", "--batch-size", "16", "--no-progress",
                   "--resume", str(root / "report" / "step48.safetensors")))
    assert "resumed from" in out and "at epoch 1, step 48" in out
    full, resumed = (rg.load(d / "checkpoint.safetensors") for d in (base[0] / "out", tmp_path / "out"))
    for key in HISTORY_KEYS:
        if key != "samples_per_s":
            assert resumed["history"][key] == full["history"][key], key
    for name, value in full["model"].items():
        np.testing.assert_array_equal(resumed["model"][name].numpy(), value.numpy(), err_msg=name)


def test_an_mpi_checkpoint_resumes_in_one_process(killed, tmp_path, capsys):
    root, _, _ = killed
    options = [*SETTINGS, "--batch-size", "32", "--no-progress", "--out", str(tmp_path)]
    main(["train", *options, "--resume", str(root / "report" / "step45.safetensors")])  # the end of epoch 1
    out = capsys.readouterr().out
    assert "at epoch 1, step 45" in out and float(re.search(r"test accuracy (\d+\.\d+)%", out).group(1)) > 60
    state = rg.load(tmp_path / "checkpoint.safetensors")
    assert (state["progress"]["step"], state["progress"]["world_size"]) == (90, 1)
    with pytest.raises(SystemExit) as exit_info:  # mid-epoch, its batch counts are those of 2 ranks
        main(["train", *options, "--resume", str(root / "report" / "step48.safetensors")])
    assert exit_info.value.code == 2 and "resume it on 2 (mpiexec -n 2)" in capsys.readouterr().err


def test_charlm_under_mpi_prints_one_sample(tmp_path):
    proc = mpiexec("-m", "retrograd", "train", "charlm", "--steps", "4", "--eval-every", "2", "--block-size", "16",
                   "--dim", "16", "--depth", "1", "--heads", "2", "--batch-size", "8", "--accum", "2",
                   "--val-windows", "8", "--sample-length", "40", "--no-progress", "--out", tmp_path)
    out = ok(proc)
    assert len(re.findall(r"^epoch \d/2 ", out, re.M)) == 2 and out.count("--- a sample of 40 characters") == 1
    assert rg.load(tmp_path / "checkpoint.safetensors")["progress"]["step"] == 4
