"""Main text and metadata with trafilatura, from one options object."""

from __future__ import annotations

from dataclasses import dataclass

import lxml.html
from lxml import etree
from trafilatura import bare_extraction
from trafilatura.settings import Extractor, use_config

from extractors.hidden import strip_hidden

MAX_HTML_CHARS = 5_000_000  # beyond this a page is cut before parsing (bounds time and memory)


@dataclass(frozen=True)
class MainText:
    text: str  # paragraphs joined by newlines
    title: str | None
    author: str | None
    date: str | None
    sitename: str | None
    page_lang: str | None  # <html lang> or meta hint


def trafilatura_config():  # type: ignore[no-untyped-def]
    """trafilatura's settings, with the thresholds warcflow relies on made explicit."""
    config = use_config()
    # Short news items and forum posts are articles too; the cleaner judges the rest.
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "50")
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")  # time is bounded by our worker process
    config.set("DEFAULT", "EXTENSIVE_DATE_SEARCH", "off")
    return config


def extract_recall(html: str, url: str) -> MainText | None:
    """A second opinion favouring recall, for results that look like chrome only."""
    return extract_main(html, url, recall=True)


def _options(url: str, recall: bool = False) -> Extractor:
    return Extractor(
        config=trafilatura_config(),
        output_format="python",
        comments=False,  # reader comments are not the article
        tables=True,
        formatting=False,
        links=False,
        images=False,
        recall=recall,
        with_metadata=True,
        url=url,
    )


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


def extract_main(html: str, url: str, recall: bool = False) -> MainText | None:
    """Visible main text and metadata, or None if trafilatura finds nothing."""
    root = parse_html(html)
    if root is None:
        return None
    hint = page_language(root)
    strip_hidden(root)
    result = bare_extraction(root, options=_options(url, recall=recall))
    if result is None:
        return None
    return MainText(
        text=result.text or "",
        title=result.title,
        author=result.author,
        date=result.date,
        sitename=result.sitename,
        page_lang=hint,
    )
