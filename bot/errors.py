"""Errors policybot raises on purpose, with messages written for users.

    BotError                    anything policybot reports as one clear line
    ├── ConfigError             a setting or a prompt template is wrong
    ├── SourceError             an unknown source id or alias
    ├── FetchError              an official text could not be fetched (retryable)
    ├── ParseError              a file could not be read as an act (names the file)
    ├── IndexMissingError       nothing is indexed yet
    ├── IndexCorruptError       part of the index is damaged (names the folder and the repair)
    ├── QuestionError           the question cannot be asked as given
    ├── LLMError                the language model failed (retryable; extractive fallback)
    ├── EmbeddingError          the embedding endpoint failed (retryable)
    └── SlackConfigError        a Slack token or secret is missing or malformed

Every error carries ``help``: what to do next. The CLI prints ``Error: message``
and the help, never a traceback.
"""

from __future__ import annotations


class BotError(Exception):
    """Base of every error policybot reports to users."""

    retryable: bool = False

    def __init__(self, message: str, *, help: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.help = help

    def __str__(self) -> str:
        return self.message


class ConfigError(BotError):
    pass


class SourceError(BotError):
    pass


class FetchError(BotError):
    retryable = True


class ParseError(BotError):
    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class IndexMissingError(BotError):
    def __init__(self, message: str = "Nothing is indexed yet.", *, help: str | None = None) -> None:
        super().__init__(message, help=help or "Run `policybot index` first (or `make demo`).")


class IndexCorruptError(BotError):
    """Part of the index is damaged or missing. The message names the folder and the cheapest repair that works."""

    def __init__(self, folder: object, reason: str, *, repair: str = "policybot index --rebuild") -> None:
        super().__init__(f"The index in {folder} is damaged ({reason}); repair it with `{repair}`.")
        self.folder = folder
        self.repair = repair


class QuestionError(BotError):
    pass


class LLMError(BotError):
    retryable = True


class EmbeddingError(BotError):
    retryable = True


class SlackConfigError(BotError):
    pass
