"""Random numbers: `manual_seed`, `Generator`, `rand`, `randn`, `randint`, `randperm`, `multinomial`, ...

Numbers are drawn on the host by NumPy's PCG64 generator and moved to the
requested device, so a seed gives the same numbers on every device. They are not
PyTorch's numbers for the same seed (its generator is a different algorithm).
"""
from __future__ import annotations

import numpy as np

from . import dtypes as dt
from .device import to_device, to_device_arg
from .ops.creation import _dtype_or_default, _finish, _size
from .tensor import Tensor

_DEFAULT_SEED = 67280421310721


class Generator:
    """A seeded source of random numbers (`Generator().manual_seed(0)`), as for DataLoader shuffling."""

    def __init__(self, device="cpu"):
        self.device = to_device_arg(device)
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed: int) -> Generator:
        self._seed = int(seed)
        self.np = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self) -> int:
        s = int(np.random.SeedSequence().entropy % (2**63))
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        return self.np.bit_generator.state

    def set_state(self, state: dict) -> Generator:
        self.np.bit_generator.state = state
        return self


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (all devices draw from it)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> dict:
    return default_generator.get_state()


def set_rng_state(state: dict) -> None:
    default_generator.set_state(state)


def _gen(generator: Generator | None) -> np.random.Generator:
    return (generator or default_generator).np


def _place(array, dtype: dt.dtype, device, requires_grad: bool) -> Tensor:
    return _finish(to_device(array.astype(dtype.np, copy=False), to_device_arg(device)), requires_grad)


def _float_dtype(dtype, op: str) -> dt.dtype:
    d = _dtype_or_default(dtype)
    if not d.is_floating_point:
        raise NotImplementedError(f"{op}: \"{op}\" not implemented for '{d.name}': expected a floating-point dtype")
    return d


# bits of precision of each floating dtype: uniform draws are multiples of 2**-bits, so they stay below 1 when cast
_PRECISION_BITS = {"float64": 53, "float32": 24, "float16": 11, "bfloat16": 8}


def _uniform01(g: np.random.Generator, shape: tuple, d: dt.dtype) -> np.ndarray:
    """Uniform on [0, 1), drawn at the precision of `d` so that rounding never reaches 1."""
    if d is dt.float64 or d is dt.float32:
        return g.random(shape, dtype=d.np)
    scale = 2.0 ** _PRECISION_BITS[d.name]
    return np.floor(g.random(shape, dtype=np.float32) * scale) / scale


