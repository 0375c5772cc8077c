"""Warm ask latency on today's corpus, split into the query embedding and the rest.

Asks every question of the given files ``--rounds`` times in one process (extractive, no LLM),
after one warm-up question, and prints the p50 of the whole ask, of its query embedding and of
the rest. With ``--code DIR`` the policybot in DIR is measured instead (a checkout of another
commit), so two commits can be alternated on the same data dir:

    for c in /tmp/old .; do python bench/ask_phases.py --code $c ../shared/eval/dev.jsonl ../shared/eval/dev2.jsonl; done
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any


class TimedEmbedder:
    """The retriever's embedder, with the time its query embeddings took."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seconds = 0.0

    def embed_query(self, text: str) -> Any:
        t = time.perf_counter()
        try:
            return self.inner.embed_query(text)
        finally:
            self.seconds += time.perf_counter() - t

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", nargs="+", type=Path)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parents[1], help="the policybot checkout to measure")
    args = parser.parse_args()
    sys.path.insert(0, str(args.code.resolve()))
    from bot.assistant import Assistant  # imported first, as in the CLI (it sets numpy's BLAS threads)

    questions = [json.loads(line)["question"] for path in args.questions
                 for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assistant = Assistant()
    assistant.ask("What does the AI Act ban?", mode="extractive")
    timed = TimedEmbedder(assistant.retriever.embedder)
    assistant.retriever.embedder = timed
    total, embedding = [], []
    for _ in range(args.rounds):
        for q in questions:
            timed.seconds = 0.0
            t = time.perf_counter()
            assistant.ask(q, mode="extractive")
            total.append((time.perf_counter() - t) * 1000)
            embedding.append(timed.seconds * 1000)
    rest = [t - e for t, e in zip(total, embedding)]
    print(f"{args.code}: {len(total)} asks, p50 {statistics.median(total):.1f} ms "
          f"(query embedding {statistics.median(embedding):.1f}, the rest {statistics.median(rest):.1f})")


if __name__ == "__main__":
    main()
