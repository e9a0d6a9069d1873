"""The safe HTTP client: httpx responses from the crawler's own transport, behind guards and limits.

Untrusted pages choose the URLs, so before connecting we resolve the host ourselves,
refuse private/loopback/link-local/multicast/reserved addresses (unless a network is
explicitly allowed) and then connect to exactly the address we checked, keeping the
original Host header and TLS server name. Redirects are not followed here: every hop
is its own exchange, archived and checked again by the caller.

The body is streamed with `aiter_raw()` (bytes as received, Content-Encoding kept)
into a bounded buffer; a response cut at the size or time limit is kept and marked.
httpx errors become `crawler.errors` types at this one boundary.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

from crawler.errors import ConnectFailed, FetchFailed, TimedOut, UnsafeURL
from crawler.settings import FetchLimits
from crawler.transport import Connection, Http1Transport, TransportTimeouts
from crawler.urls import FETCHABLE_SCHEMES

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
HOP_BY_HOP = {"transfer-encoding"}
ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@dataclass
class Exchange:
    """One HTTP request and its response, as they went over the wire."""

    url: str
    ip: str
    started_at: datetime
    request_line: str
    request_headers: list[tuple[str, str]]
    http_version: str
    status: int
    reason: str
    headers: list[tuple[str, str]]  # as received, consistent with `body` (see `archived_headers`)
    body: bytes = b""
    truncated: str | None = None  # "length" or "time"
    elapsed: float = 0.0
    orig_headers: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        lname = name.lower()
        return next((v for k, v in self.headers if k.lower() == lname), None)

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()

    def retry_after(self, now: datetime | None = None) -> float | None:
        return parse_retry_after(self.header("retry-after"), now)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def is_refused_address(ip: IPAddress, allowed: tuple[ipaddress._BaseNetwork, ...]) -> bool:
    """True for addresses a crawler of the public web must not reach, unless allowed."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in allowed if net.version == ip.version):
        return False
    return not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified


def check_url_shape(url: str, limits: FetchLimits) -> None:
    """Refuse what is unsafe without any lookup: scheme, and IP-literal hosts."""
    parts = urlsplit(url)
    if parts.scheme not in FETCHABLE_SCHEMES:
        raise UnsafeURL(url, f"scheme {parts.scheme!r} is not fetched (only http and https)")
    if not parts.hostname:
        raise UnsafeURL(url, "no host")
    try:
        ip = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return
    if is_refused_address(ip, limits.allowed_networks):
        raise UnsafeURL(url, f"address {ip} is private/reserved; allow it with --allow-network")


