"""Optional allow-lists of channels and users (POLICYBOT_SLACK_ALLOWED_CHANNELS / _USERS).

Empty lists allow everyone. The channel list applies to channels only: direct
messages (ids starting with ``D``) are governed by the user list alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import Settings

REFUSE_CHANNEL = "Sorry, I'm not set up to answer in this channel. Ask an admin to add it, or send me a direct message."
REFUSE_USER = "Sorry, I can't answer your questions here yet. Ask an admin to add you to policybot's allowed users."


def _ids(value: str) -> frozenset[str]:
    return frozenset(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class AccessPolicy:
    channels: frozenset[str] = field(default_factory=frozenset)
    users: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_settings(cls, settings: Settings) -> AccessPolicy:
        return cls(_ids(settings.slack_allowed_channels), _ids(settings.slack_allowed_users))

    def refusal(self, *, user: str | None, channel: str | None) -> str | None:
        """None when allowed, else the polite sentence to reply with."""
        if self.users and user not in self.users:
            return REFUSE_USER
        if self.channels and channel and not channel.startswith("D") and channel not in self.channels:
            return REFUSE_CHANNEL
        return None
