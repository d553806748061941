"""Pictures of the computational graph: one node per op, forward edges solid, gradient edges dashed.

    with viz.trace(model):                 # remember each op's output shape, dtype and module
        loss = loss_fn(model(x), y)
        loss.backward()                    # and the norm of the gradient through each op
    dot = viz.make_dot(loss, module=model) # dot.source is the DOT text
    viz.draw(loss, "graph.svg", module=model, collapse=1)

The graph is walked from the tensor's `grad_fn` through `node.edges`. Nodes do not store their
output's shape, so a `trace()` around the forward records it (and which module was running), and
around the backward the norm of each node's incoming gradient; outside a trace ops are shown by
name only. Rendering SVG/PNG needs the `graphviz` package and Graphviz's `dot` program
(`pip install graphviz`, `apt-get install graphviz`); DOT text needs nothing.
"""
from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from . import _op_tap
from .autograd.node import Node
from .diagnostics import array_norm
from .nn.modules.module import Module
from .tensor import Tensor

# What traces learnt about nodes, kept only as long as the nodes live.
_outputs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # node -> {output index: (shape, dtype)}
_modules: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # node -> module path while it was made
_grad_norms: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # node -> norm of its outputs' gradient

_RENDERED = {"svg", "png", "pdf"}
_TEXT = {"dot", "gv"}
_COLORS = {"param": "lightblue", "leaf": "lightgray", "root": "darkolivegreen1", "group": "lightyellow",
           "op": "white"}


class trace:  # noqa: N801 - a context manager used like a function, as `no_grad`
    """Record what `make_dot` shows: each op's output shape/dtype and module (forward), gradient norms
    (backward). With `module`, forward hooks on its sub-modules name the module running each op."""

    def __init__(self, module: Module | None = None) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"viz.trace: module must be an nn.Module, got {type(module).__name__}")
        self.module = module
        self._stack: list[str] = []
        self._handles: list = []

    def __enter__(self) -> trace:
        if self.module is not None:
            for path, m in self.module.named_modules():
                self._handles.append(m.register_forward_pre_hook(partial(self._enter_module, path)))
                self._handles.append(m.register_forward_hook(partial(self._leave_module, path)))
        _op_tap.attach(self)
        return self

    def __exit__(self, *exc) -> None:
        _op_tap.detach(self)
        for h in self._handles:
            h.remove()
        self._handles.clear()
        self._stack.clear()

    def _enter_module(self, path: str, module: Module, args: tuple) -> None:
        self._stack.append(path)

    def _leave_module(self, path: str, module: Module, args: tuple, output: Any) -> None:
        if self._stack and self._stack[-1] == path:
            self._stack.pop()

    # ---- listener of retrograd._op_tap ----------------------------------------------
    def forward(self, name: str, run: Callable[[], Any]) -> Any:
        out = run()
        path = self._stack[-1] if self._stack else ""
        for t in out if isinstance(out, (tuple, list)) else (out,):
            node = getattr(t, "grad_fn", None) if isinstance(t, Tensor) else None
            if node is not None:
                _outputs.setdefault(node, {})[t._out_nr] = (tuple(t._data.shape), t.dtype.name)
                _modules.setdefault(node, path)
        return out

    def backward(self, node: Node, grads: list, run: Callable[[], tuple]) -> tuple:
        _grad_norms[node] = sum(array_norm(g._data if isinstance(g, Tensor) else g) ** 2
                                for g in grads if g is not None) ** 0.5
        return run()


class Dot:
    """A graph as DOT text (`source`), which `save` writes and `render` turns into SVG/PNG/PDF."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __repr__(self) -> str:
        return self.source

    def save(self, path: str | os.PathLike) -> None:
        """Write the DOT text."""
        with open(path, "w") as f:
            f.write(self.source)

    def pipe(self, format: str) -> bytes:  # noqa: A002 - graphviz's name
        """The picture in `format` ('svg', 'png', 'pdf'), drawn by Graphviz's `dot`."""
        try:
            import graphviz
        except ImportError:
            raise ModuleNotFoundError("drawing a graph as SVG/PNG needs the graphviz package: pip install graphviz "
                                      "(and Graphviz's dot program: apt-get install graphviz)") from None
        try:
            return graphviz.Source(self.source).pipe(format=format)
        except graphviz.ExecutableNotFound:
            raise RuntimeError("drawing a graph needs Graphviz's `dot` program on PATH: apt-get install graphviz "
                               "(or brew install graphviz); DOT text (.dot) needs nothing") from None

    def render(self, path: str | os.PathLike) -> None:
        """Write the picture to `path`; its extension picks the format (.svg, .png, .pdf, or .dot for text)."""
        ext = os.path.splitext(os.fspath(path))[1].lstrip(".").lower()
        if ext in _TEXT:
            self.save(path)
        elif ext in _RENDERED:
            data = self.pipe(ext)
            with open(path, "wb") as f:
                f.write(data)
        else:
            raise ValueError(f"viz: cannot tell the format of '{os.fspath(path)}': expected a path ending in "
                             f"{', '.join('.' + e for e in sorted(_TEXT | _RENDERED))}")


