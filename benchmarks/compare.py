"""retrograd vs PyTorch on five training workloads, written once in the PyTorch API.

Workloads (each a full training step: forward, backward, optimizer step, unless noted):
  ops   a chain of 100 elementwise ops on an 8-element tensor, forward+backward (no optimizer)
  tiny  MLP 32-64-64-10, batch 16, SGD momentum
  mlp   MLP 784-512-512-10, ReLU, batch 128, AdamW
  cnn   Conv2d(1,32,3,p1)-ReLU-MaxPool2-Conv2d(32,64,3,p1)-ReLU-MaxPool2-Linear(3136,128)-ReLU-Linear(128,10),
        batch 64, SGD momentum
  gpt   nanoGPT-style causal transformer: 4 layers, 4 heads, width 128, vocab 65, context 64, batch 16, AdamW
        (attention written with matmul, masked_fill and softmax)

Both libraries get the same initial weights and the same batch, and are timed in the
same process, alternating, over several repetitions (each after a short pause, so that
neither library's idle threads still spin while the other runs); the table gives the median ms per
step of each, the ratio PyTorch / retrograd (above 1: retrograd is faster), retrograd's
achieved GFLOP/s (GEMM/convolution FLOPs of forward and backward) and its fraction of
the single-process NumPy float32 GEMM peak measured first, and the peak memory of the
training steps (the rise of peak RSS over the RSS before training, each library in a
fresh subprocess). Both libraries keep their default number of threads.

    python benchmarks/compare.py [--workloads ops,tiny,mlp,cnn,gpt] [--reps 7] [--seconds 0.25] [--no-memory]
                                 [--device cuda]

With `--device cuda` both libraries run on the GPU (retrograd through CuPy, PyTorch CUDA), each
repetition ending with a synchronize; GFLOP/s are then given without a fraction of a peak, and
peak memory (host RSS) is not measured.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

import numpy as np

WORKLOADS = ("ops", "tiny", "mlp", "cnn", "gpt")
# before each timed repetition: the other library's idle worker threads go to sleep first (OpenBLAS's spin
# a whole core for ~0.1 s after a GEMM, which would slow whichever library runs next)
SETTLE_S = 0.15


# ---- the workloads, in the PyTorch API of `lib` ------------------------------------------------
def _mlp(nn, sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _mlp_flops(batch, sizes) -> float:
    """Forward GEMM, weight-gradient GEMM, and input-gradient GEMM except for the first layer."""
    f = 0.0
    for i in range(len(sizes) - 1):
        f += 2 * batch * sizes[i] * sizes[i + 1] * (2 if i == 0 else 3)
    return f


def _cnn(nn):
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))


def _cnn_flops(batch) -> float:
    conv1 = 2 * batch * 28 * 28 * 32 * 9 * 2  # no input gradient for the first layer
    conv2 = 2 * batch * 14 * 14 * 64 * 32 * 9 * 3
    return conv1 + conv2 + _mlp_flops(batch, (3136, 128, 10)) + 2 * batch * 3136 * 128  # first Linear needs grad_x


GPT = dict(layers=4, heads=4, width=128, vocab=65, context=64, batch=16)


def _gpt(lib):
    nn, F = lib.nn, lib.nn.functional
    width, heads, context = GPT["width"], GPT["heads"], GPT["context"]

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(width, 3 * width)
            self.c_proj = nn.Linear(width, width)
            self.register_buffer("mask", lib.tril(lib.ones(context, context)).view(1, 1, context, context))

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = self.c_attn(x).split(width, dim=2)
            q = q.view(B, T, heads, C // heads).transpose(1, 2)
            k = k.view(B, T, heads, C // heads).transpose(1, 2)
            v = v.view(B, T, heads, C // heads).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.mask[:, :, :T, :T] == 0, float("-inf"))
            att = F.softmax(att, dim=-1)
            y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
            return self.c_proj(y)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(width)
            self.attn = Attention()
            self.ln_2 = nn.LayerNorm(width)
            self.c_fc = nn.Linear(width, 4 * width)
            self.gelu = nn.GELU()
            self.c_proj = nn.Linear(4 * width, width)

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.c_proj(self.gelu(self.c_fc(self.ln_2(x))))

    class GPTModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(GPT["vocab"], width)
            self.wpe = nn.Embedding(context, width)
            self.h = nn.ModuleList([Block() for _ in range(GPT["layers"])])
            self.ln_f = nn.LayerNorm(width)
            self.lm_head = nn.Linear(width, GPT["vocab"], bias=False)

        def forward(self, idx):
            T = idx.shape[1]
            x = self.wte(idx) + self.wpe(lib.arange(T))
            for block in self.h:
                x = block(x)
            return self.lm_head(self.ln_f(x))

    return GPTModel()


def _gpt_flops() -> float:
    n = GPT["batch"] * GPT["context"]
    w, t = GPT["width"], GPT["context"]
    per_layer = 2 * n * w * (3 * w + w + 4 * w + 4 * w) + 2 * 2 * n * t * w  # Linears; QK^T and AV
    return 3 * (GPT["layers"] * per_layer + 2 * n * w * GPT["vocab"])


def _chain(x):
    """100 elementwise ops: 20 rounds of mul, add, tanh, sub, sigmoid."""
    for _ in range(20):
        x = ((x * 1.01 + 0.1).tanh() - 0.05).sigmoid()
    return x


def build(lib, name: str, state=None):
    """(step function, model or None, GEMM FLOPs per step) for workload `name` in library `lib`."""
    gen = np.random.default_rng(0)
    if name == "ops":
        x = lib.ones(8, requires_grad=True)
        g = lib.ones(8)

        def step():
            _chain(x).backward(g)
        return step, None, 0.0
    if name == "gpt":
        model = _gpt(lib)
        data = gen.integers(0, GPT["vocab"], (GPT["batch"], GPT["context"] + 1))
        xb, yb = lib.tensor(data[:, :-1]), lib.tensor(data[:, 1:])
        opt = lib.optim.AdamW(model.parameters(), lr=1e-3)

        def loss_fn():
            return lib.nn.functional.cross_entropy(model(xb).view(-1, GPT["vocab"]), yb.reshape(-1))
        flops = _gpt_flops()
    else:
        if name == "tiny":
            batch, model = 16, _mlp(lib.nn, (32, 64, 64, 10))
            x_np = gen.standard_normal((batch, 32), dtype=np.float32)
            opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            flops = _mlp_flops(batch, (32, 64, 64, 10))
        elif name == "mlp":
            batch, model = 128, _mlp(lib.nn, (784, 512, 512, 10))
            x_np = gen.standard_normal((batch, 784), dtype=np.float32)
            opt = lib.optim.AdamW(model.parameters(), lr=1e-3)
            flops = _mlp_flops(batch, (784, 512, 512, 10))
        elif name == "cnn":
            batch, model = 64, _cnn(lib.nn)
            x_np = gen.standard_normal((batch, 1, 28, 28), dtype=np.float32)
            opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            flops = _cnn_flops(batch)
        else:
            raise ValueError(f"unknown workload {name!r}; expected one of {', '.join(WORKLOADS)}")
        xb, yb = lib.tensor(x_np), lib.tensor(gen.integers(0, 10, batch))

        def loss_fn():
            return lib.nn.functional.cross_entropy(model(xb), yb)
    if state is not None:
        model.load_state_dict({k: lib.tensor(v) for k, v in state.items()})

    def step():
        opt.zero_grad()
        loss_fn().backward()
        opt.step()
    return step, model, flops


# ---- measurement -------------------------------------------------------------------------------
def gemm_rate(lib=None) -> float:
    """float32 GEMM GFLOP/s (best of 10 1024^3 products) in this process with default threads: NumPy's, or
    PyTorch's when `lib` is torch (after a pause, so that OpenBLAS's spinning threads have slept)."""
    a = np.random.default_rng(0).standard_normal((1024, 1024), dtype=np.float32)
    matmul = np.matmul
    if lib is not None:
        a, matmul = lib.from_numpy(a), lib.matmul
        time.sleep(SETTLE_S)
    out = matmul(a, a)
    best = math.inf
    for _ in range(10):
        t0 = time.perf_counter()
        matmul(a, a, out=out)
        best = min(best, time.perf_counter() - t0)
    return 2 * 1024 ** 3 / best / 1e9


def _timed(step, seconds: float, iters: int | None, sync) -> tuple:
    """Run `step` for about `seconds` (or `iters` times), then `sync`: (ms per step, iterations)."""
    if iters is None:
        iters, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            step()
            sync()
            iters += 1
        return (time.perf_counter() - t0) / iters * 1e3, iters
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    sync()
    return (time.perf_counter() - t0) / iters * 1e3, iters


def _build_on(lib, device: str, name: str, state):
    """`build` with `device` as the default device for its factories. Only for the GPU, and then unset with
    None: PyTorch's default device is a function mode that slows every later op, even when it names the CPU."""
    if device == "cpu":
        return build(lib, name, state)
    lib.set_default_device(device)
    try:
        return build(lib, name, state)
    finally:
        lib.set_default_device(None)


