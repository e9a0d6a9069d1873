"""Where a run's work and data go: the embedded default (this process, SQLite, the archive
folder) or a cluster (Dask workers, PostgreSQL, object storage).

Command-line options win over the `[cluster]` section of the sources file:

    [cluster]
    dask = "tcp://10.0.0.5:8786"
    catalog = "postgresql://warcflow@10.0.0.6/warcflow"
    storage = "s3://archive-bucket/warcflow"
    endpoint = "http://10.0.0.7:9000"     # S3-compatible server; keys: AWS_* variables
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from archive.layout import ArchiveLayout


class ScaleOutError(ValueError):
    """The cluster settings are inconsistent or a service cannot be reached."""


@dataclass(frozen=True)
class ScaleOut:
    dask: str | None = None
    catalog: str | None = None
    storage: str | None = None
    endpoint: str | None = None

    @classmethod
    def from_file(cls, path: Path | None) -> ScaleOut:
        """The `[cluster]` section of a sources file (empty if none)."""
        if path is None or not path.exists():
            return cls()
        section = tomllib.loads(path.read_text(encoding="utf-8")).get("cluster", {})
        known = {f.name for f in fields(cls)}
        unknown = set(section) - known
        if unknown:
            raise ScaleOutError(
                f"{path} [cluster]: unknown keys {sorted(unknown)}; known: {sorted(known)}"
            )
        return cls(**section)

    def over(self, other: ScaleOut) -> ScaleOut:
        """These settings, with `other`'s where these are unset."""
        return ScaleOut(
            *(getattr(self, f.name) or getattr(other, f.name) for f in fields(ScaleOut))
        )

    def layout(self, archive: Path) -> ArchiveLayout:
        """The archive with these backends (recorded in the folder for later commands)."""
        if self.catalog and not self.catalog.startswith(("postgresql://", "postgres://")):
            raise ScaleOutError(
                f"--catalog {self.catalog}: expected postgresql://user@host:port/db"
            )
        if self.storage and not self.storage.startswith("s3://"):
            raise ScaleOutError(f"--storage {self.storage}: expected s3://bucket/prefix")
        layout = ArchiveLayout.load(archive).with_backends(
            self.catalog, self.storage, self.endpoint
        )
        if self.dask and not (layout.catalog_url and layout.storage_url):
            raise ScaleOutError(
                "--dask needs a shared catalog and shared storage that every worker reaches: "
                "add --catalog postgresql://... and --storage s3://... (see README, Scaling out)"
            )
        layout.save_backends()
        return layout


def dask_shards(address: str, per_worker: int = 2) -> int:
    """How many host shards to crawl at once: a few per worker thread of the cluster."""
    from distributed import Client

    try:
        with Client(address, timeout=10) as client:
            threads = sum(client.nthreads().values())
    except OSError as exc:
        raise ScaleOutError(
            f"no Dask scheduler answers at {address} ({exc}); start one with "
            "`dask scheduler` and workers with `dask worker ADDRESS` (see README, Scaling out)"
        ) from None
    if threads == 0:
        raise ScaleOutError(
            f"the Dask scheduler at {address} has no workers; start `dask worker {address}`"
        )
    return threads * per_worker
