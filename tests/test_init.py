"""nn.init against torch.nn.init: gains and fans exactly, random schemes by their statistics over large tensors."""
import math

import numpy as np
import pytest
import scipy.stats
from helpers import torch

import retrograd as rg
from retrograd import nn
from retrograd.nn import init

pytestmark = pytest.mark.on_devices

BIG = (400, 500)  # 200k draws: sample mean/std within well under 1% of the truth


def _values(t):
    return t.detach().cpu().numpy().astype(np.float64)


@pytest.mark.parametrize("name,param", [("linear", None), ("conv2d", None), ("conv_transpose3d", None),
                                        ("sigmoid", None), ("tanh", None), ("relu", None), ("leaky_relu", None),
                                        ("leaky_relu", 0.2), ("leaky_relu", 1), ("selu", None)])
def test_calculate_gain_matches_torch(name, param):
    assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity gelu"):
        init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="negative_slope True not a valid number"):
        init.calculate_gain("leaky_relu", True)


@pytest.mark.parametrize("shape", [(3, 5), (8, 4, 3), (16, 3, 5, 5), (2, 4, 1, 2, 3), (0, 4)])
def test_fans_match_torch(shape):
    assert init._calculate_fan_in_and_fan_out(rg.empty(shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_fan_of_1d_tensor_raises():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(rg.empty(5))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.kaiming_normal_(rg.empty(5))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(rg.empty(3, 3), mode="fan_avg")


def test_uniform_and_normal_statistics():
    t = init.uniform_(rg.empty(BIG), -2.0, 3.0)
    v = _values(t)
    assert v.min() >= -2.0 and v.max() < 3.0
    assert v.mean() == pytest.approx(0.5, abs=0.02)
    assert v.std() == pytest.approx(5 / math.sqrt(12), rel=0.01)
    v = _values(init.normal_(rg.empty(BIG, dtype=rg.float64), mean=1.5, std=0.5))
    assert v.mean() == pytest.approx(1.5, abs=0.005) and v.std() == pytest.approx(0.5, rel=0.01)


def test_in_place_on_parameters_keeps_them_leaves():
    p = nn.Parameter(rg.zeros(20, 30))
    version = p._version
    out = init.kaiming_uniform_(p, a=math.sqrt(5))
    assert out is p and p.is_leaf and p.requires_grad and p.grad_fn is None and p.dtype is rg.float32
    assert p._version > version and np.abs(_values(p)).max() > 0
    for fn in (init.uniform_, init.normal_, init.xavier_normal_, init.trunc_normal_, init.orthogonal_,
               init.zeros_, init.ones_, init.eye_):
        assert fn(p) is p and p.is_leaf and p.dtype is rg.float32


def test_float64_and_float16_tensors_keep_their_dtype():
    assert init.uniform_(rg.empty(4, dtype=rg.float64)).dtype is rg.float64
    if rg.cuda.is_standin():
        pytest.skip("float16 is not in the array API standard: the stand-in has no float16 arrays")
    t = init.normal_(rg.empty(1000, dtype=rg.float16))
    assert t.dtype is rg.float16 and 0.9 < _values(t).std() < 1.1


def test_generator_and_seed_reproducibility():
    g1, g2 = rg.Generator().manual_seed(7), rg.Generator().manual_seed(7)
    a = init.xavier_uniform_(rg.empty(5, 6), generator=g1)
    b = init.xavier_uniform_(rg.empty(5, 6), generator=g2)
    np.testing.assert_array_equal(a.cpu().numpy(), b.cpu().numpy())
    rg.manual_seed(3)
    c = init.normal_(rg.empty(10))
    rg.manual_seed(3)
    d = init.normal_(rg.empty(10))
    np.testing.assert_array_equal(c.cpu().numpy(), d.cpu().numpy())
    assert not np.array_equal(c.cpu().numpy(), init.normal_(rg.empty(10)).cpu().numpy())


def test_constant_ones_zeros_eye_dirac_match_torch():
    for fn, args in ((init.constant_, (0.3,)), (init.ones_, ()), (init.zeros_, ())):
        np.testing.assert_array_equal(fn(rg.empty(3, 4), *args).cpu().numpy(),
                                      getattr(torch.nn.init, fn.__name__)(torch.empty(3, 4), *args).numpy())
    np.testing.assert_array_equal(init.eye_(rg.empty(3, 5)).cpu().numpy(),
                                  torch.nn.init.eye_(torch.empty(3, 5)).numpy())
    for shape, groups in (((4, 4, 3), 1), ((6, 2, 3, 3), 2), ((4, 6, 3, 3, 3), 1), ((8, 2, 5, 4), 4)):
        np.testing.assert_array_equal(init.dirac_(rg.empty(shape), groups).cpu().numpy(),
                                      torch.nn.init.dirac_(torch.empty(shape), groups).numpy())
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        init.eye_(rg.empty(2, 2, 2))
    with pytest.raises(ValueError, match="3, 4, or 5 dimensions"):
        init.dirac_(rg.empty(2, 2))


@pytest.mark.parametrize("shape", [BIG, (64, 32, 3, 3)])
def test_xavier_uniform_and_normal(shape):
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    gain = 1.7
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    v = _values(init.xavier_uniform_(rg.empty(shape), gain=gain))
    assert np.abs(v).max() <= math.sqrt(3) * std * (1 + 1e-6)
    assert v.std() == pytest.approx(std, rel=0.02) and abs(v.mean()) < 0.02 * std
    v = _values(init.xavier_normal_(rg.empty(shape), gain=gain))
    assert v.std() == pytest.approx(std, rel=0.02)


@pytest.mark.parametrize("a,mode,nonlinearity", [(0, "fan_in", "leaky_relu"), (math.sqrt(5), "fan_in", "leaky_relu"),
                                                 (0, "fan_out", "relu"), (0.1, "fan_out", "tanh")])
def test_kaiming(a, mode, nonlinearity):
    shape = (128, 64, 5, 5)
    fan = 64 * 25 if mode == "fan_in" else 128 * 25
    std = torch.nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    v = _values(init.kaiming_uniform_(rg.empty(shape), a=a, mode=mode, nonlinearity=nonlinearity))
    bound = math.sqrt(3) * std
    assert np.abs(v).max() <= bound * (1 + 1e-6) and np.abs(v).max() > 0.99 * bound
    assert v.std() == pytest.approx(std, rel=0.02)
    v = _values(init.kaiming_normal_(rg.empty(shape), a=a, mode=mode, nonlinearity=nonlinearity))
    assert v.std() == pytest.approx(std, rel=0.02) and abs(v.mean()) < 0.02 * std
    assert init.kaiming_uniform_(rg.empty(0, 3)).shape == (0, 3)  # empty: nothing to draw


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (1.0, 0.02, 0.98, 1.05), (0.0, 1.0, 2.0, 3.0),
                                          (0.0, 1.0, -4.5, -4.0)])
