"""Index generations published in the shared database, for bot hosts with no shared disk.

With ``POLICYBOT_DATABASE_URL`` set, a completed index run stores its snapshot
files (zstd-compressed; generations published as gzip still read) in ``generation_files``, its vector matrix in parts of
:data:`PART` bytes in ``generation_blobs`` (floats do not compress), a row in
``index_generations`` and flips ``index_pointer`` in the same transaction: every
host sees the old generation or the new one, whole. A bot host reads the pointer
and writes the files of the generation it serves into its own data dir the first
time it needs them (:func:`materialize`, one file and one part at a time), so
retrieval reads a snapshot folder as on one laptop and a new host reads no
vectors from Chroma (docs/scaling.md).

Index runs on PostgreSQL hold an advisory lock (:func:`advisory_lock`): one run
at a time across all hosts. Generations older than the one before the current
one are removed once their successor has served for ``index_grace_seconds``.

Storage only: this module knows files and numbers, not chunks or units.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import zstandard
from sqlalchemy import Connection, Table, delete, func, select, text

from .config import Settings
from .state import DB_ERRORS, StateDB, StoreError, open_state, reason
from .state.ops import upsert
from .state.schema import generation_blobs, generation_files, index_generations, index_pointer

FILES = ("chunks.jsonl", "units.jsonl", "timeline.json", "state.json")  # state.json last: it marks a folder complete
#: and the lexical index's files (numpy arrays and JSON, one set per language) and the bilingual lexicon
EXTRA = ("bm25-*", "lexicon.json")
#: stored uncompressed, in parts: the vector matrix (``bot/dense.py``), 293 MiB at 200k chunks
BLOBS = ("vectors-*.npy",)
#: bytes per stored part: a host holds one part in memory at a time
PART = 8 << 20
ZSTD_LEVEL = 3
GZIP_MAGIC = b"\x1f\x8b"


def snapshot_files(folder: Path) -> list[str]:
    """The files of a snapshot folder that make a generation, ``state.json`` last (not a host's own caches)."""
    extra = sorted({p.name for pattern in EXTRA for p in folder.glob(pattern) if p.is_file()})
    return [*FILES[:-1], *extra, FILES[-1]]


def blob_files(folder: Path) -> list[str]:
    """The large files of a snapshot folder stored in parts (the vector matrix)."""
    return sorted({p.name for pattern in BLOBS for p in folder.glob(pattern) if p.is_file()})


def _parts(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while part := fh.read(PART):
            yield part


@dataclass(frozen=True)
class Pointer:
    number: int
    collection: str
    previous_collection: str | None


def shared(settings: Settings) -> bool:
    """Generations live in the database (POLICYBOT_DATABASE_URL is set)."""
    return settings.database_url is not None


def _db(settings: Settings) -> StateDB:
    return open_state(settings.database_url, settings.data_dir / "state.sqlite3")


def read_pointer(settings: Settings, name: str) -> Pointer | None:
    """The generation of index ``name`` the database names as current (None before the first publish)."""
    db = _db(settings)
    try:
        with db.engine.connect() as conn:
            row = conn.execute(select(index_pointer).where(index_pointer.c.name == name)).mappings().first()
    except DB_ERRORS as exc:
        raise StoreError(f"{db.label} cannot be read: {reason(exc)}.",
                         help="Check that POLICYBOT_DATABASE_URL names a reachable database.") from None
    if row is None:
        return None
    return Pointer(int(row["generation"]), str(row["collection"]), row["previous_collection"])


def next_number(settings: Settings, name: str) -> int:
    """One more than any generation number the database has seen for ``name``."""
    db = _db(settings)
    with db.engine.connect() as conn:
        top = conn.execute(select(func.max(index_generations.c.number)).where(index_generations.c.name == name)).scalar()
    return int(top or 0) + 1


def publish(settings: Settings, name: str, number: int, collection: str, folder: Path,
            previous_collection: str | None) -> None:
    """Store the snapshot files of ``folder`` as generation ``number`` and make it current, in one transaction."""
    state = (folder / "state.json").read_text(encoding="utf-8")
    rows = [{"name": name, "number": number, "file": f, "data": _compress((folder / f).read_bytes())}
            for f in snapshot_files(folder) if (folder / f).exists()]
    now = time.time()
    db = _db(settings)
    try:
        with db.engine.begin() as conn:
            conn.execute(delete(generation_files).where(generation_files.c.name == name, generation_files.c.number == number))
            conn.execute(delete(index_generations).where(index_generations.c.name == name, index_generations.c.number == number))
            conn.execute(index_generations.insert().values(name=name, number=number, collection=collection, state=state,
                                                           created_at=now))
            conn.execute(delete(generation_blobs).where(generation_blobs.c.name == name, generation_blobs.c.number == number))
            for row in rows:
                conn.execute(generation_files.insert().values(**row))
            for blob in blob_files(folder):
                for part, data in enumerate(_parts(folder / blob)):
                    conn.execute(generation_blobs.insert().values(name=name, number=number, file=blob, part=part, data=data))
            values = {"name": name, "generation": number, "collection": collection,
                      "previous_collection": previous_collection, "updated_at": now}
            upsert(conn, index_pointer, values, ["name"], {k: v for k, v in values.items() if k != "name"})
    except DB_ERRORS as exc:
        raise StoreError(f"generation {number} could not be published to {db.label}: {reason(exc)}.",
                         help="The previous generation keeps serving; run `policybot index` again.") from None


def materialize(settings: Settings, name: str, number: int, folder: Path) -> bool:
    """Write generation ``number``'s files into ``folder`` unless it is complete there; True if written.

    One file in memory at a time; ``state.json`` goes last, so a host killed half-way writes the folder
    again at its next start. The large files come separately (:func:`fetch_blobs`): they only spare a
    host reading Chroma, and it can fetch them while it parses these."""
    if (folder / "state.json").exists():
        return False
    db = _db(settings)
    with db.engine.connect() as conn:
        names = [str(f) for f in conn.execute(select(generation_files.c.file).where(
            generation_files.c.name == name, generation_files.c.number == number)).scalars()]
        if FILES[-1] not in names:
            return False  # pruned meanwhile, or never published: the caller reports the generation missing
        folder.mkdir(parents=True, exist_ok=True)
        for file in sorted(names, key=lambda f: f == FILES[-1]):  # state.json last
            if not _plain(file):
                continue
            data = _data(conn, generation_files, name=name, number=number, file=file)
            if data is not None:
                _write_bytes(folder / file, _decompress(data))
    return True


def _plain(file: str) -> bool:
    """A stored file name that stays inside the generation's folder and is not hidden."""
    return "/" not in file and not file.startswith(".")


def _compress(data: bytes) -> bytes:
    """zstd, level 3: at 200k chunks the chunks file compresses in 0.6 s and expands in 0.25 s, where gzip
    took 4.3 s and 0.56 s for the same size (docs/scaling.md)."""
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(data)


def _decompress(data: bytes) -> bytes:
    """A stored file's bytes: zstd, or gzip as policybot stored them before session 8."""
    if data[:2] == GZIP_MAGIC:
        return gzip.decompress(data)
    return zstandard.ZstdDecompressor().decompress(data)


def _data(conn: Connection, table: Table, **key: object) -> bytes | None:
    """The ``data`` of one row. On PostgreSQL through psycopg it travels in binary: the default text
    format sends bytea as hex, twice the bytes and four times the time (2.7 s against 0.7 s for 293 MiB)."""
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        where = " AND ".join(f"{column} = %s" for column in key)  # column names from this module, values as parameters
        with conn.connection.driver_connection.cursor(binary=True) as cur:  # type: ignore[union-attr]
            cur.execute(f"SELECT data FROM {table.name} WHERE {where}", tuple(key.values()))
            row = cur.fetchone()
    else:
        row = conn.execute(select(table.c.data).where(*(table.c[column] == value for column, value in key.items()))).first()
    return None if row is None else bytes(row[0])


def fetch_blobs(settings: Settings, name: str, number: int, folder: Path) -> list[str]:
    """Write generation ``number``'s large files (its vector matrix) into ``folder``, those not there yet, one
    part in memory at a time and each through a temporary file; returns those written. A file with a part
    missing is left out (the host then reads the vectors from Chroma)."""
    db = _db(settings)
    written: list[str] = []
    with db.engine.connect() as conn:
        rows = conn.execute(select(generation_blobs.c.file, func.count()).where(
            generation_blobs.c.name == name, generation_blobs.c.number == number).group_by(generation_blobs.c.file)).all()
        for file, count in rows:
            if not _plain(file) or (folder / file).exists():
                continue
            if _write_blob(conn, name, number, folder, str(file), int(count)):
                written.append(str(file))
    return written


def _write_blob(conn: Connection, name: str, number: int, folder: Path, file: str, count: int) -> bool:
    fd, tmp = tempfile.mkstemp(prefix=f".{file}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            for part in range(count):
                data = _data(conn, generation_blobs, name=name, number=number, file=file, part=part)
                if data is None:  # pruned meanwhile, or a part lost
                    Path(tmp).unlink(missing_ok=True)
                    return False
                fh.write(data)
        os.replace(tmp, folder / file)
        return True
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_bytes(path: Path, data: bytes) -> None:
    """Through a uniquely named temporary file in the same folder (two threads may materialize at once)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def state_of(settings: Settings, name: str, number: int) -> dict[str, object] | None:
    """The ``state.json`` of a published generation, read from the database."""
    db = _db(settings)
    with db.engine.connect() as conn:
        value = conn.execute(select(index_generations.c.state).where(
            index_generations.c.name == name, index_generations.c.number == number)).scalar()
    return dict(json.loads(value)) if value else None


def prune(settings: Settings, name: str, keep: set[int], grace: float) -> list[str]:
    """Delete the generations not in ``keep`` whose successor was published more than ``grace`` seconds ago;
    returns their collections (for the caller to drop from Chroma)."""
    db = _db(settings)
    now = time.time()
    with db.engine.begin() as conn:
        rows = conn.execute(select(index_generations.c.number, index_generations.c.collection, index_generations.c.created_at)
                            .where(index_generations.c.name == name).order_by(index_generations.c.number)).all()
        gone: list[tuple[int, str]] = []
        for i, (number, collection, _created) in enumerate(rows):
            successor = rows[i + 1][2] if i + 1 < len(rows) else None
            if number in keep or successor is None or now - successor < grace:
                continue
            gone.append((int(number), str(collection)))
        for number, _ in gone:
            conn.execute(delete(generation_blobs).where(generation_blobs.c.name == name, generation_blobs.c.number == number))
            conn.execute(delete(generation_files).where(generation_files.c.name == name, generation_files.c.number == number))
            conn.execute(delete(index_generations).where(index_generations.c.name == name, index_generations.c.number == number))
    still = {str(r[1]) for r in rows if int(r[0]) not in {n for n, _ in gone}}
    return sorted({c for _, c in gone} - still)


def collections(settings: Settings, name: str) -> set[str]:
    """The Chroma collections the published generations of ``name`` use."""
    db = _db(settings)
    with db.engine.connect() as conn:
        return {str(c) for c in conn.execute(select(index_generations.c.collection).where(index_generations.c.name == name)).scalars()}


def lock_key(name: str) -> int:
    """A signed 64-bit advisory-lock key for index ``name``."""
    return int.from_bytes(hashlib.sha256(f"policybot-index:{name}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def advisory_lock(settings: Settings, name: str, on_wait: Callable[[str], None] | None = None) -> Iterator[bool]:
    """Hold PostgreSQL's advisory lock for index runs of ``name`` (yields False on other databases: the caller
    takes a file lock instead). A second run waits for the first, and says so once."""
    db = _db(settings)
    if db.dialect != "postgresql":
        yield False
        return
    key = lock_key(name)
    with db.engine.connect() as conn:
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        if not got:
            if on_wait:
                on_wait(f"another `policybot index` holds the index lock in {db.label}; waiting for it to finish")
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        conn.commit()
        try:
            yield True
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()
