"""WARC/1.1 files: a rotating writer with one gzip member per record, and a reader.

`WarcWriter` owns one open file at a time. It writes each record as its own gzip member
(warcio does the framing and the sha1/base32 digests), fsyncs after each capture, and
reports offsets so the catalog can point at records. The clock and the record-id
factory are constructor arguments, so tests can pin them and compare bytes.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import uuid
import zlib
from base64 import b32encode
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

Clock = Callable[[], datetime]
IdFactory = Callable[[], str]
# Each record is one gzip member. warcio's own level 9 costs several times the CPU of
# level 6 for about the same size.
GZIP_LEVEL = 6
# A payload that arrived compressed (Content-Encoding) does not shrink again: its bytes
# go into the member as stored deflate blocks after the deflated headers (see `_member`).
# Deflating them again cost ~0.17 ms per 11 KB page, 10 % of the crawl's CPU per page.
STORED_BLOCK = 0xFFFF  # the most a stored deflate block holds
# zlib allocates and clears its state for the window it is given (~0.05 ms at 32 KB):
# records that fit a 4 KB window (headers, requests) get that.
SMALL_WBITS, SMALL_MEMLEVEL = 12, 5
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no mtime, OS unknown


def _member(plain: bytes, stored_tail: int = 0) -> bytes:
    """`plain` as one gzip member; its last `stored_tail` bytes are stored, not deflated.

    The deflated part ends with a sync flush (a byte boundary, no final block), so the
    stored blocks that follow continue the same deflate stream: any gzip reader sees one
    member with one CRC over all of `plain`."""
    head = plain[: len(plain) - stored_tail]
    small = len(head) <= (1 << SMALL_WBITS)
    wbits = SMALL_WBITS if small else zlib.MAX_WBITS
    memlevel = SMALL_MEMLEVEL if small else zlib.DEF_MEM_LEVEL
    if not stored_tail:
        deflate = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + wbits, memlevel)
        return deflate.compress(plain) + deflate.flush()
    deflate = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -wbits, memlevel)
    parts = [_GZIP_HEADER, deflate.compress(head), deflate.flush(zlib.Z_SYNC_FLUSH)]
    tail = memoryview(plain)[len(head) :]
    for start in range(0, stored_tail, STORED_BLOCK):
        block = tail[start : start + STORED_BLOCK]
        final = start + STORED_BLOCK >= stored_tail
        parts.append(struct.pack("<BHH", final, len(block), len(block) ^ 0xFFFF))
        parts.append(block)
    parts.append(struct.pack("<II", zlib.crc32(plain), len(plain) & 0xFFFFFFFF))
    return b"".join(parts)


def new_record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


def utcnow() -> datetime:
    return datetime.now(UTC)


def warc_date(when: datetime) -> str:
    """WARC/1.1 date with sub-second precision (ISO 8601, UTC, microseconds)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sha1_digest(data: bytes) -> str:
    return "sha1:" + b32encode(hashlib.sha1(data).digest()).decode("ascii")


@dataclass(frozen=True)
class WrittenRecord:
    """Where a record landed: file name, offset and length of its gzip member."""

    record_id: str
    warc_file: str
    offset: int
    length: int
    date: datetime


@dataclass(frozen=True)
class HttpResponse:
    """What the writer needs of one exchange; built by the crawler from its Exchange."""

    url: str
    ip: str
    date: datetime
    request_line: str
    request_headers: list[tuple[str, str]]
    status_line: str  # "200 OK"
    protocol: str  # "HTTP/1.1"
    headers: list[tuple[str, str]]
    body: bytes
    truncated: str | None = None


@dataclass(frozen=True)
class RevisitOf:
    """The earlier capture a revisit record points to."""

    url: str
    date: datetime
    record_id: str
    payload_digest: str
    profile: str  # "server-not-modified" or "identical-payload-digest"


