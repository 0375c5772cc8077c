"""A logging filter that masks anything shaped like a Slack token or signing secret."""

from __future__ import annotations

import logging
import re

TOKEN = re.compile(r"\b(xox[abposr]|xapp)-[A-Za-z0-9-]+")


def redact(text: str) -> str:
    return TOKEN.sub(lambda m: m.group(1) + "-***", text)


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if TOKEN.search(message):
            record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_text is None:
            formatted = logging.Formatter().formatException(record.exc_info)
            if TOKEN.search(formatted):
                record.exc_text = redact(formatted)
        return True


def install_redaction() -> None:
    """Configure logging (if nobody did) and put the filter on every root handler."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in root.handlers:
        if not any(isinstance(f, RedactTokens) for f in handler.filters):
            handler.addFilter(RedactTokens())
