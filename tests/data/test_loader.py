from __future__ import annotations

import torch

from neuralab.data import BatchAugment, BatchLoader, Preprocess, TensorSamples

PRE = Preprocess(kind="image", input_shape=(1, 4, 4), mean=(0.5,), std=(0.25,))


def samples(n: int = 50) -> TensorSamples:
    return TensorSamples(torch.randint(0, 256, (n, 1, 4, 4), dtype=torch.uint8), torch.arange(n) % 5)


def test_batches_are_normalised_floats() -> None:
    s = samples()
    x, y = next(iter(BatchLoader(s, 10, PRE)))
    assert x.dtype == torch.float32 and torch.allclose(x, (s.x[:10].float() / 255 - 0.5) / 0.25, atol=1e-6)
    assert torch.equal(y, s.targets[:10])


def test_order_depends_on_seed_and_epoch_only() -> None:
    s = samples()
    loader = BatchLoader(s, 8, PRE, shuffle=True, seed=1, augment=BatchAugment(True, 1), drop_last=True)
    assert len(loader) == 6
    loader.set_position(2)
    full = list(loader)
    loader.set_position(2, start_batch=3)
    tail = list(loader)
    assert len(tail) == 3
    for (xa, ya), (xb, yb) in zip(full[3:], tail, strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)  # resuming mid-epoch replays the same batches
    loader.set_position(3)
    assert not torch.equal(next(iter(loader))[1], full[0][1])
