"""LLM answers in Slack: signed requests into the running HTTP-mode app, the real Assistant on the small
index, the local Slack Web API and the local OpenAI-compatible server (scripted to misbehave)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai_server import OpenAIServer, Reply, Request, openai_server  # noqa: F401 - fixture

from bot.assistant import Assistant
from bot.config import Settings
from bot.slack import build_app
from slack_fixtures import BOT_TOKEN, SIGNING_SECRET, FakeSlackAPI, SlackRequests, serve_app, slack_api  # noqa: F401
from tests.conftest import make_settings

QUESTION = "How is a semiconductor crisis declared under the Chips Act?"


@pytest.fixture
def slack(tmp_path: Path, slack_api: FakeSlackAPI, openai_server: OpenAIServer, small_data_dir: Path) -> Iterator[SlackRequests]:
    """The app's own state under tmp_path; its answerer reads the shared small index and asks the local model."""
    assistant = Assistant(make_settings(small_data_dir, llm_base_url=openai_server.base_url, llm_api_key="sk-test",
                                        llm_model="test-model", llm_timeout=120.0))
    settings = Settings(data_dir=tmp_path / "data", slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET,
                        slack_api_url=slack_api.url, _env_file=None)  # type: ignore[call-arg]
    app, _ = build_app(settings, answerer=assistant, http=True)
    url, server = serve_app(app)
    try:
        yield SlackRequests(url, slack_api.url)
    finally:
        server.shutdown()
        server.server_close()


def blank_quote(req: Request) -> Reply:
    assert re.search(r'<passage key="S1"', req.message("user"))
    return Reply.json({"citations": [{"key": "S1", "quote": "  "}], "answer": "This is covered [S1]."})


def quoting_s1(req: Request) -> Reply:
    m = re.search(r'<passage key="S1"[^>]*>(.*?)</passage>', req.message("user"), re.S)
    assert m
    quote = " ".join(html.unescape(m.group(1)).split()[1:12])
    return Reply.json({"citations": [{"key": "S1", "quote": quote}], "answer": "The Chips Act sets this out [S1]."})


def test_slack_refuses_a_citation_with_a_blank_quote(slack: SlackRequests, slack_api: FakeSlackAPI, openai_server: OpenAIServer) -> None:
    """Fault 7: "Capital of France?" was answered "this is covered [1]" on the strength of an empty quote.

    (An in-domain question here, so that the answerability gate lets it through to the model.)
    """
    openai_server.script(blank_quote)
    assert slack.event(slack.mention(QUESTION)).status == 200
    (post,) = slack_api.wait_for("chat.postMessage", timeout=120)
    shown = post.params["text"] + json.dumps(post.params.get("blocks"), ensure_ascii=False)
    assert "This is covered" not in shown
    assert "could not be used (no verifiable citation)" in shown
    assert len(openai_server.chat_requests) == 1


def test_slack_answer_with_a_verbatim_quote(slack: SlackRequests, slack_api: FakeSlackAPI, openai_server: OpenAIServer) -> None:
    openai_server.script(quoting_s1)
    assert slack.event(slack.mention(QUESTION)).status == 200
    (post,) = slack_api.wait_for("chat.postMessage", timeout=120)
    shown = json.dumps(post.params.get("blocks"), ensure_ascii=False)
    assert "The Chips Act sets this out [1]" in shown and "no verifiable citation" not in shown
