"""Attention: `scaled_dot_product_attention` as one fused node.

softmax(Q K^T * scale + mask) V in one forward (two GEMMs, a stable softmax in place)
and a hand-written backward of five Tensor lines, so that double backward works:

    dV = P^T dO,  dP = dO V^T,  dS = P * (dP - rowsum(dP * P)),  dQ = dS K * scale,  dK = dS^T Q * scale

The node can also return the attention probabilities as a second output (what
`MultiheadAttention(need_weights=True)` reports), with their gradient folded into dP.
"""
# ruff: noqa: A002 - `input` is PyTorch's argument name
from __future__ import annotations

import math

import numpy as np

from ... import dtypes as dt
from ...autograd import grad_mode
from ...autograd.node import Node
from ...device import _DEFAULT_ARRAY, _NAMESPACES, namespace_of, to_device
from ...ops.elementwise import where
from ...ops.linalg import _C_NAMES, MatMul
from ...random import _gen
from ...tensor import Tensor

_state = grad_mode.state
_NEG_INF = float("-inf")


def record_outputs(node: Node, inputs: tuple, arrays: tuple) -> tuple:
    """Wrap the arrays a multi-output node computed, and record the node once if a gradient is needed."""
    record = _state.enabled and any(isinstance(t, Tensor) and t._requires_grad for t in inputs)
    outs = []
    for k, a in enumerate(arrays):
        t = Tensor._make(a)
        if record:
            t._requires_grad, t.grad_fn, t._out_nr = True, node, k
        outs.append(t)
    if record:
        node._record(inputs, None)
    return tuple(outs)


class ScaledDotProductAttention(Node):
    """softmax(q k^T * scale + bias) (dropped out) @ v; outputs the result and, with `weights`, the probabilities.

    `bias` is an additive float mask (None for none); `keep` the dropout's scaled keep mask (None for none).
    A fully masked row gives zeros, or NaN with `weights` (as PyTorch's MultiheadAttention reports it)."""

    saves_inputs = True
    broadcasts = True  # batch dims of q, k, v and the mask broadcast like matmul's

    def __init__(self, scale: float, keep, weights: bool):
        self.scale, self.keep, self.weights = scale, keep, weights
        self.n_outputs = 2 if weights else 1

    def forward(self, q, k, v, bias):
        xp = self.xp
        kt = k.swapaxes(-1, -2) if xp is np else k.mT
        if q.shape[-1] <= k.shape[-2]:  # scale the smaller of q and the scores
            s = xp.matmul(q * self.scale, kt)
        else:
            s = xp.matmul(q, kt)
            s *= self.scale
        if bias is not None:
            if xp is np:
                s = xp.add(s, bias, out=s) if s.shape == xp.broadcast_shapes(s.shape, bias.shape) else s + bias
            else:
                s = _add_in_place(s, bias)
        m = xp.max(s, axis=-1, keepdims=True)
        safe = bias is not None and not self.weights
        if safe:  # a fully masked row: exp(-inf - 0) = 0 everywhere, and the row of P is 0 as in PyTorch
            if xp is np:
                m[m == _NEG_INF] = 0.0
            else:  # `where`: no boolean-mask indexing on a GPU
                m = xp.where(m == _NEG_INF, 0.0, m)
        s -= m
        if xp is np:
            xp.exp(s, out=s)
        else:
            s = xp.exp(s)
        total = xp.sum(s, axis=-1, keepdims=True)
        if safe:
            if xp is np:
                total[total == 0] = 1.0
            else:
                total = xp.where(total == 0, 1.0, total)
        s /= total
        self.p = s
        pd = s if self.keep is None else s * self.keep
        out = xp.matmul(pd, v)
        return (out, pd) if self.weights else out

    def __call__(self, q, k, v, bias):
        if not self.weights:
            return Node.__call__(self, q, k, v, bias)
        kind = type(q._data)
        if kind is not _DEFAULT_ARRAY:
            self.xp = _NAMESPACES[kind]
        arrays = self.forward(q._data, k._data, v._data, None if bias is None else bias._data)
        return record_outputs(self, (q, k, v, bias), arrays)

    def _probs(self, q: Tensor, k: Tensor, bias) -> Tensor:
        """P as a Tensor: the saved array, or (in a recorded backward) recomputed so it can be differentiated."""
        if not _state.enabled:
            return Tensor._make(self.p)
        s = MatMul()(q * self.scale, k.transpose(-1, -2))
        if bias is not None:
            s = s + bias
        p = s.softmax(-1)
        return where(p.isnan(), 0.0, p) if bias is not None and not self.weights else p

    def backward(self, grad, grad_weights=None):
        q, k, v, bias = self.saved_tensors
        p = self._probs(q, k, bias)
        keep = None if self.keep is None else Tensor._make(self.keep)
        gq = gk = gv = gb = None
        if grad is not None:
            if self.needs_input_grad(2):
                gv = MatMul()((p if keep is None else p * keep).transpose(-1, -2), grad)
            dp = MatMul()(grad, v.transpose(-1, -2))
            if grad_weights is not None:
                dp = dp + grad_weights
        else:
            dp = grad_weights
        if not (self.needs_input_grad(0) or self.needs_input_grad(1) or self.needs_input_grad(3)):
            return gq, gk, gv, gb
        if keep is not None:
            dp = dp * keep
        ds = p * (dp - (dp * p).sum(-1, keepdim=True))
        if self.needs_input_grad(0):
            gq = MatMul()(ds, k) * self.scale
        if self.needs_input_grad(1):
            gk = MatMul()(ds.transpose(-1, -2), q) * self.scale
        if self.needs_input_grad(3):
            gb = ds
        return gq, gk, gv, gb


