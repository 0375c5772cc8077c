"""Hybrid retrieval: Chroma (dense) + BM25 (lexical, stemmed per language), fused.

Language awareness: BM25 scores only mean something within one language, so
lexical search runs over the chunks in the question's language and the dense
model (multilingual E5) carries the other language. The lists are fused by
reciprocal rank. Explicit references go straight to their unit; named sources
restrict the search to those sources. Chunk hits are then grouped per unit:
the same unit in English and Dutch is one result, shown in the question's
language where it exists.
"""

from __future__ import annotations

import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from chromadb.errors import ChromaError

from .config import Settings
from .dense import DenseMatrix, ann_search
from .embeddings import Embedder, get_embedder
from . import published, warmstart
from .errors import IndexCorruptError, IndexMissingError
from .generations import Snapshot, collection_name, current_generation, fetch_matrix, load_snapshot, materialize
from .lexical import LexicalIndex, stem_tokens
from .lexical import files as lexical_files
from .lexicon import Lexicon, lexicon_of
from .index import get_collection, open_client, open_served_collection, store_damaged
from .models import Chunk, Hit, Unit
from .query import Query
from .sources import fold
from .retrieval_cues import (
    APPLICATION_TITLE,
    DEFINITIONS_TITLE,
    PENALTY,
    PENALTY_TITLE,
    TIMELINE,
    Result,
    add_definitions,
)

log = logging.getLogger(__name__)

RRF_K = 30
#: Recitals explain; articles and annexes rule. A mild prior puts operative text first. A
#: document's lead (the text before its first section) likewise sums up what its sections hold.
RECITAL_PRIOR = 0.7
#: A source the question names ("the Chips Act", "het ABN AMRO-artikel") weighs more.
NAMED_BOOST = 2.0
#: A quoted term that a definitions article defines counts as this many first places in the fused lists.
DEFINED_WEIGHT = 1.0
#: Texts indexed only in another language than the question's get their own dense list.
CROSS_LISTS = True


def _second_place(fused: dict[str, Hit]) -> float:
    """A score just above the second best: a hit lifted to it ranks second at least."""
    ranked = sorted((h.score for h in fused.values()), reverse=True)
    return ranked[1] * 1.01 if len(ranked) > 1 else 1.0 / RRF_K


