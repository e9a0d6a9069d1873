"""Where finished archive files live: the archive folder, or object storage.

Files are always written in the archive folder first (`layout.dir_for(kind)`). With
local storage that is where they stay. With object storage a finished file is uploaded,
its checksum verified, and the local copy removed; only then does the catalog record
what it holds. Readers open files through `Storage.open`, which for object storage reads
by ranged requests, so reading one record at an offset never downloads the whole file.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Protocol

from archive.layout import ArchiveLayout

KINDS = ("warc", "text", "cdx")


class Storage(Protocol):
    remote: bool

    def open(self, kind: str, name: str) -> BinaryIO:
        """A seekable binary file to read (raises FileNotFoundError if missing)."""
        ...

    def publish(self, kind: str, local: Path) -> None:
        """Make a finished local file durable in the storage (upload and verify)."""
        ...

    def exists(self, kind: str, name: str) -> bool: ...

    def names(self, kind: str) -> list[str]: ...

    def describe(self, kind: str, name: str) -> str:
        """Where the file is, for people (a path or a URL)."""
        ...


class LocalStorage:
    """Files stay in the archive folder."""

    remote = False

    def __init__(self, layout: ArchiveLayout) -> None:
        self.layout = layout

    def _dir(self, kind: str) -> Path:
        return self.layout.cdx_dir if kind == "cdx" else self.layout.dir_for(kind)

    def open(self, kind: str, name: str) -> BinaryIO:
        return (self._dir(kind) / name).open("rb")

    def publish(self, kind: str, local: Path) -> None:
        return None

    def exists(self, kind: str, name: str) -> bool:
        return (self._dir(kind) / name).is_file()

    def names(self, kind: str) -> list[str]:
        folder = self._dir(kind)
        return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.exists() else []

    def describe(self, kind: str, name: str) -> str:
        return str(self._dir(kind) / name)


def open_storage(layout: ArchiveLayout) -> Storage:
    if not layout.storage_url:
        return LocalStorage(layout)
    from archive.objectstore import ObjectStorage

    return ObjectStorage(layout)
