"""sitemap.xml and sitemap indexes, parsed with defusedxml and size limits."""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemaps.org limit, uncompressed
MAX_SITEMAP_URLS = 50_000


@dataclass(frozen=True)
class Sitemap:
    pages: tuple[str, ...]
    sitemaps: tuple[str, ...]  # children of a sitemap index
    error: str = ""


class SitemapError(ValueError):
    pass


def _gunzip_capped(data: bytes, limit: int) -> bytes:
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = decompressor.decompress(data, limit + 1)
    if len(out) > limit:
        raise SitemapError(f"sitemap decompresses to more than {limit} bytes")
    return out


def parse_sitemap(data: bytes, limit: int = MAX_SITEMAP_BYTES) -> Sitemap:
    """Page URLs and child sitemaps in a sitemap document; never raises."""
    try:
        if data[:2] == b"\x1f\x8b":
            data = _gunzip_capped(data, limit)
        if len(data) > limit:
            raise SitemapError(f"sitemap larger than {limit} bytes")
        root = fromstring(data, forbid_dtd=True)
    except (DefusedXmlException, SitemapError, gzip.BadGzipFile, zlib.error) as exc:
        return Sitemap((), (), error=f"sitemap rejected: {type(exc).__name__}: {exc}")
    except Exception as exc:  # ParseError and friends
        return Sitemap((), (), error=f"sitemap unparsable: {exc}")
    kind = root.tag.rsplit("}", 1)[-1]
    locs = [
        el.text.strip()
        for el in root.iter()
        if el.tag.rsplit("}", 1)[-1] == "loc" and el.text and el.text.strip()
    ][:MAX_SITEMAP_URLS]
    if kind == "sitemapindex":
        return Sitemap((), tuple(locs))
    return Sitemap(tuple(locs), ())


def looks_like_sitemap(url: str) -> bool:
    path = url.split("?", 1)[0].lower()
    return path.endswith((".xml", ".xml.gz")) and "sitemap" in path
