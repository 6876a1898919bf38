"""Shared fixtures: settings on a temp DATA_DIR, the services (models loaded once per session), a
TestClient, and generated speech. Tests never touch the network."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("NUMBA_CACHE_DIR", "/tmp/sensorium-numba-cache")

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sensorium.api.app import create_app
from sensorium.config import Settings
from sensorium.services import build_services
from testkit import media_factory
from testkit.settings import REPO, SHARED, make_settings


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"../shared not found at {SHARED} (models and test media live there)")
    return SHARED


@pytest.fixture(scope="session")
def shared_models() -> Path:
    """../shared/models (YOLOX-nano, YAMNet): the tests that need those weights skip without them."""
    models = SHARED / "models"
    if not (models / "yolox-nano").is_dir() or not (models / "yamnet").is_dir():
        pytest.skip(f"../shared/models not found at {models} (YOLOX-nano and YAMNet weights)")
    return models


@pytest.fixture(scope="session")
def session_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sensorium")


@pytest.fixture(scope="session")
def settings(session_tmp: Path) -> Settings:
    return make_settings(session_tmp)


@pytest.fixture(scope="session")
def services(settings: Settings):
    svc = build_services(settings)
    svc.start()
    svc._started = True  # type: ignore[attr-defined]
    yield svc
    svc.close()


@pytest.fixture(scope="session")
def client(services) -> TestClient:
    app = create_app(services=services)
    with TestClient(app) as c:
        yield c


@pytest.fixture()
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The environment of a CLI run: a private DATA_DIR, ../shared/models, the test model cache, cwd tmp_path."""
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("MODEL_DIRS", str(SHARED / "models"))
    monkeypatch.setenv("MODEL_CACHE_DIR", str(REPO / ".cache" / "models"))
    monkeypatch.chdir(tmp_path)  # no stray .env
    return tmp_path


@pytest.fixture(scope="session")
def media_dir(session_tmp: Path) -> Path:
    d = session_tmp / "media"
    d.mkdir(exist_ok=True)
    return d


@pytest.fixture(scope="session")
def speak(media_dir: Path):
    """speak(text, name=None) -> Path of a Piper WAV (cached per text within the session)."""
    cache: dict[str, Path] = {}

    def _speak(text: str, name: str | None = None) -> Path:
        if text not in cache:
            path = media_dir / (name or f"speech-{len(cache)}.wav")
            cache[text] = media_factory.speak(text, path)
        return cache[text]

    return _speak


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One loud summary of every skipped test, grouped by reason (e.g. ../shared/models absent)."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    reasons: dict[str, int] = {}
    for report in skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    terminalreporter.section(f"SKIPPED: {len(skipped)} test(s) did not run", sep="!", red=True, bold=True)
    for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
        terminalreporter.line(f"  {count:4d} x {reason}", red=True)
    if not (SHARED / "models").is_dir():
        terminalreporter.line(f"  ../shared/models is absent ({SHARED / 'models'}): the YAMNet and YOLOX tests "
                              "cannot run; set SENSORIUM_SHARED_DIR or `sensorium models pull`.", red=True, bold=True)
