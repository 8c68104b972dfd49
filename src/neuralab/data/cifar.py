"""CIFAR-10 from the official python batches, read through an unpickler that only builds arrays.

The batches are pickles, and a pickle can run any code; the restricted unpickler accepts the few
numpy globals an array needs and refuses everything else, so a tampered file fails loudly.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralab.data.registry import LoadedData, LoadOptions, TensorSamples
from neuralab.data.sources import RemoteFile, cache_root, candidate_dirs, download
from neuralab.data.transforms import Preprocess
from neuralab.errors import UserError

ARCHIVE = RemoteFile(
    "cifar-10-python.tar.gz",
    "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
)
BATCH_DIR = "cifar-10-batches-py"
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCH = "test_batch"
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
STATS = ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # how protocol-2 pickles written by Python 3 store bytes; harmless
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only arrays and lists are allowed")
        return super().find_class(module, name)


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images [N, 3, 32, 32] uint8 and labels [N] from one batch file, validated."""
    try:
        raw = _ArrayUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, OSError) as err:
        raise UserError(f"{path}: not a CIFAR-10 batch ({err})") from None
    if not isinstance(raw, dict) or b"data" not in raw or b"labels" not in raw:
        raise UserError(f"{path}: not a CIFAR-10 batch (expected a dict with 'data' and 'labels')")
    data, labels = np.asarray(raw[b"data"]), np.asarray(raw[b"labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise UserError(f"{path}: 'data' has shape {data.shape} and type {data.dtype}, expected [N, 3072] uint8")
    if len(data) != len(labels):
        raise UserError(f"{path}: {len(data)} images but {len(labels)} labels")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(CLASSES)):
        raise UserError(f"{path}: labels outside 0..{len(CLASSES) - 1}")
    return data.reshape(-1, 3, 32, 32), labels


def _find_batch_dir(options: LoadOptions) -> Path | None:
    needed = [*TRAIN_BATCHES, TEST_BATCH]
    for folder in candidate_dirs("cifar10", options.data_dir):
        for candidate in (folder, folder / BATCH_DIR):
            if all((candidate / name).is_file() for name in needed):
                return candidate
    return None


def _download_and_extract() -> Path:
    dest = cache_root() / "cifar10"
    archive = dest / ARCHIVE.name
    if not archive.is_file():
        archive = download(ARCHIVE, dest)
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(dest, filter="data")
    return dest / BATCH_DIR


def load_cifar10(options: LoadOptions) -> LoadedData:
    folder = _find_batch_dir(options)
    if folder is None:
        if not options.download:
            raise UserError(
                f"CIFAR-10 batches ({BATCH_DIR}/data_batch_1..5, test_batch) not found",
                hint="pass --data-dir to the folder holding them, or allow downloads",
            )
        folder = _download_and_extract()
    train = [read_batch(folder / name) for name in TRAIN_BATCHES]
    x_test, y_test = read_batch(folder / TEST_BATCH)
    return LoadedData(
        train=TensorSamples(
            torch.from_numpy(np.concatenate([x for x, _ in train])),
            torch.from_numpy(np.concatenate([y for _, y in train])),
        ),
        test=TensorSamples(torch.from_numpy(x_test.copy()), torch.from_numpy(y_test)),
        classes=CLASSES,
        preprocess=Preprocess(kind="image", input_shape=(3, 32, 32), mean=STATS[0], std=STATS[1]),
        source=str(folder),
    )
