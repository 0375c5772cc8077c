"""The ``policybot`` CLI as one package (issue 13, deliverable 6): the same commands, options and help as
before the split, reachable as ``python -m bot.cli`` and as the ``policybot`` entry point; small modules."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import entry_points

import typer.main

from bot.cli import app, main
from tests.conftest import ROOT

# `policybot --help` before the split, in order: command and its one-line help.
COMMANDS = [
    ("config", "Print the effective settings (secrets masked)."),
    ("sync", "Fetch each official text (EUR-Lex, or a mirror folder) and keep new versions."),
    ("index", "Build or update the Chroma index from the current versions (incremental)."),
    ("sources", "List the sources: language, version, date fetched, units, chunks."),
    ("ask", "Answer one question with numbered citations."),
    ("chat", "An interactive session; follow-up questions use the conversation. Ctrl-D to quit."),
    ("eval", "Run a question file and print retrieval and answer metrics."),
    ("slack", "Run the Slack bot (Socket Mode by default; --http behind a load balancer)."),
    ("feedback", "List the 👍/👎 feedback given in Slack."),
    ("brief", "A one-screen briefing on a source: what changed, what falls due, what it requires; every line cited."),
    ("timeline", "Every dated provision: when it applies, falls due or ends, read from the texts."),
    ("changes", "Units added, removed or changed between consecutive versions of each text."),
    ("watch", "Sync on a schedule, then index, then post new change sets to POLICYBOT_DIGEST_CHANNEL."),
]

SOURCE = ("--source", "-s")
SOURCE_HELP = "Source id or alias, e.g. ai-act, 'chips act'"
LANG_HELP = "Question language: en or nl (default: detected)"
K_HELP = "How many retrieved units to answer from"
MODE_HELP = "auto, extractive or llm (default: POLICYBOT_ANSWER_MODE)"
# Every parameter before the split: (name, flags, default, help).
PARAMS = {
    "config": [("as_json", ("--json",), False, "Print JSON")],
    "sync": [("source", SOURCE, None, SOURCE_HELP), ("mirror", ("--mirror",), None, "A local mirror folder laid out like shared/corpus")],
    "index": [("rebuild", ("--rebuild",), False, "Drop the collection and embed everything again")],
    "sources": [("as_json", ("--json",), False, "Print JSON")],
    "ask": [
        ("question", ("question",), None, "The question, in English or Dutch"),
        ("source", SOURCE, None, SOURCE_HELP),
        ("lang", ("--lang",), None, LANG_HELP),
        ("k", ("-k",), None, K_HELP),
        ("mode", ("--mode",), None, MODE_HELP),
        ("as_json", ("--json",), False, "Print the Answer as JSON"),
    ],
    "chat": [("source", SOURCE, None, SOURCE_HELP), ("lang", ("--lang",), None, LANG_HELP), ("k", ("-k",), None, K_HELP), ("mode", ("--mode",), None, MODE_HELP)],
    "eval": [
        ("questions", ("questions",), None, "A .jsonl question file (shared/eval format)"),
        ("k", ("-k",), 5, "Cut-off for hit@k and recall@k"),
        ("output", ("--output", "-o"), None, "Write one result line per question"),
        ("mode", ("--mode",), None, MODE_HELP),
        ("as_json", ("--json",), False, "Print the summary as JSON"),
    ],
    "slack": [
        ("http", ("--http",), False, "HTTP mode (SLACK_SIGNING_SECRET) instead of Socket Mode"),
        ("host", ("--host",), "127.0.0.1", "HTTP mode: address to listen on"),
        ("port", ("--port",), 3000, "HTTP mode: port to listen on"),
    ],
    "feedback": [("as_json", ("--json",), False, "Print JSON")],
    "brief": [
        ("source", ("source",), None, "Source id or alias, e.g. 'ai act', chipwet"),
        ("topic", ("--topic",), None, "Narrow the briefing, e.g. banking"),
        ("fmt", ("--format",), "rich", "rich (default), md or json"),
        ("lang", ("--lang",), "en", "Language of the briefing's headings and dates: en or nl"),
    ],
    "timeline": [
        ("source", ("source",), None, "Source id or alias (default: all)"),
        ("as_of", ("--as-of",), None, "A date: 2026-03-01 or '1 March 2026'"),
        ("between", ("--between",), None, "Two dates: only what falls between them"),
        ("history", ("--history", "--no-history"), True, "Show dates an amendment removed"),
        ("fmt", ("--format",), "rich", "rich (default), md or json"),
    ],
    "changes": [
        ("source", ("source",), None, "Source id or alias (default: all)"),
        ("since", ("--since",), None, "Only change sets whose newer text is dated on/after this date"),
        ("as_json", ("--json",), False, "Print the change sets as JSON"),
        ("full", ("--full",), False, "Print every changed passage in full"),
    ],
    "watch": [
        ("every", ("--every",), "6h", "Interval: 6h, 30m, 1d"),
        ("once", ("--once",), False, "Run one round and exit"),
        ("mirror", ("--mirror",), None, "Sync from a local mirror folder"),
    ],
}

# Run the `policybot` console script's target, found through the installed package metadata (pyproject's entry point).
ENTRY_POINT = "import sys; from importlib.metadata import entry_points; sys.exit(entry_points(group='console_scripts')['policybot'].load()())"


def _run(prefix: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "POLICYBOT_DATA_DIR": str(ROOT / "no-such-data-dir")}
    return subprocess.run([sys.executable, *prefix, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def _listed_commands(help_text: str) -> list[tuple[str, str]]:
    box = help_text.split("─ Commands ─", 1)[1]
    return [(m[1], m[2]) for m in re.finditer(r"^│ (\S+) +(.+?) *│$", box, re.MULTILINE)]


def test_help_lists_the_same_commands_as_before_the_split() -> None:
    for prefix in (["-m", "bot.cli"], ["-c", ENTRY_POINT]):
        proc = _run(prefix, "--help")
        assert proc.returncode == 0, proc.stderr
        assert _listed_commands(proc.stdout) == COMMANDS, proc.stdout


def test_every_option_keeps_its_flags_default_and_help() -> None:
    group = typer.main.get_command(app)
    assert list(group.commands) == [name for name, _ in COMMANDS]
    for name, cmd in group.commands.items():
        params = [(p.name, (*p.opts, *p.secondary_opts), p.default, getattr(p, "help", None)) for p in cmd.params]
        assert params == PARAMS[name], name


def test_the_entry_point_is_the_package_main_and_errors_stay_one_line() -> None:
    assert entry_points(group="console_scripts")["policybot"].value == "bot.cli:main"
    assert entry_points(group="console_scripts")["policybot"].load() is main
    for prefix in (["-m", "bot.cli"], ["-c", ENTRY_POINT]):
        proc = _run(prefix, "timeline", "--as-of", "31 Febtember 2026")
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.startswith("Error: Cannot read '31 Febtember 2026' as a date"), proc.stderr


def test_no_cli_module_exceeds_400_lines() -> None:
    modules = sorted((ROOT / "bot" / "cli").glob("*.py"))
    assert {p.stem for p in modules} >= {"__init__", "__main__", "common", "corpus", "answers", "tracking", "slack", "ops"}
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in modules}
    assert all(n < 400 for n in sizes.values()), sizes
    assert not (ROOT / "bot" / "cli.py").exists() and not (ROOT / "bot" / "tracking_cli.py").exists()
