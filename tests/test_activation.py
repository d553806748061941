"""Activations: F functions and Modules against PyTorch (values, gradients, double backward, reprs)."""
import numpy as np
import pytest
from helpers import _to_numpy, check_double_backward, check_gradcheck, check_op, torch

import retrograd as rg
import retrograd.nn as nn
import retrograd.nn.functional as F

pytestmark = pytest.mark.on_devices

rng = np.random.default_rng(0)
# |x| up to ~4, away from the kinks at 0, +-1, +-3, 6 and the thresholds used below
X = (rng.uniform(0.05, 0.45, (6, 7)) + rng.integers(-8, 8, (6, 7)) * 0.5).astype(np.float32)

ACTIVATIONS = {
    "relu": lambda m, x: m.nn.functional.relu(x),
    "relu6": lambda m, x: m.nn.functional.relu6(x * 2),
    "leaky_relu": lambda m, x: m.nn.functional.leaky_relu(x),
    "leaky_relu_0.2": lambda m, x: m.nn.functional.leaky_relu(x, 0.2),
    "elu": lambda m, x: m.nn.functional.elu(x, 0.7),
    "selu": lambda m, x: m.nn.functional.selu(x),
    "celu": lambda m, x: m.nn.functional.celu(x, 1.3),
    "gelu": lambda m, x: m.nn.functional.gelu(x),
    "gelu_tanh": lambda m, x: m.nn.functional.gelu(x, approximate="tanh"),
    "silu": lambda m, x: m.nn.functional.silu(x),
    "mish": lambda m, x: m.nn.functional.mish(x),
    "softplus": lambda m, x: m.nn.functional.softplus(x),
    "softplus_beta": lambda m, x: m.nn.functional.softplus(x, beta=2.0, threshold=3.0),
    "tanh": lambda m, x: m.nn.functional.tanh(x),
    "sigmoid": lambda m, x: m.nn.functional.sigmoid(x),
    "hardtanh": lambda m, x: m.nn.functional.hardtanh(x, -1.5, 2.0),
    "hardsigmoid": lambda m, x: m.nn.functional.hardsigmoid(x),
    "hardswish": lambda m, x: m.nn.functional.hardswish(x),
    "logsigmoid": lambda m, x: m.nn.functional.logsigmoid(x),
    "threshold": lambda m, x: m.nn.functional.threshold(x, 0.3, -2.0),
    "softmax": lambda m, x: m.nn.functional.softmax(x, dim=1),
    "softmax_dim0": lambda m, x: m.nn.functional.softmax(x, 0),
    "log_softmax": lambda m, x: m.nn.functional.log_softmax(x, dim=-1),
    "softmin": lambda m, x: m.nn.functional.softmin(x, dim=1),
    "glu": lambda m, x: m.nn.functional.glu(x[:, :6]),
    "glu_dim0": lambda m, x: m.nn.functional.glu(x, 0),
}


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_values_and_gradients(name):
    check_op(ACTIVATIONS[name], X)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_gradcheck(name):
    check_gradcheck(ACTIVATIONS[name], X[:3, :4].copy() if "glu" not in name else X[:4, :4].copy())


@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "silu", "softplus", "softplus_beta", "mish", "elu", "selu",
                                  "celu", "logsigmoid", "log_softmax", "softmax", "leaky_relu", "hardswish"])
def test_double_backward(name):
    check_double_backward(ACTIVATIONS[name], X)


def test_extreme_inputs_are_finite_and_match():
    x = np.array([-1000.0, -90.0, -30.0, -5.0, 0.5, 5.0, 30.0, 90.0, 1000.0], dtype=np.float32)
    for name in ("silu", "softplus", "logsigmoid", "mish", "gelu", "gelu_tanh", "elu", "sigmoid"):
        check_op(ACTIVATIONS[name], x)


def test_gelu_float32_cdf_matches_double_precision():
    """float32 GELU's normal CDF (a polynomial fit, not SciPy's erf) against erfc in float64: a few float32
    ulps where GELU is not tiny, the lower tail relatively accurate too, and inf/NaN handled."""
    from scipy.special import erfc

    x = np.linspace(-12, 12, 200001).astype(np.float32)
    exact = 0.5 * erfc(-x.astype(np.float64) / np.sqrt(2))
    rel = np.abs(rg.nn.functional.activation.normal_cdf_array(np, x) - exact) / exact
    assert rel[np.abs(x) < 3].max() < 3e-6
    assert rel[exact > 1e-30].max() < 3e-5
    # PyTorch's 1 + erf(x / sqrt 2) cancels in the lower tail (1e-3 relative error at x = -3.5): compared
    # with it in absolute terms there
    check_op(ACTIVATIONS["gelu"], x[::97].copy(), atol=2e-6)
    check_op(ACTIVATIONS["gelu"], x[::2].reshape(-1, 1).copy(), atol=2e-6)  # over 2**16: chunk by chunk
    specials = rg.nn.functional.gelu(rg.tensor([np.nan, np.inf, 0.0, -np.inf]))
    np.testing.assert_array_equal(_to_numpy(specials)[:3], [np.nan, np.inf, 0.0])


