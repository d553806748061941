"""retrograd.distributed, DistributedDataParallel and DistributedSampler.

The multi-process tests start `mpiexec -n 2` on the helper scripts in tests/distributed/
(with a timeout: a hang fails the test) and compare what the ranks wrote with a single
process. They need mpi4py and an MPI launcher: `pip install mpi4py mpich`.
"""
from __future__ import annotations

import importlib.util
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import retrograd as rg
import retrograd.distributed as dist
import retrograd.nn.parallel
from retrograd.utils.data.distributed import DistributedSampler

HERE = Path(__file__).parent / "distributed"
MPIEXEC = shutil.which("mpiexec", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
needs_mpi = pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None or MPIEXEC is None,
                               reason="needs mpi4py and mpiexec: pip install mpi4py mpich")
LAUNCHER_VARS = ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_SIZE",
                 "WORLD_SIZE", "RANK")


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARS}
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", **extra)
    return env


def mpiexec(*args, n: int = 2, timeout: float = 60, flags: tuple = (), **env) -> subprocess.CompletedProcess:
    """Run `python args...` on n ranks; fail the test (rather than hang) past `timeout` seconds."""
    return subprocess.run([MPIEXEC, *flags, "-n", str(n), sys.executable, *map(str, args)], env=_env(**env),
                          capture_output=True, text=True, timeout=timeout)


def python(code: str, **env) -> subprocess.CompletedProcess:
    """Run `code` in a plain process (no launcher: MPI sees a world of one)."""
    return subprocess.run([sys.executable, "-c", code], env=_env(**env), capture_output=True, text=True, timeout=60)


def _ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"


# ---- training across 2 ranks equals training on the concatenated batch -----------------------


def _train_reference(tmp_path: Path, mode: str) -> dict:
    """One process, the same steps on the global batches (both ranks' rows), from rank 0's initial weights."""
    spec = importlib.util.spec_from_file_location("ddp_train_helper", HERE / "train.py")
    helper = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helper)
    net = helper.Net()
    net.load_state_dict({k: rg.tensor(v) for k, v in np.load(tmp_path / "init0.npz").items()})
    opt = rg.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    micro = helper.MICRO if mode == "accumulate" else 1
    data = helper.batches(2)
    for _ in range(helper.STEPS):
        opt.zero_grad()
        for _ in range(micro):
            x, y = next(data)
            rg.nn.functional.cross_entropy(net(rg.tensor(x), use_spare=mode != "unused"), rg.tensor(y)).backward()
        opt.step()
    return {k: v.numpy() for k, v in net.state_dict().items()}


@needs_mpi
@pytest.mark.parametrize("mode", ["sync", "accumulate", "unused"])
def test_ddp_matches_one_process_on_the_whole_batch(tmp_path, mode):
    _ok(mpiexec(HERE / "train.py", tmp_path, mode))
    init0, init1 = np.load(tmp_path / "init0.npz"), np.load(tmp_path / "init1.npz")
    for k in init0:  # rank 1 started from other weights: DDP copied rank 0's
        np.testing.assert_array_equal(init1[k], init0[k], err_msg=f"{k} was not broadcast from rank 0")
    r0, r1 = np.load(tmp_path / "rank0.npz"), np.load(tmp_path / "rank1.npz")
    expected = _train_reference(tmp_path, mode)
    for k, v in expected.items():
        np.testing.assert_array_equal(r1[k], r0[k], err_msg=f"{k} differs between the ranks")
        np.testing.assert_allclose(r0[k], v, rtol=1e-5, atol=1e-6, err_msg=f"{k} differs from one process")
    assert bool(r0["spare_grad_is_none"]) == (mode == "unused")  # an unused parameter keeps grad None
    if mode == "unused":
        np.testing.assert_array_equal(r0["spare.weight"], init0["spare.weight"])
    if mode == "accumulate":  # inside no_sync the gradients stayed local
        assert not np.allclose(r0["local_grad"], r1["local_grad"])


@needs_mpi
def test_ddp_unused_parameters_without_find_unused_is_a_clear_error(tmp_path):
    _ok(mpiexec(HERE / "train.py", tmp_path, "unused_error"))
    for rank in (0, 1):
        msg = (tmp_path / f"error{rank}.txt").read_text()
        assert "spare.weight" in msg and "find_unused_parameters=True" in msg


# ---- collectives ---------------------------------------------------------------------------------


