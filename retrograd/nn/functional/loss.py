"""Loss functions: regression losses, cross-entropy and NLL, binary cross-entropy, KL divergence.

Every loss is one node that computes the elementwise loss and its reduction in one
forward, with a backward written as a short Tensor formula (so double backward works).
`reduction` is 'mean' | 'sum' | 'none'; the legacy `size_average`/`reduce` flags map
onto it as in PyTorch.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ... import array_extras as ax
from ...autograd import grad_mode
from ...autograd.node import Node
from ...device import namespace_of
from ...ops.elementwise import _promote, as_float, where
from ...ops.reduction import log_softmax, softmax
from ...tensor import Tensor
from .activation import softplus

_state = grad_mode.state
_REDUCTIONS = ("none", "mean", "sum")


# ---- reductions ------------------------------------------------------------------------------
def _reduction(size_average, reduce, reduction: str, allowed=_REDUCTIONS) -> str:
    """The reduction to use, from `reduction` or from the legacy `size_average`/`reduce` flags."""
    if size_average is not None or reduce is not None:
        warnings.warn("size_average and reduce args will be deprecated, please use reduction='"
                      f"{_legacy(size_average, reduce)}' instead.", stacklevel=3)
        return _legacy(size_average, reduce)
    if reduction not in allowed:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _legacy(size_average, reduce) -> str:
    size_average = True if size_average is None else size_average
    if reduce is None or reduce:
        return "mean" if size_average else "sum"
    return "none"


def _reduce(xp, loss, reduction: str, norm=None):
    """Reduce an elementwise loss array: as is, summed, or summed and divided by `norm` (its size by default);
    a zero normaliser gives NaN, as in PyTorch."""
    if reduction == "none":
        return loss
    total = _sum(xp, loss)
    if reduction == "sum":
        return total
    norm = loss.size if norm is None else norm
    if xp is np or not hasattr(norm, "shape"):
        return total / norm if norm else xp.asarray(math.nan, dtype=loss.dtype)
    return xp.where(norm != 0, total / norm, xp.asarray(math.nan, dtype=loss.dtype))  # a device array: no sync


def _sum(xp, a):
    """The sum of all elements (NumPy's method on NumPy: a few µs less than the module-level call)."""
    return a.sum() if type(a) is np.ndarray else xp.sum(a)


def _scaled(grad: Tensor, reduction: str, norm) -> Tensor:
    """The upstream gradient of each element: divided by the normaliser for 'mean' (a number, or a 0-d
    device array kept on the device)."""
    if reduction != "mean":
        return grad
    return grad / float(norm) if isinstance(norm, (int, float, np.generic)) else grad / Tensor._make(norm)


def _cast(xp, a, dtype, copy: bool = True):
    """`a` as the library's `dtype` (NumPy's method on NumPy: faster than the module-level call)."""
    return a.astype(dtype, copy=copy) if xp is np else xp.astype(a, dtype, copy=copy)


def _weighted_upstream(grad: Tensor, node) -> Tensor:
    """The upstream gradient of each element of an elementwise loss, times its weight if any."""
    g = _scaled(grad, node.reduction, node.n)
    return g if node.weight is None else g * Tensor._make(node.weight)


def _tensor_arg(x, op: str, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(x).__name__}")
    return x


def _same_size(input: Tensor, target: Tensor, op: str, strict: bool) -> tuple:
    """input and target broadcast to one shape (PyTorch warns when they differ, or raises when `strict`)."""
    if target.shape == input.shape:
        return input, target
    msg = (f"Using a target size ({target.shape}) that is different to the input size ({input.shape})")
    if strict:
        raise ValueError(f"{op}: {msg} is deprecated. Please ensure they have the same size.")
    warnings.warn(f"{op}: {msg}. This will likely lead to incorrect results due to broadcasting. Please ensure "
                  "they have the same size.", stacklevel=3)
    try:
        shape = _broadcast_shape(tuple(input.shape), tuple(target.shape))
    except ValueError:
        raise RuntimeError(f"{op}: The size of tensor a ({input.shape}) must match the size of tensor b "
                           f"({target.shape})") from None
    return input.expand(shape), target.expand(shape)


def _broadcast_shape(a: tuple, b: tuple) -> tuple:
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    if any(x != y and 1 not in (x, y) for x, y in zip(a, b)):
        raise ValueError("shapes do not broadcast")
    return tuple(max(x, y) if 0 not in (x, y) else 0 for x, y in zip(a, b))


# ---- regression losses -------------------------------------------------------------------------
class PointwiseLoss(Node):
    """A loss of d = input - target elementwise, reduced; backward is slope(d) * grad."""

    saves_inputs = True

    def __init__(self, reduction: str, param: float = 1.0):
        self.reduction, self.param = reduction, param

    def forward(self, x, t):
        d = x - t
        self.n = d.size
        return _reduce(self.xp, self.loss(self.xp, d), self.reduction)

    def backward(self, grad):
        x, t = self.saved_tensors
        g = self.slope(x - t) * _scaled(grad, self.reduction, self.n)
        return g, (-g if self.needs_input_grad(1) else None)


class MSE(PointwiseLoss):
    def loss(self, xp, d):
        d *= d
        return d

    def slope(self, d):
        return d * 2


class L1(PointwiseLoss):
    def loss(self, xp, d):
        return xp.abs(d, out=d) if xp is np else xp.abs(d)

    def slope(self, d):
        return d.sign()


class SmoothL1(PointwiseLoss):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta."""

    def loss(self, xp, d):
        a = xp.abs(d)
        return xp.where(a < self.param, (0.5 / self.param) * d * d, a - 0.5 * self.param)

    def slope(self, d):
        return (d / self.param).clamp(-1.0, 1.0)


class Huber(PointwiseLoss):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta)."""

    def loss(self, xp, d):
        a = xp.abs(d)
        return xp.where(a < self.param, 0.5 * d * d, self.param * (a - 0.5 * self.param))

    def slope(self, d):
        return d.clamp(-self.param, self.param)


def _pointwise_loss(node_cls, op: str, input, target, reduction: str, param: float = 1.0, weight=None,
                    weighted_mean_by_sum: bool = True) -> Tensor:
    """Run a regression loss; with `weight`, the elementwise losses are weighted, and 'mean' divides by the
    sum of the weights (or by their number, for huber), as PyTorch does."""
    x, t = _promote(as_float(_tensor_arg(input, op, "input")), _tensor_arg(target, op, "target"))
    x, t = _same_size(x, t, op, False)
    if weight is None:
        return node_cls(reduction, param)(x, t)
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError(f"{op}: Weights and input must have the same size (weight {tuple(weight.shape)}, input "
                         f"{tuple(input.shape)}).")
    loss = node_cls("none", param)(x, t) * weight
    if reduction == "none":
        return loss
    if reduction == "sum" or not weighted_mean_by_sum:
        return loss.sum() if reduction == "sum" else loss.mean()
    return loss.sum() / weight.sum()


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
             weight: Tensor | None = None) -> Tensor:
    """Mean squared error."""
    return _pointwise_loss(MSE, "mse_loss", input, target, _reduction(size_average, reduce, reduction),
                           weight=weight)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
            weight: Tensor | None = None) -> Tensor:
    """Mean absolute error."""
    return _pointwise_loss(L1, "l1_loss", input, target, _reduction(size_average, reduce, reduction),
                           weight=weight)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """Quadratic below `beta`, linear above (beta = 0 is the L1 loss)."""
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss does not support negative values for beta (got {beta}).")
    reduction = _reduction(size_average, reduce, reduction)
    if beta == 0:
        return _pointwise_loss(L1, "smooth_l1_loss", input, target, reduction)
    return _pointwise_loss(SmoothL1, "smooth_l1_loss", input, target, reduction, beta)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """Quadratic below `delta`, delta-scaled linear above."""
    if delta <= 0:
        raise RuntimeError(f"huber_loss does not support non-positive values for delta (got {delta}).")
    return _pointwise_loss(Huber, "huber_loss", input, target, _reduction(None, None, reduction), delta,
                           weight, weighted_mean_by_sum=False)


