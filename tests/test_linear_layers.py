"""Linear, Bilinear, Flatten/Unflatten/Identity, Dropout and Embedding against torch.nn, and their F forms."""
import math
import warnings

import numpy as np
import pytest
from helpers import _to_numpy, check_double_backward, check_gradcheck, check_op, torch

import retrograd as rg
import retrograd.nn.functional as F
from retrograd import nn

pytestmark = pytest.mark.on_devices

TF = torch.nn.functional


def compare_layer(r_layer, t_layer, *inputs, dtype=np.float32, rtol=1e-5, atol=1e-6, int_inputs=False):
    """Copy torch's parameters into the retrograd layer; compare outputs, input grads and parameter grads."""
    if dtype == np.float64:
        r_layer.double()
        t_layer.double()
    r_layer.load_state_dict({k: v.detach().numpy() for k, v in t_layer.state_dict().items()})
    assert list(r_layer.state_dict()) == list(t_layer.state_dict())
    cast = (lambda a: a) if int_inputs else (lambda a: a.astype(dtype))
    rs = [rg.tensor(cast(a), requires_grad=not int_inputs) for a in inputs]
    ts = [torch.tensor(cast(a), requires_grad=not int_inputs) for a in inputs]
    r_out, t_out = r_layer(*rs), t_layer(*ts)
    assert r_out.dtype.name == str(t_out.dtype).split(".")[-1]
    np.testing.assert_allclose(_to_numpy(r_out), _to_numpy(t_out), rtol=rtol, atol=atol)
    up = np.random.default_rng(5).standard_normal(tuple(t_out.shape)).astype(t_out.detach().numpy().dtype)
    r_out.backward(rg.tensor(up))
    t_out.backward(torch.tensor(up))
    for i, (r, t) in enumerate(zip(rs, ts)):
        if not int_inputs:
            np.testing.assert_allclose(_to_numpy(r.grad), _to_numpy(t.grad), rtol=rtol, atol=atol,
                                       err_msg=f"input {i}")
    for (name, rp), (_, tp) in zip(r_layer.named_parameters(), t_layer.named_parameters()):
        if tp.grad is None:
            assert rp.grad is None or not _to_numpy(rp.grad).any(), name
            continue
        assert rp.grad.dtype is rp.dtype, name
        np.testing.assert_allclose(_to_numpy(rp.grad), _to_numpy(tp.grad), rtol=rtol, atol=atol, err_msg=name)
    return r_out


