"""Load benchmark of the Slack layer: signed events into the HTTP-mode app, a local Slack Web API.

    .venv/bin/python bench/slack_load.py                 # real Assistant (needs an index under the data dir)
    .venv/bin/python bench/slack_load.py --fake-answers  # the Slack layer alone

Sends ``--events`` app mentions, ``--concurrency`` at a time, each to be answered
in its own thread, and reports ack latency (HTTP response time) p50/p95/max,
time to answer (send → chat.postMessage received) p50/p95, and the numbers of
lost and duplicated answers. ``--redeliver N`` also re-sends N of the events
(as Slack does on a timeout) to check they are still answered exactly once.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from pydantic import SecretStr  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.models import Answer, Citation  # noqa: E402
from bot.slack import build_app  # noqa: E402
from slack_fixtures import BOT_TOKEN, SIGNING_SECRET, SlackRequests, serve_app, start_fake_slack_api  # noqa: E402

QUESTIONS = [
    "What does the AI Act ban?",
    "What are the fines under the AI Act?",
    "What is the aim of the Chips Act?",
    "Who must report incidents under NIS2?",
    "What does the Data Act say about connected products?",
]


class FakeAnswers:
    """Instant canned answers: measures the Slack layer alone."""

    def ask(self, question: str, **_: Any) -> Answer:
        cite = Citation(n=1, source="ai-act", unit="art-5", ref="Article 5(1)", url="https://eur-lex.europa.eu/eli/reg/2024/1689/oj",
                        quote="The following AI practices shall be prohibited …")
        return Answer(question=question, text="A canned answer [1].", citations=[cite])


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def real_answerer(settings: Settings) -> Any:
    from bot.assistant import Assistant

    assistant = Assistant(settings)
    try:
        assistant.ask(QUESTIONS[0])
    except Exception as exc:  # noqa: BLE001
        sys.exit(f"The real Assistant cannot answer yet ({type(exc).__name__}: {exc}). "
                 f"Build an index under {settings.data_dir} (policybot index) or use --fake-answers.")
    return assistant


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--fake-answers", action="store_true", help="canned answers instead of the real Assistant")
    parser.add_argument("--redeliver", type=int, default=0, help="re-send this many events with X-Slack-Retry-Num")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for all answers")
    parser.add_argument(
        "--closed-loop", action="store_true",
        help="each of the --concurrency senders waits for its answer before sending the next event "
        "(people waiting in Slack); default: send as soon as the previous event is acked (a burst)",
    )
    args = parser.parse_args()

    api, api_server = start_fake_slack_api()
    base = Settings()
    state = Path(tempfile.mkdtemp(prefix="slack-load-"))
    answerer = FakeAnswers() if args.fake_answers else real_answerer(base)  # the index lives in the real data dir
    # The bot's own state (seen events, feedback) goes to a scratch folder, never the real data dir.
    settings = base.model_copy(update={
        "data_dir": state, "slack_api_url": api.url, "slack_allowed_channels": "", "slack_allowed_users": "",
        "slack_bot_token": SecretStr(BOT_TOKEN), "slack_signing_secret": SecretStr(SIGNING_SECRET),
    })
    app, _ = build_app(settings, answerer=answerer, http=True)
    url, server = serve_app(app)
    slack = SlackRequests(url, api.url)

    events = []
    for i in range(args.events):
        ts = f"{1800000000 + i}.000100"
        events.append((f"EvLOAD{i:06d}", slack.mention(QUESTIONS[i % len(QUESTIONS)], channel=f"C{i % 7:08d}", ts=ts)))
    sent_at: dict[str, float] = {}
    acks: list[float] = []
    statuses: Counter[int] = Counter()

    def send(item: tuple[str, dict[str, Any]], retry: int | None = None) -> None:
        event_id, event = item
        sent_at.setdefault(event["ts"], time.perf_counter())
        resp = slack.event(event, event_id=event_id, retry=retry)
        acks.append(resp.seconds)
        statuses[resp.status] += 1
        if args.closed_loop and retry is None:
            deadline = time.perf_counter() + args.timeout
            while time.perf_counter() < deadline and not any(
                c.params.get("thread_ts") == event["ts"] for c in api.named("chat.postMessage")
            ):
                time.sleep(0.005)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        list(pool.map(send, events))
        list(pool.map(lambda item: send(item, retry=1), events[: args.redeliver]))
    api.wait_for("chat.postMessage", args.events, timeout=args.timeout)
    time.sleep(1.0)  # let any duplicate arrive
    elapsed = time.perf_counter() - start

    answered: dict[str, list[float]] = {}
    for call in api.named("chat.postMessage"):
        thread = call.params.get("thread_ts")
        if thread in sent_at:
            answered.setdefault(thread, []).append(call.at)
    answer_times = [min(times) - sent_at[ts] for ts, times in answered.items()]
    lost = sum(1 for _, e in events if e["ts"] not in answered)
    duplicated = sum(len(v) - 1 for v in answered.values())
    ms = lambda s: f"{s * 1000:.1f} ms"  # noqa: E731
    print(f"events: {args.events} ({args.redeliver} redelivered), concurrency {args.concurrency} "
          f"({'closed loop' if args.closed_loop else 'burst'}), "
          f"answers: {'fake' if args.fake_answers else 'real Assistant'}; HTTP statuses {dict(statuses)}")
    print(f"ack latency   p50 {ms(pct(acks, 50))}  p95 {ms(pct(acks, 95))}  max {ms(max(acks))}")
    print(f"time to answer p50 {ms(pct(answer_times, 50))}  p95 {ms(pct(answer_times, 95))}  "
          f"(mean {ms(statistics.fmean(answer_times)) if answer_times else 'n/a'})")
    print(f"lost {lost}  duplicated {duplicated}  wall {elapsed:.2f} s  "
          f"Web API calls {len(api.calls)} (429s {sum(c.status == 429 for c in api.calls)})")
    server.shutdown()
    api_server.shutdown()
    sys.exit(0 if lost == 0 and duplicated == 0 else 1)


if __name__ == "__main__":
    main()
