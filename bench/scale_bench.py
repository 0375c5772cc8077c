"""Dense search at 200k chunks: warm ask latency, time to ready and memory per replica.

Builds, in a temporary directory, a synthetic index of ``--chunks`` chunks from a real indexed
data dir (the source stays untouched): every real chunk is copied under new ids and new sources
(``ai-act~7``), its text perturbed (a few words dropped, so BM25 sees different documents) and its
vector perturbed (Gaussian noise, cosine about 0.96 to the original), so no embedding run is needed.
Then each configuration runs in a fresh process, as a bot replica would:

- ``today``: a copy of the real data dir (for the ``p50 <= 50 ms`` target);
- ``200k cold``: the first start, which parses the snapshot, builds BM25, reads the vectors from
  Chroma in pages, and caches both (``warm-*.pkl``, ``vectors-*.npy``);
- ``200k warm``: a later start, which loads the start-up cache and memory-maps the matrix;
- ``200k ann``: ``POLICYBOT_DENSE_SEARCH=ann``, Chroma's HNSW with filters after the query;
- ``hnsw``: Chroma's HNSW query on the same 200k vectors, unfiltered, filtered after the query, and
  with a ``where`` filter (dense search only: the alternative to the exact scan).

Each process reports the time from its start to its first answer, the warm ``ask`` latencies
(extractive: no LLM) over the question files, and its memory (RSS, and PSS, which splits the
shared memory-mapped matrix among the processes that map it), and CPU seconds
beside wall-clock ones: on a loaded machine the CPU figures move less. All ratios come from this one run.

    python bench/scale_bench.py --data /tmp/pbdata ../shared/eval/dev.jsonl ../shared/eval/dev2.jsonl

Takes about 10 minutes on 2 cores, mostly Chroma storing the 200k vectors.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bot  # noqa: E402, F401 - before numpy, as in the CLI: it sets numpy's BLAS threads

import numpy as np  # noqa: E402

SEP = "~"  # synthetic source ids: "<source>~<copy>"
#: a folder to write each replica's cProfile output to (where its start-up time goes)
PROFILE = Path(os.environ["SCALE_BENCH_PROFILE"]) if os.environ.get("SCALE_BENCH_PROFILE") else None


def _settings(data: Path, **kw: Any) -> Any:
    from bot.config import Settings

    return Settings(data_dir=data, _env_file=None, **kw)  # type: ignore[call-arg]


def _perturb(text: str, k: int) -> str:
    """Drop about one word in eleven, differently for each copy."""
    words = text.split()
    return " ".join(w for i, w in enumerate(words) if (i * 31 + k * 7) % 11 != 0 or len(words) < 4)


def build_synthetic(src: Path, dst: Path, total: int, seed: int = 0) -> dict[str, Any]:
    """A data dir under ``dst`` with ``total`` chunks made from the index in ``src``."""
    from bot.dense import read_vectors
    from bot.embeddings import get_embedder
    from bot.generations import Generation, collection_name, generation_folder, set_current_generation
    from bot.index import get_collection, load_snapshot, open_client

    settings = _settings(src, chroma_host=None)  # the real index is embedded; the synthetic one may go to a server
    name = get_embedder(settings.embeddings, settings).name
    snap = load_snapshot(settings, name)
    real = snap.chunks
    vectors, found = read_vectors(get_collection(open_client(settings), snap.name, create=False), [c.id for c in real])
    copies = math.ceil(total / len(real))
    rng = np.random.default_rng(seed)

    out = _settings(dst)
    shutil.copytree(src / "versions", dst / "versions")  # the timeline reads the synced texts
    index_name = collection_name(out, name)
    number = int(snap.state.get("generation", 1))
    folder = generation_folder(out, index_name, number)
    folder.mkdir(parents=True)
    if (snap.folder / "timeline.json").exists():
        shutil.copy(snap.folder / "timeline.json", folder / "timeline.json")
    collection = get_collection(open_client(out), snap.name)
    started = time.perf_counter()
    written = 0
    with (folder / "chunks.jsonl").open("w", encoding="utf-8") as fh:
        for k in range(copies):
            rows = []
            for c, v, ok in zip(real, vectors, found):
                if written >= total:
                    break
                if not ok:
                    continue
                if k:
                    c = c.model_copy(update={"id": f"{c.id}{SEP}{k}", "source": f"{c.source}{SEP}{k}", "text": _perturb(c.text, k)})
                    noise = rng.standard_normal(v.shape[0]).astype(np.float32) * (0.3 / math.sqrt(v.shape[0]))
                    v = v + noise
                    v = v / np.linalg.norm(v)
                fh.write(c.model_dump_json() + "\n")
                rows.append((c, v))
                written += 1
            for i in range(0, len(rows), 2000):
                page = rows[i : i + 2000]
                collection.add(
                    ids=[c.id for c, _ in page],
                    embeddings=np.asarray([v for _, v in page], dtype=np.float32),
                    metadatas=[{"source": c.source, "language": c.language, "unit": c.unit} for c, _ in page],
                )
    stored = time.perf_counter() - started
    with (snap.folder / "units.jsonl").open(encoding="utf-8") as fin, (folder / "units.jsonl").open("w", encoding="utf-8") as fout:
        lines = [json.loads(line) for line in fin if line.strip()]
        for k in range(copies):
            for row in lines:
                if k:
                    row = {**row, "unit": {**row["unit"], "source": f"{row['unit']['source']}{SEP}{k}"}}
                fout.write(json.dumps(row, ensure_ascii=False) + "\n")
    state = {**snap.state, "chunks": written, "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    (folder / "state.json").write_text(json.dumps(state), encoding="utf-8")
    set_current_generation(out, index_name, Generation(number, snap.name, folder), None)
    return {"real_chunks": len(real), "chunks": written, "copies": copies, "store_s": stored}


def save_lexical(data: Path) -> None:
    """Save each language's BM25 and the lexicon with the synthetic generation, as `policybot index` does."""
    from bot.embeddings import get_embedder
    from bot.generations import load_snapshot
    from bot.lexical import LexicalIndex, files
    from bot.lexicon import Lexicon, lexicon_of

    settings = _settings(data)
    snap = load_snapshot(settings, get_embedder(settings.embeddings, settings).name)
    for lang in sorted({c.language for c in snap.chunks}):
        if not (snap.folder / files(lang)[0]).exists():
            LexicalIndex([c for c in snap.chunks if c.language == lang], lang).save(snap.folder)
    if Lexicon.load(snap.folder) is None:  # and the bilingual lexicon, as `policybot index` does
        lexicon_of(snap.units).save(snap.folder)


