"""The vectors an index run stores: reused by the content they were made from, whatever the version.

A new version of a text changes every chunk id (the version is part of it), but
most of its units are unchanged. Each stored vector carries ``embed_key``, a
hash of the source, language, unit and the embedded text, so a run finds the
vectors it can reuse in the collection it updates or, in a shared store, in the
collection that serves.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .chunking import embed_text
from .models import Chunk

__all__ = ["content_key", "vectors_by_content", "vectors_by_key"]


def content_key(chunk: Chunk) -> str:
    """Same source, language, unit and embedded text: the same vector, whatever the version."""
    return hashlib.sha256(f"{chunk.source}\0{chunk.language}\0{chunk.unit}\0{embed_text(chunk)}".encode()).hexdigest()


def vectors_by_content(collection: Any, ids: list[str]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for i in range(0, len(ids), 500):
        got = collection.get(ids=ids[i : i + 500], include=["embeddings", "documents", "metadatas"])
        for doc, meta, vec in zip(got["documents"], got["metadatas"], got["embeddings"]):
            key = meta.get("embed_key")
            if not key:  # indexed by an earlier policybot, which did not store the key
                key = content_key(Chunk(id="", text=doc, **{k: v for k, v in meta.items() if k in Chunk.model_fields}))
            out[str(key)] = list(map(float, vec))
    return out


def vectors_by_key(collection: Any, keys: list[str]) -> dict[str, list[float]]:
    """The vectors ``collection`` holds for these content keys (read in pages, only those asked for)."""
    out: dict[str, list[float]] = {}
    for i in range(0, len(keys), 500):
        got = collection.get(where={"embed_key": {"$in": keys[i : i + 500]}}, include=["embeddings", "metadatas"])
        for meta, vec in zip(got["metadatas"], got["embeddings"]):
            out[str(meta["embed_key"])] = list(map(float, vec))
    return out
