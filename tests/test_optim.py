"""retrograd.optim against torch.optim: the same parameters and losses, step by step."""
from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from helpers import torch

import retrograd as rg

pytestmark = pytest.mark.on_devices

SHAPES = {"w1": (4, 3), "b1": (3,), "w2": (3, 2), "unused": (2, 2)}
DTYPES = {"float32": (np.float32, 1e-5, 1e-6), "float64": (np.float64, 1e-10, 1e-12)}  # atol: ulps near 0

CASES = {
    "SGD": [dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.1, momentum=0.9, dampening=0.5),
            dict(lr=0.1, momentum=0.9, nesterov=True), dict(lr=0.1, weight_decay=0.1),
            dict(lr=0.1, maximize=True), dict(lr=0.05, momentum=0.5, weight_decay=0.2, nesterov=True, maximize=True),
            dict(lr=0.05, momentum=0.5, dampening=0.3, weight_decay=0.2)],
    "Adam": [dict(), dict(lr=0.05), dict(lr=0.05, amsgrad=True), dict(lr=0.05, weight_decay=0.1),
             dict(lr=0.05, maximize=True), dict(lr=0.05, betas=(0.5, 0.9), eps=1e-3),
             dict(lr=0.05, amsgrad=True, weight_decay=0.1, maximize=True), dict(lr=0.05, decoupled_weight_decay=True,
                                                                                 weight_decay=0.3)],
    "AdamW": [dict(), dict(lr=0.05, weight_decay=0.5), dict(lr=0.05, amsgrad=True), dict(lr=0.05, maximize=True),
              dict(lr=0.05, weight_decay=0), dict(lr=0.05, amsgrad=True, weight_decay=0.1, maximize=True)],
    "RMSprop": [dict(), dict(lr=0.01, momentum=0.9), dict(lr=0.01, centered=True),
                dict(lr=0.01, centered=True, momentum=0.5), dict(lr=0.01, weight_decay=0.1),
                dict(lr=0.01, maximize=True), dict(lr=0.01, alpha=0.9, eps=1e-4),
                dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1, maximize=True)],
    "Adagrad": [dict(), dict(lr=0.1, lr_decay=0.1), dict(lr=0.1, initial_accumulator_value=0.5),
                dict(lr=0.1, weight_decay=0.1), dict(lr=0.1, maximize=True), dict(lr=0.1, eps=1e-3),
                dict(lr=0.1, lr_decay=0.05, initial_accumulator_value=0.1, weight_decay=0.1, maximize=True)],
}
ALL_CASES = [(name, kw) for name, kws in CASES.items() for kw in kws]
STATEFUL = [("SGD", dict(lr=0.1, momentum=0.9, dampening=0.2)), ("Adam", dict(lr=0.05, amsgrad=True)),
            ("AdamW", dict(lr=0.05, weight_decay=0.1)), ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
            ("Adagrad", dict(lr=0.1, lr_decay=0.1, initial_accumulator_value=0.1))]


def _ids(case):
    name, kw = case
    return name + "(" + ",".join(f"{k}={v}" for k, v in kw.items()) + ")"


def _arrays(dtype=np.float32, seed=0):
    gen = np.random.default_rng(seed)
    arrays = {k: (gen.standard_normal(s) * 0.5).astype(dtype) for k, s in SHAPES.items()}
    return arrays, gen.standard_normal((5, 4)).astype(dtype)


def _params(m, arrays):
    return {k: m.tensor(a.copy(), requires_grad=True) for k, a in arrays.items()}


def _loss(m, ps, x, names=("w1", "b1", "w2")):
    """A small MLP's loss (plus an L2 term, so that gradients keep changing); only `names` get gradients."""
    w1, b1, w2 = (ps[k] if k in names else ps[k].detach() for k in ("w1", "b1", "w2"))
    h = m.tanh(m.tensor(x) @ w1 + b1)
    return ((h @ w2 - 0.3) ** 2).mean() + 0.05 * (w1 ** 2).sum()


def _np(t):
    if isinstance(t, np.ndarray):
        return t
    return t.detach().cpu().numpy()


def _assert_params(r, t, tol, what):
    for k in r:
        np.testing.assert_allclose(_np(r[k]), _np(t[k]), rtol=tol[0], atol=tol[1], err_msg=f"{what}: {k}")
        assert str(r[k].dtype).split(".")[-1] == str(t[k].dtype).split(".")[-1], f"{what}: {k} dtype {r[k].dtype}"


