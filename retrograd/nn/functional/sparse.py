"""`F.embedding` (a row lookup whose gradient accumulates rows for repeated indices) and `F.one_hot`."""
from __future__ import annotations

import numpy as np

from ...array_extras import astype, min_max, reshape, scatter_add
from ...autograd.node import Node
from ...device import namespace_of
from ...tensor import Tensor

_INDEX_DTYPES = ("int64", "int32")


class Embedding(Node):
    """weight[indices]: rows of the (num_embeddings, dim) weight, shaped indices.shape + (dim,)."""

    def __init__(self, indices, row_scale=None):
        self.indices = indices  # the index array (kept: small next to the weight's gradient)
        self.row_scale = row_scale  # per-index gradient factor (padding -> 0, 1/frequency), or None

    def forward(self, w):
        self.num = w.shape[0]
        idx = self.indices
        if self.xp is np or idx.ndim == 1:
            return self.xp.take(w, idx, axis=0)
        # the standard's take wants 1-D indices
        rows = self.xp.take(w, reshape(idx, (-1,)), axis=0)
        return reshape(rows, tuple(idx.shape) + (w.shape[1],))

    def backward(self, grad):
        g = grad.reshape(-1, grad.shape[-1])
        if self.row_scale is not None:
            g = g * Tensor._make(astype(self.row_scale, grad.dtype)[:, None])
        return EmbeddingBackward(reshape(self.indices, (-1,)), self.num)(g)


class EmbeddingBackward(Node):
    """The weight's gradient: rows of g added into zeros at `indices` (repeated indices accumulate)."""

    def __init__(self, indices, num: int):
        self.indices, self.num = indices, num

    def forward(self, g):
        out = self.xp.zeros((self.num, g.shape[1]), dtype=g.dtype)
        scatter_add(self.xp, out, self.indices, g)
        return out

    def backward(self, grad):
        return Embedding(self.indices)(grad)


def _index_array(input: Tensor, op: str):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.dtype.name not in _INDEX_DTYPES:
        raise RuntimeError(f"{op}: expected indices of dtype int64 or int32, but got {input.dtype.name}")
    return input._data


def _renorm_(weight: Tensor, idx, max_norm: float, norm_type: float) -> None:
    """Rescale, in place, the rows of weight referenced by idx whose norm exceeds max_norm (PyTorch's renorm)."""
    xp = namespace_of(weight._data)
    w = weight._data
    if xp is np:
        rows = xp.unique(idx)
        sub = w[rows]
        norms = xp.linalg.norm(sub.astype(xp.float64), ord=norm_type, axis=1)
        scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
        w[rows] = sub * scale[:, None]
    else:  # the standard has no integer-array assignment: add sub * (scale - 1) at the (unique) rows
        rows = xp.unique_values(idx)
        sub = xp.take(w, rows, axis=0)
        norms = xp.linalg.vector_norm(xp.astype(sub, xp.float64), ord=norm_type, axis=1)
        scale = xp.astype(xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0), w.dtype)
        scatter_add(xp, w, rows, sub * (scale[:, None] - 1))
    weight._bump_version()


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """The rows of `weight` at the integer `input`; the padding row gets no gradient.

    `max_norm` renormalises the referenced rows in place first. `sparse=True` is accepted
    but the gradient is dense (retrograd has no sparse tensors); its values are the same.
    """
    idx = _index_array(input, "embedding")
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise RuntimeError(f"embedding: weight must be a 2-D tensor (num_embeddings, embedding_dim), got "
                           f"{tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__}")
    num = weight.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:  # PyTorch asserts this
            raise AssertionError(f"Padding_idx must be within num_embeddings (got padding_idx={padding_idx}, "
                                 f"num_embeddings={num})")
        padding_idx %= num
    if idx.size:
        lo, hi = min_max(idx)
        if lo < 0 or hi >= num:
            bad = lo if lo < 0 else hi
            raise IndexError(f"embedding: index {bad} is out of range for num_embeddings={num} "
                             f"(indices must be in [0, {num - 1}])")
    if max_norm is not None:
        _renorm_(weight, idx, max_norm, norm_type)
    row_scale = None
    if (padding_idx is not None or scale_grad_by_freq) and weight.requires_grad:
        xp = namespace_of(idx)
        flat = reshape(idx, (-1,))
        row_scale = xp.ones(flat.shape, dtype=xp.float64)
        if scale_grad_by_freq:
            if xp is np:
                row_scale /= xp.bincount(flat, minlength=num)[flat]
            else:  # no bincount in the standard: ones added at each index (no data-dependent shape, no sync)
                counts = xp.zeros((num,), dtype=xp.float64, device=flat.device)
                scatter_add(xp, counts, flat, xp.ones(flat.shape, dtype=xp.float64, device=flat.device))
                row_scale /= xp.take(counts, flat)
        if padding_idx is not None:
            row_scale[flat == padding_idx] = 0.0
    return Embedding(idx, row_scale)(weight)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 tensor of shape tensor.shape + (num_classes,) with a 1 at each index (num_classes=-1: max + 1)."""
    if not isinstance(tensor, Tensor) or tensor.dtype.name != "int64":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    idx = tensor._data
    xp = namespace_of(idx)
    if num_classes == -1 and idx.size == 0:
        raise RuntimeError("Can not infer total number of classes from empty tensor.")
    if idx.size:
        lo, hi = min_max(idx)
        if num_classes == -1:
            num_classes = hi + 1
        if lo < 0:
            raise RuntimeError("Class values must be non-negative.")
        if hi >= num_classes:
            raise RuntimeError(f"Class values must be smaller than num_classes ({num_classes}).")
    if xp is np:
        return Tensor._make((idx[..., None] == np.arange(num_classes)).astype(np.int64))
    return Tensor._make(xp.astype(idx[..., None] == xp.arange(num_classes, device=idx.device), xp.int64))


__all__ = ["embedding", "one_hot"]
