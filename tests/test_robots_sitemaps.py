"""robots.txt rules from a fetch outcome (RFC 9309), and defused sitemap parsing."""

from __future__ import annotations

import gzip
import os

import pytest

from crawler.robots import rules_from_response
from crawler.sitemaps import parse_sitemap

UA = "warcflow/0.1"
SITE = "http://example.com"

ROBOTS = b"""\
User-agent: *
Disallow: /private/
Disallow: /tmp
Crawl-delay: 3

Sitemap: http://example.com/sitemap.xml
Sitemap: http://example.com/news-sitemap.xml.gz
"""


# -- robots.txt -----------------------------------------------------------------------


def test_robots_200_is_parsed() -> None:
    rules = rules_from_response(200, ROBOTS)
    assert rules.policy == "parsed"
    assert not rules.can_fetch(f"{SITE}/private/page", UA)
    assert not rules.can_fetch(f"{SITE}/tmp", UA)
    assert not rules.can_fetch(f"{SITE}/tmpfile", UA)  # a prefix rule
    assert rules.can_fetch(f"{SITE}/", UA)
    assert rules.can_fetch(f"{SITE}/public/private/", UA)
    assert rules.can_fetch(f"{SITE}/robots.txt", UA)
    assert rules.crawl_delay(UA) == 3.0
    assert rules.sitemaps == (
        "http://example.com/sitemap.xml",
        "http://example.com/news-sitemap.xml.gz",
    )


def test_robots_rules_for_our_agent_win_over_star() -> None:
    body = b"User-agent: *\nDisallow: /\n\nUser-agent: warcflow\nDisallow: /no\n"
    rules = rules_from_response(200, body)
    assert rules.can_fetch(f"{SITE}/yes", UA)
    assert not rules.can_fetch(f"{SITE}/no", UA)
    assert not rules.can_fetch(f"{SITE}/yes", "otherbot")


def test_robots_empty_200_allows_everything() -> None:
    rules = rules_from_response(200, b"")
    assert rules.can_fetch(f"{SITE}/anything", UA)
    assert rules.crawl_delay(UA) is None
    assert rules.sitemaps == ()


@pytest.mark.parametrize("status", [404, 403, 410])
def test_robots_4xx_allows_all(status: int) -> None:
    rules = rules_from_response(status, b"User-agent: *\nDisallow: /\n")
    assert rules.policy == "allow_all"
    assert rules.can_fetch(f"{SITE}/private/page", UA)
    assert rules.crawl_delay(UA) is None


@pytest.mark.parametrize("status", [500, 503, None])
def test_robots_5xx_or_unreachable_disallows_all(status: int | None) -> None:
    rules = rules_from_response(status, b"User-agent: *\nAllow: /\n")
    assert rules.policy == "disallow_all"
    assert not rules.can_fetch(f"{SITE}/", UA)
    assert not rules.can_fetch(f"{SITE}/robots.txt", UA)
    assert rules.reason  # says why


def test_robots_undecodable_bytes_do_not_raise() -> None:
    body = b"\xff\xfe\x81\x00junk\xc3\x28\n" + b"User-agent: *\nDisallow: /secret\n# \xe9\xe8\xff\n"
    rules = rules_from_response(200, body)
    assert rules.policy == "parsed"
    assert not rules.can_fetch(f"{SITE}/secret", UA)
    assert rules.can_fetch(f"{SITE}/open", UA)


def test_robots_random_bytes_do_not_raise() -> None:
    rules = rules_from_response(200, os.urandom(4096))
    assert rules.policy in ("parsed", "allow_all")
    rules.can_fetch(f"{SITE}/x", UA)
    rules.crawl_delay(UA)


# -- sitemaps ---------------------------------------------------------------------------

URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>http://example.com/a</loc><lastmod>2024-01-01</lastmod></url>
  <url><loc>
     http://example.com/b
  </loc></url>
  <url><loc></loc></url>
</urlset>
"""

INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>http://example.com/s1.xml</loc></sitemap>
  <sitemap><loc>http://example.com/s2.xml.gz</loc></sitemap>
</sitemapindex>
"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>http://example.com/&lol9;</loc></url>
</urlset>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE urlset [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>http://example.com/&xxe;</loc></url>
</urlset>
"""


def test_sitemap_urlset() -> None:
    sitemap = parse_sitemap(URLSET)
    assert sitemap.error == ""
    assert sitemap.pages == ("http://example.com/a", "http://example.com/b")
    assert sitemap.sitemaps == ()


def test_sitemap_index() -> None:
    sitemap = parse_sitemap(INDEX)
    assert sitemap.error == ""
    assert sitemap.pages == ()
    assert sitemap.sitemaps == ("http://example.com/s1.xml", "http://example.com/s2.xml.gz")


def test_sitemap_gzipped() -> None:
    sitemap = parse_sitemap(gzip.compress(URLSET))
    assert sitemap.error == ""
    assert sitemap.pages == ("http://example.com/a", "http://example.com/b")


@pytest.mark.parametrize(
    "payload",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, gzip.compress(BILLION_LAUGHS)],
    ids=["billion-laughs", "external-entity", "gzipped-billion-laughs"],
)
def test_sitemap_entities_are_rejected_never_expanded(payload: bytes) -> None:
    sitemap = parse_sitemap(payload)
    assert sitemap.error.startswith("sitemap rejected")
    assert "DTD" in sitemap.error
    assert sitemap.pages == () and sitemap.sitemaps == ()
    assert "lollol" not in sitemap.error and "root:" not in sitemap.error


def test_sitemap_oversized_is_rejected() -> None:
    sitemap = parse_sitemap(URLSET, limit=100)
    assert sitemap.error.startswith("sitemap rejected")
    assert "larger than 100 bytes" in sitemap.error
    assert sitemap.pages == ()


def test_sitemap_gzip_bomb_is_rejected_without_inflating_it_all() -> None:
    bomb = gzip.compress(b"<urlset>" + b" " * 5_000_000 + b"</urlset>")
    sitemap = parse_sitemap(bomb, limit=1_000_000)
    assert sitemap.error.startswith("sitemap rejected")
    assert "decompresses to more than 1000000 bytes" in sitemap.error
    assert sitemap.pages == ()


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"\x00\xff\xfe garbage <<<",
        b"<urlset><url><loc>http://example.com/a</loc>",  # truncated
        b"\x1f\x8b not really gzip",
        os.urandom(2048),
        b"<html><body>not a sitemap</body></html>",
    ],
    ids=["empty", "binary", "truncated", "bad-gzip", "random", "html"],
)
def test_sitemap_garbage_does_not_raise(garbage: bytes) -> None:
    sitemap = parse_sitemap(garbage)
    assert sitemap.pages == () and sitemap.sitemaps == ()
