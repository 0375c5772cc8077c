"""Hot swap: a running bot serves a newer index generation as soon as one is published.

:class:`GenerationWatcher` reads which generation is current (the pointer of
:mod:`bot.generations`: a file in the data dir, or a row of the shared database)
every ``generation_poll_seconds`` and when a question nudges it (at most once a
second; the question does not wait for it).
When it names a generation other than the one that serves, the new one is loaded
in a background thread, warmed with one search, and swapped in with
:meth:`bot.assistant.Assistant.swap`. Questions keep being answered from the
old generation while the new one loads; a question being answered when the swap
happens finishes on the generation it started with. A load that fails leaves the
old generation serving and is retried at the next poll.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from .assistant import Assistant
from .errors import BotError
from . import published
from .generations import Generation, collection_name, current_generation, drop_local
from .query import parse_query
from .retrieval import Retriever
from .sources import Manifest

log = logging.getLogger(__name__)

CHECK_EVERY_QUESTION_SECONDS = 1.0  # a burst of questions reads the pointer once a second, not per question
WARM_QUESTION = "What does the AI Act ban?"


def warm(retriever: Retriever, manifest: Manifest) -> None:
    """One search on ``retriever`` (loads its vectors), so the first question after the swap pays no loading."""
    retriever.search(parse_query(WARM_QUESTION, manifest, None), k=10)


class GenerationWatcher:
    """Keeps ``assistant`` serving the current generation of its index."""

    def __init__(
        self,
        assistant: Assistant,
        *,
        interval: float | None = None,
        on_swap: Callable[[Retriever], None] | None = None,
    ) -> None:
        self.assistant = assistant
        self.settings = assistant.settings
        self.interval = interval if interval is not None else self.settings.generation_poll_seconds
        self.on_swap = on_swap
        self._lock = threading.Lock()
        self._loading: Generation | None = None
        self._checked = 0.0
        self._stop = threading.Event()
        self._nudge = threading.Event()
        self._thread: threading.Thread | None = None
        self.swaps = 0
        self.last_error: str | None = None

    # -- what serves, what is current ---------------------------------------------------
    def serving_key(self) -> tuple[int, str] | None:
        serving = self.assistant._serving  # noqa: SLF001 - what serves now, without loading it
        if serving is None:
            return None
        state = serving.retriever.snapshot.state
        return int(state.get("generation", 0) or 0), serving.retriever.snapshot.name

    def current(self) -> Generation | None:
        serving = self.assistant._serving  # noqa: SLF001
        if serving is None:
            return None
        return current_generation(self.settings, collection_name(self.settings, serving.retriever.embedder.name))

    # -- checking --------------------------------------------------------------------------
    def check(self, *, force: bool = False) -> bool:
        """Start loading the current generation if it is not the one that serves; True if a load started."""
        now = time.monotonic()
        with self._lock:
            if not force and now - self._checked < CHECK_EVERY_QUESTION_SECONDS:
                return False
            self._checked = now
            if self._loading is not None:
                return False
        key = self.serving_key()
        if key is None:
            return False  # nothing serves yet: the first load is the health loader's job
        try:
            generation = self.current()
        except BotError as exc:
            self._failed(f"cannot read which generation is current: {exc.message}")
            return False
        if generation is None or (generation.number, generation.collection) == key:
            return False
        with self._lock:
            if self._loading is not None:
                return False
            self._loading = generation
        threading.Thread(target=self._load, args=(generation,), name="policybot-generation-load", daemon=True).start()
        return True

    def _load(self, generation: Generation) -> None:
        started = time.perf_counter()
        old = self.assistant.retriever
        try:
            retriever = Retriever(self.settings, embedder=old.embedder)
            warm(retriever, self.assistant.manifest)
        except Exception as exc:  # noqa: BLE001 - the old generation keeps serving; the next poll retries
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            self._failed(f"generation {generation.number} could not be loaded, generation "
                         f"{old.snapshot.state.get('generation', '?')} keeps serving: {str(message).splitlines()[0][:200]}")
            return
        finally:
            with self._lock:
                self._loading = None
        self.assistant.swap(retriever)
        if published.shared(self.settings):  # this host's copies of generations nobody serves here any more
            keep = {generation.number, int(old.snapshot.state.get("generation", 0) or 0)}
            drop_local(self.settings, collection_name(self.settings, old.embedder.name), keep)
        self.swaps += 1
        self.last_error = None
        if self.on_swap is not None:
            self.on_swap(retriever)
        log.info("now serving index generation %s (was %s), loaded in %.1f s", retriever.snapshot.state.get("generation"),
                 old.snapshot.state.get("generation"), time.perf_counter() - started)

    def _failed(self, message: str) -> None:
        if message != self.last_error:
            log.warning("%s", message)
        self.last_error = message

    # -- running ---------------------------------------------------------------------------
    def on_question(self) -> None:
        """For :attr:`Assistant.before_question`: wakes the poller (at most once a second). The question itself
        never waits for the pointer to be read, even when the database is slow or down."""
        if time.monotonic() - self._checked >= CHECK_EVERY_QUESTION_SECONDS:
            self._nudge.set()

    def start(self) -> GenerationWatcher:
        """Poll in a daemon thread (every ``interval`` seconds, and when a question nudges it)."""
        self.assistant.before_question = self.on_question
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="policybot-generation-watch", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._nudge.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._nudge.wait(self.interval if self.interval > 0 else None)
            self._nudge.clear()
            if self._stop.is_set():
                return
            try:
                self.check(force=True)
            except Exception as exc:  # noqa: BLE001 - the poller never dies
                self._failed(f"generation check failed: {type(exc).__name__}: {exc}")