# --- one replica, in its own process ------------------------------------------------------------


def _memory() -> dict[str, float]:
    mib = 1024.0
    out: dict[str, float] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0]) / mib
    try:
        for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                out["Pss"] = int(line.split()[1]) / mib
    except OSError:
        pass
    return out


def child(data: Path, questions: list[str], mode: str) -> None:
    from bot.assistant import Assistant

    settings = _settings(data, dense_search="ann" if mode == "ann" else "exact")
    assistant = Assistant(settings)
    if mode == "hnsw":
        return _child_hnsw(assistant, questions)
    first = assistant.ask(questions[0])
    ready_cpu = time.process_time()
    print("READY", flush=True)
    latencies, cpu = [], []
    for q in questions[1:]:
        t, c = time.perf_counter(), time.process_time()
        assistant.ask(q)
        latencies.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    retriever = assistant.retriever
    memory = _memory()  # as it serves (before the scan below, which loads a matrix that `ann` does not use)
    scan = []
    if retriever._matrix is not None or not os.environ.get("POLICYBOT_CHROMA_HOST"):
        dense = retriever._vectors()
        for q in questions[1:]:
            v = retriever.embedder.embed_query(q)
            t = time.perf_counter()
            dense.search(v, 80)
            scan.append((time.perf_counter() - t) * 1000)
    result = {
        "chunks": len(retriever.snapshot.chunks),
        "first_answer_cited": bool(first.citations),
        "ask_ms": latencies,
        "ask_cpu_ms": cpu,
        "ready_cpu_s": ready_cpu,
        "exact_dense_ms": scan,
        "memory_mib": memory,
    }
    print("RESULT " + json.dumps(result), flush=True)


