"""``policybot eval``: run a question file and measure retrieval and answers.

The question format is that of ``shared/eval/README.md``. Metrics:

- evidence hit@k: a top-k retrieved unit's text contains a gold evidence snippet
- reference recall@k: share of gold refs among the top-k retrieved units (any one gold ref counts
  as a hit for "ref hit@k"; recall averages the share of all gold refs found)
- MRR@10: reciprocal rank of the first gold unit
- citation precision: cited units within the gold refs
- gold cited: share of answerable questions whose answer cites a gold unit
- must-include recall: facts found in the answer text (case-insensitive, thousands separators ignored)
- abstention on unanswerable, false abstention on answerable, latency p50/p95
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from .errors import BotError, QuestionError
from .models import Answer
from .retrieval_cues import Result


class EvalQuestion(BaseModel):
    id: str
    question: str
    lang: str = "en"
    answerable: bool = True
    refs: list[str] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    must_include: list[str] = Field(default_factory=list)
    kind: str = ""
    changed_by: str | None = None


def load_questions(path: Path) -> list[EvalQuestion]:
    if not path.exists():
        raise BotError(f"The question file {path} does not exist.")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(EvalQuestion.model_validate_json(line))
        except ValueError as exc:
            raise BotError(f"{path}:{n}: not a question line ({str(exc).splitlines()[0]})") from None
    return out


def norm(text: str) -> str:
    """Whitespace-normalised, lower-cased, digit groups closed up ('35 000 000' -> '35000000')."""
    text = text.replace("\u00a0", " ").replace("\u202f", " ").lower()
    text = re.sub(r"\s+", " ", text)
    for _ in range(3):
        text = re.sub(r"(\d)[ .,](\d{3})(?!\d)", r"\1\2", text)
    return text.strip()


def result_row(r: Result) -> dict[str, Any]:
    c = r.primary.chunk
    return {"source": r.source, "unit": r.unit, "ref": c.ref, "text": r.text(), "score": round(r.score, 6)}


def score_one(q: EvalQuestion, retrieved: list[dict[str, Any]], answer: Answer, k: int) -> dict[str, Any]:
    gold = set(q.refs)
    keys = [f"{r['source']}:{r['unit']}" for r in retrieved]
    top = keys[:k]
    m: dict[str, Any] = {"id": q.id, "answerable": q.answerable, "kind": q.kind or "-"}
    if q.answerable and gold:
        ev = [norm(e) for e in q.evidence]
        m["evidence_hit"] = float(any(any(e in norm(r["text"]) for e in ev) for r in retrieved[:k])) if ev else None
        m["ref_hit"] = float(bool(gold & set(top)))
        m["ref_recall"] = len(gold & set(top)) / len(gold)
        rr = 0.0
        for i, key in enumerate(keys[:10]):
            if key in gold:
                rr = 1.0 / (i + 1)
                break
        m["mrr"] = rr
        cited = [f"{c.source}:{c.unit}" for c in answer.citations]
        m["citation_precision"] = (sum(c in gold for c in cited) / len(cited)) if cited else None
        m["gold_cited"] = float(any(c in gold for c in cited))
        if q.must_include:
            text = norm(answer.text + " " + " ".join(c.quote for c in answer.citations))
            m["must_include"] = sum(norm(f) in text for f in q.must_include) / len(q.must_include)
        m["false_abstention"] = float(answer.abstained)
    else:
        m["abstained"] = float(answer.abstained)
    return m


def _mean(rows: Iterable[dict[str, Any]], key: str) -> tuple[float | None, int]:
    vals = [r[key] for r in rows if r.get(key) is not None]
    return (sum(vals) / len(vals) if vals else None), len(vals)


def summarise(rows: list[dict[str, Any]], latencies: list[float]) -> dict[str, Any]:
    summary: dict[str, Any] = {"questions": len(rows)}
    for key in (
        "evidence_hit",
        "ref_hit",
        "ref_recall",
        "mrr",
        "citation_precision",
        "gold_cited",
        "must_include",
        "false_abstention",
        "abstained",
    ):
        value, n = _mean(rows, key)
        summary[key] = value
        summary[f"{key}_n"] = n
    if latencies:
        ordered = sorted(latencies)
        summary["latency_p50_ms"] = statistics.median(ordered)
        summary["latency_p95_ms"] = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return summary


def run_eval(
    questions: list[EvalQuestion],
    ask: Callable[[EvalQuestion], tuple[Answer, list[Result]]],
    *,
    k: int = 5,
    output: Path | None = None,
    on_progress: Callable[[], None] | None = None,
) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    latencies: list[float] = []
    out_lines: list[str] = []
    for q in questions:
        t0 = time.perf_counter()
        try:
            answer, results = ask(q)
        except QuestionError as exc:
            answer, results = Answer(question=q.question, text=exc.message, abstained=True), []
        ms = (time.perf_counter() - t0) * 1000
        latencies.append(ms)
        retrieved = [result_row(r) for r in results[:10]]
        rows.append(score_one(q, retrieved, answer, k))
        out_lines.append(
            json.dumps(
                {
                    "id": q.id,
                    "retrieved": retrieved,
                    "answer": answer.text,
                    "citations": [
                        {"source": c.source, "unit": c.unit, "ref": c.ref, "url": c.url, "quote": c.quote}
                        for c in answer.citations
                    ],
                    "abstained": answer.abstained,
                    "latency_ms": round(ms, 1),
                },
                ensure_ascii=False,
            )
        )
        if on_progress:
            on_progress()
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text("\n".join(out_lines) + "\n", encoding="utf-8")
    summary = summarise(rows, latencies)
    summary["per_kind"] = per_kind(rows)
    summary["per_question"] = rows
    return summary


#: The answer metrics shown per kind of question.
KIND_METRICS = ("ref_hit", "citation_precision", "gold_cited", "must_include", "abstained", "false_abstention")


def per_kind(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The answer metrics of each ``kind`` of question (fact, timeline, unanswerable, ...)."""
    out: dict[str, dict[str, Any]] = {}
    for kind in sorted({r.get("kind", "-") for r in rows}):
        group = [r for r in rows if r.get("kind", "-") == kind]
        entry: dict[str, Any] = {"questions": len(group)}
        for key in KIND_METRICS:
            entry[key], entry[f"{key}_n"] = _mean(group, key)
        out[kind] = entry
    return out
