"""crawler.fetch guards: refused addresses, URL shapes, Retry-After, archived headers, and
the SafeClient refusing loopback before any connection is made."""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
from datetime import UTC, datetime

import pytest
from conftest import LOOPBACK
from loopback import LoopbackSite, Reply, html

from crawler.errors import UnsafeURL
from crawler.fetch import (
    SafeClient,
    archived_headers,
    check_url_shape,
    is_refused_address,
    parse_retry_after,
)
from crawler.settings import FetchLimits


@pytest.mark.parametrize(
    ("address", "refused", "refused_with_loopback_allowed"),
    [
        ("10.0.0.1", True, True),
        ("192.168.1.1", True, True),
        ("172.16.0.1", True, True),
        ("169.254.169.254", True, True),  # cloud metadata, link-local
        ("127.0.0.1", True, False),
        ("127.1.2.3", True, False),
        ("::1", True, True),  # IPv6 loopback is not in 127.0.0.0/8
        ("::ffff:10.0.0.1", True, True),  # IPv4-mapped private
        ("::ffff:127.0.0.1", True, False),  # IPv4-mapped loopback follows 127.0.0.0/8
        ("::ffff:8.8.8.8", False, False),
        ("224.0.0.1", True, True),  # multicast
        ("0.0.0.0", True, True),
        ("100.64.0.1", True, True),  # carrier-grade NAT
        ("fe80::1", True, True),
        ("fc00::1", True, True),
        ("8.8.8.8", False, False),
        ("2001:4860:4860::8888", False, False),
    ],
)
def test_is_refused_address(
    address: str, refused: bool, refused_with_loopback_allowed: bool
) -> None:
    ip = ipaddress.ip_address(address)
    assert is_refused_address(ip, ()) is refused
    assert is_refused_address(ip, LOOPBACK) is refused_with_loopback_allowed


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("file:///etc/passwd", "scheme 'file'"),
        ("javascript:alert(1)", "scheme 'javascript'"),
        ("ftp://example.com/x", "scheme 'ftp'"),
        ("http:///nohost", "no host"),
        ("http://10.0.0.1/x", "10.0.0.1"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://[::1]/", "::1"),
        ("http://[::ffff:a00:1]/", "::ffff:a00:1"),  # IPv4-mapped 10.0.0.1
    ],
)
def test_check_url_shape_refuses(url: str, why: str) -> None:
    with pytest.raises(UnsafeURL) as info:
        check_url_shape(url, FetchLimits())
    assert why in info.value.message
    assert info.value.url == url
    assert info.value.outcome == "unsafe"


@pytest.mark.parametrize(
    "url", ["http://example.com/", "https://8.8.8.8/x", "http://xn--bcher-kva.de/"]
)
def test_check_url_shape_accepts(url: str) -> None:
    check_url_shape(url, FetchLimits())  # no lookup, no exception


def test_check_url_shape_loopback_only_when_allowed() -> None:
    with pytest.raises(UnsafeURL):
        check_url_shape("http://127.0.0.1:8080/", FetchLimits())
    check_url_shape("http://127.0.0.1:8080/", FetchLimits(allowed_networks=LOOPBACK))


NOW = datetime(2024, 1, 1, 0, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 5 ", 5.0),
        ("0", 0.0),
        ("Mon, 01 Jan 2024 00:00:30 GMT", 30.0),
        ("Mon, 01 Jan 2024 01:00:00 GMT", 3600.0),
        ("Sun, 31 Dec 2023 23:00:00 GMT", 0.0),  # in the past: no wait
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_archived_headers_dechunked() -> None:
    received = [
        ("Content-Type", "text/html"),
        ("Transfer-Encoding", "chunked"),
        ("Content-Encoding", "gzip"),
    ]
    out = archived_headers(received, 4007, None)
    names = [k.lower() for k, _ in out]
    assert "transfer-encoding" not in names
    assert ("X-Archive-Orig-Transfer-Encoding", "chunked") in out
    assert ("Content-Encoding", "gzip") in out  # the stored bytes are still gzip
    assert ("Content-Type", "text/html") in out
    assert [v for k, v in out if k.lower() == "content-length"] == ["4007"]


def test_archived_headers_truncated_body_gets_its_true_length() -> None:
    out = archived_headers([("Content-Length", "3000"), ("Content-Type", "text/html")], 200, "time")
    assert ("X-Archive-Orig-Content-Length", "3000") in out
    assert [v for k, v in out if k.lower() == "content-length"] == ["200"]


def test_archived_headers_matching_length_kept_once() -> None:
    out = archived_headers([("Content-Length", "10"), ("ETag", '"x"')], 10, None)
    assert out == [("ETag", '"x"'), ("Content-Length", "10")]


# -- the client itself ------------------------------------------------------------------


async def _fetch(url: str, limits: FetchLimits):  # type: ignore[no-untyped-def]
    async with SafeClient(limits, "warcflow-test") as client:
        return await client.fetch(url)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "2130706433", "[::ffff:127.0.0.1]"])
def test_safe_client_refuses_loopback_before_connecting(host: str) -> None:
    with LoopbackSite({"/": html("<p>secret</p>")}) as site:
        port = site.server.server_address[1]
        with pytest.raises(UnsafeURL) as info:
            asyncio.run(_fetch(f"http://{host}:{port}/", FetchLimits()))
        assert "private/reserved" in info.value.message
        assert site.log == []


def test_safe_client_fetches_allowed_loopback_as_received() -> None:
    """Control for the test above: allowed, it connects; body kept raw and de-chunked."""
    page = gzip.compress(b"<p>" + b"hello " * 1000 + b"</p>")
    routes = {"/": Reply(200, page, {"Content-Encoding": "gzip"}, chunked=True)}
    with LoopbackSite(routes) as site:
        ex = asyncio.run(_fetch(site.url("/"), FetchLimits(allowed_networks=LOOPBACK)))
    assert site.log == ["/"]
    assert ex.status == 200
    assert ex.ip == "127.0.0.1"
    assert ex.body == page  # still gzip, chunk framing removed
    assert ex.truncated is None
    assert ex.header("content-length") == str(len(page))
    assert ex.header("x-archive-orig-transfer-encoding") == "chunked"
    assert ex.header("transfer-encoding") is None
    assert ex.started_at.tzinfo is not None
