"""End to end: whole crawls of loopback sites, then every WARC record read back.

Each test serves a small site on 127.0.0.1, crawls it with `tests.crawling.crawl` and
checks three things: what the server saw (its request log), what the catalog recorded
(outcome per URL) and what the WARC files hold (`check_warcs`: `warcio check`, then
record by record, the CDXJ index and the catalog's offsets).
"""

from __future__ import annotations

import gzip
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import crawling
import pytest
from conftest import LOOPBACK, fast_settings
from crawling import CrawlResult, crawl, warcio_check
from loopback import LoopbackSite, Reply, Request, html
from warcio.archiveiterator import ArchiveIterator

from archive.layout import ArchiveLayout
from archive.warc import StoredRecord, iter_records, read_raw_payload_at, read_record_at
from crawler.settings import CrawlSettings, FetchLimits
from crawler.sources import Source
from flows.crawl_steps import crawl_run

WARC_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,9}Z$")
NOT_REPEATABLE = (
    "WARC-Type",
    "WARC-Record-ID",
    "WARC-Date",
    "WARC-Target-URI",
    "WARC-Profile",
    "WARC-Payload-Digest",
    "WARC-Block-Digest",
    "WARC-Truncated",
    "WARC-Refers-To",
    "Content-Length",
)
PROFILE = "http://netpreserve.org/warc/1.1/revisit/"
Runner = Callable[..., CrawlResult]


# -- helpers ------------------------------------------------------------------------------


@dataclass
class Stored:
    """One WARC record as read back: where it is, its headers and its payload as stored."""

    path: Path
    record: StoredRecord
    warc_headers: list[tuple[str, str]]  # in order, duplicates kept
    http_headers: list[tuple[str, str]]
    payload: bytes  # raw: Content-Encoding kept, chunk framing removed

    @property
    def type(self) -> str:
        return self.record.rec_type

    @property
    def url(self) -> str:
        return self.record.url

    def header(self, name: str) -> str | None:
        return self.record.headers.get(name)

    def http(self, name: str) -> str | None:
        return next((v for k, v in self.http_headers if k.lower() == name.lower()), None)


def read_records(path: Path) -> list[StoredRecord]:
    with path.open("rb") as f:
        return list(iter_records(f))


def check_warcs(layout: ArchiveLayout, result: CrawlResult | None = None) -> list[Stored]:
    """Validate every WARC file of the archive record by record; returns all records."""
    files = sorted(layout.warc_dir.glob("*.warc.gz"))
    assert files, "no WARC file written"
    check = warcio_check(files)
    assert check.returncode == 0, check.stdout + check.stderr
    stored: list[Stored] = []
    for path in files:
        records = read_records(path)
        assert records[0].rec_type == "warcinfo"
        assert records[0].headers["WARC-Filename"] == path.name
        assert [r.rec_type for r in records[1:]].count("warcinfo") == 0
        for rec in records:
            rec_type, warc_headers = _warc_headers_at(path, rec.offset)
            assert rec_type == rec.rec_type
            names = [k for k, _ in warc_headers]
            for name in NOT_REPEATABLE:
                assert names.count(name) <= 1, f"{name} repeated in {rec.rec_type} {rec.url}"
            assert WARC_DATE.match(rec.date), rec.date
            http: list[tuple[str, str]] = []
            payload = b""
            if rec.rec_type in ("response", "revisit", "request"):
                _, http, payload = read_raw_payload_at(path, rec.offset)
            stored.append(Stored(path, rec, warc_headers, http, payload))
    by_id = {s.record.record_id: s for s in stored}
    requests = [s for s in stored if s.type == "request"]
    for s in stored:
        if s.type not in ("response", "revisit"):
            continue
        h = s.record.headers
        assert h["WARC-Target-URI"].startswith("http://127.0.0.1:")
        assert h["WARC-IP-Address"] == "127.0.0.1"
        assert h["WARC-Payload-Digest"].startswith("sha1:")
        assert h["WARC-Block-Digest"].startswith("sha1:")
        assert s.record.http_status is not None
        if s.type == "response":
            assert "transfer-encoding" not in {k.lower() for k, _ in s.http_headers}
            assert s.http("Content-Length") == str(len(s.payload))
        matching = [r for r in requests if r.header("WARC-Concurrent-To") == s.record.record_id]
        assert len(matching) == 1, f"no request record for {s.url}"
        assert matching[0].url == s.url
        assert matching[0].header("WARC-Date") == s.header("WARC-Date")
    for r in requests:
        assert r.header("WARC-Concurrent-To") in by_id
    _check_cdxj(layout, files, stored)
    _check_text_warcs(layout, stored)
    if result is not None:  # the catalog points at each capture, and at nothing else
        placed = {(s.path.name, s.record.offset): s for s in stored}
        captures = result.catalog.captures()
        for capture in captures:
            at = placed.get((capture.warc_file, capture.warc_offset))
            assert at is not None, f"catalog points nowhere for {capture.url}"
            assert at.record.record_id == capture.record_id
            assert at.url == capture.url
        assert len(captures) == len([s for s in stored if s.type in ("response", "revisit")])
    return stored


