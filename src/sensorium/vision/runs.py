"""Bookkeeping of one analysis: per-stage timings, the models used, notes for the user.

    run = Run(registry, side_pool)
    with run.stage("objects"), run.model(YOLOX_NANO, required=True) as det:
        ...
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from sensorium.errors import ErrorCode, SensoriumError
from sensorium.models.registry import ModelKey, ModelRegistry

T = TypeVar("T")


class Run:
    """One analysis' timings, models and notes; `side` runs the stages that go beside the others."""

    def __init__(self, registry: ModelRegistry, side: Executor) -> None:
        self.registry = registry
        self.side = side
        self.timings: dict[str, float] = {}
        self.models: list[str] = []
        self.notes: list[str] = []

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + (time.perf_counter() - t0) * 1000, 1)

    def used(self, name: str) -> None:
        if name not in self.models:
            self.models.append(name)

    @contextmanager
    def model(self, key: ModelKey[T], *, required: bool = False) -> Iterator[T | None]:
        """Yield the model, or None (with a note) when an optional one is not installed."""
        try:
            cm = self.registry.use(key)
            instance = cm.__enter__()
        except SensoriumError as exc:
            if required or exc.code != ErrorCode.MODEL_NOT_LOADED:
                raise
            self.notes.append(f"{key.name} is not available ({exc.message}); its findings are missing.")
            yield None
            return
        self.used(key.name)
        try:
            yield instance
        finally:
            cm.__exit__(None, None, None)

    def total(self, t0: float) -> dict[str, float]:
        """The timings with the `total` since `t0` (perf_counter) added."""
        self.timings["total"] = round((time.perf_counter() - t0) * 1000, 1)
        return self.timings


@contextmanager
def side_pool(pool: Executor | None) -> Iterator[Executor]:
    """`pool`, or a one-thread pool for this analysis when the caller has none."""
    if pool is not None:
        yield pool
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="image-side") as own:
        yield own
