"""Reading the model's reply: whole (:func:`parse_reply`) or while it streams (:class:`CheckedStream`).

A reply is a JSON object ``{"citations": [{"key": "S1", "quote": "..."}], "answer": "... [S1]."}``
(in a code fence or before trailing text is tolerated), or plain text with
``[S1]`` markers and ``[S1] "quote"`` lines. :class:`CheckedStream` shows a
sentence only once its citations have passed the same check that
:func:`bot.citations.control` applies to the whole answer, numbered as the
final answer numbers it: nothing unverified is ever shown, not even for a moment.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from json.decoder import scanstring
from typing import Any

from ..citations import Checked, markers, numbered, split_sentences, strip_markers, verified

log = logging.getLogger(__name__)


class ReplyError(Exception):
    """A reply that cannot be read; the message says why (it becomes the user's notice)."""


@dataclass
class Reply:
    """What the model said: answer text with [S<n>] markers and the quotes offered per key."""

    answer: str
    quotes: dict[str, list[str]] = field(default_factory=dict)
    structured: bool = True


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)
_QUOTE_LINE = re.compile(r'^\s*[-*]?\s*\[(S\d+)\]\s*[:\-–]?\s*["“„](.+)["”]\s*$', re.IGNORECASE | re.MULTILINE)


def _json_object(raw: str) -> dict[str, Any] | None:
    candidates = [raw] + _FENCE.findall(raw)
    for text in candidates:
        text = text.strip()
        start = text.find("{")
        if start < 0:
            continue
        try:
            obj, _ = json.JSONDecoder().raw_decode(text[start:])
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            return obj
    return None


def _add_quotes(quotes: dict[str, list[str]], cites: Any) -> None:
    """Add the quotes of a ``citations`` value (a list of {key, quote}, or a {key: quote} mapping) to ``quotes``."""
    if isinstance(cites, dict):
        cites = [{"key": k, "quote": v} for k, v in cites.items()]
    for item in cites if isinstance(cites, list) else []:
        if not isinstance(item, dict):
            continue
        key = str(item.get("key") or item.get("source") or item.get("id") or "").strip().strip("[]").upper()
        quote = item.get("quote")
        if key:
            quotes.setdefault(key, [])
            if isinstance(quote, str) and quote.strip():
                quotes[key].append(html.unescape(quote))


def parse_reply(raw: str) -> Reply:
    """Read a reply: strict JSON, JSON in a fence or before trailing text, or plain text with [S1] markers.

    A reply that starts like JSON but cannot be read raises :class:`ReplyError`.
    """
    raw = (raw or "").strip()
    if not raw:
        raise ReplyError("empty reply")
    obj = _json_object(raw)
    if obj is not None:
        answer = obj.get("answer", obj.get("text"))
        if not isinstance(answer, str):
            raise ReplyError("reply without an answer field")
        quotes: dict[str, list[str]] = {}
        _add_quotes(quotes, obj.get("citations") or [])
        return Reply(answer.strip(), quotes, structured=True)
    if raw.startswith(("{", "[", "```")):
        raise ReplyError("malformed JSON")
    quotes = {}
    for m in _QUOTE_LINE.finditer(raw):
        quotes.setdefault(m.group(1).upper(), []).append(html.unescape(m.group(2)))
    text = _QUOTE_LINE.sub("", raw)
    text = re.sub(r"(?im)^\s*(quotes|sources|citations|bronnen)\s*:\s*$", "", text).strip()
    return Reply(text, quotes, structured=False)


# --- a reply read while it streams ----------------------------------------------------------


@dataclass
class Partial:
    """What a JSON reply holds so far."""

    answer: str | None = None  # the "answer" string read so far
    answer_done: bool = False  # its closing quote has arrived
    quotes: dict[str, list[str]] = field(default_factory=dict)
    quotes_done: bool = False  # no more citations can come (the list or the object is closed)


_TRAILING_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*(\\(?:u[0-9a-fA-F]{0,3})?)$")


def _skip(raw: str, i: int, chars: str = " \t\r\n,") -> int:
    while i < len(raw) and raw[i] in chars:
        i += 1
    return i


def _open_string(raw: str, i: int) -> str | None:
    """The decodable start of the JSON string whose body begins at ``raw[i]`` (still open)."""
    body = raw[i:]
    m = _TRAILING_ESCAPE.search(body)
    if m:
        body = body[: m.start(1)]
    try:
        return json.loads(f'"{body}"')
    except ValueError:
        return None


