"""A folder of rotating WARC files whose durable state the catalog records.

Crash safety rests on one rule: a record is fsynced before the catalog says it exists,
and the catalog stores each open file's committed size. On start, `recover()` cuts every
open file back to that size, so a torn or uncommitted tail disappears and the URLs it
belonged to (still `in_flight` in the frontier) are fetched again: nothing is lost or
stored twice.

With object storage (`layout.storage_url`) the rule becomes: a file is published
(uploaded and verified) before the catalog says anything about it or its records. Each
writer stages a new file with a cluster-unique name (host, pid, random token: many
workers on many machines write at once) in the archive folder, unknown to the catalog.
`publish()` closes it, writes its CDXJ, publishes both, and then records the file and
the rows that point into it (a callback) in one catalog transaction. A worker that dies
before that leaves only a local staging file (abandoned, removed by a later `recover()`
on its machine) and URLs still `in_flight`, which are fetched again.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from archive.catalog import Catalog, WarcFile
from archive.cdxj import append_entries, write_cdxj
from archive.layout import ArchiveLayout
from archive.storage import Storage
from archive.warc import Clock, IdFactory, WarcFileWriter, new_record_id, utcnow


@dataclass(frozen=True)
class PublishedFile:
    """A staged file now durable in storage; what the catalog records of it."""

    name: str
    kind: str
    size: int
    records: int


Recorder = Callable[[PublishedFile], None]  # writes the rows that point into the file


def host_token() -> str:
    """This machine's name as it appears in staged file names (letters, digits, dots)."""
    return re.sub(r"[^A-Za-z0-9.]+", "", socket.gethostname())[:40] or "host"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
        self._storage: Storage | None = None
        # Remote mode: writes, in publish()'s transaction, the rows of the caller (e.g. the
        # crawler's captures) that point into the file, whoever triggers the publish.
        self.on_publish: Recorder | None = None

    @property
    def remote(self) -> bool:
        """Files go to object storage: staged here, published before the catalog knows."""
        return bool(self.layout.storage_url)

    @property
    def storage(self) -> Storage:
        """Where finished files are read from (one client per store, made when needed)."""
        if self._storage is None:
            self._storage = self.layout.storage()
        return self._storage

    def recover(self) -> list[tuple[str, int]]:
        """Cut open files of this kind back to their committed size; returns what was cut.

        Remote mode has nothing to cut (the catalog knows only published files); it
        removes the staging files that dead processes of this machine left behind."""
        if self.remote:
            self._remove_abandoned()
            return []
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

    def _remove_abandoned(self) -> None:
        """Staged files (and their CDXJ) of processes of this machine that are gone and
        never published them; files the catalog knows (local archives) are never touched."""
        known = {wf.name for wf in self.catalog.warc_files(self.kind)}
        folder = self.layout.dir_for(self.kind)
        pattern = re.compile(
            rf"^{re.escape(self.prefix)}-\d+-{re.escape(host_token())}-(\d+)-[0-9a-f]+\.warc\.gz$"
        )
        for path in sorted(folder.glob("*.warc.gz")) if folder.is_dir() else []:
            match = pattern.match(path.name)
            if path.name in known or match is None or _pid_alive(int(match[1])):
                continue
            path.unlink(missing_ok=True)
            cdx = self.layout.cdx_dir / (path.name.removesuffix(".warc.gz") + ".cdxj")
            if self.kind == "warc":
                cdx.unlink(missing_ok=True)

    def writer(self) -> WarcFileWriter:
        if self._writer is not None:
            return self._writer
        if self.remote:
            return self._staged_writer()
        current = self.catalog.open_warc_file(self.kind)
        if current is None:
            name = self._new_name()
            self.catalog.register_warc_file(name, self.kind)
            committed = 0
        else:
            name, committed = current.name, current.committed_size
        path = self.layout.dir_for(self.kind) / name
        stream = path.open("ab")
        # this process is the file's only writer (archive lock): what an earlier attempt
        # left past the committed size is not part of the archive
        stream.truncate(committed)
        stream.seek(0, 2)
        self._stream = stream
        self._writer = WarcFileWriter(stream, name, clock=self._clock, make_id=self._make_id)
        if committed == 0:
            self._writer.write_warcinfo(self.warcinfo())
            self.catalog.commit_warc_size(name, self._writer.sync(), records=1)
        return self._writer

    def warcinfo(self) -> dict[str, object]:
        return {
            "software": self.info.get("software", "warcflow"),
            "format": "WARC File Format 1.1",
            **{k: v for k, v in self.info.items() if k != "software"},
        }

    def _staged_writer(self) -> WarcFileWriter:
        """A new staged file (remote mode), starting with its warcinfo; the catalog is
        not told of it until it is published."""
        name = self._new_name()
        folder = self.layout.dir_for(self.kind)
        for path in (folder, self.layout.cdx_dir):  # a worker's staging folder may be new
            path.mkdir(parents=True, exist_ok=True)
        stream = (folder / name).open("xb")
        self._stream = stream
        self._writer = WarcFileWriter(stream, name, clock=self._clock, make_id=self._make_id)
        self._writer.write_warcinfo(self.warcinfo())
        return self._writer

    def is_full(self) -> bool:
        return self._writer is not None and self._writer.stream.tell() >= self.max_bytes

    def publish(self, rows: Recorder | None = None) -> PublishedFile | None:
        """Remote mode: close the staged file, write its CDXJ (kind warc), publish the file
        and then the CDXJ, and only then, in one catalog transaction, register the file
        (closed, with size and record count) and call `rows` (default `on_publish`) to
        write the rows that point into it. None when no file is open.

        If publishing fails the error propagates and the catalog records nothing: the
        staged file stays (removed by `recover()` once this process is gone)."""
        if not self.remote:
            raise RuntimeError("publish() is for object storage (storage_url); use close()")
        writer, stream = self._writer, self._stream
        if writer is None or stream is None:
            return None
        self._writer = self._stream = None
        size = writer.sync()
        stream.close()
        published = PublishedFile(writer.name, self.kind, size, writer.records)
        path = self.layout.dir_for(self.kind) / writer.name
        cdx = write_cdxj(path, self.layout.cdx_dir) if self.kind == "warc" else None
        self.storage.publish(self.kind, path)
        if cdx is not None:
            self.storage.publish("cdx", cdx)
        record = rows or self.on_publish
        with self.catalog.transaction():
            self.catalog.register_warc_file(published.name, self.kind)
            self.catalog.commit_warc_size(published.name, size, records=published.records)
            self.catalog.close_warc_file(published.name)
            if record is not None:
                record(published)
        return published

    def end_batch(self) -> None:
        """A crawl batch is over. Local: release the handle, the next batch appends to the
        same file. Remote: close and publish, since a batch's records count only once
        they are in storage (a later batch may run on another machine)."""
        if self.remote:
            self.publish()
        else:
            self.detach()

    def committed(self, records: int) -> tuple[str, int]:
        """fsync the current file; the caller records (name, size) in the same
        transaction as the captures it wrote."""
        assert self._writer is not None
        return self._writer.name, self._writer.sync()

    def rotate_if_full(self) -> Path | None:
        if self.is_full():
            return self.close()
        return None

    def close(self) -> Path | None:
        """Close the current file (if any) and index it (remote: and publish it, and the
        local path it had is gone, so None). Local files of this kind that worker
        processes left open are closed and indexed too; returns the newest."""
        if self.remote:
            self.publish()
            return None
        if self._stream is not None:
            self._writer.sync()  # type: ignore[union-attr]
            self._stream.close()
        self._stream = None
        self._writer = None
        path = None
        for wf in self.catalog.open_warc_files():
            if wf.kind != self.kind:
                continue
            if wf.committed_size == 0:  # given to a worker that had nothing to write
                (self.layout.dir_for(self.kind) / wf.name).unlink(missing_ok=True)
                self.catalog.forget_warc_file(wf.name)
                continue
            path = self.layout.dir_for(self.kind) / wf.name
            if self.kind == "warc":
                write_cdxj(path, self.layout.cdx_dir)
            self.catalog.close_warc_file(wf.name)
        return path

    def files_for_workers(self, count: int) -> list[WarcFile]:
        """Local: an open file for each of `count` worker processes (the oldest open ones,
        and new ones registered if there are too few); the caller holds the archive lock."""
        assert not self.remote, "worker processes write local files only"
        self.detach()
        files = [wf for wf in self.catalog.open_warc_files() if wf.kind == self.kind]
        while len(files) < count:
            name = self.register_new()
            files.append(WarcFile(name, self.kind, "open", 0, 0))
        return files[:count]

    def register_new(self) -> str:
        """A new local file, registered (open, empty) before anything is written to it."""
        name = self._new_name()
        self.catalog.register_warc_file(name, self.kind)
        return name

    def detach(self) -> None:
        """Close the file handle but leave the file open for appending by a later batch."""
        if self._stream is not None:
            self._writer.sync()  # type: ignore[union-attr]
            self._stream.close()
        self._stream = None
        self._writer = None

    def _new_name(self) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        if self.remote:  # many writers at once: the catalog serial is not unique among them
            unique = f"{host_token()}-{os.getpid()}-{secrets.token_hex(4)}"
            return f"{self.prefix}-{stamp}-{unique}.warc.gz"
        serial = self.catalog.next_warc_serial()
        return f"{self.prefix}-{stamp}-{serial:05d}.warc.gz"