def _check_text_warcs(layout: ArchiveLayout, stored: list[Stored]) -> None:
    """Clean-text WARC files (written when a crawl also processes): conversion records,
    each referring to an archived response."""
    files = sorted(layout.text_dir.glob("*.warc.gz"))
    if not files:
        return
    check = warcio_check(files)
    assert check.returncode == 0, check.stdout + check.stderr
    responses_by_id = {s.record.record_id: s for s in stored if s.type == "response"}
    for path in files:
        records = read_records(path)
        assert records[0].rec_type == "warcinfo"
        for rec in records[1:]:
            assert rec.rec_type == "conversion"
            assert WARC_DATE.match(rec.date), rec.date
            _, warc_headers = _warc_headers_at(path, rec.offset)
            names = [k for k, _ in warc_headers]
            for name in NOT_REPEATABLE:
                assert names.count(name) <= 1, f"{name} repeated in conversion {rec.url}"
            source = responses_by_id.get(rec.headers["WARC-Refers-To"])
            assert source is not None, f"conversion of {rec.url} refers to no response"
            assert rec.url == source.url == rec.headers["WARC-Refers-To-Target-URI"]


def _warc_headers_at(path: Path, offset: int) -> tuple[str, list[tuple[str, str]]]:
    """Record type and WARC headers (in order, duplicates kept) of the record at `offset`."""
    with path.open("rb") as f:
        f.seek(offset)
        record = next(iter(ArchiveIterator(f)))
        return record.rec_type, list(record.rec_headers.headers)


def _check_cdxj(layout: ArchiveLayout, files: list[Path], stored: list[Stored]) -> None:
    for path in files:
        cdx = layout.cdx_dir / (path.name.removesuffix(".warc.gz") + ".cdxj")
        assert cdx.exists(), f"no CDXJ index for {path.name}"
        entries = [json.loads(line.split(" ", 2)[2]) for line in cdx.read_text().splitlines()]
        indexed = [s for s in stored if s.path == path and s.type in ("response", "revisit")]
        assert sorted(int(e["offset"]) for e in entries) == sorted(s.record.offset for s in indexed)
        for entry in entries:
            assert entry["filename"] == path.name
            rec_type, headers = _warc_headers_at(path, int(entry["offset"]))
            assert rec_type in ("response", "revisit")
            assert dict(headers)["WARC-Target-URI"] == entry["url"]
            same = next(s for s in indexed if s.record.offset == int(entry["offset"]))
            assert int(entry["length"]) == same.record.length
            assert entry["digest"] == same.record.payload_digest


def responses(stored: list[Stored], url: str, kind: str = "response") -> list[Stored]:
    return [s for s in stored if s.type == kind and s.url == url]


CRAWL_ONLY = partial(
    crawl_run, run_process=lambda *args: {"captures": 0}, run_finalise=lambda *args: {}
)


