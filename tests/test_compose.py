"""The bottom line: first, in the question's language, and never beyond its own citations."""

from __future__ import annotations

import re

import pytest

from bot.answering.compose import DATE_SPAN, PERIOD_SPAN, Point, bottom_line
from bot.models import Block, Citation, Unit
from bot.text import close_digit_groups

#: Figures a bottom line may state: amounts, dates, periods, percentages.
FIGURES = re.compile(r"\d[\d  .,]*\d(?:\s?%)?|\d")


def _point(n: int, text: str, *, title: str = "", kind: str = "article", ref: str = "Article 1(1)") -> Point:
    unit = Unit(source="x", language="en", unit="art-1", kind=kind, number="1", title=title, ref="Article 1",
                blocks=[Block(path="1", ref=ref, text=text)])
    citation = Citation(n=n, source="x", unit="art-1", ref=ref, quote=text)
    return Point(unit, unit.blocks[0], text, citation, f"X, {ref}", f"[{n}]")


def _figures_cited(line: str, citations: dict[int, tuple[str, str]]) -> None:
    """Every figure the line states occurs in the passage its marker cites (the reference
    'Article 99(3)' is the label, not a figure)."""
    marker = re.search(r"\[(\d+)\]", line)
    assert marker, line
    ref, quote = citations[int(marker.group(1))]
    quote = close_digit_groups(quote)
    for figure in FIGURES.findall(line[: marker.start()].replace(ref, "")):
        assert close_digit_groups(figure.strip()) in quote, (figure, line)


def test_an_amount_question_gets_the_amount_span_of_the_cited_passage() -> None:
    text = "3. Non-compliance shall be subject to administrative fines of up to EUR 35000000 or, if the offender is an undertaking, up to 7 % of its total worldwide annual turnover, whichever is higher."
    line = bottom_line("What fine could we get?", "en", [_point(1, text)], {"amount"})
    assert line.startswith("Up to EUR 35000000")
    assert "whichever is higher" in line
    _figures_cited(line, {1: ("Article 1(1)", text)})


def test_the_amount_comes_from_the_first_passages_act_only() -> None:
    duty = _point(1, "1. Deployers of high-risk AI systems shall take appropriate technical measures.")
    other = _point(2, "3. Fines shall not exceed EUR 300 000.")
    other.unit = other.unit.model_copy(update={"source": "chips-act"})
    line = bottom_line("If we breach our deployer obligations, what fine do we face?", "en", [duty, other], {"amount"})
    assert "300 000" not in line and line.startswith("X, Article 1(1)"), line


def test_a_period_question_gets_the_period_and_a_dutch_question_dutch_words() -> None:
    text = "Zij bewaren de logs gedurende een periode van ten minste zes maanden."
    line = bottom_line("Hoe lang moeten wij de logs bewaren?", "nl", [_point(1, text)], {"period"})
    assert "zes maanden" in line and line.endswith("[1].")


def test_a_fact_is_taken_only_from_a_passage_that_answers_well() -> None:
    weak = _point(2, "By 17 October 2024, the Commission shall adopt implementing acts.")
    weak.score = 0.3
    strong = _point(1, "Entities shall submit an early warning within 24 hours of becoming aware of the incident.")
    line = bottom_line("By when must we report?", "en", [strong, weak], {"date", "period"})
    assert "2024" not in line
    assert line.startswith("Within 24 hours")


def test_a_permission_question_answered_by_a_prohibition_says_no() -> None:
    point = _point(1, "(c) the use of AI systems for social scoring ...", title="Prohibited AI practices", ref="Article 5(1)(c)")
    assert bottom_line("Could we score customers on their social behaviour?", "en", [point], set()).startswith(
        "No: X, Article 5(1)(c) lists this among the prohibited AI practices [1]"
    )


def test_a_listed_use_with_the_question_in_its_exception_says_no() -> None:
    text = "(b) AI systems intended to be used to evaluate creditworthiness, with the exception of AI systems used for the purpose of detecting financial fraud;"
    point = _point(1, text, title="High-risk AI systems referred to in Article 6(2)", kind="annex", ref="Annex III, point 5(b)")
    line = bottom_line("Is our fraud detection model high-risk?", "en", [point], set(), {"fraud", "detection"})
    assert line.startswith("No: X, Annex III, point 5(b) makes an exception for it")
    assert "detecting financial fraud" in line


