"""`DataLoader`, `default_collate` and `default_convert`, as in torch.utils.data.

Loading runs in the main process: `num_workers`, `prefetch_factor`, `persistent_workers`, `worker_init_fn`,
`timeout`, `multiprocessing_context` and `pin_memory` are accepted and checked as PyTorch checks them, but no
worker processes are started (`get_worker_info()` is always None). Batches of a dataset with a one-gather batch
function (`TensorDataset`, a `Subset` of one, the bundled data sets) are fetched with one advanced-indexing op
per tensor when the collate function is `default_collate`.
"""
from __future__ import annotations

import collections.abc
import copy
import itertools
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ... import dtypes as dt
from ...ops.creation import as_tensor, tensor
from ...ops.shape import stack
from ...tensor import Tensor
from .dataset import IterableDataset, batch_fetcher
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

_ERR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _is_text_or_object(array: np.ndarray) -> bool:
    """NumPy arrays of strings, bytes or objects: not convertible to tensors."""
    return array.dtype.kind in "SUaO"


def _collate_tensors(batch, *, collate_fn_map=None) -> Tensor:
    return stack(batch, 0)


def _collate_arrays(batch, *, collate_fn_map=None):
    if _is_text_or_object(batch[0]):
        raise TypeError(_ERR.format(batch[0].dtype))
    return collate([as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def _collate_numpy_scalars(batch, *, collate_fn_map=None) -> Tensor:
    return as_tensor(np.array(batch))  # one host array keeps the scalars' dtype (float64, int32, ...)


def _collate_floats(batch, *, collate_fn_map=None) -> Tensor:
    return tensor(batch, dtype=dt.float64)


def _collate_ints(batch, *, collate_fn_map=None) -> Tensor:
    return tensor(batch)


def _collate_strings(batch, *, collate_fn_map=None):
    return batch


# Looked up by exact type first, then by isinstance in this order (NumPy float64 is a float: numpy comes first).
default_collate_fn_map: dict[type | tuple[type, ...], Callable] = {
    Tensor: _collate_tensors,
    np.ndarray: _collate_arrays,
    (np.bool_, np.number, np.object_): _collate_numpy_scalars,
    float: _collate_floats,
    int: _collate_ints,
    str: _collate_strings,
    bytes: _collate_strings,
}


def _rebuild(like, items: dict | list, mutable_abc: type):
    """A container of `like`'s type holding `items` (a copy of `like` updated, or the type called on them),
    or a plain dict/list when the type cannot be built that way."""
    try:
        if isinstance(like, mutable_abc):
            clone = copy.copy(like)
            if isinstance(items, dict):
                clone.update(items)
            else:
                clone[:] = items
            return clone
        return type(like)(items)
    except TypeError:
        return items


def collate(batch: list, *, collate_fn_map: dict | None = None):
    """Merge a list of samples into a batch, recursing into mappings, namedtuples and sequences; leaves
    (tensors, arrays, numbers, strings) go to the function registered for their type in `collate_fn_map`."""
    elem = batch[0]
    if collate_fn_map is not None:
        fn = collate_fn_map.get(type(elem))
        if fn is None:
            fn = next((f for t, f in collate_fn_map.items() if isinstance(elem, t)), None)
        if fn is not None:
            return fn(batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        merged = {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map) for key in elem}
        return _rebuild(elem, merged, collections.abc.MutableMapping)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(x) != size for x in batch):
            raise RuntimeError(f"each element in list of batch should be of equal size: got sizes "
                               f"{[len(x) for x in batch]}")
        fields = [collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return fields  # a list, as PyTorch returns for tuples
        return _rebuild(elem, fields, collections.abc.MutableSequence)
    raise TypeError(_ERR.format(type(elem)))


def default_collate(batch: list):
    """Stack a list of samples into a batch: tensors stacked, NumPy arrays and numbers made tensors (Python
    floats float64, ints int64), strings kept as lists, and containers (dicts, namedtuples, lists, tuples)
    collated field by field (tuples become lists, as in PyTorch)."""
    return collate(batch, collate_fn_map=default_collate_fn_map)


def default_convert(data):
    """NumPy arrays and scalars (also inside containers) made tensors; everything else as it is.
    The collate function when automatic batching is off (`batch_size=None`)."""
    if isinstance(data, Tensor):
        return data
    if type(data).__module__ == "numpy" and not isinstance(data, (np.str_, np.bytes_)):
        if isinstance(data, np.ndarray) and _is_text_or_object(data):
            return data
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild(data, {k: default_convert(data[k]) for k in data}, collections.abc.MutableMapping)
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild(data, [default_convert(d) for d in data], collections.abc.MutableSequence)
    return data


def get_worker_info() -> None:
    """Always None: retrograd loads data in the main process."""
    return None


class _LoaderIter:
    """One pass over a DataLoader (what `iter(loader)` returns)."""

    def __init__(self, loader: DataLoader) -> None:
        self._loader = loader
        self._dataset = loader.dataset
        self._collate = loader.collate_fn
        self._auto = loader._auto_collation
        self._iterable = isinstance(loader.dataset, IterableDataset)
        if self._iterable:
            self._source = iter(loader.dataset)
        else:
            self._source = iter(loader._index_sampler)
        fast = self._auto and not self._iterable and loader.collate_fn is default_collate
        self._fetch_batch = batch_fetcher(loader.dataset) if fast else None

    def __iter__(self) -> _LoaderIter:
        return self

    def __len__(self) -> int:
        return len(self._loader)

    def __next__(self):
        if self._iterable:
            return self._next_streamed()
        index = next(self._source)
        if not self._auto:
            return self._collate(self._dataset[index])
        if self._fetch_batch is not None and index:
            return self._fetch_batch(index)
        getitems = getattr(self._dataset, "__getitems__", None)
        samples = getitems(index) if callable(getitems) else [self._dataset[i] for i in index]
        return self._collate(samples)

    def _next_streamed(self):
        """The next sample or batch of an IterableDataset."""
        if not self._auto:
            return self._collate(next(self._source))
        size = self._loader.batch_size
        samples = list(itertools.islice(self._source, size))
        if not samples or (self._loader.drop_last and len(samples) < size):
            raise StopIteration
        return self._collate(samples)


class DataLoader:
    """Batches of a dataset: samples in sampler order (shuffled each epoch when `shuffle`), grouped by
    `batch_size` and merged by `collate_fn`. Loading runs in the main process whatever `num_workers` is."""

    _FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")
    _initialized = False

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Sampler | None = None, batch_sampler: Sampler | None = None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False, drop_last: bool = False,
                 timeout: float = 0, worker_init_fn: Callable | None = None, multiprocessing_context=None,
                 generator=None, *, prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        _check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers, multiprocessing_context)
        if isinstance(dataset, IterableDataset):
            _check_iterable_options(shuffle, sampler, batch_sampler)
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: the sampler option is mutually exclusive with shuffle (the sampler "
                             "decides the order; use RandomSampler to shuffle)")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: the batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None disables automatic batching and is mutually exclusive "
                             "with drop_last")
        if sampler is None and not isinstance(dataset, IterableDataset):
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and sampler is not None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.prefetch_factor = 2 if num_workers > 0 and prefetch_factor is None else prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self.collate_fn = collate_fn if collate_fn is not None else (
            default_collate if self._auto_collation else default_convert)
        self._initialized = True

    def __setattr__(self, name: str, value: Any) -> None:
        if self._initialized and name in self._FROZEN:
            raise ValueError(f"{name} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_size is not None or self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self.batch_sampler is not None else self.sampler

    def __iter__(self) -> Iterator:
        return _LoaderIter(self)

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
        return len(self._index_sampler)


def _check_worker_options(num_workers: int, timeout: float, prefetch_factor: int | None,
                          persistent_workers: bool, multiprocessing_context) -> None:
    """PyTorch's checks of the multiprocessing options (which retrograd accepts and does not use)."""
    if num_workers < 0:
        raise ValueError(f"DataLoader: num_workers should be non-negative, got {num_workers}; "
                         "use num_workers=0 to load in the main process")
    if timeout < 0:
        raise ValueError(f"DataLoader: timeout should be non-negative, got {timeout}")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError("DataLoader: prefetch_factor can only be given with num_workers > 0 (multiprocessing); "
                         "otherwise leave it None")
    if prefetch_factor is not None and prefetch_factor < 0:
        raise ValueError(f"DataLoader: prefetch_factor should be non-negative, got {prefetch_factor}")
    if persistent_workers and num_workers == 0:
        raise ValueError("DataLoader: persistent_workers needs num_workers > 0")
    if multiprocessing_context is not None and num_workers == 0:
        raise ValueError("DataLoader: multiprocessing_context can only be used with multi-process loading "
                         f"(num_workers > 0), but got num_workers={num_workers}")


def _check_iterable_options(shuffle, sampler, batch_sampler) -> None:
    """An IterableDataset decides its own order: no shuffle, sampler or batch_sampler."""
    for name, value, unset in (("shuffle", shuffle, shuffle in (None, False)), ("sampler", sampler, sampler is None),
                               ("batch_sampler", batch_sampler, batch_sampler is None)):
        if not unset:
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified {name} option, but got "
                             f"{name}={value!r}")


__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]
