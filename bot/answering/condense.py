"""Follow-up questions made standalone for retrieval ("and the fines?" -> "AI Act: and the fines?")."""

from __future__ import annotations

import logging
import re
import time

from ..config import Settings
from ..prompts import check_prompts
from ..sources import load_manifest
from .llm_client import bound, chat_model, classify, complete
from .llm_prompt import HISTORY_TURNS, history_block

log = logging.getLogger(__name__)

CONDENSE_BUDGET = 10.0

_ELLIPTICAL = re.compile(
    r"^\s*(and|what about|how about|also|or|but|en|maar|of|ook|wat met|hoe zit het met|en wat|en de|en het)\b", re.IGNORECASE
)


def simple_condense(history: list[tuple[str, str]] | None, question: str, settings: Settings) -> str:
    """Without an LLM: carry over the act named in the previous turn ("AI Act: and the fines?")."""
    if not history:
        return question
    try:
        manifest = load_manifest(settings.manifest_path)
    except Exception:  # noqa: BLE001 - a broken manifest is reported elsewhere
        return question
    if manifest.find_in(question):
        return question
    for previous, _ in reversed(history[-HISTORY_TURNS:]):
        ids = manifest.find_in(previous)
        if ids:
            return f"{manifest.get(ids[0]).short}: {question.strip()}"
    previous = history[-1][0].strip()
    if _ELLIPTICAL.match(question) and previous:
        return f"{previous.rstrip('?')} — {question.strip()}"
    return question


def condense_question(history: list[tuple[str, str]] | None, question: str, settings: Settings) -> str:
    """A standalone question for retrieval: LLM rewrite when configured, else :func:`simple_condense`."""
    if not history:
        return question
    if settings.effective_mode() != "llm":
        return simple_condense(history, question, settings)
    start = time.monotonic()
    try:
        prompt = check_prompts(settings)["condense"].render(
            history=history_block(history), question=question.strip(), language="", no_answer="", passages=""
        )
        budget = min(settings.llm_timeout, CONDENSE_BUDGET)
        text = complete(bound(chat_model(settings), budget, max_tokens=120), {"user": prompt})
    except Exception as exc:  # noqa: BLE001 - condensation is best effort
        log.warning("Follow-up condensation failed (%s); using the simple rewrite", classify(exc, settings.llm_timeout))
        return simple_condense(history, question, settings)
    line = next((ln.strip().strip("\"'“”") for ln in text.splitlines() if ln.strip()), "")
    log.debug("Condensed in %.0f ms", (time.monotonic() - start) * 1000)
    if not line or len(line) > 500:
        return simple_condense(history, question, settings)
    return line