def test_a_listed_use_asked_about_first_is_a_yes_with_the_exception_after() -> None:
    text = "(b) AI systems intended to be used to evaluate creditworthiness, with the exception of AI systems used for the purpose of detecting financial fraud;"
    point = _point(1, text, title="High-risk AI systems referred to in Article 6(2)", kind="annex", ref="Annex III, point 5(b)")
    question = "Is our credit-scoring model high-risk? And what about our fraud detection?"
    line = bottom_line(question, "en", [point], set(), {"credit", "scoring", "model", "high", "risk", "what", "about", "fraud", "detection"})
    assert line.startswith("Yes, where it falls under X, Annex III, point 5(b)"), line
    assert line.endswith("it makes an exception: “with the exception of AI systems used for the purpose of detecting financial fraud” [1].")


@pytest.mark.parametrize(("question", "listed"), [
    ("Is our credit-scoring model high-risk?", True),
    ("Does using AI to price life insurance make it a high‑risk system?", True),  # a non-breaking hyphen
    ("Valt een kredietmodel onder 'hoog risico'?", True),
    ("Can a provider consider an Annex III AI system as not high‑risk?", False),  # the exemption, not the listing
    ("Is an Annex III system subject to registration?", False),  # not a question about the category
])
def test_only_a_question_about_the_category_gets_the_listing_as_its_yes(question: str, listed: bool) -> None:
    text = "(b) AI systems intended to be used to evaluate creditworthiness;"
    point = _point(1, text, title="High-risk AI systems referred to in Article 6(2)", kind="annex", ref="Annex III, point 5(b)")
    line = bottom_line(question, "nl" if question.startswith("Valt") else "en", [point], set(), set())
    assert line.startswith(("Yes", "Ja")) is listed, line


def test_a_listed_use_is_not_excepted_by_a_word_inside_the_exception() -> None:
    """'onder' (under) is part of 'uitzondering' (exception): the question's words match whole words only."""
    text = ("b) AI-systemen die bedoeld zijn om te worden gebruikt voor het beoordelen van de kredietwaardigheid van "
            "natuurlijke personen, met uitzondering van AI-systemen die gebruikt worden om financiële fraude op te sporen;")
    point = _point(1, text, title="In artikel 6, lid 2, bedoelde AI-systemen met een hoog risico", kind="annex",
                   ref="Bijlage III, punt 5, onder b")
    line = bottom_line("Valt een AI-model voor kredietwaardigheid onder 'hoog risico'?", "nl", [point], set(),
                       {"valt", "model", "voor", "kredietwaardigheid", "onder", "hoog", "risico"})
    assert not line.startswith("Nee"), line
    assert "Bijlage III, punt 5, onder b" in line


def test_an_amount_span_keeps_its_currency_word_whole() -> None:
    text = "Volgens het Draghi-rapport is jaarlijks 800 miljard euro aan publiek-private uitgaven nodig."
    line = bottom_line("Hoeveel investeringen zijn jaarlijks nodig?", "nl", [_point(1, text)], {"amount"})
    assert line.startswith("800 miljard euro "), line


def test_an_obligation_names_its_addressee_from_the_text() -> None:
    # The addressee is lower-cased where the text itself writes it so ("... of deployers of ..."),
    # and kept as written otherwise ("Member States").
    point = _point(1, "1. Deployers of high-risk AI systems shall take appropriate technical measures. "
                      "This applies to deployers of high-risk AI systems.")
    assert bottom_line("What must we do as a bank?", "en", [point], set()) == (
        "X, Article 1(1) sets out what deployers of high-risk AI systems must do [1]."
    )
    states = _point(1, "1. Member States shall lay down the rules on penalties.")
    assert "what Member States must do" in bottom_line("What about penalties?", "en", [states], set())
    # Lower-cased too where the text writes the word so in another form ("the provider shall").
    providers = _point(1, "1. Providers of high-risk AI systems shall put a quality management system in place. "
                          "The provider shall document it.")
    assert "what providers of high-risk AI systems must do" in bottom_line("What must we do?", "en", [providers], set())


