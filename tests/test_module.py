"""Module, Parameter and the containers against torch.nn: registration, state_dict, hooks, conversions, repr."""
import copy
import pickle
import re
from collections import OrderedDict

import numpy as np
import pytest
from helpers import _to_numpy, torch

import retrograd as rg
from retrograd import nn

pytestmark = pytest.mark.on_devices


def _numpy_state(module):
    return {k: _to_numpy(v) for k, v in module.state_dict().items()}


class PickleNet(nn.Module):
    """Module-level (picklable) model."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.2), nn.Linear(4, 2))
        self.register_buffer("offset", rg.arange(2.0))

    def forward(self, x):
        return self.body(x) + self.offset


# ---- a nested model built the same way on both libraries -------------------------------------
def make_net(m):
    class Block(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = m.nn.Linear(4, 4)
            self.register_buffer("scale", m.ones(4))
            self.register_buffer("scratch", m.zeros(4), persistent=False)

        def forward(self, x):
            return self.fc(x) * self.scale

    class Net(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = m.nn.Linear(3, 4, bias=False)
            self.blocks = m.nn.ModuleList([Block(), Block()])
            self.head = m.nn.Sequential(m.nn.Linear(4, 8), m.nn.Dropout(0.1), m.nn.Linear(8, 2))
            self.table = m.nn.ModuleDict({"a": m.nn.Linear(2, 2), "b": m.nn.Identity()})
            self.temperature = m.nn.Parameter(m.ones(()))

        def forward(self, x):
            x = self.embed(x)
            for b in self.blocks:
                x = b(x)
            return self.table["a"](self.head(x)) * self.temperature

    return Net()


def test_state_dict_keys_and_order_match_torch():
    r, t = make_net(rg), make_net(torch)
    assert list(r.state_dict()) == list(t.state_dict())
    assert [n for n, _ in r.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in r.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in r.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in r.named_children()] == [n for n, _ in t.named_children()]
    assert isinstance(r.state_dict(), OrderedDict)


def test_state_dict_values_are_detached_and_share_storage():
    r = make_net(rg)
    sd = r.state_dict()
    w = sd["embed.weight"]
    assert not w.requires_grad and type(w) is rg.Tensor
    with rg.no_grad():
        r.embed.weight.fill_(3.0)
    assert np.all(_to_numpy(w) == 3.0)
    kept = r.state_dict(keep_vars=True)["embed.weight"]
    assert kept is r.embed.weight


def test_load_torch_state_dict_gives_torch_outputs_and_grads():
    r, t = make_net(rg), make_net(torch)
    r.load_state_dict(t.state_dict())  # torch tensors directly, through DLPack
    r.eval()
    t.eval()
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    ry, ty = r(rg.tensor(x)), t(torch.tensor(x))
    np.testing.assert_allclose(_to_numpy(ry), _to_numpy(ty), rtol=1e-5, atol=1e-6)
    ry.sum().backward()
    ty.sum().backward()
    for (name, rp), (_, tp) in zip(r.named_parameters(), t.named_parameters()):
        np.testing.assert_allclose(_to_numpy(rp.grad), _to_numpy(tp.grad), rtol=1e-5, atol=1e-6, err_msg=name)


def test_load_state_dict_numpy_copies_in_place_with_cast():
    r = make_net(rg)
    w = r.embed.weight
    src = np.arange(12, dtype=np.float64).reshape(4, 3)
    state = _numpy_state(r)
    state["embed.weight"] = src
    result = r.load_state_dict(state)
    assert r.embed.weight is w and w.dtype is rg.float32 and w.requires_grad
    assert all(t.device == rg.get_default_device() for t in r.state_dict().values())
    np.testing.assert_array_equal(_to_numpy(w), src.astype(np.float32))
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    np.testing.assert_array_equal(_to_numpy(r.state_dict()["embed.weight"]), src)


def test_load_state_dict_strict_errors_list_every_key():
    r = make_net(rg)
    state = _numpy_state(r)
    del state["head.0.bias"], state["blocks.1.scale"]
    state["head.5.weight"] = np.zeros(3, np.float32)
    state["extra"] = np.zeros(1, np.float32)
    state["embed.weight"] = np.zeros((2, 2), np.float32)
    with pytest.raises(RuntimeError) as e:
        r.load_state_dict(state)
    msg = str(e.value)
    assert msg.startswith("Error(s) in loading state_dict for Net:")
    assert 'Missing key(s) in state_dict: "blocks.1.scale", "head.0.bias".' in msg
    assert 'Unexpected key(s) in state_dict: "extra", "head.5.weight".' in msg
    assert "size mismatch for embed.weight: copying a param with shape" in msg
    assert "[2, 2]" in msg and "[4, 3]" in msg
    # torch words it the same way
    t = make_net(torch)
    with pytest.raises(RuntimeError) as te:
        t.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    assert str(te.value).replace("torch", "retrograd") == msg


def test_load_state_dict_non_strict_returns_keys_but_still_checks_shapes():
    r = make_net(rg)
    state = _numpy_state(r)
    del state["temperature"]
    state["bogus"] = np.zeros(1, np.float32)
    missing, unexpected = r.load_state_dict(state, strict=False)
    assert missing == ["temperature"] and unexpected == ["bogus"]
    state["embed.weight"] = np.zeros((1, 1), np.float32)
    with pytest.raises(RuntimeError, match="size mismatch for embed.weight"):
        r.load_state_dict(state, strict=False)
    with pytest.raises(TypeError, match="dict-like"):
        r.load_state_dict([1, 2])


def test_load_state_dict_assign_replaces_parameters():
    lin = nn.Linear(2, 3)
    old = lin.weight
    w = rg.ones(3, 2)
    lin.load_state_dict({"weight": w, "bias": rg.zeros(3)}, assign=True)
    assert lin.weight is not old and isinstance(lin.weight, nn.Parameter) and lin.weight.requires_grad
    np.testing.assert_array_equal(_to_numpy(lin.weight), np.ones((3, 2), np.float32))
    # arrays and torch tensors (on the host) land on the module's device, cast to the parameter's dtype
    t_lin = torch.nn.Linear(2, 3)
    lin.load_state_dict({"weight": np.full((3, 2), 2.0), "bias": t_lin.bias.detach()}, assign=True)
    for p in lin.parameters():
        assert isinstance(p, nn.Parameter) and p.device == rg.get_default_device() and p.dtype is rg.float32
    np.testing.assert_array_equal(_to_numpy(lin.weight), np.full((3, 2), 2.0, np.float32))
    np.testing.assert_array_equal(_to_numpy(lin.bias), _to_numpy(t_lin.bias))


def test_parameters_dedupe_shared_weights():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(3, 3)
            self.b = nn.Linear(3, 3)
            self.b.weight = self.a.weight
            self.again = self.a

    m = Tied()
    assert [n for n, _ in m.named_parameters()] == ["a.weight", "a.bias", "b.bias"]
    assert len(list(m.parameters())) == 3
    assert [n for n, _ in m.named_modules()] == ["", "a", "b"]
    assert len(list(m.named_parameters(remove_duplicate=False))) == 6
    assert list(m.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias", "again.weight", "again.bias"]
    assert [n for n, _ in m.named_parameters(recurse=False)] == []
    assert [n for n, _ in m.named_parameters(prefix="net")][0] == "net.a.weight"


def test_setattr_registration_rules():
    m = nn.Module()
    m.p = nn.Parameter(rg.zeros(2))
    assert "p" in m._parameters and "p" not in m.__dict__
    with pytest.raises(TypeError, match="cannot assign 'retrograd.FloatTensor' as parameter 'p'"):
        m.p = rg.zeros(2)
    m.p = None
    assert m.p is None and list(m.parameters()) == []
    m.register_buffer("buf", rg.zeros(1))
    with pytest.raises(TypeError, match="cannot assign 'int' as buffer 'buf'"):
        m.buf = 3
    m.buf = rg.ones(1)
    assert m._buffers["buf"].item() == 1.0
    m.child = nn.Linear(1, 1)
    with pytest.raises(TypeError, match="as child module 'child'"):
        m.child = 5
    m.plain = 3
    assert m.plain == 3 and "plain" in m.__dict__
    m.plain = nn.Parameter(rg.zeros(1))  # a parameter replaces the plain attribute
    assert "plain" not in m.__dict__ and "plain" in m._parameters
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'nothing'"):
        getattr(m, "nothing")  # noqa: B009 - the attribute access is what is tested
    del m.child, m.buf, m.plain
    assert "child" not in m._modules and "buf" not in m._buffers and "plain" not in m._parameters


def test_registration_errors_match_torch():
    m = nn.Module()
    with pytest.raises(KeyError, match="contain \".\", got: a.b"):
        m.register_buffer("a.b", rg.zeros(1))
    with pytest.raises(KeyError, match="empty string"):
        m.register_parameter("", None)
    with pytest.raises(TypeError, match="should be a string"):
        m.add_module(3, nn.Identity())
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("x", 3)
    with pytest.raises(TypeError, match=r"cannot assign 'retrograd.FloatTensor' object to parameter 'w'"):
        m.register_parameter("w", rg.zeros(1))
    with pytest.raises(TypeError, match="object to buffer"):
        m.register_buffer("b", [1.0])
    m.attr = 1
    with pytest.raises(KeyError, match="attribute 'attr' already exists"):
        m.register_buffer("attr", rg.zeros(1))

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(rg.zeros(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()
    with pytest.raises(TypeError, match="unexpected arguments"):
        nn.Module(3)


def test_forward_not_implemented():
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required "forward" function'):
        nn.Module()(rg.zeros(1))


def test_get_submodule_parameter_buffer():
    r = make_net(rg)
    assert r.get_submodule("blocks.1.fc") is r.blocks[1].fc
    assert r.get_submodule("") is r
    assert r.get_parameter("head.2.bias") is r.head[2].bias
    assert r.get_buffer("blocks.0.scale") is r.blocks[0].scale
    with pytest.raises(AttributeError, match="has no attribute `nope`"):
        r.get_submodule("head.nope")
    with pytest.raises(AttributeError, match="is not an nn.Module"):
        r.get_submodule("temperature.x")
    with pytest.raises(AttributeError, match="is not an nn.Parameter"):
        r.get_parameter("blocks.0.scale")


def test_train_eval_propagate():
    r = make_net(rg)
    assert r.training and r.head[1].training
    assert r.eval() is r
    assert not any(m.training for m in r.modules())
    r.train()
    assert all(m.training for m in r.modules())
    with pytest.raises(ValueError, match="boolean"):
        r.train("yes")
    r.head.eval()
    assert r.training and not r.head[1].training


def test_dropout_inside_model_depends_on_mode():
    d = nn.Sequential(nn.Dropout(0.5))
    x = rg.ones(1000)
    assert (_to_numpy(d(x)) == 0).mean() > 0.3
    d.eval()
    assert d(x) is x


def test_requires_grad_and_zero_grad():
    r = make_net(rg)
    r(rg.ones(2, 3)).sum().backward()
    assert all(p.grad is not None for p in r.parameters())
    r.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not _to_numpy(p.grad).any() for p in r.parameters())
    r.zero_grad()
    assert all(p.grad is None for p in r.parameters())
    r.requires_grad_(False)
    assert not any(p.requires_grad for p in r.parameters())
    assert not r(rg.ones(2, 3)).requires_grad


def test_to_float64_converts_parameters_and_buffers_in_place():
    r = make_net(rg)
    params = list(r.parameters())
    r(rg.ones(2, 3)).sum().backward()
    out = r.to(rg.float64)
    assert out is r
    assert [id(p) for p in r.parameters()] == [id(p) for p in params]  # identity kept (optimizers still work)
    assert all(p.dtype is rg.float64 and p.grad.dtype is rg.float64 for p in r.parameters())
    assert all(b.dtype is rg.float64 for b in r.buffers())
    assert r(rg.ones(2, 3, dtype=rg.float64)).dtype is rg.float64
    r.float()
    assert all(p.dtype is rg.float32 for p in r.parameters())
    if not rg.cuda.is_standin():  # the array API standard (so the stand-in) has no float16; CuPy has it
        r.half()
        assert r.embed.weight.dtype is rg.float16
    r.to(dtype=rg.float64).to("cpu")
    assert r.embed.weight.dtype is rg.float64
    r.to(rg.zeros(1, dtype=rg.float32))
    assert r.embed.weight.dtype is rg.float32
    r.double().cpu()
    assert r.embed.weight.dtype is rg.float64
    r.to("cpu", rg.float32, True)  # non_blocking given positionally
    assert r.embed.weight.dtype is rg.float32
    with pytest.raises(TypeError, match="floating point"):
        r.to(rg.int64)


def test_to_keeps_integer_buffers():
    m = nn.Module()
    m.register_buffer("count", rg.tensor(3))
    m.w = nn.Parameter(rg.zeros(2))
    m.double()
    assert m.count.dtype is rg.int64 and m.w.dtype is rg.float64
    m.type(rg.float32)
    assert m.count.dtype is rg.float32


def test_apply_visits_children_first():
    r = make_net(rg)
    seen = []
    r.apply(lambda m: seen.append(type(m).__name__))
    t = make_net(torch)
    seen_t = []
    t.apply(lambda m: seen_t.append(type(m).__name__))
    assert seen == seen_t

    def init_zero(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)

    r.apply(init_zero)
    assert not _to_numpy(r.blocks[1].fc.weight).any()


def test_repr_matches_torch():
    r, t = make_net(rg), make_net(torch)
    assert repr(r) == repr(t)
    seq = [m.nn.Sequential(m.nn.Linear(2, 2), m.nn.ModuleList([m.nn.Linear(2, 2)] * 3 + [m.nn.Identity()]),
                           m.nn.Flatten(), m.nn.Dropout(0.25), m.nn.Embedding(5, 2, padding_idx=1))
           for m in (rg, torch)]
    assert repr(seq[0]) == repr(seq[1])
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList())


def test_parameter_repr_pickle_deepcopy(on_device):
    data = rg.tensor([1.0, 2.0])
    p = nn.Parameter(data)
    assert p._data is data._data and p.is_leaf and p.requires_grad
    device = "" if on_device == "cpu" else "device='cuda:0', "  # as PyTorch prints a GPU tensor
    assert repr(p) == f"Parameter containing:\ntensor([1., 2.], {device}requires_grad=True)"
    t_repr = repr(torch.nn.Parameter(torch.tensor([1.0, 2.0])))
    assert repr(p) == t_repr.replace("requires_grad", device + "requires_grad")
    for q in (copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
        assert type(q) is nn.Parameter and q.requires_grad and q._data is not p._data
        np.testing.assert_array_equal(_to_numpy(q), [1.0, 2.0])
    frozen = nn.Parameter(rg.zeros(1), requires_grad=False)
    assert not copy.deepcopy(frozen).requires_grad
    assert type(p * 2) is rg.Tensor
    assert nn.Parameter().shape == (0,)
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(rg.tensor([1, 2]))


def test_deepcopy_and_pickle_model():
    r = make_net(rg)
    r.tied = r.blocks[0]
    c = copy.deepcopy(r)
    assert c.tied is c.blocks[0] and c.blocks[0] is not r.blocks[0]
    for (n, a), (_, b) in zip(r.state_dict().items(), c.state_dict().items()):
        assert a._data is not b._data
        np.testing.assert_array_equal(_to_numpy(a), _to_numpy(b), err_msg=n)
    assert isinstance(c.temperature, nn.Parameter)
    x = rg.ones(2, 3)
    r.eval()
    c.eval()
    np.testing.assert_array_equal(_to_numpy(r(x)), _to_numpy(c(x)))

    m = PickleNet().eval()
    p = pickle.loads(pickle.dumps(m))
    assert isinstance(p.body[0].weight, nn.Parameter) and not p.training
    np.testing.assert_array_equal(_to_numpy(p(x)), _to_numpy(m(x)))
    assert list(p.state_dict()) == list(m.state_dict())


def test_dir_lists_registered_names():
    r = make_net(rg)
    d = dir(r)
    assert {"embed", "blocks", "temperature", "forward", "training"} <= set(d)
    assert "0" not in dir(r.head)


# ---- hooks -------------------------------------------------------------------------------------
def test_forward_hooks_fire_and_can_modify():
    lin = nn.Linear(2, 2)
    calls = []

    def pre(m, args):
        calls.append("pre")
        return args[0] * 0

    def post(m, args, out):
        calls.append("post")
        assert _to_numpy(args[0]).sum() == 0
        return out + 1

    h1 = lin.register_forward_pre_hook(pre)
    h2 = lin.register_forward_hook(post)
    y = lin(rg.ones(3, 2))
    assert calls == ["pre", "post"]
    np.testing.assert_allclose(_to_numpy(y), np.broadcast_to(_to_numpy(lin.bias) + 1, (3, 2)))
    h1.remove()
    h2.remove()
    lin(rg.ones(1, 2))
    assert calls == ["pre", "post"]


def test_hooks_with_kwargs_and_prepend_and_context_manager():
    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    m = Scale()
    order = []
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"factor": 3.0}), with_kwargs=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: order.append(("kw", kwargs["factor"])), with_kwargs=True)
    m.register_forward_hook(lambda mod, args, out: order.append("first"), prepend=True)
    assert m(rg.ones(1)).item() == 3.0
    assert order == ["first", ("kw", 3.0)]
    with m.register_forward_hook(lambda mod, args, out: out * 10):
        assert m(rg.ones(1)).item() == 30.0
    assert m(rg.ones(1)).item() == 3.0


def test_full_backward_hook_sees_and_replaces_grads():
    torch.manual_seed(0)
    lin = nn.Linear(3, 2)
    t_lin = torch.nn.Linear(3, 2)
    lin.load_state_dict(t_lin.state_dict())
    seen = {}

    def hook(store):
        def fn(m, grad_input, grad_output):
            store["in"] = [None if g is None else _to_numpy(g).copy() for g in grad_input]
            store["out"] = [_to_numpy(g).copy() for g in grad_output]
            return (grad_input[0] * 2,)
        return fn

    seen_t = {}
    lin.register_full_backward_hook(hook(seen))
    t_lin.register_full_backward_hook(hook(seen_t))
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    rx, tx = rg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (lin(rx) ** 2).sum().backward()
    (t_lin(tx) ** 2).sum().backward()  # float32 sums near zero: an absolute tolerance too
    np.testing.assert_allclose(seen["in"][0], seen_t["in"][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(seen["out"][0], seen_t["out"][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_to_numpy(rx.grad), _to_numpy(tx.grad), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_to_numpy(lin.weight.grad), _to_numpy(t_lin.weight.grad), rtol=1e-5, atol=1e-6)


def test_full_backward_hook_without_input_grad_and_pre_hook():
    lin = nn.Linear(3, 2)
    got = []
    lin.register_full_backward_pre_hook(lambda m, go: (go[0] * 0,))
    lin.register_full_backward_hook(lambda m, gi, go: got.append((gi, go)))
    with pytest.warns(UserWarning, match="no inputs require gradients"):
        lin(rg.ones(2, 3)).sum().backward()
    (gi, go), = got
    assert gi == (None,) and not _to_numpy(go[0]).any()
    assert not _to_numpy(lin.weight.grad).any()


# ---- containers --------------------------------------------------------------------------------
def test_sequential_indexing_and_mutation():
    a, b, c = nn.Linear(1, 1), nn.Identity(), nn.Linear(1, 1)
    s = nn.Sequential(a, b, c)
    assert s[0] is a and s[-1] is c and len(s) == 3 and list(s) == [a, b, c]
    sl = s[1:]
    assert isinstance(sl, nn.Sequential) and list(sl) == [b, c] and list(sl._modules) == ["1", "2"]
    with pytest.raises(IndexError, match="index 3 is out of range"):
        s[3]
    d = nn.Linear(1, 1)
    s[1] = d
    assert s[1] is d
    del s[0]
    assert list(s._modules) == ["0", "1"] and s[0] is d
    s.append(a)
    s.insert(0, b)
    assert list(s) == [b, d, c, a] and list(s._modules) == ["0", "1", "2", "3"]
    s.extend([nn.Identity()])
    assert len(s) == 5
    assert s.pop(0) is b and len(s) == 4
    del s[1:3]
    assert list(s._modules) == ["0", "1"]
    named = nn.Sequential(OrderedDict([("first", a), ("second", c)]))
    assert named.first is a and list(named.state_dict()) == ["first.weight", "first.bias", "second.weight",
                                                             "second.bias"]
    assert len(nn.Sequential(a) + nn.Sequential(c)) == 2


def test_sequential_forward_matches_composition():
    s = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    x = rg.ones(5, 3)
    np.testing.assert_allclose(_to_numpy(s(x)), _to_numpy(s[1](s[0](x))))


def test_module_list_and_dict():
    layers = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)])
    assert len(layers) == 3 and layers[-1] is layers[2]
    layers.append(nn.Identity())
    layers.insert(1, nn.Identity())
    layers += [nn.Identity()]
    assert len(layers) == 6 and isinstance(layers[1], nn.Identity)
    assert [k for k, _ in layers.named_children()] == [str(i) for i in range(6)]
    del layers[0]
    assert isinstance(layers[0], nn.Identity) and list(layers._modules) == [str(i) for i in range(5)]
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    with pytest.raises(TypeError, match="iterable"):
        layers.extend(3)
    with pytest.raises(NotImplementedError, match="forward"):
        layers(rg.ones(1))
    md = nn.ModuleDict({"b": nn.Linear(1, 1), "a": nn.Identity()})
    assert list(md.keys()) == ["b", "a"] and "a" in md and len(md) == 2
    md["c"] = nn.Linear(2, 2)
    md.update([("d", nn.Identity())])
    assert list(md) == ["b", "a", "c", "d"]
    assert isinstance(md.pop("a"), nn.Identity) and "a" not in md
    assert list(md.state_dict()) == ["b.weight", "b.bias", "c.weight", "c.bias"]
    with pytest.raises(ValueError, match="has length 1; 2 is required"):
        md.update([("x",)])
    md.clear()
    assert len(md) == 0


def _as_on(torch_repr: str, on_device: str) -> str:
    """The repr of torch's CPU parameter containers as it reads for parameters on `on_device`
    (PyTorch adds the device, ' (cuda:0)', after the size of a GPU tensor)."""
    torch_repr = torch_repr.replace("torch", "retrograd")
    return torch_repr if on_device == "cpu" else re.sub(r"(of size [0-9x]*)\]", r"\1 (cuda:0)]", torch_repr)


def test_parameter_list_and_dict(on_device):
    pl = nn.ParameterList([rg.zeros(2), nn.Parameter(rg.ones(3))])
    assert all(isinstance(p, nn.Parameter) for p in pl) and len(pl) == 2
    pl.append(rg.zeros(1, 2))
    assert [n for n, _ in pl.named_parameters()] == ["0", "1", "2"]
    assert len(list(pl.parameters())) == 3
    t_pl = torch.nn.ParameterList([torch.zeros(2), torch.nn.Parameter(torch.ones(3)), torch.zeros(1, 2)])
    assert repr(pl) == _as_on(repr(t_pl), on_device)
    pd = nn.ParameterDict({"b": rg.zeros(2), "a": rg.ones(1)})
    t_pd = torch.nn.ParameterDict({"b": torch.zeros(2), "a": torch.ones(1)})
    assert list(pd.keys()) == list(t_pd.keys())
    assert list(pd.state_dict()) == list(t_pd.state_dict())
    assert repr(pd) == _as_on(repr(t_pd), on_device)
    pd["c"] = nn.Parameter(rg.zeros(1))
    assert "c" in pd and pd.get("zz") is None and len(pd) == 3
    assert pd.pop("c").shape == (1,)
    with pytest.raises(TypeError, match="not a string"):
        pd[1] = rg.zeros(1)
    m = nn.Module()
    m.plist = pl
    assert [n for n, _ in m.named_parameters()] == ["plist.0", "plist.1", "plist.2"]


def test_full_backward_hook_gets_grads_for_every_tensor_input_like_torch():
    shapes = []
    for m in (rg, torch):
        layer = m.nn.Bilinear(2, 3, 4)
        got = []
        layer.register_full_backward_hook(lambda mod, gi, go, got=got: got.append([None if g is None else
                                                                                 tuple(g.shape) for g in gi]))
        x2 = m.ones(5, 3)
        layer(m.ones(5, 2, requires_grad=True), x2).sum().backward()
        assert x2.grad is None
        shapes.append(got)
    assert shapes[0] == shapes[1] == [[(5, 2), (5, 3)]]
