"""The backward pass: walk the graph from the outputs back to the leaves.

1. Discover the graph reachable from the outputs' nodes (iteratively: a chain of
   any length works) and count, for every node and leaf, how many edges lead to it.
2. Start from d(output)/d(output) = 1 (or the given gradients) and run the nodes in
   reverse topological order: a node runs once every edge into it has delivered
   its gradient, summed over all paths (Kahn's algorithm on those counts).
3. Each node turns the gradient of its output into gradients of its inputs
   (vector-Jacobian products); gradients of broadcast inputs are summed back to
   the input's shape; leaves accumulate into `.grad`.

Without create_graph the gradients flow between nodes as bare arrays, through each
node's `backward_arrays` where it has one; a Tensor is made only where one is seen (a
node's Tensor `backward`, hooks, captured inputs, a leaf's `.grad`).
"""
from __future__ import annotations

from .. import array_extras as _extras
from ..device import namespace_of
from . import grad_mode
from .node import Node, _freed_error


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None) -> None:
    """Accumulate d(sum of tensors * grad_tensors)/d(leaf) into every leaf's `.grad`."""
    tensors, grads = _roots(tensors, grad_tensors, "backward")
    captured = run(tensors, grads, retain_graph, create_graph, inputs, accumulate=True)
    for t in () if inputs is None else ((inputs,) if isinstance(inputs, Tensor) else inputs):
        g = captured.get(_capture_key(t))
        if t.grad_fn is not None and g is not None:
            _accumulate(t, g)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False, materialize_grads=False) -> tuple:
    """The gradients of `outputs` with respect to `inputs`, without touching `.grad`."""
    single = isinstance(inputs, Tensor)
    inputs = (inputs,) if single else tuple(inputs)
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"autograd.grad: input {i} (shape {tuple(t.shape)}) does not require grad")
    outputs, grads = _roots(outputs, grad_outputs, "autograd.grad")
    captured = run(outputs, grads, retain_graph, create_graph, inputs, accumulate=False)
    result = []
    for i, t in enumerate(inputs):
        g = captured.get(_capture_key(t))
        if g is None:
            if materialize_grads:
                g = t.detach().zeros_like()
            elif not allow_unused:
                raise RuntimeError(f"autograd.grad: input {i} (shape {tuple(t.shape)}) appears to not have "
                                   "been used in the graph. Set allow_unused=True if this is the desired behavior.")
        result.append(g)
    return tuple(result)


