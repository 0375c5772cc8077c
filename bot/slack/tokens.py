"""Start-up checks of the Slack credentials: one clear line naming the variable, never the value."""

from __future__ import annotations

from pydantic import SecretStr

from ..config import Settings
from ..errors import SlackConfigError

APPS_PAGE = "https://api.slack.com/apps"


def _value(secret: SecretStr | None) -> str:
    return secret.get_secret_value().strip() if secret is not None else ""


def _token(secret: SecretStr | None, variable: str, prefix: str, where: str) -> str:
    value = _value(secret)
    if not value:
        raise SlackConfigError(f"{variable} is not set.", help=f"Copy it from {APPS_PAGE} → your app → {where}.")
    if not value.startswith(prefix) or any(c.isspace() for c in value):
        raise SlackConfigError(
            f"{variable} is malformed: it must start with {prefix!r}.",
            help=f"Copy it again from {APPS_PAGE} → your app → {where}.",
        )
    return value


def bot_token(settings: Settings) -> str:
    return _token(settings.slack_bot_token, "SLACK_BOT_TOKEN", "xoxb-", "OAuth & Permissions (Bot User OAuth Token)")


def app_token(settings: Settings) -> str:
    return _token(
        settings.slack_app_token, "SLACK_APP_TOKEN", "xapp-", "Basic Information → App-Level Tokens (connections:write)"
    )


def signing_secret(settings: Settings) -> str:
    value = _value(settings.slack_signing_secret)
    if not value:
        raise SlackConfigError(
            "SLACK_SIGNING_SECRET is not set (needed in HTTP mode).",
            help=f"Copy it from {APPS_PAGE} → your app → Basic Information → Signing Secret.",
        )
    if any(c.isspace() for c in value) or not value.isalnum():
        raise SlackConfigError(
            "SLACK_SIGNING_SECRET is malformed: it must be the hex string Slack shows.",
            help=f"Copy it again from {APPS_PAGE} → your app → Basic Information → Signing Secret.",
        )
    return value