def _train(m, name, kw, ps, x, steps, opt=None, schedule=None):
    """`steps` steps of optimizer `name` (or `opt`); returns the optimizer and the parameters after each step.
    `schedule[i % len(schedule)]` names the parameters that get a gradient at step i (the others' are None)."""
    opt = opt or getattr(m.optim, name)([ps[k] for k in ("w1", "b1", "w2", "unused")], **kw)
    history = []
    for i in range(steps):
        opt.zero_grad()
        _loss(m, ps, x, schedule[i % len(schedule)] if schedule else ("w1", "b1", "w2")).backward()
        opt.step()
        history.append({k: _np(p).copy() for k, p in ps.items()})
    return opt, history


def _assert_histories(rh, th, tol, what):
    assert len(rh) == len(th)
    for i, (r, t) in enumerate(zip(rh, th)):
        _assert_params(r, t, tol, f"{what} step {i + 1}")


# ---- the update, step by step ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("case", ALL_CASES, ids=[_ids(c) for c in ALL_CASES])
def test_steps_match_torch(case, dtype):
    name, kw = case
    np_dtype, *tol = DTYPES[dtype]
    arrays, x = _arrays(np_dtype)
    r, t = _params(rg, arrays), _params(torch, arrays)
    (ro, rh), (to, th) = _train(rg, name, kw, r, x, 12), _train(torch, name, kw, t, x, 12)
    _assert_histories(rh, th, tol, name)
    np.testing.assert_array_equal(_np(r["unused"]), arrays["unused"])  # no grad: untouched
    _assert_state_like_torch(ro.state_dict(), to.state_dict(), tol)


def _assert_state_like_torch(rsd, tsd, tol=(1e-5, 1e-6)):
    """Same layout as PyTorch's state dict: group options, parameter indices, state keys, values and dtypes."""
    assert rsd["param_groups"] == tsd["param_groups"]
    assert sorted(rsd["state"]) == sorted(tsd["state"])
    for i, ts in tsd["state"].items():
        rs = rsd["state"][i]
        assert list(rs) == list(ts), f"state {i}: keys {list(rs)} != torch's {list(ts)}"
        for k, v in ts.items():
            assert str(rs[k].dtype).split(".")[-1] == str(v.dtype).split(".")[-1], f"state {i} {k}: dtype"
            assert tuple(rs[k].shape) == tuple(v.shape), f"state {i} {k}: shape"
            np.testing.assert_allclose(_np(rs[k]), _np(v), rtol=tol[0] * 10, atol=tol[1] * 10, err_msg=f"{i} {k}")


@pytest.mark.parametrize("case", STATEFUL, ids=[_ids(c) for c in STATEFUL])
def test_parameters_without_grad_at_some_steps(case):
    """Grads present at some steps only: those parameters skip the step (their `step` counts lag)."""
    name, kw = case
    arrays, x = _arrays()
    r, t = _params(rg, arrays), _params(torch, arrays)
    schedule = [("w1", "b1", "w2"), ("w1",), ("w2", "b1"), ("w1", "w2"), ("b1",)]
    (ro, rh), (to, th) = (_train(m, name, kw, ps, x, 10, schedule=schedule) for m, ps in ((rg, r), (torch, t)))
    _assert_histories(rh, th, (1e-5, 1e-6), name)
    _assert_state_like_torch(ro.state_dict(), to.state_dict())


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_param_groups_with_different_options(name):
    arrays, x = _arrays()
    results = []
    for m in (rg, torch):
        ps = _params(m, arrays)
        kw = {"momentum": 0.9} if name != "Adam" else {}
        opt = getattr(m.optim, name)([{"params": [ps["w1"]], "lr": 0.1},
                                      {"params": [ps["b1"], ps["w2"]], "weight_decay": 0.1}], lr=0.01, **kw)
        for _ in range(8):
            opt.zero_grad()
            _loss(m, ps, x).backward()
            opt.step()
        results.append((ps, opt))
    (r, ro), (t, to) = results
    _assert_params(r, t, (1e-5, 1e-6), name)
    assert [g["lr"] for g in ro.param_groups] == [0.1, 0.01]
    _assert_state_like_torch(ro.state_dict(), to.state_dict())


