"""Main text and metadata with trafilatura, from one options object.

A page is parsed once: hidden elements are stripped from that tree, trafilatura extracts
from it (it works on its own copy, so a second opinion can reuse the tree) and the
metadata is read from it by `extractors.metadata`.

trafilatura runs its main extractor first (`fast`); the rest of its cascade (comparing
with readability and justext, about a third of its time) runs only when that result is
shorter than FULL_CASCADE_BELOW, and for the recall second opinion. On the
article-extraction benchmark the fast result differs from the full cascade's on 5 of
181 pages before cleaning (better on 2, worse on 3; the short ones get the cascade).
"""

from __future__ import annotations

from dataclasses import dataclass

import lxml.html
from lxml import etree
from trafilatura import bare_extraction
from trafilatura.settings import Extractor, set_date_params, use_config

from extractors.hidden import strip_hidden
from extractors.metadata import AuthorCandidates, MetadataReader, PageMetadata

# trafilatura's default MIN_EXTRACTED_SIZE: a shorter result is one trafilatura itself
# would try harder on, so it gets the full cascade.
FULL_CASCADE_BELOW = 250
MAX_HTML_CHARS = 5_000_000  # beyond this a page is cut before parsing (bounds time and memory)


@dataclass(frozen=True)
class MainText:
    text: str  # paragraphs joined by newlines
    title: str | None
    author: str | None
    date: str | None
    sitename: str | None
    page_lang: str | None  # <html lang> or meta hint


@dataclass(frozen=True)
class ParsedPage:
    """A page parsed once, hidden elements stripped: what extraction and metadata read."""

    root: etree._Element
    url: str
    page_lang: str | None
    authors: AuthorCandidates | None = None  # gathered while hidden elements were stripped


def trafilatura_config():  # type: ignore[no-untyped-def]
    """trafilatura's settings, with the thresholds warcflow relies on made explicit."""
    config = use_config()
    # Short news items and forum posts are articles too; the cleaner judges the rest.
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "50")
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")  # time is bounded by our worker process
    config.set("DEFAULT", "EXTENSIVE_DATE_SEARCH", "off")
    return config


_PARSER = lxml.html.HTMLParser(remove_comments=True, remove_pis=True)


def parse_html(html: str) -> etree._Element | None:
    # Comments left in the tree make trafilatura drop the text that follows them.
    try:
        return lxml.html.document_fromstring(html[:MAX_HTML_CHARS], parser=_PARSER)
    except (etree.ParserError, ValueError):
        return None


def page_language(root: etree._Element) -> str | None:
    lang = root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang")
    if not lang:
        for meta in root.iter("meta"):
            if (meta.get("http-equiv") or "").lower() == "content-language":
                lang = meta.get("content")
                break
    return lang.strip().lower() if lang else None


class MainTextExtractor:
    """trafilatura with warcflow's options; holds the config and the metadata reader."""

    def __init__(self) -> None:
        self.config = trafilatura_config()
        self.metadata = MetadataReader(
            set_date_params(self.config.getboolean("DEFAULT", "EXTENSIVE_DATE_SEARCH"))
        )

    def parse(self, html: str, url: str) -> ParsedPage | None:
        root = parse_html(html)
        if root is None:
            return None
        hint = page_language(root)
        authors = AuthorCandidates.start(root)
        strip_hidden(root, authors.visit)
        return ParsedPage(root, url, hint, authors)

    def _options(self, url: str, recall: bool, fast: bool = False) -> Extractor:
        return Extractor(
            config=self.config,
            fast=fast,
            output_format="python",
            comments=False,  # reader comments are not the article
            tables=True,
            formatting=False,
            links=False,
            images=False,
            recall=recall,
            with_metadata=False,  # read by `self.metadata`, which trafilatura's would cost 4x
            url=url,
        )

    def text(self, page: ParsedPage, recall: bool = False) -> str | None:
        """The visible main text, or None if trafilatura finds nothing: its main extractor,
        and the full cascade when that finds little (always with `recall`)."""
        result = None
        if not recall:
            result = bare_extraction(page.root, options=self._options(page.url, False, fast=True))
        if result is None or len(result.text or "") < FULL_CASCADE_BELOW:
            result = bare_extraction(page.root, options=self._options(page.url, recall))
        return None if result is None else result.text or ""

    def main_text(self, page: ParsedPage, recall: bool = False) -> MainText | None:
        text = self.text(page, recall)
        if text is None:
            return None
        return self.with_metadata(page, text, self.metadata.read(page.root, page.url, page.authors))

    @staticmethod
    def with_metadata(page: ParsedPage, text: str, meta: PageMetadata) -> MainText:
        return MainText(
            text=text,
            title=meta.title,
            author=meta.author,
            date=meta.date,
            sitename=meta.sitename,
            page_lang=page.page_lang,
        )

    def extract(self, html: str, url: str, recall: bool = False) -> MainText | None:
        """Visible main text and metadata of one page, or None if trafilatura finds nothing."""
        page = self.parse(html, url)
        return None if page is None else self.main_text(page, recall)
