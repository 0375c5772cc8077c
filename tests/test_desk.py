"""The front desk: a request for a briefing on one indexed text gets that text's briefing (bot/desk.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.desk import BRIEFING, Desk, focus

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def desk(small_settings):  # type: ignore[no-untyped-def]
    return Desk(small_settings)


@pytest.mark.parametrize(("question", "asks"), [
    ("Quick briefing for our board on NIS2: who is covered and the fines.", True),
    ("Give me an overview of the Chips Act", True),
    ("Kun je het ABN AMRO-artikel samenvatten?", True),
    ("Geef me een korte briefing over het ABN AMRO-artikel.", True),
    ("Vat het artikel kort samen.", True),
    ("Who chairs the European Semiconductor Board?", False),
    ("How brief may the crisis stage be?", False),
])
def test_requests_for_a_briefing_are_recognised(question: str, asks: bool) -> None:
    assert bool(BRIEFING.search(question)) is asks


def test_a_briefing_narrows_to_what_follows_its_colon() -> None:
    assert focus("Quick briefing on NIS2: who is covered, and the fines?") == "who is covered, and the fines"
    assert focus("Give me a quick briefing on NIS2.") is None
    assert focus("Briefing on NIS2: fines") is None  # too short to be a focus: the whole text is briefed


def test_a_briefing_request_gets_the_briefing_with_every_line_cited(desk) -> None:  # type: ignore[no-untyped-def]
    answer = desk.ask("Give me an overview of the Chips Act", mode="extractive")
    assert answer.mode == "briefing" and not answer.abstained
    assert answer.text.splitlines()[0].startswith("Briefing on Chips Act (Regulation (EU) 2023/1781")
    assert answer.citations and {c.source for c in answer.citations} == {"chips-act"}
    text = {(c.source, c.language, c.unit): desk.retriever.unit(c.source, c.language, c.unit).text for c in answer.citations}
    for c in answer.citations:
        assert f"[{c.n}]" in answer.text
        assert f"Chips Act, {c.ref}" in answer.text  # each line names the provision it quotes
        assert c.quote.replace(" ", "").replace("…", "")[:40] in text[(c.source, c.language, c.unit)].replace(" ", "")


def test_a_focused_briefing_quotes_what_it_is_asked_about(desk) -> None:  # type: ignore[no-untyped-def]
    answer = desk.ask("Quick briefing for our board on the Chips Act: what the Commission can do in a crisis and priority-rated orders",
                      mode="extractive")
    assert answer.mode == "briefing"
    assert "art-26" in {c.unit for c in answer.citations}  # Priority-rated orders


def test_a_dutch_briefing_request_is_led_in_dutch(desk) -> None:  # type: ignore[no-untyped-def]
    answer = desk.ask("Geef me een korte briefing over het ABN AMRO-artikel.", mode="extractive")
    assert answer.mode == "briefing" and answer.language == "nl"
    assert answer.text.startswith("Briefing over ABN AMRO")
    assert {c.source for c in answer.citations} == {"sovereignty-article"}


def test_summarising_a_unit_is_not_a_briefing_and_a_missing_unit_is_said_to_be_missing(desk) -> None:  # type: ignore[no-untyped-def]
    answer = desk.ask("Summarise Article 52 of the Chips Act.", mode="extractive")
    assert answer.mode != "briefing" and answer.abstained
    assert "Article 52" in answer.text


def test_the_cli_answers_a_briefing_request_with_the_briefing(small_data_dir: Path) -> None:
    env = {**os.environ, "POLICYBOT_DATA_DIR": str(small_data_dir)}
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "ask", "Give me a quick briefing on the Chips Act", "--json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["mode"] == "briefing" and data["citations"]


@pytest.mark.parametrize(("question", "asks"), [
    ("What did the Omnibus change in the AI Act?", True),
    ("Wat heeft de Digitale Omnibus gewijzigd in de AI-verordening?", True),
    ("Welke wijzigingen brengt Verordening (EU) 2026/1744?", True),
    ("What's new in the Digital Omnibus?", True),
    ("Has the 2026 Digital Omnibus changed when the high-risk rules start to bite?", False),  # a yes/no on one subject
    ("What does Article 4a say?", False),
])
def test_questions_about_what_a_text_changed_are_recognised(question: str, asks: bool) -> None:
    from bot.desk import CHANGES

    assert bool(CHANGES.search(question)) is asks
