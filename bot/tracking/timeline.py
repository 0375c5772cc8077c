"""The timeline: every dated provision of every current text, and when each provision applies.

Dates are read from the texts themselves, never typed in: :mod:`.dates` finds, in
every article and annex, each sentence that sets a date or a period from one
("shall apply from 2 August 2026", "By 17 October 2024, Member States shall adopt
…", "within six months of the entry into force …") and quotes it verbatim; each
becomes a :class:`TimelineEntry` with its kind (applies, deadline, ends, review,
transposition, entry into force), what it governs, whom it concerns, and the
provisions it covers (:mod:`.provisions`).

The newest stored version of each English text gives the *current* entries. For
a provision that an amending act changed, ``before`` is the date the SAME
provision had in the previous version — the same paragraph of the same article,
or for a rule that names provisions ("as regards … Annex III"), the date that
governed those provisions then — or nothing when the provision is new. Dated
rules of the previous version that nothing replaced are kept as *history*.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from ..config import Settings
from ..models import Answer, SourceVersion
from ..query import detect_language
from ..sources import Manifest, fold, load_manifest
from .applies import provision_dates
from .build import build_timeline, load_timeline, publication_date
from .dates import format_date
from .provisions import targets_of
from .entries import (
    APPLY_WORDS, DATE_EXAMPLE, DATE_HINT, KIND_NL, MONTHS, WHEN, DateError, Timeline, TimelineEntry, format_date_in,
    parse_date,
)

__all__ = [
    "DATE_EXAMPLE", "DateError", "Timeline", "TimelineEntry", "answer_from_timeline", "build_timeline", "format_date",
    "format_date_in", "is_date_question", "load_timeline", "parse_date", "publication_date", "timeline_markdown",
    "timeline_mrkdwn", "timeline_rows", "MONTHS", "before_text",
]


# -- questions ----------------------------------------------------------------------------------

SYNONYMS = {
    "ban": "prohibited", "bans": "prohibited", "banned": "prohibited", "prohibition": "prohibited", "prohibitions": "prohibited",
    "verbod": "prohibited", "verboden": "prohibited", "verboden praktijken": "prohibited",
    "high-risk": "high-risk", "hoog-risico": "high-risk", "hoogrisico": "high-risk",
    "gpai": "general-purpose", "general purpose": "general-purpose", "algemene doeleinden": "general-purpose",
    "fines": "penalties", "boetes": "penalties", "sancties": "penalties", "penalty": "penalties",
}


#: Questions that ask for a deadline, not only a date of application ("until when ...?", "by when must ...?").
ASKS_DEADLINE = re.compile(
    r"\b(until when|by when|by what date|no later than|deadline|tot wanneer|uiterlijk|voor welke datum|binnen welke termijn)\b", re.I
)
APPLICATION_KINDS = frozenset({"applies", "entry into force"})
DEADLINE_KINDS = frozenset({"deadline", "ends", "transposition"})


def is_date_question(question: str) -> bool:
    """Does the question ask when something applies or falls due, or what applies on a date?"""
    if DATE_HINT.search(question) and APPLY_WORDS.search(question):
        return True
    return bool(ASKS_DEADLINE.search(question) or (WHEN.search(question) and APPLY_WORDS.search(question)))


_GENERIC = re.compile(
    r"\b(when|since|from|until|by|what|which|date|dates|do|does|did|is|are|was|were|will|the|a|an|of|on|in|to|for|"
    r"appl(?:y|ies|icable|ication)|force|enter(?:s|ed)?|entry|start(?:s|ed)?|begin(?:s)?|take|effect|"
    r"wanneer|vanaf|sinds|welke|wat|is|zijn|de|het|een|van|op|toepassing|geldt|gelden|gaan|werking|treedt|"
    r"act|regulation|directive|rules?|provisions?|obligations?)\b",
    re.I,
)


def _terms(question: str, manifest: Manifest) -> set[str]:
    from ..lexical import stem_tokens  # heavy (the index's tokenizer): loaded for date questions only

    text = fold(question)
    for pattern, _ in manifest.alias_patterns():
        text = pattern.sub(" ", text)
    for word, canon in SYNONYMS.items():
        if re.search(rf"\b{re.escape(word)}\b", text):
            text += f" {canon}"
    text = DATE_HINT.sub(" ", _GENERIC.sub(" ", text))
    return set(stem_tokens(text, "en"))


def _score(entry: TimelineEntry, terms: set[str]) -> float:
    from ..lexical import stem_tokens  # heavy (the index's tokenizer): loaded for date questions only

    main = set(stem_tokens(f"{entry.what} {entry.citation.quote}", "en"))
    side = set(stem_tokens(" ".join(entry.topics), "en"))
    return sum(2.0 if t in main else 1.0 if t in side else 0.0 for t in terms)


def _line(e: TimelineEntry, n: int, lang: str) -> str:
    kind = KIND_NL.get(e.kind, e.kind) if lang == "nl" else e.kind
    return (f"{format_date_in(e.date, lang)} — {e.source_short}, {e.citation.ref} ({kind}): {e.summary()}: "
            f"“{e.citation.quote}” [{n}]")


def _before_line(e: TimelineEntry, n: int, lang: str) -> str:
    b = e.before
    assert b is not None
    by = b.amended_by or ""
    head = (f"Vóór {by}" if by else "Eerder") if lang == "nl" else (f"Before {by}" if by else "Earlier")
    return (f"  {head}: {format_date_in(b.date, lang)} — {b.source_short}, {b.citation.ref} (edition {b.edition}): "
            f"“{b.citation.quote}” [{n}]")


#: The bottom line of a timeline answer, per language and kind of entry: the date asked for, then where it is set.
_BOTTOM = {
    "en": {"entry into force": "In force from {d}", "applies": "From {d}", "deadline": "By {d}", "ends": "Until {d}",
           "review": "By {d}", "transposition": "By {d}"},
    "nl": {"entry into force": "In werking vanaf {d}", "applies": "Vanaf {d}", "deadline": "Uiterlijk {d}",
           "ends": "Tot {d}", "review": "Uiterlijk {d}", "transposition": "Uiterlijk {d}"},
}
_LEADS = {
    "en": ("From the timeline in the texts:", "In force, applying or due on {d}:", "Still to come after {d}:"),
    "nl": ("Volgens de tijdlijn in de teksten:", "Van kracht, van toepassing of verstreken op {d}:", "Nog te komen na {d}:"),
}


def _provision_hits(question: str, sources: list[str], tl: Timeline) -> list[TimelineEntry]:
    """The rules that date the provisions a question names ('Annex III', 'artikel 5'), for the sources it names."""
    text = re.sub(r"\bartikel(?:en)?\b|\barticles?\b", "Article", question, flags=re.I)
    text = re.sub(r"\b(?:bijlage|annex)\s+([ivxlc]+)\b", lambda m: f"Annex {m[1].upper()}", text, flags=re.I)
    wanted = [t for t in targets_of(text, []) if t.level >= 2]
    out: list[TimelineEntry] = []
    for source in sources:
        entries = tl.select(source)
        for t in wanted:
            d = provision_dates(source, t.unit, t.path or None, timeline=tl)
            keys = {(r.citation.unit, r.citation.ref, r.date) for r in [*d.rules, *d.parts, *d.due]}
            out += [e for e in entries if (e.citation.unit, e.citation.ref, e.date) in keys and e not in out]
    return sorted(out, key=lambda e: e.date)


def dates_asked(timeline: Timeline, question: str) -> Timeline:
    """The entries of the kind a question asks for. 'Since / from when' asks when an act or its parts apply or
    enter into force (a deadline inside a provision is answered from the passage that sets it); 'until / by
    when' asks for a deadline as well: the date by which something must be done, or ends."""
    kinds = APPLICATION_KINDS | (DEADLINE_KINDS if ASKS_DEADLINE.search(question) else frozenset())
    return timeline.model_copy(update={"entries": [e for e in timeline.entries if e.kind in kinds]})


