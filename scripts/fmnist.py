# Fashion-MNIST loader (idx format, NumPy only): shared by the training script, tests and examples.
import gzip
import os
from pathlib import Path

import numpy as np

# Debian's dataset-fashion-mnist package; FASHION_MNIST_DIR overrides it.
DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"

CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """Reads one idx file (optionally gzipped) into an array of its declared shape."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path}: not an idx file (bad magic {data[:4].hex()})")
    dtype, ndim = data[2], data[3]
    if dtype not in _IDX_DTYPES:
        raise ValueError(f"{path}: unknown idx element type 0x{dtype:02x}")
    header = 4 + 4 * ndim
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=_IDX_DTYPES[dtype], offset=header)
    if arr.size != int(np.prod(dims)):
        raise ValueError(
            f"{path}: expected {int(np.prod(dims))} elements for dims {dims}, found {arr.size}"
        )
    return arr.reshape(dims)


def data_dir():
    return Path(os.environ.get("FASHION_MNIST_DIR", DEFAULT_DIR))


def available():
    d = data_dir()
    return all(
        (d / f"{s}-{k}-ubyte.gz").exists()
        for s in ("train", "t10k")
        for k in ("images-idx3", "labels-idx1")
    )


def load(split="test"):
    """Returns (images float32 [N,1,28,28] scaled to [0,1], labels int64 [N])."""
    prefix = {"train": "train", "test": "t10k"}[split]
    d = data_dir()
    images = read_idx(d / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(d / f"{prefix}-labels-idx1-ubyte.gz")
    x = (images.astype(np.float32) / 255.0)[:, None, :, :]
    return np.ascontiguousarray(x), labels.astype(np.int64)
