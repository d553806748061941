"""Second derivatives through whole models: a two-layer MLP's Hessian-vector product."""
import numpy as np
import pytest
from helpers import _to_numpy, torch

import retrograd as rg

pytestmark = pytest.mark.on_devices


def mlp_loss(m, x, y, w1, b1, w2, b2, act):
    h = getattr(m, act)(x @ w1 + b1)
    return ((h @ w2 + b2 - y) ** 2).mean()


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "relu"])
def test_two_layer_mlp_hessian_vector_product_matches_pytorch(act):
    gen = np.random.default_rng(0)
    arrays = [gen.standard_normal(s) for s in [(16, 5), (16, 2), (5, 8), (8,), (8, 2), (2,)]]
    vs = [gen.standard_normal(a.shape) for a in arrays[2:]]
    results = []
    for m in (rg, torch):
        x, y = m.tensor(arrays[0]), m.tensor(arrays[1])
        params = [m.tensor(a, requires_grad=True) for a in arrays[2:]]
        loss = mlp_loss(m, x, y, *params, act)
        grads = m.autograd.grad(loss, params, create_graph=True)
        dot = sum((g * m.tensor(v)).sum() for g, v in zip(grads, vs))
        hvp = m.autograd.grad(dot, params, allow_unused=True)
        results.append([_to_numpy(h) if h is not None else np.zeros_like(v) for h, v in zip(hvp, vs)])
    for r, t in zip(*results):
        np.testing.assert_allclose(r, t, rtol=1e-7, atol=1e-10)


def test_hessian_vector_product_equals_finite_difference_of_gradients():
    gen = np.random.default_rng(1)
    x, y = rg.tensor(gen.standard_normal((8, 3))), rg.tensor(gen.standard_normal((8, 1)))
    w = rg.tensor(gen.standard_normal((3, 1)), requires_grad=True)
    v = rg.tensor(gen.standard_normal((3, 1)))

    def grad_at(wv):
        wt = rg.tensor(wv, requires_grad=True)
        (g,) = rg.autograd.grad(((x @ wt).tanh() - y).pow(2).mean(), wt)
        return _to_numpy(g)

    (g,) = rg.autograd.grad(((x @ w).tanh() - y).pow(2).mean(), w, create_graph=True)
    (hv,) = rg.autograd.grad((g * v).sum(), w)
    eps = 1e-6
    w0, v0 = _to_numpy(w), _to_numpy(v)
    fd = (grad_at(w0 + eps * v0) - grad_at(w0 - eps * v0)) / (2 * eps)
    np.testing.assert_allclose(_to_numpy(hv), fd, rtol=1e-6, atol=1e-9)
