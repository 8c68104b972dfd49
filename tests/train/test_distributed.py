"""Multi-process training on torch.distributed: sharding, exact evaluation, a real gloo group.

The end-to-end runs (torchrun through `neuralab train --nproc 2`) are in tests/cli/test_distributed_cli.py.
"""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from neuralab.data import BatchLoader
from neuralab.data.registry import TensorSamples
from neuralab.data.transforms import Preprocess
from neuralab.errors import UserError
from neuralab.train import distributed
from neuralab.train.distributed import Ranks, ranks_from_env, shard_bounds, threads_per_rank


def _samples(n: int) -> TensorSamples:
    x = torch.arange(n, dtype=torch.uint8).repeat_interleave(4).reshape(n, 1, 2, 2)
    return TensorSamples(x, torch.arange(n))


def _preprocess() -> Preprocess:
    return Preprocess(kind="image", input_shape=(1, 2, 2), mean=(0.0,), std=(1.0,))


def test_torchrun_variables_are_read_and_checked() -> None:
    env = {"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"}
    assert ranks_from_env(env) == Ranks(3, 4, 1, 2)
    assert ranks_from_env({}) == Ranks()
    with pytest.raises(UserError, match="inconsistent"):
        ranks_from_env({"RANK": "4", "WORLD_SIZE": "4"})
    with pytest.raises(UserError, match="not a number"):
        ranks_from_env({"RANK": "one", "WORLD_SIZE": "2"})


def test_cores_are_divided_among_the_ranks_of_one_machine() -> None:
    assert threads_per_rank(16, Ranks(0, 8, 0, 4)) == 4
    assert threads_per_rank(2, Ranks(0, 4, 0, 4)) == 1  # never zero


@pytest.mark.parametrize("n", [0, 1, 2, 7, 100, 101])
@pytest.mark.parametrize("world", [1, 2, 3, 8])
def test_shards_cover_every_row_once_in_order(n: int, world: int) -> None:
    rows = [i for rank in range(world) for i in range(*shard_bounds(n, Ranks(rank, world, rank, world)))]
    assert rows == list(range(n))  # no padding (no row twice), nothing dropped


@pytest.mark.parametrize("world", [2, 3])
def test_evaluation_loaders_read_contiguous_shards(world: int) -> None:
    samples = _samples(101)
    seen = []
    for rank in range(world):
        loader = BatchLoader(samples, 8, _preprocess(), rank=rank, world_size=world)
        batches = [y for _, y in loader]
        assert len(batches) == len(loader)
        seen += torch.cat(batches).tolist()
    assert seen == list(range(101))


def test_training_ranks_split_each_global_batch_of_the_single_process_order() -> None:
    samples = _samples(100)
    whole = BatchLoader(samples, 8, _preprocess(), shuffle=True, seed=5, drop_last=True)
    ranks = [BatchLoader(samples, 8, _preprocess(), shuffle=True, seed=5, rank=r, world_size=2) for r in range(2)]
    for epoch in (0, 3):
        for loader in (whole, *ranks):
            loader.set_position(epoch)
        per_rank = [[y for _, y in loader] for loader in ranks]
        assert len(per_rank[0]) == len(per_rank[1]) == len(whole) == 12  # the ragged batch is dropped
        for b, (_, y) in enumerate(whole):
            assert torch.equal(torch.cat([per_rank[0][b], per_rank[1][b]]), y)
    ranks[1].set_position(3, start_batch=7)  # a resumed rank starts at its own slice of batch 7
    assert torch.equal(next(iter(ranks[1]))[1], per_rank[1][7])


def test_a_global_batch_that_cannot_be_split_is_refused() -> None:
    with pytest.raises(ValueError, match="divisible"):
        BatchLoader(_samples(100), 9, _preprocess(), shuffle=True, rank=0, world_size=2)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _gather_worker(rank: int, world: int, port: int, results: dict[int, list[int]]) -> None:
    ranks = {"RANK": rank, "WORLD_SIZE": world, "LOCAL_RANK": rank, "LOCAL_WORLD_SIZE": world, "MASTER_PORT": port}
    os.environ.update({"MASTER_ADDR": "127.0.0.1", **{k: str(v) for k, v in ranks.items()}})
    torch.set_num_threads(1)
    distributed.init_from_env("cpu")
    lo, hi = shard_bounds(7, distributed.current_ranks())  # 7 rows over 3 ranks: shards of 2, 2 and 3
    gathered = distributed.gather_in_rank_order(torch.arange(lo, hi))
    total = distributed.all_reduce_sum(torch.tensor([float(hi - lo)], dtype=torch.float64))
    decided = distributed.broadcast_from_main(f"chosen by {rank}")
    results[rank] = [*gathered.tolist(), int(total.item()), int(decided == "chosen by 0")]
    distributed.barrier()


def test_a_real_gloo_group_gathers_uneven_shards_in_rank_order() -> None:
    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(_gather_worker, args=(3, _free_port(), results), nprocs=3, join=True)
        for rank in range(3):
            assert results[rank] == [0, 1, 2, 3, 4, 5, 6, 7, 1]
