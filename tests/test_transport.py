"""The crawler's HTTP/1.1 transport (crawler/transport.py) against a scripted server.

The server on 127.0.0.1 answers each connection from a script: what bytes to send for
each request, and whether to close afterwards. The tests check what a crawler relies on:

- keep-alive: requests to one origin share a connection; a connection the server closed
  while idle is not used again, and a reused connection that the server closes before
  answering gets the GET again on a new connection (nothing lost, no error);
- bodies as sent: Content-Length, chunked (de-chunked), HTTP/1.0 read to the close, and
  informational 1xx responses skipped; the body is not decoded (Content-Encoding kept);
- clear failures: a malformed status line or an oversized header block is a
  RemoteProtocolError, silence is a ReadTimeout, a refused port a ConnectError, and none
  of those connections is reused; a request header with CR, LF or NUL (an ETag sent back)
  or a malformed name is refused before anything is sent;
- TLS with the server name given apart from the address connected to, and the peer
  address of the socket on every response.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gzip
import ssl
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from crawler.fetch import SafeClient
from crawler.settings import FetchLimits
from crawler.transport import Http1Transport, TransportTimeouts

LOOPBACK = FetchLimits.parse_networks(["127.0.0.0/8"])
TIMEOUTS = TransportTimeouts(connect=2.0, read=0.5)


def ok(body: bytes, *headers: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in headers)
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode() + body


@dataclass
class Step:
    """What the server does for one request on a connection."""

    reply: bytes | None  # None: say nothing (and keep the connection open)
    close: bool = False  # close the connection after the reply


@dataclass
class ScriptedServer:
    """Connection N (from 0) follows scripts[N] (the last script repeats)."""

    scripts: list[list[Step]]
    tls: ssl.SSLContext | None = None
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        script = self.scripts[min(self.connections, len(self.scripts) - 1)]
        self.connections += 1
        try:
            for step in script:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests.append(head)
                if step.reply is None:
                    await asyncio.sleep(5)
                    return
                writer.write(step.reply)
                await writer.drain()
                if step.close:
                    return
            await reader.read()  # script done: wait for the client to go
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@contextmanager
def serve(server: ScriptedServer) -> Iterator[int]:
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, object] = {}

    async def main() -> None:
        srv = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=server.tls)
        holder["port"] = srv.sockets[0].getsockname()[1]
        holder["srv"] = srv
        started.set()
        async with srv:
            await srv.serve_forever()

    thread = threading.Thread(target=lambda: loop.run_until_complete(_quiet(main())))
    thread.start()
    started.wait(5)
    try:
        yield int(holder["port"])  # type: ignore[call-overload]
    finally:
        loop.call_soon_threadsafe(lambda: [t.cancel() for t in asyncio.all_tasks(loop)])
        thread.join(5)
        loop.close()


async def _quiet(coro: object) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        await coro  # type: ignore[misc]


async def get(transport: Http1Transport, url: str, **extensions: object) -> tuple[int, bytes]:
    host = httpx.URL(url).netloc.decode()
    request = httpx.Request("GET", url, headers={"Host": host}, extensions=extensions)
    response = await transport.handle_async_request(request)
    body = b"".join([chunk async for chunk in response.stream])  # type: ignore[union-attr]
    await response.aclose()
    return response.status_code, body


async def failure_then_get(
    transport: Http1Transport, failing: Awaitable[object], url: str
) -> tuple[str, tuple[int, bytes]]:
    """The httpx error `failing` raised ("none" if it did not), then a GET of `url`."""
    try:
        await failing
    except httpx.HTTPError as exc:
        error = type(exc).__name__
    else:
        error = "none"
    return error, await get(transport, url)


def run(
    fn: Callable[[Http1Transport], object],
    timeouts: TransportTimeouts = TIMEOUTS,
    tls: ssl.SSLContext | None = None,
) -> object:
    async def main() -> object:
        transport = Http1Transport(timeouts, ssl_context=tls)
        try:
            return await fn(transport)  # type: ignore[misc]
        finally:
            await transport.aclose()

    return asyncio.run(main())


def test_requests_to_one_origin_share_a_keep_alive_connection() -> None:
    server = ScriptedServer([[Step(ok(b"one")), Step(ok(b"two")), Step(ok(b"three"))]])
    with serve(server) as port:
        url = f"http://127.0.0.1:{port}/"

        async def three(t: Http1Transport) -> list[tuple[int, bytes]]:
            return [await get(t, url + str(i)) for i in range(3)]

        assert run(three) == [(200, b"one"), (200, b"two"), (200, b"three")]
    assert server.connections == 1
    assert [r.split(b" ")[1] for r in server.requests] == [b"/0", b"/1", b"/2"]


def test_a_connection_closed_by_the_server_is_not_reused() -> None:
    # the first connection answers once and closes; the client must open a second
    server = ScriptedServer([[Step(ok(b"first"), close=True)], [Step(ok(b"second"))]])
    with serve(server) as port:
        url = f"http://127.0.0.1:{port}/"

        async def two(t: Http1Transport) -> list[tuple[int, bytes]]:
            first = await get(t, url + "a")
            await asyncio.sleep(0.1)  # the server's FIN arrives while the connection idles
            return [first, await get(t, url + "b")]

        assert run(two) == [(200, b"first"), (200, b"second")]
    assert server.connections == 2


def test_a_reused_connection_closed_before_the_answer_is_retried_once() -> None:
    # the server takes the second request on the kept-alive connection and hangs up
    # without a byte: the GET goes again on a new connection
    silent_close = Step(b"", close=True)
    server = ScriptedServer([[Step(ok(b"first")), silent_close], [Step(ok(b"again"))]])
    with serve(server) as port:
        url = f"http://127.0.0.1:{port}/"

        async def two(t: Http1Transport) -> list[tuple[int, bytes]]:
            first = await get(t, url + "a")
            return [first, await get(t, url + "b")]

        assert run(two) == [(200, b"first"), (200, b"again")]
    assert server.connections == 2
    assert [r.split(b" ")[1] for r in server.requests] == [b"/a", b"/b", b"/b"]


def test_a_fresh_connection_closed_before_the_answer_is_an_error() -> None:
    server = ScriptedServer([[Step(b"", close=True)]])
    with serve(server) as port, pytest.raises(httpx.RemoteProtocolError):
        run(lambda t: get(t, f"http://127.0.0.1:{port}/"))
    assert server.connections == 1  # not retried: nothing says a retry would fare better


def test_bodies_arrive_as_sent_chunked_http10_and_after_1xx() -> None:
    packed = gzip.compress(b"<p>gzip stays gzip</p>")
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n"
        + f"{len(packed):x}\r\n".encode()
        + packed
        + b"\r\n0\r\n\r\n"
    )
    early = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" + ok(b"final")
    http10 = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nread until the close"
    server = ScriptedServer(
        [[Step(chunked), Step(early), Step(http10, close=True)], [Step(ok(b"next"))]]
    )
    with serve(server) as port:
        url = f"http://127.0.0.1:{port}/"

        async def four(t: Http1Transport) -> list[tuple[int, bytes]]:
            return [await get(t, url + p) for p in ("c", "e", "h", "n")]

        got = run(four)
    assert got == [
        (200, packed),
        (200, b"final"),
        (200, b"read until the close"),
        (200, b"next"),
    ]
    assert server.connections == 2  # HTTP/1.0 without keep-alive ends its connection


@pytest.mark.parametrize(
    "reply",
    [
        b"HTCPCP/1.0 418 I'm a teapot\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",  # then the server closes
    ],
    ids=["bad-status-line", "huge-header-block", "body-cut-short"],
)
def test_malformed_responses_are_protocol_errors_and_the_connection_is_dropped(
    reply: bytes,
) -> None:
    server = ScriptedServer([[Step(reply, close=True)], [Step(ok(b"fine"))]])
    with serve(server) as port:
        url = f"http://127.0.0.1:{port}/"

        got = run(lambda t: failure_then_get(t, get(t, url + "bad"), url + "good"))
        assert got == ("RemoteProtocolError", (200, b"fine"))
    assert server.connections == 2


@pytest.mark.parametrize(
    ("name", "value"),
    [("If-None-Match", '"a"\r\nX-Injected: 1'), ("Bad Name", "x"), ("X-Nul", "a\x00b")],
)
def test_a_request_header_that_would_break_the_request_is_refused(name: str, value: str) -> None:
    # an ETag sent back as If-None-Match comes from a server: it must not add a header
    server = ScriptedServer([[Step(ok(b"fine"))]])
    with serve(server) as port:
        url = f"http://127.0.0.1:{port}/"

        request = httpx.Request("GET", url, headers={"Host": "127.0.0.1", name: value})
        got = run(lambda t: failure_then_get(t, t.handle_async_request(request), url + "good"))
        assert got == ("WriteError", (200, b"fine"))
    assert [r.split(b" ")[1] for r in server.requests] == [b"/good"]  # nothing else was sent


def test_silence_is_a_read_timeout_and_a_closed_port_a_connect_error() -> None:
    server = ScriptedServer([[Step(None)]])
    with serve(server) as port, pytest.raises(httpx.ReadTimeout):
        run(lambda t: get(t, f"http://127.0.0.1:{port}/"), TransportTimeouts(2.0, 0.2))
    with pytest.raises(httpx.ConnectError):
        run(lambda t: get(t, f"http://127.0.0.1:{port}/"))


def test_bytes_on_an_idle_connection_retire_it() -> None:
    # the reply carries one byte too many: it arrives on the idle connection
    server = ScriptedServer([[Step(ok(b"one") + b"!")], [Step(ok(b"two"))]])
    with serve(server) as port:
        url = f"http://127.0.0.1:{port}/"

        async def two(t: Http1Transport) -> list[tuple[int, bytes]]:
            first = await get(t, url + "a")
            await asyncio.sleep(0.1)
            return [first, await get(t, url + "b")]

        assert run(two) == [(200, b"one"), (200, b"two")]
    assert server.connections == 2


def self_signed(tmp: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_tls_checks_the_server_name_given_apart_from_the_address(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, "archive.test")
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    client_tls = ssl.create_default_context(cafile=str(cert))
    server = ScriptedServer([[Step(ok(b"secret"))]], tls=server_tls)
    with serve(server) as port:
        url = f"https://127.0.0.1:{port}/"

        async def named(t: Http1Transport, name: str) -> tuple[int, bytes]:
            return await get(t, url, sni_hostname=name)

        with pytest.raises(httpx.ConnectError):  # the certificate is for archive.test
            run(lambda t: named(t, "other.test"), tls=client_tls)
        assert run(lambda t: named(t, "archive.test"), tls=client_tls) == (200, b"secret")


def test_safe_client_records_the_address_of_the_socket() -> None:
    body = b"<html><body>hi</body></html>"
    server = ScriptedServer([[Step(ok(body, "Content-Type: text/html"))] * 2])
    with serve(server) as port:

        async def fetch_twice() -> list[tuple[str, int, bytes]]:
            limits = FetchLimits(allowed_networks=LOOPBACK)
            async with SafeClient(limits, "warcflow-test") as client:
                out = []
                for path in ("a", "b"):
                    ex = await client.fetch(f"http://127.0.0.1:{port}/{path}")
                    out.append((ex.ip, ex.status, ex.body))
                return out

        assert asyncio.run(fetch_twice()) == [("127.0.0.1", 200, body)] * 2
    assert server.connections == 1
