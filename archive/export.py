"""The export record (one per document), as in the design's contract."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO

from archive.documents import StoredDocument

EXPORT_FIELDS = (
    "id", "url", "fetched_at", "status", "title", "author", "published", "site", "lang",
    "lang_confidence", "segments", "text", "removed", "content_sha256", "cluster_id",
    "duplicate_of", "warc_file", "warc_offset", "warc_record_id", "extractor_version",
    "translation_of",
)  # fmt: skip


def export_record(stored: StoredDocument) -> dict[str, object]:
    doc = stored.document
    return {
        "id": stored.id,
        "url": doc.url,
        "fetched_at": doc.fetched_at.isoformat() if doc.fetched_at else None,
        "status": doc.status,
        "title": doc.title,
        "author": doc.author,
        "published": doc.published,
        "site": doc.site,
        "lang": doc.lang,
        "lang_confidence": doc.lang_confidence,
        "segments": [
            {"start": s.start, "end": s.end, "lang": s.lang, "chars": s.chars} for s in doc.segments
        ],
        "text": doc.text,
        "removed": [
            {"start": r.start, "end": r.end, "text": r.text, "rule": r.rule, "family": r.family}
            for r in doc.removed
        ],
        "content_sha256": doc.content_sha256,
        "cluster_id": stored.cluster_id,
        "duplicate_of": stored.duplicate_of,
        "warc_file": stored.warc_file,
        "warc_offset": stored.warc_offset,
        "warc_record_id": stored.warc_record_id,
        "extractor_version": doc.extractor_version,
        "translation_of": stored.translation_of,
    }


def write_jsonl(records: Iterable[dict[str, object]], out: IO[str]) -> int:
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count
