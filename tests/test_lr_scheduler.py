"""retrograd.optim.lr_scheduler against torch.optim.lr_scheduler: every schedule driven side by side.

Each test builds the same optimizer and scheduler on both libraries, steps them together
(optimizer.step() then scheduler.step(), as in a training loop) and compares the lrs (and
momentums) after every step. The arithmetic is the same as PyTorch's, so the comparison is exact.
"""
import math
import warnings

import numpy as np
import pytest
from helpers import torch

import retrograd as rg

LRS = [0.1, 0.05, 0.3]  # the lrs of the param groups
STEPS = 40


def make_optimizer(m, groups=1, kind="SGD", **kw):
    """An optimizer of `m` over one parameter per group; the groups have the lrs in LRS."""
    params = [m.nn.Parameter(m.zeros(2)) for _ in range(groups)]
    cls = getattr(m.optim, kind)
    if groups == 1:
        return cls(params, lr=LRS[0], **kw)
    return cls([{"params": [p], "lr": lr} for p, lr in zip(params, LRS)], lr=LRS[0], **kw)


def momentums(opt):
    """Each group's momentum (SGD) or beta1 (Adam), or None."""
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def drive(m, build, groups=1, steps=STEPS, kind="SGD", opt_kw=None):
    """Build optimizer and scheduler on library m, step both `steps` times; record lrs after each step."""
    opt = make_optimizer(m, groups, kind, **(opt_kw or {"momentum": 0.9}))
    sched = build(m.optim.lr_scheduler, opt)
    record = []
    for i in range(steps + 1):
        if i:
            opt.step()
            sched.step()
        record.append((list(sched.get_last_lr()), [g["lr"] for g in opt.param_groups], momentums(opt)))
    return record, sched, opt


def assert_same_sequence(r_rec, t_rec):
    for i, (r, t) in enumerate(zip(r_rec, t_rec, strict=True)):
        assert r == t, f"step {i}: retrograd (last_lr, group lrs, momentums) {r} != torch's {t}"


def run_both(build, groups=1, steps=STEPS, kind="SGD", opt_kw=None):
    r_rec, r_sched, r_opt = drive(rg, build, groups, steps, kind, opt_kw)
    t_rec, t_sched, t_opt = drive(torch, build, groups, steps, kind, opt_kw)
    assert_same_sequence(r_rec, t_rec)
    return (r_sched, r_opt), (t_sched, t_opt)


class Halving:
    """A picklable lr_lambda with state (its __dict__ goes into state_dict)."""

    def __init__(self, every):
        self.every = every

    def __call__(self, epoch):
        return 0.5 ** (epoch // self.every)


SCHEDULES = {
    "StepLR": lambda L, o: L.StepLR(o, step_size=3, gamma=0.5),
    "StepLR-default-gamma": lambda L, o: L.StepLR(o, step_size=1),
    "MultiStepLR": lambda L, o: L.MultiStepLR(o, milestones=[3, 7, 7, 12], gamma=0.5),
    "MultiStepLR-unsorted": lambda L, o: L.MultiStepLR(o, milestones=(20, 2)),
    "ExponentialLR": lambda L, o: L.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda L, o: L.CosineAnnealingLR(o, T_max=10),
    "CosineAnnealingLR-eta_min": lambda L, o: L.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
    "LambdaLR": lambda L, o: L.LambdaLR(o, lambda e: 0.95 ** e),
    "LambdaLR-per-group": lambda L, o: L.LambdaLR(
        o, [lambda e, k=k: 1.0 / (1 + k * e) for k in range(len(o.param_groups))]),
    "LambdaLR-callable-object": lambda L, o: L.LambdaLR(o, Halving(4)),
    "MultiplicativeLR": lambda L, o: L.MultiplicativeLR(o, lambda e: 0.9 if e % 2 else 0.99),
    "LinearLR": lambda L, o: L.LinearLR(o),
    "LinearLR-decay": lambda L, o: L.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=20),
    "LinearLR-partial": lambda L, o: L.LinearLR(o, start_factor=0.25, end_factor=0.75, total_iters=10),
    "ConstantLR": lambda L, o: L.ConstantLR(o, factor=0.5, total_iters=4),
    "PolynomialLR": lambda L, o: L.PolynomialLR(o, total_iters=20, power=2.0),
    "CosineAnnealingWarmRestarts": lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=5),
    "CosineAnnealingWarmRestarts-mult": lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2,
                                                                                   eta_min=0.001),
    "OneCycleLR": lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=STEPS),
    "OneCycleLR-linear": lambda L, o: L.OneCycleLR(o, max_lr=0.5, total_steps=STEPS + 5, anneal_strategy="linear",
                                                   pct_start=0.25, div_factor=10.0, final_div_factor=100.0),
    "OneCycleLR-three-phase": lambda L, o: L.OneCycleLR(o, max_lr=[0.4, 0.8, 1.2][:len(o.param_groups)],
                                                        epochs=4, steps_per_epoch=10, three_phase=True,
                                                        base_momentum=0.8, max_momentum=0.9),
    "OneCycleLR-no-momentum": lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=STEPS, cycle_momentum=False),
    "SequentialLR": lambda L, o: L.SequentialLR(
        o, [L.LinearLR(o, start_factor=0.1, total_iters=5), L.CosineAnnealingLR(o, T_max=30)], milestones=[5]),
    "SequentialLR-three": lambda L, o: L.SequentialLR(
        o, [L.ConstantLR(o, factor=0.5, total_iters=10), L.ExponentialLR(o, 0.8), L.StepLR(o, 4)],
        milestones=[3, 10]),
    "SequentialLR-lambda": lambda L, o: L.SequentialLR(
        o, [L.ExponentialLR(o, 0.9), L.LambdaLR(o, lambda e: 1 / (e + 1))], milestones=[6]),
    "ChainedScheduler": lambda L, o: L.ChainedScheduler([L.ConstantLR(o, 0.2, total_iters=6),
                                                          L.ExponentialLR(o, 0.9)]),
    "ChainedScheduler-warmup-cosine": lambda L, o: L.ChainedScheduler(
        [L.LinearLR(o, 0.2, total_iters=8), L.CosineAnnealingLR(o, T_max=15, eta_min=0.001)], optimizer=o),
}


