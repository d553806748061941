"""Convolutions: F.conv1d/2d/3d, F.conv_transpose1d/2d, F.unfold/F.fold and the Conv layers, against PyTorch."""
import math

import numpy as np
import pytest
from helpers import assert_close, check_double_backward, check_gradcheck, check_op, torch

import retrograd as rg
import retrograd.nn.functional as F

pytestmark = pytest.mark.on_devices

# A convolution sums C/groups * kernel products per output (and grad_weight N * L of them) in another order
# than PyTorch: float32 results agree to about 1e-5 relative, so these contractions are compared at 1e-4.
TOL = {"rtol": 1e-4, "atol": 1e-5}


def arr(rng, *shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


# ---- F.conv2d ----------------------------------------------------------------------------------------
CONV2D_CASES = [
    # (input shape, weight shape, kwargs)
    ((2, 3, 7, 6), (4, 3, 3, 3), {}),
    ((2, 3, 7, 6), (4, 3, 3, 3), {"stride": 2}),
    ((2, 3, 9, 8), (4, 3, 3, 2), {"stride": (2, 1), "padding": (1, 2)}),
    ((2, 3, 9, 8), (4, 3, 3, 3), {"padding": 2, "dilation": 2}),
    ((2, 3, 9, 8), (4, 3, 2, 3), {"padding": 1, "dilation": (2, 1), "stride": (1, 3)}),
    ((2, 4, 7, 6), (6, 2, 3, 3), {"groups": 2, "padding": 1}),
    ((2, 4, 7, 6), (8, 1, 3, 3), {"groups": 4, "padding": 1, "stride": 2}),  # depthwise, multiplier 2
    ((2, 3, 7, 6), (4, 3, 3, 3), {"padding": "same"}),
    ((2, 3, 7, 6), (4, 3, 2, 4), {"padding": "same", "dilation": (1, 2)}),  # even kernel: extra padding after
    ((2, 3, 7, 6), (4, 3, 3, 3), {"padding": "valid"}),
    ((1, 2, 5, 5), (3, 2, 1, 1), {}),
    ((3, 7, 6), (4, 3, 3, 3), {"padding": 1}),  # unbatched
]


@pytest.mark.parametrize("x_shape,w_shape,kw", CONV2D_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d(rng, x_shape, w_shape, kw, bias):
    x, w = arr(rng, *x_shape), arr(rng, *w_shape)
    b = arr(rng, w_shape[0]) if bias else None
    check_op(lambda m, x, w, b: m.nn.functional.conv2d(x, w, b, **kw), x, w, b, **TOL)


def test_conv2d_float64_and_dtype(rng):
    x, w, b = arr(rng, 2, 3, 6, 5, dtype=np.float64), arr(rng, 4, 3, 3, 3, dtype=np.float64), arr(rng, 4,
                                                                                                   dtype=np.float64)
    out = check_op(lambda m, x, w, b: m.nn.functional.conv2d(x, w, b, padding=1), x, w, b)
    assert out[0].dtype is rg.float64


@pytest.mark.parametrize("kw", [{"stride": 2, "padding": 1}, {"dilation": 2, "groups": 2}, {"padding": "same"}])
def test_conv2d_gradcheck(rng, kw):
    check_gradcheck(lambda m, x, w, b: m.nn.functional.conv2d(x, w, b, **kw), arr(rng, 1, 4, 5, 5),
                    arr(rng, 2, 4 // kw.get("groups", 1), 2, 2), arr(rng, 2))


@pytest.mark.parametrize("kw", [{"padding": 1}, {"stride": 2, "groups": 2, "dilation": (1, 2)}])
def test_conv2d_double_backward(rng, kw):
    check_double_backward(lambda m, x, w, b: m.nn.functional.conv2d(x, w, b, **kw), arr(rng, 2, 4, 6, 5),
                          arr(rng, 4, 4 // kw.get("groups", 1), 3, 2), arr(rng, 4))


# ---- conv1d, conv3d ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [{}, {"stride": 2, "padding": 1}, {"dilation": 3, "groups": 2}, {"padding": "same"},
                                {"padding": "same", "dilation": 2}])
def test_conv1d(rng, kw):
    check_op(lambda m, x, w, b: m.nn.functional.conv1d(x, w, b, **kw), arr(rng, 2, 4, 11), arr(rng, 6, 4 // kw.get(
        "groups", 1), 4), arr(rng, 6), **TOL)


def test_conv1d_gradcheck(rng):
    check_gradcheck(lambda m, x, w: m.nn.functional.conv1d(x, w, stride=2, padding=1), arr(rng, 2, 2, 6),
                    arr(rng, 3, 2, 3))


def test_conv3d(rng):
    check_op(lambda m, x, w, b: m.nn.functional.conv3d(x, w, b, stride=(1, 2, 1), padding=1), arr(rng, 2, 2, 4, 5, 4),
             arr(rng, 3, 2, 2, 3, 3), arr(rng, 3), **TOL)


# ---- transposed convolutions -------------------------------------------------------------------------------
CONVT_CASES = [
    ((2, 4, 5, 6), (4, 3, 3, 3), {}),
    ((2, 4, 5, 6), (4, 3, 3, 2), {"stride": 2, "padding": 1, "output_padding": 1}),
    ((2, 4, 5, 6), (4, 3, 3, 3), {"stride": (2, 3), "output_padding": (1, 2), "padding": (0, 1)}),
    ((2, 4, 5, 6), (4, 2, 3, 3), {"groups": 2, "dilation": 2, "padding": 2}),
    ((2, 4, 5, 6), (4, 1, 3, 3), {"groups": 4, "stride": 2, "dilation": 3, "output_padding": 2}),  # op < dilation
    ((4, 5, 6), (4, 3, 2, 2), {"stride": 2}),  # unbatched
]


@pytest.mark.parametrize("x_shape,w_shape,kw", CONVT_CASES)
def test_conv_transpose2d(rng, x_shape, w_shape, kw):
    g = kw.get("groups", 1)
    check_op(lambda m, x, w, b: m.nn.functional.conv_transpose2d(x, w, b, **kw), arr(rng, *x_shape),
             arr(rng, *w_shape), arr(rng, w_shape[1] * g), **TOL)


def test_conv_transpose2d_gradcheck_and_double_backward(rng):
    def fn(m, x, w, b):
        return m.nn.functional.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=2)
    x, w, b = arr(rng, 1, 4, 3, 3), arr(rng, 4, 1, 3, 2), arr(rng, 2)
    check_gradcheck(fn, x, w, b)
    check_double_backward(fn, x, w, b)


def test_conv_transpose1d(rng):
    def fn(m, x, w):
        return m.nn.functional.conv_transpose1d(x, w, stride=3, padding=1, output_padding=2, dilation=2)
    check_op(fn, arr(rng, 2, 3, 7), arr(rng, 3, 5, 3), **TOL)
    check_gradcheck(fn, arr(rng, 1, 2, 4), arr(rng, 2, 2, 3))


def test_conv_double_backward_through_weight_grad(rng):
    """Third order: the weight-gradient node's own backward, differentiated again."""
    x, w = arr(rng, 1, 2, 5, 4, dtype=np.float64), arr(rng, 3, 2, 2, 2, dtype=np.float64)
    results = []
    for m in (rg, torch):
        xt, wt = m.tensor(x, requires_grad=True), m.tensor(w, requires_grad=True)
        y = m.nn.functional.conv2d(xt, wt, stride=2, padding=1)
        (gw,) = m.autograd.grad((y * y).sum(), (wt,), create_graph=True)
        (gx,) = m.autograd.grad((gw * gw).sum(), (xt,), create_graph=True)
        results.append(m.autograd.grad(gx.pow(3).sum(), (wt,))[0].detach().cpu().numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)


# ---- unfold / fold -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [{"kernel_size": 2}, {"kernel_size": (2, 3), "stride": 2, "padding": 1},
                                {"kernel_size": 3, "dilation": (1, 2), "padding": (1, 2), "stride": (2, 1)}])
