"""CDXJ index of a WARC file, in the form pywb reads (`urlkey timestamp {json}`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import surt

from archive.warc import StoredRecord, iter_records

INDEXED_TYPES = ("response", "revisit", "resource", "metadata")


def _timestamp(warc_date: str) -> str:
    digits = "".join(ch for ch in warc_date if ch.isdigit())
    return digits[:14]


def cdxj_line(record: StoredRecord, filename: str) -> str | None:
    if record.rec_type not in INDEXED_TYPES or not record.url:
        return None
    try:
        key = surt.surt(record.url)
    except Exception:
        key = record.url
    fields: dict[str, object] = {"url": record.url}
    if record.mime:
        fields["mime"] = record.mime
    if record.http_status is not None:
        fields["status"] = str(record.http_status)
    if record.payload_digest:
        fields["digest"] = record.payload_digest
    fields["length"] = str(record.length)
    fields["offset"] = str(record.offset)
    fields["filename"] = filename
    if record.rec_type == "revisit":
        fields["mime"] = "warc/revisit"
    return f"{key} {_timestamp(record.date)} {json.dumps(fields, ensure_ascii=False)}"


def cdxj_lines(records: Iterable[StoredRecord], filename: str) -> list[str]:
    return sorted(line for r in records if (line := cdxj_line(r, filename)) is not None)


def write_cdxj(warc_path: Path, cdx_dir: Path) -> Path:
    """Index one WARC file into `cdx_dir/<name>.cdxj` (written atomically)."""
    with warc_path.open("rb") as f:
        lines = cdxj_lines(iter_records(f), warc_path.name)
    target = cdx_dir / (warc_path.name.removesuffix(".warc.gz") + ".cdxj")
    tmp = target.with_suffix(".cdxj.tmp")
    tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    tmp.replace(target)
    return target