@pytest.mark.parametrize("case", STATEFUL, ids=[_ids(c) for c in STATEFUL])
def test_large_group_updated_in_pieces(case):
    """A group bigger than one cache-sized piece (retrograd updates it piece by piece), with a parameter
    that misses its gradient at some steps."""
    name, kw = case
    gen = np.random.default_rng(2)
    arrays = [gen.standard_normal(s).astype(np.float32) for s in ((230, 170), (9000,), (7,))]
    scale = [gen.random(a.shape).astype(np.float32) for a in arrays]
    results = []
    for m in (rg, torch):
        ps = [m.tensor(a.copy(), requires_grad=True) for a in arrays]
        opt = getattr(m.optim, name)(ps, **kw)
        history = []
        for i in range(6):
            opt.zero_grad()
            used = ps if i % 3 else ps[:2]
            sum(((p - 0.2) ** 2 * m.tensor(c)).sum() for p, c in zip(used, scale)).backward()
            opt.step()
            history.append({str(k): _np(p).copy() for k, p in enumerate(ps)})
        results.append(history)
    _assert_histories(*results, (1e-5, 1e-6), name)


def test_mlp_with_copied_weights_trains_like_torch():
    gen = np.random.default_rng(1)
    x, y = gen.standard_normal((16, 6)).astype(np.float32), gen.integers(0, 3, 16)
    models = []
    for m in (rg, torch):
        m.manual_seed(0)
        models.append(m.nn.Sequential(m.nn.Linear(6, 8), m.nn.ReLU(), m.nn.Linear(8, 3)))
    models[0].load_state_dict({k: rg.tensor(_np(v)) for k, v in models[1].state_dict().items()})
    opts = [m.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)
            for m, model in zip((rg, torch), models)]
    for _ in range(10):
        losses = []
        for m, model, opt in zip((rg, torch), models, opts):
            opt.zero_grad()
            loss = m.nn.functional.cross_entropy(model(m.tensor(x)), m.tensor(y))
            loss.backward()
            opt.step()
            losses.append(loss.item())
        np.testing.assert_allclose(*losses, rtol=1e-5)
    for k, v in models[1].state_dict().items():
        np.testing.assert_allclose(_np(models[0].state_dict()[k]), _np(v), rtol=1e-5, atol=1e-6, err_msg=k)


def _address(t):
    """Where a tensor's data starts in memory (the stand-in's arrays expose it through DLPack)."""
    if rg.cuda.is_standin() and t.device.type == "cuda":
        return np.from_dlpack(t._data).__array_interface__["data"][0]
    return t.data_ptr()


def test_parameters_share_memory_with_the_optimizer(on_device):
    """After the first step each parameter is a view of the group's flat buffer; replacing a parameter's
    storage (p.data = ...) or a state tensor is still honoured, as in PyTorch."""
    arrays, x = _arrays()
    r, t = _params(rg, arrays), _params(torch, arrays)
    (ro, _), (to, _) = _train(rg, "Adam", {"lr": 0.05}, r, x, 3), _train(torch, "Adam", {"lr": 0.05}, t, x, 3)
    if on_device == "cpu":
        flat = r["w1"].detach().numpy().base
        assert flat is not None and all(p.detach().numpy().base is flat for p in r.values())
        assert ro.state[r["w1"]]["exp_avg"].detach().numpy().base is ro.state[r["b1"]]["exp_avg"].detach().numpy().base
    for ts in ([r[k] for k in ("w1", "b1", "w2", "unused")], [ro.state[r[k]]["exp_avg"] for k in ("w1", "b1", "w2")]):
        addresses = [_address(t) for t in ts]  # back to back in one buffer, on every device
        assert all(b == a + t.numel() * t.element_size() for a, b, t in zip(addresses, addresses[1:], ts))
    for m, ps, opt in ((rg, r, ro), (torch, t, to)):
        with m.no_grad():
            ps["w1"].data = ps["w1"].data * 0.5
            opt.state[ps["b1"]]["exp_avg"] = opt.state[ps["b1"]]["exp_avg"] * 2
            ps["w2"].mul_(0.9)
    _assert_histories(_train(rg, "", {}, r, x, 3, opt=ro)[1], _train(torch, "", {}, t, x, 3, opt=to)[1],
                      (1e-5, 1e-6), "after replacing storage")


