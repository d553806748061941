"""The command line: `python -m retrograd demo`."""
from __future__ import annotations

import argparse
import time

import retrograd as rg


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m retrograd", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="fit a small MLP to sin(x) by gradient descent, printing the loss")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(args.steps, args.lr, args.hidden, args.seed)


if __name__ == "__main__":
    main()