@pytest.fixture
def run(layout: ArchiveLayout, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runner]:
    """run(site, *seed_paths, settings=, new_run=, sitemaps=, process=, **source_fields).

    `process=False` (the default) skips the text-extraction stage of `crawl_run`.
    """
    results: list[CrawlResult] = []

    def _run(
        site: LoopbackSite,
        *seeds: str,
        settings: CrawlSettings | None = None,
        new_run: bool = False,
        sitemaps: tuple[str, ...] = (),
        process: bool = False,
        **source: object,
    ) -> CrawlResult:
        src = Source(
            name="test",
            seeds=tuple(site.url(p) for p in (seeds or ("/",))),
            sitemaps=tuple(site.url(p) for p in sitemaps),
            **source,  # type: ignore[arg-type]
        )
        with monkeypatch.context() as m:
            if not process:  # crawl only: these tests are about fetching and WARC
                m.setattr(crawling, "crawl_run", CRAWL_ONLY)
            result = crawl(layout, [src], settings or fast_settings(), new_run=new_run)
        results.append(result)
        return result

    yield _run
    for result in results:
        result.catalog.close()


def limits(**kw: object) -> FetchLimits:
    base: dict[str, object] = {
        "allowed_networks": LOOPBACK,
        "total_timeout": 5.0,
        "read_timeout": 3.0,
        "connect_timeout": 3.0,
    }
    return FetchLimits(**(base | kw))  # type: ignore[arg-type]


def sequence(*replies: Reply) -> Callable[[Request], Reply]:
    """A route answering with each reply in turn (the last one repeats); logs times."""
    times: list[float] = []

    def route(request: Request) -> Reply:
        times.append(time.monotonic())
        return replies[min(len(times), len(replies)) - 1]

    route.times = times  # type: ignore[attr-defined]
    return route


NO_ROBOTS = Reply(404, b"no robots here", {"Content-Type": "text/plain"})


# -- a small site ----------------------------------------------------------------------


def test_small_site_each_page_archived_once(run: Runner, layout: ArchiveLayout) -> None:
    pages = {
        "/": "<p>Welcome to a small test site with a handful of pages that link to each"
        " other, some of them through tracking parameters and fragments.</p>"
        '<a href="/about">About</a> <a href="/news">News</a>'
        ' <a href="/news/1?utm_source=feed&utm_medium=rss#comments">first</a>',
        "/about": '<a href="/">home</a> <a href="news">news</a>',
        "/news": '<a href="/news/1">1</a> <a href="news/2">2</a> <a href="../about#team">about</a>',
        "/news/1": '<a href="2">next</a> <a href="/news/1#top">self</a>',
        "/news/2": '<a href="/news/1?fbclid=xyz">prev</a> <a href="/contact">contact</a>',
        "/contact": '<a href="/?utm_campaign=c">home</a>',
    }
    routes: dict[str, Reply] = {p: html(f"<html><body>{b}</body></html>") for p, b in pages.items()}
    with LoopbackSite(routes | {"/robots.txt": NO_ROBOTS}) as site:
        # batches of 3 pages: robots.txt must still be fetched once for the whole run;
        # this test runs all of crawl_run, text extraction included
        result = run(site, settings=fast_settings(batch_pages=3), process=True)
    assert sorted(site.log) == sorted([*pages, "/robots.txt"])  # every page exactly once
    assert result.outcomes() == {site.url(p): ("archived", None) for p in pages}
    assert result.report.outcomes == {"archived": len(pages)}
    stored = check_warcs(layout, result)
    for page, reply in routes.items():
        (record,) = responses(stored, site.url(page))
        assert record.record.http_status == 200
        assert record.payload == reply.body
    assert len(responses(stored, site.url("/robots.txt"))) == 1
    texts = [r for path in layout.text_dir.glob("*.warc.gz") for r in read_records(path)]
    assert site.url("/") in {r.url for r in texts if r.rec_type == "conversion"}


