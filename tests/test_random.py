"""Random numbers: seeding, generators, shapes, dtypes, ranges and rough distributions."""
import numpy as np
import pytest

import retrograd as rg


def _draws(fn):
    """fn's result twice, after seeding the global generator the same way."""
    rg.manual_seed(123)
    first = fn().numpy().copy()
    rg.manual_seed(123)
    return first, fn().numpy()


SAMPLERS = {
    "rand": lambda: rg.rand(3, 4),
    "randn": lambda: rg.randn(3, 4),
    "randint": lambda: rg.randint(0, 10, (3, 4)),
    "randperm": lambda: rg.randperm(10),
    "multinomial": lambda: rg.multinomial(rg.tensor([0.1, 0.2, 0.3, 0.4]), 3),
    "multinomial_replacement": lambda: rg.multinomial(rg.tensor([0.1, 0.2, 0.3, 0.4]), 8, replacement=True),
    "normal": lambda: rg.normal(2.0, 3.0, (5,)),
    "rand_like": lambda: rg.rand_like(rg.zeros(3)),
    "uniform_": lambda: rg.zeros(5).uniform_(-1, 1),
}


@pytest.mark.parametrize("name", SAMPLERS)
def test_manual_seed_reproduces(name):
    first, second = _draws(SAMPLERS[name])
    np.testing.assert_array_equal(first, second)
    rg.manual_seed(124)  # (fixed seeds: whether these two draws differ is decided once, not by chance)
    assert not np.array_equal(SAMPLERS[name]().numpy(), first)


def test_draws_advance_the_state():
    rg.manual_seed(0)
    assert not np.array_equal(rg.rand(10).numpy(), rg.rand(10).numpy())


def test_rng_state_roundtrip():
    state = rg.get_rng_state()
    a = rg.randn(5).numpy().copy()
    rg.set_rng_state(state)
    np.testing.assert_array_equal(rg.randn(5).numpy(), a)
    assert rg.manual_seed(7) is rg.default_generator and rg.initial_seed() == 7


@pytest.mark.parametrize("fn", [rg.rand, rg.randn])
def test_float_factories_shapes_and_dtypes(fn):
    assert fn(2, 3).shape == (2, 3) and fn(2, 3).dtype is rg.float32
    assert fn((2, 3)).shape == (2, 3) and fn([4]).shape == (4,)
    assert fn(()).shape == ()
    assert fn(0, 3).shape == (0, 3)
    for d in (rg.float64, rg.float16):
        assert fn(4, dtype=d).dtype is d
    rg.set_default_dtype(rg.float64)
    assert fn(3).dtype is rg.float64
    with pytest.raises(NotImplementedError, match="not implemented for 'int64'"):
        fn(3, dtype=rg.int64)
    with pytest.raises(RuntimeError, match="negative dimension"):
        fn(-1, 3)


@pytest.mark.parametrize("dtype", [rg.float32, rg.float64, rg.float16])
def test_rand_range(dtype):
    x = rg.rand(200_000, dtype=dtype).numpy().astype(np.float64)
    assert x.min() >= 0 and x.max() < 1
    assert abs(x.mean() - 0.5) < 0.01 and abs(x.std() - np.sqrt(1 / 12)) < 0.01


def test_randn_statistics():
    x = rg.randn(500, 400).numpy().astype(np.float64)
    assert abs(x.mean()) < 0.01 and abs(x.std() - 1) < 0.01
    assert abs(((x - x.mean()) ** 3).mean()) < 0.03  # symmetric
    assert abs((x ** 4).mean() - 3) < 0.1  # normal kurtosis