# ---- classification over C classes -------------------------------------------------------------
def _class_targets(xp, x, target, weight, ignore_index: int, op: str) -> tuple:
    """(safe targets (N, 1, ...), per-element weights of the targets (N, 1, ...) with ignored ones 0,
    valid mask (N, 1, ...)) for class-index targets; out-of-range classes raise.

    The bounds check reads one bool back to the host (a sync on a GPU), kept for an honest error."""
    c = x.shape[1]
    if type(target) is np.ndarray and target.size and not 0 <= ignore_index < c \
            and target.min() >= 0 and target.max() < c:  # every target a class, none ignored: the usual case
        safe = target.reshape(target.shape[:1] + (1,) + target.shape[1:])
        valid = np.ones(safe.shape, x.dtype)
        return safe, (valid if weight is None else weight[safe]), valid
    if xp is not np and target.dtype != xp.int64:  # uint8: the standard rejects comparing with -100
        target = xp.astype(target, xp.int64)
    valid = target != ignore_index
    bad = valid & ((target < 0) | (target >= c))
    if bad.any() if xp is np else xp.any(bad):
        raise IndexError(f"{op}: Target {int(target[bad][0])} is out of bounds (the input has {c} "
                         f"classes, so targets must be in [0, {c - 1}] or ignore_index={ignore_index}).")
    safe = xp.expand_dims(xp.where(valid, target, 0), axis=1)
    valid = _cast(xp, xp.expand_dims(valid, axis=1), x.dtype)
    if weight is None:
        wt = valid
    else:
        wt = (weight[safe] if xp is np else ax.reshape(xp.take(weight, ax.reshape(safe, (-1,))), safe.shape)) * valid
    return safe, wt, valid