def test_robots_disallow_is_never_requested(run: Runner, layout: ArchiveLayout) -> None:
    routes = {
        "/robots.txt": Reply(
            200, b"User-agent: *\nDisallow: /private\n", {"Content-Type": "text/plain"}
        ),
        "/": html('<a href="/private/a">a</a> <a href="/private">p</a> <a href="/public">ok</a>'),
        "/public": html("<p>public</p>"),
        "/private": html("<p>secret</p>"),
        "/private/a": html("<p>secret</p>"),
    }
    with LoopbackSite(routes) as site:
        result = run(site)
    assert sorted(site.log) == ["/", "/public", "/robots.txt"]
    outcomes = result.outcomes()
    assert outcomes[site.url("/private")] == ("robots", "disallowed by robots.txt")
    assert outcomes[site.url("/private/a")] == ("robots", "disallowed by robots.txt")
    assert outcomes[site.url("/public")] == ("archived", None)
    stored = check_warcs(layout, result)
    assert not [s for s in stored if "/private" in s.url]


def test_not_found_is_http_4xx(run: Runner, layout: ArchiveLayout) -> None:
    routes = {"/robots.txt": NO_ROBOTS, "/": html('<a href="/gone">gone</a>')}
    with LoopbackSite(routes) as site:
        result = run(site)
    assert site.log.count("/gone") == 1  # a 404 is not retried
    assert result.outcomes()[site.url("/gone")] == ("http_4xx", "HTTP 404")
    (record,) = responses(check_warcs(layout, result), site.url("/gone"))
    assert record.record.http_status == 404


def test_server_error_then_success_is_retried(run: Runner, layout: ArchiveLayout) -> None:
    flaky = sequence(Reply(500, b"oops", {"Content-Type": "text/plain"}), html("<p>fine</p>"))
    routes = {"/robots.txt": NO_ROBOTS, "/": html('<a href="/flaky">f</a>'), "/flaky": flaky}
    with LoopbackSite(routes) as site:
        result = run(site)
    assert site.log.count("/flaky") == 2
    assert result.outcomes()[site.url("/flaky")] == ("archived", None)
    stored = check_warcs(layout, result)
    assert [s.record.http_status for s in responses(stored, site.url("/flaky"))] == [500, 200]


def test_too_many_requests_waits_for_retry_after(run: Runner, layout: ArchiveLayout) -> None:
    busy = sequence(
        Reply(429, b"slow down", {"Retry-After": "1", "Content-Type": "text/plain"}),
        html("<p>now</p>"),
    )
    routes = {"/robots.txt": NO_ROBOTS, "/": html('<a href="/busy">b</a>'), "/busy": busy}
    with LoopbackSite(routes) as site:
        result = run(site)
    assert site.log.count("/busy") == 2
    first, second = busy.times  # type: ignore[attr-defined]
    assert second - first >= 0.95
    assert result.outcomes()[site.url("/busy")] == ("archived", None)
    stored = check_warcs(layout, result)
    assert [s.record.http_status for s in responses(stored, site.url("/busy"))] == [429, 200]


def test_redirect_loop_is_detected(run: Runner, layout: ArchiveLayout) -> None:
    routes = {
        "/robots.txt": NO_ROBOTS,
        "/a": Reply(302, b"", {"Location": "/b"}),
        "/b": Reply(301, b"", {"Location": "http://127.0.0.1:%d/a#again"}),
    }
    with LoopbackSite(routes) as site:
        port = site.server.server_address[1]
        routes["/b"].headers["Location"] %= port
        result = run(site, "/a")
    assert sorted(site.log) == ["/a", "/b", "/robots.txt"]
    outcomes = result.outcomes()
    assert outcomes[site.url("/a")][0] == "redirected"
    outcome, reason = outcomes[site.url("/b")]
    assert outcome == "redirect_loop"
    assert reason == f"{site.url('/a')} -> {site.url('/b')} -> {site.url('/a')}"
    stored = check_warcs(layout, result)
    assert [
        s.record.http_status for s in stored if s.type == "response" and "robots" not in s.url
    ] == [302, 301]


# -- safety -------------------------------------------------------------------------------


