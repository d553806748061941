"""SGD: stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""
from __future__ import annotations

from typing import Any

from ..ops.creation import zeros_like
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, _check_not_differentiable, _Work


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), as PyTorch's `torch.optim.SGD`.

    The momentum buffer starts as the first gradient (no dampening on that step).
    `foreach` and `fused` are accepted for compatibility: every update is whole-group already.
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float | Tensor = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        _check_not_differentiable(differentiable)
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
                    "nesterov": nesterov, "maximize": maximize, "foreach": foreach, "differentiable": differentiable,
                    "fused": fused}
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def _init_state(self, group: dict[str, Any], p: Tensor) -> dict[str, Tensor]:
        return {"momentum_buffer": zeros_like(p)} if group["momentum"] != 0 else {}

    def _update(self, group: dict[str, Any], s: _Work) -> None:
        lr, mu, tau, wd = (float(group[k]) for k in ("lr", "momentum", "dampening", "weight_decay"))
        p = s.param
        g = -s.grad if group["maximize"] else s.grad
        if wd != 0:
            g = g + wd * p                       # g ← g + λθ
        if mu != 0:
            b = s["momentum_buffer"]
            b *= mu
            b += (1 - tau) * g                   # b ← μb + (1−τ)g
            s.start_new(b, g)                    # b₁ ← g
            g = g + mu * b if group["nesterov"] else b
        p -= lr * g                              # θ ← θ − γg


__all__ = ["SGD"]
