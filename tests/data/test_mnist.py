from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from neuralab.data.mnist import FASHION_SHA256, load_fashion_mnist
from neuralab.data.registry import LoadOptions
from neuralab.data.sources import sha256_of
from tests.conftest import FASHION_DIR, needs_fashion


@needs_fashion
def test_debian_fashion_mnist_loads_and_matches_published_checksums() -> None:
    for name, digest in FASHION_SHA256.items():
        assert sha256_of(FASHION_DIR / name) == digest
    data = load_fashion_mnist(LoadOptions(download=False))
    assert data.train.x.shape == (60000, 1, 28, 28) and data.test.x.shape == (10000, 1, 28, 28)  # type: ignore[attr-defined]
    assert data.train.x.dtype == torch.uint8  # type: ignore[attr-defined]
    assert torch.bincount(data.train.targets).tolist() == [6000] * 10
    assert data.classes[0] == "T-shirt/top"


@needs_fashion
def test_download_path_verified_against_a_local_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real download code, served from file:// URLs instead of the internet."""
    import neuralab.data.mnist as mnist
    import neuralab.data.sources as sources

    monkeypatch.setattr(mnist, "FASHION_URL", FASHION_DIR.as_uri() + "/")
    monkeypatch.setattr(sources, "DEBIAN_ROOT", tmp_path / "no-debian")
    data = load_fashion_mnist(LoadOptions(download=True))
    assert len(data.train) == 60000
    cached = tmp_path / "cache" / "fashion-mnist"
    assert sorted(p.name for p in cached.iterdir()) == sorted(FASHION_SHA256)


@needs_fashion
def test_truncated_file_is_named(tmp_path: Path) -> None:
    for name in FASHION_SHA256:
        shutil.copy(FASHION_DIR / name, tmp_path / name)
    blob = (tmp_path / "t10k-labels-idx1-ubyte.gz").read_bytes()
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(blob[: len(blob) // 2])
    from neuralab.errors import UserError

    with pytest.raises(UserError, match=r"t10k-labels-idx1-ubyte\.gz"):
        load_fashion_mnist(LoadOptions(data_dir=tmp_path, download=False))
