"""retrograd.nn.parallel: data-parallel training across processes (torch.nn.parallel)."""
from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
