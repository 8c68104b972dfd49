"""Seeded, stratified index splits, so every class keeps its share in train and validation."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.model_selection import StratifiedShuffleSplit, train_test_split


def _can_stratify(targets: np.ndarray, held_out: int) -> bool:
    counts = np.bincount(targets)
    counts = counts[counts > 0]
    return bool(counts.min() >= 2 and held_out >= len(counts) and len(targets) - held_out >= len(counts))


def stratified_split(targets: torch.Tensor, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(kept, held_out) index tensors; held_out has `fraction` of the examples of each class."""
    n = len(targets)
    held = round(n * fraction)
    if held == 0:
        return torch.arange(n), torch.arange(0)
    labels = targets.numpy()
    if _can_stratify(labels, held):
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=held, random_state=seed)
        kept, out = next(splitter.split(np.zeros(n), labels))
    else:  # a class too small to split: fall back to a plain seeded shuffle
        kept, out = train_test_split(np.arange(n), test_size=held, random_state=seed)
    return torch.from_numpy(np.sort(kept)), torch.from_numpy(np.sort(out))


def stratified_subset(targets: torch.Tensor, size: int, seed: int) -> torch.Tensor:
    """Indices of `size` examples keeping class shares (all of them when size >= len)."""
    if size >= len(targets):
        return torch.arange(len(targets))
    _, chosen = stratified_split(targets, size / len(targets), seed)
    return chosen
