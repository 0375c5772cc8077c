"""Build the Bolt app and run it in Socket Mode or HTTP mode.

``build_app`` takes the answerer (anything with ``Assistant.ask``'s signature)
and an optional ``WebClient``, so tests and benchmarks run the real Slack layer
against a local Web API server. ``run_slack`` is what ``policybot slack`` calls.

Start-up fails with one :class:`~bot.errors.BotError` line, never a traceback,
when the Slack API cannot be reached or refuses the token, or the state
database cannot be opened.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPException
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryHandler, RetryState
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from ..config import Settings
from ..errors import BotError, SlackConfigError
from ..logs import configure_json_logging
from ..metrics import count_slack_error
from .briefings import Briefings
from .context import Answerer, SlackContext
from .delivery import Backoff, describe
from .healthcheck import Health
from .listeners import register_listeners
from .redact import install_redaction
from .server import make_server
from .tokens import APPS_PAGE, app_token, bot_token, signing_secret

if TYPE_CHECKING:
    from ..assistant import Assistant

log = logging.getLogger(__name__)

WORKERS = 4  # answering is CPU-bound: more threads only starve the acks (ack p95 488 ms with 16, 68 ms with 4)
REFUSED_TOKEN = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"})


class CountSlackErrors(RetryHandler):
    """Counts each failed Web API try in ``policybot_slack_api_errors`` and never asks for a retry.

    slack_sdk shows every try's response or error to each retry handler in turn, and Bolt copies the handlers
    into the client it makes for each request, so this sees every call the app makes. It goes first: a
    handler that retries ends the round.
    """

    def can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                  error: Exception | None = None) -> bool:
        method = urlsplit(request.url).path.rsplit("/", 1)[-1]
        if response is not None and response.status_code != 200:
            count_slack_error(method, f"http_{response.status_code}")
        elif response is not None and isinstance(response.body, dict) and response.body.get("ok") is False:
            count_slack_error(method, str(response.body.get("error") or "unknown"))
        elif error is not None:  # no answer at all: the connection failed
            count_slack_error(method, type(error).__name__)
        return False


def make_client(settings: Settings, token: str) -> WebClient:
    """A Web API client on ``settings.slack_api_url`` that retries connection errors and 429s."""
    base_url = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    return WebClient(
        token=token,
        base_url=base_url,
        retry_handlers=[CountSlackErrors(), ConnectionErrorRetryHandler(max_retry_count=2),
                        RateLimitErrorRetryHandler(max_retry_count=3)],
    )


def _shown(url: str) -> str:
    """The API URL without any user:password@ part."""
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]).geturl()


def _failed_call(exc: Exception, settings: Settings, method: str, variable: str, where: str) -> BotError:
    """One line for a Web API call that failed at start-up: refused credentials, or Slack out of reach."""
    url = _shown(settings.slack_api_url)
    if isinstance(exc, SlackApiError):
        error = describe(exc)
        if error in REFUSED_TOKEN:
            return SlackConfigError(f"Slack refused {variable} ({error}).",
                                    help=f"Copy it again from {APPS_PAGE} → your app → {where}.")
        return BotError(f"The Slack API at {url} answered {method} with an error ({error}).",
                        help="Check POLICYBOT_SLACK_API_URL and https://slack-status.com, then start again.")
    return BotError(f"Cannot reach the Slack API at {url} ({describe(exc)}).",
                    help="Check the network, a proxy or POLICYBOT_SLACK_API_URL, then start again.")


def _check_auth(client: WebClient, settings: Settings) -> Any:
    try:
        return client.auth_test()
    except (SlackApiError, OSError, HTTPException) as exc:
        raise _failed_call(exc, settings, "auth.test", "SLACK_BOT_TOKEN",
                           "OAuth & Permissions (Bot User OAuth Token)") from exc


def _check_app_token(client: WebClient, settings: Settings, xapp: str) -> None:
    try:
        client.apps_connections_open(app_token=xapp)
    except (SlackApiError, OSError, HTTPException) as exc:
        raise _failed_call(exc, settings, "apps.connections.open", "SLACK_APP_TOKEN",
                           "Basic Information → App-Level Tokens (connections:write)") from exc


class _TokenFromClient(logging.Filter):
    """Bolt also reads SLACK_BOT_TOKEN from the environment and notes that our client's token wins: noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def build_app(
    settings: Settings,
    *,
    answerer: Answerer,
    http: bool = True,
    client: WebClient | None = None,
    briefings: Briefings | None = None,
    workers: int = WORKERS,
    backoff: Backoff | None = None,
) -> tuple[App, SlackContext]:
    """The configured Bolt app and its context.

    Raises a one-line BotError when the credentials are bad or refused, Slack cannot be reached, or the state
    database cannot be opened. ``backoff`` is how answers are retried while Slack is unreachable.
    """
    token = bot_token(settings)
    secret = signing_secret(settings) if http else None
    client = client or make_client(settings, token)
    ctx = SlackContext.build(settings, answerer, briefings, backoff)
    auth = _check_auth(client, settings)  # before Bolt's own auth.test, which would end in a traceback
    bolt_log = logging.getLogger("bot.slack.bolt")
    if not any(isinstance(f, _TokenFromClient) for f in bolt_log.filters):
        bolt_log.addFilter(_TokenFromClient())
    app = App(
        client=client,
        signing_secret=secret,
        request_verification_enabled=http,  # forged or stale (> 5 min) requests get 401
        # Acks run in the request's own thread and return at once; the answers run as lazy listeners in
        # the pool below, so a busy pool never delays an ack (which would make Slack retry).
        process_before_response=True,
        listener_executor=ThreadPoolExecutor(max_workers=workers, thread_name_prefix="policybot-slack"),
        logger=bolt_log,
    )
    ctx.bot_user_id = auth.get("user_id")
    register_listeners(app, ctx)
    return app, ctx