def test_dtypes_are_kept():
    arrays, x = _arrays(np.float32)
    ps = _params(rg, arrays)
    ps["z"] = rg.tensor([1.0, 2.0], dtype=rg.float64, requires_grad=True)
    opt = rg.optim.Adam(list(ps.values()), amsgrad=True)
    for _ in range(2):
        opt.zero_grad()
        (_loss(rg, ps, x) + (ps["z"] ** 2).sum()).backward()
        opt.step()
    assert [p.dtype for p in ps.values()] == [rg.float32] * 4 + [rg.float64]
    for p in ("w1", "z"):
        st = opt.state[ps[p]]
        assert st["step"].dtype is rg.float32 and st["step"].shape == ()
        assert all(st[k].dtype is ps[p].dtype for k in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"))


# ---- zero_grad, closures --------------------------------------------------------------------------
@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none):
    arrays, x = _arrays()
    for m in (rg, torch):
        ps = _params(m, arrays)
        opt = m.optim.SGD(ps.values(), lr=0.1)
        _loss(m, ps, x).backward()
        held = ps["w1"].grad
        ps["b1"].grad = ps["b1"].grad * m.ones(3, requires_grad=True)  # a grad with history
        opt.zero_grad(set_to_none=set_to_none)
        if set_to_none:
            assert all(p.grad is None for p in ps.values())
        else:
            assert ps["w1"].grad is held and not held.detach().cpu().numpy().any()
            assert ps["b1"].grad.grad_fn is None and not ps["b1"].grad.requires_grad
            assert ps["unused"].grad is None
            _loss(m, ps, x).backward()  # accumulates into the zeroed grads
            assert ps["w1"].grad is held and held.detach().cpu().numpy().any()


def test_zero_grad_default_sets_none():
    p = rg.tensor([1.0, 2.0], requires_grad=True)
    opt = rg.optim.SGD([p])
    (p * p).sum().backward()
    opt.zero_grad()
    assert p.grad is None


def _closure(m, opt, ps, x, calls):
    def closure():
        opt.zero_grad()
        loss = _loss(m, ps, x)
        loss.backward()
        calls.append(loss.item())
        return loss

    return closure


def test_step_with_closure():
    arrays, x = _arrays()
    results = []
    for m in (rg, torch):
        ps = _params(m, arrays)
        opt = m.optim.SGD([ps[k] for k in ("w1", "b1", "w2")], lr=0.1, momentum=0.9)
        calls = []
        closure = _closure(m, opt, ps, x, calls)
        losses = []
        for i in range(6):
            if i % 2:
                with m.no_grad():  # the closure re-evaluates the loss with grad enabled anyway
                    losses.append(opt.step(closure).item())
            else:
                losses.append(opt.step(closure).item())
        assert calls == losses
        results.append((ps, losses))
    (r, rl), (t, tl) = results
    np.testing.assert_allclose(rl, tl, rtol=1e-5)
    _assert_params(r, t, (1e-5, 1e-6), "closure")
    assert rg.optim.SGD([rg.tensor([1.0], requires_grad=True)]).step() is None


# ---- state dicts --------------------------------------------------------------------------------
@pytest.mark.parametrize("case", STATEFUL, ids=[_ids(c) for c in STATEFUL])
def test_state_dict_round_trip(case):
    """Save after 5 steps, load into a fresh optimizer over fresh parameters, continue: same as uninterrupted."""
    name, kw = case
    arrays, x = _arrays()
    straight = _params(rg, arrays)
    _train(rg, name, kw, straight, x, 10)
    first = _params(rg, arrays)
    opt, _ = _train(rg, name, kw, first, x, 5)
    saved = pickle.loads(pickle.dumps(opt.state_dict()))
    second = {k: rg.tensor(_np(v), requires_grad=True) for k, v in first.items()}
    fresh = getattr(rg.optim, name)([second[k] for k in ("w1", "b1", "w2", "unused")], lr=123.0)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["lr"] == kw["lr"]
    _train(rg, name, kw, second, x, 5, opt=fresh)
    _assert_params(second, straight, (1e-6, 1e-8), f"{name} resumed")
    assert list(fresh.state_dict()["state"][0]) == list(saved["state"][0])


