"""Shape ops against PyTorch: values, gradients, float64 gradchecks, view semantics and errors."""
import warnings

import numpy as np
import pytest
from helpers import _to_numpy, check_double_backward, check_gradcheck, check_op, torch

import retrograd as rg
from retrograd.device import _cuda
from retrograd.ops.shape import pad as rg_pad

pytestmark = pytest.mark.on_devices


def F_pad(m):
    """`pad` lives in torch.nn.functional; retrograd's is retrograd.ops.shape.pad."""
    return torch.nn.functional.pad if m is torch else rg_pad


def arrays(*shapes, seed=0):
    gen = np.random.default_rng(seed)
    return [gen.standard_normal(s).astype(np.float32) for s in shapes]


CASES = {
    "reshape": (lambda m, x: x.reshape(4, -1), [(2, 3, 2)]),
    "reshape_fn_tuple": (lambda m, x: m.reshape(x, (-1,)), [(2, 3)]),
    "reshape_same_shape": (lambda m, x: x.reshape(2, 3), [(2, 3)]),
    "reshape_noncontiguous": (lambda m, x: x.t().reshape(-1), [(2, 3)]),
    "reshape_0d": (lambda m, x: x.reshape(1, 1), [()]),
    "view": (lambda m, x: x.view(3, 2, 2), [(2, 6)]),
    "view_as": (lambda m, x, y: x.view_as(y), [(2, 6), (4, 3)]),
    "reshape_as": (lambda m, x, y: x.reshape_as(y), [(2, 6), (3, 4)]),
    "flatten": (lambda m, x: m.flatten(x, 1), [(2, 3, 4)]),
    "flatten_neg": (lambda m, x: x.flatten(-3, -2), [(2, 3, 4, 5)]),
    "flatten_all": (lambda m, x: x.flatten(), [(2, 3, 4)]),
    "flatten_0d": (lambda m, x: x.flatten(), [()]),
    "ravel": (lambda m, x: m.ravel(x.t()), [(3, 4)]),
    "unflatten": (lambda m, x: x.unflatten(-1, (2, -1)), [(3, 6)]),
    "unflatten_fn": (lambda m, x: m.unflatten(x, 0, (1, 3, 1)), [(3, 2)]),
    "squeeze_all": (lambda m, x: x.squeeze(), [(1, 3, 1, 2)]),
    "squeeze_dim": (lambda m, x: m.squeeze(x, -2), [(1, 3, 1, 2)]),
    "squeeze_tuple": (lambda m, x: x.squeeze((0, 1, -2)), [(1, 3, 1, 2)]),
    "squeeze_0d": (lambda m, x: x.squeeze(0), [()]),
    "unsqueeze": (lambda m, x: x.unsqueeze(-1), [(2, 3)]),
    "unsqueeze_mid": (lambda m, x: m.unsqueeze(x, -2), [(2, 3)]),
    "unsqueeze_0d": (lambda m, x: m.unsqueeze(x, 0), [()]),
    "transpose": (lambda m, x: x.transpose(0, -1), [(2, 3, 4)]),
    "transpose_0d": (lambda m, x: x.transpose(0, -1), [()]),
    "swapaxes": (lambda m, x: m.swapaxes(x, 1, 2), [(2, 3, 4)]),
    "swapdims": (lambda m, x: x.swapdims(-1, -2), [(2, 3, 4)]),
    "permute": (lambda m, x: x.permute(2, 0, 1), [(2, 3, 4)]),
    "permute_fn_neg": (lambda m, x: m.permute(x, (-1, 0, -2)), [(2, 3, 4)]),
    "movedim": (lambda m, x: m.movedim(x, (0, -1), (-1, 1)), [(2, 3, 4, 5)]),
    "movedim_int": (lambda m, x: x.movedim(0, 2), [(2, 3, 4)]),
    "moveaxis": (lambda m, x: m.moveaxis(x, -1, 0), [(2, 3, 4)]),
    "t": (lambda m, x: x.t(), [(2, 3)]),
    "t_1d": (lambda m, x: m.t(x), [(3,)]),
    "T": (lambda m, x: x.T, [(2, 3)]),
    "T_3d": (lambda m, x: x.T, [(2, 3, 4)]),
    "mT": (lambda m, x: x.mT, [(2, 3, 4)]),
    "expand": (lambda m, x: x.expand(2, -1, 4), [(3, 1)]),
    "expand_same": (lambda m, x: x.expand(3, 1), [(3, 1)]),
    "expand_0d": (lambda m, x: x.expand(2, 3), [()]),
    "expand_as": (lambda m, x, y: x.expand_as(y), [(3, 1), (2, 3, 4)]),
    "broadcast_to": (lambda m, x: m.broadcast_to(x, (2, 3, 4)), [(1, 4)]),
    "repeat": (lambda m, x: x.repeat(2, 1, 3), [(3, 2)]),
    "repeat_0d": (lambda m, x: x.repeat(3), [()]),
    "repeat_ones": (lambda m, x: x.repeat(1, 1), [(3, 2)]),
    "tile": (lambda m, x: m.tile(x, (2,)), [(2, 3)]),
    "tile_more": (lambda m, x: x.tile((2, 1, 2)), [(2, 3)]),
    "flip": (lambda m, x: x.flip(0, -1), [(2, 3, 4)]),
    "flip_fn": (lambda m, x: m.flip(x, (1,)), [(2, 3, 4)]),
    "flip_0d": (lambda m, x: x.flip(0), [()]),
    "flip_size1": (lambda m, x: x.flip(0), [(1, 3)]),
    "fliplr": (lambda m, x: m.fliplr(x), [(2, 3)]),
    "flipud": (lambda m, x: x.flipud(), [(2, 3)]),
    "roll": (lambda m, x: x.roll((1, -2), (0, -1)), [(3, 4)]),
    "roll_int": (lambda m, x: m.roll(x, -1, 1), [(3, 4)]),
    "roll_flat": (lambda m, x: m.roll(x, 5), [(3, 4)]),
    "roll_0d": (lambda m, x: x.roll(1), [()]),
    "tril": (lambda m, x: x.tril(), [(4, 5)]),
    "tril_batched": (lambda m, x: m.tril(x, -1), [(2, 4, 3)]),
    "triu": (lambda m, x: m.triu(x, diagonal=1), [(4, 5)]),
    "triu_neg": (lambda m, x: x.triu(-2), [(2, 5, 4)]),
    "narrow": (lambda m, x: x.narrow(-1, 1, 2), [(3, 4)]),
    "narrow_negstart": (lambda m, x: m.narrow(x, 0, -2, 2), [(3, 4)]),
    "narrow_empty": (lambda m, x: x.narrow(0, 3, 0), [(3, 4)]),
    "select": (lambda m, x: x.select(1, -1), [(3, 4, 2)]),
    "select_1d": (lambda m, x: m.select(x, 0, 2), [(4,)]),
    "diagonal": (lambda m, x: x.diagonal(), [(3, 4)]),
    "diagonal_offset": (lambda m, x: m.diagonal(x, 1), [(3, 4)]),
    "diagonal_negoffset": (lambda m, x: x.diagonal(-2), [(3, 4)]),
    "diagonal_past_end": (lambda m, x: x.diagonal(5), [(3, 4)]),
    "diagonal_dims": (lambda m, x: m.diagonal(x, 1, -1, 0), [(3, 2, 4)]),
    "cat": (lambda m, x, y: m.cat([x, y], 1), [(2, 3), (2, 4)]),
    "cat_neg_three": (lambda m, x, y, z: m.cat((x, y, z), -1), [(2, 1, 3), (2, 1, 1), (2, 1, 2)]),
    "cat_dim0": (lambda m, x, y: m.cat([x, y]), [(1, 3), (2, 3)]),
    "cat_single": (lambda m, x: m.cat([x]), [(2, 3)]),
    "cat_empty_piece": (lambda m, x, y: m.cat([x, y], 0), [(2, 3), (0, 3)]),
    "cat_legacy_empty": (lambda m, x, e: m.cat([x, e], 1), [(2, 3), (0,)]),
    "concat": (lambda m, x, y: m.concat([x, y], dim=-1), [(2, 3), (2, 4)]),
    "concatenate": (lambda m, x, y: m.concatenate([x, y], axis=0), [(2, 3), (1, 3)]),
    "stack": (lambda m, x, y: m.stack([x, y]), [(2, 3), (2, 3)]),
    "stack_neg": (lambda m, x, y, z: m.stack((x, y, z), -1), [(2, 3), (2, 3), (2, 3)]),
    "stack_mid": (lambda m, x, y: m.stack([x, y], 1), [(2, 3), (2, 3)]),
    "stack_0d": (lambda m, x, y: m.stack([x, y]), [(), ()]),
    "hstack": (lambda m, x, y: m.hstack([x, y]), [(2, 3), (2, 1)]),
    "hstack_1d": (lambda m, x, y: m.hstack((x, y)), [(2,), (3,)]),
    "vstack": (lambda m, x, y: m.vstack([x, y]), [(3,), (2, 3)]),
    "split_int": (lambda m, x: m.split(x, 2, -1), [(3, 5)]),
    "split_sizes": (lambda m, x: x.split([1, 3, 1], 1), [(2, 5)]),
    "split_big": (lambda m, x: x.split(10), [(3, 2)]),
    "split_one_used": (lambda m, x: x.split(2)[1] * 3, [(5, 2)]),
    "chunk": (lambda m, x: x.chunk(3, 0), [(7, 2)]),
    "chunk_fewer": (lambda m, x: m.chunk(x, 4, -1), [(2, 6)]),
    "unbind": (lambda m, x: x.unbind(-1), [(3, 4)]),
    "unbind_some": (lambda m, x: m.unbind(x)[0] * x.unbind()[2], [(3, 4)]),
    "iterate": (lambda m, x: m.stack([r * i for i, r in enumerate(x)], 1), [(3, 2)]),
    "pad_constant": (lambda m, x: F_pad(m)(x, (1, 2)), [(2, 3)]),
    "pad_value_2d": (lambda m, x: F_pad(m)(x, (1, 0, 2, 1), value=1.5), [(2, 3)]),
    "pad_three_dims": (lambda m, x: F_pad(m)(x, (1, 0, 0, 2, 1, 1)), [(2, 3, 2)]),
    "pad_crop": (lambda m, x: F_pad(m)(x, (-1, 1, 0, -1)), [(3, 4)]),
    "pad_reflect": (lambda m, x: F_pad(m)(x, (2, 1), mode="reflect"), [(2, 4)]),
    "pad_reflect_max": (lambda m, x: F_pad(m)(x, (3, 3), mode="reflect"), [(1, 2, 4)]),
    "pad_reflect_2d": (lambda m, x: F_pad(m)(x, (1, 2, 2, 1), mode="reflect"), [(1, 2, 3, 4)]),
    "pad_replicate": (lambda m, x: F_pad(m)(x, (2, 3, 1, 0), mode="replicate"), [(2, 3, 4)]),
    "pad_replicate_3d": (lambda m, x: F_pad(m)(x, (1, 0, 2, 1, 0, 1), mode="replicate"), [(2, 2, 3, 2)]),
    "pad_circular": (lambda m, x: F_pad(m)(x, (1, 2), mode="circular"), [(2, 3, 4)]),
    "pad_circular_3d": (lambda m, x: F_pad(m)(x, (1, 1, 2, 0, 1, 2), mode="circular"), [(1, 2, 3, 3, 4)]),
    "pad_circular_crop": (lambda m, x: F_pad(m)(x, (-1, 2), mode="circular"), [(2, 4)]),
    "clone": (lambda m, x: m.clone(x), [(2, 3)]),
    "contiguous": (lambda m, x: x.t().contiguous(), [(2, 3)]),
}


