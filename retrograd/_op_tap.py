"""Route every op's forward call and every node's backward through listeners, only while someone listens.

Ops run forward through `Node.__call__` (or a subclass's own `__call__`, or `Function.apply`) and
backward through `engine._call_backward`. The first listener to attach wraps these entry points; the
last one to detach puts the originals back, so the normal forward/backward path costs nothing when
nothing listens. Used by `retrograd.viz.trace` and `retrograd.profiler.profile`.

A listener has two methods, each of which must call `run()` exactly once and return its result:
    forward(name, run)          name: the op ('Linear', or the Function's class name)
    backward(node, grads, run)  grads: the gradients of the node's outputs; run() returns the inputs'
                                (arrays in a first-order backward, Tensors with create_graph)
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

from .autograd import engine
from .autograd.function import Function
from .autograd.node import Node


class Listener(Protocol):
    def forward(self, name: str, run: Callable[[], Any]) -> Any: ...

    def backward(self, node: Node, grads: list, run: Callable[[], tuple]) -> tuple: ...


_listeners: list[Listener] = []
_originals: list[tuple[Any, str, Any]] = []  # (owner, attribute, original value) to restore


def attach(listener: Listener) -> None:
    """Start sending op calls to `listener` (wrapping the entry points if it is the first)."""
    if not _listeners:
        _install()
    _listeners.append(listener)


def detach(listener: Listener) -> None:
    """Stop sending op calls to `listener` (restoring the entry points if it was the last)."""
    _listeners.remove(listener)
    if not _listeners:
        for owner, attr, value in reversed(_originals):
            setattr(owner, attr, value)
        _originals.clear()


def _forward(name: str, run: Callable[[], Any]) -> Any:
    for listener in reversed(_listeners):  # the first attached is the outermost
        run = partial(listener.forward, name, run)
    return run()


def _backward(node: Node, grads: list, run: Callable[[], tuple]) -> tuple:
    for listener in reversed(_listeners):
        run = partial(listener.backward, node, grads, run)
    return run()


def _node_classes() -> list[type]:
    """Node and every subclass defining its own `__call__` (multi-output and device-moving ops do)."""
    found, stack = [], [Node]
    while stack:
        cls = stack.pop()
        if "__call__" in cls.__dict__:
            found.append(cls)
        stack.extend(cls.__subclasses__())
    return found


def _wrap_call(cls: type) -> None:
    original = cls.__dict__["__call__"]

    def __call__(self, *inputs):
        if type(self).__call__ is not __call__:  # a subclass's __call__ calling this one: already seen
            return original(self, *inputs)
        return _forward(self.name.removesuffix("Backward"), partial(original, self, *inputs))

    _originals.append((cls, "__call__", original))
    cls.__call__ = __call__


def _install() -> None:
    for cls in _node_classes():
        _wrap_call(cls)

    apply = Function.__dict__["apply"]

    def wrapped_apply(cls, *args):
        return _forward(cls.__name__, partial(apply.__func__, cls, *args))

    _originals.append((Function, "apply", apply))
    Function.apply = classmethod(wrapped_apply)

    call_backward = engine._call_backward

    def wrapped_call_backward(node: Node, gs: list, arrays: bool) -> tuple:
        return _backward(node, gs, partial(call_backward, node, gs, arrays))

    _originals.append((engine, "_call_backward", call_backward))
    engine._call_backward = wrapped_call_backward
