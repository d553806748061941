"""A node of the graph: one recorded op, with its forward and its backward.

An op is a subclass of `Node` with two methods side by side:

    class Exp(Node):
        saves_output = True
        def forward(self, x):            # arrays in, array out
            return self.xp.exp(x)
        def backward(self, grad):        # Tensors in, Tensors out: d(out)/d(input) * grad
            return grad * self.saved_output()

`forward` runs on the device's arrays. `backward` is written with Tensor ops, so
when `create_graph=True` the backward pass is itself recorded and can be
differentiated again; otherwise grad mode is off during backward and those ops
record nothing.

A hot single-output op may also define `backward_arrays(self, grad)`: the same formula on
arrays, in one expression, returning a tuple of arrays (None where no gradient is
needed), or None to fall back to `backward`. The engine uses it only when grad mode
is off (first-order backward), where it skips a Node and a Tensor per term of the
formula; `backward` stays the reference, and both must agree in values and dtypes.

Calling an op instance on Tensors (`Exp()(x)`) runs forward and, only when grad
mode is on and some input requires grad, records the node: an edge per input
(`(producer node, output index)`, `(leaf tensor, 0)`, or None) and what backward
needs (the inputs with their versions, or the output's array). Saved state is
released after backward unless `retain_graph`; reading it afterwards, or after
an in-place change of a saved tensor, raises a clear error.
"""
from __future__ import annotations

from ..device import _DEFAULT_ARRAY, _DEFAULT_NAMESPACE, _NAMESPACES
from . import grad_mode

_state = grad_mode.state


