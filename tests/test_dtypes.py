"""dtypes: PyTorch's promotion table over tensors, 0-dim tensors and Python scalars; defaults; bfloat16."""
import numpy as np
import pytest

import retrograd as rg
from tests.helpers import check_op, torch

DTYPES = ["bool", "uint8", "int32", "int64", "float16", "float32", "float64"]
# an operand: (dtype name, kind) where kind is "dim" (shape (2,)), "0dim", or a Python scalar
OPERANDS = [(d, k) for d in DTYPES for k in ("dim", "0dim")] + [("py", True), ("py", 2), ("py", 2.5)]


def _make(m, operand):
    name, kind = operand
    if name == "py":
        return kind
    d = getattr(m, name)
    return m.ones(2, dtype=d) if kind == "dim" else m.ones((), dtype=d)


def _ident(operand):
    name, kind = operand
    return f"{name}-{kind}"


OPS = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "lt": lambda a, b: a < b,
    "eq": lambda a, b: a == b,
    "maximum": None,  # tensors only, below
}


@pytest.mark.parametrize("op", ["add", "mul", "div", "lt", "eq"])
@pytest.mark.parametrize("left", OPERANDS, ids=_ident)
def test_promotion_table_matches_pytorch(op, left):
    fn = OPS[op]
    for right in OPERANDS:
        if left[0] == "py" and right[0] == "py":
            continue
        r = fn(_make(rg, left), _make(rg, right))
        t = fn(_make(torch, left), _make(torch, right))
        assert r.dtype.name == str(t.dtype).split(".")[-1], f"{op}({_ident(left)}, {_ident(right)})"
        assert tuple(r.shape) == tuple(t.shape)
        np.testing.assert_array_equal(np.asarray(r.tolist()), np.asarray(t.tolist()))


@pytest.mark.parametrize("left", [o for o in OPERANDS if o[0] != "py"], ids=_ident)
def test_result_type_of_tensor_ops_matches_pytorch(left):
    for right in OPERANDS:
        if right[0] == "py" or {left[0], right[0]} & {"bool"}:
            continue
        ra, rb = _make(rg, left), _make(rg, right)
        ta, tb = _make(torch, left), _make(torch, right)
        expected = str(torch.result_type(ta, tb)).split(".")[-1]
        for r in (rg.maximum(ra, rb), rg.where(ra > 0, ra, rb), rg.sub(ra, rb), rg.clamp(ra, min=rb)):
            assert r.dtype.name == expected
        assert rg.clamp(ra, min=rb).dtype.name == str(torch.clamp(ta, min=tb).dtype).split(".")[-1]


