"""Dated provisions read from the text of one unit (an article or an annex).

Every sentence that sets a date, or a period counted from one, becomes a
:class:`Found` with its kind, what it governs and whom it concerns, and a
verbatim quote that :func:`~bot.citations.verify_quote` accepts:

    "shall apply from 2 August 2026"                      -> applies
    "From 12 January 2027, providers … shall not impose"  -> applies (whom: providers …)
    "From 11 January 2024 to 12 January 2027, …"          -> applies, then ends
    "until 17 April 2025", "repealed with effect from …"   -> ends
    "By 2 August 2028, the Commission shall evaluate …"    -> review
    "By 17 October 2024, Member States shall adopt and publish the measures … to comply with this Directive"
                                                           -> transposition
    "shall be operational by 2 August 2027", "no later than", "at the latest by",
    "The Commission, before 12 September 2025, shall …"   -> deadline
    "within six months of the entry into force"            -> a date computed from the act's entry into force
    "shall enter into force on the twentieth day following that of its publication"
                                                           -> entry into force, computed from the publication

A date that only qualifies ("placed on the market before 2 August 2025",
"Regulation … of 27 April 2016", "Done at Strasbourg, 13 December 2023") sets
nothing and is skipped. Text quoted inside ‘…’ (what an amending act inserts
elsewhere) is never read as the act's own dates.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from ..citations import verify_quote
from ..models import Unit

Kind = str  # "entry into force" | "applies" | "deadline" | "ends" | "review" | "transposition"
KINDS = ("entry into force", "applies", "deadline", "ends", "review", "transposition")

MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
               "November", "December"]
#: A date as the Official Journal writes it: "2 August 2026".
TEXT_DATE = re.compile(rf"\b(\d{{1,2}}) ({'|'.join(MONTH_NAMES)}) (\d{{4}})\b")
ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "fifteenth": 15, "twentieth": 20, "thirtieth": 30,
    "sixtieth": 60,
}
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
           "ten": 10, "eleven": 11, "twelve": 12, "eighteen": 18, "twenty-four": 24, "thirty-six": 36}
EIF_RELATIVE = re.compile(
    r"shall enter into force on the (?P<ord>[a-z]+) day following (?:that of )?(?:its|the date of its) publication",
    re.I,
)
#: "within six months of the entry into force of this Regulation", "24 months after the date of entry into force".
AFTER_EIF = re.compile(
    r"\b(?:within|by|no later than)?\s*(?P<n>\d+|[a-z-]+) (?P<unit>months?|years?) (?:of|after|from|following) "
    r"(?:the )?(?:date of )?(?:the )?entry into force of this (?:Regulation|Directive)",
    re.I,
)
_APPLY_VERB = re.compile(r"\b(?P<verb>enter into force|appl(?:y|ies)|applicable)\b[^;.]{0,220}?\b(?P<prep>from|after|on)\s*$", re.I)
_SUBJECT_END = re.compile(r",?\s*(?:which\s+)?(?:shall|will)\s+(?:enter into force|apply|be applicable|become applicable)\b.*$", re.I | re.S)
_LEAD_LABEL = re.compile(r"^\s*(?:[,;]\s*)?(?:and\s+)?(?:\d+[a-z]?\.\s+)?(?:\([a-z0-9]+\)\s*)?", re.I)
_NUMBERING = re.compile(r"^\s*(?:\d+[a-z]?\.\s+|\([a-z0-9]+\)\s*)+", re.I)
_WITHOUT_PREJUDICE = re.compile(r"^Without prejudice to [^,]*(?:, point \([a-z]+\))?,\s*", re.I)
_PRONOUNS = {"it", "they", "this", "these"}
_REVIEW = re.compile(r"\b(evaluat\w*|review\w*|report\w*|assess\w*)\b", re.I)
_TRANSPOSE = re.compile(r"\b(adopt and publish the (?:laws, regulations and administrative provisions|measures) necessary to comply with this Directive|transpos\w+)\b", re.I)
_PERIOD_FROM = re.compile(r"(?:\b(?:\d+|[a-z]+) (?:years?|months?|days?)|period(?: of time)?)\s+from\s*$", re.I)
EXCEPTION = re.compile(r"with the exception of (?P<what>.+?)(?=,?\s*(?:which\s+)?shall\b|;|$)", re.I)


@dataclass
class Found:
    date: date
    kind: Kind
    what: str
    quote: str
    block_path: str
    ref: str
    concerns: str = ""
    computed: str | None = None
    condition: str = ""


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def text_date(m: re.Match[str]) -> date:
    return date(int(m[3]), MONTH_NAMES.index(m[2]) + 1, int(m[1]))


def format_date(d: date) -> str:
    return f"{d.day} {MONTH_NAMES[d.month - 1]} {d.year}"


def mask_quotes(text: str) -> str:
    """``text`` with everything inside ‘…’ blanked (same length): quoted amendments are not this act's dates."""
    out = list(text)
    depth = 0
    for i, ch in enumerate(text):
        if ch == "‘":
            depth += 1
        if depth:
            out[i] = " "
        if ch == "’" and depth and (i + 1 == len(text) or not text[i + 1].isalpha()):
            depth -= 1
    return "".join(out)


def sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of a block (a full stop or semicolon, a space, then a capital)."""
    spans, start = [], 0
    for m in re.finditer(r"(?<=[.;])\s+(?=[A-Z(‘])", text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def subject_of_application(clause: str) -> str:
    """'(a) Chapters I and II shall apply from' -> 'Chapters I and II'."""
    subj = _SUBJECT_END.sub("", clause)
    subj = _LEAD_LABEL.sub("", subj)
    subj = re.sub(r"^(?:with the exception of|except for|except)\s+", "", subj, flags=re.I)
    return subj.strip(" ,;:")


_DATED = re.compile(
    r"(?:\b(?:at the latest by|no later than|not later than|with effect from|as from|from|by|until|to|on)\s+)?"
    + TEXT_DATE.pattern + r"\s*,?", re.I)
_RECURRING = re.compile(r"^(?:and\s+)?(?P<every>every [\w\s]+? thereafter),?\s*", re.I)


def _whom_and_duty(sentence: str) -> tuple[str, str]:
    """(whom, what they must do) of 'By 2 August 2028, the Commission shall evaluate …'.

    Dates other than qualifiers ('placed on the market before 2 August 2025') are taken out.
    """
    text = _DATED.sub(lambda m: m[0] if re.search(r"\bbefore\s*$", sentence[: m.start()]) else " ", sentence)
    text = re.sub(r"\s+,", ",", " ".join(text.split()))
    text = _NUMBERING.sub("", text)
    text = re.sub(r"^(?:By|From|Until|To)\s*,?\s*", "", text)
    every = ""
    m = _RECURRING.match(text)
    if m:
        every, text = m["every"], text[m.end():]
    text = _WITHOUT_PREJUDICE.sub("", text)
    text = re.sub(r"\b(shall|may|must),\s+(?:and\s+)?", r"\1 ", text)
    m = re.search(r"\s(shall|may|must)\s", text)
    if not m:
        return "", _clip(text)
    whom = re.sub(r"[,\s]+(?:and\s+)?$", "", text[: m.start()]).strip(" ,")
    whom = re.sub(r",\s*before " + TEXT_DATE.pattern + "$", "", whom)
    whom = re.sub(r"^(?:and\s+)?(?:once\s+)?(?:every [\w\s]+? thereafter|upon request of [^,]+),\s*", "", whom)
    duty = text[m.start():].strip().rstrip(" .;,")
    duty = re.sub(r"\s+(?:at the latest\s+)?(?:by|no later than|not later than|on)\s*(?=[.;,]|$)", "", duty)
    duty = re.sub(r",\s*(?:and\s+)?(?=,)", "", duty)
    if every:
        duty += f" ({every})"
    return _clip(whom, 18), _clip(duty)


def _clip(text: str, words: int = 28) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


def _kind_of_by(sentence: str, whom: str = "") -> Kind:
    if _TRANSPOSE.search(sentence):
        return "transposition"
    if _REVIEW.search(sentence) and re.search(r"\bCommission\b", whom or sentence):
        return "review"
    return "deadline"


def _condition(after: str) -> str:
    m = re.match(r"\s*(as regards [^;]+?|to [^;]+?)\s*[;.]?\s*(?:and|or)?\s*$", after)
    return m[1].strip() if m else ""


def extract_unit(unit: Unit, published: date | None, entry_into_force: date | None = None) -> list[Found]:
    """The dated provisions of one article or annex, each with a verbatim quote."""
    found: list[Found] = []
    last_subject = ""
    lead: tuple[str, str] | None = None  # (block path, clause ending "from:")
    for block in unit.blocks:
        text = block.text
        masked = mask_quotes(text)
        ref = block.ref or unit.ref
        if lead and block.path.startswith(lead[0] + "."):
            m = re.match(r"^\s*(?:\([a-z0-9]+\)\s*)?" + TEXT_DATE.pattern, masked)
            if m:
                tail = re.sub(r"[;,.]?\s*(?:and|or)?\s*$", "", text[m.end():]).strip()
                what = subject_of_application(lead[1])
                end = m.end() + len(text[m.end():].rstrip(" ;,.").removesuffix(" and").removesuffix(" or"))
                quote = f"{lead[1]} … {text[:end].strip()}"
                found.append(Found(text_date(m), "applies",
                                   what + (f" — {tail}" if tail else ""), quote, block.path, ref, condition=tail))
                continue
        lead = None
        for a, b in sentences(masked):
            found += _sentence_dates(text[a:b], masked[a:b], block.path, ref, published, entry_into_force, last_subject)
            if found and found[-1].kind == "entry into force":
                last_subject = found[-1].what
            if re.search(r"\b(?:apply|applicable) from:\s*$", masked[a:b]):
                lead = (block.path, text[a:b].strip())
    return [f for f in found if verify_quote(f.quote, unit.text)]


def _sentence_dates(sent: str, msent: str, path: str, ref: str, published: date | None,
                    eif: date | None, last_subject: str) -> list[Found]:
    out: list[Found] = []
    m = EIF_RELATIVE.search(msent)
    if m and m["ord"].lower() in ORDINALS and published:
        days = ORDINALS[m["ord"].lower()]
        subj = subject_of_application(msent[: m.start()].split(":")[-1]) or "This act"
        return [Found(published + timedelta(days=days), "entry into force", subj, sent.strip(), path, ref,
                      computed=f"{m['ord'].lower()} day following publication on {format_date(published)}")]
    m = AFTER_EIF.search(msent)
    if m and eif:
        n = int(m["n"]) if m["n"].isdigit() else NUMBERS.get(m["n"].lower())
        if n:
            months = n * (12 if m["unit"].lower().startswith("year") else 1)
            whom, duty = _whom_and_duty(sent.replace(m[0], " "))
            out.append(Found(add_months(eif, months), _kind_of_by(sent, whom), duty, sent.strip(), path, ref, whom,
                             computed=f"{m['n']} {m['unit']} after the entry into force on {format_date(eif)}"))
    start = 0
    prev_kind = ""
    if re.match(r"\s*(?:\d+\.\s+)?If\b", sent):
        return out
    for dm in TEXT_DATE.finditer(msent):
        d = text_date(dm)
        before = msent[start:dm.start()]
        tail = before[-60:]
        after = msent[dm.end():]
        kind: Kind | None = None
        clause = sent[start:dm.end()]
        what = ""
        whom = ""
        cond = ""
        vm = _APPLY_VERB.search(before)
        if vm and not _PERIOD_FROM.search(tail):
            kind = "entry into force" if "force" in vm["verb"].lower() else "applies"
            subj = re.sub(r"\s*(?:which\s+)?(?:shall|will)(?:\s+be)?\s*$", "", sent[start:start + vm.start()])
            what = subject_of_application(subj)
            if not what or what.lower() in _PRONOUNS:
                what = last_subject if last_subject and what.lower() in ("it", "") else what
                if what.lower() in _PRONOUNS and re.search(r"\bapply those measures\b", before):
                    what, whom = "the measures adopted to comply with this Directive", "Member States"
            if re.search(r"\bto\s*$", sent[start + vm.end() - len(vm["prep"]) - 1: dm.start()]) is None:
                m2 = re.search(r"\bapply to (.+?) (?:placed|put)\b", before)
                if m2:
                    whom = m2[1]
            exc = EXCEPTION.search(after.split(";")[0])
            if exc and kind == "applies" and not TEXT_DATE.search(exc["what"]):
                if re.match(r"\s*,", after):
                    what += f", with the exception of {exc['what'].strip(' ,')}"
            cond = _condition(sent[dm.end():]) if not after.strip(" ;.,") else ""
            if "as regards" in after.split(";")[0][:15]:
                cond = _condition(after.split(";")[0])
        elif re.search(r"\bwith effect from\s*$", tail, re.I):
            kind = "ends" if re.search(r"\b(repealed|deleted)\b", before, re.I) else "applies"
            what = _clip(re.sub(r"\s+with effect from\s*$", "", _NUMBERING.sub("", sent[start:dm.start()])).strip())
        elif re.search(r"(?:^|\W)(?:as )?from\s*$", tail, re.I) and not _PERIOD_FROM.search(tail):
            kind = "applies"
            whom, what = _whom_and_duty(sent)
        elif prev_kind == "applies" and re.search(r"\bto\s*$", tail):
            kind = "ends"
            whom, what = _whom_and_duty(sent)
        elif re.search(r"\b(?:by|no later than|not later than)\s*$", tail, re.I) and not re.search(r"\bbefore\s+by\s*$", tail):
            whom, what = _whom_and_duty(sent)
            kind = _kind_of_by(sent, whom)
        elif re.search(r"\buntil\s*$", tail, re.I):
            kind = "ends"
            whom, what = _whom_and_duty(sent)
        elif re.search(r",\s*(?:before|on)\s*$", tail) and re.match(r"\s*,\s*(?:and\s+)?\w*\s*shall\b|\s*,\s*[a-z]", after):
            kind = "deadline"
            whom, what = _whom_and_duty(sent)
        if kind is None:
            continue
        if kind in ("deadline", "review", "transposition", "ends") and not vm:
            a = msent.rfind(";", 0, dm.start()) + 1
            b = msent.find(";", dm.end())
            part = sent[a: b if b >= 0 else len(sent)]
            if a or b >= 0:
                whom, what = _whom_and_duty(part)
                kind = _kind_of_by(part, whom) if kind != "ends" else kind
            sent_quote = part.strip()
        else:
            sent_quote = sent.strip()
        if kind in ("applies", "entry into force") and vm and not _PERIOD_FROM.search(tail):
            quote = _LEAD_LABEL.sub("", clause).strip(" ,;") if start else clause.strip(" ,;")
            if what.endswith("with the exception of " + (EXCEPTION.search(after.split(";")[0]) or {"what": ""})["what"].strip(" ,")):
                quote = sent[start:dm.end() + len(after.split(";")[0].rstrip(" ;."))]
                quote = (_LEAD_LABEL.sub("", quote) if start else quote).strip(" ,;")
            start = dm.end()
        else:
            quote = sent_quote
        if not what or what.lower() in _PRONOUNS:
            what = _clip(_NUMBERING.sub("", sent.strip()))
        out.append(Found(d, kind, what, quote, path, ref, whom, condition=cond))
        prev_kind = kind
    return out
