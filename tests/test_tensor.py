"""Tensors: factories, attributes, conversions, devices, DLPack."""
import copy
import pickle

import numpy as np
import pytest
from helpers import assert_close, torch

import retrograd as rg


@pytest.mark.parametrize("name, args", [
    ("zeros", (2, 3)), ("ones", ((2, 3),)), ("empty", (4,)), ("full", ((2, 2), 7.0)), ("arange", (5,)),
    ("arange", (1, 4, 0.5)), ("linspace", (0, 1, 5)), ("eye", (3,)), ("eye", (2, 3)),
])
def test_factories_match_pytorch(name, args):
    r, t = getattr(rg, name)(*args), getattr(torch, name)(*args)
    assert tuple(r.shape) == tuple(t.shape)
    assert r.dtype.name == str(t.dtype).split(".")[1]
    if name != "empty":
        assert_close(r, t)


@pytest.mark.parametrize("name", ["zeros", "ones", "rand", "randn"])
def test_factory_keywords(name):
    x = getattr(rg, name)(2, 3, dtype=rg.float64, device="cpu", requires_grad=True)
    assert x.dtype is rg.float64 and x.device == rg.device("cpu") and x.requires_grad and x.is_leaf


@pytest.mark.parametrize("fn", ["zeros_like", "ones_like", "rand_like", "randn_like"])
def test_like_factories_keep_shape_and_dtype(fn):
    base = rg.ones(3, 2, dtype=rg.float64)
    x = getattr(rg, fn)(base)
    assert x.shape == (3, 2) and x.dtype is rg.float64
    assert rg.full_like(base, 3.0).numpy().tolist() == [[3.0, 3.0]] * 3


def test_tensor_infers_dtypes_like_pytorch():
    assert rg.tensor(1.5).dtype is rg.float32
    assert rg.tensor([1, 2]).dtype is rg.int64
    assert rg.tensor([True, False]).dtype is rg.bool
    assert rg.tensor([1, 2.5]).dtype is rg.float32
    assert rg.tensor(np.zeros(2)).dtype is rg.float64
    assert rg.tensor([rg.tensor(1.0), rg.tensor(2.0)]).shape == (2,)
    assert rg.arange(3).dtype is rg.int64 and rg.arange(3.0).dtype is rg.float32


def test_tensor_copies_while_from_numpy_and_as_tensor_share():
    a = np.zeros(3, dtype=np.float32)
    t, f, s = rg.tensor(a), rg.from_numpy(a), rg.as_tensor(a)
    a[0] = 5
    assert f.numpy()[0] == 5 and s.numpy()[0] == 5 and t.numpy()[0] == 0


def test_attributes_and_conversions():
    x = rg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.shape == (2, 3) and x.size() == rg.Size([2, 3]) and x.size(1) == 3 and x.size(-1) == 3
    assert x.dim() == x.ndim == 2 and x.numel() == 6 and x.shape.numel() == 6
    assert x.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert rg.tensor(2.5).item() == 2.5 and float(rg.tensor([3.0])) == 3.0 and int(rg.tensor(4)) == 4
    assert x.double().dtype is rg.float64 and x.long().dtype is rg.int64 and x.int().dtype is rg.int32
    assert x.half().dtype is rg.float16 and x.bool().dtype is rg.bool and x.float() is x
    assert x.to(rg.float64).dtype is rg.float64 and x.to("cpu") is x and x.cpu() is x
    assert x.to(rg.zeros(1, dtype=rg.float64)).dtype is rg.float64
    assert x.is_contiguous() and x.stride() == (3, 1) and x.element_size() == 4
    assert len(x) == 2 and x.is_floating_point()
    with pytest.raises(IndexError, match=r"size: Dimension out of range \(expected to be in range of \[-2, 1\]"):
        x.size(2)


