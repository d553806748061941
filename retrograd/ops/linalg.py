"""Linear algebra: matmul and its special cases, addmm/baddbmm, einsum, tensordot.

`matmul` follows PyTorch (and NumPy): a 1-D operand is promoted to a matrix and the
added dim dropped from the result; batch dims broadcast. Its backward is one GEMM
per needed gradient; a gradient broadcast over batch dims is summed once. `einsum`
runs the library's einsum (NumPy's with its contraction-order optimiser) and differentiates each
operand by another einsum, so every op here can be differentiated again.
"""
from __future__ import annotations

import math

import numpy as np

from .. import array_extras as ax
from .. import dtypes as dt
from ..autograd.node import Node
from ..tensor import Tensor
from .elementwise import mul

# PyTorch names dtypes in its errors by the C type ("float != double") or by the scalar type ("Float").
_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
            "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
            "uint8": "unsigned char", "bool": "bool"}
_SCALAR_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16", "int64": "Long",
                 "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def _dims(shape) -> str:
    """A shape as PyTorch prints it in matmul errors: 2x3."""
    return "x".join(str(s) for s in shape)


def _check_tensor(x, op: str, arg: str, position: int) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{arg}' (position {position}) must be Tensor, not {type(x).__name__}")


def _check_same_dtype(a: Tensor, b: Tensor, op: str) -> None:
    """Matrix products do not promote: both operands must share a dtype, and bool has no GEMM."""
    if a.dtype is not b.dtype:
        raise RuntimeError(f"{op}: expected m1 and m2 to have the same dtype, but got: "
                           f"{_C_NAMES[a.dtype.name]} != {_C_NAMES[b.dtype.name]}")
    if a.dtype is dt.bool:
        raise NotImplementedError(f"\"{op}\" not implemented for 'Bool'")


def _check_ndim(x: Tensor, nd: int, op: str, name: str) -> None:
    if x.ndim != nd:
        what = "a matrix" if nd == 2 else f"a {nd}D tensor"
        raise RuntimeError(f"{op}: {name} must be {what}, got {x.ndim}-D tensor of shape ({_dims(x.shape)})")


def _check_batch(a: tuple, b: tuple, op: str) -> None:
    """The batch dims of two operands (all but their last two dims) must broadcast."""
    ba, bb = a[:-2], b[:-2]
    n = max(len(ba), len(bb))
    ba, bb = (1,) * (n - len(ba)) + ba, (1,) * (n - len(bb)) + bb
    for i, (x, y) in enumerate(zip(ba, bb)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"{op}: the batch dimensions of mat1 and mat2 do not broadcast ({_dims(a)} and "
                               f"{_dims(b)}): size {x} of mat1 must match size {y} of mat2 at non-singleton "
                               f"batch dimension {i}")


# ---- matmul --------------------------------------------------------------------------------
def _mm(a, b, xp):
    """a @ b on arrays; a stack of matrices times one matrix is folded into a single GEMM."""
    if a.ndim > 2 and b.ndim == 2:
        rows = math.prod(a.shape[:-1])
        return ax.reshape(xp.matmul(_blas_ready(ax.reshape(a, (rows, a.shape[-1])), xp), _blas_ready(b, xp)),
                          a.shape[:-1] + b.shape[1:])
    if a.ndim == 2 and b.ndim == 2:
        return xp.matmul(_blas_ready(a, xp), _blas_ready(b, xp))
    return xp.matmul(a, b)


def _blas_ready(m, xp):
    """BLAS's fast path takes C- or F-ordered matrices (a transpose is free); a broadcast or
    strided one (e.g. the gradient of a sum) is copied once instead of going the slow way.
    NumPy only: other libraries' matmul arranges its operands itself."""
    if type(m) is not np.ndarray:
        return m
    flags = m.flags
    return m if flags.c_contiguous or flags.f_contiguous else xp.ascontiguousarray(m)


