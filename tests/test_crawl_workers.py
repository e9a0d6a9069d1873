"""The crawl's work spread over worker processes, and the shortcuts that make it cheap.

- The same crawl with its work in the crawl's process and in two worker processes ends
  with the same outcomes, one capture per page, valid WARC files (one per worker) whose
  committed sizes the catalog knows, and CDXJ indexes.
- Politeness holds across workers: with a delay (or by default) never two requests at
  once to one host; `host_connections` only applies without a delay.
- `LinkResolver` returns what `extract_links` would, minus links it returned before; its
  plain-path shortcut agrees with `canonicalize`.
- The fast CDXJ indexer writes what the warcio-based one writes.
"""

from __future__ import annotations

import io
import pickle
import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import fast_settings
from crawling import crawl, warcio_check
from hypothesis import example, given, settings
from hypothesis import strategies as st
from loopback import LoopbackSite, Reply, Request

from archive.catalog import Capture, Catalog, NewURL
from archive.cdxj import _members, append_entries, cdxj_lines, write_cdxj
from archive.layout import ArchiveLayout
from archive.warc import HttpResponse, RevisitOf, StoredRecord, WarcFileWriter, iter_records
from crawler.links import LinkResolver, _plain_join, extract_links
from crawler.settings import CrawlLimits, CrawlSettings, Politeness
from crawler.sources import Source
from crawler.urls import canonicalize
from flows.crawl_steps import crawl_batch_fn, crawl_run, prepare_run

PAGES = 12


class Concurrency:
    """Counts requests being answered at once, per site."""

    def __init__(self, seconds: float = 0.02) -> None:
        self.seconds = seconds
        self.now = 0
        self.peak = 0
        self.overlapped = 0  # requests that came while another was being answered
        self.lock = threading.Lock()

    def page(self, links: str) -> object:
        def route(request: Request) -> Reply:
            with self.lock:
                self.overlapped += self.now > 0
                self.now += 1
                self.peak = max(self.peak, self.now)
            time.sleep(self.seconds)
            with self.lock:
                self.now -= 1
            body = f"<html><body><p>{request.path}</p>{links}</body></html>"
            return Reply(200, body.encode(), {"Content-Type": "text/html"})

        return route


def chain_site(concurrency: Concurrency) -> LoopbackSite:
    """PAGES pages; each links to every other one."""
    links = "".join(f'<a href="/p/{i}">{i}</a>' for i in range(PAGES))
    routes: dict[str, object] = {f"/p/{i}": concurrency.page(links) for i in range(PAGES)}
    routes["/robots.txt"] = Reply(404, b"", {"Content-Type": "text/plain"})
    return LoopbackSite(routes)  # type: ignore[arg-type]


def tree_site(concurrency: Concurrency, pages: int, fanout: int) -> LoopbackSite:
    """Pages /p/0 .. /p/<pages - 1>; page i links to its `fanout` children in a tree."""
    routes: dict[str, object] = {}
    for i in range(pages):
        kids = range(i * fanout + 1, min(pages, (i + 1) * fanout + 1))
        routes[f"/p/{i}"] = concurrency.page("".join(f'<a href="/p/{k}">{k}</a>' for k in kids))
    routes["/robots.txt"] = Reply(404, b"", {"Content-Type": "text/plain"})
    return LoopbackSite(routes)  # type: ignore[arg-type]


def crawl_sites(
    layout: ArchiveLayout, sites: list[LoopbackSite], settings: CrawlSettings
) -> dict[str, tuple[str, str | None]]:
    sources = [Source(name=f"s{i}", seeds=(s.url("/p/0"),)) for i, s in enumerate(sites)]
    result = crawl(layout, sources, settings)
    try:
        outcomes = {
            r["url"]: (r["outcome"], r["state"])
            for r in result.catalog.frontier_rows(result.run_id)
        }
        captures = Counter(c.url for c in result.catalog.captures(result.run_id))
        assert all(n == 1 for n in captures.values()), captures
        files = result.catalog.warc_files("warc")
        paths = sorted(layout.warc_dir.glob("*.warc.gz"))
        assert sorted(layout.warc_dir / wf.name for wf in files) == paths
        for wf in files:
            assert wf.state == "closed"
            assert (layout.warc_dir / wf.name).stat().st_size == wf.committed_size
            # the index the workers noted as they wrote is the one reading the file gives
            cdx = layout.cdx_dir / wf.name.replace(".warc.gz", ".cdxj")
            with (layout.warc_dir / wf.name).open("rb") as f:
                read_back = cdxj_lines(iter_records(f), wf.name)
            assert cdx.read_text().splitlines() == read_back
        assert not list(layout.cdx_dir.glob("*.entries"))
        checked = warcio_check(paths)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    finally:
        result.catalog.close()
    return outcomes


