"""CDXJ index of a WARC file, in the form pywb reads (`urlkey timestamp {json}`)."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import surt

from archive.warc import StoredRecord, iter_records, stored_record

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


class _NotSimple(ValueError):
    """A file `_members` cannot index: warcio's reader does it."""


def _fields(block: bytes) -> tuple[str, dict[str, str]]:
    """First line and headers (first occurrence of each name, lower-cased names)."""
    first, *lines = block.decode("utf-8", "replace").split("\r\n")
    fields: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep or line[:1] in (" ", "\t"):
            raise _NotSimple("folded or malformed header")
        fields.setdefault(name.strip().lower(), value.strip())
    return first, fields


def _members(data: bytes) -> Iterator[StoredRecord]:
    """The records of a WARC file written one gzip member per record, as `iter_records`
    reads them, from the members' own bytes (several times faster than warcio's reader,
    which parses everything). Raises _NotSimple for anything else."""
    view = memoryview(data)
    offset = 0
    while offset < len(data):
        member = zlib.decompressobj(16 + zlib.MAX_WBITS)
        head = b""  # the start of the record: its headers
        pos = offset
        while not member.eof:
            if pos >= len(data):
                raise _NotSimple("truncated gzip member")
            chunk = view[pos : pos + 65536]
            pos += len(chunk)
            out = member.decompress(chunk)
            if len(head) < 65536:
                head += out[: 65536 - len(head)]
        length = pos - offset - len(member.unused_data)
        warc_end = head.find(b"\r\n\r\n")
        if not head.startswith(b"WARC/") or warc_end < 0:
            raise _NotSimple("not a WARC record at the start of a member")
        _, warc = _fields(head[:warc_end])
        http = None
        if warc.get("warc-type") in ("response", "revisit") and "application/http" in warc.get(
            "content-type", ""
        ):
            http_end = head.find(b"\r\n\r\n", warc_end + 4)
            if http_end < 0:
                raise _NotSimple("HTTP headers past the first 64 KiB")
            status_line, fields = _fields(head[warc_end + 4 : http_end])
            code = status_line.split(" ", 2)[1] if status_line.count(" ") else ""
            http = (int(code) if code.isdigit() else None, fields.get("content-type", ""))
        yield stored_record(offset, length, warc, http)
        offset += length


def _entries_path(cdx_dir: Path, warc_name: str) -> Path:
    return cdx_dir / (warc_name.removesuffix(".warc.gz") + ".cdxj.entries")


def append_entries(cdx_dir: Path, warc_name: str, records: Iterable[StoredRecord]) -> None:
    """Note records just written (and fsynced) to `warc_name`: `offset length line`, the
    line `-` for a record the index leaves out. Not fsynced itself: entries that a crash
    loses only make `write_cdxj` read the file."""
    text = "".join(f"{r.offset} {r.length} {cdxj_line(r, warc_name) or '-'}\n" for r in records)
    with _entries_path(cdx_dir, warc_name).open("a", encoding="utf-8") as f:
        f.write(text)


def _lines_from_entries(path: Path, size: int) -> list[str] | None:
    """The index lines of a file of `size` bytes from its entries, or None unless they
    describe every record from offset 0 to the end, one after the other. An offset noted
    twice (the file was cut back after a crash and written again) keeps the later."""
    entries: dict[int, tuple[int, str]] = {}
    for row in path.read_text(encoding="utf-8").splitlines():
        offset, length, line = row.split(" ", 2)
        entries[int(offset)] = (int(length), line)
    lines: list[str] = []
    pos = 0
    while pos < size:
        entry = entries.get(pos)
        if entry is None or entry[0] <= 0:
            return None
        pos += entry[0]
        if entry[1] != "-":
            lines.append(entry[1])
    return sorted(lines) if pos == size else None


def write_cdxj(warc_path: Path, cdx_dir: Path) -> Path:
    """Index one WARC file into `cdx_dir/<name>.cdxj` (written atomically): from the
    entries its writer noted (`append_entries`) when they cover the whole file, else by
    reading the file."""
    entries = _entries_path(cdx_dir, warc_path.name)
    lines = None
    if entries.exists():
        try:
            lines = _lines_from_entries(entries, warc_path.stat().st_size)
        except (ValueError, UnicodeError):
            lines = None
    if lines is None:
        try:
            lines = cdxj_lines(_members(warc_path.read_bytes()), warc_path.name)
        except (_NotSimple, zlib.error, UnicodeError, IndexError):
            with warc_path.open("rb") as f:
                lines = cdxj_lines(iter_records(f), warc_path.name)
    target = cdx_dir / (warc_path.name.removesuffix(".warc.gz") + ".cdxj")
    tmp = target.with_suffix(".cdxj.tmp")
    tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    tmp.replace(target)
    entries.unlink(missing_ok=True)
    return target
