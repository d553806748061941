"""The bundled training jobs of `python -m retrograd train <job>`: what each trains on and how, and the runner
that trains one with a `Trainer`, prints its final metrics and writes its checkpoint and loss-curve plot.

Launched by an MPI launcher (`mpiexec -n N python -m retrograd train ...`), the runner joins the ranks into a
process group, the jobs wrap their model in `DistributedDataParallel` and give each rank its share of the
training data (`DistributedSampler`: `--batch-size` is per rank) and of the evaluation data, and only rank 0
prints and writes."""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .. import distributed as dist
from .. import random
from ..nn import functional as F
from ..nn.modules.module import Module
from ..optim import AdamW
from ..optim.lr_scheduler import CosineAnnealingLR, LinearLR, OneCycleLR, SequentialLR
from ..profiler import profile
from ..serialization import CheckpointError
from ..utils.data import DataLoader, DistributedSampler, RandomSampler, Sampler, Subset
from .loop import Trainer
from .models import CharTransformer, digits_cnn, digits_mlp, sequence_cross_entropy
from .plot import plot_history


@dataclasses.dataclass
class Setup:
    """A job, built: what the Trainer gets, and what to print before and after."""

    model: Module
    optimizer: Any
    scheduler: Any
    train_loader: Iterable
    val_loader: Iterable
    epochs: int
    loss_fn: Callable = F.cross_entropy
    description: str = ""
    val_name: str = "validation"  # what the validation loader holds, for the final line ("test")
    finish: Callable[[], None] | None = None  # called after training (charlm prints a sample)


@dataclasses.dataclass(frozen=True)
class Job:
    """A named job: its help text, its default settings, its own options, and how to build it."""

    help: str
    defaults: dict[str, Any]
    build: Callable[[argparse.Namespace], Setup]
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None


def _optimizer_steps(loader: Iterable, accum: int) -> int:
    return math.ceil(len(loader) / accum)


# ---- data-parallel pieces (used when the runner has joined an MPI job) ---------------------------------------
def _replicated(model: Module) -> Module:
    """The model, wrapped in DistributedDataParallel when this process is one rank of several."""
    if not dist.is_initialized():
        return model
    from ..nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model)


def _shard(dataset: Any) -> Any:
    """This rank's share of an evaluation set: every world-size-th sample (the Trainer sums the ranks' totals)."""
    if not dist.is_initialized():
        return dataset
    return Subset(dataset, range(dist.get_rank(), len(dataset), dist.get_world_size()))


class _FirstOfEpoch(Sampler):
    """The first `num_samples` indices of this rank's share of each epoch (a DistributedSampler's): random
    windows for a job whose "epoch" is a number of steps, different on every rank and resumable by epoch."""

    def __init__(self, sampler: DistributedSampler, num_samples: int) -> None:
        self.sampler = sampler
        self.num_samples = min(num_samples, len(sampler))

    def __iter__(self) -> Iterator[int]:
        return itertools.islice(iter(self.sampler), self.num_samples)

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)


# ---- digits ---------------------------------------------------------------------------------------------
def _digits(args: argparse.Namespace, model: Module) -> Setup:
    """scikit-learn's digits (a fixed stratified 80/20 split), AdamW with a one-cycle schedule."""
    from ..datasets import load_digits, split_train_test

    images, labels = load_digits()
    train, test = split_train_test(images, labels, test_fraction=0.2, seed=0, stratify=labels)
    generator = random.Generator().manual_seed(args.seed)  # also under MPI: checkpoints then resume either way
    if dist.is_initialized():
        train_loader = DataLoader(train, batch_size=args.batch_size, generator=generator,
                                  sampler=DistributedSampler(train, shuffle=True, seed=args.seed))
    else:
        train_loader = DataLoader(train, batch_size=args.batch_size, shuffle=True, generator=generator)
    test_loader = DataLoader(_shard(test), batch_size=512)
    model = _replicated(model)
    optimizer = AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    scheduler = OneCycleLR(optimizer, max_lr=args.lr, total_steps=args.epochs * _optimizer_steps(train_loader,
                                                                                                   args.accum))
    n_params = sum(p.numel() for p in model.parameters())
    return Setup(model, optimizer, scheduler, train_loader, test_loader, args.epochs,
                 description=f"{len(train):,} training and {len(test):,} test images of 8x8 digits, "
                             f"{n_params:,} parameters", val_name="test")


def _add_digits_arguments(p: argparse.ArgumentParser, dropout: float) -> None:
    p.add_argument("--weight-decay", type=float, default=0.01, help="AdamW's weight decay (default: %(default)s)")
    p.add_argument("--dropout", type=float, default=dropout, help="dropout probability (default: %(default)s)")


