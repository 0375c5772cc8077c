"""What a question asks for: the kind of fact, the parts, a comparison, a definition.

Each kind of fact comes as a pair: a pattern that finds it in a question and one that finds it in
a sentence ("how long ...?" -> "12 months"). The extractive answerer favours sentences that give
what is asked, and adds one where no quote does.
"""

from __future__ import annotations

import re

from ..retrieval_cues import PENALTY, TIMELINE

#: Questions that ask for an amount: sentences with numbers answer them.
QUANTITY = re.compile(
    r"\b(how much|how many|what share|what percentage|what proportion|how large|how big|how high|"
    r"maximum|minimum|up to how|hoeveel|welk percentage|welk deel|hoe groot|hoe hoog)\b",
    re.I,
)
#: An amount: a number that is not a year ("2 procent", "EUR 35000000", "4,1"; not "in 2023"), nor a
#: paragraph's own number ("1. The ..."), nor a reference ("Article 23(4)", "lid 2", "Regulation (EU) 2024/1689").
NUMBER = re.compile(
    r"(?<![\d.,(/])(?<!Article )(?<!Articles )(?<!paragraph )(?<!paragraphs )(?<!point )(?<!points )(?<!Annex )"
    r"(?<!Chapter )(?<!Section )(?<!artikel )(?<!artikelen )(?<!lid )(?<!leden )(?<!punt )(?<!bijlage )"
    r"(?!(?:19|20)\d\d(?![\d.,]?\d))(?!\d{1,3}[a-z]?\.\s)\d",
    re.I,
)
#: An amount in words ("two years", "one month", "twee jaar").
NUMBER_WORD = re.compile(
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|hundred|thousand|"
    r"million|billion|half|twice|een|twee|drie|vier|vijf|zes|zeven|acht|negen|tien|twaalf|honderd|duizend|miljoen|miljard)\b",
    re.I,
)
#: Questions that ask for a rate or a percentage ("What interest rate ...?", "Welk percentage ...?") ...
RATE = re.compile(
    r"\b(?:(?:interest|tax|exchange|growth|error|default) rate|what rate|which rate|percentage|what share|"
    r"what proportion|rente|tarief|hoeveel procent|welk percentage|welk aandeel)\b",
    re.I,
)
#: The kind of rate a question names ("interest rate" -> "interest"): a percentage of another kind does not answer it.
RATE_KIND = re.compile(r"\b(interest|tax|exchange|growth|error|default) rate\b|\b(rente)\b", re.I)
#: ... and the words a passage uses for that kind, in both languages (a word starting with one counts).
RATE_WORDS = {
    "interest": ("interest", "rente"), "rente": ("interest", "rente"), "tax": ("tax", "belasting"),
    "exchange": ("exchange", "wissel"), "growth": ("grow", "groei"), "error": ("error", "fout"),
    "default": ("default", "wanbetaling"),
}
#: ... are answered only by a sentence that gives one.
PERCENT = re.compile(r"\d\s?%|\b(?:per ?cent|percent|procent|procentpunt(?:en)?)\b", re.I)
#: Questions that set sources side by side ("How do the AI Act's fines compare with NIS2's?").
COMPARE = re.compile(
    r"\b(compar\w*|versus|vs|differences? between|whereas|side by side|vergelijk\w*|verschil tussen|tegenover)\b", re.I
)
#: Questions that ask for a period ("how long can the crisis stage last?", "binnen hoeveel dagen").
DURATION = re.compile(
    r"\b(how long|for how long|how many (?:days|weeks|months|years|hours)|within what (?:period|time)|"
    r"what (?:period|time limit|deadline)|hoe lang|hoeveel (?:dagen|weken|maanden|jaar|jaren|uur)|binnen welke termijn|"
    r"deadlines?|reporting clocks?|termijnen)\b",
    re.I,
)
PERIOD = re.compile(
    r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|thirty|een|twee|drie|vier|"
    r"vijf|zes|zeven|acht|negen|tien|twaalf|vijftien|dertig)\s+(?:calendar |working |werk)?(?:days?|weeks?|months?|years?|hours?|"
    r"dagen|dag|weken|week|maanden|maand|jaar|jaren|uur)\b",
    re.I,
)
DATE = re.compile(
    r"\b\d{1,2} (?:January|February|March|April|May|June|July|August|September|October|November|December|"
    r"januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december) \d{4}\b"
)