def _call(fn, m, *xs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # x.T on non-matrices warns in both libraries
        return fn(m, *xs)


def _joined(fn, m, *xs):
    """Several outputs as one flat tensor: a backward from several outputs of one node is the engine's to test."""
    out = _call(fn, m, *xs)
    return m.cat([o.reshape(-1) for o in out]) if isinstance(out, tuple) else out


@pytest.mark.parametrize("name", list(CASES))
def test_values_and_grads(name):
    fn, shapes = CASES[name]
    check_op(lambda m, *xs: _joined(fn, m, *xs), *arrays(*shapes))


@pytest.mark.parametrize("name", list(CASES))
def test_gradcheck(name):
    fn, shapes = CASES[name]
    check_gradcheck(lambda m, *xs: _call(fn, m, *xs), *[a.astype(np.float64) for a in arrays(*shapes)])


@pytest.mark.parametrize("name", ["cat", "split_sizes", "unbind", "narrow", "select", "pad_reflect_2d",
                                  "pad_replicate", "pad_circular", "repeat", "diagonal_offset", "expand", "stack"])
def test_double_backward(name):
    fn, shapes = CASES[name]

    def summed(m, *xs):
        out = _joined(fn, m, *xs)
        return out * out  # nonlinear, so second derivatives are not all zero

    check_double_backward(summed, *arrays(*shapes))


# ---- dtypes --------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [lambda m, x: x.flip(0), lambda m, x: x.roll(1), lambda m, x: x.repeat(2, 1),
                                lambda m, x: x.tril(), lambda m, x: m.stack([x, x]), lambda m, x: x.t().reshape(-1),
                                lambda m, x: F_pad(m)(x, (1, 1), value=7), lambda m, x: x.diagonal(),
                                lambda m, x: x.unbind(1), lambda m, x: F_pad(m)(x, (1, 1), mode="circular")])
