"""Build the Bolt app and run it in Socket Mode or HTTP mode.

``build_app`` takes the answerer (anything with ``Assistant.ask``'s signature)
and an optional ``WebClient``, so tests and benchmarks run the real Slack layer
against a local Web API server. ``run_slack`` is what ``policybot slack`` calls.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from ..config import Settings
from .briefings import Briefings
from .context import Answerer, SlackContext
from .listeners import register_listeners
from .redact import install_redaction
from .server import make_server
from .tokens import app_token, bot_token, signing_secret

log = logging.getLogger(__name__)

WORKERS = 4  # answering is CPU-bound: more threads only starve the acks (ack p95 488 ms with 16, 68 ms with 4)


def make_client(settings: Settings, token: str) -> WebClient:
    """A Web API client on ``settings.slack_api_url`` that retries connection errors and 429s."""
    base_url = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    return WebClient(
        token=token,
        base_url=base_url,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=2), RateLimitErrorRetryHandler(max_retry_count=3)],
    )


def build_app(
    settings: Settings,
    *,
    answerer: Answerer,
    http: bool = True,
    client: WebClient | None = None,
    briefings: Briefings | None = None,
    workers: int = WORKERS,
) -> tuple[App, SlackContext]:
    """The configured Bolt app and its context. Raises SlackConfigError on bad credentials."""
    token = bot_token(settings)
    secret = signing_secret(settings) if http else None
    client = client or make_client(settings, token)
    ctx = SlackContext.build(settings, answerer, briefings)
    app = App(
        client=client,
        signing_secret=secret,
        request_verification_enabled=http,  # forged or stale (> 5 min) requests get 401
        # Acks run in the request's own thread and return at once; the answers run as lazy listeners in
        # the pool below, so a busy pool never delays an ack (which would make Slack retry).
        process_before_response=True,
        listener_executor=ThreadPoolExecutor(max_workers=workers, thread_name_prefix="policybot-slack"),
        logger=logging.getLogger("bot.slack.bolt"),
    )
    auth = client.auth_test()
    ctx.bot_user_id = auth.get("user_id")
    register_listeners(app, ctx)
    return app, ctx


def default_answerer(settings: Settings) -> Answerer:
    from ..assistant import Assistant

    return Assistant(settings)


def _exit_on_sigterm() -> None:
    """Stop cleanly on SIGTERM (``docker stop``): as PID 1, Python would otherwise ignore it."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def run_slack(settings: Settings, *, http: bool, host: str = "127.0.0.1", port: int = 3000) -> None:
    """Run until interrupted. Socket Mode needs SLACK_APP_TOKEN; HTTP mode needs SLACK_SIGNING_SECRET."""
    install_redaction()
    _exit_on_sigterm()
    token = bot_token(settings)
    xapp = None if http else app_token(settings)
    if http:
        signing_secret(settings)
    app, _ = build_app(settings, answerer=default_answerer(settings), http=http, client=make_client(settings, token))
    if http:
        server = make_server(app, host, port)
        log.info("policybot Slack app listening on http://%s:%s/slack/events", host, server.server_address[1])
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    else:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        log.info("policybot Slack app connecting in Socket Mode")
        SocketModeHandler(app, xapp).start()
