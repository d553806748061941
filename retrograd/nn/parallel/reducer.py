"""The gradient reducer of DistributedDataParallel: buckets whose all-reduce overlaps backward.

Parameters are grouped, in reverse registration order (about the order backward
produces their gradients), into buckets: one flat host buffer per bucket, one
dtype per bucket, at most `bucket_cap` bytes (the first bucket smaller, so that
communication starts early). A post-accumulate-grad hook on each parameter copies
its gradient, divided by the world size, into its slot; when a bucket's last slot
is filled its all-reduce starts (`Iallreduce`) while backward goes on with earlier
layers. Buckets start in index order on every rank, since MPI pairs non-blocking
collectives by the order they were started. When the last gradient has arrived,
the hook waits for every bucket and writes the averages back into `.grad`, so
`optimizer.step()` sees them.
"""
from __future__ import annotations

import weakref
from collections.abc import Iterator

import numpy as np

from ...device import namespace_of
from ...distributed.work import wait_all
from ...tensor import Tensor


class _Bucket:
    """Parameters whose gradients travel together in one flat buffer."""

    def __init__(self, indices: list[int], params: list[Tensor], dtype: np.dtype) -> None:
        self.indices = indices
        self.offsets = np.cumsum([0] + [p.numel() for p in params]).tolist()
        self.flat = np.empty(self.offsets[-1], dtype)
        self.pending = len(indices)
        self.request = None


def _comm_dtype(param: Tensor) -> np.dtype:
    """The dtype a gradient is reduced in: its own, except bfloat16 (which MPI cannot add) in float32."""
    d = param._data.dtype
    return np.dtype(np.float32) if d.name == "bfloat16" else d


def assign_buckets(params: list[Tensor], cap_bytes: int, first_cap_bytes: int) -> list[list[int]]:
    """Indices of `params` per bucket: reverse order, one dtype and device per bucket, closed once a
    bucket holds `first_cap_bytes` (the first bucket of each kind) or `cap_bytes` (the others)."""
    open_buckets: dict = {}
    closed: list[list[int]] = []
    for i in reversed(range(len(params))):
        p = params[i]
        key = (_comm_dtype(p), str(p.device))
        indices, size, limit = open_buckets.get(key, ([], 0, first_cap_bytes))
        indices.append(i)
        size += p.numel() * p._data.itemsize
        if size >= limit:
            closed.append(indices)
            indices, size, limit = [], 0, cap_bytes
        open_buckets[key] = (indices, size, limit)
    closed.extend(indices for indices, _, _ in open_buckets.values() if indices)
    return sorted(closed, key=lambda b: -b[0])


def _leaves_reached(outputs) -> set[int]:
    """ids of the leaf tensors the graph of `outputs` leads back to."""
    stack, seen, leaves = [], set(), set()
    for t in _tensors_in(outputs):
        if t.grad_fn is None:
            leaves.add(id(t))
        else:
            stack.append(t.grad_fn)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for e in node.edges:
            if e is None:
                continue
            if isinstance(e[0], Tensor):
                leaves.add(id(e[0]))
            else:
                stack.append(e[0])
    return leaves


def _tensors_in(obj) -> Iterator[Tensor]:
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for x in obj:
            yield from _tensors_in(x)
    elif isinstance(obj, dict):
        for x in obj.values():
            yield from _tensors_in(x)


def _hook(reducer_ref: weakref.ref, i: int):
    def on_grad(p: Tensor) -> None:
        reducer = reducer_ref()
        if reducer is not None:
            reducer.on_grad(i, p)
    return on_grad


def _remove_all(handles: list) -> None:
    for h in handles:
        h.remove()


