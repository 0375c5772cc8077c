"""What counts as the fact a question asks for: an amount is not a paragraph number or a reference."""

from __future__ import annotations

import pytest

from bot.answering.intent import NUMBER, wants


@pytest.mark.parametrize("text", [
    "1. The European Data Protection Supervisor may impose administrative fines",  # the paragraph's own number
    "as referred to in Article 23(4) and paragraph 2",
    "Regulation (EU) 2024/1689 applies",
    "in accordance with lid 3 van artikel 5",
    "in 2023",
])
def test_references_and_paragraph_numbers_are_not_amounts(text: str) -> None:
    assert NUMBER.search(text) is None


@pytest.mark.parametrize("text", ["up to EUR 1500000", "EUR 750 000", "2 procent", "within 72 hours", "4,1 %"])
def test_amounts_are_amounts(text: str) -> None:
    assert NUMBER.search(text) is not None


def test_a_how_much_question_wants_an_amount() -> None:
    assert NUMBER in wants("Can EU institutions be fined under the AI Act, and how much?")


@pytest.mark.parametrize("question", [
    "Incident reporting clocks: how do the NIS2 deadlines compare with the AI Act's?",
    "What is the deadline for the early warning under NIS2?",
    "Welke termijnen gelden voor de melding?",
])
def test_a_deadline_question_wants_a_period(question: str) -> None:
    from bot.answering.intent import PERIOD

    assert PERIOD in wants(question)  # a legal deadline is mostly a period from an event: "within 24 hours of …"
