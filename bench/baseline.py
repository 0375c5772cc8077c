"""The naive baseline, measured with the same metrics as policybot.

LangChain's RecursiveCharacterTextSplitter(1000, 200) over the same current texts, the same
embedding model, top-k cosine similarity from Chroma, and an "answer" that cites the units of
the top 3 chunks. Shows what structure-aware chunking, hybrid retrieval and checked extractive
answers buy.

    python bench/baseline.py ../shared/eval/dev.jsonl ../shared/eval/ai-act-qa-external.jsonl [-k 5]

Uses the data dir of the settings (POLICYBOT_DATA_DIR): run `policybot sync` first. The
baseline collection is built once (a few minutes) and reused.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from langchain_text_splitters import RecursiveCharacterTextSplitter  # noqa: E402

from bot.config import get_settings  # noqa: E402
from bot.corpus import current_texts  # noqa: E402
from bot.embeddings import get_embedder  # noqa: E402
from bot.evaluate import load_questions, score_one, summarise  # noqa: E402
from bot.index import get_collection, open_client  # noqa: E402
from bot.models import Answer, Citation  # noqa: E402


def baseline_chunks(settings):  # type: ignore[no-untyped-def]
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)
    rows = []
    for t in current_texts(settings):
        units = list(t.units) + [u for _, us in t.carried for u in us]
        starts, keys, parts, pos = [], [], [], 0
        for u in units:
            starts.append(pos)
            keys.append(u)
            body = f"{u.ref}\n{u.text}"
            parts.append(body)
            pos += len(body) + 2
        full = "\n\n".join(parts)
        for doc in splitter.create_documents([full]):
            start = doc.metadata["start_index"]
            unit = keys[max(0, bisect.bisect_right(starts, start) - 1)]
            cid = hashlib.sha256(f"{t.meta.source}|{t.meta.language}|{start}|{doc.page_content}".encode()).hexdigest()[:32]
            rows.append((cid, doc.page_content, unit))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", nargs="+", type=Path)
    parser.add_argument("-k", type=int, default=5)
    args = parser.parse_args()

    settings = get_settings()
    embedder = get_embedder(settings.embeddings, settings)
    rows = baseline_chunks(settings)
    collection = get_collection(open_client(settings), f"baseline-rcts-1000-200-{embedder.name}"[:60])
    existing = set(collection.get(include=[])["ids"])
    todo = [r for r in rows if r[0] not in existing]
    t = time.perf_counter()
    for i in range(0, len(todo), 16):
        batch = todo[i : i + 16]
        vecs = embedder.embed_passages([r[1] for r in batch])
        collection.add(
            ids=[r[0] for r in batch],
            embeddings=vecs.tolist(),
            documents=[r[1] for r in batch],
            metadatas=[{"source": u.source, "unit": u.unit, "ref": u.ref, "url": u.url, "language": u.language} for _, _, u in batch],
        )
        print(f"\rembedding baseline chunks {i + len(batch)}/{len(todo)}", end="", file=sys.stderr)
    if todo:
        print(f"\nembedded {len(todo)} baseline chunks in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    print(f"baseline: {len(rows)} chunks (RecursiveCharacterTextSplitter 1000/200, {embedder.name})")

    for path in args.questions:
        questions = load_questions(path)
        scored, lat = [], []
        for q in questions:
            t0 = time.perf_counter()
            res = collection.query(query_embeddings=[embedder.embed_query(q.question).tolist()], n_results=10)
            retrieved = [
                {"source": m["source"], "unit": m["unit"], "ref": m["ref"], "text": d, "score": 1 - dist}
                for d, m, dist in zip(res["documents"][0], res["metadatas"][0], res["distances"][0])
            ]
            cites = [
                Citation(n=i + 1, source=r["source"], unit=r["unit"], ref=r["ref"], quote=r["text"][:200])
                for i, r in enumerate(retrieved[:3])
            ]
            answer = Answer(question=q.question, text=retrieved[0]["text"] if retrieved else "", citations=cites)
            lat.append((time.perf_counter() - t0) * 1000)
            scored.append(score_one(q, retrieved, answer, args.k))
        s = summarise(scored, lat)
        print(f"\n{path.name} (baseline, k={args.k})")
        for key in ("evidence_hit", "ref_hit", "ref_recall", "mrr", "citation_precision", "gold_cited", "must_include", "abstained", "false_abstention"):
            v = s.get(key)
            print(f"  {key:<20} {'-' if v is None else f'{v:.3f}'}")
        print(f"  latency p50/p95     {s['latency_p50_ms']:.0f} / {s['latency_p95_ms']:.0f} ms")


if __name__ == "__main__":
    main()