def time_workload(name: str, libs: dict, reps: int, seconds: float, device: str = "cpu") -> dict:
    """Median ms per step of each library, alternating between them every repetition."""
    steps, state, flops, syncs = {}, None, 0.0, {}
    for lib_name, lib in libs.items():
        syncs[lib_name] = lib.cuda.synchronize if device == "cuda" else (lambda: None)
        step, model, flops = _build_on(lib, device, name, state)
        if model is not None and state is None:
            state = {k: np.array(v.detach().cpu().numpy()) for k, v in model.state_dict().items()}
        steps[lib_name] = step
    iters = {}
    for lib_name, step in steps.items():  # warm up, and size each repetition to about `seconds`
        step()
        iters[lib_name] = _timed(step, seconds, None, syncs[lib_name])[1]
    times = {lib_name: [] for lib_name in steps}
    for _ in range(reps):
        for lib_name, step in steps.items():
            time.sleep(SETTLE_S)
            times[lib_name].append(_timed(step, 0, iters[lib_name], syncs[lib_name])[0])
    return {"ms": {k: statistics.median(v) for k, v in times.items()}, "flops": flops}


def _status_mib(field: str) -> float:
    """A memory field of /proc/self/status (VmRSS: now, VmHWM: peak of this process image) in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def memory_child(lib_name: str, name: str) -> None:
    """In a fresh process: the rise of peak RSS over the RSS before training, printed as JSON."""
    import importlib

    lib = importlib.import_module(lib_name)
    step, _, _ = build(lib, name)
    before = _status_mib("VmRSS")
    for _ in range(3):
        step()
    peak = _status_mib("VmHWM")  # not ru_maxrss: Linux carries that over from the parent across exec
    print(json.dumps({"mib": max(peak - before, 0.0)}))


def peak_memory(lib_name: str, name: str) -> float | None:
    cmd = [sys.executable, os.path.abspath(__file__), "--memory-child", lib_name, name]
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": _root_path()})
    if r.returncode != 0:
        print(f"memory measurement of {lib_name}/{name} failed:\n{r.stderr}", file=sys.stderr)
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])["mib"]


def _root_path() -> str:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--reps", type=int, default=7, help="repetitions per library (alternating)")
    ap.add_argument("--seconds", type=float, default=0.25, help="about how long one repetition runs")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="where both libraries run")
    ap.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child:
        memory_child(*args.memory_child)
        return
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import retrograd

    libs = {"retrograd": retrograd}
    try:
        import torch

        libs["torch"] = torch
    except ImportError:
        print("PyTorch is not installed: timing retrograd alone")
    if args.device == "cuda":
        peak, args.no_memory = math.nan, True
        print(f"on the GPU: {', '.join(n for n in libs)}")
    else:
        peak = gemm_rate()
        torch_rate = (f"; PyTorch {gemm_rate(libs['torch']):.1f} GFLOP/s on {libs['torch'].get_num_threads()} threads"
                      if "torch" in libs else "")
        print(f"float32 GEMM 1024^3 in this process: NumPy {peak:.1f} GFLOP/s (the peak below){torch_rate}")
    names = [w.strip() for w in args.workloads.split(",") if w.strip()]
    rows = []
    for name in names:
        r = time_workload(name, libs, args.reps, args.seconds, args.device)
        mem = {} if args.no_memory else {k: peak_memory(k, name) for k in libs}
        rows.append((name, r, mem))
    print()
    head = (f"{'workload':8s} {'retrograd ms':>12s} {'torch ms':>9s} {'torch/rg':>8s} {'rg GFLOP/s':>10s} "
            f"{'of peak':>7s} {'torch GFLOP/s':>13s} {'rg MiB':>7s} {'torch MiB':>9s}")
    print(head)
    print("-" * len(head))
    for name, r, mem in rows:
        ms_rg, ms_t = r["ms"]["retrograd"], r["ms"].get("torch")
        gf_rg = r["flops"] / ms_rg / 1e6 if r["flops"] else None
        gf_t = r["flops"] / ms_t / 1e6 if r["flops"] and ms_t else None
        print(f"{name:8s} {ms_rg:12.3f} {_fmt(ms_t, 9, 3)} {_fmt(ms_t and ms_t / ms_rg, 8, 2)} {_fmt(gf_rg, 10, 1)} "
              f"{_fmt(gf_rg and gf_rg / peak * 100, 6, 0)}% {_fmt(gf_t, 13, 1)} "
              f"{_fmt(mem.get('retrograd'), 7, 1)} {_fmt(mem.get('torch'), 9, 1)}")
    print(f"\nmedian of {args.reps} alternating repetitions of ~{args.seconds}s each; torch/rg above 1: retrograd is "
          "faster; MiB: rise of peak RSS during 3 training steps, in a fresh process per library")


def _fmt(v, width: int, digits: int) -> str:
    return f"{'-':>{width}s}" if v is None or v != v else f"{v:{width}.{digits}f}"  # None or nan: not measured


if __name__ == "__main__":
    main()
