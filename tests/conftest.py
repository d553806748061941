import numpy as np
import pytest

import retrograd
from retrograd.device import use_cuda_standin

NO_GPU = ("no CUDA GPU here (CuPy or a GPU missing); `pytest --cuda-standin` runs these cases on "
          "array-api-strict, a stand-in for CuPy that accepts only the array API standard")


def pytest_addoption(parser):
    parser.addoption("--cuda-standin", action="store_true",
                     help="back the cuda device with array-api-strict and run only the cuda cases of tests marked "
                          "on_devices: any call outside the array API standard (which CuPy may not accept) fails")


def pytest_configure(config):
    config.addinivalue_line("markers", "on_devices: run each test once per device (cpu, cuda)")
    if config.getoption("--cuda-standin"):
        import array_api_strict

        use_cuda_standin(array_api_strict)


def pytest_generate_tests(metafunc):
    """Tests marked on_devices run on cpu and cuda (the cuda cases only, under --cuda-standin)."""
    if metafunc.definition.get_closest_marker("on_devices"):
        standin = metafunc.config.getoption("--cuda-standin")
        metafunc.parametrize("on_device", ["cuda"] if standin else ["cpu", "cuda"], indirect=True)


@pytest.fixture(autouse=True)
def on_device(request):
    """The device that factories use by default in this test."""
    dev = getattr(request, "param", "cpu")
    if dev == "cuda" and not retrograd.cuda.is_available():
        pytest.skip(NO_GPU)
    retrograd.set_default_device(dev)
    yield dev
    retrograd.set_default_device(None)


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
