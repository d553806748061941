"""RNN, LSTM, GRU and their cells against PyTorch, with PyTorch's state dicts loaded."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import _to_numpy, assert_close, check_double_backward, torch

import retrograd as rg
import retrograd.nn as nn

pytestmark = pytest.mark.on_devices

rng = np.random.default_rng(0)


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def _pair(cls: str, dtype=np.float32, **kw):
    t_layer = getattr(torch.nn, cls)(**kw)
    layer = getattr(nn, cls)(**kw)
    if dtype == np.float64:
        t_layer, layer = t_layer.double(), layer.double()
    layer.load_state_dict({k: v.detach().numpy() for k, v in t_layer.state_dict().items()})
    return layer, t_layer


def _states(cls: str, kw: dict, input_shape: tuple, dtype, cell: bool = False) -> list:
    """Random initial states with the shapes the layer expects ((h,) or (h, c))."""
    batched = len(input_shape) == (2 if cell else 3)
    lead = () if cell else ((2 if kw.get("bidirectional") else 1) * kw.get("num_layers", 1),)
    n = (input_shape[0] if cell or kw.get("batch_first") else input_shape[1],) if batched else ()
    h = kw.get("proj_size", 0) or kw["hidden_size"]
    shapes = [lead + n + (h,)] + ([lead + n + (kw["hidden_size"],)] if cls.startswith("LSTM") else [])
    return [randn(*s, dtype=dtype) for s in shapes]


def _compare(cls: str, kw: dict, input_shape: tuple, with_state: bool, dtype=np.float32, cell: bool = False):
    """Outputs, final states, and the gradients of the input, initial states and every parameter."""
    layer, t_layer = _pair(cls, dtype, **kw)
    x = randn(*input_shape, dtype=dtype)
    rx, tx = rg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    r_args, t_args = [rx], [tx]
    r_states = t_states = []
    if with_state:
        arrays = _states(cls, kw, input_shape, dtype, cell)
        r_states = [rg.tensor(a, requires_grad=True) for a in arrays]
        t_states = [torch.tensor(a, requires_grad=True) for a in arrays]
        lstm = cls.startswith("LSTM")
        r_args.append(tuple(r_states) if lstm else r_states[0])
        t_args.append(tuple(t_states) if lstm else t_states[0])
    r_res, t_res = layer(*r_args), t_layer(*t_args)
    if cell:
        r_outs = list(r_res) if isinstance(r_res, tuple) else [r_res]
        t_outs = list(t_res) if isinstance(t_res, tuple) else [t_res]
    else:
        r_outs = [r_res[0]] + (list(r_res[1]) if isinstance(r_res[1], tuple) else [r_res[1]])
        t_outs = [t_res[0]] + (list(t_res[1]) if isinstance(t_res[1], tuple) else [t_res[1]])
    for i, (r, t) in enumerate(zip(r_outs, t_outs)):
        assert str(r.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        assert_close(r, t, what=f"output {i}")
    ups = [randn(*t.shape, dtype=dtype) for t in t_outs]
    rg.autograd.backward(r_outs, [rg.tensor(u) for u in ups])
    torch.autograd.backward(t_outs, [torch.tensor(u) for u in ups])
    assert_close(rx.grad, tx.grad, what="grad of input")
    for i, (r, t) in enumerate(zip(r_states, t_states)):
        assert_close(r.grad, t.grad, what=f"grad of initial state {i}")
    t_params = dict(t_layer.named_parameters())
    for name, p in layer.named_parameters():
        assert p.grad is not None and p.grad.dtype is p.dtype, name
        assert_close(p.grad, t_params[name].grad, what=f"grad of {name}")


CONFIGS = [
    ({}, (6, 3, 5)),
    ({"num_layers": 2}, (6, 3, 5)),
    ({"bidirectional": True}, (6, 3, 5)),
    ({"num_layers": 2, "bidirectional": True, "batch_first": True}, (3, 6, 5)),
    ({"bias": False}, (4, 2, 5)),
    ({"num_layers": 2}, (6, 5)),  # unbatched
]


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("config,shape", CONFIGS)
@pytest.mark.parametrize("with_state", [False, True])
def test_layers_match_torch(cls, config, shape, with_state):
    _compare(cls, dict(input_size=5, hidden_size=7, **config), shape, with_state)


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_layers_float64(cls):
    _compare(cls, dict(input_size=5, hidden_size=7, num_layers=2, bidirectional=True), (6, 3, 5), True, np.float64)


@pytest.mark.parametrize("with_state", [False, True])
def test_relu_rnn(with_state):
    _compare("RNN", dict(input_size=5, hidden_size=7, num_layers=2, nonlinearity="relu"), (6, 3, 5), with_state)


@pytest.mark.parametrize("config", [{}, {"num_layers": 2, "bidirectional": True}])
def test_lstm_proj_size(config):
    _compare("LSTM", dict(input_size=5, hidden_size=7, proj_size=3, **config), (6, 3, 5), True)


@pytest.mark.parametrize("cls,kw", [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}),
                                    ("GRUCell", {}), ("GRUCell", {"bias": False}), ("LSTMCell", {"bias": False})])
@pytest.mark.parametrize("shape", [(3, 5), (5,)])
@pytest.mark.parametrize("with_state", [False, True])
def test_cells_match_torch(cls, kw, shape, with_state):
    _compare(cls, dict(input_size=5, hidden_size=7, **kw), shape, with_state, cell=True)


@pytest.mark.parametrize("cls", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_float64(cls):
    _compare(cls, dict(input_size=5, hidden_size=7), (3, 5), True, np.float64, cell=True)


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
def test_gradcheck(cls):
    layer = getattr(nn, cls)(3, 4, num_layers=2, bidirectional=True).double()
    x = rg.tensor(randn(4, 2, 3, dtype=np.float64), requires_grad=True)
    h = rg.tensor(randn(4, 2, 4, dtype=np.float64), requires_grad=True)

    def fn(x, h):
        out, state = layer(x, (h, h * 0.5) if cls == "LSTM" else h)
        return out
    assert rg.autograd.gradcheck(fn, (x, h), eps=1e-6, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("cls", ["LSTMCell", "GRUCell"])
def test_cells_double_backward(cls):
    layers = {}

    def fn(m, x, h, c):
        if m not in layers:
            t_layer = getattr(torch.nn, cls)(4, 3).double()
            layers[torch] = t_layer
            layers[rg] = getattr(nn, cls)(4, 3).double()
            layers[rg].load_state_dict({k: v.detach().numpy() for k, v in t_layer.state_dict().items()})
        if cls == "LSTMCell":
            h2, c2 = layers[m](x, (h, c))
            return m.cat([h2, c2], 1)
        return layers[m](x, h) * c
    check_double_backward(fn, randn(2, 4), randn(2, 3), randn(2, 3))


@pytest.mark.parametrize("cls,kw", [
    ("RNN", {}), ("LSTM", {"num_layers": 2, "bidirectional": True, "proj_size": 2}),
    ("GRU", {"bias": False, "num_layers": 2}), ("RNNCell", {}), ("LSTMCell", {"bias": False}), ("GRUCell", {}),
])
def test_state_dict_keys_and_repr(cls, kw):
    layer, t_layer = getattr(nn, cls)(3, 4, **kw), getattr(torch.nn, cls)(3, 4, **kw)
    assert list(layer.state_dict()) == list(t_layer.state_dict())
    assert [tuple(p.shape) for p in layer.parameters()] == [tuple(p.shape) for p in t_layer.parameters()]
    assert repr(layer) == repr(t_layer)


def test_init_is_uniform_over_one_over_sqrt_hidden():
    layer = nn.LSTM(100, 256)
    bound = 1 / 16
    for name, p in layer.named_parameters():
        a = _to_numpy(p)
        assert np.abs(a).max() <= bound, name
        assert abs(a.std() - bound / np.sqrt(3)) < 0.05 * bound, name
    assert layer.weight_ih_l0.dtype is rg.float32


def test_inter_layer_dropout_train_and_eval():
    # dropout=1 zeroes the second layer's input in training: deterministic, so torch gives the same numbers
    x = randn(5, 2, 3)
    for train in (True, False):
        layer, t_layer = _pair("GRU", input_size=3, hidden_size=4, num_layers=2, dropout=1.0)
        layer.train(train)
        t_layer.train(train)
        out, h = layer(rg.tensor(x))
        t_out, t_h = t_layer(torch.tensor(x))
        assert_close(out, t_out)
        assert_close(h, t_h)


def test_all_weights():
    layer = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    assert len(layer.all_weights) == 4 and layer.all_weights[1][0] is layer.weight_ih_l0_reverse


def test_layer_errors():
    layer = nn.LSTM(10, 20, 2)
    with pytest.raises(RuntimeError, match=r"LSTM\(10, 20, num_layers=2\): input.size\(-1\) must be equal to "
                                           r"input_size. Expected 10, got 7 \(input of shape \(5, 3, 7\)\)"):
        layer(rg.zeros(5, 3, 7))
    with pytest.raises(ValueError, match="LSTM: Expected input to be 2D or 3D, got 4D instead"):
        layer(rg.zeros(5, 3, 3, 10))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(2, 3, 20\), got \[2, 2, 20\]"):
        layer(rg.zeros(5, 3, 10), (rg.zeros(2, 2, 20), rg.zeros(2, 3, 20)))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[1\] size \(2, 3, 20\), got \[2, 3, 21\]"):
        layer(rg.zeros(5, 3, 10), (rg.zeros(2, 3, 20), rg.zeros(2, 3, 21)))
    with pytest.raises(RuntimeError, match="For unbatched 2-D input, hx and cx should also be 2-D"):
        layer(rg.zeros(5, 10), (rg.zeros(2, 3, 20), rg.zeros(2, 3, 20)))
    with pytest.raises(RuntimeError, match=r"GRU: Expected hidden size \(1, 3, 20\), got \[1, 2, 20\]"):
        nn.GRU(10, 20)(rg.zeros(5, 3, 10), rg.zeros(1, 2, 20))
    with pytest.raises(RuntimeError, match="For batched 3-D input, hx should also be 3-D but got 2-D tensor"):
        nn.RNN(10, 20)(rg.zeros(5, 3, 10), rg.zeros(3, 20))
    with pytest.raises(ValueError, match=r"input dtype \(retrograd.float64\) does not match weight dtype"):
        nn.GRU(10, 20)(rg.zeros(5, 3, 10, dtype=rg.float64))


def test_constructor_errors():
    with pytest.raises(ValueError, match="Unknown nonlinearity 'foo'"):
        nn.RNN(10, 20, nonlinearity="foo")
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        nn.LSTM(10, 20, dropout=2)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.GRU(10, 20, dropout=0.5)
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        nn.RNN(10, 0)
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(10, 20, proj_size=20)
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
        nn.RNNBase("GRU", 10, 20, proj_size=2)


def test_cell_errors():
    cell = nn.LSTMCell(10, 20)
    with pytest.raises(RuntimeError, match=r"LSTMCell\(10, 20\): input has inconsistent input_size: got 7 expected "
                                           r"10 \(input of shape \(3, 7\)\)"):
        cell(rg.zeros(3, 7))
    with pytest.raises(ValueError, match="LSTMCell: Expected input to be 1D or 2D, got 3D instead"):
        cell(rg.zeros(3, 3, 10))
    with pytest.raises(RuntimeError, match="Input batch size 3 doesn't match hidden0 batch size 2"):
        cell(rg.zeros(3, 10), (rg.zeros(2, 20), rg.zeros(3, 20)))
    with pytest.raises(RuntimeError, match="hidden0 has inconsistent hidden_size: got 21, expected 20"):
        nn.GRUCell(10, 20)(rg.zeros(3, 10), rg.zeros(3, 21))
    with pytest.raises(RuntimeError, match="expected hidden0 to be a 2-D Tensor"):
        nn.RNNCell(10, 20)(rg.zeros(3, 10), rg.zeros(20))