@pytest.mark.parametrize("groups", [1, 3])
@pytest.mark.parametrize("name", SCHEDULES)
def test_schedule_matches_torch(name, groups):
    run_both(SCHEDULES[name], groups)


@pytest.mark.parametrize("name", ["OneCycleLR", "OneCycleLR-three-phase", "OneCycleLR-linear"])
@pytest.mark.parametrize("groups", [1, 3])
def test_one_cycle_cycles_adam_beta1(name, groups):
    (r_sched, r_opt), _ = run_both(SCHEDULES[name], groups, kind="Adam", opt_kw={"betas": (0.9, 0.99)})
    assert r_sched.use_beta1
    assert all(g["betas"][1] == 0.99 for g in r_opt.param_groups)


def test_one_cycle_momentum_shape():
    """SGD momentum goes max -> base while the lr warms up, and back while it anneals."""
    rec, sched, opt = drive(rg, SCHEDULES["OneCycleLR"])
    lrs = [r[0][0] for r in rec]
    moms = [r[2][0] for r in rec]
    peak = lrs.index(max(lrs))
    assert peak == 11  # pct_start * total_steps - 1
    last = STEPS - 1  # the schedule ends at step total_steps - 1
    assert math.isclose(lrs[0], 1.0 / 25) and math.isclose(lrs[last], 1.0 / 25 / 1e4)
    assert moms[0] == 0.95 and math.isclose(moms[peak], 0.85) and math.isclose(moms[last], 0.95)
    assert opt.param_groups[0]["max_lr"] == 1.0 and opt.param_groups[0]["base_momentum"] == 0.85


@pytest.mark.parametrize("groups", [1, 3])
@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR-eta_min",
                                  "LinearLR-decay", "ConstantLR", "PolynomialLR", "CosineAnnealingWarmRestarts-mult"])
def test_step_with_epoch_uses_closed_form(name, groups):
    """The deprecated step(epoch) jumps to an epoch with the closed form, as PyTorch's does (and warns alike)."""
    epochs = [1, 5, 3, 12, 12, 30, 7, 0, 21]
    out = []
    for m in (rg, torch):
        opt = make_optimizer(m, groups, momentum=0.9)
        sched = SCHEDULES[name](m.optim.lr_scheduler, opt)
        seq = []
        for e in epochs:
            opt.step()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                sched.step(e)
            seq.append((sched.last_epoch, list(sched.get_last_lr()), len(caught)))
        out.append(seq)
    assert out[0] == out[1]