def _class_layout(input: Tensor, target: Tensor, op: str, allow_probabilities: bool) -> tuple:
    """(input as (N, C, ...), target as (N, ...) or (N, C, ...), whether probabilities, whether unbatched)."""
    if input.ndim == 0:
        raise ValueError(f"{op}: expected input of shape (C,), (N, C) or (N, C, d1, ...), got a 0-dim tensor")
    probs = allow_probabilities and target.dtype.is_floating_point and target.shape == input.shape
    if probs:
        if target.dtype is not input.dtype:
            raise RuntimeError(f"{op}: expected probability targets of the input's dtype {input.dtype.name}, got "
                               f"{target.dtype.name}")
        return (input.reshape(1, -1), target.reshape(1, -1), True, True) if input.ndim == 1 else \
            (input, target, True, False)
    if target.dtype.name not in ("int64", "uint8"):
        raise RuntimeError(f"{op}: expected target dtype to be Long or Byte (class indices"
                           f"{', or probabilities of the input shape' if allow_probabilities else ''}), but got "
                           f"{target.dtype.name} target of shape {tuple(target.shape)} for input of shape "
                           f"{tuple(input.shape)}")
    if input.ndim == 1:
        if target.ndim != 0:
            raise RuntimeError(f"{op}: 0D target tensor expected for unbatched input of shape "
                               f"{tuple(input.shape)}, got target of shape {tuple(target.shape)}")
        return input.reshape(1, -1), target.reshape(1), False, True
    if target.ndim != input.ndim - 1:
        raise RuntimeError(f"{op}: expected target of shape {(input.shape[0],) + tuple(input.shape[2:])} for input "
                           f"of shape {tuple(input.shape)} (0D or 1D target tensor expected for 1D or 2D input, "
                           f"multi-target not supported), got target of shape {tuple(target.shape)}")
    if input.shape[0] != target.shape[0]:
        raise ValueError(f"{op}: Expected input batch_size ({input.shape[0]}) to match target batch_size "
                         f"({target.shape[0]}).")
    if tuple(target.shape[1:]) != tuple(input.shape[2:]):
        raise RuntimeError(f"{op}: Expected target size {[input.shape[0]] + list(input.shape[2:])}, got "
                           f"{list(target.shape)}")
    return input, target, False, False


def _class_weight(weight, x: Tensor, op: str):
    """The class-weight array (C,) in x's dtype, or None."""
    if weight is None:
        return None
    c = x.shape[1]
    if weight.ndim != 1 or weight.shape[0] != c:
        raise RuntimeError(f"{op}: weight tensor should be defined either for all {c} classes or no classes but "
                           f"got weight tensor of shape: {list(weight.shape)}")
    if weight.requires_grad and _state.enabled:
        raise RuntimeError(f"{op}: the derivative for 'weight' is not implemented.")
    return _as_input_dtype(weight, x, op)


def _as_input_dtype(weight: Tensor, x: Tensor, op: str):
    """weight's array in x's dtype, or an error if it lives on another device (the array library differs)."""
    if type(weight._data) is not type(x._data):
        raise RuntimeError(f"{op}: expected all tensors to be on the same device, but found tensors on devices "
                           f"{x.device}, {weight.device}")
    return _cast(namespace_of(weight._data), weight._data, x._data.dtype, copy=False)


