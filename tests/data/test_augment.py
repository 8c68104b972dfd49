from __future__ import annotations

import torch

from neuralab.data.augment import BatchAugment, batch_crop, batch_flip


def test_crop_shifts_each_image_within_the_padding() -> None:
    x = torch.zeros(64, 1, 6, 6, dtype=torch.uint8)
    x[:, :, 2, 3] = 255  # one bright pixel
    out = batch_crop(x, 2, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == torch.uint8
    positions = {tuple(torch.nonzero(img[0])[0].tolist()) for img in out if img.any()}
    assert len(positions) > 5  # different shifts per image
    assert all(abs(r - 2) <= 2 and abs(c - 3) <= 2 for r, c in positions)


def test_flip_mirrors_about_half_the_batch() -> None:
    x = torch.arange(4, dtype=torch.float32).view(1, 1, 1, 4).repeat(200, 1, 1, 1)
    out = batch_flip(x, torch.Generator().manual_seed(0))
    flipped = (out[:, 0, 0, 0] == 3).sum().item()
    assert 60 < flipped < 140 and ((out[:, 0, 0, 0] == 0) | (out[:, 0, 0, 0] == 3)).all()


def test_augment_is_reproducible_from_the_generator_seed() -> None:
    x = torch.randint(0, 255, (16, 3, 8, 8), dtype=torch.uint8)
    aug = BatchAugment(flip=True, crop_padding=2)
    a = aug(x, torch.Generator().manual_seed(5))
    b = aug(x, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    assert BatchAugment.from_name("none", 2) is None
    assert BatchAugment.from_name("crop", 3) == BatchAugment(flip=False, crop_padding=3)
