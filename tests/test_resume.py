"""Crash safety: SIGKILL a crawl and resume it, cut torn WARC tails, the archive lock.

The kill tests run the crawl in a child process (tests/resume_child.py) against loopback
sites served from this process and SIGKILL it several times, either when the catalog
shows a number of captures or (the child killing itself) at exact points inside a WARC
write; each time the crawl is resumed, finally to completion. Then the archive is
checked from all sides: the WARC files (warcio check, our reader, one response and one
clean-text record per page, sizes as committed) against the catalog (one capture and one
document per page, at the right offsets), and the servers' request logs against what
the catalog said at each kill (nothing finished was fetched again).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from crawling import crawl, warcio_check
from loopback import LoopbackSite, Reply
from resume_child import resume_settings, resume_sources
from typer.testing import CliRunner

from archive.catalog import Catalog, StoredCapture
from archive.cdxj import cdxj_lines
from archive.layout import ArchiveLayout, ArchiveLock, ArchiveLocked
from archive.warc import HttpResponse, StoredRecord, WarcFileWriter, iter_records
from archive.warcstore import WarcStore

TESTS = Path(__file__).parent
CHILD = TESTS / "resume_child.py"

SITES = 3  # three hosts, crawled in parallel
KILL_AFTER = (10, 25, 50)  # page captures in the catalog when the child is killed
# (how the child kills itself, at which record of that kind) for the exact-point test
EXACT_KILLS = (
    ("mid-response", 8),  # half of a response record's gzip member on disk
    ("after-sync", 6),  # a capture whole and fsynced, the catalog not told
    ("mid-request", 6),  # the response whole, its request record torn
    ("mid-warcinfo", 1),  # the first record of the file opened by the next rotation
    ("mid-conversion", 7),  # after the crawl, while writing clean text to text/
)


# -- the sites ------------------------------------------------------------------------
def page(site: int, i: int, pages: int) -> Reply:
    """Page i links to the next three; each reply is held back 10-20 ms."""
    links = "".join(
        f'<li><a href="/p/{j}">page {j}</a></li>' for j in range(i + 1, min(i + 4, pages))
    )
    filler = (
        f"This is page number {i} of the test site {site}, written in plain English so "
        "that the language of the text is easy to tell. The archive keeps every page "
        "exactly once, even when the crawler is killed in the middle of its work and "
        "started again later from the same catalog."
    )
    body = (
        f"<!doctype html><html><head><title>Site {site} page {i}</title></head>"
        f"<body><article><h1>Page {i}</h1><p>{filler}</p></article><ul>{links}</ul>"
        "</body></html>"
    )
    return Reply(
        200,
        body.encode("utf-8"),
        {"Content-Type": "text/html; charset=utf-8"},
        delay=0.010 + ((i * 7) % 11) / 1000,
    )


@contextmanager
def chain_sites(pages: int) -> Iterator[list[LoopbackSite]]:
    """SITES loopback servers (one host each) of `pages` linked pages."""
    sites = []
    for s in range(SITES):
        site = LoopbackSite({f"/p/{i}": page(s, i, pages) for i in range(pages)})
        # a killed crawl leaves connections reset mid-request: expected, not worth a trace
        site.server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        sites.append(site.__enter__())
    try:
        yield sites
    finally:
        for site in sites:
            site.__exit__(None, None, None)


# -- looking at the archive from outside -----------------------------------------------
@dataclass
class KillSnapshot:
    """What the catalog (and the servers) said right after one SIGKILL."""

    captures: int
    in_flight: set[str] = field(default_factory=set)
    done: set[str] = field(default_factory=set)
    torn_bytes: int = 0  # bytes past the committed size in open WARC files
    log_marks: dict[str, int] = field(default_factory=dict)  # server log lengths


def page_captures(catalog_path: Path) -> int:
    """Page captures committed so far, read without taking any write lock (0 if the
    catalog is not there yet)."""
    if not catalog_path.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{catalog_path}?mode=ro", uri=True, timeout=5)
        try:
            row = conn.execute("SELECT COUNT(*) FROM captures WHERE url LIKE '%/p/%'").fetchone()
        finally:
            conn.close()
    except sqlite3.OperationalError:  # not migrated yet
        return 0
    return int(row[0])


def snapshot(layout: ArchiveLayout, sites: list[LoopbackSite]) -> KillSnapshot:
    catalog = Catalog.open(layout.catalog, readonly=True)
    try:
        snap = KillSnapshot(captures=page_captures(layout.catalog))
        for row in catalog.conn.execute("SELECT url, state FROM frontier"):
            if row["state"] == "in_flight":
                snap.in_flight.add(row["url"])
            elif row["state"] == "done":
                snap.done.add(row["url"])
        for wf in catalog.open_warc_files():
            path = layout.dir_for(wf.kind) / wf.name
            if path.exists():
                snap.torn_bytes += max(0, path.stat().st_size - wf.committed_size)
    finally:
        catalog.close()
    snap.log_marks = {site.base: len(site.log) for site in sites}
    return snap


def child_args(layout: ArchiveLayout, workers: int) -> list[str]:
    return [sys.executable, str(CHILD), str(layout.root), "--workers", str(workers)]


def run_child_to_death(
    layout: ArchiveLayout, bases: list[str], mode: str, n: int, workers: int
) -> None:
    """Run the crawl in a child process that SIGKILLs itself at an exact point."""
    child = subprocess.run(
        [*child_args(layout, workers), "--die", mode, str(n), *bases],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, (mode, n, child.returncode, child.stderr)


def run_child_until(
    layout: ArchiveLayout, bases: list[str], captures: int, jitter: float, workers: int
) -> None:
    """Start the crawl in a child process and SIGKILL it once the catalog shows
    `captures` page captures (plus `jitter` seconds)."""
    child = subprocess.Popen(
        [*child_args(layout, workers), *bases],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while page_captures(layout.catalog) < captures:
            if child.poll() is not None:
                pytest.fail(
                    f"crawl child exited ({child.returncode}) before {captures} captures:\n"
                    + child.communicate()[1]
                )
            if time.monotonic() > deadline:
                pytest.fail(f"crawl child did not reach {captures} captures in 60 s")
            time.sleep(0.002)
        time.sleep(jitter)
        assert child.poll() is None, "the crawl finished before it could be killed"
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stderr.close()  # type: ignore[union-attr]


def read_all_records(paths: list[Path]) -> dict[Path, list[StoredRecord]]:
    out = {}
    for path in paths:
        with path.open("rb") as f:
            out[path] = list(iter_records(f))
    return out


def page_key(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.netloc, parts.path


# -- 1. SIGKILL and resume ------------------------------------------------------------
# the crawl's work in the crawl's own process, and in two worker processes
WORKERS = (1, 2)


@pytest.mark.parametrize("workers", WORKERS)
def test_sigkill_at_several_points_then_resume_loses_and_duplicates_nothing(
    layout: ArchiveLayout, workers: int
) -> None:
    """Kill the crawl (SIGKILL, in a child process) when the catalog shows 10, 25 and 50
    of 75 pages, resuming it each time; then finish it and check everything. With
    worker processes they die with the crawl."""
    rng = random.Random(20240611)
    with chain_sites(pages=25) as sites:
        bases = [site.base for site in sites]
        kills: list[KillSnapshot] = []
        for target in KILL_AFTER:
            run_child_until(layout, bases, target, rng.uniform(0.0, 0.02), workers)
            kills.append(snapshot(layout, sites))
        result = crawl(layout, resume_sources(bases), resume_settings(workers), new_run=False)
        logs = {site.base: list(site.log) for site in sites}

    try:
        seen = [k.captures for k in kills]  # each kill mid-crawl, later than the last
        assert seen == sorted(seen) and seen[0] >= KILL_AFTER[0] and seen[-1] < 75, seen
        assert any(k.in_flight for k in kills), "no kill caught a fetch in flight"
        assert result.report.resumed and result.report.status == "finished"
        _check_resumed_archive(layout, result.catalog, result.run_id, bases, 25, kills, logs)
    finally:
        result.catalog.close()


@pytest.mark.parametrize("workers", WORKERS)
def test_killed_at_exact_points_then_resume_cuts_each_tail_and_refetches(
    layout: ArchiveLayout, workers: int
) -> None:
    """The same, with the child killing itself where it hurts (see EXACT_KILLS): halfway
    through a record of each kind, after a capture is fsynced but before the catalog
    knows, and while writing clean text after the crawl. Each resume must cut what the
    kill left past the committed size and fetch the page in flight again."""
    with chain_sites(pages=15) as sites:
        bases = [site.base for site in sites]
        kills: list[KillSnapshot] = []
        for mode, n in EXACT_KILLS:
            run_child_to_death(layout, bases, mode, n, workers)
            kill = snapshot(layout, sites)
            assert kill.torn_bytes > 0, f"{mode} {n}: nothing past the committed size"
            if mode == "mid-conversion":
                assert not kill.in_flight and kill.captures == 45
            else:
                assert len(kill.in_flight) >= 1, f"{mode} {n}: no page in flight"
            kills.append(kill)
        result = crawl(layout, resume_sources(bases), resume_settings(workers), new_run=False)
        logs = {site.base: list(site.log) for site in sites}

    try:
        assert result.report.resumed and result.report.status == "finished"
        _check_resumed_archive(layout, result.catalog, result.run_id, bases, 15, kills, logs)
    finally:
        result.catalog.close()


def _check_resumed_archive(
    layout: ArchiveLayout,
    catalog: Catalog,
    run_id: int,
    bases: list[str],
    pages_per_site: int,
    kills: list[KillSnapshot],
    logs: dict[str, list[str]],
) -> None:
    pages = {f"{base}/p/{i}" for base in bases for i in range(pages_per_site)}
    assert len(pages) == len(bases) * pages_per_site

    # The frontier: exactly the pages, all done (nothing left in flight or queued).
    rows = catalog.frontier_rows(run_id)
    assert {r["url"] for r in rows} == pages
    assert Counter(r["state"] for r in rows) == {"done": len(pages)}
    assert {r["outcome"] for r in rows} == {"archived"}
    assert catalog.get_run(run_id).status == "finished"  # type: ignore[union-attr]

    # Every WARC file (raw and text): valid for warcio, readable by our reader, closed,
    # and exactly as long as the catalog says was committed.
    raw_paths = sorted(layout.warc_dir.glob("*.warc.gz"))
    text_paths = sorted(layout.text_dir.glob("*.warc.gz"))
    warc_files = catalog.warc_files()
    assert sorted(layout.dir_for(wf.kind) / wf.name for wf in warc_files) == sorted(
        raw_paths + text_paths
    )
    assert len(raw_paths) >= 3, "expected the small max_file_bytes to rotate files"
    assert text_paths
    checked = warcio_check(raw_paths + text_paths)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for wf in warc_files:
        assert wf.state == "closed", wf
        assert (layout.dir_for(wf.kind) / wf.name).stat().st_size == wf.committed_size, wf
    records = read_all_records(raw_paths + text_paths)
    for path, recs in records.items():
        assert [r.rec_type for r in recs[:1]] == ["warcinfo"], path.name
        assert [r.rec_type for r in recs].count("warcinfo") == 1, path.name
        assert recs[0].offset == 0
        for before, after in itertools.pairwise(recs):
            assert after.offset == before.offset + before.length, path.name
        assert recs[-1].offset + recs[-1].length == path.stat().st_size, path.name

    responses: dict[str, list[tuple[str, StoredRecord]]] = {}
    requests_for: Counter[str] = Counter()
    for path in raw_paths:
        for rec in records[path]:
            if rec.rec_type == "response":
                responses.setdefault(rec.url, []).append((path.name, rec))
            elif rec.rec_type == "request":
                requests_for[rec.headers["WARC-Concurrent-To"]] += 1
            else:
                assert rec.rec_type == "warcinfo", rec

    # One response record per page, no more, no less; each with its one request record.
    stored_twice = {u: len(v) for u, v in responses.items() if len(v) > 1}
    assert not stored_twice, f"stored twice: {stored_twice}"
    assert pages <= set(responses), f"lost: {sorted(pages - set(responses))}"
    all_responses = [rec for placed in responses.values() for _, rec in placed]
    assert requests_for == Counter(rec.record_id for rec in all_responses)

    # One capture row per page, pointing at that response record...
    captures = catalog.captures(run_id)
    by_url: dict[str, list[StoredCapture]] = {}
    for cap in captures:
        by_url.setdefault(cap.url, []).append(cap)
    for url in pages:
        assert len(by_url.get(url, [])) == 1, (url, by_url.get(url))
        cap = by_url[url][0]
        ((name, rec),) = responses[url]
        assert (cap.warc_file, cap.warc_offset, cap.record_id) == (name, rec.offset, rec.record_id)
        assert cap.record_type == "response" and cap.status == 200
    # ...and no response record in the WARC files that the catalog does not know.
    assert {rec.record_id for rec in all_responses} == {c.record_id for c in captures}

    # The CDXJ index lists each page exactly once.
    cdx_urls: Counter[str] = Counter()
    for cdx in layout.cdx_dir.glob("*.cdxj"):
        for line in cdx.read_text(encoding="utf-8").splitlines():
            cdx_urls[json.loads(line.split(" ", 2)[2])["url"]] += 1
    assert {u: cdx_urls[u] for u in pages} == dict.fromkeys(pages, 1)
    # ... and is what reading its WARC file gives, though the workers wrote it from what
    # they noted across kills and cut-back tails
    for cdx in layout.cdx_dir.glob("*.cdxj"):
        warc = layout.warc_dir / cdx.name.replace(".cdxj", ".warc.gz")
        with warc.open("rb") as f:
            assert cdx.read_text(encoding="utf-8").splitlines() == cdxj_lines(
                iter_records(f), warc.name
            )

    # One document per page, and its clean text as exactly one conversion record (one
    # finalisation with unchanged site rules writes each text once), where the catalog
    # says, referring to the page's response record.
    conversions: dict[str, list[tuple[str, StoredRecord]]] = {}
    for path in text_paths:
        for rec in records[path][1:]:
            assert rec.rec_type == "conversion", rec
            conversions.setdefault(rec.url, []).append((path.name, rec))
    documents = catalog.conn.execute(
        "SELECT url, outcome, warc_record_id, text_warc_file, text_warc_offset, text_record_id"
        " FROM documents"
    ).fetchall()
    assert sorted(d["url"] for d in documents) == sorted(pages)
    for doc in documents:
        assert doc["outcome"] == "ok", dict(doc)
        ((name, rec),) = conversions[doc["url"]]
        assert (doc["text_warc_file"], doc["text_warc_offset"], doc["text_record_id"]) == (
            name,
            rec.offset,
            rec.record_id,
        )
        assert rec.headers["WARC-Refers-To"] == doc["warc_record_id"]
        assert doc["warc_record_id"] == by_url[doc["url"]][0].record_id
    assert set(conversions) == pages

    # The server's view: a page finished before a kill was never fetched again; only a
    # page in flight at a kill was fetched a second time.
    def requests(start: dict[str, int] | None = None) -> Counter[tuple[str, str]]:
        counted: Counter[tuple[str, str]] = Counter()
        for base, log in logs.items():
            netloc = urlsplit(base).netloc
            tail = log[(start or {}).get(base, 0) :]
            counted.update((netloc, path) for path in tail if path.startswith("/p/"))
        return counted

    requested = requests()
    assert set(requested) == {page_key(u) for u in pages}
    in_flight_at_kills = Counter(page_key(u) for k in kills for u in k.in_flight)
    for key, count in requested.items():
        # once, plus once more for every kill that caught it in flight
        assert count <= 1 + in_flight_at_kills[key], (key, count)
    for n, kill in enumerate(kills, 1):
        refetched = set(requests(kill.log_marks)) & {page_key(u) for u in kill.done}
        assert not refetched, f"done at kill {n}, fetched again: {sorted(refetched)}"
    assert sum(requested.values()) > len(pages), "no kill led to a second fetch"


# -- 2. torn tails --------------------------------------------------------------------
def _response(i: int) -> HttpResponse:
    body = f"<html><body>record {i} ".encode() + os.urandom(64).hex().encode() + b"</body></html>"
    return HttpResponse(
        url=f"http://example.test/r/{i}",
        ip="192.0.2.1",
        date=datetime(2024, 6, 1, 12, 0, tzinfo=UTC) + timedelta(seconds=i),
        request_line=f"GET /r/{i} HTTP/1.1",
        request_headers=[("Host", "example.test")],
        status_line="200 OK",
        protocol="HTTP/1.1",
        headers=[("Content-Type", "text/html"), ("Content-Length", str(len(body)))],
        body=body,
    )


def _half_a_member(i: int) -> bytes:
    """The first half of a gzip member as the writer would produce it."""
    buf = io.BytesIO()
    WarcFileWriter(buf, "scratch.warc.gz").write_response(_response(i))
    whole = buf.getvalue()
    return whole[: len(whole) // 2]


def _uncommitted_record(store: WarcStore) -> bytes:
    """Writes a whole record pair, fsynced, that the catalog never hears of."""
    store.writer().write_response(_response(99))
    store.committed(records=2)
    return b""


TAILS = {
    "garbage": lambda store: os.urandom(3000),
    "half-gzip-member": lambda store: _half_a_member(7),
    "gzip-header-only": lambda store: gzip.compress(b"WARC/1.1\r\n" * 50)[:10],
    "whole-uncommitted-record": _uncommitted_record,
    "uncommitted-record-then-half": lambda store: _uncommitted_record(store) + _half_a_member(8),
}


def _store(layout: ArchiveLayout, catalog: Catalog) -> WarcStore:
    return WarcStore(layout, catalog, "warc", "torn", 10_000_000, {"software": "warcflow-test"})


@pytest.mark.parametrize("tail", sorted(TAILS))
def test_recover_cuts_a_torn_tail_back_to_the_last_committed_record(
    layout: ArchiveLayout, catalog: Catalog, tail: str
) -> None:
    store = _store(layout, catalog)
    placed = []
    for i in range(3):
        rec, _ = store.writer().write_response(_response(i))
        name, size = store.committed(records=2)
        catalog.commit_warc_size(name, size, records=2)
        placed.append(rec)
    path = layout.warc_dir / name
    committed = path.stat().st_size
    assert catalog.open_warc_file("warc").committed_size == committed  # type: ignore[union-attr]
    with path.open("rb") as f:
        whole = list(iter_records(f))
    assert whole[-1].offset + whole[-1].length == committed
    digest_before = hashlib.sha256(path.read_bytes()).hexdigest()

    # The crash: bytes past the committed size, then the process is gone.
    extra = TAILS[tail](store)
    store.detach()  # the handle goes away; the catalog is not told anything more
    with path.open("ab") as f:
        f.write(extra)
    torn = path.stat().st_size
    assert torn > committed

    restarted = _store(layout, catalog)
    assert restarted.recover() == [(name, torn - committed)]
    assert path.stat().st_size == committed
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest_before
    checked = warcio_check([path])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    with path.open("rb") as f:
        assert [(r.rec_type, r.offset) for r in iter_records(f)] == [
            (r.rec_type, r.offset) for r in whole
        ]

    # Recovery is idempotent, and the store appends after the cut as if nothing happened.
    assert restarted.recover() == []
    rec, _ = restarted.writer().write_response(_response(3))
    name2, size = restarted.committed(records=2)
    catalog.commit_warc_size(name2, size, records=2)
    assert (name2, rec.offset) == (name, committed)
    restarted.close()
    checked = warcio_check([path])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    with path.open("rb") as f:
        after = list(iter_records(f))
    assert [r.record_id for r in after if r.rec_type == "response"] == [
        *(p.record_id for p in placed),
        rec.record_id,
    ]


def test_recover_a_file_torn_inside_its_warcinfo(layout: ArchiveLayout, catalog: Catalog) -> None:
    """Killed while writing the first record of a new file: it is emptied and the
    warcinfo is written again."""
    catalog.register_warc_file("torn-new.warc.gz", "warc")
    path = layout.warc_dir / "torn-new.warc.gz"
    torn = _half_a_member(1)
    path.write_bytes(torn)
    store = _store(layout, catalog)
    assert store.recover() == [("torn-new.warc.gz", len(torn))]
    assert path.stat().st_size == 0
    store.writer().write_response(_response(1))
    name, size = store.committed(records=2)
    catalog.commit_warc_size(name, size, records=2)
    store.close()
    checked = warcio_check([path])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    with path.open("rb") as f:
        assert [r.rec_type for r in iter_records(f)] == ["warcinfo", "response", "request"]


def test_recover_recreates_a_registered_file_that_never_reached_disk(
    layout: ArchiveLayout, catalog: Catalog
) -> None:
    catalog.register_warc_file("never-written.warc.gz", "warc")
    store = _store(layout, catalog)
    assert store.recover() == []
    assert (layout.warc_dir / "never-written.warc.gz").stat().st_size == 0


# -- 3. the archive lock --------------------------------------------------------------
HOLD_LOCK = """
import sys, time
from pathlib import Path
from archive.layout import ArchiveLayout, ArchiveLock
lock = ArchiveLock(ArchiveLayout(Path(sys.argv[1]))).acquire()
print("locked", flush=True)
time.sleep(120)
"""


@pytest.fixture
def lock_holder(layout: ArchiveLayout) -> Iterator[subprocess.Popen[str]]:
    """A child process holding the archive lock (until it is killed)."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(layout.root)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=TESTS.parent,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "locked"
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stdout.close()  # type: ignore[union-attr]


