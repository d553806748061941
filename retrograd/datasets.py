"""Data sets for the examples and `python -m retrograd train`, with no torchvision needed.

- `load_digits()`: scikit-learn's bundled 8x8 handwritten digits (no download), and `split_train_test`,
  a seeded (optionally stratified) train/test split.
- `MNIST`: the canonical gzipped IDX files from a local folder, checked on reading; `download_mnist` fetches
  them over HTTP(S), verifying their SHA-256 sums.
- `load_text()` and `CharDataset`: character-level language modelling; the default text (Hamlet and Macbeth)
  ships inside the package.

Files are read and prepared on the host with NumPy; the results are retrograd tensors.
"""
from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import os
import tempfile
import urllib.request
import zlib
from collections.abc import Callable, Sequence

import numpy as np

from . import dtypes as dt
from .ops.creation import arange, from_numpy
from .tensor import Tensor
from .utils.data.dataset import BatchFetcher, Dataset, TensorDataset, index_tensor


def _host_array(x) -> np.ndarray:
    return np.asarray(x.detach().numpy(force=True) if isinstance(x, Tensor) else x)


# ---- scikit-learn's digits -------------------------------------------------------------------------------
def load_digits() -> tuple[Tensor, Tensor]:
    """scikit-learn's 1,797 8x8 digits: images float32 (N, 1, 8, 8) in [0, 1] and labels int64 (N,)."""
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError:
        raise ImportError("load_digits() needs scikit-learn: pip install 'retrograd[train]'") from None
    bunch = sk_load_digits()
    images = (bunch.images / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    return from_numpy(images), from_numpy(bunch.target.astype(np.int64))


def split_train_test(*tensors: Tensor, test_fraction: float = 0.2, seed: int = 0,
                     stratify: Tensor | None = None) -> tuple[TensorDataset, TensorDataset]:
    """Split tensors (same first dimension) into train and test `TensorDataset`s, the same way for the same seed.

    With `stratify` (labels), each class contributes `round(test_fraction * count)` samples to the test set,
    so both sets keep the class proportions. Each set keeps the original order.
    """
    if not tensors:
        raise ValueError("split_train_test: give at least one tensor")
    n = tensors[0].shape[0]
    if not 0 < test_fraction < 1:
        raise ValueError(f"split_train_test: test_fraction must be between 0 and 1 (exclusive), got {test_fraction}")
    rng = np.random.default_rng(seed)
    if stratify is None:
        test = rng.permutation(n)[:round(test_fraction * n)]
    else:
        labels = _host_array(stratify)
        if labels.shape != (n,):
            raise ValueError(f"split_train_test: stratify must be labels of shape ({n},), got {labels.shape}")
        order = rng.permutation(n)
        order = order[np.argsort(labels[order], kind="stable")]  # grouped by class, shuffled within each class
        _, starts, counts = np.unique(labels[order], return_index=True, return_counts=True)
        take = np.round(test_fraction * counts).astype(np.int64)
        rank = np.arange(n) - np.repeat(starts, counts)  # position of each sample within its class
        test = order[rank < np.repeat(take, counts)]
    is_test = np.zeros(n, dtype=bool)
    is_test[test] = True
    train_idx, test_idx = (from_numpy(np.flatnonzero(m)) for m in (~is_test, is_test))
    return (TensorDataset(*(t[train_idx.to(t.device)] for t in tensors)),
            TensorDataset(*(t[test_idx.to(t.device)] for t in tensors)))


# ---- MNIST ---------------------------------------------------------------------------------------------
MNIST_MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971",
    "train-labels-idx1-ubyte.gz": "1787548bbe0bff1ec2ecdc0ef292b02df999e2d1a6002d27500982c652b17203",
    "t10k-images-idx3-ubyte.gz": "1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be",
    "t10k-labels-idx1-ubyte.gz": "b91679a0acfe4ba0e50a2437a903084cba1f5f92592b016a25a7dfd00455798b",
}
_IDX_IMAGES, _IDX_LABELS = 0x00000803, 0x00000801  # unsigned bytes, 3 and 1 dimensions
_HOW_TO_DOWNLOAD = ("download it with MNIST(root, download=True) or retrograd.datasets.download_mnist(root), "
                    f"or fetch the four .gz files from {MNIST_MIRRORS[0]}")


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fetch(url: str, path: str, sha256: str, timeout: float) -> None:
    """Download `url` to `path` through a temporary file in the same folder, renamed only once its sum is right."""
    folder, name = os.path.split(path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                h.update(chunk)
                out.write(chunk)
        if h.hexdigest() != sha256:
            raise RuntimeError(f"SHA-256 mismatch: got {h.hexdigest()}, expected {sha256}")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def download_mnist(root: str | os.PathLike, base_url: str | None = None, timeout: float = 60.0) -> None:
    """Fetch the four MNIST files into `root` (from `base_url`, else each of `MNIST_MIRRORS` in turn),
    verifying their SHA-256 sums. Files already there with the right sum are kept."""
    root = os.fspath(os.path.expanduser(root))
    os.makedirs(root, exist_ok=True)
    bases = [base_url] if base_url else MNIST_MIRRORS
    for name, digest in MNIST_SHA256.items():
        path = os.path.join(root, name)
        if os.path.isfile(path) and _sha256(path) == digest:
            continue
        errors = []
        for base in bases:
            url = base.rstrip("/") + "/" + name
            try:
                _fetch(url, path, digest, timeout)
                break
            except (OSError, RuntimeError) as e:
                errors.append(f"{url}: {e}")
        else:
            raise RuntimeError(f"MNIST: could not download {name} into {root}:\n  " + "\n  ".join(errors))


def _open_idx(root: str, name: str) -> tuple[str, bytes]:
    """The bytes of IDX file `name` in `root`: `name.gz` (gunzipped) or, failing that, `name` itself."""
    for path, opener in ((os.path.join(root, name + ".gz"), gzip.open), (os.path.join(root, name), open)):
        if os.path.isfile(path):
            try:
                with opener(path, "rb") as f:
                    return path, f.read()
            except (OSError, EOFError, zlib.error) as e:
                raise _corrupt(path, f"cannot be read ({e})") from None
    raise FileNotFoundError(f"MNIST: {os.path.join(root, name + '.gz')} not found (expected the IDX file {name}.gz "
                            f"in {root}); {_HOW_TO_DOWNLOAD}")


def _corrupt(path: str, what: str) -> RuntimeError:
    return RuntimeError(f"MNIST: {path} {what}: the file is corrupt or truncated; delete it and {_HOW_TO_DOWNLOAD}")


def _parse_idx(path: str, data: bytes, magic: int) -> np.ndarray:
    """Parse an IDX file of unsigned bytes (`data`, read from `path`), checking its magic number and size."""
    if len(data) < 4 or int.from_bytes(data[:4], "big") != magic:
        found = f"0x{int.from_bytes(data[:4], 'big'):08x}" if len(data) >= 4 else f"only {len(data)} bytes"
        raise _corrupt(path, f"is not an IDX file of {magic & 0xFF}-d unsigned bytes (magic number {found}, "
                             f"expected 0x{magic:08x})")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise _corrupt(path, f"has {len(data)} bytes, fewer than its {header}-byte IDX header")
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape))
    if len(data) - header != expected:
        raise _corrupt(path, f"has {len(data) - header} bytes of data after its header, expected {expected} for "
                             f"shape {shape}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


class MNIST(Dataset):
    """MNIST from the canonical IDX files in `root` (`train-images-idx3-ubyte.gz` and friends, as in the
    downloads; unzipped files are read too). Items are (image float32 (1, 28, 28) in [0, 1], label int),
    passed through `transform` / `target_transform`; `.data` (uint8 (N, 28, 28)) and `.targets` (int64 (N,))
    hold the whole split."""

    mirrors = MNIST_MIRRORS
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]

    def __init__(self, root: str | os.PathLike, train: bool = True, download: bool = False,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 base_url: str | None = None) -> None:
        self.root = os.fspath(os.path.expanduser(root))
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        if download:
            download_mnist(self.root, base_url)
        prefix = "train" if train else "t10k"
        images = _parse_idx(*_open_idx(self.root, f"{prefix}-images-idx3-ubyte"), _IDX_IMAGES)
        labels = _parse_idx(*_open_idx(self.root, f"{prefix}-labels-idx1-ubyte"), _IDX_LABELS)
        if images.shape[1:] != (28, 28) or len(images) != len(labels) or (len(labels) and labels.max() > 9):
            raise RuntimeError(f"MNIST: the {prefix} files in {self.root} do not hold matching 28x28 images and "
                               f"labels 0-9 (images {images.shape}, {len(labels)} labels); {_HOW_TO_DOWNLOAD}")
        self.data = from_numpy(images.copy())
        self.targets = from_numpy(labels.astype(np.int64))

    def __len__(self) -> int:
        return self.data.shape[0]

    def __getitem__(self, index: int):
        image = self.data[index].to(dt.float32).div(255).unsqueeze(0)
        target = int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def _batch_fetcher(self) -> BatchFetcher | None:
        if self.transform is not None or self.target_transform is not None:
            return None

        def fetch(indices: list) -> list:
            idx = index_tensor(indices, self.data)
            return [self.data[idx].to(dt.float32).div(255).unsqueeze(1), self.targets[idx]]

        return fetch


