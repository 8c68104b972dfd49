"""The micro-batcher: concurrent requests share forward passes; limits and failures are honoured."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from neuralab.serve.batching import MicroBatcher


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_requests_that_arrive_together_share_a_batch() -> None:
    seen: list[int] = []

    def double(items: list[int]) -> list[int]:
        time.sleep(0.01)  # a forward pass takes time; more requests queue meanwhile
        return [2 * i for i in items]

    async def main() -> list[list[int]]:
        batcher = MicroBatcher(double, max_batch=8, max_wait_ms=5, on_batch=seen.append)
        batcher.start()
        try:
            return await asyncio.gather(*(batcher.submit_many([i]) for i in range(40)))
        finally:
            await batcher.stop()

    results = run(main())
    assert results == [[2 * i] for i in range(40)]
    assert sum(seen) == 40 and max(seen) == 8 and len(seen) <= 10


def test_a_lone_request_waits_at_most_max_wait() -> None:
    async def main() -> float:
        batcher = MicroBatcher(lambda items: items, max_batch=64, max_wait_ms=20)
        batcher.start()
        start = time.perf_counter()
        await batcher.submit_many(["x"])
        elapsed = time.perf_counter() - start
        await batcher.stop()
        return elapsed

    assert run(main()) < 5.0  # bounded: no deadlock waiting for a full batch


def test_a_failing_batch_fails_its_waiters_and_the_batcher_goes_on() -> None:
    calls = {"n": 0}

    def flaky(items: list[int]) -> list[int]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("model exploded")
        return items

    async def main() -> list[int]:
        batcher = MicroBatcher(flaky, max_batch=4, max_wait_ms=0)
        batcher.start()
        with pytest.raises(RuntimeError, match="exploded"):
            await batcher.submit_many([1])
        result = await batcher.submit_many([2, 3])
        await batcher.stop()
        return result

    assert run(main()) == [2, 3]


def test_batches_run_off_the_event_loop_thread() -> None:
    threads: set[str] = set()

    def record(items: list[int]) -> list[int]:
        threads.add(threading.current_thread().name)
        return items

    async def main() -> None:
        batcher = MicroBatcher(record, max_batch=2, max_wait_ms=0)
        batcher.start()
        await batcher.submit_many([1, 2, 3])
        await batcher.stop()

    run(main())
    assert threads and all(name.startswith("neuralab-infer") for name in threads)
    with pytest.raises(ValueError):
        MicroBatcher(record, max_batch=0)
