"""The cuda device: queries, moving tensors and modules, errors, gradients across devices.

Without a GPU the cases that need one skip; `pytest --cuda-standin` runs them with
array-api-strict behind `cuda` (see conftest.py), which checks everything but CuPy itself.
"""
import numpy as np
import pytest

import retrograd as rg
from retrograd import nn
from tests.conftest import NO_GPU

needs_cuda = pytest.mark.skipif(not rg.cuda.is_available(), reason=NO_GPU)
# layers, losses and optimizers go beyond the standard's API (CuPy's extras); the stand-in checks core ops only
needs_real_gpu = pytest.mark.skipif(not rg.cuda.is_available() or rg.cuda.is_standin(),
                                    reason=NO_GPU.split(";")[0] + "; the stand-in covers core ops only")


@pytest.mark.skipif(rg.cuda.is_available(), reason="a GPU (or the stand-in) is present")
def test_without_a_gpu_the_queries_say_so_and_asking_for_cuda_raises():
    assert rg.cuda.is_available() is False and rg.cuda.device_count() == 0
    for make in (lambda: rg.zeros(2, device="cuda"), lambda: rg.ones(2).cuda(), lambda: rg.randn(2, device="cuda"),
                 lambda: nn.Linear(2, 2).to("cuda")):
        with pytest.raises(RuntimeError, match="cuda.*(CuPy|no CUDA GPU)"):
            make()


def test_default_device_is_cpu_and_can_be_set():
    assert rg.get_default_device() == rg.device("cpu")
    rg.set_default_device("cpu")
    assert rg.zeros(1).device.type == "cpu"


@needs_cuda
def test_queries_with_a_gpu():
    assert rg.cuda.is_available() and rg.cuda.device_count() >= 1
    rg.cuda.synchronize()
    rg.cuda.manual_seed(3)
    a = rg.randn(4, device="cuda")
    rg.cuda.manual_seed(3)
    assert np.array_equal(a.cpu().numpy(), rg.randn(4, device="cuda").cpu().numpy())


@needs_cuda
def test_tensors_move_between_devices_with_their_values_and_dtypes():
    x = rg.arange(6, dtype=rg.float64).reshape(2, 3)
    for y in (x.cuda(), x.to("cuda"), x.to(rg.device("cuda", 0)), rg.tensor(x.numpy(), device="cuda")):
        assert y.device == rg.device("cuda", 0) and y.dtype is rg.float64 and y.is_cuda
        back = y.cpu()
        assert back.device.type == "cpu" and np.array_equal(back.numpy(), x.numpy())
    assert x.to("cuda", rg.float32).dtype is rg.float32
    for make in (rg.zeros, rg.ones, rg.empty, rg.randn, rg.rand):
        assert make(2, 3, device="cuda").device.type == "cuda"
    assert rg.arange(3, device="cuda").device.type == "cuda" and rg.eye(2, device="cuda").device.type == "cuda"
    assert rg.zeros_like(x.cuda()).device.type == "cuda"


@needs_cuda
def test_numpy_of_a_cuda_tensor_asks_for_cpu_first_like_pytorch():
    with pytest.raises(TypeError, match="can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu"):
        rg.ones(2, device="cuda").numpy()
    assert rg.ones(2, device="cuda").tolist() == [1.0, 1.0] and rg.ones((), device="cuda").item() == 1.0


@needs_cuda
def test_mixing_devices_in_one_op_names_both():
    with pytest.raises(RuntimeError, match="same device.*(cpu, cuda:0|cuda:0, cpu)"):
        rg.ones(2) + rg.ones(2, device="cuda")
    with pytest.raises(RuntimeError, match="same device.*(cpu, cuda:0|cuda:0, cpu)"):
        rg.matmul(rg.ones(2, 2, device="cuda"), rg.ones(2, 2))


@needs_cuda
def test_gradients_flow_back_across_a_device_move():
    x = rg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x.cuda() * 2).sum()
    y.backward()
    assert x.grad.device.type == "cpu" and x.grad.tolist() == [2.0, 2.0, 2.0]
    w = rg.ones(3, device="cuda", requires_grad=True)
    (w.cpu() ** 2).sum().backward()
    assert w.grad.device.type == "cuda" and w.grad.tolist() == [2.0, 2.0, 2.0]


@needs_cuda
def test_module_to_cuda_keeps_its_parameters():
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))
    params = list(model.parameters())
    values = [p.detach().numpy().copy() for p in params]
    assert model.to("cuda") is model and list(model.parameters()) == params
    assert all(t.device.type == "cuda" for t in model.state_dict().values())
    assert model.cpu() is model and all(p.device.type == "cpu" for p in params)
    assert all(np.array_equal(p.detach().numpy(), v) for p, v in zip(params, values))


@needs_real_gpu
def test_a_training_step_runs_on_the_gpu():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).cuda()
    params = list(model.parameters())
    before = [p.detach().cpu().numpy().copy() for p in params]
    opt = rg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = rg.randn(5, 4, device="cuda"), rg.tensor([0, 1, 0, 1, 1], device="cuda")
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    assert loss.device.type == "cuda" and all(p.grad.device.type == "cuda" for p in params)
    opt.step()
    assert any(not np.array_equal(p.detach().cpu().numpy(), b) for p, b in zip(params, before))


@needs_cuda
def test_cuda_tensor_pairs_with_dlpack_consumers():
    x = rg.arange(4, dtype=rg.float32, device="cuda")
    dev_type, _ = x.__dlpack_device__()
    assert dev_type in (1, 2)  # the stand-in lives on the CPU (1), CuPy on a CUDA GPU (2)
    if dev_type == 2:
        import cupy

        y = cupy.from_dlpack(x)
        y += 1  # shared memory: the tensor sees the change
        assert x.tolist() == [1.0, 2.0, 3.0, 4.0]
        assert rg.from_dlpack(y).device.type == "cuda"
