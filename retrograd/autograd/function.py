"""`autograd.Function`: user-defined ops with PyTorch's static-method API.

    class Square(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x
        @staticmethod
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            return 2 * x * grad

    y = Square.apply(x)

`forward` runs with grad mode off on the Tensors given; `apply` records one node
whose backward calls the user's `backward` with this node as `ctx`.
"""
from __future__ import annotations

from . import grad_mode
from .node import Node, _freed_error, _version_error, version_of


class FunctionCtx(Node):
    """The node of one `Function.apply` call; it is the `ctx` both methods receive."""

    def __init__(self, fn_cls):
        self.fn_cls = fn_cls
        self.to_save = ()
        self.non_differentiable = set()
        self.materialize_grads = True
        self.needs_input_grad = ()

    @property
    def name(self) -> str:
        return self.fn_cls.__name__ + "Backward"

    def save_for_backward(self, *tensors) -> None:
        self.to_save = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        self.non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors) -> None:
        """Accepted for compatibility: in-place outputs are handled like any output here."""

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = value

    @property
    def saved_tensors(self) -> tuple:
        if self._saved is None:
            raise _freed_error(self)
        out = []
        for kind, t, v in self._saved:
            if kind == "output":  # saved outputs keep this node as their grad_fn in a recorded backward
                array, k = t
                t = Tensor._make(array)
                if grad_mode.state.enabled:
                    t._requires_grad, t.grad_fn, t._out_nr = True, self, k
            elif t is not None and v is not None and version_of(t) != v:
                raise _version_error(self, t, v)
            out.append(t)
        return tuple(out)

    def backward(self, *grads):
        if self.materialize_grads:
            grads = tuple(g if g is not None else _zeros(shape, like)
                          for g, (shape, like) in zip(grads, self.out_meta))
        res = self.fn_cls.backward(self, *grads)
        res = res if isinstance(res, tuple) else (res,)
        if len(res) < len(self.edges):
            raise RuntimeError(f"function {self.name} returned an incorrect number of gradients "
                               f"(expected {len(self.edges)}, got {len(res)})")
        return tuple(res[: len(self.edges)])


def _zeros(shape, like):
    return Tensor._make(like.xp_zeros(shape))


class Function:
    """Base class of user-defined differentiable ops: subclass with static forward/backward."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args):
        ctx = FunctionCtx(cls)
        tensor_args = [a for a in args if isinstance(a, Tensor)]
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with grad_mode.no_grad():
            outputs = cls.forward(ctx, *args)
        single = not isinstance(outputs, tuple)
        outputs = (outputs,) if single else outputs
        record = grad_mode.state.enabled and any(t.requires_grad for t in tensor_args)
        results = []
        for k, o in enumerate(outputs):
            if not isinstance(o, Tensor):
                results.append(o)
                continue
            if any(o is a for a in args) or o._base is not None:  # an input or a view: a fresh tensor
                o = Tensor._make(o._data)
            if record and id(outputs[k]) not in ctx.non_differentiable and o.dtype.is_floating_point:
                o._requires_grad, o.grad_fn, o._out_nr = True, ctx, k
            results.append(o)
        if record:
            ctx.n_outputs = len(outputs)
            ctx.out_meta = [(o._data.shape, _ZerosOf(o._data)) if isinstance(o, Tensor) else ((), None)
                            for o in results]
            ctx._record(args, None)
            ctx._saved = tuple(_save(t, results) for t in ctx.to_save)
        ctx.to_save = ()
        return results[0] if single else tuple(results)


class _ZerosOf:
    """Makes zero gradients for an output that received none (materialize_grads)."""

    def __init__(self, array):
        self.dtype, self.kind = array.dtype, type(array)

    def xp_zeros(self, shape):
        from ..device import _NAMESPACES

        return _NAMESPACES[self.kind].zeros(shape, dtype=self.dtype)


def _save(t, outputs):
    if t is None:
        return ("none", None, None)
    for k, o in enumerate(outputs):
        if o is t:  # saving an output would make a cycle: keep its array and rebuild it
            return ("output", (t._data, k), None)
    return ("input", t, version_of(t))


class once_differentiable:  # noqa: N801 - PyTorch's name
    """Decorator for `backward`: run it with grad mode off (it cannot be differentiated again)."""

    def __new__(cls, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(ctx, *args):
            with grad_mode.no_grad():
                return fn(ctx, *args)

        return wrapper


from ..tensor import Tensor  # noqa: E402