class MatMul(Node):
    """a @ b with PyTorch's rules for 1-D operands and broadcast batch dims."""

    saves_inputs = True

    def forward(self, a, b):
        return _mm(a, b, self.xp)

    def backward(self, grad):
        a, b = self.saved_tensors
        a_vec, b_vec = a.ndim == 1, b.ndim == 1
        # work on the matrix product a2 @ b2, with the dims the 1-D operands dropped put back
        a2 = a.reshape(1, a.shape[0]) if a_vec else a
        b2 = b.reshape(b.shape[0], 1) if b_vec else b
        shape = tuple(grad.shape) + ((1,) if b_vec else ())
        if a_vec:
            shape = shape[:-1] + (1,) + shape[-1:]
        g = grad.reshape(shape)
        ga = gb = None
        if self.needs_input_grad(0):
            ga = _unbroadcast(MatMul()(g, b2.transpose(-1, -2)), a2, a)
        if self.needs_input_grad(1):
            if g.ndim > 2 and b2.ndim == 2:  # the batch lives in a2 only: sum over it inside one GEMM
                k, n = a2.shape[-1], g.shape[-1]
                gb = MatMul()(a2.reshape(-1, k).transpose(0, 1), g.reshape(-1, n))
            else:
                gb = MatMul()(a2.transpose(-1, -2), g)
            gb = _unbroadcast(gb, b2, b)
        return ga, gb


def _unbroadcast(g: Tensor, promoted: Tensor, original: Tensor) -> Tensor:
    """Sum a gradient over the batch dims its operand was broadcast along; drop a promoted vector's dim."""
    if g.shape != promoted.shape:
        g = g.sum_to_size(promoted.shape)
    return g.reshape(original.shape) if promoted.ndim != original.ndim else g


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with PyTorch's rules: dot, matrix-vector, matrix-matrix, batched with broadcasting."""
    _check_tensor(input, "matmul", "input", 1)
    _check_tensor(other, "matmul", "other", 2)
    a, b = input._data.shape, other._data.shape
    if not a or not b:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {len(a)}D and {len(b)}D")
    _check_same_dtype(input, other, "matmul")
    if a[-1] != (b[-2] if len(b) > 1 else b[0]):
        raise RuntimeError(f"matmul: mat1 and mat2 shapes cannot be multiplied ({_dims(a)} and {_dims(b)})")
    _check_batch(a, b, "matmul")
    return MatMul()(input, other)


def _check_pair(input, other, op: str, names: tuple, nd: int) -> None:
    """The checks shared by mm and bmm (and addmm, baddbmm): types, ranks, dtypes, inner sizes."""
    _check_tensor(input, op, names[0], 1)
    _check_tensor(other, op, names[1], 2)
    _check_ndim(input, nd, op, names[0])
    _check_ndim(other, nd, op, names[1])
    _check_same_dtype(input, other, op)
    a, b = input._data.shape, other._data.shape
    if nd == 2 and a[1] != b[0]:
        raise RuntimeError(f"{op}: mat1 and mat2 shapes cannot be multiplied ({_dims(a)} and {_dims(b)})")
    if nd == 3 and (a[0], a[2]) != b[:2]:
        raise RuntimeError(f"{op}: expected size for first two dimensions of batch2 tensor to be: [{a[0]}, {a[2]}] "
                           f"but got: [{b[0]}, {b[1]}] (batch1 {_dims(a)}, batch2 {_dims(b)})")


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two matrices (no broadcasting)."""
    _check_pair(input, mat2, "mm", ("self", "mat2"), 2)
    return MatMul()(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two stacks of matrices of the same batch size (no broadcasting)."""
    _check_pair(input, mat2, "bmm", ("batch1", "batch2"), 3)
    return MatMul()(input, mat2)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix times vector."""
    _check_tensor(input, "mv", "input", 1)
    _check_tensor(vec, "mv", "vec", 2)
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"mv: vector + matrix @ vector expected, got a {input.ndim}-D matrix of shape "
                           f"({_dims(input.shape)}) and a {vec.ndim}-D vector of shape ({_dims(vec.shape)})")
    if input.dtype is not vec.dtype:
        raise RuntimeError(f"mv: expected the matrix and the vector to have the same dtype, but got "
                           f"{_SCALAR_NAMES[input.dtype.name]} and {_SCALAR_NAMES[vec.dtype.name]}")
    _check_same_dtype(input, vec, "mv")
    if input.shape[1] != vec.shape[0]:
        raise RuntimeError(f"mv: size mismatch, got mat ({_dims(input.shape)}), vec ({_dims(vec.shape)})")
    return MatMul()(input, vec)


def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Inner product of two 1-D tensors of the same size."""
    return _dot(input, tensor, "dot")


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """dot with the first operand conjugated: the same as dot for real tensors."""
    return _dot(input, other, "vdot")


