"""The fast paths of convolution and max pooling against the general path they replace, and against PyTorch.

- A stride-1 transposed convolution (the input gradient of a convolution) runs as a direct convolution
  with the flipped kernel (`_gather_geometry`); strided ones keep col2im's scattered adds.
- Max pooling runs a running max over the kernel's offsets; a given `arg` (double backward) gathers
  from im2col's columns. Both must pick the same element, NaN included.
- The first-order backward of the hot elementwise, reduction and shape ops (`Node.backward_arrays`, one
  expression on arrays) must give exactly the values and dtypes of their Tensor formula (`Node.backward`).
"""
import numpy as np
import pytest
import torch
from helpers import _to_numpy

import retrograd as rg
from retrograd.device import to_host
from retrograd.nn.functional import conv as C
from retrograd.nn.functional import pooling as P

pytestmark = pytest.mark.on_devices

GEN = np.random.default_rng(0)


def _scatter_transpose(x: np.ndarray, w: np.ndarray, geom, groups: int, out: tuple) -> np.ndarray:
    """The transposed convolution by col2im (the path that `_gather_geometry` lets ConvTranspose skip)."""
    n, c_in = x.shape[:2]
    og, k = w.shape[1], int(np.prod(geom.kernel))
    wm = w.reshape(groups, c_in // groups, og, k).transpose(0, 3, 2, 1).reshape(groups, k * og, c_in // groups)
    cols = (wm @ C.group_major(x, groups)).reshape((groups, k, og, n) + x.shape[2:])
    perm = (2, 0, 1) + tuple(range(3, x.ndim + 1))
    return C.col2im(np, lambda i: cols[:, i].transpose(perm), (n, og * groups) + out, geom, x.shape[2:], groups,
                    x.dtype)


@pytest.mark.parametrize("kernel,padding,dilation,groups", [
    ((3, 3), (1, 1), (1, 1), 1), ((3, 2), (0, 1), (1, 1), 2), ((3, 3), (2, 1), (2, 1), 1), ((1, 1), (0, 0), (1, 1), 4)])
@pytest.mark.parametrize("c,o", [(8, 4), (4, 8)])  # the gather where its columns are no larger, the scatter else
def test_gather_transpose_matches_scatter(kernel, padding, dilation, groups, c, o):
    n, size = 3, (7, 6)
    geom = C.Geometry(kernel, (1, 1), dilation, padding, padding)
    out_size = geom.out_size(size)
    gy = GEN.standard_normal((n, o) + out_size)
    w = GEN.standard_normal((o, c // groups) + kernel)
    assert C._gather_geometry(geom, out_size, size) is not None
    fast = C.ConvTranspose(geom, groups, size).forward(gy, w)
    np.testing.assert_allclose(fast, _scatter_transpose(gy, w, geom, groups, size), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kernel,dilation,lo,hi,groups", [
    ((3,), (2,), (1,), (3,), 1), ((2, 3), (1, 2), (0, 2), (1, 1), 2), ((2, 2, 3), (1, 1, 1), (1, 0, 1), (0, 1, 1), 1)])
def test_plane_scatter_matches_col2im(kernel, dilation, lo, hi, groups):
    """The stride-1 transposed convolution by shifted adds over flat planes (NumPy; chosen where the input
    has more channels than the output) against col2im, in 1, 2 and 3 dims with uneven padding."""
    n, c, o = 2, 2 * groups, 6 * groups
    size = (7, 6, 5)[:len(kernel)]
    geom = C.Geometry(kernel, (1,) * len(kernel), dilation, lo, hi)
    gy = GEN.standard_normal((n, o) + geom.out_size(size))
    w = GEN.standard_normal((o, c // groups) + kernel)
    fast = C._plane_scatter(gy, w.reshape(groups, o // groups, c // groups, -1).transpose(0, 3, 2, 1)
                            .reshape(groups, -1, o // groups), geom, groups, size)
    np.testing.assert_allclose(fast, _scatter_transpose(gy, w, geom, groups, size), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(C.ConvTranspose(geom, groups, size).forward(gy, w), fast, rtol=1e-12, atol=1e-12)


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
        results.append([_to_numpy(t) for t in (y, xs.grad, ws.grad, bs.grad)])
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
    np.testing.assert_array_equal(_to_numpy(ry), _to_numpy(ty))
    np.testing.assert_array_equal(_to_numpy(ri), _to_numpy(ti))
    node = ry.grad_fn  # the running max and the general gather (given the same choice) agree
    assert isinstance(node, P.WindowGather)
    again = P.WindowGather(node.geom, node.out, node.arg)(rx.detach())._data
    np.testing.assert_array_equal(to_host(again), _to_numpy(ry))
    g = GEN.standard_normal(tuple(ty.shape)).astype(np.float32)
    ry.backward(rg.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(_to_numpy(rx.grad), _to_numpy(tx.grad), rtol=1e-5, atol=1e-6)  # overlapping sums


def _pair(op, shapes, dtype):
    """(output, gradient) of `op` on inputs of `shapes` (None: the Python number 1.5) that require grad."""
    inputs = [1.5 if s is None else rg.tensor((GEN.standard_normal(s) + 2).astype(dtype), requires_grad=True)
              for s in shapes]
    y = op(*inputs)
    return y, rg.tensor(GEN.standard_normal(tuple(y.shape)).astype(dtype))


FAST_OPS = {
    "add": (lambda a, b: a + b, [(3, 4), (4,)]),
    "add_scalar": (lambda a, b: a + b, [(3, 4), None]),
    "sub": (lambda a, b: a - b, [(3, 1), (3, 4)]),
    "rsub_scalar": (lambda a, b: b - a, [(3, 4), None]),
    "mul": (lambda a, b: a * b, [(2, 3, 4), (3, 1)]),
    "mul_scalar": (lambda a, b: a * b, [(5,), None]),
    "div": (lambda a, b: a / b, [(3, 4), (3, 4)]),
    "rdiv_scalar": (lambda a, b: b / a, [(3, 4), None]),
    "neg": (lambda a: -a, [(3, 4)]),
    "exp": (lambda a: a.exp(), [(3, 4)]),
    "log": (lambda a: a.log(), [(3, 4)]),
    "tanh": (lambda a: a.tanh(), [(3, 4)]),
    "sigmoid": (lambda a: a.sigmoid(), [(3, 4)]),
    "relu": (lambda a: (a - 2).relu(), [(3, 4)]),
    "pow": (lambda a: a ** 3, [(3, 4)]),
    "pow_half": (lambda a: a ** 0.5, [(3, 4)]),
    "pow_zero": (lambda a: a ** 0, [(3, 4)]),
    "sum": (lambda a: a.sum(), [(3, 4)]),
    "sum_dim": (lambda a: a.sum(1), [(3, 4, 2)]),
    "sum_keepdim": (lambda a: a.sum((0, 2), keepdim=True), [(3, 4, 2)]),
    "mean": (lambda a: a.mean(), [(3, 4)]),
    "mean_dim": (lambda a: a.mean(-1), [(3, 4)]),
    "softmax": (lambda a: a.softmax(-1), [(3, 4)]),
    "linear": (lambda x, w, b: rg.nn.functional.linear(x, w, b), [(2, 3, 4), (5, 4), (5,)]),
    "gelu": (lambda a: rg.nn.functional.gelu(a), [(3, 4)]),
    "gelu_tanh": (lambda a: rg.nn.functional.gelu(a, approximate="tanh"), [(3, 4)]),
    "silu": (lambda a: rg.nn.functional.silu(a), [(3, 4)]),
    "leaky_relu": (lambda a: rg.nn.functional.leaky_relu(a - 2, 0.1), [(3, 4)]),
    "elu": (lambda a: rg.nn.functional.elu(a - 2), [(3, 4)]),
    "linear_no_bias": (lambda x, w: rg.nn.functional.linear(x, w), [(3, 4), (5, 4)]),
    "log_softmax": (lambda a: a.log_softmax(1), [(3, 4, 2)]),
    "cross_entropy": (lambda a: rg.nn.functional.cross_entropy(a, rg.tensor([0, 3, 1])), [(3, 4)]),
    "cross_entropy_sum_weighted": (lambda a, w: rg.nn.functional.cross_entropy(
        a, rg.tensor([0, 3, 3]), w.detach(), reduction="sum"), [(3, 4), (4,)]),
    "reshape": (lambda a: a.reshape(4, 3), [(3, 4)]),
    "permute": (lambda a: a.permute(2, 0, 1), [(3, 4, 2)]),
    "scalar_tensor": (lambda a: (a * a).tanh(), [()]),
}


def _host(a) -> np.ndarray:
    """A fast path's array (a NumPy scalar on the CPU for 0-d results) on the host."""
    return np.asarray(a) if isinstance(a, (np.ndarray, np.generic)) else to_host(a)


_BLAS_SUMS = {"softmax", "log_softmax", "linear"}  # fast paths that sum rows with `array_extras.sum_keep`

NORMALIZE_OPS = {
    "layer_norm": (lambda x, w, b: rg.nn.functional.layer_norm(x, (4, 5), w, b), [(3, 4, 5), (4, 5), (4, 5)]),
    "layer_norm_no_affine": (lambda x: rg.nn.functional.layer_norm(x, (5,)), [(3, 4, 5)]),
    "rms_norm": (lambda x, w: rg.nn.functional.rms_norm(x, (5,), w), [(3, 4, 5), (5,)]),
    "batch_norm": (lambda x, w, b: rg.nn.functional.batch_norm(x, None, None, w, b, training=True),
                   [(6, 4, 5), (4,), (4,)]),
    "group_norm": (lambda x: rg.nn.functional.group_norm(x, 2), [(3, 4, 5)]),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(FAST_OPS) + sorted(NORMALIZE_OPS))
def test_backward_arrays_matches_tensor_formula(name, dtype):
    """Each fast path against its Tensor formula: bit for bit, within rounding where it sums by BLAS (softmax,
    the bias of linear) or in another order (the normalisations)."""
    op, shapes = {**FAST_OPS, **NORMALIZE_OPS}[name]
    y, g = _pair(op, shapes, dtype)
    node = y.grad_fn
    while name in NORMALIZE_OPS and type(node).__name__ != "Normalize":  # group_norm reshapes around it
        node = node.next_functions[0][0]
        g = rg.ones(node._out.shape if node._out is not None else node.xhat.shape, dtype=y.dtype) * 0.5
    assert node.backward_arrays is not None, f"{node.name} has no first-order fast path"
    tol = None if name in FAST_OPS and name not in _BLAS_SUMS else 1e-5 if dtype == np.float32 else 1e-12
    _assert_fast_path_matches(node, g, tol)


def _assert_fast_path_matches(node, g, tol: float | None = None) -> None:
    """node.backward_arrays against the Tensor formula of node.backward: the same Nones, dtypes and shapes,
    and the same bits (or, with `tol`, values within it)."""
    with rg.no_grad():
        expected = node.backward(g)
    expected = expected if isinstance(expected, tuple) else (expected,)
    fast = node.backward_arrays(g._data)
    assert len(fast) == len(expected)
    for f, e in zip(fast, expected):
        assert (f is None) == (e is None)
        if e is not None:
            assert f.dtype == e._data.dtype and f.shape == e._data.shape
            if tol is None:
                np.testing.assert_array_equal(_host(f), _host(e._data))
            else:
                np.testing.assert_allclose(_host(f), _host(e._data), rtol=tol, atol=tol)


def test_fresh_grads_share_memory_with_nothing():
    """Each node that declares `fresh_grads` (a leaf's .grad takes its arrays without a copy) returns arrays
    that share no memory with the incoming gradient, the inputs or each other."""
    checked = set()
    for name, (op, shapes) in FAST_OPS.items():
        y, g = _pair(op, shapes, np.float32)
        node = y.grad_fn
        if node.fresh_grads:
            checked.add(name)
            held = [g._data] + [a for a in node.saved_arrays() if isinstance(a, np.ndarray)]
            fast = [a for a in node.backward_arrays(g._data) if a is not None]
            for i, a in enumerate(fast):
                assert not any(np.shares_memory(a, other) for other in held + fast[:i] + fast[i + 1:]), name
    assert {"linear", "linear_no_bias"} <= checked  # the linear nodes declare it: the test is not vacuous


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_first_order_backward_matches_recorded_backward(dtype):
    """.backward() (fast paths) against autograd.grad with create_graph=True (Tensor formulas), bit for bit."""
    def chain(x, w):
        h = ((x * w + 0.1).tanh() - x / (w + 3)).sigmoid() ** 2
        return (h.reshape(-1, 2).permute(1, 0).exp().log().relu() - h.mean()).sum()
    x = rg.tensor(GEN.standard_normal((3, 4)).astype(dtype), requires_grad=True)
    w = rg.tensor(GEN.standard_normal(4).astype(dtype), requires_grad=True)
    chain(x, w).backward()
    gx, gw = rg.autograd.grad(chain(x, w), (x, w), create_graph=True)
    for fast, ref in ((x.grad, gx), (w.grad, gw)):
        assert fast.dtype == ref.dtype and not fast.requires_grad
        np.testing.assert_array_equal(_to_numpy(fast), _to_numpy(ref))


def test_tensor_exponent_declines_the_fast_path():
    a = rg.tensor([1.0, 2.0], requires_grad=True)
    b = rg.tensor([2.0, 3.0], requires_grad=True)
    node = (a ** b).grad_fn
    assert node.backward_arrays(rg.ones(2, dtype=a.dtype)._data) is None
    (a ** b).sum().backward()
    np.testing.assert_allclose(_to_numpy(b.grad), [0.0, 8 * np.log(2.0)])


def test_fast_path_checks_in_place_changes_and_release():
    a = rg.tensor([1.0, 2.0], requires_grad=True)
    x = a * 1.0
    y = x * x
    x.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    z = (a * 2).tanh()
    z.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        z.sum().backward()
    node = z.grad_fn
    assert node._out is None and node._freed
