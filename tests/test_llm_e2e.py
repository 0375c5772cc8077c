"""LLM mode end to end: the real Assistant on the small index, a local OpenAI-compatible server."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from openai_server import OpenAIServer, Reply, Request, openai_server  # noqa: F401 - fixture

from bot.assistant import Assistant
from bot.citations import verify_quote
from tests.conftest import ROOT, make_settings


def quoting_first_passage(req: Request) -> Reply:
    """A model that answers from passage S1, quoting its first words (as a well-behaved model would)."""
    user = req.message("user")
    m = re.search(r'<passage key="S1"[^>]*>(.*?)</passage>', user, re.S)
    assert m, "the passages are sent inside <passage> elements"
    words = html.unescape(m.group(1)).split()
    quote = " ".join(words[1:12])
    return Reply.json({"answer": "The Chips Act sets this out [S1].", "citations": [{"key": "S1", "quote": quote}]})


def test_llm_mode_answers_with_checked_citations(openai_server: OpenAIServer, small_data_dir: Path) -> None:
    settings = make_settings(small_data_dir, llm_base_url=openai_server.base_url, llm_api_key="sk-test", llm_model="test-model")
    assistant = Assistant(settings)
    openai_server.script(quoting_first_passage)
    answer = assistant.ask("How is a semiconductor crisis declared under the Chips Act?")
    assert answer.mode == "llm" and answer.notice is None
    (c,) = answer.citations
    unit = assistant.retriever.unit(c.source, c.language, c.unit)
    assert c.source == "chips-act" and unit is not None and verify_quote(c.quote, unit.text)
    assert answer.text.endswith("[1].")
    (req,) = openai_server.chat_requests
    assert req.body["model"] == "test-model"

    # A model that invents its citation key: the user gets the extractive answer and a notice.
    openai_server.script(Reply.json({"answer": "Made up [S9].", "citations": [{"key": "S9", "quote": "nothing"}]}))
    fallback = assistant.ask("How is a semiconductor crisis declared under the Chips Act?")
    assert fallback.mode == "extractive" and fallback.notice and fallback.citations
    assert "Made up" not in fallback.text


def test_eval_mode_llm_reports_the_same_metrics(openai_server: OpenAIServer, small_data_dir: Path, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        "\n".join(
            json.dumps(q)
            for q in [
                {"id": "t-1", "question": "How does a semiconductor crisis get declared under the Chips Act?", "lang": "en",
                 "answerable": True, "refs": ["chips-act:art-23"], "evidence": ["crisis stage"], "must_include": []},
                {"id": "t-2", "question": "Who chairs the European Semiconductor Board?", "lang": "en",
                 "answerable": True, "refs": ["chips-act:art-29"], "evidence": [], "must_include": ["Commission"]},
            ]
        ),
        encoding="utf-8",
    )
    openai_server.default = quoting_first_passage(
        Request("POST", "/v1/chat/completions", {}, {"messages": [{"role": "user", "content": '<passage key="S1">x Commission chairs it</passage>'}]}, 0.0)
    )
    openai_server.script(quoting_first_passage, quoting_first_passage)
    env = {
        **os.environ,
        "POLICYBOT_DATA_DIR": str(small_data_dir),
        "POLICYBOT_LLM_BASE_URL": openai_server.base_url,
        "POLICYBOT_LLM_API_KEY": "sk-test",
        "POLICYBOT_LLM_MODEL": "test-model",
    }
    out = tmp_path / "results.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "eval", str(questions), "--mode", "llm", "--json", "--output", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["questions"] == 2 and summary["ref_hit"] is not None and summary["citation_precision"] is not None
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [set(r) for r in rows] == [{"id", "retrieved", "answer", "citations", "abstained", "latency_ms"}] * 2
    assert len(openai_server.chat_requests) >= 2  # the model was asked, through the local endpoint