class SafeClient:
    """Fetches one URL at a time per call, within `FetchLimits`, without following redirects."""

    def __init__(
        self,
        limits: FetchLimits,
        user_agent: str,
        max_connections: int = 64,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.limits = limits
        self.user_agent = user_agent
        # A lean keep-alive transport (crawler/transport.py) that answers with httpx
        # Responses, without httpx.AsyncClient's per-request layers: no cookies, auth,
        # redirects, proxies or event hooks are wanted here.
        self._transport = Http1Transport(
            TransportTimeouts(connect=limits.connect_timeout, read=limits.read_timeout),
            ssl_context=ssl_context,
            max_idle=max_connections,
        )
        self._resolved: dict[tuple[str, int], str] = {}

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def __aenter__(self) -> SafeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def resolve(self, url: str) -> str:
        """The one address we will connect to; raises UnsafeURL if any address is refused."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        key = (host, port)
        if key in self._resolved and parts.scheme in FETCHABLE_SCHEMES:
            return self._resolved[key]  # its shape and addresses were checked then
        check_url_shape(url, self.limits)
        try:
            ip = ipaddress.ip_address(host)
            addresses = [ip]
        except ValueError:
            loop = asyncio.get_running_loop()
            try:
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except OSError as exc:
                raise ConnectFailed(url, f"DNS lookup failed: {exc}") from exc
            addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        for address in addresses:
            if is_refused_address(address, self.limits.allowed_networks):
                raise UnsafeURL(
                    url,
                    f"{host} resolves to {address}, a private/reserved address; "
                    "allow its network with --allow-network",
                )
        chosen = str(addresses[0])
        self._resolved[key] = chosen
        return chosen

    async def fetch(self, url: str, extra_headers: dict[str, str] | None = None) -> Exchange:
        ip = await self.resolve(url)
        parts = urlsplit(url)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        try:
            target = path.encode("ascii")
        except UnicodeEncodeError:  # not from canonicalize: let httpx percent-encode it
            target = httpx.URL(url).raw_path
        # the headers, in the order, that httpx.AsyncClient sent them
        headers = [
            ("Connection", "keep-alive"),
            ("Host", parts.netloc),
            ("User-Agent", self.user_agent),
            ("Accept", ACCEPT),
            ("Accept-Encoding", "gzip, deflate, br"),
            *(extra_headers or {}).items(),
        ]
        started_at = datetime.now(UTC)
        t0 = time.monotonic()
        deadline = t0 + self.limits.total_timeout
        try:
            async with asyncio.timeout_at(
                asyncio.get_running_loop().time() + self.limits.total_timeout
            ):
                response = await self._transport.send(
                    parts.scheme,
                    ip,
                    parts.port,
                    target,
                    [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
                    sni_hostname=parts.hostname,
                )
        except TimeoutError as exc:
            raise TimedOut(
                url, f"no response within {self.limits.total_timeout}s (total_timeout)"
            ) from exc
        except httpx.TimeoutException as exc:
            raise TimedOut(url, f"{type(exc).__name__}: no response in time") from exc
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise ConnectFailed(url, f"{type(exc).__name__}: {exc}") from exc
        except httpx.HTTPError as exc:
            raise FetchFailed(url, f"{type(exc).__name__}: {exc}") from exc
        try:
            peer = self._peer_address(response)
            if peer is not None and is_refused_address(
                ipaddress.ip_address(peer), self.limits.allowed_networks
            ):
                raise UnsafeURL(url, f"connected to refused address {peer}")
            body, truncated = await self._read_body(response, url, deadline)
        finally:
            await response.aclose()
        exchange = Exchange(
            url=url,
            ip=peer or ip,
            started_at=started_at,
            request_line=f"GET {target.decode('ascii')} HTTP/1.1",
            request_headers=headers,
            http_version=response.http_version,
            status=response.status_code,
            reason=response.reason_phrase or "",
            headers=[],
            body=body,
            truncated=truncated,
            elapsed=time.monotonic() - t0,
            orig_headers=[
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw
            ],
        )
        exchange.headers = archived_headers(exchange.orig_headers, len(body), truncated)
        return exchange

    @staticmethod
    def _peer_address(response: httpx.Response) -> str | None:
        """The address the response came from (of the socket, not of the lookup)."""
        stream = response.extensions.get("network_stream")
        return stream.peer if isinstance(stream, Connection) else None

    async def _read_body(
        self, response: httpx.Response, url: str, deadline: float
    ) -> tuple[bytes, str | None]:
        limit = self.limits.max_body_bytes
        buf = bytearray()
        loop_deadline = asyncio.get_running_loop().time() + max(0.0, deadline - time.monotonic())
        try:
            async with asyncio.timeout_at(loop_deadline):
                async for chunk in response.aiter_raw():
                    buf += chunk
                    if len(buf) > limit:
                        return bytes(buf[:limit]), "length"
        except TimeoutError:
            return bytes(buf), "time"
        except httpx.TimeoutException:
            return bytes(buf), "time"
        except (httpx.ReadError, httpx.RemoteProtocolError) as exc:
            if not buf:
                raise ConnectFailed(url, f"{type(exc).__name__}: {exc}") from exc
            return bytes(buf), "disconnect"
        return bytes(buf), None


def archived_headers(
    headers: list[tuple[str, str]], body_length: int, truncated: str | None
) -> list[tuple[str, str]]:
    """Headers consistent with the stored body: de-chunked, Content-Length true.

    Originals that no longer describe the stored bytes are kept as X-Archive-Orig-*
    (the convention pywb and others use); `truncated` bodies get their stored length.
    """
    out: list[tuple[str, str]] = []
    for name, value in headers:
        lname = name.lower()
        if lname in HOP_BY_HOP or (lname == "content-length" and value.strip() != str(body_length)):
            out.append((f"X-Archive-Orig-{name}", value))
        elif lname != "content-length":
            out.append((name, value))
    out.append(("Content-Length", str(body_length)))
    return out
