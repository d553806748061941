"""Time to reach 97% test accuracy on scikit-learn's digits: the `train digits-mlp` model, retrograd vs PyTorch.

The same MLP (64 -> 256 -> 256 -> 10, ReLU, dropout 0.1), the same initial weights (copied from retrograd to
PyTorch), the same batches in the same order (one NumPy permutation per epoch, indexing each library's
tensors), AdamW (lr 3e-3, weight decay 0.01) with a one-cycle schedule over 20 epochs of batches of 32.
Each library trains until its test accuracy, checked after every epoch, reaches the target; the clock runs
over training and evaluation. The libraries alternate for `--reps` rounds; prints the median seconds, the
epochs needed, the seconds per epoch, and the ratios torch / retrograd (above 1: retrograd is faster).

    python benchmarks/train_digits.py [--reps 3] [--threads 1] [--target 0.97]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

EPOCHS, BATCH, LR, WEIGHT_DECAY = 20, 32, 3e-3, 0.01


def make_mlp(nn):
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Dropout(0.1), nn.Linear(256, 256),
                         nn.ReLU(), nn.Dropout(0.1), nn.Linear(256, 10))


def time_to_target(lib, model, data, orders, target: float) -> tuple[float, int, float]:
    """Train until the test accuracy reaches `target`: (seconds, epochs, final accuracy)."""
    x_train, y_train, x_test, y_test = (lib.tensor(a) for a in data)
    opt = lib.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    steps_per_epoch = len(orders[0]) // BATCH + bool(len(orders[0]) % BATCH)
    sched = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=EPOCHS * steps_per_epoch)
    start = time.perf_counter()
    accuracy = 0.0
    for epoch, order in enumerate(orders, start=1):
        model.train()
        for i in range(0, len(order), BATCH):
            idx = lib.tensor(order[i:i + BATCH])
            loss = lib.nn.functional.cross_entropy(model(x_train[idx]), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        with lib.no_grad():
            accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
        if accuracy >= target:
            return time.perf_counter() - start, epoch, accuracy
    return time.perf_counter() - start, len(orders), accuracy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="threads for BLAS and for PyTorch")
    ap.add_argument("--target", type=float, default=0.97, help="test accuracy to reach")
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # before NumPy loads its BLAS

    import numpy as np
    import torch

    import retrograd
    from retrograd.datasets import load_digits, split_train_test

    torch.set_num_threads(args.threads)
    images, labels = load_digits()
    train, test = split_train_test(images, labels, test_fraction=0.2, seed=0, stratify=labels)
    data = [t.numpy() for t in (*train.tensors, *test.tensors)]
    rng = np.random.default_rng(0)
    orders = [rng.permutation(len(data[0])) for _ in range(EPOCHS)]

    results = {"retrograd": [], "torch": []}
    for rep in range(args.reps):
        retrograd.manual_seed(rep)
        torch.manual_seed(rep)
        r_model = make_mlp(retrograd.nn)
        t_model = make_mlp(torch.nn)
        t_model.load_state_dict({k: torch.tensor(v.numpy()) for k, v in r_model.state_dict().items()})
        for name, lib, model in (("retrograd", retrograd, r_model), ("torch", torch, t_model)):
            results[name].append(time_to_target(lib, model, data, orders, args.target))
    med = {}
    for name, runs in results.items():
        seconds = statistics.median(r[0] for r in runs)
        per_epoch = statistics.median(r[0] / r[1] for r in runs)
        med[name] = (seconds, per_epoch)
        epochs = ", ".join(f"{r[1]} ({100 * r[2]:.1f}%)" for r in runs)
        print(f"{name:10s} {seconds:6.2f} s to {100 * args.target:.0f}% test accuracy, {1e3 * per_epoch:6.1f} ms "
              f"per epoch (medians of {args.reps}; epochs needed: {epochs}; {args.threads} thread(s))")
    print(f"ratio torch/retrograd: {med['torch'][0] / med['retrograd'][0]:.2f} in time to target, "
          f"{med['torch'][1] / med['retrograd'][1]:.2f} per epoch (above 1: retrograd is faster)")


if __name__ == "__main__":
    main()