class OwnedWarcFile:
    """One open local WARC file written by a worker process, which never touches the
    catalog: the crawl's process (holding the archive lock) hands it the file's name and
    committed size. Nothing else writes the file meanwhile, so it is first cut back to
    that size (what an earlier, killed attempt left past it goes), then appended to;
    `sync()` fsyncs and says how far the file is durable, for the crawl's process to
    record together with the captures it covers, and adds the records it covers to the
    file's index entries in `cdx_dir` (see archive/cdxj.py `write_cdxj`)."""

    def __init__(
        self,
        folder: Path,
        name: str,
        committed: int,
        info: dict[str, object],
        cdx_dir: Path | None = None,
        clock: Clock = utcnow,
        make_id: IdFactory = new_record_id,
    ) -> None:
        self.folder = folder
        self.cdx_dir = cdx_dir
        self.name = name
        self.committed = committed
        self.info = info
        self._clock = clock
        self._make_id = make_id
        self._stream: BinaryIO | None = None
        self._writer: WarcFileWriter | None = None
        self._synced_records = 0

    def writer(self) -> WarcFileWriter:
        if self._writer is not None:
            return self._writer
        stream = (self.folder / self.name).open("ab")
        stream.truncate(self.committed)
        stream.seek(0, 2)
        self._stream = stream
        self._writer = WarcFileWriter(stream, self.name, clock=self._clock, make_id=self._make_id)
        if self.cdx_dir is not None:
            self._writer.written = []
        self._synced_records = 0
        if self.committed == 0:
            self._writer.write_warcinfo(self.info)
        return self._writer

    @property
    def unsynced(self) -> int:
        """Records written since the last sync."""
        return 0 if self._writer is None else self._writer.records - self._synced_records

    def size(self) -> int:
        return 0 if self._stream is None else self._stream.tell()

    def sync(self) -> tuple[str, int, int]:
        """fsync; returns (name, durable size, records written since the last sync)."""
        writer = self.writer()
        size = writer.sync()
        records = writer.records - self._synced_records
        self._synced_records = writer.records
        self.committed = size
        if self.cdx_dir is not None and writer.written:
            append_entries(self.cdx_dir, self.name, writer.written)
            writer.written.clear()
        return self.name, size, records

    def detach(self) -> None:
        if self._stream is not None:
            self._stream.close()
        self._stream = None
        self._writer = None

    def reopen(self, name: str) -> None:
        """Continue in another (registered, empty) file."""
        self.detach()
        self.name = name
        self.committed = 0


def warc_path(layout: ArchiveLayout, name: str) -> Path:
    return layout.warc_dir / name
