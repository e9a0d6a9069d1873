"""The archive folder: where each kind of file lives, and the lock that guards it.

archive/
  catalog.sqlite   runs, frontier, captures, documents, clusters, site profiles, index
  warc/            raw captures, WARC/1.1, one gzip member per record
  text/            clean text as WARC conversion records
  cdx/             CDXJ index of the raw captures (pywb-compatible)
  backends.json    where the catalog and the files live when not here (scale-out)

Scaled out, the catalog is a PostgreSQL database (`catalog_url`) and the files live in
object storage (`storage_url`, e.g. s3://bucket/prefix); the folder then only stages
files being written before they are uploaded. An `ArchiveLayout` is plain data, so it
is what tasks receive: each opens its own catalog connection and storage client.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from archive.catalog import Catalog
    from archive.storage import Storage

BACKENDS_FILE = "backends.json"


class ArchiveLocked(RuntimeError):
    """Another warcflow process is writing to this archive."""


@dataclass(frozen=True)
class ArchiveLayout:
    root: Path
    catalog_url: str | None = None  # postgresql://...; None: catalog.sqlite in `root`
    storage_url: str | None = None  # s3://bucket/prefix; None: the folders in `root`
    storage_endpoint: str | None = None  # S3-compatible endpoint (credentials: AWS_* env)

    @classmethod
    def load(cls, root: Path | str) -> ArchiveLayout:
        """The archive at `root`, with the backends recorded there (if any)."""
        root = Path(root)
        path = root / BACKENDS_FILE
        if not path.exists():
            return cls(root)
        data = json.loads(path.read_text())
        return cls(root, data.get("catalog"), data.get("storage"), data.get("endpoint"))

    def with_backends(
        self,
        catalog_url: str | None = None,
        storage_url: str | None = None,
        storage_endpoint: str | None = None,
    ) -> ArchiveLayout:
        """These backends (those given) in place of the recorded ones."""
        return replace(
            self,
            catalog_url=catalog_url or self.catalog_url,
            storage_url=storage_url or self.storage_url,
            storage_endpoint=storage_endpoint or self.storage_endpoint,
        )

    def save_backends(self) -> None:
        """Record the backends in the folder, so later commands find them (no secrets)."""
        if not (self.catalog_url or self.storage_url):
            return
        self.root.mkdir(parents=True, exist_ok=True)
        data = {"catalog": _without_password(self.catalog_url), "storage": self.storage_url}
        data["endpoint"] = self.storage_endpoint
        (self.root / BACKENDS_FILE).write_text(json.dumps(data, indent=2) + "\n")

    @property
    def scaled_out(self) -> bool:
        return bool(self.catalog_url or self.storage_url)

    def open_catalog(self, readonly: bool = False) -> Catalog:
        from archive.catalog import Catalog

        if self.catalog_url:
            return Catalog.connect(self.catalog_url, readonly=readonly)
        return Catalog.open(self.catalog, readonly=readonly)

    def storage(self) -> Storage:
        from archive.storage import open_storage

        return open_storage(self)

    @property
    def catalog(self) -> Path:
        return self.root / "catalog.sqlite"

    @property
    def warc_dir(self) -> Path:
        return self.root / "warc"

    @property
    def text_dir(self) -> Path:
        return self.root / "text"

    @property
    def cdx_dir(self) -> Path:
        return self.root / "cdx"

    @property
    def lock_file(self) -> Path:
        return self.root / ".lock"

    def dir_for(self, kind: str) -> Path:
        return {"warc": self.warc_dir, "text": self.text_dir}[kind]

    def ensure(self) -> ArchiveLayout:
        for path in (self.root, self.warc_dir, self.text_dir, self.cdx_dir):
            path.mkdir(parents=True, exist_ok=True)
        return self

    def exists(self) -> bool:
        return bool(self.catalog_url) or self.catalog.exists()


def _without_password(url: str | None) -> str | None:
    """A database URL fit for a file: the password (if any) belongs in PGPASSWORD or
    ~/.pgpass, where libpq finds it."""
    if not url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc}" if user else netloc))


def as_layout(archive: ArchiveLayout | str | Path) -> ArchiveLayout:
    """Tasks and steps accept a layout or a folder (whose recorded backends apply)."""
    return archive if isinstance(archive, ArchiveLayout) else ArchiveLayout.load(archive)


class ArchiveLock:
    """An exclusive advisory lock on the archive; released by the OS if the process dies."""

    def __init__(self, layout: ArchiveLayout) -> None:
        self.layout = layout
        self._file: IO[str] | None = None

    def acquire(self) -> ArchiveLock:
        self.layout.ensure()
        handle = self.layout.lock_file.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown process"
            handle.close()
            raise ArchiveLocked(
                f"archive {self.layout.root} is in use by another warcflow process ({holder}); "
                "wait for it to finish, or use another --archive"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
        handle.flush()
        self._file = handle
        return self

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> ArchiveLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
