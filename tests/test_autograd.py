"""The autograd engine's semantics, each with its own test, errors included."""
import numpy as np
import pytest
from helpers import torch

import retrograd as rg
from retrograd.autograd import Function
from retrograd.utils.checkpoint import checkpoint

pytestmark = pytest.mark.on_devices


def leaf(values, dtype=rg.float32):
    return rg.tensor(values, dtype=dtype, requires_grad=True)


# ---- the backward pass ------------------------------------------------------------------
def test_gradients_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), [6.0, 6.0])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), [3.0, 3.0])


def test_a_tensor_used_on_several_paths_gets_the_sum():
    x = leaf([2.0])
    y = x * x + x.exp() * x  # x reaches y along four edges
    y.sum().backward()
    expected = 2 * 2.0 + np.exp(2.0) * (1 + 2.0)
    np.testing.assert_allclose(x.grad.cpu().numpy(), [expected], rtol=1e-6)


def test_broadcast_gradients_are_reduced_to_the_input_shape():
    a = leaf(np.ones((3, 1)))
    b = leaf(np.ones((4,)))
    c = leaf(2.0)
    (a * b * c).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,) and c.grad.shape == ()
    np.testing.assert_allclose(a.grad.cpu().numpy(), np.full((3, 1), 8.0))
    np.testing.assert_allclose(b.grad.cpu().numpy(), np.full((4,), 6.0))
    np.testing.assert_allclose(c.grad.cpu().numpy(), 12.0)


@pytest.mark.parametrize("dtype", [rg.float32, rg.float64])
def test_gradient_keeps_the_tensor_dtype(dtype):
    x = leaf([0.5, 1.5], dtype)
    ((x * 2.5 + 1).exp() / 3 - x.sigmoid() * 0.1).sum().backward()
    assert x.grad.dtype is dtype


def test_the_root_gradient_is_one_or_the_given_gradient():
    x = leaf([1.0, 2.0])
    y = x * 2
    with pytest.raises(RuntimeError, match=r"only for scalar outputs.*shape \(2,\)"):
        y.backward()
    y.backward(rg.tensor([1.0, 10.0]))
    np.testing.assert_allclose(x.grad.cpu().numpy(), [2.0, 20.0])
    with pytest.raises(RuntimeError, match=r"mismatch in shape.*\(3,\).*\(2,\)"):
        (x * 2).backward(rg.ones(3))


def test_backward_on_a_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        rg.ones(2).sum().backward()


def test_a_ten_thousand_op_chain_does_not_hit_the_recursion_limit():
    x = leaf([1.0], rg.float64)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), [1.0001 ** 10_000], rtol=1e-9)


def test_a_leaf_can_be_the_root():
    x = leaf(3.0)
    x.backward()
    assert x.grad.item() == 1.0


# ---- freeing the graph ------------------------------------------------------------------
def test_a_second_backward_over_a_freed_graph_raises():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


@pytest.mark.parametrize("op", [lambda x: rg.nn.functional.max_pool2d(x.reshape(1, 1, 2, 2), 2),
                                lambda x: rg.nn.functional.layer_norm(x, (4,)) * x,
                                lambda x: x.sum()], ids=["max_pool2d", "layer_norm", "sum"])
def test_a_second_backward_raises_for_nodes_that_keep_arrays_on_themselves(op):
    """Nodes whose backward reads arrays they stored in forward (not saved tensors) raise the same error."""
    y = op(leaf([1.0, 4.0, 2.0, 3.0])).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.cpu().numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), 2 * first)


def test_saved_tensors_are_released_after_backward():
    x = leaf(np.ones(1000))
    y = x.exp()
    node = y.grad_fn
    assert node._out is not None
    y.sum().backward()
    assert node._out is None


# ---- double backward ------------------------------------------------------------------
def test_create_graph_gives_second_derivatives():
    x = leaf([0.5, 2.0], rg.float64)
    y = (x * x * x).sum()
    (g,) = rg.autograd.grad(y, x, create_graph=True)
    assert g.requires_grad
    np.testing.assert_allclose(g.detach().cpu().numpy(), 3 * x.detach().cpu().numpy() ** 2)
    g.sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), 6 * x.detach().cpu().numpy())


def test_backward_with_create_graph_leaves_a_differentiable_grad():
    x = leaf([1.5], rg.float64)
    (x.sin() * x).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (gg,) = rg.autograd.grad(x.grad.sum(), x)
    x0 = 1.5
    np.testing.assert_allclose(gg.cpu().numpy(), [2 * np.cos(x0) - x0 * np.sin(x0)])