@pytest.mark.parametrize("workers", [1, 2])
def test_same_outcomes_with_or_without_worker_processes(tmp_path: Path, workers: int) -> None:
    concurrency = Concurrency()
    with chain_site(concurrency) as one, chain_site(concurrency) as two:
        layout = ArchiveLayout(tmp_path / "archive").ensure()
        outcomes = crawl_sites(layout, [one, two], fast_settings(workers=workers))
        pages = {site.url(f"/p/{i}") for site in (one, two) for i in range(PAGES)}
        assert outcomes == dict.fromkeys(pages, ("archived", "done"))
        assert sorted(one.log) == sorted(["/robots.txt", *(f"/p/{i}" for i in range(PAGES))])
    if workers == 2:  # two hosts: one per worker, each writing its own file
        assert len(list(layout.warc_dir.glob("*.warc.gz"))) == 2


@pytest.mark.parametrize(
    ("delay", "host_connections", "most"),
    [
        (0.0, 1, 1),  # the default: one request at a time per host
        (0.01, 4, 1),  # a delay keeps it one, whatever host_connections says
        (0.0, 3, 3),  # politeness off: up to host_connections at once
    ],
)
def test_requests_at_once_to_one_host(
    tmp_path: Path, delay: float, host_connections: int, most: int
) -> None:
    concurrency = Concurrency()
    with chain_site(concurrency) as site:
        layout = ArchiveLayout(tmp_path / "archive").ensure()
        politeness = Politeness(delay=delay, host_connections=host_connections)
        settings = fast_settings(politeness=politeness, workers=2)
        outcomes = crawl_sites(layout, [site], settings)
    assert Counter(o for o, _ in outcomes.values()) == {"archived": PAGES}
    assert 1 <= concurrency.peak <= most


def test_every_connection_keeps_working_after_the_frontier_ran_dry(tmp_path: Path) -> None:
    """The crawl starts from one URL: the host's lanes find nothing queued until pages
    are committed. A lane must go back to work at the next commit, not wait until the
    host has nothing in hand (while other lanes keep it busy, that never comes: the
    crawl ran on one connection and one worker process)."""
    concurrency = Concurrency(seconds=0.005)
    pages = 150
    with tree_site(concurrency, pages, fanout=4) as site:
        layout = ArchiveLayout(tmp_path / "archive").ensure()
        politeness = Politeness(delay=0.0, host_connections=3)
        settings = fast_settings(
            politeness=politeness, workers=2, limits=CrawlLimits(max_pages=200, max_depth=10)
        )
        outcomes = crawl_sites(layout, [site], settings)
    assert Counter(o for o, _ in outcomes.values()) == {"archived": pages}
    assert concurrency.overlapped >= 10, concurrency.overlapped  # 0 when lanes dropped out
    responses: Counter[str] = Counter()
    for path in layout.warc_dir.glob("*.warc.gz"):
        with path.open("rb") as stream:
            responses[path.name] = sum(r.rec_type == "response" for r in iter_records(stream))
    assert len(responses) == 2 and min(responses.values()) >= pages // 8, responses


def test_settings_connections_and_workers() -> None:
    assert Politeness(delay=1.0, host_connections=8).connections_for(1.0) == 1
    assert Politeness(delay=0.0, host_connections=8).connections_for(0.0) == 8
    assert Politeness(delay=0.0, host_connections=8).connections_for(2.0) == 1  # Crawl-delay
    assert CrawlSettings(workers=1).worker_count() == 1
    assert 1 <= CrawlSettings().worker_count() <= 4


