"""Executors run claimed jobs: `LocalExecutor` on threads of this process (the embedded default)."""

from __future__ import annotations

import logging
import threading

from sensorium.jobs.service import HEARTBEAT_SECONDS, JobService

log = logging.getLogger(__name__)


class LocalExecutor:
    """Runs jobs on `n` daemon threads of this process; also heartbeats and re-checks the queue."""

    def __init__(self, n: int = 1, poll_seconds: float = 2.0) -> None:
        self.n = n
        self.poll = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.service: JobService | None = None

    def start(self, service: JobService) -> None:
        self.service = service
        service.recover()
        for i in range(self.n):
            t = threading.Thread(target=self._loop, name=f"job-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        if self.n:
            hb = threading.Thread(target=self._beat, name="job-heartbeat", daemon=True)
            hb.start()
            self._threads.append(hb)
        self._wake.set()

    def notify(self, job_id: str) -> None:
        self._wake.set()

    def _loop(self) -> None:
        assert self.service is not None
        while not self._stop.is_set():
            self._wake.wait(self.poll)
            self._wake.clear()
            while not self._stop.is_set():
                try:
                    job_id = self.service.claim_next()
                except Exception:  # pragma: no cover - database hiccup
                    log.exception("claiming a job failed")
                    break
                if job_id is None:
                    break
                self.service.run(job_id)

    def _beat(self) -> None:
        assert self.service is not None
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                self.service.heartbeat()
                self.service.recover()
            except Exception:  # pragma: no cover
                log.exception("job heartbeat failed")

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        for t in self._threads:
            t.join(timeout)
