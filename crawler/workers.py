"""Where a crawl's per-URL work runs: in the crawl's own process, or in worker processes.

The crawl's process (crawler/engine.py) keeps the catalog, the frontier, robots rules,
politeness and the page budget. It hands each URL to `PageWork` (crawler/pages.py) as a
job and gets back, per job, a `Notice` as soon as the response is in and a `Done` once
it is written to WARC. `InlinePages` runs the jobs in the crawl's event loop;
`WorkerPool` sends them to worker processes over socket pairs.

Each worker writes its own WARC file (an `OwnedWarcFile`: registered by the crawl's
process, written only by this worker) and fsyncs it in groups. After each fsync it sends
a mark (file, durable size, records); every `Done` sent before the mark is covered by
it, since a job's records are written and its `Done` queued in one step of the worker's
event loop. The crawl's process commits the captures a mark covers and the mark's size
in one transaction, so a record is durable before the catalog names it and the committed
size never covers a record the catalog does not know.

Workers are forked, so they start with everything imported (and with whatever the
crawl's process changed in it), and they hold the archive lock's open file: while any
worker lives no other crawl can take the lock. They die with the crawl's process
(PR_SET_PDEATHSIG), so a SIGKILL of the crawl leaves no writer behind. A worker that dies
stops the crawl (`WorkerDied`): what it had not fsynced and marked is fetched again.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import multiprocessing
import os
import pickle
import signal
import socket
import ssl
import struct
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from archive.cdxj import write_cdxj
from archive.layout import ArchiveLayout
from archive.storage import Storage
from archive.warc import WarcFileWriter
from archive.warcstore import OwnedWarcFile
from crawler.fetch import SafeClient
from crawler.pages import Done, Job, Notice, PageWork
from crawler.settings import CrawlSettings
from crawler.sources import Source

_LENGTH = struct.Struct("!I")
PR_SET_PDEATHSIG = 1
STOP_TIMEOUT = 30.0  # seconds a stopping worker may take to finish its jobs


class WorkerDied(RuntimeError):
    """A worker process ended without being asked to (killed, or crashed)."""


class WorkerFailed(RuntimeError):
    """A job raised inside a worker process (a bug: it must surface, not vanish)."""


class PagesSink(Protocol):
    """What the crawl's process does with what comes back (crawler/engine.py)."""

    def on_notice(self, worker: int, notice: Notice) -> None: ...

    def on_done(self, worker: int, done: Done) -> None: ...

    def on_mark(self, worker: int, name: str, size: int, records: int) -> None: ...

    def on_rotated(self, worker: int, name: str) -> str: ...

    def on_failure(self, exc: BaseException) -> None: ...