def test_cosine_warm_restarts_fractional_epochs():
    out = []
    for m in (rg, torch):
        opt = make_optimizer(m, 2, momentum=0.9)
        sched = m.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=4, T_mult=3, eta_min=0.01)
        seq = []
        for epoch in range(20):
            for batch in range(3):
                opt.step()
                sched.step(epoch + batch / 3)
                seq.append((sched.T_cur, sched.T_i, list(sched.get_last_lr())))
        out.append(seq)
    assert out[0] == out[1]


@pytest.mark.parametrize("last_epoch", [0, 4, 13])
@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR-eta_min", "LinearLR-decay", "ExponentialLR",
                                  "OneCycleLR", "LambdaLR"])
def test_resume_with_last_epoch(name, last_epoch):
    """A scheduler constructed with last_epoch (initial_lr already in the groups) continues like PyTorch's."""
    def build(L, o):
        first = SCHEDULES[name](L, o)
        for _ in range(last_epoch):
            o.step()
            first.step()
        return SCHEDULES[name](with_last_epoch(L, last_epoch), o)

    run_both(build, groups=3, steps=20)


def with_last_epoch(L, last_epoch):
    """A stand-in for the lr_scheduler module whose classes get last_epoch=last_epoch."""
    class Module:
        def __getattr__(self, name):
            cls = getattr(L, name)
            return lambda *a, **kw: cls(*a, **kw, last_epoch=last_epoch)
    return Module()


# ---- schedules driving real training -------------------------------------------------------
TRAINING = {
    "SGD-OneCycleLR": ("SGD", {"momentum": 0.9, "nesterov": True}, SCHEDULES["OneCycleLR-three-phase"]),
    "Adam-OneCycleLR": ("Adam", {"betas": (0.9, 0.99)}, SCHEDULES["OneCycleLR"]),
    "SGD-warmup-cosine": ("SGD", {"momentum": 0.5}, SCHEDULES["SequentialLR"]),
}


def train(m, kind, opt_kw, build, steps=20, resume_at=None):
    """Fit a quadratic with optimizer `kind` under a schedule; optionally checkpoint and resume midway.

    Resuming follows PyTorch's recipe: a fresh optimizer and scheduler, then both load_state_dict calls.
    """
    target = m.tensor([[1.0, -2.0], [0.5, 3.0], [-1.0, 0.25]])
    weights = m.nn.Parameter(m.zeros(3, 2))

    def fresh():
        opt = m.optim.__dict__[kind]([{"params": [weights], "lr": 0.1}], **opt_kw)
        return opt, build(m.optim.lr_scheduler, opt)

    opt, sched = fresh()
    for i in range(steps):
        if i == resume_at:
            opt_state, sched_state = opt.state_dict(), sched.state_dict()
            opt, sched = fresh()
            opt.load_state_dict(opt_state)
            sched.load_state_dict(sched_state)
        opt.zero_grad()
        ((weights - target) ** 2 * m.tensor([1.0, 4.0])).sum().backward()
        opt.step()
        sched.step()
    return weights.detach().numpy(), sched.get_last_lr()


@pytest.mark.parametrize("resume_at", [None, 7])
@pytest.mark.parametrize("name", TRAINING)
def test_training_under_schedule_matches_torch(name, resume_at):
    """The lrs (and cycled momentums) reach the optimizer's update: parameters match PyTorch's."""
    kind, opt_kw, build = TRAINING[name]
    r_w, r_lr = train(rg, kind, opt_kw, build, resume_at=resume_at)
    t_w, t_lr = train(torch, kind, opt_kw, build, resume_at=resume_at)
    assert r_lr == t_lr
    np.testing.assert_allclose(r_w, t_w, rtol=1e-5, atol=1e-6)


# ---- ReduceLROnPlateau ---------------------------------------------------------------------
METRICS = [1.0, 0.9, 0.95, 0.95, 0.9, 0.91, 0.92, 0.899, 0.89991, 0.8999, 0.7, 0.7, 0.7, 0.7, 0.71, 0.69, 0.69,
           0.69, 0.69, 0.69, 0.69, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.55]


