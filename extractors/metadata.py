"""Title, author, date and site name of a page: what warcflow keeps of trafilatura's metadata.

trafilatura's `extract_metadata` also collects categories, tags, a licence and a
hostname (nothing here uses them), and finds authors by copying the whole tree, pruning
the copy and running XPath with EXSLT regex tests, which call back into Python for every
element with a class. This module takes the same fields by the same rules, reusing
trafilatura's own functions for the meta tags, title and date, and does the author
search on the parsed tree itself with the regex tests written as plain XPath string
tests (each regex is an alternation of literals) and the pruned elements skipped.
tests/test_metadata.py checks it against `extract_metadata` field by field.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import unescape
from typing import Any

from htmldate import find_date
from lxml import etree
from trafilatura.metadata import (
    META_URL,
    examine_meta,
    extract_sitename,
    extract_title,
    extract_url,
    normalize_authors,
)
from trafilatura.utils import line_processing, trim

AUTHOR_MAX_CHARS = 120  # as trafilatura: an author text must be 3..119 characters
MAX_FIELD_CHARS = 10_000


# trafilatura.xpaths.AUTHOR_XPATHS and AUTHOR_DISCARD_XPATHS as tests on one element, for
# one pass over the tree. The three author expressions are tried in order; discarded
# elements (comments, sidebars, dates, figures...) are pruned before any is tried.
_AUTHOR_TAGS = (
    frozenset({"a", "address", "div", "link", "p", "span", "strong"}),
    frozenset({"a", "div", "h3", "h4", "p", "span"}),
)
_AUTHOR_CLASS = (
    re.compile("author-?name|AuthorName|authorName"),
    re.compile("author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|journalist-name"),
    re.compile("[Aa]uthor|screenname|writer|[Bb]yline"),
)
_AUTHOR_ID = (re.compile("author|zuozhe|bianji|xiaobian"), re.compile("[Aa]uthor"))
_DISCARD_TAGS = frozenset({"a", "div", "section", "span"})
_DISCARD_ID = re.compile("^comments|comment-?list|ProductReviews")
_DISCARD_CLASS = re.compile(
    "^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote|embedly-instagram"
    "|article-(?:share|support)|print|category|meta-date|meta-reviewer"
)


def _author_expressions(el: etree._Element, tag: str, has_rel: bool) -> tuple[bool, bool, bool]:
    get = el.get
    cls, id_, itemprop = get("class"), get("id"), get("itemprop")
    first = tag == "author" or (
        tag in _AUTHOR_TAGS[0]
        and (
            get("rel") == "author"
            or id_ == "author"
            or cls == "author"
            or itemprop == "author name"
            or get("data-testid") in ("AuthorCard", "AuthorURL")
            or (cls is not None and _AUTHOR_CLASS[0].search(cls) is not None)
            or (has_rel and any(c.tag == "rel" and c.text_content() == "me" for c in el))
        )
    )
    author_prop = itemprop is not None and "author" in itemprop
    second = tag in _AUTHOR_TAGS[1] and (
        cls in ("byline", "username", "byl", "BBL")
        or author_prop
        or (id_ is not None and _AUTHOR_ID[0].search(id_) is not None)
        or (cls is not None and _AUTHOR_CLASS[1].search(cls) is not None)
    )
    component = get("data-component")
    third = (
        (component is not None and "Byline" in component)
        or author_prop
        or (id_ is not None and _AUTHOR_ID[1].search(id_) is not None)
        or (cls is not None and _AUTHOR_CLASS[2].search(cls) is not None)
    )
    return first, second, third


# Most elements carry at most a class and an id that none of the tests above can accept:
# one search of these supersets of the tests' patterns and values rules them out.
_SPECIAL_TAGS = frozenset({"author", "time", "figure"})
_PLAIN_ATTRIBUTES = frozenset({"class", "id"})
_MAYBE_CLASS = re.compile(
    "[Aa]uthor|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|journalist-name"
    "|screenname|writer|[Bb]yline|username|byl|BBL|[Cc]omment|sidebar|is-hidden|quote"
    "|embedly-instagram|article-share|article-support|print|category|meta-date|meta-reviewer"
    "|title|date"
)
_MAYBE_ID = re.compile("[Aa]uthor|zuozhe|bianji|xiaobian|comment|ProductReviews")


def _plain(el: etree._Element, keys: list[str]) -> bool:
    """No author or discard test can hold for this element (its tag is not special)."""
    if not keys:
        return True
    if not _PLAIN_ATTRIBUTES.issuperset(keys):
        return False
    cls, id_ = el.get("class"), el.get("id")
    return (cls is None or _MAYBE_CLASS.search(cls) is None) and (
        id_ is None or _MAYBE_ID.search(id_) is None
    )


def _discarded(el: etree._Element, tag: str) -> bool:
    if tag in ("time", "figure"):
        return True
    if tag not in _DISCARD_TAGS:
        return False
    get = el.get
    cls, id_ = get("class"), get("id")
    if id_ is not None and (id_ == "comments" or _DISCARD_ID.search(id_)):
        return True
    if cls is not None and (cls in ("comments", "title", "date") or _DISCARD_CLASS.search(cls)):
        return True
    component = get("data-component")
    return component is not None and "Figure" in component


@dataclass(frozen=True)
class PageMetadata:
    title: str | None = None
    author: str | None = None
    date: str | None = None
    sitename: str | None = None


class MetadataReader:
    """Reads `PageMetadata` from a parsed page; holds the compiled XPath and date settings."""

    def __init__(self, date_params: dict[str, Any]) -> None:
        self.date_params = date_params

    def read(
        self, tree: etree._Element, url: str | None, candidates: AuthorCandidates | None = None
    ) -> PageMetadata:
        meta = examine_meta(tree)
        author = meta.author if meta.author and " " in meta.author else None
        author = author or self.author(tree, candidates)
        title = meta.title or extract_title(tree)
        page_url = meta.url or extract_url(tree, url)
        date = find_date(tree, **{**self.date_params, "url": page_url})
        sitename = meta.sitename or extract_sitename(tree)
        if sitename:
            sitename = sitename.lstrip("@")
            if sitename and "." not in sitename and not sitename[0].isupper():
                sitename = sitename.title()
        elif page_url and (match := META_URL.match(page_url)):
            sitename = match[1]
        return PageMetadata(
            title=_tidy(title), author=_tidy(author), date=_tidy(date), sitename=_tidy(sitename)
        )

    def author(
        self, tree: etree._Element, candidates: AuthorCandidates | None = None
    ) -> str | None:
        """The first plausible author element outside comments, sidebars, dates and figures,
        tried expression by expression as trafilatura's `extract_author` does
        (`candidates`: gathered while the page was walked for hidden elements)."""
        if candidates is None or candidates.has_rel:
            candidates = AuthorCandidates.gather(tree)
        return candidates.author(tree)


@dataclass
class AuthorCandidates:
    """What the author search needs from a walk over the page's elements."""

    root: etree._Element
    has_rel: bool  # a <rel> element: trafilatura's `rel='me'` child test can apply
    discarded: set[etree._Element] = field(default_factory=set)
    found: tuple[list[etree._Element], ...] = field(default_factory=lambda: ([], [], []))

    @classmethod
    def start(cls, root: etree._Element) -> AuthorCandidates:
        return cls(root, root.find(".//rel") is not None)

    @classmethod
    def gather(cls, root: etree._Element) -> AuthorCandidates:
        candidates = cls.start(root)
        for el in root.iter(etree.Element):
            candidates.visit(el, el.tag, el.keys())
        return candidates

    def visit(self, el: etree._Element, tag: str, keys: list[str]) -> None:
        if not self.has_rel and tag not in _SPECIAL_TAGS and _plain(el, keys):
            return
        if el is not self.root and _discarded(el, tag):
            self.discarded.add(el)
        for matched, bucket in zip(
            _author_expressions(el, tag, self.has_rel), self.found, strict=True
        ):
            if matched:
                bucket.append(el)

    def author(self, tree: etree._Element) -> str | None:
        for bucket in self.found:
            for elem in bucket:
                if elem in self.discarded or not _kept(elem, tree, self.discarded):
                    continue
                content = trim(" ".join(_pruned_text(elem, self.discarded)))
                if content and 2 < len(content) < AUTHOR_MAX_CHARS:
                    return normalize_authors(None, content)
        return None


