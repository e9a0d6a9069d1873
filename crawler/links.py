"""Outgoing links of an HTML page, resolved and canonicalised."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml import etree

from crawler.urls import canonicalize

_LINK_ATTRS = (("a", "href"), ("area", "href"), ("link", "href"), ("iframe", "src"))
_LINK_TAGS = tuple(tag for tag, _ in _LINK_ATTRS)
_LINK_RELS_TO_FOLLOW = {"", "alternate", "next", "prev", "canonical"}
# A path that canonicalisation leaves as it is: unreserved characters and slashes only,
# no query or fragment, no escapes, no dot segments, no empty segments.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~/-]*\Z")


@dataclass(frozen=True)
class _Page:
    base: str | None  # the first <base> element's href
    links: list[str]  # link targets by tag kind (a, area, link, iframe), in document order


class _LinkTargets:
    """An lxml parser target that keeps only what link extraction needs: the first
    <base> element's href and the link targets, by tag kind (a, area, link, iframe) and
    then in document order. No tree is built: a page of 100,000 links costs the links,
    not a 70 MB tree (libxml2 keeps what it freed)."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.base: str | None = None
        self._base_seen = False
        self.by_tag: dict[str, list[str]] = {tag: [] for tag in _LINK_TAGS}

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        targets = self.by_tag.get(tag)
        if targets is None:
            if tag == "base" and not self._base_seen:
                self._base_seen = True
                self.base = attrib.get("href") or None
            return
        rel = (attrib.get("rel") or "").lower()
        if tag == "link" and rel not in _LINK_RELS_TO_FOLLOW:
            return
        if rel == "nofollow":
            return
        raw = attrib.get("src" if tag == "iframe" else "href")
        if raw:
            targets.append(raw)

    def close(self) -> _Page:
        page = _Page(self.base, [link for tag in _LINK_TAGS for link in self.by_tag[tag]])
        self._reset()  # ready for the next document
        return page


class LinkParser:
    """Parses page after page with one lxml parser: a new parser inspects its target's
    methods on first use, which costs more (40 us) than finding a 30 KB page's links."""

    def __init__(self) -> None:
        self._new_parser()

    def _new_parser(self) -> None:
        self._target = _LinkTargets()
        self._parser = etree.HTMLParser(target=self._target, recover=True)

    def parse(self, html: str) -> _Page | None:
        if not html.strip():
            return None
        try:
            self._parser.feed(html)
            page: _Page = self._parser.close()
        except (etree.ParserError, etree.XMLSyntaxError, ValueError):
            self._new_parser()  # the old one may be left mid-document
            return None
        return page


def _page_base(page: _Page, base_url: str) -> str:
    """What the page's relative links resolve against: its <base href>, else its URL."""
    href = page.base
    return (canonicalize(href, base_url) or base_url) if href else base_url


def extract_links(html: str, base_url: str) -> list[str]:
    """Canonical http(s) links in document order, first occurrence only."""
    page = LinkParser().parse(html)
    if page is None:
        return []
    base = _page_base(page, base_url)
    seen: set[str] = set()
    out: list[str] = []
    for raw in page.links:
        url = canonicalize(raw, base)
        if url and url not in seen:
            seen.add(url)
            out.append(url)
    return out


class LinkResolver:
    """`extract_links` for a whole crawl: returns only links it has not returned before,
    and canonicalises each spelling of a link once, not once per page it appears on.

    The frontier keeps the first discovery of a URL and ignores the others, so skipping
    a URL already handed over changes nothing but the work. Both memories are bounded:
    when full they start again (more work, same result)."""

    def __init__(self, max_entries: int = 20_000) -> None:
        self.max_entries = max_entries
        self._canonical: dict[tuple[str, str], str | None] = {}
        self._returned: set[str] = set()
        self._parser = LinkParser()

    def new_links(self, html: str, base_url: str) -> list[str]:
        page = self._parser.parse(html)
        if page is None:
            return []
        base = _page_base(page, base_url)
        parts = urlsplit(canonicalize(base) or base)
        origin = f"{parts.scheme}://{parts.netloc}"
        directory = origin + parts.path[: parts.path.rfind("/") + 1]
        cache = self._canonical
        returned = self._returned
        if len(cache) > self.max_entries:
            cache.clear()
        if len(returned) > self.max_entries:
            returned.clear()
        out: list[str] = []
        for raw in page.links:
            key = (_scope_of(raw, base, origin, directory), raw)
            try:
                url = cache[key]
            except KeyError:
                if len(cache) >= self.max_entries:  # a page of many links: start over
                    cache.clear()
                url = cache[key] = _plain_join(raw, origin, directory) or canonicalize(raw, base)
            if url is not None and url not in returned:
                returned.add(url)
                out.append(url)
        return out


def _plain_join(raw: str, origin: str, directory: str) -> str | None:
    """`canonicalize(raw, base)` without parsing, for the commonest links: a plain path
    (see _PLAIN_PATH) against a canonical base. None when it is not that simple."""
    if raw[:1] == "/":
        path = raw[1:]
        if not path:
            return origin + "/"
        prefix = origin + "/"
    else:
        path = raw
        prefix = directory
    if not _PLAIN_PATH.match(path) or "//" in path or "/." in path:
        return None
    return prefix + path


def _scope_of(raw: str, base: str, origin: str, directory: str) -> str:
    """The part of the base that resolving `raw` depends on (at most): the origin for
    an absolute path, the base's directory for a relative path, else the whole base (a
    network-path reference with no host, "//", resolves to the base itself)."""
    s = raw.strip()
    first = s[:1]
    if first == "/" and s[1:2] != "/":
        return origin
    if first.isalnum() or first == ".":
        return directory
    return base
