"""Shared fixtures: a real synced and indexed corpus (a small part of the mirror)."""

from __future__ import annotations

import os
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