def _dot(input: Tensor, other: Tensor, op: str) -> Tensor:
    _check_tensor(input, op, "input", 1)
    _check_tensor(other, op, "tensor", 2)
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"{op}: 1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"{op} : expected both vectors to have same dtype, but found "
                           f"{_SCALAR_NAMES[input.dtype.name]} and {_SCALAR_NAMES[other.dtype.name]}")
    _check_same_dtype(input, other, op)
    n, m = input.shape[0], other.shape[0]
    if n != m:
        raise RuntimeError(f"{op}: inconsistent tensor size, expected tensor [{n}] and src [{m}] to have the same "
                           f"number of elements, but got {n} and {m} elements respectively")
    return MatMul()(input, other)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two vectors (dtypes promote, as for `*`)."""
    for x, name, pos in ((input, "input", 1), (vec2, "vec2", 2)):
        _check_tensor(x, "outer", name, pos)
        if x.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {'self' if pos == 1 else name}, but got {x.ndim}-D")
    return mul(input.reshape(input.shape[0], 1), vec2)


ger = outer


# ---- addmm, baddbmm ------------------------------------------------------------------------
class AddMatMul(Node):
    """beta * input + alpha * (mat1 @ mat2), fused: one GEMM, then the scaling and the sum in place."""

    saves_inputs = True
    broadcasts = True

    def __init__(self, beta, alpha):
        self.beta, self.alpha = beta, alpha

    def forward(self, c, m1, m2):
        out = self.xp.matmul(m1, m2)
        if self.alpha != 1:
            out *= self.alpha
        if self.beta != 0:
            out += c if self.beta == 1 else c * self.beta
        return out

    def backward(self, grad):
        _, m1, m2 = self.saved_tensors
        gc = None
        if self.needs_input_grad(0):
            gc = grad if self.beta == 1 else grad * self.beta
        if self.alpha != 1:
            grad = grad * self.alpha
        g1 = MatMul()(grad, m2.transpose(-1, -2)) if self.needs_input_grad(1) else None
        g2 = MatMul()(m1.transpose(-1, -2), grad) if self.needs_input_grad(2) else None
        return gc, g1, g2


def _add_matmul(input: Tensor, m1: Tensor, m2: Tensor, beta, alpha, op: str, nd: int) -> Tensor:
    _check_pair(m1, m2, op, ("mat1", "mat2") if nd == 2 else ("batch1", "batch2"), nd)
    _check_tensor(input, op, "input", 1)
    if input.dtype is not m2.dtype:
        raise RuntimeError(f"{op}: self and mat2 must have the same dtype, but got "
                           f"{_SCALAR_NAMES[input.dtype.name]} and {_SCALAR_NAMES[m2.dtype.name]}")
    if not input.dtype.is_floating_point and (isinstance(beta, float) or isinstance(alpha, float)):
        raise RuntimeError(f"{op}: for integral input tensors, arguments beta and alpha must not be floating "
                           f"point numbers (got beta={beta}, alpha={alpha})")
    out = m1.shape[:-1] + m2.shape[-1:]
    c = input.shape
    if len(c) > nd or any(x != 1 and x != y for x, y in zip(c[::-1], out[::-1])):
        raise RuntimeError(f"{op}: input of shape ({_dims(c)}) cannot be broadcast to the shape of the product "
                           f"({_dims(out)}) of {_dims(m1.shape)} and {_dims(m2.shape)}")
    return AddMatMul(beta, alpha)(input, m1, m2)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (mat1 @ mat2); input broadcasts to the product's shape."""
    return _add_matmul(input, mat1, mat2, beta, alpha, "addmm", 2)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * bmm(batch1, batch2); input broadcasts to the product's shape."""
    return _add_matmul(input, batch1, batch2, beta, alpha, "baddbmm", 3)


