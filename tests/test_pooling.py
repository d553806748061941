"""Pooling: F.max_pool/avg_pool/adaptive pooling and the pooling layers, against PyTorch."""
import math

import numpy as np
import pytest
from helpers import assert_close, check_double_backward, check_gradcheck, check_op, torch

import retrograd as rg
import retrograd.nn.functional as F

pytestmark = pytest.mark.on_devices


def arr(rng, *shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def with_ties(rng, *shape):
    """Values from a small set, so windows often hold several equal maxima."""
    return rng.integers(0, 3, shape).astype(np.float32)


# ---- max pooling ---------------------------------------------------------------------------------------
MAX2D = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": (2, 3), "stride": (1, 2), "dilation": (2, 1)},
    {"kernel_size": 3, "stride": 2, "ceil_mode": True},
    {"kernel_size": (3, 2), "stride": 2, "padding": 1, "ceil_mode": True, "dilation": (1, 2)},
    {"kernel_size": 2, "stride": 1},
]


@pytest.mark.parametrize("kw", MAX2D)
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool2d(rng, kw, ties):
    x = with_ties(rng, 2, 3, 7, 8) if ties else arr(rng, 2, 3, 7, 8)
    check_op(lambda m, x: m.nn.functional.max_pool2d(x, **kw), x)
    check_op(lambda m, x: m.nn.functional.max_pool2d(x, return_indices=True, **kw)[1], x, grad=False)


def test_max_pool2d_unbatched_indices_and_float64(rng):
    out = check_op(lambda m, x: m.nn.functional.max_pool2d(x, 2, return_indices=True), arr(rng, 3, 6, 5))
    assert out[1].dtype is rg.int64
    check_op(lambda m, x: m.nn.functional.max_pool2d(x, 3, 2, 1), arr(rng, 2, 2, 7, 7, dtype=np.float64))


def test_max_pool2d_nan_propagates():
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    x[0, 0, 1, 0] = np.nan
    check_op(lambda m, x: m.nn.functional.max_pool2d(x, 2), x)


@pytest.mark.parametrize("kw", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 3, "padding": 1},
                                {"kernel_size": 3, "stride": 2, "padding": 1}])
def test_max_pool2d_non_finite_upstream_gradient(rng, kw):
    """An inf or NaN upstream gradient reaches only the chosen positions: zeros elsewhere, as in PyTorch."""
    x = with_ties(rng, 2, 3, 7, 8)
    results = []
    for m in (rg, torch):
        xs = m.tensor(x, requires_grad=True)
        y = m.nn.functional.max_pool2d(xs, **kw)
        g = np.ones(tuple(y.shape), np.float32)
        g[0, 0, 0, 0], g[1, 2, 1, 1] = np.inf, np.nan
        y.backward(m.tensor(g))
        results.append(xs.grad.cpu().numpy())
    np.testing.assert_array_equal(*results)


def test_max_pool2d_kernel_over_256_offsets(rng):
    """More offsets than the uint8 offset index holds: the general running max."""
    check_op(lambda m, x: m.nn.functional.max_pool2d(x, 17, stride=3), with_ties(rng, 2, 2, 20, 23))


@pytest.mark.parametrize("kw", [{"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
                                {"kernel_size": 2, "dilation": 2}])
def test_max_pool1d(rng, kw):
    check_op(lambda m, x: m.nn.functional.max_pool1d(x, **kw), arr(rng, 2, 3, 11))
    check_op(lambda m, x: m.nn.functional.max_pool1d(x, return_indices=True, **kw)[1], arr(rng, 2, 3, 11), grad=False)


def test_max_pool_gradcheck_and_double_backward(rng):
    def fn(m, x):
        return m.nn.functional.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True)
    x = rng.permutation(2 * 3 * 6 * 7).reshape(2, 3, 6, 7).astype(np.float64) / 10  # distinct: no kinks
    check_gradcheck(fn, x)
    check_double_backward(lambda m, x: fn(m, x) ** 2, x)


# ---- average pooling ---------------------------------------------------------------------------------------
AVG2D = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
    {"kernel_size": (2, 3), "stride": (2, 2), "padding": (1, 1), "ceil_mode": True},
    {"kernel_size": (2, 3), "stride": (2, 2), "padding": (1, 1), "ceil_mode": True, "count_include_pad": False},
    {"kernel_size": 3, "stride": 2, "ceil_mode": True},
    {"kernel_size": 3, "padding": 1, "divisor_override": 2},
]