@pytest.mark.parametrize("case", STATEFUL, ids=[_ids(c) for c in STATEFUL])
def test_load_torch_state_dict(case):
    """PyTorch's state dict, tensors turned into NumPy arrays, continues identically in retrograd."""
    name, kw = case
    arrays, x = _arrays()
    t = _params(torch, arrays)
    to, _ = _train(torch, name, kw, t, x, 5, schedule=[("w1", "b1", "w2"), ("w1",)])
    sd = to.state_dict()
    converted = {"state": {i: {k: v.numpy().copy() for k, v in s.items()} for i, s in sd["state"].items()},
                 "param_groups": copy.deepcopy(sd["param_groups"])}
    r = {k: rg.tensor(_np(v), requires_grad=True) for k, v in t.items()}
    ro = getattr(rg.optim, name)([r[k] for k in ("w1", "b1", "w2", "unused")])
    ro.load_state_dict(converted)
    assert isinstance(ro.state[r["w1"]][list(sd["state"][0])[0]], rg.Tensor)
    _assert_histories(_train(rg, name, kw, r, x, 6, opt=ro)[1], _train(torch, name, kw, t, x, 6, opt=to)[1],
                      (1e-5, 1e-6), f"{name} after loading")
    _assert_state_like_torch(ro.state_dict(), to.state_dict())


def test_load_state_dict_casts_to_parameter_dtype_except_step():
    p = rg.tensor(np.ones(3, np.float32), requires_grad=True)
    opt = rg.optim.Adam([p])
    sd = {"state": {0: {"step": np.array(4.0, np.float64), "exp_avg": np.full(3, 0.1),
                        "exp_avg_sq": np.full(3, 0.2)}},
          "param_groups": [dict(opt.state_dict()["param_groups"][0], lr=0.5)]}
    opt.load_state_dict(sd)
    st = opt.state[p]
    assert st["exp_avg"].dtype is rg.float32 and st["step"].dtype is rg.float64 and st["step"].item() == 4.0
    assert opt.param_groups[0]["lr"] == 0.5 and opt.param_groups[0]["params"][0] is p
    sd["state"][0]["exp_avg"][:] = 7  # loaded state is a copy
    assert st["exp_avg"].detach().cpu().numpy()[0] == np.float32(0.1)


def test_load_state_dict_errors():
    ps = [rg.tensor([1.0], requires_grad=True) for _ in range(3)]
    tps = [torch.tensor([1.0], requires_grad=True) for _ in range(3)]
    for m, q in ((rg, ps), (torch, tps)):
        sd = m.optim.SGD([{"params": q[:1]}, {"params": q[1:]}]).state_dict()
        with pytest.raises(ValueError, match="different number of parameter groups"):
            m.optim.SGD(q).load_state_dict(sd)
        with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
            m.optim.SGD([{"params": q[:2]}, {"params": q[2:]}]).load_state_dict(sd)
    with pytest.raises(KeyError, match="param_groups"):
        rg.optim.SGD(ps).load_state_dict({"state": {}})
    bad = {"state": {0: {"step": np.array(1.0), "exp_avg": np.zeros(2), "exp_avg_sq": np.zeros(2)}},
           "param_groups": rg.optim.Adam(ps[:1]).state_dict()["param_groups"]}
    opt = rg.optim.Adam(ps[:1])
    opt.load_state_dict(bad)
    ps[0].grad = rg.ones(1)
    with pytest.raises(ValueError, match=r"state 'exp_avg' of a parameter of shape \(1,\) has shape \(2,\)"):
        opt.step()


# ---- groups, errors, misc -------------------------------------------------------------------------
def test_add_param_group():
    arrays, x = _arrays()
    results = []
    for m in (rg, torch):
        ps = _params(m, arrays)
        opt = m.optim.Adam([ps["w1"]], lr=0.05)
        for i in range(8):
            if i == 3:
                opt.add_param_group({"params": [ps["b1"], ps["w2"]], "lr": 0.01, "amsgrad": True})
            opt.zero_grad()
            _loss(m, ps, x).backward()
            opt.step()
        results.append((ps, opt))
    (r, ro), (t, to) = results
    _assert_params(r, t, (1e-5, 1e-6), "add_param_group")
    _assert_state_like_torch(ro.state_dict(), to.state_dict())
    with pytest.raises(ValueError, match="more than one parameter group"):
        ro.add_param_group({"params": [r["w1"]]})
    with pytest.raises(TypeError, match="param_group must be a dict"):
        ro.add_param_group([r["unused"]])


