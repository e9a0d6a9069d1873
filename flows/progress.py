"""A rich progress bar fed by polling the catalog (so it works whatever runs the tasks)."""

from __future__ import annotations

import sqlite3
import threading

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from archive.layout import ArchiveLayout


class CrawlProgress:
    """Shows URLs finished out of URLs known for the newest running run."""

    def __init__(
        self, layout: ArchiveLayout, console: Console, max_pages: int, interval: float = 0.3
    ):
        self.layout = layout
        self.console = console
        self.max_pages = max_pages
        self.interval = interval
        self._run_id: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]crawling[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task("crawl", total=None, detail="starting Prefect…")

    def __enter__(self) -> CrawlProgress:
        self._progress.start()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._poll()
        self._progress.stop()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._poll()

    def _connect(self):  # type: ignore[no-untyped-def]
        if self.layout.catalog_url:
            return self.layout.open_catalog(readonly=True).conn
        return sqlite3.connect(f"file:{self.layout.catalog}?mode=ro", uri=True, timeout=1)

    def _poll(self) -> None:
        if not self.layout.exists():
            return
        try:
            conn = self._connect()
            try:
                if self._run_id is None:
                    row = conn.execute(
                        "SELECT id FROM runs WHERE status = 'running' ORDER BY id DESC LIMIT 1"
                    ).fetchone()
                    if row is None:
                        return
                    self._run_id = int(row[0])
                row = (self._run_id,)
                counts = dict(
                    conn.execute(
                        "SELECT state, COUNT(*) FROM frontier WHERE run_id = ?"
                        " AND state != 'skipped' GROUP BY state",
                        (row[0],),
                    ).fetchall()
                )
                archived = conn.execute(
                    "SELECT COUNT(*) FROM captures WHERE run_id = ?", (row[0],)
                ).fetchone()[0]
            finally:
                conn.close()
        except Exception:  # sqlite3.Error, psycopg.Error: being created or migrated
            return  # try again next tick
        finished = counts.get("done", 0) + counts.get("failed", 0)
        total = min(self.max_pages, finished + counts.get("queued", 0) + counts.get("in_flight", 0))
        self._progress.update(
            self._task,
            completed=min(finished, total),
            total=max(total, 1),
            detail=f"{archived} archived, {counts.get('failed', 0)} not fetched or failed",
        )