class WarcFileWriter:
    """Appends records to one open WARC file; the file object is owned by the caller."""

    def __init__(
        self,
        stream: BinaryIO,
        name: str,
        clock: Clock = utcnow,
        make_id: IdFactory = new_record_id,
    ) -> None:
        self.stream = stream
        self.name = name
        self._clock = clock
        self._make_id = make_id
        # warcio frames the record into `_plain`; it becomes one gzip member in `stream`
        self._plain = io.BytesIO()
        self._writer = WARCWriter(self._plain, gzip=False, warc_version="1.1")
        self.records = 0  # written by this writer (a staged file's count when published)
        # When a list: every record written is added, as `iter_records` would read it back
        # (the CDXJ index of a file can then be written without reading the file again)
        self.written: list[StoredRecord] | None = None

    def _write(self, record, stored_tail: int = 0) -> tuple[int, int]:  # type: ignore[no-untyped-def]
        """Frame `record` and append it as one gzip member; returns (offset, length)."""
        start = self.stream.tell()
        self._plain.seek(0)
        self._plain.truncate()
        self._writer.write_record(record)
        plain = self._plain.getvalue()
        # warcio ends the block with the two CRLFs that close the record
        self.stream.write(_member(plain, stored_tail + 4 if stored_tail else 0))
        self.records += 1
        length = self.stream.tell() - start
        if self.written is not None:
            self.written.append(_stored(record, start, length))
        return start, length

    def _headers(self, record_id: str, when: datetime, **extra: str) -> dict[str, str]:
        return {"WARC-Record-ID": record_id, "WARC-Date": warc_date(when), **extra}

    def _warc_headers(
        self, record_type: str, url: str, record_id: str, when: datetime, **extra: str
    ) -> StatusAndHeaders:
        """The header block warcio would build from `_headers` (same names, same order),
        built at once: warcio's per-name replace and lookup cost ~15 us a record."""
        headers = [*self._headers(record_id, when, **extra).items(), ("WARC-Type", record_type)]
        if url:
            headers.append(("WARC-Target-URI", url))
        return StatusAndHeaders("", headers, protocol=self._writer.warc_version)

    def write_warcinfo(self, info: dict[str, object]) -> WrittenRecord:
        when = self._clock()
        record_id = self._make_id()
        payload = "".join(f"{k}: {v}\r\n" for k, v in info.items()).encode("utf-8")
        record = self._writer.create_warc_record(
            "",
            "warcinfo",
            payload=io.BytesIO(payload),
            length=len(payload),
            warc_content_type="application/warc-fields",
            warc_headers_dict={
                **self._headers(record_id, when),
                "WARC-Filename": self.name,
            },
        )
        offset, length = self._write(record)
        return WrittenRecord(record_id, self.name, offset, length, when)

    def write_response(self, resp: HttpResponse) -> tuple[WrittenRecord, str]:
        """Response then request record (Concurrent-To); returns the response's place and
        the payload digest."""
        response_id = self._make_id()
        payload_digest = sha1_digest(resp.body)
        extra = {"WARC-IP-Address": resp.ip, "WARC-Payload-Digest": payload_digest}
        if resp.truncated:
            extra["WARC-Truncated"] = resp.truncated
        http_headers = StatusAndHeaders(
            resp.status_line, resp.headers, protocol=resp.protocol, is_http_request=False
        )
        record = self._writer.create_warc_record(
            resp.url,
            "response",
            payload=io.BytesIO(resp.body),
            length=len(resp.body),
            http_headers=http_headers,
            warc_headers=self._warc_headers("response", resp.url, response_id, resp.date, **extra),
        )
        encoded = any(
            k.lower() == "content-encoding" and v.strip().lower() not in ("", "identity")
            for k, v in resp.headers
        )
        offset, length = self._write(record, len(resp.body) if encoded else 0)
        self._write_request(resp, response_id)
        return WrittenRecord(response_id, self.name, offset, length, resp.date), payload_digest

    def write_revisit(self, resp: HttpResponse, of: RevisitOf) -> WrittenRecord:
        record_id = self._make_id()
        profile = f"http://netpreserve.org/warc/1.1/revisit/{of.profile}"
        http_headers = StatusAndHeaders(
            resp.status_line, resp.headers, protocol=resp.protocol, is_http_request=False
        )
        record = self._writer.create_revisit_record(
            resp.url,
            of.payload_digest,
            of.url,
            warc_date(of.date),
            http_headers=http_headers,
            warc_headers_dict=self._headers(
                record_id,
                resp.date,
                **{
                    "WARC-IP-Address": resp.ip,
                    "WARC-Refers-To": of.record_id,
                },
            ),
        )
        # warcio adds its default (identical-payload-digest) profile; WARC-Profile is not
        # repeatable, so set ours in its place.
        record.rec_headers.replace_header("WARC-Profile", profile)
        offset, length = self._write(record)
        self._write_request(resp, record_id)
        return WrittenRecord(record_id, self.name, offset, length, resp.date)

    def _write_request(self, resp: HttpResponse, concurrent_to: str) -> None:
        method, path, protocol = resp.request_line.split(" ", 2)
        http_headers = StatusAndHeaders(
            f"{method} {path}", resp.request_headers, protocol=protocol, is_http_request=True
        )
        record = self._writer.create_warc_record(
            resp.url,
            "request",
            payload=io.BytesIO(b""),
            length=0,
            http_headers=http_headers,
            warc_headers=self._warc_headers(
                "request",
                resp.url,
                self._make_id(),
                resp.date,
                **{"WARC-Concurrent-To": concurrent_to, "WARC-IP-Address": resp.ip},
            ),
        )
        self._write(record)

    def write_conversion(
        self, url: str, refers_to: str, text: str, when: datetime, extra: dict[str, str]
    ) -> WrittenRecord:
        """Derived text (e.g. clean article text) referring to its response record."""
        record_id = self._make_id()
        payload = text.encode("utf-8")
        record = self._writer.create_warc_record(
            url,
            "conversion",
            payload=io.BytesIO(payload),
            length=len(payload),
            warc_content_type="text/plain; charset=utf-8",
            warc_headers_dict=self._headers(
                record_id, when, **{"WARC-Refers-To": refers_to, **extra}
            ),
        )
        offset, length = self._write(record)
        return WrittenRecord(record_id, self.name, offset, length, when)

    def sync(self) -> int:
        """Flush and fsync; returns the durable size of the file."""
        self.stream.flush()
        os.fsync(self.stream.fileno())
        return self.stream.tell()