@pytest.mark.parametrize("pattern, text", [(DATE_SPAN, "from 2 August 2026"), (PERIOD_SPAN, "within six months of receipt")])
def test_spans_are_verbatim(pattern: re.Pattern[str], text: str) -> None:
    m = pattern.search(f"It applies {text}.")
    assert m and m.group(0) in f"It applies {text}."


@pytest.mark.parametrize(
    "question",
    [
        "How long can the crisis stage last under the Chips Act?",
        "What fines can the Commission impose under the Chips Act?",
        "By when does the Commission have to decide on an application for open EU foundry status?",
        "Hoeveel procent van de wereldwijde chipproductie vindt volgens het ABN AMRO-artikel in Europa plaats?",
    ],
)
def test_the_bottom_line_never_states_a_figure_its_citation_does_not_hold(small_assistant, question: str) -> None:  # type: ignore[no-untyped-def]
    answer = small_assistant.ask(question)
    assert not answer.abstained
    first = answer.text.splitlines()[0]
    assert not first.startswith("•"), "the bottom line comes first"
    _figures_cited(first, {c.n: (c.ref, c.quote) for c in answer.citations})
    # Each passage is quoted once.
    quotes = [c.quote for c in answer.citations]
    assert len(quotes) == len(set(quotes))


def test_slack_shows_each_quote_once(small_assistant) -> None:  # type: ignore[no-untyped-def]
    """The answer's text quotes each passage; the sources list then links it without quoting it again."""
    from bot.slack.blocks import answer_blocks

    answer = small_assistant.ask("How long can the crisis stage last under the Chips Act?")
    rendered = str(answer_blocks(answer))
    for c in answer.citations:
        snippet = " ".join(c.quote.split())[:60]
        assert rendered.count(snippet) == 1, snippet


def test_the_cli_shows_each_quote_once_and_no_empty_link_lines(small_data_dir) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {**os.environ, "POLICYBOT_DATA_DIR": str(small_data_dir), "COLUMNS": "80"}
    run = subprocess.run([sys.executable, "-m", "bot.cli", "ask", "How long can the crisis stage last under the Chips Act?"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stderr
    flat = " ".join(run.stdout.split())
    assert flat.count("shall not exceed 12 months") == 1, run.stdout
    lines = run.stdout.splitlines()
    assert all(line.strip() for line in lines[lines.index("Sources"):-1]), run.stdout
    urls = [line.strip() for line in lines if "eur-lex.europa.eu" in line]
    assert urls and all(u.startswith("https://") and " " not in u for u in urls), run.stdout


@pytest.mark.parametrize(("question", "expected"), [
    ("From when does the Data Act apply?", "From 12 September 2025"),
    ("Vanaf wanneer is de Data Act van toepassing?", "From 12 September 2025"),
    ("What date matters for the Data Act?", "Before 11 January 2024"),  # no preposition asked: the best passage's date
])
def test_a_date_is_the_kind_the_question_asks_for(question: str, expected: str) -> None:
    other = _point(1, "1. Obligations in Union legal acts that entered into force on or before 11 January 2024 shall remain unaffected.")
    applies = _point(2, "It shall apply from 12 September 2025.", ref="Article 50")
    applies.score = 0.55  # a final provision shares few words with the question
    line = bottom_line(question, "en", [other, applies], {"date"})
    assert line.startswith(expected), line
    _figures_cited(line, {1: ("Article 1(1)", other.quote), 2: ("Article 50", applies.quote)})


def test_a_span_starts_at_a_word() -> None:
    text = "Met de European Chips Act wil Europa het eigen marktaandeel in chipproductie verdubbelen tot 20 procent in 2030."
    line = bottom_line("Welk percentage wil Europa bereiken?", "nl", [_point(1, text)], {"rate"})
    assert not line.startswith("Opa") and line.split()[0].lower() in text.lower().split(), line
    _figures_cited(line, {1: ("Article 1(1)", text)})