def test_unfold_fold(rng, kw):
    x = arr(rng, 2, 3, 7, 8)
    cols = check_op(lambda m, x: m.nn.functional.unfold(x, **kw), x)[0]
    check_op(lambda m, c: m.nn.functional.fold(c, (7, 8), **kw), cols.detach().cpu().numpy())
    check_gradcheck(lambda m, x: m.nn.functional.unfold(x, **kw), arr(rng, 1, 2, 5, 6))
    check_gradcheck(lambda m, c: m.nn.functional.fold(c, (5, 6), **kw),
                    rg.nn.functional.unfold(rg.tensor(arr(rng, 1, 2, 5, 6)), **kw).cpu().numpy())


def test_unfold_unbatched_and_double_backward(rng):
    check_op(lambda m, x: m.nn.functional.unfold(x, 2, padding=1), arr(rng, 3, 4, 5))
    check_double_backward(lambda m, x: m.nn.functional.unfold(x, 2, stride=1) ** 2, arr(rng, 1, 2, 4, 4))


# ---- errors ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("call,exc,match", [
    (lambda x, w: F.conv2d(rg.zeros(2, 3), w), RuntimeError, r"Expected 3D \(unbatched\) or 4D \(batched\) input to "
                                                              r"conv2d, but got input of size: \[2, 3\]"),
    (lambda x, w: F.conv2d(rg.zeros(2, 3, 5, 5), w), RuntimeError, r"expected input\[2, 3, 5, 5\] to have 4 channels, "
                                                                    r"but got 3 channels"),
    (lambda x, w: F.conv2d(x, rg.zeros(3, 2, 3, 3), groups=2), RuntimeError, "divisible by 2 at dimension 0"),
    (lambda x, w: F.conv2d(x, w, stride=0), RuntimeError, "non-positive stride"),
    (lambda x, w: F.conv2d(x, w, dilation=0), RuntimeError, "non-positive dilation"),
    (lambda x, w: F.conv2d(x, w, padding=-1), RuntimeError, "negative padding"),
    (lambda x, w: F.conv2d(x, w, groups=0), RuntimeError, "non-positive groups"),
    (lambda x, w: F.conv2d(x, w, padding="same", stride=2), RuntimeError, "not supported for strided"),
    (lambda x, w: F.conv2d(x, w, padding="foo"), RuntimeError, "Invalid padding string: 'foo'"),
    (lambda x, w: F.conv2d(rg.zeros(2, 4, 2, 2), w), RuntimeError, r"padded input size per channel: \(2 x 2\). "
                                                                     r"Kernel size: \(3 x 3\)"),
    (lambda x, w: F.conv2d(x, w, rg.zeros(5)), RuntimeError, "expected bias to be 1-dimensional with 6 elements"),
    (lambda x, w: F.conv2d(x.double(), w), RuntimeError, "expected scalar type Double but found Float"),
    (lambda x, w: F.conv2d(x, w, rg.zeros(6, dtype=rg.float64)), RuntimeError, "bias type"),
    (lambda x, w: F.conv2d(x, w, stride=(1, 2, 3)), RuntimeError, "list of 2 values"),
    (lambda x, w: F.conv2d(x, rg.zeros(6, 4, 3)), RuntimeError, "expected a 4-D weight"),
    (lambda x, w: F.conv1d(rg.zeros(2, 3, 4, 5), rg.zeros(2, 3, 2)), RuntimeError, "input to conv1d"),
    (lambda x, w: F.conv2d(x.cpu().numpy(), w), TypeError, "must be Tensor"),
    (lambda x, w: F.conv_transpose2d(x, rg.zeros(4, 3, 3, 3), stride=2, output_padding=2), RuntimeError,
     "output padding must be smaller than either stride or dilation"),
    (lambda x, w: F.conv_transpose2d(x, rg.zeros(3, 3, 3, 3)), RuntimeError, "Given transposed=1"),
    (lambda x, w: F.conv_transpose2d(x, rg.zeros(4, 3, 3, 3), padding="same"), TypeError, "padding"),
    (lambda x, w: F.conv_transpose2d(x, rg.zeros(4, 3, 3, 3), padding=4), RuntimeError, "Output size is too small"),
    (lambda x, w: F.unfold(rg.zeros(3, 4), 2), RuntimeError, "3D or 4D"),
    (lambda x, w: F.fold(rg.zeros(2, 5, 4), (3, 3), 2), RuntimeError, "divisible by the product of kernel_size"),
    (lambda x, w: F.fold(rg.zeros(2, 8, 5), (3, 3), 2), RuntimeError, "number of sliding blocks 2 \\* 2 = 4"),
])
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call(rg.zeros(2, 4, 5, 5), rg.zeros(6, 4, 3, 3))


