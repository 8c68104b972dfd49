"""Image folders (one sub-folder per class, any image size), decoded by DataLoader workers.

Layout: `ROOT/train/<class>/*` with an optional `ROOT/test/<class>/*`, or `ROOT/<class>/*`, from
which a stratified 20% becomes the test split. Every file's header, size and structure are checked
when the folder is scanned (`neuralab.data.images`), so a broken or oversized image (over 25
megapixels) is named before training starts rather than inside a worker, or decoded every epoch. The
policy is to refuse, not skip: a training set should not silently lose files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
from sklearn.model_selection import train_test_split
from torch.utils.data import Dataset

from neuralab.data.images import check_image_header, decode_image_file
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
        with decode_image_file(self.files[index]) as raw:
            image = pil_to_uint8(raw, self.channels, (self.size, self.size))
        return image, int(self.targets[index])

    def subset(self, indices: torch.Tensor) -> FolderSamples:
        return FolderSamples([self.files[i] for i in indices.tolist()], self.targets[indices], self.size, self.channels)


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
            modes.add(check_image_header(path))
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
        held_out = math.ceil(TEST_FRACTION * len(files))
        if min(labels.count(k) for k in range(len(classes))) < 2 or held_out < len(classes):
            raise UserError(
                f"{train_root}: {len(files)} images in {len(classes)} classes are too few to hold out a "
                f"{TEST_FRACTION:.0%} test split with every class in it (each class needs 2 images, the split "
                f"one image per class)",
                hint="add images, or give ROOT/train/<class>/ and ROOT/test/<class>/ folders",
            )
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
