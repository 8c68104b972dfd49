"""Batches for training and evaluation, reproducible from (seed, epoch, batch) alone.

In-memory datasets stay resident as uint8 tensors on the training device; each batch is indexed,
augmented and normalised as whole tensors (airbench's loader). Folder datasets decode in
DataLoader workers and then share the same batch steps. Because every epoch's order and every
batch's augmentation derive from the seed, an interrupted run resumes at any batch exactly.

Under torchrun each rank holds a loader with its `rank` and the `world_size`: a training loader
walks the same seeded global order and takes its equal slice of every global batch (so W ranks
step exactly as one process on the whole batch would); an evaluation loader walks its contiguous
shard of the split, so gathering the shards in rank order gives every sample once.
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
from neuralab.hardware import usable_cores

_MIX = 1_000_003
_MASK = (1 << 62) - 1


def epoch_seed(seed: int, epoch: int) -> int:
    return (seed * _MIX + epoch) & _MASK


def batch_seed(seed: int, epoch: int, batch: int) -> int:
    return (epoch_seed(seed, epoch) * _MIX + batch + 1) & _MASK


class BatchLoader:
    """Iterable of normalised (x, y) batches on `device`; `set_position` chooses the epoch and first batch.

    Each epoch's order comes from (seed, epoch), so a resumed run sees exactly the batches it would have.

    Examples:
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
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if world_size > 1 and shuffle and (batch_size % world_size or len(samples) < batch_size):
            raise ValueError(
                f"a training batch of {batch_size} over {world_size} processes needs a batch size divisible by "
                f"the process count and at least one full batch of data ({len(samples)} samples)"
            )
        self.rank, self.world_size = rank, world_size
        self.samples = samples
        self.batch_size = batch_size
        self.preprocess = preprocess
        self.shuffle = shuffle
        self.seed = seed
        self.augment = augment
        self.device = torch.device(device)
        self.channels_last = channels_last
        # Every rank must take every step (DDP's all-reduce), so sharded training drops the ragged batch.
        self.drop_last = (drop_last or (world_size > 1 and shuffle)) and len(samples) > batch_size
        # More worker processes than usable cores only queue for them (torch warns): a container or
        # taskset limited to one core gets one worker, whatever data.num_workers asks.
        self.num_workers = min(num_workers, usable_cores())
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

    @property
    def _shards_rows(self) -> bool:
        """Evaluation under torchrun: this rank reads a contiguous slice of the rows."""
        return self.world_size > 1 and not self.shuffle

    def _rows(self) -> int:
        n = len(self.samples)
        if self._shards_rows:
            return n * (self.rank + 1) // self.world_size - n * self.rank // self.world_size
        return n

    def __len__(self) -> int:
        n = self._rows()
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def set_position(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = epoch, start_batch

    def order(self) -> torch.Tensor:
        n = len(self.samples)
        if not self.shuffle:
            first = n * self.rank // self.world_size if self._shards_rows else 0
            return torch.arange(first, first + self._rows())
        generator = torch.Generator().manual_seed(epoch_seed(self.seed, self.epoch))
        if self.sample_weights is not None:
            return torch.multinomial(self.sample_weights.double(), n, replacement=True, generator=generator)
        return torch.randperm(n, generator=generator)

    def _finish(self, x: torch.Tensor, batch: int) -> torch.Tensor:
        if self.augment is not None:
            seed = batch_seed(self.seed, self.epoch, batch)
            if self.world_size > 1:  # each rank augments its own slice with its own draws
                seed = (seed * _MIX + self.rank) & _MASK
            generator = torch.Generator(device=self.device).manual_seed(seed)
            x = self.augment(x, generator)
        x = self.preprocess.normalize(x)
        if self.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def _batch_indices(self, order: torch.Tensor, batch: int) -> torch.Tensor:
        """Rows of batch `batch`: a training rank's equal slice of the global batch, or a plain slice."""
        index = order[batch * self.batch_size : (batch + 1) * self.batch_size]
        if self.world_size > 1 and self.shuffle:
            return index.tensor_split(self.world_size)[self.rank]
        return index

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = self.order()
        batches = range(self.start_batch, len(self))
        if self._x is not None:
            order = order.to(self.device)
            for b in batches:
                index = self._batch_indices(order, b)
                yield self._finish(self._x[index], b), self._y[index]
            return
        assert isinstance(self.samples, FolderSamples)
        rows = torch.cat([self._batch_indices(order, b) for b in batches]) if len(batches) else order[:0]
        loader = DataLoader(
            self.samples,
            batch_size=self.batch_size // self.world_size if self.world_size > 1 and self.shuffle else self.batch_size,
            sampler=rows.tolist(),
            num_workers=self.num_workers,
            pin_memory=self.device.type == "cuda",
        )
        for b, (x, y) in zip(batches, loader, strict=False):
            x = x.to(self.device, non_blocking=True)
            yield self._finish(x, b), y.to(self.device, non_blocking=True)
