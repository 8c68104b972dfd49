"""Batches for training and evaluation, reproducible from (seed, epoch, batch) alone.

In-memory datasets stay resident as uint8 tensors on the training device; each batch is indexed,
augmented and normalised as whole tensors (airbench's loader). Folder datasets decode in
DataLoader workers and then share the same batch steps. Because every epoch's order and every
batch's augmentation derive from the seed, an interrupted run resumes at any batch exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader

from neuralab.data.augment import BatchAugment
from neuralab.data.folder import FolderSamples
from neuralab.data.registry import Samples, TensorSamples
from neuralab.data.transforms import Preprocess

_MIX = 1_000_003
_MASK = (1 << 62) - 1


def epoch_seed(seed: int, epoch: int) -> int:
    return (seed * _MIX + epoch) & _MASK


def batch_seed(seed: int, epoch: int, batch: int) -> int:
    return (epoch_seed(seed, epoch) * _MIX + batch + 1) & _MASK


class BatchLoader:
    """Iterable of normalised (x, y) batches on `device`; `set_position` chooses the epoch and first batch.

    Each epoch's order comes from (seed, epoch), so a resumed run sees exactly the batches it would have.

    >>> from neuralab.data import BatchLoader, LoadOptions
    >>> from neuralab.data.digits import load_digits_data
    >>> data = load_digits_data(LoadOptions())
    >>> loader = BatchLoader(data.train, 100, data.preprocess, shuffle=True, seed=0)
    >>> x, y = next(iter(loader))
    >>> tuple(x.shape), x.dtype, len(loader)
    ((100, 1, 8, 8), torch.float32, 15)
    >>> loader.set_position(epoch=1, start_batch=14)
    >>> sum(1 for _ in loader)
    1
    """

    def __init__(
        self,
        samples: Samples,
        batch_size: int,
        preprocess: Preprocess,
        *,
        shuffle: bool = False,
        seed: int = 0,
        augment: BatchAugment | None = None,
        device: torch.device | str = "cpu",
        channels_last: bool = False,
        drop_last: bool = False,
        num_workers: int = 0,
        sample_weights: torch.Tensor | None = None,
    ) -> None:
        self.samples = samples
        self.batch_size = batch_size
        self.preprocess = preprocess
        self.shuffle = shuffle
        self.seed = seed
        self.augment = augment
        self.device = torch.device(device)
        self.channels_last = channels_last
        self.drop_last = drop_last and len(samples) > batch_size
        self.num_workers = num_workers
        self.sample_weights = sample_weights  # oversampling: each epoch draws len(samples) with replacement
        self.epoch = 0
        self.start_batch = 0
        if isinstance(samples, TensorSamples):
            # Resident once: a batch is then an index op, not a copy from host memory.
            self._x: torch.Tensor | None = samples.x.to(self.device)
            self._y = samples.targets.to(self.device)
        else:
            self._x = None
            self._y = samples.targets

    def __len__(self) -> int:
        n = len(self.samples)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def set_position(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = epoch, start_batch

    def order(self) -> torch.Tensor:
        n = len(self.samples)
        if not self.shuffle:
            return torch.arange(n)
        generator = torch.Generator().manual_seed(epoch_seed(self.seed, self.epoch))
        if self.sample_weights is not None:
            return torch.multinomial(self.sample_weights.double(), n, replacement=True, generator=generator)
        return torch.randperm(n, generator=generator)

    def _finish(self, x: torch.Tensor, batch: int) -> torch.Tensor:
        if self.augment is not None:
            generator = torch.Generator(device=self.device).manual_seed(batch_seed(self.seed, self.epoch, batch))
            x = self.augment(x, generator)
        x = self.preprocess.normalize(x)
        if self.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = self.order()
        batches = range(self.start_batch, len(self))
        if self._x is not None:
            order = order.to(self.device)
            for b in batches:
                index = order[b * self.batch_size : (b + 1) * self.batch_size]
                yield self._finish(self._x[index], b), self._y[index]
            return
        assert isinstance(self.samples, FolderSamples)
        first = self.start_batch * self.batch_size
        last = len(self) * self.batch_size
        loader = DataLoader(
            self.samples,
            batch_size=self.batch_size,
            sampler=order[first:last].tolist(),
            num_workers=self.num_workers,
            pin_memory=self.device.type == "cuda",
        )
        for b, (x, y) in zip(batches, loader, strict=False):
            x = x.to(self.device, non_blocking=True)
            yield self._finish(x, b), y.to(self.device, non_blocking=True)
