"""Terminal rendering of one document: metadata, segments, clean text, removals."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from extractors.model import Document
from extractors.rules import rule_reason


def render_document(
    console: Console,
    doc: Document,
    doc_id: int | None = None,
    captures: list[tuple[str, str, int, str]] | None = None,
    copies: list[tuple[int, str, str]] | None = None,
    translations: list[tuple[int, str, str]] | None = None,
) -> None:
    meta = Table.grid(padding=(0, 2))
    meta.add_column(style="bold")
    meta.add_column()
    rows = [
        ("id", str(doc_id) if doc_id is not None else "-"),
        ("url", doc.url),
        ("title", doc.title or "-"),
        ("author", doc.author or "-"),
        ("published", doc.published or "-"),
        ("site", f"{doc.site} ({doc.sitename})" if doc.sitename else doc.site),
        ("fetched", doc.fetched_at.isoformat() if doc.fetched_at else "-"),
        ("language", f"{doc.lang} ({doc.lang_confidence:.0%} of characters)"),
        ("charset", f"{doc.charset} (from {doc.charset_source})" if doc.charset else "-"),
        ("outcome", doc.outcome + (f": {doc.reason}" if doc.reason else "")),
        ("extractor", doc.extractor_version),
    ]
    rows += [(f"meta.{k}", v) for k, v in sorted(doc.meta.items())]
    for key, value in rows:
        meta.add_row(key, Text(str(value)))
    console.print(Panel(meta, title="document", expand=False))
    if doc.segments:
        seg = Table("language", "characters", "starts with", title="language segments")
        for s in doc.segments:
            seg.add_row(s.lang, str(s.chars), Text(doc.text[s.start : s.start + 40]))
        console.print(seg)
    console.print(Panel(Text(doc.text or "(no text)"), title="clean text"))
    if doc.removed:
        removed = Table("rule", "removed text", "why", title=f"removed ({len(doc.removed)} spans)")
        for r in doc.removed:
            why = rule_reason(r.rule)
            removed.add_row(r.rule, Text(_clip(r.text)), why)
        console.print(removed)
    if copies:
        table = Table("id", "url", "fetched", title=f"copies in this cluster ({len(copies)})")
        for doc_id, url, fetched in copies:
            table.add_row(str(doc_id), Text(url), fetched or "")
        console.print(table)
    if translations:
        table = Table("id", "url", "language", title="translations")
        for doc_id, url, lang in translations:
            table.add_row(str(doc_id), Text(url), lang)
        console.print(table)
    if captures:
        caps = Table("fetched", "WARC file", "offset", "record", title="captures of this URL")
        for fetched, warc_file, offset, rtype in captures:
            caps.add_row(fetched, warc_file, str(offset), rtype)
        console.print(caps)


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
