"""What an amending act changes, as briefing lines: the points of its amending article.

A briefing on Regulation (EU) 2026/1744 is a briefing on what it does to the AI Act. Its Article 1
says so point by point ("(40) in Article 113, the third paragraph is amended as follows: …"), and
:func:`~bot.tracking.changes.amended_points` reads which provision each point touches and how
(amended, replaced, inserted, added, deleted). :func:`amendment_lines` picks the points to show:

- without a topic, those that move a dated provision first (the application dates an analyst plans
  by), then the provisions the act inserts, then the rest in the act's order;
- with a topic ("the new bias-detection rule"), the points whose words or whose provision's heading
  share the topic's terms.

Each line quotes the point itself, verbatim: whole when short, else its opening words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..models import Block, Unit
from ..text import clean_title
from .changes import amended_points

#: How each action reads in a line's label, per language.
ACTIONS = {
    "en": {"amended": "amended", "replaced": "replaced", "inserted": "inserted", "added": "added", "deleted": "deleted"},
    "nl": {"amended": "gewijzigd", "replaced": "vervangen", "inserted": "ingevoegd", "added": "toegevoegd", "deleted": "geschrapt"},
}
#: At most this many points in a briefing.
MAX_LINES = 8
#: A point is quoted whole up to this many words, else by its first OPENING_WORDS words.
WHOLE_WORDS = 150
OPENING_WORDS = 50
#: With a topic, a point is kept when it shares this share of the best point's (rarity-weighted) topic words.
TOPIC_SHARE = 0.5


@dataclass
class AmendLine:
    """One point of the amending article, ready to cite."""

    unit: Unit  # the amending article
    block: Block  # the point
    quote: str
    label: str  # "AI Act, Article 113 (Entry into force and application) — amended"


def point_quote(text: str) -> str:
    """The point verbatim: whole when short, else its opening words and an ellipsis."""
    words = text.split()
    return text if len(words) <= WHOLE_WORDS else " ".join(words[:OPENING_WORDS]) + " …"


def amendment_lines(
    units: list[Unit],
    *,
    target_name: str,
    target_unit: Callable[[str], Unit | None],
    dated: set[str],
    lang: str,
    terms: set[str] | None = None,
    stems: Callable[[str], frozenset[str]] | None = None,
    weight: Callable[[str], float] | None = None,
) -> list[AmendLine]:
    """The points of the amending article(s) in ``units`` to brief on, best first.

    ``target_unit``: a unit of the amended act by id ('art-113'); ``dated``: ids of the amended act's
    units that set dates (the timeline's); ``terms``/``stems``: a topic's stemmed terms and the stemmer,
    to keep only the points about it; ``weight``: a term's rarity, so that "literacy" counts for more
    than "AI" (a point is kept when it shares at least half the best point's weight).
    """
    weigh = weight or (lambda t: 1.0)
    actions = ACTIONS.get(lang, ACTIONS["en"])
    scored: list[tuple[tuple[float, int], AmendLine]] = []
    for i, (unit, block, point) in enumerate(amended_points(units)):
        targets = [u for u in (target_unit(uid) for uid in point.units) if u is not None]
        if not targets or block.text.rstrip().endswith(":"):
            continue  # a point whose words stand in an annex of its own ("the following Annex is added:") says nothing here
        heading = clean_title(targets[0].title) if targets[0].title else ""
        refs = ", ".join(t.ref for t in targets)
        label = f"{target_name}, {refs}" + (f" ({heading})" if heading and len(targets) == 1 else "")
        label += f" — {actions.get(point.action, point.action)}"
        if terms and stems is not None:
            shared = sum(weigh(t) for t in terms & (stems(block.text) | stems(" ".join(t.title or "" for t in targets))))
            if not shared:
                continue
            key = (-shared, i)
        else:
            rank = 0 if any(t.unit in dated for t in targets) else 1 if point.action in ("inserted", "added") else 2
            key = (float(rank), i)
        scored.append((key, AmendLine(unit, block, point_quote(block.text), label)))
    scored.sort(key=lambda pair: pair[0])
    if terms and scored:
        best = -scored[0][0][0]
        scored = [(key, line) for key, line in scored if -key[0] >= TOPIC_SHARE * best]
    return [line for _, line in scored[:MAX_LINES]]