@needs_mpi
def test_collectives_on_two_ranks(tmp_path):
    _ok(mpiexec(HERE / "collectives.py", tmp_path))
    for rank in (0, 1):
        seen = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert (seen["rank"], seen["world"], seen["backend"]) == (rank, 2, "mpi")
        assert (seen["before"], seen["after"], seen["destroyed"]) == (False, True, True)
        assert seen["launched"] and seen["main"] == (rank == 0)
        # rank r contributed [r + 1, -2r, 3] (floats) or [r + 1, 6, 3r] (bitwise ops)
        assert seen["SUM"] == [3.0, -2.0, 6.0]
        assert seen["AVG"] == [1.5, -1.0, 3.0]
        assert seen["PRODUCT"] == [2.0, 0.0, 9.0]
        assert seen["MIN"] == [1.0, -2.0, 3.0]
        assert seen["MAX"] == [2.0, 0.0, 3.0]
        assert (seen["BAND"], seen["BOR"], seen["BXOR"]) == ([0, 6, 0], [3, 6, 3], [3, 0, 3])
        assert seen["bool_sum"] == [True, True, False]
        assert seen["bf16_avg"] == [1.0]
        assert seen["work_wait"] is True and seen["async_completed"] is True
        assert seen["async"] == [[1.0] * 3] * 2
        assert seen["broadcast"] == [0, 2, 4, 6]
        assert seen["all_gather"] == [[[0.0] * 2] * 2, [[10.0] * 2] * 2]
        assert "AVG needs a floating point tensor" in seen["avg_int_error"]
        assert "src=2 is not a rank" in seen["bad_src_error"]


# ---- failures stop every rank in bounded time ----------------------------------------------------


@needs_mpi
@pytest.mark.parametrize("mode, flags, expect", [
    ("kill", (), ""),  # the launcher takes the job down
    ("kill", ("-disable-auto-cleanup",), ""),  # it does not: MPI or rank 0's wait timing out does
    ("raise", (), "rank 1 raised ValueError; aborting"),  # the excepthook aborts the job
    ("hang", (), "timed out after 3 s on rank 0"),
])
def test_a_failing_rank_stops_the_others(tmp_path, mode, flags, expect):
    start = time.monotonic()
    proc = mpiexec(HERE / "fail.py", tmp_path, mode, flags=flags, timeout=45, RETROGRAD_DIST_TIMEOUT="3")
    assert proc.returncode != 0
    assert time.monotonic() - start < 30
    assert not (tmp_path / "done0").exists(), "rank 0 went on training without rank 1"
    assert expect in proc.stderr


# ---- a wrong configuration says what is wrong ----------------------------------------------------


@needs_mpi
def test_world_size_disagreeing_with_mpiexec():
    proc = mpiexec("-c", "import retrograd.distributed as d; d.init_process_group('mpi', world_size=1)")
    assert proc.returncode != 0
    assert "world_size=1 was asked for, but the job was launched with 2 MPI processes" in proc.stderr


@needs_mpi
@pytest.mark.parametrize("code, env, expect", [
    ("d.init_process_group('mpi', world_size=2)", {}, "start it with mpiexec -n 2"),
    ("d.init_process_group('mpi', rank=1)", {}, "rank=1 was asked for"),
    ("d.init_process_group('mpi')", {"WORLD_SIZE": "4"}, "WORLD_SIZE=4 disagrees with MPI"),
    ("d.init_process_group('mpi')", {"OMPI_COMM_WORLD_SIZE": "2"}, "belongs to another MPI library"),
    ("d.init_process_group('mpi'); d.init_process_group('mpi')", {}, "initialize the default process group twice"),
    ("import sys; sys.modules['mpi4py'] = None; d.init_process_group('mpi')", {}, "pip install"),
])
def test_bad_configuration_is_explained(code, env, expect):
    proc = python(f"import retrograd.distributed as d; {code}", **env)
    assert proc.returncode != 0 and expect in proc.stderr, proc.stderr


@needs_mpi
def test_a_world_of_one_without_mpiexec_works():
    code = """
import gc, retrograd as rg, retrograd.distributed as d, retrograd.nn.parallel
d.init_process_group('mpi')
lin = rg.nn.Linear(3, 2)
m = retrograd.nn.parallel.DistributedDataParallel(lin)
m(rg.ones(4, 3)).sum().backward()
t = rg.ones(2)
d.all_reduce(t, d.ReduceOp.AVG)
print(d.get_world_size(), d.get_rank(), m.module.weight.grad.tolist(), t.tolist(), sorted(m.state_dict()))
del m
gc.collect()
print(len(lin.weight._post_accumulate_hooks))
try:
    retrograd.nn.parallel.DistributedDataParallel(lin.requires_grad_(False))
except RuntimeError as e:
    print(e)
"""
    proc = python(code)
    _ok(proc)
    assert proc.stdout.splitlines() == [
        "1 0 [[4.0, 4.0, 4.0], [4.0, 4.0, 4.0]] [1.0, 1.0] ['module.bias', 'module.weight']",
        "0",  # dropping the wrapper removed its hooks
        "DistributedDataParallel is not needed when a module doesn't have any parameter that requires a gradient."]


