"""The models of `python -m retrograd train`: an MLP and a small CNN for 8x8 digits, and a character-level
causal transformer (nanoGPT-style)."""
from __future__ import annotations

from .. import nn
from ..autograd import no_grad
from ..nn import functional as F
from ..ops.shape import cat
from ..random import Generator, multinomial
from ..tensor import Tensor


def digits_mlp(hidden: int = 256, dropout: float = 0.1, classes: int = 10) -> nn.Sequential:
    """64 pixels -> two ReLU layers of `hidden` units (with dropout) -> class logits."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(64, hidden), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden, classes),
    )


def digits_cnn(channels: int = 32, dropout: float = 0.2, classes: int = 10) -> nn.Sequential:
    """Two 3x3 conv layers, a 2x2 max-pool (8x8 -> 4x4) and a two-layer head."""
    return nn.Sequential(
        nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(),
        nn.Conv2d(channels, 2 * channels, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2 * channels * 16, 128), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(128, classes),
    )


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which each position sees only itself and earlier positions."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"CausalSelfAttention: dim ({dim}) must be divisible by heads ({heads})")
        self.heads = heads
        self.dropout = dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(b, t, c))


class Block(nn.Module):
    """A pre-norm transformer block: x + attention(norm(x)), then x + MLP(norm(x))."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = CausalSelfAttention(dim, heads, dropout)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim), nn.Dropout(dropout))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class CharTransformer(nn.Module):
    """A GPT over characters: token + position embeddings, pre-norm blocks, a final LayerNorm and a linear head.
    Maps ids (B, T) to next-character logits (B, T, vocab_size)."""

    def __init__(self, vocab_size: int, block_size: int, dim: int = 64, depth: int = 2, heads: int = 4,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.block_size = block_size
        self.tok_emb = nn.Embedding(vocab_size, dim)
        self.pos_emb = nn.Embedding(block_size, dim)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.Sequential(*(Block(dim, heads, dropout) for _ in range(depth)))
        self.ln_f = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab_size)

    def forward(self, idx: Tensor) -> Tensor:
        t = idx.shape[1]
        if t > self.block_size:
            raise ValueError(f"CharTransformer: sequence of length {t} is longer than block_size {self.block_size}")
        positions = self.pos_emb.weight[:t]
        return self.head(self.ln_f(self.blocks(self.drop(self.tok_emb(idx) + positions))))

    @no_grad()
    def generate(self, idx: Tensor, new_tokens: int, temperature: float = 1.0,
                 generator: Generator | None = None) -> Tensor:
        """Extend ids (B, T) by `new_tokens`, each drawn from the softmax of the last logits / temperature."""
        was_training = self.training
        self.eval()
        for _ in range(new_tokens):
            logits = self(idx[:, -self.block_size:])[:, -1] / temperature
            idx = cat([idx, multinomial(F.softmax(logits, dim=-1), 1, generator=generator)], dim=1)
        self.train(was_training)
        return idx


def sequence_cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Cross-entropy of logits (B, T, V) against ids (B, T), averaged over every position."""
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten())


__all__ = ["digits_mlp", "digits_cnn", "CausalSelfAttention", "Block", "CharTransformer", "sequence_cross_entropy"]