def test_requires_grad():
    x = rg.randn(3, requires_grad=True)
    assert x.requires_grad and x.is_leaf
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 2, np.float32))
    assert rg.rand(3, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        rg.randint(5, (2,), requires_grad=True)


def test_randint():
    x = rg.randint(3, 7, (10_000,))
    assert x.dtype is rg.int64 and x.shape == (10_000,)
    v = x.numpy()
    assert v.min() == 3 and v.max() == 6
    counts = np.bincount(v - 3, minlength=4) / v.size
    np.testing.assert_allclose(counts, 0.25, atol=0.02)
    y = rg.randint(5, (2, 3))  # randint(high, size) starts at 0
    assert y.shape == (2, 3) and y.numpy().min() >= 0 and y.numpy().max() < 5
    assert rg.randint(0, 5, (3,), dtype=rg.float32).dtype is rg.float32
    assert rg.randint(-4, -2, (50,)).numpy().max() < -2
    with pytest.raises(RuntimeError, match="from=5 >= to=3"):
        rg.randint(5, 3, (3,))


def test_randperm():
    p = rg.randperm(50)
    assert p.dtype is rg.int64
    np.testing.assert_array_equal(np.sort(p.numpy()), np.arange(50))
    assert not np.array_equal(p.numpy(), np.arange(50))
    assert rg.randperm(5, dtype=rg.float32).dtype is rg.float32
    assert rg.randperm(0).shape == (0,)


def test_generator_is_independent_of_the_global_one():
    g = rg.Generator().manual_seed(5)
    a = rg.rand(5, generator=g).numpy().copy()
    rg.manual_seed(5)
    rg.rand(100)  # drawing from the global generator does not move g
    g2 = rg.Generator().manual_seed(5)
    np.testing.assert_array_equal(rg.rand(5, generator=g2).numpy(), a)
    rg.manual_seed(5)
    np.testing.assert_array_equal(rg.rand(5).numpy(), a)  # same seed, same algorithm
    state = rg.get_rng_state()
    rg.randn(3, generator=g)
    rg.randint(0, 5, (3,), generator=g)
    rg.randperm(4, generator=g)
    rg.multinomial(rg.ones(3), 2, generator=g)
    assert rg.get_rng_state() == state  # the global generator did not move
    assert g.initial_seed() == 5


def test_generator_state():
    g = rg.Generator().manual_seed(1)
    state = g.get_state()
    a = rg.randn(4, generator=g).numpy().copy()
    g.set_state(state)
    np.testing.assert_array_equal(rg.randn(4, generator=g).numpy(), a)
    s = g.seed()
    assert g.initial_seed() == s


def test_like():
    base = rg.zeros(2, 3, dtype=rg.float64)
    for fn in (rg.rand_like, rg.randn_like):
        x = fn(base)
        assert x.shape == (2, 3) and x.dtype is rg.float64 and not x.requires_grad
        assert fn(base, dtype=rg.float32).dtype is rg.float32
        assert fn(base, requires_grad=True).requires_grad
    assert rg.rand_like(base).numpy().max() < 1
    r = rg.randint_like(base, 3, 5)
    assert r.shape == (2, 3) and r.dtype is rg.float64 and set(np.unique(r.numpy())) <= {3.0, 4.0}
    assert rg.randint_like(base, 2).numpy().max() < 2


def test_multinomial_without_replacement():
    w = rg.tensor([1.0, 2.0, 3.0, 4.0, 0.0])
    for _ in range(20):
        s = rg.multinomial(w, 4)
        assert s.dtype is rg.int64 and s.shape == (4,)
        assert sorted(s.tolist()) == [0, 1, 2, 3]  # no repeats, zero weight never drawn while others remain
    rows = rg.multinomial(rg.rand(6, 10), 10)  # a full permutation per row
    assert rows.shape == (6, 10)
    np.testing.assert_array_equal(np.sort(rows.numpy(), axis=1), np.tile(np.arange(10), (6, 1)))


def test_multinomial_first_draw_frequencies():
    w = np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)
    first = rg.multinomial(rg.tensor(np.tile(w, (20_000, 1))), 2)[:, 0].numpy()
    np.testing.assert_allclose(np.bincount(first, minlength=4) / first.size, w / w.sum(), atol=0.015)