def test_float64_dtype_kept():
    x = rg.tensor(X.astype(np.float64), requires_grad=True)
    for name in ("gelu", "silu", "softplus", "elu", "leaky_relu"):
        out = ACTIVATIONS[name](rg, x)
        assert out.dtype is rg.float64
        out.sum().backward()
        assert x.grad.dtype is rg.float64


@pytest.mark.parametrize("fn", [F.gelu, F.silu, F.relu, F.softplus, F.elu, F.leaky_relu])
def test_hot_activations_are_one_node(fn):
    x = rg.tensor(X, requires_grad=True)
    out = fn(x)
    assert out.grad_fn.next_functions[0][0] is x


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "silu", "hardtanh", "relu6", "selu", "hardswish"])
def test_inplace(name):
    fn = getattr(F, name)
    a = X.copy()
    for m, f in ((rg, fn), (torch, getattr(torch.nn.functional, name))):
        x = m.tensor(a, requires_grad=True)
        y = x * 1.0
        out = f(y, inplace=True)
        assert out is y
        out.sum().backward()
        if m is rg:
            r_val, r_grad = _to_numpy(y), _to_numpy(x.grad)
        else:
            np.testing.assert_allclose(r_val, y.detach().numpy(), rtol=1e-6, atol=1e-7)
            np.testing.assert_allclose(r_grad, x.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_inplace_on_leaf_raises():
    with pytest.raises(RuntimeError, match="leaf Variable"):
        F.relu(rg.tensor(X, requires_grad=True), inplace=True)


def test_softmax_implicit_dim_warns():
    for shape, dim in (((3, 4), 1), ((4,), 0), ((2, 3, 4), 0)):
        a = rng.standard_normal(shape).astype(np.float32)
        with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
            out = F.softmax(rg.tensor(a))
        np.testing.assert_allclose(_to_numpy(out), torch.softmax(torch.tensor(a), dim).numpy(), rtol=1e-6)


def test_softmax_dtype_argument():
    check_op(lambda m, x: m.nn.functional.softmax(x, 1, dtype=m.float64), X)
    check_op(lambda m, x: m.nn.functional.log_softmax(x, 1, dtype=m.float64), X)


def test_errors():
    x = rg.tensor(X)
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        F.gelu(x, approximate="erf")
    with pytest.raises(RuntimeError, match="Halving dimension must be even, but dimension 1 is size 7"):
        F.glu(x)
    with pytest.raises(ValueError, match="min_val .* cannot be greater than max_val"):
        F.hardtanh(x, 2.0, 1.0)
    with pytest.raises(RuntimeError, match="gelu.*floating point.*int64"):
        F.gelu(rg.tensor([1, 2]))
    with pytest.raises(TypeError, match="silu.*must be Tensor"):
        F.silu([1.0, 2.0])


MODULES = [
    ("ReLU", (), {}), ("ReLU", (True,), {}), ("ReLU6", (), {}), ("LeakyReLU", (0.2,), {}), ("ELU", (0.5,), {}),
    ("SELU", (), {}), ("CELU", (1.5,), {}), ("GELU", (), {}), ("GELU", (), {"approximate": "tanh"}), ("SiLU", (), {}),
    ("Mish", (), {}), ("Tanh", (), {}), ("Sigmoid", (), {}), ("Softmax", (), {"dim": 1}),
    ("LogSoftmax", (), {"dim": 1}), ("Softmin", (0,), {}), ("Softplus", (2, 10), {}), ("Hardtanh", (-2.0, 3.0), {}),
    ("LogSigmoid", (), {}), ("Hardsigmoid", (), {}), ("Hardswish", (), {}), ("Threshold", (0.1, 2.0), {}),
    ("GLU", (), {"dim": 0}),
]


@pytest.mark.parametrize("name,args,kwargs", MODULES)
def test_modules(name, args, kwargs):
    r_mod, t_mod = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(r_mod) == repr(t_mod)
    assert list(r_mod.state_dict()) == list(t_mod.state_dict()) == []
    inplace = bool(args and args[-1] is True)
    check_op(lambda m, x: (r_mod if m is rg else t_mod)(x * 1.0 if inplace else x), X)