def test_page_budget_holds_with_workers(tmp_path: Path) -> None:
    concurrency = Concurrency()
    with chain_site(concurrency) as site:
        layout = ArchiveLayout(tmp_path / "archive").ensure()
        settings = fast_settings(
            limits=CrawlLimits(max_pages=5, max_depth=5),
            politeness=Politeness(delay=0.0, host_connections=4),
            workers=2,
            batch_pages=2,
        )
        outcomes = crawl_sites(layout, [site], settings)
    fetched = [u for u, (o, _) in outcomes.items() if o == "archived"]
    assert len(fetched) == 5
    assert len([p for p in site.log if p.startswith("/p/")]) == 5
    # URLs claimed in a batch but not fetched when the budget ran out go back to the
    # queue with no attempt counted (none is left in flight)
    catalog = Catalog.open(layout.catalog)
    try:
        rows = catalog.conn.execute("SELECT state, attempts FROM frontier").fetchall()
    finally:
        catalog.close()
    states = Counter((r["state"], r["attempts"]) for r in rows)
    assert states == {("done", 1): 5, ("queued", 0): PAGES - 5}, states


@pytest.mark.parametrize(("batch_pages", "batches"), [(PAGES, [PAGES]), (5, [5, 5, 2])])
def test_batches_stop_when_nothing_is_left_for_the_next(
    tmp_path: Path, batch_pages: int, batches: list[int]
) -> None:
    claimed: list[int] = []

    def counted(*args: object) -> dict[str, object]:
        result = crawl_batch_fn(*args)  # type: ignore[arg-type]
        claimed.append(int(result["claimed"]))  # type: ignore[call-overload]
        return result

    with chain_site(Concurrency(0.0)) as site:
        layout = ArchiveLayout(tmp_path / "archive").ensure()
        settings = fast_settings(workers=1, batch_pages=batch_pages)
        catalog = Catalog.open(layout.catalog)
        try:
            plan = prepare_run(
                layout, catalog, [Source(name="s", seeds=(site.url("/p/0"),))], settings
            )
            fetched = crawl_run(str(layout.root), plan.run_id, batch_pages, counted)
        finally:
            catalog.close()
    assert fetched == PAGES
    assert claimed == batches  # a batch that spent its budget on the last URLs is the last


