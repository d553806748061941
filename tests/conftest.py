import numpy as np
import pytest

import retrograd


@pytest.fixture(autouse=True)
def _fresh_state():
    """Each test starts in grad mode, with the default dtype, seeded."""
    retrograd.manual_seed(0)
    yield
    retrograd.set_default_dtype(retrograd.float32)
    retrograd.set_grad_enabled(True)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