def test_first_order_backward_records_nothing():
    x = leaf([1.0, 2.0])
    (x.exp() * x).sum().backward()
    assert x.grad.grad_fn is None and not x.grad.requires_grad


# ---- autograd.grad --------------------------------------------------------------------
def test_autograd_grad_returns_gradients_without_touching_dot_grad():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    h = x * w
    gx, gh = rg.autograd.grad((h * h).sum(), [x, h])
    np.testing.assert_allclose(gx.cpu().numpy(), 2 * np.array([3.0, 8.0]) * np.array([3.0, 4.0]))
    np.testing.assert_allclose(gh.cpu().numpy(), 2 * np.array([3.0, 8.0]))
    assert x.grad is None and w.grad is None


def test_autograd_grad_unused_inputs():
    x, z = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="not have been used in the graph"):
        rg.autograd.grad((x * 2).sum(), [x, z])
    gx, gz = rg.autograd.grad((x * 2).sum(), [x, z], allow_unused=True)
    assert gz is None and gx.item() == 2.0


def test_autograd_grad_with_grad_outputs():
    x = leaf([1.0, 2.0])
    (g,) = rg.autograd.grad(x * 3, x, grad_outputs=rg.tensor([1.0, -1.0]))
    np.testing.assert_allclose(g.cpu().numpy(), [3.0, -3.0])


def test_backward_inputs_accumulates_only_into_those():
    x, w = leaf([1.0]), leaf([2.0])
    (x * w).sum().backward(inputs=[w])
    assert x.grad is None and w.grad.item() == 1.0


# ---- a leaf's first gradient: taken or copied --------------------------------------------
def test_a_leaf_takes_a_linear_gradient_without_a_copy(monkeypatch):
    """Linear's weight and bias gradients are new arrays nothing else holds: `.grad` keeps them, as PyTorch's
    AccumulateGrad takes a gradient it alone holds."""
    from retrograd import array_extras

    copies = []
    real = array_extras.copy
    monkeypatch.setattr(array_extras, "copy", lambda a: copies.append(a) or real(a))
    w, b = leaf(np.ones((2, 3))), leaf(np.zeros(2))
    rg.nn.functional.linear(rg.ones(4, 3), w, b).sum().backward()
    assert copies == []
    np.testing.assert_allclose(w.grad.cpu().numpy(), 4 * np.ones((2, 3)))
    np.testing.assert_allclose(b.grad.cpu().numpy(), [4.0, 4.0])


def test_a_gradient_shared_by_an_add_is_copied_into_each_grad():
    """Both sides of an add receive one array, here the caller's own: each `.grad` gets a copy, so later adds
    change neither the other `.grad` nor the caller's tensor."""
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    g = rg.tensor([1.0, -1.0])
    for _ in range(2):
        (a + b).backward(g)
    a.grad.add_(1.0)
    np.testing.assert_allclose(a.grad.cpu().numpy(), [3.0, -1.0])
    np.testing.assert_allclose(b.grad.cpu().numpy(), [2.0, -2.0])
    np.testing.assert_allclose(g.cpu().numpy(), [1.0, -1.0])


def _first_grads_then_more(m, hook: bool):
    """What a hook saw and `.grad` after two backward passes through a weight used twice and a shared bias."""
    w = m.tensor([[1.0, 2.0], [3.0, -1.0]], requires_grad=True)
    b = m.tensor([0.5, -0.5], requires_grad=True)
    seen = []
    if hook:
        w.register_hook(lambda g: seen.append(g))
    x = m.tensor([[1.0, -2.0], [0.5, 3.0], [2.0, 1.0]])
    for _ in range(2):
        h = m.nn.functional.linear(x, w, b)
        (m.nn.functional.linear(h, w) * (h + b)).sum().backward(retain_graph=True)
    return [t.detach().cpu().numpy() for t in seen] + [w.grad.cpu().numpy(), b.grad.cpu().numpy()]


@pytest.mark.parametrize("hook", [False, True])
def test_taken_gradients_never_alias(hook):
    """Taking a gradient keeps PyTorch's values: a weight used twice (its gradients summed), a bias reached
    through a linear and an add, and a hook that keeps the gradient it saw (a later add must not change it)."""
    for r, t in zip(_first_grads_then_more(rg, hook), _first_grads_then_more(torch, hook), strict=True):
        np.testing.assert_allclose(r, t, rtol=1e-6)


# ---- hooks and retain_grad ----------------------------------------------------------------
def test_a_leaf_hook_sees_and_may_replace_the_gradient():
    x = leaf([1.0, 2.0])
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.cpu().numpy().copy()) or g * 10)
    (x * x).sum().backward()
    np.testing.assert_allclose(seen[0], [2.0, 4.0])
    np.testing.assert_allclose(x.grad.cpu().numpy(), [20.0, 40.0])
    handle.remove()
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), [2.0, 4.0])


