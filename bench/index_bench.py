"""Indexing benchmark: the whole mirror plus the article, from scratch, then a no-op re-run.

    python bench/index_bench.py [--mirror ../shared/corpus] [--data DIR] [--keep]

Prints corpus words, units, chunks, full index time, no-op re-index time, index size on disk,
peak memory (max RSS of this process), and the warm/cold ask latencies on the built index.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUESTIONS = [
    "What is the maximum fine for prohibited AI practices?",
    "Is credit scoring high-risk under the AI Act?",
    "How is a semiconductor crisis declared under the Chips Act?",
    "Wat verbiedt de AI-verordening?",
    "What does NIS2 require for incident reporting?",
    "How much of the European cloud market do US providers control according to ABN AMRO?",
]


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--data", type=Path, default=None, help="data dir (default: a fresh temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the temp data dir")
    args = parser.parse_args()

    data = args.data or Path(tempfile.mkdtemp(prefix="policybot-bench-"))
    os.environ["POLICYBOT_DATA_DIR"] = str(data)
    from bot.assistant import Assistant
    from bot.config import Settings
    from bot.index import build_index
    from bot.sources import load_manifest
    from bot.sync import sync

    settings = Settings(data_dir=data, _env_file=None)  # type: ignore[call-arg]
    t = time.perf_counter()
    results = sync(load_manifest(settings.manifest_path), settings, mirror=args.mirror)
    sync_s = time.perf_counter() - t
    print(f"sync: {sum(r.ok for r in results)} texts in {sync_s:.2f} s")

    t = time.perf_counter()
    report = build_index(settings)
    full_s = time.perf_counter() - t
    t = time.perf_counter()
    again = build_index(settings)
    noop_s = time.perf_counter() - t

    assistant = Assistant(settings)
    assistant.ask(QUESTIONS[0])  # load
    lat = []
    for _ in range(3):
        for q in QUESTIONS:
            t = time.perf_counter()
            assistant.ask(q)
            lat.append((time.perf_counter() - t) * 1000)
    env = {**os.environ, "POLICYBOT_DATA_DIR": str(data)}
    cold = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bot.cli", "ask", QUESTIONS[1]], env=env, cwd=ROOT, capture_output=True, check=True)
        cold.append(time.perf_counter() - t)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"corpus words:        {report.words:,}")
    print(f"units:               {report.units:,}")
    print(f"chunks:              {report.chunks:,}")
    print(f"full index:          {full_s:.1f} s ({report.chunks / full_s:.1f} chunks/s)")
    print(f"no-op re-index:      {noop_s:.2f} s (embedded {again.added}, removed {again.removed})")
    print(f"index size:          {folder_size(data / 'chroma') / 1e6:.1f} MB chroma + {folder_size(data / 'index') / 1e6:.1f} MB snapshot")
    print(f"peak memory:         {peak_mb:.0f} MB (max RSS)")
    print(f"warm ask p50 / p95:  {statistics.median(lat):.0f} / {sorted(lat)[int(0.95 * (len(lat) - 1))]:.0f} ms ({len(lat)} asks)")
    print(f"cold `policybot ask`: {statistics.median(cold):.2f} s median of {len(cold)}")
    if not args.data and not args.keep:
        shutil.rmtree(data, ignore_errors=True)
    elif not args.data:
        print(f"data kept in {data}")


if __name__ == "__main__":
    main()
