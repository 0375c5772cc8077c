"""Versions of each text, kept under ``<data_dir>/versions``.

Layout: ``versions/<source>/<language>/<version-id>/`` holds ``meta.json`` and
the raw files under ``raw/``. A version id is ``<date of the text>_<sha256[:12]>``.
A version directory appears only once it is complete (written to a temporary
folder, then renamed), so a sync that fails half-way leaves no half version.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, Field


class VersionMeta(BaseModel):
    source: str
    language: str
    edition: str
    version: str
    sha256: str
    date: str = ""
    celex: str = ""
    format: str
    url: str = ""
    origin: str = Field("", description="Where the bytes came from: a URL, a mirror path or 'bundled'")
    fetched_at: str
    files: list[str] = Field(default_factory=list)

    def raw_path(self, root: Path) -> Path:
        """The file to parse, or the folder when the text has several files."""
        folder = root / self.source / self.language / self.version / "raw"
        if len(self.files) == 1:
            return folder / self.files[0]
        return folder


def digest_files(files: dict[str, bytes]) -> str:
    """sha256 of a set of files: of each relative path and its bytes, in path order."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode())
        h.update(b"\0")
        h.update(hashlib.sha256(files[name]).digest())
    return h.hexdigest()


class VersionStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def list(self, source: str | None = None, language: str | None = None) -> list[VersionMeta]:
        """All complete versions, oldest first (by date of the text, then time fetched)."""
        out: list[VersionMeta] = []
        if not self.root.is_dir():
            return out
        for meta_path in self.root.glob("*/*/*/meta.json"):
            if meta_path.parent.name.startswith("."):
                continue
            try:
                meta = VersionMeta.model_validate_json(meta_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if source and meta.source != source:
                continue
            if language and meta.language != language:
                continue
            out.append(meta)
        out.sort(key=lambda m: (m.source, m.language, m.date, m.fetched_at))
        return out

    def find(self, source: str, language: str, edition: str | None = None) -> list[VersionMeta]:
        return [m for m in self.list(source, language) if edition is None or m.edition == edition]

    def current(self, source: str, language: str) -> VersionMeta | None:
        versions = self.list(source, language)
        return versions[-1] if versions else None

    def raw_path(self, meta: VersionMeta) -> Path:
        return meta.raw_path(self.root)

    def add(
        self,
        *,
        source: str,
        language: str,
        edition: str,
        files: dict[str, bytes],
        format: str,
        date: str = "",
        celex: str = "",
        url: str = "",
        origin: str = "",
    ) -> tuple[VersionMeta, bool]:
        """Store a text; returns (version, created). Unchanged bytes make no new version."""
        sha = digest_files(files)
        for existing in self.find(source, language, edition):
            if existing.sha256 == sha:
                return existing, False
        version = f"{date or 'undated'}_{sha[:12]}"
        meta = VersionMeta(
            source=source,
            language=language,
            edition=edition,
            version=version,
            sha256=sha,
            date=date,
            celex=celex,
            format=format,
            url=url,
            origin=origin,
            fetched_at=datetime.now(timezone.utc).isoformat(timespec="microseconds"),
            files=sorted(files),
        )
        parent = self.root / source / language
        parent.mkdir(parents=True, exist_ok=True)
        final = parent / version
        tmp = Path(tempfile.mkdtemp(prefix=".partial-", dir=parent))
        try:
            for name, data in files.items():
                target = tmp / "raw" / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            (tmp / "meta.json").write_text(meta.model_dump_json(indent=2), encoding="utf-8")
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return meta, True
