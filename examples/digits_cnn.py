"""A small CNN on scikit-learn's 8x8 digits, written as a PyTorch script (the loop is digits_mlp.py's).

    python examples/digits_cnn.py [epochs]
"""
import sys

from digits_mlp import train

import retrograd as torch
import retrograd.nn as nn

if __name__ == "__main__":
    torch.manual_seed(0)
    cnn = nn.Sequential(
        nn.Conv2d(1, 32, kernel_size=3, padding=1), nn.ReLU(),   # (N, 32, 8, 8)
        nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.ReLU(),  # (N, 64, 8, 8)
        nn.MaxPool2d(2),                                         # (N, 64, 4, 4)
        nn.Flatten(),
        nn.Linear(64 * 4 * 4, 128), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(128, 10),
    )
    train(cnn, epochs=int(sys.argv[1]) if len(sys.argv) > 1 else 10)
    torch.save(cnn.state_dict(), "digits_cnn.safetensors")
    print("saved the weights to digits_cnn.safetensors")