@pytest.mark.parametrize("kw", [
    {},
    {"patience": 2},
    {"patience": 1, "cooldown": 2, "factor": 0.5},
    {"patience": 0, "threshold": 0.05, "threshold_mode": "abs"},
    {"patience": 1, "threshold": 0.1, "threshold_mode": "rel", "factor": 0.3},
    {"patience": 0, "min_lr": 0.02, "factor": 0.5},
    {"patience": 0, "min_lr": [0.02, 0.001, 0.1], "factor": 0.5},
    {"patience": 1, "eps": 0.01, "factor": 0.9},
    {"mode": "max", "patience": 1},
    {"mode": "max", "patience": 0, "cooldown": 1, "threshold_mode": "abs", "threshold": 0.01},
])
def test_reduce_on_plateau_matches_torch(kw):
    sign = -1.0 if kw.get("mode") == "max" else 1.0  # in max mode, rising accuracy is the improvement
    out = []
    for m in (rg, torch):
        opt = make_optimizer(m, 3, momentum=0.9)
        sched = m.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
        seq = []
        for i, metric in enumerate(METRICS):
            opt.step()
            value = sign * metric
            sched.step(m.tensor(value) if i % 2 else value)  # a 0-dim tensor or a float
            seq.append((list(sched.get_last_lr()), sched.best, sched.num_bad_epochs, sched.cooldown_counter,
                        sched.last_epoch))
        out.append(seq)
    assert out[0] == out[1]
    lrs = [s[0] for s in out[0]]
    assert lrs[-1] != lrs[0], "the scripted metrics should trigger at least one reduction"


def test_reduce_on_plateau_min_lr_and_cooldown():
    opt = make_optimizer(rg, 1, momentum=0.9)
    sched = rg.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0, cooldown=2, min_lr=0.03)
    lrs = []
    for _ in range(10):
        sched.step(1.0)  # never improves after the first
        lrs.append(sched.get_last_lr()[0])
    # epoch 1 sets best; then a reduction, two cooldown epochs, a reduction (clamped to min_lr), ...
    assert lrs[:5] == [0.1, 0.05, 0.05, 0.05, 0.03]
    assert lrs[-1] == 0.03


def test_reduce_on_plateau_state_dict_round_trip():
    def run(sched, opt, metrics):
        out = []
        for x in metrics:
            sched.step(x)
            out.append(sched.get_last_lr())
        return out

    opt = make_optimizer(rg, 1, momentum=0.9)
    sched = rg.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", patience=1, cooldown=1)
    run(sched, opt, [-x for x in METRICS[:12]])
    state = sched.state_dict()
    assert "optimizer" not in state
    expected = run(sched, opt, [-x for x in METRICS[12:]])

    opt2 = make_optimizer(rg, 1, momentum=0.9)
    opt2.param_groups[0]["lr"] = state["_last_lr"][0]
    fresh = rg.optim.lr_scheduler.ReduceLROnPlateau(opt2)
    fresh.load_state_dict(state)
    assert fresh.mode == "max" and fresh.mode_worse == -math.inf
    assert run(fresh, opt2, [-x for x in METRICS[12:]]) == expected


# ---- state_dict --------------------------------------------------------------------------
def _plain(state):
    """A state dict with its nested scheduler states and values in comparable form."""
    return {k: [_plain(s) for s in v] if k == "_schedulers" else v for k, v in state.items()}


@pytest.mark.parametrize("name", SCHEDULES)
def test_state_dict_matches_torch(name):
    """Same keys and values as PyTorch's state dict, mid-schedule."""
    (r_sched, _), (t_sched, _) = run_both(SCHEDULES[name], groups=3, steps=13)
    assert _plain(r_sched.state_dict()) == _plain(t_sched.state_dict())


@pytest.mark.parametrize("source", [rg, torch], ids=["from-retrograd", "from-torch"])
@pytest.mark.parametrize("name", SCHEDULES)
def test_state_dict_resume_mid_schedule(name, source):
    """Save optimizer + scheduler at step 13, build fresh ones, load, continue: the same lrs as without the break.

    Loading PyTorch's own scheduler state dict into retrograd's scheduler works too.
    """
    build = SCHEDULES[name]
    split = 13
    full, _, _ = drive(rg, build, groups=3, steps=STEPS)
    _, src_sched, src_opt = drive(source, build, groups=3, steps=split)
    sched_state = src_sched.state_dict()
    group_state = [{k: v for k, v in g.items() if k != "params"} for g in src_opt.param_groups]

    opt = make_optimizer(rg, 3, momentum=0.9)
    sched = build(rg.optim.lr_scheduler, opt)
    for group, saved in zip(opt.param_groups, group_state):
        group.update(saved)
    sched.load_state_dict(sched_state)
    resumed = [(list(sched.get_last_lr()), [g["lr"] for g in opt.param_groups], momentums(opt))]
    for _ in range(STEPS - split):
        opt.step()
        sched.step()
        resumed.append((list(sched.get_last_lr()), [g["lr"] for g in opt.param_groups], momentums(opt)))
    assert_same_sequence(resumed, full[split:])


