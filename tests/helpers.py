"""Test helpers: run one function on retrograd and on PyTorch with the same inputs.

A test function takes the library module first: `lambda m, x, y: m.maximum(x, y)`,
called once with `retrograd` and once with `torch`. Tensor methods work the same
way on both (`lambda m, x: x.exp()`).
"""
from __future__ import annotations

import numpy as np
import pytest

import retrograd as rg

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle: pip install torch==2.13.0")


def _as_tuple(x):
    return x if isinstance(x, (tuple, list)) else (x,)


def _to_numpy(t):
    """A tensor's values on the host, whichever library and device it comes from."""
    return t.detach().cpu().numpy()


def make_inputs(arrays, requires_grad=True):
    """retrograd and torch tensors over copies of the same arrays (floats require grad)."""
    rs, ts = [], []
    for a in arrays:
        if isinstance(a, np.ndarray):
            rg_grad = requires_grad and a.dtype.kind == "f"
            rs.append(rg.tensor(a.copy(), requires_grad=rg_grad))
            ts.append(torch.tensor(a.copy(), requires_grad=rg_grad))
        else:
            rs.append(a)
            ts.append(a)
    return rs, ts


def assert_close(actual, expected, rtol=1e-5, atol=1e-6, what="value"):
    a = np.asarray(_to_numpy(actual) if hasattr(actual, "detach") else actual)
    e = np.asarray(_to_numpy(expected) if hasattr(expected, "detach") else expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != torch's {e.shape}"
    if a.dtype == np.bool_ or e.dtype.kind in "iub":
        np.testing.assert_array_equal(a, e, err_msg=what)
    else:
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=what)


def check_op(fn, *arrays, rtol=1e-5, atol=1e-6, grad=True, seed=0):
    """fn on retrograd vs torch: outputs, dtypes, and (for float outputs) input gradients
    after backward with the same random upstream gradient. Returns the retrograd outputs."""
    rs, ts = make_inputs(arrays, requires_grad=grad)
    r_out, t_out = _as_tuple(fn(rg, *rs)), _as_tuple(fn(torch, *ts))
    assert len(r_out) == len(t_out)
    for i, (r, t) in enumerate(zip(r_out, t_out)):
        if isinstance(r, rg.Tensor):
            assert r.device == rg.get_default_device(), f"output {i}: on {r.device}, expected {rg.get_default_device()}"
        if isinstance(t, torch.Tensor):
            assert str(r.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], \
                f"output {i}: dtype {r.dtype} != torch's {t.dtype}"
        assert_close(r, t, rtol, atol, what=f"output {i}")
    if not grad:
        return r_out
    gen = np.random.default_rng(seed)
    pairs = [(r, t) for r, t in zip(r_out, t_out)
             if isinstance(t, torch.Tensor) and t.requires_grad and t.dtype.is_floating_point]
    if not pairs:
        return r_out
    ups = [gen.standard_normal(t.shape).astype(_to_numpy(t).dtype) for _, t in pairs]
    rg.autograd.backward([r for r, _ in pairs], [rg.tensor(u) for u in ups])
    torch.autograd.backward([t for _, t in pairs], [torch.tensor(u) for u in ups])
    for i, (r, t) in enumerate(zip(rs, ts)):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            if t.grad is None:
                assert r.grad is None or not np.any(_to_numpy(r.grad)), f"input {i}: torch has no grad"
                continue
            assert r.grad is not None, f"input {i}: no gradient (torch has one)"
            assert r.grad.dtype is r.dtype, f"input {i}: grad dtype {r.grad.dtype} != tensor dtype {r.dtype}"
            assert_close(r.grad, t.grad, rtol, atol, what=f"grad of input {i}")
    return r_out


def check_gradcheck(fn, *arrays, eps=1e-6, atol=1e-5, rtol=1e-3):
    """float64 central-difference gradcheck of fn(retrograd, ...)."""
    rs = [rg.tensor(a.astype(np.float64), requires_grad=True) if isinstance(a, np.ndarray) and a.dtype.kind == "f"
          else (rg.tensor(a) if isinstance(a, np.ndarray) else a) for a in arrays]
    assert rg.autograd.gradcheck(lambda *xs: fn(rg, *xs), rs, eps=eps, atol=atol, rtol=rtol)


def check_double_backward(fn, *arrays, rtol=1e-4, atol=1e-5, seed=1):
    """Second derivatives against torch: d/dx <d fn/dx . v, w> for random v and w."""
    arrays = [a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in arrays]
    results = []
    for m in (rg, torch):
        xs = [m.tensor(a.copy(), requires_grad=True) if isinstance(a, np.ndarray) and a.dtype.kind == "f"
              else (m.tensor(a) if isinstance(a, np.ndarray) else a) for a in arrays]
        diff = [x for x in xs if hasattr(x, "requires_grad") and x.requires_grad]
        out = fn(m, *xs)
        local = np.random.default_rng(seed)
        v = m.tensor(local.standard_normal(tuple(out.shape)))
        grads = m.autograd.grad(out, diff, v, create_graph=True)
        total = sum(((g * m.tensor(local.standard_normal(tuple(g.shape)))).sum() for g in grads), m.tensor(0.0,
                    dtype=m.float64))
        second = m.autograd.grad(total, diff, allow_unused=True)
        results.append([None if s is None else _to_numpy(s) for s in second])
    for i, (r, t) in enumerate(zip(*results)):
        if t is None or r is None:
            assert (t is None or not np.any(t)) and (r is None or not np.any(r)), f"input {i}: one side has no grad"
            continue
        np.testing.assert_allclose(r, t, rtol=rtol, atol=atol, err_msg=f"second derivative, input {i}")
