"""Dynamic micro-batching: requests that arrive together run as one forward pass.

One asyncio task collects queued items: whatever is already waiting, then more until
`max_batch` or `max_wait_ms` has passed, and runs the batch in a single worker thread (torch
releases the GIL), so the event loop keeps accepting requests while the model computes.
Under load the queue fills while a batch runs, so batches grow by themselves without adding
latency to a lone request beyond `max_wait_ms`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")


class MicroBatcher(Generic[Item]):
    def __init__(
        self,
        run_batch: Callable[[list[Item]], list[Any]],
        max_batch: int = 32,
        max_wait_ms: float = 1.0,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.run_batch = run_batch
        self.max_batch = max_batch
        self.max_wait = max(0.0, max_wait_ms) / 1000.0
        self.on_batch = on_batch
        self._queue: asyncio.Queue[tuple[Item, asyncio.Future[Any]]] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="neuralab-infer")
        self._task: asyncio.Task[None] | None = None

    async def warm_up(self, batches: list[list[Item]]) -> None:
        """Run a few batches in the inference thread before serving: its first calls pay one-off costs."""
        loop = asyncio.get_running_loop()
        for batch in batches:
            await loop.run_in_executor(self._executor, self.run_batch, batch)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._executor.shutdown(wait=True)

    async def submit_many(self, items: list[Item]) -> list[Any]:
        """Queue items and wait for their results (in order); a batch failure fails them all."""
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in items]
        for item, future in zip(items, futures, strict=True):
            self._queue.put_nowait((item, future))
        return list(await asyncio.gather(*futures))

    async def _collect(self) -> list[tuple[Item, asyncio.Future[Any]]]:
        batch = [await self._queue.get()]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        while len(batch) < self.max_batch:
            if not self._queue.empty():
                batch.append(self._queue.get_nowait())
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), remaining))
            except TimeoutError:
                break
        return batch

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._collect()
            live = [(item, fut) for item, fut in batch if not fut.cancelled()]
            if not live:
                continue
            if self.on_batch is not None:
                self.on_batch(len(live))
            try:
                results = await loop.run_in_executor(self._executor, self.run_batch, [item for item, _ in live])
            except Exception as err:  # a model failure is the server's fault: every waiter hears of it
                for _, fut in live:
                    if not fut.done():
                        fut.set_exception(err)
                continue
            for (_, fut), result in zip(live, results, strict=True):
                if not fut.done():
                    fut.set_result(result)
