"""The time-bounded extractor: stage 1 in a child forked from a warm forkserver, the
same result as in this process, and a recorded outcome when a page takes too long."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from extractors.model import Capture
from extractors.pipeline import Pipeline
from extractors.worker import BoundedExtractor

PAGES = Path(__file__).parent / "fixtures" / "pages"


def capture(name: str) -> Capture:
    return Capture(
        url=f"http://news.test/{name}",
        body=(PAGES / name).read_bytes(),
        content_type="text/html",
        content_encoding=None,
        status=200,
        fetched_at=datetime(2026, 1, 2, tzinfo=UTC),
        record_id="<urn:uuid:1>",
        warc_file="a.warc.gz",
        warc_offset=0,
    )


def test_the_child_extracts_what_this_process_would() -> None:
    pages = [capture("en_news.html"), capture("discuz_print.html"), capture("id_news.html")]
    here = Pipeline()
    with BoundedExtractor() as extractor:
        for page in pages:
            got, expected = extractor.extract(page), here.extract_capture(page)
            assert got.outcome == expected.outcome == "ok"
            assert got.extracted == expected.extracted and got.extracted
            assert got.title == expected.title


def test_a_page_over_the_time_limit_is_an_outcome_and_the_next_page_still_works() -> None:
    page = capture("en_news.html")
    with BoundedExtractor(timeout=0.0005) as extractor:
        slow = extractor.extract(page)
        assert slow.outcome == "extract_timeout"
        assert slow.url == page.url and "extract_timeout" in (slow.reason or "")
        extractor.timeout = 30.0  # the child was replaced; a new one serves the next page
        assert extractor.extract(page).outcome == "ok"