def _check_inputs(query: Tensor, key: Tensor, value: Tensor, attn_mask, dropout_p: float, is_causal: bool) -> None:
    for x, name in ((query, "query"), (key, "key"), (value, "value")):
        if not isinstance(x, Tensor):
            raise TypeError(f"scaled_dot_product_attention(): argument '{name}' must be Tensor, "
                            f"not {type(x).__name__}")
    if min(query.ndim, key.ndim, value.ndim) < 2:
        raise RuntimeError(f"scaled_dot_product_attention: expected query, key, and value to all be at least 2 "
                           f"dimensional, but got query.dim: {query.ndim} key.dim: {key.ndim} and value.dim: "
                           f"{value.ndim} instead.")
    if not (query.dtype is key.dtype is value.dtype):
        raise RuntimeError(f"scaled_dot_product_attention: expected query, key, and value to have the same dtype, "
                           f"but got query.dtype: {_C_NAMES[query.dtype.name]} key.dtype: {_C_NAMES[key.dtype.name]} "
                           f"and value.dtype: {_C_NAMES[value.dtype.name]} instead.")
    if not query.dtype.is_floating_point:
        raise RuntimeError(f"scaled_dot_product_attention: expected floating point query, key and value, "
                           f"got {query.dtype.name}")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"scaled_dot_product_attention: the last dim of query ({tuple(query.shape)}) and key "
                           f"({tuple(key.shape)}) must match (the embedding size E)")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: key ({tuple(key.shape)}) and value "
                           f"({tuple(value.shape)}) must have the same sequence length (dim -2)")
    if attn_mask is not None:
        if not isinstance(attn_mask, Tensor):
            raise TypeError(f"scaled_dot_product_attention(): argument 'attn_mask' must be Tensor, "
                            f"not {type(attn_mask).__name__}")
        if attn_mask.dtype is not dt.bool and attn_mask.dtype is not query.dtype:
            raise RuntimeError(f"scaled_dot_product_attention: expected attn_mask dtype to be bool or to match "
                               f"query dtype, but got attn_mask.dtype: {_C_NAMES[attn_mask.dtype.name]} and "
                               f"query.dtype: {_C_NAMES[query.dtype.name]} instead.")
        if is_causal:
            raise RuntimeError("scaled_dot_product_attention: explicit attn_mask should not be set when "
                               "is_causal=True")
    if not 0.0 <= dropout_p <= 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")


def _broadcast_batch(query: Tensor, key: Tensor, value: Tensor, attn_mask) -> None:
    """The batch dims of q, k, v (and the mask's) must broadcast; say which do not."""
    shapes = [("query", query.shape[:-2]), ("key", key.shape[:-2]), ("value", value.shape[:-2])]
    L, S = query.shape[-2], key.shape[-2]
    if attn_mask is not None:
        shapes.append(("attn_mask", attn_mask.shape[:-2]))
        m = tuple(attn_mask.shape[-2:])
        if len(m) == 2 and (m[0] not in (1, L) or m[1] not in (1, S)) or len(m) == 1 and m[0] not in (1, S):
            raise RuntimeError(f"scaled_dot_product_attention: attn_mask of shape {tuple(attn_mask.shape)} does "
                               f"not broadcast to the attention scores' shape (..., {L}, {S})")
    n = max(len(s) for _, s in shapes)
    for i in range(n):
        sizes = {s[i - n + len(s)] for _, s in shapes if i - n + len(s) >= 0} - {1}
        if len(sizes) > 1:
            listed = ", ".join(f"{name} {tuple(s)}" for name, s in shapes)
            raise RuntimeError(f"scaled_dot_product_attention: batch dims do not broadcast: {listed}")


