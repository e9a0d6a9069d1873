"""Scaled out: the crawl and re-ingest flows on a Dask cluster, the catalog in PostgreSQL,
the files in S3-compatible storage (all real servers on 127.0.0.1, tests/services.py),
give the same archive as the embedded default."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import fast_settings
from crawling import crawl, warcio_check
from services import DaskCluster, PostgresServer, PrefectServer, S3Server

from archive.catalog import Catalog
from archive.layout import ArchiveLayout
from archive.search import SearchIndex
from crawler.settings import CrawlLimits, CrawlSettings, Politeness, settings_to_dict
from crawler.sources import Source
from flows.crawl import crawl_flow
from flows.demo import DemoSites
from flows.reingest import reingest_flow

QUERIES = ["融资", "融資", "数据中心", "yatırım", "yatirim", "pendanaan", "investment"]


Cluster = frozenset[str]  # the urls of a cluster's documents


@dataclass(frozen=True)
class Snapshot:
    """What an archive holds, independent of ids, ports, backends and fetch order (a
    cluster's canonical is its earliest capture, which parallel fetching may change:
    clusters are compared as sets of documents)."""

    documents: dict[str, tuple[object, ...]]  # url -> (outcome, title, lang, text)
    clusters: frozenset[Cluster]
    translations: frozenset[tuple[Cluster, Cluster]]
    search: dict[str, tuple[frozenset[Cluster], tuple[int, ...]]]  # query -> hits, copies
    captured: frozenset[tuple[str, int]]

    @classmethod
    def of(cls, catalog: Catalog) -> Snapshot:
        q = catalog.conn.execute
        rows = q(
            "SELECT id, url, outcome, title, lang, text, cluster_id, translation_of"
            " FROM documents ORDER BY id"
        ).fetchall()
        groups: dict[int, set[str]] = {}
        for r in rows:
            if r[6] is not None:
                groups.setdefault(r[6], set()).add(r[1])
        cluster_of = {r[0]: frozenset(groups.get(r[6], {r[1]})) for r in rows}
        index = SearchIndex(catalog)
        search = {}
        for query in QUERIES:
            hits = index.search(query, limit=50)
            search[query] = (
                frozenset(cluster_of[h.id] for h in hits),
                tuple(sorted(h.copies for h in hits)),
            )
        return cls(
            documents={r[1]: (r[2], r[3], r[4], r[5]) for r in rows},
            clusters=frozenset(frozenset(g) for g in groups.values() if len(g) > 1),
            translations=frozenset(
                (cluster_of[r[0]], cluster_of[r[7]]) for r in rows if r[7] is not None
            ),
            search=search,
            captured=frozenset(
                (r[0], r[1])
                for r in q("SELECT url, status FROM captures WHERE record_type = 'response'")
            ),
        )


@pytest.fixture(scope="module")
def sites() -> Iterator[DemoSites]:
    with DemoSites(preferred_port=None) as demo:
        yield demo


def demo_sources(sites: DemoSites) -> list[Source]:
    return [
        Source(name=str(s["name"]), seeds=tuple(s["seeds"]), sitemaps=tuple(s["sitemaps"]))  # type: ignore[arg-type]
        for s in sites.sources()
    ]


SETTINGS = fast_settings(limits=CrawlLimits(max_pages=500, max_depth=4))


@pytest.fixture(scope="module")
def embedded(sites: DemoSites, tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    """The embedded default: one process, SQLite, the archive folder."""
    layout = ArchiveLayout(tmp_path_factory.mktemp("embedded") / "archive").ensure()
    result = crawl(layout, demo_sources(sites), SETTINGS)
    try:
        return Snapshot.of(result.catalog)
    finally:
        result.catalog.close()


@dataclass
class Services:
    postgres: PostgresServer
    s3: S3Server
    dask: DaskCluster
    prefect: PrefectServer

    def layout(self, root: Path) -> ArchiveLayout:
        """A fresh archive: its own database and bucket prefix."""
        name = f"wf_{uuid.uuid4().hex[:10]}"
        self.postgres.create_database(name)
        bucket = self.s3.create_bucket(f"bucket-{uuid.uuid4().hex[:8]}")
        layout = ArchiveLayout(
            root,
            catalog_url=self.postgres.dsn(name),
            storage_url=f"s3://{bucket}/warcflow",
            storage_endpoint=self.s3.endpoint_url,
        )
        layout.ensure()
        layout.save_backends()
        return layout

    def crawl(self, layout: ArchiveLayout, sources: list[Source], settings: CrawlSettings) -> dict:  # type: ignore[type-arg]
        with self.prefect.use():
            return crawl_flow(
                archive=str(layout.root),
                sources=[s.describe() for s in sources],
                settings=settings_to_dict(settings),
                dask=self.dask.address,
            )

    def reingest(self, layout: ArchiveLayout) -> dict:  # type: ignore[type-arg]
        with self.prefect.use():
            return reingest_flow(archive=str(layout.root), dask=self.dask.address)


@pytest.fixture
def cluster(
    postgres_server: PostgresServer,
    s3_server: S3Server,
    dask_cluster: DaskCluster,
    prefect_server: PrefectServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Services:
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    dask_cluster.ensure_workers()
    return Services(postgres_server, s3_server, dask_cluster, prefect_server)


def bucket_files(cluster: Services, layout: ArchiveLayout, kind: str, into: Path) -> list[Path]:
    storage = layout.storage()
    into.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in storage.names(kind):
        path = into / name
        with storage.open(kind, name) as src:
            path.write_bytes(src.read())
        paths.append(path)
    return paths


def test_distributed_crawl_gives_the_same_archive_as_the_embedded_default(
    cluster: Services, sites: DemoSites, embedded: Snapshot, tmp_path: Path
) -> None:
    layout = cluster.layout(tmp_path / "archive")
    report = cluster.crawl(layout, demo_sources(sites), SETTINGS)
    catalog = layout.open_catalog(readonly=True)
    try:
        distributed = Snapshot.of(catalog)
        warc_names = {w.name for w in catalog.warc_files("warc")}
        compressed = catalog.conn.execute(
            "SELECT DISTINCT pg_column_compression(extracted) FROM documents"
        ).fetchall()
        states = catalog.count_states(int(report["run_id"]))
    finally:
        catalog.close()
    assert distributed.captured == embedded.captured
    assert distributed.documents == embedded.documents
    assert distributed.clusters == embedded.clusters and embedded.clusters
    assert distributed.translations == embedded.translations
    assert distributed.search == embedded.search
    assert embedded.search["融资"][0] and embedded.search["yatirim"][0]
    assert set(states) <= {"done", "failed", "skipped"}  # nothing left in flight
    assert ("lz4",) in compressed and ("pglz",) not in compressed  # long texts: lz4
    # every WARC file the catalog knows is in the bucket, valid, indexed; nothing staged
    warcs = bucket_files(cluster, layout, "warc", tmp_path / "bucket-warc")
    assert {p.name for p in warcs} == warc_names
    assert warcio_check(warcs).returncode == 0
    assert len(layout.storage().names("cdx")) == len(warc_names)
    assert not list((layout.root / "warc").glob("*.warc.gz"))


def test_distributed_reingest_changes_nothing_and_matches(
    cluster: Services, sites: DemoSites, embedded: Snapshot, tmp_path: Path
) -> None:
    layout = cluster.layout(tmp_path / "archive")
    cluster.crawl(layout, demo_sources(sites), SETTINGS)
    report = cluster.reingest(layout)
    for key in ("text_changed", "lang_changed", "cluster_changed", "new_documents"):
        assert report[key] == [], key
    catalog = layout.open_catalog(readonly=True)
    try:
        assert Snapshot.of(catalog) == embedded
    finally:
        catalog.close()


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(
    cluster: Services, sites: DemoSites, tmp_path: Path
) -> None:
    layout = cluster.layout(tmp_path / "archive")
    # slow enough (0.1 s between requests to a host) that a batch is still running
    settings = fast_settings(
        limits=CrawlLimits(max_pages=500, max_depth=4), politeness=Politeness(delay=0.1)
    )
    killed: list[int] = []

    def kill_a_crawling_worker() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            for address, keys in cluster.dask.client().processing().items():
                crawling = any("crawl" in str(k) for k in keys)
                if crawling and _has_in_flight(layout):
                    time.sleep(0.3)  # mid-batch: some pages fetched, not yet published
                    killed.append(cluster.dask.kill_worker(address))
                    return
            time.sleep(0.1)

    killer = threading.Thread(target=kill_a_crawling_worker, daemon=True)
    killer.start()
    report = cluster.crawl(layout, demo_sources(sites), settings)
    killer.join(timeout=5)
    assert killed, "no crawl batch was caught running"
    catalog = layout.open_catalog(readonly=True)
    try:
        run_id = int(report["run_id"])
        assert set(catalog.count_states(run_id)) <= {"done", "failed", "skipped"}
        rows = catalog.conn.execute(
            "SELECT url, COUNT(*) FROM captures WHERE run_id = ? AND record_type = 'response'"
            " GROUP BY url",
            (run_id,),
        ).fetchall()
        assert rows and all(n == 1 for _, n in rows)  # nothing stored twice
        archived = {
            r[0]
            for r in catalog.conn.execute(
                "SELECT url FROM frontier WHERE run_id = ? AND outcome = 'archived'", (run_id,)
            )
        }
        # nothing lost: every archived URL has its capture (robots.txt has no frontier row)
        assert archived == {url for url, _ in rows if not url.endswith("/robots.txt")}
        refetched = catalog.conn.execute(
            "SELECT COUNT(*) FROM frontier WHERE run_id = ? AND attempts > 1", (run_id,)
        ).fetchone()[0]
        assert refetched > 0  # the killed batch's URLs in flight were fetched again
        captures = catalog.captures(run_id)
    finally:
        catalog.close()
    warcs = bucket_files(cluster, layout, "warc", tmp_path / "bucket-warc")
    assert warcio_check(warcs).returncode == 0
    known = {p.name for p in warcs}
    assert {c.warc_file for c in captures} <= known


def _has_in_flight(layout: ArchiveLayout) -> bool:
    catalog = layout.open_catalog(readonly=True)
    try:
        row = catalog.conn.execute(
            "SELECT COUNT(*) FROM frontier WHERE state = 'in_flight'"
        ).fetchone()
        return int(row[0]) > 0
    finally:
        catalog.close()


WIDE = {"COLUMNS": "250"}


def test_cli_on_the_cluster_and_later_commands_find_the_backends(
    cluster: Services, sites: DemoSites, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from flows.cli import app

    root = tmp_path / "archive"
    database = f"wf_{uuid.uuid4().hex[:10]}"
    dsn = cluster.postgres.create_database(database)
    bucket = cluster.s3.create_bucket(f"cli-{uuid.uuid4().hex[:8]}")
    seeds = [str(s["seeds"][0]) for s in sites.sources()]  # type: ignore[index]
    runner = CliRunner()
    backends = ["--catalog", dsn, "--storage", f"{bucket}/wf", "--s3-endpoint"]
    backends.append(cluster.s3.endpoint_url)
    with cluster.prefect.use():
        crawled = runner.invoke(
            app,
            [
                "crawl",
                *seeds,
                "--archive",
                str(root),
                "--allow-network",
                "127.0.0.0/8",
                "--delay",
                "0",
                "--max-pages",
                "300",
                "--dask",
                cluster.dask.address,
                *backends,
            ],
            env=WIDE,
        )
    assert crawled.exit_code == 0, crawled.output
    assert "archived" in crawled.output
    recorded = (root / "backends.json").read_text()
    assert dsn in recorded and cluster.s3.secret not in recorded  # no secrets in files
    assert not (root / "catalog.sqlite").exists()

    # search, show and export need no options: the folder says where the archive lives
    found = runner.invoke(app, ["search", "融資", "--archive", str(root), "--json"], env=WIDE)
    assert found.exit_code == 0, found.output
    hits = [json.loads(line) for line in found.output.splitlines() if line.strip()]
    assert hits and any("融資" in h["snippet"] or "融资" in h["snippet"] for h in hits)
    shown = runner.invoke(app, ["show", str(hits[0]["id"]), "--archive", str(root)], env=WIDE)
    assert shown.exit_code == 0 and hits[0]["url"] in shown.output
    out = tmp_path / "docs.jsonl"
    exported = runner.invoke(app, ["export", "--archive", str(root), "-o", str(out)], env=WIDE)
    assert exported.exit_code == 0, exported.output
    assert len(out.read_text().splitlines()) >= len(hits)
    wacz = tmp_path / "archive.wacz"
    packed = runner.invoke(
        app, ["export", "--archive", str(root), "--format", "wacz", "-o", str(wacz)], env=WIDE
    )
    assert packed.exit_code == 0, packed.output
    assert wacz.stat().st_size > 10_000  # the WARC files came from the bucket

    # the search page and a capture's archived HTML: PostgreSQL and ranged reads from S3
    from fastapi.testclient import TestClient

    from flows.web import create_app

    with TestClient(create_app(root), base_url="http://127.0.0.1") as web:
        page = web.get("/", params={"q": "融資"})
        assert page.status_code == 200 and hits[0]["url"] in page.text
        document = web.get(f"/doc/{hits[0]['id']}")
        assert document.status_code == 200
        assert f'href="/doc/{hits[0]["id"]}/raw"' in document.text
        raw = web.get(f"/doc/{hits[0]['id']}/raw")
        assert raw.status_code == 200 and "<html" in raw.text.lower()

    with cluster.prefect.use():
        again = runner.invoke(
            app, ["reingest", "--archive", str(root), "--dask", cluster.dask.address], env=WIDE
        )
    assert again.exit_code == 0, again.output
    assert "nothing changed" in again.output


def test_dask_without_shared_backends_is_refused_clearly(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from flows.cli import app

    result = CliRunner().invoke(
        app,
        [
            "crawl",
            "http://127.0.0.1:9/",
            "--archive",
            str(tmp_path / "a"),
            "--dask",
            "tcp://127.0.0.1:9",
        ],
        env=WIDE,
    )
    assert result.exit_code == 1
    assert "--dask needs a shared catalog and shared storage" in result.output


def test_cluster_section_of_the_sources_file(tmp_path: Path) -> None:
    from flows.scaleout import ScaleOut, ScaleOutError

    sources = tmp_path / "sources.toml"
    sources.write_text(
        '[cluster]\ndask = "tcp://10.0.0.5:8786"\ncatalog = "postgresql://w@db/w"\n'
        'storage = "s3://b/p"\nendpoint = "http://10.0.0.7:9000"\n\n'
        '[[source]]\nname = "x"\nseeds = ["https://example.org/"]\n'
    )
    from_file = ScaleOut.from_file(sources)
    assert from_file == ScaleOut(
        "tcp://10.0.0.5:8786", "postgresql://w@db/w", "s3://b/p", "http://10.0.0.7:9000"
    )
    # the command line wins, the file fills in the rest
    merged = ScaleOut(dask="tcp://127.0.0.1:1").over(from_file)
    assert merged.dask == "tcp://127.0.0.1:1" and merged.storage == "s3://b/p"
    layout = merged.layout(tmp_path / "archive")
    assert layout.catalog_url == "postgresql://w@db/w"
    assert json.loads((tmp_path / "archive" / "backends.json").read_text())["storage"] == "s3://b/p"
    # a password in the URL is used but not written down (PGPASSWORD or ~/.pgpass later)
    with_password = ScaleOut(catalog="postgresql://w:s3cret@db:5432/w", storage="s3://b/p")
    assert with_password.layout(tmp_path / "c").catalog_url == "postgresql://w:s3cret@db:5432/w"
    recorded = json.loads((tmp_path / "c" / "backends.json").read_text())
    assert recorded["catalog"] == "postgresql://w@db:5432/w"
    sources.write_text('[cluster]\ndask_address = "x"\n')
    with pytest.raises(ScaleOutError, match="unknown keys"):
        ScaleOut.from_file(sources)
    with pytest.raises(ScaleOutError, match="expected s3://"):
        ScaleOut(storage="/mnt/archive").layout(tmp_path / "b")