def test_bucket_assignment():
    from retrograd.nn.parallel.reducer import assign_buckets

    mb = 2**20
    sizes = [mb // 4, 64, mb // 4, 64, mb // 8, 16]  # float32: 1 MiB, 256 B, 1 MiB, 256 B, 512 KiB, 64 B
    params = [rg.zeros(n) for n in sizes]
    # reverse order; the first bucket closes at 1 MiB, the others at the cap (here 2 MiB)
    assert assign_buckets(params, 2 * mb, mb) == [[5, 4, 3, 2], [1, 0]]
    assert assign_buckets(params, 10 * mb, 10 * mb) == [[5, 4, 3, 2, 1, 0]]
    mixed = [rg.zeros(4), rg.zeros(4, dtype=rg.float64), rg.zeros(4), rg.zeros(4, dtype=rg.bfloat16)]
    # one dtype per bucket (bfloat16 travels as float32); ordered by their last parameter
    assert assign_buckets(mixed, mb, mb) == [[3, 2, 0], [1]]


def test_backend_names():
    with pytest.raises(RuntimeError, match="not available in retrograd"):
        dist.init_process_group("nccl")
    with pytest.raises(ValueError, match="Invalid backend"):
        dist.init_process_group("carrier-pigeon")
    with pytest.raises(ValueError, match="init_method"):
        dist.init_process_group("mpi", init_method="tcp://10.0.0.1:23456")


def test_without_a_process_group():
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.all_reduce(rg.ones(2))
    with pytest.raises(ValueError, match="has not been initialized"):
        retrograd.nn.parallel.DistributedDataParallel(rg.nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="pass num_replicas and rank"):
        DistributedSampler(range(10))


def test_launcher_detection(monkeypatch):
    for var in LAUNCHER_VARS:
        monkeypatch.delenv(var, raising=False)
    assert not dist.launched_under_mpi() and dist.is_main_process()
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "4")
    monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "2")
    assert dist.launched_under_mpi() and not dist.is_main_process()
    monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "0")
    assert dist.is_main_process()
    assert dist.is_available() == (importlib.util.find_spec("mpi4py") is not None)


# ---- DistributedSampler ---------------------------------------------------------------------------


def test_sampler_equals_pytorch_without_shuffle():
    torch_data = pytest.importorskip("torch.utils.data.distributed")
    for n, replicas, drop_last in itertools.product([1, 2, 5, 7, 10, 13, 16], [1, 2, 3, 4, 8], [False, True]):
        for rank in range(replicas):
            ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
            theirs = torch_data.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
            assert list(ours) == list(theirs), (n, replicas, rank, drop_last)
            assert len(ours) == len(theirs) == len(list(ours))


@pytest.mark.parametrize("n, replicas", [(10, 3), (13, 4), (16, 4), (3, 5)])
def test_shuffled_sampler_partitions_the_data(n, replicas):
    shares = [list(DistributedSampler(range(n), replicas, r, seed=7)) for r in range(replicas)]
    size = -(-n // replicas)
    assert all(len(s) == size for s in shares)
    everything = [i for s in shares for i in s]
    assert set(everything) == set(range(n))  # complete
    padding = replicas * size - n
    assert len(everything) - len(set(everything)) == padding  # disjoint, but for PyTorch's padding
    # the order is PyTorch's: padded permutation [p, p[:padding]] read with stride `replicas` from `rank`
    perm = [None] * (replicas * size)
    for r, s in enumerate(shares):
        perm[r::replicas] = s
    assert perm[n:] == (perm[:n] * (padding // n + 1))[:padding] and sorted(perm[:n]) == list(range(n))
    dropped = [list(DistributedSampler(range(n), replicas, r, seed=7, drop_last=True)) for r in range(replicas)]
    flat = [i for s in dropped for i in s]
    assert len(flat) == len(set(flat)) == n // replicas * replicas


def test_sampler_epochs_and_seeds():
    a = DistributedSampler(range(50), 2, 0, seed=1)
    first = list(a)
    assert list(a) == first and first == list(DistributedSampler(range(50), 2, 0, seed=1))
    a.set_epoch(1)
    assert list(a) != first and sorted(list(a) + list(DistributedSampler(range(50), 2, 1, seed=1))) != []
    b = DistributedSampler(range(50), 2, 1, seed=1)
    b.set_epoch(1)
    assert sorted(list(a) + list(b)) == list(range(50))  # the same permutation on every rank
    assert list(DistributedSampler(range(50), 2, 0, seed=2)) != first


def test_sampler_bad_arguments_and_dataloader():
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="num_replicas"):
        DistributedSampler(range(4), num_replicas=0, rank=0)
    loader = rg.utils.data.DataLoader(rg.utils.data.TensorDataset(rg.arange(10)), batch_size=2,
                                      sampler=DistributedSampler(range(10), 2, 1, shuffle=False))
    assert [b[0].tolist() for b in loader] == [[1, 3], [5, 7], [9]]