class Reducer:
    """Averages the gradients of `params` over the group's ranks during backward."""

    def __init__(self, names: list[str], params: list[Tensor], group, cap_bytes: int, first_cap_bytes: int,
                 find_unused: bool) -> None:
        self.names = names
        self.params = params
        self.group = group
        self.find_unused = find_unused
        self.sync = True  # set by each forward: False under no_sync(), then the hooks do nothing
        self.buckets = [_Bucket(ix, [params[i] for i in ix], _comm_dtype(params[ix[0]]))
                        for ix in assign_buckets(params, cap_bytes, first_cap_bytes)]
        self.slot = [None] * len(params)  # param index -> (bucket, position in it)
        for b in self.buckets:
            for k, i in enumerate(b.indices):
                self.slot[i] = (b, k)
        self.marked = np.zeros(len(params), bool)
        self.remaining = len(params)
        self.next_bucket = 0
        self.used = None  # find_unused: 1 where a rank used the parameter (all-reduced with MAX)
        self.used_request = None
        self.inflight: list = []
        handles = [p.register_post_accumulate_grad_hook(_hook(weakref.ref(self), i)) for i, p in enumerate(params)]
        weakref.finalize(self, _remove_all, handles)  # a dropped DDP wrapper stops syncing the parameters

    def on_grad(self, i: int, p: Tensor) -> None:
        """Parameter i's gradient is complete for this backward pass."""
        if not self.sync:
            return
        if self.marked[i]:
            raise RuntimeError(
                f"DistributedDataParallel: parameter {self.names[i]} received a gradient twice in one reduction "
                "(expected to mark a variable ready only once). It may be used in two backward passes before "
                "a forward, or marked unused by find_unused_parameters=True and then used anyway.")
        self._mark(i, p.grad._data)

    def _mark(self, i: int, grad) -> None:
        """Put parameter i's gradient (None: zeros) into its bucket; start buckets that are complete."""
        bucket, k = self.slot[i]
        view = bucket.flat[bucket.offsets[k]:bucket.offsets[k + 1]]
        if grad is None:
            view[...] = 0
        else:
            host = grad if type(grad) is np.ndarray else grad.get()
            np.multiply(host.reshape(-1), 1.0 / self.group.size, out=view, casting="unsafe")
        self.marked[i] = True
        self.remaining -= 1
        bucket.pending -= 1
        if bucket.pending == 0:
            self._start_ready_buckets()
        if self.remaining == 0:
            self._finish()
        elif self.inflight:
            from mpi4py import MPI

            MPI.Request.Testall(self.inflight)  # lets MPI move the started buckets along

    def _start_ready_buckets(self) -> None:
        from mpi4py import MPI

        while self.next_bucket < len(self.buckets) and self.buckets[self.next_bucket].pending == 0:
            b = self.buckets[self.next_bucket]
            b.request = self.group.comm.Iallreduce(MPI.IN_PLACE, b.flat, op=MPI.SUM)
            self.inflight.append(b.request)
            self.next_bucket += 1

    def _finish(self) -> None:
        """Wait for every bucket, write the averages into `.grad`, and get ready for the next backward."""
        requests = [b.request for b in self.buckets]
        if self.used_request is not None:
            requests.append(self.used_request)
        wait_all(requests, "DistributedDataParallel's gradient all-reduce")
        for b in self.buckets:
            for k, i in enumerate(b.indices):
                if self.used is None or self.used[i]:
                    self._write_grad(self.params[i], b.flat[b.offsets[k]:b.offsets[k + 1]])
            b.pending = len(b.indices)
            b.request = None
        self.marked[:] = False
        self.remaining = len(self.params)
        self.next_bucket = 0
        self.used = self.used_request = None
        self.inflight = []

    @staticmethod
    def _write_grad(p: Tensor, averaged: np.ndarray) -> None:
        xp = namespace_of(p._data)
        value = xp.asarray(averaged).reshape(p._data.shape)
        if p.grad is None:
            p.grad = Tensor._make(value.astype(p._data.dtype))
        else:
            xp.copyto(p.grad._data, value, casting="unsafe")

    def prepare_for_forward(self) -> None:
        """Called before a forward that will be followed by a synchronised backward."""
        if self.marked.any():
            missing = [self.names[i] for i in np.flatnonzero(~self.marked)]
            raise RuntimeError(
                "DistributedDataParallel: expected to have finished reduction in the prior iteration before "
                "starting a new one: these parameters received no gradient in the last backward pass on rank "
                f"{self.group.rank}: {', '.join(missing)}. If your model has parameters not used in producing "
                "the loss, pass find_unused_parameters=True to DistributedDataParallel, and make sure all "
                "forward outputs take part in the loss.")

    def mark_unused(self, outputs) -> None:
        """find_unused_parameters: parameters outside the graph of `outputs` are ready now (zeros, or their
        accumulated gradient); only the ones no rank used keep their `.grad` untouched."""
        from mpi4py import MPI

        reached = _leaves_reached(outputs)
        used_here = np.array([id(p) in reached for p in self.params], np.uint8)
        self.used = used_here.copy()
        self.used_request = self.group.comm.Iallreduce(MPI.IN_PLACE, self.used, op=MPI.MAX)
        for i in np.flatnonzero(used_here == 0).tolist():
            g = self.params[i].grad
            self._mark(i, None if g is None else g._data)