def _child_hnsw(assistant: Any, questions: list[str]) -> None:
    from bot.embeddings import get_embedder
    from bot.index import get_collection, load_snapshot, open_client

    settings = assistant.settings
    embedder = get_embedder(settings.embeddings, settings)
    snap = load_snapshot(settings, embedder.name)
    collection = get_collection(open_client(settings), snap.name, create=False)
    vectors = [embedder.embed_query(q).tolist() for q in questions]
    sources = sorted({c.source for c in snap.chunks})
    one = [s for s in sources if SEP not in s][:1]
    t = time.perf_counter()
    collection.query(query_embeddings=[vectors[0]], n_results=80, include=["distances"])  # loads the HNSW index
    load_s = time.perf_counter() - t
    print("READY", flush=True)
    plain, post, where = [], [], []
    for v in vectors[1:]:
        t = time.perf_counter()
        collection.query(query_embeddings=[v], n_results=80, include=["distances"])
        plain.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()  # the filter after the query: ask for more, keep the named source's
        res = collection.query(query_embeddings=[v], n_results=800, include=["metadatas", "distances"])
        kept = [i for i, m in zip(res["ids"][0], res["metadatas"][0]) if m["source"] in one][:80]
        post.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        collection.query(query_embeddings=[v], n_results=80, where={"source": {"$in": one}}, include=["distances"])
        where.append((time.perf_counter() - t) * 1000)
    result = {
        "load_s": load_s,
        "plain_ms": plain,
        "post_filter_ms": post,
        "post_filter_kept_last": len(kept),
        "where_ms": where,
        "memory_mib": _memory(),
    }
    print("RESULT " + json.dumps(result), flush=True)