def test_lock_held_by_another_process_refuses_then_frees_on_sigkill(
    layout: ArchiveLayout, lock_holder: subprocess.Popen[str]
) -> None:
    with pytest.raises(ArchiveLocked) as refused:
        ArchiveLock(layout).acquire()
    message = str(refused.value)
    assert str(layout.root) in message
    assert f"pid {lock_holder.pid} " in message
    assert "in use" in message

    lock_holder.send_signal(signal.SIGKILL)
    assert lock_holder.wait(timeout=10) == -signal.SIGKILL
    lock = ArchiveLock(layout).acquire()  # the OS dropped the dead holder's lock
    try:
        assert layout.lock_file.read_text().startswith(f"pid {os.getpid()} ")
    finally:
        lock.release()


def test_lock_conflicts_within_one_process_too(layout: ArchiveLayout) -> None:
    """flock belongs to the open file description: a second open() conflicts."""
    first = ArchiveLock(layout).acquire()
    try:
        with pytest.raises(ArchiveLocked, match=f"pid {os.getpid()} "):
            ArchiveLock(layout).acquire()
    finally:
        first.release()
    with ArchiveLock(layout):
        pass


def _tree(root: Path) -> dict[str, tuple[int, int, str]]:
    return {
        str(p.relative_to(root)): (
            p.stat().st_size,
            p.stat().st_mtime_ns,
            hashlib.sha256(p.read_bytes()).hexdigest(),
        )
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _cli_crawl(layout: ArchiveLayout):  # type: ignore[no-untyped-def]
    from flows.cli import app

    return CliRunner().invoke(
        app,
        [
            "crawl",
            "http://127.0.0.1:9/",
            "--archive",
            str(layout.root),
            "--allow-network",
            "127.0.0.0/8",
        ],
    )


@pytest.mark.parametrize("with_catalog", [False, True], ids=["empty", "with-catalog"])
def test_cli_crawl_refuses_a_locked_archive_and_changes_nothing(
    layout: ArchiveLayout, lock_holder: subprocess.Popen[str], with_catalog: bool
) -> None:
    if with_catalog:
        existing = Catalog.open(layout.catalog)
        existing.start_run({}, [])
        existing.close()
    before = _tree(layout.root)

    result = _cli_crawl(layout)

    assert result.exit_code == 1, result.output
    assert "in use" in " ".join(result.output.split())
    assert f"pid {lock_holder.pid}" in " ".join(result.output.split())
    assert _tree(layout.root) == before
    assert layout.catalog.exists() == with_catalog
    assert lock_holder.poll() is None  # the holder was not disturbed


def test_cli_lock_error_is_one_line(
    layout: ArchiveLayout, lock_holder: subprocess.Popen[str]
) -> None:
    result = _cli_crawl(layout)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, lines
    assert "in use" in lines[0]
