"""`gradcheck`: compare backward's gradients with central finite differences."""
from __future__ import annotations

import numpy as np

from ..device import to_device, to_host
from . import grad_mode
from .engine import grad as autograd_grad


class GradcheckError(RuntimeError):
    """Analytical and numerical gradients disagree."""


def _outputs(fn, inputs) -> tuple:
    out = fn(*inputs)
    return out if isinstance(out, tuple) else (out,)


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0) -> bool:
    """Check d(outputs)/d(inputs) of `func` from backward against (f(x+eps) - f(x-eps)) / 2eps.

    Use float64 inputs: in float32 the finite differences themselves are too coarse.
    Every output element is checked against every element of every input that requires grad.
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff_inputs = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    if not diff_inputs:
        raise ValueError("gradcheck expects at least one input tensor to require gradient")
    outputs = [(i, o) for i, o in enumerate(_outputs(func, inputs)) if isinstance(o, Tensor) and o.requires_grad]
    for i, x in enumerate(diff_inputs):
        if x.dtype.name != "float64":
            import warnings

            warnings.warn(f"gradcheck: input {i} is {x.dtype.name}, not float64: the check may fail for "
                          "lack of precision", stacklevel=2)
    for oi, out in outputs:  # oi: the output's position among all of func's outputs
        n_out = out.numel()
        analytical = [np.zeros((n_out, x.numel())) for x in diff_inputs]
        for j in range(n_out):  # one backward per output element (a one-hot grad_output): a Jacobian row
            onehot = np.zeros(out._data.shape, dtype=out.dtype.np)
            onehot.flat[j] = 1
            grads = autograd_grad(out, diff_inputs, Tensor._make(to_device(onehot, out.device)),
                                  retain_graph=True, allow_unused=True)
            for k, g in enumerate(grads):
                if g is not None:
                    analytical[k][j] = to_host(g._data).reshape(-1)
        for k, x in enumerate(diff_inputs):
            numerical = _numerical_jacobian(func, inputs, x, oi, out.numel(), eps)
            a, n = analytical[k], numerical
            bad = abs(a - n) > atol + rtol * abs(n)
            if bad.any():
                rows, cols = bad.nonzero()
                idx = (int(rows[0]), int(cols[0]))
                position = next(i for i, t in enumerate(inputs) if t is x)
                msg = (f"Jacobian mismatch for output {oi} with respect to input {position} (shape "
                       f"{tuple(x.shape)}): at (output element, input element) {idx}, numerical "
                       f"{float(n[idx]):.8g} vs analytical {float(a[idx]):.8g}\nnumerical:\n{n}\nanalytical:\n{a}")
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True


def _numerical_jacobian(func, inputs, x, out_index: int, n_out: int, eps: float) -> np.ndarray:
    """J[j, i] = d out_j / d x_i by central differences, perturbing x's storage in place."""
    jac = np.zeros((n_out, x.numel()))

    def out_at(value, at):
        x._data[at] = value
        return to_host(_outputs(func, inputs)[out_index]._data).reshape(-1).astype(np.float64)

    with grad_mode.no_grad():
        for i in range(x.numel()):
            at = tuple(int(k) for k in np.unravel_index(i, x._data.shape))
            orig = float(x._data[at])
            jac[:, i] = (out_at(orig + eps, at) - out_at(orig - eps, at)) / (2 * eps)
            x._data[at] = orig
    return jac


def gradgradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """gradcheck of the first derivative (contracted with a fixed random output gradient)."""
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    outs = _outputs(func, inputs)
    from ..random import randn_like

    vs = [randn_like(o).detach() for o in outs]

    def first_derivative(*xs):
        os_ = _outputs(func, xs)
        d = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        return autograd_grad(os_, d, vs, create_graph=True, allow_unused=True)

    return gradcheck(first_derivative, inputs, eps=eps, atol=atol, rtol=rtol)


from ..tensor import Tensor  # noqa: E402
