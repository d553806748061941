"""Losses: F functions and Modules against PyTorch, every cross_entropy option combination, errors."""
import itertools

import numpy as np
import pytest
from helpers import check_double_backward, check_gradcheck, check_op, torch

import retrograd as rg
import retrograd.nn as nn
import retrograd.nn.functional as F

pytestmark = pytest.mark.on_devices

rng = np.random.default_rng(0)
REDUCTIONS = ["mean", "sum", "none"]
X = rng.standard_normal((4, 5)).astype(np.float32)
Y = rng.standard_normal((4, 5)).astype(np.float32)  # |X - Y| avoids 0 and the beta/delta kinks below
N, C = 6, 4
LOGITS = (rng.standard_normal((N, C, 3)) * 2).astype(np.float32)
TARGETS = rng.integers(0, C, (N, 3))
TARGETS[2, 1] = 1  # class 1 occurs, so ignore_index=1 ignores something
PROBS = rng.random((N, C, 3)).astype(np.float32)
PROBS /= PROBS.sum(1, keepdims=True)
WEIGHT = (rng.random(C) + 0.5).astype(np.float32)


def _F(m):
    return m.nn.functional


REGRESSION = {
    "mse_loss": {}, "l1_loss": {}, "smooth_l1_loss": {"beta": 0.5}, "smooth_l1_loss_beta0": {"beta": 0.0},
    "huber_loss": {"delta": 0.7},
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", REGRESSION)
def test_regression_losses(name, reduction):
    fn_name, kw = name.replace("_beta0", ""), REGRESSION[name]

    def f(m, a, b):
        return getattr(_F(m), fn_name)(a, b, reduction=reduction, **kw)

    check_op(f, X, Y)
    check_gradcheck(f, X[:2], Y[:2])


@pytest.mark.parametrize("name", ["mse_loss", "smooth_l1_loss", "huber_loss"])
def test_regression_double_backward(name):
    check_double_backward(lambda m, a, b: getattr(_F(m), name)(a, b), X, Y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_weighted_regression_losses(name, reduction):
    w = rng.random(X.shape).astype(np.float32)
    check_op(lambda m, a, b: getattr(_F(m), name)(a, b, reduction=reduction, weight=m.tensor(w)), X, Y)


def test_broadcast_target_warns_like_torch():
    with pytest.warns(UserWarning, match="target size"):
        check_op(lambda m, a, b: m.nn.functional.mse_loss(a, b), X, Y[:1])


def test_legacy_size_average_and_reduce():
    for size_average, reduce in ((False, None), (None, False), (True, True)):
        def f(m, a, b, sa=size_average, r=reduce):
            return m.nn.functional.mse_loss(a, b, size_average=sa, reduce=r)

        with pytest.warns(UserWarning):
            check_op(f, X, Y)


# PyTorch rejects ignore_index with probability targets (see test_cross_entropy_errors)
CE_CASES = [c for c in itertools.product([False, True], [False, True], [-100, 1], [0.0, 0.3], REDUCTIONS,
                                         [False, True]) if not (c[5] and c[2] != -100)]


@pytest.mark.parametrize("extra_dims,weighted,ignore_index,smoothing,reduction,probabilities", CE_CASES)
def test_cross_entropy_options(extra_dims, weighted, ignore_index, smoothing, reduction, probabilities):
    logits = LOGITS if extra_dims else LOGITS[:, :, 0].copy()
    if probabilities:
        target = PROBS if extra_dims else PROBS[:, :, 0].copy()
    else:
        target = TARGETS if extra_dims else TARGETS[:, 0].copy()
        target = np.where(target == 0, ignore_index, target)  # some targets are ignored

    def f(m, x, t):
        w = m.tensor(WEIGHT).to(x.dtype) if weighted else None
        return m.nn.functional.cross_entropy(x, t, weight=w, ignore_index=ignore_index, reduction=reduction,
                                             label_smoothing=smoothing)

    check_op(f, logits, target)
    check_gradcheck(f, logits, target)


@pytest.mark.parametrize("probabilities", [False, True])
def test_cross_entropy_unbatched(probabilities):
    target = PROBS[0, :, 0].copy() if probabilities else np.array(2)
    for reduction in REDUCTIONS:
        def f(m, x, t, reduction=reduction):
            return m.nn.functional.cross_entropy(x, t, weight=m.tensor(WEIGHT), reduction=reduction,
                                                 label_smoothing=0.1)

        check_op(f, LOGITS[0, :, 0].copy(), target)


def test_cross_entropy_probability_target_gradient():
    check_op(lambda m, x, t: m.nn.functional.cross_entropy(x, t, weight=m.tensor(WEIGHT), label_smoothing=0.2),
             LOGITS, PROBS)  # PROBS requires grad here: its gradient is compared too


@pytest.mark.parametrize("probabilities", [False, True])
def test_cross_entropy_double_backward(probabilities):
    target = PROBS if probabilities else TARGETS

    def f(m, x, t):
        return m.nn.functional.cross_entropy(x, t, weight=m.tensor(WEIGHT.astype(np.float64)), label_smoothing=0.2)

    check_double_backward(f, LOGITS, target)
    check_double_backward(lambda m, x, t: m.nn.functional.cross_entropy(x, t, reduction="none"), LOGITS, target)


def test_cross_entropy_all_ignored_is_nan():
    out = F.cross_entropy(rg.tensor(LOGITS[:, :, 0]), rg.tensor(np.full(N, -100)))
    assert np.isnan(out.item())


def test_cross_entropy_stable_for_huge_logits():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 3e4]], dtype=np.float32)
    check_op(lambda m, a, t: m.nn.functional.cross_entropy(a, t, label_smoothing=0.1), x, np.array([1, 2]))


