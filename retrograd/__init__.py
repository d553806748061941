"""retrograd: tensors, reverse-mode autodiff, layers and optimizers with PyTorch's API."""
from . import dtypes as _dtypes
from .host_memory import keep_freed_pages as _keep_freed_pages
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .device import device, get_default_device, set_default_device
from .dtypes import (bfloat16, bool, double, dtype, float, float16, float32, float64, get_default_dtype, half, int,
                     int8, int16, int32, int64, long, set_default_dtype, short, uint8)
from .tensor import Size, Tensor, is_tensor

from . import random as _random  # after tensor: importing the ops binds their methods
from .ops import creation as _creation
from .ops import elementwise as _elementwise
from .ops import indexing as _indexing
from .ops import linalg as _linalg
from .ops import reduction as _reduction
from .ops import shape as _shape
from .ops import sorting as _sorting

for _mod in (_creation, _elementwise, _reduction, _shape, _indexing, _linalg, _sorting, _random):
    globals().update({_n: getattr(_mod, _n) for _n in _mod.__all__})

from . import autograd  # noqa: E402
from .serialization import *  # noqa: E402,F403
from .autograd.anomaly import detect_anomaly, set_detect_anomaly  # noqa: E402

__version__ = "0.1.0"

_keep_freed_pages()  # reused temporaries instead of page faults every step (see host_memory.py)

# Layers, optimizers and the tools beyond the core load on first use (`retrograd.nn.Linear`,
# `retrograd.viz.draw(...)`), so `import retrograd` stays fast (nn and optim are half its import time).
_LAZY = ("cuda", "datasets", "diagnostics", "distributed", "nn", "optim", "profiler", "train", "viz")


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'retrograd' has no attribute '{name}'")


def __dir__() -> list:
    return sorted(set(globals()) | set(_LAZY))
