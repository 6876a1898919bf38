"""The `sensorium users` and `sensorium keys` commands, and quotas holding across two real uvicorn
server processes that share one database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from sensorium.cli.main import app
from testkit.settings import REPO
from tests.helpers import stop_all, wait_until

runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("COLUMNS", "250")  # wide tables: whole ids and e-mails
    monkeypatch.chdir(tmp_path)  # no stray .env
    return tmp_path


def _cli(*args: str, stdin: str | None = None):
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exit_code == 0, result.output
    return result


def test_users_and_keys_commands(cli_env: Path) -> None:
    _cli("users", "create", "ann@example.com", "--password-stdin", stdin="a long enough password\n")
    _cli("users", "create", "root", "--admin", "--no-password")
    listed = _cli("users", "list").output
    assert "ann@example.com" in listed and "root" in listed and "admin" in listed
    bad = runner.invoke(app, ["users", "create", "ann@example.com", "--no-password"])
    assert bad.exit_code == 1 and "VALIDATION_ERROR" in bad.output

    created = runner.invoke(app, ["keys", "create", "--user", "ann@example.com", "--name", "laptop"])
    assert created.exit_code == 0
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("sk-") and len(key) == 46
    listed = _cli("keys", "list", "--user", "ann@example.com").output
    assert "laptop" in listed and key[:11] in listed and key not in listed
    key_id = next(line.split()[1] for line in listed.splitlines() if "laptop" in line)
    _cli("users", "quota", "ann@example.com", "--requests", "10", "--upload-mb", "1")
    assert "10" in _cli("users", "list").output
    _cli("keys", "revoke", key_id)
    from sensorium.accounts.service import AccountService
    from sensorium.config import Settings
    from sensorium.store.database import Database

    db = Database(Settings().db_url)
    try:
        accounts = AccountService(Settings(), db)
        assert accounts.principal_for_key(key) is None  # revoked
        assert accounts.user_by_email("ann@example.com").limits.requests_per_day == 10  # type: ignore[union-attr]
    finally:
        db.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_quota_holds_across_two_server_processes(cli_env: Path) -> None:
    _cli("users", "create", "ann@example.com", "--no-password")
    key = runner.invoke(app, ["keys", "create", "--user", "ann@example.com"]).stdout.strip().splitlines()[-1]
    env = {**os.environ, "DATA_DIR": str(cli_env / "data"), "AUTH_MODE": "apikey", "QUOTA_REQUESTS_PER_DAY": "7",
           "JOB_WORKERS": "0", "LOG_LEVEL": "WARNING", "HF_HUB_OFFLINE": "1", "ALLOW_DOWNLOADS": "false",
           "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO}"}
    procs, bases = [], []
    try:
        for name in ("a", "b"):
            port = _free_port()
            log = (cli_env / f"{name}.log").open("wb")
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", "sensorium.api.app:app_factory", "--host", "127.0.0.1",
                 "--port", str(port), "--log-level", "warning"],
                env={**env, "LOG_DIR": str(cli_env / f"logs-{name}")}, cwd=cli_env, stdout=log,
                stderr=subprocess.STDOUT))
            bases.append(f"http://127.0.0.1:{port}")
        for proc, base in zip(procs, bases, strict=True):
            def health(base: str = base, proc: subprocess.Popen = proc) -> int:
                assert proc.poll() is None, (cli_env / "a.log").read_text() + (cli_env / "b.log").read_text()
                try:
                    return httpx.get(f"{base}/api/health", timeout=5).status_code
                except httpx.HTTPError:
                    return 0

            wait_until(health, lambda code: code == 200, timeout=120, interval=0.5, what=f"server {base}")
        assert httpx.get(f"{bases[0]}/api/jobs", timeout=10).status_code == 401

        def call(i: int) -> int:
            return httpx.get(f"{bases[i % 2]}/api/jobs", headers={"X-API-Key": key}, timeout=30).status_code

        with ThreadPoolExecutor(6) as pool:
            codes = list(pool.map(call, range(16)))
        assert codes.count(200) == 7 and codes.count(429) == 9, codes
        r = httpx.get(f"{bases[1]}/api/jobs", headers={"X-API-Key": key}, timeout=10)
        assert r.status_code == 429 and r.json()["error"]["code"] == "QUOTA_EXCEEDED" and r.headers["retry-after"]
    finally:
        stop_all(procs)
