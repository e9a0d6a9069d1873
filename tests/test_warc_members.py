"""Each WARC record is one gzip member (archive/warc.py `_member`).

A payload that arrived compressed is stored, not deflated again, after the deflated
headers, in the same deflate stream: every gzip reader must see exactly `plain` back, as
one member (no trailing data, so record offsets and lengths stay exact), whatever the
split and however many 64 KB stored blocks the tail needs.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib

from hypothesis import given, settings
from hypothesis import strategies as st
from warcio.archiveiterator import ArchiveIterator

from archive.warc import STORED_BLOCK, HttpResponse, WarcFileWriter, _member, utcnow


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3 * STORED_BLOCK), st.data())
def test_a_member_with_a_stored_tail_reads_back_as_one_member(plain: bytes, data) -> None:  # type: ignore[no-untyped-def]
    tail = data.draw(st.integers(min_value=0, max_value=len(plain)))
    member = _member(plain, tail)
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    assert inflate.decompress(member) == plain
    assert inflate.eof and inflate.unused_data == b""
    assert gzip.decompress(member) == plain


def test_a_compressed_payload_is_stored_and_the_headers_deflated() -> None:
    body = gzip.compress(os.urandom(200_000))  # incompressible, over three stored blocks
    headers = [("Content-Type", "text/html"), ("Content-Encoding", "gzip")]
    resp = HttpResponse(
        url="http://127.0.0.1/a",
        ip="127.0.0.1",
        date=utcnow(),
        request_line="GET /a HTTP/1.1",
        request_headers=[("Host", "127.0.0.1")],
        status_line="200 OK",
        protocol="HTTP/1.1",
        headers=[*headers, ("Content-Length", str(len(body)))],
        body=body,
    )
    out = io.BytesIO()
    placed, _ = WarcFileWriter(out, "t.warc.gz").write_response(resp)
    member = out.getvalue()[placed.offset : placed.offset + placed.length]
    plain = gzip.decompress(member)
    # stored: 5 bytes per 64 KB block; the headers, deflated, take less than they are
    assert len(member) < len(plain) + 5 * (len(body) // STORED_BLOCK + 1) + 18
    records = list(ArchiveIterator(io.BytesIO(out.getvalue())))
    assert [r.rec_type for r in records] == ["response", "request"]
    stream = ArchiveIterator(io.BytesIO(out.getvalue()))
    record = next(iter(stream))
    assert record.raw_stream.read() == body
