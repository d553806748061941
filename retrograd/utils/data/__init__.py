"""retrograd.utils.data: datasets, samplers and the DataLoader, as in torch.utils.data."""
from .dataloader import *  # noqa: F403
from .dataset import *  # noqa: F403
from .distributed import *  # noqa: F403
from .sampler import *  # noqa: F403