def test_item_and_bool_errors():
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted to Scalar"):
        rg.ones(2).item()
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with 2 values is ambiguous"):
        bool(rg.ones(2))
    assert bool(rg.tensor([1.0])) and not bool(rg.tensor(0.0))


def test_bfloat16_storage():
    x = rg.tensor([1.0, 2.5, -3.0]).to(rg.bfloat16)
    assert x.dtype is rg.bfloat16 and x.float().tolist() == [1.0, 2.5, -3.0]


def test_default_dtype_can_change():
    rg.set_default_dtype(rg.float64)
    assert rg.get_default_dtype() is rg.float64
    assert rg.zeros(1).dtype is rg.float64 and rg.tensor(1.0).dtype is rg.float64
    rg.set_default_dtype(rg.float32)
    with pytest.raises(TypeError, match="only floating dtypes"):
        rg.set_default_dtype(rg.int64)


def test_dtype_aliases():
    assert rg.float is rg.float32 and rg.double is rg.float64 and rg.half is rg.float16
    assert rg.long is rg.int64 and rg.int is rg.int32
    assert repr(rg.float32) == "retrograd.float32"


def test_repr():
    assert repr(rg.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "requires_grad=True" in repr(rg.ones(1, requires_grad=True))
    assert "grad_fn=<MulBackward>" in repr(rg.ones(1, requires_grad=True) * 2)
    assert "dtype=retrograd.float64" in repr(rg.ones(1, dtype=rg.float64))


def test_dlpack_exchange_with_pytorch_shares_memory():
    x = rg.arange(4.0)
    t = torch.from_dlpack(x)
    t[0] = 7.0
    assert x.tolist()[0] == 7.0
    back = rg.from_dlpack(torch.ones(3))
    assert back.shape == (3,) and back.dtype is rg.float32


def test_numpy_scalars_and_arrays_on_the_left_defer_to_tensor():
    x = rg.ones(2)
    y = np.float32(2.0) * x
    assert isinstance(y, rg.Tensor) and y.tolist() == [2.0, 2.0]


def test_pickle_and_deepcopy_keep_values_and_requires_grad():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    for y in (pickle.loads(pickle.dumps(x)), copy.deepcopy(x)):
        assert y.tolist() == [1.0, 2.0] and y.requires_grad and y is not x
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(x * 2)


def test_bad_device_string():
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda device type"):
        rg.device("tpu")


def test_data_is_a_detached_alias():
    x = rg.ones(3, requires_grad=True)
    d = x.data
    assert not d.requires_grad
    d.mul_(2)
    assert x.detach().tolist() == [2.0, 2.0, 2.0]


def test_legacy_tensor_constructor():
    assert rg.Tensor(2, 3).shape == (2, 3)
    assert rg.Tensor([1, 2]).dtype is rg.float32


def test_comparison_with_none_and_augmented_assignment_in_place():
    x = rg.tensor([5, 7])
    assert (x == None) is False and (x != None) is True  # noqa: E711 - the point of the test
    ident = id(x)
    x %= 4
    x //= 2
    x **= 2
    x |= rg.tensor([4, 0])
    assert id(x) == ident and x.tolist() == [4, 1]


def test_tensor_from_a_pytorch_tensor_copies_values_and_dtype():
    t = torch.arange(3.0, requires_grad=True)
    r = rg.tensor(t)
    assert r.dtype is rg.float32 and r.tolist() == [0.0, 1.0, 2.0]
    assert rg.tensor(torch.ones(2, dtype=torch.float64)).dtype is rg.float64


@pytest.mark.parametrize("data", [[np.float64(1)], [np.int32(1)], [np.float16(1), np.float16(2)],
                                  [np.float32(1), 2.5], [1, np.int32(2)], [True, 2], [], [[1.5, 2], [3, 4]]])
def test_dtype_inference_of_mixed_python_and_numpy_values_matches_pytorch(data):
    assert rg.tensor(data).dtype.name == str(torch.tensor(data).dtype).split(".")[1]