def test_a_hook_on_an_intermediate_changes_what_flows_on():
    x = leaf([1.0, 2.0])
    h = x * 2
    h.register_hook(lambda g: g * 0)
    (h * 3 + x).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), [1.0, 1.0])


def test_retain_grad_keeps_an_intermediate_gradient():
    x = leaf([1.0, 2.0])
    h = x * 2
    h.retain_grad()
    assert h.retains_grad
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.cpu().numpy(), [4.0, 8.0])
    assert (x * 2).grad is None


def test_register_hook_on_a_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        rg.ones(2).register_hook(lambda g: g)


# ---- grad mode ----------------------------------------------------------------------------
def test_no_grad_records_nothing_and_enable_grad_turns_it_back_on():
    x = leaf([1.0])
    with rg.no_grad():
        y = x * 2
        with rg.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None


def test_grad_modes_as_decorators():
    x = leaf([1.0])

    @rg.no_grad()
    def f():
        return x * 2

    @rg.inference_mode()
    def g():
        return x * 2

    @rg.set_grad_enabled(False)
    def h():
        return x * 2

    assert rg.is_grad_enabled()
    assert not f().requires_grad and not g().requires_grad and not h().requires_grad
    assert rg.is_grad_enabled()


def test_set_grad_enabled_as_a_function_and_a_context():
    x = leaf([1.0])
    rg.set_grad_enabled(False)
    assert not (x * 2).requires_grad
    rg.set_grad_enabled(True)
    with rg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad


# ---- in-place changes ----------------------------------------------------------------------
def test_modifying_a_saved_input_in_place_raises_at_backward():
    x = leaf([1.0, 2.0])
    a = x * 1
    b = a * a
    with rg.no_grad():
        a.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()


def test_modifying_a_saved_output_in_place_raises_at_backward():
    x = leaf([1.0, 2.0])
    y = x.exp()
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_in_place_on_a_leaf_that_requires_grad_raises():
    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1)
    with rg.no_grad():
        x.add_(1)
    assert x.item() == 2.0


def test_in_place_ops_on_non_leaves_match_pytorch():
    def run(m):
        x = m.tensor([0.5, -1.0, 2.0], requires_grad=True)
        w = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 2
        y.mul_(w)
        y.add_(x)
        y.exp_()
        y.sum().backward()
        return x.grad.cpu().numpy(), w.grad.cpu().numpy()

    for r, t in zip(run(rg), run(torch)):
        np.testing.assert_allclose(r, t, rtol=1e-5)


# ---- Function -------------------------------------------------------------------------------
class Cube(Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x * x * x * scale

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x * x * ctx.scale, None


def test_function_forward_and_backward():
    x = leaf([1.0, 2.0], rg.float64)
    y = Cube.apply(x, 2.0)
    assert y.grad_fn.name == "CubeBackward"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), [6.0, 24.0])


def test_function_double_backward_through_tensor_ops():
    x = leaf([1.0, 2.0], rg.float64)
    (g,) = rg.autograd.grad(Cube.apply(x, 1.0).sum(), x, create_graph=True)
    g.sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), [6.0, 12.0])


def test_function_gradcheck():
    x = leaf(np.random.default_rng(0).standard_normal(4), rg.float64)
    assert rg.autograd.gradcheck(lambda t: Cube.apply(t, 0.5), (x,))


