"""Collectives on tensors, with PyTorch's names and semantics: in place, optionally asynchronous.

Each one starts a non-blocking MPI operation (`Iallreduce`, `Ibcast`, `Iallgather`,
`Ibarrier`) on a host buffer: the tensor's own array on cpu, a host copy for other
devices (MPI here is not CUDA-aware). `async_op=True` returns a `Work` whose `wait()`
finishes it; otherwise the call waits, with the group's deadline. MPI has no AVG:
it is a SUM followed by a division. bool and bfloat16 are reduced through uint8 and
float32, which MPI knows.
"""
from __future__ import annotations

import enum

import numpy as np

from ..device import namespace_of
from ..tensor import Tensor
from .process_group import group_of
from .work import Work


class ReduceOp(enum.Enum):
    """How `all_reduce` combines the ranks' tensors."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"


_BITWISE = (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR)
# bool tensors: logical or / and / xor on 0-1 bytes
_BOOL_OPS = {ReduceOp.SUM: "MAX", ReduceOp.MAX: "MAX", ReduceOp.BOR: "MAX", ReduceOp.PRODUCT: "MIN",
             ReduceOp.MIN: "MIN", ReduceOp.BAND: "MIN", ReduceOp.BXOR: "BXOR"}
_MPI_OPS = {ReduceOp.SUM: "SUM", ReduceOp.AVG: "SUM", ReduceOp.PRODUCT: "PROD", ReduceOp.MIN: "MIN",
            ReduceOp.MAX: "MAX", ReduceOp.BAND: "BAND", ReduceOp.BOR: "BOR", ReduceOp.BXOR: "BXOR"}


def _check_tensor(t, op: str) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(t).__name__}")
    if not t.is_contiguous():
        raise ValueError(f"{op}: Tensors must be contiguous")


def host_array(t: Tensor) -> np.ndarray:
    """The tensor's array on the host: itself on cpu, a copy elsewhere."""
    return t._data if type(t._data) is np.ndarray else t._data.get()


def store(t: Tensor, host: np.ndarray) -> None:
    """Write a host result into the tensor, in place, and count the change."""
    if host is not t._data:
        xp = namespace_of(t._data)
        xp.copyto(t._data, xp.asarray(host).reshape(t._data.shape))
    t._bump_version()


def as_bytes(host: np.ndarray) -> np.ndarray:
    return host.reshape(-1).view(np.uint8)


def _start(async_op: bool, requests: list, finish, what: str) -> Work | None:
    work = Work(requests, finish, what)
    if async_op:
        return work
    work.wait()
    return None


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False) -> Work | None:
    """Combine `tensor` over all ranks with `op`; every rank gets the result in `tensor`."""
    from mpi4py import MPI

    g = group_of(group, "all_reduce")
    _check_tensor(tensor, "all_reduce")
    if not isinstance(op, ReduceOp):
        raise TypeError(f"all_reduce: op should be a ReduceOp, got {op!r}")
    host = host_array(tensor)
    kind = host.dtype
    if op is ReduceOp.AVG and kind.kind != "f" and kind.name != "bfloat16":
        raise ValueError(f"all_reduce: ReduceOp.AVG needs a floating point tensor, got {tensor.dtype}")
    if op in _BITWISE and kind.kind not in "iub":
        raise ValueError(f"all_reduce: {op} needs an integer or bool tensor, got {tensor.dtype}")
    if kind == np.bool_:
        buf, mpi_op = host.view(np.uint8), getattr(MPI, _BOOL_OPS[op])
    else:
        buf = host.astype(np.float32) if kind.name == "bfloat16" else host
        mpi_op = getattr(MPI, _MPI_OPS[op])

    def finish() -> None:
        if op is ReduceOp.AVG:
            np.divide(buf, g.size, out=buf)
        if buf is not host and kind != np.bool_:
            np.copyto(host, buf.astype(kind))
        store(tensor, host)

    req = g.comm.Iallreduce(MPI.IN_PLACE, buf.reshape(-1), op=mpi_op)
    return _start(async_op, [req], finish, f"all_reduce({op.name})")


def broadcast(tensor: Tensor, src: int, group=None, async_op: bool = False) -> Work | None:
    """Copy rank `src`'s `tensor` into `tensor` on every rank."""
    g = group_of(group, "broadcast")
    _check_tensor(tensor, "broadcast")
    if isinstance(src, bool) or not isinstance(src, int) or not 0 <= src < g.size:
        raise ValueError(f"broadcast: src={src!r} is not a rank of the group (0 to {g.size - 1})")
    host = host_array(tensor)
    req = g.comm.Ibcast(as_bytes(host), root=src)
    return _start(async_op, [req], lambda: store(tensor, host), f"broadcast(src={src})")


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group=None, async_op: bool = False) -> Work | None:
    """Every rank's `tensor`, in rank order, into `tensor_list` (one tensor per rank, shaped like `tensor`)."""
    g = group_of(group, "all_gather")
    _check_tensor(tensor, "all_gather")
    if not isinstance(tensor_list, (list, tuple)) or len(tensor_list) != g.size:
        n = len(tensor_list) if isinstance(tensor_list, (list, tuple)) else type(tensor_list).__name__
        raise ValueError(f"all_gather: tensor_list should hold one tensor per rank ({g.size}), got {n}")
    for i, t in enumerate(tensor_list):
        _check_tensor(t, "all_gather")
        if t.shape != tensor.shape or t.dtype != tensor.dtype:
            raise ValueError(f"all_gather: tensor_list[{i}] is {t.dtype} of shape {tuple(t.shape)}, expected "
                             f"{tensor.dtype} of shape {tuple(tensor.shape)} like the input tensor")
    send = host_array(tensor)
    recv = np.empty((g.size, send.nbytes), np.uint8)
    req = g.comm.Iallgather(as_bytes(send), recv)

    def finish() -> None:
        for t, row in zip(tensor_list, recv):
            out = host_array(t)
            as_bytes(out)[...] = row
            store(t, out)

    return _start(async_op, [req], finish, "all_gather")


def barrier(group=None, async_op: bool = False, device_ids=None) -> Work | None:
    """Wait until every rank has reached the barrier."""
    g = group_of(group, "barrier")
    return _start(async_op, [g.comm.Ibarrier()], lambda: None, "barrier")


__all__ = ["ReduceOp", "all_reduce", "broadcast", "all_gather", "barrier"]