def answer_from_timeline(question: str, settings: Settings, timeline: Timeline | None = None) -> Answer | None:
    """Answer "what applies on 1 March 2026?" or "since when are the bans in force?" from the timeline.

    Answers in the question's language. Returns None when the question is not a date question, or
    names no source and matches no dated provision (the general answerer takes it then). Raises
    :class:`DateError` for a date in the question that does not exist.
    """
    if not is_date_question(question):
        return None
    lang = detect_language(question)
    lang = lang if lang in _LEADS else "en"
    manifest = load_manifest(settings.manifest_path)
    tl = timeline or load_timeline(settings, manifest)
    named = manifest.find_in(question)
    scope = [e for e in tl.entries if e.status == "current" and (not named or e.source in named)]
    terms = _terms(question, manifest)
    chosen: list[TimelineEntry] = []
    lines: list[str] = []
    hint = DATE_HINT.search(question)
    if hint:
        day = parse_date(hint.group(0))
        current = sorted(scope, key=lambda e: (e.date, e.source))
        scored = [e for e in current if _score(e, terms) > 0] if terms else []
        current = scored or [e for e in current if e.kind in ("applies", "entry into force")]
        done = [e for e in current if e.date <= day]
        todo = [e for e in current if e.date > day][:4]
        for entries, lead in ((done, _LEADS[lang][1]), (todo, _LEADS[lang][2])):
            if entries:
                lines.append(lead.format(d=format_date_in(day, lang)))
                lines += [_line(e, i, lang) for i, e in enumerate(entries, start=len(chosen) + 1)]
                chosen += entries
    elif (provided := _provision_hits(question, named, tl)):
        for e in provided:
            lines.append(_line(e, len(chosen) + 1, lang))
            chosen.append(e)
            if e.before is not None:
                lines.append(_before_line(e, len(chosen) + 1, lang))
                chosen.append(e.before)
    else:
        ranked = [(e, _score(e, terms)) for e in scope] if terms else [(e, 1.0) for e in scope if e.kind in ("applies", "entry into force")]
        best = max((s for _, s in ranked), default=0.0)
        if best <= 0:
            if not named:
                return None
            ranked, best = [(e, 1.0) for e in scope if e.kind in ("applies", "entry into force")], 1.0
        hits = sorted((e for e, s in ranked if s >= best * 0.75), key=lambda e: e.date)
        for e in hits:
            lines.append(_line(e, len(chosen) + 1, lang))
            chosen.append(e)
            if e.before is not None:
                lines.append(_before_line(e, len(chosen) + 1, lang))
                chosen.append(e.before)
    if not chosen:
        return None
    citations = [e.citation.model_copy(update={"n": i}) for i, e in enumerate(chosen, start=1)]
    first = chosen[0]
    # The date asked for first, with where it is set; a question about one day ("what applies on ...?") lists.
    bottom = "" if hint else (_BOTTOM[lang][first.kind].format(d=format_date_in(first.date, lang))
                              + f" ({first.source_short}, {first.citation.ref}) [1].\n")
    text = bottom + _LEADS[lang][0] + "\n" + "\n".join(
        line if line.endswith(":") else (line if line.startswith("  ") else f"• {line}") for line in lines)
    as_of = [SourceVersion(source=s, language="en", version=v, date="") for key, v in tl.versions.items()
             for s in [key.split("/")[0]] if any(c.source == s for c in citations)]
    return Answer(question=question, text=text, citations=citations, mode="timeline", language=lang, as_of=as_of)


