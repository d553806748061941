"""retrograd.utils.data: datasets, samplers, DataLoader and collation, against torch.utils.data."""
import collections
import math
import warnings

import numpy as np
import pytest
from helpers import torch

import retrograd as rg
from retrograd.utils import data as rdata

tdata = torch.utils.data
Point = collections.namedtuple("Point", ["x", "y"])


def _assert_same(r, t, where="batch"):
    """A retrograd structure equals a torch one: container types, keys, tensor dtypes and values."""
    if isinstance(t, torch.Tensor):
        assert isinstance(r, rg.Tensor), f"{where}: {type(r).__name__} where torch has a tensor"
        assert r.dtype.name == str(t.dtype).split(".")[-1], f"{where}: dtype {r.dtype} != torch's {t.dtype}"
        assert tuple(r.shape) == tuple(t.shape), f"{where}: shape {tuple(r.shape)} != torch's {tuple(t.shape)}"
        np.testing.assert_array_equal(r.numpy(), t.numpy(), err_msg=where)
    elif isinstance(t, dict):
        assert type(r) is type(t) and list(r) == list(t), f"{where}: {r!r} vs torch's {t!r}"
        for k in t:
            _assert_same(r[k], t[k], f"{where}[{k!r}]")
    elif isinstance(t, (list, tuple)):
        assert type(r).__name__ == type(t).__name__ and len(r) == len(t), f"{where}: {r!r} vs torch's {t!r}"
        for i, (a, b) in enumerate(zip(r, t)):
            _assert_same(a, b, f"{where}[{i}]")
    else:
        assert type(r) is type(t) and r == t, f"{where}: {r!r} vs torch's {t!r}"


def _both(make):
    """make(module, tensor_fn) for retrograd and for torch: the same data built with each library."""
    return make(rg, rg.tensor), make(torch, torch.tensor)


def _table(n=10, d=3):
    x = np.arange(n * d, dtype=np.float32).reshape(n, d)
    y = np.arange(n)  # the sample index
    return (rg.utils.data.TensorDataset(rg.tensor(x), rg.tensor(y)),
            tdata.TensorDataset(torch.tensor(x), torch.tensor(y)))


def _indices(loader):
    """The sample order of a loader over a TensorDataset whose second tensor is the sample index."""
    return [i for _, idx in loader for i in idx.tolist()]


