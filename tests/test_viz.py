"""retrograd.viz: the DOT graph of a known MLP (exact nodes and edges), traced shapes and gradient
norms, collapsed transformer blocks, rendering through Graphviz, and the `graph` command's function."""
from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

import retrograd as rg
from retrograd import _op_tap, nn, viz
from retrograd.autograd import engine
from retrograd.autograd.node import Node

NODE = re.compile(r'^\s+(\w+) \[label="(.*)", fillcolor=(\w+)\]$')
EDGE = re.compile(r"^\s+(\w+) -> (\w+)(?: \[(.*)\])?$")


def parse(source: str) -> tuple[dict, set, set]:
    """{id: label lines}, forward edges {(a, b)}, backward edges {(a, b): attributes}."""
    nodes, forward, backward = {}, set(), {}
    for line in source.splitlines():
        if m := NODE.match(line):
            nodes[m[1]] = m[2].split("\\n")
        elif m := EDGE.match(line):
            if m[3]:
                backward[(m[1], m[2])] = m[3]
            else:
                forward.add((m[1], m[2]))
    return nodes, forward, backward


def describe(lines: list[str]) -> str:
    """An op as 'Name@module', a leaf by its name."""
    module = next((x[3:] for x in lines if x.startswith("in ")), None)
    return lines[0] if module is None else f"{lines[0]}@{module}"


def traced_mlp():
    rg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x, y = rg.randn(5, 4), rg.randn(5, 3)
    with viz.trace(model):
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
    return model, loss


def test_mlp_graph_has_exactly_the_expected_nodes_and_edges():
    model, loss = traced_mlp()
    nodes, forward, backward = parse(viz.make_dot(loss, module=model).source)
    names = {k: describe(v) for k, v in nodes.items()}
    assert sorted(names.values()) == sorted(["MSEBackward", "LinearBackward@2", "ReluBackward@1",
                                             "LinearBackward@0", "0.weight", "0.bias", "2.weight", "2.bias"])
    expected = {("0.weight", "LinearBackward@0"), ("0.bias", "LinearBackward@0"),
                ("LinearBackward@0", "ReluBackward@1"), ("ReluBackward@1", "LinearBackward@2"),
                ("2.weight", "LinearBackward@2"), ("2.bias", "LinearBackward@2"), ("LinearBackward@2", "MSEBackward")}
    assert {(names[a], names[b]) for a, b in forward} == expected
    # every forward edge has its gradient edge, reversed, dashed and coloured
    assert {(names[b], names[a]) for a, b in backward} == expected
    assert all("style=dashed" in attrs and "color=red" in attrs for attrs in backward.values())


def test_nodes_show_shape_dtype_and_gradient_norm():
    model, loss = traced_mlp()
    nodes, _, _ = parse(viz.make_dot(loss, module=model).source)
    by_name = {describe(v): v for v in nodes.values()}
    assert "(5, 8) float32" in by_name["LinearBackward@0"]
    assert "(5, 3) float32" in by_name["LinearBackward@2"]
    assert "() float32" in by_name["MSEBackward"] and "grad norm 1" in by_name["MSEBackward"]
    w = model[0].weight
    assert by_name["0.weight"][1] == "(8, 4) float32"
    assert by_name["0.weight"][2] == f"grad norm {np.linalg.norm(w.grad.numpy()):.3g}"
    # the gradient reaching the last Linear's output is d(mean (out - y)^2)/d(out)
    out_grad_norm = float(by_name["LinearBackward@2"][-1].split()[-1])
    assert out_grad_norm > 0


def test_without_trace_ops_are_named_and_params_come_from_a_dict():
    w = rg.randn(3, 3, requires_grad=True)
    loss = (rg.randn(2, 3) @ w).tanh().sum()
    nodes, forward, _ = parse(viz.make_dot(loss, params={"w": w}, backward_edges=False).source)
    assert sorted(v[0] for v in nodes.values()) == ["MatMulBackward", "SumBackward", "TanhBackward", "w"]
    assert len(forward) == 3
    assert "style=dashed" not in viz.make_dot(loss, backward_edges=False).source


def test_multi_output_nodes_list_each_output():
    x = rg.randn(4, 6, requires_grad=True)
    with viz.trace():
        a, b = x.chunk(2, dim=1)
        loss = (a * b).sum()
    nodes, _, _ = parse(viz.make_dot(loss, params={"x": x}).source)
    split = next(v for v in nodes.values() if v[0] == "SplitBackward")
    assert split[1:3] == ["out 0: (4, 3) float32", "out 1: (4, 3) float32"]