def test_integer_inputs(fn):
    check_op(fn, np.arange(12, dtype=np.int64).reshape(3, 4), grad=False)
    check_op(fn, np.arange(12).reshape(3, 4) % 2 == 0, grad=False)


def test_cat_promotes_dtypes():
    i32, f64 = np.arange(6, dtype=np.int32).reshape(2, 3), np.ones((1, 3))
    check_op(lambda m, x, y: m.cat([x, y]), i32, f64)
    check_op(lambda m, x, y: m.cat([x, y]), i32, np.ones((2, 3), bool), grad=False)
    check_op(lambda m, x, y, z: m.cat([x, y, z]), *arrays((2, 3), (1, 3)), np.ones((1, 3)))
    check_op(lambda m, x, y: m.cat([x, y]), i32, np.empty(0))  # a skipped empty tensor still promotes
    check_op(lambda m, x, y: m.stack([x, y]), np.ones((2, 3), np.float32), np.ones((2, 3)))
    check_op(lambda m, x, y: m.cat([x, y]), np.empty(0, np.float32), np.empty(0, np.float32))


def test_grad_dtypes_follow_inputs():
    x, y = rg.ones(2, 3, requires_grad=True), rg.ones(1, 3, dtype=rg.float64, requires_grad=True)
    rg.cat([x, y]).sum().backward()
    assert x.grad.dtype is rg.float32 and y.grad.dtype is rg.float64


