"""Normalisation: F functions and Modules against PyTorch; BatchNorm's running statistics; errors."""
import numpy as np
import pytest
from helpers import _to_numpy, check_double_backward, check_gradcheck, check_op, torch

import retrograd as rg
import retrograd.nn as nn
import retrograd.nn.functional as F

pytestmark = pytest.mark.on_devices

rng = np.random.default_rng(0)
X = rng.standard_normal((4, 6, 5)).astype(np.float32)
X4 = rng.standard_normal((3, 6, 4, 5)).astype(np.float32)
W5, B5 = rng.standard_normal(5).astype(np.float32), rng.standard_normal(5).astype(np.float32)
W65 = rng.standard_normal((6, 5)).astype(np.float32)
W6, B6 = rng.standard_normal(6).astype(np.float32), rng.standard_normal(6).astype(np.float32)
RM, RV = rng.standard_normal(6).astype(np.float32), (rng.random(6) + 0.5).astype(np.float32)

FUNCTIONS = {
    "layer_norm": (lambda m, x, w, b: m.nn.functional.layer_norm(x, (5,), w, b), (X, W5, B5)),
    "layer_norm_2d": (lambda m, x, w: m.nn.functional.layer_norm(x, [6, 5], w, eps=1e-3), (X, W65)),
    "layer_norm_plain": (lambda m, x: m.nn.functional.layer_norm(x, [5]), (X,)),
    "rms_norm": (lambda m, x, w: m.nn.functional.rms_norm(x, (6, 5), w), (X, W65)),
    "rms_norm_eps": (lambda m, x: m.nn.functional.rms_norm(x, [5], eps=0.1), (X,)),
    "group_norm": (lambda m, x, w, b: m.nn.functional.group_norm(x, 3, w, b), (X, W6, B6)),
    "group_norm_4d": (lambda m, x, w, b: m.nn.functional.group_norm(x, 2, w, b), (X4, W6, B6)),
    "group_norm_plain": (lambda m, x: m.nn.functional.group_norm(x, 6), (X,)),
    "batch_norm_train": (lambda m, x, w, b: m.nn.functional.batch_norm(x, None, None, w, b, True), (X, W6, B6)),
    "batch_norm_train_4d": (lambda m, x, w, b: m.nn.functional.batch_norm(x, None, None, w, b, True), (X4, W6, B6)),
    "batch_norm_train_2d": (lambda m, x: m.nn.functional.batch_norm(x, None, None, training=True),
                            (X[:, :, 0].copy(),)),
    "batch_norm_eval": (lambda m, x, w, b: m.nn.functional.batch_norm(x, m.tensor(RM).to(x.dtype),
                                                                      m.tensor(RV).to(x.dtype), w, b), (X, W6, B6)),
    "instance_norm": (lambda m, x, w, b: m.nn.functional.instance_norm(x, weight=w, bias=b), (X4, W6, B6)),
    "normalize": (lambda m, x: m.nn.functional.normalize(x), (X,)),
    "normalize_p3": (lambda m, x: m.nn.functional.normalize(x, p=3.0, dim=-1), (X,)),
}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_values_and_gradients(name):
    fn, arrays = FUNCTIONS[name]
    check_op(fn, *arrays, rtol=1e-4 if "4d" in name else 1e-5)  # 4-D: reductions over 60 values, float32


@pytest.mark.parametrize("name", FUNCTIONS)
def test_gradcheck(name):
    fn, arrays = FUNCTIONS[name]
    check_gradcheck(fn, *arrays)


@pytest.mark.parametrize("name", ["layer_norm", "layer_norm_2d", "rms_norm", "group_norm", "batch_norm_train",
                                  "batch_norm_eval"])
def test_double_backward(name):
    fn, arrays = FUNCTIONS[name]
    check_double_backward(fn, *arrays)