def make_dot(roots: Tensor | Iterable[Tensor], params: dict[str, Tensor] | None = None,
             module: Module | None = None, collapse: bool | int | type | tuple[type, ...] | None = None,
             backward_edges: bool = True) -> Dot:
    """The graph that produced `roots`, as DOT.

    Leaves are named from `params` ({name: tensor}) or `module` (its `named_parameters`).
    `collapse` draws whole modules as one node: an int keeps module paths to that many parts
    (`1`: `layers`, `2`: `layers.0`; True is 1), a Module class (or tuple of them) collapses each
    instance (needs `module`). Backward edges (dashed) carry the gradient the other way.
    """
    roots = (roots,) if isinstance(roots, Tensor) else tuple(roots)
    for i, t in enumerate(roots):
        if not isinstance(t, Tensor):
            raise TypeError(f"viz.make_dot: expected Tensors, got {type(t).__name__} at position {i}")
        if not t.requires_grad:
            raise RuntimeError(f"viz.make_dot: tensor {i} (shape {tuple(t.shape)}) does not require grad, "
                               "so it has no graph to draw")
    names = {}
    if module is not None:
        names.update({p: n for n, p in module.named_parameters()})
    if params is not None:
        names.update({p: n for n, p in params.items()})
    start = [t.grad_fn if t.grad_fn is not None else t for t in roots]
    items, edges = _walk(start)
    kinds = {} if module is None else {path: type(m).__name__ for path, m in module.named_modules()}
    group_of = _grouping(collapse, module)
    return Dot(_Drawing(items, edges, set(start), names, kinds, group_of, backward_edges).source())


def draw(roots: Tensor | Iterable[Tensor], path: str | os.PathLike, params: dict[str, Tensor] | None = None,
         module: Module | None = None, collapse: bool | int | type | tuple[type, ...] | None = None,
         backward_edges: bool = True) -> Dot:
    """`make_dot`, written to `path` (.svg, .png, .pdf, or .dot for the text)."""
    dot = make_dot(roots, params, module, collapse, backward_edges)
    dot.render(path)
    return dot


def _walk(start: list) -> tuple[list, list]:
    """The nodes and leaves reachable from `start` (in discovery order) and the edges (input, consumer)."""
    items = list(dict.fromkeys(start))
    seen = set(items)
    edges = []
    i = 0
    while i < len(items):
        node = items[i]
        i += 1
        if not isinstance(node, Node):
            continue
        for e in node.edges:
            if e is None:
                continue
            edges.append((e[0], node))
            if e[0] not in seen:
                seen.add(e[0])
                items.append(e[0])
    return items, list(dict.fromkeys(edges))


def _grouping(collapse, module: Module | None) -> Callable[[str], str | None]:
    """Map a module path to the collapsed node it belongs to (None: drawn op by op)."""
    if collapse is None or collapse is False:
        return lambda path: None
    if collapse is True:
        collapse = 1
    if isinstance(collapse, int):
        if collapse < 1:
            raise ValueError(f"viz: collapse depth must be >= 1, got {collapse}")
        return lambda path: ".".join(path.split(".")[:collapse]) if path else None
    kinds = collapse if isinstance(collapse, tuple) else (collapse,)
    if not all(isinstance(k, type) and issubclass(k, Module) for k in kinds):
        raise TypeError(f"viz: collapse must be a bool, a depth (int) or Module classes, got {collapse!r}")
    if module is None:
        raise ValueError("viz: collapsing by module class needs the model: pass module=")
    collapsed = {path for path, m in module.named_modules() if isinstance(m, kinds)}

    def group(path: str) -> str | None:
        parts = path.split(".") if path else []
        for k in range(1, len(parts) + 1):
            prefix = ".".join(parts[:k])
            if prefix in collapsed:
                return prefix
        return "" if "" in collapsed else None

    return group


