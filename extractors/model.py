"""The plain values that flow through extraction: a Capture in, a Document out."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Capture:
    """One archived HTTP response, as the extractors need it (no network, no database)."""

    url: str
    body: bytes  # as stored in WARC (Content-Encoding not undone)
    content_type: str | None = None
    content_encoding: str | None = None
    status: int = 200
    fetched_at: datetime | None = None
    record_id: str | None = None
    warc_file: str | None = None
    warc_offset: int | None = None


@dataclass(frozen=True)
class Removal:
    """A span the cleaner took out of the extracted text, and the rule that took it."""

    start: int  # character offsets in the extracted (pre-clean) text
    end: int
    text: str
    rule: str  # rule id, e.g. "disclaimer.zh.mianze" or "profile.suffix"
    family: str  # rule family, e.g. "disclaimer"


@dataclass(frozen=True)
class Segment:
    """A run of the clean text in one language."""

    start: int
    end: int
    lang: str
    chars: int


@dataclass
class Document:
    """A captured page turned into its article text and facts about it."""

    url: str
    text: str = ""
    title: str | None = None
    author: str | None = None
    published: str | None = None
    sitename: str | None = None
    site: str = ""
    lang: str = "und"
    lang_confidence: float = 0.0
    segments: list[Segment] = field(default_factory=list)
    removed: list[Removal] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)  # repost source, original title, ...
    extracted: str = ""  # trafilatura's text before cleaning (what `removed` spans refer to)
    charset: str | None = None
    charset_source: str | None = None
    outcome: str = "ok"  # ok, not_html, empty, extract_timeout, extract_error, too_large
    reason: str | None = None
    content_sha256: str | None = None
    status: int = 200
    fetched_at: datetime | None = None
    extractor_version: str = ""

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        if self.fetched_at is not None:
            data["fetched_at"] = self.fetched_at.isoformat()
        return data
