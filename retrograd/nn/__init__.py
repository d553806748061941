"""retrograd.nn: modules, layers, losses and initialisation, matching torch.nn."""
from . import functional, init, parallel, utils
from .modules import *  # noqa: F403
from .parameter import *  # noqa: F403
