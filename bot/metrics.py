"""The Prometheus metrics every front end updates, and what ``/metrics`` serves.

Counters and the latency histogram live in one registry (``REGISTRY``) that the
Slack answering path and the CLI update through :func:`observe_question` and
:func:`count_slack_error`. What is on disk (the index generation that serves,
when it was built, the newest text synced, the last watch run) is read when
``/metrics`` is scraped, by :class:`DiskState`, so a scrape never shows a stale
copy of it. This module imports only settings and the index's state files, so
anything may import it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from sqlalchemy import select

from .config import Settings
from .generations import current_state
from .models import Answer
from .state import DB_ERRORS, StoreError, open_state
from .state.ops import upsert
from .state.schema import watch_runs
from .versions import VersionStore

__all__ = ["CONTENT_TYPE_LATEST", "REGISTRY", "DiskState", "WATCH_FILE", "count_slack_error", "observe_question",
           "outcome", "read_watch_run", "record_watch_run", "render"]

REGISTRY = CollectorRegistry(auto_describe=True)

QUESTIONS = Counter(
    "policybot_questions", "Questions answered, by front end, answer mode and outcome (answered, abstained, fallback, failed)",
    ["front_end", "mode", "outcome"], registry=REGISTRY,
)
ANSWER_SECONDS = Histogram(
    "policybot_answer_seconds", "Time from a question to its answer (retrieval and answering, not delivery)",
    ["front_end"], registry=REGISTRY,
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0),
)
SLACK_API_ERRORS = Counter(
    "policybot_slack_api_errors", "Slack Web API calls that failed after the client's own retries, by method and error",
    ["method", "error"], registry=REGISTRY,
)

#: Written by ``policybot watch`` after each run, read by ``/metrics`` and ``/readyz``.
WATCH_FILE = "watch_last_run.json"


def outcome(answer: Answer) -> str:
    """'abstained', 'fallback' (LLM mode was tried and the extractive answer went out) or 'answered'."""
    if answer.abstained:
        return "abstained"
    if answer.mode != "llm" and "llm_ms" in answer.timings:
        return "fallback"
    return "answered"


def observe_question(front_end: str, answer: Answer | None, seconds: float) -> str:
    """Count one question (``answer`` None: answering failed) and its latency; returns its outcome."""
    result = outcome(answer) if answer is not None else "failed"
    mode = answer.mode if answer is not None else "none"
    QUESTIONS.labels(front_end=front_end, mode=mode, outcome=result).inc()
    ANSWER_SECONDS.labels(front_end=front_end).observe(seconds)
    return result


def count_slack_error(method: str, error: str) -> None:
    SLACK_API_ERRORS.labels(method=method or "?", error=error or "?").inc()


def record_watch_run(settings: Settings, *, ok: bool, synced: int = 0, failed: int = 0) -> None:
    """Note a finished watch run (the last successful one is kept apart): in the shared database when there is
    one (bots on other hosts read it), else in the data dir."""
    data = read_watch_run(settings) or {}
    now = time.time()
    data.update({"last_run": now, "last_ok": ok, "synced": synced, "failed": failed})
    if ok:
        data["last_success"] = now
    if settings.database_url is not None:
        db = open_state(settings.database_url, settings.data_dir / "state.sqlite3")
        with db.engine.begin() as conn:
            values = {"name": "watch", "data": json.dumps(data), "updated_at": now}
            upsert(conn, watch_runs, values, ["name"], {"data": values["data"], "updated_at": now})
        return
    path = settings.data_dir / WATCH_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data) + "\n", encoding="utf-8")
    tmp.replace(path)


def read_watch_run(settings: Settings) -> dict[str, Any] | None:
    """What :func:`record_watch_run` wrote last, or None (no watch has run, or the record is unreadable)."""
    try:
        if settings.database_url is not None:
            db = open_state(settings.database_url, settings.data_dir / "state.sqlite3")
            with db.engine.connect() as conn:
                raw = conn.execute(select(watch_runs.c.data).where(watch_runs.c.name == "watch")).scalar()
            data = json.loads(raw) if raw else None
        else:
            data = json.loads((settings.data_dir / WATCH_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, *DB_ERRORS, StoreError):
        return None
    return data if isinstance(data, dict) else None


def parse_time(text: str) -> float | None:
    """Seconds since the epoch of an ISO time as the index and version store write it ('' or junk: None)."""
    try:
        moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z") if len(text) == 24 else datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment.timestamp()


def newest_fetch(versions_dir: Path) -> float | None:
    """When the newest text version was stored (a sync that found nothing new stores nothing)."""
    times = [t for m in VersionStore(versions_dir).list() if (t := parse_time(m.fetched_at)) is not None]
    return max(times) if times else None


class DiskState(Collector):
    """Gauges read from the data dir at each scrape; ``served`` is the state of the generation a bot has loaded."""

    def __init__(self, settings: Settings, embedder_name: str | None, served: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self.embedder_name = embedder_name
        self.served = served

    def collect(self) -> Iterator[Metric]:
        state = (current_state(self.settings, self.embedder_name) if self.embedder_name else None) or {}
        watch = read_watch_run(self.settings) or {}
        values: list[tuple[str, str, float | None]] = [
            ("policybot_index_loaded", "1 when this process has loaded an index generation and serves from it",
             1.0 if self.served is not None else 0.0),
            ("policybot_index_served_generation", "The index generation this process serves from",
             _number((self.served or {}).get("generation"))),
            ("policybot_index_generation", "The index generation the data dir's pointer names",
             _number(state.get("generation"))),
            ("policybot_index_built_timestamp_seconds", "When the generation the pointer names was built",
             parse_time(str(state.get("built_at", "")))),
            ("policybot_index_chunks", "Chunks in the generation the pointer names", _number(state.get("chunks"))),
            ("policybot_last_sync_new_version_timestamp_seconds", "When a sync last stored a new text version",
             newest_fetch(self.settings.versions_dir)),
            ("policybot_last_watch_run_timestamp_seconds", "When `policybot watch` last finished a run",
             _number(watch.get("last_run"))),
            ("policybot_last_watch_success_timestamp_seconds", "When a `policybot watch` run last succeeded",
             _number(watch.get("last_success"))),
        ]
        for name, doc, value in values:
            if value is not None:
                yield GaugeMetricFamily(name, doc, value=value)


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def render(collectors: Iterable[Collector] = ()) -> bytes:
    """The Prometheus text of ``REGISTRY`` and of ``collectors`` (e.g. a :class:`DiskState`)."""
    extra = CollectorRegistry(auto_describe=True)
    for collector in collectors:
        extra.register(collector)
    return generate_latest(REGISTRY) + generate_latest(extra)