class Node:
    """Base of every op recorded in the graph."""

    __slots__ = ("edges", "__dict__", "__weakref__")

    saves_inputs = False  # backward reads `self.saved_tensors` (the inputs, Tensors or scalars)
    saves_output = False  # backward reads `self.saved_output()`
    broadcasts = False  # the engine sums each input's gradient back to that input's shape
    n_outputs = 1
    backward_arrays = None  # the optional first-order fast path (see the module's docstring)
    fresh_grads = False  # backward_arrays always answers, with new arrays nothing else holds (a leaf keeps one)
    xp = _DEFAULT_NAMESPACE  # the array library of the inputs (set per node when not the default)

    # per-node state with class-level defaults, so recording writes only what it needs
    pre_hooks = None  # tensor hooks on this node's outputs: ({id: (output index, fn)}, {index: weakref})
    _saved = None
    _versions = None
    _out = None
    _out_dirty = False
    _freed = False
    in_shapes = None  # for broadcasting ops whose inputs had other shapes than the output

    def __call__(self, *inputs):
        """Run forward on the inputs' arrays; record the node if a gradient is needed."""
        record = False
        arrays = []
        first = None
        for t in inputs:
            if isinstance(t, Tensor):
                a = t._data
                if first is None:
                    first = a
                elif type(a) is not type(first):
                    _device_mismatch(self, inputs)
                if t._requires_grad:
                    record = True
                arrays.append(a)
            else:
                arrays.append(t)
        kind = type(first)
        if kind is not _DEFAULT_ARRAY:
            self.xp = _NAMESPACES[kind]
        out = self.forward(*arrays)
        if type(out) is not kind:
            out = self.xp.asarray(out)
        result = _new(Tensor)
        result._data = out
        if record and _state.enabled:
            result._requires_grad = True
            result.grad_fn = self
            self._record(inputs, out)
        else:
            result._requires_grad = False
            result.grad_fn = None
        return result

    def _record(self, inputs, out) -> None:
        edges = []
        versions = []
        for t in inputs:
            if isinstance(t, Tensor):
                fn = t.grad_fn
                edges.append((fn, t._out_nr) if fn is not None else (t, 0) if t._requires_grad else None)
                base = t._base
                versions.append(t._version if base is None else base._version)
            else:
                edges.append(None)
                versions.append(None)
        self.edges = tuple(edges)
        if self.saves_inputs:
            self._saved = inputs
            self._versions = versions
        if self.saves_output:
            self._out = out
        if self.broadcasts and out is not None:  # multi-output nodes pass no single output
            shape = out.shape
            for t in inputs:
                if isinstance(t, Tensor) and t._data.shape != shape:  # the shapes the engine will sum back to
                    self.in_shapes = tuple([t._data.shape if isinstance(t, Tensor) else None for t in inputs])
                    break

    @property
    def name(self) -> str:
        return type(self).__name__ + "Backward"

    def __repr__(self) -> str:
        return f"<{self.name}>"

    @property
    def next_functions(self) -> tuple:
        """PyTorch's view of the edges: (node or AccumulateGrad-like leaf, index)."""
        return tuple(e if e is not None else (None, 0) for e in self.edges)

    def needs_input_grad(self, i: int) -> bool:
        return self.edges[i] is not None

    @property
    def saved_tensors(self) -> tuple:
        """The inputs saved in forward, checked against in-place changes since."""
        saved = self._saved
        if saved is None:
            raise _freed_error(self)
        for t, v in zip(saved, self._versions):
            if v is not None and (t._version if t._base is None else t._base._version) != v:
                raise _version_error(self, t, v)
        return saved

    def saved_arrays(self) -> list:
        """The arrays (or scalars) of the saved inputs, for `backward_arrays`: checked like `saved_tensors`."""
        arrays = []  # a loop, not a comprehension: this runs once per node in every backward
        for t in self.saved_tensors:
            arrays.append(t._data if isinstance(t, Tensor) else t)
        return arrays

    def saved_output_array(self):
        """The output of forward as an array, checked against in-place changes since."""
        out = self._out
        if out is None:
            raise _freed_error(self)
        if self._out_dirty:
            raise RuntimeError(f"one of the variables needed for gradient computation has been modified by an "
                               f"inplace operation: the output of {self.name} (shape {tuple(out.shape)}) "
                               f"was changed in place after it was saved for backward.")
        return out

    def saved_output(self):
        """The output of forward as a Tensor; in a recorded backward it keeps this node as grad_fn."""
        t = Tensor._make(self.saved_output_array())
        if _state.enabled:
            t._requires_grad = True
            t.grad_fn = self
        return t

    def release(self) -> None:
        """Free what backward needed (saved tensors, arrays); small parameters stay."""
        d = self.__dict__
        d.pop("_saved", None)
        d.pop("_out", None)
        d.pop("_versions", None)
        if d:  # only nodes that keep more than what _record saved pay for the scan
            for k in [k for k, v in d.items() if type(v) in _NAMESPACES or isinstance(v, Tensor)]:
                del d[k]
        d["_freed"] = True

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, *grads):
        raise NotImplementedError


def version_of(t) -> int:
    """How many in-place changes the tensor's storage has seen (views share it with their base)."""
    base = t._base
    return t._version if base is None else base._version


def _freed_error(node: Node) -> RuntimeError:
    return RuntimeError(
        f"Trying to backward through the graph a second time (or to read saved values of "
        f"{node.name} after they have been freed). Saved intermediate values of the graph are "
        f"freed when you call .backward() or autograd.grad(). Specify retain_graph=True if you "
        f"need to backward through the graph a second time.")


def _version_error(node: Node, t, expected: int) -> RuntimeError:
    return RuntimeError(
        f"one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{t.dtype.name} tensor of shape {tuple(t.shape)}], which is output 0 of "
        f"{t.grad_fn.name if t.grad_fn is not None else 'a leaf'}, is at version {version_of(t)}; "
        f"expected version {expected} instead (saved by {node.name}).")


def _device_mismatch(node: Node, inputs) -> None:
    devices = ", ".join(str(t.device) for t in inputs if isinstance(t, Tensor))
    raise RuntimeError(f"{type(node).__name__}: expected all tensors to be on the same device, "
                       f"but found tensors on devices {devices}")


from ..tensor import Tensor  # noqa: E402 - tensor.py imports this module's users lazily

_new = object.__new__
