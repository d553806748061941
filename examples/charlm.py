"""A small character-level transformer (nanoGPT-style) on Shakespeare, written as a PyTorch script; prints a
sample at the end. The model, `CharTransformer`, is in retrograd/train/models.py.

    python examples/charlm.py [steps] [characters to sample]
"""
import sys

import retrograd as torch
import retrograd.nn.functional as F
from retrograd.datasets import CharDataset, load_text
from retrograd.train.models import CharTransformer
from retrograd.utils.data import DataLoader, RandomSampler

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 500
sample_length = int(sys.argv[2]) if len(sys.argv) > 2 else 300
batch_size, block_size = 32, 64

torch.manual_seed(0)
data = CharDataset(load_text(), block_size)  # item i: (text[i:i+64], text[i+1:i+65]) as character ids
loader = DataLoader(data, batch_size=batch_size, sampler=RandomSampler(data, num_samples=steps * batch_size))
model = CharTransformer(data.vocab_size, block_size, dim=64, depth=2, heads=4)
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.99), weight_decay=0.01)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps, eta_min=3e-4)

for step, (x, y) in enumerate(loader, start=1):
    logits = model(x)  # (batch, block, vocab): a prediction of the next character at every position
    loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
    scheduler.step()
    if step % 50 == 0 or step == steps:
        print(f"step {step:4d}  loss {loss.item():.4f}")

prompt = data.encode("\n").view(1, -1)
sample = model.generate(prompt, sample_length, temperature=0.8)  # draws each next character with torch.multinomial
print(data.decode(sample[0, 1:]))
