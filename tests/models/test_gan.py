"""DCGAN shapes for every image size the datasets have, and the shape check's message."""

from __future__ import annotations

import pytest
import torch

from neuralab.models.gan import Discriminator, Generator


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (1, 8, 8)])
def test_generator_and_discriminator_fit_each_other(shape: tuple[int, int, int]) -> None:
    generator, discriminator = Generator(shape, latent_dim=16, width=8), Discriminator(shape, width=8)
    images = generator(generator.noise(5))
    assert images.shape == (5, *shape)
    assert images.min() >= -1 and images.max() <= 1  # tanh: the range real images are scaled to
    assert discriminator(images).shape == (5,)


def test_odd_sizes_are_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="divisible by 4"):
        Generator((1, 30, 30))
    with pytest.raises(ValueError, match="square"):
        Discriminator((3, 32, 28))


def test_seeded_noise_repeats() -> None:
    generator = Generator((1, 8, 8), latent_dim=4)
    a = generator.noise(3, torch.Generator().manual_seed(1))
    b = generator.noise(3, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
