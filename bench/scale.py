"""Scale-out benchmark: re-ingest of one archive on the embedded default and on Dask.

    .venv/bin/python bench/scale.py                   # 5,000 pages, one run per configuration
    .venv/bin/python bench/scale.py --repeat 3        # median of 3 runs per configuration
    .venv/bin/python bench/scale.py --pages 500       # smoke run (about 3 minutes)
    .venv/bin/python bench/scale.py --with-cli        # also time `warcflow reingest` (cold)

Target (the issue): re-ingest of the same archive (at least 5,000 pages) with 1 and with 2
Dask workers on this 2-core machine, against the embedded default: 2 workers at least
1.7x one worker, and the distributed configuration on one worker within 15 % of the
embedded default (pages/s at least 0.85x).

What it does, all on 127.0.0.1:
1. Writes 20 news sites (bench/scale_sites.py: the synthetic repost set's multilingual
   documents as article pages with a real page's boilerplate, reposts across sites) and
   serves them with `flows.demo.DemoSites`, one port per site.
2. Starts the services of tests/services.py: PostgreSQL for the catalog, a second one
   for Prefect's database (so their CPU is told apart), `rclone serve s3`, a Prefect
   server, and two Dask clusters (2 workers, 1 worker; `dask worker --nthreads 1`).
3. Crawls the sites twice: with the embedded default (tests/crawling.py: the flow's
   plain functions, SQLite + folder) and with the crawl flow on the 2-worker cluster into
   PostgreSQL + S3 (`crawl_flow(..., dask=address)`). Both archives must hold the same pages.
4. Times full `reingest_flow` runs (the flow `warcflow reingest` runs) in this process:
   embedded (no Dask, SQLite + folder, tasks in this process), and with
   `reingest_flow(..., dask=address)` on 1 and on 2 workers (PostgreSQL + S3). Every run re-extracts every capture; pages/s = documents rebuilt / wall seconds.
   Runs are interleaved round by round (embedded, 1 worker, 2 workers) so that other
   load on the machine falls on all three alike; the median is reported. Before timing,
   each configuration re-ingests one site (warm-up: imports, extraction forkserver).
   The embedded runs use the same Prefect server as the others (the CLI would start an
   ephemeral API first: `--with-cli` times that too).

Measured on the side:
- per phase (plan, extract, profiles, clean, finish) from the task runs the Prefect API
  recorded: wall span, tasks, summed task time, and the CPU each process group used in
  that span (a /proc sampler: this process, Dask workers, schedulers, each PostgreSQL,
  rclone, the Prefect server, and everything else on the machine);
- Prefect's per-task cost: a flow of no-op tasks, in-process and on each Dask cluster;
- the start of the BoundedExtractor child that every extract batch pays.

Prints rich tables with PASS/MISS against the targets; writes bench/results/scale.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
TESTS = ROOT / "tests"
for _p in (str(ROOT), str(TESTS), str(BENCH)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

RESULTS = BENCH / "results" / "scale.json"
TARGET_SPEEDUP = 1.7  # 2 workers / 1 worker, pages/s
TARGET_VS_EMBEDDED = 0.85  # 1 worker / embedded, pages/s (within 15 %)
PHASES = (
    "reingest-plan",
    "reingest-batch",
    "reingest-profiles",
    "reingest-clean",
    "reingest-finish",
)
PHASE_LABEL = {
    "reingest-plan": "plan",
    "reingest-batch": "extract",
    "reingest-profiles": "profiles",
    "reingest-clean": "clean",
    "reingest-finish": "finish",
}
CONFIGS = ("embedded", "dask-1", "dask-2")


# -- CPU accounting from /proc ------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _read_stat(pid: str) -> tuple[int, int, float, float] | None:
    """(ppid, pgid, own CPU s, reaped children's CPU s) of a process, None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    rest = raw[raw.rfind(b")") + 2 :].split()
    own = (int(rest[11]) + int(rest[12])) / CLK_TCK
    children = (int(rest[13]) + int(rest[14])) / CLK_TCK
    return int(rest[1]), int(rest[2]), own, children


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


class CpuMeter:
    """CPU seconds per group of processes. A process belongs to the group of its nearest
    ancestor (or itself) registered with `add` (each service's child process: PostgreSQL
    backends, which leave the postmaster's process group, still descend from it); what
    descends from this process otherwise is 'bench process' (the embedded flow and its
    extraction children); 'other' is everything else on the machine (other users' work).
    Sums own and reaped-children CPU of live processes, so short-lived children are
    counted once their parent has reaped them."""

    def __init__(self) -> None:
        self.roots: dict[int, str] = {os.getpid(): "bench process"}

    def add(self, pid: int, label: str) -> None:
        self.roots[pid] = label

    def snapshot(self) -> dict[str, float]:
        table: dict[int, tuple[int, int, float, float]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                stat = _read_stat(entry)
                if stat is not None:
                    table[int(entry)] = stat
        out: dict[str, float] = dict.fromkeys(self.roots.values(), 0.0)
        for pid, (_ppid, _pgid, own, children) in table.items():
            label = self._label(pid, table)
            if label is not None:
                out[label] += own + children
        busy = machine_busy_seconds()
        out["other"] = busy - sum(out.values())
        out["machine"] = busy
        return out

    def _label(self, pid: int, table: dict[int, tuple[int, int, float, float]]) -> str | None:
        for _ in range(64):
            label = self.roots.get(pid)
            if label is not None:
                return label
            if pid not in table or pid <= 1:
                return None
            pid = table[pid][0]
        return None


class CpuSampler(threading.Thread):
    """Snapshots of `CpuMeter` every `interval` s, to attribute CPU to phases."""

    def __init__(self, meter: CpuMeter, interval: float) -> None:
        super().__init__(daemon=True)
        self.meter = meter
        self.interval = interval
        self.samples: list[tuple[float, dict[str, float]]] = []
        self._halt = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.interval)

    def sample(self) -> None:
        snap = self.meter.snapshot()
        with self._lock:
            self.samples.append((time.time(), snap))

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def between(self, start: float, end: float) -> dict[str, float]:
        """CPU seconds per group between two epoch times (linear between samples)."""
        with self._lock:
            samples = list(self.samples)
        if len(samples) < 2:
            return {}
        labels = set().union(*(s[1] for s in samples))
        return {
            label: max(0.0, _interp(samples, end, label) - _interp(samples, start, label))
            for label in sorted(labels)
        }


def _interp(samples: list[tuple[float, dict[str, float]]], t: float, label: str) -> float:
    if t <= samples[0][0]:
        return samples[0][1].get(label, 0.0)
    for (t0, a), (t1, b) in itertools.pairwise(samples):
        if t0 <= t <= t1:
            va, vb = a.get(label, 0.0), b.get(label, 0.0)
            return va + (vb - va) * ((t - t0) / (t1 - t0) if t1 > t0 else 1.0)
    return samples[-1][1].get(label, 0.0)


def diff(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: round(after.get(k, 0.0) - before.get(k, 0.0), 2) for k in after}


# -- machine ------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    versions = {}
    from importlib.metadata import version

    for pkg in ("warcflow", "prefect", "prefect-dask", "distributed", "psycopg", "s3fs"):
        try:
            versions[pkg] = version(pkg)
        except Exception:
            versions[pkg] = "?"
    return {
        "cores": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(mem_kb / 1024**2, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


# -- services -----------------------------------------------------------------------------


@dataclass
class Stack:
    """The services of the distributed configuration, started by this process."""

    catalog_pg: Any
    prefect_pg: Any
    s3: Any
    prefect: Any
    clusters: dict[int, Any] = field(default_factory=dict)  # workers -> DaskCluster

    def stop(self) -> None:
        for cluster in self.clusters.values():
            cluster.stop()
        for service in (self.prefect, self.s3, self.prefect_pg, self.catalog_pg):
            if service is not None:
                service.stop()


def start_stack(meter: CpuMeter, console: Any) -> Stack:
    from services import DaskCluster, PostgresServer, PrefectServer, S3Server

    stack = Stack(None, None, None, None)
    try:
        t0 = time.perf_counter()
        stack.catalog_pg = PostgresServer().start()
        stack.prefect_pg = PostgresServer().start()
        stack.s3 = S3Server().start()
        stack.prefect_pg.create_database("prefect")
        url = stack.prefect_pg.dsn("prefect", scheme="postgresql+asyncpg")
        stack.prefect = PrefectServer(database_url=url).start()
        # This process runs flows against that server and reaches the bucket.
        os.environ.update(stack.prefect.client_env())
        os.environ.update(stack.s3.env())
        env = {
            **stack.prefect.client_env(),
            **stack.s3.env(),
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(ROOT), str(BENCH), os.environ.get("PYTHONPATH", "")) if p
            ),
        }
        for workers in (2, 1):
            stack.clusters[workers] = DaskCluster(workers=workers, env=env).start()
        console.print(
            f"services up in {time.perf_counter() - t0:.1f} s: PostgreSQL (catalog) :"
            f"{stack.catalog_pg.port}, PostgreSQL (Prefect) :{stack.prefect_pg.port}, rclone"
            f" S3 :{stack.s3.port}, Prefect :{stack.prefect.port}, Dask 2 workers"
            f" {stack.clusters[2].address}, Dask 1 worker {stack.clusters[1].address}"
        )
    except BaseException:
        stack.stop()
        raise
    for label, service in (
        ("postgres (catalog)", stack.catalog_pg),
        ("postgres (prefect db)", stack.prefect_pg),
        ("rclone s3", stack.s3),
        ("prefect server", stack.prefect),
    ):
        for proc in service._children.values():
            meter.add(proc.pid, label)
    for workers, cluster in stack.clusters.items():
        for name, proc in cluster._children.items():
            kind = "scheduler" if name == "scheduler" else "workers"
            meter.add(proc.pid, f"dask-{workers} {kind}")
    return stack


# -- the archives -------------------------------------------------------------------------


def crawl_settings(pages: int) -> Any:
    from crawler.settings import CrawlLimits, CrawlSettings, FetchLimits, Politeness, RetryPolicy

    return CrawlSettings(
        fetch=FetchLimits(
            allowed_networks=FetchLimits.parse_networks(["127.0.0.0/8"]),
            total_timeout=30.0,
            read_timeout=15.0,
            connect_timeout=5.0,
        ),
        retry=RetryPolicy(base_delay=0.05, max_delay=0.2, max_retry_after=2.0),
        politeness=Politeness(delay=0.0),
        limits=CrawlLimits(max_pages=2 * pages + 500, max_depth=4),
    )


def sources_of(sites: Any) -> list[Any]:
    from crawler.sources import Source

    return [
        Source(name=str(s["name"]), seeds=tuple(s["seeds"]), sitemaps=tuple(s["sitemaps"]))
        for s in sites.sources()
    ]


def archive_summary(layout: Any) -> dict[str, Any]:
    catalog = layout.open_catalog(readonly=True)
    try:
        q = catalog.conn.execute
        urls = {
            r[0]
            for r in q(
                "SELECT url FROM captures WHERE record_type = 'response'"
                " AND status BETWEEN 200 AND 299 AND url NOT LIKE '%/robots.txt'"
            )
        }
        outcomes = dict(q("SELECT outcome, COUNT(*) FROM documents GROUP BY outcome").fetchall())
        clusters = q(
            "SELECT COUNT(*) FROM (SELECT cluster_id FROM documents WHERE cluster_id IS NOT NULL"
            " GROUP BY cluster_id HAVING COUNT(*) > 1) AS c"
        ).fetchone()[0]
        return {
            "captures": len(urls),
            "articles": sum(1 for u in urls if "/news/" in u),
            "documents": outcomes,
            "repost_clusters": int(clusters),
            "_urls": urls,
        }
    finally:
        catalog.close()


def build_archives(
    tmp: Path, stack: Stack, sites_root: Path, pages: int, console: Any
) -> tuple[Any, Any, dict[str, Any]]:
    from crawling import crawl

    from archive.layout import ArchiveLayout
    from crawler.settings import settings_to_dict
    from flows.crawl import crawl_flow
    from flows.demo import DemoSites

    settings = crawl_settings(pages)
    info: dict[str, Any] = {}
    local = ArchiveLayout(tmp / "embedded-archive").ensure()
    name = f"wf_{uuid.uuid4().hex[:10]}"
    stack.catalog_pg.create_database(name)
    bucket = stack.s3.create_bucket(f"bench-{uuid.uuid4().hex[:8]}")
    remote = ArchiveLayout(
        tmp / "distributed-archive",
        catalog_url=stack.catalog_pg.dsn(name),
        storage_url=f"{bucket}/warcflow",
        storage_endpoint=stack.s3.endpoint_url,
    )
    remote.ensure()
    remote.save_backends()
    with DemoSites(sites_root, preferred_port=None) as sites:
        sources = sources_of(sites)
        console.print(f"crawling {len(sources)} sites, embedded (SQLite + folder)…")
        t0 = time.perf_counter()
        result = crawl(local, sources, settings)
        result.catalog.close()
        info["embedded_crawl_s"] = round(time.perf_counter() - t0, 1)
        console.print(f"  {info['embedded_crawl_s']} s")
        console.print("crawling again with the crawl flow on Dask (2 workers, PostgreSQL + S3)…")
        t0 = time.perf_counter()
        run_flow(
            crawl_flow,
            stack.clusters[2].address,
            archive=str(remote.root),
            sources=[s.describe() for s in sources],
            settings=settings_to_dict(settings),
        )
        info["distributed_crawl_s"] = round(time.perf_counter() - t0, 1)
        console.print(f"  {info['distributed_crawl_s']} s")
        info["site_for_warmup"] = min(
            (urlhost(s.seeds[0]) for s in sources), key=lambda h: h
        )  # any one site
    a, b = archive_summary(local), archive_summary(remote)
    info["embedded"] = {k: v for k, v in a.items() if not k.startswith("_")}
    info["distributed"] = {k: v for k, v in b.items() if not k.startswith("_")}
    info["same_pages"] = a["_urls"] == b["_urls"]
    if not info["same_pages"]:
        info["only_embedded"] = sorted(a["_urls"] - b["_urls"])[:20]
        info["only_distributed"] = sorted(b["_urls"] - a["_urls"])[:20]
    return local, remote, info


def urlhost(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc


def run_flow(flow: Any, address: str | None, **params: Any) -> Any:
    """Run a flow of this project embedded (`address` None) or with its batches on the Dask
    scheduler at `address`: the flows take it as their `dask` parameter (the older API
    wrapped the flow with `flows.runner.on_dask` and took `parallel` / `shards`)."""
    import inspect

    names = inspect.signature(flow.fn).parameters
    if "dask" in names:
        return flow(**params, dask=address)
    from flows.runner import on_dask  # type: ignore[attr-defined]

    if "parallel" in names:
        params["parallel"] = address is not None
    if "shards" in names and address:
        params["shards"] = 4
    return on_dask(flow, address)(**params)


# -- timing the re-ingest -----------------------------------------------------------------


@dataclass
class Run:
    config: str
    workers: int
    round: int
    seconds: float
    documents: int
    report_seconds: float  # the finish step's own figure
    cpu: dict[str, float]
    phases: dict[str, dict[str, Any]]
    tasks: int
    changed: int

    @property
    def pages_per_s(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0


def task_runs(flow_run_id: Any, expected_min: int = 1, timeout: float = 30.0) -> list[Any]:
    """The flow run's task runs, once the API has recorded them all as finished (task run
    states reach the server as events, a moment after the flow returns)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + timeout
    runs: list[Any] = []
    last = -1
    with get_client(sync_client=True) as client:
        while True:
            runs = []
            offset = 0
            while True:
                page = client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                    limit=200,
                    offset=offset,
                )
                runs += page
                if len(page) < 200:
                    break
                offset += 200
            done = [r for r in runs if r.end_time is not None]
            if len(runs) >= expected_min and len(done) == len(runs) and len(runs) == last:
                return runs
            last = len(runs)
            if time.monotonic() > deadline:
                return runs
            time.sleep(0.5)


def phase_split(runs: list[Any], sampler: CpuSampler) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for phase in PHASES:
        mine = [r for r in runs if r.name.rsplit("-", 1)[0] == phase and r.start_time]
        if not mine:
            continue
        start = min(r.start_time for r in mine).timestamp()
        end = max((r.end_time or r.start_time) for r in mine).timestamp()
        busy = sum(r.total_run_time.total_seconds() for r in mine)
        out[PHASE_LABEL[phase]] = {
            "tasks": len(mine),
            "start": start,
            "end": end,
            "span_s": round(end - start, 2),
            "task_s": round(busy, 2),
            "cpu": {k: round(v, 2) for k, v in sampler.between(start, end).items()},
        }
    return out


def reingest_once(
    config: str,
    archive: Any,
    address: str | None,
    sampler: CpuSampler,
    meter: CpuMeter,
    round_no: int,
    site: str | None = None,
) -> Run:
    from flows.reingest import reingest_flow

    sampler.sample()
    before = meter.snapshot()
    t0 = time.perf_counter()
    state = run_flow(
        reingest_flow, address, archive=str(archive.root), site=site, return_state=True
    )
    seconds = time.perf_counter() - t0
    after = meter.snapshot()
    sampler.sample()
    result = state.result()
    runs = task_runs(state.state_details.flow_run_id)
    phases = phase_split(runs, sampler)
    changed = sum(
        len(result.get(k, []))  # type: ignore[arg-type]
        for k in ("text_changed", "lang_changed", "cluster_changed", "new_documents")
    )
    workers = 0 if address is None else int(config.split("-")[1])
    return Run(
        config=config,
        workers=workers,
        round=round_no,
        seconds=round(seconds, 2),
        documents=int(result["documents"]),  # type: ignore[arg-type]
        report_seconds=round(float(result["seconds"]), 2),  # type: ignore[arg-type]
        cpu=diff(after, before),
        phases=phases,
        tasks=len(runs),
        changed=changed,
    )


# -- side measurements --------------------------------------------------------------------


def _noop(i: int) -> int:
    return i


def prefect_task_cost(address: str | None, n: int) -> dict[str, float]:
    """Seconds per task of a no-op Prefect task, run the way the flows run their batches
    (`flows.runner`): called in the flow's process (embedded) or all submitted at once to
    the Dask cluster at `address`."""
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE

    noop = task(name="bench-noop", cache_policy=NO_CACHE)(_noop)

    @flow(name="bench-noop")
    def noop_flow(n: int, dask: str | None = None) -> float:
        try:
            from flows.runner import batch_runner
        except ImportError:  # the older flows.runner: the task runner is the flow's
            batch_runner = None
        calls = [(i,) for i in range(n)]
        if batch_runner is not None:
            with batch_runner(dask) as runner:
                t0 = time.perf_counter()
                runner.run_all(noop, calls)
                return time.perf_counter() - t0
        t0 = time.perf_counter()
        if dask:
            [f.result() for f in [noop.submit(*c) for c in calls]]
        else:
            [noop(*c) for c in calls]
        return time.perf_counter() - t0

    run_flow(noop_flow, address, n=2)  # warm-up
    elapsed = run_flow(noop_flow, address, n=n)
    return {"tasks": n, "seconds": round(elapsed, 3), "per_task_ms": round(1000 * elapsed / n, 1)}


def extractor_start_cost(layout: Any, samples: int = 12) -> dict[str, float]:
    """What a fresh BoundedExtractor (one per extract batch) costs before its first page:
    first-page time of a new extractor minus the steady per-page time."""
    from extractors.worker import BoundedExtractor
    from flows.process import load_capture

    storage = layout.storage()
    captures = [load_capture(layout, p, storage) for p in _pending_captures(layout, samples)]
    firsts, steady = [], []
    for k in range(3):
        with BoundedExtractor() as ex:
            t0 = time.perf_counter()
            ex.extract(captures[k])
            firsts.append(time.perf_counter() - t0)
            for cap in captures[3:]:
                t0 = time.perf_counter()
                ex.extract(cap)
                steady.append(time.perf_counter() - t0)
    first, per_page = statistics.median(firsts), statistics.median(steady)
    return {
        "first_page_ms": round(1000 * first, 1),
        "steady_page_ms": round(1000 * per_page, 1),
        "start_ms": round(1000 * (first - per_page), 1),
    }


def _pending_captures(layout: Any, limit: int) -> list[Any]:
    from archive.documents import PendingCapture

    catalog = layout.open_catalog(readonly=True)
    try:
        rows = catalog.conn.execute(
            "SELECT id, url, warc_file, warc_offset, record_id, status, fetched_at, warc_length"
            " FROM captures WHERE record_type = 'response' AND url LIKE '%/news/%' ORDER BY id LIMIT ?",
            (limit,),
        ).fetchall()
    finally:
        catalog.close()
    return [
        PendingCapture(r[0], r[1], r[2], r[3], r[4], r[5], datetime.fromisoformat(r[6]), r[7])
        for r in rows
    ]


def capture_read_cost(local: Any, remote: Any, meter: CpuMeter, n: int = 300) -> dict[str, Any]:
    """Reading a batch's raw responses, per capture: from the local folder and from S3 the
    way `flows.process.load_capture` does it (one `storage.open` per record: a HEAD and a
    ranged GET), and from S3 with one open per WARC file and the records read in offset
    order (the 64 KiB read-ahead then serves several records per GET), and the way a batch
    reads them (`flows.process.load_in_file_order`: one ranged GET per span of nearby
    records). Wall and CPU of this process (s3fs's I/O thread included) and of rclone."""
    from archive.warc import read_raw_payload_at
    from flows.process import load_capture, load_in_file_order

    out: dict[str, Any] = {}

    def measure(name: str, fn: Callable[[], int]) -> None:
        before, cpu0, t0 = meter.snapshot(), time.process_time(), time.perf_counter()
        count = fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        rclone = diff(meter.snapshot(), before).get("rclone s3", 0.0)
        out[name] = {
            "captures": count,
            "wall_ms": round(1000 * wall / count, 2),
            "cpu_ms": round(1000 * cpu / count, 2),
            "rclone_cpu_ms": round(1000 * rclone / count, 2),
        }

    def per_record(layout: Any) -> Callable[[], int]:
        def run() -> int:
            pending = _pending_captures(layout, n)
            storage = layout.storage()
            for p in pending:
                load_capture(layout, p, storage)
            return len(pending)

        return run

    def per_file() -> int:
        pending = _pending_captures(remote, n)
        storage = remote.storage()
        by_file: dict[str, list[Any]] = {}
        for p in pending:
            by_file.setdefault(p.warc_file, []).append(p)
        for name, items in by_file.items():
            with storage.open("warc", name) as f:
                for p in sorted(items, key=lambda p: p.warc_offset):
                    read_raw_payload_at(f, p.warc_offset)
        return len(pending)

    measure("local folder", per_record(local))
    measure("S3, one open per record", per_record(remote))

    def per_span() -> int:
        pending = _pending_captures(remote, n)
        return sum(1 for _ in load_in_file_order(remote.storage(), pending))

    measure("S3, one open per WARC file", per_file)
    measure("S3, one GET per span (batches)", per_span)
    return out


def cli_reingest(archive: Path) -> dict[str, Any]:
    """`warcflow reingest --archive DIR` in a fresh process (ephemeral Prefect API)."""
    exe = Path(sys.executable).with_name("warcflow")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PREFECT_API_URL", "PREFECT_HOME", "WARCFLOW_"))
        and not k.lower().endswith("_proxy")
    }
    env["PREFECT_HOME"] = str(archive.parent / "cli-prefect-home")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(exe), "reingest", "--archive", str(archive)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    return {
        "seconds": round(time.perf_counter() - t0, 2),
        "returncode": proc.returncode,
        "tail": proc.stdout[-400:] + proc.stderr[-400:],
    }


# -- results ------------------------------------------------------------------------------


def median_run(runs: list[Run]) -> Run:
    ordered = sorted(runs, key=lambda r: r.seconds)
    return ordered[(len(ordered) - 1) // 2]


def summarise(runs: list[Run]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for config in CONFIGS:
        mine = [r for r in runs if r.config == config]
        if not mine:
            continue
        med = median_run(mine)
        out[config] = {
            "workers": med.workers,
            "documents": med.documents,
            "seconds": round(statistics.median(r.seconds for r in mine), 2),
            "runs_seconds": [r.seconds for r in mine],
            "tasks": med.tasks,
            "median_run": med,
        }
        out[config]["pages_per_s"] = round(out[config]["documents"] / out[config]["seconds"], 1)
    base1 = out.get("dask-1", {}).get("pages_per_s")
    base0 = out.get("embedded", {}).get("pages_per_s")
    for row in out.values():
        row["vs_1_worker"] = round(row["pages_per_s"] / base1, 3) if base1 else None
        row["vs_embedded"] = round(row["pages_per_s"] / base0, 3) if base0 else None
    return out


def overhead_share(row: dict[str, Any], per_task_ms: float | None) -> float | None:
    """Share of the configuration's capacity (wall x workers) spent on Prefect's per-task
    cost, as measured with no-op tasks."""
    if per_task_ms is None:
        return None
    slots = max(1, row["workers"])
    return round(row["tasks"] * per_task_ms / 1000 / (row["seconds"] * slots), 3)


def print_results(
    results: dict[str, Any], summary: dict[str, dict[str, Any]], console: Any
) -> None:
    from rich.table import Table

    costs = results["prefect_task_cost"]
    table = Table(
        title=f"Re-ingest of {results['archives']['embedded']['captures']:,} captures"
        f" ({results['sites']['pages']:,} article pages, {results['sites']['sites']} sites),"
        f" median of {results['args']['repeat']}",
    )
    for col in ("configuration", "workers", "pages", "seconds", "pages/s"):
        table.add_column(col, justify="left" if col == "configuration" else "right")
    for col in ("vs 1 worker", "vs embedded", "tasks", "Prefect/task ms", "task overhead"):
        table.add_column(col, justify="right")
    names = {
        "embedded": "embedded default (SQLite + folder)",
        "dask-1": "Dask, 1 worker (PostgreSQL + S3)",
        "dask-2": "Dask, 2 workers (PostgreSQL + S3)",
    }
    for config, row in summary.items():
        per_task = costs.get(config, {}).get("per_task_ms")
        share = overhead_share(row, per_task)
        table.add_row(
            names[config],
            str(row["workers"] or "-"),
            f"{row['documents']:,}",
            f"{row['seconds']:.1f}",
            f"{row['pages_per_s']:.1f}",
            _x(row["vs_1_worker"]),
            _x(row["vs_embedded"]),
            str(row["tasks"]),
            f"{per_task:.0f}" if per_task is not None else "-",
            f"{100 * share:.1f} %" if share is not None else "-",
        )
    cli = results.get("cli")
    if cli:
        docs = summary["embedded"]["documents"]
        table.add_row(
            "embedded, `warcflow reingest` (cold start)",
            "-",
            f"{docs:,}",
            f"{cli['seconds']:.1f}",
            f"{docs / cli['seconds']:.1f}",
            "-",
            _x(round(docs / cli["seconds"] / summary["embedded"]["pages_per_s"], 3)),
            "-",
            "-",
            "-",
        )
    console.print(table)
    for target in results["targets"]:
        mark = "[bold green]PASS[/]" if target["pass"] else "[bold red]MISS[/]"
        console.print(
            f"  {mark} {target['name']}: {target['value']:.3f} (target {target['target']})"
        )

    phases = Table(
        title="Where the time goes (the median run of each configuration; of an even number,"
        " the faster middle one)"
    )
    phases.add_column("configuration")
    phases.add_column("phase")
    for col in ("tasks", "wall s", "share", "task s", "workers CPU", "bench CPU", "PG catalog"):
        phases.add_column(col, justify="right")
    for col in ("rclone", "Prefect srv+db", "other + idle", "cores busy"):
        phases.add_column(col, justify="right")
    for config, row in summary.items():
        run: Run = row["median_run"]
        accounted = 0.0
        for label in ("plan", "extract", "profiles", "clean", "finish"):
            ph = run.phases.get(label)
            if not ph:
                continue
            accounted += ph["span_s"]
            cells = _cpu_cells(run, ph["cpu"], ph["span_s"], ph["task_s"])
            phases.add_row(config, label, str(ph["tasks"]), *cells)
        gap = run.seconds - accounted
        share = f"{100 * gap / run.seconds:.0f} %"
        phases.add_row(config, "between/around tasks", "", f"{gap:.1f}", share)
        task_s = sum(p["task_s"] for p in run.phases.values())
        cells = _cpu_cells(run, run.cpu, run.seconds, task_s)
        phases.add_row(config, "[b]whole run[/b]", str(run.tasks), *cells)
    console.print(phases)
    bound = results.get("amdahl")
    if bound:
        console.print(
            f"1-worker run: {bound['sequential_s']} s of {bound['wall_s']} s"
            f" ({100 * bound['sequential_share']:.0f} %) outside the parallel phases (plan,"
            " profiles, finish, flow): with the extract and clean phases perfectly split over"
            f" 2 workers, the speed-up could reach {bound['bound_2_workers']}x at most"
        )
    side = results["extractor_start"]
    console.print(
        f"BoundedExtractor child per extract batch: first page {side['first_page_ms']} ms, then"
        f" {side['steady_page_ms']} ms/page: ~{side['start_ms']} ms start per batch"
    )
    console.print(
        "reading raw responses, per capture: "
        + "; ".join(
            f"{k}: {v['wall_ms']} ms wall, {v['cpu_ms']} ms CPU (+ rclone {v['rclone_cpu_ms']} ms)"
            for k, v in results["capture_read"].items()
        )
    )
    console.print(
        "Prefect no-op task cost: "
        + ", ".join(f"{k} {v['per_task_ms']} ms" for k, v in costs.items())
    )
    arch = results["archives"]
    console.print(
        f"archives: embedded crawl {arch['embedded_crawl_s']} s, distributed crawl"
        f" {arch['distributed_crawl_s']} s; same pages: {arch['same_pages']};"
        f" documents {arch['embedded']['documents']} vs {arch['distributed']['documents']};"
        f" repost clusters {arch['embedded']['repost_clusters']} vs"
        f" {arch['distributed']['repost_clusters']}"
    )


def _cpu_cells(run: Run, cpu: dict[str, float], span: float, task_s: float) -> list[str]:
    def grp(prefix: str) -> float:
        return sum(v for k, v in cpu.items() if k.startswith(prefix))

    workers = grp(f"{run.config} workers") if run.workers else 0.0
    total = run.seconds
    share = f"{100 * span / total:.0f} %" if total else "-"
    busy = cpu.get("machine", 0.0)
    return [
        f"{span:.1f}",
        share,
        f"{task_s:.1f}",
        f"{workers:.1f}" if run.workers else "-",
        f"{cpu.get('bench process', 0.0):.1f}",
        f"{cpu.get('postgres (catalog)', 0.0):.1f}",
        f"{cpu.get('rclone s3', 0.0):.1f}",
        f"{grp('prefect'):.1f}",
        f"{cpu.get('other', 0.0) + grp('dask') - workers:.1f}",
        f"{busy / span:.2f}" if span else "-",
    ]


def _x(value: float | None) -> str:
    return f"{value:.2f}x" if value is not None else "-"


def jsonable(summary: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for config, row in summary.items():
        run: Run = row["median_run"]
        data = {k: v for k, v in row.items() if k != "median_run"}
        data["median_run"] = {
            "seconds": run.seconds,
            "cpu": run.cpu,
            "phases": run.phases,
            "report_seconds": run.report_seconds,
            "changed": run.changed,
        }
        out[config] = data
    return out


# -- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pages", type=int, default=5000, help="article pages (default 5000)")
    p.add_argument("--sites", type=int, default=20, help="sites, one port each (default 20)")
    p.add_argument("--repeat", type=int, default=1, help="runs per configuration (median)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-warmup", action="store_true", help="time cold workers too")
    p.add_argument("--with-cli", action="store_true", help="also time `warcflow reingest`")
    p.add_argument("--noop-tasks", type=int, default=30, help="no-op tasks per cost probe")
    p.add_argument("--sample-interval", type=float, default=0.5, help="CPU sampler period, s")
    p.add_argument("--only", choices=CONFIGS, action="append", help="only these configurations")
    p.add_argument("--tmpdir", type=Path, default=None, help="where sites and archives go")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    p.add_argument("--out", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    if not 1 <= args.sites <= 20:
        p.error("--sites must be 1..20")
    return args


def prepare_environment(tmp: Path) -> None:
    """Before Prefect is imported: quiet, offline, its home inside `tmp`."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name.startswith("WARCFLOW_"):
            del os.environ[name]
    os.environ.update(
        {
            "PREFECT_HOME": str(tmp / "prefect-home"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        }
    )


def main(argv: list[str]) -> None:
    from rich.console import Console

    args = parse_args(argv)
    console = Console()
    if not console.is_terminal:  # piped to a file: wide enough for the tables
        console = Console(width=170)
    tmp = Path(tempfile.mkdtemp(prefix="warcflow-scale-", dir=args.tmpdir))
    prepare_environment(tmp)
    configs = tuple(c for c in CONFIGS if not args.only or c in args.only)
    results: dict[str, Any] = {
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    }
    results["machine"] = machine_info()
    m = results["machine"]
    console.print(
        f"machine: {m['cores']} cores ({m['cpu_model']}), {m['memory_gb']} GB, {m['platform']},"
        f" Python {m['python']}; load average {m['load_average_at_start']}"
    )
    started = time.perf_counter()
    meter = CpuMeter()
    stack: Stack | None = None
    sampler: CpuSampler | None = None
    try:
        from scale_sites import write_sites

        t0 = time.perf_counter()
        info = write_sites(tmp / "sites", args.pages, args.sites, args.seed)
        results["sites"] = info.to_dict()
        console.print(
            f"sites: {args.pages:,} article pages on {args.sites} sites ({info.html_mb} MB HTML,"
            f" {info.reposts:,} reposts of {info.clusters_with_reposts:,} articles across sites)"
            f" written in {time.perf_counter() - t0:.1f} s"
        )
        stack = start_stack(meter, console)
        local, remote, archives = build_archives(tmp, stack, tmp / "sites", args.pages, console)
        results["archives"] = archives
        if not archives["same_pages"]:
            console.print("[bold red]warning:[/] the two archives hold different pages")
        sampler = CpuSampler(meter, args.sample_interval)
        sampler.start()
        addresses: dict[str, str | None] = {
            "embedded": None,
            "dask-1": stack.clusters[1].address,
            "dask-2": stack.clusters[2].address,
        }
        archive_of = {"embedded": local, "dask-1": remote, "dask-2": remote}
        console.print("measuring Prefect's per-task cost and the extractor start…")
        results["prefect_task_cost"] = {
            c: prefect_task_cost(addresses[c], args.noop_tasks) for c in configs
        }
        results["extractor_start"] = extractor_start_cost(local)
        results["capture_read"] = capture_read_cost(local, remote, meter)
        if not args.no_warmup:
            for config in configs:
                site = archives["site_for_warmup"]
                console.print(f"warm-up: {config}, re-ingest of one site ({site})…")
                reingest_once(
                    config, archive_of[config], addresses[config], sampler, meter, 0, site
                )
        runs: list[Run] = []
        for round_no in range(1, args.repeat + 1):
            for config in configs:
                console.print(f"round {round_no}/{args.repeat}: re-ingest, {config}…", end=" ")
                run = reingest_once(
                    config, archive_of[config], addresses[config], sampler, meter, round_no
                )
                runs.append(run)
                console.print(
                    f"{run.documents:,} documents in {run.seconds:.1f} s ="
                    f" {run.pages_per_s:.1f} pages/s ({run.tasks} tasks, {run.changed} changed)"
                )
        if args.with_cli:
            console.print("`warcflow reingest` on the embedded archive, in a fresh process…")
            results["cli"] = cli_reingest(local.root)
        summary = summarise(runs)
        results["targets"] = targets(summary)
        results["amdahl"] = amdahl(summary)
        results["runs"] = [
            {k: v for k, v in r.__dict__.items() if k != "phases"} | {"phases": r.phases}
            for r in runs
        ]
        results["summary"] = jsonable(summary)
        results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        results["bench_seconds"] = round(time.perf_counter() - started, 1)
        print_results(results, summary, console)
    finally:
        if sampler is not None:
            sampler.stop()
        if stack is not None:
            stack.stop()
        if args.keep:
            console.print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n")
    console.print(f"results: {args.out} ({results['bench_seconds']} s)")


def amdahl(summary: dict[str, dict[str, Any]]) -> dict[str, float] | None:
    """The speed-up 2 workers could reach given the 1-worker run's sequential part."""
    if "dask-1" not in summary:
        return None
    run: Run = summary["dask-1"]["median_run"]
    parallel = sum(run.phases[p]["span_s"] for p in ("extract", "clean") if p in run.phases)
    sequential = run.seconds - parallel
    return {
        "wall_s": run.seconds,
        "sequential_s": round(sequential, 1),
        "sequential_share": round(sequential / run.seconds, 3),
        "bound_2_workers": round(run.seconds / (sequential + parallel / 2), 2),
    }


def targets(summary: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    if "dask-1" in summary and "dask-2" in summary:
        value = summary["dask-2"]["vs_1_worker"]
        out.append(
            {
                "name": "2 Dask workers vs 1 worker, pages/s",
                "value": value,
                "target": f">= {TARGET_SPEEDUP}",
                "pass": value >= TARGET_SPEEDUP,
            }
        )
    if "dask-1" in summary and "embedded" in summary:
        value = summary["dask-1"]["vs_embedded"]
        out.append(
            {
                "name": "1 Dask worker (PostgreSQL + S3) vs embedded default, pages/s",
                "value": value,
                "target": f">= {TARGET_VS_EMBEDDED} (within 15 %)",
                "pass": value >= TARGET_VS_EMBEDDED,
            }
        )
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
