"""Crawl loopback sites into an archive in a child process, so a test can SIGKILL it.

    python tests/resume_child.py ARCHIVE [--workers W] [--die MODE N] BASE_URL [BASE_URL ...]

Each base URL is one source seeded at `<base>/p/0`; the crawl resumes an unfinished run
(new_run False) and runs to completion unless it is killed. Used by test_resume.py,
which imports `resume_settings` and `resume_sources` from here so both sides agree.

`--workers` is the crawl's worker processes (CrawlSettings.workers; default: one per
core). `--die` makes the process that writes the WARC records SIGKILL itself at an exact
point instead of a random one:
  mid-TYPE N     while writing the Nth WARC record of TYPE (warcinfo, response,
                 request, or "record" for any): half of its gzip member is on disk
  after-sync N   after the Nth capture is fsynced, before the catalog records it
With worker processes that is a worker (forked, so it inherits the hooks set here), and
the crawl stops at once on losing it; then this process SIGKILLs itself too, so the test
sees the same death either way.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from conftest import fast_settings
from crawling import crawl

from archive.layout import ArchiveLayout
from archive.warc import WarcFileWriter
from archive.warcstore import OwnedWarcFile, WarcStore
from crawler.settings import CrawlLimits, CrawlSettings, WarcSettings
from crawler.sources import Source
from crawler.workers import WorkerDied

WARC_FILE_BYTES = 12_000  # about ten pages: files rotate several times during a crawl
BATCH_PAGES = 100  # one batch per run (processing each batch costs a worker start)


def resume_settings(workers: int | None = None) -> CrawlSettings:
    return fast_settings(
        limits=CrawlLimits(max_pages=1000, max_depth=100),
        warc=WarcSettings(prefix="resume", max_file_bytes=WARC_FILE_BYTES),
        batch_pages=BATCH_PAGES,
        workers=workers,
    )


from crawler import engine  # noqa: E402


def resume_sources(bases: list[str]) -> list[Source]:
    return [Source(name=f"site{i}", seeds=(f"{base}/p/0",)) for i, base in enumerate(bases)]


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def die_mid_record(rec_type: str, n: int) -> None:
    write = WarcFileWriter._write
    count = 0

    def torn_write(self: WarcFileWriter, record, *args):  # type: ignore[no-untyped-def]
        nonlocal count
        start, length = write(self, record, *args)
        count += rec_type in ("record", record.rec_type)
        if count == n:
            self.stream.flush()
            os.ftruncate(self.stream.fileno(), start + length // 2)
            os.fsync(self.stream.fileno())
            die()
        return start, length

    WarcFileWriter._write = torn_write  # type: ignore[method-assign]


def die_after_sync(n: int) -> None:
    committed = WarcStore.committed
    synced = OwnedWarcFile.sync
    count = 0

    def then_die(self: WarcStore, records: int) -> tuple[str, int]:
        nonlocal count
        result = committed(self, records)
        count += 1
        if count == n:
            die()
        return result

    def worker_then_die(self: OwnedWarcFile) -> tuple[str, int, int]:
        nonlocal count
        result = synced(self)
        count += 1
        if count == n:
            die()
        return result

    WarcStore.committed = then_die  # type: ignore[method-assign]
    OwnedWarcFile.sync = worker_then_die  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    archive, *bases = argv
    workers = None
    if bases[0] == "--workers":
        workers, bases = int(bases[1]), bases[2:]
    # Small commit groups: many fsync/commit boundaries and rotations in a small crawl,
    # so the exact kill points land in the middle of the crawl.
    engine.GROUP_COMMIT_SIZE = 2
    if bases[0] == "--die":
        _, mode, n, *bases = bases
        if mode == "after-sync":
            die_after_sync(int(n))
        else:
            die_mid_record(mode.removeprefix("mid-"), int(n))
    layout = ArchiveLayout(Path(archive)).ensure()
    try:
        result = crawl(layout, resume_sources(bases), resume_settings(workers), new_run=False)
    except WorkerDied:
        die()
    result.catalog.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