# -- in the crawl's own process --------------------------------------------------------
class InlinePages:
    """Jobs run as tasks of the crawl's event loop; the crawl fsyncs its store itself."""

    inline = True

    def __init__(self, work: PageWork, sink: PagesSink) -> None:
        self.work = work
        self.sink = sink
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def count(self) -> int:
        return 1

    def submit(self, job: Job, key: object) -> None:
        task = asyncio.create_task(self._run(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, job: Job) -> None:
        try:
            done = await self.work.run(job, lambda notice: self.sink.on_notice(0, notice))
        except Exception as exc:
            self.sink.on_failure(exc)
            return
        self.sink.on_done(0, done)

    def sync_now(self) -> None:
        pass

    async def stop(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def kill(self) -> None:
        for task in self._tasks:
            task.cancel()


# -- worker processes ------------------------------------------------------------------
@dataclass(frozen=True)
class WorkerSetup:
    """Everything a worker needs, fixed when it is forked."""

    index: int
    layout: ArchiveLayout
    settings: CrawlSettings
    sources: list[Source]
    run_id: int
    warc_name: str
    warc_committed: int
    warcinfo: dict[str, object]
    max_file_bytes: int
    group_size: int  # jobs per fsync ...
    group_seconds: float  # ... or this long after the first unsynced record


def _frame(message: tuple[Any, ...]) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


class _Channel(asyncio.Protocol):
    """Length-prefixed pickled messages over one end of a socket pair.

    Messages sent in one step of the event loop leave in one write, and messages that
    arrive together are handled in one call: a page's notice and result, or a batch of
    jobs, cost one system call and one wake-up of the other side, not one each."""

    def __init__(
        self,
        on_message: Callable[[tuple[Any, ...]], None],
        on_lost: Callable[[Exception | None], None],
    ) -> None:
        self._on_message = on_message
        self._on_lost = on_lost
        self._transport: asyncio.Transport | None = None
        self._inbox = bytearray()
        self._outbox: list[bytes] = []
        self.closed = asyncio.get_running_loop().create_future()

    @classmethod
    async def open(
        cls,
        sock: socket.socket,
        on_message: Callable[[tuple[Any, ...]], None],
        on_lost: Callable[[Exception | None], None],
    ) -> _Channel:
        loop = asyncio.get_running_loop()
        _, channel = await loop.create_connection(lambda: cls(on_message, on_lost), sock=sock)
        return channel

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def send(self, message: tuple[Any, ...]) -> None:
        if not self._outbox:
            asyncio.get_running_loop().call_soon(self.flush)
        self._outbox.append(_frame(message))

    def flush(self) -> None:
        if self._outbox and self._transport is not None and not self._transport.is_closing():
            self._transport.write(b"".join(self._outbox))
        self._outbox.clear()

    def data_received(self, data: bytes) -> None:
        inbox = self._inbox
        inbox += data
        start, size = 0, len(inbox)
        while size - start >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(inbox, start)
            end = start + _LENGTH.size + length
            if end > size:
                break
            message = pickle.loads(inbox[start + _LENGTH.size : end])
            start = end
            self._on_message(message)
        del inbox[:start]

    def close(self) -> None:
        """Send what is queued, then close; `closed` is done once it is all sent."""
        self.flush()
        if self._transport is not None:
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        self._on_lost(exc)


class WorkerPool:
    """The crawl's side of its worker processes: start, hand out jobs, stop."""

    inline = False

    def __init__(self, setups: list[WorkerSetup], sink: PagesSink) -> None:
        self.setups = setups
        self.sink = sink
        self._procs: list[multiprocessing.process.BaseProcess] = []
        self._channels: list[_Channel] = []
        self._ended: list[bool] = []
        self._keys = [0] * len(setups)  # keys given to each worker
        self._sticky: dict[object, int] = {}

    @property
    def count(self) -> int:
        return len(self.setups)

    async def start(self) -> None:
        context = multiprocessing.get_context("fork")
        # The CA certificates (35 ms) are loaded once here rather than in every fork, when
        # the seeds are https; else a worker loads them if a link leads to https.
        seeds = (url for s in self.setups[0].sources for url in (*s.seeds, *s.sitemaps))
        tls = httpx.create_ssl_context() if any(u.startswith("https:") for u in seeds) else None
        ours: list[socket.socket] = []
        for setup in self.setups:
            # A worker must hold no other worker's socket: the crawl sees a worker die
            # by its end of the pair reaching EOF.
            mine, theirs = socket.socketpair()
            ours.append(mine)
            try:
                proc = context.Process(
                    target=_worker_main,
                    args=(setup, tls, theirs, os.getpid(), [s.fileno() for s in ours]),
                    name=f"warcflow-worker-{setup.index}",
                    daemon=True,
                )
                proc.start()
            finally:
                theirs.close()
            self._procs.append(proc)
        for i, mine in enumerate(ours):
            self._ended.append(False)
            self._channels.append(
                await _Channel.open(
                    mine,
                    lambda message, i=i: self._received(i, message),
                    lambda exc, i=i: self._lost(i, exc),
                )
            )

    def submit(self, job: Job, key: object) -> None:
        """Jobs of one key (a host's lane) go to one worker: its connection to the host
        is reused and its records stay in order. A new key goes to the worker with the
        fewest keys."""
        worker = self._sticky.get(key)
        if worker is None:
            worker = self._keys.index(min(self._keys))
            self._keys[worker] += 1
            self._sticky[key] = worker
        self._channels[worker].send(("job", job))

    def sync_now(self) -> None:
        """Ask every worker with unsynced records to fsync and mark now."""
        for channel in self._channels:
            channel.send(("sync",))

    def _received(self, i: int, message: tuple[Any, ...]) -> None:
        sink = self.sink
        try:
            kind = message[0]
            if kind == "notice":
                sink.on_notice(i, message[1])
            elif kind == "done":
                sink.on_done(i, message[1])
            elif kind == "mark":
                sink.on_mark(i, message[1], message[2], message[3])
            elif kind == "rotated":
                self._channels[i].send(("file", sink.on_rotated(i, message[1])))
            elif kind == "failed":
                raise WorkerFailed(f"worker {i} failed:\n{message[1]}")
            elif kind == "bye":
                self._ended[i] = True
                self._channels[i].close()
        except Exception as exc:  # the crawl raises it (on_failure)
            sink.on_failure(exc)

    def _lost(self, i: int, exc: Exception | None) -> None:
        if self._ended[i]:
            return
        proc = self._procs[i]
        proc.join(timeout=1.0)
        died = WorkerDied(f"worker process {i} (pid {proc.pid}) died: exit code {proc.exitcode}")
        died.__cause__ = exc
        self.sink.on_failure(died)

    async def stop(self) -> None:
        """Let the workers finish their jobs, fsync and mark, and exit."""
        for channel in self._channels:
            channel.send(("stop",))
        try:
            async with asyncio.timeout(STOP_TIMEOUT):
                await asyncio.gather(*(channel.closed for channel in self._channels))
        finally:
            self._close()
        for proc in self._procs:
            proc.join(timeout=STOP_TIMEOUT)
            if proc.exitcode != 0:
                raise WorkerDied(f"worker process {proc.name} exited with {proc.exitcode}")

    def kill(self) -> None:
        """Stop at once (the crawl failed): nothing more is written or marked."""
        self._ended = [True] * len(self._ended)  # no WorkerDied for these
        for proc in self._procs:
            if proc.is_alive():
                proc.kill()
        for proc in self._procs:
            proc.join(timeout=5.0)
        self._close()

    def _close(self) -> None:
        for channel in self._channels:
            with contextlib.suppress(Exception):
                channel.close()


def _die_with(parent_pid: int) -> None:
    """SIGKILL this process when its parent dies (Linux), and exit if it already has."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)


def _worker_main(
    setup: WorkerSetup,
    tls: ssl.SSLContext | None,
    sock: socket.socket,
    parent_pid: int,
    close: list[int],
) -> None:
    _die_with(parent_pid)
    for fd in close:  # the crawl's ends of every worker's socket pair
        with contextlib.suppress(OSError):
            os.close(fd)
    # Leave by os._exit: the exit handlers and threads this fork inherited belong to the
    # crawl's process (multiprocessing's own exit asserts on threads forked from a
    # non-main thread, as Prefect's task threads are).
    code = 0
    try:
        asyncio.run(_Worker(setup, tls, sock).serve())
    except BaseException:
        traceback.print_exc(file=sys.__stderr__)
        code = 1
    finally:
        for stream in (sys.__stdout__, sys.__stderr__):
            with contextlib.suppress(Exception):
                stream.flush()  # type: ignore[union-attr]
        os._exit(code)


class _Worker:
    """The worker's side: runs jobs as they come, fsyncs in groups, rotates its file."""

    def __init__(self, setup: WorkerSetup, tls: ssl.SSLContext | None, sock: socket.socket) -> None:
        self.setup = setup
        self.tls = tls
        self.sock = sock
        self.file = OwnedWarcFile(
            setup.layout.warc_dir,
            setup.warc_name,
            setup.warc_committed,
            setup.warcinfo,
            cdx_dir=setup.layout.cdx_dir,
        )
        self._rotating: asyncio.Future[None] | None = None
        self._storage: Storage | None = None
        self._unsynced_jobs = 0
        self._first_unsynced = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False

    async def serve(self) -> None:
        self._finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._channel = await _Channel.open(self.sock, self._received, self._lost)
        settings = self.setup.settings
        async with SafeClient(
            settings.fetch,
            settings.user_agent,
            max_connections=max(4, settings.politeness.max_hosts * 2),
            ssl_context=self.tls,
        ) as client:
            self.work = PageWork(
                client,
                self._writer,
                self._open_storage,
                settings,
                self.setup.sources,
                self.setup.run_id,
            )
            ticker = asyncio.create_task(self._tick())
            try:
                await self._finished
                self._sync()
                self._send(("bye",))
                self._channel.close()
                await self._channel.closed
            finally:
                ticker.cancel()
                self.file.detach()

    def _send(self, message: tuple[Any, ...]) -> None:
        self._channel.send(message)

    def _received(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "job":
            task = asyncio.create_task(self._run(message[1]))
            self._tasks.add(task)
            task.add_done_callback(self._task_done)
        elif kind == "sync":
            self._sync()
        elif kind == "file":
            self.file.reopen(message[1])
            if self._rotating is not None:
                self._rotating.set_result(None)
                self._rotating = None
            self._finish_if_idle()
        elif kind == "stop":
            # jobs still running may need the next file's name: the end waits for them
            self._stopping = True
            self._finish_if_idle()

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._finish_if_idle()

    def _finish_if_idle(self) -> None:
        idle = self._stopping and not self._tasks and self._rotating is None
        if idle and not self._finished.done():
            self._finished.set_result(None)

    def _lost(self, exc: Exception | None) -> None:
        if not self._finished.done():
            self._finished.set_exception(ConnectionError(f"the crawl's process went away: {exc}"))

    async def _writer(self) -> WarcFileWriter:
        while self._rotating is not None:
            await asyncio.shield(self._rotating)
        return self.file.writer()

    def _open_storage(self) -> Storage:
        if self._storage is None:
            self._storage = self.setup.layout.storage()
        return self._storage

    async def _run(self, job: Job) -> None:
        try:
            done = await self.work.run(job, self._notify)
        except Exception:
            self._send(("failed", traceback.format_exc()))
            return
        self._send(("done", done))
        if self._unsynced_jobs == 0:
            self._first_unsynced = time.monotonic()
        self._unsynced_jobs += 1
        if self._unsynced_jobs >= self.setup.group_size:
            self._sync()

    def _notify(self, notice: Notice) -> None:
        self._send(("notice", notice))

    async def _tick(self) -> None:
        period = self.setup.group_seconds
        while True:
            await asyncio.sleep(period / 2)
            if self._unsynced_jobs and time.monotonic() - self._first_unsynced >= period:
                self._sync()

    def _sync(self) -> None:
        """fsync, then mark: every Done sent so far is covered. A full file is then
        closed and indexed, and writing waits for the next file's name."""
        self._unsynced_jobs = 0
        if self.file.unsynced == 0:
            return
        name, size, records = self.file.sync()
        self._send(("mark", name, size, records))
        if size >= self.setup.max_file_bytes and self._rotating is None:
            self.file.detach()
            write_cdxj(self.setup.layout.warc_dir / name, self.setup.layout.cdx_dir)
            self._rotating = asyncio.get_running_loop().create_future()
            self._send(("rotated", name))
