"""`F.linear` (one fused node: one GEMM forward, one GEMM per needed gradient) and `F.bilinear`."""
from __future__ import annotations

import numpy as np

from ... import array_extras as ae
from ...autograd.node import Node
from ...tensor import Tensor


class Linear(Node):
    """y = x W^T + b over the flattened batch: x (..., in), W (out, in), b (out,) or absent."""

    saves_inputs = True
    fresh_grads = True  # GEMM and sum results: the weight's and bias's .grad take them without a copy

    def forward(self, x, w, b=None):
        lead = x.shape[:-1]
        xp = self.xp
        if xp is np:  # NumPy's methods and an in-place bias add: the hot CPU path
            out = x.reshape(-1, x.shape[-1]) @ w.T
            if b is not None:
                out += b
            return out.reshape(lead + (w.shape[0],))
        out = xp.reshape(x, (-1, x.shape[-1])) @ w.mT
        if b is not None:
            out += b
        return xp.reshape(out, lead + (w.shape[0],))

    def backward(self, grad):
        x, w = self.saved_tensors[:2]
        n_out, n_in = w.shape
        g = grad.reshape(-1, n_out).contiguous()  # e.g. the broadcast ones of sum(): BLAS needs real strides
        grad_x = g.matmul(w).reshape(x.shape) if self.needs_input_grad(0) else None
        grad_w = g.T.matmul(x.reshape(-1, n_in)) if self.needs_input_grad(1) else None
        if len(self.edges) == 2:
            return grad_x, grad_w
        return grad_x, grad_w, (g.sum(0) if self.needs_input_grad(2) else None)

    def backward_arrays(self, grad):
        """`backward` on arrays: the same GEMMs without a node per product (first order only)."""
        x, w = self.saved_arrays()[:2]
        n_out, n_in = w.shape
        edges, xp = self.edges, self.xp
        if xp is np:
            g = grad.reshape(-1, n_out)
            if not g.flags.c_contiguous:
                g = np.ascontiguousarray(g)
            gx = (g @ w).reshape(x.shape) if edges[0] is not None else None
            gw = g.T @ x.reshape(-1, n_in) if edges[1] is not None else None
        else:
            g = xp.reshape(grad, (-1, n_out))
            gx = xp.reshape(g @ w, x.shape) if edges[0] is not None else None
            gw = g.mT @ xp.reshape(x, (-1, n_in)) if edges[1] is not None else None
        if len(edges) == 2:
            return gx, gw
        return gx, gw, (ae.reshape(ae.sum_keep(xp, g, (0,)), (n_out,)) if edges[2] is not None else None)


def _check_tensor(x, what: str, op: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{what}' must be Tensor, not {type(x).__name__}")


def _check_dtypes(op: str, **tensors) -> None:
    """All tensors of one floating dtype, or a RuntimeError naming each one's dtype."""
    dtypes = {name: t.dtype for name, t in tensors.items() if t is not None}
    if len(set(dtypes.values())) > 1 or not next(iter(dtypes.values())).is_floating_point:
        listed = ", ".join(f"{k} {v.name}" for k, v in dtypes.items())
        raise RuntimeError(f"{op}: expected tensors of one floating-point dtype, got {listed}")


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """input @ weight.T + bias, for input of shape (*, in_features) and weight (out_features, in_features)."""
    _check_tensor(input, "input", "linear")
    _check_tensor(weight, "weight", "linear")
    x, w = input._data, weight._data  # checks on the arrays: this runs once per layer call
    if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise RuntimeError(f"linear: input shape {tuple(x.shape)} and weight shape {tuple(w.shape)} cannot be "
                           "multiplied (expected input's last dimension to equal weight.shape[1])")
    try:  # the arrays' dtypes first (cheap): the full check only when they may be wrong
        floating = w.dtype.kind == "f"
    except AttributeError:  # a library's dtype without NumPy's `kind`
        floating = False
    if bias is None:
        if x.dtype != w.dtype or not floating:
            _check_dtypes("linear", input=input, weight=weight)
        return Linear()(input, weight)
    _check_tensor(bias, "bias", "linear")
    b = bias._data
    if b.shape != (w.shape[0],):
        raise RuntimeError(f"linear: bias of shape {tuple(b.shape)} does not match weight of shape "
                           f"{tuple(w.shape)} (expected ({w.shape[0]},))")
    if x.dtype != w.dtype or b.dtype != w.dtype or not floating:
        _check_dtypes("linear", input=input, weight=weight, bias=bias)
    return Linear()(input, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y[..., o] = sum_ij x1[..., i] W[o, i, j] x2[..., j] + b[o]: one GEMM, then a product and a sum."""
    for name, t in (("input1", input1), ("input2", input2), ("weight", weight)):
        _check_tensor(t, name, "bilinear")
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-dimensional (out, in1, in2), got shape "
                           f"{tuple(weight.shape)}")
    n_out, n1, n2 = weight.shape
    if input1.ndim == 0 or input1.shape[-1] != n1 or input2.ndim == 0 or input2.shape[-1] != n2 \
            or input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(f"bilinear(): input1 of shape {tuple(input1.shape)} and input2 of shape "
                           f"{tuple(input2.shape)} do not match weight of shape {tuple(weight.shape)} (expected "
                           f"(*, {n1}) and (*, {n2}) with the same leading dimensions)")
    if bias is not None and tuple(bias.shape) != (n_out,):
        raise RuntimeError(f"bilinear(): bias of shape {tuple(bias.shape)} does not match weight of shape "
                           f"{tuple(weight.shape)} (expected ({n_out},))")
    _check_dtypes("bilinear", input1=input1, input2=input2, weight=weight, bias=bias)
    lead = tuple(input1.shape[:-1])
    x1 = input1.reshape(-1, n1)
    x2 = input2.reshape(-1, 1, n2)
    # (N, in1) @ (in1, out * in2) -> (N, out, in2), then contract in2 with x2
    t = x1.matmul(weight.permute(1, 0, 2).reshape(n1, n_out * n2)).reshape(-1, n_out, n2)
    out = (t * x2).sum(-1)
    if bias is not None:
        out = out + bias
    return out.reshape(lead + (n_out,))


__all__ = ["linear", "bilinear"]