def test_lambda_state_dict_saves_callable_objects_only():
    opt = make_optimizer(rg, 2, momentum=0.9)
    sched = rg.optim.lr_scheduler.LambdaLR(opt, [Halving(3), lambda e: 1.0])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"every": 3}, None]
    other = rg.optim.lr_scheduler.LambdaLR(make_optimizer(rg, 2, momentum=0.9), [Halving(7), lambda e: 2.0])
    other.load_state_dict(state)
    assert other.lr_lambdas[0].every == 3
    assert state["lr_lambdas"] == [{"every": 3}, None], "load_state_dict must not consume its argument"


def test_initial_lr_and_base_lrs():
    opt = make_optimizer(rg, 3, momentum=0.9)
    sched = rg.optim.lr_scheduler.StepLR(opt, 2)
    assert [g["initial_lr"] for g in opt.param_groups] == LRS
    assert sched.base_lrs == LRS and sched.last_epoch == 0 and sched._step_count == 1
    # a second scheduler keeps the initial_lr already there
    opt.param_groups[0]["lr"] = 1.0
    second = rg.optim.lr_scheduler.ExponentialLR(opt, 0.5)
    assert second.base_lrs == LRS
    assert isinstance(sched, rg.optim.lr_scheduler.LRScheduler)
    assert issubclass(rg.optim.lr_scheduler._LRScheduler, rg.optim.lr_scheduler.LRScheduler)


def test_tensor_lr_is_updated_in_place():
    """A 0-dim Tensor lr (as PyTorch allows) is filled in place; get_last_lr returns copies."""
    opt = make_optimizer(rg, 1, momentum=0.9)
    lr = rg.tensor(0.1, dtype=rg.float64)
    opt.param_groups[0]["lr"] = lr
    sched = rg.optim.lr_scheduler.ExponentialLR(opt, 0.5)
    for _ in range(3):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] is lr
    assert float(lr) == pytest.approx(0.0125)
    last = sched.get_last_lr()[0]
    assert isinstance(last, rg.Tensor) and last is not lr and float(last) == pytest.approx(0.0125)


