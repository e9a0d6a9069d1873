"""Outgoing links of an HTML page, resolved and canonicalised."""

from __future__ import annotations

import lxml.html
from lxml import etree

from crawler.urls import canonicalize

_LINK_ATTRS = (("a", "href"), ("area", "href"), ("link", "href"), ("iframe", "src"))
_LINK_RELS_TO_FOLLOW = {"", "alternate", "next", "prev", "canonical"}


def extract_links(html: str, base_url: str) -> list[str]:
    """Canonical http(s) links in document order, first occurrence only."""
    if not html.strip():
        return []
    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return []
    base = base_url
    for el in root.iter("base"):
        href = el.get("href")
        if href:
            base = canonicalize(href, base_url) or base_url
        break
    seen: set[str] = set()
    out: list[str] = []
    for tag, attr in _LINK_ATTRS:
        for el in root.iter(tag):
            if tag == "link" and (el.get("rel") or "").lower() not in _LINK_RELS_TO_FOLLOW:
                continue
            if (el.get("rel") or "").lower() == "nofollow":
                continue
            raw = el.get(attr)
            if not raw:
                continue
            url = canonicalize(raw, base)
            if url and url not in seen:
                seen.add(url)
                out.append(url)
    return out
