"""Activation checkpointing: trade compute for memory by recomputing in backward."""
from __future__ import annotations

from ..autograd import grad_mode
from ..autograd.engine import backward as engine_backward
from ..autograd.function import Function
from ..tensor import Tensor


class _Checkpoint(Function):
    """forward runs `fn` without recording; backward re-runs it with recording and backprops
    through that fresh graph (gradients reach parameters used inside `fn` too)."""

    @staticmethod
    def forward(ctx, fn, preserve_rng_state, *args):
        from .. import random

        ctx.fn = fn
        ctx.rng_state = random.get_rng_state() if preserve_rng_state else None
        ctx.args = [a.detach() if isinstance(a, Tensor) else a for a in args]
        ctx.requires = [isinstance(a, Tensor) and a.requires_grad for a in args]
        return fn(*args)

    @staticmethod
    def backward(ctx, *grads):
        from .. import random

        args = [a.detach().requires_grad_(r) if isinstance(a, Tensor) else a
                for a, r in zip(ctx.args, ctx.requires)]
        saved_state = random.get_rng_state()
        if ctx.rng_state is not None:
            random.set_rng_state(ctx.rng_state)
        try:
            with grad_mode.enable_grad():
                outputs = ctx.fn(*args)
        finally:
            random.set_rng_state(saved_state)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        pairs = [(o, g) for o, g in zip(outputs, grads) if isinstance(o, Tensor) and o.requires_grad]
        if pairs:
            engine_backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None) + tuple(a.grad if isinstance(a, Tensor) and r else None
                                    for a, r in zip(args, ctx.requires))


def checkpoint(function, *args, use_reentrant: bool | None = None, preserve_rng_state: bool = True, **kwargs):
    """`function(*args)`, keeping only its inputs for backward and recomputing the rest there."""
    if kwargs:
        raise ValueError(f"checkpoint: unexpected keyword arguments {sorted(kwargs)}")
    return _Checkpoint.apply(function, preserve_rng_state, *args)
