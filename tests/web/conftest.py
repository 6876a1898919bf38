"""Browser-test fixtures: a real uvicorn server on 127.0.0.1 with a temp DATA_DIR, Debian's Chromium driven
by Playwright for Python (never `playwright install`), screenshots saved under tests/artifacts/web/."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from testkit.settings import REPO, SHARED
from tests.helpers import wait_until

CHROMIUM = Path(os.environ.get("SENSORIUM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]
ARTIFACTS = REPO / "tests" / "artifacts" / "web"
SCREENSHOTS = REPO / "docs" / "screenshots"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.is_file():
        pytest.skip(f"BROWSER TESTS NOT RUN: Chromium not found at {CHROMIUM} "
                    "(apt-get install chromium, or `bash scripts/setup.sh test` as root)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("BROWSER TESTS NOT RUN: the `playwright` Python package is not installed (pip install -e .[test])")
    return CHROMIUM


@contextmanager
def run_server(root: Path, **env_overrides: str) -> Iterator[tuple[str, Path]]:
    """(base URL, DATA_DIR) of a uvicorn server on a free port under `root`, with extra environment settings."""
    data = root / "data"
    port = _free_port()
    env = {**os.environ, "DATA_DIR": str(data), "LOG_DIR": str(root / "logs"),
           "MODEL_DIRS": str(SHARED / "models"),
           "MODEL_CACHE_DIR": os.environ.get("SENSORIUM_TEST_MODEL_CACHE", str(REPO / ".cache" / "models")),
           "MODEL_TTL_SECONDS": "-1", "ALLOW_DOWNLOADS": "false", "HF_HUB_OFFLINE": "1", "JOB_WORKERS": "1",
           "LOG_LEVEL": "WARNING", "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO),
                                                                   os.environ.get("PYTHONPATH", "")]),
           **env_overrides}
    log_path = root / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "sensorium.api.app:app_factory", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"], env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def health() -> int:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited: {log_path.read_text()[-3000:]}")
        try:
            return httpx.get(f"{base}/api/health", timeout=5).status_code
        except httpx.HTTPError:
            return 0

    try:
        wait_until(health, lambda code: code == 200, timeout=120, interval=0.5, what="studio server up")
        yield base, data
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, chromium_path: Path) -> Iterator[tuple[str, Path]]:
    """(base URL, DATA_DIR) of a uvicorn server started for the browser tests (AUTH_MODE=off)."""
    with run_server(tmp_path_factory.mktemp("studio-server")) as started:
        yield started


#: the accounts server's daily request quota per user (small, so a test can use it up)
ACCOUNTS_REQUESTS_PER_DAY = 60


@pytest.fixture(scope="session")
def accounts_server(tmp_path_factory: pytest.TempPathFactory, chromium_path: Path) -> Iterator[tuple[str, Path]]:
    """A second server with AUTH_MODE=accounts and small quotas (no job workers: jobs stay queued)."""
    with run_server(tmp_path_factory.mktemp("accounts-server"), AUTH_MODE="accounts", JOB_WORKERS="0",
                    QUOTA_REQUESTS_PER_DAY=str(ACCOUNTS_REQUESTS_PER_DAY), QUOTA_UPLOAD_MB_PER_DAY="5",
                    QUOTA_PROCESSING_SECONDS_PER_DAY="600") as started:
        yield started


@pytest.fixture(scope="session")
def browser(chromium_path: Path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A fresh page (desktop width); console errors are collected in page.errors."""
    context = browser.new_context(viewport={"width": 1200, "height": 900}, base_url=server[0])
    pg = context.new_page()
    pg.errors = []  # type: ignore[attr-defined]
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))
    pg.on("console", lambda msg: pg.errors.append(msg.text)
          if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    # failed responses, except the account endpoints (404 when accounts are off: the page says so)
    pg.on("response", lambda r: pg.errors.append(f"{r.status} {r.url}")
          if r.status >= 400 and "/api/account/" not in r.url else None)
    pg.set_default_timeout(30_000)
    yield pg
    context.close()


def shoot(pg, name: str, docs: bool = False) -> Path:
    """Save a full-page screenshot as a test artifact; with SENSORIUM_UPDATE_SCREENSHOTS=1 also into
    docs/screenshots/ for the README (a normal test run leaves the repository untouched)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    if docs and os.environ.get("SENSORIUM_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENSHOTS / f"{name}.png")
    return path
