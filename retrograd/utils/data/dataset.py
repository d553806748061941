"""Datasets as in torch.utils.data: `Dataset`, `IterableDataset`, `TensorDataset`, `Subset`, `ConcatDataset`,
`random_split`.

A map-style dataset may also offer `_batch_fetcher()`: a function from a list of indices to the batch that
`default_collate([ds[i] for i in indices])` would build, computed with one gather per tensor instead of a
Python loop over samples (or None when it cannot). The DataLoader uses it when collating by default; it is
how `TensorDataset` batches are fetched with one `tensor[index]` per tensor.
"""
from __future__ import annotations

import bisect
import itertools
import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from ... import dtypes as dt
from ...ops.creation import tensor as _tensor
from ...random import randperm
from ...tensor import Tensor

BatchFetcher = Callable[[list], Any]


def index_tensor(indices: Sequence[int], like: Tensor) -> Tensor:
    """An int64 index tensor on `like`'s device, for fetching a batch with one gather."""
    return _tensor(indices, dtype=dt.int64, device=like.device)


def batch_fetcher(dataset: Any) -> BatchFetcher | None:
    """The dataset's one-gather batch function, or None when it has none."""
    get = getattr(dataset, "_batch_fetcher", None)
    return get() if get is not None else None


class Dataset:
    """A map-style dataset: `__getitem__(index)` gives a sample; most also define `__len__`."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Dataset must implement __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream of samples (`__iter__`), read in order by the DataLoader."""

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__}: subclasses of IterableDataset must implement __iter__")

    def __add__(self, other: IterableDataset) -> ChainDataset:
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Iterable datasets read one after the other."""

    def __init__(self, datasets: Iterable[IterableDataset]) -> None:
        self.datasets = datasets

    def __iter__(self) -> Iterator:
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError(f"ChainDataset only supports IterableDataset, got {type(d).__name__}")
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


class TensorDataset(Dataset):
    """Samples are the i-th rows of tensors that share their first dimension."""

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor) or t.dim() == 0:
                got = "a 0-d tensor" if isinstance(t, Tensor) else type(t).__name__
                raise TypeError(f"TensorDataset: argument {i} must be a tensor with at least one dimension, got {got}")
        sizes = [t.shape[0] for t in tensors]
        if any(s != sizes[0] for s in sizes):
            raise AssertionError(f"Size mismatch between tensors: TensorDataset needs the same size in dimension 0, "
                                 f"got sizes {sizes}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def _batch_fetcher(self) -> BatchFetcher:
        def fetch(indices: list) -> list:
            idx = index_tensor(indices, self.tensors[0])
            return [t[idx.to(t.device)] for t in self.tensors]

        return fetch


class StackDataset(Dataset):
    """Samples are tuples (positional datasets) or dicts (keyword datasets) of the datasets' samples."""

    def __init__(self, *args: Dataset, **kwargs: Dataset) -> None:
        if args and kwargs:
            raise ValueError("StackDataset: give datasets as positional or as keyword arguments, not both")
        parts = args or tuple(kwargs.values())
        if not parts:
            raise ValueError("StackDataset: at least one dataset is needed")
        lengths = [len(d) for d in parts]
        if any(n != lengths[0] for n in lengths):
            raise ValueError(f"Size mismatch between datasets: StackDataset needs equal lengths, got {lengths}")
        self.datasets = args if args else kwargs
        self._length = lengths[0]

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self) -> int:
        return self._length


class ConcatDataset(Dataset):
    """Map-style datasets one after the other: index `i` goes to the dataset that holds position `i`."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset (use ChainDataset)")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int):
        if idx < 0:
            if -idx > len(self):
                raise ValueError(f"ConcatDataset: index {idx} is out of range for a dataset of length {len(self)}")
            idx += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        if which == len(self.datasets):
            raise IndexError(f"ConcatDataset: index {idx} is out of range for a dataset of length {len(self)}")
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - start]


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list) -> list:
        inner = [self.indices[i] for i in indices]
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__(inner)
        return [self.dataset[i] for i in inner]

    def __len__(self) -> int:
        return len(self.indices)

    def _batch_fetcher(self) -> BatchFetcher | None:
        inner = batch_fetcher(self.dataset)
        if inner is None:
            return None
        return lambda indices: inner([self.indices[i] for i in indices])


def _fraction_lengths(n: int, fractions: Sequence[float]) -> list[int]:
    """Split sizes for fractions summing to 1: floor(n * f) each, the remainder dealt out one by one from the first."""
    lengths = []
    for i, f in enumerate(fractions):
        if f < 0 or f > 1:
            raise ValueError(f"random_split: fraction at index {i} is {f}, not between 0 and 1")
        lengths.append(math.floor(n * f))
    for i in range(n - sum(lengths)):
        lengths[i % len(lengths)] += 1
    for i, length in enumerate(lengths):
        if length == 0:
            warnings.warn(f"random_split: the split at index {i} has length 0 (an empty dataset)", stacklevel=3)
    return lengths


def random_split(dataset: Dataset, lengths: Sequence[int | float], generator=None) -> list[Subset]:
    """Split `dataset` into disjoint random `Subset`s of the given lengths (or fractions summing to 1)."""
    n = len(dataset)
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        lengths = _fraction_lengths(n, lengths)
    if sum(lengths) != n:
        raise ValueError(f"random_split: the lengths {list(lengths)} sum to {sum(lengths)}, not to the length of "
                         f"the dataset ({n}); give lengths summing to {n} or fractions summing to 1")
    indices = randperm(n, generator=generator).tolist()
    ends = itertools.accumulate(lengths)
    return [Subset(dataset, indices[end - length:end]) for end, length in zip(ends, lengths)]


__all__ = ["Dataset", "IterableDataset", "ChainDataset", "TensorDataset", "StackDataset", "ConcatDataset",
           "Subset", "random_split"]
