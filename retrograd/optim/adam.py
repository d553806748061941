"""Adam (Kingma & Ba, 2015), with AMSGrad (Reddi et al., 2018) and optionally decoupled weight decay."""
from __future__ import annotations

from typing import Any

from ..ops.creation import zeros_like
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, _check_not_differentiable, _Work, _zero_step


class Adam(Optimizer):
    """Adam, as PyTorch's `torch.optim.Adam` (`decoupled_weight_decay=True` makes it AdamW).

    `foreach`, `fused` and `capturable` are accepted for compatibility: every update is whole-group already.
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False):
        _check_adam_options(lr, betas, eps, weight_decay)
        _check_not_differentiable(differentiable)
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay, "amsgrad": amsgrad,
                    "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable, "fused": fused, "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def _init_state(self, group: dict[str, Any], p: Tensor) -> dict[str, Tensor]:
        state = {"step": _zero_step(), "exp_avg": zeros_like(p), "exp_avg_sq": zeros_like(p)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = zeros_like(p)
        return state

    def _update(self, group: dict[str, Any], s: _Work) -> None:
        lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        p, m, v, t, xp = s.param, s["exp_avg"], s["exp_avg_sq"], s.step, s.xp
        g = -s.grad if group["maximize"] else s.grad
        if wd != 0 and group["decoupled_weight_decay"]:
            p *= 1 - lr * wd                                 # θ ← θ − γλθ
        elif wd != 0:
            g = g + wd * p                                   # g ← g + λθ
        root_bc2 = s.expand((1 - beta2 ** t) ** 0.5)
        uf = s.ufuncs
        if uf is not None:  # NumPy, CuPy: one scratch array, every pass below writes in place
            tmp = uf.subtract(g, m)
            tmp *= 1 - beta1
            m += tmp                                         # m ← β₁m + (1−β₁)g
            uf.multiply(g, g, out=tmp)
            tmp *= 1 - beta2
            v *= beta2
            v += tmp                                         # v ← β₂v + (1−β₂)g²
            if group["amsgrad"]:
                v = uf.maximum(s["max_exp_avg_sq"], v, out=s["max_exp_avg_sq"])  # v_max ← max(v_max, v)
            uf.sqrt(v, out=tmp)
            tmp += eps * root_bc2                            # √v̂ + ε, scaled by √(1−β₂ᵗ)
            uf.divide(m, tmp, out=tmp)
        else:  # the same formulas with the standard's functions (new arrays for the temporaries)
            m += (g - m) * (1 - beta1)
            v *= beta2
            v += g * g * (1 - beta2)
            if group["amsgrad"]:
                vmax = s["max_exp_avg_sq"]
                vmax[...] = xp.maximum(vmax, v)
                v = vmax
            tmp = m / (xp.sqrt(v) + eps * root_bc2)
        tmp *= s.expand(lr / (1 - beta1 ** t)) * root_bc2
        p -= tmp                                             # θ ← θ − γm̂/(√v̂ + ε)


def _check_adam_options(lr, betas, eps: float, weight_decay: float) -> None:
    """PyTorch's checks (and messages) of Adam's and AdamW's hyper-parameters."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    if not (all(isinstance(b, float) for b in betas) or all(isinstance(b, Tensor) for b in betas)):
        raise ValueError("betas must be either both floats or both Tensors")


__all__ = ["Adam"]