# ---- F.linear ------------------------------------------------------------------------------------
@pytest.mark.parametrize("x_shape", [(4,), (5, 4), (2, 3, 4), (2, 1, 3, 4), (0, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_f_linear_matches_torch(rng, x_shape, bias):
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal((6, 4)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    if bias:
        check_op(lambda m, x, w, b: m.nn.functional.linear(x, w, b), x, w, b)
    else:
        check_op(lambda m, x, w: m.nn.functional.linear(x, w), x, w)


def test_f_linear_gradcheck_and_double_backward(rng):
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4)), rng.standard_normal(5)
    check_gradcheck(lambda m, x, w, b: m.nn.functional.linear(x, w, b), x, w, b)
    check_double_backward(lambda m, x, w, b: m.nn.functional.linear(x, w, b) ** 2, x, w, b)


def test_f_linear_is_one_node_and_skips_unneeded_grads(rng):
    x = rg.tensor(rng.standard_normal((3, 4)).astype(np.float32))
    w = rg.tensor(rng.standard_normal((2, 4)).astype(np.float32), requires_grad=True)
    y = F.linear(x, w, rg.zeros(2))
    assert y.grad_fn.name == "LinearBackward"
    assert y.grad_fn.next_functions[0] == (None, 0) and y.grad_fn.next_functions[2] == (None, 0)
    y.sum().backward()
    assert x.grad is None and w.grad.shape == (2, 4)


def test_f_linear_errors():
    with pytest.raises(RuntimeError, match=r"input shape \(32, 100\) and weight shape \(10, 784\)"):
        F.linear(rg.zeros(32, 100), rg.zeros(10, 784))
    with pytest.raises(RuntimeError, match=r"bias of shape \(3,\)"):
        F.linear(rg.zeros(2, 4), rg.zeros(5, 4), rg.zeros(3))
    with pytest.raises(RuntimeError, match="float32.*float64"):
        F.linear(rg.zeros(2, 4), rg.zeros(5, 4, dtype=rg.float64))
    with pytest.raises(TypeError, match="must be Tensor"):
        F.linear(np.zeros((2, 4)), rg.zeros(5, 4))


# ---- Linear ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_layer_matches_torch(rng, dtype, bias):
    x = rng.standard_normal((3, 5, 7))
    compare_layer(nn.Linear(7, 4, bias=bias), torch.nn.Linear(7, 4, bias=bias), x, dtype=dtype)


def test_linear_default_init_statistics():
    lin = nn.Linear(1000, 400)
    bound = 1 / math.sqrt(1000)  # kaiming_uniform(a=sqrt(5)) gives U(-1/sqrt(in), 1/sqrt(in)); the bias too
    w, b = _to_numpy(lin.weight), _to_numpy(lin.bias)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.01) and abs(w.mean()) < 0.01 * bound
    assert np.abs(b).max() <= bound and b.std() == pytest.approx(bound / math.sqrt(3), rel=0.1)
    assert lin.weight.dtype is rg.float32 and lin.weight.requires_grad and lin.weight.is_leaf
    lin64 = nn.Linear(3, 2, dtype=rg.float64)
    assert lin64.weight.dtype is rg.float64 and lin64.bias.dtype is rg.float64


def test_linear_repr_state_dict_and_no_bias():
    assert repr(nn.Linear(3, 2)) == repr(torch.nn.Linear(3, 2))
    assert repr(nn.Linear(3, 2, bias=False)) == repr(torch.nn.Linear(3, 2, bias=False))
    lin = nn.Linear(3, 2, bias=False)
    assert lin.bias is None and list(lin.state_dict()) == ["weight"]
    assert [n for n, _ in lin.named_parameters()] == ["weight"]


def test_linear_wrong_input_names_the_layer():
    msg = r"Linear\(in_features=784, out_features=10, bias=True\): expected input with last dimension 784, " \
          r"got shape \(32, 100\)"
    with pytest.raises(RuntimeError, match=msg):
        nn.Linear(784, 10)(rg.zeros(32, 100))


def test_linear_trains_with_repeated_backward(rng):
    lin = nn.Linear(4, 1)
    x = rg.tensor(rng.standard_normal((16, 4)).astype(np.float32))
    y = rg.tensor(rng.standard_normal((16, 1)).astype(np.float32))
    losses = []
    for _ in range(50):
        loss = ((lin(x) - y) ** 2).mean()
        lin.zero_grad()
        loss.backward()
        with rg.no_grad():
            for p in lin.parameters():
                p -= 0.1 * p.grad
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


# ---- Bilinear, Flatten, Unflatten, Identity ---------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bilinear_matches_torch(rng, dtype):
    x1, x2 = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 5))
    compare_layer(nn.Bilinear(4, 5, 6), torch.nn.Bilinear(4, 5, 6), x1, x2, dtype=dtype)
    compare_layer(nn.Bilinear(4, 5, 6, bias=False), torch.nn.Bilinear(4, 5, 6, bias=False), x1, x2, dtype=dtype)
    assert repr(nn.Bilinear(4, 5, 6)) == repr(torch.nn.Bilinear(4, 5, 6))


def test_f_bilinear_gradcheck_and_errors(rng):
    check_gradcheck(lambda m, a, b, w, c: m.nn.functional.bilinear(a, b, w, c), rng.standard_normal((3, 2)),
                    rng.standard_normal((3, 4)), rng.standard_normal((5, 2, 4)), rng.standard_normal(5))
    with pytest.raises(RuntimeError, match=r"input1 of shape \(3, 2\) and input2 of shape \(3, 3\)"):
        F.bilinear(rg.zeros(3, 2), rg.zeros(3, 3), rg.zeros(5, 2, 4))


def test_bilinear_default_init():
    w = _to_numpy(nn.Bilinear(200, 30, 50).weight)
    bound = 1 / math.sqrt(200)
    assert np.abs(w).max() <= bound and w.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)


