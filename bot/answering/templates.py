"""The sentences policybot writes itself, per language.

Offline, an answer holds only these words and verbatim text from the sources: a bottom line
built from one of the templates below, filled with a span of a cited passage and the passage's
heading, then the cited passages themselves.
"""

from __future__ import annotations

NEAREST = {"en": "Nearest sources:", "nl": "Dichtstbijzijnde bronnen:"}
SOURCES = {
    "en": "The indexed sources are official texts ({texts}) and {other}.",
    "nl": "De geïndexeerde bronnen zijn officiële teksten ({texts}) en {other}.",
}
SOURCES_ONLY = {
    "en": "The indexed sources are official texts: {texts}.",
    "nl": "De geïndexeerde bronnen zijn officiële teksten: {texts}.",
}
CONSOLIDATED = {"en": "as consolidated on {date}", "nl": "geconsolideerd op {date}"}
PUBLISHED = {"en": "OJ of {date}", "nl": "PB van {date}"}

# -- the bottom line --------------------------------------------------------------------
#: The question asks for an amount, a date or a period: the span of the passage that gives it.
FACT = {"en": "{span} ({label}) [{n}].", "nl": "{span} ({label}) [{n}]."}
#: A permission question answered by a prohibition in the text's list of prohibited practices.
PROHIBITED = {
    "en": "No: {label} lists this among the {category} [{n}].",
    "nl": "Nee: {label} noemt dit bij de {category} [{n}].",
}
#: A classification question answered by a listed use case (Annex III of the AI Act).
LISTED = {
    "en": "Yes, where it falls under {label}, listed under “{category}” [{n}].",
    "nl": "Ja, als het valt onder {label}, opgenomen onder “{category}” [{n}].",
}
#: ... where the question's subject falls in the listing's own exception.
EXCEPTED = {
    "en": "No: {label} makes an exception for it: “{span}” [{n}].",
    "nl": "Nee: {label} maakt er een uitzondering voor: “{span}” [{n}].",
}
#: ... where the question asks about the listed use first, and about what the exception covers after.
LISTED_EXCEPT = {
    "en": "Yes, where it falls under {label}, listed under “{category}”; it makes an exception: “{span}” [{n}].",
    "nl": "Ja, als het valt onder {label}, opgenomen onder “{category}”; met een uitzondering: “{span}” [{n}].",
}
#: A provision with an addressee ("Deployers shall ..."): whose duties it sets out.
DUTIES = {
    "en": "{label} sets out what {addressee} must do [{n}].",
    "nl": "{label} bepaalt wat {addressee} moeten doen [{n}].",
}
#: "What is Article 60a about?": the heading the text gives the provision.
ABOUT = {
    "en": "{label}: “{title}” [{n}].",
    "nl": "{label}: “{title}” [{n}].",
}
#: Anything else: where the answer is.
WHERE = {"en": "{label} answers this [{n}].", "nl": "{label} beantwoordt dit [{n}]."}


MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
    "nl": ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
           "november", "december"],
}
