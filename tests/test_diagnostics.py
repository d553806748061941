"""retrograd.diagnostics.gradient_flow (statistics, vanishing/exploding/NaN flags, table, plot) and
anomaly mode naming the op whose backward first produced NaN/Inf."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import retrograd as rg
from retrograd import nn
from retrograd.autograd.engine import _anomaly
from retrograd.diagnostics import GradientFlowWarning, array_norm, gradient_flow


def sigmoid_stack(depth: int = 20) -> nn.Sequential:
    rg.manual_seed(0)
    return nn.Sequential(*[m for _ in range(depth) for m in (nn.Linear(16, 16), nn.Sigmoid())])


def scaled_linear_stack(depth: int = 10, scale: float = 8.0) -> nn.Sequential:
    rg.manual_seed(0)
    model = nn.Sequential(*[nn.Linear(16, 16) for _ in range(depth)])
    with rg.no_grad():
        for layer in model:
            layer.weight.mul_(scale)
    return model


def test_statistics_match_numpy():
    rg.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    model(rg.randn(6, 3)).pow(2).sum().backward()
    report = gradient_flow(model, warn=False)
    assert [r.name for r in report.rows] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    for row, (_, p) in zip(report.rows, model.named_parameters()):
        g, w = p.grad.numpy().astype(np.float64), p.detach().numpy().astype(np.float64)
        assert row.shape == tuple(p.shape)
        assert row.mean_abs == pytest.approx(np.abs(g).mean(), rel=1e-6)
        assert row.max_abs == pytest.approx(np.abs(g).max(), rel=1e-6)
        assert row.norm == pytest.approx(np.linalg.norm(g), rel=1e-6)
        assert row.weight_norm == pytest.approx(np.linalg.norm(w), rel=1e-6)
        assert row.ratio == pytest.approx(np.linalg.norm(g) / np.linalg.norm(w), rel=1e-6)
        assert row.status == "ok"
    assert report.warnings == []


def test_deep_sigmoid_stack_is_flagged_as_vanishing():
    model = sigmoid_stack()
    model(rg.randn(32, 16)).sum().backward()
    with pytest.warns(GradientFlowWarning, match="vanishing"):
        report = gradient_flow(model)
    vanishing = report.flagged("vanishing")
    assert "0.weight" in vanishing and "0.bias" in vanishing  # the first layers get almost nothing
    assert "38.weight" not in vanishing  # the last layer learns
    assert report.flagged("exploding") == [] and report.flagged("non-finite") == []
    first = report.rows[0]
    assert first.mean_abs < 1e-7 < report.rows[-2].mean_abs


def test_scaled_linear_stack_is_flagged_as_exploding():
    model = scaled_linear_stack()
    model(rg.randn(32, 16)).sum().backward()
    with pytest.warns(GradientFlowWarning, match="exploding"):
        report = gradient_flow(model)
    exploding = report.flagged("exploding")
    assert "0.weight" in exploding and report.rows[0].norm > 1e3
    assert report.flagged("vanishing") == []


def test_non_finite_and_missing_gradients_are_flagged():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    model[0](rg.randn(3, 2)).sum().backward()
    model[0].weight.grad.numpy()[0, 0] = np.nan
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = gradient_flow(model)
    assert report.flagged("non-finite") == ["0.weight"]
    assert report.flagged("no grad") == ["1.weight", "1.bias"]
    messages = [str(w.message) for w in caught if issubclass(w.category, GradientFlowWarning)]
    assert len(messages) == 2 and "NaN or Inf" in messages[0] and "1.weight, 1.bias" in messages[1]


def test_thresholds_are_configurable_and_checked():
    model = sigmoid_stack(3)
    model(rg.randn(8, 16)).sum().backward()
    assert gradient_flow(model, vanishing=0.0, warn=False).flagged("vanishing") == []
    assert len(gradient_flow(model, vanishing=10.0, exploding=1e9, warn=False).flagged("vanishing")) == 6
    assert len(gradient_flow(model, vanishing=0.0, exploding=1e-30, warn=False).flagged("exploding")) == 6
    with pytest.raises(ValueError, match="vanishing < exploding"):
        gradient_flow(model, vanishing=1.0, exploding=0.5)
    with pytest.raises(TypeError, match="item 0"):
        gradient_flow([model[0].weight])


def test_accepts_dicts_and_pairs_and_skips_frozen():
    w = rg.tensor([[3.0, 4.0]], requires_grad=True)
    frozen = rg.ones(2)
    (w * 2).sum().backward()
    for params in ({"w": w, "frozen": frozen}, [("w", w), ("frozen", frozen)]):
        report = gradient_flow(params, warn=False)
        assert [r.name for r in report.rows] == ["w"]
        assert report.rows[0].norm == pytest.approx(math.sqrt(8)) and report.rows[0].weight_norm == 5.0


def test_zero_weight_has_no_ratio():
    b = rg.zeros(3, requires_grad=True)
    b.sum().backward()
    row = gradient_flow({"b": b}, warn=False).rows[0]
    assert row.ratio is None and "-" in gradient_flow({"b": b}, warn=False).table()


def test_table_and_plot(tmp_path):
    model = sigmoid_stack(12)
    model(rg.randn(32, 16)).sum().backward()
    report = gradient_flow(model, warn=False)
    text = report.table()
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["parameter", "shape", "mean", "|g|"]
    assert any(line.startswith("0.weight") and line.endswith("vanishing") for line in lines)
    assert lines[-1].startswith("warning: ") and str(report) == text
    report.plot(tmp_path / "flow.png")
    assert (tmp_path / "flow.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_array_norm_in_float64():
    a = np.full((1000,), 300.0, dtype=np.float16)  # the sum of squares overflows float16
    assert array_norm(a) == pytest.approx(300.0 * math.sqrt(1000))
    assert array_norm(np.zeros((0, 3), np.float32)) == 0.0


# ---- anomaly mode ---------------------------------------------------------------------------------
def test_anomaly_names_the_op_that_made_inf():
    x = rg.tensor([0.0, 1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="Function 'SqrtBackward' returned nan or inf values in its 0th output"):
        with rg.autograd.detect_anomaly():
            (x.sqrt() * 2).sum().backward()
    assert not _anomaly.enabled


def test_anomaly_names_the_first_op_not_the_ones_after_it():
    x = rg.tensor([0.0, 2.0], requires_grad=True)
    w = rg.tensor([1.0, 1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with rg.autograd.detect_anomaly(), pytest.raises(RuntimeError, match="'LogBackward'"):
            ((x * w).log() + 1).sum().backward()  # Log's backward divides by 0; Mul's would spread NaN
        x.grad = None
        ((x * w).log() + 1).sum().backward()  # outside anomaly mode the NaN goes through silently
    assert np.isnan(x.grad.numpy()[0]) or np.isinf(x.grad.numpy()[0])


def test_anomaly_names_a_planted_nan_in_a_custom_function():
    class Planted(rg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")

    x = rg.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="'PlantedBackward'"):
        with rg.autograd.detect_anomaly():
            (Planted.apply(x.exp()) * 3).sum().backward()
    assert x.grad is None  # raised before reaching the leaf


def test_anomaly_as_decorator_and_check_nan_off():
    x = rg.tensor([0.0], requires_grad=True)

    @rg.autograd.detect_anomaly()
    def step():
        x.sqrt().sum().backward()

    with pytest.raises(RuntimeError, match="SqrtBackward"):
        step()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with rg.autograd.detect_anomaly(check_nan=False):
            x.sqrt().sum().backward()
    assert np.isinf(x.grad.numpy()[0])


def test_set_detect_anomaly_restores_the_previous_mode():
    try:
        with rg.autograd.set_detect_anomaly(True):
            assert _anomaly.enabled
        assert not _anomaly.enabled
    finally:
        _anomaly.enabled = False