def _same_error(fn, exc):
    """fn(retrograd) and fn(torch) raise `exc` with the same message."""
    messages = []
    for m in (rg, torch):
        with pytest.raises(exc) as info:
            fn(m)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("name,kw", [
    ("SGD", dict(lr=-0.1)), ("SGD", dict(momentum=-0.5)), ("SGD", dict(weight_decay=-1.0)),
    ("SGD", dict(nesterov=True)), ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1)),
    ("Adam", dict(lr=-1.0)), ("Adam", dict(eps=-1.0)), ("Adam", dict(betas=(1.0, 0.999))),
    ("Adam", dict(betas=(0.9, -0.1))), ("Adam", dict(weight_decay=-0.1)), ("Adam", dict(betas=(0, 0.99))),
    ("AdamW", dict(betas=(0.9, 1.5))), ("AdamW", dict(weight_decay=-0.1)),
    ("RMSprop", dict(lr=-1.0)), ("RMSprop", dict(alpha=-0.9)), ("RMSprop", dict(eps=-1.0)),
    ("RMSprop", dict(momentum=-0.1)), ("RMSprop", dict(weight_decay=-0.1)),
    ("Adagrad", dict(lr=-1.0)), ("Adagrad", dict(lr_decay=-0.1)), ("Adagrad", dict(weight_decay=-0.1)),
    ("Adagrad", dict(initial_accumulator_value=-0.1)), ("Adagrad", dict(eps=-1.0)),
])
def test_invalid_hyper_parameters(name, kw):
    _same_error(lambda m: getattr(m.optim, name)([m.tensor([1.0], requires_grad=True)], **kw), ValueError)


def test_parameter_errors():
    for m in (rg, torch):
        p = m.tensor([1.0], requires_grad=True)
        with pytest.raises(ValueError, match="empty parameter list"):
            m.optim.SGD([])
        with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
            m.optim.SGD(p)
        with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
            m.optim.SGD([p * 2])
        with pytest.raises(TypeError, match="optimizer can only optimize Tensors"):
            m.optim.SGD([p, 1.0])
        with pytest.raises(TypeError, match="ordered collections"):
            m.optim.SGD([{"params": {p}}])
        with pytest.raises(ValueError, match="more than one parameter group"):
            m.optim.SGD([{"params": [p]}, {"params": [p], "lr": 0.1}])
    p = rg.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="duplicate parameters"):  # PyTorch only warns, then updates it twice
        rg.optim.SGD([p, p])


def test_repr_and_named_parameters_like_torch():
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad"):
        opts = [getattr(m.optim, name)([{"params": [m.tensor([1.0], requires_grad=True)]},
                                        {"params": [m.tensor([2.0], requires_grad=True)], "lr": 0.5}])
                for m in (rg, torch)]
        assert repr(opts[0]) == repr(opts[1])
    named = [rg.optim.SGD(m.nn.Linear(2, 2).named_parameters()) for m in (rg,)]
    assert named[0].param_groups[0]["param_names"] == ["weight", "bias"]
    assert named[0].state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]


def test_step_after_in_place_update_invalidates_saved_graph():
    """The step changes parameters in place: a graph that saved them refuses to backward, as in PyTorch."""
    for m in (rg, torch):
        w = m.tensor([1.0, 2.0], requires_grad=True)
        opt = m.optim.SGD([w], lr=0.1)
        (w * w).sum().backward()
        opt.step()
        loss = (w * w).sum()
        opt.step()
        with pytest.raises(RuntimeError):
            loss.backward()


def test_deepcopy_and_pickle_of_the_optimizer():
    arrays, x = _arrays()
    ps = _params(rg, arrays)
    opt, _ = _train(rg, "Adam", {"lr": 0.05}, ps, x, 3)
    clone = copy.deepcopy(opt)
    assert list(clone.state_dict()["state"]) == [0, 1, 2]
    np.testing.assert_array_equal(_np(clone.state_dict()["state"][0]["exp_avg"]), _np(opt.state[ps["w1"]]["exp_avg"]))
    revived = pickle.loads(pickle.dumps(opt))
    assert revived.param_groups[0]["lr"] == 0.05 and len(revived.state) == 3


def test_float64_default_dtype_step():
    rg.set_default_dtype(rg.float64)
    p = rg.tensor([1.0, 2.0], requires_grad=True)
    opt = rg.optim.Adam([p])
    (p * p).sum().backward()
    opt.step()
    assert opt.state[p]["step"].dtype is rg.float64