def test_flatten_unflatten_identity(rng):
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    for args in ((), (0, -1), (2, 3), (1, 2)):
        check_op(lambda m, x, args=args: m.nn.Flatten(*args)(x), x)
    check_op(lambda m, x: m.nn.Unflatten(1, (3, 1))(x), x)
    check_op(lambda m, x: m.nn.Sequential(m.nn.Flatten(), m.nn.Unflatten(1, (12, 5)))(x), x)
    check_op(lambda m, x: m.nn.Identity(54, unused="x")(x), x)
    for m in (rg, torch):
        assert repr(m.nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert repr(nn.Unflatten(1, (3, 4))) == repr(torch.nn.Unflatten(1, (3, 4)))
    with pytest.raises(TypeError, match="unflattened_size"):
        nn.Unflatten(1, 12)


# ---- dropout ------------------------------------------------------------------------------------------
def test_dropout_eval_is_identity_and_train_drops_about_p():
    d = nn.Dropout(0.3)
    x = rg.ones(200, 500)
    y = _to_numpy(d(x))
    zero = (y == 0).mean()
    assert zero == pytest.approx(0.3, abs=0.01)
    np.testing.assert_allclose(y[y != 0], 1 / 0.7, rtol=1e-6)
    d.eval()
    assert d(x) is x
    assert F.dropout(x, 0.5, training=False) is x


def test_dropout_gradient_is_mask_times_scale():
    x = rg.tensor(np.random.default_rng(0).standard_normal((50, 40)).astype(np.float32), requires_grad=True)
    y = F.dropout(x, p=0.4)
    y.backward(rg.ones(50, 40))
    kept = _to_numpy(y) != 0
    np.testing.assert_allclose(_to_numpy(x.grad), kept / 0.6, rtol=1e-6)
    np.testing.assert_allclose(_to_numpy(y), _to_numpy(x) * kept / 0.6, rtol=1e-6)
    assert x.grad.dtype is rg.float32


def test_dropout_reproducible_under_manual_seed_and_float64():
    rg.manual_seed(11)
    a = F.dropout(rg.ones(100, dtype=rg.float64))
    rg.manual_seed(11)
    b = F.dropout(rg.ones(100, dtype=rg.float64))
    np.testing.assert_array_equal(_to_numpy(a), _to_numpy(b))
    assert a.dtype is rg.float64


def test_dropout_edge_probabilities_and_errors():
    x = rg.ones(10, requires_grad=True)
    y = F.dropout(x, p=1.0)
    assert not _to_numpy(y).any()
    y.sum().backward()
    assert not _to_numpy(x.grad).any()
    assert F.dropout(x, p=0.0) is x
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        F.dropout(x, p=1.5)
    with pytest.raises(ValueError, match="between 0 and 1, but got -0.1"):
        nn.Dropout(-0.1)
    assert repr(nn.Dropout(0.2)) == repr(torch.nn.Dropout(0.2))
    assert repr(nn.Dropout2d(0.2, inplace=True)) == repr(torch.nn.Dropout2d(0.2, inplace=True))


def test_dropout_inplace():
    x = rg.ones(1000)
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x and (_to_numpy(x) == 0).any() and np.isin(_to_numpy(x), [0.0, 2.0]).all()


@pytest.mark.parametrize("layer,shape,lead", [(nn.Dropout1d, (4, 30, 7), 2), (nn.Dropout1d, (30, 7), 1),
                                              (nn.Dropout2d, (4, 30, 5, 6), 2), (nn.Dropout3d, (2, 30, 3, 4, 2), 2),
                                              (nn.Dropout3d, (30, 3, 4, 2), 1)])
def test_channel_dropout_zeroes_whole_channels(layer, shape, lead):
    y = _to_numpy(layer(0.5)(rg.ones(*shape)))
    per_channel = y.reshape(int(np.prod(shape[:lead])), -1)
    assert ((per_channel == 0).all(1) | (per_channel == 2).all(1)).all()
    assert 0.2 < (per_channel[:, 0] == 0).mean() < 0.8


def test_dropout2d_3d_input_warns_and_wrong_rank_raises():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        F.dropout2d(rg.ones(2, 3, 4))
    assert any("dropout2d" in str(x.message) for x in w)
    with pytest.raises(RuntimeError, match="Expected 2D or 3D input"):
        F.dropout1d(rg.ones(2, 3, 4, 5))


def test_alpha_dropout_keeps_selu_statistics():
    x = rg.randn(400, 500)
    y = _to_numpy(F.alpha_dropout(x, 0.2, training=True))
    assert abs(y.mean()) < 0.02 and y.std() == pytest.approx(1.0, abs=0.02)
    assert F.alpha_dropout(x, 0.2) is x  # training defaults to False, as in PyTorch
    xg = rg.randn(50, 8, requires_grad=True)
    out = F.alpha_dropout(xg, 0.5, training=True)
    out.sum().backward()
    kept = _to_numpy(xg.grad) != 0
    a = ((1 - 0.5) * (1 + 0.5 * 1.7580993408473766 ** 2)) ** -0.5
    np.testing.assert_allclose(_to_numpy(xg.grad)[kept], a, rtol=1e-6)
    y = _to_numpy(nn.FeatureAlphaDropout(0.5)(rg.randn(4, 6, 10)))
    assert y.shape == (4, 6, 10)


# ---- embedding and one_hot ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 2}, {"padding_idx": -1}, {"scale_grad_by_freq": True}])
def test_embedding_layer_matches_torch(dtype, kwargs):
    idx = np.array([[1, 2, 2, 9], [0, 9, 2, 1], [3, 3, 3, 3]], dtype=np.int64)
    r, t = nn.Embedding(10, 5, **kwargs), torch.nn.Embedding(10, 5, **kwargs)
    if dtype == np.float64:
        r.double()
        t.double()
    r.load_state_dict(t.state_dict())
    ro, to = r(rg.tensor(idx)), t(torch.tensor(idx))
    np.testing.assert_allclose(_to_numpy(ro), _to_numpy(to))
    up = np.random.default_rng(1).standard_normal(tuple(to.shape)).astype(dtype)
    ro.backward(rg.tensor(up))
    to.backward(torch.tensor(up))
    np.testing.assert_allclose(_to_numpy(r.weight.grad), _to_numpy(t.weight.grad), rtol=1e-6, atol=1e-7)
    assert r.weight.grad.dtype is r.weight.dtype
    assert repr(r) == repr(t)


def test_embedding_default_init_and_padding_row():
    e = nn.Embedding(1000, 200, padding_idx=3)
    w = _to_numpy(e.weight)
    assert not w[3].any()
    rest = np.delete(w, 3, axis=0)
    assert abs(rest.mean()) < 0.01 and rest.std() == pytest.approx(1.0, rel=0.01)


def test_f_embedding_check_op_and_double_backward(rng):
    idx = np.array([0, 3, 3, 1], dtype=np.int64)
    w = rng.standard_normal((4, 3)).astype(np.float32)
    check_op(lambda m, w: m.nn.functional.embedding(m.tensor(idx), w), w)
    check_op(lambda m, w: m.nn.functional.embedding(m.tensor(idx.reshape(2, 2)), w, padding_idx=3), w)
    check_double_backward(lambda m, w: m.nn.functional.embedding(m.tensor(idx), w) ** 2, w)
    check_gradcheck(lambda m, w: m.nn.functional.embedding(m.tensor(idx), w), w)


def test_embedding_max_norm_renormalises_rows_in_place():
    w = np.random.default_rng(2).standard_normal((6, 4)).astype(np.float32) * 3
    rw, tw = rg.tensor(w.copy()), torch.tensor(w.copy())
    idx = np.array([[0, 2], [2, 5]])
    ro = F.embedding(rg.tensor(idx), rw, max_norm=1.5)
    to = TF.embedding(torch.tensor(idx), tw, max_norm=1.5)
    np.testing.assert_allclose(_to_numpy(ro), _to_numpy(to), rtol=1e-5)
    np.testing.assert_allclose(_to_numpy(rw), _to_numpy(tw), rtol=1e-5)
    assert np.linalg.norm(_to_numpy(rw)[1]) == pytest.approx(np.linalg.norm(w[1]))  # rows not looked up stay


def test_embedding_from_pretrained():
    data = rg.tensor([[1.0, 2.0], [3.0, 4.0]])
    e = nn.Embedding.from_pretrained(data)
    assert not e.weight.requires_grad and e.weight._data is data._data
    np.testing.assert_array_equal(_to_numpy(e(rg.tensor([1, 0]))), [[3, 4], [1, 2]])
    e2 = nn.Embedding.from_pretrained(data, freeze=False, padding_idx=0)
    assert e2.weight.requires_grad and e2.padding_idx == 0 and _to_numpy(e2.weight[0]).tolist() == [1, 2]
    with pytest.raises(AssertionError, match="2-dimensional"):
        nn.Embedding.from_pretrained(rg.zeros(3))


def test_embedding_errors():
    w = rg.zeros(10, 3)
    with pytest.raises(IndexError, match="index 12 is out of range for num_embeddings=10"):
        F.embedding(rg.tensor([1, 12]), w)
    with pytest.raises(IndexError, match="index -1 is out of range"):
        F.embedding(rg.tensor([-1]), w)
    with pytest.raises(RuntimeError, match="int64 or int32, but got float32"):
        F.embedding(rg.tensor([1.0]), w)
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(5, 2, padding_idx=5)


def test_one_hot_matches_torch():
    idx = np.array([[0, 3], [2, 1]], dtype=np.int64)
    for n in (-1, 6):
        r, t = F.one_hot(rg.tensor(idx), n), TF.one_hot(torch.tensor(idx), n)
        assert r.dtype is rg.int64
        np.testing.assert_array_equal(_to_numpy(r), _to_numpy(t))
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(rg.tensor([3]), 3)
    with pytest.raises(RuntimeError, match="non-negative"):
        F.one_hot(rg.tensor([-1]))
    with pytest.raises(RuntimeError, match="LongTensor"):
        F.one_hot(rg.tensor([1.0]))
    with pytest.raises(RuntimeError, match="empty tensor"):
        F.one_hot(rg.zeros(0, dtype=rg.int64))
