"""Small helpers shared by the tests (polling a job until it ends)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from fastapi.testclient import TestClient

from sensorium.models.registry import ModelRegistry

TERMINAL = ("succeeded", "failed", "cancelled")


def wait_until(fetch: Callable[[], Any], done: Callable[[Any], bool], *, timeout: float = 120.0,
               interval: float = 0.3, what: str = "condition") -> Any:
    """Call `fetch()` every `interval` s until `done(value)`; the last value, or AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    value = fetch()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout:.0f} s; last value: {value!r}")
        time.sleep(interval)
        value = fetch()
    return value


def wait_job(client: TestClient, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
    """Poll `GET /api/jobs/{id}` until the job ends; returns the job (the envelope's `data.result`)."""
    return wait_until(lambda: client.get(f"/api/jobs/{job_id}").json()["data"]["result"],
                      lambda job: job["status"] in TERMINAL, timeout=timeout, what=f"end of job {job_id}")


@contextmanager
def weights_missing(registry: ModelRegistry, name: str) -> Iterator[None]:
    """Make a model look absent (its weights are not found) for the duration of the block."""
    from sensorium.models.resolver import WeightsNotFound

    def missing(resolver: object) -> None:
        raise WeightsNotFound("weights not found (looked in nowhere)")

    registry.unload(name)  # a loaded model counts as available
    slot = registry._slots[name]
    original = slot.spec
    slot.spec = replace(original, locate=missing, check=missing)
    try:
        yield
    finally:
        slot.spec = original


def stop_all(procs: list) -> None:
    """Terminate subprocesses (servers, workers), then kill the ones still running after 15 s."""
    import subprocess

    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def app_clients(settings_for: Callable[[int, dict[str, Any]], Any]) -> Iterator[Callable[..., TestClient]]:
    """`make(**overrides)` -> a started TestClient on `settings_for(n, overrides)` (n = 0, 1, ...); all are
    closed on exit."""
    from sensorium.api.app import create_app

    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        client = TestClient(create_app(settings_for(len(clients), overrides)))
        client.__enter__()
        clients.append(client)
        return client

    try:
        yield make
    finally:
        for client in clients:
            client.__exit__(None, None, None)
