"""retrograd.save / retrograd.load: safetensors checkpoints, round trips, interop with PyTorch, atomicity, errors."""
from __future__ import annotations

import io
import json
import math
import os
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from helpers import assert_close, torch

import retrograd as rg
from retrograd.serialization import CheckpointError

safetensors_numpy = pytest.importorskip("safetensors.numpy")
safetensors_torch = pytest.importorskip("safetensors.torch")


def assert_same(a, b, where="obj"):
    """Equal structure, container types, key types, dtypes, values (NaN equals NaN) and tensor flags."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, rg.Tensor):
        assert a.dtype is b.dtype and a.shape == b.shape, f"{where}: {a.dtype}{a.shape} != {b.dtype}{b.shape}"
        assert a.requires_grad == b.requires_grad, f"{where}: requires_grad differs"
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy(), err_msg=where)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a.dtype}{a.shape} != {b.dtype}{b.shape}"
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, dict):
        assert [(type(k), k) for k in a] == [(type(k), k) for k in b], f"{where}: keys {list(a)} != {list(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{where}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), f"{where}: {b} is not nan"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def round_trip(obj, tmp_path, name="ckpt.safetensors"):
    path = tmp_path / name
    rg.save(obj, path)
    return rg.load(path)


def net(m):
    """The same small conv net in retrograd and in PyTorch."""
    return m.nn.Sequential(m.nn.Conv2d(2, 3, 3, padding=1), m.nn.BatchNorm2d(3), m.nn.ReLU(), m.nn.Flatten(),
                           m.nn.Linear(48, 5), m.nn.ReLU(), m.nn.Linear(5, 2))


def trained_rg_net():
    """A retrograd net whose batch-norm buffers have moved (num_batches_tracked = 2)."""
    model = net(rg)
    for _ in range(2):
        model(rg.randn(4, 2, 4, 4))
    return model.eval()


# ---- round trips ---------------------------------------------------------------------------------------------------
def test_model_state_dict_round_trip(tmp_path):
    model = trained_rg_net()
    sd = model.state_dict()
    loaded = round_trip(sd, tmp_path)
    assert_same(loaded, sd)
    assert loaded._metadata == sd._metadata
    nbt = loaded["1.num_batches_tracked"]
    assert nbt.dtype is rg.int64 and nbt.shape == () and nbt.item() == 2
    fresh = net(rg).eval()
    fresh.load_state_dict(loaded)
    x = rg.randn(3, 2, 4, 4)
    assert_close(fresh(x).detach(), model(x).detach(), rtol=0, atol=0)


def test_flat_state_dict_is_a_plain_safetensors_file(tmp_path):
    sd = trained_rg_net().state_dict()
    rg.save(sd, tmp_path / "m.safetensors")
    arrays = safetensors_numpy.load_file(tmp_path / "m.safetensors")
    assert set(arrays) == set(sd)
    for k, v in sd.items():
        assert arrays[k].dtype == v.numpy().dtype and arrays[k].shape == tuple(v.shape)
        np.testing.assert_array_equal(arrays[k], v.numpy())


def test_nested_checkpoint_round_trip(tmp_path):
    model = trained_rg_net()
    ckpt = {
        "model": model.state_dict(),
        "optimizer": {
            "state": {0: {"step": rg.tensor(3.0), "exp_avg": rg.randn(3, 2, 3, 3), "exp_avg_sq": rg.rand(3, 2, 3, 3)},
                      1: {"step": rg.tensor(3.0), "exp_avg": rg.randn(3), "exp_avg_sq": rg.rand(3)}},
            "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0, "amsgrad": False,
                              "foreach": None, "maximize": False, "params": [0, 1]}],
        },
        "epoch": 3,
        "losses": [2.5, 1.25, float("nan"), float("inf"), -float("inf")],
        "name": "run-1",
        "note": None,
        "done": True,
        "huge": 2**70,
        "keys": {1: "int", "1": "str", 2.5: "float", None: "none", False: "bool"},
        "nested": [(1, [2, (3,)]), {"a": ()}, []],
        "array": np.arange(6, dtype=np.int32).reshape(2, 3),
        "np_scalar": np.float32(0.5),
        "param": rg.nn.Parameter(rg.randn(2)),
        "frozen": rg.nn.Parameter(rg.randn(2), requires_grad=False),
        "leaf": rg.randn(2).requires_grad_(),
    }
    loaded = round_trip(ckpt, tmp_path)
    assert_same(loaded, ckpt)
    assert isinstance(loaded["param"], rg.nn.Parameter) and loaded["param"].requires_grad
    assert isinstance(loaded["frozen"], rg.nn.Parameter) and not loaded["frozen"].requires_grad
    assert not isinstance(loaded["leaf"], rg.nn.Parameter) and loaded["leaf"].requires_grad
    # tensors are stored under dotted paths, readable by other frameworks; the rest is string metadata
    arrays = safetensors_torch.load_file(tmp_path / "ckpt.safetensors")
    assert "optimizer.state.0.exp_avg" in arrays and "model.1.num_batches_tracked" in arrays
    assert torch.equal(arrays["optimizer.state.1.exp_avg"], torch.tensor(ckpt["optimizer"]["state"][1]["exp_avg"]
                                                                          .numpy()))


def test_dotted_keys_that_repeat_a_path_stay_apart(tmp_path):
    obj = {"a.b": rg.tensor([1.0]), "a": {"b": rg.tensor([2.0])}, "__metadata__": rg.tensor([3.0])}
    assert_same(round_trip(obj, tmp_path), obj)


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16",
                                   "float32", "float64"])
@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (2, 3)])
def test_every_dtype_and_shape(tmp_path, dtype, shape):
    data = np.random.default_rng(0).standard_normal(shape) * 10
    t = rg.tensor(data).to(getattr(rg, dtype))
    loaded = round_trip({"t": t, "list": [t]}, tmp_path)
    assert_same(loaded, {"t": t, "list": [t]})


def test_top_level_tensor_and_non_contiguous(tmp_path):
    t = rg.arange(12.0).reshape(3, 4).t()
    assert not t.is_contiguous()
    assert_same(round_trip(t, tmp_path), t.contiguous())


def test_loaded_tensors_are_writable_and_independent(tmp_path):
    loaded = round_trip({"a": rg.zeros(3), "b": rg.zeros(3)}, tmp_path)
    loaded["a"].add_(1.0)
    assert loaded["a"].tolist() == [1.0, 1.0, 1.0] and loaded["b"].tolist() == [0.0, 0.0, 0.0]


def test_file_objects_and_map_location(tmp_path):
    obj = {"w": rg.randn(2, 2), "step": 7}
    buf = io.BytesIO()
    rg.save(obj, buf)
    for loc in (None, "cpu", rg.device("cpu"), torch.device("cpu"), {"cuda:0": "cpu"}):
        buf.seek(0)
        assert_same(rg.load(buf, map_location=loc), obj)
    rg.save(obj, str(tmp_path / "s.safetensors"))  # str paths as well as PathLike
    assert_same(rg.load(str(tmp_path / "s.safetensors"), map_location="cpu", weights_only=False), obj)
    with pytest.raises(TypeError, match="map_location"):
        rg.load(tmp_path / "s.safetensors", map_location=3.5)


def test_unsupported_values_name_their_place(tmp_path):
    with pytest.raises(TypeError, match=r"'opt\.state\.0\.fn'.*expected Tensors"):
        rg.save({"opt": {"state": {0: {"fn": print}}}}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="complex128"):
        rg.save({"z": np.zeros(2, dtype=np.complex128)}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="set"):
        rg.save({"s": {1, 2}}, tmp_path / "x.safetensors")
    assert os.listdir(tmp_path) == []


# ---- interop with PyTorch -------------------------------------------------------------------------------------
def test_retrograd_checkpoint_loads_into_pytorch(tmp_path):
    model = trained_rg_net()
    rg.save(model.state_dict(), tmp_path / "rg.safetensors")
    tmodel = net(torch).eval()
    tmodel.load_state_dict(safetensors_torch.load_file(tmp_path / "rg.safetensors"))
    assert tmodel[1].num_batches_tracked.item() == 2
    x = np.random.default_rng(1).standard_normal((3, 2, 4, 4)).astype(np.float32)
    with torch.no_grad():
        expected = tmodel(torch.tensor(x))
    assert_close(model(rg.tensor(x)).detach(), expected, rtol=1e-5, atol=1e-6)


def test_pytorch_checkpoint_loads_into_retrograd(tmp_path):
    torch.manual_seed(0)
    tmodel = net(torch)
    tmodel(torch.randn(4, 2, 4, 4))  # move the batch-norm statistics
    tmodel.eval()
    safetensors_torch.save_file(tmodel.state_dict(), tmp_path / "pt.safetensors")
    loaded = rg.load(tmp_path / "pt.safetensors")
    assert set(loaded) == set(tmodel.state_dict())
    assert loaded["1.num_batches_tracked"].dtype is rg.int64
    model = net(rg).eval()
    model.load_state_dict(loaded)
    x = np.random.default_rng(2).standard_normal((3, 2, 4, 4)).astype(np.float32)
    with torch.no_grad():
        expected = tmodel(torch.tensor(x))
    assert_close(model(rg.tensor(x)).detach(), expected, rtol=1e-5, atol=1e-6)


# ---- atomic writes ------------------------------------------------------------------------------------------------
def test_failed_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    first = {"w": rg.ones(1000), "epoch": 1}
    rg.save(first, path)

    def fail(*args, **kwargs):
        raise OSError("disk full")

    with monkeypatch.context() as patch:  # the serializer fails
        patch.setattr(safetensors_numpy, "save", fail)
        with pytest.raises(OSError, match="disk full"):
            rg.save({"w": rg.zeros(1000), "epoch": 2}, path)
    with monkeypatch.context() as patch:  # the write fails once the data is in the temporary file
        patch.setattr(os, "fsync", fail)
        with pytest.raises(OSError, match="disk full"):
            rg.save({"w": rg.zeros(1000), "epoch": 3}, path)
    with pytest.raises(TypeError):  # the structure is refused halfway through
        rg.save({"w": rg.zeros(1000), "epoch": 4, "bad": object()}, path)
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]
    assert_same(rg.load(path), first)


def test_killed_save_keeps_previous_checkpoint(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    rg.save({"w": rg.ones(3), "epoch": 1}, path)
    script = textwrap.dedent(f"""
        import os, signal
        import retrograd as rg
        os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)  # die after writing, before the rename
        rg.save({{"w": rg.zeros(3), "epoch": 2}}, {str(path)!r})
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert proc.returncode == -9, proc.stderr.decode()
    assert len(os.listdir(tmp_path)) == 2  # the complete temporary file the killed process left beside it
    assert_same(rg.load(path), {"w": rg.ones(3), "epoch": 1})
    rg.save({"w": rg.zeros(3), "epoch": 3}, path)  # later saves are unaffected
    assert rg.load(path)["epoch"] == 3