def rand(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform on [0, 1)."""
    d = _float_dtype(dtype, "rand")
    return _place(_uniform01(_gen(generator), _size(size), d), d, device, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal."""
    d = _float_dtype(dtype, "randn")
    draw_dtype = d.np if d is dt.float64 or d is dt.float32 else np.float32
    return _place(_gen(generator).standard_normal(_size(size), dtype=draw_dtype), d, device, requires_grad)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """Integers uniform on [low, high); `randint(high, size)` starts at 0."""
    if size is None:
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    d = dt.to_dtype(dtype) if dtype is not None else dt.int64
    return _place(_gen(generator).integers(low, high, _size((size,))), d, device, requires_grad)


def randperm(n: int, *, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    d = dt.to_dtype(dtype) if dtype is not None else dt.int64
    return _place(_gen(generator).permutation(n), d, device, requires_grad)


def _like(fn):
    def like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False, memory_format=None):
        return fn(input.shape, dtype=dtype or input.dtype, device=device or input.device,
                  requires_grad=requires_grad)

    like.__name__ = fn.__name__ + "_like"
    return like


rand_like = _like(rand)
randn_like = _like(randn)


def randint_like(input: Tensor, low, high=None, *, dtype=None, device=None) -> Tensor:
    """`randint_like(input, high)` or `randint_like(input, low, high)`, with input's shape, dtype and device."""
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), dtype=dtype or input.dtype, device=device or input.device)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None) -> Tensor:
    """Normal samples: scalar mean/std with `size`, or elementwise tensors."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        ref = mean if isinstance(mean, Tensor) else std
        shape = np.broadcast_shapes(*(tuple(x.shape) for x in (mean, std) if isinstance(x, Tensor)))
        return randn(shape, generator=generator, dtype=ref.dtype, device=ref.device).mul(std).add(mean)
    if size is None:
        raise TypeError("normal(): with a float mean and std, the argument 'size' is required")
    return randn(_size((size,)), generator=generator, dtype=dtype, device=device).mul(std).add(mean)


def bernoulli(input: Tensor, p=None, *, generator=None) -> Tensor:
    """0/1 samples with probabilities `input` (or `p`)."""
    probs = input._data if p is None else p
    u = _gen(generator).random(tuple(input.shape))
    xp_probs = probs if isinstance(probs, float) else np.asarray(Tensor._make(probs).__array__())
    return Tensor._make(to_device((u < xp_probs).astype(input.dtype.np), input.device))


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *, generator=None) -> Tensor:
    """Indices drawn from the rows of `input` (non-negative weights, not necessarily normalised)."""
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: {input.dtype.name}")
    w = np.asarray(input.__array__(), dtype=np.float64)
    if w.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {tuple(w.shape)}")
    if num_samples <= 0:
        raise RuntimeError(f"multinomial: cannot sample n_sample <= 0 samples (got {num_samples})")
    rows = w.reshape(-1, w.shape[-1])
    if (rows < 0).any() or not np.isfinite(rows).all():
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or element < 0")
    if (rows.sum(axis=1) <= 0).any():
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError(f"multinomial: cannot sample n_sample={num_samples} > prob_dist.size(-1)="
                           f"{rows.shape[1]} samples without replacement")
    g = _gen(generator)
    n_rows, n_cat = rows.shape
    if replacement:
        # inverse CDF, all rows in one search: row i's CDF (ending at exactly 1) is shifted up by i
        cdf = np.cumsum(rows, axis=1)
        cdf /= cdf[:, -1:]
        shift = np.arange(n_rows, dtype=np.float64)[:, None]
        u = g.random((n_rows, num_samples)) + shift
        out = np.searchsorted((cdf + shift).ravel(), u.ravel(), side="right").reshape(n_rows, num_samples)
        out -= np.arange(n_rows)[:, None] * n_cat
        last_positive = n_cat - 1 - np.argmax(rows[:, ::-1] > 0, axis=1)  # where u + i rounded up to i + 1
        out = np.minimum(out, last_positive[:, None])
    else:  # Gumbel top-k: the k largest of log w + Gumbel noise are a sample without replacement
        with np.errstate(divide="ignore"):  # zero weights get key -inf: drawn only after all the others
            keys = np.log(rows) + g.gumbel(size=rows.shape)
        out = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    out = out.reshape(w.shape[:-1] + (num_samples,))
    return Tensor._make(to_device(out.astype(np.int64), input.device))


def _inplace_sampler(draw):
    def op(self: Tensor, *args, generator=None, **kwargs) -> Tensor:
        sample = draw(_gen(generator), tuple(self.shape), *args, **kwargs)
        return self.copy_(Tensor._make(to_device(np.asarray(sample).astype(self.dtype.np), self.device)))

    return op


uniform_ = _inplace_sampler(lambda g, shape, a=0.0, b=1.0: g.uniform(a, b, shape))
normal_ = _inplace_sampler(lambda g, shape, mean=0.0, std=1.0: g.normal(mean, std, shape))
bernoulli_ = _inplace_sampler(lambda g, shape, p=0.5: g.random(shape) < p)
exponential_ = _inplace_sampler(lambda g, shape, lambd=1.0: g.exponential(1 / lambd, shape))
random_ = _inplace_sampler(lambda g, shape, low=2**24, high=None:  # random_(to) draws from [0, to)
                           g.integers(0, low, shape) if high is None else g.integers(low, high, shape))

TENSOR_METHODS = ("uniform_", "normal_", "bernoulli_", "exponential_", "random_", "multinomial")
__all__ = ["Generator", "default_generator", "manual_seed", "seed", "initial_seed", "get_rng_state",
           "set_rng_state", "rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like",
           "normal", "bernoulli", "multinomial"]
