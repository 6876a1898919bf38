"""Bounded analysis concurrency and time limits for synchronous requests.

At most MAX_CONCURRENT_REQUESTS analyses run at once. A request waits up to QUEUE_TIMEOUT_SECONDS
for a slot, then gets SERVICE_UNAVAILABLE (503 + Retry-After). Each analysis runs on a worker
thread and is given a `threading.Event` it should poll; after REQUEST_TIMEOUT_SECONDS the request
answers TIMEOUT and the event is set so the pipeline stops at its next check (the slot is only
freed when the thread really ends, so a runaway analysis cannot oversubscribe the CPU).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import anyio

from sensorium import metrics
from sensorium.errors import ErrorCode, SensoriumError

T = TypeVar("T")


class Cancelled(Exception):
    """Raised inside a pipeline when its stop event is set."""


def checker(stop: threading.Event | None) -> Callable[[], None]:
    def check() -> None:
        if stop is not None and stop.is_set():
            raise Cancelled()

    return check


class AnalysisLimiter:
    def __init__(self, max_concurrent: int, queue_timeout: float, request_timeout: float) -> None:
        self.max_concurrent = max_concurrent
        self.queue_timeout = queue_timeout
        self.request_timeout = request_timeout
        self._sem: asyncio.Semaphore | None = None
        self.running = 0
        self.waiting = 0

    def _semaphore(self) -> asyncio.Semaphore:
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.max_concurrent)
        return self._sem

    async def run(self, fn: Callable[[threading.Event], T], *, timeout: float | None = None) -> T:
        """Run `fn(stop_event)` on a thread under the concurrency and time limits."""
        sem = self._semaphore()
        self.waiting += 1
        metrics.ANALYSES_WAITING.set(self.waiting)
        try:
            await asyncio.wait_for(sem.acquire(), timeout=self.queue_timeout)
        except TimeoutError:
            retry = max(1, int(self.queue_timeout) or 5)
            raise SensoriumError(
                ErrorCode.SERVICE_UNAVAILABLE,
                f"All {self.max_concurrent} analysis slots stayed busy for {self.queue_timeout:.0f}s; "
                f"retry later.",
                headers={"Retry-After": str(retry)},
            ) from None
        finally:
            self.waiting -= 1
            metrics.ANALYSES_WAITING.set(self.waiting)

        stop = threading.Event()
        self.running += 1
        metrics.ANALYSES_RUNNING.set(self.running)
        task_done = asyncio.Event()
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                outcome["value"] = fn(stop)
            except BaseException as exc:
                outcome["error"] = exc

        async def runner() -> None:
            try:
                await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
            finally:
                task_done.set()

        task = asyncio.get_running_loop().create_task(runner())

        def release(_: object = None) -> None:
            self.running -= 1
            metrics.ANALYSES_RUNNING.set(self.running)
            sem.release()

        limit = timeout or self.request_timeout
        try:
            await asyncio.wait_for(asyncio.shield(task_done.wait()), timeout=limit)
        except TimeoutError:
            stop.set()
            task.add_done_callback(release)  # free the slot only when the thread has finished
            raise SensoriumError(
                ErrorCode.TIMEOUT,
                f"The analysis took longer than {limit:.0f}s and was stopped; "
                "send long media with async=true to run it as a job.",
            ) from None
        except asyncio.CancelledError:  # client went away
            stop.set()
            task.add_done_callback(release)
            raise
        release()
        if "error" in outcome:
            exc = outcome["error"]
            if isinstance(exc, MemoryError):
                raise SensoriumError(ErrorCode.OUT_OF_MEMORY, "The analysis ran out of memory.") from exc
            if isinstance(exc, Cancelled):
                raise SensoriumError(ErrorCode.TIMEOUT, "The analysis was stopped.") from exc
            raise exc
        return outcome["value"]