class Retriever:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or get_embedder(settings.embeddings, settings)
        name = collection_name(settings, self.embedder.name)
        generation = current_generation(settings, name)
        if generation is None:
            raise IndexMissingError()
        folder = generation.folder  # the generation that serves (bot/generations.py)
        # A new host writes the files from the database first, so that it caches what it derives from them,
        # and fetches the vector matrix while it parses them (docs/scaling.md).
        materialize(settings, name, generation)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fetch-matrix") as pool:
            fetching = pool.submit(fetch_matrix, settings, name, generation) if settings.dense_search == "exact" else None
            derived = warmstart.cached(folder, self._derive, background=True)
            if fetching is not None and (error := fetching.exception()) is not None:
                log.warning("The vector matrix could not be fetched from the database (%s); reading the vectors from Chroma",
                            type(error).__name__)
        self.snapshot, lexical, self.definitions, self.titles = derived
        self.snapshot.moved_to(folder)  # the data dir may have moved since the cache was written
        self.lexical = lexical if lexical is not None else self._lexical()
        # A generation of an older policybot has no lexicon saved: build it from the bilingual units.
        self.lexicon = Lexicon.load(folder) or lexicon_of(self.snapshot.units)
        self._collection: Any = None
        self._matrix: DenseMatrix | None = None
        if settings.dense_search == "exact":
            # Exact search serves from the matrix alone (memory-mapped from its cache once written): an
            # embedded Chroma is not opened, which would load its HNSW index, 400 MiB at 200k chunks.
            self._check_complete(self._vectors())
        else:  # refuses to serve (one line) if a chunk of the snapshot has no vector in the collection
            self._collection = open_served_collection(settings, self.snapshot)
        self.by_id = {c.id: c for c in self.snapshot.chunks}
        self.by_unit: dict[tuple[str, str, str], list[Chunk]] = {}
        # Per source, the chunks of its articles on application and on penalties (the date and fines priors).
        self.application: dict[str, list[Chunk]] = {}
        self.penalties: dict[str, list[Chunk]] = {}
        for c in self.snapshot.chunks:
            self.by_unit.setdefault((c.source, c.language, c.unit), []).append(c)
            if c.kind == "article" and APPLICATION_TITLE.search(c.title):
                self.application.setdefault(c.source, []).append(c)
            if c.kind == "article" and PENALTY_TITLE.search(c.title):
                self.penalties.setdefault(c.source, []).append(c)
        self.sources = sorted({c.source for c in self.snapshot.chunks})
        # Which sources have a text in which language, once: a search asks per question.
        self.sources_by_language: dict[str, list[str]] = {}
        for source, language, _ in self.by_unit:
            if source not in self.sources_by_language.setdefault(language, []):
                self.sources_by_language[language].append(source)
        warmstart.release_free_memory()  # what parsing and reading left free goes back to the system (docs/scaling.md)

    def _languages(self) -> list[str]:
        return sorted({c.language for c in self.snapshot.chunks})

    def _lexical(self) -> dict[str, LexicalIndex]:
        """Each language's BM25: the one the index run saved with the generation, or built here
        (a generation written by an older policybot)."""
        out: dict[str, LexicalIndex] = {}
        for lang in self._languages():
            chunks = [c for c in self.snapshot.chunks if c.language == lang]
            out[lang] = LexicalIndex.load(self.snapshot.folder, chunks, lang) or LexicalIndex(chunks, lang)
        return out

    def _derive(self) -> tuple[Snapshot, dict[str, LexicalIndex] | None, dict[str, list[tuple[str, str, str, str]]], dict[tuple[str, tuple[str, ...]], list[tuple[str, str, str]]]]:
        """What is built from the snapshot's files (cached beside them by :mod:`bot.warmstart`)."""
        self.snapshot: Snapshot = load_snapshot(self.settings, self.embedder.name)
        # BM25 saved with the generation is memory-mapped at each start, not pickled in the cache.
        saved = all((self.snapshot.folder / lexical_files(lang)[0]).exists() for lang in self._languages())
        lexical = None if saved else self._lexical()
        titles: dict[tuple[str, tuple[str, ...]], list[tuple[str, str, str]]] = {}
        definitions: dict[str, list[tuple[str, str, str, str]]] = {}
        for key, head in self.snapshot.units.heads.items():  # every unit was parsed once already, by load_snapshot
            if head.title and head.kind in ("article", "annex", "section"):
                titles.setdefault((head.language, tuple(stem_tokens(head.title, head.language))), []).append(key)
            if head.kind == "article" and DEFINITIONS_TITLE.match(head.title.strip()):
                add_definitions(self.snapshot.units[key], definitions)
        return self.snapshot, lexical, definitions, titles

    # -- units -------------------------------------------------------------------
    def unit(self, source: str, language: str, unit: str) -> Unit | None:
        return self.snapshot.units.get((source, language, unit))

    def unit_version(self, source: str, language: str, unit: str) -> str:
        return self.snapshot.unit_versions.get((source, language, unit), "")

    @property
    def collection(self) -> Any:
        """The Chroma collection the snapshot's vectors are in (opened when first needed)."""
        if self._collection is None:
            self._collection = get_collection(open_client(self.settings), self.snapshot.name, create=False)
        return self._collection

    def probe_store(self) -> dict[str, Any]:
        """What the vector store says now (raises if it does not answer). A server counts the vectors; an
        embedded store only opens the collection: counting would load its HNSW index into this process
        (400 MiB at 200k chunks), which exact search does not use."""
        if self.settings.chroma_host:
            return {"vectors": int(self.collection.count())}
        return {"collection": get_collection(open_client(self.settings), self.snapshot.name, create=False).name}

    def _check_complete(self, matrix: DenseMatrix) -> None:
        missing = int(len(matrix.found) - np.count_nonzero(matrix.found))
        if missing:
            raise IndexCorruptError(
                f"collection {self.snapshot.name}", f"{missing:,} of {len(matrix.found):,} chunks have no vector", repair="policybot index"
            )

    # -- search ------------------------------------------------------------------
    def _vectors(self) -> DenseMatrix:
        """Every chunk of the snapshot with its unit-length vector, read from Chroma (in pages) or its cache once."""
        if self._matrix is None:
            try:
                self._matrix = DenseMatrix.load(
                    lambda: self.collection, self.snapshot.name, self.snapshot.chunks, self.snapshot.folder, self.settings.dense_page_size
                )
            except ChromaError as exc:  # a damaged vector segment: one line naming the store and the repair
                raise store_damaged(self.settings, exc) from None
        return self._matrix

    def dense(
        self, q: Query, n: int, sources: list[str] | None, lang: str | None, vector: np.ndarray | None = None
    ) -> list[tuple[Chunk, float]]:
        """The n chunks nearest to the question (``vector``: its embedding, if already made)."""
        if vector is None:
            vector = self.embedder.embed_query(q.text)
        if self.settings.dense_search == "exact":
            # Chroma's HNSW query missed about 1 in 1,000 true neighbours, differently from one
            # process to the next (measured here on ~4,700 chunks), so evaluations did not repeat.
            # An exact scan costs about a millisecond at today's size, ~45 ms at 200k chunks (docs/scaling.md).
            return self._vectors().search(vector, n, sources, lang)
        # A generation's collection holds its snapshot's chunks (and, until an index run cleans up, a few more).
        return ann_search(self.collection, self.by_id, vector, n, sources, lang, total=len(self.by_id))

    def search(
        self,
        q: Query,
        *,
        k: int = 10,
        sources: list[str] | None = None,
        lang: str | None = None,
    ) -> tuple[list[Result], dict[str, float]]:
        """Unit-level results, best first, and timings in ms.

        ``sources``/``lang`` filter hard; sources the question names only boost: their
        chunks get a second dense list, so they rank higher without hiding the rest.
        """
        t0 = time.perf_counter()
        named = self._scope(q)
        n = max(40, k * 8)
        lists: list[tuple[str, float, list[tuple[Chunk, float]]]] = []
        vector = self.embedder.embed_query(q.text)  # once: embedding is most of a search's time
        lists.append(("dense", 1.0, self.dense(q, n, sources, lang, vector)))
        if CROSS_LISTS and not lang:
            # The texts indexed only in another language than the question's get their own dense list: a
            # Dutch question is nearest to the Dutch texts whatever they say, and would leave an act indexed
            # only in English ("overstapkosten" vs "switching charges") out of the running.
            own = self.sources_by_language.get(q.lang, [])
            for other, theirs in self.sources_by_language.items():
                only = [s for s in theirs if s not in own and (not sources or s in sources)]
                if other != q.lang and only:
                    lists.append(("dense", 1.0, self.dense(q, n // 2, only, other, vector)))
        if named and not sources:
            # Each source the question names gets its own list: in "how do NIS2's deadlines compare with the
            # AI Act's?" the larger act would otherwise fill a shared list and leave the other side out.
            for source in named:
                lists.append(("dense", 1.0, self.dense(q, n // 2, [source], lang, vector)))
        t1 = time.perf_counter()
        lex_lang = lang or q.lang
        topic = q.topic(self.sources)
        if lex_lang in self.lexical:
            lexical = [(c, s) for c, s in self.lexical[lex_lang].search(topic, n * 2) if not sources or c.source in sources]
            lists.append(("lexical", 1.0, lexical[:n]))
        for other, index in self.lexical.items():
            if other == lex_lang or lang:
                continue
            names = self._names(q.text, index)
            if names:
                found = [(c, s) for c, s in index.search_terms(names, n) if not sources or c.source in sources]
                lists.append(("lexical", 1.0, found))
        t2 = time.perf_counter()

        fused: dict[str, Hit] = {}
        for kind, weight, ranked in lists:
            for rank, (chunk, score) in enumerate(ranked):
                hit = fused.setdefault(chunk.id, Hit(chunk=chunk, score=0.0))
                if kind == "dense":
                    hit.dense = score
                elif hit.lexical is None:
                    hit.lexical = score
                hit.score += weight / (RRF_K + rank)
        for hit in fused.values():
            if hit.chunk.kind == "recital" or (hit.chunk.kind == "section" and hit.chunk.unit == "intro"):
                hit.score *= RECITAL_PRIOR
            if named and hit.chunk.source in named:
                hit.score *= NAMED_BOOST
        self._explicit(q, fused, sources or named, lang)
        self._defined(q, fused, sources or named, lang, NAMED_BOOST if named and not sources else 1.0)
        if TIMELINE.search(q.text):
            self._timeline(fused, sources or named or self._top_sources(fused))
        elif PENALTY.search(q.text):
            self._penalties(fused, sources or named or self._top_sources(fused))

        results = self._group(sorted(fused.values(), key=lambda h: -h.score), q.lang, lang)
        for i, r in enumerate(results):
            for h in r.hits:
                h.rank = i + 1
        t3 = time.perf_counter()
        timings = {"dense_ms": (t1 - t0) * 1000, "lexical_ms": (t2 - t1) * 1000, "fuse_ms": (t3 - t2) * 1000}
        return results[: max(k, 10)], timings

    @staticmethod
    def _names(text: str, index: LexicalIndex) -> list[str]:
        """Names and numbers of a question, which read the same in both languages (InvestAI, Dealroom, 2030)."""
        words = re.findall(r"\b[\w'-]+\b", text)
        picked = []
        for i, w in enumerate(words):
            if any(ch.isdigit() for ch in w) or (w[:1].isupper() and i > 0) or (len(w) > 1 and w.isupper()):
                for token in stem_tokens(w, index.lang):
                    if index.weight(token) >= 0.6 * index.max_idf and token not in picked:
                        picked.append(token)
        return picked

    def _top_sources(self, fused: dict[str, Hit]) -> list[str]:
        best = sorted(fused.values(), key=lambda h: -h.score)[:5]
        out: list[str] = []
        for h in best:
            if h.chunk.source not in out:
                out.append(h.chunk.source)
        return out[:2]

    def _timeline(self, fused: dict[str, Hit], scope: list[str]) -> None:
        """A date question: the article on entry into force and application ranks second at least."""
        floor = _second_place(fused)
        for source in scope:
            for chunk in self.application.get(source, []):
                hit = fused.setdefault(chunk.id, Hit(chunk=chunk, score=0.0))
                hit.score = max(hit.score, floor - 0.0001 * chunk.order)

    def _penalties(self, fused: dict[str, Hit], scope: list[str]) -> None:
        """A question about fines: each source's penalties article (the one that already
        scores best, where an act has several) ranks second at least."""
        floor = _second_place(fused)
        for source in scope:
            chunks = self.penalties.get(source, [])
            units = {c.unit for c in chunks}
            if not units:
                continue
            best = max(
                (h for h in fused.values() if h.chunk.source == source and h.chunk.unit in units),
                key=lambda h: h.score,
                default=None,
            )
            if best is None:
                chunk = min(chunks, key=lambda c: (c.unit, c.order))
                best = fused.setdefault(chunk.id, Hit(chunk=chunk, score=0.0))
            best.score = max(best.score, floor)

    def _scope(self, q: Query) -> list[str] | None:
        """Sources to search: those the question names (with the acts amending them)."""
        if not q.sources:
            return None
        scope = list(q.sources)
        if "ai-act" in scope and "ai-omnibus" not in scope:
            scope.append("ai-omnibus")
        return [s for s in scope if s in self.sources] or None

    def _explicit(self, q: Query, fused: dict[str, Hit], scope: list[str] | None, lang: str | None) -> None:
        """Units the question names ("Article 6(3)") go to the top."""
        if not q.refs:
            return
        candidates = scope or (["ai-act"] if "ai-act" in self.sources else self.sources)
        top = max((h.score for h in fused.values()), default=1.0 / RRF_K)
        for i, unit in enumerate(q.refs):
            for j, source in enumerate(candidates):
                for language in ([lang] if lang else sorted(self.lexical, key=lambda L: L != q.lang)):
                    for chunk in self.by_unit.get((source, language, unit), []):
                        hit = fused.setdefault(chunk.id, Hit(chunk=chunk, score=0.0))
                        para = q.paragraphs.get(unit)
                        exact = bool(para) and para in {p.split(".")[0] for p in chunk.paths.split(",")}
                        # Above everything else, in the order the question names them; the named
                        # paragraph first within its unit.
                        if q.targeted:
                            lift = top * (1.2 if exact else 1.1) - top * 0.01 * (i + j) - top * 0.001 * chunk.order
                            hit.score = max(hit.score, lift)
                        else:  # mentioned in passing: a candidate, not the answer
                            hit.score += (1.5 if exact else 1.0) / RRF_K

    def _defined(
        self, q: Query, fused: dict[str, Hit], scope: list[str] | None, lang: str | None, boost: float = 1.0
    ) -> None:
        """A term the question quotes ("a 'first-of-a-kind' facility") that a definitions article
        defines: the chunk holding that definition counts as mentioned. So does the unit whose
        title is that term ('open EU foundry' -> Article 14, "Open EU foundries"). ``boost``: the
        weight the fused lists gave the named sources, so that a mention weighs the same there."""
        for term in [*q.quoted, *q.compared]:  # "X versus Y": each side is a term the question is about
            for language in self.lexical:
                if lang and language != lang:
                    continue
                for source, _, unit in self.titles.get((language, tuple(stem_tokens(term, language))), []):
                    if (scope and source not in scope) or not self.by_unit.get((source, language, unit)):
                        continue
                    chunk = self.by_unit[(source, language, unit)][0]
                    hit = fused.setdefault(chunk.id, Hit(chunk=chunk, score=0.0))
                    hit.score += boost * DEFINED_WEIGHT / RRF_K
            key = fold(term)
            found = self.definitions.get(key) or [
                d for t, ds in self.definitions.items() if t.startswith(key + " ") for d in ds
            ]
            for source, language, unit, path in found:
                if (scope and source not in scope) or (lang and language != lang):
                    continue
                for chunk in self.by_unit.get((source, language, unit), []):
                    if path in chunk.paths.split(","):
                        hit = fused.setdefault(chunk.id, Hit(chunk=chunk, score=0.0))
                        hit.score += boost * DEFINED_WEIGHT / RRF_K

    def _group(self, hits: list[Hit], qlang: str, lang: str | None) -> list[Result]:
        by_key: dict[tuple[str, str], Result] = {}
        order: list[tuple[str, str]] = []
        for hit in hits:
            key = (hit.chunk.source, hit.chunk.unit)
            if key not in by_key:
                by_key[key] = Result(hit.chunk.source, hit.chunk.unit, hit.score)
                order.append(key)
            by_key[key].hits.append(hit)
        for r in by_key.values():
            r.hits.sort(key=lambda h: (h.chunk.language != qlang, -h.score))
        return [by_key[k] for k in order]



def warm_start(settings: Settings) -> None:
    """Derive now what a bot loads at start-up for the generation that serves (the start-up cache beside its
    snapshot; the index run wrote the vector matrix), so that the first bot start after an index run is a warm one.
    With a shared database it does nothing: bot hosts write their own start-up cache when they first load a
    generation, and map the matrix the database holds with it."""
    if not published.shared(settings):
        Retriever(settings)._vectors()
        warmstart.settle()
