"""What every listener needs, built once per app: the answerer, the stores, the access policy."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

from ..config import Settings
from ..errors import BotError
from ..models import Answer
from ..sources import load_manifest
from .access import AccessPolicy
from .briefings import Briefings, default_briefings
from .dedupe import EventDeduper
from .delivery import Backoff
from .feedback import FeedbackStore
from .threads import ThreadRegistry

log = logging.getLogger(__name__)


class Answerer(Protocol):
    """Anything with the signature of :meth:`bot.assistant.Assistant.ask`."""

    def ask(
        self,
        question: str,
        *,
        source: str | None = None,
        lang: str | None = None,
        k: int | None = None,
        mode: str | None = None,
        history: list[tuple[str, str]] | None = None,
    ) -> Answer: ...


def source_names(settings: Settings) -> dict[str, str]:
    """Source id → short name ('ai-act' → 'AI Act') from the manifest; empty if it cannot be read."""
    try:
        return {s.id: s.short for s in load_manifest(settings.manifest_path).sources}
    except BotError as exc:
        log.warning("source names unavailable: %s", exc)
        return {}


@dataclass
class SlackContext:
    settings: Settings
    answerer: Answerer
    briefings: Briefings = field(default_factory=Briefings)
    bot_user_id: str | None = None
    access: AccessPolicy = field(default_factory=AccessPolicy)
    deduper: EventDeduper | None = None
    feedback: FeedbackStore | None = None
    threads: ThreadRegistry | None = None
    names: dict[str, str] = field(default_factory=dict)
    backoff: Backoff = field(default_factory=Backoff)

    @classmethod
    def build(
        cls, settings: Settings, answerer: Answerer, briefings: Briefings | None = None, backoff: Backoff | None = None
    ) -> SlackContext:
        """Everything the listeners share. Raises StoreError (one line) if the state store (slack_state.sqlite3 or
        POLICYBOT_DATABASE_URL) cannot be opened."""
        return cls(
            settings=settings,
            answerer=answerer,
            briefings=briefings or default_briefings(settings, answerer),
            access=AccessPolicy.from_settings(settings),
            deduper=EventDeduper(settings.data_dir, database_url=settings.database_url, claim_ttl=settings.claim_ttl),
            feedback=FeedbackStore(settings.data_dir, database_url=settings.database_url),
            threads=ThreadRegistry(settings.data_dir, database_url=settings.database_url),
            names=source_names(settings),
            backoff=backoff or Backoff(),
        )
