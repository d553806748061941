"""The fast paths of convolution and max pooling against the general path they replace, and against PyTorch.

- A stride-1 transposed convolution (the input gradient of a convolution) runs as a direct convolution
  with the flipped kernel (`_gather_geometry`); strided ones keep col2im's scattered adds.
- Max pooling runs a running max over the kernel's offsets; a given `arg` (double backward) gathers
  from im2col's columns. Both must pick the same element, NaN included.
"""
import numpy as np
import pytest
import torch

import retrograd as rg
from retrograd.nn.functional import conv as C
from retrograd.nn.functional import pooling as P

GEN = np.random.default_rng(0)


def _scatter_transpose(x: np.ndarray, w: np.ndarray, geom, groups: int, out: tuple) -> np.ndarray:
    """The transposed convolution by col2im (the path that `_gather_geometry` lets ConvTranspose skip)."""
    n, c_in = x.shape[:2]
    og, k = w.shape[1], int(np.prod(geom.kernel))
    wm = w.reshape(groups, c_in // groups, og, k).transpose(0, 3, 2, 1).reshape(groups, k * og, c_in // groups)
    cols = (wm @ C.group_major(x, groups)).reshape((groups, k, og, n) + x.shape[2:])
    return C.col2im(np, lambda i: cols[:, i].transpose(2, 0, 1, 3, 4), (n, og * groups) + out, geom, x.shape[2:],
                    groups, x.dtype)


@pytest.mark.parametrize("kernel,padding,dilation,groups", [
    ((3, 3), (1, 1), (1, 1), 1), ((3, 2), (0, 1), (1, 1), 2), ((3, 3), (2, 1), (2, 1), 1), ((1, 1), (0, 0), (1, 1), 4)])
def test_gather_transpose_matches_scatter(kernel, padding, dilation, groups):
    n, c, o, size = 3, 4, 8, (7, 6)
    geom = C.Geometry(kernel, (1, 1), dilation, padding, padding)
    out_size = geom.out_size(size)
    gy = GEN.standard_normal((n, o) + out_size)
    w = GEN.standard_normal((o, c // groups) + kernel)
    assert C._gather_geometry(geom, out_size, size) is not None
    fast = C.ConvTranspose(geom, groups, size).forward(gy, w)
    np.testing.assert_allclose(fast, _scatter_transpose(gy, w, geom, groups, size), rtol=1e-10, atol=1e-10)


def test_strided_transpose_keeps_scatter():
    geom = C.Geometry((3, 3), (2, 2), (1, 1), (1, 1), (1, 1))
    assert C._gather_geometry(geom, (4, 4), (8, 8)) is None


@pytest.mark.parametrize("stride,padding,groups", [(1, 1, 1), (2, 0, 2), (1, 0, 4)])
def test_conv_gradients_against_torch(stride, padding, groups):
    x = GEN.standard_normal((5, 4, 9, 8)).astype(np.float32)
    w = GEN.standard_normal((8, 4 // groups, 3, 3)).astype(np.float32)
    b = GEN.standard_normal(8).astype(np.float32)
    g = None
    results = []
    for lib in (rg, torch):
        xs, ws, bs = (lib.tensor(a, requires_grad=True) for a in (x, w, b))
        y = lib.nn.functional.conv2d(xs, ws, bs, stride=stride, padding=padding, groups=groups)
        g = GEN.standard_normal(tuple(y.shape)).astype(np.float32) if g is None else g
        y.backward(lib.tensor(g))
        results.append([t.detach().numpy() for t in (y, xs.grad, ws.grad, bs.grad)])
    for a, e in zip(*results):
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kernel,stride,padding", [(2, 2, 0), (3, 1, 1), (3, 2, 1)])
def test_running_max_matches_gather_and_torch(kernel, stride, padding):
    x = GEN.standard_normal((2, 3, 7, 8)).astype(np.float32)
    x[0, 0, 1, 1] = x[0, 0, 1, 2]  # ties: the first maximum wins
    x[1, 2, 3, 3] = np.nan
    x[1, 2, 3, 4] = np.nan  # two NaNs in one window: PyTorch keeps the last
    rx = rg.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    ry, ri = rg.nn.functional.max_pool2d(rx, kernel, stride, padding, return_indices=True)
    ty, ti = torch.nn.functional.max_pool2d(tx, kernel, stride, padding, return_indices=True)
    np.testing.assert_array_equal(ry.detach().numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(ri.numpy(), ti.numpy())
    node = ry.grad_fn  # the running max and the general gather (given the same choice) agree
    assert isinstance(node, P.WindowGather)
    again = P.WindowGather(node.geom, node.out, node.arg).forward(x)
    np.testing.assert_array_equal(again, ry.detach().numpy())
    g = GEN.standard_normal(tuple(ty.shape)).astype(np.float32)
    ry.backward(rg.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(rx.grad.numpy(), tx.grad.numpy(), rtol=1e-6)
