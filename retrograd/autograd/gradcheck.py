"""`gradcheck`: compare backward's gradients with central finite differences."""
from __future__ import annotations

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
        analytical = [_zeros((n_out, x.numel()), x) for x in diff_inputs]
        for j in range(n_out):  # one backward per output element (a one-hot grad_output): a Jacobian row
            onehot = _zeros((n_out,), out)
            onehot[j] = 1
            grads = autograd_grad(out, diff_inputs, Tensor._make(onehot.reshape(out._data.shape)),
                                  retain_graph=True, allow_unused=True)
            for k, g in enumerate(grads):
                if g is not None:
                    analytical[k][j] = g._data.reshape(-1)
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


def _zeros(shape, like):
    from ..device import namespace_of

    return namespace_of(like._data).zeros(shape, dtype=like._data.dtype)


def _numerical_jacobian(func, inputs, x, out_index: int, n_out: int, eps: float):
    """J[j, i] = d out_j / d x_i by central differences, perturbing x's storage in place."""
    flat = x._data.reshape(-1)  # a view: writes go to x
    jac = _zeros((n_out, flat.shape[0]), x)
    with grad_mode.no_grad():
        for i in range(flat.shape[0]):
            orig = flat[i].item()
            flat[i] = orig + eps
            plus = _outputs(func, inputs)[out_index]._data.reshape(-1).astype(jac.dtype)
            flat[i] = orig - eps
            minus = _outputs(func, inputs)[out_index]._data.reshape(-1).astype(jac.dtype)
            flat[i] = orig
            jac[:, i] = (plus - minus) / (2 * eps)
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