class _Drawing:
    """Turns walked items and edges into DOT text, one node per op/leaf or per collapsed module."""

    def __init__(self, items: list, edges: list, roots: set, names: dict, kinds: dict, group_of: Callable,
                 backward_edges: bool) -> None:
        self.names = names
        self.kinds = kinds
        self.roots = roots
        self.backward_edges = backward_edges
        self.key = {}  # item -> the id of its drawn node
        self.members: dict[str, list] = {}  # drawn id of a collapsed module -> its items
        self.group_path: dict[str, str] = {}  # drawn id of a collapsed module -> the module's path
        group_ids: dict[str, str] = {}
        singles = 0
        for item in items:
            group = group_of(self._module_path(item))
            if group is None:
                self.key[item] = f"n{singles}"
                singles += 1
                continue
            k = group_ids.get(group)
            if k is None:
                k = group_ids[group] = f"g{len(group_ids)}"
                self.group_path[k] = group
                self.members[k] = []
            self.members[k].append(item)
            self.key[item] = k
        self.edges = list(dict.fromkeys((self.key[a], self.key[b]) for a, b in edges if self.key[a] != self.key[b]))
        self.consumers = {}
        for a, b in edges:
            self.consumers.setdefault(a, []).append(b)
        self.items = items

    def _module_path(self, item) -> str:
        if isinstance(item, Node):
            return _modules.get(item, "")
        name = self.names.get(item)
        return name.rpartition(".")[0] if name else ""

    def source(self) -> str:
        out = ["digraph {", '    graph [rankdir=TB, fontname="Helvetica"]',
               '    node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10]',
               '    edge [color=black]']
        drawn = set()
        for item in self.items:
            k = self.key[item]
            if k in drawn:
                continue
            drawn.add(k)
            if k in self.members:
                label, color = self._group_label(k), _COLORS["group"]
            elif isinstance(item, Node):
                label, color = self._op_label(item), _COLORS["root" if item in self.roots else "op"]
            else:
                label, color = self._leaf_label(item), _COLORS["param" if item in self.names else "leaf"]
            out.append(f'    {k} [label="{_escape(label)}", fillcolor={color}]')
        for a, b in self.edges:
            out.append(f"    {a} -> {b}")
        if self.backward_edges:
            for a, b in self.edges:
                out.append(f"    {b} -> {a} [style=dashed, color=red, constraint=false]")
        out.append("}")
        return "\n".join(out) + "\n"

    @staticmethod
    def _shapes(node: Node) -> list[str]:
        outs = _outputs.get(node)
        if not outs:
            return []
        if len(outs) == 1 and node.n_outputs == 1:
            shape, dtype = next(iter(outs.values()))
            return [f"{shape} {dtype}"]
        return [f"out {k}: {shape} {dtype}" for k, (shape, dtype) in sorted(outs.items())]

    def _op_label(self, node: Node) -> str:
        lines = [node.name] + self._shapes(node)
        path = _modules.get(node)
        if path:
            lines.append(f"in {path}")
        if node in _grad_norms:
            lines.append(f"grad norm {_grad_norms[node]:.3g}")
        return "\n".join(lines)

    def _leaf_label(self, t: Tensor) -> str:
        lines = [self.names.get(t, "leaf"), f"{tuple(t.shape)} {t.dtype.name}"]
        if t.grad is not None:
            lines.append(f"grad norm {array_norm(t.grad._data):.3g}")
        return "\n".join(lines)

    def _group_label(self, key: str) -> str:
        """A collapsed module: its ops and parameters, and the shape and gradient of what leaves it."""
        members = self.members[key]
        path = self.group_path[key]
        ops = [m for m in members if isinstance(m, Node)]
        params = [m for m in members if not isinstance(m, Node)]
        exits = [n for n in ops if n in self.roots or any(self.key[c] != key for c in self.consumers.get(n, ()))]
        kind = self.kinds.get(path)
        lines = [f"{path or '(model)'}: {kind}" if kind else path or "(model)",
                 f"{len(ops)} op{'s' * (len(ops) != 1)}, {sum(p.numel() for p in params):,} parameters"]
        if len(exits) == 1:
            lines += self._shapes(exits[0])
        norms = [_grad_norms[n] for n in exits if n in _grad_norms]
        if norms:
            lines.append(f"grad norm {sum(v * v for v in norms) ** 0.5:.3g}")
        return "\n".join(lines)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


# ---- `python -m retrograd graph MODEL OUT` -------------------------------------------------------
def _mlp_example() -> tuple[Module, Callable[[], Tensor]]:
    """A two-layer MLP on a batch of 8 random 4-feature points, with a cross-entropy loss over 3 classes."""
    from . import nn
    from .random import randint, randn

    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    x, y = randn(8, 4), randint(0, 3, (8,))
    return model, lambda: nn.functional.cross_entropy(model(x), y)


def _transformer_example() -> tuple[Module, Callable[[], Tensor]]:
    """One pre-norm transformer block (width 16, 2 heads) on a batch of 2 random sequences of 5."""
    from .random import randn
    from .train.models import Block

    model = Block(16, 2)
    x = randn(2, 5, 16)
    return model, lambda: model(x).pow(2).mean()


EXAMPLES = {"mlp": _mlp_example, "transformer": _transformer_example}


def graph_command(model_name: str, out_path: str) -> None:
    """Draw the graph of a bundled example model after one forward and backward (seeded, so the
    picture is the same every time) to `out_path` (.svg, .png, .pdf or .dot)."""
    from .random import get_rng_state, manual_seed, set_rng_state

    if model_name not in EXAMPLES:
        raise ValueError(f"graph: unknown model '{model_name}', expected one of {', '.join(EXAMPLES)}")
    state = get_rng_state()
    manual_seed(0)
    try:
        model, loss_fn = EXAMPLES[model_name]()
        with trace(model):
            loss = loss_fn()
            loss.backward()
    finally:
        set_rng_state(state)
    draw(loss, out_path, module=model)


__all__ = ["trace", "make_dot", "draw", "Dot", "graph_command", "EXAMPLES"]
