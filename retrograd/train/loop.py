"""The training loop for the common case: `Trainer` and `fit`.

Each optimizer step: forward, loss and backward over `accum_steps` micro-batches (each loss divided by the
number of micro-batches in its group, so the gradients are those of the mean), optional gradient clipping,
`optimizer.step()`, and the LR schedule (per step, or per epoch). After each epoch: evaluation on a
validation loader (loss, and accuracy for classification outputs), one log line, a checkpoint.

A checkpoint (written with `retrograd.save`, atomically) holds the model, optimizer and scheduler state, the
step/epoch/batch counters and running epoch totals, the history, and the random state: `retrograd.random`'s
default generator and the train loader's `generator`, now and at the start of the epoch. Resuming mid-epoch
restores the epoch-start state, replays the loader's order and skips the batches already done, so a resumed
run gives the same numbers as an uninterrupted one.

Data-parallel training: give a `DistributedDataParallel` model and a loader whose sampler is a
`DistributedSampler` (its `set_epoch` is called each epoch). Micro-batches before the last of a group run under
`no_sync()`; each optimizer step sums the step's loss and totals over the ranks, and evaluation sums its totals,
so the history and every decision taken from it (ReduceLROnPlateau) are the same on every rank. Only rank 0
logs, shows the progress bar and writes checkpoints, which hold the model without its wrapper.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .. import random
from ..autograd import no_grad
from ..dtypes import float64
from ..nn import functional as F
from ..nn.modules.module import Module
from ..nn.utils import clip_grad_norm_
from ..ops.creation import tensor
from ..optim.lr_scheduler import ReduceLROnPlateau
from ..serialization import load, save
from ..tensor import Tensor
from .progress import ProgressBar

HISTORY_KEYS = ("step_loss", "lr", "grad_norm", "epoch_end_step", "train_loss", "train_accuracy", "val_loss",
                "val_accuracy", "samples_per_s")


@dataclasses.dataclass
class Totals:
    """Sums over the batches of a pass: loss weighted by batch size, accuracy counts, time."""

    loss: float = 0.0
    samples: int = 0
    correct: int = 0
    counted: int = 0
    seconds: float = 0.0

    def add(self, output: Tensor, targets: Tensor, loss: float) -> None:
        n = _batch_size(targets)
        self.loss += loss * n
        self.samples += n
        if _is_classification(output, targets):
            self.correct += int((output.argmax(-1) == targets).sum().item())
            self.counted += targets.numel()

    def merge(self, other: Totals) -> None:
        """Add another pass's sums (not its time)."""
        self.loss += other.loss
        self.samples += other.samples
        self.correct += other.correct
        self.counted += other.counted

    def summary(self) -> dict[str, float]:
        """Mean loss, and accuracy when the outputs were class scores."""
        if not self.samples:
            raise ValueError("Trainer: the data loader gave no batches")
        out = {"loss": self.loss / self.samples}
        if self.counted:
            out["accuracy"] = self.correct / self.counted
        return out


def _batch_size(targets: Any) -> int:
    return targets.shape[0] if isinstance(targets, Tensor) and targets.dim() else 1


def _is_classification(output: Tensor, targets: Any) -> bool:
    """Class scores (..., C) against integer labels (...): accuracy is defined."""
    return (isinstance(output, Tensor) and isinstance(targets, Tensor) and not targets.dtype.is_floating_point
            and output.dim() == targets.dim() + 1 and tuple(output.shape[:-1]) == tuple(targets.shape))


def _summed(totals: Totals, *extra: float) -> tuple[Totals, list[float]]:
    """`totals` (and `extra` numbers) summed over the ranks of the process group, in one all-reduce."""
    from ..distributed import all_reduce

    values = tensor([totals.loss, totals.samples, totals.correct, totals.counted, *extra], dtype=float64)
    all_reduce(values)
    loss, samples, correct, counted, *rest = values.tolist()
    return Totals(loss, round(samples), round(correct), round(counted), totals.seconds), rest


def _set_epoch(loader: Iterable, epoch: int) -> None:
    """Tell the loader's sampler which epoch starts (DistributedSampler shuffles by seed + epoch)."""
    set_epoch = getattr(getattr(loader, "sampler", None), "set_epoch", None)
    if callable(set_epoch):
        set_epoch(epoch)


def _length(loader: Iterable) -> int | None:
    try:
        return len(loader)
    except TypeError:
        return None


