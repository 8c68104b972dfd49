"""The dataset registry: what each dataset is, how to load it, and the recipe that trains it well."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

import torch

from neuralab.data.transforms import Preprocess
from neuralab.registry import Registry


class Samples(Protocol):
    """A split of a dataset: in-memory tensors or files on disk, both with integer `targets`."""

    targets: torch.Tensor

    def __len__(self) -> int: ...

    def subset(self, indices: torch.Tensor) -> Samples: ...


@dataclass
class TensorSamples:
    """Examples resident in memory: uint8 images [N, C, H, W] or float features [N, F]."""

    x: torch.Tensor
    targets: torch.Tensor

    def __len__(self) -> int:
        return len(self.targets)

    def subset(self, indices: torch.Tensor) -> TensorSamples:
        return TensorSamples(self.x[indices], self.targets[indices])


@dataclass
class LoadedData:
    train: Samples
    test: Samples
    classes: list[str]
    preprocess: Preprocess
    source: str


@dataclass(frozen=True)
class LoadOptions:
    """Plain options a loader may use; the pipeline fills them from the run config."""

    data_dir: Path | None = None
    download: bool = True
    file: Path | None = None
    image_size: int | None = None
    target_column: str = "label"
    target_columns: tuple[str, ...] | list[str] | None = None
    series_columns: tuple[str, ...] | list[str] | None = None
    season: int | None = None
    sequence_length: int | None = None
    test_file: Path | None = None
    text_column: str = "text"

    @classmethod
    def from_settings(cls, settings: object) -> LoadOptions:
        """The options from any object with same-named attributes (the run config's `data` section):
        the data layer never imports the config, and no call site copies fields one by one."""
        return cls(**{f.name: getattr(settings, f.name) for f in fields(cls) if hasattr(settings, f.name)})


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    kind: str
    load: Callable[[LoadOptions], LoadedData]
    recipe: dict[str, Any] = field(default_factory=dict)
    needs_files: bool = True
    input_shape: tuple[int, ...] | None = None  # [C, H, W] at the default image size; None when data decides


DATASETS: Registry[DatasetInfo] = Registry("dataset")


def register_dataset(info: DatasetInfo) -> DatasetInfo:
    return DATASETS.add(info.name, info)
