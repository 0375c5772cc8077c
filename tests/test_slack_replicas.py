"""Two replicas of the Slack app sharing one PostgreSQL database (POLICYBOT_DATABASE_URL).

Each replica is the real HTTP-mode app with its own data dir and its own engine
(the URL differs in ``application_name``), both talking to one local Slack Web
API. Slack's deliveries of one event land on different replicas, as behind a
load balancer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.slack import build_app, list_feedback
from slack_fixtures import (  # noqa: F401 - slack_api is a fixture
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlackAPI,
    ScriptedAnswerer,
    SlackRequests,
    serve_app,
    slack_api,
)


@dataclass
class Replica:
    slack: SlackRequests
    answerer: ScriptedAnswerer
    settings: Settings


@pytest.fixture
def replicas(tmp_path: Path, slack_api: FakeSlackAPI, pg_url: str) -> Iterator[list[Replica]]:
    servers: list[Any] = []
    out: list[Replica] = []
    for name in ("a", "b"):
        settings = Settings(data_dir=tmp_path / name, slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET,
                            slack_api_url=slack_api.url, database_url=f"{pg_url}?application_name=replica-{name}",
                            _env_file=None)  # type: ignore[call-arg]
        answerer = ScriptedAnswerer()
        app, _ = build_app(settings, answerer=answerer, http=True)
        url, server = serve_app(app)
        servers.append(server)
        out.append(Replica(SlackRequests(url, slack_api.url), answerer, settings))
    try:
        yield out
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def test_an_event_delivered_three_times_to_two_replicas_gets_one_answer(replicas: list[Replica],
                                                                         slack_api: FakeSlackAPI) -> None:
    a, b = replicas
    event = a.slack.mention("What does the AI Act ban?")
    statuses = [r.slack.event(event, event_id="Ev0REPLICAS", retry=n).status for r, n in ((a, None), (b, 1), (a, 2))]
    assert statuses == [200, 200, 200]
    slack_api.wait_for("chat.postMessage", 1)
    time.sleep(0.5)  # a second answer, if there were one, would be on its way by now
    assert len(slack_api.named("chat.postMessage")) == 1
    assert len(a.answerer.calls) + len(b.answerer.calls) == 1
    assert not (a.settings.data_dir / "slack_state.sqlite3").exists()  # the shared database, not the data dir


def test_a_vote_on_one_replica_for_an_answer_posted_by_the_other(replicas: list[Replica], slack_api: FakeSlackAPI) -> None:
    a, b = replicas
    a.slack.event(a.slack.mention("What does the AI Act ban?"))
    blocks = slack_api.wait_for("chat.postMessage")[0].params["blocks"]
    value = next(e["value"] for blk in blocks for e in blk.get("elements", []) if e.get("action_id") == "feedback_up")
    assert b.slack.block_action("feedback_up", value, user="U0000VOTER").status == 200
    assert slack_api.wait_for("chat.postEphemeral")[0].params["text"].startswith("Thanks for the feedback")
    rows = list_feedback(b.settings)
    assert [(r["answer_id"], r["vote"], r["user_id"]) for r in rows] == [(value, "up", "U0000VOTER")]


def test_a_follow_up_reaching_the_other_replica_is_answered(replicas: list[Replica], slack_api: FakeSlackAPI) -> None:
    a, b = replicas
    parent = "1700000100.000100"
    a.slack.event(a.slack.mention("What does the AI Act ban?", ts=parent))
    slack_api.wait_for("chat.postMessage", 1)
    followup = b.slack.message("And the fines?", channel="C0000CHAN", channel_type="channel", ts="1700000200.000100",
                               thread_ts=parent)
    b.slack.event(followup)
    posts = slack_api.wait_for("chat.postMessage", 2)
    assert len(posts) == 2 and posts[1].params["thread_ts"] == parent
    assert b.answerer.calls[0]["question"] == "And the fines?"