def test_multinomial_with_replacement_frequencies():
    w = rg.tensor([[1.0, 0.0, 3.0], [0.0, 5.0, 5.0]])
    s = rg.multinomial(w, 20_000, replacement=True)
    assert s.shape == (2, 20_000) and s.dtype is rg.int64
    f0 = np.bincount(s[0].numpy(), minlength=3) / 20_000
    f1 = np.bincount(s[1].numpy(), minlength=3) / 20_000
    np.testing.assert_allclose(f0, [0.25, 0.0, 0.75], atol=0.015)
    np.testing.assert_allclose(f1, [0.0, 0.5, 0.5], atol=0.015)
    assert f0[1] == 0 and f1[0] == 0  # zero weights are never drawn
    assert rg.multinomial(rg.tensor([0.0, 0.0, 1.0]), 5, replacement=True).tolist() == [2] * 5
    assert rg.tensor([1.0, 1.0]).multinomial(3, replacement=True).shape == (3,)


def test_multinomial_errors():
    with pytest.raises(RuntimeError, match="element < 0"):
        rg.multinomial(rg.tensor([1.0, -1.0, 2.0]), 1)
    with pytest.raises(RuntimeError, match="element < 0"):
        rg.multinomial(rg.tensor([1.0, float("nan")]), 1)
    with pytest.raises(RuntimeError, match=r"cannot sample n_sample=4 > prob_dist.size\(-1\)=3 samples without"):
        rg.multinomial(rg.tensor([1.0, 2.0, 3.0]), 4)
    with pytest.raises(RuntimeError, match="sum of probabilities <= 0"):
        rg.multinomial(rg.zeros(3), 1)
    with pytest.raises(RuntimeError, match="n_sample <= 0"):
        rg.multinomial(rg.ones(3), 0)
    with pytest.raises(RuntimeError, match="prob_dist must be 1 or 2 dim"):
        rg.multinomial(rg.ones(2, 2, 3), 1)
    with pytest.raises(RuntimeError, match="floating-point dtypes"):
        rg.multinomial(rg.tensor([1, 2, 3]), 1)


def test_inplace_samplers():
    x = rg.zeros(100_000)
    assert x.uniform_(-2, 3) is x
    v = x.numpy()
    assert v.min() >= -2 and v.max() <= 3 and abs(v.mean() - 0.5) < 0.03
    x.normal_(1.0, 2.0)
    assert abs(x.numpy().mean() - 1) < 0.03 and abs(x.numpy().std() - 2) < 0.03
    assert x.dtype is rg.float32
    y = rg.zeros(1000, dtype=rg.float64).uniform_()
    assert y.dtype is rg.float64 and 0 <= y.numpy().min() and y.numpy().max() < 1
    r = rg.zeros(1000).random_(3)
    assert set(np.unique(r.numpy())) == {0.0, 1.0, 2.0}
    r.random_(3, 5)
    assert set(np.unique(r.numpy())) == {3.0, 4.0}


def test_inplace_sampler_on_parameter_under_no_grad():
    w = rg.zeros(3, 4, requires_grad=True)
    with rg.no_grad():
        w.uniform_(-1, 1)
    assert w.requires_grad and w.is_leaf and np.all(w.numpy(force=True) != 0)


def test_normal():
    x = rg.normal(2.0, 0.5, (100_000,))
    assert x.dtype is rg.float32 and abs(x.numpy().mean() - 2) < 0.01 and abs(x.numpy().std() - 0.5) < 0.01
    m = rg.normal(rg.tensor([0.0, 100.0]), 1e-3)
    assert abs(m.numpy()[1] - 100) < 0.1
    assert rg.normal(rg.zeros(2, 1), rg.ones(3)).shape == (2, 3)


def test_bernoulli():
    p = rg.full((100_000,), 0.3)
    b = rg.bernoulli(p).numpy()
    assert set(np.unique(b)) <= {0.0, 1.0} and abs(b.mean() - 0.3) < 0.01
