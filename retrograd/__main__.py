"""The command line: `python -m retrograd demo`, `python -m retrograd train {digits-mlp,digits-cnn,charlm}`."""
from __future__ import annotations

import argparse
import sys
import time

import retrograd as rg
from retrograd import viz
from retrograd.serialization import CheckpointError
from retrograd.train.jobs import JOBS, run_job


def demo(steps: int = 2000, lr: float = 0.05, hidden: int = 32, seed: int = 0) -> float:
    """Fit y = sin(x) with a two-layer tanh MLP by plain gradient descent; print the loss falling."""
    rg.manual_seed(seed)
    x = rg.linspace(-3, 3, 128).reshape(128, 1)
    y = x.sin()
    w1 = (rg.randn(1, hidden) * 1.0).requires_grad_()
    b1 = rg.zeros(hidden, requires_grad=True)
    w2 = (rg.randn(hidden, 1) / hidden ** 0.5).requires_grad_()
    b2 = rg.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]
    start = time.perf_counter()
    loss = None
    for step in range(steps + 1):
        pred = (x @ w1 + b1).tanh() @ w2 + b2
        loss = ((pred - y) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()  # the chain rule, node by node, from the loss back to every parameter
        with rg.no_grad():
            for p in params:
                p -= lr * p.grad
        if step % (steps // 10) == 0:
            print(f"step {step:4d}  loss {loss.item():.5f}")
    print(f"fitted sin(x) on [-3, 3] in {time.perf_counter() - start:.2f} s: final MSE {loss.item():.5f}")
    return loss.item()


def _add_training_arguments(p: argparse.ArgumentParser, defaults: dict) -> None:
    """The options every training job has; `defaults` are the job's own."""
    add = p.add_argument
    if "epochs" in defaults:
        add("--epochs", type=int, default=defaults["epochs"], help="epochs to train (default: %(default)s)")
    add("--batch-size", type=int, default=defaults["batch_size"], help="samples per micro-batch (default: %(default)s)")
    add("--lr", type=float, default=defaults["lr"], help="peak learning rate (default: %(default)s)")
    add("--seed", type=int, default=0, help="seed of the initial weights and the batch order (default: %(default)s)")
    add("--accum", type=int, default=1, help="micro-batches per optimizer step (default: %(default)s)")
    add("--clip", type=float, default=defaults["clip"],
        help="max total gradient norm, 0: no clipping (default: %(default)s)")
    add("--checkpoint-every", type=int, default=None, metavar="STEPS",
        help="also write the checkpoint every STEPS optimizer steps (it is always written after each epoch)")
    add("--resume", metavar="CHECKPOINT", help="continue from a checkpoint written by an earlier run")
    add("--out", help="folder for checkpoint.safetensors and curves.png (default: runs/<job>/)")
    add("--threads", type=int, default=1, help="BLAS threads; 0: the library's default (default: %(default)s)")
    add("--no-progress", dest="progress", action="store_false", help="no progress bar")
    add("--profile", action="store_true",
        help="time every op type (forward and backward): print a table and write trace.json (Chrome trace) in --out")


def _fail(parser: argparse.ArgumentParser, message: str) -> None:
    """Exit with `message` (status 2). One rank of several also takes the job down (MPI_Abort), since the
    others would wait for it until their deadline."""
    dist = rg.distributed
    if dist.is_initialized() and dist.get_world_size() > 1:
        from mpi4py import MPI

        sys.stderr.write(f"[rank {dist.get_rank()}] {message}")
        sys.stderr.flush()
        time.sleep(0.5)  # the launcher forwards output asynchronously: an abort at once can drop the message
        MPI.COMM_WORLD.Abort(2)
    parser.exit(2, message)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m retrograd", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="fit a small MLP to sin(x) by gradient descent, printing the loss")
    p.add_argument("--steps", type=int, default=2000, help="gradient-descent steps (default: %(default)s)")
    p.add_argument("--lr", type=float, default=0.05, help="learning rate (default: %(default)s)")
    p.add_argument("--hidden", type=int, default=32, help="hidden units (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights (default: %(default)s)")
    train = sub.add_parser("train", help="train a bundled example, writing a checkpoint and a loss-curve plot",
                           description="Train a bundled example; print progress and final metrics; write "
                                       "checkpoint.safetensors and curves.png into --out.")
    jobs = train.add_subparsers(dest="job", required=True, metavar="JOB")
    for name, job in JOBS.items():
        jp = jobs.add_parser(name, help=job.help, description=job.help[0].upper() + job.help[1:] + ".")
        _add_training_arguments(jp, job.defaults)
        if job.add_arguments is not None:
            job.add_arguments(jp)
    g = sub.add_parser("graph", help="draw the computational graph of a bundled model after one backward pass",
                       description="Draw the graph of a bundled model (forward edges solid, gradient edges dashed, "
                                   "gradient norms on the nodes) to OUT: .dot needs nothing, .svg/.png/.pdf need "
                                   "the graphviz package and Graphviz's dot program.")
    g.add_argument("model", choices=list(viz.EXAMPLES), help="which model")
    g.add_argument("out", help="OUT.dot, OUT.svg, OUT.png or OUT.pdf")
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(args.steps, args.lr, args.hidden, args.seed)
    elif args.command == "graph":
        try:
            viz.graph_command(args.model, args.out)
        except (ValueError, OSError, ImportError, RuntimeError) as e:
            parser.exit(2, f"python -m retrograd graph: error: {e}\n")
        print(f"wrote {args.out}")
    elif args.command == "train":
        try:
            run_job(args.job, args)
        except (ValueError, KeyError, OSError, ImportError, CheckpointError) as e:
            _fail(parser, f"python -m retrograd train {args.job}: error: {e}\n")


if __name__ == "__main__":
    main()
