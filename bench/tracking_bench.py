"""How fast the tracking commands answer, warm and as a fresh CLI process.

    POLICYBOT_DATA_DIR=/tmp/copy-of-data python bench/tracking_bench.py [--runs 5]

Needs a synced and indexed data dir (it writes the timeline cache into it). Reports the median of
``--runs``: the timeline loaded in a running process (warm), ``provision_dates`` per citation, a
briefing of each indexed source built in a running process (warm, after one untimed build), and
``policybot timeline`` / ``policybot brief`` as fresh processes (wall clock, including start-up).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.assistant import Assistant  # noqa: E402
from bot.config import get_settings  # noqa: E402
from bot.tracking.applies import provision_dates  # noqa: E402
from bot.tracking.briefing import build_briefing  # noqa: E402
from bot.tracking.build import load_timeline  # noqa: E402


def median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    settings = get_settings()
    load_timeline(settings)  # builds the cache once
    print(f"timeline, warm in-process:        {median_ms(lambda: load_timeline(settings), args.runs):8.1f} ms")
    tl = load_timeline(settings)
    cites = [("ai-act", "annex-iii", None), ("ai-act", "art-5", "1a"), ("data-act", "art-29", "1"), ("nis2", "art-21", None)]
    per = median_ms(lambda: [provision_dates(s, u, p, timeline=tl) for s, u, p in cites], args.runs) / len(cites)
    print(f"provision_dates, per citation:    {per:8.2f} ms")
    assistant = Assistant(settings)
    for spec in assistant.manifest.sources:
        build_briefing(assistant, spec.id)  # loads the index once
        print(f"brief {spec.id:20} warm:   {median_ms(lambda: build_briefing(assistant, spec.id), args.runs):8.1f} ms")
    build_briefing(assistant, "ai-act", topic="banking")
    print(f"brief ai-act --topic banking warm: {median_ms(lambda: build_briefing(assistant, 'ai-act', topic='banking'), args.runs):7.1f} ms")
    env = dict(os.environ)
    for cmd in (["timeline", "ai-act"], ["timeline", "--as-of", "2026-12-06"], ["brief", "ai-act"]):
        ms = median_ms(lambda: subprocess.run([sys.executable, "-m", "bot.cli", *cmd], cwd=ROOT, env=env,
                                              capture_output=True, check=True), max(1, args.runs // 2))
        print(f"policybot {' '.join(cmd):28} process: {ms:8.0f} ms")


if __name__ == "__main__":
    main()
