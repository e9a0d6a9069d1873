"""The crawl loop: frontier -> robots -> politeness -> safe fetch -> WARC -> catalog.

`Crawler.run(budget)` fetches up to `budget` URLs of one run and returns; the flow
calls it once per batch (one Prefect task per batch). Many hosts are fetched in
parallel, one request at a time per host. Everything it decides is recorded: each
frontier row ends `done`, `failed` or `skipped` with an outcome and a reason.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from warcio.exceptions import ArchiveLoadFailed

from archive.catalog import Capture, Catalog, FrontierEntry, NewURL, StoredCapture
from archive.warc import HttpResponse, RevisitOf, read_raw_payload_at, sha1_digest
from archive.warcstore import PublishedFile, WarcStore
from crawler import outcomes as oc
from crawler.errors import CrawlError, UnsafeURL
from crawler.fetch import Exchange, SafeClient, check_url_shape
from crawler.links import extract_links
from crawler.politeness import HostSlot, backoff_delay
from crawler.robots import RobotsRules, rules_from_response
from crawler.settings import CrawlSettings
from crawler.sitemaps import looks_like_sitemap, parse_sitemap
from crawler.sources import Source
from crawler.urls import canonicalize, host_key
from extractors.decode import DecodedTooLarge, UndecodableContent, decode_html, decompress

HTML_TYPES = ("text/html", "application/xhtml+xml")
XML_TYPES = ("application/xml", "text/xml", "application/x-gzip", "application/gzip")
ROBOTS_MAX_REDIRECTS = 5
GROUP_COMMIT_SIZE = 64  # outcomes per fsync + catalog transaction
GROUP_COMMIT_SECONDS = 0.2


@dataclass
class BatchStats:
    fetched: int = 0
    archived_bytes: int = 0
    by_outcome: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.by_outcome[outcome] = self.by_outcome.get(outcome, 0) + 1


@dataclass(frozen=True)
class Result:
    """What processing one fetched URL decided."""

    state: str
    outcome: str
    reason: str | None = None
    new_urls: tuple[NewURL, ...] = ()
    retry_at: float | None = None


# a URL's outcome and its capture, waiting for the next commit (robots.txt: no entry)
Outcome = tuple[FrontierEntry | None, Result | None, Capture | None]


def seed_urls(sources: list[Source]) -> list[NewURL]:
    urls = []
    for source in sources:
        for url in (*source.seeds, *source.sitemaps):
            urls.append(NewURL(url=url, host=host_key(url), source=source.name, depth=0))
    return urls


class Crawler:
    def __init__(
        self,
        catalog: Catalog,
        store: WarcStore,
        settings: CrawlSettings,
        sources: list[Source],
        run_id: int,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        hosts: Sequence[str] | None = None,
    ) -> None:
        self.catalog = catalog
        self.store = store
        self.settings = settings
        self.sources = {s.name: s for s in sources}
        self.run_id = run_id
        self.hosts = list(hosts) if hosts is not None else None  # a shard: only these hosts
        self.clock = clock
        self.rng = rng or random.Random(run_id)
        self.stats = BatchStats()
        self._robots: dict[str, RobotsRules] = {}
        self._slots: dict[str, HostSlot] = {}
        self._started = catalog.pages_started(run_id)
        self._started_by_source = {s.name: catalog.pages_started(run_id, s.name) for s in sources}
        self.claimed = 0
        self._budget = 0
        self._pending: list[Outcome] = []
        self._last_flush = time.monotonic()
        # Object storage: outcomes with a capture wait here until their file is published.
        self._held: list[Outcome] = []
        # ... and a host's robots rules wait for their robots.txt capture (file name, args)
        self._held_robots: list[tuple[str, tuple[int, str, int | None, bytes, float]]] = []
        if store.remote:
            store.on_publish = self._record_held

    # -- budget --------------------------------------------------------------------
    def _may_claim(self) -> bool:
        return self.claimed < self._budget and self._started < self.settings.limits.max_pages

    def _source_full(self, source: str) -> bool:
        limit = self.sources[source].max_pages if source in self.sources else None
        return limit is not None and self._started_by_source.get(source, 0) >= limit

    def _max_depth(self, source: str) -> int:
        src = self.sources.get(source)
        if src is not None and src.max_depth is not None:
            return src.max_depth
        return self.settings.limits.max_depth

    # -- main loop -----------------------------------------------------------------
    async def run(self, budget: int) -> BatchStats:
        self._budget = budget
        async with SafeClient(
            self.settings.fetch,
            self.settings.user_agent,
            max_connections=max(4, self.settings.politeness.max_hosts * 2),
        ) as client:
            self._client = client
            active: dict[str, asyncio.Task[None]] = {}
            while True:
                free = self.settings.politeness.max_hosts - len(active)
                if free > 0 and self._may_claim():
                    for host in self.catalog.ready_hosts(
                        self.run_id, self.clock(), set(active), free, self.hosts
                    ):
                        active[host] = asyncio.create_task(self._host_worker(host))
                if not active:
                    self._flush()  # unflushed results may hold the next URLs
                    if self._may_claim() and self.catalog.ready_hosts(
                        self.run_id, self.clock(), set(), 1, self.hosts
                    ):
                        continue
                    if not self._may_claim():
                        break
                    nxt = self.catalog.next_ready_at(self.run_id, self.hosts)
                    if nxt is None:
                        if self._publish_held():
                            continue  # held retries are queued (fetchable) once recorded
                        break
                    await asyncio.sleep(min(5.0, max(0.05, nxt - self.clock())))
                    continue
                done, _ = await asyncio.wait(
                    active.values(), timeout=0.05, return_when=asyncio.FIRST_COMPLETED
                )
                for host, task in list(active.items()):
                    if task in done:
                        del active[host]
                        task.result()  # a bug in a worker must surface, not vanish
            self._flush()
            if self.store.remote:
                self.store.publish()  # records the held captures (`_record_held`)
        return self.stats

    async def _host_worker(self, host: str) -> None:
        robots = await self._robots_for(host)
        slot = self._slot(host, robots)
        while self._may_claim():
            wait = slot.wait_time(self.clock())
            if wait > 0:
                await asyncio.sleep(wait)
            entry = self.catalog.claim_next(self.run_id, host, self.clock())
            if entry is None and self._pending:
                self._flush()  # this host's next URLs may be waiting in the commit group
                entry = self.catalog.claim_next(self.run_id, host, self.clock())
            if entry is None:
                return
            if self._source_full(entry.source):
                self.catalog.finish_url(
                    entry.id, "skipped", "page_limit", "source max_pages reached"
                )
                continue
            if robots.policy == "disallow_all":
                self._finish(entry, Result("failed", oc.ROBOTS_UNAVAILABLE, robots.reason))
                continue
            if self.settings.politeness.obey_robots and not robots.can_fetch(
                entry.url, self.settings.user_agent
            ):
                self._finish(entry, Result("failed", oc.ROBOTS, "disallowed by robots.txt"))
                continue
            self.claimed += 1
            self._started += 1
            self._started_by_source[entry.source] = self._started_by_source.get(entry.source, 0) + 1
            result = await self._fetch_and_store(entry)
            slot.fetched(self.clock())
            if result.retry_at is not None:
                slot.back_off(result.retry_at)
            self.catalog.set_next_fetch(self.run_id, host, slot.next_at)

    def _slot(self, host: str, robots: RobotsRules) -> HostSlot:
        if host not in self._slots:
            pol = self.settings.politeness
            delay = pol.delay
            crawl_delay = robots.crawl_delay(self.settings.user_agent)
            if crawl_delay is not None:
                delay = max(delay, min(crawl_delay, pol.max_crawl_delay))
            state = self.catalog.host_state(self.run_id, host)
            self._slots[host] = HostSlot(host, delay, next_at=state.next_fetch_at if state else 0.0)
        return self._slots[host]

    # -- robots --------------------------------------------------------------------
    async def _robots_for(self, host: str) -> RobotsRules:
        if host in self._robots:
            return self._robots[host]
        if not self.settings.politeness.obey_robots:
            rules = RobotsRules(policy="allow_all", reason="robots.txt not consulted")
        else:
            state = self.catalog.host_state(self.run_id, host)
            if state is not None and state.robots_fetched_at is not None:
                rules = rules_from_response(state.robots_status, state.robots_body or b"")
            else:
                rules = await self._fetch_robots(host)
        self._robots[host] = rules
        return rules

    async def _fetch_robots(self, host: str) -> RobotsRules:
        scheme = self._scheme_for(host)
        url = f"{scheme}://{host}/robots.txt"
        status: int | None = None
        body = b""
        capture: Capture | None = None
        for _ in range(ROBOTS_MAX_REDIRECTS + 1):
            try:
                exchange = await self._client.fetch(url)
            except UnsafeURL as exc:
                self._fail_host(host, oc.UNSAFE, exc.message)
                return RobotsRules(policy="disallow_all", reason=exc.message)
            except CrawlError:
                status = None
                break
            capture = self._archive(exchange, source="robots", refers=None)
            status = exchange.status
            if exchange.status in (301, 302, 303, 307, 308) and exchange.header("location"):
                target = canonicalize(exchange.header("location") or "", url)
                if target is None:
                    break
                url = target
                continue
            try:
                body = decompress(
                    exchange.body,
                    exchange.header("content-encoding"),
                    self.settings.fetch.max_decoded_bytes,
                )
            except (DecodedTooLarge, UndecodableContent):
                body = b""
            break
        now = self.clock()
        rules = rules_from_response(status, body)
        saved = (self.run_id, host, status, body, now)
        if self.store.remote and status is not None and capture is not None:
            # recorded with its capture: a worker that dies first leaves robots.txt to
            # be fetched (and archived) again by the retry
            self._held_robots.append((capture.warc_file, saved))
        else:
            self.catalog.save_robots(*saved)
        if rules.policy == "disallow_all":
            self._fail_host(host, oc.ROBOTS_UNAVAILABLE, f"{rules.reason}; re-run to retry")
        for sitemap in rules.sitemaps:
            self._add_sitemap_from_robots(host, sitemap)
        return rules

    def _scheme_for(self, host: str) -> str:
        row = self.catalog.conn.execute(
            "SELECT url FROM frontier WHERE run_id = ? AND host = ? LIMIT 1", (self.run_id, host)
        ).fetchone()
        return urlsplit(row[0]).scheme if row else "http"

    def _fail_host(self, host: str, outcome: str, reason: str) -> None:
        self.catalog.conn.execute(
            "UPDATE frontier SET state = 'failed', outcome = ?, reason = ?"
            " WHERE run_id = ? AND host = ? AND state = 'queued'",
            (outcome, reason, self.run_id, host),
        )

    def _add_sitemap_from_robots(self, host: str, sitemap: str) -> None:
        url = canonicalize(sitemap)
        row = self.catalog.conn.execute(
            "SELECT source FROM frontier WHERE run_id = ? AND host = ? ORDER BY id LIMIT 1",
            (self.run_id, host),
        ).fetchone()
        if url is None or row is None:
            return
        source = self.sources.get(row[0])
        if source is not None and source.scope.allows(url):
            self.catalog.add_urls(
                self.run_id, [NewURL(url=url, host=host_key(url), source=row[0], depth=0)]
            )

    # -- one URL -------------------------------------------------------------------
    async def _fetch_and_store(self, entry: FrontierEntry) -> Result:
        previous = self.catalog.latest_capture(entry.url, before_run=self.run_id)
        conditional: dict[str, str] = {}
        if previous is not None:
            if previous.etag:
                conditional["If-None-Match"] = previous.etag
            if previous.last_modified:
                conditional["If-Modified-Since"] = previous.last_modified
        try:
            exchange = await self._client.fetch(entry.url, conditional)
        except UnsafeURL as exc:
            return self._finish(entry, Result("failed", oc.UNSAFE, exc.message))
        except CrawlError as exc:
            return self._finish(entry, self._retry_or_fail(entry, exc.outcome, exc.message, None))
        self.stats.fetched += 1
        result = self._classify(entry, exchange)
        revisit = None
        if previous is not None and (
            exchange.status == 304 or (200 <= exchange.status < 300 and exchange.truncated is None)
        ):
            revisit = previous
        capture = self._archive(exchange, entry.source, refers=revisit)
        if capture is not None and capture.record_type == "revisit":
            # An unchanged page still leads to its links: those found in this body, or
            # for a 304 (no body) those of the capture it refers to.
            new_urls = result.new_urls
            if exchange.status == 304:
                new_urls = self._links_of_previous(entry, exchange, previous)  # type: ignore[arg-type]
            result = Result(
                "done",
                oc.NOT_MODIFIED,
                f"unchanged since {previous.fetched_at:%Y-%m-%d}",  # type: ignore[union-attr]
                new_urls,
            )
        return self._finish(entry, result, capture)

    def _classify(self, entry: FrontierEntry, ex: Exchange) -> Result:
        status = ex.status
        if status in (301, 302, 303, 307, 308):
            return self._redirect(entry, ex)
        if status == 429 or status >= 500:
            outcome = oc.HTTP_5XX if status >= 500 else oc.HTTP_4XX
            return self._retry_or_fail(entry, outcome, f"HTTP {status}", ex.retry_after())
        if status == 304:
            return Result("done", oc.NOT_MODIFIED, "HTTP 304")
        if status >= 400:
            return Result("failed", oc.HTTP_4XX, f"HTTP {status}")
        if ex.truncated == "length":
            return Result(
                "done",
                oc.TOO_LARGE,
                f"body cut at {self.settings.fetch.max_body_bytes} bytes (max_body_bytes);"
                " kept as WARC-Truncated: length",
            )
        if ex.truncated == "time":
            return Result(
                "done",
                oc.TIMED_OUT,
                f"body cut after {self.settings.fetch.total_timeout}s (total_timeout);"
                " kept as WARC-Truncated: time",
            )
        try:
            new_urls = self._discover(entry, ex)
        except DecodedTooLarge as exc:
            return Result("done", oc.TOO_LARGE, f"archived, not parsed: {exc}")
        except UndecodableContent as exc:
            return Result("done", oc.ARCHIVED, f"archived, not parsed: {exc}")
        return Result("done", oc.ARCHIVED, None, new_urls)

    def _links_of_previous(
        self, entry: FrontierEntry, ex: Exchange, previous: StoredCapture
    ) -> tuple[NewURL, ...]:
        try:
            with self.store.storage.open("warc", previous.warc_file) as f:
                _, headers, body = read_raw_payload_at(f, previous.warc_offset)
            return self._discover(entry, replace(ex, headers=headers, body=body))
        except (OSError, ValueError, StopIteration, ArchiveLoadFailed):
            return ()

    def _retry_or_fail(
        self, entry: FrontierEntry, outcome: str, why: str, retry_after: float | None
    ) -> Result:
        policy = self.settings.retry
        now = self.clock()
        if entry.attempts <= policy.max_retries:
            if retry_after is not None:
                delay = min(retry_after, policy.max_retry_after)
            else:
                delay = backoff_delay(entry.attempts, policy.base_delay, policy.max_delay, self.rng)
            return Result("queued", outcome, f"{why}; retry {entry.attempts}", retry_at=now + delay)
        return Result(
            "failed", oc.RETRIES_EXHAUSTED, f"{why} after {entry.attempts} attempts ({outcome})"
        )

    def _redirect(self, entry: FrontierEntry, ex: Exchange) -> Result:
        location = ex.header("location")
        target = canonicalize(location, entry.url) if location else None
        if target is None:
            return Result("done", oc.REDIRECTED, f"HTTP {ex.status} without a usable Location")
        chain = (*entry.via, entry.url)
        if target in chain:
            return Result("failed", oc.REDIRECT_LOOP, f"{' -> '.join(chain)} -> {target}")
        if len(chain) > self.settings.fetch.max_redirects:
            return Result(
                "failed",
                oc.TOO_MANY_REDIRECTS,
                f"more than {self.settings.fetch.max_redirects} redirects (max_redirects)",
            )
        new = self._admit(entry.source, target, entry.depth, entry.url, via=chain)
        return Result("done", oc.REDIRECTED, f"HTTP {ex.status} -> {target}", (new,))

    def _admit(
        self, source: str, url: str, depth: int, parent: str, via: tuple[str, ...] = ()
    ) -> NewURL:
        """A discovered URL as a frontier row: queued, or skipped with the reason."""
        host = host_key(url)
        try:
            check_url_shape(url, self.settings.fetch)
        except UnsafeURL as exc:
            return NewURL(url, host, source, depth, via, parent, "skipped", oc.UNSAFE, exc.message)
        src = self.sources.get(source)
        if src is not None and not src.scope.allows(url):
            return NewURL(url, host, source, depth, via, parent, "skipped", oc.OUT_OF_SCOPE, None)
        return NewURL(url, host, source, depth, via, parent)

    def _discover(self, entry: FrontierEntry, ex: Exchange) -> tuple[NewURL, ...]:
        mime = ex.content_type
        is_sitemap = mime in XML_TYPES or looks_like_sitemap(entry.url)
        if mime not in HTML_TYPES and not is_sitemap and mime:
            return ()
        body = decompress(
            ex.body, ex.header("content-encoding"), self.settings.fetch.max_decoded_bytes
        )
        if is_sitemap and (
            mime in XML_TYPES or body.lstrip()[:5] in (b"<?xml", b"<urls", b"<site")
        ):
            sitemap = parse_sitemap(body, self.settings.fetch.max_decoded_bytes)
            if sitemap.error:
                raise UndecodableContent(sitemap.error)
            links = [u for u in (canonicalize(x) for x in (*sitemap.pages, *sitemap.sitemaps)) if u]
            depth = entry.depth if sitemap.sitemaps else entry.depth + 1
            return tuple(self._admit(entry.source, u, depth, entry.url) for u in links)
        if entry.depth >= self._max_depth(entry.source):
            return ()
        text = decode_html(body, ex.header("content-type")).text
        return tuple(
            self._admit(entry.source, u, entry.depth + 1, entry.url)
            for u in extract_links(text, entry.url)
        )

    # -- storing -------------------------------------------------------------------
    def _archive(self, ex: Exchange, source: str, refers) -> Capture | None:  # type: ignore[no-untyped-def]
        """Write the exchange to WARC (fsynced) and return its catalog row (not yet saved)."""
        writer = self.store.writer()
        response = to_http_response(ex)
        identical = (
            refers is not None
            and ex.status != 304
            and refers.payload_digest == sha1_digest(ex.body)
        )
        if refers is not None and (ex.status == 304 or identical):
            profile = "server-not-modified" if ex.status == 304 else "identical-payload-digest"
            placed = writer.write_revisit(
                response,
                RevisitOf(
                    refers.url, refers.fetched_at, refers.record_id, refers.payload_digest, profile
                ),
            )
            record_type, digest, refers_id = "revisit", refers.payload_digest, refers.record_id
        else:
            placed, digest = writer.write_response(response)
            record_type, refers_id = "response", None
        self.stats.archived_bytes += len(ex.body)
        capture = Capture(
            run_id=self.run_id,
            url=ex.url,
            host=host_key(ex.url),
            record_type=record_type,
            record_id=placed.record_id,
            warc_file=placed.warc_file,
            warc_offset=placed.offset,
            warc_length=placed.length,
            fetched_at=ex.started_at,
            status=ex.status,
            mime=ex.content_type,
            payload_digest=digest,
            body_bytes=len(ex.body),
            etag=ex.header("etag"),
            last_modified=ex.header("last-modified"),
            ip=ex.ip,
            truncated=ex.truncated,
            refers_to=refers_id,
        )
        if source == "robots":
            self._pending.append((None, None, capture))
            self._flush()
            return None
        return capture

    def _finish(
        self, entry: FrontierEntry, result: Result, capture: Capture | None = None
    ) -> Result:
        """Queue the outcome for the next group commit (see `_flush`)."""
        self._pending.append((entry, result, capture))
        if (
            len(self._pending) >= GROUP_COMMIT_SIZE
            or time.monotonic() - self._last_flush >= GROUP_COMMIT_SECONDS
        ):
            self._flush()
        return result

    def _flush(self) -> None:
        """Group commit: one fsync of the WARC file, then one catalog transaction with the
        captures, the URLs' new states and the URLs they led to. A record is durable before
        the catalog says it exists; what a crash loses here is fetched again.

        With object storage the file must be published first: see `_flush_staged`."""
        self._last_flush = time.monotonic()
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        if self.store.remote:
            self._flush_staged(pending)
        else:
            self._flush_local(pending)
        for _, result, _ in pending:
            if result is not None and result.state != "queued":
                self.stats.count(result.outcome)

    def _flush_local(self, pending: list[Outcome]) -> None:
        records = sum(2 for _, _, capture in pending if capture is not None)
        name, size = self.store.committed(records=records) if records else ("", 0)
        with self.catalog.transaction():
            for entry, result, capture in pending:
                if capture is not None:
                    self.catalog.add_capture(capture)
                if entry is None or result is None:
                    continue
                self._record_outcome(entry, result)
            if records:
                self.catalog.commit_warc_size(name, size, records=records)
        if records:
            self.store.rotate_if_full()

    def _flush_staged(self, pending: list[Outcome]) -> None:
        """Object storage: outcomes without a capture, and all discovered URLs (add_urls is
        idempotent), are committed now; outcomes with a capture are held, their URLs
        still `in_flight`, until the file is published (`_record_held`). A worker killed
        before that leaves them `in_flight`: fetched again, nothing lost or doubled."""
        with self.catalog.transaction():
            for entry, result, capture in pending:
                if capture is None and entry is not None and result is not None:
                    self._record_outcome(entry, result)
                elif result is not None and result.new_urls:
                    self.catalog.add_urls(self.run_id, result.new_urls)
        self._held.extend(item for item in pending if item[2] is not None)
        self.store.rotate_if_full()

    def _record_held(self, published: PublishedFile) -> None:
        """Called by `WarcStore.publish` inside the transaction that records the published
        file: the captures it holds, the outcomes of their URLs, robots rules."""
        for name, saved in self._held_robots:
            if name == published.name:
                self.catalog.save_robots(*saved)
        self._held_robots = [h for h in self._held_robots if h[0] != published.name]
        mine: list[Outcome] = []
        rest: list[Outcome] = []
        for item in self._held:
            in_file = item[2] is not None and item[2].warc_file == published.name
            (mine if in_file else rest).append(item)
        self._held = rest
        for entry, result, capture in mine:
            if capture is not None:
                self.catalog.add_capture(capture)
            if entry is not None and result is not None:
                self._record_outcome(entry, result, new_urls=False)

    def _publish_held(self) -> bool:
        """Object storage, nothing to fetch now: publish what is held (held retries
        become fetchable only once recorded). True if something was published."""
        if not (self.store.remote and self._held):
            return False
        self.store.publish()
        return True

    def _record_outcome(self, entry: FrontierEntry, result: Result, new_urls: bool = True) -> None:
        if result.state == "queued":
            self.catalog.retry_url(entry.id, result.retry_at or 0.0, result.reason or "")
        else:
            self.catalog.finish_url(entry.id, result.state, result.outcome, result.reason)
        if new_urls and result.new_urls:
            self.catalog.add_urls(self.run_id, result.new_urls)


def to_http_response(ex: Exchange) -> HttpResponse:
    protocol = ex.http_version if ex.http_version.startswith("HTTP/") else "HTTP/1.1"
    return HttpResponse(
        url=ex.url,
        ip=ex.ip,
        date=ex.started_at,
        request_line=ex.request_line,
        request_headers=ex.request_headers,
        status_line=f"{ex.status} {ex.reason}".strip(),
        protocol=protocol,
        headers=ex.headers,
        body=ex.body,
        truncated=ex.truncated,
    )
