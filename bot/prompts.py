"""Prompt templates: Markdown files in ``prompts/`` loaded by name.

A template marks its slots as ``{name}``; only the names in :data:`KNOWN` are
slots, so JSON examples with braces stay literal. :func:`check_prompts` runs at
start-up and refuses a template that lacks a required slot or uses an unknown
one, e.g. ``prompts/answer.md is missing the placeholder {passages}``.

    system     the rules (passages are data, citation forms, output format)
    no_answer  when and how to abstain, with the shared sentinel {no_answer}
    answer     the question, the delimited passages and recent turns
    condense   rewrite a follow-up into a standalone question
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .config import DEFAULT_PROMPTS, PROJECT_ROOT, Settings
from .errors import ConfigError

#: Slots each template must contain.
REQUIRED: dict[str, frozenset[str]] = {
    "system": frozenset({"language"}),
    "no_answer": frozenset({"no_answer"}),
    "answer": frozenset({"passages", "question"}),
    "condense": frozenset({"history", "question"}),
}
#: Every slot a template may use.
KNOWN = frozenset({"passages", "question", "language", "no_answer", "history"})

_SLOT = re.compile(r"\{([a-z_]+)\}")


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class Template:
    """One prompt file: its name, where it came from and its text."""

    name: str
    path: Path
    text: str
    placeholders: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        found = frozenset(m.group(1) for m in _SLOT.finditer(self.text) if m.group(1) in KNOWN)
        object.__setattr__(self, "placeholders", found)

    def render(self, **values: str) -> str:
        """The text with each known slot replaced; a slot without a value is a ConfigError."""
        missing = sorted(self.placeholders - values.keys())
        if missing:
            raise ConfigError(f"No value for the placeholder {{{missing[0]}}} of {_display(self.path)}")

        def fill(m: re.Match[str]) -> str:
            key = m.group(1)
            return values[key] if key in KNOWN else m.group(0)

        return _SLOT.sub(fill, self.text).strip()


_cache: dict[tuple[str, float], Template] = {}


def load_prompt(name: str, prompts_dir: Path | None = None) -> Template:
    """The template ``<prompts_dir>/<name>.md`` (re-read when the file changes)."""
    path = (prompts_dir or DEFAULT_PROMPTS) / f"{name}.md"
    try:
        mtime = path.stat().st_mtime
    except OSError:
        raise ConfigError(
            f"The prompt template {_display(path)} does not exist.",
            help="Restore it from the repository or point POLICYBOT_PROMPTS_DIR at a folder that has it.",
        ) from None
    key = (str(path), mtime)
    if key not in _cache:
        _cache[key] = Template(name, path, path.read_text(encoding="utf-8"))
    return _cache[key]


def check_prompts(settings: Settings) -> dict[str, Template]:
    """Load every template and check its placeholders; raise ConfigError on the first problem."""
    out: dict[str, Template] = {}
    for name, required in REQUIRED.items():
        tpl = load_prompt(name, settings.prompts_dir)
        where = _display(tpl.path)
        for slot in sorted(required - tpl.placeholders):
            raise ConfigError(
                f"{where} is missing the placeholder {{{slot}}}",
                help=f"Add {{{slot}}} where the {slot.replace('_', ' ')} should go (see docs/llm.md).",
            )
        unknown = sorted(set(_SLOT.findall(tpl.text)) - KNOWN)
        if unknown:
            raise ConfigError(
                f"{where} uses the unknown placeholder {{{unknown[0]}}}",
                help="Known placeholders: " + ", ".join(f"{{{k}}}" for k in sorted(KNOWN)) + ".",
            )
        out[name] = tpl
    return out
