"""DistributedDataParallel: the same model on every rank, each on its own share of the data.

At construction the ranks check that they hold the same model and copy rank 0's
parameters and buffers, so every rank starts from the same weights. During
backward a `Reducer` averages the gradients over the ranks, bucket by bucket,
overlapping the communication with the rest of the backward pass; after backward
every rank has the same gradients, and the same optimizer step keeps the replicas
identical. `no_sync()` skips the averaging to accumulate gradients locally; the
next synchronised backward averages the accumulated gradients.
"""
from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from ...autograd.grad_mode import is_grad_enabled
from ...distributed.collectives import all_gather, as_bytes, broadcast, host_array, store
from ...distributed.process_group import get_rank, get_world_size, group_of
from ...tensor import Tensor
from ..modules.module import Module
from .reducer import Reducer

_MB = 1024 * 1024
_FIRST_BUCKET_MB = 1.0  # small first bucket: the last layers' gradients leave while the rest of backward runs


class DistributedDataParallel(Module):
    """Wraps `module`: forward is the module's; backward also averages gradients across ranks."""

    def __init__(self, module: Module, device_ids: list | None = None, output_device=None, *,
                 broadcast_buffers: bool = True, process_group=None, bucket_cap_mb: float | None = None,
                 find_unused_parameters: bool = False) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module should be a Module, got {type(module).__name__}")
        group = group_of(process_group, "DistributedDataParallel")
        cap = 25.0 if bucket_cap_mb is None else bucket_cap_mb
        if isinstance(cap, bool) or not isinstance(cap, (int, float)) or cap <= 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb should be a positive number, got {cap!r}")
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter "
                               "that requires a gradient.")
        _check_devices(module, device_ids, output_device)
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        self._group = group
        _check_same_model(module)
        _broadcast_from_rank0(list(module.parameters()) + list(module.buffers()))
        self.reducer = Reducer([n for n, _ in named], [p for _, p in named], group, int(cap * _MB),
                               int(min(cap, _FIRST_BUCKET_MB) * _MB), find_unused_parameters)

    def forward(self, *inputs, **kwargs):
        grad = is_grad_enabled()
        sync = grad and self.require_backward_grad_sync
        if sync:
            self.reducer.prepare_for_forward()
        if grad:
            self.reducer.sync = self.require_backward_grad_sync
        if self.broadcast_buffers and self.training and self._group.size > 1:
            _broadcast_from_rank0(list(self.module.buffers()))
        output = self.module(*inputs, **kwargs)
        if sync and self.find_unused_parameters:
            self.reducer.mark_unused(output)
        return output

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes of forwards run inside this block accumulate gradients without communicating."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous


def _check_devices(module: Module, device_ids, output_device) -> None:
    devices = {str(p.device) for p in module.parameters()}
    if len(devices) > 1:
        raise ValueError(f"DistributedDataParallel: the module's parameters are on several devices ({devices}); "
                         "put the whole module on one device")
    device = devices.pop()
    if device == "cpu" and (device_ids or output_device is not None):
        raise ValueError(f"DistributedDataParallel device_ids and output_device arguments only work with "
                         f"single-device GPU modules, but got device_ids {device_ids}, output_device "
                         f"{output_device}, and module parameters on {device}.")


def _check_same_model(module: Module) -> None:
    """Every rank must wrap the same architecture: compare a checksum of names, shapes and dtypes."""
    layout = [(n, tuple(t.shape), str(t.dtype)) for n, t in module.state_dict(keep_vars=True).items()]
    mine = Tensor._make(np.array([len(layout), zlib.crc32(repr(layout).encode())], np.int64))
    everyone = [Tensor._make(np.empty(2, np.int64)) for _ in range(get_world_size())]
    all_gather(everyone, mine)
    for rank, theirs in enumerate(everyone):
        if not np.array_equal(theirs._data, everyone[0]._data):
            raise RuntimeError(f"DistributedDataParallel: rank {rank} wraps a different model than rank 0 (its "
                               "parameters and buffers differ in names, shapes or dtypes); every rank must build "
                               "the same model")


def _broadcast_from_rank0(tensors: list[Tensor]) -> None:
    """Copy rank 0's values into `tensors` on every rank, in one message."""
    if not tensors:
        return
    hosts = [host_array(t) for t in tensors]
    flat = Tensor._make(np.concatenate([as_bytes(h) for h in hosts]))
    broadcast(flat, 0)
    if get_rank() == 0:
        return
    offset = 0
    for t, h in zip(tensors, hosts):
        as_bytes(h)[...] = flat._data[offset:offset + h.nbytes]
        offset += h.nbytes
        store(t, h)
