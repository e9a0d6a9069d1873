"""The archive folder: where each kind of file lives, and the lock that guards it.

archive/
  catalog.sqlite   runs, frontier, captures, documents, clusters, site profiles, index
  warc/            raw captures, WARC/1.1, one gzip member per record
  text/            clean text as WARC conversion records
  cdx/             CDXJ index of the raw captures (pywb-compatible)
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO


class ArchiveLocked(RuntimeError):
    """Another warcflow process is writing to this archive."""


@dataclass(frozen=True)
class ArchiveLayout:
    root: Path

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
        return self.catalog.exists()


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
