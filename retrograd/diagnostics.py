"""Gradient-flow report: how large each parameter's gradient is, and which ones vanish or explode.

    loss.backward()
    report = retrograd.diagnostics.gradient_flow(model)   # warns about vanishing/exploding/NaN gradients
    print(report.table())
    report.plot("grad_flow.png")

Per parameter: mean |g|, max |g|, the norm of g, and its ratio to the weight's norm (how far one SGD
step of learning rate 1 would move the weight, relatively). A gradient is *vanishing* when its mean
|g| is below `vanishing`, *exploding* when its norm is above `exploding`, *non-finite* when it holds
NaN or Inf. To find the op whose backward made a NaN, use `retrograd.autograd.detect_anomaly`.
"""
from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

from .device import namespace_of
from .nn.modules.module import Module
from .tensor import Tensor


class GradientFlowWarning(RuntimeWarning):
    """Some parameter's gradient vanished, exploded, or is NaN/Inf."""


def array_norm(a) -> float:
    """The 2-norm of an array of any shape, summed in float64 (so float16 gradients do not overflow)."""
    if a.size == 0:
        return 0.0
    xp = namespace_of(a)
    flat = a.reshape(-1).astype(xp.float64, copy=False)
    return float(xp.sqrt(xp.vdot(flat, flat)))


@dataclass
class GradStats:
    """One parameter's gradient statistics; `status` is 'ok', 'vanishing', 'exploding', 'non-finite' or
    'no grad'. `ratio` (norm of g / norm of the weight) is None for an all-zero weight."""

    name: str
    shape: tuple
    mean_abs: float
    max_abs: float
    norm: float
    weight_norm: float
    ratio: float | None
    status: str


class GradientFlowReport:
    """The per-parameter rows of `gradient_flow`, as a table, a bar plot and a list of warnings."""

    def __init__(self, rows: list[GradStats], vanishing: float, exploding: float) -> None:
        self.rows = rows
        self.vanishing = vanishing
        self.exploding = exploding

    def flagged(self, status: str) -> list[str]:
        """The names of the parameters with this status."""
        return [r.name for r in self.rows if r.status == status]

    @property
    def warnings(self) -> list[str]:
        """One message per kind of problem found, naming the parameters."""
        why = {"non-finite": "gradients with NaN or Inf",
               "exploding": f"exploding gradients (norm > {self.exploding:g})",
               "vanishing": f"vanishing gradients (mean |g| < {self.vanishing:g})",
               "no grad": "no gradient (not used in the loss, or backward not run)"}
        out = []
        for status, text in why.items():
            names = self.flagged(status)
            if names:
                out.append(f"{len(names)} parameter(s) with {text}: {', '.join(names)}")
        return out

    def table(self) -> str:
        """The rows as text, followed by the warnings."""
        width = max([len("parameter")] + [len(r.name) for r in self.rows]) + 2
        header = (f"{'parameter':<{width}}{'shape':<18}{'mean |g|':>11}{'max |g|':>11}{'norm g':>11}"
                  f"{'norm w':>11}{'g/w':>11}  status")
        lines = [header, "-" * len(header)]
        for r in self.rows:
            ratio = "-" if r.ratio is None else f"{r.ratio:.3g}"
            lines.append(f"{r.name:<{width}}{str(r.shape):<18}{r.mean_abs:>11.3g}{r.max_abs:>11.3g}{r.norm:>11.3g}"
                         f"{r.weight_norm:>11.3g}{ratio:>11}  {r.status}")
        return "\n".join(lines + [f"warning: {w}" for w in self.warnings])

    def __str__(self) -> str:
        return self.table()

    def plot(self, path: str | os.PathLike) -> None:
        """A PNG bar plot of mean and max |g| per parameter (log scale) with the thresholds; problems in red."""
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
        except ImportError:
            raise ModuleNotFoundError("plotting the gradient flow needs matplotlib: pip install matplotlib") from None
        n = len(self.rows)
        fig = Figure(figsize=(max(6.0, 0.45 * n + 2), 4.5))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        xs = range(n)
        ax.bar(xs, [r.max_abs for r in self.rows], color="lightsteelblue", label="max |g|")
        ax.bar(xs, [r.mean_abs for r in self.rows], width=0.5, color="steelblue", label="mean |g|")
        ax.plot(xs, [r.norm for r in self.rows], "k_", markersize=10, label="norm g")
        ax.set_yscale("log", nonpositive="clip")
        ax.axhline(self.vanishing, color="orange", linestyle="--", label=f"vanishing ({self.vanishing:g})")
        ax.axhline(self.exploding, color="red", linestyle="--", label=f"exploding, norm ({self.exploding:g})")
        ax.set_xticks(list(xs), [r.name for r in self.rows], rotation=75, fontsize=7, ha="right")
        for tick, r in zip(ax.get_xticklabels(), self.rows):
            if r.status != "ok":
                tick.set_color("red")
        ax.set_ylabel("gradient magnitude")
        ax.set_title("gradient flow (red: vanishing, exploding, non-finite or missing)")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(path, format="png", dpi=100)


def gradient_flow(parameters: Module | dict[str, Tensor] | Iterable[tuple[str, Tensor]], vanishing: float = 1e-7,
                  exploding: float = 1e3, warn: bool = True) -> GradientFlowReport:
    """Statistics of every parameter's `.grad` (call after `backward()`); with `warn`, a
    `GradientFlowWarning` per kind of problem found."""
    if not (vanishing >= 0 and exploding > vanishing):
        raise ValueError(f"gradient_flow: expected 0 <= vanishing < exploding, got vanishing={vanishing}, "
                         f"exploding={exploding}")
    if isinstance(parameters, Module):
        named = list(parameters.named_parameters())
    elif isinstance(parameters, dict):
        named = list(parameters.items())
    else:
        named = list(parameters)
    rows = []
    for i, item in enumerate(named):
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Tensor)):
            raise TypeError(f"gradient_flow: expected a Module, a dict of tensors or (name, tensor) pairs; "
                            f"item {i} is {type(item).__name__}")
        name, p = item
        if p.requires_grad:
            rows.append(_stats(str(name), p, vanishing, exploding))
    report = GradientFlowReport(rows, vanishing, exploding)
    if warn:
        for message in report.warnings:
            warnings.warn(message, GradientFlowWarning, stacklevel=2)
    return report


def _stats(name: str, p: Tensor, vanishing: float, exploding: float) -> GradStats:
    w_norm = array_norm(p._data)
    if p.grad is None:
        return GradStats(name, tuple(p.shape), 0.0, 0.0, 0.0, w_norm, None, "no grad")
    g = p.grad._data
    xp = namespace_of(g)
    a = xp.abs(g)
    mean_abs = float(xp.mean(a, dtype=xp.float64)) if g.size else 0.0
    max_abs = float(a.max()) if g.size else 0.0
    norm = array_norm(g)
    if not (math.isfinite(mean_abs) and math.isfinite(max_abs) and math.isfinite(norm)):
        status = "non-finite"
    elif norm > exploding:
        status = "exploding"
    elif mean_abs < vanishing:
        status = "vanishing"
    else:
        status = "ok"
    ratio = norm / w_norm if w_norm > 0 else None
    return GradStats(name, tuple(p.shape), mean_abs, max_abs, norm, w_norm, ratio, status)


__all__ = ["gradient_flow", "GradientFlowReport", "GradStats", "GradientFlowWarning", "array_norm"]
