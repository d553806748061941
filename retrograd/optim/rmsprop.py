"""RMSprop (Hinton, 2012), optionally centered (Graves, 2013) and with momentum."""
from __future__ import annotations

from typing import Any

from ..ops.creation import zeros_like
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, _check_not_differentiable, _Work, _zero_step


class RMSprop(Optimizer):
    """RMSprop, as PyTorch's `torch.optim.RMSprop` (ε added outside the square root).

    `foreach` and `capturable` are accepted for compatibility: every update is whole-group already.
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        for name, value in (("learning rate", lr), ("epsilon value", eps), ("momentum value", momentum),
                            ("weight_decay value", weight_decay), ("alpha value", alpha)):
            if not 0.0 <= value:
                raise ValueError(f"Invalid {name}: {value}")
        _check_not_differentiable(differentiable)
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps, "centered": centered,
                    "weight_decay": weight_decay, "capturable": capturable, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _init_state(self, group: dict[str, Any], p: Tensor) -> dict[str, Tensor]:
        state = {"step": _zero_step(), "square_avg": zeros_like(p)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = zeros_like(p)
        if group["centered"]:
            state["grad_avg"] = zeros_like(p)
        return state

    def _update(self, group: dict[str, Any], s: _Work) -> None:
        lr, alpha, eps, wd, mu = (float(group[k]) for k in ("lr", "alpha", "eps", "weight_decay", "momentum"))
        p, v, xp = s.param, s["square_avg"], s.xp
        g = -s.grad if group["maximize"] else s.grad
        if wd != 0:
            g = g + wd * p                                   # g ← g + λθ
        v *= alpha
        v += (1 - alpha) * g * g                             # v ← αv + (1−α)g²
        if group["centered"]:
            ga = s["grad_avg"]
            ga += (1 - alpha) * (g - ga)                     # g_avg ← αg_avg + (1−α)g
            avg = xp.sqrt(v - ga * ga) + eps                 # √(v − g_avg²) + ε
        else:
            avg = xp.sqrt(v) + eps                           # √v + ε
        if mu > 0:
            b = s["momentum_buffer"]
            b *= mu
            b += g / avg                                     # b ← μb + g/avg
            p -= lr * b                                      # θ ← θ − γb
        else:
            p -= lr * (g / avg)                              # θ ← θ − γg/avg


__all__ = ["RMSprop"]
