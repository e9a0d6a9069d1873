"""The export record (one per document), as in the design's contract, and its writers:
JSON lines and Parquet. (The WACZ package of the raw captures is in `archive.wacz`.)"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
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


# -- Parquet -------------------------------------------------------------------------------

PARQUET_BATCH = 1000  # records per written batch (and row group): memory stays bounded


def parquet_schema():  # type: ignore[no-untyped-def]
    """The Parquet schema of an export record: one column per EXPORT_FIELDS entry, in order.

    `fetched_at` is a UTC timestamp (microseconds); `published` stays the string the page
    gave (a date or a datetime); `segments` and `removed` are lists of structs.
    """
    import pyarrow as pa

    segment = pa.struct(
        [
            pa.field("start", pa.int64(), nullable=False),
            pa.field("end", pa.int64(), nullable=False),
            pa.field("lang", pa.string(), nullable=False),
            pa.field("chars", pa.int64(), nullable=False),
        ]
    )
    removal = pa.struct(
        [
            pa.field("start", pa.int64(), nullable=False),
            pa.field("end", pa.int64(), nullable=False),
            pa.field("text", pa.string(), nullable=False),
            pa.field("rule", pa.string(), nullable=False),
            pa.field("family", pa.string(), nullable=False),
        ]
    )
    schema = pa.schema(
        [
            pa.field("id", pa.int64(), nullable=False),
            pa.field("url", pa.string(), nullable=False),
            pa.field("fetched_at", pa.timestamp("us", tz="UTC")),
            pa.field("status", pa.int32()),
            pa.field("title", pa.string()),
            pa.field("author", pa.string()),
            pa.field("published", pa.string()),
            pa.field("site", pa.string()),
            pa.field("lang", pa.string()),
            pa.field("lang_confidence", pa.float64()),
            pa.field("segments", pa.list_(pa.field("item", segment, nullable=False))),
            pa.field("text", pa.string()),
            pa.field("removed", pa.list_(pa.field("item", removal, nullable=False))),
            pa.field("content_sha256", pa.string()),
            pa.field("cluster_id", pa.int64()),
            pa.field("duplicate_of", pa.int64()),
            pa.field("warc_file", pa.string()),
            pa.field("warc_offset", pa.int64()),
            pa.field("warc_record_id", pa.string()),
            pa.field("extractor_version", pa.string()),
            pa.field("translation_of", pa.int64()),
        ],
        metadata={b"warcflow.export": b"one row per document; fields as in the JSONL export"},
    )
    assert tuple(schema.names) == EXPORT_FIELDS
    return schema


def _parquet_row(record: dict[str, object]) -> dict[str, object]:
    row = dict(record)
    fetched = row.get("fetched_at")
    if isinstance(fetched, str):
        when = datetime.fromisoformat(fetched)
        row["fetched_at"] = when if when.tzinfo else when.replace(tzinfo=UTC)
    return row


def write_parquet(records: Iterable[dict[str, object]], path: Path) -> int:
    """Write export records (as made by `export_record`) to a Parquet file; returns the count.

    Written in batches, to a temporary file renamed into place at the end, so a failed
    export leaves no half-written file behind.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = parquet_schema()
    tmp = path.with_name(f".{path.name}.tmp")
    count = 0
    try:
        with pq.ParquetWriter(str(tmp), schema, compression="zstd") as writer:
            for batch in _batches(records, PARQUET_BATCH):
                rows = [_parquet_row(r) for r in batch]
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                count += len(rows)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return count


def _batches(records: Iterable[dict[str, object]], size: int) -> Iterator[list[dict[str, object]]]:
    batch: list[dict[str, object]] = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
