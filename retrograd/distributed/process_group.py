"""The default process group: one MPI communicator over every rank that `mpiexec` started.

`init_process_group("mpi")` checks that the job is configured consistently (the
launcher, MPI and any `WORLD_SIZE`/`RANK` variables agree), takes its own
duplicate of MPI's world communicator, and installs an excepthook: a rank that
dies with an exception aborts the whole job (`MPI_Abort`) instead of leaving the
others waiting in a collective. mpi4py is imported here, on first use only.
"""
from __future__ import annotations

import atexit
import importlib.util
import os
import sys
from datetime import timedelta

from .work import _seconds

DEFAULT_TIMEOUT_S = 300.0
_TIMEOUT_ENV = "RETROGRAD_DIST_TIMEOUT"
# (size, rank) variables set by the launchers of MPICH/Intel MPI (Hydra, also Slurm's PMI), Open MPI and MVAPICH
_LAUNCHER_ENV = (("PMI_SIZE", "PMI_RANK"), ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"),
                 ("MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_RANK"))
_OTHER_BACKENDS = ("gloo", "nccl", "ucc", "xccl", "hccl")
_NOT_INITIALIZED = "Default process group has not been initialized, please make sure to call init_process_group."


class _Group:
    """The state of the default group (None when not initialized)."""

    def __init__(self, comm, timeout: float) -> None:
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.timeout = timeout
        self.broken = False  # a wait timed out: requests are left pending, so exit must abort, not finalize
        self.previous_excepthook = None


_group: _Group | None = None


def is_available() -> bool:
    """Whether the MPI backend can be used: mpi4py is installed (it is not imported here)."""
    return importlib.util.find_spec("mpi4py") is not None


def is_mpi_available() -> bool:
    return is_available()


def is_initialized() -> bool:
    return _group is not None


def launched_under_mpi() -> bool:
    """Whether an MPI launcher (mpiexec, mpirun, srun) started this process: the training loop's cue to go parallel."""
    return _launcher_env() is not None


def is_main_process() -> bool:
    """Whether this is rank 0 (or the only process): the one that prints, writes checkpoints and plots."""
    if _group is not None:
        return _group.rank == 0
    env = _launcher_env()
    return env is None or env[1] == 0


def _launcher_env() -> tuple[int, int, str] | None:
    """(world size, rank, name of the size variable) as the launcher announced them, or None."""
    for size_var, rank_var in _LAUNCHER_ENV:
        if size_var in os.environ:
            return _env_int(size_var), _env_int(rank_var, 0), size_var
    return None


def _env_int(name: str, default: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name}={value!r} should be an integer") from None


def default_timeout() -> float:
    """The deadline of a wait, in seconds: the group's, or RETROGRAD_DIST_TIMEOUT, or 300 s."""
    if _group is not None:
        return _group.timeout
    value = os.environ.get(_TIMEOUT_ENV)
    if value is None:
        return DEFAULT_TIMEOUT_S
    try:
        return _seconds(float(value))
    except ValueError:
        raise ValueError(f"environment variable {_TIMEOUT_ENV}={value!r} should be a positive number of "
                         "seconds") from None


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise RuntimeError(f"retrograd.distributed needs mpi4py and an MPI library ({e}): "
                           "pip install 'retrograd[mpi]' (or: pip install mpi4py mpich), then launch with "
                           "mpiexec -n <ranks> python ...") from None
    return MPI


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: timedelta | None = None, world_size: int = -1, rank: int = -1) -> None:
    """Join the job's ranks into the default group. Ranks and world size come from mpiexec; `world_size`
    and `rank`, when given, are checked against them."""
    global _group
    if _group is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    _check_backend(backend)
    if init_method not in (None, "env://"):
        raise ValueError(f"init_method={init_method!r} is not used by the MPI backend: the ranks find each other "
                         "through mpiexec (leave init_method unset)")
    seconds = default_timeout() if timeout is None else _seconds(timeout)
    MPI = _import_mpi()
    world = MPI.COMM_WORLD
    size, me = world.Get_size(), world.Get_rank()
    _check_world(size, me, world_size, rank)
    _group = _Group(world.Dup(), seconds)
    atexit.unregister(_abort_if_broken)
    atexit.register(_abort_if_broken)  # runs before MPI_Finalize, which would wait on pending requests
    if size > 1:
        _group.previous_excepthook = sys.excepthook
        sys.excepthook = _abort_on_exception


