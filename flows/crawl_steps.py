"""The crawl's steps as plain functions (no Prefect): the flow in flows/crawl.py wraps them
in tasks; tests and benchmarks call them directly.

Arguments and results are plain data (archive path, run id, counts); each step opens its
own catalog connection and WARC store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from archive.catalog import Catalog
from archive.layout import ArchiveLayout, as_layout
from archive.warcstore import WarcStore
from crawler.engine import Crawler, seed_urls
from crawler.settings import CrawlSettings, settings_from_dict, settings_to_dict
from crawler.sources import Source
from flows.report import CrawlReport, build_report
from flows.runner import BatchRunner
from flows.version import software_version


@dataclass(frozen=True)
class RunPlan:
    run_id: int
    resumed: bool
    cut: list[tuple[str, int]]
    requeued: int


def warc_store(layout: ArchiveLayout, catalog: Catalog, settings: CrawlSettings) -> WarcStore:
    info: dict[str, object] = {
        "software": f"warcflow/{software_version()}",
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        "robots": "obey" if settings.politeness.obey_robots else "ignore",
        "http-header-user-agent": settings.user_agent,
        **{f"warcflow-{k}": v for k, v in settings.describe().items() if k != "user-agent"},
    }
    return WarcStore(
        layout, catalog, "warc", settings.warc.prefix, settings.warc.max_file_bytes, info
    )


def prepare_run(
    layout: ArchiveLayout,
    catalog: Catalog,
    sources: list[Source],
    settings: CrawlSettings,
    new_run: bool = False,
) -> RunPlan:
    """Recover from a crash if needed, then resume the unfinished run or start one."""
    cut = warc_store(layout, catalog, settings).recover()
    cut += WarcStore(
        layout, catalog, "text", "warcflow-text", settings.warc.max_file_bytes, {}
    ).recover()
    unfinished = catalog.unfinished_run()
    if unfinished is not None and not new_run:
        requeued = catalog.requeue_in_flight(unfinished.id)
        return RunPlan(unfinished.id, True, cut, requeued)
    if unfinished is not None:
        catalog.finish_run(unfinished.id, {"abandoned": True}, status="abandoned")
    run_id = catalog.start_run(settings_to_dict(settings), [s.describe() for s in sources])
    with catalog.transaction():
        catalog.add_urls(run_id, seed_urls(sources))
    return RunPlan(run_id, False, cut, 0)


def run_sources(catalog: Catalog, run_id: int) -> tuple[list[Source], CrawlSettings]:
    run = catalog.get_run(run_id)
    if run is None:
        raise ValueError(f"no run {run_id} in the catalog")
    sources = [
        Source(**{k: tuple(v) if isinstance(v, list) else v for k, v in s.items()})
        for s in run.sources
    ]
    return sources, settings_from_dict(run.settings)


def crawl_batch_fn(
    archive: ArchiveLayout | str, run_id: int, budget: int, hosts: list[str] | None = None
) -> dict[str, object]:
    """Fetch up to `budget` URLs of the run; returns counts (plain data).

    With `hosts`, a shard of a distributed crawl: only these hosts, which no other task
    fetches meanwhile, so politeness holds across the cluster. URLs still in flight were
    claimed by an attempt that died (its captures never recorded): they are fetched
    again."""
    layout = as_layout(archive)  # with its recorded backends
    catalog = layout.open_catalog()
    try:
        # In flight at the start of a batch: claimed by an attempt that died (its
        # captures never recorded), to be fetched again. A shard requeues only its hosts;
        # otherwise this process is the run's only crawler (the archive lock).
        catalog.requeue_in_flight(run_id, hosts)
        sources, settings = run_sources(catalog, run_id)
        store = warc_store(layout, catalog, settings)
        crawler = Crawler(catalog, store, settings, sources, run_id, hosts=hosts)
        try:
            stats = asyncio.run(crawler.run(budget))
        finally:
            store.end_batch()  # local: keep the file for the next batch; remote: publish
        return {
            "fetched": stats.fetched,
            "claimed": crawler.claimed,
            "more": crawler.may_continue(),
            "bytes": stats.archived_bytes,
            "outcomes": stats.by_outcome,
        }
    finally:
        catalog.close()


def crawl_run(
    archive: ArchiveLayout | str,
    run_id: int,
    batch_pages: int,
    run_batch: Callable[..., dict[str, Any]] = crawl_batch_fn,
    run_process: Callable[..., dict[str, Any]] | None = None,
    run_finalise: Callable[..., dict[str, Any]] | None = None,
    run_cluster: Callable[..., dict[str, Any]] | None = None,
) -> int:
    """Crawl batches, each followed by processing what it archived, until the run's budget
    or frontier is exhausted; then finalise documents. Returns HTTP exchanges.

    The text processing steps default to the plain functions, imported here: what only
    crawls (worker processes forked from it, the fetch benchmark) does not load them."""
    from flows.cluster import cluster_fn
    from flows.process import PROCESS_BATCH, finalise_fn, process_batch_fn

    run_process = run_process or process_batch_fn
    run_finalise = run_finalise or finalise_fn
    run_cluster = run_cluster or cluster_fn
    fetched = 0
    while True:
        result = run_batch(archive, run_id, batch_pages)
        fetched += int(result["fetched"])
        while int(run_process(archive, PROCESS_BATCH, run_id)["captures"]) == PROCESS_BATCH:
            pass
        if not result["more"]:
            break
    run_finalise(archive)
    run_cluster(archive)
    return fetched


@dataclass(frozen=True)
class CrawlSteps:
    """The steps of a distributed crawl (the flow's tasks)."""

    crawl: Callable[..., dict[str, Any]]
    process: Callable[..., dict[str, Any]]
    finalise: Callable[..., dict[str, Any]]
    cluster: Callable[..., dict[str, Any]]


def shard_hosts(queued: dict[str, int], shards: int) -> list[list[str]]:
    """Hosts in at most `shards` groups of about equal queued work (largest first)."""
    groups: list[list[str]] = [[] for _ in range(max(1, min(shards, len(queued))))]
    loads = [0] * len(groups)
    for host, count in sorted(queued.items(), key=lambda kv: (-kv[1], kv[0])):
        least = loads.index(min(loads))
        groups[least].append(host)
        loads[least] += count
    return [g for g in groups if g]


def crawl_run_sharded(
    layout: ArchiveLayout,
    run_id: int,
    batch_pages: int,
    shards: int,
    steps: CrawlSteps,
    runner: BatchRunner,
) -> int:
    """A distributed crawl: rounds of host shards crawled at once (one task each, on the
    Dask workers), then their captures processed at once, shard by shard; finally
    documents are finalised and clustered in one step each. Returns HTTP exchanges."""
    from flows.process import PROCESS_BATCH

    fetched = 0
    while True:
        catalog = layout.open_catalog()
        try:
            queued = catalog.queued_hosts(run_id)
        finally:
            catalog.close()
        groups = shard_hosts(queued, shards)
        if not groups:
            break
        results = runner.run_all(steps.crawl, [(layout, run_id, batch_pages, g) for g in groups])
        fetched += sum(int(r["fetched"]) for r in results)
        while True:
            calls = [(layout, PROCESS_BATCH, run_id, g) for g in groups]
            done = runner.run_all(steps.process, calls)
            if all(int(r["captures"]) < PROCESS_BATCH for r in done):
                break
        if sum(int(r["claimed"]) for r in results) == 0:
            break  # the page budget is spent (or every queued URL is out of reach)
    steps.finalise(layout)
    steps.cluster(layout)
    return fetched


def finish_run(
    layout: ArchiveLayout,
    catalog: Catalog,
    plan: RunPlan,
    settings: CrawlSettings,
    seconds: float,
    fetched: int,
) -> CrawlReport:
    warc_store(layout, catalog, settings).close()
    report = build_report(catalog, plan.run_id, seconds, fetched, plan.resumed, plan.cut)
    catalog.finish_run(plan.run_id, report.to_dict())
    return report
