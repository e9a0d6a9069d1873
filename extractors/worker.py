"""Extraction with a time bound: stage 1 runs in a child process that is replaced
when a document takes too long, so pathological HTML gets a recorded outcome
(`extract_timeout`) instead of stalling a batch."""

from __future__ import annotations

import multiprocessing
from dataclasses import replace
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from extractors.model import Capture, Document
from extractors.pipeline import MAX_DECODED_BYTES, Pipeline

DEFAULT_TIMEOUT = 30.0


def _serve(conn: Connection, max_decoded_bytes: int) -> None:
    pipeline = Pipeline(max_decoded_bytes=max_decoded_bytes)
    while True:
        try:
            capture = conn.recv()
        except EOFError:
            return
        if capture is None:
            return
        try:
            conn.send(pipeline.extract_capture(capture))
        except Exception as exc:  # one bad page must not take the worker down
            conn.send(
                Document(
                    url=capture.url,
                    outcome="extract_error",
                    reason=f"{type(exc).__name__}: {exc}",
                    extractor_version=pipeline.version,
                )
            )


class BoundedExtractor:
    """`extract(capture)` with at most `timeout` seconds per document."""

    def __init__(
        self, timeout: float = DEFAULT_TIMEOUT, max_decoded_bytes: int = MAX_DECODED_BYTES
    ) -> None:
        self.timeout = timeout
        self.max_decoded_bytes = max_decoded_bytes
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(["extractors.warm"])  # children start warm
        self._proc: BaseProcess | None = None
        self._conn: Connection | None = None

    def _start(self) -> Connection:
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=_serve, args=(child, self.max_decoded_bytes), daemon=True)
        proc.start()
        child.close()
        self._proc, self._conn = proc, parent
        return parent

    def extract(self, capture: Capture) -> Document:
        conn = self._conn or self._start()
        try:
            conn.send(capture)
            if conn.poll(self.timeout):
                return conn.recv()
        except (EOFError, BrokenPipeError, OSError) as exc:
            self._stop(kill=True)
            return _failed(capture, "extract_error", f"extraction worker died: {exc}")
        self._stop(kill=True)
        return _failed(
            capture,
            "extract_timeout",
            f"extraction took longer than {self.timeout:.0f}s (extract_timeout); page skipped",
        )

    def _stop(self, kill: bool = False) -> None:
        if self._proc is not None:
            if kill:
                self._proc.kill()
            else:
                try:
                    self._conn.send(None)  # type: ignore[union-attr]
                except (BrokenPipeError, OSError):
                    self._proc.kill()
            self._proc.join(timeout=5)
        if self._conn is not None:
            self._conn.close()
        self._proc, self._conn = None, None

    def close(self) -> None:
        self._stop()

    def __enter__(self) -> BoundedExtractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _failed(capture: Capture, outcome: str, reason: str) -> Document:
    doc = Document(url=capture.url, status=capture.status, fetched_at=capture.fetched_at)
    return replace(doc, outcome=outcome, reason=reason)