# ---- einsum ----------------------------------------------------------------------------------
_N_LABELS = 52  # NumPy's einsum takes at most 52 distinct labels


class Einsum(Node):
    """A sum of products over labelled dims: `subs[k]` labels operand k's dims, `out` the output's.

    Labels are ints below 52, so that backward can add fresh ones. All operands' sizes for a label
    agree (the public function expands size-1 dims beforehand)."""

    saves_inputs = True

    def __init__(self, subs: tuple, out: tuple):
        self.subs, self.out = subs, out

    def forward(self, *arrays):
        args = []
        for a, s in zip(arrays, self.subs):
            args += [a, list(s)]
        out = ax.einsum(self.xp, *args, list(self.out), optimize=len(arrays) > 1)
        if any(ax.shares_memory(a, out) for a in arrays):  # a transpose or diagonal is a view
            out = ax.copy(out)
        return out

    def backward(self, grad):
        operands = self.saved_tensors
        return tuple(self._operand_grad(k, grad, operands) if self.needs_input_grad(k) else None
                     for k in range(len(operands)))

    def _operand_grad(self, k: int, grad: Tensor, operands: tuple) -> Tensor:
        """The einsum of the output gradient with the other operands, onto operand k's labels.

        A label repeated in operand k (a diagonal) gets a fresh label per repeat, tied to the first by
        an identity matrix; a label only operand k has (summed out) is broadcast back with expand."""
        inputs = [grad] + [x for j, x in enumerate(operands) if j != k]
        subs = [self.out] + [s for j, s in enumerate(self.subs) if j != k]
        used = set(self.out).union(*self.subs)
        fresh = (label for label in range(_N_LABELS) if label not in used)
        target, seen = [], set()
        shape = operands[k].shape
        for i, label in enumerate(self.subs[k]):
            if label in seen:
                new = next(fresh, None)
                if new is None:
                    raise NotImplementedError(f"einsum: the gradient of operand {k} (a diagonal) needs more than "
                                              f"{_N_LABELS} distinct subscripts")
                inputs.append(Tensor._make(self.xp.eye(shape[i], dtype=grad._data.dtype)))
                subs.append((label, new))
                label = new
            seen.add(label)
            target.append(label)
        available = set().union(*subs)
        kept = tuple(label for label in target if label in available)
        g = Einsum(tuple(subs), kept)(*inputs)
        if len(kept) < len(target):
            g = g.reshape(tuple(s if label in available else 1 for s, label in zip(shape, target))).expand(shape)
        return g


def _label(c: str, op_index: int, pos: int) -> int:
    """A subscript letter as a label int, in ASCII order (A-Z, then a-z), which orders implicit outputs."""
    if "A" <= c <= "Z":
        return ord(c) - ord("A")
    if "a" <= c <= "z":
        return 26 + ord(c) - ord("a")
    raise RuntimeError(f"einsum(): invalid subscript given at index {pos} in the equation string, subscripts must "
                       f"be in [a-zA-Z] (operand {op_index})")


def _parse_term(term: str, offset: int, op_index: int) -> list:
    """One comma-separated term as a list of labels, with None standing for '...'."""
    labels, i = [], 0
    while i < len(term):
        if term[i] == ".":
            if term[i:i + 3] != "..." or None in labels:
                raise RuntimeError(f"einsum(): found '.' for operand {op_index} that is not part of any ellipsis, "
                                   f"or a second ellipsis")
            labels.append(None)
            i += 3
        else:
            labels.append(_label(term[i], op_index, offset + i))
            i += 1
    return labels


