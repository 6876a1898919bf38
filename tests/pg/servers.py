"""Real `uvicorn sensorium.api.app:app_factory` processes for the PostgreSQL tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from testkit.processes import free_port, stop_process
from testkit.settings import REPO, SHARED
from tests.helpers import wait_until


class Server:
    def __init__(self, root: Path, name: str, env: dict[str, str]) -> None:
        self.root, self.name, self.port = root, name, free_port()
        self.env = {**os.environ, "DATA_DIR": str(root / "data"), "LOG_DIR": str(root / f"logs-{name}"),
                    "MODEL_DIRS": str(SHARED / "models"), "MODEL_CACHE_DIR": str(REPO / ".cache" / "models"),
                    "HF_HUB_OFFLINE": "1", "ALLOW_DOWNLOADS": "false", "LOG_LEVEL": "WARNING",
                    "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO}", **env}
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.root / f"{self.name}.log"

    def start(self) -> Server:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "sensorium.api.app:app_factory", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning"],
            env=self.env, cwd=self.root, stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        return self

    def wait(self) -> None:
        def health() -> int:
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text(errors="replace")
            try:
                return httpx.get(f"{self.base}/api/health", timeout=5).status_code
            except httpx.HTTPError:
                return 0

        wait_until(health, lambda code: code == 200, timeout=180, interval=0.5, what=f"server {self.name}")

    def stop(self) -> None:
        stop_process(self.proc)