def start_chroma(path: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A `chroma run` server on 127.0.0.1 storing in ``path``; returns it and its port."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    chroma = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen([str(chroma), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("chroma run did not start within 60 s")


@contextmanager
def synthetic_server(args: argparse.Namespace, tmp: Path) -> Iterator[Path]:
    """The synthetic data dir whose 200k vectors are in a `chroma run` server on 127.0.0.1 (built there if
    missing), with POLICYBOT_CHROMA_HOST/PORT set for the replicas while it runs."""
    synth = args.keep_server or tmp / "synth-server"
    proc, port = start_chroma(synth / "chroma-server")
    os.environ.update({"POLICYBOT_CHROMA_HOST": "127.0.0.1", "POLICYBOT_CHROMA_PORT": str(port)})
    try:
        if not (synth / "index").exists():
            t = time.perf_counter()
            built = build_synthetic(args.data, synth, args.chunks)
            print(f"built {built['chunks']:,} chunks in the Chroma server in {time.perf_counter() - t:.0f} s", flush=True)
        save_lexical(synth)
        yield synth
    finally:
        for key in ("POLICYBOT_CHROMA_HOST", "POLICYBOT_CHROMA_PORT"):
            os.environ.pop(key, None)
        proc.terminate()
        proc.wait(timeout=30)


def server_runs(args: argparse.Namespace, qfile: Path, tmp: Path) -> dict[str, dict[str, Any]]:
    """A bot host of a multi-host deployment: the 200k vectors in a `chroma run` server, no caches."""
    runs: dict[str, dict[str, Any]] = {}
    with synthetic_server(args, tmp) as synth:
        for name, mode in (("server exact, no caches", "ask"), ("server ann, no caches", "ann"), ("server ann, warm", "ann")):
            if "no caches" in name:
                for pattern in ("index/**/vectors-*.npy", "index/**/warm-*.pkl"):
                    for old in synth.glob(pattern):
                        old.unlink()
            runs[name] = run_replica(synth, qfile, mode=mode)
    return runs


def host_runs(args: argparse.Namespace, qfile: Path, tmp: Path) -> dict[str, dict[str, Any]]:
    """A new bot host of a multi-host deployment: an empty data dir, a real PostgreSQL holding the generation,
    the vectors in a `chroma run` server. First with the generation published as before (no vector matrix in
    the database: the host reads every vector from Chroma), then as `policybot index` publishes it now."""
    from bot.dense import DenseMatrix
    from bot.embeddings import get_embedder
    from bot.generations import load_snapshot
    from bot.index import get_collection, open_client
    from bot.published import publish
    from tests.pg import find_bindir, start_postgres

    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL's server binaries are not installed (Debian: apt-get install postgresql)")
    pg = start_postgres(bindir)
    runs: dict[str, dict[str, Any]] = {}
    try:
        with synthetic_server(args, tmp) as synth:
            url = pg.create_database()
            settings = _settings(synth)
            snap = load_snapshot(settings, get_embedder(settings.embeddings, settings).name)
            index_name = snap.folder.parent.name
            number = int(snap.state.get("generation", 1))
            for name, with_matrix in (("new host, matrix not published", False), ("new host, matrix published", True)):
                for old in snap.folder.glob("vectors-*.npy"):
                    old.unlink()
                if with_matrix:  # what `policybot index` now does before it publishes
                    t = time.perf_counter()
                    DenseMatrix.load(get_collection(open_client(settings), snap.name, create=False), snap.name, snap.chunks, snap.folder)
                    print(f"the indexer wrote the matrix in {time.perf_counter() - t:.1f} s", flush=True)
                t = time.perf_counter()
                publish(_settings(synth, database_url=url), index_name, number, snap.name, snap.folder, None)
                print(f"published generation {number} ({name}) in {time.perf_counter() - t:.1f} s", flush=True)
                host = tmp / f"host-{len(runs)}"
                host.mkdir()
                runs[name] = run_replica(host, qfile, env={"POLICYBOT_DATABASE_URL": url})
    finally:
        pg.stop()
    return runs


def run_replica(data: Path, questions: Path, mode: str = "ask", env: dict[str, str] | None = None) -> dict[str, Any]:
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", **(env or {})}
    start = time.perf_counter()
    profile = ["-m", "cProfile", "-o", str(PROFILE / f"{data.name}-{mode}.prof")] if PROFILE else []
    proc = subprocess.Popen(
        [sys.executable, *profile, __file__, "--child", str(data), "--mode", mode, str(questions)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    ready = None
    result: dict[str, Any] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("READY") and ready is None:
            ready = time.perf_counter() - start
        elif line.startswith("RESULT "):
            result = json.loads(line[7:])
    if proc.wait() != 0 or not result:
        raise SystemExit(f"the {mode} replica on {data} failed (exit {proc.returncode})")
    result["ready_s"] = ready
    return result


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(values), p)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", nargs="*", type=Path)
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("POLICYBOT_DATA_DIR", "data")))
    parser.add_argument("--chunks", type=int, default=200_000)
    parser.add_argument("--asks", type=int, default=100, help="questions asked per replica, after the first")
    parser.add_argument("--keep", type=Path, help="build the synthetic data dir here and keep it (reused if present)")
    parser.add_argument("--server", action="store_true", help="only the runs of a bot host whose vectors are in a `chroma run` server")
    parser.add_argument("--host", action="store_true",
                        help="only the runs of a new bot host of a shared PostgreSQL (empty data dir, vectors in a `chroma run` server)")
    parser.add_argument("--keep-server", type=Path, help="with --server/--host: build that synthetic data dir here and keep it")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="ask", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        questions = json.loads(args.questions[0].read_text(encoding="utf-8"))
        child(args.child, questions, args.mode)
        return

    texts = []
    for path in args.questions:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["question"])
    if not texts:
        raise SystemExit("Error: give one or more question files (JSONL with a 'question' field).")
    texts = (texts * (args.asks // len(texts) + 1))[: args.asks + 1]

    with tempfile.TemporaryDirectory(prefix="scale-bench-") as tmp_name:
        tmp = Path(tmp_name)
        qfile = tmp / "questions.json"
        qfile.write_text(json.dumps(texts), encoding="utf-8")
        if args.host:
            runs = host_runs(args, qfile, tmp)
            report_rows(runs)
            for name, r in runs.items():  # the first asks share the cores with the start-up cache being written
                later = r["ask_ms"][len(r["ask_ms"]) // 2 :]
                print(f"{name}: ask p50 / p95 over the second half of the asks {pct(later, 50):.0f} / {pct(later, 95):.0f} ms")
            return
        if args.server:
            server = server_runs(args, qfile, tmp)
            report_rows(server)
            return
        today = tmp / "today"
        shutil.copytree(args.data, today, ignore=shutil.ignore_patterns("vectors-*.npy", "warm-*.pkl"))
        synth = args.keep or tmp / "synth"
        if not (synth / "index").exists():
            t = time.perf_counter()
            built = build_synthetic(args.data, synth, args.chunks)
            built["build_s"] = time.perf_counter() - t
            print(f"built {built['chunks']:,} chunks from {built['real_chunks']:,} real ones in {built['build_s']:.0f} s", flush=True)
        save_lexical(synth)
        for pattern in ("index/**/vectors-*.npy", "index/**/warm-*.pkl"):
            for old in synth.glob(pattern):
                old.unlink()  # the cold start parses the snapshot and reads Chroma

        runs: dict[str, dict[str, Any]] = {}
        runs["today"] = run_replica(today, qfile)
        runs["200k cold"] = run_replica(synth, qfile)
        runs["200k warm"] = run_replica(synth, qfile)
        runs["200k ann"] = run_replica(synth, qfile, mode="ann")
        runs["hnsw"] = run_replica(synth, qfile, mode="hnsw")
    report(runs, len(texts) - 1)


def report_rows(runs: dict[str, dict[str, Any]], names: tuple[str, ...] | None = None) -> None:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nextractive asks, no LLM; times in ms, memory in MiB; load average {load} on {os.cpu_count()} cores\n")
    print("| run | chunks | ready s (CPU s) | ask p50 / p95 | ask CPU p50 / p95 | exact scan p50 / p95 | RSS (peak) | RSS file-backed |")
    print("|---|---|---|---|---|---|---|---|")
    for name in names or tuple(runs):
        r = runs[name]
        m = r["memory_mib"]
        print(
            f"| {name} | {r['chunks']:,} | {r['ready_s']:.1f} ({r['ready_cpu_s']:.1f}) "
            f"| {pct(r['ask_ms'], 50):.0f} / {pct(r['ask_ms'], 95):.0f} | {pct(r['ask_cpu_ms'], 50):.0f} / {pct(r['ask_cpu_ms'], 95):.0f} "
            f"| {pct(r['exact_dense_ms'], 50):.1f} / {pct(r['exact_dense_ms'], 95):.1f} | {m['VmRSS']:.0f} ({m['VmHWM']:.0f}) "
            f"| {m['RssFile']:.0f} |"
        )


def report(runs: dict[str, dict[str, Any]], asks: int) -> None:
    print(f"\nwarm asks per replica: {asks}")
    report_rows(runs, ("today", "200k cold", "200k warm", "200k ann"))
    h = runs["hnsw"]
    print("\nChroma HNSW on the same 200k vectors (dense search only), ms:\n")
    print("| query | p50 | p95 |")
    print("|---|---|---|")
    for key, label in (("plain_ms", "top 80, no filter"), ("post_filter_ms", "top 800, filtered after"), ("where_ms", "top 80, `where` source filter")):
        print(f"| {label} | {pct(h[key], 50):.1f} | {pct(h[key], 95):.1f} |")
    print(f"\nHNSW index load {h['load_s']:.1f} s, RSS {h['memory_mib']['VmRSS']:.0f} MiB (peak {h['memory_mib']['VmHWM']:.0f})")
    warm, today = runs["200k warm"], runs["today"]
    print("\nratios (this run):")
    print(f"  200k / today ask p50: {pct(warm['ask_ms'], 50) / pct(today['ask_ms'], 50):.2f}, p95: {pct(warm['ask_ms'], 95) / pct(today['ask_ms'], 95):.2f}")
    print(f"  cold / warm ready: {runs['200k cold']['ready_s'] / warm['ready_s']:.2f}")
    exact = pct(warm["exact_dense_ms"], 50)
    for key in ("plain_ms", "post_filter_ms", "where_ms"):
        print(f"  HNSW {key[:-3]} / exact scan p50: {pct(h[key], 50) / exact:.2f}")
    ann = runs["200k ann"]
    print(f"  ann / exact (200k warm) ask p50: {pct(ann['ask_ms'], 50) / pct(warm['ask_ms'], 50):.2f}, p95: {pct(ann['ask_ms'], 95) / pct(warm['ask_ms'], 95):.2f}")


if __name__ == "__main__":
    main()
