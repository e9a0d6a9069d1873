"""The crawl flow: prepare or resume a run, crawl it in batches (one task each), report.

The steps are plain functions in flows/crawl_steps.py; here they become Prefect tasks.
"""

from __future__ import annotations

import time
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from archive.layout import ArchiveLock
from crawler.settings import settings_from_dict
from crawler.sources import Source, load_sources
from flows.cluster import cluster_fn
from flows.crawl_steps import (
    CrawlSteps,
    crawl_batch_fn,
    crawl_run,
    crawl_run_sharded,
    finish_run,
    prepare_run,
    run_sources,
)
from flows.process import finalise_fn, process_batch_fn
from flows.runner import batch_runner
from flows.scaleout import ScaleOut, dask_shards

crawl_batch = task(name="crawl-batch", cache_policy=NO_CACHE, retries=2)(crawl_batch_fn)
process_batch = task(name="process-batch", cache_policy=NO_CACHE, retries=2)(process_batch_fn)
finalise = task(name="finalise-documents", cache_policy=NO_CACHE)(finalise_fn)
cluster_documents = task(name="cluster-documents", cache_policy=NO_CACHE)(cluster_fn)


@flow(name="crawl", log_prints=True)
def crawl_flow(
    archive: str = "archive",
    sources: list[dict[str, object]] | None = None,
    sources_file: str | None = None,
    settings: dict[str, object] | None = None,
    new_run: bool = False,
    dask: str | None = None,
) -> dict[str, object]:
    """Crawl sources into the archive (resuming an interrupted run), then report.

    With `dask` (a scheduler address), hosts are split into shards crawled at once, one
    task each on the workers; the archive's catalog and storage must then be shared
    (PostgreSQL, object storage)."""
    # the sources file's [cluster] section may name the Dask scheduler and the backends
    scale = ScaleOut(dask=dask).over(
        ScaleOut.from_file(Path(sources_file) if sources_file else None)
    )
    dask = scale.dask
    layout = scale.layout(Path(archive)).ensure()
    crawl_settings = settings_from_dict(settings or {})
    if sources_file:
        source_list = load_sources(Path(sources_file))
    else:
        source_list = [
            Source(**{k: tuple(v) if isinstance(v, list) else v for k, v in s.items()})
            for s in (sources or [])
        ]
    with ArchiveLock(layout):
        catalog = layout.open_catalog()
        try:
            started = time.monotonic()
            plan = prepare_run(layout, catalog, source_list, crawl_settings, new_run)
            _, run_settings = run_sources(catalog, plan.run_id)
            if dask:
                steps = CrawlSteps(crawl_batch, process_batch, finalise, cluster_documents)
                with batch_runner(dask) as runner:
                    fetched = crawl_run_sharded(
                        layout,
                        plan.run_id,
                        run_settings.batch_pages,
                        dask_shards(dask),
                        steps,
                        runner,
                    )
            else:
                fetched = crawl_run(
                    layout,
                    plan.run_id,
                    run_settings.batch_pages,
                    crawl_batch,
                    process_batch,
                    finalise,
                    cluster_documents,
                )
            report = finish_run(
                layout, catalog, plan, run_settings, time.monotonic() - started, fetched
            )
        finally:
            catalog.close()
    create_markdown_artifact(
        key="crawl-report", markdown=report.to_markdown(), description="warcflow crawl report"
    )
    return report.to_dict()