def _roots(tensors, grads, op: str):
    tensors = (tensors,) if isinstance(tensors, Tensor) else tuple(tensors)
    if grads is None or isinstance(grads, Tensor):
        grads = (grads,) * len(tensors) if grads is None else (grads,)
    grads = tuple(grads)
    if len(grads) != len(tensors):
        raise RuntimeError(f"{op}: got {len(tensors)} tensors and {len(grads)} gradients")
    out = []
    for i, (t, g) in enumerate(zip(tensors, grads)):
        if not t.requires_grad:
            raise RuntimeError(f"{op}: element {i} of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if t.numel() != 1:
                raise RuntimeError(f"{op}: grad can be implicitly created only for scalar outputs, but the "
                                   f"output has shape {tuple(t.shape)}; pass `gradient=` of that shape")
            g = Tensor._make(namespace_of(t._data).ones_like(t._data))
        elif not isinstance(g, Tensor):
            raise TypeError(f"{op}: gradients must be Tensors, got {type(g).__name__}")
        elif tuple(g.shape) != tuple(t.shape):
            raise RuntimeError(f"{op}: mismatch in shape: grad_output[{i}] has a shape of {tuple(g.shape)} "
                               f"and output[{i}] has a shape of {tuple(t.shape)}")
        out.append(g)
    return tensors, out


def _capture_key(t):
    return t if t.grad_fn is None else (t.grad_fn, t._out_nr)


def _discover(roots) -> dict:
    """Count the edges into every node and leaf reachable from the roots (its keys: all of them)."""
    deps = dict.fromkeys(roots, 0)  # each root once, even when several outputs share it
    stack = [r for r in deps if isinstance(r, Node)]
    while stack:
        for e in stack.pop().edges:
            if e is not None:
                target = e[0]
                if target in deps:
                    deps[target] += 1
                else:
                    deps[target] = 1
                    if isinstance(target, Node):
                        stack.append(target)
    return deps


def _needed(seen, targets) -> set:
    """The nodes from which some target can be reached (the only ones worth running)."""
    parents: dict = {}
    for node in seen:
        if isinstance(node, Node):
            for e in node.edges:
                if e is not None:
                    parents.setdefault(e[0], []).append(node)
    needed = set()
    stack = [t for t in targets if t in seen]
    while stack:
        n = stack.pop()
        if n in needed:
            continue
        needed.add(n)
        stack.extend(parents.get(n, ()))
    return needed


def run(tensors, grads, retain_graph, create_graph, inputs, accumulate: bool):
    """The engine. Returns the captured gradients of `inputs` (a dict) when inputs are given."""
    if retain_graph is None:
        retain_graph = create_graph
    roots = [t.grad_fn if t.grad_fn is not None else t for t in tensors]
    deps = _discover(roots)

    capture = None
    needed = None
    if inputs is not None:
        inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
        capture = {_capture_key(t) for t in inputs}
        needed = _needed(deps, [k if isinstance(k, Tensor) else k[0] for k in capture])
        deps = _restricted_deps(needed)
    captured: dict = {}

    arrays = not create_graph  # first order: the buffers hold arrays, else Tensors
    buffers: dict = {}
    for t, g in zip(tensors, grads):
        key = t.grad_fn if t.grad_fn is not None else t
        buf = buffers.setdefault(key, [None] * key.n_outputs if isinstance(key, Node) else [None, False])
        g = g._data if arrays else g
        buf[t._out_nr] = g if buf[t._out_nr] is None else _add(buf[t._out_nr], g)
    ready = [r for r in dict.fromkeys(roots) if deps.get(r, 0) == 0]

    prev_mode = grad_mode.state.enabled
    grad_mode.state.enabled = create_graph
    try:
        while ready:
            key = ready.pop()
            gs = buffers.pop(key, None)
            if not isinstance(key, Node):
                _leaf(key, _tensor(gs[0]) if gs else None, capture, captured, accumulate, gs is not None and gs[1])
                continue
            node = key
            if gs is not None and node.pre_hooks is not None:
                gs = _run_pre_hooks(node, gs, arrays)
            if capture is not None:
                for k in range(node.n_outputs):
                    if (node, k) in capture and gs is not None and gs[k] is not None:
                        captured[(node, k)] = _tensor(gs[k])
                if node not in needed:
                    continue
            if gs is None:
                in_grads = (None,) * len(node.edges)
            else:
                in_grads = _call_backward(node, gs, arrays)
                if not retain_graph:
                    node.release()
            for e, g in zip(node.edges, in_grads):
                if e is None:
                    continue
                target = e[0]
                if needed is not None and target not in needed:
                    continue
                if g is not None:  # sum the gradients arriving along every path
                    buf = buffers.get(target)
                    if buf is None:  # a leaf's: [gradient, whether nothing else holds its array (see _leaf)]
                        buf = buffers[target] = ([None] * target.n_outputs if isinstance(target, Node)
                                                 else [None, node.fresh_grads])
                    k = e[1]
                    buf[k] = g if buf[k] is None else _add(buf[k], g)
                n = deps[target] - 1
                deps[target] = n
                if n == 0:
                    ready.append(target)
    finally:
        grad_mode.state.enabled = prev_mode
    return captured if capture is not None else None


def _restricted_deps(needed) -> dict:
    deps: dict = {}
    for node in needed:
        if isinstance(node, Node):
            for e in node.edges:
                if e is not None and e[0] in needed:
                    deps[e[0]] = deps.get(e[0], 0) + 1
    return deps


def _call_backward(node: Node, gs: list, arrays: bool) -> tuple:
    """The node's gradients for its inputs: arrays (first order) or Tensors, summed back to broadcast inputs'
    shapes."""
    if node._freed:  # its saved state is gone: backward again through a released graph
        raise _freed_error(node)
    res = None
    if arrays:
        if node.backward_arrays is not None:  # the node's fast path
            g = gs[0]
            res = node.backward_arrays(g)
            if res is not None:
                kind = type(g)
                for a in res:
                    if a is not None and type(a) is not kind:  # a ufunc on 0-dim arrays returns a scalar
                        res = tuple(a if a is None or type(a) is kind else node.xp.asarray(a) for a in res)
                        break
        if res is None:
            res = _backward(node, [None if g is None else _make(g) for g in gs])
            res = tuple(None if t is None else t._data for t in res)
    else:
        res = _backward(node, gs)
    if len(res) != len(node.edges):
        raise RuntimeError(f"{node.name} returned {len(res)} gradients, expected {len(node.edges)}")
    shapes = node.in_shapes
    if shapes is not None:
        res = tuple(g if g is None or s is None else _summed_to(node, g, s) for g, s in zip(res, shapes))
    if _anomaly.enabled:
        _anomaly.check(node, res)
    return res


def _summed_to(node: Node, g, shape: tuple):
    """An input's gradient (an array or a Tensor) summed back to the shape the input had before broadcasting."""
    if isinstance(g, Tensor):
        return g if g._data.shape == shape else g.sum_to_size(shape)
    return g if g.shape == shape else _extras.sum_to(node.xp, g, shape)


def _backward(node: Node, gs: list) -> tuple:
    """The node's Tensor formula, its result as a tuple."""
    res = node.backward(gs[0]) if node.n_outputs == 1 else node.backward(*gs)
    return res if type(res) is tuple else (res,)


def _add(a, b):
    """Two gradients of one output summed (arrays or Tensors); a 0-dim array sum stays an array."""
    s = a + b
    return s if type(s) is type(a) else namespace_of(a).asarray(s)


def _tensor(g):
    """A gradient as a Tensor (the buffers hold arrays in a first-order backward)."""
    return g if g is None or isinstance(g, Tensor) else _make(g)


def _run_pre_hooks(node: Node, gs: list, arrays: bool) -> list:
    """Tensor hooks on a non-leaf output, then `retain_grad` (after the hooks, as in PyTorch)."""
    gs = [_tensor(g) for g in gs]
    hooks, retained = node.pre_hooks
    for k, fn in list(hooks.values()):
        if gs[k] is not None:
            r = fn(gs[k])
            if r is not None:
                gs[k] = r
    for k, ref in retained.items():
        t = ref()
        if t is not None and gs[k] is not None:
            _accumulate(t, gs[k])
    return [None if g is None else g._data for g in gs] if arrays else gs


def _leaf(t, g, capture, captured, accumulate: bool, owned: bool) -> None:
    """Deliver a leaf's total gradient: through its hooks, then into `.grad` or the capture. `owned`: its
    array is the leaf's alone (the first part came from a `fresh_grads` node; any later part was summed into
    a new array), so an unset `.grad` may take it without a copy, as PyTorch's AccumulateGrad does, unless
    a hook or the capture has seen it."""
    if g is None:
        return
    if t._hooks:
        for fn in list(t._hooks.values()):
            r = fn(g)
            if r is not None:
                g = r
    if capture is not None:
        if t in capture:
            captured[t] = g
        if not accumulate:
            return
    if accumulate:
        _accumulate(t, g, owned and not t._hooks and capture is None)
        if t._post_accumulate_hooks:
            for fn in list(t._post_accumulate_hooks.values()):
                fn(t)


def _accumulate(t, g, owned: bool = False) -> None:
    """Add into `.grad`. Without create_graph `.grad` owns its array, a copy unless `owned` (a gradient may be
    shared between inputs, e.g. both sides of an add), and later adds happen in place."""
    if grad_mode.state.enabled:
        t.grad = g if t.grad is None else t.grad + g
    elif t.grad is None:
        t.grad = Tensor._make(g._data if owned else _extras.copy(g._data))
    elif t.grad.requires_grad:
        t.grad = Tensor._make(t.grad._data + g._data)
    else:
        t.grad._data += g._data


class _Anomaly:
    """`detect_anomaly` flips `enabled`; the check names the op whose backward made NaN/Inf."""

    enabled = False

    @staticmethod
    def check(node: Node, grads) -> None:
        for i, g in enumerate(grads):
            a = g._data if isinstance(g, Tensor) else g
            if a is not None and not bool((xp := namespace_of(a)).all(xp.isfinite(a))):
                raise RuntimeError(f"Function '{node.name}' returned nan or inf values in its {i}th output.")


_anomaly = _Anomaly

from ..tensor import Tensor  # noqa: E402

_make = Tensor._make