def _bcast(w, ndim: int):
    """A (C,) class-weight array shaped to broadcast along dim 1 of an ndim-dim input."""
    return ax.reshape(w, (1, -1) + (1,) * (ndim - 2))


def _log_softmax_parts(xp, x) -> tuple:
    """(x - max, softmax, logsumexp - max) along dim 1, from one exp pass."""
    s = x - (x.max(axis=1, keepdims=True) if type(x) is np.ndarray else xp.max(x, axis=1, keepdims=True))
    e = xp.exp(s)
    se = ax.sum_keep(xp, e, (1,))
    e /= se
    return s, e, xp.log(se)


def _softmax_tensor(node: Node, x: Tensor) -> Tensor:
    """softmax(x, 1) in backward: the saved array, or recomputed differentiably when recording."""
    return softmax(x, 1) if _state.enabled else Tensor._make(node.p)


class NllIndex(Node):
    """-weight[t] * input[t] per element (class-index targets), reduced."""

    saves_inputs = True

    def __init__(self, reduction: str, weight, ignore_index: int, op: str = "nll_loss"):
        self.reduction, self.weight, self.ignore_index, self.op = reduction, weight, ignore_index, op

    def forward(self, x, target):
        xp = self.xp
        self.safe, self.a, _ = _class_targets(xp, x, target, self.weight, self.ignore_index, self.op)
        loss = ax.take_along_axis(xp, x, self.safe, 1)
        loss *= -self.a
        return self._reduce(xp, loss[:, 0, ...], self.a)

    def _reduce(self, xp, loss, wt):
        self.norm = _sum(xp, wt) if self.reduction == "mean" else None
        return _reduce(xp, loss, self.reduction, self.norm)

    def _upstream(self, grad: Tensor) -> Tensor:
        """The gradient of each element's loss, shaped to broadcast against (N, C, ...)."""
        return grad.unsqueeze(1) if self.reduction == "none" else _scaled(grad, self.reduction, self.norm)

    def _target_weights(self, x):
        """The constant weights q (N, C, ...) with loss = -sum_c q_c log p_c: a at the target class."""
        return ax.put_along_axis(self.xp, x.shape, self.safe, self.a, 1)

    def backward(self, grad):
        x = self.saved_tensors[0]
        return -self._upstream(grad) * Tensor._make(self._target_weights(x._data)), None


class CrossEntropyIndex(NllIndex):
    """log_softmax and NLL in one node, with label smoothing: the element loss is -sum_c q_c log p_c with
    q = (1 - eps) w_t onehot(t) + (eps / C) w, zero where the target is ignored."""

    def __init__(self, reduction: str, weight, ignore_index: int, label_smoothing: float):
        super().__init__(reduction, weight, ignore_index, "cross_entropy")
        self.eps = label_smoothing

    def forward(self, x, target):
        xp, eps = self.xp, self.eps
        c = x.shape[1]
        self.safe, wt, valid = _class_targets(xp, x, target, self.weight, self.ignore_index, self.op)
        s, self.p, lse = _log_softmax_parts(xp, x)
        self.a = wt * (1.0 - eps) if eps else wt
        loss = lse - ax.take_along_axis(xp, s, self.safe, 1)
        loss *= self.a
        if eps:
            self.b = valid * (eps / c)
            if self.weight is None:
                smooth = c * lse - xp.sum(s, axis=1, keepdims=True)
            else:
                smooth = xp.sum(self.weight) * lse - xp.sum(s * _bcast(self.weight, x.ndim), axis=1,
                                                             keepdims=True)
            loss += self.b * smooth
        return self._reduce(xp, loss[:, 0, ...], wt)

    def backward(self, grad):  # (softmax * sum_c q_c - q) * upstream
        x = self.saved_tensors[0]
        xp = self.xp
        q = self._target_weights(x._data)
        total = self.a
        if self.eps:
            w = xp.ones(x.shape[1], dtype=q.dtype) if self.weight is None else self.weight
            q += self.b * _bcast(w, x.ndim)
            total = total + self.b * (x.shape[1] if self.weight is None else xp.sum(w))
        p = _softmax_tensor(self, x)
        return (p * Tensor._make(total) - Tensor._make(q)) * self._upstream(grad), None

    def backward_arrays(self, grad):
        """`backward` on arrays for a reduced loss without label smoothing; else None (the Tensor formula)."""
        if self.eps or self.reduction == "none":
            return None
        out = self.p * self.a
        out -= self._target_weights(self.p)
        out *= grad / self.norm if self.reduction == "mean" else grad
        return out, None