def test_what_workers_send_pickles_back_equal() -> None:
    at = datetime(2026, 12, 4, 2, 3, 4, 567891, tzinfo=UTC)
    capture = Capture(
        1,
        "http://h.test/a",
        "h.test",
        "response",
        "<urn:uuid:1>",
        "f.warc.gz",
        10,
        20,
        at,
        200,
        "text/html",
        "sha1:X",
        5,
        etag='"e"',
        ip="127.0.0.1",
    )
    back = pickle.loads(pickle.dumps(capture, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == capture and back.fetched_at.tzinfo is not None
    new = NewURL("http://h.test/b", "h.test", "s", 2, ("http://h.test/a",), "http://h.test/a")
    assert pickle.loads(pickle.dumps(new, protocol=pickle.HIGHEST_PROTOCOL)) == new


# -- links ---------------------------------------------------------------------------
BASES = (
    "http://example.com/a/b/c.html?q=1",
    "HTTP://Example.COM:80/a/",
    "https://h.test/",
    "http://127.0.0.1:8080/x/y",
    "http://h.test/a/./b/",
)
HREF = st.text(alphabet="aZ0._~-/%?#:@ ;&=+é\t\\", min_size=0, max_size=10)


@settings(max_examples=500, deadline=None)
@given(raw=HREF, base=st.sampled_from(BASES))
def test_plain_join_agrees_with_canonicalize(raw: str, base: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(canonicalize(base) or base)
    origin = f"{parts.scheme}://{parts.netloc}"
    directory = origin + parts.path[: parts.path.rfind("/") + 1]
    fast = _plain_join(raw, origin, directory)
    assert fast is None or fast == canonicalize(raw, base)


@settings(max_examples=100, deadline=None)
@given(
    pages=st.lists(
        st.tuples(st.sampled_from(BASES), st.lists(HREF, max_size=12), st.booleans()),
        min_size=1,
        max_size=6,
    )
)
# "//" (no host) resolves to the base itself: its cached resolution must not outlive the base
@example(pages=[(BASES[0], ["//"], False), (BASES[0], ["//"], True)])
def test_link_resolver_returns_new_links_as_extract_links_finds_them(
    pages: list[tuple[str, list[str], bool]],
) -> None:
    resolver = LinkResolver(max_entries=8)  # small: its memories start over often
    returned: set[str] = set()
    for base, hrefs, with_base in pages:
        from html import escape

        head = '<base href="/other/dir/">' if with_base else ""
        anchors = "".join(f'<a href="{escape(h)}">x</a>' for h in hrefs)
        html = f"<html><head>{head}</head><body>{anchors}<link rel=next href=n></body></html>"
        expected = [u for u in extract_links(html, base) if u not in returned]
        got = resolver.new_links(html, base)
        assert set(got) <= set(extract_links(html, base))
        if len(returned) <= 8:  # memories intact: exactly the new ones, in order
            assert got == expected
        returned.update(got)


# -- CDXJ ------------------------------------------------------------------------------
def _response(i: int, body: bytes, **headers: str) -> HttpResponse:
    return HttpResponse(
        url=f"http://example.test/r/{i}?x=é",
        ip="192.0.2.1",
        date=datetime(2024, 6, 1, 12, 0, tzinfo=UTC) + timedelta(seconds=i),
        request_line=f"GET /r/{i} HTTP/1.1",
        request_headers=[("Host", "example.test")],
        status_line="404 Not Found" if i % 3 == 2 else "200 OK",
        protocol="HTTP/1.1",
        headers=[*headers.items(), ("Content-Length", str(len(body)))],
        body=body,
    )


def test_fast_cdxj_indexer_agrees_with_warcio(tmp_path: Path) -> None:
    buf = io.BytesIO()
    writer = WarcFileWriter(buf, "x.warc.gz")
    writer.write_warcinfo({"software": "test"})
    for i in range(12):
        body = (f"<html>{i}</html>" * (1 + 5000 * (i % 4 == 3))).encode()  # some past 64 KiB
        headers = {"Content-Type": "Text/HTML; charset=utf-8"} if i % 2 else {}
        placed, digest = writer.write_response(_response(i, body, **headers))
        if i % 5 == 4:
            of = RevisitOf(f"http://example.test/r/{i}", placed.date, placed.record_id, digest, "x")
            writer.write_revisit(_response(i, b""), of)
    writer.write_conversion("http://example.test/r/0", "<urn:x>", "text", placed.date, {})
    data = buf.getvalue()
    expected = cdxj_lines(iter_records(io.BytesIO(data)), "x.warc.gz")
    assert cdxj_lines(_members(data), "x.warc.gz") == expected
    assert len(expected) == 12 + 2


def test_index_noted_while_writing_agrees_and_falls_back_when_incomplete(tmp_path: Path) -> None:
    """What a worker notes as it writes (`append_entries`) gives the index reading the file
    gives; entries that do not cover the file (one lost) make write_cdxj read the file
    instead; entries past the file's end (a tail cut after a crash) are left out; an
    offset noted again keeps the later entry."""
    warc_path = tmp_path / "x.warc.gz"
    cdx_dir = tmp_path / "cdx"
    cdx_dir.mkdir()
    with warc_path.open("wb") as f:
        writer = WarcFileWriter(f, "x.warc.gz")
        writer.written = []
        writer.write_warcinfo({"software": "test"})
        for i in range(6):
            placed, digest = writer.write_response(_response(i, f"<p>{i}</p>".encode()))
        writer.write_revisit(
            _response(9, b""),
            RevisitOf("http://example.test/r/5", placed.date, placed.record_id, digest, "x"),
        )
    noted = list(writer.written)
    with warc_path.open("rb") as f:
        expected = cdxj_lines(iter_records(f), "x.warc.gz")
    index = cdx_dir / "x.cdxj"
    entries = cdx_dir / "x.cdxj.entries"

    def indexed(records: list[StoredRecord], spoil: bool = False) -> list[str]:
        append_entries(cdx_dir, "x.warc.gz", records)
        if spoil:  # a line the fallback must never show
            entries.write_text(entries.read_text().replace("example.test", "spoiled.test"))
        write_cdxj(warc_path, cdx_dir)
        assert not entries.exists()
        return index.read_text().splitlines()

    assert indexed(noted, spoil=True) != expected  # the entries were used ...
    assert indexed(noted) == expected
    assert indexed(noted[:3] + noted[4:], spoil=True) == expected  # ... not with a gap
    past_end = replace(noted[-1], offset=warc_path.stat().st_size, url="http://cut.test/")
    assert indexed([*noted, past_end]) == expected
    stale = replace(noted[2], url="http://stale.test/")
    assert indexed([stale, *noted]) == expected  # noted again after a cut: the later wins