# ---- layers ------------------------------------------------------------------------------------------------
def _compare_layer(rg_layer, t_layer, x, rtol=1e-4, atol=1e-5, **call):
    """Load torch's state dict into rg_layer; compare outputs, input and parameter gradients."""
    assert list(rg_layer.state_dict()) == list(t_layer.state_dict())
    rg_layer.load_state_dict({k: v.detach().numpy() for k, v in t_layer.state_dict().items()})
    xr, xt = rg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yr, yt = rg_layer(xr, **call), t_layer(xt, **call)
    assert_close(yr, yt, rtol, atol)
    up = np.random.default_rng(1).standard_normal(tuple(yt.shape)).astype(x.dtype)
    yr.backward(rg.tensor(up))
    yt.backward(torch.tensor(up))
    assert_close(xr.grad, xt.grad, rtol, atol, what="input grad")
    for (name, p), tp in zip(rg_layer.named_parameters(), t_layer.parameters()):
        assert p.grad.dtype is p.dtype
        assert_close(p.grad, tp.grad, rtol, atol, what=f"grad of {name}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("args,kw", [
    ((3, 6, 3), {}),
    ((4, 6, (3, 2)), {"stride": 2, "padding": 1, "groups": 2, "bias": False}),
    ((3, 4, 3), {"padding": "same", "dilation": 2}),
    ((3, 4, 3), {"padding": 1, "padding_mode": "reflect"}),
    ((3, 4, 2), {"padding": "same", "padding_mode": "circular"}),
    ((3, 4, 3), {"padding": (1, 2), "padding_mode": "replicate"}),
])
def test_conv2d_layer(rng, dtype, args, kw):
    t_layer = torch.nn.Conv2d(*args, **kw)
    layer = rg.nn.Conv2d(*args, **kw)
    if dtype is np.float64:
        t_layer, layer = t_layer.double(), layer.double()
    _compare_layer(layer, t_layer, arr(rng, 2, args[0], 7, 6, dtype=dtype))
    assert repr(layer) == repr(t_layer)


