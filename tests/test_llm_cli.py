"""LLM answers through the CLI: ``policybot ask/chat --mode llm`` as a subprocess, the small real index,
and the local OpenAI-compatible server scripted to misbehave. Nothing unverified may reach the screen."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from openai_server import OpenAIServer, Reply, Request, openai_server  # noqa: F401 - fixture

from tests.conftest import ROOT

QUESTION = "How is a semiconductor crisis declared under the Chips Act?"


def first_passage(req: Request) -> str:
    m = re.search(r'<passage key="S1"[^>]*>(.*?)</passage>', req.message("user"), re.S)
    assert m, "the passages are sent inside <passage> elements"
    return html.unescape(m.group(1))


def replying(answer: str, quote: Callable[[str], str] | None = None, **kw: object) -> Callable[[Request], Reply]:
    """A scripted model: ``answer``, citing S1 with ``quote(passage S1)`` (default: eleven of its words verbatim)."""

    def reply(req: Request) -> Reply:
        passage = first_passage(req)
        q = quote(passage) if quote else " ".join(passage.split()[1:12])
        return Reply.json({"citations": [{"key": "S1", "quote": q}], "answer": answer}, **kw)  # type: ignore[arg-type]

    return reply


def policybot(server: OpenAIServer, data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "POLICYBOT_DATA_DIR": str(data_dir),
        "POLICYBOT_LLM_BASE_URL": server.base_url,
        "POLICYBOT_LLM_API_KEY": "sk-test",
        "POLICYBOT_LLM_MODEL": "test-model",
        "POLICYBOT_LLM_TIMEOUT": "120",  # generous: a loaded machine must not turn these into timeouts
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=300
    )


def test_ask_streams_only_checked_sentences(openai_server: OpenAIServer, small_data_dir: Path) -> None:
    """Fault 6: an invented citation was on screen before the check replaced it."""
    answer = "The fine is EUR 99 billion [ZZ-404]. The Chips Act sets this out [S1]. It costs EUR 5 billion [S7]."
    openai_server.script(replying(answer, chunk_size=4))
    proc = policybot(openai_server, small_data_dir, "ask", QUESTION, "--mode", "llm")
    assert proc.returncode == 0, proc.stderr
    shown = proc.stdout + proc.stderr
    assert "99 billion" not in shown and "5 billion" not in shown and "ZZ-404" not in shown
    assert proc.stderr.strip() == "The Chips Act sets this out [1]."  # the stream: checked text only
    assert "The Chips Act sets this out [1]." in proc.stdout and "mode: llm" in proc.stdout
    assert openai_server.chat_requests[0].body["stream"] is True


def test_ask_with_only_invented_citations_shows_nothing_of_them(openai_server: OpenAIServer, small_data_dir: Path) -> None:
    openai_server.script(replying("The fine is EUR 99 billion [S9]. Every chip is banned [ZZ-404].", chunk_size=4))
    proc = policybot(openai_server, small_data_dir, "ask", QUESTION, "--mode", "llm")
    assert proc.returncode == 0, proc.stderr
    assert "99 billion" not in proc.stdout + proc.stderr and "banned" not in proc.stdout + proc.stderr
    assert "notice The language model's reply could not be used (no verifiable citation)" in proc.stderr
    assert "mode: extractive" in proc.stdout


@pytest.mark.parametrize("quote", ["", "   ", "\n"], ids=["empty", "spaces", "newline"])
def test_ask_refuses_a_citation_with_a_blank_quote(openai_server: OpenAIServer, small_data_dir: Path, quote: str) -> None:
    """Fault 7: "Capital of France?" was answered "this is covered [1]" on the strength of an empty quote.

    (An in-domain question here, so that the answerability gate lets it through to the model.)
    """
    openai_server.script(replying("This is covered [S1].", quote=lambda _: quote))
    proc = policybot(openai_server, small_data_dir, "ask", QUESTION, "--mode", "llm", "--json")
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert "This is covered" not in answer["text"] and answer["mode"] == "extractive"
    assert answer["notice"] == "The language model's reply could not be used (no verifiable citation); showing the extractive answer."


def test_chat_refuses_a_citation_with_a_blank_quote(openai_server: OpenAIServer, small_data_dir: Path) -> None:
    """The same rule on the path that does not stream (chat, like Slack)."""
    openai_server.script(replying("This is covered [S1].", quote=lambda _: " "))
    proc = policybot(openai_server, small_data_dir, "chat", "--mode", "llm", stdin=QUESTION + "\n")
    assert proc.returncode == 0, proc.stderr
    assert "This is covered" not in proc.stdout and "no verifiable citation" in proc.stderr
    assert "stream" not in openai_server.chat_requests[0].body or openai_server.chat_requests[0].body["stream"] is False


def test_ask_accepts_a_stream_without_role(openai_server: OpenAIServer, small_data_dir: Path) -> None:
    """Fault 7: vLLM and Ollama omit "role" in the first delta; the stream failed with a ValidationError."""
    openai_server.script(replying("The Chips Act sets this out [S1].", role=False))
    proc = policybot(openai_server, small_data_dir, "ask", QUESTION, "--mode", "llm", "--json")
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["mode"] == "llm" and answer["notice"] is None and answer["text"] == "The Chips Act sets this out [1]."
    (req,) = openai_server.chat_requests
    assert req.body["stream"] is True and req.body["response_format"]["type"] == "json_schema"
