"""Capture -> Document: decode, main text, clean (rules + site profile), language, hash.

Two stages, because site profiles learn across documents: `extract_capture` gives the
extracted text and metadata; `finish` cleans it with the site's learned rules and
labels its language. `extract()` runs both for one page, for scripts and benchmarks.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from functools import cache
from importlib.metadata import version

from extractors.clean import Cleaner, CleanResult, SiteRules, normalise_unicode, rule_paragraphs
from extractors.decode import DecodedTooLarge, UndecodableContent, decode_html, decompress
from extractors.language import LanguageDetector
from extractors.main_text import MainText, MainTextExtractor
from extractors.model import Capture, Document
from extractors.profiles import ProfileConfig
from extractors.rules import RuleSet, load_rules

PIPELINE_REVISION = 2  # bump when the code changes what documents contain
HTML_TYPES = ("text/html", "application/xhtml+xml", "text/xml", "application/xml")
MAX_DECODED_BYTES = 50 * 1024 * 1024
_SNIFF_HTML = re.compile(rb"<(!doctype html|html|head|body|p|div)[\s>]", re.I)
# A cleaned result this much smaller than what was extracted is suspect (only chrome?).
SUSPECT_KEPT_SHARE = 0.2
SUSPECT_MAX_CHARS = 200


def is_html(content_type: str | None, body: bytes) -> bool:
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if mime:
        return mime in HTML_TYPES and (
            mime.endswith("html") or bool(_SNIFF_HTML.search(body[:2048]))
        )
    return bool(_SNIFF_HTML.search(body[:2048]))


class Pipeline:
    def __init__(
        self,
        rules: RuleSet | None = None,
        profile_config: ProfileConfig | None = None,
        max_decoded_bytes: int = MAX_DECODED_BYTES,
    ) -> None:
        self.max_decoded_bytes = max_decoded_bytes
        self._last_clean: tuple[tuple[str, str | None, SiteRules | None], CleanResult] | None = None
        self.rules = rules or load_rules()
        self.cleaner = Cleaner(self.rules)
        self.main_text = MainTextExtractor()
        self.language = LanguageDetector(seed=0)
        self.profile_config = profile_config = profile_config or ProfileConfig()
        self.version = (
            f"warcflow-extract/{PIPELINE_REVISION} trafilatura/{version('trafilatura')}"
            f" rules/{self.rules.digest} {profile_config}"
        )

    # -- stage 1 -------------------------------------------------------------------
    def extract_capture(self, capture: Capture) -> Document:
        doc = Document(
            url=capture.url,
            site=_site(capture.url),
            status=capture.status,
            fetched_at=capture.fetched_at,
            extractor_version=self.version,
        )
        try:
            body = decompress(capture.body, capture.content_encoding, self.max_decoded_bytes)
        except DecodedTooLarge as exc:
            return _outcome(doc, "too_large", str(exc))
        except UndecodableContent as exc:
            return _outcome(doc, "undecodable", str(exc))
        if not is_html(capture.content_type, body):
            mime = (capture.content_type or "unknown").split(";")[0]
            return _outcome(doc, "not_html", f"content type {mime} is not extracted")
        decoded = decode_html(body, capture.content_type)
        doc.charset, doc.charset_source = decoded.charset, decoded.source
        return self.extract_html(decoded.text, doc)

    def extract_html(self, html: str, doc: Document) -> Document:
        """Main text and metadata; a result that cleans down to chrome only gets a second
        opinion from trafilatura favouring recall, and the better one is kept."""
        page = self.main_text.parse(html, doc.url)
        if page is None:
            return _outcome(doc, "empty", "no main text found")
        text = self.main_text.text(page)
        if not (text or "").strip():
            text = self.main_text.text(page, recall=True) or text
        if text is None or not text.strip():
            return _outcome(doc, "empty", "no main text found")
        meta = self.main_text.metadata.read(page.root, page.url, page.authors)
        self._fill(doc, self.main_text.with_metadata(page, text, meta))
        kept = self._clean_length(doc)
        if kept < SUSPECT_MAX_CHARS and kept < SUSPECT_KEPT_SHARE * len(doc.extracted):
            other = self.main_text.text(page, recall=True)
            if other is not None and other.strip():
                candidate = replace(doc, meta=dict(doc.meta))
                self._fill(candidate, self.main_text.with_metadata(page, other, meta))
                if self._clean_length(candidate) > kept:
                    candidate.meta["fallback"] = "recall"
                    return candidate
        return doc

    def _clean_length(self, doc: Document) -> int:
        """Characters left after the rule packs, for the sanity check (kept for `finish`)."""
        return len(self._clean(doc.extracted, doc.title, None).text)

    def _clean(self, text: str, title: str | None, site: SiteRules | None) -> CleanResult:
        """The cleaner, remembering its last result: the sanity check and `finish` of the
        same page then clean it once."""
        key = (text, title, site)
        if self._last_clean is None or self._last_clean[0] != key:
            self._last_clean = (key, self.cleaner.clean(text, title, site))
        return self._last_clean[1]

    def _fill(self, doc: Document, main: MainText) -> None:
        doc.extracted = normalise_unicode(main.text)
        doc.title = main.title
        doc.author = main.author
        doc.published = main.date
        doc.sitename = main.sitename
        if main.page_lang:
            doc.meta["page_lang"] = main.page_lang

    # -- for site profiles ---------------------------------------------------------
    def profile_paragraphs(self, doc: Document) -> list[str]:
        return rule_paragraphs(self.cleaner, doc.extracted, doc.title) if doc.extracted else []

    # -- stage 2 -------------------------------------------------------------------
    def finish(self, doc: Document, site: SiteRules | None = None) -> Document:
        if doc.outcome != "ok" or not doc.extracted:
            return doc
        cleaned = self._clean(doc.extracted, doc.title, site if site and not site.empty else None)
        doc = replace(doc, meta={**doc.meta, **cleaned.meta}, removed=[], segments=[])
        doc.text = cleaned.text
        doc.removed = cleaned.removed
        result = self.language.analyse(cleaned.paragraphs)
        doc.lang, doc.lang_confidence, doc.segments = (
            result.lang,
            result.confidence,
            result.segments,
        )
        doc.content_sha256 = (
            hashlib.sha256(doc.text.encode("utf-8")).hexdigest() if doc.text else None
        )
        if not doc.text:
            doc.outcome, doc.reason = "empty", "everything extracted was boilerplate"
        return doc


def _site(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc


def _outcome(doc: Document, outcome: str, reason: str) -> Document:
    doc.outcome, doc.reason = outcome, reason
    return doc


@cache
def default_pipeline() -> Pipeline:
    return Pipeline()


def extract(html: str | bytes, url: str, site: SiteRules | None = None) -> Document:
    """One page, start to finish: the quickest way to see what the cleaner does.

    `html` as str is taken as decoded; bytes are decoded like an archived response.
    """
    pipeline = default_pipeline()
    if isinstance(html, bytes):
        doc = pipeline.extract_capture(Capture(url=url, body=html, content_type=None))
    else:
        doc = pipeline.extract_html(
            html, Document(url=url, site=_site(url), extractor_version=pipeline.version)
        )
    return pipeline.finish(doc, site)
