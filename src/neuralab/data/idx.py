"""MNIST-family IDX files (optionally gzipped), validated before a byte is trusted."""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from neuralab.errors import UserError

_UINT8 = 0x08


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
        return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise UserError(f"{path}: cannot read the file ({err})", hint="delete it and download it again") from None


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """Return the uint8 array stored in `path`, which must have `ndim` dimensions."""
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise UserError(f"{path}: not an IDX file (wrong magic number {data[:4].hex() or 'empty'})")
    dtype, dims = data[2], data[3]
    if dtype != _UINT8:
        raise UserError(f"{path}: IDX element type 0x{dtype:02x} is not supported (expected unsigned byte 0x08)")
    if dims != ndim:
        raise UserError(f"{path}: IDX file has {dims} dimensions, expected {ndim}")
    header = 4 + 4 * dims
    if len(data) < header:
        raise UserError(f"{path}: IDX header is truncated")
    shape = struct.unpack(f">{dims}I", data[4:header])
    expected = int(np.prod(shape, dtype=np.int64))
    held = len(data) - header
    if held < expected:
        raise UserError(f"{path}: header claims shape {shape} ({expected} bytes) but the file holds only {held}")
    if held > expected:
        raise UserError(f"{path}: {held - expected} unexpected bytes after the {expected} the header describes")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def read_idx_pair(images: Path, labels: Path, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Images [N, 1, H, W] and labels [N], checked against each other and the class count."""
    x = read_idx(images, 3)
    y = read_idx(labels, 1)
    if len(x) != len(y):
        raise UserError(f"{images} holds {len(x)} images but {labels} holds {len(y)} labels")
    if len(y) and int(y.max()) >= num_classes:
        bad = int(np.argmax(y >= num_classes))
        raise UserError(f"{labels}: label {int(y[bad])} at index {bad} is out of range 0..{num_classes - 1}")
    return x[:, None, :, :], y.astype(np.int64)