@pytest.mark.parametrize("kw", AVG2D)
def test_avg_pool2d(rng, kw):
    check_op(lambda m, x: m.nn.functional.avg_pool2d(x, **kw), arr(rng, 2, 3, 7, 8))


def test_avg_pool2d_gradcheck_and_double_backward(rng):
    def fn(m, x):
        return m.nn.functional.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)
    check_gradcheck(fn, arr(rng, 1, 2, 6, 5))
    check_double_backward(lambda m, x: fn(m, x) ** 2, arr(rng, 1, 2, 6, 5))


@pytest.mark.parametrize("kw", [{"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                                 "count_include_pad": False}, {"kernel_size": 4}])
def test_avg_pool1d(rng, kw):
    check_op(lambda m, x: m.nn.functional.avg_pool1d(x, **kw), arr(rng, 2, 3, 10))
    check_gradcheck(lambda m, x: m.nn.functional.avg_pool1d(x, **kw), arr(rng, 1, 2, 9))


def test_pool3d(rng):
    x = arr(rng, 2, 2, 5, 4, 6)
    check_op(lambda m, x: m.nn.functional.max_pool3d(x, 2, stride=(1, 2, 2), padding=1), x)
    check_op(lambda m, x: m.nn.functional.avg_pool3d(x, 3, 2, 1, count_include_pad=False), x)


# ---- adaptive pooling ------------------------------------------------------------------------------------------
ADAPTIVE = [(3, 5), 1, (None, 3), (4, 4), (7, 8), (5, 2), 3]


@pytest.mark.parametrize("size", ADAPTIVE)
def test_adaptive_avg_pool2d(rng, size):
    check_op(lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, size), arr(rng, 2, 3, 7, 8))


@pytest.mark.parametrize("size", ADAPTIVE)
@pytest.mark.parametrize("ties", [False, True])
def test_adaptive_max_pool2d(rng, size, ties):
    x = with_ties(rng, 2, 3, 7, 8) if ties else arr(rng, 2, 3, 7, 8)
    check_op(lambda m, x: m.nn.functional.adaptive_max_pool2d(x, size), x)
    check_op(lambda m, x: m.nn.functional.adaptive_max_pool2d(x, size, return_indices=True)[1], x, grad=False)


def test_adaptive_1d_and_unbatched(rng):
    check_op(lambda m, x: m.nn.functional.adaptive_avg_pool1d(x, 4), arr(rng, 2, 3, 7))
    check_op(lambda m, x: m.nn.functional.adaptive_max_pool1d(x, 4), arr(rng, 2, 3, 7))
    check_op(lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, (2, 3)), arr(rng, 3, 7, 8))
    check_op(lambda m, x: m.nn.functional.adaptive_avg_pool3d(x, (2, 3, 1)), arr(rng, 2, 3, 5, 7, 4))


def test_adaptive_gradcheck_and_double_backward(rng):
    check_gradcheck(lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, (3, 2)), arr(rng, 1, 2, 5, 7))
    check_gradcheck(lambda m, x: m.nn.functional.adaptive_max_pool2d(x, (3, 2)), arr(rng, 1, 2, 5, 7))
    check_double_backward(lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, (3, 2)) ** 2, arr(rng, 1, 2, 5, 7))


# ---- errors ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("call,match", [
    (lambda: F.max_pool2d(rg.zeros(2, 4, 5, 5), 2, padding=2), "pad should be at most half of effective kernel size"),
    (lambda: F.max_pool2d(rg.zeros(3, 4), 2), r"3D or 4D \(batch mode\) tensor expected"),
    (lambda: F.max_pool2d(rg.zeros(1, 1, 1, 1), 2), r"Output size is too small"),
    (lambda: F.max_pool2d(rg.zeros(1, 1, 4, 4), 2, stride=0), "stride must be greater than zero"),
    (lambda: F.max_pool2d(rg.zeros(1, 1, 4, 4), 0), "kernel_size must be greater than zero"),
    (lambda: F.max_pool2d(rg.zeros(1, 1, 4, 4), (2, 2, 2)), "list of 2 values"),
    (lambda: F.avg_pool2d(rg.zeros(2, 4, 5, 5), 2, padding=2), "pad should be at most half"),
    (lambda: F.avg_pool2d(rg.zeros(2, 4, 5, 5), 2, divisor_override=0), "divisor must be not zero"),
    (lambda: F.adaptive_avg_pool2d(rg.zeros(3, 4), 2), r"Expected 3D or 4D tensor"),
    (lambda: F.adaptive_avg_pool2d(rg.zeros(1, 3, 4, 4), (1, 2, 3)), "output_size must be 2"),
    (lambda: F.adaptive_max_pool2d(rg.zeros(1, 3, 4, 4), 0), "output_size must be positive"),
])
def test_errors(call, match):
    with pytest.raises(RuntimeError, match=match):
        call()


