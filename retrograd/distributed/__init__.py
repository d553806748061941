"""retrograd.distributed: processes that train together over MPI, with torch.distributed's API.

Launch N copies of a script with `mpiexec -n N python script.py`; in each, call
`init_process_group("mpi")`, then use the collectives (`all_reduce`, `broadcast`,
`all_gather`, `barrier`) or wrap the model in `nn.parallel.DistributedDataParallel`.
mpi4py (`pip install 'retrograd[mpi]'`) is imported only when a group is created.
`launched_under_mpi()` and `is_main_process()` tell a training loop whether to go
parallel and which rank does the printing and the writing.
"""
from . import collectives, process_group, work
from .collectives import *  # noqa: F403
from .process_group import *  # noqa: F403
from .work import *  # noqa: F403

__all__ = collectives.__all__ + process_group.__all__ + work.__all__