def test_autograd_function_nodes_are_traced():
    class Cube(rg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return 3 * x * x * g

    x = rg.randn(2, 5, requires_grad=True)
    with viz.trace():
        loss = Cube.apply(x).sum()
        loss.backward()
    nodes, _, _ = parse(viz.make_dot(loss).source)
    cube = next(v for v in nodes.values() if v[0] == "CubeBackward")
    assert cube[1] == "(2, 5) float32" and cube[2].startswith("grad norm")


class TinyBlock(nn.Module):
    """Pre-norm attention + MLP block, enough ops to need collapsing."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, 2, batch_first=True)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x):
        h = self.ln1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))


def traced_transformer():
    rg.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), TinyBlock(8), TinyBlock(8), nn.Linear(8, 4))
    with viz.trace(model):
        loss = model(rg.randn(2, 5, 6)).pow(2).mean()
        loss.backward()
    return model, loss


def test_collapsed_transformer_has_one_node_per_block():
    model, loss = traced_transformer()
    full, _, _ = parse(viz.make_dot(loss, module=model).source)
    nodes, forward, backward = parse(viz.make_dot(loss, module=model, collapse=TinyBlock).source)
    assert len(full) > 3 * len(nodes)
    blocks = sorted(v[0] for v in nodes.values() if v[0].endswith(": TinyBlock"))
    assert blocks == ["1: TinyBlock", "2: TinyBlock"]
    assert not any(line.startswith(("in 1", "in 2")) for v in nodes.values() for line in v)
    assert not any(v[0].startswith(("1.", "2.")) for v in nodes.values())  # their parameters are inside
    names = {k: describe(v) for k, v in nodes.items()}
    assert ("1: TinyBlock", "2: TinyBlock") in {(names[a], names[b]) for a, b in forward}
    block = next(v for v in nodes.values() if v[0] == "1: TinyBlock")
    n_params = sum(p.numel() for p in model[1].parameters())
    assert f"{n_params:,} parameters" in block[1]
    assert "(2, 5, 8) float32" in block and block[-1].startswith("grad norm")
    assert len(backward) == len(forward) and all(a != b for a, b in forward)  # no edges inside a block


def test_collapse_by_depth_gives_one_node_per_top_level_module():
    model, loss = traced_transformer()
    nodes, _, _ = parse(viz.make_dot(loss, module=model, collapse=True).source)
    firsts = sorted(v[0] for v in nodes.values())
    assert firsts == ["0: Linear", "1: TinyBlock", "2: TinyBlock", "3: Linear", "MeanBackward", "PowBackward"]


def test_bad_arguments():
    x = rg.randn(3, requires_grad=True)
    with pytest.raises(TypeError, match="expected Tensors"):
        viz.make_dot([x, 3])
    with pytest.raises(RuntimeError, match="does not require grad"):
        viz.make_dot(rg.randn(3))
    with pytest.raises(ValueError, match="needs the model"):
        viz.make_dot(x.sum(), collapse=nn.Linear)
    with pytest.raises(TypeError, match="collapse must be"):
        viz.make_dot(x.sum(), collapse="blocks")
    with pytest.raises(ValueError, match=">= 1"):
        viz.make_dot(x.sum(), collapse=0)
    with pytest.raises(TypeError, match="nn.Module"):
        viz.trace(object())
    with pytest.raises(ValueError, match="format"):
        viz.draw(x.sum(), "graph.jpeg")


def test_trace_leaves_nothing_behind():
    original_call, original_backward = Node.__dict__["__call__"], engine._call_backward
    model, _ = traced_mlp()
    assert Node.__dict__["__call__"] is original_call and engine._call_backward is original_backward
    assert not _op_tap._listeners
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_dot_text_written_without_graphviz(tmp_path):
    _, loss = traced_mlp()
    viz.draw(loss, tmp_path / "g.dot")
    assert (tmp_path / "g.dot").read_text().startswith("digraph {")


needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz's dot program is absent (apt-get install graphviz)")


@needs_dot
def test_renders_svg_and_png(tmp_path):
    pytest.importorskip("graphviz", reason="the graphviz package is absent (pip install graphviz)")
    model, loss = traced_mlp()
    viz.draw(loss, tmp_path / "g.svg", module=model)
    viz.draw(loss, tmp_path / "g.png", module=model)
    svg = (tmp_path / "g.svg").read_text()
    assert "<svg" in svg and "0.weight" in svg and "LinearBackward" in svg
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_dot
@pytest.mark.parametrize("model", ["mlp", "transformer"])
def test_graph_command(model, tmp_path):
    pytest.importorskip("graphviz", reason="the graphviz package is absent (pip install graphviz)")
    viz.graph_command(model, str(tmp_path / "g.svg"))
    viz.graph_command(model, str(tmp_path / "g.dot"))
    svg, dot = (tmp_path / "g.svg").read_text(), (tmp_path / "g.dot").read_text()
    assert "<svg" in svg and "style=dashed" in dot and "grad norm" in dot
    assert ("0.weight" if model == "mlp" else "attn.qkv.weight") in dot
    viz.graph_command(model, str(tmp_path / "again.dot"))
    assert (tmp_path / "again.dot").read_text() == dot  # seeded: the same picture every time


def test_graph_command_rejects_unknown_models(tmp_path):
    with pytest.raises(ValueError, match="mlp, transformer"):
        viz.graph_command("resnet", str(tmp_path / "g.svg"))
