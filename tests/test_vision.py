"""Resampling: F.interpolate, F.pixel_shuffle, F.pad and the Upsample/PixelShuffle layers, against PyTorch."""
import numpy as np
import pytest
from helpers import check_double_backward, check_gradcheck, check_op, torch

import retrograd as rg
import retrograd.nn.functional as F

pytestmark = pytest.mark.on_devices


def arr(rng, *shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


SIZES = [{"size": (5, 13)}, {"scale_factor": 2}, {"scale_factor": (1.7, 0.6)}, {"size": 21},
         {"scale_factor": 1.3, "recompute_scale_factor": True}, {"size": (7, 8)}, {"scale_factor": 0.5}]


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "area"])
@pytest.mark.parametrize("kw", SIZES)
def test_interpolate_nearest_area(rng, mode, kw):
    check_op(lambda m, x: m.nn.functional.interpolate(x, mode=mode, **kw), arr(rng, 2, 3, 7, 8))


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("kw", SIZES)
def test_interpolate_bilinear(rng, align_corners, kw):
    check_op(lambda m, x: m.nn.functional.interpolate(x, mode="bilinear", align_corners=align_corners, **kw),
             arr(rng, 2, 3, 7, 8))


@pytest.mark.parametrize("align_corners", [None, True])
def test_interpolate_linear_trilinear(rng, align_corners):
    check_op(lambda m, x: m.nn.functional.interpolate(x, scale_factor=2.5, mode="linear",
                                                      align_corners=align_corners), arr(rng, 2, 3, 7))
    check_op(lambda m, x: m.nn.functional.interpolate(x, size=(4, 5, 6), mode="trilinear",
                                                      align_corners=align_corners), arr(rng, 1, 2, 3, 7, 4))


def test_interpolate_nearest_3d_input_and_float64(rng):
    check_op(lambda m, x: m.nn.functional.interpolate(x, scale_factor=2.5), arr(rng, 2, 3, 7))
    out = check_op(lambda m, x: m.nn.functional.interpolate(x, size=(9, 4), mode="bilinear"),
                   arr(rng, 1, 2, 5, 6, dtype=np.float64))
    assert out[0].dtype is rg.float64


@pytest.mark.parametrize("mode,kw", [("nearest", {}), ("bilinear", {"align_corners": False}),
                                     ("bilinear", {"align_corners": True})])
def test_interpolate_gradcheck_and_double_backward(rng, mode, kw):
    def fn(m, x):
        return m.nn.functional.interpolate(x, size=(5, 3), mode=mode, **kw)
    check_gradcheck(fn, arr(rng, 1, 2, 3, 4))
    check_double_backward(lambda m, x: fn(m, x) ** 2, arr(rng, 1, 2, 3, 4))


def test_pixel_shuffle(rng):
    check_op(lambda m, x: m.nn.functional.pixel_shuffle(x, 2), arr(rng, 2, 8, 3, 4))
    check_op(lambda m, x: m.nn.functional.pixel_shuffle(x, 3), arr(rng, 9, 2, 2))
    check_op(lambda m, x: m.nn.functional.pixel_unshuffle(x, 2), arr(rng, 2, 2, 4, 6))


def test_pad_is_reexported(rng):
    check_op(lambda m, x: m.nn.functional.pad(x, (1, 2, 0, 1), mode="reflect"), arr(rng, 2, 3, 4, 5))
    check_op(lambda m, x: m.nn.functional.pad(x, (1, 1), value=2.0), arr(rng, 2, 3, 4))


@pytest.mark.parametrize("call,exc,match", [
    (lambda x: F.interpolate(x, size=3, scale_factor=2), ValueError, "only one of size or scale_factor"),
    (lambda x: F.interpolate(x), ValueError, "either size or scale_factor"),
    (lambda x: F.interpolate(x, size=3, mode="foo"), NotImplementedError, r"got foo"),
    (lambda x: F.interpolate(x, size=3, mode="linear"), NotImplementedError, "linear mode needs 3D input"),
    (lambda x: F.interpolate(x, size=3, align_corners=True), ValueError, "align_corners option can only be set"),
    (lambda x: F.interpolate(x, size=(3, 3, 3)), ValueError, "same number of spatial dimensions"),
    (lambda x: F.interpolate(x, scale_factor=(2, 2, 2)), ValueError, "same number of spatial dimensions"),
    (lambda x: F.interpolate(x, scale_factor=0.1), RuntimeError, "should be greater than 0"),
    (lambda x: F.pixel_shuffle(rg.zeros(1, 5, 2, 2), 2), RuntimeError, "divisible by the square of upscale_factor"),
    (lambda x: F.pixel_unshuffle(rg.zeros(1, 1, 3, 2), 2), RuntimeError, "divisible by downscale_factor"),
])
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call(rg.zeros(2, 4, 5, 5))


@pytest.mark.parametrize("name,args,kw", [
    ("Upsample", (), {"scale_factor": 2}),
    ("Upsample", (), {"size": (3, 9), "mode": "bilinear", "align_corners": True}),
    ("UpsamplingNearest2d", (), {"scale_factor": 3}),
    ("UpsamplingBilinear2d", (), {"size": 4}),
    ("PixelShuffle", (2,), {}),
    ("PixelUnshuffle", (2,), {}),
])
def test_layers(rng, name, args, kw):
    layer, t_layer = getattr(rg.nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    assert repr(layer) == repr(t_layer)
    check_op(lambda m, x: (layer if m is rg else t_layer)(x), arr(rng, 2, 4, 6, 6))