@pytest.mark.parametrize("scalar", [True, 3, 2.5])
@pytest.mark.parametrize("dtype", DTYPES)
def test_scalar_on_either_side_matches_pytorch(dtype, scalar):
    for m_fn in (lambda a, s: s - a, lambda a, s: s / a, lambda a, s: a ** s, lambda a, s: s ** a,
                 lambda a, s: a % s, lambda a, s: a // s, lambda a, s: a - s):
        ra, ta = rg.ones(2, dtype=getattr(rg, dtype)) * 2, torch.ones(2, dtype=getattr(torch, dtype)) * 2
        try:
            t = m_fn(ta, scalar)
        except RuntimeError:
            with pytest.raises(RuntimeError):
                m_fn(ra, scalar)
            continue
        r = m_fn(ra, scalar)
        assert r.dtype.name == str(t.dtype).split(".")[-1]
        np.testing.assert_allclose(np.asarray(r.float().tolist()), np.asarray(t.float().tolist()), rtol=1e-3)


def test_float32_is_the_default():
    assert rg.get_default_dtype() is rg.float32
    assert rg.tensor(1.5).dtype is rg.float32 and rg.tensor([1.0, 2.0]).dtype is rg.float32
    assert rg.tensor([1, 2]).dtype is rg.int64 and rg.tensor(3).dtype is rg.int64
    assert rg.tensor([True]).dtype is rg.bool and rg.tensor(False).dtype is rg.bool
    assert rg.tensor([1, 2.5]).dtype is rg.float32 and rg.tensor([True, 2]).dtype is rg.int64
    for t in (rg.zeros(2), rg.ones(2), rg.rand(2), rg.randn(2), rg.empty(2), rg.full((2,), 1.5), rg.linspace(0, 1, 3)):
        assert t.dtype is rg.float32
    assert (rg.tensor([1, 2]) / rg.tensor([2, 2])).dtype is rg.float32
    assert (rg.tensor([1, 2]) * 2.5).dtype is rg.float32
    assert (rg.tensor([1.0]) + rg.tensor(1.0, dtype=rg.float64)).dtype is rg.float32


def test_set_default_dtype_float64():
    prev = torch.get_default_dtype()
    try:
        rg.set_default_dtype(rg.float64)
        torch.set_default_dtype(torch.float64)
        assert rg.get_default_dtype() is rg.float64
        for m in (rg, torch):
            assert m.tensor(1.5).dtype is m.float64 and m.zeros(2).dtype is m.float64 and m.rand(2).dtype is m.float64
            assert m.tensor([1, 2]).dtype is m.int64
            assert (m.tensor([1, 2]) * 2.5).dtype is m.float64
            assert (m.tensor([1, 2]) / m.tensor([2, 2])).dtype is m.float64
            assert m.exp(m.tensor([1])).dtype is m.float64
            assert (m.ones(2, dtype=m.float32) + 2.5).dtype is m.float32
        check_op(lambda m, x: (x * 2.5, x / 2, m.where(x > 1, 1, 0.5)), np.array([1, 2]))
    finally:
        torch.set_default_dtype(prev)
    rg.set_default_dtype(rg.float32)
    assert rg.tensor(1.5).dtype is rg.float32
    with pytest.raises(TypeError):
        rg.set_default_dtype(rg.int64)


@pytest.mark.parametrize("make", [
    lambda: rg.tensor([1, 2], requires_grad=True),
    lambda: rg.tensor([True], requires_grad=True),
    lambda: rg.zeros(2, dtype=rg.int64, requires_grad=True),
    lambda: rg.tensor([1, 2]).requires_grad_(),
])
def test_integer_tensors_cannot_require_grad(make):
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
        make()


def test_integer_results_of_differentiable_inputs_do_not_require_grad():
    x = rg.tensor([1.5, -2.5], requires_grad=True)
    for out in (x > 0, x.long(), x.int(), x.bool(), rg.isnan(x)):
        assert not out.requires_grad and out.grad_fn is None


def test_bfloat16_storage_and_casts_match_pytorch():
    vals = np.array([1.1, -2.3, 3.14159, 1e-3, 65504.0, 1e30], np.float32)
    r, t = rg.tensor(vals).bfloat16(), torch.tensor(vals).bfloat16()
    assert r.dtype is rg.bfloat16 and r.is_floating_point() and r.element_size() == 2
    np.testing.assert_array_equal(np.asarray(r.float().tolist()), t.float().numpy())
    assert rg.tensor([1.5, 2.25], dtype=rg.bfloat16).to(rg.float64).tolist() == [1.5, 2.25]
    assert rg.zeros(2, dtype=rg.bfloat16).dtype is rg.bfloat16
    assert (r + rg.ones(6, dtype=rg.float16)).dtype is rg.float32  # bfloat16 with float16 gives float32
    assert (r * 2).dtype is rg.bfloat16 and (r + rg.ones(6)).dtype is rg.float32
    x = rg.tensor(vals[:3], requires_grad=True)
    (x.bfloat16().float() * 2).sum().backward()
    assert x.grad.dtype is rg.float32 and x.grad.tolist() == [2.0, 2.0, 2.0]


def test_float16_arithmetic_matches_pytorch():
    a = np.array([0.1, 1.5, -2.0, 300.0], np.float16)
    check_op(lambda m, x: (x + 1, x * 2.5, x / 3, x.float(), m.exp(x / 100)), a, rtol=1e-3, atol=1e-3)
