"""Multi-process training on PyTorch's own engine: torch.distributed as torchrun sets it up.

torchrun (or `neuralab train --nproc N`, which launches it) starts one process per rank and puts
RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE and MASTER_ADDR/PORT in each one's environment.
This module reads them, joins the process group (gloo on CPUs, nccl on CUDA) and offers the few
collectives the run needs: a sum for training metrics, an ordered gather for exact evaluation and
a broadcast for what rank 0 alone decides (the run folder, the best weights).
Without torchrun every helper is a no-op, so single-process code pays nothing.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import nn

from neuralab.errors import UserError

T = TypeVar("T")

# A collective waits this long for a rank that died or hangs, then fails with a message naming the timeout.
DEFAULT_TIMEOUT_S = 120


@dataclass(frozen=True)
class Ranks:
    """Where this process sits in the job: global rank, job size, and the same on this machine."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1


def ranks_from_env(env: dict[str, str] | None = None) -> Ranks:
    """The ranks torchrun set in the environment; one process (rank 0 of 1) when it did not."""
    env = dict(os.environ) if env is None else env
    try:
        world = int(env.get("WORLD_SIZE", "1"))
        ranks = Ranks(int(env.get("RANK", "0")), world, int(env.get("LOCAL_RANK", "0")),
                      int(env.get("LOCAL_WORLD_SIZE", str(world))))  # fmt: skip
    except ValueError as err:
        raise UserError(f"a torchrun variable is not a number: {err}") from None
    if not (0 <= ranks.rank < ranks.world_size and 0 <= ranks.local_rank < ranks.local_world_size):
        raise UserError(f"inconsistent torchrun variables: RANK={ranks.rank}, WORLD_SIZE={ranks.world_size}")
    return ranks


def is_initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


def current_ranks() -> Ranks:
    """The ranks of the joined process group (rank 0 of 1 outside one)."""
    if not is_initialized():
        return Ranks()
    return ranks_from_env()


def init_from_env(device_type: str = "cpu") -> Ranks:
    """Join the process group torchrun prepared (once); returns this process's ranks.

    gloo on CPUs, nccl on CUDA (each rank then owns GPU `LOCAL_RANK`). NEURALAB_DIST_TIMEOUT (seconds)
    bounds how long a collective waits for a dead rank before the job fails.
    """
    ranks = ranks_from_env()
    if not ranks.is_distributed or is_initialized():
        return ranks
    if not dist.is_available():
        raise UserError("this PyTorch build has no torch.distributed; train with one process")
    backend = "nccl" if device_type == "cuda" else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(ranks.local_rank)
    timeout = timedelta(seconds=float(os.environ.get("NEURALAB_DIST_TIMEOUT", DEFAULT_TIMEOUT_S)))
    dist.init_process_group(backend, timeout=timeout)
    atexit.register(_leave)
    return ranks


def _leave() -> None:
    if is_initialized():
        dist.destroy_process_group()


def threads_per_rank(cores: int, ranks: Ranks) -> int:
    """Divide this machine's cores among its ranks: oversubscribed threads make every rank slower."""
    return max(cores // max(ranks.local_world_size, 1), 1)


def shard_bounds(n: int, ranks: Ranks) -> tuple[int, int]:
    """This rank's contiguous slice of `n` items: no item twice (no sampler padding), none dropped."""
    return n * ranks.rank // ranks.world_size, n * (ranks.rank + 1) // ranks.world_size


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum `tensor` over ranks in place (float64 sums stay exact for counts)."""
    if is_initialized():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def gather_in_rank_order(tensor: torch.Tensor) -> torch.Tensor:
    """Every rank's rows, concatenated in rank order (shards may differ in length, even be empty)."""
    if not is_initialized():
        return tensor
    parts: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(parts, tensor.detach().cpu())
    return torch.cat([p for p in parts if p is not None and p.numel() > 0] or [tensor.detach().cpu()]).to(tensor.device)


def broadcast_from_main(value: T) -> T:
    """Rank 0's `value` on every rank (a picklable object)."""
    if not is_initialized():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]  # type: ignore[return-value]


def broadcast_module(module: nn.Module) -> None:
    """Overwrite every rank's parameters and buffers with rank 0's."""
    if not is_initialized():
        return
    with torch.no_grad():
        for tensor in [*module.parameters(), *module.buffers()]:
            dist.broadcast(tensor.data, src=0)


def barrier() -> None:
    if is_initialized():
        dist.barrier()


def wrap(model: nn.Module, device: torch.device) -> nn.Module:
    """DistributedDataParallel around `model` when the job has several ranks; `model` itself otherwise.

    DDP averages gradients over ranks during backward, so with equal per-rank batches the step equals
    one process's step on the whole global batch.
    """
    if not is_initialized():
        return model
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [device.index] if device.type == "cuda" and device.index is not None else None
    return DistributedDataParallel(model, device_ids=device_ids)


def step_seed(seed: int, epoch: int, batch: int, rank: int) -> int:
    """The global RNG's seed for one rank's step: a pure function of the position, so resuming repeats it."""
    return (((seed * 1_000_003 + epoch) * 1_000_003 + batch) * 1_000_003 + rank) & ((1 << 62) - 1)


class main_rank_first:
    """Rank 0 runs the block first (downloads, caches), the others after it: no two write one cache."""

    def __enter__(self) -> None:
        if current_ranks().rank != 0:
            barrier()

    def __exit__(self, *exc: object) -> None:
        if current_ranks().rank == 0:
            barrier()


def any_rank(flag: bool, device: torch.device | None = None) -> bool:
    """True on every rank when it is true on any: ranks must agree to checkpoint or stop at one step."""
    if not is_initialized():
        return flag
    tensor = torch.tensor([int(flag)], device=device or torch.device("cpu"))
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return bool(tensor.item())