def test_unsafe_links_are_never_fetched(run: Runner, layout: ArchiveLayout) -> None:
    page = (
        '<a href="http://10.0.0.1/x">intranet</a> <a href="file:///etc/passwd">f</a>'
        ' <a href="javascript:alert(1)">js</a> <a href="/ok">ok</a>'
    )
    routes = {"/robots.txt": NO_ROBOTS, "/": html(page), "/ok": html("ok")}
    with LoopbackSite(routes) as site:
        result = run(site)
    assert sorted(site.log) == ["/", "/ok", "/robots.txt"]
    rows = {r["url"]: r for r in result.catalog.frontier_rows(result.run_id)}
    intranet = rows["http://10.0.0.1/x"]
    assert (intranet["state"], intranet["outcome"], intranet["attempts"]) == (
        "skipped",
        "unsafe",
        0,
    )
    assert "10.0.0.1" in intranet["reason"]
    assert set(rows) == {
        site.url("/"),
        site.url("/ok"),
        "http://10.0.0.1/x",
    }  # no file:, javascript:
    stored = check_warcs(layout, result)
    assert {s.url for s in stored if s.url} <= {site.url(p) for p in ("/", "/ok", "/robots.txt")}


def test_redirect_to_metadata_address_is_refused(run: Runner, layout: ArchiveLayout) -> None:
    target = "http://169.254.169.254/latest/meta-data/"
    routes = {
        "/robots.txt": NO_ROBOTS,
        "/": html('<a href="/steal">s</a>'),
        "/steal": Reply(302, b"", {"Location": target}),
    }
    with LoopbackSite(routes) as site:
        result = run(site, any_host=True)  # scope must not be what stops it
    assert sorted(site.log) == ["/", "/robots.txt", "/steal"]
    outcomes = result.outcomes()
    assert outcomes[site.url("/steal")] == ("redirected", f"HTTP 302 -> {target}")
    outcome, reason = outcomes[target]
    assert outcome == "unsafe"
    assert "169.254.169.254" in reason
    assert result.report.outcomes.get("unsafe") == 1
    stored = check_warcs(layout, result)
    assert not [s for s in stored if "169.254" in s.url]


# -- limits -------------------------------------------------------------------------------


def test_slow_body_is_cut_at_total_timeout(run: Runner, layout: ArchiveLayout) -> None:
    body = b"<p>" + b"s" * 2994 + b"</p>"  # 100 bytes a second: 30 s to send it all
    routes = {
        "/robots.txt": NO_ROBOTS,
        "/slow": Reply(200, body, {"Content-Type": "text/html"}, drip=1.0),
    }
    with LoopbackSite(routes) as site:
        started = time.monotonic()
        result = run(site, "/slow", settings=fast_settings(fetch=limits(total_timeout=2.0)))
        elapsed = time.monotonic() - started
    assert 1.9 < elapsed < 6
    outcome, reason = result.outcomes()[site.url("/slow")]
    assert outcome == "timed_out"
    assert "total_timeout" in reason
    assert site.log.count("/slow") == 1  # a cut body is kept, not fetched again
    (record,) = responses(check_warcs(layout, result), site.url("/slow"))
    assert record.header("WARC-Truncated") == "time"
    assert 0 < len(record.payload) < len(body)
    assert body.startswith(record.payload)
    assert record.http("X-Archive-Orig-Content-Length") == str(len(body))


def test_oversized_body_is_truncated(run: Runner, layout: ArchiveLayout) -> None:
    body = b"<html><body>" + b"x" * 50_000 + b"</body></html>"
    routes = {"/robots.txt": NO_ROBOTS, "/big": Reply(200, body, {"Content-Type": "text/html"})}
    with LoopbackSite(routes) as site:
        result = run(site, "/big", settings=fast_settings(fetch=limits(max_body_bytes=10_000)))
    outcome, reason = result.outcomes()[site.url("/big")]
    assert outcome == "too_large"
    assert "max_body_bytes" in reason
    (record,) = responses(check_warcs(layout, result), site.url("/big"))
    assert record.header("WARC-Truncated") == "length"
    assert record.payload == body[:10_000]
    assert record.http("X-Archive-Orig-Content-Length") == str(len(body))