class CrossEntropyProb(Node):
    """Cross-entropy with probability targets: -sum_c q_c log_softmax(x)_c with
    q = (target (1 - eps) + eps / C) * weight; 'mean' divides by the number of elements (not the weights)."""

    saves_inputs = True

    def __init__(self, reduction: str, weight, label_smoothing: float):
        self.reduction, self.weight, self.eps = reduction, weight, label_smoothing

    def _q(self, t, w, c: int):
        """q from the target and the broadcast class weights (arrays or Tensors alike)."""
        if self.eps:
            t = t * (1.0 - self.eps) + self.eps / c
        return t if w is None else t * w

    def _weight(self, ndim: int, tensor: bool):
        if self.weight is None:
            return None
        w = _bcast(self.weight, ndim)
        return Tensor._make(w) if tensor else w

    def forward(self, x, t):
        xp = self.xp
        s, self.p, lse = _log_softmax_parts(xp, x)
        s -= lse
        s *= self._q(t, self._weight(x.ndim, False), x.shape[1])
        loss = -xp.sum(s, axis=1)
        self.n = loss.size
        return _reduce(xp, loss, self.reduction)

    def backward(self, grad):
        x, t = self.saved_tensors
        g = _scaled(grad, self.reduction, self.n)
        g = g.unsqueeze(1) if self.reduction == "none" else g
        w = self._weight(x.ndim, True)
        gx = gt = None
        if self.needs_input_grad(0):
            q = self._q(t, w, x.shape[1])
            gx = (_softmax_tensor(self, x) * q.sum(1, keepdim=True) - q) * g
        if self.needs_input_grad(1):
            gt = log_softmax(x, 1) * (g * -(1.0 - self.eps))
            gt = gt if w is None else gt * w
        return gx, gt


def _finish(out: Tensor, reduction: str, unbatched: bool) -> Tensor:
    return out.reshape(()) if unbatched and reduction == "none" else out


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of logits (N, C, ...) against class indices (N, ...) or probabilities (N, C, ...),
    in one numerically stable node."""
    op = "cross_entropy"
    reduction = _reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"{op}: label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    x, t, probs, unbatched = _class_layout(as_float(_tensor_arg(input, op, "input")),
                                           _tensor_arg(target, op, "target"), op, True)
    w = _class_weight(weight, x, op)
    if probs:
        if ignore_index != -100:
            raise RuntimeError(f"{op}: ignore_index is not supported for floating point target")
        return _finish(CrossEntropyProb(reduction, w, label_smoothing)(x, t), reduction, unbatched)
    return _finish(CrossEntropyIndex(reduction, w, ignore_index, label_smoothing)(x, t), reduction, unbatched)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities (N, C, ...) at class indices (N, ...)."""
    op = "nll_loss"
    reduction = _reduction(size_average, reduce, reduction)
    x, t, _, unbatched = _class_layout(_tensor_arg(input, op, "input"), _tensor_arg(target, op, "target"), op,
                                       False)
    return _finish(NllIndex(reduction, _class_weight(weight, x, op), ignore_index)(x, t), reduction, unbatched)


# ---- binary cross-entropy ----------------------------------------------------------------------
def _constant(weight: Tensor | None, x: Tensor, op: str, name: str):
    """A weight tensor broadcastable to x's shape, as an array of x's dtype (PyTorch gives it no gradient)."""
    if weight is None:
        return None
    if weight.requires_grad and _state.enabled:
        raise RuntimeError(f"The function '{op}' is not differentiable with respect to argument '{name}'. This "
                           "input cannot have requires_grad True.")
    try:
        if _broadcast_shape(tuple(weight.shape), tuple(x.shape)) != tuple(x.shape):
            raise ValueError
    except ValueError:
        raise RuntimeError(f"{op}: {name} of shape {tuple(weight.shape)} does not broadcast to the input shape "
                           f"{tuple(x.shape)}") from None
    return _as_input_dtype(weight, x, op)


def _clamped_log(xp, x):
    """log(x) clamped below at -100 (PyTorch's BCE convention), without warnings at x = 0."""
    pos = x > 0
    return xp.where(pos, xp.maximum(xp.log(xp.where(pos, x, 1.0)), -100.0), x.dtype.type(-100.0) if xp is np
                    else -100.0)


