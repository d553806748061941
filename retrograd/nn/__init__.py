"""retrograd.nn: modules, layers, losses and initialisation, matching torch.nn."""
from . import functional, init, utils
from .modules import *  # noqa: F403
from .parameter import *  # noqa: F403


def __getattr__(name: str):
    """`nn.parallel` (data parallelism over MPI) loads on first use."""
    if name == "parallel":
        import importlib

        return importlib.import_module(".parallel", __name__)
    raise AttributeError(f"module 'retrograd.nn' has no attribute '{name}'")
