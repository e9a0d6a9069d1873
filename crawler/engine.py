"""The crawl loop: frontier -> robots -> politeness -> fetch and store -> catalog.

`Crawler.run(budget)` fetches up to `budget` URLs of one run and returns; the flow
calls it once per batch (one Prefect task per batch). Many hosts are fetched in
parallel; one host gets one request at a time (more only with `host_connections` and
no delay). Everything it decides is recorded: each frontier row ends `done`, `failed`
or `skipped` with an outcome and a reason.

This process owns the catalog: it claims URLs, keeps robots rules, politeness and the
budget, and commits outcomes in groups. The work on each URL (fetch, parse, WARC) is
done by `PageWork` (crawler/pages.py), here or in worker processes
(crawler/workers.py); either way a record is fsynced before the catalog names it.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from archive.catalog import Capture, Catalog, FrontierEntry, NewURL
from archive.warc import WarcFileWriter
from archive.warcstore import PublishedFile, WarcStore
from crawler import outcomes as oc
from crawler.fetch import SafeClient
from crawler.pages import (
    Done,
    Notice,
    PageDone,
    PageJob,
    PageWork,
    Result,
    RobotsDone,
    RobotsJob,
)
from crawler.politeness import HostSlot, backoff_delay
from crawler.robots import RobotsRules, rules_from_response
from crawler.settings import CrawlSettings
from crawler.sources import Source
from crawler.urls import canonicalize, host_key
from crawler.workers import InlinePages, WorkerPool, WorkerSetup

GROUP_COMMIT_SIZE = 64  # outcomes per fsync + catalog transaction
GROUP_COMMIT_SECONDS = 0.2
HOST_STINT_PAGES = 10  # pages a host keeps its place while other hosts wait for one
# URLs claimed from the catalog at once for a host fetched without a delay (one UPDATE,
# not one per URL); with a delay, one at a time (claimed URLs show as in flight)
CLAIM_BATCH = 16
CONTENTION_CHECK_SECONDS = 0.5


@dataclass
class BatchStats:
    fetched: int = 0
    archived_bytes: int = 0
    by_outcome: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.by_outcome[outcome] = self.by_outcome.get(outcome, 0) + 1


# a URL's outcome and its capture, waiting for the next commit (robots.txt: no entry)
Outcome = tuple[FrontierEntry | None, Result | None, Capture | None]


@dataclass
class _Dispatched:
    """A job handed to the page work, until its outcome is known."""

    entry: FrontierEntry | None
    notice: asyncio.Future[Notice] | None  # a page: awaited until its response is in
    done: asyncio.Future[Done] | None = None  # robots.txt: awaited whole
    decision: Result | None = None  # a retryable failure: retried or failed


@dataclass
class _Stint:
    """A host's current turn in one of the parallel places."""

    pages: int = 0
    claimed: deque[FrontierEntry] = field(default_factory=deque)  # in flight, not handed out


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
        self.source_list = sources
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
        self._history = (
            catalog.conn.execute(
                "SELECT 1 FROM captures WHERE run_id < ? LIMIT 1", (run_id,)
            ).fetchone()
            is not None
        )  # without it no URL can have an earlier capture
        self.claimed = 0
        self._budget = 0
        self._pending: list[Outcome] = []
        self._last_flush = time.monotonic()
        self._job_ids = itertools.count(1)
        self._jobs: dict[int, _Dispatched] = {}
        self._unsettled: dict[str, int] = {}  # per host: URLs handed out, not yet committed
        self._handed_out: set[int] = set()  # their frontier ids
        self._awaiting: dict[int, list[Outcome]] = {}  # per worker: written, not yet fsynced
        self._marks: dict[str, tuple[int, int]] = {}  # file -> (durable size, new records)
        self._failure: BaseException | None = None
        self._stints: dict[str, int] = {}  # turns each host has had
        self._contended = False  # hosts are waiting for a place
        self._flushed: asyncio.Event | None = None
        # Object storage: outcomes with a capture wait here until their file is published.
        self._held: list[Outcome] = []
        # ... and a host's robots rules wait for their robots.txt capture (file name, args)
        self._held_robots: list[tuple[str, tuple[int, str, int | None, bytes, float]]] = []
        if store.remote:
            store.on_publish = self._record_held

    # -- budget --------------------------------------------------------------------
    def _may_claim(self) -> bool:
        return (
            self._failure is None
            and self.claimed < self._budget
            and self._started < self.settings.limits.max_pages
        )

    def may_continue(self) -> bool:
        """After `run`: whether another batch would find work (this one spent its budget,
        the run's page limit is not reached and URLs are still queued)."""
        return (
            self._failure is None
            and self.claimed >= self._budget
            and self._started < self.settings.limits.max_pages
            and self.catalog.next_ready_at(self.run_id, self.hosts) is not None
        )

    def _source_full(self, source: str) -> bool:
        limit = self.sources[source].max_pages if source in self.sources else None
        return limit is not None and self._started_by_source.get(source, 0) >= limit

    # -- main loop -----------------------------------------------------------------
    async def run(self, budget: int) -> BatchStats:
        self._budget = budget
        self._flushed = asyncio.Event()
        async with self._page_work() as pages:
            self._pages = pages
            active: dict[str, asyncio.Task[None]] = {}
            checked = 0.0
            while True:
                self._raise_failure()
                free = self.settings.politeness.max_hosts - len(active)
                if free > 0 and self._may_claim():
                    for host in self._next_hosts(set(active), free):
                        self._stints[host] = self._stints.get(host, 0) + 1
                        active[host] = asyncio.create_task(self._host_worker(host))
                elif free <= 0 and time.monotonic() - checked >= CONTENTION_CHECK_SECONDS:
                    checked = time.monotonic()
                    self._contended = bool(
                        self.catalog.ready_hosts(
                            self.run_id, self.clock(), set(active), 1, self.hosts
                        )
                    )
                if not active:
                    self._contended = False
                    await self._settle()  # unflushed results may hold the next URLs
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
            self._raise_failure()
            await self._settle()
        self._raise_failure()
        self._flush()
        if self.store.remote:
            self.store.publish()  # records the held captures (`_record_held`)
        return self.stats

    def _next_hosts(self, active: set[str], free: int) -> list[str]:
        """Hosts to start, shallowest work first, and among those the ones that had the
        fewest turns (a host that gave its place up goes behind those waiting)."""
        ready = self.catalog.ready_hosts(
            self.run_id, self.clock(), active, free + self.settings.politeness.max_hosts, self.hosts
        )
        return sorted(ready, key=lambda h: self._stints.get(h, 0))[:free]

    @asynccontextmanager
    async def _page_work(self) -> AsyncIterator[InlinePages | WorkerPool]:
        """Worker processes for a local archive crawled by this process alone (not a
        shard of a distributed crawl); else the work runs here."""
        workers = self.settings.worker_count()
        if workers > 1 and not self.store.remote and self.hosts is None:
            pool = WorkerPool(self._worker_setups(workers), self)
            try:
                await pool.start()
                yield pool
                await pool.stop()
            except BaseException:
                pool.kill()
                raise
            return
        async with SafeClient(
            self.settings.fetch,
            self.settings.user_agent,
            max_connections=max(4, self.settings.politeness.max_hosts * 2),
        ) as client:

            async def writer() -> WarcFileWriter:
                return self.store.writer()

            work = PageWork(
                client,
                writer,
                lambda: self.store.storage,
                self.settings,
                self.source_list,
                self.run_id,
            )
            inline = InlinePages(work, self)
            try:
                yield inline
                await inline.stop()
            except BaseException:
                inline.kill()
                raise

    def _worker_setups(self, count: int) -> list[WorkerSetup]:
        files = self.store.files_for_workers(count)
        return [
            WorkerSetup(
                index=i,
                layout=self.store.layout,
                settings=self.settings,
                sources=self.source_list,
                run_id=self.run_id,
                warc_name=wf.name,
                warc_committed=wf.committed_size,
                warcinfo=self.store.warcinfo(),
                max_file_bytes=self.store.max_bytes,
                group_size=GROUP_COMMIT_SIZE,
                group_seconds=GROUP_COMMIT_SECONDS,
            )
            for i, wf in enumerate(files)
        ]

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    async def _host_worker(self, host: str) -> None:
        robots = await self._robots_for(host)
        slot = self._slot(host, robots)
        lanes = self.settings.politeness.connections_for(slot.delay)
        stint = _Stint()
        try:
            await asyncio.gather(
                *(self._lane(host, robots, slot, stint, n, lanes) for n in range(lanes))
            )
        finally:
            if stint.claimed:
                self.catalog.unclaim([entry.id for entry in stint.claimed])

    def _claim(self, host: str, slot: HostSlot, stint: _Stint) -> FrontierEntry | None:
        if not stint.claimed:
            limit = CLAIM_BATCH if slot.delay <= 0 else 1
            stint.claimed.extend(self.catalog.claim(self.run_id, host, self.clock(), limit))
        return stint.claimed.popleft() if stint.claimed else None

    async def _lane(
        self, host: str, robots: RobotsRules, slot: HostSlot, stint: _Stint, lane: int, lanes: int
    ) -> None:
        """One request at a time to `host`, until its queue is empty, the budget is spent,
        or (other hosts waiting) its turn is over."""
        while self._may_claim():
            if self._contended and stint.pages >= HOST_STINT_PAGES:
                return
            wait = slot.wait_time(self.clock())
            if wait > 0:
                await asyncio.sleep(wait)
            entry = self._claim(host, slot, stint)
            if entry is None and self._unsettled.get(host):
                await self._await_commit(host)
                continue
            if entry is None and self._pending:
                self._flush()
                entry = self._claim(host, slot, stint)
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
            stint.pages += 1
            decision = await self._hand_out(entry, lane, lanes)
            now = self.clock()
            slot.fetched(now)
            if decision is not None and decision.retry_at is not None:
                slot.back_off(decision.retry_at)
            if slot.next_at > now or slot.saved_at > now:  # a wait to keep across restarts
                self.catalog.set_next_fetch(self.run_id, host, slot.next_at)
                slot.saved_at = slot.next_at

    async def _hand_out(self, entry: FrontierEntry, lane: int, lanes: int) -> Result | None:
        """Give the URL to the page work; returns once its response is in (the host is
        then free), with the decision on a retryable failure. The rest follows in
        `on_done`."""
        previous = None
        if self._history:
            previous = self.catalog.latest_capture(entry.url, before_run=self.run_id)
        # With one request at a time the host is free again once the response is in,
        # before it is parsed and written; with several, waiting for the end is cheaper.
        job = PageJob(next(self._job_ids), entry, previous, notify=lanes == 1)
        dispatched = _Dispatched(entry, asyncio.get_running_loop().create_future())
        self._jobs[job.id] = dispatched
        self._unsettled[entry.host] = self._unsettled.get(entry.host, 0) + 1
        self._handed_out.add(entry.id)
        self._pages.submit(job, (entry.host, lane))
        await dispatched.notice  # type: ignore[misc]
        return dispatched.decision

    async def _await_commit(self, host: str) -> None:
        """Nothing of `host` is queued, but pages of it are in hand: commit what is in,
        or wait for the next commit, either of which may queue the URLs they led to.
        Not until all of them are in: the host's other lanes keep handing out pages,
        and a lane waiting for the host to go quiet would sit idle while they do."""
        self._pages.sync_now()
        self._flush()
        if self._unsettled.get(host) and self._failure is None:
            await self._next_flush()

    async def _settle(self) -> None:
        """Wait until everything handed out is committed."""
        while (self._jobs or any(self._awaiting.values())) and self._failure is None:
            self._pages.sync_now()
            self._flush()
            if not (self._jobs or any(self._awaiting.values())):
                break
            await self._next_flush()
        self._flush()

    async def _next_flush(self) -> None:
        assert self._flushed is not None
        with suppress(TimeoutError):
            await asyncio.wait_for(self._flushed.wait(), GROUP_COMMIT_SECONDS / 4)

    def _slot(self, host: str, robots: RobotsRules) -> HostSlot:
        if host not in self._slots:
            pol = self.settings.politeness
            delay = pol.delay
            crawl_delay = robots.crawl_delay(self.settings.user_agent)
            if crawl_delay is not None:
                delay = max(delay, min(crawl_delay, pol.max_crawl_delay))
            state = self.catalog.host_state(self.run_id, host)
            saved = state.next_fetch_at if state else 0.0
            self._slots[host] = HostSlot(host, delay, next_at=saved, saved_at=saved)
        return self._slots[host]

    # -- what comes back from the page work (crawler/workers.py PagesSink) ---------------
    def on_notice(self, worker: int, notice: Notice) -> None:
        dispatched = self._jobs.get(notice.job)
        if dispatched is None:
            return
        self._noticed(dispatched, notice)

    def _noticed(self, dispatched: _Dispatched, notice: Notice) -> None:
        if dispatched.notice is None or dispatched.notice.done():
            return
        if notice.retry is not None and dispatched.entry is not None:
            retry = notice.retry
            dispatched.decision = self._retry_or_fail(
                dispatched.entry, retry.outcome, retry.why, retry.retry_after
            )
        dispatched.notice.set_result(notice)

    def on_done(self, worker: int, done: Done) -> None:
        dispatched = self._jobs.pop(done.job)
        if isinstance(done, RobotsDone):
            outcomes: list[Outcome] = [(None, None, capture) for capture in done.captures]
            self.stats.archived_bytes += sum(c.body_bytes for c in done.captures)
            self._settle_outcomes(worker, outcomes)
            if dispatched.done is not None and not dispatched.done.done():
                dispatched.done.set_result(done)
            return
        assert isinstance(done, PageDone) and dispatched.entry is not None
        self._noticed(dispatched, Notice(done.job, done.retry))  # if not sent before
        if done.fetched:
            self.stats.fetched += 1
        if done.capture is not None:
            self.stats.archived_bytes += done.body_bytes
        result = dispatched.decision if done.retry is not None else done.result
        assert result is not None
        self._settle_outcomes(worker, [(dispatched.entry, result, done.capture)])

    def _settle_outcomes(self, worker: int, outcomes: list[Outcome]) -> None:
        if self._pages.inline:
            self._pending.extend(outcomes)
        else:  # a capture waits for the worker's next mark; the rest can go now
            for item in outcomes:
                if item[2] is None:
                    self._pending.append(item)
                else:
                    self._awaiting.setdefault(worker, []).append(item)
        self._maybe_flush()

    def on_mark(self, worker: int, name: str, size: int, records: int) -> None:
        """Worker `worker` fsynced `name` up to `size`: what it sent so far is durable."""
        self._pending.extend(self._awaiting.pop(worker, []))
        _, earlier = self._marks.get(name, (0, 0))
        self._marks[name] = (size, earlier + records)
        self._flush()

    def on_rotated(self, worker: int, name: str) -> str:
        """Worker `worker` filled `name` (its last mark came just before): close it and
        register the file it continues in."""
        self._flush()
        with self.catalog.transaction():
            self.catalog.close_warc_file(name)
            return self.store.register_new()

    def on_failure(self, exc: BaseException) -> None:
        if self._failure is None:
            self._failure = exc
        for dispatched in self._jobs.values():
            for future in (dispatched.notice, dispatched.done):
                if future is not None and not future.done():
                    future.set_exception(exc)

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
        url = f"{self._scheme_for(host)}://{host}/robots.txt"
        job = RobotsJob(next(self._job_ids), host, url)
        loop = asyncio.get_running_loop()
        dispatched = _Dispatched(None, None, loop.create_future())
        self._jobs[job.id] = dispatched
        self._pages.submit(job, (host, 0))
        done = await dispatched.done  # type: ignore[misc]
        assert isinstance(done, RobotsDone)
        if done.unsafe is not None:
            self._fail_host(host, oc.UNSAFE, done.unsafe)
            return RobotsRules(policy="disallow_all", reason=done.unsafe)
        status = done.status
        now = self.clock()
        rules = rules_from_response(status, done.body)
        saved = (self.run_id, host, status, done.body, now)
        if self.store.remote and status is not None and done.captures:
            # recorded with its capture: a worker that dies first leaves robots.txt to
            # be fetched (and archived) again by the retry
            self._held_robots.append((done.captures[-1].warc_file, saved))
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

    # -- decisions -----------------------------------------------------------------
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

    # -- committing ----------------------------------------------------------------
    def _finish(self, entry: FrontierEntry, result: Result) -> Result:
        """Queue an outcome decided here (no fetch) for the next group commit."""
        self._pending.append((entry, result, None))
        self._maybe_flush()
        return result

    def _maybe_flush(self) -> None:
        if (
            len(self._pending) >= GROUP_COMMIT_SIZE
            or time.monotonic() - self._last_flush >= GROUP_COMMIT_SECONDS
        ):
            self._flush()

    def _flush(self) -> None:
        """Group commit: the WARC records are made durable first (here one fsync of the
        store's file; worker processes fsync their own and send marks), then one catalog
        transaction has the captures, the URLs' new states and the URLs they led to. A
        record is durable before the catalog says it exists; what a crash loses here is
        fetched again.

        With object storage the file must be published first: see `_flush_staged`."""
        self._last_flush = time.monotonic()
        if self._failure is not None:  # stop at once: what is not committed is fetched again
            return
        if not self._pending and not self._marks:
            return
        pending, self._pending = self._pending, []
        if self.store.remote:
            self._flush_staged(pending)
        elif self._pages.inline:
            self._flush_local(pending)
        else:
            self._flush_marked(pending)
        for entry, result, _ in pending:
            if result is not None and result.state != "queued":
                self.stats.count(result.outcome)
            if entry is not None and entry.id in self._handed_out:
                self._handed_out.discard(entry.id)
                self._unsettled[entry.host] -= 1
        if self._flushed is not None:
            self._flushed.set()
            self._flushed = asyncio.Event()

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

    def _flush_marked(self, pending: list[Outcome]) -> None:
        """Worker processes: every capture here is covered by a mark in `_marks` (they
        move here together in `on_mark`), committed in the same transaction."""
        marks, self._marks = self._marks, {}
        with self.catalog.transaction():
            for entry, result, capture in pending:
                if capture is not None:
                    self.catalog.add_capture(capture)
                if entry is not None and result is not None:
                    self._record_outcome(entry, result)
            for name, (size, records) in marks.items():
                self.catalog.commit_warc_size(name, size, records=records)

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