class BinaryCrossEntropy(Node):
    """-w (t log x + (1 - t) log(1 - x)) with both logs clamped at -100."""

    saves_inputs = True

    def __init__(self, reduction: str, weight):
        self.reduction, self.weight = reduction, weight

    def forward(self, x, t):
        xp = self.xp
        out_of_range = (x < 0) | (x > 1)
        if out_of_range.any() if xp is np else xp.any(out_of_range):  # a sync on a GPU, kept for an honest error
            raise RuntimeError("binary_cross_entropy: all elements of input should be between 0 and 1")
        log_x, log_1mx = _clamped_log(xp, x), _clamped_log(xp, 1.0 - x)
        loss = log_x - log_1mx
        loss *= t
        loss += log_1mx
        loss = -loss if self.weight is None else loss * -self.weight
        self.n = loss.size
        return _reduce(xp, loss, self.reduction)

    def backward(self, grad):
        x, t = self.saved_tensors
        g = _weighted_upstream(grad, self)
        gx = (x - t) / (x * (1 - x)).clamp_min(1e-12) * g if self.needs_input_grad(0) else None
        gt = ((-x).log1p().clamp_min(-100.0) - x.log().clamp_min(-100.0)) * g if self.needs_input_grad(1) else None
        return gx, gt


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities in [0, 1]."""
    op = "binary_cross_entropy"
    reduction = _reduction(size_average, reduce, reduction)
    x, t = _same_size(_tensor_arg(input, op, "input"), _tensor_arg(target, op, "target"), op, True)
    return BinaryCrossEntropy(reduction, _constant(weight, x, op, "weight"))(x, t)


class BinaryCrossEntropyWithLogits(Node):
    """w ((1 - t) x + (1 + (pw - 1) t) softplus(-x)), computed stably; pw weighs the positive term."""

    saves_inputs = True

    def __init__(self, reduction: str, weight, pos_weight):
        self.reduction, self.weight, self.pos_weight = reduction, weight, pos_weight

    def forward(self, x, t):
        xp, pw = self.xp, self.pos_weight
        loss = xp.logaddexp(-x, 0.0)
        if pw is not None:
            loss *= (pw - 1.0) * t + 1.0
        loss += (1.0 - t) * x
        if self.weight is not None:
            loss = loss * self.weight
        self.n = loss.size
        return _reduce(xp, loss, self.reduction)

    def backward(self, grad):
        x, t = self.saved_tensors
        g = _weighted_upstream(grad, self)
        pw = None if self.pos_weight is None else Tensor._make(self.pos_weight)
        gx = gt = None
        if self.needs_input_grad(0):  # sigmoid(x) - t, or (1 + (pw - 1) t) sigmoid(x) - pw t
            s = x.sigmoid()
            gx = (s - t if pw is None else ((pw - 1) * t + 1) * s - pw * t) * g
        if self.needs_input_grad(1):
            gt = (-x if pw is None else (pw - 1) * softplus(-x) - x) * g
        return gx, gt


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid + binary cross-entropy in one stable node; `pos_weight` (broadcast along the last dim)
    weighs positive targets."""
    op = "binary_cross_entropy_with_logits"
    reduction = _reduction(size_average, reduce, reduction)
    x, t = _same_size(_tensor_arg(input, op, "input"), _tensor_arg(target, op, "target"), op, True)
    node = BinaryCrossEntropyWithLogits(reduction, _constant(weight, x, op, "weight"),
                                        _constant(pos_weight, x, op, "pos_weight"))
    return node(x, t)


# ---- KL divergence ---------------------------------------------------------------------------
def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """KL(target || exp(input)) with input log-probabilities; 'batchmean' divides the sum by the batch size."""
    reduction = _reduction(size_average, reduce, reduction, _REDUCTIONS + ("batchmean",))
    if reduction == "mean":
        warnings.warn("kl_div: reduction 'mean' divides the total loss by both the batch size and the support "
                      "size; 'batchmean' divides only by the batch size, which matches the KL divergence's "
                      "definition.", stacklevel=2)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        positive = target > 0
        loss = where(positive, target * where(positive, target, 1.0).log(), 0.0) - target * input
    if reduction == "none":
        return loss
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return loss.sum() if reduction == "sum" else loss.mean()


__all__ = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"]
