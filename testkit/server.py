"""A real `uvicorn` server subprocess on 127.0.0.1 for fault tests and benchmarks: started on a private
DATA_DIR with the test models, killed with SIGKILL or stopped, restarted on the same data."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from testkit.processes import free_port, stop_process
from testkit.settings import REPO, SHARED

__all__ = ["ServerProcess", "free_port", "server_env"]


def server_env(root: Path, **extra: str) -> dict[str, str]:
    """The environment of a server on `root/data` (models from ../shared/models, no downloads)."""
    env = {**os.environ, "DATA_DIR": str(root / "data"), "LOG_DIR": str(root / "logs"),
           "MODEL_DIRS": str(SHARED / "models"),
           "MODEL_CACHE_DIR": os.environ.get("SENSORIUM_TEST_MODEL_CACHE", str(REPO / ".cache" / "models")),
           "MODEL_TTL_SECONDS": "-1", "ALLOW_DOWNLOADS": "false", "HF_HUB_OFFLINE": "1", "LOG_LEVEL": "INFO",
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    env.update(extra)
    return env


class ServerProcess:
    """`uvicorn --factory sensorium.api.app:app_factory` with the environment `env`; output in `log`."""

    def __init__(self, root: Path, name: str = "server", *, port: int | None = None,
                 preexec=None, **env: str) -> None:
        self.root, self.name = root, name
        self.port = port or free_port()
        self.env = server_env(root, **env)
        self.preexec = preexec
        self.proc: subprocess.Popen | None = None
        self.log = root / f"{name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 180.0) -> ServerProcess:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", "sensorium.api.app:app_factory", "--host",
                 "127.0.0.1", "--port", str(self.port), "--log-level", "warning", "--no-access-log"],
                env=self.env, cwd=self.root, stdout=log, stderr=subprocess.STDOUT, preexec_fn=self.preexec)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server {self.name} exited ({self.proc.returncode}): "
                                   f"{self.log.read_text(errors='replace')[-3000:]}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"server {self.name} did not answer within {timeout:.0f} s")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs (a crash, an OOM kill, a pulled plug)."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        stop_process(self.proc)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None
