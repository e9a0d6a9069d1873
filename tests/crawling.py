"""Run a whole crawl without Prefect: the flow's plain functions, in order."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from archive.catalog import Catalog
from archive.layout import ArchiveLayout
from crawler.settings import CrawlSettings
from crawler.sources import Source
from flows.crawl_steps import crawl_batch_fn, crawl_run, finish_run, prepare_run, run_sources
from flows.report import CrawlReport


@dataclass
class CrawlResult:
    catalog: Catalog
    run_id: int
    report: CrawlReport

    def outcomes(self) -> dict[str, tuple[str, str | None]]:
        """url -> (outcome, reason) for every frontier row of the run."""
        return {
            r["url"]: (r["outcome"], r["reason"]) for r in self.catalog.frontier_rows(self.run_id)
        }


def crawl(
    layout: ArchiveLayout,
    sources: list[Source],
    settings: CrawlSettings,
    new_run: bool = False,
) -> CrawlResult:
    catalog = Catalog.open(layout.catalog)
    started = time.monotonic()
    plan = prepare_run(layout, catalog, sources, settings, new_run)
    _, run_settings = run_sources(catalog, plan.run_id)
    fetched = crawl_run(str(layout.root), plan.run_id, run_settings.batch_pages, crawl_batch_fn)
    report = finish_run(layout, catalog, plan, run_settings, time.monotonic() - started, fetched)
    return CrawlResult(catalog, plan.run_id, report)


def warcio_check(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    """`warcio check` on files (digests verified); returncode 0 means valid."""
    exe = Path(sys.executable).with_name("warcio")
    return subprocess.run(
        [str(exe), "check", "-v", *map(str, paths)], capture_output=True, text=True
    )