def _parse(equation: str, operands: tuple) -> tuple:
    """The equation as label tuples per operand and for the output, with '...' replaced by fresh labels."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    if "->" in rhs:
        raise RuntimeError(f"einsum(): more than one '->' in the equation '{equation}'")
    terms, offset, parsed = lhs.split(","), 0, []
    if len(terms) != len(operands):
        raise RuntimeError(f"einsum(): {'fewer' if len(operands) < len(terms) else 'more'} operands were provided "
                           f"than specified in the equation ({len(operands)} operands, {len(terms)} terms in "
                           f"'{equation}')")
    for k, term in enumerate(terms):
        parsed.append(_parse_term(term, offset, k))
        offset += len(term) + 1
    n_ell = 0
    for k, (labels, x) in enumerate(zip(parsed, operands)):
        named = len(labels) - (None in labels)
        if (None in labels and named > x.ndim) or (None not in labels and named != x.ndim):
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({named}) does not match the "
                               f"number of dimensions ({x.ndim}) for operand {k}"
                               f"{'' if None in labels else ' and no ellipsis was given'}")
        if None in labels:
            n_ell = max(n_ell, x.ndim - named)
    used = {label for labels in parsed for label in labels if label is not None}
    spare = [label for label in range(_N_LABELS) if label not in used]
    if n_ell > len(spare):
        raise NotImplementedError(f"einsum(): '{equation}' needs more than {_N_LABELS} distinct subscripts")
    ell = tuple(spare[:n_ell])

    def expand_ellipsis(labels: list, nd: int) -> tuple:
        if None not in labels:
            return tuple(labels)
        i = labels.index(None)
        return tuple(labels[:i]) + ell[n_ell - (nd - len(labels) + 1):] + tuple(labels[i + 1:])

    subs = tuple(expand_ellipsis(labels, x.ndim) for labels, x in zip(parsed, operands))
    if arrow:
        out_labels = _parse_term(rhs, len(lhs) + 2, len(operands))
        out = expand_ellipsis(out_labels, n_ell + len(out_labels) - 1) if None in out_labels else tuple(out_labels)
        for label in out:
            if label not in used and label not in ell:
                raise RuntimeError(f"einsum(): output subscript {_letter(label)} does not appear in the equation "
                                   f"for any input operand")
            if out.count(label) > 1:
                raise RuntimeError(f"einsum(): output subscript {_letter(label)} appears more than once in the output")
    else:
        counts = [label for s in subs for label in s]
        out = ell + tuple(sorted(label for label in used if counts.count(label) == 1))
    return subs, out


def _letter(label: int) -> str:
    return chr(ord("A") + label) if label < 26 else chr(ord("a") + label - 26)


def _sublist_equation(args: tuple) -> tuple:
    """einsum(op0, sublist0, op1, sublist1, ..., [out]) as an equation string and its operands."""
    def term(sublist) -> str:
        letters = []
        for s in sublist:
            if s is Ellipsis:
                letters.append("...")
            elif isinstance(s, int) and 0 <= s < _N_LABELS:
                letters.append(_letter(s))
            else:
                raise ValueError(f"einsum(): subscript in sublist format must be in range [0, 52), got {s!r}")
        return "".join(letters)

    operands = args[0::2]
    lists = list(args[1::2])
    out = None
    if len(operands) > len(lists):
        operands, out = operands[:-1], operands[-1]
    equation = ",".join(term(s) for s in lists) + ("" if out is None else "->" + term(out))
    return equation, operands


def einsum(equation, *operands) -> Tensor:
    """Einstein summation: `einsum('bij,bjk->bik', a, b)`, also with a list of operands, implicit output
    (the labels seen once, in ASCII order), '...' and size-1 dims broadcasting, or the sublist format."""
    if isinstance(equation, Tensor):
        equation, operands = _sublist_equation((equation,) + operands)
    elif len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum(): argument 'equation' must be str, not {type(equation).__name__}")
    for k, x in enumerate(operands):
        if not isinstance(x, Tensor):
            raise TypeError(f"einsum(): expected Tensor as element {k} in argument 1, but got {type(x).__name__}")
    if operands and any(x.dtype is not operands[0].dtype for x in operands):
        names = ", ".join(x.dtype.name for x in operands)
        raise RuntimeError(f"einsum(): expected all operands to have the same dtype, but got {names} "
                           f"(expected scalar type {_SCALAR_NAMES[operands[0].dtype.name]})")
    subs, out = _parse(equation, operands)
    return Einsum(subs, out)(*_broadcast_labels(operands, subs))


def _broadcast_labels(operands: tuple, subs: tuple) -> list:
    """Expand the operands' size-1 dims to the size other operands give the same label."""
    sizes: dict = {}
    for k, (x, s) in enumerate(zip(operands, subs)):
        own: dict = {}
        for label, n in zip(s, x.shape):
            if own.setdefault(label, n) != n:
                raise RuntimeError(f"einsum(): subscript {_letter(label)} is repeated for operand {k} but the sizes "
                                   f"don't match, {own[label]} != {n} (operand shape {tuple(x.shape)})")
            seen = sizes.setdefault(label, n)
            if n != seen and n != 1 and seen != 1:
                raise RuntimeError(f"einsum(): subscript {_letter(label)} has size {n} for operand {k} (shape "
                                   f"{tuple(x.shape)}) which does not broadcast with previously seen size {seen}")
            sizes[label] = max(seen, n)
    return [x if all(n == sizes[label] for label, n in zip(s, x.shape))
            else x.expand(tuple(sizes[label] for label in s)) for x, s in zip(operands, subs)]