# ---- warnings ----------------------------------------------------------------------------
@pytest.mark.parametrize("m", [rg, torch], ids=["retrograd", "torch"])
def test_warns_when_scheduler_steps_before_optimizer(m):
    opt = make_optimizer(m, 1, momentum=0.9)
    sched = m.optim.lr_scheduler.StepLR(opt, 2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    opt = make_optimizer(m, 1, momentum=0.9)
    sched = m.optim.lr_scheduler.StepLR(opt, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
        sched.step()
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()


# ---- errors: the same exception types as PyTorch -------------------------------------------
ERRORS = {
    "OneCycleLR-no-total-steps": (ValueError, lambda L, o: L.OneCycleLR(o, max_lr=1.0)),
    "OneCycleLR-epochs-only": (ValueError, lambda L, o: L.OneCycleLR(o, max_lr=1.0, epochs=3)),
    "OneCycleLR-zero-steps": (ValueError, lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=0)),
    "OneCycleLR-float-steps": (ValueError, lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=10.0)),
    "OneCycleLR-bad-epochs": (ValueError, lambda L, o: L.OneCycleLR(o, 1.0, epochs=-1, steps_per_epoch=3)),
    "OneCycleLR-pct-start": (ValueError, lambda L, o: L.OneCycleLR(o, 1.0, total_steps=10, pct_start=1.5)),
    "OneCycleLR-int-pct-start": (ValueError, lambda L, o: L.OneCycleLR(o, 1.0, total_steps=10, pct_start=1)),
    "OneCycleLR-anneal": (ValueError, lambda L, o: L.OneCycleLR(o, 1.0, total_steps=10, anneal_strategy="exp")),
    "OneCycleLR-max-lr-list": (ValueError, lambda L, o: L.OneCycleLR(o, [1.0, 2.0], total_steps=10)),
    "MultiStepLR-int-milestones": (TypeError, lambda L, o: L.MultiStepLR(o, milestones=3)),
    "SequentialLR-milestone-count": (ValueError, lambda L, o: L.SequentialLR(
        o, [L.ConstantLR(o), L.ExponentialLR(o, 0.9)], milestones=[2, 4])),
    "SequentialLR-no-schedulers": (ValueError, lambda L, o: L.SequentialLR(o, [], milestones=[])),
    "SequentialLR-plateau": (ValueError, lambda L, o: L.SequentialLR(
        o, [L.ConstantLR(o), L.ReduceLROnPlateau(o)], milestones=[2])),
    "ChainedScheduler-empty": (ValueError, lambda L, o: L.ChainedScheduler([])),
    "resume-without-initial-lr": (KeyError, lambda L, o: L.StepLR(o, 3, last_epoch=5)),
    "LambdaLR-count": (ValueError, lambda L, o: L.LambdaLR(o, [lambda e: 1.0] * 2)),
    "MultiplicativeLR-not-callable": (TypeError, lambda L, o: L.MultiplicativeLR(o, 0.9)),
    "LinearLR-start": (ValueError, lambda L, o: L.LinearLR(o, start_factor=0.0)),
    "LinearLR-end": (ValueError, lambda L, o: L.LinearLR(o, end_factor=1.5)),
    "ConstantLR-factor": (ValueError, lambda L, o: L.ConstantLR(o, factor=2.0)),
    "WarmRestarts-T_0": (ValueError, lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=0)),
    "WarmRestarts-T_mult": (ValueError, lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0)),
    "WarmRestarts-eta_min": (ValueError, lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=2, eta_min="0")),
    "Plateau-factor": (ValueError, lambda L, o: L.ReduceLROnPlateau(o, factor=1.0)),
    "Plateau-mode": (ValueError, lambda L, o: L.ReduceLROnPlateau(o, mode="maximum")),
    "Plateau-threshold-mode": (ValueError, lambda L, o: L.ReduceLROnPlateau(o, threshold_mode="relative")),
    "Plateau-min-lrs": (ValueError, lambda L, o: L.ReduceLROnPlateau(o, min_lr=[0.1, 0.2])),
    "not-an-optimizer": (TypeError, lambda L, o: L.StepLR(object(), 3)),
}


@pytest.mark.parametrize("m", [rg, torch], ids=["retrograd", "torch"])
@pytest.mark.parametrize("name", ERRORS)
def test_errors_match_torch(name, m):
    exc, build = ERRORS[name]
    opt = make_optimizer(m, 1, momentum=0.9)
    with pytest.raises(exc):
        build(m.optim.lr_scheduler, opt)


@pytest.mark.parametrize("m", [rg, torch], ids=["retrograd", "torch"])
def test_one_cycle_stepping_past_total_steps(m):
    opt = make_optimizer(m, 1, momentum=0.9)
    sched = m.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=5)
    for _ in range(5):  # the lr of step 5 is the last one (steps 0..total_steps)
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 6 times"):
        sched.step()


@pytest.mark.parametrize("m", [rg, torch], ids=["retrograd", "torch"])
def test_one_cycle_needs_momentum(m):
    opt = make_optimizer(m, 1, kind="Adagrad")
    with pytest.raises(ValueError, match="momentum"):
        m.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=5)
    m.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=5, cycle_momentum=False)


def test_retrograd_only_errors_are_clear():
    """Inputs PyTorch silently accepts but that would give a wrong schedule are refused."""
    L = rg.optim.lr_scheduler
    opt = make_optimizer(rg, 1, momentum=0.9)
    with pytest.raises(TypeError, match="milestones must be ints"):
        L.MultiStepLR(opt, milestones=[2.5, 4])
    with pytest.raises(ValueError, match="strictly increasing"):
        L.SequentialLR(opt, [L.ConstantLR(opt), L.ExponentialLR(opt, 0.9), L.StepLR(opt, 2)], milestones=[5, 3])
    with pytest.raises(ValueError, match="same optimizer"):
        L.SequentialLR(opt, [L.ConstantLR(opt), L.ExponentialLR(make_optimizer(rg, 1, momentum=0.9), 0.9)],
                       milestones=[5])
    with pytest.raises(TypeError, match="param_groups"):
        L.OneCycleLR(object(), max_lr=1.0, total_steps=5)
