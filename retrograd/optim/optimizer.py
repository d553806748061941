"""Optimizer: PyTorch's base class (parameter groups, per-parameter state, state dicts), whole-group updates.

Each subclass writes its update once, as its paper's formulas, on whole arrays. To make
that possible, the parameters of a group (per device and dtype) are moved into one flat
buffer at their first step (`p.data` becomes a view of it), and every state tensor
(`exp_avg`, `momentum_buffer`, ...) likewise into one flat buffer per key, with the
per-parameter state entries being views of it. So `optimizer.state[p]` looks exactly
like PyTorch's, while a step does a handful of array operations per group instead of
a handful per parameter. The state entries are the truth: when a parameter's storage
or a state tensor is replaced (`load_state_dict`, `p.data = ...`, a new parameter
getting its first gradient), the flat buffers are rebuilt from them.
"""
from __future__ import annotations

import copy
import operator
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import array_extras as _ax
from .. import dtypes as _dt
from ..autograd.grad_mode import enable_grad, no_grad
from ..device import namespace_of
from ..ops.creation import tensor as _tensor
from ..tensor import Tensor
from ..utils.grads import zero_grads

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]] | Iterable[tuple[str, Tensor]]

_NO_STATE: dict = {}
_PIECE = 1 << 17  # elements updated at a time: a piece's arrays and temporaries stay in cache between formulas


def _scalar_dtype() -> _dt.dtype:
    """The dtype of `state['step']`: float64 under a float64 default dtype, else float32 (as PyTorch)."""
    return _dt.float64 if _dt.get_default_dtype() is _dt.float64 else _dt.float32


def _zero_step() -> Tensor:
    """A new parameter's `state['step']`: a 0-d tensor, on the CPU as PyTorch keeps it (so that reading
    the step count never waits for a GPU)."""
    return _tensor(0.0, dtype=_scalar_dtype(), device="cpu")


def _concat(xp, parts: list, dtype):
    """The 1-d arrays `parts` joined, in `dtype` (a dtype of `xp`)."""
    if xp is np:
        return np.concatenate(parts, dtype=dtype)
    return xp.concat([p if p.dtype == dtype else xp.astype(p, dtype) for p in parts])


def _check_not_differentiable(differentiable: bool) -> None:
    """Updates run in place outside the graph: PyTorch's `differentiable=True` is not offered."""
    if differentiable:
        raise NotImplementedError("differentiable=True is not supported by retrograd's optimizers")


def _typename(obj) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