# ---- layers --------------------------------------------------------------------------------------------------------
LAYERS = [
    ("MaxPool2d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True}, (2, 3, 7, 8)),
    ("MaxPool2d", (2,), {}, (3, 6, 6)),
    ("MaxPool1d", (3,), {"stride": 2, "dilation": 2}, (2, 3, 11)),
    ("AvgPool2d", ((2, 3),), {"padding": 1, "count_include_pad": False}, (2, 3, 7, 8)),
    ("AvgPool1d", (3,), {"stride": 2, "ceil_mode": True}, (2, 3, 10)),
    ("AdaptiveAvgPool2d", ((3, None),), {}, (2, 3, 7, 8)),
    ("AdaptiveAvgPool2d", (1,), {}, (2, 3, 7, 8)),
    ("AdaptiveMaxPool2d", (3,), {}, (2, 3, 7, 8)),
    ("AdaptiveAvgPool1d", (3,), {}, (2, 3, 7)),
]


@pytest.mark.parametrize("name,args,kw,shape", LAYERS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layers(rng, name, args, kw, shape, dtype):
    layer, t_layer = getattr(rg.nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    assert repr(layer) == repr(t_layer)
    assert list(layer.state_dict()) == [] == list(t_layer.state_dict())
    x = arr(rng, *shape, dtype=dtype)
    xr, xt = rg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yr, yt = layer(xr), t_layer(xt)
    assert_close(yr, yt)
    up = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    yr.backward(rg.tensor(up))
    yt.backward(torch.tensor(up))
    assert_close(xr.grad, xt.grad)
    assert xr.grad.dtype is xr.dtype


def test_layer_return_indices(rng):
    x = arr(rng, 2, 3, 6, 6)
    for name in ("MaxPool2d", "AdaptiveMaxPool2d"):
        out, idx = getattr(rg.nn, name)(2, return_indices=True)(rg.tensor(x))
        t_out, t_idx = getattr(torch.nn, name)(2, return_indices=True)(torch.tensor(x))
        assert_close(out, t_out)
        assert_close(idx, t_idx)


def test_layer_input_errors():
    with pytest.raises(RuntimeError, match=r"MaxPool2d\(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode="
                                           r"False\): expected 3D \(unbatched\) or 4D \(batched\) input, got shape "
                                           r"\(2, 3\)"):
        rg.nn.MaxPool2d(2)(rg.zeros(2, 3))
    with pytest.raises(RuntimeError, match=r"AdaptiveAvgPool2d\(output_size=1\): expected 3D"):
        rg.nn.AdaptiveAvgPool2d(1)(rg.zeros(1, 2, 3, 4, 5))
    with pytest.raises(RuntimeError, match=r"AvgPool1d\(kernel_size=\(2,\), stride=\(2,\), padding=\(0,\)\): "
                                           r"expected 2D"):
        rg.nn.AvgPool1d(2)(rg.zeros(2, 3, 4, 5))


def test_pool_after_conv_trains_like_torch(rng):
    """A small conv net's gradients end to end: conv, max pool, avg pool, adaptive pool."""
    x = arr(rng, 2, 3, 12, 12)
    nets = []
    for m in (rg, torch):
        nets.append([m.nn.Conv2d(3, 4, 3, padding=1), m.nn.MaxPool2d(2), m.nn.Conv2d(4, 4, 3, groups=2),
                     m.nn.AvgPool2d(2, ceil_mode=True), m.nn.AdaptiveAvgPool2d(1)])
    for a, b in zip(*nets):
        a.load_state_dict({k: v.detach().numpy() for k, v in b.state_dict().items()})
    outs = []
    for m, net in zip((rg, torch), nets):
        y = m.tensor(x)
        for layer in net:
            y = layer(y)
        (y ** 2).sum().backward()
        outs.append((y, [p.grad for layer in net for p in layer.parameters()]))
    assert_close(outs[0][0], outs[1][0], rtol=1e-4, atol=1e-6)
    for gr, gt in zip(outs[0][1], outs[1][1]):
        assert_close(gr, gt, rtol=1e-4, atol=1e-6, what="parameter grad")
    assert not math.isnan(float(outs[0][0].sum()))