def test_conv1d_layer(rng):
    _compare_layer(rg.nn.Conv1d(3, 4, 3, stride=2, padding=1), torch.nn.Conv1d(3, 4, 3, stride=2, padding=1),
                   arr(rng, 2, 3, 9))
    assert repr(rg.nn.Conv1d(3, 4, 3, stride=2)) == repr(torch.nn.Conv1d(3, 4, 3, stride=2))


@pytest.mark.parametrize("kw", [{}, {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2, "bias": False},
                                {"stride": (2, 1), "dilation": 2}])
def test_conv_transpose2d_layer(rng, kw):
    t_layer, layer = torch.nn.ConvTranspose2d(4, 6, 3, **kw), rg.nn.ConvTranspose2d(4, 6, 3, **kw)
    assert tuple(layer.weight.shape) == (4, 6 // kw.get("groups", 1), 3, 3)
    _compare_layer(layer, t_layer, arr(rng, 2, 4, 5, 6))
    assert repr(layer) == repr(t_layer)


def test_conv_transpose2d_output_size(rng):
    t_layer, layer = torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1), rg.nn.ConvTranspose2d(2, 3, 3, stride=2,
                                                                                                     padding=1)
    x = arr(rng, 1, 2, 4, 4)
    _compare_layer(layer, t_layer, x, output_size=(8, 7))
    assert tuple(layer(rg.tensor(x), output_size=[1, 3, 8, 8]).shape) == (1, 3, 8, 8)
    with pytest.raises(ValueError, match="valid sizes range from"):
        layer(rg.tensor(x), output_size=(9, 9))


