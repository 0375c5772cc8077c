"""What a bot derives from an index snapshot at start-up, kept beside it for the next start.

Parsing ``chunks.jsonl``/``units.jsonl`` takes most of a bot's start: about 4 s at 200,000 chunks
on two cores. The first process to do it pickles the result (``warm-<key>.pkl`` in the snapshot
folder) from a forked copy of itself, so that it serves meanwhile; later ones load that in about
2 s. The key covers the snapshot's files (their size and modification time, and ``state.json``
itself) and the code that derives from them, so a new index run or a new policybot never loads a
stale copy. The file is written atomically and only read from the index's own folder: it is as trusted as the index.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import hashlib
import logging
import os
import pickle
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

log = logging.getLogger(__name__)

PREFIX = "warm-"
FORMAT = 1
#: The modules whose code shapes what is cached: a change to any of them invalidates it.
_CODE = ("retrieval.py", "lexical.py", "index.py", "generations.py", "unitstore.py", "models.py", "sources.py", "warmstart.py")
_SNAPSHOT_FILES = ("state.json", "chunks.jsonl", "units.jsonl")

T = TypeVar("T")


def _code_digest() -> str:
    h = hashlib.sha256(str(FORMAT).encode())
    here = Path(__file__).resolve().parent
    for name in _CODE:
        try:
            h.update((here / name).read_bytes())
        except OSError:
            h.update(name.encode())
    return h.hexdigest()


_CODE_DIGEST = _code_digest()


def cache_key(folder: Path) -> str | None:
    """The key of the snapshot in ``folder`` as it is now (None if it is incomplete)."""
    h = hashlib.sha256(_CODE_DIGEST.encode())
    try:
        for name in _SNAPSHOT_FILES:
            st = (folder / name).stat()
            h.update(f"{name}:{st.st_size}:{st.st_mtime_ns}".encode())
        h.update((folder / "state.json").read_bytes())
    except OSError:
        return None
    return h.hexdigest()[:16]


def cached(folder: Path, derive: Callable[[], T], *, background: bool = False) -> T:
    """``derive()``'s result for the snapshot in ``folder``: from the cache if it is current, else
    computed and cached (if the snapshot did not change meanwhile).

    ``background``: the cache is written by a forked copy of this process, so the caller serves at once
    instead of after the write (3 s at 200k chunks; docs/scaling.md). :func:`settle` waits for such writes."""
    key = cache_key(folder)
    path = folder / f"{PREFIX}{key}.pkl"
    if key is not None and path.exists():
        try:
            with path.open("rb") as fh, _no_gc():
                return pickle.load(fh)  # noqa: S301 - written by policybot into the index's own folder
        except Exception as exc:  # noqa: BLE001 - a damaged cache is rebuilt, never fatal
            log.warning("Ignoring the unreadable start-up cache %s (%s)", path.name, type(exc).__name__)
    value = derive()
    if key is not None and cache_key(folder) == key and not (background and _write_in_child(path, value)):
        _write(path, value)
    return value


_writers: list[threading.Thread] = []


def _write_in_child(path: Path, value: object) -> bool:
    """Write the cache from a forked copy of this process (copy-on-write: nothing is copied up front);
    False where fork is unavailable or unsafe (macOS), and the caller writes it itself."""
    if not hasattr(os, "fork") or sys.platform == "darwin":
        return False
    try:
        pid = os.fork()
    except OSError:
        return False
    if pid == 0:  # the copy: write, then leave without running any of the parent's exit handlers or flushing its buffers
        code = 1
        try:
            os.nice(19)  # background work: the parent's answers come first on a busy host
            # Pickling touches every object, so the copy's pages become its own (up to the parent's heap, for
            # about 4 s at 200k chunks): where memory runs short, the kernel should stop this copy, not the bot.
            with contextlib.suppress(OSError):
                Path("/proc/self/oom_score_adj").write_text("1000")
            _write(path, value)
            code = 0
        finally:
            os._exit(code)
    reaper = threading.Thread(target=os.waitpid, args=(pid, 0), name="warm-cache-writer", daemon=True)
    reaper.start()
    _writers[:] = [t for t in _writers if t.is_alive()]  # a long-running bot forks once per generation it loads
    _writers.append(reaper)
    return True


def settle(timeout: float = 120.0) -> None:
    """Wait for the start-up caches being written in the background (e.g. before a command that writes
    them returns)."""
    while _writers:
        _writers.pop().join(timeout)


class _no_gc:
    """Loading millions of small objects triggers the cyclic collector again and again; pause it."""

    def __enter__(self) -> None:
        self.was = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.was:
            gc.enable()


def _write(path: Path, value: object) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        for old in path.parent.glob(f"{PREFIX}*.pkl"):
            if old != path:
                old.unlink(missing_ok=True)
    except Exception as exc:  # noqa: BLE001 - e.g. a read-only data dir: the next start derives again
        log.warning("Cannot write the start-up cache in %s (%s)", path.parent, type(exc).__name__)
        tmp.unlink(missing_ok=True)


def release_free_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc's ``malloc_trim``). Loading a snapshot
    without caches parses hundreds of MB of JSON and frees most of it again; without this, a replica's
    RSS keeps it. Elsewhere than glibc, nothing happens."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