def read_partial(raw: str) -> Partial:
    """Read the top-level keys of a JSON object that may still be arriving."""
    out = Partial()
    decoder = json.JSONDecoder()
    i = raw.find("{") + 1
    if not i:
        return out
    while True:
        i = _skip(raw, i)
        if i >= len(raw):
            return out
        if raw[i] == "}":
            out.quotes_done = True
            return out
        if raw[i] != '"':
            return out  # not JSON as we know it: the final parse decides
        try:
            key, i = scanstring(raw, i + 1)
        except ValueError:
            return out
        i = _skip(raw, i, " \t\r\n")
        if raw[i : i + 1] != ":":
            return out
        i = _skip(raw, i + 1, " \t\r\n")
        if i >= len(raw):
            return out
        if key == "answer" and raw[i] == '"':
            try:
                out.answer, i = scanstring(raw, i + 1)
                out.answer_done = True
            except ValueError:
                out.answer = _open_string(raw, i + 1)
                return out
        elif key == "citations" and raw[i] == "[":
            i += 1
            while True:
                i = _skip(raw, i)
                if i >= len(raw):
                    return out
                if raw[i] == "]":
                    i += 1
                    out.quotes_done = True
                    break
                try:
                    item, i = decoder.raw_decode(raw, i)
                except ValueError:
                    return out
                _add_quotes(out.quotes, [item])
        else:
            try:
                value, i = decoder.raw_decode(raw, i)
            except ValueError:
                return out
            if key == "citations":
                _add_quotes(out.quotes, value)
                out.quotes_done = True


_PARTIAL_MARKERS = re.compile(r"(?:\s*\[[^\[\]]*\]?)*\s*")


def _complete_sentences(answer: str, done: bool) -> list[str]:
    """The sentences of an answer read so far that can no longer change."""
    sentences = split_sentences(answer)
    if done or not sentences:
        return sentences
    tail = sentences.pop()  # may still grow
    if sentences and _PARTIAL_MARKERS.fullmatch(tail):
        sentences.pop()  # "A. [S" : the markers that follow may still belong to "A."
    return sentences


class CheckedStream:
    """Emits the checked, numbered sentences of a reply while it streams.

    A sentence is emitted when it is complete and each key it cites is decided:
    valid (a quote that :func:`bot.citations.verified` accepts has arrived) or
    invalid (no such passage, or the citations are complete without one). A
    sentence left without a valid key is skipped, as :func:`bot.citations.control`
    drops it. Sentences go out in order, so a later one waits for an earlier one.
    A plain-text reply is emitted only when it is complete (:meth:`finish`).
    """

    def __init__(self, emit: Callable[[str], None], passages: dict[str, str]) -> None:
        self._emit = emit
        self._passages = passages
        self._raw = ""
        self._json: bool | None = None
        self._decided = 0  # sentences emitted or skipped
        self._checked: dict[str, tuple[int, bool]] = {}  # key -> (quotes seen, one verified)
        self._order: list[str] = []
        self.parts: list[str] = []  # what was emitted, one numbered sentence each

    @property
    def emitted(self) -> bool:
        return bool(self.parts)

    def _out(self, part: str) -> None:
        self._emit(part if not self.parts else " " + part)
        self.parts.append(part)

    def feed(self, piece: str) -> None:
        self._raw += piece
        if self._json is None:
            head = self._raw.lstrip()
            if not head:
                return
            self._json = head[0] in "{`"
        if not self._json:
            return
        partial = read_partial(self._raw)
        if partial.answer is None:
            return
        valid: dict[str, bool] = {}
        for key in self._passages:
            if self._verified(key, partial.quotes.get(key, [])):
                valid[key] = True
            elif partial.quotes_done:
                valid[key] = False
        for sentence in _complete_sentences(partial.answer, partial.answer_done)[self._decided :]:
            keys = markers(sentence)
            if any(valid.get(k) is None and k in self._passages for k in keys):
                return  # a key still waits for its quote
            self._decided += 1
            good = [k for k in keys if valid.get(k)]
            text = strip_markers(sentence)
            if good and text:
                self._out(numbered(text, good, self._order))

    def _verified(self, key: str, offered: list[str]) -> bool:
        """Whether a quote offered for ``key`` so far is verified (re-checked only when a quote arrives)."""
        seen, ok = self._checked.get(key, (0, False))
        if len(offered) != seen:
            ok = verified(offered, self._passages[key]) is not None
            self._checked[key] = (len(offered), ok)
        return ok

    def finish(self, checked: Checked) -> None:
        """Emit the rest of the final, checked answer (what was emitted is always its start)."""
        order: list[str] = []
        parts = [numbered(text, keys, order) for text, keys in checked.sentences]
        if parts[: len(self.parts)] != self.parts:
            log.warning("The streamed sentences differ from the checked answer; not streaming the rest.")
            return
        for part in parts[len(self.parts) :]:
            self._out(part)