# ---- view semantics ---------------------------------------------------------------------------
VIEWS = {
    "view": lambda x: x.view(6, 4),
    "reshape": lambda x: x.reshape(-1),
    "reshape_same": lambda x: x.reshape(2, 3, 4),
    "flatten": lambda x: x.flatten(1),
    "unflatten": lambda x: x.unflatten(2, (2, 2)),
    "squeeze": lambda x: x.unsqueeze(0).squeeze(),
    "unsqueeze": lambda x: x.unsqueeze(1),
    "transpose": lambda x: x.transpose(0, 2),
    "permute": lambda x: x.permute(1, 2, 0),
    "movedim": lambda x: x.movedim(0, -1),
    "t": lambda x: x.select(0, 0).t(),
    "T": lambda x: x.select(0, 1).T,
    "mT": lambda x: x.mT,
    "expand": lambda x: x.select(2, 0).unsqueeze(0).expand(3, 2, 3),
    "narrow": lambda x: x.narrow(1, 1, 2),
    "select": lambda x: x.select(-1, 2),
    "diagonal": lambda x: x.diagonal(0, 1, 2),
    "split": lambda x: x.split([1, 3], -1)[1],
    "chunk": lambda x: x.chunk(2, 1)[1],
    "unbind": lambda x: x.unbind(1)[2],
}


