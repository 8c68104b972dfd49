"""scikit-learn's embedded 8x8 digits: the default dataset, needing no download."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torchvision.transforms.v2 import functional as F

from neuralab.data.registry import LoadedData, LoadOptions, TensorSamples
from neuralab.data.transforms import Preprocess, channel_stats

# digits ships without a test split: hold out a fixed, stratified 20% that no seed ever moves.
TEST_FRACTION = 0.2
TEST_SPLIT_SEED = 0


def load_digits_data(options: LoadOptions) -> LoadedData:
    bunch = load_digits()
    # Pixel values are 0..16; x16 maps them onto the 0..255 range images use everywhere else.
    images = np.clip(bunch.images * 16, 0, 255).astype(np.uint8)[:, None, :, :]
    labels = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=TEST_FRACTION, stratify=labels, random_state=TEST_SPLIT_SEED
    )
    return digits_dataset(images_tensor(x_train), y_train, images_tensor(x_test), y_test, options,
                          "sklearn.datasets.load_digits (embedded)")  # fmt: skip


def images_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images))


def digits_dataset(x_train: torch.Tensor, y_train: np.ndarray, x_test: torch.Tensor, y_test: np.ndarray,
                   options: LoadOptions, source: str) -> LoadedData:  # fmt: skip
    """8x8 uint8 digit images as a dataset, resized when `options.image_size` asks (e.g. 28, to
    fine-tune a model pretrained on 28x28 images); shared with font-digits so both match exactly."""
    if options.image_size and options.image_size != 8:
        size = [options.image_size, options.image_size]
        x_train, x_test = F.resize(x_train, size, antialias=True), F.resize(x_test, size, antialias=True)
    train = TensorSamples(x_train, torch.from_numpy(y_train))
    mean, std = channel_stats(train.x, 1 / 255)
    return LoadedData(
        train=train,
        test=TensorSamples(x_test, torch.from_numpy(y_test)),
        classes=[str(d) for d in range(10)],
        preprocess=Preprocess(kind="image", input_shape=tuple(train.x.shape[1:]), mean=mean, std=std),
        source=source,
    )
