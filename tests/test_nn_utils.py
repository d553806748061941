"""nn.utils against torch.nn.utils: gradient clipping by norm and value, parameters <-> vector."""
import math

import numpy as np
import pytest
from helpers import torch

import retrograd as rg
from retrograd import nn
from retrograd.nn import utils

pytestmark = pytest.mark.on_devices


def _pairs(scale=1.0, shapes=((3, 4), (4,), (2, 2, 3)), seed=0):
    """Matching retrograd and torch parameters with the same gradients."""
    rng = np.random.default_rng(seed)
    rs, ts = [], []
    for s in shapes:
        g = (rng.standard_normal(s) * scale).astype(np.float32)
        r, t = nn.Parameter(rg.zeros(s)), torch.nn.Parameter(torch.zeros(s))
        r.grad, t.grad = rg.tensor(g), torch.tensor(g)
        rs.append(r)
        ts.append(t)
    return rs, ts


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    rs, ts = _pairs()
    r_total = utils.clip_grad_norm_(rs, max_norm, norm_type=float(norm_type))
    t_total = torch.nn.utils.clip_grad_norm_(ts, max_norm, norm_type=float(norm_type))
    assert isinstance(r_total, rg.Tensor) and r_total.dtype is rg.float32 and r_total.ndim == 0
    assert r_total.item() == pytest.approx(t_total.item(), rel=1e-5)
    for r, t in zip(rs, ts):
        np.testing.assert_allclose(r.grad.cpu().numpy(), t.grad.cpu().numpy(), rtol=1e-5, atol=1e-7)


def test_clip_grad_norm_single_tensor_generator_and_skipped_grads():
    rs, ts = _pairs(scale=10.0)
    rs[1].grad = ts[1].grad = None
    r_total = utils.clip_grad_norm_((p for p in rs), 2.0)
    t_total = torch.nn.utils.clip_grad_norm_((p for p in ts), 2.0)
    assert r_total.item() == pytest.approx(t_total.item(), rel=1e-5)
    assert rs[1].grad is None
    single = nn.Parameter(rg.zeros(3))
    single.grad = rg.tensor([3.0, 4.0, 0.0])
    assert utils.clip_grad_norm_(single, 1.0).item() == pytest.approx(5.0)
    np.testing.assert_allclose(single.grad.cpu().numpy(), [0.6, 0.8, 0.0], rtol=1e-5)
    assert utils.clip_grad_norm_([], 1.0).item() == 0.0


def test_clip_grad_norm_grads_scaled_in_place():
    rs, _ = _pairs(scale=5.0)
    grads = [p.grad for p in rs]
    utils.clip_grad_norm_(rs, 1.0)
    assert all(p.grad is g for p, g in zip(rs, grads))
    total = math.sqrt(sum(float((g.cpu().numpy().astype(np.float64) ** 2).sum()) for g in grads))
    assert total == pytest.approx(1.0, rel=1e-4)


def test_clip_grad_norm_nonfinite():
    p = nn.Parameter(rg.zeros(2))
    p.grad = rg.tensor([float("inf"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert math.isinf(utils.clip_grad_norm_([p], 1.0).item())


def test_clip_grad_norm_on_model_float64():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2)).double()
    t_model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2)).double()
    model.load_state_dict(t_model.state_dict())
    x = np.random.default_rng(0).standard_normal((5, 3))
    (model(rg.tensor(x)) ** 2).sum().backward()
    (t_model(torch.tensor(x)) ** 2).sum().backward()
    r = utils.clip_grad_norm_(model.parameters(), 0.1)
    t = torch.nn.utils.clip_grad_norm_(t_model.parameters(), 0.1)
    assert r.dtype is rg.float64 and r.item() == pytest.approx(t.item(), rel=1e-12)
    for rp, tp in zip(model.parameters(), t_model.parameters()):
        np.testing.assert_allclose(rp.grad.cpu().numpy(), tp.grad.cpu().numpy(), rtol=1e-12)


def test_clip_grad_value_matches_torch():
    rs, ts = _pairs(scale=3.0)
    assert utils.clip_grad_value_(rs, 1.5) is None
    torch.nn.utils.clip_grad_value_(ts, 1.5)
    for r, t in zip(rs, ts):
        np.testing.assert_array_equal(r.grad.cpu().numpy(), t.grad.cpu().numpy())
    single = nn.Parameter(rg.zeros(2))
    single.grad = rg.tensor([-5.0, 0.5])
    utils.clip_grad_value_(single, 1)
    np.testing.assert_array_equal(single.grad.cpu().numpy(), [-1.0, 0.5])


def test_parameters_to_vector_and_back():
    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    t_model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1))
    model.load_state_dict(t_model.state_dict())
    vec = utils.parameters_to_vector(model.parameters())
    np.testing.assert_array_equal(vec.detach().cpu().numpy(),
                                  torch.nn.utils.parameters_to_vector(t_model.parameters()).detach().cpu().numpy())
    assert vec.shape == (11,) and vec.requires_grad
    vec.sum().backward()  # differentiable: every parameter gets ones
    assert all(np.all(p.grad.cpu().numpy() == 1) for p in model.parameters())
    new = rg.arange(11.0)
    params = list(model.parameters())
    utils.vector_to_parameters(new, model.parameters())
    assert list(model.parameters()) == params  # the same Parameter objects
    np.testing.assert_array_equal(model[0].weight.detach().cpu().numpy(), np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(model[1].bias.detach().cpu().numpy(), [10.0])
    with pytest.raises(TypeError, match="expected retrograd.Tensor"):
        utils.vector_to_parameters(np.arange(11.0), model.parameters())
    with pytest.raises(RuntimeError, match="1-D vector of 11 elements"):
        utils.vector_to_parameters(rg.arange(10.0), model.parameters())