def test_cross_entropy_uint8_targets():
    check_op(lambda m, x, t: m.nn.functional.cross_entropy(x, t), LOGITS[:, :, 0].copy(),
             TARGETS[:, 0].astype(np.uint8))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(reduction):
    logp = np.log(PROBS)
    for w in (None, WEIGHT):
        def f(m, x, t, w=w):
            return m.nn.functional.nll_loss(x, t, weight=None if w is None else m.tensor(w), ignore_index=2,
                                            reduction=reduction)

        check_op(f, logp, TARGETS)
        check_op(f, logp[:, :, 0].copy(), TARGETS[:, 0].copy())
        check_gradcheck(f, logp[:, :, 0].copy(), TARGETS[:, 0].copy())
    check_double_backward(lambda m, x, t: m.nn.functional.nll_loss(m.nn.functional.log_softmax(x, 1), t), LOGITS,
                          TARGETS)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(reduction):
    p = (1 / (1 + np.exp(-X))).astype(np.float32)
    t = rng.random(X.shape).astype(np.float32)
    w = rng.random(5).astype(np.float32)
    check_op(lambda m, a, b: m.nn.functional.binary_cross_entropy(a, b, reduction=reduction), p, t)
    check_op(lambda m, a, b: m.nn.functional.binary_cross_entropy(a, b, m.tensor(w), reduction=reduction), p, t)
    check_gradcheck(lambda m, a, b: m.nn.functional.binary_cross_entropy(a, b, reduction=reduction), p, t)


def test_binary_cross_entropy_clamps_log_at_minus_100():
    p = np.array([0.0, 1.0, 0.5, 1e-45], dtype=np.float32)
    t = np.array([1.0, 0.0, 1.0, 1.0], dtype=np.float32)
    check_op(lambda m, a, b: m.nn.functional.binary_cross_entropy(a, b, reduction="none"), p, t, grad=False)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits(reduction):
    t = rng.random(X.shape).astype(np.float32)
    w, pw = rng.random(5).astype(np.float32), (rng.random(5) + 0.5).astype(np.float32)
    big = X * 40  # stable far from 0

    def f(m, a, b, weight=None, pos_weight=None):
        return m.nn.functional.binary_cross_entropy_with_logits(
            a, b, None if weight is None else m.tensor(weight), reduction=reduction,
            pos_weight=None if pos_weight is None else m.tensor(pos_weight))

    check_op(f, X, t)
    check_op(f, big, t)
    check_op(lambda m, a, b: f(m, a, b, w, pw), X, t)
    check_gradcheck(lambda m, a, b: f(m, a, b, w, pw), X[:2], t[:2])
    check_double_backward(lambda m, a, b: f(m, a, b, w, pw), X, t)


