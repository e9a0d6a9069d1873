"""Imported once by the extraction forkserver (`extractors.worker`), never by other code.

Building a Pipeline and extracting one small page here means every child forked from
the server starts warm: the rule packs' regular expressions are already in `re`'s
cache, and what the libraries import or load on first use (ftfy's tables, trafilatura's
parsers, the language profiles) is already loaded. Without it each child paid ~100 ms
before its first page, once per extraction batch.
"""

from __future__ import annotations

from extractors.model import Capture
from extractors.pipeline import Pipeline

_PAGE = (
    b"<html><head><title>Warm-up</title></head><body><article><h1>Warm-up</h1>"
    b"<p>This short paragraph is only here so that the extractor runs once before work.</p>"
    b"<p>\xe8\xbf\x99\xe4\xb8\x80\xe6\xae\xb5\xe4\xb8\xad\xe6\x96\x87\xe4\xb9\x9f\xe6\x98\xaf"
    b"\xe4\xb8\xba\xe4\xba\x86\xe9\xa2\x84\xe7\x83\xad\xe3\x80\x82</p></article></body></html>"
)


def warm_up() -> None:
    pipeline = Pipeline()
    capture = Capture(
        url="http://warm-up.invalid/",
        body=_PAGE,
        content_type="text/html; charset=utf-8",
        content_encoding=None,
        status=200,
        fetched_at=None,
        record_id="",
        warc_file="",
        warc_offset=0,
    )
    pipeline.extract_capture(capture)


warm_up()
