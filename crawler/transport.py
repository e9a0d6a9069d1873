"""A lean HTTP/1.1 transport for httpx: h11 over asyncio protocols, keep-alive per origin.

httpx's own transport (httpcore on anyio) cost 1.07 ms of CPU per request on this
crawler's hot path (user + system, sequential GETs of 11 KB gzip pages from a local
nginx), more than parsing and archiving the page; this one costs 0.62 ms. httpcore's pool
serves many concurrent callers per connection with locks, anyio streams and cancel
scopes. A crawler asks one thing at a time per connection (one per host lane), so this
transport keeps only that: idle connections per (scheme, address, port, server name), h11
for the protocol, and asyncio's protocol callbacks for the socket. It implements httpx's
`AsyncBaseTransport`, so requests and responses stay `httpx` objects and the errors stay
httpx's (`ConnectError`, `ReadTimeout`, `RemoteProtocolError`, ...).

The request's URL host must already be the address to connect to (SafeClient resolves
and checks it); the Host header and the `sni_hostname` extension carry the name.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass

import h11
import httpx

MAX_HEADER_BYTES = 100 * 1024  # the size of a response head h11 will buffer (as httpcore)
READ_BUFFER_HIGH = 1 << 20  # unparsed bytes held before the socket stops being read
POOL_KEY = tuple[str, str, int, str | None]


@dataclass(frozen=True)
class TransportTimeouts:
    connect: float
    read: float


class Connection(asyncio.Protocol):
    """One TCP (or TLS) connection and its h11 state; one request at a time."""

    def __init__(self, key: POOL_KEY) -> None:
        self.key = key
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEADER_BYTES)
        self.transport: asyncio.Transport | None = None
        self.peer: str | None = None
        self.lost = False  # the socket is closed (or the server sent EOF)
        self.active = False  # a request was sent and its response is not yet all read
        self.received = 0  # bytes received since the request was sent
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False

    # -- asyncio.Protocol --------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = peer[0] if peer else None

    def data_received(self, data: bytes) -> None:
        if not self.active:  # an idle connection has nothing to say: drop it
            self.close()
            return
        self.received += len(data)
        self.h11.receive_data(data)
        if len(self.h11.trailing_data[0]) > READ_BUFFER_HIGH and self.transport is not None:
            self.transport.pause_reading()
            self._paused = True
        self._wake()

    def eof_received(self) -> bool:
        self.lost = True
        self._feed_eof()
        self._wake()
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._feed_eof()
        self._wake()

    def _feed_eof(self) -> None:
        if not self.h11.trailing_data[1]:
            # in an error state h11 refuses data; the next event then says what went wrong
            with contextlib.suppress(RuntimeError):
                self.h11.receive_data(b"")

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- used by the transport -----------------------------------------------------------
    def send(self, request: h11.Request) -> None:
        assert self.transport is not None
        data = self.h11.send(request) or b""
        data += self.h11.send(h11.EndOfMessage()) or b""
        self.active = True
        self.received = 0
        self.transport.write(data)

    async def next_event(self, read_timeout: float) -> h11.Event | type[h11.PAUSED]:
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpx.RemoteProtocolError(str(exc)) from exc
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value]
            if self._paused and self.transport is not None:
                self._paused = False
                self.transport.resume_reading()
            if self.lost:
                # receive_data(b"") was fed, so h11 raises or ends the message above
                raise httpx.RemoteProtocolError("server closed the connection mid-message")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(read_timeout):
                    await self._waiter
            except TimeoutError as exc:
                raise httpx.ReadTimeout(f"nothing received for {read_timeout}s") from exc
            finally:
                self._waiter = None

    def reusable(self) -> bool:
        h = self.h11
        # bytes past the end of the response mean the two sides are out of step
        return not self.lost and h.our_state is h.their_state is h11.DONE and not h.trailing_data[0]

    def close(self) -> None:
        self.lost = True
        if self.transport is not None:
            self.transport.close()


class _Body(httpx.AsyncByteStream):
    """The response body as it arrives (Content-Encoding kept); closing it hands the
    connection back for the next request when the exchange ended cleanly."""

    def __init__(self, pool: H11Transport, conn: Connection, read_timeout: float) -> None:
        self._pool = pool
        self._conn = conn
        self._read_timeout = read_timeout
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            event = await self._conn.next_event(self._read_timeout)
            if type(event) is h11.Data:
                yield bytes(event.data)
            elif type(event) is h11.EndOfMessage:
                return
            else:
                raise httpx.RemoteProtocolError(f"unexpected {type(event).__name__} in a body")

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._pool._release(self._conn)


class H11Transport(httpx.AsyncBaseTransport):
    """Idle keep-alive connections per origin, at most `max_idle` in all."""

    def __init__(
        self,
        timeouts: TransportTimeouts,
        ssl_context: ssl.SSLContext | None = None,
        max_idle: int = 64,
    ) -> None:
        self.timeouts = timeouts
        self._ssl_context = ssl_context
        self.max_idle = max_idle
        self._idle: dict[POOL_KEY, list[Connection]] = {}
        self._idle_count = 0

    def _tls(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()
        return self._ssl_context

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"{scheme!r} is not http or https")
        port = url.port or (443 if scheme == "https" else 80)
        sni = request.extensions.get("sni_hostname") if scheme == "https" else None
        key: POOL_KEY = (scheme, url.host, port, sni)
        h11_request = h11.Request(
            method=request.method,
            target=url.raw_path,
            headers=request.headers.raw,
        )
        conn = self._idle_connection(key)
        if conn is not None:
            try:
                return await self._exchange(conn, h11_request)
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
                # A kept-alive connection the server closed as we reused it: nothing
                # of a response came, so the GET is sent again on a new connection.
                if conn.received:
                    raise
        conn = await self._connect(key)
        return await self._exchange(conn, h11_request)

    def _idle_connection(self, key: POOL_KEY) -> Connection | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            self._idle_count -= 1
            if not conn.lost:
                return conn
            conn.close()
        return None

    async def _connect(self, key: POOL_KEY) -> Connection:
        scheme, host, port, sni = key
        loop = asyncio.get_running_loop()
        conn = Connection(key)
        tls = self._tls() if scheme == "https" else None
        try:
            async with asyncio.timeout(self.timeouts.connect):
                await loop.create_connection(
                    lambda: conn,
                    host=host,
                    port=port,
                    ssl=tls,
                    server_hostname=(sni or host) if tls is not None else None,
                )
        except TimeoutError as exc:
            conn.close()
            raise httpx.ConnectTimeout(f"no connection within {self.timeouts.connect}s") from exc
        except (OSError, ssl.SSLError) as exc:
            conn.close()
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
        return conn

    async def _exchange(self, conn: Connection, request: h11.Request) -> httpx.Response:
        try:
            conn.send(request)
            while True:
                event = await conn.next_event(self.timeouts.read)
                if type(event) is h11.Response:
                    break
                if type(event) is not h11.InformationalResponse:
                    raise httpx.RemoteProtocolError(f"unexpected {type(event).__name__}")
        except (h11.LocalProtocolError, OSError) as exc:
            conn.close()
            raise httpx.WriteError(str(exc)) from exc
        except BaseException:
            conn.close()
            raise
        return httpx.Response(
            event.status_code,
            headers=event.headers.raw_items(),
            stream=_Body(self, conn, self.timeouts.read),
            extensions={
                "http_version": b"HTTP/" + event.http_version,
                "reason_phrase": event.reason,
                "network_stream": conn,
            },
        )

    def _release(self, conn: Connection) -> None:
        conn.active = False
        if conn.reusable() and self._idle_count < self.max_idle:
            conn.h11.start_next_cycle()
            self._idle.setdefault(conn.key, []).append(conn)
            self._idle_count += 1
        else:
            conn.close()

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
        self._idle_count = 0