def _strided_views(on_device) -> bool:
    """Strided views (diagonal) exist: NumPy, CuPy; not the array-api-strict stand-in, where as_strided copies."""
    return not (on_device == "cuda" and _cuda.standin)


@pytest.mark.parametrize("name", list(VIEWS))
def test_views_share_storage(name, on_device):
    if name == "diagonal" and not _strided_views(on_device):
        pytest.skip("the cuda stand-in (array-api-strict) has no strided views: its diagonal is a copy")
    fn = VIEWS[name]
    x = rg.tensor(np.arange(24.0, dtype=np.float32).reshape(2, 3, 4), requires_grad=True)
    v = fn(x)
    assert v._base is x
    with rg.no_grad():
        x.mul_(-2)
    expected = fn(x.detach())
    np.testing.assert_array_equal(_to_numpy(v), _to_numpy(expected))


def test_view_of_view_has_root_base():
    x = rg.zeros(2, 3)
    v = x.t().unsqueeze(0).squeeze(0)
    assert v._base is x


def test_write_through_view_shows_in_base(on_device):
    x = rg.zeros(3, 4)
    x.narrow(1, 1, 2).fill_(1.0)
    expected = torch.zeros(3, 4)
    expected.narrow(1, 1, 2).fill_(1.0)
    if _strided_views(on_device):  # the cuda stand-in's diagonal is a copy (no strided views there)
        x.diagonal().fill_(5.0)
        expected.diagonal().fill_(5.0)
    np.testing.assert_array_equal(_to_numpy(x), expected.numpy())


@pytest.mark.parametrize("fn", [lambda x: x.t().reshape(-1), lambda x: x.flip(0), lambda x: x.roll(1),
                                lambda x: x.narrow(0, 0, 1).flip(0),
                                lambda x: x.repeat(1, 1), lambda x: rg.cat([x]), lambda x: x.contiguous().clone(),
                                lambda x: rg_pad(x, (0, 0)), lambda x: x.tril()])
def test_copies_do_not_share_storage(fn):
    x = rg.ones(2, 3)
    out = fn(x)
    before = _to_numpy(out).copy()
    assert out._base is None
    x.mul_(3)
    np.testing.assert_array_equal(_to_numpy(out), before)


def test_reshape_returns_new_tensor():
    x = rg.ones(2, 3, requires_grad=True)
    y = x.reshape(2, 3)
    assert y is not x and y._base is x and y.grad_fn is not None


def test_flatten_without_merge_returns_input():
    x = rg.ones(2, 3)
    assert x.flatten(1, 1) is x and rg.ones(3).flatten()._base is None


def test_split_pieces_are_outputs_of_one_node():
    x = rg.ones(5, 2, requires_grad=True)
    pieces = x.split(2)
    assert len({id(p.grad_fn) for p in pieces}) == 1
    assert [p.output_nr for p in pieces] == [0, 1, 2]
    (pieces[2] * 2).sum().backward()
    np.testing.assert_array_equal(_to_numpy(x.grad), [[0, 0]] * 4 + [[2, 2]])


def test_split_retain_graph_and_second_backward():
    x = rg.ones(4, requires_grad=True)
    a, b = x.chunk(2)
    y = (a * b).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(_to_numpy(x.grad), [2, 2, 2, 2])


def test_view_after_transpose_is_refused_but_reshape_copies():
    x = rg.ones(2, 3).t()
    with pytest.raises(RuntimeError, match=r"view size is not compatible.*\[3, 2\].*\[6\]"):
        x.view(6)
    assert x.reshape(6)._base is None
    assert x.view(3, 2, 1)._base is not None


def test_view_dtype_reinterprets_bits():
    check_op(lambda m, x: x.view(m.int32), np.array([1.0, -2.0], np.float32), grad=False)
    x = rg.tensor([1.0, -2.0])
    assert x.view(rg.float32)._base is x


def test_T_warns_on_non_matrices():
    with pytest.warns(UserWarning, match="x.T"):
        assert rg.ones(2, 3, 4).T.shape == (4, 3, 2)