class SplitSign(Function):
    """Two outputs, one non-differentiable; needs_input_grad is visible."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.needs = ctx.needs_input_grad
        pos = x.relu()
        sign = x.sign()
        ctx.mark_non_differentiable(sign)
        ctx.save_for_backward(x, pos)
        return pos * y, sign

    @staticmethod
    def backward(ctx, g_pos, g_sign):
        x, pos = ctx.saved_tensors
        return g_pos * (x > 0), None


def test_function_with_two_outputs_and_needs_input_grad():
    x = leaf([-1.0, 2.0])
    a, sign = SplitSign.apply(x, rg.ones(2))
    assert a.grad_fn.needs == (True, False)
    assert not sign.requires_grad
    a.sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), [0.0, 1.0])


class Wrong(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return grad * 3


def test_gradcheck_catches_a_wrong_backward():
    x = leaf([1.0, 2.0], rg.float64)
    with pytest.raises(rg.autograd.GradcheckError, match="Jacobian mismatch"):
        rg.autograd.gradcheck(Wrong.apply, (x,))
    assert rg.autograd.gradcheck(Wrong.apply, (x,), raise_exception=False) is False


# ---- checkpoint ---------------------------------------------------------------------------
def test_checkpoint_gives_the_same_gradients_and_reaches_closed_over_parameters():
    w = leaf([0.5, -1.5, 2.0])
    x = leaf([1.0, 2.0, 3.0])

    def block(a):
        return ((a * w).tanh() * w).exp()

    checkpoint(block, x).sum().backward()
    gx, gw = x.grad.cpu().numpy().copy(), w.grad.cpu().numpy().copy()
    x.grad = w.grad = None
    block(x).sum().backward()
    np.testing.assert_allclose(gx, x.grad.cpu().numpy(), rtol=1e-6)
    np.testing.assert_allclose(gw, w.grad.cpu().numpy(), rtol=1e-6)


def test_checkpoint_keeps_no_activations_and_replays_randomness():
    x = leaf(np.ones(5))
    out = checkpoint(lambda a: a * rg.rand(5), x)
    assert out.grad_fn.name == "_CheckpointBackward"
    out.sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), out.detach().cpu().numpy())


# ---- anomaly detection ------------------------------------------------------------------------
def test_detect_anomaly_names_the_op_whose_backward_made_nan():
    x = leaf([0.0, 1.0])
    with rg.autograd.detect_anomaly():
        y = x.sqrt() * 0  # sqrt's backward at 0 divides by 0
        with pytest.raises(RuntimeError, match="SqrtBackward"):
            y.sum().backward()


# ---- leaves, detach, requires_grad ---------------------------------------------------------------
def test_requires_grad_only_on_floating_tensors():
    with pytest.raises(RuntimeError, match="floating point dtype can require gradients"):
        rg.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point dtype can require gradients"):
        rg.tensor([1, 2]).requires_grad_()


def test_is_leaf_detach_and_grad_fn():
    x = leaf([1.0])
    y = x * 2
    assert x.is_leaf and not y.is_leaf and y.grad_fn.name == "MulBackward"
    d = y.detach()
    assert d.is_leaf and not d.requires_grad
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf"):
        y.requires_grad = False
    with pytest.raises(RuntimeError, match=r"Use tensor.detach\(\).numpy\(\)"):
        x.cpu().numpy()


def test_backward_from_several_outputs_of_one_node():
    x = leaf([1.0, 2.0, 3.0, 4.0])
    a, b = (x * 2).split(2)
    rg.autograd.backward([a, b], [rg.ones(2), rg.full((2,), 3.0)])
    np.testing.assert_allclose(x.grad.cpu().numpy(), [2.0, 2.0, 6.0, 6.0])
    y = x * 1
    rg.autograd.backward([y, y], [rg.ones(4), rg.ones(4)])  # the same tensor twice
    np.testing.assert_allclose(x.grad.cpu().numpy(), [4.0, 4.0, 8.0, 8.0])


class TwoOutputs(Function):
    """An integer output first, then a differentiable one: gradcheck must pair them by position."""

    @staticmethod
    def forward(ctx, x):
        idx = x.argmax()
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(x)
        return idx, x * x

    @staticmethod
    def backward(ctx, g_idx, g_sq):
        (x,) = ctx.saved_tensors
        return 2 * x * g_sq


def test_gradcheck_pairs_outputs_by_position():
    x = leaf([1.0, 3.0, 2.0], rg.float64)
    assert rg.autograd.gradcheck(TwoOutputs.apply, (x,))


def test_in_place_through_index_views_rewrites_the_base_history_like_pytorch():
    def run(m):
        w = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        h = m.zeros(2, 3)
        h[0].add_(w)
        h[1] += w * w
        x = m.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
        y = x * 1
        y[0] *= w
        y[:, 1].exp_()
        (h.sum() * 2 + (y * y).sum()).backward()
        return w.grad.cpu().numpy(), x.grad.cpu().numpy(), h.detach().cpu().numpy(), y.detach().cpu().numpy()

    for r, t in zip(run(rg), run(torch)):
        np.testing.assert_allclose(r, t, rtol=1e-6)


def test_in_place_through_other_views_while_recording_raises():
    w = leaf(np.ones(6))
    v = rg.zeros(2, 3).reshape(6)
    with pytest.raises(RuntimeError, match="in-place modification of a view made by"):
        v.add_(w)


def test_post_accumulate_grad_hook_sees_the_accumulated_grad():
    def run(m):
        w = m.tensor([1.0, 2.0], requires_grad=True)
        seen = []
        w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.cpu().numpy().copy()))
        (w * 3).sum().backward()
        (w * w).sum().backward()
        return seen

    for r, t in zip(run(rg), run(torch), strict=True):
        np.testing.assert_allclose(r, t)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (leaf([1.0]) * 2).register_post_accumulate_grad_hook(lambda p: None)
