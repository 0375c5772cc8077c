"""The lexical side of retrieval gives what bm25s itself gives, without its per-call costs."""

from __future__ import annotations

import bm25s
import numpy as np
from bm25s.stopwords import STOPWORDS_DUTCH, STOPWORDS_EN

from bot.lexical import _QUESTION_STOPWORDS, LexicalIndex, _stemmer, files, stem_tokens, tokenize
from bot.retrieval import Retriever

QUESTIONS = [
    "What are the fines for supplying incorrect information under the Chips Act?",
    "Welk deel van de Europese cloudmarkt hebben Amerikaanse aanbieders?",
    "Wat zijn de taken van de Europese Raad voor halfgeleiders?",
    "pilot lines, design platform & competence centres (2030): who funds them?",
]


def test_tokens_are_those_bm25s_makes(small_settings) -> None:  # type: ignore[no-untyped-def]
    retriever = Retriever(small_settings)
    texts = QUESTIONS + [c.text for c in retriever.snapshot.chunks]
    for lang, index_words in (("en", STOPWORDS_EN), ("nl", STOPWORDS_DUTCH)):
        for text in texts:
            for words in (index_words, _QUESTION_STOPWORDS[lang]):
                expected = bm25s.tokenize([text], stopwords=list(words), stemmer=_stemmer(lang), return_ids=False, show_progress=False)
                assert tokenize(text, frozenset(words), lang) == list(expected[0]), text
    assert stem_tokens("The providers shall report incidents", "en") == ["provid", "shall", "report", "incid"]


def test_lexical_search_ranks_as_bm25s_retrieve(small_settings) -> None:  # type: ignore[no-untyped-def]
    retriever = Retriever(small_settings)
    for lang, index in retriever.lexical.items():
        for question in QUESTIONS:
            got = index.search(question, 40)
            terms = [t for t in tokenize(question, frozenset(STOPWORDS_EN if lang == "en" else STOPWORDS_DUTCH), lang) if t in index.vocab]
            if not terms:
                assert got == []
                continue
            docs, scores = index.model.retrieve([terms], k=40, show_progress=False, n_threads=1)
            expected = [(index.chunks[int(d)].id, round(float(s), 5)) for d, s in zip(docs[0], scores[0]) if s > 0]
            assert [(c.id, round(s, 5)) for c, s in got] == expected
            assert got, question  # the questions share words with the texts


def test_term_weights_count_the_chunks_each_stem_occurs_in(small_settings) -> None:  # type: ignore[no-untyped-def]
    retriever = Retriever(small_settings)
    for lang, index in retriever.lexical.items():
        docs = [set(tokenize(f"{c.unit_ref} {c.title} {c.text}", frozenset(STOPWORDS_EN if lang == "en" else STOPWORDS_DUTCH), lang)) for c in index.chunks]
        n = len(docs)
        for token in ("articl", "commiss", "semiconductor", "halfgeleid", "europes"):
            df = sum(token in d for d in docs)
            if token in index.vocab:
                assert df and abs(index.weight(token) - float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))) < 1e-9
        assert index.weight("zzzunknown") == index.max_idf
        assert max(v for t, v in index.idf.items() if t) <= index.max_idf + 1e-9  # (bm25s adds an empty token)


def test_the_index_run_saves_bm25_with_the_generation_and_bots_map_it(small_settings) -> None:  # type: ignore[no-untyped-def]
    retriever = Retriever(small_settings)
    folder = retriever.snapshot.folder
    for lang, index in retriever.lexical.items():
        assert all((folder / name).is_file() for name in files(lang))
        assert isinstance(index.model.scores["data"], np.memmap)  # shared by the bots of a host, not copied
        built = LexicalIndex(index.chunks, lang)  # what a bot would build itself
        assert index.idf == built.idf
        for question in QUESTIONS:
            assert [(c.id, round(s, 5)) for c, s in index.search(question, 40)] == [(c.id, round(s, 5)) for c, s in built.search(question, 40)]


def test_the_index_run_saves_the_bilingual_lexicon_with_the_generation(small_settings) -> None:  # type: ignore[no-untyped-def]
    from bot.lexicon import FILE, Lexicon

    retriever = Retriever(small_settings)
    # The small index holds no text in two languages: the lexicon is saved, and empty.
    assert (retriever.snapshot.folder / FILE).is_file()
    assert retriever.lexicon == Lexicon.load(retriever.snapshot.folder) and len(retriever.lexicon) == 0


def test_a_saved_bm25_for_other_chunks_is_not_used(small_settings) -> None:  # type: ignore[no-untyped-def]
    retriever = Retriever(small_settings)
    lang, index = next(iter(retriever.lexical.items()))
    assert LexicalIndex.load(retriever.snapshot.folder, index.chunks[:-1], lang) is None
    assert LexicalIndex.load(retriever.snapshot.folder, index.chunks, lang) is not None