@dataclass(frozen=True)
class StoredRecord:
    offset: int
    length: int
    rec_type: str
    url: str
    record_id: str
    date: str
    headers: dict[str, str]
    http_status: int | None
    mime: str
    payload_digest: str


def stored_record(
    offset: int,
    length: int,
    warc: dict[str, str],
    http: tuple[int | None, str] | None = None,
    headers: dict[str, str] | None = None,
) -> StoredRecord:
    """A record at its place from its WARC header fields (names lower-cased) and, for a
    response or revisit holding an HTTP response, that response's (status, Content-Type)."""
    rec_type = warc.get("warc-type", "")
    status, mime = None, ""
    if rec_type in ("response", "revisit") and http is not None:
        status, mime = http[0], http[1].split(";")[0].strip()
    elif rec_type != "request":
        mime = warc.get("content-type", "").split(";")[0].strip()
    return StoredRecord(
        offset=offset,
        length=length,
        rec_type=rec_type,
        url=warc.get("warc-target-uri", ""),
        record_id=warc.get("warc-record-id", ""),
        date=warc.get("warc-date", ""),
        headers=headers or {},
        http_status=status,
        mime=mime,
        payload_digest=warc.get("warc-payload-digest", ""),
    )


def _stored(
    record, offset: int, length: int, headers: dict[str, str] | None = None
) -> StoredRecord:  # type: ignore[no-untyped-def]
    """A warcio record (just written, or read by `iter_records`) with its place."""
    # one pass over the header block (warcio's get_header scans it per name); reversed, so
    # that a repeated header gives its first value, as get_header does
    warc = {name.lower(): value for name, value in reversed(record.rec_headers.headers)}
    http = None
    if record.http_headers is not None:
        code = record.http_headers.get_statuscode()
        status = int(code) if code and code.isdigit() else None
        http = (status, record.http_headers.get_header("Content-Type") or "")
    return stored_record(offset, length, warc, http, headers)


def iter_records(stream: BinaryIO) -> Iterator[StoredRecord]:
    """Each record of a WARC file with its offset and length (payloads are skipped)."""
    iterator = ArchiveIterator(stream, no_record_parse=False)
    for record in iterator:
        headers = dict(record.rec_headers.headers)
        record.raw_stream.read()  # consume so the iterator can measure the length
        offset = iterator.get_record_offset()
        iterator.read_to_end(record)
        yield _stored(record, offset, iterator.get_record_length(), headers)


WarcSource = Path | BinaryIO  # a local file, or an open seekable stream (e.g. Storage.open)


@contextmanager
def _opened(source: WarcSource) -> Iterator[BinaryIO]:
    """A path is opened (and closed) here; a stream is the caller's to close."""
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as f:
            yield f
    else:
        yield source


def read_record_at(source: WarcSource, offset: int):  # type: ignore[no-untyped-def]
    """Open the record at `offset` of a path or an open stream (local or remote: only
    this record is read); returns (record, http body bytes decoded of Content-Encoding
    by warcio's content_stream)."""
    with _opened(source) as f:
        f.seek(offset)
        record = next(iter(ArchiveIterator(f)))
        return record, record.content_stream().read()


def read_raw_payload_at(
    source: WarcSource, offset: int
) -> tuple[dict[str, str], list[tuple[str, str]], bytes]:
    """WARC headers, HTTP headers and the payload exactly as stored (no decoding), of the
    record at `offset` of a path or an open stream."""
    with _opened(source) as f:
        f.seek(offset)
        record = next(iter(ArchiveIterator(f)))
        http = list(record.http_headers.headers) if record.http_headers else []
        return dict(record.rec_headers.headers), http, record.raw_stream.read()


def last_whole_record_end(path: Path) -> int:
    """Offset just past the last record that reads back whole (for cutting a torn tail)."""
    end = 0
    with path.open("rb") as f:
        try:
            for rec in iter_records(f):
                end = rec.offset + rec.length
        except Exception:
            pass
    return end