def test_layer_norm_is_one_node():
    x, w, b = (rg.tensor(a, requires_grad=True) for a in (X, W5, B5))
    out = F.layer_norm(x, (5,), w, b)
    assert [e[0] for e in out.grad_fn.next_functions] == [x, w, b]


def test_rms_norm_default_eps_is_dtype_eps():
    x = rng.standard_normal((3, 4)).astype(np.float32) * 1e-4  # eps matters at this scale
    check_op(lambda m, a: m.nn.functional.rms_norm(a, [4]), x)
    check_op(lambda m, a: m.nn.functional.rms_norm(a, [4]), x.astype(np.float64))


@pytest.mark.parametrize("momentum", [0.1, 0.5])
def test_batch_norm_updates_running_stats(momentum):
    results = []
    for m in (rg, torch):
        rm, rv = m.tensor(RM), m.tensor(RV)
        m.nn.functional.batch_norm(m.tensor(X), rm, rv, training=True, momentum=momentum)
        results.append((_to_numpy(rm).copy(), _to_numpy(rv).copy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-6, atol=1e-7)


def _module_pair(name, args, kwargs, dtype):
    r_mod, t_mod = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    with torch.no_grad():  # non-trivial parameters
        for p in t_mod.parameters():
            p.copy_(torch.randn(p.shape))
    t_mod = t_mod.to(getattr(torch, dtype))
    r_mod = r_mod.to(getattr(rg, dtype))
    return r_mod, t_mod


MODULES = [
    ("LayerNorm", (5,), {}, X), ("LayerNorm", ([6, 5],), {"elementwise_affine": False}, X),
    ("LayerNorm", (5,), {"bias": False, "eps": 1e-3}, X), ("RMSNorm", ([6, 5],), {}, X),
    ("RMSNorm", (5,), {"eps": 1e-2}, X), ("GroupNorm", (3, 6), {}, X4), ("GroupNorm", (2, 6), {"affine": False}, X),
    ("BatchNorm1d", (6,), {}, X[:, :, 0].copy()), ("BatchNorm1d", (6,), {"momentum": None}, X),
    ("BatchNorm2d", (6,), {}, X4), ("BatchNorm2d", (6,), {"affine": False, "track_running_stats": False}, X4),
    ("BatchNorm2d", (6,), {"bias": False}, X4),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,args,kwargs,x", MODULES)
def test_modules_against_torch(name, args, kwargs, x, dtype):
    r_mod, t_mod = _module_pair(name, args, kwargs, dtype)
    assert repr(r_mod) == repr(t_mod)
    assert list(r_mod.state_dict()) == list(t_mod.state_dict())
    r_mod.load_state_dict({k: v.numpy() for k, v in t_mod.state_dict().items()})
    x = x.astype(dtype)
    for mode in ("train", "eval", "train"):
        for mod in (r_mod, t_mod):
            getattr(mod, mode)()
        # In training mode BatchNorm's input gradient is a difference of terms ~1/std that nearly cancel
        # (here it is ~5e-5): float32 leaves ~5e-7 of rounding in both libraries (measured against float64).
        atol = 5e-6 if dtype == "float32" and name.startswith("BatchNorm") else 1e-6
        check_op(lambda m, a: (r_mod if m is rg else t_mod)(a), x, rtol=1e-4 if x.ndim == 4 else 1e-5, atol=atol)
        r_params, t_params = dict(r_mod.named_parameters()), dict(t_mod.named_parameters())
        for k, p in t_params.items():  # parameter gradients (accumulated over the modes alike)
            np.testing.assert_allclose(_to_numpy(r_params[k].grad), p.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=k)
        for k, b in t_mod.state_dict().items():  # buffers after each step
            np.testing.assert_allclose(_to_numpy(r_mod.state_dict()[k]), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=k)


def test_default_initialisation():
    ln, bn = nn.LayerNorm((3, 4)), nn.BatchNorm2d(5)
    assert np.all(_to_numpy(ln.weight) == 1) and np.all(_to_numpy(ln.bias) == 0)
    assert ln.weight.shape == (3, 4)
    assert np.all(_to_numpy(bn.running_var) == 1) and np.all(_to_numpy(bn.running_mean) == 0)
    assert bn.num_batches_tracked.dtype is rg.int64 and bn.num_batches_tracked.item() == 0
    assert nn.RMSNorm(4).weight.requires_grad and nn.GroupNorm(2, 4).bias.shape == (4,)


def test_batch_norm_training_steps_match_torch():
    r_bn, t_bn = nn.BatchNorm2d(6, momentum=0.2), torch.nn.BatchNorm2d(6, momentum=0.2)
    for step in range(4):
        a = (rng.standard_normal(X4.shape) * (step + 1) + step).astype(np.float32)
        r_out, t_out = r_bn(rg.tensor(a)), t_bn(torch.tensor(a))
        np.testing.assert_allclose(_to_numpy(r_out), t_out.detach().numpy(), rtol=1e-4, atol=1e-5)
    assert r_bn.num_batches_tracked.item() == 4
    np.testing.assert_allclose(_to_numpy(r_bn.running_mean), t_bn.running_mean.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_to_numpy(r_bn.running_var), t_bn.running_var.numpy(), rtol=1e-5, atol=1e-6)
    r_bn.eval()
    t_bn.eval()
    a = rng.standard_normal(X4.shape).astype(np.float32)
    np.testing.assert_allclose(_to_numpy(r_bn(rg.tensor(a))), t_bn(torch.tensor(a)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    assert r_bn.num_batches_tracked.item() == 4  # eval does not count


def test_batch_norm_cumulative_average():
    r_bn, t_bn = nn.BatchNorm1d(6, momentum=None), torch.nn.BatchNorm1d(6, momentum=None)
    for _ in range(3):
        a = rng.standard_normal((8, 6)).astype(np.float32)
        r_bn(rg.tensor(a))
        t_bn(torch.tensor(a))
    np.testing.assert_allclose(_to_numpy(r_bn.running_var), t_bn.running_var.numpy(), rtol=1e-5)
    np.testing.assert_allclose(_to_numpy(r_bn.running_mean), t_bn.running_mean.numpy(), rtol=1e-5, atol=1e-7)


def test_batch_norm_without_running_stats_uses_batch_stats_in_eval():
    bn = nn.BatchNorm1d(6, track_running_stats=False).eval()
    out = _to_numpy(bn(rg.tensor(X)))
    assert np.allclose(out.mean((0, 2)), 0, atol=1e-5)


def test_errors():
    with pytest.raises(ValueError, match=r"BatchNorm2d\(6.*expected 4D input \(got 3D input of shape \(4, 6, 5\)\)"):
        nn.BatchNorm2d(6)(rg.tensor(X))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(6.*expected 2D or 3D input \(got 4D input"):
        nn.BatchNorm1d(6)(rg.tensor(X4))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(5.*expected 5 channels in dim 1.*\(4, 6, 5\)"):
        nn.BatchNorm1d(5)(rg.tensor(X))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(6)(rg.tensor(X[:1, :, 0]))
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[4\], expected input with shape \[\*, 4\]"):
        F.layer_norm(rg.tensor(X), (4,))
    with pytest.raises(RuntimeError, match=r"layer_norm: expected weight of shape \[5\], got \[4\]"):
        F.layer_norm(rg.tensor(X), (5,), rg.ones(4))
    with pytest.raises(ValueError, match="num_channels must be divisible by num_groups"):
        nn.GroupNorm(4, 6)
    with pytest.raises(RuntimeError, match=r"GroupNorm\(3, 6.*expected input of shape \(N, 6, \*\)"):
        nn.GroupNorm(3, 6)(rg.tensor(X4[:, :3]))
    with pytest.raises(RuntimeError, match="divisible by num_groups"):
        F.group_norm(rg.tensor(X), 4)
