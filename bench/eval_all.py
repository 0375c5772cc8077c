"""All three question sets in one process, with per-kind figures and the misses listed.

    POLICYBOT_DATA_DIR=data python bench/eval_all.py [--mode extractive] [--misses] [--only dev2]

Prints, per set, the summary metrics and the per-kind table that ``policybot eval`` prints, and
with ``--misses`` each answerable question whose answer cites no gold unit or misses a fact, and
each unanswerable question answered anyway. Needs a built index.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.desk import Desk  # noqa: E402
from bot.evaluate import KIND_METRICS, load_questions, norm, run_eval  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
SETS = {"dev": "dev.jsonl", "dev2": "dev2.jsonl", "external": "ai-act-qa-external.jsonl"}
HEAD = ("ref_hit", "citation_precision", "gold_cited", "must_include", "abstained", "false_abstention")


def fmt(value: object) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="extractive")
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--misses", action="store_true")
    ap.add_argument("--only", action="append", choices=sorted(SETS))
    ap.add_argument("--kinds", action="store_true", help="print the per-kind tables")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="tuning: override a constant of bot.answering.extractive or .selection for this run")
    args = ap.parse_args()
    from bot.answering import extractive, selection

    for item in args.set:
        name, value = item.split("=", 1)
        module = selection if hasattr(selection, name) else extractive
        setattr(module, name, type(getattr(module, name))(float(value)))
    assistant = Desk()  # as the front ends ask: a briefing request gets the briefing
    assistant.retriever  # noqa: B018 - load before timing
    print(f"{'set':<9} {'n':>4} " + " ".join(f"{h[:10]:>10}" for h in HEAD) + "   p50 ms")
    for name in args.only or list(SETS):
        questions = load_questions(EVAL / SETS[name])
        answers: dict[str, object] = {}

        def ask(q):  # type: ignore[no-untyped-def]
            answer, results = assistant.ask_full(q.question, lang=q.lang, k=args.k, mode=args.mode)
            answers[q.id] = answer
            return answer, results

        s = run_eval(questions, ask, k=args.k)
        print(f"{name:<9} {len(questions):>4} " + " ".join(f"{fmt(s.get(h)):>10}" for h in HEAD) + f"   {s['latency_p50_ms']:.0f}")
        if args.kinds:
            for kind, m in s["per_kind"].items():
                print(f"  {kind:<14} {m['questions']:>3} " + " ".join(f"{fmt(m.get(h)):>10}" for h in KIND_METRICS))
        if not args.misses:
            continue
        by_id = {q.id: q for q in questions}
        for row in s["per_question"]:
            q = by_id[row["id"]]
            a = answers[q.id]
            if q.answerable:
                bad_cite = row.get("citation_precision") is not None and row["citation_precision"] < 1
                text = norm(a.text + " " + " ".join(c.quote for c in a.citations))  # type: ignore[attr-defined]
                missing = [f for f in q.must_include if norm(f) not in text]
                if not (bad_cite or missing or a.abstained):  # type: ignore[attr-defined]
                    continue
                cited = [f"{c.source}:{c.unit}" for c in a.citations]  # type: ignore[attr-defined]
                print(json.dumps({"id": q.id, "q": q.question[:140], "gold": q.refs, "cited": cited,
                                  "missing": missing, "abstained": a.abstained}, ensure_ascii=False))  # type: ignore[attr-defined]
            elif not a.abstained:  # type: ignore[attr-defined]
                print(json.dumps({"id": q.id, "q": q.question[:140], "answered": a.text[:200]}, ensure_ascii=False))  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
