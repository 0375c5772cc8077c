"""Has the text an answer quoted changed since? (Shown with stored answers, e.g. feedback.)"""

from __future__ import annotations

from typing import Any

from .config import Settings
from .embeddings import get_embedder
from .errors import BotError
from .index import load_snapshot


def current_unit_versions(settings: Settings) -> dict[tuple[str, str, str], str]:
    """(source, language, unit) -> version of that unit in the current index ({} without one)."""
    try:
        return dict(load_snapshot(settings, get_embedder(settings.embeddings, settings).name).unit_versions)
    except BotError:
        return {}


def stale_citations(citations: list[dict[str, Any]], current: dict[tuple[str, str, str], str]) -> list[str]:
    """One line per cited unit whose version is no longer the indexed one."""
    out: list[str] = []
    for c in citations:
        key = (c.get("source", ""), c.get("language", ""), c.get("unit", ""))
        version = c.get("version", "")
        now = current.get(key)
        if not version or not current:
            continue
        if now is None:
            out.append(f"{key[0]} {c.get('ref', key[2])}: no longer in the current text")
        elif now != version:
            out.append(f"{key[0]} {c.get('ref', key[2])}: quoted from {version}, now {now}")
    return out
