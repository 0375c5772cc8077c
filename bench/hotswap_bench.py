"""Hot-swap benchmark: a new index generation published while two replicas answer a steady question rate.

    .venv/bin/python bench/hotswap_bench.py                      # 20 questions/s, chips-act + nis2
    .venv/bin/python bench/hotswap_bench.py --rate 20 --sources chips-act,nis2,ai-act

Starts a real PostgreSQL (Debian's binaries, as the tests do) and a `chroma run` server on 127.0.0.1,
builds the first generation with the CLI from the mirror (an indexer data dir), then starts two replicas
(each an Assistant with its own empty data dir, the database URL and the Chroma server, and a
GenerationWatcher) and asks them ``--rate`` questions a second in turn. After ``--warmup`` seconds the
indexer syncs a Chips Act with one marked sentence and publishes a new generation. Reports: questions
asked, failed (an exception, or no citation), latency p50/p95/max before, during and after the swap,
the rate reached, and the seconds from the publish (the `index` run's end) until each replica serves
the new text. The targets (issue 12): no failed question, both replicas within 60 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bot.assistant import Assistant  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.serving import GenerationWatcher  # noqa: E402
from tests.pg import find_bindir, start_postgres  # noqa: E402

MIRROR = ROOT.parent / "shared" / "corpus"
MARK = "septendecillion"
SENTENCE = "This Regulation establishes a framework for strengthening the semiconductor ecosystem at Union level"
QUESTIONS = ["What does the Chips Act establish?", "Who must report incidents under NIS2?",
             "What is a significant incident under NIS2?", "What is the aim of the Chips Act?"]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(data: Path, env: dict[str, str], *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "POLICYBOT_DATA_DIR": str(data), **env})
    if done.returncode != 0:
        sys.exit(f"policybot {' '.join(args)} failed: {done.stderr.strip()[-500:]}")


def serves_mark(bot: Assistant) -> bool:
    return any(MARK in c.text for c in bot.retriever.snapshot.chunks)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=20.0, help="questions per second, over both replicas")
    ap.add_argument("--sources", default="chips-act,nis2")
    ap.add_argument("--warmup", type=float, default=10.0, help="seconds of questions before the new generation")
    ap.add_argument("--after", type=float, default=10.0, help="seconds of questions once both replicas swapped")
    args = ap.parse_args()
    bindir = find_bindir()
    if bindir is None or not MIRROR.is_dir():
        sys.exit("needs PostgreSQL's binaries and ../shared/corpus")
    tmp = Path(tempfile.mkdtemp(prefix="policybot-hotswap-"))
    pg = start_postgres(bindir)
    port = free_port()
    chroma = subprocess.Popen([str(Path(sys.executable).with_name("chroma")), "run", "--host", "127.0.0.1", "--port",
                               str(port), "--path", str(tmp / "chroma")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        url = pg.create_database()
        env = {"POLICYBOT_DATABASE_URL": url, "POLICYBOT_CHROMA_HOST": "127.0.0.1", "POLICYBOT_CHROMA_PORT": str(port)}
        indexer = tmp / "indexer"
        for source in args.sources.split(","):
            cli(indexer, env, "sync", "--mirror", str(MIRROR), "--source", source)
        t0 = time.perf_counter()
        cli(indexer, env, "index")
        print(f"first generation built in {time.perf_counter() - t0:.1f} s")
        bots = [Assistant(Settings(data_dir=tmp / f"bot-{i}", database_url=url, chroma_host="127.0.0.1", chroma_port=port,
                                   _env_file=None)) for i in (1, 2)]  # type: ignore[call-arg]
        for bot in bots:
            bot.ask(QUESTIONS[0], mode="extractive")
        watchers = [GenerationWatcher(bot).start() for bot in bots]
        mirror = tmp / "mirror" / "chips-act"
        mirror.mkdir(parents=True)
        text = (MIRROR / "chips-act" / "chips-act.md").read_text(encoding="utf-8")
        (mirror / "chips-act.md").write_text(text.replace(SENTENCE, f"{SENTENCE}, the {MARK} framework,", 1), encoding="utf-8")

        results: list[tuple[float, float, bool, str]] = []  # (sent at, latency, ok, phase)
        phase = ["before"]
        swapped: dict[int, float] = {}
        published = [0.0]

        def one(i: int) -> None:
            bot = bots[i % 2]
            start = time.perf_counter()
            try:
                answer = bot.ask(QUESTIONS[i % len(QUESTIONS)], mode="extractive")
                ok = bool(answer.citations) and not answer.abstained
            except Exception as exc:  # noqa: BLE001 - counted as a failure
                print(f"failed: {type(exc).__name__}: {exc}")
                ok = False
            results.append((start, time.perf_counter() - start, ok, phase[0]))

        def publish() -> None:
            time.sleep(args.warmup)
            phase[0] = "during"
            cli(indexer, env, "sync", "--mirror", str(tmp / "mirror"), "--source", "chips-act")
            cli(indexer, env, "index")
            published[0] = time.perf_counter()

        publisher = threading.Thread(target=publish)
        publisher.start()
        started = time.perf_counter()
        i = 0
        with ThreadPoolExecutor(max_workers=16) as pool:
            while True:
                now = time.perf_counter()
                for n, bot in enumerate(bots):
                    if n not in swapped and serves_mark(bot):
                        swapped[n] = now
                if len(swapped) == 2 and phase[0] == "during":
                    phase[0] = "after"
                    done_at = now
                if phase[0] == "after" and now - done_at > args.after:
                    break
                if published[0] and now - published[0] > 120:
                    print("not both swapped within 120 s")
                    break
                target = started + i / args.rate
                if target > now:
                    time.sleep(target - now)
                pool.submit(one, i)
                i += 1
        publisher.join()
        for w in watchers:
            w.stop()
        elapsed = time.perf_counter() - started
        print(f"{len(results)} questions in {elapsed:.1f} s ({len(results) / elapsed:.1f}/s), "
              f"failed: {sum(1 for r in results if not r[2])}")
        for name in ("before", "during", "after"):
            lat = [r[1] * 1000 for r in results if r[3] == name]
            if lat:
                print(f"  {name:6s} n={len(lat):4d}  p50 {pct(lat, 50):6.0f} ms  p95 {pct(lat, 95):6.0f} ms  max {max(lat):6.0f} ms")
        for n in sorted(swapped):
            print(f"  replica {n + 1} serves the new text {swapped[n] - published[0]:+.1f} s after the publish")
        return 0 if len(swapped) == 2 and all(r[2] for r in results) else 1
    finally:
        chroma.terminate()
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