def test_gzip_bomb_is_archived_raw_and_not_inflated(run: Runner, layout: ArchiveLayout) -> None:
    # Crawl only (the default): text extraction ignores the run's max_decoded_bytes (it
    # inflates up to its own 50 MB) and would spend its whole 30 s extract_timeout here.
    bomb = gzip.compress(b"\0" * 20_000_000)
    routes = {
        "/robots.txt": NO_ROBOTS,
        "/": html('<a href="/bomb">b</a> <a href="/after">a</a>'),
        "/bomb": Reply(200, bomb, {"Content-Type": "text/html", "Content-Encoding": "gzip"}),
        "/after": html("still crawling"),
    }
    settings = fast_settings(fetch=limits(max_decoded_bytes=1_000_000))
    with LoopbackSite(routes) as site:
        result = run(site, settings=settings)
    outcomes = result.outcomes()
    outcome, reason = outcomes[site.url("/bomb")]
    assert outcome == "too_large"
    assert "max_decoded_bytes" in reason
    assert outcomes[site.url("/after")] == ("archived", None)
    (record,) = responses(check_warcs(layout, result), site.url("/bomb"))
    assert record.payload == bomb  # the compressed bytes, exactly as received
    assert record.http("Content-Encoding") == "gzip"
    assert record.header("WARC-Truncated") is None


# -- content ------------------------------------------------------------------------------


def test_mislabelled_charsets_are_archived_and_followed(run: Runner, layout: ArchiveLayout) -> None:
    gbk = (
        '<html><head><meta charset="utf-8"><title>新闻中心</title></head><body>'
        "<p>这是一个关于中国制造业的新闻页面，我们讨论了很多重要的问题和发展趋势。</p>"
        '<a href="/新闻">新闻</a></body></html>'
    ).encode("gbk")
    big5 = (
        "<html><head><title>新聞中心</title></head><body>"
        "<p>這是一個關於台灣製造業的新聞頁面，我們討論了很多重要的問題和發展趨勢。</p>"
        '<a href="/資料">資料</a></body></html>'
    ).encode("big5")
    news, data = "/%E6%96%B0%E9%97%BB", "/%E8%B3%87%E6%96%99"  # UTF-8 of 新闻, 資料
    routes = {
        "/robots.txt": NO_ROBOTS,
        "/": html('<a href="/gbk">gbk</a> <a href="/big5">big5</a>'),
        "/gbk": Reply(200, gbk, {"Content-Type": "text/html"}),
        "/big5": Reply(200, big5, {"Content-Type": "text/html"}),
        news: html("news"),
        data: html("data"),
    }
    with LoopbackSite(routes) as site:
        result = run(site)
    assert news in site.log and data in site.log  # links decoded with the right charset
    outcomes = result.outcomes()
    for page in ("/gbk", "/big5", news, data):
        assert outcomes[site.url(page)] == ("archived", None)
    assert len(outcomes) == 5  # no mojibake URLs were queued
    stored = check_warcs(layout, result)
    assert responses(stored, site.url("/gbk"))[0].payload == gbk  # bytes, not transcoded
    assert responses(stored, site.url("/big5"))[0].payload == big5


def _urlset(*urls: str) -> bytes:
    locs = "".join(f"<url><loc>{u}</loc></url>" for u in urls)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'
    ).encode()


def test_sitemap_in_robots_discovers_unlinked_page(run: Runner, layout: ArchiveLayout) -> None:
    routes: dict[str, Reply] = {
        "/": html("<p>no links here</p>"),
        "/hidden": html("<p>only the sitemap knows me</p>"),
    }
    with LoopbackSite(routes) as site:
        routes["/robots.txt"] = Reply(
            200, f"User-agent: *\nAllow: /\nSitemap: {site.url('/sitemap.xml')}\n".encode()
        )
        routes["/sitemap.xml"] = Reply(
            200, _urlset(site.url("/hidden"), site.url("/")), {"Content-Type": "application/xml"}
        )
        site.routes.update(routes)
        result = run(site)
    assert sorted(site.log) == ["/", "/hidden", "/robots.txt", "/sitemap.xml"]
    outcomes = result.outcomes()
    assert outcomes[site.url("/hidden")] == ("archived", None)
    assert outcomes[site.url("/sitemap.xml")] == ("archived", None)
    check_warcs(layout, result)