#: Questions that ask what something is: the sentence that names it is often followed by the one
#: that explains it ("... het ‘28e regime’. Hiermee kan een bedrijf zich registreren ...").
WHAT_IS = re.compile(
    r"^\s*(?:what is|what's|what are|who is|what does\b.*\bmean|what counts as|wat is|wat zijn|wat betekent|wat houdt)\b",
    re.I,
)


#: Questions about what a term means: they name it in quotes or ask what it is, counts as, or means.
DEFINITIONAL = re.compile(
    r"[‘'\"“][^‘'\"“”’]{2,60}[’'\"”]|\b(?:what is|what's|what are|who is|who are|defin\w*|mean\w*|counts? as|considered|"
    r"qualif\w*|wat is|wat zijn|wie is|definitie\w*|betekent|betekenis|in de zin van|geldt als|gelden als)\b",
    re.I,
)

#: Questions that ask why the law rules as it does: its recitals give the legislator's reasons.
#: Questions that ask what the law requires of someone ("What does NIS2 require of the management body?",
#: "what are our obligations as a provider?", "Wat moeten wij doen?"): answered by several of a unit's duties.
DUTIES = re.compile(
    r"\b(?:requires?|required|expects?|obligations?|duties|requirements|obliged|must (?:we|I|they|it|a|an|the)|"
    r"what (?:do|should|must) (?:we|I|they)|verplichtingen|verplicht|eisen|moeten (?:wij|we)|wat moet(?:en)?)\b",
    re.I,
)
#: Questions that ask what a provision is about as a whole ("What is the new Article 60a about?", "Waar gaat artikel 4a over?").
ABOUT = re.compile(
    r"\bwhat (?:is|are)\b[^?]{0,80}\babout\b|\bwhat does\b[^?]{0,60}\b(?:cover|say|do|regulate)\b\s*\??\s*$|"
    r"\bwaar gaat\b[^?]{0,80}\bover\b|\bwat (?:regelt|zegt|behelst)\b",
    re.I,
)
WHY = re.compile(
    r"\bwhy (?:does|do|is|are|did|would|should|has|have)\b"
    r"|\bwaarom (?:is|zijn|wordt|worden|heeft|hebben|doet|valt|vallen|geldt|gelden)\b",
    re.I,
)

#: Where a question holds several: ", and how long ...", ", en hoeveel ...", "; ", "? ".
PART = re.compile(
    r",?\s+and\s+(?=(?:how|what|when|which|who|where|why|is|are|does|do|did|can|may|must|has|have|will)\b)"
    r"|,?\s+en\s+(?=(?:hoe|wat|wanneer|welke|wie|waar|waarom|is|zijn|heeft|hebben|kan|mag|moet|hoeveel)\b)"
    r"|;\s+|\?\s+(?=\S)",
    re.I,
)


#: A part of a question that asks something (a question word, or a verb first), not one that sets the scene.
ASKS = re.compile(
    r"\?|^\s*(?:how|what|when|which|who|whom|where|why|is|are|does|do|did|can|could|may|must|should|will|"
    r"hoe|wat|wanneer|welke?|wie|waar|waarom|mag|mogen|moet|moeten|kan|kunnen|is|zijn)\b",
    re.I,
)


def scene(text: str) -> tuple[str, str]:
    """A message split into what sets the scene and asks nothing ("We're a 60-person fintech building
    a credit model.", "We finance a plant in Dresden;") and what asks: (scene, question)."""
    pieces = [p for p in re.split(r"(?<=[.;!?])\s+", text) if p.strip()]
    setting = [p for p in pieces if not ASKS.search(p)] if len(pieces) > 1 else []
    return " ".join(setting), " ".join(p for p in pieces if p not in setting)


def question_parts(text: str) -> list[str]:
    """The questions within a question: "How is it declared, and how long can it last?" -> two.
    One part (the usual case) gives an empty list."""
    parts = [p.strip(" ,;?") for p in PART.split(text)]
    parts = [p for p in parts if len(p.split()) >= 3]
    return parts if len(parts) > 1 else []


def wants(question: str) -> list[re.Pattern[str]]:
    """What kind of fact the question asks for, as patterns a sentence that gives it matches."""
    out = []
    if TIMELINE.search(question):
        out.append(DATE)
    if RATE.search(question):
        out.append(PERCENT)
    elif QUANTITY.search(question) or PENALTY.search(question):
        out.append(NUMBER)  # "what fine ...?" asks for an amount too
    if DURATION.search(question):
        out.append(PERIOD)
    return out


#: The kinds of fact a question may ask for, by the pattern that finds them in a sentence.
KINDS = {"date": DATE, "rate": PERCENT, "amount": NUMBER, "period": PERIOD}