def default_answerer(settings: Settings) -> Assistant:
    """The front desk: the assistant, and a briefing for a question that asks for one."""
    from ..desk import Desk

    return Desk(settings)


def _exit_on_sigterm() -> None:
    """Stop cleanly on SIGTERM (``docker stop``): as PID 1, Python would otherwise ignore it."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def _warm(answerer: Assistant) -> Any:
    """Load the index and answer one question (extractive: no LLM call), so the first real one pays no loading."""
    answerer.ask("What does the AI Act ban?", mode="extractive")
    return answerer.retriever


def run_slack(settings: Settings, *, http: bool, host: str = "127.0.0.1", port: int = 3000) -> None:
    """Run until interrupted. Socket Mode needs SLACK_APP_TOKEN; HTTP mode needs SLACK_SIGNING_SECRET.

    Logs are JSON lines on stderr. The index loads in the background as soon as the server is up; ``/readyz``
    answers 503 until it serves. In Socket Mode the probes are served on POLICYBOT_HEALTH_HOST (default
    127.0.0.1) : POLICYBOT_HEALTH_PORT when that is set.
    """
    configure_json_logging()
    install_redaction()
    # slack_sdk logs every failed try and retry of a call, then raises; policybot logs each failure once, with
    # what it means (a start-up error line, a retry warning, an undelivered answer), so its lines are noise.
    logging.getLogger("slack_sdk.web.base_client").setLevel(logging.CRITICAL)
    _exit_on_sigterm()
    token = bot_token(settings)
    xapp = None if http else app_token(settings)
    secret = signing_secret(settings) if http else ""
    client = make_client(settings, token)
    answerer = default_answerer(settings)
    app, _ = build_app(settings, answerer=answerer, http=http, client=client)
    health = Health(settings, load=lambda: _warm(answerer))
    # A newer index generation is loaded in the background and served without a restart. (Imported here,
    # like the Assistant: `python -m bot.slack.healthcheck` imports this package and must stay quick.)
    from ..serving import GenerationWatcher

    GenerationWatcher(answerer, on_swap=health.serves).start()
    if http:
        server = make_server(app, host, port, signing_secret=secret, health=health)
        log.info("policybot Slack app listening on http://%s:%s/slack/events", host, server.server_address[1])
        health.load_in_background()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    else:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        assert xapp is not None
        _check_app_token(client, settings, xapp)
        handler = SocketModeHandler(app, xapp)
        health.socket_connected = handler.client.is_connected
        health_port = os.environ.get("POLICYBOT_HEALTH_PORT", "").strip()
        if health_port.isdigit():
            probes = make_server(None, os.environ.get("POLICYBOT_HEALTH_HOST", "127.0.0.1"), int(health_port),
                                 signing_secret="", health=health)
            threading.Thread(target=probes.serve_forever, name="policybot-probes", daemon=True).start()
            log.info("health probes on http://%s:%s/healthz", *probes.server_address[:2])
        health.load_in_background()
        log.info("policybot Slack app connecting in Socket Mode")
        handler.start()