def _kept(elem: etree._Element, tree: etree._Element, discarded: set[etree._Element]) -> bool:
    """Still in the tree (not in a hidden element removed since) and not in a discarded one."""
    top = elem
    for ancestor in elem.iterancestors():
        if ancestor in discarded:
            return False
        top = ancestor
    return top is tree


def _tidy(value: str | None) -> str | None:
    """As trafilatura's `Document.clean_and_trim`: length cap, entities, spaces, controls."""
    if not isinstance(value, str):
        return value
    if len(value) > MAX_FIELD_CHARS:
        value = value[: MAX_FIELD_CHARS - 1] + "…"
    return line_processing(unescape(value))


def _pruned_text(elem: etree._Element, discarded: set[etree._Element]) -> Iterator[str]:
    """`elem.itertext()` as if the discarded descendants had been deleted with their tails
    kept: a deleted element's tail joins the text before it, as trafilatura's
    `delete_element` does, so no space appears where none was."""
    pieces: list[str] = [elem.text or ""]
    _collect(elem, discarded, pieces)
    return iter(pieces)


def _collect(elem: etree._Element, discarded: set[etree._Element], pieces: list[str]) -> None:
    for child in elem:
        if not isinstance(child.tag, str):  # comments and processing instructions
            pieces.append(child.tail or "")
            continue
        if child in discarded:
            pieces[-1] += child.tail or ""
            continue
        pieces.append(child.text or "")
        _collect(child, discarded, pieces)
        pieces.append(child.tail or "")
