"""Recurrent layers: RNN, LSTM, GRU and their cells, with PyTorch's parameters, layouts and formulas.

A layer projects the whole input sequence in one GEMM (x @ W_ih^T + b for every time step),
then loops over time: each step does one hidden GEMM (`addmm`) and one fused pointwise node
(the LSTM and GRU gates, forward and backward side by side), so a step records two nodes.

Gate order is PyTorch's: LSTM i, f, g, o; GRU r, z, n with n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from ...autograd import grad_mode
from ...autograd.node import Node
from ...device import _DEFAULT_ARRAY, _NAMESPACES
from ...ops.creation import empty, zeros
from ...ops.linalg import addmm
from ...ops.shape import cat, stack
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..functional.attention import record_outputs
from ..parameter import Parameter
from .module import Module

_state = grad_mode.state
_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# ---- the fused pointwise nodes ---------------------------------------------------------------------
def _sigmoid(x, tanh_fn):
    """sigmoid through tanh, stable for any x; works on arrays (xp.tanh) and on Tensors."""
    return tanh_fn(x * 0.5) * 0.5 + 0.5


class _Pointwise(Node):
    """Base of the gate nodes: n outputs, activations kept for backward or recomputed when differentiated."""

    saves_inputs = True

    def __init__(self, hidden: int):
        self.hidden = hidden

    def __call__(self, *inputs):
        kind = type(inputs[0]._data)
        if kind is not _DEFAULT_ARRAY:
            self.xp = _NAMESPACES[kind]
        out = self.forward(*[t._data for t in inputs])
        return record_outputs(self, inputs, out if isinstance(out, tuple) else (out,))

    def _zeros_like(self, t: Tensor) -> Tensor:
        return Tensor._make(self.xp.zeros_like(t._data))


class LSTMPointwise(_Pointwise):
    """Gate pre-activations (N, 4H) and c_prev (N, H) -> (h, c): c = f c_prev + i g, h = o tanh(c)."""

    n_outputs = 2

    def forward(self, pre, c_prev):
        xp, H = self.xp, self.hidden
        self.act = act = _sigmoid(pre, xp.tanh)
        act[..., 2 * H:3 * H] = xp.tanh(pre[..., 2 * H:3 * H])
        c = act[..., H:2 * H] * c_prev
        c += act[..., :H] * act[..., 2 * H:3 * H]
        self.tc = tc = xp.tanh(c)
        return act[..., 3 * H:] * tc, c

    def _activations(self, pre: Tensor, c_prev: Tensor) -> tuple:
        """(i, f, g, o, tanh(c)): the saved arrays, or recomputed from the inputs in a recorded backward."""
        H = self.hidden
        if not _state.enabled:
            act = Tensor._make(self.act)
            tc = Tensor._make(self.tc)
        else:
            act = cat([pre[..., :2 * H].sigmoid(), pre[..., 2 * H:3 * H].tanh(), pre[..., 3 * H:].sigmoid()], -1)
            tc = (act[..., H:2 * H] * c_prev + act[..., :H] * act[..., 2 * H:3 * H]).tanh()
        return act[..., :H], act[..., H:2 * H], act[..., 2 * H:3 * H], act[..., 3 * H:], tc

    def backward(self, grad_h, grad_c):
        pre, c_prev = self.saved_tensors
        i, f, g, o, tc = self._activations(pre, c_prev)
        dc = grad_c
        if grad_h is not None:
            dc_from_h = grad_h * o * (1.0 - tc * tc)
            dc = dc_from_h if dc is None else dc + dc_from_h
            do = grad_h * tc * o * (1.0 - o)
        else:
            do = self._zeros_like(tc)
        d_pre = cat([dc * g * i * (1.0 - i), dc * c_prev * f * (1.0 - f), dc * i * (1.0 - g * g), do], -1)
        return d_pre, (dc * f if self.needs_input_grad(1) else None)


class GRUPointwise(_Pointwise):
    """x W_ih^T + b_ih (N, 3H), h W_hh^T + b_hh (N, 3H) and h_prev -> h = (1 - z) n + z h_prev."""

    def forward(self, xw, gh, h_prev):
        xp, H = self.xp, self.hidden
        self.rz = rz = _sigmoid(xw[..., :2 * H] + gh[..., :2 * H], xp.tanh)
        n = rz[..., :H] * gh[..., 2 * H:]
        n += xw[..., 2 * H:]
        self.n = n = xp.tanh(n, out=n) if xp is np else xp.tanh(n)
        h = h_prev - n
        h *= rz[..., H:]
        h += n
        return h

    def _activations(self, xw: Tensor, gh: Tensor) -> tuple:
        """(r, z, n): the saved arrays, or recomputed from the inputs in a recorded backward."""
        H = self.hidden
        if not _state.enabled:
            rz, n = Tensor._make(self.rz), Tensor._make(self.n)
        else:
            rz = (xw[..., :2 * H] + gh[..., :2 * H]).sigmoid()
            n = (xw[..., 2 * H:] + rz[..., :H] * gh[..., 2 * H:]).tanh()
        return rz[..., :H], rz[..., H:], n

    def backward(self, grad):
        xw, gh, h_prev = self.saved_tensors
        r, z, n = self._activations(xw, gh)
        dn = grad * (1.0 - z) * (1.0 - n * n)
        dr = dn * gh[..., 2 * self.hidden:] * r * (1.0 - r)
        dz = grad * (h_prev - n) * z * (1.0 - z)
        d_xw = cat([dr, dz, dn], -1)
        d_gh = cat([dr, dz, dn * r], -1) if self.needs_input_grad(1) else None
        return d_xw, d_gh, (grad * z if self.needs_input_grad(2) else None)


# ---- one time step of each mode -------------------------------------------------------------------
def _hidden_gemm(x: Tensor | None, h: Tensor, w_hh_t: Tensor) -> Tensor:
    """x + h @ W_hh^T in one node (x: the step's input projection or a bias, or None)."""
    return h.matmul(w_hh_t) if x is None else addmm(x, h, w_hh_t)


def _rnn_step(mode: str, xw: Tensor, state: tuple, w: tuple) -> tuple:
    """The next state from the step's input projection `xw` (biases included, but GRU's b_hh) and the state.

    `w` is (W_hh^T, b_hh, W_hr^T): b_hh is used only by GRU, W_hr only by LSTM with proj_size."""
    w_hh_t, b_hh, w_hr_t = w
    h = state[0]
    if mode == "LSTM":
        h, c = LSTMPointwise(state[1].shape[-1])(_hidden_gemm(xw, h, w_hh_t), state[1])
        return (h if w_hr_t is None else h.matmul(w_hr_t), c)
    if mode == "GRU":
        return GRUPointwise(h.shape[-1])(xw, _hidden_gemm(b_hh, h, w_hh_t), h)
    pre = _hidden_gemm(xw, h, w_hh_t)
    return (pre.tanh() if mode == "RNN_TANH" else pre.relu(),)


def _input_projection(x: Tensor, w_ih: Tensor, b_ih, b_hh, mode: str) -> Tensor:
    """x @ W_ih^T + biases for every time step in one GEMM; b_hh joins b_ih except in GRU (r multiplies it there)."""
    return F.linear(x, w_ih, b_ih if b_ih is None or mode == "GRU" else b_ih + b_hh)


def _check_dtype(layer: str, x: Tensor, w: Tensor) -> None:
    if x.dtype is not w.dtype:
        raise ValueError(f"{layer} input dtype ({x.dtype}) does not match weight dtype ({w.dtype}). Convert "
                         f"input: input.to({w.dtype}), or convert model: model.to({x.dtype})")


def _uniform_init(module: Module, hidden_size: int) -> None:
    """PyTorch's init of recurrent layers: every parameter uniform in +-1/sqrt(hidden_size)."""
    stdv = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    for w in module.parameters():
        init.uniform_(w, -stdv, stdv)


def _new_param(shape: tuple, factory: dict) -> Parameter:
    return Parameter(empty(*shape, **factory))


# ---- layers --------------------------------------------------------------------------------------------------
class RNNBase(Module):
    """A stack of recurrent layers over a sequence; parameters per layer and direction as PyTorch names them."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None):
        super().__init__()
        name = "LSTM" if mode == "LSTM" else "GRU" if mode == "GRU" else "RNN"
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                          stacklevel=3)
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers),
                           ("proj_size", proj_size)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name}: {arg} should be of type int, got: {type(value).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        factory = {"device": device, "dtype": dtype}
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size or hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(directions):
                layer_input = input_size if layer == 0 else real_hidden * directions
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = [("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                names = [n + suffix for n, _ in shapes]
                for n, (_, shape) in zip(names, shapes):
                    setattr(self, n, _new_param(shape, factory))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _uniform_init(self, self.hidden_size)

    def flatten_parameters(self) -> None:
        """Kept for PyTorch compatibility: the weights are always used as they are."""

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    def _layer_weights(self, k: int) -> tuple:
        """(W_ih, W_hh, b_ih, b_hh, W_hr) of layer-direction k (None where absent)."""
        names = self._all_weights[k]
        ws = [getattr(self, n) for n in names[:2]]
        ws += [getattr(self, n) for n in names[2:4]] if self.bias else [None, None]
        ws.append(getattr(self, names[-1]) if self.proj_size else None)
        return tuple(ws)

    def _check_input(self, input: Tensor) -> bool:
        """Validate the input; True when it is batched (3-D)."""
        if not isinstance(input, Tensor):
            raise TypeError(f"{self._get_name()}: expected a Tensor as input, got {type(input).__name__}")
        if input.ndim not in (2, 3):
            raise ValueError(f"{self._get_name()}: Expected input to be 2D or 3D, got {input.ndim}D instead")
        _check_dtype(self._get_name(), input, self.weight_ih_l0)
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{self!r}: input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {input.shape[-1]} (input of shape {tuple(input.shape)})")
        return input.ndim == 3

    def _initial_states(self, input: Tensor, hx, batched: bool) -> tuple:
        """The initial states as tensors of shape (layers * directions, N, size): zeros where hx is None."""
        sizes = [self.proj_size or self.hidden_size] + ([self.hidden_size] if self.mode == "LSTM" else [])
        n = input.shape[0 if self.batch_first else 1] if batched else 1
        lead = self.num_layers * (2 if self.bidirectional else 1)
        if hx is None:
            return tuple(zeros(lead, n, s, dtype=input.dtype, device=input.device) for s in sizes)
        states = tuple(hx) if self.mode == "LSTM" else (hx,)
        if len(states) != len(sizes) or not all(isinstance(t, Tensor) for t in states):
            what = "a tuple (h_0, c_0) of Tensors" if self.mode == "LSTM" else "a Tensor"
            raise TypeError(f"{self._get_name()}: expected hx to be {what}")
        want = 3 if batched else 2
        if any(t.ndim != want for t in states):
            names = "hx and cx" if self.mode == "LSTM" else "hx"
            got = ", ".join(f"{t.ndim}-D" for t in states)
            got = f"({got}) tensors" if self.mode == "LSTM" else f"{got} tensor"
            kind = "batched 3-D" if batched else "unbatched 2-D"
            raise RuntimeError(f"{self._get_name()}: For {kind} input, {names} should also be {want}-D but got {got}")
        if not batched:
            states = tuple(t.unsqueeze(1) for t in states)
        for k, (t, s) in enumerate(zip(states, sizes)):
            expected = (lead, n, s)
            if tuple(t.shape) != expected:
                which = f"hidden[{k}]" if self.mode == "LSTM" else "hidden"
                raise RuntimeError(f"{self._get_name()}: Expected {which} size {expected}, got {list(t.shape)}")
            _check_dtype(self._get_name(), t, self.weight_ih_l0)
        return states

    def _run(self, input: Tensor, hx):
        batched = self._check_input(input)
        states = self._initial_states(input, hx, batched)
        x = input if batched else input.unsqueeze(1)
        time_dim = 1 if self.batch_first and batched else 0
        directions = 2 if self.bidirectional else 1
        per_state = [s.unbind(0) for s in states]
        finals = []
        for layer in range(self.num_layers):
            if layer and self.dropout and self.training:
                x = F.dropout(x, self.dropout, True)
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                out, final = self._run_direction(x, time_dim, self._layer_weights(k),
                                                 tuple(s[k] for s in per_state), direction == 1)
                outputs.append(out)
                finals.append(final)
            x = outputs[0] if directions == 1 else cat(outputs, -1)
        h_n = tuple(stack([f[j] for f in finals], 0) for j in range(len(states)))
        if not batched:
            x, h_n = x.squeeze(1), tuple(h.squeeze(1) for h in h_n)
        return x, h_n

    def _run_direction(self, x: Tensor, time_dim: int, weights: tuple, state: tuple, reverse: bool) -> tuple:
        """One layer in one direction: the input projection in one GEMM, then a loop over time."""
        w_ih, w_hh, b_ih, b_hh, w_hr = weights
        steps = _input_projection(x, w_ih, b_ih, b_hh, self.mode).unbind(time_dim)
        w = (w_hh.t(), b_hh, None if w_hr is None else w_hr.t())
        outs = []
        for xw_t in (reversed(steps) if reverse else steps):
            state = _rnn_step(self.mode, xw_t, state, w)
            outs.append(state[0])
        if reverse:
            outs.reverse()
        return stack(outs, time_dim), state


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size,
                         num_layers, bias, batch_first, dropout, bidirectional, 0, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple:
        """(output of every step of the last layer, final hidden state of every layer and direction)."""
        out, (h_n,) = self._run(input, hx)
        return out, h_n


class LSTM(RNNBase):
    """Long short-term memory, gates i, f, g, o; with proj_size, h is projected by W_hr."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)

    def forward(self, input: Tensor, hx: tuple | None = None) -> tuple:
        """(output, (h_n, c_n))."""
        out, (h_n, c_n) = self._run(input, hx)
        return out, (h_n, c_n)


class GRU(RNNBase):
    """Gated recurrent unit, gates r, z, n with PyTorch's formula (r multiplies W_hn h + b_hn)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0,
                         device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple:
        """(output, h_n)."""
        out, (h_n,) = self._run(input, hx)
        return out, h_n


# ---- cells ---------------------------------------------------------------------------------------------------
class RNNCellBase(Module):
    """One time step: weight_ih (gates * hidden, input), weight_hh (gates * hidden, hidden), bias_ih, bias_hh."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool, device=None, dtype=None):
        super().__init__()
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        self.mode, self.input_size, self.hidden_size, self.bias = mode, input_size, hidden_size, bias
        factory = {"device": device, "dtype": dtype}
        gate_size = _GATES[mode] * hidden_size
        self.weight_ih = _new_param((gate_size, input_size), factory)
        self.weight_hh = _new_param((gate_size, hidden_size), factory)
        if bias:
            self.bias_ih = _new_param((gate_size,), factory)
            self.bias_hh = _new_param((gate_size,), factory)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _uniform_init(self, self.hidden_size)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _step(self, input: Tensor, hx) -> tuple:
        """Validate, then run one step; returns the new state tuple (unbatched inputs give unbatched states)."""
        name = self._get_name()
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor as input, got {type(input).__name__}")
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        _check_dtype(name, input, self.weight_ih)
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{self!r}: input has inconsistent input_size: got {input.shape[-1]} expected "
                               f"{self.input_size} (input of shape {tuple(input.shape)})")
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        n = x.shape[0]
        lstm = self.mode == "LSTM"
        if hx is None:
            state = tuple(zeros(n, self.hidden_size, dtype=input.dtype, device=input.device)
                          for _ in range(2 if lstm else 1))
        else:
            state = tuple(hx) if lstm else (hx,)
            for k, h in enumerate(state):
                if not isinstance(h, Tensor) or h.ndim != input.ndim:
                    raise RuntimeError(f"{name}: expected hidden{k} to be a {input.ndim}-D Tensor like the input "
                                       f"(shape {tuple(input.shape)}), got "
                                       f"{tuple(h.shape) if isinstance(h, Tensor) else type(h).__name__}")
            state = state if batched else tuple(h.unsqueeze(0) for h in state)
            for k, h in enumerate(state):
                if h.shape[0] != n:
                    raise RuntimeError(f"{name}: Input batch size {n} doesn't match hidden{k} batch size "
                                       f"{h.shape[0]}")
                if h.shape[1] != self.hidden_size:
                    raise RuntimeError(f"{name}: hidden{k} has inconsistent hidden_size: got {h.shape[1]}, "
                                       f"expected {self.hidden_size}")
                _check_dtype(name, h, self.weight_ih)
        xw = _input_projection(x, self.weight_ih, self.bias_ih, self.bias_hh, self.mode)
        state = _rnn_step(self.mode, xw, state, (self.weight_hh.t(), self.bias_hh, None))
        return state if batched else tuple(h.squeeze(0) for h in state)


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, bias,
                         device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx)[0]


class LSTMCell(RNNCellBase):
    """(h', c') from x and (h, c), gates i, f, g, o."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: tuple | None = None) -> tuple:
        return self._step(input, hx)


class GRUCell(RNNCellBase):
    """h' from x and h, gates r, z, n (r multiplies W_hn h + b_hn)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx)[0]


__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]
