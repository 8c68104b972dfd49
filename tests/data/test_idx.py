from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from neuralab.data.idx import read_idx, read_idx_pair
from neuralab.errors import UserError


def write_idx(
    path: Path, array: np.ndarray, *, claim: tuple[int, ...] | None = None, magic: bytes = b"\x00\x00\x08"
) -> Path:
    shape = claim or array.shape
    header = magic + bytes([len(shape)]) + struct.pack(f">{len(shape)}I", *shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))
    return path


def test_round_trip(tmp_path: Path) -> None:
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    labels = np.array([1, 0], dtype=np.uint8)
    x, y = read_idx_pair(write_idx(tmp_path / "x.gz", images), write_idx(tmp_path / "y.gz", labels), 10)
    assert x.shape == (2, 1, 3, 4) and (x[:, 0] == images).all() and y.tolist() == [1, 0]


def test_wrong_magic(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "x.gz", np.zeros((1, 2, 2)), magic=b"\x01\x02\x08")
    with pytest.raises(UserError, match=r"x\.gz: not an IDX file"):
        read_idx(path, 3)


def test_header_claims_more_than_the_file_holds(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "x.gz", np.zeros((2, 2, 2)), claim=(5, 2, 2))
    with pytest.raises(UserError, match=r"claims shape \(5, 2, 2\).*holds only 8"):
        read_idx(path, 3)


def test_trailing_bytes(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "x.gz", np.zeros((3, 2, 2)), claim=(2, 2, 2))
    with pytest.raises(UserError, match="unexpected bytes"):
        read_idx(path, 3)


def test_wrong_dimensions(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="2 dimensions, expected 3"):
        read_idx(write_idx(tmp_path / "x.gz", np.zeros((2, 2))), 3)


def test_labels_out_of_range(tmp_path: Path) -> None:
    x = write_idx(tmp_path / "x.gz", np.zeros((2, 2, 2)))
    y = write_idx(tmp_path / "y.gz", np.array([3, 12]))
    with pytest.raises(UserError, match=r"y\.gz: label 12 at index 1 is out of range 0\.\.9"):
        read_idx_pair(x, y, 10)


def test_count_mismatch(tmp_path: Path) -> None:
    x = write_idx(tmp_path / "x.gz", np.zeros((2, 2, 2)))
    y = write_idx(tmp_path / "y.gz", np.array([1, 2, 3]))
    with pytest.raises(UserError, match=r"2 images but .* 3 labels"):
        read_idx_pair(x, y, 10)


def test_corrupt_gzip(tmp_path: Path) -> None:
    path = tmp_path / "x.gz"
    path.write_bytes(b"\x1f\x8b" + b"garbage" * 10)
    with pytest.raises(UserError, match=r"x\.gz: cannot read the file"):
        read_idx(path, 3)
