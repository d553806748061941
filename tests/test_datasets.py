"""retrograd.datasets: scikit-learn digits, MNIST from IDX files (and its download), character-level text."""
import functools
import gzip
import hashlib
import http.server
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

import retrograd as rg
from retrograd import datasets
from retrograd.utils.data import DataLoader, Subset, TensorDataset, default_collate

MNIST_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist"
FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz"]


def _generic(batch):
    """default_collate, but not `is default_collate`: the per-sample path."""
    return default_collate(batch)


def _assert_same_batches(fast_loader, slow_loader):
    for a, b in zip(fast_loader, slow_loader, strict=True):
        for x, y in zip(a, b, strict=True):
            assert x.dtype is y.dtype and x.shape == y.shape
            np.testing.assert_array_equal(x.numpy(), y.numpy())


# ---- digits ----------------------------------------------------------------------------------------------
def test_load_digits():
    from sklearn.datasets import load_digits

    x, y = datasets.load_digits()
    assert x.shape == (1797, 1, 8, 8) and x.dtype is rg.float32 and y.shape == (1797,) and y.dtype is rg.int64
    assert x.min().item() == 0.0 and x.max().item() == 1.0
    ref = load_digits()
    np.testing.assert_allclose(x.numpy()[:, 0], ref.images / 16, rtol=1e-6)
    np.testing.assert_array_equal(y.numpy(), ref.target)


def test_split_train_test_stratified_and_seeded():
    x, y = datasets.load_digits()
    train, test = datasets.split_train_test(x, y, test_fraction=0.25, seed=0, stratify=y)
    assert isinstance(train, TensorDataset) and len(train) + len(test) == 1797
    counts, test_counts = np.bincount(y.numpy()), np.bincount(test.tensors[1].numpy(), minlength=10)
    np.testing.assert_array_equal(test_counts, np.round(0.25 * counts))
    rows = {r.tobytes() for r in train.tensors[0].numpy()} | {r.tobytes() for r in test.tensors[0].numpy()}
    assert len(rows) == len({r.tobytes() for r in x.numpy()}), "the two sets together hold every sample"
    again = datasets.split_train_test(x, y, test_fraction=0.25, seed=0, stratify=y)[1]
    other = datasets.split_train_test(x, y, test_fraction=0.25, seed=1, stratify=y)[1]
    np.testing.assert_array_equal(again.tensors[0].numpy(), test.tensors[0].numpy())
    assert not np.array_equal(other.tensors[0].numpy(), test.tensors[0].numpy())


def test_split_train_test_plain_and_errors():
    idx = rg.arange(100)
    train, test = datasets.split_train_test(idx, test_fraction=0.3, seed=4)
    a, b = train.tensors[0].numpy(), test.tensors[0].numpy()
    assert len(b) == 30 and sorted(np.concatenate([a, b]).tolist()) == list(range(100))
    assert np.all(np.diff(a) > 0), "each set keeps the original order"
    with pytest.raises(ValueError, match="test_fraction"):
        datasets.split_train_test(idx, test_fraction=1.5)
    with pytest.raises(ValueError, match="stratify"):
        datasets.split_train_test(idx, stratify=rg.zeros(5))


# ---- MNIST ----------------------------------------------------------------------------------------------
def _parse(name):
    """An independent reading of one IDX file: gzip, then NumPy past the fixed-size header."""
    raw = gzip.decompress((MNIST_DIR / name).read_bytes())
    header = 16 if "images" in name else 8
    return np.frombuffer(raw, dtype=np.uint8, offset=header)


@pytest.fixture(scope="module")
def mnist_train():
    return datasets.MNIST(MNIST_DIR, train=True)


