"""``policybot watch``: sync on a schedule, then index, then compute and post new change sets.

One run (:func:`run_once`): sync every text (a text whose fetch or parse fails
keeps its last good version: the version store never holds half a version),
rebuild the index when a new version came in, compute the change sets between
consecutive versions, and post those not posted yet to the digest channel.
A source whose sync failed in this run gets no digest in this run.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import BotError
from ..metrics import record_watch_run
from ..state import DB_ERRORS
from ..sources import Manifest, load_manifest
from ..sync import SyncResult, sync
from .changes import change_sets
from .digest import post_digests

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class ScheduleError(BotError):
    pass


def parse_every(text: str) -> float:
    """'6h', '30m', '90s', '1d', '1h30m' -> seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([smhd])", text.strip().lower())
    if not parts or re.sub(r"(\d+(?:\.\d+)?)\s*([smhd])|\s", "", text.strip().lower()):
        raise ScheduleError(f"Cannot read {text!r} as an interval: write it like 6h, 30m or 1d.", help="Example: policybot watch --every 6h")
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds < 1:
        raise ScheduleError("The interval must be at least one second.", help="Example: policybot watch --every 6h")
    return seconds


@dataclass
class WatchReport:
    synced: list[SyncResult] = field(default_factory=list)
    indexed: bool = False
    change_sets: list[str] = field(default_factory=list)
    posted: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[SyncResult]:
        return [r for r in self.synced if r.status == "failed"]

    @property
    def new(self) -> list[SyncResult]:
        return [r for r in self.synced if r.status == "new"]


def run_once(
    settings: Settings,
    *,
    manifest: Manifest | None = None,
    mirror: Path | None = None,
    source: str | None = None,
    index: bool = True,
    post: bool = True,
    client: Any | None = None,
    client_factory: Callable[[], Any] | None = None,
    log: Callable[[str], None] | None = None,
) -> WatchReport:
    """One round of sync → index → change sets → digest."""
    say = log or (lambda _msg: None)
    manifest = manifest or load_manifest(settings.manifest_path)
    report = WatchReport(synced=sync(manifest, settings, source=source, mirror=mirror))
    for r in report.failed:
        report.warnings.append(f"sync failed for {r.source} ({r.language}, {r.edition}): {r.detail}")
        say(report.warnings[-1])
    if report.new and index:
        from ..index import build_index
        from ..retrieval import warm_start

        try:
            build_index(settings, warn=say)
            report.indexed = True
            warm_start(settings)  # bots on this data dir then start warm
        except BotError as exc:
            report.warnings.append(f"index: {exc.message}")
            say(report.warnings[-1])
    sets = change_sets(settings, source, manifest=manifest)
    report.change_sets = [cs.id for cs in sets]
    failed_sources = {r.source for r in report.failed}
    if post and settings.digest_channel:
        ready = [cs for cs in sets if cs.source not in failed_sources]
        report.posted = post_digests(settings, ready, client, client_factory=client_factory)
        for cid in report.posted:
            say(f"posted digest {cid} to {settings.digest_channel}")
    elif post:
        say("POLICYBOT_DIGEST_CHANNEL is not set: change sets are stored, not posted")
    return report


def _record(settings: Settings, say: Callable[[str], None], **run: Any) -> None:
    """The run for /readyz and /metrics; failing to note it never fails the run."""
    try:
        record_watch_run(settings, **run)
    except (BotError, OSError, *DB_ERRORS) as exc:
        say(f"could not record this run for /readyz and /metrics: {getattr(exc, 'message', exc)}")


def watch(
    settings: Settings,
    *,
    every: float,
    once: bool = False,
    mirror: Path | None = None,
    log: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    client_factory: Callable[[], Any] | None = None,
) -> None:
    """Run :func:`run_once` now and then every ``every`` seconds (forever unless ``once``)."""
    say = log or (lambda _msg: None)
    while True:
        started = time.monotonic()
        try:
            report = run_once(settings, mirror=mirror, log=say, client_factory=client_factory)
            say(
                f"synced {len(report.synced)} texts ({len(report.new)} new, {len(report.failed)} failed); "
                f"{len(report.change_sets)} change sets; {len(report.posted)} posted"
            )
            _record(settings, say, ok=not report.failed and not report.warnings, synced=len(report.synced),
                    failed=len(report.failed))
        except BotError as exc:
            _record(settings, say, ok=False)
            if once:
                raise
            say(f"run failed: {exc.message}")
        if once:
            return
        sleep(max(0.0, every - (time.monotonic() - started)))
