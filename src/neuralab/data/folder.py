"""Image folders (one sub-folder per class, any image size), decoded by DataLoader workers.

Layout: `ROOT/train/<class>/*` with an optional `ROOT/test/<class>/*`, or `ROOT/<class>/*`, from
which a stratified 20% becomes the test split. Every file's header is checked when the folder is
scanned, so a broken image is named before training starts rather than inside a worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from sklearn.model_selection import train_test_split
from torch.utils.data import Dataset

from neuralab.data.registry import LoadedData, LoadOptions
from neuralab.data.transforms import Preprocess, channel_stats, pil_to_uint8
from neuralab.errors import UserError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
DEFAULT_IMAGE_SIZE = 64
STATS_SAMPLE = 256
TEST_FRACTION = 0.2


@dataclass
class FolderSamples(Dataset):
    """Image files with integer labels; items are uint8 [C, S, S] tensors."""

    files: list[Path]
    targets: torch.Tensor
    size: int
    channels: int

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path = self.files[index]
        try:
            with Image.open(path) as raw:
                image = pil_to_uint8(raw, self.channels, (self.size, self.size))
        except (OSError, UnidentifiedImageError) as err:
            raise UserError(f"{path}: cannot decode image ({err})") from None
        return image, int(self.targets[index])

    def subset(self, indices: torch.Tensor) -> FolderSamples:
        return FolderSamples([self.files[i] for i in indices.tolist()], self.targets[indices], self.size, self.channels)


def _check_image(path: Path) -> str:
    try:
        with Image.open(path) as image:
            mode = image.mode
            image.verify()
        return mode
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as err:
        raise UserError(f"{path}: unreadable image ({err})", hint="remove or replace the file") from None


def scan_classes(root: Path) -> tuple[list[str], list[Path], list[int], set[str]]:
    """Class names (sorted sub-folders), files, labels and the colour modes seen."""
    if not root.is_dir():
        raise UserError(f"image folder {root} does not exist")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise UserError(f"image folder {root} must hold one sub-folder per class (found {len(classes)})")
    files: list[Path] = []
    labels: list[int] = []
    modes: set[str] = set()
    for label, name in enumerate(classes):
        found = sorted(
            p for p in (root / name).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
        )
        if not found:
            raise UserError(f"class folder {root / name} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        for path in found:
            modes.add(_check_image(path))
        files += found
        labels += [label] * len(found)
    return classes, files, labels, modes


def load_image_folder(options: LoadOptions) -> LoadedData:
    if options.data_dir is None:
        raise UserError("image-folder needs --data-dir pointing at the folder of class sub-folders")
    root = Path(options.data_dir).expanduser()
    train_root = root / "train" if (root / "train").is_dir() else root
    classes, files, labels, modes = scan_classes(train_root)
    channels = 1 if modes <= {"L", "1", "I", "I;16", "F"} else 3
    size = options.image_size or DEFAULT_IMAGE_SIZE
    if (root / "test").is_dir():
        test_classes, test_files, test_labels, _ = scan_classes(root / "test")
        if test_classes != classes:
            raise UserError(f"{root / 'test'} has classes {test_classes} but {train_root} has {classes}")
        train_files, train_labels = files, labels
    else:
        if min(labels.count(k) for k in range(len(classes))) < 2:
            raise UserError(f"{train_root}: every class needs at least 2 images to hold out a test split")
        train_files, test_files, train_labels, test_labels = train_test_split(
            files, labels, test_size=TEST_FRACTION, stratify=labels, random_state=0
        )
    train = FolderSamples(train_files, torch.tensor(train_labels), size, channels)
    test = FolderSamples(test_files, torch.tensor(test_labels), size, channels)
    sample = torch.stack([train[i][0] for i in range(min(STATS_SAMPLE, len(train)))])
    mean, std = channel_stats(sample, 1 / 255)
    return LoadedData(
        train=train,
        test=test,
        classes=classes,
        preprocess=Preprocess(kind="image", input_shape=(channels, size, size), mean=mean, std=std),
        source=str(root),
    )