def test_saved_file_has_ordinary_permissions(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    rg.save({"w": rg.ones(2)}, tmp_path / "p.safetensors")
    assert os.stat(tmp_path / "p.safetensors").st_mode & 0o777 == 0o666 & ~umask


def test_save_into_missing_directory(tmp_path):
    with pytest.raises(RuntimeError, match="Parent directory .*nope does not exist"):
        rg.save({"w": rg.ones(2)}, tmp_path / "nope" / "ckpt.safetensors")


# ---- bad files --------------------------------------------------------------------------------------------------
def raw_file(tmp_path, header, data=b"", name="bad.safetensors"):
    """A file with the given header (a dict, or raw bytes) and data section."""
    head = header if isinstance(header, bytes) else json.dumps(header).encode()
    path = tmp_path / name
    path.write_bytes(struct.pack("<Q", len(head)) + head + data)
    return path


def good_bytes(tmp_path):
    rg.save({"w": rg.randn(10, 10), "epoch": 1}, tmp_path / "good.safetensors")
    return (tmp_path / "good.safetensors").read_bytes()


@pytest.mark.parametrize("cut, message", [(3, "truncated: 3 bytes"), (40, "header claims .* the file is truncated"),
                                          (-7, "need 400 bytes of data but 393 .* the file is truncated")])
def test_truncated_file(tmp_path, cut, message):
    data = good_bytes(tmp_path)
    path = tmp_path / "cut.safetensors"
    path.write_bytes(data[:cut])
    with pytest.raises(CheckpointError, match=message) as info:
        rg.load(path)
    assert str(path) in str(info.value)


def test_garbage_file(tmp_path):
    path = tmp_path / "garbage.safetensors"
    path.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(CheckpointError, match="garbage.safetensors.*header claims"):
        rg.load(path)
    path.write_bytes(b"\x00" * 8 + b"tail")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        rg.load(path)


def test_bad_json_header(tmp_path):
    with pytest.raises(CheckpointError, match="bad.safetensors.*not valid JSON"):
        rg.load(raw_file(tmp_path, b'{"w": {"dtype": "F32",'))
    with pytest.raises(CheckpointError, match="JSON list, expected an object"):
        rg.load(raw_file(tmp_path, [1, 2]))


def test_header_claims_more_data_than_present(tmp_path):
    path = raw_file(tmp_path, {"w": {"dtype": "F32", "shape": [10], "data_offsets": [0, 40]}}, b"\x00" * 8)
    with pytest.raises(CheckpointError, match="need 40 bytes of data but 8 are present: the file is truncated"):
        rg.load(path)


@pytest.mark.parametrize("entry, message", [
    ({"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}, r"shape \[3\] needs 12 bytes.*span 8"),
    ({"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}, "malformed header entry"),
    ({"dtype": "F32", "shape": [1]}, "malformed header entry"),
    ({"dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]}, "dtype 'F8_E4M3', which retrograd cannot load"),
])
def test_inconsistent_header_entries(tmp_path, entry, message):
    with pytest.raises(CheckpointError, match=message):
        rg.load(raw_file(tmp_path, {"w": entry}, b"\x00" * 8))


def test_overlapping_tensors_and_trailing_bytes(tmp_path):
    header = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
              "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}
    with pytest.raises(CheckpointError, match="overlap or leave a gap"):
        rg.load(raw_file(tmp_path, header, b"\x00" * 12))
    with pytest.raises(CheckpointError, match="trailing bytes"):
        rg.load(raw_file(tmp_path, {"a": header["a"]}, b"\x00" * 12))


def test_bad_retrograd_metadata(tmp_path):
    entry = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
    for skeleton, message in [("{", "malformed"), ('{"version": 1, "root": {"type": "tensor", "key": "zz", '
                                                   '"dtype": "float32"}}', "tensor 'zz', which the file does not"),
                              ('{"version": 1, "root": {"type": "tensor", "key": "w", "dtype": "int64"}}',
                               "'w' is float32 in the file but int64 in the metadata"),
                              ('{"version": 1, "root": {"type": "set", "items": []}}', "unknown node type 'set'"),
                              ('{"version": 99, "root": null}', "format 99.*upgrade retrograd")]:
        path = raw_file(tmp_path, {"__metadata__": {"retrograd": skeleton}, "w": entry}, b"\x00" * 4)
        with pytest.raises(CheckpointError, match=message):
            rg.load(path)


def test_foreign_file_with_a_dtype_retrograd_lacks(tmp_path):
    safetensors_numpy.save_file({"u": np.arange(3, dtype=np.uint16)}, tmp_path / "u.safetensors")
    with pytest.raises(CheckpointError, match="tensor 'u' cannot be a retrograd tensor.*uint16"):
        rg.load(tmp_path / "u.safetensors")
    assert_same(round_trip({"u": np.arange(3, dtype=np.uint16)}, tmp_path), {"u": np.arange(3, dtype=np.uint16)})


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.safetensors"
    with pytest.raises(FileNotFoundError, match="nowhere.safetensors"):
        rg.load(path)


def test_checkpoint_error_is_a_runtime_error():
    assert issubclass(CheckpointError, RuntimeError)


def test_missing_safetensors_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    with pytest.raises(ImportError, match=r"retrograd\[train\]"):
        rg.save({"w": rg.ones(2)}, tmp_path / "x.safetensors")
    with pytest.raises(ImportError, match=r"retrograd\[train\]"):
        rg.load(raw_file(tmp_path, {}))


def test_module_surface():
    assert rg.save is rg.serialization.save and rg.load is rg.serialization.load
    assert set(rg.serialization.__all__) == {"save", "load"}


def test_import_is_lazy():
    code = "import sys, retrograd; print('safetensors' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_nn_and_optim_load_on_first_use():
    code = ("import sys, retrograd as rg; print('retrograd.nn' in sys.modules, 'nn' in dir(rg)); "
            "print(type(rg.nn.Linear(2, 3)).__name__, rg.optim.SGD.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "True", "Linear", "SGD"], out.stderr
