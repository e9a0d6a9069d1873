"""One URL's work: fetch it, decide what it was, find its links, write it to WARC.

`PageWork` runs in the crawl's own process or in a worker process (crawler/workers.py):
it never touches the catalog. What it decides comes back as plain values: a `Notice` as
soon as the response is in (the host may then be asked again), a `PageDone` once the
exchange is written. Whether a failure is retried is the caller's decision (it knows the
attempts and owns the random jitter), so a retryable failure comes back as `Retryable`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from warcio.exceptions import ArchiveLoadFailed

from archive.catalog import Capture, FrontierEntry, NewURL, StoredCapture
from archive.storage import Storage
from archive.warc import HttpResponse, RevisitOf, WarcFileWriter, read_raw_payload_at, sha1_digest
from crawler import outcomes as oc
from crawler.errors import CrawlError, UnsafeURL
from crawler.fetch import Exchange, SafeClient, check_url_shape
from crawler.links import LinkResolver
from crawler.settings import CrawlSettings
from crawler.sitemaps import looks_like_sitemap, parse_sitemap
from crawler.sources import Source
from crawler.urls import canonicalize, host_key
from extractors.decode import DecodedTooLarge, UndecodableContent, decode_html, decompress

HTML_TYPES = ("text/html", "application/xhtml+xml")
XML_TYPES = ("application/xml", "text/xml", "application/x-gzip", "application/gzip")
ROBOTS_MAX_REDIRECTS = 5


@dataclass(frozen=True)
class Result:
    """What processing one fetched URL decided."""

    state: str
    outcome: str
    reason: str | None = None
    new_urls: tuple[NewURL, ...] = ()
    retry_at: float | None = None


@dataclass(frozen=True)
class Retryable:
    """A failure that may be retried (connect error, 5xx, 429): the caller decides."""

    outcome: str
    why: str
    retry_after: float | None = None


@dataclass(frozen=True)
class PageJob:
    id: int
    entry: FrontierEntry
    previous: StoredCapture | None = None  # the newest capture of an earlier run
    notify: bool = True  # send a Notice as soon as the response is in


@dataclass(frozen=True)
class RobotsJob:
    id: int
    host: str
    url: str  # http(s)://host/robots.txt


Job = PageJob | RobotsJob


@dataclass(frozen=True)
class Notice:
    """Sent as soon as the response (or the failure) is in, before parsing and writing."""

    job: int
    retry: Retryable | None


@dataclass(frozen=True)
class PageDone:
    job: int
    result: Result | None  # None when `retry` is set
    retry: Retryable | None
    capture: Capture | None  # written and flushed, not yet fsynced
    fetched: bool  # an HTTP exchange happened
    body_bytes: int = 0


@dataclass(frozen=True)
class RobotsDone:
    job: int
    status: int | None  # None: unreachable
    body: bytes  # decoded
    captures: tuple[Capture, ...]  # robots.txt and each redirect hop
    unsafe: str | None = None  # refused before connecting: the host is not crawled


Done = PageDone | RobotsDone
Notify = Callable[[Notice], None]


class PageWork:
    """Fetches, classifies, follows links and archives, for one run."""

    def __init__(
        self,
        client: SafeClient,
        writer: Callable[[], Awaitable[WarcFileWriter]],
        storage: Callable[[], Storage],
        settings: CrawlSettings,
        sources: list[Source],
        run_id: int,
    ) -> None:
        self.client = client
        self._writer = writer
        self._storage = storage
        self.settings = settings
        self.sources = {s.name: s for s in sources}
        self.run_id = run_id
        self.links = LinkResolver()
        self._safe_origins: set[str] = set()
        self._hosts: dict[str, str] = {}

    def _max_depth(self, source: str) -> int:
        src = self.sources.get(source)
        if src is not None and src.max_depth is not None:
            return src.max_depth
        return self.settings.limits.max_depth

    async def run(self, job: Job, notify: Notify) -> Done:
        if isinstance(job, RobotsJob):
            return await self.fetch_robots(job)
        return await self.fetch_page(job, notify)

    # -- robots.txt ------------------------------------------------------------------
    async def fetch_robots(self, job: RobotsJob) -> RobotsDone:
        url = job.url
        status: int | None = None
        body = b""
        unsafe = None
        hops: list[Exchange] = []
        for _ in range(ROBOTS_MAX_REDIRECTS + 1):
            try:
                exchange = await self.client.fetch(url)
            except UnsafeURL as exc:
                unsafe = exc.message
                break
            except CrawlError:
                status = None
                break
            hops.append(exchange)
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
        # written together, with no wait between the records and the result that names
        # them (see crawler/workers.py)
        writer = await self._writer()
        captures = tuple(self._archive(ex, None, writer) for ex in hops)
        if unsafe is not None:
            return RobotsDone(job.id, None, b"", captures, unsafe=unsafe)
        return RobotsDone(job.id, status, body, captures)

    # -- one URL -----------------------------------------------------------------------
    async def fetch_page(self, job: PageJob, notify: Notify) -> PageDone:
        entry, previous = job.entry, job.previous
        if not job.notify:
            notify = _no_notice
        conditional: dict[str, str] = {}
        if previous is not None:
            if previous.etag:
                conditional["If-None-Match"] = previous.etag
            if previous.last_modified:
                conditional["If-Modified-Since"] = previous.last_modified
        try:
            exchange = await self.client.fetch(entry.url, conditional)
        except UnsafeURL as exc:
            notify(Notice(job.id, None))
            return PageDone(job.id, Result("failed", oc.UNSAFE, exc.message), None, None, False)
        except CrawlError as exc:
            retry = Retryable(exc.outcome, exc.message, None)
            notify(Notice(job.id, retry))
            return PageDone(job.id, None, retry, None, False)
        verdict = self._retryable(exchange)
        notify(Notice(job.id, verdict))
        result = None if verdict is not None else self._classify(entry, exchange)
        revisit = None
        if previous is not None and (
            exchange.status == 304 or (200 <= exchange.status < 300 and exchange.truncated is None)
        ):
            revisit = previous
        capture = self._archive(exchange, revisit, await self._writer())
        if result is not None and capture.record_type == "revisit":
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
        return PageDone(job.id, result, verdict, capture, True, len(exchange.body))

    @staticmethod
    def _retryable(ex: Exchange) -> Retryable | None:
        status = ex.status
        if status == 429 or status >= 500:
            outcome = oc.HTTP_5XX if status >= 500 else oc.HTTP_4XX
            return Retryable(outcome, f"HTTP {status}", ex.retry_after())
        return None

    def _classify(self, entry: FrontierEntry, ex: Exchange) -> Result:
        status = ex.status
        if status in (301, 302, 303, 307, 308):
            return self._redirect(entry, ex)
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
            with self._storage().open("warc", previous.warc_file) as f:
                _, headers, body = read_raw_payload_at(f, previous.warc_offset)
            return self._discover(entry, replace(ex, headers=headers, body=body))
        except (OSError, ValueError, StopIteration, ArchiveLoadFailed):
            return ()

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
        new = self.admit(entry.source, target, entry.depth, entry.url, via=chain)
        return Result("done", oc.REDIRECTED, f"HTTP {ex.status} -> {target}", (new,))

    def admit(
        self, source: str, url: str, depth: int, parent: str, via: tuple[str, ...] = ()
    ) -> NewURL:
        """A discovered URL as a frontier row: queued, or skipped with the reason."""
        # the shape check looks at scheme and host only: once per origin that passes
        origin = url[: url.find("/", url.find("//") + 2)]
        host = self._hosts.get(origin)
        if host is None:
            host = host_key(url)
            if len(self._hosts) < 10_000:  # one string per host, not one per URL
                self._hosts[origin] = host
        if origin not in self._safe_origins:
            try:
                check_url_shape(url, self.settings.fetch)
            except UnsafeURL as exc:
                return NewURL(
                    url, host, source, depth, via, parent, "skipped", oc.UNSAFE, exc.message
                )
            if len(self._safe_origins) < 10_000:
                self._safe_origins.add(origin)
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
            return tuple(self.admit(entry.source, u, depth, entry.url) for u in links)
        if entry.depth >= self._max_depth(entry.source):
            return ()
        text = decode_html(body, ex.header("content-type")).text
        return tuple(
            self.admit(entry.source, u, entry.depth + 1, entry.url)
            for u in self.links.new_links(text, entry.url)
        )

    # -- storing -----------------------------------------------------------------------
    def _archive(
        self, ex: Exchange, refers: StoredCapture | None, writer: WarcFileWriter
    ) -> Capture:
        """Write the exchange to WARC (not fsynced) and return its catalog row."""
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
        return Capture(
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


def _no_notice(notice: Notice) -> None:
    pass


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