class Trainer:
    """Trains `model` with `optimizer` on batches `(inputs, targets)`: `trainer.fit(train_loader, epochs,
    val_loader)` returns the history (lists per optimizer step and per epoch, see `HISTORY_KEYS`).

    - `loss_fn(output, targets)`: a scalar loss (default `F.cross_entropy`).
    - `scheduler`, stepped every optimizer step (`scheduler_interval="step"`) or every epoch (`"epoch"`;
      `ReduceLROnPlateau` gets the validation loss, else the train loss).
    - `accum_steps`: micro-batches per optimizer step. `clip_grad_norm`: the max total gradient norm.
    - `checkpoint_path`: written at the end of each epoch and every `checkpoint_every` optimizer steps;
      `load_checkpoint(path)` resumes from one.
    - `progress`: a tqdm bar per epoch (loss, samples/s). `log`: called with one line per epoch (None: quiet).
    - `device`: where batches are moved (the model should already be there).

    With a `DistributedDataParallel` model every rank runs the loop; `module` is the model without the wrapper.
    `evaluate` and `save_checkpoint` are then collective in effect: every rank calls them (only rank 0 writes).
    """

    def __init__(self, model: Module, optimizer: Any, loss_fn: Callable[[Any, Any], Tensor] = F.cross_entropy, *,
                 scheduler: Any = None, scheduler_interval: str = "step", accum_steps: int = 1,
                 clip_grad_norm: float | None = None, checkpoint_path: str | os.PathLike | None = None,
                 checkpoint_every: int | None = None, progress: bool = False,
                 log: Callable[[str], Any] | None = print, device: Any = None) -> None:
        if scheduler_interval not in ("step", "epoch"):
            raise ValueError(f"Trainer: scheduler_interval must be 'step' or 'epoch', got {scheduler_interval!r}")
        for name, value in (("accum_steps", accum_steps), ("checkpoint_every", checkpoint_every)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ValueError(f"Trainer: {name} must be a positive int, got {value!r}")
        if clip_grad_norm is not None and not clip_grad_norm > 0:
            raise ValueError(f"Trainer: clip_grad_norm must be a positive number or None, got {clip_grad_norm!r}")
        if checkpoint_every is not None and checkpoint_path is None:
            raise ValueError("Trainer: checkpoint_every needs a checkpoint_path to write to")
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self._ddp, self._world, self._main = _replication(model)
        self.module = model if self._ddp is None else self._ddp.module
        self.scheduler, self.scheduler_interval = scheduler, scheduler_interval
        self.accum_steps, self.clip_grad_norm = accum_steps, clip_grad_norm
        self.checkpoint_path, self.checkpoint_every = checkpoint_path, checkpoint_every
        self.progress, self.log, self.device = progress and self._main, log if self._main else None, device
        self.step = 0  # optimizer steps taken
        self.epoch = 0  # epochs completed
        self.history: dict[str, list] = {key: [] for key in HISTORY_KEYS}
        self._batch = 0  # micro-batches done in the current epoch
        self._pending = 0  # micro-batches whose gradients wait for an optimizer step
        self._step_loss = 0.0
        self._totals = Totals()
        self._unsynced = Totals()  # this rank's sums since the last optimizer step (data-parallel only)
        self._loader: Iterable | None = None
        self._rng: dict | None = None  # random state to apply when training (re)starts
        self._epoch_rng: dict | None = None  # random state at the start of the current epoch

    # ---- training ---------------------------------------------------------------------------------------
    def fit(self, train_loader: Iterable, epochs: int = 1, val_loader: Iterable | None = None) -> dict[str, list]:
        """Train until `epochs` epochs are complete (counting those of a loaded checkpoint); return the history."""
        self._loader = train_loader
        while self.epoch < epochs:
            self._train_epoch(train_loader, epochs)
            self._end_epoch(val_loader, epochs)
        return self.history

    def _train_epoch(self, loader: Iterable, epochs: int) -> None:
        self.model.train()
        self.optimizer.zero_grad()  # gradients left from before training must not join the first step
        _set_epoch(loader, self.epoch)
        n = _length(loader)
        if n is None and self._ddp is not None and self.accum_steps > 1:
            raise ValueError("Trainer: with DistributedDataParallel and accum_steps > 1 the train loader needs a "
                             "len(), so that every rank knows which micro-batch ends each group")
        bar = ProgressBar(n, f"epoch {self.epoch + 1}/{epochs}", self.progress, initial=self._batch)
        last = time.perf_counter()
        try:
            for batch in self._batches(loader):
                inputs, targets = self._unpack(batch)
                group_start = self._batch - self._pending
                group = self.accum_steps if n is None else min(self.accum_steps, n - group_start)
                local = self._ddp is not None and self._pending + 1 < group  # not the group's last: no averaging
                with self._ddp.no_sync() if local else contextlib.nullcontext():
                    output = self.model(inputs)
                    loss = self.loss_fn(output, targets)
                    (loss / group).backward()
                value = loss.item()
                self._batch += 1
                self._pending += 1
                self._step_loss += value / group
                (self._totals if self._ddp is None else self._unsynced).add(output, targets, value)
                now = time.perf_counter()
                self._totals.seconds += now - last
                last = now
                bar.update(_batch_size(targets), value)
                if self._pending == self.accum_steps:
                    self._optimizer_step()
            if self._pending:  # the epoch ended inside a group of micro-batches
                self._optimizer_step()
        finally:
            bar.close()

    def _batches(self, loader: Iterable) -> Iterator:
        """An iterator over the epoch's remaining batches, with the random state as an uninterrupted run has it."""
        if self._batch == 0:
            self._apply_rng(self._rng)
            self._rng = None
            self._epoch_rng = self._rng_state()
            return iter(loader)
        self._apply_rng(self._epoch_rng)  # replay the epoch's order, then skip what the checkpoint has done
        batches = iter(loader)
        for _ in range(self._batch):
            next(batches)
        self._apply_rng(self._rng)
        self._rng = None
        return batches

    def _unpack(self, batch: Any) -> tuple[Any, Any]:
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise TypeError(f"Trainer: each batch must be a pair (inputs, targets), got a {type(batch).__name__}"
                            + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else ""))
        inputs, targets = batch
        if self.device is not None:
            inputs, targets = inputs.to(self.device), targets.to(self.device)
        return inputs, targets

    def _optimizer_step(self) -> None:
        if self._ddp is not None:
            self._sync_metrics()
        if self.clip_grad_norm is not None:
            self.history["grad_norm"].append(clip_grad_norm_(self.model.parameters(), self.clip_grad_norm).item())
        self.history["lr"].append(float(self.optimizer.param_groups[0]["lr"]))
        self.optimizer.step()
        self.optimizer.zero_grad()
        self.step += 1
        self.history["step_loss"].append(self._step_loss)
        self._pending, self._step_loss = 0, 0.0
        if self.scheduler is not None and self.scheduler_interval == "step":
            self.scheduler.step()
        if self.checkpoint_every is not None and self.step % self.checkpoint_every == 0:
            self.save_checkpoint()

    def _sync_metrics(self) -> None:
        """Make the step's loss the mean over the ranks and add every rank's batches to the epoch's totals."""
        step, (loss,) = _summed(self._unsynced, self._step_loss)
        self._totals.merge(step)
        self._step_loss = loss / self._world
        self._unsynced = Totals()

    def _end_epoch(self, val_loader: Iterable | None, epochs: int) -> None:
        h = self.history
        train = self._totals.summary()
        h["epoch_end_step"].append(self.step)
        h["train_loss"].append(train["loss"])
        if "accuracy" in train:
            h["train_accuracy"].append(train["accuracy"])
        h["samples_per_s"].append(self._totals.samples / max(self._totals.seconds, 1e-9))
        val = self.evaluate(val_loader) if val_loader is not None else None
        if val is not None:
            h["val_loss"].append(val["loss"])
            if "accuracy" in val:
                h["val_accuracy"].append(val["accuracy"])
        if self.scheduler is not None and self.scheduler_interval == "epoch":
            if isinstance(self.scheduler, ReduceLROnPlateau):
                self.scheduler.step((val or train)["loss"])
            else:
                self.scheduler.step()
        self.epoch += 1
        self._batch, self._totals, self._epoch_rng = 0, Totals(), None
        if self.log is not None:
            self.log(self._epoch_line(epochs, train, val))
        if self.checkpoint_path is not None:
            self.save_checkpoint()

    def _epoch_line(self, epochs: int, train: dict, val: dict | None) -> str:
        width = len(str(epochs))
        parts = [f"epoch {self.epoch:{width}d}/{epochs}", f"step {self.step:5d}", "train " + _metrics(train)]
        if val is not None:
            parts.append("val " + _metrics(val))
        parts.append(f"lr {self.optimizer.param_groups[0]['lr']:.2e}")
        parts.append(f"{self.history['samples_per_s'][-1]:,.0f} samples/s")
        return "  ".join(parts)

    # ---- evaluation -------------------------------------------------------------------------------------
    def evaluate(self, loader: Iterable) -> dict[str, float]:
        """Mean loss (and accuracy, for class scores) over a loader, in eval mode without gradients. With
        DistributedDataParallel: over the batches of every rank (each may hold a share of the data, or all of it)."""
        was_training = self.model.training
        self.model.eval()
        totals = Totals()
        try:
            with no_grad():
                for batch in loader:
                    inputs, targets = self._unpack(batch)
                    output = self.model(inputs)
                    totals.add(output, targets, self.loss_fn(output, targets).item())
        finally:
            self.model.train(was_training)
        if self._ddp is not None:
            totals, _ = _summed(totals)
        return totals.summary()

    # ---- checkpoints ------------------------------------------------------------------------------------
    def _rng_state(self) -> dict:
        generator = getattr(self._loader, "generator", None)
        return {"global": random.get_rng_state(), "loader": generator.get_state() if generator is not None else None}

    def _apply_rng(self, state: dict | None) -> None:
        if state is None:
            return
        random.set_rng_state(state["global"])
        generator = getattr(self._loader, "generator", None)
        if (generator is None) != (state["loader"] is None):
            raise ValueError("Trainer: the checkpoint was written with a train loader "
                             f"{'without' if state['loader'] is None else 'with'} a generator, but this loader "
                             f"{'has' if generator is not None else 'has none'}; build the loader the same way")
        if generator is not None:
            generator.set_state(state["loader"])

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs: model, optimizer, scheduler, counters, history, random state."""
        return {
            "model": self.module.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "progress": {"step": self.step, "epoch": self.epoch, "batch": self._batch,
                         "totals": dataclasses.asdict(self._totals), "world_size": self._world},
            "history": self.history,
            "rng": self._rng_state(),
            "epoch_rng": self._epoch_rng,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` gave; the random state is applied when `fit` starts."""
        missing = {"model", "optimizer", "scheduler", "progress", "history", "rng", "epoch_rng"} - set(state)
        if missing:
            raise KeyError(f"Trainer.load_state_dict: not a Trainer checkpoint: missing {sorted(missing)}")
        if (state["scheduler"] is None) != (self.scheduler is None):
            raise ValueError("Trainer.load_state_dict: the checkpoint was written "
                             f"{'without' if state['scheduler'] is None else 'with'} an LR scheduler, but this "
                             f"Trainer has {'one' if self.scheduler is not None else 'none'}")
        progress = state["progress"]
        world = progress.get("world_size", 1)
        if progress["batch"] and world != self._world:
            raise ValueError(f"Trainer.load_state_dict: the checkpoint was written in the middle of an epoch by "
                             f"{world} process{'es' if world != 1 else ''}, and its batch counts hold only for "
                             f"{world}; resume it on {world} (mpiexec -n {world}), or from a checkpoint written at "
                             "the end of an epoch")
        self.module.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.step, self.epoch, self._batch = progress["step"], progress["epoch"], progress["batch"]
        self._totals = Totals(**progress["totals"])
        self.history = {key: list(state["history"].get(key, [])) for key in HISTORY_KEYS}
        self._rng, self._epoch_rng = state["rng"], state["epoch_rng"]
        self._pending, self._step_loss, self._unsynced = 0, 0.0, Totals()

    def save_checkpoint(self, path: str | os.PathLike | None = None) -> None:
        """Write `state_dict()` to `path` (default: `checkpoint_path`) with `retrograd.save`; with
        DistributedDataParallel only rank 0 writes (every rank holds the same state)."""
        path = path if path is not None else self.checkpoint_path
        if path is None:
            raise ValueError("Trainer.save_checkpoint: give a path (or set checkpoint_path)")
        if self._main:
            save(self.state_dict(), path)

    def load_checkpoint(self, path: str | os.PathLike) -> None:
        """Resume from a checkpoint written by `save_checkpoint` (with DistributedDataParallel: on every rank)."""
        self.load_state_dict(load(path))


def _replication(model: Module) -> tuple[Any, int, bool]:
    """(the DistributedDataParallel wrapper or None, number of ranks, whether this rank logs and writes)."""
    parallel = sys.modules.get("retrograd.nn.parallel.distributed")  # not loaded: the model cannot be wrapped
    if parallel is None or not isinstance(model, parallel.DistributedDataParallel):
        return None, 1, True
    from .. import distributed as dist

    return model, dist.get_world_size(), dist.get_rank() == 0


def _metrics(m: dict[str, float]) -> str:
    text = f"loss {m['loss']:.4f}"
    return text + (f" acc {100 * m['accuracy']:.2f}%" if "accuracy" in m else "")


def fit(model: Module, optimizer: Any, train_loader: Iterable, epochs: int = 1, val_loader: Iterable | None = None,
        *, resume: str | os.PathLike | None = None, **options: Any) -> dict[str, list]:
    """Train with a `Trainer(model, optimizer, **options)` (resuming from checkpoint `resume` if given);
    return the history."""
    trainer = Trainer(model, optimizer, **options)
    if resume is not None:
        trainer.load_checkpoint(resume)
    return trainer.fit(train_loader, epochs, val_loader)


__all__ = ["Trainer", "fit", "HISTORY_KEYS"]
