"""A snapshot's units, read from its ``units.jsonl`` when an answer asks for one.

Answers read a few units at a time, but a bot used to hold every unit with its blocks as objects:
about 340 MiB per replica at 200,000 chunks, for text the chunks already carry (docs/scaling.md).
The store keeps, per unit, only where its line lies in the file and its :class:`UnitHead` (which
units exist, for the answerability gate). A unit is parsed when asked for, and the most recently
used few hundred are kept. Every line is validated once, when the snapshot is loaded, so a damaged
file is found at start-up and not in the middle of an answer.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .errors import IndexCorruptError
from .models import Unit, UnitHead

UnitKey = tuple[str, str, str]  # (source, language, unit)
FILE = "units.jsonl"
#: Units kept parsed: an answer reads up to a few dozen, a briefing a whole act's.
CACHE_UNITS = 512


class UnitStore(Mapping[UnitKey, Unit]):
    """``(source, language, unit) -> Unit``, read from ``<folder>/units.jsonl`` on demand."""

    def __init__(self, folder: Path, spans: dict[UnitKey, tuple[int, int]], heads: dict[UnitKey, UnitHead]) -> None:
        self.folder = folder
        self.spans = spans
        self.heads = heads
        self.limit = CACHE_UNITS
        self._cache: OrderedDict[UnitKey, Unit] = OrderedDict()
        self._lock = threading.Lock()
        self._fd: int | None = None
        self.relocate(folder)

    def relocate(self, folder: Path) -> None:
        """Read from ``folder``'s file from now on. It is opened now and kept open: a generation folder removed
        after a swap (or by an index run's clean-up) stays readable to the answers still using it."""
        self.__del__()
        self.folder = folder
        try:
            self._fd = os.open(folder / FILE, os.O_RDONLY)
        except OSError:
            self._fd = None  # reads say the index is damaged

    def __del__(self) -> None:
        fd, self._fd = getattr(self, "_fd", None), None
        if fd is not None:
            os.close(fd)

    @classmethod
    def read(cls, folder: Path) -> tuple[UnitStore, dict[UnitKey, str]]:
        """The store for ``folder``'s file, and each unit's version. Raises ``ValueError``/``OSError``
        (and pydantic's ``ValidationError``, a ``ValueError``) on a damaged file."""
        spans: dict[UnitKey, tuple[int, int]] = {}
        heads: dict[UnitKey, UnitHead] = {}
        versions: dict[UnitKey, str] = {}
        pool: dict[str, str] = {}
        offset = 0
        with (folder / FILE).open("rb") as fh:
            for line in fh:
                start, offset = offset, offset + len(line)
                if not line.strip():
                    continue
                row = json.loads(line)
                unit = Unit.model_validate(row["unit"])
                source, language, kind, amended_by = (sys.intern(v) if v else v for v in (unit.source, unit.language, unit.kind, unit.amended_by))
                head = UnitHead(source, language, unit.unit, kind, unit.number, unit.title, amended_by)
                key = (head.source, head.language, head.unit)
                spans[key] = (start, len(line))
                heads[key] = head
                versions[key] = pool.setdefault(row["version"], row["version"])
        return cls(folder, spans, heads), versions

    def __getitem__(self, key: UnitKey) -> Unit:
        with self._lock:
            unit = self._cache.get(key)
            if unit is not None:
                self._cache.move_to_end(key)
                return unit
        start, length = self.spans[key]  # KeyError: no such unit (Mapping.get gives None)
        try:
            if self._fd is None:
                raise FileNotFoundError(FILE)
            unit = Unit.model_validate(json.loads(os.pread(self._fd, length, start))["unit"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexCorruptError(self.folder, f"{FILE}: {type(exc).__name__}", repair="policybot index") from None
        with self._lock:
            self._cache[key] = unit
            while len(self._cache) > self.limit:
                self._cache.popitem(last=False)
        return unit

    def __iter__(self) -> Iterator[UnitKey]:
        return iter(self.spans)

    def __len__(self) -> int:
        return len(self.spans)

    def __contains__(self, key: object) -> bool:
        return key in self.spans

    def __getstate__(self) -> dict[str, Any]:  # pickled in the start-up cache without its parsed units
        return {"folder": self.folder, "spans": self.spans, "heads": self.heads}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["folder"], state["spans"], state["heads"])  # type: ignore[misc]
