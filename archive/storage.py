"""Where finished archive files live: the archive folder, or object storage.

Files are always written in the archive folder first (`layout.dir_for(kind)`). With
local storage that is where they stay. With object storage a finished file is uploaded,
its checksum verified, and the local copy removed; only then does the catalog record
what it holds. Readers open files through `Storage.open`, which for object storage reads
by ranged requests, so reading one record at an offset never downloads the whole file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from archive.layout import ArchiveLayout

KINDS = ("warc", "text", "cdx")
SPAN_GAP = 64 * 1024  # bytes between two records that one read may still span
SPAN_MAX = 8 * 1024 * 1024  # bytes one read holds at most (a batch's memory)


@dataclass(frozen=True)
class Span:
    """Bytes [start, end) of one file holding the records at `members` (their indexes)."""

    start: int
    end: int
    members: tuple[int, ...]


def spans_of(
    records: Sequence[tuple[int, int]], gap: int = SPAN_GAP, limit: int = SPAN_MAX
) -> list[Span]:
    """Group (offset, length) records of one file into spans read at once: records in
    offset order, a new span where the next one starts more than `gap` bytes after the
    last one ends or would make the span longer than `limit` (a record longer than
    `limit` gets a span of its own)."""
    order = sorted(range(len(records)), key=lambda i: records[i][0])
    spans: list[Span] = []
    start = end = 0
    members: list[int] = []
    for i in order:
        offset, length = records[i]
        if members and (offset - end > gap or offset + length - start > limit):
            spans.append(Span(start, end, tuple(members)))
            members = []
        if not members:
            start = offset
        members.append(i)
        end = max(end, offset + length) if len(members) > 1 else offset + length
    if members:
        spans.append(Span(start, end, tuple(members)))
    return spans


class Storage(Protocol):
    remote: bool

    def open(self, kind: str, name: str) -> BinaryIO:
        """A seekable binary file to read (raises FileNotFoundError if missing)."""
        ...

    def read_span(self, kind: str, name: str, start: int, end: int) -> bytes:
        """The bytes [start, end) of a file (object storage: one ranged GET)."""
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

    def read_span(self, kind: str, name: str, start: int, end: int) -> bytes:
        with self.open(kind, name) as f:
            f.seek(start)
            return f.read(end - start)

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
