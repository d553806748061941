"""Loss and accuracy curves of a training history, saved as a PNG (matplotlib, Agg backend, imported when used)."""
from __future__ import annotations

import os

_COLORS = {"train": "tab:blue", "val": "tab:orange"}


def plot_history(history: dict, path: str | os.PathLike, title: str | None = None) -> str:
    """Draw the loss per optimizer step and per epoch (train and validation) and, when the history has them,
    the accuracies per epoch; save to `path` and return it."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'retrograd[train]'") from None
    has_accuracy = bool(history.get("train_accuracy") or history.get("val_accuracy"))
    fig, axes = plt.subplots(1, 2 if has_accuracy else 1, figsize=(11 if has_accuracy else 6, 4), squeeze=False)
    loss_ax = axes[0][0]
    if history.get("step_loss"):
        loss_ax.plot(range(1, len(history["step_loss"]) + 1), history["step_loss"], color=_COLORS["train"], lw=0.6,
                     alpha=0.35, label="train (per step)")
    ends = history.get("epoch_end_step", [])
    for split, label in (("train", "train (epoch mean)"), ("val", "validation")):
        if history.get(f"{split}_loss"):
            loss_ax.plot(ends[:len(history[f"{split}_loss"])], history[f"{split}_loss"], "o-", color=_COLORS[split],
                         label=label)
    loss_ax.set(xlabel="optimizer step", ylabel="loss", title="loss")
    loss_ax.legend()
    if has_accuracy:
        acc_ax = axes[0][1]
        for split, label in (("train", "train"), ("val", "validation")):
            accuracy = history.get(f"{split}_accuracy")
            if accuracy:
                acc_ax.plot(ends[:len(accuracy)], [100 * a for a in accuracy], "o-", color=_COLORS[split], label=label)
        acc_ax.set(xlabel="optimizer step", ylabel="accuracy (%)", title="accuracy")
        acc_ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return os.fspath(path)


__all__ = ["plot_history"]
