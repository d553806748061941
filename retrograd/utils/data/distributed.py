"""DistributedSampler: each rank of a data-parallel job reads its own share of the data set.

The indices (shuffled with seed + epoch, the same permutation on every rank) are
padded by repeating the first ones until their count divides evenly (or cut, with
`drop_last`), then rank r takes every num_replicas-th index from r on: the ranks'
shares are disjoint and equally long, as in PyTorch. Call `set_epoch(epoch)` at
the start of each epoch, or every epoch has the same order.
"""
from __future__ import annotations

from collections.abc import Iterator, Sized

from ...random import Generator, randperm
from .sampler import Sampler


class DistributedSampler(Sampler):
    """The indices of rank `rank` out of `num_replicas` (by default: the process group's)."""

    def __init__(self, dataset: Sized, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            from ... import distributed as dist

            if not dist.is_initialized():
                raise RuntimeError("DistributedSampler: num_replicas and rank default to the process group's, but "
                                   "none is initialized: call retrograd.distributed.init_process_group('mpi') "
                                   "first, or pass num_replicas and rank")
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if isinstance(num_replicas, bool) or not isinstance(num_replicas, int) or num_replicas <= 0:
            raise ValueError(f"DistributedSampler: num_replicas should be a positive integer, got {num_replicas!r}")
        if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = -(-(n - num_replicas) // num_replicas)  # the largest even share
        else:
            self.num_samples = -(-n // num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            indices = randperm(n, generator=Generator().manual_seed(self.seed + self.epoch)).tolist()
        else:
            indices = list(range(n))
        if self.drop_last:
            indices = indices[:self.total_size]
        else:
            padding = self.total_size - n
            indices += (indices * -(-padding // n))[:padding] if n else []
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Shuffle differently in this epoch (every rank must pass the same number)."""
        self.epoch = epoch


__all__ = ["DistributedSampler"]
