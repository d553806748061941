"""MultiheadAttention with PyTorch's parameters, state_dict keys, masks and outputs.

The heads run through the fused attention node of `F.scaled_dot_product_attention`, which
also returns the attention probabilities when `need_weights` asks for them.
"""
# ruff: noqa: A002 - `input` is PyTorch's argument name
from __future__ import annotations

from ... import dtypes as dt
from ...device import namespace_of
from ...ops.creation import empty, zeros
from ...ops.shape import cat, pad
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..functional.attention import attention
from ..parameter import Parameter
from .linear import Linear
from .module import Module

_NEG_INF = float("-inf")


class NonDynamicallyQuantizableLinear(Linear):
    """The output projection's class in PyTorch (a plain Linear); named alike so reprs match."""


def _additive(mask, name: str, dtype: dt.dtype):
    """A MultiheadAttention mask as a float Tensor added to the scores (bool True = not allowed: -inf)."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(f"MultiheadAttention: {name} must be a Tensor, got {type(mask).__name__}")
    if mask.dtype is dt.bool:
        xp = namespace_of(mask._data)
        d = dt.native(dtype, xp)
        return Tensor._make(xp.where(mask._data, xp.full((), _NEG_INF, dtype=d), xp.zeros((), dtype=d)))
    if not mask.dtype.is_floating_point:
        raise AssertionError(f"MultiheadAttention: only bool and floating types of {name} are supported, "
                             f"got {mask.dtype}")
    return mask if mask.dtype is dtype else mask.to(dtype)


class MultiheadAttention(Module):
    """Attention over `num_heads` heads of size embed_dim // num_heads, with input and output projections."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device=None, dtype=None):
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and "
                             f"num_heads={num_heads} instead")
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads, self.dropout, self.batch_first = num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError(f"embed_dim must be divisible by num_heads (got embed_dim={embed_dim}, "
                                 f"num_heads={num_heads})")
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim, **factory))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(empty(embed_dim, embed_dim, **factory))
            self.k_proj_weight = Parameter(empty(embed_dim, self.kdim, **factory))
            self.v_proj_weight = Parameter(empty(embed_dim, self.vdim, **factory))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, **factory))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, **factory)
        if add_bias_kv:
            self.bias_k = Parameter(empty(1, 1, embed_dim, **factory))
            self.bias_v = Parameter(empty(1, 1, embed_dim, **factory))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """PyTorch's init: xavier-uniform input projections, zero biases, xavier-normal bias_k/bias_v."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> tuple:
        """q, k, v = the inputs times their projections: one GEMM for self-attention (query is key is value)."""
        E = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        if not self._qkv_same_embed_dim:
            return (F.linear(query, self.q_proj_weight, bq), F.linear(key, self.k_proj_weight, bk),
                    F.linear(value, self.v_proj_weight, bv))
        w = self.in_proj_weight
        if query is key and key is value:
            return F.linear(query, w, b).chunk(3, -1)
        if key is value:
            kv = F.linear(key, w[E:], None if b is None else b[E:]).chunk(2, -1)
            return (F.linear(query, w[:E], bq),) + kv
        return F.linear(query, w[:E], bq), F.linear(key, w[E:2 * E], bk), F.linear(value, w[2 * E:], bv)

    def _check(self, query, key, value, batched: bool) -> None:
        name = f"MultiheadAttention(embed_dim={self.embed_dim}, num_heads={self.num_heads})"
        for x, what, size in ((query, "query", self.embed_dim), (key, "key", self.kdim), (value, "value", self.vdim)):
            if not isinstance(x, Tensor):
                raise TypeError(f"{name}: {what} must be a Tensor, got {type(x).__name__}")
            if x.ndim != query.ndim:
                raise AssertionError(f"{name}: query, key and value must all be 3-D (batched) or 2-D (unbatched), "
                                     f"got shapes {tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}")
            if x.shape[-1] != size:
                raise AssertionError(f"{name}: expected {what} with last dimension {size}, got shape "
                                     f"{tuple(x.shape)}")
        if query.ndim not in (2, 3):
            raise AssertionError(f"{name}: query should be unbatched 2D or batched 3D tensor but received "
                                 f"{query.ndim}-D query tensor of shape {tuple(query.shape)}")
        b = 0 if self.batch_first else 1
        if batched and not (query.shape[b] == key.shape[b] == value.shape[b]):
            raise AssertionError(f"{name}: query, key and value must have the same batch size, got shapes "
                                 f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}")
        if key.shape[:-1] != value.shape[:-1]:
            raise AssertionError(f"{name}: key shape {tuple(key.shape)} does not match value shape "
                                 f"{tuple(value.shape)}")

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None = None,
                need_weights: bool = True, attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple:
        """(output, attention weights averaged over heads (N, L, S), per head (N, heads, L, S), or None).

        Masks: True (bool) means "may not attend"; float masks are added to the scores.
        key_padding_mask is (N, S); attn_mask is (L, S) or (N * num_heads, L, S)."""
        batched = query.ndim == 3 if isinstance(query, Tensor) else True
        self._check(query, key, value, batched)
        if is_causal and attn_mask is None:
            raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer "
                               "module method `generate_square_subsequent_mask` to create this mask.")
        if not batched:  # a batch of one, dim 1 (or 0 with batch_first)
            d = 0 if self.batch_first else 1
            query, key, value = query.unsqueeze(d), key.unsqueeze(d), value.unsqueeze(d)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        if not self.batch_first:  # work in (N, L, E), keeping track of which inputs are the same tensor
            same_qk, same_kv = query is key, key is value
            query = query.transpose(0, 1)
            key = query if same_qk else key.transpose(0, 1)
            value = key if same_kv else value.transpose(0, 1)
        N, L = query.shape[:2]
        H, D = self.num_heads, self.head_dim
        q, k, v = self._project(query, key, value)
        mask = self._mask(attn_mask, key_padding_mask, q.dtype, N, L, k.shape[1],
                          keep_causal=is_causal and key_padding_mask is None and not need_weights)
        if self.bias_k is not None:  # one more key and value, which every query may attend to
            k = cat([k, self.bias_k.expand(N, 1, self.embed_dim)], 1)
            v = cat([v, self.bias_v.expand(N, 1, self.embed_dim)], 1)
            mask = None if mask is None else pad(mask, (0, 1))
        q, k, v = (x.reshape(N, x.shape[1], H, D).transpose(1, 2) for x in (q, k, v))
        if self.add_zero_attn:
            k = cat([k, zeros(N, H, 1, D, dtype=k.dtype, device=k.device)], 2)
            v = cat([v, zeros(N, H, 1, D, dtype=v.dtype, device=v.device)], 2)
            mask = None if mask is None else pad(mask, (0, 1))
        dropout_p = self.dropout if self.training else 0.0
        causal = is_causal and mask is None
        result = attention(q, k, v, mask, dropout_p, causal, need_weights=need_weights)
        out, weights = result if need_weights else (result, None)
        out = self.out_proj(out.transpose(1, 2).reshape(N, L, self.embed_dim))
        if not self.batch_first:
            out = out.transpose(0, 1)
        if weights is not None and average_attn_weights:
            weights = weights.mean(1)
        if not batched:
            out = out.squeeze(0 if self.batch_first else 1)
            weights = None if weights is None else weights.squeeze(0)
        return out, weights

    def _mask(self, attn_mask, key_padding_mask, dtype: dt.dtype, N: int, L: int, S: int, keep_causal: bool):
        """attn_mask and key_padding_mask merged into one additive float mask broadcasting to (N, heads, L, S)."""
        if keep_causal:  # PyTorch's hint: the mask is causal, and nothing else needs it
            attn_mask = None
        mask = _additive(attn_mask, "attn_mask", dtype)
        if mask is not None:
            if mask.ndim == 2 and tuple(mask.shape) != (L, S) or mask.ndim == 3 and tuple(mask.shape) != (
                    N * self.num_heads, L, S) or mask.ndim not in (2, 3):
                raise RuntimeError(f"MultiheadAttention: attn_mask of shape {tuple(mask.shape)} should be ({L}, {S})"
                                   f" or ({N * self.num_heads}, {L}, {S})")
            if mask.ndim == 3:
                mask = mask.reshape(N, self.num_heads, L, S)
        kpm = _additive(key_padding_mask, "key_padding_mask", dtype)
        if kpm is not None:
            if tuple(kpm.shape) != (N, S):
                raise AssertionError(f"MultiheadAttention: expecting key_padding_mask shape of ({N}, {S}), but got "
                                     f"{tuple(kpm.shape)}")
            kpm = kpm.reshape(N, 1, 1, S)
            mask = kpm if mask is None else mask + kpm
        return mask


__all__ = ["MultiheadAttention"]
