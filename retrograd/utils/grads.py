"""Resetting `.grad`: shared by `Module.zero_grad` and `Optimizer.zero_grad`."""
from __future__ import annotations

from collections.abc import Iterable


def zero_grads(params: Iterable, set_to_none: bool = True) -> None:
    """Set each parameter's gradient to None (the default), or to zeros in place (detached)."""
    for p in params:
        if p.grad is None:
            continue
        if set_to_none:
            p.grad = None
            continue
        if p.grad.grad_fn is not None:
            p.grad.detach_()
        else:
            p.grad.requires_grad_(False)
        p.grad.zero_()
