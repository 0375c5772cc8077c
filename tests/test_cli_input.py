"""Bad input to the CLI: one clear line and a non-zero exit, never a traceback; secrets masked in URLs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


def _cli(args: list[str | bytes], data: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=ROOT,
        env={**os.environ, "POLICYBOT_DATA_DIR": str(data), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _one_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 2 and lines[0].startswith("Error: "), proc.stderr
    return lines[0]


def test_invalid_utf8_in_a_question(small_data_dir: Path) -> None:
    line = _one_line(_cli(["ask", b"What does \xff\xfe Article 26 allow?"], small_data_dir))
    assert "not valid UTF-8" in line


@pytest.mark.parametrize(
    ("option", "expected"),
    [(["--lang", "xx"], "Unknown language 'xx'"), (["--mode", "foo"], "Unknown answer mode 'foo'")],
)
def test_unknown_language_or_mode(small_data_dir: Path, option: list[str], expected: str) -> None:
    line = _one_line(_cli(["ask", "What is an open EU foundry?", *option], small_data_dir))
    assert expected in line


def test_unknown_mode_in_eval(small_data_dir: Path, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "q1", "question": "What is an open EU foundry?", "lang": "en"}\n', encoding="utf-8")
    assert "Unknown answer mode" in _one_line(_cli(["eval", str(questions), "--mode", "foo"], small_data_dir))


@pytest.mark.parametrize("command", [["config"], ["ask", "What is an open EU foundry?"]])
def test_a_bad_setting_names_the_variable(tmp_path: Path, command: list[str]) -> None:
    line = _one_line(_cli(command, tmp_path, POLICYBOT_TOP_K="abc"))
    assert "POLICYBOT_TOP_K" in line and "integer" in line


def test_index_on_an_empty_data_dir_says_to_sync_first(tmp_path: Path) -> None:
    proc = _cli(["index"], tmp_path / "empty")
    _one_line(proc)
    assert "policybot sync" in proc.stderr


def test_config_masks_credentials_inside_urls(tmp_path: Path) -> None:
    proc = _cli(
        ["config", "--json"],
        tmp_path,
        POLICYBOT_LLM_BASE_URL="https://alice:hunter2@llm.internal:8443/v1?api-key=k3y-s3cret&model=small",
        POLICYBOT_SLACK_API_URL="http://bot:pa55@127.0.0.1:9/api/?token=xoxb-123",
    )
    assert proc.returncode == 0, proc.stderr
    for secret in ("hunter2", "k3y-s3cret", "pa55", "xoxb-123"):
        assert secret not in proc.stdout
    assert "alice:***@llm.internal:8443/v1" in proc.stdout and "model=small" in proc.stdout