class Optimizer:
    """Base class of all optimizers: parameter groups with per-group options, and per-parameter state.

    A subclass gives `_init_state(group, p)` (a new parameter's state, as PyTorch creates it)
    and `_update(group, s)` (one step on a `_Work`: the group's parameters, gradients and
    state as whole arrays).
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]):
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {_typename(params)}")
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._flat: dict[int, _GroupCache] = {}
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ---- parameter groups ----------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (the rest taken from `defaults`)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {_typename(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names and len(names) != len(params):
            raise ValueError("all optimizer params should be with/without names. Some param names are missing")
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {_typename(p)}")
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters; "
                             "pass each parameter once")
        group = dict(param_group, params=params)
        if names:
            group["param_names"] = names
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        for other in self.param_groups:
            if ("param_names" in group) != ("param_names" in other):
                which = "with names" if "param_names" in group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        seen = {id(p) for other in self.param_groups for p in other["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # ---- what subclasses give -------------------------------------------------------------
    def _init_state(self, group: dict[str, Any], p: Tensor) -> dict[str, Tensor]:
        """The state of a parameter at its first step (empty: no state)."""
        return {}

    def _update(self, group: dict[str, Any], s: _Work) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement an update")

    # ---- stepping -----------------------------------------------------------------------------
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient; `closure` (re-evaluating the loss with
        grad enabled) is called first, and its loss is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                new = self._init_new_states(group)
                for flat in self._flat_buffers(group):
                    work = flat.work(new)
                    if work is not None:
                        for piece in work.pieces():
                            self._update(group, piece)
                        work.commit()
        return loss

    def _init_new_states(self, group: dict[str, Any]) -> set[int]:
        """Create the state of parameters getting their first gradient; the ids of those without state before."""
        new = set()
        for p in group["params"]:
            if p.grad is not None and not self.state.get(p):
                new.add(id(p))
                state = self._init_state(group, p)
                if state:
                    self.state[p] = state
        return new

    def _flat_buffers(self, group: dict[str, Any]) -> list[_Flat]:
        """The group's flat buffers, rebuilt when a parameter's storage or a state tensor was replaced."""
        signature = [x for p in group["params"] for x in (p, p._data, *self.state.get(p, _NO_STATE).values())]
        cache = self._flat.get(id(group))
        if (cache is None or cache.group is not group or len(cache.signature) != len(signature)
                or not all(map(operator.is_, cache.signature, signature))):
            by_kind: dict[tuple, list[Tensor]] = {}
            for p in group["params"]:
                by_kind.setdefault((type(p._data), str(p.device), p._data.dtype), []).append(p)
            flats = [_Flat(ps, self.state, type(self).__name__) for ps in by_kind.values()]
            signature = [x for p in group["params"] for x in (p, p._data, *self.state.get(p, _NO_STATE).values())]
            cache = self._flat[id(group)] = _GroupCache(group, signature, flats)
        return cache.flats

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients: to None (the default), or to zeros in place."""
        zero_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    # ---- state dicts ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """PyTorch's format: `{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}`,
        parameters numbered in group order; the state tensors are the optimizer's own (not copies)."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {(index[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state dict of this optimizer's layout (from `state_dict()`, PyTorch's, or one whose
        tensors are NumPy arrays). State tensors are copied, cast to their parameter's dtype except `step`."""
        missing = [k for k in ("state", "param_groups") if k not in state_dict]
        if missing:
            raise KeyError(f"loaded state dict lacks {missing}; expected a dict with 'state' and 'param_groups'")
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups ({len(saved_groups)}, "
                             f"this optimizer has {len(self.param_groups)})")
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                                 f"optimizer's group (group {i}: {len(saved['params'])} parameters saved, "
                                 f"{len(group['params'])} in this optimizer)")
        by_id = {i: p for group, saved in zip(self.param_groups, saved_groups)
                 for i, p in zip(saved["params"], group["params"])}
        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in by_id:
                state[by_id[k]] = _cast(by_id[k], v)
            else:
                state[k] = v
        for group, saved in zip(self.param_groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
        self.__setstate__({"defaults": self.defaults, "state": state, "param_groups": saved_groups})

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Options missing from older state dicts get their defaults; a number `step` becomes a tensor."""
        self.__dict__.update(state)
        self._flat = {}
        for group in self.param_groups:
            for name, default in self.defaults.items():
                group.setdefault(name, default)
            for p in group["params"]:
                s = self.state.get(p, _NO_STATE)
                if "step" in s and not isinstance(s["step"], Tensor):
                    s["step"] = _tensor(float(s["step"]), dtype=_scalar_dtype(), device="cpu")

    def __repr__(self) -> str:
        text = f"{type(self).__name__} ("
        for i, group in enumerate(self.param_groups):
            options = "".join(f"    {k}: {group[k]}\n" for k in sorted(group) if k != "params")
            text += f"\nParameter Group {i}\n{options}"
        return text + ")"


def _cast(param: Tensor, value, key=None):
    """A loaded state value for `param`: tensors (or arrays) copied onto its device, floating ones in its
    dtype except `step`; dicts and sequences recursively; anything else as it is."""
    if isinstance(value, dict):
        return {k: _cast(param, v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(param, v) for v in value)
    if not isinstance(value, Tensor) and not (hasattr(value, "__array__") or hasattr(value, "__dlpack__")):
        return value
    t = value if isinstance(value, Tensor) else _tensor(value, device="cpu" if key == "step" else param.device)
    if key == "step":  # kept on the CPU, as PyTorch does (without capturable/fused)
        return t.to(device="cpu", copy=True)
    if param.is_floating_point():
        return t.to(dtype=param.dtype, device=param.device, copy=True)
    return t.to(device=param.device, copy=True)


class _GroupCache:
    """A group's flat buffers, with what they were built from (checked by identity at every step)."""

    __slots__ = ("group", "signature", "flats")

    def __init__(self, group: dict, signature: list, flats: list[_Flat]):
        self.group, self.signature, self.flats = group, signature, flats


class _Flat:
    """Parameters of one group, device and dtype, and their state, as views into flat buffers.

    `param` holds every parameter (each `p.data` is a view of it); `buffers[key]` holds state
    `key` of every parameter (each `state[p][key]` a view), `buffers['step']` one number per
    parameter, on the host (as PyTorch keeps `step` on the CPU: reading it never waits for a
    GPU). Segments of parameters without that state yet are unused zeros.
    """

    def __init__(self, params: list[Tensor], state: dict, owner: str):
        self.params = params
        self.xp = xp = namespace_of(params[0]._data)
        self.ufuncs = _ax.numpy_like(xp)
        self.sizes = [p._data.size for p in params]
        self.bounds = [0]
        for n in self.sizes:
            self.bounds.append(self.bounds[-1] + n)
        self.param = _concat(xp, [_ax.reshape(p._data, (-1,)) for p in params], params[0]._data.dtype)
        for p, view in zip(params, self._views(self.param)):
            p.data = Tensor._make(view)
        self.buffers = {}
        for key in dict.fromkeys(k for p in params for k in state.get(p, _NO_STATE)):
            holders = [(i, p) for i, p in enumerate(params) if key in state.get(p, _NO_STATE)]
            if key == "step":
                buf = np.zeros(len(params), dtype=_scalar_dtype().np)
                for i, p in holders:
                    buf[i] = float(state[p]["step"])
                    state[p]["step"] = Tensor._make(buf[i:i + 1].reshape(()))
            elif all(isinstance(state[p][key], Tensor) for _, p in holders):
                buf = xp.zeros_like(self.param)
                for i, p in holders:
                    value = state[p][key]
                    if value.shape != p.shape:
                        raise ValueError(f"{owner}: state '{key}' of a parameter of shape {tuple(p.shape)} has "
                                         f"shape {tuple(value.shape)}; the state dict does not fit the parameters")
                    a, b = self.bounds[i], self.bounds[i + 1]
                    buf[a:b] = _ax.reshape(xp.asarray(value._data), (-1,))
                    state[p][key] = Tensor._make(_ax.reshape(buf[a:b], tuple(value.shape)))
            else:
                continue
            self.buffers[key] = buf

    def _views(self, flat):
        return [_ax.reshape(flat[a:b], p._data.shape) for p, a, b in zip(self.params, self.bounds, self.bounds[1:])]

    def work(self, new: set[int]) -> _Work | None:
        """This step's arrays: all parameters, or a gathered copy of those with a gradient."""
        has = [p.grad is not None for p in self.params]
        if not any(has):
            return None
        return _Work(self, has, new)


class _Work:
    """What one update works on, as whole arrays: `param`, `grad`, `s[key]` (state), `step`.

    `step` is a number when every parameter is at the same step (the usual case), else a
    per-parameter array (on the host); `expand` turns per-parameter values into per-element
    ones. Updates change `param` and the state arrays in place; `commit` writes a gathered
    subset back. `ufuncs` is NumPy or CuPy (ufuncs with `out=`), else None: the update then
    uses only the standard's functions and operators (in-place operators included).
    """

    def __init__(self, flat: _Flat, has: list[bool], new: set[int]):
        xp = flat.xp
        self.flat, self.xp, self.ufuncs = flat, xp, flat.ufuncs
        self.all = all(has)
        self.params = flat.params if self.all else [p for p, h in zip(flat.params, has) if h]
        for p in self.params:
            if p.grad.shape != p.shape:
                raise RuntimeError(f"optimizer step: a parameter of shape {tuple(p.shape)} has a gradient of shape "
                                   f"{tuple(p.grad.shape)}")
        self.grads = [_ax.reshape(p.grad._data, (-1,)) for p in self.params]
        self._grad = None
        self.sizes = flat.sizes if self.all else [p._data.size for p in self.params]
        self.select = None
        if not self.all:
            # NumPy: a boolean mask. Elsewhere the runs of selected parameters as slices: a mask's
            # gather would wait for the GPU to count its elements.
            self.select = xp.repeat(xp.asarray(has), flat.sizes) if xp is np else _runs(has, flat.bounds)
        self.param = self._take(flat.param)
        self.state = {k: self._take(b) for k, b in flat.buffers.items() if k != "step"}
        self.new = [id(p) in new for p in self.params]
        self.step = None
        if "step" in flat.buffers:
            steps = flat.buffers["step"]
            index = slice(None) if self.all else np.flatnonzero(has)
            steps[index] += 1
            mine = steps[index]
            self.step = float(mine[0]) if bool((mine == mine[0]).all()) else mine.astype(np.float64)

    @property
    def grad(self):
        """The gradients as one array in the parameters' dtype (gathered on first use: pieces read views)."""
        if self._grad is None:
            self._grad = self._gather(0, self.param.size)
        return self._grad

    def _gather(self, a: int, b: int):
        """Elements a:b of the concatenated gradients: a view where they lie in one parameter's gradient."""
        parts, start = [], 0
        for g in self.grads:
            end = start + g.size
            if end > a and start < b:
                parts.append(g[max(a - start, 0):min(b, end) - start])
            start = end
        dtype = self.param.dtype
        if len(parts) == 1 and parts[0].dtype == dtype:
            return parts[0]  # updates never write into the gradient
        return _concat(self.xp, parts, dtype)

    def pieces(self) -> list[_Work]:
        """The work in cache-sized pieces, when every element follows the same formulas (one step count,
        state all new or all old); else whole."""
        n = self.param.size
        if self.select is not None or n <= _PIECE or not isinstance(self.step, (float, type(None))) \
                or len(set(self.new)) > 1:
            return [self]
        pieces = []
        for a in range(0, n, _PIECE):
            piece = copy.copy(self)
            piece.param, piece._grad = self.param[a:a + _PIECE], self._gather(a, a + _PIECE)
            piece.state = {k: v[a:a + _PIECE] for k, v in self.state.items()}
            pieces.append(piece)
        return pieces

    def _take(self, buf):
        if self.select is None:
            return buf
        if self.xp is np:
            return buf[self.select]
        return _concat(self.xp, [buf[a:b] for a, b in self.select], buf.dtype)

    def __getitem__(self, key: str):
        return self.state[key]

    def expand(self, value):
        """Per-parameter values (a host array, from a per-parameter `step`) as per-element ones; a number as it is."""
        if isinstance(value, (int, float)):
            return value
        if self.xp is np:
            return np.repeat(value.astype(self.param.dtype), self.sizes)
        return _repeat(self.xp, self.xp.asarray(value, dtype=self.param.dtype), self.sizes)

    def start_new(self, buf, value) -> None:
        """Where a parameter's state was created in this step, set `buf` to `value` instead."""
        if all(self.new):
            buf[...] = value
        elif any(self.new):
            xp = self.xp
            if xp is np:
                np.copyto(buf, value, where=np.repeat(np.asarray(self.new), self.sizes))
            else:
                buf[...] = xp.where(_repeat(xp, xp.asarray(self.new), self.sizes), value, buf)

    def commit(self) -> None:
        """Write a gathered subset back and count the in-place change of each updated parameter."""
        if self.select is not None and self.xp is np:
            self.flat.param[self.select] = self.param
            for k, arr in self.state.items():
                self.flat.buffers[k][self.select] = arr
        elif self.select is not None:
            pairs = [(self.flat.param, self.param), *((self.flat.buffers[k], v) for k, v in self.state.items())]
            for target, arr in pairs:
                start = 0
                for a, b in self.select:
                    target[a:b] = arr[start:start + b - a]
                    start += b - a
        for p in self.params:
            p._bump_version()


def _repeat(xp, values, sizes: list[int]):
    """Each of the 1-d `values` repeated sizes[i] times (the counts come from the host: no sync)."""
    uf = _ax.numpy_like(xp)
    if uf is not None:  # CuPy's repeat takes the counts as a list, not as an array
        return uf.repeat(values, sizes)
    return xp.repeat(values, xp.asarray(sizes, dtype=xp.int64))


def _runs(has: list[bool], bounds: list[int]) -> list[tuple[int, int]]:
    """The element ranges [a, b) of the runs of consecutive parameters with `has` set."""
    runs: list[tuple[int, int]] = []
    for i, h in enumerate(has):
        if h:
            if runs and runs[-1][1] == bounds[i]:
                runs[-1] = (runs[-1][0], bounds[i + 1])
            else:
                runs.append((bounds[i], bounds[i + 1]))
    return runs


__all__ = ["Optimizer"]
