"""Adagrad (Duchi et al., 2011): per-coordinate learning rates from the sum of squared gradients."""
from __future__ import annotations

from typing import Any

from ..ops.creation import full_like
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, _check_not_differentiable, _Work, _zero_step


class Adagrad(Optimizer):
    """Adagrad, as PyTorch's `torch.optim.Adagrad` (state created at construction, `lr_decay` per step).

    `foreach` and `fused` are accepted for compatibility: every update is whole-group already.
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        for name, value in (("learning rate", lr), ("lr_decay value", lr_decay),
                            ("weight_decay value", weight_decay),
                            ("initial_accumulator_value value", initial_accumulator_value), ("epsilon value", eps)):
            if not 0.0 <= value:
                raise ValueError(f"Invalid {name}: {value}")
        _check_not_differentiable(differentiable)
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = self._init_state(group, p)

    def _init_state(self, group: dict[str, Any], p: Tensor) -> dict[str, Tensor]:
        return {"step": _zero_step(), "sum": full_like(p, group["initial_accumulator_value"])}

    def _update(self, group: dict[str, Any], s: _Work) -> None:
        lr, lr_decay, eps, wd = (float(group[k]) for k in ("lr", "lr_decay", "eps", "weight_decay"))
        p, acc, xp = s.param, s["sum"], s.xp
        g = -s.grad if group["maximize"] else s.grad
        if wd != 0:
            g = g + wd * p                                   # g ← g + λθ
        clr = s.expand(lr / (1 + (s.step - 1) * lr_decay))   # γ̃ ← γ/(1 + (t−1)η)
        acc += g * g                                         # G ← G + g²
        p -= clr * (g / (xp.sqrt(acc) + eps))                # θ ← θ − γ̃g/(√G + ε)


__all__ = ["Adagrad"]
