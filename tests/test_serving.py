"""Hot swap: a running Assistant serves a newly published index generation, and no question fails meanwhile.

The new generation is built by the real CLI in another process, from a mirror whose Chips Act
Article 1 carries a word no other text has; the old generation serves until the new one is loaded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import MIRROR, ROOT, make_settings, needs_mirror

pytestmark = needs_mirror

MARK = "quinquagintillion"  # in no text of the corpus
SENTENCE = "This Regulation establishes a framework for strengthening the semiconductor ecosystem at Union level"


def _mirror_with_mark(tmp: Path) -> Path:
    mirror = tmp / "mirror"
    (mirror / "chips-act").mkdir(parents=True)
    text = (MIRROR / "chips-act" / "chips-act.md").read_text(encoding="utf-8")
    assert SENTENCE in text
    (mirror / "chips-act" / "chips-act.md").write_text(
        text.replace(SENTENCE, f"{SENTENCE}, also known as the {MARK} framework,", 1), encoding="utf-8"
    )
    return mirror


def _cli(data_dir: Path, *args: str, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "POLICYBOT_DATA_DIR": str(data_dir), "ANONYMIZED_TELEMETRY": "False", **env_extra}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)


def _serves_mark(assistant) -> bool:  # type: ignore[no-untyped-def]
    return any(MARK in c.text for c in assistant.retriever.snapshot.chunks)


def test_a_new_generation_is_swapped_in_while_questions_are_answered(tmp_path: Path, chroma_server: int) -> None:
    """The indexer is another process writing to the same `chroma run` server (embedded Chroma is one process)."""
    from bot.assistant import Assistant
    from bot.serving import GenerationWatcher

    data = tmp_path / "data"
    server = {"POLICYBOT_CHROMA_HOST": "127.0.0.1", "POLICYBOT_CHROMA_PORT": str(chroma_server)}
    for step in (("sync", "--mirror", str(MIRROR), "--source", "chips-act"), ("index",)):
        done = _cli(data, *step, **server)
        assert done.returncode == 0, done.stderr
    settings = make_settings(data, chroma_host="127.0.0.1", chroma_port=chroma_server)
    assistant = Assistant(settings)
    first = assistant.ask("What does the Chips Act establish?", mode="extractive")
    assert not first.abstained and not _serves_mark(assistant)
    old_generation = assistant.retriever.snapshot.state["generation"]
    watcher = GenerationWatcher(assistant, interval=0.5).start()

    failures: list[str] = []
    answered: list[int] = []
    stop = threading.Event()

    def ask_all_the_time() -> None:
        while not stop.is_set():
            try:
                answer = assistant.ask("What does the Chips Act establish?", mode="extractive")
                if answer.abstained or not answer.citations:
                    failures.append(f"no answer: {answer.text[:80]}")
                answered.append(int(assistant.retriever.snapshot.state["generation"]))
            except Exception as exc:  # noqa: BLE001 - the test records every failure
                failures.append(f"{type(exc).__name__}: {exc}")

    askers = [threading.Thread(target=ask_all_the_time) for _ in range(2)]
    for t in askers:
        t.start()
    try:
        synced = _cli(data, "sync", "--mirror", str(_mirror_with_mark(tmp_path)), "--source", "chips-act", **server)
        assert synced.returncode == 0, synced.stderr
        indexed = _cli(data, "index", **server)
        assert indexed.returncode == 0, indexed.stderr
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _serves_mark(assistant):
            time.sleep(0.2)
    finally:
        stop.set()
        for t in askers:
            t.join()
        watcher.stop()
    assert _serves_mark(assistant), watcher.last_error
    assert watcher.swaps == 1
    assert not failures, failures[:3]
    assert answered and answered[0] == old_generation and answered[-1] > old_generation
    answer = assistant.ask(f"What is the {MARK} framework?", mode="extractive")
    assert any(MARK in c.quote for c in answer.citations), answer.text


def test_a_generation_that_cannot_be_loaded_leaves_the_old_one_serving(tmp_path: Path, small_data_dir: Path) -> None:
    from bot.assistant import Assistant
    from bot.generations import base_dir, collection_name
    from bot.serving import GenerationWatcher

    data = tmp_path / "data"
    shutil.copytree(small_data_dir, data)
    settings = make_settings(data)
    assistant = Assistant(settings)
    assistant.ask("What does the Chips Act establish?", mode="extractive")
    before = assistant.retriever.snapshot.name
    watcher = GenerationWatcher(assistant, interval=0)
    # A pointer naming a generation whose collection and snapshot do not exist (a damaged publish).
    pointer = base_dir(settings, collection_name(settings, assistant.retriever.embedder.name)) / "current.json"
    pointer.write_text(json.dumps({"generation": 99, "collection": "pb-missing-g99"}), encoding="utf-8")
    assert watcher.check(force=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and watcher.last_error is None:
        time.sleep(0.1)
    assert watcher.last_error and "generation 99 could not be loaded" in watcher.last_error
    assert assistant.retriever.snapshot.name == before and watcher.swaps == 0
    answer = assistant.ask("What does the Chips Act establish?", mode="extractive")
    assert not answer.abstained and answer.citations


def test_a_watcher_with_nothing_new_does_not_load(tmp_path: Path, small_data_dir: Path) -> None:
    from bot.assistant import Assistant
    from bot.serving import GenerationWatcher

    data = tmp_path / "data"  # a copy: other tests may publish newer generations in the shared fixture
    shutil.copytree(small_data_dir, data)
    assistant = Assistant(make_settings(data))
    assistant.ask("What does the Chips Act establish?", mode="extractive")
    watcher = GenerationWatcher(assistant, interval=0)
    assert watcher.check(force=True) is False
    assert watcher.swaps == 0 and watcher.last_error is None
