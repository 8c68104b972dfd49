"""Pretrained word vectors (GloVe or word2vec text format) aligned to a tokenizer's vocabulary."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from neuralab.data.text import Tokenizer
from neuralab.errors import UserError, require_file


@dataclass(frozen=True)
class AlignedVectors:
    matrix: torch.Tensor  # [vocab_size, dim]; rows of unknown words keep a small random init
    found: int  # vocabulary entries with a vector
    vocab: int  # vocabulary entries (padding and OOV excluded)

    @property
    def coverage(self) -> float:
        return self.found / max(self.vocab, 1)


def align_vectors(path: Path, tokenizer: Tokenizer, seed: int = 0) -> AlignedVectors:
    """Read only the vectors the vocabulary needs, line by line (GloVe files are gigabytes)."""
    path = Path(path).expanduser()
    require_file(path, "embeddings file")
    wanted = tokenizer.word_index
    rows: dict[int, np.ndarray] = {}
    dim: int | None = None
    try:
        with path.open(encoding="utf-8", errors="strict") as handle:
            for number, line in enumerate(handle, start=1):
                parts = line.rstrip("\n").rstrip().split(" ")
                if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                    continue  # word2vec's "count dim" header
                if len(parts) < 2:
                    continue
                if dim is None:
                    dim = len(parts) - 1
                elif len(parts) - 1 != dim:
                    raise UserError(f"{path}:{number}: {len(parts) - 1} numbers where earlier lines had {dim}")
                word = parts[0] if not tokenizer.lower else parts[0].lower()
                index = wanted.get(word)
                if index is None or index in rows:
                    continue
                try:
                    rows[index] = np.asarray(parts[1:], dtype=np.float32)
                except ValueError:
                    raise UserError(f"{path}:{number}: a vector value is not a number") from None
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not UTF-8 text ({err.reason}); GloVe/word2vec text format expected") from None
    if dim is None:
        raise UserError(f"{path}: no vectors found (GloVe/word2vec text format: 'word v1 v2 ...' per line)")
    generator = torch.Generator().manual_seed(seed)
    matrix = torch.randn(tokenizer.vocab_size, dim, generator=generator) * 0.1
    matrix[0] = 0.0  # padding
    for index, vector in rows.items():
        matrix[index] = torch.from_numpy(vector)
    return AlignedVectors(matrix, len(rows), len(wanted))
