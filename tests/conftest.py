"""Shared fixtures: a real synced and indexed corpus (a small part of the mirror)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parents[1]
MIRROR = ROOT.parent / "shared" / "corpus"
EVAL = ROOT.parent / "shared" / "eval"

# Settings come from the test, never from a developer's environment or .env file.
for _key in list(os.environ):
    if _key.startswith("POLICYBOT_") or _key in {"OPENAI_API_KEY", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"}:
        del os.environ[_key]


def pytest_configure(config: pytest.Config) -> None:
    from tests.netguard import install_guard

    config.addinivalue_line("markers", "offline_attempt: the test checks behaviour when a non-local address is refused")
    install_guard()


@pytest.fixture(autouse=True)
def _no_network(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Any attempt to reach a non-local address fails the test (unless it tests exactly that)."""
    from tests.netguard import install_guard

    guard = install_guard()
    seen = len(guard.blocked)
    yield
    if request.node.get_closest_marker("offline_attempt") is None:
        assert len(guard.blocked) == seen, f"tried to reach the network: {guard.blocked[seen:]}"


needs_mirror = pytest.mark.skipif(not MIRROR.is_dir(), reason="../shared/corpus (the mirror) is not beside the checkout")


def make_settings(data_dir: Path, **overrides: object):  # type: ignore[no-untyped-def]
    from bot.config import Settings

    return Settings(data_dir=data_dir, _env_file=None, **overrides)  # type: ignore[call-arg]


SMALL_SOURCES = ("chips-act", "sovereignty-article")


@pytest.fixture(scope="session")
def small_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with the Chips Act (from the mirror) and the ABN AMRO article synced and indexed."""
    if not MIRROR.is_dir():
        pytest.skip("../shared/corpus (the mirror) is not beside the checkout")
    from bot.index import build_index
    from bot.sources import load_manifest
    from bot.sync import sync

    data = tmp_path_factory.mktemp("small-data")
    settings = make_settings(data)
    manifest = load_manifest(settings.manifest_path)
    for source in SMALL_SOURCES:
        results = sync(manifest, settings, source=source, mirror=MIRROR)
        assert all(r.ok for r in results), results
    build_index(settings)
    return data


@pytest.fixture(scope="session")
def small_settings(small_data_dir: Path):  # type: ignore[no-untyped-def]
    return make_settings(small_data_dir)


@pytest.fixture(scope="session")
def small_assistant(small_settings):  # type: ignore[no-untyped-def]
    from bot.assistant import Assistant

    return Assistant(small_settings)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def chroma_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A real `chroma run` server on 127.0.0.1 with its own data dir; yields its port."""
    chroma = Path(sys.executable).with_name("chroma")
    if not chroma.exists():
        pytest.skip("the chroma CLI is not installed")
    port = free_port()
    proc = subprocess.Popen(
        [str(chroma), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(tmp_path / "server")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("chroma run did not start within 60 s")
    yield port
    proc.terminate()
    proc.wait(timeout=20)


# -- a real PostgreSQL server (tests/pg.py) -------------------------------------------------------


@pytest.fixture(scope="session")
def postgres():  # type: ignore[no-untyped-def]
    """A PostgreSQL server on 127.0.0.1 for the whole session; skipped only when its binaries are not installed."""
    from tests.pg import find_bindir, start_postgres

    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL's server binaries (initdb, pg_ctl) are not installed: apt-get install postgresql")
    server = start_postgres(bindir)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(postgres) -> str:  # type: ignore[no-untyped-def]
    """The URL of a new, empty PostgreSQL database (one per test)."""
    return postgres.create_database()
