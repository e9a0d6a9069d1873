"""A folder of rotating WARC files whose durable state the catalog records.

Crash safety rests on one rule: a record is fsynced before the catalog says it exists,
and the catalog stores each open file's committed size. On start, `recover()` cuts every
open file back to that size, so a torn or uncommitted tail disappears and the URLs it
belonged to (still `in_flight` in the frontier) are fetched again: nothing is lost or
stored twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from archive.catalog import Catalog
from archive.cdxj import write_cdxj
from archive.layout import ArchiveLayout
from archive.warc import Clock, IdFactory, WarcFileWriter, new_record_id, utcnow


class WarcStore:
    """Hands out the current writer of one kind (`warc` or `text`), rotating by size."""

    def __init__(
        self,
        layout: ArchiveLayout,
        catalog: Catalog,
        kind: str,
        prefix: str,
        max_bytes: int,
        info: dict[str, object],
        clock: Clock = utcnow,
        make_id: IdFactory = new_record_id,
    ) -> None:
        self.layout = layout
        self.catalog = catalog
        self.kind = kind
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.info = info
        self._clock = clock
        self._make_id = make_id
        self._stream: BinaryIO | None = None
        self._writer: WarcFileWriter | None = None

    def recover(self) -> list[tuple[str, int]]:
        """Cut open files of this kind back to their committed size; returns what was cut."""
        cut: list[tuple[str, int]] = []
        for wf in self.catalog.open_warc_files():
            if wf.kind != self.kind:
                continue
            path = self.layout.dir_for(self.kind) / wf.name
            if not path.exists():
                path.touch()
            size = path.stat().st_size
            if size > wf.committed_size:
                with path.open("r+b") as f:
                    f.truncate(wf.committed_size)
                    f.flush()
                cut.append((wf.name, size - wf.committed_size))
        return cut

    def writer(self) -> WarcFileWriter:
        if self._writer is not None:
            return self._writer
        current = self.catalog.open_warc_file(self.kind)
        if current is None:
            name = self._new_name()
            self.catalog.register_warc_file(name, self.kind)
            committed = 0
        else:
            name, committed = current.name, current.committed_size
        path = self.layout.dir_for(self.kind) / name
        stream = path.open("ab")
        stream.seek(0, 2)
        self._stream = stream
        self._writer = WarcFileWriter(stream, name, clock=self._clock, make_id=self._make_id)
        if committed == 0:
            self._writer.write_warcinfo(
                {
                    "software": self.info.get("software", "warcflow"),
                    "format": "WARC File Format 1.1",
                    **{k: v for k, v in self.info.items() if k != "software"},
                }
            )
            self.catalog.commit_warc_size(name, self._writer.sync(), records=1)
        return self._writer

    def committed(self, records: int) -> tuple[str, int]:
        """fsync the current file; the caller records (name, size) in the same
        transaction as the captures it wrote."""
        assert self._writer is not None
        return self._writer.name, self._writer.sync()

    def rotate_if_full(self) -> Path | None:
        if self._writer is not None and self._writer.stream.tell() >= self.max_bytes:
            return self.close()
        return None

    def close(self) -> Path | None:
        """Close the current file (if any) and index it."""
        current = self.catalog.open_warc_file(self.kind)
        if self._stream is not None:
            self._writer.sync()  # type: ignore[union-attr]
            self._stream.close()
        self._stream = None
        self._writer = None
        if current is None:
            return None
        path = self.layout.dir_for(self.kind) / current.name
        if self.kind == "warc":
            write_cdxj(path, self.layout.cdx_dir)
        self.catalog.close_warc_file(current.name)
        return path

    def detach(self) -> None:
        """Close the file handle but leave the file open for appending by a later batch."""
        if self._stream is not None:
            self._writer.sync()  # type: ignore[union-attr]
            self._stream.close()
        self._stream = None
        self._writer = None

    def _new_name(self) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        serial = self.catalog.next_warc_serial()
        return f"{self.prefix}-{stamp}-{serial:05d}.warc.gz"


def warc_path(layout: ArchiveLayout, name: str) -> Path:
    return layout.warc_dir / name
