"""Retrieval ablation on the question sets: dense only, BM25 only, and the hybrid search.

    POLICYBOT_DATA_DIR=data python bench/retrieval_ablation.py ../shared/eval/dev.jsonl ../shared/eval/ai-act-qa-external.jsonl

Prints unit-level reference hit@5 (any gold unit among the top 5 distinct units) for each.
Needs a built index (`policybot index`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.assistant import Assistant  # noqa: E402
from bot.query import parse_query  # noqa: E402


def units(chunks):  # type: ignore[no-untyped-def]
    seen: list[str] = []
    for c in chunks:
        key = f"{c.source}:{c.unit}"
        if key not in seen:
            seen.append(key)
    return seen


def main() -> None:
    a = Assistant()
    r = a.retriever
    print(f"{'set':<28} {'n':>4} {'dense':>7} {'bm25':>7} {'hybrid':>7}")
    for path in map(Path, sys.argv[1:]):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        rows = [g for g in rows if g.get("answerable", True) and g.get("refs")]
        hits = {"dense": 0, "bm25": 0, "hybrid": 0}
        for g in rows:
            q = parse_query(g["question"], a.manifest, g.get("lang"))
            gold = set(g["refs"])
            dense = units(c for c, _ in r.dense(q, 100, None, None))[:5]
            lex = units(c for c, _ in r.lexical[q.lang].search(q.text, 200))[:5] if q.lang in r.lexical else []
            hybrid = [x.key for x in r.search(q, k=10)[0][:5]]
            hits["dense"] += bool(gold & set(dense))
            hits["bm25"] += bool(gold & set(lex))
            hits["hybrid"] += bool(gold & set(hybrid))
        n = len(rows)
        print(f"{path.name:<28} {n:>4} {hits['dense'] / n:>7.3f} {hits['bm25'] / n:>7.3f} {hits['hybrid'] / n:>7.3f}")


if __name__ == "__main__":
    main()
