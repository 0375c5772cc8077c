"""Lexical search: BM25 over stemmed tokens, one index per language.

BM25 scores only mean something within one language, so each language's chunks get their own
index; the stemmer and the stop words are that language's. :func:`tokenize` makes the tokens
``bm25s.tokenize`` makes, without its per-call costs, and :func:`stem_tokens` the ones the
extractive answerer compares a question with a sentence by.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import Stemmer
from bm25s.selection import topk
from bm25s.stopwords import STOPWORDS_DUTCH, STOPWORDS_EN, STOPWORDS_EN_PLUS

from .models import Chunk

log = logging.getLogger(__name__)

_STEMMERS = {"en": "english", "nl": "dutch"}


#: Words that say nothing about what a question asks, for comparing a question with a sentence:
#: the full function-word lists ("we", "our", "could"), and everyday verbs of questions ("get").
_QUESTION_STOPWORDS = {
    "en": sorted(set(STOPWORDS_EN_PLUS) | {"get", "got", "gets", "us", "just", "still", "actually", "really"}),
    "nl": sorted(set(STOPWORDS_DUTCH) | {"wij", "onze", "jullie", "uw", "krijgen", "eigenlijk", "gewoon", "nog"}),
}


_QUESTION_STOPSETS = {lang: frozenset(words) for lang, words in _QUESTION_STOPWORDS.items()}
_INDEX_STOPSETS = {"en": frozenset(STOPWORDS_EN), "nl": frozenset(STOPWORDS_DUTCH)}
#: bm25s's tokens (scikit-learn's pattern); :func:`tokenize` gives what ``bm25s.tokenize`` gives for one text.
_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def tokenize(text: str, stopwords: frozenset[str], lang: str) -> list[str]:
    """One text's stemmed tokens, as ``bm25s.tokenize`` makes them for the index, without its per-call costs
    (a progress bar and a stop-word set built for every text: a tenth of an ask's time)."""
    return list(_stemmer(lang).stemWords([t for t in _TOKEN.findall(text.lower()) if t not in stopwords]))


def files(lang: str) -> list[str]:
    """The files :meth:`LexicalIndex.save` writes for ``lang``."""
    names = _names(lang)
    return [names[k] for k in ("params_name", "vocab_name", "data_name", "indices_name", "indptr_name")]


def _names(lang: str) -> dict[str, str]:
    stem = f"bm25-{lang}"
    return {"data_name": f"{stem}.data.npy", "indices_name": f"{stem}.indices.npy", "indptr_name": f"{stem}.indptr.npy",
            "vocab_name": f"{stem}.vocab.json", "params_name": f"{stem}.params.json", "nnoc_name": f"{stem}.nnoc.npy"}


def stem_tokens(text: str, lang: str) -> list[str]:
    """The tokens the extractive answerer compares: lower-cased, function words out, stemmed."""
    return tokenize(text, _QUESTION_STOPSETS.get(lang, _QUESTION_STOPSETS["en"]), lang)


_stemmer_cache: dict[str, Any] = {}


def _stemmer(lang: str) -> Any:
    name = _STEMMERS.get(lang, "english")
    if name not in _stemmer_cache:
        _stemmer_cache[name] = Stemmer.Stemmer(name)
    return _stemmer_cache[name]


class LexicalIndex:
    """BM25 over one language's chunks. Built by the index run and stored with its generation
    (:meth:`save`: numpy arrays and JSON, no pickle); a bot memory-maps it (:meth:`load`)."""

    def __init__(self, chunks: list[Chunk], lang: str, model: bm25s.BM25 | None = None) -> None:
        self.lang = lang
        self.chunks = chunks
        if model is None:
            corpus = [f"{c.unit_ref} {c.title} {c.text}" for c in chunks]
            stopwords = sorted(_INDEX_STOPSETS.get(lang, _INDEX_STOPSETS["en"]))
            model = bm25s.BM25()
            model.index(bm25s.tokenize(corpus, stopwords=stopwords, stemmer=_stemmer(lang), show_progress=False), show_progress=False)
        self.model = model
        self.vocab: dict[str, int] = model.vocab_dict
        # Document frequencies: the index holds one score per (token, chunk it occurs in), by token.
        # (bm25s adds an empty token to the vocabulary, with no scores.)
        df = np.zeros(len(self.vocab), dtype=np.int64)
        counts = np.diff(np.asarray(model.scores["indptr"]))
        df[: len(counts)] = counts
        n = max(len(chunks), 1)
        self.idf = {t: float(np.log(1.0 + (n - df[i] + 0.5) / (df[i] + 0.5))) for t, i in self.vocab.items()}
        self.max_idf = float(np.log(1.0 + (n - 0.5) / 1.5))

    def save(self, folder: Path) -> None:
        """Write the index into a snapshot folder (``bm25-<lang>.*``)."""
        self.model.save(folder, **_names(self.lang))

    @classmethod
    def load(cls, folder: Path, chunks: list[Chunk], lang: str) -> LexicalIndex | None:
        """The index saved in ``folder`` for ``chunks``, memory-mapped (shared by the bots of a host); None if
        the folder has none (written by an older policybot) or one for other chunks."""
        names = _names(lang)
        if not (folder / names["params_name"]).exists():
            return None
        try:
            model = bm25s.BM25.load(folder, mmap=True, **names)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("Ignoring the unreadable BM25 index in %s (%s)", folder, type(exc).__name__)
            return None
        if int(model.scores.get("num_docs", -1)) != len(chunks):
            log.warning("Ignoring the BM25 index in %s: it is for %s chunks, not %s", folder, model.scores.get("num_docs"), len(chunks))
            return None
        return cls(chunks, lang, model)

    def weight(self, token: str) -> float:
        """Inverse document frequency of a stemmed token (unknown tokens weigh most)."""
        return self.idf.get(token, self.max_idf)

    def search(self, text: str, n: int) -> list[tuple[Chunk, float]]:
        return self.search_terms(tokenize(text, _INDEX_STOPSETS.get(self.lang, _INDEX_STOPSETS["en"]), self.lang), n)

    def search_terms(self, stems: list[str], n: int) -> list[tuple[Chunk, float]]:
        """Search by stemmed terms (those of a question, or their translations); unknown ones are left out."""
        terms = [t for t in stems if t in self.vocab]
        if not terms:
            return []
        # What BM25.retrieve does for one query, without its thread pool and progress bar.
        scores, docs = topk(self.model.get_scores(terms), min(n, len(self.chunks)), backend="numpy", sorted=True)
        return [(self.chunks[int(d)], float(s)) for d, s in zip(docs, scores) if s > 0]
