"""Liveness, readiness and metrics for the bot, and the container's HEALTHCHECK.

:class:`Health` is what the HTTP server answers ``/healthz``, ``/readyz`` and
``/metrics`` from. It loads the index at start-up, in the background (so the
probes answer while it loads), and says the bot is ready only when:

- the index generation is loaded (and a first search has run, so the first
  question pays no loading cost);
- its Chroma collection answers;
- the state database answers: with POLICYBOT_DATABASE_URL, ``SELECT 1`` on it;
  without, the Slack state files (``slack_state.sqlite3``, ``feedback.sqlite3``)
  open and pass SQLite's quick check.

Liveness is the process answering; in Socket Mode also the socket being
connected. ``python -m bot.slack.healthcheck`` (the image's HEALTHCHECK) asks
``/healthz`` on 127.0.0.1:POLICYBOT_HEALTH_PORT (default 3000); exit 0 when live.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..generations import current_state
from ..metrics import DiskState, parse_time, read_watch_run, render
from .db import STATE_DB, reason
from .feedback import FEEDBACK_DB

if TYPE_CHECKING:  # for annotations only: the container's HEALTHCHECK imports this module and must stay quick
    from ..retrieval import Retriever

log = logging.getLogger(__name__)

RETRY_SECONDS = 30.0  # after a failed load, /readyz tries again at most this often


def check_store(path: Path, *, required: bool) -> str | None:
    """None if the SQLite file at ``path`` opens read-only and passes ``PRAGMA quick_check``; else why not."""
    if not path.exists():
        return f"{path.name} does not exist" if required else None
    try:
        uri = f"{path.resolve().as_uri()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=5)
        try:
            row = conn.execute("PRAGMA quick_check(1)").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return f"{path.name}: {reason(exc)}"
    return None if row and row[0] == "ok" else f"{path.name}: {row[0] if row else 'no answer'}"


@dataclass
class Health:
    """The bot's health as the probes see it. ``load`` returns the index the bot serves from."""

    settings: Settings
    load: Callable[[], Retriever] | None = None
    socket_connected: Callable[[], bool] | None = None  # Socket Mode: is the socket up?
    retriever: Retriever | None = None
    load_error: str | None = None
    loading: bool = False
    attempted: float | None = None  # time.monotonic() of the last load
    retry_seconds: float = RETRY_SECONDS
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- start-up ------------------------------------------------------------------
    def load_index(self) -> bool:
        """Load the index now (the caller's thread); True when it serves. Failures are kept for /readyz."""
        if self.load is None:
            self.load_error = "no index loader configured"
            return False
        with self._lock:
            self.loading, self.load_error, self.attempted = True, None, time.monotonic()
        started = time.perf_counter()
        try:
            retriever = self.load()
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready", with its reason
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            with self._lock:
                self.loading, self.load_error = False, str(message).splitlines()[0][:300]
            log.error("the index could not be loaded; /readyz answers 503: %s", self.load_error)
            return False
        with self._lock:
            self.loading, self.retriever = False, retriever
        log.info("index generation %s loaded in %.1f s", retriever.snapshot.state.get("generation", "?"),
                 time.perf_counter() - started)
        return True

    def serves(self, retriever: Retriever) -> None:
        """A newer generation was swapped in (see :mod:`bot.serving`): report it."""
        with self._lock:
            self.retriever, self.load_error = retriever, None

    def load_in_background(self) -> threading.Thread:
        with self._lock:
            self.loading = True
        thread = threading.Thread(target=self.load_index, name="policybot-index-load", daemon=True)
        thread.start()
        return thread

    # -- probes ----------------------------------------------------------------------
    def live(self) -> tuple[bool, str]:
        if self.socket_connected is not None and not self.socket_connected():
            return False, "socket disconnected"
        return True, "ok"

    def ready(self) -> tuple[bool, dict[str, Any]]:
        """Whether the bot should get traffic, and the checks behind it (the body of /readyz)."""
        checks: dict[str, Any] = {"index": self._index(), "chroma": self._chroma(), "state_db": self._stores()}
        live, why = self.live()
        if self.socket_connected is not None:
            checks["socket"] = {"ok": live, "detail": why}
        watch = read_watch_run(self.settings)
        info: dict[str, Any] = {"last_watch_run": _iso(watch.get("last_run")) if watch else None,
                                "last_watch_ok": watch.get("last_ok") if watch else None}
        ok = all(c["ok"] for c in checks.values())
        return ok, {"ready": ok, "checks": checks, **info}

    def _index(self) -> dict[str, Any]:
        with self._lock:
            retry = (self.retriever is None and self.load is not None and not self.loading and self.attempted is not None
                     and time.monotonic() - self.attempted >= self.retry_seconds)
            if retry:  # an index built since the last try serves without a restart
                self.loading = True
            retriever, error, loading = self.retriever, self.load_error, self.loading
        if retry:
            threading.Thread(target=self.load_index, name="policybot-index-load", daemon=True).start()
        if retriever is None:
            return {"ok": False, "detail": "loading" if loading else (error or "not loaded")}
        state = retriever.snapshot.state
        built = parse_time(str(state.get("built_at", "")))
        out: dict[str, Any] = {
            "ok": True,
            "generation": state.get("generation"),
            "chunks": len(retriever.snapshot.chunks),
            "built_at": state.get("built_at"),
            "age_seconds": round(time.time() - built) if built is not None else None,
        }
        on_disk = current_state(self.settings, retriever.embedder.name)
        if on_disk and on_disk.get("generation") != state.get("generation"):
            out["newer_on_disk"] = on_disk.get("generation")  # published; the generation watcher swaps to it
        return out

    def _chroma(self) -> dict[str, Any]:
        with self._lock:
            retriever = self.retriever
        if retriever is None:
            return {"ok": False, "detail": "the index is not loaded"}
        try:
            return {"ok": True, **retriever.probe_store()}
        except Exception as exc:  # noqa: BLE001 - a server that is down, a damaged store...
            return {"ok": False, "detail": f"{type(exc).__name__}: {exc}".splitlines()[0][:200]}

    def _stores(self) -> dict[str, Any]:
        if self.settings.database_url is not None:
            from ..state import ping  # SQLAlchemy: the container's HEALTHCHECK never gets here

            problem = ping(self.settings.database_url)
            return {"ok": problem is None, "detail": problem or "ok"}
        problems = [p for p in (check_store(self.settings.data_dir / STATE_DB, required=True),
                                check_store(self.settings.data_dir / FEEDBACK_DB, required=False)) if p]
        return {"ok": not problems, "detail": "; ".join(problems) or "ok"}

    def metrics(self) -> bytes:
        """The Prometheus text: the counters, and the index and sync state on disk."""
        with self._lock:
            retriever = self.retriever
        if retriever is None:
            return render([DiskState(self.settings, None)])
        return render([DiskState(self.settings, retriever.embedder.name, retriever.snapshot.state)])


def _iso(value: object) -> str | None:
    if not isinstance(value, (int, float)):
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(value))


def main() -> int:
    """The container's HEALTHCHECK: exit 0 when ``/healthz`` answers 200 (nothing listening: unhealthy)."""
    port = os.environ.get("POLICYBOT_HEALTH_PORT", "3000")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as resp:
            return 0 if resp.status == 200 else 1
    except urllib.error.HTTPError as exc:
        print(f"unhealthy: /healthz answered {exc.code}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"unhealthy: nothing answers on 127.0.0.1:{port} ({exc})", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