@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    logp, q = np.log(PROBS[:, :, 0]), PROBS[:, :, 1].copy()
    target = np.log(q) if log_target else q
    with pytest.warns(UserWarning) if reduction == "mean" else _nothing():
        check_op(lambda m, a, b: m.nn.functional.kl_div(a, b, reduction=reduction, log_target=log_target), logp,
                 target)
    check_gradcheck(lambda m, a, b: m.nn.functional.kl_div(a, b, reduction="sum", log_target=log_target), logp,
                    target)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_cross_entropy_errors():
    x = rg.tensor(LOGITS[:, :, 0])
    with pytest.raises(IndexError, match="Target 5 is out of bounds.*4 classes"):
        F.cross_entropy(x, rg.tensor([0, 5, 1, 1, 1, 1]))
    with pytest.raises(IndexError, match="Target -1 is out of bounds"):
        F.nll_loss(x, rg.tensor([0, -1, 1, 1, 1, 1]))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(6\) to match target batch_size \(4\)"):
        F.cross_entropy(x, rg.tensor([0, 1, 2, 3]))
    with pytest.raises(RuntimeError, match=r"Expected target size \[6, 3\], got \[6, 2\]"):
        F.cross_entropy(rg.tensor(LOGITS), rg.tensor(TARGETS[:, :2]))
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte.*int32"):
        F.cross_entropy(x, rg.tensor(TARGETS[:, 0].astype(np.int32)))
    with pytest.raises(RuntimeError, match="multi-target not supported"):
        F.cross_entropy(x, rg.tensor(TARGETS))
    with pytest.raises(RuntimeError, match="weight tensor should be defined either for all 4 classes"):
        F.cross_entropy(x, rg.tensor(TARGETS[:, 0]), weight=rg.ones(3))
    with pytest.raises(RuntimeError, match="ignore_index is not supported for floating point target"):
        F.cross_entropy(x, rg.tensor(PROBS[:, :, 0]), ignore_index=1)
    with pytest.raises(RuntimeError, match="label_smoothing must be between 0.0 and 1.0"):
        F.cross_entropy(x, rg.tensor(TARGETS[:, 0]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.cross_entropy(x, rg.tensor(TARGETS[:, 0]), reduction="foo")


def test_other_loss_errors():
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(rg.tensor([1.5, 0.5]), rg.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="target size .* different to the input size"):
        F.binary_cross_entropy(rg.tensor([0.5, 0.5]), rg.tensor([1.0]))
    with pytest.raises(ValueError, match="target size .* different to the input size"):
        F.binary_cross_entropy_with_logits(rg.tensor([0.5, 0.5]), rg.tensor([1.0]))
    with pytest.raises(ValueError, match="bar is not a valid value for reduction"):
        F.mse_loss(rg.tensor([0.5]), rg.tensor([1.0]), reduction="bar")
    with pytest.raises(ValueError, match="Weights and input must have the same size"):
        F.mse_loss(rg.tensor([0.5, 1.0]), rg.tensor([1.0, 2.0]), weight=rg.ones(3))
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'pos_weight'"):
        F.binary_cross_entropy_with_logits(rg.tensor([0.5]), rg.tensor([1.0]),
                                           pos_weight=rg.ones(1, requires_grad=True))


LOSS_MODULES = [
    ("MSELoss", {}, "regression"), ("L1Loss", {"reduction": "sum"}, "regression"),
    ("SmoothL1Loss", {"beta": 0.5}, "regression"), ("HuberLoss", {"delta": 0.7, "reduction": "none"}, "regression"),
    ("CrossEntropyLoss", {"weight": WEIGHT, "ignore_index": 1, "label_smoothing": 0.1}, "index"),
    ("CrossEntropyLoss", {"reduction": "sum"}, "probs"), ("NLLLoss", {"weight": WEIGHT}, "index"),
    ("BCELoss", {"weight": np.full(5, 0.5, np.float32)}, "binary"),
    ("BCEWithLogitsLoss", {"pos_weight": np.full(5, 2.0, np.float32)}, "logits"),
    ("BCEWithLogitsLoss", {"weight": np.full(5, 0.5, np.float32), "pos_weight": np.full(5, 2.0, np.float32)},
     "logits"),
    ("KLDivLoss", {"reduction": "batchmean", "log_target": True}, "kl"),
]


def _loss_inputs(kind):
    return {"regression": (X, Y), "index": (LOGITS[:, :, 0].copy(), TARGETS[:, 0].copy()),
            "probs": (LOGITS, PROBS), "binary": ((1 / (1 + np.exp(-X))).astype(np.float32), (Y > 0).astype(np.float32)),
            "logits": (X, (Y > 0).astype(np.float32)), "kl": (np.log(PROBS[:, :, 0]), np.log(PROBS[:, :, 1]))}[kind]


@pytest.mark.parametrize("name,kwargs,kind", LOSS_MODULES)
def test_loss_modules(name, kwargs, kind):
    def build(m):
        kw = {k: m.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        return getattr(m.nn, name)(**kw)

    r_mod, t_mod = build(rg), build(torch)
    assert repr(r_mod) == repr(t_mod)
    assert list(r_mod.state_dict()) == list(t_mod.state_dict())
    r_mod.load_state_dict({k: v.numpy() for k, v in t_mod.state_dict().items()})
    check_op(lambda m, a, b: (r_mod if m is rg else t_mod)(a, b), *_loss_inputs(kind))


def test_loss_module_double():
    x, t = _loss_inputs("index")
    r_mod, t_mod = nn.CrossEntropyLoss(weight=rg.tensor(WEIGHT)).double(), torch.nn.CrossEntropyLoss(
        weight=torch.tensor(WEIGHT)).double()
    assert r_mod.weight.dtype is rg.float64
    check_op(lambda m, a, b: (r_mod if m is rg else t_mod)(a, b), x.astype(np.float64), t)


def test_weight_on_another_device_raises(on_device):
    if on_device == "cpu":
        pytest.skip("needs a second device: runs in the cuda case, with the weight on the cpu")
    x, t = rg.tensor(LOGITS[:, :, 0]), rg.tensor(TARGETS[:, 0])
    with pytest.raises(RuntimeError, match="expected all tensors to be on the same device"):
        F.cross_entropy(x, t, weight=rg.tensor(WEIGHT, device="cpu"))
    with pytest.raises(RuntimeError, match="expected all tensors to be on the same device"):
        F.binary_cross_entropy_with_logits(rg.tensor(X), rg.tensor(Y), pos_weight=rg.ones(5, device="cpu"))