def test_mnist_train_from_shared_folder(mnist_train):
    m = mnist_train
    assert len(m) == 60000 and m.data.shape == (60000, 28, 28) and m.data.dtype is rg.uint8
    assert m.targets.dtype is rg.int64 and m.targets[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    np.testing.assert_array_equal(np.bincount(m.targets.numpy()),
                                  [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
    np.testing.assert_array_equal(m.data.numpy().reshape(-1), _parse("train-images-idx3-ubyte.gz"))
    np.testing.assert_array_equal(m.targets.numpy(), _parse("train-labels-idx1-ubyte.gz"))
    image, label = m[7]
    assert image.shape == (1, 28, 28) and image.dtype is rg.float32 and type(label) is int and label == 3
    np.testing.assert_allclose(image.numpy()[0], m.data[7].numpy() / np.float32(255))
    assert 0.0 <= image.min().item() and image.max().item() == 1.0


def test_mnist_test_split_and_transforms():
    m = datasets.MNIST(str(MNIST_DIR), train=False, transform=lambda x: x * 2, target_transform=lambda y: -y)
    assert len(m) == 10000 and m.targets[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    image, label = m[0]
    assert label == -7 and image.max().item() == 2.0
    np.testing.assert_array_equal(m.data.numpy().reshape(-1), _parse("t10k-images-idx3-ubyte.gz"))


def test_mnist_fast_batches_equal_generic(mnist_train):
    sub = Subset(mnist_train, list(range(0, 60000, 997)))
    kw = dict(batch_size=16, shuffle=True)
    _assert_same_batches(DataLoader(sub, generator=rg.Generator().manual_seed(0), **kw),
                         DataLoader(sub, generator=rg.Generator().manual_seed(0), collate_fn=_generic, **kw))


def _write_idx(path, magic, shape, payload=None, compress=True):
    """An IDX file with the given header; payload defaults to the right number of bytes."""
    n = int(np.prod(shape))
    body = payload if payload is not None else (np.arange(n) % 10).astype(np.uint8).tobytes()
    raw = magic.to_bytes(4, "big") + b"".join(s.to_bytes(4, "big") for s in shape) + body
    path.write_bytes(gzip.compress(raw) if compress else raw)


@pytest.fixture
def tiny(tmp_path):
    """A folder holding a valid 3-image MNIST test split."""
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", 0x803, (3, 28, 28))
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", 0x801, (3,))
    return tmp_path


def test_mnist_tiny_valid_and_uncompressed(tiny):
    m = datasets.MNIST(tiny, train=False)
    assert len(m) == 3 and m.targets.tolist() == [0, 1, 2]
    (tiny / "t10k-labels-idx1-ubyte.gz").unlink()
    _write_idx(tiny / "t10k-labels-idx1-ubyte", 0x801, (3,), compress=False)
    assert datasets.MNIST(tiny, train=False).targets.tolist() == [0, 1, 2]


def test_mnist_missing_file(tiny):
    with pytest.raises(FileNotFoundError, match=r"train-images-idx3-ubyte\.gz.*download=True"):
        datasets.MNIST(tiny, train=True)
    (tiny / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        datasets.MNIST(tiny, train=False)


def test_mnist_truncated_gzip(tiny):
    path = tiny / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(RuntimeError, match=r"t10k-images-idx3-ubyte\.gz.*corrupt or truncated"):
        datasets.MNIST(tiny, train=False)


def test_mnist_not_gzip(tiny):
    (tiny / "t10k-labels-idx1-ubyte.gz").write_bytes(b"<html>not found</html>")
    with pytest.raises(RuntimeError, match="t10k-labels-idx1-ubyte.gz.*corrupt"):
        datasets.MNIST(tiny, train=False)


@pytest.mark.parametrize("magic", [0x801, 0x0D03, 0x12345678])
def test_mnist_wrong_magic(tiny, magic):
    _write_idx(tiny / "t10k-images-idx3-ubyte.gz", magic, (3, 28, 28))
    with pytest.raises(RuntimeError, match=r"t10k-images-idx3-ubyte\.gz.*magic number.*expected 0x00000803"):
        datasets.MNIST(tiny, train=False)


def test_mnist_truncated_data(tiny):
    _write_idx(tiny / "t10k-images-idx3-ubyte.gz", 0x803, (3, 28, 28), payload=bytes(2 * 28 * 28))
    with pytest.raises(RuntimeError, match=r"1568 bytes.*expected 2352.*truncated"):
        datasets.MNIST(tiny, train=False)
    (tiny / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x03\x00"))
    with pytest.raises(RuntimeError, match="truncated"):
        datasets.MNIST(tiny, train=False)


def test_mnist_mismatched_files(tiny):
    _write_idx(tiny / "t10k-labels-idx1-ubyte.gz", 0x801, (4,))
    with pytest.raises(RuntimeError, match="matching"):
        datasets.MNIST(tiny, train=False)
    _write_idx(tiny / "t10k-images-idx3-ubyte.gz", 0x803, (4, 28, 27))
    with pytest.raises(RuntimeError, match="28x28"):
        datasets.MNIST(tiny, train=False)


def test_mnist_embedded_sums_match_shared_folder():
    listed = dict(reversed(line.split()) for line in (MNIST_DIR / "SHA256SUMS").read_text().splitlines())
    assert listed == datasets.MNIST_SHA256
    assert datasets.MNIST_MIRRORS[0] == "https://ossci-datasets.s3.amazonaws.com/mnist/"


class _Server:
    """A local HTTP server over one folder, on 127.0.0.1, in a daemon thread; records the paths requested."""

    def __init__(self, folder):
        requests = self.requests = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):
                requests.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     functools.partial(Handler, directory=str(folder)))
        self.httpd.timeout = 5
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server(tmp_path):
    """Serves tmp_path/served: a copy of the shared MNIST files, under mnist/."""
    served = tmp_path / "served" / "mnist"
    served.mkdir(parents=True)
    for name in FILES:
        shutil.copy(MNIST_DIR / name, served / name)
    s = _Server(tmp_path / "served")
    yield s
    s.close()


def test_download_from_local_server(server, tmp_path):
    root = tmp_path / "data"
    m = datasets.MNIST(root, train=False, download=True, base_url=server.url + "mnist")
    assert len(m) == 10000 and m.targets[:3].tolist() == [7, 2, 1]
    for name in FILES:
        assert (root / name).read_bytes() == (MNIST_DIR / name).read_bytes()
    assert sorted(os.listdir(root)) == sorted(FILES), "no temporary files left behind"
    assert sorted(server.requests) == sorted("/mnist/" + name for name in FILES)
    fetched = len(server.requests)
    datasets.download_mnist(root, base_url=server.url + "mnist/")
    assert len(server.requests) == fetched, "files already there with the right sums are not fetched again"


def test_download_tries_mirrors_in_order(server, tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "MNIST_MIRRORS", [server.url + "nowhere/", server.url + "mnist/"])
    datasets.download_mnist(tmp_path / "data", timeout=10)
    assert sorted(os.listdir(tmp_path / "data")) == sorted(FILES)


def test_download_checksum_mismatch(server, tmp_path):
    bad = tmp_path / "served" / "mnist" / "train-labels-idx1-ubyte.gz"
    content = bad.read_bytes()
    bad.write_bytes(content[:100] + bytes([content[100] ^ 0xFF]) + content[101:])
    root = tmp_path / "data"
    with pytest.raises(RuntimeError, match=r"train-labels-idx1-ubyte\.gz(.|\n)*SHA-256 mismatch(.|\n)*expected 1787"):
        datasets.download_mnist(root, base_url=server.url + "mnist/", timeout=10)
    assert sorted(os.listdir(root)) == ["train-images-idx3-ubyte.gz"], "the bad file is not kept, nor a temp file"


def test_download_missing_on_server(server, tmp_path):
    (tmp_path / "served" / "mnist" / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(RuntimeError, match=r"t10k-images-idx3-ubyte\.gz(.|\n)*404"):
        datasets.download_mnist(tmp_path / "data", base_url=server.url + "mnist/", timeout=10)


def test_download_replaces_corrupt_local_file(server, tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    (root / "t10k-labels-idx1-ubyte.gz").write_bytes(b"junk")
    datasets.download_mnist(root, base_url=server.url + "mnist/", timeout=10)
    digest = hashlib.sha256((root / "t10k-labels-idx1-ubyte.gz").read_bytes()).hexdigest()
    assert digest == datasets.MNIST_SHA256["t10k-labels-idx1-ubyte.gz"]


# ---- character-level text ------------------------------------------------------------------------------
def test_bundled_text():
    text = datasets.load_text()
    assert text.startswith("HAMLET, PRINCE OF DENMARK") and "MACBETH" in text and 250_000 < len(text) < 400_000
    shared = Path(MNIST_DIR).parent / "shakespeare" / "seven-plays.txt"
    assert shared.read_text().startswith(text.rstrip("\n"))


def test_char_dataset_windows_and_round_trip():
    text = "hello world, hello there"
    ds = datasets.CharDataset(text, block_size=4)
    assert ds.chars == sorted(set(text)) and ds.vocab_size == len(set(text))
    assert len(ds) == len(text) - 4 and ds.data.dtype is rg.int64
    assert ds.decode(ds.encode(text)) == text and ds.decode(ds.data.tolist()) == text
    assert ds.encode("he").tolist() == [ds.stoi["h"], ds.stoi["e"]] and ds.itos[0] == " "
    for i in (0, 5, len(ds) - 1, -1):
        x, y = ds[i]
        j = i % len(ds)
        assert ds.decode(x) == text[j:j + 4] and ds.decode(y) == text[j + 1:j + 5]
        assert x.dtype is rg.int64 and x.shape == (4,)
    with pytest.raises(IndexError):
        ds[len(ds)]
    with pytest.raises(ValueError, match="'z'"):
        ds.encode("zebra")
    with pytest.raises(ValueError, match="ids"):
        ds.decode([99])
    with pytest.raises(ValueError, match="block_size"):
        datasets.CharDataset("abc", block_size=3)
    with pytest.raises(ValueError, match="block_size"):
        datasets.CharDataset("abc", block_size=0)


def test_char_dataset_unicode_and_given_vocabulary(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("àbç → ŝ\nàbç", encoding="utf-8")
    text = datasets.load_text(path)
    ds = datasets.CharDataset(text, 3, chars="çbà →\nŝx")
    assert ds.chars == list("çbà →\nŝx") and ds.decode(ds.encode(text)) == text
    assert ds.encode("ç").item() == 0 and ds.encode("x").item() == 7


def test_char_dataset_fast_batches_equal_generic():
    ds = datasets.CharDataset(datasets.load_text()[:5000], block_size=16)
    kw = dict(batch_size=32, shuffle=True, drop_last=True)
    _assert_same_batches(DataLoader(ds, generator=rg.Generator().manual_seed(0), **kw),
                         DataLoader(ds, generator=rg.Generator().manual_seed(0), collate_fn=_generic, **kw))
    x, y = next(iter(DataLoader(ds, batch_size=4)))
    np.testing.assert_array_equal(x.numpy()[:, 1:], y.numpy()[:, :-1])
