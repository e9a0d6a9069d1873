"""Shared fixtures: a clean environment, a temporary Prefect home, loopback sites."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

# Prefect reads its settings when first imported (test modules import the flows at
# collection), so they are set here: offline, quiet, and a temporary PREFECT_HOME.
os.environ.update(
    {
        "PREFECT_HOME": tempfile.mkdtemp(prefix="warcflow-prefect-home-"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        "PREFECT_LOGGING_TO_API_ENABLED": "false",
    }
)

from services import DaskCluster, PostgresServer, PrefectServer, S3Server

from archive.catalog import Catalog
from archive.layout import ArchiveLayout
from crawler.settings import (
    CrawlLimits,
    CrawlSettings,
    FetchLimits,
    Politeness,
    RetryPolicy,
)

LOOPBACK = FetchLimits.parse_networks(["127.0.0.0/8"])


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxies, no WARCFLOW_* settings from the developer's shell."""
    for name in list(os.environ):
        if name.upper().endswith("_PROXY") or name.startswith("WARCFLOW_"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def layout(tmp_path: Path) -> ArchiveLayout:
    return ArchiveLayout(tmp_path / "archive").ensure()


@pytest.fixture
def catalog(layout: ArchiveLayout) -> Iterator[Catalog]:
    cat = Catalog.open(layout.catalog)
    yield cat
    cat.close()


def fast_settings(**overrides: object) -> CrawlSettings:
    """Loopback allowed, no politeness delay, short timeouts: for tests."""
    fetch = overrides.pop("fetch", None) or FetchLimits(
        allowed_networks=LOOPBACK, total_timeout=5.0, read_timeout=3.0, connect_timeout=3.0
    )
    return CrawlSettings(
        fetch=fetch,  # type: ignore[arg-type]
        retry=overrides.pop("retry", None)
        or RetryPolicy(base_delay=0.05, max_delay=0.2, max_retry_after=2.0),  # type: ignore[arg-type]
        politeness=overrides.pop("politeness", None) or Politeness(delay=0.0),  # type: ignore[arg-type]
        limits=overrides.pop("limits", None) or CrawlLimits(max_pages=200, max_depth=5),  # type: ignore[arg-type]
        **overrides,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="session")
def demo_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled demo sites crawled and processed once per session (read-only: copy it
    before changing it)."""
    from crawling import crawl

    from crawler.sources import Source
    from flows.demo import DemoSites

    root = tmp_path_factory.mktemp("demo") / "archive"
    layout = ArchiveLayout(root).ensure()
    with DemoSites(preferred_port=None) as sites:
        sources = [
            Source(name=str(s["name"]), seeds=tuple(s["seeds"]), sitemaps=tuple(s["sitemaps"]))  # type: ignore[arg-type]
            for s in sites.sources()
        ]
        settings = fast_settings(limits=CrawlLimits(max_pages=500, max_depth=4))
        crawl(layout, sources, settings).catalog.close()
    return root


# Real services on 127.0.0.1 (tests/services.py), started once per session on first use.
TESTS_DIR = Path(__file__).parent


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    with S3Server() as server:
        yield server


@pytest.fixture(scope="session")
def prefect_server(postgres_server: PostgresServer) -> Iterator[PrefectServer]:
    """A Prefect API on the PostgreSQL fixture (it copes with concurrent Dask workers)."""
    postgres_server.create_database("prefect")
    url = postgres_server.dsn("prefect", scheme="postgresql+asyncpg")
    with PrefectServer(database_url=url) as server:
        yield server


@pytest.fixture(scope="session")
def dask_cluster(prefect_server: PrefectServer, s3_server: S3Server) -> Iterator[DaskCluster]:
    """Two worker processes that record into `prefect_server` and can reach `s3_server`;
    test modules are importable on them (tasks are pickled by reference)."""
    paths = [str(TESTS_DIR), str(TESTS_DIR.parent), os.environ.get("PYTHONPATH", "")]
    env = {
        **prefect_server.client_env(),
        **s3_server.env(),
        "PYTHONPATH": os.pathsep.join(p for p in paths if p),
    }
    with DaskCluster(workers=2, env=env) as cluster:
        yield cluster