def test_sitemap_entity_expansion_is_recorded_and_run_continues(
    run: Runner, layout: ArchiveLayout
) -> None:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]  # lol9 expands to 10^9 "lol"s
    laughs = (
        '<?xml version="1.0"?>\n<!DOCTYPE urlset [\n' + "\n".join(entities) + "\n]>\n"
        "<urlset><url><loc>http://127.0.0.1/&lol9;</loc></url></urlset>\n"
    ).encode()
    routes = {
        "/robots.txt": NO_ROBOTS,
        "/sitemap.xml": Reply(200, laughs, {"Content-Type": "application/xml"}),
        "/": html('<a href="/page">page</a>'),
        "/page": html("<p>after the bomb</p>"),
    }
    with LoopbackSite(routes) as site:
        result = run(site, sitemaps=("/sitemap.xml",))
    outcomes = result.outcomes()
    outcome, reason = outcomes[site.url("/sitemap.xml")]
    assert outcome == "archived"
    assert "sitemap rejected" in reason and "DTDForbidden" in reason
    assert outcomes[site.url("/page")] == ("archived", None)
    assert len(outcomes) == 3  # nothing came out of the entities
    (record,) = responses(check_warcs(layout, result), site.url("/sitemap.xml"))
    assert record.payload == laughs


def test_robots_server_error_blocks_the_host(run: Runner, layout: ArchiveLayout) -> None:
    routes = {
        "/robots.txt": Reply(503, b"down for maintenance", {"Content-Type": "text/plain"}),
        "/": html('<a href="/a">a</a>'),
        "/b": html("b"),
    }
    with LoopbackSite(routes) as site:
        result = run(site, "/", "/b")
    assert site.log == ["/robots.txt"]
    outcomes = result.outcomes()
    assert set(outcomes) == {site.url("/"), site.url("/b")}
    for outcome, reason in outcomes.values():
        assert outcome == "robots_unavailable"
        assert "503" in reason
    (record,) = responses(check_warcs(layout, result), site.url("/robots.txt"))
    assert record.record.http_status == 503


# -- the WARC itself ----------------------------------------------------------------------


def test_warc_keeps_bytes_as_received_and_cdxj_points_at_them(
    run: Runner, layout: ArchiveLayout
) -> None:
    chunked_body = b"<html><body>" + b"<p>chunk</p>" * 400 + b"</body></html>"
    gz_html = b'<html><body><a href="/inside-gzip">in</a>' + b"<p>zip</p>" * 100 + b"</body></html>"
    gz_body = gzip.compress(gz_html)
    routes = {
        "/robots.txt": NO_ROBOTS,
        "/": html('<a href="/chunked">c</a> <a href="/gz">g</a>'),
        "/chunked": Reply(200, chunked_body, {"Content-Type": "text/html"}, chunked=True),
        "/gz": Reply(200, gz_body, {"Content-Type": "text/html", "Content-Encoding": "gzip"}),
        "/inside-gzip": html("found via a gzip-encoded page"),
    }
    with LoopbackSite(routes) as site:
        result = run(site)
    assert set(result.outcomes().values()) == {("archived", None)}
    assert "/inside-gzip" in site.log
    stored = check_warcs(layout, result)

    (chunked,) = responses(stored, site.url("/chunked"))
    assert chunked.http("Transfer-Encoding") is None
    assert chunked.http("X-Archive-Orig-Transfer-Encoding") == "chunked"
    assert chunked.http("Content-Length") == str(len(chunked_body))
    assert chunked.payload == chunked_body  # de-chunked, no framing left

    (gz,) = responses(stored, site.url("/gz"))
    assert gz.http("Content-Encoding") == "gzip"
    assert gz.payload.startswith(b"\x1f\x8b")
    assert gz.payload == gz_body
    with gz.path.open("rb") as f:
        f.seek(gz.record.offset)
        record = next(iter(ArchiveIterator(f)))
        assert record.raw_stream.read().startswith(b"\x1f\x8b")
    _, decoded = read_record_at(gz.path, gz.record.offset)
    assert decoded == gz_html  # readers can still decode it

    # every capture is in the index (checked record by record in check_warcs)
    cdx_lines = [
        line for path in layout.cdx_dir.glob("*.cdxj") for line in path.read_text().splitlines()
    ]
    indexed_urls = sorted(json.loads(line.split(" ", 2)[2])["url"] for line in cdx_lines)
    assert indexed_urls == sorted(s.url for s in stored if s.type == "response")


