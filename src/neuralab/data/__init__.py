"""Datasets: files found or downloaded and checked, held as uint8 tensors, batched reproducibly."""

from neuralab.data import catalog as _catalog  # noqa: F401  (registers the built-in datasets)
from neuralab.data.augment import BatchAugment
from neuralab.data.loader import BatchLoader
from neuralab.data.registry import DATASETS, DatasetInfo, LoadedData, LoadOptions, Samples, TensorSamples
from neuralab.data.splits import stratified_split, stratified_subset
from neuralab.data.transforms import Preprocess

__all__ = [
    "DATASETS",
    "BatchAugment",
    "BatchLoader",
    "DatasetInfo",
    "LoadOptions",
    "LoadedData",
    "Preprocess",
    "Samples",
    "TensorSamples",
    "stratified_split",
    "stratified_subset",
]