# -- rendering ----------------------------------------------------------------------------------

MRKDWN_ROWS = 30
State = Literal["current", "in force", "passed", "upcoming", "history"]


def timeline_rows(tl: Timeline, source: str | None = None, as_of: date | None = None, history: bool = True,
                  between: tuple[date, date] | None = None) -> list[tuple[str, TimelineEntry]]:
    """(state, entry) in date order.

    state: 'current' without ``as_of``; with it 'in force' (applies or entered into force by then), 'passed'
    (a deadline, review or end already reached) or 'upcoming'; 'history' for a dated rule an amendment removed.
    """
    rows: list[tuple[str, TimelineEntry]] = []
    for e in tl.select(source, status=None):
        if between and not between[0] <= e.date <= between[1]:
            continue
        if e.status == "history":
            if history:
                rows.append(("history", e))
        elif as_of is None:
            rows.append(("current", e))
        elif e.date > as_of:
            rows.append(("upcoming", e))
        else:
            rows.append(("in force" if e.kind in ("applies", "entry into force") else "passed", e))
    return rows


def before_text(e: TimelineEntry) -> str:
    """'before Regulation (EU) 2026/1744: 2 August 2026 (Article 113)', or ''."""
    b = e.before
    if b is None:
        return ""
    return f"before {b.amended_by or 'the amendment'}: {format_date(b.date)} ({b.citation.ref}, edition {b.edition})"


