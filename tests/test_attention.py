"""F.scaled_dot_product_attention and nn.MultiheadAttention against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import _to_numpy, assert_close, check_double_backward, check_gradcheck, check_op, torch

import retrograd as rg
import retrograd.nn as nn
import retrograd.nn.functional as F

pytestmark = pytest.mark.on_devices

rng = np.random.default_rng(0)


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def sdpa(m, q, k, v, mask=None, **kw):
    fn = m.nn.functional.scaled_dot_product_attention
    return fn(q, k, v, attn_mask=mask, **kw)


# ---- scaled_dot_product_attention ---------------------------------------------------------------
@pytest.mark.parametrize("shapes,kw", [
    (((2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 5)), {}),
    (((2, 3, 6, 8), (2, 3, 6, 8), (2, 3, 6, 8)), {"is_causal": True}),
    (((2, 7, 8), (2, 5, 8), (2, 5, 5)), {"is_causal": True}),  # L > S: top-left aligned
    (((2, 3, 8), (2, 5, 8), (2, 5, 5)), {"is_causal": True}),  # L < S
    (((2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 5)), {"scale": 0.3}),
    (((5, 8), (6, 8), (6, 4)), {}),  # no batch dims
    (((2, 2, 2, 4, 8), (2, 2, 2, 6, 8), (2, 2, 2, 6, 5)), {}),  # extra batch dims
    (((1, 3, 4, 8), (2, 1, 6, 8), (2, 1, 6, 5)), {}),  # broadcast batch dims
])
def test_sdpa_matches_torch(shapes, kw):
    check_op(lambda m, q, k, v: sdpa(m, q, k, v, **kw), *[randn(*s) for s in shapes])


def test_sdpa_bool_mask():
    mask = rng.random((4, 6)) > 0.4
    mask[:, 0] = True
    check_op(lambda m, q, k, v, a: sdpa(m, q, k, v, a), randn(2, 3, 4, 8), randn(2, 3, 6, 8), randn(2, 3, 6, 5), mask)


def test_sdpa_float_mask_with_its_gradient():
    check_op(lambda m, q, k, v, a: sdpa(m, q, k, v, a), randn(2, 3, 4, 8), randn(2, 3, 6, 8), randn(2, 3, 6, 5),
             randn(3, 4, 6))


def test_sdpa_fully_masked_rows_give_zeros_like_torch():
    mask = rng.random((2, 1, 5, 6)) > 0.3
    mask[0, 0, 1] = False
    mask[1, 0, 3] = False
    out = check_op(lambda m, q, k, v, a: sdpa(m, q, k, v, a), randn(2, 3, 5, 8), randn(2, 3, 6, 8),
                   randn(2, 3, 6, 5), mask)[0]
    assert not np.any(_to_numpy(out)[0, :, 1])
    float_mask = np.where(mask, 0.0, -np.inf).astype(np.float32)
    check_op(lambda m, q, k, v, a: sdpa(m, q, k, v, a), randn(2, 3, 5, 8), randn(2, 3, 6, 8), randn(2, 3, 6, 5),
             float_mask, grad=False)


def test_sdpa_gqa():
    check_op(lambda m, q, k, v: sdpa(m, q, k, v, enable_gqa=True), randn(2, 4, 3, 8), randn(2, 2, 5, 8),
             randn(2, 2, 5, 6))


def test_sdpa_float64_and_dtype():
    out = check_op(lambda m, q, k, v: sdpa(m, q, k, v, is_causal=True), randn(2, 4, 8, dtype=np.float64),
                   randn(2, 4, 8, dtype=np.float64), randn(2, 4, 3, dtype=np.float64))[0]
    assert out.dtype is rg.float64


@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"scale": 0.7}])
def test_sdpa_gradcheck(kw):
    check_gradcheck(lambda m, q, k, v: sdpa(m, q, k, v, **kw), randn(2, 3, 4), randn(2, 3, 4), randn(2, 3, 2))


def test_sdpa_gradcheck_float_mask():
    check_gradcheck(lambda m, q, k, v, a: sdpa(m, q, k, v, a), randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 2),
                    randn(3, 5))


@pytest.mark.parametrize("kw", [{}, {"is_causal": True}])
def test_sdpa_double_backward(kw):
    check_double_backward(lambda m, q, k, v: sdpa(m, q, k, v, **kw), randn(2, 3, 4), randn(2, 3, 4), randn(2, 3, 2))


def test_sdpa_double_backward_float_mask():
    check_double_backward(lambda m, q, k, v, a: sdpa(m, q, k, v, a), randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 2),
                          randn(3, 5))


def test_sdpa_dropout_zeroes_or_rescales_probabilities():
    q, k = rg.tensor(randn(4, 6, 8)), rg.tensor(randn(4, 10, 8))
    eye = rg.tensor(np.broadcast_to(np.eye(10, dtype=np.float32), (4, 10, 10)).copy())
    p = _to_numpy(F.scaled_dot_product_attention(q, k, eye))  # with V = I the output is the probabilities
    dropped = _to_numpy(F.scaled_dot_product_attention(q, k, eye, dropout_p=0.25))
    kept = dropped != 0
    np.testing.assert_allclose(dropped[kept], p[kept] / 0.75, rtol=1e-5)
    assert 0.6 < kept.mean() < 0.9


def test_sdpa_dropout_gradcheck_with_fixed_seed():
    def fn(m, q, k, v):
        rg.manual_seed(3)
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)
    rs = [rg.tensor(randn(2, 4, 3, dtype=np.float64), requires_grad=True) for _ in range(3)]
    assert rg.autograd.gradcheck(lambda *xs: fn(rg, *xs), rs, eps=1e-6, atol=1e-5, rtol=1e-3)


def test_sdpa_skips_unneeded_gradients():
    q = rg.tensor(randn(2, 3, 4), requires_grad=True)
    k, v = rg.tensor(randn(2, 5, 4)), rg.tensor(randn(2, 5, 2))
    F.scaled_dot_product_attention(q, k, v).sum().backward()
    assert q.grad is not None and q.grad.dtype is rg.float32 and k.grad is None and v.grad is None


@pytest.mark.parametrize("args,kw,exc,match", [
    (((3, 8), (5, 8), (5,)), {}, RuntimeError, "at least 2 dimensional"),
    (((2, 3, 8), (2, 5, 7), (2, 5, 4)), {}, RuntimeError, "last dim of query"),
    (((2, 3, 8), (2, 5, 8), (2, 4, 4)), {}, RuntimeError, "same sequence length"),
    (((2, 3, 8), (2, 5, 8), (2, 5, 4)), {"dropout_p": 1.5}, RuntimeError, "dropout probability"),
    (((2, 3, 8), (3, 5, 8), (3, 5, 4)), {}, RuntimeError, "batch dims do not broadcast"),
    (((1, 4, 3, 8), (1, 3, 5, 8), (1, 3, 5, 4)), {"enable_gqa": True}, RuntimeError, "must divide"),
])
def test_sdpa_errors(args, kw, exc, match):
    q, k, v = (rg.tensor(randn(*s)) for s in args)
    with pytest.raises(exc, match=match):
        F.scaled_dot_product_attention(q, k, v, **kw)


def test_sdpa_mask_errors():
    q, k, v = rg.tensor(randn(2, 3, 8)), rg.tensor(randn(2, 5, 8)), rg.tensor(randn(2, 5, 4))
    with pytest.raises(RuntimeError, match="same dtype"):
        F.scaled_dot_product_attention(q, k.double(), v)
    with pytest.raises(RuntimeError, match="attn_mask dtype"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=rg.ones(3, 5, dtype=rg.int64))
    with pytest.raises(RuntimeError, match="should not be set when is_causal"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=rg.ones(3, 5, dtype=rg.bool), is_causal=True)
    with pytest.raises(RuntimeError, match=r"attn_mask of shape \(4, 5\) does not broadcast"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=rg.ones(4, 5, dtype=rg.bool))


# ---- MultiheadAttention ---------------------------------------------------------------------------------
def _mha_pair(dtype=np.float32, **kw):
    t_layer = torch.nn.MultiheadAttention(**kw)
    layer = nn.MultiheadAttention(**kw)
    if dtype == np.float64:
        t_layer, layer = t_layer.double(), layer.double()
    layer.load_state_dict({k: v.detach().numpy() for k, v in t_layer.state_dict().items()})
    return layer, t_layer


def _compare_mha(kw, shapes, dtype=np.float32, masks=None, self_attention=False, rtol=1e-5, atol=1e-6, **call):
    """Outputs, weights, input and parameter gradients of MultiheadAttention(**kw) vs torch's."""
    layer, t_layer = _mha_pair(dtype, **kw)
    arrays = [randn(*s, dtype=dtype) for s in shapes]
    rs = [rg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    if self_attention:
        rs, ts = rs * 3, ts * 3
    masks = masks or {}
    r_out, r_w = layer(*rs, **{k: rg.tensor(v) for k, v in masks.items()}, **call)
    t_out, t_w = t_layer(*ts, **{k: torch.tensor(v) for k, v in masks.items()}, **call)
    assert_close(r_out, t_out, rtol, atol, "output")
    outs, t_outs = [r_out], [t_out]
    if t_w is None:
        assert r_w is None
    else:
        assert_close(r_w, t_w, rtol, atol, "attention weights")
        outs.append(r_w)
        t_outs.append(t_w)
    ups = [randn(*t.shape, dtype=dtype) for t in t_outs]
    rg.autograd.backward(outs, [rg.tensor(u) for u in ups])
    torch.autograd.backward(t_outs, [torch.tensor(u) for u in ups])
    for i, (r, t) in enumerate(zip(rs, ts)):
        assert_close(r.grad, t.grad, rtol, atol, f"grad of input {i}")
    t_params = dict(t_layer.named_parameters())
    for name, p in layer.named_parameters():
        assert p.grad.dtype is p.dtype
        # parameter grads sum over batch and sequence: float32 summation order differs by ~1e-6
        assert_close(p.grad, t_params[name].grad, rtol, max(atol, 1e-5 if dtype == np.float32 else atol),
                     f"grad of {name}")
    return r_out, r_w


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mha_self_attention(dtype):
    _compare_mha(dict(embed_dim=8, num_heads=2), [(5, 3, 8)], dtype, self_attention=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mha_batch_first_cross_attention(dtype):
    _compare_mha(dict(embed_dim=8, num_heads=2, batch_first=True), [(3, 5, 8), (3, 6, 8), (3, 6, 8)], dtype)


def test_mha_shared_key_value():
    layer, t_layer = _mha_pair(embed_dim=8, num_heads=4)
    q, kv = randn(5, 2, 8), randn(6, 2, 8)
    r_out, _ = layer(rg.tensor(q), rg.tensor(kv), rg.tensor(kv))
    t_out, _ = t_layer(torch.tensor(q), torch.tensor(kv), torch.tensor(kv))
    assert_close(r_out, t_out)


def test_mha_kdim_vdim_padding_mask_per_head_weights():
    kpm = rng.random((3, 6)) > 0.7
    kpm[:, 0] = False
    _, w = _compare_mha(dict(embed_dim=8, num_heads=2, kdim=3, vdim=5), [(5, 3, 8), (6, 3, 3), (6, 3, 5)],
                        masks={"key_padding_mask": kpm}, average_attn_weights=False)
    assert tuple(w.shape) == (3, 2, 5, 6)


def test_mha_float_attn_mask_need_weights_false():
    _compare_mha(dict(embed_dim=8, num_heads=2), [(5, 3, 8), (6, 3, 8), (6, 3, 8)],
                 masks={"attn_mask": randn(5, 6)}, need_weights=False)


def test_mha_3d_bool_mask_with_padding_mask_bias_kv_zero_attn():
    _compare_mha(dict(embed_dim=8, num_heads=2, add_bias_kv=True, add_zero_attn=True),
                 [(5, 3, 8), (6, 3, 8), (6, 3, 8)],
                 masks={"attn_mask": rng.random((6, 5, 6)) > 0.8, "key_padding_mask": rng.random((3, 6)) > 0.8})


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_unbatched_causal_no_bias(need_weights):
    causal = np.triu(np.ones((5, 5), bool), 1)
    _compare_mha(dict(embed_dim=8, num_heads=4, bias=False), [(5, 8)], self_attention=True,
                 masks={"attn_mask": causal}, is_causal=True, need_weights=need_weights)


def test_mha_fully_masked_query_gives_nan_weights_like_torch():
    layer, t_layer = _mha_pair(embed_dim=8, num_heads=2, batch_first=True)
    x = randn(2, 3, 8)
    kpm = np.array([[False, False, True], [True, True, True]])
    r_out, r_w = layer(rg.tensor(x), rg.tensor(x), rg.tensor(x), key_padding_mask=rg.tensor(kpm))
    t_out, t_w = t_layer(torch.tensor(x), torch.tensor(x), torch.tensor(x), key_padding_mask=torch.tensor(kpm))
    np.testing.assert_allclose(_to_numpy(r_out), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_to_numpy(r_w), t_w.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert np.isnan(_to_numpy(r_w)[1]).all()


def test_mha_state_dict_keys_and_repr():
    for kw in [dict(embed_dim=8, num_heads=2), dict(embed_dim=8, num_heads=2, kdim=3, vdim=5, add_bias_kv=True),
               dict(embed_dim=8, num_heads=2, bias=False)]:
        assert list(nn.MultiheadAttention(**kw).state_dict()) == list(torch.nn.MultiheadAttention(**kw).state_dict())
    assert repr(nn.MultiheadAttention(8, 2)) == repr(torch.nn.MultiheadAttention(8, 2))


def test_mha_init():
    layer = nn.MultiheadAttention(256, 8, add_bias_kv=True)
    w = _to_numpy(layer.in_proj_weight)
    bound = np.sqrt(6.0 / (256 + 3 * 256))  # xavier: fan_in 256, fan_out 768
    assert np.abs(w).max() <= bound and abs(w.std() - bound / np.sqrt(3)) < 0.03 * bound
    assert not np.any(_to_numpy(layer.in_proj_bias)) and not np.any(_to_numpy(layer.out_proj.bias))
    out_w = _to_numpy(layer.out_proj.weight)
    assert np.abs(out_w).max() <= 1 / 16 and abs(out_w.std() - 1 / 16 / np.sqrt(3)) < 0.03 / 16
    std = np.sqrt(2.0 / 512)  # xavier-normal of a (1, 1, 256) tensor: fan_in = fan_out = 256
    assert abs(_to_numpy(layer.bias_k).std() - std) < 0.25 * std


def test_mha_dropout_train_and_eval():
    layer, t_layer = _mha_pair(embed_dim=8, num_heads=2, dropout=0.5)
    x = randn(6, 4, 8)
    layer.eval()
    t_layer.eval()
    r_out, _ = layer(rg.tensor(x), rg.tensor(x), rg.tensor(x))
    with torch.no_grad():
        t_out, _ = t_layer(torch.tensor(x), torch.tensor(x), torch.tensor(x))
    assert_close(r_out, t_out)
    layer.train()
    train_out, _ = layer(rg.tensor(x), rg.tensor(x), rg.tensor(x))
    assert not np.allclose(_to_numpy(train_out), _to_numpy(r_out))


def test_mha_errors():
    with pytest.raises(AssertionError, match="divisible by num_heads"):
        nn.MultiheadAttention(10, 3)
    layer = nn.MultiheadAttention(8, 2)
    x = rg.tensor(randn(5, 3, 8))
    with pytest.raises(AssertionError, match=r"expected query with last dimension 8, got shape \(5, 3, 7\)"):
        layer(rg.tensor(randn(5, 3, 7)), x, x)
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        layer(x, x, x, is_causal=True)
    with pytest.raises(AssertionError, match=r"key_padding_mask shape of \(3, 5\)"):
        layer(x, x, x, key_padding_mask=rg.zeros(3, 4, dtype=rg.bool))
    with pytest.raises(RuntimeError, match=r"attn_mask of shape \(4, 5\) should be"):
        layer(x, x, x, attn_mask=rg.zeros(4, 5, dtype=rg.bool))
    with pytest.raises(AssertionError, match="unbatched 2D or batched 3D"):
        layer(rg.tensor(randn(1, 5, 3, 8)), rg.tensor(randn(1, 5, 3, 8)), rg.tensor(randn(1, 5, 3, 8)))
