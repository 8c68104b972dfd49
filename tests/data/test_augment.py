from __future__ import annotations

import torch

from neuralab.data.augment import BatchAugment, batch_crop, batch_erase, batch_flip


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


def test_erase_blanks_one_rectangle_in_the_chosen_share_of_images() -> None:
    x = torch.full((400, 1, 28, 28), 200, dtype=torch.uint8)
    out = batch_erase(x, 0.5, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == torch.uint8
    erased = [img[0] == 0 for img in out if (img == 0).any()]
    assert 140 < len(erased) < 260  # binomial(400, 0.5): 6 standard deviations either side
    for mask in erased:
        rows, cols = mask.any(1).nonzero()[:, 0], mask.any(0).nonzero()[:, 0]
        box = mask[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert box.all()  # one solid rectangle, nothing outside it
        assert int(mask.sum()) == box.numel()
        assert 0.005 < box.numel() / (28 * 28) < 0.5  # 2-40% of the area, before rounding to whole pixels
    assert torch.equal(batch_erase(x, 0.0, torch.Generator().manual_seed(0)), x)
    assert all((img == 0).any() for img in batch_erase(x, 1.0, torch.Generator().manual_seed(0)))


def test_erase_only_still_builds_an_augment() -> None:
    assert BatchAugment.from_name("none", 2, erase=0.5) == BatchAugment(erase=0.5)
    x = torch.full((32, 1, 8, 8), 9.0)
    a = BatchAugment(erase=0.5)(x, torch.Generator().manual_seed(1))
    assert torch.equal(a, BatchAugment(erase=0.5)(x, torch.Generator().manual_seed(1)))