def timeline_mrkdwn(tl: Timeline, source: str | None = None, as_of: date | None = None,
                    between: tuple[date, date] | None = None) -> str:
    """The timeline as Slack mrkdwn: one line per date, each with its quote and a link."""
    rows = timeline_rows(tl, source, as_of, between=between)
    if not rows:
        return "No dates found yet: sync the texts first (`policybot sync`)."
    hidden = 0
    if len(rows) > MRKDWN_ROWS:  # Slack: when each act applies, and the next deadlines; the rest on the CLI
        today = as_of or date.today()
        keep = [r for r in rows if r[1].kind in ("applies", "entry into force", "transposition")]
        keep += [r for r in rows if r not in keep and r[1].date > today][: max(0, MRKDWN_ROWS - len(keep))]
        hidden = len(rows) - len(keep)
        rows = sorted(keep, key=lambda r: (r[1].date, r[1].source))
    out = ["*Timeline* (from the texts; history = dates an amendment removed)"]
    for state, e in rows:
        c = e.citation
        ref = f"<{c.url}|{e.source_short}, {c.ref}>" if c.url else f"{e.source_short}, {c.ref}"
        mark = "~" if state == "history" else ""
        tag = " _(history" + (f", removed by {e.amended_by}" if e.amended_by else "") + ")_" if state == "history" else ""
        tag += " _(upcoming)_" if state == "upcoming" else ""
        was = f" _({_esc(before_text(e))})_" if e.before else ""
        out.append(f"• {mark}*{format_date(e.date)}*{mark} — {e.kind}: {_esc(e.summary())} ({ref}){tag}{was}\n> “{_esc(c.quote)}”")
    if hidden:
        out.append(f"_… and {hidden} more dated provisions (deadlines, reviews): `policybot timeline` lists them all._")
    return "\n".join(out)


def timeline_markdown(tl: Timeline, source: str | None = None, as_of: date | None = None,
                      between: tuple[date, date] | None = None) -> str:
    rows = timeline_rows(tl, source, as_of, between=between)
    out = ["| date | source | kind | what | whom | status | citation |", "|---|---|---|---|---|---|---|"]
    for state, e in rows:
        c = e.citation
        status = state + (f" (removed by {e.amended_by})" if state == "history" and e.amended_by else "")
        if e.before:
            status += f"; {before_text(e)}"
        link = f"[{c.ref}]({c.url})" if c.url else c.ref
        out.append(f"| {format_date(e.date)} | {e.source_short} | {e.kind} | {_cell(e.what)} | {_cell(e.concerns)} | {status} | "
                   f"{link}: “{_cell(c.quote)}” |")
    return "\n".join(out)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
