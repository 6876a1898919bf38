"""Real servers for the scale-out tests: redis-server (Debian; the setup script installs it) and Celery
workers started as `sensorium worker` subprocesses, all on 127.0.0.1 with a private DATA_DIR."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.processes import free_port, wait_for_port
from testkit.settings import REPO, SHARED


class RedisServer:
    """redis-server on a free port with AOF on; `restart()` stops it and starts it again on the same data."""

    def __init__(self, exe: str, folder: Path) -> None:
        self.exe, self.folder, self.port = exe, folder, free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen([self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "yes", "--dir", str(self.folder)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for_port(self.port, 20, "redis-server")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed (bash scripts/setup.sh test installs it with apt-get)")
    server = RedisServer(exe, tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


def worker_env(data_dir: Path, broker: str) -> dict[str, str]:
    return {**os.environ, "DATA_DIR": str(data_dir), "LOG_DIR": str(data_dir.parent / "logs"),
            "BROKER_URL": broker, "MODEL_DIRS": str(SHARED / "models"),
            "MODEL_CACHE_DIR": str(REPO / ".cache" / "models"), "HF_HUB_OFFLINE": "1", "MODEL_TTL_SECONDS": "-1",
            "CELERY_VISIBILITY_TIMEOUT": "20", "PYTHONPATH": str(REPO / "src")}


class Workers:
    """`sensorium worker` subprocesses, each with its own log file."""

    def __init__(self, data_dir: Path, broker: str, logs: Path) -> None:
        self.data_dir, self.broker, self.logs = data_dir, broker, logs
        self.procs: list[subprocess.Popen] = []

    def start(self, n: int = 1) -> None:
        for _ in range(n):
            log = (self.logs / f"worker-{len(self.procs)}.log").open("wb")
            self.procs.append(subprocess.Popen(
                [sys.executable, "-m", "sensorium.cli", "worker", "--concurrency", "1"],
                env=worker_env(self.data_dir, self.broker), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True))

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("worker-*.log")))

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, 15)
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, 9)
