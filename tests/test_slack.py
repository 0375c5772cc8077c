"""The Slack layer end to end: signed requests into the HTTP-mode app, a local Slack Web API server.

The answering side is a test double (``ScriptedAnswerer``) passed to
``build_app`` as the answerer; nothing of Slack's side or of policybot's Slack
code is patched.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.errors import SlackConfigError
from bot.models import Answer, Citation
from bot.slack import build_app, list_feedback
from bot.slack.blocks import MAX_BLOCKS, SECTION_LIMIT, answer_blocks, split_text
from bot.slack.briefings import Briefings
from bot.slack.dedupe import EventDeduper
from bot.slack.tokens import app_token, bot_token, signing_secret
from slack_fixtures import (  # noqa: F401 - slack_api is a fixture
    AI_ACT_URL,
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    SIGNING_SECRET,
    FakeSlackAPI,
    ScriptedAnswerer,
    SlackRequests,
    serve_app,
    sign,
    slack_api,
)

@dataclass
class Harness:
    api: FakeSlackAPI
    slack: SlackRequests
    answerer: ScriptedAnswerer
    settings: Settings
    ctx: Any


def make_settings(tmp_path: Path, api_url: str, **extra: Any) -> Settings:
    return Settings(data_dir=tmp_path / "data", slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET,
                    slack_api_url=api_url, _env_file=None, **extra)  # type: ignore[call-arg]


@pytest.fixture
def harness(tmp_path: Path, slack_api: FakeSlackAPI, request: pytest.FixtureRequest) -> Iterator[Harness]:
    """The HTTP-mode app on 127.0.0.1; parametrize indirectly with {"settings": {...}, "briefings": ...}."""
    param = getattr(request, "param", {})
    answerer = ScriptedAnswerer()
    settings = make_settings(tmp_path, slack_api.url, **param.get("settings", {}))
    briefings = param.get("briefings")
    app, ctx = build_app(settings, answerer=answerer, http=True, briefings=briefings)
    url, server = serve_app(app)
    try:
        yield Harness(slack_api, SlackRequests(url, slack_api.url), answerer, settings, ctx)
    finally:
        server.shutdown()
        server.server_close()


def all_text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


# -- events ------------------------------------------------------------------------------------


def test_mention_is_answered_in_its_thread_with_citation_links(harness: Harness) -> None:
    resp = harness.slack.event(harness.slack.mention("What does the AI Act ban?", ts="1700000001.000100"))
    assert resp.status == 200
    posts = harness.api.wait_for("chat.postMessage")
    assert len(posts) == 1
    post = posts[0].params
    assert post["channel"] == "C0000CHAN" and post["thread_ts"] == "1700000001.000100"
    text = all_text(post["blocks"])
    assert f"<{AI_ACT_URL}|AI Act, Article 5(1)>" in text
    assert "The following AI practices shall be prohibited" in text and "as of AI Act (en) 2024-07-12" in text
    assert {"feedback_up", "feedback_down"} <= {e.get("action_id") for b in post["blocks"] for e in b.get("elements", [])}
    assert harness.answerer.calls[0] == {"question": "What does the AI Act ban?", "history": None}
    assert harness.api.named("reactions.add")[0].params["name"] == "hourglass_flowing_sand"
    assert harness.api.wait_for("reactions.remove")
    assert harness.api.named("chat.postMessage")[0].headers["authorization"] == f"Bearer {BOT_TOKEN}"


def test_ack_comes_before_the_answer(harness: Harness) -> None:
    gate = threading.Event()
    original = harness.answerer.ask

    def slow(question: str, **kw: Any) -> Answer:
        gate.wait(5)
        return original(question, **kw)

    harness.answerer.ask = slow  # type: ignore[method-assign]
    resp = harness.slack.event(harness.slack.mention("slow one"))
    assert resp.status == 200 and resp.seconds < 2
    assert harness.api.named("chat.postMessage") == []
    gate.set()
    assert harness.api.wait_for("chat.postMessage")


def test_direct_message_is_answered_in_the_dm(harness: Harness) -> None:
    harness.slack.event(harness.slack.message("What is NIS2?", channel="D0000DMCH"))
    post = harness.api.wait_for("chat.postMessage")[0].params
    assert post["channel"] == "D0000DMCH" and post.get("thread_ts") is None
    assert harness.answerer.calls[0]["question"] == "What is NIS2?"


def test_followup_in_a_channel_thread_uses_the_earlier_turns(harness: Harness) -> None:
    api, slack = harness.api, harness.slack
    parent = "1700000100.000100"
    api.add_message("C0000CHAN", parent, {"type": "message", "user": "U0000USER", "ts": parent,
                                          "text": f"<@{BOT_USER_ID}> What does the AI Act ban?"})
    slack.event(slack.mention("What does the AI Act ban?", ts=parent))
    api.wait_for("chat.postMessage", 1)
    followup = slack.message("And what are the fines?", channel="C0000CHAN", channel_type="channel",
                             ts="1700000200.000100", thread_ts=parent)
    api.add_message("C0000CHAN", parent, followup)
    slack.event(followup)
    posts = api.wait_for("chat.postMessage", 2)
    assert len(posts) == 2 and posts[1].params["thread_ts"] == parent
    assert api.named("conversations.replies")[0].params["ts"] == parent
    assert harness.answerer.calls[1] == {
        "question": "And what are the fines?",
        "history": [("What does the AI Act ban?", harness.answerer.text)],
    }


def test_reply_in_a_thread_the_bot_never_answered_is_ignored(harness: Harness) -> None:
    harness.slack.event(harness.slack.message("chit-chat", channel="C0000CHAN", channel_type="channel",
                                              ts="1700000300.000200", thread_ts="1700000300.000100"))
    time.sleep(0.5)
    assert harness.answerer.calls == [] and harness.api.named("chat.postMessage") == []


def test_assistant_thread_start_and_message(harness: Harness) -> None:
    api, slack = harness.api, harness.slack
    slack.event({"type": "assistant_thread_started", "event_ts": "1700000400.000100",
                 "assistant_thread": {"user_id": "U0000USER", "context": {}, "channel_id": "D0000DMCH",
                                      "thread_ts": "1700000400.000050"}})
    prompts = api.wait_for("assistant.threads.setSuggestedPrompts")[0].params
    titles = [p["title"] for p in prompts["prompts"]]
    assert "What does the AI Act ban?" in titles and "Brief me on the Chips Act" in titles
    slack.event(slack.message("What does the AI Act ban?", channel="D0000DMCH", ts="1700000400.000300",
                              thread_ts="1700000400.000050"))
    posts = api.wait_for("chat.postMessage", 2)
    assert posts[-1].params["thread_ts"] == "1700000400.000050"
    statuses = [c.params["status"] for c in api.wait_for("assistant.threads.setStatus", 2)]
    assert statuses[0].startswith("is reading") and statuses[-1] == ""


# -- the slash command ------------------------------------------------------------------------


def test_slash_help(harness: Harness) -> None:
    assert harness.slack.command("help").status == 200
    reply = harness.api.wait_for("response_url")[0].params
    assert "/policy brief" in reply["text"] and reply.get("response_type") in (None, "ephemeral")


def test_slash_sources(harness: Harness) -> None:
    harness.slack.command("sources")
    reply = harness.api.wait_for("response_url")[0].params
    assert "`ai-act`" in reply["text"] and "Chips Act" in reply["text"]


def test_slash_question(harness: Harness) -> None:
    resp = harness.slack.command("What does the AI Act ban?")
    assert resp.status == 200 and "Looking that up" in resp.body
    reply = harness.api.wait_for("response_url")[0].params
    assert f"<{AI_ACT_URL}|AI Act, Article 5(1)>" in all_text(reply["blocks"])
    assert harness.answerer.calls[0]["question"] == "What does the AI Act ban?"


@pytest.mark.parametrize("harness", [{"briefings": Briefings()}], indirect=True)
def test_slash_brief_and_timeline_not_available_yet(harness: Harness) -> None:
    harness.slack.command("brief chips act")
    harness.slack.command("timeline")
    harness.slack.command("brief atlantis act")
    texts = sorted(c.params["text"] for c in harness.api.wait_for("response_url", 3))
    assert any(t.startswith("Briefings are not available yet") for t in texts)
    assert any(t.startswith("The timeline is not available yet") for t in texts)
    assert any("Unknown source 'atlantis act'" in t for t in texts)


@pytest.mark.parametrize(
    "harness",
    [{"briefings": Briefings(brief=lambda sid: f"*Briefing on {sid}*", timeline=lambda: "2026-08-02: AI Act applies")}],
    indirect=True,
)
def test_slash_brief_and_timeline_with_injected_functions(harness: Harness) -> None:
    harness.slack.command("brief chips act")
    harness.slack.command("timeline")
    texts = sorted(c.params["text"] for c in harness.api.wait_for("response_url", 2))
    assert texts == ["*Briefing on chips-act*", "2026-08-02: AI Act applies"]


# -- exactly once, bots, verification ----------------------------------------------------------


def test_same_event_three_times_gets_one_answer(harness: Harness) -> None:
    event = harness.slack.mention("What does the AI Act ban?")
    statuses = [harness.slack.event(event, event_id="Ev0DUPLICATE", retry=n).status for n in (None, 1, 2)]
    assert statuses == [200, 200, 200]
    harness.api.wait_for("chat.postMessage", 1)
    time.sleep(0.5)
    assert len(harness.api.named("chat.postMessage")) == 1 and len(harness.answerer.calls) == 1


def test_answered_events_survive_a_restart(tmp_path: Path) -> None:
    first = EventDeduper(tmp_path)
    assert first.claim("Ev1") is True and first.claim("Ev2") is True
    assert first.claim("Ev1") is False  # being answered
    first.done("Ev1")
    later = EventDeduper(tmp_path)  # a new process, same data dir
    assert later.claim("Ev1") is False  # answered before the restart
    assert later.claim("Ev2") is True  # claimed but never answered: answered now


def test_concurrent_duplicates_get_one_answer(harness: Harness) -> None:
    event = harness.slack.mention("race")
    threads = [threading.Thread(target=harness.slack.event, args=(event,), kwargs={"event_id": "Ev0RACE"})
               for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    harness.api.wait_for("chat.postMessage")
    time.sleep(0.3)
    assert len(harness.api.named("chat.postMessage")) == 1


def test_forged_signature_is_refused(harness: Harness) -> None:
    body = json.dumps(harness.slack.envelope(harness.slack.mention("forged")))
    resp = harness.slack.send(body, "application/json", signature=sign(body, int(time.time()), "not-the-secret"))
    assert resp.status == 401
    time.sleep(0.3)
    assert harness.answerer.calls == []


def test_stale_timestamp_is_refused(harness: Harness) -> None:
    resp = harness.slack.event(harness.slack.mention("replayed"), timestamp=int(time.time()) - 6 * 60)
    assert resp.status == 401


def test_bot_messages_are_ignored(harness: Harness) -> None:
    slack = harness.slack
    slack.event(slack.message("my own answer", user=BOT_USER_ID, bot_id=BOT_ID))
    slack.event(slack.message("another bot", user="U0OTHERBOT", bot_id="B0OTHER"))
    slack.event({**slack.message("legacy bot"), "subtype": "bot_message", "user": None})
    time.sleep(0.5)
    assert harness.answerer.calls == [] and harness.api.named("chat.postMessage") == []


def test_healthz(harness: Harness) -> None:
    with urllib.request.urlopen(harness.slack.events_url.replace("/slack/events", "/healthz"), timeout=5) as r:
        assert r.status == 200 and r.read() == b"ok"


# -- Web API behaviour, failures, limits ------------------------------------------------------


def test_ratelimited_web_api_call_is_retried(harness: Harness) -> None:
    harness.api.ratelimit["chat.postMessage"] = 1
    harness.slack.event(harness.slack.mention("What does the AI Act ban?"))
    posts = harness.api.wait_for("chat.postMessage", timeout=10)
    attempts = [c.status for c in harness.api.calls if c.method == "chat.postMessage"]
    assert attempts == [429, 200] and len(posts) == 1


def test_very_long_answer_stays_within_block_limits(harness: Harness) -> None:
    harness.answerer.text = "\n\n".join(f"Paragraph {i}: " + "word " * 400 for i in range(120))
    harness.slack.event(harness.slack.mention("everything please"))
    blocks = harness.api.wait_for("chat.postMessage")[0].params["blocks"]
    assert len(blocks) <= MAX_BLOCKS
    assert all(len(b["text"]["text"]) <= SECTION_LIMIT for b in blocks if b["type"] == "section")
    assert "answer shortened" in all_text(blocks) and blocks[-1]["type"] == "actions"


def test_failed_answer_posts_a_friendly_message(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    harness.answerer.fail = RuntimeError("index exploded")
    with caplog.at_level(logging.ERROR):
        harness.slack.event(harness.slack.mention("What does the AI Act ban?", ts="1700000500.000100"))
        post = harness.api.wait_for("chat.postMessage")[0].params
        harness.api.wait_for("reactions.remove")
    assert post["text"].startswith("I could not answer that just now") and post["thread_ts"] == "1700000500.000100"
    assert "index exploded" in caplog.text and "Traceback" in caplog.text
    assert BOT_TOKEN not in caplog.text and SIGNING_SECRET not in caplog.text


def test_abstained_answer_shows_nearest_sources(harness: Harness) -> None:
    harness.answerer.abstain = True
    harness.slack.event(harness.slack.mention("Who won the 1998 World Cup?"))
    text = all_text(harness.api.wait_for("chat.postMessage")[0].params["blocks"])
    assert "Nearest sources" in text and "do not answer this question" in text


# -- feedback and access ------------------------------------------------------------------------


def test_feedback_click_is_stored_and_acknowledged(harness: Harness) -> None:
    harness.slack.event(harness.slack.mention("What does the AI Act ban?"))
    blocks = harness.api.wait_for("chat.postMessage")[0].params["blocks"]
    value = next(e["value"] for b in blocks for e in b.get("elements", []) if e.get("action_id") == "feedback_down")
    assert harness.slack.block_action("feedback_down", value, user="U0000VOTER").status == 200
    ephemeral = harness.api.wait_for("chat.postEphemeral")[0].params
    assert ephemeral["user"] == "U0000VOTER" and ephemeral["channel"] == "C0000CHAN"
    rows = list_feedback(harness.settings)
    assert len(rows) == 1
    row = rows[0]
    assert (row["vote"], row["user_id"], row["channel_id"]) == ("down", "U0000VOTER", "C0000CHAN")
    assert row["question"] == "What does the AI Act ban?" and row["answer"] == harness.answerer.text
    assert row["citations"][0]["ref"] == "Article 5(1)" and row["created_at"]
    assert sqlite3.connect(harness.settings.data_dir / "feedback.sqlite3").execute(
        "SELECT count(*) FROM feedback").fetchone()[0] == 1


@pytest.mark.parametrize(
    "harness", [{"settings": {"slack_allowed_channels": "C0000OKAY", "slack_allowed_users": "U0000USER,U0000BOSS"}}],
    indirect=True,
)
def test_access_lists(harness: Harness) -> None:
    slack = harness.slack
    slack.event(slack.mention("Q1", channel="C0000ELSE"))
    slack.event(slack.message("Q2", user="U0000EVIL", ts="1700000600.000100"))
    slack.event(slack.mention("Q3", channel="C0000OKAY", ts="1700000700.000100"))
    posts = {c.params["channel"] + c.params.get("text", "")[:20]: c.params for c in harness.api.wait_for("chat.postMessage", 3)}
    texts = [p["text"] for p in posts.values()]
    assert sum(t.startswith("Sorry, I'm not set up to answer in this channel") for t in texts) == 1
    assert sum(t.startswith("Sorry, I can't answer your questions") for t in texts) == 1
    assert [c["question"] for c in harness.answerer.calls] == ["Q3"]


# -- pure parts ------------------------------------------------------------------------------------


def test_split_text_respects_the_limit() -> None:
    pieces = split_text("a" * 7000 + "\n\n" + "b " * 2000)
    assert all(0 < len(p) <= SECTION_LIMIT for p in pieces) and "".join(pieces).replace(" ", "").count("b") == 2000


def test_answer_blocks_are_pure_and_bounded() -> None:
    cites = [Citation(n=i, source="nis2", unit=f"art-{i}", ref=f"Article {i}", url="https://eur-lex.europa.eu/x",
                      quote="q " * 300) for i in range(1, 80)]
    answer = Answer(question="q", text="t " * 40000, citations=cites)
    blocks = answer_blocks(answer, answer_id="abc", names={"nis2": "NIS2"})
    assert len(blocks) <= MAX_BLOCKS
    assert all(len(b["text"]["text"]) <= SECTION_LIMIT for b in blocks if b["type"] == "section")
    assert "<https://eur-lex.europa.eu/x|NIS2, Article 1>" in all_text(blocks)


def test_token_checks_name_the_variable(tmp_path: Path) -> None:
    with pytest.raises(SlackConfigError, match="^SLACK_BOT_TOKEN is not set"):
        bot_token(Settings(data_dir=tmp_path, slack_bot_token=""))
    with pytest.raises(SlackConfigError, match="^SLACK_BOT_TOKEN is malformed: it must start with 'xoxb-'") as err:
        bot_token(Settings(data_dir=tmp_path, slack_bot_token="xapp-secret-value"))
    assert "secret-value" not in str(err.value)
    with pytest.raises(SlackConfigError, match="^SLACK_APP_TOKEN is malformed"):
        app_token(Settings(data_dir=tmp_path, slack_app_token="xoxb-1"))
    with pytest.raises(SlackConfigError, match="^SLACK_SIGNING_SECRET is not set"):
        signing_secret(Settings(data_dir=tmp_path, slack_signing_secret=""))
    assert app_token(Settings(data_dir=tmp_path, slack_app_token="xapp-1-A1-2-abc")) == "xapp-1-A1-2-abc"


def test_run_slack_refuses_bad_tokens_before_starting(tmp_path: Path) -> None:
    from bot.slack.app import run_slack

    settings = Settings(data_dir=tmp_path, slack_bot_token=BOT_TOKEN, slack_app_token="")
    with pytest.raises(SlackConfigError, match="SLACK_APP_TOKEN"):
        run_slack(settings, http=False, host="127.0.0.1", port=0)
    with pytest.raises(SlackConfigError, match="SLACK_SIGNING_SECRET"):
        run_slack(Settings(data_dir=tmp_path, slack_bot_token=BOT_TOKEN, slack_signing_secret=""), http=True,
                  host="127.0.0.1", port=0)


# -- end to end with the real Assistant ---------------------------------------------------------


def _mention_answered_by(answerer: Any, tmp_path: Path, slack_api: FakeSlackAPI, question: str, ts: str) -> dict[str, Any]:
    """Serve the HTTP app with ``answerer``, mention it once, and return the message it posts."""
    settings = make_settings(tmp_path, slack_api.url)
    app, _ = build_app(settings, answerer=answerer, http=True)
    url, server = serve_app(app)
    try:
        slack = SlackRequests(url, slack_api.url)
        resp = slack.event(slack.mention(question, ts=ts))
        assert resp.status == 200 and resp.seconds < 3
        posts = slack_api.wait_for("chat.postMessage", timeout=180)
    finally:
        server.shutdown()
        server.server_close()
    return posts[0].params


def test_mention_answered_by_the_real_assistant(tmp_path: Path, slack_api: FakeSlackAPI, small_assistant: Any) -> None:
    """The real Assistant on a small indexed corpus (conftest's small_assistant) behind the Slack layer."""
    post = _mention_answered_by(small_assistant, tmp_path, slack_api, "What is the aim of the Chips Act?", "1700000900.000100")
    assert post["thread_ts"] == "1700000900.000100"
    assert not post["text"].startswith("I could not answer"), post["text"]
    text = all_text(post["blocks"])
    assert "Chips Act, " in text and "<https://" in text  # a numbered source linking to the official text
    assert len(post["blocks"]) <= MAX_BLOCKS


def test_a_briefing_request_in_slack_gets_the_briefing(tmp_path: Path, slack_api: FakeSlackAPI, small_settings: Any) -> None:
    """The front desk behind the Slack layer: a mention asking for a briefing is answered with the text's briefing,
    every line cited, within Slack's block limits."""
    from bot.desk import Desk

    post = _mention_answered_by(Desk(small_settings), tmp_path, slack_api, "Give me a quick briefing on the Chips Act",
                                "1700000950.000100")
    assert post["text"].startswith("Briefing on Chips Act (Regulation (EU) 2023/1781"), post["text"][:200]
    text = all_text(post["blocks"])
    assert "[1]" in text and "Chips Act, Article" in text
    assert len(post["blocks"]) <= MAX_BLOCKS and all(len(json.dumps(b)) < 3500 for b in post["blocks"])
