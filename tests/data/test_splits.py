from __future__ import annotations

import torch

from neuralab.data.splits import stratified_split, stratified_subset


def test_split_is_stratified_disjoint_and_seeded() -> None:
    targets = torch.tensor([0] * 80 + [1] * 20)
    keep, held = stratified_split(targets, 0.25, seed=3)
    assert len(held) == 25 and set(keep.tolist()).isdisjoint(held.tolist())
    assert (targets[held] == 1).sum() == 5  # the 20% class keeps its share
    again, _ = stratified_split(targets, 0.25, seed=3)
    other, _ = stratified_split(targets, 0.25, seed=4)
    assert torch.equal(keep, again) and not torch.equal(keep, other)


def test_zero_fraction_keeps_everything() -> None:
    keep, held = stratified_split(torch.arange(10) % 2, 0.0, seed=0)
    assert len(keep) == 10 and len(held) == 0


def test_tiny_class_falls_back_to_plain_split() -> None:
    keep, held = stratified_split(torch.tensor([0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), 0.2, seed=0)
    assert len(held) == 2 and len(keep) == 8


def test_subset_keeps_class_shares() -> None:
    targets = torch.tensor([0] * 50 + [1] * 50)
    chosen = stratified_subset(targets, 20, seed=0)
    assert len(chosen) == 20 and (targets[chosen] == 0).sum() == 10
