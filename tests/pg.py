"""A real PostgreSQL server for the tests, started from Debian's binaries into a temporary folder.

``start_postgres()`` finds ``initdb`` and ``pg_ctl`` (``pg_config --bindir``,
``/usr/lib/postgresql/*/bin``, or PATH), makes a cluster whose superuser
``policybot`` logs in with a password over TCP on 127.0.0.1 (a free port; the
Unix socket goes into the same temporary folder) and starts it. PostgreSQL
refuses to run as root: as root the server runs as the ``postgres`` user that
Debian's package creates (or ``nobody``), through ``runuser``, and the folder is
handed to that user. ``PostgresServer.create_database()`` gives each test its own
database; ``stop()`` shuts the server down and removes the folder.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

USER = "policybot"
PASSWORD = "pg-test-s3cret"


def find_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL's server binaries are not installed."""
    candidates: list[Path] = []
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out:
            candidates.append(Path(out))
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
                      if Path(p).parent.name.isdigit() else 0, reverse=True)
    candidates += [Path(p) for p in versions]
    if shutil.which("initdb"):
        candidates.append(Path(shutil.which("initdb") or "").parent)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def _run_as() -> str | None:
    """The user to run the server as: None for the current (non-root) user."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and neither the postgres nor the nobody user exists")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    bindir: Path
    root: Path
    port: int
    user: str | None  # who the server runs as (None: this process's user)

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres", *, password: str = PASSWORD, port: int | None = None) -> str:
        return f"postgresql+psycopg://{USER}:{password}@127.0.0.1:{port or self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(host="127.0.0.1", port=self.port, user=USER, password=PASSWORD, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", self.user, "--", *args] if self.user else list(args)

    def run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self._cmd(str(self.bindir / tool), *args), cwd=self.root, capture_output=True, text=True,
                              timeout=120, check=False)

    def stop(self) -> None:
        self.run("pg_ctl", "stop", "-D", str(self.datadir), "-m", "fast", "-w")
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres(bindir: Path) -> PostgresServer:
    user = _run_as()
    root = Path(tempfile.mkdtemp(prefix="policybot-pg-"))
    if user:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)  # mkdtemp makes it 0700: only the server's user may enter
    server = PostgresServer(bindir, root, _free_port(), user)
    pwfile = root / "pwfile"
    pwfile.write_text(PASSWORD + "\n")
    if user:
        os.chown(pwfile, pwd.getpwnam(user).pw_uid, -1)
    done = server.run("initdb", "-D", str(server.datadir), "-U", USER, "--pwfile", str(pwfile), "--auth-local=trust",
                      "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync")
    if done.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")
    options = f"-h 127.0.0.1 -p {server.port} -k {root} -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    done = server.run("pg_ctl", "start", "-D", str(server.datadir), "-w", "-t", "60", "-l", str(root / "server.log"),
                      "-o", options)
    if done.returncode != 0:
        log = (root / "server.log").read_text(errors="replace")[-2000:] if (root / "server.log").exists() else ""
        server.stop()
        raise RuntimeError(f"PostgreSQL did not start: {done.stderr.strip()} {log}")
    return server
