"""Reverse-mode automatic differentiation: the engine, grad mode, Function, gradcheck."""
from .anomaly import detect_anomaly, set_detect_anomaly
from .engine import backward, grad
from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["backward", "grad", "Function", "FunctionCtx", "once_differentiable", "gradcheck", "gradgradcheck",
           "GradcheckError", "no_grad", "enable_grad", "inference_mode", "set_grad_enabled", "is_grad_enabled",
           "detect_anomaly", "set_detect_anomaly"]