class Indexed(rdata.Dataset):
    """Sample i is i (a plain map-style dataset with no fast path)."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i

    def __len__(self):
        return self.n


# ---- datasets ----------------------------------------------------------------------------------------
def test_tensor_dataset_items_and_errors():
    r, t = _table()
    assert len(r) == len(t) == 10
    _assert_same(r[3], t[3])
    _assert_same(r[-1], t[-1])
    _assert_same(r[2:5], t[2:5])
    with pytest.raises(AssertionError, match="Size mismatch"):
        rdata.TensorDataset(rg.zeros(3, 2), rg.zeros(4))
    with pytest.raises(AssertionError):
        tdata.TensorDataset(torch.zeros(3, 2), torch.zeros(4))


def test_concat_subset_and_add():
    a, b = Indexed(3), Indexed(4)
    cat = a + b
    assert isinstance(cat, rdata.ConcatDataset)
    assert len(cat) == 7 and cat.cumulative_sizes == [3, 7]
    assert [cat[i] for i in range(7)] == [0, 1, 2, 0, 1, 2, 3]
    assert cat[-1] == 3 and cat[-7] == 0
    with pytest.raises(ValueError):
        cat[-8]
    with pytest.raises(IndexError):
        cat[7]
    with pytest.raises(AssertionError):
        rdata.ConcatDataset([])
    sub = rdata.Subset(cat, [6, 0, 3])
    assert len(sub) == 3 and [sub[i] for i in range(3)] == [3, 0, 0]
    assert sub.__getitems__([0, 2]) == [3, 0]


def test_dataset_base_raises():
    with pytest.raises(NotImplementedError):
        rdata.Dataset()[0]


@pytest.mark.parametrize("n", [10, 7, 1, 101])
@pytest.mark.parametrize("fractions", [[0.3, 0.7], [0.5, 0.5], [0.1, 0.2, 0.3, 0.4], [1 / 3, 1 / 3, 1 / 3]])
def test_random_split_fraction_lengths_like_torch(n, fractions):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero-length splits warn in both
        r = rdata.random_split(range(n), fractions, generator=rg.Generator().manual_seed(0))
        t = tdata.random_split(range(n), fractions, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in r] == [len(s) for s in t]
    got = sorted(i for s in r for i in s.indices)
    assert got == list(range(n)), "splits are disjoint and cover the dataset"


def test_random_split_lengths_reproducible_and_disjoint():
    ds = Indexed(20)
    a = rdata.random_split(ds, [5, 15], generator=rg.Generator().manual_seed(1))
    b = rdata.random_split(ds, [5, 15], generator=rg.Generator().manual_seed(1))
    c = rdata.random_split(ds, [5, 15], generator=rg.Generator().manual_seed(2))
    assert [s.indices for s in a] == [s.indices for s in b]
    assert [s.indices for s in a] != [s.indices for s in c]
    assert all(isinstance(s, rdata.Subset) and s.dataset is ds for s in a)
    assert not set(a[0].indices) & set(a[1].indices)
    assert sorted(a[0].indices + a[1].indices) == list(range(20))
    assert [a[0][i] for i in range(5)] == a[0].indices
    rg.manual_seed(3)
    d = rdata.random_split(ds, [10, 10])
    rg.manual_seed(3)
    assert [s.indices for s in rdata.random_split(ds, [10, 10])] == [s.indices for s in d]


@pytest.mark.parametrize("lengths", [[3, 3], [5, 6], [0.5, 0.6], [1.2, -0.2]])
def test_random_split_errors_like_torch(lengths):
    with pytest.raises(ValueError) as t_err:
        tdata.random_split(range(10), lengths)
    with pytest.raises(type(t_err.value)):
        rdata.random_split(range(10), lengths)


def test_random_split_zero_length_warns():
    with pytest.warns(UserWarning, match="length 0"):
        rdata.random_split(range(2), [0.1, 0.1, 0.8])


# ---- samplers -----------------------------------------------------------------------------------------
def test_sequential_and_batch_sampler_like_torch():
    for n, bs, drop in [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False), (2, 5, True)]:
        r = rdata.BatchSampler(rdata.SequentialSampler(range(n)), bs, drop)
        t = tdata.BatchSampler(tdata.SequentialSampler(range(n)), bs, drop)
        assert list(r) == list(t) and len(r) == len(t), (n, bs, drop)


def test_random_sampler_permutations():
    g = rg.Generator().manual_seed(0)
    s = rdata.RandomSampler(range(10), generator=g)
    first, second = list(s), list(s)
    assert sorted(first) == sorted(second) == list(range(10)) and first != second and len(s) == 10
    again = list(rdata.RandomSampler(range(10), generator=rg.Generator().manual_seed(0)))
    assert again == first
    more = list(rdata.RandomSampler(range(4), num_samples=10, generator=g))
    assert len(more) == 10 and sorted(more[:4]) == sorted(more[4:8]) == [0, 1, 2, 3] and set(more[8:]) <= {0, 1, 2, 3}
    fewer = list(rdata.RandomSampler(range(10), num_samples=3, generator=g))
    assert len(fewer) == 3 and len(set(fewer)) == 3


def test_random_sampler_replacement():
    s = rdata.RandomSampler(range(5), replacement=True, num_samples=1000, generator=rg.Generator().manual_seed(0))
    draws = np.array(list(s))
    assert len(draws) == len(s) == 1000 and draws.min() == 0 and draws.max() == 4
    assert np.all(np.bincount(draws) > 150)


def test_random_sampler_without_generator_uses_default_generator():
    rg.manual_seed(5)
    a = list(rdata.RandomSampler(range(50)))
    rg.manual_seed(5)
    b = list(rdata.RandomSampler(range(50)))
    assert a == b and sorted(a) == list(range(50))


def test_subset_random_sampler():
    s = rdata.SubsetRandomSampler([10, 20, 30, 40], generator=rg.Generator().manual_seed(0))
    a, b = list(s), list(s)
    assert sorted(a) == sorted(b) == [10, 20, 30, 40] and len(s) == 4


def test_weighted_random_sampler():
    g = rg.Generator().manual_seed(0)
    draws = list(rdata.WeightedRandomSampler([0.0, 1.0, 3.0, 0.0], 400, generator=g))
    counts = np.bincount(draws, minlength=4)
    assert counts[0] == counts[3] == 0 and 60 < counts[1] < 140
    no_repl = list(rdata.WeightedRandomSampler([1.0, 2.0, 3.0], 3, replacement=False, generator=g))
    assert sorted(no_repl) == [0, 1, 2]


@pytest.mark.parametrize("make", [
    lambda m: m.RandomSampler(range(3), replacement=1),
    lambda m: m.RandomSampler(range(3), num_samples=0),
    lambda m: m.RandomSampler(range(3), num_samples=2.5),
    lambda m: m.BatchSampler(range(3), 0, False),
    lambda m: m.BatchSampler(range(3), True, False),
    lambda m: m.BatchSampler(range(3), 2, 1),
    lambda m: m.WeightedRandomSampler([1.0, 2.0], 0),
    lambda m: m.WeightedRandomSampler([1.0, 2.0], 2, replacement="yes"),
    lambda m: m.WeightedRandomSampler([[1.0, 2.0]], 2),
])
def test_sampler_argument_errors_like_torch(make):
    with pytest.raises(Exception) as t_err:
        make(tdata)
    with pytest.raises(type(t_err.value)):
        make(rdata)


# ---- DataLoader ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("bs,drop", [(1, False), (3, False), (3, True), (5, True), (10, False), (12, True)])
def test_loader_batches_and_len_like_torch(bs, drop):
    r, t = _table()
    rl, tl = rdata.DataLoader(r, batch_size=bs, drop_last=drop), tdata.DataLoader(t, batch_size=bs, drop_last=drop)
    assert len(rl) == len(tl)
    rb, tb = list(rl), list(tl)
    assert len(rb) == len(tb)
    for i, (a, b) in enumerate(zip(rb, tb)):
        _assert_same(a, b, f"batch {i}")


def test_shuffle_reproducible_with_generator_and_new_each_epoch():
    r, _ = _table(20)
    loader = rdata.DataLoader(r, batch_size=6, shuffle=True, generator=rg.Generator().manual_seed(0))
    epoch1, epoch2 = _indices(loader), _indices(loader)
    assert sorted(epoch1) == sorted(epoch2) == sorted(_indices(rdata.DataLoader(r, batch_size=6)))
    assert epoch1 != epoch2, "a new order each epoch"
    other = rdata.DataLoader(r, batch_size=6, shuffle=True, generator=rg.Generator().manual_seed(0))
    assert _indices(other) == epoch1 and _indices(other) == epoch2
    assert _indices(rdata.DataLoader(r, batch_size=6, shuffle=True, generator=rg.Generator().manual_seed(1))) != epoch1


def test_shuffle_with_default_generator():
    r = rdata.TensorDataset(rg.arange(30))
    rg.manual_seed(7)
    a = [b[0].tolist() for b in rdata.DataLoader(r, batch_size=4, shuffle=True)]
    rg.manual_seed(7)
    b = [b[0].tolist() for b in rdata.DataLoader(r, batch_size=4, shuffle=True)]
    assert a == b and sorted(sum(a, [])) == list(range(30))


def test_shuffle_drop_last():
    r, _ = _table(10)
    loader = rdata.DataLoader(r, batch_size=4, shuffle=True, drop_last=True, generator=rg.Generator().manual_seed(0))
    batches = list(loader)
    assert len(loader) == len(batches) == 2 and all(b[0].shape[0] == 4 for b in batches)
    assert len(set(_indices(loader))) == 8


def test_custom_collate_fn_sampler_and_batch_sampler():
    ds = Indexed(7)
    loader = rdata.DataLoader(ds, batch_size=3, collate_fn=lambda batch: sum(batch))
    assert list(loader) == [3, 12, 6]
    rev = rdata.DataLoader(ds, batch_size=2, sampler=list(reversed(range(7))))
    assert [b.tolist() for b in rev] == [[6, 5], [4, 3], [2, 1], [0]]
    bs = rdata.DataLoader(ds, batch_sampler=[[0, 6], [1, 2, 3]])
    assert [b.tolist() for b in bs] == [[0, 6], [1, 2, 3]] and len(bs) == 2
    assert bs.batch_size is None and bs.drop_last is False


def test_no_auto_batching_converts_like_torch():
    samples = [np.array([1.5, 2.0]), 3, "s"]
    r = list(rdata.DataLoader(samples, batch_size=None))
    t = list(tdata.DataLoader(samples, batch_size=None))
    for a, b in zip(r, t):
        _assert_same(a, b)


def test_num_workers_load_in_main_process():
    r, t = _table()
    rb = list(rdata.DataLoader(r, batch_size=4, num_workers=2, persistent_workers=True, prefetch_factor=4))
    for a, b in zip(rb, tdata.DataLoader(t, batch_size=4)):
        _assert_same(a, b)
    assert rdata.get_worker_info() is None


@pytest.mark.parametrize("kwargs", [
    dict(shuffle=True, sampler=[0, 1]),
    dict(batch_sampler=[[0]], batch_size=2),
    dict(batch_sampler=[[0]], shuffle=True),
    dict(batch_sampler=[[0]], sampler=[0]),
    dict(batch_sampler=[[0]], drop_last=True),
    dict(batch_size=None, drop_last=True),
    dict(num_workers=-1),
    dict(timeout=-1),
    dict(prefetch_factor=2),
    dict(num_workers=1, prefetch_factor=-1),
    dict(persistent_workers=True),
    dict(batch_size=0),
    dict(drop_last=1),
])
def test_loader_argument_errors_like_torch(kwargs):
    with pytest.raises(Exception) as t_err:
        tdata.DataLoader(list(range(4)), **kwargs)
    with pytest.raises(type(t_err.value)):
        rdata.DataLoader(list(range(4)), **kwargs)


def test_loader_attributes_frozen_after_init():
    loader = rdata.DataLoader(Indexed(4), batch_size=2)
    for name in ("batch_size", "sampler", "dataset", "drop_last"):
        with pytest.raises(ValueError, match=name):
            setattr(loader, name, None)
    loader.collate_fn = len
    assert list(loader) == [2, 2]


class Stream(rdata.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


class TStream(tdata.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


@pytest.mark.parametrize("bs,drop", [(3, False), (3, True), (None, False)])
def test_iterable_dataset_like_torch(bs, drop):
    r, t = rdata.DataLoader(Stream(8), batch_size=bs, drop_last=drop), tdata.DataLoader(TStream(8), batch_size=bs,
                                                                                         drop_last=drop)
    assert len(r) == len(t)
    _assert_same(list(r), list(t))
    with pytest.raises(ValueError, match="shuffle"):
        rdata.DataLoader(Stream(3), shuffle=True)
    with pytest.raises(ValueError, match="sampler"):
        rdata.DataLoader(Stream(3), sampler=[0])
    assert list(Stream(2) + Stream(3)) == [0, 1, 0, 1, 2]


# ---- collation ----------------------------------------------------------------------------------------
def _nested_samples(lib, make_tensor):
    return [
        {"img": make_tensor(np.full((2, 3), i, dtype=np.float32)),
         "arr": np.arange(3, dtype=np.int32) + i,
         "f": 0.5 * i, "i": i, "b": i % 2 == 0, "s": f"name{i}",
         "np_f64": np.float64(i) / 3, "np_i16": np.int16(i), "np_f32arr0": np.array(i, dtype=np.float32),
         "pair": (make_tensor([i, i + 1]), f"t{i}"),
         "lst": [i, float(i)],
         "pt": Point(x=make_tensor(float(i)), y=i)}
        for i in range(3)
    ]


def test_default_collate_nested_like_torch():
    r = rdata.default_collate(_nested_samples(rg, rg.tensor))
    t = tdata.default_collate(_nested_samples(torch, torch.tensor))
    _assert_same(r, t)


@pytest.mark.parametrize("batch", [
    [1, 2, 3], [1.0, 2.5], [True, False], ["a", "b"], [b"x", b"y"],
    [(1, "a"), (2, "b")], [[1, 2], [3, 4]], [np.float32(1.5), np.float32(2)], [np.int32(1), np.int32(2)],
    [np.zeros((2, 2), dtype=np.uint8), np.ones((2, 2), dtype=np.uint8)],
])
def test_default_collate_leaves_like_torch(batch):
    _assert_same(rdata.default_collate(batch), tdata.default_collate(batch))


@pytest.mark.parametrize("batch", [
    [None, None], [[1, 2], [3]], [np.array(["a"]), np.array(["b"])], [object(), object()],
])
def test_default_collate_errors_like_torch(batch):
    with pytest.raises(Exception) as t_err:
        tdata.default_collate(batch)
    with pytest.raises(type(t_err.value)):
        rdata.default_collate(batch)


def test_default_collate_tensor_shape_mismatch():
    with pytest.raises(RuntimeError, match="stack"):
        rdata.default_collate([rg.zeros(2), rg.zeros(3)])


def test_default_convert_like_torch():
    sample = {"a": np.arange(3), "b": (np.float64(2.0), "x"), "c": [np.ones(2, dtype=np.float32), 1],
              "p": Point(np.array(1), 2)}
    _assert_same(rdata.default_convert(sample), tdata.default_convert(sample))


# ---- the TensorDataset fast path ---------------------------------------------------------------------------
def _generic(batch):
    return rdata.default_collate(batch)


def _assert_batches_equal(fast_loader, slow_loader):
    fast, slow = list(fast_loader), list(slow_loader)
    assert len(fast) == len(slow)
    for a, b in zip(fast, slow):
        assert type(a) is type(b) is list and len(a) == len(b)
        for x, y in zip(a, b):
            assert x.dtype is y.dtype and x.shape == y.shape
            np.testing.assert_array_equal(x.numpy(), y.numpy())


@pytest.mark.parametrize("drop", [False, True])
def test_tensor_dataset_fast_path_equals_generic(drop):
    x = rg.randn(23, 2, 3)
    ds = rdata.TensorDataset(x, rg.randint(0, 5, (23,)), rg.arange(23).to(rg.float64) > 10)
    kw = dict(batch_size=5, shuffle=True, drop_last=drop)
    _assert_batches_equal(rdata.DataLoader(ds, generator=rg.Generator().manual_seed(3), **kw),
                          rdata.DataLoader(ds, generator=rg.Generator().manual_seed(3), collate_fn=_generic, **kw))
    sub = rdata.Subset(ds, [22, 0, 5, 7, 9, 1, 2])
    _assert_batches_equal(rdata.DataLoader(sub, batch_size=3), rdata.DataLoader(sub, batch_size=3, collate_fn=_generic))


def test_tensor_dataset_fast_path_skips_per_sample_items():
    class Counting(rdata.TensorDataset):
        calls = 0

        def __getitem__(self, index):
            Counting.calls += 1
            return super().__getitem__(index)

    ds = Counting(rg.arange(10.0), rg.arange(10))
    batches = list(rdata.DataLoader(ds, batch_size=4, shuffle=True))
    assert Counting.calls == 0 and len(batches) == 3
    list(rdata.DataLoader(ds, batch_size=4, collate_fn=_generic))
    assert Counting.calls == 10


def test_tensor_dataset_fast_path_keeps_grad():
    w = rg.arange(6.0, requires_grad=True)
    (xb,) = next(iter(rdata.DataLoader(rdata.TensorDataset(w), batch_size=3, sampler=[4, 1, 4])))
    xb.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [0, 1, 0, 0, 2, 0])


def test_loader_len_matches_iteration():
    for n, bs, drop in [(0, 2, False), (1, 2, True), (7, 7, False), (8, 3, False)]:
        loader = rdata.DataLoader(rdata.TensorDataset(rg.arange(n)), batch_size=bs, drop_last=drop)
        assert len(loader) == len(list(loader)) == (n // bs if drop else math.ceil(n / bs))
        assert len(iter(loader)) == len(loader)


def test_stack_dataset_like_torch():
    r, t = _table(4)
    _assert_same(rdata.StackDataset(r, Indexed(4))[2], tdata.StackDataset(t, list(range(4)))[2])
    _assert_same(rdata.StackDataset(a=r, b=Indexed(4))[1], tdata.StackDataset(a=t, b=list(range(4)))[1])
    assert len(rdata.StackDataset(r, r)) == 4
    with pytest.raises(ValueError, match="Size mismatch"):
        rdata.StackDataset(r, Indexed(3))