# ---- tensordot, inner -------------------------------------------------------------------------
def _contract(a: Tensor, b: Tensor, dims_a: list, dims_b: list, op: str) -> Tensor:
    """Sum over the paired dims of a and b; the result has a's free dims, then b's."""
    if a.dtype is not b.dtype:
        raise RuntimeError(f"{op}: both inputs should have same dtype, but got {a.dtype.name} and {b.dtype.name}")
    for da, db in zip(dims_a, dims_b):
        if a.shape[da] != b.shape[db]:
            raise RuntimeError(f"{op}: contracted dimensions need to match, but first has size {a.shape[da]} in dim "
                               f"{da} and second has size {b.shape[db]} in dim {db} (shapes {tuple(a.shape)} and "
                               f"{tuple(b.shape)})")
    if a.ndim + b.ndim - len(dims_a) > _N_LABELS:
        raise NotImplementedError(f"{op}: more than {_N_LABELS} dimensions in all")
    sa = list(range(a.ndim))
    sb = list(range(a.ndim, a.ndim + b.ndim))
    for da, db in zip(dims_a, dims_b):
        sb[db] = sa[da]
    out = tuple(s for i, s in enumerate(sa) if i not in dims_a) + tuple(s for i, s in enumerate(sb) if i not in dims_b)
    return Einsum((tuple(sa), tuple(sb)), out)(a, b)


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Contract the last `dims` dims of a with the first of b, or the dims listed in `dims = (dims_a, dims_b)`."""
    _check_tensor(a, "tensordot", "a", 1)
    _check_tensor(b, "tensordot", "b", 2)
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(a.ndim, b.ndim):
            raise RuntimeError(f"tensordot: dims={dims} is more than the dims of the operands "
                               f"{tuple(a.shape)} and {tuple(b.shape)}")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        dims_a, dims_b = ([d] if isinstance(d, int) else list(d) for d in dims)
        if len(dims_a) != len(dims_b):
            raise RuntimeError(f"tensordot: both dimension lists should have same length, got {dims_a} and {dims_b}")
        try:
            dims_a = [range(a.ndim)[d] for d in dims_a]
            dims_b = [range(b.ndim)[d] for d in dims_b]
        except IndexError:
            raise IndexError(f"tensordot: dims {dims} out of range for shapes {tuple(a.shape)} and "
                             f"{tuple(b.shape)}") from None
    return _contract(a, b, dims_a, dims_b, "tensordot")


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sum over the last dims of both; a 0-D operand multiplies instead."""
    _check_tensor(input, "inner", "input", 1)
    _check_tensor(other, "inner", "other", 2)
    if input.ndim == 0 or other.ndim == 0:
        return mul(input, other)
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(input.shape)} and {list(other.shape)}")
    return _contract(input, other, [input.ndim - 1], [other.ndim - 1], "inner")


TENSOR_METHODS = ("matmul", "mm", "bmm", "mv", "dot", "vdot", "outer", "ger", "inner", "addmm", "baddbmm")
__all__ = ["matmul", "mm", "bmm", "mv", "dot", "vdot", "outer", "ger", "inner", "addmm", "baddbmm", "einsum",
           "tensordot"]