def _check_backend(backend) -> None:
    if backend is None or (isinstance(backend, str) and backend.lower() == "mpi"):
        return
    if isinstance(backend, str) and backend.lower().split(":")[0] in _OTHER_BACKENDS:
        raise RuntimeError(f"backend {backend!r} is not available in retrograd: use backend='mpi' and launch "
                           "with mpiexec")
    raise ValueError(f"Invalid backend: {backend!r}; retrograd.distributed supports 'mpi'")


def _check_world(size: int, me: int, world_size: int, rank: int) -> None:
    """Every source of the world's shape must agree with MPI's: else say which one is wrong."""
    env = _launcher_env()
    if env is not None and env[0] != size:
        raise RuntimeError(
            f"the launcher started {env[0]} processes ({env[2]}={env[0]}), but MPI sees a world of {size}: mpiexec "
            f"belongs to another MPI library than mpi4py's ({_import_mpi().Get_library_version().splitlines()[0]}). "
            f"Launch with the mpiexec of that library (with the mpich wheel: {os.path.dirname(sys.executable)}"
            f"/mpiexec).")
    for name, value, actual in (("WORLD_SIZE", _env_int("WORLD_SIZE"), size), ("RANK", _env_int("RANK"), me)):
        if value is not None and value != actual:
            raise ValueError(f"environment variable {name}={value} disagrees with MPI, which launched this "
                             f"process as rank {me} of {size}: unset {name} (mpiexec sets the ranks)")
    if world_size != -1 and world_size != size:
        raise ValueError(f"init_process_group: world_size={world_size} was asked for, but the job was launched "
                         f"with {size} MPI process{'es' if size != 1 else ''}: start it with "
                         f"mpiexec -n {world_size} (or pass world_size=-1)")
    if rank != -1 and rank != me:
        raise ValueError(f"init_process_group: rank={rank} was asked for, but MPI launched this process as rank "
                         f"{me} of {size} (pass rank=-1)")


def _abort_on_exception(exc_type, exc, tb) -> None:
    """An uncaught exception on one rank: print it, then take the whole job down."""
    (_group.previous_excepthook or sys.__excepthook__)(exc_type, exc, tb)
    _abort(f"rank {_group.rank} raised {exc_type.__name__}")


def _abort(why: str) -> None:
    sys.stderr.write(f"retrograd.distributed: {why}; aborting all {_group.size} ranks (MPI_Abort)\n")
    sys.stderr.flush()
    _group.comm.Abort(1)


def _abort_if_broken() -> None:
    if _group is not None and _group.broken:
        _abort("a collective timed out")



def mark_broken() -> None:
    if _group is not None:
        _group.broken = True


def destroy_process_group(group=None) -> None:
    """Leave the default group (MPI itself stays initialized until exit, so a new group can be made)."""
    global _group
    group_of(group, "destroy_process_group")
    if _group.previous_excepthook is not None and sys.excepthook is _abort_on_exception:
        sys.excepthook = _group.previous_excepthook
    _group.comm.Free()
    _group = None


def group_of(group, op: str) -> _Group:
    """The default group, for a `group=` argument (only the default group exists)."""
    if group is not None:
        raise ValueError(f"{op}: only the default group (group=None) is supported by retrograd.distributed")
    if _group is None:
        raise ValueError(_NOT_INITIALIZED)
    return _group


def get_rank(group=None) -> int:
    return group_of(group, "get_rank").rank


def get_world_size(group=None) -> int:
    return group_of(group, "get_world_size").size


def get_backend(group=None) -> str:
    group_of(group, "get_backend")
    return "mpi"


__all__ = ["init_process_group", "destroy_process_group", "is_available", "is_mpi_available", "is_initialized",
           "get_rank", "get_world_size", "get_backend", "launched_under_mpi", "is_main_process"]
