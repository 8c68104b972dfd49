from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from neuralab.data.cifar import TEST_BATCH, TRAIN_BATCHES, load_cifar10, read_batch
from neuralab.data.registry import LoadOptions
from neuralab.errors import UserError


def write_batch(path: Path, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": rng.integers(0, 10, n).tolist()}
    path.write_bytes(pickle.dumps(batch, protocol=2))


def test_loads_official_layout(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for i, name in enumerate([*TRAIN_BATCHES, TEST_BATCH]):
        write_batch(folder / name, 20, i)
    data = load_cifar10(LoadOptions(data_dir=tmp_path, download=False))
    assert data.train.x.shape == (100, 3, 32, 32) and data.test.x.shape == (20, 3, 32, 32)  # type: ignore[attr-defined]
    assert len(data.classes) == 10


class Exploit:
    def __reduce__(self) -> tuple:
        return (os.system, ("echo pwned",))


def test_a_pickle_that_runs_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": Exploit(), b"labels": []}))
    with pytest.raises(UserError, match="refusing to load"):
        read_batch(path)


def test_wrong_shape_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "b"
    path.write_bytes(pickle.dumps({b"data": np.zeros((2, 10), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(UserError, match=r"expected \[N, 3072\]"):
        read_batch(path)