# ---- character-level text ----------------------------------------------------------------------------------
def load_text(path: str | os.PathLike | None = None, encoding: str = "utf-8") -> str:
    """The text of a file, or with no path the bundled Shakespeare (Hamlet and Macbeth, 277 KB)."""
    if path is None:
        return importlib.resources.files("retrograd").joinpath("data", "shakespeare.txt").read_text("utf-8")
    with open(path, encoding=encoding) as f:
        return f.read()


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


class CharDataset(Dataset):
    """Windows of a text for next-character prediction: item i is (x, y), int64 tensors of `block_size`
    character ids, x = text[i:i + block_size] and y = text[i + 1:i + block_size + 1].

    The vocabulary is the sorted unique characters of the text (or `chars`); `encode`/`decode` convert.
    """

    def __init__(self, text: str, block_size: int, chars: Sequence[str] | None = None) -> None:
        if not isinstance(block_size, int) or isinstance(block_size, bool) or block_size <= 0:
            raise ValueError(f"CharDataset: block_size must be a positive int, got {block_size!r}")
        if len(text) <= block_size:
            raise ValueError(f"CharDataset: the text has {len(text)} characters; it needs more than block_size="
                             f"{block_size} to make one (x, y) window")
        self.chars = sorted(set(text)) if chars is None else list(chars)
        if any(len(c) != 1 for c in self.chars) or len(set(self.chars)) != len(self.chars):
            raise ValueError("CharDataset: chars must be distinct single characters")
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        self.itos = dict(enumerate(self.chars))
        self._codes = _code_points("".join(self.chars))
        self._order = np.argsort(self._codes, kind="stable")
        self._sorted_codes = self._codes[self._order]
        self.block_size = block_size
        self.data = self.encode(text)

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> Tensor:
        """Character ids (int64) of `text`; characters outside the vocabulary raise ValueError."""
        cps = _code_points(text)
        pos = np.minimum(np.searchsorted(self._sorted_codes, cps), len(self._sorted_codes) - 1)
        unknown = self._sorted_codes[pos] != cps
        if unknown.any():
            bad = sorted({chr(c) for c in cps[unknown]})
            raise ValueError(f"CharDataset.encode: characters {bad} are not in the vocabulary of "
                             f"{self.vocab_size} characters")
        return from_numpy(self._order[pos].astype(np.int64))

    def decode(self, ids: Tensor | Sequence[int]) -> str:
        """The text of character ids (a 1-d tensor or a sequence of ints)."""
        ids = _host_array(ids).astype(np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(f"CharDataset.decode: ids must be in [0, {self.vocab_size}), got values from "
                             f"{ids.min()} to {ids.max()}")
        return self._codes[ids].tobytes().decode("utf-32-le")

    def __len__(self) -> int:
        return self.data.shape[0] - self.block_size

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"CharDataset: index {index} is out of range for {n} windows")
        i = index % n
        chunk = self.data[i:i + self.block_size + 1]
        return chunk[:-1], chunk[1:]

    def _batch_fetcher(self) -> BatchFetcher:
        offsets = arange(self.block_size + 1)

        def fetch(indices: list) -> list:
            n = len(self)
            idx = index_tensor(indices, self.data)
            if idx.lt(-n).any() or idx.ge(n).any():
                raise IndexError(f"CharDataset: an index in the batch is out of range for {n} windows")
            windows = self.data[idx.remainder(n).unsqueeze(1) + offsets]
            return [windows[:, :-1], windows[:, 1:]]

        return fetch


__all__ = ["load_digits", "split_train_test", "MNIST", "MNIST_MIRRORS", "MNIST_SHA256", "download_mnist",
           "load_text", "CharDataset"]