def test_trunc_normal_matches_truncated_distribution(mean, std, a, b):
    v = _values(init.trunc_normal_(rg.empty(BIG, dtype=rg.float64), mean=mean, std=std, a=a, b=b))
    assert v.min() >= a and v.max() <= b
    ref = scipy.stats.truncnorm((a - mean) / std, (b - mean) / std, loc=mean, scale=std)
    assert v.mean() == pytest.approx(ref.mean(), abs=0.01 * ref.std())
    assert v.std() == pytest.approx(ref.std(), rel=0.01)
    assert scipy.stats.kstest(v.ravel()[:5000], ref.cdf).pvalue > 1e-3


def test_trunc_normal_bad_bounds():
    with pytest.raises(ValueError, match="a < b"):
        init.trunc_normal_(rg.empty(3), a=1.0, b=1.0)


@pytest.mark.parametrize("shape", [(30, 50), (50, 30), (20, 4, 3, 3), (1, 7)])
def test_orthogonal(shape):
    w = _values(init.orthogonal_(rg.empty(shape), gain=2.0)).reshape(shape[0], -1)
    rows, cols = w.shape
    gram = w @ w.T if rows <= cols else w.T @ w
    np.testing.assert_allclose(gram, 4.0 * np.eye(min(rows, cols)), atol=1e-5)


def test_orthogonal_is_haar_distributed_and_errors():
    # with the sign correction, diagonal entries of a random orthogonal matrix average to zero
    diag = np.stack([np.diag(_values(init.orthogonal_(rg.empty(4, 4)))) for _ in range(400)])
    assert np.abs(diag.mean(0)).max() < 0.15
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(rg.empty(5))