# -- recrawl --------------------------------------------------------------------------------


def test_recrawl_writes_revisits(run: Runner, layout: ArchiveLayout) -> None:
    version = {"n": 0}

    def with_etag(request: Request) -> Reply:
        if request.headers.get("If-None-Match") == '"v1"':
            return Reply(304, b"", {"ETag": '"v1"'})
        body = '<a href="/plain">plain</a> <a href="/changing">changing</a>'
        return html(body, ETag='"v1"')

    def changing(request: Request) -> Reply:
        version["n"] += 1
        return html(f"<p>version {version['n']}</p>")

    routes = {
        "/robots.txt": NO_ROBOTS,
        "/": with_etag,
        "/plain": html('<p>never changes, no validators</p> <a href="/leaf">leaf</a>'),
        "/leaf": html("<p>leaf</p>"),
        "/changing": changing,
    }
    with LoopbackSite(routes) as site:
        first = run(site, new_run=True)
        first_log = len(site.log)
        second = run(site, new_run=True)
        second_requests = site.request_headers[first_log:]
        second_log = site.log[first_log:]
    home, plain, moving = site.url("/"), site.url("/plain"), site.url("/changing")
    assert set(first.outcomes().values()) == {("archived", None)}
    assert second.run_id != first.run_id
    # unchanged pages (a 304, an identical body) still lead to their links
    assert sorted(second_log) == ["/", "/changing", "/leaf", "/plain", "/robots.txt"]
    home_request = second_requests[second_log.index("/")]
    assert home_request.get("If-None-Match") == '"v1"'
    outcomes = second.outcomes()
    assert outcomes[home][0] == "not_modified"
    assert outcomes[plain][0] == "not_modified"
    assert outcomes[site.url("/leaf")][0] == "not_modified"
    assert outcomes[moving] == ("archived", None)

    stored = check_warcs(layout, second)
    (home_v1,) = responses(stored, home)
    (plain_v1,) = responses(stored, plain)
    assert len(responses(stored, moving)) == 2  # changed: a full response each time

    (home_revisit,) = responses(stored, home, "revisit")
    assert home_revisit.header("WARC-Profile") == PROFILE + "server-not-modified"
    assert home_revisit.record.http_status == 304
    (plain_revisit,) = responses(stored, plain, "revisit")
    assert plain_revisit.header("WARC-Profile") == PROFILE + "identical-payload-digest"
    assert plain_revisit.record.http_status == 200
    for revisit, original in ((home_revisit, home_v1), (plain_revisit, plain_v1)):
        assert revisit.header("WARC-Refers-To-Target-URI") == original.url
        assert revisit.header("WARC-Refers-To-Date") == original.header("WARC-Date")
        assert revisit.header("WARC-Refers-To") == original.record.record_id
        assert revisit.header("WARC-Payload-Digest") == original.header("WARC-Payload-Digest")
        assert revisit.path != original.path  # each run writes its own file

    (request,) = [
        s
        for s in stored
        if s.type == "request" and s.header("WARC-Concurrent-To") == home_revisit.record.record_id
    ]
    assert dict(request.http_headers).get("If-None-Match") == '"v1"'