def _gqa(x: Tensor, heads: int, name: str) -> Tensor:
    """Repeat each of key's/value's heads (dim -3) so they match query's `heads` (grouped-query attention)."""
    if x.ndim < 3:
        raise RuntimeError(f"scaled_dot_product_attention: enable_gqa needs a heads dim (-3), got {name} of "
                           f"shape {tuple(x.shape)}")
    h = x.shape[-3]
    if h == heads:
        return x
    if heads % h:
        raise RuntimeError(f"scaled_dot_product_attention: number of heads in {name} ({h}) must divide the number "
                           f"of heads in query ({heads})")
    shape = tuple(x.shape)
    return x.unsqueeze(-3).expand(shape[:-2] + (heads // h,) + shape[-2:]).reshape(
        shape[:-3] + (heads,) + shape[-2:])


def _additive_mask(attn_mask, is_causal: bool, L: int, S: int, query: Tensor):
    """The mask as a float Tensor added to the scores: bool False and the causal future become -inf."""
    xp, d = namespace_of(query._data), query._data.dtype
    if is_causal:  # top-left aligned: query i sees keys 0..i
        return Tensor._make(xp.triu(xp.full((L, S), _NEG_INF, dtype=d), k=1))
    if attn_mask is None or attn_mask.dtype is not dt.bool:
        return attn_mask
    return Tensor._make(xp.where(attn_mask._data, xp.zeros((), dtype=d), xp.full((), _NEG_INF, dtype=d)))


def _keep_mask(shape: tuple, p: float, query: Tensor):
    """Dropout's keep mask, scaled by 1 / (1 - p), as an array on the query's device (drawn on the host,
    the same stream on every device)."""
    d = query.dtype.np
    draw = _gen(None).random(shape, dtype="float64" if d == "float64" else "float32")
    keep = draw >= p
    return to_device(keep.astype(d) / (1.0 - p) if p < 1.0 else keep.astype(d) * 0.0, query.device)


def attention(query: Tensor, key: Tensor, value: Tensor, attn_mask=None, dropout_p: float = 0.0,
              is_causal: bool = False, scale: float | None = None, enable_gqa: bool = False,
              need_weights: bool = False):
    """scaled_dot_product_attention, with the attention probabilities as a second output when `need_weights`."""
    _check_inputs(query, key, value, attn_mask, dropout_p, is_causal)
    if enable_gqa and query.ndim >= 3:
        key, value = _gqa(key, query.shape[-3], "key"), _gqa(value, query.shape[-3], "value")
    _broadcast_batch(query, key, value, attn_mask)
    L, S = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    bias = _additive_mask(attn_mask, is_causal, L, S, query)
    keep = None
    if dropout_p > 0.0:
        batch = _broadcast_shape(query.shape[:-2], key.shape[:-2], value.shape[:-2],
                                 () if bias is None else bias.shape[:-2])
        keep = _keep_mask(batch + (L, S), dropout_p, query)
    return ScaledDotProductAttention(scale, keep, need_weights)(query, key, value, bias)


def _add_in_place(s, bias):
    """s + bias, into s when bias broadcasts to s's shape (in-place operators are standard; `out=` is not)."""
    if _broadcast_shape(s.shape, bias.shape) == tuple(s.shape):
        s += bias
        return s
    return s + bias


def _broadcast_shape(*shapes) -> tuple:
    n = max(len(s) for s in shapes)
    padded = [(1,) * (n - len(s)) + tuple(s) for s in shapes]
    return tuple(max(sizes) for sizes in zip(*padded))


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(query @ key^T * scale + mask) @ value over any leading batch dims, as one node.

    A bool mask keeps the True positions; a float mask is added to the scores; `is_causal`
    lets query i see keys 0..i (top-left aligned). Fully masked rows give zeros, as PyTorch."""
    return attention(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)


__all__ = ["scaled_dot_product_attention"]
