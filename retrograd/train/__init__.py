"""retrograd.train: a training loop for the common case (`Trainer`, `fit`), its progress bar and loss-curve
plot, and the models and jobs of `python -m retrograd train`."""
from .loop import *  # noqa: F403
from .plot import *  # noqa: F403
from .progress import *  # noqa: F403

__all__ = [*loop.__all__, *plot.__all__, *progress.__all__]  # noqa: F405