def test_conv_layer_state_dict_keys():
    assert list(rg.nn.Conv2d(2, 3, 3).state_dict()) == ["weight", "bias"]
    assert list(rg.nn.Conv2d(2, 3, 3, bias=False).state_dict()) == ["weight"]
    assert list(rg.nn.ConvTranspose2d(2, 3, 3).state_dict()) == ["weight", "bias"]


def test_conv_layer_init_statistics():
    layer = rg.nn.Conv2d(64, 128, 3)
    w, b = layer.weight.detach().cpu().numpy(), layer.bias.detach().cpu().numpy()
    fan_in = 64 * 9
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform with a=sqrt(5): gain sqrt(1/3), bound gain * sqrt(3 / fan_in)
    assert w.shape == (128, 64, 3, 3) and w.dtype == np.float32
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound / math.sqrt(3)
    assert abs(w.mean()) < 0.01 * bound
    assert np.abs(b).max() <= bound and b.std() > 0.4 * bound
    t = rg.nn.ConvTranspose2d(64, 32, 3)  # PyTorch's fan_in for a transposed weight: size(1) * kernel
    assert np.abs(t.bias.detach().cpu().numpy()).max() <= 1 / math.sqrt(32 * 9)
    assert np.abs(t.bias.detach().cpu().numpy()).max() > 0.9 / math.sqrt(32 * 9)


@pytest.mark.parametrize("make,exc,match", [
    (lambda: rg.nn.Conv2d(3, 4, 3, groups=2), ValueError, "in_channels must be divisible by groups"),
    (lambda: rg.nn.Conv2d(4, 3, 3, groups=2), ValueError, "out_channels must be divisible by groups"),
    (lambda: rg.nn.Conv2d(4, 4, 3, groups=0), ValueError, "groups must be a positive integer"),
    (lambda: rg.nn.Conv2d(4, 4, 3, padding="foo"), ValueError, "Invalid padding string 'foo'"),
    (lambda: rg.nn.Conv2d(4, 4, 3, padding="same", stride=2), ValueError, "not supported for strided"),
    (lambda: rg.nn.Conv2d(4, 4, 3, padding_mode="foo"), ValueError, "padding_mode must be one of"),
    (lambda: rg.nn.ConvTranspose2d(4, 4, 3, padding_mode="reflect"), ValueError, 'Only "zeros" padding mode'),
])
def test_layer_construction_errors(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_layer_input_errors():
    layer = rg.nn.Conv2d(3, 8, 3)
    with pytest.raises(RuntimeError, match=r"Conv2d\(3, 8, kernel_size=\(3, 3\), stride=\(1, 1\)\): expected 3D "
                                           r"\(unbatched\) or 4D \(batched\) input, got shape \(2, 3\)"):
        layer(rg.zeros(2, 3))
    with pytest.raises(RuntimeError, match=r"Conv2d\(3, 8, .*\): expected input with 3 channels \(dim 1\), got "
                                           r"shape \(2, 4, 5, 5\)"):
        layer(rg.zeros(2, 4, 5, 5))
    with pytest.raises(RuntimeError, match=r"ConvTranspose2d\(3, 8, .*\): expected input with 3 channels"):
        rg.nn.ConvTranspose2d(3, 8, 3)(rg.zeros(4, 5, 5))


def test_fold_unfold_layers(rng):
    x = arr(rng, 2, 3, 6, 6)
    _compare_layer(rg.nn.Unfold(2, stride=2), torch.nn.Unfold(2, stride=2), x)
    assert repr(rg.nn.Unfold(2, stride=2)) == repr(torch.nn.Unfold(2, stride=2))
    assert repr(rg.nn.Fold((4, 4), 2)) == repr(torch.nn.Fold((4, 4), 2))
    _compare_layer(rg.nn.Fold((4, 4), 2), torch.nn.Fold((4, 4), 2), arr(rng, 2, 12, 9))


def test_no_grad_keeps_no_columns(rng):
    x, w = rg.tensor(arr(rng, 1, 2, 5, 5)), rg.tensor(arr(rng, 3, 2, 3, 3), requires_grad=True)
    with rg.no_grad():
        y = F.conv2d(x, w)
    assert y.grad_fn is None and not y.requires_grad