def _build_digits_mlp(args: argparse.Namespace) -> Setup:
    return _digits(args, digits_mlp(args.hidden, args.dropout))


def _build_digits_cnn(args: argparse.Namespace) -> Setup:
    return _digits(args, digits_cnn(args.channels, args.dropout))


def _add_mlp_arguments(p: argparse.ArgumentParser) -> None:
    _add_digits_arguments(p, dropout=0.1)
    p.add_argument("--hidden", type=int, default=256, help="units per hidden layer (default: %(default)s)")


def _add_cnn_arguments(p: argparse.ArgumentParser) -> None:
    _add_digits_arguments(p, dropout=0.2)
    p.add_argument("--channels", type=int, default=32, help="channels of the first conv layer (default: %(default)s)")


# ---- character-level language model ---------------------------------------------------------------------
def _build_charlm(args: argparse.Namespace) -> Setup:
    """The bundled Shakespeare (90% train, 10% validation), random windows, AdamW with warmup then cosine decay."""
    from ..datasets import CharDataset, load_text

    if args.steps < 1 or args.eval_every < 1 or args.steps % args.eval_every:
        raise ValueError(f"charlm: --steps ({args.steps}) must be a positive multiple of --eval-every "
                         f"({args.eval_every})")
    text = load_text()
    split = int(0.9 * len(text))
    chars = sorted(set(text))
    train = CharDataset(text[:split], args.block_size, chars)
    val = CharDataset(text[split:], args.block_size, chars)
    generator = random.Generator().manual_seed(args.seed)
    windows = args.eval_every * args.accum * args.batch_size  # one "epoch" = eval_every optimizer steps
    if dist.is_initialized():
        sampler = _FirstOfEpoch(DistributedSampler(train, shuffle=True, seed=args.seed), windows)
    else:
        sampler = RandomSampler(train, num_samples=windows, generator=generator)
    train_loader = DataLoader(train, batch_size=args.batch_size, generator=generator, sampler=sampler)
    val_windows = range(0, len(val), args.block_size)[:args.val_windows]  # disjoint windows
    val_loader = DataLoader(_shard(Subset(val, list(val_windows))), batch_size=128)
    model = CharTransformer(train.vocab_size, args.block_size, args.dim, args.depth, args.heads, args.dropout)
    trained = _replicated(model)
    optimizer = AdamW(trained.parameters(), lr=args.lr, betas=(0.9, 0.99), weight_decay=0.01)
    warmup = max(1, args.steps // 10)
    scheduler = SequentialLR(optimizer, [LinearLR(optimizer, start_factor=0.1, total_iters=warmup),
                                         CosineAnnealingLR(optimizer, T_max=max(1, args.steps - warmup),
                                                           eta_min=args.lr / 10)], milestones=[warmup])

    def finish() -> None:
        if not dist.is_main_process():
            return
        prompt = train.encode("\n").view(1, -1)
        ids = model.generate(prompt, args.sample_length, temperature=args.temperature,
                             generator=random.Generator().manual_seed(args.seed))
        print(f"--- a sample of {args.sample_length} characters (temperature {args.temperature}) ---")
        print(train.decode(ids[0, 1:]))

    n_params = sum(p.numel() for p in model.parameters())
    return Setup(trained, optimizer, scheduler, train_loader, val_loader, args.steps // args.eval_every,
                 loss_fn=sequence_cross_entropy, finish=finish,
                 description=f"{len(text):,} characters of Shakespeare ({train.vocab_size} distinct), windows of "
                             f"{args.block_size}, {n_params:,} parameters, {args.steps} steps")


def _add_charlm_arguments(p: argparse.ArgumentParser) -> None:
    add = p.add_argument
    add("--steps", type=int, default=500, help="optimizer steps (default: %(default)s)")
    add("--eval-every", type=int, default=100, help="optimizer steps between evaluations (default: %(default)s)")
    add("--block-size", type=int, default=64, help="characters of context (default: %(default)s)")
    add("--dim", type=int, default=64, help="embedding width (default: %(default)s)")
    add("--depth", type=int, default=2, help="transformer blocks (default: %(default)s)")
    add("--heads", type=int, default=4, help="attention heads (default: %(default)s)")
    add("--dropout", type=float, default=0.0, help="dropout probability (default: %(default)s)")
    add("--val-windows", type=int, default=256, help="validation windows evaluated (default: %(default)s)")
    add("--sample-length", type=int, default=300, help="characters generated at the end (default: %(default)s)")
    add("--temperature", type=float, default=0.8, help="sampling temperature (default: %(default)s)")


JOBS: dict[str, Job] = {
    "digits-mlp": Job("an MLP on scikit-learn's 8x8 digits (about 98 percent test accuracy in seconds)",
                      {"epochs": 20, "batch_size": 32, "lr": 3e-3, "clip": None},
                      _build_digits_mlp, _add_mlp_arguments),
    "digits-cnn": Job("a small CNN on scikit-learn's 8x8 digits",
                      {"epochs": 10, "batch_size": 32, "lr": 3e-3, "clip": None},
                      _build_digits_cnn, _add_cnn_arguments),
    "charlm": Job("a small causal transformer on Shakespeare, character by character; prints a sample",
                  {"batch_size": 32, "lr": 6e-3, "clip": 1.0},
                  _build_charlm, _add_charlm_arguments),
}


def blas_threads(n: int) -> contextlib.AbstractContextManager:
    """Limit the BLAS library to `n` threads inside the block (0: leave it as it is). The bundled models are
    small, and extra BLAS threads on small matrices cost more than they give, badly so on a busy machine."""
    if n == 0:
        return contextlib.nullcontext()
    if n < 0:
        raise ValueError(f"--threads must be a positive number of threads, or 0 for the BLAS default; got {n}")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise ImportError("--threads needs threadpoolctl (it comes with scikit-learn): pip install "
                          "'retrograd[train]', or pass --threads 0") from None
    return threadpool_limits(n, user_api="blas")


def run_job(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Train job `name` with the command line's settings; return its history, final validation metrics and
    trained model. Under an MPI launcher every rank runs it, in one process group."""
    if args.accum < 1:
        raise ValueError(f"--accum must be a positive number of micro-batches, got {args.accum}")
    parallel = dist.launched_under_mpi()
    if parallel:
        dist.init_process_group("mpi")
    with blas_threads(args.threads):
        result = _run(name, args)
    if parallel:  # not after a failure: a rank left waiting needs the abort that a broken group triggers at exit
        dist.destroy_process_group()
    return result


def _silent(*args: Any, **kwargs: Any) -> None:
    """`print` on the ranks that do not print."""


def _run(name: str, args: argparse.Namespace) -> dict[str, Any]:
    say = print if dist.is_main_process() else _silent
    out = args.out or os.path.join("runs", name)
    os.makedirs(out, exist_ok=True)
    random.manual_seed(args.seed)
    setup = JOBS[name].build(args)
    checkpoint = os.path.join(out, "checkpoint.safetensors")
    trainer = Trainer(setup.model, setup.optimizer, setup.loss_fn, scheduler=setup.scheduler,
                      accum_steps=args.accum, clip_grad_norm=args.clip or None, checkpoint_path=checkpoint,
                      checkpoint_every=args.checkpoint_every, progress=args.progress)
    ranks = dist.get_world_size() if dist.is_initialized() else 1
    say(f"{name}: {setup.description}" + (f"; {ranks} ranks, --batch-size {args.batch_size} each" if ranks > 1
                                          else ""))
    if args.resume:
        try:
            trainer.load_checkpoint(args.resume)
        except CheckpointError:
            raise
        except RuntimeError as e:  # the model's load_state_dict: different keys or shapes
            raise ValueError(f"cannot resume from {args.resume}: {e}\n(resume with the model options of the run "
                             "that wrote it)") from None
        say(f"resumed from {args.resume} at epoch {trainer.epoch}, step {trainer.step}")
    start = time.perf_counter()
    with profile() if args.profile else contextlib.nullcontext() as prof:
        history = trainer.fit(setup.train_loader, setup.epochs, setup.val_loader)
    elapsed = time.perf_counter() - start
    if prof is not None and dist.is_main_process():
        print(prof.table(row_limit=25))
        trace = os.path.join(out, "trace.json")
        prof.export_chrome_trace(trace)
        print(f"wrote {trace} (open it in Perfetto or chrome://tracing)")
    final = {"loss": history["val_loss"][-1]}
    if history["val_accuracy"]:
        final["accuracy"] = history["val_accuracy"][-1]
    what = setup.val_name
    line = f"final {what} loss {final['loss']:.4f}"
    if "accuracy" in final:
        line += f", {what} accuracy {100 * final['accuracy']:.2f}%"
    say(f"{line} after {trainer.epoch} epochs, {trainer.step} steps ({elapsed:.1f} s)")
    if dist.is_main_process():
        plot = plot_history(history, os.path.join(out, "curves.png"), title=name)
        print(f"wrote {checkpoint} and {plot}")
    if setup.finish is not None:
        setup.finish()
    return {"history": history, "final": final, "model": trainer.module}


__all__ = ["Job", "Setup", "JOBS", "run_job", "blas_threads"]