# ---- errors ------------------------------------------------------------------------------------
ERRORS = [
    (lambda: rg.ones(6, 3).view(4, 4), RuntimeError, r"shape '\[4, 4\]' is invalid for input of size 18"),
    (lambda: rg.ones(6, 3).reshape(-1, -1), RuntimeError, "only one dimension can be inferred"),
    (lambda: rg.ones(6, 3).reshape(-2, 9), RuntimeError, "invalid shape dimension -2"),
    (lambda: rg.ones(6, 3).reshape(4, -1), RuntimeError, r"shape '\[4, -1\]' is invalid for input of size 18"),
    (lambda: rg.ones(6, 3).flatten(1, 0), RuntimeError, "start_dim .* cannot come after end_dim"),
    (lambda: rg.ones(6, 3).flatten(2), IndexError, "Dimension out of range"),
    (lambda: rg.ones(6, 3).unflatten(1, (2, 2)), RuntimeError, r"sizes \[2, 2\] don't multiply up to the size"),
    (lambda: rg.ones(6, 3).unflatten(1, ()), RuntimeError, "sizes must be non-empty"),
    (lambda: rg.tensor(1.0).unflatten(0, (1,)), RuntimeError, "unflatten: cannot unflatten a 0-dim tensor"),
    (lambda: rg.ones(2, 3).squeeze(2), IndexError, r"expected to be in range of \[-2, 1\], but got 2"),
    (lambda: rg.ones(2, 3).squeeze((0, 0)), RuntimeError, "dim 0 appears multiple times"),
    (lambda: rg.ones(2, 3).unsqueeze(3), IndexError, "Dimension out of range"),
    (lambda: rg.ones(2, 3).transpose(0, 2), IndexError, "transpose: Dimension out of range"),
    (lambda: rg.ones(2, 3).permute(0), RuntimeError, "does not match the length of the desired ordering"),
    (lambda: rg.ones(2, 3).permute(0, 0), RuntimeError, "appears multiple times"),
    (lambda: rg.ones(2, 3).movedim((0, 1), (1,)), RuntimeError, "same number of dims"),
    (lambda: rg.ones(2, 3).movedim((0, 0), (1, 0)), RuntimeError, "appears multiple times"),
    (lambda: rg.ones(2, 3, 4).t(), RuntimeError, r"t\(\) expects a tensor with <= 2 dimensions, but self is 3D"),
    (lambda: rg.ones(3).mT, RuntimeError, "only supported on matrices"),
    (lambda: rg.ones(2, 3).expand(3, 3), RuntimeError, r"expanded size of the tensor \(3\) must match the existing "
                                                      r"size \(2\) at non-singleton dimension 0"),
    (lambda: rg.ones(2, 3).expand(3), RuntimeError, "number of sizes provided"),
    (lambda: rg.ones(3).expand(-1, 3), RuntimeError, "leading, non-existing dimension 0"),
    (lambda: rg.ones(2, 3).repeat(2), RuntimeError, "can not be smaller than number of dimensions"),
    (lambda: rg.ones(2, 3).flip(0, 0), RuntimeError, "dim 0 appears multiple times"),
    (lambda: rg.ones(2).fliplr(), RuntimeError, "Input must be >= 2-d"),
    (lambda: rg.ones(2, 3).roll(1, (0, 1)), RuntimeError, "shifts and dimensions must align. shifts: 1, dims:2"),
    (lambda: rg.ones(2, 3).roll((1, 2)), RuntimeError, "shifts and dimensions must align"),
    (lambda: rg.ones(6).tril(), RuntimeError, "tril: input tensor must have at least 2 dimensions"),
    (lambda: rg.ones(6).triu(), RuntimeError, "triu: input tensor must have at least 2 dimensions"),
    (lambda: rg.ones(6).narrow(0, 5, 2), RuntimeError, r"start \(5\) \+ length \(2\) exceeds dimension size \(6\)"),
    (lambda: rg.ones(6).narrow(0, 7, 0), IndexError, r"start out of range \(expected to be in range of \[-6, 6\]"),
    (lambda: rg.ones(6).narrow(0, 1, -1), RuntimeError, "length must be non-negative"),
    (lambda: rg.ones(6, 3).select(0, 6), IndexError, r"index 6 out of range for tensor of size \[6, 3\]"),
    (lambda: rg.ones(6, 3).select(2, 0), IndexError, "Dimension out of range"),
    (lambda: rg.ones(6, 3).diagonal(0, 1, -1), RuntimeError, "diagonal dimensions cannot be identical"),
    (lambda: rg.cat([rg.ones(2, 3), rg.ones(3, 3)], 1), RuntimeError,
     r"Sizes of tensors must match except in dimension 1. Expected size 2 but got size 3 for tensor number 1"),
    (lambda: rg.cat([rg.ones(2, 3), rg.ones(2, 3), rg.ones(2, 4)]), RuntimeError,
     r"Expected size 3 but got size 4 for tensor number 2 in the list \(shapes \[2, 3\] and \[2, 4\]\)"),
    (lambda: rg.cat([rg.ones(2, 3), rg.ones(3)]), RuntimeError, "same number of dimensions: got 2 and 1"),
    (lambda: rg.cat([rg.ones(2, 3), rg.tensor(1.0)]), RuntimeError, r"zero-dimensional tensor \(at position 1\)"),
    (lambda: rg.cat([]), ValueError, "expected a non-empty list of Tensors"),
    (lambda: rg.cat(rg.ones(2)), TypeError, "must be a tuple or list of Tensors"),
    (lambda: rg.cat([rg.ones(2), 3]), TypeError, "expected a Tensor at position 1"),
    (lambda: rg.cat([rg.ones(2, 3)], 2), IndexError, r"in range of \[-2, 1\], but got 2"),
    (lambda: rg.stack([rg.ones(2, 3), rg.ones(2, 4)]), RuntimeError,
     r"stack expects each tensor to be equal size, but got \[2, 3\] at entry 0 and \[2, 4\] at entry 1"),
    (lambda: rg.stack([]), RuntimeError, "stack expects a non-empty TensorList"),
    (lambda: rg.stack([rg.ones(2)], 2), IndexError, "Dimension out of range"),
    (lambda: rg.ones(6).split([2, 3]), RuntimeError,
     r"split_with_sizes expects split_sizes to sum exactly to 6 .*split_sizes=\[2, 3\]"),
    (lambda: rg.ones(6).split(0), RuntimeError, "split_size can only be 0 if dimension size is 0"),
    (lambda: rg.ones(6).split(-1), RuntimeError, "split_size be non-negative"),
    (lambda: rg.ones(6).split(2, 1), IndexError, "Dimension out of range"),
    (lambda: rg.ones(6).chunk(0), RuntimeError, "chunk expects `chunks` to be greater than 0, got: 0"),
    (lambda: rg.ones(6).unbind(1), IndexError, "Dimension out of range"),
    (lambda: rg.tensor(1.0).unbind(), RuntimeError, "tensor has no dimensions"),
    (lambda: rg_pad(rg.ones(2, 4), (1, 1, 1)), RuntimeError, "Padding length must be divisible by 2"),
    (lambda: rg_pad(rg.ones(2, 4), (1,) * 6), RuntimeError, "Padding length should be less than or equal to two"),
    (lambda: rg_pad(rg.ones(2, 4), (-3, -3)), RuntimeError, "resulted in a negative output size"),
    (lambda: rg_pad(rg.ones(2, 4), (1, 1), mode="foo"), NotImplementedError, "Unrecognised padding mode foo"),
    (lambda: rg_pad(rg.ones(4), (1, 1), mode="reflect"), NotImplementedError, "Padding size 2 is not supported"),
    (lambda: rg_pad(rg.ones(2, 4), (4, 1), mode="reflect"), RuntimeError, "Padding size should be less than"),
    (lambda: rg_pad(rg.ones(2, 4), (5, 1), mode="circular"), RuntimeError, "wrapping around more than once"),
    (lambda: rg_pad(rg.ones(2, 4), (1, 1), mode="replicate", value=2.0), RuntimeError, "doesn't take in value"),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors(case):
    fn, exc, pattern = ERRORS[case]
    with pytest.raises(exc, match=pattern):
        fn()
